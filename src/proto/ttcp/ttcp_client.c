/* SPDX-License-Identifier: MIT */
/*
 * 7TTCP driver (client) session: requests queued per connection, one in flight, matched
 * against the answer's node, offset, type and count; per-request timeout; keep-alive after
 * idle; unsolicited input handed to the caller.
 *
 * Built on a line (src/net) for the connection and on the codec (src/proto/ttcp/codec) for bytes;
 * this file does no socket I/O of its own and never blocks. Every request completes exactly
 * once; nothing here prints.
 */
#include "plcline/ttcp.h"
#include "plcline/error.h"

#include "proto/ttcp/codec/ttcp.h"
#include "codec/url.h"
#include "net/line_url.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS   1000u
#define DEFAULT_KEEPALIVE_MS 10000u
#define DEFAULT_QUEUE        256u

struct pl_ttcp_client_s {
    uv_loop_t *loop;
    pl_line_t *line;
    const pl_logger_t *log;
    pl_ttcp_unsolicited_cb on_unsolicited;
    pl_ttcp_link_cb on_link;
    void *ud;
    unsigned timeout_ms, keepalive_ms, max_block, max_queue, nhosts;

    uv_timer_t timer;    /* fires at `due` (lazily: it may fire early and re-arm itself) */
    uint64_t due;        /* uv_now() deadline of the head request; 0: none */
    uv_timer_t ka_timer; /* keep-alive */
    pl_ttcp_req_t *head, *tail;
    unsigned queued;
    pl_ttcp_req_t *inflight;   /* == head once sent */
    uint64_t sent_ns;          /* uv_hrtime() at send, for the round-trip time */
    uint64_t last_io;          /* uv_now() of the last request sent or answer received */
    unsigned attempt_failures; /* failed connect attempts since the last success */
    unsigned conn_gen;         /* bumped when the connection goes up or down */
    uint8_t up, persistent, closing, ka_wait;
    uint8_t dropping; /* we dropped the connection; the line's on_down is still to come */
    uint8_t handles_open;

    pl_ttcp_client_stats_t stats;
    pl_ratelimit_t rl; /* every line the node can cause (core/log.c) */
    pl_ratelimit_slot_t rl_slots[4];
    size_t rx_len;
    uint8_t rx[PL_TTCP_MAX_FRAME];
    /* encode buffer; also the scratch space for unsolicited words */
    union {
        uint8_t bytes[PL_TTCP_MAX_FRAME];
        uint16_t words[PL_TTCP_MAX_WORDS];
    } tx;
};

static void pump(pl_ttcp_client_t *c);
static void set_deadline(pl_ttcp_client_t *c, uint64_t delay);

/* A line the node can cause: rate-limited per node and message. */
#define PLOG(c, level, ...)                                                               \
    pl_log_limited(&(c)->rl, uv_now((c)->loop), (c)->log, level, pl_line_peer((c)->line), \
                   __VA_ARGS__)

void pl_ttcp_client_config_init(pl_ttcp_client_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    pl_line_config_init(&cfg->line);
    cfg->line.port = PL_TTCP_PORT;
    cfg->timeout_ms = DEFAULT_TIMEOUT_MS;
    cfg->keepalive_ms = DEFAULT_KEEPALIVE_MS;
    cfg->max_block = PL_TTCP_MAX_WORDS;
    cfg->max_queue = DEFAULT_QUEUE;
}

int pl_ttcp_client_config_url(pl_ttcp_client_config_t *cfg, const char *url, uint32_t *node,
                              int *swap, char *storage, size_t storage_len, pl_status_t *err)
{
    static const char *const known[] = {"timeout", "keepalive",      "max_block", "queue",
                                        "swap",    PL_LINE_URL_KEYS, NULL};
    pl_url_t *u;
    unsigned long v;
    char *end;
    int rc;

    u = malloc(sizeof(*u));
    if (u == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    rc = pl_url_parse(u, url, PL_TTCP_PORT, err);
    if (rc < 0)
        goto out;
    if (strcmp(u->scheme, "7ttcp") != 0) {
        rc = pl_status_set(err, PL_EURL, 0, "scheme '%s' is not 7ttcp", u->scheme);
        goto out;
    }
    rc = pl_url_check_keys(u, known, err);
    if (rc < 0)
        goto out;
    *node = 0;
    if (u->path[0] != '\0') {
        if (u->path[0] < '0' || u->path[0] > '9') {
            rc = pl_status_set(err, PL_EURL, 0, "node '%s' is not a number", u->path);
            goto out;
        }
        v = strtoul(u->path, &end, 10);
        if (*end != '\0' || v > 0xFFFFFFFFul) {
            rc = pl_status_set(err, PL_EURL, 0, "node '%s' is not a number 0..4294967295", u->path);
            goto out;
        }
        *node = (uint32_t)v;
    }
    rc = pl_line_config_url(&cfg->line, u, PL_TTCP_PORT, storage, storage_len, err);
    if (rc < 0)
        goto out;
    v = cfg->timeout_ms;
    if ((rc = pl_url_get_uint(u, "timeout", 1, 3600000, &v, err)) < 0)
        goto out;
    cfg->timeout_ms = (unsigned)v;
    v = cfg->keepalive_ms / 1000u;
    if ((rc = pl_url_get_uint(u, "keepalive", 0, 86400, &v, err)) < 0)
        goto out;
    cfg->keepalive_ms = (unsigned)v * 1000u;
    v = cfg->max_block;
    if ((rc = pl_url_get_uint(u, "max_block", 1, PL_TTCP_MAX_WORDS, &v, err)) < 0)
        goto out;
    cfg->max_block = (unsigned)v;
    v = cfg->max_queue;
    if ((rc = pl_url_get_uint(u, "queue", 1, 65536, &v, err)) < 0)
        goto out;
    cfg->max_queue = (unsigned)v;
    v = 0;
    if ((rc = pl_url_get_uint(u, "swap", 0, 1, &v, err)) < 0)
        goto out;
    if (swap != NULL)
        *swap = (int)v;
    rc = 0;
out:
    free(u);
    return rc;
}

/* --- request queue --------------------------------------------------------------- */

static pl_ttcp_req_t *queue_pop(pl_ttcp_client_t *c)
{
    pl_ttcp_req_t *r = c->head;

    if (r != NULL) {
        c->head = r->next_;
        if (c->head == NULL)
            c->tail = NULL;
        c->queued--;
        r->next_ = NULL;
    }
    return r;
}

/* 7TTCP presents its own transport failures with the manual's codes (seed 000, "Error
 * codes"): the line's neutral codes become 0x4001-0x4009. */
static int manual_code(int code)
{
    switch (code) {
    case PL_ESOCKET:
        return PL_E_7TTCP_SOCKET;
    case PL_EBIND:
        return PL_E_7TTCP_BIND;
    case PL_ECONNECT:
        return PL_E_7TTCP_CONNECT;
    case PL_ESEND:
        return PL_E_7TTCP_SEND;
    case PL_ERECV_FF:
        return PL_E_7TTCP_RECV_FF;
    case PL_ERECV_00:
        return PL_E_7TTCP_RECV_00;
    case PL_ENO_MSG:
        return PL_E_7TTCP_NO_MSG;
    case PL_EMSG_TOO_LONG:
        return PL_E_7TTCP_MSG_TOO_LONG;
    case PL_ETIMEOUT:
        return PL_E_7TTCP_TIMEOUT;
    default:
        return code;
    }
}

/* Tells the user about the link, with the manual's codes. */
static void notify_link(pl_ttcp_client_t *c, const pl_status_t *why)
{
    pl_status_t m;

    if (why == NULL) {
        c->on_link(c, NULL, c->ud);
        return;
    }
    m = *why;
    m.code = manual_code(m.code);
    c->on_link(c, &m, c->ud);
}

/* Completes `r` (already popped) with the status it carries. */
static void complete(pl_ttcp_client_t *c, pl_ttcp_req_t *r)
{
    r->status.code = manual_code(r->status.code);
    if (r->status.code != 0)
        c->stats.errors++;
    r->cb_(r);
}

/* Fails every waiting request (not in flight) with `why`. */
static void fail_waiting(pl_ttcp_client_t *c, const pl_status_t *why)
{
    pl_ttcp_req_t *r;

    while ((r = queue_pop(c)) != NULL) {
        r->status = *why;
        complete(c, r);
        if (c->closing)
            return;
    }
}

static int submit(pl_ttcp_client_t *c, pl_ttcp_req_t *req, uint8_t type, uint8_t split,
                  uint32_t node, uint32_t offset, uint16_t *words, size_t count, pl_ttcp_cb cb)
{
    if (c == NULL || req == NULL || cb == NULL || words == NULL || count == 0)
        return PL_EINVAL;
    if (c->closing)
        return PL_ECLOSING;
    if ((uint64_t)offset + count - 1 > 0xFFFFFFFFull)
        return PL_EINVAL;
    if (!split && count > c->max_block)
        return PL_EBLOCK_TOO_BIG;
    if (c->queued >= c->max_queue)
        return PL_E_7TTCP_NO_MSG;

    pl_status_clear(&req->status);
    req->next_ = NULL;
    req->cb_ = cb;
    req->words_ = words;
    req->node_ = node;
    req->offset_ = offset;
    req->count_ = (uint32_t)count;
    req->done_ = 0;
    req->chunk_ = 0;
    req->type_ = type;
    req->split_ = split;
    req->sent_ = 0;
    if (c->tail != NULL)
        c->tail->next_ = req;
    else
        c->head = req;
    c->tail = req;
    c->queued++;
    c->stats.requests++;

    if (c->up) {
        pump(c);
    } else {
        if (c->queued == 1 && !c->persistent)
            c->attempt_failures = 0;
        if (c->due == 0)
            set_deadline(c, c->timeout_ms);
        (void)pl_line_start(c->line);
    }
    return 0;
}

int pl_ttcp_read(pl_ttcp_client_t *c, pl_ttcp_req_t *req, uint32_t node, uint32_t offset,
                 uint16_t *words, size_t count, pl_ttcp_cb cb)
{
    return submit(c, req, PL_TTCP_TYPE_READ, 1, node, offset, words, count, cb);
}

int pl_ttcp_write(pl_ttcp_client_t *c, pl_ttcp_req_t *req, uint32_t node, uint32_t offset,
                  const uint16_t *words, size_t count, pl_ttcp_cb cb)
{
    /* The words are only read; the request keeps one pointer type for both directions. */
    return submit(c, req, PL_TTCP_TYPE_WRITE, 1, node, offset, (uint16_t *)(uintptr_t)words, count,
                  cb);
}

int pl_ttcp_read_block(pl_ttcp_client_t *c, pl_ttcp_req_t *req, uint32_t node, uint32_t offset,
                       uint16_t *words, size_t count, pl_ttcp_cb cb)
{
    return submit(c, req, PL_TTCP_TYPE_READ, 0, node, offset, words, count, cb);
}

int pl_ttcp_write_block(pl_ttcp_client_t *c, pl_ttcp_req_t *req, uint32_t node, uint32_t offset,
                        const uint16_t *words, size_t count, pl_ttcp_cb cb)
{
    return submit(c, req, PL_TTCP_TYPE_WRITE, 0, node, offset, (uint16_t *)(uintptr_t)words, count,
                  cb);
}

/* --- timers ---------------------------------------------------------------------- */

/* One timer serves the head request: while it is in flight it fires `timeout_ms` after the
 * send; while the head waits for a connection it fires `timeout_ms` after the wait began.
 * The deadline is a number (`due`), and the timer is lazy: an answer only clears `due`, and a
 * new request only moves it, so the common request-answer cycle touches no timer at all; the
 * timer, when it fires before `due`, re-arms itself for the rest. */
static void on_deadline(uv_timer_t *t);

static void set_deadline(pl_ttcp_client_t *c, uint64_t delay)
{
    c->due = uv_now(c->loop) + delay;
    if (!uv_is_active((uv_handle_t *)&c->timer) || uv_timer_get_due_in(&c->timer) > delay)
        uv_timer_start(&c->timer, on_deadline, delay, 0);
}

static void clear_deadline(pl_ttcp_client_t *c)
{
    c->due = 0;
}

/* The protocol found the connection dead or confused. The line reports on_down later (from a
 * 0 ms timer), so the connection counts as down from now on: a request submitted meanwhile
 * (e.g. from the callback of the request that timed out) waits for the next connection
 * instead of being sent into the dead one. */
static void drop(pl_ttcp_client_t *c, const pl_status_t *why)
{
    if (!c->up)
        return;
    c->up = 0;
    c->dropping = 1;
    c->conn_gen++;
    c->ka_wait = 0;
    uv_timer_stop(&c->ka_timer);
    pl_line_drop(c->line, why);
}

static void on_deadline(uv_timer_t *t)
{
    pl_ttcp_client_t *c = t->data;
    pl_ttcp_req_t *r = c->head;
    pl_status_t why;
    uint64_t now = uv_now(c->loop);

    if (c->due == 0 || c->closing)
        return;
    if (now < c->due) {
        uv_timer_start(&c->timer, on_deadline, c->due - now, 0);
        return;
    }
    c->due = 0;

    if (r == NULL || c->closing)
        return;
    if (c->inflight == r) {
        c->inflight = NULL;
        (void)queue_pop(c);
        c->stats.timeouts++;
        pl_status_set(&r->status, PL_ETIMEOUT, 0, "node %u offset %u: no answer within %u ms",
                      r->node_, r->offset_ + r->done_, c->timeout_ms);
        PLOG(c, PL_LOG_WARN, "7ttcp %s: %s", pl_line_peer(c->line), r->status.detail);
        why = r->status;
        drop(c, &why);
        complete(c, r);
        return;
    }
    /* The head waited for a connection for a whole timeout. */
    why = *pl_line_last_error(c->line);
    if (why.code == 0 || why.code == PL_ETIMEOUT)
        pl_status_set(&why, PL_ECONNECT, UV_ETIMEDOUT, "no connection within %u ms", c->timeout_ms);
    fail_waiting(c, &why);
    if (!c->closing && !c->persistent && c->head == NULL)
        pl_line_stop(c->line);
}

static void on_keepalive(uv_timer_t *t)
{
    pl_ttcp_client_t *c = t->data;
    uint64_t now = uv_now(c->loop), idle;
    pl_status_t why;
    int n;

    if (!c->up || c->closing || c->keepalive_ms == 0)
        return;
    if (c->ka_wait) {
        c->ka_wait = 0;
        pl_status_set(&why, PL_ETIMEOUT, 0, "no answer to keep-alive within %u ms", c->timeout_ms);
        PLOG(c, PL_LOG_WARN, "7ttcp %s: %s, reconnecting", pl_line_peer(c->line), why.detail);
        drop(c, &why);
        return;
    }
    idle = now - c->last_io;
    if (c->inflight != NULL || idle < c->keepalive_ms) {
        uv_timer_start(&c->ka_timer, on_keepalive,
                       c->inflight != NULL ? c->keepalive_ms : c->keepalive_ms - idle, 0);
        return;
    }
    n = pl_ttcp_encode_keepalive(c->tx.bytes, sizeof(c->tx.bytes), 0);
    if (n > 0 && pl_line_send(c->line, c->tx.bytes, (size_t)n) == 0) {
        c->stats.keepalives++;
        c->ka_wait = 1;
        uv_timer_start(&c->ka_timer, on_keepalive, c->timeout_ms, 0);
    }
}

/* --- sending --------------------------------------------------------------------- */

static void pump(pl_ttcp_client_t *c)
{
    pl_ttcp_req_t *r = c->head;
    uint32_t chunk, offset;
    int n, rc;

    if (r == NULL || c->inflight != NULL || !c->up || c->closing)
        return;
    chunk = r->count_ - r->done_;
    if (chunk > c->max_block)
        chunk = c->max_block;
    offset = r->offset_ + r->done_;
    if (r->type_ == PL_TTCP_TYPE_READ)
        n = pl_ttcp_encode(c->tx.bytes, sizeof(c->tx.bytes), PL_TTCP_OP_DATA, r->node_, offset,
                           PL_TTCP_TYPE_READ, chunk, NULL);
    else
        n = pl_ttcp_encode(c->tx.bytes, sizeof(c->tx.bytes), PL_TTCP_OP_DATA, r->node_, offset,
                           PL_TTCP_TYPE_WRITE, chunk, r->words_ + r->done_);
    if (n < 0) { /* cannot happen: chunk <= 256 words fits the buffer */
        (void)queue_pop(c);
        pl_status_set(&r->status, n, 0, "encoding the request failed");
        complete(c, r);
        return;
    }
    rc = pl_line_send(c->line, c->tx.bytes, (size_t)n);
    if (rc < 0) {
        pl_status_t why;

        (void)queue_pop(c);
        pl_status_set(&why, PL_ESEND, 0, "%s", pl_strerror(rc));
        r->status = why;
        drop(c, &why);
        complete(c, r);
        return;
    }
    r->chunk_ = chunk;
    r->sent_ = 1;
    c->inflight = r;
    c->last_io = uv_now(c->loop);
    c->sent_ns = uv_hrtime();
    set_deadline(c, c->timeout_ms);
}

/* --- receiving ------------------------------------------------------------------- */

/* The connection carries something we cannot make sense of: fail the request concerned
 * and reconnect. */
static void protocol_error(pl_ttcp_client_t *c, const pl_status_t *why)
{
    pl_ttcp_req_t *r = c->inflight;

    PLOG(c, PL_LOG_WARN, "7ttcp %s: %s: %s", pl_line_peer(c->line), pl_strerror(why->code),
         why->detail);
    if (r != NULL) {
        c->inflight = NULL;
        clear_deadline(c);
        (void)queue_pop(c);
        r->status = *why;
    }
    drop(c, why);
    if (r != NULL)
        complete(c, r);
}

static void deliver_unsolicited(pl_ttcp_client_t *c, const pl_ttcp_frame_t *f)
{
    size_t i;

    c->stats.unsolicited++;
    if (c->on_unsolicited == NULL) {
        PLOG(c, PL_LOG_INFO,
             "7ttcp %s: unsolicited data from node %u offset %u, %zu words (no handler)",
             pl_line_peer(c->line), f->node, f->offset, f->data_words);
        return;
    }
    for (i = 0; i < f->data_words; i++)
        c->tx.words[i] = pl_ttcp_word(f, i);
    c->on_unsolicited(c, f->node, f->offset, c->tx.words, f->data_words, c->ud);
}

static void handle_frame(pl_ttcp_client_t *c, const uint8_t *p, size_t n)
{
    pl_ttcp_frame_t f;
    pl_ttcp_req_t *r = c->inflight;
    pl_status_t why;
    uint32_t offset;
    size_t i;
    int rc;

    rc = pl_ttcp_decode(p, n, PL_TTCP_MAX_WORDS, &f);
    if (rc < 0) {
        pl_status_set(&why, rc, 0, "bad frame from the node");
        protocol_error(c, &why);
        return;
    }
    c->ka_wait = 0;
    if (f.opcode == PL_TTCP_OP_KEEPALIVE) {
        c->last_io = uv_now(c->loop); /* the next keep-alive is keepalive_ms from this one */
        return;
    }
    offset = r != NULL ? r->offset_ + r->done_ : 0;
    if (f.type == PL_TTCP_TYPE_WRITE && f.data_words > 0 &&
        (r == NULL || r->type_ != PL_TTCP_TYPE_WRITE || f.node != r->node_ || f.offset != offset ||
         f.count != r->chunk_)) {
        deliver_unsolicited(c, &f);
        return;
    }
    if (r == NULL) {
        pl_status_set(&why, PL_ETTCP_MISMATCH, 0,
                      "answer with no request waiting (node %u offset %u type %u)", f.node,
                      f.offset, f.type);
        protocol_error(c, &why);
        return;
    }
    if (f.node != r->node_ || f.offset != offset || f.type != r->type_ || f.count != r->chunk_) {
        pl_status_set(&why, PL_ETTCP_MISMATCH, 0,
                      "answer node %u offset %u type %u count %u, expected %u/%u/%u/%u", f.node,
                      f.offset, f.type, f.count, r->node_, offset, r->type_, r->chunk_);
        protocol_error(c, &why);
        return;
    }
    if (r->type_ == PL_TTCP_TYPE_READ) {
        if (f.data_words != f.count) {
            pl_status_set(&why, PL_ETTCP_MISMATCH, 0, "read answer for %u words carries none",
                          f.count);
            protocol_error(c, &why);
            return;
        }
        for (i = 0; i < f.data_words; i++)
            r->words_[r->done_ + i] = pl_ttcp_word(&f, i);
    }
    clear_deadline(c);
    c->inflight = NULL;
    c->stats.responses++;
    c->stats.last_rtt_us = (uv_hrtime() - c->sent_ns) / 1000u;
    c->last_io = uv_now(c->loop);
    r->done_ += r->chunk_;
    r->sent_ = 0;
    if (r->done_ < r->count_) {
        pump(c);
        return;
    }
    (void)queue_pop(c);
    complete(c, r);
    if (!c->closing)
        pump(c);
}

static void on_line_data(pl_line_t *line, const uint8_t *buf, size_t len, void *ud)
{
    pl_ttcp_client_t *c = ud;
    unsigned gen = c->conn_gen;
    size_t n, off;
    pl_status_t why;
    int rc;

    (void)line;
    /* Nothing buffered (the usual case): frames are parsed where they lie, and only a
     * trailing partial frame is copied. */
    if (c->rx_len == 0) {
        for (;;) {
            rc = pl_ttcp_frame(buf, len, PL_TTCP_MAX_WORDS, NULL);
            if (rc == PL_EAGAIN)
                break;
            if (rc < 0) {
                pl_status_set(&why, rc, 0, "bad frame from the node");
                protocol_error(c, &why);
                return;
            }
            handle_frame(c, buf, (size_t)rc);
            if (c->closing || gen != c->conn_gen)
                return;
            buf += rc;
            len -= (size_t)rc;
        }
    }
    while (len > 0) {
        n = sizeof(c->rx) - c->rx_len;
        if (n > len)
            n = len;
        memcpy(c->rx + c->rx_len, buf, n);
        c->rx_len += n;
        buf += n;
        len -= n;
        off = 0;
        for (;;) {
            rc = pl_ttcp_frame(c->rx + off, c->rx_len - off, PL_TTCP_MAX_WORDS, NULL);
            if (rc == PL_EAGAIN)
                break;
            if (rc < 0) {
                pl_status_set(&why, rc, 0, "bad frame from the node");
                c->rx_len = 0;
                protocol_error(c, &why);
                return;
            }
            handle_frame(c, c->rx + off, (size_t)rc);
            if (c->closing || gen != c->conn_gen)
                return; /* freed or reconnecting: the rest of the stream is void */
            off += (size_t)rc;
        }
        memmove(c->rx, c->rx + off, c->rx_len - off);
        c->rx_len -= off;
    }
}

static void on_line_up(pl_line_t *line, void *ud)
{
    pl_ttcp_client_t *c = ud;

    (void)line;
    c->up = 1;
    c->dropping = 0;
    c->conn_gen++;
    c->rx_len = 0;
    c->attempt_failures = 0;
    c->ka_wait = 0;
    c->last_io = uv_now(c->loop);
    PLOG(c, PL_LOG_INFO, "7ttcp: connected to %s", pl_line_peer(c->line));
    if (c->keepalive_ms > 0)
        uv_timer_start(&c->ka_timer, on_keepalive, c->keepalive_ms, 0);
    clear_deadline(c);
    if (c->on_link != NULL) {
        notify_link(c, NULL);
        if (c->closing)
            return;
    }
    pump(c);
}

static void on_line_down(pl_line_t *line, const pl_status_t *why, void *ud)
{
    pl_ttcp_client_t *c = ud;
    pl_ttcp_req_t *r = c->inflight;
    int dropped = c->dropping;
    int was_up = c->up || dropped;

    (void)line;
    c->up = 0;
    c->dropping = 0;
    c->conn_gen++;
    c->rx_len = 0;
    c->ka_wait = 0;
    uv_timer_stop(&c->ka_timer);
    if (was_up) {
        c->attempt_failures = 0;
    } else {
        c->attempt_failures++;
    }
    if (r != NULL) { /* sent, not answered: it fails with the reason of the break */
        c->inflight = NULL;
        clear_deadline(c);
        (void)queue_pop(c);
        r->status = *why;
    }
    if (c->on_link != NULL && (was_up || c->persistent))
        notify_link(c, why);
    if (r != NULL && !c->closing)
        complete(c, r);
    if (c->closing)
        return;
    if (!was_up && c->attempt_failures >= c->nhosts && c->head != NULL) {
        /* every host was tried once: the waiting requests get the reason */
        fail_waiting(c, why);
        if (c->closing)
            return;
    }
    if (c->head == NULL) {
        clear_deadline(c);
        /* On-demand mode reconnects on the next request, except after a drop of ours (the
         * peer timed out or talked nonsense): then the line goes on to the next host or the
         * standby at once, so the next request does not meet the same dead partner. */
        if (!c->persistent && !dropped)
            pl_line_stop(c->line);
    } else if (c->due == 0) {
        set_deadline(c, c->timeout_ms);
    }
}

/* --- lifecycle ------------------------------------------------------------------- */

int pl_ttcp_client_new(uv_loop_t *loop, const pl_ttcp_client_config_t *cfg, pl_ttcp_client_t **out)
{
    static const pl_line_cbs_t cbs = {
        .on_up = on_line_up, .on_data = on_line_data, .on_down = on_line_down};
    pl_ttcp_client_t *c;
    int rc;

    if (loop == NULL || cfg == NULL || out == NULL || cfg->line.hosts.count == 0 ||
        cfg->max_block > PL_TTCP_MAX_WORDS)
        return PL_EINVAL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return PL_ENOMEM;
    c->loop = loop;
    c->log = cfg->log;
    pl_ratelimit_init(&c->rl, c->rl_slots, sizeof(c->rl_slots) / sizeof(c->rl_slots[0]));
    c->on_unsolicited = cfg->on_unsolicited;
    c->on_link = cfg->on_link;
    c->ud = cfg->ud;
    c->timeout_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->keepalive_ms = cfg->keepalive_ms;
    c->max_block = cfg->max_block != 0 ? cfg->max_block : PL_TTCP_MAX_WORDS;
    c->max_queue = cfg->max_queue != 0 ? cfg->max_queue : DEFAULT_QUEUE;
    rc = pl_line_new(loop, &cfg->line, &cbs, c, &c->line);
    if (rc < 0) {
        free(c);
        return rc;
    }
    c->nhosts = pl_line_host_count(c->line); /* primary and backup devices */
    uv_timer_init(loop, &c->timer);
    uv_timer_init(loop, &c->ka_timer);
    c->timer.data = c;
    c->ka_timer.data = c;
    *out = c;
    return 0;
}

int pl_ttcp_client_start(pl_ttcp_client_t *c)
{
    if (c->closing)
        return PL_ECLOSING;
    c->persistent = 1;
    return pl_line_start(c->line);
}

pl_line_t *pl_ttcp_client_line(pl_ttcp_client_t *c)
{
    return c->line;
}

const pl_ttcp_client_stats_t *pl_ttcp_client_stats(const pl_ttcp_client_t *c)
{
    return &c->stats;
}

static void on_handle_closed(uv_handle_t *h)
{
    pl_ttcp_client_t *c = h->data;

    if (--c->handles_open == 0)
        free(c);
}

void pl_ttcp_client_free(pl_ttcp_client_t *c)
{
    pl_status_t why;

    if (c == NULL || c->closing)
        return;
    c->closing = 1;
    pl_ratelimit_flush(&c->rl, uv_now(c->loop), c->log); /* counts not yet logged */
    pl_line_free(c->line);
    c->line = NULL;
    uv_timer_stop(&c->timer);
    uv_timer_stop(&c->ka_timer);
    c->inflight = NULL;
    pl_status_set(&why, PL_ECANCELED, 0, "client closed");
    {
        pl_ttcp_req_t *r;

        while ((r = queue_pop(c)) != NULL) {
            r->status = why;
            complete(c, r);
        }
    }
    c->handles_open = 2;
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->ka_timer, on_handle_closed);
}
