/* SPDX-License-Identifier: MIT */
/*
 * bench_pccc: the PCCC over EtherNet/IP client (pl_pccc_client_*) against the plcline PLC
 * simulator (pl_pccc_server_*, plc=slc500), each figure beside a baseline measured in the
 * same run, so the ratio says what plcline costs rather than how fast this machine is today.
 *
 *   1. one session, synchronous N7:0 reads (service 0x4B in SendRRData, inflight=1, the next
 *      read issued from the completion callback), against a blocking send/recv ping-pong of
 *      the same frame sizes: the client sends the exact bytes of one SendRRData request for
 *      N7:0 and reads the reply's byte count (TCP_NODELAY) from a blocking responder.
 *      Measured with the client and the simulator on two CPUs, as a driver and a PLC are
 *      (the target row; many short rounds, because the cross-CPU wake-up latency of a shared
 *      virtual machine drifts), and on one CPU, where 1 / rate is the CPU time of an
 *      exchange (information); the one-CPU runs are also set beside a minimal epoll client
 *      and responder (what an event loop costs by itself, apart from plcline's own work);
 *   2. the same client with inflight=4 (four reads outstanding, each re-issued from its
 *      callback) against the synchronous client, measured on one CPU (client and simulator
 *      pinned together) and on two CPUs (pinned apart): on one CPU pipelining can only save
 *      system calls and context switches; on two it also lets the client and the simulator
 *      work at the same time, which is what keeping requests outstanding is for;
 *   3. the same client with inflight=4 against a simulator that serves one request at a
 *      time (max_inflight 1: it closes the connection on a second request in flight, as
 *      strict targets do), against the synchronous client on the same kind of simulator:
 *      the client must fall back to one request in flight by itself, lose no request and
 *      keep at least 0.9 of the synchronous rate (one CPU).
 *
 * Arranged as bench_ttcp (docs/bench.md): every server runs in a forked child that reports
 * its kernel-picked port through a pipe, stops when the parent closes a control pipe and
 * ends by itself (alarm) after a minute; rounds alternate figure and baseline(s) in a
 * rotated order; on one CPU a round whose processes got less than 90 % of it is run again;
 * medians are reported. Output: one markdown row per figure on stdout ("| benchmark |
 * figure | baseline | ratio | target | met |"), or JSON with --json; per-round numbers on
 * stderr. It measures and reports, and never fails because a target is missed. Every loop
 * is bounded; only 127.0.0.1 and kernel-picked ports are used; only the children this
 * program forked are signalled, by pid.
 */
#include "bench_support.h"
#include "proto/pccc/codec/cip.h"
#include "proto/pccc/codec/enip.h"
#include "proto/pccc/codec/pccc.h"
#include "plcline/error.h"
#include "plcline/hostlist.h"
#include "plcline/line.h"
#include "plcline/pccc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define FRAME_CAP      BENCH_FRAME_MAX /* one request or reply frame of this bench, with room */
#define BENCH_VENDOR   0x1337u         /* the client's default requestor vendor (docs/pccc.md) */
#define BENCH_SERIAL   0x4C434C50u     /* requestor serial set in the client and the frames */
#define BENCH_TNS      1u              /* TNS of the baseline frames (any value: same size) */
#define READ_ADDR      "N7:0"          /* one integer: 2 data bytes */
#define READ_BYTES     2u
#define PIPE_DEPTH     4u    /* figure 2: reads outstanding */
#define MAX_SECONDS    30.0  /* --seconds, --split-seconds at most */
#define REQ_TIMEOUT_MS 2000u /* plcline request timeout during the runs */

/* --- the frames of the baselines ---------------------------------------------------------- */

/* One SendRRData request for N7:0 as the client builds it (send_chunk in pccc_client.c:
 * SLC protected typed logical read 0x0F/0xA2 of 2 bytes, 0x4B requestor ID, CIP request to
 * the PCCC object, unconnected CPF, SendRRData with timeout 0) and the simulator's reply. The
 * session handle is the simulator's first; its value does not change the size. The plcline
 * runs check their byte counts against these lengths (frames_check). */
static uint8_t g_req[FRAME_CAP], g_resp[FRAME_CAP];
static size_t g_req_len, g_resp_len;
static bench_frames_t g_frames; /* the two above, for bench_pingpong.h */

static int wrap_cip_rr(uint8_t *out, size_t cap, const uint8_t *pccc, size_t pccc_len, int reply)
{
    pl_pccc_wrap_t w;
    pl_cip_req_t q;
    pl_enip_msg_t m;
    uint8_t wrap[FRAME_CAP], cip[FRAME_CAP], cpf[FRAME_CAP], rr[FRAME_CAP], path[8];
    int n, plen;

    memset(&w, 0, sizeof(w));
    w.service = PL_PCCC_SVC_EXECUTE;
    w.length = PL_PCCC_REQUESTOR_LEN;
    w.vendor = BENCH_VENDOR;
    w.serial = BENCH_SERIAL;
    w.pccc = pccc;
    w.pccc_len = pccc_len;
    n = pl_pccc_wrap_encode(wrap, sizeof(wrap), &w);
    if (n < 0)
        return n;
    if (reply) {
        n = pl_cip_rsp_encode(cip, sizeof(cip), PL_PCCC_SVC_EXECUTE, 0, NULL, 0, wrap, (size_t)n);
    } else {
        plen = pl_cip_path_encode(path, sizeof(path), PL_PCCC_CLASS, PL_PCCC_INSTANCE);
        if (plen < 0)
            return plen;
        memset(&q, 0, sizeof(q));
        q.service = PL_PCCC_SVC_EXECUTE;
        q.path = path;
        q.path_len = (size_t)plen;
        q.data = wrap;
        q.data_len = (size_t)n;
        n = pl_cip_req_encode(cip, sizeof(cip), &q);
    }
    if (n < 0)
        return n;
    n = pl_cpf_encode_unconnected(cpf, sizeof(cpf), cip, (size_t)n);
    if (n < 0)
        return n;
    n = pl_enip_rr_encode(rr, sizeof(rr), 0, cpf, (size_t)n);
    if (n < 0)
        return n;
    memset(&m, 0, sizeof(m));
    m.command = PL_ENIP_CMD_SEND_RR_DATA;
    m.session = 0x0C0A0001u;
    m.context[0] = (uint8_t)BENCH_TNS;
    m.data = rr;
    m.data_len = (size_t)n;
    return pl_enip_encode(out, cap, &m);
}

static int frames_init(void)
{
    static const uint8_t word[READ_BYTES] = {0, 0};
    pl_pccc_request_t q;
    uint8_t pccc[FRAME_CAP];
    int n;

    pl_pccc_request_init(&q, PL_PCCC_OP_SLC_READ, BENCH_TNS);
    q.slc.size = READ_BYTES;
    q.slc.file = 7;
    q.slc.type = PL_PCCC_FT_INTEGER;
    n = pl_pccc_request_encode(pccc, sizeof(pccc), &q);
    if (n < 0 || (n = wrap_cip_rr(g_req, sizeof(g_req), pccc, (size_t)n, 0)) < 0)
        return -1;
    g_req_len = (size_t)n;
    n = pl_pccc_reply_encode(pccc, sizeof(pccc), q.cmd, BENCH_TNS, 0, 0, word, sizeof(word));
    if (n < 0 || (n = wrap_cip_rr(g_resp, sizeof(g_resp), pccc, (size_t)n, 1)) < 0)
        return -1;
    g_resp_len = (size_t)n;
    g_frames.req = g_req;
    g_frames.req_len = g_req_len;
    g_frames.resp = g_resp;
    g_frames.resp_len = g_resp_len;
    return 0;
}

/* --- the plcline simulator, in a child process (bench_child.h) ---------------------------- */

static void stop_plcline(void *data)
{
    pl_pccc_server_t **srv = data;

    if (*srv != NULL)
        pl_pccc_server_free(*srv);
    *srv = NULL;
}

/* The plcline PLC simulator, plc=slc500, default data table (bench_serve_fn); `arg` NULL or
 * the max_inflight to serve with. */
static int serve_plcline(void *arg, int ctl, int report)
{
    const unsigned *max_inflight = arg;
    pl_pccc_server_config_t cfg;
    pl_pccc_server_t *srv = NULL;
    pl_status_t err;
    uv_loop_t loop;
    uint16_t port = 0;

    if (uv_loop_init(&loop) != 0) {
        bench_child_report(report, &port, 1);
        return 1;
    }
    pl_pccc_server_config_init(&cfg);
    cfg.listen.addr = "127.0.0.1";
    cfg.listen.port = 0;
    cfg.plc = PL_PCCC_PLC_SLC500;
    if (max_inflight != NULL)
        cfg.max_inflight = *max_inflight;
    if (pl_pccc_server_new(&loop, &cfg, &srv, &err) != 0) {
        fprintf(stderr, "bench_pccc: simulator: %s %s\n", pl_strerror(err.code), err.detail);
        bench_child_report(report, &port, 1);
        (void)uv_loop_close(&loop);
        return 1;
    }
    port = pl_pccc_server_port(srv);
    return bench_child_serve_loop(&loop, ctl, report, &port, 1, stop_plcline, &srv);
}

/* --- plcline: one client, `depth` reads outstanding, each re-issued from its callback --- */

typedef struct run_s run_t;

typedef struct {
    pl_pccc_req_t req;
    uint8_t buf[READ_BYTES];
    run_t *run;
} pread_t;

struct run_s {
    pl_pccc_client_t *c;
    pread_t reads[PIPE_DEPTH];
    unsigned depth;
    int stop;
    uint64_t done, errors;
    bench_window_t win;
    pl_status_t first_error;
    pl_line_stats_t line; /* at the end, before the client is freed */
    uint64_t requests;    /* submitted, at the end */
    uint64_t fallbacks;   /* the client fell back to one in flight (at the end) */
    char fallback[256];
};

static void on_read_done(pl_pccc_req_t *req)
{
    pread_t *pr = req->data;
    run_t *r = pr->run;

    if (r->stop)
        return; /* PL_ECANCELED from pl_pccc_client_free at the end */
    if (req->status.code != 0) {
        if (r->errors++ == 0)
            r->first_error = req->status;
    } else {
        r->done++;
    }
    if (pl_pccc_read(r->c, &pr->req, READ_ADDR, pr->buf, sizeof(pr->buf), on_read_done) != 0)
        r->errors++;
}

static void on_end(bench_window_t *w)
{
    run_t *r = w->data;

    r->stop = 1;
    r->line = *pl_line_stats(pl_pccc_client_line(r->c));
    r->requests = pl_pccc_client_stats(r->c)->requests;
    r->fallbacks = pl_pccc_client_stats(r->c)->fallbacks;
    memcpy(r->fallback, pl_pccc_client_stats(r->c)->fallback, sizeof(r->fallback));
    pl_pccc_client_free(r->c);
    r->c = NULL;
}

/* The line's byte counts must be whole frames of the baseline's sizes: RegisterSession
 * (24 + 4 bytes each way) plus one request per submitted read and one reply per answer.
 * (After a fallback the first connection's counts are gone: not checked.) */
static void frames_check(const run_t *r)
{
    if (r->fallbacks != 0)
        return;
    const uint64_t reg = PL_ENIP_HEADER_LEN + PL_ENIP_REGISTER_DATA_LEN;
    uint64_t out = r->line.bytes_out, in = r->line.bytes_in;

    if (out < reg || in < reg || (out - reg) % g_req_len != 0 || (in - reg) % g_resp_len != 0)
        fprintf(stderr,
                "bench_pccc: frame sizes differ from the baseline's (%zu/%zu): %llu bytes out, "
                "%llu in\n",
                g_req_len, g_resp_len, (unsigned long long)out, (unsigned long long)in);
}

/* Reads per second of one plcline client keeping *(unsigned *)ctx reads outstanding
 * (bench_client_fn). */
static double run_plcline(uint16_t port, const bench_opts_t *o, void *ctx, bench_meter_t *m)
{
    unsigned depth = *(const unsigned *)ctx;
    pl_pccc_client_config_t cfg;
    uv_loop_t loop;
    run_t r;
    unsigned i;
    double rate = -1.0;

    memset(&r, 0, sizeof(r));
    if (uv_loop_init(&loop) != 0)
        return -1.0;
    r.depth = depth;
    pl_pccc_client_config_init(&cfg);
    (void)pl_hostlist_parse(&cfg.line.hosts, "127.0.0.1", 9, NULL);
    cfg.line.port = port;
    cfg.plc = PL_PCCC_PLC_SLC500;
    cfg.service = PL_PCCC_SVC_EXECUTE;
    cfg.vendor = BENCH_VENDOR;
    cfg.serial = BENCH_SERIAL;
    cfg.inflight = depth;
    cfg.timeout_ms = REQ_TIMEOUT_MS;
    if (pl_pccc_client_new(&loop, &cfg, &r.c) != 0) {
        fprintf(stderr, "bench_pccc: pl_pccc_client_new failed\n");
        (void)uv_loop_close(&loop);
        return -1.0;
    }
    for (i = 0; i < depth; i++) {
        pread_t *pr = &r.reads[i];
        pr->run = &r;
        pr->req.data = pr;
        if (pl_pccc_read(r.c, &pr->req, READ_ADDR, pr->buf, sizeof(pr->buf), on_read_done) != 0)
            r.errors++;
    }
    r.win.data = &r;
    bench_window_start(&r.win, &loop, o->warmup, o->seconds, m, &r.done, on_end);
    uv_run(&loop, UV_RUN_DEFAULT); /* ends once on_end has freed the client */
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, "bench_pccc: plcline run: loop not empty at the end\n");
    if (r.errors > 0)
        fprintf(stderr, "bench_pccc: plcline run: %llu errors, first: %s %s\n",
                (unsigned long long)r.errors, pl_strerror(r.first_error.code),
                r.first_error.detail);
    if (r.fallbacks > 0)
        fprintf(stderr, "# plcline inflight=%u: fell back to one request in flight (%s)\n", depth,
                r.fallback);
    frames_check(&r);
    if (r.errors == 0)
        rate = bench_meter_rate(m, bench_window_count(&r.win));
    return rate;
}

/* --- the figures ------------------------------------------------------------------------ */

typedef enum {
    SIDE_SYNC,     /* plcline, inflight=1 */
    SIDE_PIPE,     /* plcline, inflight=4 */
    SIDE_BLOCKING, /* blocking ping-pong */
    SIDE_EPOLL,    /* minimal epoll pair */
    SIDE_ONE_SYNC, /* plcline, inflight=1, simulator with max_inflight 1 */
    SIDE_ONE_PIPE, /* plcline, inflight=4, simulator with max_inflight 1 */
} side_t;

static const char *side_name(int side)
{
    switch ((side_t)side) {
    case SIDE_SYNC:
        return "plcline inflight=1";
    case SIDE_PIPE:
        return "plcline inflight=4";
    case SIDE_BLOCKING:
        return "blocking pair";
    case SIDE_EPOLL:
        return "epoll pair";
    case SIDE_ONE_SYNC:
        return "plcline inflight=1, one-at-a-time target";
    case SIDE_ONE_PIPE:
        return "plcline inflight=4, one-at-a-time target";
    }
    return "?";
}

/* One run of `side` (bench_sides_t), its server in a child. */
static double run_once(int side, const bench_opts_t *o, void *ctx, double *share)
{
    static unsigned one = 1;
    static const bench_child_spec_t plcline = {serve_plcline, NULL, 1, 0, 0};
    static const bench_child_spec_t one_at_a_time = {serve_plcline, &one, 1, 0, 0};
    unsigned depth = side == SIDE_PIPE || side == SIDE_ONE_PIPE ? PIPE_DEPTH : 1;

    (void)ctx;
    switch ((side_t)side) {
    case SIDE_SYNC:
    case SIDE_PIPE:
        return bench_run_side(&plcline, run_plcline, &depth, o, share);
    case SIDE_ONE_SYNC:
    case SIDE_ONE_PIPE:
        return bench_run_side(&one_at_a_time, run_plcline, &depth, o, share);
    case SIDE_BLOCKING:
        return bench_run_baseline(BENCH_BASE_BLOCKING, &g_frames, 1, o, share);
    case SIDE_EPOLL:
        return bench_run_baseline(BENCH_BASE_EPOLL, &g_frames, 1, o, share);
    }
    return -1.0;
}

/* One throughput figure: `fig` against base[0..nbase), one session each. */
static int throughput(bench_result_t *res, int fig, const int *base, size_t nbase,
                      const bench_opts_t *o)
{
    bench_sides_t sides = {run_once, side_name, NULL};
    size_t k;

    for (k = 0; k < nbase; k++)
        res[k].conns = 1;
    return bench_throughput(res, &sides, fig, base, nbase, o);
}

/* --profile: one side once, no table row; for perf and strace. */
static int profile(const bench_opts_t *o)
{
    static const struct {
        const char *name;
        int side; /* side_t */
    } what[] = {
        {"sync-plcline", SIDE_SYNC}, {"sync-baseline", SIDE_BLOCKING}, {"sync-epoll", SIDE_EPOLL},
        {"pipe-plcline", SIDE_PIPE}, {"one-plcline", SIDE_ONE_PIPE},
    };
    size_t i;
    double v, share;

    for (i = 0; i < sizeof(what) / sizeof(what[0]); i++)
        if (strcmp(o->profile, what[i].name) == 0)
            break;
    if (i == sizeof(what) / sizeof(what[0])) {
        fprintf(stderr, "bench_pccc: --profile: sync-plcline, sync-baseline, sync-epoll, "
                        "pipe-plcline or one-plcline\n");
        return 2;
    }
    bench_pin_apply(o->pin);
    fprintf(stderr, "# %s: client pid %ld (the server is its child), CPUs: %s\n", what[i].name,
            (long)getpid(), bench_pin_text());
    v = run_once(what[i].side, o, NULL, &share);
    fprintf(stderr, "# %s: %.0f req/s, CPU share %.2f\n", what[i].name, v, share);
    return v > 0 ? 0 : 1;
}

/* --- options ------------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_pccc [--quick] [--json] [--seconds S] [--rounds N]\n"
            "                  [--split-seconds S] [--split-rounds N]\n"
            "                  [--pin same|split|none] [--profile WHAT]\n"
            "  --quick      shorter runs: 0.5 s (default 3 s), two-CPU rows 5 x 0.2 s\n"
            "  --json       a JSON array on stdout instead of markdown table rows\n"
            "  --seconds S  measured time per run (one-CPU rows)\n"
            "  --rounds N   rounds per figure, median reported (1..%d, default 3)\n"
            "  --split-seconds S, --split-rounds N\n"
            "               the same for the two-CPU rows (default 0.5 s, %d rounds)\n"
            "  --pin MODE   CPU placement of --profile: same (default, client and server\n"
            "               on one CPU), split (on two), none; every figure is measured\n"
            "               both on one CPU and on two\n"
            "  --profile WHAT  run one side once, print its rate, no table row:\n"
            "               sync-plcline, sync-baseline, sync-epoll, pipe-plcline,\n"
            "               one-plcline (inflight=4, one-at-a-time simulator)\n",
            BENCH_MAX_ROUNDS, BENCH_MAX_ROUNDS);
}

static int parse_opts(int argc, char **argv, bench_opts_t *o)
{
    int i;

    bench_opts_init(o, MAX_SECONDS);
    for (i = 1; i < argc; i++)
        if (bench_opts_arg(o, argc, argv, &i) != 1)
            return -1;
    return 0;
}

int main(int argc, char **argv)
{
    static const int sync_base[] = {SIDE_BLOCKING, SIDE_EPOLL};
    static const int pipe_base[] = {SIDE_SYNC};
    static const int one_base[] = {SIDE_ONE_SYNC};
    bench_result_t rs[6];
    bench_opts_t o, split;
    size_t nres = 0;
    int first, last, two, failed = 0;

    if (parse_opts(argc, argv, &o) != 0) {
        usage();
        return 2;
    }
    bench_init("bench_pccc");
    if (frames_init() != 0) {
        fprintf(stderr, "bench_pccc: could not encode the baseline frames\n");
        return 1;
    }
    if (o.profile != NULL)
        return profile(&o);
    split = bench_opts_split(&o);
    two = bench_cpus_allowed(&first, &last) >= 2;
    fprintf(stderr,
            "# %.1f s per run after %.1f s warm-up, %u rounds, median; two-CPU rows: %u rounds "
            "of %.1f s; frames: request %zu bytes, reply %zu bytes\n",
            o.seconds, o.warmup, o.rounds, o.split_rounds, o.split_seconds, g_req_len, g_resp_len);
    if (!two)
        fprintf(stderr, "bench_pccc: one CPU only: no two-CPU rows\n");

    /* Figure 1 on two CPUs, as a driver and a PLC are: the target row. The round trip then
     * includes a cross-CPU wake-up whose latency drifts, so many short rounds, plcline and
     * the blocking pair back to back. */
    if (two) {
        bench_pin_apply(BENCH_PIN_SPLIT);
        bench_result_init(&rs[nres], "pccc sync read N7:0, 1 session, 2 CPUs", "req/s", 0,
                          ">= 0.85", 0.85);
        if (throughput(&rs[nres], SIDE_SYNC, sync_base, 1, &split) == 0)
            nres++;
        else
            failed = 1;
    }

    /* Figure 1 on one CPU: 1 / rate is the CPU time of an exchange, both sides together
     * (information; docs/bench.md says why no event loop reaches 0.85 of a blocking pair
     * here), and against the epoll pair: what an event loop costs by itself. */
    bench_pin_apply(BENCH_PIN_SAME);
    bench_result_init(&rs[nres], "pccc sync read N7:0, 1 session, 1 CPU", "req/s", 0, "-", 0);
    bench_result_init(&rs[nres + 1], "pccc sync read N7:0, 1 session, 1 CPU, vs epoll pair",
                      "req/s", 0, "-", 0);
    if (throughput(&rs[nres], SIDE_SYNC, sync_base, 2, &o) == 0)
        nres += 2;
    else
        failed = 1;

    /* Figure 2 on one CPU: pipelining can only save system calls and context switches
     * here (information). */
    bench_result_init(&rs[nres], "pccc inflight=4 vs sync, 1 CPU", "req/s", 0, "-", 0);
    if (throughput(&rs[nres], SIDE_PIPE, pipe_base, 1, &o) == 0)
        nres++;
    else
        failed = 1;

    /* Figure 3 on one CPU: a target that serves one request at a time (docs/bench.md):
     * pipelining falls back by itself and loses no request; the target row. */
    bench_result_init(&rs[nres], "pccc inflight=4 vs sync, one-at-a-time target, 1 CPU", "req/s", 0,
                      ">= 0.9", 0.9);
    if (throughput(&rs[nres], SIDE_ONE_PIPE, one_base, 1, &o) == 0)
        nres++;
    else
        failed = 1;

    /* Figure 2 on two CPUs: the client and the simulator can work at once, as a driver and
     * a PLC do; the target row (docs/bench.md, "PCCC benchmarks", says why). */
    if (two) {
        bench_pin_apply(BENCH_PIN_SPLIT);
        bench_result_init(&rs[nres], "pccc inflight=4 vs sync, 2 CPUs", "req/s", 0, ">= 2.5", 2.5);
        if (throughput(&rs[nres], SIDE_PIPE, pipe_base, 1, &split) == 0)
            nres++;
        else
            failed = 1;
    }
    bench_pin_apply(o.pin);

    bench_results_print(rs, nres, o.json);
    return failed || nres == 0 ? 1 : 0;
}
