/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the IEC 60870-5-104 codec (src/proto/iec104/codec/).
 *
 * The input is a byte stream. It is framed whole, split in two at a position derived from
 * the first byte (the first part in an exact-size heap copy, so reading past it is caught),
 * and one byte at a time; all three must give the same APDUs and errors. Every APDU that
 * decodes is re-encoded with the APCI encoders and must come back byte for byte; every
 * I-frame's ASDU is decoded with each set of field sizes, its objects read, re-encoded with
 * pl_iec104_asdu_encode and decoded again, and must give the same header and objects. The
 * whole input is also decoded as a bare ASDU, and its CP56Time2a conversions are held to
 * their inverse. Any disagreement aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plcline/error.h"
#include "proto/iec104/codec/apci.h"
#include "proto/iec104/codec/asdu.h"
#include "proto/iec104/codec/cp56.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

typedef struct {
    int rc;
    size_t at;
    size_t size;
} event_t;

typedef struct {
    event_t *ev;
    size_t n;
    size_t cap;
} trace_t;

static const pl_iec104_params_t param_sets[] = {
    {2, 2, 3}, /* IEC 104 */
    {1, 1, 1}, /* the smallest */
    {2, 1, 2},
    {1, 2, 3},
};

static void check_time(const pl_iec104_cp56_t *t)
{
    pl_iec104_cp56_t u;
    int64_t ms;
    int64_t back;

    if (pl_iec104_cp56_to_unix_ms(t, &ms) != 0)
        return;
    CHECK(ms >= PL_IEC104_CP56_MIN_MS && ms < PL_IEC104_CP56_END_MS);
    CHECK(pl_iec104_cp56_from_unix_ms(ms, &u) == 0);
    CHECK(u.ms == t->ms && u.min == t->min && u.hour == t->hour && u.mday == t->mday &&
          u.month == t->month && u.year == t->year && u.wday >= 1 && u.wday <= 7);
    CHECK(pl_iec104_cp56_to_unix_ms(&u, &back) == 0 && back == ms);
}

static void same_asdu(const pl_iec104_asdu_t *a, const pl_iec104_asdu_t *b)
{
    CHECK(a->type == b->type && a->sq == b->sq && a->count == b->count && a->cause == b->cause &&
          a->pn == b->pn && a->test == b->test && a->oa == b->oa && a->ca == b->ca);
}

/* Decodes an ASDU, and when it decodes re-encodes it and checks the result. */
static void asdu_roundtrip(const uint8_t *buf, size_t len, const pl_iec104_params_t *p)
{
    static pl_iec104_object_t objs[PL_IEC104_ASDU_MAX_OBJECTS];
    uint8_t enc[PL_IEC104_MAX_ASDU];
    pl_iec104_asdu_t a;
    pl_iec104_asdu_t b;
    pl_iec104_object_t o;
    pl_iec104_iter_t it;
    size_t fitted;
    size_t i;
    int n;
    int r;

    r = pl_iec104_asdu_decode(buf, len, p, &a);
    if (r != 0) {
        CHECK(r == PL_EIEC104_SHORT || r == PL_EIEC104_TYPE || r == PL_EIEC104_VSQ ||
              r == PL_EIEC104_COT || r == PL_EIEC104_TRAILING);
        CHECK(a.objs == NULL);
        return;
    }
    CHECK(a.count >= 1 && a.count <= PL_IEC104_ASDU_MAX_OBJECTS);
    CHECK(a.objs == buf + pl_iec104_header_len(p));
    for (i = 0; i < a.count; i++) {
        CHECK(pl_iec104_asdu_object(&a, i, &objs[i]) == 0);
        if (objs[i].has_time)
            check_time(&objs[i].time);
    }
    CHECK(pl_iec104_asdu_object(&a, a.count, &o) == PL_EINVAL);
    pl_iec104_iter_init(&it, &a);
    for (i = 0; pl_iec104_iter_next(&it, &o) > 0; i++)
        CHECK(i < a.count && memcmp(&o, &objs[i], sizeof(o)) == 0);
    CHECK(i == a.count);

    /* it came in at most 249 octets, so it goes out whole in as many */
    n = pl_iec104_asdu_encode(enc, len, p, &a, objs, a.count, &fitted);
    CHECK(n == (int)len && fitted == a.count);
    CHECK(pl_iec104_objects_max(p, a.type, a.sq) >= a.count);
    CHECK(pl_iec104_asdu_decode(enc, (size_t)n, p, &b) == 0);
    same_asdu(&a, &b);
    for (i = 0; i < b.count; i++) {
        CHECK(pl_iec104_asdu_object(&b, i, &o) == 0);
        CHECK(memcmp(&o, &objs[i], sizeof(o)) == 0);
    }
    /* one octet less never holds them all */
    n = pl_iec104_asdu_encode(enc, len - 1u, p, &a, objs, a.count, &fitted);
    CHECK(n == PL_ENOBUFS || (n > 0 && (size_t)n < len && fitted < a.count));
}

static void apdu_roundtrip(const uint8_t *frame, size_t len, const pl_iec104_apdu_t *f)
{
    uint8_t enc[PL_IEC104_MAX_APDU];
    int n = 0;
    size_t i;

    switch (f->kind) {
    case PL_IEC104_FRAME_I:
        n = pl_iec104_encode_i(enc, sizeof(enc), f->ns, f->nr, f->asdu, f->asdu_len);
        for (i = 0; i < sizeof(param_sets) / sizeof(param_sets[0]); i++)
            asdu_roundtrip(f->asdu, f->asdu_len, &param_sets[i]);
        break;
    case PL_IEC104_FRAME_S:
        n = pl_iec104_encode_s(enc, sizeof(enc), f->nr);
        break;
    case PL_IEC104_FRAME_U:
        n = pl_iec104_encode_u(enc, sizeof(enc), f->func);
        break;
    }
    CHECK(n == (int)len);
    CHECK(memcmp(enc, frame, len) == 0);
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
}

/* Frames as many APDUs as buf[0..len) holds, at stream offset `base`. Returns the bytes
 * consumed; sets *broken on a framing error. */
static size_t parse(const uint8_t *buf, size_t len, size_t base, trace_t *rec, const trace_t *ref,
                    size_t *ri, int *broken)
{
    pl_iec104_apdu_t f;
    size_t pos = 0;
    size_t need;
    event_t e;
    int r;

    while (!*broken) {
        need = 0;
        r = pl_iec104_frame(buf + pos, len - pos, &need);
        if (r == PL_EAGAIN) {
            CHECK(need > len - pos && need <= PL_IEC104_MAX_APDU);
            break;
        }
        memset(&e, 0, sizeof(e));
        e.at = base + pos;
        if (r < 0) {
            CHECK(r == PL_EIEC104_START || r == PL_EIEC104_LENGTH);
            e.rc = r;
            *broken = 1;
        } else {
            CHECK(need == (size_t)r && (size_t)r <= len - pos && r >= 6 &&
                  r <= (int)PL_IEC104_MAX_APDU);
            e.size = (size_t)r;
            e.rc = pl_iec104_decode(buf + pos, e.size, &f);
            if (e.rc == 0 && rec != NULL)
                apdu_roundtrip(buf + pos, e.size, &f);
            else if (e.rc != 0)
                CHECK(e.rc == PL_EIEC104_CONTROL || e.rc == PL_EIEC104_LENGTH);
            pos += e.size;
        }
        if (rec != NULL)
            record(rec, &e);
        else
            expect(ref, ri, &e);
    }
    return pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    trace_t whole;
    size_t split;
    size_t pos;
    size_t have;
    size_t ri;
    size_t i;
    uint8_t *part;
    int broken;

    whole.cap = size / PL_IEC104_APCI_LEN + 1;
    whole.n = 0;
    whole.ev = malloc(whole.cap * sizeof(*whole.ev));
    CHECK(whole.ev != NULL);

    broken = 0;
    (void)parse(data, size, 0, &whole, NULL, NULL, &broken);

    split = size ? (size_t)data[0] * size / 255u : 0;
    part = malloc(split ? split : 1);
    CHECK(part != NULL);
    memcpy(part, data, split);
    ri = 0;
    broken = 0;
    pos = parse(part, split, 0, NULL, &whole, &ri, &broken);
    free(part);
    if (!broken)
        (void)parse(data + pos, size - pos, pos, NULL, &whole, &ri, &broken);
    CHECK(ri == whole.n);

    ri = 0;
    broken = 0;
    pos = 0;
    for (have = 1; have <= size - pos && !broken; have++) {
        size_t used = parse(data + pos, have, pos, NULL, &whole, &ri, &broken);

        pos += used;
        have -= used;
    }
    CHECK(ri == whole.n);
    free(whole.ev);

    /* the input as a bare ASDU, in an exact-size copy */
    if (size <= PL_IEC104_MAX_ASDU) {
        part = malloc(size ? size : 1);
        CHECK(part != NULL);
        memcpy(part, data, size);
        for (i = 0; i < sizeof(param_sets) / sizeof(param_sets[0]); i++)
            asdu_roundtrip(part, size, &param_sets[i]);
        free(part);
    }
    /* and its first 7 octets as a time */
    if (size >= PL_IEC104_CP56_LEN) {
        pl_iec104_cp56_t t;
        uint8_t enc[PL_IEC104_CP56_LEN];
        pl_iec104_cp56_t u;

        pl_iec104_cp56_decode(data, &t);
        check_time(&t);
        CHECK(pl_iec104_cp56_encode(enc, &t) == (int)PL_IEC104_CP56_LEN);
        pl_iec104_cp56_decode(enc, &u);
        CHECK(memcmp(&t, &u, sizeof(t)) == 0);
    }
    return 0;
}
