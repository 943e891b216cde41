/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for Modbus addresses and values
 * (src/proto/modbus/codec/modbus_addr.c).
 *
 * Input: flags byte, then "ADDRESS\nVALUE". The address is parsed (with the zero_based
 * flag from bit 0 of the first byte); when it parses, its canonical form must parse back to
 * the same address under both readings and format to the same text. The value is then put
 * into element 0 with the byte order from bits 1-2, read back, formatted, and the formatted
 * text put again must give the same bytes. Any disagreement aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plcline/error.h"
#include "proto/modbus/codec/modbus_addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

#define DATA_MAX 512u /* bytes of register data: element 0 of any address fits */

static void value_roundtrip(const pl_modbus_addr_t *a, pl_modbus_order_t o, const char *text,
                            size_t n)
{
    static uint8_t d1[DATA_MAX];
    static uint8_t d2[DATA_MAX];
    char out[PL_MODBUS_STR_MAX + 64];
    pl_modbus_value_t v;
    pl_status_t st;
    int r;

    memset(d1, 0, sizeof(d1));
    memset(d2, 0, sizeof(d2));
    r = pl_modbus_value_put(a, d1, sizeof(d1), 0, o, text, n, &st);
    if (r != 0) {
        CHECK(r == PL_EVALUE && st.code == PL_EVALUE);
        return;
    }
    CHECK(pl_modbus_value_get(a, d1, sizeof(d1), 0, o, &v) == 0);
    r = pl_modbus_value_format(&v, out, sizeof(out));
    CHECK(r >= 0 && (size_t)r < sizeof(out));
    if (memchr(text, '\0', n) != NULL)
        return; /* a string read back stops at its first NUL */
    CHECK(pl_modbus_value_put(a, d2, sizeof(d2), 0, o, out, (size_t)r, NULL) == 0);
    CHECK(memcmp(d1, d2, sizeof(d1)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;
    const char *nl;
    size_t alen;
    unsigned flags;
    pl_modbus_order_t o;
    pl_modbus_addr_t a;
    pl_modbus_addr_t b;
    pl_status_t st;
    char t1[PL_MODBUS_ADDR_TEXT_MAX];
    char t2[PL_MODBUS_ADDR_TEXT_MAX];
    int n;

    if (size < 1)
        return 0;
    flags = (data[0] & 1u) ? PL_MODBUS_ADDR_ZERO_BASED : 0u;
    o = (pl_modbus_order_t)((data[0] >> 1) & 3u);
    data++;
    size--;
    nl = memchr(data, '\n', size);
    alen = nl != NULL ? (size_t)(nl - (const char *)data) : size;
    s = malloc(alen + 1);
    CHECK(s != NULL);
    memcpy(s, data, alen);
    s[alen] = '\0';

    if (pl_modbus_addr_parse(&a, s, flags, &st) == 0) {
        CHECK(a.count >= 1 && (uint64_t)a.addr + pl_modbus_addr_units(&a) - 1u <= 65535u);
        n = pl_modbus_addr_format(&a, t1, sizeof(t1));
        CHECK(n > 0);
        CHECK(pl_modbus_addr_parse(&b, t1, 0, NULL) == 0);
        CHECK(memcmp(&a, &b, sizeof(a)) == 0);
        CHECK(pl_modbus_addr_parse(&b, t1, PL_MODBUS_ADDR_ZERO_BASED, NULL) == 0);
        CHECK(memcmp(&a, &b, sizeof(a)) == 0);
        CHECK(pl_modbus_addr_format(&b, t2, sizeof(t2)) == n && strcmp(t1, t2) == 0);
        if (nl != NULL)
            value_roundtrip(&a, o, nl + 1, size - alen - 1);
    } else {
        CHECK(st.code == PL_EADDR);
    }
    free(s);
    return 0;
}
