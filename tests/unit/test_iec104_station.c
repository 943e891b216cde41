/* SPDX-License-Identifier: MIT */
/*
 * The controlled station's logic without sockets: a controlling station's byte stream
 * (STARTDT, a general interrogation, a select and an execute, a read, TESTFR, an
 * acknowledgement, STOPDT) cut into frames by the simulators' framing (pl_simconn_rx_feed)
 * must give byte for byte the same answers whether it arrives whole, one byte at a time or
 * split in two at every offset; and the answers are the ones expected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "plcline/error.h"
#include "proto/iec104/codec/apci.h"
#include "proto/iec104/codec/asdu.h"
#include "proto/iec104/station.h"
#include "proto/simconn.h"

#define OUT_CAP 8192

typedef struct {
    uint8_t out[OUT_CAP];
    size_t out_len;
    int closed;
    pl_iec104_station_t *st;
    pl_iec104_sconn_t *c;
    uint8_t rxbuf[PL_IEC104_MAX_APDU];
    pl_simconn_rx_t rx;
} run_t;

static void io_send(void *ud, const uint8_t *buf, size_t len)
{
    run_t *r = ud;

    assert_true(r->out_len + len <= sizeof(r->out));
    memcpy(r->out + r->out_len, buf, len);
    r->out_len += len;
}

static void io_close(void *ud, const pl_status_t *why)
{
    run_t *r = ud;

    (void)why;
    r->closed = 1;
}

static int64_t io_wall(void *ud)
{
    (void)ud;
    return 1800000000000LL;
}

static int frame(const uint8_t *buf, size_t len, void *ud)
{
    (void)ud;
    return pl_iec104_frame(buf, len, NULL);
}

static int deliver(void *ctx, const uint8_t *f, size_t len)
{
    run_t *r = ctx;

    return pl_iec104_station_input(r->st, r->c, f, len, 1000);
}

static void run_open(run_t *r)
{
    static const pl_iec104_station_io_t io = {io_send, io_close, io_wall, NULL};
    pl_iec104_server_config_t cfg;

    memset(r, 0, sizeof(*r));
    pl_iec104_server_config_init(&cfg);
    cfg.points = "M_ME_NC_1:1-60 M_SP_NA_1:100-102 C_SC_NA_1:500";
    cfg.require_select = 1;
    assert_int_equal(pl_iec104_station_new(&cfg, &io, &r->st, NULL), 0);
    assert_int_equal(pl_iec104_station_open(r->st, "127.0.0.1:1", r, 1000, &r->c), 0);
    r->rx.buf = r->rxbuf;
    r->rx.cap = sizeof(r->rxbuf);
}

static void run_feed(run_t *r, const uint8_t *p, size_t n)
{
    assert_int_equal(pl_simconn_rx_feed(&r->rx, p, n, frame, NULL, deliver, r), 0);
}

static void run_close(run_t *r)
{
    assert_false(r->closed);
    pl_iec104_station_gone(r->st, r->c);
    pl_iec104_station_free(r->st);
}

static size_t put_i(uint8_t *b, uint16_t ns, uint16_t nr, const uint8_t *asdu, size_t len)
{
    int n = pl_iec104_encode_i(b, PL_IEC104_MAX_APDU, ns, nr, asdu, len);

    assert_true(n > 0);
    return (size_t)n;
}

/* The controlling station's stream. */
static size_t session(uint8_t *b)
{
    static const uint8_t gi[] = {100, 1, 6, 0, 1, 0, 0, 0, 0, 20};
    static const uint8_t sel[] = {45, 1, 6, 0, 1, 0, 0xF4, 1, 0, 0x81};
    static const uint8_t exe[] = {45, 1, 6, 0, 1, 0, 0xF4, 1, 0, 0x01};
    static const uint8_t rd[] = {102, 1, 5, 0, 1, 0, 101, 0, 0};
    size_t n = 0;

    n += (size_t)pl_iec104_encode_u(b + n, 6, PL_IEC104_U_STARTDT_ACT);
    n += put_i(b + n, 0, 0, gi, sizeof(gi));
    n += put_i(b + n, 1, 0, sel, sizeof(sel));
    n += put_i(b + n, 2, 0, exe, sizeof(exe));
    n += put_i(b + n, 3, 0, rd, sizeof(rd));
    n += (size_t)pl_iec104_encode_u(b + n, 6, PL_IEC104_U_TESTFR_ACT);
    n += (size_t)pl_iec104_encode_s(b + n, 6, 9); /* everything the station sent */
    n += (size_t)pl_iec104_encode_u(b + n, 6, PL_IEC104_U_STOPDT_ACT);
    return n;
}

static void test_answers(void **state)
{
    pl_iec104_params_t p = PL_IEC104_PARAMS_DEFAULT;
    static const struct {
        uint8_t kind, func, type, cause, pn;
    } want[] = {
        {PL_IEC104_FRAME_U, PL_IEC104_U_STARTDT_CON, 0, 0, 0},
        {PL_IEC104_FRAME_I, 0, PL_IEC104_C_IC_NA_1, PL_IEC104_COT_ACTCON, 0},
        {PL_IEC104_FRAME_I, 0, PL_IEC104_M_ME_NC_1, PL_IEC104_COT_INROGEN, 0}, /* 1..48 */
        {PL_IEC104_FRAME_I, 0, PL_IEC104_M_ME_NC_1, PL_IEC104_COT_INROGEN, 0}, /* 49..60 */
        {PL_IEC104_FRAME_I, 0, PL_IEC104_M_SP_NA_1, PL_IEC104_COT_INROGEN, 0},
        {PL_IEC104_FRAME_I, 0, PL_IEC104_C_IC_NA_1, PL_IEC104_COT_ACTTERM, 0},
        {PL_IEC104_FRAME_I, 0, PL_IEC104_C_SC_NA_1, PL_IEC104_COT_ACTCON, 0}, /* select */
        {PL_IEC104_FRAME_I, 0, PL_IEC104_C_SC_NA_1, PL_IEC104_COT_ACTCON, 0}, /* execute */
        {PL_IEC104_FRAME_I, 0, PL_IEC104_C_SC_NA_1, PL_IEC104_COT_ACTTERM, 0},
        {PL_IEC104_FRAME_I, 0, PL_IEC104_M_SP_NA_1, PL_IEC104_COT_REQ, 0},
        {PL_IEC104_FRAME_U, PL_IEC104_U_TESTFR_CON, 0, 0, 0},
        {PL_IEC104_FRAME_U, PL_IEC104_U_STOPDT_CON, 0, 0, 0},
    };
    uint8_t in[512];
    size_t n = session(in), off = 0, i;
    run_t *r = test_malloc(sizeof(*r));

    (void)state;
    run_open(r);
    run_feed(r, in, n);
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        pl_iec104_apdu_t a;
        pl_iec104_asdu_t asdu;
        int len = pl_iec104_frame(r->out + off, r->out_len - off, NULL);

        assert_true(len > 0);
        assert_int_equal(pl_iec104_decode(r->out + off, (size_t)len, &a), 0);
        assert_int_equal(a.kind, want[i].kind);
        if (a.kind == PL_IEC104_FRAME_U)
            assert_int_equal(a.func, want[i].func);
        else {
            assert_int_equal(pl_iec104_asdu_decode(a.asdu, a.asdu_len, &p, &asdu), 0);
            assert_int_equal(asdu.type, want[i].type);
            assert_int_equal(asdu.cause, want[i].cause);
            assert_int_equal(asdu.pn, want[i].pn);
        }
        off += (size_t)len;
    }
    assert_int_equal(off, r->out_len); /* and nothing else */
    run_close(r);
    test_free(r);
}

static void test_split_anywhere(void **state)
{
    uint8_t in[512];
    size_t n = session(in), k, i;
    run_t *whole = test_malloc(sizeof(*whole)), *r = test_malloc(sizeof(*r));

    (void)state;
    run_open(whole);
    run_feed(whole, in, n);
    for (k = 0; k <= n; k++) { /* two parts, split at k */
        run_open(r);
        run_feed(r, in, k);
        run_feed(r, in + k, n - k);
        assert_int_equal(r->out_len, whole->out_len);
        assert_memory_equal(r->out, whole->out, whole->out_len);
        run_close(r);
    }
    run_open(r); /* one byte at a time */
    for (i = 0; i < n; i++)
        run_feed(r, in + i, 1);
    assert_int_equal(r->out_len, whole->out_len);
    assert_memory_equal(r->out, whole->out, whole->out_len);
    run_close(r);
    run_close(whole);
    test_free(r);
    test_free(whole);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers),
        cmocka_unit_test(test_split_anywhere),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
