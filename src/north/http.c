/* SPDX-License-Identifier: MIT */
/*
 * The daemon's HTTP server (see http.h): libh2o on the engine's libuv loop. libh2o parses
 * HTTP and writes responses; this file accepts and counts connections, routes requests,
 * turns the engine's status queries into JSON, Server-Sent Events and Prometheus text, and
 * watches for clients that stop reading. It names no protocol and never blocks.
 */
#include "north/http.h"

#include "north/http_query.h"
#include "north/jsonl.h"
#include "plcline/error.h"

#include <h2o.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <strings.h>
#include <sys/socket.h>

#define HEARTBEAT_MS 15000u /* a comment line on a quiet event stream keeps proxies open */
#define VIEW_MS      1000u  /* a sorted live view is re-selected this often */
#define COUNTERS_MS  5000u  /* device counters on an event stream (states: as they change) */
#define DEV_CHECK_MS 250u   /* device and line states are compared for a change this often */
/* Source times of unchanged values on an event stream: a message to every page this often.
 * A message costs the daemon roughly 0.1 ms all told on loopback (docs/bench.md, bench_http):
 * at once a second, ten pages cost a 300 000-tag engine 7-13 % more, at every 2 s 5 %. */
#define TS_MS       2000u
#define TS_MIN_MS   250u /* ... and at most this often, along with changed values */
#define SSE_DEVICES 500u /* devices carried by one event */
#define OUT_MAX     (64u * 1024u * 1024u) /* bytes of one answer (metrics of many devices) */

extern const struct pl_http_asset {
    const char *path, *type;
    const unsigned char *data;
    size_t len;
} pl_http_assets[];
extern const size_t pl_http_nassets;

typedef struct conn_s {
    uv_tcp_t tcp; /* first: libh2o closes it with on_conn_closed */
    pl_http_t *h;
    struct conn_s *prev, *next;
    size_t wq_last;       /* output waiting at the last check */
    uint64_t stuck_since; /* uv_now() since output waits without moving; 0: not stuck */
    int shut;
} conn_t;

typedef struct sse_s sse_t;

/* A growable output buffer, at most OUT_MAX bytes; `failed` once it could not grow. */
typedef struct {
    char *p;
    size_t len, cap;
    int failed;
} buf_t;

struct pl_http_s {
    uv_loop_t *loop;
    pl_engine_t *engine;
    const pl_mqtt_t *mqtt;
    const pl_logger_t *log;
    json_t *(*info)(void *ud);
    void *ud;
    int writes;
    char token[PL_HTTP_TOKEN_MAX];
    size_t token_len;
    unsigned max_conns, idle_ms;
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    int h2o_ready;
    int loopback;  /* listening on a loopback address: Host names are checked */
    unsigned egen; /* engine generation: changes with every pl_http_set_engine() (a new engine
                      may reuse a freed one's address) */
    uv_tcp_t listener;
    uv_timer_t tick;
    conn_t *conns;
    unsigned nconns;
    sse_t *sses;
    int closing, listener_closed, tick_closed;
    uint16_t port;
    char url[160];
    uint64_t refused; /* connections closed at once: over the limit */
    /* the event streams' device events, shared: "devices" (whole rows, for a state change)
     * and "counters" (what moves without one); each built takes the next number, and a
     * stream sends those with a number above the last it sent */
    buf_t dev_cache, cnt_cache;
    uint64_t dev_gen, cnt_gen, ev_n;
    uint64_t dev_check_at, cnt_at; /* the states compared; either event built */
    uint64_t dev_sig;              /* the states the "devices" event shows (devices_signature) */
    pl_engine_t *dev_cache_engine;
    unsigned counters_ms;
};

/* --- small helpers ------------------------------------------------------------------ */

static void buf_reserve(buf_t *b, size_t more)
{
    size_t cap;
    char *p;

    if (b->failed || b->len + more + 1 <= b->cap)
        return;
    cap = b->cap > 0 ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    if (cap > OUT_MAX || (p = realloc(b->p, cap)) == NULL) {
        b->failed = 1;
        return;
    }
    b->p = p;
    b->cap = cap;
}

static void buf_add(buf_t *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    if (b->failed)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* A string literal, without its terminating NUL. */
#define buf_lit(b, lit) buf_add((b), (lit), sizeof(lit) - 1)

/* An unsigned number in decimal (the event streams' source times: printf's cost showed
 * there). */
static void buf_u64(buf_t *b, uint64_t v)
{
    char d[20];
    size_t n = 0;

    do {
        d[sizeof(d) - ++n] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0);
    buf_add(b, d + sizeof(d) - n, n);
}

static void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    buf_reserve(b, 256);
    if (b->failed)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        buf_reserve(b, (size_t)n);
        if (b->failed)
            return;
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

/* A JSON value appended compactly; the reference is dropped. */
static void buf_json(buf_t *b, json_t *o)
{
    char *s;

    if (o == NULL) {
        b->failed = 1;
        return;
    }
    s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    if (s == NULL) {
        b->failed = 1;
        return;
    }
    buf_add(b, s, strlen(s));
    free(s);
}

static uint64_t wall_ms(void)
{
    uv_timeval64_t tv;

    if (uv_gettimeofday(&tv) != 0)
        return 0;
    return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

/* The value of query parameter `key` (decoded) into out; 1 found, 0 absent, -1 malformed. */
static int query_param(const h2o_req_t *req, const char *key, char *out, size_t cap)
{
    if (req->query_at == SIZE_MAX)
        return 0;
    return pl_http_query_get(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1,
                             key, out, cap);
}

static int query_uint(const h2o_req_t *req, const char *key, size_t def, size_t max, size_t *out)
{
    char v[24], *end;
    unsigned long long u;
    int rc = query_param(req, key, v, sizeof(v));

    *out = def;
    if (rc <= 0)
        return rc;
    if (v[0] < '0' || v[0] > '9')
        return -1;
    u = strtoull(v, &end, 10);
    if (*end != '\0')
        return -1;
    *out = u > max ? max : (size_t)u;
    return 1;
}

/* --- responses ---------------------------------------------------------------------- */

static void add_header(h2o_req_t *req, const h2o_token_t *tok, const char *v)
{
    h2o_add_header(&req->pool, &req->res.headers, tok, NULL, v, strlen(v));
}

static void add_header_str(h2o_req_t *req, const char *name, const char *v)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 0, NULL, v, strlen(v));
}

static void common_headers(h2o_req_t *req, const char *type)
{
    add_header(req, H2O_TOKEN_CONTENT_TYPE, type);
    add_header(req, H2O_TOKEN_CACHE_CONTROL, "no-store");
    add_header_str(req, "x-content-type-options", "nosniff");
    add_header_str(req, "x-frame-options", "DENY");
    add_header_str(req, "referrer-policy", "no-referrer");
    add_header_str(req, "content-security-policy",
                   "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                   "base-uri 'none'; form-action 'none'");
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 503:
        return "Service Unavailable";
    default:
        return status >= 500 ? "Internal Server Error" : "Error";
    }
}

static int send_body(h2o_req_t *req, int status, const char *type, const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = reason(status);
    common_headers(req, type);
    h2o_send_inline(req, body, len);
    return 0;
}

static int send_buf(h2o_req_t *req, int status, const char *type, buf_t *b)
{
    if (b->failed) {
        free(b->p);
        return send_body(req, 500, "text/plain; charset=utf-8", "out of memory\n", 14);
    }
    send_body(req, status, type, b->p != NULL ? b->p : "", b->len);
    free(b->p);
    return 0;
}

static int send_json(h2o_req_t *req, int status, json_t *o)
{
    buf_t b = {0};

    buf_json(&b, o);
    buf_lit(&b, "\n");
    return send_buf(req, status, "application/json", &b);
}

/* {"error":{"code":..,"name":..,"message":..,"detail":..}} */
static int send_error(h2o_req_t *req, int status, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int send_error(h2o_req_t *req, int status, int code, const char *fmt, ...)
{
    char detail[PL_STATUS_DETAIL_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return send_json(req, status,
                     json_pack("{s:o*}", "error", pl_jsonl_error_object(code, detail)));
}

/* --- JSON of the engine's state ------------------------------------------------------ */

/* A tag's row: its definition when `whole` (device, line, address, scan, writable) and its
 * state (value, quality, times, change number, error). The event stream's "tags" rows leave
 * the definition out: the "view" before them carried it, and a row changing every second on
 * ten pages made it a good part of what a page cost. */
static json_t *tag_json(pl_engine_t *e, size_t i, int whole)
{
    const pl_tag_state_t *st = pl_engine_tag_at(e, i);
    pl_engine_tag_info_t ti;
    char ts[40] = "";
    json_t *o;
    int bad;

    memset(&ti, 0, sizeof(ti));
    if (st == NULL || (whole && pl_engine_tag_info(e, i, &ti) != 0))
        return NULL;
    if (st->ts_ms != 0)
        pl_jsonl_iso8601(st->ts_ms, ts, sizeof(ts));
    o = whole ? json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "name", st->tag, "device", st->device,
                          "line", st->line, "address", ti.address, "scan", ti.scan, "writable",
                          ti.writable)
              : json_pack("{s:s}", "name", st->tag);
    /* the value as on every other output: value_base64 too when its bytes are not UTF-8 */
    if (o == NULL || pl_jsonl_put_value(o, &st->value) < 0) {
        json_decref(o);
        return NULL;
    }
    bad = json_object_set_new_nocheck(o, "quality",
                                      json_string_nocheck(pl_quality_name(st->quality)));
    bad |= json_object_set_new_nocheck(o, "ts",
                                       st->ts_ms != 0 ? json_string_nocheck(ts) : json_null());
    bad |= json_object_set_new_nocheck(o, "ts_ms", json_integer((json_int_t)st->ts_ms));
    bad |= json_object_set_new_nocheck(o, "seq", json_integer((json_int_t)pl_engine_tag_seq(e, i)));
    bad |= json_object_set_new_nocheck(
        o, "error", st->error != 0 ? pl_jsonl_error_object(st->error, st->detail) : json_null());
    /* event-driven devices: the device's timestamp and quality flags, when there are */
    if (bad != 0 || pl_jsonl_put_source(o, st) != 0 ||
        (st->source_ms != 0 &&
         json_object_set_new(o, "source_ts_ms", json_integer((json_int_t)st->source_ms)) != 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *status_json(const pl_status_t *st)
{
    return st->code != 0 ? pl_jsonl_error_object(st->code, st->detail) : json_null();
}

static json_t *device_json(pl_engine_t *e, size_t i)
{
    pl_engine_device_info_t di;
    pl_engine_stats_t st;
    char until[40] = "";
    json_t *o, *by;
    size_t k;

    if (pl_engine_device_info(e, i, &di, &st) != 0)
        return NULL;
    if (di.demoted)
        pl_jsonl_iso8601(di.demoted_until, until, sizeof(until));
    by = json_object();
    for (k = 0; k < sizeof(st.errors_by_code) / sizeof(st.errors_by_code[0]); k++)
        if (st.errors_by_code[k].code != 0 && by != NULL)
            json_object_set_new(by, pl_err_name(st.errors_by_code[k].code),
                                json_integer((json_int_t)st.errors_by_code[k].count));
    o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:b, s:I, s:I, s:b, s:s?, s:o*, s:I, s:I, "
                  "s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o*, s:I}",
                  "name", di.name, "line", di.line, "protocol", di.protocol, "state", di.state,
                  "connected", di.connected, "peer", di.peer, "active",
                  di.backup_active ? "backup" : "primary", "has_backup", di.has_backup, "host",
                  (json_int_t)di.host_index, "hosts", (json_int_t)di.host_count, "demoted",
                  di.demoted, "demoted_until", di.demoted ? until : NULL, "last_error",
                  status_json(&di.last_error), "tags", (json_int_t)di.ntags, "requests",
                  (json_int_t)st.requests, "responses", (json_int_t)st.responses, "timeouts",
                  (json_int_t)st.timeouts, "errors", (json_int_t)st.errors, "reconnects",
                  (json_int_t)st.reconnects, "switchovers", (json_int_t)st.switchovers, "overruns",
                  (json_int_t)st.overruns, "rtt_us", (json_int_t)st.last_rtt_us, "errors_by_code",
                  by, "writes", (json_int_t)st.writes);
    return o;
}

static json_t *devices_json(pl_engine_t *e, size_t max)
{
    json_t *a = json_array();
    size_t i, n = pl_engine_device_count(e);

    for (i = 0; i < n && i < max && a != NULL; i++)
        json_array_append_new(a, device_json(e, i));
    return a;
}

static json_t *lines_json(pl_engine_t *e)
{
    json_t *a = json_array();
    size_t i, n = pl_engine_line_count(e);
    pl_engine_line_info_t li;

    for (i = 0; i < n && a != NULL; i++)
        if (pl_engine_line_info(e, i, &li) == 0)
            json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:I}", "name", li.name, "protocol",
                                               li.protocol, "devices", (json_int_t)li.ndevices,
                                               "up", (json_int_t)li.nup));
    return a;
}

/* --- the tag view: filter, sort, page (shared by /api/tags and the event stream) ------ */

typedef struct {
    char filter[PL_NAME_MAX];
    pl_tag_sort_t sort;
    int desc;
    size_t offset, limit;
} view_t;

static int parse_view(const h2o_req_t *req, view_t *v)
{
    char s[16];
    int rc;

    memset(v, 0, sizeof(*v));
    v->sort = PL_TAG_SORT_NAME;
    if (query_param(req, "filter", v->filter, sizeof(v->filter)) < 0)
        return -1;
    rc = query_param(req, "sort", s, sizeof(s));
    if (rc < 0)
        return -1;
    if (rc > 0) {
        if (strcmp(s, "name") == 0)
            v->sort = PL_TAG_SORT_NAME;
        else if (strcmp(s, "device") == 0)
            v->sort = PL_TAG_SORT_DEVICE;
        else if (strcmp(s, "quality") == 0)
            v->sort = PL_TAG_SORT_QUALITY;
        else if (strcmp(s, "age") == 0)
            v->sort = PL_TAG_SORT_AGE;
        else
            return -1;
    }
    rc = query_param(req, "order", s, sizeof(s));
    if (rc < 0 || (rc > 0 && strcmp(s, "asc") != 0 && strcmp(s, "desc") != 0))
        return -1;
    v->desc = rc > 0 && strcmp(s, "desc") == 0;
    if (query_uint(req, "offset", 0, SIZE_MAX / 2, &v->offset) < 0 ||
        query_uint(req, "limit", 100, PL_HTTP_PAGE_MAX, &v->limit) < 0)
        return -1;
    return 0;
}

/* --- live updates: Server-Sent Events ------------------------------------------------ */

struct sse_s {
    h2o_generator_t gen; /* first */
    h2o_req_t *req;
    pl_http_t *h;
    sse_t *prev, *next;
    int ready;  /* libh2o took the last message: the next may go */
    int ending; /* the server closes: end the stream at the next chance */
    int dead;   /* the client went away */
    view_t view;
    size_t *rows;
    size_t nrows;
    size_t *devs; /* the devices of `rows`, each once */
    size_t ndevs;
    long total;
    pl_engine_t *engine; /* the engine `rows` index into */
    uint64_t seq_sent;   /* the engine's change number when the rows were last sent */
    uint64_t view_at, sent_at, ts_at;
    uint64_t dev_seen;  /* the number of the last device event sent (pl_http_t.ev_n) */
    uint64_t qseq_seen; /* the engine's quality changes when the rows were selected */
    unsigned egen;      /* the server's engine generation the rows index into */
    uint64_t *row_ts;   /* each row's source time as last sent */
    buf_t out;          /* the message libh2o is sending */
};

static void sse_unlink(sse_t *s)
{
    if (s->prev != NULL)
        s->prev->next = s->next;
    else if (s->h->sses == s)
        s->h->sses = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

static void sse_dispose(void *p)
{
    sse_t *s = p;

    sse_unlink(s);
    free(s->rows);
    free(s->devs);
    free(s->row_ts);
    free(s->out.p);
}

static void sse_proceed(h2o_generator_t *g, h2o_req_t *req)
{
    sse_t *s = (sse_t *)g;

    (void)req;
    s->ready = 1;
    s->out.len = 0;
}

static void sse_stop(h2o_generator_t *g, h2o_req_t *req)
{
    sse_t *s = (sse_t *)g;

    (void)req;
    s->dead = 1;
    s->ready = 0;
    sse_unlink(s);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? -1 : x > y;
}

static void sse_select(sse_t *s, pl_engine_t *e)
{
    long n;
    size_t i, k;

    s->engine = e;
    s->nrows = 0;
    s->ndevs = 0;
    s->total = 0;
    if (e == NULL)
        return;
    n = pl_engine_tag_query(e, s->view.filter, s->view.sort, s->view.desc, s->view.offset, s->rows,
                            s->view.limit);
    if (n < 0)
        return;
    s->total = n;
    s->nrows = (size_t)n > s->view.offset ? (size_t)n - s->view.offset : 0;
    if (s->nrows > s->view.limit)
        s->nrows = s->view.limit;
    for (i = 0; i < s->nrows; i++) {
        long d = pl_engine_tag_device(e, s->rows[i]);

        if (d >= 0 && (s->ndevs == 0 || s->devs[s->ndevs - 1] != (size_t)d))
            s->devs[s->ndevs++] = (size_t)d; /* runs of one device: most orders have them */
    }
    qsort(s->devs, s->ndevs, sizeof(*s->devs), cmp_size);
    for (i = k = 0; i < s->ndevs; i++)
        if (k == 0 || s->devs[k - 1] != s->devs[i])
            s->devs[k++] = s->devs[i];
    s->ndevs = k;
}

/* Whether a row may have changed since the last message: a device of the rows published
 * something since (asked of each device once, not of each row). */
static int rows_changed(const sse_t *s, pl_engine_t *e)
{
    size_t i;

    for (i = 0; i < s->ndevs; i++)
        if (pl_engine_device_seq(e, s->devs[i]) > s->seq_sent)
            return 1;
    return 0;
}

static void sse_event(buf_t *b, const char *name, json_t *data)
{
    buf_printf(b, "event: %s\ndata: ", name);
    buf_json(b, data);
    buf_lit(b, "\n\n");
}

/* Whether the page's set of tags may have changed: a new engine; for a quality order, a
 * quality changed; for an age order, every VIEW_MS (names and devices do not move). */
static int view_stale(const sse_t *s, pl_engine_t *e, uint64_t now)
{
    if (e != s->engine || s->egen != s->h->egen)
        return 1;
    switch (s->view.sort) {
    case PL_TAG_SORT_NAME:
    case PL_TAG_SORT_DEVICE:
        return 0;
    case PL_TAG_SORT_QUALITY:
        return now - s->view_at >= VIEW_MS && pl_engine_quality_seq(e) != s->qseq_seen;
    case PL_TAG_SORT_AGE:
        return now - s->view_at >= VIEW_MS;
    }
    return 1;
}

static uint64_t fnv(uint64_t hsh, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;

    for (i = 0; i < n; i++)
        hsh = (hsh ^ b[i]) * 1099511628211ull;
    return hsh;
}

/* What the page shows of the devices and lines apart from their counters and passing
 * states: connected or not, the partner in use, off scan, the last error's code; a change
 * of any is sent at once. ("connecting" and "backoff" of a device that cannot connect, and
 * the host it tries, change every attempt: they wait for the counters' refresh.) A line's
 * count of connected devices moves only with a device's connection, so every device's
 * `connected` is in, also beyond the SSE_DEVICES the event carries. */
static uint64_t devices_signature(pl_engine_t *e)
{
    uint64_t hsh = 1469598103934665603ull;
    size_t i, n = pl_engine_device_count(e);
    pl_engine_device_state_t ds;
    int v[5];

    for (i = 0; i < n; i++) {
        if (pl_engine_device_state(e, i, &ds) != 0)
            continue;
        v[0] = ds.connected;
        v[1] = i < SSE_DEVICES ? ds.backup_active : 0;
        v[2] = i < SSE_DEVICES ? ds.demoted : 0;
        v[3] = i < SSE_DEVICES ? ds.error : 0;
        v[4] = (int)i;
        hsh = fnv(hsh, v, sizeof(v));
    }
    return hsh;
}

/* What of a device moves without a state change, as the "counters" event's columns; its rows
 * are arrays in this order, one per device of the last "devices" event, in its order. */
static const char *const COUNTER_COLUMNS[] = {
    "state",      "peer",        "host",     "requests", "responses", "timeouts",  "errors",
    "reconnects", "switchovers", "overruns", "rtt_us",   "writes",    "last_error"};

static json_t *counters_json(pl_engine_t *e, size_t max)
{
    json_t *cols = json_array(), *rows = json_array(), *r;
    size_t i, n = pl_engine_device_count(e);
    pl_engine_device_info_t di;
    pl_engine_stats_t st;
    int bad = cols == NULL || rows == NULL;

    for (i = 0; i < sizeof(COUNTER_COLUMNS) / sizeof(COUNTER_COLUMNS[0]) && !bad; i++)
        bad = json_array_append_new(cols, json_string_nocheck(COUNTER_COLUMNS[i])) != 0;
    for (i = 0; i < n && i < max && !bad; i++) {
        if (pl_engine_device_info(e, i, &di, &st) != 0)
            break;
        r = json_pack("[s, s, I, I, I, I, I, I, I, I, I, I, o]", di.state, di.peer,
                      (json_int_t)di.host_index, (json_int_t)st.requests, (json_int_t)st.responses,
                      (json_int_t)st.timeouts, (json_int_t)st.errors, (json_int_t)st.reconnects,
                      (json_int_t)st.switchovers, (json_int_t)st.overruns,
                      (json_int_t)st.last_rtt_us, (json_int_t)st.writes,
                      status_json(&di.last_error));
        bad = json_array_append_new(rows, r) != 0;
    }
    if (bad) {
        json_decref(cols);
        json_decref(rows);
        return NULL;
    }
    return json_pack("{s:o, s:o}", "columns", cols, "rows", rows);
}

/* Brings the shared device events up to date. "devices" (every device's row and the lines)
 * when a stream's first is due, for a new engine, and when a device's or line's state
 * changed (compared every DEV_CHECK_MS); else "counters" every counters_ms. At 100 devices
 * the first is about 40 KB and a millisecond to build, the second a tenth of both. */
static void device_events(pl_http_t *h, pl_engine_t *e, uint64_t now)
{
    int full = h->dev_cache.len == 0 || h->dev_cache.failed || h->dev_cache_engine != e;
    uint64_t sig = h->dev_sig;

    if (!full && now - h->dev_check_at >= DEV_CHECK_MS) {
        h->dev_check_at = now;
        sig = devices_signature(e);
        full = sig != h->dev_sig;
    } else if (full) {
        sig = devices_signature(e);
    }
    if (full) {
        h->dev_cache.len = 0;
        h->dev_cache.failed = 0;
        sse_event(&h->dev_cache, "devices",
                  json_pack("{s:o*, s:o*}", "devices", devices_json(e, SSE_DEVICES), "lines",
                            lines_json(e)));
        h->dev_check_at = h->cnt_at = now;
        h->dev_cache_engine = e;
        h->dev_sig = sig;
        h->dev_gen = ++h->ev_n;
    } else if (now - h->cnt_at >= h->counters_ms) {
        h->cnt_cache.len = 0;
        h->cnt_cache.failed = 0;
        sse_event(&h->cnt_cache, "counters", counters_json(e, SSE_DEVICES));
        h->cnt_at = now;
        h->cnt_gen = ++h->ev_n;
    }
}

/* Builds the next message of `s` into s->out (empty: nothing to say yet). */
static void sse_build(sse_t *s, uint64_t now)
{
    pl_http_t *h = s->h;
    pl_engine_t *e = h->engine;
    size_t i;

    s->out.len = 0;
    s->out.failed = 0;
    if (view_stale(s, e, now)) {
        size_t old_n = s->nrows, *old = NULL;
        unsigned old_gen = s->egen;
        int same = 0;

        if (old_n > 0 && (old = malloc(old_n * sizeof(*old))) != NULL)
            memcpy(old, s->rows, old_n * sizeof(*old));
        sse_select(s, e);
        s->egen = h->egen;
        s->view_at = now;
        s->qseq_seen = e != NULL ? pl_engine_quality_seq(e) : 0;
        /* the same rows of the same engine: nothing to say (a new engine's rows are new) */
        same = old_gen == h->egen && old != NULL && old_n == s->nrows &&
               memcmp(old, s->rows, old_n * sizeof(*old)) == 0 && s->sent_at != 0;
        free(old);
        if (!same && e != NULL) {
            json_t *rows = json_array();

            for (i = 0; i < s->nrows && rows != NULL; i++) {
                json_array_append_new(rows, tag_json(e, s->rows[i], 1));
                s->row_ts[i] = pl_engine_tag_ts(e, s->rows[i]);
            }
            sse_event(&s->out, "view",
                      json_pack("{s:I, s:I, s:o*}", "total", (json_int_t)s->total, "offset",
                                (json_int_t)s->view.offset, "rows", rows));
            s->seq_sent = pl_engine_seq(e);
            s->ts_at = now;
        }
    }
    if (e != NULL && s->egen == h->egen && pl_engine_seq(e) != s->seq_sent && rows_changed(s, e)) {
        json_t *rows = NULL;

        for (i = 0; i < s->nrows; i++) {
            if (pl_engine_tag_seq(e, s->rows[i]) <= s->seq_sent)
                continue;
            if (rows == NULL)
                rows = json_array();
            if (rows != NULL)
                json_array_append_new(rows, tag_json(e, s->rows[i], 0));
            s->row_ts[i] = pl_engine_tag_ts(e, s->rows[i]);
        }
        if (rows != NULL)
            sse_event(&s->out, "tags", json_pack("{s:o}", "rows", rows));
        s->seq_sent = pl_engine_seq(e);
    }
    /* values read again without a change: only their source time moves, as [row position,
     * ts_ms] pairs (the page's ages stay true within TS_MS): every TS_MS, or with changed
     * values (the rows of a device are read together: one message where there would be two) */
    if (e != NULL && s->egen == h->egen &&
        (now - s->ts_at >= TS_MS || (s->out.len > 0 && now - s->ts_at >= TS_MIN_MS))) {
        size_t n = 0;

        s->ts_at = now;
        for (i = 0; i < s->nrows; i++) {
            uint64_t ts = pl_engine_tag_ts(e, s->rows[i]);

            if (ts == s->row_ts[i])
                continue;
            s->row_ts[i] = ts;
            if (n++ == 0)
                buf_lit(&s->out, "event: ts\ndata: {\"rows\":[[");
            else
                buf_lit(&s->out, ",[");
            buf_u64(&s->out, i);
            buf_lit(&s->out, ",");
            buf_u64(&s->out, ts);
            buf_lit(&s->out, "]");
        }
        if (n > 0)
            buf_lit(&s->out, "]}\n\n");
    }
    if (e != NULL) {
        device_events(h, e, now);
        /* a state change at once; new counters with the next message, or alone TS_MS late
         * (the rows of a "devices" event sent now may be older than the counters) */
        if (!h->dev_cache.failed && s->dev_seen < h->dev_gen) {
            s->dev_seen = h->dev_gen;
            buf_add(&s->out, h->dev_cache.p, h->dev_cache.len);
        }
        if (!h->cnt_cache.failed && s->dev_seen < h->cnt_gen &&
            (s->out.len > 0 || now - h->cnt_at >= TS_MS)) {
            s->dev_seen = h->cnt_gen;
            buf_add(&s->out, h->cnt_cache.p, h->cnt_cache.len);
        }
    }
    if (s->out.len == 0 && now - s->sent_at >= HEARTBEAT_MS)
        buf_lit(&s->out, ": ping\n\n");
}

static void sse_push(sse_t *s, uint64_t now)
{
    h2o_iovec_t v;

    if (!s->ready || s->dead)
        return;
    if (s->ending) {
        s->ready = 0;
        h2o_send(s->req, NULL, 0, H2O_SEND_STATE_FINAL);
        return;
    }
    sse_build(s, now);
    if (s->out.failed || s->out.len == 0)
        return;
    s->ready = 0;
    s->sent_at = now;
    v = h2o_iovec_init(s->out.p, s->out.len);
    h2o_send(s->req, &v, 1, H2O_SEND_STATE_IN_PROGRESS);
}

static int serve_events(pl_http_t *h, h2o_req_t *req)
{
    sse_t *s;
    view_t v;

    if (parse_view(req, &v) < 0)
        return send_error(req, 400, PL_EINVAL,
                          "bad query: filter, sort (name, device, quality, "
                          "age), order (asc, desc), offset, limit");
    s = h2o_mem_alloc_shared(&req->pool, sizeof(*s), sse_dispose);
    memset(s, 0, sizeof(*s));
    s->h = h; /* before anything can fail: the dispose callback reads it */
    s->rows = malloc((v.limit > 0 ? v.limit : 1) * sizeof(*s->rows));
    s->devs = malloc((v.limit > 0 ? v.limit : 1) * sizeof(*s->devs));
    s->row_ts = calloc(v.limit > 0 ? v.limit : 1, sizeof(*s->row_ts));
    if (s->rows == NULL || s->devs == NULL || s->row_ts == NULL)
        return send_error(req, 503, PL_ENOMEM, "out of memory");
    s->gen.proceed = sse_proceed;
    s->gen.stop = sse_stop;
    s->req = req;
    s->h = h;
    s->view = v;
    s->ready = 1;
    s->next = h->sses;
    if (h->sses != NULL)
        h->sses->prev = s;
    h->sses = s;
    req->res.status = 200;
    req->res.reason = "OK";
    common_headers(req, "text/event-stream");
    h2o_start_response(req, &s->gen);
    sse_push(s, uv_now(h->loop)); /* the first view at once */
    return 0;
}

/* --- writes ------------------------------------------------------------------------- */

typedef struct hwrite_s hwrite_t;

typedef struct {
    hwrite_t *w; /* NULL once answered */
} wstub_t;

struct hwrite_s {
    h2o_req_t *req; /* NULL when the client went away */
    wstub_t *stub;
    char tag[PL_NAME_MAX];
    char id[PL_JSONL_ID_MAX + 1]; /* echoed whole, as for stdin and MQTT writes */
};

static void wstub_dispose(void *p)
{
    wstub_t *stub = p;

    if (stub->w != NULL)
        stub->w->req = NULL;
}

static int send_result(h2o_req_t *req, int status, const char *tag, const char *id,
                       const pl_status_t *st)
{
    char line[4096]; /* a tag, an id of PL_JSONL_ID_MAX bytes escaped, an error */
    int n = pl_jsonl_result(tag, id, st, line, sizeof(line));

    if (n < 0)
        return send_body(req, 500, "text/plain; charset=utf-8", "result too long\n", 16);
    return send_body(req, status, "application/json", line, (size_t)n);
}

static int http_status_of(int code)
{
    switch (code) {
    case 0:
        return 200;
    case PL_ENOTAG:
        return 404;
    case PL_EREADONLY:
    case PL_ENOTSUP:
        return 403;
    case PL_EVALUE:
    case PL_ECONFIG:
    case PL_EINVAL:
    case PL_ERANGE:
        return 400;
    default:
        return 503; /* the device did not take it: timeout, off scan, connection lost */
    }
}

static void on_written(pl_engine_t *e, const pl_status_t *st, void *ud)
{
    hwrite_t *w = ud;

    (void)e;
    if (w->req != NULL) {
        w->stub->w = NULL;
        send_result(w->req, http_status_of(st->code), w->tag, w->id, st);
    }
    free(w);
}

static int token_ok(const pl_http_t *h, const h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    const h2o_iovec_t *v;
    unsigned char diff = 0;
    size_t k;

    if (i < 0 || h->token_len == 0)
        return 0;
    v = &req->headers.entries[i].value;
    if (v->len != 7 + h->token_len || strncasecmp(v->base, "Bearer ", 7) != 0)
        return 0;
    for (k = 0; k < h->token_len; k++) /* the same time whichever byte differs */
        diff |= (unsigned char)(v->base[7 + k] ^ h->token[k]);
    return diff == 0;
}

static int serve_write(pl_http_t *h, h2o_req_t *req, const char *tag)
{
    pl_jsonl_cmd_t cmd;
    pl_status_t st;
    json_t *body, *cmdj;
    json_error_t jerr;
    hwrite_t *w;
    char *line;
    ssize_t ct;
    int rc;

    pl_status_clear(&st);
    if (!h->writes) {
        pl_status_set(&st, PL_ENOTSUP, 0, "writes over HTTP are off (http.writes)");
        return send_result(req, 403, tag, "", &st);
    }
    if (!token_ok(h, req)) {
        pl_status_set(&st, PL_EINVAL, 0, "a write needs 'Authorization: Bearer TOKEN'");
        add_header_str(req, "www-authenticate", "Bearer");
        return send_result(req, 401, tag, "", &st);
    }
    ct = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (ct < 0 || req->headers.entries[ct].value.len < 16 ||
        strncasecmp(req->headers.entries[ct].value.base, "application/json", 16) != 0) {
        pl_status_set(&st, PL_EVALUE, 0, "the body must be application/json");
        return send_result(req, 415, tag, "", &st);
    }
    if (h->engine == NULL) {
        pl_status_set(&st, PL_ESTOPPED, 0, "no configuration is running");
        return send_result(req, 503, tag, "", &st);
    }
    /* {"value":V,"id":X} becomes the stdin command {"write":TAG,"value":V,"id":X}, so that
     * values are read by the same rules everywhere */
    body = json_loadb(req->entity.base != NULL ? req->entity.base : "", req->entity.len,
                      JSON_REJECT_DUPLICATES, &jerr);
    if (body == NULL || !json_is_object(body)) {
        json_decref(body);
        pl_status_set(&st, PL_EVALUE, 0, "expected a JSON object {\"value\":V,\"id\":X}");
        return send_result(req, 400, tag, "", &st);
    }
    {
        const char *key;
        json_t *v;

        json_object_foreach(body, key, v)
        {
            if (strcmp(key, "value") != 0 && strcmp(key, "id") != 0) {
                pl_status_set(&st, PL_EVALUE, 0, "unknown key '%.40s', expected value, id", key);
                json_decref(body);
                return send_result(req, 400, tag, "", &st);
            }
        }
    }
    cmdj = json_deep_copy(body);
    json_decref(body);
    if (cmdj == NULL || json_object_set_new(cmdj, "write", json_string(tag)) != 0 ||
        (line = json_dumps(cmdj, JSON_COMPACT)) == NULL) {
        json_decref(cmdj);
        pl_status_set(&st, PL_ENOMEM, 0, NULL);
        return send_result(req, 503, tag, "", &st);
    }
    json_decref(cmdj);
    rc = pl_jsonl_parse_command(line, strlen(line), &cmd, &st);
    free(line);
    if (rc < 0)
        return send_result(req, 400, tag, cmd.id, &st);
    w = calloc(1, sizeof(*w));
    if (w == NULL) {
        pl_status_set(&st, PL_ENOMEM, 0, NULL);
        return send_result(req, 503, tag, cmd.id, &st);
    }
    w->stub = h2o_mem_alloc_shared(&req->pool, sizeof(*w->stub), wstub_dispose);
    w->stub->w = w;
    w->req = req;
    memcpy(w->tag, cmd.tag, sizeof(w->tag));
    memcpy(w->id, cmd.id, sizeof(w->id));
    if (pl_engine_write(h->engine, cmd.tag, &cmd.value, on_written, w, &st) < 0) {
        w->stub->w = NULL;
        free(w);
        return send_result(req, http_status_of(st.code), cmd.tag, cmd.id, &st);
    }
    return 0; /* answered from on_written */
}

/* --- routes ------------------------------------------------------------------------- */

static int serve_tags(pl_http_t *h, h2o_req_t *req)
{
    view_t v;
    size_t *rows, i, n;
    long total;
    json_t *a;

    if (parse_view(req, &v) < 0)
        return send_error(req, 400, PL_EINVAL,
                          "bad query: filter, sort (name, device, quality, "
                          "age), order (asc, desc), offset, limit");
    rows = malloc((v.limit > 0 ? v.limit : 1) * sizeof(*rows));
    if (rows == NULL)
        return send_error(req, 503, PL_ENOMEM, "out of memory");
    total = pl_engine_tag_query(h->engine, v.filter, v.sort, v.desc, v.offset, rows, v.limit);
    if (total < 0) {
        free(rows);
        return send_error(req, 503, PL_ENOMEM, "out of memory");
    }
    n = (size_t)total > v.offset ? (size_t)total - v.offset : 0;
    if (n > v.limit)
        n = v.limit;
    a = json_array();
    for (i = 0; i < n && a != NULL; i++)
        json_array_append_new(a, tag_json(h->engine, rows[i], 1));
    free(rows);
    return send_json(req, 200,
                     json_pack("{s:I, s:I, s:I, s:o*}", "total", (json_int_t)total, "offset",
                               (json_int_t)v.offset, "limit", (json_int_t)v.limit, "rows", a));
}

static int serve_health(pl_http_t *h, h2o_req_t *req)
{
    size_t i, n, down = 0;
    pl_engine_device_info_t di;

    if (h->engine == NULL)
        return send_json(req, 503, json_pack("{s:s}", "status", "stopped"));
    n = pl_engine_device_count(h->engine);
    for (i = 0; i < n; i++)
        if (pl_engine_device_info(h->engine, i, &di, NULL) == 0 && !di.connected)
            down++;
    return send_json(req, 200,
                     json_pack("{s:s, s:I, s:I, s:I}", "status", "running", "devices",
                               (json_int_t)n, "devices_down", (json_int_t)down, "tags",
                               (json_int_t)pl_engine_tag_count(h->engine)));
}

static int serve_info(pl_http_t *h, h2o_req_t *req)
{
    json_t *o = h->info != NULL ? h->info(h->ud) : NULL;

    if (o == NULL)
        o = json_object();
    json_object_set_new(o, "writes", json_boolean(h->writes));
    return send_json(req, 200, o);
}

static int serve_asset(h2o_req_t *req, const char *path)
{
    size_t i;

    if (strcmp(path, "/") == 0)
        path = "/index.html";
    for (i = 0; i < pl_http_nassets; i++)
        if (strcmp(pl_http_assets[i].path, path) == 0)
            return send_body(req, 200, pl_http_assets[i].type, (const char *)pl_http_assets[i].data,
                             pl_http_assets[i].len);
    return send_error(req, 404, PL_EINVAL, "no such page: %.100s", path);
}

static void metrics(pl_http_t *h, buf_t *b);

/* On a loopback listener, only loopback names may be asked for: a web page elsewhere that
 * points its own name at 127.0.0.1 (DNS rebinding) gets nothing. No Host at all (a tool,
 * not a browser) is allowed. */
static int host_allowed(const pl_http_t *h, const h2o_req_t *req)
{
    const h2o_iovec_t *a = &req->input.authority;
    char host[64];
    size_t n;
    struct in_addr v4;

    if (!h->loopback || a->len == 0)
        return 1;
    if (a->base[0] == '[') {
        const char *rb = memchr(a->base, ']', a->len);

        n = rb != NULL ? (size_t)(rb - a->base) + 1 : a->len;
    } else {
        const char *colon = memchr(a->base, ':', a->len);

        n = colon != NULL ? (size_t)(colon - a->base) : a->len;
    }
    if (n == 0 || n >= sizeof(host))
        return 0;
    memcpy(host, a->base, n);
    host[n] = '\0';
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
        return 1;
    return inet_pton(AF_INET, host, &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    pl_http_t *h = *(pl_http_t **)(self + 1);
    size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    int get = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
              h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
    int post = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"));
    char path[256];

    if (pl_http_url_decode(req->path.base, plen, path, sizeof(path), 0) < 0)
        return send_error(req, 400, PL_EINVAL, "malformed or over-long path");
    if (h->closing)
        return send_error(req, 503, PL_ECLOSING, "the server is closing");
    if (!host_allowed(h, req))
        return send_error(req, 403, PL_EINVAL,
                          "Host '%.*s' is not a loopback name: this server listens on loopback",
                          (int)(req->input.authority.len > 60 ? 60 : req->input.authority.len),
                          req->input.authority.base);
    if (strncmp(path, "/api/tags/", 10) == 0 && path[10] != '\0') {
        if (post)
            return serve_write(h, req, path + 10);
        if (!get) {
            add_header(req, H2O_TOKEN_ALLOW, "GET, HEAD, POST");
            return send_error(req, 405, PL_EINVAL, "GET or POST");
        }
        if (h->engine == NULL)
            return send_error(req, 503, PL_ESTOPPED, "no configuration is running");
        {
            long i = pl_engine_tag_index(h->engine, path + 10);

            if (i < 0)
                return send_error(req, 404, PL_ENOTAG, "no tag '%.64s'", path + 10);
            return send_json(req, 200, tag_json(h->engine, (size_t)i, 1));
        }
    }
    if (!get) {
        add_header(req, H2O_TOKEN_ALLOW, "GET, HEAD");
        return send_error(req, 405, PL_EINVAL, "only GET here");
    }
    if (strcmp(path, "/healthz") == 0)
        return serve_health(h, req);
    if (strcmp(path, "/api/info") == 0)
        return serve_info(h, req);
    if (strncmp(path, "/api/", 5) == 0 || strcmp(path, "/metrics") == 0) {
        if (h->engine == NULL)
            return send_error(req, 503, PL_ESTOPPED, "no configuration is running");
        if (strcmp(path, "/metrics") == 0) {
            buf_t b = {0};

            metrics(h, &b);
            return send_buf(req, 200, "text/plain; version=0.0.4; charset=utf-8", &b);
        }
        if (strcmp(path, "/api/tags") == 0)
            return serve_tags(h, req);
        if (strcmp(path, "/api/devices") == 0)
            return send_json(req, 200, devices_json(h->engine, SIZE_MAX));
        if (strcmp(path, "/api/lines") == 0)
            return send_json(req, 200, lines_json(h->engine));
        if (strcmp(path, "/api/events") == 0)
            return serve_events(h, req);
        return send_error(req, 404, PL_EINVAL, "no such endpoint: %.100s", path);
    }
    return serve_asset(req, path);
}

/* --- metrics: the Prometheus text format ------------------------------------------- */

static uint64_t g_start_ms; /* when the server started: the process's start, closely */

/* A label value with \, " and newline escaped (text format 0.0.4). */
static void label(buf_t *b, const char *v)
{
    for (; *v != '\0'; v++) {
        if (*v == '\\' || *v == '"')
            buf_printf(b, "\\%c", *v);
        else if (*v == '\n')
            buf_lit(b, "\\n");
        else
            buf_add(b, v, 1);
    }
}

static void family(buf_t *b, const char *name, const char *type, const char *help)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void dev_labels(buf_t *b, const pl_engine_device_info_t *di)
{
    buf_lit(b, "{device=\"");
    label(b, di->name);
    buf_lit(b, "\",line=\"");
    label(b, di->line);
    buf_lit(b, "\"");
}

typedef enum {
    DM_UP,
    DM_REQ,
    DM_RESP,
    DM_TMO,
    DM_ERR,
    DM_RECON,
    DM_SWITCH,
    DM_BACKUP,
    DM_HOST,
    DM_DEMOTED,
    DM_OVERRUN,
    DM_CYCLES,
    DM_WRITES,
    DM_WFAIL,
    DM_RX,
    DM_TX,
    DM_COUNT
} dev_metric_t;

static const struct {
    const char *name, *type, *help;
} g_dev_metrics[DM_COUNT] = {
    {"plcline_device_up", "gauge", "1 when the device's connection carries requests."},
    {"plcline_device_requests_total", "counter", "Requests sent to the device."},
    {"plcline_device_responses_total", "counter", "Responses received from the device."},
    {"plcline_device_timeouts_total", "counter", "Requests that timed out."},
    {"plcline_device_errors_total", "counter", "Failed requests and connections, by error name."},
    {"plcline_device_reconnects_total", "counter", "Connections made again after a loss."},
    {"plcline_device_switchovers_total", "counter", "Moves between primary and backup partner."},
    {"plcline_device_backup_active", "gauge", "1 when the backup partner carries the traffic."},
    {"plcline_device_active_host", "gauge", "Index of the host in use in the combined list."},
    {"plcline_device_demoted", "gauge", "1 while the device is off scan after failures."},
    {"plcline_device_scan_overruns_total", "counter",
     "Scan cycles skipped because the previous one was still running."},
    {"plcline_device_scan_cycles_total", "counter", "Scan cycles started."},
    {"plcline_device_writes_total", "counter", "Writes sent."},
    {"plcline_device_writes_failed_total", "counter", "Writes answered with an error."},
    {"plcline_device_receive_bytes_total", "counter", "Bytes received from the device."},
    {"plcline_device_transmit_bytes_total", "counter", "Bytes sent to the device."},
};

static void metrics(pl_http_t *h, buf_t *b)
{
    pl_engine_t *e = h->engine;
    size_t nd = pl_engine_device_count(e), i, k, m;
    pl_engine_device_info_t *dis;
    pl_engine_stats_t *sts;
    pl_engine_line_info_t li;
    uint64_t q[3];
    uv_rusage_t ru;
    size_t rss = 0;

    /* every device's figures once; the families then print from them (a family's samples
     * must stay together, so devices are walked once per family) */
    dis = malloc((nd > 0 ? nd : 1) * sizeof(*dis));
    sts = malloc((nd > 0 ? nd : 1) * sizeof(*sts));
    if (dis == NULL || sts == NULL) {
        free(dis);
        free(sts);
        b->failed = 1;
        return;
    }
    for (i = 0; i < nd; i++)
        if (pl_engine_device_info(e, i, &dis[i], &sts[i]) != 0)
            dis[i].name = NULL;
    for (m = 0; m < DM_COUNT; m++) {
        family(b, g_dev_metrics[m].name, g_dev_metrics[m].type, g_dev_metrics[m].help);
        for (i = 0; i < nd; i++) {
            const pl_engine_device_info_t *di = &dis[i];
            const pl_engine_stats_t *st = &sts[i];
            uint64_t v = 0;

            if (di->name == NULL)
                continue;
            switch ((dev_metric_t)m) {
            case DM_ERR:
                for (k = 0; k < sizeof(st->errors_by_code) / sizeof(st->errors_by_code[0]); k++) {
                    if (st->errors_by_code[k].code == 0)
                        break;
                    buf_add(b, g_dev_metrics[m].name, strlen(g_dev_metrics[m].name));
                    dev_labels(b, di);
                    buf_printf(b, ",error=\"%s\"} %llu\n", pl_err_name(st->errors_by_code[k].code),
                               (unsigned long long)st->errors_by_code[k].count);
                }
                continue;
            case DM_UP:
                v = (uint64_t)di->connected;
                break;
            case DM_REQ:
                v = st->requests;
                break;
            case DM_RESP:
                v = st->responses;
                break;
            case DM_TMO:
                v = st->timeouts;
                break;
            case DM_RECON:
                v = st->reconnects;
                break;
            case DM_SWITCH:
                v = st->switchovers;
                break;
            case DM_BACKUP:
                v = (uint64_t)di->backup_active;
                break;
            case DM_HOST:
                v = di->host_index;
                break;
            case DM_DEMOTED:
                v = (uint64_t)di->demoted;
                break;
            case DM_OVERRUN:
                v = st->overruns;
                break;
            case DM_CYCLES:
                v = st->cycles;
                break;
            case DM_WRITES:
                v = st->writes;
                break;
            case DM_WFAIL:
                v = st->writes_failed;
                break;
            case DM_RX:
                v = st->bytes_in;
                break;
            case DM_TX:
                v = st->bytes_out;
                break;
            case DM_COUNT:
                break;
            }
            buf_add(b, g_dev_metrics[m].name, strlen(g_dev_metrics[m].name));
            dev_labels(b, di);
            if (m == DM_UP) {
                buf_lit(b, ",protocol=\"");
                label(b, di->protocol);
                buf_lit(b, "\"");
            }
            buf_printf(b, "} %llu\n", (unsigned long long)v);
        }
    }
    family(b, "plcline_device_request_duration_seconds", "histogram",
           "Time from sending a request to its answer (or its failure).");
    for (i = 0; i < nd; i++) {
        const pl_engine_device_info_t *di = &dis[i];
        uint64_t cum = 0;

        if (di->name == NULL)
            continue;
        for (k = 0; k <= PL_ENGINE_RTT_BUCKETS; k++) {
            cum += di->rtt_hist[k];
            buf_lit(b, "plcline_device_request_duration_seconds_bucket");
            dev_labels(b, di);
            if (k < PL_ENGINE_RTT_BUCKETS)
                buf_printf(b, ",le=\"%g\"} %llu\n", (double)pl_engine_rtt_bound_us(k) / 1e6,
                           (unsigned long long)cum);
            else
                buf_printf(b, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
        }
        buf_lit(b, "plcline_device_request_duration_seconds_sum");
        dev_labels(b, di);
        buf_printf(b, "} %.6f\n", (double)di->rtt_sum_us / 1e6);
        buf_lit(b, "plcline_device_request_duration_seconds_count");
        dev_labels(b, di);
        buf_printf(b, "} %llu\n", (unsigned long long)di->rtt_count);
    }
    free(dis);
    free(sts);
    family(b, "plcline_line_devices", "gauge", "Devices on the line.");
    for (i = 0; i < pl_engine_line_count(e); i++)
        if (pl_engine_line_info(e, i, &li) == 0) {
            buf_lit(b, "plcline_line_devices{line=\"");
            label(b, li.name);
            buf_printf(b, "\",protocol=\"%s\"} %zu\n", li.protocol, li.ndevices);
        }
    family(b, "plcline_line_devices_up", "gauge", "Devices on the line that are connected.");
    for (i = 0; i < pl_engine_line_count(e); i++)
        if (pl_engine_line_info(e, i, &li) == 0) {
            buf_lit(b, "plcline_line_devices_up{line=\"");
            label(b, li.name);
            buf_printf(b, "\"} %zu\n", li.nup);
        }
    pl_engine_tag_qualities(e, q);
    family(b, "plcline_tags", "gauge", "Tags by quality.");
    buf_printf(b, "plcline_tags{quality=\"good\"} %llu\n", (unsigned long long)q[PL_Q_GOOD]);
    buf_printf(b, "plcline_tags{quality=\"bad\"} %llu\n", (unsigned long long)q[PL_Q_BAD]);
    buf_printf(b, "plcline_tags{quality=\"uncertain\"} %llu\n",
               (unsigned long long)q[PL_Q_UNCERTAIN]);
    if (h->mqtt != NULL) {
        const pl_mqtt_stats_t *ms = pl_mqtt_stats(h->mqtt);
        static const char *const names[][2] = {
            {"plcline_mqtt_published_total", "Tag values handed to the broker connection."},
            {"plcline_mqtt_coalesced_total", "Values replaced by a newer one while waiting."},
            {"plcline_mqtt_dropped_total", "Values lost: pending table full or not formatted."},
            {"plcline_mqtt_writes_ok_total", "Write requests answered ok."},
            {"plcline_mqtt_writes_failed_total", "Write requests answered with an error."},
            {"plcline_mqtt_connects_total", "Successful connections to the broker."},
            {"plcline_mqtt_reconnects_total", "Connections to the broker after the first."},
            {"plcline_mqtt_connect_failures_total", "Attempts that did not reach CONNACK."}};
        const uint64_t vals[] = {ms->published,  ms->coalesced,       ms->dropped,
                                 ms->writes_ok,  ms->writes_failed,   ms->connects,
                                 ms->reconnects, ms->connect_failures};

        for (k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
            family(b, names[k][0], "counter", names[k][1]);
            buf_printf(b, "%s %llu\n", names[k][0], (unsigned long long)vals[k]);
        }
        family(b, "plcline_mqtt_pending", "gauge", "Messages waiting for the broker now.");
        buf_printf(b, "plcline_mqtt_pending %llu\n", (unsigned long long)ms->pending);
    }
    family(b, "plcline_http_connections", "gauge", "Open HTTP connections.");
    buf_printf(b, "plcline_http_connections %u\n", h->nconns);
    family(b, "plcline_http_connections_refused_total", "counter",
           "HTTP connections closed at once because the limit was reached.");
    buf_printf(b, "plcline_http_connections_refused_total %llu\n", (unsigned long long)h->refused);
    if (uv_getrusage(&ru) == 0) {
        family(b, "process_cpu_seconds_total", "counter", "User and system CPU time spent.");
        buf_printf(b, "process_cpu_seconds_total %.6f\n",
                   (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    }
    if (uv_resident_set_memory(&rss) == 0) {
        family(b, "process_resident_memory_bytes", "gauge", "Resident memory size.");
        buf_printf(b, "process_resident_memory_bytes %zu\n", rss);
    }
    family(b, "process_start_time_seconds", "gauge", "Start time since the epoch.");
    buf_printf(b, "process_start_time_seconds %.3f\n", (double)g_start_ms / 1000.0);
}

/* --- connections -------------------------------------------------------------------- */

static void maybe_finish(pl_http_t *h);

static void on_conn_closed(uv_handle_t *hd)
{
    conn_t *c = (conn_t *)hd;
    pl_http_t *h = c->h;

    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    h->nconns--;
    free(c);
    if (h->closing)
        maybe_finish(h);
}

static void on_refused_closed(uv_handle_t *hd)
{
    free(hd);
}

/* Shuts the socket: libh2o sees the error or end of input and closes the connection the
 * usual way (its own state stays consistent). */
static void conn_shut(conn_t *c)
{
    uv_os_fd_t fd;

    if (c->shut)
        return;
    c->shut = 1;
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
        shutdown(fd, SHUT_RDWR);
}

static void on_connection(uv_stream_t *server, int status)
{
    pl_http_t *h = server->data;
    h2o_socket_t *sock;
    conn_t *c;

    if (status != 0 || h->closing)
        return;
    if (h->nconns >= h->max_conns) {
        uv_tcp_t *t = malloc(sizeof(*t));

        if (t == NULL || uv_tcp_init(h->loop, t) != 0) {
            free(t);
            return;
        }
        uv_accept(server, (uv_stream_t *)t);
        uv_close((uv_handle_t *)t, on_refused_closed);
        h->refused++;
        return;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    if (uv_tcp_init(h->loop, &c->tcp) != 0) {
        free(c);
        return;
    }
    c->h = h;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_refused_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    {
        int sndbuf = (int)PL_HTTP_SNDBUF; /* kernel memory a client that does not read holds */

        uv_send_buffer_size((uv_handle_t *)&c->tcp, &sndbuf);
    }
    c->next = h->conns;
    if (h->conns != NULL)
        h->conns->prev = c;
    h->conns = c;
    h->nconns++;
    sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, on_conn_closed);
    h2o_accept(&h->accept_ctx, sock);
}

/* Every PL_HTTP_PUSH_MS: live updates, and connections whose output does not move. */
static void on_tick(uv_timer_t *t)
{
    pl_http_t *h = t->data;
    uint64_t now = uv_now(h->loop);
    sse_t *s, *next;
    conn_t *c;

    for (s = h->sses; s != NULL; s = next) {
        next = s->next;
        sse_push(s, now);
    }
    for (c = h->conns; c != NULL; c = c->next) {
        size_t wq = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);

        if (wq == 0 || wq < c->wq_last) {
            c->stuck_since = 0;
        } else if (c->stuck_since == 0) {
            c->stuck_since = now;
        } else if (now - c->stuck_since >= h->idle_ms) {
            conn_shut(c);
        }
        c->wq_last = wq;
    }
}

/* --- lifecycle ---------------------------------------------------------------------- */

static int parse_listen(const char *s, struct sockaddr_storage *ss, pl_status_t *err)
{
    char host[64];
    const char *colon, *hs = s;
    size_t hl;
    char *end;
    unsigned long port;

    if (s[0] == '[') {
        const char *rb = strchr(s, ']');

        if (rb == NULL || rb[1] != ':')
            goto bad;
        hs = s + 1;
        hl = (size_t)(rb - hs);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            goto bad;
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= sizeof(host) || colon[1] < '0' || colon[1] > '9')
        goto bad;
    memcpy(host, hs, hl);
    host[hl] = '\0';
    port = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || port > 65535)
        goto bad;
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0)
        return 0;
    if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0)
        return 0;
bad:
    return pl_status_set(err, PL_ECONFIG, 0,
                         "http.listen '%.60s': expected ADDRESS:PORT, e.g. 127.0.0.1:8080 or "
                         "[::1]:8080",
                         s);
}

static int read_token(pl_http_t *h, uv_loop_t *loop, const char *path, pl_status_t *err)
{
    uv_fs_t req;
    uv_buf_t b;
    char buf[PL_HTTP_TOKEN_MAX + 2];
    ssize_t n;
    uv_file f;
    size_t len;

    f = uv_fs_open(loop, &req, path, UV_FS_O_RDONLY, 0, NULL);
    uv_fs_req_cleanup(&req);
    if (f < 0)
        return pl_status_set(err, PL_EIO, f, "http.token_file '%.200s'", path);
    b = uv_buf_init(buf, sizeof(buf) - 1);
    n = uv_fs_read(loop, &req, f, &b, 1, 0, NULL);
    uv_fs_req_cleanup(&req);
    uv_fs_close(loop, &req, f, NULL);
    uv_fs_req_cleanup(&req);
    if (n < 0)
        return pl_status_set(err, PL_EIO, (int)n, "http.token_file '%.200s'", path);
    buf[n] = '\0';
    len = strcspn(buf, "\r\n");
    if (len == 0 || len > PL_HTTP_TOKEN_MAX)
        return pl_status_set(err, PL_ECONFIG, 0,
                             "http.token_file '%.200s': expected a token of 1 to %u bytes on "
                             "the first line",
                             path, PL_HTTP_TOKEN_MAX);
    memcpy(h->token, buf, len);
    h->token_len = len;
    memset(buf, 0, sizeof(buf));
    return 0;
}

static void free_mem(pl_http_t *h)
{
    free(h->dev_cache.p);
    free(h->cnt_cache.p);
    memset(h->token, 0, sizeof(h->token));
    free(h);
}

/* The memory goes two loop turns after libh2o's context is disposed: its timers and queue
 * close with callbacks of their own that still read the context, so our last handle is
 * closed from a timer that first fires on the next turn. */
static void on_last_closed(uv_handle_t *hd)
{
    free_mem(hd->data);
}

static void on_last_timer(uv_timer_t *t)
{
    uv_close((uv_handle_t *)t, on_last_closed);
}

static void on_tick_closed(uv_handle_t *hd)
{
    pl_http_t *h = hd->data;

    h->tick_closed = 1;
    uv_timer_init(h->loop, &h->tick);
    h->tick.data = h;
    uv_timer_start(&h->tick, on_last_timer, 0, 0);
}

static void on_listener_closed(uv_handle_t *hd)
{
    pl_http_t *h = hd->data;

    h->listener_closed = 1;
    if (!h->h2o_ready)
        free_mem(h); /* bind failed: nothing else was opened */
    else
        maybe_finish(h);
}

/* Once the listener and every connection are closed: libh2o's context and our timer go. */
static void maybe_finish(pl_http_t *h)
{
    if (!h->listener_closed || h->nconns > 0 || h->tick_closed ||
        uv_is_closing((uv_handle_t *)&h->tick))
        return;
    h2o_context_dispose(&h->ctx);
    h2o_config_dispose(&h->config);
    uv_close((uv_handle_t *)&h->tick, on_tick_closed);
}

int pl_http_new(uv_loop_t *loop, const pl_http_config_t *cfg, pl_engine_t *engine, pl_http_t **out,
                pl_status_t *err)
{
    struct sockaddr_storage ss;
    h2o_hostconf_t *host;
    h2o_pathconf_t *pathconf;
    h2o_handler_t *handler;
    pl_http_t *h;
    int rc, len;
    char ip[64];

    *out = NULL;
    memset(&ss, 0, sizeof(ss));
    rc = parse_listen(cfg->listen != NULL ? cfg->listen : "127.0.0.1:8080", &ss, err);
    if (rc < 0)
        return rc;
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    h->loop = loop;
    h->engine = engine;
    h->log = cfg->log;
    h->info = cfg->info;
    h->ud = cfg->ud;
    h->writes = cfg->writes;
    h->max_conns = cfg->max_conns != 0 ? cfg->max_conns : PL_HTTP_CONNS_MAX;
    h->idle_ms = cfg->idle_ms != 0 ? cfg->idle_ms : PL_HTTP_IDLE_MS;
    h->counters_ms = cfg->counters_ms != 0 ? cfg->counters_ms : COUNTERS_MS;
    if (cfg->writes) {
        if (cfg->token_file == NULL || cfg->token_file[0] == '\0') {
            free_mem(h);
            return pl_status_set(err, PL_ECONFIG, 0,
                                 "http.writes needs http.token_file (a bearer token)");
        }
        if ((rc = read_token(h, loop, cfg->token_file, err)) < 0) {
            free_mem(h);
            return rc;
        }
    }
    uv_tcp_init(loop, &h->listener);
    h->listener.data = h;
    rc = uv_tcp_bind(&h->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&h->listener, 128, on_connection);
    if (rc != 0) {
        pl_status_set(err, PL_ESYS, rc, "http.listen '%.60s' (change it in the configuration)",
                      cfg->listen);
        h->closing = 1;
        h->tick_closed = 1;
        uv_close((uv_handle_t *)&h->listener, on_listener_closed);
        return PL_ESYS;
    }
    len = (int)sizeof(ss);
    uv_tcp_getsockname(&h->listener, (struct sockaddr *)&ss, &len);
    if (ss.ss_family == AF_INET6) {
        static const unsigned char v6_loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

        h->loopback = memcmp(&((struct sockaddr_in6 *)&ss)->sin6_addr, v6_loop, 16) == 0;
        uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
        h->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        snprintf(h->url, sizeof(h->url), "http://[%s]:%u/", ip, h->port);
    } else {
        h->loopback = (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
        uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
        h->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        snprintf(h->url, sizeof(h->url), "http://%s:%u/", ip, h->port);
    }

    if (g_start_ms == 0)
        g_start_ms = wall_ms();
    h2o_config_init(&h->config);
    h->config.max_request_entity_size = PL_HTTP_BODY_MAX;
    h->config.http1.req_timeout = h->idle_ms;
    h->config.http1.upgrade_to_http2 = 0;
    /* a request without Host is given this name by libh2o: a loopback one (host_allowed) */
    host = h2o_config_register_host(&h->config, h2o_iovec_init(H2O_STRLIT("localhost")), 65535);
    pathconf = h2o_config_register_path(host, "/", 0);
    handler = h2o_create_handler(pathconf, sizeof(*handler) + sizeof(pl_http_t *));
    handler->on_req = on_req;
    *(pl_http_t **)(handler + 1) = h;
    h2o_context_init(&h->ctx, loop, &h->config);
    h->accept_ctx.ctx = &h->ctx;
    h->accept_ctx.hosts = h->config.hosts;
    h->h2o_ready = 1;
    uv_timer_init(loop, &h->tick);
    h->tick.data = h;
    uv_timer_start(&h->tick, on_tick, PL_HTTP_PUSH_MS, PL_HTTP_PUSH_MS);
    pl_log(h->log, PL_LOG_INFO, "http: status page and API on %s%s", h->url,
           h->writes ? " (writes on, with the token)" : "");
    *out = h;
    return 0;
}

uint16_t pl_http_port(const pl_http_t *h)
{
    return h->port;
}

const char *pl_http_url(const pl_http_t *h)
{
    return h->url;
}

unsigned pl_http_conn_count(const pl_http_t *h)
{
    return h->nconns;
}

void pl_http_set_engine(pl_http_t *h, pl_engine_t *engine)
{
    h->engine = engine;
    h->egen++;
}

void pl_http_set_mqtt(pl_http_t *h, const pl_mqtt_t *mqtt)
{
    h->mqtt = mqtt;
}

void pl_http_free(pl_http_t *h)
{
    sse_t *s, *next;
    conn_t *c;

    if (h == NULL || h->closing)
        return;
    h->closing = 1;
    h->engine = NULL;
    for (s = h->sses; s != NULL; s = next) {
        next = s->next;
        s->ending = 1;
        sse_push(s, 0);
    }
    for (c = h->conns; c != NULL; c = c->next)
        conn_shut(c);
    uv_close((uv_handle_t *)&h->listener, on_listener_closed);
}
