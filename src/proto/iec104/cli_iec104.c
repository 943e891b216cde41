/* SPDX-License-Identifier: MIT */
/*
 * The IEC 60870-5-104 part of the plcline command ('serve' needs nothing here: the
 * descriptor's simulator hooks).
 *
 * 'read' connects, starts data transfer and waits for the general interrogation to end; it
 * prints the values of the IOAs asked for from that answer, or with --all the whole answer,
 * one object a line: IOA, type, value, quality flags and time tag ('-' when absent). That
 * is how a user finds out what an outstation has.
 *
 * 'write' sends one command per TYPE:IOA=VALUE argument and waits for its ACT_CON and
 * ACT_TERM; ':sbo' selects before it executes, ':qN' sets the qualifier.
 */
#include "proto/cli_proto.h"

#include "plcline/error.h"
#include "plcline/iec104_client.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STORAGE 64

extern const pl_protocol_t pl_protocol_iec104;

typedef struct {
    uv_loop_t loop;
    pl_iec104_client_t *c;
    pl_iec104_client_config_t cfg;
    pl_iec104_point_t *pts;
    size_t n, cap;
    int done;         /* GI terminated, failed, or the deadline passed */
    pl_status_t why;  /* failure */
    uv_timer_t guard; /* the whole read's deadline */
} session_t;

static void on_data(pl_iec104_client_t *c, const pl_iec104_point_t *p, void *ud)
{
    session_t *s = ud;
    size_t i;

    (void)c;
    if (p->cause != 20u || s->done) /* the interrogation's answer only */
        return;
    for (i = 0; i < s->n; i++)
        if (s->pts[i].ioa == p->ioa) {
            s->pts[i] = *p;
            return;
        }
    if (s->n == s->cap) {
        size_t cap = s->cap == 0 ? 256 : s->cap * 2;
        pl_iec104_point_t *np = realloc(s->pts, cap * sizeof(*np));

        if (np == NULL) {
            pl_status_set(&s->why, PL_ENOMEM, 0, NULL);
            s->done = 1;
            return;
        }
        s->pts = np;
        s->cap = cap;
    }
    s->pts[s->n++] = *p;
}

static void on_link(pl_iec104_client_t *c, pl_iec104_link_t what, const pl_status_t *why, void *ud)
{
    session_t *s = ud;

    (void)c;
    if (s->done)
        return;
    if (what == PL_IEC104_LINK_GI_DONE) {
        if (why != NULL && why->code != 0)
            s->why = *why;
        s->done = 1;
    } else if (what == PL_IEC104_LINK_DOWN && why != NULL && why->code != 0) {
        s->why = *why; /* the line tries the next host; the deadline ends the wait */
    }
}

static void on_guard(uv_timer_t *t)
{
    session_t *s = t->data;

    if (s->done)
        return;
    if (s->why.code == 0)
        pl_status_set(&s->why, PL_ETIMEOUT, 0, "no started connection within %u ms",
                      s->cfg.timeout_ms);
    s->done = 1;
}

/* Parses the URL and starts the client. CLI_EXIT_USAGE / _FAIL after printing, or 0. */
static int open_session(session_t *s, const char *url, const pl_logger_t *log, int no_gi)
{
    static char local[STORAGE];
    pl_status_t st;
    int rc;

    memset(s, 0, sizeof(*s));
    pl_status_clear(&st);
    pl_iec104_client_config_init(&s->cfg);
    rc = pl_iec104_client_config_url(&s->cfg, url, local, sizeof(local), &st);
    if (rc < 0) {
        cli_print_error(url, &st);
        return CLI_EXIT_USAGE;
    }
    s->cfg.log = log;
    s->cfg.on_data = on_data;
    s->cfg.on_link = on_link;
    s->cfg.ud = s;
    s->cfg.no_gi = no_gi;
    uv_loop_init(&s->loop);
    rc = pl_iec104_client_new(&s->loop, &s->cfg, &s->c);
    if (rc < 0) {
        pl_status_set(&st, rc, 0, "the URL's timers or windows do not fit together");
        cli_print_error(url, &st);
        (void)uv_loop_close(&s->loop);
        return CLI_EXIT_USAGE;
    }
    uv_timer_init(&s->loop, &s->guard);
    s->guard.data = s;
    uv_timer_start(&s->guard, on_guard, s->cfg.timeout_ms, 0);
    (void)pl_iec104_client_start(s->c);
    return 0;
}

static void close_session(session_t *s)
{
    pl_iec104_client_free(s->c);
    uv_close((uv_handle_t *)&s->guard, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&s->loop);
    free(s->pts);
}

static void print_value(const pl_iec104_point_t *p)
{
    if (p->type == 13u || p->type == 36u || p->type == 9u || p->type == 34u)
        printf("%.9g", p->value);
    else
        printf("%" PRId64, (int64_t)p->value);
}

static void print_quality(uint8_t q)
{
    static const struct {
        uint8_t bit;
        const char *name;
    } flags[] = {{0x80, "IV"}, {0x40, "NT"}, {0x20, "SB"}, {0x10, "BL"}, {0x01, "OV"}};
    size_t i;
    int any = 0;

    for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (q & flags[i].bit) {
            printf("%s%s", any ? "," : "", flags[i].name);
            any = 1;
        }
    if (!any)
        putchar('-');
}

static void print_time(const pl_iec104_point_t *p)
{
    time_t secs;
    struct tm tm;
    char buf[32];

    if (!p->has_time || p->time_ms == 0) {
        fputs(p->has_time ? "invalid-time" : "-", stdout);
        return;
    }
    secs = (time_t)(p->time_ms / 1000);
    gmtime_r(&secs, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    printf("%s.%03dZ%s%s", buf, (int)(p->time_ms % 1000), p->time_iv ? ",IV" : "",
           p->time_su ? ",SU" : "");
}

static int by_ioa(const void *a, const void *b)
{
    const pl_iec104_point_t *x = a, *y = b;

    return x->ioa < y->ioa ? -1 : x->ioa > y->ioa;
}

/* "1001" or "M_ME_NC_1:1001": the IOA and the expected type (-1: any). */
static int parse_ioa(const char *arg, uint32_t *ioa, int *type)
{
    const char *colon = strchr(arg, ':'), *num = colon != NULL ? colon + 1 : arg;
    char name[16];
    unsigned long v;
    char *end;

    *type = -1;
    if (colon != NULL) {
        if ((size_t)(colon - arg) >= sizeof(name))
            return -1;
        memcpy(name, arg, (size_t)(colon - arg));
        name[colon - arg] = '\0';
        if ((*type = pl_iec104_type_of(name)) < 0)
            return -1;
    }
    if (*num < '0' || *num > '9')
        return -1;
    v = strtoul(num, &end, 10);
    if (*end != '\0' || v < 1 || v > 16777215ul)
        return -1;
    *ioa = (uint32_t)v;
    return 0;
}

static int cli_iec104_read(const char *url, char **args, int n, const pl_logger_t *log)
{
    session_t s;
    int all = 0, i, rc;
    pl_status_t st;

    for (i = 0; i < n; i++) {
        uint32_t ioa;
        int type;

        if (strcmp(args[i], "--all") == 0) {
            all = 1;
            continue;
        }
        if (parse_ioa(args[i], &ioa, &type) < 0) {
            pl_status_clear(&st);
            pl_status_set(&st, PL_EINVAL, 0,
                          "expected an information object address 1..16777215, optionally "
                          "after a monitoring type (M_ME_NC_1:1001), or --all");
            cli_print_error(args[i], &st);
            return CLI_EXIT_USAGE;
        }
    }
    rc = open_session(&s, url, log, 0);
    if (rc != 0)
        return rc;
    cli_wait(&s.loop, &s.done);
    if (s.why.code != 0) {
        cli_print_error(url, &s.why);
        close_session(&s);
        return CLI_EXIT_FAIL;
    }
    qsort(s.pts, s.n, sizeof(*s.pts), by_ioa);
    for (i = 0; i < n && rc == 0; i++) {
        const pl_iec104_point_t *p = NULL;
        uint32_t ioa;
        int type;
        size_t k;

        if (strcmp(args[i], "--all") == 0)
            continue;
        (void)parse_ioa(args[i], &ioa, &type);
        for (k = 0; k < s.n && p == NULL; k++)
            if (s.pts[k].ioa == ioa)
                p = &s.pts[k];
        pl_status_clear(&st);
        if (p == NULL)
            pl_status_set(&st, PL_EIEC104_UNKNOWN_IOA, 0,
                          "IOA %u is not in the general interrogation's answer", (unsigned)ioa);
        else if (type >= 0 && p->type != type)
            pl_status_set(&st, PL_EIEC104_TYPE, 0, "IOA %u is %s, not %s", (unsigned)ioa,
                          pl_iec104_type_str(p->type), pl_iec104_type_str((uint8_t)type));
        if (st.code != 0) {
            cli_print_error(args[i], &st);
            rc = CLI_EXIT_FAIL;
            break;
        }
        printf("%s ", args[i]);
        print_value(p);
        if (p->quality != 0) {
            putchar(' ');
            print_quality(p->quality);
        }
        putchar('\n');
    }
    if (all && rc == 0)
        for (i = 0; (size_t)i < s.n; i++) {
            const pl_iec104_point_t *p = &s.pts[i];

            printf("%u %s ", (unsigned)p->ioa, pl_iec104_type_str(p->type));
            print_value(p);
            putchar(' ');
            print_quality(p->quality);
            putchar(' ');
            print_time(p);
            putchar('\n');
        }
    fflush(stdout);
    close_session(&s);
    return rc;
}

typedef struct {
    pl_iec104_cmd_t cmd;
    int done;
} wcmd_t;

static void cmd_done(pl_iec104_cmd_t *cmd)
{
    ((wcmd_t *)cmd->data)->done = 1;
}

/* "TYPE:IOA[:sbo][:qN]=VALUE" into `cmd`. */
static int parse_command(const char *arg, pl_iec104_cmd_t *cmd)
{
    const char *eq = strchr(arg, '=');
    char text[64], *tok, *save = NULL, *end;
    unsigned long v;
    int type;

    memset(cmd, 0, sizeof(*cmd));
    if (eq == NULL || (size_t)(eq - arg) >= sizeof(text) || eq[1] == '\0')
        return -1;
    memcpy(text, arg, (size_t)(eq - arg));
    text[eq - arg] = '\0';
    tok = strtok_r(text, ":", &save);
    if (tok == NULL || (type = pl_iec104_type_of(tok)) < 0 ||
        !((type >= 45 && type <= 51) || (type >= 58 && type <= 64))) /* commands only */
        return -1;
    cmd->type = (uint8_t)type;
    tok = strtok_r(NULL, ":", &save);
    if (tok == NULL || *tok < '0' || *tok > '9')
        return -1;
    v = strtoul(tok, &end, 10);
    if (*end != '\0' || v < 1 || v > 16777215ul)
        return -1;
    cmd->ioa = (uint32_t)v;
    while ((tok = strtok_r(NULL, ":", &save)) != NULL) {
        if (strcmp(tok, "sbo") == 0) {
            cmd->sbo = 1;
        } else if (tok[0] == 'q' && tok[1] >= '0' && tok[1] <= '9') {
            v = strtoul(tok + 1, &end, 10);
            if (*end != '\0' || v > 127)
                return -1;
            cmd->qualifier = (uint8_t)v;
        } else {
            return -1;
        }
    }
    cmd->value = strtod(eq + 1, &end);
    return *end == '\0' ? 0 : -1;
}

static int cli_iec104_write(const char *url, char **args, int n, const pl_logger_t *log)
{
    session_t s;
    wcmd_t *w;
    pl_status_t st;
    int i, rc;

    w = calloc((size_t)n, sizeof(*w));
    if (w == NULL)
        return CLI_EXIT_FAIL;
    for (i = 0; i < n; i++)
        if (parse_command(args[i], &w[i].cmd) < 0) {
            pl_status_clear(&st);
            pl_status_set(&st, PL_EINVAL, 0,
                          "expected TYPE:IOA[:sbo][:qN]=VALUE with a command type "
                          "(C_SE_NC_1:5001=1.5)");
            cli_print_error(args[i], &st);
            free(w);
            return CLI_EXIT_USAGE;
        }
    rc = open_session(&s, url, log, 1);
    if (rc != 0) {
        free(w);
        return rc;
    }
    uv_timer_stop(&s.guard); /* each command has its own timeout */
    for (i = 0; i < n && rc == 0; i++) {
        char what[300];

        w[i].cmd.cb = cmd_done;
        w[i].cmd.data = &w[i];
        snprintf(what, sizeof(what), "%s: %s", url, args[i]);
        if (pl_iec104_command(s.c, &w[i].cmd) < 0) {
            pl_status_clear(&st);
            pl_status_set(&st, PL_EINVAL, 0, "the value does not fit %s",
                          pl_iec104_type_str(w[i].cmd.type));
            cli_print_error(what, &st);
            rc = CLI_EXIT_USAGE;
            break;
        }
        cli_wait(&s.loop, &w[i].done);
        if (w[i].cmd.status.code != 0) {
            cli_print_error(what, &w[i].cmd.status);
            rc = CLI_EXIT_FAIL;
        }
    }
    close_session(&s);
    free(w);
    return rc;
}

const cli_proto_t cli_proto_iec104 = {
    .protocol = &pl_protocol_iec104,
    .read = cli_iec104_read,
    .write = cli_iec104_write,
    .write_notes = "IEC 104: TYPE:IOA[:sbo][:qN]=VALUE sends one command (C_SC_NA_1 .. C_BO_NA_1,\n"
                   "C_SC_TA_1 .. C_BO_TA_1) and waits for its ACT_CON and ACT_TERM; :sbo selects\n"
                   "first, :qN sets the qualifier. 'read URL --all' prints the whole general\n"
                   "interrogation's answer.\n",
    .bench = NULL,
};
