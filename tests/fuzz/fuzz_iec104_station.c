/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the IEC 60870-5-104 controlled station's logic
 * (src/proto/iec104/station.c), driven without a loop: the input is a script of records
 *   op & 3 == 0  the next byte n, then n bytes for the current connection (framed with
 *                pl_iec104_frame, so frames may be split across records)
 *   op & 3 == 1  the clock advances by the next byte times 37 ms; due timers run
 *   op & 3 == 2  one animation step (numbered events)
 *   op & 3 == 3  another connection becomes current (op >> 2 picks one of three)
 * over three connections of one redundancy group (or per-address, per-connection groups,
 * chosen by the first byte), with short timers so t1, t2 and t3 fire.
 *
 * What must hold, else abort: every frame the station sends decodes; its I-frames are
 * numbered 0, 1, 2, ... per connection, their ASDUs decode (an unknown type is only ever
 * sent back as a negative confirmation), and never more than k are unconfirmed by the
 * N(R)s the station accepted; nothing is sent on a connection after the station closed it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plcline/error.h"
#include "proto/iec104/codec/apci.h"
#include "proto/iec104/codec/asdu.h"
#include "proto/iec104/station.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

#define SLOTS 3
#define K     5u

typedef struct {
    pl_iec104_sconn_t *c;
    int closed;
    uint16_t next_ns; /* N(S) the station's next I-frame must carry */
    uint16_t acked;   /* the last N(R) the station accepted */
    uint8_t rx[PL_IEC104_MAX_APDU];
    size_t rx_len;
} slot_t;

static void io_send(void *ud, const uint8_t *buf, size_t len)
{
    static const pl_iec104_params_t p = PL_IEC104_PARAMS_DEFAULT;
    slot_t *s = ud;
    pl_iec104_apdu_t a;
    pl_iec104_asdu_t asdu;
    int rc;

    CHECK(!s->closed);
    CHECK(pl_iec104_frame(buf, len, NULL) == (int)len);
    CHECK(pl_iec104_decode(buf, len, &a) == 0);
    if (a.kind != PL_IEC104_FRAME_I)
        return;
    CHECK(a.ns == s->next_ns);
    s->next_ns = pl_iec104_seq_add(s->next_ns, 1);
    CHECK(pl_iec104_seq_diff(s->next_ns, s->acked) <= K);
    rc = pl_iec104_asdu_decode(a.asdu, a.asdu_len, &p, &asdu);
    CHECK(rc == 0 ||
          (rc == PL_EIEC104_TYPE && asdu.pn && asdu.cause == PL_IEC104_COT_UNKNOWN_TYPE));
}

static void io_close(void *ud, const pl_status_t *why)
{
    slot_t *s = ud;

    CHECK(why != NULL && why->code < 0);
    CHECK(!s->closed);
    s->closed = 1;
}

static int64_t io_wall(void *ud)
{
    (void)ud;
    return 1800000000000LL;
}

static void open_slot(pl_iec104_station_t *st, slot_t *s, int i, uint64_t now)
{
    static const char *const peers[SLOTS] = {"127.0.0.1:1000", "127.0.0.1:1001", "127.0.0.2:1000"};

    memset(s, 0, sizeof(*s));
    CHECK(pl_iec104_station_open(st, peers[i], s, now, &s->c) == 0);
}

/* Feeds bytes to slot s; a frame that closes the connection drops the rest. */
static void feed(pl_iec104_station_t *st, slot_t *s, const uint8_t *p, size_t n, uint64_t now)
{
    while (n > 0 && !s->closed) {
        size_t take = sizeof(s->rx) - s->rx_len;
        int len;

        if (take > n)
            take = n;
        memcpy(s->rx + s->rx_len, p, take);
        s->rx_len += take;
        p += take;
        n -= take;
        while (!s->closed && (len = pl_iec104_frame(s->rx, s->rx_len, NULL)) != PL_EAGAIN) {
            pl_iec104_apdu_t a;

            if (len < 0) {
                s->closed = 1; /* what simconn does with unframeable bytes */
                return;
            }
            /* an N(R) the station refuses closes the connection before anything is sent */
            if (pl_iec104_decode(s->rx, (size_t)len, &a) == 0 && a.kind != PL_IEC104_FRAME_U)
                s->acked = a.nr;
            if (pl_iec104_station_input(st, s->c, s->rx, (size_t)len, now) == 0)
                CHECK(!s->closed);
            else
                CHECK(s->closed);
            memmove(s->rx, s->rx + len, s->rx_len - (size_t)len);
            s->rx_len -= (size_t)len;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const pl_iec104_station_io_t io = {io_send, io_close, io_wall, NULL};
    pl_iec104_server_config_t cfg;
    pl_iec104_station_t *st;
    slot_t slot[SLOTS];
    uint64_t now = 1000;
    size_t i = 0;
    int cur = 0, k;

    if (size < 1)
        return 0;
    pl_iec104_server_config_init(&cfg);
    cfg.points = "M_SP_NA_1:1-3 M_ME_NC_1:10-70 M_ME_TF_1:100-101 M_IT_NA_1:200-201 "
                 "M_BO_TB_1:300 C_SC_NA_1:500 C_SE_NC_1:501 C_DC_TA_1:502 C_BO_NA_1:503";
    cfg.event_ioa = 900;
    cfg.k = K;
    cfg.w = 3;
    cfg.t1_ms = 1000;
    cfg.t2_ms = 500;
    cfg.t3_ms = 2000;
    cfg.max_events = 20;
    cfg.grouping = (pl_iec104_grouping_t)(data[0] % 3u);
    cfg.require_select = data[0] >> 7;
    if (pl_iec104_station_new(&cfg, &io, &st, NULL) != 0)
        abort();
    for (k = 0; k < SLOTS; k++)
        open_slot(st, &slot[k], k, now);
    i = 1;
    while (i < size) {
        uint8_t op = data[i++];

        switch (op & 3u) {
        case 0: {
            size_t n = i < size ? data[i++] : 0;

            if (n > size - i)
                n = size - i;
            feed(st, &slot[cur], data + i, n, now);
            i += n;
            break;
        }
        case 1:
            now += (uint64_t)(i < size ? data[i++] : 0) * 37u;
            CHECK(pl_iec104_station_deadline(st) > 0);
            pl_iec104_station_timers(st, now);
            break;
        case 2:
            (void)pl_iec104_station_step(st, now);
            break;
        default:
            cur = (op >> 2) % SLOTS;
            break;
        }
        for (k = 0; k < SLOTS; k++)
            if (slot[k].closed) { /* what the loop does: gone, and a new partner connects */
                pl_iec104_station_gone(st, slot[k].c);
                open_slot(st, &slot[k], k, now);
            }
    }
    pl_iec104_station_free(st);
    return 0;
}
