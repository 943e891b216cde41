/* SPDX-License-Identifier: MIT */
/*
 * The Modbus part of 'plcline read', 'write' and 'bench': modbus:// URLs, the hr/ir/co/di
 * and Modicon address grammar (docs/modbus.md), one request at a time for read and write.
 *
 * Output: "<ADDR> <v> <v>..." as the other protocols; strings are printed in double quotes
 * (a '"', a '\' or a byte outside printable ASCII as \xNN), so a string with blanks stays
 * one value.
 *
 * Writes: one coil with FC 5, several with FC 15; one register with FC 6, several (a 32-bit
 * value, a string, a count) with FC 16; a bit of a holding register with FC 22 (mask
 * write), one request per bit, so the register's other bits are never touched. A string
 * takes exactly one value: the whole text after '='. Input registers and discrete inputs
 * are read-only.
 */
#include "proto/cli_proto.h"

#include "plcline/error.h"
#include "plcline/modbus_client.h"
#include "proto/modbus/codec/modbus.h"
#include "proto/modbus/codec/modbus_addr.h"

#include <stdlib.h>
#include <string.h>

#define STORAGE 256

static int open_client(uv_loop_t *loop, const char *url, const pl_logger_t *log,
                       pl_modbus_client_t **c, pl_modbus_client_config_t *cfg)
{
    static char local[STORAGE];
    pl_status_t st;
    int rc;

    pl_status_clear(&st);
    pl_modbus_client_config_init(cfg);
    rc = pl_modbus_client_config_url(cfg, url, local, sizeof(local), &st);
    if (rc < 0) {
        cli_print_error(url, &st);
        return CLI_EXIT_USAGE;
    }
    cfg->log = log;
    if (c == NULL)
        return 0;
    rc = pl_modbus_client_new(loop, cfg, c);
    if (rc < 0) {
        pl_status_set(&st, rc, 0, NULL);
        cli_print_error(url, &st);
        return CLI_EXIT_FAIL;
    }
    return 0;
}

static void req_done(pl_modbus_request_t *req)
{
    int *done = req->data;

    *done = 1;
}

static void close_client(uv_loop_t *loop, pl_modbus_client_t *c)
{
    pl_modbus_client_free(c);
    uv_run(loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(loop);
}

/* Waits for a submitted request (or takes the synchronous failure `rc`); 0 or prints the
 * error under `what` and returns CLI_EXIT_FAIL. */
static int finish(uv_loop_t *loop, pl_modbus_request_t *req, int *done, int rc, const char *what)
{
    if (rc < 0)
        pl_status_set(&req->status, rc, 0, NULL);
    else
        cli_wait(loop, done);
    if (req->status.code != 0) {
        cli_print_error(what, &req->status);
        return CLI_EXIT_FAIL;
    }
    return 0;
}

static size_t data_bytes(const pl_modbus_addr_t *a)
{
    uint32_t units = pl_modbus_addr_units(a);

    return pl_modbus_table_bits(a->table) ? pl_modbus_bit_bytes(units) : (size_t)units * 2u;
}

static void print_value(const pl_modbus_value_t *v)
{
    char text[64];
    size_t i;

    if (v->type != PL_MODBUS_T_STR) {
        if (pl_modbus_value_format(v, text, sizeof(text)) < 0)
            text[0] = '\0';
        printf(" %s", text);
        return;
    }
    fputs(" \"", stdout);
    for (i = 0; i < v->s_len; i++) {
        unsigned char ch = (unsigned char)v->s[i];

        if (ch < 0x20 || ch > 0x7E || ch == '"' || ch == '\\')
            printf("\\x%02X", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static int cli_modbus_read(const char *url, char **args, int n, const pl_logger_t *log)
{
    pl_modbus_client_config_t cfg;
    pl_modbus_addr_t *addrs;
    pl_modbus_client_t *c;
    pl_status_t st;
    uv_loop_t loop;
    int i, rc;

    rc = open_client(NULL, url, log, NULL, &cfg);
    if (rc != 0)
        return rc;
    addrs = calloc((size_t)n, sizeof(*addrs));
    if (addrs == NULL)
        return CLI_EXIT_FAIL;
    for (i = 0; i < n; i++) {
        if (pl_modbus_addr_parse(&addrs[i], args[i], cfg.zero_based ? PL_MODBUS_ADDR_ZERO_BASED : 0,
                                 &st) < 0) {
            cli_print_error(args[i], &st);
            free(addrs);
            return CLI_EXIT_USAGE;
        }
    }
    uv_loop_init(&loop);
    rc = open_client(&loop, url, log, &c, &cfg);
    if (rc != 0) {
        uv_loop_close(&loop);
        free(addrs);
        return rc;
    }
    for (i = 0; i < n && rc == 0; i++) {
        size_t len = data_bytes(&addrs[i]);
        uint8_t *buf = calloc(len, 1);
        pl_modbus_request_t req;
        char what[600];
        uint32_t k;
        int done = 0;

        if (buf == NULL) {
            rc = CLI_EXIT_FAIL;
            break;
        }
        snprintf(what, sizeof(what), "%s: %s", url, args[i]);
        req.data = &done;
        rc = finish(&loop, &req, &done,
                    pl_modbus_read(c, &req, cfg.unit, pl_modbus_table_read_fc(addrs[i].table),
                                   addrs[i].addr, pl_modbus_addr_units(&addrs[i]), buf, req_done),
                    what);
        if (rc == 0) {
            fputs(args[i], stdout);
            for (k = 0; k < addrs[i].count; k++) {
                pl_modbus_value_t v;

                if (pl_modbus_value_get(&addrs[i], buf, len, k, (pl_modbus_order_t)cfg.byte_order,
                                        &v) == 0)
                    print_value(&v);
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

/* Parses "ADDR=V,V,..." into `a` (count from the values unless given) and the data to
 * write. Returns 0 or prints and returns CLI_EXIT_USAGE; *data is allocated (caller
 * frees). */
static int parse_assignment(const char *arg, const pl_modbus_client_config_t *cfg,
                            pl_modbus_addr_t *a, uint8_t **data)
{
    const char *eq = strchr(arg, '='), *p, *end;
    char addr[128];
    size_t alen, nvals = 1, len;
    pl_status_t st;
    uint32_t i;

    *data = NULL;
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
    if (pl_modbus_addr_parse(a, addr, cfg->zero_based ? PL_MODBUS_ADDR_ZERO_BASED : 0, &st) < 0) {
        cli_print_error(addr, &st);
        return CLI_EXIT_USAGE;
    }
    if (!pl_modbus_table_writable(a->table)) {
        fprintf(stderr, "plcline write: '%s': %s is read-only\n", arg,
                pl_modbus_table_name(a->table));
        return CLI_EXIT_USAGE;
    }
    if (a->type != PL_MODBUS_T_STR)
        for (p = eq + 1; *p != '\0'; p++)
            if (*p == ',')
                nvals++;
    if (strchr(addr, ',') != NULL) {
        if (nvals != a->count) {
            fprintf(stderr, "plcline write: '%s': %zu values for a count of %u\n", arg, nvals,
                    (unsigned)a->count);
            return CLI_EXIT_USAGE;
        }
    } else {
        pl_modbus_addr_t probe = *a;
        char text[PL_MODBUS_ADDR_TEXT_MAX];

        probe.count = (uint32_t)nvals;
        /* the codec's own check of the range, by formatting and parsing it back */
        if (pl_modbus_addr_format(&probe, text, sizeof(text)) < 0 ||
            pl_modbus_addr_parse(&probe, text, 0, NULL) < 0) {
            fprintf(stderr, "plcline write: '%s': %zu values run past address 65535\n", arg, nvals);
            return CLI_EXIT_USAGE;
        }
        a->count = (uint32_t)nvals;
    }
    len = data_bytes(a);
    *data = calloc(len, 1);
    if (*data == NULL)
        return CLI_EXIT_FAIL;
    p = eq + 1;
    for (i = 0; i < a->count; i++) {
        end = a->type == PL_MODBUS_T_STR ? p + strlen(p) : strchr(p, ',');
        if (end == NULL)
            end = p + strlen(p);
        if (pl_modbus_value_put(a, *data, len, i, (pl_modbus_order_t)cfg->byte_order, p,
                                (size_t)(end - p), &st) < 0) {
            cli_print_error(arg, &st);
            free(*data);
            *data = NULL;
            return CLI_EXIT_USAGE;
        }
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

static int write_one(uv_loop_t *loop, pl_modbus_client_t *c, const pl_modbus_client_config_t *cfg,
                     const pl_modbus_addr_t *a, const uint8_t *data, const char *what)
{
    pl_modbus_request_t req;
    uint32_t units = pl_modbus_addr_units(a), i;
    int done = 0, rc;

    req.data = &done;
    if (a->bit < 0)
        return finish(loop, &req, &done,
                      pl_modbus_write(c, &req, cfg->unit, pl_modbus_table_write_fc(a->table, units),
                                      a->addr, units, data, req_done),
                      what);
    for (i = 0; i < a->count; i++) { /* bits of holding registers: one mask write each */
        uint32_t bit = (uint32_t)a->bit + i, reg = bit / 16u;
        uint16_t mask = (uint16_t)(1u << (bit % 16u));
        int on = (pl_modbus_reg(data, (size_t)units * 2u, reg) & mask) != 0;

        done = 0;
        rc = finish(loop, &req, &done,
                    pl_modbus_mask_write(c, &req, cfg->unit, (uint16_t)(a->addr + reg),
                                         (uint16_t)~mask, on ? mask : 0, req_done),
                    what);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int cli_modbus_write(const char *url, char **args, int n, const pl_logger_t *log)
{
    pl_modbus_client_config_t cfg;
    pl_modbus_client_t *c;
    uv_loop_t loop;
    int i, rc;

    rc = open_client(NULL, url, log, NULL, &cfg);
    if (rc != 0)
        return rc;
    for (i = 0; i < n; i++) { /* every assignment is checked before the device is touched */
        pl_modbus_addr_t a;
        uint8_t *data;

        rc = parse_assignment(args[i], &cfg, &a, &data);
        free(data);
        if (rc != 0)
            return rc;
    }
    uv_loop_init(&loop);
    rc = open_client(&loop, url, log, &c, &cfg);
    if (rc != 0) {
        uv_loop_close(&loop);
        return rc;
    }
    for (i = 0; i < n && rc == 0; i++) {
        pl_modbus_addr_t a;
        uint8_t *data;
        char what[600];

        snprintf(what, sizeof(what), "%s: %s", url, args[i]);
        rc = parse_assignment(args[i], &cfg, &a, &data);
        if (rc == 0)
            rc = write_one(&loop, c, &cfg, &a, data, what);
        free(data);
    }
    close_client(&loop, c);
    return rc;
}

/* --- bench -------------------------------------------------------------------------- */

typedef struct {
    pl_modbus_client_config_t cfg;
    pl_modbus_addr_t addr;
    uint32_t units;
    char local[STORAGE];
} bench_plan_t;

typedef struct {
    pl_modbus_request_t req;
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
    pl_modbus_client_config_init(&p->cfg);
    if (pl_modbus_client_config_url(&p->cfg, url, p->local, sizeof(p->local), &st) < 0) {
        cli_print_error(url, &st);
        free(p);
        return CLI_EXIT_USAGE;
    }
    if (pl_modbus_addr_parse(&p->addr, addr, p->cfg.zero_based ? PL_MODBUS_ADDR_ZERO_BASED : 0,
                             &st) < 0) {
        cli_print_error(addr, &st);
        free(p);
        return CLI_EXIT_USAGE;
    }
    if (inflight > PL_MODBUS_CLIENT_MAX_INFLIGHT) {
        fprintf(stderr, "plcline bench: --inflight %u: at most %u\n", inflight,
                PL_MODBUS_CLIENT_MAX_INFLIGHT);
        free(p);
        return CLI_EXIT_USAGE;
    }
    if (inflight != 0)
        p->cfg.inflight = inflight;
    p->cfg.log = log;
    p->units = pl_modbus_addr_units(&p->addr);
    *inflight_out = p->cfg.inflight;
    *timeout_ms = p->cfg.timeout_ms;
    *buf_bytes = data_bytes(&p->addr);
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

    return pl_modbus_client_new(loop, &p->cfg, (pl_modbus_client_t **)client);
}

static void bench_client_free(void *client)
{
    pl_modbus_client_free(client);
}

static const pl_line_t *bench_client_line(void *client)
{
    return pl_modbus_client_line(client);
}

static void bench_done(pl_modbus_request_t *req)
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
    rc = pl_modbus_read(client, &r->req, p->cfg.unit, pl_modbus_table_read_fc(p->addr.table),
                        p->addr.addr, p->units, buf, bench_done);
    if (rc < 0)
        pl_status_set(st, rc, 0, NULL);
    return rc;
}

static const cli_bench_t bench = {
    .req_size = sizeof(bench_req_t),
    .plan_new = bench_plan_new,
    .plan_free = bench_plan_free,
    .client_new = bench_client_new,
    .client_free = bench_client_free,
    .client_line = bench_client_line,
    .read = bench_read,
};

extern const pl_protocol_t pl_protocol_modbus; /* modbus_protocol.c */

const cli_proto_t cli_proto_modbus = {
    .protocol = &pl_protocol_modbus,
    .read = cli_modbus_read,
    .write = cli_modbus_write,
    .write_notes = "Modbus: one coil or register goes out with FC 5/6, several with FC 15/16;\n"
                   "bits of holding registers (hr10/3=1) with a mask write (FC 22); strings\n"
                   "take one value (hr0:str8=a, b).\n",
    .bench = &bench,
};
