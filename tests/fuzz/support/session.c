/* SPDX-License-Identifier: MIT */
/*
 * The session fuzz harness (see session.h). Test code only, never part of the library.
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

#if defined(__SANITIZE_ADDRESS__)
#define FZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FZ_ASAN 1
#endif
#endif
#ifdef FZ_ASAN
#include <sanitizer/allocator_interface.h>
#endif

struct fz_conn_s {
    uv_tcp_t tcp;
    fz_peer_t *peer;
    int current; /* still the peer's current connection */
};

typedef struct {
    uv_write_t req;
    fz_peer_t *peer;
    uint8_t data[];
} fz_write_t;

void fz_check(int ok, const char *what, const char *file, int line)
{
    if (!ok) {
        fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
        abort();
    }
}

uint8_t fz_u8(fz_input_t *in)
{
    uint8_t b;

    if (in->n == 0)
        return 0;
    b = in->p[0];
    in->p++;
    in->n--;
    return b;
}

uint16_t fz_u16(fz_input_t *in)
{
    uint16_t lo = fz_u8(in);

    return (uint16_t)(lo | (uint16_t)(fz_u8(in) << 8));
}

size_t fz_take(fz_input_t *in, size_t want, const uint8_t **out)
{
    size_t n = want < in->n ? want : in->n;

    *out = in->p;
    in->p += n;
    in->n -= n;
    return n;
}

size_t fz_heap_bytes(void)
{
#ifdef FZ_ASAN
    return __sanitizer_get_current_allocated_bytes();
#else
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
#endif
}

/* --- the raw partner ------------------------------------------------------------------ */

static void on_handle_closed(uv_handle_t *h)
{
    fz_peer_t *p = h->data;

    p->open_handles--;
}

static void on_conn_closed(uv_handle_t *h)
{
    fz_conn_t *c = h->data;

    c->peer->open_handles--;
    free(c);
}

static void conn_close(fz_peer_t *p)
{
    fz_conn_t *c = p->conn;

    if (c == NULL)
        return;
    p->conn = NULL;
    c->current = 0;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    static char slab[65536];

    (void)h;
    (void)hint;
    *buf = uv_buf_init(slab, sizeof(slab));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    fz_conn_t *c = s->data;
    fz_peer_t *p = c->peer;
    size_t n;

    if (nread == 0 || !c->current)
        return;
    if (nread < 0) {
        p->eof = 1;
        uv_read_stop(s);
        return;
    }
    n = (size_t)nread;
    p->rx_total += n;
    if (n > FZ_RX_MAX - p->rx_len) {
        p->rx_overflow = 1;
        p->rx_len = 0;
        if (n > FZ_RX_MAX)
            n = FZ_RX_MAX;
    }
    memcpy(p->rx + p->rx_len, buf->base, n);
    p->rx_len += n;
}

static fz_conn_t *conn_new(fz_peer_t *p)
{
    fz_conn_t *c = calloc(1, sizeof(*c));

    /* a write to a connection the other side closed must be an error, not the end */
    signal(SIGPIPE, SIG_IGN);
    FZ_CHECK(c != NULL);
    FZ_CHECK(uv_tcp_init(p->loop, &c->tcp) == 0);
    c->tcp.data = c;
    c->peer = p;
    p->open_handles++;
    return c;
}

static void conn_begin(fz_peer_t *p, fz_conn_t *c)
{
    conn_close(p);
    c->current = 1;
    p->conn = c;
    p->eof = 0;
    p->rx_len = 0;
    FZ_CHECK(uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0);
}

static void on_connection(uv_stream_t *server, int status)
{
    fz_peer_t *p = server->data;
    fz_conn_t *c;

    if (status < 0)
        return;
    c = conn_new(p);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    p->accepts++;
    conn_begin(p, c);
}

int fz_peer_listen(fz_peer_t *p, uv_loop_t *loop)
{
    struct sockaddr_storage ss;
    int len = (int)sizeof(ss);
    int rc;

    p->loop = loop;
    uv_ip4_addr("127.0.0.1", 0, (struct sockaddr_in *)&ss);
    FZ_CHECK(uv_tcp_init(loop, &p->listener) == 0);
    p->listener.data = p;
    p->listening = 1;
    p->open_handles++;
    rc = uv_tcp_bind(&p->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&p->listener, 16, on_connection);
    if (rc == 0)
        rc = uv_tcp_getsockname(&p->listener, (struct sockaddr *)&ss, &len);
    if (rc == 0)
        p->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return rc;
}

void fz_peer_stop_listening(fz_peer_t *p)
{
    if (!p->listening)
        return;
    p->listening = 0;
    uv_close((uv_handle_t *)&p->listener, on_handle_closed);
}

typedef struct {
    uv_connect_t req;
    fz_peer_t *peer;
    fz_conn_t *conn;
    int done, status;
} fz_connect_t;

static void on_connect(uv_connect_t *req, int status)
{
    fz_connect_t *k = req->data;

    k->done = 1;
    k->status = status;
}

static int connect_done(void *arg)
{
    return ((fz_connect_t *)arg)->done;
}

int fz_peer_connect(fz_peer_t *p, uv_loop_t *loop, uint16_t port)
{
    struct sockaddr_in sin;
    fz_connect_t k;

    p->loop = loop;
    memset(&k, 0, sizeof(k));
    k.conn = conn_new(p);
    k.req.data = &k;
    uv_ip4_addr("127.0.0.1", port, &sin);
    FZ_CHECK(uv_tcp_connect(&k.req, &k.conn->tcp, (const struct sockaddr *)&sin, on_connect) == 0);
    fz_run_until(loop, connect_done, &k, 10000);
    if (k.status != 0) {
        uv_close((uv_handle_t *)&k.conn->tcp, on_conn_closed);
        return k.status;
    }
    p->connects++;
    conn_begin(p, k.conn);
    return 0;
}

static void on_written(uv_write_t *req, int status)
{
    (void)status; /* the other side may have closed: its business */
    free(req->data);
}

void fz_peer_send(fz_peer_t *p, const uint8_t *buf, size_t len)
{
    fz_write_t *w;
    uv_buf_t b;

    if (p->conn == NULL || len == 0)
        return;
    w = malloc(sizeof(*w) + len);
    FZ_CHECK(w != NULL);
    memcpy(w->data, buf, len);
    w->req.data = w;
    w->peer = p;
    b = uv_buf_init((char *)w->data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&p->conn->tcp, &b, 1, on_written) != 0)
        free(w);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    free(req);
}

void fz_peer_shutdown(fz_peer_t *p)
{
    uv_shutdown_t *req;

    if (p->conn == NULL)
        return;
    req = malloc(sizeof(*req));
    FZ_CHECK(req != NULL);
    if (uv_shutdown(req, (uv_stream_t *)&p->conn->tcp, on_shutdown) != 0)
        free(req);
}

void fz_peer_drop(fz_peer_t *p)
{
    conn_close(p);
}

void fz_peer_consume(fz_peer_t *p, size_t n)
{
    if (n >= p->rx_len) {
        p->rx_len = 0;
        return;
    }
    memmove(p->rx, p->rx + n, p->rx_len - n);
    p->rx_len -= n;
}

void fz_peer_close(fz_peer_t *p)
{
    conn_close(p);
    fz_peer_stop_listening(p);
}

/* --- running the loop --------------------------------------------------------------------- */

static void on_deadline(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

void fz_run_until(uv_loop_t *loop, int (*done)(void *arg), void *arg, unsigned ms)
{
    uv_timer_t guard;
    int expired = 0;

    FZ_CHECK(uv_timer_init(loop, &guard) == 0);
    guard.data = &expired;
    FZ_CHECK(uv_timer_start(&guard, on_deadline, ms, 0) == 0);
    uv_unref((uv_handle_t *)&guard);
    for (;;) {
        if (done != NULL ? done(arg) : !uv_loop_alive(loop))
            break;
        if (expired) {
            fprintf(stderr, "fuzz session: no progress within %u ms (a hang)\n", ms);
            abort();
        }
        if (uv_run(loop, UV_RUN_ONCE) == 0 && !uv_loop_alive(loop)) {
            if (done == NULL || done(arg))
                break;
            fprintf(stderr, "fuzz session: nothing left to wait for, and not done\n");
            abort();
        }
    }
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

static int waited;

static void on_waited(uv_timer_t *t)
{
    (void)t;
    waited = 1;
}

static int wait_done(void *arg)
{
    (void)arg;
    return waited;
}

void fz_wait_ms(uv_loop_t *loop, unsigned ms)
{
    uv_timer_t t;

    waited = 0;
    FZ_CHECK(uv_timer_init(loop, &t) == 0);
    FZ_CHECK(uv_timer_start(&t, on_waited, ms, 0) == 0);
    fz_run_until(loop, wait_done, NULL, ms + 10000u);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

void fz_turn(uv_loop_t *loop)
{
    int i;

    for (i = 0; i < 3; i++)
        uv_run(loop, UV_RUN_NOWAIT);
}

static void print_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    fprintf(stderr, "fuzz session: handle left open: %s%s\n", uv_handle_type_name(h->type),
            uv_is_active(h) ? " (active)" : "");
}

void fz_loop_close(uv_loop_t *loop)
{
    fz_run_until(loop, NULL, NULL, 10000);
    if (uv_loop_close(loop) != 0) {
        uv_walk(loop, print_handle, NULL);
        abort();
    }
}
