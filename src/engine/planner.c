/* SPDX-License-Identifier: MIT */
/*
 * Block planner (see planner.h for the contract and docs/planner.md for the rules).
 *
 * How: sort the ranges by (area, start, len). A range longer than max_len is a block of its
 * own (any block holding it and a range outside its extent has a span > max_len), so it is
 * planned apart, and every range lying wholly inside such a long range (short, or long and
 * identical or nested) is *folded* into it: read by the long range's requests, it needs none
 * of its own. Folding never costs the others a block: a folded range R inside long L can
 * only have bridged a gap between ranges that are themselves inside L (a block reaching
 * before L's start and past R spans more than max_len unless it ends inside L). The other
 * ranges cost one request per block, so the task is to cut them into the fewest feasible
 * blocks, then the fewest units read. Ranges of the same (area, start) always share a block
 * (the shorter ones lie inside the longest), so each distinct (area, start) is one "unit".
 * Some optimal plan cuts the units, in sorted order, into consecutive groups: if two blocks
 * A and B (A's smallest start first) interleave, either B lies inside A's extent (merge
 * them: one block fewer) or the members of A starting at or after B's first start lie inside
 * B's extent (move them to B: same count, A does not grow, B's extent is unchanged). So a
 * dynamic program over prefixes of the units is exact.
 *
 * In a plan with the fewest blocks the block ends strictly increase (otherwise a later block
 * lies inside an earlier one's extent and could merge), so the units read are
 *   (last end - first start of the area) + sum over cuts at unit k of (max end before k - s_k)
 * which depends only on where the cuts are. The DP value of a cut is therefore a fixed key
 * (blocks, cut weights) per group start, and the best group start for each prefix is the
 * minimum over the starts still allowed: those whose group has span <= max_len (a condition
 * that only ever drops the oldest starts) and no gap > max_gap (a new unit drops a suffix of
 * the newest starts). A deque with O(1) amortized minimum (two stacks) gives O(n) after the
 * O(n log n) merge sort.
 *
 * Pure: no I/O, no allocation (the scratch buffer holds everything), no global state.
 */
#include "engine/planner.h"

#include <string.h>

#include "plcline/error.h"

/* A sorted range. Packed so that the sort order is two integer compares. */
typedef struct {
    uint64_t pos; /* area << 32 | start */
    uint64_t tie; /* len << 32 | index in the caller's array */
} item_t;

/* One DP cell per prefix of the units. cell[k] first holds the best plan of units [0, k);
 * once unit k is reached it is turned into the key of a block starting at unit k (blocks + 1,
 * words + the weight of the cut before k). `from` survives for the backtrack. */
typedef struct {
    int64_t words;   /* sum of cut weights; equals units read up to a per-area constant */
    uint32_t blocks; /* blocks in the plan */
    uint32_t from;   /* first unit of the plan's last block */
} cell_t;

#define SORT_RUN   32u         /* insertion-sorted run length before merging */
#define PLAN_MAX_N 0x7FFFFFFFu /* the block count is returned as an int */
#define ALIGN_PAD  32u

static uint32_t item_area(const item_t *it)
{
    return (uint32_t)(it->pos >> 32);
}

static uint32_t item_start(const item_t *it)
{
    return (uint32_t)it->pos;
}

static uint32_t item_len(const item_t *it)
{
    return (uint32_t)(it->tie >> 32);
}

#define FOLDED 0x80000000u /* in tie's low word (indexes are < 2^31): inside a long range */

static uint32_t item_index(const item_t *it)
{
    return (uint32_t)it->tie & ~FOLDED;
}

static int item_folded(const item_t *it)
{
    return ((uint32_t)it->tie & FOLDED) != 0;
}

static uint64_t item_end(const item_t *it)
{
    return (uint64_t)item_start(it) + item_len(it);
}

/* The group of items[g..) with the same (area, start) as items[g]: returns one past it. Its
 * last item is its longest. */
static size_t group_end(const item_t *items, size_t n, size_t g)
{
    size_t e = g + 1;

    while (e < n && items[e].pos == items[g].pos)
        e++;
    return e;
}

/* Long ranges already passed in this area: the one reaching furthest (the earliest of equal
 * ends), which contains a later range iff any of them does, and its block. */
typedef struct {
    uint32_t area;
    uint64_t end; /* 0: none yet */
    uint32_t block;
} cover_t;

/* Marks the items of group [g, e) that lie inside a long range: the cover so far, or the
 * group's own last (longest) item when it is long. Then lets that item extend the cover
 * (`block` is its block's index when the caller knows it). Calling it again on the same
 * groups in the same order marks the same items: the output pass uses it to move the
 * cover along with the blocks it emits. */
static void fold_group(item_t *items, size_t g, size_t e, uint32_t max_len, cover_t *cv,
                       uint32_t block)
{
    const item_t *last = &items[e - 1];
    int last_long = item_len(last) > max_len;
    size_t p;

    if (item_area(&items[g]) != cv->area || cv->end == 0) {
        cv->area = item_area(&items[g]);
        cv->end = 0;
    }
    for (p = g; p < e; p++)
        if (cv->end >= item_end(&items[p]) || (last_long && p + 1 < e))
            items[p].tie |= FOLDED;
    if (last_long && item_end(last) > cv->end) {
        cv->end = item_end(last);
        cv->block = block;
    }
}

static int item_less(const item_t *a, const item_t *b)
{
    return a->pos < b->pos || (a->pos == b->pos && a->tie < b->tie);
}

static void insertion_sort(item_t *a, size_t n)
{
    size_t i, k;

    for (i = 1; i < n; i++) {
        item_t x = a[i];

        for (k = i; k > 0 && item_less(&x, &a[k - 1]); k--)
            a[k] = a[k - 1];
        a[k] = x;
    }
}

static void merge(const item_t *a, size_t na, const item_t *b, size_t nb, item_t *out)
{
    size_t i = 0, k = 0, o = 0;

    if (na == 0 || nb == 0 || !item_less(&b[0], &a[na - 1])) {
        memcpy(out, a, na * sizeof(*a));
        memcpy(out + na, b, nb * sizeof(*b));
        return;
    }
    while (i < na && k < nb)
        out[o++] = item_less(&b[k], &a[i]) ? b[k++] : a[i++];
    while (i < na)
        out[o++] = a[i++];
    while (k < nb)
        out[o++] = b[k++];
}

/* Sorts a[0..n) using buf[0..n); returns whichever of the two holds the result. */
static item_t *sort_items(item_t *a, item_t *buf, size_t n)
{
    size_t i, lo, w;

    for (i = 1; i < n && !item_less(&a[i], &a[i - 1]); i++)
        ;
    if (i >= n)
        return a; /* already sorted: the common case of tags listed by address */
    for (lo = 0; lo < n; lo += SORT_RUN)
        insertion_sort(a + lo, n - lo < SORT_RUN ? n - lo : SORT_RUN);
    for (w = SORT_RUN; w < n; w *= 2) {
        item_t *t;

        for (lo = 0; lo < n; lo += 2 * w) {
            size_t mid = n - lo < w ? n : lo + w;
            size_t hi = n - lo < 2 * w ? n : lo + 2 * w;

            merge(a + lo, mid - lo, a + mid, hi - mid, buf + lo);
        }
        t = a;
        a = buf;
        buf = t;
    }
    return a;
}

/* The DP's deque of allowed block starts: unit numbers in increasing order, stored in
 * q[lo..hi), split at mid into a front stack [lo, mid) and a back stack [mid, hi).
 * mn[p] is the best start of q[p..mid) (front) or of q[mid..p] (back); when a side runs
 * empty the rest is split in half again, which keeps every operation O(1) amortized. */
typedef struct {
    uint32_t *q;
    uint32_t *mn;
    const cell_t *cell;
    size_t lo, mid, hi;
} deque_t;

/* 1 when a block starting at unit x beats one starting at unit y. On a tie the later start
 * wins, so that, recursively, the earlier blocks are the fuller ones (DM0000..DM0255,
 * DM0256..DM0511, ..., the rest last). */
static int key_less(const cell_t *cell, uint32_t x, uint32_t y)
{
    if (cell[x].blocks != cell[y].blocks)
        return cell[x].blocks < cell[y].blocks;
    if (cell[x].words != cell[y].words)
        return cell[x].words < cell[y].words;
    return x > y;
}

static uint32_t best_of(const cell_t *cell, uint32_t x, uint32_t y)
{
    return key_less(cell, x, y) ? x : y;
}

static void dq_split(deque_t *d, size_t mid)
{
    size_t p;

    d->mid = mid;
    for (p = mid; p > d->lo; p--)
        d->mn[p - 1] = p == mid ? d->q[p - 1] : best_of(d->cell, d->q[p - 1], d->mn[p]);
    for (p = mid; p < d->hi; p++)
        d->mn[p] = p == mid ? d->q[p] : best_of(d->cell, d->q[p], d->mn[p - 1]);
}

static void dq_push_back(deque_t *d, uint32_t u)
{
    d->q[d->hi] = u;
    d->mn[d->hi] = d->hi == d->mid ? u : best_of(d->cell, u, d->mn[d->hi - 1]);
    d->hi++;
}

static void dq_pop_back(deque_t *d)
{
    if (d->hi == d->mid)
        dq_split(d, d->lo + (d->hi - d->lo) / 2);
    d->hi--;
}

static void dq_pop_front(deque_t *d)
{
    if (d->lo == d->mid)
        dq_split(d, d->lo + (d->hi - d->lo + 1) / 2);
    d->lo++;
}

static uint32_t dq_best(const deque_t *d)
{
    if (d->lo == d->mid)
        return d->mn[d->hi - 1];
    if (d->hi == d->mid)
        return d->mn[d->lo];
    return best_of(d->cell, d->mn[d->lo], d->mn[d->hi - 1]);
}

/* Everything the DP reads about the units. */
typedef struct {
    const item_t *items;
    const uint32_t *unit; /* unit -> index in items of its longest range */
} units_t;

static uint64_t u_start(const units_t *us, uint32_t u)
{
    return item_start(&us->items[us->unit[u]]);
}

static uint64_t u_end(const units_t *us, uint32_t u)
{
    const item_t *it = &us->items[us->unit[u]];

    return (uint64_t)item_start(it) + item_len(it);
}

static uint32_t u_area(const units_t *us, uint32_t u)
{
    return item_area(&us->items[us->unit[u]]);
}

/* Fills cell[0..m]: cell[m] is the best plan of all m units and cell[k].from links back.
 * mx[] is a monotone deque of units with decreasing ends (the window maximum). */
static void plan_units(const units_t *us, uint32_t m, const pl_plan_limits_t *lim, cell_t *cell,
                       uint32_t *q, uint32_t *mn, uint32_t *mx)
{
    deque_t d = {q, mn, cell, 0, 0, 0};
    size_t mlo = 0, mhi = 0;
    uint32_t a = 0, j;
    uint64_t prefmax = 0;

    cell[0].words = 0;
    cell[0].blocks = 0;
    cell[0].from = 0;
    for (j = 0; j < m; j++) {
        uint64_t sj = u_start(us, j), ej = u_end(us, j);
        int64_t cut = 0;
        uint32_t best;

        if (j == 0 || u_area(us, j) != u_area(us, j - 1)) {
            d.lo = d.mid = d.hi; /* a new area: no block crosses into it */
            mlo = mhi;
            a = j;
            prefmax = ej;
        } else {
            /* A block from start i may take unit j only if some unit of [i, j) ends at or after
             * s_j - max_gap; the last such unit P is on top of mx once the lower ends are
             * dropped (unit j's end exceeds theirs, so they would be dropped anyway). */
            int64_t need = (int64_t)sj - (int64_t)lim->max_gap;

            while (mhi > mlo && (int64_t)u_end(us, mx[mhi - 1]) < need)
                mhi--;
            while (d.hi > d.lo && (mhi == mlo || d.q[d.hi - 1] > mx[mhi - 1]))
                dq_pop_back(&d);
            cut = (int64_t)prefmax - (int64_t)sj;
            if (ej > prefmax)
                prefmax = ej;
        }
        while (mhi > mlo && u_end(us, mx[mhi - 1]) <= ej)
            mhi--;
        mx[mhi++] = j;

        cell[j].blocks += 1; /* cell[j] becomes the key of a block starting at j */
        cell[j].words += cut;
        dq_push_back(&d, j);

        /* Span: drop the oldest starts while the window's largest end is too far. */
        while (u_end(us, mx[mlo]) - u_start(us, a) > lim->max_len) {
            a++;
            while (mx[mlo] < a)
                mlo++;
        }
        while (d.q[d.lo] < a)
            dq_pop_front(&d);

        best = dq_best(&d);
        cell[j + 1].words = cell[best].words;
        cell[j + 1].blocks = cell[best].blocks;
        cell[j + 1].from = best;
    }
}

size_t pl_plan_scratch_size(size_t n)
{
    if (n > PLAN_MAX_N || n > (SIZE_MAX - ALIGN_PAD) / 48u)
        return SIZE_MAX;
    /* items + sort buffer (later four uint32 arrays) + cells, and room to align */
    return 2 * n * sizeof(item_t) + (n + 1) * sizeof(cell_t) + ALIGN_PAD;
}

static uint32_t ceil_div(uint64_t len, uint32_t max_len)
{
    return (uint32_t)((len + max_len - 1) / max_len);
}

int pl_plan(const pl_range_t *ranges, size_t n, const pl_plan_limits_t *lim, pl_block_t *out,
            size_t cap, uint32_t *map, void *scratch, size_t scratch_len)
{
    item_t *items, *other;
    cell_t *cell;
    uint32_t *unit, *q, *mn, *mx, *gend;
    units_t us;
    cover_t cv;
    uintptr_t base;
    size_t i, p, e, nb;
    uint32_t m = 0, groups = 0, oversize = 0, k, u, cur = 0;
    uint64_t prevpos = 0;
    int have = 0;

    if (lim == NULL || lim->max_len == 0 || (out == NULL && cap > 0))
        return PL_EINVAL;
    if (n == 0)
        return 0;
    if (ranges == NULL || n > PLAN_MAX_N || scratch == NULL ||
        scratch_len < pl_plan_scratch_size(n))
        return PL_EINVAL;
    for (i = 0; i < n; i++)
        if (ranges[i].len == 0 || (uint64_t)ranges[i].start + ranges[i].len > (1ull << 32))
            return PL_EINVAL;

    base = ((uintptr_t)scratch + (ALIGN_PAD - 1)) & ~(uintptr_t)(ALIGN_PAD - 1);
    items = (item_t *)base;
    other = items + n;
    cell = (cell_t *)(other + n);

    for (i = 0; i < n; i++) {
        items[i].pos = (uint64_t)ranges[i].area << 32 | ranges[i].start;
        items[i].tie = (uint64_t)ranges[i].len << 32 | (uint32_t)i;
    }
    if (sort_items(items, other, n) != items) {
        item_t *t = items;

        items = other;
        other = t;
    }
    /* The buffer not holding the items now holds four arrays of n uint32. */
    unit = (uint32_t *)other;
    q = unit + n;
    mn = q + n;
    mx = mn + n;

    cv.area = 0;
    cv.end = 0;
    cv.block = 0;
    for (p = 0; p < n; p = e) {
        e = group_end(items, n, p);
        fold_group(items, p, e, lim->max_len, &cv, 0);
    }
    for (p = 0; p < n; p++) {
        if (item_folded(&items[p]))
            continue;
        if (item_len(&items[p]) > lim->max_len) {
            oversize++;
            continue;
        }
        if (!have || items[p].pos != prevpos)
            m++;
        unit[m - 1] = (uint32_t)p; /* the last, so the longest, range at this start */
        prevpos = items[p].pos;
        have = 1;
    }
    us.items = items;
    us.unit = unit;
    if (m > 0)
        plan_units(&us, m, lim, cell, q, mn, mx);

    gend = q; /* gend[u] = one past the last unit of the block starting at u, else 0 */
    memset(gend, 0, m * sizeof(*gend));
    for (k = m; k > 0; k = cell[k].from) {
        gend[cell[k].from] = k;
        groups++;
    }
    if ((size_t)groups + oversize > cap)
        return PL_ENOBUFS;

    nb = 0;
    have = 0;
    u = 0;
    cv.area = 0;
    cv.end = 0;
    cv.block = 0;
    e = 0;
    for (p = 0; p < n; p++) {
        const item_t *it = &items[p];
        pl_block_t *b = &out[nb];

        if (p == e) { /* a new (area, start): its long block first, then the cover moves */
            const item_t *last;
            uint32_t own = 0;

            e = group_end(items, n, p);
            last = &items[e - 1];
            if (item_len(last) > lim->max_len && !item_folded(last)) {
                b->area = item_area(last);
                b->start = item_start(last);
                b->len = item_len(last);
                b->requests = ceil_div(b->len, lim->max_len);
                own = (uint32_t)nb++;
                b = &out[nb];
            }
            for (i = p; i < e; i++) { /* folded: into the cover, else the group's own */
                if (!item_folded(&items[i]) || map == NULL)
                    continue;
                map[item_index(&items[i])] =
                    cv.end >= item_end(&items[i]) && item_area(&items[i]) == cv.area ? cv.block
                                                                                     : own;
            }
            if (item_len(last) > lim->max_len && !item_folded(last) && map != NULL)
                map[item_index(last)] = own;
            fold_group(items, p, e, lim->max_len, &cv, own); /* marks again (the same), moves cv */
        }
        if (item_folded(it) || item_len(it) > lim->max_len)
            continue;
        if (!have || it->pos != prevpos) {
            u = have ? u + 1 : 0;
            if (gend[u] != 0) {
                uint64_t end = 0;
                uint32_t v;

                for (v = u; v < gend[u]; v++)
                    if (u_end(&us, v) > end)
                        end = u_end(&us, v);
                b->area = item_area(it);
                b->start = item_start(it);
                b->len = (uint32_t)(end - b->start);
                b->requests = ceil_div(b->len, lim->max_len);
                cur = (uint32_t)nb++;
            }
            prevpos = it->pos;
            have = 1;
        }
        if (map != NULL)
            map[item_index(it)] = cur;
    }
    return (int)nb;
}

uint64_t pl_plan_requests(const pl_block_t *blocks, size_t nblocks)
{
    uint64_t sum = 0;
    size_t i;

    for (i = 0; i < nblocks; i++)
        sum += blocks[i].requests;
    return sum;
}
