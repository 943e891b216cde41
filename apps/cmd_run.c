/* SPDX-License-Identifier: MIT */
/*
 * plcline run CONFIG: the communication process.
 *
 * Loads the configuration, starts the built-in simulators it names, connects the lines,
 * polls, writes. Tag changes go out as JSON lines on stdout (or as a live table when stdout
 * is a terminal); write commands come in as JSON lines on stdin, each answered by a result
 * line; log lines go to stderr. SIGINT/SIGTERM: stop polling, answer pending writes, close
 * everything, exit 0. SIGHUP: reload the configuration; devices whose line and device
 * definitions did not change keep their connections.
 */
#include "cli.h"
#include "run_panel.h"

#include "engine/config.h"
#include "proto/registry.h"
#include "north/expose.h"
#include "north/http.h"
#include "north/jsonl.h"
#include "north/mqtt.h"
#include "plcline/engine.h"
#include "plcline/error.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define IN_LINE_MAX   65536u
#define TABLE_MS      500u
#define OUT_BUF_BYTES (256u * 1024u)
#define FD_MARGIN     64u /* descriptors besides the connections: stdio, loop, signals, MQTT */

typedef struct {
    uv_loop_t loop;
    const char *path;
    pl_config_t cfg; /* without its tags once the engine is built (the engine has them) */
    size_t ntags;    /* the configuration's tags */
    pl_engine_t *engine;
    pl_engine_t *retiring; /* the engine a reload replaces, until it has stopped */
    pl_mqtt_t *mqtt;       /* north.mqtt, when configured */
    struct sim {
        const pl_protocol_t *proto;
        void *server; /* the protocol's simulator; NULL when not running */
        char name[PL_NAME_MAX];
    } * sims;
    pl_expose_t *expose; /* tags the simulators serve to their clients (`expose:`) */
    size_t nsims;
    pl_logger_t log;
    int json, table, stopping, exit_code;
    uv_signal_t sig[3];
    union {
        uv_tty_t tty;
        uv_pipe_t pipe;
    } in;
    int in_open, in_is_file;
    uv_fs_t in_req;
    char in_buf[IN_LINE_MAX + 1];
    size_t in_len;
    int in_skip; /* discarding an over-long line */
    uv_timer_t table_timer;
    uv_prepare_t flush;
    char out[4096];
} daemon_t;

typedef struct {
    daemon_t *d;
    char tag[PL_NAME_MAX];
    char id[PL_JSONL_ID_MAX + 1]; /* echoed whole */
} pending_write_t;

static void usage(FILE *fp)
{
    fputs("usage: plcline run [--json] [--check] [-v|-q] CONFIG\n"
          "\n"
          "Runs the communication process described by CONFIG (YAML, see docs/config.md).\n"
          "stdout: one JSON object per tag change, or a live table on a terminal.\n"
          "stdin:  write commands, one JSON object per line:\n"
          "          {\"write\":\"TAG\",\"value\":V,\"id\":\"optional\"}\n"
          "        each answered by a result line {\"result\":\"ok\"|\"error\",...};\n"
          "        {\"stats\":true} prints one statistics line per device and per line.\n"
          "SIGINT/SIGTERM stop cleanly; SIGHUP reloads CONFIG.\n"
          "\n"
          "  --json    JSON lines even on a terminal\n"
          "  --check   validate CONFIG and exit (0 valid, 2 invalid)\n"
          "  -v        log debug details; -q  only warnings and errors\n",
          fp);
}

/* --- output ------------------------------------------------------------------------- */

static void on_flush(uv_prepare_t *h)
{
    (void)h;
    fflush(stdout); /* once per loop turn, before the loop waits */
}

static void emit(const char *line, int n)
{
    if (n > 0)
        fwrite(line, 1, (size_t)n, stdout);
}

static void on_change(pl_engine_t *e, const pl_tag_state_t *st, void *ud)
{
    daemon_t *d = ud;

    if (e != d->engine)
        return; /* a retiring engine's last words */
    if (d->json) {
        int n = pl_jsonl_state(st, d->out, sizeof(d->out));

        if (n < 0) /* not even the bad-quality stand-in fits: say so, never drop silently */
            pl_log(&d->log, PL_LOG_ERROR, "tag %s: state not written: %s (%s)", st->tag,
                   pl_strerror(n), pl_err_name(n));
        emit(d->out, n);
    }
    if (d->mqtt != NULL)
        pl_mqtt_publish_state(d->mqtt, st);
    pl_expose_change(d->expose, st);
}

static void on_device(pl_engine_t *e, const char *device, const pl_status_t *status, void *ud)
{
    daemon_t *d = ud;

    if (e == d->engine && d->mqtt != NULL)
        pl_mqtt_device_state(d->mqtt, NULL, device, status);
}

/* A string value for the terminal: quoted, printable ASCII and valid UTF-8 as they are,
 * every other byte as \xHH, so that a PLC's bytes cannot move the cursor or clear the
 * screen. */
static void table_text(const pl_value_t *v, char *out, size_t cap)
{
    size_t n = pl_value_string_len(v), i = 0, o = 0;
    const unsigned char *p = (const unsigned char *)v->s;

    out[o++] = '"';
    while (i < n && o + 6 < cap) {
        unsigned c = p[i];
        size_t k = 1;

        if (c >= 0xC2u && c <= 0xF4u) { /* a whole, valid sequence only */
            k = c < 0xE0u ? 2u : c < 0xF0u ? 3u : 4u;
            if (i + k > n || !pl_jsonl_utf8_valid((const char *)p + i, k) || o + k + 1 >= cap)
                k = 1;
        }
        if (k > 1) {
            memcpy(out + o, p + i, k);
            o += k;
        } else if (c >= 0x20u && c < 0x7Fu && c != '\\') {
            out[o++] = (char)c;
        } else {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02X", c);
        }
        i += k;
    }
    out[o++] = '"';
    out[o] = '\0';
}

static void print_table(daemon_t *d)
{
    uint64_t now;
    size_t i, n;
    struct timespec ts;

    if (d->engine == NULL)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    now = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    n = pl_engine_tag_count(d->engine);
    fputs("\033[H\033[2J", stdout);
    printf("plcline run %s   %zu tags   (Ctrl-C stops)\n", d->path, n);
    run_panel_print(stdout, d->engine);
    printf("%-28s %-18s %-10s %8s  %s\n", "TAG", "VALUE", "QUALITY", "AGE", "ERROR");
    for (i = 0; i < n; i++) {
        const pl_tag_state_t *st = pl_engine_tag_at(d->engine, i);
        char val[64], age[24];

        switch (st->value.type) {
        case PL_VT_NONE:
            snprintf(val, sizeof(val), "-");
            break;
        case PL_VT_BOOL:
            snprintf(val, sizeof(val), "%s", st->value.i ? "true" : "false");
            break;
        case PL_VT_INT:
            snprintf(val, sizeof(val), "%lld", (long long)st->value.i);
            break;
        case PL_VT_FLOAT:
            snprintf(val, sizeof(val), "%.6g", st->value.f);
            break;
        case PL_VT_STRING:
            table_text(&st->value, val, sizeof(val));
            break;
        }
        if (st->ts_ms == 0)
            snprintf(age, sizeof(age), "-");
        else
            snprintf(age, sizeof(age), "%.1fs",
                     (double)(now > st->ts_ms ? now - st->ts_ms : 0) / 1000.0);
        printf("%-28.28s %-18.18s %-10s %8s  %s\n", st->tag, val, pl_quality_name(st->quality), age,
               st->error != 0 ? pl_err_name(st->error) : "");
    }
}

static void on_table(uv_timer_t *t)
{
    print_table(t->data);
}

/* --- writes from stdin ---------------------------------------------------------------- */

static void result_line(daemon_t *d, const char *tag, const char *id, const pl_status_t *st)
{
    if (d->table) /* on the status line of the table, which a JSON line would scroll away */
        run_panel_result(tag, id, st);
    else
        emit(d->out, pl_jsonl_result(tag, id, st, d->out, sizeof(d->out)));
}

static void on_written(pl_engine_t *e, const pl_status_t *st, void *ud)
{
    pending_write_t *pw = ud;

    (void)e;
    result_line(pw->d, pw->tag, pw->id, st);
    free(pw);
}

static void print_stats(daemon_t *d, const char *id)
{
    pl_engine_stats_t st;
    size_t i;

    for (i = 0; i < d->cfg.ndevices; i++)
        if (pl_engine_device_stats(d->engine, d->cfg.devices[i].name, &st) == 0)
            emit(d->out,
                 pl_jsonl_stats("device", d->cfg.devices[i].name, &st, id, d->out, sizeof(d->out)));
    for (i = 0; i < d->cfg.nlines; i++)
        if (pl_engine_line_stats(d->engine, d->cfg.lines[i].name, &st) == 0)
            emit(d->out,
                 pl_jsonl_stats("line", d->cfg.lines[i].name, &st, id, d->out, sizeof(d->out)));
}

static void handle_line(daemon_t *d, char *line, size_t len)
{
    pl_jsonl_cmd_t w;
    pl_status_t st;
    pending_write_t *pw;

    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
        len--;
    if (len == 0)
        return;
    pl_status_clear(&st);
    if (pl_jsonl_parse_command(line, len, &w, &st) < 0) {
        result_line(d, w.tag, w.id, &st);
        return;
    }
    if (d->engine == NULL) {
        pl_status_set(&st, PL_ESTOPPED, 0, "no configuration is running");
        result_line(d, w.tag, w.id, &st);
        return;
    }
    if (w.kind == PL_JSONL_STATS) {
        print_stats(d, w.id);
        return;
    }
    pw = calloc(1, sizeof(*pw));
    if (pw == NULL) {
        pl_status_set(&st, PL_ENOMEM, 0, NULL);
        result_line(d, w.tag, w.id, &st);
        return;
    }
    pw->d = d;
    memcpy(pw->tag, w.tag, sizeof(pw->tag));
    memcpy(pw->id, w.id, sizeof(pw->id));
    _Static_assert(sizeof(pw->id) == sizeof(w.id), "a write's id is kept whole");
    if (pl_engine_write(d->engine, w.tag, &w.value, on_written, pw, &st) < 0) {
        result_line(d, w.tag, w.id, &st);
        free(pw);
    }
}

static void feed_input(daemon_t *d, const char *buf, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        char c = buf[i];

        if (c == '\n') {
            if (!d->in_skip)
                handle_line(d, d->in_buf, d->in_len);
            d->in_len = 0;
            d->in_skip = 0;
            continue;
        }
        if (d->in_skip)
            continue;
        if (d->in_len == IN_LINE_MAX) {
            pl_status_t st;

            pl_status_set(&st, PL_EVALUE, 0, "command line longer than %u bytes", IN_LINE_MAX);
            result_line(d, "", "", &st);
            d->in_skip = 1;
            d->in_len = 0;
            continue;
        }
        d->in_buf[d->in_len++] = c;
    }
}

static void in_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char chunk[16384];

    (void)h;
    (void)suggested;
    buf->base = chunk;
    buf->len = sizeof(chunk);
}

static void in_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    daemon_t *d = s->data;

    if (n > 0) {
        feed_input(d, buf->base, (size_t)n);
    } else if (n < 0) {
        /* end of input: a daemon keeps running; a last line without '\n' still counts */
        if (d->in_len > 0 && !d->in_skip)
            handle_line(d, d->in_buf, d->in_len);
        d->in_len = 0;
        uv_read_stop(s);
        uv_close((uv_handle_t *)s, NULL);
        d->in_open = 0;
    }
}

static char g_file_chunk[16384];

static void file_read(uv_fs_t *req)
{
    daemon_t *d = req->data;
    ssize_t n = req->result;
    uv_buf_t b;

    uv_fs_req_cleanup(req);
    if (n > 0 && !d->stopping) {
        feed_input(d, g_file_chunk, (size_t)n);
        b = uv_buf_init(g_file_chunk, sizeof(g_file_chunk));
        if (uv_fs_read(&d->loop, &d->in_req, 0, &b, 1, -1, file_read) == 0)
            return;
    }
    if (d->in_len > 0 && !d->in_skip)
        handle_line(d, d->in_buf, d->in_len);
    d->in_len = 0;
    d->in_open = 0;
}

static void open_input(daemon_t *d)
{
    uv_handle_type t = uv_guess_handle(0);
    uv_buf_t b;

    if (t == UV_TTY) {
        if (uv_tty_init(&d->loop, &d->in.tty, 0, 1) != 0)
            return;
    } else if (t == UV_NAMED_PIPE || t == UV_TCP) {
        if (uv_pipe_init(&d->loop, &d->in.pipe, 0) != 0)
            return;
        if (uv_pipe_open(&d->in.pipe, 0) != 0) {
            uv_close((uv_handle_t *)&d->in.pipe, NULL);
            return;
        }
    } else if (t == UV_FILE) {
        d->in_req.data = d;
        d->in_is_file = 1;
        d->in_open = 1;
        b = uv_buf_init(g_file_chunk, sizeof(g_file_chunk));
        if (uv_fs_read(&d->loop, &d->in_req, 0, &b, 1, -1, file_read) != 0)
            d->in_open = 0;
        return;
    } else {
        return; /* closed or unknown: no commands */
    }
    d->in.pipe.data = d;
    d->in_open = 1;
    uv_read_start((uv_stream_t *)&d->in.pipe, in_alloc, in_read);
}

/* --- simulators and the engine ------------------------------------------------------ */

static void stop_sims(daemon_t *d)
{
    size_t i;

    for (i = 0; i < d->nsims; i++)
        if (d->sims[i].server != NULL)
            d->sims[i].proto->sim_free(d->sims[i].server);
    free(d->sims);
    d->sims = NULL;
    d->nsims = 0;
}

static uint16_t sim_port(const struct sim *s)
{
    return s->server != NULL ? s->proto->sim_port(s->server) : 0;
}

static int start_sims(daemon_t *d, const pl_config_t *cfg)
{
    size_t i;

    d->sims = calloc(cfg->nsims + 1, sizeof(*d->sims));
    if (d->sims == NULL)
        return PL_ENOMEM;
    d->nsims = cfg->nsims;
    for (i = 0; i < cfg->nsims; i++) {
        const pl_sim_def_t *sd = &cfg->sims[i];
        pl_proto_sim_t sim;
        pl_status_t st;
        char where[600], what[300];
        int rc;

        pl_status_clear(&st);
        snprintf(d->sims[i].name, sizeof(d->sims[i].name), "%s", sd->name);
        d->sims[i].proto = pl_protocol_find(sd->protocol, strlen(sd->protocol));
        if (d->sims[i].proto == NULL) {
            rc = pl_status_set(&st, PL_ECONFIG, 0, "unknown protocol '%s'", sd->protocol);
        } else {
            memset(&sim, 0, sizeof(sim));
            sim.name = sd->name;
            sim.listen = sd->listen[0] != '\0' ? sd->listen : NULL;
            sim.port = sd->port;
            sim.animate_ms = sd->animate_ms;
            sim.delay_ms = sd->delay_ms;
            sim.keys = sd->keys;
            sim.log = &d->log;
            rc = d->sims[i].proto->sim_new(&d->loop, &sim, &d->sims[i].server, what, sizeof(what),
                                           &st);
            if (rc == 0)
                pl_log(&d->log, PL_LOG_INFO, "simulator %s: %s", sd->name, what);
        }
        if (rc < 0) {
            snprintf(where, sizeof(where), "simulator '%s'", sd->name);
            cli_print_error(where, &st);
            return rc;
        }
    }
    return 0;
}

/* Serves cfg's exposed tags from engine `e` through the running simulators (by name; a
 * reload keeps the simulators that run), or, with `e` NULL, only checks them. Prints the
 * error. */
static int start_expose(daemon_t *d, const pl_config_t *cfg, pl_engine_t *e, pl_expose_t **out)
{
    pl_expose_sim_t *sims = calloc(cfg->nsims + 1, sizeof(*sims));
    pl_status_t st;
    char msg[1024];
    size_t i, k;
    int rc;

    if (sims == NULL)
        return PL_ENOMEM;
    for (i = 0; i < cfg->nsims; i++) {
        const char *p = cfg->sims[i].protocol;

        sims[i].proto = pl_protocol_find(p, strlen(p));
        for (k = 0; e != NULL && k < d->nsims; k++)
            if (strcmp(d->sims[k].name, cfg->sims[i].name) == 0 &&
                d->sims[k].proto == sims[i].proto)
                sims[i].server = d->sims[k].server;
    }
    pl_status_clear(&st);
    rc = pl_expose_new(&d->loop, e, cfg, sims, &d->log, out, &st, msg, sizeof(msg));
    free(sims);
    if (rc < 0)
        fprintf(stderr, "plcline: %s\n", msg[0] != '\0' ? msg : st.detail);
    return rc;
}

/* The address to reach simulator `name` at: loopback of its family, or its listen address,
 * and its real port (0 when it is not running, as under --check). */
static void sim_address(const daemon_t *d, const pl_config_t *cfg, const char *name,
                        const char **host, uint16_t *port)
{
    size_t k;

    *host = "127.0.0.1";
    *port = 0;
    for (k = 0; k < cfg->nsims; k++) {
        const char *l = cfg->sims[k].listen;

        if (strcmp(cfg->sims[k].name, name) != 0)
            continue;
        if (d->sims != NULL && k < d->nsims)
            *port = sim_port(&d->sims[k]);
        if (strcmp(l, "[*]") == 0 || strcmp(l, "[ALL]") == 0)
            *host = "::1";
        else if (l[0] != '\0' && strcmp(l, "*") != 0 && strcmp(l, "ALL") != 0)
            *host = l;
        return;
    }
}

/* Points lines that name simulators at their real addresses. */
static void wire_sims(const daemon_t *d, pl_config_t *cfg)
{
    const char *host;
    uint16_t port;
    size_t i;

    for (i = 0; i < cfg->nlines; i++) {
        pl_line_def_t *l = &cfg->lines[i];

        if (l->simulator[0] != '\0') {
            sim_address(d, cfg, l->simulator, &host, &port);
            pl_hostlist_parse(&l->line.hosts, host, strlen(host), NULL);
            l->line.port = port;
        }
        if (l->backup_simulator[0] != '\0') {
            sim_address(d, cfg, l->backup_simulator, &host, &port);
            pl_hostlist_parse(&l->line.backup, host, strlen(host), NULL);
            l->line.backup_port = port;
            l->line.use_backup = 1;
        }
    }
}

static int build_engine(daemon_t *d, pl_config_t *cfg, pl_engine_t **out)
{
    static const pl_engine_cbs_t cbs = {.on_change = on_change, .on_device = on_device};
    pl_engine_config_t ec;
    pl_status_t st;
    struct {
        int section;
        size_t index;
    } item = {-1, 0};
    int rc;

    pl_config_engine(cfg, &ec);
    ec.log = &d->log;
    ec.err_item = (void *)&item;
    /* the tags' names are kept once, in the configuration's text storage, which the engine
     * takes over (the configuration's tags are dropped before the engine goes) */
    ec.texts = pl_config_texts(cfg);
    ec.texts_free = pl_config_texts_free;
    pl_status_clear(&st);
    rc = pl_engine_new(&d->loop, &ec, &cbs, d, out, &st);
    if (rc == 0)
        pl_config_texts_given(cfg);
    if (rc < 0) {
        char where[600];

        if (item.section < 0 || pl_config_origin(cfg, (pl_config_section_t)item.section, item.index,
                                                 where, sizeof(where)) < 0)
            snprintf(where, sizeof(where), "%s", cfg->path);
        cli_print_error(where, &st);
    }
    return rc;
}

/* --- open files -------------------------------------------------------------------- */

static int cmp_line_key(const void *key, const void *elem)
{
    return strcmp(key, (*(const pl_line_def_t *const *)elem)->name);
}

static int cmp_line_ptr(const void *a, const void *b)
{
    return strcmp((*(const pl_line_def_t *const *)a)->name,
                  (*(const pl_line_def_t *const *)b)->name);
}

/* Raises the open-files soft limit to the hard limit, and says so clearly when even that is
 * too low for `cfg`: a descriptor per device connection (two on a parallel-redundant line),
 * one more per connection to a built-in simulator (its side of it), one per simulator, and a
 * margin. Returns 0, or -1 when the limit is too low (the daemon runs on: connections past
 * the limit fail and are retried). */
static int raise_nofile(const pl_logger_t *log, const pl_config_t *cfg)
{
    const pl_line_def_t **by_name = malloc((cfg->nlines + 1) * sizeof(*by_name));
    unsigned long long need = FD_MARGIN + cfg->nsims;
    struct rlimit rl;
    size_t i;

    if (by_name == NULL || getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        free(by_name);
        return 0;
    }
    for (i = 0; i < cfg->nlines; i++)
        by_name[i] = &cfg->lines[i];
    qsort(by_name, cfg->nlines, sizeof(*by_name), cmp_line_ptr);
    for (i = 0; i < cfg->ndevices; i++) {
        const pl_line_def_t *const *l =
            bsearch(cfg->devices[i].line, by_name, cfg->nlines, sizeof(*by_name), cmp_line_key);
        int parallel = l != NULL && (*l)->line.redundancy == PL_REDUNDANCY_PARALLEL;

        need += 1u + (parallel ? 1u : 0u);
        if (l != NULL && (*l)->simulator[0] != '\0')
            need++;
        if (l != NULL && (*l)->backup_simulator[0] != '\0')
            need++;
    }
    free(by_name);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        pl_log(log, PL_LOG_ERROR,
               "open files: the limit is %llu (hard limit %llu) but this configuration needs "
               "about %llu (%zu devices, %zu simulators); connections past the limit will "
               "fail: raise the hard limit (ulimit -Hn, systemd LimitNOFILE=)",
               (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max, need,
               cfg->ndevices, cfg->nsims);
        return -1;
    }
    pl_log(log, PL_LOG_DEBUG, "open files: limit %llu, about %llu needed",
           (unsigned long long)rl.rlim_cur, need);
    return 0;
}

/* --- the HTTP status page, API and metrics (src/north/http.c, docs/http.md) ----------- */

static pl_http_t *g_http;
static struct {
    uint64_t at_ms; /* wall clock of the last reload; 0: none yet */
    pl_status_t result;
    char message[512];
} g_reload;

static json_t *http_info(void *ud)
{
    daemon_t *d = ud;
    json_t *o, *sims = json_array(), *rl = json_null();
    char at[40];
    size_t i;

    for (i = 0; i < d->cfg.nsims && sims != NULL; i++) {
        json_array_append_new(sims, json_pack("{s:s, s:s, s:i}", "name", d->cfg.sims[i].name,
                                              "protocol", d->cfg.sims[i].protocol, "port",
                                              i < d->nsims ? (int)sim_port(&d->sims[i]) : 0));
    }
    if (g_reload.at_ms != 0) {
        pl_jsonl_iso8601(g_reload.at_ms, at, sizeof(at));
        rl = json_pack("{s:s, s:s, s:o*}", "at", at, "result",
                       g_reload.result.code == 0 ? "ok" : "error", "error",
                       g_reload.result.code != 0
                           ? pl_jsonl_error_object(g_reload.result.code, g_reload.message)
                           : json_null());
    }
    o = json_pack("{s:s, s:s, s:{s:I, s:I, s:I, s:I, s:I}, s:o*, s:o*}", "version",
                  PL_VERSION_STRING, "config", d->path, "counts", "lines",
                  (json_int_t)d->cfg.nlines, "devices", (json_int_t)d->cfg.ndevices, "tags",
                  (json_int_t)d->ntags, "scan_classes", (json_int_t)d->cfg.nscans, "simulators",
                  (json_int_t)d->cfg.nsims, "simulators", sims, "reload", rl);
    return o;
}

/* Starts the server when the configuration has an `http` section. Returns 0 or < 0. */
static int http_start(daemon_t *d)
{
    pl_http_config_t hc;
    pl_status_t st;
    char token[1024];
    const char *slash;

    if (!d->cfg.http.on)
        return 0;
    memset(&hc, 0, sizeof(hc));
    hc.listen = d->cfg.http.listen;
    hc.writes = d->cfg.http.writes;
    hc.token_file = d->cfg.http.token_file;
    slash = strrchr(d->path, '/');
    if (d->cfg.http.token_file[0] != '\0' && d->cfg.http.token_file[0] != '/' && slash != NULL) {
        snprintf(token, sizeof(token), "%.*s/%s", (int)(slash - d->path), d->path,
                 d->cfg.http.token_file); /* relative to the configuration file */
        hc.token_file = token;
    }
    hc.log = &d->log;
    hc.info = http_info;
    hc.ud = d;
    pl_status_clear(&st);
    if (pl_http_new(&d->loop, &hc, d->engine, &g_http, &st) < 0) {
        cli_print_error("http", &st);
        return st.code;
    }
    pl_http_set_mqtt(g_http, d->mqtt);
    run_panel_set_url(pl_http_url(g_http));
    if (d->table || d->log.level > PL_LOG_INFO)
        fprintf(stderr, "plcline: status page on %s\n", pl_http_url(g_http));
    return 0;
}

static void http_reloaded(daemon_t *d, const pl_status_t *result, const char *msg)
{
    g_reload.at_ms = (uint64_t)time(NULL) * 1000u;
    g_reload.result = *result;
    snprintf(g_reload.message, sizeof(g_reload.message), "%.*s", (int)sizeof(g_reload.message) - 1,
             msg);
    if (g_http != NULL)
        pl_http_set_engine(g_http, d->engine);
}

static void http_stop(void)
{
    pl_http_free(g_http);
    g_http = NULL;
}

/* --- lifecycle ---------------------------------------------------------------------- */

static void close_all(daemon_t *d);

static void on_engine_stopped(pl_engine_t *e, void *ud)
{
    daemon_t *d = ud;

    if (e == d->retiring) {
        pl_engine_free(e);
        d->retiring = NULL;
        return;
    }
    pl_expose_free(d->expose); /* before the simulators and the engine go */
    d->expose = NULL;
    pl_engine_free(e);
    d->engine = NULL;
    if (d->mqtt != NULL) { /* publishes "offline"; its handles close as the loop runs */
        pl_mqtt_free(d->mqtt);
        d->mqtt = NULL;
    }
    close_all(d);
}

static void close_all(daemon_t *d)
{
    size_t i;

    pl_expose_free(d->expose);
    d->expose = NULL;
    stop_sims(d);
    http_stop();
    for (i = 0; i < 3; i++)
        if (!uv_is_closing((uv_handle_t *)&d->sig[i]))
            uv_close((uv_handle_t *)&d->sig[i], NULL);
    if (d->table)
        uv_close((uv_handle_t *)&d->table_timer, NULL);
    uv_close((uv_handle_t *)&d->flush, NULL);
    if (d->in_open && !d->in_is_file) {
        uv_read_stop((uv_stream_t *)&d->in.pipe);
        uv_close((uv_handle_t *)&d->in.pipe, NULL);
        d->in_open = 0;
    } else if (d->in_open && d->in_is_file) {
        uv_cancel((uv_req_t *)&d->in_req);
    }
}

static void shutdown_daemon(daemon_t *d)
{
    if (d->stopping)
        return;
    d->stopping = 1;
    pl_log(&d->log, PL_LOG_INFO, "stopping: answering pending writes, closing lines");
    if (d->engine != NULL)
        pl_engine_stop(d->engine, on_engine_stopped);
    else
        close_all(d);
}

static void reload(daemon_t *d)
{
    pl_config_t next;
    pl_status_t st;
    pl_engine_t *e = NULL;
    pl_expose_t *x = NULL;
    char msg[1024];

    memset(&next, 0, sizeof(next));
    pl_status_clear(&st);
    if (pl_config_load(&next, d->path, &st, msg, sizeof(msg)) < 0) {
        fprintf(stderr, "plcline: reload: %s\n", msg[0] != '\0' ? msg : st.detail);
        fprintf(stderr, "plcline: reload: keeping the running configuration\n");
        http_reloaded(d, &st, msg[0] != '\0' ? msg : st.detail);
        pl_config_free(&next);
        return;
    }
    /* Simulators stay as they are: a reload re-wires lines to the running ones. */
    wire_sims(d, &next);
    if (build_engine(d, &next, &e) < 0 || start_expose(d, &next, NULL, &x) < 0) {
        fprintf(stderr, "plcline: reload: keeping the running configuration\n");
        pl_status_set(&st, PL_ECONFIG, 0, "the new configuration was refused (see the log)");
        http_reloaded(d, &st, st.detail);
        pl_engine_free(e);
        pl_config_free(&next);
        return;
    }
    pl_engine_adopt(e, d->engine); /* unchanged devices keep their connections */
    if (d->retiring != NULL)
        pl_engine_free(d->retiring);
    d->retiring = d->engine;
    pl_engine_stop(d->retiring, on_engine_stopped);
    d->engine = e;
    if (d->mqtt != NULL)
        pl_mqtt_set_engine(d->mqtt, e); /* north.mqtt changes take a restart */
    pl_expose_free(d->expose);          /* checked above: only memory can fail now */
    d->expose = NULL;
    if (start_expose(d, &next, e, &d->expose) < 0)
        pl_log(&d->log, PL_LOG_ERROR, "reload: no tag is served to simulator clients");
    pl_config_free(&d->cfg);
    d->cfg = next;
    d->ntags = next.ntags;
    pl_config_drop_tags(&d->cfg); /* the engine has its own copy; a reload reads the file */
    pl_engine_start(e);
    pl_log(&d->log, PL_LOG_INFO, "configuration reloaded from %s", d->path);
    pl_status_clear(&st);
    http_reloaded(d, &st, ""); /* http.* changes take a restart */
}

static void on_signal(uv_signal_t *h, int signum)
{
    daemon_t *d = h->data;

    if (signum == SIGHUP) {
        if (!d->stopping)
            reload(d);
        return;
    }
    shutdown_daemon(d);
}

int cmd_run(int argc, char **argv)
{
    static daemon_t dd;
    daemon_t *d = &dd;
    pl_status_t st;
    char msg[1024];
    int i, check = 0, force_json = 0, rc, verbosity = 0;
    static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};

    memset(d, 0, sizeof(*d));
    cli_logger_init(&d->log, PL_LOG_INFO);
    for (i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(argv[i], "--check") == 0) {
            check = 1;
        } else if (strcmp(argv[i], "--json") == 0) {
            force_json = 1;
        } else if (strcmp(argv[i], "-v") == 0) {
            d->log.level = PL_LOG_DEBUG;
            verbosity = 1;
        } else if (strcmp(argv[i], "-q") == 0) {
            d->log.level = PL_LOG_WARN;
            d->log.burst = 1; /* partners' warnings: the first of each, then counts */
            verbosity = -1;
        } else if (argv[i][0] == '-' || d->path != NULL) {
            fprintf(stderr, "plcline run: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return CLI_EXIT_USAGE;
        } else {
            d->path = argv[i];
        }
    }
    if (d->path == NULL) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    pl_status_clear(&st);
    msg[0] = '\0';
    if (pl_config_load(&d->cfg, d->path, &st, msg, sizeof(msg)) < 0) {
        fprintf(stderr, "plcline: %s\n", msg[0] != '\0' ? msg : st.detail);
        pl_config_free(&d->cfg);
        return st.code == PL_EIO ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
    }
    (void)raise_nofile(&d->log, &d->cfg);
    uv_loop_init(&d->loop);
    if (check) {
        pl_engine_t *e = NULL;

        pl_expose_t *x = NULL;

        wire_sims(d, &d->cfg); /* no simulator runs: lines get a placeholder address */
        rc = build_engine(d, &d->cfg, &e);
        if (rc == 0)
            rc = start_expose(d, &d->cfg, NULL, &x);
        if (rc == 0) {
            printf("%s: ok (%zu lines, %zu devices, %zu tags, %zu scan classes, %zu "
                   "simulators)\n",
                   d->path, d->cfg.nlines, d->cfg.ndevices, d->cfg.ntags, d->cfg.nscans,
                   d->cfg.nsims);
        }
        pl_engine_free(e);
        uv_run(&d->loop, UV_RUN_DEFAULT);
        uv_loop_close(&d->loop);
        pl_config_free(&d->cfg);
        return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }

    d->table = !force_json && d->cfg.north.json_stdout != 1 && isatty(STDOUT_FILENO);
    if (d->table && verbosity == 0 && isatty(STDERR_FILENO))
        d->log.level = PL_LOG_WARN; /* info lines would scroll the table away */
    d->json = !d->table && d->cfg.north.json_stdout != 0;
    setvbuf(stdout, NULL, _IOFBF, OUT_BUF_BYTES);
    rc = start_sims(d, &d->cfg);
    if (rc == 0) {
        wire_sims(d, &d->cfg);
        rc = build_engine(d, &d->cfg, &d->engine);
    }
    if (rc == 0 && (rc = start_expose(d, &d->cfg, d->engine, &d->expose)) < 0) {
        pl_engine_free(d->engine);
        d->engine = NULL;
    }
    d->ntags = d->cfg.ntags;
    pl_config_drop_tags(&d->cfg); /* the engine has its own copy; a reload reads the file */
    if (rc < 0) {
        stop_sims(d);
        uv_run(&d->loop, UV_RUN_DEFAULT);
        uv_loop_close(&d->loop);
        pl_config_free(&d->cfg);
        return CLI_EXIT_FAIL;
    }
    if (d->cfg.north.mqtt) {
        pl_status_clear(&st);
        if (pl_mqtt_new(&d->loop, &d->cfg.north, d->engine, &d->log, NULL, &d->mqtt, &st) < 0) {
            cli_print_error("north.mqtt", &st);
            pl_expose_free(d->expose);
            pl_engine_free(d->engine);
            stop_sims(d);
            uv_run(&d->loop, UV_RUN_DEFAULT);
            uv_loop_close(&d->loop);
            pl_config_free(&d->cfg);
            return CLI_EXIT_FAIL;
        }
    }
    if (http_start(d) < 0) {
        if (d->mqtt != NULL)
            pl_mqtt_free(d->mqtt);
        pl_expose_free(d->expose);
        pl_engine_free(d->engine);
        stop_sims(d);
        uv_run(&d->loop, UV_RUN_DEFAULT);
        uv_loop_close(&d->loop);
        pl_config_free(&d->cfg);
        return CLI_EXIT_FAIL;
    }
    for (i = 0; i < 3; i++) {
        uv_signal_init(&d->loop, &d->sig[i]);
        d->sig[i].data = d;
        uv_signal_start(&d->sig[i], on_signal, sigs[i]);
    }
    uv_prepare_init(&d->loop, &d->flush);
    uv_prepare_start(&d->flush, on_flush);
    if (d->table) {
        uv_timer_init(&d->loop, &d->table_timer);
        d->table_timer.data = d;
        uv_timer_start(&d->table_timer, on_table, TABLE_MS, TABLE_MS);
    }
    open_input(d);
    pl_log(&d->log, PL_LOG_INFO, "running %s: %zu lines, %zu devices, %zu tags", d->path,
           d->cfg.nlines, d->cfg.ndevices, d->ntags);
    pl_engine_start(d->engine);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    fflush(stdout);
    rc = uv_loop_close(&d->loop);
    if (rc != 0)
        pl_log(&d->log, PL_LOG_WARN, "handles left open at exit");
    pl_config_free(&d->cfg);
    return CLI_EXIT_OK;
}
