/* SPDX-License-Identifier: MIT */
/*
 * PCCC over EtherNet/IP client (seed 001), on the client core (proto/client.h: the queue,
 * the messages in flight, deadlines, reconnects, statistics). What is its own: the
 * EtherNet/IP session (enip_session.h) as the core's set-up,
 *
 *   line up --> RegisterSession --reply--> [Forward Open --reply-->] ready
 *
 * (a refusal is a failed connect attempt; connected=auto goes on unconnected), the cutting
 * of a request by pl_pccc_addr_split() into PCCC messages (one per core message, each with
 * its own TNS), the matching of replies (by TNS; a CIP or encapsulation error without PCCC
 * data by the sender context, or by the sequence count on a connection, the core's second
 * key), and what a target teaches: one request at a time after a pipelining failure (the
 * requests then in flight go out again), unconnected messaging after a refused Forward
 * Open with connected=auto, a silent target dropped.
 *
 * No socket I/O of its own, nothing blocks, nothing prints. The only file access is
 * reading /sys/class/net/<if>/address once per client for the default requestor serial.
 */
#include "plcline/pccc.h"
#include "plcline/error.h"

#include "proto/client.h"
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
    pl_client_req_t core; /* the core's part */
    pl_pccc_addr_t a;
    uint8_t *buf;
    size_t len;
    char *text; /* identify */
    size_t cap;
    uint32_t nchunks;
    uint8_t op;
} rpriv_t;

_Static_assert(sizeof(rpriv_t) <= sizeof(((pl_pccc_req_t *)0)->priv_), "pl_pccc_req_t.priv_");
_Static_assert(offsetof(pl_pccc_req_t, priv_) % alignof(rpriv_t) == 0, "priv_ alignment");

/* A PCCC message in flight: the core's slot state (its id is the TNS, its second key the
 * sequence count on a connection). */
typedef struct {
    uint8_t cmd, typed; /* typed: the reply data is PLC-5 typed data */
    uint16_t tns, seq, vendor;
    uint32_t offset, bytes; /* where the reply's data goes in the request's buffer */
    uint64_t rx_mark;       /* c->rx_msgs when it was sent */
} msg_t;

/* A parsed address and its text: a client polling the same addresses parses each once. */
typedef struct {
    char text[MEMO_TEXT]; /* "" when unused */
    pl_pccc_addr_t a;
} memo_t;

struct pl_pccc_client_s {
    uv_loop_t *loop;
    pl_client_t *cl;
    pl_line_t *line; /* the core's */
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
    unsigned inflight, timeout_ms, max_bytes;

    /* what the targets taught us, one bit per host index (the last bit for the rest) */
    uint32_t serial_hosts;       /* keep at one request in flight */
    uint32_t unconn_hosts;       /* connected=auto: refused Forward Open, use unconnected */
    uint32_t cur_bit;            /* the bit of the host of this connection */
    uint8_t no_fallback;         /* the line is dropped for a reason of ours (a silent peer) */
    char peer[PL_LINE_PEER_MAX]; /* of this connection, for what is logged after it ended */
    int use_conn;                /* this session uses connected messaging */

    /* session */
    pl_enip_session_t ss; /* RegisterSession, Forward Open, framing (enip_session.h) */
    uint16_t tns, vendor_next;
    uint64_t rx_msgs; /* messages received (a message that saw none since its send: silence) */
    int refused_code; /* the code the waiting requests fail with after a refusal, 0: none */
    pl_pccc_remote_t setup_remote; /* what the target said when it refused the session */

    /* what op_match found in a reply, for op_handle (called next, for the same bytes) */
    uint8_t ans_fail, ans_has_remote;
    const uint8_t *ans_data; /* the PCCC reply's data, in the received bytes */
    size_t ans_len;
    pl_pccc_remote_t ans_remote;
    pl_status_t ans_st;

    uv_timer_t closer; /* only closed: frees the client after the core's callbacks */
    uint8_t persistent, closing;

    pl_pccc_client_stats_t stats;
    memo_t memo[MEMO_SLOTS];
    /* Requests are encoded in place in the core's send buffer: the CIP request to the PCCC
     * object at off_cip (after the encapsulation framing and, when routed, the Unconnected
     * Send header) starts with the constant hdr (service and path, cip_hdr_len bytes, then
     * the service header, wrap_len bytes: re-encoded per message with vendor_seq), the PCCC
     * message follows; the layers around it are filled in afterwards. */
    size_t off_cip, cip_hdr_len, wrap_len;
    uint8_t hdr[PL_CIP_REQ_HEADER_LEN + 8u + PL_PCCC_DHP_LEN];
    uint8_t mask[MAX_DATA_BYTES]; /* the mask of a masked write */
};

static void go_unconnected(pl_pccc_client_t *c, const pl_status_t *st);

/* A line the PLC can cause: rate-limited per PLC and message (the core's limiter). */
#define PLOG(c, level, ...) pl_client_log((c)->cl, level, __VA_ARGS__)

static rpriv_t *priv(pl_pccc_req_t *r)
{
    return (rpriv_t *)(void *)r->priv_;
}

static pl_pccc_req_t *req_of(pl_client_req_t *core)
{
    return (pl_pccc_req_t *)(void *)((char *)core - offsetof(pl_pccc_req_t, priv_));
}

/* The bit of the host connected to (or tried) in serial_hosts / unconn_hosts. */
static uint32_t host_bit(const pl_pccc_client_t *c)
{
    unsigned i = pl_line_host_index(c->line);

    return 1u << (i < 31u ? i : 31u);
}

/* Where the CIP request starts in the send buffer for this session's kind of messaging
 * (op_encode). */
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
    if ((rc = pl_url_get_unsigned(u, "max_bytes", 2, MAX_DATA_BYTES, &cfg->max_bytes, err)) < 0)
        goto out;
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

/* --- requests ---------------------------------------------------------------------- */

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
    p->buf = buf;
    p->len = len;
    p->text = text;
    p->cap = cap;
    req->next_ = NULL;
    req->cb_ = cb;
    n = pl_client_submit(c->cl, &p->core);
    if (n == PL_ENO_MSG)
        return pl_status_set(&req->status, PL_ENO_MSG, 0, "%u requests waiting or in flight",
                             pl_client_pending(c->cl));
    return n;
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

static uint16_t next_tns(pl_pccc_client_t *c)
{
    do {
        c->tns++;
        if (c->tns == 0)
            c->tns = 1;
    } while (pl_client_id_taken(c->cl, c->tns));
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
static int build_pccc(pl_pccc_client_t *c, pl_pccc_req_t *r, uint32_t k, msg_t *s, uint8_t *out,
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

/* ops.encode: message k of a request into buf, every layer at its final place, innermost
 * first (see off_cip). */
static int op_encode(pl_client_t *cl, pl_client_req_t *creq, pl_client_slot_t *slot, uint8_t *buf,
                     size_t cap, int *last, pl_status_t *st, void *ud)
{
    pl_pccc_client_t *c = ud;
    pl_pccc_req_t *r = req_of(creq);
    msg_t *s = slot->state;
    uint8_t *cip = buf + c->off_cip, *wrap = cip + c->cip_hdr_len, *pccc = wrap + c->wrap_len;
    uint8_t ctx[PL_ENIP_CONTEXT_LEN];
    size_t len;
    int n, connected = c->use_conn;

    (void)cl;
    s->tns = next_tns(c);
    slot->id = s->tns;
    n = build_pccc(c, r, creq->sent, s, pccc, cap - (size_t)(pccc - buf), st);
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
    s->seq = 0;
    if (connected) {
        s->seq = ++c->ss.seq;
    } else if (c->route_len > 0) {
        pl_cip_ucmm_t u;
        uint8_t *ucmm = buf + PL_ENIP_CIP_UNCONNECTED_LEN;
        int m;

        memset(&u, 0, sizeof(u));
        u.priority_tick = CM_PRIORITY_TICK;
        u.timeout_ticks = pl_enip_session_cm_ticks(&c->ss);
        u.msg = cip; /* == ucmm + PL_CIP_UCMM_MSG_OFFSET: stays where it is */
        u.msg_len = len;
        u.route = c->route;
        u.route_len = c->route_len;
        m = pl_cip_ucmm_encode(ucmm, cap - PL_ENIP_CIP_UNCONNECTED_LEN, &u);
        if (m < 0)
            return pl_status_set(st, m, 0, "encoding the Unconnected Send failed");
        len = (size_t)m;
    }
    slot->id2 = s->seq;
    s->rx_mark = c->rx_msgs;
    *last = creq->sent + 1u >= priv(r)->nchunks;
    n = pl_enip_session_frame(&c->ss, connected, s->seq, ctx, buf, cap, len);
    if (n < 0)
        return pl_status_set(st, n == PL_ENOBUFS || n == PL_ERANGE ? n : PL_ESEND, 0,
                             "sending the request failed: %s", pl_strerror(n));
    return n;
}

/* --- session (the core's set-up) --------------------------------------------------- */

static void session_ready(pl_pccc_client_t *c)
{
    pl_enip_session_ready(&c->ss, c->use_conn);
    c->stats.sessions++;
    c->stats.connected = c->use_conn;
    pl_log(c->log, PL_LOG_INFO, "pccc: session 0x%08X with %s%s, %u in flight", c->ss.session,
           pl_line_peer(c->line), c->use_conn ? " (connected)" : "", c->stats.inflight);
    if (c->on_link != NULL) {
        c->on_link(c, NULL, c->ud);
        if (c->closing)
            return;
    }
    pl_client_ready(c->cl);
}

static void send_forward_open(pl_pccc_client_t *c)
{
    pl_status_t why;
    size_t cap;
    uint8_t *buf = pl_client_scratch(c->cl, &cap);
    int n, rc;

    n = pl_enip_session_fwd_open(&c->ss, buf, cap);
    rc = n < 0 ? n : pl_client_send(c->cl, buf, (size_t)n);
    if (rc < 0) {
        pl_status_set(&why, PL_ESEND, 0, "sending Forward Open failed: %s", pl_strerror(rc));
        pl_client_drop(c->cl, &why);
    }
}

/* Forward Close and UnRegisterSession, best effort (the socket closes right after). */
static void session_close(pl_pccc_client_t *c)
{
    size_t cap;
    uint8_t *buf = pl_client_scratch(c->cl, &cap);
    int n = pl_enip_session_fwd_close(&c->ss, buf, cap);

    if (n > 0)
        (void)pl_client_send(c->cl, buf, (size_t)n);
    n = pl_enip_session_unregister(&c->ss, buf, cap);
    if (n > 0)
        (void)pl_client_send(c->cl, buf, (size_t)n);
}

/* ops.connect: the line is up; RegisterSession with every header field it does not use
 * zero (a strict target refuses a sender context or options, docs/pccc.md). */
static int op_connect(pl_client_t *cl, pl_status_t *st, void *ud)
{
    pl_pccc_client_t *c = ud;
    uint32_t bit = c->cur_bit = host_bit(c);
    size_t cap;
    uint8_t *buf = pl_client_scratch(cl, &cap);
    unsigned limit;
    int rc;

    c->no_fallback = 0;
    c->refused_code = 0;
    snprintf(c->peer, sizeof(c->peer), "%s", pl_line_peer(c->line));
    limit = (c->serial_hosts & bit) != 0 ? 1u : c->inflight;
    pl_client_set_limit(cl, limit);
    c->stats.inflight = limit;
    c->use_conn = c->connected == 1 ||
                  (c->connected == PL_PCCC_CONNECTED_AUTO && (c->unconn_hosts & bit) == 0);
    layout(c);
    pl_log(c->log, PL_LOG_DEBUG, "pccc: connected to %s, registering", pl_line_peer(c->line));
    rc = pl_enip_session_begin(&c->ss, c->use_conn, buf, cap);
    if (rc > 0)
        rc = pl_client_send(cl, buf, (size_t)rc);
    if (rc < 0)
        return pl_status_set(st, PL_ESEND, 0, "sending RegisterSession failed: %s",
                             pl_strerror(rc));
    return 1;
}

/* ops.setup_timeout: names the set-up message that got no answer. */
static void op_setup_timeout(pl_client_t *cl, pl_status_t *st, int drop, void *ud)
{
    pl_pccc_client_t *c = ud;

    (void)cl;
    pl_status_set(st, PL_ETIMEOUT, 0, "no %s reply within %u ms",
                  c->ss.state == ST_FWD_OPEN ? "Forward Open" : "RegisterSession", c->timeout_ms);
    if (drop && c->ss.state == ST_FWD_OPEN && c->connected == PL_PCCC_CONNECTED_AUTO)
        go_unconnected(c, st); /* the next session goes without */
}

/* The stream carries something we cannot make sense of: reconnect; the requests in flight
 * fail with `why`, or go out again one at a time (op_down). */
static void protocol_error(pl_pccc_client_t *c, const pl_status_t *why)
{
    PLOG(c, PL_LOG_WARN, "pccc %s: %s: %s, reconnecting", pl_line_peer(c->line),
         pl_strerror(why->code), why->detail);
    pl_client_drop(c->cl, why);
}

/* The target refused the session (RegisterSession, or Forward Open with connected=1): a
 * failed connect attempt; once every host refused or failed, the waiting requests fail
 * with `st` and `remote` (op_complete). */
static void session_refused(pl_pccc_client_t *c, const pl_status_t *st,
                            const pl_pccc_remote_t *remote)
{
    PLOG(c, PL_LOG_WARN, "pccc %s: %s: %s", pl_line_peer(c->line), pl_strerror(st->code),
         st->detail);
    c->refused_code = st->code;
    c->setup_remote = *remote;
    pl_client_refuse(c->cl, st);
}

static void register_refused(pl_pccc_client_t *c, const pl_enip_msg_t *m, const pl_status_t *st)
{
    pl_pccc_remote_t remote;

    memset(&remote, 0, sizeof(remote));
    remote.encap_status = m->status;
    session_refused(c, st, &remote);
}

/* The target closed the connection or answered with an error (`why`) while more than one
 * request was in flight: from now on one at a time with this host; the requests in flight
 * are sent again (the core re-queues them), not failed. Logged once per host (the limit
 * then stays 1). */
static void fall_back(pl_pccc_client_t *c, const pl_status_t *why, unsigned n)
{
    c->serial_hosts |= c->cur_bit;
    c->stats.inflight = 1;
    c->stats.fallbacks++;
    c->stats.retried += n;
    pl_client_fall_back(c->cl, c->peer, why, n, c->stats.fallback, sizeof(c->stats.fallback));
}

/* ops.down: the session is gone. With more than one request in flight (a message that
 * could not be sent counts) the target could not take them: they go out again, one at a
 * time; otherwise they fail with the reason of the break. */
static int op_down(pl_client_t *cl, const pl_status_t *why, int was_up, void *ud)
{
    pl_pccc_client_t *c = ud;
    int was_ready = c->ss.state == ST_READY, how = PL_CLIENT_FAIL_INFLIGHT;
    unsigned busy = pl_client_busy(cl);

    (void)was_up;
    pl_enip_session_down(&c->ss);
    if (was_ready && busy + (unsigned)pl_client_send_failed(cl) > 1 && !c->no_fallback) {
        fall_back(c, why, busy);
        how = PL_CLIENT_REQUEUE;
    }
    c->no_fallback = 0;
    if (c->on_link != NULL && (was_ready || c->persistent))
        c->on_link(c, why, c->ud);
    return how;
}

/* ops.timeout: a message got no answer in time. When nothing at all came back since it was
 * sent the target is silent: start over, and the others in flight fail as they are. */
static int op_timeout(pl_client_t *cl, pl_client_slot_t *slot, pl_status_t *st, void *ud)
{
    pl_pccc_client_t *c = ud;
    const msg_t *s = slot->state;
    int silent = c->rx_msgs == s->rx_mark;

    (void)cl;
    pl_status_set(st, PL_ETIMEOUT, 0, "TNS 0x%04X: no answer within %u ms", s->tns, c->timeout_ms);
    if (silent)
        c->no_fallback = 1;
    return silent;
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

/* --- receiving --------------------------------------------------------------------- */

/* The one message in flight, for a reply without PCCC data whose sender context was not
 * echoed (all zero: a TNS is never 0); NULL when that is not the case. */
static pl_client_slot_t *only_busy(pl_pccc_client_t *c, const pl_enip_msg_t *m)
{
    static const uint8_t zero[PL_ENIP_CONTEXT_LEN] = {0};

    if (pl_client_busy(c->cl) != 1 || memcmp(m->context, zero, PL_ENIP_CONTEXT_LEN) != 0)
        return NULL;
    return pl_client_slot_first(c->cl);
}

/* The reply answers message `s` with an error (`st`, and `remote` when the target said
 * something): op_handle fails its request. */
static int answer_fail(pl_pccc_client_t *c, const pl_client_slot_t *s, const pl_status_t *st,
                       const pl_pccc_remote_t *remote, uint32_t *id)
{
    c->ans_fail = 1;
    c->ans_st = *st;
    c->ans_has_remote = remote != NULL;
    if (remote != NULL)
        c->ans_remote = *remote;
    *id = s->id;
    return PL_CLIENT_ANSWER;
}

/* A successful CIP reply of the PCCC object: its payload is the wrapped PCCC reply. */
static int match_pccc(pl_pccc_client_t *c, const pl_cip_rsp_t *rsp, pl_client_slot_t *by_key,
                      uint32_t *id)
{
    pl_pccc_wrap_t w;
    pl_pccc_reply_t rep;
    pl_pccc_remote_t remote;
    pl_status_t st;
    pl_client_slot_t *slot;
    const msg_t *s;
    int rc;

    pl_status_clear(&st);
    rc = pl_pccc_wrap_decode(c->service, rsp->data, rsp->data_len, &w, &st);
    if (rc == 0)
        rc = pl_pccc_reply_decode(w.pccc, w.pccc_len, &rep, &st);
    if (rc < 0) {
        if (by_key != NULL)
            return answer_fail(c, by_key, &st, NULL, id);
        protocol_error(c, &st);
        return PL_CLIENT_NONE;
    }
    slot = pl_client_slot(c->cl, rep.tns);
    if (slot == NULL) {
        if (pl_client_expired(c->cl, rep.tns, 0)) { /* late: the core drops it */
            *id = rep.tns;
            return PL_CLIENT_ANSWER;
        }
        pl_status_set(&st, PL_EPCCC_MISMATCH, 0, "reply with TNS 0x%04X matches no request",
                      rep.tns);
        protocol_error(c, &st);
        return PL_CLIENT_NONE;
    }
    s = slot->state;
    if (pl_pccc_reply_match(&rep, s->cmd, s->tns, &st) < 0) {
        protocol_error(c, &st);
        return PL_CLIENT_NONE;
    }
    /* The service header must be ours: 0x4B echoes the requestor ID; 0x4C comes back
     * either addressed to us (links and nodes swapped) or echoed as sent. */
    if (c->service == PL_PCCC_SVC_EXECUTE && (w.vendor != s->vendor || w.serial != c->serial)) {
        pl_status_set(&st, PL_EPCCC_HEADER, 0, "reply requestor ID %04X/%08X, sent %04X/%08X",
                      w.vendor, w.serial, s->vendor, c->serial);
        protocol_error(c, &st);
        return PL_CLIENT_NONE;
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
            return PL_CLIENT_NONE;
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
        return answer_fail(c, slot, &st, &remote, id);
    }
    c->ans_fail = 0;
    c->ans_data = rep.data;
    c->ans_len = rep.data_len;
    *id = slot->id;
    return PL_CLIENT_ANSWER;
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
        pl_client_drop(c->cl, &st);
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

/* A SendRRData (connected 0) or SendUnitData reply: which message it answers, or none
 * (session replies, errors: handled here). */
static int match_rr(pl_pccc_client_t *c, const pl_enip_msg_t *m, int connected, uint32_t *id)
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
    pl_client_slot_t *s;
    int rc;

    if (c->ss.state == ST_REGISTER || c->ss.state == ST_DOWN) {
        pl_status_set(&st, PL_EPROTO, 0, "%s before the session was registered",
                      pl_enip_command_name(m->command));
        protocol_error(c, &st);
        return PL_CLIENT_NONE;
    }
    if (m->status != 0) {
        if (c->ss.state == ST_FWD_OPEN && !connected) {
            fwd_open_refused(c, NULL, m->status);
            return PL_CLIENT_NONE;
        }
        memset(&remote, 0, sizeof(remote));
        remote.encap_status = m->status;
        pl_status_set(&st, PL_EENIP_STATUS, 0, "encapsulation status 0x%04X (%s)", m->status,
                      pl_enip_status_name(m->status));
        s = !connected && kind == CTX_PCCC ? pl_client_slot(c->cl, key) : NULL;
        if (s == NULL && !connected && kind == CTX_PCCC && pl_client_expired(c->cl, key, 0)) {
            *id = key; /* late: the core drops it */
            return PL_CLIENT_ANSWER;
        }
        if (s == NULL && !connected)
            s = only_busy(c, m);
        /* session gone, unattributable, or more than one in flight (the requests are sent
         * again one at a time: op_down): start over */
        if (m->status == PL_ENIP_STATUS_INVALID_SESSION || s == NULL || pl_client_busy(c->cl) > 1) {
            protocol_error(c, &st);
            return PL_CLIENT_NONE;
        }
        return answer_fail(c, s, &st, &remote, id);
    }
    rc = pl_enip_rr_decode(m->data, m->data_len, &rr);
    if (rc == 0) {
        if (connected) {
            rc = pl_cpf_connected(&rr.cpf, &conn_id, &seq, &cip, &cip_len);
            if (rc == 0 && conn_id != c->ss.to_conn_id) {
                pl_status_set(&st, PL_EPROTO, 0, "connected reply for connection 0x%08X", conn_id);
                protocol_error(c, &st);
                return PL_CLIENT_NONE;
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
        return PL_CLIENT_NONE;
    }
    /* Connection Manager replies are known by their service (a target need not echo the
     * sender context) */
    if (!connected && rsp.service == (PL_CIP_SVC_FORWARD_OPEN | PL_CIP_SVC_REPLY)) {
        handle_fwd_open(c, &rsp);
        return PL_CLIENT_NONE;
    }
    if (!connected && rsp.service == (PL_CIP_SVC_FORWARD_CLOSE | PL_CIP_SVC_REPLY))
        return PL_CLIENT_NONE;
    s = connected ? pl_client_slot2(c->cl, seq)
                  : (kind == CTX_PCCC ? pl_client_slot(c->cl, key) : NULL);
    if (rsp.service == (c->service | PL_CIP_SVC_REPLY) && rsp.status == 0)
        return match_pccc(c, &rsp, s, id);
    /* A CIP-level answer without PCCC data: matched by context or sequence count, or, when
     * the target did not echo the context, to the one message in flight. */
    if (s == NULL && pl_client_expired(c->cl, connected ? seq : key, connected)) {
        *id = connected ? seq : key; /* late: the core drops it */
        return connected ? PL_CLIENT_ANSWER2 : PL_CLIENT_ANSWER;
    }
    if (s == NULL && !connected)
        s = only_busy(c, m);
    if (s == NULL) {
        pl_status_set(&st, PL_EPCCC_MISMATCH, 0,
                      "CIP reply 0x%02X status 0x%02X matches no request", rsp.service, rsp.status);
        protocol_error(c, &st);
        return PL_CLIENT_NONE;
    }
    if (rsp.status == 0) {
        pl_status_set(&st, PL_ECIP_SERVICE, 0, "CIP reply service 0x%02X, expected 0x%02X",
                      rsp.service, c->service | PL_CIP_SVC_REPLY);
        return answer_fail(c, s, &st, NULL, id);
    }
    if (rsp.status == PL_CIP_STATUS_RESOURCE_UNAVAILABLE && pl_client_busy(c->cl) > 1) {
        /* busy: too many at once for this target; they are sent again one at a time */
        cip_error_text(&st, "", &rsp);
        protocol_error(c, &st);
        return PL_CLIENT_NONE;
    }
    memset(&remote, 0, sizeof(remote));
    remote.cip_status = rsp.status;
    remote.cip_ext = rsp.ext_status;
    cip_error_text(
        &st,
        rsp.service == (PL_CIP_SVC_UNCONNECTED_SEND | PL_CIP_SVC_REPLY) ? "Unconnected Send: " : "",
        &rsp);
    return answer_fail(c, s, &st, &remote, id);
}

/* ops.frame: one encapsulation message. */
static int op_frame(const uint8_t *buf, size_t len, void *ud)
{
    (void)ud;
    return pl_enip_frame(buf, len, RX_MAX_DATA, NULL);
}

/* ops.match: decodes the message; session messages and errors are handled here, an answer
 * to a message is judged here and completed in op_handle. */
static int op_match(pl_client_t *cl, const uint8_t *frame, size_t len, uint32_t *id,
                    pl_status_t *st, void *ud)
{
    pl_pccc_client_t *c = ud;
    pl_enip_msg_t m;
    int rc;

    (void)cl;
    rc = pl_enip_decode(frame, len, &m);
    if (rc < 0) {
        pl_status_set(st, rc, 0, "bad encapsulation message");
        protocol_error(c, st);
        return PL_CLIENT_NONE;
    }
    c->rx_msgs++;
    switch (m.command) {
    case PL_ENIP_CMD_SEND_RR_DATA:
        return match_rr(c, &m, 0, id);
    case PL_ENIP_CMD_SEND_UNIT_DATA:
        return match_rr(c, &m, 1, id);
    case PL_ENIP_CMD_REGISTER_SESSION:
        rc = pl_enip_session_registered(&c->ss, &m, st);
        if (rc == PL_ESESSION_REFUSED)
            register_refused(c, &m, st);
        else if (rc < 0)
            protocol_error(c, st);
        else if (c->use_conn)
            send_forward_open(c);
        else
            session_ready(c);
        return PL_CLIENT_NONE;
    case PL_ENIP_CMD_NOP:
        return PL_CLIENT_NONE;
    default:
        pl_status_set(st, PL_EPROTO, 0, "unexpected encapsulation command 0x%04X", m.command);
        protocol_error(c, st);
        return PL_CLIENT_NONE;
    }
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

/* ops.handle: completes the message op_match judged (nothing else comes here). */
static int op_handle(pl_client_t *cl, pl_client_slot_t *slot, const uint8_t *frame, size_t len,
                     pl_status_t *st, void *ud)
{
    pl_pccc_client_t *c = ud;
    const msg_t *s;
    pl_pccc_req_t *r;
    rpriv_t *p;

    (void)cl;
    (void)frame;
    (void)len;
    if (slot == NULL)
        return PL_CLIENT_OTHER;
    if (c->ans_fail) {
        *st = c->ans_st;
        if (c->ans_has_remote && slot->req != NULL)
            req_of(slot->req)->remote = c->ans_remote;
        return PL_CLIENT_FAIL;
    }
    if (slot->req == NULL)
        return PL_CLIENT_OK;
    s = slot->state;
    r = req_of(slot->req);
    p = priv(r);
    if (p->op == OP_READ) {
        const uint8_t *data = c->ans_data;
        size_t n = c->ans_len;

        if (s->typed) {
            pl_pccc_typed_t t;

            if (pl_pccc_typed_decode(c->ans_data, c->ans_len, &t, st) < 0)
                return PL_CLIENT_FAIL;
            data = t.data;
            n = t.data_len;
        }
        if (n != s->bytes)
            return pl_status_set(st, PL_EPCCC_MISMATCH, 0,
                                 "reply carries %zu data bytes, expected %u", n, s->bytes),
                   PL_CLIENT_FAIL;
        if (n > 0)
            memcpy(p->buf + s->offset, data, n);
    } else if (p->op == OP_IDENT) {
        pl_pccc_diag_t d;

        if (pl_pccc_diag_decode(c->ans_data, c->ans_len, &d, st) < 0)
            return PL_CLIENT_FAIL;
        identify_text(&d, p->text, p->cap);
    }
    return PL_CLIENT_OK;
}

/* ops.complete: hands the result over (a refusal carries what the target said). */
static void op_complete(pl_client_t *cl, pl_client_req_t *creq, pl_status_t *st, void *ud)
{
    pl_pccc_client_t *c = ud;
    pl_pccc_req_t *r = req_of(creq);

    (void)cl;
    if (st->code != 0) {
        r->status = *st;
        if (c->refused_code != 0 && st->code == c->refused_code)
            r->remote = c->setup_remote;
    }
    r->cb_(r);
}

static const pl_client_ops_t pccc_ops = {
    .frame = op_frame,
    .encode = op_encode,
    .match = op_match,
    .handle = op_handle,
    .complete = op_complete,
    .connect = op_connect,
    .down = op_down,
    .timeout = op_timeout,
    .setup_timeout = op_setup_timeout,
};

/* --- lifecycle --------------------------------------------------------------------- */

int pl_pccc_client_new(uv_loop_t *loop, const pl_pccc_client_config_t *cfg, pl_pccc_client_t **out)
{
    pl_client_config_t cc;
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
    c->timeout_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->max_bytes =
        cfg->max_bytes != 0 ? cfg->max_bytes : (unsigned)pl_pccc_max_bytes(proc_of(c->plc));
    if (c->max_bytes > MAX_DATA_BYTES)
        c->max_bytes = MAX_DATA_BYTES;
    /* the session's Forward Open goes through the route to the Message Router */
    pl_enip_session_init(
        &c->ss, c->vendor, c->serial, c->route, c->route_len, c->timeout_ms,
        (uint32_t)(uv_hrtime() ^ (uint64_t)(uintptr_t)c ^ (uint64_t)(uintptr_t)c >> 32));
    /* the in-place layout of a request (op_encode) and its constant CIP request header:
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

    memset(&cc, 0, sizeof(cc));
    cc.name = "pccc";
    cc.partner = "target";
    cc.timeout_ms = c->timeout_ms;
    cc.max_queue = cfg->max_queue != 0 ? cfg->max_queue : DEFAULT_QUEUE;
    cc.max_inflight = c->inflight;
    cc.max_frame = PL_ENIP_HEADER_LEN + RX_MAX_DATA;
    cc.max_msg = BUF_CAP;
    cc.slot_size = sizeof(msg_t);
    cc.expired_max = EXPIRED_MAX;
    cc.send_fail_waits = 1; /* a broken pipe: the target may have closed on the others */
    cc.log = cfg->log;
    cc.requests = &c->stats.requests;
    cc.responses = &c->stats.responses;
    cc.timeouts = &c->stats.timeouts;
    cc.errors = &c->stats.errors;
    cc.last_rtt_us = &c->stats.last_rtt_us;
    rc = pl_client_new(loop, &cfg->line, &cc, &pccc_ops, c, &c->cl);
    if (rc < 0) {
        free(c);
        return rc;
    }
    c->line = pl_client_line(c->cl);
    uv_timer_init(loop, &c->closer);
    c->closer.data = c;
    *out = c;
    return 0;
}

int pl_pccc_client_start(pl_pccc_client_t *c)
{
    if (c->closing)
        return PL_ECLOSING;
    c->persistent = 1;
    return pl_client_start(c->cl);
}

pl_line_t *pl_pccc_client_line(pl_pccc_client_t *c)
{
    return c->line;
}

const pl_pccc_client_stats_t *pl_pccc_client_stats(const pl_pccc_client_t *c)
{
    return &c->stats;
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

void pl_pccc_client_free(pl_pccc_client_t *c)
{
    if (c == NULL || c->closing)
        return;
    session_close(c);
    c->closing = 1;
    pl_client_free(c->cl); /* every request is answered with PL_ECANCELED */
    c->cl = NULL;
    c->line = NULL;
    uv_close((uv_handle_t *)&c->closer, on_closed);
}
