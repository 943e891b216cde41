/* SPDX-License-Identifier: MIT */
/*
 * CP56Time2a: octets to fields and back, and fields to Unix milliseconds and back with the
 * proleptic Gregorian calendar (days from civil date and its inverse, integer arithmetic
 * only). No clock, no time zone, no I/O.
 */
#include "proto/iec104/codec/cp56.h"
#include "plcline/error.h"

#include <string.h>

/* Field masks of IEC 60870-5-101, 7.2.6.18. */
#define MIN_MASK   0x3Fu
#define IV_BIT     0x80u
#define HOUR_MASK  0x1Fu
#define SU_BIT     0x80u
#define MDAY_MASK  0x1Fu
#define WDAY_SHIFT 5u
#define WDAY_MASK  0x07u
#define MONTH_MASK 0x0Fu
#define YEAR_MASK  0x7Fu

#define MS_PER_MINUTE 60000LL
#define MS_PER_DAY    86400000LL
#define MAX_MS        59999u
#define MAX_YEAR      99u

void pl_iec104_cp56_decode(const uint8_t *p, pl_iec104_cp56_t *t)
{
    memset(t, 0, sizeof(*t));
    t->ms = (uint16_t)(p[0] | (p[1] << 8));
    t->min = (uint8_t)(p[2] & MIN_MASK);
    t->iv = (uint8_t)((p[2] & IV_BIT) != 0u);
    t->hour = (uint8_t)(p[3] & HOUR_MASK);
    t->su = (uint8_t)((p[3] & SU_BIT) != 0u);
    t->mday = (uint8_t)(p[4] & MDAY_MASK);
    t->wday = (uint8_t)((p[4] >> WDAY_SHIFT) & WDAY_MASK);
    t->month = (uint8_t)(p[5] & MONTH_MASK);
    t->year = (uint8_t)(p[6] & YEAR_MASK);
}

int pl_iec104_cp56_encode(uint8_t *p, const pl_iec104_cp56_t *t)
{
    if (t->min > MIN_MASK || t->hour > HOUR_MASK || t->mday > MDAY_MASK || t->wday > WDAY_MASK ||
        t->month > MONTH_MASK || t->year > YEAR_MASK || t->iv > 1u || t->su > 1u)
        return PL_ERANGE;
    p[0] = (uint8_t)(t->ms & 0xFFu);
    p[1] = (uint8_t)(t->ms >> 8);
    p[2] = (uint8_t)(t->min | (t->iv ? IV_BIT : 0u));
    p[3] = (uint8_t)(t->hour | (t->su ? SU_BIT : 0u));
    p[4] = (uint8_t)(t->mday | (t->wday << WDAY_SHIFT));
    p[5] = t->month;
    p[6] = t->year;
    return (int)PL_IEC104_CP56_LEN;
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2u && is_leap(y) ? 29u : days[m - 1u];
}

/* Days since 1970-01-01 of a civil date (years >= 1970 here, so no negative division). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    int64_t yoe;
    int64_t doy;
    int64_t doe;

    y -= m <= 2u;
    era = y / 400;
    yoe = y - era * 400;
    doy = (153 * (int64_t)(m > 2u ? m - 3u : m + 9u) + 2) / 5 + (int64_t)d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The inverse, for days >= 0. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    int64_t doe;
    int64_t yoe;
    int64_t doy;
    int64_t mp;

    z += 719468;
    era = z / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2u);
}

int pl_iec104_cp56_to_unix_ms(const pl_iec104_cp56_t *t, int64_t *unix_ms)
{
    int64_t y = PL_IEC104_CP56_EPOCH + (int64_t)t->year;
    int64_t days;

    if (t->ms > MAX_MS || t->min > 59u || t->hour > 23u || t->month < 1u || t->month > 12u ||
        t->year > MAX_YEAR || t->mday < 1u || t->mday > days_in_month(y, t->month))
        return PL_EIEC104_TIME;
    days = days_from_civil(y, t->month, t->mday);
    *unix_ms = days * MS_PER_DAY + ((int64_t)t->hour * 60 + t->min) * MS_PER_MINUTE + t->ms;
    return 0;
}

int pl_iec104_cp56_from_unix_ms(int64_t unix_ms, pl_iec104_cp56_t *t)
{
    int64_t days;
    int64_t rest;
    int64_t y;
    unsigned m;
    unsigned d;

    if (unix_ms < PL_IEC104_CP56_MIN_MS || unix_ms >= PL_IEC104_CP56_END_MS)
        return PL_ERANGE;
    days = unix_ms / MS_PER_DAY;
    rest = unix_ms % MS_PER_DAY;
    civil_from_days(days, &y, &m, &d);
    memset(t, 0, sizeof(*t));
    t->year = (uint8_t)(y - PL_IEC104_CP56_EPOCH);
    t->month = (uint8_t)m;
    t->mday = (uint8_t)d;
    /* 1970-01-01 was a Thursday (4 with Monday = 1) */
    t->wday = (uint8_t)((days + 3) % 7 + 1);
    t->hour = (uint8_t)(rest / (60 * MS_PER_MINUTE));
    t->min = (uint8_t)(rest / MS_PER_MINUTE % 60);
    t->ms = (uint16_t)(rest % MS_PER_MINUTE);
    return 0;
}
