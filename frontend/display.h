/*
 * fugu — the desktop window (SDL2): the VGA frame, keyboard and mouse as
 * PS/2 devices, hotkeys, PNG screenshots. Built when SDL2 is found; without
 * it display_open fails and fugu stays headless.
 */
#ifndef FUGU_DISPLAY_H
#define FUGU_DISPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pc;
struct display;

struct display_opts {
	const char *grab_mod; /* hotkey modifiers: "lctrl-lalt" (default), "lshift-lctrl-lalt",
				 "rctrl" */
	bool full_screen;
};

/* Whether this build has the SDL display. */
bool display_available(void);
/* Open the window (hidden until the first frame); NULL with a message when SDL cannot. */
struct display *display_open(struct pc *pc, const struct display_opts *o, char *err, size_t errlen);
/*
 * Handle window and input events and redraw when due (about 60 times a second
 * of virtual time, never more often than 60 times a second of host time, and
 * not while the window is hidden or minimised). Returns false when the user
 * closed the window.
 */
bool display_poll(struct display *d, bool paused);
/* How long an idle guest may sleep before display_poll is due again (ns). */
uint64_t display_idle_ns(const struct display *d);
void display_close(struct display *d);

/* Write a frame as a PNG (libpng); -1 with a message in err. */
struct vga_frame;
int png_write_frame(const char *path, const struct vga_frame *fr, char *err, size_t errlen);

#endif
