/* SPDX-License-Identifier: MIT */
/*
 * Serving values to other systems (docs/config.md, "Serving values to other systems"): the
 * daemon's simulators that have an `expose:` list serve the engine's tags to their clients,
 * as D2000's server lines serve the SCADA's values. Each change of an
 * exposed tag is handed to its simulators through the protocol's descriptor
 * (sim_expose_set); a client's write of a writable point becomes an engine write of the
 * tag, answered exactly once by the engine: a failed one is logged (rate-limited) and the
 * point goes back to the tag's value. No protocol is named here.
 */
#ifndef PLCLINE_NORTH_EXPOSE_H
#define PLCLINE_NORTH_EXPOSE_H

#include <stddef.h>
#include <uv.h>

#include "engine/config.h"
#include "plcline/engine.h"
#include "proto/registry.h"

typedef struct pl_expose_s pl_expose_t;

/* A simulator of the configuration as the daemon runs it. */
typedef struct {
    const pl_protocol_t *proto;
    void *server; /* NULL: not running (plcline run --check) */
} pl_expose_sim_t;

/* Checks every `expose:` entry of `cfg` with its simulator's protocol (a protocol whose
 * simulator cannot serve values is an error) and, with `e`, serves the engine's tags
 * through the running simulators `sims` (cfg->nsims of them) from now on, each with its
 * tag's current value. A running simulator that serves values gets its list even when
 * empty, so a reload that removes every entry takes the old ones off. Returns 0 with *out
 * (NULL when `e` is NULL), or PL_ECONFIG / PL_EADDR / PL_ENOMEM with `err`, whose detail
 * reads "FILE:LINE:COL: simulator 'S' exposes tag 'T': why", whole in `msg` (msg_len bytes,
 * may be 0) and cut to fit in `err`. */
int pl_expose_new(uv_loop_t *loop, pl_engine_t *e, const pl_config_t *cfg,
                  const pl_expose_sim_t *sims, const pl_logger_t *log, pl_expose_t **out,
                  pl_status_t *err, char *msg, size_t msg_len);

/* A tag changed in the engine: its exposed points serve the new state. */
void pl_expose_change(pl_expose_t *x, const pl_tag_state_t *st);

/* Points served so far, writes handed on, writes that failed (for tests and statistics). */
typedef struct {
    size_t points;
    uint64_t sets, set_errors, writes, write_errors;
} pl_expose_stats_t;
const pl_expose_stats_t *pl_expose_stats(const pl_expose_t *x);

/* Stops serving: the simulators (still running) drop their points; writes the engine has
 * not answered yet are answered into the void. NULL is fine. */
void pl_expose_free(pl_expose_t *x);

#endif
