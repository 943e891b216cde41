/* SPDX-License-Identifier: MIT */
/*
 * Shared pieces of the plcline command: subcommand entry points, logging to stderr, the
 * error-line format, running one request to completion on a loop, and the protocol parts
 * of read/write (one file per protocol: src/proto/<name>/cli_<name>.c).
 */
#ifndef PLCLINE_APPS_CLI_H
#define PLCLINE_APPS_CLI_H

#include <stdio.h>
#include <uv.h>

#include "plcline/log.h"
#include "proto/registry.h"

#define CLI_EXIT_OK    0
#define CLI_EXIT_FAIL  1 /* the operation failed */
#define CLI_EXIT_USAGE 2 /* bad arguments */

int cmd_read(int argc, char **argv);
int cmd_write(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Logger printing "plcline: <level>: <msg>" on stderr, up to `level`. */
void cli_logger_init(pl_logger_t *log, pl_log_level_t level);

/* Prints "plcline: <what>: <status formatted>" on stderr. */
void cli_print_error(const char *what, const pl_status_t *st);

/* True when `arg` is -h or --help. */
int cli_is_help(const char *arg);

/* Runs the loop until *done becomes nonzero (a request submitted already completes). */
void cli_wait(uv_loop_t *loop, const int *done);

/* A protocol's part of 'read' and 'write' (src/proto/<name>/cli_<name>.c): `args` are the n
 * address (read) or ADDR=VALUE (write) arguments. Each returns the exit code. */
typedef struct {
    const pl_protocol_t *protocol; /* the registry's descriptor */
    int (*read)(const char *url, char **args, int n, const pl_logger_t *log);
    int (*write)(const char *url, char **args, int n, const pl_logger_t *log);
    const char *write_notes; /* how 'write' treats bits, strings, structures */
} cli_proto_t;

/* The command's part of the protocol named by `url`'s scheme (src/proto/cli_protocols.c).
 * An unknown or missing scheme prints "plcline: URL: ..." listing the known protocols and
 * returns NULL (the caller exits with CLI_EXIT_USAGE). */
const cli_proto_t *cli_proto_of_url(const char *url);

/* Every protocol's usage text (URL and address grammar), a blank line between them. */
void cli_proto_usage(FILE *fp);

/* Every protocol's notes on writing. */
void cli_proto_write_notes(FILE *fp);

/* Each protocol's first usage line (its URL form), for the command's own usage. */
void cli_proto_urls(FILE *fp);

#endif
