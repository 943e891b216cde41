/* SPDX-License-Identifier: MIT */
/*
 * The scan engine against 7TTCP node simulators (and a PCCC PLC simulator) in the same loop:
 * values and quality, planned blocks, writes answered exactly once, a dead device that does
 * not slow the other one, demotion and retry, deadband, a value going stale, stop, and
 * every way a write fails (not sent in time, queue full, failed at demotion and at stop,
 * refused by the driver or by the PLC). No sleeps: the loop runs until a condition holds,
 * with a guard timer; slow devices are simulators that hold their answers.
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
#include "plcline/pccc.h"
#include "plcline/ttcp.h"

#define MAX_TAGS 16

typedef struct {
    uv_loop_t loop;
    pl_ttcp_server_t *srv[2];
    pl_engine_t *e;
    pl_line_def_t lines[2];
    pl_device_def_t devs[2];
    pl_tag_def_t tags[MAX_TAGS];
    char text[MAX_TAGS][4][PL_ADDRESS_MAX]; /* the tags' texts: name, device, address, scan */
    pl_scan_def_t scans[2];
    size_t ntags;
    unsigned changes;
    unsigned value_moves; /* changes of a good value to another good value of the same tag */
    char last_tag[64];
    pl_tag_state_t last;
    int stopped;
    pl_pccc_server_t *psrv;  /* a PCCC simulator behind line B (pccc_line()) */
    unsigned uncertain_pubs; /* changes published as uncertain with a value (gone stale) */
    pl_tag_state_t last_uncertain;
    char bad[MAX_TAGS][16]; /* tags of devB published bad, in order */
    unsigned nbad;
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
    if (st->quality == PL_Q_UNCERTAIN && st->value.type != PL_VT_NONE) {
        f->uncertain_pubs++;
        f->last_uncertain = *st;
    }
    if (st->quality == PL_Q_GOOD && f->last.quality == PL_Q_GOOD &&
        strcmp(f->last_tag, st->tag) == 0 &&
        (st->value.type != f->last.value.type || st->value.f != f->last.value.f ||
         st->value.i != f->last.value.i))
        f->value_moves++;
    if (st->quality == PL_Q_BAD && strcmp(st->device, "devB") == 0 && f->nbad < MAX_TAGS)
        snprintf(f->bad[f->nbad++], sizeof(f->bad[0]), "%s", st->tag);
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
    char(*text)[PL_ADDRESS_MAX] = f->text[f->ntags];
    pl_tag_def_t *t = &f->tags[f->ntags++];

    memset(t, 0, sizeof(*t));
    snprintf(text[0], sizeof(text[0]), "%s", name);
    snprintf(text[1], sizeof(text[1]), "%s", dev);
    snprintf(text[2], sizeof(text[2]), "%s", addr);
    snprintf(text[3], sizeof(text[3]), "%s", scan);
    t->name = text[0];
    t->device = text[1];
    t->address = text[2];
    t->scan = text[3];
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
        snprintf(f->lines[i].protocol, sizeof(f->lines[i].protocol), "7ttcp");
        pl_line_config_init(&f->lines[i].line);
        assert_int_equal(pl_hostlist_parse(&f->lines[i].line.hosts, "127.0.0.1", 9, NULL), 0);
        f->lines[i].line.port = pl_ttcp_server_port(f->srv[i]);
        f->lines[i].line.backoff_min_ms = 10;
        f->lines[i].line.backoff_max_ms = 50;
        f->lines[i].timeout_ms = timeout_ms;
        snprintf(f->devs[i].name, sizeof(f->devs[i].name), "dev%c", 'A' + i);
        snprintf(f->devs[i].line, sizeof(f->devs[i].line), "line%c", 'A' + i);
        snprintf(f->devs[i].keys, sizeof(f->devs[i].keys), "node=%d", i + 1);
    }
    snprintf(f->scans[0].name, sizeof(f->scans[0].name), "fast");
    f->scans[0].period_ms = 20;
    snprintf(f->scans[1].name, sizeof(f->scans[1].name), "slow");
    f->scans[1].period_ms = 200;
}

/* Line i takes one request at a time (the line key inflight=1): a write waits behind the
 * read in flight, as with a node that serves one request at a time. */
static void serial_line(fx_t *f, int i)
{
    snprintf(f->lines[i].keys, sizeof(f->lines[i].keys), "inflight=1");
}

/* The engine configuration of the fixture's definitions; `lines` and `devs`, when not
 * NULL, stand in for the fixture's (copies in other buffers). */
static void fx_config(fx_t *f, const pl_line_def_t *lines, const pl_device_def_t *devs,
                      pl_engine_config_t *ec)
{
    memset(ec, 0, sizeof(*ec));
    ec->lines = lines != NULL ? lines : f->lines;
    ec->nlines = 2;
    ec->devices = devs != NULL ? devs : f->devs;
    ec->ndevices = 2;
    ec->tags = f->tags;
    ec->ntags = f->ntags;
    ec->scans = f->scans;
    ec->nscans = 2;
}

static void start(fx_t *f)
{
    pl_engine_config_t ec;
    pl_engine_cbs_t cbs = {.on_change = on_change};
    pl_status_t err;

    fx_config(f, NULL, NULL, &ec);
    pl_status_clear(&err);
    assert_int_equal(pl_engine_new(&f->loop, &ec, &cbs, f, &f->e, &err), 0);
    assert_int_equal(pl_engine_start(f->e), 0);
}

static void on_stopped(pl_engine_t *e, void *ud)
{
    (void)e;
    ((fx_t *)ud)->stopped = 1;
}

/* A reload, first half: a new engine of `ec` takes `adopted` devices over from the running
 * one. The test looks at it before reload_switch(). */
static pl_engine_t *reload_new(fx_t *f, const pl_engine_config_t *ec, const pl_engine_cbs_t *cbs,
                               size_t adopted)
{
    pl_engine_t *e2 = NULL;
    pl_status_t err;

    pl_status_clear(&err);
    assert_int_equal(pl_engine_new(&f->loop, ec, cbs, f, &e2, &err), 0);
    assert_int_equal(pl_engine_adopt(e2, f->e), adopted);
    return e2;
}

/* The second half, in the daemon's order: the old engine stops, the new one starts. */
static void reload_switch(fx_t *f, pl_engine_t *e2)
{
    pl_engine_stop(f->e, on_stopped);
    pl_engine_free(f->e);
    f->e = e2;
    assert_int_equal(pl_engine_start(e2), 0);
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
    if (f->psrv != NULL)
        pl_pccc_server_free(f->psrv);
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
    assert_true(st->error == PL_E_7TTCP_RECV_00 || st->error == PL_E_7TTCP_RECV_FF ||
                st->error == PL_E_7TTCP_CONNECT || st->error == PL_E_7TTCP_TIMEOUT);
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
    serial_line(&f, 0); /* the queued writes wait for the one in flight */
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

/* --- slow devices, queued writes and their failures -------------------------------- */

/* Replaces simulator i by one that holds every answer `delay_ms` (same node memory layout,
 * empty), and points line i at it. */
static void slow_sim(fx_t *f, int i, unsigned delay_ms)
{
    pl_ttcp_server_config_t sc;

    pl_ttcp_server_free(f->srv[i]);
    pl_ttcp_server_config_init(&sc);
    sc.listen.port = 0;
    sc.delay_ms = delay_ms;
    assert_int_equal(pl_ttcp_server_new(&f->loop, &sc, &f->srv[i], NULL), 0);
    f->lines[i].line.port = pl_ttcp_server_port(f->srv[i]);
}

/* A request of the device named by arg is on its way (sent, not answered, not timed out). */
static int read_in_flight(fx_t *f, void *arg)
{
    pl_engine_stats_t s;

    pl_engine_device_stats(f->e, arg, &s);
    return s.requests > s.responses + s.timeouts;
}

static int responses_past(fx_t *f, void *arg)
{
    const void *const *want = arg; /* {device, uint64 *} */
    pl_engine_stats_t s;

    pl_engine_device_stats(f->e, want[0], &s);
    return s.responses > *(const uint64_t *)want[1];
}

static int uncertain_published(fx_t *f, void *arg)
{
    (void)arg;
    return f->uncertain_pubs > 0;
}

/* A value whose reads stop arriving in time turns uncertain (not bad: the device did not
 * fail), keeps its value, and turns good again with the next read. The simulator answers
 * 150 ms late; the 20 ms scan's default staleness limit is 3 periods (60 ms). */
/* A 32-bit tag with swap=1 reads its high word first, one without it its low word first,
 * from the same two words (the key is read when the tag is parsed, not at every decode). */
static void test_swapped_tag_decodes_high_word_first(void **state)
{
    fx_t f;

    (void)state;
    setup(&f, 2000);
    pl_ttcp_server_words(f.srv[0], 1)[70] = 1;
    pl_ttcp_server_words(f.srv[0], 1)[71] = 2;
    add_tag(&f, "a.plain", "devA", "D70", "fast", 0);
    add_tag(&f, "a.swapped", "devA", "D70", "fast", 0);
    f.tags[1].keys = "swap=1";
    add_tag(&f, "a.plain2", "devA", "D70", "fast", 0);
    start(&f);
    wait_value(&f, "a.plain", 0x20001, 3000);
    wait_value(&f, "a.swapped", 0x10002, 3000);
    wait_value(&f, "a.plain2", 0x20001, 3000);
    teardown(&f);
}

static int all_sent_none_answered(fx_t *f, void *arg)
{
    pl_engine_stats_t s;

    (void)arg;
    pl_engine_device_stats(f->e, "devA", &s);
    return s.requests >= 3 && s.responses == 0;
}

/* A 7TTCP line (several in flight by default): the three blocks of a scan are sent at once,
 * before the (slow) node answered the first (test_client_core's test_cork_coalesces shows
 * they go out with one write); the values are those read one by one. */
static void test_ttcp_inflight_sends_a_scan_at_once(void **state)
{
    fx_t f;
    pl_engine_stats_t s;

    (void)state;
    setup(&f, 2000);
    slow_sim(&f, 0, 200);
    f.scans[0].period_ms = 1000;
    pl_ttcp_server_words(f.srv[0], 1)[1] = 11;
    pl_ttcp_server_words(f.srv[0], 1)[300] = 300;
    pl_ttcp_server_words(f.srv[0], 1)[600] = 600;
    add_tag(&f, "a.w600", "devA", "W600", "fast", 0);
    add_tag(&f, "a.w1", "devA", "W1", "fast", 0);
    add_tag(&f, "a.w300", "devA", "W300", "fast", 0);
    start(&f);
    run_until(&f, all_sent_none_answered, NULL, 3000);
    pl_engine_device_stats(f.e, "devA", &s);
    assert_int_equal(s.requests, 3);
    wait_value(&f, "a.w1", 11, 3000);
    wait_value(&f, "a.w300", 300, 3000);
    wait_value(&f, "a.w600", 600, 3000);
    pl_engine_device_stats(f.e, "devA", &s);
    assert_int_equal(s.errors, 0);
    teardown(&f);
}

/* A node that takes one request at a time (it closes the connection when a second arrives
 * before the first is answered): the device's first scan makes its client fall back, the
 * requests go out again one at a time, and no tag is ever published bad. */
static void test_ttcp_one_at_a_time_node_never_bad(void **state)
{
    pl_ttcp_server_config_t sc;
    pl_engine_stats_t s;
    fx_t f;
    int round;

    (void)state;
    setup(&f, 2000);
    pl_ttcp_server_free(f.srv[1]);
    pl_ttcp_server_config_init(&sc);
    sc.listen.port = 0;
    sc.max_inflight = 1;
    assert_int_equal(pl_ttcp_server_new(&f.loop, &sc, &f.srv[1], NULL), 0);
    f.lines[1].line.port = pl_ttcp_server_port(f.srv[1]);
    add_tag(&f, "b.w600", "devB", "W600", "fast", 0);
    add_tag(&f, "b.w1", "devB", "W1", "fast", 0);
    add_tag(&f, "b.w300", "devB", "W300", "fast", 0);
    start(&f);
    for (round = 0; round < 3; round++) {
        pl_ttcp_server_words(f.srv[1], 2)[1] = (uint16_t)(11 + round);
        pl_ttcp_server_words(f.srv[1], 2)[300] = (uint16_t)(300 + round);
        pl_ttcp_server_words(f.srv[1], 2)[600] = (uint16_t)(600 + round);
        wait_value(&f, "b.w1", 11 + round, 3000);
        wait_value(&f, "b.w300", 300 + round, 3000);
        wait_value(&f, "b.w600", 600 + round, 3000);
    }
    pl_engine_device_stats(f.e, "devB", &s);
    assert_int_equal(s.errors, 0);
    assert_int_equal(f.nbad, 0);
    assert_int_equal(pl_ttcp_server_stats(f.srv[1])->inflight_closed, 1);
    teardown(&f);
}

static int bad_count(fx_t *f, void *arg)
{
    return f->nbad >= *(unsigned *)arg;
}

/* A device taken off scan publishes its tags' bad quality in the order the tags were
 * defined, whatever the planned blocks' order (each block's tags are a slice of a list kept
 * in block order). Defined W900, W600, W1, W300: four blocks; the block whose read fails
 * goes first, the other three follow in the defined order, which is never the blocks'. */
static void test_demotion_publishes_in_defined_order(void **state)
{
    static const char *const defined[] = {"b.w900", "b.w600", "b.w1", "b.w300"};
    fx_t f;
    unsigned want = 4, i, k;

    (void)state;
    setup(&f, 100);
    f.devs[1].demote_after = 1;
    f.devs[1].demote_ms = 60000;
    add_tag(&f, "b.w900", "devB", "W900", "fast", 0);
    add_tag(&f, "b.w600", "devB", "W600", "fast", 0);
    add_tag(&f, "b.w1", "devB", "W1", "fast", 0);
    add_tag(&f, "b.w300", "devB", "W300", "fast", 0);
    start(&f);
    for (i = 0; i < 4; i++)
        wait_quality(&f, defined[i], "good", 3000);
    f.nbad = 0;
    pl_ttcp_server_free(f.srv[1]);
    f.srv[1] = NULL;
    run_until(&f, bad_count, &want, 3000);
    assert_int_equal(f.nbad, 4);
    /* after the first (the failed block's tag), the defined order without it */
    for (i = 0, k = 1; i < 4; i++) {
        if (strcmp(defined[i], f.bad[0]) == 0)
            continue;
        assert_string_equal(f.bad[k], defined[i]);
        k++;
    }
    assert_int_equal(k, 4);
    teardown(&f);
}

static void test_value_goes_stale(void **state)
{
    fx_t f;
    const pl_tag_state_t *st;

    (void)state;
    setup(&f, 2000);
    slow_sim(&f, 0, 150);
    pl_ttcp_server_words(f.srv[0], 1)[3] = 33;
    add_tag(&f, "a.w3", "devA", "W3", "fast", 0);
    start(&f);
    wait_value(&f, "a.w3", 33, 3000);
    run_until(&f, uncertain_published, NULL, 3000);
    assert_string_equal(f.last_uncertain.tag, "a.w3");
    assert_int_equal(f.last_uncertain.value.type, PL_VT_INT);
    assert_int_equal(f.last_uncertain.value.i, 33); /* the last value is kept */
    assert_int_equal(f.last_uncertain.error, 0);
    st = pl_engine_tag(f.e, "a.w3");
    assert_true(st->quality == PL_Q_UNCERTAIN || st->quality == PL_Q_GOOD);
    /* the next read makes it good again */
    wait_quality(&f, "a.w3", "good", 3000);
    assert_int_equal(pl_engine_tag(f.e, "a.w3")->value.i, 33);
    {
        pl_engine_stats_t s;

        pl_engine_device_stats(f.e, "devA", &s);
        assert_int_equal(s.errors, 0);
    }
    teardown(&f);
}

/* A write that waits behind a slow read for longer than the device's write_timeout_ms is
 * failed with PL_ETIMEOUT when its turn comes, never sent. */
static void test_write_not_sent_in_time(void **state)
{
    fx_t f;
    wres_t w;
    pl_value_t v;
    pl_status_t err;
    pl_engine_stats_t s;

    (void)state;
    setup(&f, 2000);
    slow_sim(&f, 1, 300);
    serial_line(&f, 1);
    f.devs[1].write_timeout_ms = 30;
    add_tag(&f, "b.w5", "devB", "W5", "fast", 1);
    start(&f);
    wait_quality(&f, "b.w5", "good", 3000);
    run_until(&f, read_in_flight, "devB", 3000);
    memset(&v, 0, sizeof(v));
    v.type = PL_VT_INT;
    v.i = 555;
    memset(&w, 0, sizeof(w));
    assert_int_equal(pl_engine_write(f.e, "b.w5", &v, on_written, &w, &err), 0);
    assert_int_equal(w.done, 0); /* queued behind the read */
    run_until(&f, write_done, &w, 3000);
    assert_int_equal(w.done, 1);
    assert_int_equal(w.st.code, PL_ETIMEOUT);
    assert_non_null(strstr(w.st.detail, "not sent within 30 ms"));
    assert_int_equal(pl_ttcp_server_words(f.srv[1], 2)[5], 0);
    pl_engine_device_stats(f.e, "devB", &s);
    assert_int_equal(s.writes, 1);
    assert_int_equal(s.writes_failed, 1);
    assert_int_equal(s.errors, 0); /* the device did not fail */
    teardown(&f);
}

static int two_writes_done(fx_t *f, void *arg)
{
    const wres_t *w = arg;

    (void)f;
    return w[0].done + w[1].done >= 2;
}

/* With write_queue 2, a third write while two wait is refused at once with PL_ENO_MSG (no
 * callback); the two queued ones are sent and succeed. */
static void test_write_queue_full(void **state)
{
    fx_t f;
    wres_t w[3];
    pl_value_t v;
    pl_status_t err;
    pl_engine_stats_t s;
    int i;

    (void)state;
    setup(&f, 2000);
    slow_sim(&f, 1, 100);
    serial_line(&f, 1);
    f.devs[1].write_queue = 2;
    add_tag(&f, "b.w5", "devB", "W5", "fast", 1);
    add_tag(&f, "b.w6", "devB", "W6", "fast", 1);
    start(&f);
    wait_quality(&f, "b.w5", "good", 3000);
    run_until(&f, read_in_flight, "devB", 3000);
    memset(w, 0, sizeof(w));
    memset(&v, 0, sizeof(v));
    v.type = PL_VT_INT;
    for (i = 0; i < 2; i++) {
        v.i = 70 + i;
        assert_int_equal(
            pl_engine_write(f.e, i == 0 ? "b.w5" : "b.w6", &v, on_written, &w[i], &err), 0);
    }
    v.i = 99;
    pl_status_clear(&err);
    assert_int_equal(pl_engine_write(f.e, "b.w5", &v, on_written, &w[2], &err), PL_ENO_MSG);
    assert_int_equal(err.code, PL_ENO_MSG);
    assert_non_null(strstr(err.detail, "2 writes already wait for device devB"));
    run_until(&f, two_writes_done, w, 5000);
    for (i = 0; i < 2; i++) {
        assert_int_equal(w[i].done, 1);
        assert_int_equal(w[i].st.code, 0);
    }
    assert_int_equal(w[2].done, 0); /* the refused one never calls back */
    assert_int_equal(pl_ttcp_server_words(f.srv[1], 2)[5], 70);
    assert_int_equal(pl_ttcp_server_words(f.srv[1], 2)[6], 71);
    pl_engine_device_stats(f.e, "devB", &s);
    assert_int_equal(s.writes, 2);
    assert_int_equal(s.writes_failed, 0);
    teardown(&f);
}

/* A device demoted while writes wait: every waiting write is answered PL_EOFFSCAN. The
 * simulator answers 300 ms late, the request timeout is 100 ms, one failure demotes. */
static void test_queued_writes_fail_at_demotion(void **state)
{
    fx_t f;
    wres_t w[2];
    pl_value_t v;
    pl_status_t err;
    pl_engine_stats_t s;
    int i;

    (void)state;
    setup(&f, 100);
    slow_sim(&f, 1, 300);
    serial_line(&f, 1);
    f.devs[1].demote_after = 1;
    f.devs[1].demote_ms = 60000;
    add_tag(&f, "b.w5", "devB", "W5", "fast", 1);
    start(&f);
    run_until(&f, read_in_flight, "devB", 3000);
    memset(w, 0, sizeof(w));
    memset(&v, 0, sizeof(v));
    v.type = PL_VT_INT;
    for (i = 0; i < 2; i++) {
        v.i = 10 + i;
        assert_int_equal(pl_engine_write(f.e, "b.w5", &v, on_written, &w[i], &err), 0);
    }
    run_until(&f, two_writes_done, w, 3000);
    for (i = 0; i < 2; i++) {
        assert_int_equal(w[i].done, 1);
        assert_int_equal(w[i].st.code, PL_EOFFSCAN);
        assert_non_null(strstr(w[i].st.detail, "device devB is off scan"));
    }
    pl_engine_device_stats(f.e, "devB", &s);
    assert_true(s.demoted);
    assert_int_equal(s.writes_failed, 2);
    assert_int_equal(pl_engine_tag(f.e, "b.w5")->quality, PL_Q_BAD);
    assert_int_equal(pl_ttcp_server_words(f.srv[1], 2)[5], 0);
    teardown(&f);
}

/* Stop with a write in flight and one queued: the queued one is answered PL_ESTOPPED, the
 * one in flight PL_ECANCELED (by the driver), both before pl_engine_stop() returns. */
static void test_stop_fails_queued_and_inflight_writes(void **state)
{
    fx_t f;
    wres_t w[2];
    pl_value_t v;
    pl_status_t err;
    pl_engine_stats_t s;
    uint64_t responses;
    const void *want[2];

    (void)state;
    setup(&f, 2000);
    slow_sim(&f, 1, 100);
    serial_line(&f, 1);
    add_tag(&f, "b.w5", "devB", "W5", "fast", 1);
    start(&f);
    wait_quality(&f, "b.w5", "good", 3000);
    run_until(&f, read_in_flight, "devB", 3000);
    pl_engine_device_stats(f.e, "devB", &s);
    responses = s.responses;
    memset(w, 0, sizeof(w));
    memset(&v, 0, sizeof(v));
    v.type = PL_VT_INT;
    v.i = 1;
    assert_int_equal(pl_engine_write(f.e, "b.w5", &v, on_written, &w[0], &err), 0);
    /* the read completes and the write goes out at once, ahead of the next poll */
    want[0] = "devB";
    want[1] = &responses;
    run_until(&f, responses_past, (void *)want, 3000);
    assert_int_equal(w[0].done, 0);
    v.i = 2;
    assert_int_equal(pl_engine_write(f.e, "b.w5", &v, on_written, &w[1], &err), 0);
    pl_engine_stop(f.e, on_stopped);
    assert_int_equal(w[0].done, 1);
    assert_int_equal(w[0].st.code, PL_ECANCELED);
    assert_int_equal(w[1].done, 1);
    assert_int_equal(w[1].st.code, PL_ESTOPPED);
    assert_non_null(strstr(w[1].st.detail, "stopped before the write was sent"));
    run_until(&f, engine_stopped, NULL, 5000);
    pl_engine_free(f.e);
    f.e = NULL;
    teardown(&f);
}

/* Line B becomes a PCCC line to a PLC simulator of type `plc` (default data table). */
static void pccc_line(fx_t *f, pl_pccc_plc_t plc)
{
    pl_pccc_server_config_t sc;
    pl_status_t st;

    pl_ttcp_server_free(f->srv[1]);
    f->srv[1] = NULL;
    pl_pccc_server_config_init(&sc);
    sc.listen.port = 0;
    sc.plc = plc;
    assert_int_equal(pl_pccc_server_new(&f->loop, &sc, &f->psrv, &st), 0);
    snprintf(f->lines[1].protocol, sizeof(f->lines[1].protocol), "pccc");
    f->lines[1].line.port = pl_pccc_server_port(f->psrv);
    snprintf(f->lines[1].keys, sizeof(f->lines[1].keys), "plc=%s", pl_pccc_plc_name(plc));
    f->devs[1].keys[0] = '\0'; /* the 7TTCP node of setup() */
}

static int has_error_code(const pl_engine_stats_t *s, int code)
{
    size_t i;

    for (i = 0; i < sizeof(s->errors_by_code) / sizeof(s->errors_by_code[0]); i++)
        if (s->errors_by_code[i].code == code && s->errors_by_code[i].count > 0)
            return 1;
    return 0;
}

/* PCCC: the PLC refuses a write (an element past the end of N7, which holds 100), or the
 * read that comes before a whole timer's write: the write is answered PL_EPCCC_STS with the
 * PLC's status, counted, and the device stays on scan. */
static void test_pccc_write_refused_by_plc(void **state)
{
    fx_t f;
    wres_t w;
    pl_value_t v;
    pl_status_t err;
    pl_engine_stats_t s;
    size_t len;
    uint8_t *n7;
    uint64_t reqs;

    (void)state;
    setup(&f, 2000);
    pccc_line(&f, PL_PCCC_PLC_SLC500);
    f.devs[1].demote_after = 1000; /* the failing reads of N7:150 must not demote */
    n7 = pl_pccc_server_file(f.psrv, "N7", &len);
    assert_int_equal(len, 200);
    n7[0] = 5;
    add_tag(&f, "p.n0", "devB", "N7:0", "fast", 1);
    add_tag(&f, "p.n150", "devB", "N7:150", "slow", 1);
    add_tag(&f, "p.t50", "devB", "T4:50", "slow", 1); /* T4 holds 10 timers */
    /* one poll of each class, then quiet: the PLC's request count is the writes' */
    f.scans[0].period_ms = 60000;
    f.scans[1].period_ms = 60000;
    start(&f);
    wait_value(&f, "p.n0", 5, 3000);
    wait_quality(&f, "p.n150", "bad", 3000);
    wait_quality(&f, "p.t50", "bad", 3000);
    reqs = pl_pccc_server_stats(f.psrv)->requests;
    memset(&v, 0, sizeof(v));
    v.type = PL_VT_INT;
    v.i = 150;
    memset(&w, 0, sizeof(w));
    assert_int_equal(pl_engine_write(f.e, "p.n150", &v, on_written, &w, &err), 0);
    run_until(&f, write_done, &w, 3000);
    assert_int_equal(w.done, 1);
    assert_int_equal(w.st.code, PL_EPCCC_STS);
    assert_non_null(strstr(w.st.detail, "STS 0x"));
    assert_int_equal(pl_pccc_server_stats(f.psrv)->requests, reqs + 1);
    pl_engine_device_stats(f.e, "devB", &s);
    assert_int_equal(s.writes_failed, 1);
    assert_true(has_error_code(&s, PL_EPCCC_STS));
    assert_false(s.demoted);
    /* a whole timer is read before it is written: the refused read fails the write */
    v.type = PL_VT_STRING;
    snprintf(v.s, sizeof(v.s), "PRE=5");
    memset(&w, 0, sizeof(w));
    assert_int_equal(pl_engine_write(f.e, "p.t50", &v, on_written, &w, &err), 0);
    run_until(&f, write_done, &w, 3000);
    assert_int_equal(w.done, 1);
    assert_int_equal(w.st.code, PL_EPCCC_STS);
    assert_int_equal(pl_pccc_server_stats(f.psrv)->requests, reqs + 2); /* no write after it */
    pl_engine_device_stats(f.e, "devB", &s);
    assert_int_equal(s.writes_failed, 2);
    /* a good write on the same device still goes through */
    v.type = PL_VT_INT;
    v.i = 77;
    memset(&w, 0, sizeof(w));
    assert_int_equal(pl_engine_write(f.e, "p.n0", &v, on_written, &w, &err), 0);
    run_until(&f, write_done, &w, 3000);
    assert_int_equal(w.st.code, 0);
    assert_int_equal(n7[0], 77);
    teardown(&f);
}

/* The driver refuses a write when it comes to be sent (PCCC: a bit write to a PLC-5, which
 * has no masked write here): answered once with the driver's PL_ENOTSUP, counted; the
 * device is not failed for it. */
static void test_write_refused_by_driver(void **state)
{
    fx_t f;
    wres_t w;
    pl_value_t v;
    pl_status_t err;
    pl_engine_stats_t s;
    size_t len;
    uint8_t *b3;

    (void)state;
    setup(&f, 2000);
    pccc_line(&f, PL_PCCC_PLC_PLC5);
    b3 = pl_pccc_server_file(f.psrv, "B3", &len);
    b3[0] = 0x20;
    add_tag(&f, "p.b5", "devB", "B3:0/5", "fast", 1);
    start(&f);
    wait_quality(&f, "p.b5", "good", 3000);
    assert_int_equal(pl_engine_tag(f.e, "p.b5")->value.i, 1);
    memset(&v, 0, sizeof(v));
    v.type = PL_VT_BOOL;
    v.i = 0;
    memset(&w, 0, sizeof(w));
    assert_int_equal(pl_engine_write(f.e, "p.b5", &v, on_written, &w, &err), 0);
    run_until(&f, write_done, &w, 3000);
    assert_int_equal(w.done, 1);
    assert_int_equal(w.st.code, PL_ENOTSUP);
    assert_non_null(strstr(w.st.detail, "PLC-5"));
    assert_int_equal(b3[0], 0x20);
    pl_engine_device_stats(f.e, "devB", &s);
    assert_int_equal(s.writes_failed, 1);
    assert_int_equal(s.errors, 0);
    assert_false(s.demoted);
    teardown(&f);
}

static int devb_downs; /* link-down reports for devB to the reloaded engine */

/* Fills what follows a text's NUL, as a reused buffer holds an older, longer text. */
static void scribble_tail(char *s, size_t cap)
{
    size_t n = strlen(s);

    memset(s + n + 1, 'x', cap - n - 1);
}

static void on_device_b(pl_engine_t *e, const char *device, const pl_status_t *st, void *ud)
{
    (void)e;
    (void)ud;
    if (st != NULL && strcmp(device, "devB") == 0)
        devb_downs++;
}

/* A reload (pl_engine_adopt) with a PCCC device unchanged: the new engine takes the
 * connection over (the PLC sees one connection and one session), reads and writes through
 * it, and the connection's link reports reach the new engine's device once the old engine
 * is gone.
 *
 * Regression test: the PCCC driver had no rebind operation, so handing a PCCC connection
 * over called a NULL function (the daemon crashed on SIGHUP with any PCCC device).
 *
 * The new engine's definitions are equal texts in buffers that held longer ones: bytes
 * after a NUL made an unchanged device look changed, and a reload reconnected it. */
static void test_reload_keeps_pccc_connection(void **state)
{
    fx_t f;
    pl_line_def_t lines[2];
    pl_device_def_t devs[2];
    size_t last;
    pl_engine_config_t ec;
    pl_engine_cbs_t cbs = {.on_change = on_change, .on_device = on_device_b};
    pl_engine_t *e2 = NULL;
    pl_status_t err;
    wres_t w;
    pl_value_t v;
    size_t len;
    uint8_t *n7;

    (void)state;
    setup(&f, 2000);
    pccc_line(&f, PL_PCCC_PLC_SLC500);
    n7 = pl_pccc_server_file(f.psrv, "N7", &len);
    n7[2] = 12;
    add_tag(&f, "a.w1", "devA", "W1", "fast", 0);
    add_tag(&f, "p.n1", "devB", "N7:1", "fast", 1);
    start(&f);
    wait_value(&f, "p.n1", 12, 3000);

    memcpy(lines, f.lines, sizeof(lines));
    memcpy(devs, f.devs, sizeof(devs));
    for (size_t i = 0; i < 2; i++) {
        scribble_tail(lines[i].name, sizeof(lines[i].name));
        scribble_tail(lines[i].protocol, sizeof(lines[i].protocol));
        scribble_tail(lines[i].keys, sizeof(lines[i].keys));
        scribble_tail(lines[i].local_addr, sizeof(lines[i].local_addr));
        scribble_tail(devs[i].name, sizeof(devs[i].name));
        scribble_tail(devs[i].line, sizeof(devs[i].line));
        scribble_tail(devs[i].keys, sizeof(devs[i].keys));
        last = lines[i].line.hosts.host[lines[i].line.hosts.count - 1].name;
        scribble_tail(lines[i].line.hosts.text + last, sizeof(lines[i].line.hosts.text) - last);
    }
    fx_config(&f, lines, devs, &ec);
    e2 = reload_new(&f, &ec, &cbs, 2);
    reload_switch(&f, e2);
    n7[2] = 13;
    wait_value(&f, "p.n1", 13, 3000);
    memset(&v, 0, sizeof(v));
    v.type = PL_VT_INT;
    v.i = 99;
    memset(&w, 0, sizeof(w));
    assert_int_equal(pl_engine_write(e2, "p.n1", &v, on_written, &w, &err), 0);
    run_until(&f, write_done, &w, 3000);
    assert_int_equal(w.st.code, 0);
    assert_int_equal(n7[2], 99);
    assert_int_equal(pl_pccc_server_stats(f.psrv)->connections, 1);
    assert_int_equal(pl_pccc_server_stats(f.psrv)->sessions, 1);

    devb_downs = 0;
    pl_pccc_server_free(f.psrv); /* the PLC goes away: the new engine hears of it */
    f.psrv = NULL;
    wait_quality(&f, "p.n1", "bad", 3000);
    assert_true(devb_downs >= 1);
    teardown(&f);
}

/* A reload while the device's read is in flight: the new engine's first cycle comes before
 * the connection is handed over, and runs once it is. The scan class's period is an hour,
 * so the tag turns good only through that cycle: before, the device skipped it and its
 * tags had no value until the next period. */
static void test_reload_runs_the_cycle_missed_in_handover(void **state)
{
    fx_t f;
    pl_engine_config_t ec;
    pl_engine_cbs_t cbs = {.on_change = on_change};
    pl_engine_t *e2;
    pl_engine_stats_t s;

    (void)state;
    setup(&f, 2000);
    slow_sim(&f, 0, 150);
    f.scans[1].period_ms = 3600u * 1000u;
    add_tag(&f, "a.w1", "devA", "W1", "slow", 0);
    start(&f);
    run_until(&f, read_in_flight, "devA", 3000);

    fx_config(&f, NULL, NULL, &ec);
    e2 = reload_new(&f, &ec, &cbs, 2);
    reload_switch(&f, e2);
    wait_quality(&f, "a.w1", "good", 3000);
    pl_engine_device_stats(e2, "devA", &s);
    assert_int_equal(s.requests, 2); /* the connection's: the old engine's read, the missed
                                        cycle once */
    assert_int_equal(s.overruns, 0);
    teardown(&f);
}

static int tag_published(fx_t *f, void *arg)
{
    long i = pl_engine_tag_index(f->e, arg);

    return i >= 0 && pl_engine_tag_seq(f->e, (size_t)i) > 0;
}

/* A reload hands the kept tags' states to the new engine: before the new engine has read
 * anything, a.w1 has its value, quality and time; a tag whose address changed (a.w2), one
 * whose scale changed (a.sc) and the tags of a device that reconnects (b.w1: its line
 * changed) start without a value. The
 * new engine still publishes a.w1 at its first read, as after any start. */
static void test_reload_keeps_tag_states(void **state)
{
    fx_t f;
    pl_engine_config_t ec;
    pl_engine_cbs_t cbs = {.on_change = on_change};
    pl_engine_t *e2 = NULL;
    pl_tag_state_t was;
    const pl_tag_state_t *st;
    pl_status_t err;
    pl_value_t v;
    wres_t w;

    (void)state;
    setup(&f, 2000);
    add_tag(&f, "a.w1", "devA", "W1", "fast", 1);
    add_tag(&f, "a.w2", "devA", "W2", "fast", 0);
    add_tag(&f, "b.w1", "devB", "W1", "fast", 0);
    add_tag(&f, "a.sc", "devA", "W1", "fast", 0);
    f.tags[3].scaled = 1;
    f.tags[3].gain = 2.0;
    start(&f);
    memset(&v, 0, sizeof(v));
    v.type = PL_VT_INT;
    v.i = 4321;
    memset(&w, 0, sizeof(w));
    assert_int_equal(pl_engine_write(f.e, "a.w1", &v, on_written, &w, &err), 0);
    run_until(&f, write_done, &w, 3000);
    assert_int_equal(w.st.code, 0);
    wait_value(&f, "a.w1", 4321, 3000);
    wait_quality(&f, "a.w2", "good", 3000);
    wait_quality(&f, "b.w1", "good", 3000);
    was = *pl_engine_tag(f.e, "a.w1");

    assert_true(pl_engine_tag(f.e, "a.sc")->value.f == 8642.0);
    snprintf(f.text[1][2], sizeof(f.text[1][2]), "W3"); /* a.w2 reads another word */
    f.tags[3].gain = 3.0;                               /* a.sc: another scale */
    f.lines[1].timeout_ms += 1;                         /* line B changed: devB reconnects */
    fx_config(&f, NULL, NULL, &ec);
    e2 = reload_new(&f, &ec, &cbs, 1);
    st = pl_engine_tag(e2, "a.w1");
    assert_int_equal(st->quality, PL_Q_GOOD);
    assert_int_equal(st->value.type, PL_VT_INT);
    assert_int_equal(st->value.i, 4321);
    assert_true(st->ts_ms == was.ts_ms);
    assert_int_equal(pl_engine_tag(e2, "a.w2")->value.type, PL_VT_NONE);
    assert_int_equal(pl_engine_tag(e2, "b.w1")->value.type, PL_VT_NONE);
    assert_int_equal(pl_engine_tag(e2, "a.sc")->value.type, PL_VT_NONE);

    reload_switch(&f, e2);
    run_until(&f, tag_published, "a.w1", 3000);
    st = pl_engine_tag(e2, "a.w1");
    assert_int_equal(st->quality, PL_Q_GOOD);
    assert_int_equal(st->value.i, 4321);
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
    fx_config(&f, NULL, NULL, &ec);
    f.tags[0].device = "devZ";
    assert_int_equal(pl_engine_new(&f.loop, &ec, NULL, NULL, &e, &err), PL_ECONFIG);
    assert_non_null(strstr(err.detail, "devZ"));
    f.tags[0].device = "devA";
    f.tags[0].address = "Q1";
    assert_int_equal(pl_engine_new(&f.loop, &ec, NULL, NULL, &e, &err), PL_EADDR);
    assert_non_null(strstr(err.detail, "tag 'x'"));
    f.tags[0].address = "W1,2";
    assert_int_equal(pl_engine_new(&f.loop, &ec, NULL, NULL, &e, &err), PL_EADDR);
    f.tags[0].address = "W1";
    /* the texts are pointers (engine.h): each must be given and within its limit */
    f.tags[0].scan = NULL;
    assert_int_equal(pl_engine_new(&f.loop, &ec, NULL, NULL, &e, &err), PL_ECONFIG);
    assert_non_null(strstr(err.detail, "tag 'x': device 'devA' is polled, expected a scan class"));
    f.tags[0].scan = "fast";
    f.tags[0].name = NULL;
    assert_int_equal(pl_engine_new(&f.loop, &ec, NULL, NULL, &e, &err), PL_ECONFIG);
    assert_non_null(strstr(err.detail, "tag 1: no name"));
    f.tags[0].name = "x";
    {
        char text[PL_ADDRESS_MAX + 1];

        memset(text, '1', sizeof(text));
        text[0] = 'W';
        text[PL_ADDRESS_MAX] = '\0';
        f.tags[0].address = text;
        assert_int_equal(pl_engine_new(&f.loop, &ec, NULL, NULL, &e, &err), PL_ECONFIG);
        assert_non_null(strstr(err.detail, "address longer than 63 bytes"));
        text[PL_NAME_MAX - 1] = '\0'; /* 63 bytes: the longest allowed, a bad address */
        assert_int_equal(pl_engine_new(&f.loop, &ec, NULL, NULL, &e, &err), PL_EADDR);
        memset(text, 'n', sizeof(text));
        text[PL_NAME_MAX] = '\0';
        f.tags[0].address = "W1";
        f.tags[0].device = text;
        assert_int_equal(pl_engine_new(&f.loop, &ec, NULL, NULL, &e, &err), PL_ECONFIG);
        assert_non_null(strstr(err.detail, "device longer than 63 bytes"));
        f.tags[0].device = "devA";
        text[PL_TAG_KEYS_MAX] = '\0';
        f.tags[0].keys = text;
        assert_int_equal(pl_engine_new(&f.loop, &ec, NULL, NULL, &e, &err), PL_ECONFIG);
        assert_non_null(strstr(err.detail, "keys longer than 31 bytes"));
        f.tags[0].keys = NULL; /* none, as "" */
    }
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
        cmocka_unit_test(test_value_goes_stale),
        cmocka_unit_test(test_write_not_sent_in_time),
        cmocka_unit_test(test_write_queue_full),
        cmocka_unit_test(test_queued_writes_fail_at_demotion),
        cmocka_unit_test(test_demotion_publishes_in_defined_order),
        cmocka_unit_test(test_swapped_tag_decodes_high_word_first),
        cmocka_unit_test(test_ttcp_inflight_sends_a_scan_at_once),
        cmocka_unit_test(test_ttcp_one_at_a_time_node_never_bad),
        cmocka_unit_test(test_stop_fails_queued_and_inflight_writes),
        cmocka_unit_test(test_pccc_write_refused_by_plc),
        cmocka_unit_test(test_write_refused_by_driver),
        cmocka_unit_test(test_reload_keeps_pccc_connection),
        cmocka_unit_test(test_reload_runs_the_cycle_missed_in_handover),
        cmocka_unit_test(test_reload_keeps_tag_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
