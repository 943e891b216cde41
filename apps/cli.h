/* SPDX-License-Identifier: MIT */
/*
 * Shared pieces of the plcline command: subcommand entry points, logging to stderr, the
 * error-line format, and running one request to completion on a loop.
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

/* Logger printing "plcline: <level>: <msg>" on stderr, up to `level`. */
void cli_logger_init(pl_logger_t *log, pl_log_level_t level);

/* Prints "plcline: <what>: <status formatted>" on stderr. */
void cli_print_error(const char *what, const pl_status_t *st);

/* True when `arg` is -h or --help. */
int cli_is_help(const char *arg);

/* Opens a 7TTCP client for `url`. On failure prints the error and returns the exit code
 * (CLI_EXIT_USAGE for a malformed URL, CLI_EXIT_FAIL otherwise); 0 on success. */
int cli_ttcp_open(uv_loop_t *loop, const char *url, const pl_logger_t *log, pl_ttcp_client_t **c,
                  uint32_t *node, int *swap);

/* Runs the loop until `req` (submitted already) completes. */
void cli_ttcp_wait(uv_loop_t *loop, pl_ttcp_req_t *req);
/* The callback to submit requests with when using cli_ttcp_wait(). */
void cli_ttcp_done(pl_ttcp_req_t *req);

/* Frees the client and closes the loop. */
void cli_ttcp_close(uv_loop_t *loop, pl_ttcp_client_t *c);

#endif
