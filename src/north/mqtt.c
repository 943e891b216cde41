/* SPDX-License-Identifier: MIT */
/*
 * MQTT northbound on libmosquitto driven by libuv (see mqtt.h, docs/mqtt.md).
 *
 * libmosquitto is used as a protocol engine only: mosquitto_connect_async() to a numeric
 * address (uv_getaddrinfo resolved the name), mosquitto_loop_read/write() when a uv_poll_t
 * on mosquitto_socket() says so, mosquitto_loop_misc() from a timer. After every call into
 * libmosquitto, sync_socket() makes the poll handle follow the library's socket (it may
 * have been closed or replaced inside the call) and its want_write(). Nothing here may
 * block the loop, start a thread, print, or keep more than one waiting message per topic.
 *
 * Pacing: each loop turn may publish opts.max_per_turn messages and TURN_BYTES bytes (the
 * budget is refilled by a prepare handle, before the loop polls for I/O); what does not fit
 * waits in the pending table, so a burst of changes (300 000 first values at start, the
 * republication after a connect) never keeps the engine's sockets waiting for long.
 */
#include "north/mqtt.h"
#include "north/jsonl.h"

#include "plcline/error.h"

#include <jansson.h>
#include <math.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define TOPIC_MAX 512 /* prefix (127) + line/device/tag (3 x 63) + suffixes */
#define PAYLOAD_MAX                                                                         \
    4096                      /* a tag state or a result: value 96 bytes (up to 288 as text \
                                   plus 128 of base64), detail 96 (escaped up to 576), id 256 */
#define MISC_PERIOD_MS 1000   /* mosquitto_loop_misc: keep-alive pings, timeouts */
#define IO_PACKETS     64     /* packets per loop_read/loop_write call */
#define TURN_BYTES     65536u /* topic and payload bytes published per loop turn, at most */
#define TURN_STEPS     4096u  /* tags the republication looks at per loop turn, at most */
#define BUCKETS_MIN    256u
#define STATUS_ONLINE  "online"
#define STATUS_OFFLINE "offline"
#define SET_SUFFIX     "/set"
#define RESULT_SUFFIX  "/result"
#define STATUS_SUFFIX  "/status"

typedef enum {
    ST_IDLE = 0,   /* nothing started */
    ST_RESOLVING,  /* uv_getaddrinfo in flight */
    ST_CONNECTING, /* socket connecting / CONNECT sent, no CONNACK yet */
    ST_UP,         /* CONNACK received */
    ST_WAIT,       /* back-off before the next attempt */
} conn_state_t;

/* A message waiting for the broker: at most one per topic (the latest). */
typedef struct pend_s {
    struct pend_s *hnext;       /* hash chain */
    struct pend_s *prev, *next; /* FIFO, oldest first */
    uint32_t hash;
    int is_value; /* a tag value (counted in published/coalesced) */
    size_t plen;
    char *payload;
    char topic[]; /* NUL-terminated */
} pend_t;

/* The last status of a device, republished on every connect. */
typedef struct devst_s {
    struct devst_s *next;
    char *payload;
    size_t plen;
    char topic[];
} devst_t;

/* A write handed to the engine, waiting for its answer. */
typedef struct wctx_s {
    struct wctx_s *prev, *next;
    pl_mqtt_t *m; /* NULL once the client is freed: the answer goes nowhere */
    char *topic;  /* where the result goes */
    void *corr;   /* MQTT 5 correlation data (copied), or NULL */
    uint16_t corr_len;
    json_t *id; /* the request's "id", or NULL */
    int qos;
} wctx_t;

struct pl_mqtt_s {
    uv_loop_t *loop;
    const pl_logger_t *log;
    pl_ratelimit_t rl; /* lines a publisher of writes can cause (core/log.c) */
    pl_ratelimit_slot_t rl_slots[4];
    pl_engine_t *engine;
    pl_mqtt_opts_t opts;
    struct mosquitto *mosq;

    char host[256];
    int port;
    int keepalive;
    int qos_pub, qos_sub;
    int tls_by_name; /* TLS to a host name: libmosquitto must see the name (see docs) */
    char client_id[128];
    char prefix[128];
    char status_topic[TOPIC_MAX];
    char set_topic[TOPIC_MAX];

    conn_state_t state;
    uv_getaddrinfo_t gai;
    int resolving;
    unsigned attempt;
    unsigned naddrs; /* addresses of the last resolution */
    unsigned backoff_ms;
    uint32_t rng;

    uv_poll_t *poll; /* follows mosquitto_socket(); NULL when there is none */
    int poll_fd;
    int poll_events;
    uv_timer_t timer; /* connect timeout, back-off, close deadline */
    uv_timer_t misc;  /* mosquitto_loop_misc */
    int handles;      /* open handles; memory goes when 0 and no resolution runs */
    int closing, finished;
    int drop; /* a refused CONNACK: drop the connection after the call returns */

    /* pending messages: hash by topic + one FIFO per kind (device and instance statuses
     * first, then tag values) */
    pend_t **buckets;
    size_t nbuckets, npending;
    struct {
        pend_t *head, *tail;
    } q[2];

    size_t republish;  /* next engine tag to republish after a connect; SIZE_MAX: none */
    unsigned inflight; /* QoS 1/2 publishes not acknowledged */

    /* pacing: what may still be published in this loop turn (refilled by `turn`, a
     * prepare handle, before the loop polls for I/O); `more` (an idle handle) is active
     * while work waits that the connection could take, so that the loop does not block */
    uv_prepare_t turn;
    uv_idle_t more;
    unsigned turn_msgs;
    size_t turn_bytes;

    devst_t *devs;
    /* each device's line, sorted by device name: built from the tags on the first device
     * state, dropped when the engine changes */
    struct devline {
        const char *device, *line;
    } * devlines;
    size_t ndevlines;
    wctx_t *writes;
    pl_mqtt_stats_t stats;
};

static unsigned lib_users; /* mosquitto_lib_init() reference count (loop thread) */

static void after_io(pl_mqtt_t *m);
static void on_more(uv_idle_t *h);
static void schedule_retry(pl_mqtt_t *m);
static void finish(pl_mqtt_t *m);

/* --- JSON payloads ------------------------------------------------------------------ */

static uint64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int dump(json_t *o, char *buf, size_t cap)
{
    return pl_jsonl_dump(o, buf, cap, 0);
}

int pl_mqtt_format_state(const pl_tag_state_t *st, char *buf, size_t cap)
{
    return pl_jsonl_state_format(st, 0, buf, cap, 0);
}

/* --- helpers ------------------------------------------------------------------------ */

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;

    while (*s != '\0')
        h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

static uint32_t rnd(pl_mqtt_t *m) /* xorshift32 */
{
    uint32_t x = m->rng;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    m->rng = x;
    return x;
}

/* "<prefix>/<a>/<b>/<c><suffix>" with the NULL parts left out. Returns 0 or PL_ENOBUFS. */
static int topic_of(const pl_mqtt_t *m, char *buf, size_t cap, const char *a, const char *b,
                    const char *c, const char *suffix)
{
    int n = snprintf(buf, cap, "%s%s%s%s%s%s%s%s", m->prefix, a ? "/" : "", a ? a : "",
                     b ? "/" : "", b ? b : "", c ? "/" : "", c ? c : "", suffix ? suffix : "");

    return n < 0 || (size_t)n >= cap ? PL_ENOBUFS : 0;
}

static int backed_up(pl_mqtt_t *m)
{
    return mosquitto_want_write(m->mosq) || m->inflight >= m->opts.max_inflight;
}

static int can_send(pl_mqtt_t *m)
{
    return m->state == ST_UP && !m->closing && !backed_up(m);
}

/* Room left in this loop turn's budget. */
static int turn_room(const pl_mqtt_t *m)
{
    return m->turn_msgs > 0 && m->turn_bytes > 0;
}

static void turn_spend(pl_mqtt_t *m, size_t bytes)
{
    m->turn_msgs--;
    m->turn_bytes = bytes >= m->turn_bytes ? 0 : m->turn_bytes - bytes;
}

/* Messages wait: in the pending table, or as the republication's tags. */
static int work_waits(const pl_mqtt_t *m)
{
    return m->npending > 0 || m->republish != SIZE_MAX;
}

/* --- the pending table -------------------------------------------------------------- */

static pend_t **pend_slot(pl_mqtt_t *m, const char *topic, uint32_t h)
{
    pend_t **pp = &m->buckets[h & (m->nbuckets - 1)];

    while (*pp != NULL && ((*pp)->hash != h || strcmp((*pp)->topic, topic) != 0))
        pp = &(*pp)->hnext;
    return pp;
}

static void pend_grow(pl_mqtt_t *m)
{
    size_t n = m->nbuckets * 2, i;
    pend_t **nb = calloc(n, sizeof(*nb));

    if (nb == NULL)
        return; /* longer chains, still correct */
    for (i = 0; i < m->nbuckets; i++) {
        pend_t *p = m->buckets[i], *next;

        for (; p != NULL; p = next) {
            next = p->hnext;
            p->hnext = nb[p->hash & (n - 1)];
            nb[p->hash & (n - 1)] = p;
        }
    }
    free(m->buckets);
    m->buckets = nb;
    m->nbuckets = n;
}

static void pend_unlink(pl_mqtt_t *m, pend_t *p)
{
    pend_t **pp = pend_slot(m, p->topic, p->hash);

    *pp = p->hnext;
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        m->q[p->is_value].head = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    else
        m->q[p->is_value].tail = p->prev;
    m->npending--;
    m->stats.pending = m->npending;
}

/* Keeps `payload` as the message waiting for `topic`, replacing an older one. */
static void pend_put(pl_mqtt_t *m, const char *topic, const char *payload, size_t plen,
                     int is_value)
{
    uint32_t h = fnv1a(topic);
    pend_t **pp = pend_slot(m, topic, h), *p = *pp;
    char *copy;

    if (p != NULL) {
        copy = realloc(p->payload, plen + 1);
        if (copy == NULL) {
            m->stats.dropped++;
            return;
        }
        memcpy(copy, payload, plen);
        copy[plen] = '\0';
        p->payload = copy;
        p->plen = plen;
        if (is_value)
            m->stats.coalesced++;
        return;
    }
    if (m->npending >= m->opts.max_pending) {
        m->stats.dropped++;
        return;
    }
    p = malloc(sizeof(*p) + strlen(topic) + 1);
    copy = malloc(plen + 1);
    if (p == NULL || copy == NULL) {
        free(p);
        free(copy);
        m->stats.dropped++;
        return;
    }
    memcpy(p->topic, topic, strlen(topic) + 1);
    memcpy(copy, payload, plen);
    copy[plen] = '\0';
    p->payload = copy;
    p->plen = plen;
    p->hash = h;
    p->is_value = is_value != 0;
    p->hnext = NULL;
    *pp = p;
    p->prev = m->q[p->is_value].tail;
    p->next = NULL;
    if (p->prev != NULL)
        p->prev->next = p;
    else
        m->q[p->is_value].head = p;
    m->q[p->is_value].tail = p;
    m->npending++;
    m->stats.pending = m->npending;
    if (m->npending > m->stats.pending_peak)
        m->stats.pending_peak = m->npending;
    if (m->npending > m->nbuckets * 2)
        pend_grow(m);
}

static int pend_has(pl_mqtt_t *m, const char *topic)
{
    return m->npending > 0 && *pend_slot(m, topic, fnv1a(topic)) != NULL;
}

static void pend_free(pend_t *p)
{
    free(p->payload);
    free(p);
}

/* --- publishing --------------------------------------------------------------------- */

static int raw_publish(pl_mqtt_t *m, const char *topic, const char *payload, size_t plen, int qos,
                       int retain, const mosquitto_property *props)
{
    int rc =
        mosquitto_publish_v5(m->mosq, NULL, topic, (int)plen, payload, qos, retain != 0, props);

    if (rc == MOSQ_ERR_SUCCESS && qos > 0)
        m->inflight++;
    return rc;
}

/* Sends a retained message now when nothing else waits, the connection takes it and the
 * loop turn's budget allows; else keeps it waiting (the latest per topic). */
static void emit(pl_mqtt_t *m, const char *topic, const char *payload, size_t plen, int is_value)
{
    if (!work_waits(m) && can_send(m) && turn_room(m)) {
        if (raw_publish(m, topic, payload, plen, m->qos_pub, 1, NULL) == MOSQ_ERR_SUCCESS) {
            turn_spend(m, strlen(topic) + plen);
            if (is_value)
                m->stats.published++;
            return;
        }
        /* queued inside libmosquitto but the socket failed: keep our own copy; the read
         * side will see the loss and the reconnect publishes it */
    }
    pend_put(m, topic, payload, plen, is_value);
}

static void publish_state(pl_mqtt_t *m, const pl_tag_state_t *st)
{
    char topic[TOPIC_MAX], payload[PAYLOAD_MAX];
    int n;

    if (topic_of(m, topic, sizeof(topic), st->line, st->device, st->tag, NULL) < 0 ||
        (n = pl_mqtt_format_state(st, payload, sizeof(payload))) < 0) {
        m->stats.dropped++;
        return;
    }
    emit(m, topic, payload, (size_t)n, 1);
}

/* Sends the head of one waiting FIFO while the connection and the turn take it. */
static void pump_queue(pl_mqtt_t *m, int kind)
{
    while (m->q[kind].head != NULL && can_send(m) && turn_room(m)) {
        pend_t *p = m->q[kind].head;

        if (raw_publish(m, p->topic, p->payload, p->plen, m->qos_pub, 1, NULL) != MOSQ_ERR_SUCCESS)
            return; /* the connection failed; the message stays */
        turn_spend(m, strlen(p->topic) + p->plen);
        if (p->is_value)
            m->stats.published++;
        pend_unlink(m, p);
        pend_free(p);
    }
}

/* The republication after a connect: the current state of every tag that has been read,
 * except the tags whose state waits in the pending table (it goes out from there, once).
 * While it runs, changes wait in the table instead of going out at once, so a tag is never
 * sent twice by the pass and a change; the waiting values follow when it is done. */
static void pump_republish(pl_mqtt_t *m)
{
    char topic[TOPIC_MAX], payload[PAYLOAD_MAX];
    unsigned steps = 0;

    while (m->republish != SIZE_MAX && can_send(m) && turn_room(m) && steps++ < TURN_STEPS) {
        const pl_tag_state_t *st;
        int n;

        if (m->engine == NULL || m->republish >= pl_engine_tag_count(m->engine)) {
            m->republish = SIZE_MAX;
            break;
        }
        st = pl_engine_tag_at(m->engine, m->republish);
        if (st == NULL || st->ts_ms == 0 ||
            topic_of(m, topic, sizeof(topic), st->line, st->device, st->tag, NULL) < 0 ||
            pend_has(m, topic)) {
            m->republish++;
            continue;
        }
        n = pl_mqtt_format_state(st, payload, sizeof(payload));
        if (n < 0) {
            m->stats.dropped++;
            m->republish++;
            continue;
        }
        if (raw_publish(m, topic, payload, (size_t)n, m->qos_pub, 1, NULL) != MOSQ_ERR_SUCCESS)
            return; /* the connection failed: the next connect starts the pass again */
        m->republish++;
        turn_spend(m, strlen(topic) + (size_t)n);
        m->stats.published++;
    }
}

/* Publishes what waits, within this loop turn's budget: statuses, then the republication,
 * then the waiting values. */
static void pump(pl_mqtt_t *m)
{
    pump_queue(m, 0);
    if (m->q[0].head == NULL)
        pump_republish(m);
    if (m->q[0].head == NULL && m->republish == SIZE_MAX)
        pump_queue(m, 1);
}

/* Keeps the loop from blocking while work waits that the connection could take now; when
 * the socket is full or the broker away, the socket's events or the connect wake it. */
static void arm(pl_mqtt_t *m)
{
    int want = !m->finished && !m->closing && work_waits(m) && can_send(m);

    if (want && !uv_is_active((uv_handle_t *)&m->more))
        uv_idle_start(&m->more, on_more);
    else if (!want && uv_is_active((uv_handle_t *)&m->more))
        uv_idle_stop(&m->more);
}

/* --- the socket --------------------------------------------------------------------- */

static void on_poll_closed(uv_handle_t *h)
{
    free(h);
}

static void on_poll(uv_poll_t *h, int status, int events);

/* Makes the poll handle follow libmosquitto's socket and its wish to write. */
static void sync_socket(pl_mqtt_t *m)
{
    int fd = m->mosq != NULL ? mosquitto_socket(m->mosq) : -1;
    int want;

    if (m->poll != NULL && fd != m->poll_fd) {
        uv_close((uv_handle_t *)m->poll, on_poll_closed);
        m->poll = NULL;
        m->poll_fd = -1;
    }
    if (fd < 0)
        return;
    if (m->poll == NULL) {
        m->poll = malloc(sizeof(*m->poll));
        if (m->poll == NULL || uv_poll_init_socket(m->loop, m->poll, fd) < 0) {
            free(m->poll);
            m->poll = NULL;
            pl_log(m->log, PL_LOG_ERROR, "mqtt: cannot watch the broker socket");
            return;
        }
        m->poll->data = m;
        m->poll_fd = fd;
        m->poll_events = 0;
    }
    want = UV_READABLE | (mosquitto_want_write(m->mosq) ? UV_WRITABLE : 0);
    if (want != m->poll_events) {
        uv_poll_start(m->poll, want, on_poll);
        m->poll_events = want;
    }
}

/* Ends the current connection at once: the next read sees the end of the stream and
 * libmosquitto closes its socket and reports the disconnection. */
static void drop_connection(pl_mqtt_t *m)
{
    int fd = mosquitto_socket(m->mosq);

    if (fd >= 0) {
        shutdown(fd, SHUT_RDWR);
        mosquitto_loop_read(m->mosq, 1);
    }
}

static void after_io(pl_mqtt_t *m)
{
    if (m->finished)
        return;
    if (m->drop) {
        m->drop = 0;
        drop_connection(m);
    }
    sync_socket(m);
    if (m->closing) {
        if (mosquitto_socket(m->mosq) < 0)
            finish(m);
        return;
    }
    pump(m);
    sync_socket(m);
    arm(m);
}

/* Before the loop polls for I/O: a new turn, a new budget; what waits goes first. */
static void on_turn(uv_prepare_t *h)
{
    pl_mqtt_t *m = h->data;

    m->turn_msgs = m->opts.max_per_turn;
    m->turn_bytes = TURN_BYTES;
    if (work_waits(m) && m->state == ST_UP && !m->closing && !m->finished)
        after_io(m);
}

static void on_more(uv_idle_t *h)
{
    (void)h; /* only there so that the loop does not block; on_turn does the work */
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    pl_mqtt_t *m = h->data;
    int rc = MOSQ_ERR_SUCCESS;

    if (status < 0)
        events = UV_READABLE | UV_WRITABLE; /* let libmosquitto find the error */
    if (events & UV_READABLE)
        rc = mosquitto_loop_read(m->mosq, IO_PACKETS);
    if (rc == MOSQ_ERR_SUCCESS && (events & UV_WRITABLE) && mosquitto_socket(m->mosq) >= 0)
        mosquitto_loop_write(m->mosq, IO_PACKETS);
    after_io(m);
}

static void on_misc(uv_timer_t *t)
{
    pl_mqtt_t *m = t->data;

    if (mosquitto_socket(m->mosq) >= 0)
        mosquitto_loop_misc(m->mosq);
    after_io(m);
}

/* --- connecting --------------------------------------------------------------------- */

static void start_resolve(pl_mqtt_t *m);

static void on_timer(uv_timer_t *t)
{
    pl_mqtt_t *m = t->data;

    if (m->closing) { /* the close deadline */
        pl_log(m->log, PL_LOG_DEBUG, "mqtt: close deadline reached");
        finish(m);
        return;
    }
    switch (m->state) {
    case ST_WAIT:
        start_resolve(m);
        return;
    case ST_CONNECTING:
        pl_log(m->log, PL_LOG_WARN, "mqtt: %s:%d: no CONNACK within %u ms", m->host, m->port,
               m->opts.connect_timeout_ms);
        drop_connection(m);
        sync_socket(m);
        if (m->state == ST_CONNECTING) /* no disconnect report: retry anyway */
            schedule_retry(m);
        return;
    case ST_IDLE:
    case ST_RESOLVING:
    case ST_UP:
        return;
    }
}

static void schedule_retry(pl_mqtt_t *m)
{
    unsigned d;

    if (m->closing)
        return;
    m->state = ST_WAIT;
    m->stats.connect_failures++;
    if (m->naddrs > 1 && m->attempt % m->naddrs != 0) {
        m->naddrs = 0; /* the next address of the name at once ("localhost": ::1, then
                          127.0.0.1), the back-off once every address has failed */
        uv_timer_start(&m->timer, on_timer, 0, 0);
        return;
    }
    if (m->backoff_ms == 0)
        m->backoff_ms = m->opts.backoff_min_ms;
    d = m->backoff_ms / 2u + (m->backoff_ms > 1u ? rnd(m) % (m->backoff_ms / 2u + 1u) : 0u);
    m->backoff_ms =
        m->backoff_ms >= m->opts.backoff_max_ms / 2u ? m->opts.backoff_max_ms : m->backoff_ms * 2u;
    pl_log(m->log, PL_LOG_DEBUG, "mqtt: next attempt in %u ms", d);
    uv_timer_start(&m->timer, on_timer, d, 0);
}

static void start_connect(pl_mqtt_t *m, const char *addr)
{
    int rc;

    sync_socket(m); /* forget any earlier socket before a new one may reuse its number */
    rc = mosquitto_connect_async(m->mosq, m->tls_by_name ? m->host : addr, m->port, m->keepalive);
    sync_socket(m);
    if (rc != MOSQ_ERR_SUCCESS) {
        pl_log(m->log, PL_LOG_WARN, "mqtt: connect to %s port %d: %s", addr, m->port,
               mosquitto_strerror(rc));
        schedule_retry(m);
        return;
    }
    m->state = ST_CONNECTING;
    uv_timer_start(&m->timer, on_timer, m->opts.connect_timeout_ms, 0);
    after_io(m);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    pl_mqtt_t *m = req->data;
    struct addrinfo *ai;
    char addr[64] = "";
    unsigned n = 0, pick;

    m->resolving = 0;
    if (m->closing) {
        uv_freeaddrinfo(res);
        if (m->finished && m->handles == 0)
            finish(m); /* releases the memory now that nothing else runs */
        return;
    }
    if (status < 0) {
        pl_log(m->log, PL_LOG_WARN, "mqtt: cannot resolve broker '%s': %s", m->host,
               uv_strerror(status));
        schedule_retry(m);
        return;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next)
        n++;
    pick = n > 0 ? m->attempt % n : 0; /* next attempt, next address */
    m->naddrs = n;
    for (ai = res; ai != NULL && pick > 0; ai = ai->ai_next)
        pick--;
    if (ai != NULL && ai->ai_family == AF_INET)
        uv_ip4_name((const struct sockaddr_in *)(const void *)ai->ai_addr, addr, sizeof(addr));
    else if (ai != NULL && ai->ai_family == AF_INET6)
        uv_ip6_name((const struct sockaddr_in6 *)(const void *)ai->ai_addr, addr, sizeof(addr));
    uv_freeaddrinfo(res);
    m->attempt++;
    if (addr[0] == '\0') {
        pl_log(m->log, PL_LOG_WARN, "mqtt: broker '%s' has no usable address", m->host);
        schedule_retry(m);
        return;
    }
    start_connect(m, addr);
}

static void start_resolve(pl_mqtt_t *m)
{
    struct addrinfo hints;
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    m->state = ST_RESOLVING;
    m->gai.data = m;
    rc = uv_getaddrinfo(m->loop, &m->gai, on_resolved, m->host, NULL, &hints);
    if (rc < 0) {
        pl_log(m->log, PL_LOG_WARN, "mqtt: cannot resolve broker '%s': %s", m->host,
               uv_strerror(rc));
        schedule_retry(m);
        return;
    }
    m->resolving = 1;
}

/* --- libmosquitto callbacks (run inside loop_read/write/misc) ------------------------ */

static void subscribe_topics(pl_mqtt_t *m)
{
    size_t i, n;
    char topic[TOPIC_MAX];

    mosquitto_subscribe_v5(m->mosq, NULL, m->set_topic, m->qos_sub, 0, NULL);
    if (m->engine == NULL)
        return;
    /* names holding '/' make more topic levels than '+/+/+' matches: subscribe to them */
    n = pl_engine_tag_count(m->engine);
    for (i = 0; i < n; i++) {
        const pl_tag_state_t *st = pl_engine_tag_at(m->engine, i);

        if (st == NULL || (strchr(st->tag, '/') == NULL && strchr(st->device, '/') == NULL &&
                           strchr(st->line, '/') == NULL))
            continue;
        if (topic_of(m, topic, sizeof(topic), st->line, st->device, st->tag, SET_SUFFIX) == 0)
            mosquitto_subscribe_v5(m->mosq, NULL, topic, m->qos_sub, 0, NULL);
    }
}

static void on_connect(struct mosquitto *mosq, void *ud, int rc, int flags,
                       const mosquitto_property *props)
{
    pl_mqtt_t *m = ud;
    devst_t *d;

    (void)mosq;
    (void)flags;
    (void)props;
    if (rc != 0) {
        pl_log(m->log, PL_LOG_WARN, "mqtt: broker %s:%d refused the connection: %s", m->host,
               m->port, mosquitto_reason_string(rc));
        m->drop = 1;
        return;
    }
    uv_timer_stop(&m->timer);
    m->state = ST_UP;
    m->backoff_ms = 0;
    m->inflight = 0;
    m->stats.connected = 1;
    if (m->stats.connects++ > 0)
        m->stats.reconnects++;
    pl_log(m->log, PL_LOG_INFO, "mqtt: connected to %s:%d as '%s'", m->host, m->port, m->client_id);
    raw_publish(m, m->status_topic, STATUS_ONLINE, strlen(STATUS_ONLINE), m->qos_pub, 1, NULL);
    subscribe_topics(m);
    for (d = m->devs; d != NULL; d = d->next)
        if (!pend_has(m, d->topic))
            pend_put(m, d->topic, d->payload, d->plen, 0);
    m->republish = 0; /* the broker may have restarted empty: give it every state again */
}

static void on_disconnect(struct mosquitto *mosq, void *ud, int rc, const mosquitto_property *props)
{
    pl_mqtt_t *m = ud;
    int was_up = m->state == ST_UP;

    (void)mosq;
    (void)props;
    m->stats.connected = 0;
    m->inflight = 0;
    m->republish = SIZE_MAX;
    if (m->closing)
        return; /* after_io finishes */
    if (was_up)
        pl_log(m->log, PL_LOG_WARN, "mqtt: broker connection lost: %s", mosquitto_strerror(rc));
    else
        pl_log(m->log, PL_LOG_WARN, "mqtt: cannot connect to %s:%d: %s", m->host, m->port,
               mosquitto_strerror(rc));
    if (was_up)
        m->stats.connect_failures--; /* schedule_retry counts attempts that failed */
    schedule_retry(m);
}

static void on_publish(struct mosquitto *mosq, void *ud, int mid, int reason,
                       const mosquitto_property *props)
{
    pl_mqtt_t *m = ud;

    (void)mosq;
    (void)mid;
    (void)reason;
    (void)props;
    if (m->qos_pub > 0 && m->inflight > 0)
        m->inflight--;
}

static void on_mosq_log(struct mosquitto *mosq, void *ud, int level, const char *msg)
{
    pl_mqtt_t *m = ud;

    (void)mosq;
    if (level == MOSQ_LOG_ERR) /* what the broker can cause: rate-limited */
        pl_log_limited(&m->rl, uv_now(m->loop), m->log, PL_LOG_WARN, "broker",
                       "mqtt: libmosquitto: %s", msg);
    else /* details asked for with -v */
        pl_log(m->log, PL_LOG_DEBUG, "mqtt: libmosquitto: %s", msg);
}

/* --- writes ------------------------------------------------------------------------- */

static void result(pl_mqtt_t *m, wctx_t *w, const pl_status_t *st)
{
    char payload[PAYLOAD_MAX];
    mosquitto_property *props = NULL;
    json_t *o;
    int n;

    if (st->code == 0)
        m->stats.writes_ok++;
    else
        m->stats.writes_failed++;
    o = json_pack("{s:s}", "result", st->code == 0 ? "ok" : "error");
    if (o == NULL)
        return;
    json_object_set(o, "id", w->id != NULL ? w->id : json_null());
    if (st->code != 0)
        json_object_set_new(o, "error", pl_jsonl_error_object(st->code, st->detail));
    n = dump(o, payload, sizeof(payload));
    if (n < 0)
        return;
    if (m->state != ST_UP) {
        pl_log_limited(&m->rl, uv_now(m->loop), m->log, PL_LOG_WARN, "broker",
                       "mqtt: result for %s lost: broker away", w->topic);
        return;
    }
    if (w->corr != NULL)
        mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, w->corr, w->corr_len);
    raw_publish(m, w->topic, payload, (size_t)n, w->qos, 0, props);
    mosquitto_property_free_all(&props);
}

static void wctx_free(wctx_t *w)
{
    free(w->topic);
    free(w->corr);
    json_decref(w->id);
    free(w);
}

static void wctx_unlink(pl_mqtt_t *m, wctx_t *w)
{
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        m->writes = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
}

static void on_written(pl_engine_t *e, const pl_status_t *st, void *ud)
{
    wctx_t *w = ud;
    pl_mqtt_t *m = w->m;

    (void)e;
    if (m != NULL) {
        wctx_unlink(m, w);
        result(m, w, st);
        after_io(m);
    }
    wctx_free(w);
}

static int json_to_value(json_t *j, pl_value_t *v, pl_status_t *err)
{
    memset(v, 0, sizeof(*v));
    if (json_is_boolean(j)) {
        v->type = PL_VT_BOOL;
        v->i = json_is_true(j);
    } else if (json_is_integer(j)) {
        v->type = PL_VT_INT;
        v->i = (int64_t)json_integer_value(j);
    } else if (json_is_real(j)) {
        v->type = PL_VT_FLOAT;
        v->f = json_real_value(j);
    } else if (json_is_string(j) && json_string_length(j) < sizeof(v->s)) {
        v->type = PL_VT_STRING;
        memcpy(v->s, json_string_value(j), json_string_length(j) + 1);
    } else {
        return pl_status_set(err, PL_EVALUE, 0,
                             "the value must be a number, true/false or a short string");
    }
    return 0;
}

/* {"value":V,"id":X} or a plain value: 42, 1.5, true, "text" or text. */
static int parse_set(const char *payload, size_t len, pl_value_t *v, json_t **id, pl_status_t *err)
{
    char idtext[PL_JSONL_ID_MAX + 1];
    json_error_t je;
    json_t *j, *val;
    const char *key;
    json_t *x;
    int rc;

    *id = NULL;
    j = json_loadb(payload, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (j == NULL) { /* plain text */
        if (len == 0)
            return pl_status_set(err, PL_EVALUE, 0, "empty payload");
        if (len >= sizeof(v->s) || memchr(payload, '\0', len) != NULL)
            return pl_status_set(err, PL_EVALUE, 0, "text value too long or not text");
        memset(v, 0, sizeof(*v));
        v->type = PL_VT_STRING;
        memcpy(v->s, payload, len);
        return 0;
    }
    if (!json_is_object(j)) {
        rc = json_to_value(j, v, err);
        json_decref(j);
        return rc;
    }
    json_object_foreach(j, key, x)
    {
        if (strcmp(key, "value") != 0 && strcmp(key, "id") != 0) {
            pl_status_set(err, PL_EVALUE, 0, "unknown key '%.40s' (expected value, id)", key);
            json_decref(j);
            return PL_EVALUE;
        }
    }
    x = json_object_get(j, "id");
    if (pl_jsonl_id(x, idtext, err) < 0) { /* the same rule as on JSON lines: whole or refused */
        json_decref(j);
        return PL_EVALUE;
    }
    if (x != NULL)
        *id = json_incref(x);
    val = json_object_get(j, "value");
    rc = val != NULL ? json_to_value(val, v, err)
                     : pl_status_set(err, PL_EVALUE, 0, "\"value\" is missing");
    json_decref(j);
    return rc;
}

/* The tag a set topic's "line/device/tag" part names, checked against the engine. */
static int resolve_tag(pl_mqtt_t *m, const char *mid, char *tag, size_t cap, pl_status_t *err)
{
    const char *s1 = strchr(mid, '/'), *s2 = s1 != NULL ? strchr(s1 + 1, '/') : NULL;
    const pl_tag_state_t *st;
    size_t i, n;

    if (s2 != NULL && strchr(s2 + 1, '/') == NULL) {
        st = pl_engine_tag(m->engine, s2 + 1);
        if (st == NULL)
            return pl_status_set(err, PL_ENOTAG, 0, "no tag '%.60s'", s2 + 1);
        if (strlen(st->line) != (size_t)(s1 - mid) || strncmp(st->line, mid, strlen(st->line)) ||
            strlen(st->device) != (size_t)(s2 - s1 - 1) ||
            strncmp(st->device, s1 + 1, strlen(st->device)))
            return pl_status_set(err, PL_ENOTAG, 0, "tag '%.40s' is on %.20s/%.20s", st->tag,
                                 st->line, st->device);
        snprintf(tag, cap, "%s", st->tag);
        return 0;
    }
    n = pl_engine_tag_count(m->engine); /* names with '/': compare whole paths */
    for (i = 0; i < n; i++) {
        char path[TOPIC_MAX];

        st = pl_engine_tag_at(m->engine, i);
        snprintf(path, sizeof(path), "%s/%s/%s", st->line, st->device, st->tag);
        if (strcmp(path, mid) == 0) {
            snprintf(tag, cap, "%s", st->tag);
            return 0;
        }
    }
    return pl_status_set(err, PL_ENOTAG, 0, "no tag at '%.80s'", mid);
}

static void on_message(struct mosquitto *mosq, void *ud, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    pl_mqtt_t *m = ud;
    size_t tl = strlen(msg->topic), pl = strlen(m->prefix), sl = strlen(SET_SUFFIX);
    char mid[TOPIC_MAX], tag[PL_NAME_MAX];
    char *resp = NULL;
    int long_mid;
    pl_value_t v;
    pl_status_t st;
    wctx_t *w;

    (void)mosq;
    if (tl <= pl + 1 + sl || strncmp(msg->topic, m->prefix, pl) != 0 || msg->topic[pl] != '/' ||
        strcmp(msg->topic + tl - sl, SET_SUFFIX) != 0)
        return;
    /* a "line/device/tag" longer than any tag's is answered (PL_ENOTAG below), not ignored */
    long_mid = tl - pl - 1 - sl >= sizeof(mid);
    memcpy(mid, msg->topic + pl + 1, long_mid ? 0 : tl - pl - 1 - sl);
    mid[long_mid ? 0 : tl - pl - 1 - sl] = '\0';
    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return;
    w->qos = msg->qos;
    mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &w->corr, &w->corr_len,
                                   false);
    mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &resp, false);
    if (resp != NULL && mosquitto_pub_topic_check(resp) == MOSQ_ERR_SUCCESS) {
        w->topic = resp;
    } else {
        free(resp);
        /* the request's own topic with "/result" for "/set", whatever its length */
        w->topic = malloc(tl - sl + sizeof(RESULT_SUFFIX));
        if (w->topic == NULL) {
            wctx_free(w);
            return;
        }
        memcpy(w->topic, msg->topic, tl - sl);
        memcpy(w->topic + tl - sl, RESULT_SUFFIX, sizeof(RESULT_SUFFIX));
    }
    pl_status_clear(&st);
    if (parse_set(msg->payload, (size_t)msg->payloadlen, &v, &w->id, &st) == 0) {
        if (long_mid)
            pl_status_set(&st, PL_ENOTAG, 0, "topic longer than any tag's (%zu bytes)", tl);
        else if (m->engine == NULL)
            pl_status_set(&st, PL_ESTOPPED, 0, "no configuration is running");
        else if (resolve_tag(m, mid, tag, sizeof(tag), &st) == 0) {
            w->m = m;
            w->next = m->writes;
            if (m->writes != NULL)
                m->writes->prev = w;
            m->writes = w;
            if (pl_engine_write(m->engine, tag, &v, on_written, w, &st) == 0)
                return;
            wctx_unlink(m, w);
            w->m = NULL;
            w->prev = w->next = NULL;
        }
    }
    if (st.code == 0)
        pl_status_set(&st, PL_EINVAL, 0, NULL);
    /* MQTT does not say who published: every refusal counts as one partner's */
    pl_log_limited(&m->rl, uv_now(m->loop), m->log, PL_LOG_INFO, "mqtt writers",
                   "mqtt: write on %s refused: %s %s", msg->topic, pl_err_name(st.code), st.detail);
    result(m, w, &st);
    wctx_free(w);
}

/* --- public ------------------------------------------------------------------------- */

void pl_mqtt_opts_init(pl_mqtt_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->backoff_min_ms = 500;
    o->backoff_max_ms = 30000;
    o->connect_timeout_ms = 10000;
    o->close_timeout_ms = 1000;
    o->max_pending = PL_CONFIG_TAGS_MAX + PL_CONFIG_ITEMS_MAX;
    o->max_inflight = 1000;
    o->max_per_turn = 256;
}

static int is_numeric_host(const char *h)
{
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;

    return uv_ip4_addr(h, 0, &a4) == 0 || uv_ip6_addr(h, 0, &a6) == 0;
}

static void free_memory(pl_mqtt_t *m)
{
    pend_t *p, *pn;
    devst_t *d, *dn;
    int i;

    for (i = 0; i < 2; i++)
        for (p = m->q[i].head; p != NULL; p = pn) {
            pn = p->next;
            pend_free(p);
        }
    for (d = m->devs; d != NULL; d = dn) {
        dn = d->next;
        free(d->payload);
        free(d);
    }
    free(m->devlines);
    free(m->buckets);
    free(m);
}

static void on_handle_closed(uv_handle_t *h)
{
    pl_mqtt_t *m = h->data;

    if (--m->handles == 0 && !m->resolving)
        free_memory(m);
}

/* Closes everything; the memory goes in the last close callback. Idempotent. */
static void finish(pl_mqtt_t *m)
{
    if (m->finished) {
        if (m->handles == 0 && !m->resolving)
            free_memory(m);
        return;
    }
    m->finished = 1;
    if (m->poll != NULL) { /* stop watching before libmosquitto closes the socket */
        uv_close((uv_handle_t *)m->poll, on_poll_closed);
        m->poll = NULL;
    }
    if (m->mosq != NULL)
        mosquitto_destroy(m->mosq);
    m->mosq = NULL;
    if (--lib_users == 0)
        mosquitto_lib_cleanup();
    uv_close((uv_handle_t *)&m->timer, on_handle_closed);
    uv_close((uv_handle_t *)&m->misc, on_handle_closed);
    uv_close((uv_handle_t *)&m->turn, on_handle_closed);
    uv_close((uv_handle_t *)&m->more, on_handle_closed);
}

int pl_mqtt_new(uv_loop_t *loop, const pl_north_def_t *def, pl_engine_t *engine,
                const pl_logger_t *log, const pl_mqtt_opts_t *opts, pl_mqtt_t **out,
                pl_status_t *err)
{
    pl_mqtt_t *m;
    char hostname[128];
    size_t hl = sizeof(hostname);
    int rc;

    if (loop == NULL || def == NULL || out == NULL)
        return pl_status_set(err, PL_EINVAL, 0, NULL);
    *out = NULL;
    if (def->mqtt_qos_pub < 0 || def->mqtt_qos_pub > 2 || def->mqtt_qos_sub < 0 ||
        def->mqtt_qos_sub > 2)
        return pl_status_set(err, PL_ECONFIG, 0, "mqtt: QoS must be 0, 1 or 2");
    if (strpbrk(def->mqtt_prefix, "+#") != NULL)
        return pl_status_set(err, PL_ECONFIG, 0, "mqtt: the prefix may not hold '+' or '#'");
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    m->loop = loop;
    m->log = log;
    pl_ratelimit_init(&m->rl, m->rl_slots, sizeof(m->rl_slots) / sizeof(m->rl_slots[0]));
    m->engine = engine;
    if (opts != NULL)
        m->opts = *opts;
    else
        pl_mqtt_opts_init(&m->opts);
    if (m->opts.backoff_min_ms == 0)
        m->opts.backoff_min_ms = 1;
    if (m->opts.backoff_max_ms < m->opts.backoff_min_ms)
        m->opts.backoff_max_ms = m->opts.backoff_min_ms;
    if (m->opts.max_inflight == 0)
        m->opts.max_inflight = 1;
    if (m->opts.max_per_turn == 0)
        m->opts.max_per_turn = 1;
    m->turn_msgs = m->opts.max_per_turn;
    m->turn_bytes = TURN_BYTES;
    m->rng = m->opts.seed != 0 ? m->opts.seed : (uint32_t)uv_hrtime() | 1u;
    snprintf(m->host, sizeof(m->host), "%s", def->mqtt_host[0] ? def->mqtt_host : "127.0.0.1");
    m->port = def->mqtt_port != 0 ? def->mqtt_port : (def->mqtt_ca_file[0] ? 8883 : 1883);
    m->keepalive = def->mqtt_keepalive_s == 0 ? 30 : (int)def->mqtt_keepalive_s;
    if (m->keepalive < 5)
        m->keepalive = 5;
    if (m->keepalive > 65535)
        m->keepalive = 65535;
    m->qos_pub = def->mqtt_qos_pub;
    m->qos_sub = def->mqtt_qos_sub;
    m->tls_by_name = def->mqtt_ca_file[0] != '\0' && !is_numeric_host(m->host);
    snprintf(m->prefix, sizeof(m->prefix), "%s",
             def->mqtt_prefix[0] ? def->mqtt_prefix : "plcline");
    if (def->mqtt_client_id[0] != '\0') {
        snprintf(m->client_id, sizeof(m->client_id), "%s", def->mqtt_client_id);
    } else {
        if (uv_os_gethostname(hostname, &hl) != 0)
            snprintf(hostname, sizeof(hostname), "host");
        snprintf(m->client_id, sizeof(m->client_id), "plcline-%.80s-%ld", hostname,
                 (long)uv_os_getpid());
    }
    topic_of(m, m->status_topic, sizeof(m->status_topic), m->client_id, NULL, NULL, STATUS_SUFFIX);
    topic_of(m, m->set_topic, sizeof(m->set_topic), "+", "+", "+", SET_SUFFIX);
    m->republish = SIZE_MAX;
    m->poll_fd = -1;
    m->nbuckets = BUCKETS_MIN;
    m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
    if (m->buckets == NULL) {
        free(m);
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    }
    if (lib_users++ == 0)
        mosquitto_lib_init();
    m->mosq = mosquitto_new(m->client_id, true, m);
    rc = m->mosq == NULL ? MOSQ_ERR_NOMEM : MOSQ_ERR_SUCCESS;
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    if (rc == MOSQ_ERR_SUCCESS)
        mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_will_set_v5(m->mosq, m->status_topic, (int)strlen(STATUS_OFFLINE),
                                   STATUS_OFFLINE, m->qos_pub, true, NULL);
    if (rc == MOSQ_ERR_SUCCESS && def->mqtt_user[0] != '\0')
        rc = mosquitto_username_pw_set(m->mosq, def->mqtt_user,
                                       def->mqtt_password[0] ? def->mqtt_password : NULL);
    if (rc == MOSQ_ERR_SUCCESS && def->mqtt_ca_file[0] != '\0')
        rc = mosquitto_tls_set(m->mosq, def->mqtt_ca_file, NULL,
                               def->mqtt_cert_file[0] ? def->mqtt_cert_file : NULL,
                               def->mqtt_key_file[0] ? def->mqtt_key_file : NULL, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        pl_status_set(err, rc == MOSQ_ERR_NOMEM ? PL_ENOMEM : PL_ECONFIG, 0, "mqtt: %.80s",
                      mosquitto_strerror(rc));
        if (m->mosq != NULL)
            mosquitto_destroy(m->mosq);
        if (--lib_users == 0)
            mosquitto_lib_cleanup();
        free(m->buckets);
        free(m);
        return rc == MOSQ_ERR_NOMEM ? PL_ENOMEM : PL_ECONFIG;
    }
    mosquitto_connect_v5_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(m->mosq, on_disconnect);
    mosquitto_publish_v5_callback_set(m->mosq, on_publish);
    mosquitto_message_v5_callback_set(m->mosq, on_message);
    if (log != NULL && log->cb != NULL && log->level >= PL_LOG_DEBUG)
        mosquitto_log_callback_set(m->mosq, on_mosq_log);
    uv_timer_init(loop, &m->timer);
    uv_timer_init(loop, &m->misc);
    uv_prepare_init(loop, &m->turn);
    uv_idle_init(loop, &m->more);
    m->timer.data = m;
    m->misc.data = m;
    m->turn.data = m;
    m->more.data = m;
    m->handles = 4;
    uv_timer_start(&m->misc, on_misc, MISC_PERIOD_MS, MISC_PERIOD_MS);
    uv_prepare_start(&m->turn, on_turn);
    uv_unref((uv_handle_t *)&m->turn); /* a budget to refill keeps no loop alive */
    start_resolve(m);
    *out = m;
    return 0;
}

void pl_mqtt_publish_state(pl_mqtt_t *m, const pl_tag_state_t *st)
{
    if (m == NULL || st == NULL || m->closing)
        return;
    publish_state(m, st);
    sync_socket(m);
    arm(m);
}

static int cmp_devline(const void *a, const void *b)
{
    return strcmp(((const struct devline *)a)->device, ((const struct devline *)b)->device);
}

/* The line of `device`, from an index of the engine's tags built once: with 1 000 devices
 * of 300 tags, walking the tags for every device that connects was 3e8 steps at start. */
static const char *line_of(pl_mqtt_t *m, const char *device)
{
    struct devline key = {device, NULL}, *hit;

    if (m->devlines == NULL) {
        size_t i, n = pl_engine_tag_count(m->engine), cap = 0;

        m->ndevlines = 0;
        for (i = 0; i < n; i++) {
            const pl_tag_state_t *st = pl_engine_tag_at(m->engine, i);
            struct devline *dl = m->devlines;

            /* tags come device by device: keep a device once per run of its tags */
            if (m->ndevlines > 0 && dl[m->ndevlines - 1].device == st->device)
                continue;
            if (m->ndevlines == cap) {
                cap = cap != 0 ? 2 * cap : 64;
                dl = realloc(m->devlines, cap * sizeof(*dl));
                if (dl == NULL) {
                    free(m->devlines);
                    m->devlines = NULL;
                    return NULL;
                }
                m->devlines = dl;
            }
            dl[m->ndevlines].device = st->device;
            dl[m->ndevlines++].line = st->line;
        }
        if (m->devlines == NULL)
            return NULL;
        qsort(m->devlines, m->ndevlines, sizeof(*m->devlines), cmp_devline);
    }
    hit = bsearch(&key, m->devlines, m->ndevlines, sizeof(*m->devlines), cmp_devline);
    return hit != NULL ? hit->line : NULL;
}

void pl_mqtt_device_state(pl_mqtt_t *m, const char *line, const char *device,
                          const pl_status_t *status)
{
    char topic[TOPIC_MAX], payload[PAYLOAD_MAX], ts[96];
    json_t *o;
    devst_t *d;
    int len;

    if (m == NULL || device == NULL || m->closing)
        return;
    if (line == NULL && m->engine != NULL)
        line = line_of(m, device);
    if (line == NULL || topic_of(m, topic, sizeof(topic), line, device, NULL, STATUS_SUFFIX) < 0)
        return;
    pl_jsonl_iso8601(wall_ms(), ts, sizeof(ts));
    o = json_pack("{s:b}", "connected", status == NULL || status->code == 0);
    if (o == NULL)
        return;
    json_object_set_new(o, "error",
                        status != NULL && status->code != 0
                            ? pl_jsonl_error_object(status->code, status->detail)
                            : json_null());
    json_object_set_new(o, "ts", json_string(ts));
    if ((len = dump(o, payload, sizeof(payload))) < 0)
        return;
    for (d = m->devs; d != NULL && strcmp(d->topic, topic) != 0; d = d->next)
        ;
    if (d == NULL && (d = calloc(1, sizeof(*d) + strlen(topic) + 1)) != NULL) {
        memcpy(d->topic, topic, strlen(topic) + 1);
        d->next = m->devs;
        m->devs = d;
    }
    if (d != NULL) {
        char *copy = malloc((size_t)len + 1);

        if (copy != NULL) {
            memcpy(copy, payload, (size_t)len + 1);
            free(d->payload);
            d->payload = copy;
            d->plen = (size_t)len;
        }
    }
    emit(m, topic, payload, (size_t)len, 0);
    sync_socket(m);
    arm(m);
}

void pl_mqtt_set_engine(pl_mqtt_t *m, pl_engine_t *engine)
{
    if (m == NULL)
        return;
    m->engine = engine;
    free(m->devlines); /* names of the engine that goes */
    m->devlines = NULL;
    m->ndevlines = 0;
    if (m->republish != SIZE_MAX)
        m->republish = 0; /* a republication under way starts over on the new tags */
    if (m->state == ST_UP && !m->closing) {
        subscribe_topics(m);
        sync_socket(m);
    }
    arm(m);
}

void pl_mqtt_free(pl_mqtt_t *m)
{
    wctx_t *w;

    if (m == NULL || m->closing)
        return;
    m->closing = 1;
    pl_ratelimit_flush(&m->rl, uv_now(m->loop), m->log); /* counts not yet logged */
    for (w = m->writes; w != NULL; w = w->next)
        w->m = NULL; /* answered to nobody; freed in their callbacks */
    m->writes = NULL;
    uv_timer_stop(&m->timer);
    uv_timer_stop(&m->misc);
    uv_idle_stop(&m->more);
    if (m->resolving)
        uv_cancel((uv_req_t *)&m->gai);
    if (m->state == ST_UP) {
        raw_publish(m, m->status_topic, STATUS_OFFLINE, strlen(STATUS_OFFLINE), m->qos_pub, 1,
                    NULL);
        mosquitto_disconnect_v5(m->mosq, MQTT_RC_NORMAL_DISCONNECTION, NULL);
        sync_socket(m);
        if (mosquitto_socket(m->mosq) >= 0) {
            uv_timer_start(&m->timer, on_timer, m->opts.close_timeout_ms, 0);
            return; /* the broker closes the socket after DISCONNECT; after_io finishes */
        }
    }
    finish(m);
}

const pl_mqtt_stats_t *pl_mqtt_stats(const pl_mqtt_t *m)
{
    return &m->stats;
}
