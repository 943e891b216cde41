/* SPDX-License-Identifier: MIT */
/*
 * plcline bench URL ADDR [--duration S] [--connections N] [--inflight N] [--warmup S] [--json]
 *
 * A commissioning tool: how fast does this device answer on this network? Reads ADDR over
 * and over on N connections (one client each, of the URL's protocol) with up to `inflight`
 * requests outstanding per connection, first for a warm-up (connections set up, caches
 * warm; not counted), then for `duration` seconds. Prints the rate, the latency
 * percentiles, the errors by name (the first of each kind in full, also on stderr when it
 * happens) and the bytes on the wire. docs/bench-command.md says how to read the numbers.
 *
 * A request counts when it starts inside the measured window; one that is still out when
 * the window closes is waited for (its own timeout bounds the wait, plus a grace period),
 * so a stall at the end shows as an error, not as a missing sample. Latency goes into a
 * log-bucketed histogram (1/128 relative bucket width, fixed size), so memory does not grow
 * with the run's length. After an error a request slot waits PAUSE_MS before its next
 * request, so a dead device is not hammered with connects.
 *
 * Exit: 0 the run completed (errors, if any, are reported); 1 nothing could be measured (no
 * request succeeded in the window, or none at all by the end of the warm-up, at least one
 * second in: bench stops early then); 2 bad arguments. It never hangs: every phase ends on
 * a timer, and the clients are freed (cancelling anything left) after the grace period.
 * It does not write to the device.
 */
#include "cli.h"

#include "plcline/error.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DURATION_S 10.0
#define MAX_DURATION_S     3600.0
#define MIN_DURATION_S     0.1
#define DEFAULT_WARMUP_S   1.0
#define MAX_WARMUP_S       600.0
#define MAX_CONNECTIONS    64u   /* each is a TCP connection the device must accept */
#define MAX_INFLIGHT       32u   /* the largest any client takes */
#define PAUSE_MS           100u  /* a slot's wait after a failed request */
#define PROBE_MS           1000u /* earliest give-up when nothing has ever succeeded */
#define GRACE_MS           1000u /* beyond the request timeout, for the last answers */
#define DEFAULT_TIMEOUT_MS 1000u /* the clients' default per-request timeout */
#define MAX_KINDS          32u   /* distinct error codes remembered (others: "other") */
#define NS_PER_S           1000000000.0

/* --- latency histogram ----------------------------------------------------------------
 * Values (ns) below 2*SUB are exact; above, each power of two is cut into SUB buckets, so
 * a bucket is at most 1/128 (0.8 %) of its value wide; the midpoint is reported. Values
 * past 2^44 ns (4.9 h) land in the last bucket. 4864 counters, 38 KiB. */
#define HIST_SUB_BITS  7u
#define HIST_SUB       (1u << HIST_SUB_BITS)
#define HIST_MAX_SHIFT 36u
#define HIST_BUCKETS   (2u * HIST_SUB + HIST_MAX_SHIFT * HIST_SUB)

typedef struct {
    uint64_t count[HIST_BUCKETS];
    uint64_t n, min, max;
    double sum;
} hist_t;

static unsigned hist_index(uint64_t v)
{
    unsigned e = 0, shift;

    if (v < 2u * HIST_SUB)
        return (unsigned)v;
    while ((v >> e) > 1u)
        e++;
    shift = e - HIST_SUB_BITS; /* >= 1: v >> shift is in [SUB, 2*SUB) */
    if (shift > HIST_MAX_SHIFT)
        return HIST_BUCKETS - 1u;
    return 2u * HIST_SUB + (shift - 1u) * HIST_SUB + (unsigned)((v >> shift) - HIST_SUB);
}

static uint64_t hist_value(unsigned idx)
{
    unsigned k, shift;
    uint64_t low;

    if (idx < 2u * HIST_SUB)
        return idx;
    k = idx - 2u * HIST_SUB;
    shift = k / HIST_SUB + 1u;
    low = (uint64_t)(k % HIST_SUB + HIST_SUB) << shift;
    return low + ((uint64_t)1 << (shift - 1u)); /* midpoint */
}

static void hist_add(hist_t *h, uint64_t v)
{
    h->count[hist_index(v)]++;
    if (h->n == 0 || v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->n++;
    h->sum += (double)v;
}

/* The value at quantile q (0 < q <= 1), kept within [min, max] so that p50 <= p90 <= p99
 * <= max always holds. 0 when empty. */
static uint64_t hist_quantile(const hist_t *h, double q)
{
    uint64_t rank, seen = 0, v = h->max;
    unsigned i;

    if (h->n == 0)
        return 0;
    rank = (uint64_t)ceil(q * (double)h->n);
    if (rank < 1)
        rank = 1;
    for (i = 0; i < HIST_BUCKETS; i++) {
        seen += h->count[i];
        if (seen >= rank) {
            v = hist_value(i);
            break;
        }
    }
    if (v < h->min)
        v = h->min;
    if (v > h->max)
        v = h->max;
    return v;
}

/* --- the run ------------------------------------------------------------------------- */

typedef enum { PH_WARMUP, PH_MEASURE, PH_DRAIN, PH_DONE } phase_t;

typedef struct bench_s bench_t;
typedef struct conn_s conn_t;

typedef struct {
    void *req; /* the protocol's request storage */
    conn_t *conn;
    uint64_t started; /* uv_hrtime() at submission */
    int busy;         /* a request is out */
    uv_timer_t pause; /* the wait after an error */
} slot_t;

struct conn_s {
    bench_t *b;
    void *client; /* the protocol's client */
    slot_t *slots;
    uint64_t ok; /* measured answers of this connection */
};

typedef struct {
    int code;
    uint64_t measured, warmup; /* in the window / outside it */
    char first[PL_STATUS_DETAIL_MAX + 160];
} kind_t;

typedef struct {
    const char *url, *addr;
    double duration_s, warmup_s;
    unsigned connections, inflight;
    int inflight_given, json;
    pl_log_level_t log_level;
} opts_t;

struct bench_s {
    opts_t o;
    const cli_proto_t *cp; /* the protocol's part of the command */
    void *plan;            /* its parsed URL and address */
    uv_loop_t loop;
    uv_timer_t clock; /* warm-up end, window end, grace end */
    uv_signal_t sigint;
    pl_logger_t log;
    char what[600]; /* "URL: ADDR" for error lines */
    size_t bytes;   /* one read's */

    unsigned timeout_ms, inflight;
    conn_t *conns;
    void *sink; /* where every read lands: the values are not looked at, so all share it */
    phase_t phase;
    uint64_t t0, t_start, t_end; /* run start, window [t_start, t_end) */
    uint64_t bytes_in0, bytes_out0, bytes_in, bytes_out;
    uint64_t outstanding, ever_ok, ever_failed;
    uint64_t ok, failed, unfinished;
    int interrupted, gave_up, finished;
    hist_t hist;
    kind_t kinds[MAX_KINDS];
    unsigned nkinds;
    uint64_t other_measured, other_warmup;
    /* connections kept at one request in flight by their target (fallback) */
    unsigned fell_back;
    uint64_t retried;
    char fallback[256];
};

static void usage(FILE *fp)
{
    fputs("usage: plcline bench [options] URL ADDR\n"
          "\n"
          "Reads ADDR over and over and prints how fast the device answers: requests/s,\n"
          "latency percentiles (p50, p90, p99, max), errors by name, bytes on the wire.\n"
          "A commissioning tool; docs/bench-command.md explains the numbers.\n"
          "\n"
          "  --duration S      seconds measured (default 10, 0.1..3600)\n"
          "  --warmup S        seconds run first and not counted (default 1, 0..600)\n"
          "  --connections N   connections, each its own client (default 1, 1..64)\n"
          "  --inflight N      requests outstanding per connection (default: the URL's\n"
          "                    inflight= where the protocol has one, else 1; 1..32); a\n"
          "                    protocol with one request in flight per connection caps it\n"
          "                    to 1\n"
          "  --json            print one JSON object instead of the table\n"
          "  -v                log connection events to stderr\n"
          "\n"
          "Exit status: 0 the run completed (errors are reported), 1 nothing could be\n"
          "measured (no request succeeded; the error is printed), 2 bad arguments.\n"
          "\n",
          fp);
    cli_proto_usage(fp);
}

/* --- argument parsing ---------------------------------------------------------------- */

static int parse_seconds(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "plcline bench: %s '%s': expected seconds from %g to %g\n", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_count(const char *opt, const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0 || s[0] == '-' || v < lo || v > hi) {
        fprintf(stderr, "plcline bench: %s '%s': expected a whole number from %u to %u\n", opt, s,
                lo, hi);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

/* Matches "--name VALUE" and "--name=VALUE"; sets *val and advances *i. Returns 1 when it
 * matched, 0 when not, -1 when the value is missing. */
static int take_value(int argc, char **argv, int *i, const char *name, const char **val)
{
    size_t n = strlen(name);
    const char *a = argv[*i];

    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "plcline bench: %s needs a value\n", name);
        return -1;
    }
    *i += 1;
    *val = argv[*i];
    return 1;
}

/* Returns 0, CLI_EXIT_USAGE, or -1 for --help (usage printed on stdout). */
static int parse_args(int argc, char **argv, opts_t *o)
{
    const char *pos[2], *v;
    int i, npos = 0, m;

    memset(o, 0, sizeof(*o));
    o->duration_s = DEFAULT_DURATION_S;
    o->warmup_s = DEFAULT_WARMUP_S;
    o->connections = 1;
    o->inflight = 1;
    o->log_level = PL_LOG_ERROR;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (cli_is_help(a)) {
            usage(stdout);
            return -1;
        }
        if (strcmp(a, "--") == 0) {
            for (i++; i < argc; i++) {
                if (npos == 2)
                    goto too_many;
                pos[npos++] = argv[i];
            }
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (npos == 2)
                goto too_many;
            pos[npos++] = a;
            continue;
        }
        if (strcmp(a, "--json") == 0) {
            o->json = 1;
            continue;
        }
        if (strcmp(a, "-v") == 0) {
            o->log_level = PL_LOG_DEBUG;
            continue;
        }
        if ((m = take_value(argc, argv, &i, "--duration", &v)) != 0) {
            if (m < 0 ||
                parse_seconds("--duration", v, MIN_DURATION_S, MAX_DURATION_S, &o->duration_s) < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if ((m = take_value(argc, argv, &i, "--warmup", &v)) != 0) {
            if (m < 0 || parse_seconds("--warmup", v, 0.0, MAX_WARMUP_S, &o->warmup_s) < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if ((m = take_value(argc, argv, &i, "--connections", &v)) != 0) {
            if (m < 0 || parse_count("--connections", v, 1, MAX_CONNECTIONS, &o->connections) < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if ((m = take_value(argc, argv, &i, "--inflight", &v)) != 0) {
            if (m < 0 || parse_count("--inflight", v, 1, MAX_INFLIGHT, &o->inflight) < 0)
                return CLI_EXIT_USAGE;
            o->inflight_given = 1;
            continue;
        }
        fprintf(stderr, "plcline bench: unknown option '%s'\n", a);
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (npos != 2) {
        fprintf(stderr, "plcline bench: expected URL and ADDR\n");
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    o->url = pos[0];
    o->addr = pos[1];
    return 0;
too_many:
    fprintf(stderr, "plcline bench: one URL and one ADDR only ('%s' is one too many)\n", argv[i]);
    return CLI_EXIT_USAGE;
}

/* Finds the protocol and lets it parse the URL and the address. Prints and returns
 * CLI_EXIT_USAGE when either is malformed, else 0. */
static int configure(bench_t *b)
{
    int rc;

    b->cp = cli_proto_of_url(b->o.url, "bench");
    if (b->cp == NULL)
        return CLI_EXIT_USAGE;
    rc = b->cp->bench->plan_new(b->o.url, b->o.addr, b->o.inflight_given ? b->o.inflight : 0,
                                &b->log, &b->plan, &b->inflight, &b->timeout_ms, &b->bytes);
    if (rc != 0)
        return rc;
    if (b->timeout_ms == 0)
        b->timeout_ms = DEFAULT_TIMEOUT_MS;
    return 0;
}

/* --- requests ------------------------------------------------------------------------ */

static void submit(slot_t *s);

static const pl_line_t *conn_line(const conn_t *c)
{
    return c->client != NULL ? c->b->cp->bench->client_line(c->client) : NULL;
}

static void sum_bytes(const bench_t *b, uint64_t *in, uint64_t *out)
{
    unsigned i;

    *in = 0;
    *out = 0;
    for (i = 0; i < b->o.connections; i++) {
        const pl_line_t *line = conn_line(&b->conns[i]);

        if (line != NULL) {
            *in += pl_line_stats(line)->bytes_in;
            *out += pl_line_stats(line)->bytes_out;
        }
    }
}

/* Which clients their target kept at one request in flight (the protocol's fallback), and
 * why (the first one's). */
static void sum_fallbacks(bench_t *b)
{
    cli_bench_fallback_t fb;
    unsigned i;

    b->fell_back = 0;
    b->retried = 0;
    if (b->cp->bench->fallback == NULL)
        return;
    for (i = 0; i < b->o.connections; i++) {
        if (b->conns[i].client == NULL)
            continue;
        memset(&fb, 0, sizeof(fb));
        b->cp->bench->fallback(b->conns[i].client, &fb);
        if (!fb.fell_back)
            continue;
        if (b->fell_back++ == 0)
            snprintf(b->fallback, sizeof(b->fallback), "%s", fb.reason != NULL ? fb.reason : "");
        b->retried += fb.retried;
    }
}

static void finish(bench_t *b)
{
    b->phase = PH_DONE;
    b->finished = 1;
    uv_timer_stop(&b->clock);
}

static void on_grace_end(uv_timer_t *t)
{
    bench_t *b = t->data;

    b->unfinished = b->outstanding; /* cancelled when the clients are freed */
    finish(b);
}

/* Closes the window now: no new requests; the ones out are waited for (bounded). */
static void end_window(bench_t *b)
{
    uint64_t now = uv_hrtime();

    if (b->phase == PH_WARMUP)
        b->t_start = now; /* an empty window */
    b->t_end = now;
    sum_bytes(b, &b->bytes_in, &b->bytes_out);
    sum_fallbacks(b);
    b->phase = PH_DRAIN;
    if (b->outstanding == 0) {
        finish(b);
        return;
    }
    uv_timer_stop(&b->clock);
    uv_timer_start(&b->clock, on_grace_end, (uint64_t)b->timeout_ms + GRACE_MS, 0);
}

static void on_window_end(uv_timer_t *t)
{
    end_window(t->data);
}

static uint64_t ms_of(double s)
{
    return (uint64_t)(s * 1000.0 + 0.5);
}

static void start_window(bench_t *b)
{
    b->phase = PH_MEASURE;
    b->t_start = uv_hrtime();
    b->t_end = UINT64_MAX;
    sum_bytes(b, &b->bytes_in0, &b->bytes_out0);
    uv_timer_start(&b->clock, on_window_end, ms_of(b->o.duration_s), 0);
}

static void on_warmup_end(uv_timer_t *t)
{
    bench_t *b = t->data;

    if (b->ever_ok == 0 && b->ever_failed != 0 && ms_of(b->o.warmup_s) >= PROBE_MS) {
        b->gave_up = 1; /* failed, never answered: the window would measure nothing */
        end_window(b);
        return;
    }
    start_window(b);
}

static void on_sigint(uv_signal_t *sig, int signum)
{
    bench_t *b = sig->data;

    (void)signum;
    if (b->phase == PH_WARMUP || b->phase == PH_MEASURE) {
        b->interrupted = 1;
        end_window(b);
    } else {
        finish(b); /* a second ^C: stop waiting for the last answers */
    }
}

static kind_t *kind_for(bench_t *b, const pl_status_t *st, int *is_new)
{
    unsigned i;

    *is_new = 0;
    for (i = 0; i < b->nkinds; i++)
        if (b->kinds[i].code == st->code)
            return &b->kinds[i];
    if (b->nkinds == MAX_KINDS)
        return NULL;
    *is_new = 1;
    b->kinds[b->nkinds].code = st->code;
    pl_status_format(st, b->kinds[b->nkinds].first, sizeof(b->kinds[b->nkinds].first));
    return &b->kinds[b->nkinds++];
}

static void record_error(bench_t *b, const pl_status_t *st, int measured)
{
    int is_new;
    kind_t *k = kind_for(b, st, &is_new);

    b->ever_failed++;
    if (measured)
        b->failed++;
    if (k == NULL) {
        if (measured)
            b->other_measured++;
        else
            b->other_warmup++;
        return;
    }
    if (measured)
        k->measured++;
    else
        k->warmup++;
    if (is_new)
        cli_print_error(b->what, st); /* the first of each kind, as it happens */
}

static void on_pause_end(uv_timer_t *t)
{
    slot_t *s = t->data;

    submit(s);
}

/* A request of slot `s` ended with `st` (code 0: answered). */
static void complete(slot_t *s, const pl_status_t *st)
{
    bench_t *b = s->conn->b;
    uint64_t now = uv_hrtime();
    int measured = s->started >= b->t_start && s->started < b->t_end;

    s->busy = 0;
    b->outstanding--;
    if (b->phase == PH_DONE)
        return; /* cancelled by the final free */
    if (st->code == 0) {
        b->ever_ok++;
        if (measured) {
            b->ok++;
            s->conn->ok++;
            hist_add(&b->hist, now - s->started);
        }
    } else {
        record_error(b, st, measured);
        /* Nothing ever answered, and the warm-up (at least PROBE_MS) is over: give up. */
        if (b->ever_ok == 0 && b->phase != PH_DRAIN &&
            now - b->t0 >=
                (uint64_t)1000000 *
                    (ms_of(b->o.warmup_s) > PROBE_MS ? ms_of(b->o.warmup_s) : PROBE_MS)) {
            b->gave_up = 1;
            end_window(b);
        }
    }
    if (b->phase == PH_DRAIN) {
        if (b->outstanding == 0)
            finish(b);
        return;
    }
    if (b->phase == PH_DONE)
        return;
    if (st->code == 0)
        submit(s);
    else
        uv_timer_start(&s->pause, on_pause_end, PAUSE_MS, 0);
}

static void on_read_done(void *ud, const pl_status_t *st)
{
    complete(ud, st);
}

static void submit(slot_t *s)
{
    conn_t *c = s->conn;
    bench_t *b = c->b;
    pl_status_t st;
    int rc;

    if (b->phase != PH_WARMUP && b->phase != PH_MEASURE)
        return;
    s->busy = 1;
    b->outstanding++;
    s->started = uv_hrtime();
    pl_status_clear(&st);
    rc = b->cp->bench->read(c->client, b->plan, s->req, b->sink, on_read_done, s, &st);
    if (rc < 0) { /* failed synchronously: no callback */
        if (st.code == 0)
            pl_status_set(&st, rc, 0, NULL);
        complete(s, &st);
    }
}

/* --- set-up and tear-down ------------------------------------------------------------ */

/* Creates the clients and the slots. Prints and returns CLI_EXIT_FAIL on failure. */
static int open_conns(bench_t *b)
{
    size_t bufsize = b->bytes;
    unsigned i, j;
    pl_status_t st;
    int rc;

    b->sink = calloc(bufsize != 0 ? bufsize : 1, 1);
    b->conns = calloc(b->o.connections, sizeof(*b->conns));
    if (b->sink == NULL || b->conns == NULL)
        return CLI_EXIT_FAIL;
    for (i = 0; i < b->o.connections; i++) {
        conn_t *c = &b->conns[i];

        c->b = b;
        c->slots = calloc(b->inflight, sizeof(*c->slots));
        if (c->slots == NULL)
            return CLI_EXIT_FAIL;
        for (j = 0; j < b->inflight; j++) {
            slot_t *s = &c->slots[j];

            s->conn = c;
            s->req = calloc(1, b->cp->bench->req_size);
            if (s->req == NULL)
                return CLI_EXIT_FAIL;
            uv_timer_init(&b->loop, &s->pause);
            s->pause.data = s;
        }
        rc = b->cp->bench->client_new(&b->loop, b->plan, &c->client);
        if (rc < 0) {
            pl_status_set(&st, rc, 0, NULL);
            cli_print_error(b->o.url, &st);
            return CLI_EXIT_FAIL;
        }
    }
    return 0;
}

static void close_conns(bench_t *b)
{
    unsigned i, j;

    b->phase = PH_DONE;
    if (b->conns == NULL) {
        free(b->sink);
        b->sink = NULL;
        return;
    }
    for (i = 0; i < b->o.connections; i++) {
        conn_t *c = &b->conns[i];

        if (c->client != NULL)
            b->cp->bench->client_free(c->client); /* cancels what is left; complete() ignores it */
        c->client = NULL;
        if (c->slots == NULL)
            continue;
        for (j = 0; j < b->inflight; j++)
            if (c->slots[j].conn != NULL)
                uv_close((uv_handle_t *)&c->slots[j].pause, NULL);
    }
    uv_run(&b->loop, UV_RUN_DEFAULT);
    for (i = 0; i < b->o.connections; i++) {
        for (j = 0; b->conns[i].slots != NULL && j < b->inflight; j++)
            free(b->conns[i].slots[j].req);
        free(b->conns[i].slots);
    }
    free(b->conns);
    b->conns = NULL;
    free(b->sink);
    b->sink = NULL;
}

/* --- report -------------------------------------------------------------------------- */

static double window_s(const bench_t *b)
{
    return b->t_end > b->t_start ? (double)(b->t_end - b->t_start) / NS_PER_S : 0.0;
}

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static const char *proto_name(const bench_t *b)
{
    return b->cp->protocol->name;
}

static void print_table(const bench_t *b)
{
    double w = window_s(b);
    const hist_t *h = &b->hist;
    uint64_t in = b->bytes_in - b->bytes_in0, out = b->bytes_out - b->bytes_out0;
    unsigned i;

    printf("url          %s\n", b->o.url);
    printf("address      %s\n", b->o.addr);
    printf("connections  %u\n", b->o.connections);
    printf("inflight     %u per connection\n", b->inflight);
    if (b->fell_back != 0)
        printf("fallback     %u connection(s) kept at 1 in flight by the target, %llu messages "
               "sent again; first: %s\n",
               b->fell_back, (unsigned long long)b->retried, b->fallback);
    printf("duration     %.3f s measured after %.3f s warm-up%s\n", w, b->o.warmup_s,
           b->interrupted ? " (interrupted)" : "");
    printf("requests     %llu ok, %llu failed", (unsigned long long)b->ok,
           (unsigned long long)b->failed);
    if (b->unfinished != 0)
        printf(", %llu unanswered at the end", (unsigned long long)b->unfinished);
    putchar('\n');
    printf("rate         %.1f requests/s\n", w > 0 ? (double)b->ok / w : 0.0);
    if (h->n != 0)
        printf("latency      p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms"
               "  (min %.3f, mean %.3f)\n",
               ms(hist_quantile(h, 0.50)), ms(hist_quantile(h, 0.90)), ms(hist_quantile(h, 0.99)),
               ms(h->max), ms(h->min), h->sum / (double)h->n / 1e6);
    else
        printf("latency      none (no answer)\n");
    printf("bytes        in %llu (%.0f B/s), out %llu (%.0f B/s)\n", (unsigned long long)in,
           w > 0 ? (double)in / w : 0.0, (unsigned long long)out, w > 0 ? (double)out / w : 0.0);
    if (b->o.connections > 1) {
        printf("per conn.   ");
        for (i = 0; i < b->o.connections; i++)
            printf(" %llu", (unsigned long long)b->conns[i].ok);
        printf(" ok\n");
    }
    if (b->nkinds == 0) {
        printf("errors       none\n");
        return;
    }
    printf("errors       %llu in the window\n", (unsigned long long)b->failed);
    for (i = 0; i < b->nkinds; i++) {
        const kind_t *k = &b->kinds[i];

        printf("  %-30s %llu", pl_err_name(k->code), (unsigned long long)k->measured);
        if (k->warmup != 0)
            printf(" (+%llu outside the window)", (unsigned long long)k->warmup);
        printf("  first: %s\n", k->first);
    }
    if (b->other_measured + b->other_warmup != 0)
        printf("  %-30s %llu (+%llu outside the window)\n", "other",
               (unsigned long long)b->other_measured, (unsigned long long)b->other_warmup);
}

static json_t *jms(uint64_t ns)
{
    return json_real(ms(ns));
}

static int print_json(const bench_t *b)
{
    double w = window_s(b);
    const hist_t *h = &b->hist;
    json_t *o = json_object(), *errs = json_array(), *lat, *per = json_array();
    char code[16];
    char *text;
    unsigned i;

    if (o == NULL || errs == NULL || per == NULL) {
        json_decref(o);
        json_decref(errs);
        json_decref(per);
        return -1;
    }
    json_object_set_new(o, "url", json_string(b->o.url));
    json_object_set_new(o, "address", json_string(b->o.addr));
    json_object_set_new(o, "protocol", json_string(proto_name(b)));
    json_object_set_new(o, "connections", json_integer(b->o.connections));
    json_object_set_new(o, "inflight", json_integer(b->inflight));
    json_object_set_new(o, "inflight_fallbacks", json_integer(b->fell_back));
    json_object_set_new(o, "retried", json_integer((json_int_t)b->retried));
    json_object_set_new(o, "fallback", b->fell_back != 0 ? json_string(b->fallback) : json_null());
    json_object_set_new(o, "duration_s", json_real(b->o.duration_s));
    json_object_set_new(o, "warmup_s", json_real(b->o.warmup_s));
    json_object_set_new(o, "window_s", json_real(w));
    json_object_set_new(o, "interrupted", json_boolean(b->interrupted));
    json_object_set_new(o, "measured", json_boolean(b->ok != 0));
    json_object_set_new(o, "requests", json_integer((json_int_t)(b->ok + b->failed)));
    json_object_set_new(o, "ok", json_integer((json_int_t)b->ok));
    json_object_set_new(o, "failed", json_integer((json_int_t)b->failed));
    json_object_set_new(o, "unanswered", json_integer((json_int_t)b->unfinished));
    json_object_set_new(o, "requests_per_s", json_real(w > 0 ? (double)b->ok / w : 0.0));
    if (h->n != 0) {
        lat = json_object();
        json_object_set_new(lat, "min", jms(h->min));
        json_object_set_new(lat, "mean", json_real(h->sum / (double)h->n / 1e6));
        json_object_set_new(lat, "p50", jms(hist_quantile(h, 0.50)));
        json_object_set_new(lat, "p90", jms(hist_quantile(h, 0.90)));
        json_object_set_new(lat, "p99", jms(hist_quantile(h, 0.99)));
        json_object_set_new(lat, "max", jms(h->max));
    } else {
        lat = json_null();
    }
    json_object_set_new(o, "latency_ms", lat);
    json_object_set_new(o, "bytes_in", json_integer((json_int_t)(b->bytes_in - b->bytes_in0)));
    json_object_set_new(o, "bytes_out", json_integer((json_int_t)(b->bytes_out - b->bytes_out0)));
    for (i = 0; i < b->o.connections; i++)
        json_array_append_new(per, json_integer((json_int_t)b->conns[i].ok));
    json_object_set_new(o, "ok_per_connection", per);
    for (i = 0; i < b->nkinds; i++) {
        const kind_t *k = &b->kinds[i];
        json_t *e = json_object();

        snprintf(code, sizeof(code), "0x%04X", pl_err_code(k->code));
        json_object_set_new(e, "name", json_string(pl_err_name(k->code)));
        json_object_set_new(e, "code", json_string(code));
        json_object_set_new(e, "count", json_integer((json_int_t)k->measured));
        json_object_set_new(e, "outside_window", json_integer((json_int_t)k->warmup));
        json_object_set_new(e, "first", json_string(k->first));
        json_array_append_new(errs, e);
    }
    if (b->other_measured + b->other_warmup != 0) {
        json_t *e = json_object();

        json_object_set_new(e, "name", json_string("other"));
        json_object_set_new(e, "count", json_integer((json_int_t)b->other_measured));
        json_object_set_new(e, "outside_window", json_integer((json_int_t)b->other_warmup));
        json_array_append_new(errs, e);
    }
    json_object_set_new(o, "errors", errs);
    text = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(o);
    if (text == NULL)
        return -1;
    puts(text);
    free(text);
    return 0;
}

/* --- entry --------------------------------------------------------------------------- */

static int run(bench_t *b)
{
    unsigned i, j;
    int rc;

    cli_logger_init(&b->log, b->o.log_level);
    snprintf(b->what, sizeof(b->what), "%s: %s", b->o.url, b->o.addr);
    if ((rc = configure(b)) != 0)
        return rc;
    if (uv_loop_init(&b->loop) != 0)
        return CLI_EXIT_FAIL;
    uv_timer_init(&b->loop, &b->clock);
    b->clock.data = b;
    uv_signal_init(&b->loop, &b->sigint);
    b->sigint.data = b;
    uv_signal_start(&b->sigint, on_sigint, SIGINT);
    uv_unref((uv_handle_t *)&b->sigint);
    b->phase = PH_WARMUP;
    b->t_start = UINT64_MAX;
    b->t_end = UINT64_MAX;
    rc = open_conns(b);
    if (rc == 0) {
        b->t0 = uv_hrtime();
        if (ms_of(b->o.warmup_s) == 0)
            start_window(b);
        else
            uv_timer_start(&b->clock, on_warmup_end, ms_of(b->o.warmup_s), 0);
        for (i = 0; i < b->o.connections && b->phase <= PH_MEASURE; i++)
            for (j = 0; j < b->inflight && b->phase <= PH_MEASURE; j++)
                submit(&b->conns[i].slots[j]);
        cli_wait(&b->loop, &b->finished);
    }
    if (rc == 0) {
        if (b->o.json) {
            if (print_json(b) < 0)
                rc = CLI_EXIT_FAIL;
        } else if (b->ok + b->failed != 0 && !b->gave_up) {
            print_table(b);
        }
        fflush(stdout);
        if (b->ok == 0) {
            fprintf(stderr, "plcline: %s: nothing measured: no request succeeded%s\n", b->what,
                    b->gave_up            ? " (gave up after the warm-up)"
                    : b->ever_failed == 0 ? " (no answer within the run)"
                                          : "");
            rc = CLI_EXIT_FAIL;
        }
    }
    close_conns(b);
    uv_close((uv_handle_t *)&b->clock, NULL);
    uv_close((uv_handle_t *)&b->sigint, NULL);
    uv_run(&b->loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&b->loop);
    return rc;
}

int cmd_bench(int argc, char **argv)
{
    bench_t *b;
    int rc;

    b = calloc(1, sizeof(*b));
    if (b == NULL)
        return CLI_EXIT_FAIL;
    rc = parse_args(argc, argv, &b->o);
    if (rc < 0)
        rc = CLI_EXIT_OK; /* --help */
    else if (rc == 0)
        rc = run(b);
    if (b->plan != NULL)
        b->cp->bench->plan_free(b->plan);
    free(b);
    return rc;
}
