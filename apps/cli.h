/* SPDX-License-Identifier: MIT */
/*
 * Shared pieces of the plcline command: subcommand entry points, logging to stderr, the
 * error-line format, running one request to completion on a loop, and the protocol parts
 * of read/write (one file per protocol: cli_ttcp.c, cli_pccc.c).
 */
#ifndef PLCLINE_APPS_CLI_H
#define PLCLINE_APPS_CLI_H

#include <stdio.h>
#include <uv.h>

#include "plcline/log.h"
#include "plcline/ttcp.h"

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

/* True when `url` has the pccc:// scheme (case-insensitive). */
int cli_is_pccc(const char *url);

/* Each protocol's part of 'read' and 'write' (src/proto/<name>/cli_<name>.c): `args`
 * are the n address (read) or ADDR=VALUE (write) arguments. Return the exit code. */
int cli_ttcp_read(const char *url, char **args, int n, const pl_logger_t *log);
int cli_ttcp_write(const char *url, char **args, int n, const pl_logger_t *log);
void cli_ttcp_usage(FILE *fp);
int cli_pccc_read(const char *url, char **args, int n, const pl_logger_t *log);
int cli_pccc_write(const char *url, char **args, int n, const pl_logger_t *log);
void cli_pccc_usage(FILE *fp);

#endif
