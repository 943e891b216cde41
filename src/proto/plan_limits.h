/* SPDX-License-Identifier: MIT */
/*
 * What a protocol tells the engine's block planner about one device: how many units one
 * request may carry, and how many unread units may lie between two ranges read together.
 * Drivers fill it (src/proto/driver.h); the planner (src/engine/planner.h) consumes it.
 */
#ifndef PLCLINE_PROTO_PLAN_LIMITS_H
#define PLCLINE_PROTO_PLAN_LIMITS_H

#include <stdint.h>

/* max_gap: the most unread units allowed between two ranges read in one block (0: ranges
 * must touch or overlap). max_len: the most units one request may carry (>= 1; seed 000:
 * 256 items per block, error 0x5501 beyond). */
typedef struct {
    uint32_t max_gap;
    uint32_t max_len;
} pl_plan_limits_t;

#endif /* PLCLINE_PROTO_PLAN_LIMITS_H */
