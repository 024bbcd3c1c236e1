/*
 * fugu — the 8042 keyboard controller at 0x60/0x64 with a PS/2 keyboard on its
 * first port (IRQ1) and a PS/2 mouse on its auxiliary port (IRQ12). Its
 * output port drives the system reset line and the A20 gate.
 */
#ifndef FUGU_KBC_H
#define FUGU_KBC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chipset/irq.h"

struct ioports;

/* Status register (port 0x64 read). */
#define KBC_STS_OBF 0x01  /* output buffer full */
#define KBC_STS_IBF 0x02  /* input buffer full (never: fugu consumes writes at once) */
#define KBC_STS_SYS 0x04  /* system flag (command byte bit 2; set by a passed self test) */
#define KBC_STS_A2 0x08   /* the last write was a command (0x64), not data (0x60) */
#define KBC_STS_INH 0x10  /* keyboard not inhibited (the keylock is open) */
#define KBC_STS_AUXB 0x20 /* the output buffer holds a byte from the aux device */
#define KBC_STS_TO 0x40   /* timeout */
#define KBC_STS_PE 0x80   /* parity error */

/* Command byte (controller RAM byte 0). */
#define KBC_CMD_INT 0x01  /* IRQ1 when the output buffer receives keyboard data */
#define KBC_CMD_INT2 0x02 /* IRQ12 when it receives aux data */
#define KBC_CMD_SYS 0x04  /* system flag */
#define KBC_CMD_DKBD 0x10 /* keyboard interface disabled */
#define KBC_CMD_DAUX 0x20 /* aux interface disabled */
#define KBC_CMD_XLAT 0x40 /* translate keyboard data from set 2 to set 1 */

/* Output port (commands 0xD0/0xD1). */
#define KBC_OUT_RESET 0x01 /* system reset, active low */
#define KBC_OUT_A20 0x02   /* A20 gate */

#define PS2_QUEUE 16

/* A PS/2 device's output queue toward the controller. */
struct ps2_queue {
	uint8_t data[PS2_QUEUE];
	uint8_t head;  /* index of the oldest byte */
	uint8_t count; /* bytes queued */
};

struct ps2_kbd {
	struct ps2_queue q;
	uint8_t set;       /* scan code set 1, 2 or 3 (3 is sent as set 2, XXX) */
	uint8_t leds;      /* bit 0 scroll, 1 num, 2 caps lock */
	uint8_t typematic; /* rate/delay byte of 0xF3 */
	uint8_t pending;   /* command waiting for its parameter (0xED, 0xF3, 0xF0), or 0 */
	uint8_t last;      /* last byte sent (0xFE resend) */
	bool scanning;     /* enabled: key events are reported */
};

struct ps2_mouse {
	struct ps2_queue q;
	uint8_t rate;       /* samples per second */
	uint8_t resolution; /* 0-3: 1, 2, 4, 8 counts/mm */
	uint8_t pending;    /* command waiting for its parameter (0xF3, 0xE8), or 0 */
	uint8_t id;         /* device ID: 0, or 3 once the IntelliMouse sequence was seen */
	uint8_t rates[3];   /* the last three sample rates set (IntelliMouse detection) */
	uint8_t buttons;    /* bit 0 left, 1 right, 2 middle */
	uint8_t last;       /* last byte sent (0xFE resend) */
	bool reporting;     /* data reporting enabled (0xF4) */
	bool remote;        /* remote mode (0xF0) rather than stream mode */
	bool wrap;          /* wrap (echo) mode */
	bool scale21;       /* 2:1 scaling */
};

/* Everything save/restore copies. */
struct kbc_state {
	uint8_t status;  /* SYS, A2, INH, TO, PE (OBF and AUXB follow obf/out_aux) */
	uint8_t ram[32]; /* controller RAM; byte 0 is the command byte */
	uint8_t outport; /* output port */
	uint8_t out;     /* output buffer */
	bool obf;        /* the output buffer holds an unread byte */
	bool out_aux;    /* ...that came from the aux side */
	uint8_t pending; /* controller command waiting for a data byte (0x60-0x7F, 0xD1-0xD4) */
	uint8_t ctl;     /* a controller reply (or 0xD2/0xD3 byte) waiting for the buffer */
	bool ctl_full;   /* ctl is valid */
	bool ctl_aux;    /* ctl is to appear as aux data (0xD3) */
	bool xlat_break; /* translation saw a set-2 0xF0 break prefix */
	struct ps2_kbd kbd;
	struct ps2_mouse mouse;
};

struct kbc {
	struct kbc_state st;
	bool irq1, irq12; /* current output levels */
	struct kbc_board {
		struct irq_line irq1, irq12; /* keyboard and mouse output buffer full */
		struct irq_line a20;         /* output port bit 1 */
		struct irq_line reset;       /* pulsed: output port bit 0 driven low */
	} board; /* the board's connections; an unset line goes nowhere */
	/* Record and replay (frontend/replay.c): the hooks see each host input
	 * before it reaches the devices; while input_ignored the host's input is
	 * dropped (a replay feeds the recorded input with kbc_*_inject). */
	void (*kbd_hook)(void *opaque, const uint8_t *codes, size_t n);
	void (*mouse_hook)(void *opaque, int dx, int dy, int dz, unsigned buttons);
	void *hook_opaque;
	bool input_ignored;
};

/* Claim ports 0x60 and 0x64; -1 if taken. */
int kbc_init(struct kbc *k, struct ioports *io, const struct kbc_board *board);
void kbc_reset(struct kbc *k);
/*
 * Host input: a key's scan code sequence in set 2 (make, or 0xF0-prefixed
 * break, with 0xE0/0xE1 prefixes as the keyboard sends them). Dropped while
 * the keyboard does not scan or its buffer has no room for all of it.
 */
void kbc_kbd_input(struct kbc *k, const uint8_t *codes, size_t n);
/* Host input: mouse motion (dy > 0 is up), wheel (dz > 0 is toward the user)
 * and buttons (bit 0 left, 1 right, 2 middle). */
void kbc_mouse_input(struct kbc *k, int dx, int dy, int dz, unsigned buttons);
/* The same input from a replay: neither hooked nor ignored. */
void kbc_kbd_inject(struct kbc *k, const uint8_t *codes, size_t n);
void kbc_mouse_inject(struct kbc *k, int dx, int dy, int dz, unsigned buttons);
/* The set-2 to set-1 translation of the 8042 (XLAT), for one byte. */
uint8_t kbc_translate(uint8_t set2);
size_t kbc_save(const struct kbc *k, void *buf, size_t len);
int kbc_restore(struct kbc *k, const void *buf, size_t len);
/* Whether a saved record (a file's) holds only values the device can hold
 * (chipset/state.h): 0, or -1 with the field and its value in err. */
int kbc_check(const struct kbc *k, const void *buf, size_t len, char *err, size_t errlen);

#endif
