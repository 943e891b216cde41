/* SPDX-License-Identifier: MIT */
/*
 * CPU placement (see bench_pin.h). It only ever changes the affinity of the calling
 * process; a server child calls bench_pin_server() on itself.
 */
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET */

#include "bench_support.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>

static cpu_set_t g_allowed; /* the CPUs this process may use, read before any pinning */
static int g_allowed_ok;
static bench_pin_t g_pin = BENCH_PIN_NONE;
static int g_cpu_client = -1, g_cpu_server = -1;

void bench_pin_init(void)
{
    g_allowed_ok = sched_getaffinity(0, sizeof(g_allowed), &g_allowed) == 0;
}

int bench_cpus_allowed(int *first, int *last)
{
    int cpu, n = 0;

    *first = *last = -1;
    for (cpu = 0; g_allowed_ok && cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET((size_t)cpu, &g_allowed)) {
            if (*first < 0)
                *first = cpu;
            *last = cpu;
            n++;
        }
    }
    return n;
}

static void pin_to(int cpu)
{
    cpu_set_t set;

    if (cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET((size_t)cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0)
        fprintf(stderr, "%s: sched_setaffinity(%d) failed\n", bench_name(), cpu);
}

void bench_pin_apply(bench_pin_t mode)
{
    int first, last;

    g_pin = mode;
    g_cpu_client = g_cpu_server = -1;
    if (mode == BENCH_PIN_NONE || bench_cpus_allowed(&first, &last) == 0) {
        g_pin = BENCH_PIN_NONE;
        if (g_allowed_ok && sched_setaffinity(0, sizeof(g_allowed), &g_allowed) != 0)
            fprintf(stderr, "%s: could not restore the CPU set\n", bench_name());
        return;
    }
    g_cpu_server = last;
    g_cpu_client = mode == BENCH_PIN_SPLIT ? first : last;
    pin_to(g_cpu_client);
}

void bench_pin_server(void)
{
    pin_to(g_cpu_server);
}

bench_pin_t bench_pin_mode(void)
{
    return g_pin;
}

const char *bench_pin_text(void)
{
    static char text[64];

    if (g_pin == BENCH_PIN_NONE)
        return "unpinned";
    snprintf(text, sizeof(text), "client %d, servers %d", g_cpu_client, g_cpu_server);
    return text;
}

int bench_pin_parse(const char *s, bench_pin_t *mode)
{
    if (strcmp(s, "none") == 0)
        *mode = BENCH_PIN_NONE;
    else if (strcmp(s, "same") == 0)
        *mode = BENCH_PIN_SAME;
    else if (strcmp(s, "split") == 0)
        *mode = BENCH_PIN_SPLIT;
    else
        return -1;
    return 0;
}
