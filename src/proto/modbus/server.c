/* SPDX-License-Identifier: MIT */
/*
 * Modbus TCP server: the four tables of every unit served, every function code of the
 * codec with the spec's exceptions, animation, faults (answer delay and requests served at
 * once, ignored units, close after N frames, exceptions for address ranges) and
 * persistence. Built on simconn (the simulators' connections: framing, delay, close-after,
 * on the listener) and the Modbus codec.
 *
 * Checks, in the order of the spec's state diagrams (6.x): function code served (else
 * exception 01), PDU length, byte count and quantity (else 03), address range (else 02),
 * then the configured faults. A stream that cannot be framed (protocol id not 0, length
 * outside 2..254) closes its connection, and only that one. It never blocks except on the
 * persistence file (read at start, written at save and free) and never prints; what a
 * partner can cause to be logged is rate-limited.
 */
#include "proto/modbus/server.h"
#include "plcline/error.h"

#include "proto/modbus/codec/modbus.h"
#include "proto/modbus/codec/modbus_addr.h"
#include "proto/simconn.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_LEN     65536u
#define N_TABLES      4u
#define N_UNITS       256u
#define PERSIST_MAGIC "PLMODBS1"
#define N_DEVID       7u    /* objects 0x00..0x06 (basic and regular) */
#define DEVID_BASIC   3u    /* objects 0x00..0x02 */
#define DEVID_REGULAR 0x7Fu /* last object id of regular access (spec 6.21) */
#define DEVID_EXT     0xFFu
#define CONFORMITY    0x82u /* regular identification, stream and individual access */
#define DEVID_HDR     6u    /* MEI type .. number of objects, after the function code */

_Static_assert(PL_MODBUS_TABLE_COILS == (int)PL_MODBUS_COILS &&
                   PL_MODBUS_TABLE_DISCRETE == (int)PL_MODBUS_DISCRETE &&
                   PL_MODBUS_TABLE_INPUT == (int)PL_MODBUS_INPUT &&
                   PL_MODBUS_TABLE_HOLDING == (int)PL_MODBUS_HOLDING,
               "public table numbers are the codec's");
_Static_assert(PL_MODBUS_DEVID_MAX == PL_MODBUS_MAX_PDU - 1u - DEVID_HDR - 2u,
               "one object fills one PDU");

/* A unit's tables: bits one byte per element (co, di), registers (ir, hr); NULL until
 * written. */
typedef struct {
    void *tab[N_TABLES];
} unit_t;

struct pl_modbus_server_s {
    uv_loop_t *loop;
    pl_simconn_set_t conns;
    const pl_logger_t *log;
    uint8_t served[N_UNITS / 8u], ignored[N_UNITS / 8u];
    unit_t *unit[N_UNITS];
    uint8_t unserved_exception;
    int any_unit;
    uint8_t first_unit; /* the lowest unit served */
    pl_modbus_fault_t *faults;
    size_t n_faults;
    char *devid[N_DEVID]; /* NULL: object absent */
    uint8_t devid_len[N_DEVID];
    pl_modbus_server_write_cb on_write;
    pl_modbus_server_access_cb access;
    void *ud;
    char *persist_path;
    unsigned animate_ms;
    uv_timer_t animate;
    uint32_t tick;
    pl_simconn_t *serving; /* the connection whose request is being served */
    pl_ratelimit_t rl;     /* lines of requests served without a connection */
    pl_ratelimit_slot_t rl_slot[1];
    pl_modbus_server_stats_t stats;
    uint8_t tx[PL_MODBUS_MAX_ADU];
    uint8_t data[PL_MODBUS_MAX_PDU];
};

/* --- configuration ------------------------------------------------------------------ */

void pl_modbus_server_config_init(pl_modbus_server_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->listen.port = PL_MODBUS_SERVER_PORT;
    cfg->at_once = 1;
}

static int has(const uint8_t *set, unsigned unit)
{
    return (set[unit / 8u] >> (unit % 8u)) & 1u;
}

static void put(uint8_t *set, unsigned unit)
{
    set[unit / 8u] = (uint8_t)(set[unit / 8u] | 1u << (unit % 8u));
}

/* --- tables ------------------------------------------------------------------------- */

static size_t elem_size(unsigned t)
{
    return t == PL_MODBUS_TABLE_COILS || t == PL_MODBUS_TABLE_DISCRETE ? 1u : 2u;
}

/* The table `t` of `unit` (served), allocated when `create`; NULL when never written (reads
 * as zeros) or out of memory. */
static void *table(pl_modbus_server_t *s, unsigned unit, unsigned t, int create)
{
    unit_t *u = s->unit[unit];

    if (u == NULL) {
        if (!create)
            return NULL;
        u = s->unit[unit] = calloc(1, sizeof(*u));
        if (u == NULL)
            return NULL;
    }
    if (u->tab[t] == NULL && create)
        u->tab[t] = calloc(TABLE_LEN, elem_size(t));
    return u->tab[t];
}

static uint16_t reg_at(const uint16_t *tab, uint32_t a)
{
    return tab != NULL ? tab[a] : 0u;
}

static uint8_t bit_at(const uint8_t *tab, uint32_t a)
{
    return tab != NULL ? tab[a] : 0u;
}

/* --- rate-limited log of what a partner causes ---------------------------------------- */

static void note(pl_modbus_server_t *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void note(pl_modbus_server_t *s, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    if (s->log == NULL || s->log->cb == NULL || s->log->level < PL_LOG_INFO)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* per partner and message, through the simulators' shared limiter (core/log.c) */
    if (s->serving != NULL)
        pl_simconn_log(s->serving, PL_LOG_INFO, "modbus server %s: %s", pl_simconn_peer(s->serving),
                       msg);
    else
        pl_log_limited(&s->rl, uv_now(s->loop), s->log, PL_LOG_INFO, NULL, "modbus server: %s",
                       msg);
}

/* --- serving one request ------------------------------------------------------------ */

typedef struct {
    uint16_t tid;
    uint8_t unit;   /* as the request said it, echoed */
    uint8_t tables; /* whose tables serve it: `unit`, or the first unit served (any_unit) */
    uint8_t function;
    uint8_t *out;
    size_t cap;
} answer_t;

static int exception(pl_modbus_server_t *s, const answer_t *a, uint8_t code)
{
    pl_modbus_rsp_t r;

    memset(&r, 0, sizeof(r));
    r.function = a->function;
    r.exception = code;
    s->stats.exceptions++;
    return pl_modbus_rsp_encode(a->out, a->cap, a->tid, a->unit, &r);
}

/* 02 unless first..first+count-1 lies in a table. */
static int in_range(uint32_t first, uint32_t count)
{
    return first + count <= TABLE_LEN;
}

/* The exception a fault gives for elements first..first+count-1 of table t, or 0. */
static uint8_t fault_for(const pl_modbus_server_t *s, unsigned unit, unsigned t, uint32_t first,
                         uint32_t count)
{
    size_t i;

    for (i = 0; i < s->n_faults; i++) {
        const pl_modbus_fault_t *f = &s->faults[i];

        if ((f->unit == PL_MODBUS_SERVER_ANY_UNIT || f->unit == (int)unit) &&
            (unsigned)f->table == t && first <= f->last && first + count - 1u >= f->first)
            return f->exception;
    }
    return 0;
}

static void wrote(pl_modbus_server_t *s, unsigned unit, unsigned t, uint32_t first, uint32_t count)
{
    s->stats.writes++;
    if (s->on_write != NULL)
        s->on_write(s, (uint8_t)unit, (pl_modbus_table_id_t)t, (uint16_t)first, count, s->ud);
}

/* FC 1, 2: bits packed LSB first; FC 3, 4, 23: registers big-endian. */
static size_t read_into(pl_modbus_server_t *s, unsigned unit, unsigned t, uint32_t a, uint32_t n)
{
    uint32_t i;

    if (elem_size(t) == 1u) {
        const uint8_t *tab = table(s, unit, t, 0);
        size_t bytes = pl_modbus_bit_bytes(n);

        memset(s->data, 0, bytes);
        for (i = 0; i < n; i++)
            if (bit_at(tab, a + i))
                s->data[i / 8u] = (uint8_t)(s->data[i / 8u] | 1u << (i % 8u));
        return bytes;
    }
    const uint16_t *tab = table(s, unit, t, 0);

    for (i = 0; i < n; i++) {
        uint16_t v = reg_at(tab, a + i);

        s->data[2u * i] = (uint8_t)(v >> 8);
        s->data[2u * i + 1u] = (uint8_t)v;
    }
    return 2u * n;
}

/* Objects of read device identification from `first` on, as many as fit; *next is the
 * first left out (0 when all fit). Returns the bytes written to s->data, *count objects. */
static size_t devid_stream(pl_modbus_server_t *s, unsigned first, unsigned last, uint8_t *count,
                           unsigned *next)
{
    size_t len = 0, room = PL_MODBUS_MAX_PDU - 1u - DEVID_HDR;
    unsigned id;

    *count = 0;
    *next = 0;
    for (id = first; id <= last && id < N_DEVID; id++) {
        if (s->devid[id] == NULL)
            continue;
        if (len + 2u + s->devid_len[id] > room) {
            *next = id;
            break;
        }
        s->data[len++] = (uint8_t)id;
        s->data[len++] = s->devid_len[id];
        memcpy(s->data + len, s->devid[id], s->devid_len[id]);
        len += s->devid_len[id];
        (*count)++;
    }
    return len;
}

static int serve_devid(pl_modbus_server_t *s, const answer_t *a, const pl_modbus_req_t *q)
{
    pl_modbus_rsp_t r;
    unsigned last, first = q->object_id, next;

    memset(&r, 0, sizeof(r));
    r.function = PL_MODBUS_FC_MEI;
    r.mei_type = PL_MODBUS_MEI_DEVICE_ID;
    r.devid_code = q->devid_code;
    r.conformity = CONFORMITY;
    if (q->devid_code == PL_MODBUS_DEVID_SPECIFIC) {
        /* individual access: the object must exist (spec 6.21: exception 02) */
        if (first >= N_DEVID || s->devid[first] == NULL)
            return exception(s, a, PL_MODBUS_EX_ILLEGAL_DATA_ADDRESS);
        r.objects_len = devid_stream(s, first, first, &r.object_count, &next);
    } else {
        last = q->devid_code == PL_MODBUS_DEVID_BASIC     ? DEVID_BASIC - 1u
               : q->devid_code == PL_MODBUS_DEVID_REGULAR ? DEVID_REGULAR
                                                          : DEVID_EXT;
        /* stream access: an object id that names no object of this category restarts at
         * object 0 (spec 6.21) */
        if (first > last || first >= N_DEVID || s->devid[first] == NULL)
            first = 0;
        r.objects_len = devid_stream(s, first, last, &r.object_count, &next);
        if (next != 0) {
            r.more_follows = PL_MODBUS_MORE_FOLLOWS;
            r.next_object = (uint8_t)next;
        }
    }
    r.objects = s->data;
    return pl_modbus_rsp_encode(a->out, a->cap, a->tid, a->unit, &r);
}

/* The table a function reads or writes. */
static unsigned fc_table(uint8_t fc)
{
    switch (fc) {
    case PL_MODBUS_FC_READ_COILS:
    case PL_MODBUS_FC_WRITE_COIL:
    case PL_MODBUS_FC_WRITE_COILS:
        return PL_MODBUS_TABLE_COILS;
    case PL_MODBUS_FC_READ_DISCRETE:
        return PL_MODBUS_TABLE_DISCRETE;
    case PL_MODBUS_FC_READ_INPUT:
        return PL_MODBUS_TABLE_INPUT;
    default:
        return PL_MODBUS_TABLE_HOLDING;
    }
}

/* A decoded request of a served unit: address checks, faults, then the work. */
static int serve_req(pl_modbus_server_t *s, const answer_t *a, const pl_modbus_req_t *q)
{
    unsigned t = fc_table(q->function), unit = a->tables;
    uint32_t first = q->addr, count = q->count, i;
    pl_modbus_rsp_t r;
    uint8_t x;
    void *tab;

    if (q->function == PL_MODBUS_FC_MEI)
        return serve_devid(s, a, q);
    if (q->function == PL_MODBUS_FC_WRITE_COIL || q->function == PL_MODBUS_FC_WRITE_REGISTER ||
        q->function == PL_MODBUS_FC_MASK_WRITE)
        count = 1;
    if (!in_range(first, count) ||
        (q->function == PL_MODBUS_FC_READ_WRITE && !in_range(q->waddr, q->wcount)))
        return exception(s, a, PL_MODBUS_EX_ILLEGAL_DATA_ADDRESS);
    x = fault_for(s, unit, t, first, count);
    if (x == 0 && q->function == PL_MODBUS_FC_READ_WRITE)
        x = fault_for(s, unit, t, q->waddr, q->wcount);
    if (x == 0 && s->access != NULL) {
        int w = q->function != PL_MODBUS_FC_READ_COILS &&
                q->function != PL_MODBUS_FC_READ_DISCRETE &&
                q->function != PL_MODBUS_FC_READ_HOLDING &&
                q->function != PL_MODBUS_FC_READ_INPUT && q->function != PL_MODBUS_FC_READ_WRITE;

        x = s->access(s->ud, (uint8_t)unit, (pl_modbus_table_id_t)t, (uint16_t)first, count, w);
        if (x == 0 && q->function == PL_MODBUS_FC_READ_WRITE)
            x = s->access(s->ud, (uint8_t)unit, (pl_modbus_table_id_t)t, (uint16_t)q->waddr,
                          q->wcount, 1);
    }
    if (x != 0)
        return exception(s, a, x);

    memset(&r, 0, sizeof(r));
    r.function = q->function;
    switch (q->function) {
    case PL_MODBUS_FC_READ_COILS:
    case PL_MODBUS_FC_READ_DISCRETE:
    case PL_MODBUS_FC_READ_HOLDING:
    case PL_MODBUS_FC_READ_INPUT:
        r.data_len = read_into(s, unit, t, first, count);
        r.data = s->data;
        break;
    case PL_MODBUS_FC_WRITE_COIL:
    case PL_MODBUS_FC_WRITE_REGISTER:
    case PL_MODBUS_FC_MASK_WRITE:
        if ((tab = table(s, unit, t, 1)) == NULL)
            return exception(s, a, PL_MODBUS_EX_SERVER_DEVICE_FAILURE);
        if (q->function == PL_MODBUS_FC_WRITE_COIL)
            ((uint8_t *)tab)[first] = q->value == PL_MODBUS_COIL_ON;
        else if (q->function == PL_MODBUS_FC_WRITE_REGISTER)
            ((uint16_t *)tab)[first] = q->value;
        else /* spec 6.16: (current AND and_mask) OR (or_mask AND NOT and_mask) */
            ((uint16_t *)tab)[first] =
                (uint16_t)((((uint16_t *)tab)[first] & q->and_mask) | (q->or_mask & ~q->and_mask));
        wrote(s, unit, t, first, 1);
        r.addr = q->addr;
        r.value = q->value;
        r.and_mask = q->and_mask;
        r.or_mask = q->or_mask;
        break;
    case PL_MODBUS_FC_WRITE_COILS:
    case PL_MODBUS_FC_WRITE_REGISTERS:
        if ((tab = table(s, unit, t, 1)) == NULL)
            return exception(s, a, PL_MODBUS_EX_SERVER_DEVICE_FAILURE);
        for (i = 0; i < count; i++) {
            if (t == PL_MODBUS_TABLE_COILS)
                ((uint8_t *)tab)[first + i] = (uint8_t)pl_modbus_bit(q->data, q->data_len, i);
            else
                ((uint16_t *)tab)[first + i] = pl_modbus_reg(q->data, q->data_len, i);
        }
        wrote(s, unit, t, first, count);
        r.addr = q->addr;
        r.count = q->count;
        break;
    case PL_MODBUS_FC_READ_WRITE:
        /* spec 6.17: the write is performed before the read */
        if ((tab = table(s, unit, t, 1)) == NULL)
            return exception(s, a, PL_MODBUS_EX_SERVER_DEVICE_FAILURE);
        for (i = 0; i < q->wcount; i++)
            ((uint16_t *)tab)[q->waddr + i] = pl_modbus_reg(q->data, q->data_len, i);
        wrote(s, unit, t, q->waddr, q->wcount);
        r.data_len = read_into(s, unit, t, first, count);
        r.data = s->data;
        break;
    default:
        return exception(s, a, PL_MODBUS_EX_ILLEGAL_FUNCTION); /* decode let none through */
    }
    return pl_modbus_rsp_encode(a->out, a->cap, a->tid, a->unit, &r);
}

int pl_modbus_server_serve_adu(pl_modbus_server_t *s, const uint8_t *adu, size_t len, uint8_t *out,
                               size_t cap)
{
    pl_modbus_adu_t m;
    pl_modbus_req_t q;
    pl_status_t st;
    answer_t a;
    int rc;

    if (cap < PL_MODBUS_MAX_ADU)
        return PL_ENOBUFS;
    rc = pl_modbus_adu_decode(adu, len, &m, NULL);
    if (rc < 0)
        return rc;
    s->stats.requests++;
    a.tid = m.tid;
    a.unit = m.unit;
    a.tables = m.unit;
    a.function = m.pdu[0];
    a.out = out;
    a.cap = cap;
    if (!has(s->served, m.unit) && s->any_unit)
        a.tables = s->first_unit;
    else if (!has(s->served, m.unit)) {
        note(s, "unit %u is not served (function 0x%02X)%s", (unsigned)m.unit, (unsigned)a.function,
             s->unserved_exception != 0 ? "" : ", no answer");
        if (s->unserved_exception != 0)
            return exception(s, &a, s->unserved_exception);
        s->stats.no_answer++;
        return 0;
    }
    if (has(s->ignored, m.unit)) {
        s->stats.no_answer++;
        return 0;
    }
    rc = pl_modbus_req_decode(m.pdu, m.pdu_len, &q, &st);
    if (rc < 0) {
        uint8_t x = pl_modbus_req_exception(rc);
        char text[160];

        pl_status_format(&st, text, sizeof(text));
        note(s, "unit %u: %s, exception 0x%02X", (unsigned)m.unit, text, (unsigned)x);
        return exception(s, &a, x);
    }
    return serve_req(s, &a, &q);
}

/* --- connections -------------------------------------------------------------------- */

static int frame_len(const uint8_t *buf, size_t len, void *ud)
{
    (void)ud;
    return pl_modbus_frame(buf, len, NULL);
}

static int serve_frame(pl_simconn_t *sc, const uint8_t *p, size_t n, void *ud)
{
    pl_modbus_server_t *s = ud;
    pl_status_t why;
    int len;

    s->serving = sc;
    len = pl_modbus_server_serve_adu(s, p, n, s->tx, sizeof(s->tx));
    s->serving = NULL;

    if (len < 0) { /* cannot happen for a framed ADU */
        s->stats.bad_frames++;
        pl_status_set(&why, len, 0, "malformed frame");
        pl_simconn_close(sc, &why);
        return -1;
    }
    if (len > 0)
        pl_simconn_answer(sc, s->tx, (size_t)len);
    return 0;
}

/* --- animation (demo values, docs/modbus.md) --------------------------------------------- */

static void animate_unit(pl_modbus_server_t *s, unsigned unit, uint32_t bits)
{
    uint16_t *ir = table(s, unit, PL_MODBUS_TABLE_INPUT, 1);
    uint8_t *di = table(s, unit, PL_MODBUS_TABLE_DISCRETE, 1);
    uint16_t ramp = (uint16_t)(s->tick % 100u);

    if (ir == NULL || di == NULL)
        return;
    ir[0] = (uint16_t)s->tick;         /* counter */
    ir[1] = ramp;                      /* ramp 0..99 */
    ir[2] = (uint16_t)(bits >> 16);    /* sine, f32 ABCD */
    ir[3] = (uint16_t)bits;            /* */
    ir[4] = (uint16_t)bits;            /* the same sine, f32 CDAB */
    ir[5] = (uint16_t)(bits >> 16);    /* */
    ir[6] = (uint16_t)(s->tick >> 16); /* counter, u32 ABCD */
    ir[7] = (uint16_t)s->tick;
    di[0] = (uint8_t)(s->tick & 1u); /* square wave */
    di[1] = ramp >= 50u;             /* upper half of the ramp */
}

static void on_animate(uv_timer_t *t)
{
    pl_modbus_server_t *s = t->data;
    float f;
    uint32_t bits;
    unsigned u;

    s->tick++;
    f = 100.0f * sinf((float)s->tick * 0.1f);
    memcpy(&bits, &f, sizeof(bits));
    for (u = 0; u < N_UNITS; u++)
        if (has(s->served, u))
            animate_unit(s, u, bits);
}

/* --- persistence: "PLMODBS1", then per table written: unit, table, 65 536 elements (bits
 * one byte each, registers big-endian) ---------------------------------------------------- */

static int persist_load(pl_modbus_server_t *s, pl_status_t *err)
{
    FILE *fp = fopen(s->persist_path, "rb");
    uint8_t hdr[8], rec[2], *buf = NULL;
    uint32_t i;
    size_t n;
    int rc = 0;

    if (fp == NULL) {
        if (errno == ENOENT)
            return 0; /* first run */
        return pl_status_set(err, PL_EIO, -errno, "%s", s->persist_path);
    }
    if (fread(hdr, 1, sizeof(hdr), fp) != sizeof(hdr) || memcmp(hdr, PERSIST_MAGIC, 8) != 0) {
        rc = pl_status_set(err, PL_EIO, 0, "%s: not a plcline Modbus tables file", s->persist_path);
        goto out;
    }
    buf = malloc(TABLE_LEN * 2u);
    if (buf == NULL) {
        rc = pl_status_set(err, PL_ENOMEM, 0, NULL);
        goto out;
    }
    while (fread(rec, 1, 2, fp) == 2) {
        void *tab;

        if (rec[1] >= N_TABLES) {
            rc = pl_status_set(err, PL_EIO, 0, "%s: table %u of unit %u", s->persist_path,
                               (unsigned)rec[1], (unsigned)rec[0]);
            goto out;
        }
        n = TABLE_LEN * elem_size(rec[1]);
        if (fread(buf, 1, n, fp) != n) {
            rc = pl_status_set(err, PL_EIO, 0, "%s: truncated table %u of unit %u", s->persist_path,
                               (unsigned)rec[1], (unsigned)rec[0]);
            goto out;
        }
        if (!has(s->served, rec[0]))
            continue; /* unit no longer served */
        tab = table(s, rec[0], rec[1], 1);
        if (tab == NULL) {
            rc = pl_status_set(err, PL_ENOMEM, 0, NULL);
            goto out;
        }
        for (i = 0; i < TABLE_LEN; i++) {
            if (elem_size(rec[1]) == 1u)
                ((uint8_t *)tab)[i] = buf[i] != 0;
            else
                ((uint16_t *)tab)[i] = (uint16_t)(buf[2u * i] << 8 | buf[2u * i + 1u]);
        }
    }
out:
    free(buf);
    fclose(fp);
    return rc;
}

int pl_modbus_server_save(pl_modbus_server_t *s)
{
    char tmp[4096];
    FILE *fp;
    uint8_t *buf;
    unsigned u, t;
    uint32_t i;
    int ok;

    if (s->persist_path == NULL)
        return PL_EINVAL;
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", s->persist_path) >= sizeof(tmp))
        return PL_EIO;
    buf = malloc(TABLE_LEN * 2u);
    fp = buf != NULL ? fopen(tmp, "wb") : NULL;
    if (fp == NULL) {
        free(buf);
        pl_log(s->log, PL_LOG_ERROR, "modbus server: cannot save the tables to %s", tmp);
        return PL_EIO;
    }
    ok = fwrite(PERSIST_MAGIC, 1, 8, fp) == 8;
    for (u = 0; ok && u < N_UNITS; u++) {
        for (t = 0; ok && t < N_TABLES; t++) {
            const void *tab = s->unit[u] != NULL ? s->unit[u]->tab[t] : NULL;
            uint8_t rec[2] = {(uint8_t)u, (uint8_t)t};
            size_t n = TABLE_LEN * elem_size(t);

            if (tab == NULL)
                continue;
            if (elem_size(t) == 1u)
                memcpy(buf, tab, n);
            else
                for (i = 0; i < TABLE_LEN; i++) {
                    buf[2u * i] = (uint8_t)(((const uint16_t *)tab)[i] >> 8);
                    buf[2u * i + 1u] = (uint8_t)((const uint16_t *)tab)[i];
                }
            ok = fwrite(rec, 1, 2, fp) == 2 && fwrite(buf, 1, n, fp) == n;
        }
    }
    free(buf);
    if (fclose(fp) != 0)
        ok = 0;
    if (!ok || rename(tmp, s->persist_path) != 0) {
        pl_log(s->log, PL_LOG_ERROR, "modbus server: cannot save the tables to %s",
               s->persist_path);
        remove(tmp);
        return PL_EIO;
    }
    return 0;
}

/* --- accessors ---------------------------------------------------------------------- */

static int check_access(const pl_modbus_server_t *s, uint8_t unit, pl_modbus_table_id_t t,
                        uint16_t addr, size_t count)
{
    if (s == NULL || !has(s->served, unit) || (unsigned)t >= N_TABLES || count == 0 ||
        count > TABLE_LEN || addr + count > TABLE_LEN)
        return PL_EINVAL;
    return 0;
}

int pl_modbus_server_get(pl_modbus_server_t *s, uint8_t unit, pl_modbus_table_id_t table_id,
                         uint16_t addr, uint16_t *out, size_t count)
{
    const void *tab;
    size_t i;

    if (check_access(s, unit, table_id, addr, count) < 0 || out == NULL)
        return PL_EINVAL;
    tab = table(s, unit, (unsigned)table_id, 0);
    for (i = 0; i < count; i++)
        out[i] = elem_size((unsigned)table_id) == 1u ? bit_at(tab, (uint32_t)(addr + i))
                                                     : reg_at(tab, (uint32_t)(addr + i));
    return 0;
}

int pl_modbus_server_set(pl_modbus_server_t *s, uint8_t unit, pl_modbus_table_id_t table_id,
                         uint16_t addr, const uint16_t *values, size_t count)
{
    void *tab;
    size_t i;

    if (check_access(s, unit, table_id, addr, count) < 0 || values == NULL)
        return PL_EINVAL;
    tab = table(s, unit, (unsigned)table_id, 1);
    if (tab == NULL)
        return PL_ENOMEM;
    for (i = 0; i < count; i++) {
        if (elem_size((unsigned)table_id) == 1u)
            ((uint8_t *)tab)[addr + i] = values[i] != 0;
        else
            ((uint16_t *)tab)[addr + i] = values[i];
    }
    return 0;
}

/* --- lifecycle ---------------------------------------------------------------------- */

static void server_release(pl_modbus_server_t *s)
{
    unsigned u, t;

    for (u = 0; u < N_UNITS; u++) {
        if (s->unit[u] == NULL)
            continue;
        for (t = 0; t < N_TABLES; t++)
            free(s->unit[u]->tab[t]);
        free(s->unit[u]);
    }
    for (u = 0; u < N_DEVID; u++)
        free(s->devid[u]);
    free(s->faults);
    free(s->persist_path);
    free(s);
}

static void on_animate_closed(uv_handle_t *h)
{
    server_release(h->data);
}

static char *dup_str(const char *text)
{
    size_t n = strlen(text) + 1u;
    char *p = malloc(n);

    if (p != NULL)
        memcpy(p, text, n);
    return p;
}

static int set_devid(pl_modbus_server_t *s, const pl_modbus_server_devid_t *d, pl_status_t *err)
{
    const char *v[N_DEVID] = {d->vendor_name,  d->product_code, d->revision, d->vendor_url,
                              d->product_name, d->model_name,   d->user_app};
    static const char *const basic[DEVID_BASIC] = {"plcline", "plcline-modbus-server", "0.1"};
    unsigned i;

    for (i = 0; i < N_DEVID; i++) {
        const char *text = v[i] != NULL ? v[i] : i < DEVID_BASIC ? basic[i] : NULL;

        if (text == NULL)
            continue;
        if (strlen(text) > PL_MODBUS_DEVID_MAX)
            return pl_status_set(err, PL_EINVAL, 0, "identification object %u over %u bytes", i,
                                 PL_MODBUS_DEVID_MAX);
        if ((s->devid[i] = dup_str(text)) == NULL)
            return pl_status_set(err, PL_ENOMEM, 0, NULL);
        s->devid_len[i] = (uint8_t)strlen(text);
    }
    return 0;
}

static int check_config(const pl_modbus_server_config_t *cfg, pl_status_t *err)
{
    size_t i;

    if ((cfg->n_units > 0 && cfg->units == NULL) ||
        (cfg->n_ignore > 0 && cfg->ignore_units == NULL) ||
        (cfg->n_faults > 0 && cfg->faults == NULL))
        return pl_status_set(err, PL_EINVAL, 0, "a list with a count but no elements");
    for (i = 0; i < cfg->n_faults; i++) {
        const pl_modbus_fault_t *f = &cfg->faults[i];

        if (f->exception == 0 || f->first > f->last || (unsigned)f->table >= N_TABLES ||
            f->unit < PL_MODBUS_SERVER_ANY_UNIT || f->unit > 255)
            return pl_status_set(err, PL_EINVAL, 0,
                                 "fault %zu: unit %d, table %d, %u..%u, exception %u", i + 1,
                                 f->unit, (int)f->table, (unsigned)f->first, (unsigned)f->last,
                                 (unsigned)f->exception);
    }
    return 0;
}

int pl_modbus_server_new(uv_loop_t *loop, const pl_modbus_server_config_t *cfg,
                         pl_modbus_server_t **out, pl_status_t *err)
{
    static const pl_simconn_cbs_t cbs = {.frame = frame_len, .serve = serve_frame};
    pl_simconn_config_t sim;
    pl_modbus_server_t *s;
    unsigned u;
    size_t i;
    int rc;

    if (loop == NULL || cfg == NULL || out == NULL)
        return pl_status_set(err, PL_EINVAL, 0, "no loop, configuration or result");
    rc = check_config(cfg, err);
    if (rc < 0)
        return rc;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    s->loop = loop;
    s->log = cfg->log;
    pl_ratelimit_init(&s->rl, s->rl_slot, 1);
    s->unserved_exception = cfg->unserved_exception;
    s->any_unit = cfg->any_unit;
    s->on_write = cfg->on_write;
    s->ud = cfg->ud;
    s->animate_ms = cfg->animate_ms;
    if (cfg->n_units == 0)
        put(s->served, 1);
    for (i = 0; i < cfg->n_units; i++)
        put(s->served, cfg->units[i]);
    for (u = 0; u + 1u < N_UNITS && !has(s->served, u); u++)
        ;
    s->first_unit = (uint8_t)u; /* at least one unit is served */
    for (i = 0; i < cfg->n_ignore; i++)
        put(s->ignored, cfg->ignore_units[i]);
    if (cfg->n_faults > 0) {
        s->faults = malloc(cfg->n_faults * sizeof(*s->faults));
        if (s->faults == NULL)
            goto nomem;
        memcpy(s->faults, cfg->faults, cfg->n_faults * sizeof(*s->faults));
        s->n_faults = cfg->n_faults;
    }
    rc = set_devid(s, &cfg->devid, err);
    if (rc < 0) {
        server_release(s);
        return rc;
    }
    if (cfg->persist_path != NULL) {
        if ((s->persist_path = dup_str(cfg->persist_path)) == NULL)
            goto nomem;
        rc = persist_load(s, err);
        if (rc < 0) {
            server_release(s);
            return rc;
        }
    }
    if (s->animate_ms > 0) /* the animated tables exist from the start */
        for (u = 0; u < N_UNITS; u++)
            if (has(s->served, u) && (table(s, u, PL_MODBUS_TABLE_INPUT, 1) == NULL ||
                                      table(s, u, PL_MODBUS_TABLE_DISCRETE, 1) == NULL))
                goto nomem;
    memset(&sim, 0, sizeof(sim));
    sim.name = "modbus server";
    sim.max_frame = PL_MODBUS_MAX_ADU;
    sim.delay_ms = cfg->delay_ms;
    sim.at_once = cfg->at_once;
    sim.close_after = cfg->close_after;
    sim.log = cfg->log;
    sim.connections = &s->stats.connections;
    sim.frames_in = &s->stats.frames_in;
    sim.bad_frames = &s->stats.bad_frames;
    sim.idle_timeout_ms = cfg->idle_timeout_ms != 0 ? cfg->idle_timeout_ms : PL_SIM_IDLE_TIMEOUT_MS;
    sim.idle_timeouts = &s->stats.idle_timeouts;
    rc = pl_simconn_set_init(&s->conns, loop, &cfg->listen, &sim, &cbs, s, err);
    if (rc < 0) {
        server_release(s);
        return rc;
    }
    uv_timer_init(loop, &s->animate);
    s->animate.data = s;
    if (s->animate_ms > 0)
        uv_timer_start(&s->animate, on_animate, s->animate_ms, s->animate_ms);
    *out = s;
    return 0;
nomem:
    server_release(s);
    return pl_status_set(err, PL_ENOMEM, 0, NULL);
}

void pl_modbus_server_hooks(pl_modbus_server_t *s, pl_modbus_server_access_cb access,
                            pl_modbus_server_write_cb on_write, void *ud)
{
    s->access = access;
    s->on_write = on_write;
    s->ud = ud;
}

uint16_t pl_modbus_server_port(const pl_modbus_server_t *s)
{
    return pl_listener_port(s->conns.lst);
}

const char *pl_modbus_server_address(const pl_modbus_server_t *s)
{
    return pl_listener_address(s->conns.lst);
}

const pl_modbus_server_stats_t *pl_modbus_server_stats(const pl_modbus_server_t *s)
{
    return &s->stats;
}

unsigned pl_modbus_server_conn_count(const pl_modbus_server_t *s)
{
    return pl_simconn_count(&s->conns);
}

int pl_modbus_server_free(pl_modbus_server_t *s)
{
    int rc = 0;

    if (s == NULL)
        return 0;
    pl_simconn_set_close(&s->conns); /* closes the listener and every connection */
    if (s->persist_path != NULL)
        rc = pl_modbus_server_save(s);
    uv_timer_stop(&s->animate);
    uv_close((uv_handle_t *)&s->animate, on_animate_closed);
    return rc;
}
