/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the 7TTCP node simulator session (src/proto/ttcp_server.c and the
 * shared src/proto/simconn.c) against a client that sends arbitrary bytes.
 *
 * Input: two option bytes (close after N frames; answer delay on or off, max_inflight 0-3
 * and inflight_drop), then the
 * client's byte stream as chunks (a length byte, then up to that many bytes). A raw
 * partner on loopback connects, sends the chunks one loop turn apart, half-closes and
 * reads until the simulator closes. Invariants: no crash or sanitizer report; the
 * simulator closes the connection once the partner has gone; every byte it sent is a
 * well-formed 7TTCP frame, and it sent as many as it counted (frames_out); each request
 * frame got at most one answer (frames_out + ignored + inflight_dropped <= frames_in, and
 * at most one frame, the malformed one or the one past max_inflight that closed the
 * connection, went unanswered and uncounted otherwise); without max_inflight nothing is
 * counted as in flight, and a connection is closed for it at most once;
 * the heap stays bounded; every handle is closed and the loop closes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ttcp/codec/ttcp.h"
#include "plcline/error.h"
#include "plcline/ttcp.h"
#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NODES    4u
#define HEAP_MAX ((size_t)NODES * 65536u * 2u + (size_t)2 * 1024 * 1024)

static fz_peer_t peer;
static pl_ttcp_server_t *server;

static int peer_gone(void *arg)
{
    (void)arg;
    return peer.eof;
}

/* The whole frames received; aborts on bytes that are not a well-formed frame. */
static uint64_t count_answers(void)
{
    uint64_t answers = 0;
    size_t pos;

    FZ_CHECK(!peer.rx_overflow);
    for (pos = 0; pos < peer.rx_len;) {
        pl_ttcp_frame_t fr;
        int n = pl_ttcp_frame(peer.rx + pos, peer.rx_len - pos, PL_TTCP_MAX_WORDS, NULL);

        if (n == PL_EAGAIN)
            break;
        FZ_CHECK(n > 0);
        FZ_CHECK(pl_ttcp_decode(peer.rx + pos, (size_t)n, PL_TTCP_MAX_WORDS, &fr) == 0);
        pos += (size_t)n;
        answers++;
    }
    return answers;
}

/* every answer counted has arrived (held ones included), or the simulator closed */
static int answers_in(void *arg)
{
    (void)arg;
    return peer.eof || count_answers() == pl_ttcp_server_stats(server)->frames_out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uv_loop_t loop;
    fz_input_t in = {data, size};
    pl_ttcp_server_config_t cfg;
    pl_ttcp_server_t *s;
    int closed_by_server;
    const pl_ttcp_server_stats_t *st;
    pl_status_t err;
    static const uint32_t ignore[] = {2};
    size_t heap0, heap_peak, h;
    uint64_t answers, frames_in_then;
    uint8_t opt;

    memset(&peer, 0, sizeof(peer));
    heap0 = heap_peak = fz_heap_bytes();
    FZ_CHECK(uv_loop_init(&loop) == 0);
    pl_ttcp_server_config_init(&cfg);
    cfg.listen.port = 0; /* a free port */
    cfg.node_first = 0;
    cfg.node_last = NODES - 1u;
    cfg.ignore_nodes = ignore;
    cfg.n_ignore = 1;
    opt = fz_u8(&in);
    cfg.close_after = opt & 7u;
    opt = fz_u8(&in);
    cfg.delay_ms = opt & 1u;            /* answers held back one millisecond, in order */
    cfg.max_inflight = (opt >> 1) & 3u; /* 0: no limit */
    cfg.inflight_drop = (uint8_t)((opt >> 3) & 1u);
    FZ_CHECK(pl_ttcp_server_new(&loop, &cfg, &s, &err) == 0);
    server = s;
    FZ_CHECK(fz_peer_connect(&peer, &loop, pl_ttcp_server_port(s)) == 0);

    while (in.n > 0 && !peer.eof) {
        const uint8_t *chunk;
        size_t n = fz_take(&in, fz_u8(&in), &chunk);

        fz_peer_send(&peer, chunk, n);
        fz_turn(&loop);
        h = fz_heap_bytes();
        if (h > heap_peak)
            heap_peak = h;
    }
    /* the answers held back by the delay come out before the partner leaves */
    fz_run_until(&loop, answers_in, NULL, 10000);
    closed_by_server = peer.eof;
    frames_in_then = pl_ttcp_server_stats(s)->frames_in;
    fz_peer_shutdown(&peer);
    fz_run_until(&loop, peer_gone, NULL, 10000);

    /* everything the simulator sent: whole, well-formed frames, as many as it counted.
     * Fewer only when it closed the connection with answers not yet out: when it closed it
     * by itself, or when frames still on their way when the partner half-closed were
     * served after that (their answers, held back or queued, go with the connection the
     * partner's end of stream closes) */
    answers = count_answers();
    st = pl_ttcp_server_stats(s);
    FZ_CHECK(closed_by_server || st->frames_in != frames_in_then ? answers <= st->frames_out
                                                                 : answers == st->frames_out);
    FZ_CHECK(st->frames_out + st->ignored + st->inflight_dropped <= st->frames_in);
    FZ_CHECK(st->frames_in - st->frames_out - st->ignored - st->inflight_dropped <= 1);
    FZ_CHECK(st->inflight_closed <= 1);
    FZ_CHECK(cfg.max_inflight != 0 || st->inflight_closed + st->inflight_dropped == 0);
    FZ_CHECK(cfg.inflight_drop ? st->inflight_closed == 0 : st->inflight_dropped == 0);
    FZ_CHECK(heap_peak - heap0 < HEAP_MAX);

    fz_peer_close(&peer);
    FZ_CHECK(pl_ttcp_server_free(s) == 0);
    fz_loop_close(&loop);
    FZ_CHECK(peer.open_handles == 0);
    return 0;
}
