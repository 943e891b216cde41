/* SPDX-License-Identifier: MIT */
/*
 * The PCCC part of 'plcline read' and 'plcline write': pccc:// URLs (EtherNet/IP to SLC 500,
 * MicroLogix, PLC-5, Logix), the A-B address grammar of docs/pccc.md, one request at a time.
 *
 * Output: "<ADDR> <v> <v>..." with the values of pl_pccc_value_format; strings and ASCII are
 * printed in double quotes (a '"' inside as \x22, as the value parser reads it back), so a
 * string with blanks stays one value. Timers, counters and controls print as their fields
 * ("EN=1 TT=0 DN=1 PRE=100 ACC=5").
 *
 * Writes: bits go out as masked writes (the client's job); strings, ASCII and whole
 * structures take exactly one value (the text after '=', commas included); a whole
 * timer/counter/control is read first so that fields not named keep their value (not
 * atomic: write members such as T4:0.PRE where that matters).
 */
#include "proto/cli_proto.h"

#include "proto/pccc/codec/pccc_addr.h"
#include "plcline/error.h"
#include "plcline/pccc.h"

#include <stdlib.h>
#include <string.h>

#define VALUE_TEXT 400 /* 82 characters escaped as \xNN, quotes, NUL */

static int open_client(uv_loop_t *loop, const char *url, const pl_logger_t *log,
                       pl_pccc_client_t **c)
{
    static char local[256];
    pl_pccc_client_config_t cfg;
    pl_status_t st;
    int rc;

    pl_status_clear(&st);
    pl_pccc_client_config_init(&cfg);
    rc = pl_pccc_client_config_url(&cfg, url, local, sizeof(local), &st);
    if (rc < 0) {
        cli_print_error(url, &st);
        return CLI_EXIT_USAGE;
    }
    cfg.log = log;
    rc = pl_pccc_client_new(loop, &cfg, c);
    if (rc < 0) {
        pl_status_set(&st, rc, 0, NULL);
        cli_print_error(url, &st);
        return CLI_EXIT_FAIL;
    }
    return 0;
}

static void req_done(pl_pccc_req_t *req)
{
    int *done = req->data;

    *done = 1;
}

static void close_client(uv_loop_t *loop, pl_pccc_client_t *c)
{
    pl_pccc_client_free(c);
    uv_run(loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(loop);
}

/* Runs one read or write to completion. Returns 0 or prints the error and returns 1. */
static int run(uv_loop_t *loop, pl_pccc_client_t *c, int write, const char *addr, uint8_t *buf,
               size_t len, const char *what)
{
    pl_pccc_req_t req;
    int done = 0, rc;

    req.data = &done;
    if (write)
        rc = pl_pccc_write(c, &req, addr, buf, len, req_done);
    else
        rc = pl_pccc_read(c, &req, addr, buf, len, req_done);
    if (rc < 0 && req.status.code == 0)
        pl_status_set(&req.status, rc, 0, NULL);
    else if (rc == 0)
        cli_wait(loop, &done);
    if (req.status.code != 0) {
        cli_print_error(what, &req.status);
        return 1;
    }
    return 0;
}

static int is_text(const pl_pccc_addr_t *a)
{
    return a->kind == PL_PCCC_V_STRING || a->kind == PL_PCCC_V_ASCII;
}

static int is_struct(const pl_pccc_addr_t *a)
{
    return a->kind == PL_PCCC_V_TIMER || a->kind == PL_PCCC_V_COUNTER ||
           a->kind == PL_PCCC_V_CONTROL;
}

static void print_values(const char *text, const pl_pccc_addr_t *a, const uint8_t *buf, size_t len)
{
    uint32_t i;

    fputs(text, stdout);
    for (i = 0; i < a->count; i++) {
        pl_pccc_value_t v;
        char val[VALUE_TEXT];
        const char *p;

        if (pl_pccc_value_get(a, buf, len, i, &v) < 0 ||
            pl_pccc_value_format(&v, val, sizeof(val)) < 0) {
            fputs(" ?", stdout);
            continue;
        }
        if (!is_text(a)) {
            printf(" %s", val);
            continue;
        }
        fputs(" \"", stdout);
        for (p = val; *p != '\0'; p++) {
            if (*p == '"')
                fputs("\\x22", stdout);
            else
                putchar(*p);
        }
        putchar('"');
    }
    putchar('\n');
}

static int cli_pccc_read(const char *url, char **args, int n, const pl_logger_t *log)
{
    pl_pccc_addr_t *addrs;
    pl_pccc_client_t *c;
    uv_loop_t loop;
    int i, rc;
    pl_status_t st;

    addrs = calloc((size_t)n, sizeof(*addrs));
    if (addrs == NULL)
        return CLI_EXIT_FAIL;
    for (i = 0; i < n; i++) {
        if (pl_pccc_addr_parse(&addrs[i], args[i], &st) < 0) {
            cli_print_error(args[i], &st);
            free(addrs);
            return CLI_EXIT_USAGE;
        }
    }
    uv_loop_init(&loop);
    rc = open_client(&loop, url, log, &c);
    if (rc != 0) {
        uv_loop_close(&loop);
        free(addrs);
        return rc;
    }
    for (i = 0; i < n && rc == CLI_EXIT_OK; i++) {
        size_t len = pl_pccc_addr_bytes(&addrs[i]);
        uint8_t *buf = calloc(len, 1);
        char what[600];

        if (buf == NULL) {
            rc = CLI_EXIT_FAIL;
            break;
        }
        snprintf(what, sizeof(what), "%s: %s", url, args[i]);
        if (run(&loop, c, 0, args[i], buf, len, what) != 0)
            rc = CLI_EXIT_FAIL;
        else
            print_values(args[i], &addrs[i], buf, len);
        free(buf);
    }
    fflush(stdout);
    close_client(&loop, c);
    free(addrs);
    return rc;
}

/* One parsed assignment: the address (count from the values) as text, and its bytes. */
typedef struct {
    pl_pccc_addr_t a;
    char addr[96];
    const char *values; /* into the argument */
    uint8_t *buf;
    size_t len;
} assign_t;

/* Parses "ADDR=V[,V...]" and fills the bytes. Returns 0 or prints and returns
 * CLI_EXIT_USAGE (CLI_EXIT_FAIL when out of memory). */
static int parse_assignment(const char *arg, assign_t *as)
{
    const char *eq = strchr(arg, '=');
    char text[96];
    size_t alen, nvals = 1, vlen;
    const char *p, *end;
    pl_status_t st;
    uint32_t i;

    memset(as, 0, sizeof(*as));
    if (eq == NULL || eq == arg) {
        fprintf(stderr, "plcline write: '%s': expected ADDR=VALUE\n", arg);
        return CLI_EXIT_USAGE;
    }
    alen = (size_t)(eq - arg);
    if (alen >= sizeof(text)) {
        fprintf(stderr, "plcline write: '%s': address too long\n", arg);
        return CLI_EXIT_USAGE;
    }
    memcpy(text, arg, alen);
    text[alen] = '\0';
    if (pl_pccc_addr_parse(&as->a, text, &st) < 0) {
        cli_print_error(text, &st);
        return CLI_EXIT_USAGE;
    }
    as->values = eq + 1;
    if (is_text(&as->a) || is_struct(&as->a)) {
        if (as->a.count != 1) {
            fprintf(stderr, "plcline write: '%s': strings and structures take one value\n", arg);
            return CLI_EXIT_USAGE;
        }
    } else {
        for (p = as->values; *p != '\0'; p++)
            if (*p == ',')
                nvals++;
        if (strchr(text, ',') != NULL) {
            if (nvals != as->a.count) {
                fprintf(stderr, "plcline write: '%s': %zu values for a count of %u\n", arg, nvals,
                        as->a.count);
                return CLI_EXIT_USAGE;
            }
        } else {
            as->a.count = (uint32_t)nvals;
        }
    }
    /* the address with its count, checked again (the count may run past the file) */
    if (pl_pccc_addr_format(&as->a, as->addr, sizeof(as->addr)) < 0 ||
        pl_pccc_addr_parse(&as->a, as->addr, &st) < 0) {
        cli_print_error(arg, &st);
        return CLI_EXIT_USAGE;
    }
    as->len = pl_pccc_addr_bytes(&as->a);
    as->buf = calloc(as->len, 1);
    if (as->buf == NULL)
        return CLI_EXIT_FAIL;
    p = as->values;
    for (i = 0; i < as->a.count; i++) {
        if (is_text(&as->a) || is_struct(&as->a))
            end = p + strlen(p);
        else if ((end = strchr(p, ',')) == NULL)
            end = p + strlen(p);
        vlen = (size_t)(end - p);
        if (is_text(&as->a) && vlen >= 2 && p[0] == '"' && p[vlen - 1] == '"') {
            p++;
            vlen -= 2;
        }
        if (pl_pccc_value_parse(&as->a, as->buf, as->len, i, p, vlen, &st) < 0) {
            cli_print_error(arg, &st);
            return CLI_EXIT_USAGE;
        }
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

static int cli_pccc_write(const char *url, char **args, int n, const pl_logger_t *log)
{
    pl_pccc_client_t *c;
    uv_loop_t loop;
    assign_t as;
    int i, rc;

    /* Validate every assignment before touching the device. */
    for (i = 0; i < n; i++) {
        rc = parse_assignment(args[i], &as);
        free(as.buf);
        if (rc != 0)
            return rc;
    }
    uv_loop_init(&loop);
    rc = open_client(&loop, url, log, &c);
    if (rc != 0) {
        uv_loop_close(&loop);
        return rc;
    }
    for (i = 0; i < n && rc == 0; i++) {
        char what[600];

        snprintf(what, sizeof(what), "%s: %s", url, args[i]);
        rc = parse_assignment(args[i], &as);
        if (rc == 0 && is_struct(&as.a)) {
            /* read-modify-write: fields not named keep their value */
            rc = run(&loop, c, 0, as.addr, as.buf, as.len, what);
            if (rc == 0) {
                pl_status_t st;

                if (pl_pccc_value_parse(&as.a, as.buf, as.len, 0, as.values, strlen(as.values),
                                        &st) < 0) {
                    cli_print_error(args[i], &st);
                    rc = CLI_EXIT_USAGE;
                }
            }
        }
        if (rc == 0)
            rc = run(&loop, c, 1, as.addr, as.buf, as.len, what);
        free(as.buf);
    }
    close_client(&loop, c);
    return rc == 0 ? CLI_EXIT_OK : (rc == CLI_EXIT_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAIL);
}

/* --- bench -------------------------------------------------------------------------- */

typedef struct {
    pl_pccc_client_config_t cfg;
    pl_pccc_addr_t addr;
    const char *text; /* the address as given */
    size_t bytes;
    char local[256];
} bench_plan_t;

typedef struct {
    pl_pccc_req_t req;
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
    pl_pccc_client_config_init(&p->cfg);
    if (pl_pccc_client_config_url(&p->cfg, url, p->local, sizeof(p->local), &st) < 0) {
        cli_print_error(url, &st);
        free(p);
        return CLI_EXIT_USAGE;
    }
    if (pl_pccc_addr_parse(&p->addr, addr, &st) < 0) {
        cli_print_error(addr, &st);
        free(p);
        return CLI_EXIT_USAGE;
    }
    p->text = addr;
    p->bytes = pl_pccc_addr_bytes(&p->addr);
    if (inflight != 0)
        p->cfg.inflight = inflight;
    if (p->cfg.inflight == 0)
        p->cfg.inflight = 1;
    p->cfg.log = log;
    *inflight_out = p->cfg.inflight;
    *timeout_ms = p->cfg.timeout_ms;
    *buf_bytes = p->bytes;
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

    return pl_pccc_client_new(loop, &p->cfg, (pl_pccc_client_t **)client);
}

static void bench_client_free(void *client)
{
    pl_pccc_client_free(client);
}

static const pl_line_t *bench_client_line(void *client)
{
    return pl_pccc_client_line(client);
}

static void bench_done(pl_pccc_req_t *req)
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
    rc = pl_pccc_read(client, &r->req, p->text, buf, p->bytes, bench_done);
    *st = r->req.status;
    return rc;
}

static void bench_fallback(void *client, cli_bench_fallback_t *out)
{
    const pl_pccc_client_stats_t *st = pl_pccc_client_stats(client);

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

extern const pl_protocol_t pl_protocol_pccc; /* pccc_protocol.c */

const cli_proto_t cli_proto_pccc = {
    .protocol = &pl_protocol_pccc,
    .read = cli_pccc_read,
    .write = cli_pccc_write,
    .write_notes = " PCCC bits (B3:0/5=1,\n"
                   "T4:0.EN=1) use a masked write; strings take one value (ST9:0=\"a, b\" or\n"
                   "ST9:0=a, b); whole timers/counters/controls take KEY=value pairs\n"
                   "(T4:0=PRE=100,ACC=0) and are read first so unnamed fields keep their value.\n",
    .bench = &bench,
};
