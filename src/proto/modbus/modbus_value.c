/* SPDX-License-Identifier: MIT */
/*
 * Modbus values <-> the engine's values (modbus_value.h).
 */
#include "proto/modbus/modbus_value.h"

#include "plcline/error.h"
#include "proto/driver.h"

#include <string.h>

void pl_modbus_value_to(const pl_modbus_value_t *mv, pl_value_t *out)
{
    memset(out, 0, sizeof(*out));
    switch (mv->type) {
    case PL_MODBUS_T_BIT:
        out->type = PL_VT_BOOL;
        out->i = mv->v.u != 0;
        break;
    case PL_MODBUS_T_U16:
    case PL_MODBUS_T_U32:
    case PL_MODBUS_T_U64:
        if (mv->v.u > INT64_MAX) {
            out->type = PL_VT_FLOAT;
            out->f = (double)mv->v.u;
        } else {
            out->type = PL_VT_INT;
            out->i = (int64_t)mv->v.u;
        }
        break;
    case PL_MODBUS_T_I16:
    case PL_MODBUS_T_I32:
    case PL_MODBUS_T_I64:
        out->type = PL_VT_INT;
        out->i = mv->v.i;
        break;
    case PL_MODBUS_T_F32:
        out->type = PL_VT_FLOAT;
        out->f = (double)mv->v.f32;
        break;
    case PL_MODBUS_T_F64:
        out->type = PL_VT_FLOAT;
        out->f = mv->v.f64;
        break;
    case PL_MODBUS_T_STR: {
        size_t n = mv->s_len < sizeof(out->s) ? mv->s_len : sizeof(out->s) - 1;

        out->type = PL_VT_STRING;
        memcpy(out->s, mv->s, n);
        out->s[n] = '\0';
        out->len = n;
        break;
    }
    }
}

int pl_modbus_value_from(const pl_modbus_addr_t *a, pl_modbus_order_t o, const pl_value_t *v,
                         uint8_t *data, size_t cap, pl_status_t *err)
{
    char text[PL_VALUE_STRING_MAX + 32];
    int is_float = a->type == PL_MODBUS_T_F32 || a->type == PL_MODBUS_T_F64;
    int rc = pl_value_text(v, is_float, text, sizeof(text), err);

    if (rc < 0)
        return rc;
    return pl_modbus_value_put(a, data, cap, 0, o, text, strlen(text), err);
}
