/* SPDX-License-Identifier: MIT */
/*
 * The IEC 60870-5-104 engine driver's conversion of a received information object into
 * the value and quality the engine publishes (drv_iec104.c), apart so that it is tested on
 * its own (tests/unit/test_iec104_quality.c). No I/O, no allocation, no clock.
 */
#ifndef PLCLINE_PROTO_IEC104_DRV_IEC104_H
#define PLCLINE_PROTO_IEC104_DRV_IEC104_H

#include "proto/driver.h"
#include "plcline/iec104_client.h"

/* `p` as the engine takes it: the value (single points as booleans, normalized and float
 * values as floats, every other type as an integer) and its meta data: IV makes it bad
 * (PL_EVALUE, detail in static storage), NT uncertain, SB, BL and OV are kept as flags (IV
 * and NT too); the CP56Time2a is the source time unless its IV bit says the time is invalid
 * or it is out of the calendar's range (then no source time); SU is taken as the device
 * sent it (the fields are not moved by an hour). */
void pl_iec104_drv_convert(const pl_iec104_point_t *p, pl_value_t *v, pl_drv_meta_t *meta);

#endif
