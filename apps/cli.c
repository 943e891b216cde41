/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the plcline command (not part of the library): stderr logging, the
 * one-line error format, and a synchronous wrapper around the asynchronous client calls.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Log lines quote what partners send (names, text, details): control bytes are written as
 * \xHH so that a partner cannot move the cursor, clear the screen or forge a line. */
static void log_to_stderr(void *ud, pl_log_level_t level, const char *msg)
{
    char safe[2048];
    size_t o = 0;

    (void)ud;
    for (; *msg != '\0' && o + 5 < sizeof(safe); msg++) {
        unsigned char c = (unsigned char)*msg;

        if (c < 0x20u || c == 0x7Fu)
            o += (size_t)snprintf(safe + o, sizeof(safe) - o, "\\x%02X", c);
        else
            safe[o++] = (char)c;
    }
    safe[o] = '\0';
    fprintf(stderr, "plcline: %s: %s\n", pl_log_level_name(level), safe);
}

void cli_logger_init(pl_logger_t *log, pl_log_level_t level)
{
    memset(log, 0, sizeof(*log)); /* burst and interval: the library's defaults */
    log->cb = log_to_stderr;
    log->ud = NULL;
    log->level = level;
}

int cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}
