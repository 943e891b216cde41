/* SPDX-License-Identifier: MIT */
/*
 * bench_iec104: what the engine costs on an event-driven (IEC 60870-5-104) device, each
 * figure beside a baseline measured in the same run.
 *
 *   1. Spontaneous events ingested per second. The controlled-station simulator (in a
 *      server child) holds POINTS measured values with time tag (M_ME_TF_1, i.e. M_ME_NC_1
 *      with its CP56Time2a) and makes animation steps as fast as its k = 12 window lets
 *      them out (it keeps EVENT_BACKLOG events queued, one I-frame each). Figure: values
 *      the engine published per second (on_change calls; a device with one tag per IOA,
 *      the client acknowledging with w = 8 after each push returned). Baseline: a raw
 *      socket reader against the same simulator that only frames the APDUs, counts the
 *      I-frames and acknowledges every w of them (an S-frame), with no ASDU decoding, no
 *      engine and no libuv. Target: ratio >= 0.70.
 *   2. Memory per information object: heap in use (mallinfo2) and RSS of this process
 *      after an engine with one IEC 104 device and N tags (one per IOA, N = MEM_IOAS, in
 *      several simulator stations of at most 65536 points) has received every value of a
 *      general interrogation, less the same engine with one tag per station, divided by
 *      the tags added. Each measurement runs in a fresh child process so that allocator
 *      state does not carry over; the row's baseline is that empty engine's heap.
 *
 * Output: markdown rows ("| benchmark | figure | baseline | ratio | target | met |",
 * docs/bench.md), or JSON with --json; per-round numbers go to stderr as "# " notes. Exit
 * 0 when it measured, whatever the targets; 1 when it could not measure. --quick makes
 * short runs and a smaller plant (what the test suite's cli_test_bench_iec104 runs, so
 * the program cannot rot). Only 127.0.0.1 and kernel-picked ports are used, only the
 * children forked here are signalled (by pid), and every handle is closed.
 */
#define _GNU_SOURCE /* mallinfo2 */

#include "bench_support.h"
#include "proto/iec104/codec/apci.h"
#include "plcline/engine.h"
#include "plcline/error.h"
#include "plcline/hostlist.h"
#include "plcline/iec104.h"

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#define POINTS         10000u /* measured values the event figure's station animates */
#define FIRST_IOA      1001u  /* their first IOA */
#define EVENT_BACKLOG  64u    /* events the station keeps queued ahead of the window */
#define K_WINDOW       12u    /* the windows */
#define W_WINDOW       8u
#define MAX_SECONDS    60.0    /* the largest --seconds */
#define MEM_IOAS       100000u /* figure 2's tags */
#define MEM_IOAS_QUICK 10000u
#define STATION_MAX    50000u /* points per simulator station in figure 2 (<= 65536) */
#define MEM_STATIONS   (MEM_IOAS / STATION_MAX)
#define MEM_WAIT_MS    60000u /* bound of figure 2's interrogations */
#define KIB            1024.0

enum { SIDE_ENGINE = 0, SIDE_RAW = 1 };

/* --- the simulator child ------------------------------------------------------------- */

typedef struct {
    uv_loop_t loop;
    pl_iec104_server_t *srv[MEM_STATIONS];
    unsigned nsrv;
    uv_check_t feed;
    int feeding;
} sim_t;

/* Keeps EVENT_BACKLOG events ahead of what left: after every turn of the loop (the acks
 * arrived), as many animation steps as the backlog lacks. */
static void on_feed(uv_check_t *h)
{
    sim_t *s = h->data;
    const pl_iec104_server_stats_t *st = pl_iec104_server_stats(s->srv[0]);
    unsigned n = 0;

    if (pl_iec104_server_conn_count(s->srv[0]) == 0)
        return;
    while (st->events - st->events_sent < EVENT_BACKLOG && n++ < EVENT_BACKLOG)
        (void)pl_iec104_server_step(s->srv[0]);
}

static void sim_stop(void *data)
{
    sim_t *s = data;
    unsigned i;

    if (s->feeding)
        uv_close((uv_handle_t *)&s->feed, NULL);
    for (i = 0; i < s->nsrv; i++)
        pl_iec104_server_free(s->srv[i]);
}

/* arg: NULL for figure 1's station; else a const unsigned *: the stations of figure 2, each
 * with STATION_MAX M_ME_NC_1 points (the last one with the rest). */
static int serve_sim(void *arg, int ctl, int report)
{
    static sim_t s;
    pl_iec104_server_config_t cfg;
    char spec[64];
    uint16_t ports[MEM_STATIONS];
    unsigned i, n = 1, total = arg != NULL ? *(const unsigned *)arg : 0;
    pl_status_t err;

    memset(&s, 0, sizeof(s));
    memset(ports, 0, sizeof(ports));
    if (uv_loop_init(&s.loop) != 0) {
        bench_child_report(report, ports, 1);
        return 1;
    }
    if (arg != NULL)
        n = (total + STATION_MAX - 1) / STATION_MAX;
    for (i = 0; i < n; i++) {
        unsigned npts =
            arg == NULL
                ? POINTS
                : (total - i * STATION_MAX < STATION_MAX ? total - i * STATION_MAX : STATION_MAX);

        pl_iec104_server_config_init(&cfg);
        cfg.listen.addr = "127.0.0.1";
        cfg.listen.port = 0;
        cfg.k = K_WINDOW;
        cfg.w = W_WINDOW;
        cfg.grouping = PL_IEC104_GROUP_PER_CONNECTION;
        snprintf(spec, sizeof(spec), "%s:%u-%u", arg == NULL ? "M_ME_TF_1" : "M_ME_NC_1", FIRST_IOA,
                 FIRST_IOA + npts - 1u);
        cfg.points = spec;
        if (pl_iec104_server_new(&s.loop, &cfg, &s.srv[i], &err) != 0) {
            fprintf(stderr, "bench_iec104: simulator: %s %s\n", pl_strerror(err.code), err.detail);
            ports[0] = 0;
            bench_child_report(report, ports, 1);
            sim_stop(&s);
            uv_run(&s.loop, UV_RUN_DEFAULT);
            (void)uv_loop_close(&s.loop);
            return 1;
        }
        s.nsrv++;
        ports[i] = pl_iec104_server_port(s.srv[i]);
    }
    if (arg == NULL) {
        uv_check_init(&s.loop, &s.feed);
        s.feed.data = &s;
        uv_check_start(&s.feed, on_feed);
        s.feeding = 1;
    }
    return bench_child_serve_loop(&s.loop, ctl, report, ports, n, sim_stop, &s);
}

static const bench_child_spec_t g_sim = {serve_sim, NULL, 1, 0, 0};

/* --- figure 1, plcline: the engine with one device, a tag per IOA ------------------------- */

typedef struct {
    uv_loop_t loop;
    pl_engine_t *e;
    bench_window_t win;
    uint64_t changes;
    unsigned ntags;
} erun_t;

/* The definitions of an engine with one iec104 line per port and `ntags` tags spread over
 * them (station i holds IOAs FIRST_IOA.. of its share). Returns 0 or -1. */
typedef struct {
    pl_line_def_t *lines;
    pl_device_def_t *devs;
    pl_tag_def_t *tags;
    char *text; /* names and addresses, 32 bytes each */
    unsigned nlines, ntags;
} defs_t;

static void defs_free(defs_t *d)
{
    free(d->lines);
    free(d->devs);
    free(d->tags);
    free(d->text);
    memset(d, 0, sizeof(*d));
}

static int defs_make(defs_t *d, const uint16_t *ports, unsigned nports, const unsigned *per_port,
                     const char *type)
{
    unsigned i, j, t = 0;

    memset(d, 0, sizeof(*d));
    for (i = 0; i < nports; i++)
        d->ntags += per_port[i];
    d->nlines = nports;
    d->lines = calloc(nports, sizeof(*d->lines));
    d->devs = calloc(nports, sizeof(*d->devs));
    d->tags = calloc(d->ntags, sizeof(*d->tags));
    d->text = calloc(d->ntags, 64);
    if (d->lines == NULL || d->devs == NULL || d->tags == NULL || d->text == NULL) {
        defs_free(d);
        return -1;
    }
    for (i = 0; i < nports; i++) {
        pl_line_def_t *l = &d->lines[i];
        pl_device_def_t *dv = &d->devs[i];

        snprintf(l->name, sizeof(l->name), "L%u", i);
        snprintf(l->protocol, sizeof(l->protocol), "iec104");
        pl_line_config_init(&l->line);
        (void)pl_hostlist_parse(&l->line.hosts, "127.0.0.1", 9, NULL);
        l->line.port = ports[i];
        snprintf(l->keys, sizeof(l->keys), "k=%u&w=%u", K_WINDOW, W_WINDOW);
        snprintf(dv->name, sizeof(dv->name), "S%u", i);
        snprintf(dv->line, sizeof(dv->line), "L%u", i);
        snprintf(dv->keys, sizeof(dv->keys), "ca=1");
        for (j = 0; j < per_port[i]; j++, t++) {
            char *name = d->text + (size_t)t * 64u, *addr = name + 32;

            snprintf(name, 32, "s%u.p%u", i, FIRST_IOA + j);
            snprintf(addr, 32, "%s:%u", type, FIRST_IOA + j);
            d->tags[t].name = name;
            d->tags[t].device = dv->name;
            d->tags[t].address = addr;
        }
    }
    return 0;
}

static int engine_new(uv_loop_t *loop, const defs_t *d, const pl_engine_cbs_t *cbs, void *ud,
                      pl_engine_t **out)
{
    pl_engine_config_t ec;
    pl_status_t err;

    memset(&ec, 0, sizeof(ec));
    ec.lines = d->lines;
    ec.nlines = d->nlines;
    ec.devices = d->devs;
    ec.ndevices = d->nlines;
    ec.tags = d->tags;
    ec.ntags = d->ntags;
    pl_status_clear(&err);
    if (pl_engine_new(loop, &ec, cbs, ud, out, &err) != 0) {
        fprintf(stderr, "bench_iec104: pl_engine_new: %s %s\n", pl_strerror(err.code), err.detail);
        return -1;
    }
    return 0;
}

static void on_change_count(pl_engine_t *e, const pl_tag_state_t *st, void *ud)
{
    erun_t *r = ud;

    (void)e, (void)st;
    r->changes++;
}

static void on_engine_end(bench_window_t *w)
{
    erun_t *r = w->data;

    pl_engine_stop(r->e, NULL);
}

/* Values per second the engine published from the station at `port` (bench_client_fn). */
static double run_engine(uint16_t port, const bench_opts_t *o, void *ctx, bench_meter_t *m)
{
    static erun_t r;
    unsigned per = POINTS;
    defs_t d;
    double rate;

    (void)ctx;
    memset(&r, 0, sizeof(r));
    if (defs_make(&d, &port, 1, &per, "M_ME_TF_1") != 0 || uv_loop_init(&r.loop) != 0)
        return -1.0;
    {
        pl_engine_cbs_t cbs = {on_change_count, NULL};

        if (engine_new(&r.loop, &d, &cbs, &r, &r.e) != 0) {
            defs_free(&d);
            (void)uv_loop_close(&r.loop);
            return -1.0;
        }
    }
    defs_free(&d); /* the engine keeps what it needs */
    (void)pl_engine_start(r.e);
    r.win.data = &r;
    bench_window_start(&r.win, &r.loop, o->warmup, o->seconds, m, &r.changes, on_engine_end);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    pl_engine_free(r.e);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&r.loop) != 0)
        fprintf(stderr, "bench_iec104: engine run: loop not empty at the end\n");
    rate = bench_meter_rate(m, bench_window_count(&r.win));
    return rate;
}

/* --- figure 1, baseline: a raw reader that frames and acknowledges ---------------------- */

static int send_u(int fd, uint8_t func)
{
    uint8_t b[PL_IEC104_APCI_LEN];
    int n = pl_iec104_encode_u(b, sizeof(b), func);

    return n > 0 ? bench_write_all(fd, b, (size_t)n) : -1;
}

/* I-frames per second from the station at `port`: STARTDT act, then read, frame, count the
 * I-frames and send an S-frame after every w of them (bench_client_fn). */
static double run_raw(uint16_t port, const bench_opts_t *o, void *ctx, bench_meter_t *m)
{
    static uint8_t buf[65536];
    size_t have = 0, off;
    uint64_t iframes = 0, mark = 0;
    uint16_t nr = 0;
    unsigned unacked = 0;
    double t0, warm_end, end;
    int fd, measuring = 0, failed = 0;

    (void)ctx;
    fd = bench_connect_loopback(port);
    if (fd < 0)
        return -1.0;
    (void)bench_set_nodelay(fd);
    if (send_u(fd, PL_IEC104_U_STARTDT_ACT) != 0) {
        close(fd);
        return -1.0;
    }
    t0 = bench_now_s();
    warm_end = t0 + o->warmup;
    end = warm_end + o->seconds;
    for (;;) {
        double now = bench_now_s();
        ssize_t got;

        if (!measuring && now >= warm_end) {
            bench_meter_start(m);
            mark = iframes;
            measuring = 1;
        }
        if (measuring && now >= end)
            break;
        got = read(fd, buf + have, sizeof(buf) - have);
        if (got <= 0) {
            failed = 1;
            break;
        }
        have += (size_t)got;
        off = 0;
        for (;;) {
            pl_iec104_apdu_t a;
            int n = pl_iec104_frame(buf + off, have - off, NULL);

            if (n == PL_EAGAIN)
                break;
            if (n < 0 || pl_iec104_decode(buf + off, (size_t)n, &a) != 0) {
                failed = 1;
                break;
            }
            if (a.kind == PL_IEC104_FRAME_I) {
                iframes++;
                nr = pl_iec104_seq_add(nr, 1);
                if (++unacked >= W_WINDOW) {
                    uint8_t s[PL_IEC104_APCI_LEN];
                    int sl = pl_iec104_encode_s(s, sizeof(s), nr);

                    if (sl < 0 || bench_write_all(fd, s, (size_t)sl) != 0)
                        failed = 1;
                    unacked = 0;
                }
            } else if (a.kind == PL_IEC104_FRAME_U && a.func == PL_IEC104_U_TESTFR_ACT) {
                if (send_u(fd, PL_IEC104_U_TESTFR_CON) != 0)
                    failed = 1;
            }
            off += (size_t)n;
        }
        if (failed)
            break;
        memmove(buf, buf + off, have - off);
        have -= off;
    }
    if (measuring)
        bench_meter_stop(m);
    close(fd);
    if (failed || !measuring) {
        fprintf(stderr, "bench_iec104: raw reader: the connection failed\n");
        return -1.0;
    }
    return bench_meter_rate(m, iframes - mark);
}

/* --- figure 1: the rounds ----------------------------------------------------------- */

static double run_once(int side, const bench_opts_t *o, void *ctx, double *share)
{
    (void)ctx;
    return bench_run_side(&g_sim, side == SIDE_ENGINE ? run_engine : run_raw, NULL, o, share);
}

static const char *side_name(int side)
{
    return side == SIDE_ENGINE ? "engine (on_change)" : "raw reader (frame + S-frame)";
}

static int figure_events(bench_result_t *res, const bench_opts_t *o)
{
    static const int base[] = {SIDE_RAW};
    bench_sides_t sides = {run_once, side_name, NULL};

    res->conns = 1;
    return bench_throughput(res, &sides, SIDE_ENGINE, base, 1, o);
}

/* --- figure 2: memory per information object ---------------------------------------- */

typedef struct {
    uv_loop_t loop;
    pl_engine_t *e;
    uv_timer_t guard, poll;
    uint64_t want, got;
    int expired;
} mrun_t;

static void on_change_mem(pl_engine_t *e, const pl_tag_state_t *st, void *ud)
{
    mrun_t *r = ud;

    (void)e;
    if (st->quality == PL_Q_GOOD)
        r->got++;
}

static void on_mem_poll(uv_timer_t *t)
{
    mrun_t *r = t->data;

    if (r->got >= r->want)
        uv_stop(&r->loop);
}

static void on_mem_guard(uv_timer_t *t)
{
    mrun_t *r = t->data;

    r->expired = 1;
    uv_stop(&r->loop);
}

/* Heap in use: small blocks and the ones malloc mapped on their own. */
static double heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();

    return (double)mi.uordblks + (double)mi.hblkhd;
}

/* In a child of its own: an engine with `ntags` tags over the stations at ports[0..n)
 * (per[i] tags each) receives every value of a general interrogation; writes heap and RSS
 * growth (bytes, from before the engine was made) to fd `out`. Returns the exit status. */
static int mem_child(const uint16_t *ports, unsigned n, const unsigned *per, int out)
{
    static mrun_t r;
    double before[2], after[2];
    defs_t d;
    pl_engine_cbs_t cbs = {on_change_mem, NULL};
    int ok;

    memset(&r, 0, sizeof(r));
    before[0] = heap_bytes();
    before[1] = bench_rss_bytes();
    if (uv_loop_init(&r.loop) != 0 || defs_make(&d, ports, n, per, "M_ME_NC_1") != 0)
        return 1;
    r.want = d.ntags;
    if (engine_new(&r.loop, &d, &cbs, &r, &r.e) != 0)
        return 1;
    defs_free(&d);
    uv_timer_init(&r.loop, &r.guard);
    uv_timer_init(&r.loop, &r.poll);
    r.guard.data = r.poll.data = &r;
    uv_timer_start(&r.guard, on_mem_guard, MEM_WAIT_MS, 0);
    uv_timer_start(&r.poll, on_mem_poll, 10, 10);
    (void)pl_engine_start(r.e);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    after[0] = heap_bytes();
    after[1] = bench_rss_bytes();
    ok = !r.expired;
    pl_engine_stop(r.e, NULL);
    pl_engine_free(r.e);
    uv_close((uv_handle_t *)&r.guard, NULL);
    uv_close((uv_handle_t *)&r.poll, NULL);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&r.loop);
    if (!ok) {
        fprintf(stderr, "bench_iec104: %llu of %llu values after %u ms\n",
                (unsigned long long)r.got, (unsigned long long)r.want, MEM_WAIT_MS);
        return 1;
    }
    {
        double v[2] = {after[0] - before[0], after[1] - before[1]};

        if (write(out, v, sizeof(v)) != (ssize_t)sizeof(v))
            return 1;
    }
    return 0;
}

/* Runs mem_child in a fresh process; heap and RSS growth into v. Returns 0 or -1. */
static int mem_measure(const uint16_t *ports, unsigned n, const unsigned *per, double v[2])
{
    int pfd[2], status;
    pid_t pid;
    ssize_t got;

    if (pipe(pfd) != 0)
        return -1;
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        close(pfd[0]);
        _exit(mem_child(ports, n, per, pfd[1]));
    }
    close(pfd[1]);
    got = read(pfd[0], v, 2 * sizeof(double)) == (ssize_t)(2 * sizeof(double)); /* one write */
    close(pfd[0]);
    status = bench_reap(pid, (long)MEM_WAIT_MS + 10000);
    return got && status == 0 ? 0 : -1;
}

static int figure_memory(bench_result_t *heap, bench_result_t *rss, unsigned ioas,
                         const bench_opts_t *o)
{
    bench_child_spec_t spec = {serve_sim, &ioas, 0, 0, 0};
    unsigned per[MEM_STATIONS], one[MEM_STATIONS], n, i, round, rounds = o->rounds;
    double fh[BENCH_MAX_ROUNDS], fr[BENCH_MAX_ROUNDS], bh[BENCH_MAX_ROUNDS], th[BENCH_MAX_ROUNDS];
    double br[BENCH_MAX_ROUNDS], tr[BENCH_MAX_ROUNDS];
    bench_child_t ch;

    n = (ioas + STATION_MAX - 1) / STATION_MAX;
    spec.nports = n;
    spec.alarm_s = 300;
    for (i = 0; i < n; i++) {
        per[i] = ioas - i * STATION_MAX < STATION_MAX ? ioas - i * STATION_MAX : STATION_MAX;
        one[i] = 1;
    }
    if (bench_child_start(&ch, &spec) != 0) {
        bench_child_stop(&ch);
        return -1;
    }
    for (round = 0; round < rounds; round++) {
        double full[2], empty[2];

        if (mem_measure(ch.ports, n, one, empty) != 0 || mem_measure(ch.ports, n, per, full) != 0) {
            bench_child_stop(&ch);
            return -1;
        }
        fh[round] = (full[0] - empty[0]) / (double)(ioas - n);
        fr[round] = (full[1] - empty[1]) / (double)(ioas - n);
        bh[round] = empty[0];
        th[round] = full[0];
        br[round] = empty[1];
        tr[round] = full[1];
        fprintf(stderr,
                "# memory round %u: %u tags: heap +%.0f KiB, RSS +%.0f KiB; %u tags (empty): "
                "heap +%.0f KiB, RSS +%.0f KiB; %.1f heap bytes/IOA, %.1f RSS bytes/IOA\n",
                round + 1, ioas, full[0] / KIB, full[1] / KIB, n, empty[0] / KIB, empty[1] / KIB,
                fh[round], fr[round]);
    }
    bench_child_stop(&ch);
    heap->figure = bench_median(fh, rounds);
    heap->baseline = bench_median(bh, rounds) / KIB;
    rss->figure = bench_median(fr, rounds);
    rss->baseline = bench_median(br, rounds) / KIB;
    snprintf(heap->figure_text, sizeof(heap->figure_text), "%.0f B/IOA (%u IOAs)", heap->figure,
             ioas);
    snprintf(heap->baseline_text, sizeof(heap->baseline_text), "%.0f KiB heap, engine of %u tags",
             heap->baseline, n);
    snprintf(rss->figure_text, sizeof(rss->figure_text), "%.0f B/IOA (%u IOAs)", rss->figure, ioas);
    snprintf(rss->baseline_text, sizeof(rss->baseline_text), "%.0f KiB RSS, engine of %u tags",
             rss->baseline, n);
    /* the ratio: the engine with every IOA against the empty one */
    heap->ratio = bench_median(th, rounds) / bench_median(bh, rounds);
    rss->ratio = bench_median(tr, rounds) / bench_median(br, rounds);
    heap->met = heap->figure < 512.0;
    rss->met = rss->figure < 512.0;
    return 0;
}

/* --- main ---------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: bench_iec104 [--quick] [--json] [--seconds S] [--rounds N] [--pin "
                    "same|split|none] [--ioas N]\n");
}

int main(int argc, char **argv)
{
    bench_result_t rs[3];
    bench_opts_t o;
    unsigned ioas = 0;
    size_t nres = 0;
    int i, rc, failed = 0, quick = 0;

    bench_opts_init(&o, MAX_SECONDS);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        rc = bench_opts_arg(&o, argc, argv, &i);
        if (rc < 0) {
            usage();
            return 2;
        }
        if (rc > 0)
            continue;
        if (strcmp(argv[i], "--ioas") == 0 && i + 1 < argc) {
            if (bench_parse_uint(argv[++i], 1000, MEM_STATIONS * STATION_MAX, &ioas) != 0) {
                usage();
                return 2;
            }
        } else {
            usage();
            return 2;
        }
    }
    if (ioas == 0)
        ioas = quick ? MEM_IOAS_QUICK : MEM_IOAS;
    bench_init("bench_iec104");
    bench_pin_apply(o.pin);

    bench_result_init(&rs[nres], "iec104: spontaneous M_ME_TF_1 events ingested, k=12 w=8",
                      "events/s", 0, ">= 0.70", 0.70);
    if (figure_events(&rs[nres], &o) == 0)
        nres++;
    else
        failed = 1;

    bench_result_init(&rs[nres], "iec104: engine heap per information object", "B/IOA", 0,
                      "< 512 B/IOA", 0);
    bench_result_init(&rs[nres + 1], "iec104: engine RSS per information object", "B/IOA", 0,
                      "< 512 B/IOA", 0);
    if (figure_memory(&rs[nres], &rs[nres + 1], ioas, &o) == 0)
        nres += 2;
    else
        failed = 1;

    bench_results_print(rs, nres, o.json);
    return failed ? 1 : 0;
}
