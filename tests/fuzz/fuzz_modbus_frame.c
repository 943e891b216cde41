/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the Modbus TCP codec (src/proto/modbus/codec/modbus.c).
 *
 * The input is a byte stream. It is framed whole, split in two at a position derived from
 * the first byte (the first part in an exact-size heap copy, so reading past it is caught),
 * and one byte at a time; all three must give the same ADUs and errors. Every framed ADU is
 * decoded both as a request and as a response; whatever decodes is encoded again, must give
 * the same bytes, and must decode to the same fields. Any disagreement aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plcline/error.h"
#include "proto/modbus/codec/modbus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

typedef struct {
    int rc;     /* framing error or frame length */
    int req_rc; /* pl_modbus_req_decode result */
    int rsp_rc; /* pl_modbus_rsp_decode result */
    size_t at;
} event_t;

typedef struct {
    event_t *ev;
    size_t n;
    size_t cap;
} trace_t;

static int same_req(const pl_modbus_req_t *a, const pl_modbus_req_t *b)
{
    return a->function == b->function && a->addr == b->addr && a->count == b->count &&
           a->value == b->value && a->and_mask == b->and_mask && a->or_mask == b->or_mask &&
           a->waddr == b->waddr && a->wcount == b->wcount && a->data_len == b->data_len &&
           (a->data_len == 0 || memcmp(a->data, b->data, a->data_len) == 0) &&
           a->mei_type == b->mei_type && a->devid_code == b->devid_code &&
           a->object_id == b->object_id;
}

static int same_rsp(const pl_modbus_rsp_t *a, const pl_modbus_rsp_t *b)
{
    return a->function == b->function && a->exception == b->exception &&
           a->data_len == b->data_len &&
           (a->data_len == 0 || memcmp(a->data, b->data, a->data_len) == 0) && a->addr == b->addr &&
           a->count == b->count && a->value == b->value && a->and_mask == b->and_mask &&
           a->or_mask == b->or_mask && a->mei_type == b->mei_type &&
           a->devid_code == b->devid_code && a->conformity == b->conformity &&
           a->more_follows == b->more_follows && a->next_object == b->next_object &&
           a->object_count == b->object_count && a->objects_len == b->objects_len &&
           (a->objects_len == 0 || memcmp(a->objects, b->objects, a->objects_len) == 0);
}

/* Decodes one framed ADU both ways and checks decode -> encode -> decode. */
static void decode_both(const uint8_t *adu_bytes, size_t n, event_t *e)
{
    uint8_t buf[PL_MODBUS_MAX_ADU];
    pl_modbus_adu_t adu;
    pl_modbus_adu_t adu2;
    pl_modbus_req_t req;
    pl_modbus_req_t req2;
    pl_modbus_rsp_t rsp;
    pl_modbus_rsp_t rsp2;
    pl_modbus_devid_obj_t obj;
    size_t pos = 0;
    unsigned objs = 0;
    int r;

    CHECK(pl_modbus_adu_decode(adu_bytes, n, &adu, NULL) == 0);
    CHECK(adu.pdu == adu_bytes + PL_MODBUS_MBAP_LEN && adu.pdu_len == n - PL_MODBUS_MBAP_LEN);

    e->req_rc = pl_modbus_req_decode(adu.pdu, adu.pdu_len, &req, NULL);
    if (e->req_rc == 0) {
        r = pl_modbus_req_encode(buf, sizeof(buf), adu.tid, adu.unit, &req);
        CHECK(r == (int)n && memcmp(buf, adu_bytes, n) == 0);
        CHECK(pl_modbus_adu_decode(buf, n, &adu2, NULL) == 0);
        CHECK(pl_modbus_req_decode(adu2.pdu, adu2.pdu_len, &req2, NULL) == 0);
        CHECK(same_req(&req, &req2));
    } else {
        CHECK(e->req_rc == PL_EMODBUS_FUNCTION || e->req_rc == PL_EMODBUS_FORMAT ||
              e->req_rc == PL_EMODBUS_VALUE);
    }

    e->rsp_rc = pl_modbus_rsp_decode(adu.pdu, adu.pdu_len, &rsp, NULL);
    if (e->rsp_rc == 0) {
        r = pl_modbus_rsp_encode(buf, sizeof(buf), adu.tid, adu.unit, &rsp);
        CHECK(r == (int)n && memcmp(buf, adu_bytes, n) == 0);
        CHECK(pl_modbus_adu_decode(buf, n, &adu2, NULL) == 0);
        CHECK(pl_modbus_rsp_decode(adu2.pdu, adu2.pdu_len, &rsp2, NULL) == 0);
        CHECK(same_rsp(&rsp, &rsp2));
        /* a request that decodes is matched without crashing; the walk ends in bounds */
        if (e->req_rc == 0)
            (void)pl_modbus_rsp_match(&req, &rsp, NULL);
        while (pl_modbus_devid_next(&rsp, &pos, &obj)) {
            CHECK(obj.value + obj.len <= rsp.objects + rsp.objects_len);
            objs++;
        }
        CHECK(objs == rsp.object_count || rsp.function != PL_MODBUS_FC_MEI || rsp.exception);
        if (rsp.exception)
            CHECK(pl_modbus_exception_error(rsp.exception) != 0);
    } else {
        CHECK(e->rsp_rc == PL_EMODBUS_FUNCTION || e->rsp_rc == PL_EMODBUS_FORMAT ||
              e->rsp_rc == PL_EMODBUS_VALUE);
    }
}

static size_t parse(const uint8_t *buf, size_t len, size_t base, trace_t *rec, const trace_t *ref,
                    size_t *ri, int *broken)
{
    size_t pos = 0;
    size_t need;
    event_t e;
    int r;

    while (!*broken) {
        need = 0;
        r = pl_modbus_frame(buf + pos, len - pos, &need);
        if (r == PL_EAGAIN) {
            CHECK(need > len - pos && need >= PL_MODBUS_MIN_ADU && need <= PL_MODBUS_MAX_ADU);
            break;
        }
        memset(&e, 0, sizeof(e));
        e.at = base + pos;
        e.rc = r;
        if (r < 0) {
            CHECK(r == PL_EMODBUS_PROTOCOL || r == PL_EMODBUS_LENGTH);
            *broken = 1;
        } else {
            CHECK((size_t)r == need && (size_t)r <= len - pos && r >= (int)PL_MODBUS_MIN_ADU &&
                  r <= (int)PL_MODBUS_MAX_ADU);
            decode_both(buf + pos, (size_t)r, &e);
            pos += (size_t)r;
        }
        if (rec != NULL) {
            CHECK(rec->n < rec->cap);
            rec->ev[rec->n++] = e;
        } else {
            const event_t *w;

            CHECK(*ri < ref->n);
            w = &ref->ev[(*ri)++];
            CHECK(w->rc == e.rc && w->at == e.at && w->req_rc == e.req_rc && w->rsp_rc == e.rsp_rc);
        }
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
    uint8_t *part;
    int broken;

    whole.cap = size / PL_MODBUS_MIN_ADU + 1;
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
    return 0;
}
