/* SPDX-License-Identifier: MIT */
/*
 * Integration tests of redundant lines (D2000 "TCP/IP-TCP Redundant", src/net/line.c) on
 * loopback: "Use Backup Device" off ignores the backup; alternate mode (refused primary ->
 * backup, killed primary -> backup, the order primary hosts, backup hosts, wrap); parallel
 * mode (both sides connect, requests go to the active side only, standby data is discarded,
 * failover on_down + on_up in the same loop iteration, the failed side reconnecting in the
 * background, return to the primary with and without on_switch, pl_line_drop() on a black
 * hole switching to the standby); the back-off reset policy against a partner that accepts
 * and closes at once (injected clock and random source); the per-line jitter generator.
 *
 * Partners are pl_listener_t servers (echo, hold, close-at-accept) in the same loop on
 * 127.0.0.x; ports are picked by the kernel and read back (a "dead" port is one a listener
 * had and gave back; it is bound again to bring a device back). The loop is driven with
 * uv_run and a watchdog timer, never sleep; every test closes every handle and asserts
 * uv_loop_close() == 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "net/internal.h"
#include "plcline/error.h"
#include "plcline/line.h"

/* --- loop, watchdog, iteration counter ------------------------------------------------- */

static uv_loop_t loop;
static uv_timer_t watchdog;
static uv_check_t checker;
static unsigned iteration; /* loop iterations completed (check phase) */
static int watchdog_fired;

static void watchdog_cb(uv_timer_t *t)
{
    (void)t;
    watchdog_fired = 1;
}

static void check_cb(uv_check_t *c)
{
    (void)c;
    iteration++;
}

#define RUN_UNTIL(cond, ms)                              \
    do {                                                 \
        watchdog_fired = 0;                              \
        uv_timer_start(&watchdog, watchdog_cb, (ms), 0); \
        while (!(cond) && !watchdog_fired)               \
            uv_run(&loop, UV_RUN_ONCE);                  \
        uv_timer_stop(&watchdog);                        \
        assert_true(cond);                               \
    } while (0)

static void run_for(unsigned ms)
{
    watchdog_fired = 0;
    uv_timer_start(&watchdog, watchdog_cb, ms, 0);
    while (!watchdog_fired)
        uv_run(&loop, UV_RUN_ONCE);
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_timer_init(&loop, &watchdog);
    uv_check_init(&loop, &checker);
    uv_check_start(&checker, check_cb);
    iteration = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    uv_close((uv_handle_t *)&watchdog, NULL);
    uv_close((uv_handle_t *)&checker, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    return 0;
}

static void hosts_set(pl_hostlist_t *hl, unsigned n, const char *const *names,
                      const uint16_t *ports)
{
    size_t off = 0;
    unsigned i;

    memset(hl, 0, sizeof(*hl));
    for (i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        assert_true(off + len + 1 <= sizeof(hl->text));
        memcpy(hl->text + off, names[i], len + 1);
        hl->host[i].name = (uint16_t)off;
        hl->host[i].port = ports != NULL ? ports[i] : 0;
        off += len + 1;
    }
    hl->count = n;
}

/* --- partners: pl_listener echo / hold / close-at-accept servers ----------------------- */

enum mode { SRV_ECHO, SRV_HOLD, SRV_CLOSE };

#define SRV_CONNS 16

typedef struct {
    pl_listener_t *lst;
    enum mode mode;
    uint16_t port;
    int accepts;
    pl_conn_t *conns[SRV_CONNS];
    uint8_t rx[256];
    size_t nrx;
} srv_t;

static int srv_accept(pl_listener_t *lst, pl_conn_t *conn, void *ud)
{
    srv_t *s = ud;
    int i;

    (void)lst;
    s->accepts++;
    if (s->mode == SRV_CLOSE)
        return -1; /* a device at its connection limit: accepts and closes at once */
    for (i = 0; i < SRV_CONNS; i++) {
        if (s->conns[i] == NULL) {
            s->conns[i] = conn;
            return 0;
        }
    }
    return -1;
}

static void srv_data(pl_conn_t *conn, const uint8_t *buf, size_t len, void *ud)
{
    srv_t *s = ud;

    if (s->nrx + len <= sizeof(s->rx)) {
        memcpy(s->rx + s->nrx, buf, len);
        s->nrx += len;
    }
    if (s->mode == SRV_ECHO)
        assert_int_equal(pl_conn_send(conn, buf, len), 0);
}

static void srv_close(pl_conn_t *conn, const pl_status_t *why, void *ud)
{
    srv_t *s = ud;
    int i;

    (void)why;
    for (i = 0; i < SRV_CONNS; i++)
        if (s->conns[i] == conn)
            s->conns[i] = NULL;
}

static const pl_listener_cbs_t srv_cbs = {
    .on_accept = srv_accept, .on_data = srv_data, .on_close = srv_close};

/* Listens on `addr`:`port` (0: any). Keeps `s->accepts` and `s->nrx` across restarts. */
static void srv_start(srv_t *s, const char *addr, uint16_t port, enum mode mode)
{
    pl_listener_config_t cfg;
    pl_status_t err;

    memset(&cfg, 0, sizeof(cfg));
    cfg.addr = addr;
    cfg.port = port;
    s->mode = mode;
    memset(s->conns, 0, sizeof(s->conns));
    assert_int_equal(pl_listener_new(&loop, &cfg, &srv_cbs, s, &s->lst, &err), 0);
    s->port = pl_listener_port(s->lst);
}

/* Closes every partner (they see EOF); the listener stays. */
static void srv_kick(srv_t *s)
{
    int i;

    for (i = 0; i < SRV_CONNS; i++)
        if (s->conns[i] != NULL)
            pl_conn_close(s->conns[i], NULL);
}

/* The device dies: listener and partners closed; its port is given back. */
static void srv_kill(srv_t *s)
{
    if (s->lst != NULL)
        pl_listener_free(s->lst);
    s->lst = NULL;
}

static void srv_push(srv_t *s, const char *text)
{
    int i;

    for (i = 0; i < SRV_CONNS; i++)
        if (s->conns[i] != NULL)
            assert_int_equal(pl_conn_send(s->conns[i], (const uint8_t *)text, strlen(text)), 0);
}

/* --- the protocol side: records every callback ----------------------------------------- */

#define MAXEV 64

typedef struct {
    pl_line_t *line;
    int seq; /* callback sequence number */
    int ups, downs, switches;
    int up_side[MAXEV];
    unsigned up_host[MAXEV];
    unsigned up_iter[MAXEV];
    uint64_t up_now[MAXEV];
    int up_seq[MAXEV];
    pl_status_t down[MAXEV];
    unsigned down_iter[MAXEV];
    uint64_t down_now[MAXEV];
    int down_seq[MAXEV];
    unsigned down_retry[MAXEV];
    uint8_t rx[256];
    size_t nrx;
    uint64_t *clock; /* injected clock, advanced by `advance_on_up` in on_up */
    uint64_t advance_on_up;
    int in_call; /* inside our pl_line_drop() */
    int nested;
} rec_t;

static void rec_up(pl_line_t *line, void *ud)
{
    rec_t *r = ud;
    pl_line_side_t side = PL_LINE_PRIMARY;
    unsigned host = 0;

    assert_ptr_equal(line, r->line);
    r->nested += r->in_call;
    assert_int_equal(pl_line_state(line), PL_LINE_UP);
    assert_true(pl_line_active(line, &side, &host) >= 0);
    if (r->ups < MAXEV) {
        r->up_side[r->ups] = (int)side;
        r->up_host[r->ups] = pl_line_host_index(line);
        r->up_iter[r->ups] = iteration;
        r->up_now[r->ups] = uv_now(&loop);
        r->up_seq[r->ups] = r->seq;
    }
    r->seq++;
    r->ups++;
    if (r->clock != NULL)
        *r->clock += r->advance_on_up;
}

static void rec_data(pl_line_t *line, const uint8_t *buf, size_t len, void *ud)
{
    rec_t *r = ud;

    assert_ptr_equal(line, r->line);
    if (r->nrx + len <= sizeof(r->rx)) {
        memcpy(r->rx + r->nrx, buf, len);
        r->nrx += len;
    }
}

static void rec_down(pl_line_t *line, const pl_status_t *why, void *ud)
{
    rec_t *r = ud;

    assert_ptr_equal(line, r->line);
    r->nested += r->in_call;
    /* between connections (a parallel line may have the other side's attempt under way) */
    assert_true(pl_line_state(line) != PL_LINE_UP);
    assert_string_equal(pl_line_peer(line), "");
    assert_int_equal(pl_line_active(line, NULL, NULL), -1);
    assert_int_equal(pl_line_send(line, (const uint8_t *)"x", 1), PL_ECLOSING);
    if (r->downs < MAXEV) {
        r->down[r->downs] = *why;
        r->down_iter[r->downs] = iteration;
        r->down_now[r->downs] = uv_now(&loop);
        r->down_seq[r->downs] = r->seq;
        r->down_retry[r->downs] = pl_line_retry_ms(line);
    }
    r->seq++;
    r->downs++;
}

static void rec_switch(pl_line_t *line, void *ud)
{
    rec_t *r = ud;

    assert_ptr_equal(line, r->line);
    r->seq++;
    r->switches++;
}

static const pl_line_cbs_t rec_cbs = {.on_up = rec_up, .on_data = rec_data, .on_down = rec_down};
static const pl_line_cbs_t rec_cbs_switch = {
    .on_up = rec_up, .on_data = rec_data, .on_down = rec_down, .on_switch = rec_switch};

static void line_make(rec_t *r, const pl_line_config_t *cfg, const pl_line_cbs_t *cbs)
{
    r->line = NULL;
    assert_int_equal(pl_line_new(&loop, cfg, cbs, r, &r->line), 0);
}

/* A line config with one primary and one backup host list (each host its own port). */
static void red_config(pl_line_config_t *cfg, unsigned np, const char *const *pn,
                       const uint16_t *pp, unsigned nb, const char *const *bn, const uint16_t *bp)
{
    pl_line_config_init(cfg);
    hosts_set(&cfg->hosts, np, pn, pp);
    hosts_set(&cfg->backup, nb, bn, bp);
    cfg->use_backup = 1;
    cfg->backoff_min_ms = 10; /* keep the tests quick */
    cfg->backoff_max_ms = 200;
}

static int side_state(const pl_line_t *line, pl_line_side_t side)
{
    pl_line_side_info_t si;

    assert_int_equal(pl_line_side_state(line, side, &si), 0);
    return (int)si.state;
}

static uint64_t side_failures(const pl_line_t *line, pl_line_side_t side)
{
    pl_line_side_info_t si;

    assert_int_equal(pl_line_side_state(line, side, &si), 0);
    return si.failures;
}

static int send_text(pl_line_t *line, const char *text)
{
    return pl_line_send(line, (const uint8_t *)text, strlen(text));
}

static const char *const ip1[] = {"127.0.0.1"};
static const char *const ip2[] = {"127.0.0.2"};

/* --- tests ------------------------------------------------------------------------------ */

static void test_config(void **state)
{
    pl_line_config_t cfg;
    rec_t r;
    pl_line_side_info_t si;
    uint16_t p[] = {502};

    (void)state;
    memset(&r, 0, sizeof(r));
    /* a backup host without a port (none of its own, no backup_port, no port) */
    red_config(&cfg, 1, ip1, p, 1, ip2, NULL);
    assert_int_equal(pl_line_new(&loop, &cfg, &rec_cbs, &r, &r.line), PL_EINVAL);
    /* ... is fine when the backup is not used: not even checked */
    cfg.use_backup = 0;
    line_make(&r, &cfg, &rec_cbs);
    assert_int_equal(pl_line_host_count(r.line), 1);
    assert_int_equal(pl_line_side_state(r.line, PL_LINE_BACKUP, &si), 0);
    assert_int_equal(si.configured, 0);
    pl_line_free(r.line);
    /* backup_port serves backup hosts without their own */
    red_config(&cfg, 1, ip1, p, 1, ip2, NULL);
    cfg.backup_port = 503;
    cfg.line_number = 7;
    line_make(&r, &cfg, &rec_cbs);
    assert_int_equal(pl_line_host_count(r.line), 2);
    assert_int_equal(pl_line_number(r.line), 7);
    assert_int_equal(pl_line_side_state(r.line, PL_LINE_BACKUP, &si), 0);
    assert_int_equal(si.configured, 1);
    assert_int_equal(si.state, PL_LINE_IDLE);
    assert_int_equal(pl_line_side_state(r.line, (pl_line_side_t)2, &si), PL_EINVAL);
    assert_int_equal(pl_line_active(r.line, NULL, NULL), -1);
    assert_int_equal(pl_line_switchovers(r.line), 0);
    pl_line_free(r.line);
    /* an unknown redundancy mode */
    cfg.redundancy = (pl_redundancy_t)9;
    assert_int_equal(pl_line_new(&loop, &cfg, &rec_cbs, &r, &r.line), PL_EINVAL);
}

static void test_use_backup_off(void **state)
{
    srv_t a, b;
    pl_line_config_t cfg;
    rec_t r;
    uint16_t pp[1], bp[1];

    (void)state;
    memset(&r, 0, sizeof(r));
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    srv_start(&a, "127.0.0.1", 0, SRV_ECHO);
    srv_start(&b, "127.0.0.2", 0, SRV_ECHO);
    pp[0] = a.port;
    bp[0] = b.port;
    red_config(&cfg, 1, ip1, pp, 1, ip2, bp);
    cfg.use_backup = 0;
    cfg.redundancy = PL_REDUNDANCY_PARALLEL; /* ignored with the backup */
    line_make(&r, &cfg, &rec_cbs);
    pl_line_start(r.line);
    RUN_UNTIL(r.ups == 1, 5000);
    srv_kill(&a); /* primary dead: the line keeps trying it, never the backup */
    RUN_UNTIL(r.downs >= 4, 5000);
    assert_int_equal(r.ups, 1);
    assert_int_equal(b.accepts, 0);
    assert_int_equal(pl_line_stats(r.line)->switchovers, 0);
    assert_int_equal(r.down[1].code, PL_ECONNECT);
    pl_line_free(r.line);
    srv_kill(&b);
}

static void test_alternate_refused_and_killed(void **state)
{
    srv_t a, b;
    pl_line_config_t cfg;
    rec_t r;
    uint16_t pp[1], bp[1];
    pl_line_side_t side = PL_LINE_PRIMARY;
    unsigned host = 9;
    char want[64];

    (void)state;
    memset(&r, 0, sizeof(r));
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    /* primary refused -> backup connects */
    srv_start(&a, "127.0.0.1", 0, SRV_ECHO);
    pp[0] = a.port;
    srv_kill(&a);
    srv_start(&b, "127.0.0.2", 0, SRV_ECHO);
    bp[0] = b.port;
    red_config(&cfg, 1, ip1, pp, 1, ip2, bp);
    line_make(&r, &cfg, &rec_cbs);
    pl_line_start(r.line);
    RUN_UNTIL(r.ups == 1, 5000);
    assert_int_equal(r.downs, 1);
    assert_int_equal(r.down[0].code, PL_ECONNECT);
    assert_int_equal(r.down[0].sys, UV_ECONNREFUSED);
    assert_int_equal(r.up_side[0], PL_LINE_BACKUP);
    assert_int_equal(pl_line_active(r.line, &side, &host), 1);
    assert_int_equal(side, PL_LINE_BACKUP);
    assert_int_equal(host, 0);
    snprintf(want, sizeof(want), "127.0.0.2:%u", (unsigned)b.port);
    assert_string_equal(pl_line_peer(r.line), want);
    assert_int_equal(side_failures(r.line, PL_LINE_PRIMARY), 1);
    assert_int_equal(side_state(r.line, PL_LINE_BACKUP), PL_LINE_UP);
    assert_int_equal(side_state(r.line, PL_LINE_PRIMARY), PL_LINE_IDLE); /* one connection */
    assert_int_equal(pl_line_switchovers(r.line), 0); /* first connection: not a switch */
    pl_line_free(r.line);

    /* a live primary killed -> the next connection goes to the backup */
    memset(&r, 0, sizeof(r));
    srv_start(&a, "127.0.0.1", pp[0], SRV_ECHO);
    line_make(&r, &cfg, &rec_cbs);
    pl_line_start(r.line);
    RUN_UNTIL(r.ups == 1, 5000);
    assert_int_equal(r.up_side[0], PL_LINE_PRIMARY);
    srv_kill(&a);
    RUN_UNTIL(r.ups == 2, 5000);
    assert_int_equal(r.downs, 1);
    assert_true(r.down[0].code == PL_ERECV_00 || r.down[0].code == PL_ERECV_FF);
    assert_int_equal(r.up_side[1], PL_LINE_BACKUP);
    assert_int_equal(pl_line_switchovers(r.line), 1);
    assert_true(pl_line_stats(r.line)->last_switch_wall_ms > 0);
    assert_int_equal(send_text(r.line, "alt"), 0);
    RUN_UNTIL(r.nrx == 3, 5000);
    pl_line_free(r.line);
    srv_kill(&b);
}

static void test_alternate_order(void **state)
{
    srv_t a, b, c, d;
    pl_line_config_t cfg;
    rec_t r;
    static const char *const pn[] = {"127.0.0.1", "127.0.0.2"};
    static const char *const bn[] = {"127.0.0.3", "127.0.0.4"};
    uint16_t pp[2], bp[2];
    static const unsigned want_host[] = {0, 1, 2, 3, 0};
    static const int want_side[] = {PL_LINE_PRIMARY, PL_LINE_PRIMARY, PL_LINE_BACKUP,
                                    PL_LINE_BACKUP, PL_LINE_PRIMARY};
    srv_t *order[] = {&a, &b, &c, &d};
    int i;

    (void)state;
    memset(&r, 0, sizeof(r));
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    memset(&c, 0, sizeof(c));
    memset(&d, 0, sizeof(d));
    srv_start(&a, "127.0.0.1", 0, SRV_ECHO);
    srv_start(&b, "127.0.0.2", 0, SRV_ECHO);
    srv_start(&c, "127.0.0.3", 0, SRV_ECHO);
    srv_start(&d, "127.0.0.4", 0, SRV_ECHO);
    /* host 0 uses the line port, host 1 its own; backup 0 uses backup_port, 1 its own */
    pp[0] = 0;
    pp[1] = b.port;
    bp[0] = 0;
    bp[1] = d.port;
    red_config(&cfg, 2, pn, pp, 2, bn, bp);
    cfg.port = a.port;
    cfg.backup_port = c.port;
    line_make(&r, &cfg, &rec_cbs);
    assert_int_equal(pl_line_host_count(r.line), 4);
    pl_line_start(r.line);
    for (i = 0; i < 5; i++) {
        RUN_UNTIL(r.ups == i + 1, 5000);
        assert_int_equal(r.up_host[i], want_host[i]);
        assert_int_equal(r.up_side[i], want_side[i]);
        if (i < 4) {
            assert_int_equal(order[i]->accepts, 1);
            srv_kick(order[i]);
        }
    }
    assert_int_equal(r.downs, 4);
    assert_int_equal(a.accepts, 2);
    /* primary -> backup at host 2, backup -> primary at the wrap */
    assert_int_equal(pl_line_switchovers(r.line), 2);
    pl_line_free(r.line);
    srv_kill(&a);
    srv_kill(&b);
    srv_kill(&c);
    srv_kill(&d);
}

/* Parallel line with the primary active and the backup standby, both up. The backup's
 * port is dead until the primary is up, so the primary is active deterministically.
 * `stable_ms`: the line's, 0 for its default (the back-off maximum, 200 ms here). */
static void parallel_up(rec_t *r, srv_t *a, srv_t *b, enum mode amode, pl_line_config_t *cfg,
                        const pl_line_cbs_t *cbs, int prefer, unsigned stable_ms)
{
    uint16_t pp[1], bp[1];
    uint64_t f;

    memset(r, 0, sizeof(*r));
    memset(a, 0, sizeof(*a));
    memset(b, 0, sizeof(*b));
    srv_start(a, "127.0.0.1", 0, amode);
    srv_start(b, "127.0.0.2", 0, SRV_ECHO);
    bp[0] = b->port;
    srv_kill(b);
    pp[0] = a->port;
    red_config(cfg, 1, ip1, pp, 1, ip2, bp);
    cfg->redundancy = PL_REDUNDANCY_PARALLEL;
    cfg->prefer_primary = prefer;
    cfg->stable_ms = stable_ms;
    line_make(r, cfg, cbs);
    assert_int_equal(pl_line_host_count(r->line), 2);
    pl_line_start(r->line);
    RUN_UNTIL(r->ups == 1, 5000);
    assert_int_equal(r->up_side[0], PL_LINE_PRIMARY);
    /* The backup side failed (refused) in the background; at most once before the primary
     * was up (then the protocol hears of it, as on a plain line), never after. */
    assert_true(r->downs <= 1);
    f = side_failures(r->line, PL_LINE_BACKUP);
    RUN_UNTIL(side_failures(r->line, PL_LINE_BACKUP) >= f + 2, 5000);
    srv_start(b, "127.0.0.2", bp[0], SRV_ECHO);
    RUN_UNTIL(side_state(r->line, PL_LINE_BACKUP) == PL_LINE_UP, 5000);
    assert_int_equal(r->ups, 1);
    assert_int_equal(side_state(r->line, PL_LINE_PRIMARY), PL_LINE_UP);
    r->downs = 0; /* count from here */
}

static void test_parallel_failover(void **state)
{
    srv_t a, b;
    pl_line_config_t cfg;
    rec_t r;
    pl_line_side_info_t si;
    pl_line_side_t side = PL_LINE_PRIMARY;
    const pl_line_stats_t *st;
    uint64_t f;

    (void)state;
    parallel_up(&r, &a, &b, SRV_ECHO, &cfg, &rec_cbs, 1, 0);
    st = pl_line_stats(r.line);

    /* requests go to the active (primary) side only */
    assert_int_equal(send_text(r.line, "abc"), 0);
    RUN_UNTIL(r.nrx == 3, 5000);
    assert_memory_equal(a.rx, "abc", 3);
    assert_int_equal(b.nrx, 0);
    assert_int_equal(b.accepts, 1);

    /* what the standby sends is discarded (counted) */
    srv_push(&b, "zzzz");
    RUN_UNTIL(st->standby_bytes == 4, 5000);
    assert_int_equal(r.nrx, 3);
    assert_int_equal(st->bytes_in, 3);

    /* the primary dies mid-stream: on_down, then on_up on the backup in the same loop
     * iteration (same libuv callback: nothing in between, same loop time) */
    srv_kill(&a);
    RUN_UNTIL(r.ups == 2, 5000);
    assert_int_equal(r.downs, 1);
    assert_true(r.down[0].code == PL_ERECV_00 || r.down[0].code == PL_ERECV_FF);
    assert_int_equal(r.up_seq[1], r.down_seq[0] + 1);
    assert_int_equal(r.up_iter[1], r.down_iter[0]);
    assert_true(r.up_now[1] == r.down_now[0]);
    assert_int_equal(r.up_side[1], PL_LINE_BACKUP);
    assert_int_equal(pl_line_active(r.line, &side, NULL), 1);
    assert_int_equal(side, PL_LINE_BACKUP);
    assert_int_equal(st->switchovers, 1);
    assert_int_equal(pl_line_switchovers(r.line), 1);
    assert_true(st->last_switch_ms > 0);
    assert_true(st->last_switch_wall_ms > 0);
    assert_int_equal(pl_line_last_error(r.line)->code, r.down[0].code);

    /* requests now go to the backup */
    assert_int_equal(send_text(r.line, "def"), 0);
    RUN_UNTIL(r.nrx == 6, 5000);
    assert_memory_equal(b.rx, "def", 3);

    /* the failed side keeps reconnecting in the background; the protocol hears nothing */
    f = side_failures(r.line, PL_LINE_PRIMARY);
    RUN_UNTIL(side_failures(r.line, PL_LINE_PRIMARY) >= f + 3, 5000);
    assert_int_equal(pl_line_side_state(r.line, PL_LINE_PRIMARY, &si), 0);
    assert_int_equal(si.last_error.code, PL_ECONNECT);
    assert_int_equal(si.active, 0);
    assert_int_equal(r.downs, 1);
    assert_int_equal(r.ups, 2);

    /* the primary is back, prefer_primary: the line returns to it (no on_switch callback:
     * reported as on_down(PL_ECANCELED) + on_up) */
    srv_start(&a, "127.0.0.1", a.port, SRV_ECHO);
    RUN_UNTIL(r.ups == 3, 5000);
    assert_int_equal(r.downs, 2);
    assert_int_equal(r.down[1].code, PL_ECANCELED);
    assert_string_equal(r.down[1].detail, "switching back to primary");
    assert_int_equal(r.up_seq[2], r.down_seq[1] + 1);
    assert_int_equal(r.up_side[2], PL_LINE_PRIMARY);
    assert_int_equal(st->switchovers, 2);
    /* the backup stays connected as the standby */
    assert_int_equal(side_state(r.line, PL_LINE_BACKUP), PL_LINE_UP);
    assert_int_equal(pl_line_side_state(r.line, PL_LINE_BACKUP, &si), 0);
    assert_int_equal(si.active, 0);
    assert_int_equal(pl_line_side_state(r.line, PL_LINE_PRIMARY, &si), 0);
    assert_int_equal(si.active, 1);
    assert_true(si.peer[0] != '\0');
    assert_int_equal(send_text(r.line, "ghi"), 0);
    RUN_UNTIL(r.nrx == 9, 5000);
    assert_memory_equal(a.rx + 3, "ghi", 3);
    assert_int_equal(b.nrx, 3);

    /* the backup dies while standby: nothing for the protocol */
    srv_kill(&b);
    RUN_UNTIL(side_state(r.line, PL_LINE_BACKUP) != PL_LINE_UP, 5000);
    run_for(30);
    assert_int_equal(r.downs, 2);
    assert_int_equal(r.ups, 3);
    assert_int_equal(r.nested, 0);
    pl_line_free(r.line);
    srv_kill(&a);
}

static void test_parallel_on_switch(void **state)
{
    srv_t a, b;
    pl_line_config_t cfg;
    rec_t r;
    int downs;

    (void)state;
    parallel_up(&r, &a, &b, SRV_ECHO, &cfg, &rec_cbs_switch, 1, 0);
    srv_kill(&a);
    RUN_UNTIL(r.ups == 2, 5000);
    assert_int_equal(r.up_side[1], PL_LINE_BACKUP);
    assert_int_equal(r.switches, 0); /* a failover is always on_down + on_up */
    downs = r.downs;
    srv_start(&a, "127.0.0.1", a.port, SRV_ECHO);
    RUN_UNTIL(r.switches == 1, 5000);
    assert_int_equal(r.downs, downs);
    assert_int_equal(r.ups, 2);
    assert_int_equal(pl_line_active(r.line, NULL, NULL), 0);
    assert_int_equal(pl_line_switchovers(r.line), 2);
    assert_int_equal(send_text(r.line, "sw"), 0);
    RUN_UNTIL(r.nrx == 2, 5000);
    assert_memory_equal(a.rx, "sw", 2);
    pl_line_free(r.line);
    srv_kill(&a);
    srv_kill(&b);
}

static void test_parallel_no_prefer(void **state)
{
    srv_t a, b;
    pl_line_config_t cfg;
    rec_t r;

    (void)state;
    parallel_up(&r, &a, &b, SRV_ECHO, &cfg, &rec_cbs, 0, 0);
    srv_kill(&a);
    RUN_UNTIL(r.ups == 2, 5000);
    srv_start(&a, "127.0.0.1", a.port, SRV_ECHO);
    RUN_UNTIL(side_state(r.line, PL_LINE_PRIMARY) == PL_LINE_UP, 5000);
    run_for(30);
    /* the primary is back as the standby; the backup stays active */
    assert_int_equal(r.ups, 2);
    assert_int_equal(pl_line_active(r.line, NULL, NULL), 1);
    assert_int_equal(pl_line_switchovers(r.line), 1);
    pl_line_free(r.line);
    srv_kill(&a);
    srv_kill(&b);
}

/* prefer_primary with a primary that accepts connections and drops them at once (a PLC
 * still starting, a firewall): the stream stays on the backup, however often the primary
 * connects; a primary that stays up `stable_ms` (2 s here) takes it back. Before, every accepted
 * connection pulled the stream over and the next failover pushed it back: two switches and a
 * request lost each time. */
static void test_parallel_flapping_primary(void **state)
{
    srv_t a, b;
    pl_line_config_t cfg;
    rec_t r;
    int accepts;

    (void)state;
    /* 2 s: each accepted connection's end reaches the line long before, also under valgrind */
    parallel_up(&r, &a, &b, SRV_ECHO, &cfg, &rec_cbs, 1, 2000);
    srv_kill(&a);
    RUN_UNTIL(r.ups == 2, 5000);
    assert_int_equal(r.up_side[1], PL_LINE_BACKUP);
    srv_start(&a, "127.0.0.1", a.port, SRV_CLOSE);
    accepts = a.accepts;
    RUN_UNTIL(a.accepts >= accepts + 3 || r.ups > 2, 5000);
    assert_int_equal(r.ups, 2);
    assert_int_equal(r.downs, 1);
    assert_int_equal(pl_line_switchovers(r.line), 1);
    assert_int_equal(pl_line_active(r.line, NULL, NULL), 1);
    assert_int_equal(send_text(r.line, "bk"), 0);
    RUN_UNTIL(r.nrx == 2, 5000);
    assert_memory_equal(b.rx, "bk", 2);

    /* the primary works again: the stream returns once it has stayed up */
    srv_kill(&a);
    srv_start(&a, "127.0.0.1", a.port, SRV_ECHO);
    RUN_UNTIL(r.ups == 3, 10000);
    assert_int_equal(r.up_side[2], PL_LINE_PRIMARY);
    assert_int_equal(r.down[1].code, PL_ECANCELED);
    assert_int_equal(pl_line_switchovers(r.line), 2);
    pl_line_free(r.line);
    srv_kill(&a);
    srv_kill(&b);
}

static void test_parallel_drop_black_hole(void **state)
{
    srv_t a, b;
    pl_line_config_t cfg;
    rec_t r;
    pl_status_t st;
    unsigned it;
    uint64_t t0;

    (void)state;
    /* the primary accepts and never answers */
    parallel_up(&r, &a, &b, SRV_HOLD, &cfg, &rec_cbs, 0, 0);
    assert_int_equal(send_text(r.line, "ping"), 0);
    RUN_UNTIL(a.nrx == 4, 5000);
    run_for(20);
    assert_int_equal(r.nrx, 0);

    /* the protocol's request timed out: it drops the active side */
    pl_status_set(&st, PL_ETIMEOUT, 0, "test: no answer");
    it = iteration;
    uv_update_time(&loop);
    t0 = uv_now(&loop);
    r.in_call = 1;
    pl_line_drop(r.line, &st);
    r.in_call = 0;
    assert_int_equal(r.downs, 0); /* never inside pl_line_drop() */
    assert_int_equal(pl_line_state(r.line), PL_LINE_BACKOFF);
    assert_int_equal(send_text(r.line, "x"), PL_ECLOSING);
    RUN_UNTIL(r.ups == 2, 5000);
    assert_int_equal(r.nested, 0);
    assert_int_equal(r.downs, 1);
    assert_int_equal(r.down[0].code, PL_ETIMEOUT);
    assert_string_equal(r.down[0].detail, "test: no answer");
    /* both from one 0 ms timer in the next iteration: no back-off wait */
    assert_int_equal(r.up_seq[1], r.down_seq[0] + 1);
    assert_true(r.down_iter[0] <= it + 1);
    assert_int_equal(r.up_iter[1], r.down_iter[0]);
    assert_true(r.up_now[1] >= t0);
    assert_int_equal(r.up_side[1], PL_LINE_BACKUP);
    assert_int_equal(pl_line_switchovers(r.line), 1);
    assert_int_equal(send_text(r.line, "pong"), 0);
    RUN_UNTIL(r.nrx == 4, 5000);
    assert_memory_equal(r.rx, "pong", 4);

    /* the dropped primary reconnects in the background and becomes the standby */
    RUN_UNTIL(a.accepts == 2 && side_state(r.line, PL_LINE_PRIMARY) == PL_LINE_UP, 5000);
    assert_int_equal(r.ups, 2);
    assert_int_equal(pl_line_active(r.line, NULL, NULL), 1);

    /* a drop with no standby up: on_down only, and the line goes on retrying */
    srv_kill(&a);
    RUN_UNTIL(side_state(r.line, PL_LINE_PRIMARY) != PL_LINE_UP, 5000);
    pl_line_drop(r.line, NULL);
    RUN_UNTIL(r.downs >= 2, 5000);
    assert_int_equal(r.down[1].code, PL_EPROTO);
    run_for(20);
    /* the backup is still listening: it comes back (after its back-off) */
    RUN_UNTIL(r.ups == 3, 5000);
    assert_int_equal(r.up_side[2], PL_LINE_BACKUP);
    pl_line_free(r.line);
    srv_kill(&b);
}

static uint32_t fixed_random(void *ud)
{
    (void)ud;
    return 7;
}

static uint64_t manual_clock(void *ud)
{
    return *(uint64_t *)ud;
}

static void test_backoff_reset_policy(void **state)
{
    srv_t s;
    pl_line_config_t cfg;
    rec_t r;
    uint64_t clock = 1000;
    uint16_t p[1];
    static const unsigned grow[] = {22, 37, 67, 82, 82};
    int i;

    (void)state;
    memset(&r, 0, sizeof(r));
    memset(&s, 0, sizeof(s));
    srv_start(&s, "127.0.0.1", 0, SRV_CLOSE); /* accepts, closes at once */
    p[0] = s.port;
    pl_line_config_init(&cfg);
    hosts_set(&cfg.hosts, 1, ip1, p);
    cfg.backoff_min_ms = 20;
    cfg.backoff_max_ms = 100;
    cfg.stable_ms = 500;
    cfg.random = fixed_random;
    cfg.now_ms = manual_clock;
    cfg.clock_ud = &clock;
    r.clock = &clock;
    line_make(&r, &cfg, &rec_cbs);
    pl_line_start(r.line);

    /* every connection is up for 0 ms (the injected clock stands still): each counts as a
     * failure, the back-off grows as for a dead host instead of staying at the minimum */
    RUN_UNTIL(r.downs == 5, 5000);
    assert_int_equal(r.ups, 5);
    for (i = 0; i < 5; i++) {
        assert_true(r.down[i].code == PL_ERECV_00 || r.down[i].code == PL_ERECV_FF);
        assert_int_equal(r.down_retry[i], grow[i]);
    }
    assert_int_equal(pl_line_stats(r.line)->short_ups, 5);

    /* up 499 ms: still short */
    r.advance_on_up = 499;
    RUN_UNTIL(r.downs == 6, 5000);
    assert_int_equal(r.down_retry[5], 82);
    /* up 500 ms (stable_ms): the count starts over at the minimum */
    r.advance_on_up = 500;
    RUN_UNTIL(r.downs == 7, 5000);
    assert_int_equal(r.down_retry[6], 22);
    assert_int_equal(pl_line_stats(r.line)->short_ups, 6);
    r.advance_on_up = 0;
    RUN_UNTIL(r.downs == 8, 5000);
    assert_int_equal(r.down_retry[7], 37);
    pl_line_free(r.line);
    srv_kill(&s);
}

static void test_jitter_source(void **state)
{
    pl_line_config_t cfg;
    rec_t r1, r2;
    uint16_t p[1];
    srv_t s;
    int expect, same = 0, i;

    (void)state;
    memset(&r1, 0, sizeof(r1));
    memset(&r2, 0, sizeof(r2));
    memset(&s, 0, sizeof(s));
    srv_start(&s, "127.0.0.1", 0, SRV_ECHO);
    p[0] = s.port;
    srv_kill(&s);
    pl_line_config_init(&cfg);
    hosts_set(&cfg.hosts, 1, ip1, p);
    cfg.backoff_min_ms = 1;
    cfg.backoff_max_ms = 5;

    /* the application's rand() sequence is not disturbed by retries */
    srand(4242);
    expect = rand();
    srand(4242);
    line_make(&r1, &cfg, &rec_cbs);
    pl_line_start(r1.line);
    RUN_UNTIL(r1.downs >= 5, 5000);
    assert_int_equal(rand(), expect);

    /* two lines draw different jitter sequences */
    line_make(&r2, &cfg, &rec_cbs);
    for (i = 0; i < 4; i++)
        same += pl_line_random(r1.line) == pl_line_random(r2.line);
    assert_int_equal(same, 0);
    pl_line_free(r1.line);
    pl_line_free(r2.line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_use_backup_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alternate_refused_and_killed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alternate_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parallel_failover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parallel_on_switch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parallel_no_prefer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parallel_flapping_primary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parallel_drop_black_hole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backoff_reset_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jitter_source, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
