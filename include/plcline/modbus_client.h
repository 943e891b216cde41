/* SPDX-License-Identifier: MIT */
/*
 * Modbus TCP client (docs/modbus.md, "Client").
 *
 * One client is one TCP connection (a line: host list, backup device, redundancy) that
 * carries requests for any unit identifier, so one client serves every unit behind a
 * gateway. Up to `inflight` requests are on the wire at once, each with its own
 * transaction identifier; answers are matched by it, so they may come back in any order.
 * The others wait in a bounded FIFO (PL_ENO_MSG when it is full).
 *
 * Every request has its own deadline, `timeout_ms` after it was sent. A unit that does not
 * answer fails its own requests with PL_ETIMEOUT and nothing else: the connection stays, the
 * transaction identifier is remembered, and its answer, should it come late, is dropped.
 * With inflight > 1 the other units' requests go on meanwhile; with inflight 1 each waits
 * for the silent unit's request at most one timeout. Only when `drop_after` requests in a
 * row time out with no answer at all in between is the connection taken for dead: it is
 * dropped and the line moves on to the next host (or the backup device).
 *
 * Exception answers complete the request with a PL_EMODBUS_X_* code (remote errors, apart
 * from the local PL_EMODBUS_* ones); an answer that does not fit its request (other unit,
 * function, byte count or echo) fails that request with PL_EMODBUS_MISMATCH; a stream that
 * cannot be framed (protocol identifier, length outside 2..254, an answer to a transaction
 * never sent) drops the connection and fails what was in flight.
 *
 * Connection policy as the other clients: the first request starts the connection and
 * requests wait for it at most one timeout; with pl_modbus_client_start() the client keeps
 * a connection (polling mode). Requests in flight when the connection breaks fail with the
 * reason; waiting ones go out on the next connection.
 *
 * Threading: the loop thread only. Memory: the library owns the client (_new/_free); the
 * caller owns requests and the buffers they point to until the callback has run.
 */
#ifndef PLCLINE_MODBUS_CLIENT_H
#define PLCLINE_MODBUS_CLIENT_H

#include "plcline/export.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "plcline/line.h"
#include "plcline/log.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PL_MODBUS_CLIENT_PORT         502u /* Implementation Guide 4.1 */
#define PL_MODBUS_CLIENT_MAX_INFLIGHT 64u

typedef struct pl_modbus_client_s pl_modbus_client_t;
typedef struct pl_modbus_request_s pl_modbus_request_t;

/* Called once per request with req->status set (code 0 on success). The request may be
 * resubmitted or freed from inside the callback. */
typedef void (*pl_modbus_cb)(pl_modbus_request_t *req);

/* Connection went up (status NULL) or down (status says why). */
typedef void (*pl_modbus_link_cb)(pl_modbus_client_t *c, const pl_status_t *status, void *ud);

typedef struct {
    pl_line_config_t line; /* hosts, port (default 502), backup, redundancy, ... */
    unsigned timeout_ms;   /* per request, from its send; 0: default 1000 */
    unsigned inflight;     /* requests on the wire at once, 1..64; 0: default 1 */
    unsigned max_queue;    /* waiting requests; 0: default 256 */
    unsigned max_regs;     /* registers per read request (FC 3, 4), 1..125; 0: 125. Writes
                              (FC 16) take at most min(max_regs, 123) */
    unsigned max_bits;     /* bits per read (FC 1, 2), 1..2000; 0: 2000. Writes (FC 15) take
                              at most min(max_bits, 1968) rounded down to whole bytes */
    unsigned drop_after;   /* timeouts in a row, nothing answered between, that drop the
                              connection; 0: default 3 */
    /* What the URL said for the callers above the client (the client itself only uses
     * `unit` as the default of the pl_modbus_* calls' callers): */
    uint8_t unit;              /* default 1; 0 and 255 allowed (gateways use them) */
    uint8_t byte_order;        /* 0 ABCD, 1 CDAB, 2 BADC, 3 DCBA (32/64-bit values) */
    uint8_t zero_based;        /* Modicon references count from 0 (40000 is hr0) */
    pl_modbus_link_cb on_link; /* may be NULL */
    void *ud;
    const pl_logger_t *log; /* may be NULL */
} pl_modbus_client_config_t;

/* Defaults; no hosts. */
PL_EXTERN void pl_modbus_client_config_init(pl_modbus_client_config_t *cfg);

/* Applies "modbus://HOSTLIST[:PORT][/UNIT][?key=value...]" to `cfg`. Keys: timeout (ms),
 * byte_order (ABCD, CDAB, BADC, DCBA), max_regs, max_bits, inflight, queue, zero_based
 * (0/1), and the line keys of docs/lines.md (backup, use_backup, redundancy,
 * prefer_primary, local, line, connect_timeout). Unknown keys are errors. Returns 0 or
 * PL_EURL with `err` saying what is wrong. `cfg` keeps no pointer into `url`, except
 * line.local_addr, which points into `storage` (at least 64 bytes). */
PL_EXTERN int pl_modbus_client_config_url(pl_modbus_client_config_t *cfg, const char *url,
                                          char *storage, size_t storage_len, pl_status_t *err);

/* Returns 0, or PL_EINVAL (no hosts, a limit out of range), PL_ENOMEM. */
PL_EXTERN int pl_modbus_client_new(uv_loop_t *loop, const pl_modbus_client_config_t *cfg,
                                   pl_modbus_client_t **out);

/* Polling mode: connect now and reconnect whenever the connection is lost. */
PL_EXTERN int pl_modbus_client_start(pl_modbus_client_t *c);

/* Fails every request with PL_ECANCELED (callbacks run before this returns), closes the
 * connection and frees the client. No callback fires after it returns. */
PL_EXTERN void pl_modbus_client_free(pl_modbus_client_t *c);

/* The line under the client (state, peer, last error, counters). */
PL_EXTERN pl_line_t *pl_modbus_client_line(pl_modbus_client_t *c);

typedef struct {
    uint64_t requests;   /* PDUs sent */
    uint64_t responses;  /* PDUs answered (exceptions included) */
    uint64_t timeouts;   /* PDUs not answered in time */
    uint64_t exceptions; /* exception answers */
    uint64_t late;       /* answers to timed-out PDUs, dropped */
    uint64_t mismatches; /* answers that did not fit their request */
    uint64_t errors;     /* requests completed with an error */
    uint64_t last_rtt_us;
} pl_modbus_client_stats_t;
PL_EXTERN const pl_modbus_client_stats_t *pl_modbus_client_stats(const pl_modbus_client_t *c);

/* Read device identification answer (FC 43/14), filled on success. */
typedef struct {
    uint8_t conformity, more_follows, next_object, object_count;
    size_t objects_len; /* bytes of (id, length, value) objects stored in the buffer */
} pl_modbus_devid_t;

struct pl_modbus_request_s {
    void *data;         /* the caller's */
    pl_status_t status; /* result; valid in the callback */
    pl_modbus_devid_t devid;
    /* private */
    uint64_t core_[4]; /* the client core's part of the request */
    pl_modbus_cb cb_;
    uint8_t *rbuf_;
    const uint8_t *wbuf_;
    size_t rcap_;
    uint32_t count_;
    uint16_t addr_, waddr_, wcount_, value_, and_, or_;
    uint8_t unit_, fc_, object_;
};

/* Reads `count` elements with function `fc` (1 coils, 2 discrete inputs, 3 holding
 * registers, 4 input registers) of `unit` from address `addr` into `out`, as they travel:
 * registers big-endian, 2 bytes each; bits packed LSB first, (count + 7) / 8 bytes. More than
 * max_regs / max_bits are read as several requests, one after another. Returns 0 (cb will
 * run) or synchronously PL_EINVAL (fc, count 0, range past 65535), PL_ENO_MSG (queue full),
 * PL_ECLOSING. */
PL_EXTERN int pl_modbus_read(pl_modbus_client_t *c, pl_modbus_request_t *req, uint8_t unit,
                             uint8_t fc, uint16_t addr, uint32_t count, uint8_t *out,
                             pl_modbus_cb cb);

/* Writes `count` elements from `data` (as pl_modbus_read stores them) with function `fc`:
 * 5 (one coil), 6 (one register), 15 (coils), 16 (registers); 15 and 16 split as reads do.
 * FC 5 and 6 take count 1. Same returns as pl_modbus_read. */
PL_EXTERN int pl_modbus_write(pl_modbus_client_t *c, pl_modbus_request_t *req, uint8_t unit,
                              uint8_t fc, uint16_t addr, uint32_t count, const uint8_t *data,
                              pl_modbus_cb cb);

/* Takes back a request none of whose messages went out yet (the connection is down, or it
 * waits behind others): it completes now with PL_ECANCELED "taken back before it was sent"
 * (its callback runs before this returns) and 1 is returned. 0: part of it is on the wire,
 * or it is not this client's; it then completes as usual. */
PL_EXTERN int pl_modbus_cancel(pl_modbus_client_t *c, pl_modbus_request_t *req);

/* FC 22: register = (register AND and_mask) OR (or_mask AND NOT and_mask). */
PL_EXTERN int pl_modbus_mask_write(pl_modbus_client_t *c, pl_modbus_request_t *req, uint8_t unit,
                                   uint16_t addr, uint16_t and_mask, uint16_t or_mask,
                                   pl_modbus_cb cb);

/* FC 23: writes `wcount` registers (1..121) from `data` at `waddr`, then reads `rcount`
 * (1..125) at `raddr` into `out`, in one request. */
PL_EXTERN int pl_modbus_read_write(pl_modbus_client_t *c, pl_modbus_request_t *req, uint8_t unit,
                                   uint16_t raddr, uint16_t rcount, uint8_t *out, uint16_t waddr,
                                   uint16_t wcount, const uint8_t *data, pl_modbus_cb cb);

/* FC 43/14, one request: `code` 1..4 (basic, regular, extended, one object), from object
 * `object`. The objects, as they travel (id, length, value...), go into `out` (`cap` bytes;
 * PL_ENOBUFS in the callback when they do not fit); req->devid says how many and whether
 * more follow. */
PL_EXTERN int pl_modbus_device_id(pl_modbus_client_t *c, pl_modbus_request_t *req, uint8_t unit,
                                  uint8_t code, uint8_t object, uint8_t *out, size_t cap,
                                  pl_modbus_cb cb);

#ifdef __cplusplus
}
#endif

#endif
