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

#include "plcline/export.h"

#include <stddef.h>

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
} pl_logger_t;

/* printf-style; a NULL logger is allowed. Long messages are truncated to 511 bytes. */
PL_EXTERN void pl_log(const pl_logger_t *log, pl_log_level_t level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

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
