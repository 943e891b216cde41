/* SPDX-License-Identifier: MIT */
/*
 * Log records through the caller's callback, and pl_status_t formatting.
 * Never prints by itself; the OS reason text comes from libuv's uv_strerror().
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
