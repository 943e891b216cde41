/* SPDX-License-Identifier: MIT */
/*
 * 7TTCP (IGSS Generic TCP/IP driver, driver ID 34): the driver (client) and a node
 * simulator (server, the 7TTCPMON side).
 *
 * Client: one TCP connection per client (one node address: host list, port, optional local
 * address as the manual's node parameters), carrying requests for any node number. One
 * request is outstanding at a time (the protocol has no transaction id); the others wait in
 * a bounded FIFO (PL_E_7TTCP_NO_MSG, 0x4007, when full). Every request completes exactly once
 * through its callback, unless the call that submits it fails synchronously.
 *
 * Connection policy: the first request starts the connection; requests wait for it. When
 * every host of the list has failed once, waiting requests fail with the connect error
 * (0x4003 and the OS reason). The client reports its failures with the manual's codes
 * (PL_E_7TTCP_*, 0x4001-0x4009) where the line underneath has neutral ones (PL_ECONNECT...). A
 * request not answered in `timeout_ms` fails with PL_E_7TTCP_TIMEOUT (0x4009) and the connection is
 * dropped (a late answer could otherwise be taken for the next request's); the next request
 * reconnects, to the next host of the list. With pl_ttcp_client_start() the client reconnects at
 * once and keeps doing so (polling mode).
 *
 * Threading: the loop thread only. Memory: the library owns clients and servers
 * (_new/_free); the caller owns requests (pl_ttcp_req_t) and the word buffers they point
 * to until the callback has run.
 */
#ifndef PLCLINE_TTCP_H
#define PLCLINE_TTCP_H

#include "plcline/export.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "plcline/line.h"
#include "plcline/log.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PL_TTCP_PORT 12398 /* manual: default Remote Socket number */

typedef struct pl_ttcp_client_s pl_ttcp_client_t;
typedef struct pl_ttcp_req_s pl_ttcp_req_t;

/* Called once per request with req->status set (code 0 on success). The request may be
 * resubmitted or freed from inside the callback. */
typedef void (*pl_ttcp_cb)(pl_ttcp_req_t *req);

/* Unsolicited input: a data frame (type 2 with data) the node sent with no request of ours
 * behind it. `words` is valid during the call only. */
typedef void (*pl_ttcp_unsolicited_cb)(pl_ttcp_client_t *c, uint32_t node, uint32_t offset,
                                       const uint16_t *words, size_t count, void *ud);

/* Connection went up (status NULL) or down (status says why). */
typedef void (*pl_ttcp_link_cb)(pl_ttcp_client_t *c, const pl_status_t *status, void *ud);

typedef struct {
    pl_line_config_t line; /* hosts, port (default 12398), local address, connect timeout */
    unsigned timeout_ms;   /* per request; 0: default 1000 */
    unsigned keepalive_ms; /* keep-alive after this idle time; default 10000; 0: off */
    unsigned max_block;    /* words per request, 1..256; 0: default 256 */
    unsigned max_queue;    /* waiting requests; 0: default 256 */
    pl_ttcp_unsolicited_cb on_unsolicited; /* may be NULL: unsolicited frames are logged */
    pl_ttcp_link_cb on_link;               /* may be NULL */
    void *ud;
    const pl_logger_t *log; /* may be NULL */
    /* Requests in flight at once, 1..PL_TTCP_INFLIGHT_MAX; 0: PL_TTCP_INFLIGHT_MAX (the
     * default). A ceiling: a node that closes the connection, goes silent or answers out
     * of step while several are in flight, before it ever answered one sent behind
     * another, is kept at one at a time from then on and the requests go out again
     * (docs/7ttcp.md). 1: one at a time from the start. */
    unsigned max_inflight;
} pl_ttcp_client_config_t;

#define PL_TTCP_INFLIGHT_MAX 16u

/* Defaults; no hosts. */
PL_EXTERN void pl_ttcp_client_config_init(pl_ttcp_client_config_t *cfg);

/* Applies a device URL "7ttcp://HOSTLIST[/NODE][?key=value...]" to `cfg` and returns the
 * node number through *node (0 when absent). Keys: timeout (ms), keepalive (s), max_block
 * (words), queue, inflight (1..16), swap (0/1, returned through *swap, may be NULL), and the line
 * keys of docs/lines.md: backup, use_backup, redundancy, prefer_primary, local, line,
 * connect_timeout. Unknown keys are errors. Returns 0 or PL_EURL with `err` saying what
 * is wrong. `cfg` keeps no pointer into `url`, except line.local_addr, which points into
 * `storage` (at least 64 bytes). */
PL_EXTERN int pl_ttcp_client_config_url(pl_ttcp_client_config_t *cfg, const char *url,
                                        uint32_t *node, int *swap, char *storage,
                                        size_t storage_len, pl_status_t *err);

PL_EXTERN int pl_ttcp_client_new(uv_loop_t *loop, const pl_ttcp_client_config_t *cfg,
                                 pl_ttcp_client_t **out);

/* Polling mode: connect now and reconnect whenever the connection is lost. */
PL_EXTERN int pl_ttcp_client_start(pl_ttcp_client_t *c);

/* Fails every request with PL_ECANCELED (callbacks run before this returns), closes the
 * connection and frees the client. No callback fires after it returns. */
PL_EXTERN void pl_ttcp_client_free(pl_ttcp_client_t *c);

/* With max_inflight > 1: between cork(c, 1) and cork(c, 0) (calls nest) the requests
 * submitted are gathered and sent with one write at the last cork(c, 0) (as many as are
 * allowed in flight then). Otherwise a no-op. */
PL_EXTERN void pl_ttcp_client_cork(pl_ttcp_client_t *c, int on);

/* The line under the client (state, peer, last error, counters). */
PL_EXTERN pl_line_t *pl_ttcp_client_line(pl_ttcp_client_t *c);

typedef struct {
    uint64_t requests, responses, timeouts, errors, keepalives, unsolicited;
    uint64_t last_rtt_us; /* round-trip time of the last answered request */
    /* The node could not take several requests at once (fallbacks: times, `fallback` says
     * why the first time); the requests then in flight went out again (retried). */
    uint64_t fallbacks, retried;
    uint64_t skipped;  /* requests the node passed over while answering the next (failed) */
    unsigned inflight; /* requests in flight allowed with the current node (1 after a
                          fallback), 0 before the first connection */
    char fallback[256];
} pl_ttcp_client_stats_t;
PL_EXTERN const pl_ttcp_client_stats_t *pl_ttcp_client_stats(const pl_ttcp_client_t *c);

struct pl_ttcp_req_s {
    void *data;         /* the caller's */
    pl_status_t status; /* result; valid in the callback */
    /* private */
    pl_ttcp_cb cb_;
    uint16_t *words_;
    uint32_t node_, offset_, count_;
    uint8_t type_, split_;
    uint64_t core_[4]; /* the client core's part of the request */
};

/* Reads `count` words of `node` from `offset` into `words`. Blocks larger than max_block
 * are read as several requests, one after another (high-level call). Returns 0 (cb will
 * run), or synchronously PL_EINVAL (count 0 or range past word 0xFFFFFFFF),
 * PL_E_7TTCP_NO_MSG (queue full), PL_ECLOSING. */
PL_EXTERN int pl_ttcp_read(pl_ttcp_client_t *c, pl_ttcp_req_t *req, uint32_t node, uint32_t offset,
                           uint16_t *words, size_t count, pl_ttcp_cb cb);

/* Writes `count` words; split like pl_ttcp_read. `words` must stay valid until cb. */
PL_EXTERN int pl_ttcp_write(pl_ttcp_client_t *c, pl_ttcp_req_t *req, uint32_t node, uint32_t offset,
                            const uint16_t *words, size_t count, pl_ttcp_cb cb);

/* Low-level: exactly one request frame; more than max_block words → PL_EBLOCK_TOO_BIG
 * (0x5501) synchronously. */
PL_EXTERN int pl_ttcp_read_block(pl_ttcp_client_t *c, pl_ttcp_req_t *req, uint32_t node,
                                 uint32_t offset, uint16_t *words, size_t count, pl_ttcp_cb cb);
PL_EXTERN int pl_ttcp_write_block(pl_ttcp_client_t *c, pl_ttcp_req_t *req, uint32_t node,
                                  uint32_t offset, const uint16_t *words, size_t count,
                                  pl_ttcp_cb cb);

/* --- Node simulator ------------------------------------------------------------------ */

typedef struct pl_ttcp_server_s pl_ttcp_server_t;

typedef struct {
    pl_listener_config_t listen;    /* addr NULL → 127.0.0.1; port 0 picks one */
    uint32_t node_first, node_last; /* nodes served; default 0..7; at most 4096 nodes */
    unsigned max_block;             /* largest request accepted; 0: 256 */
    unsigned delay_ms;              /* fixed delay before each answer; 0: none */
    const uint32_t *ignore_nodes;   /* requests for these nodes get no answer (test option) */
    size_t n_ignore;
    unsigned close_after;     /* close a connection after it sent this many frames; 0: never */
    const char *persist_path; /* load words at start, save at pl_ttcp_server_free; NULL: off */
    unsigned animate_ms;      /* >0: words 0..9 of every node change every animate_ms */
    const pl_logger_t *log;
    unsigned idle_timeout_ms; /* close a connection that sent nothing (not even a keep-alive)
                                 this long; 0: PL_SIM_IDLE_TIMEOUT_MS */
    /* A node that serves one request (or N) at a time: a read or write request arriving
     * while max_inflight are unanswered on its connection (the requests before it in the
     * same socket read, and answers held back by delay_ms; keep-alives never count) is not
     * served. 0: no limit (the default). A client that waits for each answer is never
     * caught. What happens to that request: */
    unsigned max_inflight;
    /* 0: the connection is closed (logged, counted in inflight_closed); nonzero: the
     * request is ignored, left unanswered (counted in inflight_dropped) and the connection
     * stays, as a node that parses only the first frame of each read */
    uint8_t inflight_drop;
} pl_ttcp_server_config_t;

PL_EXTERN void pl_ttcp_server_config_init(pl_ttcp_server_config_t *cfg);

/* Listens and serves. Returns 0, PL_EBIND/PL_ESOCKET/PL_ERESOLVE (err says why), PL_EIO
 * when the persistence file exists but cannot be read, PL_EINVAL. */
PL_EXTERN int pl_ttcp_server_new(uv_loop_t *loop, const pl_ttcp_server_config_t *cfg,
                                 pl_ttcp_server_t **out, pl_status_t *err);
PL_EXTERN uint16_t pl_ttcp_server_port(const pl_ttcp_server_t *s);
PL_EXTERN const char *pl_ttcp_server_address(const pl_ttcp_server_t *s);

/* Direct access to a node's 65536 words (NULL for a node not served). */
PL_EXTERN uint16_t *pl_ttcp_server_words(pl_ttcp_server_t *s, uint32_t node);

/* Sends `count` words of `node` from `offset` as unsolicited input (type 2 with data) to
 * every connected client. Returns the number of clients sent to, or PL_EINVAL. */
PL_EXTERN int pl_ttcp_server_push(pl_ttcp_server_t *s, uint32_t node, uint32_t offset,
                                  size_t count);

typedef struct {
    uint64_t connections, frames_in, frames_out, keepalives, bad_frames, ignored;
    uint64_t idle_timeouts;    /* connections closed for sending nothing in idle_timeout_ms */
    uint64_t inflight_closed;  /* connections closed for a request past max_inflight */
    uint64_t inflight_dropped; /* requests past max_inflight left unanswered (inflight_drop) */
} pl_ttcp_server_stats_t;
PL_EXTERN const pl_ttcp_server_stats_t *pl_ttcp_server_stats(const pl_ttcp_server_t *s);
PL_EXTERN unsigned pl_ttcp_server_conn_count(const pl_ttcp_server_t *s);

/* Closes every connection and the listener; saves the words when persistence is on
 * (returns PL_EIO if saving failed, else 0). */
PL_EXTERN int pl_ttcp_server_free(pl_ttcp_server_t *s);

#ifdef __cplusplus
}
#endif

#endif
