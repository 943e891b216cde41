/* SPDX-License-Identifier: MIT */
/*
 * IEC 60870-5-104 controlled-station simulator: the station's logic (station.c) on the
 * simulators' shared connections (simconn: framing, answer delay, close-after-N), with one
 * timer for every connection's t1/t2/t3 deadline and one for the animation.
 *
 * Nothing protocol-specific is decided here: the station gets each whole APDU with the loop
 * time and sends through pl_simconn_answer(), so delay_ms holds back every frame it sends,
 * unsolicited ones included. Must not block; the points file is read once at creation.
 */
#include "plcline/iec104.h"
#include "plcline/error.h"

#include "proto/iec104/codec/apci.h"
#include "proto/iec104/station.h"
#include "proto/simconn.h"

#include <stdlib.h>
#include <string.h>

struct pl_iec104_server_s {
    uv_loop_t *loop;
    pl_simconn_set_t conns;
    pl_iec104_station_t *st;
    uv_timer_t timer;   /* the station's next deadline */
    uv_timer_t animate; /* animate_ms */
    unsigned animate_ms;
    int handles; /* timers still to close */
};

typedef struct {
    pl_iec104_sconn_t *c; /* NULL when the station refused the connection */
} conn_state_t;

void pl_iec104_server_config_init(pl_iec104_server_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->listen.port = PL_IEC104_DEFAULT_PORT;
    cfg->ca = 1;
    cfg->cot_size = 2;
    cfg->ca_size = 2;
    cfg->ioa_size = 3;
    cfg->k = PL_IEC104_DEFAULT_K;
    cfg->w = PL_IEC104_DEFAULT_W;
    cfg->t1_ms = PL_IEC104_DEFAULT_T1 * 1000u;
    cfg->t2_ms = PL_IEC104_DEFAULT_T2 * 1000u;
    cfg->t3_ms = PL_IEC104_DEFAULT_T3 * 1000u;
    cfg->grouping = PL_IEC104_GROUP_ONE;
    cfg->max_events = 10000;
    cfg->select_timeout_ms = 10000;
}

/* --- the station's io ------------------------------------------------------------------------ */

static void io_send(void *conn_ud, const uint8_t *buf, size_t len)
{
    pl_simconn_answer(conn_ud, buf, len);
}

static void io_close(void *conn_ud, const pl_status_t *why)
{
    pl_simconn_close(conn_ud, why);
}

static int64_t io_wall_ms(void *ud)
{
    uv_timeval64_t tv;

    (void)ud;
    if (uv_gettimeofday(&tv) != 0)
        return 0;
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* --- timers ---------------------------------------------------------------------------------- */

static void on_timer(uv_timer_t *t);

static void rearm(pl_iec104_server_t *s)
{
    uint64_t now = uv_now(s->loop), due = pl_iec104_station_deadline(s->st);

    if (due == UINT64_MAX)
        uv_timer_stop(&s->timer);
    else
        uv_timer_start(&s->timer, on_timer, due > now ? due - now : 0, 0);
}

static void on_timer(uv_timer_t *t)
{
    pl_iec104_server_t *s = t->data;

    pl_iec104_station_timers(s->st, uv_now(s->loop));
    rearm(s);
}

static void on_animate(uv_timer_t *t)
{
    pl_iec104_server_t *s = t->data;

    (void)pl_iec104_station_step(s->st, uv_now(s->loop));
    rearm(s);
}

/* --- connections ----------------------------------------------------------------------------- */

static int frame_len(const uint8_t *buf, size_t len, void *ud)
{
    (void)ud;
    return pl_iec104_frame(buf, len, NULL);
}

static int serve(pl_simconn_t *sc, const uint8_t *frame, size_t len, void *ud)
{
    pl_iec104_server_t *s = ud;
    conn_state_t *cs = pl_simconn_state(sc);
    int rc;

    if (cs->c == NULL)
        return -1;
    rc = pl_iec104_station_input(s->st, cs->c, frame, len, uv_now(s->loop));
    rearm(s);
    return rc < 0 ? -1 : 0;
}

static void open_conn(pl_simconn_t *sc, void *ud)
{
    pl_iec104_server_t *s = ud;
    conn_state_t *cs = pl_simconn_state(sc);
    pl_status_t why;
    int rc;

    rc = pl_iec104_station_open(s->st, pl_simconn_peer(sc), sc, uv_now(s->loop), &cs->c);
    if (rc < 0) {
        cs->c = NULL;
        pl_status_set(&why, rc, 0, "%s", rc == PL_EBUSY ? "too many redundancy groups" : "");
        pl_simconn_close(sc, &why);
        return;
    }
    rearm(s);
}

static void gone(pl_simconn_t *sc, void *ud)
{
    pl_iec104_server_t *s = ud;
    conn_state_t *cs = pl_simconn_state(sc);

    if (cs->c == NULL)
        return;
    pl_iec104_station_gone(s->st, cs->c);
    cs->c = NULL;
    if (s->st != NULL && uv_is_active((uv_handle_t *)&s->timer))
        rearm(s);
}

/* --- lifecycle ------------------------------------------------------------------------------- */

static void on_closed(uv_handle_t *h)
{
    pl_iec104_server_t *s = h->data;

    if (--s->handles == 0) {
        pl_iec104_station_free(s->st);
        free(s);
    }
}

int pl_iec104_server_new(uv_loop_t *loop, const pl_iec104_server_config_t *cfg,
                         pl_iec104_server_t **out, pl_status_t *err)
{
    static const pl_simconn_cbs_t cbs = {
        .frame = frame_len, .serve = serve, .open = open_conn, .gone = gone};
    pl_iec104_station_io_t io = {io_send, io_close, io_wall_ms, NULL};
    pl_iec104_server_stats_t *stats;
    pl_simconn_config_t sim;
    pl_iec104_server_t *s;
    int rc;

    if (loop == NULL || cfg == NULL || out == NULL)
        return pl_status_set(err, PL_EINVAL, 0, NULL);
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    s->loop = loop;
    s->animate_ms = cfg->animate_ms;
    rc = pl_iec104_station_new(cfg, &io, &s->st, err);
    if (rc < 0) {
        free(s);
        return rc;
    }
    stats = pl_iec104_station_stats(s->st);
    memset(&sim, 0, sizeof(sim));
    sim.name = "iec104 server";
    sim.max_frame = PL_IEC104_MAX_APDU;
    sim.state_size = sizeof(conn_state_t);
    sim.delay_ms = cfg->delay_ms;
    sim.close_after = cfg->close_after;
    sim.log = cfg->log;
    sim.connections = &stats->connections;
    sim.frames_in = &stats->frames_in;
    sim.bad_frames = &stats->bad_frames;
    rc = pl_simconn_set_init(&s->conns, loop, &cfg->listen, &sim, &cbs, s, err);
    if (rc < 0) {
        pl_iec104_station_free(s->st);
        free(s);
        return rc;
    }
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    uv_timer_init(loop, &s->animate);
    s->animate.data = s;
    s->handles = 2;
    if (s->animate_ms > 0)
        uv_timer_start(&s->animate, on_animate, s->animate_ms, s->animate_ms);
    *out = s;
    return 0;
}

uint16_t pl_iec104_server_port(const pl_iec104_server_t *s)
{
    return pl_listener_port(s->conns.lst);
}

const char *pl_iec104_server_address(const pl_iec104_server_t *s)
{
    return pl_listener_address(s->conns.lst);
}

unsigned pl_iec104_server_conn_count(const pl_iec104_server_t *s)
{
    return pl_simconn_count(&s->conns);
}

uint32_t pl_iec104_server_step(pl_iec104_server_t *s)
{
    uint32_t n = pl_iec104_station_step(s->st, uv_now(s->loop));

    rearm(s);
    return n;
}

int pl_iec104_server_point(const pl_iec104_server_t *s, uint32_t ioa, uint8_t *type, double *value)
{
    return pl_iec104_station_point(s->st, ioa, type, value);
}

int pl_iec104_server_set_point(pl_iec104_server_t *s, uint32_t ioa, double value)
{
    return pl_iec104_station_set_point(s->st, ioa, value);
}

const pl_iec104_server_stats_t *pl_iec104_server_stats(const pl_iec104_server_t *s)
{
    return pl_iec104_station_stats(s->st);
}

void pl_iec104_server_free(pl_iec104_server_t *s)
{
    if (s == NULL)
        return;
    uv_timer_stop(&s->timer); /* gone() rearms only an active timer */
    pl_simconn_set_close(&s->conns);
    uv_close((uv_handle_t *)&s->timer, on_closed);
    uv_close((uv_handle_t *)&s->animate, on_closed);
}
