/* SPDX-License-Identifier: MIT */
/*
 * The scan engine (see include/plcline/engine.h): builds devices, groups and planned blocks
 * from the definitions, runs one timer per scan class, keeps a per-device queue in which
 * writes go before reads, answers every write once, and turns read results into tag values
 * with quality and timestamps.
 *
 * Protocol-neutral: everything protocol-specific goes through a pl_driver_t
 * (src/proto/driver.h). Nothing here blocks or prints.
 */
#include "plcline/engine.h"
#include "engine/engine_test.h"
#include "plcline/error.h"

#include "proto/driver.h"
#include "engine/planner.h"
#include "engine/sched.h"
#include "proto/registry.h"

#include <math.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_MAX_GAP       32u
#define DEFAULT_DEMOTE_AFTER  3u
#define DEFAULT_DEMOTE_MS     10000u
#define DEFAULT_WRITE_TIMEOUT 5000u
#define DEFAULT_WRITE_QUEUE   1024u
#define STALE_PERIODS         3u

typedef struct edev_s edev_t;
typedef struct group_s group_t;
typedef struct tag_s tag_t;

enum { OP_READ = 1, OP_WRITE = 2 };

typedef struct op_s {
    struct op_s *next;
    int kind;
} op_t;

/* What a read in flight needs: the driver's request storage and the buffer the block is
 * read into. A device has one per request it may have in flight, not one per block. */
typedef struct rslot_s {
    struct rslot_s *next; /* free list */
    uint8_t *buf;
    uint64_t sent_ns; /* uv_hrtime() when handed to the driver: the request duration */
    alignas(max_align_t) unsigned char req[];
} rslot_t;

typedef struct {
    op_t op; /* first */
    group_t *g;
    uint32_t area, start, len;
    rslot_t *slot; /* while it is read */
    tag_t **tags;  /* a slice of its group's list (group_t.tags) */
    size_t ntags;
    char detail[PL_STATUS_DETAIL_MAX]; /* of the last failed read: its tags point here */
} block_t;

typedef struct wop_s {
    op_t op; /* first */
    edev_t *dev;
    tag_t *tag;
    pl_value_t raw;
    pl_write_cb cb;
    void *ud;
    uint64_t queued_at;
    uint64_t sent_ns; /* uv_hrtime() when handed to the driver: the request duration */
    alignas(max_align_t) unsigned char req[];
} wop_t;

typedef struct scan_s {
    pl_scan_def_t def;
    pl_engine_t *e;
    uv_timer_t timer;
    uint64_t due;
    group_t **groups;
    size_t ngroups;
} scan_t;

struct group_s {
    edev_t *dev;
    scan_t *scan;
    tag_t **tags;  /* ordered by block, each block's tags a slice of it */
    tag_t **order; /* NULL: `tags` is in the order the tags were defined; else that order */
    size_t ntags;
    block_t **blocks;
    size_t nblocks;
    unsigned pending; /* blocks of the current cycle not completed yet */
    int cycle_failed; /* a block of the current cycle failed */
    uint64_t cycle_start;
    /* every good tag of the group was read at or after this (uv_now(); 0: not known): the
     * start of the last cycle whose blocks all succeeded, so that check_stale() need not
     * look at each tag while that is recent enough */
    uint64_t fresh_since;
    /* a cycle came while a reload was still handing the device's connection over: it runs
     * as soon as the connection is here, not a period later */
    int missed;
};

typedef struct {
    pl_line_def_t def;
    const pl_protocol_t *proto;
    const pl_driver_t *drv;
} eline_t;

struct edev_s {
    pl_device_def_t def;
    pl_engine_t *e;
    eline_t *line;
    const pl_driver_t *drv;
    pl_drv_dev_t *dd;
    op_t *rhead, *rtail; /* block reads waiting */
    op_t *whead, *wtail; /* writes waiting: they go first */
    unsigned nwrites, inflight, max_inflight;
    rslot_t *slots;   /* free read slots (nrslots of them in all) */
    unsigned nrslots; /* max_inflight, or fewer when the device has fewer blocks */
    rslot_t **rslots; /* all of them, to free */
    unsigned fails;   /* consecutive failed requests */
    int demoted;
    uint64_t demoted_until;
    pl_status_t last_err;
    char demote_detail[PL_STATUS_DETAIL_MAX]; /* why it went off scan: its tags point here */
    pl_engine_stats_t st; /* engine-level counters; driver counters are added on demand */
    group_t **groups;
    size_t ngroups;
    uint64_t rtt_hist[PL_ENGINE_RTT_BUCKETS + 1]; /* request durations, see pl_engine_rtt */
    uint64_t rtt_sum_ns;
    edev_t *adopt_to;   /* old engine: the device that takes our connection when idle */
    edev_t *adopt_from; /* new engine: the device whose connection we wait for */
    int handing;        /* old engine: this device still owes its connection a handover */
    /* event-driven devices (drv->subscribe): the parsed addresses of their tags, each tag's
     * position here in tag_t.scan; each tag's source time (kept per device, not in every
     * tag_t); the staleness timer; why the tags are bad after a link down */
    const pl_drv_addr_t **eaddrs;
    uint64_t *esrc;
    size_t nevt;
    uv_timer_t stale_timer;
    int stale_init;
    unsigned stale_min; /* the smallest staleness limit of its tags (0: none has one) */
    uint64_t stale_due; /* uv_now() the staleness timer fires at, while it runs */
    char link_detail[PL_STATUS_DETAIL_MAX];
    uint64_t pubseq; /* the engine's number of the last publication of one of its tags */
};

static int is_evt(const edev_t *d)
{
    return d->drv->subscribe != NULL;
}

/* A value without its string buffer: numbers in place, strings in tag_t.str. */
typedef union {
    int64_t i; /* PL_VT_BOOL, PL_VT_INT */
    double f;  /* PL_VT_FLOAT */
} num_t;

/* A tag, kept small: a plant has hundreds of thousands of them (docs/bench.md, "Where the
 * memory goes"). Its name lives in the engine's arena, its address text and its options
 * (scale, deadband, swap, writable, stale) are shared with every tag that has the same, and its
 * error detail points at the storage where the error occurred (the block that failed, the
 * device that went off scan). pl_tag_state_t is put together only when it is asked for. */
struct tag_s {
    const char *name;          /* engine arena */
    const char *address;       /* shared */
    const pl_tag_def_t *proto; /* shared: options; name, device, address and scan NULL */
    edev_t *dev;
    const char *detail;   /* behind a bad quality: a block's or a device's detail; NULL: "" */
    char *str;            /* NULL until a string value is seen: value [0, 96), published after */
    num_t v, pub;         /* the value and the last published one (deadband reference) */
    uint64_t ts_ms;       /* source timestamp */
    uint64_t last_good;   /* uv_now() of the last good read */
    int32_t error;        /* PL_E* behind a bad quality */
    uint32_t scan;        /* index into the engine's scan classes; event-driven devices: into
                             the device's eaddrs and esrc */
    uint8_t vtype, ptype; /* pl_vtype_t of v and pub */
    uint8_t quality;      /* pl_quality_t */
    uint8_t published;    /* anything published yet */
    uint8_t slen, pslen;  /* PL_VT_STRING: bytes of the value and of the published one */
    uint8_t flags;        /* PL_QF_* of the last pushed value (event-driven devices) */
    uint32_t seq;         /* the low 32 bits of the engine's number of its last publication */
    pl_drv_addr_t addr;
};

/* The per-tag cost docs/bench.md shows ("Where the memory goes"): keep it, or update it. */
_Static_assert(sizeof(void *) != 8 || sizeof(tag_t) == 144, "tag_t grew: see docs/bench.md");

/* Storage for names and shared items, freed with the engine. */
typedef struct arena_s {
    struct arena_s *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char mem[];
} arena_t;

#define ARENA_CHUNK (64u * 1024u)
#define STATE_RING  PL_ENGINE_TAG_STATES /* pl_engine_tag*() results valid at once */

/* An intern table: open addressing over pointers to items of the arena. */
typedef struct {
    const void **slot;
    size_t cap, n;
} intern_t;

struct pl_engine_s {
    uv_loop_t *loop;
    pl_engine_cbs_t cbs;
    void *ud;
    const pl_logger_t *log;
    pl_ratelimit_t rl; /* lines a device (or a writer) can cause, per device (core/log.c) */
    pl_ratelimit_slot_t rl_slots[64];
    uint64_t (*wall_ms)(void *ud);
    void *clock_ud;
    eline_t *lines;
    size_t nlines;
    edev_t *devs;
    size_t ndevs;
    tag_t *tags;
    size_t ntags;
    uint32_t *by_name; /* indices into tags, sorted by name */
    arena_t *arena;
    void *texts; /* where the tags' names are when the caller handed its storage over */
    void (*texts_free)(void *texts);
    intern_t addrs, protos;          /* address texts, option sets */
    pl_tag_state_t cb_state;         /* what on_change gets */
    pl_tag_state_t ring[STATE_RING]; /* what pl_engine_tag*() return */
    unsigned ring_next;
    scan_t *scans;
    size_t nscans;
    group_t *groups;
    size_t ngroups;
    int started, stopping, closing_timers;
    unsigned handovers;  /* devices whose connection still has to move to another engine */
    int release_pending; /* freed once the handovers are done */
    uint64_t seq;        /* publications so far: tags carry the number of their last one */
    uint64_t qseq;       /* publications that changed a tag's quality */
    void (*stop_done)(pl_engine_t *e, void *ud);
};

static void dev_pump(edev_t *d);
static void engine_release(pl_engine_t *e);
static void handover_check(edev_t *d);

/* A line a device can cause: rate-limited per device and message. */
#define PLOG(d, level, ...)                                                              \
    pl_log_limited(&(d)->e->rl, uv_now((d)->e->loop), (d)->e->log, level, (d)->def.name, \
                   __VA_ARGS__)

const char *pl_quality_name(pl_quality_t q)
{
    switch (q) {
    case PL_Q_GOOD:
        return "good";
    case PL_Q_BAD:
        return "bad";
    case PL_Q_UNCERTAIN:
        return "uncertain";
    }
    return "?";
}

const char *pl_quality_flag_name(unsigned i)
{
    static const char *const names[PL_QF_COUNT] = {"substituted", "blocked", "overflow",
                                                   "not_topical", "invalid"};

    return i < PL_QF_COUNT ? names[i] : NULL;
}

static const pl_protocol_t *test_protocol; /* pl_engine_test_protocol() */

void pl_engine_test_protocol(const pl_protocol_t *p)
{
    test_protocol = p;
}

static const pl_protocol_t *protocol_find(const char *name)
{
    size_t n = strnlen(name, PL_PROTO_NAME_MAX);

    if (test_protocol != NULL && strlen(test_protocol->name) == n &&
        strncmp(test_protocol->name, name, n) == 0)
        return test_protocol;
    return pl_protocol_find(name, n);
}

static uint64_t wall_now(const pl_engine_t *e)
{
    struct timespec ts;

    if (e->wall_ms != NULL)
        return e->wall_ms(e->clock_ud);
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void count_error(pl_engine_stats_t *st, int code)
{
    size_t i;

    st->errors++;
    for (i = 0; i < sizeof(st->errors_by_code) / sizeof(st->errors_by_code[0]); i++) {
        if (st->errors_by_code[i].code == code || st->errors_by_code[i].code == 0) {
            st->errors_by_code[i].code = code;
            st->errors_by_code[i].count++;
            return;
        }
    }
}

/* --- tag values -------------------------------------------------------------------- */

static void *arena_alloc(pl_engine_t *e, size_t n, size_t align)
{
    arena_t *a = e->arena;
    size_t at;

    if (a != NULL) {
        at = (a->used + align - 1) & ~(align - 1);
        if (at + n <= a->cap) {
            a->used = at + n;
            return a->mem + at;
        }
    }
    at = n > ARENA_CHUNK ? n : ARENA_CHUNK;
    a = malloc(sizeof(*a) + at);
    if (a == NULL)
        return NULL;
    a->next = e->arena;
    a->cap = at;
    a->used = n;
    e->arena = a;
    return a->mem;
}

static const char *arena_str(pl_engine_t *e, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = arena_alloc(e, n, 1);

    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

static uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    size_t i;

    for (i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211u;
    return h;
}

/* The item equal to `key` (`len` bytes; texts compare with their NUL) in `t`, stored in the
 * arena the first time it is seen; NULL when out of memory. */
static const void *intern(pl_engine_t *e, intern_t *t, const void *key, size_t len, size_t align)
{
    size_t i;
    void *p;

    if (2 * (t->n + 1) > t->cap) {
        size_t ncap = t->cap ? 2 * t->cap : 64, k;
        const void **ns = calloc(ncap, sizeof(*ns));

        if (ns == NULL)
            return NULL;
        for (k = 0; k < t->cap; k++) {
            if (t->slot[k] == NULL)
                continue;
            i = (size_t)hash_bytes(t->slot[k], len == 0 ? strlen(t->slot[k]) + 1 : len) &
                (ncap - 1);
            while (ns[i] != NULL)
                i = (i + 1) & (ncap - 1);
            ns[i] = t->slot[k];
        }
        free(t->slot);
        t->slot = ns;
        t->cap = ncap;
    }
    if (len == 0) { /* a text */
        size_t n = strlen(key) + 1;

        for (i = (size_t)hash_bytes(key, n) & (t->cap - 1); t->slot[i] != NULL;
             i = (i + 1) & (t->cap - 1))
            if (strcmp(t->slot[i], key) == 0)
                return t->slot[i];
        p = arena_alloc(e, n, 1);
        if (p != NULL)
            memcpy(p, key, n);
    } else {
        for (i = (size_t)hash_bytes(key, len) & (t->cap - 1); t->slot[i] != NULL;
             i = (i + 1) & (t->cap - 1))
            if (memcmp(t->slot[i], key, len) == 0)
                return t->slot[i];
        p = arena_alloc(e, len, align);
        if (p != NULL)
            memcpy(p, key, len);
    }
    if (p != NULL) {
        t->slot[i] = p;
        t->n++;
    }
    return p;
}

/* The tag's state as published, put together in `st`. */
static const pl_tag_state_t *tag_state(const tag_t *t, pl_tag_state_t *st)
{
    st->tag = t->name;
    st->device = t->dev->def.name;
    st->line = t->dev->line->def.name;
    memset(&st->value, 0, sizeof(st->value));
    st->value.type = (pl_vtype_t)t->vtype;
    switch (st->value.type) {
    case PL_VT_NONE:
        break;
    case PL_VT_BOOL:
    case PL_VT_INT:
        st->value.i = t->v.i;
        break;
    case PL_VT_FLOAT:
        st->value.f = t->v.f;
        break;
    case PL_VT_STRING:
        memcpy(st->value.s, t->str, sizeof(st->value.s));
        st->value.len = t->slen;
        break;
    }
    st->quality = (pl_quality_t)t->quality;
    st->error = t->error;
    if (t->detail != NULL) { /* a block's or device's buffer, or a driver's static text */
        size_t n = strnlen(t->detail, sizeof(st->detail) - 1);

        memcpy(st->detail, t->detail, n);
        st->detail[n] = '\0';
    } else {
        st->detail[0] = '\0';
    }
    st->ts_ms = t->ts_ms;
    st->source_ms = is_evt(t->dev) ? t->dev->esrc[t->scan] : 0;
    st->flags = t->flags;
    return st;
}

/* The value becomes the published one and on_change hears of the state. `qmoved`: the
 * quality is not the one last published (pl_engine_quality_seq counts those). */
static void publish(pl_engine_t *e, tag_t *t, int qmoved)
{
    if (!t->published || qmoved)
        e->qseq++;
    t->seq = (uint32_t)++e->seq;
    t->dev->pubseq = e->seq;
    t->pub = t->v;
    t->ptype = t->vtype;
    if (t->vtype == PL_VT_STRING) {
        memcpy(t->str + PL_VALUE_STRING_MAX, t->str, PL_VALUE_STRING_MAX);
        t->pslen = t->slen;
    }
    t->published = 1;
    if (e->cbs.on_change != NULL)
        e->cbs.on_change(e, tag_state(t, &e->cb_state), e->ud);
}

static int value_changed(const tag_t *t, const pl_value_t *v)
{
    double a, b, deadband = t->proto->deadband;

    if (!t->published || t->ptype != v->type)
        return 1;
    switch (v->type) {
    case PL_VT_NONE:
        return 0;
    case PL_VT_BOOL:
        return t->pub.i != v->i;
    case PL_VT_INT:
        if (deadband <= 0.0)
            return t->pub.i != v->i;
        a = (double)t->pub.i;
        b = (double)v->i;
        return fabs(a - b) > deadband;
    case PL_VT_FLOAT:
        if (isnan(v->f) || isnan(t->pub.f))
            return isnan(v->f) != isnan(t->pub.f);
        if (deadband <= 0.0)
            return t->pub.f != v->f;
        return fabs(t->pub.f - v->f) > deadband;
    case PL_VT_STRING:
        return t->pslen != pl_value_string_len(v) ||
               memcmp(t->str + PL_VALUE_STRING_MAX, v->s, t->pslen) != 0;
    }
    return 1;
}

/* A new value of quality `q` (good, or uncertain as the device said); `force`: publish
 * even when neither value nor quality changed (the flags did). */
static void tag_value(pl_engine_t *e, tag_t *t, const pl_value_t *raw, uint64_t wall,
                      pl_quality_t q, int force)
{
    const pl_value_t *v = raw;
    pl_value_t scaled;
    int changed, qmoved;

    if (t->proto->scaled && (raw->type == PL_VT_INT || raw->type == PL_VT_FLOAT)) {
        double x = raw->type == PL_VT_INT ? (double)raw->i : raw->f;

        scaled.type = PL_VT_FLOAT;
        scaled.f = x * t->proto->gain + t->proto->offset;
        scaled.i = 0;
        v = &scaled;
    }
    if (v->type == PL_VT_STRING && t->str == NULL) {
        t->str = calloc(2, PL_VALUE_STRING_MAX);
        if (t->str == NULL) { /* cannot keep it: the tag stays as it was */
            pl_log(e->log, PL_LOG_ERROR, "tag %s: out of memory for a string value", t->name);
            return;
        }
    }
    qmoved = t->quality != q;
    changed = force || qmoved || value_changed(t, v);
    t->vtype = (uint8_t)v->type;
    if (v->type == PL_VT_FLOAT)
        t->v.f = v->f;
    else
        t->v.i = v->i; /* 0 for PL_VT_NONE and PL_VT_STRING */
    if (v->type == PL_VT_STRING) {
        size_t n = pl_value_string_len(v);

        memcpy(t->str, v->s, PL_VALUE_STRING_MAX);
        t->slen = (uint8_t)(n < PL_VALUE_STRING_MAX ? n : PL_VALUE_STRING_MAX);
    }
    t->quality = (uint8_t)q;
    t->error = 0;
    t->detail = NULL;
    t->ts_ms = wall;
    t->last_good = uv_now(e->loop);
    if (changed)
        publish(e, t, qmoved);
}

static void tag_good(pl_engine_t *e, tag_t *t, const pl_value_t *raw, uint64_t wall)
{
    tag_value(e, t, raw, wall, PL_Q_GOOD, 0);
}

/* `detail` must stay where it is until the tag's next change (a block's or a device's). */
static void tag_bad_x(pl_engine_t *e, tag_t *t, int code, const char *detail, uint64_t wall,
                      int force)
{
    int qmoved = t->quality != PL_Q_BAD, changed = force || qmoved || t->error != code;

    t->quality = PL_Q_BAD;
    t->error = code;
    t->detail = detail[0] != '\0' ? detail : NULL;
    t->ts_ms = wall;
    if (changed)
        publish(e, t, qmoved);
}

static void tag_bad(pl_engine_t *e, tag_t *t, int code, const char *detail, uint64_t wall)
{
    tag_bad_x(e, t, code, detail, wall, 0);
}

/* The group's tag `i` in the order the tags were defined (the order publications take when
 * a whole group changes at once). */
static tag_t *group_tag(const group_t *g, size_t i)
{
    return g->order != NULL ? g->order[i] : g->tags[i];
}

static void check_stale(pl_engine_t *e, group_t *g, uint64_t now)
{
    size_t i;
    uint64_t limit = g->scan->def.stale_ms;

    if (g->fresh_since != 0 && now - g->fresh_since <= limit)
        return; /* no good tag can be older than the limit */
    for (i = 0; i < g->ntags; i++) {
        tag_t *t = group_tag(g, i);

        if (t->quality == PL_Q_GOOD && now - t->last_good > limit) {
            t->quality = PL_Q_UNCERTAIN;
            publish(e, t, 1);
        }
    }
}

/* A whole definition of the tag, for the drivers' write and check. */
static void tag_def(const tag_t *t, pl_tag_def_t *def)
{
    *def = *t->proto;
    def->name = t->name;
    def->address = t->address;
    def->device = t->dev->def.name;
    def->scan = is_evt(t->dev) ? "" : t->dev->e->scans[t->scan].def.name;
}

/* --- device queue ------------------------------------------------------------------ */

static void op_push(op_t **head, op_t **tail, op_t *op)
{
    op->next = NULL;
    if (*tail != NULL)
        (*tail)->next = op;
    else
        *head = op;
    *tail = op;
}

static op_t *op_pop(op_t **head, op_t **tail)
{
    op_t *op = *head;

    if (op != NULL) {
        *head = op->next;
        if (*head == NULL)
            *tail = NULL;
        op->next = NULL;
    }
    return op;
}

static void write_finish(wop_t *w, const pl_status_t *st)
{
    edev_t *d = w->dev;

    if (st->code != 0) {
        d->st.writes_failed++;
        PLOG(d, PL_LOG_WARN, "write %s: %s (%s)%s%s", w->tag->name, pl_strerror(st->code),
             pl_err_name(st->code), st->detail[0] ? ": " : "", st->detail);
    }
    w->cb(d->e, st, w->ud);
    free(w);
}

static void group_block_done(block_t *b, const pl_status_t *st);
static void rtt_observe(edev_t *d, uint64_t sent_ns);

static void block_cb(void *ctx, const pl_status_t *st)
{
    block_t *b = ctx;
    edev_t *d = b->g->dev;

    d->inflight--;
    rtt_observe(d, b->slot->sent_ns);
    group_block_done(b, st);
    b->slot->next = d->slots;
    d->slots = b->slot;
    b->slot = NULL;
    if (!d->e->stopping)
        dev_pump(d);
    else
        handover_check(d);
}

static void write_cb(void *ctx, const pl_status_t *st)
{
    wop_t *w = ctx;
    edev_t *d = w->dev;

    d->inflight--;
    rtt_observe(d, w->sent_ns);
    if (st->code == 0) {
        d->fails = 0;
    } else {
        count_error(&d->st, st->code);
    }
    write_finish(w, st);
    if (!d->e->stopping)
        dev_pump(d);
    else
        handover_check(d);
}

static void dev_pump_run(edev_t *d);

/* Hands the device's waiting requests to its driver, as one batch. */
static void dev_pump(edev_t *d)
{
    pl_drv_dev_t *dd = d->dd;

    if (dd == NULL)
        return; /* waiting for a connection handed over by a reload */
    /* one read slot (a device of one block): nothing to gather, and the driver need not
     * make room for a batch */
    if (d->drv->batch == NULL || d->max_inflight < 2 || d->nrslots < 2) {
        dev_pump_run(d);
        return;
    }
    d->drv->batch(dd, 1);
    dev_pump_run(d);
    d->drv->batch(dd, 0); /* the same driver device, even if it was handed over meanwhile */
}

static void dev_pump_run(edev_t *d)
{
    pl_tag_def_t def;
    pl_status_t st;
    op_t *op;
    int rc;

    if (d->dd == NULL)
        return; /* waiting for a connection handed over by a reload */
    while (d->inflight < d->max_inflight && !d->e->stopping) {
        op = op_pop(&d->whead, &d->wtail);
        if (op != NULL) {
            wop_t *w = (wop_t *)op;
            uint64_t waited = uv_now(d->e->loop) - w->queued_at;
            unsigned limit = d->def.write_timeout_ms;

            d->nwrites--;
            if (waited > limit) {
                pl_status_set(&st, PL_ETIMEOUT, 0, "not sent within %u ms", limit);
                write_finish(w, &st);
                continue;
            }
            pl_status_clear(&st);
            tag_def(w->tag, &def);
            d->inflight++;
            w->sent_ns = uv_hrtime();
            rc = d->drv->write(d->dd, w->req, &w->tag->addr, &def, &w->raw, write_cb, w, &st);
            if (rc < 0) {
                d->inflight--;
                if (st.code == 0)
                    pl_status_set(&st, rc, 0, NULL);
                write_finish(w, &st);
            }
            continue;
        }
        if (d->slots == NULL) /* every block is in flight: no read waits */
            return;
        op = op_pop(&d->rhead, &d->rtail);
        if (op == NULL)
            return;
        {
            block_t *b = (block_t *)op;
            rslot_t *slot = d->slots;

            d->slots = slot->next;
            b->slot = slot;
            d->inflight++;
            slot->sent_ns = uv_hrtime();
            rc = d->drv->read(d->dd, slot->req, b->area, b->start, b->len, slot->buf, block_cb, b);
            if (rc < 0) {
                d->inflight--;
                pl_status_set(&st, rc, 0, NULL);
                group_block_done(b, &st);
                slot->next = d->slots;
                d->slots = slot;
                b->slot = NULL;
            }
        }
    }
}

/* Fails every queued write of `d` with `why`. */
static void fail_writes(edev_t *d, const pl_status_t *why)
{
    op_t *op;

    while ((op = op_pop(&d->whead, &d->wtail)) != NULL) {
        d->nwrites--;
        write_finish((wop_t *)op, why);
    }
}

static void demote(edev_t *d, uint64_t now)
{
    pl_engine_t *e = d->e;
    pl_status_t why = d->last_err;
    uint64_t wall = wall_now(e);
    size_t i, k;
    op_t *op;

    d->demoted = 1;
    d->demoted_until = now + d->def.demote_ms;
    PLOG(d, PL_LOG_WARN, "device %s: off scan for %u ms after %u failures: %s (%s)", d->def.name,
         d->def.demote_ms, d->fails, pl_strerror(why.code), pl_err_name(why.code));
    /* reads waiting are dropped with the cycle; their tags turn bad below */
    while ((op = op_pop(&d->rhead, &d->rtail)) != NULL)
        ((block_t *)op)->g->pending--;
    snprintf(d->demote_detail, sizeof(d->demote_detail), "off scan after %u failures: %.60s",
             d->fails, d->last_err.detail[0] ? d->last_err.detail : pl_strerror(d->last_err.code));
    for (i = 0; i < d->ngroups; i++)
        for (k = 0; k < d->groups[i]->ntags; k++)
            tag_bad(e, group_tag(d->groups[i], k), why.code, d->demote_detail, wall);
    pl_status_set(&why, PL_EOFFSCAN, 0, "device %s is off scan for %u ms", d->def.name,
                  d->def.demote_ms);
    fail_writes(d, &why);
}

/* --- cycles ------------------------------------------------------------------------ */

static void group_block_done(block_t *b, const pl_status_t *st)
{
    group_t *g = b->g;
    edev_t *d = g->dev;
    pl_engine_t *e = d->e;
    uint64_t wall = wall_now(e);
    size_t i;

    if (e->stopping)
        return;
    if (st->code == 0) {
        d->fails = 0;
        for (i = 0; i < b->ntags; i++) {
            pl_value_t v;

            d->drv->decode(&b->tags[i]->addr, b->tags[i]->proto, b->slot->buf, b->start, &v);
            tag_good(e, b->tags[i], &v, wall);
        }
    } else {
        d->fails++;
        d->last_err = *st;
        count_error(&d->st, st->code);
        memcpy(b->detail, st->detail, sizeof(b->detail));
        for (i = 0; i < b->ntags; i++)
            tag_bad(e, b->tags[i], st->code, b->detail, wall);
    }
    if (st->code != 0)
        g->cycle_failed = 1;
    if (g->pending > 0 && --g->pending == 0) {
        d->st.cycles++;
        if (!g->cycle_failed)
            g->fresh_since = g->cycle_start;
    }
    if (st->code != 0 && !d->demoted && d->fails >= d->def.demote_after)
        demote(d, uv_now(e->loop));
}

static void group_start(group_t *g)
{
    edev_t *d = g->dev;
    size_t i;

    if (d->dd == NULL) {
        g->missed = 1; /* the connection is still being handed over by a reload */
        return;
    }
    if (g->pending > 0) {
        d->st.overruns++; /* the previous cycle is still running: skip this one */
        return;
    }
    g->pending = (unsigned)g->nblocks;
    g->cycle_failed = 0;
    g->cycle_start = uv_now(d->e->loop);
    for (i = 0; i < g->nblocks; i++)
        op_push(&d->rhead, &d->rtail, &g->blocks[i]->op);
    dev_pump(d);
}

static void on_scan(uv_timer_t *timer)
{
    scan_t *s = timer->data;
    pl_engine_t *e = s->e;
    uint64_t now = uv_now(e->loop);
    uint32_t skipped;
    size_t i;

    if (e->stopping)
        return;
    skipped = pl_sched_advance(&s->due, now, s->def.period_ms);
    for (i = 0; i < s->ngroups; i++) {
        group_t *g = s->groups[i];
        edev_t *d = g->dev;

        d->st.overruns += skipped;
        check_stale(e, g, now);
        if (d->demoted) {
            if (now < d->demoted_until)
                continue;
            d->demoted = 0;
            d->fails = d->def.demote_after > 0 ? d->def.demote_after - 1 : 0; /* one probe */
            pl_log(e->log, PL_LOG_INFO, "device %s: back on scan, retrying", d->def.name);
        }
        group_start(g);
        if (e->stopping)
            return;
    }
    uv_timer_start(&s->timer, on_scan, s->due - now, 0);
}

/* --- event-driven devices ----------------------------------------------------------- */

static tag_t *find_tag(const pl_engine_t *e, const char *name);

static tag_t *evt_tag(const edev_t *d, size_t i)
{
    return (tag_t *)(void *)((uintptr_t)d->eaddrs[i] - offsetof(tag_t, addr));
}

/* A tag's staleness limit: its own `stale`, else its device's; 0: never stale. */
static unsigned evt_stale(const edev_t *d, const tag_t *t)
{
    return t->proto->stale_ms != 0 ? t->proto->stale_ms : d->def.stale_ms;
}

static void on_stale(uv_timer_t *timer);

/* The staleness timer fires `in` ms from now (sooner than it would, when it runs). */
static void stale_arm(edev_t *d, uint64_t now, uint64_t in)
{
    if (uv_is_active((uv_handle_t *)&d->stale_timer) && d->stale_due <= now + in)
        return;
    d->stale_due = now + in;
    uv_timer_start(&d->stale_timer, on_stale, in, 0);
}

/* Staleness without a walk per value and without a timer per tag: the device's one timer
 * runs only while a tag is good, fires when the oldest good value may have grown too old
 * for its tag's limit (a tag's own `stale`, else the device's), and then walks the
 * device's tags once. It is set again at the next tag's limit, but never sooner than an
 * eighth of the smallest limit, so a device whose tags age one after the other costs at
 * most eight walks per limit (a tag turns uncertain at most that late). */
static void on_stale(uv_timer_t *timer)
{
    edev_t *d = timer->data;
    pl_engine_t *e = d->e;
    uint64_t now = uv_now(e->loop), first = UINT64_MAX, next;
    size_t i;

    if (e->stopping)
        return;
    for (i = 0; i < d->nevt; i++) {
        tag_t *t = evt_tag(d, i);
        uint64_t limit = evt_stale(d, t);

        if (t->quality != PL_Q_GOOD || limit == 0)
            continue;
        if (now - t->last_good > limit) {
            t->quality = PL_Q_UNCERTAIN;
            publish(e, t, 1);
        } else if (t->last_good + limit + 1 < first) {
            first = t->last_good + limit + 1;
        }
    }
    if (first == UINT64_MAX)
        return; /* no good tag: the next value starts the timer again */
    next = first > now ? first - now : 0;
    if (next < d->stale_min / 8u + 1u)
        next = d->stale_min / 8u + 1u;
    d->stale_due = now + next;
    uv_timer_start(&d->stale_timer, on_stale, next, 0);
}

/* pl_drv_push_cb: a value the device sent (driver.h states the contract). */
static void on_push(void *ud, const pl_drv_addr_t *a, const pl_value_t *raw,
                    const pl_drv_meta_t *meta)
{
    edev_t *d = ud;
    pl_engine_t *e = d->e;
    uintptr_t p = (uintptr_t)a - offsetof(tag_t, addr), lo = (uintptr_t)e->tags;
    pl_quality_t q = meta != NULL ? meta->quality : PL_Q_GOOD;
    unsigned flags = meta != NULL ? meta->flags & ((1u << PL_QF_COUNT) - 1u) : 0;
    uint64_t wall;
    tag_t *t;
    int fmoved;

    if (a == NULL || raw == NULL || p < lo || p >= lo + e->ntags * sizeof(tag_t) ||
        (p - lo) % sizeof(tag_t) != 0)
        return;
    t = (tag_t *)(void *)p;
    if (t->dev != d)
        return;
    if (e->stopping) {
        /* a reload: the connection waits to be handed over (a write in flight) and the
         * driver has not subscribed again yet; the value goes to the new engine's tag of
         * the same name, so nothing the driver acknowledges is lost */
        edev_t *to = d->adopt_to;
        tag_t *nt = to != NULL && !to->e->stopping ? find_tag(to->e, t->name) : NULL;

        if (nt != NULL && nt->dev == to)
            on_push(to, &nt->addr, raw, meta);
        return;
    }
    wall = wall_now(e);
    fmoved = t->flags != flags || d->esrc[t->scan] != (meta != NULL ? meta->source_ms : 0);
    t->flags = (uint8_t)flags;
    d->esrc[t->scan] = meta != NULL ? meta->source_ms : 0;
    if (q == PL_Q_BAD) {
        tag_bad_x(e, t, meta->error != 0 ? meta->error : PL_EVALUE,
                  meta->detail != NULL ? meta->detail : "", wall, fmoved);
        return;
    }
    tag_value(e, t, raw, wall, q == PL_Q_UNCERTAIN ? PL_Q_UNCERTAIN : PL_Q_GOOD, fmoved);
    if (d->stale_init && evt_stale(d, t) > 0)
        stale_arm(d, uv_now(e->loop), (uint64_t)evt_stale(d, t) + 1);
}

static void evt_subscribe(edev_t *d)
{
    pl_status_t err;

    pl_status_clear(&err);
    if (d->drv->subscribe(d->dd, d->eaddrs, d->nevt, on_push, d, &err) < 0)
        PLOG(d, PL_LOG_ERROR, "device %s: its values cannot be subscribed to: %s (%s)%s%s",
             d->def.name, pl_strerror(err.code), pl_err_name(err.code), err.detail[0] ? ": " : "",
             err.detail);
}

/* The connection of an event-driven device went down: its tags are bad until their next
 * value. */
static void evt_link_down(edev_t *d, const pl_status_t *st)
{
    uint64_t wall = wall_now(d->e);
    size_t i;

    snprintf(d->link_detail, sizeof(d->link_detail), "connection down: %.70s",
             st->detail[0] ? st->detail : pl_strerror(st->code));
    for (i = 0; i < d->nevt && !d->e->stopping; i++)
        tag_bad(d->e, evt_tag(d, i), st->code, d->link_detail, wall);
}

/* --- writes ------------------------------------------------------------------------ */

static int cmp_tag_name(const void *a, const void *b)
{
    const tag_t *const *x = a, *const *y = b;

    return strcmp((*x)->name, (*y)->name);
}

static tag_t *tag_by_name(const pl_engine_t *e, size_t i)
{
    return &e->tags[e->by_name[i]];
}

static tag_t *find_tag(const pl_engine_t *e, const char *name)
{
    size_t lo = 0, hi = e->ntags;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, tag_by_name(e, mid)->name);

        if (c == 0)
            return tag_by_name(e, mid);
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* Engineering value -> the raw value the driver encodes. */
static int unscale(const tag_t *t, const pl_value_t *in, pl_value_t *out, pl_status_t *err)
{
    double x;

    *out = *in;
    if (!t->proto->scaled)
        return 0;
    if (in->type != PL_VT_INT && in->type != PL_VT_FLOAT)
        return pl_status_set(err, PL_EVALUE, 0, "tag '%s' is scaled: a number is expected",
                             t->name);
    x = in->type == PL_VT_INT ? (double)in->i : in->f;
    if (t->proto->gain == 0.0)
        return pl_status_set(err, PL_EVALUE, 0, "tag '%s' has gain 0", t->name);
    x = (x - t->proto->offset) / t->proto->gain;
    if (t->vtype == PL_VT_FLOAT || t->vtype == PL_VT_NONE) {
        /* raw type not known from a read yet: give the driver a float; integer kinds
         * reject a fraction, so round first when it is near an integer */
        double r = round(x);

        out->type = PL_VT_FLOAT;
        out->f = fabs(x - r) < 1e-9 ? r : x;
        return 0;
    }
    out->type = PL_VT_INT;
    out->i = (int64_t)llround(x);
    return 0;
}

int pl_engine_write(pl_engine_t *e, const char *tag, const pl_value_t *value, pl_write_cb cb,
                    void *ud, pl_status_t *err)
{
    tag_t *t;
    edev_t *d;
    wop_t *w;
    pl_value_t raw;
    int rc;

    if (e == NULL || tag == NULL || value == NULL || cb == NULL)
        return pl_status_set(err, PL_EINVAL, 0, NULL);
    if (e->stopping)
        return pl_status_set(err, PL_ESTOPPED, 0, "the engine is stopping");
    t = find_tag(e, tag);
    if (t == NULL)
        return pl_status_set(err, PL_ENOTAG, 0, "no tag '%.60s'", tag);
    if (!t->proto->writable)
        return pl_status_set(err, PL_EREADONLY, 0, "tag '%.60s' is not writable", tag);
    d = t->dev;
    if (d->demoted)
        return pl_status_set(err, PL_EOFFSCAN, 0, "device %s is off scan", d->def.name);
    rc = unscale(t, value, &raw, err);
    if (rc == 0) {
        pl_tag_def_t def;

        tag_def(t, &def);
        rc = d->drv->check(&t->addr, &def, &raw, err);
    }
    if (rc < 0)
        return rc;
    if (d->def.write_policy == PL_WRITES_LATEST) {
        op_t *op;

        for (op = d->whead; op != NULL; op = op->next) {
            wop_t *old = (wop_t *)op;

            if (old->tag == t) {
                pl_status_t st;
                pl_write_cb ocb = old->cb;
                void *oud = old->ud;

                pl_status_set(&st, PL_ESUPERSEDED, 0, "a newer value for '%.60s' was queued", tag);
                old->raw = raw;
                old->cb = cb;
                old->ud = ud;
                d->st.writes++;
                ocb(e, &st, oud);
                return 0;
            }
        }
    }
    if (d->nwrites >= d->def.write_queue)
        return pl_status_set(err, PL_ENO_MSG, 0, "%u writes already wait for device %s", d->nwrites,
                             d->def.name);
    w = calloc(1, sizeof(*w) + d->drv->req_size);
    if (w == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    w->op.kind = OP_WRITE;
    w->dev = d;
    w->tag = t;
    w->raw = raw;
    w->cb = cb;
    w->ud = ud;
    w->queued_at = uv_now(e->loop);
    op_push(&d->whead, &d->wtail, &w->op);
    d->nwrites++;
    d->st.writes++;
    dev_pump(d);
    return 0;
}

/* Checks an item's protocol keys; the error names the item ("tag 'x': 'swap' is ..."). */
static int keys_check(const pl_protocol_t *p, pl_key_scope_t scope, const char *what,
                      const char *name, const char *keys, pl_status_t *err)
{
    char detail[PL_STATUS_DETAIL_MAX] = "";
    pl_status_t st;
    int rc;

    pl_status_clear(&st);
    rc = pl_protocol_keys_check(p, scope, keys, &st);
    if (rc == 0)
        return 0;
    memcpy(detail, st.detail, sizeof(detail));
    return pl_status_set(err, PL_ECONFIG, 0, "%s '%.30s': %.80s", what, name, detail);
}

/* --- reload: handing connections over ----------------------------------------------- */

/* Clears what follows a text's NUL, so that two equal definitions compare equal byte for
 * byte whatever a caller's buffers held before (a reload builds its definitions again). */
static void text_canon(char *s, size_t cap)
{
    size_t n = strnlen(s, cap);

    if (n < cap)
        memset(s + n, 0, cap - n);
}

static void hosts_canon(pl_hostlist_t *h)
{
    size_t end = 0, i;

    for (i = 0; i < PL_HOSTLIST_MAX; i++) {
        size_t at = h->host[i].name;

        if (i >= h->count) {
            memset(&h->host[i], 0, sizeof(h->host[i]));
        } else if (at < PL_HOSTLIST_TEXT) {
            size_t e = at + strnlen(h->text + at, PL_HOSTLIST_TEXT - at) + 1u;

            if (e > end)
                end = e;
        }
    }
    if (end < PL_HOSTLIST_TEXT)
        memset(h->text + end, 0, PL_HOSTLIST_TEXT - end);
}

static void line_def_canon(pl_line_def_t *d)
{
    text_canon(d->name, sizeof(d->name));
    text_canon(d->protocol, sizeof(d->protocol));
    text_canon(d->simulator, sizeof(d->simulator));
    text_canon(d->backup_simulator, sizeof(d->backup_simulator));
    text_canon(d->local_addr, sizeof(d->local_addr));
    text_canon(d->keys, sizeof(d->keys));
    hosts_canon(&d->line.hosts);
    hosts_canon(&d->line.backup);
}

static void device_def_canon(pl_device_def_t *d)
{
    text_canon(d->name, sizeof(d->name));
    text_canon(d->line, sizeof(d->line));
    text_canon(d->keys, sizeof(d->keys));
}

/* Both definitions went through line_def_canon/device_def_canon when their engine was made:
 * texts compare by content. */
static int same_defs(const edev_t *a, const edev_t *b)
{
    pl_line_def_t la = a->line->def, lb = b->line->def;

    /* local_addr points into each definition's own storage: compare the text instead */
    la.line.local_addr = NULL;
    lb.line.local_addr = NULL;
    return memcmp(&a->def, &b->def, sizeof(a->def)) == 0 && memcmp(&la, &lb, sizeof(la)) == 0;
}

static int cmp_dev_name(const void *a, const void *b)
{
    const edev_t *const *x = a, *const *y = b;

    return strcmp((*x)->def.name, (*y)->def.name);
}

/* The device of `old` called `name` (names are unique in an engine): a binary search in
 * `by_name` (old's devices sorted by name), or a walk when there was no memory for it. */
static edev_t *old_device(pl_engine_t *old, edev_t **by_name, const char *name)
{
    size_t lo = 0, hi = old->ndevs, k;

    if (by_name == NULL) {
        for (k = 0; k < old->ndevs; k++)
            if (strcmp(old->devs[k].def.name, name) == 0)
                return &old->devs[k];
        return NULL;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, by_name[mid]->def.name);

        if (c == 0)
            return by_name[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* The options that make a tag's value out of what its device sends. */
static int same_options(const pl_tag_def_t *a, const pl_tag_def_t *b)
{
    return a->scaled == b->scaled && a->gain == b->gain && a->offset == b->offset &&
           a->deadband == b->deadband && a->stale_ms == b->stale_ms && a->keys != NULL &&
           b->keys != NULL && strcmp(a->keys, b->keys) == 0;
}

/* Tag `t` of a device that keeps its connection starts with the state `ot` had in the old
 * engine: the last value, its quality, time and flags, not "no value" until the device is
 * read again (an event-driven one may send a point only when it changes). Good and
 * uncertain states only: a bad one's detail lives in the old engine. The first value read
 * is published as after any start (`published` stays 0). */
static void carry_state(tag_t *t, const tag_t *ot)
{
    if (ot->quality == PL_Q_BAD || ot->vtype == PL_VT_NONE)
        return;
    if (ot->vtype == PL_VT_STRING) {
        if (ot->str == NULL || (t->str = calloc(2, PL_VALUE_STRING_MAX)) == NULL)
            return;
        memcpy(t->str, ot->str, PL_VALUE_STRING_MAX);
        t->slen = ot->slen;
    }
    t->v = ot->v;
    t->vtype = ot->vtype;
    t->quality = ot->quality;
    t->flags = ot->flags;
    t->ts_ms = ot->ts_ms;
    t->last_good = ot->last_good;
    if (is_evt(t->dev)) {
        edev_t *d = t->dev;
        uint64_t now = uv_now(d->e->loop), due = t->last_good + evt_stale(d, t) + 1u;

        d->esrc[t->scan] = ot->dev->esrc[ot->scan];
        /* the value ages from its read, as one pushed now would (on_push) */
        if (d->stale_init && evt_stale(d, t) > 0 && t->quality == PL_Q_GOOD)
            stale_arm(d, now, due > now ? due - now : 0);
    }
}

/* After pl_engine_adopt() has paired the devices: each tag of a kept device whose name,
 * address and options are the same in `old` takes its state. Both engines keep their tags
 * sorted by name: one walk through the two lists, not a search per tag. */
static void carry_states(pl_engine_t *e, const pl_engine_t *old)
{
    size_t i = 0, j = 0;

    while (i < e->ntags && j < old->ntags) {
        tag_t *t = tag_by_name(e, i);
        const tag_t *ot = tag_by_name(old, j);
        int c = strcmp(t->name, ot->name);

        if (c < 0) {
            i++;
        } else if (c > 0) {
            j++;
        } else {
            if (t->dev->adopt_from != NULL && ot->dev == t->dev->adopt_from &&
                strcmp(ot->address, t->address) == 0 && same_options(ot->proto, t->proto))
                carry_state(t, ot);
            i++;
            j++;
        }
    }
}

size_t pl_engine_adopt(pl_engine_t *e, pl_engine_t *old)
{
    size_t i, n = 0;
    edev_t **by_name;

    if (e == NULL || old == NULL || e->started || old->stopping)
        return 0;
    /* devices found by name in O(log n), not by comparing every pair (10 000 devices: 10^8
     * name comparisons) */
    by_name = malloc((old->ndevs + 1) * sizeof(*by_name));
    if (by_name != NULL) {
        for (i = 0; i < old->ndevs; i++)
            by_name[i] = &old->devs[i];
        qsort(by_name, old->ndevs, sizeof(*by_name), cmp_dev_name);
    }
    for (i = 0; i < e->ndevs; i++) {
        edev_t *nd = &e->devs[i];
        edev_t *od = old_device(old, by_name, nd->def.name);

        if (od == NULL || od->dd == NULL || od->handing || !same_defs(od, nd))
            continue;
        nd->drv->dev_free(nd->dd); /* never started: nothing in flight */
        nd->dd = NULL;
        nd->adopt_from = od;
        od->adopt_to = nd;
        od->handing = 1;
        old->handovers++;
        n++;
    }
    free(by_name);
    if (n > 0)
        carry_states(e, old);
    return n;
}

/* New engine: the cycles that fell due while the connection was being handed over. */
static void run_missed_cycles(edev_t *d)
{
    size_t i;

    for (i = 0; i < d->ngroups; i++) {
        if (d->groups[i]->missed) {
            d->groups[i]->missed = 0;
            group_start(d->groups[i]);
        }
    }
}

/* Old engine, stopping: once `d` has nothing in flight its connection moves on (or is
 * closed, when the new engine was stopped first). */
static void handover_check(edev_t *d)
{
    pl_engine_t *old = d->e;
    edev_t *to = d->adopt_to;

    if (!d->handing || d->inflight > 0 || !old->stopping)
        return;
    d->handing = 0;
    d->adopt_to = NULL;
    if (to == NULL) {
        d->drv->dev_free(d->dd);
    } else {
        to->dd = d->dd;
        to->adopt_from = NULL;
        to->drv->rebind(to->dd, to);
        if (is_evt(to) && to->e->started) /* else pl_engine_start() subscribes, once */
            evt_subscribe(to);
        pl_log(old->log, PL_LOG_INFO, "device %s: connection kept across the reload", to->def.name);
        if (!to->e->stopping) {
            run_missed_cycles(to);
            dev_pump(to);
        }
    }
    d->dd = NULL;
    if (--old->handovers == 0 && old->release_pending)
        engine_release(old);
}

/* --- building ---------------------------------------------------------------------- */

static void on_link(void *ud, const pl_status_t *st)
{
    edev_t *d = ud;

    if (st == NULL)
        PLOG(d, PL_LOG_INFO, "device %s: connected", d->def.name);
    else
        PLOG(d, PL_LOG_WARN, "device %s: %s (%s)%s%s", d->def.name, pl_strerror(st->code),
             pl_err_name(st->code), st->detail[0] ? ": " : "", st->detail);
    if (st != NULL && is_evt(d) && !d->e->stopping)
        evt_link_down(d, st);
    /* a reload waits to hand this connection over (a write in flight): the new engine's
     * tags, which started with this engine's values, learn that the link is down */
    if (st != NULL && d->e->stopping && d->adopt_to != NULL && is_evt(d->adopt_to) &&
        !d->adopt_to->e->stopping)
        evt_link_down(d->adopt_to, st);
    if (d->e->cbs.on_device != NULL)
        d->e->cbs.on_device(d->e, d->def.name, st, d->e->ud);
}

static void engine_release(pl_engine_t *e)
{
    size_t i, k;

    if (e->groups != NULL) {
        for (i = 0; i < e->ngroups; i++) {
            group_t *g = &e->groups[i];

            for (k = 0; k < g->nblocks; k++)
                free(g->blocks[k]);
            free(g->blocks);
            free(g->tags);
            free(g->order);
        }
    }
    if (e->devs != NULL) {
        for (i = 0; i < e->ndevs; i++) {
            if (e->devs[i].dd != NULL)
                e->devs[i].drv->dev_free(e->devs[i].dd);
            if (e->devs[i].rslots != NULL) { /* after dev_free: its callbacks use them */
                for (k = 0; k < e->devs[i].nrslots; k++)
                    free(e->devs[i].rslots[k]);
                free(e->devs[i].rslots);
            }
            free(e->devs[i].groups);
            free(e->devs[i].eaddrs);
            free(e->devs[i].esrc);
        }
    }
    if (e->scans != NULL)
        for (i = 0; i < e->nscans; i++)
            free(e->scans[i].groups);
    free(e->groups);
    free(e->devs);
    free(e->lines);
    if (e->tags != NULL)
        for (i = 0; i < e->ntags; i++)
            free(e->tags[i].str);
    while (e->arena != NULL) {
        arena_t *next = e->arena->next;

        free(e->arena);
        e->arena = next;
    }
    free(e->addrs.slot);
    free(e->protos.slot);
    if (e->texts != NULL && e->texts_free != NULL)
        e->texts_free(e->texts);
    free(e->tags);
    free(e->by_name);
    free(e->scans);
    free(e);
}

/* Names of one section (lines, devices or scan classes), sorted once, for duplicate
 * checks and lookups in O(n log n) and O(log n): configurations may hold 100 000 devices
 * and a million tags, so nothing at start-up may compare every name with every other. */
typedef struct {
    const char *name;
    size_t index;
} name_ix_t;

static int cmp_name_ix(const void *a, const void *b)
{
    const name_ix_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c != 0 ? c : (x->index < y->index ? -1 : x->index > y->index);
}

/* Builds the sorted index of `n` names found at base + i * stride; returns NULL when out of
 * memory. `*dup` (when there is one) is the later of two equal names. */
static name_ix_t *name_index(const void *base, size_t n, size_t stride, long *dup)
{
    name_ix_t *ix = malloc((n + 1) * sizeof(*ix));
    size_t i;

    *dup = -1;
    if (ix == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        ix[i].name = (const char *)base + i * stride; /* the name is each struct's first field */
        ix[i].index = i;
    }
    qsort(ix, n, sizeof(*ix), cmp_name_ix);
    for (i = 1; i < n && *dup < 0; i++)
        if (strcmp(ix[i].name, ix[i - 1].name) == 0)
            *dup = (long)ix[i].index;
    return ix;
}

_Static_assert(offsetof(pl_line_def_t, name) == 0, "name_index() reads the first field");
_Static_assert(offsetof(pl_device_def_t, name) == 0, "name_index() reads the first field");
_Static_assert(offsetof(pl_scan_def_t, name) == 0, "name_index() reads the first field");

/* The index of `name`, or -1. */
static long name_find(const name_ix_t *ix, size_t n, const char *name)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, ix[mid].name);

        if (c == 0)
            return (long)ix[mid].index;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

static int name_dup(const char *kind, const char *name, pl_status_t *err)
{
    return pl_status_set(err, PL_ECONFIG, 0, "%s '%.60s' is defined twice", kind, name);
}

/* A tag's texts are pointers (engine.h): each must be given and within its limit. */
static int tag_texts_check(const pl_tag_def_t *td, size_t i, pl_status_t *err)
{
    static const char *const what[4] = {"name", "device", "address", "scan class"};
    const char *text[4] = {td->name, td->device, td->address, td->scan};
    size_t k;

    for (k = 0; k < 4; k++) {
        size_t max = k == 2 ? PL_ADDRESS_MAX : PL_NAME_MAX;

        if (text[k] == NULL && k == 3)
            continue; /* no scan class: an event-driven device's tag (checked below) */
        if (text[k] == NULL)
            return td->name != NULL
                       ? pl_status_set(err, PL_ECONFIG, 0, "tag '%.60s': no %s", td->name, what[k])
                       : pl_status_set(err, PL_ECONFIG, 0, "tag %zu: no name", i + 1);
        if (strnlen(text[k], max) >= max)
            return pl_status_set(err, PL_ECONFIG, 0, "tag '%.30s': %s longer than %zu bytes",
                                 td->name, what[k], max - 1);
    }
    if (td->keys != NULL && strnlen(td->keys, PL_TAG_KEYS_MAX) >= PL_TAG_KEYS_MAX)
        return pl_status_set(err, PL_ECONFIG, 0, "tag '%.30s': keys longer than %u bytes", td->name,
                             PL_TAG_KEYS_MAX - 1);
    return 0;
}

/* Builds the groups and plans their blocks. */
static int plan_groups(pl_engine_t *e, pl_status_t *err)
{
    size_t i, k, gi = 0, ncells = e->ndevs * e->nscans;
    size_t *count, *cell_group;
    int rc = 0;

    /* One group per (device, scan class) that has tags, found in one pass over the tags:
     * cell = device index * nscans + scan index. */
    e->groups = calloc(ncells + 1, sizeof(*e->groups));
    count = calloc(ncells + 1, sizeof(*count));
    cell_group = calloc(ncells + 1, sizeof(*cell_group));
    if (e->groups == NULL || count == NULL || cell_group == NULL) {
        free(count);
        free(cell_group);
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    }
    for (i = 0; i < e->ntags; i++)
        if (!is_evt(e->tags[i].dev))
            count[(size_t)(e->tags[i].dev - e->devs) * e->nscans + e->tags[i].scan]++;
    for (k = 0; k < ncells && rc == 0; k++) {
        group_t *g = &e->groups[gi];

        if (count[k] == 0)
            continue;
        g->dev = &e->devs[k / e->nscans];
        g->scan = &e->scans[k % e->nscans];
        g->tags = calloc(count[k], sizeof(*g->tags));
        if (g->tags == NULL)
            rc = pl_status_set(err, PL_ENOMEM, 0, NULL);
        cell_group[k] = gi++;
    }
    e->ngroups = gi;
    for (i = 0; i < e->ntags && rc == 0; i++) {
        group_t *g;

        if (is_evt(e->tags[i].dev))
            continue;
        g = &e->groups[cell_group[(size_t)(e->tags[i].dev - e->devs) * e->nscans +
                                  e->tags[i].scan]];
        g->tags[g->ntags++] = &e->tags[i];
    }
    free(count);
    free(cell_group);
    if (rc < 0)
        return rc;

    for (i = 0; i < e->ngroups && rc == 0; i++) {
        group_t *g = &e->groups[i];
        edev_t *d = g->dev;
        pl_plan_limits_t lim;
        pl_range_t *ranges = calloc(g->ntags, sizeof(*ranges));
        pl_block_t *blocks = calloc(g->ntags, sizeof(*blocks));
        uint32_t *map = calloc(g->ntags, sizeof(*map));
        size_t scratch_len = pl_plan_scratch_size(g->ntags);
        void *scratch = malloc(scratch_len > 0 ? scratch_len : 1);
        tag_t **sorted;
        size_t at;
        int nb;

        if (ranges == NULL || blocks == NULL || map == NULL || scratch == NULL) {
            rc = pl_status_set(err, PL_ENOMEM, 0, NULL);
            goto next;
        }
        for (k = 0; k < g->ntags; k++) {
            ranges[k].area = g->tags[k]->addr.area;
            ranges[k].start = g->tags[k]->addr.start;
            ranges[k].len = g->tags[k]->addr.len;
        }
        memset(&lim, 0, sizeof(lim));
        lim.max_gap = d->def.max_gap;
        d->drv->limits(d->dd, &lim);
        nb = pl_plan(ranges, g->ntags, &lim, blocks, g->ntags, map, scratch, scratch_len);
        if (nb < 0) {
            rc = pl_status_set(err, nb, 0, "planning device %s failed", d->def.name);
            goto next;
        }
        g->blocks = calloc((size_t)nb, sizeof(*g->blocks));
        if (g->blocks == NULL) {
            rc = pl_status_set(err, PL_ENOMEM, 0, NULL);
            goto next;
        }
        g->nblocks = (size_t)nb;
        for (k = 0; k < (size_t)nb; k++) {
            block_t *b = calloc(1, sizeof(*b));

            g->blocks[k] = b;
            if (b == NULL) {
                rc = pl_status_set(err, PL_ENOMEM, 0, NULL);
                goto next;
            }
            b->op.kind = OP_READ;
            b->g = g;
            b->area = blocks[k].area;
            b->start = blocks[k].start;
            b->len = blocks[k].len;
        }
        /* each block's tags a slice of one list ordered by block (the tags of a block in the
         * order they were defined); the defined order is kept apart only when it differs */
        sorted = calloc(g->ntags + 1, sizeof(*sorted));
        if (sorted == NULL) {
            rc = pl_status_set(err, PL_ENOMEM, 0, NULL);
            goto next;
        }
        for (k = 0; k < g->ntags; k++)
            g->blocks[map[k]]->ntags++;
        for (k = 0, at = 0; k < (size_t)nb; k++) {
            g->blocks[k]->tags = sorted + at;
            at += g->blocks[k]->ntags;
            g->blocks[k]->ntags = 0;
        }
        for (k = 0; k < g->ntags; k++) {
            block_t *b = g->blocks[map[k]];

            b->tags[b->ntags++] = g->tags[k];
        }
        if (memcmp(sorted, g->tags, g->ntags * sizeof(*sorted)) != 0)
            g->order = g->tags;
        else
            free(g->tags);
        g->tags = sorted;
    next:
        free(ranges);
        free(blocks);
        free(map);
        free(scratch);
    }
    if (rc < 0)
        return rc;
    /* scan classes and devices point at their groups (counted first, filled second) */
    for (k = 0; k < e->ngroups; k++) {
        e->groups[k].scan->ngroups++;
        e->groups[k].dev->ngroups++;
    }
    for (i = 0; i < e->nscans; i++) {
        e->scans[i].groups = calloc(e->scans[i].ngroups + 1, sizeof(*e->scans[i].groups));
        if (e->scans[i].groups == NULL)
            return pl_status_set(err, PL_ENOMEM, 0, NULL);
        e->scans[i].ngroups = 0;
    }
    for (i = 0; i < e->ndevs; i++) {
        e->devs[i].groups = calloc(e->devs[i].ngroups + 1, sizeof(*e->devs[i].groups));
        if (e->devs[i].groups == NULL)
            return pl_status_set(err, PL_ENOMEM, 0, NULL);
        e->devs[i].ngroups = 0;
    }
    for (k = 0; k < e->ngroups; k++) {
        group_t *g = &e->groups[k];

        g->scan->groups[g->scan->ngroups++] = g;
        g->dev->groups[g->dev->ngroups++] = g;
    }
    return 0;
}

/* The name index: sorted as pointers, kept as 32-bit indices (half the size for good). */
static int sort_names(pl_engine_t *e, pl_status_t *err)
{
    tag_t **v = malloc((e->ntags + 1) * sizeof(*v));
    size_t i;

    if (v == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    for (i = 0; i < e->ntags; i++)
        v[i] = &e->tags[i];
    qsort(v, e->ntags, sizeof(*v), cmp_tag_name);
    for (i = 0; i < e->ntags; i++)
        e->by_name[i] = (uint32_t)(v[i] - e->tags);
    free(v);
    return 0;
}

#define FAIL_AT(sec, idx)                   \
    do {                                    \
        if (cfg->err_item != NULL) {        \
            cfg->err_item->section = (sec); \
            cfg->err_item->index = (idx);   \
        }                                   \
        goto fail;                          \
    } while (0)

int pl_engine_new(uv_loop_t *loop, const pl_engine_config_t *cfg, const pl_engine_cbs_t *cbs,
                  void *ud, pl_engine_t **out, pl_status_t *err)
{
    pl_engine_t *e;
    name_ix_t *scan_ix = NULL, *line_ix = NULL, *dev_ix = NULL;
    long dup = -1, dup2 = -1, dup3 = -1;
    size_t i;
    int rc;

    if (loop == NULL || cfg == NULL || out == NULL || cfg->ntags >= UINT32_MAX)
        return pl_status_set(err, PL_EINVAL, 0, NULL);
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    e->loop = loop;
    if (cbs != NULL)
        e->cbs = *cbs;
    e->ud = ud;
    e->log = cfg->log;
    pl_ratelimit_init(&e->rl, e->rl_slots, sizeof(e->rl_slots) / sizeof(e->rl_slots[0]));
    e->wall_ms = cfg->wall_ms;
    e->clock_ud = cfg->clock_ud;
    e->lines = calloc(cfg->nlines + 1, sizeof(*e->lines));
    e->devs = calloc(cfg->ndevices + 1, sizeof(*e->devs));
    e->tags = calloc(cfg->ntags + 1, sizeof(*e->tags));
    e->by_name = calloc(cfg->ntags + 1, sizeof(*e->by_name));
    e->scans = calloc(cfg->nscans + 1, sizeof(*e->scans));
    if (e->lines == NULL || e->devs == NULL || e->tags == NULL || e->by_name == NULL ||
        e->scans == NULL) {
        rc = pl_status_set(err, PL_ENOMEM, 0, NULL);
        goto fail;
    }

    scan_ix = name_index(cfg->scans, cfg->nscans, sizeof(*cfg->scans), &dup);
    line_ix = name_index(cfg->lines, cfg->nlines, sizeof(*cfg->lines), &dup2);
    dev_ix = name_index(cfg->devices, cfg->ndevices, sizeof(*cfg->devices), &dup3);
    if (scan_ix == NULL || line_ix == NULL || dev_ix == NULL) {
        rc = pl_status_set(err, PL_ENOMEM, 0, NULL);
        goto fail;
    }
    if (dup >= 0) {
        rc = name_dup("scan class", cfg->scans[dup].name, err);
        FAIL_AT(3, (size_t)dup);
    }
    if (dup2 >= 0) {
        rc = name_dup("line", cfg->lines[dup2].name, err);
        FAIL_AT(0, (size_t)dup2);
    }
    if (dup3 >= 0) {
        rc = name_dup("device", cfg->devices[dup3].name, err);
        FAIL_AT(1, (size_t)dup3);
    }
    for (i = 0; i < cfg->nscans; i++) {
        scan_t *s = &e->scans[i];

        if (cfg->scans[i].period_ms == 0) {
            rc = pl_status_set(err, PL_ECONFIG, 0, "scan class '%.60s': period must be > 0",
                               cfg->scans[i].name);
            FAIL_AT(3, i);
        }
        s->def = cfg->scans[i];
        if (s->def.stale_ms == 0)
            s->def.stale_ms = STALE_PERIODS * s->def.period_ms;
        s->e = e;
        e->nscans++;
    }
    for (i = 0; i < cfg->nlines; i++) {
        e->lines[i].def = cfg->lines[i];
        line_def_canon(&e->lines[i].def);
        if (e->lines[i].def.local_addr[0] != '\0')
            e->lines[i].def.line.local_addr = e->lines[i].def.local_addr;
        e->lines[i].proto = protocol_find(cfg->lines[i].protocol);
        if (e->lines[i].proto == NULL) {
            char list[128];

            rc = pl_status_set(
                err, PL_ECONFIG, 0, "line '%.60s': unknown protocol '%.15s', expected one of: %s",
                cfg->lines[i].name, cfg->lines[i].protocol, pl_protocol_list(list, sizeof(list)));
            FAIL_AT(0, i);
        }
        e->lines[i].drv = e->lines[i].proto->driver;
        rc = keys_check(e->lines[i].proto, PL_KEYS_LINE, "line", cfg->lines[i].name,
                        cfg->lines[i].keys, err);
        if (rc < 0)
            FAIL_AT(0, i);
        if (e->lines[i].def.line.port == 0)
            e->lines[i].def.line.port = e->lines[i].proto->port;
        if (e->lines[i].def.line.hosts.count == 0) {
            rc = pl_status_set(err, PL_ECONFIG, 0, "line '%.60s': no host", cfg->lines[i].name);
            FAIL_AT(0, i);
        }
        e->nlines++;
    }
    for (i = 0; i < cfg->ndevices; i++) {
        edev_t *d = &e->devs[i];
        long li;

        d->def = cfg->devices[i];
        device_def_canon(&d->def);
        d->e = e;
        li = name_find(line_ix, cfg->nlines, d->def.line);
        d->line = li >= 0 ? &e->lines[li] : NULL;
        if (d->line == NULL) {
            rc = pl_status_set(err, PL_ECONFIG, 0, "device '%.30s': line '%.30s' is not defined",
                               d->def.name, d->def.line);
            FAIL_AT(1, i);
        }
        if (d->def.max_gap == 0 && cfg->devices[i].max_gap == 0)
            d->def.max_gap = DEFAULT_MAX_GAP;
        if (d->def.demote_after == 0)
            d->def.demote_after = DEFAULT_DEMOTE_AFTER;
        if (d->def.demote_ms == 0)
            d->def.demote_ms = DEFAULT_DEMOTE_MS;
        if (d->def.write_timeout_ms == 0)
            d->def.write_timeout_ms = DEFAULT_WRITE_TIMEOUT;
        if (d->def.write_queue == 0)
            d->def.write_queue = DEFAULT_WRITE_QUEUE;
        d->drv = d->line->drv;
        rc = keys_check(d->line->proto, PL_KEYS_DEVICE, "device", d->def.name, d->def.keys, err);
        if (rc < 0)
            FAIL_AT(1, i);
        rc = d->drv->dev_new(loop, &d->line->def, &d->def, e->log, on_link, d, &d->dd, err);
        if (rc < 0)
            FAIL_AT(1, i);
        d->max_inflight = d->drv->max_inflight(d->dd);
        if (d->max_inflight == 0)
            d->max_inflight = 1;
        e->ndevs++;
    }
    for (i = 0; i < cfg->ntags; i++) {
        const pl_tag_def_t *td = &cfg->tags[i];
        tag_t *t = &e->tags[i];
        pl_tag_def_t proto, given;
        long di, si;

        rc = tag_texts_check(td, i, err);
        if (rc < 0)
            FAIL_AT(2, i);
        if (td->keys == NULL || td->scan == NULL) { /* drivers get keys and a scan always */
            given = *td;
            if (given.keys == NULL)
                given.keys = "";
            if (given.scan == NULL)
                given.scan = "";
            td = &given;
        }
        di = name_find(dev_ix, cfg->ndevices, td->device);
        /* event-driven devices' tags have no scan class (docs/config.md): refused when given,
         * since it would not mean what it says; polled devices' tags need one */
        if (di >= 0 && is_evt(&e->devs[di]) != (td->scan[0] == '\0')) {
            rc = pl_status_set(err, PL_ECONFIG, 0,
                               is_evt(&e->devs[di])
                                   ? "tag '%.30s': device '%.30s' sends its values itself, "
                                     "expected no scan class"
                                   : "tag '%.30s': device '%.30s' is polled, expected a scan "
                                     "class",
                               td->name, td->device);
            FAIL_AT(2, i);
        }
        if (di >= 0 && !is_evt(&e->devs[di]) && td->stale_ms != 0) {
            rc = pl_status_set(err, PL_ECONFIG, 0,
                               "tag '%.30s': 'stale' on a tag of device '%.30s', which is polled "
                               "(its scan class's 'stale' applies)",
                               td->name, td->device);
            FAIL_AT(2, i);
        }
        si = di >= 0 && is_evt(&e->devs[di]) ? 0 : name_find(scan_ix, cfg->nscans, td->scan);
        if (di < 0 || si < 0) {
            rc = pl_status_set(err, PL_ECONFIG, 0, "tag '%.30s': %s '%.30s' is not defined",
                               td->name, di < 0 ? "device" : "scan class",
                               di < 0 ? td->device : td->scan);
            FAIL_AT(2, i);
        }
        t->dev = &e->devs[di];
        t->scan = is_evt(t->dev) ? (uint32_t)t->dev->nevt++ : (uint32_t)si;
        rc = keys_check(t->dev->line->proto, PL_KEYS_TAG, "tag", td->name, td->keys, err);
        if (rc < 0)
            FAIL_AT(2, i);
        rc = t->dev->drv->addr_parse(t->dev->dd, td, &t->addr, err);
        if (rc < 0) {
            char detail[PL_STATUS_DETAIL_MAX] = "";

            if (err != NULL)
                memcpy(detail, err->detail, sizeof(detail));
            pl_status_set(err, rc, 0, "tag '%.30s': %.60s", td->name, detail);
            FAIL_AT(2, i);
        }
        /* the options alone, padding included, so that equal ones compare equal */
        memset(&proto, 0, sizeof(proto));
        proto.writable = td->writable;
        proto.scaled = td->scaled;
        proto.gain = td->gain;
        proto.offset = td->offset;
        proto.deadband = td->deadband;
        proto.stale_ms = td->stale_ms;
        proto.keys = intern(e, &e->addrs, td->keys, 0, 1);
        t->name = cfg->texts != NULL ? td->name : arena_str(e, td->name);
        t->address = intern(e, &e->addrs, td->address, 0, 1);
        /* tags with the same options usually come one after the other: compare with the
         * last tag's before hashing them */
        if (i > 0 && e->tags[i - 1].proto != NULL &&
            memcmp(e->tags[i - 1].proto, &proto, sizeof(proto)) == 0)
            t->proto = e->tags[i - 1].proto;
        else
            t->proto = intern(e, &e->protos, &proto, sizeof(proto), alignof(pl_tag_def_t));
        if (proto.keys == NULL || t->name == NULL || t->address == NULL || t->proto == NULL) {
            rc = pl_status_set(err, PL_ENOMEM, 0, NULL);
            goto fail;
        }
        t->quality = PL_Q_UNCERTAIN;
        e->ntags++;
    }
    rc = sort_names(e, err);
    if (rc < 0)
        goto fail;
    for (i = 1; i < e->ntags; i++) {
        if (strcmp(tag_by_name(e, i)->name, tag_by_name(e, i - 1)->name) == 0) {
            rc = name_dup("tag", tag_by_name(e, i)->name, err);
            FAIL_AT(2, (size_t)e->by_name[i]);
        }
    }
    rc = plan_groups(e, err);
    if (rc < 0)
        goto fail;
    for (i = 0; i < e->ndevs; i++) { /* event-driven devices: their tags' addresses */
        edev_t *d = &e->devs[i];

        if (!is_evt(d))
            continue;
        d->eaddrs = calloc(d->nevt + 1, sizeof(*d->eaddrs));
        d->esrc = calloc(d->nevt + 1, sizeof(*d->esrc));
        if (d->eaddrs == NULL || d->esrc == NULL) {
            rc = pl_status_set(err, PL_ENOMEM, 0, NULL);
            goto fail;
        }
    }
    for (i = 0; i < e->ntags; i++)
        if (is_evt(e->tags[i].dev)) {
            edev_t *d = e->tags[i].dev;
            unsigned limit = evt_stale(d, &e->tags[i]);

            d->eaddrs[e->tags[i].scan] = &e->tags[i].addr;
            if (limit > 0 && (d->stale_min == 0 || limit < d->stale_min))
                d->stale_min = limit;
        }
    for (i = 0; i < e->nscans; i++) {
        uv_timer_init(loop, &e->scans[i].timer);
        e->scans[i].timer.data = &e->scans[i];
    }
    for (i = 0; i < e->ndevs; i++) {
        if (is_evt(&e->devs[i])) {
            uv_timer_init(loop, &e->devs[i].stale_timer);
            e->devs[i].stale_timer.data = &e->devs[i];
            e->devs[i].stale_init = 1;
        }
    }
    free(scan_ix);
    free(line_ix);
    free(dev_ix);
    e->texts = cfg->texts; /* ours from now on */
    e->texts_free = cfg->texts_free;
    *out = e;
    return 0;
fail:
    free(scan_ix);
    free(line_ix);
    free(dev_ix);
    engine_release(e);
    return rc;
}

/* Read slots: as many as requests may be in flight, but no more than the device has blocks
 * (a group's next cycle waits for its last one: they never all are in flight twice), each
 * with a buffer for the device's longest block after its request storage. Made when the
 * engine starts, not when it is built: `plcline run --check` needs none, and the daemon
 * has dropped its configuration's tags by then, so they do not add to its peak. */
static int make_slots(pl_engine_t *e)
{
    size_t i, k;

    for (i = 0; i < e->ndevs; i++) {
        edev_t *d = &e->devs[i];
        uint32_t longest = 0;
        size_t nblocks = 0, req;

        for (k = 0; k < d->ngroups; k++) {
            size_t b;

            nblocks += d->groups[k]->nblocks;
            for (b = 0; b < d->groups[k]->nblocks; b++)
                if (d->groups[k]->blocks[b]->len > longest)
                    longest = d->groups[k]->blocks[b]->len;
        }
        if (longest == 0)
            continue; /* nothing to read */
        if (d->rslots == NULL)
            d->rslots =
                calloc(nblocks < d->max_inflight ? nblocks : d->max_inflight, sizeof(*d->rslots));
        if (d->rslots == NULL)
            return PL_ENOMEM;
        req = (d->drv->req_size + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
        for (; d->nrslots < nblocks && d->nrslots < d->max_inflight; d->nrslots++) {
            rslot_t *slot = calloc(1, sizeof(*slot) + req + (size_t)longest * d->drv->unit_bytes);

            if (slot == NULL)
                return PL_ENOMEM;
            d->rslots[d->nrslots] = slot;
            slot->buf = slot->req + req;
            slot->next = d->slots;
            d->slots = slot;
        }
    }
    return 0;
}

int pl_engine_start(pl_engine_t *e)
{
    size_t i;
    uint64_t now = uv_now(e->loop);

    if (e->started || e->stopping)
        return PL_EBUSY;
    if (make_slots(e) < 0)
        return PL_ENOMEM; /* nothing started; the slots made so far go with the engine */
    e->started = 1;
    for (i = 0; i < e->ndevs; i++) {
        if (e->devs[i].dd == NULL)
            continue;
        if (is_evt(&e->devs[i]))
            evt_subscribe(&e->devs[i]);
        (void)e->devs[i].drv->dev_start(e->devs[i].dd);
    }
    for (i = 0; i < e->nscans; i++) {
        e->scans[i].due = now;
        uv_timer_start(&e->scans[i].timer, on_scan, 0, 0);
    }
    return 0;
}

static void timer_closed(pl_engine_t *e)
{
    if (--e->closing_timers > 0)
        return;
    if (e->stopping == 2) { /* pl_engine_free() was called meanwhile */
        if (e->handovers > 0)
            e->release_pending = 1;
        else
            engine_release(e);
    } else if (e->stop_done != NULL)
        e->stop_done(e, e->ud);
}

static void on_timer_closed(uv_handle_t *h)
{
    timer_closed(((scan_t *)h->data)->e);
}

static void on_stale_closed(uv_handle_t *h)
{
    timer_closed(((edev_t *)h->data)->e);
}

void pl_engine_stop(pl_engine_t *e, void (*done)(pl_engine_t *e, void *ud))
{
    pl_status_t why;
    size_t i;

    if (e->stopping)
        return;
    e->stopping = 1;
    e->stop_done = done;
    pl_status_set(&why, PL_ESTOPPED, 0, "the engine stopped before the write was sent");
    for (i = 0; i < e->ndevs; i++) {
        edev_t *d = &e->devs[i];

        while (op_pop(&d->rhead, &d->rtail) != NULL)
            ;
        fail_writes(d, &why);
        if (d->adopt_from != NULL) {
            /* stopped before the old engine handed the connection over: it closes it */
            d->adopt_from->adopt_to = NULL;
            d->adopt_from = NULL;
            continue;
        }
        if (d->handing) {
            handover_check(d); /* now, or when the last request in flight completes */
            continue;
        }
        /* writes in flight are answered by the driver (PL_ECANCELED) before this returns */
        if (d->dd != NULL)
            d->drv->dev_free(d->dd);
        d->dd = NULL;
    }
    e->closing_timers = (int)e->nscans;
    for (i = 0; i < e->ndevs; i++)
        e->closing_timers += e->devs[i].stale_init;
    for (i = 0; i < e->nscans; i++)
        uv_close((uv_handle_t *)&e->scans[i].timer, on_timer_closed);
    for (i = 0; i < e->ndevs; i++)
        if (e->devs[i].stale_init)
            uv_close((uv_handle_t *)&e->devs[i].stale_timer, on_stale_closed);
    if (e->closing_timers == 0 && done != NULL)
        done(e, e->ud);
}

void pl_engine_free(pl_engine_t *e)
{
    if (e == NULL)
        return;
    pl_ratelimit_flush(&e->rl, uv_now(e->loop), e->log); /* counts not yet logged */
    if (!e->stopping) {
        /* the caller did not stop first: stop now; timers close on the next loop turn */
        pl_engine_stop(e, NULL);
    }
    if (e->closing_timers > 0) {
        e->stopping = 2; /* freed when the last timer has closed */
        return;
    }
    if (e->handovers > 0) {
        e->release_pending = 1; /* freed when the last connection has moved on */
        return;
    }
    engine_release(e);
}

const pl_tag_state_t *pl_engine_tag(pl_engine_t *e, const char *tag)
{
    tag_t *t = find_tag(e, tag);

    if (t == NULL)
        return NULL;
    e->ring_next = (e->ring_next + 1) % STATE_RING;
    return tag_state(t, &e->ring[e->ring_next]);
}

size_t pl_engine_tag_count(const pl_engine_t *e)
{
    return e->ntags;
}

const pl_tag_state_t *pl_engine_tag_at(pl_engine_t *e, size_t i)
{
    if (i >= e->ntags)
        return NULL;
    e->ring_next = (e->ring_next + 1) % STATE_RING;
    return tag_state(&e->tags[i], &e->ring[e->ring_next]);
}

static void add_stats(pl_engine_stats_t *acc, const edev_t *d)
{
    size_t i, k;

    acc->errors += d->st.errors;
    acc->cycles += d->st.cycles;
    acc->overruns += d->st.overruns;
    acc->writes += d->st.writes;
    acc->writes_failed += d->st.writes_failed;
    acc->demoted |= d->demoted;
    for (i = 0; i < sizeof(d->st.errors_by_code) / sizeof(d->st.errors_by_code[0]); i++) {
        if (d->st.errors_by_code[i].code == 0)
            break;
        for (k = 0; k < sizeof(acc->errors_by_code) / sizeof(acc->errors_by_code[0]); k++) {
            if (acc->errors_by_code[k].code == d->st.errors_by_code[i].code ||
                acc->errors_by_code[k].code == 0) {
                acc->errors_by_code[k].code = d->st.errors_by_code[i].code;
                acc->errors_by_code[k].count += d->st.errors_by_code[i].count;
                break;
            }
        }
    }
    if (d->dd != NULL)
        d->drv->stats(d->dd, acc);
}

static const pl_line_t *dev_line(const edev_t *d)
{
    return d->dd != NULL && d->drv->line != NULL ? d->drv->line(d->dd) : NULL;
}

/* What every protocol's line counts alike. */
static void add_line_stats(pl_engine_stats_t *acc, const pl_line_t *ln)
{
    const pl_line_stats_t *ls;

    if (ln == NULL)
        return;
    ls = pl_line_stats(ln);
    acc->bytes_in += ls->bytes_in;
    acc->bytes_out += ls->bytes_out;
    acc->reconnects += ls->connects > 0 ? ls->connects - 1 : 0;
    acc->switchovers += ls->switchovers;
}

int pl_engine_device_stats(const pl_engine_t *e, const char *device, pl_engine_stats_t *out)
{
    size_t i;

    memset(out, 0, sizeof(*out));
    for (i = 0; i < e->ndevs; i++) {
        if (strcmp(e->devs[i].def.name, device) == 0) {
            add_stats(out, &e->devs[i]);
            add_line_stats(out, dev_line(&e->devs[i]));
            return 0;
        }
    }
    return PL_EINVAL;
}

int pl_engine_line_stats(const pl_engine_t *e, const char *line, pl_engine_stats_t *out)
{
    size_t i, k;
    int found = 0;

    memset(out, 0, sizeof(*out));
    for (i = 0; i < e->ndevs; i++) {
        const pl_line_t *ln;

        if (strcmp(e->devs[i].line->def.name, line) != 0)
            continue;
        add_stats(out, &e->devs[i]);
        found = 1;
        /* devices whose driver shares one connection between them (the units behind a
         * gateway) report the same pl_line_t: its counters count once */
        ln = dev_line(&e->devs[i]);
        for (k = 0; k < i && ln != NULL; k++)
            if (strcmp(e->devs[k].line->def.name, line) == 0 && dev_line(&e->devs[k]) == ln)
                ln = NULL;
        add_line_stats(out, ln);
    }
    return found ? 0 : PL_EINVAL;
}

/* --- status queries (include/plcline/engine.h) ------------------------------------- */

static const uint64_t rtt_bounds_us[PL_ENGINE_RTT_BUCKETS] = {
    500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000};

static void rtt_observe(edev_t *d, uint64_t sent_ns)
{
    uint64_t us = (uv_hrtime() - sent_ns) / 1000u;
    size_t i = 0;

    while (i < PL_ENGINE_RTT_BUCKETS && us > rtt_bounds_us[i])
        i++;
    d->rtt_hist[i]++;
    d->rtt_sum_ns += us * 1000u;
}

uint64_t pl_engine_rtt_bound_us(size_t i)
{
    return i < PL_ENGINE_RTT_BUCKETS ? rtt_bounds_us[i] : UINT64_MAX;
}

size_t pl_engine_device_count(const pl_engine_t *e)
{
    return e->ndevs;
}

static const char *line_state_name(pl_line_state_t s)
{
    switch (s) {
    case PL_LINE_IDLE:
        return "idle";
    case PL_LINE_RESOLVING:
    case PL_LINE_CONNECTING:
        return "connecting";
    case PL_LINE_UP:
        return "up";
    case PL_LINE_BACKOFF:
        return "backoff";
    }
    return "?";
}

int pl_engine_device_state(const pl_engine_t *e, size_t i, pl_engine_device_state_t *out)
{
    const edev_t *d;
    const pl_line_t *ln;
    pl_line_side_t side = PL_LINE_PRIMARY;

    if (i >= e->ndevs)
        return PL_EINVAL;
    d = &e->devs[i];
    ln = dev_line(d);
    out->connected = ln != NULL && pl_line_active(ln, &side, NULL) >= 0;
    out->backup_active = out->connected && side == PL_LINE_BACKUP;
    out->demoted = d->demoted;
    out->error = d->last_err.code != 0 ? d->last_err.code
                 : ln != NULL          ? pl_line_last_error(ln)->code
                                       : 0;
    return 0;
}

int pl_engine_device_info(const pl_engine_t *e, size_t i, pl_engine_device_info_t *info,
                          pl_engine_stats_t *st)
{
    const edev_t *d;
    const pl_line_t *ln;
    pl_engine_device_state_t ds;
    size_t k;

    if (pl_engine_device_state(e, i, &ds) != 0)
        return PL_EINVAL;
    d = &e->devs[i];
    ln = dev_line(d);
    memset(info, 0, sizeof(*info));
    info->name = d->def.name;
    info->line = d->line->def.name;
    info->protocol = d->line->proto->name;
    info->peer = "";
    info->state = "idle";
    info->connected = ds.connected;
    info->backup_active = ds.backup_active;
    if (ln != NULL) {
        info->state = line_state_name(pl_line_state(ln));
        info->peer = pl_line_peer(ln);
        info->host_index = pl_line_host_index(ln);
        info->host_count = pl_line_host_count(ln);
        if (pl_line_last_error(ln)->code != 0)
            info->last_error = *pl_line_last_error(ln);
    }
    info->has_backup = d->line->def.line.use_backup;
    if (d->last_err.code != 0)
        info->last_error = d->last_err;
    if (d->demoted) {
        uint64_t now = uv_now(e->loop);

        info->demoted = 1;
        info->state = "off scan";
        info->demoted_until = wall_now(e) + (d->demoted_until > now ? d->demoted_until - now : 0);
    }
    for (k = 0; k < d->ngroups; k++)
        info->ntags += d->groups[k]->ntags;
    info->ntags += d->nevt;
    for (k = 0; k <= PL_ENGINE_RTT_BUCKETS; k++) {
        info->rtt_hist[k] = d->rtt_hist[k];
        info->rtt_count += d->rtt_hist[k];
    }
    info->rtt_sum_us = d->rtt_sum_ns / 1000u;
    if (st != NULL) {
        memset(st, 0, sizeof(*st));
        add_stats(st, d);
        add_line_stats(st, dev_line(d));
    }
    return 0;
}

size_t pl_engine_line_count(const pl_engine_t *e)
{
    return e->nlines;
}

int pl_engine_line_info(const pl_engine_t *e, size_t i, pl_engine_line_info_t *info)
{
    size_t k;

    if (i >= e->nlines)
        return PL_EINVAL;
    memset(info, 0, sizeof(*info));
    info->name = e->lines[i].def.name;
    info->protocol = e->lines[i].proto->name;
    for (k = 0; k < e->ndevs; k++) {
        const edev_t *d = &e->devs[k];
        const pl_line_t *ln;

        if (d->line != &e->lines[i])
            continue;
        info->ndevices++;
        ln = dev_line(d);
        if (ln != NULL && pl_line_active(ln, NULL, NULL) >= 0)
            info->nup++;
    }
    return 0;
}

int pl_engine_tag_info(const pl_engine_t *e, size_t i, pl_engine_tag_info_t *info)
{
    if (i >= e->ntags)
        return PL_EINVAL;
    info->address = e->tags[i].address;
    info->scan = is_evt(e->tags[i].dev) ? "" : e->scans[e->tags[i].scan].def.name;
    info->writable = e->tags[i].proto->writable;
    return 0;
}

long pl_engine_tag_index(const pl_engine_t *e, const char *tag)
{
    const tag_t *t = find_tag(e, tag);

    return t != NULL ? (long)(t - e->tags) : -1;
}

uint64_t pl_engine_tag_seq(const pl_engine_t *e, size_t i)
{
    const tag_t *t;

    if (i >= e->ntags || !e->tags[i].published)
        return 0;
    /* a tag keeps the number's low 32 bits: the last number at or before the counter's
     * that has them (older than 2^32 publications would only look newer than it is) */
    t = &e->tags[i];
    return e->seq - (uint32_t)((uint32_t)e->seq - t->seq);
}

uint64_t pl_engine_seq(const pl_engine_t *e)
{
    return e->seq;
}

uint64_t pl_engine_tag_ts(const pl_engine_t *e, size_t i)
{
    return i < e->ntags ? e->tags[i].ts_ms : 0;
}

long pl_engine_tag_device(const pl_engine_t *e, size_t i)
{
    return i < e->ntags ? (long)(e->tags[i].dev - e->devs) : -1;
}

uint64_t pl_engine_device_seq(const pl_engine_t *e, size_t i)
{
    return i < e->ndevs ? e->devs[i].pubseq : 0;
}

/* ASCII case-insensitive substring search; `needle` is already lower case. */
static int contains_ci(const char *hay, const char *needle, size_t nlen)
{
    size_t i, k;

    for (i = 0; hay[i] != '\0'; i++) {
        for (k = 0; k < nlen; k++) {
            char c = hay[i + k];

            if (c == '\0')
                return 0;
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (c != needle[k])
                break;
        }
        if (k == nlen)
            return 1;
    }
    return nlen == 0;
}

uint64_t pl_engine_quality_seq(const pl_engine_t *e)
{
    return e->qseq;
}

static int qual_rank(pl_quality_t q)
{
    switch (q) {
    case PL_Q_BAD:
        return 0;
    case PL_Q_UNCERTAIN:
        return 1;
    case PL_Q_GOOD:
        return 2;
    }
    return 3;
}

/* A match of an age sort: compared by source time, then by name (its rank in by_name), so
 * no string is compared in the loop. */
typedef struct {
    uint64_t ts;
    uint32_t rank, ix;
} aged_t;

static int aged_cmp(const aged_t *a, const aged_t *b, int desc)
{
    int r = a->ts < b->ts ? -1 : a->ts > b->ts ? 1 : a->rank < b->rank ? -1 : a->rank > b->rank;

    return desc ? -r : r;
}

/* Sift-down on a max-heap of the `n` smallest matches so far. */
static void heap_down(aged_t *h, size_t n, size_t i, int desc)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        aged_t t;

        if (l < n && aged_cmp(&h[l], &h[m], desc) > 0)
            m = l;
        if (r < n && aged_cmp(&h[r], &h[m], desc) > 0)
            m = r;
        if (m == i)
            return;
        t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

typedef struct {
    const pl_engine_t *e;
    char needle[PL_NAME_MAX];
    size_t nlen;
    int desc;
} qctx_t;

/* The tag at name position `i` of the walk (reversed when desc), or NULL when filtered out. */
static const tag_t *walk(const qctx_t *q, size_t i)
{
    const tag_t *t = tag_by_name(q->e, q->desc ? q->e->ntags - 1 - i : i);

    if (q->nlen > 0 && !contains_ci(t->name, q->needle, q->nlen) &&
        !contains_ci(t->dev->def.name, q->needle, q->nlen) &&
        !contains_ci(t->address, q->needle, q->nlen))
        return NULL;
    return t;
}

/* Name, device and quality orders are name order within buckets (a device, a quality), so
 * they need no sort: one pass counts the matches per bucket, a second places those that fall
 * in [offset, offset + cap). Age needs a real order: a bounded heap. */
long pl_engine_tag_query(const pl_engine_t *e, const char *filter, pl_tag_sort_t sort, int desc,
                         size_t offset, size_t *out, size_t cap)
{
    qctx_t q;
    size_t i, total = 0, nb = 1, *start = NULL;
    uint32_t *devrank = NULL;
    long rc;

    memset(&q, 0, sizeof(q));
    q.e = e;
    q.desc = desc;
    if (filter != NULL)
        for (; filter[q.nlen] != '\0' && q.nlen < sizeof(q.needle) - 1; q.nlen++) {
            char ch = filter[q.nlen];

            q.needle[q.nlen] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
        }
    if (sort == PL_TAG_SORT_AGE) {
        size_t keep = offset + cap, n = 0, k;
        aged_t *h;

        if (keep > e->ntags)
            keep = e->ntags;
        h = malloc((keep > 0 ? keep : 1) * sizeof(*h));
        if (h == NULL)
            return PL_ENOMEM;
        for (i = 0; i < e->ntags; i++) {
            const tag_t *t = walk(&q, i);
            aged_t a;

            if (t == NULL)
                continue;
            total++;
            a.ts = t->ts_ms;
            a.rank = (uint32_t)(desc ? e->ntags - 1 - i : i);
            a.ix = (uint32_t)(t - e->tags);
            if (n < keep) {
                h[n++] = a;
                if (n == keep)
                    for (k = n / 2; k-- > 0;)
                        heap_down(h, n, k, desc);
            } else if (keep > 0 && aged_cmp(&a, &h[0], desc) < 0) {
                h[0] = a;
                heap_down(h, n, 0, desc);
            }
        }
        if (n < keep)
            for (k = n / 2; k-- > 0;)
                heap_down(h, n, k, desc);
        for (k = n; k > 1; k--) {
            aged_t t = h[0];

            h[0] = h[k - 1];
            h[k - 1] = t;
            heap_down(h, k - 1, 0, desc);
        }
        for (k = offset; k < n; k++)
            out[k - offset] = h[k].ix;
        free(h);
        return (long)total;
    }
    if (sort == PL_TAG_SORT_DEVICE) {
        /* the devices' ranks by name: a sorted index of them */
        name_ix_t *ix;
        long dup = -1;

        nb = e->ndevs > 0 ? e->ndevs : 1;
        ix = name_index(e->devs, e->ndevs, sizeof(edev_t), &dup);
        devrank = malloc(nb * sizeof(*devrank));
        if ((ix == NULL && e->ndevs > 0) || devrank == NULL) {
            free(ix);
            free(devrank);
            return PL_ENOMEM;
        }
        for (i = 0; i < e->ndevs; i++)
            devrank[ix[i].index] = (uint32_t)(desc ? e->ndevs - 1 - i : i);
        free(ix);
    } else if (sort == PL_TAG_SORT_QUALITY) {
        nb = 3;
    }
    start = calloc(nb + 1, sizeof(*start));
    if (start == NULL) {
        free(devrank);
        return PL_ENOMEM;
    }
    /* pass 1: matches per bucket */
    for (i = 0; i < e->ntags; i++) {
        const tag_t *t = walk(&q, i);
        size_t b = 0;

        if (t == NULL)
            continue;
        if (sort == PL_TAG_SORT_DEVICE)
            b = devrank[t->dev - e->devs];
        else if (sort == PL_TAG_SORT_QUALITY)
            b = (size_t)(desc ? 2 - qual_rank(t->quality) : qual_rank(t->quality));
        start[b + 1]++;
    }
    for (i = 0; i < nb; i++)
        start[i + 1] += start[i];
    total = start[nb];
    /* pass 2: each match's place is its bucket's next slot; keep those in the window */
    for (i = 0; i < e->ntags && offset < total && cap > 0; i++) {
        const tag_t *t = walk(&q, i);
        size_t b = 0, at;

        if (t == NULL)
            continue;
        if (sort == PL_TAG_SORT_DEVICE)
            b = devrank[t->dev - e->devs];
        else if (sort == PL_TAG_SORT_QUALITY)
            b = (size_t)(desc ? 2 - qual_rank(t->quality) : qual_rank(t->quality));
        at = start[b]++;
        if (at >= offset && at - offset < cap)
            out[at - offset] = (size_t)(t - e->tags);
    }
    rc = (long)total;
    free(start);
    free(devrank);
    return rc;
}

void pl_engine_tag_qualities(const pl_engine_t *e, uint64_t counts[3])
{
    size_t i;

    counts[0] = counts[1] = counts[2] = 0;
    for (i = 0; i < e->ntags; i++)
        counts[e->tags[i].quality]++;
}
