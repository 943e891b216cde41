/* SPDX-License-Identifier: MIT */
/*
 * bench_iec104_redundancy: how long an IEC 60870-5-104 controlling station in parallel
 * redundancy takes to bring values from the backup device once the primary is lost.
 *
 * Two controlled-station simulators run in forked child processes, the primary on
 * 127.0.0.1 and the backup on 127.0.0.2, both animating (a spontaneous event every
 * ANIMATE_MS). Each repetition takes a fresh primary and a fresh client
 * (`redundancy=parallel`): it waits until the primary is started and interrogated and the
 * standby connection to the backup has answered a TESTFR act, then the primary dies:
 *   - killed: SIGKILL; the kernel closes its connection, so detection is immediate;
 *   - silent: SIGSTOP; the connection stays open and nothing comes, so the client finds it
 *     by t3 of silence and an unanswered TESTFR act (t1).
 * Times, from uv_hrtime() in the client's process: the signal, the client's switch (its
 * LINK_SWITCH callback: the detection), the first value delivered from the backup. The
 * figure is the switchover proper, first value minus detection (the "within 100 ms
 * plus detection time"), median over the repetitions; the whole time from the signal is
 * printed beside it.
 *
 * Baseline, measured in the same run before each repetition: a plain client (one host, no
 * redundancy) to the backup simulator, from its start to its first value: one reconnect,
 * STARTDT and a general interrogation. The ratio is the switchover in such reconnects: below
 * 1 because the standby connection is already there.
 *
 * Output follows docs/bench.md: one markdown row per figure on stdout (or a JSON array with
 * --json), per-repetition numbers on stderr as "# " notes. It exits 1 only when it could
 * not measure. Every wait is bounded, every child ends by alarm(); only 127.0.0.1 and
 * 127.0.0.2 with kernel-picked ports are used; only its own children are signalled, by pid.
 */
#include "bench_support.h"
#include "plcline/error.h"
#include "plcline/iec104.h"
#include "plcline/iec104_client.h"
#include "plcline/line.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define STEP_WAIT_MS     5000u /* for any one step of a repetition */
#define MAX_REPS         50u
#define ANIMATE_MS       10u   /* a spontaneous event this often on each simulator */
#define SWITCH_TARGET_MS 100.0 /* the figure, after detection */
#define T1_MS            100u  /* the client's timers: silence found after t3 + t1 */
#define T2_MS            20u
#define T3_MS            50u
#define BACKOFF_MIN_MS   1000u /* a reconnect of the dead side stays out of the way */

/* --- simulators in child processes --------------------------------------------------------- */

typedef struct {
    const char *addr;
} sim_t;

static int child_serve(void *arg, int ctl, int report)
{
    const sim_t *sim = arg;
    pl_iec104_server_config_t cfg;
    pl_iec104_server_t *srv = NULL;
    pl_status_t err;
    uv_loop_t loop;
    uint16_t port = 0;

    (void)ctl;
    if (uv_loop_init(&loop) != 0) {
        bench_child_report(report, &port, 1);
        return 1;
    }
    pl_iec104_server_config_init(&cfg);
    cfg.listen.addr = sim->addr;
    cfg.listen.port = 0;
    cfg.points = "M_ME_NC_1:1001-1100 M_SP_NA_1:2001-2050";
    cfg.event_ioa = 9000;
    cfg.animate_ms = ANIMATE_MS;
    pl_status_clear(&err);
    if (pl_iec104_server_new(&loop, &cfg, &srv, &err) == 0)
        port = pl_iec104_server_port(srv);
    else
        fprintf(stderr, "%s: simulator %s: %s %s\n", bench_name(), sim->addr, pl_strerror(err.code),
                err.detail);
    bench_child_report(report, &port, 1);
    if (port == 0)
        return 1;
    uv_run(&loop, UV_RUN_DEFAULT); /* until the parent kills it, or alarm() */
    return 0;
}

static int child_start(bench_child_t *ch, const char *addr)
{
    sim_t sim = {addr};
    bench_child_spec_t spec = {child_serve, &sim, 1, 0, 0};
    int rc = bench_child_start(ch, &spec);

    if (ch->ctl >= 0) /* the simulators end by SIGKILL (bench_child_kill) */
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

/* --- one client ------------------------------------------------------------------------------ */

typedef struct {
    pl_iec104_client_t *cli;
    int gi_done;
    uint64_t start_ns;  /* pl_iec104_client_start() */
    uint64_t first_ns;  /* first value (the baseline's figure) */
    uint64_t event_ns;  /* the primary's death; 0 before */
    uint64_t detect_ns; /* the client's switch */
    uint64_t backup_ns; /* first value from the backup after the death */
} run_t;

static run_t g_run;

static void on_data(pl_iec104_client_t *c, const pl_iec104_point_t *p, void *ud)
{
    run_t *r = ud;
    uint64_t t = uv_hrtime();

    (void)p;
    if (r->first_ns == 0)
        r->first_ns = t;
    if (r->event_ns != 0 && r->backup_ns == 0 && pl_iec104_client_active_side(c) == PL_LINE_BACKUP)
        r->backup_ns = t;
}

static void on_link(pl_iec104_client_t *c, pl_iec104_link_t what, const pl_status_t *why, void *ud)
{
    run_t *r = ud;

    (void)c;
    (void)why;
    if (what == PL_IEC104_LINK_GI_DONE)
        r->gi_done++;
    else if (what == PL_IEC104_LINK_SWITCH && r->event_ns != 0 && r->detect_ns == 0)
        r->detect_ns = uv_hrtime();
}

static int client_open(const char *url)
{
    pl_iec104_client_config_t cfg;
    char storage[64];
    pl_status_t err;

    memset(&g_run, 0, sizeof(g_run));
    pl_iec104_client_config_init(&cfg);
    pl_status_clear(&err);
    if (pl_iec104_client_config_url(&cfg, url, storage, sizeof(storage), &err) != 0) {
        fprintf(stderr, "%s: %s: %s\n", bench_name(), url, err.detail);
        return -1;
    }
    cfg.t1_ms = T1_MS;
    cfg.t2_ms = T2_MS;
    cfg.t3_ms = T3_MS;
    cfg.line.backoff_min_ms = BACKOFF_MIN_MS;
    cfg.line.backoff_max_ms = 2 * BACKOFF_MIN_MS;
    cfg.on_data = on_data;
    cfg.on_link = on_link;
    cfg.ud = &g_run;
    if (pl_iec104_client_new(&g_loop, &cfg, &g_run.cli) != 0)
        return -1;
    g_run.start_ns = uv_hrtime();
    return pl_iec104_client_start(g_run.cli);
}

static void client_close(void)
{
    if (g_run.cli != NULL)
        pl_iec104_client_free(g_run.cli);
    g_run.cli = NULL;
    uv_run(&g_loop, UV_RUN_NOWAIT);
}

static int cond_first(void)
{
    return g_run.first_ns != 0;
}

/* The primary started and interrogated, the standby connected and tested: the client has
 * received STARTDT con and at least one TESTFR con. */
static int cond_ready(void)
{
    pl_line_t *b = pl_iec104_client_side_line(g_run.cli, PL_LINE_BACKUP);

    return g_run.gi_done >= 1 && pl_iec104_client_active_side(g_run.cli) == PL_LINE_PRIMARY &&
           b != NULL && pl_line_state(b) == PL_LINE_UP &&
           pl_iec104_client_stats(g_run.cli)->u_in >= 2;
}

static int cond_backup_value(void)
{
    return g_run.backup_ns != 0 && g_run.detect_ns != 0;
}

/* The baseline: a plain client to the backup, start to first value, ms. */
static int baseline_once(const bench_child_t *backup, double *ms)
{
    char url[96];
    int rc = -1;

    snprintf(url, sizeof(url), "iec104://127.0.0.2:%u", (unsigned)backup->ports[0]);
    if (client_open(url) == 0 && run_until(cond_first, STEP_WAIT_MS)) {
        *ms = (double)(g_run.first_ns - g_run.start_ns) / 1e6;
        rc = 0;
    }
    client_close();
    return rc;
}

/* One repetition with a fresh primary that dies by `sig`. Returns 0 with the times in ms
 * (detection, first value after detection, whole), -1 when it could not measure. */
static int switch_once(const bench_child_t *backup, int sig, double *detect_ms, double *switch_ms,
                       double *whole_ms)
{
    bench_child_t prim;
    char url[200];
    int rc = -1;

    if (child_start(&prim, "127.0.0.1") != 0) {
        fprintf(stderr, "%s: primary simulator did not start\n", bench_name());
        bench_child_kill(&prim);
        return -1;
    }
    snprintf(url, sizeof(url), "iec104://127.0.0.1:%u?backup=127.0.0.2:%u&redundancy=parallel",
             (unsigned)prim.ports[0], (unsigned)backup->ports[0]);
    if (client_open(url) != 0)
        goto out;
    if (!run_until(cond_ready, STEP_WAIT_MS)) {
        fprintf(stderr, "%s: the primary was not started with the backup as the standby\n",
                bench_name());
        goto out;
    }
    g_run.event_ns = uv_hrtime();
    kill(prim.pid, sig);
    if (!run_until(cond_backup_value, STEP_WAIT_MS)) {
        fprintf(stderr, "%s: no value from the backup after the primary died\n", bench_name());
        goto out;
    }
    *detect_ms = (double)(g_run.detect_ns - g_run.event_ns) / 1e6;
    *switch_ms = (double)(g_run.backup_ns - g_run.detect_ns) / 1e6;
    *whole_ms = (double)(g_run.backup_ns - g_run.event_ns) / 1e6;
    rc = 0;
out:
    client_close();
    bench_child_kill(&prim);
    return rc;
}

/* --- rows ------------------------------------------------------------------------------------ */

static bench_result_t g_rows[4];
static size_t g_nrows;

static void add_row(const char *name, const char *figure, const char *baseline, double ratio,
                    const char *target, int met, double value, double base)
{
    bench_result_t *r;

    if (g_nrows >= sizeof(g_rows) / sizeof(g_rows[0]))
        return;
    r = &g_rows[g_nrows++];
    bench_result_init(r, name, "ms", 2, target, 0);
    snprintf(r->figure_text, sizeof(r->figure_text), "%s", figure);
    snprintf(r->baseline_text, sizeof(r->baseline_text), "%s", baseline);
    r->ratio = ratio;
    r->met = met;
    r->figure = value;
    r->baseline = base;
}

static double max_of(const double *v, unsigned n)
{
    double m = 0;
    unsigned i;

    for (i = 0; i < n; i++)
        if (v[i] > m)
            m = v[i];
    return m;
}

static void note(const char *what, const double *v, unsigned n)
{
    unsigned i;

    fprintf(stderr, "# %s, ms:", what);
    for (i = 0; i < n; i++)
        fprintf(stderr, " %.2f", v[i]);
    fprintf(stderr, "\n");
}

static int bench_switchover(unsigned reps, int silent)
{
    double det[MAX_REPS], sw[MAX_REPS], whole[MAX_REPS], base[MAX_REPS];
    double med, base_med;
    char name[90], fig[90], basetext[64], target[30], what[96];
    const char *how = silent ? "silent (SIGSTOP)" : "killed";
    bench_child_t backup;
    unsigned n = 0, tries = 0;

    if (child_start(&backup, "127.0.0.2") != 0) {
        fprintf(stderr, "%s: backup simulator did not start\n", bench_name());
        bench_child_kill(&backup);
        return -1;
    }
    while (n < reps && tries < 2 * reps) {
        tries++;
        if (baseline_once(&backup, &base[n]) != 0)
            continue;
        if (switch_once(&backup, silent ? SIGSTOP : SIGKILL, &det[n], &sw[n], &whole[n]) != 0)
            continue;
        n++;
    }
    bench_child_kill(&backup);
    if (n == 0)
        return -1;
    snprintf(what, sizeof(what), "iec104 switchover, primary %s: detection", how);
    note(what, det, n);
    snprintf(what, sizeof(what), "iec104 switchover, primary %s: first backup value after it", how);
    note(what, sw, n);
    snprintf(what, sizeof(what), "iec104 switchover, primary %s: signal to first value", how);
    note(what, whole, n);
    note("iec104 baseline: plain reconnect + STARTDT + GI to the first value", base, n);
    med = bench_median(sw, n);
    base_med = bench_median(base, n);
    snprintf(name, sizeof(name), "iec104 parallel switchover, primary %s, %u reps", how, n);
    snprintf(fig, sizeof(fig), "median %.2f ms after detection (%.2f ms detection, max %.2f)", med,
             bench_median(det, n), max_of(sw, n));
    snprintf(basetext, sizeof(basetext), "reconnect + GI %.2f ms", base_med);
    snprintf(target, sizeof(target), "< %.0f ms + detection", SWITCH_TARGET_MS);
    add_row(name, fig, basetext, base_med > 0 ? med / base_med : 0.0, target,
            med < SWITCH_TARGET_MS, med, base_med);
    return 0;
}

/* --- main ------------------------------------------------------------------------------------ */

static void usage(void)
{
    fputs("usage: bench_iec104_redundancy [--quick] [--json] [--reps N]\n"
          "  --quick   8 repetitions per case (default 20)\n"
          "  --json    a JSON array on stdout instead of markdown table rows\n"
          "  --reps N  repetitions per case (at most 50)\n",
          stderr);
}

int main(int argc, char **argv)
{
    unsigned reps = 20;
    int json = 0, failed = 0, i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            reps = 8;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            if (bench_parse_uint(argv[++i], 1, MAX_REPS, &reps) != 0) {
                usage();
                return 2;
            }
        } else {
            usage();
            return 2;
        }
    }
    bench_init("bench_iec104_redundancy");
    if (uv_loop_init(&g_loop) != 0)
        return 1;
    fprintf(stderr, "%s: switchover, primary killed (%u reps)\n", bench_name(), reps);
    failed |= bench_switchover(reps, 0) != 0;
    fprintf(stderr, "%s: switchover, primary silent (%u reps)\n", bench_name(), reps);
    failed |= bench_switchover(reps, 1) != 0;
    bench_results_print(g_rows, g_nrows, json);
    uv_run(&g_loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&g_loop) != 0) {
        fprintf(stderr, "%s: handles left open\n", bench_name());
        failed = 1;
    }
    return failed ? 1 : 0;
}
