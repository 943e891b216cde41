/* SPDX-License-Identifier: MIT */
/*
 * bench_modbus_client: plcline's Modbus TCP client against libmodbus's own blocking client,
 * both reading from the same server, in the same run, once against a libmodbus server and
 * once against plcline's.
 *
 *   1. synchronous reads of one register (hr0; 12-byte request, 11-byte answer on both
 *      sides), plcline with the next request from the callback, libmodbus with
 *      modbus_read_registers in a loop: the same physical limit as the blocking ping-pong of
 *      the other protocols' rows;
 *   2. the same with 125 registers (hr0,125: 261-byte answers);
 *   3. plcline with 8 requests in flight against plcline synchronous, one register;
 *   4. and 5. rows 1 and 2 with plcline's server (pl_modbus_server_*) instead of
 *      libmodbus's.
 * The target rows run with the client and the server on two CPUs, as a driver and a device
 * are (bench_pin.h); with one CPU only they run there, for information.
 *
 * The servers (libmodbus: a select loop over its connections; plcline's: its own loop) run
 * in a forked child (bench_child.h); only 127.0.0.1 and kernel-picked ports are used.
 * --profile runs one side once (for callgrind, perf, strace). Output: one markdown
 * row per figure ("| benchmark | figure | baseline | ratio | target | met |", docs/bench.md),
 * or JSON with --json; per-round numbers go to stderr. It measures and reports; it never
 * fails because a target is missed.
 */
#include "bench_support.h"
#include "plcline/error.h"
#include "plcline/hostlist.h"
#include "plcline/modbus.h"
#include "plcline/modbus_client.h"
#include "proto/modbus/codec/modbus.h"

#include <modbus/modbus.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define MAX_SECONDS    30.0
#define REQ_TIMEOUT_MS 2000u
#define PIPE_DEPTH     8u
#define MAP_N          200

/* --- the server: libmodbus, in the child ------------------------------------------------- */

static int serve_libmodbus(void *arg, int ctl, int report)
{
    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    modbus_mapping_t *map = modbus_mapping_new(MAP_N, MAP_N, MAP_N, MAP_N);
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", 0);
    uint16_t port = 0;
    fd_set all;
    int fd, maxfd, s;

    (void)arg;
    fd = map != NULL && ctx != NULL ? modbus_tcp_listen(ctx, 8) : -1;
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        bench_child_report(report, &port, 1);
        return 1;
    }
    port = ntohs(sa.sin_port);
    bench_child_report(report, &port, 1);
    FD_ZERO(&all);
    FD_SET(fd, &all);
    FD_SET(ctl, &all);
    maxfd = fd > ctl ? fd : ctl;
    for (;;) {
        fd_set rd = all;

        if (select(maxfd + 1, &rd, NULL, NULL, NULL) < 0)
            break;
        if (FD_ISSET(ctl, &rd))
            break; /* the parent closed the control pipe */
        for (s = 0; s <= maxfd; s++) {
            int n;

            if (!FD_ISSET(s, &rd) || s == ctl)
                continue;
            if (s == fd) {
                int c = accept(fd, NULL, NULL);

                if (c >= 0 && c < FD_SETSIZE) {
                    FD_SET(c, &all);
                    if (c > maxfd)
                        maxfd = c;
                } else if (c >= 0) {
                    close(c);
                }
                continue;
            }
            modbus_set_socket(ctx, s);
            n = modbus_receive(ctx, query);
            if (n > 0)
                n = modbus_reply(ctx, query, n, map);
            if (n < 0) {
                close(s);
                FD_CLR(s, &all);
            }
        }
    }
    close(fd);
    modbus_free(ctx);
    modbus_mapping_free(map);
    return 0;
}

/* --- the server: plcline's, in the child -------------------------------------------------- */

static void stop_plcline(void *data)
{
    pl_modbus_server_t **srv = data;

    if (*srv != NULL)
        (void)pl_modbus_server_free(*srv);
    *srv = NULL;
}

static int serve_plcline(void *arg, int ctl, int report)
{
    pl_modbus_server_config_t cfg;
    pl_modbus_server_t *srv = NULL;
    pl_status_t err;
    uv_loop_t loop;
    uint16_t port = 0, regs[PL_MODBUS_MAX_READ_REGS];
    unsigned i;

    (void)arg;
    if (uv_loop_init(&loop) != 0) {
        bench_child_report(report, &port, 1);
        return 1;
    }
    pl_modbus_server_config_init(&cfg);
    cfg.listen.addr = "127.0.0.1";
    cfg.listen.port = 0;
    if (pl_modbus_server_new(&loop, &cfg, &srv, &err) != 0) {
        fprintf(stderr, "bench_modbus_client: plcline server: %s %s\n", pl_strerror(err.code),
                err.detail);
        bench_child_report(report, &port, 1);
        (void)uv_loop_close(&loop);
        return 1;
    }
    for (i = 0; i < PL_MODBUS_MAX_READ_REGS; i++)
        regs[i] = (uint16_t)i;
    (void)pl_modbus_server_set(srv, 1, PL_MODBUS_TABLE_HOLDING, 0, regs, PL_MODBUS_MAX_READ_REGS);
    port = pl_modbus_server_port(srv);
    return bench_child_serve_loop(&loop, ctl, report, &port, 1, stop_plcline, &srv);
}

/* --- plcline: one client, `depth` reads outstanding, each re-issued from its callback ---- */

typedef struct {
    unsigned depth, regs;
} plan_t;

typedef struct run_s run_t;

typedef struct {
    pl_modbus_request_t req;
    uint8_t buf[2 * PL_MODBUS_MAX_READ_REGS];
    run_t *run;
} pread_t;

struct run_s {
    pl_modbus_client_t *c;
    pread_t reads[PIPE_DEPTH];
    unsigned regs;
    int stop;
    uint64_t done, errors;
    bench_window_t win;
    pl_status_t first_error;
};

static void on_read_done(pl_modbus_request_t *req)
{
    pread_t *pr = req->data;
    run_t *r = pr->run;

    if (r->stop)
        return;
    if (req->status.code != 0) {
        if (r->errors++ == 0)
            r->first_error = req->status;
    } else {
        r->done++;
    }
    if (pl_modbus_read(r->c, &pr->req, 1, PL_MODBUS_FC_READ_HOLDING, 0, r->regs, pr->buf,
                       on_read_done) != 0)
        r->errors++;
}

static void on_end(bench_window_t *w)
{
    run_t *r = w->data;

    r->stop = 1;
    pl_modbus_client_free(r->c);
    r->c = NULL;
}

static double run_plcline(uint16_t port, const bench_opts_t *o, void *ctx, bench_meter_t *m)
{
    const plan_t *p = ctx;
    pl_modbus_client_config_t cfg;
    uv_loop_t loop;
    run_t r;
    unsigned i;
    double rate = -1.0;

    memset(&r, 0, sizeof(r));
    if (uv_loop_init(&loop) != 0)
        return -1.0;
    r.regs = p->regs;
    pl_modbus_client_config_init(&cfg);
    (void)pl_hostlist_parse(&cfg.line.hosts, "127.0.0.1", 9, NULL);
    cfg.line.port = port;
    cfg.inflight = p->depth;
    cfg.timeout_ms = REQ_TIMEOUT_MS;
    if (pl_modbus_client_new(&loop, &cfg, &r.c) != 0) {
        (void)uv_loop_close(&loop);
        return -1.0;
    }
    for (i = 0; i < p->depth; i++) {
        pread_t *pr = &r.reads[i];

        pr->run = &r;
        pr->req.data = pr;
        if (pl_modbus_read(r.c, &pr->req, 1, PL_MODBUS_FC_READ_HOLDING, 0, r.regs, pr->buf,
                           on_read_done) != 0)
            r.errors++;
    }
    r.win.data = &r;
    bench_window_start(&r.win, &loop, o->warmup, o->seconds, m, &r.done, on_end);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, "bench_modbus_client: plcline run: loop not empty at the end\n");
    if (r.errors > 0)
        fprintf(stderr, "bench_modbus_client: plcline run: %llu errors, first: %s %s\n",
                (unsigned long long)r.errors, pl_strerror(r.first_error.code),
                r.first_error.detail);
    else
        rate = bench_meter_rate(m, bench_window_count(&r.win));
    return rate;
}

/* --- libmodbus's blocking client ----------------------------------------------------------- */

static double run_libmodbus(uint16_t port, const bench_opts_t *o, void *ctx, bench_meter_t *m)
{
    const plan_t *p = ctx;
    uint16_t regs[PL_MODBUS_MAX_READ_REGS];
    modbus_t *mb = modbus_new_tcp("127.0.0.1", port);
    uint64_t n = 0;
    double end;
    int failed = 0;

    if (mb == NULL || modbus_connect(mb) != 0) {
        if (mb != NULL)
            modbus_free(mb);
        return -1.0;
    }
    modbus_set_response_timeout(mb, REQ_TIMEOUT_MS / 1000u, 0);
    (void)modbus_set_slave(mb, 1); /* unit 1, as plcline's client (libmodbus's default is 255,
                                      which plcline's server does not serve) */
    end = bench_now_s() + o->warmup;
    while (bench_now_s() < end && !failed)
        failed = modbus_read_registers(mb, 0, (int)p->regs, regs) != (int)p->regs;
    bench_meter_start(m);
    end = bench_now_s() + o->seconds;
    while (!failed) {
        failed = modbus_read_registers(mb, 0, (int)p->regs, regs) != (int)p->regs;
        n++;
        if ((n & 63u) == 0 && bench_now_s() >= end)
            break;
    }
    bench_meter_stop(m);
    modbus_close(mb);
    modbus_free(mb);
    if (failed) {
        fprintf(stderr, "bench_modbus_client: libmodbus client: %s\n", modbus_strerror(errno));
        return -1.0;
    }
    return bench_meter_rate(m, n);
}

/* --- the figures --------------------------------------------------------------------------- */

typedef enum {
    SIDE_PL_1 = 0, /* plcline sync, 1 register */
    SIDE_LM_1,     /* libmodbus client, 1 register */
    SIDE_PL_125,
    SIDE_LM_125,
    SIDE_PL_PIPE, /* plcline inflight=8, 1 register */
    SIDE_PL_1_PS, /* the same sides against plcline's server */
    SIDE_LM_1_PS,
    SIDE_PL_125_PS,
    SIDE_LM_125_PS,
} side_t;

static const char *side_name(int side)
{
    switch ((side_t)side) {
    case SIDE_PL_1:
        return "plcline sync hr0";
    case SIDE_LM_1:
        return "libmodbus client hr0";
    case SIDE_PL_125:
        return "plcline sync hr0,125";
    case SIDE_LM_125:
        return "libmodbus client hr0,125";
    case SIDE_PL_PIPE:
        return "plcline inflight=8 hr0";
    case SIDE_PL_1_PS:
        return "plcline sync hr0, plcline server";
    case SIDE_LM_1_PS:
        return "libmodbus client hr0, plcline server";
    case SIDE_PL_125_PS:
        return "plcline sync hr0,125, plcline server";
    case SIDE_LM_125_PS:
        return "libmodbus client hr0,125, plcline server";
    }
    return "?";
}

static double run_once(int side, const bench_opts_t *o, void *ctx, double *share)
{
    static const bench_child_spec_t server = {serve_libmodbus, NULL, 1, 0, 0};
    static const bench_child_spec_t plserver = {serve_plcline, NULL, 1, 0, 0};
    static plan_t one = {1, 1}, big = {1, PL_MODBUS_MAX_READ_REGS}, pipe = {PIPE_DEPTH, 1};

    (void)ctx;
    switch ((side_t)side) {
    case SIDE_PL_1:
        return bench_run_side(&server, run_plcline, &one, o, share);
    case SIDE_LM_1:
        return bench_run_side(&server, run_libmodbus, &one, o, share);
    case SIDE_PL_125:
        return bench_run_side(&server, run_plcline, &big, o, share);
    case SIDE_LM_125:
        return bench_run_side(&server, run_libmodbus, &big, o, share);
    case SIDE_PL_PIPE:
        return bench_run_side(&server, run_plcline, &pipe, o, share);
    case SIDE_PL_1_PS:
        return bench_run_side(&plserver, run_plcline, &one, o, share);
    case SIDE_LM_1_PS:
        return bench_run_side(&plserver, run_libmodbus, &one, o, share);
    case SIDE_PL_125_PS:
        return bench_run_side(&plserver, run_plcline, &big, o, share);
    case SIDE_LM_125_PS:
        return bench_run_side(&plserver, run_libmodbus, &big, o, share);
    }
    return -1.0;
}

static int figure(bench_result_t *res, const char *name, const char *target, double min_ratio,
                  int fig, int base, const bench_opts_t *o)
{
    bench_sides_t sides = {run_once, side_name, NULL};

    bench_result_init(res, name, "req/s", 0, target, min_ratio);
    return bench_throughput(res, &sides, fig, &base, 1, o);
}

/* --profile: one side once, no table row; for callgrind, perf and strace. */
static int profile(const bench_opts_t *o)
{
    static const struct {
        const char *name;
        int side;
    } what[] = {
        {"plcline-1", SIDE_PL_1},
        {"libmodbus-1", SIDE_LM_1},
        {"plcline-125", SIDE_PL_125},
        {"libmodbus-125", SIDE_LM_125},
        {"plcline-pipe", SIDE_PL_PIPE},
        {"plcline-1-plserver", SIDE_PL_1_PS},
        {"plcline-125-plserver", SIDE_PL_125_PS},
    };
    size_t i;
    double v, share;

    for (i = 0; i < sizeof(what) / sizeof(what[0]); i++)
        if (strcmp(o->profile, what[i].name) == 0)
            break;
    if (i == sizeof(what) / sizeof(what[0])) {
        fprintf(stderr, "bench_modbus_client: --profile: plcline-1, libmodbus-1, plcline-125, "
                        "libmodbus-125, plcline-pipe, plcline-1-plserver or "
                        "plcline-125-plserver\n");
        return 2;
    }
    bench_pin_apply(o->pin);
    fprintf(stderr, "# %s: client pid %ld (the server is its child), CPUs: %s\n", what[i].name,
            (long)getpid(), bench_pin_text());
    v = run_once(what[i].side, o, NULL, &share);
    fprintf(stderr, "# %s: %.0f req/s, CPU share %.2f\n", what[i].name, v, share);
    return v > 0 ? 0 : 1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_modbus_client [--quick] [--json] [--seconds S] [--rounds N]\n"
            "                           [--split-seconds S] [--split-rounds N]\n"
            "                           [--pin same|split|none] [--profile WHAT]\n"
            "  --quick      shorter runs (two-CPU rows 5 x 0.2 s)\n"
            "  --json       a JSON array on stdout instead of markdown table rows\n"
            "  --split-seconds S, --split-rounds N\n"
            "               measured time and rounds of the two-CPU rows (1..%d rounds)\n"
            "  --pin MODE   CPU placement of --profile: same (default), split, none\n"
            "  --profile WHAT  run one side once (--seconds), print its rate, no row:\n"
            "               plcline-1, libmodbus-1, plcline-125, libmodbus-125,\n"
            "               plcline-pipe, plcline-1-plserver, plcline-125-plserver\n",
            BENCH_MAX_ROUNDS);
}

int main(int argc, char **argv)
{
    bench_result_t rs[5];
    bench_opts_t o, run;
    size_t nres = 0;
    int i, first, last, two, failed = 0;
    const char *cpus, *t1, *t3;
    double m1, m3;

    bench_opts_init(&o, MAX_SECONDS);
    for (i = 1; i < argc; i++)
        if (bench_opts_arg(&o, argc, argv, &i) != 1) {
            usage();
            return 2;
        }
    bench_init("bench_modbus_client");
    if (o.profile != NULL)
        return profile(&o);
    two = bench_cpus_allowed(&first, &last) >= 2;
    /* the target rows need two CPUs; with one, the same figures for information */
    run = two ? bench_opts_split(&o) : o;
    bench_pin_apply(two ? BENCH_PIN_SPLIT : BENCH_PIN_SAME);
    cpus = two ? "2 CPUs" : "1 CPU";
    t1 = two ? ">= 1.0" : "-";
    t3 = two ? ">= 3" : "-";
    m1 = two ? 1.0 : 0;
    m3 = two ? 3.0 : 0;
    fprintf(stderr, "# %u rounds of %.1f s after %.1f s warm-up, median; %s\n", run.rounds,
            run.seconds, run.warmup, cpus);
    {
        char name[5][96];

        snprintf(name[0], sizeof(name[0]), "modbus sync read hr0 vs libmodbus client, %s", cpus);
        snprintf(name[1], sizeof(name[1]), "modbus sync read hr0,125 vs libmodbus client, %s",
                 cpus);
        snprintf(name[2], sizeof(name[2]), "modbus inflight=8 vs sync, hr0, %s", cpus);
        snprintf(name[3], sizeof(name[3]),
                 "modbus sync read hr0 vs libmodbus client, plcline server, %s", cpus);
        snprintf(name[4], sizeof(name[4]),
                 "modbus sync read hr0,125 vs libmodbus client, plcline server, %s", cpus);
        if (figure(&rs[nres], name[0], t1, m1, SIDE_PL_1, SIDE_LM_1, &run) == 0)
            nres++;
        else
            failed = 1;
        if (figure(&rs[nres], name[1], t1, m1, SIDE_PL_125, SIDE_LM_125, &run) == 0)
            nres++;
        else
            failed = 1;
        if (figure(&rs[nres], name[2], t3, m3, SIDE_PL_PIPE, SIDE_PL_1, &run) == 0)
            nres++;
        else
            failed = 1;
        if (figure(&rs[nres], name[3], t1, m1, SIDE_PL_1_PS, SIDE_LM_1_PS, &run) == 0)
            nres++;
        else
            failed = 1;
        if (figure(&rs[nres], name[4], t1, m1, SIDE_PL_125_PS, SIDE_LM_125_PS, &run) == 0)
            nres++;
        else
            failed = 1;
    }
    bench_pin_apply(o.pin);
    bench_results_print(rs, nres, o.json);
    return failed || nres == 0 ? 1 : 0;
}
