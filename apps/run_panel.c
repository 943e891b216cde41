/* SPDX-License-Identifier: MIT */
/*
 * The live table's device panel and status line (see run_panel.h).
 */
#include "run_panel.h"

#include "plcline/error.h"

#include <string.h>
#include <time.h>

static char g_url[160];
static char g_status[320];
static int g_status_bad;

void run_panel_set_url(const char *url)
{
    snprintf(g_url, sizeof(g_url), "%s", url != NULL ? url : "");
}

void run_panel_result(const char *tag, const char *id, const pl_status_t *st)
{
    char when[16];
    time_t now = time(NULL);
    struct tm tm;
    int n;

    localtime_r(&now, &tm);
    strftime(when, sizeof(when), "%H:%M:%S", &tm);
    if (tag == NULL || tag[0] == '\0') /* not a command at all */
        n = snprintf(g_status, sizeof(g_status), "%s  input refused: %s (%s)%s%.160s", when,
                     pl_strerror(st->code), pl_err_name(st->code), st->detail[0] ? ": " : "",
                     st->detail);
    else if (st->code == 0)
        n = snprintf(g_status, sizeof(g_status), "%s  write %.64s%s%.40s%s: ok", when, tag,
                     id != NULL && id[0] ? " (id " : "", id != NULL ? id : "",
                     id != NULL && id[0] ? ")" : "");
    else
        n = snprintf(g_status, sizeof(g_status), "%s  write %.64s failed: %s (%s)%s%.120s", when,
                     tag, pl_strerror(st->code), pl_err_name(st->code), st->detail[0] ? ": " : "",
                     st->detail);
    (void)n;
    g_status_bad = st->code != 0;
}

void run_panel_print(FILE *fp, pl_engine_t *e)
{
    size_t i, n = pl_engine_device_count(e), down = 0, more = 0;
    pl_engine_device_info_t di;
    pl_engine_stats_t st;

    if (g_url[0] != '\0')
        fprintf(fp, "status page: %s\n", g_url);
    fprintf(fp, "%-20s %-10s %-32s %8s  %s\n", "DEVICE", "STATE", "CONNECTED TO", "ERRORS",
            "LAST ERROR");
    for (i = 0; i < n; i++) {
        char host[64], state[24];

        if (pl_engine_device_info(e, i, &di, &st) != 0)
            continue;
        if (!di.connected)
            down++;
        if (i >= RUN_PANEL_DEVICES) {
            more++;
            continue;
        }
        if (di.connected && di.has_backup)
            snprintf(host, sizeof(host), "%.40s %s", di.peer,
                     di.backup_active ? "backup" : "primary");
        else
            snprintf(host, sizeof(host), "%.60s", di.connected ? di.peer : "-");
        snprintf(state, sizeof(state), "%s", di.state);
        fprintf(fp, "%-20.20s %-10.10s %-32.32s %8llu  %s\n", di.name, state, host,
                (unsigned long long)st.errors,
                di.last_error.code != 0 ? pl_err_name(di.last_error.code) : "");
    }
    if (more > 0)
        fprintf(fp, "... %zu more devices (%zu of all %zu not connected)\n", more, down, n);
    fprintf(fp, "%s%s\n\n",
            g_status_bad  ? "! "
            : g_status[0] ? "  "
                          : "",
            g_status[0] ? g_status : "type {\"write\":\"TAG\",\"value\":V} and Enter to write");
}
