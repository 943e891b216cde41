/* SPDX-License-Identifier: MIT */
/*
 * Integration tests of client lines (src/net/line.c) on loopback: connect and echo,
 * fail-over across hosts with wrap-around, IPv6 literal, "localhost", an unresolvable name,
 * peer close and reconnect, connect timeout, the back-off sequence with an injected random
 * source, pl_line_drop, freeing from inside callbacks, the output limit and local bind.
 *
 * The peers are small libuv servers written here (not pl_listener) so that a listener bug
 * cannot hide a line bug. Ports are picked by the kernel (bind port 0, read back); the loop
 * is driven with uv_run and a watchdog timer, never sleep; every test closes every handle
 * and asserts uv_loop_close() == 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "net/internal.h"
#include "plcline/error.h"
#include "plcline/line.h"
#include "ports.h"
#include "skip.h"

/* --- loop, watchdog ------------------------------------------------------------------- */

static uv_loop_t loop;
static uv_timer_t watchdog;
static int watchdog_fired;

static void watchdog_cb(uv_timer_t *t)
{
    (void)t;
    watchdog_fired = 1;
}

/* Runs the loop until `cond` holds or `ms` pass; asserts `cond`. */
#define RUN_UNTIL(cond, ms)                              \
    do {                                                 \
        watchdog_fired = 0;                              \
        uv_timer_start(&watchdog, watchdog_cb, (ms), 0); \
        while (!(cond) && !watchdog_fired)               \
            uv_run(&loop, UV_RUN_ONCE);                  \
        uv_timer_stop(&watchdog);                        \
        assert_true(cond);                               \
    } while (0)

/* Runs the loop for `ms` (to show that nothing more happens). */
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
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pl_test_dead_ports_release();
    /* A test that failed half-way leaves handles open: the loop gets 5 s to close what is
     * closing, then uv_loop_close() fails the test instead of a run that never ends. */
    watchdog_fired = 0;
    uv_timer_start(&watchdog, watchdog_cb, 5000, 0);
    uv_unref((uv_handle_t *)&watchdog);
    while (uv_loop_alive(&loop) && !watchdog_fired)
        uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&watchdog, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(uv_loop_close(&loop), 0);
    return 0;
}

/* --- host lists filled by hand (pl_hostlist_parse belongs to the codec layer) ---------- */

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

/* --- test servers: echo, kick (close each partner on demand), hold (never read) --------- */

enum srv_mode { SRV_ECHO, SRV_HOLD };

#define SRV_MAX_CONNS 64

typedef struct srv srv_t;
typedef struct {
    uv_tcp_t tcp;
    srv_t *srv;
    int open;
} srv_conn_t;

struct srv {
    uv_tcp_t tcp;
    enum srv_mode mode;
    uint16_t port;
    int accepts;
    int open; /* listening handle open */
    char last_peer[PL_NET_ADDR_MAX];
    srv_conn_t *conns[SRV_MAX_CONNS];
    int nconns;
};

static void srv_conn_close_cb(uv_handle_t *h)
{
    free(h->data);
}

static void srv_alloc(uv_handle_t *h, size_t sz, uv_buf_t *buf)
{
    (void)h;
    buf->base = malloc(sz);
    buf->len = buf->base != NULL ? sz : 0;
}

static void srv_write_cb(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static void srv_conn_drop(srv_conn_t *c)
{
    int i;

    if (!c->open)
        return;
    c->open = 0;
    for (i = 0; i < c->srv->nconns; i++)
        if (c->srv->conns[i] == c)
            c->srv->conns[i] = NULL;
    uv_close((uv_handle_t *)&c->tcp, srv_conn_close_cb);
}

static void srv_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    srv_conn_t *c = st->data;

    if (n > 0) {
        uv_write_t *w = malloc(sizeof(*w) + (size_t)n);
        uv_buf_t b;
        assert_non_null(w);
        memcpy(w + 1, buf->base, (size_t)n);
        b = uv_buf_init((char *)(w + 1), (unsigned)n);
        assert_int_equal(uv_write(w, st, &b, 1, srv_write_cb), 0);
    } else if (n < 0) {
        srv_conn_drop(c);
    }
    free(buf->base);
}

static void srv_on_conn(uv_stream_t *server, int status)
{
    srv_t *s = server->data;
    srv_conn_t *c;
    struct sockaddr_storage ss;
    int len = (int)sizeof(ss);

    assert_int_equal(status, 0);
    c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->srv = s;
    c->open = 1;
    uv_tcp_init(&loop, &c->tcp);
    c->tcp.data = c;
    assert_int_equal(uv_accept(server, (uv_stream_t *)&c->tcp), 0);
    assert_int_equal(uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len), 0);
    pl_net_addr_format((struct sockaddr *)&ss, 0, s->last_peer, sizeof(s->last_peer));
    s->accepts++;
    assert_true(s->nconns < SRV_MAX_CONNS);
    s->conns[s->nconns++] = c;
    if (s->mode == SRV_ECHO)
        assert_int_equal(uv_read_start((uv_stream_t *)&c->tcp, srv_alloc, srv_read), 0);
}

static void srv_closed(uv_handle_t *h)
{
    ((srv_t *)h->data)->open = 0;
}

/* Starts a server on `addr` port 0. Returns 0 or a libuv error (no IPv6, ...). */
static int srv_start(srv_t *s, const char *addr, enum srv_mode mode)
{
    struct sockaddr_storage ss;
    int len = (int)sizeof(ss);
    int r;

    memset(s, 0, sizeof(*s));
    s->mode = mode;
    assert_int_equal(pl_net_parse_ip(addr, 0, &ss), 0);
    assert_int_equal(uv_tcp_init(&loop, &s->tcp), 0);
    s->tcp.data = s;
    s->open = 1;
    r = uv_tcp_bind(&s->tcp, (struct sockaddr *)&ss, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&s->tcp, 128, srv_on_conn);
    if (r == 0)
        r = uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&ss, &len);
    if (r != 0) {
        uv_close((uv_handle_t *)&s->tcp, srv_closed);
        while (s->open)
            uv_run(&loop, UV_RUN_NOWAIT);
        return r;
    }
    s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port); /* same offset for IPv6 */
    return 0;
}

/* Resets every partner of `s` (they see ECONNRESET). */
static void srv_reset(srv_t *s)
{
    int i;

    for (i = 0; i < s->nconns; i++) {
        srv_conn_t *c = s->conns[i];
        if (c == NULL || !c->open)
            continue;
        c->open = 0;
        s->conns[i] = NULL;
        assert_int_equal(uv_tcp_close_reset(&c->tcp, srv_conn_close_cb), 0);
    }
}

/* Closes every partner of `s` (they see EOF). */
static void srv_kick(srv_t *s)
{
    int i;

    for (i = 0; i < s->nconns; i++)
        if (s->conns[i] != NULL)
            srv_conn_drop(s->conns[i]);
}

/* Closes `s` and its partners; returns once the handle is closed (`s` may be on the stack). */
static void srv_stop(srv_t *s)
{
    srv_kick(s);
    if (!s->open)
        return;
    uv_close((uv_handle_t *)&s->tcp, srv_closed);
    while (s->open)
        uv_run(&loop, UV_RUN_NOWAIT);
}

/* A loopback port that refuses connections, held until teardown (tests/support/ports.h). */
static uint16_t dead_port(void)
{
    return pl_test_dead_port("127.0.0.1");
}

/* --- line callbacks recording what happened ------------------------------------------- */

#define MAX_EVENTS 32

typedef struct {
    pl_line_t *line;
    int ups, downs;
    unsigned up_host[MAX_EVENTS];
    pl_status_t down[MAX_EVENTS];
    unsigned down_retry[MAX_EVENTS]; /* pl_line_retry_ms() seen in on_down */
    uint64_t down_at[MAX_EVENTS];    /* uv_now() at on_down */
    uint64_t attempt_after[MAX_EVENTS];
    uint8_t rx[256];
    size_t nrx;
    const char *send_on_up; /* sent when the line comes up */
    int free_in_data, free_in_down, stop_in_data, drop_in_data, stop_in_up;
    int in_drop; /* inside our pl_line_drop() call */
    int nested_down;
    int after_free_calls;
} rec_t;

static void rec_up(pl_line_t *line, void *ud)
{
    rec_t *r = ud;

    if (r->line == NULL) {
        r->after_free_calls++;
        return;
    }
    assert_ptr_equal(line, r->line);
    if (r->ups < MAX_EVENTS)
        r->up_host[r->ups] = pl_line_host_index(line);
    r->ups++;
    if (r->send_on_up != NULL)
        assert_int_equal(pl_line_send(line, (const uint8_t *)r->send_on_up, strlen(r->send_on_up)),
                         0);
    if (r->stop_in_up)
        pl_line_stop(line);
}

static void rec_data(pl_line_t *line, const uint8_t *buf, size_t len, void *ud)
{
    rec_t *r = ud;
    pl_status_t st;

    if (r->line == NULL) {
        r->after_free_calls++;
        return;
    }
    assert_ptr_equal(line, r->line);
    if (r->nrx + len <= sizeof(r->rx)) {
        memcpy(r->rx + r->nrx, buf, len);
        r->nrx += len;
    }
    if (r->free_in_data) {
        pl_line_free(line);
        r->line = NULL;
    } else if (r->stop_in_data) {
        pl_line_stop(line);
    } else if (r->drop_in_data) {
        r->drop_in_data = 0;
        pl_status_set(&st, PL_ETIMEOUT, 0, "test: no answer");
        r->in_drop = 1;
        pl_line_drop(line, &st);
        r->in_drop = 0;
    }
}

static void rec_down(pl_line_t *line, const pl_status_t *why, void *ud)
{
    rec_t *r = ud;

    if (r->line == NULL) {
        r->after_free_calls++;
        return;
    }
    assert_ptr_equal(line, r->line);
    if (r->in_drop)
        r->nested_down++;
    if (r->downs < MAX_EVENTS) {
        r->down[r->downs] = *why;
        r->down_retry[r->downs] = pl_line_retry_ms(line);
        r->down_at[r->downs] = uv_now(&loop);
    }
    r->downs++;
    assert_int_equal(pl_line_state(line), PL_LINE_BACKOFF);
    assert_string_equal(pl_line_peer(line), "");
    if (r->free_in_down) {
        pl_line_free(line);
        r->line = NULL;
    }
}

static const pl_line_cbs_t rec_cbs = {.on_up = rec_up, .on_data = rec_data, .on_down = rec_down};

static pl_line_t *line_make(rec_t *r, pl_line_config_t *cfg)
{
    pl_line_t *line = NULL;

    if (cfg->backoff_min_ms == 100) /* defaults: keep the tests quick */
        cfg->backoff_min_ms = 10;
    assert_int_equal(pl_line_new(&loop, cfg, &rec_cbs, r, &line), 0);
    r->line = line;
    return line;
}

static void line_config(pl_line_config_t *cfg, unsigned n, const char *const *names,
                        const uint16_t *ports)
{
    pl_line_config_init(cfg);
    hosts_set(&cfg->hosts, n, names, ports);
}

/* --- tests ---------------------------------------------------------------------------- */

static void test_backoff_formula(void **state)
{
    (void)state;
    assert_int_equal(pl_net_backoff(100, 10000, 0, 0), 0);
    /* base 100: 75 + 0 -> clamped up to the minimum */
    assert_int_equal(pl_net_backoff(100, 10000, 1, 0), 100);
    assert_int_equal(pl_net_backoff(100, 10000, 1, 50), 125);     /* 75 + 50 % 51 */
    assert_int_equal(pl_net_backoff(100, 10000, 2, 7), 157);      /* base 200: 150 + 7 */
    assert_int_equal(pl_net_backoff(100, 10000, 3, 200), 500);    /* base 400: 300 + 200 */
    assert_int_equal(pl_net_backoff(100, 10000, 8, 0), 7500);     /* base 12800 -> 10000 */
    assert_int_equal(pl_net_backoff(100, 10000, 8, 5000), 10000); /* clamped to the max */
    assert_int_equal(pl_net_backoff(100, 10000, 64, 1), 7501);    /* no overflow */
    assert_int_equal(pl_net_backoff(0xffffffffu, 0xffffffffu, 64, 0), 0xffffffffu);
}

static void test_new_invalid(void **state)
{
    pl_line_config_t cfg;
    pl_line_t *line = (pl_line_t *)&cfg;
    rec_t r;
    static const char *const one[] = {"127.0.0.1"};
    static const uint16_t p[] = {502};

    (void)state;
    memset(&r, 0, sizeof(r));
    pl_line_config_init(&cfg);
    assert_int_equal(pl_line_new(&loop, &cfg, &rec_cbs, &r, &line), PL_EINVAL); /* no hosts */
    assert_null(line);
    line_config(&cfg, 1, one, NULL);
    assert_int_equal(pl_line_new(&loop, &cfg, &rec_cbs, &r, &line), PL_EINVAL); /* no port */
    line_config(&cfg, 1, one, p);
    cfg.backoff_min_ms = 500;
    cfg.backoff_max_ms = 100;
    assert_int_equal(pl_line_new(&loop, &cfg, &rec_cbs, &r, &line), PL_EINVAL);
    line_config(&cfg, 1, one, p);
    cfg.local_addr = "not-an-address";
    assert_int_equal(pl_line_new(&loop, &cfg, &rec_cbs, &r, &line), PL_EINVAL);
    line_config(&cfg, 1, one, p);
    cfg.hosts.host[0].name = PL_HOSTLIST_TEXT;
    assert_int_equal(pl_line_new(&loop, &cfg, &rec_cbs, &r, &line), PL_EINVAL);
    line_config(&cfg, 1, one, p);
    assert_int_equal(pl_line_new(NULL, &cfg, &rec_cbs, &r, &line), PL_EINVAL);

    /* A fresh line is idle and never called back; a send is refused. */
    assert_int_equal(pl_line_new(&loop, &cfg, &rec_cbs, &r, &line), 0);
    assert_int_equal(pl_line_state(line), PL_LINE_IDLE);
    assert_int_equal(pl_line_last_error(line)->code, 0);
    assert_int_equal(pl_line_send(line, (const uint8_t *)"x", 1), PL_ECLOSING);
    pl_line_drop(line, NULL); /* not up: no-op */
    pl_line_free(line);
    run_for(20);
    assert_int_equal(r.ups + r.downs, 0);
}

static void test_echo(void **state)
{
    srv_t s;
    pl_line_config_t cfg;
    rec_t r;
    pl_line_t *line;
    char want[PL_NET_ADDR_MAX];
    static const char *const h[] = {"127.0.0.1"};
    const pl_line_stats_t *st;

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(srv_start(&s, "127.0.0.1", SRV_ECHO), 0);
    line_config(&cfg, 1, h, NULL);
    cfg.port = s.port;
    r.send_on_up = "hello, line";
    line = line_make(&r, &cfg);
    assert_int_equal(pl_line_start(line), 0);
    assert_int_equal(pl_line_start(line), 0); /* no-op when started */
    assert_int_equal(pl_line_state(line), PL_LINE_RESOLVING);
    RUN_UNTIL(r.nrx == 11, 5000);
    assert_memory_equal(r.rx, "hello, line", 11);
    assert_int_equal(r.ups, 1);
    assert_int_equal(r.downs, 0);
    assert_int_equal(pl_line_state(line), PL_LINE_UP);
    assert_int_equal(pl_line_host_index(line), 0);
    snprintf(want, sizeof(want), "127.0.0.1:%u", (unsigned)s.port);
    assert_string_equal(pl_line_peer(line), want);
    st = pl_line_stats(line);
    assert_int_equal(st->connects, 1);
    assert_int_equal(st->failures, 0);
    assert_int_equal(st->bytes_out, 11);
    assert_int_equal(st->bytes_in, 11);

    /* An idle connected line: the line block and its socket, nothing queued. */
    assert_int_equal(pl_line_heap_blocks(line), 2);
    print_message("line: sizeof(struct pl_line_s) = %zu, socket object = %zu, "
                  "uv_tcp_t = %zu, uv_timer_t = %zu, receive buffer = %u\n",
                  pl_line_sizeof(), pl_line_sock_sizeof(), sizeof(uv_tcp_t), sizeof(uv_timer_t),
                  PL_NET_RBUF);
    assert_true(pl_line_sizeof() + pl_line_sock_sizeof() < 8192);

    /* Stop: no on_down for this close; the state is idle; no more callbacks. */
    pl_line_stop(line);
    assert_int_equal(pl_line_state(line), PL_LINE_IDLE);
    assert_string_equal(pl_line_peer(line), "");
    run_for(30);
    assert_int_equal(r.downs, 0);
    assert_int_equal(pl_line_send(line, (const uint8_t *)"x", 1), PL_ECLOSING);

    /* Start again: connects again to host 0. */
    r.send_on_up = NULL;
    assert_int_equal(pl_line_start(line), 0);
    RUN_UNTIL(r.ups == 2, 5000);
    pl_line_free(line);
    srv_stop(&s);
}

/* A line over one side's hosts (a protocol that drives its redundancy itself holds one line
 * per side): hosts_side = PL_LINE_BACKUP makes its connection the backup side's in
 * pl_line_active() and pl_line_side_state(); with a backup of its own it is refused. */
static void test_hosts_side(void **state)
{
    srv_t s;
    pl_line_config_t cfg;
    rec_t r;
    pl_line_t *line, *bad = NULL;
    pl_line_side_info_t pi, bi;
    pl_line_side_t side = PL_LINE_PRIMARY;
    static const char *const h[] = {"127.0.0.1"};

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(srv_start(&s, "127.0.0.1", SRV_ECHO), 0);
    line_config(&cfg, 1, h, NULL);
    cfg.port = s.port;
    cfg.hosts_side = PL_LINE_BACKUP;
    cfg.use_backup = 1;
    hosts_set(&cfg.backup, 1, h, NULL);
    assert_int_equal(pl_line_new(&loop, &cfg, &rec_cbs, &r, &bad), PL_EINVAL);
    cfg.use_backup = 0;
    cfg.hosts_side = (pl_line_side_t)2;
    assert_int_equal(pl_line_new(&loop, &cfg, &rec_cbs, &r, &bad), PL_EINVAL);
    assert_null(bad);
    cfg.hosts_side = PL_LINE_BACKUP;
    line = line_make(&r, &cfg);
    assert_int_equal(pl_line_start(line), 0);
    RUN_UNTIL(r.ups == 1, 5000);
    assert_int_equal(pl_line_active(line, &side, NULL), 0);
    assert_int_equal(side, PL_LINE_BACKUP);
    assert_int_equal(pl_line_side_state(line, PL_LINE_BACKUP, &bi), 0);
    assert_int_equal(pl_line_side_state(line, PL_LINE_PRIMARY, &pi), 0);
    assert_int_equal(bi.configured, 1);
    assert_int_equal(bi.active, 1);
    assert_int_equal(bi.state, PL_LINE_UP);
    assert_int_equal(bi.connects, 1);
    assert_int_equal(pi.configured, 0);
    assert_int_equal(pi.connects, 0);
    assert_int_equal(pl_line_switchovers(line), 0);
    pl_line_free(line);
    srv_stop(&s);
}

static void test_failover_and_wrap(void **state)
{
    srv_t a, b;
    pl_line_config_t cfg;
    rec_t r;
    pl_line_t *line;
    uint16_t dead = dead_port();
    char want[64];
    const char *names[] = {"127.0.0.1", "127.0.0.1", "127.0.0.1"};
    uint16_t ports[3];

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(srv_start(&a, "127.0.0.1", SRV_ECHO), 0);
    assert_int_equal(srv_start(&b, "127.0.0.1", SRV_ECHO), 0);
    ports[0] = dead;
    ports[1] = a.port;
    ports[2] = b.port;
    line_config(&cfg, 3, names, ports);
    line = line_make(&r, &cfg);
    assert_int_equal(pl_line_start(line), 0);

    /* host 0 refuses: on_down with connect failed, then host 1 serves */
    RUN_UNTIL(r.ups == 1, 5000);
    assert_int_equal(r.downs, 1);
    assert_int_equal(r.down[0].code, PL_ECONNECT);
    assert_int_equal(r.down[0].sys, UV_ECONNREFUSED);
    snprintf(want, sizeof(want), "127.0.0.1:%u", (unsigned)dead);
    assert_string_equal(r.down[0].detail, want);
    assert_int_equal(r.up_host[0], 1);
    assert_int_equal(a.accepts, 1);

    /* host 1 closes: RECV_00, the line goes on to host 2 */
    srv_kick(&a);
    RUN_UNTIL(r.ups == 2, 5000);
    assert_int_equal(r.down[1].code, PL_ERECV_00);
    assert_int_equal(r.up_host[1], 2);
    assert_int_equal(b.accepts, 1);

    /* host 2 closes: wraps to host 0 (refused again), then host 1 */
    srv_kick(&b);
    RUN_UNTIL(r.ups == 3, 5000);
    assert_int_equal(r.downs, 4);
    assert_int_equal(r.down[2].code, PL_ERECV_00);
    assert_int_equal(r.down[3].code, PL_ECONNECT);
    assert_int_equal(r.up_host[2], 1);
    assert_int_equal(a.accepts, 2);
    assert_int_equal(pl_line_stats(line)->connects, 3);
    assert_int_equal(pl_line_stats(line)->failures, 4);
    assert_int_equal(pl_line_last_error(line)->code, PL_ECONNECT);

    pl_line_free(line);
    srv_stop(&a);
    srv_stop(&b);
}

static void test_peer_close_reconnects(void **state)
{
    srv_t s;
    pl_line_config_t cfg;
    rec_t r;
    pl_line_t *line;
    static const char *const h[] = {"127.0.0.1"};

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(srv_start(&s, "127.0.0.1", SRV_ECHO), 0);
    line_config(&cfg, 1, h, NULL);
    cfg.port = s.port;
    line = line_make(&r, &cfg);
    pl_line_start(line);
    RUN_UNTIL(r.ups == 1, 5000);
    srv_kick(&s);
    RUN_UNTIL(r.ups == 2, 5000);
    assert_int_equal(r.downs, 1);
    assert_int_equal(r.down[0].code, PL_ERECV_00);
    assert_int_equal(r.down[0].sys, UV_EOF);
    assert_int_equal(r.up_host[1], 0); /* one host: wraps onto itself */
    assert_int_equal(s.accepts, 2);

    /* a reset instead of an orderly close: RECV_FF with the OS reason */
    srv_reset(&s);
    RUN_UNTIL(r.ups == 3, 5000);
    assert_int_equal(r.downs, 2);
    assert_int_equal(r.down[1].code, PL_ERECV_FF);
    assert_int_equal(r.down[1].sys, UV_ECONNRESET);
    pl_line_free(line);
    srv_stop(&s);
}

static void test_ipv6_literal(void **state)
{
    srv_t s;
    pl_line_config_t cfg;
    rec_t r;
    pl_line_t *line;
    char want[64];
    static const char *const h[] = {"::1"};
    int rc;

    (void)state;
    memset(&r, 0, sizeof(r));
    rc = srv_start(&s, "::1", SRV_ECHO);
    /* only "no IPv6 here" may skip; any other failure to listen on ::1 is a failure */
    if (rc == UV_EADDRNOTAVAIL || rc == UV_EAFNOSUPPORT)
        PL_SKIP("no IPv6 loopback here: %s", uv_strerror(rc));
    assert_int_equal(rc, 0);
    line_config(&cfg, 1, h, NULL);
    cfg.port = s.port;
    r.send_on_up = "v6";
    line = line_make(&r, &cfg);
    pl_line_start(line);
    RUN_UNTIL(r.nrx == 2, 5000);
    snprintf(want, sizeof(want), "[::1]:%u", (unsigned)s.port);
    assert_string_equal(pl_line_peer(line), want);
    assert_string_equal(s.last_peer, "::1");
    pl_line_free(line);
    srv_stop(&s);
}

static void test_localhost(void **state)
{
    srv_t s4;
    pl_line_config_t cfg;
    rec_t r;
    pl_line_t *line;
    static const char *const h[] = {"localhost"};

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(srv_start(&s4, "127.0.0.1", SRV_ECHO), 0);
    line_config(&cfg, 1, h, NULL);
    cfg.port = s4.port;
    r.send_on_up = "name";
    line = line_make(&r, &cfg);
    pl_line_start(line);
    assert_int_equal(pl_line_state(line), PL_LINE_RESOLVING);
    RUN_UNTIL(r.nrx == 4, 10000);
    /* If ::1 came first and nobody listened there, the line tried the next address of
     * the same name before reporting anything. */
    assert_int_equal(r.downs, 0);
    assert_int_equal(pl_line_host_index(line), 0);
    pl_line_free(line);

    /* freed while the lookup runs on the threadpool: no callback, nothing leaks */
    memset(&r, 0, sizeof(r));
    line = line_make(&r, &cfg);
    pl_line_start(line);
    uv_run(&loop, UV_RUN_NOWAIT); /* the 0 ms timer starts the lookup */
    if (pl_line_heap_blocks(line) == 2)
        print_message("lookup pending at free\n");
    pl_line_free(line);
    r.line = NULL;
    run_for(50);
    assert_int_equal(r.ups + r.downs, 0);
    srv_stop(&s4);
}

static void test_unresolvable_name(void **state)
{
    srv_t s;
    pl_line_config_t cfg;
    rec_t r;
    pl_line_t *line;
    static const char *const h[] = {"nonexistent.invalid", "127.0.0.1"};
    uint16_t ports[2];
    char want[64];

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(srv_start(&s, "127.0.0.1", SRV_ECHO), 0);
    ports[0] = 12398;
    ports[1] = s.port;
    line_config(&cfg, 2, h, ports);
    line = line_make(&r, &cfg);
    pl_line_start(line);
    RUN_UNTIL(r.ups == 1, 30000);
    assert_int_equal(r.downs, 1);
    assert_int_equal(r.down[0].code, PL_ERESOLVE);
    assert_true(r.down[0].sys < 0);
    assert_string_equal(r.down[0].detail, "nonexistent.invalid:12398");
    assert_int_equal(r.up_host[0], 1);
    snprintf(want, sizeof(want), "127.0.0.1:%u", (unsigned)s.port);
    assert_string_equal(pl_line_peer(line), want);
    pl_line_free(line);
    srv_stop(&s);
}

/* A listening socket whose accept queue is full drops SYNs on Linux, so a connect to it
 * hangs: a black hole on loopback. Returns the fd (and fillers) or -1. */
static int black_hole(uint16_t *port, int fill[2])
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int i;

    if (fd < 0)
        return -1;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(fd, 0) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sin.sin_port);
    for (i = 0; i < 2; i++) { /* backlog 0 holds one connection; two to be sure */
        fill[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fill[i] >= 0) {
            fcntl(fill[i], F_SETFL, O_NONBLOCK);
            (void)connect(fill[i], (struct sockaddr *)&sin, sizeof(sin));
        }
    }
    return fd;
}

static void test_connect_timeout(void **state)
{
    pl_line_config_t cfg;
    rec_t r;
    pl_line_t *line;
    uint16_t port = 0;
    int fill[2] = {-1, -1};
    int fd = black_hole(&port, fill);
    static const char *const h[] = {"127.0.0.1"};
    uint64_t t0;
    char want[64];

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_true(fd >= 0);
    line_config(&cfg, 1, h, NULL);
    cfg.port = port;
    cfg.connect_timeout_ms = 200;
    cfg.backoff_min_ms = 1000; /* no second attempt within the test */
    line = line_make(&r, &cfg);
    uv_update_time(&loop);
    t0 = uv_now(&loop);
    pl_line_start(line);
    RUN_UNTIL(r.downs + r.ups >= 1, 5000);
    if (r.ups > 0) {
        /* This kernel completed the handshake anyway: no black hole on this loopback. */
        pl_line_free(line);
        close(fd);
        close(fill[0]);
        close(fill[1]);
        PL_SKIP("loopback has no black hole here (accept queue overflow does not drop "
                "SYNs): the connect timeout is not exercised");
    }
    assert_int_equal(pl_line_state(line), PL_LINE_BACKOFF);
    assert_int_equal(r.down[0].code, PL_ECONNECT);
    assert_int_equal(r.down[0].sys, UV_ETIMEDOUT);
    snprintf(want, sizeof(want), "127.0.0.1:%u", (unsigned)port);
    assert_string_equal(r.down[0].detail, want);
    assert_true(r.down_at[0] - t0 >= 200);
    pl_line_free(line);
    close(fd);
    close(fill[0]);
    close(fill[1]);
}

static uint32_t fixed_random(void *ud)
{
    (void)ud;
    return 7;
}

static uint64_t fake_clock(void *ud)
{
    uint64_t *t = ud;
    return *t += 1000;
}

static void test_backoff_sequence(void **state)
{
    srv_t s;
    pl_line_config_t cfg;
    rec_t r;
    pl_line_t *line;
    uint64_t clock = 0;
    uint16_t ports[2];
    static const char *const h[] = {"127.0.0.1", "127.0.0.1"};
    int i;

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(srv_start(&s, "127.0.0.1", SRV_ECHO), 0);

    /* One dead host only: the back-off grows 22, 37, 67, 82, 82 ms (min 20, max 100,
     * rnd 7): base 20,40,80,100,100 -> base*3/4 + 7 % (base/2+1), at least min. */
    ports[0] = dead_port();
    ports[1] = s.port;
    line_config(&cfg, 1, h, ports);
    cfg.backoff_min_ms = 20;
    cfg.backoff_max_ms = 100;
    cfg.random = fixed_random;
    cfg.now_ms = fake_clock;
    cfg.clock_ud = &clock;
    line = line_make(&r, &cfg);
    pl_line_start(line);
    RUN_UNTIL(r.downs == 5, 5000);
    assert_int_equal(r.down_retry[0], 22);
    assert_int_equal(r.down_retry[1], 37);
    assert_int_equal(r.down_retry[2], 67);
    assert_int_equal(r.down_retry[3], 82);
    assert_int_equal(r.down_retry[4], 82);
    /* the timers honour the chosen delays (uv time; ms granularity) */
    for (i = 1; i < 5; i++)
        assert_true(r.down_at[i] - r.down_at[i - 1] >= r.down_retry[i - 1]);
    pl_line_free(line);

    /* Dead host then a live one: fail (22), connect (reset), break (22 again: after a
     * break the next host is tried after the minimum), fail (37), connect. */
    memset(&r, 0, sizeof(r));
    line_config(&cfg, 2, h, ports);
    cfg.backoff_min_ms = 20;
    cfg.backoff_max_ms = 100;
    cfg.random = fixed_random;
    cfg.now_ms = fake_clock;
    cfg.clock_ud = &clock;
    line = line_make(&r, &cfg);
    pl_line_start(line);
    RUN_UNTIL(r.ups == 1, 5000);
    srv_kick(&s);
    RUN_UNTIL(r.ups == 2, 5000);
    assert_int_equal(r.downs, 3);
    assert_int_equal(r.down[0].code, PL_ECONNECT);
    assert_int_equal(r.down_retry[0], 22);
    assert_int_equal(r.down[1].code, PL_ERECV_00);
    assert_int_equal(r.down_retry[1], 22);
    assert_int_equal(r.down[2].code, PL_ECONNECT);
    assert_int_equal(r.down_retry[2], 37);
    assert_int_equal(pl_line_retry_ms(line), 0);
    pl_line_free(line);
    srv_stop(&s);
}

static void test_drop_moves_on(void **state)
{
    srv_t a, b;
    pl_line_config_t cfg;
    rec_t r;
    pl_line_t *line;
    static const char *const h[] = {"127.0.0.1", "127.0.0.1"};
    uint16_t ports[2];

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(srv_start(&a, "127.0.0.1", SRV_ECHO), 0);
    assert_int_equal(srv_start(&b, "127.0.0.1", SRV_ECHO), 0);
    ports[0] = a.port;
    ports[1] = b.port;
    line_config(&cfg, 2, h, ports);
    r.send_on_up = "?";
    r.drop_in_data = 1;
    line = line_make(&r, &cfg);
    pl_line_start(line);
    RUN_UNTIL(r.ups == 2, 5000);
    assert_int_equal(r.nested_down, 0); /* on_down never inside pl_line_drop() */
    assert_int_equal(r.downs, 1);
    assert_int_equal(r.down[0].code, PL_ETIMEOUT);
    assert_string_equal(r.down[0].detail, "test: no answer");
    assert_int_equal(r.up_host[0], 0);
    assert_int_equal(r.up_host[1], 1);
    assert_int_equal(pl_line_last_error(line)->code, PL_ETIMEOUT);
    pl_line_free(line);
    srv_stop(&a);
    srv_stop(&b);
}

static void test_free_in_on_data(void **state)
{
    srv_t s;
    pl_line_config_t cfg;
    rec_t r;
    pl_line_t *line;
    static const char *const h[] = {"127.0.0.1"};

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(srv_start(&s, "127.0.0.1", SRV_ECHO), 0);
    line_config(&cfg, 1, h, NULL);
    cfg.port = s.port;
    r.send_on_up = "free me";
    r.free_in_data = 1;
    line = line_make(&r, &cfg);
    pl_line_start(line);
    RUN_UNTIL(r.line == NULL, 5000);
    run_for(30);
    assert_int_equal(r.after_free_calls, 0);
    assert_int_equal(r.downs, 0);
    srv_stop(&s);
}

static void test_stop_in_callbacks(void **state)
{
    srv_t s;
    pl_line_config_t cfg;
    rec_t r;
    pl_line_t *line;
    static const char *const h[] = {"127.0.0.1"};

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(srv_start(&s, "127.0.0.1", SRV_ECHO), 0);
    line_config(&cfg, 1, h, NULL);
    cfg.port = s.port;
    r.send_on_up = "stop";
    r.stop_in_data = 1;
    line = line_make(&r, &cfg);
    pl_line_start(line);
    RUN_UNTIL(r.nrx > 0, 5000);
    assert_int_equal(pl_line_state(line), PL_LINE_IDLE);
    run_for(30);
    assert_int_equal(r.downs, 0);
    assert_int_equal(r.ups, 1);

    /* stop inside on_up, restart, free */
    r.stop_in_data = 0;
    r.send_on_up = NULL;
    r.stop_in_up = 1;
    pl_line_start(line);
    RUN_UNTIL(r.ups == 2, 5000);
    assert_int_equal(pl_line_state(line), PL_LINE_IDLE);
    run_for(30);
    assert_int_equal(r.downs, 0);
    pl_line_free(line);
    srv_stop(&s);
}

static void test_free_in_on_down(void **state)
{
    srv_t s;
    pl_line_config_t cfg;
    rec_t r;
    pl_line_t *line;
    static const char *const h[] = {"127.0.0.1"};
    uint16_t ports[1];

    (void)state;
    /* after a failed attempt */
    memset(&r, 0, sizeof(r));
    ports[0] = dead_port();
    line_config(&cfg, 1, h, ports);
    r.free_in_down = 1;
    line = line_make(&r, &cfg);
    pl_line_start(line);
    RUN_UNTIL(r.line == NULL, 5000);
    run_for(30);
    assert_int_equal(r.downs, 1);
    assert_int_equal(r.after_free_calls, 0);

    /* after a broken connection */
    memset(&r, 0, sizeof(r));
    assert_int_equal(srv_start(&s, "127.0.0.1", SRV_ECHO), 0);
    ports[0] = s.port;
    line_config(&cfg, 1, h, ports);
    r.free_in_down = 1;
    line = line_make(&r, &cfg);
    pl_line_start(line);
    RUN_UNTIL(r.ups == 1, 5000);
    srv_kick(&s);
    RUN_UNTIL(r.line == NULL, 5000);
    run_for(30);
    assert_int_equal(r.downs, 1);
    assert_int_equal(r.down[0].code, PL_ERECV_00);
    assert_int_equal(r.after_free_calls, 0);

    /* a pending deferred on_down (pl_line_drop) is cancelled by pl_line_free */
    memset(&r, 0, sizeof(r));
    line = line_make(&r, &cfg);
    pl_line_start(line);
    RUN_UNTIL(r.ups == 1, 5000);
    pl_line_drop(line, NULL);
    assert_int_equal(pl_line_state(line), PL_LINE_BACKOFF);
    assert_int_equal(pl_line_last_error(line)->code, PL_EPROTO);
    pl_line_free(line);
    r.line = NULL;
    run_for(30);
    assert_int_equal(r.downs, 0);
    assert_int_equal(r.after_free_calls, 0);
    srv_stop(&s);
}

static void test_output_limit(void **state)
{
    srv_t s;
    pl_line_config_t cfg;
    rec_t r;
    pl_line_t *line;
    static const char *const h[] = {"127.0.0.1"};
    static uint8_t chunk[16384];
    uint8_t *big;
    size_t sent = 0;
    int rc = 0;
    int i;

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(srv_start(&s, "127.0.0.1", SRV_HOLD), 0); /* never reads */
    line_config(&cfg, 1, h, NULL);
    cfg.port = s.port;
    line = line_make(&r, &cfg);
    pl_line_start(line);
    RUN_UNTIL(r.ups == 1, 5000);

    big = calloc(1, PL_LINE_MAX_OUTPUT + 1);
    assert_non_null(big);
    assert_int_equal(pl_line_send(line, big, PL_LINE_MAX_OUTPUT + 1), PL_ENOBUFS);
    free(big);
    assert_int_equal(pl_line_send(line, NULL, 1), PL_EINVAL);
    assert_int_equal(pl_line_send(line, chunk, 0), 0);

    /* Fill the kernel buffers, then the 64 KiB queue. */
    for (i = 0; i < 100000; i++) {
        rc = pl_line_send(line, chunk, sizeof(chunk));
        if (rc != 0)
            break;
        sent += sizeof(chunk);
    }
    assert_int_equal(rc, PL_ENOBUFS);
    assert_true(pl_line_heap_blocks(line) > 2); /* chunks are queued */
    assert_int_equal(pl_line_stats(line)->bytes_out, sent);
    assert_int_equal(pl_line_state(line), PL_LINE_UP); /* the line stays up */
    /* freeing with writes pending releases the chunks (ASan / valgrind check) */
    pl_line_free(line);
    srv_stop(&s);
}

static void test_local_bind(void **state)
{
    srv_t s;
    pl_line_config_t cfg;
    rec_t r;
    pl_line_t *line;
    static const char *const h[] = {"127.0.0.1"};

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(srv_start(&s, "127.0.0.1", SRV_ECHO), 0);

    /* bound to 127.0.0.2: the server sees that address */
    line_config(&cfg, 1, h, NULL);
    cfg.port = s.port;
    cfg.local_addr = "127.0.0.2";
    line = line_make(&r, &cfg);
    pl_line_start(line);
    RUN_UNTIL(r.ups == 1, 5000);
    assert_string_equal(s.last_peer, "127.0.0.2");
    pl_line_free(line);

    /* local port in use (the server's own listening port): PL_EBIND */
    memset(&r, 0, sizeof(r));
    cfg.local_addr = "127.0.0.1";
    cfg.local_port = s.port;
    cfg.backoff_min_ms = 1000;
    line = line_make(&r, &cfg);
    pl_line_start(line);
    RUN_UNTIL(r.downs == 1, 5000);
    assert_int_equal(r.down[0].code, PL_EBIND);
    assert_int_equal(r.down[0].sys, UV_EADDRINUSE);
    assert_non_null(strstr(r.down[0].detail, "127.0.0.1"));
    pl_line_free(line);

    /* local IPv6 address for an IPv4 partner: PL_EBIND */
    memset(&r, 0, sizeof(r));
    cfg.local_addr = "::1";
    cfg.local_port = 0;
    line = line_make(&r, &cfg);
    pl_line_start(line);
    RUN_UNTIL(r.downs == 1, 5000);
    assert_int_equal(r.down[0].code, PL_EBIND);
    assert_int_equal(r.down[0].sys, UV_EAFNOSUPPORT);
    pl_line_free(line);
    srv_stop(&s);
}

static int count_ups(const rec_t *r, int n)
{
    int i, up = 0;

    for (i = 0; i < n; i++)
        up += r[i].ups;
    return up;
}

static void test_many_idle_lines(void **state)
{
    enum { N = 50 };
    srv_t s;
    pl_line_config_t cfg;
    static rec_t r[N];
    static const char *const h[] = {"127.0.0.1"};
    int i;

    (void)state;
    memset(r, 0, sizeof(r));
    assert_int_equal(srv_start(&s, "127.0.0.1", SRV_ECHO), 0);
    line_config(&cfg, 1, h, NULL);
    cfg.port = s.port;
    for (i = 0; i < N; i++) {
        line_make(&r[i], &cfg);
        pl_line_start(r[i].line);
    }
    RUN_UNTIL(count_ups(r, N) == N, 10000);
    for (i = 0; i < N; i++) {
        assert_int_equal(pl_line_heap_blocks(r[i].line), 2);
        pl_line_free(r[i].line);
    }
    srv_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_formula),
        cmocka_unit_test_setup_teardown(test_new_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hosts_side, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_and_wrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_close_reconnects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_literal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_localhost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unresolvable_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backoff_sequence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_moves_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_in_on_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_in_callbacks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_in_on_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_bind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_idle_lines, setup, teardown),
    };
    return pl_test_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
