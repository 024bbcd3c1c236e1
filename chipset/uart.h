/*
 * fugu — the 16550A UART (COM1-COM4) and its host backends (stdio, file, none).
 */
#ifndef FUGU_UART_H
#define FUGU_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chipset/irq.h"
#include <stdio.h>

#include "chipset/timer.h"

struct ioports;

#define UART_FIFO 16    /* receive FIFO depth */
#define UART_HOSTQ 4096 /* host-side input queue */
#define UART_OUTQ 4096  /* host-side output queue */

/* The architectural state: plain data, saved and restored by copy. */
struct uart_state {
	uint8_t rx[UART_FIFO]; /* receive FIFO (one entry used when FIFOs are off) */
	uint8_t rx_head;       /* index of the oldest received byte */
	uint8_t rx_count;      /* bytes in the receive FIFO */
	uint8_t ier;           /* interrupt enable register */
	uint8_t fcr;           /* FIFO control as last written (bits 0, 3, 6, 7 kept) */
	uint8_t lcr;           /* line control register (bit 7: DLAB) */
	uint8_t mcr;           /* modem control register */
	uint8_t lsr;           /* line status: the error bits OE, PE, FE, BI (the rest computed) */
	uint8_t msr;           /* modem status register (delta bits 0-3, lines 4-7) */
	uint8_t scr;           /* scratch register */
	uint8_t dll, dlm;      /* divisor latch */
	bool thre_pending;     /* THRE interrupt condition (cleared by IIR read or THR write) */
	bool timeout_pending;  /* character timeout indication */
	uint64_t rx_activity;  /* virtual ns of the last byte received or read */
	bool irq;              /* the IRQ line as driven (interrupt pending and OUT2 set) */
};

struct uart {
	struct uart_state st; /* everything save/restore copies */
	uint16_t base;        /* I/O base */
	struct vclock *clock; /* the virtual clock */
	struct vtimer timer;  /* the receive character timeout */
	struct irq_line irq;  /* the IRQ line */
	/* Host side, not guest state. */
	uint8_t hostq[UART_HOSTQ]; /* received from the host, not yet in the FIFO */
	unsigned hostq_head, hostq_count;
	int in_fd;      /* backend input, or -1 */
	bool in_eof;    /* the input reached end of file */
	int out_fd;     /* backend output, or -1 */
	bool out_owned; /* close out_fd on destroy */
	/* Transmitted bytes not yet accepted by the backend: written without
	 * blocking; while full, LSR reports the transmitter busy (backpressure). */
	uint8_t outq[UART_OUTQ];
	unsigned outq_head, outq_count;
	int listen_fd;    /* tcp server backend: the listening socket, or -1 */
	bool tcp;         /* in_fd/out_fd are a TCP connection */
	bool wait_client; /* a server with `wait`: the machine waits for the first client */
	/* Bytes the guest transmitted (loop mode aside), with a backend or not. */
	uint64_t tx_bytes;
	/* Record/replay (frontend/replay.c): told of every host input before it is
	 * queued; while input_ignored the backend's input is not read at all. */
	void (*input_hook)(void *opaque, struct uart *u, const uint8_t *buf, size_t len);
	void *input_opaque;
	bool input_ignored;
};

/* Claim 8 ports at `base`; -1 if one is taken. The backend starts as none. */
int uart_init(struct uart *u, struct ioports *io, uint16_t base, struct vclock *clock,
	      struct irq_line irq);
/*
 * Attach a backend: "stdio" (stdin raw when it is a terminal, restored on every
 * exit path), "file:PATH" (output only), "tcp:HOST:PORT[,server][,wait|,nowait]"
 * (QEMU's syntax; a server waits for its first client unless nowait, and
 * accepts the next one when a client leaves; output with no client is dropped),
 * "none".
 * Returns -1 with a message in err.
 */
int uart_open_backend(struct uart *u, const char *spec, char *err, size_t errlen);
void uart_destroy(struct uart *u);
void uart_reset(struct uart *u);
/* Host input: queue bytes (never dropped: returns how many fit) and feed the FIFO. */
size_t uart_input(struct uart *u, const void *buf, size_t len);
/*
 * A tcp server with `wait` whose first client has not come: wait for it up to
 * timeout_ms (-1: forever). 0 when the machine may start, -1 on timeout.
 */
int uart_wait_client(struct uart *u, int timeout_ms);
/* The local port of a tcp server backend (for tests and messages), or 0. */
unsigned uart_tcp_port(const struct uart *u);

/* Read what the backend has and write queued output, never blocking; true if input arrived. */
bool uart_poll(struct uart *u);
/* The fd to wait on while idle, or -1 (none, at EOF, or the queue is full). */
int uart_wait_fd(const struct uart *u);
size_t uart_save(const struct uart *u, void *buf, size_t len);
int uart_restore(struct uart *u, const void *buf, size_t len);
/* Whether a saved record (a file's) holds only values the device can hold
 * (chipset/state.h): 0, or -1 with the field and its value in err. */
int uart_check(const struct uart *u, const void *buf, size_t len, char *err, size_t errlen);

#endif
