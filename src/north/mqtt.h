/* SPDX-License-Identifier: MIT */
/*
 * MQTT northbound (libmosquitto, MQTT 5): tag changes published as retained JSON, device and
 * instance status topics, writes taken from `<prefix>/<line>/<device>/<tag>/set` and
 * answered on `.../result` (or the MQTT 5 response topic). docs/mqtt.md has the contract.
 *
 * The broker connection lives on the caller's libuv loop and never blocks it: the broker's
 * name is resolved with uv_getaddrinfo, libmosquitto connects asynchronously to the numeric
 * address, its socket is watched with a uv_poll_t and its housekeeping (keep-alive) runs
 * from a uv_timer_t. No libmosquitto thread, no loop_forever. Reconnection uses exponential
 * back-off with jitter, reset by a successful CONNACK.
 *
 * While the broker is away (or the socket is backed up), at most ONE pending message per
 * topic is kept: the latest; older ones are counted as coalesced. On every (re)connect the
 * device statuses, the current state of every tag that has been read and the pending
 * messages are published (each tag once), so a broker that restarted empty gets the whole
 * picture back. Publishing is paced: at most opts.max_per_turn messages per loop turn,
 * the rest waits in the same table, so the engine's I/O always gets the loop.
 *
 * Threading: the loop thread only. Memory: _new/_free; the module copies the configuration.
 * It never prints; it logs through the caller's logger.
 */
#ifndef PLCLINE_NORTH_MQTT_H
#define PLCLINE_NORTH_MQTT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "engine/config.h"
#include "plcline/engine.h"
#include "plcline/log.h"

typedef struct pl_mqtt_s pl_mqtt_t;

/* Tuning; pl_mqtt_opts_init() gives the defaults. Pass NULL to pl_mqtt_new for them. */
typedef struct {
    unsigned backoff_min_ms;     /* first reconnect delay; default 500 */
    unsigned backoff_max_ms;     /* largest reconnect delay; default 30000 */
    unsigned connect_timeout_ms; /* TCP + CONNACK; default 10000 */
    unsigned close_timeout_ms;   /* pl_mqtt_free waits this long for the "offline"
                                    message and DISCONNECT to leave; default 1000 */
    size_t max_pending;          /* distinct topics waiting; default 1000000 (the most
                                    tags a configuration may have) plus devices */
    unsigned max_inflight;       /* QoS 1/2 messages unacknowledged before new values are
                                    held back (and coalesced); default 1000 */
    unsigned max_per_turn;       /* messages published per loop turn, at most (and 64 KiB);
                                    the rest waits, coalesced; default 256 */
    uint32_t seed;               /* back-off jitter; 0: seeded from the clock */
} pl_mqtt_opts_t;

/* Counters; read with pl_mqtt_stats(). */
typedef struct {
    uint64_t published;        /* tag values handed to the broker connection */
    uint64_t coalesced;        /* values replaced by a newer one of the same tag while waiting */
    uint64_t dropped;          /* values lost: pending table full, or a payload not formatted */
    uint64_t pending;          /* messages waiting now (at most one per topic) */
    uint64_t pending_peak;     /* highest `pending` seen */
    uint64_t writes_ok;        /* write requests answered "ok" */
    uint64_t writes_failed;    /* write requests answered "error" (refused or failed) */
    uint64_t connects;         /* successful CONNACKs */
    uint64_t reconnects;       /* successful CONNACKs after the first */
    uint64_t connect_failures; /* attempts that did not reach CONNACK */
    int connected;             /* 1 while a CONNACK-ed session is up */
} pl_mqtt_stats_t;

/* Fills `o` with the defaults. */
void pl_mqtt_opts_init(pl_mqtt_opts_t *o);

/* Creates the MQTT client for `def` (def->mqtt need not be set; host, port, client id,
 * credentials, prefix, TLS files, keep-alive and QoS are used) and starts connecting at
 * once (resolution first). `engine` (may be NULL, then writes are refused with
 * PL_ESTOPPED) is the engine writes go to and whose tags are republished on connect.
 * `log` (may be NULL) must outlive the client; `opts` may be NULL. An empty client id is
 * replaced by "plcline-<hostname>-<pid>".
 *
 * Returns 0 with *out set, or PL_ENOMEM / PL_ECONFIG (TLS files refused by libmosquitto,
 * bad QoS, prefix with '+' or '#') / PL_EINVAL with `err` (may be NULL) saying why. A
 * broker that cannot be reached is not an error here: the client keeps retrying. */
int pl_mqtt_new(uv_loop_t *loop, const pl_north_def_t *def, pl_engine_t *engine,
                const pl_logger_t *log, const pl_mqtt_opts_t *opts, pl_mqtt_t **out,
                pl_status_t *err);

/* Publishes a tag state (call it from the engine's on_change) on
 * `<prefix>/<line>/<device>/<tag>`, retained, as
 *   {"value":V,"quality":"good","error":null,"ts":"2026-11-22T05:40:00.123Z"}
 * Nothing is kept from `st` after the call. Never blocks: while the broker is away or the
 * connection is backed up, the value waits (replacing an older waiting one of that tag). */
void pl_mqtt_publish_state(pl_mqtt_t *m, const pl_tag_state_t *st);

/* Publishes a device's connection state (call it from the engine's on_device) on
 * `<prefix>/<line>/<device>/status`, retained, as {"connected":true,"error":null,"ts":..}
 * (status NULL: connected) or {"connected":false,"error":{code,name,message,detail},..}.
 * `line` may be NULL: it is then looked up among the engine's tags (a device without tags
 * has no line to publish under and is skipped). The last status of each device is
 * republished on every reconnect. */
void pl_mqtt_device_state(pl_mqtt_t *m, const char *line, const char *device,
                          const pl_status_t *status);

/* Points writes and the reconnect republication at `engine` (after a reload, or NULL while
 * no configuration runs). Writes already handed to the old engine are still answered. */
void pl_mqtt_set_engine(pl_mqtt_t *m, pl_engine_t *engine);

/* Publishes "offline" (retained) on the status topic, disconnects cleanly and releases
 * everything. The memory goes once the loop has run the handles' close callbacks (at most
 * opts.close_timeout_ms later): keep running the loop, as with the engine. Writes still
 * waiting in an engine are answered to nobody (stop the engine first to avoid that). NULL
 * is allowed. */
void pl_mqtt_free(pl_mqtt_t *m);

/* The counters; valid until pl_mqtt_free. */
const pl_mqtt_stats_t *pl_mqtt_stats(const pl_mqtt_t *m);

/* Formats a tag state as the payload above into buf. Returns the length (no NUL counted,
 * buf NUL-terminated) or PL_ENOBUFS / PL_ENOMEM. Exposed for tests and benchmarks. */
int pl_mqtt_format_state(const pl_tag_state_t *st, char *buf, size_t cap);

#endif
