/* SPDX-License-Identifier: MIT */
/*
 * bench_engine: what the scan engine costs on top of the 7TTCP client, and whether a dead
 * device slows a healthy one, each figure beside a baseline measured in the same run.
 *
 *   1. 10 000 tags on 100 devices (ten node simulators of ten nodes each, one connection
 *      per device), one 1 s scan class, tags at plant-like, partly sparse addresses (a
 *      heartbeat on the simulator's animated words, packed analog floats, status bits,
 *      counters, setpoints with random gaps, isolated words far apart), so the block
 *      planner decides the request count. Figure: this process's CPU time (getrusage,
 *      user + system) per second of polling. Baseline: the same 100 clients reading the same
 *      planned blocks once a second with the bare 7TTCP client API, one block after the
 *      other per device as the engine does, no engine. The same run also counts the
 *      requests the engine put on the wire per cycle (bytes sent / 28: every read request
 *      is a 28-byte frame) against the planner's optimum, the sum of pl_plan_requests()
 *      over every (device, scan class), planned here from the tag list independently of
 *      the engine: the two must be equal.
 *   2. Cycles per second of a healthy device H (10 ms scan class) while a dead device D (a
 *      listener that accepts and never answers; 50 ms timeout, fast reconnects, demotion
 *      put out of reach so D stays on scan and times out all the time) shares the engine,
 *      against the same engine without D. Target: ratio >= 0.90.
 *
 * The simulators and the black hole run in a forked child process, so their CPU time is
 * not this process's; the child reports its kernel-picked ports through a pipe, stops when
 * the parent closes a control pipe, and ends by itself (alarm) if the parent disappears.
 * Measurement windows are aligned half a period after a scan tick and last whole seconds,
 * so a window holds exactly as many 1 s cycles as seconds.
 *
 * Output: one markdown row per figure ("| benchmark | figure | baseline | ratio | target |
 * met |", docs/bench.md), or JSON with --json; per-round numbers go to stderr as "# "
 * notes. Exit 0 when it measured, whatever the targets; 1 when it could not measure. Every
 * loop is bounded, only 127.0.0.1 and ports picked by the kernel are used, only the child
 * this program forked is signalled (by pid), and every handle is closed.
 */
#include "bench_support.h"
#include "proto/ttcp/codec/ttcp.h"
#include "engine/planner.h"
#include "plcline/engine.h"
#include "plcline/error.h"
#include "plcline/hostlist.h"
#include "plcline/ttcp.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

/* Figure 1: the plant. */
#define NSIMS         10u /* node simulators */
#define NODES_PER_SIM 10u /* nodes served by each, one device per node */
#define NDEVS         (NSIMS * NODES_PER_SIM)
#define TAGS_PER_DEV  100u  /* see gen_tags() */
#define SCAN_MS       1000u /* the one scan class */
#define MAX_GAP       32u   /* planner: the engine's default, set explicitly */
#define MAX_BLOCK     256u  /* 7TTCP words per request: the client's default, set explicitly */
#define POLL_TIMEOUT  2000u /* request timeout of figure 1 */
#define ANIMATE_MS    500u  /* the simulators change words 0..9 of every node this often */
#define WINDOW_OFFSET 1500u /* figure 1 window starts here: half a period after tick 1 */

/* Figure 2: a healthy device beside a dead one. */
#define FAST_MS      10u         /* scan class period */
#define DEAD_TIMEOUT 50u         /* request timeout of both lines */
#define BACKOFF_MIN  10u         /* reconnect back-off of both lines */
#define BACKOFF_MAX  50u         /* " */
#define DEMOTE_NEVER 1000000000u /* consecutive failures before demotion: out of reach */
#define FIG2_WARMUP  500u        /* ms before the window */

#define REQ_LEN       PL_TTCP_FRAME_LEN(0) /* one read request on the wire: 28 bytes */
#define MAX_PORTS     BENCH_CHILD_MAX_PORTS
#define READY_WAIT_MS 10000 /* for the child to report its ports */
#define NOFILE_WANT   4096u /* descriptors in all */

typedef struct {
    unsigned seconds;      /* figure 1 window, whole seconds */
    unsigned fast_seconds; /* figure 2 window */
    unsigned rounds;
    int json;
    bench_pin_t pin;
    const char *profile;
} opts_t;

/* This process's CPU time (getrusage, user + system). */
static double cpu_seconds(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0.0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* --- the server child: node simulators and a black hole ----------------------------- */

typedef struct {
    unsigned nsims;      /* simulators, nodes 0..nodes-1 each */
    unsigned nodes;      /* nodes per simulator */
    unsigned animate_ms; /* 0: static words */
    int blackhole;       /* also a listener that accepts and never answers */
    unsigned alarm_s;    /* the child ends by itself after this */
} srv_spec_t;

typedef struct hole_conn_s {
    uv_tcp_t tcp;
    struct hole_conn_s *prev, *next;
} hole_conn_t;

typedef struct {
    uv_loop_t loop;
    pl_ttcp_server_t *sims[MAX_PORTS];
    unsigned nsims;
    uv_tcp_t hole;
    int hole_open;
    hole_conn_t *conns;
} srv_t;

static char g_hole_buf[4096]; /* everything the black hole receives goes here, unread */

static void hole_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(g_hole_buf, sizeof(g_hole_buf));
}

static void hole_conn_closed(uv_handle_t *h)
{
    hole_conn_t *hc = (hole_conn_t *)h;
    srv_t *s = h->data;

    if (hc->prev != NULL)
        hc->prev->next = hc->next;
    else
        s->conns = hc->next;
    if (hc->next != NULL)
        hc->next->prev = hc->prev;
    free(hc);
}

static void hole_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    if (nread < 0 && !uv_is_closing((uv_handle_t *)st))
        uv_close((uv_handle_t *)st, hole_conn_closed); /* EOF or error: the client left */
}

static void hole_accept(uv_stream_t *server, int status)
{
    srv_t *s = server->data;
    hole_conn_t *hc;

    if (status != 0)
        return;
    hc = calloc(1, sizeof(*hc));
    if (hc == NULL || uv_tcp_init(&s->loop, &hc->tcp) != 0) {
        free(hc);
        return;
    }
    hc->tcp.data = s;
    hc->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = hc;
    s->conns = hc;
    if (uv_accept(server, (uv_stream_t *)&hc->tcp) != 0 ||
        uv_read_start((uv_stream_t *)&hc->tcp, hole_alloc, hole_read) != 0)
        uv_close((uv_handle_t *)&hc->tcp, hole_conn_closed);
}

/* Closes the simulators and the black hole: the parent said stop, or starting failed. */
static void stop_all(void *data)
{
    srv_t *s = data;
    hole_conn_t *hc;
    unsigned i;

    for (i = 0; i < s->nsims; i++)
        if (s->sims[i] != NULL)
            (void)pl_ttcp_server_free(s->sims[i]);
    s->nsims = 0;
    if (s->hole_open) {
        uv_close((uv_handle_t *)&s->hole, NULL);
        s->hole_open = 0;
    }
    for (hc = s->conns; hc != NULL; hc = hc->next)
        if (!uv_is_closing((uv_handle_t *)&hc->tcp))
            uv_close((uv_handle_t *)&hc->tcp, hole_conn_closed);
}

/* Fills every word of a node with a fixed pseudo-random pattern (values are not zero). */
static void fill_node(uint16_t *w, uint32_t seed)
{
    uint32_t x = seed * 2654435761u | 1u;
    size_t i;

    for (i = 0; i < 65536u; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        w[i] = (uint16_t)(x & 0x3FFFu); /* small: valid for every kind (B reads 0..255) */
    }
}

/* The server child (bench_serve_fn): the simulators and the black hole on one loop; reports
 * their ports, simulators first, then the black hole. */
static int serve(void *arg, int ctl, int report)
{
    static srv_t s; /* static: too large for comfort on the child's stack, never shared */
    const srv_spec_t *spec = arg;
    uint16_t ports[MAX_PORTS];
    unsigned n = 0, i, node;
    int ok = 1;

    memset(&s, 0, sizeof(s));
    memset(ports, 0, sizeof(ports));
    if (uv_loop_init(&s.loop) != 0)
        return 1;
    for (i = 0; i < spec->nsims && ok; i++) {
        pl_ttcp_server_config_t cfg;
        pl_status_t err;

        pl_ttcp_server_config_init(&cfg);
        cfg.listen.addr = "127.0.0.1";
        cfg.listen.port = 0;
        cfg.node_first = 0;
        cfg.node_last = spec->nodes - 1;
        cfg.animate_ms = spec->animate_ms;
        pl_status_clear(&err);
        if (pl_ttcp_server_new(&s.loop, &cfg, &s.sims[i], &err) != 0) {
            fprintf(stderr, "bench_engine: simulator: %s %s\n", pl_strerror(err.code), err.detail);
            ok = 0;
            break;
        }
        s.nsims++;
        for (node = 0; node < spec->nodes; node++) {
            uint16_t *w = pl_ttcp_server_words(s.sims[i], node);
            if (w != NULL)
                fill_node(w, i * 1000u + node + 1u);
        }
        ports[n++] = pl_ttcp_server_port(s.sims[i]);
    }
    if (ok && spec->blackhole) {
        struct sockaddr_in sa;
        struct sockaddr_storage ss;
        int len = (int)sizeof(ss);

        uv_ip4_addr("127.0.0.1", 0, &sa);
        ok = uv_tcp_init(&s.loop, &s.hole) == 0;
        if (ok) {
            s.hole_open = 1;
            s.hole.data = &s;
            ok = uv_tcp_bind(&s.hole, (const struct sockaddr *)&sa, 0) == 0 &&
                 uv_listen((uv_stream_t *)&s.hole, 128, hole_accept) == 0 &&
                 uv_tcp_getsockname(&s.hole, (struct sockaddr *)&ss, &len) == 0;
        }
        if (ok)
            ports[n++] = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    if (!ok) {
        ports[0] = 0;
        bench_child_report(report, ports, 1);
        stop_all(&s); /* close what was opened */
        uv_run(&s.loop, UV_RUN_DEFAULT);
        (void)uv_loop_close(&s.loop);
        return 1;
    }
    return bench_child_serve_loop(&s.loop, ctl, report, ports, n, stop_all, &s);
}

static int child_start(bench_child_t *ch, const srv_spec_t *spec)
{
    bench_child_spec_t cs = {serve, (void *)spec, spec->nsims + (spec->blackhole ? 1u : 0u),
                             spec->alarm_s, READY_WAIT_MS};

    return bench_child_start(ch, &cs);
}

/* --- figure 1: the plant's tags and their plan -------------------------------------- */

typedef struct {
    char addr[24];
    uint32_t start, len; /* words */
} gtag_t;

typedef struct {
    uint32_t start, len;
} blk_t;

typedef struct {
    blk_t *blocks;
    size_t nblocks;
    uint64_t requests; /* pl_plan_requests() */
} dplan_t;

typedef struct {
    pl_line_def_t lines[NSIMS];
    pl_device_def_t devs[NDEVS];
    pl_tag_def_t *tags;
    char (*text)[2][PL_NAME_MAX]; /* the tags' names and addresses */
    size_t ntags;
    pl_scan_def_t scan;
    dplan_t plan[NDEVS];
    uint64_t optimum; /* requests per cycle, all devices */
} plant_t;

static uint32_t rnd(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void add_tag(gtag_t *t, size_t *n, char kind, uint32_t offset, int bit)
{
    gtag_t *g = &t[(*n)++];

    if (bit >= 0)
        snprintf(g->addr, sizeof(g->addr), "%c%u/%d", kind, (unsigned)offset, bit);
    else
        snprintf(g->addr, sizeof(g->addr), "%c%u", kind, (unsigned)offset);
    g->start = offset;
    g->len = kind == 'F' || kind == 'D' || kind == 'L' ? 2u : 1u;
}

/* The tags of device `dev` (TAGS_PER_DEV of them), a plant-like mix whose addresses differ
 * from device to device: */
static size_t gen_tags(unsigned dev, gtag_t *t)
{
    uint32_t x = (dev + 1u) * 2654435761u | 1u, off;
    size_t n = 0;
    unsigned i;

    /* 5 heartbeat tags on the simulator's animated words 0..9: they change every cycle */
    add_tag(t, &n, 'W', 0, -1);
    add_tag(t, &n, 'W', 1, -1);
    add_tag(t, &n, 'F', 2, -1);
    add_tag(t, &n, 'W', 4, (int)(dev % 16u));
    add_tag(t, &n, 'D', 5, -1);
    /* 30 analog inputs, floats packed from word 100 with a slot left out now and then */
    for (i = 0, off = 100; i < 30; i++, off += 2) {
        if (rnd(&x) % 5u == 0)
            off += 2;
        add_tag(t, &n, 'F', off, -1);
    }
    /* 16 status bits in 4 words */
    for (i = 0; i < 16; i++)
        add_tag(t, &n, 'W', 1000u + i / 4u, (int)((i % 4u) * 4u + rnd(&x) % 4u));
    /* 14 counters, one 32-bit value per 8-word record */
    for (i = 0; i < 14; i++)
        add_tag(t, &n, 'D', 2000u + 8u * i + 2u * (rnd(&x) % 3u), -1);
    /* 15 setpoints with random gaps of 0..59 words: some merge, some do not (max_gap 32) */
    for (i = 0, off = 3000; i < 15; i++) {
        add_tag(t, &n, 'I', off, -1);
        off += 1u + rnd(&x) % 60u;
    }
    /* 20 isolated words spread over the node: one request each */
    for (i = 0; i < 20; i++)
        add_tag(t, &n, 'W', 8000u + 2800u * i + rnd(&x) % 400u, -1);
    return n;
}

/* Plans device `dev`'s ranges here, with the limits the engine will use (max_gap of the
 * device, max_block of the line), independently of the engine's own planning. */
static int plan_device(const gtag_t *t, size_t n, dplan_t *p)
{
    pl_range_t ranges[TAGS_PER_DEV];
    pl_block_t blocks[TAGS_PER_DEV];
    pl_plan_limits_t lim = {MAX_GAP, MAX_BLOCK};
    size_t scratch_len = pl_plan_scratch_size(n), i;
    void *scratch = malloc(scratch_len);
    int nb;

    if (scratch == NULL)
        return -1;
    for (i = 0; i < n; i++) {
        ranges[i].area = 0;
        ranges[i].start = t[i].start;
        ranges[i].len = t[i].len;
    }
    nb = pl_plan(ranges, n, &lim, blocks, TAGS_PER_DEV, NULL, scratch, scratch_len);
    free(scratch);
    if (nb <= 0)
        return -1;
    p->blocks = calloc((size_t)nb, sizeof(*p->blocks));
    if (p->blocks == NULL)
        return -1;
    p->nblocks = (size_t)nb;
    for (i = 0; i < (size_t)nb; i++) {
        p->blocks[i].start = blocks[i].start;
        p->blocks[i].len = blocks[i].len;
        if (blocks[i].len > MAX_BLOCK)
            return -1; /* the baseline reads one block with one request */
    }
    p->requests = pl_plan_requests(blocks, (size_t)nb);
    return 0;
}

static void line_init(pl_line_def_t *l, const char *name, uint16_t port, unsigned timeout_ms)
{
    memset(l, 0, sizeof(*l));
    snprintf(l->name, sizeof(l->name), "%s", name);
    snprintf(l->protocol, sizeof(l->protocol), "7ttcp");
    pl_line_config_init(&l->line);
    (void)pl_hostlist_parse(&l->line.hosts, "127.0.0.1", 9, NULL);
    l->line.port = port;
    l->timeout_ms = timeout_ms;
    snprintf(l->keys, sizeof(l->keys), "keepalive=0&max_block=%u", MAX_BLOCK);
}

static void plant_free(plant_t *p)
{
    size_t i;

    for (i = 0; i < NDEVS; i++)
        free(p->plan[i].blocks);
    free(p->tags);
    free(p->text);
    free(p);
}

static plant_t *plant_new(const bench_child_t *ch)
{
    plant_t *p = calloc(1, sizeof(*p));
    gtag_t gt[TAGS_PER_DEV];
    unsigned d, s;
    size_t i, n;

    if (p == NULL)
        return NULL;
    p->tags = calloc((size_t)NDEVS * TAGS_PER_DEV, sizeof(*p->tags));
    p->text = calloc((size_t)NDEVS * TAGS_PER_DEV, sizeof(*p->text));
    if (p->tags == NULL || p->text == NULL) {
        plant_free(p);
        return NULL;
    }
    for (s = 0; s < NSIMS; s++) {
        char name[16];

        snprintf(name, sizeof(name), "sim%u", s);
        line_init(&p->lines[s], name, ch->ports[s], POLL_TIMEOUT);
    }
    snprintf(p->scan.name, sizeof(p->scan.name), "1s");
    p->scan.period_ms = SCAN_MS;
    for (d = 0; d < NDEVS; d++) {
        pl_device_def_t *dv = &p->devs[d];

        snprintf(dv->name, sizeof(dv->name), "d%03u", d);
        snprintf(dv->line, sizeof(dv->line), "sim%u", d / NODES_PER_SIM);
        snprintf(dv->keys, sizeof(dv->keys), "node=%u", d % NODES_PER_SIM);
        dv->max_gap = MAX_GAP;
        n = gen_tags(d, gt);
        for (i = 0; i < n; i++) {
            char(*text)[PL_NAME_MAX] = p->text[p->ntags];
            pl_tag_def_t *t = &p->tags[p->ntags++];

            snprintf(text[0], sizeof(text[0]), "d%03u.t%02zu", d, i);
            snprintf(text[1], sizeof(text[1]), "%s", gt[i].addr);
            t->name = text[0];
            t->device = dv->name;
            t->address = text[1];
            t->scan = p->scan.name;
        }
        if (plan_device(gt, n, &p->plan[d]) != 0) {
            fprintf(stderr, "bench_engine: planning device %u failed\n", d);
            plant_free(p);
            return NULL;
        }
        p->optimum += p->plan[d].requests;
    }
    return p;
}

/* --- figure 1, engine side ----------------------------------------------------------- */

typedef struct {
    double cpu_ms_per_s;     /* CPU time of this process per second of polling */
    double req_per_cycle;    /* sum over devices of requests / cycles in the window */
    uint64_t req_per_second; /* requests on the wire in the window / seconds */
    int exact;               /* every device: requests == cycles * its optimum */
    uint64_t cycles_min, cycles_max, errors, changes;
} poll_res_t;

typedef struct {
    uint64_t frames, cycles, errors;
} dsnap_t;

typedef struct {
    uv_loop_t loop;
    pl_engine_t *e;
    const plant_t *p;
    uv_timer_t win;
    int phase;
    unsigned seconds;
    double cpu0, cpu1;
    uint64_t ns0, ns1;
    dsnap_t s0[NDEVS], s1[NDEVS];
    uint64_t changes;
} erun_t;

static void on_change_count(pl_engine_t *e, const pl_tag_state_t *st, void *ud)
{
    (void)e;
    (void)st;
    ((erun_t *)ud)->changes++;
}

static void engine_snap(erun_t *r, dsnap_t *s)
{
    pl_engine_stats_t st;
    size_t i;

    for (i = 0; i < NDEVS; i++) {
        memset(&s[i], 0, sizeof(s[i]));
        if (pl_engine_device_stats(r->e, r->p->devs[i].name, &st) == 0) {
            s[i].frames = st.bytes_out / REQ_LEN;
            s[i].cycles = st.cycles;
            s[i].errors = st.errors;
        }
    }
}

static void on_engine_window(uv_timer_t *t)
{
    erun_t *r = t->data;

    if (r->phase == 0) {
        engine_snap(r, r->s0);
        r->ns0 = uv_hrtime();
        r->cpu0 = cpu_seconds();
        r->phase = 1;
        uv_timer_start(&r->win, on_engine_window, (uint64_t)r->seconds * 1000u, 0);
        return;
    }
    r->cpu1 = cpu_seconds();
    r->ns1 = uv_hrtime();
    engine_snap(r, r->s1);
    r->phase = 2;
    pl_engine_stop(r->e, NULL);
    uv_close((uv_handle_t *)&r->win, NULL);
}

static void window_result(const plant_t *p, const dsnap_t *s0, const dsnap_t *s1, double cpu,
                          uint64_t ns, unsigned seconds, poll_res_t *out)
{
    uint64_t frames = 0;
    size_t i;

    memset(out, 0, sizeof(*out));
    out->exact = 1;
    out->cycles_min = UINT64_MAX;
    out->cpu_ms_per_s = ns > 0 ? cpu * 1000.0 / ((double)ns / 1e9) : 0.0;
    for (i = 0; i < NDEVS; i++) {
        uint64_t f = s1[i].frames - s0[i].frames, c = s1[i].cycles - s0[i].cycles;

        frames += f;
        out->errors += s1[i].errors - s0[i].errors;
        if (c < out->cycles_min)
            out->cycles_min = c;
        if (c > out->cycles_max)
            out->cycles_max = c;
        if (c == 0) {
            out->exact = 0;
            continue;
        }
        out->req_per_cycle += (double)f / (double)c;
        if (f != c * p->plan[i].requests)
            out->exact = 0;
    }
    out->req_per_second = seconds > 0 ? frames / seconds : 0;
}

static int run_poll_engine(const plant_t *p, const opts_t *o, poll_res_t *res)
{
    static erun_t r; /* static: 100 devices' snapshots; one run at a time */
    pl_engine_config_t ec;
    pl_engine_cbs_t cbs;
    pl_status_t err;

    memset(&r, 0, sizeof(r));
    memset(&ec, 0, sizeof(ec));
    memset(&cbs, 0, sizeof(cbs));
    r.p = p;
    r.seconds = o->seconds;
    if (uv_loop_init(&r.loop) != 0)
        return -1;
    ec.lines = p->lines;
    ec.nlines = NSIMS;
    ec.devices = p->devs;
    ec.ndevices = NDEVS;
    ec.tags = p->tags;
    ec.ntags = p->ntags;
    ec.scans = &p->scan;
    ec.nscans = 1;
    cbs.on_change = on_change_count;
    pl_status_clear(&err);
    if (pl_engine_new(&r.loop, &ec, &cbs, &r, &r.e, &err) != 0) {
        fprintf(stderr, "bench_engine: pl_engine_new: %s %s\n", pl_strerror(err.code), err.detail);
        (void)uv_loop_close(&r.loop);
        return -1;
    }
    uv_update_time(&r.loop);
    uv_timer_init(&r.loop, &r.win);
    r.win.data = &r;
    (void)pl_engine_start(r.e);
    /* the scan ticks at 0, 1000, 2000... ms: the window starts half a period after tick 1 */
    uv_timer_start(&r.win, on_engine_window, WINDOW_OFFSET, 0);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    pl_engine_free(r.e);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&r.loop) != 0)
        fprintf(stderr, "bench_engine: engine run: loop not empty at the end\n");
    if (r.phase != 2)
        return -1;
    window_result(p, r.s0, r.s1, r.cpu1 - r.cpu0, r.ns1 - r.ns0, r.seconds, res);
    res->changes = r.changes;
    return 0;
}

/* --- figure 1, baseline: the same blocks with the bare client ----------------------- */

typedef struct brun_s brun_t;

typedef struct {
    pl_ttcp_client_t *c;
    pl_ttcp_req_t req;
    uint16_t buf[MAX_BLOCK];
    uint32_t node;
    const dplan_t *plan;
    size_t next; /* next block of the running cycle */
    int busy;
    uint64_t cycles, errors, overruns;
    brun_t *run;
} bdev_t;

struct brun_s {
    uv_loop_t loop;
    bdev_t dev[NDEVS];
    uv_timer_t tick, win;
    int phase, stop;
    unsigned seconds;
    double cpu0, cpu1;
    uint64_t ns0, ns1;
    dsnap_t s0[NDEVS], s1[NDEVS];
    pl_status_t first_error;
};

static void raw_read_done(pl_ttcp_req_t *req)
{
    bdev_t *d = req->data;

    if (d->run->stop)
        return; /* PL_ECANCELED from pl_ttcp_client_free at the end */
    if (req->status.code != 0 && d->errors++ == 0 && d->run->first_error.code == 0)
        d->run->first_error = req->status;
    if (++d->next < d->plan->nblocks) {
        const blk_t *b = &d->plan->blocks[d->next];

        if (pl_ttcp_read(d->c, &d->req, d->node, b->start, d->buf, b->len, raw_read_done) == 0)
            return;
        d->errors++;
    }
    d->busy = 0;
    d->cycles++;
}

static void on_raw_tick(uv_timer_t *t)
{
    brun_t *r = t->data;
    size_t i;

    for (i = 0; i < NDEVS; i++) {
        bdev_t *d = &r->dev[i];
        const blk_t *b = &d->plan->blocks[0];

        if (d->busy) {
            d->overruns++;
            continue;
        }
        d->busy = 1;
        d->next = 0;
        if (pl_ttcp_read(d->c, &d->req, d->node, b->start, d->buf, b->len, raw_read_done) != 0) {
            d->busy = 0;
            d->errors++;
        }
    }
}

static void raw_snap(brun_t *r, dsnap_t *s)
{
    size_t i;

    for (i = 0; i < NDEVS; i++) {
        s[i].frames = pl_line_stats(pl_ttcp_client_line(r->dev[i].c))->bytes_out / REQ_LEN;
        s[i].cycles = r->dev[i].cycles;
        s[i].errors = r->dev[i].errors;
    }
}

static void on_raw_window(uv_timer_t *t)
{
    brun_t *r = t->data;
    size_t i;

    if (r->phase == 0) {
        raw_snap(r, r->s0);
        r->ns0 = uv_hrtime();
        r->cpu0 = cpu_seconds();
        r->phase = 1;
        uv_timer_start(&r->win, on_raw_window, (uint64_t)r->seconds * 1000u, 0);
        return;
    }
    r->cpu1 = cpu_seconds();
    r->ns1 = uv_hrtime();
    raw_snap(r, r->s1);
    r->phase = 2;
    r->stop = 1;
    for (i = 0; i < NDEVS; i++)
        pl_ttcp_client_free(r->dev[i].c);
    uv_close((uv_handle_t *)&r->tick, NULL);
    uv_close((uv_handle_t *)&r->win, NULL);
}

static int run_poll_raw(const plant_t *p, const opts_t *o, poll_res_t *res)
{
    static brun_t r; /* static: 100 clients' state; one run at a time */
    size_t i;

    memset(&r, 0, sizeof(r));
    r.seconds = o->seconds;
    if (uv_loop_init(&r.loop) != 0)
        return -1;
    for (i = 0; i < NDEVS; i++) {
        const pl_line_def_t *l = &p->lines[i / NODES_PER_SIM];
        pl_ttcp_client_config_t cfg;
        bdev_t *d = &r.dev[i];

        /* what the engine's 7TTCP driver makes of the same line definition */
        pl_ttcp_client_config_init(&cfg);
        cfg.line = l->line;
        cfg.timeout_ms = l->timeout_ms;
        cfg.keepalive_ms = 0; /* as line_init() sets it */
        cfg.max_block = MAX_BLOCK;
        d->run = &r;
        d->node = (uint32_t)(i % NODES_PER_SIM);
        d->plan = &p->plan[i];
        d->req.data = d;
        if (pl_ttcp_client_new(&r.loop, &cfg, &d->c) != 0) {
            fprintf(stderr, "bench_engine: pl_ttcp_client_new failed\n");
            while (i-- > 0)
                pl_ttcp_client_free(r.dev[i].c);
            uv_run(&r.loop, UV_RUN_DEFAULT);
            (void)uv_loop_close(&r.loop);
            return -1;
        }
        (void)pl_ttcp_client_start(d->c); /* as the engine's dev_start */
    }
    uv_update_time(&r.loop);
    uv_timer_init(&r.loop, &r.tick);
    uv_timer_init(&r.loop, &r.win);
    r.tick.data = &r;
    r.win.data = &r;
    uv_timer_start(&r.tick, on_raw_tick, 0, SCAN_MS);
    uv_timer_start(&r.win, on_raw_window, WINDOW_OFFSET, 0);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&r.loop) != 0)
        fprintf(stderr, "bench_engine: raw run: loop not empty at the end\n");
    if (r.first_error.code != 0)
        fprintf(stderr, "bench_engine: raw run: first error %s %s\n",
                pl_strerror(r.first_error.code), r.first_error.detail);
    if (r.phase != 2)
        return -1;
    window_result(p, r.s0, r.s1, r.cpu1 - r.cpu0, r.ns1 - r.ns0, r.seconds, res);
    return 0;
}

/* --- figure 2: a healthy device beside a dead one ------------------------------------ */

#define FIG2_TAGS 10

static const char *const g_fig2_addr[FIG2_TAGS] = {
    "W0", "W1", "F2", "W4/0", "D5", "F100", "F102", "I200", "W300", "W5000",
};

typedef struct {
    double rate; /* H's cycles per second */
    uint64_t h_overruns, h_errors;
    uint64_t d_timeouts, d_reconnects, d_cycles;
    int d_demoted;
} dead_res_t;

typedef struct {
    uv_loop_t loop;
    pl_engine_t *e;
    uv_timer_t win;
    int phase, with_dead;
    unsigned seconds;
    uint64_t ns0, ns1;
    pl_engine_stats_t h0, h1, d0, d1;
} drun_t;

static void on_dead_window(uv_timer_t *t)
{
    drun_t *r = t->data;

    if (r->phase == 0) {
        (void)pl_engine_device_stats(r->e, "H", &r->h0);
        if (r->with_dead)
            (void)pl_engine_device_stats(r->e, "D", &r->d0);
        r->ns0 = uv_hrtime();
        r->phase = 1;
        uv_timer_start(&r->win, on_dead_window, (uint64_t)r->seconds * 1000u, 0);
        return;
    }
    r->ns1 = uv_hrtime();
    (void)pl_engine_device_stats(r->e, "H", &r->h1);
    if (r->with_dead)
        (void)pl_engine_device_stats(r->e, "D", &r->d1);
    r->phase = 2;
    pl_engine_stop(r->e, NULL);
    uv_close((uv_handle_t *)&r->win, NULL);
}

static int run_dead(const bench_child_t *ch, int with_dead, const opts_t *o, dead_res_t *res)
{
    static drun_t r;
    pl_line_def_t lines[2];
    pl_device_def_t devs[2];
    pl_tag_def_t tags[2 * FIG2_TAGS];
    char names[2 * FIG2_TAGS][16];
    pl_scan_def_t scan;
    pl_engine_config_t ec;
    pl_status_t err;
    size_t ndev = with_dead ? 2 : 1, i, k, nt = 0;

    memset(&r, 0, sizeof(r));
    memset(devs, 0, sizeof(devs));
    memset(tags, 0, sizeof(tags));
    memset(&scan, 0, sizeof(scan));
    memset(&ec, 0, sizeof(ec));
    r.seconds = o->fast_seconds;
    r.with_dead = with_dead;
    line_init(&lines[0], "live", ch->ports[0], DEAD_TIMEOUT);
    line_init(&lines[1], "dead", ch->ports[1], DEAD_TIMEOUT);
    for (i = 0; i < 2; i++) {
        lines[i].line.backoff_min_ms = BACKOFF_MIN;
        lines[i].line.backoff_max_ms = BACKOFF_MAX;
        snprintf(devs[i].name, sizeof(devs[i].name), "%s", i == 0 ? "H" : "D");
        /* same size (PL_NAME_MAX), NUL-terminated: a copy, which gcc -O3 cannot mistake
         * for a truncation as it did the snprintf */
        _Static_assert(sizeof(devs[i].line) == sizeof(lines[i].name), "line names: one size");
        memcpy(devs[i].line, lines[i].name, sizeof(devs[i].line));
        devs[i].keys[0] = '\0'; /* node 0 */
        devs[i].max_gap = MAX_GAP;
        devs[i].demote_after = DEMOTE_NEVER; /* D stays on scan, timing out all the time */
    }
    snprintf(scan.name, sizeof(scan.name), "fast");
    scan.period_ms = FAST_MS;
    for (i = 0; i < ndev; i++) {
        const char *dname = i == 0 ? "H" : "D";

        for (k = 0; k < FIG2_TAGS; k++) {
            snprintf(names[nt], sizeof(names[nt]), "%s.t%zu", dname, k);
            tags[nt].name = names[nt];
            tags[nt].device = dname;
            tags[nt].address = g_fig2_addr[k];
            tags[nt].scan = "fast";
            nt++;
        }
    }
    ec.lines = lines;
    ec.nlines = ndev;
    ec.devices = devs;
    ec.ndevices = ndev;
    ec.tags = tags;
    ec.ntags = nt;
    ec.scans = &scan;
    ec.nscans = 1;
    if (uv_loop_init(&r.loop) != 0)
        return -1;
    pl_status_clear(&err);
    if (pl_engine_new(&r.loop, &ec, NULL, NULL, &r.e, &err) != 0) {
        fprintf(stderr, "bench_engine: pl_engine_new: %s %s\n", pl_strerror(err.code), err.detail);
        (void)uv_loop_close(&r.loop);
        return -1;
    }
    uv_update_time(&r.loop);
    uv_timer_init(&r.loop, &r.win);
    r.win.data = &r;
    (void)pl_engine_start(r.e);
    uv_timer_start(&r.win, on_dead_window, FIG2_WARMUP, 0);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    pl_engine_free(r.e);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&r.loop) != 0)
        fprintf(stderr, "bench_engine: dead-device run: loop not empty at the end\n");
    if (r.phase != 2 || r.ns1 <= r.ns0)
        return -1;
    memset(res, 0, sizeof(*res));
    res->rate = (double)(r.h1.cycles - r.h0.cycles) / ((double)(r.ns1 - r.ns0) / 1e9);
    res->h_overruns = r.h1.overruns - r.h0.overruns;
    res->h_errors = r.h1.errors - r.h0.errors;
    res->d_timeouts = r.d1.timeouts - r.d0.timeouts;
    res->d_reconnects = r.d1.reconnects - r.d0.reconnects;
    res->d_cycles = r.d1.cycles - r.d0.cycles;
    res->d_demoted = r.d1.demoted;
    return 0;
}

/* --- the figures --------------------------------------------------------------------- */

static unsigned child_alarm(const opts_t *o, unsigned per_run_s)
{
    return o->rounds * 2u * (per_run_s + 10u) + 30u;
}

static int figure_poll(const opts_t *o, bench_result_t *cpu, bench_result_t *req)
{
    srv_spec_t spec = {NSIMS, NODES_PER_SIM, ANIMATE_MS, 0, 0};
    double ratios_cpu[BENCH_MAX_ROUNDS], ratios_req[BENCH_MAX_ROUNDS];
    bench_child_t ch;
    plant_t *p;
    unsigned round, n = 0;
    int exact = 1, rc = 0;

    spec.alarm_s = child_alarm(o, o->seconds + 2u);
    if (child_start(&ch, &spec) != 0) {
        fprintf(stderr, "bench_engine: the simulators did not start\n");
        bench_child_stop(&ch);
        return -1;
    }
    p = plant_new(&ch);
    if (p == NULL) {
        bench_child_stop(&ch);
        return -1;
    }
    fprintf(stderr,
            "# plant: %u devices on %u simulators, %zu tags, 1 scan class of %u ms; planner "
            "optimum %llu requests per cycle (max_gap %u, max_len %u)\n",
            NDEVS, NSIMS, p->ntags, SCAN_MS, (unsigned long long)p->optimum, MAX_GAP, MAX_BLOCK);
    for (round = 0; round < o->rounds && rc == 0; round++) {
        poll_res_t eng, raw;
        int first_raw = round % 2 == 1, side;

        for (side = 0; side < 2 && rc == 0; side++) {
            if ((side == 0) != first_raw)
                rc = run_poll_engine(p, o, &eng);
            else
                rc = run_poll_raw(p, o, &raw);
        }
        if (rc != 0)
            break;
        cpu->runs[0][n] = eng.cpu_ms_per_s;
        cpu->runs[1][n] = raw.cpu_ms_per_s;
        ratios_cpu[n] = raw.cpu_ms_per_s > 0 ? eng.cpu_ms_per_s / raw.cpu_ms_per_s : 0.0;
        req->runs[0][n] = eng.req_per_cycle;
        req->runs[1][n] = (double)p->optimum;
        ratios_req[n] = eng.req_per_cycle / (double)p->optimum;
        if (!eng.exact || eng.cycles_min != o->seconds || eng.cycles_max != o->seconds)
            exact = 0;
        fprintf(stderr,
                "# round %u: engine %.2f ms CPU/s (%llu req/s, %.1f req/cycle, cycles %llu..%llu "
                "per device, %llu errors, %llu changes); raw client %.2f ms CPU/s (%llu req/s, "
                "%.1f req/cycle, %llu errors); CPU ratio %.3f\n",
                round + 1, eng.cpu_ms_per_s, (unsigned long long)eng.req_per_second,
                eng.req_per_cycle, (unsigned long long)eng.cycles_min,
                (unsigned long long)eng.cycles_max, (unsigned long long)eng.errors,
                (unsigned long long)eng.changes, raw.cpu_ms_per_s,
                (unsigned long long)raw.req_per_second, raw.req_per_cycle,
                (unsigned long long)raw.errors, ratios_cpu[n]);
        n++;
    }
    bench_child_stop(&ch);
    if (n == 0) {
        plant_free(p);
        return -1;
    }
    cpu->rounds = req->rounds = n;
    cpu->figure = bench_median(cpu->runs[0], n);
    cpu->baseline = bench_median(cpu->runs[1], n);
    cpu->ratio = bench_median(ratios_cpu, n);
    req->figure = bench_median(req->runs[0], n);
    req->baseline = (double)p->optimum;
    req->ratio = bench_median(ratios_req, n);
    req->met = exact;
    fprintf(stderr, "# requests per cycle: engine %.1f, planner optimum %llu: %s\n", req->figure,
            (unsigned long long)p->optimum, exact ? "met" : "not met");
    plant_free(p);
    return 0;
}

static int figure_dead(const opts_t *o, bench_result_t *res)
{
    srv_spec_t spec = {1, 1, 0, 1, 0};
    double ratios[BENCH_MAX_ROUNDS];
    bench_child_t ch;
    unsigned round, n = 0;
    int rc = 0;

    spec.alarm_s = child_alarm(o, o->fast_seconds + 1u);
    if (child_start(&ch, &spec) != 0) {
        fprintf(stderr, "bench_engine: the simulator or the black hole did not start\n");
        bench_child_stop(&ch);
        return -1;
    }
    for (round = 0; round < o->rounds && rc == 0; round++) {
        dead_res_t with, without;
        int first_without = round % 2 == 1, side;

        for (side = 0; side < 2 && rc == 0; side++) {
            if ((side == 0) != first_without)
                rc = run_dead(&ch, 1, o, &with);
            else
                rc = run_dead(&ch, 0, o, &without);
        }
        if (rc != 0)
            break;
        res->runs[0][n] = with.rate;
        res->runs[1][n] = without.rate;
        ratios[n] = without.rate > 0 ? with.rate / without.rate : 0.0;
        fprintf(stderr,
                "# round %u: H %.1f cycles/s beside D (H overruns %llu, errors %llu; D %llu "
                "timeouts, %llu reconnects, %llu failed cycles, %s), H alone %.1f cycles/s "
                "(overruns %llu); ratio %.3f\n",
                round + 1, with.rate, (unsigned long long)with.h_overruns,
                (unsigned long long)with.h_errors, (unsigned long long)with.d_timeouts,
                (unsigned long long)with.d_reconnects, (unsigned long long)with.d_cycles,
                with.d_demoted ? "demoted" : "on scan", without.rate,
                (unsigned long long)without.h_overruns, ratios[n]);
        n++;
    }
    bench_child_stop(&ch);
    if (n == 0)
        return -1;
    res->rounds = n;
    res->figure = bench_median(res->runs[0], n);
    res->baseline = bench_median(res->runs[1], n);
    res->ratio = bench_median(ratios, n);
    res->met = res->ratio >= 0.90;
    return 0;
}

/* --profile WHAT: one side of one figure, once, no table row. */
static int profile(const opts_t *o)
{
    if (strcmp(o->profile, "poll-engine") == 0 || strcmp(o->profile, "poll-raw") == 0) {
        srv_spec_t spec = {NSIMS, NODES_PER_SIM, ANIMATE_MS, 0, 0};
        poll_res_t r;
        bench_child_t ch;
        plant_t *p;
        int rc;

        spec.alarm_s = o->seconds + 30u;
        if (child_start(&ch, &spec) != 0 || (p = plant_new(&ch)) == NULL) {
            bench_child_stop(&ch);
            return 1;
        }
        fprintf(stderr, "bench_engine: child (simulators) pid %ld, this process %ld\n",
                (long)ch.pid, (long)getpid());
        rc = o->profile[5] == 'e' ? run_poll_engine(p, o, &r) : run_poll_raw(p, o, &r);
        bench_child_stop(&ch);
        if (rc == 0)
            printf("%s: %.2f ms CPU/s, %llu req/s, %.1f req/cycle (optimum %llu), %llu "
                   "errors\n",
                   o->profile, r.cpu_ms_per_s, (unsigned long long)r.req_per_second,
                   r.req_per_cycle, (unsigned long long)p->optimum, (unsigned long long)r.errors);
        plant_free(p);
        return rc == 0 ? 0 : 1;
    }
    if (strcmp(o->profile, "dead-with") == 0 || strcmp(o->profile, "dead-without") == 0) {
        srv_spec_t spec = {1, 1, 0, 1, 0};
        dead_res_t r;
        bench_child_t ch;
        int rc;

        spec.alarm_s = o->fast_seconds + 30u;
        if (child_start(&ch, &spec) != 0) {
            bench_child_stop(&ch);
            return 1;
        }
        rc = run_dead(&ch, strcmp(o->profile, "dead-with") == 0, o, &r);
        bench_child_stop(&ch);
        if (rc == 0)
            printf("%s: H %.1f cycles/s, H overruns %llu; D timeouts %llu, reconnects %llu\n",
                   o->profile, r.rate, (unsigned long long)r.h_overruns,
                   (unsigned long long)r.d_timeouts, (unsigned long long)r.d_reconnects);
        return rc == 0 ? 0 : 1;
    }
    fprintf(stderr, "bench_engine: unknown --profile %s\n", o->profile);
    return 2;
}

/* --- options ---------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_engine [--quick] [--json] [--seconds S] [--fast-seconds S]\n"
            "                    [--rounds N] [--pin same|split|none] [--profile WHAT]\n"
            "  --quick        2 s and 1 s windows, 1 round (default 5 s, 3 s, 3 rounds)\n"
            "  --seconds S    figure 1 window, whole seconds (1..60)\n"
            "  --fast-seconds S  figure 2 window, whole seconds (1..60)\n"
            "  --rounds N     engine/baseline pairs, 1..%d; the medians are reported\n"
            "  --pin MODE     same: this process and the servers on one CPU; split: on two;\n"
            "                 none (default): the scheduler's\n"
            "  --profile WHAT one side once, no row: poll-engine, poll-raw, dead-with,\n"
            "                 dead-without\n",
            BENCH_MAX_ROUNDS);
}

static int parse_opts(int argc, char **argv, opts_t *o)
{
    int i, rounds_set = 0, quick = 0;

    memset(o, 0, sizeof(*o));
    o->seconds = 5;
    o->fast_seconds = 3;
    o->rounds = 3;
    o->pin = BENCH_PIN_NONE;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--quick") == 0) {
            quick = 1;
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "--seconds") == 0 && i + 1 < argc) {
            if (bench_parse_uint(argv[++i], 1, 60, &o->seconds) != 0)
                return -1;
        } else if (strcmp(a, "--fast-seconds") == 0 && i + 1 < argc) {
            if (bench_parse_uint(argv[++i], 1, 60, &o->fast_seconds) != 0)
                return -1;
        } else if (strcmp(a, "--rounds") == 0 && i + 1 < argc) {
            if (bench_parse_uint(argv[++i], 1, BENCH_MAX_ROUNDS, &o->rounds) != 0)
                return -1;
            rounds_set = 1;
        } else if (strcmp(a, "--pin") == 0 && i + 1 < argc) {
            if (bench_pin_parse(argv[++i], &o->pin) != 0)
                return -1;
        } else if (strcmp(a, "--profile") == 0 && i + 1 < argc) {
            o->profile = argv[++i];
        } else {
            return -1;
        }
    }
    if (quick) {
        o->seconds = 2;
        o->fast_seconds = 1;
        if (!rounds_set)
            o->rounds = 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    bench_result_t rs[3];
    opts_t o;
    size_t nres = 0;
    int failed = 0;

    if (parse_opts(argc, argv, &o) != 0) {
        usage();
        return 2;
    }
    bench_init("bench_engine");
    (void)bench_raise_nofile(NOFILE_WANT - BENCH_FD_SLACK, NULL); /* far more than needed */
    bench_pin_apply(o.pin);
    if (o.profile != NULL)
        return profile(&o);
    fprintf(stderr, "# windows %u s (1 s scan) and %u s (10 ms scan), %u rounds, median\n",
            o.seconds, o.fast_seconds, o.rounds);

    bench_result_init(&rs[0], "engine CPU, 10000 tags on 100 devices, 1 s scan", "ms CPU/s", 2, "-",
                      0);
    bench_result_init(&rs[1], "engine requests per cycle vs planner optimum", "req/cycle", 0,
                      "= 1 (equal)", 0);
    rs[0].conns = rs[1].conns = NDEVS;
    rs[0].seconds = rs[1].seconds = o.seconds;
    if (figure_poll(&o, &rs[0], &rs[1]) == 0)
        nres += 2;
    else
        failed = 1;

    bench_result_init(&rs[nres], "healthy device beside a dead one, 10 ms scan", "cycles/s", 1,
                      ">= 0.90", 0.90);
    rs[nres].seconds = o.fast_seconds;
    if (figure_dead(&o, &rs[nres]) == 0)
        nres++;
    else
        failed = 1;

    bench_results_print(rs, nres, o.json);
    return failed ? 1 : 0;
}
