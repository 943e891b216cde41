/* SPDX-License-Identifier: MIT */
/*
 * The 7TTCP driver for the scan engine: one pl_ttcp_client_t per device (node), words as
 * planner units (area 0), tag addresses in the CLI grammar (W, I, D, L, F, B, W/bit).
 * Bits are written by reading their word and writing it back (7TTCP has no masked write).
 */
#include "proto/driver.h"
#include "proto/registry.h"

#include "proto/ttcp/codec/ttcp.h"
#include "proto/ttcp/codec/ttcp_addr.h"
#include "plcline/error.h"
#include "plcline/ttcp.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pl_drv_dev_s {
    pl_ttcp_client_t *cli;
    uint32_t node;
    unsigned max_block, inflight;
    pl_drv_link_cb link;
    void *ud;
};

typedef struct {
    pl_ttcp_req_t req;
    pl_drv_cb cb;
    void *ctx;
} rreq_t;

typedef struct {
    pl_ttcp_req_t req;
    pl_drv_dev_t *dev;
    pl_drv_cb cb;
    void *ctx;
    pl_ttcp_addr_t a;
    int swap;
    uint16_t words[2];
    char text[64]; /* the value, for the bit's second step */
} wreq_t;

typedef union {
    rreq_t r;
    wreq_t w;
} anyreq_t;

extern const pl_protocol_t pl_protocol_ttcp; /* ttcp_protocol.c */

/* The parsed address (pl_drv_addr_t.raw): the 7TTCP address, then the tag's swap key, read
 * from its key text once here instead of at every decode (300 000 decodes a second in a
 * large plant). */
#define RAW_SWAP sizeof(pl_ttcp_addr_t)

static int tag_swap(const pl_tag_def_t *tag)
{
    return pl_protocol_uint(&pl_protocol_ttcp, PL_KEYS_TAG, tag->keys, "swap") != 0;
}

static void on_link(pl_ttcp_client_t *c, const pl_status_t *st, void *ud)
{
    pl_drv_dev_t *d = ud;

    (void)c;
    d->link(d->ud, st);
}

static int dev_new(uv_loop_t *loop, const pl_line_def_t *line, const pl_device_def_t *dev,
                   const pl_logger_t *log, pl_drv_link_cb link, void *ud, pl_drv_dev_t **out,
                   pl_status_t *err)
{
    pl_ttcp_client_config_t cfg;
    pl_drv_dev_t *d;
    int rc;

    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    pl_ttcp_client_config_init(&cfg);
    cfg.line = line->line;
    if (cfg.line.port == 0)
        cfg.line.port = PL_TTCP_PORT;
    if (line->timeout_ms != 0)
        cfg.timeout_ms = line->timeout_ms;
    cfg.keepalive_ms = pl_protocol_uint(&pl_protocol_ttcp, PL_KEYS_LINE, line->keys, "keepalive");
    cfg.max_block = pl_protocol_uint(&pl_protocol_ttcp, PL_KEYS_LINE, line->keys, "max_block");
    cfg.on_link = on_link;
    cfg.ud = d;
    cfg.log = log;
    cfg.max_inflight = pl_protocol_uint(&pl_protocol_ttcp, PL_KEYS_LINE, line->keys, "inflight");
    d->node = pl_protocol_uint(&pl_protocol_ttcp, PL_KEYS_DEVICE, dev->keys, "node");
    d->inflight = cfg.max_inflight;
    d->max_block = cfg.max_block;
    d->link = link;
    d->ud = ud;
    rc = pl_ttcp_client_new(loop, &cfg, &d->cli);
    if (rc < 0) {
        free(d);
        return pl_status_set(err, rc, 0, "device '%s': cannot create the 7TTCP client", dev->name);
    }
    *out = d;
    return 0;
}

static void dev_free(pl_drv_dev_t *d)
{
    pl_ttcp_client_free(d->cli);
    free(d);
}

static int dev_start(pl_drv_dev_t *d)
{
    return pl_ttcp_client_start(d->cli);
}

static void limits(pl_drv_dev_t *d, pl_plan_limits_t *lim)
{
    lim->max_len = d->max_block;
}

static unsigned max_inflight(pl_drv_dev_t *d)
{
    return d->inflight; /* the ceiling: read slots the engine keeps for the device */
}

static void batch(pl_drv_dev_t *d, int begin)
{
    pl_ttcp_client_cork(d->cli, begin);
}

static int addr_parse(pl_drv_dev_t *d, const pl_tag_def_t *tag, pl_drv_addr_t *out,
                      pl_status_t *err)
{
    pl_ttcp_addr_t a;
    int rc;

    (void)d;
    rc = pl_ttcp_addr_parse(&a, tag->address, err);
    if (rc < 0)
        return rc;
    if (a.count != 1)
        return pl_status_set(err, PL_EADDR, 0, "'%s': a tag holds one value, not %" PRIu32,
                             tag->address, a.count);
    memset(out, 0, sizeof(*out));
    out->area = 0;
    out->start = a.offset;
    out->len = pl_ttcp_addr_words(&a);
    _Static_assert(RAW_SWAP + 1 <= sizeof(out->raw), "pl_drv_addr_t.raw");
    memcpy(out->raw, &a, sizeof(a));
    out->raw[RAW_SWAP] = (uint8_t)tag_swap(tag);
    return 0;
}

static void read_done(pl_ttcp_req_t *req)
{
    rreq_t *r = (rreq_t *)req;

    r->cb(r->ctx, &req->status);
}

static int dev_read(pl_drv_dev_t *d, void *req, uint32_t area, uint32_t start, uint32_t len,
                    void *buf, pl_drv_cb cb, void *ctx)
{
    rreq_t *r = req;

    (void)area;
    r->cb = cb;
    r->ctx = ctx;
    return pl_ttcp_read(d->cli, &r->req, d->node, start, buf, len, read_done);
}

static void decode(const pl_drv_addr_t *a, const pl_tag_def_t *tag, const void *buf,
                   uint32_t block_start, pl_value_t *out)
{
    const pl_ttcp_addr_t *ta = (const pl_ttcp_addr_t *)(const void *)a->raw;
    const uint16_t *words = (const uint16_t *)buf + (ta->offset - block_start);
    pl_ttcp_value_t v;

    (void)tag;
    pl_ttcp_value_get(ta, words, 0, a->raw[RAW_SWAP], &v);
    memset(out, 0, sizeof(*out));
    switch (ta->kind) {
    case PL_TTCP_BIT:
        out->type = PL_VT_BOOL;
        out->i = v.v.u != 0;
        break;
    case PL_TTCP_F:
        out->type = PL_VT_FLOAT;
        out->f = (double)v.v.f;
        break;
    case PL_TTCP_I:
    case PL_TTCP_L:
        out->type = PL_VT_INT;
        out->i = v.v.i;
        break;
    case PL_TTCP_W:
    case PL_TTCP_D:
    case PL_TTCP_B:
        out->type = PL_VT_INT;
        out->i = (int64_t)v.v.u;
        break;
    }
}

static int check(const pl_drv_addr_t *a, const pl_tag_def_t *tag, const pl_value_t *v,
                 pl_status_t *err)
{
    pl_ttcp_addr_t ta;
    uint16_t probe[2] = {0, 0};
    char text[64];
    int rc;

    memcpy(&ta, a->raw, sizeof(ta));
    rc = pl_value_text(v, ta.kind == PL_TTCP_F, text, sizeof(text), err);
    if (rc < 0)
        return rc;
    return pl_ttcp_value_put(&ta, probe, 0, tag_swap(tag), text, strlen(text), err);
}

static void write_done(pl_ttcp_req_t *req)
{
    wreq_t *w = (wreq_t *)req;

    w->cb(w->ctx, &req->status);
}

/* Bit write, step 2: the word was read; change the bit and write the word back. */
static void bit_read_done(pl_ttcp_req_t *req)
{
    wreq_t *w = (wreq_t *)req;
    pl_status_t st;
    int rc;

    if (req->status.code != 0) {
        w->cb(w->ctx, &req->status);
        return;
    }
    pl_status_clear(&st);
    rc = pl_ttcp_value_put(&w->a, w->words, 0, w->swap, w->text, strlen(w->text), &st);
    if (rc == 0)
        rc = pl_ttcp_write(w->dev->cli, &w->req, w->dev->node, w->a.offset, w->words,
                           pl_ttcp_addr_words(&w->a), write_done);
    if (rc < 0) {
        if (st.code == 0)
            pl_status_set(&st, rc, 0, NULL);
        w->cb(w->ctx, &st);
    }
}

static int dev_write(pl_drv_dev_t *d, void *req, const pl_drv_addr_t *a, const pl_tag_def_t *tag,
                     const pl_value_t *v, pl_drv_cb cb, void *ctx, pl_status_t *err)
{
    wreq_t *w = req;
    int rc;

    memset(w, 0, sizeof(*w));
    memcpy(&w->a, a->raw, sizeof(w->a));
    w->dev = d;
    w->cb = cb;
    w->ctx = ctx;
    w->swap = tag_swap(tag);
    rc = pl_value_text(v, w->a.kind == PL_TTCP_F, w->text, sizeof(w->text), err);
    if (rc < 0)
        return rc;
    if (w->a.kind == PL_TTCP_BIT) {
        rc = check(a, tag, v, err); /* fail now, not after the read */
        if (rc < 0)
            return rc;
        return pl_ttcp_read(d->cli, &w->req, d->node, w->a.offset, w->words,
                            pl_ttcp_addr_words(&w->a), bit_read_done);
    }
    rc = pl_ttcp_value_put(&w->a, w->words, 0, w->swap, w->text, strlen(w->text), err);
    if (rc < 0)
        return rc;
    return pl_ttcp_write(d->cli, &w->req, d->node, w->a.offset, w->words, pl_ttcp_addr_words(&w->a),
                         write_done);
}

static void rebind(pl_drv_dev_t *d, void *ud)
{
    d->ud = ud;
}

static void stats(const pl_drv_dev_t *d, pl_engine_stats_t *acc)
{
    const pl_ttcp_client_stats_t *cs = pl_ttcp_client_stats(d->cli);

    acc->requests += cs->requests;
    acc->responses += cs->responses;
    acc->timeouts += cs->timeouts;
    acc->unsolicited += cs->unsolicited;
    if (cs->last_rtt_us != 0)
        acc->last_rtt_us = cs->last_rtt_us;
}

static const pl_line_t *dev_line(const pl_drv_dev_t *d)
{
    return pl_ttcp_client_line(d->cli);
}

const pl_driver_t pl_driver_ttcp = {
    .name = "7ttcp",
    .unit_bytes = sizeof(uint16_t),
    .req_size = sizeof(anyreq_t),
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
    .batch = batch,
};
