/* SPDX-License-Identifier: MIT */
/*
 * Fault injection, IEC 60870-5-104 (docs/reliability.md, docs/iec104.md): the controlling
 * station (client) against scripted misbehaving stations, and the controlled-station
 * simulator against misbehaving clients. The scenarios every protocol shares run from one
 * table (tests/support/fault_suite.c) through the hooks at the end of this file; IEC 104's
 * own malformed answers are rows of its spoils table, and its own scenarios follow (window
 * overrun, frames split at every offset, TESTFR and STARTDT never confirmed).
 *
 * IEC 104 has no read request: the suite's "words" are information objects. Word `at` of
 * a station is the scaled measured value (M_ME_NB_1) at IOA MON_IOA + at, read by a general
 * interrogation (the scripted station answers the words the test asks for), and the scaled
 * set point (C_SE_NB_1) at IOA CMD_IOA + at, written by a command (ACT_CON, ACT_TERM). A
 * "request" of the suite is a general interrogation or one command; the hooks run them one
 * at a time once the connection is started, as the engine's driver does, and a request
 * waiting for a connection fails when every host of the list failed to give one.
 *
 * Every test runs in one process on one loop over loopback (ports read back, nothing
 * sleeps, guard timers bound every wait) next to a healthy device: the simulator with a
 * second client writing a set point and reading it back all the time.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/iec104/codec/apci.h"
#include "proto/iec104/codec/asdu.h"
#include "fault_suite.h"
#include "faults.h"
#include "fixture.h"
#include "plcline/error.h"
#include "plcline/hostlist.h"
#include "plcline/iec104.h"
#include "plcline/iec104_client.h"

#define PEER_WORDS   1024u
#define MON_IOA      1u     /* word `at`: M_ME_NB_1 at MON_IOA + at */
#define CMD_IOA      10001u /* ... and C_SE_NB_1 at CMD_IOA + at */
#define SIM_POINTS   "M_ME_NB_1:1-1024 C_SE_NB_1:10001-11024"
#define HEALTHY_WORD 10u
#define CA           1u
#define OVERRUN      (3u * PL_IEC104_DEFAULT_K + 1u) /* spontaneous frames sent unasked */

/* What the scripted station does with the requests it is told to spoil (fixture_t.mode):
 * the modes of every protocol (fault_suite.h), then IEC 104's own. */
typedef enum {
    P_GOOD = FAULT_GOOD,
    P_CLOSE_MID = FAULT_CLOSE_MID,
    P_GARBAGE = FAULT_GARBAGE,
    P_DRIP = FAULT_DRIP,
    P_LATE = FAULT_LATE,
    P_SILENT = FAULT_SILENT,
    P_WRONG_NS = FAULT_MODE_PROTO, /* the answer's first I-frame skips an N(S) */
    P_WRONG_NR,                    /* ... acknowledges I-frames the client never sent */
    P_LENGTH_0,                    /* an APDU with length octet 0 */
    P_LENGTH_255,                  /* an APDU with length octet 255 (above 253) */
    P_BAD_CONTROL,                 /* a U-frame with two functions */
    P_STARTDT_ACT,                 /* STARTDT act from the station (only a client sends it) */
    P_SPLIT,                       /* the answer in two pieces, at T.split, 1 ms apart */
    P_OVERRUN,                     /* OVERRUN spontaneous I-frames, not waiting for acks */
} peer_mode_t;

static fixture_t F;

/* A request of the suite (a read or a write of words), run by the hooks. */
typedef struct {
    int used, write, issued;
    unsigned at, n, done_n; /* write: commands confirmed so far */
    uint16_t *w;
    fixture_result_t *r;
} op_t;

static struct {
    /* the healthy device and its client */
    pl_iec104_server_t *good;
    pl_iec104_client_t *hcli;
    pl_iec104_cmd_t hcmd;
    uv_timer_t hread;
    uint16_t hword;
    /* the scripted station */
    uint16_t mem[PEER_WORDS];
    unsigned want_at, want_n; /* the words the running read asks for */
    int no_startdt_con, ignore_testfr;
    size_t split;     /* P_SPLIT: bytes of the answer sent first */
    uint16_t peer_nr; /* the latest N(R) the client sent */
    uint32_t peer_sent;
    /* the client under test */
    pl_iec104_client_t *cli;
    unsigned t3_ms; /* 0: 60 s */
    pl_iec104_cmd_t cmd;
    op_t op[4];
    int queue[8];
    unsigned qh, qn;
    int conn_started;
    unsigned attempt_fails;
    unsigned spont_seen;
    /* raw clients */
    uint16_t raw_ns;
} T;

static const pl_iec104_params_t *params(void)
{
    static pl_iec104_params_t p;

    pl_iec104_params_default(&p);
    return &p;
}

/* ------------------------------------------------------------------ the healthy device */

static void on_healthy_cmd(pl_iec104_cmd_t *cmd)
{
    fixture_healthy_done(&F, cmd->status.code, T.hword);
}

static void on_healthy_read(uv_timer_t *t)
{
    double v = 0;

    (void)t;
    assert_int_equal(pl_iec104_server_point(T.good, CMD_IOA + HEALTHY_WORD, NULL, &v), 0);
    fixture_healthy_done(&F, 0, (uint16_t)(int16_t)v);
}

/* A write is a set point command to the simulator; a read takes the simulator's value of
 * that set point (on the next loop turn). */
static int healthy_send(fixture_t *fx, int writing, uint16_t value)
{
    (void)fx;
    if (!writing) {
        uv_timer_start(&T.hread, on_healthy_read, 0, 0);
        return 0;
    }
    T.hword = value;
    memset(&T.hcmd, 0, sizeof(T.hcmd));
    T.hcmd.type = PL_IEC104_C_SE_NB_1;
    T.hcmd.ioa = CMD_IOA + HEALTHY_WORD;
    T.hcmd.value = (int16_t)value;
    T.hcmd.cb = on_healthy_cmd;
    return pl_iec104_command(T.hcli, &T.hcmd);
}

/* ------------------------------------------------------------------ the scripted station */

static int frame(const uint8_t *buf, size_t len, size_t limit, size_t *need)
{
    (void)limit;
    return pl_iec104_frame(buf, len, need);
}

static uint16_t s_vs(const fixture_slot_t *p)
{
    return (uint16_t)(p->session & 0xFFFFu);
}

static uint16_t s_vr(const fixture_slot_t *p)
{
    return (uint16_t)(p->session >> 16);
}

static void s_set(fixture_slot_t *p, uint16_t vs, uint16_t vr)
{
    p->session = (uint32_t)vs | ((uint32_t)vr << 16);
}

/* Appends an I-frame carrying `asdu` to out[*len..cap), numbered by the slot (and bent by
 * `mode` when it is the answer's first frame). */
static void put_i(fixture_slot_t *p, uint8_t *out, size_t cap, size_t *len, const uint8_t *asdu,
                  size_t alen, peer_mode_t mode, int first)
{
    uint16_t ns = s_vs(p), nr = s_vr(p);
    int n;

    if (first && mode == P_WRONG_NS)
        ns = pl_iec104_seq_add(ns, 1);
    if (first && mode == P_WRONG_NR)
        nr = pl_iec104_seq_add(nr, 5);
    n = pl_iec104_encode_i(out + *len, cap - *len, ns, nr, asdu, alen);
    assert_true(n > 0);
    *len += (size_t)n;
    s_set(p, pl_iec104_seq_add(s_vs(p), 1), s_vr(p));
    T.peer_sent++;
}

/* Appends the confirmation `cause` of the command or interrogation `q` (its object `o`). */
static void put_con(fixture_slot_t *p, uint8_t *out, size_t cap, size_t *len,
                    const pl_iec104_asdu_t *q, const pl_iec104_object_t *o, uint8_t cause,
                    peer_mode_t mode, int first)
{
    pl_iec104_asdu_t h = *q;
    uint8_t asdu[PL_IEC104_MAX_ASDU];
    int n;

    h.cause = cause;
    h.sq = 0;
    n = pl_iec104_asdu_encode(asdu, sizeof(asdu), params(), &h, o, 1, NULL);
    assert_true(n > 0);
    put_i(p, out, cap, len, asdu, (size_t)n, mode, first);
}

/* Appends words [at, at + n) as M_ME_NB_1 with `cause` (value `late` when not 0). */
static void put_words(fixture_slot_t *p, uint8_t *out, size_t cap, size_t *len, unsigned at,
                      unsigned n, uint8_t cause, uint16_t late)
{
    static pl_iec104_object_t objs[PEER_WORDS];
    uint8_t asdu[PL_IEC104_MAX_ASDU];
    pl_iec104_asdu_t h;
    size_t i, done = 0, fitted;
    int len_a;

    assert_true(at + n <= PEER_WORDS);
    memset(&h, 0, sizeof(h));
    h.type = PL_IEC104_M_ME_NB_1;
    h.sq = 1;
    h.cause = cause;
    h.ca = CA;
    for (i = 0; i < n; i++) {
        memset(&objs[i], 0, sizeof(objs[i]));
        objs[i].ioa = MON_IOA + at + (unsigned)i;
        objs[i].v.sva = (int16_t)(late != 0 ? late : T.mem[at + i]);
    }
    while (done < n) {
        len_a =
            pl_iec104_asdu_encode(asdu, sizeof(asdu), params(), &h, objs + done, n - done, &fitted);
        assert_true(len_a > 0);
        put_i(p, out, cap, len, asdu, (size_t)len_a, P_GOOD, 0);
        done += fitted;
    }
}

static void send_u(fixture_slot_t *p, uint8_t func)
{
    uint8_t f[PL_IEC104_APCI_LEN];

    assert_int_equal(pl_iec104_encode_u(f, sizeof(f), func), (int)sizeof(f));
    (void)pl_conn_send(p->conn, f, sizeof(f));
}

/* The answer to request `q` (an interrogation or a set point) in out; its length. */
static size_t answer(fixture_slot_t *p, const pl_iec104_asdu_t *q, const pl_iec104_object_t *o,
                     peer_mode_t mode, uint8_t *out, size_t cap, uint16_t late)
{
    size_t len = 0;

    put_con(p, out, cap, &len, q, o, PL_IEC104_COT_ACTCON, mode, 1);
    if (q->type == PL_IEC104_C_IC_NA_1 && T.want_n > 0)
        put_words(p, out, cap, &len, T.want_at, T.want_n, PL_IEC104_COT_INROGEN, late);
    put_con(p, out, cap, &len, q, o, PL_IEC104_COT_ACTTERM, P_GOOD, 0);
    return len;
}

/* One APDU from the client. Returns 0 to go on reading, <0 when the connection was closed. */
static int peer_message(fixture_t *fx, fixture_slot_t *p, const uint8_t *b, size_t n)
{
    static const char garbage[] = "GARBAGE, not IEC 104\r\n";
    static const uint8_t length_0[] = {0x68, 0x00, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t length_255[] = {0x68, 0xFF, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t bad_control[] = {0x68, 0x04, 0x0F, 0x00, 0x00, 0x00};
    static uint8_t out[4096];
    pl_iec104_apdu_t f;
    pl_iec104_asdu_t q;
    pl_iec104_object_t o;
    peer_mode_t mode;
    size_t len;
    unsigned i;

    assert_int_equal(pl_iec104_decode(b, n, &f), 0);
    if (f.kind == PL_IEC104_FRAME_U) {
        if (f.func == PL_IEC104_U_STARTDT_ACT && !T.no_startdt_con)
            send_u(p, PL_IEC104_U_STARTDT_CON);
        else if (f.func == PL_IEC104_U_TESTFR_ACT && !T.ignore_testfr)
            send_u(p, PL_IEC104_U_TESTFR_CON);
        else if (f.func == PL_IEC104_U_STOPDT_ACT)
            send_u(p, PL_IEC104_U_STOPDT_CON);
        return 0;
    }
    T.peer_nr = f.nr;
    if (f.kind == PL_IEC104_FRAME_S)
        return 0;
    s_set(p, s_vs(p), pl_iec104_seq_add(s_vr(p), 1));
    assert_int_equal(pl_iec104_asdu_decode(f.asdu, f.asdu_len, params(), &q), 0);
    assert_int_equal(pl_iec104_asdu_object(&q, 0, &o), 0);
    assert_int_equal(q.cause, PL_IEC104_COT_ACT);
    assert_true(q.type == PL_IEC104_C_IC_NA_1 || q.type == PL_IEC104_C_SE_NB_1);
    mode = (peer_mode_t)fixture_peer_mode(fx);
    if (q.type == PL_IEC104_C_SE_NB_1 && mode != P_SILENT && mode != P_GARBAGE &&
        mode < P_WRONG_NS) {
        assert_true(o.ioa >= CMD_IOA && o.ioa < CMD_IOA + PEER_WORDS);
        T.mem[o.ioa - CMD_IOA] = (uint16_t)o.v.sva;
    }
    switch (mode) {
    case P_GOOD:
    case P_WRONG_NS:
    case P_WRONG_NR:
        len = answer(p, &q, &o, mode, out, sizeof(out), 0);
        (void)pl_conn_send(p->conn, out, len);
        return 0;
    case P_CLOSE_MID:
        len = answer(p, &q, &o, mode, out, sizeof(out), 0);
        (void)pl_conn_send(p->conn, out, len / 2u);
        pl_conn_close(p->conn, NULL);
        return -1;
    case P_GARBAGE:
        (void)pl_conn_send(p->conn, (const uint8_t *)garbage, sizeof(garbage) - 1u);
        return 0;
    case P_DRIP:
        len = answer(p, &q, &o, mode, p->out, sizeof(p->out), 0);
        fixture_peer_drip(p, len);
        return 0;
    case P_LATE:
        len = answer(p, &q, &o, mode, p->out, sizeof(p->out), fx->late_word);
        fixture_peer_late(p, len);
        return 0;
    case P_SILENT:
        return 0;
    case P_LENGTH_0:
        (void)pl_conn_send(p->conn, length_0, sizeof(length_0));
        return 0;
    case P_LENGTH_255:
        (void)pl_conn_send(p->conn, length_255, sizeof(length_255));
        return 0;
    case P_BAD_CONTROL:
        (void)pl_conn_send(p->conn, bad_control, sizeof(bad_control));
        return 0;
    case P_STARTDT_ACT:
        send_u(p, PL_IEC104_U_STARTDT_ACT);
        return 0;
    case P_SPLIT:
        len = answer(p, &q, &o, mode, out, sizeof(out), 0);
        assert_true(T.split > 0 && T.split < len && len - T.split <= sizeof(p->out));
        (void)pl_conn_send(p->conn, out, T.split);
        memcpy(p->out, out + T.split, len - T.split);
        fixture_peer_late(p, len - T.split);
        return 0;
    case P_OVERRUN:
        len = 0;
        for (i = 0; i < OVERRUN; i++) {
            put_words(p, out, sizeof(out), &len, T.want_at, 1, PL_IEC104_COT_SPONT, 0);
            if (len > sizeof(out) - 64u || i + 1u == OVERRUN) {
                (void)pl_conn_send(p->conn, out, len);
                len = 0;
            }
        }
        len = answer(p, &q, &o, P_GOOD, out, sizeof(out), 0);
        (void)pl_conn_send(p->conn, out, len);
        return 0;
    }
    return 0;
}

static const fixture_ops_t ops = {
    .healthy_send = healthy_send,
    .frame = frame,
    .frame_limit = 0,
    .message = peer_message,
    .rx_cap = FIXTURE_RX_MAX,
    .peer_name = "scripted station",
};

/* ------------------------------------------------------------------ the client under test */

static void op_finish(op_t *op, const pl_status_t *st)
{
    assert_true(T.qn > 0 && &T.op[T.queue[T.qh]] == op);
    T.qh = (T.qh + 1u) % 8u;
    T.qn--;
    op->used = 0;
    op->r->done++;
    op->r->status = *st;
}

static void pump(void);

static void on_cmd(pl_iec104_cmd_t *cmd)
{
    op_t *op = cmd->data;

    if (op == NULL || !op->used)
        return; /* the client freed with nothing waiting */
    if (cmd->status.code != 0 || ++op->done_n == op->n) {
        op_finish(op, &cmd->status);
        pump();
        return;
    }
    pump();
}

static void issue_cmd(op_t *op)
{
    memset(&T.cmd, 0, sizeof(T.cmd));
    T.cmd.type = PL_IEC104_C_SE_NB_1;
    T.cmd.ioa = CMD_IOA + op->at + op->done_n;
    T.cmd.value = (int16_t)op->w[op->done_n];
    T.cmd.cb = on_cmd;
    T.cmd.data = op;
    assert_int_equal(pl_iec104_command(T.cli, &T.cmd), 0);
}

/* The first waiting request goes out when the connection is started and none is out. */
static void pump(void)
{
    op_t *op;

    if (T.qn == 0 || T.cli == NULL || !pl_iec104_client_started(T.cli))
        return;
    op = &T.op[T.queue[T.qh]];
    if (op->write) {
        if (!op->issued || T.cmd.data != op || op->done_n > 0) {
            op->issued = 1;
            issue_cmd(op);
        }
        return;
    }
    if (op->issued)
        return;
    op->issued = 1;
    T.want_at = op->at;
    T.want_n = (unsigned)op->n;
    assert_int_equal(pl_iec104_client_interrogate(T.cli), 0);
}

static void on_data(pl_iec104_client_t *c, const pl_iec104_point_t *pt, void *ud)
{
    op_t *op;

    (void)c, (void)ud;
    if (pt->cause == PL_IEC104_COT_SPONT)
        T.spont_seen++;
    if (T.qn == 0 || pt->cause != PL_IEC104_COT_INROGEN)
        return;
    op = &T.op[T.queue[T.qh]];
    if (!op->write && op->issued && pt->ioa >= MON_IOA + op->at &&
        pt->ioa < MON_IOA + op->at + op->n)
        op->w[pt->ioa - MON_IOA - op->at] = (uint16_t)pt->raw;
}

static void on_link(pl_iec104_client_t *c, pl_iec104_link_t what, const pl_status_t *why, void *ud)
{
    pl_status_t st;
    op_t *op;

    (void)ud;
    switch (what) {
    case PL_IEC104_LINK_STARTED:
        T.conn_started = 1;
        T.attempt_fails = 0;
        fixture_link(&F, NULL);
        pump();
        return;
    case PL_IEC104_LINK_GI_DONE:
        if (T.qn > 0) {
            op = &T.op[T.queue[T.qh]];
            if (!op->write && op->issued) {
                op_finish(op, why);
                pump();
            }
        }
        return;
    case PL_IEC104_LINK_DOWN:
        pl_status_clear(&st);
        if (why != NULL)
            st = *why;
        if (st.code == 0)
            pl_status_set(&st, PL_EIO, 0, "connection closed");
        fixture_link(&F, &st);
        if (T.qn > 0) { /* an interrogation out is void (a command is answered by the client) */
            op = &T.op[T.queue[T.qh]];
            if (!op->write && op->issued)
                op_finish(op, &st);
        }
        if (!T.conn_started && ++T.attempt_fails >= pl_line_host_count(pl_iec104_client_line(c))) {
            /* every host was tried: the waiting requests get the reason */
            T.attempt_fails = 0;
            while (T.qn > 0 && !T.op[T.queue[T.qh]].issued)
                op_finish(&T.op[T.queue[T.qh]], &st);
        }
        T.conn_started = 0;
        return;
    case PL_IEC104_LINK_SWITCH: /* parallel redundancy only: these tests have no backup */
        fail_msg("a switchover on a line without a backup");
        return;
    }
}

static void client_config(pl_iec104_client_config_t *cfg, const char *hosts, uint16_t port,
                          unsigned timeout_ms)
{
    pl_iec104_client_config_init(cfg);
    assert_int_equal(pl_hostlist_parse(&cfg->line.hosts, hosts, strlen(hosts), NULL), 0);
    cfg->line.port = port;
    cfg->line.backoff_min_ms = 5;
    cfg->line.backoff_max_ms = 20;
    cfg->ca = CA;
    cfg->t1_ms = timeout_ms;
    cfg->t2_ms = timeout_ms / 2u;
    cfg->t3_ms = T.t3_ms != 0 ? T.t3_ms : 60000;
    cfg->timeout_ms = 3u * timeout_ms + 1000u; /* commands: t1 decides first */
    cfg->no_gi = 1;
}

static void cut_free(void)
{
    if (T.cli != NULL)
        pl_iec104_client_free(T.cli);
    T.cli = NULL;
    T.qn = 0;
    T.conn_started = 0;
    T.attempt_fails = 0;
    memset(T.op, 0, sizeof(T.op));
}

/* A new client under test (T.cli) for `hosts` (port `port`), t1 = `timeout_ms`. */
static void cut_new(const char *hosts, uint16_t port, unsigned timeout_ms)
{
    pl_iec104_client_config_t cfg;

    cut_free();
    client_config(&cfg, hosts, port, timeout_ms);
    cfg.on_data = on_data;
    cfg.on_link = on_link;
    assert_int_equal(pl_iec104_client_new(&F.loop, &cfg, &T.cli), 0);
    assert_int_equal(pl_iec104_client_start(T.cli), 0);
}

static pl_iec104_server_t *sim_make(uint16_t port, const pl_logger_t *log)
{
    pl_iec104_server_config_t scfg;
    pl_iec104_server_t *s;
    pl_status_t st;

    pl_iec104_server_config_init(&scfg);
    scfg.listen.port = port;
    scfg.points = SIM_POINTS;
    scfg.grouping = PL_IEC104_GROUP_PER_CONNECTION;
    scfg.log = log;
    assert_int_equal(pl_iec104_server_new(&F.loop, &scfg, &s, &st), 0);
    return s;
}

/* Starts the loop, the scripted station, the healthy device (its client writing and
 * reading back), and the client under test (talking to the scripted station). */
static void fx_start(unsigned timeout_ms, const fault_sim_opts_t *o)
{
    pl_iec104_server_config_t scfg;
    pl_iec104_client_config_t ccfg;
    pl_status_t st;
    unsigned i;

    memset(&T, 0, sizeof(T));
    fixture_init(&F, &ops);
    pl_iec104_server_config_init(&scfg);
    scfg.listen.port = 0;
    scfg.listen.max_output = o->max_output;
    scfg.listen.frame_timeout_ms = o->frame_timeout_ms;
    scfg.points = SIM_POINTS;
    scfg.grouping = PL_IEC104_GROUP_PER_CONNECTION; /* raw clients start their own */
    scfg.log = &F.log;
    assert_int_equal(pl_iec104_server_new(&F.loop, &scfg, &T.good, &st), 0);
    client_config(&ccfg, "127.0.0.1", pl_iec104_server_port(T.good), 2000);
    assert_int_equal(pl_iec104_client_new(&F.loop, &ccfg, &T.hcli), 0);
    assert_int_equal(pl_iec104_client_start(T.hcli), 0);
    uv_timer_init(&F.loop, &T.hread);
    fixture_healthy_start(&F);
    for (i = 0; i < PEER_WORDS; i++)
        T.mem[i] = (uint16_t)(0x1000u + i);
    cut_new("127.0.0.1", F.port, timeout_ms);
}

static void fx_stop(void)
{
    fixture_healthy_stop(&F);
    cut_free();
    pl_iec104_client_free(T.hcli);
    uv_close((uv_handle_t *)&T.hread, NULL);
    pl_iec104_server_free(T.good);
    fixture_close(&F);
}

/* ------------------------------------------------------------------ hooks of the suite */

static void submit(int slot, int write, unsigned at, uint16_t *w, size_t n, fixture_result_t *r)
{
    op_t *op = &T.op[slot];

    assert_false(op->used);
    assert_true(T.qn < 8u);
    memset(r, 0, sizeof(*r));
    memset(op, 0, sizeof(*op));
    op->used = 1;
    op->write = write;
    op->at = at;
    op->n = (unsigned)n;
    op->w = w;
    op->r = r;
    T.queue[(T.qh + T.qn) % 8u] = slot;
    T.qn++;
    pump();
}

static const pl_line_t *cut_line(void)
{
    return pl_iec104_client_line(T.cli);
}

static uint64_t cut_timeouts(void)
{
    return pl_iec104_client_stats(T.cli)->t1_expired;
}

static uint16_t peer_word(unsigned at)
{
    return T.mem[at];
}

static void *sim(void)
{
    return T.good;
}

static void *sim_new(uint16_t port)
{
    return sim_make(port, NULL);
}

static void sim_free(void *s)
{
    pl_iec104_server_free(s);
}

static uint16_t sim_port(void *s)
{
    return pl_iec104_server_port(s);
}

static void sim_set_word(void *s, unsigned at, uint16_t v)
{
    assert_int_equal(pl_iec104_server_set_point(s, MON_IOA + at, (int16_t)v), 0);
}

static uint16_t sim_word(void *s, unsigned at)
{
    double v = 0;

    assert_int_equal(pl_iec104_server_point(s, CMD_IOA + at, NULL, &v), 0);
    return (uint16_t)(int16_t)v;
}

static const uint64_t *sim_connections(void *s)
{
    return &pl_iec104_server_stats(s)->connections;
}

static uint64_t sim_bad_frames(void *s)
{
    return pl_iec104_server_stats(s)->bad_frames;
}

static size_t sim_conns(void *s)
{
    return pl_iec104_server_conn_count(s);
}

typedef struct {
    uint32_t ioa;
    uint16_t word;
    int seen;
    fixture_result_t r;
} fresh_t;

static void fresh_data(pl_iec104_client_t *c, const pl_iec104_point_t *pt, void *ud)
{
    fresh_t *f = ud;

    (void)c;
    if (pt->ioa == f->ioa) {
        f->word = (uint16_t)pt->raw;
        f->seen++;
    }
}

static void fresh_link(pl_iec104_client_t *c, pl_iec104_link_t what, const pl_status_t *why,
                       void *ud)
{
    fresh_t *f = ud;

    (void)c;
    if (what == PL_IEC104_LINK_GI_DONE && f->r.done == 0) {
        f->r.done = 1;
        f->r.status = *why;
    }
}

/* A client of its own interrogates `s`: word `at` as the answer carried it. */
static uint16_t sim_read_fresh(void *s, unsigned at)
{
    pl_iec104_client_config_t cfg;
    pl_iec104_client_t *c;
    fresh_t f;

    memset(&f, 0, sizeof(f));
    f.ioa = MON_IOA + at;
    client_config(&cfg, "127.0.0.1", pl_iec104_server_port(s), 2000);
    cfg.no_gi = 0;
    cfg.on_data = fresh_data;
    cfg.on_link = fresh_link;
    cfg.ud = &f;
    assert_int_equal(pl_iec104_client_new(&F.loop, &cfg, &c), 0);
    assert_int_equal(pl_iec104_client_start(c), 0);
    fixture_wait(&F, &f.r);
    assert_int_equal(f.r.status.code, 0);
    assert_int_equal(f.seen, 1);
    pl_iec104_client_free(c);
    return f.word;
}

/* The greeting: an S-frame acknowledging nothing, then STARTDT act (12 octets, so that a
 * part of it that stops inside STARTDT leaves the station silent). */
static size_t raw_hello(uint8_t *out, size_t cap)
{
    assert_true(cap >= 2u * PL_IEC104_APCI_LEN);
    T.raw_ns = 0;
    assert_int_equal(pl_iec104_encode_s(out, cap, 0), (int)PL_IEC104_APCI_LEN);
    assert_int_equal(pl_iec104_encode_u(out + PL_IEC104_APCI_LEN, cap - PL_IEC104_APCI_LEN,
                                        PL_IEC104_U_STARTDT_ACT),
                     (int)PL_IEC104_APCI_LEN);
    return 2u * PL_IEC104_APCI_LEN;
}

static uint32_t raw_hello_answer(const uint8_t *msg, size_t len)
{
    pl_iec104_apdu_t f;

    assert_int_equal(pl_iec104_decode(msg, len, &f), 0);
    assert_int_equal(f.kind, PL_IEC104_FRAME_U);
    assert_int_equal(f.func, PL_IEC104_U_STARTDT_CON);
    return 0;
}

/* A read command (C_RD_NA_1) for word `at`: the station answers that one object (cause 5);
 * the raw client's I-frames are numbered from its greeting on. */
static size_t raw_read(uint8_t *out, size_t cap, uint32_t session, uint16_t id, unsigned at,
                       unsigned words)
{
    uint8_t asdu[32];
    pl_iec104_asdu_t h;
    pl_iec104_object_t o;
    int n;

    (void)session, (void)id, (void)words;
    memset(&h, 0, sizeof(h));
    memset(&o, 0, sizeof(o));
    h.type = PL_IEC104_C_RD_NA_1;
    h.cause = PL_IEC104_COT_REQ;
    h.ca = CA;
    o.ioa = MON_IOA + at;
    n = pl_iec104_asdu_encode(asdu, sizeof(asdu), params(), &h, &o, 1, NULL);
    assert_true(n > 0);
    n = pl_iec104_encode_i(out, cap, T.raw_ns, 0, asdu, (size_t)n);
    assert_true(n > 0);
    T.raw_ns = pl_iec104_seq_add(T.raw_ns, 1);
    return (size_t)n;
}

static uint16_t raw_answer_word(const uint8_t *msg, size_t len)
{
    pl_iec104_apdu_t f;
    pl_iec104_asdu_t a;
    pl_iec104_object_t o;

    assert_int_equal(pl_iec104_decode(msg, len, &f), 0);
    assert_int_equal(f.kind, PL_IEC104_FRAME_I);
    assert_int_equal(pl_iec104_asdu_decode(f.asdu, f.asdu_len, params(), &a), 0);
    assert_int_equal(a.type, PL_IEC104_M_ME_NB_1);
    assert_int_equal(a.cause, PL_IEC104_COT_REQ);
    assert_int_equal(pl_iec104_asdu_object(&a, 0, &o), 0);
    return (uint16_t)o.v.sva;
}

static size_t raw_huge(uint8_t *out, size_t cap)
{
    static const uint8_t huge[2] = {PL_IEC104_START, 0xFF};

    assert_true(cap >= sizeof(huge));
    memcpy(out, huge, sizeof(huge));
    return sizeof(huge);
}

static const char *not_applicable(const char *name)
{
    if (strcmp(name, "server_client_never_reads") == 0)
        return "the k window bounds what the station sends to a client that never "
               "acknowledges, and more than 64 answers waiting close the connection "
               "(test_iec104_server)";
    return NULL;
}

/* ------------------------------------------------------------------ IEC 104's own */

static int peer_acked_all(void *ctx)
{
    (void)ctx;
    return T.peer_nr == (uint16_t)T.peer_sent;
}

/* The station sends 3k + 1 spontaneous I-frames at once before its answer, never waiting
 * for an acknowledgement (it overruns the k window): the client takes every one in order,
 * acknowledges them all (every w, the rest after t2) and keeps the connection. */
static void test_iec104_client_window_overrun(void **state)
{
    static const fault_sim_opts_t o = {0, 0};
    fixture_result_t r;
    uint16_t w[4];

    (void)state;
    fx_start(400, &o);
    F.mode = P_OVERRUN;
    F.spoil = 1;
    submit(0, 0, 20, w, 4, &r);
    fixture_wait(&F, &r);
    assert_int_equal(r.status.code, 0);
    assert_int_equal(w[0], 0x1000u + 20u);
    assert_int_equal(w[3], 0x1000u + 23u);
    assert_int_equal(T.spont_seen, OVERRUN);
    assert_int_equal(fault_run_pred(&F.loop, peer_acked_all, NULL, FIXTURE_GUARD_MS), 0);
    assert_int_equal(pl_iec104_client_stats(T.cli)->seq_errors, 0);
    assert_int_equal(F.links_up, 1);
    assert_int_equal(F.links_down, 0);
    fault_suite_expect_recovery();
    fx_stop();
}

/* The answer to an interrogation (ACT_CON, the objects, ACT_TERM: three APDUs) arrives in
 * two pieces 1 ms apart, split at every offset in turn: every read is whole, on one
 * connection. */
static void test_iec104_client_split_frames(void **state)
{
    static const fault_sim_opts_t o = {0, 0};
    fixture_result_t r;
    uint16_t w[2];
    size_t split;

    (void)state;
    fx_start(3000, &o);
    F.late_ms = 1;
    for (split = 1; split < 16u + 21u + 16u; split++) {
        F.mode = P_SPLIT;
        F.spoil = 1;
        T.split = split;
        submit(0, 0, (unsigned)split, w, 2, &r);
        fixture_wait(&F, &r);
        assert_int_equal(r.status.code, 0);
        assert_int_equal(w[0], 0x1000u + split);
        assert_int_equal(w[1], 0x1001u + split);
    }
    assert_int_equal(F.late_sent, (int)split - 1);
    assert_int_equal(F.links_up, 1);
    assert_int_equal(F.links_down, 0);
    fault_suite_expect_recovery();
    fx_stop();
}

/* The station stops answering TESTFR act: t3 after the last frame the client tests the
 * connection and drops it after t1 (PL_EIEC104_T1); it comes back once the station
 * answers again. */
static void test_iec104_client_testfr_unanswered(void **state)
{
    static const fault_sim_opts_t o = {0, 0};

    (void)state;
    fx_start(1000, &o);
    T.t3_ms = 50;
    T.ignore_testfr = 1;
    cut_new("127.0.0.1", F.port, 200);
    assert_int_equal(fault_run_count(&F.loop, &F.links_down, 1, FIXTURE_GUARD_MS), 0);
    assert_int_equal(F.last_down.code, PL_EIEC104_T1);
    assert_non_null(strstr(F.last_down.detail, "TESTFR act"));
    assert_true(pl_iec104_client_stats(T.cli)->testfr_sent >= 1);
    assert_int_equal(pl_iec104_client_stats(T.cli)->t1_expired, 1);
    T.ignore_testfr = 0;
    fault_suite_expect_recovery();
    fx_stop();
}

/* A station that never confirms STARTDT act: no connection is ever started, t1 drops each
 * one (PL_EIEC104_T1), and the waiting read and write fail with that reason, once each;
 * once the station confirms, both work. */
static void test_iec104_client_no_startdt_con(void **state)
{
    static const fault_sim_opts_t o = {0, 0};
    static uint16_t v[1] = {0x2222};
    fixture_result_t r[2];
    uint16_t w[2];

    (void)state;
    fx_start(1000, &o);
    T.no_startdt_con = 1;
    cut_new("127.0.0.1", F.port, 150);
    submit(0, 0, 0, w, 2, &r[0]);
    submit(1, 1, 60, v, 1, &r[1]);
    fixture_wait_all(&F, r, 2);
    assert_int_equal(r[0].status.code, PL_EIEC104_T1);
    assert_int_equal(r[1].status.code, PL_EIEC104_T1);
    assert_non_null(strstr(r[0].status.detail, "STARTDT act"));
    assert_int_equal(F.links_up, 0);
    assert_int_equal(F.requests, 0);
    assert_int_equal(T.mem[60], 0x1000u + 60u);
    T.no_startdt_con = 0; /* from the next connection on */
    assert_int_equal(fault_run_count(&F.loop, &F.links_up, 1, FIXTURE_GUARD_MS), 0);
    fault_suite_expect_recovery();
    fx_stop();
}

/* IEC 104's malformed answers: each closes the connection at once with its reason. */
static const fault_spoil_t spoils[] = {
    {"test_iec104_client_wrong_ns", P_WRONG_NS, PL_EIEC104_SEQ},
    {"test_iec104_client_wrong_nr", P_WRONG_NR, PL_EIEC104_ACK},
    {"test_iec104_client_length_0", P_LENGTH_0, PL_EIEC104_LENGTH},
    {"test_iec104_client_length_255", P_LENGTH_255, PL_EIEC104_LENGTH},
    {"test_iec104_client_bad_control", P_BAD_CONTROL, PL_EIEC104_CONTROL},
    {"test_iec104_client_startdt_from_station", P_STARTDT_ACT, PL_EIEC104_UNEXPECTED},
};

static const fault_proto_t proto = {
    .name = "iec104",
    .fx = &F,
    .code_close_mid = PL_ERECV_00,
    .code_garbage = PL_EIEC104_START,
    .code_timeout = PL_EIEC104_T1,
    .code_connect = PL_ECONNECT,
    .spoils = spoils,
    .n_spoils = sizeof(spoils) / sizeof(spoils[0]),
    .start = fx_start,
    .stop = fx_stop,
    .cut_new = cut_new,
    .cut_free = cut_free,
    .cut_line = cut_line,
    .cut_timeouts = cut_timeouts,
    .submit = submit,
    .peer_word = peer_word,
    .peer_sessions = NULL,
    .sim = sim,
    .sim_new = sim_new,
    .sim_free = sim_free,
    .sim_port = sim_port,
    .sim_set_word = sim_set_word,
    .sim_word = sim_word,
    .sim_connections = sim_connections,
    .sim_bad_frames = sim_bad_frames,
    .sim_conns = sim_conns,
    .sim_read_fresh = sim_read_fresh,
    .raw_hello = raw_hello,
    .raw_hello_answer = raw_hello_answer,
    .raw_read = raw_read,
    .raw_answer_word = raw_answer_word,
    .raw_huge = raw_huge,
    .raw_read_max = 1,
    .not_applicable = not_applicable,
};

int main(void)
{
    static const struct CMUnitTest own[] = {
        cmocka_unit_test(test_iec104_client_window_overrun),
        cmocka_unit_test(test_iec104_client_split_frames),
        cmocka_unit_test(test_iec104_client_testfr_unanswered),
        cmocka_unit_test(test_iec104_client_no_startdt_con),
    };

    return fault_suite_run(&proto, own, sizeof(own) / sizeof(own[0]));
}
