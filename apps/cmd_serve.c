/* SPDX-License-Identifier: MIT */
/*
 * plcline serve [options] SCHEME://HOST[:PORT][?KEY=VALUE&...]
 *
 * Runs a protocol's simulator until SIGINT or SIGTERM, then exits 0. Once listening it prints
 * "listening HOST:PORT" (the real port when PORT is 0) on stdout and flushes, so scripts and
 * tests can wait for that line instead of sleeping.
 *
 * This file knows no protocol: it handles the options every simulator takes, and builds the
 * simulator's key string from the protocol's descriptor (src/proto/registry.h): its
 * defaults for the command, the URL's query, then each protocol option in turn (the
 * descriptor's sim_options table). The simulator starts through the descriptor's sim_new,
 * as the daemon's 'simulators:' do.
 */
#include "cli.h"

#include "plcline/error.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LIST 64
#define OPT_COL  18 /* width of the option column of --help */

/* The options every simulator takes. */
static void usage_common(FILE *fp)
{
    fputs("  --delay MS         answer every request after MS milliseconds\n"
          "  --close-after N    close a connection when its N-th frame arrives\n"
          "  --animate MS       change demo values every MS milliseconds (what changes: below)\n"
          "  --max-conns N      refuse connections beyond N\n"
          "  --allow ADDR       accept only these partner addresses (repeatable)\n"
          "  --idle-timeout MS  close a connection that sent nothing for MS milliseconds\n"
          "                     (default 60000)\n"
          "  -q                 log only warnings and errors; what a partner causes is\n"
          "                     summarised: its first warning of a kind in full, then one\n"
          "                     count per 10 s (without -q: the first 5, then counts)\n",
          fp);
}

/* One protocol option: "  --name ARG" padded to the column, its help lines indented. */
static void usage_option(FILE *fp, const pl_sim_option_t *o)
{
    const char *h = o->help;
    int n =
        fprintf(fp, "  %s%s%s", o->option, o->arg != NULL ? " " : "", o->arg != NULL ? o->arg : "");

    if (n > OPT_COL + 2)
        fprintf(fp, "\n%*s", OPT_COL + 3, "");
    else
        fprintf(fp, "%*s", OPT_COL + 3 - n, "");
    while (*h != '\0') {
        size_t len = strcspn(h, "\n");

        fprintf(fp, "%.*s\n", (int)len, h);
        h += len;
        if (*h == '\n' && *++h != '\0')
            fprintf(fp, "%*s", OPT_COL + 3, "");
    }
}

static void usage(FILE *fp)
{
    const pl_protocol_t *p;
    size_t i;

    for (i = 0; (p = pl_protocol_at(i)) != NULL; i++)
        if (p->sim_new != NULL && p->sim_usage != NULL)
            fprintf(fp, "%s [options] %.*s\n",
                    i == 0 ? "usage: plcline serve" : "       plcline serve",
                    (int)strcspn(p->sim_usage, "\n"), p->sim_usage);
    fputs("\nRuns a protocol's simulator until SIGINT/SIGTERM. HOST: an address, '*' or 'ALL'\n"
          "(all IPv4 interfaces), '[*]' or '[ALL]' (all IPv6 and IPv4 interfaces); PORT 0\n"
          "picks a free port (default",
          fp);
    for (i = 0; (p = pl_protocol_at(i)) != NULL; i++)
        fprintf(fp, "%s %u for %s", i == 0 ? "" : ",", (unsigned)p->port, p->scheme);
    fputs(").\nPrints 'listening ADDRESS:PORT' once ready. The URL's query takes the simulator's\n"
          "keys, as a configuration's 'simulators:' do (docs/config.md).\n\n",
          fp);
    usage_common(fp);
    for (i = 0; (p = pl_protocol_at(i)) != NULL; i++) {
        const pl_sim_option_t *o;

        if (p->sim_new == NULL || p->sim_usage == NULL)
            continue;
        fprintf(fp, "%s:\n%s", p->scheme, p->sim_usage + strcspn(p->sim_usage, "\n") + 1);
        for (o = p->sim_options; o != NULL && o->option != NULL; o++)
            usage_option(fp, o);
    }
}

static int parse_uint(const char *opt, const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v;

    if (s == NULL || *s < '0' || *s > '9') {
        fprintf(stderr, "plcline serve: %s needs a number\n", opt);
        return -1;
    }
    v = strtoul(s, &end, 10);
    if (*end != '\0' || v > max) {
        fprintf(stderr, "plcline serve: %s '%s': expected 0..%lu\n", opt, s, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* Splits "SCHEME://HOST[:PORT][/...][?QUERY]" into host, port and query (NULL: none).
 * HOST keeps its brackets only for "[*]" and "[ALL]" (the listener's spelling for all IPv6
 * interfaces). */
static int parse_listen_url(const char *url, uint16_t default_port, char *host, size_t cap,
                            uint16_t *port, const char **query)
{
    const char *p = strstr(url, "://"), *end, *colon = NULL, *q;
    unsigned long v;
    size_t n;
    char *e;

    if (p == NULL)
        return -1;
    p += 3;
    end = p + strcspn(p, "/?");
    q = strchr(end, '?');
    *query = q != NULL ? q + 1 : NULL;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(end - p));

        if (rb == NULL)
            return -1;
        if ((rb - p == 2 && p[1] == '*') || (rb - p == 4 && strncmp(p + 1, "ALL", 3) == 0)) {
            n = (size_t)(rb - p + 1); /* keep "[*]" / "[ALL]" */
            if (n >= cap)
                return -1;
            memcpy(host, p, n);
        } else {
            n = (size_t)(rb - p - 1);
            if (n >= cap)
                return -1;
            memcpy(host, p + 1, n);
        }
        host[n] = '\0';
        if (rb + 1 < end) {
            if (rb[1] != ':')
                return -1;
            colon = rb + 1;
        }
    } else {
        colon = memchr(p, ':', (size_t)(end - p));
        n = (size_t)((colon != NULL ? colon : end) - p);
        if (n == 0 || n >= cap)
            return -1;
        memcpy(host, p, n);
        host[n] = '\0';
    }
    *port = default_port;
    if (colon != NULL) {
        if (colon + 1 >= end || colon[1] < '0' || colon[1] > '9')
            return -1;
        v = strtoul(colon + 1, &e, 10);
        if (e != end || v > 65535)
            return -1;
        *port = (uint16_t)v;
    }
    return 0;
}

/* Sets `key` to `value` in a key string: replaces it, or with `repeat` adds ",value" to it,
 * or appends it. 0 or PL_ENOBUFS. */
static int keys_set(char *keys, size_t cap, const char *key, const char *value, int repeat)
{
    char out[PL_KEYS_MAX];
    const char *p = keys;
    size_t kl = strlen(key), o = 0;
    int found = 0, k;

    while (*p != '\0') {
        size_t n = strcspn(p, "&");
        const char *sep = o > 0 ? "&" : "";

        if (n > kl && p[kl] == '=' && strncmp(p, key, kl) == 0) {
            found = 1;
            if (repeat)
                k = snprintf(out + o, sizeof(out) - o, "%s%.*s,%s", sep, (int)n, p, value);
            else
                k = snprintf(out + o, sizeof(out) - o, "%s%s=%s", sep, key, value);
        } else {
            k = snprintf(out + o, sizeof(out) - o, "%s%.*s", sep, (int)n, p);
        }
        if (k < 0 || (size_t)k >= sizeof(out) - o)
            return PL_ENOBUFS;
        o += (size_t)k;
        p += n;
        if (*p == '&')
            p++;
    }
    if (!found) {
        k = snprintf(out + o, sizeof(out) - o, "%s%s=%s", o > 0 ? "&" : "", key, value);
        if (k < 0 || (size_t)k >= sizeof(out) - o)
            return PL_ENOBUFS;
        o += (size_t)k;
    }
    if (o >= cap)
        return PL_ENOBUFS;
    memcpy(keys, out, o + 1);
    return 0;
}

/* The protocol option called `name` of `p`, or NULL. */
static const pl_sim_option_t *sim_option(const pl_protocol_t *p, const char *name)
{
    const pl_sim_option_t *o;

    for (o = p != NULL ? p->sim_options : NULL; o != NULL && o->option != NULL; o++)
        if (strcmp(o->option, name) == 0)
            return o;
    return NULL;
}

/* The first protocol with an option called `name` (to know whether it takes a value before
 * the URL names the protocol), or NULL. */
static const pl_protocol_t *option_owner(const char *name)
{
    const pl_protocol_t *p;
    size_t i;

    for (i = 0; (p = pl_protocol_at(i)) != NULL; i++)
        if (sim_option(p, name) != NULL)
            return p;
    return NULL;
}

/* Applies protocol option argv[i] (with its value) to `keys`. 0, or CLI_EXIT_USAGE after
 * saying why on stderr. */
static int apply_option(const pl_protocol_t *p, char **argv, int i, char *keys, size_t cap)
{
    const pl_sim_option_t *o = sim_option(p, argv[i]);
    const pl_protocol_t *owner;
    const char *val;
    char one[PL_KEYS_MAX];
    pl_status_t st;

    if (o == NULL) {
        owner = option_owner(argv[i]);
        fprintf(stderr, "plcline serve: %s does not apply to %s (it is one of the %s options)\n",
                argv[i], p->name, owner != NULL ? owner->name : "other");
        return CLI_EXIT_USAGE;
    }
    val = o->arg != NULL ? argv[i + 1] : o->value;
    one[0] = '\0';
    pl_status_clear(&st);
    if (pl_keys_add(one, sizeof(one), o->key, val) != 0 ||
        pl_protocol_keys_check(p, PL_KEYS_SIM, one, &st) != 0) {
        fprintf(stderr, "plcline serve: %s '%s': %s\n", o->option, val, st.detail);
        return CLI_EXIT_USAGE;
    }
    if (keys_set(keys, cap, o->key, val, o->repeat) != 0) {
        fprintf(stderr, "plcline serve: %s '%s': too many simulator keys\n", o->option, val);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

static const pl_protocol_t *g_proto;
static void *g_sim;
static uv_signal_t g_sigint, g_sigterm;

static void on_signal(uv_signal_t *h, int signum)
{
    (void)signum;
    (void)h;
    if (g_sim != NULL) {
        g_proto->sim_free(g_sim); /* a failure to save state is logged by the simulator */
        g_sim = NULL;
    }
    uv_close((uv_handle_t *)&g_sigint, NULL);
    uv_close((uv_handle_t *)&g_sigterm, NULL);
}

static int run_loop(uv_loop_t *loop, const char *address)
{
    int rc;

    uv_signal_init(loop, &g_sigint);
    uv_signal_init(loop, &g_sigterm);
    uv_signal_start(&g_sigint, on_signal, SIGINT);
    uv_signal_start(&g_sigterm, on_signal, SIGTERM);
    printf("listening %s\n", address);
    fflush(stdout);
    uv_run(loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(loop);
    return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

int cmd_serve(int argc, char **argv)
{
    static char host[300], keys[PL_KEYS_MAX];
    const char *allow[MAX_LIST + 1], *url = NULL, *query;
    int popt[MAX_LIST * 2]; /* argv index of each protocol option, in order */
    size_t n_allow = 0, n_popt = 0, k;
    pl_proto_sim_t sim;
    pl_logger_t log;
    const pl_protocol_t *proto;
    pl_status_t st;
    uv_loop_t loop;
    char what[300];
    unsigned long v;
    int i, rc;

    cli_logger_init(&log, PL_LOG_INFO);
    memset(&sim, 0, sizeof(sim));
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        const pl_protocol_t *owner;

        if (cli_is_help(a)) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(a, "-q") == 0) {
            log.level = PL_LOG_WARN;
            log.burst = 1; /* partners' warnings: the first of each, then counts */
        } else if (strcmp(a, "--delay") == 0) {
            if (parse_uint(a, val, 3600000, &v) < 0)
                goto bad;
            sim.delay_ms = (unsigned)v;
            i++;
        } else if (strcmp(a, "--close-after") == 0) {
            if (parse_uint(a, val, 0xFFFFFFFFul, &v) < 0)
                goto bad;
            sim.close_after = (unsigned)v;
            i++;
        } else if (strcmp(a, "--idle-timeout") == 0) {
            if (parse_uint(a, val, 86400000, &v) < 0 || v == 0)
                goto bad;
            sim.idle_timeout_ms = (unsigned)v;
            i++;
        } else if (strcmp(a, "--animate") == 0) {
            if (parse_uint(a, val, 3600000, &v) < 0)
                goto bad;
            sim.animate_ms = (unsigned)v;
            i++;
        } else if (strcmp(a, "--max-conns") == 0) {
            if (parse_uint(a, val, 1000000, &v) < 0)
                goto bad;
            sim.max_conns = (unsigned)v;
            i++;
        } else if (strcmp(a, "--allow") == 0) {
            if (val == NULL || n_allow == MAX_LIST)
                goto bad;
            allow[n_allow++] = val;
            i++;
        } else if ((owner = option_owner(a)) != NULL) {
            if (n_popt == sizeof(popt) / sizeof(popt[0])) {
                fprintf(stderr, "plcline serve: more than %zu simulator options\n", n_popt);
                goto bad;
            }
            if (sim_option(owner, a)->arg != NULL && val == NULL) {
                fprintf(stderr, "plcline serve: %s needs a value\n", a);
                goto bad;
            }
            popt[n_popt++] = i;
            if (sim_option(owner, a)->arg != NULL)
                i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "plcline serve: unknown option '%s'\n", a);
            goto bad;
        } else if (url == NULL) {
            url = a;
        } else {
            fprintf(stderr, "plcline serve: unexpected argument '%s'\n", a);
            goto bad;
        }
    }
    if (url == NULL)
        goto bad;
    allow[n_allow] = NULL;
    sim.allow = n_allow > 0 ? allow : NULL;
    pl_status_clear(&st);
    if (pl_protocol_of_url(url, &proto, &st) < 0) {
        cli_print_error(url, &st);
        return CLI_EXIT_USAGE;
    }
    if (proto->sim_new == NULL || proto->sim_address == NULL) {
        fprintf(stderr, "plcline serve: %s: %s has no simulator yet\n", url, proto->name);
        return CLI_EXIT_USAGE;
    }
    if (parse_listen_url(url, proto->port, host, sizeof(host), &sim.port, &query) < 0) {
        fprintf(stderr, "plcline serve: %s: expected %.*s\n", url,
                (int)strcspn(proto->sim_usage != NULL ? proto->sim_usage : "", "\n"),
                proto->sim_usage != NULL ? proto->sim_usage : "");
        return CLI_EXIT_USAGE;
    }
    /* the simulator's keys: the command's defaults, the URL's query, the options in turn */
    snprintf(keys, sizeof(keys), "%s", proto->sim_defaults != NULL ? proto->sim_defaults : "");
    while (query != NULL && *query != '\0') {
        size_t n = strcspn(query, "&"), kl = strcspn(query, "=&");
        char key[64], val[PL_KEYS_MAX];

        if (kl == n || kl >= sizeof(key) || n - kl - 1 >= sizeof(val)) {
            fprintf(stderr, "plcline serve: %s: '%.*s': expected KEY=VALUE\n", url, (int)n, query);
            return CLI_EXIT_USAGE;
        }
        snprintf(key, sizeof(key), "%.*s", (int)kl, query);
        snprintf(val, sizeof(val), "%.*s", (int)(n - kl - 1), query + kl + 1);
        if (keys_set(keys, sizeof(keys), key, val, 0) != 0) {
            fprintf(stderr, "plcline serve: %s: too many simulator keys\n", url);
            return CLI_EXIT_USAGE;
        }
        query += n;
        if (*query == '&')
            query++;
    }
    for (k = 0; k < n_popt; k++)
        if ((rc = apply_option(proto, argv, popt[k], keys, sizeof(keys))) != 0)
            return rc;
    if (pl_protocol_keys_check(proto, PL_KEYS_SIM, keys, &st) != 0) {
        cli_print_error(url, &st);
        return CLI_EXIT_USAGE;
    }
    sim.name = url;
    sim.listen = host;
    sim.keys = keys;
    sim.log = &log;
    uv_loop_init(&loop);
    rc = proto->sim_new(&loop, &sim, &g_sim, what, sizeof(what), &st);
    if (rc < 0) {
        cli_print_error(url, &st);
        uv_loop_close(&loop);
        return rc == PL_ECONFIG ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    }
    g_proto = proto;
    return run_loop(&loop, proto->sim_address(g_sim));
bad:
    usage(stderr);
    return CLI_EXIT_USAGE;
}
