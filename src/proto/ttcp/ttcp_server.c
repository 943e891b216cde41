/* SPDX-License-Identifier: MIT */
/*
 * 7TTCP node simulator (the 7TTCPMON side): answers read and write requests for a range of
 * nodes of 65 536 words each, answers keep-alives, and offers the knobs a test peer needs
 * (fixed answer delay, nodes that never answer, closing after N frames, unsolicited input,
 * a node that serves one request at a time: max_inflight).
 *
 * The protocol has no error reply: a malformed frame closes the connection that sent it
 * (and only that one); a well-formed request it cannot serve (unknown node, range past the
 * node's memory) is logged and left unanswered, so the client times out. Built on simconn
 * (the simulators' connections: framing, delay, close-after, on the listener) and the codec;
 * no blocking call except the optional persistence file, read at start and written at
 * shutdown.
 */
#include "plcline/ttcp.h"
#include "plcline/error.h"

#include "proto/ttcp/codec/ttcp.h"
#include "proto/simconn.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODE_WORDS    65536u
#define MAX_NODES     4096u
#define PERSIST_MAGIC "PLTTCPM1"

struct pl_ttcp_server_s {
    uv_loop_t *loop;
    pl_simconn_set_t conns; /* the listener and its connections */
    const pl_logger_t *log;
    uint32_t node_first, node_last;
    unsigned max_block, animate_ms;
    unsigned max_inflight; /* 0: no limit */
    int inflight_drop;     /* a request past max_inflight is ignored, not a close */
    uint32_t *ignore;
    size_t n_ignore;
    char *persist_path;
    uint16_t **mem; /* per node, allocated on first use */
    uv_timer_t animate;
    int animating;
    uint32_t tick;
    pl_ttcp_server_stats_t stats;
    uint8_t tx[PL_TTCP_MAX_FRAME];
    uint16_t words[PL_TTCP_MAX_WORDS];
};

void pl_ttcp_server_config_init(pl_ttcp_server_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->listen.port = PL_TTCP_PORT;
    cfg->node_first = 0;
    cfg->node_last = 7;
    cfg->max_block = PL_TTCP_MAX_WORDS;
}

uint16_t *pl_ttcp_server_words(pl_ttcp_server_t *s, uint32_t node)
{
    uint32_t i;

    if (node < s->node_first || node > s->node_last)
        return NULL;
    i = node - s->node_first;
    if (s->mem[i] == NULL)
        s->mem[i] = calloc(NODE_WORDS, sizeof(uint16_t));
    return s->mem[i];
}

static int ignored_node(const pl_ttcp_server_t *s, uint32_t node)
{
    size_t i;

    for (i = 0; i < s->n_ignore; i++)
        if (s->ignore[i] == node)
            return 1;
    return 0;
}

/* --- answers --------------------------------------------------------------------- */

static void answer(pl_ttcp_server_t *s, pl_simconn_t *sc, const uint8_t *buf, size_t len)
{
    s->stats.frames_out++;
    pl_simconn_answer(sc, buf, len);
}

static int frame_len(const uint8_t *buf, size_t len, void *ud)
{
    const pl_ttcp_server_t *s = ud;

    return pl_ttcp_frame(buf, len, s->max_block, NULL);
}

/* A request arrived while max_inflight were unanswered: ignored (inflight_drop) or the
 * connection closed, as the node the simulator plays would. Returns serve_frame's value. */
static int past_max_inflight(pl_ttcp_server_t *s, pl_simconn_t *sc, const pl_ttcp_frame_t *f)
{
    if (s->inflight_drop) {
        s->stats.inflight_dropped++;
        pl_simconn_log(sc, PL_LOG_INFO,
                       "7ttcp server %s: node %u offset %u: more than %u requests in flight "
                       "(max_inflight), ignored",
                       pl_simconn_peer(sc), f->node, f->offset, s->max_inflight);
        return 0;
    }
    s->stats.inflight_closed++;
    pl_simconn_log(sc, PL_LOG_INFO,
                   "7ttcp server %s: more than %u requests in flight (max_inflight), closing",
                   pl_simconn_peer(sc), s->max_inflight);
    pl_simconn_close(sc, NULL);
    return -1;
}

/* Serves one framed request. Returns 0 to go on with the connection, <0 when it was closed. */
static int serve_frame(pl_simconn_t *sc, const uint8_t *p, size_t n, void *ud)
{
    pl_ttcp_server_t *s = ud;
    pl_ttcp_frame_t f;
    pl_status_t why;
    uint16_t *mem;
    size_t i;
    int rc, len;

    rc = pl_ttcp_decode(p, n, s->max_block, &f);
    if (rc < 0) { /* framed, but not a request (a write without its data, ...) */
        s->stats.bad_frames++;
        pl_status_set(&why, rc, 0, "malformed frame");
        pl_simconn_log(sc, PL_LOG_WARN, "7ttcp server %s: %s (%s), closing the connection",
                       pl_simconn_peer(sc), pl_strerror(rc), pl_err_name(rc));
        pl_simconn_close(sc, &why);
        return -1;
    }
    if (f.opcode == PL_TTCP_OP_KEEPALIVE) {
        s->stats.keepalives++;
        len = pl_ttcp_encode_keepalive(s->tx, sizeof(s->tx), f.length == PL_TTCP_HEADER_LEN);
        s->stats.frames_out++;
        pl_simconn_answer_uncounted(sc, s->tx, (size_t)len); /* no request: never in flight */
        return 0;
    }
    /* a node serving max_inflight requests at a time (simconn.h says what is unanswered) */
    if (pl_simconn_over_inflight(sc, s->max_inflight))
        return past_max_inflight(s, sc, &f);
    if (ignored_node(s, f.node)) {
        s->stats.ignored++;
        return 0;
    }
    mem = pl_ttcp_server_words(s, f.node);
    if (mem == NULL || (uint64_t)f.offset + f.count > NODE_WORDS || f.count == 0) {
        s->stats.ignored++;
        pl_simconn_log(sc, PL_LOG_WARN,
                       "7ttcp server %s: node %u offset %u count %u is not served, no answer",
                       pl_simconn_peer(sc), f.node, f.offset, f.count);
        return 0;
    }
    if (f.type == PL_TTCP_TYPE_READ) {
        len = pl_ttcp_encode(s->tx, sizeof(s->tx), PL_TTCP_OP_DATA, f.node, f.offset,
                             PL_TTCP_TYPE_READ, f.count, mem + f.offset);
    } else {
        if (f.data_words != f.count) {
            s->stats.bad_frames++;
            pl_status_set(&why, PL_ETTCP_LENGTH, 0, "write request without data");
            pl_simconn_log(sc, PL_LOG_WARN, "7ttcp server %s: write request without data, closing",
                           pl_simconn_peer(sc));
            pl_simconn_close(sc, &why);
            return -1;
        }
        for (i = 0; i < f.data_words; i++)
            mem[f.offset + i] = pl_ttcp_word(&f, i);
        len = pl_ttcp_encode(s->tx, sizeof(s->tx), PL_TTCP_OP_DATA, f.node, f.offset,
                             PL_TTCP_TYPE_WRITE, f.count, NULL);
    }
    answer(s, sc, s->tx, (size_t)len);
    return 0;
}

int pl_ttcp_server_push(pl_ttcp_server_t *s, uint32_t node, uint32_t offset, size_t count)
{
    uint16_t *mem = pl_ttcp_server_words(s, node);
    int len, n;

    if (mem == NULL || count == 0 || count > PL_TTCP_MAX_WORDS ||
        (uint64_t)offset + count > NODE_WORDS)
        return PL_EINVAL;
    len = pl_ttcp_encode(s->tx, sizeof(s->tx), PL_TTCP_OP_DATA, node, offset, PL_TTCP_TYPE_WRITE,
                         (uint32_t)count, mem + offset);
    n = pl_simconn_send_all(&s->conns, s->tx, (size_t)len);
    s->stats.frames_out += (uint64_t)n;
    return n;
}

/* --- animation (demo values) -------------------------------------------------------- */

static void on_animate(uv_timer_t *t)
{
    pl_ttcp_server_t *s = t->data;
    uint32_t i, k;
    float f;
    uint32_t bits;

    s->tick++;
    f = 100.0f * sinf((float)s->tick * 0.1f);
    memcpy(&bits, &f, sizeof(bits));
    for (i = 0; i <= s->node_last - s->node_first; i++) {
        uint16_t *m = s->mem[i];

        if (m == NULL)
            continue;
        m[0] = (uint16_t)s->tick;          /* counter */
        m[1] = (uint16_t)(s->tick % 100u); /* sawtooth 0..99 */
        m[2] = (uint16_t)(bits & 0xFFFFu); /* float32 sine, low word first */
        m[3] = (uint16_t)(bits >> 16);
        m[4] = (uint16_t)(1u << (s->tick % 16u)); /* walking bit */
        for (k = 5; k < 10; k++)
            m[k] = (uint16_t)(s->tick * k + i);
    }
}

/* --- persistence ----------------------------------------------------------------- */

static int persist_load(pl_ttcp_server_t *s, pl_status_t *err)
{
    FILE *fp = fopen(s->persist_path, "rb");
    uint8_t hdr[8], rec[4], *buf = NULL;
    uint32_t node, i;
    int rc = 0;

    if (fp == NULL) {
        if (errno == ENOENT)
            return 0; /* first run */
        return pl_status_set(err, PL_EIO, -errno, "%s", s->persist_path);
    }
    if (fread(hdr, 1, sizeof(hdr), fp) != sizeof(hdr) || memcmp(hdr, PERSIST_MAGIC, 8) != 0) {
        rc = pl_status_set(err, PL_EIO, 0, "%s: not a plcline 7TTCP memory file", s->persist_path);
        goto out;
    }
    buf = malloc(NODE_WORDS * 2u);
    if (buf == NULL) {
        rc = pl_status_set(err, PL_ENOMEM, 0, NULL);
        goto out;
    }
    while (fread(rec, 1, 4, fp) == 4) {
        uint16_t *m;

        node = (uint32_t)rec[0] | (uint32_t)rec[1] << 8 | (uint32_t)rec[2] << 16 |
               (uint32_t)rec[3] << 24;
        if (fread(buf, 1, NODE_WORDS * 2u, fp) != NODE_WORDS * 2u) {
            rc = pl_status_set(err, PL_EIO, 0, "%s: truncated record for node %u", s->persist_path,
                               node);
            goto out;
        }
        m = pl_ttcp_server_words(s, node);
        if (m == NULL)
            continue; /* node no longer served */
        for (i = 0; i < NODE_WORDS; i++)
            m[i] = (uint16_t)(buf[2 * i] | buf[2 * i + 1] << 8);
    }
out:
    free(buf);
    fclose(fp);
    return rc;
}

static int persist_save(pl_ttcp_server_t *s)
{
    char tmp[4096];
    FILE *fp;
    uint8_t *buf;
    uint32_t i, n, node;
    int ok = 1;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", s->persist_path) >= sizeof(tmp))
        return PL_EIO;
    buf = malloc(NODE_WORDS * 2u);
    fp = buf != NULL ? fopen(tmp, "wb") : NULL;
    if (fp == NULL) {
        free(buf);
        pl_log(s->log, PL_LOG_ERROR, "7ttcp server: cannot save memory to %s", tmp);
        return PL_EIO;
    }
    ok = fwrite(PERSIST_MAGIC, 1, 8, fp) == 8;
    for (n = 0; ok && n <= s->node_last - s->node_first; n++) {
        uint8_t rec[4];

        if (s->mem[n] == NULL)
            continue;
        node = s->node_first + n;
        rec[0] = (uint8_t)node;
        rec[1] = (uint8_t)(node >> 8);
        rec[2] = (uint8_t)(node >> 16);
        rec[3] = (uint8_t)(node >> 24);
        for (i = 0; i < NODE_WORDS; i++) {
            buf[2 * i] = (uint8_t)s->mem[n][i];
            buf[2 * i + 1] = (uint8_t)(s->mem[n][i] >> 8);
        }
        ok = fwrite(rec, 1, 4, fp) == 4 && fwrite(buf, 1, NODE_WORDS * 2u, fp) == NODE_WORDS * 2u;
    }
    free(buf);
    if (fclose(fp) != 0)
        ok = 0;
    if (!ok || rename(tmp, s->persist_path) != 0) {
        pl_log(s->log, PL_LOG_ERROR, "7ttcp server: cannot save memory to %s", s->persist_path);
        remove(tmp);
        return PL_EIO;
    }
    return 0;
}

/* --- lifecycle ------------------------------------------------------------------- */

static void server_release(pl_ttcp_server_t *s)
{
    uint32_t i;

    if (s->mem != NULL)
        for (i = 0; i <= s->node_last - s->node_first; i++)
            free(s->mem[i]);
    free(s->mem);
    free(s->ignore);
    free(s->persist_path);
    free(s);
}

static void on_animate_closed(uv_handle_t *h)
{
    server_release(h->data);
}

int pl_ttcp_server_new(uv_loop_t *loop, const pl_ttcp_server_config_t *cfg, pl_ttcp_server_t **out,
                       pl_status_t *err)
{
    static const pl_simconn_cbs_t cbs = {.frame = frame_len, .serve = serve_frame};
    pl_simconn_config_t sim;
    pl_ttcp_server_t *s;
    uint32_t i;
    int rc;

    if (loop == NULL || cfg == NULL || out == NULL || cfg->node_last < cfg->node_first ||
        cfg->node_last - cfg->node_first >= MAX_NODES || cfg->max_block > PL_TTCP_MAX_WORDS)
        return pl_status_set(err, PL_EINVAL, 0, "nodes %u..%u or max_block %u out of range",
                             cfg != NULL ? cfg->node_first : 0, cfg != NULL ? cfg->node_last : 0,
                             cfg != NULL ? cfg->max_block : 0);
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    s->loop = loop;
    s->log = cfg->log;
    s->node_first = cfg->node_first;
    s->node_last = cfg->node_last;
    s->max_block = cfg->max_block != 0 ? cfg->max_block : PL_TTCP_MAX_WORDS;
    s->animate_ms = cfg->animate_ms;
    s->max_inflight = cfg->max_inflight;
    s->inflight_drop = cfg->inflight_drop != 0;
    s->mem = calloc((size_t)(s->node_last - s->node_first) + 1u, sizeof(*s->mem));
    if (s->mem == NULL)
        goto nomem;
    if (cfg->n_ignore > 0) {
        s->ignore = malloc(cfg->n_ignore * sizeof(*s->ignore));
        if (s->ignore == NULL)
            goto nomem;
        memcpy(s->ignore, cfg->ignore_nodes, cfg->n_ignore * sizeof(*s->ignore));
        s->n_ignore = cfg->n_ignore;
    }
    if (cfg->persist_path != NULL) {
        size_t n = strlen(cfg->persist_path);

        s->persist_path = malloc(n + 1);
        if (s->persist_path == NULL)
            goto nomem;
        memcpy(s->persist_path, cfg->persist_path, n + 1);
        rc = persist_load(s, err);
        if (rc < 0) {
            server_release(s);
            return rc;
        }
    }
    if (s->animate_ms > 0) /* the demo nodes exist from the start */
        for (i = s->node_first; i <= s->node_last; i++)
            if (pl_ttcp_server_words(s, i) == NULL)
                goto nomem;
    memset(&sim, 0, sizeof(sim));
    sim.name = "7ttcp server";
    sim.max_frame = PL_TTCP_MAX_FRAME;
    sim.delay_ms = cfg->delay_ms;
    sim.close_after = cfg->close_after;
    sim.log = cfg->log;
    sim.connections = &s->stats.connections;
    sim.frames_in = &s->stats.frames_in;
    sim.bad_frames = &s->stats.bad_frames;
    sim.idle_timeout_ms = cfg->idle_timeout_ms != 0 ? cfg->idle_timeout_ms : PL_SIM_IDLE_TIMEOUT_MS;
    sim.idle_timeouts = &s->stats.idle_timeouts;
    rc = pl_simconn_set_init(&s->conns, loop, &cfg->listen, &sim, &cbs, s, err);
    if (rc < 0) {
        server_release(s);
        return rc;
    }
    uv_timer_init(loop, &s->animate);
    s->animate.data = s;
    if (s->animate_ms > 0)
        uv_timer_start(&s->animate, on_animate, s->animate_ms, s->animate_ms);
    *out = s;
    return 0;
nomem:
    server_release(s);
    return pl_status_set(err, PL_ENOMEM, 0, NULL);
}

uint16_t pl_ttcp_server_port(const pl_ttcp_server_t *s)
{
    return pl_listener_port(s->conns.lst);
}

const char *pl_ttcp_server_address(const pl_ttcp_server_t *s)
{
    return pl_listener_address(s->conns.lst);
}

const pl_ttcp_server_stats_t *pl_ttcp_server_stats(const pl_ttcp_server_t *s)
{
    return &s->stats;
}

unsigned pl_ttcp_server_conn_count(const pl_ttcp_server_t *s)
{
    return pl_simconn_count(&s->conns);
}

int pl_ttcp_server_free(pl_ttcp_server_t *s)
{
    int rc = 0;

    if (s == NULL)
        return 0;
    pl_simconn_set_close(&s->conns); /* closes the listener and every connection */
    if (s->persist_path != NULL)
        rc = persist_save(s);
    uv_timer_stop(&s->animate);
    uv_close((uv_handle_t *)&s->animate, on_animate_closed);
    return rc;
}
