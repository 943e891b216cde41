/* SPDX-License-Identifier: MIT */
/*
 * The Modbus server's request handling without its connections, for the fuzz target and
 * the tests that replay frames split at every byte: one whole ADU in, the answer ADU out,
 * against the server's tables; and the hooks that serve the daemon's exposed tags.
 * Private to src/proto and the tests; the loop thread only.
 */
#ifndef PLCLINE_PROTO_MODBUS_SERVER_H
#define PLCLINE_PROTO_MODBUS_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "plcline/modbus.h"

/* Serves one whole ADU of `len` bytes (as pl_modbus_frame cut it) as a connection of `s`
 * would, stats and on_write included. Returns the answer's length in out[0..cap), 0 when
 * the request gets no answer (unit not served, ignored), or <0 when the bytes are not one
 * ADU (PL_EMODBUS_PROTOCOL, PL_EMODBUS_LENGTH: a connection is closed for that) or cap is
 * below PL_MODBUS_MAX_ADU (PL_ENOBUFS). */
int pl_modbus_server_serve_adu(pl_modbus_server_t *s, const uint8_t *adu, size_t len, uint8_t *out,
                               size_t cap);

/* Asked before a request touches elements first..first+count-1 of `table` of `unit`
 * (`write` 1 for the elements it would change): 0 lets it go on, any other value is the
 * exception it is answered with instead. */
typedef uint8_t (*pl_modbus_server_access_cb)(void *ud, uint8_t unit, pl_modbus_table_id_t table,
                                              uint16_t first, unsigned count, int write);

/* Sets (or, with NULL, removes) the access check and the write callback of a running
 * server, for the daemon's exposed tags (src/proto/modbus/expose.c): `on_write` and `ud`
 * replace those of the configuration. */
void pl_modbus_server_hooks(pl_modbus_server_t *s, pl_modbus_server_access_cb access,
                            pl_modbus_server_write_cb on_write, void *ud);

#endif
