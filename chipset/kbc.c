/*
 * fugu — the 8042 keyboard controller, a PS/2 keyboard and a PS/2 mouse.
 * References: the IBM Personal System/2 Hardware Interface Technical
 * Reference, "Keyboard/Auxiliary Device Controller" (status register,
 * command byte, controller commands, output port) and "Keyboard and
 * Auxiliary Device" (keyboard commands, scan code sets, mouse commands and
 * data report format), cited below as "8042" and "PS/2 kbd"/"PS/2 aux".
 *
 * The controller answers at once: the input buffer is never full and a reply
 * is in the output buffer by the time the guest looks. Bytes flow into the
 * single output buffer only when it is empty, in this order: a controller
 * reply, keyboard data (unless the keyboard interface is disabled), aux data
 * (unless the aux interface is disabled). IRQ1/IRQ12 follow OBF for keyboard
 * or aux data when enabled in the command byte.
 */
#include "chipset/kbc.h"
#include "chipset/state.h"

#include <string.h>

#include "mmu/ioport.h"

#define ACK 0xfa
#define RESEND 0xfe
#define BAT_OK 0xaa
#define ECHO 0xee
#define SELF_TEST_OK 0x55

/* ---- queues ---- */

static bool
q_put(struct ps2_queue *q, uint8_t b)
{
	if (q->count == PS2_QUEUE)
		return false;
	q->data[(q->head + q->count++) % PS2_QUEUE] = b;
	return true;
}

static uint8_t
q_get(struct ps2_queue *q)
{
	uint8_t b = q->data[q->head];
	q->head = (uint8_t)((q->head + 1) % PS2_QUEUE);
	q->count--;
	return b;
}

static void
q_clear(struct ps2_queue *q)
{
	q->head = q->count = 0;
}

/* ---- set 2 to set 1 translation (8042, command byte XLAT) ---- */

/*
 * Set-2 make codes of the 101/102-key keyboard (and the Windows and Japanese
 * keys, last) and their set-1 codes; 0
 * entries are codes no such key sends and pass through unchanged (XXX: a
 * real 8042 maps those as well). 0x02 is not a key but is how the reply to
 * "F0 00" (current set 2) reads through the translation.
 */
static const uint8_t xlat[128] = {
	[0x00] = 0xff, [0x01] = 0x43, [0x02] = 0x41, [0x03] = 0x3f, [0x04] = 0x3d, [0x05] = 0x3b,
	[0x06] = 0x3c, [0x07] = 0x58, [0x09] = 0x44, [0x0a] = 0x42, [0x0b] = 0x40, [0x0c] = 0x3e,
	[0x0d] = 0x0f, [0x0e] = 0x29, [0x11] = 0x38, [0x12] = 0x2a, [0x14] = 0x1d, [0x15] = 0x10,
	[0x16] = 0x02, [0x1a] = 0x2c, [0x1b] = 0x1f, [0x1c] = 0x1e, [0x1d] = 0x11, [0x1e] = 0x03,
	[0x21] = 0x2e, [0x22] = 0x2d, [0x23] = 0x20, [0x24] = 0x12, [0x25] = 0x05, [0x26] = 0x04,
	[0x29] = 0x39, [0x2a] = 0x2f, [0x2b] = 0x21, [0x2c] = 0x14, [0x2d] = 0x13, [0x2e] = 0x06,
	[0x31] = 0x31, [0x32] = 0x30, [0x33] = 0x23, [0x34] = 0x22, [0x35] = 0x15, [0x36] = 0x07,
	[0x3a] = 0x32, [0x3b] = 0x24, [0x3c] = 0x16, [0x3d] = 0x08, [0x3e] = 0x09, [0x41] = 0x33,
	[0x42] = 0x25, [0x43] = 0x17, [0x44] = 0x18, [0x45] = 0x0b, [0x46] = 0x0a, [0x49] = 0x34,
	[0x4a] = 0x35, [0x4b] = 0x26, [0x4c] = 0x27, [0x4d] = 0x19, [0x4e] = 0x0c, [0x52] = 0x28,
	[0x54] = 0x1a, [0x55] = 0x0d, [0x58] = 0x3a, [0x59] = 0x36, [0x5a] = 0x1c, [0x5b] = 0x1b,
	[0x5d] = 0x2b, [0x61] = 0x56, [0x66] = 0x0e, [0x69] = 0x4f, [0x6b] = 0x4b, [0x6c] = 0x47,
	[0x70] = 0x52, [0x71] = 0x53, [0x72] = 0x50, [0x73] = 0x4c, [0x74] = 0x4d, [0x75] = 0x48,
	[0x76] = 0x01, [0x77] = 0x45, [0x78] = 0x57, [0x79] = 0x4e, [0x7a] = 0x51, [0x7b] = 0x4a,
	[0x7c] = 0x37, [0x7d] = 0x49, [0x7e] = 0x46, [0x1f] = 0x5b, [0x27] = 0x5c, [0x2f] = 0x5d,
	[0x13] = 0x70, [0x51] = 0x73, [0x64] = 0x79, [0x67] = 0x7b, [0x6a] = 0x7d,
};

uint8_t
kbc_translate(uint8_t b)
{
	if (b == 0x83) /* F7: the one set-2 make code above 0x7F */
		return 0x41;
	if (b == 0x84) /* Alt+SysRq */
		return 0x54;
	if (b >= 0x80 || (b && !xlat[b]))
		return b;
	return xlat[b];
}

/* ---- the controller's output side ---- */

static void
update_irqs(struct kbc *k)
{
	uint8_t cmd = k->st.ram[0];
	bool irq1 = k->st.obf && !k->st.out_aux && (cmd & KBC_CMD_INT);
	bool irq12 = k->st.obf && k->st.out_aux && (cmd & KBC_CMD_INT2);
	if (irq1 != k->irq1) {
		k->irq1 = irq1;
		irq_set(&k->board.irq1, irq1);
	}
	if (irq12 != k->irq12) {
		k->irq12 = irq12;
		irq_set(&k->board.irq12, irq12);
	}
}

/*
 * Next keyboard byte for the output buffer, translated when XLAT is set: a
 * set-2 0xF0 prefix is swallowed and the following code gets bit 7 (8042,
 * command byte bit 6). Returns false when nothing is ready.
 */
static bool
next_kbd_byte(struct kbc *k, uint8_t *out)
{
	struct ps2_queue *q = &k->st.kbd.q;
	while (q->count) {
		uint8_t b = q_get(q);
		if (!(k->st.ram[0] & KBC_CMD_XLAT)) {
			*out = b;
			return true;
		}
		if (b == 0xf0) {
			k->st.xlat_break = true;
			continue;
		}
		*out = (uint8_t)(kbc_translate(b) | (k->st.xlat_break ? 0x80 : 0));
		k->st.xlat_break = false;
		return true;
	}
	return false;
}

/*
 * Fill an empty output buffer from the controller, then the keyboard, then
 * the aux device, and set the IRQ lines.
 */
static void
refill(struct kbc *k)
{
	struct kbc_state *s = &k->st;
	if (!s->obf) {
		uint8_t b;
		if (s->ctl_full) {
			s->out = s->ctl;
			s->out_aux = s->ctl_aux;
			s->obf = true;
			s->ctl_full = false;
		} else if (!(s->ram[0] & KBC_CMD_DKBD) && next_kbd_byte(k, &b)) {
			s->out = b;
			s->out_aux = false;
			s->obf = true;
		} else if (!(s->ram[0] & KBC_CMD_DAUX) && s->mouse.q.count) {
			s->out = q_get(&s->mouse.q);
			s->out_aux = true;
			s->obf = true;
		}
	}
	update_irqs(k);
}

/* A controller reply (or a 0xD2/0xD3 byte) for the output buffer. */
static void
reply(struct kbc *k, uint8_t b, bool aux)
{
	k->st.ctl = b;
	k->st.ctl_aux = aux;
	k->st.ctl_full = true;
	refill(k);
}

/* ---- the PS/2 keyboard ---- */

static void
kbd_send(struct kbc *k, uint8_t b)
{
	k->st.kbd.last = b;
	q_put(&k->st.kbd.q, b);
}

/* Power-on defaults (PS/2 kbd, "Set Default"): set 2, 10.9 cps after 500 ms. */
static void
kbd_defaults(struct ps2_kbd *kb)
{
	kb->set = 2;
	kb->typematic = 0x2b;
	kb->leds = 0;
	kb->pending = 0;
}

/*
 * A byte from the controller to the keyboard: a command, or the parameter
 * of the previous one (PS/2 kbd, "Commands from the system").
 */
static void
kbd_write(struct kbc *k, uint8_t b)
{
	struct ps2_kbd *kb = &k->st.kbd;
	if (kb->pending && b < 0xed) {
		uint8_t cmd = kb->pending;
		kb->pending = 0;
		if (cmd == 0xed) {
			kb->leds = b & 7;
		} else if (cmd == 0xf3) {
			kb->typematic = b & 0x7f;
		} else if (b == 0) { /* 0xF0 00: report the current set */
			kbd_send(k, ACK);
			kbd_send(k, kb->set);
			return;
		} else if (b <= 3) {
			kb->set = b;
		} else {
			kbd_send(k, RESEND);
			return;
		}
		kbd_send(k, ACK);
		return;
	}
	kb->pending = 0;
	switch (b) {
	case 0xed: /* set/reset mode indicators */
	case 0xf3: /* set typematic rate/delay */
	case 0xf0: /* select alternate scan codes */
		kb->pending = b;
		kbd_send(k, ACK);
		break;
	case 0xee: /* echo */ kbd_send(k, ECHO); break;
	case 0xf2: /* read ID: ACK, then the two ID bytes of an MF2 keyboard */
		kbd_send(k, ACK);
		kbd_send(k, 0xab);
		kbd_send(k, 0x83);
		break;
	case 0xf4: /* enable: clear the buffer, start scanning */
		q_clear(&kb->q);
		kb->scanning = true;
		kbd_send(k, ACK);
		break;
	case 0xf5: /* default disable */
		q_clear(&kb->q);
		kbd_defaults(kb);
		kb->scanning = false;
		kbd_send(k, ACK);
		break;
	case 0xf6: /* set default: scanning continues */
		q_clear(&kb->q);
		kbd_defaults(kb);
		kbd_send(k, ACK);
		break;
	case 0xf7:
	case 0xf8:
	case 0xf9:
	case 0xfa: /* set 3 key type commands: accepted */
	case 0xfb:
	case 0xfc:
	case 0xfd: kbd_send(k, ACK); break;
	case 0xfe: /* resend */ q_put(&kb->q, kb->last); break;
	case 0xff: /* reset: ACK, basic assurance test passed */
		q_clear(&kb->q);
		kbd_defaults(kb);
		kb->scanning = true;
		kbd_send(k, ACK);
		kbd_send(k, BAT_OK);
		break;
	default: kbd_send(k, RESEND); break;
	}
}

void
kbc_kbd_input(struct kbc *k, const uint8_t *codes, size_t n)
{
	if (k->input_ignored)
		return;
	if (k->kbd_hook)
		k->kbd_hook(k->hook_opaque, codes, n);
	kbc_kbd_inject(k, codes, n);
}

void
kbc_kbd_inject(struct kbc *k, const uint8_t *codes, size_t n)
{
	struct ps2_kbd *kb = &k->st.kbd;
	uint8_t buf[PS2_QUEUE];
	size_t m = 0;
	bool brk = false;
	if (!kb->scanning)
		return;
	for (size_t i = 0; i < n && m < sizeof(buf); i++) {
		if (kb->set != 1) { /* XXX: set 3 is sent as set 2 */
			buf[m++] = codes[i];
		} else if (codes[i] == 0xf0) {
			brk = true;
		} else {
			buf[m++] = (uint8_t)(kbc_translate(codes[i]) | (brk ? 0x80 : 0));
			brk = false;
		}
	}
	if (m > (size_t)(PS2_QUEUE - kb->q.count))
		return; /* no room: the key is lost (XXX: a real keyboard sends an overrun code) */
	for (size_t i = 0; i < m; i++)
		kbd_send(k, buf[i]);
	refill(k);
}

/* ---- the PS/2 mouse ---- */

static void
mouse_send(struct kbc *k, uint8_t b)
{
	k->st.mouse.last = b;
	q_put(&k->st.mouse.q, b);
}

/* Defaults (PS/2 aux, "Set Defaults"): 100 samples/s, 4 counts/mm, 1:1, stream, disabled. */
static void
mouse_defaults(struct ps2_mouse *m)
{
	m->rate = 100;
	m->resolution = 2;
	m->scale21 = false;
	m->remote = false;
	m->reporting = false;
	m->pending = 0;
}

/* 2:1 scaling of one motion count (PS/2 aux, "Scaling"). */
static int
scale(const struct ps2_mouse *m, int d)
{
	static const int table[6] = { 0, 1, 1, 3, 6, 9 };
	if (!m->scale21 || m->remote)
		return d;
	int a = d < 0 ? -d : d;
	int v = a < 6 ? table[a] : 2 * a;
	return d < 0 ? -v : v;
}

/*
 * One data report: byte 1 buttons, sign and overflow bits and the always-one
 * bit 3; bytes 2 and 3 the low 8 bits of X and Y; a fourth byte with the
 * wheel for device ID 3.
 */
static void
mouse_packet(struct kbc *k, int dx, int dy, int dz)
{
	struct ps2_mouse *m = &k->st.mouse;
	unsigned need = m->id == 3 ? 4 : 3;
	dx = scale(m, dx);
	dy = scale(m, dy);
	uint8_t b0 = (uint8_t)(0x08 | (m->buttons & 7));
	if (dx < 0)
		b0 |= 0x10;
	if (dy < 0)
		b0 |= 0x20;
	if (dx > 255 || dx < -256)
		b0 |= 0x40;
	if (dy > 255 || dy < -256)
		b0 |= 0x80;
	dx = dx > 255 ? 255 : dx < -256 ? -256 : dx;
	dy = dy > 255 ? 255 : dy < -256 ? -256 : dy;
	dz = dz > 7 ? 7 : dz < -8 ? -8 : dz;
	if ((unsigned)(PS2_QUEUE - m->q.count) < need)
		return;
	mouse_send(k, b0);
	mouse_send(k, (uint8_t)dx);
	mouse_send(k, (uint8_t)dy);
	if (need == 4)
		mouse_send(k, (uint8_t)dz);
}

/*
 * A byte for the mouse (controller command 0xD4): a command or the parameter
 * of the previous one (PS/2 aux, "Commands").
 */
static void
mouse_write(struct kbc *k, uint8_t b)
{
	struct ps2_mouse *m = &k->st.mouse;
	if (m->wrap && b != 0xec && b != 0xff) {
		mouse_send(k, b);
		return;
	}
	if (m->pending) {
		uint8_t cmd = m->pending;
		m->pending = 0;
		if (cmd == 0xf3) {
			m->rate = b;
			m->rates[0] = m->rates[1];
			m->rates[1] = m->rates[2];
			m->rates[2] = b;
			if (m->rates[0] == 200 && m->rates[1] == 100 && m->rates[2] == 80)
				m->id = 3; /* IntelliMouse: wheel in a fourth byte */
		} else {
			m->resolution = b & 3;
		}
		mouse_send(k, ACK);
		return;
	}
	switch (b) {
	case 0xe6: /* scaling 1:1 */
	case 0xe7: /* scaling 2:1 */
		m->scale21 = b == 0xe7;
		mouse_send(k, ACK);
		break;
	case 0xe8: /* set resolution */
	case 0xf3: /* set sample rate */
		m->pending = b;
		mouse_send(k, ACK);
		break;
	case 0xe9: /* status request: mode, enable, scaling, buttons; resolution; rate */
		mouse_send(k, ACK);
		mouse_send(k, (uint8_t)(m->remote << 6 | m->reporting << 5 | m->scale21 << 4 |
					(m->buttons & 1) << 2 | (m->buttons & 4) >> 1 |
					(m->buttons & 2) >> 1));
		mouse_send(k, m->resolution);
		mouse_send(k, m->rate);
		break;
	case 0xea: /* stream mode */
	case 0xf0: /* remote mode */
		m->remote = b == 0xf0;
		mouse_send(k, ACK);
		break;
	case 0xeb: /* read data */
		mouse_send(k, ACK);
		mouse_packet(k, 0, 0, 0);
		break;
	case 0xec: /* reset wrap mode */
	case 0xee: /* set wrap mode */
		m->wrap = b == 0xee;
		mouse_send(k, ACK);
		break;
	case 0xf2: /* read device type */
		mouse_send(k, ACK);
		mouse_send(k, m->id);
		break;
	case 0xf4: /* enable data reporting */
	case 0xf5: /* disable */
		m->reporting = b == 0xf4;
		mouse_send(k, ACK);
		break;
	case 0xf6: /* set defaults */
		mouse_defaults(m);
		mouse_send(k, ACK);
		break;
	case 0xfe: /* resend */ q_put(&m->q, m->last); break;
	case 0xff: /* reset: ACK, self-test passed, device ID 0 */
		q_clear(&m->q);
		mouse_defaults(m);
		m->wrap = false;
		m->id = 0;
		memset(m->rates, 0, sizeof(m->rates));
		mouse_send(k, ACK);
		mouse_send(k, BAT_OK);
		mouse_send(k, 0x00);
		break;
	default: mouse_send(k, RESEND); break;
	}
}

void
kbc_mouse_input(struct kbc *k, int dx, int dy, int dz, unsigned buttons)
{
	if (k->input_ignored)
		return;
	if (k->mouse_hook)
		k->mouse_hook(k->hook_opaque, dx, dy, dz, buttons);
	kbc_mouse_inject(k, dx, dy, dz, buttons);
}

void
kbc_mouse_inject(struct kbc *k, int dx, int dy, int dz, unsigned buttons)
{
	struct ps2_mouse *m = &k->st.mouse;
	bool moved = dx || dy || dz || (buttons & 7) != m->buttons;
	m->buttons = (uint8_t)(buttons & 7);
	if (!moved || !m->reporting || m->remote)
		return;
	mouse_packet(k, dx, dy, dz);
	refill(k);
}

/* ---- the controller ---- */

/* The output port's reset and A20 lines changed (8042, "Write Output Port"). */
static void
set_outport(struct kbc *k, uint8_t v)
{
	uint8_t old = k->st.outport;
	k->st.outport = v;
	if ((old ^ v) & KBC_OUT_A20)
		irq_set(&k->board.a20, v & KBC_OUT_A20);
	if (!(v & KBC_OUT_RESET))
		irq_pulse(&k->board.reset);
}

/* The command byte changed: the system flag follows its bit 2. */
static void
set_command_byte(struct kbc *k, uint8_t v)
{
	k->st.ram[0] = v;
	k->st.status = (uint8_t)((k->st.status & ~KBC_STS_SYS) | (v & KBC_CMD_SYS));
	refill(k); /* enables and IRQ bits may have changed */
}

/* A command written to port 0x64 (8042, "Commands (I/O address 64h)"). */
static void
controller_command(struct kbc *k, uint8_t c)
{
	struct kbc_state *s = &k->st;
	s->pending = 0;
	if (c >= 0x20 && c <= 0x3f) { /* read controller RAM */
		reply(k, s->ram[c & 0x1f], false);
		return;
	}
	if ((c >= 0x60 && c <= 0x7f) || (c >= 0xd1 && c <= 0xd4)) { /* data byte follows */
		s->pending = c;
		return;
	}
	if (c >= 0xf0) { /* pulse output port bits 3-0 low for 6 us: bit 0 is reset */
		if (!(c & 1))
			irq_pulse(&k->board.reset);
		return;
	}
	switch (c) {
	case 0xa4: /* password installed test: none */ reply(k, 0xf1, false); break;
	case 0xa7: /* disable aux interface */ set_command_byte(k, s->ram[0] | KBC_CMD_DAUX); break;
	case 0xa8: /* enable aux interface */ set_command_byte(k, s->ram[0] & ~KBC_CMD_DAUX); break;
	case 0xa9: /* aux interface test: no error */
	case 0xab: /* keyboard interface test: no error */ reply(k, 0x00, false); break;
	case 0xaa: /* self test: passed; the system flag is set */
		s->status |= KBC_STS_SYS;
		reply(k, SELF_TEST_OK, false);
		break;
	case 0xad: /* disable keyboard interface */
		set_command_byte(k, s->ram[0] | KBC_CMD_DKBD);
		break;
	case 0xae: /* enable keyboard interface */
		set_command_byte(k, s->ram[0] & ~KBC_CMD_DKBD);
		break;
	case 0xc0: /* read input port: keyboard not inhibited, others 0 */
		reply(k, 0x80, false);
		break;
	case 0xd0: /* read output port; bits 4/5 show the output buffer's owner */
		reply(k,
		      (uint8_t)((s->outport & 0xcf) | (s->obf && !s->out_aux) << 4 |
				(s->obf && s->out_aux) << 5),
		      false);
		break;
	case 0xdd: /* disable A20 (not on every 8042; PCs accept it) */
		set_outport(k, s->outport & ~KBC_OUT_A20);
		break;
	case 0xdf: /* enable A20 */ set_outport(k, s->outport | KBC_OUT_A20); break;
	case 0xe0: /* read test inputs */ reply(k, 0x00, false); break;
	default: /* unknown commands are ignored */ break;
	}
}

/* A byte written to port 0x60: the data of a pending command, or for the keyboard. */
static void
controller_data(struct kbc *k, uint8_t v)
{
	struct kbc_state *s = &k->st;
	uint8_t c = s->pending;
	s->pending = 0;
	s->status &= (uint8_t)~KBC_STS_TO;
	if (c >= 0x60 && c <= 0x7f) {
		if (c == 0x60)
			set_command_byte(k, v);
		else
			s->ram[c & 0x1f] = v;
		return;
	}
	switch (c) {
	case 0xd1: /* write output port */ set_outport(k, v); break;
	case 0xd2: /* write keyboard output buffer: appears as keyboard data */
		reply(k, v, false);
		break;
	case 0xd3: /* write aux output buffer: appears as aux data */ reply(k, v, true); break;
	case 0xd4: /* write to the aux device */ mouse_write(k, v); break;
	default: kbd_write(k, v); break;
	}
	refill(k);
}

static uint32_t
kbc_read(void *opaque, uint16_t port, unsigned size)
{
	struct kbc *k = opaque;
	struct kbc_state *s = &k->st;
	(void)size;
	if (port == 0x64)
		return (uint32_t)(s->status | (s->obf ? KBC_STS_OBF : 0) |
				  (s->obf && s->out_aux ? KBC_STS_AUXB : 0));
	/* Port 0x60: reading empties the buffer; the last byte reads again if nothing follows. */
	uint8_t v = s->out;
	if (s->obf) {
		s->obf = false;
		update_irqs(k); /* the line falls, so the next byte is a new edge */
		refill(k);
	}
	return v;
}

static void
kbc_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct kbc *k = opaque;
	(void)size;
	if (port == 0x64) {
		k->st.status |= KBC_STS_A2;
		controller_command(k, (uint8_t)value);
	} else {
		k->st.status &= (uint8_t)~KBC_STS_A2;
		controller_data(k, (uint8_t)value);
	}
}

int
kbc_init(struct kbc *k, struct ioports *io, const struct kbc_board *board)
{
	memset(k, 0, sizeof(*k));
	k->board = *board;
	kbc_reset(k);
	if (ioports_register(io, 0x60, 1, "kbc-data", kbc_read, kbc_write, k, 0) ||
	    ioports_register(io, 0x64, 1, "kbc-cmd", kbc_read, kbc_write, k, 0))
		return -1;
	return 0;
}

/*
 * Power-on: system flag clear, keylock open, command byte with both IRQs
 * enabled, output port with reset inactive and A20 enabled; the keyboard
 * scans in set 2, the mouse is in stream mode with reporting off.
 */
void
kbc_reset(struct kbc *k)
{
	memset(&k->st, 0, sizeof(k->st));
	k->st.status = KBC_STS_INH;
	k->st.ram[0] = KBC_CMD_INT | KBC_CMD_INT2;
	k->st.outport = 0xcf; /* reset and A20 high, clock/data lines idle high */
	kbd_defaults(&k->st.kbd);
	k->st.kbd.scanning = true;
	mouse_defaults(&k->st.mouse);
	irq_raise(&k->board.a20);
	update_irqs(k);
}

size_t
kbc_save(const struct kbc *k, void *buf, size_t len)
{
	return state_save(&k->st, sizeof(k->st), buf, len);
}

/* The bools of struct kbc_state (chipset/state.h), the PS/2 devices' included. */
static const size_t STATE_KEEP kbc_bools[] = {
	offsetof(struct kbc_state, obf),
	offsetof(struct kbc_state, out_aux),
	offsetof(struct kbc_state, ctl_full),
	offsetof(struct kbc_state, ctl_aux),
	offsetof(struct kbc_state, xlat_break),
	offsetof(struct kbc_state, kbd.scanning),
	offsetof(struct kbc_state, mouse.reporting),
	offsetof(struct kbc_state, mouse.remote),
	offsetof(struct kbc_state, mouse.wrap),
	offsetof(struct kbc_state, mouse.scale21),
};

/* The limits of struct kbc_state (chipset/state.h): the PS/2 devices' output
 * queues (head an index into data[], count at most PS2_QUEUE), the scan code
 * set (1-3) and the mouse's 2-bit resolution. */
#define QUEUE_LIMITS(dev)                                                                          \
	STATE_MAX(struct kbc_state, dev.q.head, PS2_QUEUE - 1),                                    \
		STATE_MAX(struct kbc_state, dev.q.count, PS2_QUEUE)
static const struct state_limit kbc_limits[] = {
	QUEUE_LIMITS(kbd),
	QUEUE_LIMITS(mouse),
	STATE_ONE_OF(struct kbc_state, kbd.set, 1u << 1 | 1u << 2 | 1u << 3),
	STATE_MASK(struct kbc_state, mouse.resolution, 3),
};

int
kbc_check(const struct kbc *k, const void *buf, size_t len, char *err, size_t errlen)
{
	(void)k;
	return state_check(buf, len, STATE_LIMITS(kbc_limits), "", err, errlen);
}

int
kbc_restore(struct kbc *k, const void *buf, size_t len)
{
	if (state_restore(&k->st, sizeof(k->st), buf, len, STATE_BOOLS(kbc_bools),
			  STATE_LIMITS(kbc_limits)) < 0)
		return -1;
	irq_set(&k->board.a20, k->st.outport & KBC_OUT_A20);
	update_irqs(k);
	return 0;
}
