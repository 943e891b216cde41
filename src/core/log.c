/* SPDX-License-Identifier: MIT */
/*
 * Log records through the caller's callback, the rate limiter for lines a partner can
 * cause (the one every protocol uses), and pl_status_t formatting.
 * Never prints by itself; the OS reason text comes from libuv's uv_strerror(). The limiter
 * has no clock of its own: the caller passes the time in.
 */
#include "plcline/log.h"
#include "plcline/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

void pl_log(const pl_logger_t *log, pl_log_level_t level, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (log == NULL || log->cb == NULL || level > log->level)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log->cb(log->ud, level, msg);
}

/* --- rate limiter ---------------------------------------------------------------------- */

#define SWEEP_MS 1000u

static unsigned burst_of(const pl_logger_t *log)
{
    return log->burst != 0 ? log->burst : PL_LOG_BURST;
}

static uint64_t interval_of(const pl_logger_t *log)
{
    return log->interval_ms != 0 ? log->interval_ms : PL_LOG_INTERVAL_MS;
}

/* FNV-1a of the partner's address without a trailing ":PORT" ("10.0.0.7:5000",
 * "[::1]:5000"), so that a partner reconnecting from another port is the same partner. */
static uint32_t partner_hash(const char *p)
{
    uint32_t h = 2166136261u;
    size_t n = strlen(p), i;
    const char *colon = strrchr(p, ':');

    if (colon != NULL && colon[1] != '\0' && strspn(colon + 1, "0123456789") == strlen(colon + 1) &&
        (memchr(p, ':', (size_t)(colon - p)) == NULL || (colon > p && colon[-1] == ']')))
        n = (size_t)(colon - p);
    for (i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h | 1u; /* never 0 */
}

/* Passes on the count of `sl` (if any) and starts a new interval at `now`; the partner
 * keeps counts only when it went on right after counted lines. */
static void roll(pl_ratelimit_slot_t *sl, uint64_t now, const pl_logger_t *log, int other)
{
    uint64_t span = now - sl->since, interval = interval_of(log);
    int flooding = sl->held > 0 && span < 2u * interval;

    if (sl->held > 0 && log->cb != NULL && sl->level <= log->level) {
        char msg[PL_LOG_TEXT_MAX + 96];
        uint64_t secs = ((span < interval ? span : interval) + 999u) / 1000u;

        snprintf(msg, sizeof(msg), "%s ... %llu more%s in the last %llu s", sl->text,
                 (unsigned long long)sl->held, other ? " from other partners" : "",
                 (unsigned long long)(secs > 0 ? secs : 1u));
        log->cb(log->ud, sl->level, msg);
    }
    sl->since = now;
    sl->shown = 0;
    sl->held = 0;
    sl->budget = flooding || other ? 0u : burst_of(log);
}

/* Passes on the counts of intervals that are over; frees slots quiet for an interval. */
static void sweep(pl_ratelimit_t *rl, uint64_t now, const pl_logger_t *log)
{
    uint64_t interval = interval_of(log);
    size_t i;

    rl->swept = now;
    for (i = 0; i < rl->nslots; i++) {
        pl_ratelimit_slot_t *sl = &rl->slots[i];

        if (sl->fmt == NULL || now - sl->since < interval)
            continue;
        if (sl->held > 0)
            roll(sl, now, log, 0);
        else
            sl->fmt = NULL; /* quiet for an interval: free */
    }
    if (rl->other.held > 0 && now - rl->other.since >= interval)
        roll(&rl->other, now, log, 1);
}

void pl_ratelimit_init(pl_ratelimit_t *rl, pl_ratelimit_slot_t *slots, size_t nslots)
{
    memset(rl, 0, sizeof(*rl));
    rl->slots = slots;
    rl->nslots = slots != NULL ? nslots : 0;
    if (rl->nslots > 0)
        memset(slots, 0, nslots * sizeof(*slots));
}

static pl_ratelimit_slot_t *slot_for(pl_ratelimit_t *rl, uint32_t partner, const char *fmt,
                                     uint64_t now, const pl_logger_t *log)
{
    pl_ratelimit_slot_t *free_slot = NULL;
    size_t i;

    for (i = 0; i < rl->nslots; i++) {
        pl_ratelimit_slot_t *sl = &rl->slots[i];

        if (sl->fmt == fmt && sl->partner == partner)
            return sl;
        if (sl->fmt == NULL && free_slot == NULL)
            free_slot = sl;
    }
    if (free_slot == NULL)
        return NULL;
    free_slot->fmt = fmt;
    free_slot->partner = partner;
    free_slot->since = now;
    free_slot->shown = 0;
    free_slot->held = 0;
    free_slot->budget = burst_of(log);
    return free_slot;
}

int pl_log_limitedv(pl_ratelimit_t *rl, uint64_t now_ms, const pl_logger_t *log,
                    pl_log_level_t level, const char *partner, const char *fmt, va_list ap)
{
    pl_ratelimit_slot_t *sl;
    char msg[512];
    int other = 0;

    if (log == NULL || log->cb == NULL || level > log->level)
        return 0;
    if (now_ms - rl->swept >= SWEEP_MS || now_ms < rl->swept)
        sweep(rl, now_ms, log);
    sl = slot_for(rl, partner_hash(partner != NULL ? partner : ""), fmt, now_ms, log);
    if (sl == NULL) {
        sl = &rl->other;
        other = 1;
        if (sl->held == 0)
            sl->since = now_ms;
    }
    if (now_ms - sl->since >= interval_of(log))
        roll(sl, now_ms, log, other);
    if (!other && sl->shown < sl->budget) {
        sl->shown++;
        vsnprintf(msg, sizeof(msg), fmt, ap);
        log->cb(log->ud, level, msg);
        return 1;
    }
    if (sl->held == 0) {
        vsnprintf(sl->text, sizeof(sl->text), fmt, ap);
        sl->level = level;
    } else if (level < sl->level) {
        sl->level = level;
    }
    sl->held++;
    rl->held_total++;
    return 0;
}

int pl_log_limited(pl_ratelimit_t *rl, uint64_t now_ms, const pl_logger_t *log,
                   pl_log_level_t level, const char *partner, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = pl_log_limitedv(rl, now_ms, log, level, partner, fmt, ap);
    va_end(ap);
    return rc;
}

void pl_ratelimit_flush(pl_ratelimit_t *rl, uint64_t now_ms, const pl_logger_t *log)
{
    size_t i;

    if (log == NULL)
        return;
    for (i = 0; i < rl->nslots; i++) {
        if (rl->slots[i].held > 0)
            roll(&rl->slots[i], now_ms, log, 0);
        rl->slots[i].fmt = NULL;
    }
    if (rl->other.held > 0)
        roll(&rl->other, now_ms, log, 1);
}

const char *pl_log_level_name(pl_log_level_t level)
{
    switch (level) {
    case PL_LOG_ERROR:
        return "error";
    case PL_LOG_WARN:
        return "warn";
    case PL_LOG_INFO:
        return "info";
    case PL_LOG_DEBUG:
        return "debug";
    }
    return "?";
}

size_t pl_status_format(const pl_status_t *st, char *buf, size_t cap)
{
    int n;

    if (cap == 0)
        return 0;
    n = snprintf(buf, cap, "%s (0x%04x %s)", pl_strerror(st->code), pl_err_code(st->code),
                 pl_err_name(st->code));
    if (n >= 0 && (size_t)n < cap && st->detail[0] != '\0')
        n += snprintf(buf + n, cap - (size_t)n, ": %s", st->detail);
    if (n >= 0 && (size_t)n < cap && st->sys != 0)
        n += snprintf(buf + n, cap - (size_t)n, ": %s", uv_strerror(st->sys));
    if (n < 0)
        n = 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}
