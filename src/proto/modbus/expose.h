/* SPDX-License-Identifier: MIT */
/*
 * Tags of other devices served by the Modbus server (the daemon's `expose:` list,
 * docs/modbus.md, "Serving other devices' values"): each point is an address of one unit's
 * tables that holds a tag's latest value; reads of it are answered from the table with no
 * request reaching the device behind it; a client's write of a writable point is decoded
 * and handed on, the others are refused with exception 02. The loop thread only.
 */
#ifndef PLCLINE_PROTO_MODBUS_EXPOSE_H
#define PLCLINE_PROTO_MODBUS_EXPOSE_H

#include <stddef.h>

#include "plcline/modbus.h"
#include "proto/registry.h"

typedef struct pl_modbus_expose_s pl_modbus_expose_t;

/* Checks the points against the server keys `keys` (units served, byte_order): each
 * address parses (one element: no ',count'), lies in a table of a served unit (station:
 * the unit; -1: the first served), is writable only in coils or holding registers, and
 * overlaps no other point. With `s` NULL it only checks; else it serves them on `s` from
 * now on (replacing *x, which may be NULL; *x is left alone on error). Returns 0, or
 * PL_EADDR / PL_ECONFIG / PL_ENOMEM with `err` and *bad the index of the point at fault. */
int pl_modbus_expose(pl_modbus_server_t *s, const char *keys, const pl_sim_point_t *pts, size_t n,
                     pl_sim_write_cb on_write, void *ud, pl_modbus_expose_t **x, size_t *bad,
                     pl_status_t *err);

/* Serves `v` at point i. A bad quality keeps the last value served, or, with the server key
 * bad_exception, answers reads touching the point with that exception until a value of
 * good or uncertain quality comes. Returns 0, PL_EINVAL (no such point), or PL_EVALUE with
 * `err` when the value does not fit the address (the point then keeps its last value). */
int pl_modbus_expose_set(pl_modbus_expose_t *x, size_t i, const pl_value_t *v, pl_quality_t q,
                         pl_status_t *err);

/* Stops serving the points (the server's hooks are removed) and frees them. NULL is fine. */
void pl_modbus_expose_free(pl_modbus_expose_t *x);

#endif
