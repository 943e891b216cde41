/* SPDX-License-Identifier: MIT */
/*
 * Units behind a gateway, through the scan engine: three Modbus devices on one line (units
 * 1, 2, 3) against plcline's Modbus simulator serving the three units and ignoring unit 2,
 * as a gateway whose serial device is dead. The simulator sees one connection; devices 1
 * and 3 keep being read, cycle after cycle, without a failed request, with inflight 4 and
 * with inflight 1; device 2's tag turns bad with a timeout and the device is taken off
 * scan; a write reaches its own unit only; a link down reaches every device; the line's
 * byte counters count once; a reload that drops device 2 and adds unit 4 keeps the one
 * connection for the others; a second engine on the same line joins it, and the last
 * device closes it; two lines are two connections, and a changed line a new one. The
 * driver on its own: a device's share of the wire, and a device freed with requests out.
 * No timing assertion: scans and updates are counted, every wait has a deadline, the loop
 * runs until a condition holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "plcline/engine.h"
#include "plcline/error.h"
#include "plcline/modbus.h"
#include "proto/driver.h"
#include "proto/registry.h"

#define NDEV    4 /* units 1, 2, 3, and 4 for the reload */
#define WAIT_MS 10000u
#define DEAD    2
#define CYCLES  20 /* scans the live devices must complete while the dead unit is asked */
#define TIMEOUT 200u

typedef struct {
    uv_loop_t loop;
    pl_modbus_server_t *srv;
    pl_engine_t *e;
    pl_line_def_t line;
    pl_device_def_t devs[NDEV];
    pl_tag_def_t tags[NDEV];
    char tag_name[NDEV][16], tag_dev[NDEV][16];
    pl_scan_def_t scan;
    unsigned downs[NDEV]; /* link-down reports per device */
    int stopped;
} fx_t;

static void on_device(pl_engine_t *e, const char *device, const pl_status_t *st, void *ud)
{
    fx_t *f = ud;
    int i;

    (void)e;
    if (st == NULL)
        return;
    for (i = 0; i < NDEV; i++)
        if (strcmp(device, f->devs[i].name) == 0)
            f->downs[i]++;
}

static void on_guard(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

static void run_until(fx_t *f, int (*pred)(fx_t *f, const void *arg), const void *arg)
{
    uv_timer_t guard;
    int expired = 0;

    uv_timer_init(&f->loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, WAIT_MS, 0);
    while (!pred(f, arg) && !expired)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_false(expired);
}

static void set_reg(fx_t *f, uint8_t unit, uint16_t v)
{
    assert_int_equal(pl_modbus_server_set(f->srv, unit, PL_MODBUS_TABLE_HOLDING, 0, &v, 1), 0);
}

static uint16_t get_reg(fx_t *f, uint8_t unit)
{
    uint16_t v = 0;

    assert_int_equal(pl_modbus_server_get(f->srv, unit, PL_MODBUS_TABLE_HOLDING, 0, &v, 1), 0);
    return v;
}

/* The simulator serves units 1..4 and ignores unit 2; one line to it, device i asks unit
 * i + 1, each with one tag: hr0. */
static void setup(fx_t *f, unsigned inflight)
{
    static const uint8_t units[NDEV] = {1, 2, 3, 4}, dead[1] = {DEAD};
    pl_modbus_server_config_t sc;
    pl_status_t err;
    int i;

    memset(f, 0, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    pl_modbus_server_config_init(&sc);
    sc.listen.port = 0;
    sc.units = units;
    sc.n_units = NDEV;
    sc.ignore_units = dead;
    sc.n_ignore = 1;
    sc.at_once = inflight > 1 ? 0 : 1;
    pl_status_clear(&err);
    assert_int_equal(pl_modbus_server_new(&f->loop, &sc, &f->srv, &err), 0);
    for (i = 0; i < NDEV; i++)
        set_reg(f, units[i], (uint16_t)(10 * units[i]));

    snprintf(f->line.name, sizeof(f->line.name), "gw");
    snprintf(f->line.protocol, sizeof(f->line.protocol), "modbus");
    pl_line_config_init(&f->line.line);
    assert_int_equal(pl_hostlist_parse(&f->line.line.hosts, "127.0.0.1", 9, NULL), 0);
    f->line.line.port = pl_modbus_server_port(f->srv);
    f->line.line.backoff_min_ms = 10;
    f->line.line.backoff_max_ms = 50;
    f->line.timeout_ms = TIMEOUT;
    snprintf(f->line.keys, sizeof(f->line.keys), "inflight=%u", inflight);
    for (i = 0; i < NDEV; i++) {
        snprintf(f->devs[i].name, sizeof(f->devs[i].name), "u%u", units[i]);
        snprintf(f->devs[i].line, sizeof(f->devs[i].line), "gw");
        snprintf(f->devs[i].keys, sizeof(f->devs[i].keys), "unit=%u", units[i]);
        f->devs[i].demote_after = 2;
        f->devs[i].demote_ms = 600000; /* stays off scan for the test */
        snprintf(f->tag_name[i], sizeof(f->tag_name[i]), "u%u.v", units[i]);
        snprintf(f->tag_dev[i], sizeof(f->tag_dev[i]), "u%u", units[i]);
        f->tags[i].name = f->tag_name[i];
        f->tags[i].device = f->tag_dev[i];
        f->tags[i].address = "hr0";
        f->tags[i].scan = "fast";
        f->tags[i].writable = 1;
    }
    snprintf(f->scan.name, sizeof(f->scan.name), "fast");
    f->scan.period_ms = 20;
}

/* An engine on devices [first, first + n) of the fixture. */
static pl_engine_t *engine_new(fx_t *f, size_t first, size_t n)
{
    pl_engine_config_t ec;
    pl_engine_cbs_t cbs = {.on_device = on_device};
    pl_engine_t *e = NULL;
    pl_status_t err;

    memset(&ec, 0, sizeof(ec));
    ec.lines = &f->line;
    ec.nlines = 1;
    ec.devices = &f->devs[first];
    ec.ndevices = n;
    ec.tags = &f->tags[first];
    ec.ntags = n;
    ec.scans = &f->scan;
    ec.nscans = 1;
    pl_status_clear(&err);
    assert_int_equal(pl_engine_new(&f->loop, &ec, &cbs, f, &e, &err), 0);
    return e;
}

static void on_stopped(pl_engine_t *e, void *ud)
{
    (void)e;
    ((fx_t *)ud)->stopped = 1;
}

static void teardown(fx_t *f)
{
    if (f->e != NULL) {
        pl_engine_stop(f->e, on_stopped);
        pl_engine_free(f->e);
    }
    if (f->srv != NULL)
        pl_modbus_server_free(f->srv);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* --- conditions ------------------------------------------------------------------- */

typedef struct {
    const char *tag;
    int64_t v;
} want_t;

static int value_is(fx_t *f, const void *arg)
{
    const want_t *w = arg;
    const pl_tag_state_t *st = pl_engine_tag(f->e, w->tag);

    return st != NULL && st->quality == PL_Q_GOOD && st->value.i == w->v;
}

static void wait_value(fx_t *f, const char *tag, int64_t v)
{
    want_t w = {tag, v};

    run_until(f, value_is, &w);
}

static int is_bad(fx_t *f, const void *arg)
{
    const pl_tag_state_t *st = pl_engine_tag(f->e, arg);

    return st != NULL && st->quality == PL_Q_BAD;
}

static int demoted(fx_t *f, const void *arg)
{
    pl_engine_stats_t s;

    return pl_engine_device_stats(f->e, arg, &s) == 0 && s.demoted;
}

typedef struct {
    const char *dev[2];
    uint64_t cycles[2];
} cycles_t;

static int cycles_reached(fx_t *f, const void *arg)
{
    const cycles_t *c = arg;
    pl_engine_stats_t s;
    int i;

    for (i = 0; i < 2; i++)
        if (pl_engine_device_stats(f->e, c->dev[i], &s) < 0 || s.cycles < c->cycles[i])
            return 0;
    return 1;
}

static int downs_seen(fx_t *f, const void *arg)
{
    const int *which = arg;

    return f->downs[which[0]] > 0 && f->downs[which[1]] > 0 && f->downs[which[2]] > 0;
}

typedef struct {
    int done;
    pl_status_t st;
} wres_t;

static void on_written(pl_engine_t *e, const pl_status_t *st, void *ud)
{
    wres_t *w = ud;

    (void)e;
    w->done++;
    w->st = *st;
}

static int write_done(fx_t *f, const void *arg)
{
    (void)f;
    return ((const wres_t *)arg)->done > 0;
}

/* --- the scenario --------------------------------------------------------------------- */

/* Units 1 and 3 go on, unit 2 is demoted; one connection; `n_live_cycles` more cycles of
 * both live devices without an error. */
static void dead_unit_scenario(fx_t *f)
{
    pl_engine_stats_t s1, s3, s2, ls;
    const pl_tag_state_t *st;
    cycles_t c = {{"u1", "u3"}, {0, 0}};

    f->e = engine_new(f, 0, 3);
    assert_int_equal(pl_engine_start(f->e), 0);
    wait_value(f, "u1.v", 10);
    wait_value(f, "u3.v", 30);

    run_until(f, is_bad, "u2.v");
    st = pl_engine_tag(f->e, "u2.v");
    assert_int_equal(st->error, PL_ETIMEOUT);
    run_until(f, demoted, "u2");

    /* the live units go on, scan after scan, and see new values */
    assert_int_equal(pl_engine_device_stats(f->e, "u1", &s1), 0);
    assert_int_equal(pl_engine_device_stats(f->e, "u3", &s3), 0);
    c.cycles[0] = s1.cycles + CYCLES;
    c.cycles[1] = s3.cycles + CYCLES;
    set_reg(f, 1, 11);
    set_reg(f, 3, 31);
    run_until(f, cycles_reached, &c);
    wait_value(f, "u1.v", 11);
    wait_value(f, "u3.v", 31);
    assert_int_equal(pl_engine_device_stats(f->e, "u1", &s1), 0);
    assert_int_equal(pl_engine_device_stats(f->e, "u3", &s3), 0);
    assert_int_equal(pl_engine_device_stats(f->e, "u2", &s2), 0);
    assert_int_equal(s1.errors, 0);
    assert_int_equal(s3.errors, 0);
    assert_false(s1.demoted);
    assert_false(s3.demoted);
    assert_true(s2.timeouts >= 2);
    assert_int_equal(s1.timeouts, 0);
    assert_true(s1.responses >= CYCLES);
    assert_true(s3.responses >= CYCLES);
    assert_int_equal(pl_engine_tag(f->e, "u2.v")->quality, PL_Q_BAD);

    /* one connection for the three, counted once on the line */
    assert_int_equal(pl_modbus_server_stats(f->srv)->connections, 1);
    assert_int_equal(pl_modbus_server_conn_count(f->srv), 1);
    assert_int_equal(s1.bytes_out, s3.bytes_out);
    assert_int_equal(pl_engine_line_stats(f->e, "gw", &ls), 0);
    assert_int_equal(ls.bytes_out, s1.bytes_out);
    assert_int_equal(ls.requests, s1.requests + s2.requests + s3.requests);
}

static void test_dead_unit_inflight4(void **state)
{
    fx_t f;

    (void)state;
    setup(&f, 4);
    dead_unit_scenario(&f);
    teardown(&f);
}

static void test_dead_unit_inflight1(void **state)
{
    fx_t f;

    (void)state;
    setup(&f, 1);
    dead_unit_scenario(&f);
    teardown(&f);
}

/* A write goes to its device's unit only, over the shared connection. */
static void test_write_to_its_unit(void **state)
{
    fx_t f;
    pl_status_t err;
    pl_value_t v;
    wres_t w;

    (void)state;
    setup(&f, 2);
    dead_unit_scenario(&f);
    memset(&v, 0, sizeof(v));
    v.type = PL_VT_INT;
    v.i = 333;
    memset(&w, 0, sizeof(w));
    pl_status_clear(&err);
    assert_int_equal(pl_engine_write(f.e, "u3.v", &v, on_written, &w, &err), 0);
    run_until(&f, write_done, &w);
    assert_int_equal(w.done, 1);
    assert_int_equal(w.st.code, 0);
    assert_int_equal(get_reg(&f, 3), 333);
    assert_int_equal(get_reg(&f, 1), 11);
    assert_int_equal(get_reg(&f, 4), 40);
    wait_value(&f, "u3.v", 333);
    assert_int_equal(pl_modbus_server_stats(f.srv)->connections, 1);
    teardown(&f);
}

/* The gateway goes away: every device on the connection hears of it. */
static void test_link_down_reaches_every_device(void **state)
{
    static const int which[3] = {0, 1, 2};
    fx_t f;

    (void)state;
    setup(&f, 4);
    dead_unit_scenario(&f);
    memset(f.downs, 0, sizeof(f.downs));
    pl_modbus_server_free(f.srv);
    f.srv = NULL;
    run_until(&f, downs_seen, which);
    run_until(&f, is_bad, "u1.v");
    run_until(&f, is_bad, "u3.v");
    teardown(&f);
}

/* A reload that drops the dead unit's device and adds unit 4: the old engine frees device
 * 2 while the others keep the connection, the new engine takes devices 1 and 3 over and
 * its new device joins the same connection. */
static void test_reload_keeps_the_connection(void **state)
{
    fx_t f;
    pl_engine_t *e2, *old;
    pl_device_def_t d2;
    pl_tag_def_t t2;
    pl_engine_stats_t s4;

    (void)state;
    setup(&f, 4);
    dead_unit_scenario(&f);

    /* the new configuration: u1, u3, u4 (u2 moved out of the range given to the engine) */
    d2 = f.devs[1];
    t2 = f.tags[1];
    f.devs[1] = f.devs[0];
    f.tags[1] = f.tags[0];
    e2 = engine_new(&f, 1, 3);
    assert_int_equal(pl_engine_adopt(e2, f.e), 2);
    old = f.e;
    pl_engine_stop(old, on_stopped);
    pl_engine_free(old);
    f.e = e2;
    f.devs[1] = d2;
    f.tags[1] = t2;
    assert_int_equal(pl_engine_start(e2), 0);

    set_reg(&f, 1, 12);
    set_reg(&f, 3, 32);
    set_reg(&f, 4, 42);
    wait_value(&f, "u1.v", 12);
    wait_value(&f, "u3.v", 32);
    wait_value(&f, "u4.v", 42);
    assert_null(pl_engine_tag(e2, "u2.v"));
    assert_int_equal(pl_engine_device_stats(e2, "u4", &s4), 0);
    assert_int_equal(s4.errors, 0);
    assert_int_equal(pl_modbus_server_stats(f.srv)->connections, 1);
    assert_int_equal(pl_modbus_server_conn_count(f.srv), 1);
    teardown(&f);
}

static int no_conn(fx_t *f, const void *arg)
{
    (void)arg;
    return pl_modbus_server_conn_count(f->srv) == 0;
}

/* Two engines on one connection (the same line in both): stopping the first keeps it for
 * the second, stopping the second closes it. */
static void test_last_device_closes(void **state)
{
    fx_t f;
    pl_engine_t *e2;
    pl_engine_stats_t s;

    (void)state;
    setup(&f, 1);
    f.e = engine_new(&f, 0, 1);
    e2 = engine_new(&f, 2, 1);
    assert_int_equal(pl_engine_start(f.e), 0);
    assert_int_equal(pl_engine_start(e2), 0);
    wait_value(&f, "u1.v", 10);
    pl_engine_stop(f.e, on_stopped);
    pl_engine_free(f.e);
    f.e = e2;
    set_reg(&f, 3, 35);
    wait_value(&f, "u3.v", 35);
    assert_int_equal(pl_engine_device_stats(e2, "u3", &s), 0);
    assert_int_equal(s.errors, 0);
    assert_int_equal(pl_modbus_server_stats(f.srv)->connections, 1);
    assert_int_equal(pl_modbus_server_conn_count(f.srv), 1);
    pl_engine_stop(e2, on_stopped);
    pl_engine_free(e2);
    f.e = NULL;
    run_until(&f, no_conn, NULL);
    teardown(&f);
}

/* Two lines to the same gateway are two connections: a line is what the user named. */
static void test_two_lines_two_connections(void **state)
{
    pl_line_def_t lines[2];
    pl_engine_config_t ec;
    pl_engine_cbs_t cbs = {.on_device = on_device};
    pl_status_t err;
    fx_t f;

    (void)state;
    setup(&f, 1);
    lines[0] = f.line;
    lines[1] = f.line;
    snprintf(lines[1].name, sizeof(lines[1].name), "gw2");
    snprintf(f.devs[2].line, sizeof(f.devs[2].line), "gw2");
    memset(&ec, 0, sizeof(ec));
    ec.lines = lines;
    ec.nlines = 2;
    ec.devices = f.devs;
    ec.ndevices = 3;
    ec.tags = f.tags;
    ec.ntags = 3;
    ec.scans = &f.scan;
    ec.nscans = 1;
    pl_status_clear(&err);
    assert_int_equal(pl_engine_new(&f.loop, &ec, &cbs, &f, &f.e, &err), 0);
    assert_int_equal(pl_engine_start(f.e), 0);
    wait_value(&f, "u1.v", 10);
    wait_value(&f, "u3.v", 30);
    assert_int_equal(pl_modbus_server_stats(f.srv)->connections, 2);
    teardown(&f);
}

static int one_conn(fx_t *f, const void *arg)
{
    (void)arg;
    return pl_modbus_server_conn_count(f->srv) == 1;
}

/* A reload that changes the line: a new connection for its devices, and the old one
 * closes once the old engine's devices are gone. */
static void test_changed_line_reconnects(void **state)
{
    pl_engine_t *e2;
    fx_t f;

    (void)state;
    setup(&f, 1);
    f.e = engine_new(&f, 0, 1);
    assert_int_equal(pl_engine_start(f.e), 0);
    wait_value(&f, "u1.v", 10);
    f.line.timeout_ms = TIMEOUT + 100;
    e2 = engine_new(&f, 0, 1);
    assert_int_equal(pl_engine_adopt(e2, f.e), 0);
    pl_engine_stop(f.e, on_stopped);
    pl_engine_free(f.e);
    f.e = e2;
    assert_int_equal(pl_engine_start(e2), 0);
    set_reg(&f, 1, 19);
    wait_value(&f, "u1.v", 19);
    run_until(&f, one_conn, NULL);
    assert_int_equal(pl_modbus_server_stats(f.srv)->connections, 2);
    teardown(&f);
}

/* --- the driver on its own: the wire shared, a device freed with requests out ---------- */

typedef struct {
    int done;
    int code;
    int order; /* completion order, from 1 */
} rres_t;

static int completions;

static void on_read(void *ctx, const pl_status_t *st)
{
    rres_t *r = ctx;

    r->done++;
    r->code = st->code;
    r->order = ++completions;
}

static void no_link(void *ud, const pl_status_t *st)
{
    (void)ud;
    (void)st;
}

static int read_done(fx_t *f, const void *arg)
{
    (void)f;
    return ((const rres_t *)arg)->done > 0;
}

static const pl_driver_t *modbus_driver(void)
{
    const pl_protocol_t *p = pl_protocol_find("modbus", 6);

    assert_non_null(p);
    assert_non_null(p->driver);
    return p->driver;
}

/* With inflight 2 and two devices on the connection, the dead unit's device gets one slot:
 * its second read waits in the driver, and the live unit's read goes out on the other slot
 * and is answered before any of the dead unit's. Freeing the dead unit's device answers its
 * two reads (one on the wire, one queued) PL_ECANCELED at once; the connection stays for
 * the other device, whose reads go on; freeing the last device closes it. */
static void test_driver_share_and_free(void **state)
{
    const pl_driver_t *drv = modbus_driver();
    pl_drv_dev_t *d1 = NULL, *d2 = NULL;
    uint8_t buf1[8], buf2a[8], buf2b[8], req[64];
    rres_t r1, r2a, r2b, r1b;
    pl_status_t err;
    fx_t f;

    (void)state;
    setup(&f, 2);
    f.line.timeout_ms = 5000; /* the dead unit's reads are still out when checked */
    pl_status_clear(&err);
    assert_int_equal(drv->dev_new(&f.loop, &f.line, &f.devs[0], NULL, no_link, NULL, &d1, &err), 0);
    assert_int_equal(drv->dev_new(&f.loop, &f.line, &f.devs[1], NULL, no_link, NULL, &d2, &err), 0);
    assert_ptr_equal(drv->line(d1), drv->line(d2));
    assert_int_equal(drv->dev_start(d1), 0);
    assert_int_equal(drv->dev_start(d2), 0);

    memset(&r1, 0, sizeof(r1));
    memset(&r2a, 0, sizeof(r2a));
    memset(&r2b, 0, sizeof(r2b));
    memset(&r1b, 0, sizeof(r1b));
    completions = 0;
    assert_int_equal(drv->read(d2, req, PL_MODBUS_TABLE_HOLDING, 0, 1, buf2a, on_read, &r2a), 0);
    assert_int_equal(drv->read(d2, req, PL_MODBUS_TABLE_HOLDING, 10, 1, buf2b, on_read, &r2b), 0);
    assert_int_equal(drv->read(d1, req, PL_MODBUS_TABLE_HOLDING, 0, 1, buf1, on_read, &r1), 0);
    run_until(&f, read_done, &r1);
    assert_int_equal(r1.code, 0);
    assert_int_equal(r1.order, 1);
    assert_int_equal(buf1[0] << 8 | buf1[1], 10);
    assert_int_equal(r2a.done + r2b.done, 0);

    drv->dev_free(d2);
    assert_int_equal(r2a.done, 1);
    assert_int_equal(r2b.done, 1);
    assert_int_equal(r2a.code, PL_ECANCELED);
    assert_int_equal(r2b.code, PL_ECANCELED);

    set_reg(&f, 1, 17);
    assert_int_equal(drv->read(d1, req, PL_MODBUS_TABLE_HOLDING, 0, 1, buf1, on_read, &r1b), 0);
    run_until(&f, read_done, &r1b);
    assert_int_equal(r1b.code, 0);
    assert_int_equal(buf1[0] << 8 | buf1[1], 17);
    assert_int_equal(pl_modbus_server_stats(f.srv)->connections, 1);
    assert_int_equal(pl_modbus_server_conn_count(f.srv), 1);
    assert_int_equal(r2a.done + r2b.done, 2); /* not again */

    drv->dev_free(d1);
    run_until(&f, no_conn, NULL);
    teardown(&f);
}

/* A device freed while its request waits in the client for the connection (it was handed
 * over before the connection was up): the request is taken back, answered PL_ECANCELED
 * "the device was closed", and never goes out once the connection is up for the other
 * device: the unit gets only that device's read. */
static void test_free_takes_back_what_was_not_sent(void **state)
{
    const pl_driver_t *drv = modbus_driver();
    pl_drv_dev_t *d1 = NULL, *d3 = NULL;
    uint8_t buf1[8], buf3[8], req1[64], req3[64];
    rres_t r1, r3;
    pl_status_t err;
    fx_t f;

    (void)state;
    setup(&f, 2);
    pl_status_clear(&err);
    assert_int_equal(drv->dev_new(&f.loop, &f.line, &f.devs[0], NULL, no_link, NULL, &d1, &err), 0);
    assert_int_equal(drv->dev_new(&f.loop, &f.line, &f.devs[2], NULL, no_link, NULL, &d3, &err), 0);
    assert_int_equal(drv->dev_start(d1), 0);
    assert_int_equal(drv->dev_start(d3), 0);
    memset(&r1, 0, sizeof(r1));
    memset(&r3, 0, sizeof(r3));
    /* the loop has not run: the connection is not up, the read waits in the client */
    assert_int_equal(drv->read(d3, req3, PL_MODBUS_TABLE_HOLDING, 0, 1, buf3, on_read, &r3), 0);
    drv->dev_free(d3);
    assert_int_equal(r3.done, 1);
    assert_int_equal(r3.code, PL_ECANCELED);
    assert_int_equal(drv->read(d1, req1, PL_MODBUS_TABLE_HOLDING, 0, 1, buf1, on_read, &r1), 0);
    run_until(&f, read_done, &r1);
    assert_int_equal(r1.code, 0);
    assert_int_equal(buf1[0] << 8 | buf1[1], 10);
    assert_int_equal(pl_modbus_server_stats(f.srv)->requests, 1);
    assert_int_equal(r3.done, 1); /* not again */
    drv->dev_free(d1);
    run_until(&f, no_conn, NULL);
    teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dead_unit_inflight4),
        cmocka_unit_test(test_dead_unit_inflight1),
        cmocka_unit_test(test_write_to_its_unit),
        cmocka_unit_test(test_link_down_reaches_every_device),
        cmocka_unit_test(test_reload_keeps_the_connection),
        cmocka_unit_test(test_last_device_closes),
        cmocka_unit_test(test_driver_share_and_free),
        cmocka_unit_test(test_free_takes_back_what_was_not_sent),
        cmocka_unit_test(test_two_lines_two_connections),
        cmocka_unit_test(test_changed_line_reconnects),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
