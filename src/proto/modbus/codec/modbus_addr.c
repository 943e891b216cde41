/* SPDX-License-Identifier: MIT */
/*
 * Modbus addresses (hr/ir/co/di and Modicon references), their canonical text, the planning
 * facts the engine needs (table, function codes, units per element, limits), byte orders
 * of 32/64-bit values, and value conversion to and from the bytes as they travel.
 *
 * It must not do I/O or allocate. Parsing never reads past the NUL of its input.
 */
#include "proto/modbus/codec/modbus_addr.h"
#include "plcline/error.h"
#include "proto/modbus/codec/modbus.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(st, code, ...) ((st) != NULL ? pl_status_set((st), (code), 0, __VA_ARGS__) : (code))

#define SHOW_MAX          48 /* characters of a bad address or value quoted in a detail */
#define REF_DIGITS_SHORT  5u /* Modicon reference: table digit + 4 digits */
#define REF_DIGITS_LONG   6u /* table digit + 5 digits */
#define REF_MAX_SHORT     9999u
#define REF_MAX_LONG      65536u
#define BITS_PER_REGISTER 16u
#define NUM_TEXT_MAX      64u             /* longest numeric value text accepted */
#define F32_ROUND_LIMIT   0x1.ffffffp+127 /* FLT_MAX + half its last step */

/* ------------------------------------------------------------------ tables */

const char *pl_modbus_table_name(pl_modbus_table_t t)
{
    switch (t) {
    case PL_MODBUS_COILS:
        return "co";
    case PL_MODBUS_DISCRETE:
        return "di";
    case PL_MODBUS_INPUT:
        return "ir";
    case PL_MODBUS_HOLDING:
        return "hr";
    }
    return "?";
}

int pl_modbus_table_bits(pl_modbus_table_t t)
{
    return t == PL_MODBUS_COILS || t == PL_MODBUS_DISCRETE;
}

int pl_modbus_table_writable(pl_modbus_table_t t)
{
    return t == PL_MODBUS_COILS || t == PL_MODBUS_HOLDING;
}

uint8_t pl_modbus_table_read_fc(pl_modbus_table_t t)
{
    switch (t) {
    case PL_MODBUS_COILS:
        return PL_MODBUS_FC_READ_COILS;
    case PL_MODBUS_DISCRETE:
        return PL_MODBUS_FC_READ_DISCRETE;
    case PL_MODBUS_INPUT:
        return PL_MODBUS_FC_READ_INPUT;
    case PL_MODBUS_HOLDING:
        return PL_MODBUS_FC_READ_HOLDING;
    }
    return 0;
}

uint8_t pl_modbus_table_write_fc(pl_modbus_table_t t, uint32_t units)
{
    if (units == 0)
        return 0;
    if (t == PL_MODBUS_COILS)
        return units == 1 ? PL_MODBUS_FC_WRITE_COIL : PL_MODBUS_FC_WRITE_COILS;
    if (t == PL_MODBUS_HOLDING)
        return units == 1 ? PL_MODBUS_FC_WRITE_REGISTER : PL_MODBUS_FC_WRITE_REGISTERS;
    return 0;
}

uint32_t pl_modbus_table_max_read(pl_modbus_table_t t)
{
    return pl_modbus_table_bits(t) ? PL_MODBUS_MAX_READ_BITS : PL_MODBUS_MAX_READ_REGS;
}

uint32_t pl_modbus_table_max_write(pl_modbus_table_t t)
{
    if (t == PL_MODBUS_COILS)
        return PL_MODBUS_MAX_WRITE_BITS;
    if (t == PL_MODBUS_HOLDING)
        return PL_MODBUS_MAX_WRITE_REGS;
    return 0;
}

static uint32_t type_units(pl_modbus_type_t type, uint32_t str_len)
{
    switch (type) {
    case PL_MODBUS_T_BIT:
    case PL_MODBUS_T_U16:
    case PL_MODBUS_T_I16:
        return 1;
    case PL_MODBUS_T_U32:
    case PL_MODBUS_T_I32:
    case PL_MODBUS_T_F32:
        return 2;
    case PL_MODBUS_T_U64:
    case PL_MODBUS_T_I64:
    case PL_MODBUS_T_F64:
        return 4;
    case PL_MODBUS_T_STR:
        return (str_len + 1u) / 2u;
    }
    return 1;
}

uint32_t pl_modbus_addr_elem_units(const pl_modbus_addr_t *a)
{
    return type_units(a->type, a->str_len);
}

/* 64-bit so that a bad address (count 65536 of 64-bit values) cannot wrap. */
static uint64_t units_of(pl_modbus_table_t table, pl_modbus_type_t type, int bit, uint32_t str_len,
                         uint64_t count)
{
    if (!pl_modbus_table_bits(table) && type == PL_MODBUS_T_BIT)
        return ((uint64_t)(bit < 0 ? 0 : bit) + count + BITS_PER_REGISTER - 1u) / BITS_PER_REGISTER;
    return count * type_units(type, str_len);
}

uint32_t pl_modbus_addr_units(const pl_modbus_addr_t *a)
{
    return (uint32_t)units_of(a->table, a->type, a->bit, a->str_len, a->count);
}

/* ------------------------------------------------------------------ parsing */

typedef struct {
    const char *s;
    size_t pos;
    pl_status_t *err;
} parser_t;

static int perr(parser_t *p, const char *what)
{
    return FAIL(p->err, PL_EADDR, "'%.*s': %s at column %zu", SHOW_MAX, p->s, what, p->pos + 1u);
}

static int unexpected(parser_t *p)
{
    char c = p->s[p->pos];

    if (c == '\0')
        return perr(p, "unexpected end");
    if (c >= 0x20 && c < 0x7F)
        return FAIL(p->err, PL_EADDR, "'%.*s': unexpected '%c' at column %zu", SHOW_MAX, p->s, c,
                    p->pos + 1u);
    return FAIL(p->err, PL_EADDR, "'%.*s': unexpected byte 0x%02X at column %zu", SHOW_MAX, p->s,
                (unsigned)(unsigned char)c, p->pos + 1u);
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* A decimal number (or hex with 0x when `hex`), at most `max`. Sets *digits. */
static int number(parser_t *p, int hex, uint32_t max, uint32_t *out, size_t *digits,
                  const char *what)
{
    uint64_t v = 0;
    size_t start;
    int d;

    if (hex && p->s[p->pos] == '0' && lower(p->s[p->pos + 1]) == 'x') {
        p->pos += 2;
        start = p->pos;
        while ((d = hex_val(p->s[p->pos])) >= 0) {
            if (v <= max)
                v = v * 16u + (uint64_t)d;
            p->pos++;
        }
    } else {
        start = p->pos;
        while (is_digit(p->s[p->pos])) {
            if (v <= max)
                v = v * 10u + (uint64_t)(p->s[p->pos] - '0');
            p->pos++;
        }
    }
    if (p->pos == start) {
        if (p->s[p->pos] == '\0')
            return FAIL(p->err, PL_EADDR, "'%.*s': expected %s at column %zu", SHOW_MAX, p->s, what,
                        p->pos + 1u);
        return unexpected(p);
    }
    if (v > max) {
        p->pos = start;
        return FAIL(p->err, PL_EADDR, "'%.*s': %s above %u at column %zu", SHOW_MAX, p->s, what,
                    (unsigned)max, start + 1u);
    }
    *out = (uint32_t)v;
    if (digits != NULL)
        *digits = p->pos - start;
    return 0;
}

static int table_prefix(parser_t *p, pl_modbus_table_t *t)
{
    char a = lower(p->s[p->pos]);
    char b = a != '\0' ? lower(p->s[p->pos + 1]) : '\0';

    if (a == 'h' && b == 'r')
        *t = PL_MODBUS_HOLDING;
    else if (a == 'i' && b == 'r')
        *t = PL_MODBUS_INPUT;
    else if (a == 'c' && b == 'o')
        *t = PL_MODBUS_COILS;
    else if (a == 'd' && b == 'i')
        *t = PL_MODBUS_DISCRETE;
    else
        return perr(p, "expected hr, ir, co, di or a Modicon reference (4xxxx)");
    p->pos += 2;
    return 0;
}

/* A Modicon reference: 5 or 6 digits, the first naming the table. */
static int reference(parser_t *p, unsigned flags, pl_modbus_table_t *t, uint32_t *addr)
{
    size_t start = p->pos;
    size_t n = 0;
    uint32_t off = 0;
    uint32_t max;
    int zero = (flags & PL_MODBUS_ADDR_ZERO_BASED) != 0;

    while (is_digit(p->s[start + n]))
        n++;
    if (n != REF_DIGITS_SHORT && n != REF_DIGITS_LONG)
        return FAIL(p->err, PL_EADDR,
                    "'%.*s': a Modicon reference has 5 or 6 digits, not %zu, at column %zu",
                    SHOW_MAX, p->s, n, start + 1u);
    switch (p->s[start]) {
    case '0':
        *t = PL_MODBUS_COILS;
        break;
    case '1':
        *t = PL_MODBUS_DISCRETE;
        break;
    case '3':
        *t = PL_MODBUS_INPUT;
        break;
    case '4':
        *t = PL_MODBUS_HOLDING;
        break;
    default:
        return FAIL(p->err, PL_EADDR,
                    "'%.*s': unknown reference table %c (0, 1, 3 or 4) at column %zu", SHOW_MAX,
                    p->s, p->s[start], start + 1u);
    }
    p->pos = start + 1u;
    max = n == REF_DIGITS_SHORT ? REF_MAX_SHORT : REF_MAX_LONG;
    if (zero && max > PL_MODBUS_ADDR_MAX)
        max = PL_MODBUS_ADDR_MAX;
    if (number(p, 0, max, &off, NULL, "reference offset") != 0)
        return PL_EADDR;
    if (!zero && off == 0) {
        p->pos = start + 1u;
        return perr(p, "reference offset 0 (references count from 1)");
    }
    *addr = zero ? off : off - 1u;
    return 0;
}

typedef struct {
    const char *name;
    pl_modbus_type_t type;
} type_name_t;

static const type_name_t type_names[] = {
    {"u16", PL_MODBUS_T_U16}, {"i16", PL_MODBUS_T_I16}, {"u32", PL_MODBUS_T_U32},
    {"i32", PL_MODBUS_T_I32}, {"f32", PL_MODBUS_T_F32}, {"u64", PL_MODBUS_T_U64},
    {"i64", PL_MODBUS_T_I64}, {"f64", PL_MODBUS_T_F64},
};

static int type_suffix(parser_t *p, pl_modbus_type_t *type, uint32_t *str_len)
{
    size_t i;
    size_t k;
    const char *q = p->s + p->pos;

    if (lower(q[0]) == 's' && lower(q[1]) == 't' && lower(q[2]) == 'r') {
        p->pos += 3;
        *type = PL_MODBUS_T_STR;
        if (number(p, 0, PL_MODBUS_STR_MAX, str_len, NULL, "string length") != 0)
            return PL_EADDR;
        if (*str_len == 0) {
            p->pos -= 1;
            return perr(p, "string length 0");
        }
        return 0;
    }
    for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
        for (k = 0; k < 3u && lower(q[k]) == type_names[i].name[k]; k++)
            ;
        if (k == 3u && !is_digit(q[3]) && !(lower(q[3]) >= 'a' && lower(q[3]) <= 'z')) {
            p->pos += 3;
            *type = type_names[i].type;
            return 0;
        }
    }
    return perr(p, "expected a type (u16 i16 u32 i32 f32 u64 i64 f64 str<N>)");
}

int pl_modbus_addr_parse(pl_modbus_addr_t *a, const char *s, unsigned flags, pl_status_t *err)
{
    parser_t p = {s, 0, err};
    pl_modbus_addr_t r;
    uint32_t v = 0;
    uint32_t str_len = 0;
    size_t count_at = 0;
    uint64_t units;

    if (s == NULL)
        return FAIL(err, PL_EADDR, "no address");
    memset(&r, 0, sizeof(r));
    r.bit = -1;
    r.count = 1;
    if (is_digit(s[0])) {
        if (reference(&p, flags, &r.table, &v) != 0)
            return PL_EADDR;
    } else {
        if (table_prefix(&p, &r.table) != 0)
            return PL_EADDR;
        if (number(&p, 1, PL_MODBUS_ADDR_MAX, &v, NULL, "an address") != 0)
            return PL_EADDR;
    }
    r.addr = (uint16_t)v;
    r.type = pl_modbus_table_bits(r.table) ? PL_MODBUS_T_BIT : PL_MODBUS_T_U16;

    if (s[p.pos] == '/') {
        if (pl_modbus_table_bits(r.table))
            return perr(&p, "a coil or discrete input has no bits");
        p.pos++;
        if (number(&p, 0, BITS_PER_REGISTER - 1u, &v, NULL, "a bit number") != 0)
            return PL_EADDR;
        r.bit = (int8_t)v;
        r.type = PL_MODBUS_T_BIT;
    }
    if (s[p.pos] == ':') {
        if (pl_modbus_table_bits(r.table))
            return perr(&p, "a coil or discrete input has no type");
        if (r.bit >= 0)
            return perr(&p, "a bit of a register has no type");
        p.pos++;
        if (type_suffix(&p, &r.type, &str_len) != 0)
            return PL_EADDR;
        r.str_len = (uint16_t)str_len;
    }
    if (s[p.pos] == ',') {
        p.pos++;
        count_at = p.pos;
        if (number(&p, 0, PL_MODBUS_ADDR_MAX_COUNT, &v, NULL, "a count") != 0)
            return PL_EADDR;
        r.count = v;
    }
    if (s[p.pos] != '\0')
        return unexpected(&p);
    if (r.count == 0) {
        p.pos = count_at;
        return perr(&p, "count 0");
    }

    units = units_of(r.table, r.type, r.bit, r.str_len, r.count);
    if ((uint64_t)r.addr + units - 1u > PL_MODBUS_ADDR_MAX) {
        return FAIL(err, PL_EADDR, "'%.*s': ends past %s 65535", SHOW_MAX, s,
                    pl_modbus_table_bits(r.table) ? "bit" : "register");
    }
    *a = r;
    return 0;
}

static const char *type_name(pl_modbus_type_t t)
{
    size_t i;

    for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
        if (type_names[i].type == t)
            return type_names[i].name;
    return "";
}

int pl_modbus_addr_format(const pl_modbus_addr_t *a, char *buf, size_t cap)
{
    char type[16] = "";
    char count[16] = "";
    char bit[8] = "";
    int n;

    if (a->type == PL_MODBUS_T_STR)
        (void)snprintf(type, sizeof(type), ":str%u", (unsigned)a->str_len);
    else if (a->type != PL_MODBUS_T_BIT && a->type != PL_MODBUS_T_U16)
        (void)snprintf(type, sizeof(type), ":%s", type_name(a->type));
    if (a->bit >= 0 && !pl_modbus_table_bits(a->table))
        (void)snprintf(bit, sizeof(bit), "/%d", (int)a->bit);
    if (a->count > 1)
        (void)snprintf(count, sizeof(count), ",%u", (unsigned)a->count);
    n = snprintf(buf, cap, "%s%u%s%s%s", pl_modbus_table_name(a->table), (unsigned)a->addr, bit,
                 type, count);
    if (n < 0 || (size_t)n >= cap)
        return PL_ENOBUFS;
    return n;
}

/* ------------------------------------------------------------------ byte orders */

static const char *const order_names[] = {"ABCD", "CDAB", "BADC", "DCBA"};

const char *pl_modbus_order_name(pl_modbus_order_t o)
{
    switch (o) {
    case PL_MODBUS_ABCD:
    case PL_MODBUS_CDAB:
    case PL_MODBUS_BADC:
    case PL_MODBUS_DCBA:
        return order_names[o];
    }
    return "?";
}

int pl_modbus_order_parse(const char *s, size_t len, pl_modbus_order_t *out)
{
    size_t i;
    size_t k;

    if (s == NULL || len != 4u)
        return PL_EVALUE;
    for (i = 0; i < 4u; i++) {
        for (k = 0; k < 4u; k++) {
            char c = s[k];

            if (c >= 'a' && c <= 'z')
                c = (char)(c - 'a' + 'A');
            if (c != order_names[i][k])
                break;
        }
        if (k == 4u) {
            *out = (pl_modbus_order_t)i;
            return 0;
        }
    }
    return PL_EVALUE;
}

static int word_swapped(pl_modbus_order_t o)
{
    return o == PL_MODBUS_CDAB || o == PL_MODBUS_DCBA;
}

static int byte_swapped(pl_modbus_order_t o)
{
    return o == PL_MODBUS_BADC || o == PL_MODBUS_DCBA;
}

/* Value bytes most significant first (`n` of them) to registers as sent, and back. */
static void to_regs(uint8_t *regs, const uint8_t *val, size_t n, pl_modbus_order_t o)
{
    size_t words = n / 2u;
    size_t k;

    for (k = 0; k < words; k++) {
        size_t w = word_swapped(o) ? words - 1u - k : k;
        uint8_t hi = val[2u * w];
        uint8_t lo = val[2u * w + 1u];

        regs[2u * k] = byte_swapped(o) ? lo : hi;
        regs[2u * k + 1u] = byte_swapped(o) ? hi : lo;
    }
}

static void from_regs(uint8_t *val, const uint8_t *regs, size_t n, pl_modbus_order_t o)
{
    size_t words = n / 2u;
    size_t k;

    for (k = 0; k < words; k++) {
        size_t w = word_swapped(o) ? words - 1u - k : k;

        val[2u * w] = byte_swapped(o) ? regs[2u * k + 1u] : regs[2u * k];
        val[2u * w + 1u] = byte_swapped(o) ? regs[2u * k] : regs[2u * k + 1u];
    }
}

uint32_t pl_modbus_get32(const uint8_t *regs, pl_modbus_order_t o)
{
    uint8_t b[4];

    from_regs(b, regs, sizeof(b), o);
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

void pl_modbus_put32(uint8_t *regs, uint32_t v, pl_modbus_order_t o)
{
    uint8_t b[4];
    size_t k;

    for (k = 0; k < sizeof(b); k++)
        b[k] = (uint8_t)(v >> (24u - 8u * k));
    to_regs(regs, b, sizeof(b), o);
}

uint64_t pl_modbus_get64(const uint8_t *regs, pl_modbus_order_t o)
{
    uint8_t b[8];
    uint64_t v = 0;
    size_t k;

    from_regs(b, regs, sizeof(b), o);
    for (k = 0; k < sizeof(b); k++)
        v = (v << 8) | b[k];
    return v;
}

void pl_modbus_put64(uint8_t *regs, uint64_t v, pl_modbus_order_t o)
{
    uint8_t b[8];
    size_t k;

    for (k = 0; k < sizeof(b); k++)
        b[k] = (uint8_t)(v >> (56u - 8u * k));
    to_regs(regs, b, sizeof(b), o);
}

/* ------------------------------------------------------------------ values */

/* Where element `i` lives: byte offset of its first register (register types), or the bit
 * index into the data (bits). Returns 0 or PL_ERANGE when `len` bytes do not hold it. */
static int locate(const pl_modbus_addr_t *a, size_t len, uint32_t i, size_t *at, unsigned *bit)
{
    uint64_t need;

    if (a->type == PL_MODBUS_T_BIT) {
        uint64_t idx =
            pl_modbus_table_bits(a->table) ? (uint64_t)i : (uint64_t)(a->bit < 0 ? 0 : a->bit) + i;

        if (pl_modbus_table_bits(a->table)) {
            need = idx / 8u + 1u;
            *at = (size_t)(idx / 8u);
            *bit = (unsigned)(idx % 8u);
        } else {
            /* bit b of a register: byte 0 is the high byte (bits 15..8) */
            uint64_t reg = idx / BITS_PER_REGISTER;
            unsigned b = (unsigned)(idx % BITS_PER_REGISTER);

            need = 2u * reg + 2u;
            *at = (size_t)(2u * reg + (b >= 8u ? 0u : 1u));
            *bit = b % 8u;
        }
    } else {
        uint64_t eu = type_units(a->type, a->str_len);

        *at = (size_t)(2u * eu * i);
        *bit = 0;
        need = 2u * eu * ((uint64_t)i + 1u);
    }
    return need > (uint64_t)len ? PL_ERANGE : 0;
}

static int str_low_first(pl_modbus_order_t o)
{
    return byte_swapped(o);
}

int pl_modbus_value_get(const pl_modbus_addr_t *a, const uint8_t *data, size_t len, uint32_t i,
                        pl_modbus_order_t o, pl_modbus_value_t *out)
{
    size_t at;
    unsigned bit;
    const uint8_t *p;
    uint32_t k;

    memset(out, 0, sizeof(*out));
    out->type = a->type;
    if (data == NULL || locate(a, len, i, &at, &bit) != 0)
        return PL_ERANGE;
    p = data + at;
    switch (a->type) {
    case PL_MODBUS_T_BIT:
        out->v.u = (p[0] >> bit) & 1u;
        break;
    case PL_MODBUS_T_U16:
        out->v.u = (uint64_t)(((unsigned)p[0] << 8) | p[1]);
        break;
    case PL_MODBUS_T_I16:
        out->v.i = (int16_t)(uint16_t)(((unsigned)p[0] << 8) | p[1]);
        break;
    case PL_MODBUS_T_U32:
        out->v.u = pl_modbus_get32(p, o);
        break;
    case PL_MODBUS_T_I32:
        out->v.i = (int32_t)pl_modbus_get32(p, o);
        break;
    case PL_MODBUS_T_F32: {
        uint32_t u = pl_modbus_get32(p, o);

        memcpy(&out->v.f32, &u, sizeof(u));
        break;
    }
    case PL_MODBUS_T_U64:
        out->v.u = pl_modbus_get64(p, o);
        break;
    case PL_MODBUS_T_I64:
        out->v.i = (int64_t)pl_modbus_get64(p, o);
        break;
    case PL_MODBUS_T_F64: {
        uint64_t u = pl_modbus_get64(p, o);

        memcpy(&out->v.f64, &u, sizeof(u));
        break;
    }
    case PL_MODBUS_T_STR:
        for (k = 0; k < a->str_len && k < PL_MODBUS_STR_MAX; k++) {
            /* character k: register k / 2, high byte first unless byte-swapped */
            size_t b = 2u * (k / 2u) + (((k % 2u) == 0) == !str_low_first(o) ? 0u : 1u);
            char c = (char)p[b];

            if (c == '\0')
                break;
            out->s[k] = c;
        }
        out->s[k] = '\0';
        out->s_len = k;
        break;
    }
    return 0;
}

/* An integer: optional '-' (when `neg_ok`), decimal or 0x hex. *mag is the magnitude. */
static int parse_int(const char *s, size_t n, int neg_ok, int *neg, uint64_t *mag)
{
    size_t i = 0;
    uint64_t v = 0;
    int d;
    int base = 10;

    *neg = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) {
        *neg = s[i] == '-';
        if (*neg && !neg_ok)
            return PL_EVALUE;
        i++;
    }
    if (n - i > 2u && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        base = 16;
        i += 2;
    }
    if (i >= n)
        return PL_EVALUE;
    for (; i < n; i++) {
        d = hex_val(s[i]);
        if (d < 0 || d >= base)
            return PL_EVALUE;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return PL_EVALUE;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    *mag = v;
    return 0;
}

/* Integer text within [min, max] (signed types) or [0, umax] (unsigned). */
static int int_in(const char *s, size_t n, int is_signed, int64_t min, int64_t max, uint64_t umax,
                  uint64_t *out)
{
    int neg;
    uint64_t mag;

    if (parse_int(s, n, is_signed, &neg, &mag) != 0)
        return PL_EVALUE;
    if (!is_signed) {
        if (mag > umax)
            return PL_EVALUE;
        *out = mag;
        return 0;
    }
    if (neg) {
        if (mag > (uint64_t)(-(min + 1)) + 1u)
            return PL_EVALUE;
        *out = (uint64_t)0 - mag; /* two's complement of the magnitude */
        return 0;
    }
    if (mag > (uint64_t)max)
        return PL_EVALUE;
    *out = mag;
    return 0;
}

static int float_in(const char *s, size_t n, int single, double *out)
{
    char tmp[NUM_TEXT_MAX + 1];
    char *end = NULL;
    double d;
    size_t i;

    if (n == 0 || n > NUM_TEXT_MAX)
        return PL_EVALUE;
    for (i = 0; i < n; i++) {
        /* digits, sign, point, exponent only: no "nan", "inf", hex floats or spaces */
        char c = s[i];

        if (!(is_digit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'))
            return PL_EVALUE;
        tmp[i] = c;
    }
    tmp[n] = '\0';
    d = strtod(tmp, &end);
    if (end != tmp + n || !isfinite(d))
        return PL_EVALUE;
    /* what rounds to FLT_MAX is accepted; from the midpoint to the next step it would round
     * to infinity (and converting it is undefined) */
    if (single && (d >= F32_ROUND_LIMIT || d <= -F32_ROUND_LIMIT))
        return PL_EVALUE;
    *out = d;
    return 0;
}

static int bad_value(pl_status_t *err, const char *s, size_t n, const char *range)
{
    return FAIL(err, PL_EVALUE, "'%.*s': expected %s", (int)(n < SHOW_MAX ? n : SHOW_MAX), s,
                range);
}

int pl_modbus_value_put(const pl_modbus_addr_t *a, uint8_t *data, size_t len, uint32_t i,
                        pl_modbus_order_t o, const char *s, size_t n, pl_status_t *err)
{
    size_t at;
    unsigned bit;
    uint8_t *p;
    uint64_t u = 0;
    double d = 0;
    uint32_t k;

    if (data == NULL || locate(a, len, i, &at, &bit) != 0)
        return FAIL(err, PL_ERANGE, "element %u is outside the data", (unsigned)i);
    if (s == NULL)
        return bad_value(err, "", 0, "a value");
    p = data + at;
    switch (a->type) {
    case PL_MODBUS_T_BIT:
        if (int_in(s, n, 0, 0, 0, 1, &u) != 0)
            return bad_value(err, s, n, "0 or 1");
        p[0] = (uint8_t)(u ? (p[0] | (1u << bit)) : (p[0] & ~(1u << bit)));
        return 0;
    case PL_MODBUS_T_U16:
        if (int_in(s, n, 0, 0, 0, UINT16_MAX, &u) != 0)
            return bad_value(err, s, n, "an integer 0..65535");
        break;
    case PL_MODBUS_T_I16:
        if (int_in(s, n, 1, INT16_MIN, INT16_MAX, 0, &u) != 0)
            return bad_value(err, s, n, "an integer -32768..32767");
        break;
    case PL_MODBUS_T_U32:
        if (int_in(s, n, 0, 0, 0, UINT32_MAX, &u) != 0)
            return bad_value(err, s, n, "an integer 0..4294967295");
        pl_modbus_put32(p, (uint32_t)u, o);
        return 0;
    case PL_MODBUS_T_I32:
        if (int_in(s, n, 1, INT32_MIN, INT32_MAX, 0, &u) != 0)
            return bad_value(err, s, n, "an integer -2147483648..2147483647");
        pl_modbus_put32(p, (uint32_t)u, o);
        return 0;
    case PL_MODBUS_T_F32: {
        float f;
        uint32_t w;

        if (float_in(s, n, 1, &d) != 0)
            return bad_value(err, s, n, "a finite 32-bit floating-point number");
        f = (float)d;
        memcpy(&w, &f, sizeof(w));
        pl_modbus_put32(p, w, o);
        return 0;
    }
    case PL_MODBUS_T_U64:
        if (int_in(s, n, 0, 0, 0, UINT64_MAX, &u) != 0)
            return bad_value(err, s, n, "an integer 0..18446744073709551615");
        pl_modbus_put64(p, u, o);
        return 0;
    case PL_MODBUS_T_I64:
        if (int_in(s, n, 1, INT64_MIN, INT64_MAX, 0, &u) != 0)
            return bad_value(err, s, n, "a signed 64-bit integer");
        pl_modbus_put64(p, u, o);
        return 0;
    case PL_MODBUS_T_F64:
        if (float_in(s, n, 0, &d) != 0)
            return bad_value(err, s, n, "a finite floating-point number");
        memcpy(&u, &d, sizeof(u));
        pl_modbus_put64(p, u, o);
        return 0;
    case PL_MODBUS_T_STR:
        if (n > a->str_len)
            return FAIL(err, PL_EVALUE, "'%.*s': %zu bytes, the field holds %u",
                        (int)(n < SHOW_MAX ? n : SHOW_MAX), s, n, (unsigned)a->str_len);
        /* the whole field: the characters, then NUL padding (also the spare byte of an odd
         * length) */
        for (k = 0; k < 2u * pl_modbus_addr_elem_units(a); k++) {
            size_t b = 2u * (k / 2u) + (((k % 2u) == 0) == !str_low_first(o) ? 0u : 1u);

            p[b] = k < n ? (uint8_t)s[k] : 0u;
        }
        return 0;
    }
    /* 16-bit registers */
    p[0] = (uint8_t)((u >> 8) & 0xFFu);
    p[1] = (uint8_t)(u & 0xFFu);
    return 0;
}

int pl_modbus_value_format(const pl_modbus_value_t *v, char *buf, size_t cap)
{
    int n = -1;

    switch (v->type) {
    case PL_MODBUS_T_BIT:
    case PL_MODBUS_T_U16:
    case PL_MODBUS_T_U32:
    case PL_MODBUS_T_U64:
        n = snprintf(buf, cap, "%llu", (unsigned long long)v->v.u);
        break;
    case PL_MODBUS_T_I16:
    case PL_MODBUS_T_I32:
    case PL_MODBUS_T_I64:
        n = snprintf(buf, cap, "%lld", (long long)v->v.i);
        break;
    case PL_MODBUS_T_F32:
        n = snprintf(buf, cap, "%.9g", (double)v->v.f32);
        break;
    case PL_MODBUS_T_F64:
        n = snprintf(buf, cap, "%.17g", v->v.f64);
        break;
    case PL_MODBUS_T_STR:
        n = snprintf(buf, cap, "%.*s", (int)v->s_len, v->s);
        break;
    }
    if (n < 0 || (size_t)n >= cap)
        return PL_ENOBUFS;
    return n;
}
