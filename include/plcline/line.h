/* SPDX-License-Identifier: MIT */
/*
 * Lines: the TCP/IP-TCP transport under every protocol (D2000 "TCP/IP-TCP" line).
 *
 * A client line owns at most one TCP connection at a time to one of up to 8 configured
 * hosts, tried in order and cyclically; names are resolved asynchronously by the OS
 * resolver (libuv getaddrinfo on the threadpool), so a slow DNS never blocks the loop.
 * Between failed attempts the line waits an exponential back-off with jitter, reset once a
 * connection stayed up for `stable_ms`. The protocol above sees a byte stream: on_up,
 * on_data, on_down.
 *
 * D2000 "TCP/IP-TCP Redundant": with `use_backup` and a backup host list the line also
 * knows a backup device. PL_REDUNDANCY_ALTERNATE keeps one connection and cycles through
 * the primary hosts, then the backup hosts; PL_REDUNDANCY_PARALLEL holds one connection to
 * each side at once and hands the protocol the active one, switching over at once when it
 * fails. Redundancy is invisible to protocols: they still see one stream. docs/lines.md
 * describes every parameter and rule.
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

#include "plcline/export.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "plcline/hostlist.h"
#include "plcline/log.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Room for a peer address as text: "[ffff:...:ffff%scope]:65535" and a NUL. */
#define PL_LINE_PEER_MAX 72

/* D2000 TCP/IP-TCP Redundant: how the backup device is used (docs/lines.md). */
typedef enum {
    PL_REDUNDANCY_ALTERNATE = 0, /* one connection: primary hosts, then backup hosts (Modbus) */
    PL_REDUNDANCY_PARALLEL = 1,  /* a connection to each side at once (IEC 104) */
} pl_redundancy_t;

/* The two sides of a redundant line. */
typedef enum {
    PL_LINE_PRIMARY = 0,
    PL_LINE_BACKUP = 1,
} pl_line_side_t;

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
    /* For tests: a clock and a random source (jitter); NULL uses uv_now() and a per-line
     * xorshift generator seeded from uv_hrtime() and the line's address (never rand()). */
    uint64_t (*now_ms)(void *ud);
    uint32_t (*random)(void *ud);
    void *clock_ud;
    /* --- TCP/IP-TCP Redundant (all zero: a plain TCP/IP-TCP line) --- */
    pl_hostlist_t backup;       /* backup device hosts; count 0: no backup device */
    uint16_t backup_port;       /* port for backup hosts without their own; 0: `port` */
    int use_backup;             /* D2000 "Use Backup Device"; 0: the backup is ignored */
    pl_redundancy_t redundancy; /* PL_REDUNDANCY_ALTERNATE (default) or _PARALLEL */
    int prefer_primary;         /* parallel: go back to the primary once it has been up
                                   stable_ms */
    int line_number;            /* D2000 "Line number": kept for protocols, pl_line_number() */
    unsigned stable_ms;         /* a connection up this long resets the back-off; 0: max_ms */
    /* A protocol that drives its redundancy itself holds one line per side (IEC 104's
     * parallel mode); `hosts` are then those of this side, and pl_line_active(),
     * pl_line_side_state() and the log say so. PL_LINE_PRIMARY (the default) for every other
     * line; PL_LINE_BACKUP only without a backup of its own (else PL_EINVAL). */
    pl_line_side_t hosts_side;
} pl_line_config_t;

/* Fills `cfg` with defaults (no hosts). */
PL_EXTERN void pl_line_config_init(pl_line_config_t *cfg);

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
    /* Optional (parallel mode with prefer_primary): the stream moved back from the backup
     * to the primary while both were healthy. Anything sent before and not yet answered
     * is lost (its answer, if any, arrives on the standby and is discarded): re-send it.
     * When NULL, the line reports the move as on_down(PL_ECANCELED, "switching back to
     * primary") immediately followed by on_up. Failovers (the active side broke) are
     * always on_down + on_up. */
    void (*on_switch)(pl_line_t *line, void *ud);
} pl_line_cbs_t;

/* Creates a line; copies `cfg` (and the local_addr string). Does not connect yet.
 * Returns 0 or PL_EINVAL / PL_ENOMEM. */
PL_EXTERN int pl_line_new(uv_loop_t *loop, const pl_line_config_t *cfg, const pl_line_cbs_t *cbs,
                          void *ud, pl_line_t **out);

/* Starts connecting (no-op when already started). Attempts go on until pl_line_stop(). */
PL_EXTERN int pl_line_start(pl_line_t *line);

/* Closes any connection and stops retrying. on_down is not called for this close. */
PL_EXTERN void pl_line_stop(pl_line_t *line);

/* Drops the current connection because the protocol found it dead (timeout, garbage);
 * `why` is reported through on_down and kept as the last error; the line then moves on to
 * the next host after the back-off. In parallel mode the active side is dropped and, when
 * the standby is up, on_up follows on it at once (both from a 0 ms timer). No-op when not
 * up. */
PL_EXTERN void pl_line_drop(pl_line_t *line, const pl_status_t *why);

/* Queues `len` bytes (copied) for sending. Returns 0, PL_ECLOSING when not up, PL_ENOBUFS
 * when the pending output would exceed the line's limit (64 KiB). */
PL_EXTERN int pl_line_send(pl_line_t *line, const uint8_t *buf, size_t len);

PL_EXTERN pl_line_state_t pl_line_state(const pl_line_t *line);

/* Index of the host connected to or being tried, in the combined list: primary hosts
 * 0..n-1, then (with a backup device) backup hosts n.. . Parallel mode, not up: the primary
 * side's host. */
PL_EXTERN unsigned pl_line_host_index(const pl_line_t *line);

/* Number of hosts in the combined list (primary + backup in use). */
PL_EXTERN unsigned pl_line_host_count(const pl_line_t *line);

/* The peer of the current connection as "10.0.0.1:12398" / "[::1]:12398", or "" if none. */
PL_EXTERN const char *pl_line_peer(const pl_line_t *line);

/* The last error (connect failure or break); code 0 if none yet. */
PL_EXTERN const pl_status_t *pl_line_last_error(const pl_line_t *line);

/* Counters since creation. */
typedef struct {
    uint64_t connects; /* successful connections */
    uint64_t failures; /* failed attempts + broken connections */
    uint64_t bytes_in, bytes_out;
    /* appended for redundancy */
    uint64_t switchovers;        /* the stream moved to the other side (primary <-> backup) */
    uint64_t last_switch_ms;     /* line clock (uv_now() or cfg.now_ms) then; 0: never */
    int64_t last_switch_wall_ms; /* wall clock (uv_gettimeofday, ms since 1970); 0: never */
    uint64_t standby_bytes;      /* bytes received on the standby connection, discarded */
    uint64_t short_ups;          /* connections broken before stable_ms (back-off not reset) */
    uint64_t sends;              /* pl_line_send() calls that wrote: one write each, whatever
                                    number of messages the bytes hold */
} pl_line_stats_t;
PL_EXTERN const pl_line_stats_t *pl_line_stats(const pl_line_t *line);

/* The connection the protocol talks through: returns its index in the combined host list
 * (see pl_line_host_index), or -1 when the line is not up. `side` and `host` (each may be
 * NULL) get its side and its index in that side's own host list. */
PL_EXTERN int pl_line_active(const pl_line_t *line, pl_line_side_t *side, unsigned *host);

/* Number of switchovers since creation (same as pl_line_stats()->switchovers). */
PL_EXTERN uint64_t pl_line_switchovers(const pl_line_t *line);

/* cfg.line_number (D2000 "Line number"), for protocols that use it. */
PL_EXTERN int pl_line_number(const pl_line_t *line);

/* What one side of the line is doing. */
typedef struct {
    int configured;              /* primary: 1; backup: use_backup and backup hosts given */
    int active;                  /* this side carries the protocol's stream */
    pl_line_state_t state;       /* of this side's connection (alternate mode: IDLE while the one
                                    connection is on the other side's hosts) */
    unsigned host;               /* index in this side's host list: connected, tried, or next */
    unsigned retry_ms;           /* pending back-off delay when state is PL_LINE_BACKOFF, else 0 */
    uint64_t connects;           /* successful connections of this side */
    uint64_t failures;           /* failed attempts + broken connections of this side */
    pl_status_t last_error;      /* code 0 if none yet */
    char peer[PL_LINE_PEER_MAX]; /* connected peer, or "" */
} pl_line_side_info_t;

/* Fills `out` for `side`. Returns 0, or PL_EINVAL (NULL argument, unknown side). */
PL_EXTERN int pl_line_side_state(const pl_line_t *line, pl_line_side_t side,
                                 pl_line_side_info_t *out);

/* Frees the line (closing its connection without on_down). */
PL_EXTERN void pl_line_free(pl_line_t *line);

/* --- Server side -------------------------------------------------------------------- */

/* Simulators (every protocol's) close a partner that has sent nothing for this long, unless
 * their configuration says otherwise: a silent partner cannot hold a `max_conns` slot. */
#define PL_SIM_IDLE_TIMEOUT_MS 60000u

typedef struct pl_listener_s pl_listener_t;
typedef struct pl_conn_s pl_conn_t;

typedef struct {
    const char *addr;          /* "127.0.0.1", "::1", "*", "ALL", "[*]", "[ALL]", a name; NULL:
                                  127.0.0.1 */
    uint16_t port;             /* 0 picks a free port; read it back with pl_listener_port() */
    unsigned max_conns;        /* 0: unlimited; further connections are closed at accept */
    const char *const *allow;  /* NULL or NULL-terminated list of partner addresses allowed */
    size_t max_output;         /* bytes queued per connection before it is closed; 0: 1 MiB */
    unsigned frame_timeout_ms; /* a connection marked mid-frame (pl_conn_partial) this long is
                                  closed with PL_ETIMEOUT; 0: 10000 */
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
PL_EXTERN int pl_listener_new(uv_loop_t *loop, const pl_listener_config_t *cfg,
                              const pl_listener_cbs_t *cbs, void *ud, pl_listener_t **out,
                              pl_status_t *err);
PL_EXTERN uint16_t pl_listener_port(const pl_listener_t *lst);
/* The bound address as text: "127.0.0.1:12398", "[::]:12398". */
PL_EXTERN const char *pl_listener_address(const pl_listener_t *lst);
PL_EXTERN unsigned pl_listener_conn_count(const pl_listener_t *lst);
/* Closes the listening socket and every connection (on_close fires for each). */
PL_EXTERN void pl_listener_free(pl_listener_t *lst);

PL_EXTERN int pl_conn_send(pl_conn_t *conn, const uint8_t *buf, size_t len);
/* Closes the connection; on_close fires later with `why` (NULL: closed locally). */
PL_EXTERN void pl_conn_close(pl_conn_t *conn, const pl_status_t *why);
PL_EXTERN void pl_conn_set_data(pl_conn_t *conn, void *data);
/* The protocol holds an incomplete frame of this connection (`partial` 1) or none (0). A frame
 * begun must be complete within frame_timeout_ms, or the connection is closed with
 * PL_ETIMEOUT: a partner that sends part of a frame and goes silent (slowloris) cannot hold
 * a connection, and a max_conns slot, for ever. */
PL_EXTERN void pl_conn_partial(pl_conn_t *conn, int partial);
PL_EXTERN void *pl_conn_data(const pl_conn_t *conn);
PL_EXTERN const char *pl_conn_peer(const pl_conn_t *conn);

#ifdef __cplusplus
}
#endif

#endif
