#!/usr/bin/env python3
"""Command-line behaviour a new user meets (README, "Running").

usage: check_cli.py FUGU HELLO_ROM
Prints a TAP report, one test per case.
"""
import os
import subprocess
import sys
import tempfile


def run(cmd, timeout=30):
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "", "(still running after %d s)" % timeout
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def main():
    fugu, rom = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="fugu-cli-")
    results = []

    def case(name, ok, detail=""):
        results.append((name, ok, detail))

    # A bare `fugu` prints how to use it and exits 2 (it used to boot nothing forever).
    st, out, err = run([fugu], timeout=10)
    case("bare fugu: usage, status 2", st == 2 and "usage" in err, "status %r %r" % (st, err))

    # -screendump checks its file without truncating it: a usage error found
    # later leaves an existing screenshot intact.
    keep = os.path.join(tmp, "keep.txt")
    with open(keep, "w") as f:
        f.write("an older screenshot\n")
    st, out, err = run([fugu, "-screendump", keep, "-hda", os.path.join(tmp, "missing.img")])
    with open(keep) as f:
        kept = f.read()
    case("-screendump not truncated by a usage error",
         st == 2 and kept == "an older screenshot\n", "status %r, file %r" % (st, kept))
    # ... and leaves no file behind when it only checked a new name.
    new = os.path.join(tmp, "new.txt")
    run([fugu, "-screendump", new, "-hda", os.path.join(tmp, "missing.img")])
    case("-screendump check leaves no file", not os.path.exists(new))

    # The format comes from the name: .txt is text; .ppm in a text mode is refused
    # with a message instead of writing text into a .ppm file.
    base = [fugu, "-bios", rom, "-device", "isa-debug-exit", "-display", "none"]
    txt = os.path.join(tmp, "screen.txt")
    st, out, err = run(base + ["-screendump", txt])
    case("-screendump x.txt writes text", st == 67 and os.path.exists(txt),
         "status %r %r" % (st, err))
    ppm = os.path.join(tmp, "screen.ppm")
    st, out, err = run(base + ["-screendump", ppm])
    ok = st == 67 and "text mode" in err and (not os.path.exists(ppm) or
                                              open(ppm, "rb").read(2) == b"P6")
    case("-screendump x.ppm never holds text", ok, "status %r %r" % (st, err))

    # `help` on the options QEMU users expect it on: the choices, status 0.
    for opt in ["-device", "-machine", "-display", "-serial", "-cpu", "-d", "-vga", "-clock"]:
        st, out, err = run([fugu, opt, "help"], timeout=10)
        case(opt + " help", st == 0 and out.strip() != "", "status %r %r" % (st, err))

    # -bios with a wrong size reports the file's real size.
    big = os.path.join(tmp, "big.rom")
    with open(big, "wb") as f:
        f.truncate((16 << 20) + 5)
    st, out, err = run([fugu, "-bios", big])
    case("-bios wrong size names the real size",
         st == 2 and "16777221 bytes" in err, "status %r %r" % (st, err))

    # A port conflict names the port and the option that caused it.
    st, out, err = run([fugu, "-bios", rom, "-device", "isa-debug-exit,iobase=0x60"])
    case("port conflict names port and option",
         st == 2 and "port 0x6" in err and "isa-debug-exit" in err, "status %r %r" % (st, err))

    print("1..%d" % len(results))
    bad = 0
    for k, (name, ok, detail) in enumerate(results, 1):
        print(("ok" if ok else "not ok") + " %d - %s" % (k, name))
        if not ok:
            bad += 1
            print("# " + detail)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
