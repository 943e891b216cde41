/* SPDX-License-Identifier: MIT */
/*
 * The HTTP side of the daemon: a status page, a JSON API, live updates as Server-Sent
 * Events and Prometheus metrics, served on the engine's own libuv loop by libh2o (its libuv
 * binding: connections are uv_tcp_t handles accepted here). docs/http.md is the contract.
 *
 * Everything shown comes from the engine's status queries (include/plcline/engine.h) and
 * from a summary the daemon supplies; nothing here knows a protocol. Writes go through
 * pl_engine_write() and are answered once with the result object of stdin and MQTT writes.
 *
 * Bounds: connections (over the limit a new one is closed at once), request body, header
 * size (libh2o's), idle time before a request, and a client that stops reading: its
 * connection is shut once its output has not moved for the idle time, so it costs nothing
 * beyond itself. No GET changes state; writes need `writes` and the bearer token.
 *
 * The process must ignore SIGPIPE (as apps/main.c does): a connection shut under a client
 * that stopped reading fails its writes with EPIPE.
 *
 * Threading: the loop thread only. Memory: _new/_free; pl_http_free closes the listener
 * and every connection, and the memory goes once the loop has run their close callbacks.
 */
#ifndef PLCLINE_NORTH_HTTP_H
#define PLCLINE_NORTH_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "north/mqtt.h"
#include "plcline/engine.h"
#include "plcline/log.h"

#define PL_HTTP_CONNS_MAX 64u           /* connections at once */
#define PL_HTTP_BODY_MAX  4096u         /* bytes of a request body (a write) */
#define PL_HTTP_IDLE_MS   30000u        /* no request, or output not moving, this long: closed */
#define PL_HTTP_PAGE_MAX  1000u         /* tags in one answer of /api/tags */
#define PL_HTTP_PUSH_MS   100u          /* live updates: at most 10 a second per client */
#define PL_HTTP_TOKEN_MAX 256u          /* bytes of the bearer token */
#define PL_HTTP_SNDBUF    (64u * 1024u) /* socket send buffer of a connection */

typedef struct pl_http_s pl_http_t;

typedef struct {
    const char *listen;     /* "127.0.0.1:8080", "[::1]:0" (0: a free port) */
    int writes;             /* POST /api/tags/NAME allowed */
    const char *token_file; /* the bearer token (first line of the file); needed for writes */
    unsigned max_conns;     /* 0: PL_HTTP_CONNS_MAX */
    unsigned idle_ms;       /* 0: PL_HTTP_IDLE_MS */
    unsigned counters_ms;   /* event streams' device counters this often; 0: 5000 */
    const pl_logger_t *log; /* may be NULL */
    /* The daemon's summary for GET /api/info (configuration, last reload, simulators): a
     * JSON object, new reference, or NULL. May be NULL. */
    json_t *(*info)(void *ud);
    void *ud;
} pl_http_config_t;

/* Reads the token file, binds and listens. Returns 0, or PL_ECONFIG (listen address,
 * token file missing or empty when writes are on), PL_EIO, PL_ESYS (bind: err->sys holds
 * the libuv code), PL_ENOMEM, with `err` saying what. Nothing is left open on error. */
int pl_http_new(uv_loop_t *loop, const pl_http_config_t *cfg, pl_engine_t *engine, pl_http_t **out,
                pl_status_t *err);

/* The port bound (useful with port 0) and "http://ADDR:PORT/". */
uint16_t pl_http_port(const pl_http_t *h);
const char *pl_http_url(const pl_http_t *h);

/* Connections open now. */
unsigned pl_http_conn_count(const pl_http_t *h);

/* Points the server at a new engine after a reload (NULL while there is none). */
void pl_http_set_engine(pl_http_t *h, pl_engine_t *engine);

/* Adds the MQTT client's counters to /metrics (NULL: none). */
void pl_http_set_mqtt(pl_http_t *h, const pl_mqtt_t *mqtt);

/* Closes the listener and every connection (live streams end); pending writes keep their
 * engine callbacks, which then answer nobody. The memory is released as the loop runs. */
void pl_http_free(pl_http_t *h);

#endif
