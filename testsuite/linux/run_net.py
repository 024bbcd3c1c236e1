#!/usr/bin/env python3
"""Debian's Linux on fugu's e1000 with libslirp user networking.

usage: run_net.py [--timeout S] -- EMULATOR ARGS...

ARGS must contain the token HOSTFWD, replaced by
"user,hostfwd=tcp:127.0.0.1:PORT-:8080" for a free host PORT (the script
passes it after -nic). The guest loads e1000.ko from the initramfs, brings
eth0 up and gets 10.0.2.15 from slirp's DHCP server; it fetches a file from
an HTTP server this script runs on the host's loopback, through the gateway
10.0.2.2 (bytes host to guest); and the host fetches a file from busybox
httpd in the guest through the port forward (bytes guest to host, large
enough for TCP segmentation offload). TAP output; the serial log goes to
run_net.log.
"""
import hashlib
import http.server
import socket
import sys
import threading
import time
import urllib.request

from console import session

args = sys.argv[1:]
timeout = 600.0
if args[:1] == ["--timeout"]:
    timeout = float(args[1])
    args = args[2:]
if args[:1] == ["--"]:
    args = args[1:]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


fwd_port = free_port()
args = [("user,hostfwd=tcp:127.0.0.1:%d-:8080" % fwd_port) if a == "HOSTFWD" else a
        for a in args]

# The host's file: 64 KiB of a known pattern, served on the loopback only.
HOST_FILE = bytes((k * 7 + (k >> 8)) & 0xff for k in range(65536))


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/host.bin":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(HOST_FILE)))
        self.end_headers()
        self.wfile.write(HOST_FILE)

    def log_message(self, *a):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
http_port = server.server_address[1]
threading.Thread(target=server.serve_forever, daemon=True).start()

start = time.monotonic()
con, checks = session(args, "run_net.log", timeout)
run, ok = con.run, checks.ok


def finish():
    server.shutdown()
    checks.finish()


out = run("insmod /lib/fugu-modules/e1000.ko && ip link set eth0 up && echo LINK-UP")
ok(out is not None and "LINK-UP" in out, "e1000.ko loads and eth0 comes up", repr(out))
if out is None or "LINK-UP" not in out:
    finish()
out = run("udhcpc -i eth0 -n -q -t 5 -T 3 -s /etc/udhcpc/default.script 2>&1; "
          "ip -4 addr show eth0", 90)
ok(out is not None and "inet 10.0.2.15/" in out, "DHCP from slirp gives eth0 10.0.2.15",
   repr(out))

expect = hashlib.sha256(HOST_FILE).hexdigest()
out = run("wget -q -O - http://10.0.2.2:%d/host.bin | sha256sum" % http_port, 90)
ok(out is not None and out.split()[:1] == [expect],
   "the guest fetches 64 KiB from the host's HTTP server through 10.0.2.2", repr(out))

# The guest's file: seq 1 40000 (about 230 KB), served by busybox httpd on 8080.
guest_file = "".join("%d\n" % k for k in range(1, 40001)).encode()
out = run("mkdir -p /www && seq 1 40000 > /www/guest.txt && httpd -p 8080 -h /www && "
          "echo HTTPD-UP")
ok(out is not None and "HTTPD-UP" in out, "busybox httpd listens on 8080", repr(out))
got, err = None, ""
for _ in range(3):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/guest.txt" % fwd_port,
                                    timeout=30) as r:
            got = r.read()
        break
    except OSError as e:
        err = repr(e)
        time.sleep(1)
ok(got == guest_file, "the host fetches %d bytes from the guest through hostfwd"
   % len(guest_file), err or "got %r bytes" % (None if got is None else len(got)))

out = run("cat /proc/net/dev | grep eth0")
ok(out is not None and "eth0" in out, "/proc/net/dev counts eth0's traffic", repr(out))
out = run("dmesg | grep -i -E 'e1000|eth0' | sed 's/^/: /'")
ok(out is not None and "Link is Up" in out and "Hang" not in out,
   "the driver saw the link up and no transmit hang", repr(out))
status = con.poweroff()
ok(status == 0, "poweroff -f ends the emulator with status 0", repr(status))
sys.stderr.write("run_net: total %.1f s\n" % (time.monotonic() - start))
finish()
