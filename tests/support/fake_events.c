/* SPDX-License-Identifier: MIT */
/*
 * A test driver for event-driven devices (fake_events.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_events.h"
#include "plcline/error.h"

pl_drv_dev_t *fake_events_dev;

static int fk_dev_new(uv_loop_t *loop, const pl_line_def_t *line, const pl_device_def_t *dev,
                      const pl_logger_t *log, pl_drv_link_cb link, void *ud, pl_drv_dev_t **out,
                      pl_status_t *err)
{
    pl_drv_dev_t *d = calloc(1, sizeof(*d));

    (void)loop, (void)line, (void)dev, (void)log;
    if (d == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    d->link = link;
    d->link_ud = ud;
    *out = d;
    fake_events_dev = d;
    return 0;
}

static void fk_dev_free(pl_drv_dev_t *d)
{
    pl_status_t st;
    size_t i;

    pl_status_set(&st, PL_ECANCELED, 0, "closed");
    for (i = 0; i < d->nw; i++)
        d->w[i].cb(d->w[i].ctx, &st);
    if (fake_events_dev == d)
        fake_events_dev = NULL;
    free(d);
}

static int fk_dev_start(pl_drv_dev_t *d)
{
    d->starts++;
    return 0;
}

static unsigned fk_max_inflight(pl_drv_dev_t *d)
{
    (void)d;
    return 4;
}

/* Addresses are decimal numbers, kept in raw[0..3]. */
static int fk_addr_parse(pl_drv_dev_t *d, const pl_tag_def_t *tag, pl_drv_addr_t *out,
                         pl_status_t *err)
{
    char *end;
    unsigned long n = strtoul(tag->address, &end, 10);
    uint32_t v = (uint32_t)n;

    (void)d;
    if (end == tag->address || *end != '\0')
        return pl_status_set(err, PL_EADDR, 0, "'%s' is not a number", tag->address);
    memset(out, 0, sizeof(*out));
    out->len = 1;
    memcpy(out->raw, &v, sizeof(v));
    return 0;
}

static int fk_check(const pl_drv_addr_t *a, const pl_tag_def_t *tag, const pl_value_t *v,
                    pl_status_t *err)
{
    (void)a, (void)tag;
    if (v->type != PL_VT_INT)
        return pl_status_set(err, PL_EVALUE, 0, "an integer is expected");
    return 0;
}

static int fk_write(pl_drv_dev_t *d, void *req, const pl_drv_addr_t *a, const pl_tag_def_t *tag,
                    const pl_value_t *v, pl_drv_cb cb, void *ctx, pl_status_t *err)
{
    (void)req, (void)a, (void)tag;
    if (d->nw == FAKE_EVENTS_MAX_WRITES)
        return pl_status_set(err, PL_EBUSY, 0, NULL);
    d->w[d->nw].cb = cb;
    d->w[d->nw].ctx = ctx;
    d->w[d->nw].value = v->i;
    d->nw++;
    return 0;
}

static void fk_rebind(pl_drv_dev_t *d, void *ud)
{
    d->link_ud = ud;
}

static void fk_stats(const pl_drv_dev_t *d, pl_engine_stats_t *acc)
{
    (void)d, (void)acc;
}

static int fk_subscribe(pl_drv_dev_t *d, const pl_drv_addr_t *const *addrs, size_t n,
                        pl_drv_push_cb push, void *ud, pl_status_t *err)
{
    (void)err;
    assert_true(d->starts == 0 || d->subscribes > 0); /* first before dev_start */
    d->addrs = addrs;
    d->naddrs = n;
    d->push = push;
    d->push_ud = ud;
    d->subscribes++;
    return 0;
}

static const pl_driver_t fk_driver = {
    .name = "fakeevents",
    .req_size = 8,
    .dev_new = fk_dev_new,
    .dev_free = fk_dev_free,
    .dev_start = fk_dev_start,
    .max_inflight = fk_max_inflight,
    .addr_parse = fk_addr_parse,
    .check = fk_check,
    .write = fk_write,
    .rebind = fk_rebind,
    .stats = fk_stats,
    .subscribe = fk_subscribe,
};

const pl_protocol_t fake_events_protocol = {
    .name = "fakeevents",
    .scheme = "fakeevents",
    .title = "test events",
    .port = 1,
    .driver = &fk_driver,
};

/* The address the engine handed over for the tag with address `n`. */
const pl_drv_addr_t *fake_events_addr(uint32_t n)
{
    size_t i;

    assert_non_null(fake_events_dev);
    for (i = 0; i < fake_events_dev->naddrs; i++)
        if (memcmp(fake_events_dev->addrs[i]->raw, &n, sizeof(n)) == 0)
            return fake_events_dev->addrs[i];
    fail_msg("no tag with address %u", n);
    return NULL;
}

void fake_events_push_int(uint32_t addr, int64_t v, const pl_drv_meta_t *meta)
{
    pl_value_t raw;

    memset(&raw, 0, sizeof(raw));
    raw.type = PL_VT_INT;
    raw.i = v;
    fake_events_dev->push(fake_events_dev->push_ud, fake_events_addr(addr), &raw, meta);
}
