/* SPDX-License-Identifier: MIT */
/*
 * Fault-injection helpers for the integration tests (tests/integration/test_faults_*.c):
 * running a loop until a condition holds under a guard timer, dripping bytes one per timer
 * tick, raw TCP partners that misbehave towards a server (slow writers, non-readers, storms
 * of abandoned connections), and counting the process's open descriptors.
 *
 * Test code only: never linked into the library. Everything runs on the caller's loop; no
 * helper sleeps or blocks, and every handle a helper opens is closed before the helper
 * reports itself finished, so a test can end with uv_loop_close() == 0.
 */
#ifndef PLCLINE_TESTS_FAULTS_H
#define PLCLINE_TESTS_FAULTS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Runs `loop` until *flag is nonzero. Returns 0, or -1 when `ms` passed first. */
int fault_run_until(uv_loop_t *loop, const int *flag, unsigned ms);

/* Runs `loop` until *counter >= want. Returns 0, or -1 when `ms` passed first. */
int fault_run_count(uv_loop_t *loop, const int *counter, int want, unsigned ms);

/* Runs `loop` until pred(ctx) returns nonzero (checked before every loop turn). Returns 0,
 * or -1 when `ms` passed first. */
int fault_run_pred(uv_loop_t *loop, int (*pred)(void *ctx), void *ctx, unsigned ms);

/* Runs `loop` for `ms` milliseconds of loop time (a timer, not a sleep). */
void fault_run_for(uv_loop_t *loop, unsigned ms);

/* Watchdog against hangs the loop's own guard timers cannot catch (a callback that never
 * returns, a timer re-armed at 0 ms forever): after `seconds` the process writes "HANG:
 * <what>" to stderr and exits with status 124. 0 disarms it. `what` must stay valid. */
void fault_watchdog(unsigned seconds, const char *what);

/* Open file descriptors of this process (entries of /proc/self/fd), or -1. */
int fault_fd_count(void);

/* A loopback port nothing listens on: bound to port 0, read back, closed. Returns 0 or <0. */
int fault_free_port(uv_loop_t *loop, uint16_t *port);

/* --- drip: bytes one at a time, one per timer tick ------------------------------------- */

/* Where the drip sends each byte; returns 0 or <0 (the drip then stops). */
typedef int (*fault_sink_fn)(void *ctx, const uint8_t *buf, size_t len);

typedef struct {
    uv_timer_t timer;
    fault_sink_fn sink;
    void *ctx;
    uint8_t buf[2048];
    size_t len, off;
    int done;    /* every byte went out (or the sink failed) */
    int failed;  /* the sink refused a byte */
    int closed;  /* the timer handle is closed: the struct may be reused or freed */
    int started; /* the timer was initialised */
} fault_drip_t;

/* Starts sending buf[0..len) (copied, len <= 2048) one byte every `interval_ms` (0: one byte
 * per loop turn, from a 0 ms timer). A finished drip may be started again with new bytes.
 * Returns 0 or -1. */
int fault_drip_start(uv_loop_t *loop, fault_drip_t *d, const uint8_t *buf, size_t len,
                     unsigned interval_ms, fault_sink_fn sink, void *ctx);

/* Stops the drip (it sends nothing more) and closes its timer; d->closed is set later. */
void fault_drip_stop(fault_drip_t *d);

/* --- a raw TCP partner ----------------------------------------------------------------- */

typedef struct {
    uv_loop_t *loop;
    uv_tcp_t tcp;
    uv_connect_t creq;
    fault_drip_t drip;
    int connected;  /* connect finished; status in `error` when it failed */
    int error;      /* first libuv error seen (connect, write, read other than EOF) */
    int eof;        /* the peer closed (read returned UV_EOF or an error) */
    int closed;     /* the tcp handle closed */
    int writes_ok;  /* uv_write requests completed without error */
    int reading;    /* uv_read_start() was called */
    size_t pending; /* bytes in uv_write requests not yet completed */
    uint8_t rx[8192];
    size_t rx_len;     /* bytes kept (at most sizeof rx) */
    uint64_t rx_total; /* bytes received */
    int closing;
} fault_raw_t;

/* Connects to 127.0.0.1:port; with `read` the partner reads (and keeps) what comes back,
 * else it never reads. Returns 0 or <0 (libuv error). */
int fault_raw_connect(uv_loop_t *loop, fault_raw_t *r, uint16_t port, int read);

/* Writes buf[0..len) (copied). Returns 0 or <0. */
int fault_raw_write(fault_raw_t *r, const uint8_t *buf, size_t len);

/* Sends buf[0..len) one byte every `interval_ms` (fault_drip_start on the connection). */
int fault_raw_drip(fault_raw_t *r, const uint8_t *buf, size_t len, unsigned interval_ms);

/* Stops reading (what arrives afterwards stays in the kernel buffers). */
void fault_raw_stop_reading(fault_raw_t *r);

/* Closes the connection: `reset` aborts it with a RST, else an orderly close. r->closed
 * (and r->drip.closed when a drip ran) are set once every handle is closed. */
void fault_raw_close(fault_raw_t *r, int reset);

/* 1 once every handle of `r` is closed (or none was ever opened). */
int fault_raw_done(const fault_raw_t *r);

/* --- a storm of abandoned connections -------------------------------------------------- */

typedef struct fault_storm_s fault_storm_t;

/* Opens `total` connections to 127.0.0.1:port, at most `batch` at once. Each connection of a
 * batch sends prefix[0..prefix_len) (may be 0 bytes) once connected; when every connection
 * of the batch is connected and *accepted (a counter the caller keeps, e.g. the server's
 * connection statistics; NULL: not waited for) has reached the number opened so far, the
 * whole batch is closed abruptly (RST) and the next batch starts. Returns 0 or -1. */
int fault_storm_start(uv_loop_t *loop, fault_storm_t **out, uint16_t port, unsigned total,
                      unsigned batch, const uint8_t *prefix, size_t prefix_len,
                      const uint64_t *accepted, uint64_t accepted_base);

/* 1 when every connection was opened and closed (and every handle is closed). */
int fault_storm_done(const fault_storm_t *s);

/* Connections that connected / failed to connect. */
unsigned fault_storm_connected(const fault_storm_t *s);
unsigned fault_storm_failed(const fault_storm_t *s);

/* Frees a finished storm (fault_storm_done() == 1). */
void fault_storm_free(fault_storm_t *s);

/* --- conditions for fault_run_pred() --------------------------------------------------- */

int fault_pred_raw_eof(void *raw);      /* a fault_raw_t saw the peer close */
int fault_pred_raw_done(void *raw);     /* fault_raw_done() */
int fault_pred_storm_done(void *storm); /* fault_storm_done() */
int fault_pred_fds_are(void *n);        /* fault_fd_count() == *(const int *)n */

/* --- a partner that writes and never reads --------------------------------------------- */

typedef struct {
    fault_raw_t *raw;
    const uint8_t *chunk; /* written again and again */
    size_t chunk_len;
    unsigned writes, max_writes;
    int (*stop)(void *ctx); /* the server dropped the partner */
    void *ctx;
} fault_flood_t;

/* A condition for fault_run_pred(): 1 once stop(ctx); else tops the partner's queued output
 * up to 64 KiB with chunk (at most max_writes writes in all) and returns 0. */
int fault_flood_step(void *flood);

#endif
