/* SPDX-License-Identifier: MIT */
/*
 * Integration tests of listeners (src/net/listener.c) on loopback: the bind addresses
 * ("127.0.0.1", NULL, "*", "ALL", "[*]", "[ALL]", "::1", "[::1]", a name), bind failures,
 * the allow list (a client bound to 127.0.0.2 through a line's local_addr), the connection
 * limit, the output limit against a partner that never reads, the frame-timeout sweep
 * (running only while a frame is incomplete), and on_close firing exactly
 * once however a connection ends (peer close, pl_conn_close, refusal in on_accept,
 * pl_listener_free, also from inside callbacks).
 *
 * Clients are pl_line_t lines (and one raw libuv socket that never reads). Ports are picked
 * by the kernel; the loop is driven with uv_run and a watchdog timer, never sleep; every
 * test closes every handle and asserts uv_loop_close() == 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>

#include "net/internal.h"
#include "plcline/error.h"
#include "plcline/line.h"
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

/* --- log capture ---------------------------------------------------------------------- */

static char warnings[4096];

static void log_cb(void *ud, pl_log_level_t level, const char *msg)
{
    size_t n = strlen(warnings);

    (void)ud;
    if (level <= PL_LOG_WARN && n + strlen(msg) + 2 < sizeof(warnings))
        snprintf(warnings + n, sizeof(warnings) - n, "%s\n", msg);
}

static const pl_logger_t logger = {.cb = log_cb, .level = PL_LOG_DEBUG};

static int setup(void **state)
{
    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_timer_init(&loop, &watchdog);
    warnings[0] = '\0';
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    uv_close((uv_handle_t *)&watchdog, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    return 0;
}

/* --- server side recorder --------------------------------------------------------------- */

#define MAX_CONNS 16

typedef struct {
    pl_conn_t *conn;
    int closes;
    int has_why;
    pl_status_t why;
    char peer[PL_NET_ADDR_MAX];
} slot_t;

typedef struct {
    pl_listener_t *lst;
    int accepts;
    slot_t slot[MAX_CONNS];
    int reject;        /* on_accept returns -1 */
    int close_in_data; /* pl_conn_close() from on_data */
    int free_in_data;  /* pl_listener_free() from on_data */
    int pump;          /* send until refused, from on_accept */
    int pump_result;
    size_t pumped;
    int in_close_call; /* inside our pl_conn_close() */
    int nested_close;
    int after_free_calls;
    int freed;
} srv_t;

static int srv_closes(const srv_t *s)
{
    int i, n = 0;

    for (i = 0; i < s->accepts && i < MAX_CONNS; i++)
        n += s->slot[i].closes;
    return n;
}

static int on_accept(pl_listener_t *lst, pl_conn_t *conn, void *ud)
{
    srv_t *s = ud;
    slot_t *sl;
    static uint8_t chunk[16384];
    int i;

    if (s->freed) {
        s->after_free_calls++;
        return -1;
    }
    assert_ptr_equal(lst, s->lst);
    assert_true(s->accepts < MAX_CONNS);
    sl = &s->slot[s->accepts++];
    sl->conn = conn;
    snprintf(sl->peer, sizeof(sl->peer), "%s", pl_conn_peer(conn));
    pl_conn_set_data(conn, sl);
    assert_ptr_equal(pl_conn_data(conn), sl);
    if (s->reject)
        return -1;
    if (s->pump) {
        for (i = 0; i < 100000; i++) {
            s->pump_result = pl_conn_send(conn, chunk, sizeof(chunk));
            if (s->pump_result != 0)
                break;
            s->pumped += sizeof(chunk);
        }
        assert_int_equal(pl_conn_send(conn, chunk, 1), PL_ECLOSING);
    }
    return 0;
}

static void on_data(pl_conn_t *conn, const uint8_t *buf, size_t len, void *ud)
{
    srv_t *s = ud;
    pl_status_t st;

    if (s->freed) {
        s->after_free_calls++;
        return;
    }
    assert_int_equal(pl_conn_send(conn, buf, len), 0); /* echo */
    if (s->close_in_data) {
        pl_status_set(&st, PL_EPROTO, 0, "test: garbage");
        s->in_close_call = 1;
        pl_conn_close(conn, &st);
        pl_conn_close(conn, NULL); /* second close: no-op */
        s->in_close_call = 0;
        assert_int_equal(pl_conn_send(conn, buf, len), PL_ECLOSING);
    }
    if (s->free_in_data) {
        pl_listener_free(s->lst);
        s->freed = 1;
    }
}

static void on_close(pl_conn_t *conn, const pl_status_t *why, void *ud)
{
    srv_t *s = ud;
    slot_t *sl = pl_conn_data(conn);

    if (s->freed) {
        s->after_free_calls++;
        return;
    }
    if (s->in_close_call)
        s->nested_close++;
    assert_non_null(sl);
    assert_ptr_equal(sl->conn, conn);
    sl->closes++;
    sl->has_why = why != NULL;
    if (why != NULL)
        sl->why = *why;
}

static const pl_listener_cbs_t srv_cbs = {on_accept, on_data, on_close};

static int listen_ex(srv_t *s, const char *addr, uint16_t port, unsigned frame_timeout_ms,
                     pl_status_t *err)
{
    pl_listener_config_t cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.addr = addr;
    cfg.port = port;
    cfg.frame_timeout_ms = frame_timeout_ms;
    cfg.log = &logger;
    return pl_listener_new(&loop, &cfg, &srv_cbs, s, &s->lst, err);
}

static int listen_on(srv_t *s, const char *addr, uint16_t port, pl_status_t *err)
{
    return listen_ex(s, addr, port, 0, err);
}

static void srv_free(srv_t *s)
{
    if (!s->freed)
        pl_listener_free(s->lst);
    s->freed = 1;
}

/* --- client lines --------------------------------------------------------------------- */

typedef struct {
    pl_line_t *line;
    int ups, downs;
    pl_status_t down;
    uint8_t rx[64];
    size_t nrx;
} cli_t;

static void cli_up(pl_line_t *line, void *ud)
{
    (void)ud;
    ((cli_t *)ud)->ups++;
    assert_int_equal(pl_line_send(line, (const uint8_t *)"ping", 4), 0);
}

static void cli_data(pl_line_t *line, const uint8_t *buf, size_t len, void *ud)
{
    cli_t *c = ud;

    (void)line;
    if (c->nrx + len <= sizeof(c->rx)) {
        memcpy(c->rx + c->nrx, buf, len);
        c->nrx += len;
    }
}

static void cli_down(pl_line_t *line, const pl_status_t *why, void *ud)
{
    cli_t *c = ud;

    (void)line;
    c->downs++;
    c->down = *why;
}

static const pl_line_cbs_t cli_cbs = {.on_up = cli_up, .on_data = cli_data, .on_down = cli_down};

static void cli_start(cli_t *c, const char *host, uint16_t port, const char *local)
{
    pl_line_config_t cfg;
    size_t n = strlen(host);

    memset(c, 0, sizeof(*c));
    pl_line_config_init(&cfg);
    memcpy(cfg.hosts.text, host, n + 1);
    cfg.hosts.count = 1;
    cfg.port = port;
    cfg.local_addr = local;
    cfg.backoff_min_ms = 20;
    cfg.backoff_max_ms = 40;
    assert_int_equal(pl_line_new(&loop, &cfg, &cli_cbs, c, &c->line), 0);
    assert_int_equal(pl_line_start(c->line), 0);
}

/* --- tests ---------------------------------------------------------------------------- */

static void test_loopback_echo(void **state)
{
    srv_t s;
    cli_t c;
    char want[64];

    (void)state;
    memset(&s, 0, sizeof(s));
    assert_int_equal(listen_on(&s, "127.0.0.1", 0, NULL), 0);
    assert_true(pl_listener_port(s.lst) != 0);
    snprintf(want, sizeof(want), "127.0.0.1:%u", (unsigned)pl_listener_port(s.lst));
    assert_string_equal(pl_listener_address(s.lst), want);
    assert_int_equal(pl_listener_conn_count(s.lst), 0);

    cli_start(&c, "127.0.0.1", pl_listener_port(s.lst), NULL);
    RUN_UNTIL(c.nrx == 4, 5000);
    assert_memory_equal(c.rx, "ping", 4);
    assert_int_equal(s.accepts, 1);
    assert_int_equal(pl_listener_conn_count(s.lst), 1);
    assert_true(strncmp(s.slot[0].peer, "127.0.0.1:", 10) == 0);

    /* the client goes away: on_close once, with RECV_00 */
    pl_line_free(c.line);
    RUN_UNTIL(srv_closes(&s) == 1, 5000);
    run_for(20);
    assert_int_equal(s.slot[0].closes, 1);
    assert_true(s.slot[0].has_why);
    assert_int_equal(s.slot[0].why.code, PL_ERECV_00);
    assert_string_equal(s.slot[0].why.detail, s.slot[0].peer);
    assert_int_equal(pl_listener_conn_count(s.lst), 0);
    srv_free(&s);
}

/* Listens on `addr`, expects `bound` ("0.0.0.0", "[::]", ...) and serves a client that
 * connects to `via`, whose peer text must start with `peer`. */
static void serve_via(const char *addr, const char *bound, const char *via, const char *peer)
{
    srv_t s;
    cli_t c;
    char want[64];

    memset(&s, 0, sizeof(s));
    assert_int_equal(listen_on(&s, addr, 0, NULL), 0);
    snprintf(want, sizeof(want), "%s:%u", bound, (unsigned)pl_listener_port(s.lst));
    assert_string_equal(pl_listener_address(s.lst), want);
    cli_start(&c, via, pl_listener_port(s.lst), NULL);
    RUN_UNTIL(c.nrx == 4, 5000);
    assert_int_equal(s.accepts, 1);
    assert_true(strncmp(s.slot[0].peer, peer, strlen(peer)) == 0);
    pl_line_free(c.line);
    srv_free(&s);
    assert_int_equal(s.slot[0].closes, 1); /* inside pl_listener_free at the latest */
    run_for(10);
    assert_int_equal(s.slot[0].closes, 1);
}

static int have_ipv6(void)
{
    uv_tcp_t t;
    struct sockaddr_in6 a;
    int r;

    uv_ip6_addr("::1", 0, &a);
    uv_tcp_init(&loop, &t);
    r = uv_tcp_bind(&t, (const struct sockaddr *)&a, 0);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    /* only "no IPv6 here" may skip; any other failure to bind ::1 is a failure */
    if (r != 0 && r != UV_EADDRNOTAVAIL && r != UV_EAFNOSUPPORT)
        fail_msg("binding [::1]:0: %s", uv_strerror(r));
    return r == 0;
}

static void test_bind_addresses(void **state)
{
    (void)state;
    serve_via(NULL, "127.0.0.1", "127.0.0.1", "127.0.0.1:");
    serve_via("*", "0.0.0.0", "127.0.0.1", "127.0.0.1:");
    serve_via("ALL", "0.0.0.0", "127.0.0.1", "127.0.0.1:");
    serve_via("all", "0.0.0.0", "127.0.0.1", "127.0.0.1:");
    serve_via("localhost", "127.0.0.1", "127.0.0.1", "127.0.0.1:");
    if (!have_ipv6())
        PL_SKIP("no IPv6 loopback here: the IPv6 binds are not tested");
    /* dual-stack: IPv4 partners appear as IPv4, not ::ffff:a.b.c.d */
    serve_via("[*]", "[::]", "127.0.0.1", "127.0.0.1:");
    serve_via("[*]", "[::]", "::1", "[::1]:");
    serve_via("[ALL]", "[::]", "127.0.0.1", "127.0.0.1:");
    serve_via("[ALL]", "[::]", "::1", "[::1]:");
    serve_via("::1", "[::1]", "::1", "[::1]:");
    serve_via("[::1]", "[::1]", "::1", "[::1]:");
}

/* A name that resolves to ::1 and 127.0.0.1, in that order (Debian's /etc/hosts for
 * localhost), binds 127.0.0.1; a name with IPv6 addresses only binds its first one. Before,
 * the first address was bound: on Debian `localhost` listened on ::1 only, and a partner
 * given 127.0.0.1 was refused (the test above then hung, this machine's hosts file lists
 * 127.0.0.1 alone). */
static void test_name_binds_ipv4_first(void **state)
{
    struct sockaddr_in6 s6a, s6b;
    struct sockaddr_in s4;
    struct addrinfo a6, b6, a4;

    (void)state;
    assert_int_equal(uv_ip6_addr("::1", 0, &s6a), 0);
    assert_int_equal(uv_ip6_addr("fe80::1", 0, &s6b), 0);
    assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &s4), 0);
    memset(&a6, 0, sizeof(a6));
    memset(&b6, 0, sizeof(b6));
    memset(&a4, 0, sizeof(a4));
    a6.ai_family = AF_INET6;
    a6.ai_addr = (struct sockaddr *)&s6a;
    a6.ai_addrlen = sizeof(s6a);
    b6 = a6;
    b6.ai_addr = (struct sockaddr *)&s6b;
    a4.ai_family = AF_INET;
    a4.ai_addr = (struct sockaddr *)&s4;
    a4.ai_addrlen = sizeof(s4);
    a6.ai_next = &b6;
    b6.ai_next = &a4;
    assert_ptr_equal(pl_net_listen_pick(&a6), &a4);
    b6.ai_next = NULL;
    assert_ptr_equal(pl_net_listen_pick(&a6), &a6);
    a4.ai_family = AF_UNIX;
    a6.ai_next = NULL;
    assert_null(pl_net_listen_pick(&a4));
    assert_null(pl_net_listen_pick(NULL));
}

static void test_bind_failures(void **state)
{
    srv_t a, b;
    pl_status_t err;
    char want[64];

    (void)state;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    assert_int_equal(listen_on(&a, "127.0.0.1", 0, &err), 0);
    assert_int_equal(err.code, 0);

    /* the port is in use */
    assert_int_equal(listen_on(&b, "127.0.0.1", pl_listener_port(a.lst), &err), PL_EBIND);
    assert_null(b.lst);
    assert_int_equal(err.code, PL_EBIND);
    assert_int_equal(err.sys, UV_EADDRINUSE);
    snprintf(want, sizeof(want), "127.0.0.1:%u", (unsigned)pl_listener_port(a.lst));
    assert_string_equal(err.detail, want);
    assert_int_equal(listen_on(&b, "127.0.0.1", pl_listener_port(a.lst), NULL), PL_EBIND);

    /* not a local address */
    assert_int_equal(listen_on(&b, "192.0.2.1", 0, &err), PL_EBIND);
    assert_int_equal(err.sys, UV_EADDRNOTAVAIL);

    /* malformed IPv6, unresolvable name */
    assert_int_equal(listen_on(&b, "[::zz]", 0, &err), PL_EINVAL);
    assert_int_equal(listen_on(&b, "nonexistent.invalid", 0, &err), PL_ERESOLVE);
    assert_non_null(strstr(err.detail, "nonexistent.invalid"));
    assert_int_equal(pl_listener_new(&loop, NULL, &srv_cbs, &b, &b.lst, &err), PL_EINVAL);
    srv_free(&a);
}

static void test_allow_list(void **state)
{
    srv_t s;
    cli_t c2, c1;
    pl_listener_config_t cfg;
    static const char *const allow[] = {"10.1.2.3", "[127.0.0.1]", NULL};

    (void)state;
    memset(&s, 0, sizeof(s));
    memset(&cfg, 0, sizeof(cfg));
    cfg.addr = "*";
    cfg.allow = allow;
    cfg.log = &logger;
    assert_int_equal(pl_listener_new(&loop, &cfg, &srv_cbs, &s, &s.lst, NULL), 0);

    /* from 127.0.0.2: accepted by the kernel, closed at once, logged; no on_accept */
    cli_start(&c2, "127.0.0.1", pl_listener_port(s.lst), "127.0.0.2");
    RUN_UNTIL(c2.downs >= 1, 5000);
    assert_true(c2.down.code == PL_ERECV_00 || c2.down.code == PL_ERECV_FF ||
                c2.down.code == PL_ESEND);
    assert_int_equal(s.accepts, 0);
    assert_non_null(strstr(warnings, "refused 127.0.0.2:"));
    assert_non_null(strstr(warnings, "allow list"));
    pl_line_free(c2.line);

    /* from 127.0.0.1: served */
    cli_start(&c1, "127.0.0.1", pl_listener_port(s.lst), "127.0.0.1");
    RUN_UNTIL(c1.nrx == 4, 5000);
    assert_int_equal(s.accepts, 1);
    assert_int_equal(c1.downs, 0);
    pl_line_free(c1.line);
    RUN_UNTIL(srv_closes(&s) == 1, 5000);
    srv_free(&s);
}

static void test_allow_mapped_dual_stack(void **state)
{
    srv_t s;
    cli_t c;
    pl_listener_config_t cfg;
    static const char *const allow[] = {"::ffff:127.0.0.1", NULL};

    (void)state;
    if (!have_ipv6())
        PL_SKIP("no IPv6 loopback here: the dual-stack allow list is not tested");
    memset(&s, 0, sizeof(s));
    memset(&cfg, 0, sizeof(cfg));
    cfg.addr = "[*]";
    cfg.allow = allow;
    cfg.log = &logger;
    assert_int_equal(pl_listener_new(&loop, &cfg, &srv_cbs, &s, &s.lst, NULL), 0);
    cli_start(&c, "127.0.0.1", pl_listener_port(s.lst), NULL);
    RUN_UNTIL(c.nrx == 4, 5000);
    assert_int_equal(s.accepts, 1);
    pl_line_free(c.line);
    srv_free(&s);
}

static void test_connection_limit(void **state)
{
    srv_t s;
    cli_t c1, c2;
    pl_listener_config_t cfg;

    (void)state;
    memset(&s, 0, sizeof(s));
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_conns = 1;
    cfg.log = &logger;
    assert_int_equal(pl_listener_new(&loop, &cfg, &srv_cbs, &s, &s.lst, NULL), 0);
    cli_start(&c1, "127.0.0.1", pl_listener_port(s.lst), NULL);
    RUN_UNTIL(c1.nrx == 4, 5000);
    cli_start(&c2, "127.0.0.1", pl_listener_port(s.lst), NULL);
    RUN_UNTIL(c2.downs >= 1, 5000);
    assert_int_equal(s.accepts, 1);
    assert_int_equal(pl_listener_conn_count(s.lst), 1);
    assert_non_null(strstr(warnings, "connection limit 1 reached"));

    /* the first goes: the second gets in on its next attempt */
    pl_line_free(c1.line);
    RUN_UNTIL(c2.nrx == 4, 5000);
    assert_int_equal(s.accepts, 2);
    assert_int_equal(s.slot[0].closes, 1);
    assert_int_equal(pl_listener_conn_count(s.lst), 1);
    pl_line_free(c2.line);
    RUN_UNTIL(srv_closes(&s) == 2, 5000);
    srv_free(&s);
}

/* A partner that connects and never reads. */
typedef struct {
    uv_tcp_t tcp;
    uv_connect_t req;
    int connected;
    int closed;
} lazy_t;

static void lazy_connected(uv_connect_t *req, int status)
{
    lazy_t *z = req->data;

    assert_int_equal(status, 0);
    z->connected = 1;
}

static void lazy_closed(uv_handle_t *h)
{
    ((lazy_t *)h->data)->closed = 1;
}

static void test_output_limit(void **state)
{
    srv_t s;
    lazy_t z;
    pl_listener_config_t cfg;
    struct sockaddr_in sin;

    (void)state;
    memset(&s, 0, sizeof(s));
    memset(&z, 0, sizeof(z));
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_output = 65536;
    cfg.log = &logger;
    s.pump = 1;
    assert_int_equal(pl_listener_new(&loop, &cfg, &srv_cbs, &s, &s.lst, NULL), 0);
    uv_ip4_addr("127.0.0.1", pl_listener_port(s.lst), &sin);
    uv_tcp_init(&loop, &z.tcp);
    z.tcp.data = &z;
    z.req.data = &z;
    assert_int_equal(uv_tcp_connect(&z.req, &z.tcp, (struct sockaddr *)&sin, lazy_connected), 0);
    RUN_UNTIL(s.accepts == 1 && srv_closes(&s) == 1, 10000);
    assert_int_equal(s.pump_result, PL_ENOBUFS);
    assert_true(s.pumped > 0);
    print_message("pumped %zu bytes before the 64 KiB limit closed the connection\n", s.pumped);
    assert_int_equal(s.slot[0].closes, 1);
    assert_int_equal(s.slot[0].why.code, PL_ENOBUFS);
    assert_non_null(strstr(warnings, "does not read"));
    assert_int_equal(pl_listener_conn_count(s.lst), 0);
    uv_close((uv_handle_t *)&z.tcp, lazy_closed);
    RUN_UNTIL(z.closed, 5000);
    srv_free(&s);
}

/* The frame-timeout sweep runs only while a connection holds an incomplete frame: a
 * listener whose frames arrive whole has no timer of its own, so an idle simulator never
 * wakes up and a busy one sleeps in the kernel without a timeout to arm and cancel. */
static void test_frame_timeout_sweep(void **state)
{
    srv_t s;
    cli_t c;

    (void)state;
    memset(&s, 0, sizeof(s));
    assert_int_equal(listen_ex(&s, "127.0.0.1", 0, 60, NULL), 0);
    assert_int_equal(pl_listener_sweeping(s.lst), 0);
    cli_start(&c, "127.0.0.1", pl_listener_port(s.lst), NULL);
    RUN_UNTIL(c.nrx == 4, 5000);
    assert_int_equal(pl_listener_sweeping(s.lst), 0); /* whole frames: no timer */

    /* a frame begun: the sweep starts; finished before the timeout: the connection stays
     * and the sweep stops by itself */
    pl_conn_partial(s.slot[0].conn, 1);
    assert_int_equal(pl_listener_sweeping(s.lst), 1);
    pl_conn_partial(s.slot[0].conn, 0);
    RUN_UNTIL(pl_listener_sweeping(s.lst) == 0, 5000);
    assert_int_equal(s.slot[0].closes, 0);
    assert_int_equal(pl_listener_conn_count(s.lst), 1);

    /* a frame begun and never finished: closed with PL_ETIMEOUT, then no timer again */
    pl_conn_partial(s.slot[0].conn, 1);
    RUN_UNTIL(s.slot[0].closes == 1, 5000);
    assert_int_equal(s.slot[0].why.code, PL_ETIMEOUT);
    assert_non_null(strstr(warnings, "incomplete frame for 60 ms"));
    RUN_UNTIL(pl_listener_sweeping(s.lst) == 0, 5000);
    pl_line_free(c.line);
    srv_free(&s);
}

static void test_close_paths(void **state)
{
    srv_t s;
    cli_t c1, c2, c3;

    (void)state;
    /* pl_conn_close() from on_data: on_close later (not nested) with our status */
    memset(&s, 0, sizeof(s));
    s.close_in_data = 1;
    assert_int_equal(listen_on(&s, NULL, 0, NULL), 0);
    cli_start(&c1, "127.0.0.1", pl_listener_port(s.lst), NULL);
    RUN_UNTIL(srv_closes(&s) == 1, 5000);
    assert_int_equal(s.nested_close, 0);
    assert_int_equal(s.slot[0].why.code, PL_EPROTO);
    assert_string_equal(s.slot[0].why.detail, "test: garbage");
    RUN_UNTIL(c1.downs >= 1, 5000);
    pl_line_free(c1.line);
    run_for(20);
    assert_int_equal(s.slot[0].closes, 1);
    srv_free(&s);

    /* on_accept refuses: no on_close; the client sees the close */
    memset(&s, 0, sizeof(s));
    s.reject = 1;
    assert_int_equal(listen_on(&s, NULL, 0, NULL), 0);
    cli_start(&c1, "127.0.0.1", pl_listener_port(s.lst), NULL);
    RUN_UNTIL(c1.downs >= 1, 5000);
    assert_true(s.accepts >= 1);
    assert_int_equal(srv_closes(&s), 0);
    assert_int_equal(pl_listener_conn_count(s.lst), 0);
    pl_line_free(c1.line);
    srv_free(&s);
    run_for(10);
    assert_int_equal(srv_closes(&s), 0);

    /* pl_listener_free with open connections: on_close for each inside the call */
    memset(&s, 0, sizeof(s));
    assert_int_equal(listen_on(&s, NULL, 0, NULL), 0);
    cli_start(&c1, "127.0.0.1", pl_listener_port(s.lst), NULL);
    cli_start(&c2, "127.0.0.1", pl_listener_port(s.lst), NULL);
    RUN_UNTIL(c1.nrx == 4 && c2.nrx == 4, 5000);
    assert_int_equal(pl_listener_conn_count(s.lst), 2);
    pl_listener_free(s.lst);
    assert_int_equal(s.slot[0].closes, 1);
    assert_int_equal(s.slot[1].closes, 1);
    assert_false(s.slot[0].has_why); /* closed locally */
    s.freed = 1;
    RUN_UNTIL(c1.downs >= 1 && c2.downs >= 1, 5000);
    pl_line_free(c1.line);
    pl_line_free(c2.line);
    run_for(10);
    assert_int_equal(s.after_free_calls, 0);

    /* pl_listener_free from inside on_data, with another connection open */
    memset(&s, 0, sizeof(s));
    assert_int_equal(listen_on(&s, NULL, 0, NULL), 0);
    cli_start(&c1, "127.0.0.1", pl_listener_port(s.lst), NULL);
    RUN_UNTIL(c1.nrx == 4, 5000);
    s.free_in_data = 1;
    cli_start(&c3, "127.0.0.1", pl_listener_port(s.lst), NULL);
    RUN_UNTIL(s.freed, 5000);
    assert_int_equal(s.slot[0].closes, 1);
    assert_int_equal(s.slot[1].closes, 1);
    RUN_UNTIL(c1.downs >= 1 && c3.downs >= 1, 5000);
    pl_line_free(c1.line);
    pl_line_free(c3.line);
    run_for(10);
    assert_int_equal(s.after_free_calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_loopback_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_binds_ipv4_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allow_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allow_mapped_dual_stack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frame_timeout_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_paths, setup, teardown),
    };
    return pl_test_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
