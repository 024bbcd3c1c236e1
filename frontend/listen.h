/*
 * fugu — a listening TCP socket for the frontend's servers (the GDB stub, the
 * monitor): QEMU's "tcp:HOST:PORT" with an empty HOST meaning every address.
 */
#ifndef FUGU_LISTEN_H
#define FUGU_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

/* Listen at `host` (empty: any) and `port`; the socket, or -1 with a message
 * naming `option` and `spec` in err. */
int tcp_listen(const char *option, const char *spec, const char *host, const char *port,
	       bool nonblock, char *err, size_t errlen);

#endif
