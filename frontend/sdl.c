/*
 * fugu — the SDL2 window.
 *
 * The window shows vga_render's frame in a streaming texture, scaled by an
 * integer factor (SDL's logical size with integer scaling, on the drawable's
 * pixels, so HiDPI screens get sharp pixels). It never waits: no vsync, every
 * SDL call returns at once, and nothing is drawn while the window is hidden
 * or minimised. Keys go to the PS/2 keyboard as set 2 codes through
 * frontend/keymap.c (the 8042 translates to set 1 when the guest asks); the
 * mouse is a PS/2 mouse, relative, grabbed on a click.
 *
 * Hotkeys (the modifiers are Left Ctrl + Left Alt unless grab-mod says
 * otherwise; AltGr is Right Alt, so layouts with AltGr keep it): G release
 * the mouse, F full screen, S screenshot (fugu-screenshot-N.png), V paste the
 * clipboard as typed keys, End send Ctrl-Alt-Del.
 */
#include "frontend/display.h"

#include <stdio.h>

#ifdef FUGU_SDL

#include <SDL.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chipset/pc.h"
#include "frontend/keymap.h"

#define REFRESH_NS 16666667ull /* 60 Hz */

struct display {
	struct pc *pc;
	SDL_Window *win;
	SDL_Renderer *ren;
	SDL_Texture *tex;
	unsigned tw, th;     /* texture size */
	uint64_t generation; /* of the frame in the texture */
	bool shown;          /* the window was shown (after the first frame) */
	bool dirty;          /* present again (expose, resize) */
	bool grabbed, paused, full_screen;
	uint16_t hotmods;    /* SDL KMOD_* bits that make a hotkey */
	const char *hotname; /* "Ctrl-Alt" */
	uint64_t last_virt, last_host;
	bool held[256];    /* keys down in the guest, by HID usage */
	bool swallow[256]; /* hotkeys: their release is not the guest's */
	unsigned buttons;  /* PS/2 mouse buttons */
	char *paste;       /* clipboard text still to type */
	size_t paste_pos;
	char title[160];
	int script_fd; /* FUGU_SDL_SCRIPT: test commands, -1 without */
	char script_buf[512];
	size_t script_len;
};

bool
display_available(void)
{
	return true;
}

static void
send_key(struct display *d, unsigned usage, bool down)
{
	uint8_t codes[KEYMAP_MAX_CODES];
	size_t n = keymap_set2(usage, down, codes);
	if (n)
		kbc_kbd_input(&d->pc->kbc, codes, n);
	if (usage < 256)
		d->held[usage] = down;
}

/* Focus lost: every key the guest thinks is down goes up (no stuck Alt after Alt-Tab). */
static void
release_all(struct display *d)
{
	for (unsigned u = 0; u < 256; u++)
		if (d->held[u])
			send_key(d, u, false);
	if (d->buttons) {
		d->buttons = 0;
		kbc_mouse_input(&d->pc->kbc, 0, 0, 0, 0);
	}
}

static void
update_title(struct display *d)
{
	char t[sizeof(d->title)];
	snprintf(t, sizeof(t), "fugu%s%s%s%s", d->paused ? " - paused" : "",
		 d->grabbed ? " - press " : "", d->grabbed ? d->hotname : "",
		 d->grabbed ? "-G to release the mouse" : "");
	if (strcmp(t, d->title)) {
		strcpy(d->title, t);
		SDL_SetWindowTitle(d->win, t);
	}
}

static void
set_grab(struct display *d, bool on)
{
	d->grabbed = on;
	SDL_SetRelativeMouseMode(on ? SDL_TRUE : SDL_FALSE);
	SDL_SetWindowGrab(d->win, on ? SDL_TRUE : SDL_FALSE);
	update_title(d);
}

/* A window size for a w x h frame: the largest integer scale that fits 90% of the screen. */
static void
fit_window(struct display *d, unsigned w, unsigned h)
{
	SDL_Rect r;
	int scale = 1;
	int di = SDL_GetWindowDisplayIndex(d->win);
	if (SDL_GetDisplayUsableBounds(di < 0 ? 0 : di, &r) == 0)
		while ((unsigned)(scale + 1) * w <= (unsigned)r.w * 9 / 10 &&
		       (unsigned)(scale + 1) * h <= (unsigned)r.h * 9 / 10)
			scale++;
	if (!d->full_screen)
		SDL_SetWindowSize(d->win, (int)w * scale, (int)h * scale);
}

/* Take the frame into the texture when it changed; resize the window on a mode change. */
static void
refresh(struct display *d)
{
	const struct vga_frame *fr = vga_render(&d->pc->vga);
	if (fr->width != d->tw || fr->height != d->th || !d->tex) {
		if (d->tex)
			SDL_DestroyTexture(d->tex);
		d->tex = SDL_CreateTexture(d->ren, SDL_PIXELFORMAT_RGB888,
					   SDL_TEXTUREACCESS_STREAMING, (int)fr->width,
					   (int)fr->height);
		d->tw = fr->width;
		d->th = fr->height;
		SDL_RenderSetLogicalSize(d->ren, (int)fr->width, (int)fr->height);
		fit_window(d, fr->width, fr->height);
		d->generation = fr->generation - 1;
	}
	if (d->tex && fr->generation != d->generation) {
		SDL_UpdateTexture(d->tex, NULL, fr->pixels, (int)fr->stride);
		d->generation = fr->generation;
		d->dirty = true;
	}
	if (!d->shown) {
		SDL_ShowWindow(d->win);
		d->shown = true;
	}
	if (d->dirty) {
		SDL_SetRenderDrawColor(d->ren, 0, 0, 0, 255);
		SDL_RenderClear(d->ren);
		SDL_RenderCopy(d->ren, d->tex, NULL, NULL);
		SDL_RenderPresent(d->ren);
		d->dirty = false;
	}
}

/* The next free fugu-screenshot-N.png in the current directory. */
static void
screenshot(struct display *d)
{
	char path[64], err[256];
	struct stat st;
	for (unsigned n = 1; n < 100000; n++) {
		snprintf(path, sizeof(path), "fugu-screenshot-%u.png", n);
		if (stat(path, &st) != 0)
			break;
	}
	if (png_write_frame(path, vga_render(&d->pc->vga), err, sizeof(err)) < 0)
		fprintf(stderr, "fugu: screenshot: %s\n", err);
	else
		fprintf(stderr, "fugu: screenshot %s\n", path);
}

/* Ctrl-Alt-Del for the guest, whatever the host does with the real one. */
static void
send_ctrl_alt_del(struct display *d)
{
	static const unsigned seq[] = { HID_LCTRL, HID_LALT, HID_DELETE };
	for (unsigned i = 0; i < 3; i++)
		send_key(d, seq[i], true);
	for (unsigned i = 3; i-- > 0;)
		send_key(d, seq[i], false);
}

/* Paste: one character at a time, each when the keyboard's buffer has drained. */
static void
paste_step(struct display *d)
{
	if (!d->paste)
		return;
	if (d->pc->kbc.st.kbd.q.count || d->pc->kbc.st.obf)
		return;
	char c;
	unsigned usage;
	bool shift;
	do {
		c = d->paste[d->paste_pos++];
	} while (c && (c == '\r' || !keymap_ascii(c, &usage, &shift)));
	if (!c) {
		SDL_free(d->paste);
		d->paste = NULL;
		return;
	}
	uint8_t buf[4 * KEYMAP_MAX_CODES];
	size_t n = 0;
	if (shift)
		n += keymap_set2(HID_LSHIFT, true, buf + n);
	n += keymap_set2(usage, true, buf + n);
	n += keymap_set2(usage, false, buf + n);
	if (shift)
		n += keymap_set2(HID_LSHIFT, false, buf + n);
	kbc_kbd_input(&d->pc->kbc, buf, n);
}

/* A hotkey (the modifiers held): true when the key was one and has been handled. */
static bool
hotkey(struct display *d, unsigned usage)
{
	switch (usage) {
	case SDL_SCANCODE_G: set_grab(d, !d->grabbed); return true;
	case SDL_SCANCODE_F:
		d->full_screen = !d->full_screen;
		SDL_SetWindowFullscreen(d->win, d->full_screen ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
		if (!d->full_screen)
			fit_window(d, d->tw, d->th);
		d->dirty = true;
		return true;
	case SDL_SCANCODE_S: screenshot(d); return true;
	case SDL_SCANCODE_V:
		if (!d->paste && SDL_HasClipboardText()) {
			d->paste = SDL_GetClipboardText();
			d->paste_pos = 0;
		}
		return true;
	case SDL_SCANCODE_END: send_ctrl_alt_del(d); return true;
	default: return false;
	}
}

static void
key_event(struct display *d, const SDL_KeyboardEvent *k)
{
	unsigned usage = k->keysym.scancode;
	if (usage >= 256)
		return;
	bool down = k->type == SDL_KEYDOWN;
	if (down && (k->keysym.mod & d->hotmods) == d->hotmods && hotkey(d, usage)) {
		d->swallow[usage] = true;
		return;
	}
	if (!down && d->swallow[usage]) {
		d->swallow[usage] = false;
		return;
	}
	if (k->repeat && usage == HID_PAUSE)
		return;
	send_key(d, usage, down); /* held keys repeat as repeated make codes (typematic) */
}

static unsigned
ps2_buttons(uint32_t state)
{
	return (state & SDL_BUTTON_LMASK ? 1u : 0) | (state & SDL_BUTTON_RMASK ? 2u : 0) |
	       (state & SDL_BUTTON_MMASK ? 4u : 0);
}

static bool
handle_event(struct display *d, const SDL_Event *e)
{
	switch (e->type) {
	case SDL_QUIT: return false;
	case SDL_KEYDOWN:
	case SDL_KEYUP: key_event(d, &e->key); break;
	case SDL_MOUSEBUTTONDOWN:
	case SDL_MOUSEBUTTONUP:
		if (!d->grabbed) {
			if (e->type == SDL_MOUSEBUTTONDOWN && e->button.button == SDL_BUTTON_LEFT)
				set_grab(d, true);
			break;
		}
		d->buttons = ps2_buttons(SDL_GetMouseState(NULL, NULL));
		kbc_mouse_input(&d->pc->kbc, 0, 0, 0, d->buttons);
		break;
	case SDL_MOUSEMOTION:
		if (d->grabbed && (e->motion.xrel || e->motion.yrel))
			kbc_mouse_input(&d->pc->kbc, e->motion.xrel, -e->motion.yrel, 0,
					d->buttons);
		break;
	case SDL_MOUSEWHEEL:
		if (d->grabbed && e->wheel.y)
			kbc_mouse_input(&d->pc->kbc, 0, 0, -e->wheel.y, d->buttons);
		break;
	case SDL_WINDOWEVENT:
		switch (e->window.event) {
		case SDL_WINDOWEVENT_FOCUS_LOST:
			release_all(d);
			if (d->grabbed)
				set_grab(d, false);
			break;
		case SDL_WINDOWEVENT_EXPOSED:
		case SDL_WINDOWEVENT_SIZE_CHANGED:
		case SDL_WINDOWEVENT_RESTORED: d->dirty = true; break;
		case SDL_WINDOWEVENT_CLOSE: return false;
		}
		break;
	}
	return true;
}

/*
 * FUGU_SDL_SCRIPT=PATH (a file or FIFO, for tests): lines "key NAME" (an SDL
 * key name: a press and a release through the event queue), "shot PATH" (the
 * window's pixels as BMP), "png PATH" (the frame as the screenshot hotkey
 * writes it), "quit" (as if the window were closed).
 */
static void
script_poll(struct display *d)
{
	ssize_t n = read(d->script_fd, d->script_buf + d->script_len,
			 sizeof(d->script_buf) - 1 - d->script_len);
	if (n <= 0)
		return;
	d->script_len += (size_t)n;
	d->script_buf[d->script_len] = 0;
	char *nl;
	while ((nl = strchr(d->script_buf, '\n'))) {
		*nl = 0;
		char *arg = strchr(d->script_buf, ' ');
		arg = arg ? arg + 1 : d->script_buf + strlen(d->script_buf);
		SDL_Event e = { 0 };
		if (!strncmp(d->script_buf, "key ", 4)) {
			e.key.keysym.scancode = SDL_GetScancodeFromName(arg);
			e.key.windowID = SDL_GetWindowID(d->win);
			e.type = SDL_KEYDOWN;
			e.key.state = SDL_PRESSED;
			SDL_PushEvent(&e);
			e.type = SDL_KEYUP;
			e.key.state = SDL_RELEASED;
			SDL_PushEvent(&e);
		} else if (!strncmp(d->script_buf, "shot ", 5)) {
			int w, h;
			SDL_GetRendererOutputSize(d->ren, &w, &h);
			SDL_Surface *s =
				SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_RGB888);
			if (s && SDL_RenderReadPixels(d->ren, NULL, SDL_PIXELFORMAT_RGB888,
						      s->pixels, s->pitch) == 0)
				SDL_SaveBMP(s, arg);
			SDL_FreeSurface(s);
		} else if (!strncmp(d->script_buf, "png ", 4)) {
			char err[256];
			if (png_write_frame(arg, vga_render(&d->pc->vga), err, sizeof(err)) < 0)
				fprintf(stderr, "fugu: %s\n", err);
		} else if (!strcmp(d->script_buf, "quit")) {
			e.type = SDL_QUIT;
			SDL_PushEvent(&e);
		}
		size_t used = (size_t)(nl + 1 - d->script_buf);
		memmove(d->script_buf, nl + 1, d->script_len - used + 1);
		d->script_len -= used;
	}
	if (d->script_len == sizeof(d->script_buf) - 1)
		d->script_len = 0; /* a line too long: dropped */
}

struct display *
display_open(struct pc *pc, const struct display_opts *o, char *err, size_t errlen)
{
	uint16_t mods = KMOD_LCTRL | KMOD_LALT;
	const char *hotname = "Ctrl-Alt";
	if (o->grab_mod && !strcmp(o->grab_mod, "lshift-lctrl-lalt")) {
		mods = KMOD_LSHIFT | KMOD_LCTRL | KMOD_LALT;
		hotname = "Shift-Ctrl-Alt";
	} else if (o->grab_mod && !strcmp(o->grab_mod, "rctrl")) {
		mods = KMOD_RCTRL;
		hotname = "Right-Ctrl";
	} else if (o->grab_mod && strcmp(o->grab_mod, "lctrl-lalt")) {
		snprintf(err, errlen, "bad grab-mod '%s' (lctrl-lalt, lshift-lctrl-lalt or rctrl)",
			 o->grab_mod);
		return NULL;
	}
	SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "nearest");
	SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");    /* Ctrl-C stays fugu's */
	SDL_SetHint(SDL_HINT_GRAB_KEYBOARD, "1");         /* system keys go to the guest */
	SDL_SetHint(SDL_HINT_VIDEO_X11_NET_WM_PING, "0"); /* no "not responding" prompts */
	if (SDL_InitSubSystem(SDL_INIT_VIDEO) < 0) {
		snprintf(err, errlen, "SDL: %s", SDL_GetError());
		return NULL;
	}
	/* SDL falls back to drivers that show nothing; only asked for (tests) do they count. */
	const char *drv = SDL_GetCurrentVideoDriver(), *want = getenv("SDL_VIDEODRIVER");
	if (drv && (!strcmp(drv, "offscreen") || !strcmp(drv, "dummy")) && !(want && *want)) {
		snprintf(err, errlen, "SDL: no display to open a window on");
		SDL_QuitSubSystem(SDL_INIT_VIDEO);
		return NULL;
	}
	struct display *d = calloc(1, sizeof(*d));
	if (!d) {
		SDL_QuitSubSystem(SDL_INIT_VIDEO);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->pc = pc;
	d->hotmods = mods;
	d->hotname = hotname;
	d->script_fd = -1;
	d->win = SDL_CreateWindow("fugu", SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED, 720,
				  400, SDL_WINDOW_HIDDEN | SDL_WINDOW_ALLOW_HIGHDPI);
	d->ren = d->win ? SDL_CreateRenderer(d->win, -1, 0) : NULL;
	if (!d->ren) {
		snprintf(err, errlen, "SDL: %s", SDL_GetError());
		display_close(d);
		return NULL;
	}
	SDL_RenderSetIntegerScale(d->ren, SDL_TRUE);
	if (getenv("FUGU_SDL_DEBUG")) {
		SDL_RendererInfo ri;
		SDL_GetRendererInfo(d->ren, &ri);
		fprintf(stderr, "fugu: SDL video %s, renderer %s\n", SDL_GetCurrentVideoDriver(),
			ri.name);
	}
	if (o->full_screen) {
		d->full_screen = true;
		SDL_SetWindowFullscreen(d->win, SDL_WINDOW_FULLSCREEN_DESKTOP);
	}
	const char *script = getenv("FUGU_SDL_SCRIPT");
	if (script && *script)
		d->script_fd = open(script, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	update_title(d);
	return d;
}

bool
display_poll(struct display *d, bool paused)
{
	SDL_Event e;
	if (d->script_fd >= 0)
		script_poll(d);
	while (SDL_PollEvent(&e))
		if (!handle_event(d, &e))
			return false;
	if (paused != d->paused) {
		d->paused = paused;
		update_title(d);
	}
	paste_step(d);
	/* Refresh at 60 Hz of virtual time, at most 60 Hz of host time. */
	uint64_t virt = vclock_now(&d->pc->clock), host = host_now_ns();
	if (virt - d->last_virt < REFRESH_NS && !paused)
		return true;
	if (host - d->last_host < REFRESH_NS)
		return true;
	d->last_virt = virt;
	d->last_host = host;
	uint32_t flags = SDL_GetWindowFlags(d->win);
	if (d->shown && (flags & (SDL_WINDOW_HIDDEN | SDL_WINDOW_MINIMIZED)))
		return true; /* nobody sees it: no drawing */
	refresh(d);
	return true;
}

uint64_t
display_idle_ns(const struct display *d)
{
	return d->paste ? 5000000ull : REFRESH_NS;
}

void
display_close(struct display *d)
{
	if (!d)
		return;
	if (d->script_fd >= 0)
		close(d->script_fd);
	if (d->paste)
		SDL_free(d->paste);
	if (d->tex)
		SDL_DestroyTexture(d->tex);
	if (d->ren)
		SDL_DestroyRenderer(d->ren);
	if (d->win)
		SDL_DestroyWindow(d->win);
	SDL_QuitSubSystem(SDL_INIT_VIDEO);
	free(d);
}

#else /* no SDL2 at build time: headless only */

bool
display_available(void)
{
	return false;
}

struct display *
display_open(struct pc *pc, const struct display_opts *o, char *err, size_t errlen)
{
	(void)pc;
	(void)o;
	snprintf(err, errlen, "-display sdl: this fugu was built without SDL2");
	return NULL;
}

bool
display_poll(struct display *d, bool paused)
{
	(void)d;
	(void)paused;
	return true;
}

uint64_t
display_idle_ns(const struct display *d)
{
	(void)d;
	return UINT64_MAX;
}

void
display_close(struct display *d)
{
	(void)d;
}

#endif
