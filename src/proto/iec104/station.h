/* SPDX-License-Identifier: MIT */
/*
 * The controlled station's logic, apart from sockets and timers: the point table (parsed
 * from a point spec), the per-connection APCI state (started or not, N(S), N(R), the k and
 * w windows, the deadlines of t1, t2 and t3), the answers to every ASDU the simulator
 * serves, and the redundancy groups with their queues of unconfirmed events.
 *
 * Every entry point takes the time (`now`, milliseconds of a monotonic clock) and produces
 * frames through the io table: what it does depends on the state, the frame and the time
 * only, so a test or a fuzzer drives it without a loop. The caller owns the sockets and
 * one timer: it calls pl_iec104_station_timers() at pl_iec104_station_deadline().
 *
 * It must not do I/O (except reading a points file at creation), print, or read a clock
 * (the wall clock for time tags comes through io->wall_ms). Private to src/proto.
 */
#ifndef PLCLINE_PROTO_IEC104_STATION_H
#define PLCLINE_PROTO_IEC104_STATION_H

#include <stddef.h>
#include <stdint.h>

#include "plcline/iec104.h"
#include "plcline/log.h"

typedef struct pl_iec104_station_s pl_iec104_station_t;
typedef struct pl_iec104_sconn_s pl_iec104_sconn_t;

typedef struct {
    /* Sends one APDU on the connection whose ud is `conn_ud`. */
    void (*send)(void *conn_ud, const uint8_t *buf, size_t len);
    /* Closes it; pl_iec104_station_gone() must follow, but not from inside this call. */
    void (*close)(void *conn_ud, const pl_status_t *why);
    /* The wall clock, Unix milliseconds (time tags, clock synchronisation). */
    int64_t (*wall_ms)(void *ud);
    void *ud;
} pl_iec104_station_io_t;

/* Checks `cfg` and parses its points (the config's listen, delay_ms, close_after and
 * animate_ms are the caller's). `io` is copied. Returns 0, PL_ECONFIG, PL_EIO, PL_ENOMEM;
 * err says why. */
int pl_iec104_station_new(const pl_iec104_server_config_t *cfg, const pl_iec104_station_io_t *io,
                          pl_iec104_station_t **out, pl_status_t *err);

void pl_iec104_station_free(pl_iec104_station_t *st);

/* The counters (the caller may bump connections, frames_in and bad_frames itself). */
pl_iec104_server_stats_t *pl_iec104_station_stats(pl_iec104_station_t *st);

/* A connection from `peer` ("127.0.0.1:50000") was accepted. Returns 0 or PL_ENOMEM /
 * PL_EBUSY (too many groups): close it then. */
int pl_iec104_station_open(pl_iec104_station_t *st, const char *peer, void *conn_ud, uint64_t now,
                           pl_iec104_sconn_t **out);

/* The connection is gone; `c` is freed. */
void pl_iec104_station_gone(pl_iec104_station_t *st, pl_iec104_sconn_t *c);

/* One whole APDU received on `c` (framed by pl_iec104_frame). Returns 0, or <0 when the
 * station closed the connection (io->close was called; nothing more is served on it). */
int pl_iec104_station_input(pl_iec104_station_t *st, pl_iec104_sconn_t *c, const uint8_t *apdu,
                            size_t len, uint64_t now);

/* Runs what is due at `now` on every connection (t1 expiry, t2 acknowledgement, t3 test). */
void pl_iec104_station_timers(pl_iec104_station_t *st, uint64_t now);

/* The earliest time something is due on any connection; UINT64_MAX when nothing is. */
uint64_t pl_iec104_station_deadline(const pl_iec104_station_t *st);

/* One animation step (see pl_iec104_server_step). Returns its event number. */
uint32_t pl_iec104_station_step(pl_iec104_station_t *st, uint64_t now);

/* Point `ioa`: its type and value as a number (a state, a step, bits, a measured value, a
 * counter). 0 or PL_EINVAL. */
int pl_iec104_station_point(const pl_iec104_station_t *st, uint32_t ioa, uint8_t *type,
                            double *value);

/* Sets information object `ioa`'s value (an integer form is truncated to the element's
 * bits; a time-tagged one takes the station's time), sending nothing: the next
 * interrogation or read answers it. Returns 0 or PL_EINVAL when there is no such object. */
int pl_iec104_station_set_point(pl_iec104_station_t *st, uint32_t ioa, double value);

#endif
