#!/usr/bin/env python3
"""Tests 10, 12, 14 and 15 of jit64.asm (t10_loop ... t15_loop) in Python:
prints T10_SUM, T12_SUM, T14_SUM and T15_SUM, the checksums the guest must
compute (SDM vol. 2A CALL, JMP, LEAVE, CWD/CDQ/CQO, MUL/IMUL/DIV/IDIV, XADD,
SETcc, CMOVcc, Jcc, BSF, BSR, LZCNT, CMPXCHG, ADD, INC, LOCK; vol. 2B POPF,
TZCNT). Run by hand when a loop changes; the values go into jit64.asm."""

M64 = (1 << 64) - 1
M32 = (1 << 32) - 1


def sx(v, bits):
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def tdiv(a, b):
    """Signed division truncated toward zero, and its remainder."""
    q = abs(a) // abs(b)
    if (a < 0) != (b < 0):
        q = -q
    return q, a - q * b


def parity(v):
    return bin(v & 0xff).count("1") % 2 == 0


def add_flags(a, b):
    """CF, ZF, SF, OF of a 64-bit ADD."""
    r = (a + b) & M64
    cf = a + b > M64
    of = bool((~(a ^ b) & (a ^ r)) >> 63 & 1)
    return r, cf, r == 0, bool(r >> 63), of


def model():
    r8, x, c = 0, 0x9E3779B97F4A7C15, 200
    while True:
        x ^= (x << 13) & M64
        x ^= x >> 7
        x ^= (x << 17) & M64
        p = x * 0xFEDCBA9876543211                  # MUL r64
        r8 = ((r8 + (p & M64)) & M64) ^ (p >> 64)
        p = sx(x, 32) * sx(-c, 32)                   # IMUL r32
        lo, hi = p & M32, (p >> 32) & M32
        of = p != sx(lo, 32)
        r8 = (r8 + of + lo + hi) & M64
        d = (x >> 16) | 1                            # DIV r64
        q, r = divmod((c << 64) | x, d)
        assert q <= M64
        r8 = ((r8 + q) & M64) ^ r
        q, r = tdiv(sx(x, 64), -(c + 3))             # IDIV r64 after CQO
        r8 = (r8 + (q & M64) + (r & M64)) & M64
        q, r = divmod(x & M32, c + 5)                # DIV r32
        r8 = (r8 + q + r) & M64
        q, r = tdiv(sx(x, 32), c + 2)                # IDIV r32 after CDQ
        r8 = (r8 + (q & M32) + (r & M32)) & M64
        f = x & 0x8D5                                # POPF
        cf, pf, zf, sf, of = f & 1, f >> 2 & 1, f >> 6 & 1, f >> 7 & 1, f >> 11 & 1
        bits = [of, cf, zf, cf | zf, sf, pf, sf ^ of, zf | (sf ^ of)]
        if not zf and sf == of:                      # CMOVG
            r8 = x
        if not (zf or sf != of):                     # JLE not taken
            r8 = (r8 + 77) & M64
        r8 = (r8 + sum(b << n for n, b in enumerate(bits))) & M64
        r10, r11 = x, r8                             # XADD r10, r11
        r10, cf, zf, sf, of = add_flags(r10, r11)
        r11 = x
        if not (sf != of):                           # JL not taken
            r8 ^= 0x55                               # XOR: SF, ZF of r8, OF = 0
            zf, sf, of = r8 == 0, bool(r8 >> 63), False
        if of:                                       # CMOVO
            r8 = r10
        r8 = (r8 & ~0xFF) | ((r8 + (sf == of)) & 0xFF)  # SETGE, ADD r8b
        old = r10                                    # XADD r10, r11
        r10, cf, zf, sf, of = add_flags(r10, r11)
        r11 = old
        r8 = (r8 & ~0xFF) | ((r8 + (not cf and not zf)) & 0xFF)  # SETA
        cf = (x & M32) < c                           # CMP r9d, ecx
        r11 = (r11 + 1) & M32                        # INC r11d
        if not (cf or r11 == 0):                     # JBE not taken
            r8 = (r8 + 3) & M64
        c -= 1
        if c == 0:
            return r8


def model12():
    """t12_loop: the sum over c = 300..1 of f[c & 3](c)."""
    f = [lambda c: 7 * c, lambda c: -(c // 5), lambda c: 8 * c, lambda c: 7 * c + 1]
    return sum(f[c & 3](c) for c in range(300, 0, -1)) & M64


def model14():
    """t14_loop: TZCNT, LZCNT, BSF, BSR and their flags after CMP ECX, 150."""
    r8, x = 0, 0x2545F4914F6CDD1D
    for c in range(300, 0, -1):
        x ^= (x << 13) & M64
        x ^= x >> 7
        x ^= (x << 17) & M64
        s64 = x if c % 5 else 0
        s32 = (x >> 7) & M32 if c % 7 else 0
        r = (c - 150) & M32                          # CMP ECX, 150
        cmp = ((c < 150) | parity(r) << 2 | ((c ^ 150 ^ r) >> 4 & 1) << 4 |
               (r == 0) << 6 | (r >> 31) << 7 | (((c ^ 150) & (c ^ r)) >> 31 & 1) << 11)
        keep = cmp & ~0x41                           # TZCNT/LZCNT: CF, ZF only

        def step(r8, r9, f):
            return (r8 * 3 + r9 + f) & M64
        n = (s64 & -s64).bit_length() - 1 if s64 else 64     # TZCNT r64
        r8 = step(r8, n, keep | (s64 == 0) | (n == 0) << 6)
        n = 32 - s32.bit_length()                           # LZCNT r32
        r8 = step(r8, n, keep | (s32 == 0) | (n == 0) << 6)
        if s64:                                             # BSF r64
            n = (s64 & -s64).bit_length() - 1
            r8 = step(r8, n, parity(n) << 2)
        else:
            r8 = step(r8, M64, 0x40)
        if s32:                                             # BSR r32
            n = s32.bit_length() - 1
            r8 = step(r8, n, parity(n) << 2)
        else:
            r8 = step(r8, M64, 0x40)
    return r8


def sub_flags(a, b, bits):
    """RFLAGS & 8D5h of a SUB/CMP of `bits` bits."""
    m = (1 << bits) - 1
    a, b = a & m, b & m
    r = (a - b) & m
    return ((a < b) | parity(r) << 2 | ((a ^ b ^ r) >> 4 & 1) << 4 | (r == 0) << 6 |
            (r >> (bits - 1)) << 7 | (((a ^ b) & (a ^ r)) >> (bits - 1) & 1) << 11), r


def add_flags_w(a, b, bits):
    """RFLAGS & 8D5h of an ADD of `bits` bits, and the result."""
    m = (1 << bits) - 1
    a, b = a & m, b & m
    r = (a + b) & m
    return ((a + b > m) | parity(r) << 2 | ((a ^ b ^ r) >> 4 & 1) << 4 | (r == 0) << 6 |
            (r >> (bits - 1)) << 7 | ((~(a ^ b) & (a ^ r)) >> (bits - 1) & 1) << 11), r


def model15():
    """t15_loop: CMPXCHG (LOCK'd and not), LOCK ADD/INC/XADD and their flags."""
    r8, x, add, inc = 0, 0x9E3779B97F4A7C15, 0, 0
    for c in range(300, 0, -1):
        x ^= (x << 13) & M64
        x ^= x >> 7
        x ^= (x << 17) & M64
        m64, m32 = x, x >> 32
        rax = x if c % 3 == 0 else x ^ 1                # LOCK CMPXCHG [m64], RCX
        f, _ = sub_flags(rax, m64, 64)
        if rax == m64:
            m64 = c
        else:
            rax = m64
        r8 = (r8 * 3 + rax + m64 + f) & M64
        rax = ((x << 32) | (x >> 32)) & M64 if c % 4 == 0 else x   # CMPXCHG [m32], ECX
        f, _ = sub_flags(rax, m32, 32)
        r8 = (r8 + ((rax & M32) > m32)) & M64           # JA right after
        if (rax & M32) == m32:
            m32 = c
        else:
            rax = m32
        r8 = (r8 * 3 + rax + m32 + f) & M64
        f, add = add_flags_w(add, x, 64)                  # LOCK ADD [m], RBX
        r8 = (r8 * 3 + add + f) & M64
        cf = f & 1
        f, inc = add_flags_w(inc, 1, 32)                  # LOCK INC dword [m]: CF stays
        r8 = (r8 * 3 + inc + ((f & ~1) | cf)) & M64
        old = add                                         # LOCK XADD [m], RDX = X
        f, add = add_flags_w(add, x, 64)
        r8 = (r8 * 3 + old + add + f) & M64
    return r8


if __name__ == "__main__":
    print("T10_SUM equ 0x%016x" % model())
    print("T12_SUM equ 0x%016x" % model12())
    print("T14_SUM equ 0x%016x" % model14())
    print("T15_SUM equ 0x%016x" % model15())
