/* SPDX-License-Identifier: MIT */
/*
 * Modbus TCP client session (include/plcline/modbus_client.h): requests for any unit on one
 * connection, up to `inflight` on the wire matched by transaction identifier, each with its
 * own deadline; a silent unit fails its own requests and stalls nobody else.
 *
 * Built on the client core (proto/client.h: the queue, the messages in flight keyed by
 * transaction id, the deadlines, late answers, reconnects, the lifecycle and statistics),
 * on a line (src/net) for the connection and on the codec (src/proto/modbus/codec) for
 * bytes. This file keeps what is Modbus's own:
 *   1. configuration and the modbus:// URL;
 *   2. the core's operations: encoding a request's next message (a read or write larger than
 *      max_regs / max_bits goes out in parts, one after another), matching an answer by its
 *      transaction id, checking and storing it, the connection's drop after `drop_after`
 *      timeouts in a row, the link callback;
 *   3. the public calls that fill a request.
 * No socket I/O of its own, nothing blocks, nothing prints.
 */
#include "plcline/modbus_client.h"
#include "plcline/error.h"

#include "codec/url.h"
#include "net/line_url.h"
#include "proto/client.h"
#include "proto/modbus/codec/modbus.h"
#include "proto/modbus/codec/modbus_addr.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS 1000u
#define DEFAULT_QUEUE      256u
#define DEFAULT_DROP_AFTER 3u
#define EXPIRED_MAX        32u /* timed-out transaction ids whose late answers are recognised */

/* One message in flight (the core's slot state): what was asked, for matching the answer
 * (its data is not kept), and where its part lies in the request. */
typedef struct {
    pl_modbus_req_t pdu;
    uint32_t offset, chunk; /* elements: the part's first, and how many */
    uint8_t unit;
} msg_t;

struct pl_modbus_client_s {
    pl_client_t *core;
    pl_modbus_link_cb on_link;
    void *ud;
    unsigned timeout_ms, drop_after;
    unsigned timeouts_in_row; /* timeouts with no answer between them */
    unsigned max_regs, max_bits, max_wregs, max_wbits;
    uint16_t next_tid;
    uint8_t persistent, closing;

    pl_modbus_client_stats_t stats;
    pl_modbus_adu_t adu;             /* the answer being matched: decoded once, for handle */
    uint8_t bits[PL_MODBUS_MAX_PDU]; /* packed coils of one FC 15 part */
};

/* A line the server can cause: rate-limited per partner and message. */
#define PLOG(c, level, ...) pl_client_log((c)->core, level, __VA_ARGS__)
#define PEER(c)             pl_line_peer(pl_client_line((c)->core))

PL_CLIENT_REQ_ACCESSORS(pl_modbus_request_t, core_)

/* =========================================================== 1. configuration, URL */

void pl_modbus_client_config_init(pl_modbus_client_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    pl_line_config_init(&cfg->line);
    cfg->line.port = PL_MODBUS_CLIENT_PORT;
    cfg->timeout_ms = DEFAULT_TIMEOUT_MS;
    cfg->inflight = 1;
    cfg->max_queue = DEFAULT_QUEUE;
    cfg->max_regs = PL_MODBUS_MAX_READ_REGS;
    cfg->max_bits = PL_MODBUS_MAX_READ_BITS;
    cfg->drop_after = DEFAULT_DROP_AFTER;
    cfg->unit = 1;
}

int pl_modbus_client_config_url(pl_modbus_client_config_t *cfg, const char *url, char *storage,
                                size_t storage_len, pl_status_t *err)
{
    static const char *const known[] = {"timeout",    "byte_order",     "max_regs",
                                        "max_bits",   "inflight",       "queue",
                                        "zero_based", PL_LINE_URL_KEYS, NULL};
    pl_modbus_order_t order;
    const char *s;
    pl_url_t *u;
    unsigned long v;
    char *end;
    int rc;

    u = malloc(sizeof(*u));
    if (u == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    rc = pl_url_parse(u, url, PL_MODBUS_CLIENT_PORT, err);
    if (rc < 0)
        goto out;
    if (strcmp(u->scheme, "modbus") != 0) {
        rc = pl_status_set(err, PL_EURL, 0, "scheme '%s' is not modbus", u->scheme);
        goto out;
    }
    if ((rc = pl_url_check_keys(u, known, err)) < 0)
        goto out;
    if (u->path[0] != '\0') {
        v = u->path[0] >= '0' && u->path[0] <= '9' ? strtoul(u->path, &end, 10) : 256;
        if (v > 255 || *end != '\0') {
            rc = pl_status_set(err, PL_EURL, 0, "unit '%.20s' is not a number 0..255", u->path);
            goto out;
        }
        cfg->unit = (uint8_t)v;
    }
    if ((rc = pl_line_config_url(&cfg->line, u, PL_MODBUS_CLIENT_PORT, storage, storage_len, err)) <
        0)
        goto out;
    if ((rc = pl_url_get_unsigned(u, "timeout", 1, 3600000, &cfg->timeout_ms, err)) < 0)
        goto out;
    if ((rc = pl_url_get_unsigned(u, "max_regs", 1, PL_MODBUS_MAX_READ_REGS, &cfg->max_regs, err)) <
        0)
        goto out;
    if ((rc = pl_url_get_unsigned(u, "max_bits", 1, PL_MODBUS_MAX_READ_BITS, &cfg->max_bits, err)) <
        0)
        goto out;
    if ((rc = pl_url_get_unsigned(u, "inflight", 1, PL_MODBUS_CLIENT_MAX_INFLIGHT, &cfg->inflight,
                                  err)) < 0)
        goto out;
    if ((rc = pl_url_get_unsigned(u, "queue", 1, 65536, &cfg->max_queue, err)) < 0)
        goto out;
    v = cfg->zero_based;
    if ((rc = pl_url_get_uint(u, "zero_based", 0, 1, &v, err)) < 0)
        goto out;
    cfg->zero_based = (uint8_t)v;
    s = pl_url_get(u, "byte_order");
    if (s != NULL) {
        if (pl_modbus_order_parse(s, strlen(s), &order) < 0) {
            rc = pl_status_set(err, PL_EURL, 0,
                               "byte_order '%.20s': expected ABCD, CDAB, BADC or DCBA", s);
            goto out;
        }
        cfg->byte_order = (uint8_t)order;
    }
    rc = 0;
out:
    free(u);
    return rc;
}

/* =========================================================== 2. the core's operations */

static int bit_at(const uint8_t *packed, uint32_t i)
{
    return (packed[i / 8u] >> (i % 8u)) & 1;
}

static void bit_set(uint8_t *packed, uint32_t i, int v)
{
    if (v)
        packed[i / 8u] = (uint8_t)(packed[i / 8u] | (1u << (i % 8u)));
    else
        packed[i / 8u] = (uint8_t)(packed[i / 8u] & ~(1u << (i % 8u)));
}

static int op_frame(const uint8_t *buf, size_t len, void *ud)
{
    (void)ud;
    return pl_modbus_frame(buf, len, NULL);
}

/* Elements per message of a request with function `fc` (every part but the last is full). */
static uint32_t part_size(const pl_modbus_client_t *c, const pl_modbus_request_t *r)
{
    switch (r->fc_) {
    case PL_MODBUS_FC_READ_COILS:
    case PL_MODBUS_FC_READ_DISCRETE:
        return c->max_bits;
    case PL_MODBUS_FC_READ_HOLDING:
    case PL_MODBUS_FC_READ_INPUT:
        return c->max_regs;
    case PL_MODBUS_FC_WRITE_COILS:
        return c->max_wbits;
    case PL_MODBUS_FC_WRITE_REGISTERS:
        return c->max_wregs;
    default:
        return r->count_; /* one message */
    }
}

/* Encodes message `req->sent` of the request: its part of the elements, a transaction id
 * neither in flight nor awaited late. */
static int op_encode(pl_client_t *cl, pl_client_req_t *req, pl_client_slot_t *slot, uint8_t *buf,
                     size_t cap, int *last, pl_status_t *st, void *ud)
{
    pl_modbus_client_t *c = ud;
    pl_modbus_request_t *r = req_of(req);
    msg_t *m = slot->state;
    pl_modbus_req_t *q = &m->pdu;
    uint32_t size = part_size(c, r), left, i;
    uint16_t tid;
    int n;

    (void)st;
    m->offset = req->sent * size;
    left = r->count_ - m->offset;
    m->chunk = left < size ? left : size;
    m->unit = r->unit_;
    memset(q, 0, sizeof(*q));
    q->function = r->fc_;
    q->addr = (uint16_t)(r->addr_ + m->offset);
    q->count = (uint16_t)m->chunk;
    switch (r->fc_) {
    case PL_MODBUS_FC_WRITE_COIL:
        q->value = bit_at(r->wbuf_, 0) ? PL_MODBUS_COIL_ON : PL_MODBUS_COIL_OFF;
        break;
    case PL_MODBUS_FC_WRITE_REGISTER:
        q->value = pl_modbus_reg(r->wbuf_, 2, 0);
        break;
    case PL_MODBUS_FC_WRITE_COILS:
        memset(c->bits, 0, pl_modbus_bit_bytes(m->chunk));
        for (i = 0; i < m->chunk; i++)
            bit_set(c->bits, i, bit_at(r->wbuf_, m->offset + i));
        q->data = c->bits;
        q->data_len = pl_modbus_bit_bytes(m->chunk);
        break;
    case PL_MODBUS_FC_WRITE_REGISTERS:
        q->data = r->wbuf_ + (size_t)m->offset * 2u;
        q->data_len = (size_t)m->chunk * 2u;
        break;
    case PL_MODBUS_FC_MASK_WRITE:
        q->and_mask = r->and_;
        q->or_mask = r->or_;
        break;
    case PL_MODBUS_FC_READ_WRITE:
        q->waddr = r->waddr_;
        q->wcount = r->wcount_;
        q->data = r->wbuf_;
        q->data_len = (size_t)r->wcount_ * 2u;
        break;
    case PL_MODBUS_FC_MEI:
        q->mei_type = PL_MODBUS_MEI_DEVICE_ID;
        q->devid_code = (uint8_t)r->value_;
        q->object_id = r->object_;
        break;
    default: /* reads: the address and count above */
        break;
    }
    do
        tid = c->next_tid++;
    while (pl_client_id_taken(cl, tid)); /* at most inflight + 32 ids are taken */
    slot->id = tid;
    n = pl_modbus_req_encode(buf, cap, tid, r->unit_, q);
    q->data = NULL; /* matching needs no data; the bits scratch is reused */
    if (n < 0)
        return n;
    *last = m->offset + m->chunk >= r->count_;
    c->stats.requests++;
    return n;
}

/* The answer's transaction id; one that was never sent (neither in flight nor timed out on
 * this connection) means the stream is out of step: the connection is dropped. */
static int op_match(pl_client_t *cl, const uint8_t *frame, size_t len, uint32_t *id,
                    pl_status_t *st, void *ud)
{
    pl_modbus_client_t *c = ud;
    int rc;

    rc = pl_modbus_adu_decode(frame, len, &c->adu, st);
    if (rc < 0) {
        if (st->code == 0)
            pl_status_set(st, rc, 0, "bad frame from the server");
        return rc;
    }
    *id = c->adu.tid;
    if (pl_client_slot(cl, c->adu.tid) == NULL && !pl_client_expired(cl, c->adu.tid, 0)) {
        c->stats.mismatches++;
        return pl_status_set(st, PL_EMODBUS_MISMATCH, 0, "answer to transaction %u, never sent",
                             c->adu.tid);
    }
    return PL_CLIENT_ANSWER;
}

/* Checks the answer against what its message asked and stores what it carries. */
static int op_handle(pl_client_t *cl, pl_client_slot_t *slot, const uint8_t *frame, size_t len,
                     pl_status_t *st, void *ud)
{
    pl_modbus_client_t *c = ud;
    const pl_modbus_adu_t *adu = &c->adu;
    const msg_t *m = slot->state;
    pl_modbus_request_t *r;
    pl_modbus_rsp_t rsp;
    uint32_t i;

    (void)cl;
    (void)frame;
    (void)len;
    c->timeouts_in_row = 0;
    if (slot->req == NULL)
        return PL_CLIENT_OK; /* its request already failed: the answer is only consumed */
    r = req_of(slot->req);
    if (adu->unit != m->unit) {
        c->stats.mismatches++;
        pl_status_set(st, PL_EMODBUS_MISMATCH, 0, "answer from unit %u to a request for %u",
                      adu->unit, m->unit);
        return PL_CLIENT_FAIL;
    }
    if (pl_modbus_rsp_decode(adu->pdu, adu->pdu_len, &rsp, st) < 0) {
        c->stats.mismatches++;
        return PL_CLIENT_FAIL;
    }
    if (pl_modbus_rsp_match(&m->pdu, &rsp, st) < 0) {
        if (rsp.exception != 0) {
            c->stats.exceptions++;
            PLOG(c, PL_LOG_DEBUG, "modbus %s: unit %u %s: %s", PEER(c), m->unit,
                 pl_modbus_function_name(m->pdu.function), st->detail);
        } else {
            c->stats.mismatches++;
        }
        return PL_CLIENT_FAIL;
    }
    switch (r->fc_) {
    case PL_MODBUS_FC_READ_COILS:
    case PL_MODBUS_FC_READ_DISCRETE:
        for (i = 0; i < m->chunk; i++)
            bit_set(r->rbuf_, m->offset + i, pl_modbus_bit(rsp.data, rsp.data_len, i));
        break;
    case PL_MODBUS_FC_READ_HOLDING:
    case PL_MODBUS_FC_READ_INPUT:
    case PL_MODBUS_FC_READ_WRITE:
        memcpy(r->rbuf_ + (size_t)m->offset * 2u, rsp.data, (size_t)m->chunk * 2u);
        break;
    case PL_MODBUS_FC_MEI:
        if (rsp.objects_len > r->rcap_) {
            pl_status_set(st, PL_ENOBUFS, 0, "device identification of %zu bytes, room for %zu",
                          rsp.objects_len, r->rcap_);
            return PL_CLIENT_FAIL;
        }
        if (rsp.objects_len > 0)
            memcpy(r->rbuf_, rsp.objects, rsp.objects_len);
        r->devid.conformity = rsp.conformity;
        r->devid.more_follows = rsp.more_follows;
        r->devid.next_object = rsp.next_object;
        r->devid.object_count = rsp.object_count;
        r->devid.objects_len = rsp.objects_len;
        break;
    default:
        break;
    }
    return PL_CLIENT_OK;
}

static void op_complete(pl_client_t *cl, pl_client_req_t *req, pl_status_t *st, void *ud)
{
    pl_modbus_request_t *r = req_of(req);

    (void)cl;
    (void)ud;
    r->status = *st;
    r->cb_(r); /* may free the request, submit it again, or free the client */
}

static int op_connect(pl_client_t *cl, pl_status_t *st, void *ud)
{
    pl_modbus_client_t *c = ud;

    (void)cl;
    (void)st;
    c->timeouts_in_row = 0;
    PLOG(c, PL_LOG_INFO, "modbus: connected to %s", PEER(c));
    if (c->on_link != NULL)
        c->on_link(c, NULL, c->ud); /* may free the client: nothing after it */
    return 0;
}

/* The requests in flight fail with the reason of the break; waiting ones go out on the next
 * connection. */
static int op_down(pl_client_t *cl, const pl_status_t *why, int was_up, void *ud)
{
    pl_modbus_client_t *c = ud;

    (void)cl;
    if (c->on_link != NULL && (was_up || c->persistent))
        c->on_link(c, why, c->ud); /* may free the client: nothing after it */
    return PL_CLIENT_FAIL_INFLIGHT;
}

/* A unit that does not answer fails its own request and keeps the connection (its late
 * answer is recognised by the transaction id and dropped), unless `drop_after` requests in a
 * row went unanswered: then the connection is taken for dead. */
static int op_timeout(pl_client_t *cl, pl_client_slot_t *slot, pl_status_t *st, void *ud)
{
    pl_modbus_client_t *c = ud;
    const msg_t *m = slot->state;

    (void)cl;
    c->timeouts_in_row++;
    if (c->timeouts_in_row >= c->drop_after) {
        pl_status_set(st, PL_ETIMEOUT, 0, "unit %u %s: no answer within %u ms, %u in a row",
                      m->unit, pl_modbus_function_name(m->pdu.function), c->timeout_ms,
                      c->timeouts_in_row);
        c->timeouts_in_row = 0;
        return 1;
    }
    pl_status_set(st, PL_ETIMEOUT, 0, "unit %u %s: no answer within %u ms", m->unit,
                  pl_modbus_function_name(m->pdu.function), c->timeout_ms);
    return 0;
}

/* --- lifecycle --- */

static void on_core_freed(void *ud)
{
    free(ud);
}

int pl_modbus_client_new(uv_loop_t *loop, const pl_modbus_client_config_t *cfg,
                         pl_modbus_client_t **out)
{
    static const pl_client_ops_t ops = {
        .frame = op_frame,
        .encode = op_encode,
        .match = op_match,
        .handle = op_handle,
        .complete = op_complete,
        .connect = op_connect,
        .down = op_down,
        .timeout = op_timeout,
    };
    pl_client_config_t cc;
    pl_modbus_client_t *c;
    unsigned inflight;
    int rc;

    if (loop == NULL || cfg == NULL || out == NULL || cfg->line.hosts.count == 0 ||
        cfg->inflight > PL_MODBUS_CLIENT_MAX_INFLIGHT || cfg->max_regs > PL_MODBUS_MAX_READ_REGS ||
        cfg->max_bits > PL_MODBUS_MAX_READ_BITS)
        return PL_EINVAL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return PL_ENOMEM;
    c->on_link = cfg->on_link;
    c->ud = cfg->ud;
    c->timeout_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->drop_after = cfg->drop_after != 0 ? cfg->drop_after : DEFAULT_DROP_AFTER;
    c->max_regs = cfg->max_regs != 0 ? cfg->max_regs : PL_MODBUS_MAX_READ_REGS;
    c->max_bits = cfg->max_bits != 0 ? cfg->max_bits : PL_MODBUS_MAX_READ_BITS;
    c->max_wregs = c->max_regs < PL_MODBUS_MAX_WRITE_REGS ? c->max_regs : PL_MODBUS_MAX_WRITE_REGS;
    c->max_wbits = c->max_bits < PL_MODBUS_MAX_WRITE_BITS ? c->max_bits : PL_MODBUS_MAX_WRITE_BITS;
    c->next_tid = 1;
    inflight = cfg->inflight != 0 ? cfg->inflight : 1;

    memset(&cc, 0, sizeof(cc));
    cc.name = "modbus";
    cc.partner = "server";
    cc.timeout_ms = c->timeout_ms;
    /* max_queue counts the waiting requests; the core counts those in flight too */
    cc.max_queue = (cfg->max_queue != 0 ? cfg->max_queue : DEFAULT_QUEUE) + inflight;
    cc.max_inflight = inflight;
    cc.max_frame = PL_MODBUS_MAX_ADU;
    cc.max_msg = PL_MODBUS_MAX_ADU;
    cc.slot_size = sizeof(msg_t);
    cc.expired_max = EXPIRED_MAX;
    cc.one_by_one = 1; /* the parts of a long read or write, one after another */
    cc.freed = on_core_freed;
    cc.log = cfg->log;
    cc.responses = &c->stats.responses;
    cc.timeouts = &c->stats.timeouts;
    cc.errors = &c->stats.errors;
    cc.late = &c->stats.late;
    cc.last_rtt_us = &c->stats.last_rtt_us;
    rc = pl_client_new(loop, &cfg->line, &cc, &ops, c, &c->core);
    if (rc < 0) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int pl_modbus_client_start(pl_modbus_client_t *c)
{
    if (c->closing)
        return PL_ECLOSING;
    c->persistent = 1;
    return pl_client_start(c->core);
}

pl_line_t *pl_modbus_client_line(pl_modbus_client_t *c)
{
    return pl_client_line(c->core);
}

const pl_modbus_client_stats_t *pl_modbus_client_stats(const pl_modbus_client_t *c)
{
    return &c->stats;
}

/* The client's memory goes with the core's (on_core_freed), so that nothing the core
 * still does after a callback that freed the client touches freed memory. */
void pl_modbus_client_free(pl_modbus_client_t *c)
{
    if (c == NULL || c->closing)
        return;
    c->closing = 1;
    pl_client_free(c->core); /* every request is answered with PL_ECANCELED */
}

static int enqueue(pl_modbus_client_t *c, pl_modbus_request_t *r, pl_modbus_cb cb)
{
    if (c->closing)
        return PL_ECLOSING;
    pl_status_clear(&r->status);
    memset(&r->devid, 0, sizeof(r->devid));
    r->cb_ = cb;
    return pl_client_submit(c->core, core_of(r));
}

/* =========================================================== 3. the public calls */

static int check_range(uint16_t addr, uint32_t count)
{
    return count == 0 || (uint32_t)addr + count > 65536u ? PL_EINVAL : 0;
}

int pl_modbus_cancel(pl_modbus_client_t *c, pl_modbus_request_t *req)
{
    pl_status_t why;

    if (c == NULL || req == NULL)
        return 0;
    pl_status_set(&why, PL_ECANCELED, 0, "taken back before it was sent");
    return pl_client_cancel(c->core, core_of(req), &why);
}

int pl_modbus_read(pl_modbus_client_t *c, pl_modbus_request_t *req, uint8_t unit, uint8_t fc,
                   uint16_t addr, uint32_t count, uint8_t *out, pl_modbus_cb cb)
{
    if (c == NULL || req == NULL || cb == NULL || out == NULL || check_range(addr, count) < 0 ||
        fc < PL_MODBUS_FC_READ_COILS || fc > PL_MODBUS_FC_READ_INPUT)
        return PL_EINVAL;
    req->unit_ = unit;
    req->fc_ = fc;
    req->addr_ = addr;
    req->count_ = count;
    req->rbuf_ = out;
    req->wbuf_ = NULL;
    return enqueue(c, req, cb);
}

int pl_modbus_write(pl_modbus_client_t *c, pl_modbus_request_t *req, uint8_t unit, uint8_t fc,
                    uint16_t addr, uint32_t count, const uint8_t *data, pl_modbus_cb cb)
{
    if (c == NULL || req == NULL || cb == NULL || data == NULL || check_range(addr, count) < 0)
        return PL_EINVAL;
    switch (fc) {
    case PL_MODBUS_FC_WRITE_COIL:
    case PL_MODBUS_FC_WRITE_REGISTER:
        if (count != 1)
            return PL_EINVAL;
        break;
    case PL_MODBUS_FC_WRITE_COILS:
    case PL_MODBUS_FC_WRITE_REGISTERS:
        break;
    default:
        return PL_EINVAL;
    }
    req->unit_ = unit;
    req->fc_ = fc;
    req->addr_ = addr;
    req->count_ = count;
    req->rbuf_ = NULL;
    req->wbuf_ = data;
    return enqueue(c, req, cb);
}

int pl_modbus_mask_write(pl_modbus_client_t *c, pl_modbus_request_t *req, uint8_t unit,
                         uint16_t addr, uint16_t and_mask, uint16_t or_mask, pl_modbus_cb cb)
{
    if (c == NULL || req == NULL || cb == NULL)
        return PL_EINVAL;
    req->unit_ = unit;
    req->fc_ = PL_MODBUS_FC_MASK_WRITE;
    req->addr_ = addr;
    req->count_ = 1;
    req->and_ = and_mask;
    req->or_ = or_mask;
    req->rbuf_ = NULL;
    req->wbuf_ = NULL;
    return enqueue(c, req, cb);
}

int pl_modbus_read_write(pl_modbus_client_t *c, pl_modbus_request_t *req, uint8_t unit,
                         uint16_t raddr, uint16_t rcount, uint8_t *out, uint16_t waddr,
                         uint16_t wcount, const uint8_t *data, pl_modbus_cb cb)
{
    if (c == NULL || req == NULL || cb == NULL || out == NULL || data == NULL ||
        rcount > PL_MODBUS_MAX_READ_REGS || wcount > PL_MODBUS_MAX_RW_WRITE ||
        check_range(raddr, rcount) < 0 || check_range(waddr, wcount) < 0)
        return PL_EINVAL;
    req->unit_ = unit;
    req->fc_ = PL_MODBUS_FC_READ_WRITE;
    req->addr_ = raddr;
    req->count_ = rcount;
    req->rbuf_ = out;
    req->waddr_ = waddr;
    req->wcount_ = wcount;
    req->wbuf_ = data;
    return enqueue(c, req, cb);
}

int pl_modbus_device_id(pl_modbus_client_t *c, pl_modbus_request_t *req, uint8_t unit, uint8_t code,
                        uint8_t object, uint8_t *out, size_t cap, pl_modbus_cb cb)
{
    if (c == NULL || req == NULL || cb == NULL || out == NULL || code < PL_MODBUS_DEVID_BASIC ||
        code > PL_MODBUS_DEVID_SPECIFIC)
        return PL_EINVAL;
    req->unit_ = unit;
    req->fc_ = PL_MODBUS_FC_MEI;
    req->value_ = code;
    req->object_ = object;
    req->count_ = 1;
    req->rbuf_ = out;
    req->rcap_ = cap;
    req->wbuf_ = NULL;
    return enqueue(c, req, cb);
}
