/* SPDX-License-Identifier: MIT */
/*
 * Modbus values and the engine's values (pl_value_t), both ways: what the driver decodes
 * from a block and encodes for a write, and what the server serves for an exposed tag.
 * Pure code over caller buffers (it formats a number as text for the codec's parser).
 */
#ifndef PLCLINE_PROTO_MODBUS_VALUE_H
#define PLCLINE_PROTO_MODBUS_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "plcline/engine.h"
#include "proto/modbus/codec/modbus_addr.h"

/* The engine's value of a decoded Modbus value: bits as booleans, integers as integers
 * (an unsigned one above INT64_MAX as a float), floats, strings. */
void pl_modbus_value_to(const pl_modbus_value_t *mv, pl_value_t *out);

/* Stores `v` as element 0 of `a` into `data` (`cap` bytes as they travel, read first for a
 * bit of a register). Returns 0, or PL_EVALUE with `err` naming the value and the range
 * the address accepts. */
int pl_modbus_value_from(const pl_modbus_addr_t *a, pl_modbus_order_t o, const pl_value_t *v,
                         uint8_t *data, size_t cap, pl_status_t *err);

#endif
