/* SPDX-License-Identifier: MIT */
/*
 * Hostile partners (issue: a value never published, ids cut, logs a partner can flood,
 * silent partners on every slot): the log lines a partner can cause are rate-limited (a
 * 7TTCP node flooding unsolicited frames, a 7TTCP client asking for nodes that are not
 * served, a PCCC client sending SendUnitData for connections that do not exist), the
 * unsolicited frames are counted in the engine's device statistics, and the simulators
 * close partners that send nothing so that they cannot hold every `max_conns` slot.
 *
 * One loop, loopback, ports read back; nothing sleeps: the loop runs until a condition
 * holds, under a guard timer; every test closes everything and asserts uv_loop_close() ==
 * 0. Log lines are counted by what they say, not by their timing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto/pccc/codec/enip.h"
#include "proto/ttcp/codec/ttcp.h"
#include "faults.h"
#include "plcline/engine.h"
#include "plcline/error.h"
#include "plcline/pccc.h"
#include "plcline/ttcp.h"

#define GUARD_MS 10000u

/* --- a logger that counts lines containing a word ------------------------------------- */

typedef struct {
    const char *word; /* lines that contain it are counted */
    unsigned lines, counts;
    char last[512];
} logcount_t;

static void count_cb(void *ud, pl_log_level_t level, const char *msg)
{
    logcount_t *lc = ud;

    (void)level;
    if (strstr(msg, lc->word) == NULL)
        return;
    lc->lines++;
    if (strstr(msg, " more in the last ") != NULL)
        lc->counts++;
    snprintf(lc->last, sizeof(lc->last), "%s", msg);
}

static void logger_init(pl_logger_t *log, logcount_t *lc, const char *word)
{
    memset(lc, 0, sizeof(*lc));
    lc->word = word;
    memset(log, 0, sizeof(*log));
    log->cb = count_cb;
    log->ud = lc;
    log->level = PL_LOG_DEBUG;
}

static int raw_done(void *ctx)
{
    return fault_raw_done(ctx);
}

/* --- 7TTCP: unsolicited frames from the node ---------------------------------------------- */

static void on_link(pl_ttcp_client_t *c, const pl_status_t *status, void *ud)
{
    (void)c;
    *(int *)ud = status == NULL ? 1 : 0;
}

typedef struct {
    const pl_ttcp_client_t *cli;
    uint64_t want;
} unsol_wait_t;

static int unsolicited_reached(void *ctx)
{
    const unsol_wait_t *w = ctx;

    return pl_ttcp_client_stats(w->cli)->unsolicited >= w->want;
}

/* Before: one "no handler" line per frame (450 MB of log in 6 s). Now: the first
 * PL_LOG_BURST lines, then a count; every frame is still counted in the statistics. */
static void test_ttcp_unsolicited_flood_is_rate_limited(void **state)
{
    enum { FRAMES = 3000 };
    pl_ttcp_server_config_t sc;
    pl_ttcp_client_config_t cc;
    pl_ttcp_server_t *srv;
    pl_ttcp_client_t *cli;
    pl_logger_t log;
    logcount_t lc;
    unsol_wait_t w;
    uv_loop_t loop;
    int up = 0, i;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    pl_ttcp_server_config_init(&sc);
    sc.listen.port = 0;
    assert_int_equal(pl_ttcp_server_new(&loop, &sc, &srv, NULL), 0);
    logger_init(&log, &lc, "unsolicited");
    pl_ttcp_client_config_init(&cc);
    assert_int_equal(pl_hostlist_parse(&cc.line.hosts, "127.0.0.1", 9, NULL), 0);
    cc.line.port = pl_ttcp_server_port(srv);
    cc.keepalive_ms = 0;
    cc.on_link = on_link;
    cc.ud = &up;
    cc.log = &log;
    assert_int_equal(pl_ttcp_client_new(&loop, &cc, &cli), 0);
    assert_int_equal(pl_ttcp_client_start(cli), 0);
    assert_int_equal(fault_run_until(&loop, &up, GUARD_MS), 0);
    for (i = 0; i < FRAMES; i++) { /* in rounds, so that the output limit is never reached */
        assert_int_equal(pl_ttcp_server_push(srv, 0, (uint32_t)i % 100u, 4), 1);
        if (i % 200 == 199) {
            w.cli = cli;
            w.want = (uint64_t)i + 1u;
            assert_int_equal(fault_run_pred(&loop, unsolicited_reached, &w, GUARD_MS), 0);
        }
    }
    w.cli = cli;
    w.want = FRAMES;
    assert_int_equal(fault_run_pred(&loop, unsolicited_reached, &w, GUARD_MS), 0);
    assert_int_equal(pl_ttcp_client_stats(cli)->unsolicited, FRAMES);
    assert_int_equal(lc.lines, PL_LOG_BURST); /* the first few in full */
    assert_int_equal(lc.counts, 0);
    pl_ttcp_client_free(cli); /* the count not yet logged comes out here */
    assert_int_equal(lc.lines, PL_LOG_BURST + 1);
    assert_int_equal(lc.counts, 1);
    assert_non_null(strstr(lc.last, "... 2995 more in the last"));
    pl_ttcp_server_free(srv);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* --- the engine counts them per device ------------------------------------------------------ */

typedef struct {
    pl_engine_t *e;
    uint64_t want;
    int good;
} eng_wait_t;

static void on_change(pl_engine_t *e, const pl_tag_state_t *st, void *ud)
{
    (void)e;
    if (st->quality == PL_Q_GOOD)
        ((eng_wait_t *)ud)->good = 1;
}

static int engine_unsolicited(void *ctx)
{
    eng_wait_t *w = ctx;
    pl_engine_stats_t st;

    return pl_engine_device_stats(w->e, "dev", &st) == 0 && st.unsolicited >= w->want;
}

static void test_engine_counts_unsolicited_frames(void **state)
{
    pl_engine_cbs_t cbs = {.on_change = on_change};
    pl_ttcp_server_config_t sc;
    pl_ttcp_server_t *srv;
    pl_line_def_t line;
    pl_device_def_t dev;
    pl_tag_def_t tag;
    pl_scan_def_t scan;
    pl_engine_config_t ec;
    pl_engine_stats_t st;
    pl_logger_t log;
    logcount_t lc;
    eng_wait_t w;
    uv_loop_t loop;
    int i;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    pl_ttcp_server_config_init(&sc);
    sc.listen.port = 0;
    assert_int_equal(pl_ttcp_server_new(&loop, &sc, &srv, NULL), 0);
    memset(&line, 0, sizeof(line));
    snprintf(line.name, sizeof(line.name), "l");
    snprintf(line.protocol, sizeof(line.protocol), "7ttcp");
    pl_line_config_init(&line.line);
    assert_int_equal(pl_hostlist_parse(&line.line.hosts, "127.0.0.1", 9, NULL), 0);
    line.line.port = pl_ttcp_server_port(srv);
    memset(&dev, 0, sizeof(dev));
    snprintf(dev.name, sizeof(dev.name), "dev");
    snprintf(dev.line, sizeof(dev.line), "l");
    memset(&tag, 0, sizeof(tag));
    tag.name = "t";
    tag.device = "dev";
    tag.address = "W0";
    tag.scan = "s";
    memset(&scan, 0, sizeof(scan));
    snprintf(scan.name, sizeof(scan.name), "s");
    scan.period_ms = 50;
    logger_init(&log, &lc, "unsolicited");
    memset(&ec, 0, sizeof(ec));
    ec.lines = &line;
    ec.nlines = 1;
    ec.devices = &dev;
    ec.ndevices = 1;
    ec.tags = &tag;
    ec.ntags = 1;
    ec.scans = &scan;
    ec.nscans = 1;
    ec.log = &log;
    memset(&w, 0, sizeof(w));
    assert_int_equal(pl_engine_new(&loop, &ec, &cbs, &w, &w.e, NULL), 0);
    assert_int_equal(pl_engine_start(w.e), 0);
    assert_int_equal(fault_run_until(&loop, &w.good, GUARD_MS), 0);
    for (i = 0; i < 100; i++)
        assert_int_equal(pl_ttcp_server_push(srv, 0, 500, 2), 1);
    w.want = 100;
    assert_int_equal(fault_run_pred(&loop, engine_unsolicited, &w, GUARD_MS), 0);
    assert_int_equal(pl_engine_device_stats(w.e, "dev", &st), 0);
    assert_int_equal(st.unsolicited, 100);
    assert_int_equal(pl_engine_line_stats(w.e, "l", &st), 0);
    assert_int_equal(st.unsolicited, 100);
    assert_true(lc.lines <= PL_LOG_BURST);
    pl_engine_stop(w.e, NULL);
    pl_engine_free(w.e);
    pl_ttcp_server_free(srv);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* --- simulators: requests they cannot serve ------------------------------------------------- */

typedef struct {
    const uint64_t *counter;
    uint64_t want;
} ctr_wait_t;

static int counter_reached(void *ctx)
{
    const ctr_wait_t *w = ctx;

    return *w->counter >= w->want;
}

/* Before: one warning per request for a node that is not served, even with -q (330-450 MB
 * of log in 3 s). Now: PL_LOG_BURST lines (one with burst 1, as `-q` sets), then counts. */
static void ttcp_not_served_flood(unsigned burst, unsigned want_lines)
{
    enum { REQUESTS = 2000 };
    uint8_t frame[64], batch[100 * 64];
    pl_ttcp_server_config_t sc;
    pl_ttcp_server_t *srv;
    pl_logger_t log;
    logcount_t lc;
    fault_raw_t raw;
    ctr_wait_t w;
    uv_loop_t loop;
    size_t blen = 0;
    int n, i;

    assert_int_equal(uv_loop_init(&loop), 0);
    logger_init(&log, &lc, "not served");
    log.burst = burst;
    pl_ttcp_server_config_init(&sc);
    sc.listen.port = 0;
    sc.log = &log;
    assert_int_equal(pl_ttcp_server_new(&loop, &sc, &srv, NULL), 0);
    n = pl_ttcp_encode(frame, sizeof(frame), PL_TTCP_OP_DATA, 99, 0, PL_TTCP_TYPE_READ, 1, NULL);
    assert_true(n > 0);
    for (i = 0; i < 100; i++) {
        memcpy(batch + blen, frame, (size_t)n);
        blen += (size_t)n;
    }
    memset(&raw, 0, sizeof(raw));
    assert_int_equal(fault_raw_connect(&loop, &raw, pl_ttcp_server_port(srv), 1), 0);
    assert_int_equal(fault_run_until(&loop, &raw.connected, GUARD_MS), 0);
    for (i = 0; i < REQUESTS / 100; i++)
        assert_int_equal(fault_raw_write(&raw, batch, blen), 0);
    w.counter = &pl_ttcp_server_stats(srv)->ignored;
    w.want = REQUESTS;
    assert_int_equal(fault_run_pred(&loop, counter_reached, &w, GUARD_MS), 0);
    assert_int_equal(lc.lines, want_lines);
    fault_raw_close(&raw, 0);
    assert_int_equal(fault_run_pred(&loop, raw_done, &raw, GUARD_MS), 0);
    pl_ttcp_server_free(srv); /* the count not yet logged */
    assert_int_equal(lc.lines, want_lines + 1);
    assert_int_equal(lc.counts, 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_ttcp_server_not_served_flood_is_rate_limited(void **state)
{
    (void)state;
    ttcp_not_served_flood(0, PL_LOG_BURST);
    ttcp_not_served_flood(1, 1); /* -q */
}

static int register_reply_in(void *ctx)
{
    return ((const fault_raw_t *)ctx)->rx_len >= PL_ENIP_HEADER_LEN + 4u;
}

/* RegisterSession on `raw`; returns the session handle. */
static uint32_t pccc_register(uv_loop_t *loop, fault_raw_t *raw)
{
    uint8_t reg[4], buf[64];
    pl_enip_msg_t m;
    int n;

    assert_int_equal(pl_enip_register_encode(reg, sizeof(reg), 1, 0), 4);
    memset(&m, 0, sizeof(m));
    m.command = PL_ENIP_CMD_REGISTER_SESSION;
    m.length = 4;
    m.data = reg;
    m.data_len = 4;
    n = pl_enip_encode(buf, sizeof(buf), &m);
    assert_true(n > 0);
    assert_int_equal(fault_raw_write(raw, buf, (size_t)n), 0);
    assert_int_equal(fault_run_pred(loop, register_reply_in, raw, GUARD_MS), 0);
    assert_int_equal(pl_enip_decode(raw->rx, raw->rx_len, &m), 0);
    assert_int_equal(m.status, 0);
    assert_int_not_equal(m.session, 0);
    return m.session;
}

/* Before: one warning per SendUnitData for an unknown connection. */
static void test_pccc_server_unknown_connection_flood_is_rate_limited(void **state)
{
    enum { FRAMES = 1000 };
    uint8_t frame[128], batch[100 * 128];
    pl_pccc_server_config_t sc;
    pl_pccc_server_t *srv;
    pl_enip_cip_t f;
    pl_logger_t log;
    logcount_t lc;
    fault_raw_t raw;
    ctr_wait_t w;
    uv_loop_t loop;
    size_t blen = 0;
    int n, i;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    logger_init(&log, &lc, "unknown connection");
    pl_pccc_server_config_init(&sc);
    sc.listen.port = 0;
    sc.log = &log;
    assert_int_equal(pl_pccc_server_new(&loop, &sc, &srv, NULL), 0);
    memset(&raw, 0, sizeof(raw));
    assert_int_equal(fault_raw_connect(&loop, &raw, pl_pccc_server_port(srv), 1), 0);
    assert_int_equal(fault_run_until(&loop, &raw.connected, GUARD_MS), 0);
    memset(&f, 0, sizeof(f));
    f.connected = 1;
    f.session = pccc_register(&loop, &raw);
    f.conn_id = 0xDEAD0001u;
    memset(frame, 0, sizeof(frame));
    frame[PL_ENIP_CIP_CONNECTED_LEN] = 0x4B; /* any CIP bytes: the connection is unknown */
    frame[PL_ENIP_CIP_CONNECTED_LEN + 1] = 0x02;
    n = pl_enip_cip_frame(frame, sizeof(frame), &f, 2);
    assert_true(n > 0);
    for (i = 0; i < 100; i++) {
        memcpy(batch + blen, frame, (size_t)n);
        blen += (size_t)n;
    }
    for (i = 0; i < FRAMES / 100; i++)
        assert_int_equal(fault_raw_write(&raw, batch, blen), 0);
    w.counter = &pl_pccc_server_stats(srv)->errors_sent;
    w.want = FRAMES;
    assert_int_equal(fault_run_pred(&loop, counter_reached, &w, GUARD_MS), 0);
    assert_int_equal(lc.lines, PL_LOG_BURST);
    fault_raw_close(&raw, 0);
    assert_int_equal(fault_run_pred(&loop, raw_done, &raw, GUARD_MS), 0);
    pl_pccc_server_free(srv);
    assert_int_equal(lc.lines, PL_LOG_BURST + 1);
    assert_non_null(strstr(lc.last, "... 995 more in the last"));
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* --- silent partners ------------------------------------------------------------------------ */

typedef struct {
    int done;
    pl_status_t st;
} rd_t;

static void read_done(pl_ttcp_req_t *req)
{
    rd_t *r = req->data;

    r->st = req->status;
    r->done = 1;
}

/* Five connections that send nothing held every slot of `--max-conns 5` for ever. Now each
 * is closed idle_timeout_ms after its last byte, and the next client is served. */
static void test_ttcp_server_silent_partners_lose_their_slots(void **state)
{
    enum { SLOTS = 5 };
    pl_ttcp_server_config_t sc;
    pl_ttcp_client_config_t cc;
    pl_ttcp_server_t *srv;
    pl_ttcp_client_t *cli;
    pl_ttcp_req_t req;
    fault_raw_t raw[SLOTS], late;
    ctr_wait_t w;
    uint16_t words[2];
    rd_t rd;
    uv_loop_t loop;
    int i;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    pl_ttcp_server_config_init(&sc);
    sc.listen.port = 0;
    sc.listen.max_conns = SLOTS;
    sc.idle_timeout_ms = 300;
    assert_int_equal(pl_ttcp_server_new(&loop, &sc, &srv, NULL), 0);
    memset(raw, 0, sizeof(raw));
    for (i = 0; i < SLOTS; i++) {
        assert_int_equal(fault_raw_connect(&loop, &raw[i], pl_ttcp_server_port(srv), 1), 0);
        assert_int_equal(fault_run_until(&loop, &raw[i].connected, GUARD_MS), 0);
    }
    w.counter = &pl_ttcp_server_stats(srv)->connections;
    w.want = SLOTS;
    assert_int_equal(fault_run_pred(&loop, counter_reached, &w, GUARD_MS), 0);
    assert_int_equal(pl_ttcp_server_conn_count(srv), SLOTS);
    /* a sixth is refused while they sit there */
    memset(&late, 0, sizeof(late));
    assert_int_equal(fault_raw_connect(&loop, &late, pl_ttcp_server_port(srv), 1), 0);
    assert_int_equal(fault_run_until(&loop, &late.eof, GUARD_MS), 0);
    fault_raw_close(&late, 0);
    /* the silent ones are closed; a real client then gets a slot */
    w.counter = &pl_ttcp_server_stats(srv)->idle_timeouts;
    w.want = SLOTS;
    assert_int_equal(fault_run_pred(&loop, counter_reached, &w, GUARD_MS), 0);
    for (i = 0; i < SLOTS; i++) {
        assert_int_equal(fault_run_until(&loop, &raw[i].eof, GUARD_MS), 0);
        fault_raw_close(&raw[i], 0);
    }
    assert_int_equal(pl_ttcp_server_stats(srv)->bad_frames, 0); /* idle is not a bad frame */
    pl_ttcp_client_config_init(&cc);
    assert_int_equal(pl_hostlist_parse(&cc.line.hosts, "127.0.0.1", 9, NULL), 0);
    cc.line.port = pl_ttcp_server_port(srv);
    cc.keepalive_ms = 0;
    assert_int_equal(pl_ttcp_client_new(&loop, &cc, &cli), 0);
    memset(&rd, 0, sizeof(rd));
    req.data = &rd;
    assert_int_equal(pl_ttcp_read(cli, &req, 0, 0, words, 2, read_done), 0);
    assert_int_equal(fault_run_until(&loop, &rd.done, GUARD_MS), 0);
    assert_int_equal(rd.st.code, 0);
    pl_ttcp_client_free(cli);
    for (i = 0; i < SLOTS; i++)
        assert_int_equal(fault_run_pred(&loop, raw_done, &raw[i], GUARD_MS), 0);
    assert_int_equal(fault_run_pred(&loop, raw_done, &late, GUARD_MS), 0);
    pl_ttcp_server_free(srv);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A partner that keeps talking (keep-alives) is not idle: after several idle timeouts'
 * worth of loop time it has not been closed for idleness. */
static void test_ttcp_server_talking_partner_stays(void **state)
{
    pl_ttcp_server_config_t sc;
    pl_ttcp_client_config_t cc;
    pl_ttcp_server_t *srv;
    pl_ttcp_client_t *cli;
    uv_loop_t loop;
    int up = 0;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    pl_ttcp_server_config_init(&sc);
    sc.listen.port = 0;
    sc.idle_timeout_ms = 1500;
    assert_int_equal(pl_ttcp_server_new(&loop, &sc, &srv, NULL), 0);
    pl_ttcp_client_config_init(&cc);
    assert_int_equal(pl_hostlist_parse(&cc.line.hosts, "127.0.0.1", 9, NULL), 0);
    cc.line.port = pl_ttcp_server_port(srv);
    cc.keepalive_ms = 100;
    cc.timeout_ms = 300; /* an idle client sends a keep-alive every max(these two) */
    cc.on_link = on_link;
    cc.ud = &up;
    assert_int_equal(pl_ttcp_client_new(&loop, &cc, &cli), 0);
    assert_int_equal(pl_ttcp_client_start(cli), 0);
    assert_int_equal(fault_run_until(&loop, &up, GUARD_MS), 0);
    fault_run_for(&loop, 4500);
    assert_int_equal(pl_ttcp_server_stats(srv)->idle_timeouts, 0);
    assert_true(pl_ttcp_server_stats(srv)->keepalives > 0);
    pl_ttcp_client_free(cli);
    pl_ttcp_server_free(srv);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* The PCCC simulator: a partner that registered a session (so the register deadline no
 * longer applies) and then went silent is closed by the same idle timeout. */
static void test_pccc_server_silent_session_is_closed(void **state)
{
    pl_pccc_server_config_t sc;
    pl_pccc_server_t *srv;
    fault_raw_t raw;
    ctr_wait_t w;
    uv_loop_t loop;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    pl_pccc_server_config_init(&sc);
    sc.listen.port = 0;
    sc.idle_timeout_ms = 300;
    assert_int_equal(pl_pccc_server_new(&loop, &sc, &srv, NULL), 0);
    memset(&raw, 0, sizeof(raw));
    assert_int_equal(fault_raw_connect(&loop, &raw, pl_pccc_server_port(srv), 1), 0);
    assert_int_equal(fault_run_until(&loop, &raw.connected, GUARD_MS), 0);
    (void)pccc_register(&loop, &raw);
    w.counter = &pl_pccc_server_stats(srv)->idle_timeouts;
    w.want = 1;
    assert_int_equal(fault_run_pred(&loop, counter_reached, &w, GUARD_MS), 0);
    assert_int_equal(fault_run_until(&loop, &raw.eof, GUARD_MS), 0);
    assert_int_equal(pl_pccc_server_stats(srv)->register_timeouts, 0);
    fault_raw_close(&raw, 0);
    assert_int_equal(fault_run_pred(&loop, raw_done, &raw, GUARD_MS), 0);
    pl_pccc_server_free(srv);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ttcp_unsolicited_flood_is_rate_limited),
        cmocka_unit_test(test_engine_counts_unsolicited_frames),
        cmocka_unit_test(test_ttcp_server_not_served_flood_is_rate_limited),
        cmocka_unit_test(test_pccc_server_unknown_connection_flood_is_rate_limited),
        cmocka_unit_test(test_ttcp_server_silent_partners_lose_their_slots),
        cmocka_unit_test(test_ttcp_server_talking_partner_stays),
        cmocka_unit_test(test_pccc_server_silent_session_is_closed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
