/* SPDX-License-Identifier: MIT */
/*
 * plcline write URL ADDR=V[,V...]...
 *
 * Writes each assignment in order and prints nothing on success; every assignment is checked
 * before the device is touched. Errors as for 'plcline read'. The protocol is chosen by the
 * URL's scheme (src/proto/<name>/cli_<name>.c), which also says how bits are written.
 */
#include "cli.h"

#include <string.h>

static void usage(FILE *fp)
{
    fputs("usage: plcline write [-v] URL ADDR=V[,V...]...\n"
          "\n"
          "Writes values; prints nothing on success. ADDR as for 'plcline read'.\n"
          "'W10=1,2,3' / 'N7:10=1,2,3' write 3 elements; with a count ('W10,3=...') the\n"
          "number of values must match it.\n",
          fp);
    cli_proto_write_notes(fp);
    fputs("\n"
          "  -v   log connection events to stderr\n",
          fp);
}

int cmd_write(int argc, char **argv)
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
        fprintf(stderr, "plcline write: unknown option '%s'\n", argv[first]);
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (argc - first < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    cp = cli_proto_of_url(argv[first], "write");
    if (cp == NULL)
        return CLI_EXIT_USAGE;
    return cp->write(argv[first], argv + first + 1, argc - first - 1, &log);
}
