/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the block planner (src/engine/planner.h, rules in docs/planner.md): the
 * seed's DM0001/DM0031 example, the max_gap and max_len boundaries, overlapping, duplicate
 * and contained ranges, ranges longer than max_len (and ranges inside them, read by their
 * requests), interleaved areas, map[], the error
 * returns, and two property tests with a seeded PRNG: small random tag sets against an
 * exhaustive search over every set partition (cost, blocks and units read must all equal
 * the optimum), and larger ones against a plain O(n^2) dynamic program. Every plan is checked
 * with a feasibility checker written here from the rules, independent of the planner's code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/planner.h"
#include "plcline/error.h"

#define MAXN 512

/* ---- PRNG (splitmix64): the same seed gives the same cases on every platform ---- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t rng_below(uint64_t *s, uint32_t n)
{
    return (uint32_t)(rng_next(s) % n);
}

/* ---- the rules, written again from docs/planner.md ---- */

static uint64_t end_of(const pl_range_t *r)
{
    return (uint64_t)r->start + r->len;
}

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}

static int cmp_range(const void *pa, const void *pb)
{
    const pl_range_t *a = pa, *b = pb;

    if (a->area != b->area)
        return a->area < b->area ? -1 : 1;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return 0;
}

/* Does a contain b (same area, b's units all among a's)? */
static int contains(const pl_range_t *a, const pl_range_t *b)
{
    return a->area == b->area && a->start <= b->start && end_of(b) <= end_of(a);
}

/* Is the set s[0..k) a feasible block? Sorts s. A single range; or a range longer than
 * max_len with only ranges inside it; or span <= max_len and no gap > max_gap. */
static int feasible(pl_range_t *s, size_t k, const pl_plan_limits_t *lim)
{
    uint64_t lo, hi, seen;
    size_t i, j;

    if (k == 1)
        return 1;
    for (j = 0; j < k; j++) {
        if (s[j].len <= lim->max_len)
            continue;
        for (i = 0; i < k && contains(&s[j], &s[i]); i++)
            ;
        if (i == k)
            return 1;
    }
    qsort(s, k, sizeof(*s), cmp_range);
    lo = s[0].start;
    hi = 0;
    for (i = 0; i < k; i++) {
        if (s[i].area != s[0].area)
            return 0;
        if (end_of(&s[i]) > hi)
            hi = end_of(&s[i]);
    }
    if (hi - lo > lim->max_len)
        return 0;
    seen = end_of(&s[0]);
    for (i = 1; i < k; i++) {
        if (s[i].start > seen && s[i].start - seen > lim->max_gap)
            return 0;
        if (end_of(&s[i]) > seen)
            seen = end_of(&s[i]);
    }
    return 1;
}

typedef struct {
    uint64_t cost;   /* requests */
    uint64_t blocks; /* blocks */
    uint64_t words;  /* units read */
} score_t;

static int score_less(score_t a, score_t b)
{
    if (a.cost != b.cost)
        return a.cost < b.cost;
    if (a.blocks != b.blocks)
        return a.blocks < b.blocks;
    return a.words < b.words;
}

/* Checks a plan against the rules; returns its score. Fails (printing `what`) on a
 * violation: a range outside its block or in another area, a block whose extent is not its
 * ranges' extent, an infeasible or empty block, a wrong request count, blocks out of order. */
static score_t check_plan(const char *what, const pl_range_t *r, size_t n,
                          const pl_plan_limits_t *lim, const pl_block_t *b, int nb,
                          const uint32_t *map)
{
    static pl_range_t members[MAXN];
    score_t sc = {0, 0, 0};
    int k;
    size_t i;

    assert_true(nb >= 0);
    for (i = 0; i < n; i++) {
        if (map[i] >= (uint32_t)nb) {
            print_message("%s: map[%zu] = %u out of %d blocks\n", what, i, map[i], nb);
            fail();
        }
        if (r[i].area != b[map[i]].area || r[i].start < b[map[i]].start ||
            end_of(&r[i]) > (uint64_t)b[map[i]].start + b[map[i]].len) {
            print_message("%s: range %zu not inside block %u\n", what, i, map[i]);
            fail();
        }
    }
    for (k = 0; k < nb; k++) {
        uint64_t lo = UINT64_MAX, hi = 0;
        size_t cnt = 0;

        for (i = 0; i < n; i++) {
            if (map[i] != (uint32_t)k)
                continue;
            members[cnt++] = r[i];
            if (r[i].start < lo)
                lo = r[i].start;
            if (end_of(&r[i]) > hi)
                hi = end_of(&r[i]);
        }
        if (cnt == 0 || lo != b[k].start || hi - lo != b[k].len) {
            print_message("%s: block %d is empty or not its ranges' extent\n", what, k);
            fail();
        }
        if (!feasible(members, cnt, lim)) {
            print_message("%s: block %d (start %u len %u) is not feasible\n", what, k, b[k].start,
                          b[k].len);
            fail();
        }
        if (b[k].requests != ceil_div(b[k].len, lim->max_len)) {
            print_message("%s: block %d has %u requests\n", what, k, b[k].requests);
            fail();
        }
        if (k > 0 && (b[k].area < b[k - 1].area ||
                      (b[k].area == b[k - 1].area && b[k].start < b[k - 1].start))) {
            print_message("%s: blocks %d and %d out of order\n", what, k - 1, k);
            fail();
        }
        sc.cost += b[k].requests;
        sc.blocks++;
        sc.words += b[k].len;
    }
    assert_int_equal(sc.cost, pl_plan_requests(b, (size_t)nb));
    return sc;
}

/* Runs pl_plan with a scratch buffer of exactly pl_plan_scratch_size(n) bytes. */
static int plan(const pl_range_t *r, size_t n, uint32_t gap, uint32_t len, pl_block_t *out,
                size_t cap, uint32_t *map)
{
    pl_plan_limits_t lim = {gap, len};
    size_t need = pl_plan_scratch_size(n);
    void *scratch = malloc(need);
    int rc;

    assert_non_null(scratch);
    rc = pl_plan(r, n, &lim, out, cap, map, scratch, need);
    free(scratch);
    return rc;
}

/* Plans and checks; returns the number of blocks. */
static int plan_checked(const pl_range_t *r, size_t n, uint32_t gap, uint32_t len, pl_block_t *out,
                        uint32_t *map)
{
    pl_plan_limits_t lim = {gap, len};
    int rc = plan(r, n, gap, len, out, n, map);

    assert_true(rc > 0);
    check_plan("plan", r, n, &lim, out, rc, map);
    return rc;
}

static void expect_block(const pl_block_t *b, uint32_t area, uint32_t start, uint32_t len,
                         uint32_t requests)
{
    assert_int_equal(b->area, area);
    assert_int_equal(b->start, start);
    assert_int_equal(b->len, len);
    assert_int_equal(b->requests, requests);
}

/* ---- examples ---- */

/* Seed, "Performance and Throughput": DM0001 and DM0031 are read as one block DM0001..DM0031.
 * Between them lie DM0002..DM0030: a gap of 31 - 2 = 29 words. */
static void test_seed_example(void **state)
{
    const pl_range_t r[] = {{0, 1, 1}, {0, 31, 1}};
    pl_block_t b[2];
    uint32_t map[2];

    (void)state;
    assert_int_equal(plan_checked(r, 2, 32, 256, b, map), 1);
    expect_block(&b[0], 0, 1, 31, 1);
    assert_int_equal(map[0], 0);
    assert_int_equal(map[1], 0);

    assert_int_equal(plan_checked(r, 2, 29, 256, b, map), 1); /* exactly the gap */
    expect_block(&b[0], 0, 1, 31, 1);

    assert_int_equal(plan_checked(r, 2, 28, 256, b, map), 2); /* one short */
    expect_block(&b[0], 0, 1, 1, 1);
    expect_block(&b[1], 0, 31, 1, 1);
    assert_int_equal(map[0], 0);
    assert_int_equal(map[1], 1);
}

static void test_gap_boundary(void **state)
{
    const pl_range_t touch[] = {{0, 10, 2}, {0, 12, 3}}; /* gap 0 */
    const pl_range_t five[] = {{0, 10, 2}, {0, 17, 1}};  /* gap 17 - 12 = 5 */
    pl_block_t b[2];
    uint32_t map[2];

    (void)state;
    assert_int_equal(plan_checked(touch, 2, 0, 100, b, map), 1);
    expect_block(&b[0], 0, 10, 5, 1);
    assert_int_equal(plan_checked(five, 2, 5, 100, b, map), 1);
    expect_block(&b[0], 0, 10, 8, 1);
    assert_int_equal(plan_checked(five, 2, 4, 100, b, map), 2);
    assert_int_equal(plan_checked(five, 2, 0, 100, b, map), 2);
}

static void test_max_len_boundary(void **state)
{
    const pl_range_t r[] = {{0, 0, 1}, {0, 255, 1}}; /* span 256 */
    pl_block_t b[2];
    uint32_t map[2];

    (void)state;
    assert_int_equal(plan_checked(r, 2, 1000, 256, b, map), 1);
    expect_block(&b[0], 0, 0, 256, 1);
    assert_int_equal(plan_checked(r, 2, 1000, 255, b, map), 2);
    expect_block(&b[0], 0, 0, 1, 1);
    expect_block(&b[1], 0, 255, 1, 1);
    /* max_len 1: only identical one-unit ranges share a block */
    assert_int_equal(plan_checked(r, 2, 1000, 1, b, map), 2);
}

static void test_overlap_and_duplicates(void **state)
{
    const pl_range_t r[] = {{0, 5, 4}, {0, 5, 4}, {0, 7, 4}, {0, 5, 1}, {0, 7, 4}};
    pl_block_t b[5];
    uint32_t map[5];
    size_t i;

    (void)state;
    assert_int_equal(plan_checked(r, 5, 0, 6, b, map), 1);
    expect_block(&b[0], 0, 5, 6, 1);
    for (i = 0; i < 5; i++)
        assert_int_equal(map[i], 0);
    /* max_len 5 cannot hold [5, 11): [5, 9) and [7, 11) must part */
    assert_int_equal(plan_checked(r, 5, 0, 5, b, map), 2);
    expect_block(&b[0], 0, 5, 4, 1);
    expect_block(&b[1], 0, 7, 4, 1);
    assert_int_equal(map[0], 0);
    assert_int_equal(map[2], 1);
    assert_int_equal(map[3], 0);
}

static void test_contained(void **state)
{
    /* [1,2) and [50,51) are 48 apart, but [0,100) covers the hole: one block */
    const pl_range_t r[] = {{0, 50, 1}, {0, 0, 100}, {0, 1, 1}};
    /* without the wide range they need two blocks at max_gap 0 */
    const pl_range_t apart[] = {{0, 50, 1}, {0, 1, 1}};
    pl_block_t b[3];
    uint32_t map[3];

    (void)state;
    assert_int_equal(plan_checked(r, 3, 0, 100, b, map), 1);
    expect_block(&b[0], 0, 0, 100, 1);
    assert_int_equal(plan_checked(apart, 2, 0, 100, b, map), 2);
}

static void test_longer_than_max_len(void **state)
{
    const pl_range_t alone[] = {{0, 0, 600}};
    /* [0,1) and [2,3) merge (gap 1) before the long [10,310), which also reads [20,21);
     * [309,312) reaches past its end, so it is read apart, with [313,314): 4 requests */
    const pl_range_t mixed[] = {{0, 2, 1},  {0, 10, 300}, {0, 0, 1},
                                {0, 20, 1}, {0, 309, 3},  {0, 313, 1}};
    /* a small range inside a long one is read by the long one's requests */
    const pl_range_t inside[] = {{0, 0, 512}, {0, 10, 1}};
    /* the same at the long one's start (sorted before it) and across its last unit */
    const pl_range_t edges[] = {{0, 300, 20}, {0, 100, 300}, {0, 100, 5}, {0, 399, 1}};
    /* in another area, or reaching past its end: not inside */
    const pl_range_t outside[] = {{1, 10, 1}, {0, 0, 300}, {0, 299, 2}};
    /* long inside long, and two long ones overlapping without containment */
    const pl_range_t nested[] = {{0, 50, 260}, {0, 0, 400}, {0, 350, 300}};
    const pl_range_t twice[] = {{0, 0, 300}, {0, 0, 300}};
    pl_block_t b[6];
    uint32_t map[6];

    (void)state;
    assert_int_equal(plan_checked(alone, 1, 0, 256, b, map), 1);
    expect_block(&b[0], 0, 0, 600, 3);
    assert_int_equal(plan_checked(alone, 1, 0, 600, b, map), 1);
    expect_block(&b[0], 0, 0, 600, 1);
    assert_int_equal(plan_checked(alone, 1, 0, 599, b, map), 1);
    expect_block(&b[0], 0, 0, 600, 2);

    assert_int_equal(plan_checked(mixed, 6, 1, 256, b, map), 3);
    expect_block(&b[0], 0, 0, 3, 1);
    expect_block(&b[1], 0, 10, 300, 2);
    expect_block(&b[2], 0, 309, 5, 1);
    assert_int_equal(map[0], 0);
    assert_int_equal(map[1], 1);
    assert_int_equal(map[2], 0);
    assert_int_equal(map[3], 1);
    assert_int_equal(map[4], 2);
    assert_int_equal(map[5], 2);
    assert_int_equal(pl_plan_requests(b, 3), 4);

    assert_int_equal(plan_checked(inside, 2, 0, 256, b, map), 1);
    expect_block(&b[0], 0, 0, 512, 2);
    assert_int_equal(map[0], 0);
    assert_int_equal(map[1], 0);

    assert_int_equal(plan_checked(edges, 4, 0, 256, b, map), 1);
    expect_block(&b[0], 0, 100, 300, 2);
    assert_int_equal(map[0] | map[1] | map[2] | map[3], 0);

    assert_int_equal(plan_checked(outside, 3, 0, 256, b, map), 3);
    expect_block(&b[0], 0, 0, 300, 2);
    expect_block(&b[1], 0, 299, 2, 1);
    expect_block(&b[2], 1, 10, 1, 1);

    assert_int_equal(plan_checked(nested, 3, 0, 256, b, map), 2);
    expect_block(&b[0], 0, 0, 400, 2);
    expect_block(&b[1], 0, 350, 300, 2);
    assert_int_equal(map[0], 0);
    assert_int_equal(map[1], 0);
    assert_int_equal(map[2], 1);

    /* two identical long ranges are read once (fuzz_planner's corpus keeps the input,
     * regress_duplicate_long_ranges.bin, that once gave them a block each) */
    assert_int_equal(plan_checked(twice, 2, 0, 256, b, map), 1);
    expect_block(&b[0], 0, 0, 300, 2);
    assert_int_equal(map[0], map[1]);
}

static void test_areas_interleaved(void **state)
{
    const pl_range_t r[] = {{2, 0, 1}, {0, 3, 1}, {1, 0, 1}, {0, 0, 1}, {2, 3, 1}, {1, 1, 1}};
    pl_block_t b[6];
    uint32_t map[6];

    (void)state;
    assert_int_equal(plan_checked(r, 6, 10, 100, b, map), 3);
    expect_block(&b[0], 0, 0, 4, 1);
    expect_block(&b[1], 1, 0, 2, 1);
    expect_block(&b[2], 2, 0, 4, 1);
    assert_int_equal(map[0], 2);
    assert_int_equal(map[1], 0);
    assert_int_equal(map[2], 1);
    assert_int_equal(map[3], 0);
    assert_int_equal(map[4], 2);
    assert_int_equal(map[5], 1);
}

/* Equal request counts: the planner must pick the cut that reads fewer units, wherever it
 * lies (a greedy left-to-right fill would pick the first plan each time). */
static void test_fewer_units_read(void **state)
{
    const pl_range_t left[] = {{0, 0, 1}, {0, 4, 1}, {0, 9, 2}};   /* {0,4}{9}: 5 + 2 */
    const pl_range_t right[] = {{0, 0, 2}, {0, 7, 1}, {0, 11, 1}}; /* {0}{7,11}: 2 + 5 */
    pl_block_t b[3];
    uint32_t map[3];

    (void)state;
    assert_int_equal(plan_checked(left, 3, 100, 10, b, map), 2);
    expect_block(&b[0], 0, 0, 5, 1);
    expect_block(&b[1], 0, 9, 2, 1);
    assert_int_equal(plan_checked(right, 3, 100, 11, b, map), 2);
    expect_block(&b[0], 0, 0, 2, 1);
    expect_block(&b[1], 0, 7, 5, 1);
}

static void test_map_optional_and_order_independent(void **state)
{
    pl_range_t r[64], shuffled[64];
    pl_block_t b1[64], b2[64];
    uint32_t map1[64], map2[64], perm[64];
    uint64_t seed = 42;
    int n1, n2;
    size_t i;

    (void)state;
    for (i = 0; i < 64; i++) {
        r[i].area = rng_below(&seed, 3);
        r[i].start = rng_below(&seed, 200);
        r[i].len = 1 + rng_below(&seed, 6);
        perm[i] = (uint32_t)i;
    }
    for (i = 63; i > 0; i--) {
        uint32_t k = rng_below(&seed, (uint32_t)i + 1), t = perm[i];

        perm[i] = perm[k];
        perm[k] = t;
    }
    for (i = 0; i < 64; i++)
        shuffled[i] = r[perm[i]];
    n1 = plan_checked(r, 64, 3, 16, b1, map1);
    n2 = plan_checked(shuffled, 64, 3, 16, b2, map2);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, (size_t)n1 * sizeof(*b1));
    for (i = 0; i < 64; i++)
        assert_int_equal(map2[i], map1[perm[i]]);
    assert_int_equal(plan(r, 64, 3, 16, b2, 64, NULL), n1);
    assert_memory_equal(b1, b2, (size_t)n1 * sizeof(*b1));
}

static void test_enobufs(void **state)
{
    const pl_range_t r[] = {{0, 1, 1}, {0, 31, 1}, {0, 100, 1}};
    pl_block_t b[3], untouched;
    uint32_t map[3] = {7, 7, 7};

    (void)state;
    memset(b, 0xA5, sizeof(b));
    untouched = b[0];
    assert_int_equal(plan(r, 3, 28, 256, b, 2, map), PL_ENOBUFS);
    assert_int_equal(plan(r, 3, 28, 256, NULL, 0, map), PL_ENOBUFS);
    assert_memory_equal(&b[0], &untouched, sizeof(untouched)); /* nothing written */
    assert_int_equal(map[0], 7);
    assert_int_equal(plan(r, 3, 28, 256, b, 3, map), 3);
    assert_int_equal(plan(r, 3, 100, 256, b, 1, map), 1); /* exactly enough */
}

static void test_einval(void **state)
{
    const pl_range_t ok[] = {{0, 1, 1}};
    const pl_range_t zero[] = {{0, 1, 1}, {0, 5, 0}};
    const pl_range_t past[] = {{0, 0xFFFFFFFFu, 2}};
    const pl_range_t last[] = {{0, 0xFFFFFFFFu, 1}, {0, 0xFFFFFF00u, 0x100}};
    pl_plan_limits_t lim = {0, 256};
    pl_block_t b[2];
    uint32_t map[2];
    unsigned char scratch[512];
    size_t need = pl_plan_scratch_size(1);

    (void)state;
    assert_true(need <= sizeof(scratch));
    assert_int_equal(plan(zero, 2, 0, 256, b, 2, map), PL_EINVAL);
    assert_int_equal(plan(ok, 1, 0, 0, b, 2, map), PL_EINVAL);
    assert_int_equal(plan(past, 1, 0, 256, b, 2, map), PL_EINVAL);
    assert_int_equal(plan_checked(last, 2, 0, 256, b, map), 1); /* ends at exactly 2^32 */
    expect_block(&b[0], 0, 0xFFFFFF00u, 0x100, 1);
    assert_int_equal(pl_plan(ok, 1, NULL, b, 2, map, scratch, need), PL_EINVAL);
    assert_int_equal(pl_plan(NULL, 1, &lim, b, 2, map, scratch, need), PL_EINVAL);
    assert_int_equal(pl_plan(ok, 1, &lim, NULL, 2, map, scratch, need), PL_EINVAL);
    assert_int_equal(pl_plan(ok, 1, &lim, b, 2, map, NULL, need), PL_EINVAL);
    assert_int_equal(pl_plan(ok, 1, &lim, b, 2, map, scratch, need - 1), PL_EINVAL);
    assert_int_equal(pl_plan(ok, 1, &lim, b, 2, map, scratch + 1, need), 1); /* unaligned */
    assert_int_equal(pl_plan(NULL, 0, &lim, NULL, 0, NULL, NULL, 0), 0);
}

static void test_sizes_and_sums(void **state)
{
    pl_block_t b[3] = {{0, 0, 1, 0xFFFFFFFFu}, {0, 0, 1, 0xFFFFFFFFu}, {0, 0, 1, 2}};

    (void)state;
    assert_true(pl_plan_scratch_size(1000) > pl_plan_scratch_size(10));
    assert_int_equal(pl_plan_scratch_size((size_t)1 << 31), SIZE_MAX);
    assert_int_equal(pl_plan_scratch_size(SIZE_MAX), SIZE_MAX);
    assert_int_equal(pl_plan_requests(b, 3), 2ull * 0xFFFFFFFFu + 2);
    assert_int_equal(pl_plan_requests(NULL, 0), 0);
}

/* 100,000 one-word tags side by side: ceil(100000 / 256) full blocks. */
static void test_many_contiguous(void **state)
{
    const size_t n = 100000;
    pl_range_t *r = malloc(n * sizeof(*r));
    pl_block_t *b = malloc(n * sizeof(*b));
    uint32_t *map = malloc(n * sizeof(*map));
    size_t i;
    int nb;

    (void)state;
    assert_non_null(r);
    assert_non_null(b);
    assert_non_null(map);
    for (i = 0; i < n; i++) {
        r[i].area = 0;
        r[i].start = (uint32_t)(n - 1 - i); /* reversed: the sort has work to do */
        r[i].len = 1;
    }
    nb = plan(r, n, 0, 256, b, n, map);
    assert_int_equal(nb, (n + 255) / 256);
    for (i = 0; i < (size_t)nb; i++)
        assert_int_equal(b[i].start, 256 * i);
    for (i = 0; i < n; i++)
        assert_int_equal(map[i], r[i].start / 256);
    free(r);
    free(b);
    free(map);
}

/* ---- property tests ---- */

/* The best score over every partition of the ranges into sets (not only consecutive runs),
 * by enumerating all set partitions (restricted growth strings), with each subset's
 * feasibility and score computed once. */
typedef struct {
    size_t n;
    unsigned char ok[256];
    score_t sc[256];
    unsigned mask[8];
    score_t best;
} brute_t;

static void brute_walk(brute_t *bf, size_t i, size_t nblocks, score_t acc)
{
    size_t k;

    if (i == bf->n) {
        for (k = 0; k < nblocks; k++) {
            if (!bf->ok[bf->mask[k]])
                return;
            acc.cost += bf->sc[bf->mask[k]].cost;
            acc.words += bf->sc[bf->mask[k]].words;
        }
        acc.blocks = nblocks;
        if (score_less(acc, bf->best))
            bf->best = acc;
        return;
    }
    for (k = 0; k <= nblocks; k++) {
        bf->mask[k] |= 1u << i;
        brute_walk(bf, i + 1, k == nblocks ? nblocks + 1 : nblocks, acc);
        bf->mask[k] &= ~(1u << i);
    }
}

static score_t brute_best(const pl_range_t *r, size_t n, const pl_plan_limits_t *lim)
{
    static brute_t bf;
    pl_range_t s[8];
    score_t zero = {0, 0, 0};
    unsigned m;
    size_t i;

    memset(&bf, 0, sizeof(bf));
    bf.n = n;
    for (m = 1; m < (1u << n); m++) {
        size_t k = 0;
        uint64_t lo = UINT64_MAX, hi = 0;

        for (i = 0; i < n; i++) {
            if (!(m & (1u << i)))
                continue;
            s[k++] = r[i];
            if (r[i].start < lo)
                lo = r[i].start;
            if (end_of(&r[i]) > hi)
                hi = end_of(&r[i]);
        }
        bf.ok[m] = (unsigned char)feasible(s, k, lim);
        bf.sc[m].cost = ceil_div(hi - lo, lim->max_len);
        bf.sc[m].words = hi - lo;
    }
    bf.best.cost = UINT64_MAX;
    brute_walk(&bf, 0, 0, zero);
    return bf.best;
}

#define BRUTE_CASES 20000

static void test_property_vs_all_partitions(void **state)
{
    pl_range_t r[8];
    pl_block_t b[8];
    uint32_t map[8];
    char what[64];
    uint64_t c;

    (void)state;
    for (c = 0; c < BRUTE_CASES; c++) {
        uint64_t seed = 0x9E3779B9ull * (c + 1), s = seed;
        size_t n = 1 + rng_below(&s, 8), i;
        pl_plan_limits_t lim;
        score_t got, best;
        int nb;

        lim.max_gap = rng_below(&s, 7);
        lim.max_len = 1 + rng_below(&s, 12);
        for (i = 0; i < n; i++) {
            r[i].area = rng_below(&s, 2);
            r[i].start = rng_below(&s, 16);
            r[i].len =
                rng_below(&s, 8) == 0 ? lim.max_len + 1 + rng_below(&s, 8) : 1 + rng_below(&s, 4);
        }
        snprintf(what, sizeof(what), "seed 0x%llx", (unsigned long long)seed);
        nb = plan(r, n, lim.max_gap, lim.max_len, b, n, map);
        got = check_plan(what, r, n, &lim, b, nb, map);
        best = brute_best(r, n, &lim);
        if (got.cost != best.cost || got.blocks != best.blocks || got.words != best.words) {
            print_message("%s: planner (%llu requests, %llu blocks, %llu units) vs optimum "
                          "(%llu, %llu, %llu)\n",
                          what, (unsigned long long)got.cost, (unsigned long long)got.blocks,
                          (unsigned long long)got.words, (unsigned long long)best.cost,
                          (unsigned long long)best.blocks, (unsigned long long)best.words);
            fail();
        }
    }
}

/* A range inside a range longer than max_len is read by it: left out of the plan. Of two
 * identical long ranges the first one read stays. */
static int folded(const pl_range_t *in, size_t n, size_t i, const pl_plan_limits_t *lim)
{
    size_t j;

    for (j = 0; j < n; j++) {
        if (j == i || in[j].len <= lim->max_len || !contains(&in[j], &in[i]))
            continue;
        if (!contains(&in[i], &in[j]) || j < i)
            return 1;
    }
    return 0;
}

/* The optimum over consecutive runs of the ranges sorted by (area, start, len), ranges longer
 * than max_len alone and those inside them left out: O(n^2), nothing clever. */
static score_t dp_best(const pl_range_t *in, size_t n, const pl_plan_limits_t *lim)
{
    static pl_range_t r[MAXN];
    static score_t best[MAXN + 1];
    score_t out = {0, 0, 0};
    size_t i, k, m = 0;

    for (i = 0; i < n; i++) {
        if (folded(in, n, i, lim))
            continue;
        if (in[i].len > lim->max_len) {
            out.cost += ceil_div(in[i].len, lim->max_len);
            out.blocks++;
            out.words += in[i].len;
        } else {
            r[m++] = in[i];
        }
    }
    qsort(r, m, sizeof(*r), cmp_range);
    best[0] = out;
    for (k = 1; k <= m; k++)
        best[k].cost = UINT64_MAX;
    for (i = 0; i < m; i++) {
        uint64_t seen = end_of(&r[i]);

        for (k = i; k < m; k++) {
            score_t cand = best[i];

            if (k > i) {
                if (r[k].area != r[i].area ||
                    (r[k].start > seen && r[k].start - seen > lim->max_gap))
                    break;
                if (end_of(&r[k]) > seen)
                    seen = end_of(&r[k]);
            }
            if (seen - r[i].start > lim->max_len)
                break;
            cand.cost++;
            cand.blocks++;
            cand.words += seen - r[i].start;
            if (score_less(cand, best[k + 1]))
                best[k + 1] = cand;
        }
    }
    return best[m];
}

#define DP_CASES 2000

static void test_property_vs_quadratic_dp(void **state)
{
    static pl_range_t r[MAXN];
    static pl_block_t b[MAXN];
    static uint32_t map[MAXN];
    char what[64];
    uint64_t c;

    (void)state;
    for (c = 0; c < DP_CASES; c++) {
        uint64_t seed = 0xD1B54A32D192ED03ull ^ c, s = seed;
        size_t n = 1 + rng_below(&s, MAXN), i;
        uint32_t window = 1 + rng_below(&s, 4 * (uint32_t)n);
        pl_plan_limits_t lim;
        score_t got, best;
        int nb;

        lim.max_gap = rng_below(&s, 4) == 0 ? 0 : rng_below(&s, 20);
        lim.max_len = 1 + rng_below(&s, 64);
        for (i = 0; i < n; i++) {
            r[i].area = rng_below(&s, 3);
            r[i].start = rng_below(&s, window);
            r[i].len =
                rng_below(&s, 16) == 0 ? 1 + rng_below(&s, 3 * lim.max_len) : 1 + rng_below(&s, 5);
        }
        snprintf(what, sizeof(what), "seed 0x%llx", (unsigned long long)seed);
        nb = plan(r, n, lim.max_gap, lim.max_len, b, n, map);
        got = check_plan(what, r, n, &lim, b, nb, map);
        best = dp_best(r, n, &lim);
        if (got.cost != best.cost || got.blocks != best.blocks || got.words != best.words) {
            print_message("%s: planner (%llu, %llu, %llu) vs O(n^2) DP (%llu, %llu, %llu)\n", what,
                          (unsigned long long)got.cost, (unsigned long long)got.blocks,
                          (unsigned long long)got.words, (unsigned long long)best.cost,
                          (unsigned long long)best.blocks, (unsigned long long)best.words);
            fail();
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_example),
        cmocka_unit_test(test_gap_boundary),
        cmocka_unit_test(test_max_len_boundary),
        cmocka_unit_test(test_overlap_and_duplicates),
        cmocka_unit_test(test_contained),
        cmocka_unit_test(test_longer_than_max_len),
        cmocka_unit_test(test_areas_interleaved),
        cmocka_unit_test(test_fewer_units_read),
        cmocka_unit_test(test_map_optional_and_order_independent),
        cmocka_unit_test(test_enobufs),
        cmocka_unit_test(test_einval),
        cmocka_unit_test(test_sizes_and_sums),
        cmocka_unit_test(test_many_contiguous),
        cmocka_unit_test(test_property_vs_all_partitions),
        cmocka_unit_test(test_property_vs_quadratic_dp),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
