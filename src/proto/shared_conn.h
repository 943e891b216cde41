/* SPDX-License-Identifier: MIT */
/*
 * Shared connections: one protocol connection used by several engine devices, such as the
 * units behind one Modbus gateway, which accepts few connections and expects all its units
 * over one. Any driver may use it; the engine does not know of it.
 *
 * An entry is a protocol's connection object found by a key the driver chooses (the bytes
 * of the line's definition, so that devices of one line meet on one connection and, across
 * a configuration reload, the devices of an unchanged line find the running connection).
 * Entries are per loop and per owner (the driver): a driver never finds another driver's
 * connection, a loop never finds another loop's. Each device joins as a member: the
 * connection lives while it has members and is closed (the `close` given at _new) when the
 * last one leaves. The link callback of the connection goes to every member through
 * pl_shared_conn_link(); a member may leave, or another join, from inside its link callback.
 *
 * What this does not do: share requests, queues or request memory; a driver keeps each
 * device's requests its own, so that a device can leave while others keep the connection.
 *
 * Threading: the registry is safe to use from several loops in several threads; an entry
 * and its members are used on their loop's thread only. Memory: the module owns entries
 * (_new, freed when the last member leaves); the caller owns members.
 */
#ifndef PLCLINE_PROTO_SHARED_CONN_H
#define PLCLINE_PROTO_SHARED_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "plcline/error.h"
#include "plcline/log.h"

#define PL_SHARED_KEY_MAX 8192u /* bytes of a key */

typedef struct pl_shared_conn_s pl_shared_conn_t;

/* A device on a shared connection. `link` is called with NULL when the connection went up
 * and with the reason when it went down. */
typedef struct pl_shared_member_s pl_shared_member_t;
struct pl_shared_member_s {
    void (*link)(pl_shared_member_t *m, const pl_status_t *st);
    void *data; /* the caller's */
    /* private */
    pl_shared_member_t *next_, *prev_;
};

/* The entry of `owner` on `loop` whose key is `key[0..len)`, or NULL. */
pl_shared_conn_t *pl_shared_conn_find(uv_loop_t *loop, const void *owner, const void *key,
                                      size_t len);

/* Registers `conn` under the key with no member yet (join one at once); `close(conn)` runs
 * when the last member leaves (after the entry left the registry, so it may not find it
 * again). Returns 0, PL_EINVAL (key empty or longer than PL_SHARED_KEY_MAX) or
 * PL_ENOMEM. */
int pl_shared_conn_new(uv_loop_t *loop, const void *owner, const void *key, size_t len, void *conn,
                       void (*close)(void *conn), pl_shared_conn_t **out);

/* The protocol's connection object. */
void *pl_shared_conn_get(const pl_shared_conn_t *s);

/* Adds `m` (not a member of anything) to the connection. */
void pl_shared_conn_join(pl_shared_conn_t *s, pl_shared_member_t *m);

/* Removes `m`; the last one closes the connection (at once, or when a link report that is
 * running returns). `s` must not be used after the last member left. */
void pl_shared_conn_leave(pl_shared_conn_t *s, pl_shared_member_t *m);

/* Members now. */
unsigned pl_shared_conn_members(const pl_shared_conn_t *s);

/* The connection went up (NULL) or down: tells every member, and remembers it. */
void pl_shared_conn_link(pl_shared_conn_t *s, const pl_status_t *st);

/* 1 when the last report was "up". */
int pl_shared_conn_is_up(const pl_shared_conn_t *s);

#endif
