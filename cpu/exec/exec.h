/*
 * fugu — instruction handlers, grouped by family (one file per family under
 * cpu/exec/). Every handler has the signature insn_fn; the decoder's tables
 * (cpu/decode.c) name them.
 */
#ifndef FUGU_EXEC_H
#define FUGU_EXEC_H

#include "cpu/cpu_internal.h"

#define H(name) void op_##name(struct cpu *cpu, const struct insn *i)

/* clang-format off: declaration lists, grouped by file */

/* misc.c: moves, exchanges, conversions, flag instructions */
H(ud);
/* vmx/vmx.c: the VMX instructions */
H(vmxon);
H(vmxoff);
H(vmclear);
H(vmptrld);
H(vmptrst);
H(vmread);
H(vmwrite);
H(vmlaunch);
H(vmresume);
H(vmcall);
H(invvpid);
H(invept);
H(vmfunc);
H(nop);
H(mov_rm_r);
H(mov_r_rm);
H(mov_r_imm);
H(mov_rm_imm);
H(mov_acc_moffs);
H(mov_moffs_acc);
H(lea);
H(xchg_rm_r);
H(xchg_acc_r);
H(cbw);
H(cwd);
H(sahf);
H(lahf);
H(clc);
H(stc);
H(cmc);
H(cld);
H(std);
H(cli);
H(sti);
H(xlat);
H(salc);
H(movzx);
H(movsx);
H(movsxd);
H(cmovcc);
H(setcc);
H(bswap);
H(fsgsbase);
H(clflush);
/* alu.c */
#define ALU_FORMS(op)                                                                              \
	H(op##_rm_r);                                                                              \
	H(op##_r_rm);                                                                              \
	H(op##_acc_imm);                                                                           \
	H(op##_rm_imm)
ALU_FORMS(add);
ALU_FORMS(or);
ALU_FORMS(adc);
ALU_FORMS(sbb);
ALU_FORMS(and);
ALU_FORMS(sub);
ALU_FORMS(xor);
ALU_FORMS(cmp);
#undef ALU_FORMS
H(test_rm_r);
H(test_acc_imm);
H(inc_r);
H(dec_r);
H(grp3);
H(inc_rm);
H(dec_rm);
H(xadd);
H(cmpxchg);
/* muldiv.c */
H(imul_r_rm);
H(imul_r_rm_imm);
/* bcd.c */
H(daa);
H(das);
H(aaa);
H(aas);
H(aam);
H(aad);
/* shift.c */
H(shld_imm);
H(shld_cl);
H(shrd_imm);
H(shrd_cl);
/* bit.c */
H(bt_rm_r);
H(bt_rm_imm);
H(bsf);
H(bsr);
/* stack.c */
H(push_r);
H(pop_r);
H(push_imm);
H(push_rm);
H(pop_rm);
H(push_sreg);
H(pop_sreg);
H(pusha);
H(popa);
H(pushf);
H(popf);
H(enter);
H(leave);
/* branch.c */
H(jcc);
H(jmp_rel);
H(call_rel);
H(ret);
H(ret_imm);
H(jmp_rm);
H(call_rm);
H(loop);
H(jcxz);
H(jmpf_imm);
H(callf_imm);
H(jmpf_m);
H(callf_m);
H(retf);
H(retf_imm);
H(int3);
H(int_imm);
H(into);
H(int1);
H(iret);
H(bound);
/* string.c; a REP yields to the run loop (RIP on the instruction) after this
 * many iterations */
#define REP_CHUNK 4096
H(movs);
H(cmps);
H(stos);
H(lods);
H(scas);
H(ins);
H(outs);
/* io.c */
H(in_imm);
H(in_dx);
H(out_imm);
H(out_dx);
/* segment.c */
H(mov_rm_sreg);
H(mov_sreg_rm);
H(lxs);
H(sldt);
H(str);
H(lldt);
H(ltr);
H(verr);
H(verw);
H(arpl);
H(lar);
H(lsl);
/* system.c */
H(hlt);
H(pause);
H(cpuid);
H(rdtsc);
H(rdtscp);
H(sgdt);
H(sidt);
H(lgdt);
H(lidt);
H(smsw);
H(lmsw);
H(invlpg);
H(swapgs);
H(clac);
H(stac);
H(mov_r_cr);
H(mov_cr_r);
H(mov_r_dr);
H(mov_dr_r);
H(clts);
H(invd);
H(rdmsr);
H(wrmsr);
H(rdpmc);
H(invpcid);
/* cmpxchg8b.c */
H(cmpxchg8b);
/* x87.c: the x87 FPU (D8-DF, WAIT) */
H(x87);
H(fwait);
/* smm.c */
H(rsm);
/* fastcall.c */
H(syscall);
H(sysret);
H(sysenter);
H(sysexit);
/* bitcount.c: POPCNT/TZCNT/LZCNT/MOVBE/CRC32 */
H(popcnt);
H(tzcnt);
H(lzcnt);
H(movbe);
H(crc32);
/* sse.c: MMX, SSE-SSE4.2, AES-NI, PCLMULQDQ, FXSAVE/FXRSTOR, LDMXCSR/STMXCSR */
H(sse);
H(emms);
H(movnti);
H(ldmxcsr);
H(stmxcsr);
H(fxsave);
H(fxrstor);
H(xsave); /* XSAVE, XSAVEOPT */
H(xsavec);
H(xsaves);
H(xrstors);
H(xrstor);
H(xgetbv);
H(xsetbv);
/* avx.c: every VEX instruction (AVX, AVX2, FMA, F16C, BMI1, BMI2) */
H(avx);

#undef H

/* clang-format on */

/* Jcc handlers by condition code (jcc.c). */
extern const insn_fn jcc_handlers[16];

/* Group 2 handlers by count source and ModRM.reg (shift.c). */
enum { SHIFT_BY_IMM, SHIFT_BY_1, SHIFT_BY_CL, SHIFT_COUNT_KINDS };
extern const insn_fn shift_handlers[SHIFT_COUNT_KINDS][8];

/* Group 2 shift/rotate on a value (shift.c): returns the result, updates flags. */
uint64_t shift_op(struct cpu *cpu, unsigned op, uint64_t v, unsigned count, unsigned size);

#endif
