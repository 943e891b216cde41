/* SPDX-License-Identifier: MIT */
/*
 * bench_modbus: plcline's Modbus TCP server (pl_modbus_server_*) against libmodbus's server
 * (modbus_receive/modbus_reply on a mapping), both driven by the same blocking libmodbus
 * client in the same run, so the ratio says what plcline's server costs beside an
 * independent implementation rather than how fast this machine is today.
 *
 *   1. one connection, synchronous reads of 1 holding register (FC 3), the next request
 *      sent when the answer is in (modbus_read_registers), plcline's server against
 *      libmodbus's;
 *   2. the same with 125 registers, the largest read of the spec.
 *
 * Each figure is measured with the client and the server on two CPUs, as a SCADA and its
 * server are (the target rows: plcline's server at least 1.0x libmodbus's; many short
 * rounds, because the cross-CPU wake-up latency of a shared virtual machine drifts), and on
 * one CPU, where 1 / rate is the CPU time of an exchange, both sides together
 * (information).
 *
 * Arranged as bench_ttcp (docs/bench.md): every server runs in a forked child that reports
 * its kernel-picked port through a pipe, stops when the parent closes a control pipe and
 * ends by itself (alarm) after a minute; rounds alternate figure and baseline in a rotated
 * order; on one CPU a round whose processes got less than 90 % of it is run again; medians
 * are reported. Output: one markdown row per figure on stdout, or JSON with --json;
 * per-round numbers on stderr. It measures and reports, and never fails because a target
 * is missed. Every loop is bounded; only 127.0.0.1 and kernel-picked ports are used; only
 * the children this program forked are signalled, by pid.
 */
#include "bench_support.h"
#include "plcline/error.h"
#include "plcline/modbus.h"

#include <errno.h>
#include <modbus/modbus.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define MAX_SECONDS 30.0 /* --seconds, --split-seconds at most */
#define UNIT        1
#define MAX_REGS    125 /* spec 6.3: the largest read */
#define MAP_REGS    256 /* libmodbus's mapping: holding registers 0..255 */
#define POLL_MS     200 /* libmodbus server child: how often it looks at the control pipe */
#define TIMEOUT_S   2   /* the client's response timeout */

/* --- plcline's server, in a child process (bench_child.h) --------------------------------- */

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
    uint16_t port = 0, regs[MAX_REGS];
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
        fprintf(stderr, "bench_modbus: plcline server: %s %s\n", pl_strerror(err.code), err.detail);
        bench_child_report(report, &port, 1);
        (void)uv_loop_close(&loop);
        return 1;
    }
    for (i = 0; i < MAX_REGS; i++)
        regs[i] = (uint16_t)i;
    (void)pl_modbus_server_set(srv, UNIT, PL_MODBUS_TABLE_HOLDING, 0, regs, MAX_REGS);
    port = pl_modbus_server_port(srv);
    return bench_child_serve_loop(&loop, ctl, report, &port, 1, stop_plcline, &srv);
}

/* --- libmodbus's server, in a child process: one connection at a time, blocking ---------- */

/* Waits for `fd` or the control pipe; 1 when fd is readable, 0 when the parent said stop,
 * -1 on an error. */
static int wait_fd(int fd, int ctl)
{
    struct pollfd p[2] = {{fd, POLLIN, 0}, {ctl, POLLIN, 0}};

    for (;;) {
        int n = poll(p, 2, POLL_MS);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (p[1].revents != 0)
            return 0;
        if (p[0].revents != 0)
            return 1;
    }
}

static int serve_libmodbus(void *arg, int ctl, int report)
{
    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    modbus_mapping_t *map;
    modbus_t *ctx;
    uint16_t port = 0;
    int lfd, fd, i, rc = 0;

    (void)arg;
    lfd = bench_listen_loopback(&port);
    ctx = modbus_new_tcp("127.0.0.1", 502); /* the address is not used: we listen */
    map = modbus_mapping_new(0, 0, MAP_REGS, 0);
    if (lfd < 0 || ctx == NULL || map == NULL) {
        port = 0;
        bench_child_report(report, &port, 1);
        return 1;
    }
    for (i = 0; i < MAX_REGS; i++)
        map->tab_registers[i] = (uint16_t)i;
    bench_child_report(report, &port, 1);
    while (wait_fd(lfd, ctl) == 1) {
        fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        (void)bench_set_nodelay(fd);
        modbus_set_socket(ctx, fd);
        for (;;) {
            int n, w = wait_fd(fd, ctl);

            if (w != 1) {
                rc = w < 0;
                close(fd);
                goto out;
            }
            n = modbus_receive(ctx, query);
            if (n <= 0)
                break; /* the client went away */
            if (modbus_reply(ctx, query, n, map) < 0)
                break;
        }
        close(fd);
    }
out:
    modbus_mapping_free(map);
    modbus_free(ctx);
    close(lfd);
    return rc;
}

/* --- the client: libmodbus, blocking, for both servers ------------------------------------ */

static double run_client(uint16_t port, const bench_opts_t *o, void *ctx, bench_meter_t *m)
{
    const int *nregs = ctx;
    uint16_t regs[MAX_REGS];
    modbus_t *c = modbus_new_tcp("127.0.0.1", port);
    uint64_t done = 0;
    double end;
    int ok = 1;

    if (c == NULL || modbus_set_slave(c, UNIT) != 0 ||
        modbus_set_response_timeout(c, TIMEOUT_S, 0) != 0 || modbus_connect(c) != 0) {
        fprintf(stderr, "bench_modbus: client: cannot connect to port %u\n", (unsigned)port);
        if (c != NULL)
            modbus_free(c);
        return -1.0;
    }
    end = bench_now_s() + o->warmup;
    while (ok && bench_now_s() < end)
        ok = modbus_read_registers(c, 0, *nregs, regs) == *nregs;
    bench_meter_start(m);
    end = bench_now_s() + o->seconds;
    while (ok && bench_now_s() < end) {
        ok = modbus_read_registers(c, 0, *nregs, regs) == *nregs;
        done += (uint64_t)ok;
    }
    bench_meter_stop(m);
    if (ok && regs[*nregs - 1] != (uint16_t)(*nregs - 1)) {
        fprintf(stderr, "bench_modbus: client: register %d reads %u\n", *nregs - 1,
                (unsigned)regs[*nregs - 1]);
        ok = 0;
    }
    if (!ok)
        fprintf(stderr, "bench_modbus: client: %s\n", modbus_strerror(errno));
    modbus_close(c);
    modbus_free(c);
    return ok ? bench_meter_rate(m, done) : -1.0;
}

/* --- sides and figures --------------------------------------------------------------------- */

typedef enum {
    SIDE_PL_1,   /* plcline's server, 1 register */
    SIDE_LM_1,   /* libmodbus's server, 1 register */
    SIDE_PL_125, /* plcline's server, 125 registers */
    SIDE_LM_125, /* libmodbus's server, 125 registers */
} side_t;

static const char *side_name(int side)
{
    switch ((side_t)side) {
    case SIDE_PL_1:
        return "plcline server, 1 register";
    case SIDE_LM_1:
        return "libmodbus server, 1 register";
    case SIDE_PL_125:
        return "plcline server, 125 registers";
    case SIDE_LM_125:
        return "libmodbus server, 125 registers";
    }
    return "?";
}

static double run_once(int side, const bench_opts_t *o, void *ctx, double *share)
{
    static const bench_child_spec_t plcline = {serve_plcline, NULL, 1, 0, 0};
    static const bench_child_spec_t libmodbus = {serve_libmodbus, NULL, 1, 0, 0};
    static int one = 1, most = MAX_REGS;
    int pl = side == SIDE_PL_1 || side == SIDE_PL_125;
    int *nregs = side == SIDE_PL_1 || side == SIDE_LM_1 ? &one : &most;

    (void)ctx;
    return bench_run_side(pl ? &plcline : &libmodbus, run_client, nregs, o, share);
}

static int throughput(bench_result_t *res, int fig, int base, const bench_opts_t *o)
{
    bench_sides_t sides = {run_once, side_name, NULL};

    res->conns = 1;
    return bench_throughput(res, &sides, fig, &base, 1, o);
}

/* --profile: one side once, no table row; for perf and strace. */
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
    };
    size_t i;
    double v, share;

    for (i = 0; i < sizeof(what) / sizeof(what[0]); i++)
        if (strcmp(o->profile, what[i].name) == 0)
            break;
    if (i == sizeof(what) / sizeof(what[0])) {
        fprintf(stderr, "bench_modbus: --profile: plcline-1, libmodbus-1, plcline-125 or "
                        "libmodbus-125\n");
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
            "usage: bench_modbus [--quick] [--json] [--seconds S] [--rounds N]\n"
            "                    [--split-seconds S] [--split-rounds N]\n"
            "                    [--pin same|split|none] [--profile WHAT]\n"
            "  --quick      shorter runs: 0.5 s (default 3 s), two-CPU rows 5 x 0.2 s\n"
            "  --json       a JSON array on stdout instead of markdown table rows\n"
            "  --seconds S  measured time per run (one-CPU rows)\n"
            "  --rounds N   rounds per figure, median reported (1..%d, default 3)\n"
            "  --split-seconds S, --split-rounds N\n"
            "               the same for the two-CPU rows (default 0.5 s, %d rounds)\n"
            "  --pin MODE   CPU placement of --profile: same, split, none\n"
            "  --profile WHAT  run one side once: plcline-1, libmodbus-1, plcline-125,\n"
            "               libmodbus-125\n",
            BENCH_MAX_ROUNDS, BENCH_MAX_ROUNDS);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int fig, base;
    } figs[] = {
        {"modbus server, sync read 1 register, libmodbus client", SIDE_PL_1, SIDE_LM_1},
        {"modbus server, sync read 125 registers, libmodbus client", SIDE_PL_125, SIDE_LM_125},
    };
    bench_result_t rs[4];
    bench_opts_t o, split;
    char name[96];
    size_t nres = 0, i;
    int first, last, two, failed = 0;

    bench_opts_init(&o, MAX_SECONDS);
    for (i = 1; i < (size_t)argc; i++) {
        int k = (int)i;

        if (bench_opts_arg(&o, argc, argv, &k) != 1) {
            usage();
            return 2;
        }
        i = (size_t)k;
    }
    bench_init("bench_modbus");
    if (o.profile != NULL)
        return profile(&o);
    split = bench_opts_split(&o);
    two = bench_cpus_allowed(&first, &last) >= 2;
    fprintf(stderr,
            "# %.1f s per run after %.1f s warm-up, %u rounds, median; two-CPU rows: %u rounds "
            "of %.1f s; baseline: libmodbus %s's server, same client\n",
            o.seconds, o.warmup, o.rounds, o.split_rounds, o.split_seconds,
            LIBMODBUS_VERSION_STRING);
    if (!two)
        fprintf(stderr, "bench_modbus: one CPU only: no two-CPU rows\n");
    for (i = 0; i < sizeof(figs) / sizeof(figs[0]); i++) {
        if (two) { /* the target rows: client and server apart, as in a plant */
            bench_pin_apply(BENCH_PIN_SPLIT);
            snprintf(name, sizeof(name), "%s, 2 CPUs", figs[i].name);
            bench_result_init(&rs[nres], name, "req/s", 0, ">= 1.0", 1.0);
            if (throughput(&rs[nres], figs[i].fig, figs[i].base, &split) == 0)
                nres++;
            else
                failed = 1;
        }
        bench_pin_apply(BENCH_PIN_SAME); /* information: the CPU time of an exchange */
        snprintf(name, sizeof(name), "%s, 1 CPU", figs[i].name);
        bench_result_init(&rs[nres], name, "req/s", 0, "-", 0);
        if (throughput(&rs[nres], figs[i].fig, figs[i].base, &o) == 0)
            nres++;
        else
            failed = 1;
    }
    bench_pin_apply(o.pin);
    bench_results_print(rs, nres, o.json);
    return failed || nres == 0 ? 1 : 0;
}
