/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the Modbus server's request handling (src/proto/modbus/server.c)
 * behind simconn's framing, as a connection feeds it.
 *
 * The first byte picks the configuration (units served, the exception for a unit not
 * served, any_unit, an exception fault, an ignored unit); the second where to split; the rest is
 * the byte stream a client sends. A few exposed tags (src/proto/modbus/expose.c) sit in unit
 * 1's tables: reads and writes touching them go through the access and write hooks, and
 * each value a client writes is served back at once. It is fed whole, split in two, and one byte at
 * a time, each time to a fresh server: the answers must be the same bytes, and the stream must end
 * at the same point (the first unframeable byte). Every answer must frame as one ADU,
 * decode as a response, echo the request's transaction and unit identifiers and answer its
 * function (or its exception). Any disagreement aborts. No socket is used: the server
 * listens on a free loopback port only because it cannot exist without its listener.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plcline/error.h"
#include "plcline/modbus.h"
#include "proto/modbus/codec/modbus.h"
#include "proto/modbus/expose.h"
#include "proto/modbus/server.h"
#include "proto/simconn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

#define OUT_MAX 65536u

typedef struct {
    pl_modbus_server_t *srv;
    pl_modbus_expose_t *x;
    uint8_t *out;
    size_t len;
    size_t frames;
} sink_t;

static uv_loop_t *loop;

static int frame_fn(const uint8_t *buf, size_t len, void *ud)
{
    (void)ud;
    return pl_modbus_frame(buf, len, NULL);
}

static int deliver(void *ctx, const uint8_t *frame, size_t len)
{
    sink_t *k = ctx;
    uint8_t ans[PL_MODBUS_MAX_ADU];
    pl_modbus_adu_t q, a;
    pl_modbus_rsp_t r;
    int n;

    CHECK(pl_modbus_adu_decode(frame, len, &q, NULL) == 0);
    n = pl_modbus_server_serve_adu(k->srv, frame, len, ans, sizeof(ans));
    CHECK(n >= 0);
    k->frames++;
    if (n == 0)
        return 0;
    CHECK(pl_modbus_frame(ans, (size_t)n, NULL) == n);
    CHECK(pl_modbus_adu_decode(ans, (size_t)n, &a, NULL) == 0);
    CHECK(a.tid == q.tid && a.unit == q.unit);
    if (q.pdu[0] == 0 || (q.pdu[0] & PL_MODBUS_FC_EXCEPTION) != 0) {
        /* not a request's function code: an exception (01, or the one for a unit not
         * served), with the exception bit set */
        CHECK(a.pdu_len == 2 && a.pdu[0] == (q.pdu[0] | PL_MODBUS_FC_EXCEPTION) && a.pdu[1] != 0);
    } else {
        CHECK(pl_modbus_rsp_decode(a.pdu, a.pdu_len, &r, NULL) == 0);
        CHECK((r.function | (r.exception != 0 ? PL_MODBUS_FC_EXCEPTION : 0u)) == a.pdu[0]);
        CHECK(r.exception != 0 || a.pdu[0] == q.pdu[0]);
    }
    if (k->len + (size_t)n <= OUT_MAX) {
        memcpy(k->out + k->len, ans, (size_t)n);
        k->len += (size_t)n;
    }
    return 0;
}

/* A client wrote an exposed tag: serve what it wrote back, as a device that took it would
 * (a value decoded from a point fits it, unless it is a float that is not finite). */
static void on_exposed_write(void *ud, size_t i, const pl_value_t *v)
{
    sink_t *k = ud;
    pl_status_t st;
    int rc = pl_modbus_expose_set(k->x, i, v, PL_Q_GOOD, &st);

    CHECK(rc == 0 || (rc == PL_EVALUE && v->type == PL_VT_FLOAT));
}

/* Serves `data` split at the offsets in cuts (ascending, the last one its length) with a
 * fresh server; returns the feed's result. */
static int run(const pl_modbus_server_config_t *cfg, const uint8_t *data, const size_t *cuts,
               size_t ncuts, sink_t *k)
{
    uint8_t rxbuf[PL_MODBUS_MAX_ADU];
    pl_simconn_rx_t rx = {rxbuf, sizeof(rxbuf), 0};
    pl_status_t st;
    size_t i, at = 0;
    int rc = 0;

    k->len = 0;
    k->frames = 0;
    static const pl_sim_point_t pts[] = {
        {"hr0:f32", 1, 0}, {"hr10", 1, 1}, {"hr11:str4", 1, 1}, {"co3", 1, 1}, {"hr20/4", 1, 1},
    };
    size_t bad;

    CHECK(pl_modbus_server_new(loop, cfg, &k->srv, &st) == 0);
    k->x = NULL;
    CHECK(pl_modbus_expose(k->srv, "units=1&bad_exception=11&byte_order=DCBA", pts,
                           sizeof(pts) / sizeof(pts[0]), on_exposed_write, k, &k->x, &bad,
                           &st) == 0);
    for (i = 0; i < ncuts && rc == 0; i++) {
        rc = pl_simconn_rx_feed(&rx, data + at, cuts[i] - at, frame_fn, NULL, deliver, k);
        at = cuts[i];
    }
    pl_modbus_expose_free(k->x);
    CHECK(pl_modbus_server_free(k->srv) == 0);
    uv_run(loop, UV_RUN_DEFAULT);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sink_t a, b;
    static uint8_t out_a[OUT_MAX], out_b[OUT_MAX];
    static const pl_modbus_fault_t fault = {PL_MODBUS_SERVER_ANY_UNIT, PL_MODBUS_TABLE_HOLDING, 100,
                                            199, PL_MODBUS_EX_SERVER_DEVICE_BUSY};
    pl_modbus_server_config_t cfg;
    uint8_t units[2], ignore;
    size_t *cuts, i, split;
    int rc_whole, rc;

    if (size < 2)
        return 0;
    if (loop == NULL) {
        loop = malloc(sizeof(*loop));
        CHECK(loop != NULL && uv_loop_init(loop) == 0);
    }
    a.out = out_a;
    b.out = out_b;
    pl_modbus_server_config_init(&cfg);
    cfg.listen.port = 0;
    units[0] = 1;
    units[1] = (uint8_t)(data[0] >> 4); /* 0..15 */
    cfg.units = units;
    cfg.n_units = 2;
    if (data[0] & 1u)
        cfg.unserved_exception = PL_MODBUS_EX_GATEWAY_TARGET;
    if (data[0] & 2u) {
        cfg.faults = &fault;
        cfg.n_faults = 1;
    }
    cfg.any_unit = (data[0] & 8u) != 0;
    if (data[0] & 4u) {
        ignore = units[1];
        cfg.ignore_units = &ignore;
        cfg.n_ignore = 1;
    }
    split = data[1] % (size - 1u);
    data += 2;
    size -= 2;

    rc_whole = run(&cfg, data, &size, 1, &a);
    {
        size_t two[2] = {split < size ? split : size, size};

        rc = run(&cfg, data, two, 2, &b);
        CHECK(rc == rc_whole && b.len == a.len && b.frames == a.frames);
        CHECK(memcmp(a.out, b.out, a.len) == 0);
    }
    cuts = malloc((size + 1u) * sizeof(*cuts));
    CHECK(cuts != NULL);
    for (i = 0; i < size; i++)
        cuts[i] = i + 1u;
    rc = run(&cfg, data, cuts, size, &b);
    free(cuts);
    CHECK(rc == rc_whole && b.len == a.len && b.frames == a.frames);
    CHECK(memcmp(a.out, b.out, a.len) == 0);
    return 0;
}
