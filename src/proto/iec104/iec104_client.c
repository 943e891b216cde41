/* SPDX-License-Identifier: MIT */
/*
 * IEC 60870-5-104 controlling station (include/plcline/iec104_client.h) on pl_line_t.
 *
 * Not on the client core (src/proto/client.h): the core is request/answer shaped (a queue of
 * requests, messages in flight matched to answers by transaction id, a deadline per
 * message), while IEC 104 is a numbered stream in both directions: most traffic is data the
 * station sends unasked, the window k counts I-frames not yet acknowledged whatever they
 * carry, acknowledgements are due by count (w) and by time (t2) for data received, t1
 * supervises acknowledgements and not answers, and a command is answered by two frames
 * matched by type and address. docs/architecture.md ("The client core") says the same.
 *
 * A session is one connection's APCI state (started or not, sequence numbers, windows,
 * timers, a partial frame). A client has one session on one line (plain, or alternate
 * redundancy, where the line cycles through the primary and then the backup hosts), or, in
 * parallel redundancy with a backup, two: one on a line over the primary hosts and one on a
 * line over the backup hosts. Then both connections are held at once and the client, not
 * the line, decides which one is started (STARTDT); the other is the standby, supervised
 * with TESTFR act. When the started one fails the standby is started and interrogated and
 * the old one gets STOPDT act if it is still connected. The lines know nothing of this:
 * each is a plain line cycling through its own host list.
 *
 * One timer serves every deadline of both sessions (t1 of the oldest unacknowledged
 * I-frame or of a pending STARTDT/STOPDT/TESTFR act, t2, t3, the periodic interrogation
 * and the command's timeout): after each event it is set to the earliest.
 */
#include "plcline/iec104_client.h"

#include "codec/url.h"
#include "net/line_url.h"
#include "plcline/error.h"
#include "proto/iec104/codec/apci.h"
#include "proto/iec104/codec/asdu.h"
#include "proto/iec104/codec/cp56.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PENDING_MAX 16u /* I-frames waiting for the send window */
#define RBUF_LEN    (2u * PL_IEC104_MAX_APDU)

enum { CMD_QUEUED = 0, CMD_SELECT, CMD_EXECUTE, CMD_TERM };

/* What a connection is doing, as far as data transfer goes. */
typedef enum {
    SS_STOPPED = 0, /* connected, not started: a new connection, or the standby */
    SS_STARTING,    /* STARTDT act sent */
    SS_STARTED,     /* STARTDT con received: I-frames flow */
    SS_STOPPING     /* STOPDT act sent; I-frames still taken until STOPDT con */
} sess_state_t;

typedef struct {
    pl_iec104_client_t *c;
    pl_line_t *line;
    unsigned idx; /* 0: the primary hosts (or every host), 1: the backup hosts */
    unsigned gen; /* counts connections made and lost: a change ends a walk over input */
    int up;       /* connected: on_up came, and neither on_down nor a drop since */
    int tried;    /* an attempt of this side has ended (connected or failed) */
    int healthy;  /* answered a TESTFR act since it last failed */
    sess_state_t state;
    int testfr_pending;
    uint64_t u_due; /* t1 of STARTDT act or STOPDT act */
    uint64_t testfr_due;
    uint16_t vs, vr, va;        /* next N(S) to send, N(S) expected, oldest unconfirmed */
    uint64_t *sent_at;          /* when each unconfirmed I-frame left: [seq % k] */
    unsigned rx_unacked;        /* I-frames received and not yet acknowledged */
    uint64_t rx_first, last_rx; /* the oldest of them; the last frame of any kind */
    int gi_running;
    size_t pend_n, pend_head;
    size_t pend_len[PENDING_MAX];
    uint8_t pend[PENDING_MAX][PL_IEC104_MAX_ASDU];
    size_t rlen;
    uint8_t rbuf[RBUF_LEN];
} sess_t;

struct pl_iec104_client_s {
    uv_loop_t *loop;
    pl_iec104_client_config_t cfg;
    pl_iec104_params_t params;
    unsigned nsess; /* 2: parallel redundancy with a backup */
    int act;        /* the session started or being started; -1: none */
    uv_timer_t timer;
    const pl_logger_t *log;
    pl_ratelimit_t rl;
    pl_ratelimit_slot_t rl_slots[16]; /* per peer and message: both sides, switchover lines */
    pl_iec104_client_stats_t st;
    pl_status_t last_err; /* the last connection failure of any side */

    uint64_t gi_next;
    pl_iec104_cmd_t *cmd_head, *cmd_tail;
    sess_t s[]; /* nsess of them (a session holds about 5 KiB: one only when it suffices) */
};

#define SLOG(s, level, ...)                                                                        \
    pl_log_limited(&(s)->c->rl, uv_now((s)->c->loop), (s)->c->log, level, pl_line_peer((s)->line), \
                   __VA_ARGS__)
#define PLOG(c, level, ...) SLOG(&(c)->s[(c)->act >= 0 ? (c)->act : 0], level, __VA_ARGS__)

static void arm(pl_iec104_client_t *c);
static void cmd_pump(pl_iec104_client_t *c);

/* The session I-frames go to: the started one, or NULL. */
static sess_t *act_started(pl_iec104_client_t *c)
{
    sess_t *s = c->act >= 0 ? &c->s[c->act] : NULL;

    return s != NULL && s->up && s->state == SS_STARTED ? s : NULL;
}

static const char *side_name(const sess_t *s)
{
    return s->c->nsess < 2 ? "the" : s->idx == 0 ? "the primary" : "the backup";
}

/* =========================================================== configuration, URL */

void pl_iec104_client_config_init(pl_iec104_client_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    pl_line_config_init(&cfg->line);
    cfg->line.port = PL_IEC104_CLIENT_PORT;
    cfg->ca = 1;
    cfg->cot_size = 2;
    cfg->ca_size = 2;
    cfg->ioa_size = 3;
    cfg->k = PL_IEC104_DEFAULT_K;
    cfg->w = PL_IEC104_DEFAULT_W;
    cfg->t0_ms = PL_IEC104_DEFAULT_T0 * 1000u;
    cfg->t1_ms = PL_IEC104_DEFAULT_T1 * 1000u;
    cfg->t2_ms = PL_IEC104_DEFAULT_T2 * 1000u;
    cfg->t3_ms = PL_IEC104_DEFAULT_T3 * 1000u;
    cfg->timeout_ms = 10000;
    cfg->line.redundancy = PL_REDUNDANCY_PARALLEL; /* IEC 104 keeps a session on both */
}

int pl_iec104_client_config_url(pl_iec104_client_config_t *cfg, const char *url, char *storage,
                                size_t storage_len, pl_status_t *err)
{
    static const char *const known[] = {
        "t0",      "t1",       "t2",         "t3",        "k",         "w",       "cot_size",
        "ca_size", "ioa_size", "originator", "gi_period", "time_sync", "timeout", PL_LINE_URL_KEYS,
        NULL};
    static const struct {
        const char *key;
        unsigned long min, max;
        size_t off, size;
    } keys[] = {
#define K(name, field, lo, hi)                                 \
    {name, lo, hi, offsetof(pl_iec104_client_config_t, field), \
     sizeof(((pl_iec104_client_config_t *)0)->field)}
        K("t0", t0_ms, 1, 255000),
        K("t1", t1_ms, 1, 255000),
        K("t2", t2_ms, 1, 255000),
        K("t3", t3_ms, 1, 255000),
        K("k", k, 1, PL_IEC104_CLIENT_MAX_K),
        K("w", w, 1, PL_IEC104_CLIENT_MAX_K),
        K("cot_size", cot_size, 1, 2),
        K("ca_size", ca_size, 1, 2),
        K("ioa_size", ioa_size, 1, 3),
        K("originator", originator, 0, 255),
        K("gi_period", gi_period_ms, 0, 86400000),
        K("time_sync", time_sync, 0, 1),
        K("timeout", timeout_ms, 1, 86400000),
#undef K
    };
    pl_url_t *u;
    unsigned long v = 0;
    char *end = NULL;
    size_t i;
    int rc;

    u = malloc(sizeof(*u));
    if (u == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    rc = pl_url_parse(u, url, PL_IEC104_CLIENT_PORT, err);
    if (rc < 0)
        goto out;
    if (strcmp(u->scheme, "iec104") != 0) {
        rc = pl_status_set(err, PL_EURL, 0, "scheme '%s' is not iec104", u->scheme);
        goto out;
    }
    if ((rc = pl_url_check_keys(u, known, err)) < 0)
        goto out;
    if (u->path[0] != '\0') {
        v = u->path[0] >= '0' && u->path[0] <= '9' ? strtoul(u->path, &end, 10) : 0;
        if (v < 1 || v > 65535 || *end != '\0') {
            rc = pl_status_set(err, PL_EURL, 0, "common address '%.20s' is not a number 1..65535",
                               u->path);
            goto out;
        }
        cfg->ca = (uint16_t)v;
    }
    if ((rc = pl_line_config_url(&cfg->line, u, PL_IEC104_CLIENT_PORT, storage, storage_len, err)) <
        0)
        goto out;
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char *f = (char *)cfg + keys[i].off;

        if (keys[i].size == 1)
            v = *(uint8_t *)f;
        else if (keys[i].size == sizeof(int))
            v = *(unsigned *)f;
        if ((rc = pl_url_get_uint(u, keys[i].key, keys[i].min, keys[i].max, &v, err)) < 0)
            goto out;
        if (keys[i].size == 1)
            *(uint8_t *)f = (uint8_t)v;
        else
            *(unsigned *)f = (unsigned)v;
    }
    rc = 0;
out:
    free(u);
    return rc;
}

/* =========================================================== sending */

static uint64_t now_ms(const pl_iec104_client_t *c)
{
    return uv_now(c->loop);
}

/* A protocol error: the connection is dropped with a named reason; the line's on_down
 * follows (next loop iteration) and decides what comes next. */
static void drop(sess_t *s, int code, const char *detail)
{
    pl_status_t st;

    pl_status_clear(&st);
    pl_status_set(&st, code, 0, "%s", detail);
    SLOG(s, PL_LOG_WARN, "iec104: %s, closing the connection", detail);
    s->up = 0;
    s->state = SS_STOPPED;
    s->testfr_pending = 0;
    pl_line_drop(s->line, &st);
}

static int send_raw(sess_t *s, const uint8_t *buf, size_t len)
{
    int rc = pl_line_send(s->line, buf, len);

    if (rc < 0 && rc != PL_ECLOSING)
        drop(s, rc, "the send buffer is full");
    return rc;
}

static void send_u(sess_t *s, uint8_t func)
{
    uint8_t f[PL_IEC104_APCI_LEN];

    (void)pl_iec104_encode_u(f, sizeof(f), func);
    if (send_raw(s, f, sizeof(f)) == 0)
        s->c->st.u_out++;
}

static void send_s(sess_t *s)
{
    uint8_t f[PL_IEC104_APCI_LEN];

    (void)pl_iec104_encode_s(f, sizeof(f), s->vr);
    if (send_raw(s, f, sizeof(f)) == 0) {
        s->c->st.s_out++;
        s->rx_unacked = 0;
    }
}

static void send_testfr(sess_t *s)
{
    send_u(s, PL_IEC104_U_TESTFR_ACT);
    s->c->st.testfr_sent++;
    s->testfr_pending = 1;
    s->testfr_due = now_ms(s->c) + s->c->cfg.t1_ms;
}

static int window_open(const sess_t *s)
{
    return pl_iec104_seq_diff(s->vs, s->va) < s->c->cfg.k;
}

/* Sends an I-frame now (the window is open). */
static void send_i_now(sess_t *s, const uint8_t *asdu, size_t len)
{
    uint8_t f[PL_IEC104_MAX_APDU];
    int n = pl_iec104_encode_i(f, sizeof(f), s->vs, s->vr, asdu, len);

    if (n < 0 || send_raw(s, f, (size_t)n) < 0)
        return;
    s->sent_at[s->vs % s->c->cfg.k] = now_ms(s->c);
    s->vs = pl_iec104_seq_add(s->vs, 1);
    s->rx_unacked = 0; /* N(R) went with it */
    s->c->st.i_out++;
}

/* Sends an I-frame on the started connection, or keeps it until the window opens. */
static int send_i(pl_iec104_client_t *c, const uint8_t *asdu, size_t len)
{
    sess_t *s = act_started(c);

    if (s == NULL)
        return PL_ECLOSING;
    if (s->pend_n == 0 && window_open(s)) {
        send_i_now(s, asdu, len);
        return 0;
    }
    if (s->pend_n == PENDING_MAX)
        return PL_ENOBUFS;
    {
        size_t at = (s->pend_head + s->pend_n) % PENDING_MAX;

        memcpy(s->pend[at], asdu, len);
        s->pend_len[at] = len;
        s->pend_n++;
    }
    return 0;
}

static void pending_flush(sess_t *s)
{
    while (s->up && s->state == SS_STARTED && s->pend_n > 0 && window_open(s)) {
        size_t at = s->pend_head;

        s->pend_head = (s->pend_head + 1) % PENDING_MAX;
        s->pend_n--;
        send_i_now(s, s->pend[at], s->pend_len[at]);
    }
}

static int wall_cp56(pl_iec104_cp56_t *t)
{
    uv_timeval64_t tv;

    if (uv_gettimeofday(&tv) != 0)
        return PL_ERANGE;
    return pl_iec104_cp56_from_unix_ms((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000, t);
}

/* A system command (interrogation, clock synchronisation) with one object at IOA 0. */
static int send_system(pl_iec104_client_t *c, uint8_t type, const pl_iec104_object_t *o)
{
    uint8_t asdu[PL_IEC104_MAX_ASDU];
    pl_iec104_asdu_t h;
    int n;

    memset(&h, 0, sizeof(h));
    h.type = type;
    h.cause = PL_IEC104_COT_ACT;
    h.oa = c->params.cot_size == 2 ? c->cfg.originator : 0;
    h.ca = c->cfg.ca;
    n = pl_iec104_asdu_encode(asdu, sizeof(asdu), &c->params, &h, o, 1, NULL);
    if (n < 0)
        return n;
    return send_i(c, asdu, (size_t)n);
}

static int interrogate(pl_iec104_client_t *c)
{
    pl_iec104_object_t o;
    int rc;

    memset(&o, 0, sizeof(o));
    o.qualifier = PL_IEC104_QOI_STATION;
    rc = send_system(c, PL_IEC104_C_IC_NA_1, &o);
    if (rc == 0) {
        c->s[c->act].gi_running = 1;
        c->st.interrogations++;
        if (c->cfg.gi_period_ms > 0)
            c->gi_next = now_ms(c) + c->cfg.gi_period_ms;
    }
    return rc;
}

/* =========================================================== which connection is started */

/* Sends STARTDT act on session `i`, which becomes the one started. */
static void start(pl_iec104_client_t *c, unsigned i)
{
    sess_t *s = &c->s[i];

    c->act = (int)i;
    s->state = SS_STARTING;
    s->u_due = now_ms(c) + c->cfg.t1_ms;
    send_u(s, PL_IEC104_U_STARTDT_ACT);
}

/* Sends STOPDT act on a started (or starting) session: it becomes the standby once the
 * station confirms, or is closed when it does not within t1. */
static void stop(sess_t *s)
{
    if (s->rx_unacked > 0)
        send_s(s); /* what it delivered is acknowledged first */
    s->state = SS_STOPPING;
    s->u_due = now_ms(s->c) + s->c->cfg.t1_ms;
    s->testfr_pending = 0;
    s->gi_running = 0;
    s->pend_n = 0;
    s->c->st.stopdt_sent++;
    SLOG(s, PL_LOG_INFO, "iec104: STOPDT act to %s connection", side_name(s));
    send_u(s, PL_IEC104_U_STOPDT_ACT);
}

/* May session `i` be started now that none is? The primary always; the backup once the
 * primary side's first attempt has ended (so that at start, with both reachable, the
 * primary is the one started). */
static int eligible(const pl_iec104_client_t *c, unsigned i)
{
    return i == 0 || c->s[0].tried;
}

/* Starts a connected, stopped session when none is started or starting. */
static void pick(pl_iec104_client_t *c)
{
    unsigned i;

    if (c->act >= 0)
        return;
    for (i = 0; i < c->nsess; i++)
        if (c->s[i].up && c->s[i].state == SS_STOPPED && eligible(c, i)) {
            if (c->nsess > 1)
                SLOG(&c->s[i], PL_LOG_INFO, "iec104: starting %s connection", side_name(&c->s[i]));
            start(c, i);
            return;
        }
}

/* The started (or starting) session gives way to session `i` (connected, stopped): `i` gets
 * STARTDT act and, on its confirmation, a general interrogation; the old one gets STOPDT
 * act when it is still connected. */
static void switch_to(pl_iec104_client_t *c, unsigned i, const pl_status_t *why)
{
    sess_t *old = &c->s[c->act], *s = &c->s[i];
    char text[160];

    c->st.switchovers++;
    pl_status_format(why, text, sizeof(text));
    SLOG(s, PL_LOG_WARN, "iec104: switchover %llu to %s connection (%s), away from %s %s: %s",
         (unsigned long long)c->st.switchovers, side_name(s), pl_line_peer(s->line), side_name(old),
         old->up ? pl_line_peer(old->line) : "connection", text);
    old->gi_running = 0;
    if (old->up && (old->state == SS_STARTED || old->state == SS_STARTING))
        stop(old);
    c->act = -1;
    start(c, i);
    if (c->cfg.on_link != NULL)
        c->cfg.on_link(c, PL_IEC104_LINK_SWITCH, why, c->cfg.ud);
}

/* prefer_primary: back to the primary when it has answered a TESTFR act while the backup
 * is started and no command is in flight. */
static void maybe_return(pl_iec104_client_t *c)
{
    pl_status_t why;

    if (c->nsess < 2 || !c->cfg.line.prefer_primary || c->act != 1 || c->s[1].state != SS_STARTED ||
        !c->s[0].up || c->s[0].state != SS_STOPPED || !c->s[0].healthy ||
        (c->cmd_head != NULL && c->cmd_head->stage_ != CMD_QUEUED))
        return;
    pl_status_clear(&why);
    pl_status_set(&why, PL_ECANCELED, 0, "the primary answers again: returning to it");
    switch_to(c, 0, &why);
}

/* After every event: a session to start, a return to the primary, the next deadline. */
static void settle(pl_iec104_client_t *c)
{
    pick(c);
    maybe_return(c);
    arm(c);
}

/* t1 ran out on session `s` for `what`. The started one gives way to a connected standby
 * (and gets STOPDT act, since it is still connected); otherwise the connection is closed. */
static void t1_expired(sess_t *s, const char *what)
{
    pl_iec104_client_t *c = s->c;
    sess_t *o = c->nsess > 1 ? &c->s[1 - s->idx] : NULL;
    char detail[96];
    pl_status_t why;

    snprintf(detail, sizeof(detail), "%s not confirmed within t1 (%u ms)", what, c->cfg.t1_ms);
    c->st.t1_expired++;
    s->healthy = 0;
    if (o != NULL && c->act == (int)s->idx && s->state != SS_STOPPING && o->up &&
        o->state == SS_STOPPED) {
        pl_status_clear(&why);
        pl_status_set(&why, PL_EIEC104_T1, 0, "%s", detail);
        switch_to(c, o->idx, &why);
        return;
    }
    if (s->state == SS_STOPPED && c->nsess > 1)
        c->st.standby_failures++;
    drop(s, PL_EIEC104_T1, detail);
}

/* =========================================================== commands */

static int cmd_base(uint8_t type)
{
    if (type >= PL_IEC104_C_SC_NA_1 && type <= PL_IEC104_C_BO_NA_1)
        return type;
    if (type >= PL_IEC104_C_SC_TA_1 && type <= PL_IEC104_C_BO_TA_1)
        return (int)type - (int)(PL_IEC104_C_SC_TA_1 - PL_IEC104_C_SC_NA_1);
    return -1;
}

/* The command's object; PL_EINVAL when its value or qualifier does not fit the type. */
static int cmd_object(const pl_iec104_cmd_t *cmd, int select, pl_iec104_object_t *o)
{
    double v = cmd->value;
    int base = cmd_base(cmd->type);

    memset(o, 0, sizeof(*o));
    o->ioa = cmd->ioa;
    o->select = (uint8_t)select;
    o->qualifier = cmd->qualifier;
    if (isnan(v))
        return PL_EINVAL;
    switch (base) {
    case PL_IEC104_C_SC_NA_1:
        if (v != 0 && v != 1)
            return PL_EINVAL;
        o->v.state = (uint8_t)v;
        break;
    case PL_IEC104_C_DC_NA_1:
    case PL_IEC104_C_RC_NA_1:
        if (v != floor(v) || v < 0 || v > 3)
            return PL_EINVAL;
        o->v.state = (uint8_t)v;
        break;
    case PL_IEC104_C_SE_NA_1:
        if (v < -1.0 || v >= 1.0)
            return PL_EINVAL;
        o->v.nva = (int16_t)lrint(v * 32768.0 > 32767.0 ? 32767.0 : v * 32768.0);
        break;
    case PL_IEC104_C_SE_NB_1:
        if (v != floor(v) || v < -32768 || v > 32767)
            return PL_EINVAL;
        o->v.sva = (int16_t)v;
        break;
    case PL_IEC104_C_SE_NC_1:
        if (fabs(v) > 3.4028234663852886e38)
            return PL_EINVAL;
        o->v.real = (float)v;
        break;
    case PL_IEC104_C_BO_NA_1:
        if (v != floor(v) || v < 0 || v > 4294967295.0 || cmd->sbo)
            return PL_EINVAL;
        o->v.bits = (uint32_t)v;
        break;
    default:
        return PL_EINVAL;
    }
    if (base >= (int)PL_IEC104_C_SE_NA_1 && base <= (int)PL_IEC104_C_SE_NC_1) {
        if (cmd->qualifier > PL_IEC104_QL_MAX)
            return PL_EINVAL;
    } else if (base != PL_IEC104_C_BO_NA_1 && cmd->qualifier > PL_IEC104_QU_MAX) {
        return PL_EINVAL;
    }
    if (cmd->type != base) {
        o->has_time = 1;
        if (wall_cp56(&o->time) < 0)
            return PL_EINVAL;
    }
    return 0;
}

static int cmd_send(pl_iec104_client_t *c, pl_iec104_cmd_t *cmd, int select)
{
    uint8_t asdu[PL_IEC104_MAX_ASDU];
    pl_iec104_object_t o;
    pl_iec104_asdu_t h;
    int n;

    if ((n = cmd_object(cmd, select, &o)) < 0)
        return n;
    memset(&h, 0, sizeof(h));
    h.type = cmd->type;
    h.cause = PL_IEC104_COT_ACT;
    h.oa = c->params.cot_size == 2 ? c->cfg.originator : 0;
    h.ca = c->cfg.ca;
    n = pl_iec104_asdu_encode(asdu, sizeof(asdu), &c->params, &h, &o, 1, NULL);
    if (n < 0)
        return n;
    return send_i(c, asdu, (size_t)n);
}

/* Answers the command at the head of the queue, once. */
static void cmd_done(pl_iec104_client_t *c, int code, const char *detail)
{
    pl_iec104_cmd_t *cmd = c->cmd_head;

    c->cmd_head = cmd->next_;
    if (c->cmd_head == NULL)
        c->cmd_tail = NULL;
    cmd->next_ = NULL;
    pl_status_clear(&cmd->status);
    if (code < 0) {
        pl_status_set(&cmd->status, code, 0, "%s", detail);
        c->st.commands_failed++;
    } else {
        c->st.commands_ok++;
    }
    cmd->cb(cmd);
}

/* Starts the command at the head when it has not been sent and the link is started. */
static void cmd_pump(pl_iec104_client_t *c)
{
    pl_iec104_cmd_t *cmd = c->cmd_head;
    int rc;

    if (cmd == NULL || cmd->stage_ != CMD_QUEUED || act_started(c) == NULL)
        return;
    rc = cmd_send(c, cmd, cmd->sbo);
    if (rc < 0) {
        cmd_done(c, rc, "the command could not be sent");
        cmd_pump(c);
        return;
    }
    cmd->stage_ = cmd->sbo ? CMD_SELECT : CMD_EXECUTE;
    c->st.commands++;
}

int pl_iec104_command(pl_iec104_client_t *c, pl_iec104_cmd_t *cmd)
{
    pl_iec104_object_t o;

    if (cmd == NULL || cmd->cb == NULL || cmd_object(cmd, cmd->sbo, &o) < 0)
        return PL_EINVAL;
    cmd->next_ = NULL;
    cmd->stage_ = CMD_QUEUED;
    cmd->due_ = now_ms(c) + c->cfg.timeout_ms;
    pl_status_clear(&cmd->status);
    if (c->cmd_tail != NULL)
        c->cmd_tail->next_ = cmd;
    else
        c->cmd_head = cmd;
    c->cmd_tail = cmd;
    cmd_pump(c);
    arm(c);
    return 0;
}

/* The named error of a cause 44..47 answer. */
static int unknown_code(uint8_t cause)
{
    static const int codes[] = {PL_EIEC104_UNKNOWN_TYPE, PL_EIEC104_UNKNOWN_COT,
                                PL_EIEC104_UNKNOWN_CA, PL_EIEC104_UNKNOWN_IOA};

    return codes[cause - PL_IEC104_COT_UNKNOWN_TYPE];
}

/* A confirmation or termination of the command in progress. */
static void cmd_answer(pl_iec104_client_t *c, const pl_iec104_asdu_t *a,
                       const pl_iec104_object_t *o)
{
    pl_iec104_cmd_t *cmd = c->cmd_head;
    char detail[96];

    if (cmd == NULL || cmd->stage_ == CMD_QUEUED || a->type != cmd->type || o->ioa != cmd->ioa) {
        PLOG(c, PL_LOG_INFO, "iec104: %s cause %u for IOA %u answers no command in progress",
             pl_iec104_type_name(a->type), (unsigned)a->cause, (unsigned)o->ioa);
        return;
    }
    if (a->cause >= PL_IEC104_COT_UNKNOWN_TYPE && a->cause <= PL_IEC104_COT_UNKNOWN_IOA) {
        snprintf(detail, sizeof(detail), "%s to IOA %u: the station answered %s",
                 pl_iec104_type_name(a->type), (unsigned)o->ioa, pl_iec104_cause_name(a->cause));
        cmd_done(c, unknown_code(a->cause), detail);
    } else if (a->cause == PL_IEC104_COT_ACTCON && a->pn) {
        snprintf(detail, sizeof(detail), "%s %s to IOA %u: negative confirmation",
                 pl_iec104_type_name(a->type), cmd->stage_ == CMD_SELECT ? "select" : "execute",
                 (unsigned)o->ioa);
        cmd_done(c, PL_EIEC104_NEGATIVE, detail);
    } else if (a->cause == PL_IEC104_COT_ACTCON && cmd->stage_ == CMD_SELECT) {
        int rc = cmd_send(c, cmd, 0);

        if (rc < 0) {
            cmd_done(c, rc, "the execute could not be sent");
        } else {
            cmd->stage_ = CMD_EXECUTE;
            return;
        }
    } else if (a->cause == PL_IEC104_COT_ACTCON && cmd->stage_ == CMD_EXECUTE) {
        cmd->stage_ = CMD_TERM;
        return;
    } else if (a->cause == PL_IEC104_COT_ACTTERM && cmd->stage_ != CMD_SELECT) {
        cmd_done(c, 0, NULL);
    } else {
        PLOG(c, PL_LOG_INFO, "iec104: %s cause %u for IOA %u not expected now",
             pl_iec104_type_name(a->type), (unsigned)a->cause, (unsigned)o->ioa);
        return;
    }
    cmd_pump(c);
}

/* =========================================================== receiving */

static void point_of(const pl_iec104_asdu_t *a, const pl_iec104_object_t *o, pl_iec104_point_t *p)
{
    memset(p, 0, sizeof(*p));
    p->ioa = o->ioa;
    p->ca = a->ca;
    p->type = a->type;
    p->cause = a->cause;
    p->quality = o->quality;
    switch (a->type) {
    case PL_IEC104_M_SP_NA_1:
    case PL_IEC104_M_SP_TB_1:
    case PL_IEC104_M_DP_NA_1:
    case PL_IEC104_M_DP_TB_1:
        p->raw = o->v.state;
        break;
    case PL_IEC104_M_ST_NA_1:
    case PL_IEC104_M_ST_TB_1:
        p->raw = o->v.step.value;
        break;
    case PL_IEC104_M_BO_NA_1:
    case PL_IEC104_M_BO_TB_1:
        p->raw = (int32_t)o->v.bits;
        p->value = (double)o->v.bits;
        break;
    case PL_IEC104_M_ME_NA_1:
    case PL_IEC104_M_ME_TD_1:
        p->raw = o->v.nva;
        p->value = o->v.nva / 32768.0;
        break;
    case PL_IEC104_M_ME_NB_1:
    case PL_IEC104_M_ME_TE_1:
        p->raw = o->v.sva;
        break;
    case PL_IEC104_M_ME_NC_1:
    case PL_IEC104_M_ME_TF_1:
        p->value = o->v.real;
        break;
    case PL_IEC104_M_IT_NA_1:
    case PL_IEC104_M_IT_TB_1:
        p->raw = o->v.counter.value;
        break;
    default:
        break;
    }
    if (a->type != PL_IEC104_M_ME_NC_1 && a->type != PL_IEC104_M_ME_TF_1 &&
        a->type != PL_IEC104_M_ME_NA_1 && a->type != PL_IEC104_M_ME_TD_1 &&
        a->type != PL_IEC104_M_BO_NA_1 && a->type != PL_IEC104_M_BO_TB_1)
        p->value = p->raw;
    if (o->has_time) {
        p->has_time = 1;
        p->time_iv = o->time.iv;
        p->time_su = o->time.su;
        if (pl_iec104_cp56_to_unix_ms(&o->time, &p->time_ms) < 0)
            p->time_ms = 0;
    }
}

static void handle_asdu(sess_t *s, const uint8_t *buf, size_t len)
{
    pl_iec104_client_t *c = s->c;
    const pl_iec104_type_info_t *ti;
    pl_iec104_asdu_t a;
    pl_iec104_object_t o;
    pl_iec104_iter_t it;
    unsigned gen = s->gen;
    int rc = pl_iec104_asdu_decode(buf, len, &c->params, &a);

    if (rc < 0) {
        c->st.bad_asdus++;
        SLOG(s, PL_LOG_WARN, "iec104: an ASDU does not decode (%s), ignored", pl_strerror(rc));
        return;
    }
    ti = pl_iec104_type_info(a.type);
    if (ti != NULL && !ti->control && a.type != PL_IEC104_M_EI_NA_1) {
        pl_iec104_iter_init(&it, &a);
        while (pl_iec104_iter_next(&it, &o) > 0 && gen == s->gen) {
            pl_iec104_point_t p;

            point_of(&a, &o, &p);
            c->st.objects++;
            if (c->cfg.on_data != NULL)
                c->cfg.on_data(c, &p, c->cfg.ud);
        }
        return;
    }
    if (pl_iec104_asdu_object(&a, 0, &o) < 0)
        return;
    if (a.type == PL_IEC104_C_IC_NA_1) {
        if (a.cause == PL_IEC104_COT_ACTTERM || a.pn ||
            (a.cause >= PL_IEC104_COT_UNKNOWN_TYPE && a.cause <= PL_IEC104_COT_UNKNOWN_IOA)) {
            pl_status_t st;

            if (!s->gi_running || c->act != (int)s->idx)
                return; /* the end of an interrogation on a connection given up */
            pl_status_clear(&st);
            if (a.cause >= PL_IEC104_COT_UNKNOWN_TYPE && a.cause <= PL_IEC104_COT_UNKNOWN_IOA) {
                pl_status_set(&st, unknown_code(a.cause), 0,
                              "the general interrogation was refused (cause %s)",
                              pl_iec104_cause_name(a.cause));
                SLOG(s, PL_LOG_WARN, "iec104: %s", st.detail);
            } else if (a.cause != PL_IEC104_COT_ACTTERM) {
                pl_status_set(&st, PL_EIEC104_NEGATIVE, 0,
                              "the general interrogation was refused (cause %s)",
                              pl_iec104_cause_name(a.cause));
                SLOG(s, PL_LOG_WARN, "iec104: %s", st.detail);
            } else {
                c->st.gi_done++;
            }
            s->gi_running = 0;
            if (c->cfg.on_link != NULL)
                c->cfg.on_link(c, PL_IEC104_LINK_GI_DONE, &st, c->cfg.ud);
        }
        return;
    }
    if (cmd_base(a.type) >= 0)
        cmd_answer(c, &a, &o);
}

/* N(R) of an I- or S-frame: 0, or the connection was dropped. */
static int ack(sess_t *s, uint16_t nr)
{
    char detail[96];

    if (pl_iec104_ack_check(nr, s->va, s->vs) < 0) {
        snprintf(detail, sizeof(detail),
                 "the station acknowledged N(R) %u, outside the frames sent (%u..%u)", (unsigned)nr,
                 (unsigned)s->va, (unsigned)s->vs);
        s->c->st.seq_errors++;
        drop(s, PL_EIEC104_ACK, detail);
        return -1;
    }
    s->va = nr;
    return 0;
}

/* STARTDT con on the session being started: interrogation, clock, commands. */
static void started(sess_t *s)
{
    pl_iec104_client_t *c = s->c;
    unsigned gen = s->gen;

    s->state = SS_STARTED;
    c->st.connections++;
    if (c->nsess > 1)
        SLOG(s, PL_LOG_INFO, "iec104: %s connection is started", side_name(s));
    if (c->cfg.on_link != NULL)
        c->cfg.on_link(c, PL_IEC104_LINK_STARTED, NULL, c->cfg.ud);
    if (gen != s->gen || !s->up || act_started(c) != s)
        return;
    if (c->cfg.time_sync) {
        pl_iec104_object_t o;

        memset(&o, 0, sizeof(o));
        o.has_time = 1;
        if (wall_cp56(&o.time) == 0)
            (void)send_system(c, PL_IEC104_C_CS_NA_1, &o);
    }
    if (!c->cfg.no_gi)
        (void)interrogate(c);
    else if (c->cfg.gi_period_ms > 0)
        c->gi_next = now_ms(c) + c->cfg.gi_period_ms;
    cmd_pump(c);
}

static void handle_u(sess_t *s, uint8_t func)
{
    pl_iec104_client_t *c = s->c;
    char detail[64];

    c->st.u_in++;
    switch (func) {
    case PL_IEC104_U_STARTDT_CON:
        if (s->state != SS_STARTING || c->act != (int)s->idx)
            return; /* a repeated confirmation: harmless */
        started(s);
        return;
    case PL_IEC104_U_TESTFR_ACT:
        send_u(s, PL_IEC104_U_TESTFR_CON);
        return;
    case PL_IEC104_U_TESTFR_CON:
        if (s->testfr_pending)
            s->healthy = 1;
        s->testfr_pending = 0;
        return;
    case PL_IEC104_U_STOPDT_CON:
        if (s->state != SS_STOPPING)
            return;
        if (s->va != s->vs) {
            drop(s, PL_EIEC104_ACK, "STOPDT con came with I-frames unacknowledged");
            return;
        }
        s->state = SS_STOPPED;
        SLOG(s, PL_LOG_INFO, "iec104: %s connection is stopped (STOPDT con), now the standby",
             side_name(s));
        return;
    default:
        snprintf(detail, sizeof(detail), "the station sent %s", pl_iec104_u_name(func));
        drop(s, PL_EIEC104_UNEXPECTED, detail);
        return;
    }
}

static void handle_apdu(sess_t *s, const uint8_t *buf, size_t len)
{
    pl_iec104_client_t *c = s->c;
    pl_iec104_apdu_t f;
    char detail[96];
    unsigned gen = s->gen;
    int rc = pl_iec104_decode(buf, len, &f);

    if (rc < 0) {
        c->st.bad_frames++;
        drop(s, rc, "an APDU does not decode");
        return;
    }
    s->last_rx = now_ms(c);
    switch (f.kind) {
    case PL_IEC104_FRAME_U:
        handle_u(s, f.func);
        return;
    case PL_IEC104_FRAME_S:
        c->st.s_in++;
        if (ack(s, f.nr) == 0)
            pending_flush(s);
        return;
    case PL_IEC104_FRAME_I:
        c->st.i_in++;
        if (s->state != SS_STARTED && s->state != SS_STOPPING) {
            drop(s, PL_EIEC104_UNEXPECTED, "the station sent an I-frame before STARTDT con");
            return;
        }
        if (f.ns != s->vr) {
            snprintf(detail, sizeof(detail), "the station sent N(S) %u, expected %u",
                     (unsigned)f.ns, (unsigned)s->vr);
            c->st.seq_errors++;
            drop(s, PL_EIEC104_SEQ, detail);
            return;
        }
        if (ack(s, f.nr) < 0)
            return;
        s->vr = pl_iec104_seq_add(s->vr, 1);
        if (s->rx_unacked++ == 0)
            s->rx_first = now_ms(c);
        handle_asdu(s, f.asdu, f.asdu_len);
        if (gen != s->gen || !s->up)
            return;
        /* the data is taken (the callbacks returned): now it may be acknowledged; a
         * connection being stopped acknowledges at once, so that STOPDT con can come */
        if (s->rx_unacked >= c->cfg.w || s->state == SS_STOPPING)
            send_s(s);
        pending_flush(s);
        return;
    }
}

/* =========================================================== line callbacks, timer */

static void on_up(pl_line_t *line, void *ud)
{
    sess_t *s = ud;
    pl_iec104_client_t *c = s->c;

    (void)line;
    s->gen++;
    s->up = 1;
    s->tried = 1;
    s->healthy = 0;
    s->state = SS_STOPPED;
    s->vs = s->vr = s->va = 0;
    s->rx_unacked = 0;
    s->rlen = 0;
    s->pend_n = 0;
    s->gi_running = 0;
    s->testfr_pending = 0;
    s->last_rx = now_ms(c);
    pick(c);
    if (c->act != (int)s->idx) {
        /* the standby: supervised with TESTFR act, now and after every t3 of silence */
        SLOG(s, PL_LOG_INFO, "iec104: %s connection is the standby", side_name(s));
        send_testfr(s);
    }
    settle(c);
}

static void on_data(pl_line_t *line, const uint8_t *buf, size_t len, void *ud)
{
    sess_t *s = ud;
    pl_iec104_client_t *c = s->c;
    unsigned gen = s->gen;

    (void)line;
    while (len > 0 && s->up && gen == s->gen) {
        size_t take = RBUF_LEN - s->rlen < len ? RBUF_LEN - s->rlen : len, need, off = 0;

        memcpy(s->rbuf + s->rlen, buf, take);
        s->rlen += take;
        buf += take;
        len -= take;
        while (s->up && gen == s->gen) {
            int n = pl_iec104_frame(s->rbuf + off, s->rlen - off, &need);

            if (n == PL_EAGAIN)
                break;
            if (n < 0) {
                c->st.bad_frames++;
                drop(s, n, "the byte stream is not IEC 104 framing");
                break;
            }
            handle_apdu(s, s->rbuf + off, (size_t)n);
            off += (size_t)n;
        }
        if (!s->up || gen != s->gen)
            break;
        memmove(s->rbuf, s->rbuf + off, s->rlen - off);
        s->rlen -= off;
    }
    settle(c);
}

static void on_down(pl_line_t *line, const pl_status_t *why, void *ud)
{
    sess_t *s = ud;
    pl_iec104_client_t *c = s->c;
    pl_iec104_cmd_t *cmd = c->cmd_head;
    int was_act = c->act == (int)s->idx;
    sess_t *o = c->nsess > 1 ? &c->s[1 - s->idx] : NULL;

    (void)line;
    s->gen++;
    s->up = 0;
    s->tried = 1;
    s->healthy = 0;
    s->state = SS_STOPPED;
    s->testfr_pending = 0;
    s->gi_running = 0;
    s->pend_n = 0;
    s->rlen = 0;
    if (why != NULL && why->code != 0)
        c->last_err = *why;
    if (!was_act) {
        if (c->act >= 0) { /* the standby, or an attempt of its side: the stream is elsewhere */
            settle(c);
            return;
        }
    } else {
        if (cmd != NULL && cmd->stage_ != CMD_QUEUED) {
            char detail[PL_STATUS_DETAIL_MAX];

            /* sent, not answered: whether it was carried out is not known */
            snprintf(detail, sizeof(detail),
                     "connection lost before the command was answered: %.40s",
                     why != NULL ? why->detail : "");
            cmd_done(c, why != NULL && why->code != 0 ? why->code : PL_ECONNECT, detail);
        }
        if (o != NULL && o->up && o->state == SS_STOPPED) {
            switch_to(c, o->idx, why); /* the old connection is gone: no STOPDT */
            settle(c);
            return;
        }
        c->act = -1;
    }
    if (c->cfg.on_link != NULL)
        c->cfg.on_link(c, PL_IEC104_LINK_DOWN, why, c->cfg.ud);
    settle(c);
}

/* Runs what is due on session `s`. */
static void sess_timer(sess_t *s, uint64_t now)
{
    pl_iec104_client_t *c = s->c;

    if (!s->up)
        return;
    if ((s->state == SS_STARTING || s->state == SS_STOPPING) && now >= s->u_due) {
        t1_expired(s, s->state == SS_STARTING ? "STARTDT act" : "STOPDT act");
    } else if (s->testfr_pending && now >= s->testfr_due) {
        t1_expired(s, "TESTFR act");
    } else if (s->state != SS_STOPPING && s->va != s->vs &&
               now >= s->sent_at[s->va % c->cfg.k] + c->cfg.t1_ms) {
        t1_expired(s, "an I-frame");
    } else {
        if (s->rx_unacked > 0 && now >= s->rx_first + c->cfg.t2_ms)
            send_s(s);
        if (s->up && !s->testfr_pending && now >= s->last_rx + c->cfg.t3_ms)
            send_testfr(s);
        if (act_started(c) == s && c->cfg.gi_period_ms > 0 && !s->gi_running && now >= c->gi_next)
            (void)interrogate(c);
    }
}

static void on_timer(uv_timer_t *t)
{
    pl_iec104_client_t *c = t->data;
    uint64_t now = now_ms(c);
    unsigned i;

    for (i = 0; i < c->nsess; i++)
        sess_timer(&c->s[i], now);
    while (c->cmd_head != NULL && now >= c->cmd_head->due_) {
        const pl_status_t *le = &c->last_err;
        char detail[PL_STATUS_DETAIL_MAX];

        if (c->cmd_head->stage_ == CMD_QUEUED && act_started(c) == NULL && le->code != 0) {
            snprintf(detail, sizeof(detail), "no started connection within %u ms: %.40s",
                     c->cfg.timeout_ms, le->detail);
            cmd_done(c, le->code, detail);
        } else {
            snprintf(detail, sizeof(detail), "no %s within %u ms",
                     c->cmd_head->stage_ == CMD_TERM ? "ACT_TERM" : "ACT_CON", c->cfg.timeout_ms);
            cmd_done(c, PL_ETIMEOUT, detail);
        }
        cmd_pump(c);
    }
    settle(c);
}

static void due_min(uint64_t *m, uint64_t t)
{
    if (t < *m)
        *m = t;
}

static void sess_due(const sess_t *s, uint64_t *m)
{
    const pl_iec104_client_t *c = s->c;

    if (!s->up)
        return;
    if (s->state == SS_STARTING || s->state == SS_STOPPING)
        due_min(m, s->u_due);
    if (s->testfr_pending)
        due_min(m, s->testfr_due);
    else
        due_min(m, s->last_rx + c->cfg.t3_ms);
    if (s->va != s->vs && s->state != SS_STOPPING)
        due_min(m, s->sent_at[s->va % c->cfg.k] + c->cfg.t1_ms);
    if (s->rx_unacked > 0)
        due_min(m, s->rx_first + c->cfg.t2_ms);
    if (c->act == (int)s->idx && s->state == SS_STARTED && c->cfg.gi_period_ms > 0 &&
        !s->gi_running)
        due_min(m, c->gi_next);
}

/* Sets the timer to the earliest deadline. */
static void arm(pl_iec104_client_t *c)
{
    uint64_t m = UINT64_MAX, now = now_ms(c);
    unsigned i;

    for (i = 0; i < c->nsess; i++)
        sess_due(&c->s[i], &m);
    if (c->cmd_head != NULL)
        due_min(&m, c->cmd_head->due_);
    if (m == UINT64_MAX) {
        uv_timer_stop(&c->timer);
        return;
    }
    uv_timer_start(&c->timer, on_timer, m > now ? m - now : 0, 0);
}

/* =========================================================== lifecycle */

int pl_iec104_client_new(uv_loop_t *loop, const pl_iec104_client_config_t *cfg,
                         pl_iec104_client_t **out)
{
    static const pl_line_cbs_t cbs = {on_up, on_data, on_down, NULL};
    pl_iec104_client_t *c;
    pl_line_config_t lc[2];
    unsigned i, nsess;

    *out = NULL;
    if (cfg->line.hosts.count == 0 || cfg->k < 1 || cfg->k > PL_IEC104_CLIENT_MAX_K || cfg->w < 1 ||
        cfg->w > cfg->k || cfg->t1_ms == 0 || cfg->t2_ms >= cfg->t1_ms || cfg->t3_ms == 0 ||
        cfg->timeout_ms == 0)
        return PL_EINVAL;
    nsess = cfg->line.redundancy == PL_REDUNDANCY_PARALLEL && cfg->line.use_backup &&
                    cfg->line.backup.count > 0
                ? 2u
                : 1u;
    c = calloc(1, sizeof(*c) + nsess * sizeof(sess_t));
    if (c == NULL)
        return PL_ENOMEM;
    c->loop = loop;
    c->cfg = *cfg;
    c->log = cfg->log;
    c->act = -1;
    c->params.cot_size = cfg->cot_size;
    c->params.ca_size = cfg->ca_size;
    c->params.ioa_size = cfg->ioa_size;
    if (pl_iec104_params_check(&c->params) < 0) {
        free(c);
        return PL_EINVAL;
    }
    pl_ratelimit_init(&c->rl, c->rl_slots, sizeof(c->rl_slots) / sizeof(c->rl_slots[0]));
    lc[0] = cfg->line;
    if (lc[0].connect_timeout_ms == 0)
        lc[0].connect_timeout_ms = cfg->t0_ms;
    if (lc[0].log == NULL)
        lc[0].log = cfg->log;
    c->nsess = nsess;
    if (nsess == 2) {
        /* two plain lines, each cycling through its own side's hosts */
        lc[0].use_backup = 0;
        lc[0].backup.count = 0;
        lc[0].redundancy = PL_REDUNDANCY_ALTERNATE;
        lc[0].prefer_primary = 0;
        lc[1] = lc[0];
        lc[1].hosts = cfg->line.backup;
        lc[1].port = cfg->line.backup_port != 0 ? cfg->line.backup_port : cfg->line.port;
        lc[1].hosts_side = PL_LINE_BACKUP; /* for the engine's view: which device carries it */
    }
    for (i = 0; i < c->nsess; i++) {
        sess_t *s = &c->s[i];

        s->c = c;
        s->idx = i;
        s->sent_at = calloc(cfg->k, sizeof(*s->sent_at));
        if (s->sent_at == NULL || pl_line_new(loop, &lc[i], &cbs, s, &s->line) < 0) {
            while (i-- > 0) { /* lines not started: freed at once, no callback */
                pl_line_free(c->s[i].line);
                free(c->s[i].sent_at);
            }
            free(s->sent_at);
            free(c);
            return PL_ENOMEM;
        }
    }
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    *out = c;
    return 0;
}

int pl_iec104_client_start(pl_iec104_client_t *c)
{
    unsigned i;
    int rc;

    for (i = 0; i < c->nsess; i++)
        if ((rc = pl_line_start(c->s[i].line)) < 0)
            return rc;
    return 0;
}

int pl_iec104_client_interrogate(pl_iec104_client_t *c)
{
    sess_t *s = act_started(c);
    int rc;

    if (s == NULL)
        return PL_ECLOSING;
    if (s->gi_running)
        return 0; /* the running one's answer brings every point */
    rc = interrogate(c);
    arm(c);
    return rc;
}

int pl_iec104_client_started(const pl_iec104_client_t *c)
{
    const sess_t *s = c->act >= 0 ? &c->s[c->act] : NULL;

    return s != NULL && s->up && s->state == SS_STARTED;
}

pl_line_t *pl_iec104_client_line(pl_iec104_client_t *c)
{
    return c->s[c->act >= 0 ? c->act : 0].line;
}

pl_line_t *pl_iec104_client_side_line(pl_iec104_client_t *c, pl_line_side_t side)
{
    if (c->nsess < 2)
        return side == PL_LINE_PRIMARY ? c->s[0].line : NULL;
    return (unsigned)side < 2 ? c->s[side].line : NULL;
}

int pl_iec104_client_active_side(const pl_iec104_client_t *c)
{
    pl_line_side_t side = PL_LINE_PRIMARY;

    if (c->act < 0)
        return -1;
    if (c->nsess > 1)
        return c->act == 0 ? PL_LINE_PRIMARY : PL_LINE_BACKUP;
    if (pl_line_active(c->s[0].line, &side, NULL) < 0)
        return -1;
    return (int)side;
}

const pl_iec104_client_stats_t *pl_iec104_client_stats(const pl_iec104_client_t *c)
{
    return &c->st;
}

static void on_timer_closed(uv_handle_t *h)
{
    pl_iec104_client_t *c = h->data;
    unsigned i;

    for (i = 0; i < c->nsess; i++)
        free(c->s[i].sent_at);
    free(c);
}

void pl_iec104_client_free(pl_iec104_client_t *c)
{
    unsigned i;

    if (c == NULL)
        return;
    for (i = 0; i < c->nsess; i++) {
        pl_line_free(c->s[i].line);
        c->s[i].up = 0;
        c->s[i].state = SS_STOPPED;
    }
    c->act = -1;
    while (c->cmd_head != NULL)
        cmd_done(c, PL_ECANCELED, "the client was closed");
    pl_ratelimit_flush(&c->rl, uv_now(c->loop), c->log);
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

const char *pl_iec104_type_str(uint8_t type)
{
    return pl_iec104_type_name(type);
}

int pl_iec104_type_of(const char *name)
{
    int t = pl_iec104_type_by_name(name);

    return t < 0 ? -1 : t;
}
