/* SPDX-License-Identifier: MIT */
/*
 * Client lines (D2000 "TCP/IP-TCP" and "TCP/IP-TCP Redundant" lines): the TCP transport
 * under every client protocol. Up to 8 primary hosts (and, with a backup device, up to 8
 * backup hosts) tried in order and cyclically, asynchronous name resolution, a connect
 * timeout, optional local bind, exponential back-off with jitter, a per-line receive buffer
 * and a bounded output queue. Redundancy lives here, invisible to protocols: they see one
 * stream (on_up / on_data / on_down, pl_line_send / pl_line_drop). Also holds the small
 * helpers shared with listener.c (address text, socket tuning, the try-write-then-queue
 * send path, the back-off formula).
 *
 * This module must not: block the loop (names go through uv_getaddrinfo on the threadpool;
 * only numeric literals are parsed synchronously, which never touches the network), print
 * (it logs through cfg->log), call pl_hostlist_parse (host lists arrive parsed), touch the
 * application's rand() state, or call a protocol callback after pl_line_free()/
 * pl_line_stop() returns.
 *
 * How the line works inside (slots, the exact retry policy, what the protocol is told and
 * when, memory): docs/lines.md, "Inside a line".
 */
#include "net/internal.h"

#include "plcline/error.h"
#include "plcline/line.h"
#include "plcline/log.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define DEFAULT_CONNECT_TIMEOUT_MS 3000u
#define DEFAULT_BACKOFF_MIN_MS     100u
#define DEFAULT_BACKOFF_MAX_MS     10000u
#define DEFAULT_KEEPALIVE_S        30
/* Keep-alive probes after the idle time: a dead peer is found after idle + 3 * interval. */
#define KEEPALIVE_PROBES       3
#define KEEPALIVE_MAX_INTERVAL 10

/* --- helpers shared with listener.c (declared in net/internal.h) ---------------------- */

int pl_net_addr_format(const struct sockaddr *sa, int with_port, char *buf, size_t cap)
{
    char host[64];
    unsigned port;
    int v6 = 0;

    if (cap == 0)
        return UV_EINVAL;
    buf[0] = '\0';
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
        if (uv_ip4_name(sin, host, sizeof(host)) != 0)
            return UV_EINVAL;
        port = ntohs(sin->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
        port = ntohs(sin6->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            if (uv_inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], host, sizeof(host)) != 0)
                return UV_EINVAL;
        } else {
            size_t n;
            if (uv_ip6_name(sin6, host, sizeof(host)) != 0)
                return UV_EINVAL;
            n = strlen(host);
            if (sin6->sin6_scope_id != 0)
                snprintf(host + n, sizeof(host) - n, "%%%u", (unsigned)sin6->sin6_scope_id);
            v6 = 1;
        }
    } else {
        return UV_EAFNOSUPPORT;
    }
    if (!with_port)
        snprintf(buf, cap, "%s", host);
    else if (v6)
        snprintf(buf, cap, "[%s]:%u", host, port);
    else
        snprintf(buf, cap, "%s:%u", host, port);
    return 0;
}

int pl_net_parse_ip(const char *s, uint16_t port, struct sockaddr_storage *out)
{
    char tmp[PL_NET_ADDR_MAX];
    size_t len = strlen(s);

    if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        s++;
        len -= 2;
    }
    if (len == 0 || len >= sizeof(tmp))
        return UV_EINVAL;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    memset(out, 0, sizeof(*out));
    if (uv_ip4_addr(tmp, port, (struct sockaddr_in *)out) == 0)
        return 0;
    memset(out, 0, sizeof(*out));
    if (strchr(tmp, ':') != NULL && uv_ip6_addr(tmp, port, (struct sockaddr_in6 *)out) == 0)
        return 0;
    return UV_EINVAL;
}

int pl_net_tune(uv_tcp_t *tcp, int keepalive_s)
{
    int r = uv_tcp_nodelay(tcp, 1);
    int r2;

    if (keepalive_s <= 0)
        return r != 0 ? r : uv_tcp_keepalive(tcp, 0, 0);
    r2 = uv_tcp_keepalive(tcp, 1, (unsigned)keepalive_s);
    if (r == 0)
        r = r2;
#if defined(TCP_KEEPINTVL) && defined(TCP_KEEPCNT)
    {
        /* libuv 1.44 sets only the idle time; without these a dead peer takes the kernel
         * defaults (9 probes 75 s apart) to notice. */
        uv_os_fd_t fd;
        int intvl = keepalive_s < KEEPALIVE_MAX_INTERVAL ? keepalive_s : KEEPALIVE_MAX_INTERVAL;
        int cnt = KEEPALIVE_PROBES;
        if (uv_fileno((const uv_handle_t *)tcp, &fd) == 0) {
            if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) != 0 && r == 0)
                r = UV_EINVAL;
            if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) != 0 && r == 0)
                r = UV_EINVAL;
        }
    }
#endif
    return r;
}

int pl_net_send(uv_stream_t *stream, const uint8_t *buf, size_t len, size_t room, uv_write_cb cb,
                void *owner, size_t *queued)
{
    uv_buf_t b;
    pl_net_chunk_t *c;
    size_t rest;
    int n;
    int r;

    *queued = 0;
    if (len > UINT32_MAX)
        return UV_EINVAL;
    b = uv_buf_init((char *)(uintptr_t)buf, (unsigned)len);
    n = uv_try_write(stream, &b, 1);
    if (n == UV_EAGAIN || n == UV_ENOSYS)
        n = 0;
    else if (n < 0)
        return n;
    rest = len - (size_t)n;
    if (rest == 0)
        return 0;
    if (rest > room)
        return UV_ENOBUFS;
    c = malloc(sizeof(*c) + rest);
    if (c == NULL)
        return UV_ENOMEM;
    memcpy(c->data, buf + n, rest);
    c->len = rest;
    c->req.data = owner;
    b = uv_buf_init((char *)c->data, (unsigned)rest);
    r = uv_write(&c->req, stream, &b, 1, cb);
    if (r != 0) {
        free(c);
        return r;
    }
    *queued = rest;
    return 0;
}

unsigned pl_net_backoff(unsigned min_ms, unsigned max_ms, unsigned failures, uint32_t rnd)
{
    uint64_t base = min_ms;
    uint64_t d;
    unsigned i;

    if (failures == 0)
        return 0;
    for (i = 1; i < failures && base < max_ms; i++)
        base *= 2;
    if (base > max_ms)
        base = max_ms;
    d = base - base / 4 + rnd % (base / 2 + 1);
    if (d < min_ms)
        d = min_ms;
    if (d > max_ms)
        d = max_ms;
    return (unsigned)d;
}

/* --- the line --------------------------------------------------------------------------- */

struct slot;

/* One connection (attempt). Detached (slot == NULL) once the line gave it up: its libuv
 * callbacks then only release memory. */
struct sock {
    uv_tcp_t tcp;
    uv_connect_t creq;
    struct slot *slot;
    size_t queued;   /* bytes in uv_write chunks not yet written */
    unsigned chunks; /* number of those chunks */
};

/* A pending name lookup; detached (slot == NULL) when abandoned. */
struct resolve {
    uv_getaddrinfo_t req;
    struct slot *slot;
};

/* What a slot's timer is waiting for. */
enum wait {
    W_NONE = 0,
    W_ATTEMPT, /* start the next attempt */
    W_CONNECT, /* connect timeout of the current address */
    W_RETURN,  /* parallel, prefer_primary: the primary has been up long enough to return to */
};

/* One host of the combined list: primary hosts first, then backup hosts. */
struct target {
    const char *name; /* in line->cfg.hosts.text or line->cfg.backup.text */
    uint16_t port;    /* own port, else the side's port */
    uint8_t side;     /* pl_line_side_t */
    uint8_t index;    /* in that side's host list */
};

/* A connection machine: resolves, connects, backs off, cycles through its targets. A plain
 * or alternate line has one; a parallel line one per side. */
struct slot {
    pl_line_t *line;
    uv_timer_t timer;
    const struct target *targets; /* into line->targets */
    unsigned ntargets;
    unsigned id; /* index in line->slot[] */
    struct sock *sock;
    struct resolve *res;
    struct addrinfo *ai;     /* addresses of the current host */
    struct addrinfo *ai_cur; /* address being tried */
    struct addrinfo *ai_next;
    pl_line_state_t state;
    enum wait wait;
    unsigned host;     /* target connected to, being tried, or tried next */
    unsigned nfail;    /* failures since the last stable connection */
    unsigned tried;    /* addresses tried in the current attempt */
    unsigned retry_ms; /* delay of the pending retry */
    uint64_t up_since;
    pl_status_t err; /* why the current attempt/connection failed */
    char peer[PL_NET_ADDR_MAX];
};

struct side_stats {
    pl_status_t last;
    uint64_t connects, failures;
};

struct pl_line_s {
    uv_loop_t *loop;
    pl_line_config_t cfg;
    pl_line_cbs_t cbs;
    void *ud;
    struct target targets[2 * PL_HOSTLIST_MAX];
    unsigned ntargets;
    unsigned nprimary;
    struct slot slot[2];
    unsigned nslots;
    int parallel;
    int active;    /* slot carrying the protocol's stream, or -1 */
    int proto_up;  /* the protocol was given on_up (and no on_down since) */
    int pend;      /* ntimer armed: a deferred report is due */
    int pend_down; /* ... starting with on_down(pend_why) */
    int last_side; /* side of the last active connection, -1: none yet */
    pl_status_t pend_why;
    uv_timer_t ntimer;
    unsigned handles; /* open timers; the line is freed when the last one closed */
    int started;
    int freed;
    uint64_t rng; /* xorshift64* state for the jitter */
    pl_line_stats_t stats;
    pl_status_t last;
    struct side_stats side[2];
    char local[PL_NET_ADDR_MAX];
};

static void connect_next(struct slot *s);
static void slot_timer_cb(uv_timer_t *t);

static uint64_t now_ms(const pl_line_t *line)
{
    return line->cfg.now_ms != NULL ? line->cfg.now_ms(line->cfg.clock_ud) : uv_now(line->loop);
}

/* splitmix64 (Vigna): spreads a weak seed over all 64 bits. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* Jitter source: cfg.random (tests) or the line's own xorshift64* generator, so that lines
 * of different processes (and of one process) do not retry in step, and the
 * application's rand() sequence is left alone. */
static uint32_t random32(pl_line_t *line)
{
    uint64_t x;

    if (line->cfg.random != NULL)
        return line->cfg.random(line->cfg.clock_ud);
    x = line->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    line->rng = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

static const struct target *slot_target(const struct slot *s)
{
    return &s->targets[s->host];
}

/* " primary" / " backup" on lines with a backup device, "" otherwise (log prefixes). */
static const char *side_tag(const pl_line_t *line, const struct target *t)
{
    if (line->ntargets == line->nprimary && t->side == PL_LINE_PRIMARY)
        return "";
    return t->side == PL_LINE_PRIMARY ? " primary" : " backup";
}

/* "plc-a:502", "10.0.0.9:502", "[::1]:502" */
static void host_label(const struct target *t, char *buf, size_t cap)
{
    if (strchr(t->name, ':') != NULL)
        snprintf(buf, cap, "[%s]:%u", t->name, (unsigned)t->port);
    else
        snprintf(buf, cap, "%s:%u", t->name, (unsigned)t->port);
}

/* The address being tried, for details: "10.0.0.9:502" or "plc-a (10.0.0.9:502)". */
static void target_label(const struct slot *s, char *buf, size_t cap)
{
    char addr[PL_NET_ADDR_MAX];
    char bare[PL_NET_ADDR_MAX];
    const struct target *t = slot_target(s);

    if (s->ai_cur == NULL || pl_net_addr_format(s->ai_cur->ai_addr, 1, addr, sizeof(addr)) != 0) {
        host_label(t, buf, cap);
        return;
    }
    if (pl_net_addr_format(s->ai_cur->ai_addr, 0, bare, sizeof(bare)) == 0 &&
        strcmp(bare, t->name) == 0)
        snprintf(buf, cap, "%s", addr);
    else
        snprintf(buf, cap, "%s (%s)", t->name, addr);
}

static void sock_close_cb(uv_handle_t *h)
{
    free(h->data);
}

/* Gives up the current socket: no callback of it reaches the protocol any more. */
static void sock_detach(struct slot *s)
{
    struct sock *sk = s->sock;

    if (sk == NULL)
        return;
    s->sock = NULL;
    sk->slot = NULL;
    uv_close((uv_handle_t *)&sk->tcp, sock_close_cb);
}

static void resolve_abandon(struct slot *s)
{
    struct resolve *res = s->res;

    if (res == NULL)
        return;
    s->res = NULL;
    res->slot = NULL;
    /* Fails when the lookup already runs; its callback then frees `res`. */
    (void)uv_cancel((uv_req_t *)&res->req);
}

static void ai_release(struct slot *s)
{
    if (s->ai != NULL)
        uv_freeaddrinfo(s->ai);
    s->ai = NULL;
    s->ai_cur = NULL;
    s->ai_next = NULL;
}

/* Stops everything the slot has in flight; its timer stays open. */
static void slot_halt(struct slot *s)
{
    uv_timer_stop(&s->timer);
    s->wait = W_NONE;
    sock_detach(s);
    resolve_abandon(s);
    ai_release(s);
    s->peer[0] = '\0';
}

static void slot_arm(struct slot *s, enum wait w, uint64_t ms)
{
    s->wait = w;
    (void)uv_timer_start(&s->timer, slot_timer_cb, ms, 0); /* cannot fail on an open timer */
}

/* --- what the protocol sees ------------------------------------------------------------ */

static void notify_cb(uv_timer_t *t);

/* on_up when a side is active and the protocol does not know yet. */
static void bring_up(pl_line_t *line)
{
    if (line->proto_up || line->active < 0)
        return;
    line->proto_up = 1;
    if (line->cbs.on_up != NULL)
        line->cbs.on_up(line, line->ud); /* may stop or free the line */
}

/* Tells the protocol on_down(why) (when `why` is not NULL), then on_up if a side is active.
 * Deferred (or while a deferred report is pending): from a 0 ms timer, where one on_down
 * stands for every loss since (the protocol saw no on_up in between). */
static void report(pl_line_t *line, const pl_status_t *why, int deferred)
{
    if (why != NULL)
        line->proto_up = 0;
    if (deferred || line->pend) {
        if (why != NULL && !line->pend_down) {
            line->pend_down = 1;
            line->pend_why = *why;
        }
        if (!line->pend) {
            line->pend = 1;
            (void)uv_timer_start(&line->ntimer, notify_cb, 0, 0);
        }
        return;
    }
    if (why != NULL && line->cbs.on_down != NULL) {
        line->cbs.on_down(line, why, line->ud); /* may stop or free the line */
        if (line->freed || !line->started)
            return;
    }
    bring_up(line);
}

static void notify_cb(uv_timer_t *t)
{
    pl_line_t *line = t->data;
    pl_status_t why;

    line->pend = 0;
    if (line->pend_down) {
        line->pend_down = 0;
        why = line->pend_why;
        report(line, &why, 0);
        return;
    }
    bring_up(line);
}

static unsigned slot_side(const struct slot *s)
{
    return slot_target(s)->side;
}

/* Makes slot `id` the active one; a change of side counts as a switchover. */
static void set_active(pl_line_t *line, unsigned id)
{
    struct slot *s = &line->slot[id];
    int side = (int)slot_side(s);
    uv_timeval64_t tv;

    line->active = (int)id;
    if (line->last_side >= 0 && side != line->last_side) {
        line->stats.switchovers++;
        line->stats.last_switch_ms = now_ms(line);
        if (uv_gettimeofday(&tv) == 0)
            line->stats.last_switch_wall_ms = tv.tv_sec * 1000 + tv.tv_usec / 1000;
        pl_log(line->cfg.log, PL_LOG_WARN,
               "line: switched over to the %s side (%s), switchover %llu",
               side == PL_LINE_PRIMARY ? "primary" : "backup", s->peer,
               (unsigned long long)line->stats.switchovers);
    }
    line->last_side = side;
}

/* Slot `s` lost its connection or failed an attempt (s->err says why, already logged). */
static void line_lost(pl_line_t *line, struct slot *s, int deferred)
{
    if (line->active == (int)s->id) {
        line->active = -1;
        if (line->parallel && line->slot[1 - s->id].state == PL_LINE_UP)
            set_active(line, 1 - s->id); /* failover: on_down, then at once on_up */
    } else if (line->active >= 0) {
        return; /* the standby side: the protocol is not concerned */
    }
    report(line, &s->err, deferred);
}

/* Slot `s` connected. */
static void line_gained(pl_line_t *line, struct slot *s)
{
    if (line->active < 0) {
        set_active(line, s->id);
        report(line, NULL, 0);
        return;
    }
    if (line->parallel && line->cfg.prefer_primary && s->id == 0 && line->active == 1) {
        /* a primary that accepts and drops connections (a PLC still starting, a firewall)
         * must not pull the stream back and forth: it has to stay up `stable_ms` first */
        pl_log(line->cfg.log, PL_LOG_INFO,
               "line%s: standby connection to %s; the stream returns to it once it has been "
               "up %u ms",
               side_tag(line, slot_target(s)), s->peer, line->cfg.stable_ms);
        slot_arm(s, W_RETURN, line->cfg.stable_ms);
        return;
    }
    pl_log(line->cfg.log, PL_LOG_INFO, "line%s: standby connection to %s",
           side_tag(line, slot_target(s)), s->peer);
}

/* W_RETURN: the primary (slot 0) stayed up `stable_ms` while the backup carries the
 * stream: the stream moves back to it. */
static void return_to_primary(struct slot *s)
{
    pl_line_t *line = s->line;
    pl_status_t why;

    if (s->state != PL_LINE_UP || line->active != 1)
        return;
    set_active(line, 0);
    if (line->pend)
        return; /* the pending report brings the protocol up on the primary */
    if (line->cbs.on_switch != NULL) {
        line->cbs.on_switch(line, line->ud);
        return;
    }
    pl_status_set(&why, PL_ECANCELED, 0, "switching back to primary");
    report(line, &why, 0);
}

/* The slot's attempt failed or its connection broke (s->err says why): move on to the
 * next target after the back-off, and tell the protocol if it is concerned. `deferred`:
 * deliver the protocol's callbacks from a 0 ms timer. */
static void slot_fail(struct slot *s, int deferred)
{
    pl_line_t *line = s->line;
    const struct target *t = slot_target(s);
    struct side_stats *ss = &line->side[t->side];
    char text[256];
    char next[PL_NET_ADDR_MAX + 40];
    int was_up = s->state == PL_LINE_UP;
    uint64_t up_ms = was_up ? now_ms(line) - s->up_since : 0;
    int short_up = was_up && up_ms < line->cfg.stable_ms;
    const char *tag = side_tag(line, t);

    slot_halt(s);
    line->stats.failures++;
    ss->failures++;
    ss->last = s->err;
    line->last = s->err;
    if (was_up && !short_up)
        s->nfail = 0; /* it was a stable connection: start over from the minimum */
    if (short_up)
        line->stats.short_ups++;
    if (s->nfail < 64)
        s->nfail++;
    s->host = (s->host + 1) % s->ntargets;
    s->retry_ms = pl_net_backoff(line->cfg.backoff_min_ms, line->cfg.backoff_max_ms, s->nfail,
                                 random32(line));
    s->state = PL_LINE_BACKOFF;

    pl_status_format(&s->err, text, sizeof(text));
    host_label(slot_target(s), next, sizeof(next));
    if (was_up)
        pl_log(line->cfg.log, PL_LOG_WARN,
               "line%s: connection lost after %llu ms%s: %s; next host %u (%s) in %u ms", tag,
               (unsigned long long)up_ms, short_up ? " (short: back-off not reset)" : "", text,
               s->host, next, s->retry_ms);
    else
        pl_log(line->cfg.log, PL_LOG_WARN, "line%s: %s; next host %u (%s) in %u ms", tag, text,
               s->host, next, s->retry_ms);

    slot_arm(s, W_ATTEMPT, s->retry_ms);
    line_lost(line, s, deferred); /* may stop or free the line */
}

/* One receive buffer per thread serves every line of that thread's loop: libuv hands each
 * read to read_cb right after alloc_cb, and on_data consumes it before returning, so no two
 * reads ever need it at once. This keeps an idle line small (the buffer was 4 KiB a line). */
static _Thread_local uint8_t tl_rbuf[PL_NET_RBUF];

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct sock *sk = h->data;

    (void)suggested;
    if (sk->slot == NULL) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    *buf = uv_buf_init((char *)tl_rbuf, (unsigned)sizeof(tl_rbuf));
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct sock *sk = stream->data;
    struct slot *s = sk->slot;
    pl_line_t *line;

    if (s == NULL || nread == 0)
        return;
    line = s->line;
    if (nread > 0) {
        if (!line->proto_up || line->active != (int)s->id) {
            line->stats.standby_bytes += (uint64_t)nread;
            pl_log(line->cfg.log, PL_LOG_DEBUG,
                   "line%s: %zd bytes from standby connection %s discarded",
                   side_tag(line, slot_target(s)), nread, s->peer);
            return;
        }
        line->stats.bytes_in += (uint64_t)nread;
        if (line->cbs.on_data != NULL)
            line->cbs.on_data(line, (const uint8_t *)buf->base, (size_t)nread, line->ud);
        return; /* the line may be gone now */
    }
    if (nread == UV_EOF)
        pl_status_set(&s->err, PL_ERECV_00, UV_EOF, "%s", s->peer);
    else
        pl_status_set(&s->err, PL_ERECV_FF, (int)nread, "%s", s->peer);
    slot_fail(s, 0);
}

static void write_cb(uv_write_t *req, int status)
{
    pl_net_chunk_t *c = (pl_net_chunk_t *)req;
    struct sock *sk = req->data;
    struct slot *s = sk->slot;

    sk->queued -= c->len;
    sk->chunks--;
    free(c);
    if (s == NULL || status == 0 || status == UV_ECANCELED)
        return;
    pl_status_set(&s->err, PL_ESEND, status, "%s", s->peer);
    slot_fail(s, 0);
}

static void connect_cb(uv_connect_t *req, int status)
{
    struct sock *sk = req->handle->data;
    struct slot *s = sk->slot;
    pl_line_t *line;
    char label[PL_NET_ADDR_MAX + 48];
    int r;

    if (s == NULL)
        return; /* given up (timeout, stop, free): the close is under way */
    line = s->line;
    uv_timer_stop(&s->timer);
    s->wait = W_NONE;
    if (status < 0) {
        target_label(s, label, sizeof(label));
        pl_status_set(&s->err, PL_ECONNECT, status, "%s", label);
        pl_log(line->cfg.log, PL_LOG_DEBUG, "line%s: connect to %s: %s",
               side_tag(line, slot_target(s)), label, uv_strerror(status));
        sock_detach(s);
        connect_next(s);
        return;
    }
    if (pl_net_addr_format(s->ai_cur->ai_addr, 1, s->peer, sizeof(s->peer)) != 0)
        s->peer[0] = '\0';
    ai_release(s);
    r = pl_net_tune(&sk->tcp, line->cfg.tcp_keepalive_s);
    if (r != 0)
        pl_log(line->cfg.log, PL_LOG_DEBUG, "line: %s: socket options: %s", s->peer,
               uv_strerror(r));
    /* The failure count is not reset here: a partner that accepts and closes at once
     * (connection limit) must not be hammered; see slot_fail(). */
    s->state = PL_LINE_UP;
    s->retry_ms = 0;
    s->up_since = now_ms(line);
    line->stats.connects++;
    line->side[slot_side(s)].connects++;
    r = uv_read_start((uv_stream_t *)&sk->tcp, alloc_cb, read_cb);
    if (r != 0) {
        pl_status_set(&s->err, PL_ERECV_FF, r, "%s", s->peer);
        slot_fail(s, 0);
        return;
    }
    pl_log(line->cfg.log, PL_LOG_INFO, "line%s: connected to %s (host %u)",
           side_tag(line, slot_target(s)), s->peer, (unsigned)(slot_target(s) - line->targets));
    line_gained(line, s);
}

/* Starts connecting to `sa`. Returns 0 when under way, or <0 with s->err set. */
static int connect_start(struct slot *s, const struct sockaddr *sa)
{
    pl_line_t *line = s->line;
    char label[PL_NET_ADDR_MAX + 48];
    struct sockaddr_storage local;
    struct sockaddr_storage bound;
    int namelen = (int)sizeof(bound);
    struct sock *sk;
    int r;

    s->tried++;
    sk = calloc(1, sizeof(*sk));
    if (sk == NULL) {
        target_label(s, label, sizeof(label));
        return pl_status_set(&s->err, PL_ESOCKET, UV_ENOMEM, "%s", label);
    }
    r = uv_tcp_init_ex(line->loop, &sk->tcp, sa->sa_family);
    if (r != 0) {
        free(sk);
        target_label(s, label, sizeof(label));
        return pl_status_set(&s->err, PL_ESOCKET, r, "%s", label);
    }
    sk->tcp.data = sk;
    sk->slot = s;
    s->sock = sk;

    if (line->local[0] != '\0' || line->cfg.local_port != 0) {
        if (line->local[0] != '\0') {
            r = pl_net_parse_ip(line->local, line->cfg.local_port, &local);
        } else {
            r = pl_net_parse_ip(sa->sa_family == AF_INET6 ? "::" : "0.0.0.0", line->cfg.local_port,
                                &local);
        }
        if (r == 0 && local.ss_family != sa->sa_family)
            r = UV_EAFNOSUPPORT;
        if (r == 0)
            r = uv_tcp_bind(&sk->tcp, (const struct sockaddr *)&local, 0);
        if (r == 0) /* libuv reports EADDRINUSE late; getsockname returns it now */
            r = uv_tcp_getsockname(&sk->tcp, (struct sockaddr *)&bound, &namelen);
        if (r != 0) {
            sock_detach(s);
            target_label(s, label, sizeof(label));
            return pl_status_set(&s->err, PL_EBIND, r, "local %s:%u for %s",
                                 line->local[0] != '\0' ? line->local : "*",
                                 (unsigned)line->cfg.local_port, label);
        }
    }

    r = uv_tcp_connect(&sk->creq, &sk->tcp, sa, connect_cb);
    if (r != 0) {
        sock_detach(s);
        target_label(s, label, sizeof(label));
        return pl_status_set(&s->err, PL_ECONNECT, r, "%s", label);
    }
    s->state = PL_LINE_CONNECTING;
    slot_arm(s, W_CONNECT, line->cfg.connect_timeout_ms);
    return 0;
}

/* Tries the next resolved address of the current host; fails the attempt when none is
 * left. */
static void connect_next(struct slot *s)
{
    char label[PL_NET_ADDR_MAX + 48];

    while (s->ai_next != NULL) {
        struct addrinfo *ai = s->ai_next;
        s->ai_next = ai->ai_next;
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        s->ai_cur = ai;
        if (connect_start(s, ai->ai_addr) == 0)
            return;
        pl_log(s->line->cfg.log, PL_LOG_DEBUG, "line: %s", s->err.detail);
    }
    if (s->tried == 0) {
        host_label(slot_target(s), label, sizeof(label));
        pl_status_set(&s->err, PL_ERESOLVE, UV_EAI_ADDRFAMILY, "%s", label);
    }
    slot_fail(s, 0);
}

static void resolved_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *ai)
{
    struct resolve *res = (struct resolve *)req;
    struct slot *s = res->slot;
    char label[PL_NET_ADDR_MAX + 48];

    free(res);
    if (s == NULL) {
        if (ai != NULL)
            uv_freeaddrinfo(ai);
        return;
    }
    s->res = NULL;
    if (status < 0 || ai == NULL) {
        if (ai != NULL)
            uv_freeaddrinfo(ai);
        host_label(slot_target(s), label, sizeof(label));
        pl_status_set(&s->err, PL_ERESOLVE, status < 0 ? status : UV_EAI_NONAME, "%s", label);
        slot_fail(s, 0);
        return;
    }
    s->ai = ai;
    s->ai_next = ai;
    connect_next(s);
}

/* Starts an attempt at the slot's current target: numeric literals at once, names via the
 * threadpool. */
static void attempt(struct slot *s)
{
    pl_line_t *line = s->line;
    const struct target *t = slot_target(s);
    char service[8];
    char label[PL_NET_ADDR_MAX + 48];
    struct addrinfo hints;
    uv_getaddrinfo_t sync;
    struct resolve *res;
    int r;

    s->state = PL_LINE_RESOLVING;
    s->tried = 0;
    snprintf(service, sizeof(service), "%u", (unsigned)t->port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    /* A NULL callback runs getaddrinfo() inline; with AI_NUMERICHOST it never does I/O. */
    if (uv_getaddrinfo(line->loop, &sync, NULL, t->name, service, &hints) == 0) {
        s->ai = sync.addrinfo;
        s->ai_next = sync.addrinfo;
        connect_next(s);
        return;
    }
    hints.ai_flags = AI_NUMERICSERV;
    res = malloc(sizeof(*res));
    r = res == NULL ? UV_ENOMEM
                    : uv_getaddrinfo(line->loop, &res->req, resolved_cb, t->name, service, &hints);
    if (r != 0) {
        free(res);
        host_label(t, label, sizeof(label));
        pl_status_set(&s->err, PL_ERESOLVE, r, "%s", label);
        slot_fail(s, 0);
        return;
    }
    res->slot = s;
    s->res = res;
}

static void connect_timeout(struct slot *s)
{
    char label[PL_NET_ADDR_MAX + 48];

    target_label(s, label, sizeof(label));
    pl_status_set(&s->err, PL_ECONNECT, UV_ETIMEDOUT, "%s", label);
    pl_log(s->line->cfg.log, PL_LOG_DEBUG, "line: connect to %s: timed out after %u ms", label,
           s->line->cfg.connect_timeout_ms);
    sock_detach(s);
    connect_next(s);
}

static void slot_timer_cb(uv_timer_t *t)
{
    struct slot *s = t->data;
    enum wait w = s->wait;

    s->wait = W_NONE;
    switch (w) {
    case W_NONE:
        return;
    case W_ATTEMPT:
        attempt(s);
        return;
    case W_CONNECT:
        connect_timeout(s);
        return;
    case W_RETURN:
        return_to_primary(s);
        return;
    }
}

static void line_close_cb(uv_handle_t *h)
{
    pl_line_t *line = h->data;

    if (--line->handles == 0)
        free(line);
}

void pl_line_config_init(pl_line_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    cfg->backoff_min_ms = DEFAULT_BACKOFF_MIN_MS;
    cfg->backoff_max_ms = DEFAULT_BACKOFF_MAX_MS;
    cfg->tcp_keepalive_s = DEFAULT_KEEPALIVE_S;
    cfg->redundancy = PL_REDUNDANCY_ALTERNATE;
}

/* A host list usable with `port` as the port of hosts without their own. */
static int hosts_valid(const pl_hostlist_t *hl, uint16_t port)
{
    unsigned i;

    if (hl->count == 0 || hl->count > PL_HOSTLIST_MAX)
        return 0;
    for (i = 0; i < hl->count; i++) {
        unsigned off = hl->host[i].name;
        if (off >= PL_HOSTLIST_TEXT || hl->text[off] == '\0' ||
            memchr(hl->text + off, '\0', PL_HOSTLIST_TEXT - off) == NULL)
            return 0;
        if (hl->host[i].port == 0 && port == 0)
            return 0;
    }
    return 1;
}

static void add_targets(pl_line_t *line, const pl_hostlist_t *hl, uint16_t port,
                        pl_line_side_t side)
{
    unsigned i;

    for (i = 0; i < hl->count; i++) {
        struct target *t = &line->targets[line->ntargets++];
        t->name = hl->text + hl->host[i].name;
        t->port = hl->host[i].port != 0 ? hl->host[i].port : port;
        t->side = (uint8_t)side;
        t->index = (uint8_t)i;
    }
}

static void slot_init(pl_line_t *line, unsigned id, unsigned first, unsigned n)
{
    struct slot *s = &line->slot[id];

    s->line = line;
    s->id = id;
    s->targets = &line->targets[first];
    s->ntargets = n;
    s->state = PL_LINE_IDLE;
    uv_timer_init(line->loop, &s->timer); /* cannot fail */
    s->timer.data = s;
}

int pl_line_new(uv_loop_t *loop, const pl_line_config_t *cfg, const pl_line_cbs_t *cbs, void *ud,
                pl_line_t **out)
{
    struct sockaddr_storage ss;
    pl_line_t *line;
    uint16_t bport;
    int backup;
    size_t n;
    unsigned i;

    if (out != NULL)
        *out = NULL;
    if (loop == NULL || cfg == NULL || cbs == NULL || out == NULL ||
        !hosts_valid(&cfg->hosts, cfg->port))
        return PL_EINVAL;
    if (cfg->backoff_min_ms != 0 && cfg->backoff_max_ms != 0 &&
        cfg->backoff_min_ms > cfg->backoff_max_ms)
        return PL_EINVAL;
    if (cfg->redundancy != PL_REDUNDANCY_ALTERNATE && cfg->redundancy != PL_REDUNDANCY_PARALLEL)
        return PL_EINVAL;
    /* "Use Backup Device" off: the backup fields are ignored, not even checked. */
    backup = cfg->use_backup && cfg->backup.count > 0;
    bport = cfg->backup_port != 0 ? cfg->backup_port : cfg->port;
    if (backup && !hosts_valid(&cfg->backup, bport))
        return PL_EINVAL;
    if (cfg->hosts_side != PL_LINE_PRIMARY && (cfg->hosts_side != PL_LINE_BACKUP || backup))
        return PL_EINVAL;
    n = cfg->local_addr != NULL ? strlen(cfg->local_addr) : 0;
    if (n >= PL_NET_ADDR_MAX || (n > 0 && pl_net_parse_ip(cfg->local_addr, 0, &ss) != 0))
        return PL_EINVAL;

    line = calloc(1, sizeof(*line));
    if (line == NULL)
        return PL_ENOMEM;
    line->loop = loop;
    line->cfg = *cfg;
    line->cbs = *cbs;
    line->ud = ud;
    if (n > 0)
        memcpy(line->local, cfg->local_addr, n + 1);
    line->cfg.local_addr = line->local;
    if (line->cfg.connect_timeout_ms == 0)
        line->cfg.connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    if (line->cfg.backoff_min_ms == 0)
        line->cfg.backoff_min_ms = DEFAULT_BACKOFF_MIN_MS;
    if (line->cfg.backoff_max_ms == 0)
        line->cfg.backoff_max_ms = line->cfg.backoff_min_ms > DEFAULT_BACKOFF_MAX_MS
                                       ? line->cfg.backoff_min_ms
                                       : DEFAULT_BACKOFF_MAX_MS;
    if (line->cfg.tcp_keepalive_s == 0)
        line->cfg.tcp_keepalive_s = DEFAULT_KEEPALIVE_S;
    if (line->cfg.stable_ms == 0)
        line->cfg.stable_ms = line->cfg.backoff_max_ms;
    if (!backup) {
        line->cfg.use_backup = 0;
        line->cfg.backup.count = 0;
    }
    line->rng = mix64(uv_hrtime() ^ (uint64_t)(uintptr_t)line);
    if (line->rng == 0)
        line->rng = 0x9E3779B97F4A7C15ull; /* xorshift must not start at 0 */

    add_targets(line, &line->cfg.hosts, line->cfg.port, cfg->hosts_side);
    line->nprimary = line->ntargets;
    if (backup)
        add_targets(line, &line->cfg.backup, bport, PL_LINE_BACKUP);
    line->parallel = backup && cfg->redundancy == PL_REDUNDANCY_PARALLEL;
    if (line->parallel) {
        line->nslots = 2;
        slot_init(line, 0, 0, line->nprimary);
        slot_init(line, 1, line->nprimary, line->ntargets - line->nprimary);
    } else {
        line->nslots = 1;
        slot_init(line, 0, 0, line->ntargets);
    }
    uv_timer_init(loop, &line->ntimer); /* cannot fail */
    line->ntimer.data = line;
    line->handles = line->nslots + 1;
    line->active = -1;
    line->last_side = -1;
    for (i = 0; i < line->nslots; i++)
        line->slot[i].state = PL_LINE_IDLE;
    *out = line;
    return 0;
}

int pl_line_start(pl_line_t *line)
{
    unsigned i;

    if (line == NULL || line->freed)
        return PL_EINVAL;
    if (line->started)
        return 0;
    line->started = 1;
    for (i = 0; i < line->nslots; i++) {
        struct slot *s = &line->slot[i];
        /* s->host stays: a restart goes on with the host after the one that failed or
         * broke last, cyclically (D2000), rather than back to a dead first host */
        s->nfail = 0;
        s->retry_ms = 0;
        s->state = PL_LINE_RESOLVING; /* the attempt starts on the next loop turn */
        slot_arm(s, W_ATTEMPT, 0);
    }
    return 0;
}

void pl_line_stop(pl_line_t *line)
{
    unsigned i;

    if (line == NULL || line->freed)
        return;
    for (i = 0; i < line->nslots; i++) {
        slot_halt(&line->slot[i]);
        line->slot[i].retry_ms = 0;
        line->slot[i].state = PL_LINE_IDLE;
    }
    uv_timer_stop(&line->ntimer);
    line->pend = 0;
    line->pend_down = 0;
    line->proto_up = 0;
    line->active = -1;
    line->started = 0;
}

void pl_line_drop(pl_line_t *line, const pl_status_t *why)
{
    struct slot *s;

    if (line == NULL || line->freed || !line->proto_up || line->active < 0)
        return;
    s = &line->slot[line->active];
    if (why != NULL)
        s->err = *why;
    else
        pl_status_set(&s->err, PL_EPROTO, 0, "%s: dropped by the protocol", s->peer);
    slot_fail(s, 1);
}

int pl_line_send(pl_line_t *line, const uint8_t *buf, size_t len)
{
    struct slot *s;
    struct sock *sk;
    size_t queued;
    int r;

    if (line == NULL || (buf == NULL && len > 0))
        return PL_EINVAL;
    if (line->freed || !line->proto_up || line->active < 0)
        return PL_ECLOSING;
    s = &line->slot[line->active];
    sk = s->sock;
    if (s->state != PL_LINE_UP || sk == NULL)
        return PL_ECLOSING;
    if (len == 0)
        return 0;
    /* Checked before writing anything, so a refused frame never goes out in part. */
    if (len > PL_LINE_MAX_OUTPUT - sk->queued)
        return PL_ENOBUFS;
    r = pl_net_send((uv_stream_t *)&sk->tcp, buf, len, PL_LINE_MAX_OUTPUT - sk->queued, write_cb,
                    sk, &queued);
    if (r != 0) {
        /* Part of the frame may have gone out: the stream is no longer usable. */
        pl_status_set(&s->err, PL_ESEND, r, "%s", s->peer);
        slot_fail(s, 1);
        return PL_ESEND;
    }
    line->stats.bytes_out += len;
    line->stats.sends++;
    if (queued > 0) {
        sk->queued += queued;
        sk->chunks++;
    }
    return 0;
}

pl_line_state_t pl_line_state(const pl_line_t *line)
{
    pl_line_state_t st = PL_LINE_BACKOFF;
    unsigned i;

    if (line->proto_up)
        return PL_LINE_UP;
    if (!line->started)
        return PL_LINE_IDLE;
    /* Between connections: the furthest attempt under way. A side that is up but not yet
     * handed to the protocol (report pending) counts as backing off. */
    for (i = 0; i < line->nslots; i++) {
        pl_line_state_t s = line->slot[i].state;
        if (s == PL_LINE_CONNECTING || (s == PL_LINE_RESOLVING && st != PL_LINE_CONNECTING))
            st = s;
    }
    return st;
}

unsigned pl_line_host_index(const pl_line_t *line)
{
    const struct slot *s = &line->slot[line->active >= 0 ? line->active : 0];

    return (unsigned)(slot_target(s) - line->targets);
}

unsigned pl_line_host_count(const pl_line_t *line)
{
    return line->ntargets;
}

const char *pl_line_peer(const pl_line_t *line)
{
    return line->proto_up && line->active >= 0 ? line->slot[line->active].peer : "";
}

const pl_status_t *pl_line_last_error(const pl_line_t *line)
{
    return &line->last;
}

const pl_line_stats_t *pl_line_stats(const pl_line_t *line)
{
    return &line->stats;
}

int pl_line_active(const pl_line_t *line, pl_line_side_t *side, unsigned *host)
{
    const struct target *t;

    if (line == NULL || !line->proto_up || line->active < 0)
        return -1;
    t = slot_target(&line->slot[line->active]);
    if (side != NULL)
        *side = (pl_line_side_t)t->side;
    if (host != NULL)
        *host = t->index;
    return (int)(t - line->targets);
}

uint64_t pl_line_switchovers(const pl_line_t *line)
{
    return line->stats.switchovers;
}

int pl_line_number(const pl_line_t *line)
{
    return line->cfg.line_number;
}

int pl_line_side_state(const pl_line_t *line, pl_line_side_t side, pl_line_side_info_t *out)
{
    const struct slot *s;
    const struct target *t;

    if (line == NULL || out == NULL || (side != PL_LINE_PRIMARY && side != PL_LINE_BACKUP))
        return PL_EINVAL;
    memset(out, 0, sizeof(*out));
    out->state = PL_LINE_IDLE;
    out->configured = side == line->cfg.hosts_side || line->ntargets > line->nprimary;
    out->last_error = line->side[side].last;
    out->connects = line->side[side].connects;
    out->failures = line->side[side].failures;
    if (!out->configured)
        return 0;
    s = &line->slot[line->parallel ? (unsigned)side : 0];
    t = slot_target(s);
    if (t->side != side)
        return 0; /* alternate mode: the one connection is on the other side's hosts */
    out->state = s->state;
    out->host = t->index;
    out->active = line->proto_up && line->active == (int)s->id;
    out->retry_ms = s->state == PL_LINE_BACKOFF ? s->retry_ms : 0;
    if (s->state == PL_LINE_UP)
        snprintf(out->peer, sizeof(out->peer), "%s", s->peer);
    return 0;
}

void pl_line_free(pl_line_t *line)
{
    unsigned i;

    if (line == NULL || line->freed)
        return;
    pl_line_stop(line);
    line->freed = 1;
    for (i = 0; i < line->nslots; i++) {
        line->slot[i].timer.data = line;
        uv_close((uv_handle_t *)&line->slot[i].timer, line_close_cb);
    }
    uv_close((uv_handle_t *)&line->ntimer, line_close_cb);
}

/* --- test hooks (net/internal.h) ----------------------------------------------------- */

unsigned pl_line_retry_ms(const pl_line_t *line)
{
    return line->slot[0].state == PL_LINE_BACKOFF ? line->slot[0].retry_ms : 0;
}

uint32_t pl_line_random(pl_line_t *line)
{
    uint32_t (*saved)(void *ud) = line->cfg.random;
    uint32_t r;

    line->cfg.random = NULL;
    r = random32(line);
    line->cfg.random = saved;
    return r;
}

unsigned pl_line_heap_blocks(const pl_line_t *line)
{
    unsigned n = 1;
    unsigned i;

    for (i = 0; i < line->nslots; i++) {
        if (line->slot[i].sock != NULL)
            n += 1 + line->slot[i].sock->chunks;
        if (line->slot[i].res != NULL)
            n++;
    }
    return n;
}

size_t pl_line_sizeof(void)
{
    return sizeof(struct pl_line_s);
}

size_t pl_line_sock_sizeof(void)
{
    return sizeof(struct sock);
}
