/* SPDX-License-Identifier: MIT */
/*
 * Values as text, for drivers whose address grammar parses and range-checks written values
 * (each protocol's value parser): one conversion for every driver.
 */
#include "proto/driver.h"

#include "plcline/error.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

size_t pl_value_string_len(const pl_value_t *v)
{
    if (v->len > 0 && v->len < sizeof(v->s))
        return v->len;
    return strnlen(v->s, sizeof(v->s) - 1);
}

int pl_value_text(const pl_value_t *v, int is_float, char *buf, size_t cap, pl_status_t *err)
{
    double f;

    switch (v->type) {
    case PL_VT_BOOL:
    case PL_VT_INT:
        snprintf(buf, cap, "%" PRId64, v->i);
        return 0;
    case PL_VT_FLOAT:
        f = v->f;
        if (is_float) {
            snprintf(buf, cap, "%.9g", f);
            return 0;
        }
        if (!isfinite(f) || f != floor(f) || fabs(f) > 9.2e18)
            return pl_status_set(err, PL_EVALUE, 0, "%g is not an integer", f);
        snprintf(buf, cap, "%" PRId64, (int64_t)f);
        return 0;
    case PL_VT_STRING: {
        size_t n = strnlen(v->s, sizeof(v->s));

        if (n >= cap)
            return pl_status_set(err, PL_EVALUE, 0, "value text longer than %zu bytes", cap - 1);
        memcpy(buf, v->s, n);
        buf[n] = '\0';
        return 0;
    }
    case PL_VT_NONE:
        break;
    }
    return pl_status_set(err, PL_EVALUE, 0, "no value");
}
