/* SPDX-License-Identifier: MIT */
/*
 * bench/support: the harness every bench/bench_*.c program shares, so that a new program
 * writes only its protocol-specific part (its plcline runs, its frames) and measures the
 * way the others do. Topics, one header each:
 *
 *   bench_pin.h       CPU placement of the client and of the server children
 *   bench_meter.h     clocks, the CPU-share meter, the warm-up/measure window on a uv loop
 *   bench_net.h       blocking loopback socket helpers, RLIMIT_NOFILE
 *   bench_child.h     server children: port reported through a pipe, stopped by a pipe
 *   bench_pingpong.h  the blocking and epoll ping-pong baselines, for any frame sizes
 *   bench_result.h    results, medians, the markdown row contract and --json
 *   bench_rounds.h    the common options and the figure/baseline rounds loop
 *
 * Bench code only: never linked into the library, and it does not use plcline itself.
 * Every helper is bounded in time, uses only 127.0.0.1 and kernel-picked ports, and
 * signals only the children it forked, by pid. Messages go to stderr prefixed with the
 * program's name; lines starting with "# " are notes that scripts/bench.sh copies into
 * bench/results.md.
 */
#ifndef PL_BENCH_SUPPORT_H
#define PL_BENCH_SUPPORT_H

#include "bench_child.h"
#include "bench_meter.h"
#include "bench_net.h"
#include "bench_pin.h"
#include "bench_pingpong.h"
#include "bench_result.h"
#include "bench_rounds.h"

/* Call first in main: names the program in messages ("bench_ttcp: ..."; `name` must stay
 * valid), ignores SIGPIPE (a peer that went away makes a failed run, not a dead program)
 * and reads the CPUs this process may use before any pinning narrows them. */
void bench_init(const char *name);

/* The name given to bench_init(), or "bench" before. */
const char *bench_name(void);

#endif
