/* SPDX-License-Identifier: MIT */
/*
 * Results and how they are printed: the row contract of scripts/bench.sh and docs/bench.md
 * ("| benchmark | figure | baseline | ratio | target | met |", one row per figure on
 * stdout) or, with --json, one JSON array with the same figures and every round's numbers.
 */
#ifndef PL_BENCH_RESULT_H
#define PL_BENCH_RESULT_H

#include <stddef.h>

#define BENCH_MAX_ROUNDS 15 /* figure/baseline rounds a result keeps */
#define BENCH_MEDIAN_MAX 64 /* values bench_median() takes */

typedef struct {
    char name[96];        /* benchmark column */
    const char *unit;     /* "req/s", "KiB/conn"; static storage */
    int prec;             /* decimals of figure and baseline in the row */
    double figure;        /* plcline's number: the median of its rounds */
    double baseline;      /* the baseline's, the same way */
    double ratio;         /* the median of the per-round figure / baseline */
    char target[32];      /* as printed: ">= 0.85", "< 8 KiB/conn"; "-" for none */
    double min_ratio;     /* a throughput target: met when ratio >= min_ratio; 0 for none */
    int met;              /* printed "yes"/"no", or "-" when the target is "-" */
    char figure_text[96]; /* when not empty, the figure cell instead of figure and unit */
    char baseline_text[96];
    unsigned conns;                   /* connections used; 0: not said */
    double seconds;                   /* measured time per run */
    char cpus[64];                    /* placement during the runs (bench_pin_text()) */
    unsigned rounds;                  /* rounds in runs[] */
    double runs[2][BENCH_MAX_ROUNDS]; /* each round: [0] plcline, [1] the baseline */
} bench_result_t;

/* Clears r and sets its identity; cpus gets the placement in effect now (the rounds loop
 * sets it again when it measures). `unit` must stay valid. */
void bench_result_init(bench_result_t *r, const char *name, const char *unit, int prec,
                       const char *target, double min_ratio);

/* The median of v[0..n) (v is not changed); 0 for n == 0. At most BENCH_MEDIAN_MAX
 * values are taken: a caller with more must not ask. */
double bench_median(const double *v, unsigned n);

/* One markdown row of six cells on stdout; the met cell is "-" when target is "-". */
void bench_row_print(const char *name, const char *figure, const char *baseline, double ratio,
                     const char *target, int met);

/* rs[0..n) as markdown rows, or as one JSON array when `json`. */
void bench_results_print(const bench_result_t *rs, size_t n, int json);

#endif
