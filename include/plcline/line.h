/* SPDX-License-Identifier: MIT */
/*
 * Lines: the TCP/IP-TCP transport under every protocol (D2000 "TCP/IP-TCP" line).
 *
 * A client line owns at most one TCP connection at a time to one of up to 8 configured
 * hosts, tried in order and cyclically; names are resolved asynchronously by the OS
 * resolver (libuv getaddrinfo on the threadpool), so a slow DNS never blocks the loop.
 * Between failed attempts the line waits an exponential back-off with jitter, reset after a
 * successful connection. The protocol above sees a byte stream: on_up, on_data, on_down.
 *
 * A listener accepts connections on an address (or `*`, `ALL`, `[*]`, `[ALL]`) and hands
 * each one to the protocol as a pl_conn_t.
 *
 * Threading: everything runs on the loop thread given at creation; no call is thread-safe.
 * Memory: the library owns lines, listeners and connections (_new/_free). A _free() call
 * may return before handles are closed; storage is released in libuv close callbacks, and
 * no callback of the object fires after _free() returns.
 */
#ifndef PLCLINE_LINE_H
#define PLCLINE_LINE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "plcline/hostlist.h"
#include "plcline/log.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    pl_hostlist_t hosts;         /* at least one host */
    uint16_t port;               /* port for hosts without their own */
    const char *local_addr;      /* NULL or "" for any; multihomed hosts (7TTCP node parameter) */
    uint16_t local_port;         /* 0 for any */
    unsigned connect_timeout_ms; /* 0: default 3000 */
    unsigned backoff_min_ms;     /* 0: default 100; first retry delay */
    unsigned backoff_max_ms;     /* 0: default 10000 */
    int tcp_keepalive_s;         /* TCP keep-alive idle seconds; 0: default 30; <0: off */
    const pl_logger_t *log;      /* may be NULL; must outlive the line */
    /* For tests: a clock and a random source; NULL uses uv_now() and rand(). */
    uint64_t (*now_ms)(void *ud);
    uint32_t (*random)(void *ud);
    void *clock_ud;
} pl_line_config_t;

/* Fills `cfg` with defaults (no hosts). */
void pl_line_config_init(pl_line_config_t *cfg);

typedef enum {
    PL_LINE_IDLE = 0, /* not asked to connect, or stopped */
    PL_LINE_RESOLVING,
    PL_LINE_CONNECTING,
    PL_LINE_UP,
    PL_LINE_BACKOFF, /* waiting before the next attempt */
} pl_line_state_t;

typedef struct pl_line_s pl_line_t;

typedef struct {
    /* The connection is up; sending is allowed from here on. */
    void (*on_up)(pl_line_t *line, void *ud);
    /* Bytes received. `buf` is valid only during the call. */
    void (*on_data)(pl_line_t *line, const uint8_t *buf, size_t len, void *ud);
    /* The connection broke (RECV_FF, RECV_00, SEND) or an attempt failed (CONNECT,
     * RESOLVE, SOCKET, BIND). Fired once per lost connection or failed attempt. Unless the
     * line is stopped, the line retries by itself after the back-off. */
    void (*on_down)(pl_line_t *line, const pl_status_t *why, void *ud);
} pl_line_cbs_t;

/* Creates a line; copies `cfg` (and the local_addr string). Does not connect yet.
 * Returns 0 or PL_EINVAL / PL_ENOMEM. */
int pl_line_new(uv_loop_t *loop, const pl_line_config_t *cfg, const pl_line_cbs_t *cbs, void *ud,
                pl_line_t **out);

/* Starts connecting (no-op when already started). Attempts go on until pl_line_stop(). */
int pl_line_start(pl_line_t *line);

/* Closes any connection and stops retrying. on_down is not called for this close. */
void pl_line_stop(pl_line_t *line);

/* Drops the current connection because the protocol found it dead (timeout, garbage);
 * `why` is reported through on_down and kept as the last error; the line then moves on to
 * the next host after the back-off. No-op when not up. */
void pl_line_drop(pl_line_t *line, const pl_status_t *why);

/* Queues `len` bytes (copied) for sending. Returns 0, PL_ECLOSING when not up, PL_ENOBUFS
 * when the pending output would exceed the line's limit (64 KiB). */
int pl_line_send(pl_line_t *line, const uint8_t *buf, size_t len);

pl_line_state_t pl_line_state(const pl_line_t *line);

/* Index (in the host list) of the host connected to or being tried. */
unsigned pl_line_host_index(const pl_line_t *line);

/* The peer of the current connection as "10.0.0.1:12398" / "[::1]:12398", or "" if none. */
const char *pl_line_peer(const pl_line_t *line);

/* The last error (connect failure or break); code 0 if none yet. */
const pl_status_t *pl_line_last_error(const pl_line_t *line);

/* Counters since creation. */
typedef struct {
    uint64_t connects; /* successful connections */
    uint64_t failures; /* failed attempts + broken connections */
    uint64_t bytes_in, bytes_out;
} pl_line_stats_t;
const pl_line_stats_t *pl_line_stats(const pl_line_t *line);

/* Frees the line (closing its connection without on_down). */
void pl_line_free(pl_line_t *line);

/* --- Server side -------------------------------------------------------------------- */

typedef struct pl_listener_s pl_listener_t;
typedef struct pl_conn_s pl_conn_t;

typedef struct {
    const char *addr;         /* "127.0.0.1", "::1", "*", "ALL", "[*]", "[ALL]", a name; NULL:
                                 127.0.0.1 */
    uint16_t port;            /* 0 picks a free port; read it back with pl_listener_port() */
    unsigned max_conns;       /* 0: unlimited; further connections are closed at accept */
    const char *const *allow; /* NULL or NULL-terminated list of partner addresses allowed */
    size_t max_output;        /* bytes queued per connection before it is closed; 0: 1 MiB */
    const pl_logger_t *log;
} pl_listener_config_t;

typedef struct {
    /* A partner connected; return 0 to keep it (and set pl_conn_set_data()), <0 to close. */
    int (*on_accept)(pl_listener_t *lst, pl_conn_t *conn, void *ud);
    void (*on_data)(pl_conn_t *conn, const uint8_t *buf, size_t len, void *ud);
    /* The connection is gone (peer closed, error, or pl_conn_close()). The conn is freed
     * after this returns. */
    void (*on_close)(pl_conn_t *conn, const pl_status_t *why, void *ud);
} pl_listener_cbs_t;

/* Binds and listens. Returns 0, PL_EBIND (address in use, not local), PL_ESOCKET,
 * PL_ERESOLVE, PL_EINVAL; `err` (may be NULL) gets the details. */
int pl_listener_new(uv_loop_t *loop, const pl_listener_config_t *cfg, const pl_listener_cbs_t *cbs,
                    void *ud, pl_listener_t **out, pl_status_t *err);
uint16_t pl_listener_port(const pl_listener_t *lst);
/* The bound address as text: "127.0.0.1:12398", "[::]:12398". */
const char *pl_listener_address(const pl_listener_t *lst);
unsigned pl_listener_conn_count(const pl_listener_t *lst);
/* Closes the listening socket and every connection (on_close fires for each). */
void pl_listener_free(pl_listener_t *lst);

int pl_conn_send(pl_conn_t *conn, const uint8_t *buf, size_t len);
/* Closes the connection; on_close fires later with `why` (NULL: closed locally). */
void pl_conn_close(pl_conn_t *conn, const pl_status_t *why);
void pl_conn_set_data(pl_conn_t *conn, void *data);
void *pl_conn_data(const pl_conn_t *conn);
const char *pl_conn_peer(const pl_conn_t *conn);

#ifdef __cplusplus
}
#endif

#endif
