#!/usr/bin/env python3
"""The SDL window, driven from outside as a user would.

usage: check_window.py xvfb|dummy FUGU DISK

xvfb: start Xvfb (Debian's xvfb package) on a free display, boot the demo disk
with -display sdl, wait for the demo's text on COM1, take an X11 screenshot of
the window (ImageMagick's import) and compare it pixel for pixel with the PNG
fugu writes for the screenshot hotkey (Ctrl-Alt-S) at the same moment; type
keys with xdotool and check the scan codes the guest echoes on COM1 (set 1,
through the 8042's translation); Esc powers the guest off (status 0). The
tools are required: a missing one fails the test, it does not skip.

dummy: the same machine under SDL's dummy video driver (no X server): test
commands through FUGU_SDL_SCRIPT push key events into SDL's queue, save the
window's pixels as BMP and fugu's frame as PNG (compared), and close the window
(fugu exits with status 0, as QEMU does). Prints TAP.
"""
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib


def read_png(path):
    """(width, height, RGB bytes) of an 8-bit RGB non-interlaced PNG (what fugu writes)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype == 2 and interlace == 0
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, out, prev = zlib.decompress(idat), w * 3, bytearray(), bytearray(w * 3)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - 3] if i >= 3 else 0
            b, c = prev[i], prev[i - 3] if i >= 3 else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out += line
        prev = line
    return w, h, bytes(out)


def read_bmp(path):
    """(width, height, RGB bytes) of SDL_SaveBMP's 24- or 32-bit BGR(X) bitmap."""
    data = open(path, "rb").read()
    off = struct.unpack("<I", data[10:14])[0]
    w, h, _, bpp = struct.unpack("<iiHH", data[18:30])
    assert bpp in (24, 32)
    px, rows = bpp // 8, []
    stride = (w * px + 3) & ~3
    for y in range(abs(h)):
        row = data[off + y * stride:off + y * stride + w * px]
        rows.append(b"".join(bytes((row[i + 2], row[i + 1], row[i])) for i in range(0, len(row), px)))
    if h > 0:
        rows.reverse()
    return w, abs(h), b"".join(rows)


def wait_for(pred, timeout):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    return None


def serial_text(path):
    try:
        return open(path, encoding="latin-1").read().replace("\r", "")
    except OSError:
        return ""


def scancodes(path):
    return re.findall(r"scancode ([0-9a-f]{2})\n", serial_text(path))


def contains(codes, expect):
    return any(codes[k:k + len(expect)] == expect for k in range(len(codes) - len(expect) + 1))


def codes_after(path, n, expect, timeout=30):
    """The guest saw `expect`, in order and together, after its n-th code (a hotkey's
    own Ctrl and Alt may arrive in between when the machine was held)."""
    return bool(wait_for(lambda: contains(scancodes(path)[n:], expect), timeout))


class Tap:
    def __init__(self):
        self.results = []

    def check(self, name, ok, diag=""):
        self.results.append((name, bool(ok), diag))
        return ok

    def finish(self):
        print("1..%d" % len(self.results))
        for k, (name, ok, diag) in enumerate(self.results, 1):
            print("%s %d - %s" % ("ok" if ok else "not ok", k, name))
            if not ok and diag:
                print("# " + diag.replace("\n", "\n# "))
        return 0 if self.results and all(ok for _, ok, _ in self.results) else 1


# The keys typed and the set-1 codes the guest must see (8042 translation on).
KEYS = [("a", ["1e", "9e"]), ("Right", ["e0", "4d", "e0", "cd"]),
        ("Pause", ["e1", "1d", "45", "e1", "9d", "c5"])]
SDL_KEYS = {"a": "A", "Right": "Right", "Pause": "Pause"}


def monitor_connect(port):
    try:
        return socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError:
        return None


def run_xvfb(fugu, disk, tmp, tap):
    missing = [t for t in ("Xvfb", "xdotool", "import") if not shutil.which(t)]
    if not tap.check("Xvfb, xdotool and ImageMagick are installed (scripts/deps.sh)", not missing,
                     "missing: %s" % " ".join(missing)):
        return
    rfd, wfd = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(wfd), "-screen", "0", "1024x768x24",
                             "-nolisten", "tcp"], pass_fds=[wfd], stderr=subprocess.DEVNULL)
    os.close(wfd)
    num = b""
    while not num.endswith(b"\n"):  # the number, then a newline, maybe in pieces
        piece = os.read(rfd, 64)
        if not piece:
            break
        num += piece
    num = num.decode().strip()
    os.close(rfd)
    env = dict(os.environ, DISPLAY=":" + num)
    env.pop("WAYLAND_DISPLAY", None)
    env.pop("SDL_VIDEODRIVER", None)
    x = lambda *a: subprocess.run(list(a), env=env, capture_output=True, timeout=20)
    # -displayfd answers before every client gets in: wait until one does.
    tap.check("Xvfb accepts clients", wait_for(
        lambda: x("xdotool", "getdisplaygeometry").returncode == 0, 10))
    serial = os.path.join(tmp, "serial.txt")
    # The monitor holds the machine while the two pictures are taken: the demo's
    # clock line would otherwise change between them on a busy host.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        mon_port = s.getsockname()[1]
    p = subprocess.Popen([fugu, "-m", "128", "-hda", disk, "-snapshot", "-display", "sdl",
                          "-serial", "file:" + serial, "-timeout", "60",
                          "-monitor", "tcp:127.0.0.1:%d,server" % mon_port],
                         cwd=tmp, env=env, stderr=subprocess.PIPE)
    mon = None
    try:
        tap.check("the demo's text on COM1", wait_for(lambda: "Esc (or a key on COM1)" in
                                                     serial_text(serial), 20))
        wid = wait_for(lambda: x("xdotool", "search", "--name", "^fugu").stdout.split(), 30)
        if not tap.check("the window is on the X display", wid):
            return
        wid = wid[0].decode()
        # The X11 picture of the window and fugu's own PNG of the same moment:
        # equal unless the clock ticked in between (then once more).
        mon = wait_for(lambda: monitor_connect(mon_port), 10)
        if mon:
            mon.sendall(b"stop\n")
            time.sleep(0.5)  # the window shows the last frame before the stop
        same, diag = False, ""
        for k in range(1, 6):
            a = os.path.join(tmp, "x%d.rgb" % k)
            x("import", "-window", wid, "-depth", "8", "rgb:" + a)
            x("xdotool", "key", "--window", wid, "ctrl+alt+s")
            png = os.path.join(tmp, "fugu-screenshot-%d.png" % k)
            if not wait_for(lambda: os.path.exists(png) and os.path.getsize(png) > 0, 30):
                diag = "no %s from the hotkey" % png
                continue
            time.sleep(0.2)
            w, h, pix = read_png(png)
            xs = open(a, "rb").read()
            diag = "window %d bytes, PNG %dx%d; differing bytes %d" % (
                len(xs), w, h, sum(1 for i in range(min(len(xs), len(pix))) if xs[i] != pix[i]))
            if (w, h) == (720, 400) and xs == pix:
                same = True
                break
        tap.check("the window shows the frame fugu renders (X11 screenshot == PNG screendump)",
                  same, diag)
        if mon:
            mon.sendall(b"cont\n")
        shutil.copy(os.path.join(tmp, "fugu-screenshot-1.png"), os.path.join(tmp, "..", "window-demo.png")) \
            if os.path.exists(os.path.join(tmp, "fugu-screenshot-1.png")) else None
        # Typed keys (the hotkeys above also reached the guest: their Ctrl and Alt).
        for key, expect in KEYS:
            n = len(scancodes(serial))
            x("xdotool", "key", "--window", wid, key)
            tap.check("key %s: the guest saw %s" % (key, " ".join(expect)),
                      codes_after(serial, n, expect), "got %s" % scancodes(serial)[n:])
        x("xdotool", "key", "--window", wid, "Escape")
        status = p.wait(timeout=20)
        tap.check("Esc powers the guest off: fugu exits with status 0", status == 0,
                  "status %s" % status)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        err = p.stderr.read().decode(errors="replace")
        if err.strip():
            print("# fugu stderr: " + err.strip().replace("\n", "\n# "))
        xvfb.terminate()
        xvfb.wait()


def run_dummy(fugu, disk, tmp, tap):
    env = dict(os.environ, SDL_VIDEODRIVER="dummy")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    fifo = os.path.join(tmp, "script")
    os.mkfifo(fifo)
    env["FUGU_SDL_SCRIPT"] = fifo
    serial = os.path.join(tmp, "serial.txt")
    p = subprocess.Popen([fugu, "-m", "128", "-hda", disk, "-snapshot", "-display", "sdl",
                          "-serial", "file:" + serial, "-timeout", "60"],
                         cwd=tmp, env=env, stderr=subprocess.PIPE)
    ctl = open(fifo, "w")  # fugu opened its end without blocking

    def cmd(line):
        ctl.write(line + "\n")
        ctl.flush()

    try:
        tap.check("the demo's text on COM1", wait_for(lambda: "Esc (or a key on COM1)" in
                                                     serial_text(serial), 20))
        same, diag = False, ""
        for k in range(5):
            bmp, png = os.path.join(tmp, "w%d.bmp" % k), os.path.join(tmp, "f%d.png" % k)
            cmd("shot " + bmp)
            cmd("png " + png)
            if not wait_for(lambda: os.path.exists(png) and os.path.getsize(png) > 0 and
                            os.path.exists(bmp), 5):
                diag = "no BMP/PNG written"
                continue
            time.sleep(0.2)
            bw, bh, bpix = read_bmp(bmp)
            pw, ph, ppix = read_png(png)
            diag = "BMP %dx%d, PNG %dx%d" % (bw, bh, pw, ph)
            if (bw, bh) == (pw, ph) == (720, 400) and bpix == ppix:
                same = True
                break
        tap.check("the window's pixels (BMP) are the rendered frame (PNG)", same, diag)
        for key, expect in KEYS:
            n = len(scancodes(serial))
            cmd("key " + SDL_KEYS[key])
            tap.check("key %s through SDL's event queue: the guest saw %s" % (key, " ".join(expect)),
                      codes_after(serial, n, expect), "got %s" % scancodes(serial)[n:])
        cmd("quit")
        status = p.wait(timeout=20)
        tap.check("closing the window powers off: status 0", status == 0, "status %s" % status)
        tap.check("the guest was still running (no power-off message)",
                  "Powering off." not in serial_text(serial))
    finally:
        ctl.close()
        if p.poll() is None:
            p.kill()
            p.wait()
        err = p.stderr.read().decode(errors="replace")
        if err.strip():
            print("# fugu stderr: " + err.strip().replace("\n", "\n# "))


def main():
    mode, fugu, disk = sys.argv[1], os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
    tmp = tempfile.mkdtemp(prefix="fugu-window-")
    work = os.path.join(tmp, "run")
    os.mkdir(work)
    tap = Tap()
    (run_xvfb if mode == "xvfb" else run_dummy)(fugu, disk, work, tap)
    rc = tap.finish()
    if rc == 0:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print("# files kept in " + tmp)
    return rc


if __name__ == "__main__":
    sys.exit(main())
