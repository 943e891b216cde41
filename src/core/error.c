/* SPDX-License-Identifier: MIT */
/*
 * Error table lookups generated from PL_ERRNO_MAP (include/plcline/error.h),
 * and pl_status_t setters. Pure functions: no I/O, no allocation, no libuv; linked into
 * the codec layer as well.
 */
#include "plcline/error.h"
#include "plcline/log.h"

#include <stdarg.h>
#include <stdio.h>

const char *pl_strerror(int err)
{
    switch ((pl_errno_t)err) {
    case PL_OK:
        return "success";
#define XX(name, num, str, msg) \
    case PL_E##name:            \
        return msg;
        PL_ERRNO_MAP(XX)
#undef XX
    }
    return "unknown error";
}

const char *pl_err_name(int err)
{
    switch ((pl_errno_t)err) {
    case PL_OK:
        return "PL_OK";
#define XX(name, num, str, msg) \
    case PL_E##name:            \
        return str;
        PL_ERRNO_MAP(XX)
#undef XX
    }
    return "PL_EUNKNOWN";
}

unsigned pl_err_code(int err)
{
    switch ((pl_errno_t)err) {
    case PL_OK:
        return 0;
#define XX(name, num, str, msg) \
    case PL_E##name:            \
        return num;
        PL_ERRNO_MAP(XX)
#undef XX
    }
    return 0;
}

void pl_status_clear(pl_status_t *st)
{
    if (st == NULL)
        return;
    st->code = 0;
    st->sys = 0;
    st->detail[0] = '\0';
}

int pl_status_set(pl_status_t *st, int code, int sys, const char *fmt, ...)
{
    va_list ap;

    if (st == NULL)
        return code;
    st->code = code;
    st->sys = sys;
    st->detail[0] = '\0';
    if (fmt != NULL) {
        va_start(ap, fmt);
        vsnprintf(st->detail, sizeof(st->detail), fmt, ap);
        va_end(ap);
    }
    return code;
}
