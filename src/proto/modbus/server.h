/* SPDX-License-Identifier: MIT */
/*
 * The Modbus server's request handling without its connections, for the fuzz target and
 * the tests that replay frames split at every byte: one whole ADU in, the answer ADU out,
 * against the server's tables. Private to src/proto and the tests; the loop thread only.
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

#endif
