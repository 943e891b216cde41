/* SPDX-License-Identifier: MIT */
/*
 * CPU placement of a bench program (the client) and of the server children it forks.
 *
 * With the client and the servers on one CPU a ping-pong is pure CPU work (two context
 * switches per exchange) and runs repeat within a few percent: 1 / rate is the CPU time of
 * one exchange, both sides together. With the client on one CPU and the servers on
 * another, as a driver and its device are in a plant, every exchange also waits for a
 * cross-CPU wake-up, whose latency on a shared virtual machine drifts by a factor of three
 * over minutes: such figures take many short rounds (bench_rounds.h).
 *
 * The set of allowed CPUs is read once by bench_init(), before any pinning narrows it.
 */
#ifndef PL_BENCH_PIN_H
#define PL_BENCH_PIN_H

typedef enum {
    BENCH_PIN_NONE = 0, /* wherever the scheduler likes */
    BENCH_PIN_SAME,     /* client and servers on the last allowed CPU */
    BENCH_PIN_SPLIT,    /* client on the first allowed CPU, servers on the last */
} bench_pin_t;

/* Reads the allowed CPU set (bench_init() calls it). */
void bench_pin_init(void);

/* The first and last allowed CPU; returns how many are allowed (0 when unknown). */
int bench_cpus_allowed(int *first, int *last);

/* Places this process (the client) for `mode`; server children forked from now on place
 * themselves with bench_pin_server(). BENCH_PIN_NONE, or no known CPU set, gives this
 * process back every allowed CPU. */
void bench_pin_apply(bench_pin_t mode);

/* In a forked server child: moves it to the servers' CPU (nothing when unpinned). */
void bench_pin_server(void);

/* The placement in effect (BENCH_PIN_NONE when pinning was not possible). */
bench_pin_t bench_pin_mode(void);

/* "client 0, servers 1", or "unpinned". Static storage, overwritten by the next call. */
const char *bench_pin_text(void);

/* "same", "split" or "none" to *mode; returns 0, or -1 for anything else. */
int bench_pin_parse(const char *s, bench_pin_t *mode);

#endif
