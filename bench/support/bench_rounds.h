/* SPDX-License-Identifier: MIT */
/*
 * The figure/baseline rounds of a throughput figure, and the options the throughput
 * programs share.
 *
 * A figure is plcline's rate beside a baseline's, measured in the same run: each round runs
 * both back to back, in an order rotated from round to round, so that a slow spell of the
 * machine hits both and does not always hit the same side first. The row shows medians
 * over the rounds; the ratio is the median of the per-round ratios.
 */
#ifndef PL_BENCH_ROUNDS_H
#define PL_BENCH_ROUNDS_H

#include "bench_child.h"
#include "bench_meter.h"
#include "bench_pin.h"
#include "bench_pingpong.h"
#include "bench_result.h"

#include <stddef.h>

#define BENCH_SHARE_MIN   0.90 /* one CPU: a run that got less of it is disturbed */
#define BENCH_MAX_RETRIES 2    /* times a disturbed round is run again */
#define BENCH_MAX_BASES   2    /* baselines one figure is set beside */

typedef struct {
    double seconds;       /* measured time per run (the one-CPU rows) */
    double warmup;        /* time before the measurement starts, same connection(s) */
    unsigned rounds;      /* figure/baseline rounds; the medians are reported */
    double split_seconds; /* the two-CPU rows: many short rounds (bench_pin.h says why) */
    unsigned split_rounds;
    int json;            /* --json */
    bench_pin_t pin;     /* --pin */
    const char *profile; /* --profile: NULL, or one side to run alone */
    double max_seconds;  /* the largest --seconds and --split-seconds accepted */
} bench_opts_t;

/* Defaults: 3 s per run after 0.5 s of warm-up, 3 rounds; two-CPU rows 15 rounds of 0.5 s;
 * --pin same; --seconds and --split-seconds from 0.05 to max_seconds. */
void bench_opts_init(bench_opts_t *o, double max_seconds);

/* Takes argv[*i] when it is a common option, moving *i past its value: --quick (0.5 s runs
 * after 0.2 s; two-CPU rows 5 rounds of 0.2 s), --json, --seconds S, --rounds N (1..15),
 * --split-seconds S, --split-rounds N, --pin same|split|none, --profile WHAT. Options act
 * in the order given. Returns 1 when it took the option, 0 when argv[*i] is not one of
 * them, -1 for a missing or bad value. */
int bench_opts_arg(bench_opts_t *o, int argc, char **argv, int *i);

/* The options of the two-CPU rows: o with seconds and rounds from split_seconds and
 * split_rounds. */
bench_opts_t bench_opts_split(const bench_opts_t *o);

/* A whole number in lo..hi, or seconds in lo..hi, from the whole of s. Return 0, or -1
 * (*out untouched). */
int bench_parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out);
int bench_parse_seconds(const char *s, double lo, double hi, double *out);

/* The client half of a side: runs against 127.0.0.1:port with o's warm-up and seconds,
 * the meter m around its measured part; returns answers per second, or <= 0. */
typedef double (*bench_client_fn)(uint16_t port, const bench_opts_t *o, void *ctx,
                                  bench_meter_t *m);

/* One run of a side: starts the server child of `spec`, runs client(its first port, o, ctx)
 * with a meter that counts the child's CPU time too, reads the CPU share into *share and
 * stops the child. Returns the client's rate, or -1 when the server did not start. */
double bench_run_side(const bench_child_spec_t *spec, bench_client_fn client, void *ctx,
                      const bench_opts_t *o, double *share);

/* One run of a plain-socket baseline the same way: its responder in a child, its client
 * over `conns` connections (BENCH_BASE_BLOCKING: always one). */
double bench_run_baseline(bench_base_t kind, bench_frames_t *f, unsigned conns,
                          const bench_opts_t *o, double *share);

/* The sides of a program's figures, named by the program's own numbers. */
typedef struct {
    /* Runs `side` once with o's warm-up and seconds, its server started before and stopped
     * after: answers per second, or <= 0 when it failed. *share gets the CPU share of the
     * measured window (bench_meter_share()). */
    double (*run)(int side, const bench_opts_t *o, void *ctx, double *share);
    /* The side's name in the notes: "plcline inflight=1", "blocking pair". */
    const char *(*name)(int side);
    void *ctx; /* run's */
} bench_sides_t;

/* One throughput figure over o->rounds rounds: side `fig` against base[0..nbase), res[k]
 * getting fig against base[k] (res[] set up by bench_result_init()). With everything on
 * one CPU (BENCH_PIN_SAME), a round in which some run got less than BENCH_SHARE_MIN of it
 * is run again, at most BENCH_MAX_RETRIES times; a round still disturbed then stays in the
 * notes but out of the medians, unless no round was undisturbed. Every round's numbers go
 * to stderr as "# " notes. Returns 0, or -1 when a run failed (said on stderr). */
int bench_throughput(bench_result_t *res, const bench_sides_t *s, int fig, const int *base,
                     size_t nbase, const bench_opts_t *o);

#endif
