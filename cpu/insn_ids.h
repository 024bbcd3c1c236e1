/*
 * fugu — instruction identity and intercept class.
 *
 * INSN_ID_LIST is every instruction the decoder's tables name, one id per
 * mnemonic (the forms of one instruction share it; Jcc, SETcc and CMOVcc are
 * one id each). MMX/SSE forms that the tables share between many opcodes carry
 * their family's id (mmx, sse, sse2, ...), the x87 escapes x87, VEX forms avx.
 * Id 0 (INSN_INVALID) is an opcode with no row: undefined. The decoder copies
 * the id into struct insn (insn.id); it names what the bytes encode even when
 * the instruction raises #UD (a masked feature, a form invalid in this mode).
 *
 * INSN_CLASS_LIST is the intercept class: the instructions that can cause a VM
 * exit (SDM vol. 3C, 26.1.2 unconditionally, 26.1.3 conditionally). The decoder
 * sets insn.icls only when the handler is the instruction's own (a valid
 * decode); an instruction decoded to #UD has class NONE.
 */
#ifndef FUGU_INSN_IDS_H
#define FUGU_INSN_IDS_H

#define INSN_ID_LIST(X)                                                                            \
	X(INVALID, "(bad)")                                                                        \
	X(AAA, "aaa")                                                                              \
	X(AAD, "aad")                                                                              \
	X(AAM, "aam")                                                                              \
	X(AAS, "aas")                                                                              \
	X(ADC, "adc")                                                                              \
	X(ADD, "add")                                                                              \
	X(AND, "and")                                                                              \
	X(ARPL, "arpl")                                                                            \
	X(BOUND, "bound")                                                                          \
	X(BSF, "bsf")                                                                              \
	X(BSR, "bsr")                                                                              \
	X(BSWAP, "bswap")                                                                          \
	X(BT, "bt")                                                                                \
	X(BTC, "btc")                                                                              \
	X(BTR, "btr")                                                                              \
	X(BTS, "bts")                                                                              \
	X(CALL, "call")                                                                            \
	X(CALLF, "lcall")                                                                          \
	X(CBW, "cbw")                                                                              \
	X(CLAC, "clac")                                                                            \
	X(CLC, "clc")                                                                              \
	X(CLD, "cld")                                                                              \
	X(CLFLUSH, "clflush")                                                                      \
	X(CLI, "cli")                                                                              \
	X(CLTS, "clts")                                                                            \
	X(CMC, "cmc")                                                                              \
	X(CMOVCC, "cmovcc")                                                                        \
	X(CMP, "cmp")                                                                              \
	X(CMPS, "cmps")                                                                            \
	X(CMPXCHG, "cmpxchg")                                                                      \
	X(CMPXCHG8B, "cmpxchg8b")                                                                  \
	X(CPUID, "cpuid")                                                                          \
	X(CRC32, "crc32")                                                                          \
	X(CWD, "cwd")                                                                              \
	X(DAA, "daa")                                                                              \
	X(DAS, "das")                                                                              \
	X(DEC, "dec")                                                                              \
	X(DIV, "div")                                                                              \
	X(EMMS, "emms")                                                                            \
	X(ENTER, "enter")                                                                          \
	X(FXRSTOR, "fxrstor")                                                                      \
	X(FXSAVE, "fxsave")                                                                        \
	X(GETSEC, "getsec")                                                                        \
	X(HLT, "hlt")                                                                              \
	X(IDIV, "idiv")                                                                            \
	X(IMUL, "imul")                                                                            \
	X(IN, "in")                                                                                \
	X(INC, "inc")                                                                              \
	X(INS, "ins")                                                                              \
	X(INT, "int")                                                                              \
	X(INT1, "int1")                                                                            \
	X(INT3, "int3")                                                                            \
	X(INTO, "into")                                                                            \
	X(INVD, "invd")                                                                            \
	X(INVEPT, "invept")                                                                        \
	X(INVLPG, "invlpg")                                                                        \
	X(INVPCID, "invpcid")                                                                      \
	X(INVVPID, "invvpid")                                                                      \
	X(IRET, "iret")                                                                            \
	X(JCC, "jcc")                                                                              \
	X(JCXZ, "jcxz")                                                                            \
	X(JMP, "jmp")                                                                              \
	X(JMPF, "ljmp")                                                                            \
	X(LAHF, "lahf")                                                                            \
	X(LAR, "lar")                                                                              \
	X(LDMXCSR, "ldmxcsr")                                                                      \
	X(LDS, "lds")                                                                              \
	X(LEA, "lea")                                                                              \
	X(LEAVE, "leave")                                                                          \
	X(LES, "les")                                                                              \
	X(LFENCE, "lfence")                                                                        \
	X(LFS, "lfs")                                                                              \
	X(LGDT, "lgdt")                                                                            \
	X(LGS, "lgs")                                                                              \
	X(LIDT, "lidt")                                                                            \
	X(LLDT, "lldt")                                                                            \
	X(LMSW, "lmsw")                                                                            \
	X(LODS, "lods")                                                                            \
	X(LOOP, "loop")                                                                            \
	X(LOOPE, "loope")                                                                          \
	X(LOOPNE, "loopne")                                                                        \
	X(LSL, "lsl")                                                                              \
	X(LSS, "lss")                                                                              \
	X(LTR, "ltr")                                                                              \
	X(LZCNT, "lzcnt")                                                                          \
	X(MFENCE, "mfence")                                                                        \
	X(MONITOR, "monitor")                                                                      \
	X(MOV, "mov")                                                                              \
	X(MOV_CR, "mov cr")                                                                        \
	X(MOV_DR, "mov dr")                                                                        \
	X(MOV_SREG, "mov sreg")                                                                    \
	X(MOVBE, "movbe")                                                                          \
	X(MOVNTI, "movnti")                                                                        \
	X(MOVS, "movs")                                                                            \
	X(MOVSX, "movsx")                                                                          \
	X(MOVSXD, "movsxd")                                                                        \
	X(MOVZX, "movzx")                                                                          \
	X(MUL, "mul")                                                                              \
	X(MWAIT, "mwait")                                                                          \
	X(NEG, "neg")                                                                              \
	X(NOP, "nop")                                                                              \
	X(NOT, "not")                                                                              \
	X(OR, "or")                                                                                \
	X(OUT, "out")                                                                              \
	X(OUTS, "outs")                                                                            \
	X(PAUSE, "pause")                                                                          \
	X(POP, "pop")                                                                              \
	X(POPA, "popa")                                                                            \
	X(POPCNT, "popcnt")                                                                        \
	X(POPF, "popf")                                                                            \
	X(PREFETCH, "prefetch")                                                                    \
	X(PUSH, "push")                                                                            \
	X(PUSHA, "pusha")                                                                          \
	X(PUSHF, "pushf")                                                                          \
	X(RCL, "rcl")                                                                              \
	X(RCR, "rcr")                                                                              \
	X(RDFSBASE, "rdfsbase")                                                                    \
	X(RDGSBASE, "rdgsbase")                                                                    \
	X(RDMSR, "rdmsr")                                                                          \
	X(RDPKRU, "rdpkru")                                                                        \
	X(RDPMC, "rdpmc")                                                                          \
	X(RDRAND, "rdrand")                                                                        \
	X(RDSEED, "rdseed")                                                                        \
	X(RDTSC, "rdtsc")                                                                          \
	X(RDTSCP, "rdtscp")                                                                        \
	X(RET, "ret")                                                                              \
	X(RETF, "lret")                                                                            \
	X(ROL, "rol")                                                                              \
	X(ROR, "ror")                                                                              \
	X(RSM, "rsm")                                                                              \
	X(SAHF, "sahf")                                                                            \
	X(SAL, "sal")                                                                              \
	X(SALC, "salc")                                                                            \
	X(SAR, "sar")                                                                              \
	X(SBB, "sbb")                                                                              \
	X(SCAS, "scas")                                                                            \
	X(SETCC, "setcc")                                                                          \
	X(SFENCE, "sfence")                                                                        \
	X(SGDT, "sgdt")                                                                            \
	X(SHL, "shl")                                                                              \
	X(SHLD, "shld")                                                                            \
	X(SHR, "shr")                                                                              \
	X(SHRD, "shrd")                                                                            \
	X(SIDT, "sidt")                                                                            \
	X(SLDT, "sldt")                                                                            \
	X(SMSW, "smsw")                                                                            \
	X(STAC, "stac")                                                                            \
	X(STC, "stc")                                                                              \
	X(STD, "std")                                                                              \
	X(STI, "sti")                                                                              \
	X(STMXCSR, "stmxcsr")                                                                      \
	X(STOS, "stos")                                                                            \
	X(STR, "str")                                                                              \
	X(SUB, "sub")                                                                              \
	X(SWAPGS, "swapgs")                                                                        \
	X(SYSCALL, "syscall")                                                                      \
	X(SYSENTER, "sysenter")                                                                    \
	X(SYSEXIT, "sysexit")                                                                      \
	X(SYSRET, "sysret")                                                                        \
	X(TEST, "test")                                                                            \
	X(TZCNT, "tzcnt")                                                                          \
	X(UD0, "ud0")                                                                              \
	X(UD1, "ud1")                                                                              \
	X(UD2, "ud2")                                                                              \
	X(VERR, "verr")                                                                            \
	X(VERW, "verw")                                                                            \
	X(VMCALL, "vmcall")                                                                        \
	X(VMCLEAR, "vmclear")                                                                      \
	X(VMFUNC, "vmfunc")                                                                        \
	X(VMLAUNCH, "vmlaunch")                                                                    \
	X(VMPTRLD, "vmptrld")                                                                      \
	X(VMPTRST, "vmptrst")                                                                      \
	X(VMREAD, "vmread")                                                                        \
	X(VMRESUME, "vmresume")                                                                    \
	X(VMWRITE, "vmwrite")                                                                      \
	X(VMXOFF, "vmxoff")                                                                        \
	X(VMXON, "vmxon")                                                                          \
	X(WAIT, "wait")                                                                            \
	X(WBINVD, "wbinvd")                                                                        \
	X(WRFSBASE, "wrfsbase")                                                                    \
	X(WRGSBASE, "wrgsbase")                                                                    \
	X(WRMSR, "wrmsr")                                                                          \
	X(WRPKRU, "wrpkru")                                                                        \
	X(XADD, "xadd")                                                                            \
	X(XCHG, "xchg")                                                                            \
	X(XGETBV, "xgetbv")                                                                        \
	X(XLAT, "xlat")                                                                            \
	X(XOR, "xor")                                                                              \
	X(XRSTOR, "xrstor")                                                                        \
	X(XRSTORS, "xrstors")                                                                      \
	X(XSAVE, "xsave")                                                                          \
	X(XSAVEC, "xsavec")                                                                        \
	X(XSAVEOPT, "xsaveopt")                                                                    \
	X(XSAVES, "xsaves")                                                                        \
	X(XSETBV, "xsetbv")                                                                        \
	X(X87, "x87") /* families the tables share between opcodes */                              \
	X(MMX, "mmx")                                                                              \
	X(SSE, "sse")                                                                              \
	X(SSE2, "sse2")                                                                            \
	X(SSE3, "sse3")                                                                            \
	X(SSSE3, "ssse3")                                                                          \
	X(SSE41, "sse4.1")                                                                         \
	X(SSE42, "sse4.2")                                                                         \
	X(AES, "aes")                                                                              \
	X(PCLMULQDQ, "pclmulqdq")                                                                  \
	X(AVX, "avx")                                                                              \
	X(AVX2, "avx2")                                                                            \
	X(FMA, "fma")                                                                              \
	X(F16C, "f16c")                                                                            \
	X(BMI1, "bmi1")                                                                            \
	X(BMI2, "bmi2")

/* Intercept classes (SDM vol. 3C, 26.1.2-26.1.3). */
#define INSN_CLASS_LIST(X)                                                                         \
	X(NONE, "none")                                                                            \
	X(CPUID, "cpuid")                                                                          \
	X(GETSEC, "getsec")                                                                        \
	X(INVD, "invd")                                                                            \
	X(XSETBV, "xsetbv")                                                                        \
	X(VMX, "vmx") /* VMCALL VMLAUNCH ... VMFUNC, INVEPT, INVVPID, VMREAD, VMWRITE */           \
	X(RDMSR, "rdmsr")                                                                          \
	X(WRMSR, "wrmsr")                                                                          \
	X(IO, "io")                                                                                \
	X(IO_STRING, "io-string")                                                                  \
	X(HLT, "hlt")                                                                              \
	X(INVLPG, "invlpg")                                                                        \
	X(INVPCID, "invpcid")                                                                      \
	X(MOV_CR, "mov-cr") /* and CLTS, LMSW */                                                   \
	X(MOV_DR, "mov-dr")                                                                        \
	X(RDTSC, "rdtsc")                                                                          \
	X(RDTSCP, "rdtscp")                                                                        \
	X(RDPMC, "rdpmc")                                                                          \
	X(MONITOR, "monitor")                                                                      \
	X(MWAIT, "mwait")                                                                          \
	X(PAUSE, "pause")                                                                          \
	X(WBINVD, "wbinvd")                                                                        \
	X(RDRAND, "rdrand")                                                                        \
	X(RDSEED, "rdseed")                                                                        \
	X(DESC_TABLE, "desc-table") /* LGDT LIDT SGDT SIDT LLDT LTR SLDT STR */                    \
	X(XSAVES, "xsaves")         /* XSAVES, XRSTORS */

enum insn_id {
#define X(id, mn) INSN_##id,
	INSN_ID_LIST(X)
#undef X
		INSN_COUNT
};

enum insn_class {
#define X(id, name) ICLS_##id,
	INSN_CLASS_LIST(X)
#undef X
		ICLS_COUNT
};

extern const char *const insn_mnemonic[INSN_COUNT];
extern const char *const insn_class_name[ICLS_COUNT];

#endif
