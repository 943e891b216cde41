/* SPDX-License-Identifier: MIT */
/*
 * Shared pieces of the plcline command: subcommand entry points, logging to stderr, and
 * (through src/proto/cli_proto.h) the protocols' parts of read, write and bench.
 */
#ifndef PLCLINE_APPS_CLI_H
#define PLCLINE_APPS_CLI_H

#include <stdio.h>
#include <uv.h>

#include "plcline/log.h"
#include "proto/cli_proto.h"

int cmd_read(int argc, char **argv);
int cmd_write(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Logger printing "plcline: <level>: <msg>" on stderr, up to `level`. */
void cli_logger_init(pl_logger_t *log, pl_log_level_t level);

/* True when `arg` is -h or --help. */
int cli_is_help(const char *arg);

#endif
