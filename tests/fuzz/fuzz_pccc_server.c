/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the PCCC PLC simulator session (src/proto/pccc_server.c and the
 * shared src/proto/simconn.c) against a client that sends arbitrary bytes.
 *
 * Input: two option bytes (processor type, close after N requests, answer delay), then
 * the client's byte stream as chunks (a length byte, then up to that many bytes). A raw
 * partner on loopback connects, sends the chunks one loop turn apart (with the delay:
 * waits 5 ms for the held answers), half-closes and reads until the simulator closes. Invariants:
 * no crash or sanitizer report; the simulator closes once the partner has gone; everything it sent
 * is well-formed encapsulation messages; the answers come in request order, each for a request with
 * the same command and sender context, so no request is answered twice; the heap stays bounded;
 * every handle is closed and the loop closes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/pccc/codec/enip.h"
#include "plcline/error.h"
#include "plcline/pccc.h"
#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STREAM_MAX 8192u /* the input is at most this long as a stream */
#define HEAP_MAX   ((size_t)4 * 1024 * 1024)

static fz_peer_t peer;

static int peer_gone(void *arg)
{
    (void)arg;
    return peer.eof;
}

/* The whole messages received; aborts on bytes that are not one. */
static size_t count_answers(void)
{
    size_t answers = 0;
    size_t pos;

    FZ_CHECK(!peer.rx_overflow);
    for (pos = 0; pos < peer.rx_len;) {
        pl_enip_msg_t m;
        int n = pl_enip_frame(peer.rx + pos, peer.rx_len - pos, PL_ENIP_MAX_LENGTH, NULL);

        if (n == PL_EAGAIN)
            break;
        FZ_CHECK(n > 0);
        FZ_CHECK(pl_enip_decode(peer.rx + pos, (size_t)n, &m) == 0);
        pos += (size_t)n;
        answers++;
    }
    return answers;
}

static int ticked;

static void on_tick(uv_timer_t *t)
{
    (void)t;
    ticked = 1;
}

static int tick_done(void *arg)
{
    (void)arg;
    return ticked;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t stream[STREAM_MAX];
    uv_loop_t loop;
    fz_input_t in = {data, size};
    pl_pccc_server_config_t cfg;
    pl_pccc_server_t *s;
    pl_status_t err;
    size_t heap0, heap_peak, h, slen = 0, rpos, qpos;
    uint8_t opt;

    memset(&peer, 0, sizeof(peer));
    heap0 = heap_peak = fz_heap_bytes();
    FZ_CHECK(uv_loop_init(&loop) == 0);
    pl_pccc_server_config_init(&cfg);
    cfg.listen.port = 0; /* a free port */
    opt = fz_u8(&in);
    cfg.plc = (pl_pccc_plc_t)(opt % 4u);
    cfg.close_after = (opt >> 2) & 7u;
    opt = fz_u8(&in);
    cfg.delay_ms = opt & 1u;
    if (pl_pccc_server_new(&loop, &cfg, &s, &err) != 0) {
        fprintf(stderr, "pccc server: %s\n", err.detail);
        abort();
    }
    FZ_CHECK(fz_peer_connect(&peer, &loop, pl_pccc_server_port(s)) == 0);

    while (in.n > 0 && !peer.eof) {
        const uint8_t *chunk;
        size_t n = fz_take(&in, fz_u8(&in), &chunk);

        if (n > STREAM_MAX - slen)
            break;
        memcpy(stream + slen, chunk, n);
        slen += n;
        fz_peer_send(&peer, chunk, n);
        fz_turn(&loop);
        h = fz_heap_bytes();
        if (h > heap_peak)
            heap_peak = h;
    }
    if (cfg.delay_ms > 0) { /* let the answers held back 1 ms come out: one 5 ms tick */
        uv_timer_t tick;

        ticked = 0;
        FZ_CHECK(uv_timer_init(&loop, &tick) == 0);
        FZ_CHECK(uv_timer_start(&tick, on_tick, 5, 0) == 0);
        fz_run_until(&loop, tick_done, NULL, 10000);
        uv_close((uv_handle_t *)&tick, NULL);
    }
    fz_peer_shutdown(&peer);
    fz_run_until(&loop, peer_gone, NULL, 10000);

    /* every answer matches a request after the one the previous answer matched */
    (void)count_answers();
    qpos = 0;
    for (rpos = 0; rpos < peer.rx_len;) {
        pl_enip_msg_t a;
        int n = pl_enip_frame(peer.rx + rpos, peer.rx_len - rpos, PL_ENIP_MAX_LENGTH, NULL);
        int found = 0;

        if (n == PL_EAGAIN)
            break;
        FZ_CHECK(pl_enip_decode(peer.rx + rpos, (size_t)n, &a) == 0);
        rpos += (size_t)n;
        while (!found && qpos < slen) {
            pl_enip_msg_t q;
            int k = pl_enip_frame(stream + qpos, slen - qpos, PL_ENIP_MAX_LENGTH, NULL);

            FZ_CHECK(k > 0); /* an answer with no request left to answer */
            FZ_CHECK(pl_enip_decode(stream + qpos, (size_t)k, &q) == 0);
            qpos += (size_t)k;
            found =
                q.command == a.command && memcmp(q.context, a.context, PL_ENIP_CONTEXT_LEN) == 0;
        }
        FZ_CHECK(found);
    }
    FZ_CHECK(heap_peak - heap0 < HEAP_MAX);

    fz_peer_close(&peer);
    pl_pccc_server_free(s);
    fz_loop_close(&loop);
    FZ_CHECK(peer.open_handles == 0);
    return 0;
}
