/* SPDX-License-Identifier: MIT */
/*
 * The program-wide part of bench/support: the name messages carry, and the start-up every
 * bench program needs (see bench_support.h).
 */
#include "bench_support.h"

#include <signal.h>

static const char *g_name = "bench";

void bench_init(const char *name)
{
    g_name = name;
    signal(SIGPIPE, SIG_IGN);
    bench_pin_init();
}

const char *bench_name(void)
{
    return g_name;
}
