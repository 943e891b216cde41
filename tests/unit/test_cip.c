/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the CIP codec (src/proto/pccc/codec/cip.c).
 *
 * Golden vectors are the CIP messages carried by the EtherNet/IP vectors of test_enip.c
 * (which frames them whole, per byte and split): an Execute PCCC request to the PCCC object
 * (seed 001: service 0x4B, path 20 67 24 01), the Unconnected Send wrapping it, its replies
 * (success, and an Unconnected Send error with extended status and remaining path size),
 * Forward Open with its success and error replies, Forward Close and its reply. Each is
 * decoded to its expected fields and rebuilt by the encoders to the same bytes. EPATH
 * segments, the route-path text and every validation error are checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"

#include "proto/pccc/codec/cip.h"
#include "plcline/error.h"

#define BUF_MAX 512u

static const char PCCC_REQ_HEX[] =
    "4B 02 20 67 24 01 07 03 85 50 4D 41 41 0F 00 5C 00 A2 14 07 89 00 00";
static const char UCMM_HEX[] = "52 02 20 06 24 01 0A 09 17 00 4B 02 20 67 24 01 07 03 85 50 "
                               "4D 41 41 0F 00 5C 00 A2 14 07 89 00 00 00 01 00 01 00";
static const char PCCC_REP_HEX[] = "CB 00 00 00 07 03 85 50 4D 41 41 4F 00 5C 00 01 02 03 04";
static const char UCMM_ERR_HEX[] = "D2 00 01 01 04 02 01";
static const char FWD_OPEN_HEX[] =
    "54 02 20 06 24 01 0A 0E 00 00 00 00 78 56 34 12 01 00 37 13 50 4D 41 41 01 00 00 00 "
    "80 84 1E 00 F4 43 80 84 1E 00 F4 43 A3 03 01 00 20 02 24 01";
static const char FWD_OPEN_OK_HEX[] = "D4 00 00 00 EF BE AD DE 78 56 34 12 01 00 37 13 50 4D 41 41 "
                                      "80 84 1E 00 80 84 1E 00 00 00";
static const char FWD_OPEN_ERR_HEX[] = "D4 00 01 01 00 01 01 00 37 13 50 4D 41 41 00 00";
static const char FWD_CLOSE_HEX[] =
    "4E 02 20 06 24 01 0A 0E 01 00 37 13 50 4D 41 41 03 00 01 00 20 02 24 01";
static const char FWD_CLOSE_OK_HEX[] = "CE 00 00 00 01 00 37 13 50 4D 41 41 00 00";

/* the originator info + PCCC command after the PCCC object path (seed 001) */
static const uint8_t PCCC_DATA[] = {0x07, 0x03, 0x85, 0x50, 0x4D, 0x41, 0x41, 0x0F, 0x00,
                                    0x5C, 0x00, 0xA2, 0x14, 0x07, 0x89, 0x00, 0x00};
static const uint8_t ROUTE_1_0[] = {0x01, 0x00};
static const uint8_t CONN_PATH[] = {0x01, 0x00, 0x20, 0x02, 0x24, 0x01};

/* ------------------------------------------------------- golden messages */

static void test_pccc_request(void **state)
{
    uint8_t b[BUF_MAX];
    uint8_t out[BUF_MAX];
    pl_cip_req_t req;
    pl_cip_lpath_t lp;
    size_t n;

    (void)state;
    n = pl_test_hex(PCCC_REQ_HEX, b, sizeof(b));
    assert_int_equal(pl_cip_req_decode(b, n, &req), 0);
    assert_int_equal(req.service, PL_CIP_SVC_EXECUTE_PCCC);
    assert_int_equal(req.path_words, 2);
    assert_int_equal(req.path_len, 4);
    assert_ptr_equal(req.path, b + 2);
    assert_int_equal(req.data_len, sizeof(PCCC_DATA));
    assert_memory_equal(req.data, PCCC_DATA, sizeof(PCCC_DATA));
    assert_int_equal(pl_cip_path_logical(req.path, req.path_len, &lp), 0);
    assert_int_equal(lp.has, PL_CIP_HAS_CLASS | PL_CIP_HAS_INSTANCE);
    assert_int_equal(lp.class_id, PL_CIP_CLASS_PCCC);
    assert_int_equal(lp.instance, 1);

    assert_int_equal(pl_cip_req_encode(out, sizeof(out), &req), (int)n);
    assert_memory_equal(out, b, n);
    /* built from parts */
    memset(&req, 0, sizeof(req));
    assert_int_equal(pl_cip_path_encode(out + 100, 8, PL_CIP_CLASS_PCCC, 1), 4);
    req.service = PL_CIP_SVC_EXECUTE_PCCC;
    req.path = out + 100;
    req.path_len = 4;
    req.data = PCCC_DATA;
    req.data_len = sizeof(PCCC_DATA);
    assert_int_equal(pl_cip_req_encode(out, sizeof(out), &req), (int)n);
    assert_memory_equal(out, b, n);
    assert_int_equal(pl_cip_req_encode(out, n - 1u, &req), PL_ENOBUFS);
    assert_int_equal(pl_cip_req_encode(out, 5, &req), PL_ENOBUFS);
}

static void test_unconnected_send(void **state)
{
    uint8_t b[BUF_MAX];
    uint8_t out[BUF_MAX];
    pl_cip_req_t req;
    pl_cip_req_t inner;
    pl_cip_ucmm_t u;
    pl_cip_seg_t seg;
    pl_cip_lpath_t lp;
    size_t n;

    (void)state;
    n = pl_test_hex(UCMM_HEX, b, sizeof(b));
    assert_int_equal(pl_cip_req_decode(b, n, &req), 0);
    assert_int_equal(req.service, PL_CIP_SVC_UNCONNECTED_SEND);
    assert_int_equal(pl_cip_path_logical(req.path, req.path_len, &lp), 0);
    assert_int_equal(lp.class_id, PL_CIP_CLASS_CONN_MANAGER);
    assert_int_equal(lp.instance, PL_CIP_CM_INSTANCE);
    assert_int_equal(pl_cip_ucmm_decode(&req, &u), 0);
    assert_int_equal(u.priority_tick, 0x0A);
    assert_int_equal(u.timeout_ticks, 9);
    assert_int_equal(u.msg_len, 23);
    assert_ptr_equal(u.msg, b + 10);
    assert_int_equal(u.pad, 0);
    assert_int_equal(u.route_words, 1);
    assert_int_equal(u.reserved, 0);
    assert_int_equal(u.route_len, 2);
    assert_memory_equal(u.route, ROUTE_1_0, 2);
    assert_int_equal(pl_cip_seg_decode(u.route, u.route_len, &seg), 2);
    assert_int_equal(seg.kind, PL_CIP_SEG_PORT);
    assert_int_equal(seg.value, PL_CIP_PORT_BACKPLANE);
    assert_int_equal(seg.bytes_len, 1);
    assert_int_equal(seg.bytes[0], 0);
    /* the simulator unwraps the embedded request */
    assert_int_equal(pl_cip_req_decode(u.msg, u.msg_len, &inner), 0);
    assert_int_equal(inner.service, PL_CIP_SVC_EXECUTE_PCCC);
    assert_int_equal(inner.data_len, sizeof(PCCC_DATA));

    assert_int_equal(pl_cip_ucmm_encode(out, sizeof(out), &u), (int)n);
    assert_memory_equal(out, b, n);
    assert_int_equal(pl_cip_ucmm_encode(out, n - 1u, &u), PL_ENOBUFS);
    /* an even message has no pad byte */
    u.msg_len = 22;
    assert_int_equal(pl_cip_ucmm_encode(out, sizeof(out), &u), (int)n - 2);
    assert_int_equal(pl_cip_req_decode(out, n - 2u, &req), 0);
    assert_int_equal(pl_cip_ucmm_decode(&req, &u), 0);
    assert_int_equal(u.msg_len, 22);
    assert_int_equal(u.route_len, 2);
    u.route_len = 1;
    assert_int_equal(pl_cip_ucmm_encode(out, sizeof(out), &u), PL_EINVAL);
    u.route_len = 512;
    assert_int_equal(pl_cip_ucmm_encode(out, sizeof(out), &u), PL_ERANGE);
    u.route_len = 2;
    u.msg_len = 70000;
    assert_int_equal(pl_cip_ucmm_encode(out, sizeof(out), &u), PL_ERANGE);
}

static void test_replies(void **state)
{
    uint8_t b[BUF_MAX];
    uint8_t out[BUF_MAX];
    pl_cip_rsp_t rsp;
    uint8_t words = 0xEE;
    uint16_t ext;
    size_t n;

    (void)state;
    /* success: the embedded service's own reply comes back */
    n = pl_test_hex(PCCC_REP_HEX, b, sizeof(b));
    assert_int_equal(pl_cip_rsp_decode(b, n, &rsp), 0);
    assert_int_equal(rsp.service, PL_CIP_SVC_EXECUTE_PCCC | PL_CIP_SVC_REPLY);
    assert_int_equal(rsp.status, PL_CIP_STATUS_SUCCESS);
    assert_int_equal(rsp.ext_words, 0);
    assert_null(rsp.ext);
    assert_int_equal(rsp.ext_status, 0);
    assert_int_equal(rsp.data_len, 15);
    assert_ptr_equal(rsp.data, b + 4);
    assert_int_equal(pl_cip_rsp_encode(out, sizeof(out), PL_CIP_SVC_EXECUTE_PCCC, 0, NULL, 0,
                                       rsp.data, rsp.data_len),
                     (int)n);
    assert_memory_equal(out, b, n);
    assert_int_equal(pl_cip_ucmm_remaining(&rsp, &words), PL_ECIP_SERVICE);

    /* Unconnected Send error: connection failure / unconnected request timed out, with the
     * remaining path size */
    n = pl_test_hex(UCMM_ERR_HEX, b, sizeof(b));
    assert_int_equal(pl_cip_rsp_decode(b, n, &rsp), 0);
    assert_int_equal(rsp.service, PL_CIP_SVC_UNCONNECTED_SEND | PL_CIP_SVC_REPLY);
    assert_int_equal(rsp.status, PL_CIP_STATUS_CONNECTION_FAILURE);
    assert_int_equal(rsp.ext_words, 1);
    assert_int_equal(rsp.ext_status, PL_CIP_EXT_UNCONNECTED_TIMED_OUT);
    assert_int_equal(pl_cip_rsp_ext(&rsp, 0), 0x0204);
    assert_int_equal(pl_cip_rsp_ext(&rsp, 1), 0);
    assert_int_equal(pl_cip_ucmm_remaining(&rsp, &words), 1);
    assert_int_equal(words, 1);
    assert_string_equal(pl_cip_status_name(rsp.status), "connection failure");
    assert_string_equal(pl_cip_ext_status_name(rsp.ext_status), "unconnected request timed out");
    ext = PL_CIP_EXT_UNCONNECTED_TIMED_OUT;
    words = 1;
    assert_int_equal(pl_cip_rsp_encode(out, sizeof(out), PL_CIP_SVC_UNCONNECTED_SEND,
                                       PL_CIP_STATUS_CONNECTION_FAILURE, &ext, 1, &words, 1),
                     (int)n);
    assert_memory_equal(out, b, n);
    assert_int_equal(
        pl_cip_rsp_encode(out, n - 1u, PL_CIP_SVC_UNCONNECTED_SEND, 1, &ext, 1, &words, 1),
        PL_ENOBUFS);
    assert_int_equal(pl_cip_rsp_encode(out, sizeof(out), 0x52, 1, NULL, 1, NULL, 0), PL_EINVAL);

    /* remaining path size: absent, with a reserved byte, too much; success is no error */
    rsp.data_len = 0;
    assert_int_equal(pl_cip_ucmm_remaining(&rsp, &words), 0);
    n = pl_test_hex("D2 00 01 01 04 02 02 00", b, sizeof(b));
    assert_int_equal(pl_cip_rsp_decode(b, n, &rsp), 0);
    assert_int_equal(pl_cip_ucmm_remaining(&rsp, &words), 1);
    assert_int_equal(words, 2);
    n = pl_test_hex("D2 00 01 01 04 02 02 00 00", b, sizeof(b));
    assert_int_equal(pl_cip_rsp_decode(b, n, &rsp), 0);
    assert_int_equal(pl_cip_ucmm_remaining(&rsp, &words), PL_ECIP_LENGTH);
    n = pl_test_hex("D2 00 00 00", b, sizeof(b));
    assert_int_equal(pl_cip_rsp_decode(b, n, &rsp), 0);
    assert_int_equal(pl_cip_ucmm_remaining(&rsp, &words), PL_EINVAL);

    /* a PCCC object error: service not supported, no data */
    n = pl_test_hex("CB 00 08 00", b, sizeof(b));
    assert_int_equal(pl_cip_rsp_decode(b, n, &rsp), 0);
    assert_int_equal(rsp.status, PL_CIP_STATUS_SERVICE_NOT_SUPPORTED);
    assert_int_equal(rsp.data_len, 0);
    assert_null(rsp.data);
}

static void test_forward_open(void **state)
{
    uint8_t b[BUF_MAX];
    uint8_t out[BUF_MAX];
    pl_cip_req_t req;
    pl_cip_rsp_t rsp;
    pl_cip_fwd_open_t fo;
    pl_cip_fwd_open_reply_t ok;
    pl_cip_fwd_error_t err;
    uint16_t ncp = 0;
    size_t n;

    (void)state;
    n = pl_test_hex(FWD_OPEN_HEX, b, sizeof(b));
    assert_int_equal(pl_cip_req_decode(b, n, &req), 0);
    assert_int_equal(pl_cip_fwd_open_decode(&req, &fo), 0);
    assert_int_equal(fo.priority_tick, 0x0A);
    assert_int_equal(fo.timeout_ticks, 0x0E);
    assert_int_equal(fo.ot_conn_id, 0);
    assert_int_equal(fo.to_conn_id, 0x12345678u);
    assert_int_equal(fo.conn_serial, 1);
    assert_int_equal(fo.vendor_id, 0x1337);
    assert_int_equal(fo.orig_serial, 0x41414D50u);
    assert_int_equal(fo.timeout_mult, 1);
    assert_int_equal(fo.ot_rpi, 2000000u);
    assert_int_equal(fo.to_rpi, 2000000u);
    assert_int_equal(fo.ot_params, 0x43F4);
    assert_int_equal(fo.to_params, 0x43F4);
    assert_int_equal(fo.transport, PL_CIP_TRANSPORT_SERVER | PL_CIP_TRANSPORT_TRIGGER_APP |
                                       PL_CIP_TRANSPORT_CLASS3);
    assert_int_equal(fo.path_words, 3);
    assert_memory_equal(fo.path, CONN_PATH, sizeof(CONN_PATH));
    assert_int_equal(pl_cip_path_check(fo.path, fo.path_len), 3);
    /* 0x43F4: point-to-point, low priority, variable, 500 bytes */
    assert_int_equal(pl_cip_ncp(500, 1, PL_CIP_PRIORITY_LOW, PL_CIP_CONN_TYPE_P2P, 0, &ncp), 0);
    assert_int_equal(ncp, fo.ot_params);
    assert_int_equal(ncp & PL_CIP_NCP_SIZE_MASK, 500);
    assert_int_equal((ncp & PL_CIP_NCP_TYPE_MASK) >> PL_CIP_NCP_TYPE_SHIFT, PL_CIP_CONN_TYPE_P2P);
    assert_int_equal(
        pl_cip_ncp(504, 0, PL_CIP_PRIORITY_SCHEDULED, PL_CIP_CONN_TYPE_MULTICAST, 1, &ncp), 0);
    assert_int_equal(ncp, 0x8000 | 0x2000 | 0x0800 | 504);
    assert_int_equal(pl_cip_ncp(512, 0, 0, 0, 0, &ncp), PL_ERANGE);
    assert_int_equal(pl_cip_ncp(1, 0, 4, 0, 0, &ncp), PL_ERANGE);
    assert_int_equal(pl_cip_ncp(1, 0, 0, 3, 0, &ncp), PL_ERANGE);

    memset(out, 0xAA, sizeof(out));
    fo.reserved[0] = 9; /* encoded as 0 */
    assert_int_equal(pl_cip_fwd_open_encode(out, sizeof(out), &fo), (int)n);
    assert_memory_equal(out, b, n);
    assert_int_equal(pl_cip_fwd_open_encode(out, n - 1u, &fo), PL_ENOBUFS);
    fo.path_len = 5;
    assert_int_equal(pl_cip_fwd_open_encode(out, sizeof(out), &fo), PL_EINVAL);

    /* success reply */
    n = pl_test_hex(FWD_OPEN_OK_HEX, b, sizeof(b));
    assert_int_equal(pl_cip_rsp_decode(b, n, &rsp), 0);
    assert_int_equal(pl_cip_fwd_open_reply_decode(&rsp, &ok), 0);
    assert_int_equal(ok.ot_conn_id, 0xDEADBEEFu);
    assert_int_equal(ok.to_conn_id, 0x12345678u);
    assert_int_equal(ok.conn_serial, 1);
    assert_int_equal(ok.vendor_id, 0x1337);
    assert_int_equal(ok.orig_serial, 0x41414D50u);
    assert_int_equal(ok.ot_api, 2000000u);
    assert_int_equal(ok.to_api, 2000000u);
    assert_int_equal(ok.app_words, 0);
    assert_null(ok.app);
    assert_int_equal(pl_cip_fwd_open_reply_encode(out, sizeof(out), &ok), (int)n);
    assert_memory_equal(out, b, n);
    assert_int_equal(pl_cip_fwd_open_reply_encode(out, n - 1u, &ok), PL_ENOBUFS);
    assert_int_equal(pl_cip_fwd_error_decode(&rsp, &err), PL_EINVAL);

    /* error reply: connection in use */
    n = pl_test_hex(FWD_OPEN_ERR_HEX, b, sizeof(b));
    assert_int_equal(pl_cip_rsp_decode(b, n, &rsp), 0);
    assert_int_equal(rsp.status, PL_CIP_STATUS_CONNECTION_FAILURE);
    assert_int_equal(rsp.ext_status, PL_CIP_EXT_CONNECTION_IN_USE);
    assert_int_equal(pl_cip_fwd_open_reply_decode(&rsp, &ok), PL_EINVAL);
    assert_int_equal(pl_cip_fwd_error_decode(&rsp, &err), 0);
    assert_true(err.has_triad);
    assert_true(err.has_remaining);
    assert_int_equal(err.conn_serial, 1);
    assert_int_equal(err.vendor_id, 0x1337);
    assert_int_equal(err.orig_serial, 0x41414D50u);
    assert_int_equal(err.remaining_words, 0);
    assert_string_equal(pl_cip_ext_status_name(rsp.ext_status),
                        "connection in use or duplicate forward open");
    assert_int_equal(pl_cip_fwd_error_encode(out, sizeof(out), PL_CIP_SVC_FORWARD_OPEN,
                                             PL_CIP_STATUS_CONNECTION_FAILURE,
                                             PL_CIP_EXT_CONNECTION_IN_USE, &err),
                     (int)n);
    assert_memory_equal(out, b, n);
    assert_int_equal(pl_cip_fwd_error_encode(out, n - 1u, PL_CIP_SVC_FORWARD_OPEN, 1, 0x100, &err),
                     PL_ENOBUFS);
    assert_int_equal(pl_cip_fwd_error_encode(out, sizeof(out), PL_CIP_SVC_FORWARD_OPEN, 0, 0, &err),
                     PL_EINVAL);
    assert_int_equal(pl_cip_fwd_error_encode(out, sizeof(out), 0x52, 1, 0, &err), PL_EINVAL);
}

static void test_forward_close(void **state)
{
    uint8_t b[BUF_MAX];
    uint8_t out[BUF_MAX];
    pl_cip_req_t req;
    pl_cip_rsp_t rsp;
    pl_cip_fwd_close_t fc;
    pl_cip_fwd_close_reply_t ok;
    pl_cip_fwd_error_t err;
    size_t n;

    (void)state;
    n = pl_test_hex(FWD_CLOSE_HEX, b, sizeof(b));
    assert_int_equal(pl_cip_req_decode(b, n, &req), 0);
    assert_int_equal(pl_cip_fwd_close_decode(&req, &fc), 0);
    assert_int_equal(fc.priority_tick, 0x0A);
    assert_int_equal(fc.timeout_ticks, 0x0E);
    assert_int_equal(fc.conn_serial, 1);
    assert_int_equal(fc.vendor_id, 0x1337);
    assert_int_equal(fc.orig_serial, 0x41414D50u);
    assert_int_equal(fc.path_words, 3);
    assert_memory_equal(fc.path, CONN_PATH, sizeof(CONN_PATH));
    assert_int_equal(pl_cip_fwd_close_encode(out, sizeof(out), &fc), (int)n);
    assert_memory_equal(out, b, n);
    assert_int_equal(pl_cip_fwd_close_encode(out, n - 1u, &fc), PL_ENOBUFS);
    assert_int_equal(pl_cip_fwd_open_decode(&req, (pl_cip_fwd_open_t[1]){0}), PL_ECIP_SERVICE);

    n = pl_test_hex(FWD_CLOSE_OK_HEX, b, sizeof(b));
    assert_int_equal(pl_cip_rsp_decode(b, n, &rsp), 0);
    assert_int_equal(pl_cip_fwd_close_reply_decode(&rsp, &ok), 0);
    assert_int_equal(ok.conn_serial, 1);
    assert_int_equal(ok.vendor_id, 0x1337);
    assert_int_equal(ok.orig_serial, 0x41414D50u);
    assert_int_equal(ok.app_words, 0);
    assert_int_equal(pl_cip_fwd_close_reply_encode(out, sizeof(out), &ok), (int)n);
    assert_memory_equal(out, b, n);
    assert_int_equal(pl_cip_fwd_close_reply_encode(out, n - 1u, &ok), PL_ENOBUFS);
    assert_int_equal(pl_cip_fwd_open_reply_decode(&rsp, (pl_cip_fwd_open_reply_t[1]){0}),
                     PL_ECIP_SERVICE);

    /* with 1 word of application reply */
    n = pl_test_hex("CE 00 00 00 01 00 37 13 50 4D 41 41 01 00 AB CD", b, sizeof(b));
    assert_int_equal(pl_cip_rsp_decode(b, n, &rsp), 0);
    assert_int_equal(pl_cip_fwd_close_reply_decode(&rsp, &ok), 0);
    assert_int_equal(ok.app_len, 2);
    assert_int_equal(ok.app[0], 0xAB);
    assert_int_equal(pl_cip_fwd_close_reply_encode(out, sizeof(out), &ok), (int)n);
    assert_memory_equal(out, b, n);

    /* Forward Close error: connection not found, triad only (no remaining path size) */
    n = pl_test_hex("CE 00 01 01 07 01 01 00 37 13 50 4D 41 41", b, sizeof(b));
    assert_int_equal(pl_cip_rsp_decode(b, n, &rsp), 0);
    assert_int_equal(pl_cip_fwd_error_decode(&rsp, &err), 0);
    assert_true(err.has_triad);
    assert_false(err.has_remaining);
    assert_int_equal(rsp.ext_status, PL_CIP_EXT_CONNECTION_NOT_FOUND);
}

/* --------------------------------------------------------------- segments */

static void test_segments(void **state)
{
    uint8_t b[64];
    uint8_t out[64];
    pl_cip_seg_t seg;
    pl_cip_lpath_t lp;
    size_t n;

    (void)state;
    /* 16-bit class, 32-bit instance, attribute, connection point, member */
    n = pl_test_hex("21 00 34 12 26 00 78 56 34 12 30 05 2C 65 28 02", b, sizeof(b));
    assert_int_equal(pl_cip_path_check(b, n), 5);
    assert_int_equal(pl_cip_path_logical(b, n, &lp), 0);
    assert_int_equal(lp.has, 0x1F);
    assert_int_equal(lp.class_id, 0x1234);
    assert_int_equal(lp.instance, 0x12345678u);
    assert_int_equal(lp.attribute, 5);
    assert_int_equal(lp.conn_point, 0x65);
    assert_int_equal(lp.member, 2);
    /* electronic key is skipped by pl_cip_path_logical */
    n = pl_test_hex("34 04 01 00 0E 00 5A 00 03 0A 20 02 24 01", b, sizeof(b));
    assert_int_equal(pl_cip_seg_decode(b, n, &seg), (int)PL_CIP_KEY_LEN);
    assert_int_equal(seg.kind, PL_CIP_SEG_KEY);
    assert_int_equal(seg.bytes_len, 8);
    assert_int_equal(pl_cip_path_logical(b, n, &lp), 0);
    assert_int_equal(lp.class_id, PL_CIP_CLASS_MESSAGE_ROUTER);
    /* extended link address, padded: port 2, "10.0.0.50" */
    n = pl_test_hex("12 09 31 30 2E 30 2E 30 2E 35 30 00", b, sizeof(b));
    assert_int_equal(pl_cip_seg_decode(b, n, &seg), 12);
    assert_int_equal(seg.value, 2);
    assert_int_equal(seg.bytes_len, 9);
    assert_memory_equal(seg.bytes, "10.0.0.50", 9);
    assert_int_equal(pl_cip_seg_encode_port(out, sizeof(out), 2, (const uint8_t *)"10.0.0.50", 9),
                     12);
    assert_memory_equal(out, b, 12);
    /* extended port number 0x0123 with a 1-byte link: size form needed */
    n = pl_test_hex("1F 01 23 01 05 00", b, sizeof(b));
    assert_int_equal(pl_cip_seg_decode(b, n, &seg), 6);
    assert_int_equal(seg.value, 0x0123);
    assert_int_equal(seg.bytes[0], 5);
    assert_int_equal(pl_cip_seg_encode_port(out, sizeof(out), 0x0123, (const uint8_t *)"\x05", 1),
                     6);
    assert_memory_equal(out, b, 6);
    /* extended port without the size flag */
    n = pl_test_hex("0F 23 01 05", b, sizeof(b));
    assert_int_equal(pl_cip_seg_decode(b, n, &seg), 4);
    assert_int_equal(seg.value, 0x0123);
    /* symbol and data segments */
    n = pl_test_hex("91 03 54 41 47 00 80 01 AA BB", b, sizeof(b));
    assert_int_equal(pl_cip_path_check(b, n), 2);
    assert_int_equal(pl_cip_seg_decode(b, n, &seg), 6);
    assert_int_equal(seg.kind, PL_CIP_SEG_SYMBOL);
    assert_memory_equal(seg.bytes, "TAG", 3);
    assert_int_equal(pl_cip_seg_decode(b + 6, 4, &seg), 4);
    assert_int_equal(seg.kind, PL_CIP_SEG_DATA);
    assert_int_equal(seg.bytes_len, 2);
    assert_int_equal(pl_cip_path_logical(b, n, &lp), PL_ECIP_SEGMENT);

    /* encoders */
    assert_int_equal(pl_cip_seg_encode_logical(out, sizeof(out), PL_CIP_SEG_CLASS, 0x67), 2);
    assert_memory_equal(out, "\x20\x67", 2);
    assert_int_equal(pl_cip_seg_encode_logical(out, sizeof(out), PL_CIP_SEG_INSTANCE, 0x1234), 4);
    assert_memory_equal(out, "\x25\x00\x34\x12", 4);
    assert_int_equal(pl_cip_seg_encode_logical(out, sizeof(out), PL_CIP_SEG_INSTANCE, 0x10000), 6);
    assert_memory_equal(out, "\x26\x00\x00\x00\x01\x00", 6);
    assert_int_equal(pl_cip_seg_encode_logical(out, sizeof(out), PL_CIP_SEG_CLASS, 0x10000),
                     PL_ERANGE);
    assert_int_equal(pl_cip_seg_encode_logical(out, sizeof(out), PL_CIP_SEG_KEY, 1), PL_EINVAL);
    assert_int_equal(pl_cip_seg_encode_logical(out, 1, PL_CIP_SEG_CLASS, 1), PL_ENOBUFS);
    assert_int_equal(pl_cip_seg_encode_logical(out, 3, PL_CIP_SEG_CLASS, 0x100), PL_ENOBUFS);
    assert_int_equal(pl_cip_seg_encode_logical(out, 5, PL_CIP_SEG_INSTANCE, 0x10000), PL_ENOBUFS);
    assert_int_equal(pl_cip_seg_encode_logical(out, 4, PL_CIP_SEG_ATTRIBUTE, 0x100), 4);
    assert_memory_equal(out, "\x31\x00\x00\x01", 4);
    assert_int_equal(pl_cip_seg_encode_logical(out, 2, PL_CIP_SEG_CONN_POINT, 1), 2);
    assert_int_equal(pl_cip_path_encode(out, sizeof(out), 0x300, 0x400), 8);
    assert_memory_equal(out, "\x21\x00\x00\x03\x25\x00\x00\x04", 8);
    assert_int_equal(pl_cip_path_encode(out, 3, 0x67, 1), PL_ENOBUFS);
    assert_int_equal(pl_cip_path_encode(out, 1, 0x67, 1), PL_ENOBUFS);
    assert_int_equal(pl_cip_seg_encode_port(out, sizeof(out), 0, (const uint8_t *)"\x00", 1),
                     PL_EINVAL);
    assert_int_equal(pl_cip_seg_encode_port(out, sizeof(out), 1, (const uint8_t *)"", 0),
                     PL_EINVAL);
    assert_int_equal(pl_cip_seg_encode_port(out, sizeof(out), 1, b, 256), PL_ERANGE);
    assert_int_equal(pl_cip_seg_encode_port(out, 1, 1, (const uint8_t *)"\x00", 1), PL_ENOBUFS);
}

static void test_segment_errors(void **state)
{
    static const struct {
        const char *hex;
        int rc;
    } bad[] = {
        {"20", PL_ECIP_PATH},                   /* 8-bit class cut off */
        {"21 00 34", PL_ECIP_PATH},             /* 16-bit cut off */
        {"21 01 34 12", PL_ECIP_SEGMENT},       /* non-zero pad */
        {"22 00 00 00 00 00", PL_ECIP_SEGMENT}, /* 32-bit class does not exist */
        {"23 00", PL_ECIP_SEGMENT},             /* reserved format */
        {"38 01", PL_ECIP_SEGMENT},             /* logical type 6 (service id): unsupported */
        {"26 00 01 00 00", PL_ECIP_PATH},       /* 32-bit instance cut off */
        {"34 04 01 00", PL_ECIP_PATH},          /* key cut off */
        {"34 05 01 00 0E 00 5A 00 03 0A", PL_ECIP_SEGMENT}, /* key format 5 */
        {"35 04", PL_ECIP_SEGMENT},                         /* key with a format bit */
        {"00 00", PL_ECIP_SEGMENT},                         /* port 0 is reserved */
        {"01", PL_ECIP_PATH},                               /* link missing */
        {"12", PL_ECIP_PATH},                               /* link size missing */
        {"12 00", PL_ECIP_SEGMENT},                         /* link size 0 */
        {"12 03 31 32", PL_ECIP_PATH},                      /* link past the end */
        {"12 03 31 32 33 07", PL_ECIP_SEGMENT},             /* non-zero pad */
        {"0F 01", PL_ECIP_PATH},                            /* extended port cut off */
        {"0F 00 00 01", PL_ECIP_SEGMENT},                   /* extended port 0 */
        {"91 05 41 42", PL_ECIP_PATH},                      /* symbol past the end */
        {"91 01 41 01", PL_ECIP_SEGMENT},                   /* symbol pad not 0 */
        {"80", PL_ECIP_PATH},                               /* data count missing */
        {"80 02 00 00", PL_ECIP_PATH},                      /* data words past the end */
        {"40 00", PL_ECIP_SEGMENT},                         /* network segment: unsupported */
        {"E0 00", PL_ECIP_SEGMENT},                         /* reserved type */
    };
    uint8_t b[64];
    pl_cip_seg_t seg;
    pl_cip_lpath_t lp;
    size_t i;
    size_t n;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = pl_test_hex(bad[i].hex, b, sizeof(b));
        assert_int_equal(pl_cip_seg_decode(b, n, &seg), bad[i].rc);
        assert_int_equal(pl_cip_path_check(b, n), bad[i].rc);
    }
    assert_int_equal(pl_cip_seg_decode(b, 0, &seg), PL_ECIP_PATH);
    assert_int_equal(pl_cip_path_check(b, 0), 0);
    /* logical-only decode: duplicate class, port segment */
    n = pl_test_hex("20 01 20 02", b, sizeof(b));
    assert_int_equal(pl_cip_path_logical(b, n, &lp), PL_ECIP_SEGMENT);
    n = pl_test_hex("01 00 20 02", b, sizeof(b));
    assert_int_equal(pl_cip_path_logical(b, n, &lp), PL_ECIP_SEGMENT);
    n = pl_test_hex("20 02 24", b, sizeof(b));
    assert_int_equal(pl_cip_path_logical(b, n, &lp), PL_ECIP_PATH);
}

/* ------------------------------------------------------------- route text */

static void test_route_parse(void **state)
{
    static const struct {
        const char *text;
        const char *hex;
    } good[] = {
        {"1,0", "01 00"},
        {"", ""},
        {"   ", ""},
        {" 1 , 3 ", "01 03"},
        {"1,0,2,10.0.0.5", "01 00 12 08 31 30 2E 30 2E 30 2E 35"},
        {"1,0,2,10.0.0.50", "01 00 12 09 31 30 2E 30 2E 30 2E 35 30 00"},
        {"1,0,2,192.168.1.10,1,2", "01 00 12 0C 31 39 32 2E 31 36 38 2E 31 2E 31 30 01 02"},
        {"2,255", "02 FF"},
        {"15,1", "1F 01 0F 00 01 00"},
    };
    static const struct {
        const char *text;
        size_t at;
    } bad[] = {
        {"1", 1},
        {"1,", 2},
        {"x,0", 0},
        {"1,256", 2},
        {"0,1", 0},
        {"1,0,2,10.0.0", 6},
        {"1,,2,3", 2},
        {"1,0,2", 5},
        {"65536,1", 0},
        {"1,0 ,2 ,1.2.3.4.5", 8},
        {"1,-1", 2},
        {",1", 0},
        {"1,0,  2x,1", 6},
        {"1,0,2,10..0.5", 6},
        {"1,0,2,300.0.0.1", 6},
    };
    uint8_t out[64];
    uint8_t want[64];
    size_t at;
    size_t i;
    size_t n;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        n = pl_test_hex(good[i].hex, want, sizeof(want));
        assert_int_equal(pl_cip_route_parse(good[i].text, out, sizeof(out), &at), (int)n);
        assert_memory_equal(out, want, n);
        assert_true(pl_cip_path_check(out, n) >= 0);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        at = 999;
        assert_int_equal(pl_cip_route_parse(bad[i].text, out, sizeof(out), &at), PL_ECIP_ROUTE);
        assert_int_equal(at, bad[i].at);
    }
    assert_int_equal(pl_cip_route_parse("1,0,2,10.0.0.5", out, 11, NULL), PL_ENOBUFS);
    assert_int_equal(pl_cip_route_parse("1,0", out, 1, NULL), PL_ENOBUFS);
    assert_int_equal(pl_cip_route_parse("1", out, sizeof(out), NULL), PL_ECIP_ROUTE);
}

/* -------------------------------------------------------- request errors */

static void test_request_errors(void **state)
{
    uint8_t b[BUF_MAX];
    pl_cip_req_t req;
    pl_cip_rsp_t rsp;
    size_t n;

    (void)state;
    memset(b, 0, sizeof(b));
    assert_int_equal(pl_cip_req_decode(b, 1, &req), PL_ECIP_SHORT);
    n = pl_test_hex("CB 02 20 67 24 01", b, sizeof(b));
    assert_int_equal(pl_cip_req_decode(b, n, &req), PL_ECIP_SERVICE);
    n = pl_test_hex("4B 03 20 67 24 01", b, sizeof(b));
    assert_int_equal(pl_cip_req_decode(b, n, &req), PL_ECIP_PATH);
    n = pl_test_hex("4B 02 20 67 44 01", b, sizeof(b));
    assert_int_equal(pl_cip_req_decode(b, n, &req), PL_ECIP_SEGMENT);
    n = pl_test_hex("4B 01 21 00", b, sizeof(b)); /* a 16-bit segment cut by the path size */
    assert_int_equal(pl_cip_req_decode(b, n, &req), PL_ECIP_PATH);
    n = pl_test_hex("0E 00", b, sizeof(b)); /* empty path and data */
    assert_int_equal(pl_cip_req_decode(b, n, &req), 0);
    assert_null(req.path);
    assert_null(req.data);
    /* encoder arguments */
    memset(&req, 0, sizeof(req));
    req.service = 0xCB;
    assert_int_equal(pl_cip_req_encode(b, sizeof(b), &req), PL_EINVAL);
    req.service = 0x4B;
    req.path = b;
    req.path_len = 3;
    assert_int_equal(pl_cip_req_encode(b, sizeof(b), &req), PL_EINVAL);
    req.path_len = 512;
    assert_int_equal(pl_cip_req_encode(b, sizeof(b), &req), PL_ERANGE);

    assert_int_equal(pl_cip_rsp_decode(b, 3, &rsp), PL_ECIP_SHORT);
    n = pl_test_hex("4B 00 00 00", b, sizeof(b));
    assert_int_equal(pl_cip_rsp_decode(b, n, &rsp), PL_ECIP_SERVICE);
    n = pl_test_hex("CB 00 01 02 00 01 00", b, sizeof(b));
    assert_int_equal(pl_cip_rsp_decode(b, n, &rsp), PL_ECIP_LENGTH);
    assert_int_equal(rsp.status, 1); /* filled as far as present */
}

static void test_ucmm_errors(void **state)
{
    static const struct {
        const char *hex;
        int rc;
    } bad[] = {
        {"52 02 20 06 24 01 0A 09 17", PL_ECIP_SHORT},                     /* size cut off */
        {"52 02 20 06 24 01 0A 09 05 00 0E 01 20 01", PL_ECIP_LENGTH},     /* message past end */
        {"52 02 20 06 24 01 0A 09 03 00 0E 01 20", PL_ECIP_SHORT},         /* pad missing */
        {"52 02 20 06 24 01 0A 09 02 00 0E 00 01", PL_ECIP_SHORT},         /* reserved missing */
        {"52 02 20 06 24 01 0A 09 02 00 0E 00 02 00 01 00", PL_ECIP_PATH}, /* route past */
        {"52 02 20 06 24 01 0A 09 02 00 0E 00 01 00 01 00 FF", PL_ECIP_LENGTH}, /* trailing */
        {"52 02 20 06 24 01 0A 09 02 00 0E 00 01 00 00 00", PL_ECIP_SEGMENT},   /* port 0 */
        {"54 02 20 06 24 01 0A 09 02 00 0E 00 01 00 01 00", PL_ECIP_SERVICE},
    };
    uint8_t b[BUF_MAX];
    pl_cip_req_t req;
    pl_cip_ucmm_t u;
    size_t i;
    size_t n;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = pl_test_hex(bad[i].hex, b, sizeof(b));
        assert_int_equal(pl_cip_req_decode(b, n, &req), 0);
        assert_int_equal(pl_cip_ucmm_decode(&req, &u), bad[i].rc);
    }
    /* the smallest valid one: empty route path */
    n = pl_test_hex("52 02 20 06 24 01 0A 09 02 00 0E 00 00 00", b, sizeof(b));
    assert_int_equal(pl_cip_req_decode(b, n, &req), 0);
    assert_int_equal(pl_cip_ucmm_decode(&req, &u), 0);
    assert_int_equal(u.route_len, 0);
    assert_null(u.route);
}

static void test_fwd_errors(void **state)
{
    uint8_t b[BUF_MAX];
    uint8_t m[BUF_MAX];
    pl_cip_req_t req;
    pl_cip_rsp_t rsp;
    pl_cip_fwd_open_t fo;
    pl_cip_fwd_close_t fc;
    pl_cip_fwd_open_reply_t ok;
    pl_cip_fwd_close_reply_t cok;
    pl_cip_fwd_error_t err;
    size_t n;

    (void)state;
    n = pl_test_hex(FWD_OPEN_HEX, b, sizeof(b));
    /* fixed part cut off, path past the end, trailing byte, bad segment */
    assert_int_equal(pl_cip_req_decode(b, 6u + 35u, &req), 0);
    assert_int_equal(pl_cip_fwd_open_decode(&req, &fo), PL_ECIP_SHORT);
    assert_int_equal(pl_cip_req_decode(b, n - 1u, &req), 0);
    assert_int_equal(pl_cip_fwd_open_decode(&req, &fo), PL_ECIP_PATH);
    memcpy(m, b, n);
    m[n] = 0;
    assert_int_equal(pl_cip_req_decode(m, n + 1u, &req), 0);
    assert_int_equal(pl_cip_fwd_open_decode(&req, &fo), PL_ECIP_LENGTH);
    m[n - 6u] = 0x00; /* port 0 */
    assert_int_equal(pl_cip_req_decode(m, n, &req), 0);
    assert_int_equal(pl_cip_fwd_open_decode(&req, &fo), PL_ECIP_SEGMENT);

    n = pl_test_hex(FWD_CLOSE_HEX, b, sizeof(b));
    assert_int_equal(pl_cip_req_decode(b, 6u + 11u, &req), 0);
    assert_int_equal(pl_cip_fwd_close_decode(&req, &fc), PL_ECIP_SHORT);
    assert_int_equal(pl_cip_req_decode(b, n - 2u, &req), 0);
    assert_int_equal(pl_cip_fwd_close_decode(&req, &fc), PL_ECIP_PATH);
    n = pl_test_hex(FWD_OPEN_HEX, b, sizeof(b));
    assert_int_equal(pl_cip_req_decode(b, n, &req), 0);
    assert_int_equal(pl_cip_fwd_close_decode(&req, &fc), PL_ECIP_SERVICE);
    assert_int_equal(pl_cip_ucmm_decode(&req, (pl_cip_ucmm_t[1]){0}), PL_ECIP_SERVICE);

    /* success replies: short, app past end, trailing */
    n = pl_test_hex(FWD_OPEN_OK_HEX, b, sizeof(b));
    assert_int_equal(pl_cip_rsp_decode(b, n - 1u, &rsp), 0);
    assert_int_equal(pl_cip_fwd_open_reply_decode(&rsp, &ok), PL_ECIP_SHORT);
    memcpy(m, b, n);
    m[n - 2u] = 1; /* 1 word of application reply that is not there */
    assert_int_equal(pl_cip_rsp_decode(m, n, &rsp), 0);
    assert_int_equal(pl_cip_fwd_open_reply_decode(&rsp, &ok), PL_ECIP_LENGTH);
    n = pl_test_hex(FWD_CLOSE_OK_HEX, b, sizeof(b));
    memcpy(m, b, n);
    m[n] = 0;
    assert_int_equal(pl_cip_rsp_decode(m, n + 1u, &rsp), 0);
    assert_int_equal(pl_cip_fwd_close_reply_decode(&rsp, &cok), PL_ECIP_LENGTH);
    assert_int_equal(pl_cip_rsp_decode(b, n - 1u, &rsp), 0);
    assert_int_equal(pl_cip_fwd_close_reply_decode(&rsp, &cok), PL_ECIP_SHORT);
    m[2] = 1; /* an error status is not a success reply */
    assert_int_equal(pl_cip_rsp_decode(m, n, &rsp), 0);
    assert_int_equal(pl_cip_fwd_close_reply_decode(&rsp, &cok), PL_EINVAL);

    /* error replies: no data (refused by the Message Router), cut triad, too long */
    n = pl_test_hex("D4 00 04 01 00 00", b, sizeof(b));
    assert_int_equal(pl_cip_rsp_decode(b, n, &rsp), 0);
    assert_int_equal(pl_cip_fwd_error_decode(&rsp, &err), 0);
    assert_false(err.has_triad);
    assert_int_equal(rsp.status, PL_CIP_STATUS_PATH_SEGMENT_ERROR);
    n = pl_test_hex("D4 00 01 01 00 01 01 00 37 13 50", b, sizeof(b));
    assert_int_equal(pl_cip_rsp_decode(b, n, &rsp), 0);
    assert_int_equal(pl_cip_fwd_error_decode(&rsp, &err), PL_ECIP_SHORT);
    n = pl_test_hex("D4 00 01 01 00 01 01 00 37 13 50 4D 41 41 00 00 00 00", b, sizeof(b));
    assert_int_equal(pl_cip_rsp_decode(b, n, &rsp), 0);
    assert_int_equal(pl_cip_fwd_error_decode(&rsp, &err), PL_ECIP_LENGTH);
    n = pl_test_hex("D2 00 01 01 00 01 01 00 37 13 50 4D 41 41 00 00", b, sizeof(b));
    assert_int_equal(pl_cip_rsp_decode(b, n, &rsp), 0);
    assert_int_equal(pl_cip_fwd_error_decode(&rsp, &err), PL_ECIP_SERVICE);
}

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(pl_cip_status_name(0x00), "success");
    assert_string_equal(pl_cip_status_name(0x04), "path segment error");
    assert_string_equal(pl_cip_status_name(0x05), "path destination unknown");
    assert_string_equal(pl_cip_status_name(0x08), "service not supported");
    assert_string_equal(pl_cip_status_name(0x1E), "embedded service error");
    assert_string_equal(pl_cip_status_name(0x26), "path size invalid");
    assert_string_equal(pl_cip_status_name(0x13), "not enough data");
    assert_string_equal(pl_cip_status_name(0x15), "too much data");
    assert_string_equal(pl_cip_status_name(0x16), "object does not exist");
    assert_string_equal(pl_cip_status_name(0xFF), "unknown");
    assert_string_equal(pl_cip_status_name(0x2A), "unknown");
    assert_string_equal(pl_cip_ext_status_name(0x0106), "ownership conflict");
    assert_string_equal(pl_cip_ext_status_name(0x0113), "connection manager out of connections");
    assert_string_equal(pl_cip_ext_status_name(0x0203), "connection timed out");
    assert_string_equal(pl_cip_ext_status_name(0x0205),
                        "parameter error in unconnected request service");
    assert_string_equal(pl_cip_ext_status_name(0x0311), "port not available");
    assert_string_equal(pl_cip_ext_status_name(0x0312), "link address not valid");
    assert_string_equal(pl_cip_ext_status_name(0x0315), "invalid segment in connection path");
    assert_string_equal(pl_cip_ext_status_name(0x0000), "unknown");
    assert_string_equal(pl_cip_ext_status_name(0xFFFF), "unknown");
    assert_int_equal(PL_CIP_STATUS_PATH_SIZE_INVALID, 0x26);
    assert_int_equal(PL_CIP_EXT_INVALID_LINK_ADDRESS, 0x0312);
    assert_string_equal(pl_err_name(PL_ECIP_ROUTE), "PL_ECIP_ROUTE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pccc_request),   cmocka_unit_test(test_unconnected_send),
        cmocka_unit_test(test_replies),        cmocka_unit_test(test_forward_open),
        cmocka_unit_test(test_forward_close),  cmocka_unit_test(test_segments),
        cmocka_unit_test(test_segment_errors), cmocka_unit_test(test_route_parse),
        cmocka_unit_test(test_request_errors), cmocka_unit_test(test_ucmm_errors),
        cmocka_unit_test(test_fwd_errors),     cmocka_unit_test(test_status_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
