/* SPDX-License-Identifier: MIT */
/*
 * bench_lines: what redundant lines cost when a device dies, and whether lines give back
 * every descriptor and byte after a storm of reconnections.
 *
 *   1. Switchover time, parallel mode (D2000 "TCP/IP-TCP Redundant", redundancy=parallel):
 *      a 7TTCP client polls (next read issued from the completion) a primary and a backup
 *      node simulator, each in a forked child process. The primary dies:
 *        - loudly: SIGKILL to its child; the kernel closes its connections;
 *        - silently: SIGSTOP to its child; the connections stay open and nothing answers,
 *          so only the request timeout (20 ms) finds it.
 *      The figure is the time from the signal to the first request answered on the backup,
 *      median and maximum over the repetitions. Baselines from the same run: the plain
 *      request round-trip time (the switchover in round trips), and for the silent case
 *      the request timeout (the switchover should cost that and nothing more).
 *   2. 1000 lines (7TTCP clients, polling) against a flapping simulator that closes every
 *      connection when its 4th frame arrives, for 5 s (--quick 1 s): open descriptors
 *      before, during and after freeing the lines, heap in use (mallinfo2) and RSS
 *      (/proc/self/statm) before and after. After freeing all lines and running the loop
 *      until nothing is left, the descriptors must be back to the starting number and the
 *      heap must not have grown.
 *
 * Output follows docs/bench.md: one markdown row of six cells per figure on stdout (or a
 * JSON array with --json), per-repetition numbers on stderr ("# " lines go to the notes of
 * bench/results.md). It measures and reports; it exits 1 only when it could not measure.
 * Every loop is bounded in count and time, every child by alarm(); only 127.0.0.1 and
 * 127.0.0.2 with kernel-picked ports are used; only this program's own children are
 * signalled, by pid.
 */
#define _GNU_SOURCE /* mallinfo2, malloc_trim */

#include "bench_support.h"
#include "plcline/error.h"
#include "plcline/line.h"
#include "plcline/ttcp.h"

#include <dirent.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define STEP_WAIT_MS     5000u /* for any one step of a repetition */
#define MAX_REPS         50u
#define WARM_REQUESTS    50u    /* answered reads before the primary dies */
#define SWITCH_TARGET_MS 50.0   /* loopback target for a switchover */
#define BACKOFF_MIN_MS   1000u  /* a reconnect would wait at least 3/4 of this: visible */
#define LOUD_TIMEOUT_MS  1000u  /* request timeout, primary killed */
#define SILENT_TIMEOUT   20u    /* request timeout, primary stopped */
#define FLAP_CLOSE_AFTER 4u     /* the flapping simulator closes a connection at frame 4 */
#define FLAP_TIMEOUT_MS  2000u  /* request timeout of the flapping lines */
#define FLAP_MAX_CONNECT 500000 /* stop the storm after this many connections in all */
#define SAMPLE_MS        100u   /* descriptor count sampling during the storm */
#define HEAP_SLACK_KIB   64.0   /* heap growth counted as "none" (libuv's fd-indexed arrays) */
#define KIB              1024.0

typedef struct {
    unsigned reps;
    double seconds; /* storm duration */
    unsigned lines;
    int json;
} opts_t;

_Static_assert(MAX_REPS <= BENCH_MEDIAN_MAX, "bench_median() takes every repetition");

static bench_result_t g_rows[8];
static unsigned g_nrows;

static uint64_t now_ns(void)
{
    return uv_hrtime();
}

static double max_of(const double *v, unsigned n)
{
    double m = 0.0;
    unsigned i;

    for (i = 0; i < n; i++)
        if (v[i] > m)
            m = v[i];
    return m;
}

/* --- process figures ------------------------------------------------------------------------ */

static unsigned count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    unsigned n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n > 0 ? n - 1 : 0; /* the directory's own descriptor */
}

static double rss_kib(void)
{
    return bench_rss_bytes() / KIB;
}

static double heap_kib(void)
{
    return (double)mallinfo2().uordblks / KIB;
}

/* --- simulators in child processes ---------------------------------------------------------- */

typedef struct {
    const char *addr;
    unsigned close_after;
} sim_t;

/* The child's server (bench_serve_fn): a simulator on sim->addr until the parent kills it
 * (a primary's death is the figure), or alarm(). */
static int child_serve(void *arg, int ctl, int report)
{
    const sim_t *sim = arg;
    pl_ttcp_server_config_t cfg;
    pl_ttcp_server_t *srv = NULL;
    pl_status_t err;
    uv_loop_t loop;
    uint16_t port = 0;

    (void)ctl;
    if (uv_loop_init(&loop) != 0) {
        bench_child_report(report, &port, 1);
        return 1;
    }
    pl_ttcp_server_config_init(&cfg);
    cfg.listen.addr = sim->addr;
    cfg.close_after = sim->close_after;
    if (pl_ttcp_server_new(&loop, &cfg, &srv, &err) == 0)
        port = pl_ttcp_server_port(srv);
    else
        fprintf(stderr, "bench_lines: simulator %s: %s %s\n", sim->addr, pl_strerror(err.code),
                err.detail);
    bench_child_report(report, &port, 1);
    if (port == 0)
        return 1;
    uv_run(&loop, UV_RUN_DEFAULT); /* until the parent kills it, or alarm() */
    return 0;
}

/* Forks a simulator listening on addr (kernel-picked port). Returns 0 with `ch` filled. */
static int child_start(bench_child_t *ch, const char *addr, unsigned close_after)
{
    sim_t sim = {addr, close_after};
    bench_child_spec_t spec = {child_serve, &sim, 1, 0, 0};
    int rc = bench_child_start(ch, &spec);

    /* The simulators end by SIGKILL (bench_child_kill), not by the control pipe: closing it
     * now keeps this process's descriptors, which figure 2 counts, to its own. */
    if (ch->ctl >= 0)
        close(ch->ctl);
    ch->ctl = -1;
    return rc;
}

/* --- the loop, bounded ------------------------------------------------------------------------ */

static uv_loop_t g_loop;

/* Runs the loop until cond() holds (NULL: never) or `ms` passed (bench_meter.h). */
static int run_until(int (*cond)(void), uint64_t ms)
{
    return bench_run_until(&g_loop, cond, ms);
}

/* --- 1. switchover -------------------------------------------------------------------------- */

typedef struct {
    pl_ttcp_client_t *cli;
    pl_ttcp_req_t req;
    uint16_t w[2];
    uv_timer_t retry; /* re-issue after a failure */
    int stop;
    unsigned ok_before, failed;
    uint64_t first_ok_ns, last_ok_ns;
    uint64_t event_ns;  /* the primary's death; 0 before */
    uint64_t switch_ns; /* first answer on the backup after it */
} sw_t;

static sw_t g_sw;

static void sw_cb(pl_ttcp_req_t *req);

static void sw_issue(sw_t *s)
{
    if (pl_ttcp_read(s->cli, &s->req, 0, 0, s->w, 2, sw_cb) != 0)
        s->failed++;
}

static void sw_retry_cb(uv_timer_t *t)
{
    sw_t *s = t->data;

    if (!s->stop && s->cli != NULL)
        sw_issue(s);
}

static int backup_active(pl_ttcp_client_t *c)
{
    pl_line_side_t side = PL_LINE_PRIMARY;

    return pl_line_active(pl_ttcp_client_line(c), &side, NULL) >= 0 && side == PL_LINE_BACKUP;
}

static void sw_cb(pl_ttcp_req_t *req)
{
    sw_t *s = req->data;
    uint64_t t = now_ns();

    if (req->status.code == 0) {
        if (s->event_ns == 0) {
            if (s->ok_before++ == 0)
                s->first_ok_ns = t;
            s->last_ok_ns = t;
        } else if (s->switch_ns == 0 && backup_active(s->cli)) {
            s->switch_ns = t;
        }
    } else {
        s->failed++;
    }
    if (s->stop)
        return;
    if (req->status.code == 0)
        sw_issue(s);
    else /* not from inside the failed request's callback: see docs/lines.md "Tested
            behaviour" (a read submitted there after a timeout fails at once) */
        uv_timer_start(&s->retry, sw_retry_cb, 0, 0);
}

static int cond_both_up(void)
{
    pl_line_side_info_t p, b;
    pl_line_t *line = pl_ttcp_client_line(g_sw.cli);

    pl_line_side_state(line, PL_LINE_PRIMARY, &p);
    pl_line_side_state(line, PL_LINE_BACKUP, &b);
    return p.state == PL_LINE_UP && b.state == PL_LINE_UP;
}

static int cond_warm(void)
{
    return g_sw.ok_before >= WARM_REQUESTS;
}

static int cond_switched(void)
{
    return g_sw.switch_ns != 0;
}

/* One repetition: a fresh client on a fresh primary; the primary dies by `sig`. Returns 0
 * with the switchover and the round-trip time in ms, 1 to retry (the backup came up
 * first), -1 when it could not measure. */
static int switch_once(const bench_child_t *backup, int sig, unsigned timeout_ms, double *switch_ms,
                       double *rtt_ms)
{
    pl_ttcp_client_config_t cfg;
    bench_child_t prim;
    pl_status_t err;
    char url[200], local[64];
    uint32_t node;
    int rc = -1;

    if (child_start(&prim, "127.0.0.1", 0) != 0) {
        fprintf(stderr, "bench_lines: primary simulator did not start\n");
        bench_child_kill(&prim);
        return -1;
    }
    snprintf(url, sizeof(url),
             "7ttcp://127.0.0.1:%u/0?backup=127.0.0.2:%u&redundancy=parallel&timeout=%u",
             (unsigned)prim.ports[0], (unsigned)backup->ports[0], timeout_ms);
    pl_ttcp_client_config_init(&cfg);
    if (pl_ttcp_client_config_url(&cfg, url, &node, NULL, local, sizeof(local), &err) != 0) {
        fprintf(stderr, "bench_lines: %s: %s\n", url, err.detail);
        bench_child_kill(&prim);
        return -1;
    }
    cfg.line.backoff_min_ms = BACKOFF_MIN_MS;
    cfg.line.backoff_max_ms = 2 * BACKOFF_MIN_MS;
    cfg.keepalive_ms = 0;
    memset(&g_sw, 0, sizeof(g_sw));
    uv_timer_init(&g_loop, &g_sw.retry);
    g_sw.retry.data = &g_sw;
    g_sw.req.data = &g_sw;
    if (pl_ttcp_client_new(&g_loop, &cfg, &g_sw.cli) != 0)
        goto out;
    (void)pl_ttcp_client_start(g_sw.cli);
    if (!run_until(cond_both_up, STEP_WAIT_MS)) {
        fprintf(stderr, "bench_lines: the two sides did not come up\n");
        goto out;
    }
    if (backup_active(g_sw.cli)) {
        rc = 1; /* the backup's connect completed first: not the case measured */
        goto out;
    }
    sw_issue(&g_sw);
    if (!run_until(cond_warm, STEP_WAIT_MS)) {
        fprintf(stderr, "bench_lines: the primary did not answer\n");
        goto out;
    }
    g_sw.event_ns = now_ns();
    kill(prim.pid, sig);
    if (!run_until(cond_switched, STEP_WAIT_MS)) {
        fprintf(stderr, "bench_lines: no answer from the backup after the primary died\n");
        goto out;
    }
    *switch_ms = (double)(g_sw.switch_ns - g_sw.event_ns) / 1e6;
    *rtt_ms = (double)(g_sw.last_ok_ns - g_sw.first_ok_ns) / 1e6 / (double)(g_sw.ok_before - 1);
    rc = 0;
out:
    g_sw.stop = 1;
    if (g_sw.cli != NULL)
        pl_ttcp_client_free(g_sw.cli);
    g_sw.cli = NULL;
    uv_close((uv_handle_t *)&g_sw.retry, NULL);
    uv_run(&g_loop, UV_RUN_NOWAIT);
    bench_child_kill(&prim);
    return rc;
}

/* A row whose figure and baseline cells are text; `value` and `base` are their numbers in
 * `unit` (for --json). */
static void add_row(const char *name, const char *unit, const char *figure, const char *baseline,
                    double ratio, const char *target, int met, double value, double base)
{
    bench_result_t *r;

    if (g_nrows >= sizeof(g_rows) / sizeof(g_rows[0]))
        return;
    r = &g_rows[g_nrows++];
    bench_result_init(r, name, unit, 2, target, 0);
    snprintf(r->figure_text, sizeof(r->figure_text), "%s", figure);
    snprintf(r->baseline_text, sizeof(r->baseline_text), "%s", baseline);
    r->ratio = ratio;
    r->met = met;
    r->figure = value;
    r->baseline = base;
}

/* Figure 1, for one way of dying. Returns 0, or -1 when it could not measure. */
static int bench_switchover(const opts_t *o, int silent)
{
    double sw[MAX_REPS], rtt[MAX_REPS], med, mx, rtt_med;
    char name[96], fig[96], base[64], target[32];
    const char *how = silent ? "silent" : "killed";
    unsigned timeout = silent ? SILENT_TIMEOUT : LOUD_TIMEOUT_MS;
    unsigned n = 0, tries = 0, i;
    bench_child_t backup;
    int rc;

    if (child_start(&backup, "127.0.0.2", 0) != 0) {
        fprintf(stderr, "bench_lines: backup simulator did not start\n");
        bench_child_kill(&backup);
        return -1;
    }
    while (n < o->reps && tries < 2 * o->reps) {
        tries++;
        rc = switch_once(&backup, silent ? SIGSTOP : SIGKILL, timeout, &sw[n], &rtt[n]);
        if (rc < 0)
            break;
        if (rc == 0)
            n++;
    }
    bench_child_kill(&backup);
    if (n == 0)
        return -1;
    fprintf(stderr, "# switchover, primary %s (request timeout %u ms), ms:", how, timeout);
    for (i = 0; i < n; i++)
        fprintf(stderr, " %.2f", sw[i]);
    fprintf(stderr, "\n# round trip before it, ms:");
    for (i = 0; i < n; i++)
        fprintf(stderr, " %.3f", rtt[i]);
    fprintf(stderr, "\n");
    mx = max_of(sw, n);
    med = bench_median(sw, n);
    rtt_med = bench_median(rtt, n);
    if (!silent) {
        snprintf(name, sizeof(name), "parallel switchover, primary killed (%u reps)", n);
        snprintf(fig, sizeof(fig), "median %.2f ms, max %.2f ms", med, mx);
        snprintf(base, sizeof(base), "round trip %.3f ms", rtt_med);
        snprintf(target, sizeof(target), "< %.0f ms", SWITCH_TARGET_MS);
        add_row(name, "ms", fig, base, rtt_med > 0 ? med / rtt_med : 0.0, target,
                med < SWITCH_TARGET_MS, med, rtt_med);
    } else {
        snprintf(name, sizeof(name), "parallel switchover, primary silent (SIGSTOP, %u reps)", n);
        snprintf(fig, sizeof(fig), "median %.2f ms, max %.2f ms", med, mx);
        snprintf(base, sizeof(base), "request timeout %u ms", timeout);
        snprintf(target, sizeof(target), "< %u + %.0f ms", timeout, SWITCH_TARGET_MS);
        add_row(name, "ms", fig, base, med / (double)timeout, target,
                med < (double)timeout + SWITCH_TARGET_MS, med, (double)timeout);
    }
    return 0;
}

/* --- 2. many lines against a flapping server ------------------------------------------------- */

typedef struct {
    pl_ttcp_client_t *cli;
    pl_ttcp_req_t req;
    uint16_t w[2];
    uv_timer_t retry;
    int stop;
} flap_t;

static uint64_t g_flap_ok, g_flap_failed;

static void flap_cb(pl_ttcp_req_t *req);

static void flap_issue(flap_t *f)
{
    if (pl_ttcp_read(f->cli, &f->req, 0, 0, f->w, 2, flap_cb) != 0)
        g_flap_failed++;
}

static void flap_retry_cb(uv_timer_t *t)
{
    flap_t *f = t->data;

    if (!f->stop)
        flap_issue(f);
}

static void flap_cb(pl_ttcp_req_t *req)
{
    flap_t *f = req->data;

    if (f->stop)
        return; /* canceled by pl_ttcp_client_free() */
    if (req->status.code == 0)
        g_flap_ok++;
    else
        g_flap_failed++;
    if (req->status.code == 0)
        flap_issue(f);
    else
        uv_timer_start(&f->retry, flap_retry_cb, 0, 0);
}

static unsigned g_fd_peak;
static uv_timer_t g_sampler;

static void sampler_cb(uv_timer_t *t)
{
    unsigned n = count_fds();

    (void)t;
    if (n > g_fd_peak)
        g_fd_peak = n;
}

static flap_t *g_flaps;
static unsigned g_nflaps;

static uint64_t flap_connects(void)
{
    uint64_t n = 0;
    unsigned i;

    for (i = 0; i < g_nflaps; i++)
        if (g_flaps[i].cli != NULL)
            n += pl_line_stats(pl_ttcp_client_line(g_flaps[i].cli))->connects;
    return n;
}

static int cond_storm_done(void)
{
    static unsigned turns;

    /* the count bound, checked every 256 loop turns */
    return (++turns & 255u) == 0 && flap_connects() >= FLAP_MAX_CONNECT;
}

static int bench_flapping(const opts_t *o)
{
    pl_ttcp_client_config_t cfg;
    bench_child_t srv;
    pl_status_t err;
    char url[128], local[64], name[96], fig[96], base[64];
    double rss0, rss1, rss_trim, heap0, heap_during, heap1, secs;
    unsigned fd0, fd_end, fd1, lines, i, made = 0;
    uint64_t connects = 0, t0;
    uint32_t node;
    int ok = -1, turns;

    lines = bench_raise_nofile(o->lines, "lines");
    if (child_start(&srv, "127.0.0.1", FLAP_CLOSE_AFTER) != 0) {
        fprintf(stderr, "bench_lines: flapping simulator did not start\n");
        bench_child_kill(&srv);
        return -1;
    }
    snprintf(url, sizeof(url), "7ttcp://127.0.0.1:%u/0?timeout=%u", (unsigned)srv.ports[0],
             FLAP_TIMEOUT_MS);
    pl_ttcp_client_config_init(&cfg);
    if (pl_ttcp_client_config_url(&cfg, url, &node, NULL, local, sizeof(local), &err) != 0) {
        bench_child_kill(&srv);
        return -1;
    }
    cfg.line.backoff_min_ms = 10;
    cfg.line.backoff_max_ms = 200;
    cfg.keepalive_ms = 0;
    g_flaps = calloc(lines, sizeof(*g_flaps));
    if (g_flaps == NULL) {
        bench_child_kill(&srv);
        return -1;
    }
    uv_run(&g_loop, UV_RUN_NOWAIT);
    malloc_trim(0);
    fd0 = count_fds();
    rss0 = rss_kib();
    heap0 = heap_kib();

    for (i = 0; i < lines; i++) {
        flap_t *f = &g_flaps[i];

        if (pl_ttcp_client_new(&g_loop, &cfg, &f->cli) != 0)
            break;
        uv_timer_init(&g_loop, &f->retry);
        f->retry.data = f;
        f->req.data = f;
        (void)pl_ttcp_client_start(f->cli);
        flap_issue(f);
        made++;
    }
    g_nflaps = made;
    g_fd_peak = 0;
    uv_timer_init(&g_loop, &g_sampler);
    uv_timer_start(&g_sampler, sampler_cb, SAMPLE_MS, SAMPLE_MS);
    t0 = now_ns();
    (void)run_until(cond_storm_done, (uint64_t)(o->seconds * 1000.0));
    secs = (double)(now_ns() - t0) / 1e9;
    sampler_cb(&g_sampler);
    fd_end = count_fds();
    heap_during = heap_kib();
    connects = flap_connects();

    /* free every line and run the loop until nothing of them is left */
    for (i = 0; i < made; i++) {
        g_flaps[i].stop = 1;
        pl_ttcp_client_free(g_flaps[i].cli);
        g_flaps[i].cli = NULL;
        uv_close((uv_handle_t *)&g_flaps[i].retry, NULL);
    }
    uv_close((uv_handle_t *)&g_sampler, NULL);
    for (turns = 0; turns < 1000; turns++) /* bounded */
        if (uv_run(&g_loop, UV_RUN_NOWAIT) == 0 && !uv_loop_alive(&g_loop))
            break;
    free(g_flaps);
    g_flaps = NULL;
    g_nflaps = 0;
    fd1 = count_fds();
    rss1 = rss_kib();
    heap1 = heap_kib();
    malloc_trim(0);
    rss_trim = rss_kib();
    bench_child_kill(&srv);

    fprintf(stderr,
            "# %u lines, %.1f s: %llu connections (%.0f/s), %llu reads answered, %llu failed\n",
            made, secs, (unsigned long long)connects, (double)connects / secs,
            (unsigned long long)g_flap_ok, (unsigned long long)g_flap_failed);
    fprintf(stderr, "# descriptors: before %u, peak %u, at the end %u, after free %u\n", fd0,
            g_fd_peak, fd_end, fd1);
    fprintf(stderr,
            "# heap KiB: before %.1f, during %.1f, after free %.1f; RSS KiB: before %.0f, "
            "after free %.0f, after malloc_trim %.0f\n",
            heap0, heap_during, heap1, rss0, rss1, rss_trim);

    snprintf(name, sizeof(name), "%u lines flapping %.0f s: open fds after free", made, secs);
    snprintf(fig, sizeof(fig), "%u (peak %u, %llu connections)", fd1, g_fd_peak,
             (unsigned long long)connects);
    snprintf(base, sizeof(base), "%u before", fd0);
    add_row(name, "fds", fig, base, fd0 > 0 ? (double)fd1 / (double)fd0 : 0.0, "= before",
            fd1 == fd0, (double)fd1, (double)fd0);
    snprintf(name, sizeof(name), "%u lines flapping %.0f s: heap growth after free", made, secs);
    snprintf(fig, sizeof(fig), "%+.1f KiB (RSS %+.0f KiB, %+.0f after trim)", heap1 - heap0,
             rss1 - rss0, rss_trim - rss0);
    snprintf(base, sizeof(base), "%.0f KiB heap with the lines", heap_during - heap0);
    add_row(name, "KiB", fig, base,
            heap_during > heap0 ? (heap1 - heap0) / (heap_during - heap0) : 0.0, "< 64 KiB",
            heap1 - heap0 < HEAP_SLACK_KIB, heap1 - heap0, heap_during - heap0);
    ok = made == lines && connects > made ? 0 : -1;
    if (ok != 0)
        fprintf(stderr, "bench_lines: only %u of %u lines made, %llu connections\n", made, lines,
                (unsigned long long)connects);
    return ok;
}

/* --- main ------------------------------------------------------------------------------------ */

static void usage(void)
{
    fputs("usage: bench_lines [--quick] [--json] [--reps N] [--seconds S] [--lines N]\n"
          "  --quick      8 switchover repetitions, a 1 s storm\n"
          "  --json       a JSON array on stdout instead of markdown table rows\n"
          "  --reps N     switchover repetitions per case (default 20, at most 50)\n"
          "  --seconds S  duration of the reconnection storm (default 5)\n"
          "  --lines N    lines in the storm (default 1000)\n",
          stderr);
}

static int parse_opts(int argc, char **argv, opts_t *o)
{
    int i;

    o->reps = 20;
    o->seconds = 5.0;
    o->lines = 1000;
    o->json = 0;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--quick") == 0) {
            o->reps = 8;
            o->seconds = 1.0;
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "--reps") == 0 && v != NULL) {
            if (bench_parse_uint(v, 1, MAX_REPS, &o->reps) != 0)
                return -1;
            i++;
        } else if (strcmp(a, "--seconds") == 0 && v != NULL) {
            if (bench_parse_seconds(v, 0.1, 120.0, &o->seconds) != 0)
                return -1;
            i++;
        } else if (strcmp(a, "--lines") == 0 && v != NULL) {
            if (bench_parse_uint(v, 1, 100000, &o->lines) != 0)
                return -1;
            i++;
        } else {
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    opts_t o;
    int failed = 0;

    if (parse_opts(argc, argv, &o) != 0) {
        usage();
        return 2;
    }
    bench_init("bench_lines");
    if (uv_loop_init(&g_loop) != 0)
        return 1;

    fprintf(stderr, "bench_lines: switchover, primary killed (%u reps)\n", o.reps);
    failed |= bench_switchover(&o, 0) != 0;
    fprintf(stderr, "bench_lines: switchover, primary silent (%u reps)\n", o.reps);
    failed |= bench_switchover(&o, 1) != 0;
    fprintf(stderr, "bench_lines: %u lines against a flapping simulator, %.0f s\n", o.lines,
            o.seconds);
    failed |= bench_flapping(&o) != 0;

    bench_results_print(g_rows, g_nrows, o.json);
    uv_run(&g_loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&g_loop) != 0) {
        fprintf(stderr, "bench_lines: handles left open\n");
        failed = 1;
    }
    return failed ? 1 : 0;
}
