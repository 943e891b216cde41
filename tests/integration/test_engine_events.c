/* SPDX-License-Identifier: MIT */
/*
 * Event-driven devices (src/proto/driver.h, "event-driven devices"): the engine with a
 * test driver whose device sends values by itself. Values delivered with and without the
 * device's timestamp, quality flags published, not topical -> uncertain, invalid -> bad,
 * uncertain after the device's 'stale' silence (or the tag's own), bad on a link down and good
 * again with the next value, writes answered exactly once (also when the engine stops with one in
 * flight), a burst of values without loss, the push returning only after on_change has run, the
 * configuration's scan class rules, and the JSON line of such a tag.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/driver.h"
#include "engine/engine_test.h"
#include "fake_events.h"
#include "north/jsonl.h"
#include "plcline/engine.h"
#include "plcline/error.h"
#include "plcline/hostlist.h"

#define NTAGS   4u
#define WALL_MS 1795325400000ull /* the engine's clock here: 2026-11-22T05:30:00.000Z */

/* --- the fixture --------------------------------------------------------------------- */

typedef struct {
    uv_loop_t loop;
    pl_engine_t *e;
    pl_line_def_t line;
    pl_device_def_t dev;
    pl_tag_def_t tags[NTAGS];
    char names[NTAGS][16], addrs[NTAGS][16]; /* the tags' texts (pl_tag_def_t points at them) */
    unsigned changes;                        /* on_change calls */
    pl_tag_state_t last;                     /* the last one's state */
    unsigned wcalls[4];                      /* write callbacks per write */
    int wcode[4];                            /* their results */
} fx_t;

static fx_t *the_fx;

static uint64_t fixed_wall(void *ud)
{
    (void)ud;
    return WALL_MS;
}

static void on_change(pl_engine_t *e, const pl_tag_state_t *st, void *ud)
{
    fx_t *f = ud;

    (void)e;
    f->changes++;
    f->last = *st;
}

static void on_stopped(pl_engine_t *e, void *ud)
{
    (void)e, (void)ud;
}

static int build(fx_t *f, pl_status_t *err)
{
    pl_engine_config_t ec;
    pl_engine_cbs_t cbs = {on_change, NULL};

    memset(&ec, 0, sizeof(ec));
    ec.lines = &f->line;
    ec.nlines = 1;
    ec.devices = &f->dev;
    ec.ndevices = 1;
    ec.tags = f->tags;
    ec.ntags = NTAGS;
    ec.wall_ms = fixed_wall;
    return pl_engine_new(&f->loop, &ec, &cbs, f, &f->e, err);
}

static void defs(fx_t *f, unsigned stale_ms)
{
    size_t i;

    snprintf(f->line.name, sizeof(f->line.name), "L");
    snprintf(f->line.protocol, sizeof(f->line.protocol), "fakeevents");
    pl_line_config_init(&f->line.line);
    assert_int_equal(pl_hostlist_parse(&f->line.line.hosts, "127.0.0.1", 9, NULL), 0);
    snprintf(f->dev.name, sizeof(f->dev.name), "station");
    snprintf(f->dev.line, sizeof(f->dev.line), "L");
    f->dev.stale_ms = stale_ms;
    for (i = 0; i < NTAGS; i++) {
        snprintf(f->names[i], sizeof(f->names[i]), "t%zu", i);
        snprintf(f->addrs[i], sizeof(f->addrs[i]), "%zu", 1000 + i);
        f->tags[i].name = f->names[i];
        f->tags[i].device = "station";
        f->tags[i].address = f->addrs[i];
        f->tags[i].writable = i == 0;
    }
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    pl_status_t err;

    assert_non_null(f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    pl_engine_test_protocol(&fake_events_protocol);
    defs(f, 0);
    pl_status_clear(&err);
    assert_int_equal(build(f, &err), 0);
    assert_int_equal(pl_engine_start(f->e), 0);
    assert_int_equal(fake_events_dev->subscribes, 1);
    assert_int_equal(fake_events_dev->naddrs, NTAGS);
    assert_int_equal(fake_events_dev->starts, 1);
    the_fx = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;

    if (f->e != NULL) {
        pl_engine_stop(f->e, on_stopped);
        pl_engine_free(f->e);
    }
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    pl_engine_test_protocol(NULL);
    free(f);
    return 0;
}

static void on_guard(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

/* Runs the loop until tag `name` has quality `q` or `ms` have passed (a failure). */
static void run_until_quality(fx_t *f, const char *name, pl_quality_t q, unsigned ms)
{
    uv_timer_t guard;
    int expired = 0;

    uv_timer_init(&f->loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, ms, 0);
    while (pl_engine_tag(f->e, name)->quality != q && !expired)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_false(expired);
}

/* --- tests --------------------------------------------------------------------------- */

static void test_values_and_source_time(void **state)
{
    fx_t *f = *state;
    const pl_tag_state_t *st;
    pl_drv_meta_t meta;
    pl_engine_tag_info_t ti;
    pl_engine_device_info_t di;
    char line[512];

    st = pl_engine_tag(f->e, "t1");
    assert_int_equal(st->quality, PL_Q_UNCERTAIN); /* nothing received yet */
    assert_int_equal(st->value.type, PL_VT_NONE);

    /* without a device timestamp: the engine's time, no source time */
    fake_events_push_int(1001, 42, NULL);
    assert_int_equal(f->changes, 1); /* told before the push returned */
    assert_string_equal(f->last.tag, "t1");
    st = pl_engine_tag(f->e, "t1");
    assert_int_equal(st->quality, PL_Q_GOOD);
    assert_int_equal(st->value.i, 42);
    assert_int_equal(st->ts_ms, WALL_MS);
    assert_int_equal(st->source_ms, 0);
    assert_int_equal(st->flags, 0);

    /* with one: kept beside the engine's time */
    memset(&meta, 0, sizeof(meta));
    meta.source_ms = 1700000000123ull;
    fake_events_push_int(1001, 43, &meta);
    assert_int_equal(f->changes, 2);
    assert_int_equal(f->last.source_ms, 1700000000123ull);
    st = pl_engine_tag(f->e, "t1");
    assert_int_equal(st->value.i, 43);
    assert_int_equal(st->source_ms, 1700000000123ull);
    assert_int_equal(st->ts_ms, WALL_MS);

    /* the tag has no scan class; the device counts it */
    assert_int_equal(pl_engine_tag_info(f->e, (size_t)pl_engine_tag_index(f->e, "t1"), &ti), 0);
    assert_string_equal(ti.scan, "");
    assert_int_equal(pl_engine_device_info(f->e, 0, &di, NULL), 0);
    assert_int_equal(di.ntags, NTAGS);

    /* the JSON line shows the device's time and no flags */
    assert_true(pl_jsonl_state(pl_engine_tag(f->e, "t1"), line, sizeof(line)) > 0);
    assert_non_null(strstr(line, "\"ts\":\"2026-11-22T05:30:00.000Z\""));
    assert_non_null(strstr(line, "\"source_ts\":\"2023-11-14T22:13:20.123Z\""));
    assert_null(strstr(line, "\"flags\""));
}

static void test_flags_and_quality(void **state)
{
    fx_t *f = *state;
    const pl_tag_state_t *st;
    pl_drv_meta_t meta;
    char line[512];
    unsigned before;

    memset(&meta, 0, sizeof(meta));
    meta.flags = PL_QF_SUBSTITUTED | PL_QF_OVERFLOW;
    fake_events_push_int(1002, 7, &meta);
    st = pl_engine_tag(f->e, "t2");
    assert_int_equal(st->quality, PL_Q_GOOD);
    assert_int_equal(st->flags, PL_QF_SUBSTITUTED | PL_QF_OVERFLOW);
    assert_true(pl_jsonl_state(st, line, sizeof(line)) > 0);
    assert_non_null(strstr(line, "\"flags\":[\"substituted\",\"overflow\"]"));

    /* the same value with other flags is published: the flags changed */
    before = f->changes;
    meta.flags = PL_QF_BLOCKED;
    fake_events_push_int(1002, 7, &meta);
    assert_int_equal(f->changes, before + 1);
    assert_int_equal(f->last.flags, PL_QF_BLOCKED);
    /* the same value and flags again: nothing new to publish */
    fake_events_push_int(1002, 7, &meta);
    assert_int_equal(f->changes, before + 1);

    /* not topical: the value, uncertain */
    meta.flags = PL_QF_NOT_TOPICAL;
    meta.quality = PL_Q_UNCERTAIN;
    fake_events_push_int(1002, 8, &meta);
    st = pl_engine_tag(f->e, "t2");
    assert_int_equal(st->quality, PL_Q_UNCERTAIN);
    assert_int_equal(st->value.i, 8);
    assert_int_equal(st->flags, PL_QF_NOT_TOPICAL);

    /* invalid: bad, with the driver's code and reason */
    meta.flags = PL_QF_INVALID;
    meta.quality = PL_Q_BAD;
    meta.error = PL_EPROTO;
    meta.detail = "the device marks the value invalid";
    fake_events_push_int(1002, 9, &meta);
    st = pl_engine_tag(f->e, "t2");
    assert_int_equal(st->quality, PL_Q_BAD);
    assert_int_equal(st->error, PL_EPROTO);
    assert_string_equal(st->detail, "the device marks the value invalid");
    assert_int_equal(st->flags, PL_QF_INVALID);

    /* good again with the next good value; the flags go with it */
    fake_events_push_int(1002, 10, NULL);
    st = pl_engine_tag(f->e, "t2");
    assert_int_equal(st->quality, PL_Q_GOOD);
    assert_int_equal(st->value.i, 10);
    assert_int_equal(st->flags, 0);
    assert_int_equal(st->error, 0);
}

static void test_link_down_and_back(void **state)
{
    fx_t *f = *state;
    const pl_tag_state_t *st;
    pl_status_t why;
    size_t i;

    for (i = 0; i < NTAGS; i++)
        fake_events_push_int((uint32_t)(1000 + i), (int64_t)i, NULL);
    pl_status_set(&why, PL_ECONNECT, 0, "127.0.0.1:1 refused");
    fake_events_dev->link(fake_events_dev->link_ud, &why);
    for (i = 0; i < NTAGS; i++) {
        char name[8];

        snprintf(name, sizeof(name), "t%zu", i);
        st = pl_engine_tag(f->e, name);
        assert_int_equal(st->quality, PL_Q_BAD);
        assert_int_equal(st->error, PL_ECONNECT);
        assert_non_null(strstr(st->detail, "127.0.0.1:1 refused"));
        assert_int_equal(st->value.i, (int64_t)i); /* the last value is kept */
    }
    fake_events_dev->link(fake_events_dev->link_ud,
                          NULL); /* up: the tags wait for their next value */
    assert_int_equal(pl_engine_tag(f->e, "t3")->quality, PL_Q_BAD);
    fake_events_push_int(1003, 33, NULL);
    st = pl_engine_tag(f->e, "t3");
    assert_int_equal(st->quality, PL_Q_GOOD);
    assert_int_equal(st->value.i, 33);
    assert_int_equal(pl_engine_tag(f->e, "t2")->quality, PL_Q_BAD);
}

static void on_write(pl_engine_t *e, const pl_status_t *result, void *ud)
{
    size_t k = (size_t)(uintptr_t)ud;

    (void)e;
    the_fx->wcalls[k]++;
    the_fx->wcode[k] = result->code;
}

static void test_writes_exactly_once(void **state)
{
    fx_t *f = *state;
    pl_value_t v;
    pl_status_t err;
    pl_drv_cb cb;
    void *ctx;
    pl_status_t ok;

    memset(&v, 0, sizeof(v));
    v.type = PL_VT_INT;
    v.i = 5;
    pl_status_clear(&err);
    assert_int_equal(pl_engine_write(f->e, "t1", &v, on_write, (void *)(uintptr_t)0, &err),
                     PL_EREADONLY);
    assert_int_equal(pl_engine_write(f->e, "t0", &v, on_write, (void *)(uintptr_t)0, &err), 0);
    v.i = 6;
    assert_int_equal(pl_engine_write(f->e, "t0", &v, on_write, (void *)(uintptr_t)1, &err), 0);
    assert_int_equal(fake_events_dev->nw, 2); /* both handed to the driver at once */
    assert_int_equal(fake_events_dev->w[0].value, 5);
    assert_int_equal(fake_events_dev->w[1].value, 6);
    /* the first is confirmed */
    cb = fake_events_dev->w[0].cb;
    ctx = fake_events_dev->w[0].ctx;
    fake_events_dev->w[0] = fake_events_dev->w[1];
    fake_events_dev->nw = 1;
    pl_status_clear(&ok);
    cb(ctx, &ok);
    assert_int_equal(f->wcalls[0], 1);
    assert_int_equal(f->wcode[0], 0);
    assert_int_equal(f->wcalls[1], 0);
    /* the engine stops with the second in flight: answered once, canceled */
    pl_engine_stop(f->e, on_stopped);
    assert_int_equal(f->wcalls[1], 1);
    assert_int_equal(f->wcode[1], PL_ECANCELED);
    assert_int_equal(f->wcalls[0], 1);
    pl_engine_free(f->e);
    f->e = NULL;
}

static void test_stale(void **state)
{
    fx_t *f = *state;
    pl_status_t err;
    const pl_tag_state_t *st;

    /* a device with a 30 ms staleness limit */
    pl_engine_stop(f->e, on_stopped);
    pl_engine_free(f->e);
    f->e = NULL;
    defs(f, 30);
    pl_status_clear(&err);
    assert_int_equal(build(f, &err), 0);
    assert_int_equal(pl_engine_start(f->e), 0);
    fake_events_push_int(1000, 1, NULL);
    fake_events_push_int(1001, 2, NULL);
    assert_int_equal(pl_engine_tag(f->e, "t0")->quality, PL_Q_GOOD);
    run_until_quality(f, "t0", PL_Q_UNCERTAIN, 5000);
    st = pl_engine_tag(f->e, "t0");
    assert_int_equal(st->value.i, 1); /* the value stays, uncertain */
    assert_int_equal(f->last.quality, PL_Q_UNCERTAIN);
    run_until_quality(f, "t1", PL_Q_UNCERTAIN, 5000);
    /* good again with the next value, and uncertain again after the next silence */
    fake_events_push_int(1000, 3, NULL);
    assert_int_equal(pl_engine_tag(f->e, "t0")->quality, PL_Q_GOOD);
    run_until_quality(f, "t0", PL_Q_UNCERTAIN, 5000);
    /* a tag that never had a value stays as it began */
    assert_int_equal(pl_engine_tag(f->e, "t3")->value.type, PL_VT_NONE);
}

/* Rebuilds the engine with the device's staleness limit `dev_ms` and tag `tag`'s own
 * `tag_ms`, then pushes a value to t0 and to that tag. */
static void rebuild_stale(fx_t *f, unsigned dev_ms, size_t tag, unsigned tag_ms)
{
    pl_status_t err;

    if (f->e != NULL) {
        pl_engine_stop(f->e, on_stopped);
        pl_engine_free(f->e);
        f->e = NULL;
    }
    uv_run(&f->loop, UV_RUN_NOWAIT);
    defs(f, dev_ms);
    for (size_t i = 0; i < NTAGS; i++)
        f->tags[i].stale_ms = i == tag ? tag_ms : 0;
    pl_status_clear(&err);
    assert_int_equal(build(f, &err), 0);
    assert_int_equal(pl_engine_start(f->e), 0);
    fake_events_push_int(1000, 1, NULL);
    fake_events_push_int((uint32_t)(1000 + tag), 2, NULL);
}

/* A tag's own 'stale' overrides its device's, shorter or longer, and works on a device
 * that has none; the device's one timer serves them all. "Still good" is safe to assert:
 * the longer limits (60 s) are far beyond how long the test waits for the short one. */
static void test_stale_per_tag(void **state)
{
    fx_t *f = *state;

    /* the tag's limit is shorter than the device's: the timer fires for it */
    rebuild_stale(f, 60000, 1, 30);
    run_until_quality(f, "t1", PL_Q_UNCERTAIN, 5000);
    assert_int_equal(pl_engine_tag(f->e, "t0")->quality, PL_Q_GOOD);
    assert_int_equal(pl_engine_tag(f->e, "t1")->value.i, 2); /* the value stays */
    /* good again with the next value, uncertain again after its own silence */
    fake_events_push_int(1001, 3, NULL);
    assert_int_equal(pl_engine_tag(f->e, "t1")->quality, PL_Q_GOOD);
    run_until_quality(f, "t1", PL_Q_UNCERTAIN, 5000);
    assert_int_equal(pl_engine_tag(f->e, "t0")->quality, PL_Q_GOOD);

    /* the tag's limit is longer than the device's: the other tag ages, this one not */
    rebuild_stale(f, 30, 2, 60000);
    run_until_quality(f, "t0", PL_Q_UNCERTAIN, 5000);
    assert_int_equal(pl_engine_tag(f->e, "t2")->quality, PL_Q_GOOD);

    /* a device without a limit: only the tag with its own ages */
    rebuild_stale(f, 0, 3, 30);
    run_until_quality(f, "t3", PL_Q_UNCERTAIN, 5000);
    assert_int_equal(pl_engine_tag(f->e, "t0")->quality, PL_Q_GOOD);
}

static void test_burst(void **state)
{
    fx_t *f = *state;
    unsigned i, before = f->changes;

    /* every value differs from its tag's last: every one is published, none lost */
    for (i = 0; i < 40000; i++)
        fake_events_push_int(1000 + i % NTAGS, (int64_t)i, NULL);
    assert_int_equal(f->changes - before, 40000);
    for (i = 0; i < NTAGS; i++) {
        char name[8];

        snprintf(name, sizeof(name), "t%u", i);
        assert_int_equal(pl_engine_tag(f->e, name)->value.i, 40000 - NTAGS + i);
    }
}

static void test_foreign_push_ignored(void **state)
{
    fx_t *f = *state;
    pl_drv_addr_t stray;
    pl_value_t raw;

    memset(&stray, 0, sizeof(stray));
    memset(&raw, 0, sizeof(raw));
    raw.type = PL_VT_INT;
    fake_events_dev->push(fake_events_dev->push_ud, &stray, &raw, NULL);
    /* one byte past a tag's address is no tag's address either */
    fake_events_dev->push(
        fake_events_dev->push_ud,
        (const pl_drv_addr_t *)(const void *)((const char *)fake_events_addr(1000) + 1), &raw,
        NULL);
    assert_int_equal(f->changes, 0);
}

static void test_scan_rules(void **state)
{
    fx_t *f = *state;
    pl_engine_t *e2 = NULL;
    pl_engine_config_t ec;
    pl_line_def_t lines[2];
    pl_device_def_t devs[2];
    pl_tag_def_t tag;
    pl_scan_def_t scan;
    pl_status_t err;
    int rc;

    memset(lines, 0, sizeof(lines));
    memset(devs, 0, sizeof(devs));
    lines[0] = f->line;
    lines[1] = f->line;
    snprintf(lines[1].name, sizeof(lines[1].name), "P");
    snprintf(lines[1].protocol, sizeof(lines[1].protocol), "7ttcp");
    devs[0] = f->dev;
    snprintf(devs[1].name, sizeof(devs[1].name), "polled");
    snprintf(devs[1].line, sizeof(devs[1].line), "P");
    memset(&scan, 0, sizeof(scan));
    snprintf(scan.name, sizeof(scan.name), "fast");
    scan.period_ms = 100;
    memset(&tag, 0, sizeof(tag));
    memset(&ec, 0, sizeof(ec));
    ec.lines = lines;
    ec.nlines = 2;
    ec.devices = devs;
    ec.ndevices = 2;
    ec.tags = &tag;
    ec.ntags = 1;
    ec.scans = &scan;
    ec.nscans = 1;

    /* a scan class on an event-driven device's tag is refused */
    tag.name = "x";
    tag.device = "station";
    tag.address = "5";
    tag.scan = "fast";
    pl_status_clear(&err);
    rc = pl_engine_new(&f->loop, &ec, NULL, NULL, &e2, &err);
    assert_int_equal(rc, PL_ECONFIG);
    assert_non_null(strstr(err.detail, "expected no scan class"));

    /* a polled device's tag needs one */
    tag.device = "polled";
    tag.address = "W5";
    tag.scan = NULL;
    pl_status_clear(&err);
    rc = pl_engine_new(&f->loop, &ec, NULL, NULL, &e2, &err);
    assert_int_equal(rc, PL_ECONFIG);
    assert_non_null(strstr(err.detail, "is polled, expected a scan class"));

    /* and with one it builds, next to the event-driven device */
    tag.scan = "fast";
    pl_status_clear(&err);
    assert_int_equal(pl_engine_new(&f->loop, &ec, NULL, NULL, &e2, &err), 0);
    pl_engine_free(e2);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

/* A reload with the same definitions, in the order of the tests below: a new engine takes
 * the device over from the running one (kept as the fake device the tests hold), starts,
 * and the old one is stopped and freed (released once its connection has moved on). */
static void reload(fx_t *f)
{
    pl_drv_dev_t *dev = fake_events_dev;
    pl_engine_t *old = f->e;
    pl_status_t err;

    pl_status_clear(&err);
    assert_int_equal(build(f, &err), 0); /* f->e: the new engine */
    fake_events_dev = dev;               /* the new engine's own device was freed by adopt */
    assert_int_equal(pl_engine_adopt(f->e, old), 1);
    assert_int_equal(pl_engine_start(f->e), 0);
    pl_engine_stop(old, on_stopped);
    pl_engine_free(old);
}

/* Writes 9 to t0: the write waits in the fake device (w[0]) until the test answers it. */
static void write_t0_waiting(fx_t *f)
{
    pl_status_t err;
    pl_value_t v;

    memset(&v, 0, sizeof(v));
    v.type = PL_VT_INT;
    v.i = 9;
    pl_status_clear(&err);
    assert_int_equal(pl_engine_write(f->e, "t0", &v, on_write, (void *)(uintptr_t)0, &err), 0);
}

/* A reload keeps the connection: the new engine subscribes again with its own tags, and
 * values go to it, not to the old one. */
static void test_reload_subscribes_again(void **state)
{
    fx_t *f = *state;
    pl_drv_dev_t *dev = fake_events_dev;
    unsigned before;

    fake_events_push_int(1001, 1, NULL);
    reload(f); /* nothing in flight: handed over at once */
    assert_int_equal(dev->subscribes, 2);
    assert_int_equal(dev->naddrs, NTAGS);
    before = f->changes;
    fake_events_push_int(1001, 2, NULL);
    assert_int_equal(f->changes, before + 1);
    assert_int_equal(pl_engine_tag(f->e, "t1")->value.i, 2);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

/* A reload keeps the values the station sent: a station sends a point again only when it
 * changes (or at an interrogation), so the new engine starts with the old one's state of
 * each kept tag (value, quality, source time, flags), and those values age from there: with
 * the device's 100 ms limit, t1 turns uncertain without a value sent after the reload. */
static void test_reload_keeps_event_values(void **state)
{
    fx_t *f = *state;
    pl_drv_meta_t meta;
    const pl_tag_state_t *st;

    rebuild_stale(f, 100, 0, 0); /* t0 = 1, then 2 */
    memset(&meta, 0, sizeof(meta));
    meta.quality = PL_Q_GOOD;
    meta.flags = PL_QF_SUBSTITUTED;
    meta.source_ms = WALL_MS - 5000;
    fake_events_push_int(1001, 7, &meta);
    reload(f);
    st = pl_engine_tag(f->e, "t1");
    assert_int_equal(st->value.type, PL_VT_INT);
    assert_int_equal(st->value.i, 7);
    assert_int_not_equal(st->quality, PL_Q_BAD);
    assert_true(st->source_ms == WALL_MS - 5000);
    assert_int_equal(st->flags, PL_QF_SUBSTITUTED);
    assert_true(st->ts_ms == WALL_MS);
    assert_int_equal(pl_engine_tag(f->e, "t0")->value.i, 2);
    assert_int_equal(pl_engine_tag(f->e, "t3")->value.type, PL_VT_NONE); /* never sent */
    run_until_quality(f, "t1", PL_Q_UNCERTAIN, 5000);
    assert_int_equal(pl_engine_tag(f->e, "t1")->value.i, 7);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

/* A reload while a write is in flight, and the link goes down before the handover: the
 * new engine's tags, which started with the old engine's values, turn bad, as the old
 * engine's would have (before, they stayed good with the link down until it came back). */
static void test_reload_link_down_in_handover(void **state)
{
    fx_t *f = *state;
    pl_drv_dev_t *dev = fake_events_dev;
    pl_status_t down;
    const pl_tag_state_t *st;

    fake_events_push_int(1002, 22, NULL);
    write_t0_waiting(f);
    reload(f);
    assert_int_equal(pl_engine_tag(f->e, "t2")->quality, PL_Q_GOOD); /* carried */
    pl_status_set(&down, PL_ERECV_00, 0, "test: the station closed the connection");
    dev->link(dev->link_ud, &down); /* still the old engine's device */
    st = pl_engine_tag(f->e, "t2");
    assert_int_equal(st->quality, PL_Q_BAD);
    assert_int_equal(st->error, PL_ERECV_00);
    assert_int_equal(st->value.i, 22);
    /* the write fails with the link; the connection moves on, subscribed once */
    dev->w[0].cb(dev->w[0].ctx, &down);
    dev->nw = 0;
    assert_int_equal(f->wcalls[0], 1);
    assert_int_equal(f->wcode[0], PL_ERECV_00);
    assert_int_equal(dev->subscribes, 2);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

/* A reload while a write is in flight: the connection moves only when the write is
 * answered; values the device sends meanwhile reach the new engine all the same. */
static void test_reload_with_write_in_flight(void **state)
{
    fx_t *f = *state;
    pl_drv_dev_t *dev = fake_events_dev;
    pl_status_t ok;
    pl_drv_cb cb;
    void *ctx;

    write_t0_waiting(f);
    assert_int_equal(dev->nw, 1);
    reload(f);
    assert_int_equal(dev->subscribes, 1); /* not handed over yet */
    fake_events_push_int(1002, 22, NULL); /* through the old subscription */
    assert_int_equal(pl_engine_tag(f->e, "t2")->value.i, 22);
    assert_int_equal(pl_engine_tag(f->e, "t2")->quality, PL_Q_GOOD);
    /* the write is answered once; then the connection moves and is subscribed again */
    cb = dev->w[0].cb;
    ctx = dev->w[0].ctx;
    dev->nw = 0;
    pl_status_clear(&ok);
    cb(ctx, &ok);
    assert_int_equal(f->wcalls[0], 1);
    assert_int_equal(f->wcode[0], 0);
    assert_int_equal(dev->subscribes, 2);
    fake_events_push_int(1002, 23, NULL);
    assert_int_equal(pl_engine_tag(f->e, "t2")->value.i, 23);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_values_and_source_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flags_and_quality, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_down_and_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writes_exactly_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_per_tag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_burst, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_push_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_subscribes_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_with_write_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_keeps_event_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_link_down_in_handover, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
