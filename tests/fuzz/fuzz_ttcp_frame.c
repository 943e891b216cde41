/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the 7TTCP frame codec (src/proto/ttcp/codec/ttcp.c).
 *
 * The input is a byte stream. It is parsed whole, split in two at a position derived from
 * the first byte (the first part in an exact-size heap copy, so reading past it is caught),
 * and one byte at a time; all three must give the same frames and errors. Every frame that
 * decodes is re-encoded with pl_ttcp_encode and decoded again, and must come back the same.
 * Any disagreement aborts. Both the default and the legacy block limits are exercised.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ttcp/codec/ttcp.h"
#include "plcline/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    int rc;      /* pl_ttcp_frame error, else pl_ttcp_decode result */
    size_t at;   /* stream offset */
    size_t size; /* frame length, 0 on a framing error */
    pl_ttcp_frame_t f;
} event_t;

/* The whole-stream parse, which the other ways are held to. */
typedef struct {
    event_t *ev;
    size_t n;
    size_t cap;
} trace_t;

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

static int same_fields(const pl_ttcp_frame_t *a, const pl_ttcp_frame_t *b)
{
    return a->length == b->length && a->opcode == b->opcode && a->node == b->node &&
           a->group == b->group && a->offset == b->offset && a->type == b->type &&
           a->count == b->count && a->data_words == b->data_words &&
           (a->data_words == 0 || memcmp(a->data, b->data, 2u * a->data_words) == 0);
}

/* Re-encodes a decoded frame and checks it decodes to the same fields. */
static void roundtrip(const uint8_t *frame, const pl_ttcp_frame_t *f, size_t max_words)
{
    uint8_t buf[PL_TTCP_MAX_FRAME];
    uint16_t words[PL_TTCP_MAX_WORDS];
    pl_ttcp_frame_t g;
    pl_ttcp_frame_t want = *f;
    size_t i;
    int n;

    CHECK(f->data_words <= PL_TTCP_MAX_WORDS);
    for (i = 0; i < f->data_words; i++)
        words[i] = pl_ttcp_word(f, i);
    if (f->opcode == PL_TTCP_OP_KEEPALIVE && f->length == PL_TTCP_KEEPALIVE_LEN)
        n = pl_ttcp_encode_keepalive(buf, sizeof(buf), 0);
    else
        n = pl_ttcp_encode(buf, sizeof(buf), f->opcode, f->node, f->offset, f->type, f->count,
                           f->data_words ? words : NULL);
    CHECK(n == (int)f->length);
    /* group is always encoded as 0; only a padded keep-alive may carry another one */
    want.group = 0;
    if (f->group == 0)
        CHECK(memcmp(buf, frame, (size_t)n) == 0);
    CHECK(pl_ttcp_frame(buf, (size_t)n, max_words, NULL) == n);
    CHECK(pl_ttcp_decode(buf, (size_t)n, max_words, &g) == 0);
    CHECK(g.data_words == 0 || g.data == buf + PL_TTCP_HEADER_LEN);
    CHECK(same_fields(&g, &want));
}

static void record(trace_t *t, const event_t *e)
{
    CHECK(t->n < t->cap);
    t->ev[t->n++] = *e;
}

static void expect(const trace_t *t, size_t *i, const event_t *e)
{
    const event_t *w;

    CHECK(*i < t->n);
    w = &t->ev[(*i)++];
    CHECK(w->rc == e->rc && w->at == e->at && w->size == e->size);
    CHECK(same_fields(&w->f, &e->f));
}

/* Parses as many frames as buf[0..len) holds, starting at stream offset `base`. Returns the
 * bytes consumed; sets *broken on a framing error. Each event is recorded into `rec` (when
 * not NULL) or checked against `ref` at *ri. */
static size_t parse(const uint8_t *buf, size_t len, size_t base, size_t max_words, trace_t *rec,
                    const trace_t *ref, size_t *ri, int *broken)
{
    size_t pos = 0;
    size_t need;
    event_t e;
    int r;

    while (!*broken) {
        need = 0;
        r = pl_ttcp_frame(buf + pos, len - pos, max_words, &need);
        if (r == PL_EAGAIN) {
            CHECK(need > len - pos);
            break;
        }
        memset(&e, 0, sizeof(e));
        e.at = base + pos;
        if (r < 0) {
            CHECK(r == PL_ETTCP_SHORT || r == PL_ETTCP_OPCODE || r == PL_E_7TTCP_MSG_TOO_LONG ||
                  r == PL_ETTCP_LENGTH);
            e.rc = r;
            *broken = 1;
        } else {
            CHECK(need == (size_t)r && (size_t)r <= len - pos && r >= 8);
            e.size = (size_t)r;
            e.rc = pl_ttcp_decode(buf + pos, e.size, max_words, &e.f);
            if (e.rc == 0 && rec != NULL)
                roundtrip(buf + pos, &e.f, max_words);
            pos += e.size;
        }
        if (rec != NULL)
            record(rec, &e);
        else
            expect(ref, ri, &e);
    }
    return pos;
}

static void run(const uint8_t *data, size_t size, size_t max_words)
{
    trace_t whole;
    size_t split;
    size_t pos;
    size_t have;
    size_t ri;
    uint8_t *part;
    int broken;

    whole.cap = size / PL_TTCP_KEEPALIVE_LEN + 1;
    whole.n = 0;
    whole.ev = malloc(whole.cap * sizeof(*whole.ev));
    CHECK(whole.ev != NULL);

    /* whole */
    broken = 0;
    (void)parse(data, size, 0, max_words, &whole, NULL, NULL, &broken);

    /* split in two: first part in its own exact-size buffer */
    split = size ? (size_t)data[0] * size / 255u : 0;
    part = malloc(split ? split : 1);
    CHECK(part != NULL);
    memcpy(part, data, split);
    ri = 0;
    broken = 0;
    pos = parse(part, split, 0, max_words, NULL, &whole, &ri, &broken);
    free(part);
    if (!broken)
        (void)parse(data + pos, size - pos, pos, max_words, NULL, &whole, &ri, &broken);
    CHECK(ri == whole.n);

    /* one byte at a time */
    ri = 0;
    broken = 0;
    pos = 0;
    for (have = 1; have <= size - pos && !broken; have++) {
        size_t used = parse(data + pos, have, pos, max_words, NULL, &whole, &ri, &broken);

        pos += used;
        have -= used;
    }
    CHECK(ri == whole.n);

    free(whole.ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(data, size, PL_TTCP_MAX_WORDS);
    run(data, size, PL_TTCP_LEGACY_WORDS);
    return 0;
}
