/* SPDX-License-Identifier: MIT */
/*
 * Results, medians and their printing (see bench_result.h). Writes only to stdout.
 */
#include "bench_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bench_result_init(bench_result_t *r, const char *name, const char *unit, int prec,
                       const char *target, double min_ratio)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->unit = unit;
    r->prec = prec;
    snprintf(r->target, sizeof(r->target), "%s", target);
    r->min_ratio = min_ratio;
    snprintf(r->cpus, sizeof(r->cpus), "%s", bench_pin_text());
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y ? 1 : 0;
}

double bench_median(const double *v, unsigned n)
{
    double tmp[BENCH_MEDIAN_MAX];
    unsigned i;

    if (n > BENCH_MEDIAN_MAX)
        n = BENCH_MEDIAN_MAX;
    if (n == 0)
        return 0.0;
    for (i = 0; i < n; i++)
        tmp[i] = v[i];
    qsort(tmp, n, sizeof(tmp[0]), cmp_double);
    return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2.0;
}

static int no_target(const char *target)
{
    return strcmp(target, "-") == 0;
}

void bench_row_print(const char *name, const char *figure, const char *baseline, double ratio,
                     const char *target, int met)
{
    printf("| %s | %s | %s | %.3f | %s | %s |\n", name, figure, baseline, ratio, target,
           no_target(target) ? "-"
           : met             ? "yes"
                             : "no");
}

static void print_row(const bench_result_t *r)
{
    char fig[128], base[128];

    if (r->figure_text[0] != '\0')
        snprintf(fig, sizeof(fig), "%s", r->figure_text);
    else
        snprintf(fig, sizeof(fig), "%.*f %s", r->prec, r->figure, r->unit);
    if (r->baseline_text[0] != '\0')
        snprintf(base, sizeof(base), "%s", r->baseline_text);
    else
        snprintf(base, sizeof(base), "%.*f %s", r->prec, r->baseline, r->unit);
    bench_row_print(r->name, fig, base, r->ratio, r->target, r->met);
}

static void print_rounds(const char *key, const double *v, unsigned n)
{
    unsigned i;

    printf(", \"%s\": [", key);
    for (i = 0; i < n; i++)
        printf("%s%.4f", i > 0 ? ", " : "", v[i]);
    printf("]");
}

static void print_json(const bench_result_t *r)
{
    printf("  {\"benchmark\": \"%s\", \"unit\": \"%s\", \"figure\": %.4f, \"baseline\": %.4f, "
           "\"ratio\": %.4f, \"target\": \"%s\", \"met\": %s",
           r->name, r->unit, r->figure, r->baseline, r->ratio, r->target,
           no_target(r->target) ? "null"
           : r->met             ? "true"
                                : "false");
    if (r->conns > 0)
        printf(", \"connections\": %u", r->conns);
    printf(", \"seconds\": %.2f, \"cpus\": \"%s\"", r->seconds, r->cpus);
    if (r->figure_text[0] != '\0')
        printf(", \"figure_text\": \"%s\"", r->figure_text);
    if (r->baseline_text[0] != '\0')
        printf(", \"baseline_text\": \"%s\"", r->baseline_text);
    print_rounds("figure_rounds", r->runs[0], r->rounds);
    print_rounds("baseline_rounds", r->runs[1], r->rounds);
    printf("}");
}

void bench_results_print(const bench_result_t *rs, size_t n, int json)
{
    size_t i;

    if (json)
        printf("[\n");
    for (i = 0; i < n; i++) {
        if (!json) {
            print_row(&rs[i]);
            continue;
        }
        print_json(&rs[i]);
        printf("%s\n", i + 1 < n ? "," : "");
    }
    if (json)
        printf("]\n");
    fflush(stdout);
}
