/* SPDX-License-Identifier: MIT */
/*
 * The one list of protocols. X(name) stands for the folder src/proto/<name>/, which defines
 * the descriptor `pl_protocol_<name>` (<name>_protocol.c, in the library) and the command's
 * part `cli_proto_<name>` (cli_<name>.c, in the command only). The registry's table
 * (registry.c) and the command's (cli_protocols.c) are both made from this list, in this
 * order, so the library never refers to the command's code. Nothing else lists protocols.
 */
#ifndef PLCLINE_PROTO_PROTOCOLS_H
#define PLCLINE_PROTO_PROTOCOLS_H

#define PL_PROTOCOLS(X) \
    X(ttcp)             \
    X(pccc)             \
    X(modbus)           \
    X(iec104)

#endif
