/* SPDX-License-Identifier: MIT */
/*
 * The common options and the rounds loop of a throughput figure (see bench_rounds.h).
 * Notes go to stderr; nothing here prints on stdout.
 */
#include "bench_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SECONDS 0.05

void bench_opts_init(bench_opts_t *o, double max_seconds)
{
    memset(o, 0, sizeof(*o));
    o->seconds = 3.0;
    o->warmup = 0.5;
    o->rounds = 3;
    o->split_seconds = 0.5;
    o->split_rounds = BENCH_MAX_ROUNDS;
    o->pin = BENCH_PIN_SAME;
    o->max_seconds = max_seconds;
}

int bench_parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end = NULL;
    unsigned long v = strtoul(s, &end, 10);

    if (end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = (unsigned)v;
    return 0;
}

int bench_parse_seconds(const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);

    if (end == s || *end != '\0' || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

int bench_opts_arg(bench_opts_t *o, int argc, char **argv, int *i)
{
    static const char *const with_value[] = {"--seconds",      "--split-seconds", "--rounds",
                                             "--split-rounds", "--pin",           "--profile"};
    const char *a = argv[*i], *v;
    size_t k;
    int rc;

    if (strcmp(a, "--quick") == 0) {
        o->seconds = 0.5;
        o->warmup = 0.2;
        o->split_seconds = 0.2;
        o->split_rounds = 5;
        return 1;
    }
    if (strcmp(a, "--json") == 0) {
        o->json = 1;
        return 1;
    }
    for (k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
        if (strcmp(a, with_value[k]) == 0)
            break;
    if (k == sizeof(with_value) / sizeof(with_value[0]))
        return 0;
    if (*i + 1 >= argc)
        return -1;
    v = argv[++*i];
    if (strcmp(a, "--seconds") == 0)
        rc = bench_parse_seconds(v, MIN_SECONDS, o->max_seconds, &o->seconds);
    else if (strcmp(a, "--split-seconds") == 0)
        rc = bench_parse_seconds(v, MIN_SECONDS, o->max_seconds, &o->split_seconds);
    else if (strcmp(a, "--rounds") == 0)
        rc = bench_parse_uint(v, 1, BENCH_MAX_ROUNDS, &o->rounds);
    else if (strcmp(a, "--split-rounds") == 0)
        rc = bench_parse_uint(v, 1, BENCH_MAX_ROUNDS, &o->split_rounds);
    else if (strcmp(a, "--pin") == 0)
        rc = bench_pin_parse(v, &o->pin);
    else {
        o->profile = v;
        rc = 0;
    }
    return rc == 0 ? 1 : -1;
}

bench_opts_t bench_opts_split(const bench_opts_t *o)
{
    bench_opts_t s = *o;

    s.seconds = o->split_seconds;
    s.rounds = o->split_rounds;
    return s;
}

/* --- one run of a side ------------------------------------------------------------------- */

double bench_run_side(const bench_child_spec_t *spec, bench_client_fn client, void *ctx,
                      const bench_opts_t *o, double *share)
{
    bench_meter_t m;
    bench_child_t ch;
    double v;

    memset(&m, 0, sizeof(m));
    *share = 0.0;
    if (bench_child_start(&ch, spec) != 0) {
        fprintf(stderr, "%s: could not start a server\n", bench_name());
        bench_child_stop(&ch);
        return -1.0;
    }
    m.server = ch.pid;
    v = client(ch.ports[0], o, ctx, &m);
    *share = bench_meter_share(&m); /* read before the server is reaped */
    bench_child_stop(&ch);
    return v;
}

typedef struct {
    bench_base_t kind;
    const bench_frames_t *f;
    unsigned conns;
} baseline_t;

static double run_baseline_client(uint16_t port, const bench_opts_t *o, void *ctx, bench_meter_t *m)
{
    const baseline_t *b = ctx;

    switch (b->kind) {
    case BENCH_BASE_BLOCKING:
        return bench_run_blocking(b->f, port, o->warmup, o->seconds, m);
    case BENCH_BASE_EPOLL:
        return bench_run_epoll(b->f, port, b->conns, o->warmup, o->seconds, m);
    }
    return -1.0;
}

double bench_run_baseline(bench_base_t kind, bench_frames_t *f, unsigned conns,
                          const bench_opts_t *o, double *share)
{
    baseline_t b = {kind, f, conns};
    bench_child_spec_t spec = {kind == BENCH_BASE_EPOLL ? bench_serve_epoll : bench_serve_blocking,
                               f, 1, 0, 0};

    return bench_run_side(&spec, run_baseline_client, &b, o, share);
}

/* --- the rounds loop ------------------------------------------------------------------------ */

int bench_throughput(bench_result_t *res, const bench_sides_t *s, int fig, const int *base,
                     size_t nbase, const bench_opts_t *o)
{
    double val[BENCH_MAX_BASES + 1][BENCH_MAX_ROUNDS], ratio[BENCH_MAX_BASES][BENCH_MAX_ROUNDS];
    double share[BENCH_MAX_BASES + 1];
    int clean[BENCH_MAX_ROUNDS];
    unsigned round, attempt, nclean = 0;
    size_t k, nsides = nbase + 1;

    if (nbase < 1 || nbase > BENCH_MAX_BASES || o->rounds > BENCH_MAX_ROUNDS)
        return -1;
    for (round = 0; round < o->rounds; round++) {
        for (attempt = 0;; attempt++) {
            double low = 1e9;

            for (k = 0; k < nsides; k++) {
                size_t i = (k + round) % nsides; /* 0: the figure, 1..: base[i - 1] */
                int side = i == 0 ? fig : base[i - 1];
                double v = s->run(side, o, s->ctx, &share[i]);

                if (v <= 0) {
                    fprintf(stderr, "%s: %s run failed\n", bench_name(), s->name(side));
                    return -1;
                }
                val[i][round] = v;
                if (share[i] < low)
                    low = share[i];
            }
            clean[round] = bench_pin_mode() != BENCH_PIN_SAME || low >= BENCH_SHARE_MIN;
            if (clean[round])
                break;
            if (attempt == BENCH_MAX_RETRIES) {
                fprintf(stderr, "# %s round %u: kept though disturbed (CPU share %.2f)\n",
                        res[0].name, round + 1, low);
                break;
            }
            fprintf(stderr, "# %s round %u: disturbed (CPU share %.2f < %.2f), again\n",
                    res[0].name, round + 1, low, BENCH_SHARE_MIN);
        }
        for (k = 0; k < nbase; k++) {
            ratio[k][round] = val[0][round] / val[k + 1][round];
            res[k].runs[0][round] = val[0][round];
            res[k].runs[1][round] = val[k + 1][round];
            fprintf(stderr,
                    "# %s round %u: %s %.0f req/s, %s %.0f req/s, ratio %.3f (CPU share %.2f, "
                    "%.2f; %s)\n",
                    res[k].name, round + 1, s->name(fig), val[0][round], s->name(base[k]),
                    val[k + 1][round], ratio[k][round], share[0], share[k + 1], bench_pin_text());
        }
    }
    /* Medians over the undisturbed rounds when there are any, else over all of them. */
    for (round = 0; round < o->rounds; round++)
        nclean += clean[round] ? 1u : 0u;
    if (nclean == 0)
        fprintf(stderr, "# %s: no undisturbed round: medians over all %u\n", res[0].name,
                o->rounds);
    else if (nclean < o->rounds)
        fprintf(stderr, "# %s: medians over %u undisturbed round(s) of %u\n", res[0].name, nclean,
                o->rounds);
    for (k = 0; k < nbase; k++) {
        double f[BENCH_MAX_ROUNDS], b[BENCH_MAX_ROUNDS], q[BENCH_MAX_ROUNDS];
        unsigned m = 0;

        for (round = 0; round < o->rounds; round++) {
            if (nclean > 0 && !clean[round])
                continue;
            f[m] = val[0][round];
            b[m] = val[k + 1][round];
            q[m] = ratio[k][round];
            m++;
        }
        res[k].figure = bench_median(f, m);
        res[k].baseline = bench_median(b, m);
        res[k].ratio = bench_median(q, m);
        res[k].rounds = o->rounds;
        res[k].seconds = o->seconds;
        snprintf(res[k].cpus, sizeof(res[k].cpus), "%s", bench_pin_text());
        res[k].met = res[k].min_ratio <= 0 || res[k].ratio >= res[k].min_ratio;
    }
    return 0;
}
