/*
 * Unit tests: the 16550A (chipset/uart.c) through its ports at 0x3F8, on a
 * deterministic clock. Section numbers refer to the NS PC16550D datasheet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mmu/ioport.h"
#include "chipset/uart.h"

#define B 0x3f8

struct fixture {
	uint64_t icount;
	struct vclock clock;
	struct ioports *io;
	struct uart uart;
	bool irq;
};

static void
set_irq(void *opaque, int n, int level)
{
	(void)n;
	struct fixture *f = opaque;
	f->irq = level;
}

static uint8_t
inb(struct fixture *f, unsigned reg)
{
	return (uint8_t)ioport_read(f->io, (uint16_t)(B + reg), 1);
}

static void
outb(struct fixture *f, unsigned reg, uint8_t v)
{
	ioport_write(f->io, (uint16_t)(B + reg), v, 1);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	vclock_init(&f->clock, VCLOCK_DETERMINISTIC, &f->icount);
	f->io = ioports_create();
	assert_int_equal(uart_init(&f->uart, f->io, B, &f->clock, IRQ_LINE(set_irq, f, 4)), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	uart_destroy(&f->uart);
	ioports_destroy(f->io);
	vclock_destroy(&f->clock);
	free(f);
	return 0;
}

/* Master reset values (Table III) and the divisor latch behind DLAB. */
static void
reset_and_dlab(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(inb(f, 1), 0x00);
	assert_int_equal(inb(f, 2), 0x01);
	assert_int_equal(inb(f, 3), 0x00);
	assert_int_equal(inb(f, 4), 0x00);
	assert_int_equal(inb(f, 5), 0x60);
	outb(f, 3, 0x80);
	outb(f, 0, 0x0c);
	outb(f, 1, 0x00);
	assert_int_equal(inb(f, 0), 0x0c);
	outb(f, 3, 0x03);
	assert_int_equal(inb(f, 3), 0x03);
	outb(f, 1, 0xff);
	assert_int_equal(inb(f, 1), 0x0f); /* IER bits 4-7 are always 0 */
	outb(f, 3, 0x80);
	assert_int_equal(inb(f, 1), 0x00); /* DLM */
	outb(f, 7, 0x5a);
	assert_int_equal(inb(f, 7), 0x5a);
}

/* Loop mode (8.7): transmitted bytes are received; MCR drives the MSR lines. */
static void
loopback(void **state)
{
	struct fixture *f = *state;
	outb(f, 4, 0x10);
	outb(f, 0, 'x');
	assert_int_equal(inb(f, 5) & 0x01, 0x01);
	assert_int_equal(inb(f, 0), 'x');
	assert_int_equal(inb(f, 5) & 0x01, 0x00);
	inb(f, 6);
	outb(f, 4, 0x1f);                         /* DTR RTS OUT1 OUT2 */
	assert_int_equal(inb(f, 6), 0xf0 | 0x0b); /* CTS DSR RI DCD; DCTS DDSR DDCD */
	assert_int_equal(inb(f, 6), 0xf0);        /* deltas clear on read */
	outb(f, 4, 0x1b);                         /* RI falls: TERI */
	assert_int_equal(inb(f, 6), 0xb4);
	/* A second byte with no FIFO overruns (8.8 OE). */
	outb(f, 0, 'a');
	outb(f, 0, 'b');
	assert_int_equal(inb(f, 5) & 0x03, 0x03);
	assert_int_equal(inb(f, 5) & 0x02, 0x00); /* OE clears on read */
	assert_int_equal(inb(f, 0), 'a');
}

/* FIFO trigger levels (8.4, 8.10): RDA once the FIFO holds 1, 4, 8 or 14 bytes. */
static void
fifo_trigger_levels(void **state)
{
	struct fixture *f = *state;
	static const uint8_t levels[4] = { 1, 4, 8, 14 };
	outb(f, 4, 0x08); /* OUT2: the PC's IRQ enable */
	outb(f, 1, 0x01);
	for (unsigned k = 0; k < 4; k++) {
		outb(f, 2, (uint8_t)(k << 6 | 0x03));
		uint8_t byte = 'A';
		for (unsigned n = 1; n < levels[k]; n++)
			uart_input(&f->uart, &byte, 1);
		assert_int_equal(inb(f, 2), 0xc1);
		assert_false(f->irq);
		uart_input(&f->uart, &byte, 1);
		assert_int_equal(inb(f, 2), 0xc4);
		assert_true(f->irq);
		outb(f, 2, 0x03); /* clear the receive FIFO */
		assert_int_equal(inb(f, 5) & 0x01, 0);
		assert_false(f->irq);
	}
}

/* Character timeout (8.10): bytes below the trigger level, four character times idle. */
static void
character_timeout(void **state)
{
	struct fixture *f = *state;
	outb(f, 3, 0x80);
	outb(f, 0, 1); /* 115200 baud: 10 bits are 86805 ns */
	outb(f, 1, 0);
	outb(f, 3, 0x03);
	outb(f, 2, 0xc1); /* trigger 14 */
	outb(f, 4, 0x08);
	outb(f, 1, 0x01);
	f->icount = 1000;
	uart_input(&f->uart, "abc", 3);
	uint64_t four = 4 * (10ull * 16 * 1000000000ull / 1843200);
	assert_int_equal(vclock_next_deadline(&f->clock), 1000 + four);
	f->icount = 1000 + four - 1;
	vclock_run_expired(&f->clock);
	assert_int_equal(inb(f, 2), 0xc1);
	f->icount = 1000 + four;
	vclock_run_expired(&f->clock);
	assert_true(f->irq);
	assert_int_equal(inb(f, 2), 0xcc);
	assert_int_equal(inb(f, 0), 'a'); /* a read clears the timeout and restarts it */
	assert_int_equal(inb(f, 2), 0xc1);
	assert_false(f->irq);
	assert_int_equal(vclock_next_deadline(&f->clock), 1000 + 2 * four);
}

/* IIR priorities (Table IV): line status > data > THRE > modem status. */
static void
interrupt_priorities(void **state)
{
	struct fixture *f = *state;
	outb(f, 4, 0x13); /* loop, DTR, RTS: modem status deltas */
	outb(f, 0, '1');
	outb(f, 0, '2'); /* overrun */
	outb(f, 1, 0x0f);
	assert_int_equal(inb(f, 2), 0x06);
	inb(f, 5);
	assert_int_equal(inb(f, 2), 0x04);
	inb(f, 0);
	assert_int_equal(inb(f, 2), 0x02); /* THRE; reading IIR clears it */
	assert_int_equal(inb(f, 2), 0x00);
	inb(f, 6);
	assert_int_equal(inb(f, 2), 0x01);
	assert_false(f->irq); /* loop mode forces OUT2 inactive: no IRQ */
}

/* THRE (8.5, 8.6): enabling ETBEI with THR empty interrupts; THR write re-arms. */
static void
thre_interrupt(void **state)
{
	struct fixture *f = *state;
	outb(f, 4, 0x08);
	outb(f, 1, 0x02);
	assert_true(f->irq);
	assert_int_equal(inb(f, 2), 0x02);
	assert_false(f->irq);
	outb(f, 0, 'z');
	assert_true(f->irq);
	outb(f, 4, 0x00); /* OUT2 off: the line is released */
	assert_false(f->irq);
	outb(f, 4, 0x08);
	assert_true(f->irq);
	outb(f, 1, 0x00);
	assert_false(f->irq);
}

/* A burst far larger than the FIFO is delivered whole, in order. */
static void
input_burst_not_lost(void **state)
{
	struct fixture *f = *state;
	uint8_t burst[3000];
	for (unsigned k = 0; k < sizeof(burst); k++)
		burst[k] = (uint8_t)(k * 7);
	outb(f, 2, 0x01);
	assert_int_equal(uart_input(&f->uart, burst, sizeof(burst)), sizeof(burst));
	for (unsigned k = 0; k < sizeof(burst); k++) {
		assert_int_equal(inb(f, 5) & 0x03, 0x01); /* data, never an overrun */
		assert_int_equal(inb(f, 0), burst[k]);
	}
	assert_int_equal(inb(f, 5) & 0x01, 0);
}

/* Save and restore bring back the FIFO contents, the registers, and the host
 * input still queued behind a full FIFO (a replay's input, docs/SNAPSHOT.md). */
static void
save_restore(void **state)
{
	struct fixture *f = *state;
	static uint8_t buf[8192];
	static const char text[] = "hi, this is more than 16 bytes";
	const size_t len = sizeof(text) - 1;
	outb(f, 2, 0x01);
	uart_input(&f->uart, text, len);
	outb(f, 7, 0x42);
	size_t n = uart_save(&f->uart, buf, sizeof(buf));
	assert_true(n <= sizeof(buf));
	for (size_t k = 0; k < len; k++)
		inb(f, 0);
	outb(f, 7, 0);
	assert_int_equal(inb(f, 5) & 0x01, 0);
	assert_int_equal(uart_restore(&f->uart, buf, n), 0);
	assert_int_equal(inb(f, 7), 0x42);
	for (size_t k = 0; k < len; k++) {
		assert_int_equal(inb(f, 5) & 0x01, 0x01);
		assert_int_equal(inb(f, 0), (uint8_t)text[k]);
	}
	assert_int_equal(inb(f, 5) & 0x01, 0);
	assert_int_equal(uart_restore(&f->uart, buf, n - 1), -1); /* not its size */
}

/* Poll the backend until input arrives (the loopback peer needs a moment). */
static void
poll_until_input(struct fixture *f)
{
	for (int k = 0; k < 200 && !uart_poll(&f->uart); k++)
		poll(NULL, 0, 5);
}

static int
connect_loopback(unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* The tcp backend as a server (nowait): a client's bytes reach RBR in order, THR
 * bytes reach the client, and after the client leaves the next one is accepted. */
static void
tcp_server_backend(void **state)
{
	struct fixture *f = *state;
	char err[200];
	assert_int_equal(
		uart_open_backend(&f->uart, "tcp:127.0.0.1:0,server,nowait", err, sizeof(err)), 0);
	unsigned port = uart_tcp_port(&f->uart);
	assert_true(port != 0);
	outb(f, 3, 0x03); /* 8N1, DLAB clear */
	for (int round = 0; round < 2; round++) {
		int c = connect_loopback(port);
		assert_int_equal(write(c, "hi", 2), 2);
		poll_until_input(f);
		if (!(inb(f, 5) & 1) || inb(f, 0) != 'h') /* the second byte may lag */
			fail();
		if (!(inb(f, 5) & 1))
			poll_until_input(f);
		assert_int_equal(inb(f, 0), 'i');
		outb(f, 0, 'x');
		uart_poll(&f->uart); /* flushes output */
		char buf[4];
		assert_int_equal(read(c, buf, 1), 1);
		assert_int_equal(buf[0], 'x');
		close(c);
		for (int k = 0; k < 50; k++) { /* let the UART see the client leave */
			uart_poll(&f->uart);
			poll(NULL, 0, 2);
		}
	}
}

/*
 * Output never blocks the emulator: a file: backend that is a pipe nobody
 * reads fills, then THR writes queue; when the queue is full LSR shows THRE
 * and TEMT clear (the transmitter is busy, PC16550D 8.8), and once the reader
 * drains the pipe they come back with a THRE interrupt (8.5) and the queued
 * bytes arrive in order. A reader that goes away only ends the output.
 */
static void
output_backpressure(void **state)
{
	struct fixture *f = *state;
	char err[200], path[64];
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	snprintf(path, sizeof(path), "file:/proc/self/fd/%d", fds[1]);
	assert_int_equal(uart_open_backend(&f->uart, path, err, sizeof(err)), 0);
	outb(f, 3, 0x03);
	outb(f, 1, 0x02); /* IER: THRE */
	outb(f, 4, 0x08); /* OUT2: the IRQ line */
	unsigned sent = 0;
	while ((inb(f, 5) & 0x60) == 0x60 && sent < (1u << 22)) {
		outb(f, 0, (uint8_t)sent);
		sent++;
	}
	assert_true(sent < (1u << 22)); /* it filled, and nothing blocked */
	assert_int_equal(inb(f, 5) & 0x60, 0);
	(void)inb(f, 2); /* IIR: clears a THRE source */
	assert_false(f->irq);
	uint8_t buf[4096];
	unsigned got = 0;
	for (int k = 0; k < 1000 && got < sent; k++) {
		ssize_t n = read(fds[0], buf, sizeof(buf));
		for (ssize_t i = 0; i < n; i++, got++)
			assert_int_equal(buf[i], (uint8_t)got);
		uart_poll(&f->uart);
	}
	assert_int_equal(got, sent);
	assert_int_equal(inb(f, 5) & 0x60, 0x60);
	assert_true(f->irq); /* THRE interrupt when the transmitter took bytes again */
	close(fds[0]);
	outb(f, 0, 'x'); /* the reader is gone: EPIPE, not SIGPIPE */
	uart_poll(&f->uart);
	assert_int_equal(inb(f, 5) & 0x60, 0x60);
	close(fds[1]);
}

/* The tcp backend as a client connects to a listening peer. */
static void
tcp_client_backend(void **state)
{
	struct fixture *f = *state;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(a);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
	char spec[64], err[200];
	snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%u", ntohs(a.sin_port));
	assert_int_equal(uart_open_backend(&f->uart, spec, err, sizeof(err)), 0);
	int c = accept(l, NULL, NULL);
	assert_true(c >= 0);
	outb(f, 3, 0x03);
	outb(f, 0, 'y');
	uart_poll(&f->uart);
	char b;
	assert_int_equal(read(c, &b, 1), 1);
	assert_int_equal(b, 'y');
	assert_int_equal(write(c, "z", 1), 1);
	poll_until_input(f);
	assert_int_equal(inb(f, 0), 'z');
	close(c);
	close(l);
}

/* Bad tcp specifications are refused with a message, before anything runs. */
static void
tcp_bad_specs(void **state)
{
	struct fixture *f = *state;
	char err[200];
	assert_int_equal(uart_open_backend(&f->uart, "tcp:nocolon", err, sizeof(err)), -1);
	assert_true(strstr(err, "HOST:PORT") != NULL);
	assert_int_equal(uart_open_backend(&f->uart, "tcp:127.0.0.1:1,bogus", err, sizeof(err)),
			 -1);
	assert_true(strstr(err, "bogus") != NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(reset_and_dlab, setup, teardown),
		cmocka_unit_test_setup_teardown(loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(fifo_trigger_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(character_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(interrupt_priorities, setup, teardown),
		cmocka_unit_test_setup_teardown(thre_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(input_burst_not_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(save_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(tcp_server_backend, setup, teardown),
		cmocka_unit_test_setup_teardown(output_backpressure, setup, teardown),
		cmocka_unit_test_setup_teardown(tcp_client_backend, setup, teardown),
		cmocka_unit_test_setup_teardown(tcp_bad_specs, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
