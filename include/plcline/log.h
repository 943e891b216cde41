/* SPDX-License-Identifier: MIT */
/*
 * Logging and error status.
 *
 * Library code never prints: it hands log records to a caller-supplied callback. A NULL
 * logger (or a NULL callback) discards everything. Messages are single lines without a
 * trailing newline.
 *
 * pl_status_t carries an error as users need to see it: the PL_E* code, the operating
 * system's reason behind it (a libuv error number) and a short detail naming exactly what
 * was wrong ("response node 3, expected 2").
 */
#ifndef PLCLINE_LOG_H
#define PLCLINE_LOG_H

#include <stdarg.h>

#include "plcline/export.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    PL_LOG_ERROR = 0,
    PL_LOG_WARN = 1,
    PL_LOG_INFO = 2,
    PL_LOG_DEBUG = 3,
} pl_log_level_t;

typedef void (*pl_log_cb)(void *ud, pl_log_level_t level, const char *msg);

typedef struct {
    pl_log_cb cb;
    void *ud;
    pl_log_level_t level; /* records above this level are not formatted nor passed on */
    /* Lines a partner can cause (pl_log_limited): how many of each partner and message are
     * passed on in full per interval before only their count is; 0: PL_LOG_BURST. The `-q`
     * of the command sets 1: one line, then counts. */
    unsigned burst;
    unsigned interval_ms; /* the interval; 0: PL_LOG_INTERVAL_MS */
} pl_logger_t;

/* printf-style; a NULL logger is allowed. Long messages are truncated to 511 bytes. For
 * lines a partner can cause, use pl_log_limited() below instead. */
PL_EXTERN void pl_log(const pl_logger_t *log, pl_log_level_t level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* --- Lines a partner can cause: rate-limited per partner and message ------------------ *
 *
 * A partner (a device, a client of a simulator, an MQTT publisher) must not be able to
 * flood the log: every line it can cause goes through pl_log_limited(). For each partner
 * and message (its format string) the first `burst` lines of an interval are passed on in
 * full; the others are only counted, and the count is passed on once the interval is over:
 *
 *   7ttcp server 127.0.0.1:50412: node 9 offset 0 count 1 is not served, no answer ...
 *   18342 more in the last 10 s
 *
 * (one line: the first line counted, then the count). *
 * A partner that goes on after an interval with counted lines gets counts only (one line
 * per interval) until it has been quiet for a whole interval. A count is passed on by the
 * next pl_log_limited() call of the same limiter after its interval (a call looks at every
 * key at most once a second) or by pl_ratelimit_flush() (call it when the owner closes).
 * The partner is keyed by its address without the port, so reconnecting does not start
 * it over. Partners beyond the limiter's slots share one count ("... N more from other
 * partners").
 *
 * The clock is passed in (milliseconds, e.g. uv_now()), so tests need no sleeping. A
 * limiter belongs to one component and one thread; it allocates nothing. */

#define PL_LOG_BURST       5u
#define PL_LOG_INTERVAL_MS 10000u
#define PL_LOG_TEXT_MAX    160 /* the first counted line, kept to name the count */

typedef struct {
    uint32_t partner;     /* hash of the partner's address; with fmt, the key */
    const char *fmt;      /* NULL: the slot is free */
    uint64_t since;       /* start of the current interval (ms) */
    unsigned shown;       /* lines passed on in full in it */
    unsigned budget;      /* lines it may pass on in full */
    uint64_t held;        /* lines only counted in it */
    pl_log_level_t level; /* the most severe of them */
    char text[PL_LOG_TEXT_MAX];
} pl_ratelimit_slot_t;

typedef struct {
    pl_ratelimit_slot_t *slots; /* the caller's storage */
    size_t nslots;
    pl_ratelimit_slot_t other; /* partners that found no free slot */
    uint64_t swept;            /* when every slot was last looked at */
    uint64_t held_total;       /* lines only counted since init */
} pl_ratelimit_t;

/* Sets up `rl` on nslots slots at `slots` (the caller's; nslots may be 0: then every
 * partner shares one count). */
PL_EXTERN void pl_ratelimit_init(pl_ratelimit_t *rl, pl_ratelimit_slot_t *slots, size_t nslots);

/* Logs a line caused by `partner` (its address, "10.0.0.7:44818", or any name; NULL: "")
 * through `log`, subject to `rl` at `now_ms`. Lines above log->level cost nothing and are
 * not counted. Returns 1 when the line was passed on, 0 when it was only counted or
 * filtered out. */
PL_EXTERN int pl_log_limited(pl_ratelimit_t *rl, uint64_t now_ms, const pl_logger_t *log,
                             pl_log_level_t level, const char *partner, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/* The same with a va_list. */
PL_EXTERN int pl_log_limitedv(pl_ratelimit_t *rl, uint64_t now_ms, const pl_logger_t *log,
                              pl_log_level_t level, const char *partner, const char *fmt,
                              va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 0)))
#endif
    ;

/* Passes on every count not yet passed on, and forgets the partners. */
PL_EXTERN void pl_ratelimit_flush(pl_ratelimit_t *rl, uint64_t now_ms, const pl_logger_t *log);

/* "error", "warn", "info", "debug". */
PL_EXTERN const char *pl_log_level_name(pl_log_level_t level);

#define PL_STATUS_DETAIL_MAX 96

typedef struct {
    int code;                          /* PL_E* (negative) or 0 */
    int sys;                           /* libuv error number behind `code`, or 0 */
    char detail[PL_STATUS_DETAIL_MAX]; /* "" when there is nothing to add */
} pl_status_t;

/* Clears `st` to success. `st` may be NULL (no-op). */
PL_EXTERN void pl_status_clear(pl_status_t *st);

/* Sets `st`; `fmt` may be NULL for no detail; `st` may be NULL (then only returns). Returns
 * `code` so callers can `return pl_status_set(...)`. */
PL_EXTERN int pl_status_set(pl_status_t *st, int code, int sys, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Formats `st` for people:
 *   "connect failed (0x0032 PL_ECONNECT): connection refused"
 * with ": <detail>" and/or ": <OS reason>" appended when present. Always NUL-terminates
 * (when cap > 0) and returns the number of bytes written, excluding the NUL. */
PL_EXTERN size_t pl_status_format(const pl_status_t *st, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
