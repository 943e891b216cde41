/* SPDX-License-Identifier: MIT */
/*
 * The PCCC PLC simulator driven by a raw EtherNet/IP client built from the codecs and a
 * client line (pl_line_t), in one process and one loop on loopback. Ports are picked at run
 * time (port 0); nothing sleeps: the loop runs until a condition holds, with a guard timer
 * that fails the test if it never does. Every exchange is checked at the layer that
 * answers: encapsulation status, CIP general status, PCCC STS/EXT STS and data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/pccc/codec/cip.h"
#include "proto/pccc/codec/enip.h"
#include "proto/pccc/codec/pccc.h"
#include "proto/pccc/codec/pccc_addr.h"
#include "plcline/error.h"
#include "plcline/line.h"
#include "plcline/pccc.h"

#define MAX_MSGS   32
#define MSG_CAP    1200
#define GUARD_MS   3000
#define REQ_VENDOR 0x1234u
#define REQ_SERIAL 0x01020304u
#define ROUTE_LEN  2u

/* ------------------------------------------------------------------ raw client */

typedef struct {
    pl_line_t *line;
    int up, downs;
    uint32_t session;
    uint8_t rx[4 * MSG_CAP];
    size_t rx_len;
    uint8_t msg[MAX_MSGS][MSG_CAP];
    size_t msg_len[MAX_MSGS];
    int nmsg, taken;
    uint16_t tns;
    uint32_t conn_id, to_id; /* connected: O->T id from the target, our T->O id */
    uint16_t seq;
} raw_t;

typedef struct {
    uv_loop_t loop;
    pl_pccc_server_t *srv;
    raw_t a, b;
    raw_t *cur; /* the client slc_read, slc_write and expect_sts use (a unless changed) */
} fixture_t;

static void on_up(pl_line_t *line, void *ud)
{
    raw_t *r = ud;

    (void)line;
    r->up = 1;
}

static void on_data(pl_line_t *line, const uint8_t *buf, size_t len, void *ud)
{
    raw_t *r = ud;
    int n;

    (void)line;
    assert_true(r->rx_len + len <= sizeof(r->rx));
    memcpy(r->rx + r->rx_len, buf, len);
    r->rx_len += len;
    while ((n = pl_enip_frame(r->rx, r->rx_len, MSG_CAP - PL_ENIP_HEADER_LEN, NULL)) > 0) {
        assert_true(r->nmsg < MAX_MSGS);
        memcpy(r->msg[r->nmsg], r->rx, (size_t)n);
        r->msg_len[r->nmsg++] = (size_t)n;
        memmove(r->rx, r->rx + n, r->rx_len - (size_t)n);
        r->rx_len -= (size_t)n;
    }
    assert_int_equal(n, PL_EAGAIN);
}

static void on_down(pl_line_t *line, const pl_status_t *why, void *ud)
{
    raw_t *r = ud;

    (void)line;
    (void)why;
    r->up = 0;
    r->downs++;
}

static void on_guard(uv_timer_t *t)
{
    int *expired = t->data;

    *expired = 1;
}

/* Runs the loop until *flag >= want; fails after GUARD_MS. */
static void run_until(uv_loop_t *loop, const int *flag, int want)
{
    uv_timer_t guard;
    int expired = 0;

    uv_timer_init(loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, GUARD_MS, 0);
    while (*flag < want && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    assert_false(expired);
}

static void raw_connect(fixture_t *f, raw_t *r)
{
    static const pl_line_cbs_t cbs = {.on_up = on_up, .on_data = on_data, .on_down = on_down};
    pl_line_config_t cfg;

    memset(r, 0, sizeof(*r));
    pl_line_config_init(&cfg);
    assert_int_equal(pl_hostlist_parse(&cfg.hosts, "127.0.0.1", 9, NULL), 0);
    cfg.port = pl_pccc_server_port(f->srv);
    cfg.backoff_min_ms = 10;
    cfg.backoff_max_ms = 50;
    assert_int_equal(pl_line_new(&f->loop, &cfg, &cbs, r, &r->line), 0);
    assert_int_equal(pl_line_start(r->line), 0);
    run_until(&f->loop, &r->up, 1);
    r->tns = 0x0100;
    r->to_id = 0xA0B0C0D0u;
}

/* Starts a simulator with `cfg` (listening on a free port) and connects f->a to it. */
static void start_cfg(fixture_t *f, pl_pccc_server_config_t *cfg)
{
    pl_status_t st;

    memset(f, 0, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    cfg->listen.port = 0;
    assert_int_equal(pl_pccc_server_new(&f->loop, cfg, &f->srv, &st), 0);
    assert_true(pl_pccc_server_port(f->srv) != 0);
    raw_connect(f, &f->a);
    f->cur = &f->a;
}

static void start(fixture_t *f, pl_pccc_plc_t plc, const char *files)
{
    pl_pccc_server_config_t cfg;

    pl_pccc_server_config_init(&cfg);
    cfg.plc = plc;
    cfg.files = files;
    start_cfg(f, &cfg);
}

static void stop(fixture_t *f)
{
    if (f->a.line != NULL)
        pl_line_free(f->a.line);
    if (f->b.line != NULL)
        pl_line_free(f->b.line);
    pl_pccc_server_free(f->srv);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* Encodes an encapsulation message into buf; returns its length. */
static size_t encap(uint8_t *buf, size_t cap, uint16_t cmd, uint32_t session, const uint8_t *data,
                    size_t len)
{
    pl_enip_msg_t m;
    int n;

    memset(&m, 0, sizeof(m));
    m.command = cmd;
    m.session = session;
    if (cmd != PL_ENIP_CMD_REGISTER_SESSION) /* zero there, as a strict target requires */
        memcpy(m.context, "plcline!", PL_ENIP_CONTEXT_LEN);
    m.data = data;
    m.data_len = len;
    n = pl_enip_encode(buf, cap, &m);
    assert_true(n > 0);
    return (size_t)n;
}

static void raw_send(raw_t *r, const uint8_t *buf, size_t len)
{
    assert_int_equal(pl_line_send(r->line, buf, len), 0);
}

/* Waits for the next reply and decodes it. */
static void take(fixture_t *f, raw_t *r, pl_enip_msg_t *m)
{
    run_until(&f->loop, &r->nmsg, r->taken + 1);
    assert_int_equal(pl_enip_decode(r->msg[r->taken], r->msg_len[r->taken], m), 0);
    r->taken++;
}

static void register_session(fixture_t *f, raw_t *r)
{
    uint8_t data[4], buf[64];
    pl_enip_msg_t m;
    uint16_t version, options;

    assert_int_equal(pl_enip_register_encode(data, sizeof(data), 1, 0), 4);
    raw_send(r, buf, encap(buf, sizeof(buf), PL_ENIP_CMD_REGISTER_SESSION, 0, data, 4));
    take(f, r, &m);
    assert_int_equal(m.command, PL_ENIP_CMD_REGISTER_SESSION);
    assert_int_equal(m.status, 0);
    assert_memory_equal(m.context, "\0\0\0\0\0\0\0\0", PL_ENIP_CONTEXT_LEN);
    assert_int_equal(pl_enip_register_decode(m.data, m.data_len, &version, &options), 0);
    assert_int_equal(version, 1);
    assert_true(m.session != 0);
    r->session = m.session;
}

/* ------------------------------------------------------------------ PCCC exchanges */

typedef enum { VIA_DIRECT, VIA_ROUTE, VIA_CONNECTED } via_t;

typedef struct {
    uint8_t service; /* PCCC object service */
    via_t via;
    pl_pccc_dhp_t dhp; /* 0x4C header sent */
} how_t;

static const how_t DIRECT = {PL_PCCC_SVC_EXECUTE, VIA_DIRECT, {0, 0, 0, 0, 0, 0}};

typedef struct {
    uint8_t raw[MSG_CAP];
    pl_enip_msg_t enip;
    pl_cip_rsp_t cip;
    pl_pccc_wrap_t wrap;
    pl_pccc_reply_t pccc;
    uint16_t seq; /* connected: sequence count of the reply */
} reply_t;

/* Wraps a CIP request for the chosen path and sends it in one encapsulation message. */
static size_t frame_cip(raw_t *r, via_t via, const uint8_t *cip, size_t cip_len, uint8_t *buf,
                        size_t cap)
{
    uint8_t ucmm[MSG_CAP], cpf[MSG_CAP], rr[MSG_CAP];
    static const uint8_t route[ROUTE_LEN] = {0x01, 0x00}; /* backplane, slot 0 */
    int n;

    if (via == VIA_ROUTE) {
        pl_cip_ucmm_t u;

        memset(&u, 0, sizeof(u));
        u.priority_tick = 0x0A;
        u.timeout_ticks = 0x09;
        u.msg = cip;
        u.msg_len = cip_len;
        u.route = route;
        u.route_len = sizeof(route);
        n = pl_cip_ucmm_encode(ucmm, sizeof(ucmm), &u);
        assert_true(n > 0);
        cip = ucmm;
        cip_len = (size_t)n;
    }
    if (via == VIA_CONNECTED)
        n = pl_cpf_encode_connected(cpf, sizeof(cpf), r->conn_id, ++r->seq, cip, cip_len);
    else
        n = pl_cpf_encode_unconnected(cpf, sizeof(cpf), cip, cip_len);
    assert_true(n > 0);
    n = pl_enip_rr_encode(rr, sizeof(rr), via == VIA_CONNECTED ? 0 : 10, cpf, (size_t)n);
    assert_true(n > 0);
    return encap(buf, cap,
                 via == VIA_CONNECTED ? PL_ENIP_CMD_SEND_UNIT_DATA : PL_ENIP_CMD_SEND_RR_DATA,
                 r->session, rr, (size_t)n);
}

/* Builds the CIP request carrying PCCC message pccc[0..len) for `how`. */
static size_t cip_pccc(const how_t *how, const uint8_t *pccc, size_t len, uint8_t *buf, size_t cap)
{
    uint8_t path[8], wrapped[MSG_CAP];
    pl_pccc_wrap_t w;
    pl_cip_req_t req;
    int n, plen;

    memset(&w, 0, sizeof(w));
    w.service = how->service;
    w.length = PL_PCCC_REQUESTOR_LEN;
    w.vendor = REQ_VENDOR;
    w.serial = REQ_SERIAL;
    w.dhp = how->dhp;
    w.pccc = pccc;
    w.pccc_len = len;
    n = pl_pccc_wrap_encode(wrapped, sizeof(wrapped), &w);
    assert_true(n > 0);
    plen = pl_cip_path_encode(path, sizeof(path), PL_CIP_CLASS_PCCC, PL_PCCC_INSTANCE);
    assert_true(plen > 0);
    memset(&req, 0, sizeof(req));
    req.service = how->service;
    req.path = path;
    req.path_len = (size_t)plen;
    req.data = wrapped;
    req.data_len = (size_t)n;
    n = pl_cip_req_encode(buf, cap, &req);
    assert_true(n > 0);
    return (size_t)n;
}

/* Decodes an encapsulation reply down to the CIP response. */
static void decode_cip(raw_t *r, via_t via, reply_t *out)
{
    pl_enip_rr_t rr;
    const uint8_t *cip;
    size_t cip_len;
    uint32_t conn_id;

    assert_int_equal(out->enip.status, 0);
    assert_int_equal(out->enip.session, r->session);
    assert_int_equal(pl_enip_rr_decode(out->enip.data, out->enip.data_len, &rr), 0);
    if (via == VIA_CONNECTED) {
        assert_int_equal(out->enip.command, PL_ENIP_CMD_SEND_UNIT_DATA);
        assert_int_equal(pl_cpf_connected(&rr.cpf, &conn_id, &out->seq, &cip, &cip_len), 0);
        assert_int_equal(conn_id, r->to_id);
        assert_int_equal(out->seq, r->seq);
    } else {
        assert_int_equal(out->enip.command, PL_ENIP_CMD_SEND_RR_DATA);
        assert_int_equal(pl_cpf_unconnected(&rr.cpf, &cip, &cip_len), 0);
    }
    assert_int_equal(pl_cip_rsp_decode(cip, cip_len, &out->cip), 0);
}

/* Waits for a reply to a PCCC request and decodes every layer; the CIP status must be 0. */
static void take_pccc(fixture_t *f, raw_t *r, const how_t *how, reply_t *out)
{
    take(f, r, &out->enip);
    decode_cip(r, how->via, out);
    assert_int_equal(out->cip.service, how->service | PL_CIP_SVC_REPLY);
    assert_int_equal(out->cip.status, 0);
    assert_int_equal(
        pl_pccc_wrap_decode(how->service, out->cip.data, out->cip.data_len, &out->wrap, NULL), 0);
    assert_int_equal(pl_pccc_reply_decode(out->wrap.pccc, out->wrap.pccc_len, &out->pccc, NULL), 0);
}

/* Sends PCCC request `q` (TNS assigned here) as `how` says and decodes the reply. */
static void pccc_do(fixture_t *f, raw_t *r, const how_t *how, pl_pccc_request_t *q, reply_t *out)
{
    uint8_t pccc[MSG_CAP], cip[MSG_CAP], buf[MSG_CAP];
    size_t len;
    int n;

    q->tns = ++r->tns;
    n = pl_pccc_request_encode(pccc, sizeof(pccc), q);
    assert_true(n > 0);
    len = cip_pccc(how, pccc, (size_t)n, cip, sizeof(cip));
    raw_send(r, buf, frame_cip(r, how->via, cip, len, buf, sizeof(buf)));
    take_pccc(f, r, how, out);
    assert_int_equal(out->pccc.cmd, q->cmd | PL_PCCC_CMD_REPLY);
    assert_int_equal(out->pccc.tns, q->tns);
}

static void slc_req(pl_pccc_request_t *q, pl_pccc_op_t op, uint8_t size, uint16_t file,
                    uint8_t type, uint16_t element, uint16_t sub)
{
    pl_pccc_request_init(q, op, 0);
    q->slc.size = size;
    q->slc.file = file;
    q->slc.type = type;
    q->slc.element = element;
    q->slc.sub = sub;
}

/* Reads with 0xA2; asserts success and copies the data out. */
static void slc_read(fixture_t *f, const how_t *how, uint8_t size, uint16_t file, uint8_t type,
                     uint16_t element, uint16_t sub, uint8_t *data)
{
    pl_pccc_request_t q;
    reply_t rep;

    slc_req(&q, PL_PCCC_OP_SLC_READ, size, file, type, element, sub);
    pccc_do(f, f->cur, how, &q, &rep);
    assert_int_equal(rep.pccc.sts, 0);
    assert_int_equal(rep.pccc.data_len, size);
    memcpy(data, rep.pccc.data, size);
}

static void slc_write(fixture_t *f, const how_t *how, uint8_t size, uint16_t file, uint8_t type,
                      uint16_t element, uint16_t sub, const uint8_t *data)
{
    pl_pccc_request_t q;
    reply_t rep;

    slc_req(&q, PL_PCCC_OP_SLC_WRITE, size, file, type, element, sub);
    q.data = data;
    q.data_len = size;
    pccc_do(f, f->cur, how, &q, &rep);
    assert_int_equal(rep.pccc.sts, 0);
    assert_int_equal(rep.pccc.data_len, 0);
}

/* Expects STS (and EXT STS when sts is 0xF0) for request q. */
static void expect_sts(fixture_t *f, pl_pccc_request_t *q, uint8_t sts, uint8_t ext)
{
    reply_t rep;

    pccc_do(f, f->cur, &DIRECT, q, &rep);
    assert_int_equal(rep.pccc.sts, sts);
    if (sts == PL_PCCC_STS_EXT) {
        assert_true(rep.pccc.has_ext_sts);
        assert_int_equal(rep.pccc.ext_sts, ext);
    }
    assert_int_equal(rep.pccc.data_len, 0);
}

/* Sends a raw CIP request unconnected and returns the CIP response. */
static void cip_do(fixture_t *f, const uint8_t *cip, size_t len, reply_t *out)
{
    uint8_t buf[MSG_CAP];

    raw_send(&f->a, buf, frame_cip(&f->a, VIA_DIRECT, cip, len, buf, sizeof(buf)));
    take(f, &f->a, &out->enip);
    decode_cip(&f->a, VIA_DIRECT, out);
}

/* ------------------------------------------------------------------ tests */

static void test_register_session(void **state)
{
    fixture_t f;
    uint8_t data[4], buf[128], cip[64], frame[256];
    pl_enip_msg_t m;
    size_t n, len;

    (void)state;
    start(&f, PL_PCCC_PLC_SLC500, NULL);
    /* a protocol version other than 1 is refused with 0x0069 */
    assert_int_equal(pl_enip_register_encode(data, sizeof(data), 2, 0), 4);
    raw_send(&f.a, buf, encap(buf, sizeof(buf), PL_ENIP_CMD_REGISTER_SESSION, 0, data, 4));
    take(&f, &f.a, &m);
    assert_int_equal(m.status, PL_ENIP_STATUS_UNSUPPORTED_PROTOCOL);
    /* requests before a session: invalid session handle */
    len = cip_pccc(&DIRECT, (const uint8_t *)"\x06\x00\x01\x00\x03", 5, cip, sizeof(cip));
    raw_send(&f.a, frame, frame_cip(&f.a, VIA_DIRECT, cip, len, frame, sizeof(frame)));
    take(&f, &f.a, &m);
    assert_int_equal(m.status, PL_ENIP_STATUS_INVALID_SESSION);

    register_session(&f, &f.a);
    /* the wrong session handle */
    f.a.session++;
    raw_send(&f.a, frame, frame_cip(&f.a, VIA_DIRECT, cip, len, frame, sizeof(frame)));
    take(&f, &f.a, &m);
    assert_int_equal(m.status, PL_ENIP_STATUS_INVALID_SESSION);
    f.a.session--;
    /* NOP has no reply; an unknown command answers 0x0001; the order stays */
    n = encap(buf, sizeof(buf), PL_ENIP_CMD_NOP, f.a.session, NULL, 0);
    n += encap(buf + n, sizeof(buf) - n, 0x00FF, f.a.session, NULL, 0);
    raw_send(&f.a, buf, n);
    take(&f, &f.a, &m);
    assert_int_equal(m.command, 0x00FF);
    assert_int_equal(m.status, PL_ENIP_STATUS_INVALID_COMMAND);
    /* ListServices */
    raw_send(&f.a, buf, encap(buf, sizeof(buf), PL_ENIP_CMD_LIST_SERVICES, 0, NULL, 0));
    take(&f, &f.a, &m);
    assert_int_equal(m.status, 0);
    assert_int_equal(m.data_len, 26);
    assert_int_equal(m.data[2] | m.data[3] << 8, PL_CPF_LIST_SERVICES);
    /* UnRegisterSession closes the connection */
    raw_send(&f.a, buf,
             encap(buf, sizeof(buf), PL_ENIP_CMD_UNREGISTER_SESSION, f.a.session, NULL, 0));
    run_until(&f.loop, &f.a.downs, 1);
    pl_line_stop(f.a.line);
    assert_int_equal(pl_pccc_server_stats(f.srv)->sessions, 1);
    stop(&f);
}

static void test_list_identity(void **state)
{
    static const struct {
        pl_pccc_plc_t plc;
        const char *name;
    } cases[] = {{PL_PCCC_PLC_SLC500, "1747-L552/C D/23.10"},
                 {PL_PCCC_PLC_MICROLOGIX, "1763-L16BWA B/14.00"},
                 {PL_PCCC_PLC_PLC5, "1785-L40E/F"}};
    size_t k;

    (void)state;
    for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        fixture_t f;
        uint8_t buf[64];
        pl_enip_msg_t m;
        pl_cpf_t cpf;
        pl_enip_identity_t id;

        start(&f, cases[k].plc, NULL);
        raw_send(&f.a, buf, encap(buf, sizeof(buf), PL_ENIP_CMD_LIST_IDENTITY, 0, NULL, 0));
        take(&f, &f.a, &m);
        assert_int_equal(m.status, 0);
        assert_int_equal(pl_cpf_decode(m.data, m.data_len, &cpf), 0);
        assert_int_equal(cpf.count, 1);
        assert_int_equal(cpf.item[0].type, PL_CPF_LIST_IDENTITY);
        assert_int_equal(pl_enip_identity_decode(cpf.item[0].data, cpf.item[0].length, &id), 0);
        assert_int_equal(id.vendor_id, 1);
        assert_int_equal(id.device_type, 0x0E);
        assert_int_equal(id.protocol_version, 1);
        assert_int_equal(id.sin_port, pl_pccc_server_port(f.srv));
        assert_int_equal(id.sin_addr, 0x7F000001u);
        assert_int_equal(id.product_name_len, strlen(cases[k].name));
        assert_memory_equal(id.product_name, cases[k].name, id.product_name_len);
        stop(&f);
    }
}

static void test_typed_rw(void **state)
{
    fixture_t f;
    uint8_t in[84], out[84], *mem;
    size_t len;
    float fl = 3.25f;
    int32_t l = -123456789;

    (void)state;
    start(&f, PL_PCCC_PLC_SLC500, NULL);
    register_session(&f, &f.a);
    /* N7:3..5 */
    memcpy(in, "\x01\x00\xFF\x7F\x00\x80", 6);
    slc_write(&f, &DIRECT, 6, 7, PL_PCCC_FT_INTEGER, 3, 0, in);
    slc_read(&f, &DIRECT, 6, 7, PL_PCCC_FT_INTEGER, 3, 0, out);
    assert_memory_equal(in, out, 6);
    mem = pl_pccc_server_file(f.srv, "N7", &len);
    assert_non_null(mem);
    assert_int_equal(len, 200);
    assert_memory_equal(mem + 6, in, 6);
    /* F8:2 */
    memcpy(in, &fl, 4);
    slc_write(&f, &DIRECT, 4, 8, PL_PCCC_FT_FLOAT, 2, 0, in);
    slc_read(&f, &DIRECT, 4, 8, PL_PCCC_FT_FLOAT, 2, 0, out);
    assert_memory_equal(in, out, 4);
    assert_memory_equal(pl_pccc_server_file(f.srv, "F8", NULL) + 8, in, 4);
    /* B3:1 */
    slc_write(&f, &DIRECT, 2, 3, PL_PCCC_FT_BIT, 1, 0, (const uint8_t *)"\x34\x12");
    slc_read(&f, &DIRECT, 2, 3, PL_PCCC_FT_BIT, 1, 0, out);
    assert_memory_equal(out, "\x34\x12", 2);
    /* L10:9, the last element */
    in[0] = (uint8_t)l;
    in[1] = (uint8_t)(l >> 8);
    in[2] = (uint8_t)(l >> 16);
    in[3] = (uint8_t)((uint32_t)l >> 24);
    slc_write(&f, &DIRECT, 4, 10, PL_PCCC_FT_LONG, 9, 0, in);
    slc_read(&f, &DIRECT, 4, 10, PL_PCCC_FT_LONG, 9, 0, out);
    assert_memory_equal(in, out, 4);
    /* T4:2.ACC is sub-element 2 of the timer: only that word changes */
    slc_write(&f, &DIRECT, 2, 4, PL_PCCC_FT_TIMER, 2, 2, (const uint8_t *)"\xE8\x03");
    slc_read(&f, &DIRECT, 6, 4, PL_PCCC_FT_TIMER, 2, 0, out);
    assert_memory_equal(out, "\x00\x00\x00\x00\xE8\x03", 6);
    slc_read(&f, &DIRECT, 2, 4, PL_PCCC_FT_TIMER, 2, 2, out);
    assert_memory_equal(out, "\xE8\x03", 2);
    /* ST9:1, a whole string element */
    memset(in, 0, sizeof(in));
    in[0] = 5;
    memcpy(in + 2, "EHLLO", 5); /* two characters per word, first in the high byte */
    slc_write(&f, &DIRECT, 84, 9, PL_PCCC_FT_STRING, 1, 0, in);
    slc_read(&f, &DIRECT, 84, 9, PL_PCCC_FT_STRING, 1, 0, out);
    assert_memory_equal(in, out, 84);
    assert_memory_equal(pl_pccc_server_file(f.srv, "ST9", NULL) + 84, in, 84);
    assert_null(pl_pccc_server_file(f.srv, "N9", NULL));
    assert_null(pl_pccc_server_file(f.srv, "N99", NULL));
    stop(&f);
}

static void test_services(void **state)
{
    fixture_t f;
    how_t dhp = {PL_PCCC_SVC_DHP, VIA_DIRECT, {0x0001, 5, 0, 0x0002, 2, 0}};
    how_t local = {PL_PCCC_SVC_LOCAL, VIA_DIRECT, {0, 0, 0, 0, 0, 0}};
    pl_pccc_request_t q;
    reply_t rep;

    (void)state;
    start(&f, PL_PCCC_PLC_SLC500, NULL);
    register_session(&f, &f.a);
    slc_write(&f, &DIRECT, 2, 7, PL_PCCC_FT_INTEGER, 0, 0, (const uint8_t *)"\x2A\x00");
    /* 0x4B: the requestor ID comes back */
    slc_req(&q, PL_PCCC_OP_SLC_READ, 2, 7, PL_PCCC_FT_INTEGER, 0, 0);
    pccc_do(&f, &f.a, &DIRECT, &q, &rep);
    assert_int_equal(rep.wrap.length, 7);
    assert_int_equal(rep.wrap.vendor, REQ_VENDOR);
    assert_int_equal(rep.wrap.serial, REQ_SERIAL);
    assert_memory_equal(rep.pccc.data, "\x2A\x00", 2);
    /* 0x4C: the DH+ header comes back with destination and source swapped */
    slc_req(&q, PL_PCCC_OP_SLC_READ, 2, 7, PL_PCCC_FT_INTEGER, 0, 0);
    pccc_do(&f, &f.a, &dhp, &q, &rep);
    assert_int_equal(rep.wrap.dhp.dst_link, 0x0002);
    assert_int_equal(rep.wrap.dhp.dst_node, 2);
    assert_int_equal(rep.wrap.dhp.src_link, 0x0001);
    assert_int_equal(rep.wrap.dhp.src_node, 5);
    assert_int_equal(rep.pccc.sts, 0);
    assert_memory_equal(rep.pccc.data, "\x2A\x00", 2);
    /* 0x4D: no header */
    slc_req(&q, PL_PCCC_OP_SLC_READ, 2, 7, PL_PCCC_FT_INTEGER, 0, 0);
    pccc_do(&f, &f.a, &local, &q, &rep);
    assert_int_equal(rep.wrap.pccc_len, 6);
    assert_memory_equal(rep.pccc.data, "\x2A\x00", 2);
    stop(&f);
}

static void test_routed_and_connected(void **state)
{
    fixture_t f;
    how_t routed = {PL_PCCC_SVC_EXECUTE, VIA_ROUTE, {0, 0, 0, 0, 0, 0}};
    how_t conn = {PL_PCCC_SVC_EXECUTE, VIA_CONNECTED, {0, 0, 0, 0, 0, 0}};
    uint8_t cip[256], out[4];
    pl_cip_fwd_open_t fo;
    pl_cip_fwd_close_t fc;
    pl_cip_fwd_open_reply_t for_;
    pl_cip_fwd_close_reply_t fcr;
    static const uint8_t conn_path[] = {0x01, 0x00, 0x20, 0x02, 0x24, 0x01};
    reply_t rep;
    int n;

    (void)state;
    start(&f, PL_PCCC_PLC_SLC500, NULL);
    register_session(&f, &f.a);
    /* Unconnected Send with route 1,0 */
    slc_write(&f, &routed, 2, 7, PL_PCCC_FT_INTEGER, 1, 0, (const uint8_t *)"\x07\x00");
    slc_read(&f, &DIRECT, 2, 7, PL_PCCC_FT_INTEGER, 1, 0, out);
    assert_memory_equal(out, "\x07\x00", 2);
    slc_read(&f, &routed, 2, 7, PL_PCCC_FT_INTEGER, 1, 0, out);
    assert_memory_equal(out, "\x07\x00", 2);
    /* Forward Open */
    memset(&fo, 0, sizeof(fo));
    fo.priority_tick = 0x0A;
    fo.timeout_ticks = 0x0E;
    fo.to_conn_id = f.a.to_id;
    fo.conn_serial = 0x4242;
    fo.vendor_id = REQ_VENDOR;
    fo.orig_serial = REQ_SERIAL;
    fo.timeout_mult = 1;
    fo.ot_rpi = fo.to_rpi = 2000000;
    fo.ot_params = fo.to_params = 0x43F4;
    fo.transport = 0xA3;
    fo.path = conn_path;
    fo.path_len = sizeof(conn_path);
    n = pl_cip_fwd_open_encode(cip, sizeof(cip), &fo);
    assert_true(n > 0);
    cip_do(&f, cip, (size_t)n, &rep);
    assert_int_equal(rep.cip.status, 0);
    assert_int_equal(pl_cip_fwd_open_reply_decode(&rep.cip, &for_), 0);
    assert_int_equal(for_.to_conn_id, f.a.to_id);
    assert_int_equal(for_.conn_serial, 0x4242);
    assert_true(for_.ot_conn_id != 0);
    f.a.conn_id = for_.ot_conn_id;
    /* the same triad again: connection in use */
    cip_do(&f, cip, (size_t)n, &rep);
    assert_int_equal(rep.cip.status, PL_CIP_STATUS_CONNECTION_FAILURE);
    assert_int_equal(rep.cip.ext_status, PL_CIP_EXT_CONNECTION_IN_USE);
    /* connected requests: the sequence count is echoed (checked in decode_cip) */
    slc_write(&f, &conn, 2, 7, PL_PCCC_FT_INTEGER, 2, 0, (const uint8_t *)"\x09\x00");
    slc_read(&f, &conn, 2, 7, PL_PCCC_FT_INTEGER, 2, 0, out);
    assert_memory_equal(out, "\x09\x00", 2);
    assert_int_equal(f.a.seq, 2);
    /* Forward Close, then again: not found */
    memset(&fc, 0, sizeof(fc));
    fc.priority_tick = 0x0A;
    fc.timeout_ticks = 0x0E;
    fc.conn_serial = 0x4242;
    fc.vendor_id = REQ_VENDOR;
    fc.orig_serial = REQ_SERIAL;
    fc.path = conn_path;
    fc.path_len = sizeof(conn_path);
    n = pl_cip_fwd_close_encode(cip, sizeof(cip), &fc);
    assert_true(n > 0);
    cip_do(&f, cip, (size_t)n, &rep);
    assert_int_equal(rep.cip.status, 0);
    assert_int_equal(pl_cip_fwd_close_reply_decode(&rep.cip, &fcr), 0);
    assert_int_equal(fcr.conn_serial, 0x4242);
    cip_do(&f, cip, (size_t)n, &rep);
    assert_int_equal(rep.cip.status, PL_CIP_STATUS_CONNECTION_FAILURE);
    assert_int_equal(rep.cip.ext_status, PL_CIP_EXT_CONNECTION_NOT_FOUND);
    stop(&f);
}

static void test_cip_errors(void **state)
{
    fixture_t f;
    uint8_t cip[256], path[8], ucmm[256];
    static const uint8_t far_route[] = {0x12, 0x08, '1', '0', '.', '0', '.', '0', '.', '5'};
    pl_cip_req_t req;
    pl_cip_ucmm_t u;
    reply_t rep;
    int n, plen;
    size_t len;

    (void)state;
    start(&f, PL_PCCC_PLC_SLC500, NULL);
    register_session(&f, &f.a);
    /* PCCC object, wrong instance: path destination unknown */
    plen = pl_cip_path_encode(path, sizeof(path), PL_CIP_CLASS_PCCC, 2);
    memset(&req, 0, sizeof(req));
    req.service = PL_PCCC_SVC_EXECUTE;
    req.path = path;
    req.path_len = (size_t)plen;
    req.data = (const uint8_t *)"\x07\x00\x00\x00\x00\x00\x00\x06\x00\x01\x00\x03";
    req.data_len = 12;
    n = pl_cip_req_encode(cip, sizeof(cip), &req);
    cip_do(&f, cip, (size_t)n, &rep);
    assert_int_equal(rep.cip.status, PL_CIP_STATUS_PATH_DESTINATION_UNKNOWN);
    /* an unknown class */
    plen = pl_cip_path_encode(path, sizeof(path), 0x99, 1);
    req.path_len = (size_t)plen;
    n = pl_cip_req_encode(cip, sizeof(cip), &req);
    cip_do(&f, cip, (size_t)n, &rep);
    assert_int_equal(rep.cip.status, PL_CIP_STATUS_PATH_DESTINATION_UNKNOWN);
    /* PCCC object, unknown service */
    plen = pl_cip_path_encode(path, sizeof(path), PL_CIP_CLASS_PCCC, 1);
    req.path_len = (size_t)plen;
    req.service = PL_CIP_SVC_GET_ATTRIBUTE_SINGLE;
    n = pl_cip_req_encode(cip, sizeof(cip), &req);
    cip_do(&f, cip, (size_t)n, &rep);
    assert_int_equal(rep.cip.service, PL_CIP_SVC_GET_ATTRIBUTE_SINGLE | PL_CIP_SVC_REPLY);
    assert_int_equal(rep.cip.status, PL_CIP_STATUS_SERVICE_NOT_SUPPORTED);
    /* a route leaving the chassis: port not available, with the remaining path size */
    req.service = PL_PCCC_SVC_EXECUTE;
    len = (size_t)pl_cip_req_encode(cip, sizeof(cip), &req);
    memset(&u, 0, sizeof(u));
    u.msg = cip;
    u.msg_len = len;
    u.route = far_route;
    u.route_len = sizeof(far_route);
    n = pl_cip_ucmm_encode(ucmm, sizeof(ucmm), &u);
    assert_true(n > 0);
    cip_do(&f, ucmm, (size_t)n, &rep);
    assert_int_equal(rep.cip.service, PL_CIP_SVC_UNCONNECTED_SEND | PL_CIP_SVC_REPLY);
    assert_int_equal(rep.cip.status, PL_CIP_STATUS_CONNECTION_FAILURE);
    assert_int_equal(rep.cip.ext_status, PL_CIP_EXT_PORT_NOT_AVAILABLE);
    stop(&f);
}

static void test_masked_write(void **state)
{
    fixture_t f;
    pl_pccc_request_t q;
    reply_t rep;
    uint8_t out[2];

    (void)state;
    start(&f, PL_PCCC_PLC_SLC500, NULL);
    register_session(&f, &f.a);
    slc_write(&f, &DIRECT, 2, 3, PL_PCCC_FT_BIT, 0, 0, (const uint8_t *)"\x0F\xF0");
    /* B3:0/5 := 1, B3:0/12 := 0 */
    slc_req(&q, PL_PCCC_OP_SLC_MASKED, 2, 3, PL_PCCC_FT_BIT, 0, 0);
    q.mask = (const uint8_t *)"\x20\x10";
    q.data = (const uint8_t *)"\xFF\x00";
    q.data_len = 2;
    pccc_do(&f, &f.a, &DIRECT, &q, &rep);
    assert_int_equal(rep.pccc.sts, 0);
    slc_read(&f, &DIRECT, 2, 3, PL_PCCC_FT_BIT, 0, 0, out);
    assert_memory_equal(out, "\x2F\xE0", 2);
    stop(&f);
}

static void test_plc5(void **state)
{
    fixture_t f;
    pl_pccc_request_t q;
    pl_pccc_typed_t td;
    pl_pccc_diag_t d;
    reply_t rep;
    uint8_t words[6] = {1, 0, 2, 0, 3, 0};
    float fl[2] = {1.5f, -2.0f};

    (void)state;
    start(&f, PL_PCCC_PLC_PLC5, "N7:100 F8:10 B3:16 N12:4");
    register_session(&f, &f.a);
    /* typed write N7:10..12, typed read back */
    pl_pccc_request_init(&q, PL_PCCC_OP_PLC5_WRITE, 0);
    pl_pccc_sysaddr_set(&q.addr, 7, 10, 0, 0);
    q.total_trans = 3;
    q.typed.array = 1;
    q.typed.type = PL_PCCC_TD_INTEGER;
    q.typed.elem_size = 2;
    q.typed.data = words;
    q.typed.data_len = 6;
    pccc_do(&f, &f.a, &DIRECT, &q, &rep);
    assert_int_equal(rep.pccc.sts, 0);
    pl_pccc_request_init(&q, PL_PCCC_OP_PLC5_READ, 0);
    pl_pccc_sysaddr_set(&q.addr, 7, 10, 0, 0);
    q.total_trans = 3;
    q.count = 3;
    pccc_do(&f, &f.a, &DIRECT, &q, &rep);
    assert_int_equal(rep.pccc.sts, 0);
    assert_int_equal(pl_pccc_typed_decode(rep.pccc.data, rep.pccc.data_len, &td, NULL), 0);
    assert_int_equal(td.type, PL_PCCC_TD_INTEGER);
    assert_int_equal(td.elem_size, 2);
    assert_int_equal(td.data_len, 6);
    assert_memory_equal(td.data, words, 6);
    /* packet offset counts elements from the address */
    q.packet_offset = 2;
    q.count = 1;
    pccc_do(&f, &f.a, &DIRECT, &q, &rep);
    assert_int_equal(pl_pccc_typed_decode(rep.pccc.data, rep.pccc.data_len, &td, NULL), 0);
    assert_memory_equal(td.data, "\x03\x00", 2);
    /* a float written as integers: type mismatch */
    pl_pccc_request_init(&q, PL_PCCC_OP_PLC5_WRITE, 0);
    pl_pccc_sysaddr_set(&q.addr, 8, 0, 0, 0);
    q.typed.type = PL_PCCC_TD_INTEGER;
    q.typed.elem_size = 2;
    q.typed.data = words;
    q.typed.data_len = 2;
    expect_sts(&f, &q, PL_PCCC_STS_EXT, 0x17);
    q.typed.array = 1;
    q.typed.type = PL_PCCC_TD_FLOAT;
    q.typed.elem_size = 4;
    q.typed.data = (const uint8_t *)fl;
    q.typed.data_len = 8;
    pccc_do(&f, &f.a, &DIRECT, &q, &rep);
    assert_int_equal(rep.pccc.sts, 0);
    assert_memory_equal(pl_pccc_server_file(f.srv, "F8", NULL), fl, 8);
    /* word range write N12:1..2, read N12:0..3 */
    pl_pccc_request_init(&q, PL_PCCC_OP_WORD_WRITE, 0);
    pl_pccc_sysaddr_set(&q.addr, 12, 1, 0, 0);
    q.total_trans = 2;
    q.data = (const uint8_t *)"\x11\x22\x33\x44";
    q.data_len = 4;
    pccc_do(&f, &f.a, &DIRECT, &q, &rep);
    assert_int_equal(rep.pccc.sts, 0);
    pl_pccc_request_init(&q, PL_PCCC_OP_WORD_READ, 0);
    pl_pccc_sysaddr_set(&q.addr, 12, 0, 0, 0);
    q.total_trans = 4;
    q.count = 8;
    pccc_do(&f, &f.a, &DIRECT, &q, &rep);
    assert_int_equal(rep.pccc.sts, 0);
    assert_int_equal(rep.pccc.data_len, 8);
    assert_memory_equal(rep.pccc.data, "\x00\x00\x11\x22\x33\x44\x00\x00", 8);
    /* past the end of N12 */
    q.count = 10;
    expect_sts(&f, &q, PL_PCCC_STS_EXT, 0x0A);
    /* a file that does not exist */
    pl_pccc_sysaddr_set(&q.addr, 40, 0, 0, 0);
    q.count = 2;
    expect_sts(&f, &q, PL_PCCC_STS_EXT, 0x06);
    /* fewer levels than any address needs (data table and file only) */
    q.addr.mask = 0x03;
    q.addr.nlevels = 2;
    expect_sts(&f, &q, PL_PCCC_STS_EXT, 0x02);
    /* diagnostic status identifies a PLC-5 */
    pl_pccc_request_init(&q, PL_PCCC_OP_DIAG_STATUS, 0);
    pccc_do(&f, &f.a, &DIRECT, &q, &rep);
    assert_int_equal(rep.pccc.sts, 0);
    assert_int_equal(pl_pccc_diag_decode(rep.pccc.data, rep.pccc.data_len, &d, NULL), 0);
    assert_int_equal(d.proc, PL_PCCC_PROC_PLC5);
    stop(&f);
}

static void test_diag_status(void **state)
{
    static const struct {
        pl_pccc_plc_t plc;
        pl_pccc_proc_t proc;
        const char *model;
    } cases[] = {{PL_PCCC_PLC_SLC500, PL_PCCC_PROC_SLC500, "SLC 5/05"},
                 {PL_PCCC_PLC_MICROLOGIX, PL_PCCC_PROC_MICROLOGIX, "MicroLogix 1100"}};
    size_t k;

    (void)state;
    for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        fixture_t f;
        pl_pccc_request_t q;
        pl_pccc_diag_t d;
        reply_t rep;

        start(&f, cases[k].plc, NULL);
        register_session(&f, &f.a);
        pl_pccc_request_init(&q, PL_PCCC_OP_DIAG_STATUS, 0);
        pccc_do(&f, &f.a, &DIRECT, &q, &rep);
        assert_int_equal(rep.pccc.cmd, 0x46);
        assert_int_equal(rep.pccc.sts, 0);
        assert_int_equal(pl_pccc_diag_decode(rep.pccc.data, rep.pccc.data_len, &d, NULL), 0);
        assert_int_equal(d.proc, cases[k].proc);
        assert_string_equal(d.model, cases[k].model);
        /* PLC-5 commands are not SLC commands */
        pl_pccc_request_init(&q, PL_PCCC_OP_WORD_READ, 0);
        pl_pccc_sysaddr_set(&q.addr, 7, 0, 0, 0);
        q.count = 2;
        expect_sts(&f, &q, PL_PCCC_STS_ILLEGAL_CMD, 0);
        stop(&f);
    }
}

static void test_pccc_errors(void **state)
{
    fixture_t f;
    pl_pccc_request_t q;
    uint8_t cip[64], frame[128], data[240];
    reply_t rep;
    size_t len;

    (void)state;
    start(&f, PL_PCCC_PLC_SLC500, NULL);
    register_session(&f, &f.a);
    memset(data, 0, sizeof(data));
    /* a file that does not exist: N40:0 */
    slc_req(&q, PL_PCCC_OP_SLC_READ, 2, 40, PL_PCCC_FT_INTEGER, 0, 0);
    expect_sts(&f, &q, PL_PCCC_STS_EXT, 0x06);
    /* the wrong type: N7 asked for as a float file */
    slc_req(&q, PL_PCCC_OP_SLC_READ, 4, 7, PL_PCCC_FT_FLOAT, 0, 0);
    expect_sts(&f, &q, PL_PCCC_STS_EXT, 0x17);
    slc_req(&q, PL_PCCC_OP_SLC_WRITE, 2, 7, PL_PCCC_FT_BIT, 0, 0);
    q.data = data;
    q.data_len = 2;
    expect_sts(&f, &q, PL_PCCC_STS_EXT, 0x17);
    /* an element past the end: N7:100 */
    slc_req(&q, PL_PCCC_OP_SLC_READ, 2, 7, PL_PCCC_FT_INTEGER, 100, 0);
    expect_sts(&f, &q, PL_PCCC_STS_EXT, 0x06);
    /* a sub-element an integer does not have */
    slc_req(&q, PL_PCCC_OP_SLC_READ, 2, 7, PL_PCCC_FT_INTEGER, 0, 1);
    expect_sts(&f, &q, PL_PCCC_STS_EXT, 0x06);
    /* a range running past the end: N7:98, 3 words */
    slc_req(&q, PL_PCCC_OP_SLC_READ, 6, 7, PL_PCCC_FT_INTEGER, 98, 0);
    expect_sts(&f, &q, PL_PCCC_STS_EXT, 0x0A);
    slc_req(&q, PL_PCCC_OP_SLC_WRITE, 6, 7, PL_PCCC_FT_INTEGER, 98, 0);
    q.data = data;
    q.data_len = 6;
    expect_sts(&f, &q, PL_PCCC_STS_EXT, 0x0A);
    /* more data than one command carries: 238 bytes */
    slc_req(&q, PL_PCCC_OP_SLC_READ, 238, 7, PL_PCCC_FT_INTEGER, 0, 0);
    expect_sts(&f, &q, PL_PCCC_STS_EXT, 0x09);
    /* 236 bytes is the most: accepted (S2 has 164 words) */
    slc_req(&q, PL_PCCC_OP_SLC_READ, 236, 2, PL_PCCC_FT_STATUS, 0, 0);
    pccc_do(&f, &f.a, &DIRECT, &q, &rep);
    assert_int_equal(rep.pccc.sts, 0);
    assert_int_equal(rep.pccc.data_len, 236);
    /* unknown function and unknown command: STS 0x10 with the TNS echoed */
    len = cip_pccc(&DIRECT, (const uint8_t *)"\x0F\x00\x34\x12\x99", 5, cip, sizeof(cip));
    raw_send(&f.a, frame, frame_cip(&f.a, VIA_DIRECT, cip, len, frame, sizeof(frame)));
    take_pccc(&f, &f.a, &DIRECT, &rep);
    assert_int_equal(rep.pccc.cmd, 0x4F);
    assert_int_equal(rep.pccc.sts, PL_PCCC_STS_ILLEGAL_CMD);
    assert_int_equal(rep.pccc.tns, 0x1234);
    len = cip_pccc(&DIRECT, (const uint8_t *)"\x55\x00\x78\x56\x01\x02", 6, cip, sizeof(cip));
    raw_send(&f.a, frame, frame_cip(&f.a, VIA_DIRECT, cip, len, frame, sizeof(frame)));
    take_pccc(&f, &f.a, &DIRECT, &rep);
    assert_int_equal(rep.pccc.cmd, 0x55 | 0x40);
    assert_int_equal(rep.pccc.sts, PL_PCCC_STS_ILLEGAL_CMD);
    assert_int_equal(rep.pccc.tns, 0x5678);
    /* a truncated typed read: illegal format */
    len = cip_pccc(&DIRECT, (const uint8_t *)"\x0F\x00\x01\x00\xA2\x02\x07", 7, cip, sizeof(cip));
    raw_send(&f.a, frame, frame_cip(&f.a, VIA_DIRECT, cip, len, frame, sizeof(frame)));
    take_pccc(&f, &f.a, &DIRECT, &rep);
    assert_int_equal(rep.pccc.sts, PL_PCCC_STS_ILLEGAL_CMD);
    assert_true(pl_pccc_server_stats(f.srv)->errors_sent >= 11);
    stop(&f);
}

static void test_pipelined(void **state)
{
    fixture_t f;
    pl_pccc_request_t q;
    uint8_t pccc[64], cip[128], buf[512];
    size_t n = 0, len;
    reply_t rep;
    int k, m;

    (void)state;
    start(&f, PL_PCCC_PLC_SLC500, NULL);
    register_session(&f, &f.a);
    slc_write(&f, &DIRECT, 4, 7, PL_PCCC_FT_INTEGER, 20, 0, (const uint8_t *)"\x01\x00\x02\x00");
    /* two requests in one segment: both answered, in order */
    for (k = 0; k < 2; k++) {
        slc_req(&q, PL_PCCC_OP_SLC_READ, 2, 7, PL_PCCC_FT_INTEGER, (uint16_t)(20 + k), 0);
        q.tns = (uint16_t)(0x7000 + k);
        m = pl_pccc_request_encode(pccc, sizeof(pccc), &q);
        len = cip_pccc(&DIRECT, pccc, (size_t)m, cip, sizeof(cip));
        n += frame_cip(&f.a, VIA_DIRECT, cip, len, buf + n, sizeof(buf) - n);
    }
    raw_send(&f.a, buf, n);
    for (k = 0; k < 2; k++) {
        take_pccc(&f, &f.a, &DIRECT, &rep);
        assert_int_equal(rep.pccc.tns, 0x7000 + k);
        assert_int_equal(rep.pccc.data[0], k + 1);
    }
    /* the same bytes one at a time give the same answers */
    for (k = 0; (size_t)k < n; k++)
        raw_send(&f.a, buf + k, 1);
    for (k = 0; k < 2; k++) {
        take_pccc(&f, &f.a, &DIRECT, &rep);
        assert_int_equal(rep.pccc.tns, 0x7000 + k);
    }
    stop(&f);
}

/* A strict target refuses RegisterSession when the header has anything but zeros where
 * the command has nothing to say (sender context, options, session handle, status):
 * encapsulation status 0x0001. lax_register accepts it and echoes the context. */
static void test_strict_register(void **state)
{
    static const size_t fields[] = {4, 8, 12, 19, 20}; /* session, status, context, options */
    pl_pccc_server_config_t cfg;
    fixture_t f;
    uint8_t buf[64];
    pl_enip_msg_t m;
    size_t k;
    int n;

    (void)state;
    start(&f, PL_PCCC_PLC_SLC500, NULL);
    for (k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
        n = pl_enip_register_request(buf, sizeof(buf));
        assert_int_equal(n, 28);
        buf[fields[k]] = 0x01;
        raw_send(&f.a, buf, (size_t)n);
        take(&f, &f.a, &m);
        assert_int_equal(m.command, PL_ENIP_CMD_REGISTER_SESSION);
        assert_int_equal(m.status, PL_ENIP_STATUS_INVALID_COMMAND);
    }
    assert_int_equal(pl_pccc_server_stats(f.srv)->register_refused, 5);
    assert_int_equal(pl_pccc_server_stats(f.srv)->sessions, 0);
    /* the request as the codec (and the client) builds it is served */
    register_session(&f, &f.a);
    stop(&f);

    pl_pccc_server_config_init(&cfg);
    cfg.lax_register = 1;
    start_cfg(&f, &cfg);
    n = pl_enip_register_request(buf, sizeof(buf));
    memcpy(buf + 12, "plcline!", PL_ENIP_CONTEXT_LEN);
    raw_send(&f.a, buf, (size_t)n);
    take(&f, &f.a, &m);
    assert_int_equal(m.status, 0);
    assert_true(m.session != 0);
    assert_memory_equal(m.context, "plcline!", PL_ENIP_CONTEXT_LEN);
    stop(&f);
}

/* Two N7 reads of one segment (both sent before either answer could be seen). */
static size_t two_reads(raw_t *r, uint8_t *buf, size_t cap)
{
    pl_pccc_request_t q;
    uint8_t pccc[64], cip[128];
    size_t n = 0, len;
    int k, m;

    for (k = 0; k < 2; k++) {
        slc_req(&q, PL_PCCC_OP_SLC_READ, 2, 7, PL_PCCC_FT_INTEGER, (uint16_t)k, 0);
        q.tns = (uint16_t)(0x7100 + k);
        m = pl_pccc_request_encode(pccc, sizeof(pccc), &q);
        len = cip_pccc(&DIRECT, pccc, (size_t)m, cip, sizeof(cip));
        n += frame_cip(r, VIA_DIRECT, cip, len, buf + n, cap - n);
    }
    return n;
}

/* max_inflight 1: a request that arrives while another is unanswered closes the
 * connection; one at a time is served for ever. */
static void test_max_inflight(void **state)
{
    pl_pccc_server_config_t cfg;
    fixture_t f;
    uint8_t buf[512], out[2];
    size_t n;
    int k;

    (void)state;
    pl_pccc_server_config_init(&cfg);
    cfg.max_inflight = 1;
    start_cfg(&f, &cfg);
    register_session(&f, &f.a);
    for (k = 0; k < 5; k++)
        slc_read(&f, &DIRECT, 2, 7, PL_PCCC_FT_INTEGER, (uint16_t)k, 0, out);
    assert_int_equal(pl_pccc_server_stats(f.srv)->inflight_closed, 0);
    /* two in one segment: the first is answered, then the connection closes */
    n = two_reads(&f.a, buf, sizeof(buf));
    raw_send(&f.a, buf, n);
    run_until(&f.loop, &f.a.downs, 1);
    assert_int_equal(pl_pccc_server_stats(f.srv)->inflight_closed, 1);
    pl_line_stop(f.a.line);
    stop(&f);

    /* with answers held back (delay_ms), a request sent on its own before the answer came
     * is caught as well */
    pl_pccc_server_config_init(&cfg);
    cfg.max_inflight = 1;
    cfg.delay_ms = 50;
    start_cfg(&f, &cfg);
    register_session(&f, &f.a);
    n = two_reads(&f.a, buf, sizeof(buf));
    raw_send(&f.a, buf, n / 2);
    uv_run(&f.loop, UV_RUN_NOWAIT);
    raw_send(&f.a, buf + n / 2, n - n / 2);
    run_until(&f.loop, &f.a.downs, 1);
    assert_int_equal(pl_pccc_server_stats(f.srv)->inflight_closed, 1);
    pl_line_stop(f.a.line);
    stop(&f);

    /* max_inflight 2 takes the two */
    pl_pccc_server_config_init(&cfg);
    cfg.max_inflight = 2;
    start_cfg(&f, &cfg);
    register_session(&f, &f.a);
    n = two_reads(&f.a, buf, sizeof(buf));
    raw_send(&f.a, buf, n);
    for (k = 0; k < 2; k++) {
        reply_t rep;

        take_pccc(&f, &f.a, &DIRECT, &rep);
        assert_int_equal(rep.pccc.tns, 0x7100 + k);
    }
    assert_int_equal(pl_pccc_server_stats(f.srv)->inflight_closed, 0);
    stop(&f);
}

/* no_connected: Forward Open is answered with CIP status 0x08; unconnected requests are
 * served. require_requestor: 0x4B with another requestor ID gets CIP status 0x08. */
static void test_no_connected_and_requestor(void **state)
{
    static const uint8_t conn_path[] = {0x20, 0x02, 0x24, 0x01};
    pl_pccc_server_config_t cfg;
    pl_cip_fwd_open_t fo;
    pl_pccc_request_t q;
    fixture_t f;
    uint8_t cip[256], pccc[64], frame[300], out[2];
    reply_t rep;
    size_t len;
    int n;

    (void)state;
    pl_pccc_server_config_init(&cfg);
    cfg.no_connected = 1;
    cfg.require_requestor = 1;
    cfg.requestor_vendor = REQ_VENDOR;
    cfg.requestor_serial = REQ_SERIAL;
    start_cfg(&f, &cfg);
    register_session(&f, &f.a);
    memset(&fo, 0, sizeof(fo));
    fo.priority_tick = 0x0A;
    fo.timeout_ticks = 0x0E;
    fo.to_conn_id = f.a.to_id;
    fo.conn_serial = 0x4343;
    fo.vendor_id = REQ_VENDOR;
    fo.orig_serial = REQ_SERIAL;
    fo.timeout_mult = 1;
    fo.ot_rpi = fo.to_rpi = 2000000;
    fo.ot_params = fo.to_params = 0x43F4;
    fo.transport = 0xA3;
    fo.path = conn_path;
    fo.path_len = sizeof(conn_path);
    n = pl_cip_fwd_open_encode(cip, sizeof(cip), &fo);
    assert_true(n > 0);
    cip_do(&f, cip, (size_t)n, &rep);
    assert_int_equal(rep.cip.service, PL_CIP_SVC_FORWARD_OPEN | PL_CIP_SVC_REPLY);
    assert_int_equal(rep.cip.status, PL_CIP_STATUS_SERVICE_NOT_SUPPORTED);
    assert_int_equal(pl_pccc_server_stats(f.srv)->fwd_open_refused, 1);
    /* the requestor ID the test sends (REQ_VENDOR/REQ_SERIAL) is the one required */
    slc_write(&f, &DIRECT, 2, 7, PL_PCCC_FT_INTEGER, 3, 0, (const uint8_t *)"\x0b\x00");
    slc_read(&f, &DIRECT, 2, 7, PL_PCCC_FT_INTEGER, 3, 0, out);
    assert_memory_equal(out, "\x0b\x00", 2);
    stop(&f);

    cfg.requestor_serial = REQ_SERIAL + 1u;
    start_cfg(&f, &cfg);
    register_session(&f, &f.a);
    slc_req(&q, PL_PCCC_OP_SLC_READ, 2, 7, PL_PCCC_FT_INTEGER, 3, 0);
    q.tns = 0x7200;
    n = pl_pccc_request_encode(pccc, sizeof(pccc), &q);
    len = cip_pccc(&DIRECT, pccc, (size_t)n, cip, sizeof(cip));
    raw_send(&f.a, frame, frame_cip(&f.a, VIA_DIRECT, cip, len, frame, sizeof(frame)));
    take(&f, &f.a, &rep.enip);
    decode_cip(&f.a, VIA_DIRECT, &rep);
    assert_int_equal(rep.cip.service, PL_PCCC_SVC_EXECUTE | PL_CIP_SVC_REPLY);
    assert_int_equal(rep.cip.status, PL_CIP_STATUS_SERVICE_NOT_SUPPORTED);
    assert_int_equal(pl_pccc_server_stats(f.srv)->requestor_refused, 1);
    stop(&f);
}

static void test_two_sessions_and_malformed(void **state)
{
    fixture_t f;
    uint8_t bad[PL_ENIP_HEADER_LEN], out[2];

    (void)state;
    start(&f, PL_PCCC_PLC_SLC500, NULL);
    raw_connect(&f, &f.b);
    register_session(&f, &f.a);
    register_session(&f, &f.b);
    assert_true(f.a.session != f.b.session);
    slc_write(&f, &DIRECT, 2, 7, PL_PCCC_FT_INTEGER, 5, 0, (const uint8_t *)"\x05\x00");
    /* b sees what a wrote */
    f.cur = &f.b;
    slc_read(&f, &DIRECT, 2, 7, PL_PCCC_FT_INTEGER, 5, 0, out);
    assert_memory_equal(out, "\x05\x00", 2);
    f.cur = &f.a;
    /* a frame announcing more data than the simulator takes closes only its connection */
    memset(bad, 0, sizeof(bad));
    bad[0] = (uint8_t)PL_ENIP_CMD_SEND_RR_DATA;
    bad[2] = 0xFF;
    bad[3] = 0xFF;
    raw_send(&f.b, bad, sizeof(bad));
    run_until(&f.loop, &f.b.downs, 1);
    pl_line_stop(f.b.line);
    assert_int_equal(pl_pccc_server_stats(f.srv)->bad_frames, 1);
    slc_read(&f, &DIRECT, 2, 7, PL_PCCC_FT_INTEGER, 5, 0, out);
    assert_memory_equal(out, "\x05\x00", 2);
    assert_int_equal(pl_pccc_server_stats(f.srv)->connections, 2);
    stop(&f);
}

static void test_files_spec(void **state)
{
    static const char *bad[] = {"N7", "N7:0", "Q7:10", "N7:10 N7:5", "N7:1001", "N7:10x", ""};
    pl_pccc_server_config_t cfg;
    pl_pccc_server_t *s;
    pl_status_t st;
    uv_loop_t loop;
    size_t k, len;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    pl_pccc_server_config_init(&cfg);
    assert_int_equal(cfg.listen.port, 44818);
    cfg.listen.port = 0;
    for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        cfg.files = bad[k];
        assert_int_equal(pl_pccc_server_new(&loop, &cfg, &s, &st), PL_ECONFIG);
    }
    cfg.files = "n7:3, st20:2 l9:1";
    assert_int_equal(pl_pccc_server_new(&loop, &cfg, &s, &st), 0);
    assert_non_null(pl_pccc_server_file(s, "N7", &len));
    assert_int_equal(len, 6);
    assert_non_null(pl_pccc_server_file(s, "ST20", &len));
    assert_int_equal(len, 168);
    assert_non_null(pl_pccc_server_file(s, "L9", &len));
    assert_int_equal(len, 4);
    assert_null(pl_pccc_server_file(s, "F8", &len));
    pl_pccc_server_free(s);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void on_tick(uv_timer_t *t)
{
    int *ticks = t->data;

    (*ticks)++;
}

static void test_animate(void **state)
{
    pl_pccc_server_config_t cfg;
    pl_pccc_server_t *s;
    pl_status_t st;
    uv_loop_t loop;
    uv_timer_t t;
    uint8_t *n7;
    int ticks = 0;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    pl_pccc_server_config_init(&cfg);
    cfg.listen.port = 0;
    cfg.animate_ms = 1;
    assert_int_equal(pl_pccc_server_new(&loop, &cfg, &s, &st), 0);
    n7 = pl_pccc_server_file(s, "N7", NULL);
    uv_timer_init(&loop, &t);
    t.data = &ticks;
    uv_timer_start(&t, on_tick, 1, 1);
    while (n7[0] < 3 && ticks < 5000) /* the 1 ms tick bounds the wait at about 5 s */
        uv_run(&loop, UV_RUN_ONCE);
    assert_true(n7[0] >= 3);
    assert_true(n7[2] < 100);
    assert_true(pl_pccc_server_file(s, "F8", NULL)[3] != 0);
    uv_close((uv_handle_t *)&t, NULL);
    pl_pccc_server_free(s);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_session),
        cmocka_unit_test(test_list_identity),
        cmocka_unit_test(test_typed_rw),
        cmocka_unit_test(test_services),
        cmocka_unit_test(test_routed_and_connected),
        cmocka_unit_test(test_strict_register),
        cmocka_unit_test(test_max_inflight),
        cmocka_unit_test(test_no_connected_and_requestor),
        cmocka_unit_test(test_cip_errors),
        cmocka_unit_test(test_masked_write),
        cmocka_unit_test(test_plc5),
        cmocka_unit_test(test_diag_status),
        cmocka_unit_test(test_pccc_errors),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_two_sessions_and_malformed),
        cmocka_unit_test(test_files_spec),
        cmocka_unit_test(test_animate),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
