/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the CIP codec (src/proto/pccc/codec/cip.c).
 *
 * The input is decoded as a Message Router request (and, when it is one, as Unconnected
 * Send, Forward Open and Forward Close), as a Message Router response (and as Forward Open /
 * Forward Close success and error replies and an Unconnected Send error), as an EPATH, and
 * as route-path text. Whatever decodes is re-encoded and decoded again: bytes must come back
 * the same where the encoder writes every field as decoded, and the fields must agree where
 * it writes a fixed value (reserved bytes, pads). Any disagreement aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/pccc/codec/cip.h"
#include "plcline/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BUF_LEN (70000u + 600u) /* an Unconnected Send may carry a 65535-byte message */

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

/* equal views; a view of length 0 may have a NULL pointer, which memcmp must not be given */
static int same(const uint8_t *a, const uint8_t *b, size_t len)
{
    return len == 0 || memcmp(a, b, len) == 0;
}

static uint8_t buf[BUF_LEN];
static uint8_t buf2[BUF_LEN];

/* An Unconnected Send inside an Unconnected Send is checked this deep, as the simulator
 * unwraps only one: each level takes a few KiB of stack in the sanitizer build, and 4096
 * bytes of input nest 512 deep. */
#define NEST_MAX 4

static void check_request(const uint8_t *data, size_t size, unsigned depth)
{
    pl_cip_req_t req;
    pl_cip_req_t req2;
    pl_cip_lpath_t lp;
    int n;

    if (pl_cip_req_decode(data, size, &req) != 0)
        return;
    n = pl_cip_req_encode(buf, sizeof(buf), &req);
    CHECK(n == (int)size && memcmp(buf, data, size) == 0);
    CHECK(pl_cip_path_check(req.path, req.path_len) >= 0);
    (void)pl_cip_path_logical(req.path, req.path_len, &lp);

    {
        pl_cip_ucmm_t u;
        pl_cip_ucmm_t u2;

        if (pl_cip_ucmm_decode(&req, &u) == 0) {
            n = pl_cip_ucmm_encode(buf, sizeof(buf), &u);
            CHECK(n > 0);
            CHECK(pl_cip_req_decode(buf, (size_t)n, &req2) == 0);
            CHECK(pl_cip_ucmm_decode(&req2, &u2) == 0);
            CHECK(u2.msg_len == u.msg_len && same(u2.msg, u.msg, u.msg_len));
            CHECK(u2.route_len == u.route_len && same(u2.route, u.route, u.route_len));
            CHECK(u2.priority_tick == u.priority_tick && u2.timeout_ticks == u.timeout_ticks);
            if (u.pad == 0 && u.reserved == 0 && req.path_len == 4 &&
                memcmp(req.path, buf + 2, 4) == 0)
                CHECK(n == (int)size && memcmp(buf, data, size) == 0);
            if (depth < NEST_MAX)
                check_request(u.msg, u.msg_len, depth + 1u); /* the embedded request */
        }
    }
    {
        pl_cip_fwd_open_t fo;
        pl_cip_fwd_open_t fo2;

        if (pl_cip_fwd_open_decode(&req, &fo) == 0) {
            n = pl_cip_fwd_open_encode(buf, sizeof(buf), &fo);
            CHECK(n > 0);
            CHECK(pl_cip_req_decode(buf, (size_t)n, &req2) == 0);
            CHECK(pl_cip_fwd_open_decode(&req2, &fo2) == 0);
            CHECK(fo2.ot_conn_id == fo.ot_conn_id && fo2.to_conn_id == fo.to_conn_id &&
                  fo2.conn_serial == fo.conn_serial && fo2.vendor_id == fo.vendor_id &&
                  fo2.orig_serial == fo.orig_serial && fo2.ot_rpi == fo.ot_rpi &&
                  fo2.to_rpi == fo.to_rpi && fo2.ot_params == fo.ot_params &&
                  fo2.to_params == fo.to_params && fo2.transport == fo.transport &&
                  fo2.timeout_mult == fo.timeout_mult && fo2.path_len == fo.path_len);
            CHECK(same(fo2.path, fo.path, fo.path_len));
        }
    }
    {
        pl_cip_fwd_close_t fc;
        pl_cip_fwd_close_t fc2;

        if (pl_cip_fwd_close_decode(&req, &fc) == 0) {
            n = pl_cip_fwd_close_encode(buf, sizeof(buf), &fc);
            CHECK(n > 0);
            CHECK(pl_cip_req_decode(buf, (size_t)n, &req2) == 0);
            CHECK(pl_cip_fwd_close_decode(&req2, &fc2) == 0);
            CHECK(fc2.conn_serial == fc.conn_serial && fc2.vendor_id == fc.vendor_id &&
                  fc2.orig_serial == fc.orig_serial && fc2.path_len == fc.path_len);
            CHECK(same(fc2.path, fc.path, fc.path_len));
        }
    }
}

static void check_response(const uint8_t *data, size_t size)
{
    pl_cip_rsp_t rsp;
    pl_cip_rsp_t rsp2;
    uint16_t ext[256];
    uint8_t words;
    size_t i;
    int n;

    if (pl_cip_rsp_decode(data, size, &rsp) != 0)
        return;
    for (i = 0; i < rsp.ext_words; i++)
        ext[i] = pl_cip_rsp_ext(&rsp, i);
    n = pl_cip_rsp_encode(buf, sizeof(buf), (uint8_t)(rsp.service & PL_CIP_SVC_MASK), rsp.status,
                          ext, rsp.ext_words, rsp.data, rsp.data_len);
    CHECK(n == (int)size);
    if (rsp.reserved == 0)
        CHECK(memcmp(buf, data, size) == 0);
    CHECK(pl_cip_rsp_decode(buf, (size_t)n, &rsp2) == 0);
    CHECK(rsp2.status == rsp.status && rsp2.ext_status == rsp.ext_status &&
          rsp2.data_len == rsp.data_len);
    (void)pl_cip_status_name(rsp.status);
    (void)pl_cip_ext_status_name(rsp.ext_status);
    if (pl_cip_ucmm_remaining(&rsp, &words) == 1)
        CHECK(rsp.data_len >= 1 && words == rsp.data[0]);
    {
        pl_cip_fwd_open_reply_t r;
        pl_cip_fwd_open_reply_t r2;

        if (pl_cip_fwd_open_reply_decode(&rsp, &r) == 0) {
            n = pl_cip_fwd_open_reply_encode(buf2, sizeof(buf2), &r);
            CHECK(n > 0 && pl_cip_rsp_decode(buf2, (size_t)n, &rsp2) == 0);
            CHECK(pl_cip_fwd_open_reply_decode(&rsp2, &r2) == 0);
            CHECK(r2.ot_conn_id == r.ot_conn_id && r2.to_api == r.to_api &&
                  r2.app_len == r.app_len && same(r2.app, r.app, r.app_len));
        }
    }
    {
        pl_cip_fwd_close_reply_t r;
        pl_cip_fwd_close_reply_t r2;

        if (pl_cip_fwd_close_reply_decode(&rsp, &r) == 0) {
            n = pl_cip_fwd_close_reply_encode(buf2, sizeof(buf2), &r);
            CHECK(n > 0 && pl_cip_rsp_decode(buf2, (size_t)n, &rsp2) == 0);
            CHECK(pl_cip_fwd_close_reply_decode(&rsp2, &r2) == 0);
            CHECK(r2.orig_serial == r.orig_serial && r2.app_len == r.app_len &&
                  same(r2.app, r.app, r.app_len));
        }
    }
    {
        pl_cip_fwd_error_t e;
        pl_cip_fwd_error_t e2;

        if (pl_cip_fwd_error_decode(&rsp, &e) == 0 && e.has_triad) {
            n = pl_cip_fwd_error_encode(buf2, sizeof(buf2),
                                        (uint8_t)(rsp.service & PL_CIP_SVC_MASK), rsp.status,
                                        rsp.ext_status, &e);
            CHECK(n > 0 && pl_cip_rsp_decode(buf2, (size_t)n, &rsp2) == 0);
            CHECK(pl_cip_fwd_error_decode(&rsp2, &e2) == 0 && e2.has_triad && e2.has_remaining);
            CHECK(e2.conn_serial == e.conn_serial && e2.vendor_id == e.vendor_id &&
                  e2.orig_serial == e.orig_serial && e2.remaining_words == e.remaining_words);
            CHECK(rsp2.ext_status == rsp.ext_status && rsp2.status == rsp.status);
        }
    }
}

static void check_path(const uint8_t *data, size_t size)
{
    pl_cip_seg_t seg;
    pl_cip_seg_t seg2;
    size_t pos = 0;
    int r;
    int n;

    while (pos < size) {
        r = pl_cip_seg_decode(data + pos, size - pos, &seg);
        if (r < 0)
            return;
        CHECK((size_t)r == seg.size && (size_t)r <= size - pos && (r & 1) == 0);
        if (seg.kind == PL_CIP_SEG_PORT && seg.value <= UINT16_MAX) {
            n = pl_cip_seg_encode_port(buf, sizeof(buf), (uint16_t)seg.value, seg.bytes,
                                       seg.bytes_len);
            CHECK(n > 0 && pl_cip_seg_decode(buf, (size_t)n, &seg2) == n);
            CHECK(seg2.value == seg.value && seg2.bytes_len == seg.bytes_len &&
                  same(seg2.bytes, seg.bytes, seg.bytes_len));
        } else if (seg.kind != PL_CIP_SEG_KEY && seg.kind != PL_CIP_SEG_DATA &&
                   seg.kind != PL_CIP_SEG_SYMBOL) {
            n = pl_cip_seg_encode_logical(buf, sizeof(buf), seg.kind, seg.value);
            CHECK(n > 0 && pl_cip_seg_decode(buf, (size_t)n, &seg2) == n);
            CHECK(seg2.kind == seg.kind && seg2.value == seg.value);
        }
        pos += (size_t)r;
    }
}

static void check_route(const uint8_t *data, size_t size)
{
    static char text[4096];
    size_t at = 0;
    int n;

    if (size >= sizeof(text))
        size = sizeof(text) - 1u;
    memcpy(text, data, size);
    text[size] = '\0';
    n = pl_cip_route_parse(text, buf, sizeof(buf), &at);
    if (n >= 0) {
        CHECK((n & 1) == 0);
        CHECK(pl_cip_path_check(buf, (size_t)n) >= 0);
    } else {
        CHECK(n == PL_ECIP_ROUTE);
        CHECK(at <= strlen(text));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_request(data, size, 0);
    check_response(data, size);
    check_path(data, size);
    check_route(data, size);
    return 0;
}
