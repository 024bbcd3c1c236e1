/*
 * fugu — the MC146818 real-time clock and CMOS RAM: index/data at 0x70/0x71
 * (bit 7 of the index is the NMI mask), a second bank of 128 bytes at 0x72/0x73.
 */
#ifndef FUGU_RTC_H
#define FUGU_RTC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chipset/irq.h"

#include "chipset/timer.h"

struct ioports;

/* Register numbers (MC146818A datasheet, "Address map"). */
enum {
	RTC_SEC,
	RTC_SEC_ALARM,
	RTC_MIN,
	RTC_MIN_ALARM,
	RTC_HOUR,
	RTC_HOUR_ALARM,
	RTC_DOW,
	RTC_DOM,
	RTC_MONTH,
	RTC_YEAR,
	RTC_REG_A,
	RTC_REG_B,
	RTC_REG_C,
	RTC_REG_D
};
#define RTC_CENTURY 0x32 /* CMOS byte the PC BIOS keeps the century in (BCD) */

/* The architectural state: plain data, saved and restored by copy. */
struct rtc_state {
	uint8_t cmos[256]; /* bank 0 (0-127: clock registers, then RAM) and bank 1 */
	uint8_t index[2];  /* the byte selected through 0x70 and 0x72 */
	bool nmi_masked;   /* port 0x70 bit 7: NMI disabled */
	bool irq;          /* the IRQ8 line (IRQF) */
	int64_t origin_ns; /* divider phase: periodic edges at origin + k * period,
			      updates at origin + 0.5 s + k s */
	uint64_t last_ns;  /* time registers and flags are current as of this instant */
};

struct rtc {
	struct rtc_state st;  /* everything save/restore copies */
	struct vclock *clock; /* the virtual clock */
	struct vtimer timer;  /* the next flag that raises IRQ8 */
	struct irq_line irq;  /* IRQ8 */
};

/*
 * Claim ports 0x70-0x73; -1 if one is taken. The clock starts at `epoch`
 * (seconds since 1970-01-01 UTC), with the update boundary `phase_ns` ahead of
 * now (the host's fraction of a second in realtime mode, so both tick together).
 */
int rtc_init(struct rtc *rtc, struct ioports *io, struct vclock *clock, int64_t epoch,
	     uint64_t phase_ns, struct irq_line irq);
/* A system reset: register B's enables and register C clear (datasheet, "RESET"). */
void rtc_reset(struct rtc *rtc);
/* The board's CMOS contents (memory sizes, equipment byte): index 0-255. */
void rtc_cmos_set(struct rtc *rtc, unsigned index, uint8_t value);
uint8_t rtc_cmos_get(struct rtc *rtc, unsigned index);
size_t rtc_save(const struct rtc *rtc, void *buf, size_t len);
int rtc_restore(struct rtc *rtc, const void *buf, size_t len);
/* Whether a saved record (a file's) holds only values the device can hold
 * (chipset/state.h): 0, or -1 with the field and its value in err. */
int rtc_check(const struct rtc *rtc, const void *buf, size_t len, char *err, size_t errlen);

#endif
