/* SPDX-License-Identifier: MIT */
/*
 * An EtherNet/IP session on one connection (seed 001; CIP Vol 2, 2-4): RegisterSession, an
 * optional class 3 connection to the Message Router (Forward Open, Vol 1, 3-5.6.1), the
 * framing of CIP messages in that session (SendRRData, or SendUnitData with a sequence
 * count), and the end of it (Forward Close, UnRegisterSession). The PCCC client uses it; a
 * CIP client can use it the same way.
 *
 * It holds the session's state and encodes and judges its messages; it does no I/O, keeps
 * no timer and has no policy: the owner sends the bytes, hands over the replies, and
 * decides what a refusal means (fail, or go on unconnected). Sender context: bytes 0-1 are
 * the owner's, byte 2 says whose message it is (PL_ENIP_CTX_*). Private to src/proto.
 */
#ifndef PLCLINE_PROTO_PCCC_ENIP_SESSION_H
#define PLCLINE_PROTO_PCCC_ENIP_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "plcline/error.h"
#include "plcline/log.h"
#include "proto/pccc/codec/cip.h"
#include "proto/pccc/codec/enip.h"

/* Sender context byte 2. */
#define PL_ENIP_CTX_OWNER    0u /* the owner's requests */
#define PL_ENIP_CTX_FWD_OPEN 1u
#define PL_ENIP_CTX_FWD_CLS  2u

typedef enum {
    PL_ENIP_SESSION_DOWN = 0, /* no connection */
    PL_ENIP_SESSION_REGISTER, /* RegisterSession sent */
    PL_ENIP_SESSION_FWD_OPEN, /* registered, Forward Open sent */
    PL_ENIP_SESSION_READY     /* requests may go */
} pl_enip_session_state_t;

typedef struct {
    pl_enip_session_state_t state;
    uint32_t session;                /* the handle the target gave; 0: none */
    int connected;                   /* this session uses the class 3 connection */
    uint32_t ot_conn_id, to_conn_id; /* ours to send with / the target's to us */
    uint16_t conn_serial;
    uint16_t seq; /* sequence count of the last connected message */
    /* configuration (pl_enip_session_init) */
    uint16_t vendor;
    uint32_t serial;
    unsigned timeout_ms;
    uint8_t conn_path[72]; /* the route, then the Message Router */
    size_t conn_path_len;
    uint32_t rnd;
} pl_enip_session_t;

/* Sets up `s` (state DOWN) for originator vendor ID and serial, a route (port segments, up
 * to 64 bytes) and the time the target's Connection Manager may take. `seed` starts the
 * connection ids and serials (any value). */
void pl_enip_session_init(pl_enip_session_t *s, uint16_t vendor, uint32_t serial,
                          const uint8_t *route, size_t route_len, unsigned timeout_ms,
                          uint32_t seed);

/* The Connection Manager's timeout in ticks of 2^10 ms for timeout_ms (1..255). */
uint8_t pl_enip_session_cm_ticks(const pl_enip_session_t *s);

/* A connection is up: state REGISTER, `connected` says whether a Forward Open follows;
 * writes RegisterSession (every header field it does not use zero: a strict target refuses
 * a sender context or options) into buf[0..cap). Returns its length or PL_ENOBUFS. */
int pl_enip_session_begin(pl_enip_session_t *s, int connected, uint8_t *buf, size_t cap);

/* The RegisterSession reply `m`: 0 when registered (the handle is kept; the owner goes on
 * with pl_enip_session_fwd_open() or pl_enip_session_ready()), PL_ESESSION_REFUSED with
 * `st` saying why, or PL_EPROTO when none was expected. */
int pl_enip_session_registered(pl_enip_session_t *s, const pl_enip_msg_t *m, pl_status_t *st);

/* Writes Forward Open, framed, into buf[0..cap): state FWD_OPEN. Returns its length or <0. */
int pl_enip_session_fwd_open(pl_enip_session_t *s, uint8_t *buf, size_t cap);

/* A successful (status 0) Forward Open reply: 0 (the connection ids are kept; state READY),
 * or PL_EPROTO with `st` when none was expected or it is not ours. */
int pl_enip_session_opened(pl_enip_session_t *s, const pl_cip_rsp_t *rsp, pl_status_t *st);

/* Requests may go: state READY (without a connection, or after a refused Forward Open the
 * owner chose to go on without: then `connected` becomes 0). */
void pl_enip_session_ready(pl_enip_session_t *s, int connected);

/* Frames the CIP message of `len` bytes already at buf + PL_ENIP_CIP_(UN)CONNECTED_LEN as
 * SendRRData (connected 0) or SendUnitData with sequence count `seq`, sender context
 * `ctx`. Returns the message's whole length or <0 (pl_enip_cip_frame()). */
int pl_enip_session_frame(const pl_enip_session_t *s, int connected, uint16_t seq,
                          const uint8_t ctx[PL_ENIP_CONTEXT_LEN], uint8_t *buf, size_t cap,
                          size_t len);

/* Writes Forward Close, framed, into buf[0..cap) when the connection is open. Returns its
 * length, 0 when there is none to close, or <0. */
int pl_enip_session_fwd_close(pl_enip_session_t *s, uint8_t *buf, size_t cap);

/* Writes UnRegisterSession (the handle, every other header field zero) into buf[0..cap)
 * when registered. Returns its length, 0 when not registered, or <0. Send it after
 * pl_enip_session_fwd_close()'s message, on its own. */
int pl_enip_session_unregister(const pl_enip_session_t *s, uint8_t *buf, size_t cap);

/* The connection is gone: state DOWN, no handle. */
void pl_enip_session_down(pl_enip_session_t *s);

/* Fills ctx with `tns` (bytes 0-1, little-endian) and `kind` (byte 2), the rest zero. */
void pl_enip_session_ctx(uint8_t ctx[PL_ENIP_CONTEXT_LEN], uint8_t kind, uint16_t tns);

#endif
