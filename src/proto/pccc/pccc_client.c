/* SPDX-License-Identifier: MIT */
/*
 * PCCC over EtherNet/IP client (seed 001): an explicit state machine per connection,
 * driven by the line's bytes and close events and by one deadline timer:
 *
 *   DOWN --line up--> REGISTER --RegisterSession reply--> [FWD_OPEN --Forward Open reply-->]
 *   READY --line down--> DOWN (in-flight requests fail, waiting ones stay and go out once
 *   the next session is registered).
 *
 * Requests wait in a bounded FIFO; each is cut by pl_pccc_addr_split() into PCCC messages
 * that go out as slots free up (up to `inflight` at once). Every message has its own TNS;
 * replies are matched by TNS (a CIP or encapsulation error without PCCC data is matched by
 * the sender context, or by the sequence count on a connection). A request completes once,
 * when its last message is answered or its first one fails.
 *
 * Built on a line (src/net) for the connection and the codecs (src/codec) for bytes: no
 * socket I/O of its own, nothing blocks, nothing prints. The only file access is reading
 * /sys/class/net/<if>/address once per client for the default requestor serial.
 */
#include "plcline/pccc.h"
#include "plcline/error.h"

#include "proto/pccc/codec/cip.h"
#include "proto/pccc/codec/enip.h"
#include "proto/pccc/codec/pccc.h"
#include "proto/pccc/codec/pccc_addr.h"
#include "proto/pccc/enip_session.h"
#include "codec/url.h"
#include "net/line_url.h"

#include <dirent.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS 1000u
#define DEFAULT_QUEUE      256u
/* 0x4B requestor vendor ID. plcline has no ODVA vendor ID of its own; this arbitrary value
 * avoids impersonating Rockwell (1). docs/pccc.md. */
#define DEFAULT_VENDOR 0x1337u
/* Requestor serial when no MAC address can be read: "PLCL" in ASCII. docs/pccc.md. */
#define FALLBACK_SERIAL 0x4C434C50u
#define MAX_INFLIGHT    32u
#define MAX_CHUNKS      256u  /* PCCC messages one request may need */
#define EXPIRED_MAX     16u   /* timed-out messages whose late replies are recognised */
#define RX_MAX_DATA     4096u /* encapsulation data bytes accepted in one message */
#define BUF_CAP         1400u
#define MAX_DATA_BYTES  255u /* SLC size field is one byte */
#define MEMO_SLOTS      16u  /* parsed addresses remembered (by text) */
#define MEMO_TEXT       24u  /* longest address text remembered, NUL included */

/* Unconnected Send (Vol 1, 3-5.5.2): the priority/time tick byte. */
#define CM_PRIORITY_TICK 0x0Au

/* Sender context byte 2 tells session messages from PCCC requests (bytes 0-1: TNS). */
#define CTX_PCCC PL_ENIP_CTX_OWNER

/* The session's states (enip_session.h). */
#define ST_DOWN     PL_ENIP_SESSION_DOWN
#define ST_REGISTER PL_ENIP_SESSION_REGISTER
#define ST_FWD_OPEN PL_ENIP_SESSION_FWD_OPEN
#define ST_READY    PL_ENIP_SESSION_READY
enum { OP_READ = 1, OP_WRITE, OP_IDENT };

typedef struct {
    pl_pccc_addr_t a;
    uint8_t *buf;
    size_t len;
    char *text; /* identify */
    size_t cap;
    uint64_t queued_at;
    uint32_t nchunks, next, outstanding;
    uint8_t op, queued;
} rpriv_t;

_Static_assert(sizeof(rpriv_t) <= sizeof(((pl_pccc_req_t *)0)->priv_), "pl_pccc_req_t.priv_");
_Static_assert(offsetof(pl_pccc_req_t, priv_) % alignof(rpriv_t) == 0, "priv_ alignment");

typedef struct {
    pl_pccc_req_t *req;       /* NULL while busy: the request is gone, the reply is discarded */
    uint8_t busy, cmd, typed; /* typed: the reply data is PLC-5 typed data */
    uint16_t tns, seq, vendor;
    uint32_t offset, bytes; /* where the reply's data goes in the request's buffer */
    uint64_t deadline;      /* uv_now() ms */
    uint64_t sent_ns;       /* for the round-trip time (see clock_ns) */
    uint64_t rx_mark;       /* c->rx_msgs when it was sent */
} slot_t;

typedef struct {
    uint16_t tns, seq;
    uint8_t used;
} expired_t;

/* A parsed address and its text: a client polling the same addresses parses each once. */
typedef struct {
    char text[MEMO_TEXT]; /* "" when unused */
    pl_pccc_addr_t a;
} memo_t;

struct pl_pccc_client_s {
    uv_loop_t *loop;
    pl_line_t *line;
    const pl_logger_t *log;
    pl_pccc_link_cb on_link;
    void *ud;

    /* configuration */
    pl_pccc_plc_t plc;
    uint8_t service;
    uint16_t vendor;
    uint32_t serial;
    int vendor_seq;
    pl_pccc_dhp_t dhp;
    uint8_t route[64];
    size_t route_len;
    int connected; /* 0, 1 or PL_PCCC_CONNECTED_AUTO, as configured */
    unsigned inflight, timeout_ms, max_queue, max_bytes, nhosts;

    /* what the targets taught us, one bit per host index (the last bit for the rest) */
    uint32_t serial_hosts;       /* keep at one request in flight */
    uint32_t unconn_hosts;       /* connected=auto: refused Forward Open, use unconnected */
    uint32_t cur_bit;            /* the bit of the host of this connection */
    uint8_t no_fallback;         /* the line is dropped for a reason of ours (a silent peer) */
    uint8_t refused;             /* the line is dropped because the target refused the session */
    uint8_t send_failed;         /* a message could not be sent on this connection */
    uint8_t dropped;             /* drop() was called: the rest of the stream is void, nothing is
                                    sent, until on_line_down (which the line delivers later) */
    char peer[PL_LINE_PEER_MAX]; /* of this connection, for what is logged after it ended */
    int use_conn;                /* this session uses connected messaging */
    unsigned limit;              /* requests in flight allowed on this session */

    /* session */
    pl_enip_session_t ss; /* RegisterSession, Forward Open, framing (enip_session.h) */
    uint16_t tns, vendor_next;
    uint64_t setup_deadline;
    uint64_t wait_since;   /* uv_now() + 1 when requests started waiting for a session; 0: none */
    uint64_t rx_msgs;      /* messages received (a slot that saw none since its send: silence) */
    pl_status_t setup_err; /* code != 0: the last session setup timed out (this reason) */
    pl_pccc_remote_t setup_remote; /* what the target said when it refused the session */

    uv_timer_t timer;
    uint64_t armed_at; /* uv_now() ms the timer fires at; UINT64_MAX: stopped */
    uint64_t batch_ns; /* uv_hrtime() of the bytes being handled, 0: not read yet */
    uint8_t in_batch;  /* inside on_line_data: batch_ns serves as the clock */
    pl_pccc_req_t *head, *tail;
    unsigned queued, nbusy;
    slot_t slot[MAX_INFLIGHT];
    expired_t expired[EXPIRED_MAX];
    unsigned expired_next, expired_used; /* expired_used: entries with .used set */
    unsigned attempt_failures, conn_gen;
    uint8_t persistent, closing, handles_open;

    pl_pccc_client_stats_t stats;
    pl_ratelimit_t rl; /* every line the PLC can cause (core/log.c) */
    pl_ratelimit_slot_t rl_slots[4];
    memo_t memo[MEMO_SLOTS];
    /* Requests are encoded in place in tx: the CIP request to the PCCC object at tx + off_cip
     * (after the encapsulation framing and, when routed, the Unconnected Send header) starts
     * with the constant hdr (service and path, cip_hdr_len bytes, then the service header,
     * wrap_len bytes: re-encoded per message with vendor_seq), the PCCC message follows;
     * the layers around it are filled in afterwards. */
    size_t off_cip, cip_hdr_len, wrap_len;
    uint8_t hdr[PL_CIP_REQ_HEADER_LEN + 8u + PL_PCCC_DHP_LEN];
    uint8_t mask[MAX_DATA_BYTES]; /* the mask of a masked write */
    size_t rx_len;                /* a partial message kept from the last read */
    uint8_t rx[PL_ENIP_HEADER_LEN + RX_MAX_DATA];
    uint8_t tx[BUF_CAP];
};

static void pump(pl_pccc_client_t *c);
static void arm(pl_pccc_client_t *c);
static void go_unconnected(pl_pccc_client_t *c, const pl_status_t *st);

/* A line the PLC can cause: rate-limited per PLC and message. */
#define PLOG(c, level, ...)                                                               \
    pl_log_limited(&(c)->rl, uv_now((c)->loop), (c)->log, level, pl_line_peer((c)->line), \
                   __VA_ARGS__)

static rpriv_t *priv(pl_pccc_req_t *r)
{
    return (rpriv_t *)(void *)r->priv_;
}

/* Gives up the connection with `why`: on_line_down follows (from a timer); meanwhile the
 * bytes already received are not looked at and nothing is sent. */
static void drop(pl_pccc_client_t *c, const pl_status_t *why)
{
    c->dropped = 1;
    pl_line_drop(c->line, why);
}

/* The bit of the host connected to (or tried) in serial_hosts / unconn_hosts. */
static uint32_t host_bit(const pl_pccc_client_t *c)
{
    unsigned i = pl_line_host_index(c->line);

    return 1u << (i < 31u ? i : 31u);
}

/* Where the CIP request starts in tx for this session's kind of messaging (send_chunk). */
static void layout(pl_pccc_client_t *c)
{
    c->off_cip = c->use_conn ? PL_ENIP_CIP_CONNECTED_LEN : PL_ENIP_CIP_UNCONNECTED_LEN;
    if (!c->use_conn && c->route_len > 0)
        c->off_cip += PL_CIP_UCMM_MSG_OFFSET;
}

/* --- names and configuration ------------------------------------------------------- */

static const char *const plc_names[] = {"slc500", "micrologix", "plc5", "logix"};

int pl_pccc_plc_parse(const char *s, pl_pccc_plc_t *out)
{
    size_t i;

    if (s == NULL || out == NULL)
        return PL_EINVAL;
    for (i = 0; i < sizeof(plc_names) / sizeof(plc_names[0]); i++) {
        if (strcmp(s, plc_names[i]) == 0) {
            *out = (pl_pccc_plc_t)i;
            return 0;
        }
    }
    return PL_EINVAL;
}

const char *pl_pccc_plc_name(pl_pccc_plc_t plc)
{
    switch (plc) {
    case PL_PCCC_PLC_SLC500:
    case PL_PCCC_PLC_MICROLOGIX:
    case PL_PCCC_PLC_PLC5:
    case PL_PCCC_PLC_LOGIX:
        return plc_names[plc];
    }
    return "unknown";
}

static pl_pccc_proc_t proc_of(pl_pccc_plc_t plc)
{
    switch (plc) {
    case PL_PCCC_PLC_SLC500:
        return PL_PCCC_PROC_SLC500;
    case PL_PCCC_PLC_MICROLOGIX:
        return PL_PCCC_PROC_MICROLOGIX;
    case PL_PCCC_PLC_PLC5:
        return PL_PCCC_PROC_PLC5;
    case PL_PCCC_PLC_LOGIX:
        return PL_PCCC_PROC_LOGIX;
    }
    return PL_PCCC_PROC_UNKNOWN;
}

void pl_pccc_client_config_init(pl_pccc_client_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    pl_line_config_init(&cfg->line);
    cfg->line.port = PL_ENIP_PORT;
    cfg->plc = PL_PCCC_PLC_SLC500;
    cfg->service = PL_PCCC_SVC_EXECUTE;
    cfg->vendor = DEFAULT_VENDOR;
    cfg->dst = 1; /* what a 1761-NET-ENI sends for 0x4B (seed 001) */
    cfg->inflight = 1;
    cfg->timeout_ms = DEFAULT_TIMEOUT_MS;
    cfg->max_queue = DEFAULT_QUEUE;
}

/* A number in decimal or 0x hex within [min, max]; absent keys leave *out. */
static int url_num(const pl_url_t *u, const char *key, unsigned long min, unsigned long max,
                   unsigned long *out, pl_status_t *err)
{
    const char *v = pl_url_get(u, key);
    unsigned long x;
    char *end;

    if (v == NULL)
        return 0;
    if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
        if (v[2] == '\0' || v[2] == '-' || v[2] == '+' || v[2] == ' ')
            goto bad;
        x = strtoul(v + 2, &end, 16);
    } else {
        if (v[0] < '0' || v[0] > '9')
            goto bad;
        x = strtoul(v, &end, 10);
    }
    if (*end != '\0' || x < min || x > max)
        goto bad;
    *out = x;
    return 1;
bad:
    return pl_status_set(err, PL_EURL, 0, "%.20s='%.20s': expected %lu..%lu (decimal or 0x hex)",
                         key, v, min, max);
}

int pl_pccc_client_config_url(pl_pccc_client_config_t *cfg, const char *url, char *storage,
                              size_t storage_len, pl_status_t *err)
{
    static const char *const known[] = {
        "plc",     "service",  "vendor",    "serial",         "vendor_seq", "dst",
        "src",     "dst_link", "src_link",  "path",           "connected",  "inflight",
        "timeout", "queue",    "max_bytes", PL_LINE_URL_KEYS, NULL};
    pl_url_t *u;
    unsigned long v;
    const char *s;
    int rc;

    u = malloc(sizeof(*u));
    if (u == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    rc = pl_url_parse(u, url, PL_ENIP_PORT, err);
    if (rc < 0)
        goto out;
    if (strcmp(u->scheme, "pccc") != 0) {
        rc = pl_status_set(err, PL_EURL, 0, "scheme '%s' is not pccc", u->scheme);
        goto out;
    }
    if (u->path[0] != '\0') {
        rc = pl_status_set(err, PL_EURL, 0, "unexpected path '/%.40s' (use path= for a route)",
                           u->path);
        goto out;
    }
    rc = pl_url_check_keys(u, known, err);
    if (rc < 0)
        goto out;
    rc = pl_line_config_url(&cfg->line, u, PL_ENIP_PORT, storage, storage_len, err);
    if (rc < 0)
        goto out;
    if ((s = pl_url_get(u, "plc")) != NULL && pl_pccc_plc_parse(s, &cfg->plc) < 0) {
        rc = pl_status_set(err, PL_EURL, 0, "plc='%.20s': expected slc500, micrologix, plc5, logix",
                           s);
        goto out;
    }
    if ((s = pl_url_get(u, "service")) != NULL) {
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
            s += 2;
        if (strcmp(s, "4b") == 0 || strcmp(s, "4B") == 0) {
            cfg->service = PL_PCCC_SVC_EXECUTE;
        } else if (strcmp(s, "4c") == 0 || strcmp(s, "4C") == 0) {
            cfg->service = PL_PCCC_SVC_DHP;
        } else if (strcmp(s, "4d") == 0 || strcmp(s, "4D") == 0) {
            cfg->service = PL_PCCC_SVC_LOCAL;
        } else {
            rc = pl_status_set(err, PL_EURL, 0, "service='%.20s': expected 4b, 4c or 4d",
                               pl_url_get(u, "service"));
            goto out;
        }
    }
    v = cfg->vendor;
    if ((rc = url_num(u, "vendor", 0, 0xFFFF, &v, err)) < 0)
        goto out;
    cfg->vendor = (uint16_t)v;
    v = cfg->serial;
    if ((rc = url_num(u, "serial", 0, 0xFFFFFFFFul, &v, err)) < 0)
        goto out;
    cfg->serial = (uint32_t)v;
    v = (unsigned long)cfg->vendor_seq;
    if ((rc = url_num(u, "vendor_seq", 0, 1, &v, err)) < 0)
        goto out;
    cfg->vendor_seq = (int)v;
    v = cfg->dst;
    if ((rc = url_num(u, "dst", 0, 255, &v, err)) < 0)
        goto out;
    cfg->dst = (uint8_t)v;
    v = cfg->src;
    if ((rc = url_num(u, "src", 0, 255, &v, err)) < 0)
        goto out;
    cfg->src = (uint8_t)v;
    v = cfg->dst_link;
    if ((rc = url_num(u, "dst_link", 0, 0xFFFF, &v, err)) < 0)
        goto out;
    cfg->dst_link = (uint16_t)v;
    v = cfg->src_link;
    if ((rc = url_num(u, "src_link", 0, 0xFFFF, &v, err)) < 0)
        goto out;
    cfg->src_link = (uint16_t)v;
    if ((s = pl_url_get(u, "path")) != NULL) {
        size_t at = 0;

        rc = pl_cip_route_parse(s, cfg->route, sizeof(cfg->route), &at);
        if (rc < 0) {
            rc = pl_status_set(err, PL_EURL, 0, "path='%.40s': %s at column %zu", s,
                               rc == PL_ENOBUFS ? "route too long" : "bad port,link pair", at + 1);
            goto out;
        }
        cfg->route_len = (size_t)rc;
    }
    if ((s = pl_url_get(u, "connected")) != NULL && strcmp(s, "auto") == 0) {
        cfg->connected = PL_PCCC_CONNECTED_AUTO;
    } else {
        v = (unsigned long)cfg->connected;
        if ((rc = url_num(u, "connected", 0, 1, &v, err)) < 0) {
            rc = pl_status_set(err, PL_EURL, 0, "connected='%.20s': expected 0, 1 or auto", s);
            goto out;
        }
        cfg->connected = (int)v;
    }
    v = cfg->inflight != 0 ? cfg->inflight : 1;
    if ((rc = pl_url_get_uint(u, "inflight", 1, MAX_INFLIGHT, &v, err)) < 0)
        goto out;
    cfg->inflight = (unsigned)v;
    v = cfg->timeout_ms != 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    if ((rc = pl_url_get_uint(u, "timeout", 1, 3600000, &v, err)) < 0)
        goto out;
    cfg->timeout_ms = (unsigned)v;
    v = cfg->max_queue != 0 ? cfg->max_queue : DEFAULT_QUEUE;
    if ((rc = pl_url_get_uint(u, "queue", 1, 65536, &v, err)) < 0)
        goto out;
    cfg->max_queue = (unsigned)v;
    v = cfg->max_bytes;
    if ((rc = pl_url_get_uint(u, "max_bytes", 2, MAX_DATA_BYTES, &v, err)) < 0)
        goto out;
    cfg->max_bytes = (unsigned)v;
    rc = 0;
out:
    free(u);
    return rc;
}

/* The last 4 octets of the MAC address of the first interface (by name) that is not the
 * loopback and has a non-zero address; 0 when there is none. */
static uint32_t mac_serial(void)
{
    DIR *dir = opendir("/sys/class/net");
    struct dirent *de;
    char best[64] = "", path[128], line[64];
    uint32_t serial = 0;

    if (dir == NULL)
        return 0;
    while ((de = readdir(dir)) != NULL) {
        unsigned m[6];
        FILE *fp;
        int n;

        if (de->d_name[0] == '.' || strcmp(de->d_name, "lo") == 0 ||
            strlen(de->d_name) >= sizeof(best))
            continue;
        if (best[0] != '\0' && strcmp(de->d_name, best) >= 0)
            continue;
        if ((size_t)snprintf(path, sizeof(path), "/sys/class/net/%.64s/address", de->d_name) >=
            sizeof(path))
            continue;
        fp = fopen(path, "r");
        if (fp == NULL)
            continue;
        n = fgets(line, sizeof(line), fp) != NULL
                ? sscanf(line, "%2x:%2x:%2x:%2x:%2x:%2x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5])
                : 0;
        fclose(fp);
        if (n != 6 || (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) == 0)
            continue;
        serial = (uint32_t)m[2] | (uint32_t)m[3] << 8 | (uint32_t)m[4] << 16 | (uint32_t)m[5] << 24;
        memcpy(best, de->d_name, strlen(de->d_name) + 1);
    }
    closedir(dir);
    return serial;
}

/* --- request queue ----------------------------------------------------------------- */

static void queue_remove(pl_pccc_client_t *c, pl_pccc_req_t *r)
{
    pl_pccc_req_t **pp = &c->head, *prev = NULL;

    if (!priv(r)->queued)
        return;
    while (*pp != NULL && *pp != r) {
        prev = *pp;
        pp = &(*pp)->next_;
    }
    if (*pp == NULL)
        return;
    *pp = r->next_;
    if (c->tail == r)
        c->tail = prev;
    r->next_ = NULL;
    priv(r)->queued = 0;
    c->queued--;
}

static void slot_release(pl_pccc_client_t *c, slot_t *s)
{
    if (s->busy) {
        s->busy = 0;
        s->req = NULL;
        c->nbusy--;
    }
}

/* Completes `r` with `st` (NULL: success): no slot refers to it afterwards. */
static void finish(pl_pccc_client_t *c, pl_pccc_req_t *r, const pl_status_t *st)
{
    unsigned i;

    queue_remove(c, r);
    for (i = 0; i < c->inflight; i++) /* the slots in use (pump) */
        if (c->slot[i].req == r)
            c->slot[i].req = NULL; /* its reply, if any, is discarded */
    if (st != NULL) {
        if (&r->status != st)
            r->status = *st;
        c->stats.errors++;
    }
    r->cb_(r);
}

/* Fails every waiting request with `why` (and `remote`, when the target said something). */
static void fail_waiting(pl_pccc_client_t *c, const pl_status_t *why,
                         const pl_pccc_remote_t *remote)
{
    while (c->head != NULL && !c->closing) {
        if (remote != NULL)
            c->head->remote = *remote;
        finish(c, c->head, why);
    }
}

/* Fails the requests of every busy slot and frees the slots. */
static void fail_inflight(pl_pccc_client_t *c, const pl_status_t *why)
{
    unsigned i;

    for (i = 0; i < c->inflight && !c->closing; i++) {
        slot_t *s = &c->slot[i];
        pl_pccc_req_t *r = s->req;

        slot_release(c, s);
        if (r != NULL)
            finish(c, r, why);
    }
}

/* Parses `addr` into `a` as pl_pccc_addr_parse does; a text seen before (up to MEMO_TEXT - 1
 * characters) is taken from the memo instead of being parsed again. Errors are not kept, so
 * their detail is always written. */
static int addr_parse(pl_pccc_client_t *c, pl_pccc_addr_t *a, const char *addr, pl_status_t *err)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    memo_t *m;
    size_t n;

    for (n = 0; n < MEMO_TEXT && addr[n] != '\0'; n++)
        h = (h ^ (uint8_t)addr[n]) * 16777619u;
    if (n == MEMO_TEXT)
        return pl_pccc_addr_parse(a, addr, err);
    m = &c->memo[h % MEMO_SLOTS];
    if (m->text[0] != '\0' && memcmp(m->text, addr, n + 1u) == 0) {
        *a = m->a;
        return 0;
    }
    if (pl_pccc_addr_parse(a, addr, err) < 0)
        return PL_EADDR;
    memcpy(m->text, addr, n + 1u);
    m->a = *a;
    return 0;
}

/* Data bytes per message for request `p`: a masked write carries a mask as long as its
 * data. */
static size_t chunk_max(const pl_pccc_client_t *c, const rpriv_t *p)
{
    return p->op == OP_WRITE && p->a.bit >= 0 ? c->max_bytes / 2u : c->max_bytes;
}

static int submit(pl_pccc_client_t *c, pl_pccc_req_t *req, const char *addr, uint8_t op,
                  uint8_t *buf, size_t len, char *text, size_t cap, pl_pccc_cb cb)
{
    rpriv_t *p;
    int n;

    if (c == NULL || req == NULL || cb == NULL)
        return PL_EINVAL;
    memset(&req->remote, 0, sizeof(req->remote));
    pl_status_clear(&req->status);
    if (c->closing)
        return PL_ECLOSING;
    p = priv(req);
    memset(p, 0, sizeof(*p));
    p->op = op;
    if (op != OP_IDENT) {
        size_t max;

        if (addr == NULL || (buf == NULL && len > 0))
            return PL_EINVAL;
        if (addr_parse(c, &p->a, addr, &req->status) < 0)
            return PL_EADDR;
        if (len < pl_pccc_addr_bytes(&p->a))
            return pl_status_set(&req->status, PL_ENOBUFS, 0, "'%.40s' needs %u bytes, got %zu",
                                 addr, pl_pccc_addr_bytes(&p->a), len);
        if (op == OP_WRITE && p->a.bit >= 0 && c->plc == PL_PCCC_PLC_PLC5)
            return pl_status_set(&req->status, PL_ENOTSUP, 0,
                                 "'%.40s': bit writes to a PLC-5 are not supported", addr);
        max = chunk_max(c, p);
        n = pl_pccc_addr_chunk(&p->a, max, 0, NULL);
        if (n < 0)
            return pl_status_set(&req->status, PL_EADDR, 0,
                                 "'%.40s': one element is larger than %zu bytes", addr, max);
        if (n > (int)MAX_CHUNKS)
            return pl_status_set(&req->status, PL_EADDR, 0, "'%.40s' needs %d requests, at most %u",
                                 addr, n, MAX_CHUNKS);
        p->nchunks = (uint32_t)n;
    } else {
        if (text == NULL || cap == 0)
            return PL_EINVAL;
        p->nchunks = 1;
    }
    if (c->queued >= c->max_queue)
        return pl_status_set(&req->status, PL_ENO_MSG, 0, "%u requests waiting", c->queued);
    p->buf = buf;
    p->len = len;
    p->text = text;
    p->cap = cap;
    p->queued = 1;
    p->queued_at = uv_now(c->loop);
    req->next_ = NULL;
    req->cb_ = cb;
    if (c->tail != NULL)
        c->tail->next_ = req;
    else
        c->head = req;
    c->tail = req;
    c->queued++;
    c->stats.requests++;
    if (c->ss.state == ST_READY) {
        pump(c);
    } else {
        if (c->queued == 1 && !c->persistent)
            c->attempt_failures = 0;
        if (c->wait_since == 0)
            c->wait_since = uv_now(c->loop) + 1;
        arm(c);
        (void)pl_line_start(c->line);
    }
    return 0;
}

int pl_pccc_read(pl_pccc_client_t *c, pl_pccc_req_t *req, const char *addr, uint8_t *buf,
                 size_t len, pl_pccc_cb cb)
{
    return submit(c, req, addr, OP_READ, buf, len, NULL, 0, cb);
}

int pl_pccc_write(pl_pccc_client_t *c, pl_pccc_req_t *req, const char *addr, const uint8_t *buf,
                  size_t len, pl_pccc_cb cb)
{
    /* The bytes are only read; the request keeps one pointer type for both directions. */
    return submit(c, req, addr, OP_WRITE, (uint8_t *)(uintptr_t)buf, len, NULL, 0, cb);
}

int pl_pccc_identify(pl_pccc_client_t *c, pl_pccc_req_t *req, char *text, size_t cap, pl_pccc_cb cb)
{
    return submit(c, req, NULL, OP_IDENT, NULL, 0, text, cap, cb);
}

/* --- encoding ---------------------------------------------------------------------- */

/* A clock for round-trip times: while received bytes are handled, the time they were
 * handed over (read once per batch), else now. */
static uint64_t clock_ns(pl_pccc_client_t *c)
{
    if (!c->in_batch)
        return uv_hrtime();
    if (c->batch_ns == 0)
        c->batch_ns = uv_hrtime();
    return c->batch_ns;
}

/* Frames the CIP message of `len` bytes already encoded at c->tx + PL_ENIP_CIP_(UN)CONNECTED_LEN
 * as SendRRData (connected 0) or SendUnitData with sequence count `seq`, and sends it. */
static int send_cip(pl_pccc_client_t *c, int connected, uint16_t seq, const uint8_t *ctx,
                    size_t len)
{
    int n = pl_enip_session_frame(&c->ss, connected, seq, ctx, c->tx, sizeof(c->tx), len);

    if (n < 0)
        return n;
    return pl_line_send(c->line, c->tx, (size_t)n);
}

static int tns_taken(const pl_pccc_client_t *c, uint16_t tns)
{
    unsigned i;

    for (i = 0; i < c->inflight; i++)
        if (c->slot[i].busy && c->slot[i].tns == tns)
            return 1;
    for (i = 0; i < EXPIRED_MAX && c->expired_used > 0; i++)
        if (c->expired[i].used && c->expired[i].tns == tns)
            return 1;
    return 0;
}

static uint16_t next_tns(pl_pccc_client_t *c)
{
    do {
        c->tns++;
        if (c->tns == 0)
            c->tns = 1;
    } while (tns_taken(c, c->tns));
    return c->tns;
}

/* Encodes the service header (wrap_len bytes) with requestor vendor ID `vendor` at `at`. */
static int wrap_encode(const pl_pccc_client_t *c, uint8_t *at, uint16_t vendor)
{
    pl_pccc_wrap_t w;

    memset(&w, 0, sizeof(w));
    w.service = c->service;
    w.length = PL_PCCC_REQUESTOR_LEN;
    w.vendor = vendor;
    w.serial = c->serial;
    w.dhp = c->dhp;
    return pl_pccc_wrap_encode(at, c->wrap_len, &w) == (int)c->wrap_len ? 0 : PL_EINVAL;
}

/* Encodes the PCCC message for chunk `k` of `r` into out[0..cap). Returns its length or <0
 * with `st` set. */
static int build_pccc(pl_pccc_client_t *c, pl_pccc_req_t *r, uint32_t k, slot_t *s, uint8_t *out,
                      size_t cap, pl_status_t *st)
{
    rpriv_t *p = priv(r);
    pl_pccc_request_t q;
    pl_pccc_addr_t ca;
    pl_pccc_chunk_t chunk;
    const pl_pccc_chunk_t *ch = &chunk;
    uint8_t *mask = c->mask;
    int n, plc5 = c->plc == PL_PCCC_PLC_PLC5;

    if (p->op == OP_IDENT) {
        pl_pccc_request_init(&q, PL_PCCC_OP_DIAG_STATUS, s->tns);
        s->offset = 0;
        s->bytes = 0;
        goto encode;
    }
    n = pl_pccc_addr_chunk(&p->a, chunk_max(c, p), k, &chunk);
    if (n < 0 || (uint32_t)n != p->nchunks || k >= p->nchunks)
        return pl_status_set(st, PL_EINVAL, 0, "splitting the address failed");
    ca = p->a;
    ca.element = ch->element;
    ca.sub = ch->sub;
    s->offset = ch->offset;
    s->bytes = ch->bytes;
    s->typed = 0;
    if (plc5 && p->a.member) {
        /* a structure member (T4:0.ACC) is a word, not an element of the file's type:
         * word range read/write (1770-6.5.16 ch. 7) */
        pl_pccc_request_init(&q, p->op == OP_READ ? PL_PCCC_OP_WORD_READ : PL_PCCC_OP_WORD_WRITE,
                             s->tns);
        pl_pccc_addr_sysaddr(&ca, &q.addr);
        q.packet_offset = 0;
        q.total_trans = (uint16_t)(ch->bytes / 2u);
        if (p->op == OP_READ) {
            q.count = (uint16_t)ch->bytes;
        } else {
            q.data = p->buf + ch->offset;
            q.data_len = ch->bytes;
        }
    } else if (plc5) {
        s->typed = 1;
        uint32_t id, size;

        pl_pccc_addr_plc5_type(&p->a, &id, &size);
        pl_pccc_request_init(&q, p->op == OP_READ ? PL_PCCC_OP_PLC5_READ : PL_PCCC_OP_PLC5_WRITE,
                             s->tns);
        pl_pccc_addr_sysaddr(&ca, &q.addr);
        q.packet_offset = 0;
        q.total_trans = (uint16_t)ch->units;
        if (p->op == OP_READ) {
            q.count = (uint16_t)ch->units;
        } else {
            q.typed.array = ch->units > 1;
            q.typed.type = id;
            q.typed.elem_size = size;
            q.typed.data = p->buf + ch->offset;
            q.typed.data_len = ch->bytes;
        }
    } else {
        pl_pccc_op_t op = PL_PCCC_OP_SLC_READ;

        if (p->op == OP_WRITE)
            op = p->a.bit >= 0 ? PL_PCCC_OP_SLC_MASKED : PL_PCCC_OP_SLC_WRITE;
        pl_pccc_request_init(&q, op, s->tns);
        q.slc.file = ca.file;
        q.slc.type = ca.wire_type;
        q.slc.element = ca.element;
        q.slc.sub = ca.sub;
        q.slc.size = (uint8_t)ch->bytes;
        if (p->op == OP_WRITE) {
            q.data = p->buf + ch->offset;
            q.data_len = ch->bytes;
        }
        if (op == PL_PCCC_OP_SLC_MASKED) {
            /* the mask: exactly the addressed bits of the words in this chunk */
            uint32_t ubits = (uint32_t)p->a.elem_size * 8u, b;
            uint32_t lo = (uint32_t)p->a.bit, hi = lo + p->a.count;

            memset(mask, 0, ch->bytes);
            for (b = lo; b < hi; b++) {
                uint32_t unit = b / ubits, bit = b % ubits;

                if (unit < ch->first || unit >= ch->first + ch->units)
                    continue;
                mask[(unit - ch->first) * p->a.elem_size + bit / 8u] |= (uint8_t)(1u << (bit % 8u));
            }
            q.mask = mask;
        }
    }
encode:
    n = pl_pccc_request_encode(out, cap, &q);
    if (n < 0)
        return pl_status_set(st, n, 0, "encoding the PCCC request failed");
    s->cmd = out[0];
    return n;
}

/* Sends chunk `k` of `r` in slot `s`. Returns 0 or <0 with `st` (the request fails).
 * Every layer is encoded at its final place in c->tx, innermost first (see off_cip). */
static int send_chunk(pl_pccc_client_t *c, pl_pccc_req_t *r, uint32_t k, slot_t *s, pl_status_t *st)
{
    uint8_t *cip = c->tx + c->off_cip, *wrap = cip + c->cip_hdr_len, *pccc = wrap + c->wrap_len;
    uint8_t ctx[PL_ENIP_CONTEXT_LEN];
    size_t len;
    int n, connected = c->use_conn;

    s->tns = next_tns(c);
    n = build_pccc(c, r, k, s, pccc, sizeof(c->tx) - (size_t)(pccc - c->tx), st);
    if (n < 0)
        return n;
    memcpy(cip, c->hdr, c->cip_hdr_len + c->wrap_len);
    s->vendor = c->vendor;
    if (c->vendor_seq) {
        s->vendor = c->vendor_next++;
        if (wrap_encode(c, wrap, s->vendor) < 0)
            return pl_status_set(st, PL_EINVAL, 0, "encoding the PCCC service header failed");
    }
    len = c->cip_hdr_len + c->wrap_len + (size_t)n;
    pl_enip_session_ctx(ctx, CTX_PCCC, s->tns);
    if (connected) {
        s->seq = ++c->ss.seq;
    } else if (c->route_len > 0) {
        pl_cip_ucmm_t u;
        uint8_t *ucmm = c->tx + PL_ENIP_CIP_UNCONNECTED_LEN;
        int m;

        memset(&u, 0, sizeof(u));
        u.priority_tick = CM_PRIORITY_TICK;
        u.timeout_ticks = pl_enip_session_cm_ticks(&c->ss);
        u.msg = cip; /* == ucmm + PL_CIP_UCMM_MSG_OFFSET: stays where it is */
        u.msg_len = len;
        u.route = c->route;
        u.route_len = c->route_len;
        m = pl_cip_ucmm_encode(ucmm, sizeof(c->tx) - PL_ENIP_CIP_UNCONNECTED_LEN, &u);
        if (m < 0)
            return pl_status_set(st, m, 0, "encoding the Unconnected Send failed");
        len = (size_t)m;
    }
    n = send_cip(c, connected, s->seq, ctx, len);
    if (n < 0)
        return pl_status_set(st, n == PL_ENOBUFS || n == PL_ERANGE ? n : PL_ESEND, 0,
                             "sending the request failed: %s", pl_strerror(n));
    return 0;
}

static void timer_at(pl_pccc_client_t *c, uint64_t due);

static void pump(pl_pccc_client_t *c)
{
    unsigned gen = c->conn_gen;

    while (c->ss.state == ST_READY && !c->closing && !c->dropped && gen == c->conn_gen &&
           c->head != NULL && c->nbusy < c->limit) {
        pl_pccc_req_t *r = c->head;
        rpriv_t *p = priv(r);
        slot_t *s = NULL;
        pl_status_t st;
        unsigned i;

        /* slots at or past `inflight` are never used: with fewer than `limit` (<= inflight)
         * busy, one below `inflight` is free */
        for (i = 0; i < c->inflight; i++) {
            if (!c->slot[i].busy) {
                s = &c->slot[i];
                break;
            }
        }
        if (s == NULL)
            break;
        pl_status_clear(&st);
        if (send_chunk(c, r, p->next, s, &st) < 0) {
            if (st.code == PL_ESEND) {
                /* the peer is gone (a broken pipe: it may have closed on the requests in
                 * flight); this one waits for the next session and counts as in flight
                 * for the fallback (on_line_down) */
                c->send_failed = 1;
                drop(c, &st);
                break;
            }
            finish(c, r, &st);
            continue;
        }
        s->busy = 1;
        s->req = r;
        s->sent_ns = clock_ns(c);
        s->rx_mark = c->rx_msgs;
        s->deadline = uv_now(c->loop) + c->timeout_ms;
        c->nbusy++;
        p->next++;
        p->outstanding++;
        if (p->next == p->nchunks)
            queue_remove(c, r);
        timer_at(c, s->deadline);
    }
}

/* --- timers ------------------------------------------------------------------------ */

/* One timer serves every deadline (messages in flight, session setup, waiting for a
 * session), and it is lazy: it runs at the earliest deadline or before. A deadline later
 * than the timer's leaves it alone (with one timeout for all, every new message's is), and
 * an answer does not stop it; when it fires early, on_timer finds nothing due and re-arms it
 * for what is left (arm). So the request-answer cycle touches no timer at all. */
static void on_timer(uv_timer_t *t);

/* Makes the timer fire at `due` (uv_now() ms) at the latest. */
static void timer_at(pl_pccc_client_t *c, uint64_t due)
{
    uint64_t now;

    if (due >= c->armed_at || c->closing)
        return;
    now = uv_now(c->loop);
    uv_timer_start(&c->timer, on_timer, due > now ? due - now : 0, 0);
    c->armed_at = due;
}

/* Arms the timer for the earliest deadline there is, stops it when there is none. */
static void arm(pl_pccc_client_t *c)
{
    uint64_t due = UINT64_MAX;
    unsigned i;

    if (c->closing)
        return;
    for (i = 0; i < c->inflight; i++)
        if (c->slot[i].busy && c->slot[i].deadline < due)
            due = c->slot[i].deadline;
    if ((c->ss.state == ST_REGISTER || c->ss.state == ST_FWD_OPEN) && c->setup_deadline < due)
        due = c->setup_deadline;
    if (c->ss.state != ST_READY && c->head != NULL && c->wait_since != 0 &&
        c->wait_since - 1 + c->timeout_ms < due)
        due = c->wait_since - 1 + c->timeout_ms;
    if (due == UINT64_MAX) {
        uv_timer_stop(&c->timer);
        c->armed_at = UINT64_MAX;
        return;
    }
    timer_at(c, due);
}

static void remember_expired(pl_pccc_client_t *c, const slot_t *s)
{
    expired_t *e = &c->expired[c->expired_next++ % EXPIRED_MAX];

    if (!e->used)
        c->expired_used++;
    e->used = 1;
    e->tns = s->tns;
    e->seq = s->seq;
}

static void on_timer(uv_timer_t *t)
{
    pl_pccc_client_t *c = t->data;
    uint64_t now = uv_now(c->loop);
    unsigned gen = c->conn_gen, i;
    pl_status_t why;

    c->armed_at = UINT64_MAX; /* a fired timer is stopped */
    if (c->closing)
        return;
    if ((c->ss.state == ST_REGISTER || c->ss.state == ST_FWD_OPEN) && c->setup_deadline <= now) {
        pl_status_set(&why, PL_ETIMEOUT, 0, "no %s reply within %u ms",
                      c->ss.state == ST_REGISTER ? "RegisterSession" : "Forward Open",
                      c->timeout_ms);
        PLOG(c, PL_LOG_WARN, "pccc %s: %s", pl_line_peer(c->line), why.detail);
        if (c->ss.state == ST_FWD_OPEN && c->connected == PL_PCCC_CONNECTED_AUTO)
            go_unconnected(c, &why); /* the next session goes without */
        c->setup_err = why;
        drop(c, &why);
        arm(c);
        return;
    }
    for (i = 0; i < c->inflight && !c->closing && gen == c->conn_gen; i++) {
        slot_t *s = &c->slot[i];
        pl_pccc_req_t *r = s->req;
        int silent;

        if (!s->busy || s->deadline > now)
            continue;
        c->stats.timeouts++;
        /* Nothing at all came back since it was sent: the peer is silent, start over.
         * Otherwise the TNS is remembered so a late reply is recognised and dropped. */
        silent = c->rx_msgs == s->rx_mark;
        pl_status_set(&why, PL_ETIMEOUT, 0, "TNS 0x%04X: no answer within %u ms", s->tns,
                      c->timeout_ms);
        PLOG(c, PL_LOG_WARN, "pccc %s: %s%s", pl_line_peer(c->line), why.detail,
             silent ? ", reconnecting" : "");
        remember_expired(c, s);
        slot_release(c, s);
        if (r != NULL)
            finish(c, r, &why);
        if (silent && !c->closing && gen == c->conn_gen) {
            c->no_fallback = 1; /* silence is no answer: the others fail as they are */
            drop(c, &why);
        }
    }
    if (c->closing)
        return;
    if (c->ss.state != ST_READY && c->head != NULL && c->wait_since != 0 &&
        c->wait_since - 1 + c->timeout_ms <= now) {
        /* connected but the session never came up: a receive timeout; else the reason the
         * line gives (connect failures), or a connect timeout */
        why = c->setup_err.code != 0 ? c->setup_err : *pl_line_last_error(c->line);
        if (c->ss.state == ST_REGISTER || c->ss.state == ST_FWD_OPEN)
            pl_status_set(&why, PL_ETIMEOUT, 0, "no %s reply within %u ms",
                          c->ss.state == ST_REGISTER ? "RegisterSession" : "Forward Open",
                          c->timeout_ms);
        else if (why.code == 0 || (why.code == PL_ETIMEOUT && c->setup_err.code == 0))
            pl_status_set(&why, PL_ECONNECT, UV_ETIMEDOUT, "no connection within %u ms",
                          c->timeout_ms);
        c->wait_since = 0;
        fail_waiting(c, &why, NULL);
        if (c->closing)
            return;
        if (!c->persistent && c->head == NULL && c->nbusy == 0) {
            /* A stopped line reports no on_down: the session state ends here, or the setup
             * deadline (already past) would re-arm the timer at 0 ms for ever. */
            pl_line_stop(c->line);
            pl_enip_session_down(&c->ss);
            c->conn_gen++;
            c->rx_len = 0;
        }
    }
    pump(c);
    arm(c); /* what is left, including deadlines later than the one that fired */
}

/* --- session ----------------------------------------------------------------------- */

static void session_ready(pl_pccc_client_t *c)
{
    pl_enip_session_ready(&c->ss, c->use_conn);
    c->wait_since = 0;
    c->stats.sessions++;
    c->stats.connected = c->use_conn;
    pl_log(c->log, PL_LOG_INFO, "pccc: session 0x%08X with %s%s, %u in flight", c->ss.session,
           pl_line_peer(c->line), c->use_conn ? " (connected)" : "", c->limit);
    if (c->on_link != NULL) {
        c->on_link(c, NULL, c->ud);
        if (c->closing)
            return;
    }
    pump(c);
}

static void send_forward_open(pl_pccc_client_t *c)
{
    pl_status_t why;
    int n, rc;

    n = pl_enip_session_fwd_open(&c->ss, c->tx, sizeof(c->tx));
    rc = n < 0 ? n : pl_line_send(c->line, c->tx, (size_t)n);
    if (rc < 0) {
        pl_status_set(&why, PL_ESEND, 0, "sending Forward Open failed: %s", pl_strerror(rc));
        drop(c, &why);
        return;
    }
    c->setup_deadline = uv_now(c->loop) + c->timeout_ms;
    arm(c);
}

/* Forward Close and UnRegisterSession, best effort (the socket closes right after). */
static void session_close(pl_pccc_client_t *c)
{
    int n = pl_enip_session_fwd_close(&c->ss, c->tx, sizeof(c->tx));

    if (n > 0)
        (void)pl_line_send(c->line, c->tx, (size_t)n);
    n = pl_enip_session_unregister(&c->ss, c->tx, sizeof(c->tx));
    if (n > 0)
        (void)pl_line_send(c->line, c->tx, (size_t)n);
}

/* --- receiving --------------------------------------------------------------------- */

/* The stream carries something we cannot make sense of: reconnect; the requests in flight
 * fail with `why` (through on_down). */
static void protocol_error(pl_pccc_client_t *c, const pl_status_t *why)
{
    PLOG(c, PL_LOG_WARN, "pccc %s: %s: %s, reconnecting", pl_line_peer(c->line),
         pl_strerror(why->code), why->detail);
    drop(c, why);
}

/* The target refused the session (RegisterSession, or Forward Open with connected=1): the
 * line is dropped, and once every host refused or failed, the waiting requests fail with
 * `st` and `remote` (on_line_down). */
static void session_refused(pl_pccc_client_t *c, const pl_status_t *st,
                            const pl_pccc_remote_t *remote)
{
    PLOG(c, PL_LOG_WARN, "pccc %s: %s: %s", pl_line_peer(c->line), pl_strerror(st->code),
         st->detail);
    c->refused = 1;
    c->setup_remote = *remote;
    drop(c, st);
}

static void register_refused(pl_pccc_client_t *c, const pl_enip_msg_t *m, const pl_status_t *st)
{
    pl_pccc_remote_t remote;

    memset(&remote, 0, sizeof(remote));
    remote.encap_status = m->status;
    session_refused(c, st, &remote);
}

/* Requests in flight go back to the head of the queue, in the order they were sent, to go
 * out again from their first message (reads and writes of whole values may be repeated);
 * the slots are freed. Returns the number of messages that were in flight. */
static unsigned requeue_inflight(pl_pccc_client_t *c)
{
    slot_t *order[MAX_INFLIGHT];
    pl_pccc_req_t *reqs[MAX_INFLIGHT];
    unsigned i, j, n = 0, nreq = 0, msgs = 0;

    for (i = 0; i < c->inflight; i++) {
        slot_t *s = &c->slot[i];

        if (!s->busy)
            continue;
        for (j = n; j > 0 && order[j - 1]->sent_ns > s->sent_ns; j--)
            order[j] = order[j - 1];
        order[j] = s;
        n++;
    }
    for (i = 0; i < n; i++) {
        pl_pccc_req_t *r = order[i]->req;

        msgs++;
        slot_release(c, order[i]);
        for (j = 0; j < nreq && r != NULL; j++)
            if (reqs[j] == r)
                r = NULL;
        if (r != NULL)
            reqs[nreq++] = r;
    }
    while (nreq > 0) {
        pl_pccc_req_t *r = reqs[--nreq];
        rpriv_t *p = priv(r);

        queue_remove(c, r); /* a request with messages still to send is queued */
        p->next = 0;
        p->outstanding = 0;
        p->queued = 1;
        r->next_ = c->head;
        c->head = r;
        if (c->tail == NULL)
            c->tail = r;
        c->queued++;
    }
    return msgs;
}

/* The target closed the connection or answered with an error (`why`) while more than one
 * request was in flight: from now on one at a time with this host; the requests in flight
 * are sent again (requeue_inflight), not failed. Logged once per host (the limit then
 * stays 1). */
static void fall_back(pl_pccc_client_t *c, const pl_status_t *why)
{
    unsigned n = c->nbusy;

    c->serial_hosts |= c->cur_bit;
    c->limit = 1;
    c->stats.inflight = 1;
    c->stats.fallbacks++;
    if (c->stats.fallback[0] == '\0')
        snprintf(c->stats.fallback, sizeof(c->stats.fallback), "%.71s, %u in flight: %.60s: %.95s",
                 c->peer, n, pl_strerror(why->code), why->detail);
    pl_log(c->log, PL_LOG_WARN,
           "pccc %s: %s (%s) with %u requests in flight: one request at a time with this "
           "target from now on; the %u are sent again",
           c->peer, pl_strerror(why->code), why->detail, n, n);
    c->stats.retried += requeue_inflight(c);
}

/* connected=auto and the target refused Forward Open (`st` says how): unconnected messaging
 * with this host from now on, said once (the host is not asked again). */
static void go_unconnected(pl_pccc_client_t *c, const pl_status_t *st)
{
    c->unconn_hosts |= c->cur_bit;
    pl_log(c->log, PL_LOG_WARN,
           "pccc %s: %s: %s; connected=auto: unconnected messaging with this target",
           pl_line_peer(c->line), pl_strerror(st->code), st->detail);
}

static slot_t *slot_by_tns(pl_pccc_client_t *c, uint16_t tns)
{
    unsigned i;

    for (i = 0; i < c->inflight; i++)
        if (c->slot[i].busy && c->slot[i].tns == tns)
            return &c->slot[i];
    return NULL;
}

static slot_t *slot_by_seq(pl_pccc_client_t *c, uint16_t seq)
{
    unsigned i;

    for (i = 0; i < c->inflight; i++)
        if (c->slot[i].busy && c->slot[i].seq == seq)
            return &c->slot[i];
    return NULL;
}

/* The one busy slot, for a reply without PCCC data whose sender context was not echoed
 * (all zero: a TNS is never 0); NULL when that is not the case. */
static slot_t *only_busy(pl_pccc_client_t *c, const pl_enip_msg_t *m)
{
    static const uint8_t zero[PL_ENIP_CONTEXT_LEN] = {0};
    unsigned i;

    if (c->nbusy != 1 || memcmp(m->context, zero, PL_ENIP_CONTEXT_LEN) != 0)
        return NULL;
    for (i = 0; i < c->inflight; i++)
        if (c->slot[i].busy)
            return &c->slot[i];
    return NULL;
}

/* A reply to a message that timed out: forget it and report 1. */
static int expired_match(pl_pccc_client_t *c, int by_seq, uint16_t key)
{
    unsigned i;

    for (i = 0; i < EXPIRED_MAX; i++) {
        expired_t *e = &c->expired[i];

        if (e->used && (by_seq ? e->seq : e->tns) == key) {
            e->used = 0;
            c->expired_used--;
            return 1;
        }
    }
    return 0;
}

/* Slot `s` was answered: with `st` == NULL its data has been stored. */
static void slot_done(pl_pccc_client_t *c, slot_t *s, const pl_status_t *st,
                      const pl_pccc_remote_t *remote)
{
    pl_pccc_req_t *r = s->req;

    c->stats.responses++;
    c->stats.last_rtt_us = (clock_ns(c) - s->sent_ns) / 1000u;
    slot_release(c, s);
    if (r == NULL)
        return;
    if (st != NULL) {
        if (remote != NULL)
            r->remote = *remote;
        finish(c, r, st);
        return;
    }
    priv(r)->outstanding--;
    if (priv(r)->next == priv(r)->nchunks && priv(r)->outstanding == 0)
        finish(c, r, NULL);
}

static void identify_text(const pl_pccc_diag_t *d, char *text, size_t cap)
{
    if (d->proc == PL_PCCC_PROC_UNKNOWN && d->catalog[0] == '\0')
        snprintf(text, cap, "unknown processor (type 0x%02X)", d->type);
    else if (d->catalog[0] != '\0')
        snprintf(text, cap, "%s %s series %c", d->model, d->catalog, (char)('A' + d->series % 26u));
    else
        snprintf(text, cap, "%s series %c", d->model, (char)('A' + d->series % 26u));
}

/* A successful CIP reply of the PCCC object: its payload is the wrapped PCCC reply. */
static void handle_pccc(pl_pccc_client_t *c, const pl_cip_rsp_t *rsp, slot_t *by_key)
{
    pl_pccc_wrap_t w;
    pl_pccc_reply_t rep;
    pl_pccc_remote_t remote;
    pl_status_t st;
    slot_t *s;
    rpriv_t *p;
    int rc;

    pl_status_clear(&st);
    rc = pl_pccc_wrap_decode(c->service, rsp->data, rsp->data_len, &w, &st);
    if (rc == 0)
        rc = pl_pccc_reply_decode(w.pccc, w.pccc_len, &rep, &st);
    if (rc < 0) {
        if (by_key != NULL) {
            slot_done(c, by_key, &st, NULL);
            return;
        }
        protocol_error(c, &st);
        return;
    }
    s = slot_by_tns(c, rep.tns);
    if (s == NULL) {
        if (expired_match(c, 0, rep.tns))
            return;
        pl_status_set(&st, PL_EPCCC_MISMATCH, 0, "reply with TNS 0x%04X matches no request",
                      rep.tns);
        protocol_error(c, &st);
        return;
    }
    if (pl_pccc_reply_match(&rep, s->cmd, s->tns, &st) < 0) {
        protocol_error(c, &st);
        return;
    }
    /* The service header must be ours: 0x4B echoes the requestor ID; 0x4C comes back
     * either addressed to us (links and nodes swapped) or echoed as sent. */
    if (c->service == PL_PCCC_SVC_EXECUTE && (w.vendor != s->vendor || w.serial != c->serial)) {
        pl_status_set(&st, PL_EPCCC_HEADER, 0, "reply requestor ID %04X/%08X, sent %04X/%08X",
                      w.vendor, w.serial, s->vendor, c->serial);
        protocol_error(c, &st);
        return;
    }
    if (c->service == PL_PCCC_SVC_DHP) {
        const pl_pccc_dhp_t *h = &w.dhp, *m = &c->dhp;
        int echoed = h->dst_link == m->dst_link && h->dst_node == m->dst_node &&
                     h->src_link == m->src_link && h->src_node == m->src_node;
        int swapped = h->dst_link == m->src_link && h->dst_node == m->src_node &&
                      h->src_link == m->dst_link && h->src_node == m->dst_node;

        if (!echoed && !swapped) {
            pl_status_set(&st, PL_EPCCC_HEADER, 0,
                          "reply DH+ header dst %u/%u src %u/%u, sent dst %u/%u src %u/%u",
                          h->dst_link, h->dst_node, h->src_link, h->src_node, m->dst_link,
                          m->dst_node, m->src_link, m->src_node);
            protocol_error(c, &st);
            return;
        }
    }
    if (rep.sts != 0) {
        memset(&remote, 0, sizeof(remote));
        remote.sts = rep.sts;
        remote.ext_sts = rep.has_ext_sts ? rep.ext_sts : 0;
        if (rep.has_ext_sts)
            pl_status_set(&st, PL_EPCCC_STS, 0, "STS 0x%02X EXT STS 0x%02X: %s", rep.sts,
                          rep.ext_sts, pl_pccc_ext_sts_name(rep.ext_sts));
        else
            pl_status_set(&st, PL_EPCCC_STS, 0, "STS 0x%02X: %s", rep.sts,
                          pl_pccc_sts_name(rep.sts));
        slot_done(c, s, &st, &remote);
        return;
    }
    if (s->req == NULL) {
        slot_done(c, s, NULL, NULL);
        return;
    }
    p = priv(s->req);
    if (p->op == OP_READ) {
        const uint8_t *data = rep.data;
        size_t n = rep.data_len;

        if (s->typed) {
            pl_pccc_typed_t t;

            if (pl_pccc_typed_decode(rep.data, rep.data_len, &t, &st) < 0) {
                slot_done(c, s, &st, NULL);
                return;
            }
            data = t.data;
            n = t.data_len;
        }
        if (n != s->bytes) {
            pl_status_set(&st, PL_EPCCC_MISMATCH, 0, "reply carries %zu data bytes, expected %u", n,
                          s->bytes);
            slot_done(c, s, &st, NULL);
            return;
        }
        if (n > 0)
            memcpy(p->buf + s->offset, data, n);
    } else if (p->op == OP_IDENT) {
        pl_pccc_diag_t d;

        if (pl_pccc_diag_decode(rep.data, rep.data_len, &d, &st) < 0) {
            slot_done(c, s, &st, NULL);
            return;
        }
        identify_text(&d, p->text, p->cap);
    }
    slot_done(c, s, NULL, NULL);
}

static void cip_error_text(pl_status_t *st, const char *what, const pl_cip_rsp_t *rsp)
{
    if (rsp->ext_words > 0)
        pl_status_set(st, PL_ECIP_STATUS, 0, "%sCIP status 0x%02X (%s) ext 0x%04X (%s)", what,
                      rsp->status, pl_cip_status_name(rsp->status), rsp->ext_status,
                      pl_cip_ext_status_name(rsp->ext_status));
    else
        pl_status_set(st, PL_ECIP_STATUS, 0, "%sCIP status 0x%02X (%s)", what, rsp->status,
                      pl_cip_status_name(rsp->status));
}

/* The target refused Forward Open: with a CIP status (rsp), or an encapsulation status
 * (rsp NULL). connected=auto goes on unconnected (on this session when it is still good),
 * connected=1 fails with PL_EFWD_OPEN_REFUSED, naming the status and what to do. */
static void fwd_open_refused(pl_pccc_client_t *c, const pl_cip_rsp_t *rsp, uint32_t encap)
{
    int is_auto = c->connected == PL_PCCC_CONNECTED_AUTO;
    const char *hint = is_auto ? "" : "; use connected=0 or auto";
    pl_pccc_remote_t remote;
    pl_status_t st;

    memset(&remote, 0, sizeof(remote));
    if (rsp == NULL) {
        remote.encap_status = encap;
        pl_status_set(&st, PL_EFWD_OPEN_REFUSED, 0, "%.40s (encapsulation status 0x%04X)%s",
                      pl_enip_status_name(encap), encap, hint);
    } else if (rsp->ext_words > 0) {
        remote.cip_status = rsp->status;
        remote.cip_ext = rsp->ext_status;
        pl_status_set(&st, PL_EFWD_OPEN_REFUSED, 0, "%.40s (CIP status 0x%02X ext 0x%04X)%s",
                      pl_cip_status_name(rsp->status), rsp->status, rsp->ext_status, hint);
    } else {
        remote.cip_status = rsp->status;
        pl_status_set(&st, PL_EFWD_OPEN_REFUSED, 0, "%.46s (CIP status 0x%02X)%s",
                      pl_cip_status_name(rsp->status), rsp->status, hint);
    }
    if (!is_auto) {
        session_refused(c, &st, &remote);
        return;
    }
    go_unconnected(c, &st);
    if (rsp == NULL) { /* the encapsulation layer said no: start over, unconnected */
        c->no_fallback = 1;
        drop(c, &st);
        return;
    }
    c->use_conn = 0;
    layout(c);
    session_ready(c);
}

static void handle_fwd_open(pl_pccc_client_t *c, const pl_cip_rsp_t *rsp)
{
    pl_status_t st;

    if (c->ss.state != ST_FWD_OPEN) {
        pl_status_set(&st, PL_EPROTO, 0, "unexpected Forward Open reply");
        protocol_error(c, &st);
        return;
    }
    if (rsp->status != 0) {
        fwd_open_refused(c, rsp, 0);
        return;
    }
    if (pl_enip_session_opened(&c->ss, rsp, &st) < 0) {
        protocol_error(c, &st);
        return;
    }
    session_ready(c);
}

static void handle_rr(pl_pccc_client_t *c, const pl_enip_msg_t *m, int connected)
{
    pl_enip_rr_t rr;
    pl_cip_rsp_t rsp;
    pl_pccc_remote_t remote;
    pl_status_t st;
    const uint8_t *cip;
    size_t cip_len;
    uint16_t key = (uint16_t)(m->context[0] | m->context[1] << 8), seq = 0;
    uint8_t kind = m->context[2];
    uint32_t conn_id;
    slot_t *s;
    int rc;

    if (c->ss.state == ST_REGISTER || c->ss.state == ST_DOWN) {
        pl_status_set(&st, PL_EPROTO, 0, "%s before the session was registered",
                      pl_enip_command_name(m->command));
        protocol_error(c, &st);
        return;
    }
    if (m->status != 0) {
        if (c->ss.state == ST_FWD_OPEN && !connected) {
            fwd_open_refused(c, NULL, m->status);
            return;
        }
        memset(&remote, 0, sizeof(remote));
        remote.encap_status = m->status;
        pl_status_set(&st, PL_EENIP_STATUS, 0, "encapsulation status 0x%04X (%s)", m->status,
                      pl_enip_status_name(m->status));
        s = !connected && kind == CTX_PCCC ? slot_by_tns(c, key) : NULL;
        if (s == NULL && !connected && kind == CTX_PCCC && expired_match(c, 0, key))
            return;
        if (s == NULL && !connected)
            s = only_busy(c, m);
        /* session gone, unattributable, or more than one in flight (the requests are sent
         * again one at a time: on_line_down): start over */
        if (m->status == PL_ENIP_STATUS_INVALID_SESSION || s == NULL || c->nbusy > 1) {
            protocol_error(c, &st);
            return;
        }
        slot_done(c, s, &st, &remote);
        return;
    }
    rc = pl_enip_rr_decode(m->data, m->data_len, &rr);
    if (rc == 0) {
        if (connected) {
            rc = pl_cpf_connected(&rr.cpf, &conn_id, &seq, &cip, &cip_len);
            if (rc == 0 && conn_id != c->ss.to_conn_id) {
                pl_status_set(&st, PL_EPROTO, 0, "connected reply for connection 0x%08X", conn_id);
                protocol_error(c, &st);
                return;
            }
        } else {
            rc = pl_cpf_unconnected(&rr.cpf, &cip, &cip_len);
        }
    }
    if (rc == 0)
        rc = pl_cip_rsp_decode(cip, cip_len, &rsp);
    if (rc < 0) {
        pl_status_set(&st, rc, 0, "bad %s reply", pl_enip_command_name(m->command));
        protocol_error(c, &st);
        return;
    }
    /* Connection Manager replies are known by their service (a target need not echo the
     * sender context) */
    if (!connected && rsp.service == (PL_CIP_SVC_FORWARD_OPEN | PL_CIP_SVC_REPLY)) {
        handle_fwd_open(c, &rsp);
        return;
    }
    if (!connected && rsp.service == (PL_CIP_SVC_FORWARD_CLOSE | PL_CIP_SVC_REPLY))
        return;
    s = connected ? slot_by_seq(c, seq) : (kind == CTX_PCCC ? slot_by_tns(c, key) : NULL);
    if (rsp.service == (c->service | PL_CIP_SVC_REPLY) && rsp.status == 0) {
        handle_pccc(c, &rsp, s);
        return;
    }
    /* A CIP-level answer without PCCC data: matched by context or sequence count, or, when
     * the target did not echo the context, to the one message in flight. */
    if (s == NULL && expired_match(c, connected, connected ? seq : key))
        return;
    if (s == NULL && !connected)
        s = only_busy(c, m);
    if (s == NULL) {
        pl_status_set(&st, PL_EPCCC_MISMATCH, 0,
                      "CIP reply 0x%02X status 0x%02X matches no request", rsp.service, rsp.status);
        protocol_error(c, &st);
        return;
    }
    if (rsp.status == 0) {
        pl_status_set(&st, PL_ECIP_SERVICE, 0, "CIP reply service 0x%02X, expected 0x%02X",
                      rsp.service, c->service | PL_CIP_SVC_REPLY);
        slot_done(c, s, &st, NULL);
        return;
    }
    if (rsp.status == PL_CIP_STATUS_RESOURCE_UNAVAILABLE && c->nbusy > 1) {
        /* busy: too many at once for this target; they are sent again one at a time */
        cip_error_text(&st, "", &rsp);
        protocol_error(c, &st);
        return;
    }
    memset(&remote, 0, sizeof(remote));
    remote.cip_status = rsp.status;
    remote.cip_ext = rsp.ext_status;
    cip_error_text(
        &st,
        rsp.service == (PL_CIP_SVC_UNCONNECTED_SEND | PL_CIP_SVC_REPLY) ? "Unconnected Send: " : "",
        &rsp);
    slot_done(c, s, &st, &remote);
}

static void handle_msg(pl_pccc_client_t *c, const uint8_t *p, size_t n)
{
    pl_enip_msg_t m;
    pl_status_t st;
    int rc;

    rc = pl_enip_decode(p, n, &m);
    if (rc < 0) {
        pl_status_set(&st, rc, 0, "bad encapsulation message");
        protocol_error(c, &st);
        return;
    }
    c->rx_msgs++;
    switch (m.command) {
    case PL_ENIP_CMD_REGISTER_SESSION:
        rc = pl_enip_session_registered(&c->ss, &m, &st);
        if (rc == PL_ESESSION_REFUSED) {
            register_refused(c, &m, &st);
            return;
        }
        if (rc < 0) {
            protocol_error(c, &st);
            return;
        }
        if (c->use_conn)
            send_forward_open(c);
        else
            session_ready(c);
        return;
    case PL_ENIP_CMD_SEND_RR_DATA:
        handle_rr(c, &m, 0);
        return;
    case PL_ENIP_CMD_SEND_UNIT_DATA:
        handle_rr(c, &m, 1);
        return;
    case PL_ENIP_CMD_NOP:
        return;
    default:
        pl_status_set(&st, PL_EPROTO, 0, "unexpected encapsulation command 0x%04X", m.command);
        protocol_error(c, &st);
        return;
    }
}

/* The stream broke on a length: reconnect. */
static void frame_error(pl_pccc_client_t *c, int rc)
{
    pl_status_t why;

    pl_status_set(&why, rc, 0, "encapsulation message longer than %u bytes", RX_MAX_DATA);
    c->rx_len = 0;
    protocol_error(c, &why);
}

/* Handles the messages in buf[0..len), the first one possibly the rest of the partial
 * message kept in rx. Complete messages are handled where they are; only a partial one is
 * copied (into rx, up to what it needs). Returns 0, or -1 when the rest of the stream is
 * void (an error, the client freed or reconnecting). */
static int take_bytes(pl_pccc_client_t *c, const uint8_t *buf, size_t len)
{
    unsigned gen = c->conn_gen;
    size_t need, n;
    int rc;

    while (c->rx_len > 0 && len > 0) {
        /* rx holds less than one message: top it up to the length known so far (24 bytes of
         * header at first, then the whole message), no further */
        rc = pl_enip_frame(c->rx, c->rx_len, RX_MAX_DATA, &need);
        if (rc != PL_EAGAIN) {
            frame_error(c, rc);
            return -1;
        }
        n = need - c->rx_len < len ? need - c->rx_len : len;
        memcpy(c->rx + c->rx_len, buf, n);
        c->rx_len += n;
        buf += n;
        len -= n;
        rc = pl_enip_frame(c->rx, c->rx_len, RX_MAX_DATA, NULL);
        if (rc == PL_EAGAIN)
            continue;
        if (rc < 0) {
            frame_error(c, rc);
            return -1;
        }
        c->rx_len = 0;
        handle_msg(c, c->rx, (size_t)rc);
        if (c->closing || gen != c->conn_gen || c->dropped)
            return -1; /* freed or reconnecting: the rest of the stream is void */
    }
    while (len > 0) {
        rc = pl_enip_frame(buf, len, RX_MAX_DATA, NULL);
        if (rc == PL_EAGAIN) {
            memcpy(c->rx, buf, len); /* less than one message: it fits */
            c->rx_len = len;
            return 0;
        }
        if (rc < 0) {
            frame_error(c, rc);
            return -1;
        }
        handle_msg(c, buf, (size_t)rc);
        if (c->closing || gen != c->conn_gen || c->dropped)
            return -1;
        buf += rc;
        len -= (size_t)rc;
    }
    return 0;
}

static void on_line_data(pl_line_t *line, const uint8_t *buf, size_t len, void *ud)
{
    pl_pccc_client_t *c = ud;
    int rc;

    (void)line;
    c->in_batch = 1; /* one clock reading serves every reply in these bytes */
    c->batch_ns = 0;
    rc = take_bytes(c, buf, len);
    if (rc == 0)
        pump(c); /* answered slots are free: the next messages go out */
    c->in_batch = 0;
}

static void on_line_up(pl_line_t *line, void *ud)
{
    pl_pccc_client_t *c = ud;
    uint32_t bit = c->cur_bit = host_bit(c);
    pl_status_t why;
    int rc;

    (void)line;
    c->conn_gen++;
    c->rx_len = 0;
    /* attempt_failures is reset once a session came up and ended (on_line_down): a host
     * that accepts the connection but refuses the session is a failed attempt */
    pl_status_clear(&c->setup_err);
    memset(c->expired, 0, sizeof(c->expired));
    c->expired_used = 0;
    c->setup_deadline = uv_now(c->loop) + c->timeout_ms;
    c->no_fallback = 0;
    c->refused = 0;
    c->dropped = 0;
    c->send_failed = 0;
    snprintf(c->peer, sizeof(c->peer), "%s", pl_line_peer(c->line));
    c->limit = (c->serial_hosts & bit) != 0 ? 1u : c->inflight;
    c->stats.inflight = c->limit;
    c->use_conn = c->connected == 1 ||
                  (c->connected == PL_PCCC_CONNECTED_AUTO && (c->unconn_hosts & bit) == 0);
    layout(c);
    pl_log(c->log, PL_LOG_DEBUG, "pccc: connected to %s, registering", pl_line_peer(c->line));
    /* RegisterSession with every header field it does not use zero: a strict target
     * refuses a sender context or options (docs/pccc.md) */
    rc = pl_enip_session_begin(&c->ss, c->use_conn, c->tx, sizeof(c->tx));
    if (rc > 0)
        rc = pl_line_send(c->line, c->tx, (size_t)rc);
    if (rc < 0) {
        pl_status_set(&why, PL_ESEND, 0, "sending RegisterSession failed: %s", pl_strerror(rc));
        drop(c, &why);
        return;
    }
    arm(c);
}

static void on_line_down(pl_line_t *line, const pl_status_t *why, void *ud)
{
    pl_pccc_client_t *c = ud;
    int was_ready = c->ss.state == ST_READY, was_up = c->ss.state != ST_DOWN, refused = c->refused;

    (void)line;
    pl_enip_session_down(&c->ss);
    c->conn_gen++;
    c->rx_len = 0;
    c->refused = 0;
    c->dropped = 0;
    if (was_up && !refused)
        c->attempt_failures = 0;
    else
        c->attempt_failures++; /* a refused session counts as a failed attempt */
    if (was_ready && c->nbusy + c->send_failed > 1 && !c->no_fallback)
        fall_back(c, why); /* the requests in flight wait for the next session */
    c->no_fallback = 0;
    c->send_failed = 0;
    if (c->on_link != NULL && (was_ready || c->persistent)) {
        c->on_link(c, why, c->ud);
        if (c->closing)
            return;
    }
    fail_inflight(c, why); /* sent, not answered: they fail with the reason of the break */
    if (c->closing)
        return;
    if ((!was_up || refused) && c->attempt_failures >= c->nhosts && c->head != NULL) {
        /* every host was tried once: the waiting requests get the reason */
        fail_waiting(c, why, refused ? &c->setup_remote : NULL);
        if (c->closing)
            return;
    }
    if (c->head == NULL) {
        c->wait_since = 0;
        if (!c->persistent)
            pl_line_stop(c->line);
    } else if (c->wait_since == 0) {
        c->wait_since = uv_now(c->loop) + 1;
    }
    arm(c);
}

/* --- lifecycle --------------------------------------------------------------------- */

int pl_pccc_client_new(uv_loop_t *loop, const pl_pccc_client_config_t *cfg, pl_pccc_client_t **out)
{
    static const pl_line_cbs_t cbs = {
        .on_up = on_line_up, .on_data = on_line_data, .on_down = on_line_down};
    pl_pccc_client_t *c;
    int n, rc;

    if (loop == NULL || cfg == NULL || out == NULL || cfg->line.hosts.count == 0 ||
        cfg->inflight > MAX_INFLIGHT || cfg->route_len > sizeof(cfg->route) ||
        cfg->route_len % 2 != 0 || (cfg->max_bytes != 0 && cfg->max_bytes < 2) ||
        cfg->max_bytes > MAX_DATA_BYTES || pl_pccc_wrap_header_len(cfg->service) < 0 ||
        (unsigned)cfg->plc > PL_PCCC_PLC_LOGIX || cfg->connected < 0 ||
        cfg->connected > PL_PCCC_CONNECTED_AUTO)
        return PL_EINVAL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return PL_ENOMEM;
    c->loop = loop;
    c->log = cfg->log;
    pl_ratelimit_init(&c->rl, c->rl_slots, sizeof(c->rl_slots) / sizeof(c->rl_slots[0]));
    c->on_link = cfg->on_link;
    c->ud = cfg->ud;
    c->plc = cfg->plc;
    c->service = cfg->service;
    c->vendor = cfg->vendor;
    c->vendor_next = cfg->vendor;
    c->vendor_seq = cfg->vendor_seq;
    c->serial = cfg->serial;
    if (c->serial == 0)
        c->serial = mac_serial();
    if (c->serial == 0)
        c->serial = FALLBACK_SERIAL;
    c->dhp.dst_link = cfg->dst_link;
    c->dhp.dst_node = cfg->dst;
    c->dhp.src_link = cfg->src_link;
    c->dhp.src_node = cfg->src;
    memcpy(c->route, cfg->route, cfg->route_len);
    c->route_len = cfg->route_len;
    c->connected = cfg->connected;
    c->use_conn = cfg->connected == 1;
    c->inflight = cfg->inflight != 0 ? cfg->inflight : 1;
    c->limit = c->inflight;
    c->timeout_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->max_queue = cfg->max_queue != 0 ? cfg->max_queue : DEFAULT_QUEUE;
    c->max_bytes =
        cfg->max_bytes != 0 ? cfg->max_bytes : (unsigned)pl_pccc_max_bytes(proc_of(c->plc));
    if (c->max_bytes > MAX_DATA_BYTES)
        c->max_bytes = MAX_DATA_BYTES;
    /* the session's Forward Open goes through the route to the Message Router */
    pl_enip_session_init(
        &c->ss, c->vendor, c->serial, c->route, c->route_len, c->timeout_ms,
        (uint32_t)(uv_hrtime() ^ (uint64_t)(uintptr_t)c ^ (uint64_t)(uintptr_t)c >> 32));
    /* the in-place layout of a request (send_chunk) and its constant CIP request header:
     * the PCCC object's service and path, no data yet */
    layout(c);
    {
        uint8_t path[8];
        pl_cip_req_t q;
        int plen = pl_cip_path_encode(path, sizeof(path), PL_PCCC_CLASS, PL_PCCC_INSTANCE);

        memset(&q, 0, sizeof(q));
        q.service = c->service;
        q.path = path;
        q.path_len = (size_t)(plen > 0 ? plen : 0);
        n = pl_cip_req_encode(c->hdr, sizeof(c->hdr), &q);
        c->cip_hdr_len = (size_t)(n > 0 ? n : 0);
    }
    c->wrap_len = (size_t)pl_pccc_wrap_header_len(c->service); /* checked above */
    (void)wrap_encode(c, c->hdr + c->cip_hdr_len, c->vendor);
    c->armed_at = UINT64_MAX;
    rc = pl_line_new(loop, &cfg->line, &cbs, c, &c->line);
    if (rc < 0) {
        free(c);
        return rc;
    }
    c->nhosts = pl_line_host_count(c->line);
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    *out = c;
    return 0;
}

int pl_pccc_client_start(pl_pccc_client_t *c)
{
    if (c->closing)
        return PL_ECLOSING;
    c->persistent = 1;
    return pl_line_start(c->line);
}

pl_line_t *pl_pccc_client_line(pl_pccc_client_t *c)
{
    return c->line;
}

const pl_pccc_client_stats_t *pl_pccc_client_stats(const pl_pccc_client_t *c)
{
    return &c->stats;
}

static void on_handle_closed(uv_handle_t *h)
{
    pl_pccc_client_t *c = h->data;

    if (--c->handles_open == 0)
        free(c);
}

void pl_pccc_client_free(pl_pccc_client_t *c)
{
    pl_status_t why;
    unsigned i;

    if (c == NULL || c->closing)
        return;
    session_close(c);
    c->closing = 1;
    pl_ratelimit_flush(&c->rl, uv_now(c->loop), c->log); /* counts not yet logged */
    pl_line_free(c->line);
    c->line = NULL;
    uv_timer_stop(&c->timer);
    pl_status_set(&why, PL_ECANCELED, 0, "client closed");
    for (i = 0; i < MAX_INFLIGHT; i++) {
        pl_pccc_req_t *r = c->slot[i].req;

        slot_release(c, &c->slot[i]);
        if (r != NULL)
            finish(c, r, &why);
    }
    while (c->head != NULL)
        finish(c, c->head, &why);
    c->handles_open = 1;
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}
