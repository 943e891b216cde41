/* SPDX-License-Identifier: MIT */
/*
 * Tags served by the Modbus server for the daemon (src/proto/modbus/expose.c): values set
 * through pl_modbus_expose_set are what a client reads (registers, floats in the server's
 * byte order, strings, coils, a bit of a register that keeps its neighbours); a write of a
 * writable point reaches the callback decoded, once per point, and a write touching a point
 * that is not writable is refused with exception 02 and changes nothing; a bad value is
 * held, or answered with the configured exception; the checks of a point list (address,
 * count, unit, writable table, overlaps) name the point at fault; a new list replaces the
 * old one and an empty list removes the hooks. Requests go through the server's own
 * request handling (pl_modbus_server_serve_adu), as a connection's would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "plcline/error.h"
#include "plcline/modbus.h"
#include "proto/modbus/codec/modbus.h"
#include "proto/modbus/expose.h"
#include "proto/modbus/server.h"

typedef struct {
    size_t n;
    size_t point[8];
    pl_value_t v[8];
} writes_t;

static uv_loop_t loop;
static pl_modbus_server_t *srv;
static pl_modbus_expose_t *xp;
static writes_t W;

static void on_write(void *ud, size_t i, const pl_value_t *v)
{
    writes_t *w = ud;

    if (w->n < 8) {
        w->point[w->n] = i;
        w->v[w->n] = *v;
    }
    w->n++;
}

static int setup(void **state)
{
    pl_modbus_server_config_t cfg;
    static const uint8_t units[] = {1, 2};
    pl_status_t st;

    (void)state;
    uv_loop_init(&loop);
    pl_modbus_server_config_init(&cfg);
    cfg.listen.port = 0;
    cfg.units = units;
    cfg.n_units = 2;
    pl_status_clear(&st);
    assert_int_equal(pl_modbus_server_new(&loop, &cfg, &srv, &st), 0);
    memset(&W, 0, sizeof(W));
    xp = NULL;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pl_modbus_expose_free(xp);
    xp = NULL;
    assert_int_equal(pl_modbus_server_free(srv), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    return 0;
}

static int expose(const char *keys, const pl_sim_point_t *pts, size_t n, size_t *bad,
                  pl_status_t *st)
{
    pl_status_clear(st);
    *bad = (size_t)-1;
    return pl_modbus_expose(srv, keys, pts, n, on_write, &W, &xp, bad, st);
}

/* One request PDU to `unit`; the answer's PDU into ans (its length returned). */
static size_t ask(uint8_t unit, const uint8_t *pdu, size_t len, uint8_t *ans)
{
    static uint16_t tid = 1;
    uint8_t req[PL_MODBUS_MAX_ADU], out[PL_MODBUS_MAX_ADU];
    pl_modbus_adu_t a;
    int n;

    req[0] = (uint8_t)(tid >> 8);
    req[1] = (uint8_t)tid;
    req[2] = req[3] = 0;
    req[4] = (uint8_t)((len + 1u) >> 8);
    req[5] = (uint8_t)(len + 1u);
    req[6] = unit;
    memcpy(req + 7, pdu, len);
    tid++;
    n = pl_modbus_server_serve_adu(srv, req, 7u + len, out, sizeof(out));
    assert_true(n > 0);
    assert_int_equal(pl_modbus_adu_decode(out, (size_t)n, &a, NULL), 0);
    memcpy(ans, a.pdu, a.pdu_len);
    return a.pdu_len;
}

/* FC 3 of `count` registers at `addr`: the registers into regs, or the exception (0: none). */
static uint8_t read_regs(uint8_t unit, uint8_t fc, uint16_t addr, uint16_t count, uint16_t *regs)
{
    uint8_t pdu[5] = {fc, (uint8_t)(addr >> 8), (uint8_t)addr, (uint8_t)(count >> 8),
                      (uint8_t)count};
    uint8_t ans[260];
    size_t n = ask(unit, pdu, sizeof(pdu), ans), i;

    if (ans[0] & 0x80u)
        return ans[1];
    assert_int_equal(n, 2u + 2u * count);
    for (i = 0; i < count; i++)
        regs[i] = (uint16_t)(ans[2 + 2 * i] << 8 | ans[3 + 2 * i]);
    return 0;
}

static uint8_t write_regs(uint8_t unit, uint16_t addr, const uint16_t *regs, uint16_t count)
{
    uint8_t pdu[260] = {0x10, (uint8_t)(addr >> 8), (uint8_t)addr,
                        0,    (uint8_t)count,       (uint8_t)(2u * count)};
    uint8_t ans[260];
    size_t i;

    for (i = 0; i < count; i++) {
        pdu[6 + 2 * i] = (uint8_t)(regs[i] >> 8);
        pdu[7 + 2 * i] = (uint8_t)regs[i];
    }
    (void)ask(unit, pdu, 6u + 2u * count, ans);
    return (ans[0] & 0x80u) ? ans[1] : 0;
}

static pl_value_t ival(int64_t i)
{
    pl_value_t v;

    memset(&v, 0, sizeof(v));
    v.type = PL_VT_INT;
    v.i = i;
    return v;
}

static pl_value_t fval(double f)
{
    pl_value_t v;

    memset(&v, 0, sizeof(v));
    v.type = PL_VT_FLOAT;
    v.f = f;
    return v;
}

static void set_ok(size_t i, pl_value_t v)
{
    pl_status_t st;

    pl_status_clear(&st);
    assert_int_equal(pl_modbus_expose_set(xp, i, &v, PL_Q_GOOD, &st), 0);
}

static void test_values_served(void **state)
{
    static const pl_sim_point_t pts[] = {
        {"hr0", -1, 0},       {"hr10:f32", -1, 0}, {"ir5:i16", 2, 0},
        {"hr30:str6", -1, 0}, {"co7", -1, 0},      {"hr40/3", -1, 0},
    };
    uint16_t r[4];
    pl_value_t s;
    size_t bad;
    pl_status_t st;

    (void)state;
    assert_int_equal(expose("units=1,2&byte_order=CDAB", pts, 6, &bad, &st), 0);
    set_ok(0, ival(4242));
    set_ok(1, fval(1.5)); /* 0x3FC00000, CDAB: low word first */
    set_ok(2, ival(-2));
    memset(&s, 0, sizeof(s));
    s.type = PL_VT_STRING;
    strcpy(s.s, "ABC");
    set_ok(3, s);
    set_ok(4, ival(1));
    assert_int_equal(
        pl_modbus_server_set(srv, 1, PL_MODBUS_TABLE_HOLDING, 40, (uint16_t[]){0x8001}, 1), 0);
    set_ok(5, ival(1));

    assert_int_equal(read_regs(1, 3, 0, 1, r), 0);
    assert_int_equal(r[0], 4242);
    assert_int_equal(read_regs(1, 3, 10, 2, r), 0);
    assert_int_equal(r[0], 0x0000);
    assert_int_equal(r[1], 0x3FC0);
    assert_int_equal(read_regs(2, 4, 5, 1, r), 0);
    assert_int_equal(r[0], 0xFFFE);
    assert_int_equal(read_regs(1, 4, 5, 1, r), 0); /* unit 1's ir5 is not the point */
    assert_int_equal(r[0], 0);
    assert_int_equal(read_regs(1, 3, 30, 3, r), 0); /* CDAB keeps the bytes of a register */
    assert_int_equal(r[0], 0x4142);
    assert_int_equal(r[1], 0x4300);
    assert_int_equal(r[2], 0);
    assert_int_equal(read_regs(1, 3, 40, 1, r), 0); /* bit 3 set, bits 0 and 15 kept */
    assert_int_equal(r[0], 0x8009);
    {
        uint16_t bit = 0;

        assert_int_equal(pl_modbus_server_get(srv, 1, PL_MODBUS_TABLE_COILS, 7, &bit, 1), 0);
        assert_int_equal(bit, 1);
    }
    /* a value that does not fit: an error, and the last value stays */
    pl_status_clear(&st);
    {
        pl_value_t big = ival(-1);

        assert_int_equal(pl_modbus_expose_set(xp, 0, &big, PL_Q_GOOD, &st), PL_EVALUE);
    }
    assert_int_equal(read_regs(1, 3, 0, 1, r), 0);
    assert_int_equal(r[0], 4242);
    assert_int_equal(pl_modbus_expose_set(xp, 6, &s, PL_Q_GOOD, &st), PL_EINVAL);
}

static void test_writes(void **state)
{
    static const pl_sim_point_t pts[] = {
        {"hr0", -1, 0},
        {"hr1:f32", -1, 1},
        {"hr3", -1, 1},
    };
    uint16_t r[4], w[4];
    size_t bad;
    pl_status_t st;

    (void)state;
    assert_int_equal(expose("units=1,2", pts, 3, &bad, &st), 0);
    set_ok(0, ival(7));
    /* hr0 is not writable: a write touching it is refused and changes nothing */
    w[0] = 99;
    w[1] = 0x4049;
    assert_int_equal(write_regs(1, 0, w, 2), PL_MODBUS_EX_ILLEGAL_DATA_ADDRESS);
    assert_int_equal(read_regs(1, 3, 0, 2, r), 0);
    assert_int_equal(r[0], 7);
    assert_int_equal(r[1], 0);
    assert_int_equal(W.n, 0);
    /* one request writing two writable points: each reaches the callback once, decoded */
    w[0] = 0x4049; /* 3.140625 as f32 ABCD: 0x40490000 */
    w[1] = 0x0000;
    w[2] = 12;
    assert_int_equal(write_regs(1, 1, w, 3), 0);
    assert_int_equal(W.n, 2);
    assert_int_equal(W.point[0], 1);
    assert_int_equal(W.v[0].type, PL_VT_FLOAT);
    assert_true(W.v[0].f == 3.140625);
    assert_int_equal(W.point[1], 2);
    assert_int_equal(W.v[1].type, PL_VT_INT);
    assert_int_equal(W.v[1].i, 12);
    /* the other unit's registers are not points: written freely, no callback */
    assert_int_equal(write_regs(2, 0, w, 1), 0);
    assert_int_equal(W.n, 2);
    /* registers beside the points: no callback */
    assert_int_equal(write_regs(1, 100, w, 1), 0);
    assert_int_equal(W.n, 2);
}

static void test_bad_quality(void **state)
{
    static const pl_sim_point_t pts[] = {{"hr0", -1, 0}, {"hr1", -1, 0}};
    pl_value_t none;
    uint16_t r[2];
    size_t bad;
    pl_status_t st;

    (void)state;
    memset(&none, 0, sizeof(none));
    /* held: the last value stays */
    assert_int_equal(expose("units=1", pts, 2, &bad, &st), 0);
    set_ok(0, ival(5));
    assert_int_equal(pl_modbus_expose_set(xp, 0, &none, PL_Q_BAD, &st), 0);
    assert_int_equal(read_regs(1, 3, 0, 1, r), 0);
    assert_int_equal(r[0], 5);
    /* with bad_exception 11: reads touching it get 0x0B until a good value comes */
    assert_int_equal(expose("units=1&bad_exception=11", pts, 2, &bad, &st), 0);
    set_ok(0, ival(5));
    assert_int_equal(pl_modbus_expose_set(xp, 0, &none, PL_Q_BAD, &st), 0);
    assert_int_equal(read_regs(1, 3, 0, 2, r), 0x0B);
    assert_int_equal(read_regs(1, 3, 1, 1, r), 0); /* the other point is fine */
    set_ok(0, ival(6));
    assert_int_equal(read_regs(1, 3, 0, 2, r), 0);
    assert_int_equal(r[0], 6);
}

static void expect_refused(const char *keys, const pl_sim_point_t *pts, size_t n, int code,
                           size_t at, const char *words)
{
    pl_status_t st;
    size_t bad;

    assert_int_equal(expose(keys, pts, n, &bad, &st), code);
    assert_int_equal(bad, at);
    if (strstr(st.detail, words) == NULL)
        fail_msg("'%s' does not say '%s'", st.detail, words);
    assert_null(xp); /* nothing served */
}

static void test_checks(void **state)
{
    static const pl_sim_point_t typo[] = {{"hr0", -1, 0}, {"hx1", -1, 0}};
    static const pl_sim_point_t count[] = {{"hr0,4", -1, 0}};
    static const pl_sim_point_t unit[] = {{"hr0", 3, 0}};
    static const pl_sim_point_t ro[] = {{"ir0", -1, 1}};
    static const pl_sim_point_t overlap[] = {{"hr9", -1, 0}, {"hr0:f64", -1, 0}, {"hr3", -1, 0}};
    static const pl_sim_point_t fine[] = {{"hr0", 2, 0}, {"ir0", -1, 0}, {"co0", -1, 1}};
    pl_status_t st;
    size_t bad;

    (void)state;
    expect_refused("units=1,2", typo, 2, PL_EADDR, 1, "hx1");
    expect_refused("units=1,2", count, 1, PL_EADDR, 0, "one element");
    expect_refused("units=1,2", unit, 1, PL_ECONFIG, 0, "unit 3 is not served");
    expect_refused("units=1,2", ro, 1, PL_ECONFIG, 0, "read-only");
    expect_refused("units=1,2", overlap, 3, PL_ECONFIG, 2, "overlaps");
    /* the same point in two units, or in two tables, does not overlap */
    pl_status_clear(&st);
    assert_int_equal(pl_modbus_expose(NULL, "units=1,2", fine, 3, on_write, &W, NULL, &bad, &st),
                     0);
}

static void test_replace_and_remove(void **state)
{
    static const pl_sim_point_t a[] = {{"hr0", -1, 0}};
    static const pl_sim_point_t b[] = {{"hr5", -1, 1}};
    uint16_t w = 1;
    size_t bad;
    pl_status_t st;

    (void)state;
    assert_int_equal(expose("units=1", a, 1, &bad, &st), 0);
    assert_int_equal(write_regs(1, 0, &w, 1), PL_MODBUS_EX_ILLEGAL_DATA_ADDRESS);
    assert_int_equal(expose("units=1", b, 1, &bad, &st), 0); /* replaces a */
    assert_int_equal(write_regs(1, 0, &w, 1), 0);
    assert_int_equal(write_regs(1, 5, &w, 1), 0);
    assert_int_equal(W.n, 1);
    assert_int_equal(expose("units=1", NULL, 0, &bad, &st), 0); /* none: no check, no callback */
    assert_int_equal(write_regs(1, 5, &w, 1), 0);
    assert_int_equal(W.n, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_values_served, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_quality, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_and_remove, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
