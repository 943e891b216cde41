/* SPDX-License-Identifier: MIT */
/*
 * 7TTCP driver (client) session: requests queued per connection, several in flight (one
 * with a node that cannot take more: the fallback below), matched against the answer's node,
 * offset, type and count; per-request timeout; keep-alive after idle; unsolicited input
 * handed to the caller.
 *
 * Built on the client core (proto/client.h: queue, deadline, reconnects, statistics) and on
 * the codec (src/proto/ttcp/codec) for bytes; this file keeps what is 7TTCP's own: encoding
 * a request's messages (a block larger than max_block goes out in chunks), matching an
 * answer (7TTCP has no transaction id), unsolicited writes, keep-alive and the manual's
 * error codes. It does no socket I/O of its own and never blocks. Every request completes
 * exactly once; nothing here prints.
 */
#include "plcline/ttcp.h"
#include "plcline/error.h"

#include "proto/client.h"
#include "proto/ttcp/codec/ttcp.h"
#include "codec/url.h"
#include "net/line_url.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS   1000u
#define DEFAULT_KEEPALIVE_MS 10000u
#define DEFAULT_QUEUE        256u
#define DEFAULT_INFLIGHT     PL_TTCP_INFLIGHT_MAX
/* Answers to requests sent behind another that prove, on one connection, that a node takes
 * several requests at once: a node that takes one at a time may still answer a few when
 * they happen to reach it one by one, never a scan's batch after batch. */
#define PROOF_ANSWERS 32u

struct pl_ttcp_client_s {
    uv_loop_t *loop;
    pl_client_t *core;
    pl_ttcp_unsolicited_cb on_unsolicited;
    pl_ttcp_link_cb on_link;
    void *ud;
    unsigned timeout_ms, keepalive_ms, max_block;
    unsigned inflight;     /* the ceiling configured (1..PL_TTCP_INFLIGHT_MAX) */
    uint32_t next_id;      /* message ids: the core finds a message by it (never 0) */
    uint64_t rx_frames;    /* frames received: a timeout with none since the send is silence */
    uint32_t cur_bit;      /* this connection's host (pl_line_host_index) as a bit */
    uint32_t serial_hosts; /* hosts kept at one request in flight (fell back) */
    uint32_t proven_hosts; /* hosts that answered PROOF_ANSWERS requests sent behind others */
    unsigned behind_ok;    /* such answers on this connection */
    uint8_t no_fallback;   /* the connection is dropped for a reason that is not pipelining */
    char peer[PL_LINE_PEER_MAX]; /* of this connection, for what is logged after it ended */

    uv_timer_t ka_timer; /* keep-alive */
    uint64_t last_io;    /* uv_now() of the last request sent or answer received */
    uint8_t persistent, closing, ka_wait;
    uint8_t unsolicited; /* the frame being matched is an unsolicited write */

    pl_ttcp_client_stats_t stats;
    pl_ttcp_frame_t f; /* the frame being matched, decoded once for match and handle */
};

/* Unsolicited words are handed over in the core's send buffer (no request is being
 * encoded while a frame is handled), so an idle client keeps no buffer of its own. */
_Static_assert(PL_TTCP_MAX_FRAME >= PL_TTCP_MAX_WORDS * sizeof(uint16_t), "scratch words");

/* Where the message in flight stands in its request. */
typedef struct {
    uint32_t node, offset, chunk;
    uint8_t type;
    uint64_t rx_mark; /* rx_frames when it was sent */
    uint8_t behind;   /* another message was in flight when it was sent */
} msg_t;

/* A line the node can cause: rate-limited per node and message. */
#define PLOG(c, level, ...) pl_client_log((c)->core, level, __VA_ARGS__)
#define PEER(c)             pl_line_peer(pl_client_line((c)->core))

PL_CLIENT_REQ_ACCESSORS(pl_ttcp_req_t, core_)

void pl_ttcp_client_config_init(pl_ttcp_client_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    pl_line_config_init(&cfg->line);
    cfg->line.port = PL_TTCP_PORT;
    cfg->timeout_ms = DEFAULT_TIMEOUT_MS;
    cfg->keepalive_ms = DEFAULT_KEEPALIVE_MS;
    cfg->max_block = PL_TTCP_MAX_WORDS;
    cfg->max_queue = DEFAULT_QUEUE;
    cfg->max_inflight = DEFAULT_INFLIGHT;
}

int pl_ttcp_client_config_url(pl_ttcp_client_config_t *cfg, const char *url, uint32_t *node,
                              int *swap, char *storage, size_t storage_len, pl_status_t *err)
{
    static const char *const known[] = {"timeout", "keepalive", "max_block",      "queue",
                                        "swap",    "inflight",  PL_LINE_URL_KEYS, NULL};
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
    if ((rc = pl_url_get_unsigned(u, "timeout", 1, 3600000, &cfg->timeout_ms, err)) < 0)
        goto out;
    v = cfg->keepalive_ms / 1000u;
    if ((rc = pl_url_get_uint(u, "keepalive", 0, 86400, &v, err)) < 0)
        goto out;
    cfg->keepalive_ms = (unsigned)v * 1000u;
    if ((rc = pl_url_get_unsigned(u, "max_block", 1, PL_TTCP_MAX_WORDS, &cfg->max_block, err)) < 0)
        goto out;
    if ((rc = pl_url_get_unsigned(u, "queue", 1, 65536, &cfg->max_queue, err)) < 0)
        goto out;
    if ((rc = pl_url_get_unsigned(u, "inflight", 1, PL_TTCP_INFLIGHT_MAX, &cfg->max_inflight,
                                  err)) < 0)
        goto out;
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

/* --- requests -------------------------------------------------------------------- */

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

static int submit(pl_ttcp_client_t *c, pl_ttcp_req_t *req, uint8_t type, uint8_t split,
                  uint32_t node, uint32_t offset, uint16_t *words, size_t count, pl_ttcp_cb cb)
{
    int rc;

    if (c == NULL || req == NULL || cb == NULL || words == NULL || count == 0)
        return PL_EINVAL;
    if (c->closing)
        return PL_ECLOSING;
    if ((uint64_t)offset + count - 1 > 0xFFFFFFFFull)
        return PL_EINVAL;
    if (!split && count > c->max_block)
        return PL_EBLOCK_TOO_BIG;

    pl_status_clear(&req->status);
    req->cb_ = cb;
    req->words_ = words;
    req->node_ = node;
    req->offset_ = offset;
    req->count_ = (uint32_t)count;
    req->type_ = type;
    req->split_ = split;
    rc = pl_client_submit(c->core, core_of(req));
    return rc < 0 ? manual_code(rc) : 0;
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

/* --- the core's operations ------------------------------------------------------- */

static int op_frame(const uint8_t *buf, size_t len, void *ud)
{
    (void)ud;
    return pl_ttcp_frame(buf, len, PL_TTCP_MAX_WORDS, NULL);
}

/* Message k of a request: its k-th chunk of at most max_block words. */
static int op_encode(pl_client_t *cl, pl_client_req_t *creq, pl_client_slot_t *slot, uint8_t *buf,
                     size_t cap, int *last, pl_status_t *st, void *ud)
{
    pl_ttcp_client_t *c = ud;
    pl_ttcp_req_t *r = req_of(creq);
    msg_t *m = slot->state;
    uint32_t done = slot->index * c->max_block, chunk = r->count_ - done;
    int n;

    (void)st;
    if (chunk > c->max_block)
        chunk = c->max_block;
    m->node = r->node_;
    m->type = r->type_;
    m->offset = r->offset_ + done;
    m->chunk = chunk;
    m->rx_mark = c->rx_frames;
    m->behind = pl_client_busy(cl) > 0; /* this one is not counted yet */
    if (++c->next_id == 0)
        c->next_id = 1;
    slot->id = c->next_id;
    n = pl_ttcp_encode(buf, cap, PL_TTCP_OP_DATA, r->node_, m->offset, r->type_, chunk,
                       r->type_ == PL_TTCP_TYPE_WRITE ? r->words_ + done : NULL);
    *last = done + chunk >= r->count_;
    c->last_io = uv_now(c->loop);
    return n;
}

/* 1 when frame f answers message s (node, offset, type and count agree; a read answer
 * carries its words). The message's request may be gone (it failed by another message):
 * its answer is still recognised, and only consumed. */
static int answers(const pl_ttcp_frame_t *f, const pl_client_slot_t *s)
{
    const msg_t *m = s->state;

    return f->node == m->node && f->offset == m->offset && f->type == m->type &&
           f->count == m->chunk && (m->type != PL_TTCP_TYPE_READ || f->data_words == f->count);
}

/* The node closed the connection, timed out or answered out of step while pipelining was on
 * trial with it: it takes one request at a time, and gets one at a time from now on (this
 * host); the requests in flight go out again (op_down re-queues them). */
static void fall_back(pl_ttcp_client_t *c, const pl_status_t *why, unsigned n)
{
    c->serial_hosts |= c->cur_bit;
    c->stats.inflight = 1;
    c->stats.fallbacks++;
    c->stats.retried += n;
    pl_client_fall_back(c->core, c->peer, why, n, c->stats.fallback, sizeof(c->stats.fallback));
}

/* Pipelining is on trial with this host: a message in flight was sent while another was
 * (even when that one is answered by now: a node may take the first of two that arrive
 * together and close at the second), and the host has not yet answered PROOF_ANSWERS
 * requests sent behind others on one connection. */
static int on_trial(const pl_ttcp_client_t *c, pl_client_t *cl)
{
    const pl_client_slot_t *s;

    if ((c->proven_hosts & c->cur_bit) != 0 || (c->serial_hosts & c->cur_bit) != 0)
        return 0;
    for (s = pl_client_slot_first(cl); s != NULL; s = pl_client_slot_next(cl, s))
        if (((const msg_t *)s->state)->behind)
            return 1;
    return 0;
}

/* 7TTCP has no transaction id: an answer is the oldest message in flight whose node,
 * offset, type and count agree. A node that pipelines answers in order, so when it answers
 * a later message the ones before it were ignored (the node's only way of refusing a
 * request it cannot serve): they fail at once, as they would after `timeout` one at a
 * time. From a node still on trial the same answer may come from one that reads only one
 * request of what arrives together: the client falls back instead. A write with data that
 * answers nothing is unsolicited input. */
static int op_match(pl_client_t *cl, const uint8_t *p, size_t n, uint32_t *id, pl_status_t *st,
                    void *ud)
{
    pl_ttcp_client_t *c = ud;
    pl_ttcp_frame_t *f = &c->f;
    pl_client_slot_t *first, *s;
    pl_status_t why;
    int rc;

    c->unsolicited = 0;
    rc = pl_ttcp_decode(p, n, PL_TTCP_MAX_WORDS, f);
    if (rc < 0) {
        pl_status_set(st, rc, 0, "bad frame from the node");
        return rc;
    }
    c->ka_wait = 0;
    c->rx_frames++;
    if (f->opcode == PL_TTCP_OP_KEEPALIVE) {
        c->last_io = uv_now(c->loop); /* the next keep-alive is keepalive_ms from this one */
        return PL_CLIENT_NONE;
    }
    first = pl_client_slot_first(cl);
    for (s = first; s != NULL && !answers(f, s); s = pl_client_slot_next(cl, s))
        ;
    if (s == NULL && f->type == PL_TTCP_TYPE_WRITE && f->data_words > 0) {
        c->unsolicited = 1;
        return PL_CLIENT_NONE;
    }
    if (s == NULL) {
        if (first == NULL) {
            pl_status_set(st, PL_ETTCP_MISMATCH, 0,
                          "answer with no request waiting (node %u offset %u type %u)", f->node,
                          f->offset, f->type);
        } else {
            const msg_t *m = first->state;

            if (m->type == PL_TTCP_TYPE_READ && f->node == m->node && f->offset == m->offset &&
                f->type == m->type && f->count == m->chunk)
                pl_status_set(st, PL_ETTCP_MISMATCH, 0, "read answer for %u words carries none",
                              f->count);
            else
                pl_status_set(st, PL_ETTCP_MISMATCH, 0,
                              "answer node %u offset %u type %u count %u, expected %u/%u/%u/%u",
                              f->node, f->offset, f->type, f->count, m->node, m->offset, m->type,
                              m->chunk);
        }
        if (on_trial(c, cl)) {
            /* out of step with a node never seen pipelining: one at a time (op_down) */
            PLOG(c, PL_LOG_WARN, "7ttcp %s: %s, reconnecting", PEER(c), st->detail);
            pl_client_drop(cl, st);
            return PL_CLIENT_NONE;
        }
        return PL_ETTCP_MISMATCH;
    }
    if (s != first && on_trial(c, cl)) {
        /* an answer out of step, from a node not yet seen to pipeline: it may be one that
         * takes one request at a time (op_down falls back; the node's skipped requests
         * then meet it one at a time) */
        pl_status_set(&why, PL_ETTCP_MISMATCH, 0,
                      "answer to a later request (node %u offset %u) before an earlier one",
                      f->node, f->offset);
        PLOG(c, PL_LOG_WARN, "7ttcp %s: %s, reconnecting", PEER(c), why.detail);
        pl_client_drop(cl, &why);
        return PL_CLIENT_NONE;
    }
    if (s != first) {
        /* the node skipped the messages before s: they fail as unanswered (op_complete
         * gives them 0x4009); completing them may submit and send more, never into s */
        while ((first = pl_client_slot_first(cl)) != NULL && first != s) {
            const msg_t *m = first->state;

            pl_status_set(&why, PL_ETIMEOUT, 0,
                          "node %u offset %u: no answer (the node answered the request sent "
                          "after it: it ignores a request it cannot serve)",
                          m->node, m->offset);
            c->stats.skipped++;
            pl_client_slot_fail(cl, first, &why);
            if (c->closing || !pl_client_is_up(cl))
                return PL_CLIENT_NONE;
        }
    }
    if (((const msg_t *)s->state)->behind && ++c->behind_ok >= PROOF_ANSWERS)
        c->proven_hosts |= c->cur_bit;
    *id = s->id;
    return PL_CLIENT_ANSWER;
}

static void deliver_unsolicited(pl_ttcp_client_t *c, const pl_ttcp_frame_t *f)
{
    uint16_t *words;
    size_t i, cap;

    c->stats.unsolicited++;
    if (c->on_unsolicited == NULL) {
        PLOG(c, PL_LOG_INFO,
             "7ttcp %s: unsolicited data from node %u offset %u, %zu words (no handler)", PEER(c),
             f->node, f->offset, f->data_words);
        return;
    }
    words = (uint16_t *)(void *)pl_client_scratch(c->core, &cap);
    for (i = 0; i < f->data_words && i < cap / sizeof(uint16_t); i++)
        words[i] = pl_ttcp_word(f, i);
    c->on_unsolicited(c, f->node, f->offset, words, i, c->ud);
}

static int op_handle(pl_client_t *cl, pl_client_slot_t *slot, const uint8_t *p, size_t n,
                     pl_status_t *st, void *ud)
{
    pl_ttcp_client_t *c = ud;
    pl_ttcp_req_t *r;
    uint32_t done;
    size_t i;

    (void)cl;
    (void)p;
    (void)n;
    (void)st;
    if (slot == NULL) {
        if (c->unsolicited)
            deliver_unsolicited(c, &c->f);
        return PL_CLIENT_OTHER;
    }
    c->last_io = uv_now(c->loop);
    if (slot->req == NULL) /* its request failed by another message: only consumed */
        return PL_CLIENT_OK;
    r = req_of(slot->req); /* op_match found it */
    if (r->type_ == PL_TTCP_TYPE_READ) {
        done = slot->index * c->max_block;
        for (i = 0; i < c->f.data_words; i++)
            r->words_[done + i] = pl_ttcp_word(&c->f, i);
    }
    return PL_CLIENT_OK;
}

static void op_complete(pl_client_t *cl, pl_client_req_t *creq, pl_status_t *st, void *ud)
{
    pl_ttcp_req_t *r = req_of(creq);

    (void)cl;
    (void)ud;
    if (st->code != 0) { /* on success the status is still clear from submit() */
        st->code = manual_code(st->code);
        r->status = *st;
    }
    r->cb_(r);
}

static void on_keepalive(uv_timer_t *t);

static int op_connect(pl_client_t *cl, pl_status_t *st, void *ud)
{
    pl_ttcp_client_t *c = ud;
    unsigned i = pl_line_host_index(pl_client_line(cl)), limit;

    (void)st;
    c->cur_bit = 1u << (i < 31u ? i : 31u);
    c->behind_ok = 0;
    snprintf(c->peer, sizeof(c->peer), "%s", pl_line_peer(pl_client_line(cl)));
    c->no_fallback = 0;
    limit = (c->serial_hosts & c->cur_bit) != 0 ? 1u : c->inflight;
    pl_client_set_limit(cl, limit);
    c->stats.inflight = limit;
    c->ka_wait = 0;
    c->last_io = uv_now(c->loop);
    PLOG(c, PL_LOG_INFO, "7ttcp: connected to %s", pl_line_peer(pl_client_line(cl)));
    if (c->keepalive_ms > 0)
        uv_timer_start(&c->ka_timer, on_keepalive, c->keepalive_ms, 0);
    if (c->on_link != NULL)
        notify_link(c, NULL);
    return 0;
}

/* The requests in flight fail with the reason of the break, or, when pipelining was on
 * trial with this node and the break says it cannot take it, go out again one at a time;
 * the waiting ones stay. */
static int op_down(pl_client_t *cl, const pl_status_t *why, int was_up, void *ud)
{
    pl_ttcp_client_t *c = ud;
    unsigned busy = pl_client_busy(cl);
    int how = PL_CLIENT_FAIL_INFLIGHT;

    c->ka_wait = 0;
    uv_timer_stop(&c->ka_timer);
    if (was_up && !c->no_fallback && on_trial(c, cl)) {
        fall_back(c, why, busy);
        how = PL_CLIENT_REQUEUE;
    }
    c->no_fallback = 0;
    if (c->on_link != NULL && (was_up || c->persistent))
        notify_link(c, why);
    return how;
}

/* A node that does not answer in time is dropped: the line goes on to the next host. When
 * the node answered something since this message was sent but not this one, and
 * pipelining is on trial with it, the node may be one that takes one request at a time:
 * the messages stay in flight and op_down sends them again one at a time. */
static int op_timeout(pl_client_t *cl, pl_client_slot_t *slot, pl_status_t *st, void *ud)
{
    pl_ttcp_client_t *c = ud;
    const msg_t *m = slot->state;

    pl_status_set(st, PL_ETIMEOUT, 0, "node %u offset %u: no answer within %u ms", m->node,
                  m->offset, c->timeout_ms);
    if (c->rx_frames != m->rx_mark && on_trial(c, cl))
        return PL_CLIENT_DROP_HOLD;
    c->no_fallback = 1; /* silence: the node is dead or gone, not overwhelmed */
    return 1;
}

static const pl_client_ops_t ttcp_ops = {
    .frame = op_frame,
    .encode = op_encode,
    .match = op_match,
    .handle = op_handle,
    .complete = op_complete,
    .connect = op_connect,
    .down = op_down,
    .timeout = op_timeout,
};

/* --- keep-alive ------------------------------------------------------------------ */

static void on_keepalive(uv_timer_t *t)
{
    pl_ttcp_client_t *c = t->data;
    uint64_t now = uv_now(c->loop), idle;
    pl_status_t why;
    uint8_t buf[PL_TTCP_MAX_FRAME];
    int n, busy;

    if (c->closing || !pl_client_is_up(c->core) || c->keepalive_ms == 0)
        return;
    if (c->ka_wait) {
        c->ka_wait = 0;
        pl_status_set(&why, PL_ETIMEOUT, 0, "no answer to keep-alive within %u ms", c->timeout_ms);
        PLOG(c, PL_LOG_WARN, "7ttcp %s: %s, reconnecting", PEER(c), why.detail);
        pl_client_drop(c->core, &why);
        return;
    }
    idle = now - c->last_io;
    busy = pl_client_busy(c->core) > 0;
    if (busy || idle < c->keepalive_ms) {
        uv_timer_start(&c->ka_timer, on_keepalive, busy ? c->keepalive_ms : c->keepalive_ms - idle,
                       0);
        return;
    }
    n = pl_ttcp_encode_keepalive(buf, sizeof(buf), 0);
    if (n > 0 && pl_client_send(c->core, buf, (size_t)n) == 0) {
        c->stats.keepalives++;
        c->ka_wait = 1;
        uv_timer_start(&c->ka_timer, on_keepalive, c->timeout_ms, 0);
    }
}

/* --- lifecycle ------------------------------------------------------------------- */

int pl_ttcp_client_new(uv_loop_t *loop, const pl_ttcp_client_config_t *cfg, pl_ttcp_client_t **out)
{
    pl_client_config_t cc;
    pl_ttcp_client_t *c;
    int rc;

    if (loop == NULL || cfg == NULL || out == NULL || cfg->line.hosts.count == 0 ||
        cfg->max_block > PL_TTCP_MAX_WORDS || cfg->max_inflight > PL_TTCP_INFLIGHT_MAX)
        return PL_EINVAL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return PL_ENOMEM;
    c->loop = loop;
    c->on_unsolicited = cfg->on_unsolicited;
    c->on_link = cfg->on_link;
    c->ud = cfg->ud;
    c->timeout_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->keepalive_ms = cfg->keepalive_ms;
    c->max_block = cfg->max_block != 0 ? cfg->max_block : PL_TTCP_MAX_WORDS;
    c->inflight = cfg->max_inflight != 0 ? cfg->max_inflight : DEFAULT_INFLIGHT;

    memset(&cc, 0, sizeof(cc));
    cc.name = "7ttcp";
    cc.partner = "node";
    cc.timeout_ms = c->timeout_ms;
    cc.max_queue = cfg->max_queue != 0 ? cfg->max_queue : DEFAULT_QUEUE;
    /* a ceiling: a node that takes one at a time is found out (op_down) */
    cc.max_inflight = c->inflight;
    /* read requests of a scan gathered into one write (a read request is a header) */
    cc.coalesce = cc.max_inflight > 1 ? cc.max_inflight * PL_TTCP_HEADER_LEN : 0;
    cc.max_frame = PL_TTCP_MAX_FRAME;
    cc.max_msg = PL_TTCP_MAX_FRAME;
    cc.slot_size = sizeof(msg_t);
    cc.log = cfg->log;
    cc.requests = &c->stats.requests;
    cc.responses = &c->stats.responses;
    cc.timeouts = &c->stats.timeouts;
    cc.errors = &c->stats.errors;
    cc.last_rtt_us = &c->stats.last_rtt_us;
    rc = pl_client_new(loop, &cfg->line, &cc, &ttcp_ops, c, &c->core);
    if (rc < 0) {
        free(c);
        return rc;
    }
    uv_timer_init(loop, &c->ka_timer);
    c->ka_timer.data = c;
    *out = c;
    return 0;
}

void pl_ttcp_client_cork(pl_ttcp_client_t *c, int on)
{
    if (on)
        pl_client_cork(c->core);
    else
        pl_client_uncork(c->core);
}

int pl_ttcp_client_start(pl_ttcp_client_t *c)
{
    if (c->closing)
        return PL_ECLOSING;
    c->persistent = 1;
    return pl_client_start(c->core);
}

pl_line_t *pl_ttcp_client_line(pl_ttcp_client_t *c)
{
    return pl_client_line(c->core);
}

const pl_ttcp_client_stats_t *pl_ttcp_client_stats(const pl_ttcp_client_t *c)
{
    return &c->stats;
}

static void on_handle_closed(uv_handle_t *h)
{
    free(h->data);
}

void pl_ttcp_client_free(pl_ttcp_client_t *c)
{
    if (c == NULL || c->closing)
        return;
    c->closing = 1;
    uv_timer_stop(&c->ka_timer);
    pl_client_free(c->core); /* every request is answered with PL_ECANCELED */
    c->core = NULL;
    uv_close((uv_handle_t *)&c->ka_timer, on_handle_closed);
}
