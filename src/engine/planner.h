/* SPDX-License-Identifier: MIT */
/*
 * Block planner: groups the tags of one device into as few read requests as possible.
 *
 * A tag is a range of units (words of a node, elements of a data file: the protocol
 * says) in an area (the node, the data file). The planner partitions the ranges into blocks so that
 * the total number of requests is minimal, then prefers fewer blocks, then fewer units read. It
 * implements the grouping rule of seed 000 ("Performance and Throughput"): reading DM0001 and
 * DM0031 is one block DM0001..DM0031, when the limits allow it.
 *
 * Pure code: no I/O, no libuv, no clock, no allocation (all working memory is a scratch
 * buffer from the caller), no global state; safe to call from any thread on distinct
 * buffers. The rules are written out in docs/planner.md.
 */
#ifndef PLCLINE_ENGINE_PLANNER_H
#define PLCLINE_ENGINE_PLANNER_H

#include <stddef.h>
#include <stdint.h>

#include "proto/plan_limits.h"

/* One tag: units [start, start + len) of `area`. len >= 1 and start + len <= 2^32. */
typedef struct {
    uint32_t area;
    uint32_t start;
    uint32_t len;
} pl_range_t;

/* One block: units [start, start + len) of `area`, read with `requests` consecutive
 * requests of at most max_len units each (requests = ceil(len / max_len); it is more than 1
 * only for a block whose extent is a range longer than max_len, alone or with ranges lying
 * inside it). */
typedef struct {
    uint32_t area;
    uint32_t start;
    uint32_t len;
    uint32_t requests;
} pl_block_t;

/* pl_plan_limits_t (max_gap, max_len): src/proto/plan_limits.h, filled by the drivers. */

/* Bytes of scratch pl_plan() needs for n ranges (48 * n + a small constant; any alignment
 * is fine). Returns SIZE_MAX when n is too large to plan (n > INT_MAX, or the size would
 * overflow size_t), so that an allocation of it fails. */
size_t pl_plan_scratch_size(size_t n);

/* Plans the blocks for ranges[0..n).
 *
 * Blocks never mix areas. A block is feasible when it holds a single range (of any length),
 * or a range longer than lim->max_len and only ranges lying wholly inside it, or when its span
 * (largest end - smallest start) is <= lim->max_len and, walking its ranges sorted by (start, len),
 * each start minus the largest end seen so far is <= lim->max_gap. The plan has the minimum total
 * requests; among those, the fewest blocks; among those, the fewest units read (sum of block
 * lengths); ties are broken deterministically, so the same input (in any order) always gives the
 * same blocks.
 *
 * On success writes the blocks to out[0..ret), sorted by (area, start), and, when map is not
 * NULL, map[i] = the index in `out` of the block that wholly contains ranges[i].
 * Returns the number of blocks (0 when n == 0; ranges and scratch may then be NULL), or:
 *   PL_ENOBUFS  more than `cap` blocks are needed (cap >= n always suffices); nothing is
 *               written to `out` or `map`.
 *   PL_EINVAL   lim NULL, max_len 0, a range with len 0 or ending past 2^32, n > INT_MAX,
 *               ranges NULL with n > 0, out NULL with cap > 0, or scratch NULL or shorter than
 *               pl_plan_scratch_size(n); nothing is written to `out` or `map`.
 * Ownership: every buffer stays the caller's; `scratch` (scratch_len bytes) is overwritten
 * and holds nothing of use after the call. `ranges` is only read and may be in any order.
 * Time O(n log n) (the sort), the planning itself O(n). */
int pl_plan(const pl_range_t *ranges, size_t n, const pl_plan_limits_t *lim, pl_block_t *out,
            size_t cap, uint32_t *map, void *scratch, size_t scratch_len);

/* The total requests of a plan: the sum of blocks[0..nblocks).requests. uint64_t because a
 * plan of many long ranges with a small max_len can need more than 2^32 requests. */
uint64_t pl_plan_requests(const pl_block_t *blocks, size_t nblocks);

#endif /* PLCLINE_ENGINE_PLANNER_H */
