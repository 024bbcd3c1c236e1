/*
 * Fuzz harness: the GDB stub's packet handling (frontend/gdbstub.c, compiled
 * into this harness so its packet parser is reachable without a TCP peer).
 * The input is what gdb would send, framing and all ('$...#xx', acks,
 * Ctrl-C); checksums are fixed up so most packets reach the handlers:
 * register and memory reads and writes, breakpoints and watchpoints, queries,
 * monitor commands, vCont. The replies go to a socketpair, drained after each
 * input. The machine is the board of fuzz_devices with the CPU never run.
 */
#include "frontend/gdbstub.c"

#include <fcntl.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char bios_path[64] = "/tmp/fugu-fuzz-gdb-bios-XXXXXX";
static struct pc *pc;
static struct gdbstub *g;
static int peer = -1;

static void
cleanup(void)
{
	unlink(bios_path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	int fd = mkstemp(bios_path);
	static uint8_t rom[65536];
	memset(rom, 0xf4, sizeof(rom));
	if (fd < 0 || write(fd, rom, sizeof(rom)) != (ssize_t)sizeof(rom))
		abort();
	close(fd);
	atexit(cleanup);
	struct pc_config cfg = { .ram_size = 16u << 20,
				 .bios_path = bios_path,
				 .clock_mode = VCLOCK_DETERMINISTIC };
	char err[256];
	pc = pc_create(&cfg, err, sizeof(err));
	if (!pc || !(g = gdbstub_open("tcp:127.0.0.1:0", pc, false, err, sizeof(err)))) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	return 0;
}

/* A connected "debugger": the stub writes to one end, the harness drains the other. */
static void
connect_peer(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	fcntl(sv[0], F_SETFL, O_NONBLOCK); /* a full buffer drops the client, never blocks */
	g->fd = sv[0];
	g->nin = 0;
	g->no_ack = false;
	peer = sv[1];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (g->fd < 0) {
		if (peer >= 0)
			close(peer);
		connect_peer();
	}
	if (!g->stopped)
		stop_machine(g);
	size_t n = size < sizeof(g->in) ? size : sizeof(g->in);
	memcpy(g->in, data, n);
	/* fix each packet's checksum, so the parser's handlers see the body */
	for (size_t k = 0; k < n; k++) {
		if (g->in[k] != '$')
			continue;
		uint8_t *hash = memchr(g->in + k, '#', n - k);
		if (!hash || (size_t)(hash - g->in) + 3 > n)
			break;
		uint8_t sum = 0;
		for (uint8_t *p = g->in + k + 1; p < hash; p++)
			sum += *p;
		static const char hex[] = "0123456789abcdef";
		hash[1] = (uint8_t)hex[sum >> 4];
		hash[2] = (uint8_t)hex[sum & 15];
		k = (size_t)(hash - g->in) + 2;
	}
	g->nin = n;
	(void)process_input(g);
	g->nin = 0;
	char sink[65536];
	while (peer >= 0 && recv(peer, sink, sizeof(sink), MSG_DONTWAIT) > 0)
		;
	return 0;
}
