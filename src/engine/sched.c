/* SPDX-License-Identifier: MIT */
/*
 * Periodic deadline arithmetic for the scan classes (see sched.h). No clock, no I/O.
 */
#include "engine/sched.h"

uint32_t pl_sched_advance(uint64_t *due, uint64_t now, uint32_t period)
{
    uint64_t next = *due + period, skipped = 0;

    if (next <= now) {
        skipped = (now - next) / period + 1;
        next += skipped * period;
    }
    *due = next;
    return skipped > UINT32_MAX ? UINT32_MAX : (uint32_t)skipped;
}
