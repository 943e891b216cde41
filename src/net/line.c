/* SPDX-License-Identifier: MIT */
/*
 * Client lines (D2000 "TCP/IP-TCP" line): one TCP connection at a time to one of up to 8
 * hosts, tried in order and cyclically, with asynchronous name resolution, a connect
 * timeout, optional local bind, exponential back-off with jitter, a per-line receive
 * buffer and a bounded output queue. Also holds the small helpers shared with listener.c
 * (address text, socket tuning, the try-write-then-queue send path, the back-off formula).
 *
 * This module must not: block the loop (names go through uv_getaddrinfo on the threadpool;
 * only numeric literals are parsed synchronously, which never touches the network), print
 * (it logs through cfg->log), call pl_hostlist_parse (the host list arrives parsed), or
 * call a protocol callback after pl_line_free()/pl_line_stop() returns.
 *
 * Retry policy (exact):
 *  - pl_line_start(): the first attempt, at host 0, starts at once (from a 0 ms timer, so
 *    that no callback ever runs inside pl_line_start()).
 *  - An attempt at a host resolves its name, then tries every address it resolved to, in
 *    resolver order, each with its own connect timeout. Only when all addresses failed is
 *    the attempt a failure: on_down fires once, with the last address's error.
 *  - After every failure (failed attempt or broken connection) the line moves on to the
 *    next host (wrapping to host 0 after the last) and waits
 *        pl_net_backoff(min, max, n) = clamp(base*3/4 + rnd % (base/2+1), min, max),
 *        base = min(max, min * 2^(n-1)),
 *    where n counts failures since the last successful connection. A successful connection
 *    resets n to 0, so after a connection breaks the next host is tried after about the
 *    minimum delay (n = 1), never after a long back-off; the back-off only grows while no
 *    host can be reached. The clock and random source come from cfg (tests) or
 *    uv_now()/rand().
 *  - on_down runs from the loop: synchronously in the libuv callback that saw the failure,
 *    or, when the failure was found inside a call from the protocol (pl_line_drop(), a
 *    pl_line_send() that failed), from a 0 ms timer right after, so a protocol never sees
 *    on_down nested inside its own call.
 *  - Name resolution has no timeout of its own: the OS resolver's timeouts apply
 *    (abandoning a lookup would leave it running on the threadpool and let retries pile up).
 *
 * Memory: the line (struct + 4 KiB receive buffer) is one allocation; each connection
 * attempt allocates one socket object (uv_tcp_t + uv_connect_t), freed in its close
 * callback; a name lookup allocates one request; output the kernel does not take at once
 * is copied into one chunk per send, freed when written.
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

/* One connection (attempt). Detached (line == NULL) once the line gave it up: its libuv
 * callbacks then only release memory. */
struct sock {
    uv_tcp_t tcp;
    uv_connect_t creq;
    pl_line_t *line;
    size_t queued;   /* bytes in uv_write chunks not yet written */
    unsigned chunks; /* number of those chunks */
};

/* A pending name lookup; detached (line == NULL) when abandoned. */
struct resolve {
    uv_getaddrinfo_t req;
    pl_line_t *line;
};

/* What the line's single timer is waiting for. */
enum wait {
    W_NONE = 0,
    W_ATTEMPT, /* start the next attempt */
    W_CONNECT, /* connect timeout of the current address */
    W_NOTIFY,  /* deliver a deferred on_down, then wait W_ATTEMPT */
};

struct pl_line_s {
    uv_loop_t *loop;
    pl_line_config_t cfg;
    pl_line_cbs_t cbs;
    void *ud;
    uv_timer_t timer;
    struct sock *sock;       /* current connection or attempt */
    struct resolve *res;     /* pending lookup */
    struct addrinfo *ai;     /* addresses of the current host */
    struct addrinfo *ai_cur; /* address being tried */
    struct addrinfo *ai_next;
    pl_line_state_t state;
    enum wait wait;
    unsigned host;     /* host connected to, being tried, or tried next */
    unsigned nfail;    /* failures since the last successful connection */
    unsigned tried;    /* addresses tried in the current attempt */
    unsigned retry_ms; /* delay of the pending retry */
    int started;
    int freed;
    uint64_t up_since;
    pl_line_stats_t stats;
    pl_status_t last;
    char local[PL_NET_ADDR_MAX];
    char peer[PL_NET_ADDR_MAX];
    uint8_t rbuf[PL_NET_RBUF];
};

static void connect_next(pl_line_t *line);
static void timer_cb(uv_timer_t *t);

static uint64_t now_ms(const pl_line_t *line)
{
    return line->cfg.now_ms != NULL ? line->cfg.now_ms(line->cfg.clock_ud) : uv_now(line->loop);
}

static uint32_t random32(const pl_line_t *line)
{
    return line->cfg.random != NULL ? line->cfg.random(line->cfg.clock_ud) : (uint32_t)rand();
}

static const char *host_name(const pl_line_t *line, unsigned i)
{
    return line->cfg.hosts.text + line->cfg.hosts.host[i].name;
}

static uint16_t host_port(const pl_line_t *line, unsigned i)
{
    uint16_t p = line->cfg.hosts.host[i].port;
    return p != 0 ? p : line->cfg.port;
}

/* "plc-a:502", "10.0.0.9:502", "[::1]:502" */
static void host_label(const pl_line_t *line, unsigned i, char *buf, size_t cap)
{
    const char *name = host_name(line, i);

    if (strchr(name, ':') != NULL)
        snprintf(buf, cap, "[%s]:%u", name, (unsigned)host_port(line, i));
    else
        snprintf(buf, cap, "%s:%u", name, (unsigned)host_port(line, i));
}

/* The address being tried, for details: "10.0.0.9:502" or "plc-a (10.0.0.9:502)". */
static void target_label(const pl_line_t *line, char *buf, size_t cap)
{
    char addr[PL_NET_ADDR_MAX];
    char bare[PL_NET_ADDR_MAX];
    const char *name = host_name(line, line->host);

    if (line->ai_cur == NULL ||
        pl_net_addr_format(line->ai_cur->ai_addr, 1, addr, sizeof(addr)) != 0) {
        host_label(line, line->host, buf, cap);
        return;
    }
    if (pl_net_addr_format(line->ai_cur->ai_addr, 0, bare, sizeof(bare)) == 0 &&
        strcmp(bare, name) == 0)
        snprintf(buf, cap, "%s", addr);
    else
        snprintf(buf, cap, "%s (%s)", name, addr);
}

static void sock_close_cb(uv_handle_t *h)
{
    free(h->data);
}

/* Gives up the current socket: no callback of it reaches the protocol any more. */
static void sock_detach(pl_line_t *line)
{
    struct sock *s = line->sock;

    if (s == NULL)
        return;
    line->sock = NULL;
    s->line = NULL;
    uv_close((uv_handle_t *)&s->tcp, sock_close_cb);
}

static void resolve_abandon(pl_line_t *line)
{
    struct resolve *res = line->res;

    if (res == NULL)
        return;
    line->res = NULL;
    res->line = NULL;
    /* Fails when the lookup already runs; its callback then frees `res`. */
    (void)uv_cancel((uv_req_t *)&res->req);
}

static void ai_release(pl_line_t *line)
{
    if (line->ai != NULL)
        uv_freeaddrinfo(line->ai);
    line->ai = NULL;
    line->ai_cur = NULL;
    line->ai_next = NULL;
}

/* Stops everything in flight; the timer stays open. */
static void halt(pl_line_t *line)
{
    uv_timer_stop(&line->timer);
    line->wait = W_NONE;
    sock_detach(line);
    resolve_abandon(line);
    ai_release(line);
    line->peer[0] = '\0';
}

static void arm(pl_line_t *line, enum wait w, uint64_t ms)
{
    line->wait = w;
    (void)uv_timer_start(&line->timer, timer_cb, ms, 0); /* cannot fail on an open timer */
}

/* The current attempt failed or the connection broke (line->last says why): move on to
 * the next host after the back-off. `deferred`: deliver on_down from a 0 ms timer. */
static void fail(pl_line_t *line, int deferred)
{
    char text[256];
    char next[PL_NET_ADDR_MAX + 40];
    int was_up = line->state == PL_LINE_UP;
    uint64_t up_ms = was_up ? now_ms(line) - line->up_since : 0;

    halt(line);
    line->stats.failures++;
    if (line->nfail < 64)
        line->nfail++;
    line->host = (line->host + 1) % line->cfg.hosts.count;
    line->retry_ms = pl_net_backoff(line->cfg.backoff_min_ms, line->cfg.backoff_max_ms, line->nfail,
                                    random32(line));
    line->state = PL_LINE_BACKOFF;

    pl_status_format(&line->last, text, sizeof(text));
    host_label(line, line->host, next, sizeof(next));
    if (was_up)
        pl_log(line->cfg.log, PL_LOG_WARN,
               "line: connection lost after %llu ms: %s; next host %u (%s) in %u ms",
               (unsigned long long)up_ms, text, line->host, next, line->retry_ms);
    else
        pl_log(line->cfg.log, PL_LOG_WARN, "line: %s; next host %u (%s) in %u ms", text, line->host,
               next, line->retry_ms);

    if (deferred) {
        arm(line, W_NOTIFY, 0);
        return;
    }
    arm(line, W_ATTEMPT, line->retry_ms);
    if (line->cbs.on_down != NULL)
        line->cbs.on_down(line, &line->last, line->ud); /* may stop or free the line */
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct sock *s = h->data;

    (void)suggested;
    if (s->line == NULL) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    *buf = uv_buf_init((char *)s->line->rbuf, (unsigned)sizeof(s->line->rbuf));
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct sock *s = stream->data;
    pl_line_t *line = s->line;

    (void)buf;
    if (line == NULL || nread == 0)
        return;
    if (nread > 0) {
        line->stats.bytes_in += (uint64_t)nread;
        if (line->cbs.on_data != NULL)
            line->cbs.on_data(line, line->rbuf, (size_t)nread, line->ud);
        return; /* the line may be gone now */
    }
    if (nread == UV_EOF)
        pl_status_set(&line->last, PL_ERECV_00, UV_EOF, "%s", line->peer);
    else
        pl_status_set(&line->last, PL_ERECV_FF, (int)nread, "%s", line->peer);
    fail(line, 0);
}

static void write_cb(uv_write_t *req, int status)
{
    pl_net_chunk_t *c = (pl_net_chunk_t *)req;
    struct sock *s = req->data;
    pl_line_t *line = s->line;

    s->queued -= c->len;
    s->chunks--;
    free(c);
    if (line == NULL || status == 0 || status == UV_ECANCELED)
        return;
    pl_status_set(&line->last, PL_ESEND, status, "%s", line->peer);
    fail(line, 0);
}

static void connect_cb(uv_connect_t *req, int status)
{
    struct sock *s = req->handle->data;
    pl_line_t *line = s->line;
    char label[PL_NET_ADDR_MAX + 48];
    int r;

    if (line == NULL)
        return; /* given up (timeout, stop, free): the close is under way */
    uv_timer_stop(&line->timer);
    line->wait = W_NONE;
    if (status < 0) {
        target_label(line, label, sizeof(label));
        pl_status_set(&line->last, PL_ECONNECT, status, "%s", label);
        pl_log(line->cfg.log, PL_LOG_DEBUG, "line: connect to %s: %s", label, uv_strerror(status));
        sock_detach(line);
        connect_next(line);
        return;
    }
    if (pl_net_addr_format(line->ai_cur->ai_addr, 1, line->peer, sizeof(line->peer)) != 0)
        line->peer[0] = '\0';
    ai_release(line);
    r = pl_net_tune(&s->tcp, line->cfg.tcp_keepalive_s);
    if (r != 0)
        pl_log(line->cfg.log, PL_LOG_DEBUG, "line: %s: socket options: %s", line->peer,
               uv_strerror(r));
    line->state = PL_LINE_UP;
    line->nfail = 0;
    line->retry_ms = 0;
    line->stats.connects++;
    line->up_since = now_ms(line);
    r = uv_read_start((uv_stream_t *)&s->tcp, alloc_cb, read_cb);
    if (r != 0) {
        pl_status_set(&line->last, PL_ERECV_FF, r, "%s", line->peer);
        fail(line, 0);
        return;
    }
    pl_log(line->cfg.log, PL_LOG_INFO, "line: connected to %s (host %u)", line->peer, line->host);
    if (line->cbs.on_up != NULL)
        line->cbs.on_up(line, line->ud);
}

/* Starts connecting to `sa`. Returns 0 when under way, or <0 with line->last set. */
static int connect_start(pl_line_t *line, const struct sockaddr *sa)
{
    char label[PL_NET_ADDR_MAX + 48];
    struct sockaddr_storage local;
    struct sockaddr_storage bound;
    int namelen = (int)sizeof(bound);
    struct sock *s;
    int r;

    line->tried++;
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        target_label(line, label, sizeof(label));
        return pl_status_set(&line->last, PL_ESOCKET, UV_ENOMEM, "%s", label);
    }
    r = uv_tcp_init_ex(line->loop, &s->tcp, sa->sa_family);
    if (r != 0) {
        free(s);
        target_label(line, label, sizeof(label));
        return pl_status_set(&line->last, PL_ESOCKET, r, "%s", label);
    }
    s->tcp.data = s;
    s->line = line;
    line->sock = s;

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
            r = uv_tcp_bind(&s->tcp, (const struct sockaddr *)&local, 0);
        if (r == 0) /* libuv reports EADDRINUSE late; getsockname returns it now */
            r = uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&bound, &namelen);
        if (r != 0) {
            sock_detach(line);
            target_label(line, label, sizeof(label));
            return pl_status_set(&line->last, PL_EBIND, r, "local %s:%u for %s",
                                 line->local[0] != '\0' ? line->local : "*",
                                 (unsigned)line->cfg.local_port, label);
        }
    }

    r = uv_tcp_connect(&s->creq, &s->tcp, sa, connect_cb);
    if (r != 0) {
        sock_detach(line);
        target_label(line, label, sizeof(label));
        return pl_status_set(&line->last, PL_ECONNECT, r, "%s", label);
    }
    line->state = PL_LINE_CONNECTING;
    arm(line, W_CONNECT, line->cfg.connect_timeout_ms);
    return 0;
}

/* Tries the next resolved address of the current host; fails the attempt when none is
 * left. */
static void connect_next(pl_line_t *line)
{
    char label[PL_NET_ADDR_MAX + 48];

    while (line->ai_next != NULL) {
        struct addrinfo *ai = line->ai_next;
        line->ai_next = ai->ai_next;
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        line->ai_cur = ai;
        if (connect_start(line, ai->ai_addr) == 0)
            return;
        pl_log(line->cfg.log, PL_LOG_DEBUG, "line: %s", line->last.detail);
    }
    if (line->tried == 0) {
        host_label(line, line->host, label, sizeof(label));
        pl_status_set(&line->last, PL_ERESOLVE, UV_EAI_ADDRFAMILY, "%s", label);
    }
    fail(line, 0);
}

static void resolved_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *ai)
{
    struct resolve *res = (struct resolve *)req;
    pl_line_t *line = res->line;
    char label[PL_NET_ADDR_MAX + 48];

    free(res);
    if (line == NULL) {
        if (ai != NULL)
            uv_freeaddrinfo(ai);
        return;
    }
    line->res = NULL;
    if (status < 0 || ai == NULL) {
        if (ai != NULL)
            uv_freeaddrinfo(ai);
        host_label(line, line->host, label, sizeof(label));
        pl_status_set(&line->last, PL_ERESOLVE, status < 0 ? status : UV_EAI_NONAME, "%s", label);
        fail(line, 0);
        return;
    }
    line->ai = ai;
    line->ai_next = ai;
    connect_next(line);
}

/* Starts an attempt at line->host: numeric literals at once, names via the threadpool. */
static void attempt(pl_line_t *line)
{
    char service[8];
    char label[PL_NET_ADDR_MAX + 48];
    struct addrinfo hints;
    uv_getaddrinfo_t sync;
    struct resolve *res;
    const char *name = host_name(line, line->host);
    int r;

    line->state = PL_LINE_RESOLVING;
    line->tried = 0;
    snprintf(service, sizeof(service), "%u", (unsigned)host_port(line, line->host));
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    /* A NULL callback runs getaddrinfo() inline; with AI_NUMERICHOST it never does I/O. */
    if (uv_getaddrinfo(line->loop, &sync, NULL, name, service, &hints) == 0) {
        line->ai = sync.addrinfo;
        line->ai_next = sync.addrinfo;
        connect_next(line);
        return;
    }
    hints.ai_flags = AI_NUMERICSERV;
    res = malloc(sizeof(*res));
    r = res == NULL ? UV_ENOMEM
                    : uv_getaddrinfo(line->loop, &res->req, resolved_cb, name, service, &hints);
    if (r != 0) {
        free(res);
        host_label(line, line->host, label, sizeof(label));
        pl_status_set(&line->last, PL_ERESOLVE, r, "%s", label);
        fail(line, 0);
        return;
    }
    res->line = line;
    line->res = res;
}

static void connect_timeout(pl_line_t *line)
{
    char label[PL_NET_ADDR_MAX + 48];

    target_label(line, label, sizeof(label));
    pl_status_set(&line->last, PL_ECONNECT, UV_ETIMEDOUT, "%s", label);
    pl_log(line->cfg.log, PL_LOG_DEBUG, "line: connect to %s: timed out after %u ms", label,
           line->cfg.connect_timeout_ms);
    sock_detach(line);
    connect_next(line);
}

static void timer_cb(uv_timer_t *t)
{
    pl_line_t *line = t->data;
    enum wait w = line->wait;

    line->wait = W_NONE;
    switch (w) {
    case W_NONE:
        return;
    case W_ATTEMPT:
        attempt(line);
        return;
    case W_CONNECT:
        connect_timeout(line);
        return;
    case W_NOTIFY:
        arm(line, W_ATTEMPT, line->retry_ms);
        if (line->cbs.on_down != NULL)
            line->cbs.on_down(line, &line->last, line->ud);
        return;
    }
}

static void line_close_cb(uv_handle_t *h)
{
    free(h->data);
}

void pl_line_config_init(pl_line_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    cfg->backoff_min_ms = DEFAULT_BACKOFF_MIN_MS;
    cfg->backoff_max_ms = DEFAULT_BACKOFF_MAX_MS;
    cfg->tcp_keepalive_s = DEFAULT_KEEPALIVE_S;
}

static int hosts_valid(const pl_line_config_t *cfg)
{
    unsigned i;

    if (cfg->hosts.count == 0 || cfg->hosts.count > PL_HOSTLIST_MAX)
        return 0;
    for (i = 0; i < cfg->hosts.count; i++) {
        unsigned off = cfg->hosts.host[i].name;
        if (off >= PL_HOSTLIST_TEXT || cfg->hosts.text[off] == '\0' ||
            memchr(cfg->hosts.text + off, '\0', PL_HOSTLIST_TEXT - off) == NULL)
            return 0;
        if (cfg->hosts.host[i].port == 0 && cfg->port == 0)
            return 0;
    }
    return 1;
}

int pl_line_new(uv_loop_t *loop, const pl_line_config_t *cfg, const pl_line_cbs_t *cbs, void *ud,
                pl_line_t **out)
{
    struct sockaddr_storage ss;
    pl_line_t *line;
    size_t n;

    if (out != NULL)
        *out = NULL;
    if (loop == NULL || cfg == NULL || cbs == NULL || out == NULL || !hosts_valid(cfg))
        return PL_EINVAL;
    if (cfg->backoff_min_ms != 0 && cfg->backoff_max_ms != 0 &&
        cfg->backoff_min_ms > cfg->backoff_max_ms)
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
    line->state = PL_LINE_IDLE;
    uv_timer_init(loop, &line->timer); /* cannot fail */
    line->timer.data = line;
    *out = line;
    return 0;
}

int pl_line_start(pl_line_t *line)
{
    if (line == NULL || line->freed)
        return PL_EINVAL;
    if (line->started)
        return 0;
    line->started = 1;
    line->host = 0;
    line->nfail = 0;
    line->retry_ms = 0;
    line->state = PL_LINE_RESOLVING; /* the attempt starts on the next loop turn */
    arm(line, W_ATTEMPT, 0);
    return 0;
}

void pl_line_stop(pl_line_t *line)
{
    if (line == NULL || line->freed)
        return;
    halt(line);
    line->started = 0;
    line->retry_ms = 0;
    line->state = PL_LINE_IDLE;
}

void pl_line_drop(pl_line_t *line, const pl_status_t *why)
{
    if (line == NULL || line->freed || line->state != PL_LINE_UP)
        return;
    if (why != NULL)
        line->last = *why;
    else
        pl_status_set(&line->last, PL_EPROTO, 0, "%s: dropped by the protocol", line->peer);
    fail(line, 1);
}

int pl_line_send(pl_line_t *line, const uint8_t *buf, size_t len)
{
    struct sock *s;
    size_t queued;
    int r;

    if (line == NULL || (buf == NULL && len > 0))
        return PL_EINVAL;
    s = line->sock;
    if (line->freed || line->state != PL_LINE_UP || s == NULL)
        return PL_ECLOSING;
    if (len == 0)
        return 0;
    /* Checked before writing anything, so a refused frame never goes out in part. */
    if (len > PL_LINE_MAX_OUTPUT - s->queued)
        return PL_ENOBUFS;
    r = pl_net_send((uv_stream_t *)&s->tcp, buf, len, PL_LINE_MAX_OUTPUT - s->queued, write_cb, s,
                    &queued);
    if (r != 0) {
        /* Part of the frame may have gone out: the stream is no longer usable. */
        pl_status_set(&line->last, PL_ESEND, r, "%s", line->peer);
        fail(line, 1);
        return PL_ESEND;
    }
    line->stats.bytes_out += len;
    if (queued > 0) {
        s->queued += queued;
        s->chunks++;
    }
    return 0;
}

pl_line_state_t pl_line_state(const pl_line_t *line)
{
    return line->state;
}

unsigned pl_line_host_index(const pl_line_t *line)
{
    return line->host;
}

const char *pl_line_peer(const pl_line_t *line)
{
    return line->state == PL_LINE_UP ? line->peer : "";
}

const pl_status_t *pl_line_last_error(const pl_line_t *line)
{
    return &line->last;
}

const pl_line_stats_t *pl_line_stats(const pl_line_t *line)
{
    return &line->stats;
}

void pl_line_free(pl_line_t *line)
{
    if (line == NULL || line->freed)
        return;
    halt(line);
    line->freed = 1;
    line->started = 0;
    line->state = PL_LINE_IDLE;
    uv_close((uv_handle_t *)&line->timer, line_close_cb);
}

/* --- test hooks (net/internal.h) ----------------------------------------------------- */

unsigned pl_line_retry_ms(const pl_line_t *line)
{
    return line->state == PL_LINE_BACKOFF ? line->retry_ms : 0;
}

unsigned pl_line_heap_blocks(const pl_line_t *line)
{
    unsigned n = 1;

    if (line->sock != NULL)
        n += 1 + line->sock->chunks;
    if (line->res != NULL)
        n++;
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
