/* SPDX-License-Identifier: MIT */
/*
 * The engine's status queries (include/plcline/engine.h, the block at its end):
 * pl_engine_tag_query against a reference (qsort of every match with the documented order)
 * for every sort, both directions, filters in any case, and windows at the start, the
 * middle, the end and past the end; device and line information of a connected device and
 * of one that cannot connect, whole and brief; change numbers, per tag and per device; the
 * request duration histogram.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plcline/engine.h"
#include "plcline/error.h"
#include "plcline/hostlist.h"
#include "plcline/ttcp.h"

#define NTAGS 240u

typedef struct {
    uv_loop_t loop;
    pl_ttcp_server_t *srv;
    pl_engine_t *e;
    pl_line_def_t lines[2];
    pl_device_def_t devs[3];
    pl_tag_def_t tags[NTAGS];
    char text[NTAGS][2][PL_NAME_MAX]; /* the tags' names and addresses */
    pl_scan_def_t scan;
    int stopped;
} fx_t;

static void on_guard(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

static void run_until(fx_t *f, int (*pred)(fx_t *f), unsigned ms)
{
    uv_timer_t guard;
    int expired = 0;

    uv_timer_init(&f->loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, ms, 0);
    while (!pred(f) && !expired)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_false(expired);
}

/* Every tag of the connected devices is good and every tag of the dead one is bad. */
static int settled(fx_t *f)
{
    size_t i;

    for (i = 0; i < NTAGS; i++) {
        const pl_tag_state_t *st = pl_engine_tag_at(f->e, i);
        int dead = strcmp(st->device, "Dead") == 0;

        if (st->quality != (dead ? PL_Q_BAD : PL_Q_GOOD))
            return 0;
    }
    return 1;
}

static void setup(fx_t *f)
{
    static const char *const dev_names[3] = {"zeta", "Dead", "alpha"};
    pl_ttcp_server_config_t sc;
    pl_engine_config_t ec;
    pl_status_t err;
    size_t i;

    memset(f, 0, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    pl_ttcp_server_config_init(&sc);
    assert_int_equal(pl_ttcp_server_new(&f->loop, &sc, &f->srv, NULL), 0);
    for (i = 0; i < 2; i++) {
        snprintf(f->lines[i].name, sizeof(f->lines[i].name), "L%zu", i);
        snprintf(f->lines[i].protocol, sizeof(f->lines[i].protocol), "7ttcp");
        pl_line_config_init(&f->lines[i].line);
        assert_int_equal(pl_hostlist_parse(&f->lines[i].line.hosts, "127.0.0.1", 9, NULL), 0);
        f->lines[i].line.backoff_min_ms = 10;
        f->lines[i].line.backoff_max_ms = 50;
        f->lines[i].line.connect_timeout_ms = 200;
        f->lines[i].timeout_ms = 200;
    }
    f->lines[0].line.port = pl_ttcp_server_port(f->srv);
    f->lines[1].line.port = 1; /* nobody listens */
    for (i = 0; i < 3; i++) {
        snprintf(f->devs[i].name, sizeof(f->devs[i].name), "%s", dev_names[i]);
        snprintf(f->devs[i].line, sizeof(f->devs[i].line), "%s", i == 1 ? "L1" : "L0");
        snprintf(f->devs[i].keys, sizeof(f->devs[i].keys), "node=%zu", i);
        f->devs[i].demote_after = 1000; /* stays on scan: its tags turn bad, not demoted */
    }
    for (i = 0; i < NTAGS; i++) {
        pl_tag_def_t *t = &f->tags[i];

        /* names in an order unrelated to the index, mixed case, shared substrings */
        snprintf(f->text[i][0], sizeof(f->text[i][0]), "%s%03zu.%s", i % 3 ? "Tag" : "tag",
                 (i * 7919u) % 1000, i % 5 == 0 ? "Level" : "flow");
        snprintf(f->text[i][1], sizeof(f->text[i][1]), "W%zu", i / 3);
        t->name = f->text[i][0];
        t->device = dev_names[i % 3];
        t->address = f->text[i][1];
        t->scan = "s";
    }
    snprintf(f->scan.name, sizeof(f->scan.name), "s");
    f->scan.period_ms = 20;
    memset(&ec, 0, sizeof(ec));
    ec.lines = f->lines;
    ec.nlines = 2;
    ec.devices = f->devs;
    ec.ndevices = 3;
    ec.tags = f->tags;
    ec.ntags = NTAGS;
    ec.scans = &f->scan;
    ec.nscans = 1;
    pl_status_clear(&err);
    assert_int_equal(pl_engine_new(&f->loop, &ec, NULL, NULL, &f->e, &err), 0);
    assert_int_equal(pl_engine_start(f->e), 0);
    run_until(f, settled, 5000);
}

static void on_stopped(pl_engine_t *e, void *ud)
{
    (void)e;
    ((fx_t *)ud)->stopped = 1;
}

static void teardown(fx_t *f)
{
    pl_engine_stop(f->e, on_stopped);
    pl_engine_free(f->e);
    pl_ttcp_server_free(f->srv);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* --- the reference ---------------------------------------------------------------------- */

static pl_engine_t *g_e;
static pl_tag_sort_t g_sort;
static int g_desc;

static int rank(pl_quality_t q)
{
    return q == PL_Q_BAD ? 0 : q == PL_Q_UNCERTAIN ? 1 : 2;
}

static int ref_cmp(const void *pa, const void *pb)
{
    const pl_tag_state_t *a = pl_engine_tag_at(g_e, *(const size_t *)pa);
    const pl_tag_state_t *b = pl_engine_tag_at(g_e, *(const size_t *)pb);
    int r = 0;

    switch (g_sort) {
    case PL_TAG_SORT_NAME:
        break;
    case PL_TAG_SORT_DEVICE:
        r = strcmp(a->device, b->device);
        break;
    case PL_TAG_SORT_QUALITY:
        r = rank(a->quality) - rank(b->quality);
        break;
    case PL_TAG_SORT_AGE:
        r = a->ts_ms < b->ts_ms ? -1 : a->ts_ms > b->ts_ms;
        break;
    }
    if (r == 0)
        r = strcmp(a->tag, b->tag);
    return g_desc ? -r : r;
}

static int has_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle), i, k;

    for (i = 0; n == 0 || hay[i] != '\0'; i++) {
        for (k = 0; k < n; k++) {
            char x = hay[i + k], y = needle[k];

            if (x >= 'A' && x <= 'Z')
                x = (char)(x - 'A' + 'a');
            if (y >= 'A' && y <= 'Z')
                y = (char)(y - 'A' + 'a');
            if (x == '\0' || x != y)
                break;
        }
        if (k == n)
            return 1;
    }
    return 0;
}

static void check_query(fx_t *f, const char *filter, pl_tag_sort_t sort, int desc)
{
    static const size_t offsets[] = {0, 1, 7, 50, 79, 80, 239, 240, 500};
    static const size_t caps[] = {0, 1, 10, 100, 1000};
    size_t ref[NTAGS], got[NTAGS + 8], n = 0, i, a, b;
    pl_engine_tag_info_t ti;

    for (i = 0; i < NTAGS; i++) {
        const pl_tag_state_t *st = pl_engine_tag_at(f->e, i);

        assert_int_equal(pl_engine_tag_info(f->e, i, &ti), 0);
        if (has_ci(st->tag, filter) || has_ci(st->device, filter) || has_ci(ti.address, filter))
            ref[n++] = i;
    }
    g_e = f->e;
    g_sort = sort;
    g_desc = desc;
    qsort(ref, n, sizeof(ref[0]), ref_cmp);
    for (a = 0; a < sizeof(offsets) / sizeof(offsets[0]); a++) {
        for (b = 0; b < sizeof(caps) / sizeof(caps[0]); b++) {
            size_t off = offsets[a], cap = caps[b] > NTAGS ? NTAGS : caps[b], want;
            long total;

            memset(got, 0xff, sizeof(got));
            total = pl_engine_tag_query(f->e, filter, sort, desc, off, got, cap);
            assert_int_equal(total, (long)n);
            want = n > off ? n - off : 0;
            if (want > cap)
                want = cap;
            for (i = 0; i < want; i++)
                if (got[i] != ref[off + i])
                    fail_msg("filter '%s' sort %d desc %d offset %zu cap %zu: row %zu is tag %zu, "
                             "expected %zu",
                             filter, (int)sort, desc, off, cap, i, got[i], ref[off + i]);
            assert_true(got[want] == (size_t)-1); /* nothing written past the window */
        }
    }
}

static void test_tag_query(void **state)
{
    static const char *const filters[] = {"", "tag1", "LEVEL", "dead", "W1", "a", "zz-none"};
    fx_t f;
    size_t i;
    int sort, desc;

    (void)state;
    setup(&f);
    for (i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
        for (sort = PL_TAG_SORT_NAME; sort <= PL_TAG_SORT_AGE; sort++)
            for (desc = 0; desc < 2; desc++)
                check_query(&f, filters[i], (pl_tag_sort_t)sort, desc);
    teardown(&f);
}

static void test_device_info(void **state)
{
    pl_engine_device_info_t di;
    pl_engine_line_info_t li;
    pl_engine_stats_t st;
    uint64_t q[3], sum = 0, top = 0;
    fx_t f;
    size_t k, j;

    (void)state;
    setup(&f);
    assert_int_equal(pl_engine_device_count(f.e), 3);
    assert_int_equal(pl_engine_device_info(f.e, 0, &di, &st), 0);
    assert_string_equal(di.name, "zeta");
    assert_string_equal(di.line, "L0");
    assert_true(di.connected);
    assert_string_equal(di.state, "up");
    assert_true(strncmp(di.peer, "127.0.0.1:", 10) == 0);
    assert_false(di.backup_active);
    assert_int_equal(di.ntags, NTAGS / 3);
    assert_true(st.requests > 0);
    assert_true(di.rtt_count > 0);
    for (k = 0; k <= PL_ENGINE_RTT_BUCKETS; k++)
        sum += di.rtt_hist[k];
    assert_int_equal(sum, di.rtt_count);

    assert_int_equal(pl_engine_device_info(f.e, 1, &di, NULL), 0);
    assert_string_equal(di.name, "Dead");
    assert_false(di.connected);
    assert_string_equal(di.peer, "");
    assert_true(di.last_error.code != 0);
    assert_int_equal(pl_engine_device_info(f.e, 3, &di, NULL), PL_EINVAL);
    /* the brief state agrees with the whole */
    for (k = 0; k < 3; k++) {
        pl_engine_device_state_t ds;

        assert_int_equal(pl_engine_device_state(f.e, k, &ds), 0);
        assert_int_equal(pl_engine_device_info(f.e, k, &di, NULL), 0);
        assert_int_equal(ds.connected, di.connected);
        assert_int_equal(ds.backup_active, di.backup_active);
        assert_int_equal(ds.demoted, di.demoted);
        assert_int_equal(ds.error, di.last_error.code);
    }
    {
        pl_engine_device_state_t ds;

        assert_int_equal(pl_engine_device_state(f.e, 3, &ds), PL_EINVAL);
    }

    assert_int_equal(pl_engine_line_count(f.e), 2);
    assert_int_equal(pl_engine_line_info(f.e, 0, &li), 0);
    assert_string_equal(li.name, "L0");
    assert_int_equal(li.ndevices, 2);
    assert_int_equal(li.nup, 2);
    assert_int_equal(pl_engine_line_info(f.e, 1, &li), 0);
    assert_int_equal(li.nup, 0);

    pl_engine_tag_qualities(f.e, q);
    assert_int_equal(q[PL_Q_BAD], NTAGS / 3);
    assert_int_equal(q[PL_Q_GOOD], NTAGS - NTAGS / 3);
    assert_int_equal(q[PL_Q_UNCERTAIN], 0);

    /* change numbers: every tag has been published once at least, none above the counter;
     * a tag keeps the low bits of its number and gets it back whole: the numbers are
     * distinct (each is one publication) and the last publication's is the counter */
    for (k = 0; k < NTAGS; k++) {
        uint64_t n = pl_engine_tag_seq(f.e, k);

        assert_true(n > 0);
        assert_true(n <= pl_engine_seq(f.e));
        top = n > top ? n : top;
        for (j = 0; j < k; j++)
            assert_true(pl_engine_tag_seq(f.e, j) != n);
    }
    assert_true(top == pl_engine_seq(f.e));
    assert_int_equal(pl_engine_tag_seq(f.e, NTAGS), 0);
    /* a device's number is its tags' highest; a tag's device and source time as its state
     * says */
    for (j = 0; j < 3; j++) {
        uint64_t hi = 0;

        for (k = 0; k < NTAGS; k++)
            if (pl_engine_tag_device(f.e, k) == (long)j && pl_engine_tag_seq(f.e, k) > hi)
                hi = pl_engine_tag_seq(f.e, k);
        assert_true(hi > 0);
        assert_true(pl_engine_device_seq(f.e, j) == hi);
    }
    for (k = 0; k < NTAGS; k++) {
        const pl_tag_state_t *ts = pl_engine_tag_at(f.e, k);

        assert_string_equal(f.devs[pl_engine_tag_device(f.e, k)].name, ts->device);
        assert_true(pl_engine_tag_ts(f.e, k) == ts->ts_ms);
    }
    assert_int_equal(pl_engine_tag_device(f.e, NTAGS), -1);
    assert_true(pl_engine_tag_ts(f.e, NTAGS) == 0);
    assert_true(pl_engine_device_seq(f.e, 3) == 0);
    /* the duration buckets' bounds rise, and the last bucket has none */
    for (k = 1; k < PL_ENGINE_RTT_BUCKETS; k++)
        assert_true(pl_engine_rtt_bound_us(k) > pl_engine_rtt_bound_us(k - 1));
    assert_true(pl_engine_rtt_bound_us(PL_ENGINE_RTT_BUCKETS) == UINT64_MAX);
    assert_true(pl_engine_quality_seq(f.e) >= NTAGS);
    assert_int_equal(pl_engine_tag_index(f.e, pl_engine_tag_at(f.e, 17)->tag), 17);
    assert_int_equal(pl_engine_tag_index(f.e, "no-such-tag"), -1);
    teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tag_query),
        cmocka_unit_test(test_device_info),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
