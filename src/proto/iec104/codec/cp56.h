/* SPDX-License-Identifier: MIT */
/*
 * CP56Time2a, the seven-octet binary time of IEC 60870-5-101, 7.2.6.18 (used by
 * IEC 60870-5-104 for every time-tagged type):
 *   octets 0-1  milliseconds 0..59999 (seconds * 1000 + ms), little-endian
 *   octet 2     bits 0-5 minutes 0..59, bit 6 reserved, bit 7 IV (time invalid)
 *   octet 3     bits 0-4 hours 0..23, bits 5-6 reserved, bit 7 SU (summer time)
 *   octet 4     bits 0-4 day of month 1..31, bits 5-7 day of week 1..7 (Monday = 1,
 *               0 = not used)
 *   octet 5     bits 0-3 month 1..12, bits 4-7 reserved
 *   octet 6     bits 0-6 year 0..99, bit 7 reserved
 * The year counts from 2000 (plcline's choice: the standard leaves the century open).
 *
 * Decoding keeps the fields as sent, out-of-range values included, so that decode and
 * encode are exact inverses and a bad time never makes a whole ASDU unreadable; the
 * conversion to Unix time is where ranges are checked. SU is reported, never applied: the
 * fields are the time the device sent (UTC by the usual convention; a device that sends
 * local time sets SU in summer), and the caller decides what to do with it.
 *
 * Pure arithmetic: no clock, no time zone, no I/O.
 */
#ifndef PLCLINE_PROTO_IEC104_CODEC_CP56_H
#define PLCLINE_PROTO_IEC104_CODEC_CP56_H

#include <stddef.h>
#include <stdint.h>

#define PL_IEC104_CP56_LEN   7u
#define PL_IEC104_CP56_EPOCH 2000 /* year 0 of the year field */
/* 2000-01-01T00:00:00Z and 2100-01-01T00:00:00Z in Unix milliseconds: the range of times a
 * CP56Time2a can hold is [PL_IEC104_CP56_MIN_MS, PL_IEC104_CP56_END_MS). */
#define PL_IEC104_CP56_MIN_MS 946684800000LL
#define PL_IEC104_CP56_END_MS 4102444800000LL

typedef struct {
    uint16_t ms;   /* milliseconds of the minute, 0..59999 */
    uint8_t min;   /* 0..59 */
    uint8_t hour;  /* 0..23 */
    uint8_t mday;  /* 1..31 */
    uint8_t wday;  /* 1..7, Monday = 1; 0 = not used */
    uint8_t month; /* 1..12 */
    uint8_t year;  /* 0..99, years since 2000 */
    uint8_t iv;    /* 1: the time is invalid */
    uint8_t su;    /* 1: summer time */
} pl_iec104_cp56_t;

/* Decodes 7 octets at `p` (the caller has checked they are there). Reserved bits are
 * ignored. Never fails. */
void pl_iec104_cp56_decode(const uint8_t *p, pl_iec104_cp56_t *t);

/* Encodes `t` into 7 octets at `p`; reserved bits are written 0. Returns 7, or PL_ERANGE
 * when a field does not fit its bits (ms > 65535 cannot happen; minutes > 63, hours > 31,
 * day of month > 31, day of week > 7, month > 15, year > 127, iv or su > 1). Values that fit
 * their bits but are out of calendar range are written as given (tests need them). */
int pl_iec104_cp56_encode(uint8_t *p, const pl_iec104_cp56_t *t);

/* Converts to Unix milliseconds (UTC arithmetic on the fields as they are; IV and SU are not
 * looked at). Returns 0, or PL_EIEC104_TIME when a field is out of calendar range: ms above
 * 59999, minute above 59, hour above 23, month not 1..12, day not 1..days in that month,
 * year above 99. The day of week is not checked (0 means not used). */
int pl_iec104_cp56_to_unix_ms(const pl_iec104_cp56_t *t, int64_t *unix_ms);

/* Converts Unix milliseconds to a CP56Time2a with the day of week filled in and IV and SU 0.
 * Returns 0, or PL_ERANGE outside 2000-01-01 .. 2099-12-31 (PL_IEC104_CP56_MIN_MS ..
 * PL_IEC104_CP56_END_MS - 1). */
int pl_iec104_cp56_from_unix_ms(int64_t unix_ms, pl_iec104_cp56_t *t);

#endif
