/* SPDX-License-Identifier: MIT */
/*
 * Drivers: what the scan engine needs from a protocol, behind a small vtable, so the
 * engine never knows one protocol from another. The contract lives here, in the protocol
 * layer, so that protocols implement it without looking up at the engine; the engine
 * (one layer up) calls it. A protocol's descriptor (src/proto/registry.h) points at its
 * driver; pl_value_text, the one helper drivers share, is in src/proto/value.c.
 *
 * A driver device talks to one device address (a node, a processor, a unit) over a
 * protocol client: its own connection, or one its driver shares between the devices of a
 * line (src/proto/shared_conn.h; Modbus units behind a gateway). Either way the engine
 * sees one driver device per device: a shared connection's link reports reach every
 * device on it, `line` returns the same pl_line_t for each (the engine counts its bytes
 * once per line), and dev_free of one device leaves the connection to the others, its
 * requests answered before it returns as always. The engine plans reads in "units" of an
 * "area" (words of a node, area 0; or elements of one data file, area = file type and
 * number) and hands the driver request storage of `req_size` bytes that it owns until the
 * completion callback has run. Every read and write submitted with a 0 return completes
 * exactly once.
 */
#ifndef PLCLINE_PROTO_DRIVER_H
#define PLCLINE_PROTO_DRIVER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "proto/plan_limits.h"
#include "plcline/engine.h"

typedef struct pl_drv_dev_s pl_drv_dev_t;

/* A tag address as the engine sees it. */
typedef struct {
    uint32_t area, start, len; /* the planner's range, in units */
    uint8_t raw[32];           /* the driver's parsed address (each driver asserts it fits) */
} pl_drv_addr_t;

typedef void (*pl_drv_cb)(void *ctx, const pl_status_t *st);
typedef void (*pl_drv_link_cb)(void *ud, const pl_status_t *st); /* NULL st: up */

/* --- event-driven devices: values the device sends by itself ---------------------------
 * A driver with a `subscribe` operation serves event-driven devices: the engine never reads
 * their tags (they have no scan class and no planned blocks) and instead hands the driver
 * every tag's parsed address once; the driver delivers a value whenever the device sends
 * one, naming the tag by the address pointer it was given.
 *
 * The contract of `push`: it runs on the loop thread, never from inside an engine call into
 * the driver (not from read, write, dev_free, subscribe), and returns only after the engine
 * has taken the value: copied it into the tag and told its listeners (on_change). A driver
 * therefore acknowledges data to its peer only after `push` has returned for every value
 * of that data, so that a crash never acknowledges a value that was not delivered. A push for an
 * address the engine did not hand over, or after the engine stopped, is ignored. The link callback
 * works as for polled devices; on a link down every tag of an event-driven device turns bad (and
 * good again with its next value). */

/* Quality flags kept with a pushed value (pl_tag_state_t.flags, PL_QF_*). */
typedef struct {
    uint64_t source_ms;   /* the device's timestamp of the value (ms since the epoch); 0: none */
    pl_quality_t quality; /* PL_Q_GOOD; PL_Q_UNCERTAIN (e.g. not topical); PL_Q_BAD (invalid) */
    unsigned flags;       /* PL_QF_* the device set */
    int error;            /* PL_Q_BAD: the PL_E* code; 0 gives PL_EVALUE */
    const char *detail;   /* PL_Q_BAD: why, in static storage (the tag points at it); NULL: "" */
} pl_drv_meta_t;

/* Delivers the raw value of the tag whose parsed address is `a` (a pointer the engine gave
 * in subscribe; the value is of the kind decode would produce: the engine scales it). */
typedef void (*pl_drv_push_cb)(void *ud, const pl_drv_addr_t *a, const pl_value_t *raw,
                               const pl_drv_meta_t *meta);

typedef struct {
    const char *name;
    size_t unit_bytes; /* bytes a unit takes in a read buffer */
    size_t req_size;   /* request storage the driver needs per read or write */

    int (*dev_new)(uv_loop_t *loop, const pl_line_def_t *line, const pl_device_def_t *dev,
                   const pl_logger_t *log, pl_drv_link_cb link, void *ud, pl_drv_dev_t **out,
                   pl_status_t *err);
    /* Fails outstanding requests (callbacks run before it returns), closes, frees. */
    void (*dev_free)(pl_drv_dev_t *d);
    int (*dev_start)(pl_drv_dev_t *d);
    void (*limits)(pl_drv_dev_t *d, pl_plan_limits_t *lim); /* max_len; max_gap untouched */
    unsigned (*max_inflight)(pl_drv_dev_t *d);
    /* Parses a tag's address; checks the tag's options (e.g. swap) too. */
    int (*addr_parse)(pl_drv_dev_t *d, const pl_tag_def_t *tag, pl_drv_addr_t *out,
                      pl_status_t *err);
    /* Reads units [start, start+len) of `area` into `buf` (len * unit_bytes bytes). */
    int (*read)(pl_drv_dev_t *d, void *req, uint32_t area, uint32_t start, uint32_t len, void *buf,
                pl_drv_cb cb, void *ctx);
    /* Decodes a tag's raw value from a block buffer that starts at unit `block_start`. */
    void (*decode)(const pl_drv_addr_t *a, const pl_tag_def_t *tag, const void *buf,
                   uint32_t block_start, pl_value_t *out);
    /* Checks that a raw value fits the tag's address, without I/O. Returns 0 or PL_EVALUE
     * with `err` naming the value and the accepted range. */
    int (*check)(const pl_drv_addr_t *a, const pl_tag_def_t *tag, const pl_value_t *v,
                 pl_status_t *err);
    /* Writes a raw value (already unscaled, of the kind decode produces) to the tag.
     * Returns 0 (cb will run) or a synchronous error: PL_EVALUE with `err` when the value
     * does not fit the address. */
    int (*write)(pl_drv_dev_t *d, void *req, const pl_drv_addr_t *a, const pl_tag_def_t *tag,
                 const pl_value_t *v, pl_drv_cb cb, void *ctx, pl_status_t *err);
    /* Points the device's link callback at a new `ud` (the engine hands a connection over to
     * a reloaded configuration). */
    void (*rebind)(pl_drv_dev_t *d, void *ud);
    /* Adds the client's counters (requests, responses, timeouts, unsolicited frames,
     * last_rtt_us) to `acc`; the engine adds the line's (bytes, reconnects, switchovers)
     * itself, through `line`. */
    void (*stats)(const pl_drv_dev_t *d, pl_engine_stats_t *acc);
    /* The device's line (host list, redundancy, state), for status queries and the line
     * counters of `stats`; may be NULL (a driver with no line of its own). */
    const pl_line_t *(*line)(const pl_drv_dev_t *d);
    /* Event-driven devices (see above); NULL: a polled driver, whose devices are read by
     * scan class (read and decode are then required, and limits is asked for block sizes).
     * Hands over the `n` parsed addresses of the device's tags (pointers valid until the
     * next subscribe or dev_free) and the callback for their values; replaces an earlier
     * subscription (a reload hands the connection to a new engine with new tags). Called
     * before dev_start and again after rebind. Returns 0 or PL_E* with `err`. */
    int (*subscribe)(pl_drv_dev_t *d, const pl_drv_addr_t *const *addrs, size_t n,
                     pl_drv_push_cb push, void *ud, pl_status_t *err);
    /* May be NULL. The engine brackets the requests it hands over at once (a scan of the
     * device) with batch(d, 1) ... batch(d, 0): a driver with several requests in flight may
     * send them together at the end (one write instead of one per request). Calls nest. */
    void (*batch)(pl_drv_dev_t *d, int begin);
} pl_driver_t;

/* A value as text for an address grammar's own parser (which then range-checks it): integers
 * in decimal, floats with 9 significant digits when `is_float`, else only when integral
 * (PL_EVALUE "1.5 is not an integer"), strings as they are. Returns 0 or PL_EVALUE. */
int pl_value_text(const pl_value_t *v, int is_float, char *buf, size_t cap, pl_status_t *err);

#endif
