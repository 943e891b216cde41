/* SPDX-License-Identifier: MIT */
/*
 * Allen-Bradley PCCC over EtherNet/IP (seed 001): a client for SLC 500, MicroLogix and
 * PLC-5 processors (and Logix controllers with mapped PLC/SLC files), and a PLC simulator.
 *
 * Client: one EtherNet/IP session per client on a line (host lists, backup, IPv6: all of
 * src/net). RegisterSession, then PCCC object requests (class 0x67, instance 1) with service
 * 0x4B (requestor ID), 0x4C (DH+ header) or 0x4D (local), sent in SendRRData (unconnected,
 * optionally routed with Unconnected Send) or SendUnitData after a Forward Open
 * (connected=1). Each request has its TNS; replies are matched by TNS, so up to `inflight`
 * requests may be outstanding. Every request completes exactly once.
 *
 * Remote answers stay distinct from local errors: a request the PLC refuses fails with
 * PL_EPCCC_STS, PL_ECIP_STATUS or PL_EENIP_STATUS and carries the raw values in
 * req->remote (with a readable detail such as "STS 0xF0 EXT STS 0x06: address doesn't
 * point to something usable").
 *
 * Threading: the loop thread only. Memory: library-owned clients and servers (_new/_free);
 * caller-owned requests and buffers until the callback has run.
 */
#ifndef PLCLINE_PCCC_H
#define PLCLINE_PCCC_H

#include "plcline/export.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "plcline/line.h"
#include "plcline/log.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PL_ENIP_PORT 44818 /* EtherNet/IP explicit messaging, TCP */

typedef enum {
    PL_PCCC_PLC_SLC500 = 0, /* SLC 5/03, 5/04, 5/05: typed logical read/write (0xA2/0xAA/0xAB) */
    PL_PCCC_PLC_MICROLOGIX, /* MicroLogix 1100/1400 (and 1200/1500): as SLC */
    PL_PCCC_PLC_PLC5,       /* PLC-5/E: typed read/write (0x68/0x67), word range (0x01/0x00) */
    PL_PCCC_PLC_LOGIX,      /* ControlLogix/CompactLogix with mapped PLC/SLC files: as SLC */
} pl_pccc_plc_t;

/* "slc500", "micrologix", "plc5", "logix"; returns 0 or PL_EINVAL. */
PL_EXTERN int pl_pccc_plc_parse(const char *s, pl_pccc_plc_t *out);
PL_EXTERN const char *pl_pccc_plc_name(pl_pccc_plc_t plc);

/* What a refusing target said. All zero when the request succeeded or failed locally. */
typedef struct {
    uint32_t encap_status; /* EtherNet/IP encapsulation status */
    uint8_t cip_status;    /* CIP general status */
    uint16_t cip_ext;      /* first CIP extended status word */
    uint8_t sts, ext_sts;  /* PCCC STS and EXT STS */
} pl_pccc_remote_t;

/* connected=auto: Forward Open first, unconnected messaging for a target that refuses it. */
#define PL_PCCC_CONNECTED_AUTO 2

typedef struct pl_pccc_client_s pl_pccc_client_t;
typedef struct pl_pccc_req_s pl_pccc_req_t;
typedef void (*pl_pccc_cb)(pl_pccc_req_t *req);
typedef void (*pl_pccc_link_cb)(pl_pccc_client_t *c, const pl_status_t *status, void *ud);

typedef struct {
    pl_line_config_t line; /* port default 44818 */
    pl_pccc_plc_t plc;
    uint8_t service;             /* 0x4B (default), 0x4C, 0x4D */
    uint16_t vendor;             /* 0x4B requestor vendor ID */
    uint32_t serial;             /* 0x4B requestor serial; 0: last 4 octets of a MAC of this host */
    int vendor_seq;              /* 0x4B: use the 2-byte field as a per-message sequence number */
    uint16_t dst_link, src_link; /* 0x4C DH+ header (user bytes are 0) */
    uint8_t dst, src;
    uint8_t route[64]; /* Unconnected Send route path (encoded); route_len 0: none */
    size_t route_len;
    int connected;       /* 0: unconnected messaging (SendRRData; default), 1: Forward Open,
                            then connected messaging (SendUnitData), PL_PCCC_CONNECTED_AUTO:
                            connected unless the target refuses Forward Open */
    unsigned inflight;   /* requests outstanding at once; 0: 1. A target that closes the
                            connection or answers with an error while more than one is in
                            flight is kept at 1 from then on (see the statistics) */
    unsigned timeout_ms; /* per request; 0: 1000 */
    unsigned max_queue;  /* waiting requests; 0: 256 */
    unsigned max_bytes;  /* data bytes per request; 0: the processor type's */
    pl_pccc_link_cb on_link;
    void *ud;
    const pl_logger_t *log;
} pl_pccc_client_config_t;

PL_EXTERN void pl_pccc_client_config_init(pl_pccc_client_config_t *cfg);

/* Applies "pccc://HOSTLIST[:PORT][?key=value...]": plc, service (4b|4c|4d), vendor, serial,
 * vendor_seq, dst, src, dst_link, src_link, path (route, "1,0"), connected (0, 1, auto), inflight,
 * timeout, queue, max_bytes, and the line keys of docs/lines.md. Unknown keys are errors.
 * Returns 0 or PL_EURL with `err`. line.local_addr points into `storage` (>= 64 bytes). */
PL_EXTERN int pl_pccc_client_config_url(pl_pccc_client_config_t *cfg, const char *url,
                                        char *storage, size_t storage_len, pl_status_t *err);

PL_EXTERN int pl_pccc_client_new(uv_loop_t *loop, const pl_pccc_client_config_t *cfg,
                                 pl_pccc_client_t **out);
PL_EXTERN int
pl_pccc_client_start(pl_pccc_client_t *c); /* polling mode: connect and stay connected */
PL_EXTERN void
pl_pccc_client_free(pl_pccc_client_t *c); /* fails requests with PL_ECANCELED first */
PL_EXTERN pl_line_t *pl_pccc_client_line(pl_pccc_client_t *c);

typedef struct {
    uint64_t requests, responses, timeouts, errors, sessions;
    /* round-trip time of the last answered message: from its send to the arrival of the
     * bytes that answered it; a message sent while received bytes are being handled (from a
     * completion callback) counts from the arrival of those bytes (one clock reading serves
     * a whole read) */
    uint64_t last_rtt_us;
    /* Pipelining fell back: times a target closed the connection or answered with an error
     * while more than one request was in flight (`fallback` says why, the first time); the
     * messages then in flight went out again one at a time (`retried`). */
    uint64_t fallbacks, retried;
    unsigned inflight; /* requests in flight allowed with the current target (1 after a
                          fallback), 0 before the first session */
    int connected;     /* the current session uses connected messaging */
    char fallback[256];
} pl_pccc_client_stats_t;
PL_EXTERN const pl_pccc_client_stats_t *pl_pccc_client_stats(const pl_pccc_client_t *c);

struct pl_pccc_req_s {
    void *data;
    pl_status_t status;
    pl_pccc_remote_t remote;
    /* private */
    pl_pccc_req_t *next_;
    pl_pccc_cb cb_;
    uint8_t priv_[192];
};

/* Reads the elements `addr` names (text in the address grammar of docs/pccc.md, e.g.
 * "N7:0,10", "T4:0.ACC", "B3:0/5") into buf (their bytes as the PLC holds them, little-endian;
 * docs/pccc.md gives each type's layout). Split into requests of at most max_bytes. Returns 0 (cb
 * will run) or synchronously PL_EADDR (with req->status detail), PL_ENOBUFS (len too small),
 * PL_ENO_MSG, PL_ECLOSING. */
PL_EXTERN int pl_pccc_read(pl_pccc_client_t *c, pl_pccc_req_t *req, const char *addr, uint8_t *buf,
                           size_t len, pl_pccc_cb cb);

/* Writes the elements `addr` names from buf; a bit or a structure member bit is written with
 * a masked write, so the other bits are not touched. */
PL_EXTERN int pl_pccc_write(pl_pccc_client_t *c, pl_pccc_req_t *req, const char *addr,
                            const uint8_t *buf, size_t len, pl_pccc_cb cb);

/* Diagnostic status (CMD 0x06 FNC 0x03): identifies the processor. `text` receives e.g.
 * "SLC 5/05 1747-L552 series C" (NUL-terminated). */
PL_EXTERN int pl_pccc_identify(pl_pccc_client_t *c, pl_pccc_req_t *req, char *text, size_t cap,
                               pl_pccc_cb cb);

/* --- PLC simulator ------------------------------------------------------------------- */

typedef struct pl_pccc_server_s pl_pccc_server_t;

typedef struct {
    pl_listener_config_t listen; /* addr NULL: 127.0.0.1; port 0 picks one */
    pl_pccc_plc_t plc;           /* product emulated (ListIdentity, diagnostic status) */
    const char *files;           /* "N7:100 F8:20 B3:16 T4:10 ST9:5 L10:10"; NULL: default */
    unsigned delay_ms;           /* answer delay */
    unsigned close_after;        /* close a connection when its N-th request arrives */
    unsigned animate_ms;         /* >0: N7:0 counts, N7:1 saw-tooth 0..99, F8:0 sine */
    const pl_logger_t *log;
    unsigned register_timeout_ms; /* close a connection that has not registered a session
                                     this long after it was accepted; 0: 10000 */
    /* Strictness, as targets met in the field (docs/pccc-simulator.md; `plcline serve`
     * starts with max_inflight 1 and no_connected 1):
     * - lax_register 0: a RegisterSession whose header has a non-zero session handle,
     *   status, sender context or options is refused with encapsulation status 0x0001;
     * - max_inflight N > 0: a connection on which a request arrives while N are unanswered
     *   is closed (1: a one-request-at-a-time target); 0: no limit;
     * - no_connected: Forward Open is refused with CIP status 0x08 (service not supported);
     * - require_requestor: a 0x4B request whose requestor ID is not exactly
     *   requestor_vendor/requestor_serial is answered with CIP status 0x08. */
    int lax_register;
    unsigned max_inflight;
    int no_connected;
    int require_requestor;
    uint16_t requestor_vendor;
    uint32_t requestor_serial;
    unsigned idle_timeout_ms; /* close a connection that sent nothing this long; 0:
                                 PL_SIM_IDLE_TIMEOUT_MS */
} pl_pccc_server_config_t;

PL_EXTERN void pl_pccc_server_config_init(pl_pccc_server_config_t *cfg);

PL_EXTERN int pl_pccc_server_new(uv_loop_t *loop, const pl_pccc_server_config_t *cfg,
                                 pl_pccc_server_t **out, pl_status_t *err);
PL_EXTERN uint16_t pl_pccc_server_port(const pl_pccc_server_t *s);
PL_EXTERN const char *pl_pccc_server_address(const pl_pccc_server_t *s);

/* The bytes of data file `file` (type letter(s) and number as in "N7", "ST9"); *len gets
 * its size. NULL when the file does not exist. For tests and the demo's animation. */
PL_EXTERN uint8_t *pl_pccc_server_file(pl_pccc_server_t *s, const char *file, size_t *len);

typedef struct {
    uint64_t connections, sessions, requests, errors_sent, bad_frames;
    uint64_t register_timeouts; /* connections closed for no RegisterSession in time */
    uint64_t register_refused;  /* RegisterSession refused for non-zero header fields */
    uint64_t inflight_closed;   /* connections closed for too many requests in flight */
    uint64_t fwd_open_refused;  /* Forward Open refused (no_connected) */
    uint64_t requestor_refused; /* 0x4B requests refused for their requestor ID */
    uint64_t idle_timeouts;     /* connections closed for sending nothing in idle_timeout_ms */
} pl_pccc_server_stats_t;
PL_EXTERN const pl_pccc_server_stats_t *pl_pccc_server_stats(const pl_pccc_server_t *s);

PL_EXTERN void pl_pccc_server_free(pl_pccc_server_t *s);

#ifdef __cplusplus
}
#endif

#endif
