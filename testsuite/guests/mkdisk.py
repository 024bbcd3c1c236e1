#!/usr/bin/env python3
"""Write the raw disk image the ide guest test reads: SECTORS sectors of 512
bytes, sector k holding the word k, the word 0xA55A, then bytes (i + k) & 0xff.

usage: mkdisk.py OUTPUT SECTORS
"""
import sys


def main():
    out, sectors = sys.argv[1], int(sys.argv[2])
    with open(out, "wb") as f:
        for k in range(sectors):
            body = bytes((i + k) & 0xff for i in range(4, 512))
            f.write((k & 0xffff).to_bytes(2, "little") + b"\x5a\xa5" + body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
