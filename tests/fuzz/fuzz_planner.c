/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the block planner (src/engine/planner.h, rules in docs/planner.md).
 * Input: max_gap (u16 LE), max_len (u16 LE), then 5 bytes per range: flags (bits 0-1: area;
 * bit 7: start in the top 64K units below 2^32, to reach the 2^32 edge), start (u16 LE),
 * len (u16 LE); at most 4096 ranges, a trailing partial record is ignored.
 * Checks: PL_EINVAL exactly when max_len or a len is 0 or a range ends past 2^32; otherwise
 * every block is feasible and is exactly its ranges' extent, every range lies inside its
 * mapped block, requests = ceil(len / max_len), blocks are sorted, the total requests are at
 * most those of the trivial plan (one block per range), one block less of room gives
 * PL_ENOBUFS, and the ranges in reverse order give the same blocks (and each range a block
 * with the same contents).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/planner.h"
#include "plcline/error.h"

#define MAX_RANGES 4096u
#define RECORD     5u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

static uint64_t end_of(const pl_range_t *r)
{
    return (uint64_t)r->start + r->len;
}

static int cmp_range(const void *pa, const void *pb)
{
    const pl_range_t *a = pa, *b = pb;

    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return 0;
}

/* The rules, written again: s[0..k) all of one area (checked by the caller). A range longer
 * than max_len with only ranges inside it, or span <= max_len and no gap > max_gap. Sorts s. */
static int feasible(pl_range_t *s, size_t k, const pl_plan_limits_t *lim)
{
    uint64_t hi = 0, seen;
    size_t i, j;

    if (k == 1)
        return 1;
    for (j = 0; j < k; j++) {
        if (s[j].len <= lim->max_len)
            continue;
        for (i = 0; i < k && s[i].start >= s[j].start && end_of(&s[i]) <= end_of(&s[j]); i++)
            ;
        if (i == k)
            return 1;
    }
    qsort(s, k, sizeof(*s), cmp_range);
    for (i = 0; i < k; i++)
        if (end_of(&s[i]) > hi)
            hi = end_of(&s[i]);
    if (hi - s[0].start > lim->max_len)
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

static int run(const pl_range_t *r, size_t n, const pl_plan_limits_t *lim, pl_block_t *out,
               size_t cap, uint32_t *map)
{
    size_t need = pl_plan_scratch_size(n);
    void *scratch = malloc(need);
    int rc;

    if (scratch == NULL)
        abort();
    rc = pl_plan(r, n, lim, out, cap, map, scratch, need);
    free(scratch);
    return rc;
}

static void check_plan(const pl_range_t *r, size_t n, const pl_plan_limits_t *lim,
                       const pl_block_t *b, size_t nb, const uint32_t *map)
{
    size_t *first = calloc(nb + 1, sizeof(*first));
    pl_range_t *members = malloc(n * sizeof(*members));
    uint64_t trivial = 0, total = 0;
    size_t i, k;

    if (first == NULL || members == NULL)
        abort();
    /* bucket the ranges by block (counting sort on map) */
    for (i = 0; i < n; i++) {
        check(map[i] < nb);
        check(r[i].area == b[map[i]].area && r[i].start >= b[map[i]].start &&
              end_of(&r[i]) <= (uint64_t)b[map[i]].start + b[map[i]].len);
        first[map[i] + 1]++;
        trivial += ((uint64_t)r[i].len + lim->max_len - 1) / lim->max_len;
    }
    for (k = 0; k < nb; k++)
        first[k + 1] += first[k];
    {
        size_t *fill = calloc(nb, sizeof(*fill));

        if (fill == NULL)
            abort();
        for (i = 0; i < n; i++)
            members[first[map[i]] + fill[map[i]]++] = r[i];
        free(fill);
    }
    for (k = 0; k < nb; k++) {
        pl_range_t *m = members + first[k];
        size_t cnt = first[k + 1] - first[k];
        uint64_t lo = UINT64_MAX, hi = 0;

        check(cnt > 0);
        for (i = 0; i < cnt; i++) {
            if (m[i].start < lo)
                lo = m[i].start;
            if (end_of(&m[i]) > hi)
                hi = end_of(&m[i]);
        }
        check(lo == b[k].start && hi - lo == b[k].len);
        check(feasible(m, cnt, lim));
        check(b[k].requests == ((uint64_t)b[k].len + lim->max_len - 1) / lim->max_len);
        check(k == 0 || b[k].area > b[k - 1].area ||
              (b[k].area == b[k - 1].area && b[k].start >= b[k - 1].start));
        total += b[k].requests;
    }
    check(total == pl_plan_requests(b, nb));
    check(total <= trivial);
    free(first);
    free(members);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pl_plan_limits_t lim;
    pl_range_t *r, *rev;
    pl_block_t *out, *out2;
    uint32_t *map, *map2;
    size_t n, i;
    int rc, rc2, invalid;

    if (size < 4)
        return 0;
    lim.max_gap = (uint32_t)(data[0] | data[1] << 8);
    lim.max_len = (uint32_t)(data[2] | data[3] << 8);
    n = (size - 4) / RECORD;
    if (n > MAX_RANGES)
        n = MAX_RANGES;
    r = malloc((n + 1) * sizeof(*r));
    rev = malloc((n + 1) * sizeof(*rev));
    out = malloc((n + 1) * sizeof(*out));
    out2 = malloc((n + 1) * sizeof(*out2));
    map = malloc((n + 1) * sizeof(*map));
    map2 = malloc((n + 1) * sizeof(*map2));
    if (r == NULL || rev == NULL || out == NULL || out2 == NULL || map == NULL || map2 == NULL)
        abort();
    invalid = lim.max_len == 0;
    for (i = 0; i < n; i++) {
        const uint8_t *p = data + 4 + RECORD * i;

        r[i].area = p[0] & 3u;
        r[i].start = (uint32_t)(p[1] | p[2] << 8) | ((p[0] & 0x80u) ? 0xFFFF0000u : 0u);
        r[i].len = (uint32_t)(p[3] | p[4] << 8);
        if (r[i].len == 0 || end_of(&r[i]) > (1ull << 32))
            invalid = 1;
        rev[n - 1 - i] = r[i];
    }

    rc = run(r, n, &lim, out, n, map);
    if (invalid) {
        check(rc == PL_EINVAL);
    } else {
        check(rc >= 0 && (size_t)rc <= n && (rc == 0) == (n == 0));
        check_plan(r, n, &lim, out, (size_t)rc, map);
        if (rc > 0)
            check(run(r, n, &lim, out2, (size_t)rc - 1, map2) == PL_ENOBUFS);
        rc2 = run(rev, n, &lim, out2, n, map2);
        check(rc2 == rc && memcmp(out, out2, (size_t)rc * sizeof(*out)) == 0);
        /* the same blocks whatever the input order: compare the blocks a range maps to */
        for (i = 0; i < n; i++)
            check(memcmp(&out2[map2[n - 1 - i]], &out[map[i]], sizeof(*out)) == 0);
    }
    free(r);
    free(rev);
    free(out);
    free(out2);
    free(map);
    free(map2);
    return 0;
}
