/* SPDX-License-Identifier: MIT */
/*
 * PCCC client <-> a scripted EtherNet/IP responder on loopback, in one process and one loop.
 * The responder is built here from the codecs and pl_listener (not the simulator): it
 * records every request byte for byte and answers, holds, reorders, refuses or drops as
 * each test scripts it. Ports are picked at run time; nothing sleeps: the loop runs until a
 * condition holds, with a guard timer that fails the test if it never does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "faults.h"
#include "hex.h"

#include "proto/pccc/codec/cip.h"
#include "proto/pccc/codec/enip.h"
#include "proto/pccc/codec/pccc.h"
#include "proto/pccc/codec/pccc_addr.h"
#include "plcline/engine.h"
#include "plcline/error.h"
#include "plcline/pccc.h"

/* ------------------------------------------------------------------ the responder */

#define NFILES   8
#define FILE_MAX 2048
#define NCAP     64
#define CAP_MAX  700
#define NHELD    16

typedef struct {
    uint8_t cip[CAP_MAX]; /* the CIP request as carried in the CPF item */
    size_t cip_len;
    uint8_t pccc[CAP_MAX]; /* the PCCC message inside the service header */
    size_t pccc_len;
    uint16_t command; /* SendRRData / SendUnitData */
    uint16_t seq;     /* sequence count (connected) */
    uint8_t route[64];
    size_t route_len; /* Unconnected Send route, when routed */
} cap_t;

typedef struct {
    uv_loop_t loop;
    pl_listener_t *lst;
    pl_conn_t *conn;
    uint16_t port;
    uint8_t rx[8192];
    size_t rx_len;
    int accepted, closed, registered, unregistered, fwd_open, fwd_close;
    pl_cip_fwd_open_t fo; /* the last Forward Open (path copied below) */
    uint8_t fo_path[64];
    size_t fo_path_len;
    uint32_t ot_id;
    struct {
        uint8_t type;
        uint16_t file;
        uint8_t data[FILE_MAX];
    } files[NFILES];
    cap_t cap[NCAP];
    unsigned ncap, npccc;
    /* script */
    int silent;            /* never answer PCCC requests */
    int hold;              /* keep replies until released */
    uint8_t sts, ext_sts;  /* answer with this STS */
    uint8_t cip_status;    /* answer with this CIP general status (no data) */
    uint32_t encap_status; /* answer with this encapsulation status */
    int bad_tns;           /* answer with another TNS */
    unsigned close_on;     /* close the connection when this PCCC request arrives */
    unsigned encap_on;     /* answer this PCCC request (only) with encapsulation status 2 */
    uint32_t reg_status;   /* refuse RegisterSession with this encapsulation status */
    uint8_t fo_status;     /* refuse Forward Open with this CIP general status */
    int no_echo;           /* reply with a zero sender context, as some targets do */
    uint8_t reg_raw[64], unreg_raw[64]; /* RegisterSession / UnRegisterSession as received */
    size_t reg_len, unreg_len;
    uint8_t held[NHELD][1024];
    size_t held_len[NHELD];
    unsigned nheld;
    /* client side */
    pl_pccc_client_t *cli;
    int links_up, links_down;
} fx_t;

static fx_t F;

static size_t esize(uint8_t type)
{
    switch (type) {
    case PL_PCCC_FT_FLOAT:
    case PL_PCCC_FT_LONG:
        return 4;
    case PL_PCCC_FT_TIMER:
    case PL_PCCC_FT_COUNTER:
    case PL_PCCC_FT_CONTROL:
        return 6;
    case PL_PCCC_FT_STRING:
        return 84;
    default:
        return 2;
    }
}

static uint8_t *file_at(fx_t *f, uint16_t file, uint8_t type, size_t off, size_t n)
{
    int i;

    for (i = 0; i < NFILES; i++)
        if (f->files[i].file == file && (type == 0 || f->files[i].type == type) &&
            off + n <= FILE_MAX)
            return f->files[i].data + off;
    return NULL;
}

static uint8_t file_type(fx_t *f, uint16_t file)
{
    int i;

    for (i = 0; i < NFILES; i++)
        if (f->files[i].file == file)
            return f->files[i].type;
    return 0;
}

static void emit(fx_t *f, const uint8_t *p, size_t n, int pccc)
{
    if (pccc && f->hold) {
        assert_true(f->nheld < NHELD);
        memcpy(f->held[f->nheld], p, n);
        f->held_len[f->nheld++] = n;
        return;
    }
    assert_int_equal(pl_conn_send(f->conn, p, n), 0);
}

/* Sends the held replies, last first. */
static void release_reversed(fx_t *f)
{
    while (f->nheld > 0) {
        f->nheld--;
        assert_int_equal(pl_conn_send(f->conn, f->held[f->nheld], f->held_len[f->nheld]), 0);
    }
    f->hold = 0;
}

/* A test's way to spoil replies: called with each CIP reply (a copy it may change, and its
 * length), the encapsulation reply it goes out in (context and all), and whether it answers
 * a PCCC request (else a Forward Open), while g_mangle_left > 0 (decremented when it returns
 * 1). NULL: replies go out as built. */
static int (*g_mangle)(pl_enip_msg_t *r, uint8_t *cip, size_t *n, int pccc);
static unsigned g_mangle_left;

/* Wraps CIP reply cip[0..n) like the request `m` came (SendRRData or SendUnitData). */
static void reply_cip(fx_t *f, const pl_enip_msg_t *m, uint16_t seq, const uint8_t *cip, size_t n,
                      uint32_t status, int pccc)
{
    uint8_t cpf[1024], rr[1100], out[1200], spoilt[1024];
    pl_enip_msg_t r = *m;
    int k, j, o;

    if (g_mangle != NULL && g_mangle_left > 0 && cip != NULL && n <= sizeof(spoilt)) {
        memcpy(spoilt, cip, n);
        cip = spoilt;
        if (g_mangle(&r, spoilt, &n, pccc))
            g_mangle_left--;
    }
    if (m->command == PL_ENIP_CMD_SEND_UNIT_DATA)
        k = pl_cpf_encode_connected(cpf, sizeof(cpf), f->fo.to_conn_id, seq, cip, n);
    else
        k = pl_cpf_encode_unconnected(cpf, sizeof(cpf), cip, n);
    assert_true(k > 0);
    j = pl_enip_rr_encode(rr, sizeof(rr), 0, cpf, (size_t)k);
    assert_true(j > 0);
    if (f->no_echo)
        memset(r.context, 0, sizeof(r.context));
    r.status = status;
    r.data = status != 0 ? NULL : rr;
    r.data_len = status != 0 ? 0 : (size_t)j;
    o = pl_enip_encode(out, sizeof(out), &r);
    assert_true(o > 0);
    emit(f, out, (size_t)o, pccc);
}

static void diag_data(uint8_t *d, size_t *n)
{
    /* SLC 5/05 series C (as in tests/unit/test_pccc.c) */
    static const uint8_t b[] = {0x00, 0xee, 0x34, 0x49, 0x43, 0x31, 0x37, 0x34, 0x37, 0x2d,
                                0x4c, 0x35, 0x35, 0x32, 0x20, 0x20, 0x00, 0x00, 0x06, 0x00};

    memcpy(d, b, sizeof(b));
    *n = sizeof(b);
}

/* Executes a PCCC request against the files; fills reply data. Returns the STS. */
static uint8_t execute(fx_t *f, const pl_pccc_request_t *q, uint8_t *d, size_t *n)
{
    size_t off, i, bytes;
    uint8_t *mem, type;

    *n = 0;
    switch (q->op) {
    case PL_PCCC_OP_SLC_READ:
    case PL_PCCC_OP_SLC_WRITE:
    case PL_PCCC_OP_SLC_MASKED:
        off = q->slc.element * esize(q->slc.type) + q->slc.sub * 2u;
        mem = file_at(f, q->slc.file, q->slc.type, off, q->slc.size);
        if (mem == NULL)
            return 0x50;
        if (q->op == PL_PCCC_OP_SLC_READ) {
            memcpy(d, mem, q->slc.size);
            *n = q->slc.size;
        } else if (q->op == PL_PCCC_OP_SLC_WRITE) {
            memcpy(mem, q->data, q->slc.size);
        } else {
            for (i = 0; i < q->slc.size; i++)
                mem[i] = (uint8_t)((mem[i] & ~q->mask[i]) | (q->data[i] & q->mask[i]));
        }
        return 0;
    case PL_PCCC_OP_PLC5_READ:
    case PL_PCCC_OP_PLC5_WRITE: {
        uint16_t file = q->addr.level[1], el = q->addr.level[2];
        int sub = q->addr.nlevels >= 4;
        pl_pccc_typed_t t;
        int k;

        type = file_type(f, file);
        off = el * esize(type) + (sub ? q->addr.level[3] * 2u : 0u);
        if (q->op == PL_PCCC_OP_PLC5_READ) {
            bytes = q->count * (sub ? 2u : esize(type));
            mem = file_at(f, file, 0, off, bytes);
            if (mem == NULL)
                return 0x50;
            memset(&t, 0, sizeof(t));
            t.array = q->count > 1;
            t.type = sub ? PL_PCCC_TD_INTEGER
                         : (type == PL_PCCC_FT_FLOAT ? PL_PCCC_TD_FLOAT : PL_PCCC_TD_INTEGER);
            t.elem_size = (uint32_t)(sub ? 2u : esize(type));
            t.data = mem;
            t.data_len = bytes;
            k = pl_pccc_typed_encode(d, 600, &t);
            assert_true(k > 0);
            *n = (size_t)k;
        } else {
            mem = file_at(f, file, 0, off, q->typed.data_len);
            if (mem == NULL)
                return 0x50;
            memcpy(mem, q->typed.data, q->typed.data_len);
        }
        return 0;
    }
    case PL_PCCC_OP_DIAG_STATUS:
        diag_data(d, n);
        return 0;
    default:
        return 0x10;
    }
}

/* A PCCC object request (service 0x4B/4C/4D) in message `cip`. */
static void serve_pccc(fx_t *f, const pl_enip_msg_t *m, uint16_t seq, const pl_cip_req_t *q,
                       cap_t *cp)
{
    pl_pccc_wrap_t w;
    pl_pccc_request_t pq;
    pl_status_t st;
    uint8_t data[700], pccc[800], wrap[900], cip[1000], sts;
    size_t n = 0;
    int k, j, l;
    uint16_t tns;

    assert_int_equal(pl_pccc_wrap_decode(q->service, q->data, q->data_len, &w, &st), 0);
    memcpy(cp->pccc, w.pccc, w.pccc_len);
    cp->pccc_len = w.pccc_len;
    assert_int_equal(pl_pccc_request_decode(w.pccc, w.pccc_len, &pq, &st), 0);
    f->npccc++;
    if (f->close_on != 0 && f->npccc == f->close_on) {
        pl_conn_close(f->conn, NULL);
        f->conn = NULL; /* what follows in the same read is not served */
        return;
    }
    if (f->silent)
        return;
    if (f->encap_on != 0 && f->npccc == f->encap_on) {
        reply_cip(f, m, seq, NULL, 0, PL_ENIP_STATUS_INSUFFICIENT_MEMORY, 1);
        return;
    }
    if (f->encap_status != 0) {
        reply_cip(f, m, seq, NULL, 0, f->encap_status, 1);
        return;
    }
    if (f->cip_status != 0) {
        k = pl_cip_rsp_encode(cip, sizeof(cip), q->service, f->cip_status, NULL, 0, NULL, 0);
        reply_cip(f, m, seq, cip, (size_t)k, 0, 1);
        return;
    }
    sts = f->sts != 0 ? f->sts : execute(f, &pq, data, &n);
    tns = (uint16_t)(pq.tns + (f->bad_tns ? 1000u : 0u));
    k = pl_pccc_reply_encode(pccc, sizeof(pccc), pq.cmd, tns, sts, f->ext_sts, data,
                             sts != 0 ? 0 : n);
    assert_true(k > 0);
    if (w.service == PL_PCCC_SVC_DHP) { /* addressed back to the requester */
        pl_pccc_dhp_t h = w.dhp;

        w.dhp.dst_link = h.src_link;
        w.dhp.dst_node = h.src_node;
        w.dhp.src_link = h.dst_link;
        w.dhp.src_node = h.dst_node;
    }
    w.pccc = pccc;
    w.pccc_len = (size_t)k;
    j = pl_pccc_wrap_encode(wrap, sizeof(wrap), &w);
    assert_true(j > 0);
    l = pl_cip_rsp_encode(cip, sizeof(cip), q->service, 0, NULL, 0, wrap, (size_t)j);
    assert_true(l > 0);
    reply_cip(f, m, seq, cip, (size_t)l, 0, 1);
}

static void serve_cip(fx_t *f, const pl_enip_msg_t *m, uint16_t seq, const uint8_t *cip, size_t len)
{
    pl_cip_req_t q;
    uint8_t out[600];
    cap_t *cp = &f->cap[f->ncap < NCAP ? f->ncap : NCAP - 1];
    int k;

    memset(cp, 0, sizeof(*cp));
    assert_true(len <= CAP_MAX);
    memcpy(cp->cip, cip, len);
    cp->cip_len = len;
    cp->command = m->command;
    cp->seq = seq;
    assert_int_equal(pl_cip_req_decode(cip, len, &q), 0);
    if (q.service == PL_CIP_SVC_UNCONNECTED_SEND) {
        pl_cip_ucmm_t u;

        assert_int_equal(pl_cip_ucmm_decode(&q, &u), 0);
        memcpy(cp->route, u.route, u.route_len);
        cp->route_len = u.route_len;
        assert_int_equal(pl_cip_req_decode(u.msg, u.msg_len, &q), 0);
    }
    if (q.service == PL_CIP_SVC_FORWARD_OPEN) {
        pl_cip_fwd_open_reply_t r;

        assert_int_equal(pl_cip_fwd_open_decode(&q, &f->fo), 0);
        memcpy(f->fo_path, f->fo.path, f->fo.path_len);
        f->fo_path_len = f->fo.path_len;
        f->fwd_open++;
        if (f->fo_status != 0) {
            k = pl_cip_rsp_encode(out, sizeof(out), q.service, f->fo_status, NULL, 0, NULL, 0);
            reply_cip(f, m, 0, out, (size_t)k, 0, 0);
            return;
        }
        memset(&r, 0, sizeof(r));
        r.ot_conn_id = f->ot_id = 0x0A0B0C0Du;
        r.to_conn_id = f->fo.to_conn_id;
        r.conn_serial = f->fo.conn_serial;
        r.vendor_id = f->fo.vendor_id;
        r.orig_serial = f->fo.orig_serial;
        r.ot_api = f->fo.ot_rpi;
        r.to_api = f->fo.to_rpi;
        k = pl_cip_fwd_open_reply_encode(out, sizeof(out), &r);
        reply_cip(f, m, 0, out, (size_t)k, 0, 0);
        return;
    }
    if (q.service == PL_CIP_SVC_FORWARD_CLOSE) {
        f->fwd_close++;
        return;
    }
    f->ncap++;
    serve_pccc(f, m, seq, &q, cp);
}

static void serve_msg(fx_t *f, const uint8_t *p, size_t n)
{
    pl_enip_msg_t m;
    pl_enip_rr_t rr;
    const uint8_t *cip;
    size_t cip_len;
    uint32_t id;
    uint16_t seq = 0;
    uint8_t out[64];
    int k;

    assert_int_equal(pl_enip_decode(p, n, &m), 0);
    switch (m.command) {
    case PL_ENIP_CMD_REGISTER_SESSION:
        assert_true(n <= sizeof(f->reg_raw));
        memcpy(f->reg_raw, p, n);
        f->reg_len = n;
        if (f->reg_status != 0) {
            m.status = f->reg_status;
            k = pl_enip_encode(out, sizeof(out), &m);
            emit(f, out, (size_t)k, 0);
            return;
        }
        f->registered++;
        m.session = 0x11223344u + (uint32_t)f->registered;
        k = pl_enip_encode(out, sizeof(out), &m);
        emit(f, out, (size_t)k, 0);
        return;
    case PL_ENIP_CMD_UNREGISTER_SESSION:
        assert_true(n <= sizeof(f->unreg_raw));
        memcpy(f->unreg_raw, p, n);
        f->unreg_len = n;
        f->unregistered++;
        return;
    case PL_ENIP_CMD_SEND_RR_DATA:
        assert_int_equal(m.session, 0x11223344u + (uint32_t)f->registered);
        assert_int_equal(pl_enip_rr_decode(m.data, m.data_len, &rr), 0);
        assert_int_equal(pl_cpf_unconnected(&rr.cpf, &cip, &cip_len), 0);
        serve_cip(f, &m, 0, cip, cip_len);
        return;
    case PL_ENIP_CMD_SEND_UNIT_DATA:
        assert_int_equal(pl_enip_rr_decode(m.data, m.data_len, &rr), 0);
        assert_int_equal(pl_cpf_connected(&rr.cpf, &id, &seq, &cip, &cip_len), 0);
        assert_int_equal(id, f->ot_id);
        serve_cip(f, &m, seq, cip, cip_len);
        return;
    default:
        fail_msg("unexpected command 0x%04X", m.command);
    }
}

static int r_accept(pl_listener_t *l, pl_conn_t *conn, void *ud)
{
    fx_t *f = ud;

    (void)l;
    f->accepted++;
    f->conn = conn;
    f->rx_len = 0;
    return 0;
}

static void r_data(pl_conn_t *conn, const uint8_t *buf, size_t len, void *ud)
{
    fx_t *f = ud;
    int n;

    (void)conn;
    assert_true(f->rx_len + len <= sizeof(f->rx));
    memcpy(f->rx + f->rx_len, buf, len);
    f->rx_len += len;
    while ((n = pl_enip_frame(f->rx, f->rx_len, 4096, NULL)) > 0) {
        serve_msg(f, f->rx, (size_t)n);
        memmove(f->rx, f->rx + n, f->rx_len - (size_t)n);
        f->rx_len -= (size_t)n;
        if (f->conn == NULL)
            return;
    }
}

static void r_close(pl_conn_t *conn, const pl_status_t *why, void *ud)
{
    fx_t *f = ud;

    (void)why;
    if (f->conn == conn)
        f->conn = NULL;
    f->closed++;
}

/* ------------------------------------------------------------------ client side */

typedef struct {
    int done;
    pl_status_t status;
    pl_pccc_remote_t remote;
} result_t;

static void on_done(pl_pccc_req_t *req)
{
    result_t *r = req->data;

    r->done++;
    r->status = req->status;
    r->remote = req->remote;
}

static void on_guard(uv_timer_t *t)
{
    int *expired = t->data;

    *expired = 1;
}

static void run_until(uv_loop_t *loop, const int *flag, unsigned ms)
{
    uv_timer_t guard;
    int expired = 0;

    uv_timer_init(loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, ms, 0);
    while (!*flag && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    assert_false(expired);
}

/* Runs until *counter reaches `want`. */
static void run_count(uv_loop_t *loop, const int *counter, int want, unsigned ms)
{
    uv_timer_t guard;
    int expired = 0;

    uv_timer_init(loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, ms, 0);
    while (*counter < want && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    assert_false(expired);
}

static void on_link(pl_pccc_client_t *c, const pl_status_t *st, void *ud)
{
    fx_t *f = ud;

    (void)c;
    if (st == NULL)
        f->links_up++;
    else
        f->links_down++;
}

static void add_file(fx_t *f, int i, uint8_t type, uint16_t file)
{
    f->files[i].type = type;
    f->files[i].file = file;
}

static void cfg_default(pl_pccc_client_config_t *cfg)
{
    pl_pccc_client_config_init(cfg);
    assert_int_equal(pl_hostlist_parse(&cfg->line.hosts, "127.0.0.1", 9, NULL), 0);
    cfg->line.backoff_min_ms = 5;
    cfg->line.backoff_max_ms = 20;
    cfg->vendor = 0x8503;     /* seed 001: "07 03 85 50 4d 41 41" */
    cfg->serial = 0x41414D50; /* "PMAA" */
    cfg->on_link = on_link;
}

/* Starts the responder and a client with `cfg_in` (NULL: defaults). */
static void start(const pl_pccc_client_config_t *cfg_in)
{
    static const pl_listener_cbs_t cbs = {
        .on_accept = r_accept, .on_data = r_data, .on_close = r_close};
    pl_listener_config_t lc;
    pl_pccc_client_config_t cfg;

    memset(&F, 0, sizeof(F));
    g_mangle = NULL;
    assert_int_equal(uv_loop_init(&F.loop), 0);
    memset(&lc, 0, sizeof(lc));
    assert_int_equal(pl_listener_new(&F.loop, &lc, &cbs, &F, &F.lst, NULL), 0);
    F.port = pl_listener_port(F.lst);
    add_file(&F, 0, PL_PCCC_FT_INTEGER, 7);
    add_file(&F, 1, PL_PCCC_FT_FLOAT, 8);
    add_file(&F, 2, PL_PCCC_FT_BIT, 3);
    add_file(&F, 3, PL_PCCC_FT_TIMER, 4);
    add_file(&F, 4, PL_PCCC_FT_STRING, 9);
    add_file(&F, 5, PL_PCCC_FT_LONG, 10);
    if (cfg_in != NULL)
        cfg = *cfg_in;
    else
        cfg_default(&cfg);
    cfg.line.port = F.port;
    cfg.ud = &F;
    assert_int_equal(pl_pccc_client_new(&F.loop, &cfg, &F.cli), 0);
}

static void stop(void)
{
    if (F.cli != NULL)
        pl_pccc_client_free(F.cli);
    F.cli = NULL;
    uv_run(&F.loop, UV_RUN_NOWAIT);
    pl_listener_free(F.lst);
    uv_run(&F.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&F.loop), 0);
}

static void do_read(const char *addr, uint8_t *buf, size_t len, result_t *r)
{
    pl_pccc_req_t req;

    memset(r, 0, sizeof(*r));
    req.data = r;
    assert_int_equal(pl_pccc_read(F.cli, &req, addr, buf, len, on_done), 0);
    run_until(&F.loop, &r->done, 5000);
    assert_int_equal(r->done, 1);
}

static void do_write(const char *addr, const uint8_t *buf, size_t len, result_t *r)
{
    pl_pccc_req_t req;

    memset(r, 0, sizeof(*r));
    req.data = r;
    assert_int_equal(pl_pccc_write(F.cli, &req, addr, buf, len, on_done), 0);
    run_until(&F.loop, &r->done, 5000);
    assert_int_equal(r->done, 1);
}

/* Expects captured message `cp` to be `want` (hex) with the TNS taken from the capture at
 * PCCC offset 2 (the TNS is the client's to choose; everything else is fixed). */
static void expect_cip(const cap_t *cp, const char *want, size_t tns_at)
{
    uint8_t w[CAP_MAX];
    size_t n = pl_test_hex(want, w, sizeof(w));

    assert_int_equal(cp->cip_len, n);
    w[tns_at] = cp->cip[tns_at];
    w[tns_at + 1] = cp->cip[tns_at + 1];
    assert_memory_equal(cp->cip, w, n);
    assert_true((cp->cip[tns_at] | cp->cip[tns_at + 1]) != 0);
}

/* ------------------------------------------------------------------ tests */

static void test_url(void **state)
{
    pl_pccc_client_config_t cfg;
    pl_status_t st;
    char storage[64];

    (void)state;
    pl_pccc_client_config_init(&cfg);
    assert_int_equal(cfg.line.port, 44818);
    assert_int_equal(cfg.service, 0x4B);
    assert_int_equal(pl_pccc_client_config_url(
                         &cfg,
                         "pccc://10.0.0.1,10.0.0.2:2222?plc=plc5&service=4c&dst=5&src=2&"
                         "dst_link=0x10&src_link=3&path=1,0&connected=1&inflight=4&timeout=250&"
                         "queue=9&max_bytes=100&vendor=0x8503&serial=0x41414d50&vendor_seq=1",
                         storage, sizeof(storage), &st),
                     0);
    assert_int_equal(cfg.plc, PL_PCCC_PLC_PLC5);
    assert_int_equal(cfg.service, 0x4C);
    assert_int_equal(cfg.dst, 5);
    assert_int_equal(cfg.src, 2);
    assert_int_equal(cfg.dst_link, 0x10);
    assert_int_equal(cfg.src_link, 3);
    assert_int_equal(cfg.route_len, 2);
    assert_int_equal(cfg.route[0], 1);
    assert_int_equal(cfg.route[1], 0);
    assert_int_equal(cfg.connected, 1);
    assert_int_equal(cfg.inflight, 4);
    assert_int_equal(cfg.timeout_ms, 250);
    assert_int_equal(cfg.max_queue, 9);
    assert_int_equal(cfg.max_bytes, 100);
    assert_int_equal(cfg.vendor, 0x8503);
    assert_int_equal(cfg.serial, 0x41414D50u);
    assert_int_equal(cfg.vendor_seq, 1);
    assert_int_equal(cfg.line.hosts.count, 2);

    pl_pccc_client_config_init(&cfg);
    assert_int_equal(
        pl_pccc_client_config_url(&cfg, "pccc://h?bogus=1", storage, sizeof(storage), &st),
        PL_EURL);
    assert_non_null(strstr(st.detail, "bogus"));
    assert_int_equal(
        pl_pccc_client_config_url(&cfg, "pccc://h?plc=s7", storage, sizeof(storage), &st), PL_EURL);
    assert_int_equal(
        pl_pccc_client_config_url(&cfg, "pccc://h?service=4e", storage, sizeof(storage), &st),
        PL_EURL);
    assert_int_equal(
        pl_pccc_client_config_url(&cfg, "pccc://h?path=1,x", storage, sizeof(storage), &st),
        PL_EURL);
    assert_int_equal(pl_pccc_client_config_url(&cfg, "7ttcp://h", storage, sizeof(storage), &st),
                     PL_EURL);
    assert_int_equal(
        pl_pccc_client_config_url(&cfg, "pccc://h?inflight=33", storage, sizeof(storage), &st),
        PL_EURL);
    assert_int_equal(pl_pccc_client_config_url(&cfg, "pccc://h?backup=h2&use_backup=1", storage,
                                               sizeof(storage), &st),
                     0);
    assert_string_equal(pl_pccc_plc_name(PL_PCCC_PLC_MICROLOGIX), "micrologix");
}

/* Seed 001: "4b 02 20 67 24 01 | 07 03 85 50 4d 41 41 | 0f 00 5c 00 a2 14 07 89 00 00". */
static void test_framing_4b_4c_4d(void **state)
{
    pl_pccc_client_config_t cfg;
    uint8_t buf[20];
    result_t r;

    (void)state;
    cfg_default(&cfg);
    start(&cfg);
    do_read("N7:0,10", buf, sizeof(buf), &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(F.registered, 1);
    assert_int_equal(F.cap[0].command, PL_ENIP_CMD_SEND_RR_DATA);
    expect_cip(&F.cap[0], "4b 02 20 67 24 01 07 03 85 50 4d 41 41 0f 00 5c 00 a2 14 07 89 00 00",
               15);
    stop();

    cfg_default(&cfg);
    cfg.service = PL_PCCC_SVC_DHP;
    cfg.dst = 2; /* by the layout AA AA BB XX CC CC DD XX */
    cfg.src = 5;
    start(&cfg);
    do_read("N7:0,10", buf, sizeof(buf), &r);
    assert_int_equal(r.status.code, 0);
    expect_cip(&F.cap[0], "4c 02 20 67 24 01 00 00 02 00 00 00 05 00 0f 00 5c 00 a2 14 07 89 00 00",
               16);
    stop();

    cfg_default(&cfg);
    cfg.service = PL_PCCC_SVC_LOCAL;
    start(&cfg);
    do_read("N7:0,10", buf, sizeof(buf), &r);
    assert_int_equal(r.status.code, 0);
    expect_cip(&F.cap[0], "4d 02 20 67 24 01 0f 00 5c 00 a2 14 07 89 00 00", 8);
    stop();
}

static void test_tns_and_vendor_seq(void **state)
{
    pl_pccc_client_config_t cfg;
    uint8_t buf[2];
    result_t r;
    unsigned i;

    (void)state;
    cfg_default(&cfg);
    cfg.vendor_seq = 1;
    start(&cfg);
    for (i = 0; i < 3; i++) {
        do_read("N7:0", buf, sizeof(buf), &r);
        assert_int_equal(r.status.code, 0);
    }
    for (i = 0; i < 3; i++) {
        const uint8_t *p = F.cap[i].pccc;
        const uint8_t *h = F.cap[i].cip + 6; /* requestor ID */

        assert_int_equal(p[2] | p[3] << 8, i + 1); /* TNS 1, 2, 3 */
        assert_int_equal(h[1] | h[2] << 8, 0x8503 + i);
    }
    stop();
}

static void test_types_round_trip(void **state)
{
    uint8_t buf[168], back[168];
    pl_pccc_addr_t a;
    pl_pccc_value_t v;
    result_t r;
    uint8_t *mem;

    (void)state;
    start(NULL);
    /* N7:0,5 */
    assert_int_equal(pl_pccc_addr_parse(&a, "N7:0,5", NULL), 0);
    memset(buf, 0, sizeof(buf));
    assert_int_equal(pl_pccc_value_parse(&a, buf, 10, 0, "1", 1, NULL), 0);
    assert_int_equal(pl_pccc_value_parse(&a, buf, 10, 4, "-32768", 6, NULL), 0);
    do_write("N7:0,5", buf, 10, &r);
    assert_int_equal(r.status.code, 0);
    do_read("N7:0,5", back, 10, &r);
    assert_int_equal(r.status.code, 0);
    assert_memory_equal(buf, back, 10);
    assert_int_equal(pl_pccc_value_get(&a, back, 10, 4, &v), 0);
    assert_int_equal(v.i, -32768);
    /* F8:1 */
    assert_int_equal(pl_pccc_addr_parse(&a, "F8:1", NULL), 0);
    assert_int_equal(pl_pccc_value_parse(&a, buf, 4, 0, "1.5", 3, NULL), 0);
    do_write("F8:1", buf, 4, &r);
    assert_int_equal(r.status.code, 0);
    mem = F.files[1].data + 4;
    assert_memory_equal(mem, buf, 4);
    do_read("F8:1", back, 4, &r);
    assert_int_equal(pl_pccc_value_get(&a, back, 4, 0, &v), 0);
    assert_true(v.f == 1.5f);
    /* L10:0 */
    assert_int_equal(pl_pccc_addr_parse(&a, "L10:0", NULL), 0);
    assert_int_equal(pl_pccc_value_parse(&a, buf, 4, 0, "-100000", 7, NULL), 0);
    do_write("L10:0", buf, 4, &r);
    assert_int_equal(r.status.code, 0);
    do_read("L10:0", back, 4, &r);
    assert_int_equal(pl_pccc_value_get(&a, back, 4, 0, &v), 0);
    assert_int_equal(v.i, -100000);
    /* B3:0/5: masked write with the bit as mask, other bits untouched */
    F.files[2].data[0] = 0x01;
    F.files[2].data[1] = 0x80;
    memset(buf, 0, 2);
    buf[0] = 0x20;
    do_write("B3:0/5", buf, 2, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(F.files[2].data[0], 0x21);
    assert_int_equal(F.files[2].data[1], 0x80);
    {
        uint8_t w[64];
        size_t n = pl_test_hex("0f 00 00 00 ab 02 03 85 00 00 20 00 20 00", w, sizeof(w));
        const cap_t *cp = &F.cap[F.ncap - 1];

        w[2] = cp->pccc[2];
        w[3] = cp->pccc[3];
        assert_int_equal(cp->pccc_len, n);
        assert_memory_equal(cp->pccc, w, n);
    }
    do_read("B3:0/5", back, 2, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(back[0], 0x21);
    /* T4:0.ACC: sub-element 2 of the timer; T4:0.DN: a masked write of bit 13 of word 0 */
    assert_int_equal(pl_pccc_addr_parse(&a, "T4:0.ACC", NULL), 0);
    assert_int_equal(pl_pccc_value_parse(&a, buf, 2, 0, "1234", 4, NULL), 0);
    do_write("T4:0.ACC", buf, 2, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(F.files[3].data[4] | F.files[3].data[5] << 8, 1234);
    do_read("T4:0.ACC", back, 2, &r);
    assert_int_equal(back[0] | back[1] << 8, 1234);
    memset(buf, 0, 2);
    buf[1] = 0x20;
    do_write("T4:0.DN", buf, 2, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(F.files[3].data[1], 0x20);
    assert_int_equal(F.files[3].data[4] | F.files[3].data[5] << 8, 1234);
    do_read("T4:0", back, 6, &r);
    assert_int_equal(r.status.code, 0);
    assert_memory_equal(back, F.files[3].data, 6);
    /* ST9:0 */
    assert_int_equal(pl_pccc_addr_parse(&a, "ST9:0", NULL), 0);
    memset(buf, 0, sizeof(buf));
    assert_int_equal(pl_pccc_value_parse(&a, buf, 84, 0, "hello world", 11, NULL), 0);
    do_write("ST9:0", buf, 84, &r);
    assert_int_equal(r.status.code, 0);
    do_read("ST9:0", back, 84, &r);
    assert_int_equal(pl_pccc_value_get(&a, back, 84, 0, &v), 0);
    assert_string_equal(v.text, "hello world");
    assert_int_equal(F.links_up, 1);
    assert_int_equal(F.registered, 1);
    assert_int_equal(pl_pccc_client_stats(F.cli)->responses, 14);
    stop();
    assert_int_equal(F.unregistered, 1);
}

static void test_split(void **state)
{
    pl_pccc_client_config_t cfg;
    uint8_t buf[600];
    result_t r;
    size_t i;

    (void)state;
    start(NULL);
    for (i = 0; i < 600; i++)
        F.files[0].data[i] = (uint8_t)(i * 7 + 1);
    do_read("N7:0,300", buf, sizeof(buf), &r); /* 234 + 234 + 132 bytes */
    assert_int_equal(r.status.code, 0);
    assert_memory_equal(buf, F.files[0].data, 600);
    assert_int_equal(F.ncap, 3);
    assert_int_equal(F.cap[0].pccc[5], 234);
    assert_int_equal(F.cap[1].pccc[5], 234);
    assert_int_equal(F.cap[1].pccc[8], 117); /* element */
    assert_int_equal(F.cap[2].pccc[5], 132);
    /* the same for a write */
    for (i = 0; i < 600; i++)
        buf[i] = (uint8_t)(0xA0 ^ i);
    do_write("N7:0,300", buf, sizeof(buf), &r);
    assert_int_equal(r.status.code, 0);
    assert_memory_equal(buf, F.files[0].data, 600);
    assert_int_equal(F.ncap, 6);
    stop();

    /* the next message goes out as soon as a reply frees the slot, not at a deadline:
     * with a 10 s timeout, a guard of 3 s catches a client that waits for its timer */
    cfg_default(&cfg);
    cfg.max_bytes = 100;
    cfg.timeout_ms = 10000;
    start(&cfg);
    {
        pl_pccc_req_t q[3];
        result_t rr[3];
        uint8_t b[3][240];

        for (i = 0; i < 3; i++) {
            memset(&rr[i], 0, sizeof(rr[i]));
            q[i].data = &rr[i];
            assert_int_equal(pl_pccc_read(F.cli, &q[i], "N7:0,120", b[i], 240, on_done), 0);
        }
        run_until(&F.loop, &rr[2].done, 3000); /* 100 + 100 + 40 bytes, three times */
        for (i = 0; i < 3; i++) {
            assert_int_equal(rr[i].done, 1);
            assert_int_equal(rr[i].status.code, 0);
            assert_memory_equal(b[i], F.files[0].data, 240);
        }
    }
    assert_int_equal(F.ncap, 9);
    stop();
}

static void test_inflight_out_of_order(void **state)
{
    pl_pccc_client_config_t cfg;
    pl_pccc_req_t req[4];
    result_t r[4];
    uint8_t buf[4][2];
    static const char *const addrs[] = {"N7:0", "N7:1", "N7:2", "N7:3"};
    int i, done = 0;

    (void)state;
    cfg_default(&cfg);
    cfg.inflight = 4;
    start(&cfg);
    for (i = 0; i < 8; i++)
        F.files[0].data[i] = (uint8_t)(0x10 + i);
    F.hold = 1;
    for (i = 0; i < 4; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        req[i].data = &r[i];
        assert_int_equal(pl_pccc_read(F.cli, &req[i], addrs[i], buf[i], 2, on_done), 0);
    }
    run_count(&F.loop, (const int *)&F.nheld, 4, 5000); /* all four are outstanding at once */
    release_reversed(&F);
    for (i = 0; i < 4; i++) {
        run_until(&F.loop, &r[i].done, 5000);
        done += r[i].done;
        assert_int_equal(r[i].status.code, 0);
        assert_int_equal(buf[i][0], 0x10 + 2 * i);
        assert_int_equal(buf[i][1], 0x11 + 2 * i);
    }
    assert_int_equal(done, 4);
    assert_int_equal(F.registered, 1);
    stop();
}

static void test_remote_errors(void **state)
{
    uint8_t buf[2];
    result_t r;

    (void)state;
    start(NULL);
    F.sts = 0xF0;
    F.ext_sts = 0x06;
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, PL_EPCCC_STS);
    assert_int_equal(r.remote.sts, 0xF0);
    assert_int_equal(r.remote.ext_sts, 0x06);
    assert_string_equal(r.status.detail,
                        "STS 0xF0 EXT STS 0x06: address doesn't point to something usable");
    F.sts = 0x10;
    F.ext_sts = 0;
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, PL_EPCCC_STS);
    assert_int_equal(r.remote.sts, 0x10);
    assert_non_null(strstr(r.status.detail, "STS 0x10: "));
    F.sts = 0;
    F.cip_status = 0x08;
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, PL_ECIP_STATUS);
    assert_int_equal(r.remote.cip_status, 0x08);
    assert_non_null(strstr(r.status.detail, "service not supported"));
    F.cip_status = 0;
    F.encap_status = 0x65;
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, PL_EENIP_STATUS);
    assert_int_equal(r.remote.encap_status, 0x65);
    F.encap_status = 0;
    /* remote refusals leave the session alone */
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(F.registered, 1);
    /* a reply with a TNS nobody asked for breaks the stream: reconnect */
    F.bad_tns = 1;
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, PL_EPCCC_MISMATCH);
    F.bad_tns = 0;
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(F.registered, 2);
    stop();
}

static void test_timeout(void **state)
{
    pl_pccc_client_config_t cfg;
    pl_pccc_req_t req[2];
    result_t r[2];
    uint8_t buf[2][2];
    int i;

    (void)state;
    cfg_default(&cfg);
    cfg.timeout_ms = 100;
    cfg.inflight = 2;
    start(&cfg);
    /* a silent peer: the request fails, the connection is dropped and re-registered */
    F.silent = 1;
    do_read("N7:0", buf[0], 2, &r[0]);
    assert_int_equal(r[0].status.code, PL_ETIMEOUT);
    assert_int_equal(pl_pccc_client_stats(F.cli)->timeouts, 1);
    F.silent = 0;
    do_read("N7:0", buf[0], 2, &r[0]);
    assert_int_equal(r[0].status.code, 0);
    assert_int_equal(F.registered, 2);

    /* one reply late while the peer answers others: only that request fails; its late
     * reply is recognised by its TNS and dropped; the session stays */
    F.hold = 1;
    memset(r, 0, sizeof(r));
    req[0].data = &r[0];
    assert_int_equal(pl_pccc_read(F.cli, &req[0], "N7:0", buf[0], 2, on_done), 0);
    run_count(&F.loop, (const int *)&F.nheld, 1, 5000);
    F.hold = 0;
    req[1].data = &r[1];
    assert_int_equal(pl_pccc_read(F.cli, &req[1], "N7:1", buf[1], 2, on_done), 0);
    run_until(&F.loop, &r[1].done, 5000);
    assert_int_equal(r[1].status.code, 0);
    run_until(&F.loop, &r[0].done, 5000);
    assert_int_equal(r[0].status.code, PL_ETIMEOUT);
    release_reversed(&F); /* the late reply */
    for (i = 0; i < 2; i++) {
        do_read("N7:0", buf[0], 2, &r[0]);
        assert_int_equal(r[0].status.code, 0);
    }
    assert_int_equal(F.registered, 2);
    stop();
}

static void test_session_loss(void **state)
{
    uint8_t buf[2];
    result_t r;

    (void)state;
    start(NULL);
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, 0);
    F.close_on = 2; /* the second request closes the connection */
    do_read("N7:0", buf, 2, &r);
    assert_true(r.status.code == PL_ERECV_00 || r.status.code == PL_ERECV_FF);
    assert_int_equal(F.links_down, 1);
    do_read("N7:0", buf, 2, &r); /* reconnects and registers again */
    assert_int_equal(r.status.code, 0);
    assert_int_equal(F.registered, 2);
    assert_int_equal(F.links_up, 2);
    stop();
}

static void test_connected(void **state)
{
    pl_pccc_client_config_t cfg;
    uint8_t buf[2];
    result_t r;
    int i;

    (void)state;
    cfg_default(&cfg);
    cfg.connected = 1;
    start(&cfg);
    for (i = 0; i < 3; i++) {
        do_read("N7:0", buf, 2, &r);
        assert_int_equal(r.status.code, 0);
        assert_int_equal(F.cap[i].command, PL_ENIP_CMD_SEND_UNIT_DATA);
        assert_int_equal(F.cap[i].seq, i + 1);
    }
    assert_int_equal(F.fwd_open, 1);
    assert_int_equal(F.fo.vendor_id, 0x8503);
    assert_int_equal(F.fo.orig_serial, 0x41414D50u);
    assert_int_equal(F.fo.transport, 0xA3);
    assert_int_equal(F.fo.ot_params & PL_CIP_NCP_SIZE_MASK, 504);
    assert_int_equal(F.fo.ot_rpi, 2000000u);
    assert_int_equal(F.fo_path_len, 4);
    assert_memory_equal(F.fo_path, "\x20\x02\x24\x01", 4);
    /* a CIP error on the connection is matched by the sequence count */
    F.cip_status = 0x05;
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, PL_ECIP_STATUS);
    assert_int_equal(r.remote.cip_status, 0x05);
    F.cip_status = 0;
    pl_pccc_client_free(F.cli);
    F.cli = NULL;
    run_count(&F.loop, &F.unregistered, 1, 5000);
    assert_int_equal(F.fwd_close, 1);
    stop();
}

static void test_routed(void **state)
{
    pl_pccc_client_config_t cfg;
    uint8_t buf[2];
    result_t r;
    char storage[64];
    pl_status_t st;

    (void)state;
    cfg_default(&cfg);
    assert_int_equal(pl_pccc_client_config_url(&cfg, "pccc://127.0.0.1?path=1,0&timeout=2000",
                                               storage, sizeof(storage), &st),
                     0);
    /* the URL's host carries port 44818: take the responder's */
    assert_int_equal(pl_hostlist_parse(&cfg.line.hosts, "127.0.0.1", 9, NULL), 0);
    start(&cfg);
    {
        pl_pccc_req_t small;

        small.data = &r;
        assert_int_equal(pl_pccc_read(F.cli, &small, "N7:0,10", buf, 2, on_done), PL_ENOBUFS);
    }
    {
        uint8_t big[20];

        do_read("N7:0,10", big, sizeof(big), &r);
        assert_int_equal(r.status.code, 0);
    }
    /* 52 02 20 06 24 01 | 0a 02 | 17 00 | the PCCC object request | 01 00 | 01 00 */
    expect_cip(&F.cap[0],
               "52 02 20 06 24 01 0a 02 17 00 4b 02 20 67 24 01 07 03 85 50 4d 41 41 0f 00 5c 00 "
               "a2 14 07 89 00 00 00 01 00 01 00",
               25);
    assert_int_equal(F.cap[0].route_len, 2);
    stop();

    /* connected through a route: the connection path is route + Message Router */
    cfg_default(&cfg);
    cfg.route[0] = 1;
    cfg.route[1] = 0;
    cfg.route_len = 2;
    cfg.connected = 1;
    start(&cfg);
    {
        uint8_t b2[2];

        do_read("N7:0", b2, 2, &r);
        assert_int_equal(r.status.code, 0);
    }
    assert_int_equal(F.fo_path_len, 6);
    assert_memory_equal(F.fo_path, "\x01\x00\x20\x02\x24\x01", 6);
    stop();
}

static void test_identify_and_plc5(void **state)
{
    pl_pccc_client_config_t cfg;
    pl_pccc_req_t req;
    char text[64];
    uint8_t buf[6];
    result_t r;

    (void)state;
    start(NULL);
    memset(&r, 0, sizeof(r));
    req.data = &r;
    assert_int_equal(pl_pccc_identify(F.cli, &req, text, sizeof(text), on_done), 0);
    run_until(&F.loop, &r.done, 5000);
    assert_int_equal(r.status.code, 0);
    assert_string_equal(text, "SLC 5/05 1747-L552 series C");
    expect_cip(&F.cap[0], "4b 02 20 67 24 01 07 03 85 50 4d 41 41 06 00 00 00 03", 15);
    stop();

    cfg_default(&cfg);
    cfg.plc = PL_PCCC_PLC_PLC5;
    start(&cfg);
    F.files[0].data[2] = 0x34;
    F.files[0].data[3] = 0x12;
    do_read("N7:1,3", buf, 6, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(buf[0], 0x34);
    assert_int_equal(buf[1], 0x12);
    /* typed read: packet offset 0, total 3, address mask 06 file 7 element 1, count 3 */
    {
        uint8_t w[32];
        size_t n = pl_test_hex("0f 00 00 00 68 00 00 03 00 06 07 01 03 00", w, sizeof(w));
        const cap_t *cp = &F.cap[0];

        w[2] = cp->pccc[2];
        w[3] = cp->pccc[3];
        assert_int_equal(cp->pccc_len, n);
        assert_memory_equal(cp->pccc, w, n);
    }
    buf[0] = 0x78;
    buf[1] = 0x56;
    do_write("N7:5", buf, 2, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(F.files[0].data[10], 0x78);
    assert_int_equal(F.files[0].data[11], 0x56);
    memset(&r, 0, sizeof(r));
    req.data = &r;
    assert_int_equal(pl_pccc_write(F.cli, &req, "B3:0/1", buf, 2, on_done), PL_ENOTSUP);
    assert_int_equal(r.done, 0);
    stop();
}

static void test_connect_refused_and_queue(void **state)
{
    pl_pccc_client_config_t cfg;
    pl_pccc_req_t req[3];
    result_t r[3];
    uint8_t buf[3][2];
    int i;

    (void)state;
    cfg_default(&cfg);
    cfg.max_queue = 2;
    start(&cfg);
    pl_listener_free(F.lst); /* nothing listens on the port any more */
    F.lst = NULL;
    uv_run(&F.loop, UV_RUN_NOWAIT);
    for (i = 0; i < 2; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        req[i].data = &r[i];
        assert_int_equal(pl_pccc_read(F.cli, &req[i], "N7:0", buf[i], 2, on_done), 0);
    }
    req[2].data = &r[2];
    assert_int_equal(pl_pccc_read(F.cli, &req[2], "N7:0", buf[2], 2, on_done), PL_ENO_MSG);
    assert_int_equal(pl_pccc_read(F.cli, &req[2], "Q7:0", buf[2], 2, on_done), PL_EADDR);
    assert_non_null(strstr(req[2].status.detail, "Q"));
    run_until(&F.loop, &r[1].done, 5000);
    for (i = 0; i < 2; i++) {
        assert_int_equal(r[i].done, 1);
        assert_int_equal(r[i].status.code, PL_ECONNECT);
    }
    pl_pccc_client_free(F.cli);
    F.cli = NULL;
    uv_run(&F.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&F.loop), 0);
}

static void test_free_cancels(void **state)
{
    pl_pccc_req_t req[2];
    result_t r[2];
    uint8_t buf[2][2];
    int i;

    (void)state;
    start(NULL);
    F.silent = 1;
    for (i = 0; i < 2; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        req[i].data = &r[i];
        assert_int_equal(pl_pccc_read(F.cli, &req[i], "N7:0", buf[i], 2, on_done), 0);
    }
    run_count(&F.loop, (const int *)&F.npccc, 1, 5000);
    pl_pccc_client_free(F.cli);
    F.cli = NULL;
    for (i = 0; i < 2; i++) {
        assert_int_equal(r[i].done, 1);
        assert_int_equal(r[i].status.code, PL_ECANCELED);
    }
    stop();
}

/* ------------------------------------------------------------------ strict targets */

/* Warnings the client logs, counted by what they say (each must come once). */
static int g_warn_fallback, g_warn_auto, g_warns;

static void count_warn(void *ud, pl_log_level_t level, const char *msg)
{
    (void)ud;
    if (level > PL_LOG_WARN)
        return;
    g_warns++;
    if (strstr(msg, "one request at a time with this target") != NULL)
        g_warn_fallback++;
    if (strstr(msg, "connected=auto: unconnected messaging") != NULL)
        g_warn_auto++;
}

static const pl_logger_t warn_counter = {.cb = count_warn, .ud = NULL, .level = PL_LOG_WARN};

static void warn_reset(void)
{
    g_warn_fallback = g_warn_auto = g_warns = 0;
}

/* RegisterSession goes out with every header field but command and length zero (a strict
 * target refuses a sender context or options), UnRegisterSession with the session handle
 * only: byte for byte. */
static void test_register_golden(void **state)
{
    static const char reg_hex[] = "65 00 04 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
                                  "00 00 00 00 01 00 00 00";
    static const char unreg_hex[] = "66 00 00 00 45 33 22 11 00 00 00 00 00 00 00 00 00 00 00 00 "
                                    "00 00 00 00";
    uint8_t want[64], buf[2];
    pl_enip_msg_t m;
    result_t r;
    size_t n;

    (void)state;
    start(NULL);
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, 0);
    n = pl_test_hex(reg_hex, want, sizeof(want));
    assert_int_equal(F.reg_len, n);
    assert_memory_equal(F.reg_raw, want, n);
    assert_int_equal(pl_enip_decode(F.reg_raw, F.reg_len, &m), 0);
    assert_true(pl_enip_register_strict(&m));
    pl_pccc_client_free(F.cli);
    F.cli = NULL;
    run_count(&F.loop, &F.unregistered, 1, 5000);
    n = pl_test_hex(unreg_hex, want, sizeof(want));
    assert_int_equal(F.unreg_len, n);
    assert_memory_equal(F.unreg_raw, want, n);
    stop();
}

/* A refused RegisterSession fails the waiting request at once with PL_ESESSION_REFUSED and
 * the target's encapsulation status. */
static void test_register_refused(void **state)
{
    pl_pccc_client_config_t cfg;
    uint8_t buf[2];
    result_t r;

    (void)state;
    start(NULL);
    F.reg_status = PL_ENIP_STATUS_INVALID_COMMAND;
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, PL_ESESSION_REFUSED);
    assert_int_equal(r.remote.encap_status, PL_ENIP_STATUS_INVALID_COMMAND);
    assert_string_equal(
        r.status.detail,
        "encapsulation status 0x0001 (invalid or unsupported encapsulation command)");
    assert_string_equal(pl_strerror(PL_ESESSION_REFUSED), "RegisterSession refused by the target");
    assert_int_equal(F.registered, 0);
    stop();

    /* two hosts (the same responder twice), both refusing: the request fails once both
     * were tried, with what the target said */
    cfg_default(&cfg);
    assert_int_equal(pl_hostlist_parse(&cfg.line.hosts, "127.0.0.1; 127.0.0.1", 20, NULL), 0);
    start(&cfg);
    F.reg_status = PL_ENIP_STATUS_INSUFFICIENT_MEMORY;
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, PL_ESESSION_REFUSED);
    assert_int_equal(r.remote.encap_status, PL_ENIP_STATUS_INSUFFICIENT_MEMORY);
    assert_non_null(strstr(r.status.detail, "no session free"));
    assert_int_equal(F.accepted, 2);
    stop();
}

/* Forward Open refused by a target that does not echo the sender context (the reply is
 * known by its service): connected=1 fails with PL_EFWD_OPEN_REFUSED naming the status in
 * words and what to do; connected=auto goes on unconnected, said once. */
static void test_fwd_open_refused(void **state)
{
    pl_pccc_client_config_t cfg;
    uint8_t buf[2];
    result_t r;
    int i;

    (void)state;
    cfg_default(&cfg);
    cfg.connected = 1;
    start(&cfg);
    F.fo_status = PL_CIP_STATUS_SERVICE_NOT_SUPPORTED;
    F.no_echo = 1;
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, PL_EFWD_OPEN_REFUSED);
    assert_int_equal(r.remote.cip_status, 0x08);
    assert_string_equal(r.status.detail,
                        "service not supported (CIP status 0x08); use connected=0 or auto");
    assert_string_equal(pl_strerror(PL_EFWD_OPEN_REFUSED), "Forward Open refused by the target");
    assert_int_equal(F.ncap, 0);
    stop();

    warn_reset();
    cfg_default(&cfg);
    cfg.connected = PL_PCCC_CONNECTED_AUTO;
    cfg.log = &warn_counter;
    start(&cfg);
    F.fo_status = PL_CIP_STATUS_SERVICE_NOT_SUPPORTED;
    F.no_echo = 1;
    for (i = 0; i < 3; i++) {
        do_read("N7:0", buf, 2, &r);
        assert_int_equal(r.status.code, 0);
        assert_int_equal(F.cap[i].command, PL_ENIP_CMD_SEND_RR_DATA);
    }
    assert_int_equal(F.fwd_open, 1);
    assert_int_equal(pl_pccc_client_stats(F.cli)->connected, 0);
    assert_int_equal(g_warn_auto, 1);
    /* a CIP error without the context echoed is the one request's, not a mismatch */
    F.cip_status = 0x05;
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, PL_ECIP_STATUS);
    assert_int_equal(r.remote.cip_status, 0x05);
    F.cip_status = 0;
    /* reconnected: the host is not asked for Forward Open again */
    pl_conn_close(F.conn, NULL);
    run_count(&F.loop, &F.links_down, 1, 5000);
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(F.accepted, 2);
    assert_int_equal(F.fwd_open, 1);
    assert_int_equal(g_warn_auto, 1);
    stop();

    /* connected=auto with a target that serves Forward Open: connected messaging */
    cfg_default(&cfg);
    cfg.connected = PL_PCCC_CONNECTED_AUTO;
    start(&cfg);
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(F.cap[0].command, PL_ENIP_CMD_SEND_UNIT_DATA);
    assert_int_equal(pl_pccc_client_stats(F.cli)->connected, 1);
    stop();
}

/* Submits n reads of N7:i (i < n) at once and runs until all are done. */
static void reads_at_once(uv_loop_t *loop, pl_pccc_client_t *c, unsigned n, result_t *r,
                          uint8_t (*buf)[2])
{
    pl_pccc_req_t req[16];
    char addr[16];
    int done = 0;
    unsigned i;

    assert_true(n <= 16);
    for (i = 0; i < n; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        req[i].data = &r[i];
        snprintf(addr, sizeof(addr), "N7:%u", i);
        assert_int_equal(pl_pccc_read(c, &req[i], addr, buf[i], 2, on_done), 0);
    }
    for (i = 0; i < n; i++) {
        run_until(loop, &r[i].done, 5000);
        done += r[i].done;
    }
    assert_int_equal(done, (int)n);
}

/* inflight=4 and the target closes the connection on the second request, or answers one
 * with an encapsulation error while several are out: the requests in flight are sent again
 * one at a time on the next connection and none fails; the client stays at one. */
static void test_fallback_scripted(void **state)
{
    pl_pccc_client_config_t cfg;
    const pl_pccc_client_stats_t *st;
    uint8_t buf[8][2];
    result_t r[8];
    unsigned i, k;

    (void)state;
    for (k = 0; k < 2; k++) {
        warn_reset();
        cfg_default(&cfg);
        cfg.inflight = 4;
        cfg.log = &warn_counter;
        start(&cfg);
        F.files[0].data[2 * 3] = 33; /* N7:3 */
        if (k == 0)
            F.close_on = 2;
        else
            F.encap_on = 2;
        reads_at_once(&F.loop, F.cli, 8, r, buf);
        for (i = 0; i < 8; i++)
            if (r[i].status.code != 0)
                fail_msg("k %u read %u: %s: %s", k, i, pl_err_name(r[i].status.code),
                         r[i].status.detail);
        assert_int_equal(buf[3][0], 33);
        st = pl_pccc_client_stats(F.cli);
        assert_int_equal(st->fallbacks, 1);
        assert_int_equal(st->inflight, 1);
        assert_true(st->retried >= 1);
        assert_true(st->fallback[0] != '\0');
        assert_int_equal(st->errors, 0);
        assert_int_equal(F.accepted, 2);
        assert_int_equal(g_warn_fallback, 1);
        /* from now on one at a time: nothing more to fall back from */
        reads_at_once(&F.loop, F.cli, 8, r, buf);
        for (i = 0; i < 8; i++)
            assert_int_equal(r[i].status.code, 0);
        assert_int_equal(st->fallbacks, 1);
        assert_int_equal(F.accepted, 2);
        assert_int_equal(g_warn_fallback, 1);
        stop();
    }
}

/* ------------------------------------------------------------------ the real simulator */

typedef struct {
    pl_pccc_server_t *srv;
    pl_pccc_client_t *cli;
} sim_t;

/* A simulator configured as `sc` (on a free port) and a client of "pccc://...?query". */
static void sim_start_cfg(uv_loop_t *loop, sim_t *s, pl_pccc_server_config_t *sc, const char *query)
{
    pl_pccc_client_config_t cfg;
    char url[200], storage[64];
    pl_status_t st;

    sc->listen.port = 0;
    assert_int_equal(pl_pccc_server_new(loop, sc, &s->srv, &st), 0);
    snprintf(url, sizeof(url), "pccc://127.0.0.1:%u?plc=%s%s%s", pl_pccc_server_port(s->srv),
             pl_pccc_plc_name(sc->plc), query[0] != '\0' ? "&" : "", query);
    pl_pccc_client_config_init(&cfg);
    assert_int_equal(pl_pccc_client_config_url(&cfg, url, storage, sizeof(storage), &st), 0);
    cfg.line.backoff_min_ms = 5;
    cfg.line.backoff_max_ms = 20;
    cfg.log = &warn_counter;
    assert_int_equal(pl_pccc_client_new(loop, &cfg, &s->cli), 0);
}

static void sim_start(uv_loop_t *loop, sim_t *s, pl_pccc_plc_t plc, const char *query)
{
    pl_pccc_server_config_t sc;

    pl_pccc_server_config_init(&sc);
    sc.plc = plc;
    sim_start_cfg(loop, s, &sc, query);
}

/* The strictest simulator: RegisterSession checked, one request in flight, no Forward
 * Open (what `plcline serve` starts as). */
static void strict_config(pl_pccc_server_config_t *sc, pl_pccc_plc_t plc)
{
    pl_pccc_server_config_init(sc);
    sc->plc = plc;
    sc->max_inflight = 1;
    sc->no_connected = 1;
}

static void sim_stop(uv_loop_t *loop, sim_t *s)
{
    pl_pccc_client_free(s->cli);
    pl_pccc_server_free(s->srv);
    uv_run(loop, UV_RUN_DEFAULT);
}

static void sim_io(uv_loop_t *loop, sim_t *s, int write, const char *addr, uint8_t *buf, size_t len)
{
    pl_pccc_req_t req;
    result_t r;

    memset(&r, 0, sizeof(r));
    req.data = &r;
    if (write)
        assert_int_equal(pl_pccc_write(s->cli, &req, addr, buf, len, on_done), 0);
    else
        assert_int_equal(pl_pccc_read(s->cli, &req, addr, buf, len, on_done), 0);
    run_until(loop, &r.done, 5000);
    if (r.status.code != 0)
        fail_msg("%s %s: %s: %s", write ? "write" : "read", addr, pl_err_name(r.status.code),
                 r.status.detail);
}

/* Every data type, written as text, read back, compared with the simulator's file bytes. */
static void round_trips(uv_loop_t *loop, sim_t *s, int plc5)
{
    static const struct {
        const char *addr, *file, *value;
        size_t off; /* byte offset in the file */
    } cases[] = {
        {"N7:3", "N7", "-1234", 6},      {"F8:2", "F8", "2.5", 8},
        {"L10:1", "L10", "-70000", 4},   {"T4:1.ACC", "T4", "77", 10},
        {"T4:1.PRE", "T4", "500", 8},    {"C5:0.PRE", "C5", "9", 2},
        {"ST9:1", "ST9", "plcline", 84}, {"B3:2", "B3", "4660", 4},
        {"A11:0", "A11", "ab", 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pl_pccc_addr_t a;
        uint8_t buf[PL_PCCC_STRING_BYTES], back[PL_PCCC_STRING_BYTES], *mem;
        size_t n, flen;
        char text[128];
        pl_pccc_value_t v;

        if (plc5 && (strcmp(cases[i].file, "ST9") == 0 || strcmp(cases[i].file, "A11") == 0 ||
                     strcmp(cases[i].file, "L10") == 0))
            continue; /* not PLC-5 data types */
        assert_int_equal(pl_pccc_addr_parse(&a, cases[i].addr, NULL), 0);
        n = pl_pccc_addr_bytes(&a);
        memset(buf, 0, sizeof(buf));
        assert_int_equal(
            pl_pccc_value_parse(&a, buf, n, 0, cases[i].value, strlen(cases[i].value), NULL), 0);
        sim_io(loop, s, 1, cases[i].addr, buf, n);
        mem = pl_pccc_server_file(s->srv, cases[i].file, &flen);
        assert_non_null(mem);
        assert_true(cases[i].off + n <= flen);
        assert_memory_equal(mem + cases[i].off, buf, n);
        memset(back, 0, sizeof(back));
        sim_io(loop, s, 0, cases[i].addr, back, n);
        assert_memory_equal(back, buf, n);
        assert_int_equal(pl_pccc_value_get(&a, back, n, 0, &v), 0);
        assert_true(pl_pccc_value_format(&v, text, sizeof(text)) > 0);
        assert_string_equal(text, cases[i].value);
    }
    if (!plc5) {
        /* bits: masked writes leave the rest of the word alone */
        uint8_t b[2] = {0, 0}, *mem;
        size_t flen;

        mem = pl_pccc_server_file(s->srv, "B3", &flen);
        mem[0] = 0x01;
        b[0] = 0x20;
        sim_io(loop, s, 1, "B3:0/5", b, 2);
        assert_int_equal(mem[0], 0x21);
        mem = pl_pccc_server_file(s->srv, "T4", &flen);
        b[0] = 0;
        b[1] = 0x20;
        sim_io(loop, s, 1, "T4:1.DN", b, 2);
        assert_int_equal(mem[7] & 0x20, 0x20);
        assert_int_equal(mem[10] | mem[11] << 8, 77); /* ACC untouched */
    }
}

static void test_simulator_round_trips(void **state)
{
    static const char *const queries[] = {
        "",
        "service=4c&dst=1&src=0",
        "service=4d",
        "path=1,0",
        "connected=1",
        "connected=1&path=1,0&service=4c",
        "inflight=4&vendor_seq=1",
    };
    uv_loop_t loop;
    sim_t s;
    size_t i;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        sim_start(&loop, &s, PL_PCCC_PLC_SLC500, queries[i]);
        round_trips(&loop, &s, 0);
        sim_stop(&loop, &s);
    }
    sim_start(&loop, &s, PL_PCCC_PLC_PLC5, "");
    round_trips(&loop, &s, 1);
    sim_stop(&loop, &s);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_simulator_split_inflight_identify(void **state)
{
    uv_loop_t loop;
    sim_t s;
    uint8_t buf[200], *mem;
    size_t i, flen;
    pl_pccc_req_t req[3];
    result_t r[3];
    char text[64];

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    sim_start(&loop, &s, PL_PCCC_PLC_SLC500, "inflight=4&max_bytes=40");
    mem = pl_pccc_server_file(s.srv, "N7", &flen);
    assert_true(flen >= 200);
    for (i = 0; i < 200; i++)
        mem[i] = (uint8_t)(i ^ 0x5A);
    for (i = 0; i < 3; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        req[i].data = &r[i];
    }
    assert_int_equal(pl_pccc_read(s.cli, &req[0], "N7:0,100", buf, sizeof(buf), on_done), 0);
    assert_int_equal(pl_pccc_identify(s.cli, &req[1], text, sizeof(text), on_done), 0);
    run_until(&loop, &r[0].done, 5000);
    run_until(&loop, &r[1].done, 5000);
    assert_int_equal(r[0].status.code, 0);
    assert_memory_equal(buf, mem, 200);
    assert_int_equal(r[1].status.code, 0);
    assert_non_null(strstr(text, "SLC"));
    /* a remote refusal keeps its raw values */
    assert_int_equal(pl_pccc_read(s.cli, &req[2], "N99:0", buf, 2, on_done), 0);
    run_until(&loop, &r[2].done, 5000);
    assert_int_equal(r[2].status.code, PL_EPCCC_STS);
    assert_int_equal(r[2].remote.sts, 0xF0);
    assert_int_equal(r[2].remote.ext_sts, 0x06);
    sim_stop(&loop, &s);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Every service and route against the strictest simulator, and connected=auto. */
static void test_strict_simulator_round_trips(void **state)
{
    static const char *const queries[] = {
        "",
        "service=4c&dst=1&src=0",
        "service=4d",
        "path=1,0",
        "connected=auto",
        "connected=auto&path=1,0&service=4c",
        "inflight=4&vendor_seq=1",
    };
    pl_pccc_server_config_t sc;
    uv_loop_t loop;
    sim_t s;
    size_t i;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        strict_config(&sc, PL_PCCC_PLC_SLC500);
        sim_start_cfg(&loop, &s, &sc, queries[i]);
        round_trips(&loop, &s, 0);
        assert_int_equal(pl_pccc_server_stats(s.srv)->register_refused, 0);
        assert_int_equal(pl_pccc_server_stats(s.srv)->inflight_closed, 0);
        sim_stop(&loop, &s);
    }
    strict_config(&sc, PL_PCCC_PLC_PLC5);
    sim_start_cfg(&loop, &s, &sc, "connected=auto");
    round_trips(&loop, &s, 1);
    sim_stop(&loop, &s);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* The strictest simulator, answers held back 10 ms, one requestor ID: a client with
 * inflight=4 and connected=auto falls back twice (unconnected, one at a time), says each
 * once, and no request fails; the simulator saw one connection closed for pipelining and
 * nothing else refused. The wrong requestor ID gets CIP status 0x08; connected=1 gets
 * PL_EFWD_OPEN_REFUSED. */
static void test_strict_simulator_fallback(void **state)
{
    pl_pccc_server_config_t sc;
    const pl_pccc_client_stats_t *st;
    const pl_pccc_server_stats_t *ss;
    uv_loop_t loop;
    sim_t s;
    uint8_t buf[12][2];
    result_t r[12];
    unsigned i, k;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    warn_reset();
    strict_config(&sc, PL_PCCC_PLC_SLC500);
    sc.delay_ms = 10;
    sc.require_requestor = 1;
    sc.requestor_vendor = 0x1337;
    sc.requestor_serial = 0x01020304u;
    sim_start_cfg(&loop, &s, &sc,
                  "vendor=0x1337&serial=0x01020304&inflight=4&connected=auto&timeout=2000");
    for (k = 0; k < 2; k++) {
        reads_at_once(&loop, s.cli, 12, r, buf);
        for (i = 0; i < 12; i++)
            if (r[i].status.code != 0)
                fail_msg("round %u read %u: %s: %s", k, i, pl_err_name(r[i].status.code),
                         r[i].status.detail);
    }
    st = pl_pccc_client_stats(s.cli);
    ss = pl_pccc_server_stats(s.srv);
    assert_int_equal(st->errors, 0);
    assert_int_equal(st->fallbacks, 1);
    assert_int_equal(st->inflight, 1);
    assert_int_equal(st->connected, 0);
    assert_int_equal(ss->inflight_closed, 1);
    assert_int_equal(ss->fwd_open_refused, 1);
    assert_int_equal(ss->register_refused, 0);
    assert_int_equal(ss->requestor_refused, 0);
    assert_int_equal(g_warn_fallback, 1);
    assert_int_equal(g_warn_auto, 1);
    sim_stop(&loop, &s);

    strict_config(&sc, PL_PCCC_PLC_SLC500);
    sc.require_requestor = 1;
    sc.requestor_vendor = 0x1337;
    sc.requestor_serial = 0x01020304u;
    sim_start_cfg(&loop, &s, &sc, "vendor=0x1337&serial=0x01020305");
    reads_at_once(&loop, s.cli, 1, r, buf);
    assert_int_equal(r[0].status.code, PL_ECIP_STATUS);
    assert_int_equal(r[0].remote.cip_status, PL_CIP_STATUS_SERVICE_NOT_SUPPORTED);
    sim_stop(&loop, &s);

    strict_config(&sc, PL_PCCC_PLC_SLC500);
    sim_start_cfg(&loop, &s, &sc, "connected=1");
    reads_at_once(&loop, s.cli, 1, r, buf);
    assert_int_equal(r[0].status.code, PL_EFWD_OPEN_REFUSED);
    assert_int_equal(r[0].remote.cip_status, PL_CIP_STATUS_SERVICE_NOT_SUPPORTED);
    sim_stop(&loop, &s);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* ------------------------------------------------------------------ the engine driver */

typedef struct {
    pl_engine_t *e;
    int good;
} eng_t;

/* Publications of the string tag "s0": how many, and the last value published. */
static unsigned g_s0_changes;
static char g_s0_last[PL_VALUE_STRING_MAX];

static void eng_change(pl_engine_t *e, const pl_tag_state_t *st, void *ud)
{
    (void)e;
    (void)ud;
    if (strcmp(st->tag, "s0") == 0 && st->value.type == PL_VT_STRING) {
        g_s0_changes++;
        snprintf(g_s0_last, sizeof(g_s0_last), "%s", st->value.s);
    }
}

static void run_for(uv_loop_t *loop, unsigned ms);

static int all_good(pl_engine_t *e)
{
    size_t i;

    for (i = 0; i < pl_engine_tag_count(e); i++)
        if (pl_engine_tag_at(e, i)->quality != PL_Q_GOOD)
            return 0;
    return 1;
}

static void eng_wait_good(uv_loop_t *loop, pl_engine_t *e)
{
    uv_timer_t guard;
    int expired = 0;

    uv_timer_init(loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, 5000, 0);
    while (!all_good(e) && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    if (expired) {
        size_t i;

        for (i = 0; i < pl_engine_tag_count(e); i++)
            print_message("%s: %s %s\n", pl_engine_tag_at(e, i)->tag,
                          pl_quality_name(pl_engine_tag_at(e, i)->quality),
                          pl_engine_tag_at(e, i)->detail);
    }
    assert_false(expired);
}

static void eng_write_done(pl_engine_t *e, const pl_status_t *result, void *ud)
{
    result_t *r = ud;

    (void)e;
    r->done++;
    r->status = *result;
}

static void test_engine_driver(void **state)
{
    static const char *const tags[][2] = {
        {"n0", "N7:0"},      {"n1", "N7:1"},       {"f1", "F8:1"}, {"b5", "B3:0/5"},
        {"acc", "T4:0.ACC"}, {"pre1", "T4:1.PRE"}, {"t2", "T4:2"}, {"s0", "ST9:0"},
        {"l0", "L10:0"},     {"b17", "B3/17"},
    };
    pl_pccc_server_config_t sc;
    pl_pccc_server_t *srv;
    pl_line_def_t line;
    pl_device_def_t dev;
    pl_tag_def_t t[10];
    pl_scan_def_t scan;
    pl_engine_config_t ec;
    pl_engine_cbs_t cbs = {.on_change = eng_change};
    pl_engine_t *e;
    pl_status_t st;
    uv_loop_t loop;
    uint8_t *n7, *t4, *st9, *b3;
    size_t i, len;
    const pl_tag_state_t *ts;
    pl_value_t v;
    result_t r;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    pl_pccc_server_config_init(&sc);
    sc.listen.port = 0;
    assert_int_equal(pl_pccc_server_new(&loop, &sc, &srv, &st), 0);
    n7 = pl_pccc_server_file(srv, "N7", &len);
    n7[0] = 7;
    n7[2] = 0xFE;
    n7[3] = 0xFF; /* N7:1 = -2 */
    t4 = pl_pccc_server_file(srv, "T4", &len);
    t4[4] = 42;  /* T4:0.ACC */
    t4[8] = 100; /* T4:1.PRE */
    t4[12] = 0x00;
    t4[13] = 0x20; /* T4:2 DN */
    st9 = pl_pccc_server_file(srv, "ST9", &len);
    st9[0] = 2;
    st9[2] = 'i'; /* first character in the high byte */
    st9[3] = 'h';
    b3 = pl_pccc_server_file(srv, "B3", &len);
    b3[0] = 0x20;
    b3[2] = 0x02; /* B3/17 = word 1 bit 1 */

    memset(&line, 0, sizeof(line));
    snprintf(line.name, sizeof(line.name), "slc");
    snprintf(line.protocol, sizeof(line.protocol), "pccc");
    pl_line_config_init(&line.line);
    assert_int_equal(pl_hostlist_parse(&line.line.hosts, "127.0.0.1", 9, NULL), 0);
    line.line.port = pl_pccc_server_port(srv);
    snprintf(line.keys, sizeof(line.keys), "plc=slc500&service=4c&inflight=2");
    memset(&dev, 0, sizeof(dev));
    snprintf(dev.name, sizeof(dev.name), "plc1");
    snprintf(dev.line, sizeof(dev.line), "slc");
    snprintf(dev.keys, sizeof(dev.keys), "dst=1&src=0");
    memset(t, 0, sizeof(t));
    for (i = 0; i < 10; i++) {
        t[i].name = tags[i][0];
        t[i].device = "plc1";
        t[i].address = tags[i][1];
        t[i].scan = "fast";
        t[i].writable = 1;
    }
    memset(&scan, 0, sizeof(scan));
    snprintf(scan.name, sizeof(scan.name), "fast");
    scan.period_ms = 20;
    memset(&ec, 0, sizeof(ec));
    ec.lines = &line;
    ec.nlines = 1;
    ec.devices = &dev;
    ec.ndevices = 1;
    ec.tags = t;
    ec.ntags = 10;
    ec.scans = &scan;
    ec.nscans = 1;
    assert_int_equal(pl_engine_new(&loop, &ec, &cbs, NULL, &e, &st), 0);
    assert_int_equal(pl_engine_start(e), 0);
    eng_wait_good(&loop, e);
    assert_int_equal(pl_engine_tag(e, "n0")->value.i, 7);
    assert_int_equal(pl_engine_tag(e, "n1")->value.i, -2);
    assert_int_equal(pl_engine_tag(e, "b5")->value.type, PL_VT_BOOL);
    assert_int_equal(pl_engine_tag(e, "b5")->value.i, 1);
    assert_int_equal(pl_engine_tag(e, "b17")->value.i, 1);
    assert_int_equal(pl_engine_tag(e, "acc")->value.i, 42);
    assert_int_equal(pl_engine_tag(e, "pre1")->value.i, 100);
    assert_string_equal(pl_engine_tag(e, "t2")->value.s, "EN=0 TT=0 DN=1 PRE=0 ACC=0");
    assert_string_equal(pl_engine_tag(e, "s0")->value.s, "hi");
    assert_int_equal(pl_engine_tag(e, "f1")->value.type, PL_VT_FLOAT);
    /* an unchanged string is published once, however often it is read */
    run_for(&loop, 200); /* 10 scan periods */
    assert_int_equal(g_s0_changes, 1);
    assert_string_equal(g_s0_last, "hi");

    /* writes: an integer member, a bit (masked), a string, a float */
    memset(&v, 0, sizeof(v));
    v.type = PL_VT_INT;
    v.i = 1234;
    memset(&r, 0, sizeof(r));
    assert_int_equal(pl_engine_write(e, "acc", &v, eng_write_done, &r, &st), 0);
    run_until(&loop, &r.done, 5000);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(t4[4] | t4[5] << 8, 1234);
    v.type = PL_VT_BOOL;
    v.i = 0;
    memset(&r, 0, sizeof(r));
    assert_int_equal(pl_engine_write(e, "b5", &v, eng_write_done, &r, &st), 0);
    run_until(&loop, &r.done, 5000);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(b3[0], 0x00);
    v.type = PL_VT_STRING;
    snprintf(v.s, sizeof(v.s), "plcline");
    memset(&r, 0, sizeof(r));
    assert_int_equal(pl_engine_write(e, "s0", &v, eng_write_done, &r, &st), 0);
    run_until(&loop, &r.done, 5000);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(st9[0], 7);
    /* the new string is published once it is read back, and only once */
    for (i = 0; i < 500 && strcmp(g_s0_last, "plcline") != 0; i++)
        run_for(&loop, 10);
    run_for(&loop, 200);
    assert_string_equal(g_s0_last, "plcline");
    assert_int_equal(g_s0_changes, 2);
    v.type = PL_VT_STRING;
    snprintf(v.s, sizeof(v.s), "PRE=300");
    memset(&r, 0, sizeof(r));
    assert_int_equal(pl_engine_write(e, "t2", &v, eng_write_done, &r, &st), 0);
    run_until(&loop, &r.done, 5000);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(t4[14] | t4[15] << 8, 300);
    assert_int_equal(t4[13], 0x20); /* DN kept */
    v.type = PL_VT_INT;
    v.i = 70000;
    assert_int_equal(pl_engine_write(e, "n0", &v, eng_write_done, &r, &st), PL_EVALUE);
    ts = pl_engine_tag(e, "n0");
    assert_non_null(ts);
    pl_engine_free(e);
    pl_pccc_server_free(srv);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Runs the loop for `ms` of loop time (a timer, not a sleep). */
static void run_for(uv_loop_t *loop, unsigned ms)
{
    uv_timer_t t;
    int fired = 0;

    uv_timer_init(loop, &t);
    t.data = &fired;
    uv_timer_start(&t, on_guard, ms, 0);
    while (!fired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

/* The deadline timer is lazy: an answer leaves it armed for the answered request's deadline.
 * A request sent later must still get its whole timeout: the early firing re-arms the timer
 * instead of failing it. Loop time: a libuv timer never fires before it is due, so the
 * timeout cannot be observed before `timeout_ms` has passed since the send. */
static void test_lazy_deadline(void **state)
{
    pl_pccc_client_config_t cfg;
    pl_pccc_req_t req[2];
    result_t r[2];
    uint8_t buf[2][2];
    uint64_t t1;

    (void)state;
    cfg_default(&cfg);
    cfg.timeout_ms = 100;
    start(&cfg);
    F.files[0].data[0] = 0x34;
    F.files[0].data[1] = 0x12;
    do_read("N7:0", buf[0], 2, &r[0]); /* the session is up */
    assert_int_equal(r[0].status.code, 0);
    /* A: answered 60 ms after its send; its deadline (send + 100 ms) is still armed */
    F.hold = 1;
    memset(r, 0, sizeof(r));
    req[0].data = &r[0];
    assert_int_equal(pl_pccc_read(F.cli, &req[0], "N7:0", buf[0], 2, on_done), 0);
    run_count(&F.loop, (const int *)&F.nheld, 1, 5000);
    run_for(&F.loop, 60);
    release_reversed(&F);
    run_until(&F.loop, &r[0].done, 5000);
    assert_int_equal(r[0].status.code, 0);
    assert_int_equal(buf[0][0] | buf[0][1] << 8, 0x1234);
    /* B: never answered; it fails 100 ms after its own send, not at A's deadline */
    F.silent = 1;
    req[1].data = &r[1];
    t1 = uv_now(&F.loop);
    assert_int_equal(pl_pccc_read(F.cli, &req[1], "N7:0", buf[1], 2, on_done), 0);
    run_until(&F.loop, &r[1].done, 5000);
    assert_int_equal(r[1].status.code, PL_ETIMEOUT);
    assert_true(uv_now(&F.loop) - t1 >= 100);
    assert_int_equal(pl_pccc_client_stats(F.cli)->timeouts, 1);
    /* the silent peer is left: a new session answers */
    F.silent = 0;
    do_read("N7:0", buf[0], 2, &r[0]);
    assert_int_equal(r[0].status.code, 0);
    assert_int_equal(F.registered, 2);
    stop();
}

static int line_got_pred(void *want)
{
    return pl_line_stats(pl_pccc_client_line(F.cli))->bytes_in >= *(const uint64_t *)want;
}

/* Two replies in one stream, cut at every offset into two reads: the client handles whole
 * messages where they are and keeps only a partial one; every cut gives both answers, in
 * one session. */
static void test_replies_split_everywhere(void **state)
{
    pl_pccc_client_config_t cfg;
    pl_pccc_req_t req[2];
    result_t r[2];
    uint8_t buf[2][2], both[2048];
    size_t len, cut, i;
    uint64_t base, want;

    (void)state;
    cfg_default(&cfg);
    cfg.inflight = 2;
    start(&cfg);
    for (i = 0; i < 4; i++)
        F.files[0].data[i] = (uint8_t)(0xA0 + i);
    do_read("N7:0", buf[0], 2, &r[0]);
    assert_int_equal(r[0].status.code, 0);
    for (cut = 1;; cut++) {
        F.hold = 1;
        memset(r, 0, sizeof(r));
        memset(buf, 0, sizeof(buf));
        for (i = 0; i < 2; i++) {
            req[i].data = &r[i];
            assert_int_equal(
                pl_pccc_read(F.cli, &req[i], i == 0 ? "N7:0" : "N7:1", buf[i], 2, on_done), 0);
        }
        run_count(&F.loop, (const int *)&F.nheld, 2, 5000);
        F.hold = 0;
        F.nheld = 0;
        memcpy(both, F.held[0], F.held_len[0]);
        memcpy(both + F.held_len[0], F.held[1], F.held_len[1]);
        len = F.held_len[0] + F.held_len[1];
        assert_int_equal(len, 2 * 57);
        if (cut >= len)
            break;
        base = pl_line_stats(pl_pccc_client_line(F.cli))->bytes_in;
        want = base + cut;
        assert_int_equal(pl_conn_send(F.conn, both, cut), 0);
        assert_int_equal(fault_run_pred(&F.loop, line_got_pred, &want, 5000), 0);
        assert_int_equal(r[0].done + r[1].done, cut >= F.held_len[0] ? 1 : 0);
        assert_int_equal(pl_conn_send(F.conn, both + cut, len - cut), 0);
        run_until(&F.loop, &r[1].done, 5000);
        for (i = 0; i < 2; i++) {
            assert_int_equal(r[i].done, 1);
            assert_int_equal(r[i].status.code, 0);
            assert_int_equal(buf[i][0], 0xA0 + 2 * i);
            assert_int_equal(buf[i][1], 0xA1 + 2 * i);
        }
    }
    /* the last round's replies, whole */
    assert_int_equal(pl_conn_send(F.conn, both, len), 0);
    run_until(&F.loop, &r[1].done, 5000);
    assert_int_equal(r[0].status.code, 0);
    assert_int_equal(F.registered, 1);
    assert_int_equal(pl_pccc_client_stats(F.cli)->responses, 1 + 2 * len);
    stop();
}

/* Parsed addresses are remembered by their text: more addresses than the memo holds, each
 * read twice, always read where they say; texts too long to remember are parsed each time;
 * a bad address is reported with its detail every time. */
static void test_address_memo(void **state)
{
    char text[48];
    uint8_t buf[4];
    result_t r;
    pl_pccc_req_t req;
    unsigned pass, i;

    (void)state;
    start(NULL);
    for (i = 0; i < 100; i++) {
        F.files[0].data[2 * i] = (uint8_t)i;
        F.files[0].data[2 * i + 1] = (uint8_t)(0x80 + i);
    }
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < 40; i++) {
            snprintf(text, sizeof(text), pass == 0 ? "N7:%u" : "N7:%u,2", i);
            do_read(text, buf, sizeof(buf), &r);
            assert_int_equal(r.status.code, 0);
            assert_int_equal(buf[0], i);
            assert_int_equal(buf[1], 0x80 + i);
            do_read(i % 2 ? "N7:00000000000000000000000000000007" : "N7:0", buf, 2, &r);
            assert_int_equal(r.status.code, 0);
            assert_int_equal(buf[0], i % 2 ? 7 : 0);
        }
        memset(&r, 0, sizeof(r));
        req.data = &r;
        assert_int_equal(pl_pccc_read(F.cli, &req, "N7:x", buf, 2, on_done), PL_EADDR);
        assert_non_null(strstr(req.status.detail, "column 4"));
    }
    stop();
}

/* ------------------------------------------------------------------ replies that do not fit */

static char g_warn[512]; /* the client's last warning */

static void keep_warning(void *ud, pl_log_level_t level, const char *msg)
{
    (void)ud;
    if (level <= PL_LOG_WARN)
        snprintf(g_warn, sizeof(g_warn), "%s", msg);
}

static const pl_logger_t g_warn_log = {.cb = keep_warning, .ud = NULL, .level = PL_LOG_WARN};

#define CIP_RSP_HEADER 4u /* reply service, reserved, general status, extended status size */

static int is_pccc_reply(const uint8_t *cip, size_t n, uint8_t service)
{
    return n > CIP_RSP_HEADER && cip[0] == (service | PL_CIP_SVC_REPLY) && cip[2] == 0;
}

static int spoil_requestor_vendor(pl_enip_msg_t *r, uint8_t *cip, size_t *n, int pccc)
{
    (void)r;
    if (!pccc || !is_pccc_reply(cip, *n, PL_PCCC_SVC_EXECUTE))
        return 0;
    cip[CIP_RSP_HEADER + 1] ^= 0x01; /* after the length byte: vendor, low byte */
    return 1;
}

static int spoil_requestor_serial(pl_enip_msg_t *r, uint8_t *cip, size_t *n, int pccc)
{
    (void)r;
    if (!pccc || !is_pccc_reply(cip, *n, PL_PCCC_SVC_EXECUTE))
        return 0;
    cip[CIP_RSP_HEADER + 3] ^= 0x80; /* serial, low byte */
    return 1;
}

/* 0x4B: the reply's requestor ID (vendor or serial) is not the one sent: PL_EPCCC_HEADER,
 * the session is dropped (the stream cannot be trusted) and the next read gets a new one. */
static void test_reply_requestor_id_mismatch(void **state)
{
    pl_pccc_client_config_t cfg;
    uint8_t buf[2];
    result_t r;

    (void)state;
    cfg_default(&cfg);
    cfg.log = &g_warn_log;
    start(&cfg);
    F.files[0].data[0] = 0x34;
    g_mangle = spoil_requestor_vendor;
    g_mangle_left = 1;
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, PL_EPCCC_HEADER);
    assert_non_null(strstr(r.status.detail, "requestor ID 8502/41414D50, sent 8503/41414D50"));
    assert_int_equal(F.links_down, 1);
    g_mangle = spoil_requestor_serial;
    g_mangle_left = 1;
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, PL_EPCCC_HEADER);
    assert_non_null(strstr(r.status.detail, "8503/41414DD0, sent 8503/41414D50"));
    assert_non_null(strstr(g_warn, "reconnecting"));
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(buf[0], 0x34);
    assert_int_equal(F.registered, 3);
    stop();
}

static int spoil_dhp_dst_node(pl_enip_msg_t *r, uint8_t *cip, size_t *n, int pccc)
{
    (void)r;
    if (!pccc || !is_pccc_reply(cip, *n, PL_PCCC_SVC_DHP))
        return 0;
    cip[CIP_RSP_HEADER + 2] = 9; /* destination node: neither ours nor the PLC's */
    return 1;
}

static int echo_dhp_header(pl_enip_msg_t *r, uint8_t *cip, size_t *n, int pccc)
{
    uint8_t dst[4];

    (void)r;
    if (!pccc || !is_pccc_reply(cip, *n, PL_PCCC_SVC_DHP))
        return 0;
    /* the responder addresses the reply back (swapped); put it back as it was sent */
    memcpy(dst, cip + CIP_RSP_HEADER, 4);
    memmove(cip + CIP_RSP_HEADER, cip + CIP_RSP_HEADER + 4, 4);
    memcpy(cip + CIP_RSP_HEADER + 4, dst, 4);
    return 1;
}

/* 0x4C: a reply whose DH+ header is neither echoed nor addressed back to us is refused with
 * PL_EPCCC_HEADER and the session dropped; an echoed header is accepted. */
static void test_reply_dhp_header_mismatch(void **state)
{
    pl_pccc_client_config_t cfg;
    uint8_t buf[2];
    result_t r;

    (void)state;
    cfg_default(&cfg);
    cfg.service = PL_PCCC_SVC_DHP;
    cfg.dst = 2;
    cfg.src = 5;
    start(&cfg);
    F.files[0].data[0] = 0x56;
    g_mangle = spoil_dhp_dst_node;
    g_mangle_left = 1;
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, PL_EPCCC_HEADER);
    assert_non_null(strstr(r.status.detail, "DH+ header dst 0/9 src 0/2, sent dst 0/2 src 0/5"));
    assert_int_equal(F.links_down, 1);
    g_mangle = echo_dhp_header;
    g_mangle_left = 1;
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(g_mangle_left, 0);
    assert_int_equal(buf[0], 0x56);
    assert_int_equal(F.registered, 2);
    stop();
}

static int spoil_cut_two_bytes(pl_enip_msg_t *r, uint8_t *cip, size_t *n, int pccc)
{
    (void)r;
    if (!pccc || !is_pccc_reply(cip, *n, PL_PCCC_SVC_EXECUTE))
        return 0;
    *n -= 2;
    return 1;
}

/* A well-formed reply carrying fewer data bytes than were asked for: that read fails with
 * PL_EPCCC_MISMATCH (nothing copied); the reply was attributable, so the session stays. */
static void test_reply_shorter_than_asked(void **state)
{
    uint8_t buf[8];
    result_t r;

    (void)state;
    start(NULL);
    F.files[0].data[6] = 0x77;
    memset(buf, 0xEE, sizeof(buf));
    g_mangle = spoil_cut_two_bytes;
    g_mangle_left = 1;
    do_read("N7:0,4", buf, sizeof(buf), &r);
    assert_int_equal(r.status.code, PL_EPCCC_MISMATCH);
    assert_string_equal(r.status.detail, "reply carries 6 data bytes, expected 8");
    do_read("N7:0,4", buf, sizeof(buf), &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(buf[6], 0x77);
    assert_int_equal(F.registered, 1);
    assert_int_equal(F.links_down, 0);
    stop();
}

static int spoil_reply_service(pl_enip_msg_t *r, uint8_t *cip, size_t *n, int pccc)
{
    (void)r;
    if (!pccc || !is_pccc_reply(cip, *n, PL_PCCC_SVC_EXECUTE))
        return 0;
    cip[0] = PL_PCCC_SVC_LOCAL | PL_CIP_SVC_REPLY;
    return 1;
}

/* A successful CIP reply of another service than the one asked: PL_ECIP_SERVICE for that
 * request (matched by its context), the session stays. */
static void test_reply_wrong_service(void **state)
{
    uint8_t buf[2];
    result_t r;

    (void)state;
    start(NULL);
    g_mangle = spoil_reply_service;
    g_mangle_left = 1;
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, PL_ECIP_SERVICE);
    assert_string_equal(r.status.detail, "CIP reply service 0xCD, expected 0xCB");
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(F.registered, 1);
    assert_int_equal(F.links_down, 0);
    stop();
}

static int spoil_unmatched(pl_enip_msg_t *r, uint8_t *cip, size_t *n, int pccc)
{
    if (!pccc || !is_pccc_reply(cip, *n, PL_PCCC_SVC_EXECUTE))
        return 0;
    cip[2] = 0x08; /* a CIP error: no PCCC reply, so the context is all that matches it */
    *n = CIP_RSP_HEADER;
    r->context[0] ^= 0x5A;
    r->context[1] ^= 0xA5;
    return 1;
}

/* A CIP reply whose context matches no request (sent or expired): PL_EPCCC_MISMATCH, the
 * session is dropped, the request in flight fails with that code, the next one succeeds. */
static void test_reply_matching_no_request(void **state)
{
    uint8_t buf[2];
    result_t r;

    (void)state;
    start(NULL);
    g_mangle = spoil_unmatched;
    g_mangle_left = 1;
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, PL_EPCCC_MISMATCH);
    assert_string_equal(r.status.detail, "CIP reply 0xCB status 0x08 matches no request");
    assert_int_equal(F.links_down, 1);
    do_read("N7:0", buf, 2, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(F.registered, 2);
    stop();
}

static int spoil_fo_truncated(pl_enip_msg_t *r, uint8_t *cip, size_t *n, int pccc)
{
    (void)r;
    if (pccc || *n < 12 || cip[0] != (PL_CIP_SVC_FORWARD_OPEN | PL_CIP_SVC_REPLY))
        return 0;
    *n = 12; /* the header and the O->T connection id, nothing more */
    return 1;
}

static int spoil_fo_serial(pl_enip_msg_t *r, uint8_t *cip, size_t *n, int pccc)
{
    (void)r;
    if (pccc || *n < 14 || cip[0] != (PL_CIP_SVC_FORWARD_OPEN | PL_CIP_SVC_REPLY))
        return 0;
    cip[CIP_RSP_HEADER + 8] ^= 0xFF; /* after both connection ids: the connection serial */
    return 1;
}

/* A Forward Open reply that is cut short, or names another connection serial: the client
 * does not take the connection ("bad Forward Open reply"), drops the session and starts
 * over; the waiting read is served by the next, well-answered Forward Open. */
static void test_forward_open_malformed(void **state)
{
    int (*spoil[2])(pl_enip_msg_t *, uint8_t *, size_t *, int) = {spoil_fo_truncated,
                                                                  spoil_fo_serial};
    pl_pccc_client_config_t cfg;
    uint8_t buf[2];
    result_t r;
    int i;

    (void)state;
    for (i = 0; i < 2; i++) {
        cfg_default(&cfg);
        cfg.connected = 1;
        cfg.log = &g_warn_log;
        start(&cfg);
        F.files[0].data[0] = (uint8_t)(0x40 + i);
        g_warn[0] = '\0';
        g_mangle = spoil[i];
        g_mangle_left = 1;
        do_read("N7:0", buf, 2, &r);
        assert_int_equal(r.status.code, 0);
        assert_int_equal(buf[0], 0x40 + i);
        assert_int_equal(g_mangle_left, 0);
        assert_non_null(strstr(g_warn, "bad Forward Open reply"));
        assert_int_equal(F.fwd_open, 2);
        assert_int_equal(F.registered, 2);
        assert_int_equal(F.cap[0].command, PL_ENIP_CMD_SEND_UNIT_DATA);
        stop();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_framing_4b_4c_4d),
        cmocka_unit_test(test_tns_and_vendor_seq),
        cmocka_unit_test(test_types_round_trip),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_inflight_out_of_order),
        cmocka_unit_test(test_remote_errors),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_session_loss),
        cmocka_unit_test(test_connected),
        cmocka_unit_test(test_register_golden),
        cmocka_unit_test(test_register_refused),
        cmocka_unit_test(test_fwd_open_refused),
        cmocka_unit_test(test_fallback_scripted),
        cmocka_unit_test(test_routed),
        cmocka_unit_test(test_identify_and_plc5),
        cmocka_unit_test(test_connect_refused_and_queue),
        cmocka_unit_test(test_free_cancels),
        cmocka_unit_test(test_simulator_round_trips),
        cmocka_unit_test(test_simulator_split_inflight_identify),
        cmocka_unit_test(test_strict_simulator_round_trips),
        cmocka_unit_test(test_strict_simulator_fallback),
        cmocka_unit_test(test_engine_driver),
        cmocka_unit_test(test_lazy_deadline),
        cmocka_unit_test(test_replies_split_everywhere),
        cmocka_unit_test(test_address_memo),
        cmocka_unit_test(test_reply_requestor_id_mismatch),
        cmocka_unit_test(test_reply_dhp_header_mismatch),
        cmocka_unit_test(test_reply_shorter_than_asked),
        cmocka_unit_test(test_reply_wrong_service),
        cmocka_unit_test(test_reply_matching_no_request),
        cmocka_unit_test(test_forward_open_malformed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
