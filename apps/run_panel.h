/* SPDX-License-Identifier: MIT */
/*
 * The live table's panels (plcline run on a terminal): a compact line per device (state,
 * the host in use and its side, errors, the last error) and a status line with the result
 * of the last command typed on stdin: a write's answer, or why a line was not a command.
 * Formatting only, from the engine's status queries; it names no protocol.
 */
#ifndef PLCLINE_APPS_RUN_PANEL_H
#define PLCLINE_APPS_RUN_PANEL_H

#include <stdio.h>

#include "plcline/engine.h"

#define RUN_PANEL_DEVICES 8 /* device lines shown; more are summed up in one line */

/* Remembers the status page's URL for the header ("" or NULL: none). */
void run_panel_set_url(const char *url);

/* Remembers the answer to the last stdin command: a write of `tag` (may be "") with `id`
 * (may be ""), `st` its result. */
void run_panel_result(const char *tag, const char *id, const pl_status_t *st);

/* Prints the header extras, the device panel and the status line to `fp`. */
void run_panel_print(FILE *fp, pl_engine_t *e);

#endif
