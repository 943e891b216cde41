/* SPDX-License-Identifier: MIT */
/*
 * The 7TTCP part of 'plcline read' and 'plcline write': 7ttcp:// URLs, the W/I/D/L/F/B
 * address grammar, and running one request at a time to completion on a loop.
 *
 * A bit (W<off>/<bit>) is written by reading its word(s) and writing them back with the bit
 * changed: 7TTCP has no masked write, so a concurrent change of the other bits of that word
 * by the node can be lost; use whole words where that matters.
 */
#include "proto/cli_proto.h"

#include "proto/ttcp/codec/ttcp_addr.h"
#include "plcline/ttcp.h"

#include <stdlib.h>
#include <string.h>

/* Opens a 7TTCP client for `url`. On failure prints the error and returns the exit code
 * (CLI_EXIT_USAGE for a malformed URL, CLI_EXIT_FAIL otherwise); 0 on success. */
static int open_client(uv_loop_t *loop, const char *url, const pl_logger_t *log,
                       pl_ttcp_client_t **c, uint32_t *node, int *swap)
{
    static char local[256];
    pl_ttcp_client_config_t cfg;
    pl_status_t st;
    int rc;

    pl_status_clear(&st);
    pl_ttcp_client_config_init(&cfg);
    rc = pl_ttcp_client_config_url(&cfg, url, node, swap, local, sizeof(local), &st);
    if (rc < 0) {
        cli_print_error(url, &st);
        return CLI_EXIT_USAGE;
    }
    cfg.keepalive_ms = 0; /* one-shot commands never idle long enough */
    cfg.log = log;
    rc = pl_ttcp_client_new(loop, &cfg, c);
    if (rc < 0) {
        pl_status_set(&st, rc, 0, NULL);
        cli_print_error(url, &st);
        return CLI_EXIT_FAIL;
    }
    return 0;
}

static void req_done(pl_ttcp_req_t *req)
{
    int *done = req->data;

    *done = 1;
}

static void close_client(uv_loop_t *loop, pl_ttcp_client_t *c)
{
    pl_ttcp_client_free(c);
    uv_run(loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(loop);
}

static int cli_ttcp_read(const char *url, char **args, int n, const pl_logger_t *log)
{
    pl_ttcp_addr_t *addrs;
    pl_ttcp_client_t *c;
    uv_loop_t loop;
    uint32_t node;
    int i, swap = 0, rc = CLI_EXIT_OK, err;
    pl_status_t st;

    addrs = calloc((size_t)n, sizeof(*addrs));
    if (addrs == NULL)
        return CLI_EXIT_FAIL;
    for (i = 0; i < n; i++) {
        if (pl_ttcp_addr_parse(&addrs[i], args[i], &st) < 0) {
            cli_print_error(args[i], &st);
            free(addrs);
            return CLI_EXIT_USAGE;
        }
    }
    uv_loop_init(&loop);
    rc = open_client(&loop, url, log, &c, &node, &swap);
    if (rc != 0) {
        uv_loop_close(&loop);
        free(addrs);
        return rc;
    }
    for (i = 0; i < n && rc == CLI_EXIT_OK; i++) {
        const char *text = args[i];
        uint32_t words = pl_ttcp_addr_words(&addrs[i]), k;
        uint16_t *buf = calloc(words, sizeof(uint16_t));
        pl_ttcp_req_t req;
        int done = 0;

        if (buf == NULL) {
            rc = CLI_EXIT_FAIL;
            break;
        }
        req.data = &done;
        err = pl_ttcp_read(c, &req, node, addrs[i].offset, buf, words, req_done);
        if (err < 0)
            pl_status_set(&req.status, err, 0, NULL);
        else
            cli_wait(&loop, &done);
        if (req.status.code != 0) {
            char what[600];

            snprintf(what, sizeof(what), "%s: %s", url, text);
            cli_print_error(what, &req.status);
            rc = CLI_EXIT_FAIL;
        } else {
            fputs(text, stdout);
            for (k = 0; k < addrs[i].count; k++) {
                pl_ttcp_value_t v;
                char val[64];

                pl_ttcp_value_get(&addrs[i], buf, k, swap, &v);
                pl_ttcp_value_format(&v, val, sizeof(val));
                printf(" %s", val);
            }
            putchar('\n');
        }
        free(buf);
    }
    fflush(stdout);
    close_client(&loop, c);
    free(addrs);
    return rc;
}

/* Runs one request synchronously; returns 0 or prints the error and returns 1. */
static int run(uv_loop_t *loop, pl_ttcp_client_t *c, int write, uint32_t node,
               const pl_ttcp_addr_t *a, uint16_t *words, const char *what)
{
    pl_ttcp_req_t req;
    int done = 0, rc;

    req.data = &done;
    if (write)
        rc = pl_ttcp_write(c, &req, node, a->offset, words, pl_ttcp_addr_words(a), req_done);
    else
        rc = pl_ttcp_read(c, &req, node, a->offset, words, pl_ttcp_addr_words(a), req_done);
    if (rc < 0)
        pl_status_set(&req.status, rc, 0, NULL);
    else
        cli_wait(loop, &done);
    if (req.status.code != 0) {
        cli_print_error(what, &req.status);
        return 1;
    }
    return 0;
}

/* Parses "ADDR=V,V,..." into `a` and the words to write. Returns 0 or prints and returns
 * CLI_EXIT_USAGE. `*words` is allocated (caller frees); `*values` points into `arg`. */
static int parse_assignment(const char *arg, pl_ttcp_addr_t *a, uint16_t **words,
                            const char **values)
{
    const char *eq = strchr(arg, '=');
    char addr[128];
    size_t alen, nvals = 1;
    const char *p;
    pl_status_t st;
    int explicit_count;

    if (eq == NULL || eq == arg) {
        fprintf(stderr, "plcline write: '%s': expected ADDR=VALUE\n", arg);
        return CLI_EXIT_USAGE;
    }
    alen = (size_t)(eq - arg);
    if (alen >= sizeof(addr)) {
        fprintf(stderr, "plcline write: '%s': address too long\n", arg);
        return CLI_EXIT_USAGE;
    }
    memcpy(addr, arg, alen);
    addr[alen] = '\0';
    if (pl_ttcp_addr_parse(a, addr, &st) < 0) {
        cli_print_error(addr, &st);
        return CLI_EXIT_USAGE;
    }
    for (p = eq + 1; *p != '\0'; p++)
        if (*p == ',')
            nvals++;
    explicit_count = strchr(addr, ',') != NULL;
    if (explicit_count && nvals != a->count) {
        fprintf(stderr, "plcline write: '%s': %zu values for a count of %u\n", arg, nvals,
                a->count);
        return CLI_EXIT_USAGE;
    }
    if (!explicit_count) {
        pl_ttcp_addr_t probe = *a;

        probe.count = (uint32_t)nvals;
        if ((uint64_t)probe.offset + pl_ttcp_addr_words(&probe) > 65536u) {
            fprintf(stderr, "plcline write: '%s': %zu values run past word 65535\n", arg, nvals);
            return CLI_EXIT_USAGE;
        }
        a->count = (uint32_t)nvals;
    }
    *words = calloc(pl_ttcp_addr_words(a), sizeof(uint16_t));
    if (*words == NULL)
        return CLI_EXIT_FAIL;
    *values = eq + 1;
    return 0;
}

static int put_values(const pl_ttcp_addr_t *a, uint16_t *words, int swap, const char *values,
                      const char *arg)
{
    const char *p = values, *end;
    uint32_t i;
    pl_status_t st;

    for (i = 0; i < a->count; i++) {
        end = strchr(p, ',');
        if (end == NULL)
            end = p + strlen(p);
        if (pl_ttcp_value_put(a, words, i, swap, p, (size_t)(end - p), &st) < 0) {
            cli_print_error(arg, &st);
            return CLI_EXIT_USAGE;
        }
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

static int cli_ttcp_write(const char *url, char **args, int n, const pl_logger_t *log)
{
    pl_ttcp_client_t *c;
    uv_loop_t loop;
    uint32_t node;
    int i, swap = 0, rc;

    /* Validate every assignment before touching the device. */
    for (i = 0; i < n; i++) {
        pl_ttcp_addr_t a;
        uint16_t *w = NULL;
        const char *values;

        rc = parse_assignment(args[i], &a, &w, &values);
        if (rc == 0)
            rc = put_values(&a, w, 0, values, args[i]);
        free(w);
        if (rc != 0)
            return rc;
    }
    uv_loop_init(&loop);
    rc = open_client(&loop, url, log, &c, &node, &swap);
    if (rc != 0) {
        uv_loop_close(&loop);
        return rc;
    }
    for (i = 0; i < n && rc == 0; i++) {
        pl_ttcp_addr_t a;
        uint16_t *w = NULL;
        const char *values;
        char what[600];

        snprintf(what, sizeof(what), "%s: %s", url, args[i]);
        rc = parse_assignment(args[i], &a, &w, &values);
        if (rc == 0 && a.kind == PL_TTCP_BIT)
            rc = run(&loop, c, 0, node, &a, w, what); /* read-modify-write */
        if (rc == 0)
            rc = put_values(&a, w, swap, values, args[i]);
        if (rc == 0)
            rc = run(&loop, c, 1, node, &a, w, what);
        free(w);
    }
    close_client(&loop, c);
    return rc == 0 ? CLI_EXIT_OK : (rc == CLI_EXIT_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAIL);
}

/* --- bench -------------------------------------------------------------------------- */

typedef struct {
    pl_ttcp_client_config_t cfg;
    pl_ttcp_addr_t addr;
    uint32_t node, words;
    char local[256];
} bench_plan_t;

typedef struct {
    pl_ttcp_req_t req;
    cli_read_cb cb;
    void *ud;
} bench_req_t;

static int bench_plan_new(const char *url, const char *addr, unsigned inflight,
                          const pl_logger_t *log, void **plan, unsigned *inflight_out,
                          unsigned *timeout_ms, size_t *buf_bytes)
{
    bench_plan_t *p = calloc(1, sizeof(*p));
    pl_status_t st;

    if (p == NULL)
        return CLI_EXIT_FAIL;
    pl_status_clear(&st);
    pl_ttcp_client_config_init(&p->cfg);
    p->cfg.max_inflight = 0; /* the URL's inflight=, else --inflight, else 1 (below) */
    if (pl_ttcp_client_config_url(&p->cfg, url, &p->node, NULL, p->local, sizeof(p->local), &st) <
        0) {
        cli_print_error(url, &st);
        free(p);
        return CLI_EXIT_USAGE;
    }
    if (pl_ttcp_addr_parse(&p->addr, addr, &st) < 0) {
        cli_print_error(addr, &st);
        free(p);
        return CLI_EXIT_USAGE;
    }
    p->words = pl_ttcp_addr_words(&p->addr);
    if (inflight > PL_TTCP_INFLIGHT_MAX) {
        fprintf(stderr,
                "plcline bench: 7TTCP takes at most %u requests in flight: --inflight %u "
                "capped to %u\n",
                PL_TTCP_INFLIGHT_MAX, inflight, PL_TTCP_INFLIGHT_MAX);
        inflight = PL_TTCP_INFLIGHT_MAX;
    }
    if (inflight != 0)
        p->cfg.max_inflight = inflight;
    if (p->cfg.max_inflight == 0)
        p->cfg.max_inflight = 1;
    p->cfg.keepalive_ms = 0; /* the connection is never idle during a run */
    p->cfg.log = log;
    *inflight_out = p->cfg.max_inflight;
    *timeout_ms = p->cfg.timeout_ms;
    *buf_bytes = (size_t)p->words * sizeof(uint16_t);
    *plan = p;
    return 0;
}

static void bench_plan_free(void *plan)
{
    free(plan);
}

static int bench_client_new(uv_loop_t *loop, void *plan, void **client)
{
    bench_plan_t *p = plan;

    return pl_ttcp_client_new(loop, &p->cfg, (pl_ttcp_client_t **)client);
}

static void bench_client_free(void *client)
{
    pl_ttcp_client_free(client);
}

static const pl_line_t *bench_client_line(void *client)
{
    return pl_ttcp_client_line(client);
}

static void bench_done(pl_ttcp_req_t *req)
{
    bench_req_t *r = req->data;

    r->cb(r->ud, &req->status);
}

static int bench_read(void *client, void *plan, void *req, void *buf, cli_read_cb cb, void *ud,
                      pl_status_t *st)
{
    bench_plan_t *p = plan;
    bench_req_t *r = req;
    int rc;

    r->req.data = r;
    r->cb = cb;
    r->ud = ud;
    rc = pl_ttcp_read(client, &r->req, p->node, p->addr.offset, buf, p->words, bench_done);
    *st = r->req.status;
    return rc;
}

static void bench_fallback(void *client, cli_bench_fallback_t *out)
{
    const pl_ttcp_client_stats_t *st = pl_ttcp_client_stats(client);

    out->fell_back = st->fallbacks != 0;
    out->retried = st->retried;
    out->reason = st->fallback;
}

static const cli_bench_t bench = {
    .req_size = sizeof(bench_req_t),
    .plan_new = bench_plan_new,
    .plan_free = bench_plan_free,
    .client_new = bench_client_new,
    .client_free = bench_client_free,
    .client_line = bench_client_line,
    .read = bench_read,
    .fallback = bench_fallback,
};

extern const pl_protocol_t pl_protocol_ttcp; /* ttcp_protocol.c */

const cli_proto_t cli_proto_ttcp = {
    .protocol = &pl_protocol_ttcp,
    .read = cli_ttcp_read,
    .write = cli_ttcp_write,
    .write_notes = "7TTCP bits (W10/3=1) are read, changed and written back.",
    .bench = &bench,
};
