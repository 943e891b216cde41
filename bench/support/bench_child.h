/* SPDX-License-Identifier: MIT */
/*
 * Server children. Every server of a bench (a plcline simulator, a plain responder, a
 * black hole) runs in a forked child process, never in a thread of the client: its CPU
 * time, its allocator and its memory are then its own, `perf stat -p` can look at either
 * side alone, and it is how a driver and a PLC sit in a real plant.
 *
 * The child listens on 127.0.0.1 with kernel-picked ports and reports them through a pipe
 * (no fixed port, no sleep to wait for readiness); it finishes when the parent closes the
 * control pipe, and ends by itself (alarm) whatever the parent does. Only children forked
 * here are signalled, by pid.
 */
#ifndef PL_BENCH_CHILD_H
#define PL_BENCH_CHILD_H

#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#define BENCH_CHILD_MAX_PORTS 16
#define BENCH_CHILD_ALARM_S   60u  /* default: a child ends by itself after this */
#define BENCH_READY_WAIT_MS   5000 /* default: for a child to report its ports */
#define BENCH_STOP_WAIT_MS    5000 /* for a child to exit after being told to */

/* The server, run in the child. It listens, reports its ports with bench_child_report()
 * (or 0 on failure), serves until `ctl` becomes readable or hangs up (the parent closed its
 * end) and returns the child's exit status (0 when all went well). */
typedef int (*bench_serve_fn)(void *arg, int ctl, int report);

typedef struct {
    bench_serve_fn serve;
    void *arg;        /* serve's */
    unsigned nports;  /* ports the child reports; 0 means 1 */
    unsigned alarm_s; /* 0: BENCH_CHILD_ALARM_S */
    int ready_ms;     /* 0: BENCH_READY_WAIT_MS */
} bench_child_spec_t;

typedef struct {
    pid_t pid; /* 0: no child */
    int ctl;   /* write end of the control pipe; closing it tells the child to finish */
    uint16_t ports[BENCH_CHILD_MAX_PORTS]; /* as reported, in the child's order */
    unsigned nports;
} bench_child_t;

/* Forks a child running spec->serve. In the child: the descriptors inherited from the
 * parent are closed (its loop, its connections) except the two pipe ends serve gets, the
 * alarm is set, and the child moves to the servers' CPU (bench_pin_server()). The parent
 * waits up to ready_ms for the ports. Returns 0 with ch filled, or -1; either way
 * bench_child_stop() or bench_child_kill() may be called on ch afterwards. */
int bench_child_start(bench_child_t *ch, const bench_child_spec_t *spec);

/* Child side: writes the n ports (0 for a failure) to `report` and closes it. */
void bench_child_report(int report, const uint16_t *ports, unsigned n);

/* Child side, for servers on a libuv loop: once they listen on `loop`, reports their n
 * ports and runs the loop until the parent closes the control pipe; then stop(data) must
 * close every handle of the servers, so that the loop ends. Returns the child's exit status:
 * 0 when the loop closed cleanly, else 1. */
int bench_child_serve_loop(uv_loop_t *loop, int ctl, int report, const uint16_t *ports, unsigned n,
                           void (*stop)(void *data), void *data);

/* Closes the control pipe and reaps the child (bench_reap, BENCH_STOP_WAIT_MS); says on
 * stderr when it did not exit with status 0. */
void bench_child_stop(bench_child_t *ch);

/* SIGKILLs the child now (also ends a stopped one) and reaps it. */
void bench_child_kill(bench_child_t *ch);

/* Waits up to `ms` for `pid` (a child of this process) to exit; SIGKILLs it after that.
 * Returns its wait status, or -1 when it had to be killed. */
int bench_reap(pid_t pid, long ms);

#endif
