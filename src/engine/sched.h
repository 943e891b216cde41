/* SPDX-License-Identifier: MIT */
/*
 * Periodic deadlines without drift: pure arithmetic, so the scheduler's rules are tested
 * with an injected clock and the engine only feeds it uv_now().
 */
#ifndef PLCLINE_ENGINE_SCHED_H
#define PLCLINE_ENGINE_SCHED_H

#include <stdint.h>

/* Called when the deadline `*due` has been reached at time `now` (>= *due). Moves `*due` to
 * the first deadline after `now` on the grid *due + k * period (so a late wake-up never
 * shifts later deadlines) and returns the number of grid points skipped because `now` was
 * already past them: each is a missed cycle (an overrun). `period` > 0. */
uint32_t pl_sched_advance(uint64_t *due, uint64_t now, uint32_t period);

#endif
