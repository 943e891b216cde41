/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the PCCC codec (src/proto/pccc/codec/pccc.c).
 *
 * Input: one selector byte (low two bits pick the PCCC object service 0x4B, 0x4C, 0x4D, or
 * 3 = raw PCCC without a wrapper), then the CIP payload, copied to an exact-size heap buffer
 * so any read past it is caught. A wrapper that decodes must re-encode to the same bytes. The
 * PCCC message is decoded both as a request and as a reply:
 *   request: what decodes is re-encoded and decoded again, and must give the same fields; an
 *            unknown command is answered with STS 0x10, which must decode as that reply;
 *   reply:   re-encoded from its fields it must give the same bytes; its data is also run
 *            through the diagnostic status and typed data decoders.
 * Errors must be negative PL_E* codes with a NUL-terminated detail. Any disagreement aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/pccc/codec/pccc.h"
#include "plcline/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_MAX 2048u

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

static int same_view(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static int same_addr(const pl_pccc_sysaddr_t *a, const pl_pccc_sysaddr_t *b)
{
    size_t k;

    if (a->ascii != b->ascii)
        return 0;
    if (a->ascii)
        return same_view(a->text, a->text_len, b->text, b->text_len);
    if (a->mask != b->mask || a->nlevels != b->nlevels)
        return 0;
    for (k = 0; k < PL_PCCC_LEVELS_MAX; k++)
        if (a->level[k] != b->level[k])
            return 0;
    return 1;
}

static int same_request(const pl_pccc_request_t *a, const pl_pccc_request_t *b)
{
    if (a->op != b->op || a->cmd != b->cmd || a->sts != b->sts || a->tns != b->tns ||
        a->fnc != b->fnc)
        return 0;
    switch (a->op) {
    case PL_PCCC_OP_SLC_READ:
    case PL_PCCC_OP_SLC_WRITE:
    case PL_PCCC_OP_SLC_MASKED:
        if (a->slc.size != b->slc.size || a->slc.file != b->slc.file ||
            a->slc.type != b->slc.type || a->slc.element != b->slc.element ||
            a->slc.sub != b->slc.sub)
            return 0;
        if (a->op == PL_PCCC_OP_SLC_MASKED &&
            !same_view(a->mask, a->slc.size, b->mask, b->slc.size))
            return 0;
        return same_view(a->data, a->data_len, b->data, b->data_len);
    case PL_PCCC_OP_PLC5_READ:
    case PL_PCCC_OP_PLC5_WRITE:
    case PL_PCCC_OP_WORD_READ:
    case PL_PCCC_OP_WORD_WRITE:
        if (a->packet_offset != b->packet_offset || a->total_trans != b->total_trans ||
            !same_addr(&a->addr, &b->addr) || a->count != b->count)
            return 0;
        if (a->op == PL_PCCC_OP_PLC5_WRITE &&
            (a->typed.array != b->typed.array || a->typed.type != b->typed.type ||
             a->typed.elem_size != b->typed.elem_size ||
             !same_view(a->typed.data, a->typed.data_len, b->typed.data, b->typed.data_len)))
            return 0;
        return same_view(a->data, a->data_len, b->data, b->data_len);
    case PL_PCCC_OP_DIAG_STATUS:
        return 1;
    case PL_PCCC_OP_UNKNOWN:
        return 0;
    }
    return 0;
}

static void check_error(int rc, const pl_status_t *st)
{
    CHECK(rc < 0);
    CHECK(st->code == rc);
    CHECK(memchr(st->detail, '\0', sizeof(st->detail)) != NULL);
    CHECK(pl_err_code(rc) != 0);
}

static void request(const uint8_t *p, size_t n)
{
    static uint8_t out[OUT_MAX];
    pl_pccc_request_t req, again;
    pl_pccc_reply_t rep;
    pl_status_t st;
    int rc, m;

    pl_status_clear(&st);
    rc = pl_pccc_request_decode(p, n, &req, &st);
    if (rc != 0) {
        check_error(rc, &st);
        if (rc == PL_EPCCC_COMMAND && n >= PL_PCCC_REPLY_HEADER) {
            /* the simulator's answer to an unknown command */
            m = pl_pccc_reply_encode(out, sizeof(out), req.cmd, req.tns, PL_PCCC_STS_ILLEGAL_CMD, 0,
                                     NULL, 0);
            CHECK(m == (int)PL_PCCC_REPLY_HEADER);
            CHECK(pl_pccc_reply_decode(out, (size_t)m, &rep, &st) == 0);
            CHECK(rep.sts == PL_PCCC_STS_ILLEGAL_CMD && rep.tns == req.tns);
            CHECK(pl_pccc_reply_match(&rep, req.cmd, req.tns, &st) == 0);
        }
        return;
    }
    CHECK(req.op != PL_PCCC_OP_UNKNOWN);
    m = pl_pccc_request_encode(out, sizeof(out), &req);
    CHECK(m > 0);
    CHECK((size_t)m <= n); /* only type/data spellings may differ: ours are the shortest */
    rc = pl_pccc_request_decode(out, (size_t)m, &again, &st);
    CHECK(rc == 0);
    CHECK(same_request(&req, &again));
    if (m > 1)
        CHECK(pl_pccc_request_encode(out, (size_t)m - 1u, &again) == PL_ENOBUFS);
}

static void reply(const uint8_t *p, size_t n)
{
    static uint8_t out[OUT_MAX];
    pl_pccc_reply_t rep;
    pl_pccc_diag_t d;
    pl_pccc_typed_t t;
    pl_status_t st;
    int rc, m;

    pl_status_clear(&st);
    rc = pl_pccc_reply_decode(p, n, &rep, &st);
    if (rc != 0) {
        check_error(rc, &st);
        return;
    }
    CHECK(rep.data_len <= n);
    m = pl_pccc_reply_encode(out, sizeof(out), (uint8_t)(rep.cmd & ~PL_PCCC_CMD_REPLY), rep.tns,
                             rep.sts, rep.ext_sts, rep.data, rep.data_len);
    CHECK(m == (int)n && memcmp(out, p, n) == 0);
    CHECK(pl_pccc_reply_match(&rep, (uint8_t)(rep.cmd & ~PL_PCCC_CMD_REPLY), rep.tns, &st) == 0);

    rc = pl_pccc_diag_decode(rep.data, rep.data_len, &d, &st);
    if (rc == 0) {
        CHECK(d.model != NULL);
        CHECK(strlen(d.catalog) <= PL_PCCC_CATALOG_LEN);
    } else {
        check_error(rc, &st);
    }
    rc = pl_pccc_typed_decode(rep.data, rep.data_len, &t, &st);
    if (rc == 0) {
        CHECK(t.data_len <= rep.data_len);
        m = pl_pccc_typed_encode(out, sizeof(out), &t);
        if (m > 0) {
            pl_pccc_typed_t t2;

            CHECK(pl_pccc_typed_decode(out, (size_t)m, &t2, &st) == 0);
            CHECK(t2.array == t.array && t2.type == t.type && t2.elem_size == t.elem_size);
            CHECK(same_view(t2.data, t2.data_len, t.data, t.data_len));
        } else {
            /* an element of size 0 in an array is the only thing the encoder refuses */
            CHECK(m == PL_EINVAL && t.array && t.elem_size == 0);
        }
    } else {
        check_error(rc, &st);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t services[3] = {PL_PCCC_SVC_EXECUTE, PL_PCCC_SVC_DHP, PL_PCCC_SVC_LOCAL};
    static uint8_t out[OUT_MAX];
    pl_pccc_wrap_t w;
    pl_pccc_sysaddr_t a;
    pl_pccc_td_t td;
    pl_status_t st;
    uint8_t *buf;
    unsigned sel;
    int rc;

    if (size < 1)
        return 0;
    sel = data[0] & 3u;
    data++;
    size--;
    buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    if (size)
        memcpy(buf, data, size);

    if (sel < 3) {
        pl_status_clear(&st);
        rc = pl_pccc_wrap_decode(services[sel], buf, size, &w, &st);
        if (rc != 0) {
            check_error(rc, &st);
        } else {
            CHECK(w.pccc_len <= size);
            rc = pl_pccc_wrap_encode(out, sizeof(out), &w);
            if (size <= sizeof(out)) {
                CHECK(rc == (int)size);
                CHECK(memcmp(out, buf, size) == 0);
            }
            request(w.pccc, w.pccc_len);
            reply(w.pccc, w.pccc_len);
        }
    } else {
        request(buf, size);
        reply(buf, size);
        rc = pl_pccc_sysaddr_decode(buf, size, &a, &st);
        if (rc > 0) {
            int m = pl_pccc_sysaddr_encode(out, sizeof(out), &a);

            CHECK(m == rc && memcmp(out, buf, (size_t)m) == 0);
        }
        rc = pl_pccc_td_decode(buf, size, &td, &st);
        CHECK(rc != 0);
        if (rc > 0) {
            pl_pccc_td_t td2;
            int m = pl_pccc_td_encode(out, sizeof(out), td.id, td.size);

            CHECK(m > 0 && m <= rc);
            CHECK(pl_pccc_td_decode(out, (size_t)m, &td2, &st) == m);
            CHECK(td2.id == td.id && td2.size == td.size);
        }
    }
    free(buf);
    return 0;
}
