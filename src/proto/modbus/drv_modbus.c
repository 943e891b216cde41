/* SPDX-License-Identifier: MIT */
/*
 * The Modbus driver for the scan engine: one pl_modbus_client_t per device (one unit), the
 * four tables as planner areas (so a block never crosses a table), registers or bits as
 * units, tag addresses in the command's grammar (hr/ir/co/di, Modicon references, types,
 * register bits). Writes use FC 5 / 6 for one element and FC 15 / 16 for several; a bit of a
 * holding register is written with FC 22 (mask write), so the other bits are never touched.
 *
 * Units: a register takes 2 bytes of the block buffer, as it travels (big-endian); a block
 * of a bit table holds its bits packed from the first byte (LSB first), which fits in the
 * 2 bytes per unit the engine gives every block.
 */
#include "proto/driver.h"
#include "proto/registry.h"

#include "plcline/error.h"
#include "plcline/modbus_client.h"
#include "proto/modbus/codec/modbus.h"
#include "proto/modbus/codec/modbus_addr.h"

#include <stdlib.h>
#include <string.h>

struct pl_drv_dev_s {
    pl_modbus_client_t *cli;
    uint8_t unit, zero_based;
    pl_modbus_order_t order;
    unsigned max_regs, inflight;
    pl_drv_link_cb link;
    void *ud;
};

/* What addr_parse keeps in pl_drv_addr_t.raw. */
typedef struct {
    pl_modbus_addr_t a;
    pl_modbus_order_t order;
} maddr_t;

typedef struct {
    pl_modbus_request_t req;
    pl_drv_cb cb;
    void *ctx;
    uint8_t data[PL_MODBUS_STR_MAX + 8];
} mreq_t;

extern const pl_protocol_t pl_protocol_modbus; /* modbus_protocol.c */

static int order_of(const char *keys, pl_modbus_order_t *out)
{
    char v[16];

    if (!pl_keys_get(keys, "byte_order", v, sizeof(v)))
        return 0;
    return pl_modbus_order_parse(v, strlen(v), out) == 0;
}

static void on_link(pl_modbus_client_t *c, const pl_status_t *st, void *ud)
{
    pl_drv_dev_t *d = ud;

    (void)c;
    d->link(d->ud, st);
}

static int dev_new(uv_loop_t *loop, const pl_line_def_t *line, const pl_device_def_t *dev,
                   const pl_logger_t *log, pl_drv_link_cb link, void *ud, pl_drv_dev_t **out,
                   pl_status_t *err)
{
    const pl_protocol_t *p = &pl_protocol_modbus;
    pl_modbus_client_config_t cfg;
    pl_drv_dev_t *d;
    int rc;

    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    pl_modbus_client_config_init(&cfg);
    cfg.line = line->line;
    if (cfg.line.port == 0)
        cfg.line.port = PL_MODBUS_CLIENT_PORT;
    if (line->timeout_ms != 0)
        cfg.timeout_ms = line->timeout_ms;
    cfg.max_regs = pl_protocol_uint(p, PL_KEYS_LINE, line->keys, "max_regs");
    cfg.max_bits = pl_protocol_uint(p, PL_KEYS_LINE, line->keys, "max_bits");
    cfg.inflight = pl_protocol_uint(p, PL_KEYS_LINE, line->keys, "inflight");
    cfg.on_link = on_link;
    cfg.ud = d;
    cfg.log = log;
    d->unit = (uint8_t)pl_protocol_uint(p, PL_KEYS_DEVICE, dev->keys, "unit");
    d->zero_based = (uint8_t)pl_protocol_uint(p, PL_KEYS_DEVICE, dev->keys, "zero_based");
    d->order = PL_MODBUS_ABCD;
    (void)order_of(dev->keys, &d->order);
    d->max_regs = cfg.max_regs;
    d->inflight = cfg.inflight;
    d->link = link;
    d->ud = ud;
    rc = pl_modbus_client_new(loop, &cfg, &d->cli);
    if (rc < 0) {
        free(d);
        return pl_status_set(err, rc, 0, "device '%s': cannot create the Modbus client", dev->name);
    }
    *out = d;
    return 0;
}

static void dev_free(pl_drv_dev_t *d)
{
    pl_modbus_client_free(d->cli);
    free(d);
}

static int dev_start(pl_drv_dev_t *d)
{
    return pl_modbus_client_start(d->cli);
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

static void req_done(pl_modbus_request_t *req)
{
    mreq_t *r = (mreq_t *)req;

    r->cb(r->ctx, &req->status);
}

static int dev_read(pl_drv_dev_t *d, void *req, uint32_t area, uint32_t start, uint32_t len,
                    void *buf, pl_drv_cb cb, void *ctx)
{
    mreq_t *r = req;

    r->cb = cb;
    r->ctx = ctx;
    return pl_modbus_read(d->cli, &r->req, d->unit,
                          pl_modbus_table_read_fc((pl_modbus_table_t)area), (uint16_t)start, len,
                          buf, req_done);
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
    if (pl_modbus_value_get(&m->a, bytes + (size_t)off * 2u, (size_t)a->len * 2u, 0, m->order, &v) <
        0)
        return;
    switch (v.type) {
    case PL_MODBUS_T_BIT:
        out->type = PL_VT_BOOL;
        out->i = v.v.u != 0;
        break;
    case PL_MODBUS_T_U16:
    case PL_MODBUS_T_U32:
    case PL_MODBUS_T_U64:
        if (v.v.u > INT64_MAX) {
            out->type = PL_VT_FLOAT;
            out->f = (double)v.v.u;
        } else {
            out->type = PL_VT_INT;
            out->i = (int64_t)v.v.u;
        }
        break;
    case PL_MODBUS_T_I16:
    case PL_MODBUS_T_I32:
    case PL_MODBUS_T_I64:
        out->type = PL_VT_INT;
        out->i = v.v.i;
        break;
    case PL_MODBUS_T_F32:
        out->type = PL_VT_FLOAT;
        out->f = (double)v.v.f32;
        break;
    case PL_MODBUS_T_F64:
        out->type = PL_VT_FLOAT;
        out->f = v.v.f64;
        break;
    case PL_MODBUS_T_STR: {
        size_t n = v.s_len < sizeof(out->s) ? v.s_len : sizeof(out->s) - 1;

        out->type = PL_VT_STRING;
        memcpy(out->s, v.s, n);
        out->s[n] = '\0';
        out->len = n;
        break;
    }
    }
}

/* The value into `data` as it travels; 0 or PL_EVALUE/PL_EADDR with `err`. */
static int encode(const maddr_t *m, const pl_value_t *v, uint8_t *data, size_t cap,
                  pl_status_t *err)
{
    char text[PL_VALUE_STRING_MAX + 32];
    int is_float = m->a.type == PL_MODBUS_T_F32 || m->a.type == PL_MODBUS_T_F64;
    int rc;

    if (!pl_modbus_table_writable(m->a.table))
        return pl_status_set(err, PL_EADDR, 0, "%s is read-only", pl_modbus_table_name(m->a.table));
    rc = pl_value_text(v, is_float, text, sizeof(text), err);
    if (rc < 0)
        return rc;
    memset(data, 0, cap);
    return pl_modbus_value_put(&m->a, data, cap, 0, m->order, text, strlen(text), err);
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
    mreq_t *r = req;
    uint32_t units = a->len;
    maddr_t m;
    int rc;

    (void)tag;
    memcpy(&m, a->raw, sizeof(m));
    r->cb = cb;
    r->ctx = ctx;
    rc = encode(&m, v, r->data, sizeof(r->data), err);
    if (rc < 0)
        return rc;
    if (m.a.bit >= 0) { /* a bit of a holding register: FC 22 leaves the others alone */
        uint16_t mask = (uint16_t)(1u << m.a.bit);
        int on = (pl_modbus_reg(r->data, 2, 0) & mask) != 0;

        return pl_modbus_mask_write(d->cli, &r->req, d->unit, m.a.addr, (uint16_t)~mask,
                                    on ? mask : 0, req_done);
    }
    return pl_modbus_write(d->cli, &r->req, d->unit, pl_modbus_table_write_fc(m.a.table, units),
                           m.a.addr, units, r->data, req_done);
}

static void rebind(pl_drv_dev_t *d, void *ud)
{
    d->ud = ud;
}

static void stats(const pl_drv_dev_t *d, pl_engine_stats_t *acc)
{
    const pl_modbus_client_stats_t *cs = pl_modbus_client_stats(d->cli);

    acc->requests += cs->requests;
    acc->responses += cs->responses;
    acc->timeouts += cs->timeouts;
    if (cs->last_rtt_us != 0)
        acc->last_rtt_us = cs->last_rtt_us;
}

static const pl_line_t *dev_line(const pl_drv_dev_t *d)
{
    return pl_modbus_client_line(d->cli);
}

const pl_driver_t pl_driver_modbus = {
    .name = "modbus",
    .unit_bytes = sizeof(uint16_t),
    .req_size = sizeof(mreq_t),
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
