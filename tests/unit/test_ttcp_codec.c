/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the 7TTCP frame codec (src/proto/ttcp/codec/ttcp.c).
 *
 * Golden vectors are hex frames laid out as in the manual (seed 000, "Format of messages")
 * with their expected decode. Every vector, and streams of several, are replayed whole, one
 * byte at a time and split at every offset, and must give the same frames and errors. Every
 * validation error is checked at the exact number of bytes that proves it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"

#include "proto/ttcp/codec/ttcp.h"
#include "plcline/error.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define STREAM_MAX   4096u /* bytes in one replayed stream */
#define EVENTS_MAX   64u   /* frames in one replayed stream */
#define VEC_WORDS    8u    /* data words a golden vector may carry */

/* ---------------------------------------------------------------- helpers */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
    p[2] = (uint8_t)((v >> 16) & 0xFFu);
    p[3] = (uint8_t)((v >> 24) & 0xFFu);
}

/* Builds a user-data header by hand (independent of pl_ttcp_encode). */
static void header(uint8_t *p, uint32_t length, uint32_t opcode, uint32_t node, uint32_t group,
                   uint32_t offset, uint32_t type, uint32_t count)
{
    put32(p + 0, length);
    put32(p + 4, opcode);
    put32(p + 8, node);
    put32(p + 12, group);
    put32(p + 16, offset);
    put32(p + 20, type);
    put32(p + 24, count);
}

/* ---------------------------------------------------------------- golden vectors */

typedef struct {
    const char *name;
    const char *hex;
    uint32_t length;
    uint32_t opcode;
    uint32_t node;
    uint32_t group;
    uint32_t offset;
    uint32_t type;
    uint32_t count;
    size_t data_words;
    uint16_t words[VEC_WORDS];
} golden_t;

static const golden_t golden[] = {
    {"read request: node 3, W100, 10 words",
     "1c000000 00000000 03000000 00000000 64000000 01000000 0a000000",
     28,
     0,
     3,
     0,
     100,
     1,
     10,
     0,
     {0}},
    {"read response: node 3, W100, 3 words",
     "22000000 00000000 03000000 00000000 64000000 01000000 03000000 3412 cdab 0000",
     34,
     0,
     3,
     0,
     100,
     1,
     3,
     3,
     {0x1234, 0xABCD, 0x0000}},
    {"write request: node 7, offset 0x00010203, 2 words",
     "20000000 00000000 07000000 00000000 03020100 02000000 02000000 fe7f 0180",
     32,
     0,
     7,
     0,
     0x00010203,
     2,
     2,
     2,
     {0x7FFE, 0x8001}},
    {"write request, BYTE data: high bytes 0",
     "24000000 00000000 05000000 00000000 0a000000 02000000 04000000 ff00 4200 0000 7f00",
     36,
     0,
     5,
     0,
     10,
     2,
     4,
     4,
     {0x00FF, 0x0042, 0x0000, 0x007F}},
    {"write ack echoing the data: node 0x80000001, offset 65535",
     "20000000 00000000 01000080 00000000 ffff0000 02000000 02000000 fe7f 0180",
     32,
     0,
     0x80000001u,
     0,
     65535,
     2,
     2,
     2,
     {0x7FFE, 0x8001}},
    {"write ack without data",
     "1c000000 00000000 07000000 00000000 03020100 02000000 02000000",
     28,
     0,
     7,
     0,
     0x00010203,
     2,
     2,
     0,
     {0}},
    {"read response, one word 0xffff",
     "1e000000 00000000 ffffffff 00000000 00000000 01000000 01000000 ffff",
     30,
     0,
     0xFFFFFFFFu,
     0,
     0,
     1,
     1,
     1,
     {0xFFFF}},
    {"read request for 0 words (allowed by the codec)",
     "1c000000 00000000 01000000 00000000 00000000 01000000 00000000",
     28,
     0,
     1,
     0,
     0,
     1,
     0,
     0,
     {0}},
    {"keep-alive, 8 bytes", "08000000 01000000", 8, 1, 0, 0, 0, 0, 0, 0, {0}},
    {"keep-alive padded to 28 bytes",
     "1c000000 01000000 00000000 00000000 00000000 00000000 00000000",
     28,
     1,
     0,
     0,
     0,
     0,
     0,
     0,
     {0}},
    {"keep-alive padded to 28 bytes, padding as sent",
     "1c000000 01000000 09000000 01000000 02000000 05000000 03000000",
     28,
     1,
     9,
     1,
     2,
     5,
     3,
     0,
     {0}},
};

static void check_golden_fields(const golden_t *g, const pl_ttcp_frame_t *f, const uint8_t *raw)
{
    size_t i;

    assert_int_equal(f->length, g->length);
    assert_int_equal(f->opcode, g->opcode);
    assert_int_equal(f->node, g->node);
    assert_int_equal(f->group, g->group);
    assert_int_equal(f->offset, g->offset);
    assert_int_equal(f->type, g->type);
    assert_int_equal(f->count, g->count);
    assert_int_equal(f->data_words, g->data_words);
    if (g->data_words == 0) {
        assert_null(f->data);
    } else {
        assert_ptr_equal(f->data, raw + PL_TTCP_HEADER_LEN);
    }
    for (i = 0; i < g->data_words; i++) {
        assert_int_equal(pl_ttcp_word(f, i), g->words[i]);
        /* the raw bytes too: low byte first */
        assert_int_equal(f->data[2 * i], g->words[i] & 0xFFu);
        assert_int_equal(f->data[2 * i + 1], g->words[i] >> 8);
    }
}

/* ---------------------------------------------------------------- stream replay */

typedef struct {
    int rc;      /* pl_ttcp_frame error, else pl_ttcp_decode result */
    size_t at;   /* stream offset of the frame */
    size_t size; /* frame length, 0 on a framing error */
    pl_ttcp_frame_t f;
    uint16_t words[PL_TTCP_MAX_WORDS];
} event_t;

typedef struct {
    event_t ev[EVENTS_MAX];
    size_t n;
    int broken;     /* a framing error ended the stream */
    size_t pending; /* bytes left waiting at the end (when not broken) */
} trace_t;

/* Feeds s[0..n) to a receive buffer in pieces ending at cuts[0..ncuts) and then n, parsing
 * after each piece like a protocol session would: frame, decode, consume. A decode error
 * skips the frame; a framing error ends the stream. */
static void replay(const uint8_t *s, size_t n, size_t max_words, const size_t *cuts, size_t ncuts,
                   trace_t *t)
{
    static uint8_t rx[STREAM_MAX];
    size_t have = 0;
    size_t fed = 0;
    size_t consumed = 0;
    size_t ci = 0;
    size_t next;
    size_t need;
    size_t i;
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
            r = pl_ttcp_frame(rx, have, max_words, &need);
            if (r == PL_EAGAIN) {
                assert_true(need > have);
                break;
            }
            assert_true(t->n < EVENTS_MAX);
            e = &t->ev[t->n++];
            e->at = consumed;
            if (r < 0) {
                e->rc = r;
                t->broken = 1;
                return;
            }
            assert_int_equal(need, (size_t)r);
            assert_true((size_t)r <= have);
            e->size = (size_t)r;
            e->rc = pl_ttcp_decode(rx, e->size, max_words, &e->f);
            for (i = 0; i < e->f.data_words; i++)
                e->words[i] = pl_ttcp_word(&e->f, i);
            e->f.data = NULL; /* points into rx: compare the words instead */
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
    size_t w;

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
        assert_int_equal(x->f.length, y->f.length);
        assert_int_equal(x->f.opcode, y->f.opcode);
        assert_int_equal(x->f.node, y->f.node);
        assert_int_equal(x->f.group, y->f.group);
        assert_int_equal(x->f.offset, y->f.offset);
        assert_int_equal(x->f.type, y->f.type);
        assert_int_equal(x->f.count, y->f.count);
        assert_int_equal(x->f.data_words, y->f.data_words);
        for (w = 0; w < x->f.data_words; w++)
            assert_int_equal(x->words[w], y->words[w]);
    }
}

/* Replays whole, one byte at a time and split at every offset; all must agree with the
 * whole replay, which is left in *whole. */
static void replay_all_ways(const uint8_t *s, size_t n, size_t max_words, trace_t *whole)
{
    static trace_t other;
    static size_t cuts[STREAM_MAX];
    size_t k;

    replay(s, n, max_words, NULL, 0, whole);

    for (k = 0; k < n; k++)
        cuts[k] = k + 1;
    replay(s, n, max_words, cuts, n, &other);
    assert_same_trace(whole, &other);

    for (k = 1; k < n; k++) {
        cuts[0] = k;
        replay(s, n, max_words, cuts, 1, &other);
        assert_same_trace(whole, &other);
    }
}

/* ---------------------------------------------------------------- tests: golden vectors */

static void test_golden_decode(void **state)
{
    uint8_t b[256];
    pl_ttcp_frame_t f;
    size_t i;
    size_t n;
    size_t k;
    size_t need;

    (void)state;
    for (i = 0; i < ARRAY_LEN(golden); i++) {
        const golden_t *g = &golden[i];

        print_message("vector: %s\n", g->name);
        n = pl_test_hex(g->hex, b, sizeof(b));
        assert_int_equal(n, g->length);

        need = 0;
        assert_int_equal(pl_ttcp_frame(b, n, PL_TTCP_MAX_WORDS, &need), (int)n);
        assert_int_equal(need, n);
        assert_int_equal(pl_ttcp_frame(b, n, PL_TTCP_LEGACY_WORDS, NULL), (int)n);
        /* trailing bytes of a next frame do not change the answer */
        b[n] = 0xEE;
        assert_int_equal(pl_ttcp_frame(b, n + 1, PL_TTCP_MAX_WORDS, NULL), (int)n);

        /* every prefix asks for more, and says how much as far as it can tell */
        for (k = 0; k < n; k++) {
            need = 0;
            assert_int_equal(pl_ttcp_frame(b, k, PL_TTCP_MAX_WORDS, &need), PL_EAGAIN);
            assert_int_equal(need, k < 4 ? PL_TTCP_KEEPALIVE_LEN : g->length);
        }

        assert_int_equal(pl_ttcp_decode(b, n, PL_TTCP_MAX_WORDS, &f), 0);
        check_golden_fields(g, &f, b);
        assert_int_equal(pl_ttcp_decode(b, n, PL_TTCP_LEGACY_WORDS, &f), 0);
        check_golden_fields(g, &f, b);
    }
}

static void test_golden_byte_data(void **state)
{
    uint8_t b[64];
    pl_ttcp_frame_t f;
    size_t n;
    size_t i;

    (void)state;
    n = pl_test_hex(golden[3].hex, b, sizeof(b));
    assert_int_equal(pl_ttcp_decode(b, n, PL_TTCP_MAX_WORDS, &f), 0);
    assert_int_equal(f.data_words, 4);
    for (i = 0; i < f.data_words; i++) {
        assert_int_equal(f.data[2 * i + 1], 0); /* BYTE data: high byte 0 */
        assert_true(pl_ttcp_word(&f, i) <= 0xFFu);
    }
    /* out of range word index reads as 0 rather than past the view */
    assert_int_equal(pl_ttcp_word(&f, 4), 0);
    assert_int_equal(pl_ttcp_word(&f, (size_t)-1), 0);
}

static void test_golden_replay(void **state)
{
    static trace_t t;
    uint8_t b[256];
    pl_ttcp_frame_t f;
    size_t i;
    size_t n;
    size_t w;

    (void)state;
    for (i = 0; i < ARRAY_LEN(golden); i++) {
        const golden_t *g = &golden[i];

        print_message("vector: %s\n", g->name);
        n = pl_test_hex(g->hex, b, sizeof(b));
        replay_all_ways(b, n, PL_TTCP_MAX_WORDS, &t);
        assert_int_equal(t.n, 1);
        assert_false(t.broken);
        assert_int_equal(t.pending, 0);
        assert_int_equal(t.ev[0].rc, 0);
        assert_int_equal(t.ev[0].at, 0);
        assert_int_equal(t.ev[0].size, n);
        f = t.ev[0].f;
        f.data = g->data_words ? b + PL_TTCP_HEADER_LEN : NULL;
        check_golden_fields(g, &f, b);
        for (w = 0; w < g->data_words; w++)
            assert_int_equal(t.ev[0].words[w], g->words[w]);
    }
}

static void test_stream_back_to_back(void **state)
{
    static trace_t t;
    static uint8_t s[STREAM_MAX];
    size_t at[2 * ARRAY_LEN(golden)];
    size_t which[2 * ARRAY_LEN(golden)];
    size_t n = 0;
    size_t i;
    size_t j;
    size_t w;

    (void)state;
    /* all vectors forwards, then backwards */
    for (j = 0; j < 2 * ARRAY_LEN(golden); j++) {
        i = j < ARRAY_LEN(golden) ? j : 2 * ARRAY_LEN(golden) - 1 - j;
        which[j] = i;
        at[j] = n;
        n += pl_test_hex(golden[i].hex, s + n, sizeof(s) - n);
    }
    /* and half of a read request still in flight */
    n += pl_test_hex("1c000000 00000000 0300", s + n, sizeof(s) - n);

    replay_all_ways(s, n, PL_TTCP_MAX_WORDS, &t);
    assert_false(t.broken);
    assert_int_equal(t.pending, 10);
    assert_int_equal(t.n, 2 * ARRAY_LEN(golden));
    for (j = 0; j < t.n; j++) {
        const golden_t *g = &golden[which[j]];
        const event_t *e = &t.ev[j];

        assert_int_equal(e->rc, 0);
        assert_int_equal(e->at, at[j]);
        assert_int_equal(e->size, g->length);
        assert_int_equal(e->f.opcode, g->opcode);
        assert_int_equal(e->f.node, g->node);
        assert_int_equal(e->f.offset, g->offset);
        assert_int_equal(e->f.type, g->type);
        assert_int_equal(e->f.count, g->count);
        assert_int_equal(e->f.data_words, g->data_words);
        for (w = 0; w < g->data_words; w++)
            assert_int_equal(e->words[w], g->words[w]);
    }
}

/* A frame with a bad group is framed (its boundary is sound) and skipped; a frame with a bad
 * opcode breaks the stream. Both give the same trace however the bytes are split. */
static void test_stream_with_errors(void **state)
{
    static trace_t t;
    static uint8_t s[STREAM_MAX];
    size_t n = 0;

    (void)state;
    n += pl_test_hex(golden[1].hex, s + n, sizeof(s) - n); /* read response, 34 bytes */
    n += pl_test_hex("1c000000 00000000 03000000 01000000 64000000 01000000 0a000000", s + n,
                     sizeof(s) - n);                                      /* group 1, 28 bytes */
    n += pl_test_hex(golden[8].hex, s + n, sizeof(s) - n);                /* keep-alive, 8 bytes */
    n += pl_test_hex("1c000000 05000000 03000000", s + n, sizeof(s) - n); /* opcode 5 */
    n += pl_test_hex(golden[0].hex, s + n, sizeof(s) - n);                /* never reached */

    replay_all_ways(s, n, PL_TTCP_MAX_WORDS, &t);
    assert_true(t.broken);
    assert_int_equal(t.n, 4);
    assert_int_equal(t.ev[0].rc, 0);
    assert_int_equal(t.ev[0].at, 0);
    assert_int_equal(t.ev[1].rc, PL_ETTCP_GROUP);
    assert_int_equal(t.ev[1].at, 34);
    assert_int_equal(t.ev[1].f.group, 1); /* the bad value stays readable */
    assert_int_equal(t.ev[2].rc, 0);
    assert_int_equal(t.ev[2].at, 62);
    assert_int_equal(t.ev[2].f.opcode, PL_TTCP_OP_KEEPALIVE);
    assert_int_equal(t.ev[3].rc, PL_ETTCP_OPCODE);
    assert_int_equal(t.ev[3].at, 70);
    assert_int_equal(t.ev[3].size, 0);
}

/* ---------------------------------------------------------------- tests: validation */

typedef struct {
    const char *name;
    const char *hex;  /* the bytes; may stop soon after the proof */
    size_t max_words; /* 0 means PL_TTCP_MAX_WORDS */
    int err;          /* what pl_ttcp_frame and pl_ttcp_decode report */
    size_t proof;     /* bytes needed to prove it: fewer give PL_EAGAIN */
} frame_error_t;

static const frame_error_t frame_errors[] = {
    {"length 0", "00000000 00000000", 0, PL_ETTCP_SHORT, 4},
    {"length 7", "07000000 01000000", 0, PL_ETTCP_SHORT, 4},
    {"length 0xffffffff", "ffffffff", 0, PL_E_7TTCP_MSG_TOO_LONG, 4},
    {"length 0xffffffff, huge max_words", "ffffffff 00000000", (size_t)-1, PL_E_7TTCP_MSG_TOO_LONG,
     4},
    {"length 0x80000000", "00000080", 0, PL_E_7TTCP_MSG_TOO_LONG, 4},
    {"length 541 > 540", "1d020000 00000000", 0, PL_E_7TTCP_MSG_TOO_LONG, 4},
    {"length 542 = 257 words", "1e020000 00000000 00000000 00000000 00000000 02000000 01010000", 0,
     PL_E_7TTCP_MSG_TOO_LONG, 4},
    {"legacy: length 255", "ff000000 00000000", PL_TTCP_LEGACY_WORDS, PL_E_7TTCP_MSG_TOO_LONG, 4},
    {"legacy: length 256 = 114 words", "00010000 00000000", PL_TTCP_LEGACY_WORDS,
     PL_E_7TTCP_MSG_TOO_LONG, 4},
    {"user data, length 27", "1b000000 00000000 03000000 00000000 64000000 01000000 0a0000", 0,
     PL_ETTCP_SHORT, 8},
    {"user data, length 8", "08000000 00000000", 0, PL_ETTCP_SHORT, 8},
    {"opcode 2", "1c000000 02000000 03000000", 0, PL_ETTCP_OPCODE, 8},
    {"opcode 0x00000100", "08000000 00010000", 0, PL_ETTCP_OPCODE, 8},
    {"opcode 0xffffffff", "08000000 ffffffff", 0, PL_ETTCP_OPCODE, 8},
    {"keep-alive, length 12", "0c000000 01000000 00000000", 0, PL_ETTCP_LENGTH, 8},
    {"keep-alive, length 30", "1e000000 01000000", 0, PL_ETTCP_LENGTH, 8},
    {"keep-alive, length 540", "1c020000 01000000", 0, PL_ETTCP_LENGTH, 8},
    {"length 30 but 2 words", "1e000000 00000000 03000000 00000000 64000000 02000000 02000000 0100",
     0, PL_ETTCP_LENGTH, 28},
    {"length 34 but 2 words", "22000000 00000000 03000000 00000000 64000000 02000000 02000000", 0,
     PL_ETTCP_LENGTH, 28},
    {"length 29, 0 words", "1d000000 00000000 03000000 00000000 64000000 01000000 00000000 00", 0,
     PL_ETTCP_LENGTH, 28},
    {"length 30, count 0x80000001 (2*count wraps to 2 in 32 bits)",
     "1e000000 00000000 03000000 00000000 64000000 01000000 01000080 0000", 0, PL_ETTCP_LENGTH, 28},
    {"length wins over a bad group (group is checked later)",
     "1e000000 00000000 03000000 07000000 64000000 01000000 05000000 0000", 0, PL_ETTCP_LENGTH, 28},
};

static void test_frame_errors(void **state)
{
    static trace_t t;
    uint8_t b[256];
    pl_ttcp_frame_t f;
    size_t i;
    size_t n;
    size_t k;
    size_t need;
    size_t max;

    (void)state;
    for (i = 0; i < ARRAY_LEN(frame_errors); i++) {
        const frame_error_t *x = &frame_errors[i];

        print_message("error vector: %s\n", x->name);
        max = x->max_words ? x->max_words : PL_TTCP_MAX_WORDS;
        n = pl_test_hex(x->hex, b, sizeof(b));
        assert_true(n >= x->proof);
        for (k = 0; k < x->proof; k++) {
            need = 0;
            assert_int_equal(pl_ttcp_frame(b, k, max, &need), PL_EAGAIN);
            assert_true(need > k);
        }
        for (k = x->proof; k <= n; k++)
            assert_int_equal(pl_ttcp_frame(b, k, max, NULL), x->err);
        assert_int_equal(pl_ttcp_decode(b, n, max, &f), x->err);

        replay_all_ways(b, n, max, &t);
        assert_true(t.broken);
        assert_int_equal(t.n, 1);
        assert_int_equal(t.ev[0].rc, x->err);
    }
}

/* Frames whose boundary is sound but whose content is wrong: framed, then rejected. */
typedef struct {
    const char *name;
    const char *hex;
    size_t max_words; /* 0 means PL_TTCP_MAX_WORDS */
    int err;
} decode_error_t;

static const decode_error_t decode_errors[] = {
    {"group 1", "1c000000 00000000 03000000 01000000 64000000 01000000 0a000000", 0,
     PL_ETTCP_GROUP},
    {"group 0x01000000, with data",
     "1e000000 00000000 03000000 00000001 64000000 02000000 01000000 0100", 0, PL_ETTCP_GROUP},
    {"type 0", "1c000000 00000000 03000000 00000000 64000000 00000000 0a000000", 0, PL_ETTCP_TYPE},
    {"type 3", "1e000000 00000000 03000000 00000000 64000000 03000000 01000000 0100", 0,
     PL_ETTCP_TYPE},
    {"type 0x00000101", "1c000000 00000000 03000000 00000000 64000000 01010000 0a000000", 0,
     PL_ETTCP_TYPE},
    {"group before type (wire order)",
     "1c000000 00000000 03000000 02000000 64000000 09000000 0a000000", 0, PL_ETTCP_GROUP},
    {"read request for 257 words", "1c000000 00000000 03000000 00000000 00000000 01000000 01010000",
     0, PL_EBLOCK_TOO_BIG},
    {"read request for 0xffffffff words",
     "1c000000 00000000 03000000 00000000 00000000 01000000 ffffffff", 0, PL_EBLOCK_TOO_BIG},
    {"bare write ack for 257 words",
     "1c000000 00000000 03000000 00000000 00000000 02000000 01010000", 0, PL_EBLOCK_TOO_BIG},
    {"legacy: read request for 114 words",
     "1c000000 00000000 03000000 00000000 00000000 01000000 72000000", PL_TTCP_LEGACY_WORDS,
     PL_EBLOCK_TOO_BIG},
    {"type before count", "1c000000 00000000 03000000 00000000 00000000 07000000 01010000", 0,
     PL_ETTCP_TYPE},
};

static void test_decode_errors(void **state)
{
    static trace_t t;
    uint8_t b[256];
    pl_ttcp_frame_t f;
    size_t i;
    size_t n;
    size_t max;

    (void)state;
    for (i = 0; i < ARRAY_LEN(decode_errors); i++) {
        const decode_error_t *x = &decode_errors[i];

        print_message("error vector: %s\n", x->name);
        max = x->max_words ? x->max_words : PL_TTCP_MAX_WORDS;
        n = pl_test_hex(x->hex, b, sizeof(b));
        assert_int_equal(pl_ttcp_frame(b, n, max, NULL), (int)n);
        assert_int_equal(pl_ttcp_decode(b, n, max, &f), x->err);
        assert_null(f.data);
        assert_int_equal(f.data_words, 0);
        assert_int_equal(f.length, n); /* fields stay readable for error details */
        assert_int_equal(f.node, 3);

        replay_all_ways(b, n, max, &t);
        assert_false(t.broken);
        assert_int_equal(t.n, 1);
        assert_int_equal(t.ev[0].rc, x->err);
    }
}

/* The read request count limit follows max_words exactly. */
static void test_count_limit(void **state)
{
    uint8_t b[PL_TTCP_HEADER_LEN];
    pl_ttcp_frame_t f;

    (void)state;
    header(b, 28, 0, 1, 0, 0, 1, 256);
    assert_int_equal(pl_ttcp_decode(b, sizeof(b), PL_TTCP_MAX_WORDS, &f), 0);
    assert_int_equal(f.count, 256);
    assert_null(f.data);
    assert_int_equal(pl_ttcp_decode(b, sizeof(b), 255, &f), PL_EBLOCK_TOO_BIG);
    header(b, 28, 0, 1, 0, 0, 1, 113);
    assert_int_equal(pl_ttcp_decode(b, sizeof(b), PL_TTCP_LEGACY_WORDS, &f), 0);
    header(b, 28, 0, 1, 0, 0, 1, 114);
    assert_int_equal(pl_ttcp_decode(b, sizeof(b), PL_TTCP_LEGACY_WORDS, &f), PL_EBLOCK_TOO_BIG);
    /* max_words 0: only frames without data */
    header(b, 28, 0, 1, 0, 0, 1, 0);
    assert_int_equal(pl_ttcp_decode(b, sizeof(b), 0, &f), 0);
    header(b, 28, 0, 1, 0, 0, 1, 1);
    assert_int_equal(pl_ttcp_decode(b, sizeof(b), 0, &f), PL_EBLOCK_TOO_BIG);
    /* a huge max_words neither overflows nor rejects sound frames; lengths above INT_MAX
     * are still refused since they cannot be returned */
    header(b, 28, 0, 1, 0, 0, 1, 0xFFFFFFFFu);
    assert_int_equal(pl_ttcp_decode(b, sizeof(b), SIZE_MAX, &f), 0);
    assert_int_equal(f.count, 0xFFFFFFFFu);
    assert_int_equal(pl_ttcp_decode(b, sizeof(b), SIZE_MAX / 2, &f), 0);
    put32(b, 0x7FFFFFFFu);
    assert_int_equal(pl_ttcp_frame(b, 8, SIZE_MAX, NULL), PL_EAGAIN);
    put32(b, 0x80000000u);
    assert_int_equal(pl_ttcp_frame(b, 8, SIZE_MAX, NULL), PL_E_7TTCP_MSG_TOO_LONG);
}

/* pl_ttcp_decode wants exactly one frame. */
static void test_decode_wrong_len(void **state)
{
    uint8_t b[64];
    pl_ttcp_frame_t f;
    size_t n;
    size_t k;

    (void)state;
    n = pl_test_hex(golden[1].hex, b, sizeof(b)); /* read response, 34 bytes */
    for (k = 0; k < PL_TTCP_KEEPALIVE_LEN; k++)
        assert_int_equal(pl_ttcp_decode(b, k, PL_TTCP_MAX_WORDS, &f), PL_ETTCP_SHORT);
    for (k = PL_TTCP_KEEPALIVE_LEN; k < n; k++)
        assert_int_equal(pl_ttcp_decode(b, k, PL_TTCP_MAX_WORDS, &f), PL_ETTCP_LENGTH);
    assert_int_equal(pl_ttcp_decode(b, n, PL_TTCP_MAX_WORDS, &f), 0);
    b[n] = 0;
    assert_int_equal(pl_ttcp_decode(b, n + 1, PL_TTCP_MAX_WORDS, &f), PL_ETTCP_LENGTH);
    /* a short keep-alive with trailing bytes */
    n = pl_test_hex("08000000 01000000 00", b, sizeof(b));
    assert_int_equal(pl_ttcp_decode(b, n, PL_TTCP_MAX_WORDS, &f), PL_ETTCP_LENGTH);
    assert_int_equal(pl_ttcp_decode(b, n - 1, PL_TTCP_MAX_WORDS, &f), 0);
}

/* ---------------------------------------------------------------- tests: block sizes */

static void fill_words(uint16_t *w, size_t n, uint32_t seed)
{
    size_t i;

    for (i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        w[i] = (uint16_t)(seed >> 16);
    }
}

/* Legacy maximum: 113 words in a 254-byte frame (the manual's 255-byte message limit, 0x4008);
 * default maximum: 256 words in a 540-byte frame (0x5501). */
static void test_block_limits(void **state)
{
    static uint8_t b[PL_TTCP_MAX_FRAME + 64];
    static trace_t t;
    uint16_t w[PL_TTCP_MAX_WORDS + 1];
    pl_ttcp_frame_t f;
    size_t i;
    int n;

    (void)state;
    assert_int_equal(PL_TTCP_FRAME_LEN(PL_TTCP_LEGACY_WORDS), 254);
    assert_int_equal(PL_TTCP_MAX_FRAME, 540);
    fill_words(w, ARRAY_LEN(w), 7);

    n = pl_ttcp_encode(b, sizeof(b), 0, 2, 0, 1, 113, w);
    assert_int_equal(n, 254);
    assert_int_equal(pl_ttcp_frame(b, 254, PL_TTCP_LEGACY_WORDS, NULL), 254);
    assert_int_equal(pl_ttcp_decode(b, 254, PL_TTCP_LEGACY_WORDS, &f), 0);
    assert_int_equal(f.data_words, 113);
    for (i = 0; i < 113; i++)
        assert_int_equal(pl_ttcp_word(&f, i), w[i]);
    replay_all_ways(b, 254, PL_TTCP_LEGACY_WORDS, &t);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.ev[0].rc, 0);

    n = pl_ttcp_encode(b, sizeof(b), 0, 2, 0, 1, 114, w);
    assert_int_equal(n, 256);
    assert_int_equal(pl_ttcp_frame(b, 4, PL_TTCP_LEGACY_WORDS, NULL), PL_E_7TTCP_MSG_TOO_LONG);
    assert_int_equal(pl_ttcp_decode(b, 256, PL_TTCP_LEGACY_WORDS, &f), PL_E_7TTCP_MSG_TOO_LONG);
    assert_int_equal(pl_ttcp_decode(b, 256, PL_TTCP_MAX_WORDS, &f), 0);
    assert_int_equal(f.data_words, 114);

    n = pl_ttcp_encode(b, sizeof(b), 0, 2, 0, 2, 256, w);
    assert_int_equal(n, 540);
    assert_int_equal(pl_ttcp_frame(b, 540, PL_TTCP_MAX_WORDS, NULL), 540);
    assert_int_equal(pl_ttcp_decode(b, 540, PL_TTCP_MAX_WORDS, &f), 0);
    assert_int_equal(f.data_words, 256);
    assert_int_equal(pl_ttcp_word(&f, 255), w[255]);
    replay_all_ways(b, 540, PL_TTCP_MAX_WORDS, &t);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.ev[0].rc, 0);
    assert_int_equal(t.ev[0].words[255], w[255]);
    assert_int_equal(pl_ttcp_frame(b, 4, PL_TTCP_LEGACY_WORDS, NULL), PL_E_7TTCP_MSG_TOO_LONG);

    n = pl_ttcp_encode(b, sizeof(b), 0, 2, 0, 2, 257, w);
    assert_int_equal(n, 542);
    assert_int_equal(pl_ttcp_frame(b, 4, PL_TTCP_MAX_WORDS, NULL), PL_E_7TTCP_MSG_TOO_LONG);
    assert_int_equal(pl_ttcp_frame(b, 542, 257, NULL), 542);
}

/* ---------------------------------------------------------------- tests: encoding */

static void test_encode_golden(void **state)
{
    uint8_t want[256];
    uint8_t got[256];
    size_t i;
    size_t n;
    int r;

    (void)state;
    for (i = 0; i < ARRAY_LEN(golden); i++) {
        const golden_t *g = &golden[i];

        print_message("vector: %s\n", g->name);
        n = pl_test_hex(g->hex, want, sizeof(want));
        memset(got, 0xAA, sizeof(got));
        if (g->opcode == PL_TTCP_OP_KEEPALIVE && g->length == 8) {
            r = pl_ttcp_encode_keepalive(got, sizeof(got), 0);
        } else if (g->opcode == PL_TTCP_OP_KEEPALIVE && g->node == 0) {
            r = pl_ttcp_encode_keepalive(got, sizeof(got), 1);
        } else if (g->group != 0) {
            continue; /* padding sent with a group: pl_ttcp_encode always writes 0 */
        } else {
            r = pl_ttcp_encode(got, sizeof(got), g->opcode, g->node, g->offset, g->type, g->count,
                               g->data_words ? g->words : NULL);
        }
        assert_int_equal(r, (int)n);
        assert_memory_equal(got, want, n);
        assert_int_equal(got[n], 0xAA); /* nothing written past the frame */
    }
}

static void test_encode_roundtrip(void **state)
{
    static uint8_t b[PL_TTCP_MAX_FRAME];
    uint16_t w[PL_TTCP_MAX_WORDS];
    static const uint32_t counts[] = {0, 1, 2, 3, 17, 112, 113, 114, 255, 256};
    pl_ttcp_frame_t f;
    size_t i;
    size_t j;
    uint32_t type;
    int withdata;
    int n;

    (void)state;
    for (i = 0; i < ARRAY_LEN(counts); i++) {
        for (type = PL_TTCP_TYPE_READ; type <= PL_TTCP_TYPE_WRITE; type++) {
            for (withdata = 0; withdata <= 1; withdata++) {
                uint32_t node = (uint32_t)(i * 0x01020304u + type);
                uint32_t offset = (uint32_t)(0xFFFFu - i);

                fill_words(w, counts[i], (uint32_t)i);
                n = pl_ttcp_encode(b, sizeof(b), PL_TTCP_OP_DATA, node, offset, type, counts[i],
                                   withdata ? w : NULL);
                assert_int_equal(n, withdata ? (int)PL_TTCP_FRAME_LEN(counts[i]) : 28);
                assert_int_equal(pl_ttcp_frame(b, (size_t)n, PL_TTCP_MAX_WORDS, NULL), n);
                assert_int_equal(pl_ttcp_decode(b, (size_t)n, PL_TTCP_MAX_WORDS, &f), 0);
                assert_int_equal(f.length, n);
                assert_int_equal(f.opcode, PL_TTCP_OP_DATA);
                assert_int_equal(f.node, node);
                assert_int_equal(f.group, 0);
                assert_int_equal(f.offset, offset);
                assert_int_equal(f.type, type);
                assert_int_equal(f.count, counts[i]);
                assert_int_equal(f.data_words, withdata ? counts[i] : 0);
                for (j = 0; j < f.data_words; j++)
                    assert_int_equal(pl_ttcp_word(&f, j), w[j]);
            }
        }
    }
    for (i = 0; i <= 1; i++) {
        n = pl_ttcp_encode_keepalive(b, sizeof(b), (int)i);
        assert_int_equal(n, i ? 28 : 8);
        assert_int_equal(pl_ttcp_decode(b, (size_t)n, PL_TTCP_MAX_WORDS, &f), 0);
        assert_int_equal(f.opcode, PL_TTCP_OP_KEEPALIVE);
        assert_int_equal(f.length, n);
        assert_int_equal(f.node, 0);
        assert_int_equal(f.count, 0);
        assert_null(f.data);
    }
}

static void test_encode_nobufs(void **state)
{
    uint8_t b[64];
    uint16_t w[2] = {1, 2};
    size_t cap;
    size_t k;

    (void)state;
    for (cap = 0; cap < 32; cap++) {
        memset(b, 0xAA, sizeof(b));
        assert_int_equal(pl_ttcp_encode(b, cap, 0, 1, 0, 2, 2, w), PL_ENOBUFS);
        for (k = 0; k < sizeof(b); k++)
            assert_int_equal(b[k], 0xAA); /* nothing written */
    }
    assert_int_equal(pl_ttcp_encode(b, 32, 0, 1, 0, 2, 2, w), 32);
    for (cap = 0; cap < 28; cap++)
        assert_int_equal(pl_ttcp_encode(b, cap, 0, 1, 0, 1, 10, NULL), PL_ENOBUFS);
    assert_int_equal(pl_ttcp_encode(b, 28, 0, 1, 0, 1, 10, NULL), 28);
    for (cap = 0; cap < 8; cap++)
        assert_int_equal(pl_ttcp_encode_keepalive(b, cap, 0), PL_ENOBUFS);
    assert_int_equal(pl_ttcp_encode_keepalive(b, 8, 0), 8);
    for (cap = 0; cap < 28; cap++) {
        memset(b, 0xAA, sizeof(b));
        assert_int_equal(pl_ttcp_encode_keepalive(b, cap, 1), PL_ENOBUFS);
        assert_int_equal(b[0], 0xAA);
    }
    assert_int_equal(pl_ttcp_encode_keepalive(b, 28, 1), 28);
    /* a count whose data cannot fit any sane buffer; words are never read */
    assert_int_equal(pl_ttcp_encode(b, sizeof(b), 0, 1, 0, 2, 0xFFFFFFFFu, w), PL_ENOBUFS);
    /* a frame longer than an int can report is refused before anything is written */
    memset(b, 0xAA, sizeof(b));
    assert_int_equal(pl_ttcp_encode(b, SIZE_MAX, 0, 1, 0, 2, 0x40000000u, w), PL_ERANGE);
    assert_int_equal(b[0], 0xAA);
}

/* The encoder does not judge opcode or type, so tests can build bad frames. */
static void test_encode_bad_frames(void **state)
{
    uint8_t b[64];
    pl_ttcp_frame_t f;
    int n;

    (void)state;
    n = pl_ttcp_encode(b, sizeof(b), 7, 1, 0, 1, 0, NULL);
    assert_int_equal(n, 28);
    assert_int_equal(pl_ttcp_frame(b, (size_t)n, PL_TTCP_MAX_WORDS, NULL), PL_ETTCP_OPCODE);
    n = pl_ttcp_encode(b, sizeof(b), 0, 1, 0, 9, 0, NULL);
    assert_int_equal(pl_ttcp_decode(b, (size_t)n, PL_TTCP_MAX_WORDS, &f), PL_ETTCP_TYPE);
    assert_int_equal(f.type, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_decode),      cmocka_unit_test(test_golden_byte_data),
        cmocka_unit_test(test_golden_replay),      cmocka_unit_test(test_stream_back_to_back),
        cmocka_unit_test(test_stream_with_errors), cmocka_unit_test(test_frame_errors),
        cmocka_unit_test(test_decode_errors),      cmocka_unit_test(test_count_limit),
        cmocka_unit_test(test_decode_wrong_len),   cmocka_unit_test(test_block_limits),
        cmocka_unit_test(test_encode_golden),      cmocka_unit_test(test_encode_roundtrip),
        cmocka_unit_test(test_encode_nobufs),      cmocka_unit_test(test_encode_bad_frames),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
