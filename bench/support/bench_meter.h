/* SPDX-License-Identifier: MIT */
/*
 * Clocks, the CPU-share meter, the measured window of a run on a libuv loop, and the
 * resident memory of this process.
 *
 * The meter takes wall time and CPU time (this process plus one server child) at the start
 * and at the end of the measured part of a run. With both pinned to one CPU, CPU / wall is
 * the share of that CPU the run got: below 1 something else ran there, and the run counts
 * as disturbed (bench_rounds.h runs such a round again).
 */
#ifndef PL_BENCH_METER_H
#define PL_BENCH_METER_H

#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

/* CLOCK_MONOTONIC in seconds. */
double bench_now_s(void);

/* Sleeps `ms` milliseconds (bounded waits in the parent only; never to wait for readiness). */
void bench_sleep_ms(long ms);

/* Resident memory of this process in bytes (/proc/self/statm), or 0 when unknown. */
double bench_rss_bytes(void);

typedef struct {
    pid_t server; /* the server child whose CPU time counts too; 0 for none */
    double t0, t1, cpu0, cpu1;
} bench_meter_t;

void bench_meter_start(bench_meter_t *m);
void bench_meter_stop(bench_meter_t *m);

/* CPU / wall over the window; 0 before the window has ended. Read it before the server is
 * reaped (its CPU clock goes with it). */
double bench_meter_share(const bench_meter_t *m);

/* Answers per second over the window: count / (t1 - t0), or -1 when the window is empty. */
double bench_meter_rate(const bench_meter_t *m, uint64_t count);

/* The measured window of a run driven by a libuv loop: a warm-up, then `seconds` during
 * which the meter runs and the run's count of answers is taken. */
typedef struct bench_window_s bench_window_t;
typedef void (*bench_window_cb)(bench_window_t *w);

struct bench_window_s {
    void *data; /* the caller's */
    /* private */
    uv_timer_t warm, end;
    bench_meter_t *m;
    const uint64_t *done;
    uint64_t mark;
    double seconds;
    bench_window_cb on_end;
};

/* Starts the window's timers on `loop`. After `warmup` seconds the meter starts and *done
 * (the run's answer count, kept by the caller) is marked; `seconds` later the meter stops,
 * the answers in between are counted, on_end(w) runs (stop the work there, for instance by
 * freeing the clients, so the loop can end) and the window closes its two timers. */
void bench_window_start(bench_window_t *w, uv_loop_t *loop, double warmup, double seconds,
                        bench_meter_t *m, const uint64_t *done, bench_window_cb on_end);

/* Answers counted inside the window; valid once on_end has run. */
uint64_t bench_window_count(const bench_window_t *w);

/* Runs `loop` until cond() holds (NULL: never, the whole time) or `ms` passed, with a timer
 * of its own that it closes before returning; returns cond()'s last value. */
int bench_run_until(uv_loop_t *loop, int (*cond)(void), uint64_t ms);

#endif
