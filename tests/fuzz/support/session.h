/* SPDX-License-Identifier: MIT */
/*
 * Harness shared by the fuzz targets that drive a whole client or simulator session
 * (fuzz_*_client.c, fuzz_*_server.c): the fuzz input read as a byte stream of small fields,
 * a raw TCP partner on loopback in the caller's libuv loop (it accepts the client under
 * test, or connects to the simulator under test, and sends and collects raw bytes), loop
 * runs bounded by a deadline, and the heap in use for the "memory bounded" invariant.
 *
 * Everything runs in one process and one loop; no sleeps: the loop is turned until a
 * condition holds. A deadline passed means the session hung: the harness aborts, which
 * libFuzzer reports as a crash with its input. Test code only, never part of the library.
 */
#ifndef PLCLINE_FUZZ_SESSION_H
#define PLCLINE_FUZZ_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Aborts (a finding) unless `cond` holds. */
#define FZ_CHECK(cond) fz_check((cond), #cond, __FILE__, __LINE__)
void fz_check(int ok, const char *what, const char *file, int line);

/* --- the fuzz input as fields ---------------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t n;
} fz_input_t;

/* The next byte, little-endian word; 0 once the input is used up. */
uint8_t fz_u8(fz_input_t *in);
uint16_t fz_u16(fz_input_t *in);
/* Up to `want` bytes: *out points at them; returns how many (fewer at the end). */
size_t fz_take(fz_input_t *in, size_t want, const uint8_t **out);

/* --- heap in use ----------------------------------------------------------------------- */

/* Bytes allocated and not freed, process-wide (the sanitizer's count under ASan, glibc's
 * otherwise). */
size_t fz_heap_bytes(void);

/* --- the raw partner --------------------------------------------------------------------- */

#define FZ_RX_MAX 65536u /* bytes from the other side kept for the target to look at */

typedef struct fz_conn_s fz_conn_t;

typedef struct {
    uv_loop_t *loop;
    uv_tcp_t listener;
    int listening;   /* the listener handle is open */
    fz_conn_t *conn; /* the current connection, NULL when none */
    uint16_t port;   /* the listener's port (fz_peer_listen) */
    unsigned accepts;
    unsigned connects;     /* fz_peer_connect: 1 once connected */
    int eof;               /* the other side closed the current connection */
    uint8_t rx[FZ_RX_MAX]; /* bytes received on the current connection, not yet consumed */
    size_t rx_len;
    int rx_overflow; /* more than FZ_RX_MAX were pending: the oldest were dropped */
    uint64_t rx_total;
    unsigned open_handles; /* handles of this peer not yet closed */
} fz_peer_t;

/* Listens on 127.0.0.1, port picked by the kernel (p->port). A new connection replaces the
 * current one (which is closed). Returns 0 or a libuv error. */
int fz_peer_listen(fz_peer_t *p, uv_loop_t *loop);
/* Stops accepting: connections made after this are refused. */
void fz_peer_stop_listening(fz_peer_t *p);
/* Connects to 127.0.0.1:port and turns the loop until connected. Returns 0 or an error. */
int fz_peer_connect(fz_peer_t *p, uv_loop_t *loop, uint16_t port);
/* Sends bytes on the current connection (copied; nothing without a connection). */
void fz_peer_send(fz_peer_t *p, const uint8_t *buf, size_t len);
/* Half-closes the current connection (the other side reads EOF, we still read). */
void fz_peer_shutdown(fz_peer_t *p);
/* Closes the current connection. */
void fz_peer_drop(fz_peer_t *p);
/* Drops the first `n` received bytes. */
void fz_peer_consume(fz_peer_t *p, size_t n);
/* Closes every handle of the peer; the loop must then be run until they are closed
 * (p->open_handles == 0). */
void fz_peer_close(fz_peer_t *p);

/* --- running the loop ---------------------------------------------------------------------- */

/* Turns the loop until done(arg) is true; aborts when `ms` milliseconds pass first (a
 * hang). done may be NULL: then it runs until the loop has nothing left to do. */
void fz_run_until(uv_loop_t *loop, int (*done)(void *arg), void *arg, unsigned ms);
/* Runs the loop for `ms` milliseconds of its own time (timers of the code under test fire). */
void fz_wait_ms(uv_loop_t *loop, unsigned ms);
/* A few non-blocking turns: lets bytes just written reach the other side and be read. */
void fz_turn(uv_loop_t *loop);
/* Closes the loop; aborts unless every handle was closed. */
void fz_loop_close(uv_loop_t *loop);

#endif
