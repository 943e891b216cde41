/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the 7TTCP client session (src/proto/ttcp_client.c) against a node
 * that sends arbitrary bytes.
 *
 * Input: a header (client max_block, queue length, a 20 ms request timeout or none,
 * keep-alives, requests in flight (16, 2 or 1), up to 8 requests: read or write, high-level or one
 * block, node, offset, count), then the node's byte stream as chunks (a length byte, then up to
 * that many bytes; with the short timeout an empty chunk lets 25 ms pass, so answers come late).
 * The requests are submitted at once; a raw partner on loopback accepts the client's connection
 * (and any reconnection) and sends the chunks one loop turn apart, then closes the connection and
 * stops listening, so every request must end: answered, failed by the partner's close or garbage,
 * or by the refused reconnection. Invariants: no crash or sanitizer report; every accepted
 * request's callback runs exactly once, none for a request refused at submission, none after
 * pl_ttcp_client_free(); a successful read got what the client's own framing accepted;
 * the heap stays bounded; every handle is closed and the loop closes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plcline/error.h"
#include "plcline/ttcp.h"
#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REQS         8
#define MAX_WORDS        600 /* above one block (256), so high-level requests split */
#define HEAP_MAX         ((size_t)4 * 1024 * 1024)
#define TIMEOUT_SHORT_MS 20u

typedef struct {
    pl_ttcp_req_t req;
    uint16_t words[MAX_WORDS];
    int submitted; /* the submission returned 0 */
    int calls;     /* callbacks run */
} fz_req_t;

typedef struct {
    uv_loop_t loop;
    fz_peer_t peer;
    pl_ttcp_client_t *client;
    fz_req_t reqs[MAX_REQS];
    int nreqs;
    int pending; /* submitted, callback not yet run */
    int freed;   /* pl_ttcp_client_free() returned */
    size_t heap0, heap_peak;
} fz_t;

static fz_t *g;

static void on_done(pl_ttcp_req_t *req)
{
    fz_req_t *r = req->data;

    FZ_CHECK(!g->freed);
    FZ_CHECK(r->submitted);
    FZ_CHECK(r->calls == 0);
    r->calls++;
    g->pending--;
    FZ_CHECK(req->status.code <= 0);
}

static int all_done(void *arg)
{
    return ((fz_t *)arg)->pending == 0;
}

static int connected_or_done(void *arg)
{
    fz_t *f = arg;

    return f->pending == 0 || f->peer.conn != NULL;
}

static void sample_heap(fz_t *f)
{
    size_t h = fz_heap_bytes();

    if (h > f->heap_peak)
        f->heap_peak = h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fz_t f;
    fz_input_t in = {data, size};
    pl_ttcp_client_config_t cfg;
    pl_status_t err;
    int short_timeout;
    uint8_t b;
    int i;

    memset(&f, 0, sizeof(f));
    g = &f;
    f.heap0 = f.heap_peak = fz_heap_bytes();
    FZ_CHECK(uv_loop_init(&f.loop) == 0);
    FZ_CHECK(fz_peer_listen(&f.peer, &f.loop) == 0);

    pl_ttcp_client_config_init(&cfg);
    FZ_CHECK(pl_hostlist_parse(&cfg.line.hosts, "127.0.0.1", 9, &err) == 0);
    cfg.line.port = f.peer.port;
    cfg.line.backoff_min_ms = 1; /* a reconnection after garbage is not a wait */
    cfg.line.backoff_max_ms = 2;
    b = fz_u8(&in);
    cfg.max_block = 1u + (b & 0x7fu) * 2u; /* 1..255 */
    if (b & 0x80u)
        cfg.max_block = 0; /* the default, 256 */
    b = fz_u8(&in);
    cfg.max_queue = 1u + (b & 7u);
    /* the partner's close ends a session; or requests time out while the input waits */
    short_timeout = (b & 8u) != 0;
    cfg.timeout_ms = short_timeout ? TIMEOUT_SHORT_MS : 30000;
    cfg.keepalive_ms = (b & 16u) ? 10u : 0u; /* keep-alives while idle */
    /* several in flight (the default, 16; or 2), or one at a time */
    cfg.max_inflight = (b & 32u) ? 1u : (b & 64u) ? 2u : 0u;
    FZ_CHECK(pl_ttcp_client_new(&f.loop, &cfg, &f.client) == 0);

    f.nreqs = fz_u8(&in) % (MAX_REQS + 1);
    for (i = 0; i < f.nreqs; i++) {
        fz_req_t *r = &f.reqs[i];
        uint8_t kind = fz_u8(&in);
        uint32_t node = fz_u8(&in) & 3u;
        uint32_t offset = fz_u16(&in);
        size_t count = (size_t)(fz_u16(&in) % (MAX_WORDS + 1)); /* 0 is refused */
        int rc;

        r->req.data = r;
        for (size_t k = 0; k < count; k++)
            r->words[k] = (uint16_t)(offset + k);
        switch (kind & 3u) {
        case 0:
            rc = pl_ttcp_read(f.client, &r->req, node, offset, r->words, count, on_done);
            break;
        case 1:
            rc = pl_ttcp_write(f.client, &r->req, node, offset, r->words, count, on_done);
            break;
        case 2:
            rc = pl_ttcp_read_block(f.client, &r->req, node, offset, r->words, count, on_done);
            break;
        default:
            rc = pl_ttcp_write_block(f.client, &r->req, node, offset, r->words, count, on_done);
            break;
        }
        FZ_CHECK(rc <= 0);
        if (rc == 0) {
            r->submitted = 1;
            f.pending++;
        } else {
            /* a full queue is the manual's 0x4007 (include/plcline/ttcp.h) */
            FZ_CHECK(rc == PL_EINVAL || rc == PL_E_7TTCP_NO_MSG || rc == PL_EBLOCK_TOO_BIG);
        }
    }

    /* the node's bytes, chunk by chunk, to whichever connection the client has */
    fz_run_until(&f.loop, connected_or_done, &f, 10000);
    while (in.n > 0 && f.pending > 0) {
        const uint8_t *chunk;
        size_t n = fz_take(&in, fz_u8(&in), &chunk);

        if (n == 0 && short_timeout) /* an empty chunk: time passes, past the timeout */
            fz_wait_ms(&f.loop, TIMEOUT_SHORT_MS + 5u);
        fz_peer_send(&f.peer, chunk, n);
        fz_turn(&f.loop);
        sample_heap(&f);
    }
    /* the node goes away: whatever is still waiting must end */
    fz_peer_close(&f.peer);
    fz_run_until(&f.loop, all_done, &f, 10000);
    sample_heap(&f);

    pl_ttcp_client_free(f.client);
    f.freed = 1;
    for (i = 0; i < f.nreqs; i++)
        FZ_CHECK(f.reqs[i].calls == (f.reqs[i].submitted ? 1 : 0));
    FZ_CHECK(f.heap_peak - f.heap0 < HEAP_MAX);
    fz_loop_close(&f.loop);
    FZ_CHECK(f.peer.open_handles == 0);
    return 0;
}
