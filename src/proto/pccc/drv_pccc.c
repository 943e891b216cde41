/* SPDX-License-Identifier: MIT */
/*
 * The PCCC driver for the scan engine: one pl_pccc_client_t per device, tag addresses in the
 * A-B grammar (N7:0, F8:1, B3:0/5, T4:0.ACC, ST9:0, I:1.0/3; docs/pccc.md).
 *
 * Planner units are 16-bit WORDS, not elements: the engine has one unit size per driver, and
 * files hold elements of 2 (N, B, S, A, I/O), 4 (F, L), 6 (T, C, R) or 84 (ST) bytes. In
 * words, every element is a whole number of units, a timer member (T4:0.ACC = word 2 of
 * element 0) is one unit of its own, and a bit is the unit of its word. Areas keep files
 * apart: area = file type << 16 | file number (I/O: | slot << 24, words within the slot).
 * A block read is widened to whole elements (the PLC is asked for elements), read into the
 * request's own buffer and the block's words copied out, so blocks may start or end inside
 * an element (T4:0.ACC .. T4:1.PRE).
 *
 * Line options ("plc=slc500&service=4b&path=1,0") and device options ("dst=2&src=5") are
 * the pccc:// URL keys; a device key replaces the line's. Writes: bits as masked writes (the
 * client), whole timers/counters/controls read first so fields not given keep their value.
 */
#include "proto/driver.h"

#include "proto/pccc/codec/pccc_addr.h"
#include "plcline/error.h"
#include "plcline/pccc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNIT         2u    /* bytes: planner units are words */
#define WIDE_BYTES   1024u /* a block widened to whole elements */
#define OPTIONS_TEXT 600u

struct pl_drv_dev_s {
    pl_pccc_client_t *cli;
    unsigned max_bytes, inflight;
    pl_drv_link_cb link;
    void *ud;
};

typedef struct {
    pl_pccc_req_t req;
    pl_drv_cb cb;
    void *ctx;
    uint8_t *out;       /* the block's buffer */
    uint32_t skip, len; /* words of the widened read before the block; block words */
    uint8_t wide[WIDE_BYTES];
} rreq_t;

typedef struct {
    pl_pccc_req_t req;
    pl_drv_dev_t *dev;
    pl_drv_cb cb;
    void *ctx;
    pl_pccc_addr_t a;
    char addr[64];
    char text[PL_VALUE_STRING_MAX];
    uint8_t buf[PL_PCCC_STRING_BYTES];
} wreq_t;

typedef union {
    rreq_t r;
    wreq_t w;
} anyreq_t;

/* The bytes of one element of a file type. */
static uint32_t elem_bytes(uint8_t type)
{
    switch (type) {
    case PL_PCCC_FT_FLOAT:
    case PL_PCCC_FT_LONG:
        return 4;
    case PL_PCCC_FT_TIMER:
    case PL_PCCC_FT_COUNTER:
    case PL_PCCC_FT_CONTROL:
        return PL_PCCC_STRUCT_BYTES;
    case PL_PCCC_FT_STRING:
        return PL_PCCC_STRING_BYTES;
    default:
        return 2;
    }
}

static const char *letters(uint8_t type)
{
    switch (type) {
    case PL_PCCC_FT_OUTPUT:
        return "O";
    case PL_PCCC_FT_INPUT:
        return "I";
    case PL_PCCC_FT_STATUS:
        return "S";
    case PL_PCCC_FT_BIT:
        return "B";
    case PL_PCCC_FT_TIMER:
        return "T";
    case PL_PCCC_FT_COUNTER:
        return "C";
    case PL_PCCC_FT_CONTROL:
        return "R";
    case PL_PCCC_FT_FLOAT:
        return "F";
    case PL_PCCC_FT_STRING:
        return "ST";
    case PL_PCCC_FT_ASCII:
        return "A";
    case PL_PCCC_FT_LONG:
        return "L";
    default:
        return "N";
    }
}

static int is_io(uint8_t type)
{
    return type == PL_PCCC_FT_INPUT || type == PL_PCCC_FT_OUTPUT;
}

static void on_link(pl_pccc_client_t *c, const pl_status_t *st, void *ud)
{
    pl_drv_dev_t *d = ud;

    (void)c;
    d->link(d->ud, st);
}

/* Appends the key=value items of `opts` to `out` (at *n), leaving out keys `skip` has. */
static void merge(char *out, size_t cap, size_t *n, const char *opts, const char *skip)
{
    const char *p = opts;

    while (*p != '\0') {
        size_t len = strcspn(p, "&"), klen = strcspn(p, "=&");
        int dup = 0;
        const char *q = skip;

        while (q != NULL && *q != '\0') {
            size_t ql = strcspn(q, "=&");

            if (ql == klen && strncmp(q, p, klen) == 0)
                dup = 1;
            q += strcspn(q, "&");
            if (*q == '&')
                q++;
        }
        if (len > 0 && !dup && *n + len + 2 < cap) {
            if (*n > 0)
                out[(*n)++] = '&';
            memcpy(out + *n, p, len);
            *n += len;
            out[*n] = '\0';
        }
        p += len;
        if (*p == '&')
            p++;
    }
}

/* 1 when the key=value list `opts` has `key`. */
static int has_key(const char *opts, const char *key)
{
    const char *p = opts;
    size_t kl = strlen(key);

    while (*p != '\0') {
        if (strcspn(p, "=&") == kl && strncmp(p, key, kl) == 0)
            return 1;
        p += strcspn(p, "&");
        if (*p == '&')
            p++;
    }
    return 0;
}

static pl_pccc_proc_t proc_of(pl_pccc_plc_t plc)
{
    switch (plc) {
    case PL_PCCC_PLC_SLC500:
        return PL_PCCC_PROC_SLC500;
    case PL_PCCC_PLC_MICROLOGIX:
        return PL_PCCC_PROC_MICROLOGIX;
    case PL_PCCC_PLC_PLC5:
        return PL_PCCC_PROC_PLC5;
    case PL_PCCC_PLC_LOGIX:
        return PL_PCCC_PROC_LOGIX;
    }
    return PL_PCCC_PROC_UNKNOWN;
}

static int dev_new(uv_loop_t *loop, const pl_line_def_t *line, const pl_device_def_t *dev,
                   const pl_logger_t *log, pl_drv_link_cb link, void *ud, pl_drv_dev_t **out,
                   pl_status_t *err)
{
    pl_pccc_client_config_t cfg, opt;
    char url[OPTIONS_TEXT + 32], opts[OPTIONS_TEXT], storage[64];
    size_t n = 0;
    pl_drv_dev_t *d;
    int rc;

    opts[0] = '\0';
    merge(opts, sizeof(opts), &n, line->keys, dev->keys);
    merge(opts, sizeof(opts), &n, dev->keys, NULL);
    snprintf(url, sizeof(url), "pccc://0.0.0.0%s%s", opts[0] != '\0' ? "?" : "", opts);
    pl_pccc_client_config_init(&opt);
    rc = pl_pccc_client_config_url(&opt, url, storage, sizeof(storage), err);
    if (rc < 0) {
        char detail[PL_STATUS_DETAIL_MAX] = "";

        if (err != NULL)
            memcpy(detail, err->detail, sizeof(detail));
        return pl_status_set(err, PL_ECONFIG, 0, "device '%.30s': options: %.60s", dev->name,
                             detail);
    }
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    cfg = opt;
    cfg.line = line->line; /* hosts, redundancy, local address: the engine's line */
    if (cfg.line.port == 0)
        cfg.line.port = PL_ENIP_PORT;
    if (line->timeout_ms != 0 && !has_key(opts, "timeout"))
        cfg.timeout_ms = line->timeout_ms;
    cfg.on_link = on_link;
    cfg.ud = d;
    cfg.log = log;
    d->inflight = cfg.inflight != 0 ? cfg.inflight : 1;
    d->max_bytes = cfg.max_bytes;
    if (d->max_bytes == 0)
        d->max_bytes = (unsigned)pl_pccc_max_bytes(proc_of(cfg.plc));
    d->link = link;
    d->ud = ud;
    rc = pl_pccc_client_new(loop, &cfg, &d->cli);
    if (rc < 0) {
        free(d);
        return pl_status_set(err, rc, 0, "device '%s': cannot create the PCCC client", dev->name);
    }
    *out = d;
    return 0;
}

static void dev_free(pl_drv_dev_t *d)
{
    pl_pccc_client_free(d->cli);
    free(d);
}

static int dev_start(pl_drv_dev_t *d)
{
    return pl_pccc_client_start(d->cli);
}

static void limits(pl_drv_dev_t *d, pl_plan_limits_t *lim)
{
    lim->max_len = d->max_bytes / UNIT;
}

static unsigned max_inflight(pl_drv_dev_t *d)
{
    return d->inflight; /* replies are matched by TNS */
}

static int addr_parse(pl_drv_dev_t *d, const pl_tag_def_t *tag, pl_drv_addr_t *out,
                      pl_status_t *err)
{
    pl_pccc_addr_t a;
    uint32_t wpe;
    int rc;

    (void)d;
    rc = pl_pccc_addr_parse(&a, tag->address, err);
    if (rc < 0)
        return rc;
    if (a.count != 1)
        return pl_status_set(err, PL_EADDR, 0, "'%s': a tag holds one value, not %" PRIu32,
                             tag->address, a.count);
    _Static_assert(sizeof(a) <= sizeof(out->raw), "pl_drv_addr_t.raw");
    memset(out, 0, sizeof(*out));
    out->area = (uint32_t)a.file_type << 16 | a.file;
    wpe = elem_bytes(a.file_type) / UNIT;
    if (is_io(a.file_type)) {
        out->area |= (uint32_t)(a.element & 0xFFu) << 24;
        out->start = a.sub;
        out->len = 1;
    } else if (a.member) {
        out->start = a.element * wpe + a.sub;
        out->len = 1;
    } else if (a.bit >= 0) {
        out->start = a.element * (a.elem_size / UNIT);
        out->len = a.elem_size / UNIT;
    } else {
        out->start = a.element * wpe;
        out->len = wpe;
    }
    memcpy(out->raw, &a, sizeof(a));
    return 0;
}

static void read_done(pl_pccc_req_t *req)
{
    rreq_t *r = (rreq_t *)req;

    if (req->status.code == 0)
        memcpy(r->out, r->wide + (size_t)r->skip * UNIT, (size_t)r->len * UNIT);
    r->cb(r->ctx, &req->status);
}

static int dev_read(pl_drv_dev_t *d, void *req, uint32_t area, uint32_t start, uint32_t len,
                    void *buf, pl_drv_cb cb, void *ctx)
{
    rreq_t *r = req;
    uint8_t type = (uint8_t)(area >> 16);
    uint16_t file = (uint16_t)(area & 0xFFFFu);
    uint32_t wpe = elem_bytes(type) / UNIT, first, count;
    char addr[64];

    r->cb = cb;
    r->ctx = ctx;
    r->out = buf;
    r->len = len;
    if (is_io(type)) { /* words of one slot */
        first = start;
        count = len;
        r->skip = 0;
        snprintf(addr, sizeof(addr), "%s%u:%u.%" PRIu32 ",%" PRIu32, letters(type), file,
                 area >> 24, first, count);
    } else { /* whole elements */
        first = start / wpe;
        count = (start + len - 1) / wpe - first + 1;
        r->skip = start - first * wpe;
        snprintf(addr, sizeof(addr), "%s%u:%" PRIu32 ",%" PRIu32, letters(type), file, first,
                 count);
    }
    if ((uint64_t)count * wpe * UNIT > sizeof(r->wide) && !is_io(type))
        return PL_ERANGE;
    if ((uint64_t)count * UNIT > sizeof(r->wide))
        return PL_ERANGE;
    return pl_pccc_read(d->cli, &r->req, addr, r->wide, sizeof(r->wide), read_done);
}

static void decode(const pl_drv_addr_t *a, const pl_tag_def_t *tag, const void *buf,
                   uint32_t block_start, pl_value_t *out)
{
    pl_pccc_addr_t pa;
    pl_pccc_value_t v;
    const uint8_t *p = (const uint8_t *)buf + (size_t)(a->start - block_start) * UNIT;

    (void)tag;
    memcpy(&pa, a->raw, sizeof(pa));
    memset(out, 0, sizeof(*out));
    if (pl_pccc_value_get(&pa, p, (size_t)a->len * UNIT, 0, &v) < 0)
        return;
    switch (v.kind) {
    case PL_PCCC_V_BIT:
        out->type = PL_VT_BOOL;
        out->i = v.i != 0;
        break;
    case PL_PCCC_V_INT16:
    case PL_PCCC_V_INT32:
        out->type = PL_VT_INT;
        out->i = v.i;
        break;
    case PL_PCCC_V_FLOAT:
        out->type = PL_VT_FLOAT;
        out->f = (double)v.f;
        break;
    case PL_PCCC_V_STRING:
    case PL_PCCC_V_ASCII:
    case PL_PCCC_V_TIMER:
    case PL_PCCC_V_COUNTER:
    case PL_PCCC_V_CONTROL:
        out->type = PL_VT_STRING;
        if (v.kind == PL_PCCC_V_STRING || v.kind == PL_PCCC_V_ASCII) {
            size_t n = v.len < sizeof(out->s) ? v.len : sizeof(out->s) - 1;

            memcpy(out->s, v.text, n);
            out->s[n] = '\0';
            out->len = n; /* the PLC's bytes, NUL bytes included */
        } else if (pl_pccc_value_format(&v, out->s, sizeof(out->s)) < 0) {
            out->s[0] = '\0';
        }
        break;
    }
}

static int is_struct(const pl_pccc_addr_t *a)
{
    return a->kind == PL_PCCC_V_TIMER || a->kind == PL_PCCC_V_COUNTER ||
           a->kind == PL_PCCC_V_CONTROL;
}

static int check(const pl_drv_addr_t *a, const pl_tag_def_t *tag, const pl_value_t *v,
                 pl_status_t *err)
{
    pl_pccc_addr_t pa;
    uint8_t probe[PL_PCCC_STRING_BYTES];
    char text[PL_VALUE_STRING_MAX];
    int rc;

    (void)tag;
    memcpy(&pa, a->raw, sizeof(pa));
    memset(probe, 0, sizeof(probe));
    rc = pl_value_text(v, pa.kind == PL_PCCC_V_FLOAT, text, sizeof(text), err);
    if (rc < 0)
        return rc;
    return pl_pccc_value_parse(&pa, probe, sizeof(probe), 0, text, strlen(text), err);
}

static void write_done(pl_pccc_req_t *req)
{
    wreq_t *w = (wreq_t *)req;

    w->cb(w->ctx, &req->status);
}

/* Whole structure, step 2: the element was read; put the given fields and write it. */
static void struct_read_done(pl_pccc_req_t *req)
{
    wreq_t *w = (wreq_t *)req;
    pl_status_t st;
    int rc;

    if (req->status.code != 0) {
        w->cb(w->ctx, &req->status);
        return;
    }
    pl_status_clear(&st);
    rc = pl_pccc_value_parse(&w->a, w->buf, sizeof(w->buf), 0, w->text, strlen(w->text), &st);
    if (rc == 0)
        rc = pl_pccc_write(w->dev->cli, &w->req, w->addr, w->buf, pl_pccc_addr_bytes(&w->a),
                           write_done);
    if (rc < 0) {
        if (st.code == 0)
            st = w->req.status.code != 0 ? w->req.status : st;
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
    if (pl_pccc_addr_format(&w->a, w->addr, sizeof(w->addr)) < 0)
        return pl_status_set(err, PL_EADDR, 0, "'%s': address too long", tag->address);
    rc = pl_value_text(v, w->a.kind == PL_PCCC_V_FLOAT, w->text, sizeof(w->text), err);
    if (rc < 0)
        return rc;
    rc = check(a, tag, v, err); /* fail now, not after a read */
    if (rc < 0)
        return rc;
    if (is_struct(&w->a)) {
        rc = pl_pccc_read(d->cli, &w->req, w->addr, w->buf, sizeof(w->buf), struct_read_done);
    } else {
        rc = pl_pccc_value_parse(&w->a, w->buf, sizeof(w->buf), 0, w->text, strlen(w->text), err);
        if (rc < 0)
            return rc;
        rc = pl_pccc_write(d->cli, &w->req, w->addr, w->buf, pl_pccc_addr_bytes(&w->a), write_done);
    }
    if (rc < 0 && err != NULL && w->req.status.code != 0)
        *err = w->req.status;
    return rc;
}

static void rebind(pl_drv_dev_t *d, void *ud)
{
    d->ud = ud;
}

static void stats(const pl_drv_dev_t *d, pl_engine_stats_t *acc)
{
    const pl_pccc_client_stats_t *cs = pl_pccc_client_stats(d->cli);

    acc->requests += cs->requests;
    acc->responses += cs->responses;
    acc->timeouts += cs->timeouts;
    if (cs->last_rtt_us != 0)
        acc->last_rtt_us = cs->last_rtt_us;
}

static const pl_line_t *dev_line(const pl_drv_dev_t *d)
{
    return pl_pccc_client_line(d->cli);
}

const pl_driver_t pl_driver_pccc = {
    .name = "pccc",
    .unit_bytes = UNIT,
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
};
