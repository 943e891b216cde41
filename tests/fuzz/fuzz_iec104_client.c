/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the IEC 60870-5-104 controlling station (src/proto/iec104/
 * iec104_client.c) against a station that sends arbitrary bytes.
 *
 * Input: a header (windows k and w, field sizes, whether the harness confirms STARTDT
 * itself before the input's bytes, up to 4 commands: type, IOA, value, select-before-
 * operate), then the station's byte stream as chunks (a length byte, then up to that many
 * bytes; an empty chunk lets 25 ms pass, past t2 and the commands' timeout). A raw partner
 * on loopback accepts the client's connection and sends the chunks one loop turn apart,
 * then closes and stops listening, so every command must end. Invariants: no crash or
 * sanitizer report; every accepted command's callback runs exactly once, none for one
 * refused at submission, none after pl_iec104_client_free(); every object delivered has a
 * monitoring type and an address the IOA size can hold; what the client sent always
 * frames as IEC 104; the heap stays bounded; every handle is closed and the loop closes.
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

typedef struct {
    pl_iec104_cmd_t cmd;
    int submitted, calls;
} fz_cmd_t;

typedef struct {
    uv_loop_t loop;
    fz_peer_t peer;
    pl_iec104_client_t *client;
    fz_cmd_t cmds[MAX_CMDS];
    int ncmds, pending, freed;
    unsigned ioa_size;
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
    FZ_CHECK(p->ioa < (1u << (8u * g->ioa_size)));
}

static int all_done(void *arg)
{
    return ((fz_t *)arg)->pending == 0;
}

static int connected(void *arg)
{
    return ((fz_t *)arg)->peer.conn != NULL;
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
    int i, prime;

    memset(&f, 0, sizeof(f));
    g = &f;
    f.heap0 = f.heap_peak = fz_heap_bytes();
    FZ_CHECK(uv_loop_init(&f.loop) == 0);
    FZ_CHECK(fz_peer_listen(&f.peer, &f.loop) == 0);

    pl_iec104_client_config_init(&cfg);
    FZ_CHECK(pl_hostlist_parse(&cfg.line.hosts, "127.0.0.1", 9, &err) == 0);
    cfg.line.port = f.peer.port;
    cfg.line.backoff_min_ms = 1;
    cfg.line.backoff_max_ms = 2;
    b = fz_u8(&in);
    cfg.k = 1u + (b & 15u);
    cfg.w = 1u + ((b >> 4) % cfg.k);
    b = fz_u8(&in);
    cfg.cot_size = (uint8_t)(1u + (b & 1u));
    cfg.ca_size = (uint8_t)(1u + ((b >> 1) & 1u));
    cfg.ioa_size = (uint8_t)(1u + ((b >> 2) % 3u));
    if (b & 0x20u) { /* the default sizes, most of the time in a seed */
        cfg.cot_size = 2;
        cfg.ca_size = 2;
        cfg.ioa_size = 3;
    }
    f.ioa_size = cfg.ioa_size;
    prime = (b & 0x40u) != 0;
    cfg.time_sync = (b & 0x80u) != 0;
    cfg.t1_ms = 2u * T_SHORT_MS;
    cfg.t2_ms = T_SHORT_MS / 2u;
    cfg.t3_ms = T_SHORT_MS;
    cfg.timeout_ms = T_SHORT_MS;
    cfg.gi_period_ms = (b & 0x10u) ? T_SHORT_MS : 0u;
    cfg.on_data = on_data;
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

    fz_run_until(&f.loop, connected, &f, 10000);
    if (prime) {
        uint8_t con[PL_IEC104_APCI_LEN];

        (void)pl_iec104_encode_u(con, sizeof(con), PL_IEC104_U_STARTDT_CON);
        fz_peer_send(&f.peer, con, sizeof(con));
        fz_turn(&f.loop);
    }
    while (in.n > 0) {
        const uint8_t *chunk;
        size_t n = fz_take(&in, fz_u8(&in), &chunk);

        if (n == 0)
            fz_wait_ms(&f.loop, T_SHORT_MS + 5u);
        fz_peer_send(&f.peer, chunk, n);
        fz_turn(&f.loop);
        check_sent(&f.peer);
        if (fz_heap_bytes() > f.heap_peak)
            f.heap_peak = fz_heap_bytes();
    }
    /* the station goes away: whatever is still waiting must end (by its timeout) */
    fz_peer_close(&f.peer);
    fz_run_until(&f.loop, all_done, &f, 10000);
    FZ_CHECK(f.pending == 0);

    pl_iec104_client_free(f.client);
    f.freed = 1;
    for (i = 0; i < f.ncmds; i++)
        FZ_CHECK(f.cmds[i].calls == (f.cmds[i].submitted ? 1 : 0));
    FZ_CHECK(f.heap_peak - f.heap0 < HEAP_MAX);
    fz_loop_close(&f.loop);
    FZ_CHECK(f.peer.open_handles == 0);
    return 0;
}
