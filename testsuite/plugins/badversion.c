/* A plugin built for an API version fugu does not provide: fugu must refuse it
 * with one line and exit status 2 before calling anything in it. */
#include <stdio.h>
#include <stdlib.h>

#include "fugu-plugin.h"

const unsigned fugu_plugin_version = FUGU_PLUGIN_API_VERSION + 41;

int
fugu_plugin_install(unsigned version, const struct fugu_api *api,
		    const struct fugu_machine_info *info, int argc, char **argv)
{
	fprintf(stderr, "badversion: installed although its version is wrong\n");
	abort();
}
