/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the Modbus TCP codec (src/proto/modbus/codec/modbus.c).
 *
 * Golden vectors are the worked examples of the Modbus Application Protocol Specification
 * V1.1b3 (one request and its response for each function code, and the exception example
 * of section 7), wrapped in an MBAP header. Every vector, and a stream of all of them, is
 * replayed whole, one byte at a time and split at every offset, and must give the same
 * ADUs and decodes; each decode is encoded again and must give the same bytes. Every
 * validation error is checked, framing errors at the exact byte that proves them.
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

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define STREAM_MAX   4096u
#define EVENTS_MAX   64u

/* ---------------------------------------------------------------- golden vectors */

typedef struct {
    const char *name;
    int response;    /* 0 request, 1 response */
    const char *hex; /* the whole ADU */
    uint16_t tid;
    uint8_t unit;
    uint8_t function; /* without the exception bit */
    uint8_t exception;
    uint16_t addr;
    uint16_t count;
    uint16_t value;
    uint16_t and_mask;
    uint16_t or_mask;
    uint16_t waddr;
    uint16_t wcount;
    const char *data; /* hex of the data view (or of the device ID objects); NULL: none */
} golden_t;

/* Spec V1.1b3 examples, section in the name. MBAP: tid 0x0001.., protocol 0, unit 0x11. */
static const golden_t golden[] = {
    {"6.1 read coils 20-38, request", 0, "0001 0000 0006 11 01 0013 0013", 1, 0x11, 0x01, 0, 0x13,
     0x13, 0, 0, 0, 0, 0, NULL},
    {"6.1 read coils, response", 1, "0001 0000 0006 11 01 03 cd6b05", 1, 0x11, 0x01, 0, 0, 0, 0, 0,
     0, 0, 0, "cd6b05"},
    {"6.2 read discrete inputs 197-218, request", 0, "0002 0000 0006 11 02 00c4 0016", 2, 0x11,
     0x02, 0, 0xC4, 0x16, 0, 0, 0, 0, 0, NULL},
    {"6.2 read discrete inputs, response", 1, "0002 0000 0006 11 02 03 acdb35", 2, 0x11, 0x02, 0, 0,
     0, 0, 0, 0, 0, 0, "acdb35"},
    {"6.3 read holding registers 108-110, request", 0, "0003 0000 0006 11 03 006b 0003", 3, 0x11,
     0x03, 0, 0x6B, 3, 0, 0, 0, 0, 0, NULL},
    {"6.3 read holding registers, response", 1, "0003 0000 0009 11 03 06 022b 0000 0064", 3, 0x11,
     0x03, 0, 0, 0, 0, 0, 0, 0, 0, "022b00000064"},
    {"6.4 read input register 9, request", 0, "0004 0000 0006 11 04 0008 0001", 4, 0x11, 0x04, 0, 8,
     1, 0, 0, 0, 0, 0, NULL},
    {"6.4 read input register, response", 1, "0004 0000 0005 11 04 02 000a", 4, 0x11, 0x04, 0, 0, 0,
     0, 0, 0, 0, 0, "000a"},
    {"6.5 write single coil 173 ON, request", 0, "0005 0000 0006 11 05 00ac ff00", 5, 0x11, 0x05, 0,
     0xAC, 0, 0xFF00, 0, 0, 0, 0, NULL},
    {"6.5 write single coil, response", 1, "0005 0000 0006 11 05 00ac ff00", 5, 0x11, 0x05, 0, 0xAC,
     0, 0xFF00, 0, 0, 0, 0, NULL},
    {"6.6 write single register 2 := 3, request", 0, "0006 0000 0006 11 06 0001 0003", 6, 0x11,
     0x06, 0, 1, 0, 3, 0, 0, 0, 0, NULL},
    {"6.6 write single register, response", 1, "0006 0000 0006 11 06 0001 0003", 6, 0x11, 0x06, 0,
     1, 0, 3, 0, 0, 0, 0, NULL},
    {"6.11 write 10 coils from 20, request", 0, "0007 0000 0009 11 0f 0013 000a 02 cd01", 7, 0x11,
     0x0F, 0, 0x13, 10, 0, 0, 0, 0, 0, "cd01"},
    {"6.11 write multiple coils, response", 1, "0007 0000 0006 11 0f 0013 000a", 7, 0x11, 0x0F, 0,
     0x13, 10, 0, 0, 0, 0, 0, NULL},
    {"6.12 write registers 2-3 := 0x000a 0x0102, request", 0,
     "0008 0000 000b 11 10 0001 0002 04 000a 0102", 8, 0x11, 0x10, 0, 1, 2, 0, 0, 0, 0, 0,
     "000a0102"},
    {"6.12 write multiple registers, response", 1, "0008 0000 0006 11 10 0001 0002", 8, 0x11, 0x10,
     0, 1, 2, 0, 0, 0, 0, 0, NULL},
    {"6.16 mask write register 4, request", 0, "0009 0000 0008 11 16 0004 00f2 0025", 9, 0x11, 0x16,
     0, 4, 0, 0, 0xF2, 0x25, 0, 0, NULL},
    {"6.16 mask write register, response", 1, "0009 0000 0008 11 16 0004 00f2 0025", 9, 0x11, 0x16,
     0, 4, 0, 0, 0xF2, 0x25, 0, 0, NULL},
    {"6.17 read 6 from 4, write 3 at 15, request", 0,
     "000a 0000 0011 11 17 0003 0006 000e 0003 06 00ff 00ff 00ff", 10, 0x11, 0x17, 0, 3, 6, 0, 0, 0,
     0x0E, 3, "00ff00ff00ff"},
    {"6.17 read/write multiple registers, response", 1,
     "000a 0000 000f 11 17 0c 00fe 0acd 0001 0003 000d 00ff", 10, 0x11, 0x17, 0, 0, 0, 0, 0, 0, 0,
     0, "00fe0acd00010003000d00ff"},
    {"6.21 read device identification, basic, request", 0, "000b 0000 0005 11 2b 0e 01 00", 11,
     0x11, 0x2B, 0, 0, 0, 0, 0, 0, 0, 0, NULL},
    {"6.21 read device identification, response", 1,
     "000b 0000 0038 11 2b 0e 01 01 00 00 03"
     " 00 16 436f6d70616e79206964656e74696669636174696f6e" /* "Company identification" */
     " 01 0f 50726f6475637420636f6465205858"               /* "Product code XX" */
     " 02 05 56322e3131",                                  /* "V2.11" */
     11, 0x11, 0x2B, 0, 0, 0, 0, 0, 0, 0, 0,
     "0016436f6d70616e79206964656e74696669636174696f6e010f50726f6475637420636f6465205858020556322e"
     "3131"},
    {"7 read coils 1185, request", 0, "000c 0000 0006 0a 01 04a1 0001", 12, 0x0A, 0x01, 0, 0x4A1, 1,
     0, 0, 0, 0, 0, NULL},
    {"7 exception: illegal data address", 1, "000c 0000 0003 0a 81 02", 12, 0x0A, 0x01, 2, 0, 0, 0,
     0, 0, 0, 0, NULL},
    {"gateway target failed, unit 255, tid 0xffff", 1, "ffff 0000 0003 ff 83 0b", 0xFFFF, 0xFF,
     0x03, 0x0B, 0, 0, 0, 0, 0, 0, 0, NULL},
    {"write single coil OFF, unit 0", 0, "fffe 0000 0006 00 05 ffff 0000", 0xFFFE, 0, 0x05, 0,
     0xFFFF, 0, 0, 0, 0, 0, 0, NULL},
};

typedef struct {
    int rc;      /* framing error, or the first decode error */
    size_t at;   /* stream offset */
    size_t size; /* ADU length; 0 on a framing error */
    pl_modbus_adu_t adu;
    pl_modbus_req_t req;
    pl_modbus_rsp_t rsp;
    uint8_t raw[PL_MODBUS_MAX_ADU]; /* a copy of the ADU: views point into rx */
} event_t;

typedef struct {
    event_t ev[EVENTS_MAX];
    size_t n;
    int broken;
    size_t pending;
} trace_t;

static void check_data(const char *hex, const uint8_t *p, size_t n)
{
    uint8_t want[PL_MODBUS_MAX_ADU];
    size_t wn;

    if (hex == NULL) {
        assert_int_equal(n, 0);
        assert_null(p);
        return;
    }
    wn = pl_test_hex(hex, want, sizeof(want));
    assert_int_equal(n, wn);
    assert_non_null(p);
    assert_memory_equal(p, want, wn);
}

static void check_req(const golden_t *g, const pl_modbus_req_t *r)
{
    assert_int_equal(r->function, g->function);
    assert_int_equal(r->addr, g->addr);
    assert_int_equal(r->count, g->count);
    assert_int_equal(r->value, g->value);
    assert_int_equal(r->and_mask, g->and_mask);
    assert_int_equal(r->or_mask, g->or_mask);
    assert_int_equal(r->waddr, g->waddr);
    assert_int_equal(r->wcount, g->wcount);
    check_data(g->data, r->data, r->data_len);
}

static void check_rsp(const golden_t *g, const pl_modbus_rsp_t *r)
{
    assert_int_equal(r->function, g->function);
    assert_int_equal(r->exception, g->exception);
    assert_int_equal(r->addr, g->addr);
    assert_int_equal(r->count, g->count);
    assert_int_equal(r->value, g->value);
    assert_int_equal(r->and_mask, g->and_mask);
    assert_int_equal(r->or_mask, g->or_mask);
    if (g->function == PL_MODBUS_FC_MEI)
        check_data(g->data, r->objects, r->objects_len);
    else
        check_data(g->data, r->data, r->data_len);
}

/* Decodes one framed ADU as a request or response into `e`. */
static void decode_event(const uint8_t *b, size_t n, int response, event_t *e)
{
    e->rc = pl_modbus_adu_decode(b, n, &e->adu, NULL);
    if (e->rc != 0)
        return;
    if (response)
        e->rc = pl_modbus_rsp_decode(e->adu.pdu, e->adu.pdu_len, &e->rsp, NULL);
    else
        e->rc = pl_modbus_req_decode(e->adu.pdu, e->adu.pdu_len, &e->req, NULL);
}

/* ---------------------------------------------------------------- stream replay */

/* Feeds s[0..n) in pieces ending at cuts[] and then n, framing and decoding after each
 * piece like a session: a decode error skips the ADU, a framing error ends the stream.
 * `response` says how to decode the PDUs; per_adu[] (when not NULL) overrides it. */
static void replay(const uint8_t *s, size_t n, const int *per_adu, int response, const size_t *cuts,
                   size_t ncuts, trace_t *t)
{
    static uint8_t rx[STREAM_MAX];
    size_t have = 0;
    size_t fed = 0;
    size_t consumed = 0;
    size_t ci = 0;
    size_t next;
    size_t need;
    int r;
    event_t *e;

    assert_true(n <= STREAM_MAX);
    memset(t, 0, sizeof(*t));
    while (fed < n) {
        next = ci < ncuts ? cuts[ci++] : n;
        if (next > n)
            next = n;
        if (next <= fed)
            continue;
        memcpy(rx + have, s + fed, next - fed);
        have += next - fed;
        fed = next;
        for (;;) {
            need = 0;
            r = pl_modbus_frame(rx, have, &need);
            if (r == PL_EAGAIN) {
                assert_true(need > have);
                assert_true(need >= PL_MODBUS_MIN_ADU && need <= PL_MODBUS_MAX_ADU);
                break;
            }
            assert_true(t->n < EVENTS_MAX);
            e = &t->ev[t->n];
            e->at = consumed;
            if (r < 0) {
                e->rc = r;
                t->n++;
                t->broken = 1;
                return;
            }
            assert_int_equal(need, (size_t)r);
            e->size = (size_t)r;
            memcpy(e->raw, rx, e->size);
            decode_event(e->raw, e->size, per_adu != NULL ? per_adu[t->n] : response, e);
            t->n++;
            memmove(rx, rx + e->size, have - e->size);
            have -= e->size;
            consumed += e->size;
        }
    }
    t->pending = have;
}

static void assert_same_trace(const trace_t *a, const trace_t *b)
{
    size_t i;

    assert_int_equal(a->n, b->n);
    assert_int_equal(a->broken, b->broken);
    if (!a->broken)
        assert_int_equal(a->pending, b->pending);
    for (i = 0; i < a->n; i++) {
        const event_t *x = &a->ev[i];
        const event_t *y = &b->ev[i];

        assert_int_equal(x->rc, y->rc);
        assert_int_equal(x->at, y->at);
        assert_int_equal(x->size, y->size);
        assert_memory_equal(x->raw, y->raw, x->size);
        assert_int_equal(x->adu.tid, y->adu.tid);
        assert_int_equal(x->adu.unit, y->adu.unit);
        assert_int_equal(x->adu.pdu_len, y->adu.pdu_len);
        assert_int_equal(x->req.function, y->req.function);
        assert_int_equal(x->req.addr, y->req.addr);
        assert_int_equal(x->req.count, y->req.count);
        assert_int_equal(x->req.data_len, y->req.data_len);
        assert_int_equal(x->rsp.function, y->rsp.function);
        assert_int_equal(x->rsp.exception, y->rsp.exception);
        assert_int_equal(x->rsp.data_len, y->rsp.data_len);
        assert_int_equal(x->rsp.objects_len, y->rsp.objects_len);
    }
}

static void replay_all_ways(const uint8_t *s, size_t n, const int *per_adu, int response,
                            trace_t *whole)
{
    static trace_t other;
    static size_t cuts[STREAM_MAX];
    size_t k;

    replay(s, n, per_adu, response, NULL, 0, whole);
    for (k = 0; k < n; k++)
        cuts[k] = k + 1;
    replay(s, n, per_adu, response, cuts, n, &other);
    assert_same_trace(whole, &other);
    for (k = 1; k < n; k++) {
        cuts[0] = k;
        replay(s, n, per_adu, response, cuts, 1, &other);
        assert_same_trace(whole, &other);
    }
}

/* ---------------------------------------------------------------- tests: golden */

static void test_golden_decode(void **state)
{
    uint8_t b[PL_MODBUS_MAX_ADU + 1];
    pl_modbus_adu_t adu;
    pl_modbus_req_t req;
    pl_modbus_rsp_t rsp;
    size_t i;
    size_t k;
    size_t n;
    size_t need;

    (void)state;
    for (i = 0; i < ARRAY_LEN(golden); i++) {
        const golden_t *g = &golden[i];

        print_message("vector: %s\n", g->name);
        n = pl_test_hex(g->hex, b, sizeof(b) - 1);
        need = 0;
        assert_int_equal(pl_modbus_frame(b, n, &need), (int)n);
        assert_int_equal(need, n);
        b[n] = 0xEE; /* bytes of a next ADU change nothing */
        assert_int_equal(pl_modbus_frame(b, n + 1, NULL), (int)n);
        for (k = 0; k < n; k++) {
            need = 0;
            assert_int_equal(pl_modbus_frame(b, k, &need), PL_EAGAIN);
            assert_int_equal(need, k < 6 ? PL_MODBUS_MIN_ADU : n);
        }
        assert_int_equal(pl_modbus_adu_decode(b, n, &adu, NULL), 0);
        assert_int_equal(adu.tid, g->tid);
        assert_int_equal(adu.pid, 0);
        assert_int_equal(adu.length, n - 6);
        assert_int_equal(adu.unit, g->unit);
        assert_ptr_equal(adu.pdu, b + 7);
        assert_int_equal(adu.pdu_len, n - 7);
        if (g->response) {
            assert_int_equal(pl_modbus_rsp_decode(adu.pdu, adu.pdu_len, &rsp, NULL), 0);
            check_rsp(g, &rsp);
        } else {
            assert_int_equal(pl_modbus_req_decode(adu.pdu, adu.pdu_len, &req, NULL), 0);
            check_req(g, &req);
        }
    }
}

/* decode -> encode gives the same bytes; encode -> decode gives the same fields */
static void test_golden_encode(void **state)
{
    uint8_t b[PL_MODBUS_MAX_ADU];
    uint8_t out[PL_MODBUS_MAX_ADU + 8];
    uint8_t again[PL_MODBUS_MAX_ADU];
    pl_modbus_adu_t adu;
    pl_modbus_req_t req;
    pl_modbus_rsp_t rsp;
    pl_modbus_req_t req2;
    pl_modbus_rsp_t rsp2;
    size_t i;
    size_t n;
    int r;

    (void)state;
    for (i = 0; i < ARRAY_LEN(golden); i++) {
        const golden_t *g = &golden[i];

        print_message("vector: %s\n", g->name);
        n = pl_test_hex(g->hex, b, sizeof(b));
        assert_int_equal(pl_modbus_adu_decode(b, n, &adu, NULL), 0);
        memset(out, 0xAA, sizeof(out));
        if (g->response) {
            assert_int_equal(pl_modbus_rsp_decode(adu.pdu, adu.pdu_len, &rsp, NULL), 0);
            r = pl_modbus_rsp_encode(out, sizeof(out), adu.tid, adu.unit, &rsp);
        } else {
            assert_int_equal(pl_modbus_req_decode(adu.pdu, adu.pdu_len, &req, NULL), 0);
            r = pl_modbus_req_encode(out, sizeof(out), adu.tid, adu.unit, &req);
        }
        assert_int_equal(r, (int)n);
        assert_memory_equal(out, b, n);
        assert_int_equal(out[n], 0xAA);
        /* and once more through the decoder */
        memcpy(again, out, n);
        assert_int_equal(pl_modbus_adu_decode(again, n, &adu, NULL), 0);
        if (g->response) {
            assert_int_equal(pl_modbus_rsp_decode(adu.pdu, adu.pdu_len, &rsp2, NULL), 0);
            check_rsp(g, &rsp2);
        } else {
            assert_int_equal(pl_modbus_req_decode(adu.pdu, adu.pdu_len, &req2, NULL), 0);
            check_req(g, &req2);
        }
    }
}

static void test_golden_replay(void **state)
{
    static trace_t t;
    uint8_t b[PL_MODBUS_MAX_ADU];
    size_t i;
    size_t n;

    (void)state;
    for (i = 0; i < ARRAY_LEN(golden); i++) {
        const golden_t *g = &golden[i];

        print_message("vector: %s\n", g->name);
        n = pl_test_hex(g->hex, b, sizeof(b));
        replay_all_ways(b, n, NULL, g->response, &t);
        assert_int_equal(t.n, 1);
        assert_false(t.broken);
        assert_int_equal(t.pending, 0);
        assert_int_equal(t.ev[0].rc, 0);
        assert_int_equal(t.ev[0].size, n);
        assert_int_equal(t.ev[0].adu.tid, g->tid);
        assert_int_equal(t.ev[0].adu.unit, g->unit);
        if (g->response)
            check_rsp(g, &t.ev[0].rsp);
        else
            check_req(g, &t.ev[0].req);
    }
}

/* All vectors back to back, then half an ADU still in flight. */
static void test_stream_back_to_back(void **state)
{
    static trace_t t;
    static uint8_t s[STREAM_MAX];
    int kind[ARRAY_LEN(golden)];
    size_t at[ARRAY_LEN(golden)];
    size_t n = 0;
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(golden); i++) {
        at[i] = n;
        kind[i] = golden[i].response;
        n += pl_test_hex(golden[i].hex, s + n, sizeof(s) - n);
    }
    n += pl_test_hex("0001 0000 0006 11 03", s + n, sizeof(s) - n);
    replay_all_ways(s, n, kind, 0, &t);
    assert_false(t.broken);
    assert_int_equal(t.pending, 8);
    assert_int_equal(t.n, ARRAY_LEN(golden));
    for (i = 0; i < t.n; i++) {
        assert_int_equal(t.ev[i].rc, 0);
        assert_int_equal(t.ev[i].at, at[i]);
        if (golden[i].response)
            check_rsp(&golden[i], &t.ev[i].rsp);
        else
            check_req(&golden[i], &t.ev[i].req);
    }
}

/* A framed ADU with a bad PDU is skipped; a bad protocol id breaks the stream. */
static void test_stream_with_errors(void **state)
{
    static trace_t t;
    static uint8_t s[STREAM_MAX];
    size_t n = 0;

    (void)state;
    n += pl_test_hex(golden[4].hex, s + n, sizeof(s) - n);                    /* 12 bytes */
    n += pl_test_hex("0002 0000 0006 11 41 0000 0001", s + n, sizeof(s) - n); /* FC 0x41 */
    n += pl_test_hex("0003 0000 0006 11 03 0000 0000", s + n, sizeof(s) - n); /* quantity 0 */
    n += pl_test_hex(golden[0].hex, s + n, sizeof(s) - n);
    n += pl_test_hex("0004 0001 0006 11 03 0000 0001", s + n, sizeof(s) - n); /* protocol 1 */
    n += pl_test_hex(golden[0].hex, s + n, sizeof(s) - n);                    /* never reached */
    replay_all_ways(s, n, NULL, 0, &t);
    assert_true(t.broken);
    assert_int_equal(t.n, 5);
    assert_int_equal(t.ev[0].rc, 0);
    assert_int_equal(t.ev[1].rc, PL_EMODBUS_FUNCTION);
    assert_int_equal(t.ev[1].at, 12);
    assert_int_equal(t.ev[1].req.function, 0x41);
    assert_int_equal(t.ev[2].rc, PL_EMODBUS_VALUE);
    assert_int_equal(t.ev[3].rc, 0);
    assert_int_equal(t.ev[4].rc, PL_EMODBUS_PROTOCOL);
    assert_int_equal(t.ev[4].at, 48);
    assert_int_equal(t.ev[4].size, 0);
}

/* ---------------------------------------------------------------- tests: framing errors */

typedef struct {
    const char *name;
    const char *hex;
    int err;
    size_t proof; /* bytes needed to prove it */
} frame_error_t;

static const frame_error_t frame_errors[] = {
    {"protocol id 1", "0001 0001 0006 11 03 0000 0001", PL_EMODBUS_PROTOCOL, 4},
    {"protocol id 0x0100", "0001 0100", PL_EMODBUS_PROTOCOL, 4},
    {"protocol id 0xffff", "0001 ffff 0000", PL_EMODBUS_PROTOCOL, 4},
    {"length 0", "0001 0000 0000 11 03", PL_EMODBUS_LENGTH, 6},
    {"length 1 (unit id, no function code)", "0001 0000 0001 11", PL_EMODBUS_LENGTH, 6},
    {"length 255 (PDU of 254)", "0001 0000 00ff 11 03", PL_EMODBUS_LENGTH, 6},
    {"length 256", "0001 0000 0100", PL_EMODBUS_LENGTH, 6},
    {"length 65535", "0001 0000 ffff 11 03 0000", PL_EMODBUS_LENGTH, 6},
    {"protocol before length", "0001 0002 ffff", PL_EMODBUS_PROTOCOL, 4},
};

static void test_frame_errors(void **state)
{
    static trace_t t;
    uint8_t b[64];
    pl_modbus_adu_t adu;
    size_t i;
    size_t n;
    size_t k;
    size_t need;

    (void)state;
    for (i = 0; i < ARRAY_LEN(frame_errors); i++) {
        const frame_error_t *x = &frame_errors[i];

        print_message("error vector: %s\n", x->name);
        n = pl_test_hex(x->hex, b, sizeof(b));
        for (k = 0; k < x->proof; k++) {
            need = 0;
            assert_int_equal(pl_modbus_frame(b, k, &need), PL_EAGAIN);
            assert_true(need > k);
        }
        for (k = x->proof; k <= n; k++)
            assert_int_equal(pl_modbus_frame(b, k, NULL), x->err);
        assert_int_equal(pl_modbus_adu_decode(b, n, &adu, NULL), x->err);
        replay_all_ways(b, n, NULL, 0, &t);
        assert_true(t.broken);
        assert_int_equal(t.n, 1);
        assert_int_equal(t.ev[0].rc, x->err);
    }
}

/* Lengths 2 and 254 are the bounds that frame. */
static void test_frame_length_bounds(void **state)
{
    static uint8_t b[PL_MODBUS_MAX_ADU];
    pl_modbus_adu_t adu;
    pl_modbus_rsp_t rsp;
    pl_status_t st;

    (void)state;
    memset(b, 0, sizeof(b));
    pl_test_hex("0001 0000 0002 11 81", b, sizeof(b));
    assert_int_equal(pl_modbus_frame(b, 8, NULL), 8);
    assert_int_equal(pl_modbus_adu_decode(b, 8, &adu, NULL), 0);
    assert_int_equal(adu.pdu_len, 1);
    assert_int_equal(pl_modbus_rsp_decode(adu.pdu, adu.pdu_len, &rsp, &st), PL_EMODBUS_FORMAT);
    assert_non_null(strstr(st.detail, "exception response of 1 bytes"));

    pl_test_hex("0001 0000 00fe 11 03", b, sizeof(b));
    assert_int_equal(pl_modbus_frame(b, 259, NULL), PL_EAGAIN);
    assert_int_equal(pl_modbus_frame(b, 260, NULL), 260);
    assert_int_equal(pl_modbus_adu_decode(b, 260, &adu, NULL), 0);
    assert_int_equal(adu.pdu_len, PL_MODBUS_MAX_PDU);
}

/* pl_modbus_adu_decode wants exactly one ADU and names what it saw. */
static void test_adu_decode_wrong_len(void **state)
{
    uint8_t b[64];
    pl_modbus_adu_t adu;
    pl_status_t st;
    size_t n;
    size_t k;

    (void)state;
    n = pl_test_hex(golden[5].hex, b, sizeof(b));
    for (k = 0; k < n; k++)
        assert_int_equal(pl_modbus_adu_decode(b, k, &adu, NULL), PL_EMODBUS_LENGTH);
    b[n] = 0;
    assert_int_equal(pl_modbus_adu_decode(b, n + 1, &adu, &st), PL_EMODBUS_LENGTH);
    assert_string_equal(st.detail, "16 bytes, MBAP header says 15");
    assert_int_equal(adu.tid, 3); /* the header stays readable */
    assert_int_equal(adu.unit, 0x11);
    assert_null(adu.pdu);
    assert_int_equal(pl_modbus_adu_decode(b, 5, &adu, &st), PL_EMODBUS_LENGTH);
    assert_string_equal(st.detail, "5 bytes, shorter than the MBAP header");
    assert_int_equal(pl_modbus_adu_decode(b, 7, &adu, &st), PL_EMODBUS_LENGTH);
    assert_string_equal(st.detail, "7 bytes, MBAP header says 15");
    n = pl_test_hex("0001 0007 0006 11 03 0000 0001", b, sizeof(b));
    assert_int_equal(pl_modbus_adu_decode(b, n, &adu, &st), PL_EMODBUS_PROTOCOL);
    assert_string_equal(st.detail, "protocol identifier 0x0007, expected 0");
    n = pl_test_hex("0001 0000 0100 11 03 0000 0001", b, sizeof(b));
    assert_int_equal(pl_modbus_adu_decode(b, n, &adu, &st), PL_EMODBUS_LENGTH);
    assert_string_equal(st.detail, "MBAP length 256, expected 2..254");
}

/* ---------------------------------------------------------------- tests: PDU errors */

typedef struct {
    const char *name;
    const char *pdu;
    int err;
    const char *detail; /* substring of the detail */
} pdu_error_t;

static const pdu_error_t req_errors[] = {
    {"function 0", "00 0000 0001", PL_EMODBUS_FUNCTION, "function code 0x00"},
    {"function 0x07 (serial line only)", "07", PL_EMODBUS_FUNCTION, "0x07"},
    {"function 0x41", "41 0000 0001", PL_EMODBUS_FUNCTION, "0x41"},
    {"function 0x81 in a request", "81 0000 0001", PL_EMODBUS_FUNCTION, "0x81"},
    {"MEI type 0x0D (CANopen)", "2b 0d 01 00", PL_EMODBUS_FUNCTION, "MEI type 0x0D"},
    {"read coils, 4 bytes", "01 0000 00", PL_EMODBUS_FORMAT, "expected 5"},
    {"read coils, 6 bytes", "01 0000 0001 00", PL_EMODBUS_FORMAT, "PDU of 6 bytes"},
    {"read coils, quantity 0", "01 0000 0000", PL_EMODBUS_VALUE, "quantity 0, expected 1..2000"},
    {"read coils, quantity 2001", "01 0000 07d1", PL_EMODBUS_VALUE, "2001"},
    {"read discrete inputs, quantity 0xffff", "02 0000 ffff", PL_EMODBUS_VALUE, "65535"},
    {"read holding, quantity 126", "03 0000 007e", PL_EMODBUS_VALUE, "126, expected 1..125"},
    {"read input, quantity 0", "04 0000 0000", PL_EMODBUS_VALUE, "quantity 0"},
    {"read input, no quantity", "04 0000", PL_EMODBUS_FORMAT, "PDU of 3 bytes"},
    {"write coil 0x0001", "05 0000 0001", PL_EMODBUS_VALUE, "0x0001"},
    {"write coil 0x00ff", "05 0000 00ff", PL_EMODBUS_VALUE, "0x00FF"},
    {"write coil, 3 bytes", "05 0000", PL_EMODBUS_FORMAT, "expected 5"},
    {"write register, 6 bytes", "06 0000 0001 02", PL_EMODBUS_FORMAT, "expected 5"},
    {"write coils, no byte count", "0f 0000 0001", PL_EMODBUS_FORMAT, "expected 6"},
    {"write coils, byte count 2, 1 follows", "0f 0000 0008 02 ff", PL_EMODBUS_FORMAT,
     "byte count 2, 1 bytes follow"},
    {"write coils, byte count 1, 2 follow", "0f 0000 0008 01 ff 00", PL_EMODBUS_FORMAT,
     "byte count 1, 2 bytes follow"},
    {"write coils, 9 coils in 1 byte", "0f 0000 0009 01 ff", PL_EMODBUS_FORMAT,
     "byte count 1 for quantity 9, expected 2"},
    {"write coils, quantity 0", "0f 0000 0000 01 00", PL_EMODBUS_VALUE, "quantity 0"},
    {"write coils, quantity 1969", "0f 0000 07b1 01 00", PL_EMODBUS_VALUE,
     "1969, expected 1..1968"},
    {"write registers, odd byte count", "10 0000 0001 03 000102", PL_EMODBUS_FORMAT,
     "byte count 3 for quantity 1"},
    {"write registers, quantity 124", "10 0000 007c 02 0001", PL_EMODBUS_VALUE,
     "124, expected 1..123"},
    {"write registers, quantity 0", "10 0000 0000 00", PL_EMODBUS_VALUE, "quantity 0"},
    {"mask write, 5 bytes", "16 0004 00f2", PL_EMODBUS_FORMAT, "expected 7"},
    {"mask write, 8 bytes", "16 0004 00f2 0025 00", PL_EMODBUS_FORMAT, "PDU of 8 bytes"},
    {"read/write, 9 bytes", "17 0003 0006 000e 0003", PL_EMODBUS_FORMAT, "expected 10"},
    {"read/write, byte count 4, 2 follow", "17 0003 0006 000e 0002 04 0001", PL_EMODBUS_FORMAT,
     "byte count 4, 2 bytes follow"},
    {"read/write, read quantity 0", "17 0003 0000 000e 0001 02 0001", PL_EMODBUS_VALUE,
     "read quantity 0"},
    {"read/write, read quantity 126", "17 0003 007e 000e 0001 02 0001", PL_EMODBUS_VALUE,
     "read quantity 126, expected 1..125"},
    {"read/write, write quantity 122", "17 0003 0001 000e 007a 02 0001", PL_EMODBUS_VALUE,
     "write quantity 122, expected 1..121"},
    {"read/write, write quantity 2, 2 bytes", "17 0003 0001 000e 0002 02 0001", PL_EMODBUS_FORMAT,
     "byte count 2 for write quantity 2"},
    {"device id, 3 bytes", "2b 0e 01", PL_EMODBUS_FORMAT, "expected 4"},
    {"device id, 5 bytes", "2b 0e 01 00 00", PL_EMODBUS_FORMAT, "expected 4"},
    {"device id code 0", "2b 0e 00 00", PL_EMODBUS_VALUE, "read device ID code 0"},
    {"device id code 5", "2b 0e 05 00", PL_EMODBUS_VALUE, "code 5, expected 1..4"},
    {"empty PDU", "", PL_EMODBUS_FORMAT, "empty PDU"},
};

static const pdu_error_t rsp_errors[] = {
    {"function 0", "00 00", PL_EMODBUS_FUNCTION, "function code 0x00"},
    {"exception bit on function 0", "80 01", PL_EMODBUS_FUNCTION, "function code 0x80"},
    {"function 0x41", "41 02 0000", PL_EMODBUS_FUNCTION, "0x41"},
    {"MEI type 0x0D", "2b 0d 01 01 00 00 00", PL_EMODBUS_FUNCTION, "MEI type 0x0D"},
    {"exception without code", "83", PL_EMODBUS_FORMAT, "exception response of 1 bytes"},
    {"exception with 2 bytes", "83 02 00", PL_EMODBUS_FORMAT, "exception response of 3 bytes"},
    {"exception code 0", "83 00", PL_EMODBUS_VALUE, "exception code 0"},
    {"read coils, no byte count", "01", PL_EMODBUS_FORMAT, "PDU of 1 bytes, expected 2"},
    {"read coils, byte count 0", "01 00", PL_EMODBUS_FORMAT, "byte count 0"},
    {"read coils, byte count 3, 2 follow", "01 03 cd6b", PL_EMODBUS_FORMAT,
     "byte count 3, 2 bytes follow"},
    {"read coils, byte count 251", "01 fb", PL_EMODBUS_FORMAT, "byte count 251, 0 bytes follow"},
    {"read holding, odd byte count", "03 03 000102", PL_EMODBUS_FORMAT,
     "byte count 3, expected an even 2..250"},
    {"read input, byte count 0", "04 00", PL_EMODBUS_FORMAT, "byte count 0"},
    {"read/write, odd byte count", "17 01 00", PL_EMODBUS_FORMAT, "byte count 1, expected an even"},
    {"write coil echo 0x1234", "05 00ac 1234", PL_EMODBUS_VALUE, "0x1234"},
    {"write coil, 4 bytes", "05 00ac ff", PL_EMODBUS_FORMAT, "expected 5"},
    {"write register, 6 bytes", "06 0001 0003 00", PL_EMODBUS_FORMAT, "expected 5"},
    {"write coils, 3 bytes", "0f 0013", PL_EMODBUS_FORMAT, "expected 5"},
    {"write coils, quantity 0", "0f 0013 0000", PL_EMODBUS_VALUE, "quantity 0"},
    {"write registers, quantity 124", "10 0001 007c", PL_EMODBUS_VALUE, "124, expected 1..123"},
    {"mask write, 6 bytes", "16 0004 00f2 00", PL_EMODBUS_FORMAT, "expected 7"},
    {"device id, 6 bytes", "2b 0e 01 01 00 00", PL_EMODBUS_FORMAT, "expected at least 7"},
    {"device id, code 0", "2b 0e 00 01 00 00 00", PL_EMODBUS_VALUE, "read device ID code 0"},
    {"device id, more follows 0x01", "2b 0e 01 01 01 00 00", PL_EMODBUS_VALUE, "more follows 0x01"},
    {"device id, 1 object announced, none", "2b 0e 01 01 00 00 01", PL_EMODBUS_FORMAT,
     "0 objects, 1 announced"},
    {"device id, object length past the end", "2b 0e 01 01 00 00 01 00 05 414243",
     PL_EMODBUS_FORMAT, "object 0 runs past"},
    {"device id, half an object header", "2b 0e 01 01 00 00 02 00 01 41 01", PL_EMODBUS_FORMAT,
     "object 1 runs past"},
    {"device id, 2 objects, 1 announced", "2b 0e 01 01 00 00 01 00 01 41 01 00", PL_EMODBUS_FORMAT,
     "2 objects, 1 announced"},
    {"empty PDU", "", PL_EMODBUS_FORMAT, "empty PDU"},
};

static void check_pdu_errors(const pdu_error_t *v, size_t nv, int response)
{
    uint8_t b[PL_MODBUS_MAX_PDU];
    uint8_t adu[PL_MODBUS_MAX_ADU];
    pl_modbus_req_t req;
    pl_modbus_rsp_t rsp;
    pl_status_t st;
    static trace_t t;
    size_t i;
    size_t n;
    int r;

    for (i = 0; i < nv; i++) {
        print_message("error vector: %s\n", v[i].name);
        n = pl_test_hex(v[i].pdu, b, sizeof(b));
        pl_status_clear(&st);
        if (response) {
            r = pl_modbus_rsp_decode(b, n, &rsp, &st);
            assert_int_equal(pl_modbus_rsp_decode(b, n, &rsp, NULL), r);
        } else {
            r = pl_modbus_req_decode(b, n, &req, &st);
            assert_int_equal(pl_modbus_req_decode(b, n, &req, NULL), r);
        }
        assert_int_equal(r, v[i].err);
        assert_int_equal(st.code, v[i].err);
        if (strstr(st.detail, v[i].detail) == NULL)
            fail_msg("detail '%s' lacks '%s'", st.detail, v[i].detail);
        if (n == 0)
            continue; /* an ADU needs a function code */
        /* the same PDU in an ADU is framed (the stream goes on) and then rejected */
        adu[0] = 0;
        adu[1] = 9;
        adu[2] = 0;
        adu[3] = 0;
        adu[4] = (uint8_t)((n + 1) >> 8);
        adu[5] = (uint8_t)(n + 1);
        adu[6] = 1;
        memcpy(adu + 7, b, n);
        replay_all_ways(adu, n + 7, NULL, response, &t);
        assert_false(t.broken);
        assert_int_equal(t.n, 1);
        assert_int_equal(t.ev[0].rc, v[i].err);
    }
}

static void test_req_errors(void **state)
{
    (void)state;
    check_pdu_errors(req_errors, ARRAY_LEN(req_errors), 0);
}

static void test_rsp_errors(void **state)
{
    (void)state;
    check_pdu_errors(rsp_errors, ARRAY_LEN(rsp_errors), 1);
}

/* Fields stay readable after an error, to name the bad value. */
static void test_error_fields(void **state)
{
    uint8_t b[32];
    pl_modbus_req_t req;
    pl_modbus_rsp_t rsp;
    size_t n;

    (void)state;
    n = pl_test_hex("03 0102 007e", b, sizeof(b));
    assert_int_equal(pl_modbus_req_decode(b, n, &req, NULL), PL_EMODBUS_VALUE);
    assert_int_equal(req.function, 3);
    assert_int_equal(req.addr, 0x102);
    assert_int_equal(req.count, 126);
    n = pl_test_hex("10 0001 0002 03 000a01", b, sizeof(b));
    assert_int_equal(pl_modbus_req_decode(b, n, &req, NULL), PL_EMODBUS_FORMAT);
    assert_int_equal(req.count, 2);
    assert_int_equal(req.data_len, 3);
    n = pl_test_hex("05 00ac 1234", b, sizeof(b));
    assert_int_equal(pl_modbus_rsp_decode(b, n, &rsp, NULL), PL_EMODBUS_VALUE);
    assert_int_equal(rsp.value, 0x1234);
    assert_null(rsp.data);
}

/* ---------------------------------------------------------------- tests: limits */

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    size_t i;

    for (i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

/* Requests and responses at the spec's quantity limits encode, frame and decode back. */
static void test_limits_roundtrip(void **state)
{
    static uint8_t data[256];
    static uint8_t b[PL_MODBUS_MAX_ADU];
    static trace_t t;
    static const struct {
        uint8_t fc;
        uint16_t count;
        uint16_t wcount;
        size_t bytes; /* request data bytes */
        size_t rbytes;
        size_t adu_req;
    } cases[] = {
        {0x01, 2000, 0, 0, 250, 12}, {0x02, 1, 0, 0, 1, 12},       {0x03, 125, 0, 0, 250, 12},
        {0x04, 125, 0, 0, 250, 12},  {0x0F, 1968, 0, 246, 0, 259}, {0x0F, 1, 0, 1, 0, 14},
        {0x10, 123, 0, 246, 0, 259}, {0x10, 1, 0, 2, 0, 15},       {0x17, 125, 121, 242, 250, 259},
    };
    pl_modbus_req_t req;
    pl_modbus_req_t got;
    pl_modbus_rsp_t rsp;
    pl_modbus_rsp_t rgot;
    pl_modbus_adu_t adu;
    size_t i;
    int n;

    (void)state;
    fill(data, sizeof(data), 5);
    for (i = 0; i < ARRAY_LEN(cases); i++) {
        memset(&req, 0, sizeof(req));
        req.function = cases[i].fc;
        req.addr = (uint16_t)(0xFFFF - i);
        req.count = cases[i].count;
        req.waddr = 7;
        req.wcount = cases[i].wcount;
        req.data = cases[i].bytes ? data : NULL;
        req.data_len = cases[i].bytes;
        n = pl_modbus_req_encode(b, sizeof(b), (uint16_t)i, 0xFF, &req);
        assert_int_equal(n, (int)cases[i].adu_req);
        replay_all_ways(b, (size_t)n, NULL, 0, &t);
        assert_int_equal(t.n, 1);
        assert_int_equal(t.ev[0].rc, 0);
        assert_int_equal(pl_modbus_adu_decode(b, (size_t)n, &adu, NULL), 0);
        assert_int_equal(pl_modbus_req_decode(adu.pdu, adu.pdu_len, &got, NULL), 0);
        assert_int_equal(got.count, req.count);
        assert_int_equal(got.wcount, req.wcount);
        assert_int_equal(got.data_len, req.data_len);
        if (req.data_len)
            assert_memory_equal(got.data, data, req.data_len);

        memset(&rsp, 0, sizeof(rsp));
        rsp.function = cases[i].fc;
        rsp.addr = req.addr;
        rsp.count = req.count;
        rsp.data = cases[i].rbytes ? data : NULL;
        rsp.data_len = cases[i].rbytes;
        n = pl_modbus_rsp_encode(b, sizeof(b), (uint16_t)i, 0xFF, &rsp);
        assert_true(n > 0);
        assert_int_equal(pl_modbus_adu_decode(b, (size_t)n, &adu, NULL), 0);
        assert_int_equal(pl_modbus_rsp_decode(adu.pdu, adu.pdu_len, &rgot, NULL), 0);
        assert_int_equal(pl_modbus_rsp_match(&got, &rgot, NULL), 0);
    }
    /* the encoder refuses what cannot fit in a PDU */
    memset(&req, 0, sizeof(req));
    req.function = 0x10;
    req.data = data;
    req.data_len = 248; /* 6 + 248 = 254 > 253 */
    assert_int_equal(pl_modbus_req_encode(b, sizeof(b), 0, 0, &req), PL_EMODBUS_FORMAT);
    req.data_len = 247;
    assert_int_equal(pl_modbus_req_encode(b, sizeof(b), 0, 0, &req), 260);
    req.data = NULL;
    assert_int_equal(pl_modbus_req_encode(b, sizeof(b), 0, 0, &req), PL_EMODBUS_FORMAT);
    req.function = 0x41;
    assert_int_equal(pl_modbus_req_encode(b, sizeof(b), 0, 0, &req), PL_EMODBUS_FUNCTION);
    memset(&rsp, 0, sizeof(rsp));
    rsp.function = 0x03;
    rsp.data = data;
    rsp.data_len = 252;
    assert_int_equal(pl_modbus_rsp_encode(b, sizeof(b), 0, 0, &rsp), PL_EMODBUS_FORMAT);
    rsp.function = 0x2B;
    rsp.objects = data;
    rsp.objects_len = 247;
    assert_int_equal(pl_modbus_rsp_encode(b, sizeof(b), 0, 0, &rsp), PL_EMODBUS_FORMAT);
    rsp.objects_len = 246;
    assert_int_equal(pl_modbus_rsp_encode(b, sizeof(b), 0, 0, &rsp), 260);
    rsp.function = 0x42;
    assert_int_equal(pl_modbus_rsp_encode(b, sizeof(b), 0, 0, &rsp), PL_EMODBUS_FUNCTION);
    rsp.exception = 1; /* an exception answers any function */
    assert_int_equal(pl_modbus_rsp_encode(b, sizeof(b), 0, 0, &rsp), 9);
    assert_int_equal(b[7], 0xC2);
}

static void test_encode_nobufs(void **state)
{
    uint8_t want[PL_MODBUS_MAX_ADU];
    uint8_t b[PL_MODBUS_MAX_ADU + 1];
    pl_modbus_adu_t adu;
    pl_modbus_req_t req;
    pl_modbus_rsp_t rsp;
    size_t i;
    size_t n;
    size_t cap;
    size_t k;
    int r;

    (void)state;
    for (i = 0; i < ARRAY_LEN(golden); i++) {
        const golden_t *g = &golden[i];

        n = pl_test_hex(g->hex, want, sizeof(want));
        assert_int_equal(pl_modbus_adu_decode(want, n, &adu, NULL), 0);
        if (g->response)
            assert_int_equal(pl_modbus_rsp_decode(adu.pdu, adu.pdu_len, &rsp, NULL), 0);
        else
            assert_int_equal(pl_modbus_req_decode(adu.pdu, adu.pdu_len, &req, NULL), 0);
        for (cap = 0; cap <= n; cap++) {
            memset(b, 0xAA, sizeof(b));
            if (g->response)
                r = pl_modbus_rsp_encode(b, cap, adu.tid, adu.unit, &rsp);
            else
                r = pl_modbus_req_encode(b, cap, adu.tid, adu.unit, &req);
            if (cap < n) {
                assert_int_equal(r, PL_ENOBUFS);
                for (k = 0; k < sizeof(b); k++)
                    assert_int_equal(b[k], 0xAA);
            } else {
                assert_int_equal(r, (int)n);
                assert_memory_equal(b, want, n);
            }
        }
    }
    memset(&req, 0, sizeof(req));
    req.function = 3;
    assert_int_equal(pl_modbus_req_encode(NULL, 100, 0, 0, &req), PL_ENOBUFS);
}

/* ---------------------------------------------------------------- tests: matching */

static void test_match(void **state)
{
    uint8_t b[PL_MODBUS_MAX_ADU];
    uint8_t c[PL_MODBUS_MAX_ADU];
    pl_modbus_adu_t adu;
    pl_modbus_adu_t adu2;
    pl_modbus_req_t req;
    pl_modbus_rsp_t rsp;
    pl_status_t st;
    size_t i;
    size_t n;

    (void)state;
    /* every golden request with the response that follows it */
    for (i = 0; i + 1 < ARRAY_LEN(golden); i += 2) {
        const golden_t *g = &golden[i];

        if (g->response || !golden[i + 1].response)
            continue;
        print_message("pair: %s\n", g->name);
        n = pl_test_hex(g->hex, b, sizeof(b));
        assert_int_equal(pl_modbus_adu_decode(b, n, &adu, NULL), 0);
        assert_int_equal(pl_modbus_req_decode(adu.pdu, adu.pdu_len, &req, NULL), 0);
        n = pl_test_hex(golden[i + 1].hex, c, sizeof(c));
        assert_int_equal(pl_modbus_adu_decode(c, n, &adu2, NULL), 0);
        assert_int_equal(pl_modbus_rsp_decode(adu2.pdu, adu2.pdu_len, &rsp, NULL), 0);
        assert_int_equal(adu.tid, adu2.tid);
        if (golden[i + 1].exception) {
            assert_int_equal(pl_modbus_rsp_match(&req, &rsp, &st),
                             PL_EMODBUS_X_ILLEGAL_DATA_ADDRESS);
            assert_string_equal(st.detail, "exception 0x02: illegal data address");
        } else {
            assert_int_equal(pl_modbus_rsp_match(&req, &rsp, NULL), 0);
        }
    }

    /* mismatches */
    memset(&req, 0, sizeof(req));
    memset(&rsp, 0, sizeof(rsp));
    req.function = 3;
    req.count = 3;
    rsp.function = 4;
    rsp.data_len = 6;
    assert_int_equal(pl_modbus_rsp_match(&req, &rsp, &st), PL_EMODBUS_MISMATCH);
    assert_string_equal(st.detail, "response function 0x04, expected 0x03");
    rsp.function = 3;
    assert_int_equal(pl_modbus_rsp_match(&req, &rsp, NULL), 0);
    rsp.data_len = 4;
    assert_int_equal(pl_modbus_rsp_match(&req, &rsp, &st), PL_EMODBUS_MISMATCH);
    assert_string_equal(st.detail, "response byte count 0x0004, expected 0x0006");
    req.function = rsp.function = 1;
    req.count = 9;
    rsp.data_len = 2;
    assert_int_equal(pl_modbus_rsp_match(&req, &rsp, NULL), 0);
    rsp.data_len = 1;
    assert_int_equal(pl_modbus_rsp_match(&req, &rsp, NULL), PL_EMODBUS_MISMATCH);
    req.function = rsp.function = 6;
    req.addr = rsp.addr = 5;
    req.value = 1;
    rsp.value = 2;
    assert_int_equal(pl_modbus_rsp_match(&req, &rsp, &st), PL_EMODBUS_MISMATCH);
    assert_string_equal(st.detail, "response value 0x0002, expected 0x0001");
    rsp.value = 1;
    rsp.addr = 6;
    assert_int_equal(pl_modbus_rsp_match(&req, &rsp, NULL), PL_EMODBUS_MISMATCH);
    req.function = rsp.function = 16;
    rsp.addr = 5;
    req.count = 2;
    rsp.count = 3;
    assert_int_equal(pl_modbus_rsp_match(&req, &rsp, NULL), PL_EMODBUS_MISMATCH);
    rsp.count = 2;
    assert_int_equal(pl_modbus_rsp_match(&req, &rsp, NULL), 0);
    req.function = rsp.function = 22;
    req.and_mask = 0xF2;
    rsp.and_mask = 0xF3;
    assert_int_equal(pl_modbus_rsp_match(&req, &rsp, &st), PL_EMODBUS_MISMATCH);
    assert_string_equal(st.detail, "response AND mask 0x00F3, expected 0x00F2");
    rsp.and_mask = 0xF2;
    rsp.or_mask = 1;
    assert_int_equal(pl_modbus_rsp_match(&req, &rsp, NULL), PL_EMODBUS_MISMATCH);
    req.function = rsp.function = 0x2B;
    req.devid_code = 1;
    rsp.devid_code = 2;
    assert_int_equal(pl_modbus_rsp_match(&req, &rsp, NULL), PL_EMODBUS_MISMATCH);
    rsp.devid_code = 1;
    assert_int_equal(pl_modbus_rsp_match(&req, &rsp, NULL), 0);
    /* an exception for another function is a mismatch, not the exception */
    rsp.function = 3;
    rsp.exception = 2;
    assert_int_equal(pl_modbus_rsp_match(&req, &rsp, NULL), PL_EMODBUS_MISMATCH);
}

/* Each standard exception has its own remote error, numbered 0x0480 + the code, with the
 * standard name; others fall back to PL_EMODBUS_EXCEPTION with the raw code. */
static void test_exceptions(void **state)
{
    static const struct {
        uint8_t code;
        int err;
        const char *name;
    } x[] = {
        {0x01, PL_EMODBUS_X_ILLEGAL_FUNCTION, "illegal function"},
        {0x02, PL_EMODBUS_X_ILLEGAL_DATA_ADDRESS, "illegal data address"},
        {0x03, PL_EMODBUS_X_ILLEGAL_DATA_VALUE, "illegal data value"},
        {0x04, PL_EMODBUS_X_SERVER_DEVICE_FAILURE, "server device failure"},
        {0x05, PL_EMODBUS_X_ACKNOWLEDGE, "acknowledge"},
        {0x06, PL_EMODBUS_X_SERVER_DEVICE_BUSY, "server device busy"},
        {0x08, PL_EMODBUS_X_MEMORY_PARITY_ERROR, "memory parity error"},
        {0x0A, PL_EMODBUS_X_GATEWAY_PATH_UNAVAILABLE, "gateway path unavailable"},
        {0x0B, PL_EMODBUS_X_GATEWAY_TARGET_FAILED, "gateway target device failed to respond"},
        {0x07, PL_EMODBUS_EXCEPTION, "unknown exception"},
        {0x0C, PL_EMODBUS_EXCEPTION, "unknown exception"},
        {0xFF, PL_EMODBUS_EXCEPTION, "unknown exception"},
    };
    uint8_t b[16];
    pl_modbus_adu_t adu;
    pl_modbus_req_t req;
    pl_modbus_rsp_t rsp;
    pl_status_t st;
    char want[80];
    size_t i;
    int n;

    (void)state;
    memset(&req, 0, sizeof(req));
    req.function = 3;
    req.count = 1;
    for (i = 0; i < ARRAY_LEN(x); i++) {
        assert_string_equal(pl_modbus_exception_name(x[i].code), x[i].name);
        assert_int_equal(pl_modbus_exception_error(x[i].code), x[i].err);
        if (x[i].err != PL_EMODBUS_EXCEPTION) {
            assert_int_equal(pl_modbus_error_exception(x[i].err), x[i].code);
            assert_int_equal(pl_err_code(x[i].err), 0x0480u + x[i].code);
            assert_non_null(strstr(pl_strerror(x[i].err), x[i].name));
        }
        /* through the wire */
        memset(&rsp, 0, sizeof(rsp));
        rsp.function = 3;
        rsp.exception = x[i].code;
        n = pl_modbus_rsp_encode(b, sizeof(b), 0x1234, 7, &rsp);
        assert_int_equal(n, 9);
        assert_int_equal(b[7], 0x83);
        assert_int_equal(b[8], x[i].code);
        assert_int_equal(pl_modbus_adu_decode(b, (size_t)n, &adu, NULL), 0);
        assert_int_equal(pl_modbus_rsp_decode(adu.pdu, adu.pdu_len, &rsp, NULL), 0);
        assert_int_equal(rsp.exception, x[i].code);
        assert_int_equal(pl_modbus_rsp_match(&req, &rsp, &st), x[i].err);
        assert_int_equal(st.code, x[i].err);
        (void)snprintf(want, sizeof(want), "exception 0x%02X: %s", x[i].code, x[i].name);
        assert_string_equal(st.detail, want);
    }
    /* local errors are not exceptions */
    assert_int_equal(pl_modbus_error_exception(PL_EMODBUS_EXCEPTION), 0);
    assert_int_equal(pl_modbus_error_exception(PL_EMODBUS_FORMAT), 0);
    assert_int_equal(pl_modbus_error_exception(PL_ETIMEOUT), 0);
    assert_int_equal(pl_modbus_error_exception(0), 0);
    /* what a server answers to a request that does not decode */
    assert_int_equal(pl_modbus_req_exception(PL_EMODBUS_FUNCTION), 1);
    assert_int_equal(pl_modbus_req_exception(PL_EMODBUS_FORMAT), 3);
    assert_int_equal(pl_modbus_req_exception(PL_EMODBUS_VALUE), 3);
    assert_int_equal(pl_modbus_req_exception(PL_EINVAL), 4);
}

/* ---------------------------------------------------------------- tests: helpers */

static void test_devid_objects(void **state)
{
    uint8_t b[PL_MODBUS_MAX_ADU];
    pl_modbus_adu_t adu;
    pl_modbus_rsp_t rsp;
    pl_modbus_devid_obj_t o;
    size_t pos = 0;
    size_t n;

    (void)state;
    n = pl_test_hex(golden[21].hex, b, sizeof(b));
    assert_int_equal(pl_modbus_adu_decode(b, n, &adu, NULL), 0);
    assert_int_equal(pl_modbus_rsp_decode(adu.pdu, adu.pdu_len, &rsp, NULL), 0);
    assert_int_equal(rsp.mei_type, 0x0E);
    assert_int_equal(rsp.devid_code, 1);
    assert_int_equal(rsp.conformity, 1);
    assert_int_equal(rsp.more_follows, 0);
    assert_int_equal(rsp.next_object, 0);
    assert_int_equal(rsp.object_count, 3);
    assert_int_equal(pl_modbus_devid_next(&rsp, &pos, &o), 1);
    assert_int_equal(o.id, 0);
    assert_int_equal(o.len, 22);
    assert_memory_equal(o.value, "Company identification", 22);
    assert_int_equal(pl_modbus_devid_next(&rsp, &pos, &o), 1);
    assert_int_equal(o.id, 1);
    assert_memory_equal(o.value, "Product code XX", 15);
    assert_int_equal(pl_modbus_devid_next(&rsp, &pos, &o), 1);
    assert_int_equal(o.id, 2);
    assert_int_equal(o.len, 5);
    assert_memory_equal(o.value, "V2.11", 5);
    assert_int_equal(pl_modbus_devid_next(&rsp, &pos, &o), 0);
    assert_int_equal(pl_modbus_devid_next(&rsp, &pos, &o), 0);

    /* a continued answer with no objects, and an empty object */
    n = pl_test_hex("2b 0e 02 82 ff 05 00", b, sizeof(b));
    assert_int_equal(pl_modbus_rsp_decode(b, n, &rsp, NULL), 0);
    assert_int_equal(rsp.more_follows, 0xFF);
    assert_int_equal(rsp.next_object, 5);
    assert_null(rsp.objects);
    pos = 0;
    assert_int_equal(pl_modbus_devid_next(&rsp, &pos, &o), 0);
    n = pl_test_hex("2b 0e 04 83 00 00 01 80 00", b, sizeof(b));
    assert_int_equal(pl_modbus_rsp_decode(b, n, &rsp, NULL), 0);
    assert_int_equal(pl_modbus_devid_next(&rsp, &pos, &o), 1);
    assert_int_equal(o.id, 0x80);
    assert_int_equal(o.len, 0);
}

static void test_views(void **state)
{
    static const uint8_t regs[] = {0x02, 0x2B, 0x00, 0x00, 0x00, 0x64};
    static const uint8_t bits[] = {0xCD, 0x6B, 0x05};

    (void)state;
    assert_int_equal(pl_modbus_reg(regs, sizeof(regs), 0), 0x022B);
    assert_int_equal(pl_modbus_reg(regs, sizeof(regs), 2), 100);
    assert_int_equal(pl_modbus_reg(regs, sizeof(regs), 3), 0);
    assert_int_equal(pl_modbus_reg(regs, 5, 2), 0); /* half a register is not one */
    assert_int_equal(pl_modbus_reg(NULL, 6, 0), 0);
    /* spec 6.1: coils 27..20 = 0xCD (LSB is coil 20), 35..28 = 0x6B, 38..36 = 0x05 */
    assert_int_equal(pl_modbus_bit(bits, 3, 0), 1);
    assert_int_equal(pl_modbus_bit(bits, 3, 1), 0);
    assert_int_equal(pl_modbus_bit(bits, 3, 7), 1);
    assert_int_equal(pl_modbus_bit(bits, 3, 8), 1);
    assert_int_equal(pl_modbus_bit(bits, 3, 10), 0);
    assert_int_equal(pl_modbus_bit(bits, 3, 16), 1);
    assert_int_equal(pl_modbus_bit(bits, 3, 18), 1);
    assert_int_equal(pl_modbus_bit(bits, 3, 24), 0);
    assert_int_equal(pl_modbus_bit_bytes(0), 0);
    assert_int_equal(pl_modbus_bit_bytes(1), 1);
    assert_int_equal(pl_modbus_bit_bytes(8), 1);
    assert_int_equal(pl_modbus_bit_bytes(9), 2);
    assert_int_equal(pl_modbus_bit_bytes(2000), 250);
    assert_string_equal(pl_modbus_function_name(3), "read holding registers");
    assert_string_equal(pl_modbus_function_name(0x2B), "read device identification");
    assert_string_equal(pl_modbus_function_name(0x44), "unknown function");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_decode),
        cmocka_unit_test(test_golden_encode),
        cmocka_unit_test(test_golden_replay),
        cmocka_unit_test(test_stream_back_to_back),
        cmocka_unit_test(test_stream_with_errors),
        cmocka_unit_test(test_frame_errors),
        cmocka_unit_test(test_frame_length_bounds),
        cmocka_unit_test(test_adu_decode_wrong_len),
        cmocka_unit_test(test_req_errors),
        cmocka_unit_test(test_rsp_errors),
        cmocka_unit_test(test_error_fields),
        cmocka_unit_test(test_limits_roundtrip),
        cmocka_unit_test(test_encode_nobufs),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_exceptions),
        cmocka_unit_test(test_devid_objects),
        cmocka_unit_test(test_views),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
