/* SPDX-License-Identifier: MIT */
/*
 * plcline read URL ADDR...
 *
 * Prints one line per address: the address as given, then its values separated by single
 * spaces. Any failure: one line on stderr naming the URL and address, the error name, its
 * code and the detail (OS reason, the device's own status), and exit status 1; bad arguments exit
 * 2. The protocol is chosen by the URL's scheme (src/proto/<name>/cli_<name>.c).
 */
#include "cli.h"

#include <string.h>

static void usage(FILE *fp)
{
    fputs("usage: plcline read [-v] URL ADDR...\n"
          "\n"
          "Reads each address and prints '<ADDR> <value> [<value>...]', one line each.\n"
          "\n",
          fp);
    cli_proto_usage(fp);
    fputs("\n"
          "  -v   log connection events to stderr\n",
          fp);
}

int cmd_read(int argc, char **argv)
{
    const cli_proto_t *cp;
    pl_logger_t log;
    int first = 1;

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
    cp = cli_proto_of_url(argv[first], "read");
    if (cp == NULL)
        return CLI_EXIT_USAGE;
    return cp->read(argv[first], argv + first + 1, argc - first - 1, &log);
}
