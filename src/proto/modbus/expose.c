/* SPDX-License-Identifier: MIT */
/*
 * Tags of other devices served by the Modbus server (expose.h).
 *
 * The points are kept sorted by (unit, table, first element) and may not overlap, so the
 * points a request touches are found by a binary search and a short walk, whatever their
 * number. A point's elements live in the server's own tables: a value is encoded into them
 * with pl_modbus_server_set (which calls no write callback), and a client's write is read
 * back from them with pl_modbus_server_get.
 */
#include "proto/modbus/expose.h"

#include "plcline/error.h"
#include "proto/modbus/codec/modbus.h"
#include "proto/modbus/codec/modbus_addr.h"
#include "proto/modbus/modbus_value.h"
#include "proto/modbus/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNITS_MAX 256u

extern const pl_protocol_t pl_protocol_modbus; /* modbus_protocol.c */

typedef struct {
    pl_modbus_addr_t a;
    uint32_t first, n; /* elements of its table: first .. first + n - 1 */
    uint8_t unit, table, writable, bad;
} point_t;

struct pl_modbus_expose_s {
    pl_modbus_server_t *s;
    point_t *p;       /* in the order given: the index is the daemon's */
    uint32_t *sorted; /* indexes into p, by (unit, table, first) */
    size_t n;
    pl_modbus_order_t order;
    uint8_t bad_exception; /* 0: a bad value keeps the last value served */
    pl_sim_write_cb on_write;
    void *ud;
};

/* A key of a point's place: unit, table, first element, in one comparable number. */
static uint64_t place(unsigned unit, unsigned table, uint32_t first)
{
    return ((uint64_t)unit << 40) | ((uint64_t)table << 32) | first;
}

static const point_t *sorted_at(const pl_modbus_expose_t *x, size_t k)
{
    return &x->p[x->sorted[k]];
}

typedef struct {
    uint64_t key;
    uint32_t idx;
} keyed_t;

static int by_key(const void *a, const void *b)
{
    uint64_t ka = ((const keyed_t *)a)->key, kb = ((const keyed_t *)b)->key;

    return ka < kb ? -1 : ka > kb;
}

/* x->sorted: the points by (unit, table, first element). */
static int sort_points(pl_modbus_expose_t *x)
{
    keyed_t *k = malloc(x->n * sizeof(*k));
    size_t i;

    if (k == NULL)
        return PL_ENOMEM;
    for (i = 0; i < x->n; i++) {
        k[i].key = place(x->p[i].unit, x->p[i].table, x->p[i].first);
        k[i].idx = (uint32_t)i;
    }
    qsort(k, x->n, sizeof(*k), by_key);
    for (i = 0; i < x->n; i++)
        x->sorted[i] = k[i].idx;
    free(k);
    return 0;
}

/* The first position in x->sorted whose point ends after `first` in (unit, table). */
static size_t lower(const pl_modbus_expose_t *x, unsigned unit, unsigned table, uint32_t first)
{
    size_t lo = 0, hi = x->n;
    uint64_t key = place(unit, table, first);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const point_t *p = sorted_at(x, mid);

        if (place(p->unit, p->table, p->first + p->n - 1u) < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static uint8_t on_access(void *ud, uint8_t unit, pl_modbus_table_id_t table, uint16_t first,
                         unsigned count, int write)
{
    const pl_modbus_expose_t *x = ud;
    size_t k;

    for (k = lower(x, unit, (unsigned)table, first); k < x->n; k++) {
        const point_t *p = sorted_at(x, k);

        if (p->unit != unit || p->table != (uint8_t)table || p->first >= (uint32_t)first + count)
            break;
        if (write && !p->writable)
            return PL_MODBUS_EX_ILLEGAL_DATA_ADDRESS;
        if (!write && p->bad && x->bad_exception != 0)
            return x->bad_exception;
    }
    return 0;
}

/* The point's elements as they travel: registers big-endian, bits packed LSB first. */
static int load(const pl_modbus_expose_t *x, const point_t *p, uint8_t *data, size_t cap)
{
    uint16_t el[PL_MODBUS_STR_MAX / 2u + 4u];
    uint32_t i;

    if (p->n > sizeof(el) / sizeof(el[0]) || (size_t)p->n * 2u > cap)
        return PL_ENOBUFS;
    if (pl_modbus_server_get(x->s, p->unit, (pl_modbus_table_id_t)p->table, (uint16_t)p->first, el,
                             p->n) < 0)
        return PL_EINVAL;
    memset(data, 0, cap);
    for (i = 0; i < p->n; i++) {
        if (pl_modbus_table_bits(p->a.table)) {
            if (el[i] != 0)
                data[i / 8u] |= (uint8_t)(1u << (i % 8u));
        } else {
            data[2u * i] = (uint8_t)(el[i] >> 8);
            data[2u * i + 1u] = (uint8_t)el[i];
        }
    }
    return 0;
}

static int store(pl_modbus_expose_t *x, const point_t *p, const uint8_t *data)
{
    uint16_t el[PL_MODBUS_STR_MAX / 2u + 4u];
    uint32_t i;

    for (i = 0; i < p->n; i++)
        el[i] = pl_modbus_table_bits(p->a.table)
                    ? (uint16_t)((data[i / 8u] >> (i % 8u)) & 1u)
                    : (uint16_t)(data[2u * i] << 8 | data[2u * i + 1u]);
    return pl_modbus_server_set(x->s, p->unit, (pl_modbus_table_id_t)p->table, (uint16_t)p->first,
                                el, p->n);
}

static void on_write(pl_modbus_server_t *s, uint8_t unit, pl_modbus_table_id_t table,
                     uint16_t first, unsigned count, void *ud)
{
    pl_modbus_expose_t *x = ud;
    uint8_t data[PL_MODBUS_STR_MAX + 8];
    size_t k;

    (void)s;
    for (k = lower(x, unit, (unsigned)table, first); k < x->n; k++) {
        const point_t *p = sorted_at(x, k);
        pl_modbus_value_t mv;
        pl_value_t v;

        if (p->unit != unit || p->table != (uint8_t)table || p->first >= (uint32_t)first + count)
            break;
        if (!p->writable || load(x, p, data, sizeof(data)) < 0 ||
            pl_modbus_value_get(&p->a, data, sizeof(data), 0, x->order, &mv) < 0)
            continue;
        pl_modbus_value_to(&mv, &v);
        x->on_write(x->ud, (size_t)(p - x->p), &v);
    }
}

/* The units a server serves (the `units` key, default 1), as a set. */
static void served_units(const char *keys, uint8_t set[UNITS_MAX / 8u], int *first)
{
    char list[PL_KEYS_MAX], *q = list;

    memset(set, 0, UNITS_MAX / 8u);
    *first = -1;
    if (!pl_keys_get(keys, "units", list, sizeof(list)))
        snprintf(list, sizeof(list), "1");
    for (;;) {
        unsigned long u = strtoul(q, &q, 10);

        if (u < UNITS_MAX) {
            set[u / 8u] |= (uint8_t)(1u << (u % 8u));
            if (*first < 0 || (int)u < *first)
                *first = (int)u;
        }
        if (*q != ',')
            break;
        q++;
    }
}

static int point_parse(const pl_sim_point_t *sp, const uint8_t units[UNITS_MAX / 8u],
                       int first_unit, point_t *p, pl_status_t *err)
{
    long unit = sp->station < 0 ? first_unit : sp->station;
    int rc;

    memset(p, 0, sizeof(*p));
    if ((rc = pl_modbus_addr_parse(&p->a, sp->address, 0, err)) < 0)
        return rc;
    if (p->a.count != 1)
        return pl_status_set(err, PL_EADDR, 0,
                             "'%s': one element per exposed tag, expected no ',count'",
                             sp->address);
    if (unit < 0 || unit >= (long)UNITS_MAX || !(units[unit / 8] & (1u << (unit % 8))))
        return pl_status_set(err, PL_ECONFIG, 0,
                             "'%s': unit %ld is not served, expected one of its 'units'",
                             sp->address, unit);
    if (sp->writable && !pl_modbus_table_writable(p->a.table))
        return pl_status_set(err, PL_ECONFIG, 0,
                             "'%s': %s are read-only, expected a coil or holding register",
                             sp->address, pl_modbus_table_name(p->a.table));
    p->unit = (uint8_t)unit;
    p->table = (uint8_t)p->a.table;
    p->first = p->a.addr;
    p->n = pl_modbus_addr_units(&p->a);
    p->writable = sp->writable != 0;
    return 0;
}

int pl_modbus_expose(pl_modbus_server_t *s, const char *keys, const pl_sim_point_t *pts, size_t n,
                     pl_sim_write_cb on_write_cb, void *ud, pl_modbus_expose_t **out, size_t *bad,
                     pl_status_t *err)
{
    pl_modbus_expose_t *x;
    uint8_t units[UNITS_MAX / 8u];
    char word[16];
    int first_unit, rc = 0;
    size_t i;

    if (n > UINT32_MAX)
        return pl_status_set(err, PL_ECONFIG, 0, "too many exposed tags");
    x = calloc(1, sizeof(*x));
    if (x == NULL || (n > 0 && ((x->p = calloc(n, sizeof(*x->p))) == NULL ||
                                (x->sorted = calloc(n, sizeof(*x->sorted))) == NULL))) {
        pl_modbus_expose_free(x);
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    }
    x->n = n;
    x->on_write = on_write_cb;
    x->ud = ud;
    x->bad_exception =
        (uint8_t)pl_protocol_uint(&pl_protocol_modbus, PL_KEYS_SIM, keys, "bad_exception");
    if (pl_keys_get(keys, "byte_order", word, sizeof(word)))
        (void)pl_modbus_order_parse(word, strlen(word), &x->order); /* checked with the keys */
    served_units(keys, units, &first_unit);
    for (i = 0; i < n && rc == 0; i++) {
        rc = point_parse(&pts[i], units, first_unit, &x->p[i], err);
        if (rc < 0)
            *bad = i;
    }
    if (rc == 0 && n > 0 && sort_points(x) < 0)
        rc = pl_status_set(err, PL_ENOMEM, 0, NULL);
    if (rc == 0) {
        for (i = 1; i < n && rc == 0; i++) {
            const point_t *a = sorted_at(x, i - 1), *b = sorted_at(x, i);

            if (a->unit == b->unit && a->table == b->table && a->first + a->n > b->first) {
                *bad = x->sorted[i];
                rc = pl_status_set(err, PL_ECONFIG, 0,
                                   "'%s' overlaps '%s' (unit %u), expected elements of its own",
                                   pts[x->sorted[i]].address, pts[x->sorted[i - 1]].address,
                                   (unsigned)b->unit);
            }
        }
    }
    if (rc < 0 || s == NULL) {
        pl_modbus_expose_free(x);
        return rc;
    }
    x->s = s;
    pl_modbus_expose_free(*out);
    pl_modbus_server_hooks(s, on_access, on_write, x);
    *out = x;
    return 0;
}

int pl_modbus_expose_set(pl_modbus_expose_t *x, size_t i, const pl_value_t *v, pl_quality_t q,
                         pl_status_t *err)
{
    uint8_t data[PL_MODBUS_STR_MAX + 8];
    point_t *p;
    int rc;

    if (x == NULL || i >= x->n)
        return pl_status_set(err, PL_EINVAL, 0, "no exposed tag %zu", i);
    p = &x->p[i];
    if (q == PL_Q_BAD || v->type == PL_VT_NONE) {
        p->bad = 1;
        return 0;
    }
    if ((rc = load(x, p, data, sizeof(data))) < 0) /* a bit of a register keeps the others */
        return pl_status_set(err, rc, 0, "exposed tag %zu: table not readable", i);
    if ((rc = pl_modbus_value_from(&p->a, x->order, v, data, sizeof(data), err)) < 0)
        return rc;
    if ((rc = store(x, p, data)) < 0)
        return pl_status_set(err, rc, 0, "exposed tag %zu: table not writable", i);
    p->bad = 0;
    return 0;
}

void pl_modbus_expose_free(pl_modbus_expose_t *x)
{
    if (x == NULL)
        return;
    if (x->s != NULL)
        pl_modbus_server_hooks(x->s, NULL, NULL, NULL);
    free(x->p);
    free(x->sorted);
    free(x);
}
