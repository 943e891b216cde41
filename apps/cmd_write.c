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
          "number of values must match it.\n"
          "7TTCP bits (W10/3=1) are read, changed and written back. PCCC bits (B3:0/5=1,\n"
          "T4:0.EN=1) use a masked write; strings take one value (ST9:0=\"a, b\" or\n"
          "ST9:0=a, b); whole timers/counters/controls take KEY=value pairs\n"
          "(T4:0=PRE=100,ACC=0) and are read first so unnamed fields keep their value.\n"
          "\n"
          "  -v   log connection events to stderr\n",
          fp);
}

int cmd_write(int argc, char **argv)
{
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
    if (cli_is_pccc(argv[first]))
        return cli_pccc_write(argv[first], argv + first + 1, argc - first - 1, &log);
    return cli_ttcp_write(argv[first], argv + first + 1, argc - first - 1, &log);
}
