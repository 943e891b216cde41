/* SPDX-License-Identifier: MIT */
/*
 * The IEC 60870-5-104 part of the plcline command. 'serve' needs nothing here (the
 * descriptor's simulator hooks); 'read', 'write' and 'bench' are not written yet, so the
 * command says that it does not speak the protocol for them.
 */
#include "cli.h"

extern const pl_protocol_t pl_protocol_iec104;

const cli_proto_t cli_proto_iec104 = {
    .protocol = &pl_protocol_iec104,
    .read = NULL,
    .write = NULL,
    .write_notes = NULL,
    .bench = NULL,
};
