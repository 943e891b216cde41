/* SPDX-License-Identifier: MIT */
/*
 * plcline error model.
 *
 * Every fallible call returns an int: 0 on success, a documented positive count, or a
 * negative PL_E* code. One X-macro table (PL_ERRNO_MAP) generates the enum, pl_strerror()
 * and pl_err_name(), so a code, its number, its name and its message can never disagree.
 *
 * Codes are append-only: a published number never changes meaning.
 *
 * Transport failures (socket, bind, connect, send, receive, queue full, too long, timeout)
 * have neutral codes (0x0030-0x0038: PL_ECONNECT, PL_ETIMEOUT, ...) that every protocol
 * reports. The IGSS 7TTCP manual's codes (0x4001-0x4009, 0x5501) are first-class codes too
 * and keep their manual names (including the manual's own spelling, e.g. 0x4001 and 0x4002
 * are both named _7TTCP_BIND_SOCKET_FAILED in the manual; the number tells them apart): the
 * 7TTCP client presents its own failures with them (PL_E_7TTCP_CONNECT for PL_ECONNECT...),
 * as the manual documents them.
 *
 * Remote status (a PLC's own error answer, e.g. PCCC STS) is not in this table; protocols
 * report it separately so that it stays readable and distinct from local errors.
 */
#ifndef PLCLINE_ERROR_H
#define PLCLINE_ERROR_H

#include "plcline/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* XX(enum suffix, positive number, name shown to users, message) */
#define PL_ERRNO_MAP(XX)                                                                           \
    XX(INVAL, 0x0001, "PL_EINVAL", "invalid argument")                                             \
    XX(NOMEM, 0x0002, "PL_ENOMEM", "out of memory")                                                \
    XX(NOBUFS, 0x0003, "PL_ENOBUFS", "buffer too small")                                           \
    XX(AGAIN, 0x0004, "PL_EAGAIN", "incomplete input, more bytes needed")                          \
    XX(CANCELED, 0x0005, "PL_ECANCELED", "operation canceled")                                     \
    XX(CLOSING, 0x0006, "PL_ECLOSING", "handle is closing")                                        \
    XX(BUSY, 0x0007, "PL_EBUSY", "resource busy")                                                  \
    XX(PROTO, 0x0008, "PL_EPROTO", "protocol error")                                               \
    XX(SYS, 0x0009, "PL_ESYS", "system call failed")                                               \
    XX(RESOLVE, 0x000A, "PL_ERESOLVE", "host name could not be resolved")                          \
    XX(URL, 0x000B, "PL_EURL", "malformed device URL")                                             \
    XX(ADDR, 0x000C, "PL_EADDR", "malformed data address")                                         \
    XX(RANGE, 0x000D, "PL_ERANGE", "value out of range")                                           \
    XX(NOTSUP, 0x000E, "PL_ENOTSUP", "not supported")                                              \
    XX(CONFIG, 0x000F, "PL_ECONFIG", "configuration error")                                        \
    XX(VALUE, 0x0010, "PL_EVALUE", "malformed value")                                              \
    XX(IO, 0x0011, "PL_EIO", "file input/output failed")                                           \
    XX(TTCP_SHORT, 0x0101, "PL_ETTCP_SHORT", "7TTCP length field smaller than the header")         \
    XX(TTCP_LENGTH, 0x0102, "PL_ETTCP_LENGTH", "7TTCP length field disagrees with word count")     \
    XX(TTCP_OPCODE, 0x0103, "PL_ETTCP_OPCODE", "7TTCP unknown opcode")                             \
    XX(TTCP_TYPE, 0x0104, "PL_ETTCP_TYPE", "7TTCP unknown type")                                   \
    XX(TTCP_GROUP, 0x0105, "PL_ETTCP_GROUP", "7TTCP data group is not 0")                          \
    XX(TTCP_MISMATCH, 0x0106, "PL_ETTCP_MISMATCH", "7TTCP response does not match the request")    \
    XX(_7TTCP_SOCKET, 0x4001, "_7TTCP_BIND_SOCKET_FAILED", "socket open failed")                   \
    XX(_7TTCP_BIND, 0x4002, "_7TTCP_BIND_SOCKET_FAILED", "bind failed")                            \
    XX(_7TTCP_CONNECT, 0x4003, "_7TTCP_CONNECT_SOCKET_FAILED", "connect failed")                   \
    XX(_7TTCP_SEND, 0x4004, "_7TTCP_SEND_SOCKET_FAILED", "send failed")                            \
    XX(_7TTCP_RECV_FF, 0x4005, "_7TTCP_RECV_SOCKET_FAILED_FF", "session closed by remote node")    \
    XX(_7TTCP_RECV_00, 0x4006, "_7TTCP_RECV_SOCKET_FAILED_00", "session closed by remote node")    \
    XX(_7TTCP_NO_MSG, 0x4007, "_7TTCP_RECV_NO_MSG", "no free message (request queue full)")        \
    XX(_7TTCP_MSG_TOO_LONG, 0x4008, "_7TTCP_RECV_MSG_TOO_LONG", "message too long")                \
    XX(_7TTCP_TIMEOUT, 0x4009, "_7TTCP_RECV_TIMEOUT", "receive timeout")                           \
    XX(BLOCK_TOO_BIG, 0x5501, "_7TOMRTCP_DATA_BLOCK_TOO_BIG", "data block too big")                \
    XX(ENIP_SHORT, 0x0201, "PL_EENIP_SHORT", "EtherNet/IP data truncated")                         \
    XX(ENIP_LENGTH, 0x0202, "PL_EENIP_LENGTH", "EtherNet/IP length disagrees with the data")       \
    XX(ENIP_CPF_COUNT, 0x0203, "PL_EENIP_CPF_COUNT", "EtherNet/IP too many CPF items")             \
    XX(ENIP_CPF_ITEM, 0x0204, "PL_EENIP_CPF_ITEM", "EtherNet/IP unexpected CPF item")              \
    XX(CIP_SHORT, 0x0205, "PL_ECIP_SHORT", "CIP message truncated")                                \
    XX(CIP_LENGTH, 0x0206, "PL_ECIP_LENGTH", "CIP length field disagrees with the data")           \
    XX(CIP_PATH, 0x0207, "PL_ECIP_PATH", "CIP path size runs past the data")                       \
    XX(CIP_SEGMENT, 0x0208, "PL_ECIP_SEGMENT", "CIP invalid or unsupported path segment")          \
    XX(CIP_SERVICE, 0x0209, "PL_ECIP_SERVICE", "CIP unexpected service code")                      \
    XX(CIP_ROUTE, 0x020A, "PL_ECIP_ROUTE", "malformed CIP route path text")                        \
    XX(PCCC_SHORT, 0x0301, "PL_EPCCC_SHORT", "PCCC message truncated")                             \
    XX(PCCC_FIELD, 0x0302, "PL_EPCCC_FIELD", "PCCC field has a bad 0xFF escape or value")          \
    XX(PCCC_COMMAND, 0x0303, "PL_EPCCC_COMMAND", "PCCC unknown command or function code")          \
    XX(PCCC_FORMAT, 0x0304, "PL_EPCCC_FORMAT", "PCCC malformed message")                           \
    XX(PCCC_ADDRESS, 0x0305, "PL_EPCCC_ADDRESS", "PCCC malformed PLC-5 system address")            \
    XX(PCCC_TYPEDATA, 0x0306, "PL_EPCCC_TYPEDATA", "PCCC malformed type/data parameter")           \
    XX(PCCC_HEADER, 0x0307, "PL_EPCCC_HEADER", "PCCC bad requestor ID or DH+ header")              \
    XX(PCCC_MISMATCH, 0x0308, "PL_EPCCC_MISMATCH", "PCCC reply does not match the request")        \
    XX(OFFSCAN, 0x0012, "PL_EOFFSCAN", "device off scan after repeated failures")                  \
    XX(SUPERSEDED, 0x0013, "PL_ESUPERSEDED", "write superseded by a newer value")                  \
    XX(READONLY, 0x0014, "PL_EREADONLY", "tag is read-only")                                       \
    XX(NOTAG, 0x0015, "PL_ENOTAG", "unknown tag")                                                  \
    XX(STOPPED, 0x0016, "PL_ESTOPPED", "engine stopped")                                           \
    XX(ENIP_STATUS, 0x020B, "PL_EENIP_STATUS", "EtherNet/IP target answered with an error status") \
    XX(CIP_STATUS, 0x020C, "PL_ECIP_STATUS", "CIP target answered with an error status")           \
    XX(PCCC_STS, 0x0309, "PL_EPCCC_STS", "PLC answered with a PCCC error status")                  \
    XX(MODBUS_PROTOCOL, 0x0401, "PL_EMODBUS_PROTOCOL", "Modbus MBAP protocol identifier is not 0") \
    XX(MODBUS_LENGTH, 0x0402, "PL_EMODBUS_LENGTH",                                                 \
       "Modbus MBAP length outside 2..254 or not the data")                                        \
    XX(MODBUS_FUNCTION, 0x0403, "PL_EMODBUS_FUNCTION",                                             \
       "Modbus unknown or unsupported function code")                                              \
    XX(MODBUS_FORMAT, 0x0404, "PL_EMODBUS_FORMAT", "Modbus PDU length or byte count disagrees")    \
    XX(MODBUS_VALUE, 0x0405, "PL_EMODBUS_VALUE", "Modbus quantity or field value out of range")    \
    XX(MODBUS_MISMATCH, 0x0406, "PL_EMODBUS_MISMATCH",                                             \
       "Modbus response does not match the request")                                               \
    XX(MODBUS_EXCEPTION, 0x0480, "PL_EMODBUS_EXCEPTION",                                           \
       "Modbus device answered with an exception")                                                 \
    XX(MODBUS_X_ILLEGAL_FUNCTION, 0x0481, "PL_EMODBUS_X_ILLEGAL_FUNCTION",                         \
       "Modbus exception 01: illegal function")                                                    \
    XX(MODBUS_X_ILLEGAL_DATA_ADDRESS, 0x0482, "PL_EMODBUS_X_ILLEGAL_DATA_ADDRESS",                 \
       "Modbus exception 02: illegal data address")                                                \
    XX(MODBUS_X_ILLEGAL_DATA_VALUE, 0x0483, "PL_EMODBUS_X_ILLEGAL_DATA_VALUE",                     \
       "Modbus exception 03: illegal data value")                                                  \
    XX(MODBUS_X_SERVER_DEVICE_FAILURE, 0x0484, "PL_EMODBUS_X_SERVER_DEVICE_FAILURE",               \
       "Modbus exception 04: server device failure")                                               \
    XX(MODBUS_X_ACKNOWLEDGE, 0x0485, "PL_EMODBUS_X_ACKNOWLEDGE",                                   \
       "Modbus exception 05: acknowledge")                                                         \
    XX(MODBUS_X_SERVER_DEVICE_BUSY, 0x0486, "PL_EMODBUS_X_SERVER_DEVICE_BUSY",                     \
       "Modbus exception 06: server device busy")                                                  \
    XX(MODBUS_X_MEMORY_PARITY_ERROR, 0x0488, "PL_EMODBUS_X_MEMORY_PARITY_ERROR",                   \
       "Modbus exception 08: memory parity error")                                                 \
    XX(MODBUS_X_GATEWAY_PATH_UNAVAILABLE, 0x048A, "PL_EMODBUS_X_GATEWAY_PATH_UNAVAILABLE",         \
       "Modbus exception 0A: gateway path unavailable")                                            \
    XX(MODBUS_X_GATEWAY_TARGET_FAILED, 0x048B, "PL_EMODBUS_X_GATEWAY_TARGET_FAILED",               \
       "Modbus exception 0B: gateway target device failed to respond")                             \
    XX(IEC104_START, 0x0501, "PL_EIEC104_START", "IEC 104 start byte is not 0x68")                 \
    XX(IEC104_LENGTH, 0x0502, "PL_EIEC104_LENGTH",                                                 \
       "IEC 104 APDU length out of range or wrong for the frame")                                  \
    XX(IEC104_CONTROL, 0x0503, "PL_EIEC104_CONTROL", "IEC 104 malformed APCI control field")       \
    XX(IEC104_SHORT, 0x0504, "PL_EIEC104_SHORT", "IEC 104 ASDU truncated")                         \
    XX(IEC104_TRAILING, 0x0505, "PL_EIEC104_TRAILING",                                             \
       "IEC 104 ASDU longer than its information objects")                                         \
    XX(IEC104_TYPE, 0x0506, "PL_EIEC104_TYPE",                                                     \
       "IEC 104 unknown or unsupported type identification")                                       \
    XX(IEC104_VSQ, 0x0507, "PL_EIEC104_VSQ",                                                       \
       "IEC 104 variable structure qualifier not allowed for the type")                            \
    XX(IEC104_COT, 0x0508, "PL_EIEC104_COT", "IEC 104 cause of transmission 0 (not used)")         \
    XX(IEC104_ACK, 0x0509, "PL_EIEC104_ACK",                                                       \
       "IEC 104 acknowledged sequence number outside the send window")                             \
    XX(IEC104_TIME, 0x050A, "PL_EIEC104_TIME", "IEC 104 CP56Time2a field out of range")            \
    XX(FWD_OPEN_REFUSED, 0x020D, "PL_EFWD_OPEN_REFUSED", "Forward Open refused by the target")     \
    XX(SESSION_REFUSED, 0x020E, "PL_ESESSION_REFUSED", "RegisterSession refused by the target")    \
    XX(ENCODE, 0x0017, "PL_EENCODE", "value cannot be encoded for the output")                     \
    XX(SOCKET, 0x0030, "PL_ESOCKET", "socket open failed")                                         \
    XX(BIND, 0x0031, "PL_EBIND", "bind failed")                                                    \
    XX(CONNECT, 0x0032, "PL_ECONNECT", "connect failed")                                           \
    XX(SEND, 0x0033, "PL_ESEND", "send failed")                                                    \
    XX(RECV_FF, 0x0034, "PL_ERECV_FF", "receive failed, session lost")                             \
    XX(RECV_00, 0x0035, "PL_ERECV_00", "session closed by remote node")                            \
    XX(NO_MSG, 0x0036, "PL_ENO_MSG", "request queue full")                                         \
    XX(MSG_TOO_LONG, 0x0037, "PL_EMSG_TOO_LONG", "message too long")                               \
    XX(TIMEOUT, 0x0038, "PL_ETIMEOUT", "receive timeout")                                          \
    XX(IEC104_SEQ, 0x050B, "PL_EIEC104_SEQ",                                                       \
       "IEC 104 received send sequence number is not the one expected")                            \
    XX(IEC104_T1, 0x050C, "PL_EIEC104_T1", "IEC 104 t1 expired: a frame was not confirmed")        \
    XX(IEC104_NEGATIVE, 0x050D, "PL_EIEC104_NEGATIVE",                                             \
       "IEC 104 command refused by the station (negative confirmation)")                           \
    XX(IEC104_UNKNOWN_TYPE, 0x050E, "PL_EIEC104_UNKNOWN_TYPE",                                     \
       "IEC 104 station does not know the type identification")                                    \
    XX(IEC104_UNKNOWN_COT, 0x050F, "PL_EIEC104_UNKNOWN_COT",                                       \
       "IEC 104 station does not accept the cause of transmission")                                \
    XX(IEC104_UNKNOWN_CA, 0x0510, "PL_EIEC104_UNKNOWN_CA",                                         \
       "IEC 104 station does not have the common address")                                         \
    XX(IEC104_UNKNOWN_IOA, 0x0511, "PL_EIEC104_UNKNOWN_IOA",                                       \
       "IEC 104 station has no such information object")                                           \
    XX(IEC104_UNEXPECTED, 0x0512, "PL_EIEC104_UNEXPECTED",                                         \
       "IEC 104 frame not allowed in the state of the connection")

typedef enum {
    PL_OK = 0,
#define PL_ERR_ENUM_(name, num, str, msg) PL_E##name = -(num),
    PL_ERRNO_MAP(PL_ERR_ENUM_)
#undef PL_ERR_ENUM_
} pl_errno_t;

/* The message of `err` ("connect failed"). Never NULL: unknown codes give "unknown error". */
PL_EXTERN const char *pl_strerror(int err);

/* The name of `err` ("PL_ECONNECT", "_7TTCP_CONNECT_SOCKET_FAILED"). Never NULL. */
PL_EXTERN const char *pl_err_name(int err);

/* The positive number shown to users (0x0032 for PL_ECONNECT, 0x4003 for
 * PL_E_7TTCP_CONNECT); 0 for an unknown code. */
PL_EXTERN unsigned pl_err_code(int err);

#ifdef __cplusplus
}
#endif

#endif
