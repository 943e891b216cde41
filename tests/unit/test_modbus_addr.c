/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of Modbus addresses, byte orders and values
 * (src/proto/modbus/codec/modbus_addr.c): every form of address parses to the protocol
 * address it names and formats canonically, the canonical form parses back to the same;
 * every error names the column; the four byte orders put the bytes of 32- and 64-bit values
 * where the documentation says; values go to and from the bytes as they travel.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"

#include "plcline/error.h"
#include "proto/modbus/codec/modbus.h"
#include "proto/modbus/codec/modbus_addr.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ZB           PL_MODBUS_ADDR_ZERO_BASED

/* ---------------------------------------------------------------- parsing */

typedef struct {
    const char *text;
    unsigned flags;
    const char *canon;
    pl_modbus_table_t table;
    uint16_t addr;
    pl_modbus_type_t type;
    int bit;
    uint16_t str_len;
    uint32_t count;
    uint32_t units;
} good_t;

static const good_t good[] = {
    {"hr0", 0, "hr0", PL_MODBUS_HOLDING, 0, PL_MODBUS_T_U16, -1, 0, 1, 1},
    {"HR12", 0, "hr12", PL_MODBUS_HOLDING, 12, PL_MODBUS_T_U16, -1, 0, 1, 1},
    {"hr65535", 0, "hr65535", PL_MODBUS_HOLDING, 65535, PL_MODBUS_T_U16, -1, 0, 1, 1},
    {"hr0x10", 0, "hr16", PL_MODBUS_HOLDING, 16, PL_MODBUS_T_U16, -1, 0, 1, 1},
    {"Hr0XfFfF", 0, "hr65535", PL_MODBUS_HOLDING, 65535, PL_MODBUS_T_U16, -1, 0, 1, 1},
    {"ir7", 0, "ir7", PL_MODBUS_INPUT, 7, PL_MODBUS_T_U16, -1, 0, 1, 1},
    {"co3", 0, "co3", PL_MODBUS_COILS, 3, PL_MODBUS_T_BIT, -1, 0, 1, 1},
    {"di65535", 0, "di65535", PL_MODBUS_DISCRETE, 65535, PL_MODBUS_T_BIT, -1, 0, 1, 1},
    {"co0,2000", 0, "co0,2000", PL_MODBUS_COILS, 0, PL_MODBUS_T_BIT, -1, 0, 2000, 2000},
    {"co0,65536", 0, "co0,65536", PL_MODBUS_COILS, 0, PL_MODBUS_T_BIT, -1, 0, 65536, 65536},
    {"hr1:u16", 0, "hr1", PL_MODBUS_HOLDING, 1, PL_MODBUS_T_U16, -1, 0, 1, 1},
    {"hr1:i16,3", 0, "hr1:i16,3", PL_MODBUS_HOLDING, 1, PL_MODBUS_T_I16, -1, 0, 3, 3},
    {"hr1:U32", 0, "hr1:u32", PL_MODBUS_HOLDING, 1, PL_MODBUS_T_U32, -1, 0, 1, 2},
    {"ir2:i32,2", 0, "ir2:i32,2", PL_MODBUS_INPUT, 2, PL_MODBUS_T_I32, -1, 0, 2, 4},
    {"hr100:f32,10", 0, "hr100:f32,10", PL_MODBUS_HOLDING, 100, PL_MODBUS_T_F32, -1, 0, 10, 20},
    {"hr0:u64", 0, "hr0:u64", PL_MODBUS_HOLDING, 0, PL_MODBUS_T_U64, -1, 0, 1, 4},
    {"hr0:i64,2", 0, "hr0:i64,2", PL_MODBUS_HOLDING, 0, PL_MODBUS_T_I64, -1, 0, 2, 8},
    {"ir65532:f64", 0, "ir65532:f64", PL_MODBUS_INPUT, 65532, PL_MODBUS_T_F64, -1, 0, 1, 4},
    {"hr65534:f32", 0, "hr65534:f32", PL_MODBUS_HOLDING, 65534, PL_MODBUS_T_F32, -1, 0, 1, 2},
    {"hr5:str10", 0, "hr5:str10", PL_MODBUS_HOLDING, 5, PL_MODBUS_T_STR, -1, 10, 1, 5},
    {"hr5:STR7,2", 0, "hr5:str7,2", PL_MODBUS_HOLDING, 5, PL_MODBUS_T_STR, -1, 7, 2, 8},
    {"hr0:str250", 0, "hr0:str250", PL_MODBUS_HOLDING, 0, PL_MODBUS_T_STR, -1, 250, 1, 125},
    {"hr0:str1", 0, "hr0:str1", PL_MODBUS_HOLDING, 0, PL_MODBUS_T_STR, -1, 1, 1, 1},
    {"hr10/0", 0, "hr10/0", PL_MODBUS_HOLDING, 10, PL_MODBUS_T_BIT, 0, 0, 1, 1},
    {"hr10/15,2", 0, "hr10/15,2", PL_MODBUS_HOLDING, 10, PL_MODBUS_T_BIT, 15, 0, 2, 2},
    {"ir3/4,16", 0, "ir3/4,16", PL_MODBUS_INPUT, 3, PL_MODBUS_T_BIT, 4, 0, 16, 2},
    {"hr65535/15", 0, "hr65535/15", PL_MODBUS_HOLDING, 65535, PL_MODBUS_T_BIT, 15, 0, 1, 1},
    {"hr0/0,16", 0, "hr0/0,16", PL_MODBUS_HOLDING, 0, PL_MODBUS_T_BIT, 0, 0, 16, 1},
    {"hr0,1", 0, "hr0", PL_MODBUS_HOLDING, 0, PL_MODBUS_T_U16, -1, 0, 1, 1},
    /* Modicon references, 1-based */
    {"40001", 0, "hr0", PL_MODBUS_HOLDING, 0, PL_MODBUS_T_U16, -1, 0, 1, 1},
    {"400001", 0, "hr0", PL_MODBUS_HOLDING, 0, PL_MODBUS_T_U16, -1, 0, 1, 1},
    {"40108", 0, "hr107", PL_MODBUS_HOLDING, 107, PL_MODBUS_T_U16, -1, 0, 1, 1},
    {"49999", 0, "hr9998", PL_MODBUS_HOLDING, 9998, PL_MODBUS_T_U16, -1, 0, 1, 1},
    {"465536", 0, "hr65535", PL_MODBUS_HOLDING, 65535, PL_MODBUS_T_U16, -1, 0, 1, 1},
    {"30001", 0, "ir0", PL_MODBUS_INPUT, 0, PL_MODBUS_T_U16, -1, 0, 1, 1},
    {"300010:f32", 0, "ir9:f32", PL_MODBUS_INPUT, 9, PL_MODBUS_T_F32, -1, 0, 1, 2},
    {"00001", 0, "co0", PL_MODBUS_COILS, 0, PL_MODBUS_T_BIT, -1, 0, 1, 1},
    {"000020,19", 0, "co19,19", PL_MODBUS_COILS, 19, PL_MODBUS_T_BIT, -1, 0, 19, 19},
    {"10197", 0, "di196", PL_MODBUS_DISCRETE, 196, PL_MODBUS_T_BIT, -1, 0, 1, 1},
    {"165536", 0, "di65535", PL_MODBUS_DISCRETE, 65535, PL_MODBUS_T_BIT, -1, 0, 1, 1},
    {"40001/3", 0, "hr0/3", PL_MODBUS_HOLDING, 0, PL_MODBUS_T_BIT, 3, 0, 1, 1},
    {"40011:str4,2", 0, "hr10:str4,2", PL_MODBUS_HOLDING, 10, PL_MODBUS_T_STR, -1, 4, 2, 4},
    /* zero_based: the reference's offset is the protocol address */
    {"40000", ZB, "hr0", PL_MODBUS_HOLDING, 0, PL_MODBUS_T_U16, -1, 0, 1, 1},
    {"40001", ZB, "hr1", PL_MODBUS_HOLDING, 1, PL_MODBUS_T_U16, -1, 0, 1, 1},
    {"49999", ZB, "hr9999", PL_MODBUS_HOLDING, 9999, PL_MODBUS_T_U16, -1, 0, 1, 1},
    {"465535", ZB, "hr65535", PL_MODBUS_HOLDING, 65535, PL_MODBUS_T_U16, -1, 0, 1, 1},
    {"000000", ZB, "co0", PL_MODBUS_COILS, 0, PL_MODBUS_T_BIT, -1, 0, 1, 1},
    /* zero_based leaves hr<N> alone: it is always the protocol address */
    {"hr0", ZB, "hr0", PL_MODBUS_HOLDING, 0, PL_MODBUS_T_U16, -1, 0, 1, 1},
    {"co5,8", ZB, "co5,8", PL_MODBUS_COILS, 5, PL_MODBUS_T_BIT, -1, 0, 8, 8},
};

static void test_parse_good(void **state)
{
    pl_modbus_addr_t a;
    pl_modbus_addr_t b;
    char text[PL_MODBUS_ADDR_TEXT_MAX];
    pl_status_t st;
    size_t i;
    int n;

    (void)state;
    for (i = 0; i < ARRAY_LEN(good); i++) {
        const good_t *g = &good[i];

        print_message("address: %s\n", g->text);
        pl_status_clear(&st);
        assert_int_equal(pl_modbus_addr_parse(&a, g->text, g->flags, &st), 0);
        assert_int_equal(st.code, 0);
        assert_int_equal(a.table, g->table);
        assert_int_equal(a.addr, g->addr);
        assert_int_equal(a.type, g->type);
        assert_int_equal(a.bit, g->bit);
        assert_int_equal(a.str_len, g->str_len);
        assert_int_equal(a.count, g->count);
        assert_int_equal(pl_modbus_addr_units(&a), g->units);
        n = pl_modbus_addr_format(&a, text, sizeof(text));
        assert_int_equal(n, (int)strlen(g->canon));
        assert_string_equal(text, g->canon);
        /* the canonical form parses to the same address, with or without zero_based */
        assert_int_equal(pl_modbus_addr_parse(&b, text, 0, NULL), 0);
        assert_memory_equal(&a, &b, sizeof(a));
        assert_int_equal(pl_modbus_addr_parse(&b, text, ZB, NULL), 0);
        assert_memory_equal(&a, &b, sizeof(a));
    }
}

typedef struct {
    const char *text;
    unsigned flags;
    const char *detail; /* exact */
} bad_t;

static const bad_t bad[] = {
    {"", 0, "'': expected hr, ir, co, di or a Modicon reference (4xxxx) at column 1"},
    {"xx1", 0, "'xx1': expected hr, ir, co, di or a Modicon reference (4xxxx) at column 1"},
    {"h", 0, "'h': expected hr, ir, co, di or a Modicon reference (4xxxx) at column 1"},
    {"hr", 0, "'hr': expected an address at column 3"},
    {"hr-1", 0, "'hr-1': unexpected '-' at column 3"},
    {"hr 1", 0, "'hr 1': unexpected ' ' at column 3"},
    {"hr65536", 0, "'hr65536': an address above 65535 at column 3"},
    {"hr99999999999999999999", 0, "'hr99999999999999999999': an address above 65535 at column 3"},
    {"hr0x", 0, "'hr0x': expected an address at column 5"},
    {"hr0x10000", 0, "'hr0x10000': an address above 65535 at column 5"},
    {"hr12x", 0, "'hr12x': unexpected 'x' at column 5"},
    {"hr1\x01", 0, "'hr1\x01': unexpected byte 0x01 at column 4"},
    {"hr1/16", 0, "'hr1/16': a bit number above 15 at column 5"},
    {"hr1/", 0, "'hr1/': expected a bit number at column 5"},
    {"co1/2", 0, "'co1/2': a coil or discrete input has no bits at column 4"},
    {"di1:u16", 0, "'di1:u16': a coil or discrete input has no type at column 4"},
    {"hr1/2:u16", 0, "'hr1/2:u16': a bit of a register has no type at column 6"},
    {"hr1:", 0, "'hr1:': expected a type (u16 i16 u32 i32 f32 u64 i64 f64 str<N>) at column 5"},
    {"hr1:u8", 0, "'hr1:u8': expected a type (u16 i16 u32 i32 f32 u64 i64 f64 str<N>) at column 5"},
    {"hr1:u32x", 0,
     "'hr1:u32x': expected a type (u16 i16 u32 i32 f32 u64 i64 f64 str<N>) at column 5"},
    {"hr1:u160", 0,
     "'hr1:u160': expected a type (u16 i16 u32 i32 f32 u64 i64 f64 str<N>) at column 5"},
    {"hr1:str", 0, "'hr1:str': expected string length at column 8"},
    {"hr1:str0", 0, "'hr1:str0': string length 0 at column 8"},
    {"hr1:str251", 0, "'hr1:str251': string length above 250 at column 8"},
    {"hr1,", 0, "'hr1,': expected a count at column 5"},
    {"hr1,0", 0, "'hr1,0': count 0 at column 5"},
    {"hr1,65537", 0, "'hr1,65537': a count above 65536 at column 5"},
    {"hr1,0x10", 0, "'hr1,0x10': unexpected 'x' at column 6"},
    {"hr1,2,3", 0, "'hr1,2,3': unexpected ',' at column 6"},
    {"hr1:u16/2", 0, "'hr1:u16/2': unexpected '/' at column 8"},
    {"hr65535:u32", 0, "'hr65535:u32': ends past register 65535"},
    {"hr65533:f64", 0, "'hr65533:f64': ends past register 65535"},
    {"hr1,65536", 0, "'hr1,65536': ends past register 65535"},
    {"hr65535/15,2", 0, "'hr65535/15,2': ends past register 65535"},
    {"co65535,2", 0, "'co65535,2': ends past bit 65535"},
    {"hr0:str250,525", 0, "'hr0:str250,525': ends past register 65535"},
    {"4001", 0, "'4001': a Modicon reference has 5 or 6 digits, not 4, at column 1"},
    {"4000001", 0, "'4000001': a Modicon reference has 5 or 6 digits, not 7, at column 1"},
    {"1", 0, "'1': a Modicon reference has 5 or 6 digits, not 1, at column 1"},
    {"20001", 0, "'20001': unknown reference table 2 (0, 1, 3 or 4) at column 1"},
    {"40000", 0, "'40000': reference offset 0 (references count from 1) at column 2"},
    {"400000", 0, "'400000': reference offset 0 (references count from 1) at column 2"},
    {"465537", 0, "'465537': reference offset above 65536 at column 2"},
    {"465536", ZB, "'465536': reference offset above 65535 at column 2"},
    {"40001x", 0, "'40001x': unexpected 'x' at column 6"},
    {"00001/1", 0, "'00001/1': a coil or discrete input has no bits at column 6"},
    {"465536:u32", 0, "'465536:u32': ends past register 65535"},
};

static void test_parse_bad(void **state)
{
    pl_modbus_addr_t a;
    pl_modbus_addr_t keep;
    pl_status_t st;
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(bad); i++) {
        print_message("address: %s\n", bad[i].text);
        memset(&a, 0x5A, sizeof(a));
        keep = a;
        pl_status_clear(&st);
        assert_int_equal(pl_modbus_addr_parse(&a, bad[i].text, bad[i].flags, &st), PL_EADDR);
        assert_int_equal(st.code, PL_EADDR);
        assert_string_equal(st.detail, bad[i].detail);
        assert_memory_equal(&a, &keep, sizeof(a)); /* left alone */
        assert_int_equal(pl_modbus_addr_parse(&a, bad[i].text, bad[i].flags, NULL), PL_EADDR);
    }
    assert_int_equal(pl_modbus_addr_parse(&a, NULL, 0, &st), PL_EADDR);
}

static void test_format_nobufs(void **state)
{
    pl_modbus_addr_t a;
    char buf[PL_MODBUS_ADDR_TEXT_MAX];
    size_t cap;

    (void)state;
    assert_int_equal(pl_modbus_addr_parse(&a, "hr65535/15", 0, NULL), 0);
    for (cap = 0; cap <= strlen("hr65535/15"); cap++)
        assert_int_equal(pl_modbus_addr_format(&a, buf, cap), PL_ENOBUFS);
    assert_int_equal(pl_modbus_addr_format(&a, buf, cap), 10);
    /* the longest canonical forms fit PL_MODBUS_ADDR_TEXT_MAX */
    assert_int_equal(pl_modbus_addr_parse(&a, "hr0:str250,524", 0, NULL), 0);
    assert_true(pl_modbus_addr_format(&a, buf, sizeof(buf)) > 0);
    assert_int_equal(pl_modbus_addr_parse(&a, "hr0/15,65521", 0, NULL), 0);
    assert_true(pl_modbus_addr_format(&a, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "hr0/15,65521");
}

/* ---------------------------------------------------------------- planning */

static void test_planning(void **state)
{
    pl_modbus_addr_t a;

    (void)state;
    assert_string_equal(pl_modbus_table_name(PL_MODBUS_COILS), "co");
    assert_string_equal(pl_modbus_table_name(PL_MODBUS_DISCRETE), "di");
    assert_string_equal(pl_modbus_table_name(PL_MODBUS_INPUT), "ir");
    assert_string_equal(pl_modbus_table_name(PL_MODBUS_HOLDING), "hr");
    assert_true(pl_modbus_table_bits(PL_MODBUS_COILS));
    assert_true(pl_modbus_table_bits(PL_MODBUS_DISCRETE));
    assert_false(pl_modbus_table_bits(PL_MODBUS_INPUT));
    assert_false(pl_modbus_table_bits(PL_MODBUS_HOLDING));
    assert_true(pl_modbus_table_writable(PL_MODBUS_COILS));
    assert_false(pl_modbus_table_writable(PL_MODBUS_DISCRETE));
    assert_false(pl_modbus_table_writable(PL_MODBUS_INPUT));
    assert_true(pl_modbus_table_writable(PL_MODBUS_HOLDING));
    assert_int_equal(pl_modbus_table_read_fc(PL_MODBUS_COILS), 1);
    assert_int_equal(pl_modbus_table_read_fc(PL_MODBUS_DISCRETE), 2);
    assert_int_equal(pl_modbus_table_read_fc(PL_MODBUS_HOLDING), 3);
    assert_int_equal(pl_modbus_table_read_fc(PL_MODBUS_INPUT), 4);
    assert_int_equal(pl_modbus_table_write_fc(PL_MODBUS_COILS, 1), 5);
    assert_int_equal(pl_modbus_table_write_fc(PL_MODBUS_COILS, 2), 15);
    assert_int_equal(pl_modbus_table_write_fc(PL_MODBUS_HOLDING, 1), 6);
    assert_int_equal(pl_modbus_table_write_fc(PL_MODBUS_HOLDING, 123), 16);
    assert_int_equal(pl_modbus_table_write_fc(PL_MODBUS_HOLDING, 0), 0);
    assert_int_equal(pl_modbus_table_write_fc(PL_MODBUS_INPUT, 1), 0);
    assert_int_equal(pl_modbus_table_write_fc(PL_MODBUS_DISCRETE, 1), 0);
    assert_int_equal(pl_modbus_table_max_read(PL_MODBUS_COILS), 2000);
    assert_int_equal(pl_modbus_table_max_read(PL_MODBUS_DISCRETE), 2000);
    assert_int_equal(pl_modbus_table_max_read(PL_MODBUS_INPUT), 125);
    assert_int_equal(pl_modbus_table_max_read(PL_MODBUS_HOLDING), 125);
    assert_int_equal(pl_modbus_table_max_write(PL_MODBUS_COILS), 1968);
    assert_int_equal(pl_modbus_table_max_write(PL_MODBUS_HOLDING), 123);
    assert_int_equal(pl_modbus_table_max_write(PL_MODBUS_INPUT), 0);
    assert_int_equal(pl_modbus_table_max_write(PL_MODBUS_DISCRETE), 0);

    assert_int_equal(pl_modbus_addr_parse(&a, "hr0:f64,3", 0, NULL), 0);
    assert_int_equal(pl_modbus_addr_elem_units(&a), 4);
    assert_int_equal(pl_modbus_addr_units(&a), 12);
    assert_int_equal(pl_modbus_addr_parse(&a, "hr0:str9", 0, NULL), 0);
    assert_int_equal(pl_modbus_addr_elem_units(&a), 5);
    assert_int_equal(pl_modbus_addr_parse(&a, "hr0/7,10", 0, NULL), 0);
    assert_int_equal(pl_modbus_addr_elem_units(&a), 1);
    assert_int_equal(pl_modbus_addr_units(&a), 2); /* bits 7..16 */
    assert_int_equal(pl_modbus_addr_parse(&a, "hr0/6,10", 0, NULL), 0);
    assert_int_equal(pl_modbus_addr_units(&a), 1); /* bits 6..15 */
}

/* ---------------------------------------------------------------- byte orders */

static void test_orders(void **state)
{
    static const struct {
        pl_modbus_order_t o;
        const char *name;
        const char *w32; /* 0x11223344 */
        const char *w64; /* 0x1122334455667788 */
        const char *f32; /* 123.456f = 0x42F6E979 */
    } v[] = {
        {PL_MODBUS_ABCD, "ABCD", "11223344", "1122334455667788", "42f6e979"},
        {PL_MODBUS_CDAB, "CDAB", "33441122", "7788556633441122", "e97942f6"},
        {PL_MODBUS_BADC, "BADC", "22114433", "2211443366558877", "f64279e9"},
        {PL_MODBUS_DCBA, "DCBA", "44332211", "8877665544332211", "79e9f642"},
    };
    uint8_t want[8];
    uint8_t got[8];
    pl_modbus_order_t o;
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(v); i++) {
        assert_string_equal(pl_modbus_order_name(v[i].o), v[i].name);
        assert_int_equal(pl_modbus_order_parse(v[i].name, 4, &o), 0);
        assert_int_equal(o, v[i].o);
        pl_test_hex(v[i].w32, want, sizeof(want));
        pl_modbus_put32(got, 0x11223344u, v[i].o);
        assert_memory_equal(got, want, 4);
        assert_int_equal(pl_modbus_get32(want, v[i].o), 0x11223344u);
        pl_test_hex(v[i].w64, want, sizeof(want));
        pl_modbus_put64(got, 0x1122334455667788ull, v[i].o);
        assert_memory_equal(got, want, 8);
        assert_true(pl_modbus_get64(want, v[i].o) == 0x1122334455667788ull);
        pl_test_hex(v[i].f32, want, sizeof(want));
        assert_int_equal(pl_modbus_get32(want, v[i].o), 0x42F6E979u);
    }
    assert_int_equal(pl_modbus_order_parse("cdab", 4, &o), 0);
    assert_int_equal(o, PL_MODBUS_CDAB);
    assert_int_equal(pl_modbus_order_parse("dCbA", 4, &o), 0);
    assert_int_equal(o, PL_MODBUS_DCBA);
    assert_int_equal(pl_modbus_order_parse("ABCDE", 5, &o), PL_EVALUE);
    assert_int_equal(pl_modbus_order_parse("ABC", 3, &o), PL_EVALUE);
    assert_int_equal(pl_modbus_order_parse("ACBD", 4, &o), PL_EVALUE);
    assert_int_equal(pl_modbus_order_parse(NULL, 4, &o), PL_EVALUE);
}

/* ---------------------------------------------------------------- values */

static void put_get(const char *addr, pl_modbus_order_t o, uint32_t i, const char *text,
                    const char *want_hex, size_t at, const char *want_text)
{
    pl_modbus_addr_t a;
    pl_modbus_value_t v;
    uint8_t data[512];
    uint8_t want[64];
    char out[PL_MODBUS_STR_MAX + 8];
    size_t n;

    print_message("value: %s %s [%u] := %s\n", addr, pl_modbus_order_name(o), (unsigned)i, text);
    assert_int_equal(pl_modbus_addr_parse(&a, addr, 0, NULL), 0);
    memset(data, 0, sizeof(data));
    assert_int_equal(pl_modbus_value_put(&a, data, sizeof(data), i, o, text, strlen(text), NULL),
                     0);
    n = pl_test_hex(want_hex, want, sizeof(want));
    assert_memory_equal(data + at, want, n);
    assert_int_equal(pl_modbus_value_get(&a, data, sizeof(data), i, o, &v), 0);
    assert_int_equal(v.type, a.type);
    assert_true(pl_modbus_value_format(&v, out, sizeof(out)) >= 0);
    assert_string_equal(out, want_text != NULL ? want_text : text);
}

static void test_values(void **state)
{
    (void)state;
    put_get("hr0", PL_MODBUS_ABCD, 0, "555", "022b", 0, NULL);
    put_get("hr0", PL_MODBUS_DCBA, 2, "0xffff", "ffff", 4, "65535"); /* orders: 32/64 only */
    put_get("hr0:i16", PL_MODBUS_ABCD, 0, "-2", "fffe", 0, NULL);
    put_get("hr0:i16", PL_MODBUS_ABCD, 1, "-32768", "8000", 2, NULL);
    put_get("hr0:i16", PL_MODBUS_ABCD, 0, "32767", "7fff", 0, NULL);
    put_get("hr0:u32", PL_MODBUS_ABCD, 0, "287454020", "11223344", 0, NULL);
    put_get("hr0:u32", PL_MODBUS_CDAB, 1, "0x11223344", "33441122", 4, "287454020");
    put_get("hr0:i32", PL_MODBUS_BADC, 0, "-2", "fffffeff", 0, NULL);
    put_get("hr0:i32", PL_MODBUS_DCBA, 0, "-2147483648", "00000080", 0, NULL);
    put_get("hr0:f32", PL_MODBUS_ABCD, 0, "123.456", "42f6e979", 0, "123.456001");
    put_get("hr0:f32", PL_MODBUS_CDAB, 0, "-1.5", "0000bfc0", 0, NULL);
    put_get("hr0:f32", PL_MODBUS_BADC, 0, "1e-45", "0000 0100", 0, "1.40129846e-45");
    put_get("hr0:f32", PL_MODBUS_DCBA, 0, "3.40282347e+38", "ffff7f7f", 0, NULL);
    put_get("hr0:u64", PL_MODBUS_ABCD, 0, "18446744073709551615", "ffffffffffffffff", 0, NULL);
    put_get("hr0:u64", PL_MODBUS_CDAB, 1, "0x1122334455667788", "7788556633441122", 8,
            "1234605616436508552");
    put_get("hr0:i64", PL_MODBUS_DCBA, 0, "-9223372036854775808", "0000000000000080", 0, NULL);
    put_get("hr0:i64", PL_MODBUS_BADC, 0, "-1", "ffffffffffffffff", 0, NULL);
    put_get("hr0:f64", PL_MODBUS_ABCD, 0, "0.10000000000000001", "3fb999999999999a", 0, NULL);
    put_get("hr0:f64", PL_MODBUS_DCBA, 0, "-2.5", "00000000000004c0", 0, NULL);
    /* strings: first character high byte (ABCD, CDAB) or low byte (BADC, DCBA) */
    put_get("hr0:str5", PL_MODBUS_ABCD, 0, "HELLO", "48454c4c4f00", 0, NULL);
    put_get("hr0:str5", PL_MODBUS_CDAB, 0, "HELLO", "48454c4c4f00", 0, NULL);
    put_get("hr0:str5", PL_MODBUS_BADC, 0, "HELLO", "45484c4c004f", 0, NULL);
    put_get("hr0:str5", PL_MODBUS_DCBA, 1, "HI", "4948 0000 0000", 6, NULL);
    put_get("hr0:str4", PL_MODBUS_ABCD, 0, "", "00000000", 0, NULL);
    /* bits: of a register (bit 0 is the LSB, in the second byte), and of coils */
    put_get("hr0/0", PL_MODBUS_ABCD, 0, "1", "0001", 0, NULL);
    put_get("hr0/15", PL_MODBUS_ABCD, 0, "1", "8000", 0, NULL);
    put_get("hr0/15,2", PL_MODBUS_ABCD, 1, "1", "0000 0001", 0, NULL); /* spills into hr1 */
    put_get("hr0/9", PL_MODBUS_ABCD, 0, "1", "0200", 0, NULL);
    put_get("co0,20", PL_MODBUS_ABCD, 0, "1", "01", 0, NULL);
    put_get("co0,20", PL_MODBUS_ABCD, 9, "1", "0002", 0, NULL);
    put_get("di0,20", PL_MODBUS_ABCD, 19, "1", "000008", 0, NULL);
}

/* Spec 6.3 read holding registers response: 0x022B, 0x0000, 0x0064. */
static void test_values_from_spec(void **state)
{
    uint8_t regs[6];
    uint8_t bits[3];
    pl_modbus_addr_t a;
    pl_modbus_value_t v;
    int want[] = {1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1};
    uint32_t i;

    (void)state;
    pl_test_hex("022b 0000 0064", regs, sizeof(regs));
    assert_int_equal(pl_modbus_addr_parse(&a, "40108,3", 0, NULL), 0);
    assert_int_equal(pl_modbus_value_get(&a, regs, 6, 0, PL_MODBUS_ABCD, &v), 0);
    assert_int_equal(v.v.u, 555);
    assert_int_equal(pl_modbus_value_get(&a, regs, 6, 2, PL_MODBUS_ABCD, &v), 0);
    assert_int_equal(v.v.u, 100);
    assert_int_equal(pl_modbus_value_get(&a, regs, 6, 3, PL_MODBUS_ABCD, &v), PL_ERANGE);
    assert_int_equal(pl_modbus_value_get(&a, regs, 5, 2, PL_MODBUS_ABCD, &v), PL_ERANGE);
    assert_int_equal(pl_modbus_value_get(&a, NULL, 6, 0, PL_MODBUS_ABCD, &v), PL_ERANGE);
    /* spec 6.1: coils 20..38 read as CD 6B 05, coil 20 the LSB of the first byte */
    pl_test_hex("cd6b05", bits, sizeof(bits));
    assert_int_equal(pl_modbus_addr_parse(&a, "co19,19", 0, NULL), 0);
    for (i = 0; i < 19; i++) {
        assert_int_equal(pl_modbus_value_get(&a, bits, 3, i, PL_MODBUS_ABCD, &v), 0);
        assert_int_equal(v.v.u, (uint64_t)want[i]);
    }
    assert_int_equal(pl_modbus_value_get(&a, bits, 2, 16, PL_MODBUS_ABCD, &v), PL_ERANGE);
}

static void test_value_errors(void **state)
{
    static const struct {
        const char *addr;
        const char *text;
        const char *detail;
    } x[] = {
        {"hr0", "65536", "'65536': expected an integer 0..65535"},
        {"hr0", "-1", "'-1': expected an integer 0..65535"},
        {"hr0", "", "'': expected an integer 0..65535"},
        {"hr0", "1 ", "'1 ': expected an integer 0..65535"},
        {"hr0", "0x", "'0x': expected an integer 0..65535"},
        {"hr0", "1.5", "'1.5': expected an integer 0..65535"},
        {"hr0:i16", "32768", "'32768': expected an integer -32768..32767"},
        {"hr0:i16", "-32769", "'-32769': expected an integer -32768..32767"},
        {"hr0:u32", "4294967296", "'4294967296': expected an integer 0..4294967295"},
        {"hr0:i32", "2147483648", "'2147483648': expected an integer -2147483648..2147483647"},
        {"hr0:u64", "18446744073709551616",
         "'18446744073709551616': expected an integer "
         "0..18446744073709551615"},
        {"hr0:i64", "9223372036854775808",
         "'9223372036854775808': expected a signed 64-bit "
         "integer"},
        {"hr0:i64", "-9223372036854775809",
         "'-9223372036854775809': expected a signed 64-bit "
         "integer"},
        {"hr0:f32", "1e39", "'1e39': expected a finite 32-bit floating-point number"},
        {"hr0:f32", "nan", "'nan': expected a finite 32-bit floating-point number"},
        {"hr0:f32", "inf", "'inf': expected a finite 32-bit floating-point number"},
        {"hr0:f32", "1.5x", "'1.5x': expected a finite 32-bit floating-point number"},
        {"hr0:f64", "1e309", "'1e309': expected a finite floating-point number"},
        {"hr0:f64", "0x1p3", "'0x1p3': expected a finite floating-point number"},
        {"hr0:f64", "", "'': expected a finite floating-point number"},
        {"hr0/3", "2", "'2': expected 0 or 1"},
        {"co0", "-1", "'-1': expected 0 or 1"},
        {"hr0:str3", "ABCD", "'ABCD': 4 bytes, the field holds 3"},
    };
    pl_modbus_addr_t a;
    pl_status_t st;
    uint8_t data[16];
    uint8_t keep[16];
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(x); i++) {
        print_message("value: %s := '%s'\n", x[i].addr, x[i].text);
        assert_int_equal(pl_modbus_addr_parse(&a, x[i].addr, 0, NULL), 0);
        memset(data, 0x5A, sizeof(data));
        memcpy(keep, data, sizeof(data));
        assert_int_equal(pl_modbus_value_put(&a, data, sizeof(data), 0, PL_MODBUS_ABCD, x[i].text,
                                             strlen(x[i].text), &st),
                         PL_EVALUE);
        assert_string_equal(st.detail, x[i].detail);
        assert_memory_equal(data, keep, sizeof(data)); /* nothing written */
    }
    /* element outside the data */
    assert_int_equal(pl_modbus_addr_parse(&a, "hr0:u32,2", 0, NULL), 0);
    assert_int_equal(pl_modbus_value_put(&a, data, 7, 1, PL_MODBUS_ABCD, "1", 1, &st), PL_ERANGE);
    assert_int_equal(pl_modbus_value_put(&a, data, 8, 1, PL_MODBUS_ABCD, "1", 1, &st), 0);
    assert_int_equal(pl_modbus_value_put(&a, NULL, 8, 0, PL_MODBUS_ABCD, "1", 1, &st), PL_ERANGE);
}

/* Bit writes change only their bit. */
static void test_bit_put_keeps_others(void **state)
{
    pl_modbus_addr_t a;
    uint8_t data[4];

    (void)state;
    assert_int_equal(pl_modbus_addr_parse(&a, "hr0/4,16", 0, NULL), 0);
    memset(data, 0xFF, sizeof(data));
    assert_int_equal(pl_modbus_value_put(&a, data, 4, 0, PL_MODBUS_ABCD, "0", 1, NULL), 0);
    assert_int_equal(pl_modbus_value_put(&a, data, 4, 15, PL_MODBUS_ABCD, "0", 1, NULL), 0);
    assert_int_equal(data[0], 0xFF);
    assert_int_equal(data[1], 0xEF); /* hr0 bit 4 */
    assert_int_equal(data[2], 0xFF);
    assert_int_equal(data[3], 0xF7); /* hr1 bit 3 = bit 4 + 15 */
    assert_int_equal(pl_modbus_value_put(&a, data, 2, 15, PL_MODBUS_ABCD, "0", 1, NULL), PL_ERANGE);
}

static void test_value_format(void **state)
{
    pl_modbus_value_t v;
    char buf[32];
    size_t cap;

    (void)state;
    memset(&v, 0, sizeof(v));
    v.type = PL_MODBUS_T_I64;
    v.v.i = INT64_MIN;
    assert_int_equal(pl_modbus_value_format(&v, buf, sizeof(buf)), 20);
    assert_string_equal(buf, "-9223372036854775808");
    for (cap = 0; cap <= 20; cap++)
        assert_int_equal(pl_modbus_value_format(&v, buf, cap), PL_ENOBUFS);
    v.type = PL_MODBUS_T_F64;
    v.v.f64 = 0.1;
    assert_int_equal(pl_modbus_value_format(&v, buf, sizeof(buf)), 19);
    assert_string_equal(buf, "0.10000000000000001");
    v.type = PL_MODBUS_T_STR;
    memcpy(v.s, "abc", 4);
    v.s_len = 3;
    assert_int_equal(pl_modbus_value_format(&v, buf, sizeof(buf)), 3);
    assert_string_equal(buf, "abc");
    assert_int_equal(pl_modbus_value_format(&v, buf, 3), PL_ENOBUFS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_format_nobufs),
        cmocka_unit_test(test_planning),
        cmocka_unit_test(test_orders),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_values_from_spec),
        cmocka_unit_test(test_value_errors),
        cmocka_unit_test(test_bit_put_keeps_others),
        cmocka_unit_test(test_value_format),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
