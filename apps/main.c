/* SPDX-License-Identifier: MIT */
/*
 * plcline: the command. Dispatches to one file per subcommand (cmd_*.c).
 */
#include "cli.h"

#include <signal.h>
#include <string.h>

#ifndef PL_VERSION_STRING
#define PL_VERSION_STRING "0.0.0"
#endif

static void usage(FILE *fp)
{
    fputs("usage: plcline <command> [arguments]\n"
          "\n"
          "commands:\n"
          "  read URL ADDR...            read values and print one line per address\n"
          "  write URL ADDR=V[,V...]...  write values\n"
          "  serve URL [options]         run a device simulator"
          "\n"
          "  run CONFIG                  run the communication process (scan engine daemon)\n"
          "  bench URL ADDR [options]    measure request rate and latency of a device\n"
          "\n"
          "  plcline <command> --help    options of a command\n"
          "  plcline --version           version\n"
          "\n",
          fp);
    cli_proto_urls(fp);
}

int main(int argc, char **argv)
{
    /* A partner that resets its connection must cost that connection, not the process:
     * writes then fail with EPIPE instead of raising SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (cli_is_help(argv[1])) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("plcline %s (libuv %s)\n", PL_VERSION_STRING, uv_version_string());
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "read") == 0)
        return cmd_read(argc - 1, argv + 1);
    if (strcmp(argv[1], "write") == 0)
        return cmd_write(argc - 1, argv + 1);
    if (strcmp(argv[1], "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(argv[1], "bench") == 0)
        return cmd_bench(argc - 1, argv + 1);
    fprintf(stderr, "plcline: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
