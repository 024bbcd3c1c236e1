/*
 * fugu — process exit statuses. Guest-caused statuses from isa-debug-exit are
 * always odd ((v << 1) | 1, truncated to 8 bits by the OS), so every status
 * fugu chooses itself is even and cannot be confused with them.
 */
#ifndef FUGU_EXITCODES_H
#define FUGU_EXITCODES_H

#define FUGU_EXIT_OK 0         /* the guest powered the machine off */
#define FUGU_EXIT_USAGE 2      /* bad option, value or file: no guest was started */
#define FUGU_EXIT_SHUTDOWN 4   /* triple fault (or VMX abort) with -no-reboot */
#define FUGU_EXIT_UNMODELLED 6 /* the guest needed something fugu does not model yet */
#define FUGU_EXIT_DIVERGED 8   /* -replay: the run left the recording (even: odd is the guest's) */
#define FUGU_EXIT_JIT_MISMATCH 10 /* -jit check: compiled code differed from the interpreter */
#define FUGU_EXIT_TIMEOUT 124     /* -timeout expired */

#endif
