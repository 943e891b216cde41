/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the IEC 60870-5-104 controlling station in parallel redundancy
 * (src/proto/iec104/iec104_client.c with two sessions): a primary and a backup station
 * that send arbitrary bytes, and drop or accept connections when the input says.
 *
 * Input: a header (windows k and w; flags: prefer_primary, time_sync, gi_period; up to 4
 * commands: type, IOA, value, select-before-operate), then steps. A step is a selector
 * byte: bit 7 picks the station (0 primary, 1 backup), bits 0-6 a length: 0 lets 25 ms pass
 * (past t1, t2, t3 and the commands' timeout), 127 closes that station's connection (the
 * client reconnects after its back-off), anything else sends that many of the following
 * bytes to it. Both stations are raw partners on loopback, accepting again after a close;
 * at the end both close and stop listening, so every command must end.
 *
 * Invariants: no crash or sanitizer report; every accepted command's callback runs exactly
 * once, none for one refused at submission, none after pl_iec104_client_free(); every
 * object delivered has a monitoring type; the link callback never reports STARTED twice
 * without a SWITCH or DOWN between (one connection started at a time) and never after the
 * free; the active side is -1, primary or backup; what the client sent to each station
 * always frames as IEC 104; the heap stays bounded; every handle is closed and the loop
 * closes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plcline/error.h"
#include "plcline/iec104_client.h"
#include "proto/iec104/codec/apci.h"
#include "proto/iec104/codec/asdu.h"
#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CMDS   4
#define HEAP_MAX   ((size_t)4 * 1024 * 1024)
#define T_SHORT_MS 20u
#define SEL_DROP   0x7fu

typedef struct {
    pl_iec104_cmd_t cmd;
    int submitted, calls;
} fz_cmd_t;

typedef struct {
    uv_loop_t loop;
    fz_peer_t peer[2];
    pl_iec104_client_t *client;
    fz_cmd_t cmds[MAX_CMDS];
    int ncmds, pending, freed;
    int started; /* a STARTED not yet followed by SWITCH or DOWN */
    size_t heap0, heap_peak;
} fz_t;

static fz_t *g;

static void on_cmd(pl_iec104_cmd_t *cmd)
{
    fz_cmd_t *c = cmd->data;

    FZ_CHECK(!g->freed);
    FZ_CHECK(c->submitted);
    FZ_CHECK(c->calls == 0);
    c->calls++;
    g->pending--;
    FZ_CHECK(cmd->status.code <= 0);
}

static void on_data(pl_iec104_client_t *c, const pl_iec104_point_t *p, void *ud)
{
    const pl_iec104_type_info_t *ti = pl_iec104_type_info(p->type);

    (void)c;
    (void)ud;
    FZ_CHECK(!g->freed);
    FZ_CHECK(ti != NULL && !ti->control);
}

static void on_link(pl_iec104_client_t *c, pl_iec104_link_t what, const pl_status_t *why, void *ud)
{
    int side = pl_iec104_client_active_side(c);

    (void)ud;
    FZ_CHECK(!g->freed);
    FZ_CHECK(side >= -1 && side <= PL_LINE_BACKUP);
    switch (what) {
    case PL_IEC104_LINK_STARTED:
        FZ_CHECK(!g->started);
        FZ_CHECK(side >= 0);
        g->started = 1;
        break;
    case PL_IEC104_LINK_SWITCH:
        FZ_CHECK(why != NULL && why->code < 0);
        FZ_CHECK(side >= 0);
        g->started = 0;
        break;
    case PL_IEC104_LINK_DOWN:
        g->started = 0;
        break;
    case PL_IEC104_LINK_GI_DONE:
        break;
    }
}

static int all_done(void *arg)
{
    return ((fz_t *)arg)->pending == 0;
}

static int both_connected(void *arg)
{
    fz_t *f = arg;

    return f->peer[0].conn != NULL && f->peer[1].conn != NULL;
}

/* What the client sent frames as IEC 104 (its own APDUs, whole or still arriving). */
static void check_sent(fz_peer_t *p)
{
    size_t need;
    int n;

    while ((n = pl_iec104_frame(p->rx, p->rx_len, &need)) > 0)
        fz_peer_consume(p, (size_t)n);
    FZ_CHECK(n == PL_EAGAIN || p->rx_overflow);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t types[] = {45, 46, 47, 48, 49, 50, 51, 58, 63, 13};
    static fz_t f;
    fz_input_t in = {data, size};
    pl_iec104_client_config_t cfg;
    pl_status_t err;
    uint8_t b;
    int i;

    memset(&f, 0, sizeof(f));
    g = &f;
    f.heap0 = f.heap_peak = fz_heap_bytes();
    FZ_CHECK(uv_loop_init(&f.loop) == 0);
    FZ_CHECK(fz_peer_listen(&f.peer[0], &f.loop) == 0);
    FZ_CHECK(fz_peer_listen(&f.peer[1], &f.loop) == 0);

    pl_iec104_client_config_init(&cfg);
    FZ_CHECK(pl_hostlist_parse(&cfg.line.hosts, "127.0.0.1", 9, &err) == 0);
    FZ_CHECK(pl_hostlist_parse(&cfg.line.backup, "127.0.0.1", 9, &err) == 0);
    cfg.line.port = f.peer[0].port;
    cfg.line.backup_port = f.peer[1].port;
    cfg.line.use_backup = 1;
    cfg.line.redundancy = PL_REDUNDANCY_PARALLEL;
    cfg.line.backoff_min_ms = 1;
    cfg.line.backoff_max_ms = 2;
    b = fz_u8(&in);
    cfg.k = 1u + (b & 15u);
    cfg.w = 1u + ((b >> 4) % cfg.k);
    b = fz_u8(&in);
    cfg.line.prefer_primary = (b & 1u) != 0;
    cfg.time_sync = (b & 2u) != 0;
    cfg.gi_period_ms = (b & 4u) ? T_SHORT_MS : 0u;
    cfg.t1_ms = 2u * T_SHORT_MS;
    cfg.t2_ms = T_SHORT_MS / 2u;
    cfg.t3_ms = T_SHORT_MS;
    cfg.timeout_ms = T_SHORT_MS;
    cfg.on_data = on_data;
    cfg.on_link = on_link;
    FZ_CHECK(pl_iec104_client_new(&f.loop, &cfg, &f.client) == 0);
    FZ_CHECK(pl_iec104_client_start(f.client) == 0);

    f.ncmds = fz_u8(&in) % (MAX_CMDS + 1);
    for (i = 0; i < f.ncmds; i++) {
        fz_cmd_t *c = &f.cmds[i];
        int rc;

        b = fz_u8(&in);
        c->cmd.type = types[b % sizeof(types)];
        c->cmd.sbo = (uint8_t)((b >> 4) & 1u);
        c->cmd.ioa = fz_u16(&in);
        c->cmd.value = (double)(int16_t)fz_u16(&in) / ((b & 0x20u) ? 32768.0 : 1.0);
        c->cmd.cb = on_cmd;
        c->cmd.data = c;
        rc = pl_iec104_command(f.client, &c->cmd);
        FZ_CHECK(rc == 0 || rc == PL_EINVAL);
        if (rc == 0) {
            c->submitted = 1;
            f.pending++;
        }
    }

    fz_run_until(&f.loop, both_connected, &f, 10000);
    while (in.n > 0) {
        uint8_t sel = fz_u8(&in);
        fz_peer_t *p = &f.peer[sel >> 7];
        size_t len = sel & 0x7fu;

        if (len == 0) {
            fz_wait_ms(&f.loop, T_SHORT_MS + 5u);
        } else if (len == SEL_DROP) {
            fz_peer_drop(p);
            fz_turn(&f.loop);
        } else {
            const uint8_t *chunk;
            size_t n = fz_take(&in, len, &chunk);

            fz_peer_send(p, chunk, n);
            fz_turn(&f.loop);
        }
        check_sent(&f.peer[0]);
        check_sent(&f.peer[1]);
        FZ_CHECK(pl_iec104_client_active_side(f.client) >= -1 &&
                 pl_iec104_client_active_side(f.client) <= PL_LINE_BACKUP);
        if (fz_heap_bytes() > f.heap_peak)
            f.heap_peak = fz_heap_bytes();
    }
    /* both stations go away: whatever is still waiting must end (by its timeout) */
    fz_peer_close(&f.peer[0]);
    fz_peer_close(&f.peer[1]);
    fz_run_until(&f.loop, all_done, &f, 10000);
    FZ_CHECK(f.pending == 0);

    pl_iec104_client_free(f.client);
    f.freed = 1;
    for (i = 0; i < f.ncmds; i++)
        FZ_CHECK(f.cmds[i].calls == (f.cmds[i].submitted ? 1 : 0));
    FZ_CHECK(f.heap_peak - f.heap0 < HEAP_MAX);
    fz_loop_close(&f.loop);
    FZ_CHECK(f.peer[0].open_handles == 0);
    FZ_CHECK(f.peer[1].open_handles == 0);
    return 0;
}
