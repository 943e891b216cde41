/* SPDX-License-Identifier: MIT */
/*
 * Fault-injection helpers for the integration tests: guarded loop runs, byte drips, raw TCP
 * partners, storms of abandoned connections and floods that are never read (see faults.h).
 *
 * Test code only. It must not sleep, block, print, or leave a handle open once it reports
 * itself finished; every allocation is freed in a libuv close or write callback.
 */
#include "faults.h"

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- running the loop ------------------------------------------------------------------- */

static void on_guard(uv_timer_t *t)
{
    int *expired = t->data;

    *expired = 1;
}

typedef struct {
    const int *flag, *counter;
    int want;
} cond_t;

static int cond_holds(void *ctx)
{
    const cond_t *c = ctx;

    if (c->flag != NULL)
        return *c->flag != 0;
    if (c->counter != NULL)
        return *c->counter >= c->want;
    return 0;
}

int fault_run_pred(uv_loop_t *loop, int (*pred)(void *ctx), void *ctx, unsigned ms)
{
    uv_timer_t guard;
    int expired = 0, ok;

    uv_timer_init(loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, ms, 0);
    while (!(ok = pred(ctx)) && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT); /* the guard's close callback */
    return ok ? 0 : -1;
}

int fault_run_until(uv_loop_t *loop, const int *flag, unsigned ms)
{
    cond_t c = {flag, NULL, 0};

    return fault_run_pred(loop, cond_holds, &c, ms);
}

int fault_run_count(uv_loop_t *loop, const int *counter, int want, unsigned ms)
{
    cond_t c = {NULL, counter, want};

    return fault_run_pred(loop, cond_holds, &c, ms);
}

void fault_run_for(uv_loop_t *loop, unsigned ms)
{
    cond_t c = {NULL, NULL, 0};

    (void)fault_run_pred(loop, cond_holds, &c, ms);
}

static const char *volatile watch_what = "";

static void on_alarm(int sig)
{
    static const char head[] = "HANG: ";
    const char *w = watch_what;

    (void)sig;
    (void)!write(2, head, sizeof(head) - 1u);
    (void)!write(2, w, strlen(w));
    (void)!write(2, "\n", 1);
    _exit(124);
}

void fault_watchdog(unsigned seconds, const char *what)
{
    struct sigaction sa;

    watch_what = what != NULL ? what : "";
    if (seconds > 0) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_alarm;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGALRM, &sa, NULL);
    }
    alarm(seconds);
}

int fault_fd_count(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (dir == NULL)
        return -1;
    while ((e = readdir(dir)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(dir);
    return n - 1; /* the directory's own descriptor */
}

int fault_free_port(uv_loop_t *loop, uint16_t *port)
{
    struct sockaddr_in sa;
    struct sockaddr_storage ss;
    int len = (int)sizeof(ss);
    uv_tcp_t tcp;
    int r;

    uv_ip4_addr("127.0.0.1", 0, &sa);
    uv_tcp_init(loop, &tcp);
    r = uv_tcp_bind(&tcp, (const struct sockaddr *)&sa, 0);
    if (r == 0)
        r = uv_tcp_getsockname(&tcp, (struct sockaddr *)&ss, &len);
    if (r == 0)
        *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    uv_close((uv_handle_t *)&tcp, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return r;
}

/* --- drip ------------------------------------------------------------------------------- */

static void on_drip_closed(uv_handle_t *h)
{
    fault_drip_t *d = h->data;

    d->closed = 1;
}

static void on_drip(uv_timer_t *t)
{
    fault_drip_t *d = t->data;
    int interval = (int)uv_timer_get_repeat(t);

    if (d->done)
        return;
    if (d->sink(d->ctx, d->buf + d->off, 1) < 0) {
        d->failed = 1;
        d->done = 1;
        uv_timer_stop(t);
        return;
    }
    d->off++;
    if (d->off == d->len) {
        d->done = 1;
        uv_timer_stop(t);
        return;
    }
    if (interval == 0)
        uv_timer_start(t, on_drip, 0, 0); /* one byte per loop turn */
}

int fault_drip_start(uv_loop_t *loop, fault_drip_t *d, const uint8_t *buf, size_t len,
                     unsigned interval_ms, fault_sink_fn sink, void *ctx)
{
    if (len == 0 || len > sizeof(d->buf) || sink == NULL)
        return -1;
    if (d->started && (!d->done || uv_is_closing((uv_handle_t *)&d->timer)))
        return -1; /* still dripping, or stopped for good */
    memcpy(d->buf, buf, len);
    d->len = len;
    d->off = 0;
    d->done = d->failed = d->closed = 0;
    d->sink = sink;
    d->ctx = ctx;
    if (!d->started) {
        uv_timer_init(loop, &d->timer);
        d->timer.data = d;
        d->started = 1;
    }
    uv_timer_start(&d->timer, on_drip, interval_ms, interval_ms);
    return 0;
}

void fault_drip_stop(fault_drip_t *d)
{
    if (!d->started || uv_is_closing((uv_handle_t *)&d->timer))
        return;
    d->done = 1;
    uv_timer_stop(&d->timer);
    uv_close((uv_handle_t *)&d->timer, on_drip_closed);
}

/* --- raw partner ------------------------------------------------------------------------ */

typedef struct {
    uv_write_t req;
    size_t len;
    uint8_t data[];
} wchunk_t;

static void on_raw_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static uint8_t scratch[65536]; /* contents beyond rx[] are counted, not kept */
    fault_raw_t *r = h->data;

    (void)suggested;
    if (r->rx_len < sizeof(r->rx))
        *buf = uv_buf_init((char *)r->rx + r->rx_len, (unsigned)(sizeof(r->rx) - r->rx_len));
    else
        *buf = uv_buf_init((char *)scratch, (unsigned)sizeof(scratch));
}

static void on_raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    fault_raw_t *r = s->data;

    if (n > 0) {
        if ((uint8_t *)buf->base == r->rx + r->rx_len)
            r->rx_len += (size_t)n;
        r->rx_total += (uint64_t)n;
        return;
    }
    if (n < 0) {
        if (n != UV_EOF && r->error == 0)
            r->error = (int)n;
        r->eof = 1;
        uv_read_stop(s);
    }
}

static void on_raw_connect(uv_connect_t *req, int status)
{
    fault_raw_t *r = req->data;

    r->connected = 1;
    if (status < 0) {
        if (r->error == 0)
            r->error = status;
        return;
    }
    if (r->reading)
        uv_read_start((uv_stream_t *)&r->tcp, on_raw_alloc, on_raw_read);
}

int fault_raw_connect(uv_loop_t *loop, fault_raw_t *r, uint16_t port, int read)
{
    struct sockaddr_in sa;
    int rc;

    memset(r, 0, sizeof(*r));
    r->loop = loop;
    r->reading = read;
    uv_ip4_addr("127.0.0.1", port, &sa);
    rc = uv_tcp_init(loop, &r->tcp);
    if (rc < 0)
        return rc;
    r->tcp.data = r;
    r->creq.data = r;
    rc = uv_tcp_connect(&r->creq, &r->tcp, (const struct sockaddr *)&sa, on_raw_connect);
    if (rc < 0) {
        r->error = rc;
        r->connected = 1;
    }
    return rc;
}

static void on_raw_written(uv_write_t *req, int status)
{
    wchunk_t *w = (wchunk_t *)req;
    fault_raw_t *r = req->data;

    r->pending -= w->len;
    if (status < 0) {
        if (r->error == 0 && status != UV_ECANCELED)
            r->error = status;
    } else {
        r->writes_ok++;
    }
    free(w);
}

int fault_raw_write(fault_raw_t *r, const uint8_t *buf, size_t len)
{
    wchunk_t *w;
    uv_buf_t b;
    int rc;

    if (r->closing || r->error != 0)
        return r->error != 0 ? r->error : UV_ECANCELED;
    w = malloc(sizeof(*w) + len);
    if (w == NULL)
        return UV_ENOMEM;
    memcpy(w->data, buf, len);
    w->len = len;
    w->req.data = r;
    b = uv_buf_init((char *)w->data, (unsigned)len);
    rc = uv_write(&w->req, (uv_stream_t *)&r->tcp, &b, 1, on_raw_written);
    if (rc < 0) {
        free(w);
        if (r->error == 0)
            r->error = rc;
        return rc;
    }
    r->pending += len;
    return 0;
}

static int raw_sink(void *ctx, const uint8_t *buf, size_t len)
{
    return fault_raw_write(ctx, buf, len);
}

int fault_raw_drip(fault_raw_t *r, const uint8_t *buf, size_t len, unsigned interval_ms)
{
    return fault_drip_start(r->loop, &r->drip, buf, len, interval_ms, raw_sink, r);
}

void fault_raw_stop_reading(fault_raw_t *r)
{
    r->reading = 0;
    if (r->connected && r->error == 0 && !r->closing)
        uv_read_stop((uv_stream_t *)&r->tcp);
}

static void on_raw_closed(uv_handle_t *h)
{
    fault_raw_t *r = h->data;

    r->closed = 1;
}

void fault_raw_close(fault_raw_t *r, int reset)
{
    if (r->drip.started)
        fault_drip_stop(&r->drip);
    if (r->closing || r->loop == NULL)
        return;
    r->closing = 1;
    if (reset && r->connected && r->error == 0 && uv_tcp_close_reset(&r->tcp, on_raw_closed) == 0)
        return;
    uv_close((uv_handle_t *)&r->tcp, on_raw_closed);
}

int fault_raw_done(const fault_raw_t *r)
{
    if (r->loop == NULL)
        return 1;
    return r->closed && (!r->drip.started || r->drip.closed);
}

/* --- storm ------------------------------------------------------------------------------ */

typedef struct {
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t wreq;
    fault_storm_t *storm;
    int ready; /* connect (and prefix write) finished */
    int ok;    /* connected */
} sconn_t;

struct fault_storm_s {
    uv_loop_t *loop;
    uv_timer_t poll;
    uint16_t port;
    unsigned total, batch, opened, connected, failed, in_batch, open_handles;
    int closing_batch, finished, closed;
    const uint8_t *prefix;
    size_t prefix_len;
    const uint64_t *accepted;
    uint64_t accepted_base;
    sconn_t *conns;
};

static void storm_conn_closed(uv_handle_t *h)
{
    sconn_t *c = h->data;

    c->storm->open_handles--;
}

static void storm_written(uv_write_t *req, int status)
{
    sconn_t *c = req->data;

    (void)status;
    c->ready = 1;
}

static void storm_connected(uv_connect_t *req, int status)
{
    sconn_t *c = req->data;
    fault_storm_t *s = c->storm;
    uv_buf_t b;

    if (status < 0) {
        s->failed++;
        c->ready = 1;
        uv_close((uv_handle_t *)&c->tcp, storm_conn_closed);
        return;
    }
    s->connected++;
    c->ok = 1;
    if (s->prefix_len == 0) {
        c->ready = 1;
        return;
    }
    b = uv_buf_init((char *)(uintptr_t)s->prefix, (unsigned)s->prefix_len);
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, storm_written) < 0)
        c->ready = 1;
}

static void storm_open_batch(fault_storm_t *s)
{
    struct sockaddr_in sa;
    unsigned i, n = s->total - s->opened;

    if (n > s->batch)
        n = s->batch;
    uv_ip4_addr("127.0.0.1", s->port, &sa);
    memset(s->conns, 0, sizeof(*s->conns) * s->batch);
    for (i = 0; i < n; i++) {
        sconn_t *c = &s->conns[i];

        c->storm = s;
        uv_tcp_init(s->loop, &c->tcp);
        c->tcp.data = c;
        c->creq.data = c;
        s->open_handles++;
        if (uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&sa, storm_connected) < 0) {
            s->failed++;
            c->ready = 1;
            uv_close((uv_handle_t *)&c->tcp, storm_conn_closed);
        }
    }
    s->in_batch = n;
    s->opened += n;
    s->closing_batch = 0;
}

static void storm_poll_closed(uv_handle_t *h)
{
    fault_storm_t *s = h->data;

    s->closed = 1;
}

static void storm_poll(uv_timer_t *t)
{
    fault_storm_t *s = t->data;
    unsigned i;

    if (!s->closing_batch) {
        for (i = 0; i < s->in_batch; i++)
            if (!s->conns[i].ready)
                return;
        if (s->accepted != NULL && *s->accepted - s->accepted_base < s->connected)
            return;
        for (i = 0; i < s->in_batch; i++) {
            sconn_t *c = &s->conns[i];

            if (!c->ok)
                continue; /* closed at connect failure */
            if (uv_tcp_close_reset(&c->tcp, storm_conn_closed) != 0)
                uv_close((uv_handle_t *)&c->tcp, storm_conn_closed);
        }
        s->closing_batch = 1;
        return;
    }
    if (s->open_handles > 0)
        return;
    if (s->opened < s->total) {
        storm_open_batch(s);
        return;
    }
    s->finished = 1;
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, storm_poll_closed);
}

int fault_storm_start(uv_loop_t *loop, fault_storm_t **out, uint16_t port, unsigned total,
                      unsigned batch, const uint8_t *prefix, size_t prefix_len,
                      const uint64_t *accepted, uint64_t accepted_base)
{
    fault_storm_t *s;

    if (total == 0 || batch == 0)
        return -1;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -1;
    s->conns = calloc(batch, sizeof(*s->conns));
    if (s->conns == NULL) {
        free(s);
        return -1;
    }
    s->loop = loop;
    s->port = port;
    s->total = total;
    s->batch = batch;
    s->prefix = prefix;
    s->prefix_len = prefix_len;
    s->accepted = accepted;
    s->accepted_base = accepted_base;
    uv_timer_init(loop, &s->poll);
    s->poll.data = s;
    storm_open_batch(s);
    uv_timer_start(&s->poll, storm_poll, 1, 1);
    *out = s;
    return 0;
}

int fault_storm_done(const fault_storm_t *s)
{
    return s->finished && s->closed;
}

unsigned fault_storm_connected(const fault_storm_t *s)
{
    return s->connected;
}

unsigned fault_storm_failed(const fault_storm_t *s)
{
    return s->failed;
}

void fault_storm_free(fault_storm_t *s)
{
    if (s == NULL)
        return;
    free(s->conns);
    free(s);
}

/* --- conditions ------------------------------------------------------------------------- */

int fault_pred_raw_eof(void *raw)
{
    return ((const fault_raw_t *)raw)->eof;
}

int fault_pred_raw_done(void *raw)
{
    return fault_raw_done(raw);
}

int fault_pred_storm_done(void *storm)
{
    return fault_storm_done(storm);
}

int fault_pred_fds_are(void *n)
{
    return fault_fd_count() == *(const int *)n;
}

/* --- flood ------------------------------------------------------------------------------ */

int fault_flood_step(void *flood)
{
    fault_flood_t *f = flood;

    if (f->stop(f->ctx))
        return 1;
    while (f->raw->error == 0 && f->raw->pending < 65536 && f->writes < f->max_writes) {
        if (fault_raw_write(f->raw, f->chunk, f->chunk_len) < 0)
            break;
        f->writes++;
    }
    return 0;
}
