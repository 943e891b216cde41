/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the plcline command (not part of the library): stderr logging, the
 * one-line error format, and a synchronous wrapper around the asynchronous client calls.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static void log_to_stderr(void *ud, pl_log_level_t level, const char *msg)
{
    (void)ud;
    fprintf(stderr, "plcline: %s: %s\n", pl_log_level_name(level), msg);
}

void cli_logger_init(pl_logger_t *log, pl_log_level_t level)
{
    log->cb = log_to_stderr;
    log->ud = NULL;
    log->level = level;
}

void cli_print_error(const char *what, const pl_status_t *st)
{
    char buf[512];

    pl_status_format(st, buf, sizeof(buf));
    fprintf(stderr, "plcline: %s: %s\n", what, buf);
}

int cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int cli_ttcp_open(uv_loop_t *loop, const char *url, const pl_logger_t *log, pl_ttcp_client_t **c,
                  uint32_t *node, int *swap)
{
    static char local[256];
    pl_ttcp_client_config_t cfg;
    pl_status_t st;
    int rc;

    pl_status_clear(&st);
    pl_ttcp_client_config_init(&cfg);
    rc = pl_ttcp_client_config_url(&cfg, url, node, swap, local, sizeof(local), &st);
    if (rc < 0) {
        cli_print_error(url, &st);
        return CLI_EXIT_USAGE;
    }
    cfg.keepalive_ms = 0; /* one-shot commands never idle long enough */
    cfg.log = log;
    rc = pl_ttcp_client_new(loop, &cfg, c);
    if (rc < 0) {
        pl_status_set(&st, rc, 0, NULL);
        cli_print_error(url, &st);
        return CLI_EXIT_FAIL;
    }
    return 0;
}

void cli_ttcp_done(pl_ttcp_req_t *req)
{
    int *done = req->data;

    *done = 1;
}

void cli_ttcp_wait(uv_loop_t *loop, pl_ttcp_req_t *req)
{
    int *done = req->data;

    while (!*done) {
        if (uv_run(loop, UV_RUN_ONCE) == 0 && !*done)
            break; /* nothing left that could complete it: cannot happen */
    }
}

void cli_ttcp_close(uv_loop_t *loop, pl_ttcp_client_t *c)
{
    pl_ttcp_client_free(c);
    uv_run(loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(loop);
}
