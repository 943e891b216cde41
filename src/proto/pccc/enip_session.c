/* SPDX-License-Identifier: MIT */
/*
 * The EtherNet/IP session's messages and state (enip_session.h). No I/O, no clock, no
 * policy: what to do with a refusal is the owner's.
 */
#include "proto/pccc/enip_session.h"

#include <string.h>

/* Connection Manager timing (Vol 1, 3-5.6.1.2): tick 2^10 ms, timeout in ticks. */
#define CM_PRIORITY_TICK 0x0Au
#define CM_TICK_MS       1024u
/* Forward Open (Vol 1, 3-5.6.1): class 3 server, RPI 2 s, timeout multiplier x16, 504-byte
 * variable point-to-point connections at low priority. */
#define FO_RPI_US       2000000u
#define FO_TIMEOUT_MULT 2u
#define FO_CONN_SIZE    504u

void pl_enip_session_init(pl_enip_session_t *s, uint16_t vendor, uint32_t serial,
                          const uint8_t *route, size_t route_len, unsigned timeout_ms,
                          uint32_t seed)
{
    int n;

    memset(s, 0, sizeof(*s));
    s->vendor = vendor;
    s->serial = serial;
    s->timeout_ms = timeout_ms;
    s->rnd = seed != 0 ? seed : 0x9E3779B9u;
    if (route_len > sizeof(s->conn_path) - 8u)
        route_len = 0; /* refused by the owner's configuration check */
    if (route_len > 0)
        memcpy(s->conn_path, route, route_len);
    /* connection path: the route, then the Message Router (class 2, instance 1) */
    n = pl_cip_path_encode(s->conn_path + route_len, sizeof(s->conn_path) - route_len,
                           PL_CIP_CLASS_MESSAGE_ROUTER, 1);
    s->conn_path_len = route_len + (size_t)(n > 0 ? n : 0);
}

static uint32_t next_random(pl_enip_session_t *s)
{
    uint32_t x = s->rnd;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s->rnd = x != 0 ? x : 0x9E3779B9u;
    return s->rnd;
}

uint8_t pl_enip_session_cm_ticks(const pl_enip_session_t *s)
{
    unsigned t = (s->timeout_ms + CM_TICK_MS - 1u) / CM_TICK_MS;

    return (uint8_t)(t < 1u ? 1u : (t > 255u ? 255u : t));
}

void pl_enip_session_ctx(uint8_t ctx[PL_ENIP_CONTEXT_LEN], uint8_t kind, uint16_t tns)
{
    memset(ctx, 0, PL_ENIP_CONTEXT_LEN);
    ctx[0] = (uint8_t)(tns & 0xFFu);
    ctx[1] = (uint8_t)(tns >> 8);
    ctx[2] = kind;
}

int pl_enip_session_begin(pl_enip_session_t *s, int connected, uint8_t *buf, size_t cap)
{
    s->state = PL_ENIP_SESSION_REGISTER;
    s->session = 0;
    s->seq = 0;
    s->connected = connected;
    return pl_enip_register_request(buf, cap);
}

int pl_enip_session_registered(pl_enip_session_t *s, const pl_enip_msg_t *m, pl_status_t *st)
{
    if (s->state != PL_ENIP_SESSION_REGISTER)
        return pl_status_set(st, PL_EPROTO, 0, "unexpected RegisterSession reply");
    if (m->status == 0 && m->session != 0) {
        s->session = m->session;
        return 0;
    }
    if (m->status == 0)
        return pl_status_set(st, PL_ESESSION_REFUSED, 0, "the reply has no session handle");
    if (m->status == PL_ENIP_STATUS_INSUFFICIENT_MEMORY)
        return pl_status_set(
            st, PL_ESESSION_REFUSED, 0,
            "encapsulation status 0x%04X (no session free); end other clients' sessions",
            m->status);
    return pl_status_set(st, PL_ESESSION_REFUSED, 0, "encapsulation status 0x%04X (%s)", m->status,
                         pl_enip_status_name(m->status));
}

int pl_enip_session_frame(const pl_enip_session_t *s, int connected, uint16_t seq,
                          const uint8_t ctx[PL_ENIP_CONTEXT_LEN], uint8_t *buf, size_t cap,
                          size_t len)
{
    pl_enip_cip_t f;

    memset(&f, 0, sizeof(f));
    f.connected = connected;
    f.session = s->session;
    memcpy(f.context, ctx, PL_ENIP_CONTEXT_LEN);
    f.conn_id = s->ot_conn_id;
    f.seq = seq;
    return pl_enip_cip_frame(buf, cap, &f, len);
}

int pl_enip_session_fwd_open(pl_enip_session_t *s, uint8_t *buf, size_t cap)
{
    pl_cip_fwd_open_t fo;
    uint8_t ctx[PL_ENIP_CONTEXT_LEN];
    int n;

    if (cap < PL_ENIP_CIP_UNCONNECTED_LEN)
        return PL_ENOBUFS;
    memset(&fo, 0, sizeof(fo));
    fo.priority_tick = CM_PRIORITY_TICK;
    fo.timeout_ticks = pl_enip_session_cm_ticks(s);
    fo.ot_conn_id = 0; /* chosen by the target */
    s->to_conn_id = next_random(s);
    s->conn_serial = (uint16_t)next_random(s);
    fo.to_conn_id = s->to_conn_id;
    fo.conn_serial = s->conn_serial;
    fo.vendor_id = s->vendor;
    fo.orig_serial = s->serial;
    fo.timeout_mult = FO_TIMEOUT_MULT;
    fo.ot_rpi = FO_RPI_US;
    fo.to_rpi = FO_RPI_US;
    (void)pl_cip_ncp(FO_CONN_SIZE, 1, PL_CIP_PRIORITY_LOW, PL_CIP_CONN_TYPE_P2P, 0, &fo.ot_params);
    fo.to_params = fo.ot_params;
    fo.transport = PL_CIP_TRANSPORT_SERVER | PL_CIP_TRANSPORT_TRIGGER_APP | PL_CIP_TRANSPORT_CLASS3;
    fo.path = s->conn_path;
    fo.path_len = s->conn_path_len;
    n = pl_cip_fwd_open_encode(buf + PL_ENIP_CIP_UNCONNECTED_LEN, cap - PL_ENIP_CIP_UNCONNECTED_LEN,
                               &fo);
    if (n < 0)
        return n;
    pl_enip_session_ctx(ctx, PL_ENIP_CTX_FWD_OPEN, 0);
    n = pl_enip_session_frame(s, 0, 0, ctx, buf, cap, (size_t)n);
    if (n >= 0)
        s->state = PL_ENIP_SESSION_FWD_OPEN;
    return n;
}

int pl_enip_session_opened(pl_enip_session_t *s, const pl_cip_rsp_t *rsp, pl_status_t *st)
{
    pl_cip_fwd_open_reply_t r;

    if (s->state != PL_ENIP_SESSION_FWD_OPEN)
        return pl_status_set(st, PL_EPROTO, 0, "unexpected Forward Open reply");
    if (pl_cip_fwd_open_reply_decode(rsp, &r) < 0 || r.conn_serial != s->conn_serial)
        return pl_status_set(st, PL_EPROTO, 0, "bad Forward Open reply");
    s->ot_conn_id = r.ot_conn_id;
    s->to_conn_id = r.to_conn_id;
    s->state = PL_ENIP_SESSION_READY;
    return 0;
}

void pl_enip_session_ready(pl_enip_session_t *s, int connected)
{
    s->connected = connected;
    s->state = PL_ENIP_SESSION_READY;
}

int pl_enip_session_fwd_close(pl_enip_session_t *s, uint8_t *buf, size_t cap)
{
    pl_cip_fwd_close_t fc;
    uint8_t ctx[PL_ENIP_CONTEXT_LEN];
    int n;

    if (s->state != PL_ENIP_SESSION_READY || !s->connected)
        return 0;
    if (cap < PL_ENIP_CIP_UNCONNECTED_LEN)
        return PL_ENOBUFS;
    memset(&fc, 0, sizeof(fc));
    fc.priority_tick = CM_PRIORITY_TICK;
    fc.timeout_ticks = pl_enip_session_cm_ticks(s);
    fc.conn_serial = s->conn_serial;
    fc.vendor_id = s->vendor;
    fc.orig_serial = s->serial;
    fc.path = s->conn_path;
    fc.path_len = s->conn_path_len;
    n = pl_cip_fwd_close_encode(buf + PL_ENIP_CIP_UNCONNECTED_LEN,
                                cap - PL_ENIP_CIP_UNCONNECTED_LEN, &fc);
    if (n < 0)
        return n;
    pl_enip_session_ctx(ctx, PL_ENIP_CTX_FWD_CLS, 0);
    return pl_enip_session_frame(s, 0, 0, ctx, buf, cap, (size_t)n);
}

int pl_enip_session_unregister(const pl_enip_session_t *s, uint8_t *buf, size_t cap)
{
    if (s->state != PL_ENIP_SESSION_READY && s->state != PL_ENIP_SESSION_FWD_OPEN)
        return 0;
    /* the session handle, every other header field zero */
    return pl_enip_unregister_request(buf, cap, s->session);
}

void pl_enip_session_down(pl_enip_session_t *s)
{
    s->state = PL_ENIP_SESSION_DOWN;
    s->session = 0;
}
