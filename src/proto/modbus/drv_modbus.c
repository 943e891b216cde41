/* SPDX-License-Identifier: MIT */
/*
 * The Modbus driver for the scan engine: the four tables as planner areas (so a block never
 * crosses a table), registers or bits as units, tag addresses in the command's grammar
 * (hr/ir/co/di, Modicon references, types, register bits). Writes use FC 5 / 6 for one
 * element and FC 15 / 16 for several; a bit of a holding register is written with FC 22
 * (mask write), so the other bits are never touched.
 *
 * Units behind a gateway (docs/modbus.md, "Gateways and unit ids"): the devices of one line
 * share one pl_modbus_client_t, one TCP connection (src/proto/shared_conn.h, keyed by the
 * line's definition), each device asking its own unit. A device's requests are its own: the
 * driver keeps them (not the engine's request storage), waiting in the connection's queue
 * until the client has room on the wire (`inflight`), so that a device can be freed while
 * the others keep the connection: what it had queued is answered PL_ECANCELED and never
 * sent, what is on the wire is answered PL_ECANCELED at once and its answer dropped. On a
 * connection shared by several devices and `inflight` above 1, one device has at most
 * `inflight` - 1 requests in the client, so a silent unit never takes every slot.
 *
 * Units: a register takes 2 bytes of the block buffer, as it travels (big-endian); a block
 * of a bit table holds its bits packed from the first byte (LSB first), which fits in the
 * 2 bytes per unit the engine gives every block.
 */
#include "proto/driver.h"
#include "proto/registry.h"
#include "proto/shared_conn.h"

#include "plcline/error.h"
#include "plcline/modbus_client.h"
#include "proto/modbus/codec/modbus.h"
#include "proto/modbus/codec/modbus_addr.h"
#include "proto/modbus/modbus_value.h"

#include <stdlib.h>
#include <string.h>

#define DATA_MAX (PL_MODBUS_STR_MAX + 8u) /* a read of 125 registers, a string written */

typedef struct mconn_s mconn_t;
typedef struct mreq_s mreq_t;

typedef enum { OP_READ, OP_WRITE, OP_MASK } op_t;

/* One request of a device, owned by the driver. */
struct mreq_s {
    pl_modbus_request_t req; /* first: the client's callback finds the entry by it */
    pl_drv_dev_t *dev;
    mreq_t *next, *prev; /* in the connection's queue, the device's list on the wire, or its
                            spares */
    pl_drv_cb cb;        /* NULL: the device was freed, nobody waits for the answer */
    void *ctx;
    void *dst; /* reads: the engine's block buffer, dst_len bytes */
    size_t dst_len;
    uint64_t sent_ns;
    op_t op;
    uint8_t fc;
    uint16_t addr, and_mask, or_mask;
    uint32_t count;
    uint8_t data[DATA_MAX];
};

/* One connection (one client) and the requests waiting for room on it. */
struct mconn_s {
    pl_modbus_client_t *cli;
    pl_shared_conn_t *sh;    /* NULL once closing */
    unsigned inflight, busy; /* busy: requests handed to the client */
    mreq_t *qhead, *qtail;
    unsigned holds; /* pump() runs: the memory stays until it returns */
    int started, closing, pumping, repump;
};

struct pl_drv_dev_s {
    pl_shared_member_t member;
    mconn_t *m;
    uint8_t unit, zero_based;
    pl_modbus_order_t order;
    unsigned max_regs, inflight;
    unsigned onwire; /* requests handed to the client */
    unsigned nout;   /* requests not completed yet (queued or in the client) */
    mreq_t *wire;    /* those in the client */
    mreq_t *spare;
    pl_drv_link_cb link;
    void *ud;
    int dead, freeing;
    uint64_t requests, responses, timeouts, last_rtt_us;
};

/* What addr_parse keeps in pl_drv_addr_t.raw. */
typedef struct {
    pl_modbus_addr_t a;
    pl_modbus_order_t order;
} maddr_t;

extern const pl_protocol_t pl_protocol_modbus; /* modbus_protocol.c */
extern const pl_driver_t pl_driver_modbus;

static int order_of(const char *keys, pl_modbus_order_t *out)
{
    char v[16];

    if (!pl_keys_get(keys, "byte_order", v, sizeof(v)))
        return 0;
    return pl_modbus_order_parse(v, strlen(v), out) == 0;
}

/* --- the requests: the connection's queue, the devices' lists ----------------------- */

static void list_unlink(mreq_t **head, mreq_t **tail, mreq_t *r)
{
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        *head = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    else if (tail != NULL)
        *tail = r->prev;
    r->next = r->prev = NULL;
}

static void list_push(mreq_t **head, mreq_t *r)
{
    r->prev = NULL;
    r->next = *head;
    if (*head != NULL)
        (*head)->prev = r;
    *head = r;
}

static mreq_t *entry_get(pl_drv_dev_t *d)
{
    mreq_t *r = d->spare;

    if (r != NULL)
        d->spare = r->next;
    else if ((r = malloc(sizeof(*r))) == NULL)
        return NULL;
    memset(r, 0, offsetof(mreq_t, data));
    r->dev = d;
    return r;
}

static void entry_put(pl_drv_dev_t *d, mreq_t *r)
{
    r->next = d->spare;
    d->spare = r;
}

static void dev_destroy(pl_drv_dev_t *d)
{
    mreq_t *r;

    while ((r = d->spare) != NULL) {
        d->spare = r->next;
        free(r);
    }
    free(d);
}

/* Requests a device may have on the wire: all of `inflight` alone; one less when others
 * share the connection, so a unit that does not answer leaves them a slot. */
static unsigned dev_cap(const mconn_t *m)
{
    if (m->inflight > 1 && pl_shared_conn_members(m->sh) > 1)
        return m->inflight - 1;
    return m->inflight;
}

static int answered(int code)
{
    return code == 0 || code == PL_EMODBUS_MISMATCH ||
           (code <= PL_EMODBUS_EXCEPTION && code >= -0x04FF);
}

static void req_done(pl_modbus_request_t *req);
static void pump(mconn_t *m);

static void queue_insert_after(mconn_t *m, mreq_t *before, mreq_t *r)
{
    r->prev = before;
    r->next = before != NULL ? before->next : m->qhead;
    if (r->next != NULL)
        r->next->prev = r;
    else
        m->qtail = r;
    if (before != NULL)
        before->next = r;
    else
        m->qhead = r;
}

/* Hands `r` (queued) to the client; 0 or its synchronous error (then `r` is back in its
 * place in the queue). The bookkeeping comes first: the client may complete the request
 * before it returns (a send that fails at once). */
static int submit(mconn_t *m, mreq_t *r)
{
    pl_drv_dev_t *d = r->dev;
    mreq_t *before = r->prev;
    int rc = PL_EINVAL;

    list_unlink(&m->qhead, &m->qtail, r);
    list_push(&d->wire, r);
    m->busy++;
    d->onwire++;
    d->requests++;
    r->sent_ns = uv_hrtime();
    switch (r->op) {
    case OP_READ:
        rc = pl_modbus_read(m->cli, &r->req, d->unit, r->fc, r->addr, r->count, r->data, req_done);
        break;
    case OP_WRITE:
        rc = pl_modbus_write(m->cli, &r->req, d->unit, r->fc, r->addr, r->count, r->data, req_done);
        break;
    case OP_MASK:
        rc = pl_modbus_mask_write(m->cli, &r->req, d->unit, r->addr, r->and_mask, r->or_mask,
                                  req_done);
        break;
    }
    if (rc >= 0)
        return 0;
    /* refused synchronously: no callback ran, nothing else moved */
    list_unlink(&d->wire, NULL, r);
    m->busy--;
    d->onwire--;
    d->requests--;
    queue_insert_after(m, before, r);
    return rc;
}

/* One pass of pump(); stops early when a callback may have changed the queue (repump). */
static void pump_once(mconn_t *m)
{
    mreq_t *r, *next;

    for (r = m->qhead; r != NULL && !m->closing && !m->repump; r = next) {
        pl_drv_dev_t *d = r->dev;
        pl_status_t st;
        pl_drv_cb cb;
        void *ctx;
        int rc;

        if (pl_shared_conn_is_up(m->sh) && m->busy >= m->inflight)
            break;
        next = r->next;
        if (d->onwire >= dev_cap(m))
            continue;
        rc = submit(m, r);
        if (rc == 0)
            continue;
        if (rc == PL_ENO_MSG) /* the client's queue is full: the rest waits here */
            break;
        /* not reached for what the driver checked before queueing */
        list_unlink(&m->qhead, &m->qtail, r);
        d->nout--;
        cb = r->cb;
        ctx = r->ctx;
        entry_put(d, r);
        pl_status_set(&st, rc, 0, "the Modbus client refused the request");
        m->repump = 1;
        cb(ctx, &st);
    }
}

/* Moves queued requests to the client, in order: while the connection is up, as many as
 * it has room for on the wire (`inflight`; the others wait here, where a device's can be
 * taken back); while it is down, all of them, so that they wait for the connection with
 * the client's deadline. Either way a device has at most its share (dev_cap) in the
 * client: a request of a device that holds it waits here for its turn, so that a unit that
 * does not answer never fills the wire when the connection comes up. Callbacks that run
 * meanwhile (a request failed at once) may queue, free devices or close the connection:
 * a pump called from inside only asks for another pass, and the memory stays until the
 * outer one returns. */
static void pump(mconn_t *m)
{
    if (m->closing)
        return;
    if (m->pumping) {
        m->repump = 1;
        return;
    }
    m->pumping = 1;
    m->holds++;
    do {
        m->repump = 0;
        pump_once(m);
    } while (m->repump && !m->closing);
    m->pumping = 0;
    if (--m->holds == 0 && m->closing)
        free(m);
}

static void enqueue(mconn_t *m, mreq_t *r)
{
    r->next = NULL;
    r->prev = m->qtail;
    if (m->qtail != NULL)
        m->qtail->next = r;
    else
        m->qhead = r;
    m->qtail = r;
    r->dev->nout++;
    pump(m);
}

static void req_done(pl_modbus_request_t *req)
{
    mreq_t *r = (mreq_t *)(void *)req;
    pl_drv_dev_t *d = r->dev;
    mconn_t *m = d->m;
    pl_status_t st = req->status;
    pl_drv_cb cb = r->cb;
    void *ctx = r->ctx;

    list_unlink(&d->wire, NULL, r);
    m->busy--;
    d->onwire--;
    d->nout--;
    if (st.code == PL_ETIMEOUT)
        d->timeouts++;
    else if (answered(st.code)) {
        d->responses++;
        d->last_rtt_us = (uv_hrtime() - r->sent_ns) / 1000u;
    }
    if (cb != NULL && st.code == 0 && r->dst != NULL)
        memcpy(r->dst, r->data, r->dst_len);
    if (d->dead) {
        free(r);
        if (d->nout == 0 && !d->freeing)
            dev_destroy(d);
    } else {
        entry_put(d, r);
    }
    pump(m); /* before the callback, which may free the device or the connection */
    if (cb != NULL)
        cb(ctx, &st);
}

/* --- the connection ------------------------------------------------------------------ */

static void conn_link(pl_modbus_client_t *c, const pl_status_t *st, void *ud)
{
    mconn_t *m = ud;

    (void)c;
    m->holds++; /* a device's link callback may free the last device */
    pl_shared_conn_link(m->sh, st);
    if (st == NULL)
        pump(m);
    if (--m->holds == 0 && m->closing)
        free(m);
}

static void conn_close(void *conn)
{
    mconn_t *m = conn;

    m->closing = 1;
    m->sh = NULL;                  /* the registry frees its entry when this returns */
    pl_modbus_client_free(m->cli); /* the requests of freed devices complete, to nobody */
    if (m->holds == 0)
        free(m); /* else the pump() that runs frees it */
}

static void member_link(pl_shared_member_t *mb, const pl_status_t *st)
{
    pl_drv_dev_t *d = mb->data;

    if (!d->dead)
        d->link(d->ud, st);
}

/* The line's definition as the key of its connection: what the client is built from, with
 * the one pointer in it left out (its text is in the definition). The bytes are compared
 * as the engine compares definitions to hand connections over on a reload, so the two
 * agree on which lines are unchanged. */
_Static_assert(sizeof(pl_line_def_t) <= PL_SHARED_KEY_MAX, "a line's definition is the key");

static void line_key(const pl_line_def_t *line, pl_line_def_t *key)
{
    memcpy(key, line, sizeof(*key));
    key->line.local_addr = NULL;
}

static int conn_new(uv_loop_t *loop, const pl_line_def_t *line, const pl_line_def_t *key,
                    const pl_logger_t *log, mconn_t **out)
{
    const pl_protocol_t *p = &pl_protocol_modbus;
    pl_modbus_client_config_t cfg;
    mconn_t *m;
    int rc;

    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return PL_ENOMEM;
    pl_modbus_client_config_init(&cfg);
    cfg.line = line->line;
    if (cfg.line.port == 0)
        cfg.line.port = PL_MODBUS_CLIENT_PORT;
    if (line->timeout_ms != 0)
        cfg.timeout_ms = line->timeout_ms;
    cfg.max_regs = pl_protocol_uint(p, PL_KEYS_LINE, line->keys, "max_regs");
    cfg.max_bits = pl_protocol_uint(p, PL_KEYS_LINE, line->keys, "max_bits");
    cfg.inflight = pl_protocol_uint(p, PL_KEYS_LINE, line->keys, "inflight");
    cfg.on_link = conn_link;
    cfg.ud = m;
    cfg.log = log;
    m->inflight = cfg.inflight != 0 ? cfg.inflight : 1;
    rc = pl_modbus_client_new(loop, &cfg, &m->cli);
    if (rc < 0) {
        free(m);
        return rc;
    }
    rc = pl_shared_conn_new(loop, &pl_driver_modbus, key, sizeof(*key), m, conn_close, &m->sh);
    if (rc < 0) {
        pl_modbus_client_free(m->cli);
        free(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* --- the driver ------------------------------------------------------------------------ */

static int dev_new(uv_loop_t *loop, const pl_line_def_t *line, const pl_device_def_t *dev,
                   const pl_logger_t *log, pl_drv_link_cb link, void *ud, pl_drv_dev_t **out,
                   pl_status_t *err)
{
    const pl_protocol_t *p = &pl_protocol_modbus;
    pl_shared_conn_t *sh;
    pl_line_def_t *key;
    pl_drv_dev_t *d;
    mconn_t *m;
    int rc;

    d = calloc(1, sizeof(*d));
    key = malloc(sizeof(*key));
    if (d == NULL || key == NULL) {
        free(d);
        free(key);
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    }
    line_key(line, key);
    sh = pl_shared_conn_find(loop, &pl_driver_modbus, key, sizeof(*key));
    if (sh != NULL) {
        m = pl_shared_conn_get(sh);
    } else if ((rc = conn_new(loop, line, key, log, &m)) < 0) {
        free(key);
        free(d);
        return pl_status_set(err, rc, 0, "device '%s': cannot create the Modbus client", dev->name);
    }
    free(key);
    d->m = m;
    d->unit = (uint8_t)pl_protocol_uint(p, PL_KEYS_DEVICE, dev->keys, "unit");
    d->zero_based = (uint8_t)pl_protocol_uint(p, PL_KEYS_DEVICE, dev->keys, "zero_based");
    d->order = PL_MODBUS_ABCD;
    (void)order_of(dev->keys, &d->order);
    d->max_regs = pl_protocol_uint(p, PL_KEYS_LINE, line->keys, "max_regs");
    d->inflight = m->inflight;
    d->link = link;
    d->ud = ud;
    d->member.link = member_link;
    d->member.data = d;
    pl_shared_conn_join(m->sh, &d->member);
    *out = d;
    return 0;
}

/* Answers the device's requests PL_ECANCELED now (callbacks run before it returns): those
 * still queued here or in the client (the connection is down, or they wait behind others)
 * are never sent; those on the wire are left to the client and their answers dropped, and
 * their callers are told that it may have been carried out. The connection stays while
 * other devices use it. */
static void dev_free(pl_drv_dev_t *d)
{
    mconn_t *m = d->m;
    pl_status_t why, sent;
    unsigned others;
    mreq_t *r;

    pl_status_set(&why, PL_ECANCELED, 0, "the device was closed");
    pl_status_set(&sent, PL_ECANCELED, 0,
                  "the device was closed while the request was on its way: the unit may have "
                  "carried it out");
    d->dead = 1;
    d->freeing = 1;
    for (;;) { /* one at a time: a callback may queue or complete others */
        int queued = 1;
        pl_drv_cb cb;
        void *ctx;

        for (r = m->qhead; r != NULL && r->dev != d; r = r->next)
            ;
        if (r == NULL) {
            queued = 0;
            for (r = d->wire; r != NULL && r->cb == NULL; r = r->next)
                ;
        }
        if (r == NULL)
            break;
        cb = r->cb;
        ctx = r->ctx;
        r->cb = NULL;
        if (queued) { /* never sent: taken back */
            list_unlink(&m->qhead, &m->qtail, r);
            d->nout--;
            free(r);
            cb(ctx, &why);
        } else if (pl_modbus_cancel(m->cli, &r->req)) { /* req_done ran: r is gone */
            cb(ctx, &why);
        } else {
            cb(ctx, &sent);
        }
    }
    others = pl_shared_conn_members(m->sh) - 1;
    pl_shared_conn_leave(m->sh, &d->member); /* the last one closes the client */
    if (others > 0)
        pump(m); /* the others' share of the wire grew */
    d->freeing = 0;
    if (d->nout == 0)
        dev_destroy(d);
}

static int dev_start(pl_drv_dev_t *d)
{
    mconn_t *m = d->m;

    if (!m->started) {
        m->started = 1;
        return pl_modbus_client_start(m->cli);
    }
    if (pl_shared_conn_is_up(m->sh)) /* joined a connection that is up already */
        d->link(d->ud, NULL);
    return 0;
}

/* The planner has one request size per device: registers set it, and a block of a bit table
 * is planned in pieces of that many bits (the client still reads up to max_bits at once). */
static void limits(pl_drv_dev_t *d, pl_plan_limits_t *lim)
{
    lim->max_len = d->max_regs;
}

static unsigned max_inflight(pl_drv_dev_t *d)
{
    return d->inflight;
}

static int addr_parse(pl_drv_dev_t *d, const pl_tag_def_t *tag, pl_drv_addr_t *out,
                      pl_status_t *err)
{
    maddr_t m;
    int rc;

    memset(&m, 0, sizeof(m));
    rc = pl_modbus_addr_parse(&m.a, tag->address, d->zero_based ? PL_MODBUS_ADDR_ZERO_BASED : 0,
                              err);
    if (rc < 0)
        return rc;
    if (m.a.count != 1)
        return pl_status_set(err, PL_EADDR, 0, "'%s': a tag holds one value, not %u", tag->address,
                             (unsigned)m.a.count);
    m.order = d->order;
    (void)order_of(tag->keys, &m.order);
    memset(out, 0, sizeof(*out));
    out->area = (uint32_t)m.a.table;
    out->start = m.a.addr;
    out->len = pl_modbus_addr_units(&m.a);
    memcpy(out->raw, &m, sizeof(m));
    return 0;
}

static int dev_read(pl_drv_dev_t *d, void *req, uint32_t area, uint32_t start, uint32_t len,
                    void *buf, pl_drv_cb cb, void *ctx)
{
    pl_modbus_table_t table = (pl_modbus_table_t)area;
    size_t bytes = pl_modbus_table_bits(table) ? (len + 7u) / 8u : (size_t)len * 2u;
    mreq_t *r;

    (void)req;
    if (d->dead)
        return PL_ECLOSING;
    if (len == 0 || start + len > 65536u || bytes > DATA_MAX)
        return PL_EINVAL;
    if ((r = entry_get(d)) == NULL)
        return PL_ENOMEM;
    r->op = OP_READ;
    r->fc = pl_modbus_table_read_fc(table);
    r->addr = (uint16_t)start;
    r->count = len;
    r->dst = buf;
    r->dst_len = bytes;
    r->cb = cb;
    r->ctx = ctx;
    enqueue(d->m, r);
    return 0;
}

static void decode(const pl_drv_addr_t *a, const pl_tag_def_t *tag, const void *buf,
                   uint32_t block_start, pl_value_t *out)
{
    const maddr_t *m = (const maddr_t *)(const void *)a->raw;
    const uint8_t *bytes = buf;
    uint32_t off = m->a.addr - block_start;
    pl_modbus_value_t v;

    (void)tag;
    memset(out, 0, sizeof(*out));
    if (pl_modbus_table_bits(m->a.table)) {
        out->type = PL_VT_BOOL;
        out->i = (bytes[off / 8u] >> (off % 8u)) & 1;
        return;
    }
    if (pl_modbus_value_get(&m->a, bytes + (size_t)off * 2u, (size_t)a->len * 2u, 0, m->order,
                            &v) == 0)
        pl_modbus_value_to(&v, out);
}

/* The value into `data` as it travels; 0 or PL_EVALUE/PL_EADDR with `err`. */
static int encode(const maddr_t *m, const pl_value_t *v, uint8_t *data, size_t cap,
                  pl_status_t *err)
{
    if (!pl_modbus_table_writable(m->a.table))
        return pl_status_set(err, PL_EADDR, 0, "%s is read-only", pl_modbus_table_name(m->a.table));
    memset(data, 0, cap);
    return pl_modbus_value_from(&m->a, m->order, v, data, cap, err);
}

static int check(const pl_drv_addr_t *a, const pl_tag_def_t *tag, const pl_value_t *v,
                 pl_status_t *err)
{
    uint8_t probe[PL_MODBUS_STR_MAX + 8];
    maddr_t m;

    (void)tag;
    memcpy(&m, a->raw, sizeof(m));
    return encode(&m, v, probe, sizeof(probe), err);
}

static int dev_write(pl_drv_dev_t *d, void *req, const pl_drv_addr_t *a, const pl_tag_def_t *tag,
                     const pl_value_t *v, pl_drv_cb cb, void *ctx, pl_status_t *err)
{
    uint32_t units = a->len;
    maddr_t ma;
    mreq_t *r;
    int rc;

    (void)tag;
    (void)req;
    if (d->dead)
        return pl_status_set(err, PL_ECLOSING, 0, NULL);
    memcpy(&ma, a->raw, sizeof(ma));
    if ((r = entry_get(d)) == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    rc = encode(&ma, v, r->data, sizeof(r->data), err);
    if (rc < 0) {
        entry_put(d, r);
        return rc;
    }
    r->addr = ma.a.addr;
    r->cb = cb;
    r->ctx = ctx;
    if (ma.a.bit >= 0) { /* a bit of a holding register: FC 22 leaves the others alone */
        uint16_t mask = (uint16_t)(1u << ma.a.bit);
        int on = (pl_modbus_reg(r->data, 2, 0) & mask) != 0;

        r->op = OP_MASK;
        r->and_mask = (uint16_t)~mask;
        r->or_mask = on ? mask : 0;
    } else {
        r->op = OP_WRITE;
        r->fc = pl_modbus_table_write_fc(ma.a.table, units);
        r->count = units;
    }
    enqueue(d->m, r);
    return 0;
}

static void rebind(pl_drv_dev_t *d, void *ud)
{
    d->ud = ud;
}

/* The device's own requests: the connection's counters are every device's together. */
static void stats(const pl_drv_dev_t *d, pl_engine_stats_t *acc)
{
    acc->requests += d->requests;
    acc->responses += d->responses;
    acc->timeouts += d->timeouts;
    if (d->last_rtt_us != 0)
        acc->last_rtt_us = d->last_rtt_us;
}

/* Shared by the devices of the line: the engine counts its bytes once per line. */
static const pl_line_t *dev_line(const pl_drv_dev_t *d)
{
    return pl_modbus_client_line(d->m->cli);
}

const pl_driver_t pl_driver_modbus = {
    .name = "modbus",
    .unit_bytes = sizeof(uint16_t),
    .req_size = sizeof(void *),
    .dev_new = dev_new,
    .dev_free = dev_free,
    .dev_start = dev_start,
    .limits = limits,
    .max_inflight = max_inflight,
    .addr_parse = addr_parse,
    .read = dev_read,
    .decode = decode,
    .check = check,
    .write = dev_write,
    .rebind = rebind,
    .stats = stats,
    .line = dev_line,
};
