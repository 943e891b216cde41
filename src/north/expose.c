/* SPDX-License-Identifier: MIT */
/*
 * Serving values to other systems (expose.h).
 *
 * The configuration's entries come simulator by simulator, so the points of simulator s are
 * entries base[s] .. base[s + 1] - 1 and a simulator's point i is entry base[s] + i. A
 * change finds its points by the tag's name in an index sorted by name.
 */
#include "north/expose.h"

#include "plcline/error.h"
#include "plcline/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RL_SLOTS 8u

typedef struct {
    char tag[PL_NAME_MAX];
    uint32_t sim;
} point_t;

typedef struct {
    pl_expose_t *x;
    uint32_t sim;
} sim_ud_t;

struct pl_expose_s {
    uv_loop_t *loop;
    pl_engine_t *e;
    const pl_logger_t *log;
    pl_expose_sim_t *sims;
    char (*sim_names)[PL_NAME_MAX];
    sim_ud_t *sim_ud;
    size_t nsims;
    size_t *base; /* nsims + 1 */
    point_t *p;
    const point_t **by_tag; /* the points sorted by tag name */
    size_t n;
    unsigned pending; /* engine writes not answered yet */
    int closing;      /* freed once the last of them is answered */
    pl_expose_stats_t stats;
    pl_ratelimit_t rl;
    pl_ratelimit_slot_t slots[RL_SLOTS];
    char *msg; /* while pl_expose_new runs: where the whole error goes */
    size_t msg_len;
};

/* One client write on its way to the engine. */
typedef struct {
    pl_expose_t *x;
    size_t point;
} write_t;

static int by_tag_cmp(const void *a, const void *b)
{
    return strcmp((*(const point_t *const *)a)->tag, (*(const point_t *const *)b)->tag);
}

static void release(pl_expose_t *x)
{
    pl_ratelimit_flush(&x->rl, x->loop != NULL ? uv_now(x->loop) : 0, x->log);
    free(x->sims);
    free(x->sim_names);
    free(x->sim_ud);
    free(x->base);
    free(x->p);
    free(x->by_tag);
    free(x);
}

/* Serves the tag's state at point k (its simulator running). */
static void serve(pl_expose_t *x, size_t k, const pl_tag_state_t *st)
{
    const pl_expose_sim_t *s = &x->sims[x->p[k].sim];
    pl_status_t err;

    if (s->server == NULL)
        return;
    pl_status_clear(&err);
    x->stats.sets++;
    if (s->proto->sim_expose_set(s->server, k - x->base[x->p[k].sim], &st->value, st->quality,
                                 &err) < 0) {
        x->stats.set_errors++;
        pl_log_limited(&x->rl, uv_now(x->loop), x->log, PL_LOG_WARN, x->sim_names[x->p[k].sim],
                       "simulator %s: tag %s not served: %s", x->sim_names[x->p[k].sim],
                       x->p[k].tag, err.detail);
    }
}

/* A client's write did not reach the tag: say so (rate-limited: clients cause it) and
 * serve the tag's value again in place of what the client wrote. */
static void write_failed(pl_expose_t *x, size_t k, const pl_status_t *result)
{
    char why[PL_STATUS_DETAIL_MAX + 64];
    const pl_tag_state_t *st;

    x->stats.write_errors++;
    pl_status_format(result, why, sizeof(why));
    pl_log_limited(&x->rl, uv_now(x->loop), x->log, PL_LOG_WARN, x->sim_names[x->p[k].sim],
                   "simulator %s: a client's write of tag %s failed: %s; the tag's value is "
                   "served again",
                   x->sim_names[x->p[k].sim], x->p[k].tag, why);
    if ((st = pl_engine_tag(x->e, x->p[k].tag)) != NULL)
        serve(x, k, st);
}

static void on_written(pl_engine_t *e, const pl_status_t *result, void *ud)
{
    write_t *w = ud;
    pl_expose_t *x = w->x;
    size_t k = w->point;

    (void)e;
    free(w);
    x->pending--;
    if (x->closing) {
        if (x->pending == 0)
            release(x);
        return;
    }
    if (result->code != 0)
        write_failed(x, k, result);
}

static void on_sim_write(void *ud, size_t i, const pl_value_t *v)
{
    sim_ud_t *su = ud;
    pl_expose_t *x = su->x;
    size_t k = x->base[su->sim] + i;
    pl_status_t err;
    write_t *w;

    if (k >= x->base[su->sim + 1] || x->closing)
        return;
    x->stats.writes++;
    pl_status_clear(&err);
    if ((w = malloc(sizeof(*w))) == NULL) {
        pl_status_set(&err, PL_ENOMEM, 0, NULL);
        write_failed(x, k, &err);
        return;
    }
    w->x = x;
    w->point = k;
    x->pending++;
    if (pl_engine_write(x->e, x->p[k].tag, v, on_written, w, &err) == 0)
        return; /* on_written answers it (maybe already has) */
    x->pending--;
    free(w);
    write_failed(x, k, &err); /* refused at once */
}

/* The error of entry k: "FILE:LINE:COL: simulator 'S' exposes tag 'T': why" in whole into
 * x->msg (when given) and, cut to fit, into err. */
static int entry_error(pl_expose_t *x, const pl_config_t *cfg, size_t k, const pl_status_t *why,
                       pl_status_t *err)
{
    const pl_expose_def_t *d = &cfg->exposes[k];
    char line[1024];

    snprintf(line, sizeof(line), "%s:%u:%u: simulator '%s' exposes tag '%s': %s", cfg->path,
             (unsigned)d->line, (unsigned)d->col, cfg->sims[d->sim].name, d->tag,
             why->detail[0] != '\0' ? why->detail : pl_strerror(why->code));
    if (x->msg != NULL)
        snprintf(x->msg, x->msg_len, "%s", line);
    return pl_status_set(err, why->code != 0 ? why->code : PL_ECONFIG, why->sys, "%s", line);
}

/* Hands simulator s its points (all of them checked when `run` is 0). */
static int expose_sim(pl_expose_t *x, const pl_config_t *cfg, size_t s, int run, pl_status_t *err)
{
    const pl_expose_sim_t *sim = &x->sims[s];
    size_t first = x->base[s], n = x->base[s + 1] - first, i, bad = 0;
    pl_sim_point_t *pts = NULL;
    pl_status_t why;
    int rc;

    if (sim->proto == NULL || sim->proto->sim_expose == NULL ||
        sim->proto->sim_expose_set == NULL) {
        if (n == 0)
            return 0;
        pl_status_set(&why, PL_ECONFIG, 0, "a %s simulator cannot serve tags, expected no 'expose'",
                      sim->proto != NULL ? sim->proto->title : cfg->sims[s].protocol);
        return entry_error(x, cfg, first, &why, err);
    }
    if (run && sim->server == NULL)
        return 0;
    if (n > 0 && (pts = calloc(n, sizeof(*pts))) == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    for (i = 0; i < n; i++) {
        const pl_expose_def_t *d = &cfg->exposes[first + i];

        pts[i].address = d->address;
        pts[i].station = d->station;
        pts[i].writable = d->write;
    }
    pl_status_clear(&why);
    rc = sim->proto->sim_expose(run ? sim->server : NULL, cfg->sims[s].keys, pts, n, on_sim_write,
                                &x->sim_ud[s], &bad, &why);
    free(pts);
    if (rc < 0)
        return bad < n ? entry_error(x, cfg, first + bad, &why, err)
                       : pl_status_set(err, rc, 0, "%s", why.detail);
    return 0;
}

/* Takes every simulator's points off (sim_expose with none). */
static void detach(pl_expose_t *x)
{
    size_t s, bad;
    pl_status_t why;

    for (s = 0; s < x->nsims; s++) {
        const pl_expose_sim_t *sim = &x->sims[s];

        if (sim->server != NULL && sim->proto != NULL && sim->proto->sim_expose != NULL)
            (void)sim->proto->sim_expose(sim->server, "", NULL, 0, NULL, NULL, &bad, &why);
    }
}

int pl_expose_new(uv_loop_t *loop, pl_engine_t *e, const pl_config_t *cfg,
                  const pl_expose_sim_t *sims, const pl_logger_t *log, pl_expose_t **out,
                  pl_status_t *err, char *msg, size_t msg_len)
{
    pl_expose_t *x = calloc(1, sizeof(*x));
    size_t i, s;
    int rc = 0;

    *out = NULL;
    if (x == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    x->loop = loop;
    x->e = e;
    x->log = log;
    x->nsims = cfg->nsims;
    x->n = cfg->nexposes;
    x->sims = calloc(cfg->nsims + 1, sizeof(*x->sims));
    x->sim_names = calloc(cfg->nsims + 1, sizeof(*x->sim_names));
    x->sim_ud = calloc(cfg->nsims + 1, sizeof(*x->sim_ud));
    x->base = calloc(cfg->nsims + 1, sizeof(*x->base));
    x->p = calloc(x->n + 1, sizeof(*x->p));
    x->by_tag = calloc(x->n + 1, sizeof(*x->by_tag));
    if (x->sims == NULL || x->sim_names == NULL || x->sim_ud == NULL || x->base == NULL ||
        x->p == NULL || x->by_tag == NULL) {
        release(x);
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    }
    pl_ratelimit_init(&x->rl, x->slots, RL_SLOTS);
    x->msg = msg_len > 0 ? msg : NULL;
    x->msg_len = msg_len;
    if (x->msg != NULL)
        x->msg[0] = '\0';
    for (s = 0; s < x->nsims; s++) {
        x->sims[s] = sims[s];
        snprintf(x->sim_names[s], PL_NAME_MAX, "%s", cfg->sims[s].name);
        x->sim_ud[s].x = x;
        x->sim_ud[s].sim = (uint32_t)s;
    }
    for (i = 0; i < x->n; i++) { /* entries come simulator by simulator */
        const pl_expose_def_t *d = &cfg->exposes[i];

        snprintf(x->p[i].tag, sizeof(x->p[i].tag), "%s", d->tag);
        x->p[i].sim = (uint32_t)d->sim;
        x->by_tag[i] = &x->p[i];
        x->base[d->sim + 1]++;
    }
    for (s = 1; s <= x->nsims; s++)
        x->base[s] += x->base[s - 1];
    for (s = 0; s < x->nsims && rc == 0; s++)
        rc = expose_sim(x, cfg, s, 0, err);
    if (rc == 0 && e != NULL)
        for (s = 0; s < x->nsims && rc == 0; s++)
            rc = expose_sim(x, cfg, s, 1, err);
    if (rc < 0) {
        if (e != NULL)
            detach(x);
        release(x);
        return rc;
    }
    if (e == NULL) { /* checked */
        release(x);
        return 0;
    }
    qsort(x->by_tag, x->n, sizeof(*x->by_tag), by_tag_cmp);
    x->stats.points = x->n;
    x->msg = NULL;
    for (i = 0; i < x->n; i++) {
        const pl_tag_state_t *st = pl_engine_tag(e, x->p[i].tag);

        if (st != NULL)
            serve(x, i, st);
    }
    *out = x;
    return 0;
}

void pl_expose_change(pl_expose_t *x, const pl_tag_state_t *st)
{
    size_t lo = 0, hi, k;

    if (x == NULL || x->n == 0)
        return;
    hi = x->n;
    while (lo < hi) { /* the first point of the tag */
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(x->by_tag[mid]->tag, st->tag) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (k = lo; k < x->n && strcmp(x->by_tag[k]->tag, st->tag) == 0; k++)
        serve(x, (size_t)(x->by_tag[k] - x->p), st);
}

const pl_expose_stats_t *pl_expose_stats(const pl_expose_t *x)
{
    return &x->stats;
}

void pl_expose_free(pl_expose_t *x)
{
    if (x == NULL)
        return;
    detach(x);
    x->closing = 1;
    if (x->pending == 0)
        release(x);
}
