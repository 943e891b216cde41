/* SPDX-License-Identifier: MIT */
/*
 * Clocks, the CPU-share meter and the measured window (see bench_meter.h). It reads clocks
 * and runs timers on the caller's loop; it never sleeps except in bench_sleep_ms().
 */
#include "bench_support.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double bench_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_sleep_ms(long ms)
{
    struct timespec ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

double bench_rss_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *fp = fopen("/proc/self/statm", "r");

    if (fp == NULL)
        return 0.0;
    if (fscanf(fp, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(fp);
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

/* This process's CPU time plus the server child's. */
static double cpu_seconds(pid_t server)
{
    struct timespec ts;
    clockid_t id;
    double s = 0.0;

    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0)
        s += (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    if (server > 0 && clock_getcpuclockid(server, &id) == 0 && clock_gettime(id, &ts) == 0)
        s += (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    return s;
}

void bench_meter_start(bench_meter_t *m)
{
    m->t0 = bench_now_s();
    m->cpu0 = cpu_seconds(m->server);
}

void bench_meter_stop(bench_meter_t *m)
{
    m->t1 = bench_now_s();
    m->cpu1 = cpu_seconds(m->server);
}

double bench_meter_share(const bench_meter_t *m)
{
    return m->t1 > m->t0 ? (m->cpu1 - m->cpu0) / (m->t1 - m->t0) : 0.0;
}

double bench_meter_rate(const bench_meter_t *m, uint64_t count)
{
    return m->t1 > m->t0 ? (double)count / (m->t1 - m->t0) : -1.0;
}

/* --- the window on a uv loop ------------------------------------------------------------ */

static void on_window_end(uv_timer_t *t)
{
    bench_window_t *w = t->data;

    bench_meter_stop(w->m);
    w->mark = *w->done - w->mark;
    w->on_end(w);
    uv_close((uv_handle_t *)&w->warm, NULL);
    uv_close((uv_handle_t *)&w->end, NULL);
}

static void on_window_warm(uv_timer_t *t)
{
    bench_window_t *w = t->data;

    bench_meter_start(w->m);
    w->mark = *w->done;
    uv_timer_start(&w->end, on_window_end, (uint64_t)(w->seconds * 1000.0), 0);
}

void bench_window_start(bench_window_t *w, uv_loop_t *loop, double warmup, double seconds,
                        bench_meter_t *m, const uint64_t *done, bench_window_cb on_end)
{
    w->m = m;
    w->done = done;
    w->mark = 0;
    w->seconds = seconds;
    w->on_end = on_end;
    uv_timer_init(loop, &w->warm);
    uv_timer_init(loop, &w->end);
    w->warm.data = w;
    w->end.data = w;
    uv_timer_start(&w->warm, on_window_warm, (uint64_t)(warmup * 1000.0), 0);
}

uint64_t bench_window_count(const bench_window_t *w)
{
    return w->mark;
}

static void until_expired(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

int bench_run_until(uv_loop_t *loop, int (*cond)(void), uint64_t ms)
{
    uv_timer_t deadline;
    int expired = 0, met = 0;

    uv_timer_init(loop, &deadline);
    deadline.data = &expired;
    uv_timer_start(&deadline, until_expired, ms, 0);
    while (!expired && !(met = cond != NULL && cond()))
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&deadline, NULL);
    uv_run(loop, UV_RUN_NOWAIT); /* the timer's close */
    return met;
}
