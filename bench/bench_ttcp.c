/* SPDX-License-Identifier: MIT */
/*
 * bench_ttcp: 7TTCP client and node simulator throughput and memory, each figure beside a
 * plain-socket baseline measured in the same run, so the ratio says what plcline costs
 * rather than how fast this machine happens to be today.
 *
 *   1. one connection, synchronous 1-word reads (next request from the callback), against
 *      a blocking send/recv ping-pong of the same frame sizes (28-byte request, 30-byte
 *      answer, TCP_NODELAY), measured twice: with the client and the simulator on two CPUs,
 *      as a driver and its device are in a plant (the target row; many short rounds, since
 *      the cross-CPU wake-up latency of a shared virtual machine drifts), and with both on
 *      one CPU, where 1 / rate is the CPU time of an exchange (information); the one-CPU
 *      runs are also set beside a minimal epoll client and responder (what an event loop
 *      costs by itself);
 *   2. 64 connections (nodes 0..63) driven from one client loop, against a 64-connection
 *      epoll ping-pong client and an epoll responder (--pin, default one CPU);
 *   3. heap (mallinfo2) and RSS (/proc/self/statm) growth per idle connected client (1000
 *      by default), against bare uv_tcp_t connections measured the same way.
 *
 * Every server (the plcline simulator and the plain responders) runs in a forked child
 * process, never in a thread of the client: its CPU time, its allocator and its memory are
 * then its own (figure 3 must not count the simulator's heap; a thread would share the
 * client's malloc arenas and RSS), `perf stat -p` can look at either side alone, and it is
 * how a driver and a PLC sit in a real plant. Every memory measurement also runs in a
 * fresh forked child, so rounds do not inherit each other's freed-but-cached heap.
 *
 * Output: one markdown table row per figure on stdout ("| benchmark | figure | baseline |
 * ratio | target | met |", the contract of scripts/bench.sh and docs/bench.md), or a JSON
 * array with --json; progress and per-round numbers go to stderr. This program measures
 * and reports; it never fails because a target is missed (exit 1 only when a measurement
 * could not be made at all). Every loop is bounded by a deadline and every child by
 * alarm(); only 127.0.0.1 and ports picked by the kernel are used; only the children this
 * program forked are signalled, by pid.
 */
#define _GNU_SOURCE /* mallinfo2, malloc_trim */

#include "bench_support.h"
#include "proto/ttcp/codec/ttcp.h"
#include "plcline/error.h"
#include "plcline/hostlist.h"
#include "plcline/ttcp.h"

#include <malloc.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define REQ_LEN  PL_TTCP_FRAME_LEN(0) /* read request for 1 word: header only, 28 bytes */
#define RESP_LEN PL_TTCP_FRAME_LEN(1) /* its answer: header + 1 word, 30 bytes */

#define POLL_CONNS 64    /* figure 2: one connection per node 0..63 */
#define IDLE_CONNS 1000u /* figure 3 default */
/* --seconds and --split-seconds at most: a run and its warm-up end well before a server
 * child's alarm (BENCH_CHILD_ALARM_S, 60 s) */
#define MAX_SECONDS     30.0
#define REQ_TIMEOUT_MS  2000u  /* plcline request timeout during the runs */
#define CONNECT_WAIT_MS 20000u /* figure 3: for every idle connection to come up */
#define SETTLE_MS       200u   /* figure 3: idle time before the memory is read */
#define KIB             1024.0

/* The request and answer frames the plain baselines exchange (valid 7TTCP frames, so the
 * byte counts are exactly those of the plcline runs). */
static uint8_t g_req[REQ_LEN];
static uint8_t g_resp[RESP_LEN];
static bench_frames_t g_frames = {g_req, sizeof(g_req), g_resp, sizeof(g_resp)};

static void frames_init(void)
{
    const uint16_t word = 0;

    (void)pl_ttcp_encode(g_req, sizeof(g_req), PL_TTCP_OP_DATA, 0, 0, PL_TTCP_TYPE_READ, 1, NULL);
    (void)pl_ttcp_encode(g_resp, sizeof(g_resp), PL_TTCP_OP_DATA, 0, 0, PL_TTCP_TYPE_READ, 1,
                         &word);
}

/* --- the sides, each with its server in a child process (bench_child.h) ------------ */

typedef enum {
    SRV_PLCLINE,  /* the plcline node simulator, nodes 0..63, on its own uv loop */
    SRV_BLOCKING, /* one connection, blocking recv 28 / send 30 */
    SRV_EPOLL,    /* any number of connections, one epoll loop, 28 in / 30 out */
} srv_kind_t;

static const char *side_name(int side)
{
    switch ((srv_kind_t)side) {
    case SRV_PLCLINE:
        return "plcline";
    case SRV_BLOCKING:
        return "blocking pair";
    case SRV_EPOLL:
        return "epoll pair";
    }
    return "?";
}

static void stop_plcline(void *data)
{
    pl_ttcp_server_t **srv = data;

    if (*srv != NULL)
        (void)pl_ttcp_server_free(*srv);
    *srv = NULL;
}

/* The plcline node simulator, nodes 0..63, in a server child (bench_serve_fn). */
static int serve_plcline(void *arg, int ctl, int report)
{
    pl_ttcp_server_config_t cfg;
    pl_ttcp_server_t *srv = NULL;
    pl_status_t err;
    uv_loop_t loop;
    uint32_t node;
    uint16_t port = 0;

    (void)arg;
    if (uv_loop_init(&loop) != 0) {
        bench_child_report(report, &port, 1);
        return 1;
    }
    pl_ttcp_server_config_init(&cfg);
    cfg.listen.addr = "127.0.0.1";
    cfg.listen.port = 0;
    cfg.node_first = 0;
    cfg.node_last = POLL_CONNS - 1;
    if (pl_ttcp_server_new(&loop, &cfg, &srv, &err) != 0) {
        fprintf(stderr, "bench_ttcp: simulator: %s %s\n", pl_strerror(err.code), err.detail);
        bench_child_report(report, &port, 1);
        (void)uv_loop_close(&loop);
        return 1;
    }
    for (node = 0; node < POLL_CONNS; node++) /* node memory exists before the first run */
        (void)pl_ttcp_server_words(srv, node);
    port = pl_ttcp_server_port(srv);
    return bench_child_serve_loop(&loop, ctl, report, &port, 1, stop_plcline, &srv);
}

static const bench_child_spec_t g_plcline_server = {serve_plcline, NULL, 1, 0, 0};

/* --- figure 1 and 2, plcline: N clients on one loop, each re-reading from its callback --- */

typedef struct run_s run_t;

typedef struct {
    pl_ttcp_client_t *c;
    pl_ttcp_req_t req;
    uint16_t word;
    uint32_t node;
    run_t *run;
} pconn_t;

struct run_s {
    pconn_t *conns;
    unsigned n;
    int stop;
    uint64_t done, errors;
    bench_window_t win;
    pl_status_t first_error;
};

static void on_read_done(pl_ttcp_req_t *req)
{
    pconn_t *pc = req->data;
    run_t *r = pc->run;

    if (r->stop)
        return; /* ECANCELED from pl_ttcp_client_free at the end */
    if (req->status.code != 0) {
        if (r->errors++ == 0)
            r->first_error = req->status;
    } else {
        r->done++;
    }
    if (pl_ttcp_read(pc->c, &pc->req, pc->node, 0, &pc->word, 1, on_read_done) != 0)
        r->errors++;
}

static void on_end(bench_window_t *w)
{
    run_t *r = w->data;
    unsigned i;

    r->stop = 1;
    for (i = 0; i < r->n; i++)
        pl_ttcp_client_free(r->conns[i].c);
}

/* Requests per second of *(unsigned *)ctx plcline clients against the simulator at
 * `port` (bench_client_fn). */
static double run_plcline(uint16_t port, const bench_opts_t *o, void *ctx, bench_meter_t *m)
{
    unsigned n = *(const unsigned *)ctx;
    pl_ttcp_client_config_t cfg;
    uv_loop_t loop;
    run_t r;
    unsigned i;
    double rate;

    memset(&r, 0, sizeof(r));
    r.conns = calloc(n, sizeof(*r.conns));
    if (r.conns == NULL || uv_loop_init(&loop) != 0) {
        free(r.conns);
        return -1.0;
    }
    r.n = n;
    pl_ttcp_client_config_init(&cfg);
    (void)pl_hostlist_parse(&cfg.line.hosts, "127.0.0.1", 9, NULL);
    cfg.line.port = port;
    cfg.timeout_ms = REQ_TIMEOUT_MS;
    for (i = 0; i < n; i++) {
        pconn_t *pc = &r.conns[i];
        pc->run = &r;
        pc->node = i % POLL_CONNS;
        pc->req.data = pc;
        if (pl_ttcp_client_new(&loop, &cfg, &pc->c) != 0) {
            fprintf(stderr, "bench_ttcp: pl_ttcp_client_new failed\n");
            while (i-- > 0)
                pl_ttcp_client_free(r.conns[i].c);
            uv_run(&loop, UV_RUN_DEFAULT);
            (void)uv_loop_close(&loop);
            free(r.conns);
            return -1.0;
        }
    }
    for (i = 0; i < n; i++) {
        pconn_t *pc = &r.conns[i];
        if (pl_ttcp_read(pc->c, &pc->req, pc->node, 0, &pc->word, 1, on_read_done) != 0)
            r.errors++;
    }
    r.win.data = &r;
    bench_window_start(&r.win, &loop, o->warmup, o->seconds, m, &r.done, on_end);
    uv_run(&loop, UV_RUN_DEFAULT); /* ends once on_end has freed every client */
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, "bench_ttcp: plcline run: loop not empty at the end\n");
    if (r.errors > 0)
        fprintf(stderr, "bench_ttcp: plcline run: %llu errors, first: %s %s\n",
                (unsigned long long)r.errors, pl_strerror(r.first_error.code),
                r.first_error.detail);
    rate = bench_meter_rate(m, bench_window_count(&r.win));
    free(r.conns);
    return rate;
}

/* --- figure 3: memory of idle connections, measured in a fresh child process ----------- */

typedef struct {
    unsigned up;      /* connections that came up */
    double heap, rss; /* bytes grown */
} mem_t;

typedef struct {
    uv_loop_t *loop;
    unsigned want, up;
    uv_timer_t timer;
    int settling, expired;
} idle_t;

static void on_idle_timer(uv_timer_t *t)
{
    idle_t *id = t->data;

    if (!id->settling)
        id->expired = 1;
    uv_stop(id->loop);
}

static void idle_one_up(idle_t *id)
{
    if (++id->up == id->want && !id->settling) {
        id->settling = 1; /* everyone is up: stay idle a moment, then measure */
        uv_timer_start(&id->timer, on_idle_timer, SETTLE_MS, 0);
    }
}

static void on_idle_link(pl_ttcp_client_t *c, const pl_status_t *st, void *ud)
{
    (void)c;
    if (st == NULL)
        idle_one_up(ud);
}

typedef struct {
    uv_tcp_t tcp; /* the bare baseline: a handle and nothing else */
} bare_t;

static uint8_t bare_rbuf[64]; /* one buffer for every bare connection */

static void bare_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init((char *)bare_rbuf, sizeof(bare_rbuf));
}

static void bare_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    if (nread < 0)
        uv_read_stop(s);
}

static void bare_connected(uv_connect_t *req, int status)
{
    idle_t *id = req->data;
    uv_stream_t *s = req->handle;

    free(req);
    if (status != 0)
        return;
    (void)uv_tcp_nodelay((uv_tcp_t *)s, 1);
    (void)uv_read_start(s, bare_alloc, bare_read);
    idle_one_up(id);
}

static void free_on_close(uv_handle_t *h)
{
    free(h);
}

/* Runs in a fresh child: connects `n` idle connections (plcline clients or bare handles)
 * to `port`, measures the growth, closes everything. */
static int measure_idle(int plcline, uint16_t port, unsigned n, mem_t *m)
{
    struct mallinfo2 mi0, mi1;
    pl_ttcp_client_t **cl = NULL;
    bare_t **bare = NULL;
    struct sockaddr_in sa;
    uv_loop_t loop;
    idle_t id;
    double rss0, rss1;
    unsigned i;

    memset(&id, 0, sizeof(id));
    memset(m, 0, sizeof(*m));
    if (uv_loop_init(&loop) != 0)
        return -1;
    id.loop = &loop;
    id.want = n;
    uv_timer_init(&loop, &id.timer);
    id.timer.data = &id;
    /* The arrays of pointers are the harness's, not the connections': made before the
     * first reading. */
    cl = calloc(n, sizeof(*cl));
    bare = calloc(n, sizeof(*bare));
    if (cl == NULL || bare == NULL)
        return -1;
    bench_loopback(&sa, port);
    malloc_trim(0);
    mi0 = mallinfo2();
    rss0 = bench_rss_bytes();
    for (i = 0; i < n; i++) {
        if (plcline) {
            pl_ttcp_client_config_t cfg;
            pl_ttcp_client_config_init(&cfg);
            (void)pl_hostlist_parse(&cfg.line.hosts, "127.0.0.1", 9, NULL);
            cfg.line.port = port;
            cfg.line.connect_timeout_ms = CONNECT_WAIT_MS;
            cfg.on_link = on_idle_link;
            cfg.ud = &id;
            if (pl_ttcp_client_new(&loop, &cfg, &cl[i]) != 0 || pl_ttcp_client_start(cl[i]) != 0)
                break;
        } else {
            uv_connect_t *req = malloc(sizeof(*req));
            bare[i] = malloc(sizeof(*bare[i]));
            if (req == NULL || bare[i] == NULL || uv_tcp_init(&loop, &bare[i]->tcp) != 0) {
                free(req);
                free(bare[i]);
                bare[i] = NULL;
                break;
            }
            req->data = &id;
            if (uv_tcp_connect(req, &bare[i]->tcp, (const struct sockaddr *)&sa, bare_connected) !=
                0) {
                free(req);
                uv_close((uv_handle_t *)&bare[i]->tcp, free_on_close);
                bare[i] = NULL;
                break;
            }
        }
    }
    if (i < n)
        fprintf(stderr, "bench_ttcp: only %u of %u connections could be started\n", i, n);
    id.want = i;
    uv_timer_start(&id.timer, on_idle_timer, CONNECT_WAIT_MS + 2000u, 0);
    if (id.want > 0)
        uv_run(&loop, UV_RUN_DEFAULT); /* until settled after all up, or the deadline */
    mi1 = mallinfo2();
    rss1 = bench_rss_bytes();
    m->up = id.up;
    m->heap = (double)mi1.uordblks - (double)mi0.uordblks;
    m->rss = rss1 - rss0;
    if (id.expired)
        fprintf(stderr, "bench_ttcp: only %u of %u connections came up in time\n", id.up, id.want);
    for (i = 0; i < n; i++) {
        if (cl[i] != NULL)
            pl_ttcp_client_free(cl[i]);
        if (bare[i] != NULL)
            uv_close((uv_handle_t *)&bare[i]->tcp, free_on_close);
    }
    uv_close((uv_handle_t *)&id.timer, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, "bench_ttcp: idle run: loop not empty at the end\n");
    free(cl);
    free(bare);
    return id.up > 0 ? 0 : -1;
}

/* Forks a fresh measuring child and reads its result back. */
static int idle_round(int plcline, uint16_t port, unsigned n, mem_t *m)
{
    int rep[2];
    struct pollfd pf;
    pid_t pid;
    int ok = 0;

    if (pipe(rep) != 0)
        return -1;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        close(rep[0]);
        close(rep[1]);
        return -1;
    }
    if (pid == 0) {
        mem_t r;
        close(rep[0]);
        alarm(BENCH_CHILD_ALARM_S);
        if (measure_idle(plcline, port, n, &r) != 0)
            memset(&r, 0, sizeof(r));
        (void)!write(rep[1], &r, sizeof(r));
        close(rep[1]);
        _exit(0);
    }
    close(rep[1]);
    pf.fd = rep[0];
    pf.events = POLLIN;
    if (poll(&pf, 1, (BENCH_CHILD_ALARM_S + 5) * 1000) == 1 &&
        read(rep[0], m, sizeof(*m)) == (ssize_t)sizeof(*m))
        ok = 1;
    close(rep[0]);
    (void)bench_reap(pid, BENCH_STOP_WAIT_MS);
    return ok && m->up > 0 ? 0 : -1;
}

/* --- the figures --------------------------------------------------------------------- */

/* One run of the side `side` over *(unsigned *)ctx connections (bench_sides_t). */
static double run_once(int side, const bench_opts_t *o, void *ctx, double *share)
{
    unsigned n = *(const unsigned *)ctx;

    switch ((srv_kind_t)side) {
    case SRV_PLCLINE:
        return bench_run_side(&g_plcline_server, run_plcline, &n, o, share);
    case SRV_BLOCKING:
        return bench_run_baseline(BENCH_BASE_BLOCKING, &g_frames, 1, o, share);
    case SRV_EPOLL:
        return bench_run_baseline(BENCH_BASE_EPOLL, &g_frames, n, o, share);
    }
    return -1.0;
}

/* One throughput figure over `n` connections: plcline against base[0..nbase). */
static int throughput(bench_result_t *res, const int *base, size_t nbase, unsigned n,
                      const bench_opts_t *o)
{
    bench_sides_t sides = {run_once, side_name, &n};
    size_t k;

    for (k = 0; k < nbase; k++)
        res[k].conns = n;
    return bench_throughput(res, &sides, SRV_PLCLINE, base, nbase, o);
}

static int idle_memory(bench_result_t *heap, bench_result_t *rss, unsigned n, const bench_opts_t *o)
{
    double fh[BENCH_MAX_ROUNDS], fr[BENCH_MAX_ROUNDS], bh[BENCH_MAX_ROUNDS], br[BENCH_MAX_ROUNDS];
    double rh[BENCH_MAX_ROUNDS], rr[BENCH_MAX_ROUNDS];
    unsigned round, k;
    bench_child_t ch;

    if (bench_child_start(&ch, &g_plcline_server) != 0) {
        fprintf(stderr, "bench_ttcp: could not start the simulator\n");
        bench_child_stop(&ch);
        return -1;
    }
    for (round = 0; round < o->rounds; round++) {
        for (k = 0; k < 2; k++) {
            int plc = (round + k) % 2 == 0;
            mem_t m;

            if (idle_round(plc, ch.ports[0], n, &m) != 0 || m.up == 0) {
                fprintf(stderr, "bench_ttcp: idle round failed\n");
                bench_child_stop(&ch);
                return -1;
            }
            if (m.up < n)
                fprintf(stderr,
                        "bench_ttcp: %u of %u connections up; per-connection figures "
                        "use %u\n",
                        m.up, n, m.up);
            if (plc) {
                fh[round] = m.heap / m.up / KIB;
                fr[round] = m.rss / m.up / KIB;
            } else {
                bh[round] = m.heap / m.up / KIB;
                br[round] = m.rss / m.up / KIB;
            }
            heap->runs[plc ? 0 : 1][round] = plc ? fh[round] : bh[round];
            rss->runs[plc ? 0 : 1][round] = plc ? fr[round] : br[round];
        }
        rh[round] = bh[round] > 0 ? fh[round] / bh[round] : 0.0;
        rr[round] = br[round] > 0 ? fr[round] / br[round] : 0.0;
        fprintf(stderr,
                "# idle round %u: plcline heap %.2f KiB/conn RSS %.2f KiB/conn; bare uv_tcp_t "
                "heap %.2f KiB/conn RSS %.2f KiB/conn\n",
                round + 1, fh[round], fr[round], bh[round], br[round]);
    }
    bench_child_stop(&ch);
    heap->figure = bench_median(fh, o->rounds);
    heap->baseline = bench_median(bh, o->rounds);
    heap->ratio = bench_median(rh, o->rounds);
    rss->figure = bench_median(fr, o->rounds);
    rss->baseline = bench_median(br, o->rounds);
    rss->ratio = bench_median(rr, o->rounds);
    heap->met = heap->figure < 8.0;
    rss->met = rss->figure < 8.0;
    if (heap->baseline <= 0.0) { /* a bare uv_tcp_t allocates 248 bytes: mallinfo2 is blind */
        fprintf(stderr, "bench_ttcp: mallinfo2() saw no allocation (a sanitizer's allocator?): "
                        "the heap row has no target\n");
        snprintf(heap->target, sizeof(heap->target), "-");
    }
    heap->conns = rss->conns = n;
    heap->rounds = rss->rounds = o->rounds;
    snprintf(heap->cpus, sizeof(heap->cpus), "%s", bench_pin_text());
    snprintf(rss->cpus, sizeof(rss->cpus), "%s", bench_pin_text());
    return 0;
}

/* --profile: one side of one throughput figure, once, no table row; for perf and strace. */
static int profile(const bench_opts_t *o)
{
    static const struct {
        const char *name;
        int kind; /* srv_kind_t */
        unsigned n;
    } what[] = {
        {"sync-plcline", SRV_PLCLINE, 1},
        {"sync-baseline", SRV_BLOCKING, 1},
        {"sync-epoll", SRV_EPOLL, 1}, /* the event-loop shape without plcline or libuv */
        {"poll-plcline", SRV_PLCLINE, POLL_CONNS},
        {"poll-baseline", SRV_EPOLL, POLL_CONNS},
    };
    size_t i;
    unsigned n;
    double v, share;

    for (i = 0; i < sizeof(what) / sizeof(what[0]); i++)
        if (strcmp(o->profile, what[i].name) == 0)
            break;
    if (i == sizeof(what) / sizeof(what[0])) {
        fprintf(stderr, "bench_ttcp: --profile: sync-plcline, sync-baseline, sync-epoll, "
                        "poll-plcline or poll-baseline\n");
        return 2;
    }
    fprintf(stderr, "# %s: client pid %ld (the server is its child)\n", what[i].name,
            (long)getpid());
    n = what[i].n;
    v = run_once(what[i].kind, o, &n, &share);
    fprintf(stderr, "# %s: %.0f req/s, CPU share %.2f\n", what[i].name, v, share);
    return v > 0 ? 0 : 1;
}

/* --- options -------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_ttcp [--quick] [--json] [--seconds S] [--rounds N] [--conns N]\n"
            "                  [--split-seconds S] [--split-rounds N]\n"
            "                  [--pin same|split|none] [--profile WHAT]\n"
            "  --quick      shorter runs: 0.5 s (default 3 s), two-CPU rows 5 x 0.2 s\n"
            "  --json       a JSON array on stdout instead of markdown table rows\n"
            "  --seconds S  measured time per run (one-CPU rows)\n"
            "  --rounds N   plcline/baseline pairs per figure, median reported (1..%d, 3)\n"
            "  --split-seconds S, --split-rounds N\n"
            "               the same for the two-CPU sync rows (default 0.5 s, %d rounds)\n"
            "  --conns N    idle connections for the memory figure (default %u)\n"
            "  --pin MODE   CPU placement of the 64-connection figure and of --profile:\n"
            "               same (default: client and servers on one CPU), split (client\n"
            "               and servers on two CPUs), none (the scheduler's); the sync\n"
            "               figure is always measured on two CPUs and on one\n"
            "  --profile WHAT  run one side once, print its rate, no table row:\n"
            "               sync-plcline, sync-baseline, sync-epoll (a minimal epoll\n"
            "               client and responder, 1 conn), poll-plcline, poll-baseline\n",
            BENCH_MAX_ROUNDS, BENCH_MAX_ROUNDS, IDLE_CONNS);
}

static int parse_opts(int argc, char **argv, bench_opts_t *o, unsigned *idle_n)
{
    int i, rc;

    bench_opts_init(o, MAX_SECONDS);
    *idle_n = IDLE_CONNS;
    for (i = 1; i < argc; i++) {
        rc = bench_opts_arg(o, argc, argv, &i);
        if (rc < 0)
            return -1;
        if (rc > 0)
            continue;
        if (strcmp(argv[i], "--conns") == 0 && i + 1 < argc) {
            if (bench_parse_uint(argv[++i], 1, 100000, idle_n) != 0)
                return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const int sync_base[] = {SRV_BLOCKING, SRV_EPOLL};
    static const int poll_base[] = {SRV_EPOLL};
    char name[96];
    bench_result_t rs[6];
    bench_opts_t o, split;
    size_t nres = 0;
    unsigned idle_n;
    int first, last, failed = 0;

    if (parse_opts(argc, argv, &o, &idle_n) != 0) {
        usage();
        return 2;
    }
    bench_init("bench_ttcp");
    frames_init();
    if (o.profile != NULL) {
        bench_pin_apply(o.pin);
        return profile(&o);
    }
    idle_n = bench_raise_nofile(idle_n, "connections");
    fprintf(stderr,
            "# %.1f s per run after %.1f s warm-up, %u rounds, median; two-CPU sync rows: %u "
            "rounds of %.1f s\n",
            o.seconds, o.warmup, o.rounds, o.split_rounds, o.split_seconds);

    /* Sync read with the client and the simulator on two CPUs, as a driver and a device are:
     * the target row. The round trip then includes a cross-CPU wake-up whose latency drifts,
     * so many short rounds, each plcline and the blocking pair back to back. */
    if (bench_cpus_allowed(&first, &last) >= 2) {
        split = bench_opts_split(&o);
        bench_pin_apply(BENCH_PIN_SPLIT);
        fprintf(stderr, "# sync read, 2 CPUs: %s\n", bench_pin_text());
        bench_result_init(&rs[nres], "7ttcp sync read, 1 conn, 2 CPUs", "req/s", 0, ">= 0.85",
                          0.85);
        if (throughput(&rs[nres], sync_base, 1, 1, &split) == 0)
            nres++;
        else
            failed = 1;
    } else {
        fprintf(stderr, "bench_ttcp: one CPU only: no two-CPU sync row\n");
    }

    /* The same on one CPU: 1 / rate is the CPU time of an exchange, both sides together
     * (information: docs/bench.md says why no event loop reaches 0.85 of a blocking pair
     * here), and against a minimal epoll pair, which separates what any event loop costs
     * from what plcline costs. */
    bench_pin_apply(BENCH_PIN_SAME);
    fprintf(stderr, "# sync read, 1 CPU: %s\n", bench_pin_text());
    bench_result_init(&rs[nres], "7ttcp sync read, 1 conn, 1 CPU", "req/s", 0, "-", 0);
    bench_result_init(&rs[nres + 1], "7ttcp sync read, 1 conn, 1 CPU, vs epoll pair", "req/s", 0,
                      "-", 0);
    if (throughput(&rs[nres], sync_base, 2, 1, &o) == 0)
        nres += 2;
    else
        failed = 1;

    bench_pin_apply(o.pin);
    fprintf(stderr, "# poll and memory: %s\n", bench_pin_text());
    bench_result_init(&rs[nres], "7ttcp poll, 64 conns, 1 thread", "req/s", 0, ">= 0.70", 0.70);
    if (throughput(&rs[nres], poll_base, 1, POLL_CONNS, &o) == 0)
        nres++;
    else
        failed = 1;

    snprintf(name, sizeof(name), "7ttcp idle conn heap (%u conns)", idle_n);
    bench_result_init(&rs[nres], name, "KiB/conn", 2, "< 8 KiB/conn", 0);
    snprintf(name, sizeof(name), "7ttcp idle conn RSS (%u conns)", idle_n);
    bench_result_init(&rs[nres + 1], name, "KiB/conn", 2, "< 8 KiB/conn", 0);
    if (idle_memory(&rs[nres], &rs[nres + 1], idle_n, &o) == 0)
        nres += 2;
    else
        failed = 1;

    bench_results_print(rs, nres, o.json);
    return failed ? 1 : 0;
}
