/* SPDX-License-Identifier: MIT */
/*
 * The IEC 60870-5-104 driver for the scan engine: event-driven (the driver has `subscribe`).
 * One pl_iec104_client_t per device (common address `ca`); the engine never reads its tags:
 * every information object the station sends -- in the general interrogation's answer or
 * spontaneously -- is pushed to the tags whose address names its IOA, with the CP56Time2a
 * as source time and the quality descriptor as quality and flags. The client acknowledges
 * an I-frame only after its data callback returned, that is after every push of it returned.
 *
 * Tag addresses as `plcline read` takes them: IOA, or TYPE:IOA (M_ME_NC_1:1001; the type must
 * then match). A tag on a command type (C_SE_NC_1:5001) is written by sending the command;
 * the write completes once with its ACT_CON/ACT_TERM or the client's named error.
 */
#include "proto/iec104/drv_iec104.h"
#include "proto/driver.h"
#include "proto/registry.h"
#include "proto/iec104/codec/asdu.h"

#include "plcline/error.h"
#include "plcline/iec104_client.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPTIONS_TEXT PL_KEYS_MAX
#define IOA_MAX      16777215ul

extern const pl_protocol_t pl_protocol_iec104;

struct pl_drv_dev_s {
    pl_iec104_client_t *cli;
    uint16_t ca;
    pl_drv_link_cb link;
    void *ud;
    const pl_drv_addr_t **byioa; /* the engine's addresses (valid until the next subscribe),
                                    sorted by IOA: an object finds its tags by binary search */
    size_t naddrs;
    pl_drv_push_cb push;
    void *push_ud;
};

/* What addr_parse keeps in pl_drv_addr_t.raw. */
typedef struct {
    uint32_t ioa;
    int type; /* -1: any type */
} iaddr_t;

typedef struct {
    pl_iec104_cmd_t cmd;
    pl_drv_cb cb;
    void *ctx;
} wreq_t;

static int is_command(int type)
{
    return (type >= 45 && type <= 51) || (type >= 58 && type <= 64);
}

static int is_float(int type)
{
    return type == 9 || type == 13 || type == 34 || type == 36; /* normalized and float */
}

static int is_single(int type)
{
    return type == 1 || type == 30; /* M_SP_NA_1, M_SP_TB_1 */
}

static iaddr_t addr_of(const pl_drv_addr_t *a)
{
    iaddr_t ia;

    memcpy(&ia, a->raw, sizeof(ia));
    return ia;
}

void pl_iec104_drv_convert(const pl_iec104_point_t *p, pl_value_t *v, pl_drv_meta_t *meta)
{
    memset(v, 0, sizeof(*v));
    if (is_float(p->type)) {
        v->type = PL_VT_FLOAT;
        v->f = p->value;
    } else if (is_single(p->type)) {
        v->type = PL_VT_BOOL;
        v->i = p->raw != 0;
    } else {
        v->type = PL_VT_INT;
        v->i = p->raw;
    }
    memset(meta, 0, sizeof(*meta));
    /* an invalid time tag (its IV bit) is no source time */
    meta->source_ms = p->has_time && !p->time_iv && p->time_ms > 0 ? (uint64_t)p->time_ms : 0;
    meta->quality = PL_Q_GOOD;
    if (p->quality & PL_IEC104_Q_SB)
        meta->flags |= PL_QF_SUBSTITUTED;
    if (p->quality & PL_IEC104_Q_BL)
        meta->flags |= PL_QF_BLOCKED;
    if (p->quality & PL_IEC104_Q_OV)
        meta->flags |= PL_QF_OVERFLOW;
    if (p->quality & PL_IEC104_Q_NT) {
        meta->flags |= PL_QF_NOT_TOPICAL;
        meta->quality = PL_Q_UNCERTAIN;
    }
    if (p->quality & PL_IEC104_Q_IV) {
        meta->flags |= PL_QF_INVALID;
        meta->quality = PL_Q_BAD;
        meta->error = PL_EVALUE;
        meta->detail = "the station marked the value invalid (IV)";
    }
}

/* The first of the subscribed addresses with IOA `ioa`, or naddrs when there is none. */
static size_t first_of(const pl_drv_dev_t *d, uint32_t ioa)
{
    size_t lo = 0, hi = d->naddrs;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (addr_of(d->byioa[mid]).ioa < ioa)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < d->naddrs && addr_of(d->byioa[lo]).ioa == ioa ? lo : d->naddrs;
}

static int by_ioa(const void *a, const void *b)
{
    uint32_t x = addr_of(*(const pl_drv_addr_t *const *)a).ioa;
    uint32_t y = addr_of(*(const pl_drv_addr_t *const *)b).ioa;

    return x < y ? -1 : x > y;
}

static void push_point(pl_drv_dev_t *d, const pl_iec104_point_t *p)
{
    pl_drv_meta_t meta;
    pl_value_t v;
    size_t i;

    if (d->push == NULL)
        return;
    i = first_of(d, p->ioa);
    if (i == d->naddrs)
        return; /* no tag names it */
    pl_iec104_drv_convert(p, &v, &meta);
    for (; i < d->naddrs && d->push != NULL; i++) {
        iaddr_t ia = addr_of(d->byioa[i]);

        if (ia.ioa != p->ioa)
            break;
        if (ia.type >= 0 && ia.type != p->type && !is_command(ia.type))
            continue;
        d->push(d->push_ud, d->byioa[i], &v, &meta);
    }
}

static void on_data(pl_iec104_client_t *c, const pl_iec104_point_t *p, void *ud)
{
    pl_drv_dev_t *d = ud;

    (void)c;
    if (p->ca != d->ca)
        return;
    push_point(d, p);
}

static void on_link(pl_iec104_client_t *c, pl_iec104_link_t what, const pl_status_t *why, void *ud)
{
    pl_drv_dev_t *d = ud;
    pl_status_t st;

    (void)c;
    if (what == PL_IEC104_LINK_STARTED) {
        d->link(d->ud, NULL);
    } else if (what == PL_IEC104_LINK_DOWN) {
        if (why == NULL || why->code == 0) {
            pl_status_set(&st, PL_EIO, 0, "connection closed");
            why = &st;
        }
        d->link(d->ud, why);
    }
}

static int dev_new(uv_loop_t *loop, const pl_line_def_t *line, const pl_device_def_t *dev,
                   const pl_logger_t *log, pl_drv_link_cb link, void *ud, pl_drv_dev_t **out,
                   pl_status_t *err)
{
    pl_iec104_client_config_t cfg;
    char url[OPTIONS_TEXT + 32], opts[OPTIONS_TEXT], storage[64];
    pl_drv_dev_t *d;
    int rc, has_timeout;

    /* the line's keys are its `options`, the client's URL query keys */
    snprintf(opts, sizeof(opts), "%s", line->keys);
    snprintf(url, sizeof(url), "iec104://0.0.0.0%s%s", opts[0] != '\0' ? "?" : "", opts);
    pl_iec104_client_config_init(&cfg);
    rc = pl_iec104_client_config_url(&cfg, url, storage, sizeof(storage), err);
    if (rc < 0) {
        char detail[PL_STATUS_DETAIL_MAX] = "";

        if (err != NULL)
            memcpy(detail, err->detail, sizeof(detail));
        return pl_status_set(err, PL_ECONFIG, 0, "device '%.30s': options: %.60s", dev->name,
                             detail);
    }
    has_timeout = strstr(opts, "timeout=") == opts || strstr(opts, "&timeout=") != NULL;
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    cfg.line = line->line; /* hosts, redundancy, local address: the engine's line */
    if (cfg.line.port == 0)
        cfg.line.port = PL_IEC104_CLIENT_PORT;
    if (line->timeout_ms != 0 && !has_timeout)
        cfg.timeout_ms = line->timeout_ms;
    d->ca = (uint16_t)pl_protocol_uint(&pl_protocol_iec104, PL_KEYS_DEVICE, dev->keys, "ca");
    cfg.ca = d->ca;
    cfg.on_data = on_data;
    cfg.on_link = on_link;
    cfg.ud = d;
    cfg.log = log;
    d->link = link;
    d->ud = ud;
    rc = pl_iec104_client_new(loop, &cfg, &d->cli);
    if (rc < 0) {
        free(d);
        return pl_status_set(err, rc, 0, "device '%s': cannot create the IEC 104 client",
                             dev->name);
    }
    *out = d;
    return 0;
}

static void dev_free(pl_drv_dev_t *d)
{
    pl_iec104_client_free(d->cli);
    free(d->byioa);
    free(d);
}

static int dev_start(pl_drv_dev_t *d)
{
    return pl_iec104_client_start(d->cli);
}

static unsigned max_inflight(pl_drv_dev_t *d)
{
    (void)d;
    return 8; /* the client queues commands and sends them one at a time */
}

static int addr_parse(pl_drv_dev_t *d, const pl_tag_def_t *tag, pl_drv_addr_t *out,
                      pl_status_t *err)
{
    const char *s = tag->address, *colon = strchr(s, ':'), *num = colon != NULL ? colon + 1 : s;
    iaddr_t ia;
    unsigned long v;
    char *end;

    (void)d;
    ia.type = -1;
    if (colon != NULL) {
        char name[16];

        if ((size_t)(colon - s) >= sizeof(name))
            return pl_status_set(err, PL_EADDR, 0, "'%.40s': unknown type", s);
        memcpy(name, s, (size_t)(colon - s));
        name[colon - s] = '\0';
        ia.type = pl_iec104_type_of(name);
        if (ia.type < 0)
            return pl_status_set(err, PL_EADDR, 0, "'%.40s': unknown type '%s'", s, name);
    }
    if (*num < '0' || *num > '9')
        return pl_status_set(err, PL_EADDR, 0, "'%.40s': expected IOA or TYPE:IOA", s);
    v = strtoul(num, &end, 10);
    if (*end != '\0' || v < 1 || v > IOA_MAX)
        return pl_status_set(err, PL_EADDR, 0, "'%.40s': the IOA must be 1..%lu", s, IOA_MAX);
    ia.ioa = (uint32_t)v;
    memset(out, 0, sizeof(*out));
    out->area = 0;
    out->start = ia.ioa;
    out->len = 1;
    _Static_assert(sizeof(ia) <= sizeof(out->raw), "pl_drv_addr_t.raw");
    memcpy(out->raw, &ia, sizeof(ia));
    return 0;
}

static int to_command(const iaddr_t *ia, const pl_value_t *v, pl_iec104_cmd_t *cmd,
                      pl_status_t *err)
{
    memset(cmd, 0, sizeof(*cmd));
    if (!is_command(ia->type))
        return pl_status_set(err, PL_EVALUE, 0,
                             "IOA %" PRIu32 " is not a command point (write to TYPE:IOA with a "
                             "command type, e.g. C_SE_NC_1:%" PRIu32 ")",
                             ia->ioa, ia->ioa);
    cmd->type = (uint8_t)ia->type;
    cmd->ioa = ia->ioa;
    switch (v->type) {
    case PL_VT_FLOAT:
        cmd->value = v->f;
        break;
    case PL_VT_BOOL:
    case PL_VT_INT:
        cmd->value = (double)v->i;
        break;
    default:
        return pl_status_set(err, PL_EVALUE, 0, "a number is expected");
    }
    return 0;
}

static int check(const pl_drv_addr_t *a, const pl_tag_def_t *tag, const pl_value_t *v,
                 pl_status_t *err)
{
    iaddr_t ia = addr_of(a);
    pl_iec104_cmd_t cmd;

    (void)tag;
    return to_command(&ia, v, &cmd, err);
}

static void write_done(pl_iec104_cmd_t *cmd)
{
    wreq_t *w = cmd->data;

    w->cb(w->ctx, &cmd->status);
}

static int dev_write(pl_drv_dev_t *d, void *req, const pl_drv_addr_t *a, const pl_tag_def_t *tag,
                     const pl_value_t *v, pl_drv_cb cb, void *ctx, pl_status_t *err)
{
    wreq_t *w = req;
    iaddr_t ia = addr_of(a);
    int rc;

    (void)tag;
    rc = to_command(&ia, v, &w->cmd, err);
    if (rc < 0)
        return rc;
    w->cb = cb;
    w->ctx = ctx;
    w->cmd.cb = write_done;
    w->cmd.data = w;
    rc = pl_iec104_command(d->cli, &w->cmd);
    if (rc < 0)
        return pl_status_set(err, PL_EVALUE, 0, "%.40s does not fit %s", "the value",
                             pl_iec104_type_str(w->cmd.type));
    return 0;
}

static void rebind(pl_drv_dev_t *d, void *ud)
{
    d->ud = ud;
}

static void stats(const pl_drv_dev_t *d, pl_engine_stats_t *acc)
{
    const pl_iec104_client_stats_t *cs = pl_iec104_client_stats(d->cli);

    acc->requests += cs->commands + cs->interrogations;
    acc->responses += cs->commands_ok + cs->commands_failed + cs->gi_done;
    acc->unsolicited += cs->objects;
    acc->switchovers += cs->switchovers; /* parallel: the client's own, its lines count none */
}

static const pl_line_t *dev_line(const pl_drv_dev_t *d)
{
    return pl_iec104_client_line(d->cli);
}

/* A second subscription comes from a reloaded engine that kept the connection: its tags
 * that the old engine did not have (or had at another address) would wait for their
 * point's next change, so the station is interrogated at once when it is started (the
 * kept tags start with their last values, and the interrogation confirms them). */
static int subscribe(pl_drv_dev_t *d, const pl_drv_addr_t *const *addrs, size_t n,
                     pl_drv_push_cb push, void *ud, pl_status_t *err)
{
    const pl_drv_addr_t **sorted = NULL;
    int again = d->push != NULL;

    if (n > 0) {
        sorted = malloc(n * sizeof(*sorted));
        if (sorted == NULL)
            return pl_status_set(err, PL_ENOMEM, 0, NULL);
        memcpy(sorted, addrs, n * sizeof(*sorted));
        qsort(sorted, n, sizeof(*sorted), by_ioa);
    }
    free(d->byioa);
    d->byioa = sorted;
    d->naddrs = n;
    d->push = push;
    d->push_ud = ud;
    if (again && n > 0 && pl_iec104_client_started(d->cli))
        (void)pl_iec104_client_interrogate(d->cli); /* not started: the start interrogates */
    return 0;
}

const pl_driver_t pl_driver_iec104 = {
    .name = "iec104",
    .unit_bytes = 1,
    .req_size = sizeof(wreq_t),
    .dev_new = dev_new,
    .dev_free = dev_free,
    .dev_start = dev_start,
    .max_inflight = max_inflight,
    .addr_parse = addr_parse,
    .check = check,
    .write = dev_write,
    .rebind = rebind,
    .stats = stats,
    .line = dev_line,
    .subscribe = subscribe,
};
