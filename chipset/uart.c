/*
 * fugu — the 16550A UART. References are to the National Semiconductor
 * PC16550D datasheet: Table II (registers), 8.4 FCR, 8.5 IIR (Table IV, the
 * interrupt priorities), 8.6 IER, 8.7 MCR (loop mode), 8.8 LSR, 8.9 MSR,
 * 8.10 FIFO interrupt mode (trigger levels, character timeout).
 *
 * Transmission is immediate: a byte written to THR enters a host-side output
 * queue (or, in loop mode, the receiver) at once, so THR and the transmitter
 * are empty again by the time the guest looks -- unless the backend stopped
 * taking bytes and the queue is full: then LSR shows THRE and TEMT clear until
 * it drains, as a real transmitter that is still shifting. The backend is
 * written without ever blocking the emulator (a pipe or peer that stops
 * reading must not stop the machine or its -timeout). Received bytes wait in a host-side
 * queue and enter the FIFO only as the guest makes room, so a burst of input
 * is never lost; only the guest's own loop-mode transmissions can overrun.
 * On a PC the IRQ line is driven only while MCR OUT2 is set, and loop mode
 * forces OUT2 inactive (8.7), so loop mode raises no IRQ.
 */
#include "chipset/uart.h"
#include "chipset/state.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "mmu/ioport.h"

#define UART_CLOCK 1843200u /* crystal; the divisor counts 16x clocks */

#define IER_RDA 0x01
#define IER_THRE 0x02
#define IER_RLS 0x04
#define IER_MS 0x08

#define IIR_NONE 0x01
#define IIR_MS 0x00
#define IIR_THRE 0x02
#define IIR_RDA 0x04
#define IIR_RLS 0x06
#define IIR_CTI 0x0c
#define IIR_FIFO 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_ERRORS 0x1e /* OE, PE, FE, BI */
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_FIFOERR 0x80

#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

static bool
fifo_on(const struct uart *u)
{
	return u->st.fcr & FCR_ENABLE;
}

/* The receive trigger level (8.4: FCR bits 6-7 select 1, 4, 8 or 14 bytes). */
static unsigned
trigger(const struct uart *u)
{
	static const uint8_t levels[4] = { 1, 4, 8, 14 };
	return levels[u->st.fcr >> 6];
}

/* Nanoseconds per character at the programmed divisor and frame format. */
static uint64_t
char_ns(const struct uart *u)
{
	unsigned divisor = u->st.dll | u->st.dlm << 8;
	uint8_t lcr = u->st.lcr;
	unsigned bits = 1 + 5 + (lcr & 3) + ((lcr & 8) ? 1 : 0) + ((lcr & 4) ? 2 : 1);
	if (divisor == 0)
		divisor = 1;
	return (uint64_t)bits * divisor * 16 * 1000000000ull / UART_CLOCK;
}

/*
 * The highest-priority pending interrupt (8.5, Table IV), as the IIR's
 * identification bits.
 */
static uint8_t
identify(const struct uart *u)
{
	const struct uart_state *s = &u->st;
	if ((s->ier & IER_RLS) && (s->lsr & LSR_ERRORS))
		return IIR_RLS;
	if ((s->ier & IER_RDA) && s->rx_count >= (fifo_on(u) ? trigger(u) : 1))
		return IIR_RDA;
	if ((s->ier & IER_RDA) && s->timeout_pending && s->rx_count)
		return IIR_CTI;
	if ((s->ier & IER_THRE) && s->thre_pending)
		return IIR_THRE;
	if ((s->ier & IER_MS) && (s->msr & 0x0f))
		return IIR_MS;
	return IIR_NONE;
}

/*
 * Drive the IRQ line and arm the character timeout (8.10: a byte has sat in
 * the FIFO for four character times without being read or joined by another).
 */
static void
update(struct uart *u)
{
	struct uart_state *s = &u->st;
	bool irq = identify(u) != IIR_NONE && (s->mcr & (MCR_OUT2 | MCR_LOOP)) == MCR_OUT2;
	if (irq != s->irq) {
		s->irq = irq;
		irq_set(&u->irq, irq);
	}
	if (fifo_on(u) && s->rx_count && !s->timeout_pending && (s->ier & IER_RDA))
		vtimer_arm(&u->timer, s->rx_activity + 4 * char_ns(u));
	else
		vtimer_disarm(&u->timer);
}

static void
uart_timeout(void *opaque)
{
	struct uart *u = opaque;
	u->st.timeout_pending = true;
	update(u);
}

/*
 * A byte arrives at the receiver: into the FIFO, or an overrun when it is
 * full (8.8: OE; the FIFO keeps its contents and the byte is lost).
 */
static void
receive(struct uart *u, uint8_t byte)
{
	struct uart_state *s = &u->st;
	unsigned cap = fifo_on(u) ? UART_FIFO : 1;
	if (s->rx_count >= cap) {
		s->lsr |= LSR_OE;
		return;
	}
	s->rx[(s->rx_head + s->rx_count) % UART_FIFO] = byte;
	s->rx_count++;
	s->rx_activity = vclock_now(u->clock);
	s->timeout_pending = false;
}

/*
 * Move host input into the FIFO while it has room (not in loop mode: the
 * serial input is disconnected there, 8.7).
 */
static void
feed(struct uart *u)
{
	unsigned cap = fifo_on(u) ? UART_FIFO : 1;
	if (u->st.mcr & MCR_LOOP)
		return;
	while (u->hostq_count && u->st.rx_count < cap) {
		receive(u, u->hostq[u->hostq_head]);
		u->hostq_head = (u->hostq_head + 1) % UART_HOSTQ;
		u->hostq_count--;
	}
}

/*
 * The modem status lines: in loop mode DTR, RTS, OUT1 and OUT2 drive DSR,
 * CTS, RI and DCD (8.7); otherwise a connected terminal (CTS, DSR, DCD).
 * Changes set the delta bits (8.9; TERI on RI's trailing edge).
 */
static void
update_msr(struct uart *u)
{
	struct uart_state *s = &u->st;
	uint8_t lines = MSR_CTS | MSR_DSR | MSR_DCD;
	if (s->mcr & MCR_LOOP) {
		lines = (s->mcr & MCR_RTS ? MSR_CTS : 0) | (s->mcr & MCR_DTR ? MSR_DSR : 0) |
			(s->mcr & MCR_OUT1 ? MSR_RI : 0) | (s->mcr & MCR_OUT2 ? MSR_DCD : 0);
	}
	uint8_t changed = (s->msr ^ lines) & 0xf0;
	uint8_t delta = (changed & MSR_CTS ? 0x01 : 0) | (changed & MSR_DSR ? 0x02 : 0) |
			((changed & MSR_RI) && !(lines & MSR_RI) ? 0x04 : 0) |
			(changed & MSR_DCD ? 0x08 : 0);
	s->msr = (uint8_t)(lines | (s->msr & 0x0f) | delta);
}

static void tcp_detach(struct uart *u);

/*
 * Write queued output to the backend as far as it takes bytes without
 * blocking: a socket with MSG_DONTWAIT, anything else only after poll says it
 * is writable and never more than PIPE_BUF bytes at once (so a pipe write
 * cannot block; stdout is shared, so it is not made non-blocking). A backend
 * that failed (a closed pipe: SIGPIPE is ignored, EPIPE comes back) is dropped.
 */
static void
out_flush(struct uart *u)
{
	bool was_full = u->outq_count >= UART_OUTQ;
	if (u->out_fd == STDOUT_FILENO)
		fflush(stdout); /* keep order with other stdout users (-debugcon stdio) */
	while (u->outq_count && u->out_fd >= 0) {
		unsigned n = UART_OUTQ - u->outq_head;
		if (n > u->outq_count)
			n = u->outq_count;
		if (n > 512)
			n = 512; /* <= PIPE_BUF: atomic, so it cannot block once POLLOUT held */
		ssize_t w;
		if (u->tcp) {
			w = send(u->out_fd, u->outq + u->outq_head, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		} else {
			struct pollfd pfd = { .fd = u->out_fd, .events = POLLOUT };
			if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & POLLOUT)) {
				if (pfd.revents & (POLLERR | POLLHUP))
					w = -1, errno = EPIPE;
				else
					break;
			} else {
				w = write(u->out_fd, u->outq + u->outq_head, n);
			}
		}
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;
		if (w <= 0) { /* the consumer is gone: drop what it would have read */
			u->outq_count = 0;
			if (u->tcp) {
				tcp_detach(u);
			} else {
				if (u->out_owned)
					close(u->out_fd);
				u->out_fd = -1;
			}
			break;
		}
		u->outq_head = (u->outq_head + (unsigned)w) % UART_OUTQ;
		u->outq_count -= (unsigned)w;
	}
	if (!u->outq_count)
		u->outq_head = 0;
	if (was_full && u->outq_count < UART_OUTQ) {
		u->st.thre_pending = true; /* the transmitter took the next byte */
		update(u);
	}
}

/*
 * A byte written to THR: out to the backend, or back to the receiver in
 * loop mode. THR is empty again at once, which re-raises THRE (8.5).
 */
static void
transmit(struct uart *u, uint8_t byte)
{
	if (u->st.mcr & MCR_LOOP) {
		receive(u, byte);
		u->st.thre_pending = true;
		return;
	}
	u->tx_bytes++;
	if (u->out_fd >= 0) {
		/* A byte written while the transmitter is busy is lost, as on the
		 * chip when THR is overwritten (the guest ignored THRE). */
		if (u->outq_count < UART_OUTQ) {
			u->outq[(u->outq_head + u->outq_count) % UART_OUTQ] = byte;
			u->outq_count++;
		}
		if (byte == '\n' || u->outq_count >= UART_OUTQ / 2)
			out_flush(u);
		if (u->outq_count >= UART_OUTQ)
			return; /* busy: THRE comes back when the queue drains */
	}
	u->st.thre_pending = true;
}

static uint8_t
read_rbr(struct uart *u)
{
	struct uart_state *s = &u->st;
	uint8_t v = s->rx[s->rx_head];
	if (s->rx_count) {
		s->rx_head = (s->rx_head + 1) % UART_FIFO;
		s->rx_count--;
	}
	s->rx_activity = vclock_now(u->clock);
	s->timeout_pending = false;
	feed(u);
	return v;
}

static uint32_t
uart_read(void *opaque, uint16_t port, unsigned size)
{
	struct uart *u = opaque;
	struct uart_state *s = &u->st;
	uint8_t v = 0xff;
	(void)size;
	switch (port - u->base) {
	case 0: v = (s->lcr & LCR_DLAB) ? s->dll : read_rbr(u); break;
	case 1: v = (s->lcr & LCR_DLAB) ? s->dlm : s->ier; break;
	case 2:
		v = identify(u);
		if (v == IIR_THRE)
			s->thre_pending = false; /* reading IIR clears a THRE source */
		if (fifo_on(u))
			v |= IIR_FIFO;
		break;
	case 3: v = s->lcr; break;
	case 4: v = s->mcr; break;
	case 5:
		v = (uint8_t)(s->lsr | (u->outq_count < UART_OUTQ ? LSR_THRE | LSR_TEMT : 0) |
			      (s->rx_count ? LSR_DR : 0));
		s->lsr &= (uint8_t) ~(LSR_ERRORS | LSR_FIFOERR); /* read clears the errors */
		break;
	case 6:
		v = s->msr;
		s->msr &= 0xf0; /* read clears the deltas */
		break;
	case 7: v = s->scr; break;
	}
	update(u);
	return v;
}

/*
 * FCR (8.4): bit 0 enables the FIFOs (a change clears both), bits 1 and 2
 * clear them, bits 6-7 set the receive trigger; bits other than 0 are only
 * taken while bit 0 is set.
 */
static void
write_fcr(struct uart *u, uint8_t v)
{
	struct uart_state *s = &u->st;
	if ((v ^ s->fcr) & FCR_ENABLE) {
		s->rx_count = 0;
		s->rx_head = 0;
	}
	if (!(v & FCR_ENABLE)) {
		s->fcr = 0;
		feed(u);
		return;
	}
	if (v & FCR_CLEAR_RX) {
		s->rx_count = 0;
		s->rx_head = 0;
		s->timeout_pending = false;
	}
	s->fcr = v & 0xc9;
	feed(u);
}

static void
uart_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct uart *u = opaque;
	struct uart_state *s = &u->st;
	uint8_t v = (uint8_t)value;
	(void)size;
	switch (port - u->base) {
	case 0:
		if (s->lcr & LCR_DLAB)
			s->dll = v;
		else
			transmit(u, v);
		break;
	case 1:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		/* Enabling ETBEI with THR empty raises THRE at once. */
		if ((v & IER_THRE) && !(s->ier & IER_THRE))
			s->thre_pending = true;
		s->ier = v & 0x0f;
		break;
	case 2: write_fcr(u, v); break;
	case 3: s->lcr = v; break;
	case 4:
		s->mcr = v & 0x1f;
		update_msr(u);
		feed(u);
		break;
	case 5:
	case 6: break; /* LSR and MSR: writes are for factory test only */
	case 7: s->scr = v; break;
	}
	update(u);
}

/*
 * The terminal state stdio found, restored on every way out: normal exit,
 * exit(), and fatal or terminating signals (which then take their default
 * action). Suspending (^Z) restores it too, and continuing re-enters raw mode.
 */
static struct termios saved_tio, raw_tio;
static volatile sig_atomic_t tty_raw;

static void
tty_restore(void)
{
	if (tty_raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
		tty_raw = 0;
	}
}

static void
tty_signal(int sig)
{
	int saved = errno;
	tty_restore();
	if (sig == SIGTSTP) {
		raise(SIGSTOP);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw_tio);
		tty_raw = 1;
		errno = saved;
		return;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
tty_make_raw(void)
{
	static const int sigs[] = { SIGINT,  SIGTERM, SIGHUP, SIGQUIT, SIGTSTP,
				    SIGSEGV, SIGBUS,  SIGFPE, SIGILL,  SIGABRT };
	if (tty_raw || tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return;
	raw_tio = saved_tio;
	/* Bytes as typed; ^C still stops fugu (ISIG kept, as QEMU's signal=on). */
	raw_tio.c_iflag &=
		(tcflag_t) ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	raw_tio.c_lflag &= (tcflag_t) ~(ECHO | ECHONL | ICANON | IEXTEN);
	raw_tio.c_cflag = (raw_tio.c_cflag & (tcflag_t) ~(CSIZE | PARENB)) | CS8;
	raw_tio.c_cc[VMIN] = 1;
	raw_tio.c_cc[VTIME] = 0;
	atexit(tty_restore);
	for (size_t k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++) {
		struct sigaction sa = { .sa_handler = tty_signal };
		sigemptyset(&sa.sa_mask);
		sigaction(sigs[k], &sa, NULL);
	}
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw_tio) == 0)
		tty_raw = 1;
}

/* Use connected socket `fd` as the backend's input and output. */
static int
tcp_attach(struct uart *u, int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	u->out_fd = fd; /* the same socket; closed as in_fd */
	u->out_owned = false;
	u->outq_count = 0;
	u->in_fd = fd;
	u->in_eof = false;
	u->tcp = true;
	return 0;
}

/* The client left: back to listening (server) or end of input (client). */
static void
tcp_detach(struct uart *u)
{
	u->out_fd = -1;
	u->outq_count = 0;
	if (u->in_fd >= 0)
		close(u->in_fd);
	u->in_fd = -1;
	u->tcp = false;
	u->in_eof = u->listen_fd < 0;
}

/* Accept a waiting client of a server backend (without blocking unless `block`). */
static void
tcp_accept(struct uart *u, bool block)
{
	if (u->listen_fd < 0 || u->tcp)
		return;
	if (!block) {
		struct pollfd pfd = { .fd = u->listen_fd, .events = POLLIN };
		if (poll(&pfd, 1, 0) <= 0)
			return;
	}
	int fd = accept(u->listen_fd, NULL, NULL);
	if (fd >= 0)
		tcp_attach(u, fd);
}

int
uart_wait_client(struct uart *u, int timeout_ms)
{
	if (!u->wait_client)
		return 0;
	struct pollfd pfd = { .fd = u->listen_fd, .events = POLLIN };
	if (poll(&pfd, 1, timeout_ms) <= 0)
		return -1;
	tcp_accept(u, false);
	if (!u->tcp)
		return -1;
	u->wait_client = false;
	return 0;
}

unsigned
uart_tcp_port(const struct uart *u)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = u->listen_fd >= 0 ? u->listen_fd : u->in_fd;
	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/*
 * "tcp:HOST:PORT[,server|server=on|off][,wait|nowait|wait=on|off][,nodelay]",
 * as qemu-system-x86_64 spells it. A server listens on HOST:PORT (HOST may be
 * empty for all addresses) and, with wait (QEMU's default), blocks until the
 * first client connects; a client connects at once.
 */
static int
open_tcp(struct uart *u, const char *spec, char *err, size_t errlen)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", spec + 4);
	char *opts = strchr(buf, ',');
	if (opts)
		*opts++ = 0;
	char *colon = strrchr(buf, ':');
	if (!colon || !colon[1]) {
		snprintf(err, errlen, "-serial %s: expected tcp:HOST:PORT", spec);
		return -1;
	}
	*colon = 0;
	const char *host = buf[0] ? buf : NULL, *port = colon + 1;
	bool server = false, wait = true;
	for (char *o = opts; o && *o;) {
		char *next = strchr(o, ',');
		if (next)
			*next++ = 0;
		if (!strcmp(o, "server") || !strcmp(o, "server=on"))
			server = true;
		else if (!strcmp(o, "server=off"))
			server = false;
		else if (!strcmp(o, "wait") || !strcmp(o, "wait=on"))
			wait = true;
		else if (!strcmp(o, "nowait") || !strcmp(o, "wait=off"))
			wait = false;
		else if (strcmp(o, "nodelay") && strcmp(o, "nodelay=on")) {
			snprintf(err, errlen, "-serial %s: unknown option '%s'", spec, o);
			return -1;
		}
		o = next;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = server ? AI_PASSIVE : 0 };
	struct addrinfo *res;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "-serial %s: %s", spec, gai_strerror(rc));
		return -1;
	}
	int fd = -1, saved = 0;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		int one = 1;
		if (server)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (server ? bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 1) == 0
			   : connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "-serial %s: %s", spec, strerror(saved));
		return -1;
	}
	if (!server)
		return tcp_attach(u, fd);
	u->listen_fd = fd;
	if (wait) { /* the machine starts when the client is there (uart_wait_client) */
		fprintf(stderr, "fugu: waiting for a connection on %s\n", spec);
		u->wait_client = true;
	}
	return 0;
}

int
uart_open_backend(struct uart *u, const char *spec, char *err, size_t errlen)
{
	/* A reader that goes away (a closed pipe, a peer) makes a write fail with
	 * EPIPE, which out_flush handles; it must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	if (!strncmp(spec, "tcp:", 4))
		return open_tcp(u, spec, err, errlen);
	if (!strcmp(spec, "none") || !strcmp(spec, "null"))
		return 0;
	if (!strcmp(spec, "stdio")) {
		u->out_fd = STDOUT_FILENO;
		u->in_fd = STDIN_FILENO;
		if (isatty(STDIN_FILENO))
			tty_make_raw();
		return 0;
	}
	if (!strncmp(spec, "file:", 5) && spec[5]) {
		u->out_fd = open(spec + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (u->out_fd < 0) {
			snprintf(err, errlen, "-serial: cannot open %s: %s", spec + 5,
				 strerror(errno));
			return -1;
		}
		u->out_owned = true;
		return 0;
	}
	snprintf(err, errlen,
		 "bad -serial backend '%s' (use stdio, file:PATH, tcp:HOST:PORT[,server][,nowait] "
		 "or none)",
		 spec);
	return -1;
}

void
uart_destroy(struct uart *u)
{
	/* At exit the rest of the output gets a bounded chance: up to a second
	 * without progress, never forever. */
	while (u->out_fd >= 0 && u->outq_count) {
		unsigned before = u->outq_count;
		struct pollfd pfd = { .fd = u->out_fd, .events = POLLOUT };
		if (poll(&pfd, 1, 1000) <= 0)
			break;
		out_flush(u);
		if (u->outq_count == before)
			break;
	}
	if (u->out_fd >= 0 && u->out_owned)
		close(u->out_fd);
	u->out_fd = -1;
	if (u->in_fd == STDIN_FILENO)
		tty_restore();
	else if (u->tcp && u->in_fd >= 0)
		close(u->in_fd);
	if (u->listen_fd >= 0)
		close(u->listen_fd);
	u->listen_fd = -1;
	u->in_fd = -1;
	if (u->clock)
		vtimer_disarm(&u->timer);
}

size_t
uart_input(struct uart *u, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t n = 0;
	while (n < len && u->hostq_count < UART_HOSTQ) {
		u->hostq[(u->hostq_head + u->hostq_count) % UART_HOSTQ] = p[n++];
		u->hostq_count++;
	}
	feed(u);
	update(u);
	return n;
}

int
uart_wait_fd(const struct uart *u)
{
	if (u->listen_fd >= 0 && !u->tcp)
		return u->listen_fd; /* a server waiting for its next client */
	if (u->in_fd < 0 || u->in_eof || u->hostq_count == UART_HOSTQ || u->input_ignored)
		return -1;
	return u->in_fd;
}

bool
uart_poll(struct uart *u)
{
	bool got = false;
	if (u->outq_count)
		out_flush(u);
	tcp_accept(u, false);
	if ((u->listen_fd >= 0 && !u->tcp) || u->input_ignored)
		return false;
	int fd = uart_wait_fd(u);
	if (fd < 0)
		return false;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & (POLLIN | POLLHUP)))
		return false;
	uint8_t buf[UART_HOSTQ];
	ssize_t r = read(fd, buf, UART_HOSTQ - u->hostq_count);
	if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
		if (u->tcp)
			tcp_detach(u);
		else
			u->in_eof = true;
	}
	if (r > 0) {
		if (u->input_hook)
			u->input_hook(u->input_opaque, u, buf, (size_t)r);
		uart_input(u, buf, (size_t)r);
		got = true;
	}
	return got;
}

int
uart_init(struct uart *u, struct ioports *io, uint16_t base, struct vclock *clock,
	  struct irq_line irq)
{
	memset(u, 0, sizeof(*u));
	u->base = base;
	u->clock = clock;
	u->irq = irq;
	u->in_fd = -1;
	u->out_fd = -1;
	u->listen_fd = -1;
	vtimer_init(&u->timer, clock, "uart", uart_timeout, u);
	uart_reset(u);
	return ioports_register(io, base, 8, "uart", uart_read, uart_write, u, 0) ? -1 : 0;
}

/*
 * Master reset (Table III): IER, FCR, LCR, MCR cleared, LSR = THRE | TEMT,
 * MSR deltas cleared; the divisor and scratch are not affected.
 */
void
uart_reset(struct uart *u)
{
	struct uart_state *s = &u->st;
	uint8_t dll = s->dll, dlm = s->dlm, scr = s->scr;
	*s = (struct uart_state){ .dll = dll, .dlm = dlm, .scr = scr };
	update_msr(u);
	s->msr &= 0xf0;
	s->irq = true; /* so update() drives the line low */
	update(u);
	feed(u);
}

/* The record: the state, then the host input queued but not yet in the FIFO
 * (a replay's input, which a rewind must find again), oldest first. */
struct uart_saved_queue {
	uint32_t count;
	uint8_t bytes[UART_HOSTQ];
};

size_t
uart_save(const struct uart *u, void *buf, size_t len)
{
	size_t need = sizeof(u->st) + sizeof(struct uart_saved_queue);
	if (len < need)
		return need;
	struct uart_saved_queue q = { .count = u->hostq_count };
	for (unsigned k = 0; k < u->hostq_count; k++)
		q.bytes[k] = u->hostq[(u->hostq_head + k) % UART_HOSTQ];
	memcpy(buf, &u->st, sizeof(u->st));
	memcpy((uint8_t *)buf + sizeof(u->st), &q, sizeof(q));
	return need;
}

/* The limits of struct uart_state (chipset/state.h): the receive FIFO's head
 * (an index into rx[]) and count (at most UART_FIFO bytes, 16550A "FIFO
 * control register"), the instant of the last receive activity within the
 * clock's range (the character timeout is armed from it). */
static const struct state_limit uart_limits[] = {
	STATE_MAX(struct uart_state, rx_head, UART_FIFO - 1),
	STATE_MAX(struct uart_state, rx_count, UART_FIFO),
	STATE_MAX(struct uart_state, rx_activity, VCLOCK_TIME_LIMIT_NS),
};

int
uart_check(const struct uart *u, const void *buf, size_t len, char *err, size_t errlen)
{
	struct uart_saved_queue q;
	if (len != sizeof(u->st) + sizeof(q)) {
		snprintf(err, errlen, "%zu bytes", len);
		return -1;
	}
	memcpy(&q, (const uint8_t *)buf + sizeof(u->st), sizeof(q));
	if (q.count > UART_HOSTQ) {
		snprintf(err, errlen, "host queue count is %u, at most %u", (unsigned)q.count,
			 UART_HOSTQ);
		return -1;
	}
	return state_check(buf, sizeof(u->st), STATE_LIMITS(uart_limits), "", err, errlen);
}

int
uart_restore(struct uart *u, const void *buf, size_t len)
{
	struct uart_saved_queue q;
	if (len != sizeof(u->st) + sizeof(q))
		return -1;
	memcpy(&q, (const uint8_t *)buf + sizeof(u->st), sizeof(q));
	if (q.count > UART_HOSTQ)
		q.count = UART_HOSTQ; /* uart_check refuses it; a caller that did not check */
	static const size_t STATE_KEEP bools[] = { offsetof(struct uart_state, thre_pending),
						   offsetof(struct uart_state, timeout_pending),
						   offsetof(struct uart_state, irq) };
	state_restore(&u->st, sizeof(u->st), buf, sizeof(u->st), STATE_BOOLS(bools),
		      STATE_LIMITS(uart_limits));
	memcpy(u->hostq, q.bytes, q.count);
	u->hostq_head = 0;
	u->hostq_count = q.count;
	u->st.irq = !u->st.irq;
	update(u);
	return 0;
}
