/*
 * fugu — the x87 FPU (cpu/exec/x87.c; design in docs/FPU.md).
 *
 * The registers live in the legacy region of cpu->state.xsave exactly as
 * FXSAVE stores them: FCW at 0, FSW at 2, the abridged tag byte at 4 (bit i
 * for physical register i), FOP at 6, FIP at 8, FCS at 12, FDP at 16, FDS at
 * 20, and ST(0)-ST(7) in stack order at 32 + 16 * i. A push or pop rotates the
 * eight 16-byte slots, so the image is always a valid FXSAVE image.
 */
#ifndef FUGU_X87_H
#define FUGU_X87_H

#include <stdbool.h>
#include <stdint.h>

struct cpu;

#define X87_FCW 0
#define X87_FSW 2
#define X87_FTW 4
#define X87_FOP 6
#define X87_FIP 8
#define X87_FCS 12
#define X87_FDP 16
#define X87_FDS 20
#define X87_ST 32

/* FSW bits (SDM vol. 1, 8.1.3). */
#define FSW_IE 0x0001
#define FSW_SF 0x0040
#define FSW_ES 0x0080
#define FSW_C0 0x0100
#define FSW_C1 0x0200
#define FSW_C2 0x0400
#define FSW_TOP 0x3800
#define FSW_C3 0x4000
#define FSW_B 0x8000

/* The x87 state after RESET (SDM vol. 3A, table 9-1). */
void x87_reset(struct cpu *cpu);

/* MMX aliasing (sse.c): pending exceptions, TOP = 0 and tags valid, EMMS. */
bool x87_mmx_pending_ok(struct cpu *cpu);
void x87_mmx_enter(struct cpu *cpu);
void x87_emms(struct cpu *cpu);
/* FXRSTOR's x87 part from a 512-byte FXSAVE image. */
void x87_fxrstor(struct cpu *cpu, const uint8_t *img);

/*
 * Execute the guest's x87 operation on the host x87 (x87_host.c): `img` is a
 * 108-byte FSAVE image (32-bit protected-mode format) loaded with FRSTOR, `idx`
 * selects the instruction (0-511: register form D8+idx/64, C0+idx%64; 512+n:
 * memory form D8+n/8 with ModRM.reg n%8 and the operand at `mem`), `rflags`
 * carries the arithmetic flags in (FCMOVcc) and out (FCOMI). The result is
 * stored back into `img` with FNSAVE, which also reinitialises the host FPU.
 */
void fugu_x87_host(void *img, unsigned idx, void *mem, uint64_t *rflags);

#endif
