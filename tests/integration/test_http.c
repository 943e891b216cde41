/* SPDX-License-Identifier: MIT */
/*
 * The HTTP server (src/north/http.c) on one loop with an engine, a simulator and raw TCP
 * clients: answers, a malformed request, a write whose client has gone before the engine
 * answers it, and closing the server with an event stream, an idle keep-alive connection,
 * a half-sent request and a client that never reads all open. Every handle closes:
 * uv_loop_close() == 0 (and valgrind sees no leak: scripts/valgrind.sh).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "north/http.h"
#include "fake_events.h"
#include "north/jsonl.h"
#include "plcline/engine.h"
#include "engine/engine_test.h"
#include "plcline/error.h"
#include "plcline/pccc.h"
#include "plcline/ttcp.h"

#define GUARD_MS 5000u
#define RX_MAX   (256u * 1024u)
#define BIG_TAGS 2000 /* answers far larger than a connection's socket buffers */

typedef struct {
    uv_loop_t loop;
    pl_ttcp_server_t *srv;
    pl_pccc_server_t *psrv; /* setup_string() only */
    pl_engine_t *e;
    pl_http_t *h;
    pl_line_def_t lines[2];
    pl_device_def_t devs[2];
    pl_tag_def_t tags[BIG_TAGS]; /* 3, or BIG_TAGS with setup_n() */
    char text[BIG_TAGS][2][16];  /* the tags' names and addresses */
    pl_scan_def_t scan;
    char token_path[64];
    int stopped;
} fx_t;

typedef struct {
    uv_tcp_t tcp;
    uv_connect_t conn;
    uv_write_t wr;
    fx_t *f;
    const char *req;
    size_t req_len;
    int read, written, closed, eof;
    char *rx;
    size_t rx_len;
} client_t;

static void on_guard(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

static void run_until(fx_t *f, int (*pred)(void *arg), void *arg)
{
    uv_timer_t guard;
    int expired = 0;

    uv_timer_init(&f->loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, GUARD_MS, 0);
    while (!pred(arg) && !expired)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_false(expired);
}

/* --- raw clients ------------------------------------------------------------------------ */

static void c_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    client_t *c = h->data;

    (void)sz;
    b->base = c->rx + c->rx_len;
    b->len = RX_MAX - 1 - c->rx_len;
}

static void c_closed(uv_handle_t *h)
{
    ((client_t *)h->data)->closed = 1;
}

static void c_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    client_t *c = s->data;

    (void)b;
    if (n > 0) {
        c->rx_len += (size_t)n;
        c->rx[c->rx_len] = '\0';
        if (c->rx_len < RX_MAX - 1)
            return;
    }
    if (n < 0 || c->rx_len >= RX_MAX - 1) {
        c->eof = 1;
        uv_read_stop(s);
        if (!uv_is_closing((uv_handle_t *)s))
            uv_close((uv_handle_t *)s, c_closed);
    }
}

static void c_written(uv_write_t *w, int status)
{
    client_t *c = w->data;

    (void)status;
    c->written = 1;
}

static void c_connected(uv_connect_t *r, int status)
{
    client_t *c = r->data;
    uv_buf_t b = uv_buf_init((char *)c->req, (unsigned)c->req_len);

    assert_int_equal(status, 0);
    c->wr.data = c;
    assert_int_equal(uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, c_written), 0);
    if (c->read)
        uv_read_start((uv_stream_t *)&c->tcp, c_alloc, c_read);
}

/* Connects to the server and sends `req`; reads the answer when `read`. */
static void client_open(fx_t *f, client_t *c, const char *req, int read)
{
    struct sockaddr_in sa;

    memset(c, 0, sizeof(*c));
    c->f = f;
    c->req = req;
    c->req_len = strlen(req);
    c->read = read;
    c->rx = calloc(1, RX_MAX);
    assert_non_null(c->rx);
    uv_tcp_init(&f->loop, &c->tcp);
    c->tcp.data = c;
    c->conn.data = c;
    uv_ip4_addr("127.0.0.1", pl_http_port(f->h), &sa);
    assert_int_equal(uv_tcp_connect(&c->conn, &c->tcp, (struct sockaddr *)&sa, c_connected), 0);
}

static void client_close(client_t *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, c_closed);
}

static void client_free(client_t *c)
{
    free(c->rx);
    c->rx = NULL;
}

static int is_closed(void *arg)
{
    return ((client_t *)arg)->closed;
}

static int is_written(void *arg)
{
    return ((client_t *)arg)->written;
}

typedef struct {
    client_t *c;
    const char *text;
} want_t;

static int has_text(void *arg)
{
    want_t *w = arg;

    return strstr(w->c->rx, w->text) != NULL;
}

static void expect(fx_t *f, client_t *c, const char *text)
{
    want_t w = {c, text};

    run_until(f, has_text, &w);
}

/* --- engine and server ------------------------------------------------------------------ */

static int dev_up(void *arg)
{
    fx_t *f = arg;
    pl_engine_device_info_t di;

    return pl_engine_device_info(f->e, 0, &di, NULL) == 0 && di.connected;
}

/* `animate_ms`: the node's first words change that often (pl_ttcp_server_config_t). */
static void setup_anim(fx_t *f, int writes, int ntags, unsigned animate_ms)
{
    pl_ttcp_server_config_t sc;
    pl_engine_config_t ec;
    pl_http_config_t hc;
    pl_status_t err;
    FILE *fp;
    int i;

    memset(f, 0, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    pl_ttcp_server_config_init(&sc);
    sc.listen.port = 0;
    sc.animate_ms = animate_ms;
    assert_int_equal(pl_ttcp_server_new(&f->loop, &sc, &f->srv, NULL), 0);
    for (i = 0; i < 2; i++) {
        snprintf(f->lines[i].name, sizeof(f->lines[i].name), "line%d", i);
        snprintf(f->lines[i].protocol, sizeof(f->lines[i].protocol), "7ttcp");
        pl_line_config_init(&f->lines[i].line);
        assert_int_equal(pl_hostlist_parse(&f->lines[i].line.hosts, "127.0.0.1", 9, NULL), 0);
        f->lines[i].line.backoff_min_ms = 10;
        f->lines[i].line.backoff_max_ms = 50;
        snprintf(f->devs[i].name, sizeof(f->devs[i].name), "dev%d", i);
        snprintf(f->devs[i].line, sizeof(f->devs[i].line), "line%d", i);
        snprintf(f->devs[i].keys, sizeof(f->devs[i].keys), "node=1");
        f->devs[i].write_timeout_ms = 200;
    }
    f->lines[0].line.port = pl_ttcp_server_port(f->srv);
    f->lines[1].line.port = 1; /* nobody listens: dev1 never connects */
    snprintf(f->scan.name, sizeof(f->scan.name), "fast");
    f->scan.period_ms = 20;
    for (i = 0; i < ntags; i++) {
        snprintf(f->text[i][0], sizeof(f->text[i][0]), "t%d", i);
        snprintf(f->text[i][1], sizeof(f->text[i][1]), "W%d", i);
        f->tags[i].name = f->text[i][0];
        f->tags[i].device = i == 2 ? "dev1" : "dev0";
        f->tags[i].address = f->text[i][1];
        f->tags[i].scan = "fast";
        f->tags[i].writable = 1;
    }
    memset(&ec, 0, sizeof(ec));
    ec.lines = f->lines;
    ec.nlines = 2;
    ec.devices = f->devs;
    ec.ndevices = 2;
    ec.tags = f->tags;
    ec.ntags = (size_t)ntags;
    ec.scans = &f->scan;
    ec.nscans = 1;
    pl_status_clear(&err);
    assert_int_equal(pl_engine_new(&f->loop, &ec, NULL, NULL, &f->e, &err), 0);
    assert_int_equal(pl_engine_start(f->e), 0);

    snprintf(f->token_path, sizeof(f->token_path), "test_http_token_%d", writes);
    fp = fopen(f->token_path, "w");
    assert_non_null(fp);
    fputs("s3cret\n", fp);
    fclose(fp);
    memset(&hc, 0, sizeof(hc));
    hc.listen = "127.0.0.1:0";
    hc.writes = writes;
    hc.token_file = f->token_path;
    hc.max_conns = 8;
    hc.idle_ms = 500;
    hc.counters_ms = 300;
    assert_int_equal(pl_http_new(&f->loop, &hc, f->e, &f->h, &err), 0);
    assert_true(pl_http_port(f->h) > 0);
    run_until(f, dev_up, f);
}

static void setup_n(fx_t *f, int writes, int ntags)
{
    setup_anim(f, writes, ntags, 0);
}

static void setup(fx_t *f, int writes)
{
    setup_n(f, writes, 3);
}

static void on_stopped(pl_engine_t *e, void *ud)
{
    (void)e;
    ((fx_t *)ud)->stopped = 1;
}

static void teardown(fx_t *f)
{
    if (f->h != NULL)
        pl_http_free(f->h);
    pl_engine_stop(f->e, on_stopped);
    pl_engine_free(f->e);
    pl_ttcp_server_free(f->srv);
    pl_pccc_server_free(f->psrv);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    remove(f->token_path);
}

/* `n` copies of `s` into buf (NUL-terminated); the test fails when they do not fit. */
static void repeat(char *buf, size_t cap, const char *s, size_t n)
{
    size_t len = strlen(s), i;

    assert_true(n * len < cap);
    for (i = 0; i < n; i++)
        memcpy(buf + i * len, s, len);
    buf[n * len] = '\0';
}

/* --- tests ---------------------------------------------------------------------------- */

static void test_answers(void **state)
{
    static fx_t f; /* large: not on the stack */
    client_t c;

    (void)state;
    setup(&f, 0);
    client_open(&f, &c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 1);
    run_until(&f, is_closed, &c);
    assert_non_null(strstr(c.rx, "HTTP/1.1 200"));
    assert_non_null(strstr(c.rx, "\"devices_down\":1")); /* dev1 has nobody to talk to */
    client_free(&c);

    client_open(&f, &c, "GET /api/tags?filter=T1 HTTP/1.1\r\nConnection: close\r\n\r\n", 1);
    run_until(&f, is_closed, &c);
    assert_non_null(strstr(c.rx, "\"total\":1"));
    assert_non_null(strstr(c.rx, "\"name\":\"t1\""));
    client_free(&c);

    client_open(&f, &c, "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n", 1);
    run_until(&f, is_closed, &c);
    assert_non_null(strstr(c.rx, "plcline_device_up{device=\"dev0\",line=\"line0\""));
    assert_non_null(strstr(c.rx, "plcline_tags{quality=\"good\"}"));
    client_free(&c);

    client_open(&f, &c, "BLAH \x01\x02\r\n\r\n", 1);
    run_until(&f, is_closed, &c);
    assert_true(c.rx_len == 0 || strncmp(c.rx, "HTTP/1.1 400", 12) == 0);
    client_free(&c);

    /* writes are off: refused with the write result object, nothing queued */
    client_open(&f, &c,
                "POST /api/tags/t0 HTTP/1.1\r\nConnection: close\r\nContent-Type: "
                "application/json\r\nAuthorization: Bearer s3cret\r\nContent-Length: 11\r\n\r\n"
                "{\"value\":1}",
                1);
    run_until(&f, is_closed, &c);
    assert_non_null(strstr(c.rx, "HTTP/1.1 403"));
    assert_non_null(strstr(c.rx, "{\"result\":\"error\",\"write\":\"t0\""));
    client_free(&c);
    teardown(&f);
}

static int write_failed(void *arg)
{
    fx_t *f = arg;
    pl_engine_stats_t st;

    return pl_engine_device_stats(f->e, "dev1", &st) == 0 && st.writes_failed > 0;
}

/* A write whose client has gone is still answered by the engine, to nobody. */
static void test_write_client_gone(void **state)
{
    static const char req[] = "POST /api/tags/t2 HTTP/1.1\r\nContent-Type: application/json\r\n"
                              "Authorization: Bearer s3cret\r\nContent-Length: 11\r\n\r\n"
                              "{\"value\":5}";
    static fx_t f; /* large: not on the stack */
    client_t c, ok;

    (void)state;
    setup(&f, 1);
    client_open(&f, &c, req, 0);
    run_until(&f, is_written, &c);
    client_close(&c);
    run_until(&f, is_closed, &c);
    run_until(&f, write_failed, &f); /* dev1 is not connected: the write times out */
    client_free(&c);

    /* and a write that goes through is answered once, with its id */
    client_open(&f, &ok,
                "POST /api/tags/t0 HTTP/1.1\r\nConnection: close\r\nContent-Type: "
                "application/json\r\nAuthorization: Bearer s3cret\r\nContent-Length: 22\r\n\r\n"
                "{\"value\":9,\"id\":\"x-1\"}",
                1);
    run_until(&f, is_closed, &ok);
    assert_non_null(strstr(ok.rx, "HTTP/1.1 200"));
    assert_non_null(strstr(ok.rx, "{\"result\":\"ok\",\"write\":\"t0\",\"id\":\"x-1\"}"));
    client_free(&ok);
    teardown(&f);
}

/* Closing the server with every kind of connection open leaves nothing behind. */
static void test_free_with_clients(void **state)
{
    static char pipelined[64 * 40 + 1];
    static fx_t f; /* large: not on the stack */
    client_t sse, idle, half, deaf;

    (void)state;
    setup(&f, 0);
    client_open(&f, &sse, "GET /api/events?limit=2 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 1);
    expect(&f, &sse, "event: view");
    expect(&f, &sse, "event: devices");
    client_open(&f, &idle, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 1);
    expect(&f, &idle, "\"status\":\"running\"");
    client_open(&f, &half, "GET /he", 1);
    run_until(&f, is_written, &half);
    repeat(pipelined, sizeof(pipelined), "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 40);
    client_open(&f, &deaf, pipelined, 0);
    run_until(&f, is_written, &deaf);

    pl_http_free(f.h);
    f.h = NULL;
    uv_read_start((uv_stream_t *)&deaf.tcp, c_alloc, c_read); /* to see its end */
    run_until(&f, is_closed, &sse);
    run_until(&f, is_closed, &idle);
    run_until(&f, is_closed, &half);
    run_until(&f, is_closed, &deaf);
    client_free(&sse);
    client_free(&idle);
    client_free(&half);
    client_free(&deaf);
    teardown(&f);
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;

    while ((hay = strstr(hay, needle)) != NULL) {
        n++;
        hay += strlen(needle);
    }
    return n;
}

typedef struct {
    fx_t *f;
    uint64_t until; /* loop time */
} loop_time_t;

static int loop_time_reached(void *arg)
{
    const loop_time_t *t = arg;

    return uv_now(&t->f->loop) >= t->until;
}

/* Runs the loop for `ms` of loop time (a timer's clock, not a sleep). */
static void run_for(fx_t *f, unsigned ms)
{
    loop_time_t t = {f, uv_now(&f->loop) + ms};

    run_until(f, loop_time_reached, &t);
}

/* The last "devices" event says dev0 is not connected. */
static int dev0_down_event(void *arg)
{
    const char *rx = ((client_t *)arg)->rx, *p, *last = NULL, *d, *next;

    for (p = rx; (p = strstr(p, "event: devices")) != NULL; p++)
        last = p;
    if (last == NULL || (d = strstr(last, "\"name\":\"dev0\"")) == NULL)
        return 0;
    next = strstr(d + 1, "\"name\":");
    p = strstr(d, "\"connected\":false");
    return p != NULL && (next == NULL || p < next);
}

/* The idle bound (500 ms here) closes a connection that sends no request, but never an
 * event stream, which lives as long as its client. */
static void test_idle(void **state)
{
    static fx_t f; /* large: not on the stack */
    client_t sse, idle, silent;

    (void)state;
    setup(&f, 0);
    client_open(&f, &sse, "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 1);
    client_open(&f, &idle, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 1);
    client_open(&f, &silent, "", 1);
    expect(&f, &idle, "\"status\":\"running\"");
    run_until(&f, is_closed, &idle);   /* kept alive, then idle: closed */
    run_until(&f, is_closed, &silent); /* connected, never asked: closed */
    run_for(&f, 2000);
    assert_false(sse.closed); /* two seconds on, four idle bounds: still streaming */
    assert_true(count_of(sse.rx, "event: devices") >= 1);
    assert_int_equal(strlen(sse.rx), sse.rx_len); /* text only: no NUL byte in the stream */
    client_close(&sse);
    run_until(&f, is_closed, &sse);
    client_free(&sse);
    client_free(&idle);
    client_free(&silent);
    teardown(&f);
}

/* The "devices" event goes for a state change only (over 2.5 s of loop time none more,
 * however fast the loop goes and the counters move; a dead device trying to connect changes
 * nothing it must carry at once), and at once when a device loses its connection. */
static void test_devices_event_follows_states(void **state)
{
    static fx_t f; /* large: not on the stack */
    client_t sse;
    int n0;

    (void)state;
    setup(&f, 0);
    client_open(&f, &sse, "GET /api/events?limit=2 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 1);
    expect(&f, &sse, "event: devices");
    run_for(&f, 600);
    n0 = count_of(sse.rx, "event: devices");
    run_for(&f, 2500);
    assert_int_equal(count_of(sse.rx, "event: devices"), n0);
    assert_true(count_of(sse.rx, "event: counters") >= 1); /* every 300 ms here, 2 s late */
    assert_false(dev0_down_event(&sse));
    assert_int_equal(pl_ttcp_server_free(f.srv), 0); /* dev0's node goes away */
    f.srv = NULL;
    run_until(&f, dev0_down_event, &sse);
    client_close(&sse);
    run_until(&f, is_closed, &sse);
    client_free(&sse);
    teardown(&f);
}

/* The messages of an event stream: the body's chunks (one h2o_send each), NUL-terminated in
 * place in `rx` (changed). Returns how many whole chunks were found, at most `max`. */
static size_t stream_chunks(char *rx, char **out, size_t max)
{
    char *p = strstr(rx, "\r\n\r\n"), *end;
    size_t n = 0;
    unsigned long len;

    assert_non_null(p);
    assert_non_null(strstr(rx, "chunked")); /* transfer-encoding */
    p += 4;
    while (n < max && (len = strtoul(p, &end, 16)) > 0 && strncmp(end, "\r\n", 2) == 0 &&
           strlen(end + 2) >= len + 2) {
        out[n++] = end + 2;
        p = end + 2 + len;
        assert_memory_equal(p, "\r\n", 2);
        *p = '\0';
        p += 2;
    }
    return n;
}

/* The JSON of the first `event` in `msg` (a reference the caller drops). */
static json_t *event_data(const char *msg, const char *event)
{
    char head[64];
    const char *p, *q;

    snprintf(head, sizeof(head), "event: %s\ndata: ", event);
    p = strstr(msg, head);
    assert_non_null(p);
    p += strlen(head);
    q = strstr(p, "\n\n");
    assert_non_null(q);
    return json_loadb(p, (size_t)(q - p), 0, NULL);
}

static int has_tags_event(void *arg)
{
    return strstr(((client_t *)arg)->rx, "event: tags") != NULL;
}

/* A changed row on the event stream carries the tag's state, not its definition: the view
 * carried that (ten pages of rows changing every second spent half their cost on it). */
static void test_events_changed_rows_carry_state(void **state)
{
    static const char *def[] = {"device", "line", "address", "scan", "writable"};
    static const char *st[] = {"value", "quality", "ts", "ts_ms", "seq", "error"};
    static fx_t f; /* large: not on the stack */
    client_t sse;
    json_t *view, *tags, *vrow, *trow;
    char *msgs[64];
    size_t n, i, k;

    (void)state;
    setup_anim(&f, 0, 3, 100);
    client_open(&f, &sse, "GET /api/events?filter=t0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 1);
    run_until(&f, has_tags_event, &sse);
    n = stream_chunks(sse.rx, msgs, 64);
    assert_true(n >= 2);
    view = event_data(msgs[0], "view");
    for (i = 1; i < n && strstr(msgs[i], "event: tags") == NULL; i++)
        ;
    assert_true(i < n);
    tags = event_data(msgs[i], "tags");
    vrow = json_array_get(json_object_get(view, "rows"), 0);
    trow = json_array_get(json_object_get(tags, "rows"), 0);
    assert_string_equal(json_string_value(json_object_get(vrow, "name")), "t0");
    assert_string_equal(json_string_value(json_object_get(trow, "name")), "t0");
    for (k = 0; k < sizeof(def) / sizeof(def[0]); k++) {
        assert_non_null(json_object_get(vrow, def[k]));
        assert_null(json_object_get(trow, def[k]));
    }
    for (k = 0; k < sizeof(st) / sizeof(st[0]); k++) {
        assert_non_null(json_object_get(vrow, st[k]));
        assert_non_null(json_object_get(trow, st[k]));
    }
    assert_true(json_integer_value(json_object_get(trow, "seq")) >
                json_integer_value(json_object_get(vrow, "seq")));
    json_decref(view);
    json_decref(tags);
    client_close(&sse);
    run_until(&f, is_closed, &sse);
    client_free(&sse);
    teardown(&f);
}

/* Source times ride with changed values: rows that change every 300 ms and rows read again
 * unchanged every 20 ms make one message per change, where a pass of the source times on a
 * clock of its own would add messages of its own. Over 3 s of loop time at most one message
 * carries source times alone (none is expected: the pass goes alone only after TS_MS, 2 s,
 * without a change; one is allowed for a stall of the loop that long on a loaded machine).
 * Counts of messages, not times: no assertion here depends on how fast the machine is. */
static void test_events_times_ride_with_changes(void **state)
{
    static fx_t f; /* large: not on the stack */
    static char *msgs[512];
    client_t sse;
    size_t n, i, first = 0, alone = 0, along = 0;

    (void)state;
    setup_anim(&f, 0, 12, 300); /* t0, t1 change; t3..t11 are read again unchanged */
    client_open(&f, &sse, "GET /api/events?limit=12 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 1);
    run_until(&f, has_tags_event, &sse);
    run_for(&f, 3000);
    n = stream_chunks(sse.rx, msgs, sizeof(msgs) / sizeof(msgs[0]));
    while (first < n && strstr(msgs[first], "event: tags") == NULL)
        first++;
    for (i = first; i < n; i++) {
        int ts = strstr(msgs[i], "event: ts") != NULL,
            tags = strstr(msgs[i], "event: tags") != NULL;

        alone += ts && !tags;
        along += ts && tags;
    }
    assert_true(along >= 2);
    assert_true(alone <= 1);
    client_close(&sse);
    run_until(&f, is_closed, &sse);
    client_free(&sse);
    teardown(&f);
}

static int two_counters(void *arg)
{
    return count_of(((client_t *)arg)->rx, "event: counters") >= 2;
}

static long column_of(json_t *cols, const char *name)
{
    size_t i;

    for (i = 0; i < json_array_size(cols); i++)
        if (strcmp(json_string_value(json_array_get(cols, i)), name) == 0)
            return (long)i;
    fail_msg("no column %s", name);
    return -1;
}

/* The "counters" event: a row per device of the "devices" event, in its order, with the
 * columns it names; the requests of the device that scans rise from one to the next, the
 * device that cannot connect says so with its error. */
static void test_counters_event(void **state)
{
    static fx_t f; /* large: not on the stack */
    static char *msgs[256];
    client_t sse;
    json_t *dev = NULL, *c1 = NULL, *c2 = NULL, *cols, *r0, *r1;
    size_t n, i;

    (void)state;
    setup_anim(&f, 0, 3, 100); /* values change: messages go, and counters with them */
    client_open(&f, &sse, "GET /api/events?limit=2 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 1);
    run_until(&f, two_counters, &sse);
    n = stream_chunks(sse.rx, msgs, sizeof(msgs) / sizeof(msgs[0]));
    for (i = 0; i < n; i++) {
        if (dev == NULL && strstr(msgs[i], "event: devices") != NULL)
            dev = event_data(msgs[i], "devices");
        if (strstr(msgs[i], "event: counters") != NULL) {
            json_decref(c1);
            c1 = c2;
            c2 = event_data(msgs[i], "counters");
        }
    }
    assert_non_null(dev);
    assert_non_null(c1);
    assert_non_null(c2);
    cols = json_object_get(c2, "columns");
    assert_int_equal(json_array_size(json_object_get(c2, "rows")),
                     json_array_size(json_object_get(dev, "devices")));
    r0 = json_array_get(json_object_get(c2, "rows"), 0);
    r1 = json_array_get(json_object_get(c2, "rows"), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(dev, "devices"), 0), "name")),
                        "dev0");
    assert_true(json_integer_value(json_array_get(r0, (size_t)column_of(cols, "requests"))) >
                json_integer_value(json_array_get(json_array_get(json_object_get(c1, "rows"), 0),
                                                  (size_t)column_of(cols, "requests"))));
    assert_string_equal(json_string_value(json_array_get(r0, (size_t)column_of(cols, "state"))),
                        "up");
    assert_true(json_is_null(json_array_get(r0, (size_t)column_of(cols, "last_error"))));
    assert_true(json_is_object(json_array_get(r1, (size_t)column_of(cols, "last_error"))));
    assert_int_equal(json_array_size(r0), json_array_size(cols));
    json_decref(dev);
    json_decref(c1);
    json_decref(c2);
    client_close(&sse);
    run_until(&f, is_closed, &sse);
    client_free(&sse);
    teardown(&f);
}

static int no_conns(void *arg)
{
    return pl_http_conn_count(((fx_t *)arg)->h) == 0;
}

/* A client that pipelines many requests and never reads: its connection is closed within
 * the idle bound (its output stops moving; the server shuts it); the server keeps serving
 * others meanwhile. */
static void test_deaf_client_cut(void **state)
{
    static char many[64 * 200];
    struct sockaddr_in sa;
    static fx_t f; /* large: not on the stack */
    client_t deaf, other;
    int small = 4096;

    (void)state;
    setup(&f, 0);
    repeat(many, sizeof(many), "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 200);
    memset(&deaf, 0, sizeof(deaf));
    deaf.f = &f;
    deaf.req = many;
    deaf.req_len = strlen(many);
    deaf.rx = calloc(1, RX_MAX);
    assert_non_null(deaf.rx);
    assert_int_equal(uv_tcp_init_ex(&f.loop, &deaf.tcp, AF_INET), 0);
    assert_int_equal(uv_recv_buffer_size((uv_handle_t *)&deaf.tcp, &small), 0);
    deaf.tcp.data = &deaf;
    deaf.conn.data = &deaf;
    uv_ip4_addr("127.0.0.1", pl_http_port(f.h), &sa);
    assert_int_equal(uv_tcp_connect(&deaf.conn, &deaf.tcp, (struct sockaddr *)&sa, c_connected), 0);
    run_until(&f, is_written, &deaf);
    client_open(&f, &other, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", 1);
    run_until(&f, is_closed, &other); /* served while the deaf one is stuck */
    assert_non_null(strstr(other.rx, "HTTP/1.1 200"));
    run_until(&f, no_conns, &f); /* the deaf one is cut */
    client_close(&deaf);
    run_until(&f, is_closed, &deaf);
    client_free(&deaf);
    client_free(&other);
    teardown(&f);
}

/* Connects with a small receive buffer and sends `req`; never reads. */
static void deaf_open(fx_t *f, client_t *c, const char *req)
{
    struct sockaddr_in sa;
    int small = 4096;

    memset(c, 0, sizeof(*c));
    c->f = f;
    c->req = req;
    c->req_len = strlen(req);
    c->rx = calloc(1, RX_MAX);
    assert_non_null(c->rx);
    assert_int_equal(uv_tcp_init_ex(&f->loop, &c->tcp, AF_INET), 0);
    assert_int_equal(uv_recv_buffer_size((uv_handle_t *)&c->tcp, &small), 0);
    c->tcp.data = c;
    c->conn.data = c;
    uv_ip4_addr("127.0.0.1", pl_http_port(f->h), &sa);
    assert_int_equal(uv_tcp_connect(&c->conn, &c->tcp, (struct sockaddr *)&sa, c_connected), 0);
}

/* Clients that stop reading a large answer and an event stream: once their output has not
 * moved for the idle bound, the server shuts their connections (on_tick's watchdog);
 * others are served meanwhile. */
static void test_stuck_clients_cut(void **state)
{
    static fx_t f; /* large: not on the stack */
    client_t big, sse, other;

    (void)state;
    setup_n(&f, 0, BIG_TAGS);
    deaf_open(&f, &big, "GET /api/tags?limit=1000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    deaf_open(&f, &sse, "GET /api/events?limit=1000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    run_until(&f, is_written, &big);
    run_until(&f, is_written, &sse);
    client_open(&f, &other, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", 1);
    run_until(&f, is_closed, &other); /* served while the two are stuck */
    assert_non_null(strstr(other.rx, "HTTP/1.1 200"));
    run_until(&f, no_conns, &f); /* both cut */
    client_close(&big);
    client_close(&sse);
    run_until(&f, is_closed, &big);
    run_until(&f, is_closed, &sse);
    client_free(&big);
    client_free(&sse);
    client_free(&other);
    teardown(&f);
}

/* Over the connection limit a new connection is closed at once; the others are served. */
static void test_connection_limit(void **state)
{
    static fx_t f; /* large: not on the stack */
    client_t c[10], extra;
    size_t i;

    (void)state;
    setup(&f, 0);
    for (i = 0; i < 8; i++)
        client_open(&f, &c[i], "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 1);
    for (i = 0; i < 8; i++)
        expect(&f, &c[i], "\"status\":\"running\"");
    client_open(&f, &extra, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 1);
    run_until(&f, is_closed, &extra);
    assert_int_equal(extra.rx_len, 0);
    client_free(&extra);
    for (i = 0; i < 8; i++) {
        client_close(&c[i]);
        run_until(&f, is_closed, &c[i]);
        client_free(&c[i]);
    }
    teardown(&f);
}

/* One PCCC device (an SLC 500 simulator) with a string tag, writes on. */
static void setup_string(fx_t *f)
{
    pl_pccc_server_config_t sc;
    pl_engine_config_t ec;
    pl_http_config_t hc;
    pl_status_t err;
    FILE *fp;

    memset(f, 0, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    pl_pccc_server_config_init(&sc);
    sc.listen.port = 0;
    sc.plc = PL_PCCC_PLC_SLC500;
    assert_int_equal(pl_pccc_server_new(&f->loop, &sc, &f->psrv, &err), 0);
    snprintf(f->lines[0].name, sizeof(f->lines[0].name), "line0");
    snprintf(f->lines[0].protocol, sizeof(f->lines[0].protocol), "pccc");
    snprintf(f->lines[0].keys, sizeof(f->lines[0].keys), "plc=%s",
             pl_pccc_plc_name(PL_PCCC_PLC_SLC500));
    pl_line_config_init(&f->lines[0].line);
    assert_int_equal(pl_hostlist_parse(&f->lines[0].line.hosts, "127.0.0.1", 9, NULL), 0);
    f->lines[0].line.port = pl_pccc_server_port(f->psrv);
    snprintf(f->devs[0].name, sizeof(f->devs[0].name), "dev0");
    snprintf(f->devs[0].line, sizeof(f->devs[0].line), "line0");
    f->devs[0].write_timeout_ms = 1000;
    snprintf(f->scan.name, sizeof(f->scan.name), "fast");
    f->scan.period_ms = 20;
    f->tags[0].name = "s";
    f->tags[0].device = "dev0";
    f->tags[0].address = "ST9:0";
    f->tags[0].scan = "fast";
    f->tags[0].writable = 1;
    memset(&ec, 0, sizeof(ec));
    ec.lines = f->lines;
    ec.nlines = 1;
    ec.devices = f->devs;
    ec.ndevices = 1;
    ec.tags = f->tags;
    ec.ntags = 1;
    ec.scans = &f->scan;
    ec.nscans = 1;
    pl_status_clear(&err);
    assert_int_equal(pl_engine_new(&f->loop, &ec, NULL, NULL, &f->e, &err), 0);
    assert_int_equal(pl_engine_start(f->e), 0);
    snprintf(f->token_path, sizeof(f->token_path), "test_http_token_s");
    fp = fopen(f->token_path, "w");
    assert_non_null(fp);
    fputs("s3cret\n", fp);
    fclose(fp);
    memset(&hc, 0, sizeof(hc));
    hc.listen = "127.0.0.1:0";
    hc.writes = 1;
    hc.token_file = f->token_path;
    hc.max_conns = 8;
    hc.idle_ms = 500;
    assert_int_equal(pl_http_new(&f->loop, &hc, f->e, &f->h, &err), 0);
    run_until(f, dev_up, f);
}

typedef struct {
    int done;
    pl_status_t st;
} wres_t;

static void on_engine_written(pl_engine_t *e, const pl_status_t *st, void *ud)
{
    wres_t *w = ud;

    (void)e;
    w->st = *st;
    w->done = 1;
}

static int wres_done(void *arg)
{
    return ((wres_t *)arg)->done;
}

typedef struct {
    fx_t *f;
    const char *text;
    char *rx;
} poll_t;

/* Asks for /api/tags/s until the answer holds `text` (the scan reads the tag every 20 ms). */
static int tag_answer_has(void *arg)
{
    poll_t *p = arg;
    client_t c;

    client_open(p->f, &c, "GET /api/tags/s HTTP/1.1\r\nConnection: close\r\n\r\n", 1);
    run_until(p->f, is_closed, &c);
    free(p->rx);
    p->rx = c.rx;
    return strstr(c.rx, p->text) != NULL;
}

/* POSTs `body` to /api/tags/s and returns the answer (the caller frees it). */
static char *post_s(fx_t *f, const char *body)
{
    static char req[2048];
    client_t c;

    snprintf(req, sizeof(req),
             "POST /api/tags/s HTTP/1.1\r\nConnection: close\r\nContent-Type: "
             "application/json\r\nAuthorization: Bearer s3cret\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    client_open(f, &c, req, 1);
    run_until(f, is_closed, &c);
    return c.rx;
}

/* Values and write ids by the same rules as stdin and MQTT (docs/daemon.md): a string whose
 * bytes are not UTF-8 goes out with value_base64 as well; an id is echoed whole up to 256
 * bytes, a longer one or one that is neither a string nor an integer is refused. */
static void test_same_rules_as_stdin(void **state)
{
    static fx_t f; /* large: not on the stack */
    char body[512], id[PL_JSONL_ID_MAX + 2];
    poll_t p = {&f, "\"value_base64\":\"YWL//mNk\"", NULL};
    wres_t w = {0};
    pl_value_t v;
    pl_status_t err;
    char *rx;

    (void)state;
    setup_string(&f);
    memset(&v, 0, sizeof(v));
    v.type = PL_VT_STRING;
    memcpy(v.s,
           "ab\xff\xfe"
           "cd",
           6);
    v.len = 6;
    pl_status_clear(&err);
    assert_int_equal(pl_engine_write(f.e, "s", &v, on_engine_written, &w, &err), 0);
    run_until(&f, wres_done, &w);
    assert_int_equal(w.st.code, 0);
    run_until(&f, tag_answer_has, &p);
    /* the page's JSON is ASCII: U+FFFD for each byte that is not text, as \uFFFD */
    assert_non_null(strstr(p.rx, "\"value\":\"ab\\uFFFD\\uFFFDcd\""));
    free(p.rx);

    /* text that is UTF-8 has no value_base64 */
    rx = post_s(&f, "{\"value\":\"caf\xC3\xA9\",\"id\":7}");
    assert_non_null(strstr(rx, "{\"result\":\"ok\",\"write\":\"s\",\"id\":\"7\"}"));
    free(rx);
    p.text = "\"value\":\"caf\\u00E9\"";
    p.rx = NULL;
    run_until(&f, tag_answer_has, &p);
    assert_null(strstr(p.rx, "value_base64"));
    free(p.rx);

    /* an id of the longest length comes back whole */
    memset(id, 'i', PL_JSONL_ID_MAX);
    id[PL_JSONL_ID_MAX] = '\0';
    snprintf(body, sizeof(body), "{\"value\":\"x\",\"id\":\"%s\"}", id);
    rx = post_s(&f, body);
    assert_non_null(strstr(rx, "HTTP/1.1 200"));
    snprintf(body, sizeof(body), "\"id\":\"%s\"}", id);
    assert_non_null(strstr(rx, body));
    free(rx);
    /* one byte more is refused, as are ids that are neither strings
     * nor integers */
    id[PL_JSONL_ID_MAX] = 'i';
    id[PL_JSONL_ID_MAX + 1] = '\0';
    snprintf(body, sizeof(body), "{\"value\":\"x\",\"id\":\"%s\"}", id);
    rx = post_s(&f, body);
    assert_non_null(strstr(rx, "HTTP/1.1 400"));
    assert_non_null(strstr(rx, "longer than 256"));
    free(rx);
    rx = post_s(&f, "{\"value\":\"x\",\"id\":{\"a\":1}}");
    assert_non_null(strstr(rx, "HTTP/1.1 400"));
    assert_non_null(strstr(rx, "must be a string or an integer"));
    free(rx);
    rx = post_s(&f, "{\"value\":\"x\",\"id\":1.5}");
    assert_non_null(strstr(rx, "HTTP/1.1 400"));
    free(rx);
    teardown(&f);
}

/* A tag of an event-driven device: the API row carries the device's timestamp and the
 * quality flags; a polled tag's row has neither (the other tests' rows are unchanged). */
static void test_event_tag_fields(void **state)
{
    static fx_t f; /* large: not on the stack */
    pl_engine_config_t ec;
    pl_http_config_t hc;
    pl_status_t err;
    pl_drv_meta_t meta;
    client_t c;

    (void)state;
    memset(&f, 0, sizeof(f));
    assert_int_equal(uv_loop_init(&f.loop), 0);
    pl_engine_test_protocol(&fake_events_protocol);
    snprintf(f.lines[0].name, sizeof(f.lines[0].name), "rtu");
    snprintf(f.lines[0].protocol, sizeof(f.lines[0].protocol), "fakeevents");
    pl_line_config_init(&f.lines[0].line);
    assert_int_equal(pl_hostlist_parse(&f.lines[0].line.hosts, "127.0.0.1", 9, NULL), 0);
    snprintf(f.devs[0].name, sizeof(f.devs[0].name), "sub1");
    snprintf(f.devs[0].line, sizeof(f.devs[0].line), "rtu");
    f.tags[0].name = "p";
    f.tags[0].device = "sub1";
    f.tags[0].address = "1001";
    memset(&ec, 0, sizeof(ec));
    ec.lines = f.lines;
    ec.nlines = 1;
    ec.devices = f.devs;
    ec.ndevices = 1;
    ec.tags = f.tags;
    ec.ntags = 1;
    pl_status_clear(&err);
    assert_int_equal(pl_engine_new(&f.loop, &ec, NULL, NULL, &f.e, &err), 0);
    assert_int_equal(pl_engine_start(f.e), 0);
    memset(&hc, 0, sizeof(hc));
    hc.listen = "127.0.0.1:0";
    hc.max_conns = 8;
    hc.idle_ms = 500;
    assert_int_equal(pl_http_new(&f.loop, &hc, f.e, &f.h, &err), 0);

    memset(&meta, 0, sizeof(meta));
    meta.source_ms = 1795325400123ull; /* 2026-11-22T05:30:00.123Z */
    meta.flags = PL_QF_SUBSTITUTED;
    fake_events_push_int(1001, 17, &meta);
    client_open(&f, &c, "GET /api/tags/p HTTP/1.1\r\nConnection: close\r\n\r\n", 1);
    run_until(&f, is_closed, &c);
    assert_non_null(strstr(c.rx, "\"scan\":\"\""));
    assert_non_null(strstr(c.rx, "\"value\":17"));
    assert_non_null(strstr(c.rx, "\"source_ts\":\"2026-11-22T05:30:00.123Z\""));
    assert_non_null(strstr(c.rx, "\"source_ts_ms\":1795325400123"));
    assert_non_null(strstr(c.rx, "\"flags\":[\"substituted\"]"));
    client_free(&c);

    /* without a timestamp or flags, neither key */
    fake_events_push_int(1001, 18, NULL);
    client_open(&f, &c, "GET /api/tags/p HTTP/1.1\r\nConnection: close\r\n\r\n", 1);
    run_until(&f, is_closed, &c);
    assert_non_null(strstr(c.rx, "\"value\":18"));
    assert_null(strstr(c.rx, "source_ts"));
    assert_null(strstr(c.rx, "flags"));
    client_free(&c);
    teardown(&f);
    pl_engine_test_protocol(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers),
        cmocka_unit_test(test_write_client_gone),
        cmocka_unit_test(test_free_with_clients),
        cmocka_unit_test(test_connection_limit),
        cmocka_unit_test(test_idle),
        cmocka_unit_test(test_devices_event_follows_states),
        cmocka_unit_test(test_events_changed_rows_carry_state),
        cmocka_unit_test(test_counters_event),
        cmocka_unit_test(test_events_times_ride_with_changes),
        cmocka_unit_test(test_deaf_client_cut),
        cmocka_unit_test(test_stuck_clients_cut),
        cmocka_unit_test(test_same_rules_as_stdin),
        cmocka_unit_test(test_event_tag_fields),
    };

    signal(SIGPIPE, SIG_IGN); /* as the daemon does: a closed peer is EPIPE, not a signal */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
