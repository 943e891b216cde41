/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the PCCC client session (src/proto/pccc_client.c: RegisterSession,
 * Forward Open, unconnected and connected requests, several in flight) against a PLC whose
 * answers the input spoils.
 *
 * A proxy on loopback sits between the client and the PLC simulator: it forwards every
 * message of the client to the simulator at once, and the simulator's answers wait in a
 * queue; the input says what becomes of each (sent as it is, with bytes changed, cut
 * short, twice, dropped, swapped with the next one, replaced by raw bytes, or the client's
 * connection closed). So the client sees real answers as well as every way of spoiling
 * them, including answers for requests it no longer waits for.
 *
 * Input: a header (processor type, service, connected or not, routed or not, a 20 ms
 * request timeout or none, messages in flight, bytes per message, up to 8 requests: read,
 * write or identify of a few addresses), then operations (with the short timeout, one of
 * them lets 25 ms pass, so answers come late and are matched against expired requests). At the end
 * the proxy closes and stops listening, so every request must end. Invariants: no crash or
 * sanitizer report; everything the client sends is a well-formed encapsulation message; every
 * accepted request's callback runs exactly once, none for a request refused at submission, none
 * after pl_pccc_client_free(); the heap stays bounded; every handle is closed and the loop closes.
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

#define MAX_REQS         8
#define BUF_LEN          256
#define HEAP_MAX         ((size_t)4 * 1024 * 1024)
#define OP_TURNS         4 /* loop turns an operation waits for an answer to act on */
#define TIMEOUT_SHORT_MS 20u

typedef struct {
    pl_pccc_req_t req;
    uint8_t buf[BUF_LEN];
    char text[64];
    int submitted;
    int calls;
} fz_req_t;

typedef struct {
    uv_loop_t loop;
    fz_peer_t client_side; /* accepts the client */
    fz_peer_t plc_side;    /* connected to the simulator */
    unsigned accepts_seen;
    pl_pccc_server_t *server;
    pl_pccc_client_t *client;
    fz_req_t reqs[MAX_REQS];
    int nreqs;
    int pending;
    int freed;
    int short_timeout; /* requests time out after TIMEOUT_SHORT_MS */
    size_t heap0, heap_peak;
} fz_t;

static fz_t f;

/* addresses the simulator's default files hold (N7, F8, B3, T4, ST9, L10) */
static const char *const addrs[] = {
    "N7:0", "N7:1,5",   "N7:90,20", "F8:0",  "F8:1,3", "B3:0/5",   "B3:1",
    "T4:0", "T4:1.ACC", "T4:2.DN",  "ST9:0", "L10:0",  "N7:0,120", "N99:0",
};

static void on_done(pl_pccc_req_t *req)
{
    fz_req_t *r = req->data;

    FZ_CHECK(!f.freed);
    FZ_CHECK(r->submitted);
    FZ_CHECK(r->calls == 0);
    r->calls++;
    f.pending--;
    FZ_CHECK(req->status.code <= 0);
    if (getenv("FZ_VERBOSE") != NULL) /* to see what a corpus file exercises */
        fprintf(stderr, "request %d: %s %s\n", (int)(r - f.reqs), pl_err_name(req->status.code),
                req->status.detail);
}

static int all_done(void *arg)
{
    (void)arg;
    return f.pending == 0;
}

static int connected_or_done(void *arg)
{
    (void)arg;
    return f.pending == 0 || f.client_side.conn != NULL;
}

/* Length of the first whole message in p->rx, 0 if none yet. */
static size_t first_msg(const fz_peer_t *p)
{
    int n = pl_enip_frame(p->rx, p->rx_len, PL_ENIP_MAX_LENGTH, NULL);

    if (n == PL_EAGAIN)
        return 0;
    FZ_CHECK(n > 0);
    return (size_t)n;
}

/* The proxy's forwarding: the client's messages to the simulator (reconnecting to it when
 * the client has made a new connection), whole and well-formed. */
static void forward(void)
{
    size_t n;

    if (f.client_side.accepts != f.accepts_seen) {
        f.accepts_seen = f.client_side.accepts;
        fz_peer_drop(&f.plc_side);
        FZ_CHECK(fz_peer_connect(&f.plc_side, &f.loop, pl_pccc_server_port(f.server)) == 0);
    }
    while ((n = first_msg(&f.client_side)) > 0) {
        pl_enip_msg_t m;

        FZ_CHECK(pl_enip_decode(f.client_side.rx, n, &m) == 0);
        fz_peer_send(&f.plc_side, f.client_side.rx, n);
        fz_peer_consume(&f.client_side, n);
    }
    FZ_CHECK(!f.client_side.rx_overflow);
}

static void turn(void)
{
    size_t h;

    fz_turn(&f.loop);
    forward();
    h = fz_heap_bytes();
    if (h > f.heap_peak)
        f.heap_peak = h;
}

/* The simulator's oldest answer not yet dealt with (length; 0 if none comes soon). */
static size_t answer(void)
{
    size_t n;
    int i;

    for (i = 0; i < OP_TURNS; i++) {
        if ((n = first_msg(&f.plc_side)) > 0)
            return n;
        turn();
    }
    return 0;
}

static void operate(fz_input_t *in)
{
    uint8_t op = fz_u8(in);
    uint8_t tmp[PL_ENIP_HEADER_LEN + 4096];
    const uint8_t *raw;
    size_t n, k, second;
    int i;

    switch (op & 7u) {
    case 0: /* pass the answer on */
    case 1: /* the same, a second time later (kept in the queue) */
        if ((n = answer()) > 0) {
            fz_peer_send(&f.client_side, f.plc_side.rx, n);
            if ((op & 7u) == 0)
                fz_peer_consume(&f.plc_side, n);
        }
        break;
    case 2: /* change up to 4 bytes of it */
        if ((n = answer()) > 0 && n <= sizeof(tmp)) {
            memcpy(tmp, f.plc_side.rx, n);
            k = 1u + (op >> 3) % 4u;
            for (i = 0; i < (int)k; i++) {
                size_t pos = fz_u16(in) % n;

                tmp[pos] ^= fz_u8(in);
            }
            fz_peer_send(&f.client_side, tmp, n);
            fz_peer_consume(&f.plc_side, n);
        }
        break;
    case 3: /* cut it short (and what follows is the next answer) */
        if ((n = answer()) > 0) {
            k = fz_u16(in) % n;
            fz_peer_send(&f.client_side, f.plc_side.rx, k);
            fz_peer_consume(&f.plc_side, n);
        }
        break;
    case 4: /* drop it */
        if ((n = answer()) > 0)
            fz_peer_consume(&f.plc_side, n);
        break;
    case 5: /* the next answer first, then this one */
        if ((n = answer()) > 0) {
            int s2 =
                pl_enip_frame(f.plc_side.rx + n, f.plc_side.rx_len - n, PL_ENIP_MAX_LENGTH, NULL);

            second = s2 > 0 ? (size_t)s2 : 0;
            if (second > 0)
                fz_peer_send(&f.client_side, f.plc_side.rx + n, second);
            fz_peer_send(&f.client_side, f.plc_side.rx, n);
            fz_peer_consume(&f.plc_side, n + second);
        }
        break;
    case 6: /* raw bytes from the input */
        n = fz_take(in, fz_u8(in) % 64u, &raw);
        fz_peer_send(&f.client_side, raw, n);
        break;
    default: /* the PLC closes the connection (the client reconnects if it must) */
        if ((op >> 3) & 1u) {
            fz_peer_drop(&f.client_side);
            f.plc_side.rx_len = 0;
        } else if (f.short_timeout) { /* or lets time pass, past the request timeout */
            fz_wait_ms(&f.loop, TIMEOUT_SHORT_MS + 5u);
        } else {
            turn();
        }
        break;
    }
    turn();
}

static void submit(fz_input_t *in, fz_req_t *r)
{
    uint8_t kind = fz_u8(in);
    const char *addr = addrs[fz_u8(in) % (sizeof(addrs) / sizeof(addrs[0]))];
    size_t i;
    int rc;

    r->req.data = r;
    for (i = 0; i < BUF_LEN; i++)
        r->buf[i] = (uint8_t)(kind + i);
    switch (kind % 3u) {
    case 0:
        rc = pl_pccc_read(f.client, &r->req, addr, r->buf, BUF_LEN, on_done);
        break;
    case 1:
        rc = pl_pccc_write(f.client, &r->req, addr, r->buf, BUF_LEN, on_done);
        break;
    default:
        rc = pl_pccc_identify(f.client, &r->req, r->text, sizeof(r->text), on_done);
        break;
    }
    FZ_CHECK(rc <= 0);
    if (rc == 0) {
        r->submitted = 1;
        f.pending++;
    } else {
        FZ_CHECK(rc == PL_EADDR || rc == PL_ENOTSUP || rc == PL_ENO_MSG || rc == PL_ENOBUFS);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const plcs[] = {"slc500", "micrologix", "plc5", "logix"};
    static const char *const svcs[] = {"4b", "4c", "4d", "4b"};
    fz_input_t in = {data, size};
    pl_pccc_server_config_t scfg;
    pl_pccc_client_config_t ccfg;
    pl_status_t err;
    char url[256], storage[64];
    uint8_t a, b;
    int i, plc;

    memset(&f, 0, sizeof(f));
    f.heap0 = f.heap_peak = fz_heap_bytes();
    FZ_CHECK(uv_loop_init(&f.loop) == 0);
    a = fz_u8(&in);
    b = fz_u8(&in);
    plc = a & 3;
    f.short_timeout = (a >> 6) & 1u;
    pl_pccc_server_config_init(&scfg);
    scfg.listen.port = 0;
    FZ_CHECK(pl_pccc_plc_parse(plcs[plc], &scfg.plc) == 0);
    FZ_CHECK(pl_pccc_server_new(&f.loop, &scfg, &f.server, &err) == 0);
    FZ_CHECK(fz_peer_listen(&f.client_side, &f.loop) == 0);

    pl_pccc_client_config_init(&ccfg);
    snprintf(url, sizeof(url),
             "pccc://127.0.0.1:%u?plc=%s&service=%s&connected=%u&inflight=%u&timeout=%u"
             "&serial=1&max_bytes=%u%s",
             (unsigned)f.client_side.port, plcs[plc], svcs[(a >> 2) & 3], (a >> 4) & 1u,
             1u + (b & 3u), f.short_timeout ? TIMEOUT_SHORT_MS : 30000u,
             2u + 2u * (unsigned)(b >> 2), (a >> 5) & 1u ? "&path=1,0" : "");
    if (pl_pccc_client_config_url(&ccfg, url, storage, sizeof(storage), &err) != 0) {
        fprintf(stderr, "%s: %s\n", url, err.detail);
        abort();
    }
    ccfg.line.backoff_min_ms = 1; /* a reconnection is not a wait */
    ccfg.line.backoff_max_ms = 2;
    FZ_CHECK(pl_pccc_client_new(&f.loop, &ccfg, &f.client) == 0);

    f.nreqs = fz_u8(&in) % (MAX_REQS + 1);
    for (i = 0; i < f.nreqs; i++)
        submit(&in, &f.reqs[i]);

    fz_run_until(&f.loop, connected_or_done, NULL, 10000);
    while (in.n > 0 && f.pending > 0)
        operate(&in);

    /* the PLC goes away: whatever is still waiting must end */
    fz_peer_close(&f.client_side);
    fz_peer_close(&f.plc_side);
    fz_run_until(&f.loop, all_done, NULL, 10000);

    pl_pccc_client_free(f.client);
    f.freed = 1;
    for (i = 0; i < f.nreqs; i++)
        FZ_CHECK(f.reqs[i].calls == (f.reqs[i].submitted ? 1 : 0));
    FZ_CHECK(f.heap_peak - f.heap0 < HEAP_MAX);
    pl_pccc_server_free(f.server);
    fz_loop_close(&f.loop);
    FZ_CHECK(f.client_side.open_handles == 0 && f.plc_side.open_handles == 0);
    return 0;
}
