/* SPDX-License-Identifier: MIT */
/*
 * Listeners: the server side of a TCP/IP-TCP line. Binds an address ("127.0.0.1", "::1",
 * "*"/"ALL" for every IPv4 interface, "[*]"/"[ALL]" for every interface, dual-stack, or a
 * name), accepts partners, filters them (connection limit, allow list), and hands each kept
 * connection to the protocol as a pl_conn_t with on_accept / on_data / on_close.
 *
 * This module must not: print (it logs through cfg->log), let one partner grow memory
 * without bound (output per connection is capped by max_output; the connection is closed
 * with PL_ENOBUFS when a send would exceed it), or call a protocol callback after
 * pl_listener_free() returns (on_close of the remaining connections runs inside it).
 *
 * Names: pl_listener_new() returns synchronously, so a name is resolved with a synchronous
 * uv_getaddrinfo() (NULL callback); listeners are made at start-up, where a short block is
 * acceptable. Only the first address of the name is bound. Literals never touch a resolver.
 *
 * Memory: the listener (with one 4 KiB receive buffer shared by its connections: on_data
 * runs synchronously, so a buffer is never in use by two connections at once) is one
 * allocation; each connection is one allocation (uv_tcp_t + bookkeeping); output the
 * kernel does not take at once is one chunk per send. The listener is released when its
 * own handle and every connection handle have been closed.
 */
#include "net/internal.h"

#include "plcline/error.h"
#include "plcline/line.h"
#include "plcline/log.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define LISTEN_BACKLOG   128
#define DEFAULT_ADDR     "127.0.0.1"
#define CONN_KEEPALIVE_S 30 /* the listener config has no field; same as a line's default */

struct pl_conn_s {
    uv_tcp_t tcp;
    pl_listener_t *lst;
    pl_conn_t *prev, *next; /* in lst->conns while on_close is owed */
    void *data;
    size_t queued;           /* bytes in uv_write chunks not yet written */
    unsigned char closing;   /* uv_close() called */
    unsigned char notify;    /* on_close still owed */
    unsigned char in_accept; /* inside on_accept */
    unsigned char has_why;
    pl_status_t why;
    uint64_t partial_since; /* uv_now() when the protocol began holding a partial frame */
    char peer[PL_NET_ADDR_MAX];
};

struct pl_listener_s {
    uv_loop_t *loop;
    uv_tcp_t tcp;
    pl_listener_cbs_t cbs;
    void *ud;
    const pl_logger_t *log;
    unsigned max_conns;
    size_t max_output;
    char **allow;     /* NULL or NULL-terminated; one allocation */
    pl_conn_t *conns; /* connections whose on_close is owed */
    unsigned nconns;
    unsigned refs; /* own handle + every connection object (+ the reserve while closing) */
    int freed;
    /* Out of memory at accept: the partner is accepted into this spare handle and closed at
     * once, because libuv stops watching the listening socket until uv_accept() is called. */
    uv_tcp_t reserve;
    uv_timer_t sweep; /* closes connections that hold an incomplete frame too long; runs
                         only while some connection holds one, so an idle or busy listener
                         whose frames arrive whole never wakes the loop for it */
    unsigned frame_timeout_ms;
    pl_ratelimit_t rl; /* every line a partner can cause: refusals, closes, accepts */
    pl_ratelimit_slot_t rl_slots[16];
    int reserve_busy, refuse_pending;
    uint16_t port;
    char addr[PL_NET_ADDR_MAX];
    uint8_t rbuf[PL_NET_RBUF];
};

static void lst_unref(pl_listener_t *lst)
{
    if (--lst->refs > 0)
        return;
    free(lst->allow);
    free(lst);
}

static void lst_close_cb(uv_handle_t *h)
{
    lst_unref(h->data);
}

static void link_conn(pl_listener_t *lst, pl_conn_t *c)
{
    c->prev = NULL;
    c->next = lst->conns;
    if (lst->conns != NULL)
        lst->conns->prev = c;
    lst->conns = c;
    lst->nconns++;
    c->notify = 1;
}

static void unlink_conn(pl_listener_t *lst, pl_conn_t *c)
{
    if (!c->notify)
        return;
    c->notify = 0;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        lst->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    lst->nconns--;
}

static void conn_close_cb(uv_handle_t *h)
{
    pl_conn_t *c = h->data;
    pl_listener_t *lst = c->lst;

    if (c->notify) {
        unlink_conn(lst, c);
        if (lst->cbs.on_close != NULL)
            lst->cbs.on_close(c, c->has_why ? &c->why : NULL, lst->ud);
    }
    free(c);
    lst_unref(lst);
}

/* Starts closing `c`; on_close (if owed) fires from the close callback with `why`. */
static void conn_close(pl_conn_t *c, const pl_status_t *why)
{
    if (c->closing)
        return;
    c->closing = 1;
    if (why != NULL) {
        c->why = *why;
        c->has_why = 1;
    }
    uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
}

static void conn_fail(pl_conn_t *c, int code, int sys)
{
    pl_status_t st;

    pl_status_set(&st, code, sys, "%s", c->peer);
    conn_close(c, &st);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    pl_conn_t *c = h->data;

    (void)suggested;
    *buf = uv_buf_init((char *)c->lst->rbuf, (unsigned)sizeof(c->lst->rbuf));
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    pl_conn_t *c = stream->data;
    pl_listener_t *lst = c->lst;

    (void)buf;
    if (c->closing || nread == 0)
        return;
    if (nread > 0) {
        if (lst->cbs.on_data != NULL)
            lst->cbs.on_data(c, lst->rbuf, (size_t)nread, lst->ud);
        return;
    }
    conn_fail(c, nread == UV_EOF ? PL_ERECV_00 : PL_ERECV_FF, (int)nread);
}

static void write_cb(uv_write_t *req, int status)
{
    pl_net_chunk_t *ch = (pl_net_chunk_t *)req;
    pl_conn_t *c = req->data;

    c->queued -= ch->len;
    free(ch);
    if (status < 0 && status != UV_ECANCELED && !c->closing)
        conn_fail(c, PL_ESEND, status);
}

static int allowed(const pl_listener_t *lst, const char *who)
{
    char *const *a;

    if (lst->allow == NULL)
        return 1;
    for (a = lst->allow; *a != NULL; a++)
        if (strcmp(*a, who) == 0)
            return 1;
    return 0;
}

/* A line a partner can cause: rate-limited per partner and message (core/log.c). */
#define PLOG(lst, peer, level, ...) \
    pl_log_limited(&(lst)->rl, uv_now((lst)->loop), (lst)->log, level, peer, __VA_ARGS__)

static void on_sweep(uv_timer_t *t)
{
    pl_listener_t *lst = t->data;
    uint64_t now = uv_now(lst->loop);
    pl_conn_t *c, *next;
    pl_status_t why;
    unsigned waiting = 0;

    for (c = lst->conns; c != NULL; c = next) {
        next = c->next;
        if (c->closing || c->partial_since == 0)
            continue;
        if (now - c->partial_since < lst->frame_timeout_ms) {
            waiting++;
            continue;
        }
        pl_status_set(&why, PL_ETIMEOUT, 0, "%s: incomplete frame for %u ms", c->peer,
                      lst->frame_timeout_ms);
        PLOG(lst, c->peer, PL_LOG_WARN, "listener %s: closing %s: incomplete frame for %u ms",
             lst->addr, c->peer, lst->frame_timeout_ms);
        c->partial_since = 0;
        conn_close(c, &why);
    }
    if (waiting == 0)
        uv_timer_stop(&lst->sweep);
}

void pl_conn_partial(pl_conn_t *conn, int partial)
{
    pl_listener_t *lst;

    if (conn == NULL)
        return;
    if (!partial) {
        conn->partial_since = 0;
        return;
    }
    if (conn->partial_since != 0)
        return;
    lst = conn->lst;
    conn->partial_since = uv_now(lst->loop) | 1u; /* never 0 */
    if (!uv_is_active((uv_handle_t *)&lst->sweep) && !uv_is_closing((uv_handle_t *)&lst->sweep)) {
        uint64_t every = lst->frame_timeout_ms / 4u;

        every = every < 10 ? 10 : every > 1000 ? 1000 : every;
        uv_timer_start(&lst->sweep, on_sweep, every, every);
    }
}

int pl_listener_sweeping(const pl_listener_t *lst)
{
    return uv_is_active((const uv_handle_t *)&lst->sweep);
}

static void refuse_pending(pl_listener_t *lst);

static void on_reserve_closed(uv_handle_t *h)
{
    pl_listener_t *lst = h->data;

    lst->reserve_busy = 0;
    if (lst->refuse_pending && !lst->freed) {
        lst->refuse_pending = 0;
        refuse_pending(lst);
    }
    lst_unref(lst);
}

/* Takes the connection libuv holds for us off its hands without a connection object (no
 * memory for one), so that the listening socket is watched again. */
static void refuse_pending(pl_listener_t *lst)
{
    if (lst->reserve_busy) { /* the previous refusal is still closing: right after it */
        lst->refuse_pending = 1;
        return;
    }
    (void)uv_tcp_init(lst->loop, &lst->reserve); /* cannot fail (no socket yet) */
    lst->reserve.data = lst;
    lst->reserve_busy = 1;
    lst->refs++;
    (void)uv_accept((uv_stream_t *)&lst->tcp, (uv_stream_t *)&lst->reserve);
    uv_close((uv_handle_t *)&lst->reserve, on_reserve_closed);
}

static void connection_cb(uv_stream_t *server, int status)
{
    pl_listener_t *lst = server->data;
    struct sockaddr_storage ss;
    int namelen = (int)sizeof(ss);
    char who[PL_NET_ADDR_MAX];
    pl_conn_t *c;
    int r;

    if (status < 0) {
        /* e.g. out of descriptors under a connection storm: once per storm, then counts */
        PLOG(lst, "", PL_LOG_WARN, "listener %s: accept failed: %s", lst->addr,
             uv_strerror(status));
        return;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        PLOG(lst, "", PL_LOG_ERROR, "listener %s: out of memory at accept: partner refused",
             lst->addr);
        refuse_pending(lst);
        return;
    }
    c->lst = lst;
    lst->refs++;
    (void)uv_tcp_init(lst->loop, &c->tcp); /* cannot fail (no socket yet) */
    c->tcp.data = c;
    r = uv_accept(server, (uv_stream_t *)&c->tcp);
    if (r == 0)
        r = uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &namelen);
    if (r == 0)
        r = pl_net_addr_format((const struct sockaddr *)&ss, 1, c->peer, sizeof(c->peer));
    if (r == 0)
        r = pl_net_addr_format((const struct sockaddr *)&ss, 0, who, sizeof(who));
    if (r != 0) {
        PLOG(lst, "", PL_LOG_WARN, "listener %s: accept failed: %s", lst->addr, uv_strerror(r));
        conn_close(c, NULL);
        return;
    }
    if (lst->max_conns != 0 && lst->nconns >= lst->max_conns) {
        PLOG(lst, c->peer, PL_LOG_WARN, "listener %s: refused %s: connection limit %u reached",
             lst->addr, c->peer, lst->max_conns);
        conn_close(c, NULL);
        return;
    }
    if (!allowed(lst, who)) {
        PLOG(lst, c->peer, PL_LOG_WARN, "listener %s: refused %s: not in the allow list", lst->addr,
             c->peer);
        conn_close(c, NULL);
        return;
    }
    r = pl_net_tune(&c->tcp, CONN_KEEPALIVE_S);
    if (r != 0)
        pl_log(lst->log, PL_LOG_DEBUG, "listener %s: %s: socket options: %s", lst->addr, c->peer,
               uv_strerror(r));
    PLOG(lst, c->peer, PL_LOG_INFO, "listener %s: accepted %s", lst->addr, c->peer);

    link_conn(lst, c);
    c->in_accept = 1;
    r = lst->cbs.on_accept != NULL ? lst->cbs.on_accept(lst, c, lst->ud) : 0;
    c->in_accept = 0;
    if (lst->freed)
        return; /* pl_listener_free() inside on_accept closed `c` without on_close */
    if (r < 0) {
        unlink_conn(lst, c); /* not kept: no on_close */
        conn_close(c, NULL);
        return;
    }
    if (c->closing)
        return; /* pl_conn_close() inside on_accept; on_close follows */
    r = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    if (r != 0)
        conn_fail(c, PL_ERECV_FF, r);
}

/* Copies the allow list into one block, each entry in the text form partners are
 * compared with (literals canonical, IPv4-mapped IPv6 as IPv4, no brackets). */
static int copy_allow(pl_listener_t *lst, const char *const *allow)
{
    struct sockaddr_storage ss;
    char canon[PL_NET_ADDR_MAX];
    size_t n = 0;
    size_t text = 0;
    size_t i;
    char *p;

    if (allow == NULL)
        return 0;
    for (n = 0; allow[n] != NULL; n++)
        text += strlen(allow[n]) + 1 + PL_NET_ADDR_MAX; /* room for the canonical form */
    lst->allow = malloc((n + 1) * sizeof(char *) + text);
    if (lst->allow == NULL)
        return PL_ENOMEM;
    p = (char *)(lst->allow + n + 1);
    for (i = 0; i < n; i++) {
        const char *e = allow[i];
        size_t len;
        if (pl_net_parse_ip(e, 0, &ss) == 0 &&
            pl_net_addr_format((const struct sockaddr *)&ss, 0, canon, sizeof(canon)) == 0) {
            e = canon;
        } else {
            pl_log(lst->log, PL_LOG_WARN,
                   "listener: allow entry '%s' is not an IP address and never matches", e);
        }
        len = strlen(e);
        memcpy(p, e, len + 1);
        lst->allow[i] = p;
        p += len + 1;
    }
    lst->allow[n] = NULL;
    return 0;
}

const struct addrinfo *pl_net_listen_pick(const struct addrinfo *list)
{
    const struct addrinfo *ai, *v6 = NULL;

    for (ai = list; ai != NULL; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET)
            return ai;
        if (ai->ai_family == AF_INET6 && v6 == NULL)
            v6 = ai;
    }
    return v6;
}

/* Fills `ss` from cfg->addr: the symbolic names, literals, or (synchronously) a name. */
static int listen_address(uv_loop_t *loop, const char *a, uint16_t port,
                          struct sockaddr_storage *ss, pl_status_t *err)
{
    char service[8];
    struct addrinfo hints;
    uv_getaddrinfo_t req;
    const struct addrinfo *pick;
    int r;

    if (a == NULL || a[0] == '\0')
        a = DEFAULT_ADDR;
    if (strcmp(a, "*") == 0 || strcasecmp(a, "ALL") == 0)
        a = "0.0.0.0";
    else if (strcmp(a, "[*]") == 0 || strcasecmp(a, "[ALL]") == 0)
        a = "::";
    if (pl_net_parse_ip(a, port, ss) == 0)
        return 0;
    if (a[0] == '[' || strchr(a, ':') != NULL)
        return pl_status_set(err, PL_EINVAL, UV_EINVAL, "bad IPv6 address '%s'", a);

    snprintf(service, sizeof(service), "%u", (unsigned)port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_NUMERICSERV;
    /* Synchronous on purpose (NULL callback): pl_listener_new() must return the result. */
    r = uv_getaddrinfo(loop, &req, NULL, a, service, &hints);
    if (r != 0)
        return pl_status_set(err, PL_ERESOLVE, r, "%s:%u", a, (unsigned)port);
    pick = pl_net_listen_pick(req.addrinfo);
    if (pick != NULL) {
        memset(ss, 0, sizeof(*ss));
        memcpy(ss, pick->ai_addr, pick->ai_addrlen);
    }
    r = pick != NULL ? 0 : PL_ERESOLVE;
    uv_freeaddrinfo(req.addrinfo);
    if (r != 0)
        return pl_status_set(err, PL_ERESOLVE, UV_EAI_ADDRFAMILY, "%s:%u", a, (unsigned)port);
    return 0;
}

int pl_listener_new(uv_loop_t *loop, const pl_listener_config_t *cfg, const pl_listener_cbs_t *cbs,
                    void *ud, pl_listener_t **out, pl_status_t *err)
{
    struct sockaddr_storage ss;
    int namelen = (int)sizeof(ss);
    pl_status_t tmp;
    pl_listener_t *lst;
    char want[PL_NET_ADDR_MAX];
    int r;

    if (err == NULL)
        err = &tmp;
    pl_status_clear(err);
    if (out != NULL)
        *out = NULL;
    if (loop == NULL || cfg == NULL || cbs == NULL || out == NULL)
        return pl_status_set(err, PL_EINVAL, 0, "missing argument");

    r = listen_address(loop, cfg->addr, cfg->port, &ss, err);
    if (r != 0)
        return r;
    if (pl_net_addr_format((const struct sockaddr *)&ss, 1, want, sizeof(want)) != 0)
        return pl_status_set(err, PL_EINVAL, 0, "unsupported address family");

    lst = calloc(1, sizeof(*lst));
    if (lst == NULL)
        return pl_status_set(err, PL_ENOMEM, UV_ENOMEM, "%s", want);
    lst->loop = loop;
    lst->cbs = *cbs;
    lst->ud = ud;
    lst->log = cfg->log;
    pl_ratelimit_init(&lst->rl, lst->rl_slots, sizeof(lst->rl_slots) / sizeof(lst->rl_slots[0]));
    lst->max_conns = cfg->max_conns;
    lst->max_output = cfg->max_output != 0 ? cfg->max_output : PL_LISTENER_MAX_OUTPUT;
    lst->frame_timeout_ms =
        cfg->frame_timeout_ms != 0 ? cfg->frame_timeout_ms : PL_LISTENER_FRAME_TIMEOUT;
    r = copy_allow(lst, cfg->allow);
    if (r != 0) {
        free(lst);
        return pl_status_set(err, r, UV_ENOMEM, "%s", want);
    }

    r = uv_tcp_init_ex(loop, &lst->tcp, ss.ss_family);
    if (r != 0) {
        free(lst->allow);
        free(lst);
        return pl_status_set(err, PL_ESOCKET, r, "%s", want);
    }
    lst->tcp.data = lst;
    lst->refs = 1;
    /* No UV_TCP_IPV6ONLY: "::" then accepts IPv4 partners too (as ::ffff:a.b.c.d). */
    r = uv_tcp_bind(&lst->tcp, (const struct sockaddr *)&ss, 0);
    if (r == 0) /* EADDRINUSE is reported by listen() in libuv */
        r = uv_listen((uv_stream_t *)&lst->tcp, LISTEN_BACKLOG, connection_cb);
    if (r == 0)
        r = uv_tcp_getsockname(&lst->tcp, (struct sockaddr *)&ss, &namelen);
    if (r != 0) {
        pl_status_set(err, PL_EBIND, r, "%s", want);
        lst->freed = 1;
        uv_close((uv_handle_t *)&lst->tcp, lst_close_cb); /* storage goes with the close */
        return PL_EBIND;
    }
    lst->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (pl_net_addr_format((const struct sockaddr *)&ss, 1, lst->addr, sizeof(lst->addr)) != 0)
        lst->addr[0] = '\0';
    (void)uv_timer_init(loop, &lst->sweep); /* cannot fail */
    lst->sweep.data = lst;
    lst->refs++; /* the sweep timer starts with the first incomplete frame */
    pl_log(lst->log, PL_LOG_INFO, "listener: listening on %s", lst->addr);
    *out = lst;
    return 0;
}

uint16_t pl_listener_port(const pl_listener_t *lst)
{
    return lst->port;
}

const char *pl_listener_address(const pl_listener_t *lst)
{
    return lst->addr;
}

unsigned pl_listener_conn_count(const pl_listener_t *lst)
{
    return lst->nconns;
}

void pl_listener_free(pl_listener_t *lst)
{
    pl_conn_t *c;

    if (lst == NULL || lst->freed)
        return;
    lst->freed = 1;
    pl_ratelimit_flush(&lst->rl, uv_now(lst->loop), lst->log); /* counts not yet logged */
    uv_close((uv_handle_t *)&lst->tcp, lst_close_cb);
    uv_close((uv_handle_t *)&lst->sweep, lst_close_cb);
    /* on_close runs here, not later: no callback may follow pl_listener_free(). */
    while ((c = lst->conns) != NULL) {
        int tell = !c->in_accept;
        unlink_conn(lst, c);
        conn_close(c, NULL);
        if (tell && lst->cbs.on_close != NULL)
            lst->cbs.on_close(c, c->has_why ? &c->why : NULL, lst->ud);
    }
}

int pl_conn_send(pl_conn_t *conn, const uint8_t *buf, size_t len)
{
    pl_listener_t *lst;
    pl_status_t st;
    size_t queued;
    size_t room;
    int r;

    if (conn == NULL || (buf == NULL && len > 0))
        return PL_EINVAL;
    lst = conn->lst;
    if (conn->closing || lst->freed)
        return PL_ECLOSING;
    if (len == 0)
        return 0;
    room = lst->max_output > conn->queued ? lst->max_output - conn->queued : 0;
    r = pl_net_send((uv_stream_t *)&conn->tcp, buf, len, room, write_cb, conn, &queued);
    if (r == UV_ENOBUFS) {
        pl_status_set(&st, PL_ENOBUFS, 0, "%s: more than %zu bytes of output pending", conn->peer,
                      lst->max_output);
        PLOG(lst, conn->peer, PL_LOG_WARN, "listener %s: closing %s: partner does not read",
             lst->addr, conn->peer);
        conn_close(conn, &st);
        return PL_ENOBUFS;
    }
    if (r != 0) {
        conn_fail(conn, PL_ESEND, r);
        return PL_ESEND;
    }
    conn->queued += queued;
    return 0;
}

void pl_conn_close(pl_conn_t *conn, const pl_status_t *why)
{
    if (conn == NULL)
        return;
    conn_close(conn, why);
}

void pl_conn_set_data(pl_conn_t *conn, void *data)
{
    conn->data = data;
}

void *pl_conn_data(const pl_conn_t *conn)
{
    return conn->data;
}

const char *pl_conn_peer(const pl_conn_t *conn)
{
    return conn->peer;
}
