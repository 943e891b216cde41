/* SPDX-License-Identifier: MIT */
/*
 * The EtherNet/IP session unit (src/proto/pccc/enip_session.c) on its own: its messages
 * decode back to what it says it sent (RegisterSession golden bytes, Forward Open with the
 * route and the Message Router, Forward Close, UnRegisterSession with the handle), its
 * states follow the replies, and every refusal or stray reply is named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"
#include "plcline/error.h"
#include "proto/pccc/enip_session.h"

#define VENDOR 0x1337u
#define SERIAL 0x4C434C50u

/* A port segment: backplane, slot 2. */
static const uint8_t route[] = {0x01, 0x02};

/* The CIP request inside an unconnected SendRRData message. */
static void cip_of(const uint8_t *buf, size_t n, pl_cip_req_t *q)
{
    pl_enip_msg_t m;
    pl_enip_rr_t rr;
    const uint8_t *cip;
    size_t cip_len;

    assert_int_equal(pl_enip_decode(buf, n, &m), 0);
    assert_int_equal(m.command, PL_ENIP_CMD_SEND_RR_DATA);
    assert_int_equal(m.session, 0x12345678u);
    assert_int_equal(pl_enip_rr_decode(m.data, m.data_len, &rr), 0);
    assert_int_equal(pl_cpf_unconnected(&rr.cpf, &cip, &cip_len), 0);
    assert_int_equal(pl_cip_req_decode(cip, cip_len, q), 0);
}

static void registered(pl_enip_session_t *s)
{
    pl_enip_msg_t m;
    pl_status_t st;

    memset(&m, 0, sizeof(m));
    m.command = PL_ENIP_CMD_REGISTER_SESSION;
    m.session = 0x12345678u;
    assert_int_equal(pl_enip_session_registered(s, &m, &st), 0);
    assert_int_equal(s->session, 0x12345678u);
}

static void test_connected_session(void **state)
{
    static const char reg[] = "65 00 04 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
                              "00 00 01 00 00 00";
    pl_enip_session_t s;
    uint8_t buf[512], want[64], rbuf[64];
    pl_cip_req_t q;
    pl_cip_fwd_open_t fo;
    pl_cip_fwd_close_t fc;
    pl_cip_fwd_open_reply_t rep;
    pl_cip_rsp_t rsp;
    pl_status_t st;
    size_t n;
    int len;

    (void)state;
    pl_enip_session_init(&s, VENDOR, SERIAL, route, sizeof(route), 2000, 42);
    assert_int_equal(s.state, PL_ENIP_SESSION_DOWN);
    assert_int_equal(pl_enip_session_cm_ticks(&s), 2); /* 2000 ms in 1024 ms ticks */
    assert_int_equal(pl_enip_session_unregister(&s, buf, sizeof(buf)), 0);

    n = pl_test_hex(reg, want, sizeof(want));
    assert_int_equal(pl_enip_session_begin(&s, 1, buf, sizeof(buf)), (int)n);
    assert_memory_equal(buf, want, n);
    assert_int_equal(s.state, PL_ENIP_SESSION_REGISTER);
    registered(&s);

    len = pl_enip_session_fwd_open(&s, buf, sizeof(buf));
    assert_true(len > 0);
    assert_int_equal(s.state, PL_ENIP_SESSION_FWD_OPEN);
    cip_of(buf, (size_t)len, &q);
    assert_int_equal(pl_cip_fwd_open_decode(&q, &fo), 0);
    assert_int_equal(fo.conn_serial, s.conn_serial);
    assert_int_equal(fo.to_conn_id, s.to_conn_id);
    assert_int_equal(fo.vendor_id, VENDOR);
    assert_int_equal(fo.orig_serial, SERIAL);
    assert_int_equal(fo.path_len, s.conn_path_len);
    assert_memory_equal(fo.path, route, sizeof(route)); /* the route, then the router */
    assert_int_equal(fo.path[sizeof(route)], 0x20);     /* class segment */
    assert_int_equal(fo.path[sizeof(route) + 1], PL_CIP_CLASS_MESSAGE_ROUTER);

    /* a reply for another connection serial is not ours */
    memset(&rep, 0, sizeof(rep));
    rep.ot_conn_id = 0xAABBCCDDu;
    rep.to_conn_id = s.to_conn_id;
    rep.conn_serial = (uint16_t)(s.conn_serial + 1u);
    len = pl_cip_fwd_open_reply_encode(rbuf, sizeof(rbuf), &rep);
    assert_true(len > 0);
    assert_int_equal(pl_cip_rsp_decode(rbuf, (size_t)len, &rsp), 0);
    assert_int_equal(pl_enip_session_opened(&s, &rsp, &st), PL_EPROTO);
    assert_int_equal(s.state, PL_ENIP_SESSION_FWD_OPEN);
    rep.conn_serial = s.conn_serial;
    len = pl_cip_fwd_open_reply_encode(rbuf, sizeof(rbuf), &rep);
    assert_int_equal(pl_cip_rsp_decode(rbuf, (size_t)len, &rsp), 0);
    assert_int_equal(pl_enip_session_opened(&s, &rsp, &st), 0);
    assert_int_equal(s.state, PL_ENIP_SESSION_READY);
    assert_int_equal(s.ot_conn_id, 0xAABBCCDDu);
    /* a second reply is unexpected */
    assert_int_equal(pl_enip_session_opened(&s, &rsp, &st), PL_EPROTO);

    len = pl_enip_session_fwd_close(&s, buf, sizeof(buf));
    assert_true(len > 0);
    cip_of(buf, (size_t)len, &q);
    assert_int_equal(pl_cip_fwd_close_decode(&q, &fc), 0);
    assert_int_equal(fc.conn_serial, s.conn_serial);
    n = pl_test_hex("66 00 00 00 78 56 34 12 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", want,
                    sizeof(want));
    assert_int_equal(pl_enip_session_unregister(&s, buf, sizeof(buf)), (int)n);
    assert_memory_equal(buf, want, n);

    pl_enip_session_down(&s);
    assert_int_equal(s.state, PL_ENIP_SESSION_DOWN);
    assert_int_equal(s.session, 0u);
    assert_int_equal(pl_enip_session_fwd_close(&s, buf, sizeof(buf)), 0);
    assert_int_equal(pl_enip_session_unregister(&s, buf, sizeof(buf)), 0);
}

static void test_unconnected_session(void **state)
{
    pl_enip_session_t s;
    uint8_t buf[128];

    (void)state;
    pl_enip_session_init(&s, VENDOR, SERIAL, NULL, 0, 100, 0);
    assert_true(pl_enip_session_begin(&s, 0, buf, sizeof(buf)) > 0);
    registered(&s);
    pl_enip_session_ready(&s, 0);
    assert_int_equal(s.state, PL_ENIP_SESSION_READY);
    assert_int_equal(pl_enip_session_cm_ticks(&s), 1);
    assert_int_equal(pl_enip_session_fwd_close(&s, buf, sizeof(buf)), 0); /* no connection */
    assert_true(pl_enip_session_unregister(&s, buf, sizeof(buf)) > 0);
}

static void test_refusals(void **state)
{
    pl_enip_session_t s;
    pl_enip_msg_t m;
    pl_status_t st;
    uint8_t buf[128];

    (void)state;
    pl_enip_session_init(&s, VENDOR, SERIAL, NULL, 0, 1000, 7);
    memset(&m, 0, sizeof(m));
    m.command = PL_ENIP_CMD_REGISTER_SESSION;
    m.session = 1;
    /* no RegisterSession was sent */
    assert_int_equal(pl_enip_session_registered(&s, &m, &st), PL_EPROTO);
    assert_true(pl_enip_session_begin(&s, 1, buf, sizeof(buf)) > 0);
    m.session = 0; /* no handle */
    assert_int_equal(pl_enip_session_registered(&s, &m, &st), PL_ESESSION_REFUSED);
    assert_non_null(strstr(st.detail, "no session handle"));
    m.status = PL_ENIP_STATUS_INSUFFICIENT_MEMORY;
    assert_int_equal(pl_enip_session_registered(&s, &m, &st), PL_ESESSION_REFUSED);
    assert_non_null(strstr(st.detail, "no session free"));
    m.status = 0x0069;
    assert_int_equal(pl_enip_session_registered(&s, &m, &st), PL_ESESSION_REFUSED);
    assert_non_null(strstr(st.detail, "0x0069"));
    assert_int_equal(s.session, 0u);
    /* too small a buffer */
    assert_int_equal(pl_enip_session_begin(&s, 1, buf, 10), PL_ENOBUFS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connected_session),
        cmocka_unit_test(test_unconnected_session),
        cmocka_unit_test(test_refusals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
