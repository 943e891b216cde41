/* SPDX-License-Identifier: MIT */
/*
 * plcline read URL ADDR...
 *
 * Prints one line per address: the address as given, then its values separated by single
 * spaces. Any failure: one line on stderr naming the URL and address, the error name, its
 * code and the OS reason, and exit status 1.
 */
#include "cli.h"

#include "codec/ttcp_addr.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *fp)
{
    fputs("usage: plcline read [-v] URL ADDR...\n"
          "\n"
          "Reads each address and prints '<ADDR> <value> [<value>...]', one line each.\n"
          "\n"
          "7TTCP URL: 7ttcp://HOST[:PORT][/NODE][?key=value&...]\n"
          "  HOST     IPv4, [IPv6] or name; a list 'a,b;c' is tried in turn\n"
          "  PORT     default 12398; NODE default 0\n"
          "  keys     timeout=MS (1000) keepalive=S max_block=WORDS (256) swap=0|1\n"
          "           connect_timeout=MS local=ADDR[:PORT] queue=N\n"
          "7TTCP ADDR: W<off> u16, I<off> i16, D<off> u32, L<off> i32, F<off> float32,\n"
          "  B<off> byte, W<off>/<bit> bit; optional ,<count>\n"
          "\n"
          "  -v   log connection events to stderr\n",
          fp);
}

int cmd_read(int argc, char **argv)
{
    pl_logger_t log;
    pl_ttcp_addr_t *addrs;
    pl_ttcp_client_t *c;
    uv_loop_t loop;
    uint32_t node;
    int i, first = 1, swap = 0, rc = CLI_EXIT_OK, n, err;
    pl_status_t st;

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
        fprintf(stderr, "plcline read: unknown option '%s'\n", argv[first]);
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (argc - first < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    n = argc - first - 1;
    addrs = calloc((size_t)n, sizeof(*addrs));
    if (addrs == NULL)
        return CLI_EXIT_FAIL;
    for (i = 0; i < n; i++) {
        if (pl_ttcp_addr_parse(&addrs[i], argv[first + 1 + i], &st) < 0) {
            cli_print_error(argv[first + 1 + i], &st);
            free(addrs);
            return CLI_EXIT_USAGE;
        }
    }
    uv_loop_init(&loop);
    rc = cli_ttcp_open(&loop, argv[first], &log, &c, &node, &swap);
    if (rc != 0) {
        uv_loop_close(&loop);
        free(addrs);
        return rc;
    }
    for (i = 0; i < n && rc == CLI_EXIT_OK; i++) {
        const char *text = argv[first + 1 + i];
        uint32_t words = pl_ttcp_addr_words(&addrs[i]), k;
        uint16_t *buf = calloc(words, sizeof(uint16_t));
        pl_ttcp_req_t req;
        int done = 0;

        if (buf == NULL) {
            rc = CLI_EXIT_FAIL;
            break;
        }
        req.data = &done;
        err = pl_ttcp_read(c, &req, node, addrs[i].offset, buf, words, cli_ttcp_done);
        if (err < 0) {
            pl_status_set(&req.status, err, 0, NULL);
        } else {
            cli_ttcp_wait(&loop, &req);
        }
        if (req.status.code != 0) {
            char what[600];

            snprintf(what, sizeof(what), "%s: %s", argv[first], text);
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
    cli_ttcp_close(&loop, c);
    free(addrs);
    return rc;
}
