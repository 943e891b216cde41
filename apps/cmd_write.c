/* SPDX-License-Identifier: MIT */
/*
 * plcline write URL ADDR=V[,V...]...
 *
 * Writes each assignment in order and prints nothing on success. A bit (W<off>/<bit>) is
 * written by reading its word(s) and writing them back with the bit changed: 7TTCP has no
 * masked write, so a concurrent change of the other bits of that word by the node can be
 * lost; use whole words where that matters.
 */
#include "cli.h"

#include "codec/ttcp_addr.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *fp)
{
    fputs("usage: plcline write [-v] URL ADDR=V[,V...]...\n"
          "\n"
          "Writes values; prints nothing on success. ADDR as for 'plcline read'.\n"
          "'W10=1,2,3' writes 3 words; with a count ('W10,3=...') the number of values\n"
          "must match it. Bits (W10/3=1) are read, changed and written back.\n"
          "\n"
          "  -v   log connection events to stderr\n",
          fp);
}

/* Runs one request synchronously; returns 0 or prints the error and returns 1. */
static int run(uv_loop_t *loop, pl_ttcp_client_t *c, int write, uint32_t node,
               const pl_ttcp_addr_t *a, uint16_t *words, const char *what)
{
    pl_ttcp_req_t req;
    int done = 0, rc;

    req.data = &done;
    if (write)
        rc = pl_ttcp_write(c, &req, node, a->offset, words, pl_ttcp_addr_words(a), cli_ttcp_done);
    else
        rc = pl_ttcp_read(c, &req, node, a->offset, words, pl_ttcp_addr_words(a), cli_ttcp_done);
    if (rc < 0)
        pl_status_set(&req.status, rc, 0, NULL);
    else
        cli_ttcp_wait(loop, &req);
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

int cmd_write(int argc, char **argv)
{
    pl_logger_t log;
    pl_ttcp_client_t *c;
    uv_loop_t loop;
    uint32_t node;
    int i, first = 1, swap = 0, rc;

    cli_logger_init(&log, PL_LOG_ERROR);
    while (first < argc && argv[first][0] == '-') {
        if (cli_is_help(argv[first])) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(argv[first], "-v") == 0) {
            log.level = PL_LOG_DEBUG;
            first++;
            continue;
        }
        fprintf(stderr, "plcline write: unknown option '%s'\n", argv[first]);
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (argc - first < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    /* Validate every assignment before touching the device. */
    for (i = first + 1; i < argc; i++) {
        pl_ttcp_addr_t a;
        uint16_t *w = NULL;
        const char *values;

        rc = parse_assignment(argv[i], &a, &w, &values);
        if (rc == 0)
            rc = put_values(&a, w, 0, values, argv[i]);
        free(w);
        if (rc != 0)
            return rc;
    }
    uv_loop_init(&loop);
    rc = cli_ttcp_open(&loop, argv[first], &log, &c, &node, &swap);
    if (rc != 0) {
        uv_loop_close(&loop);
        return rc;
    }
    for (i = first + 1; i < argc && rc == 0; i++) {
        pl_ttcp_addr_t a;
        uint16_t *w = NULL;
        const char *values;
        char what[600];

        snprintf(what, sizeof(what), "%s: %s", argv[first], argv[i]);
        rc = parse_assignment(argv[i], &a, &w, &values);
        if (rc == 0 && a.kind == PL_TTCP_BIT)
            rc = run(&loop, c, 0, node, &a, w, what); /* read-modify-write */
        if (rc == 0)
            rc = put_values(&a, w, swap, values, argv[i]);
        if (rc == 0)
            rc = run(&loop, c, 1, node, &a, w, what);
        free(w);
    }
    cli_ttcp_close(&loop, c);
    return rc == 0 ? CLI_EXIT_OK : (rc == CLI_EXIT_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAIL);
}
