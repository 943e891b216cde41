/* SPDX-License-Identifier: MIT */
/*
 * The scan engine against 7TTCP node simulators in the same loop: values and quality,
 * planned blocks, writes answered exactly once, a dead device that does not slow the other
 * one, demotion and retry, deadband, staleness, stop. No sleeps: the loop runs until a
 * condition holds, with a guard timer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plcline/engine.h"
#include "plcline/error.h"
#include "plcline/ttcp.h"

#define MAX_TAGS 16

typedef struct {
    uv_loop_t loop;
    pl_ttcp_server_t *srv[2];
    pl_engine_t *e;
    pl_line_def_t lines[2];
    pl_device_def_t devs[2];
    pl_tag_def_t tags[MAX_TAGS];
    pl_scan_def_t scans[2];
    size_t ntags;
    unsigned changes;
    unsigned value_moves; /* changes of a good value to another good value of the same tag */
    char last_tag[64];
    pl_tag_state_t last;
    int stopped;
} fx_t;

typedef struct {
    int done;
    pl_status_t st;
} wres_t;

static void on_change(pl_engine_t *e, const pl_tag_state_t *st, void *ud)
{
    fx_t *f = ud;

    (void)e;
    f->changes++;
    if (st->quality == PL_Q_GOOD && f->last.quality == PL_Q_GOOD &&
        strcmp(f->last_tag, st->tag) == 0 &&
        (st->value.type != f->last.value.type || st->value.f != f->last.value.f ||
         st->value.i != f->last.value.i))
        f->value_moves++;
    snprintf(f->last_tag, sizeof(f->last_tag), "%s", st->tag);
    f->last = *st;
}

static void on_guard(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

/* Runs the loop until pred(f) holds; fails after `ms`. */
static void run_until(fx_t *f, int (*pred)(fx_t *f, void *arg), void *arg, unsigned ms)
{
    uv_timer_t guard;
    int expired = 0;

    uv_timer_init(&f->loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, ms, 0);
    while (!pred(f, arg) && !expired)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_false(expired);
}

static void add_tag(fx_t *f, const char *name, const char *dev, const char *addr, const char *scan,
                    int writable)
{
    pl_tag_def_t *t = &f->tags[f->ntags++];

    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", name);
    snprintf(t->device, sizeof(t->device), "%s", dev);
    snprintf(t->address, sizeof(t->address), "%s", addr);
    snprintf(t->scan, sizeof(t->scan), "%s", scan);
    t->writable = writable;
}

/* Two simulators, one line and one device each (node 1 on A, node 2 on B). */
static void setup(fx_t *f, unsigned timeout_ms)
{
    pl_ttcp_server_config_t sc;
    int i;

    memset(f, 0, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    for (i = 0; i < 2; i++) {
        pl_ttcp_server_config_init(&sc);
        sc.listen.port = 0;
        assert_int_equal(pl_ttcp_server_new(&f->loop, &sc, &f->srv[i], NULL), 0);
        snprintf(f->lines[i].name, sizeof(f->lines[i].name), "line%c", 'A' + i);
        f->lines[i].protocol = PL_PROTO_7TTCP;
        pl_line_config_init(&f->lines[i].line);
        assert_int_equal(pl_hostlist_parse(&f->lines[i].line.hosts, "127.0.0.1", 9, NULL), 0);
        f->lines[i].line.port = pl_ttcp_server_port(f->srv[i]);
        f->lines[i].line.backoff_min_ms = 10;
        f->lines[i].line.backoff_max_ms = 50;
        f->lines[i].timeout_ms = timeout_ms;
        snprintf(f->devs[i].name, sizeof(f->devs[i].name), "dev%c", 'A' + i);
        snprintf(f->devs[i].line, sizeof(f->devs[i].line), "line%c", 'A' + i);
        f->devs[i].node = (uint32_t)i + 1;
    }
    snprintf(f->scans[0].name, sizeof(f->scans[0].name), "fast");
    f->scans[0].period_ms = 20;
    snprintf(f->scans[1].name, sizeof(f->scans[1].name), "slow");
    f->scans[1].period_ms = 200;
}

static void start(fx_t *f)
{
    pl_engine_config_t ec;
    pl_engine_cbs_t cbs = {.on_change = on_change};
    pl_status_t err;

    memset(&ec, 0, sizeof(ec));
    ec.lines = f->lines;
    ec.nlines = 2;
    ec.devices = f->devs;
    ec.ndevices = 2;
    ec.tags = f->tags;
    ec.ntags = f->ntags;
    ec.scans = f->scans;
    ec.nscans = 2;
    pl_status_clear(&err);
    assert_int_equal(pl_engine_new(&f->loop, &ec, &cbs, f, &f->e, &err), 0);
    assert_int_equal(pl_engine_start(f->e), 0);
}

static void on_stopped(pl_engine_t *e, void *ud)
{
    (void)e;
    ((fx_t *)ud)->stopped = 1;
}

static void teardown(fx_t *f)
{
    int i;

    if (f->e != NULL) {
        pl_engine_stop(f->e, on_stopped);
        pl_engine_free(f->e);
    }
    for (i = 0; i < 2; i++)
        if (f->srv[i] != NULL)
            pl_ttcp_server_free(f->srv[i]);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

static int tag_is(fx_t *f, void *arg)
{
    const char *const *want = arg; /* {name, quality} */
    const pl_tag_state_t *st = pl_engine_tag(f->e, want[0]);

    return st != NULL && strcmp(pl_quality_name(st->quality), want[1]) == 0;
}

static int tag_value_is(fx_t *f, void *arg)
{
    const void *const *want = arg; /* {name, int64 *} */
    const pl_tag_state_t *st = pl_engine_tag(f->e, want[0]);

    return st != NULL && st->quality == PL_Q_GOOD && st->value.i == *(const int64_t *)want[1];
}

static void wait_quality(fx_t *f, const char *tag, const char *q, unsigned ms)
{
    const char *want[2] = {tag, q};

    run_until(f, tag_is, (void *)want, ms);
}

static void wait_value(fx_t *f, const char *tag, int64_t v, unsigned ms)
{
    const void *want[2] = {tag, &v};

    run_until(f, tag_value_is, (void *)want, ms);
}

static int cycles_reached(fx_t *f, void *arg)
{
    pl_engine_stats_t s;

    pl_engine_device_stats(f->e, "devA", &s);
    return s.cycles >= *(uint64_t *)arg;
}

static int engine_stopped(fx_t *f, void *arg)
{
    (void)arg;
    return f->stopped;
}

static void test_values_and_planning(void **state)
{
    fx_t f;
    uint16_t *m;
    const pl_tag_state_t *st;
    pl_engine_stats_t s;
    float fl = 21.5f;
    uint32_t bits;
    uint64_t frames;

    (void)state;
    setup(&f, 500);
    m = pl_ttcp_server_words(f.srv[0], 1);
    m[1] = 42;
    m[31] = (uint16_t)-7;
    memcpy(&bits, &fl, sizeof(bits));
    m[100] = (uint16_t)bits;
    m[101] = (uint16_t)(bits >> 16);
    m[200] = 0x0020;
    /* the manual's example: words 1 and 31 are read as one block of 31 words */
    add_tag(&f, "a.w1", "devA", "W1", "slow", 0);
    add_tag(&f, "a.i31", "devA", "I31", "slow", 0);
    add_tag(&f, "a.f100", "devA", "F100", "fast", 0);
    add_tag(&f, "a.bit", "devA", "W200/5", "fast", 0);
    add_tag(&f, "b.w5", "devB", "W5", "fast", 1);
    start(&f);
    wait_quality(&f, "a.w1", "good", 3000);
    wait_quality(&f, "a.f100", "good", 3000);
    wait_quality(&f, "b.w5", "good", 3000);
    st = pl_engine_tag(f.e, "a.w1");
    assert_int_equal(st->value.i, 42);
    assert_string_equal(st->device, "devA");
    assert_string_equal(st->line, "lineA");
    assert_true(st->ts_ms > 1600000000000ull);
    st = pl_engine_tag(f.e, "a.i31");
    assert_int_equal(st->quality, PL_Q_GOOD);
    assert_int_equal(st->value.i, -7);
    st = pl_engine_tag(f.e, "a.f100");
    assert_int_equal(st->value.type, PL_VT_FLOAT);
    assert_true(st->value.f == 21.5);
    st = pl_engine_tag(f.e, "a.bit");
    assert_int_equal(st->value.type, PL_VT_BOOL);
    assert_int_equal(st->value.i, 1);

    /* the engine's request count is what reached the simulator, but for the one request
     * devA may have on its way (sent, not yet read by the simulator on the same loop) */
    frames = pl_ttcp_server_stats(f.srv[0])->frames_in;
    assert_int_equal(pl_engine_device_stats(f.e, "devA", &s), 0);
    assert_true(s.cycles >= 2);
    assert_true(s.requests >= frames && s.requests <= frames + 1);
    {
        /* every fast cycle of devA: F100 and W200/5 are 101 words apart: 2 blocks */
        pl_engine_stats_t before, after;
        uint64_t f0 = pl_ttcp_server_stats(f.srv[0])->frames_in, f1, want;

        pl_engine_device_stats(f.e, "devA", &before);
        want = before.cycles + 10;
        run_until(&f, cycles_reached, &want, 5000);
        pl_engine_device_stats(f.e, "devA", &after);
        f1 = pl_ttcp_server_stats(f.srv[0])->frames_in;
        /* cycles of both classes completed; the ratio of frames to cycles is at most 2 */
        assert_true(f1 - f0 <= 2 * (after.cycles - before.cycles) + 2);
    }
    teardown(&f);
}

static void on_written(pl_engine_t *e, const pl_status_t *st, void *ud)
{
    wres_t *w = ud;

    (void)e;
    w->done++;
    w->st = *st;
}

static int write_done(fx_t *f, void *arg)
{
    (void)f;
    return ((wres_t *)arg)->done > 0;
}

static int writes_done(fx_t *f, void *arg) /* the three of test_latest_policy_... */
{
    const wres_t *w = arg;

    (void)f;
    return w[0].done + w[1].done + w[2].done >= 3;
}

static void test_writes(void **state)
{
    fx_t f;
    wres_t w;
    pl_value_t v;
    pl_status_t err;

    (void)state;
    setup(&f, 500);
    add_tag(&f, "b.w5", "devB", "W5", "fast", 1);
    add_tag(&f, "b.ro", "devB", "W6", "fast", 0);
    add_tag(&f, "b.bit", "devB", "W7/3", "fast", 1);
    start(&f);
    wait_quality(&f, "b.w5", "good", 3000);

    memset(&v, 0, sizeof(v));
    v.type = PL_VT_INT;
    v.i = 1234;
    memset(&w, 0, sizeof(w));
    assert_int_equal(pl_engine_write(f.e, "b.w5", &v, on_written, &w, &err), 0);
    run_until(&f, write_done, &w, 3000);
    assert_int_equal(w.done, 1);
    assert_int_equal(w.st.code, 0);
    assert_int_equal(pl_ttcp_server_words(f.srv[1], 2)[5], 1234);
    wait_value(&f, "b.w5", 1234, 3000); /* and it comes back in the next poll */

    /* a bit: only that bit changes */
    pl_ttcp_server_words(f.srv[1], 2)[7] = 0x8001;
    v.type = PL_VT_BOOL;
    v.i = 1;
    memset(&w, 0, sizeof(w));
    assert_int_equal(pl_engine_write(f.e, "b.bit", &v, on_written, &w, &err), 0);
    run_until(&f, write_done, &w, 3000);
    if (w.st.code != 0)
        fprintf(stderr, "bit write: %s: %s\n", pl_err_name(w.st.code), w.st.detail);
    assert_int_equal(w.st.code, 0);
    assert_int_equal(pl_ttcp_server_words(f.srv[1], 2)[7], 0x8009);

    /* refused at once: read-only, unknown, out of range */
    v.type = PL_VT_INT;
    v.i = 1;
    assert_int_equal(pl_engine_write(f.e, "b.ro", &v, on_written, &w, &err), PL_EREADONLY);
    assert_int_equal(pl_engine_write(f.e, "nope", &v, on_written, &w, &err), PL_ENOTAG);
    v.i = 70000;
    assert_int_equal(pl_engine_write(f.e, "b.w5", &v, on_written, &w, &err), PL_EVALUE);
    v.type = PL_VT_FLOAT;
    v.f = 1.5;
    assert_int_equal(pl_engine_write(f.e, "b.w5", &v, on_written, &w, &err), PL_EVALUE);
    assert_int_equal(w.done, 1); /* none of the refused ones called back */
    teardown(&f);
}

static void test_dead_device_does_not_slow_the_other(void **state)
{
    fx_t f;
    pl_engine_stats_t a0, a1, b0, b1;
    const pl_tag_state_t *st;
    wres_t w;
    pl_value_t v;
    pl_status_t err;

    (void)state;
    setup(&f, 100);
    f.devs[1].demote_after = 2;
    f.devs[1].demote_ms = 300;
    add_tag(&f, "a.w1", "devA", "W1", "fast", 0);
    add_tag(&f, "b.w1", "devB", "W1", "fast", 1);
    start(&f);
    wait_quality(&f, "a.w1", "good", 3000);
    wait_quality(&f, "b.w1", "good", 3000);

    /* devB's simulator dies */
    pl_ttcp_server_free(f.srv[1]);
    f.srv[1] = NULL;
    pl_engine_device_stats(f.e, "devA", &a0);
    pl_engine_device_stats(f.e, "devB", &b0);
    wait_quality(&f, "b.w1", "bad", 3000);
    st = pl_engine_tag(f.e, "b.w1");
    assert_true(st->error == PL_ERECV_00 || st->error == PL_ERECV_FF || st->error == PL_ECONNECT ||
                st->error == PL_ETIMEOUT);
    /* demoted after 2 failures: writes are refused with a named error */
    {
        int i;

        for (i = 0; i < 200; i++) {
            pl_device_def_t *unused = NULL;

            (void)unused;
            pl_engine_device_stats(f.e, "devB", &b1);
            if (b1.demoted)
                break;
            uv_run(&f.loop, UV_RUN_ONCE);
        }
        assert_true(b1.demoted);
    }
    /* the tags say why: the demotion's detail, kept beside the failed request's code; states
     * asked for one after the other stay apart */
    {
        const pl_tag_state_t *sa = pl_engine_tag(f.e, "a.w1"), *sb = pl_engine_tag(f.e, "b.w1");

        assert_string_equal(sa->tag, "a.w1");
        assert_string_equal(sa->detail, "");
        assert_string_equal(sb->tag, "b.w1");
        assert_int_equal(sb->quality, PL_Q_BAD);
        assert_int_equal(strncmp(sb->detail, "off scan after 2 failures: ", 27), 0);
        assert_true(strlen(sb->detail) > 27);
    }
    memset(&v, 0, sizeof(v));
    v.type = PL_VT_INT;
    v.i = 1;
    memset(&w, 0, sizeof(w));
    assert_int_equal(pl_engine_write(f.e, "b.w1", &v, on_written, &w, &err), PL_EOFFSCAN);

    /* devA went on polling meanwhile */
    {
        uint64_t want = a0.cycles + 20;

        run_until(&f, cycles_reached, &want, 5000);
    }
    pl_engine_device_stats(f.e, "devA", &a1);
    assert_int_equal(pl_engine_tag(f.e, "a.w1")->quality, PL_Q_GOOD);
    assert_int_equal(a1.errors, 0);
    teardown(&f);
}

static void test_device_comes_back(void **state)
{
    fx_t f;
    pl_ttcp_server_config_t sc;
    uint16_t port;

    (void)state;
    setup(&f, 100);
    f.devs[1].demote_after = 1;
    f.devs[1].demote_ms = 50;
    add_tag(&f, "b.w1", "devB", "W1", "fast", 0);
    start(&f);
    wait_quality(&f, "b.w1", "good", 3000);
    port = pl_ttcp_server_port(f.srv[1]);
    pl_ttcp_server_free(f.srv[1]);
    f.srv[1] = NULL;
    wait_quality(&f, "b.w1", "bad", 3000);
    /* restart on the same port: values come back after the demotion ends */
    pl_ttcp_server_config_init(&sc);
    sc.listen.port = port;
    assert_int_equal(pl_ttcp_server_new(&f.loop, &sc, &f.srv[1], NULL), 0);
    pl_ttcp_server_words(f.srv[1], 2)[1] = 99;
    wait_value(&f, "b.w1", 99, 5000);
    teardown(&f);
}

static int value_moves_past(fx_t *f, void *arg)
{
    return f->value_moves > *(unsigned *)arg;
}

static void test_deadband_and_scaling(void **state)
{
    uint64_t s_target;
    fx_t f;
    uint16_t *m;
    unsigned before;
    const pl_tag_state_t *st;
    pl_engine_stats_t s0;

    (void)state;
    setup(&f, 500);
    add_tag(&f, "a.raw", "devA", "W10", "fast", 1);
    f.tags[0].deadband = 5;
    f.tags[0].scaled = 1;
    f.tags[0].gain = 0.5;
    f.tags[0].offset = 100;
    /* a busy machine (sanitizers, parallel tests) can hold a 20 ms scan back past the default
     * staleness of 3 periods: the value then turns uncertain and good again, which are
     * quality changes, not what this test is about; they are told apart by value_moves */
    f.scans[0].stale_ms = 60000;
    start(&f);
    m = pl_ttcp_server_words(f.srv[0], 1);
    wait_quality(&f, "a.raw", "good", 3000);
    st = pl_engine_tag(f.e, "a.raw");
    assert_int_equal(st->value.type, PL_VT_FLOAT);
    assert_true(st->value.f == 100.0);
    before = f.value_moves;
    m[10] = 8; /* 104: within the 5-unit deadband of 100 */
    pl_engine_device_stats(f.e, "devA", &s0);
    s_target = s0.cycles + 5;
    run_until(&f, cycles_reached, &s_target, 5000);
    assert_int_equal(f.value_moves, before);
    assert_true(f.last.value.f == 100.0); /* the last one published */
    m[10] = 20;                           /* 110: beyond it */
    run_until(&f, value_moves_past, &before, 5000);
    assert_true(f.last.value.f == 110.0);
    {
        /* writes take engineering units */
        wres_t w;
        pl_value_t v;
        pl_status_t err;

        memset(&v, 0, sizeof(v));
        v.type = PL_VT_FLOAT;
        v.f = 150.0; /* raw 100 */
        memset(&w, 0, sizeof(w));
        assert_int_equal(pl_engine_write(f.e, "a.raw", &v, on_written, &w, &err), 0);
        run_until(&f, write_done, &w, 3000);
        assert_int_equal(w.st.code, 0);
        assert_int_equal(m[10], 100);
    }
    teardown(&f);
}

static void test_latest_policy_and_stop_answers_writes(void **state)
{
    fx_t f;
    wres_t w[3];
    pl_value_t v;
    pl_status_t err;
    int i;

    (void)state;
    setup(&f, 500);
    f.devs[0].write_policy = PL_WRITES_LATEST;
    add_tag(&f, "a.w1", "devA", "W1", "fast", 1);
    add_tag(&f, "a.w2", "devA", "W2", "slow", 1);
    start(&f);
    wait_quality(&f, "a.w1", "good", 3000);
    memset(w, 0, sizeof(w));
    memset(&v, 0, sizeof(v));
    v.type = PL_VT_INT;
    /* the first goes out at once (the device is idle or busy with one read); the queued ones
     * for the same tag replace each other */
    for (i = 0; i < 3; i++) {
        v.i = 10 + i;
        assert_int_equal(pl_engine_write(f.e, "a.w1", &v, on_written, &w[i], &err), 0);
    }
    run_until(&f, writes_done, w, 5000);
    assert_int_equal(w[2].st.code, 0);
    assert_int_equal(pl_ttcp_server_words(f.srv[0], 1)[1], 12);
    assert_int_equal((w[0].st.code == PL_ESUPERSEDED) + (w[1].st.code == PL_ESUPERSEDED) >= 1, 1);

    /* stop: a queued write is answered, none is lost */
    memset(w, 0, sizeof(w));
    v.i = 7;
    assert_int_equal(pl_engine_write(f.e, "a.w2", &v, on_written, &w[0], &err), 0);
    pl_engine_stop(f.e, on_stopped);
    assert_int_equal(w[0].done, 1);
    assert_true(w[0].st.code == PL_ESTOPPED || w[0].st.code == PL_ECANCELED);
    assert_int_equal(pl_engine_write(f.e, "a.w2", &v, on_written, &w[1], &err), PL_ESTOPPED);
    run_until(&f, engine_stopped, NULL, 5000);
    pl_engine_free(f.e);
    f.e = NULL;
    teardown(&f);
}

static void test_config_errors(void **state)
{
    fx_t f;
    pl_engine_config_t ec;
    pl_engine_t *e = NULL;
    pl_status_t err;

    (void)state;
    setup(&f, 500);
    add_tag(&f, "x", "devA", "W1", "fast", 0);
    memset(&ec, 0, sizeof(ec));
    ec.lines = f.lines;
    ec.nlines = 2;
    ec.devices = f.devs;
    ec.ndevices = 2;
    ec.tags = f.tags;
    ec.ntags = 1;
    ec.scans = f.scans;
    ec.nscans = 2;
    snprintf(f.tags[0].device, sizeof(f.tags[0].device), "devZ");
    assert_int_equal(pl_engine_new(&f.loop, &ec, NULL, NULL, &e, &err), PL_ECONFIG);
    assert_non_null(strstr(err.detail, "devZ"));
    snprintf(f.tags[0].device, sizeof(f.tags[0].device), "devA");
    snprintf(f.tags[0].address, sizeof(f.tags[0].address), "Q1");
    assert_int_equal(pl_engine_new(&f.loop, &ec, NULL, NULL, &e, &err), PL_EADDR);
    assert_non_null(strstr(err.detail, "tag 'x'"));
    snprintf(f.tags[0].address, sizeof(f.tags[0].address), "W1,2");
    assert_int_equal(pl_engine_new(&f.loop, &ec, NULL, NULL, &e, &err), PL_EADDR);
    snprintf(f.tags[0].address, sizeof(f.tags[0].address), "W1");
    f.tags[1] = f.tags[0];
    ec.ntags = 2;
    assert_int_equal(pl_engine_new(&f.loop, &ec, NULL, NULL, &e, &err), PL_ECONFIG);
    assert_non_null(strstr(err.detail, "twice"));
    teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_planning),
        cmocka_unit_test(test_writes),
        cmocka_unit_test(test_dead_device_does_not_slow_the_other),
        cmocka_unit_test(test_device_comes_back),
        cmocka_unit_test(test_deadband_and_scaling),
        cmocka_unit_test(test_latest_policy_and_stop_answers_writes),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
