/* SPDX-License-Identifier: MIT */
/*
 * plcline serve 7ttcp://HOST:PORT [options]
 * plcline serve pccc://HOST:PORT?plc=slc500 [options]
 *
 * Runs the 7TTCP node simulator or the PCCC PLC simulator (EtherNet/IP) until SIGINT or
 * SIGTERM, then exits 0. Once listening it prints "listening HOST:PORT" (the real port when
 * PORT is 0) on stdout and flushes, so scripts and tests can wait for that line instead of
 * sleeping.
 */
#include "cli.h"

#include "plcline/error.h"
#include "plcline/pccc.h"
#include "plcline/ttcp.h"

#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LIST 64

static void usage(FILE *fp)
{
    fputs("usage: plcline serve [options] 7ttcp://HOST[:PORT]\n"
          "       plcline serve [options] pccc://HOST[:PORT][?plc=TYPE]\n"
          "\n"
          "Runs a 7TTCP node simulator (65536 words per node) or a PCCC PLC simulator\n"
          "(EtherNet/IP; TYPE slc500, micrologix, plc5 or logix; default slc500) until\n"
          "SIGINT/SIGTERM. HOST: an address, '*' or 'ALL' (all IPv4 interfaces), '[*]' or\n"
          "'[ALL]' (all IPv6 and IPv4 interfaces); PORT 0 picks a free port (default 12398\n"
          "for 7ttcp, 44818 for pccc). Prints 'listening ADDRESS:PORT' once ready.\n"
          "\n"
          "  --delay MS         answer every request after MS milliseconds\n"
          "  --close-after N    close a connection when its N-th frame arrives\n"
          "  --animate MS       change demo values every MS milliseconds (7ttcp: words 0..9\n"
          "                     of every node; pccc: N7:0 counter, N7:1 0..99, F8:0 sine)\n"
          "  --max-conns N      refuse connections beyond N\n"
          "  --allow ADDR       accept only these partner addresses (repeatable)\n"
          "  --idle-timeout MS  close a connection that sent nothing for MS milliseconds\n"
          "                     (default 60000)\n"
          "  -q                 log only warnings and errors; what a partner causes is\n"
          "                     summarised: its first warning of a kind in full, then one\n"
          "                     count per 10 s (without -q: the first 5, then counts)\n"
          "7ttcp only:\n"
          "  --nodes A-B        node numbers served (default 0-7)\n"
          "  --max-block N      largest block accepted, words (default 256)\n"
          "  --ignore-node N    never answer requests for node N (repeatable)\n"
          "  --persist FILE     load words from FILE at start, save them at exit\n"
          "pccc only:\n"
          "  --files SPEC       data files, e.g. \"N7:100 F8:20 B3:16 T4:10 ST9:5 L10:10\"\n"
          "                     (TYPE FILE:ELEMENTS; types O I S B T C R N F ST A L;\n"
          "                     default: docs/pccc-simulator.md)\n"
          "  --register-timeout MS\n"
          "                     close a connection that has not registered a session\n"
          "                     within MS milliseconds (default 10000)\n"
          "  The PLC simulator is as strict as the strictest targets met in the field\n"
          "  (docs/pccc-simulator.md); these options relax or tighten it:\n"
          "  --max-inflight N   close a connection on which a request arrives while N are\n"
          "                     unanswered (default 1; 0: no limit)\n"
          "  --connected        serve Forward Open and connected messaging\n"
          "  --no-connected     refuse Forward Open with CIP status 0x08 (the default)\n"
          "  --lax-register     accept a RegisterSession whose sender context, options,\n"
          "                     session handle or status is not zero (refused by default)\n"
          "  --requestor VENDOR:SERIAL\n"
          "                     answer a 0x4B request with another requestor ID with CIP\n"
          "                     status 0x08 (e.g. 0x1337:0x4C434C50)\n",
          fp);
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

/* Splits "SCHEME://HOST[:PORT][/...][?...]" into host and port; `scheme` must match.
 * HOST keeps its brackets only for "[*]" and "[ALL]" (the listener's spelling for all IPv6
 * interfaces). */
static int parse_listen_url(const char *url, const char *scheme, uint16_t default_port, char *host,
                            size_t cap, uint16_t *port)
{
    const char *p = strstr(url, "://"), *end, *colon = NULL;
    unsigned long v;
    size_t n;
    char *e;

    if (p == NULL || (size_t)(p - url) != strlen(scheme) ||
        strncasecmp(url, scheme, strlen(scheme)) != 0)
        return -1;
    p += 3;
    end = p + strcspn(p, "/?");
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

static pl_ttcp_server_t *g_server;
static pl_pccc_server_t *g_pccc;
static uv_signal_t g_sigint, g_sigterm;

static void on_signal(uv_signal_t *h, int signum)
{
    (void)signum;
    (void)h;
    if (g_server != NULL) {
        if (pl_ttcp_server_free(g_server) < 0)
            fprintf(stderr, "plcline serve: saving the memory failed\n");
        g_server = NULL;
    }
    if (g_pccc != NULL) {
        pl_pccc_server_free(g_pccc);
        g_pccc = NULL;
    }
    uv_close((uv_handle_t *)&g_sigint, NULL);
    uv_close((uv_handle_t *)&g_sigterm, NULL);
}

/* The processor type of "?plc=TYPE" (n bytes at s), by the library's own names. */
static int parse_plc(const char *s, size_t n, pl_pccc_plc_t *out)
{
    char name[16];

    if (n >= sizeof(name))
        return -1;
    memcpy(name, s, n);
    name[n] = '\0';
    return pl_pccc_plc_parse(name, out) == 0 ? 0 : -1;
}

/* Applies the query of a pccc:// URL: "plc=TYPE" is the only key. */
static int parse_pccc_query(const char *url, pl_pccc_plc_t *plc)
{
    const char *q = strchr(url, '?');

    while (q != NULL && q[1] != '\0') {
        const char *key = q + 1, *amp = strchr(key, '&');
        size_t n = amp != NULL ? (size_t)(amp - key) : strlen(key);

        if (n > 4 && strncmp(key, "plc=", 4) == 0 && parse_plc(key + 4, n - 4, plc) == 0) {
            q = amp;
            continue;
        }
        fprintf(stderr, "plcline serve: %s: '%.*s': expected plc=slc500|micrologix|plc5|logix\n",
                url, (int)n, key);
        return -1;
    }
    return 0;
}

/* --- PCCC simulator strictness (docs/pccc-simulator.md) ------------------------------- */

typedef struct {
    int given; /* one of these options was given */
    unsigned max_inflight;
    int connected, lax_register, require_requestor;
    uint16_t vendor;
    uint32_t serial;
} pccc_strict_t;

/* The defaults of `plcline serve pccc://`: as strict as the strictest targets met. */
static void pccc_strict_init(pccc_strict_t *p)
{
    memset(p, 0, sizeof(*p));
    p->max_inflight = 1;
}

/* A decimal or 0x hex number at s; *end after it (== s when there is none). */
static unsigned long dec_or_hex(const char *s, char **end)
{
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        unsigned long v;

        if (!isxdigit((unsigned char)s[2])) {
            *end = (char *)(uintptr_t)s;
            return 0;
        }
        v = strtoul(s + 2, end, 16);
        return v;
    }
    return strtoul(s, end, 10);
}

/* "VENDOR:SERIAL", each decimal or 0x hex. */
static int parse_requestor(const char *s, uint16_t *vendor, uint32_t *serial)
{
    unsigned long v, n;
    char *end;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    v = dec_or_hex(s, &end);
    if (end == s || *end != ':' || v > 0xFFFF || end[1] < '0' || end[1] > '9')
        return -1;
    s = end + 1;
    n = dec_or_hex(s, &end);
    if (end == s || *end != '\0' || n > 0xFFFFFFFFul)
        return -1;
    *vendor = (uint16_t)v;
    *serial = (uint32_t)n;
    return 0;
}

/* One strictness option at argv `a` (value `val`). Returns the arguments it took (1 or 2),
 * 0 when `a` is not one of them, -1 on a bad value (said on stderr). */
static int pccc_strict_option(pccc_strict_t *p, const char *a, const char *val)
{
    unsigned long v;

    if (strcmp(a, "--max-inflight") == 0) {
        if (parse_uint(a, val, 1024, &v) < 0)
            return -1;
        p->max_inflight = (unsigned)v;
        p->given = 1;
        return 2;
    }
    if (strcmp(a, "--connected") == 0 || strcmp(a, "--no-connected") == 0) {
        p->connected = a[2] == 'c';
        p->given = 1;
        return 1;
    }
    if (strcmp(a, "--lax-register") == 0) {
        p->lax_register = 1;
        p->given = 1;
        return 1;
    }
    if (strcmp(a, "--requestor") == 0) {
        if (parse_requestor(val, &p->vendor, &p->serial) < 0) {
            fprintf(stderr,
                    "plcline serve: --requestor '%s': expected VENDOR:SERIAL, e.g. "
                    "0x1337:0x4C434C50\n",
                    val != NULL ? val : "");
            return -1;
        }
        p->require_requestor = 1;
        p->given = 1;
        return 2;
    }
    return 0;
}

static void pccc_strict_apply(const pccc_strict_t *p, pl_pccc_server_config_t *cfg)
{
    cfg->max_inflight = p->max_inflight;
    cfg->no_connected = !p->connected;
    cfg->lax_register = p->lax_register;
    cfg->require_requestor = p->require_requestor;
    cfg->requestor_vendor = p->vendor;
    cfg->requestor_serial = p->serial;
}

/* Options of both simulators, collected before the scheme is known. */
typedef struct {
    const char *url;
    pl_listener_config_t listen;
    unsigned delay_ms, close_after, animate_ms, register_timeout_ms, idle_timeout_ms;
    const char *files;
    pccc_strict_t strict;
    int ttcp_only, pccc_only; /* an option of one simulator was given */
} serve_opts_t;

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

static int serve_pccc(const serve_opts_t *o, const pl_logger_t *log)
{
    static char host[300];
    pl_pccc_server_config_t cfg;
    pl_status_t st;
    uv_loop_t loop;
    int rc;

    pl_pccc_server_config_init(&cfg);
    if (o->ttcp_only) {
        fprintf(stderr, "plcline serve: --nodes, --max-block, --ignore-node and --persist are "
                        "7ttcp options\n");
        return CLI_EXIT_USAGE;
    }
    if (parse_listen_url(o->url, "pccc", PL_ENIP_PORT, host, sizeof(host), &cfg.listen.port) < 0) {
        fprintf(stderr, "plcline serve: %s: expected pccc://HOST[:PORT][?plc=TYPE]\n", o->url);
        return CLI_EXIT_USAGE;
    }
    if (parse_pccc_query(o->url, &cfg.plc) < 0)
        return CLI_EXIT_USAGE;
    cfg.listen.addr = host;
    cfg.listen.max_conns = o->listen.max_conns;
    cfg.listen.allow = o->listen.allow;
    cfg.files = o->files;
    cfg.delay_ms = o->delay_ms;
    cfg.close_after = o->close_after;
    cfg.animate_ms = o->animate_ms;
    cfg.register_timeout_ms = o->register_timeout_ms;
    pccc_strict_apply(&o->strict, &cfg);
    cfg.idle_timeout_ms = o->idle_timeout_ms;
    cfg.log = log;
    uv_loop_init(&loop);
    pl_status_clear(&st);
    rc = pl_pccc_server_new(&loop, &cfg, &g_pccc, &st);
    if (rc < 0) {
        cli_print_error(o->url, &st);
        uv_loop_close(&loop);
        return rc == PL_ECONFIG ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    }
    return run_loop(&loop, pl_pccc_server_address(g_pccc));
}

int cmd_serve(int argc, char **argv)
{
    static char host[300];
    const char *allow[MAX_LIST + 1];
    uint32_t ignore[MAX_LIST];
    size_t n_allow = 0, n_ignore = 0;
    pl_ttcp_server_config_t cfg;
    serve_opts_t o;
    pl_logger_t log;
    const pl_protocol_t *proto;
    pl_status_t st;
    uv_loop_t loop;
    unsigned long v;
    int i, rc;

    cli_logger_init(&log, PL_LOG_INFO);
    pl_ttcp_server_config_init(&cfg);
    memset(&o, 0, sizeof(o));
    pccc_strict_init(&o.strict);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        int took = pccc_strict_option(&o.strict, a, val);

        if (took < 0)
            goto bad;
        if (took > 0) {
            i += took - 1;
            continue;
        }
        if (cli_is_help(a)) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(a, "-q") == 0) {
            log.level = PL_LOG_WARN;
            log.burst = 1; /* partners' warnings: the first of each, then counts */
        } else if (strcmp(a, "--nodes") == 0) {
            char *end;
            unsigned long lo, hi;

            if (val == NULL || *val < '0' || *val > '9')
                goto bad;
            lo = strtoul(val, &end, 10);
            hi = lo;
            if (*end == '-') {
                if (end[1] < '0' || end[1] > '9')
                    goto bad;
                hi = strtoul(end + 1, &end, 10);
            }
            if (*end != '\0' || hi < lo || lo > 0xFFFFFFFFul || hi > 0xFFFFFFFFul ||
                hi - lo >= 4096) {
                fprintf(stderr, "plcline serve: --nodes '%s': expected A-B, at most 4096 nodes\n",
                        val);
                return CLI_EXIT_USAGE;
            }
            cfg.node_first = (uint32_t)lo;
            cfg.node_last = (uint32_t)hi;
            o.ttcp_only = 1;
            i++;
        } else if (strcmp(a, "--max-block") == 0) {
            if (parse_uint(a, val, 256, &v) < 0 || v == 0)
                goto bad;
            cfg.max_block = (unsigned)v;
            o.ttcp_only = 1;
            i++;
        } else if (strcmp(a, "--delay") == 0) {
            if (parse_uint(a, val, 3600000, &v) < 0)
                goto bad;
            o.delay_ms = (unsigned)v;
            i++;
        } else if (strcmp(a, "--ignore-node") == 0) {
            if (parse_uint(a, val, 0xFFFFFFFFul, &v) < 0 || n_ignore == MAX_LIST)
                goto bad;
            ignore[n_ignore++] = (uint32_t)v;
            o.ttcp_only = 1;
            i++;
        } else if (strcmp(a, "--close-after") == 0) {
            if (parse_uint(a, val, 0xFFFFFFFFul, &v) < 0)
                goto bad;
            o.close_after = (unsigned)v;
            i++;
        } else if (strcmp(a, "--persist") == 0) {
            if (val == NULL)
                goto bad;
            cfg.persist_path = val;
            o.ttcp_only = 1;
            i++;
        } else if (strcmp(a, "--files") == 0) {
            if (val == NULL)
                goto bad;
            o.files = val;
            o.pccc_only = 1;
            i++;
        } else if (strcmp(a, "--register-timeout") == 0) {
            if (parse_uint(a, val, 3600000, &v) < 0 || v == 0)
                goto bad;
            o.register_timeout_ms = (unsigned)v;
            o.pccc_only = 1;
            i++;
        } else if (strcmp(a, "--idle-timeout") == 0) {
            if (parse_uint(a, val, 86400000, &v) < 0 || v == 0)
                goto bad;
            o.idle_timeout_ms = (unsigned)v;
            i++;
        } else if (strcmp(a, "--animate") == 0) {
            if (parse_uint(a, val, 3600000, &v) < 0)
                goto bad;
            o.animate_ms = (unsigned)v;
            i++;
        } else if (strcmp(a, "--max-conns") == 0) {
            if (parse_uint(a, val, 1000000, &v) < 0)
                goto bad;
            o.listen.max_conns = (unsigned)v;
            i++;
        } else if (strcmp(a, "--allow") == 0) {
            if (val == NULL || n_allow == MAX_LIST)
                goto bad;
            allow[n_allow++] = val;
            i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "plcline serve: unknown option '%s'\n", a);
            goto bad;
        } else if (o.url == NULL) {
            o.url = a;
        } else {
            fprintf(stderr, "plcline serve: unexpected argument '%s'\n", a);
            goto bad;
        }
    }
    if (o.url == NULL)
        goto bad;
    allow[n_allow] = NULL;
    o.listen.allow = n_allow > 0 ? allow : NULL;
    if (pl_protocol_of_url(o.url, &proto, &st) < 0) {
        cli_print_error(o.url, &st);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(proto->name, "pccc") == 0)
        return serve_pccc(&o, &log);
    if (o.pccc_only || o.strict.given) {
        fprintf(stderr, "plcline serve: --files, --register-timeout, --max-inflight, "
                        "--connected, --no-connected, --lax-register and --requestor are pccc "
                        "options\n");
        return CLI_EXIT_USAGE;
    }
    if (parse_listen_url(o.url, "7ttcp", PL_TTCP_PORT, host, sizeof(host), &cfg.listen.port) < 0) {
        fprintf(stderr, "plcline serve: %s: expected 7ttcp://HOST[:PORT] or pccc://HOST[:PORT]\n",
                o.url);
        return CLI_EXIT_USAGE;
    }
    cfg.listen.addr = host;
    cfg.listen.max_conns = o.listen.max_conns;
    cfg.listen.allow = o.listen.allow;
    cfg.ignore_nodes = ignore;
    cfg.n_ignore = n_ignore;
    cfg.delay_ms = o.delay_ms;
    cfg.close_after = o.close_after;
    cfg.animate_ms = o.animate_ms;
    cfg.idle_timeout_ms = o.idle_timeout_ms;
    cfg.log = &log;

    uv_loop_init(&loop);
    pl_status_clear(&st);
    rc = pl_ttcp_server_new(&loop, &cfg, &g_server, &st);
    if (rc < 0) {
        cli_print_error(o.url, &st);
        uv_loop_close(&loop);
        return CLI_EXIT_FAIL;
    }
    return run_loop(&loop, pl_ttcp_server_address(g_server));
bad:
    usage(stderr);
    return CLI_EXIT_USAGE;
}
