/* SPDX-License-Identifier: MIT */
/*
 * EtherNet/IP encapsulation codec (ODVA "The CIP Networks Library", Volume 2: EtherNet/IP
 * Adaptation of CIP, chapter 2 "Encapsulation Protocol").
 *
 * An encapsulation message is a 24-byte header followed by `length` bytes of command data;
 * every field is little-endian (Vol 2, 2-3):
 *   bytes  0-1   command
 *   bytes  2-3   length: bytes of command data after the header
 *   bytes  4-7   session handle
 *   bytes  8-11  status (encapsulation status, Vol 2 Table 2-3.3)
 *   bytes 12-19  sender context (echoed by the receiver)
 *   bytes 20-23  options (0)
 * SendRRData / SendUnitData carry an interface handle (u32, 0 for CIP), a timeout (u16) and a
 * Common Packet Format (CPF, Vol 2, 2-6): item count (u16), then items of type id (u16),
 * length (u16) and data. A ListIdentity reply carries one CIP Identity item (Vol 2, 2-4.2).
 *
 * This module frames a byte stream, decodes into fixed fields plus (pointer, length) views
 * into the input, and encodes into caller buffers. It must not do I/O, read a clock, allocate
 * or keep state between calls. Encapsulation status is a REMOTE status: it is reported as the
 * raw number, never mapped onto PL_E* codes.
 */
#ifndef PLCLINE_CODEC_ENIP_H
#define PLCLINE_CODEC_ENIP_H

#include <stddef.h>
#include <stdint.h>

#define PL_ENIP_TCP_PORT    44818u /* Vol 2, 2-2.1: registered TCP/UDP port 0xAF12 */
#define PL_ENIP_HEADER_LEN  24u    /* Vol 2, 2-3: encapsulation header */
#define PL_ENIP_CONTEXT_LEN 8u     /* Vol 2, 2-3: sender context */
#define PL_ENIP_MAX_LENGTH  65535u /* Vol 2, 2-3: length is a UINT */

/* Encapsulation commands (Vol 2, Table 2-3.2). */
#define PL_ENIP_CMD_NOP                0x0000u
#define PL_ENIP_CMD_LIST_SERVICES      0x0004u
#define PL_ENIP_CMD_LIST_IDENTITY      0x0063u
#define PL_ENIP_CMD_LIST_INTERFACES    0x0064u
#define PL_ENIP_CMD_REGISTER_SESSION   0x0065u
#define PL_ENIP_CMD_UNREGISTER_SESSION 0x0066u
#define PL_ENIP_CMD_SEND_RR_DATA       0x006Fu
#define PL_ENIP_CMD_SEND_UNIT_DATA     0x0070u

/* Encapsulation status codes (Vol 2, Table 2-3.3). */
#define PL_ENIP_STATUS_SUCCESS              0x0000u
#define PL_ENIP_STATUS_INVALID_COMMAND      0x0001u /* invalid or unsupported command */
#define PL_ENIP_STATUS_INSUFFICIENT_MEMORY  0x0002u
#define PL_ENIP_STATUS_INCORRECT_DATA       0x0003u
#define PL_ENIP_STATUS_INVALID_SESSION      0x0064u
#define PL_ENIP_STATUS_INVALID_LENGTH       0x0065u
#define PL_ENIP_STATUS_UNSUPPORTED_PROTOCOL 0x0069u /* unsupported protocol revision */

/* RegisterSession command data (Vol 2, 2-4.4): protocol version u16, options flags u16. */
#define PL_ENIP_PROTOCOL_VERSION  1u
#define PL_ENIP_REGISTER_DATA_LEN 4u
#define PL_ENIP_RR_PREFIX_LEN     6u /* Vol 2, 2-4.7: interface handle u32 + timeout u16 */
#define PL_ENIP_INTERFACE_HANDLE  0u /* Vol 2, 2-4.7.1: 0 for CIP */

/* Common Packet Format item type ids (Vol 2, Table 2-6.3). */
#define PL_CPF_NULL_ADDRESS      0x0000u /* length 0 */
#define PL_CPF_LIST_IDENTITY     0x000Cu /* CIP Identity item of a ListIdentity reply */
#define PL_CPF_CONNECTED_ADDRESS 0x00A1u /* length 4: connection identifier */
#define PL_CPF_CONNECTED_DATA    0x00B1u /* sequence count u16 + CIP message */
#define PL_CPF_UNCONNECTED_DATA  0x00B2u /* CIP message */
#define PL_CPF_LIST_SERVICES     0x0100u
#define PL_CPF_SOCKADDR_O_T      0x8000u /* Sockaddr Info, originator to target; length 16 */
#define PL_CPF_SOCKADDR_T_O      0x8001u /* Sockaddr Info, target to originator; length 16 */
#define PL_CPF_SEQUENCED_ADDRESS 0x8002u /* length 8: connection id + sequence number */

#define PL_CPF_ITEM_HEADER_LEN 4u  /* type id u16 + length u16 */
#define PL_CPF_CONN_ADDR_LEN   4u  /* Vol 2, 2-6.2.2 */
#define PL_CPF_SEQ_ADDR_LEN    8u  /* Vol 2, 2-6.2.3 */
#define PL_CPF_SEQ_COUNT_LEN   2u  /* Vol 2, 2-6.3.2: sequence count before the message */
#define PL_CPF_SOCKADDR_LEN    16u /* Vol 2, 2-6.3.3 */
#define PL_CPF_MAX_ITEMS       4u  /* items one decode holds; more is PL_EENIP_CPF_COUNT */

/* CIP Identity item (Vol 2, Table 2-4.4): fixed part without the product name characters. */
#define PL_ENIP_IDENTITY_FIXED_LEN 34u
#define PL_ENIP_SOCKADDR_ZERO_LEN  8u
#define PL_ENIP_AF_INET            2u /* sin_family: AF_INET (Vol 2, 2-6.3.3) */

/* One decoded encapsulation message. `data` views the command data inside the input. */
typedef struct {
    uint16_t command;
    uint16_t length; /* bytes after the header */
    uint32_t session;
    uint32_t status; /* remote encapsulation status, raw */
    uint8_t context[PL_ENIP_CONTEXT_LEN];
    uint32_t options;
    const uint8_t *data; /* NULL when length is 0 */
    size_t data_len;     /* == length */
} pl_enip_msg_t;

/* One CPF item: a view of its data in the input (NULL when length is 0). */
typedef struct {
    uint16_t type;
    uint16_t length;
    const uint8_t *data;
} pl_cpf_item_t;

/* A decoded Common Packet Format. */
typedef struct {
    uint16_t count;
    pl_cpf_item_t item[PL_CPF_MAX_ITEMS];
} pl_cpf_t;

/* SendRRData / SendUnitData command data (Vol 2, 2-4.7 and 2-4.8). */
typedef struct {
    uint32_t interface_handle; /* 0 for CIP; reported as sent */
    uint16_t timeout;          /* seconds (SendRRData); 0 for SendUnitData */
    pl_cpf_t cpf;
} pl_enip_rr_t;

/* CIP Identity item of a ListIdentity reply (Vol 2, Table 2-4.4). The socket address is
 * big-endian on the wire; here it is in host order. */
typedef struct {
    uint16_t protocol_version;
    uint16_t sin_family;
    uint16_t sin_port;
    uint32_t sin_addr; /* 10.0.0.5 is 0x0A000005 */
    uint8_t sin_zero[PL_ENIP_SOCKADDR_ZERO_LEN];
    uint16_t vendor_id;
    uint16_t device_type;
    uint16_t product_code;
    uint8_t revision_major;
    uint8_t revision_minor;
    uint16_t status;
    uint32_t serial;
    const uint8_t *product_name; /* SHORT_STRING characters, not NUL-terminated */
    size_t product_name_len;     /* <= 255 */
    uint8_t state;
} pl_enip_identity_t;

/* Framing of a byte stream. Looks at the first `len` bytes of `buf`:
 *   > 0         a complete message of that many bytes (24 + length) starts at buf;
 *   PL_EAGAIN   more bytes needed; *need (if not NULL) is the total needed as far as known;
 *   PL_EMSG_TOO_LONG  the length field exceeds `max_data` (bytes after the header the caller
 *               accepts); reported as soon as bytes 0-3 are present.
 * Commands and status are content, judged by pl_enip_decode and the session layer, so a
 * stream only breaks on a length. Same result whole, byte by byte or split anywhere. */
int pl_enip_frame(const uint8_t *buf, size_t len, size_t max_data, size_t *need);

/* Decodes one complete message of exactly `len` bytes. Fills what is present even on error.
 * Returns 0, PL_EENIP_SHORT (fewer than 24 + length bytes) or PL_EENIP_LENGTH (bytes after
 * the message). Options and status are reported raw, not judged. `out->data` points into buf. */
int pl_enip_decode(const uint8_t *buf, size_t len, pl_enip_msg_t *out);

/* Encodes header + m->data[0..m->data_len) into buf[0..cap); m->length is ignored (written
 * as data_len). m->data may be NULL when data_len is 0, and may already sit at
 * buf + PL_ENIP_HEADER_LEN (the copy is a memmove). Returns the bytes written, PL_ENOBUFS,
 * or PL_ERANGE when data_len exceeds PL_ENIP_MAX_LENGTH. */
int pl_enip_encode(uint8_t *buf, size_t cap, const pl_enip_msg_t *m);

/* Name of an encapsulation command ("SendRRData"), "unknown" for others. Never NULL. */
const char *pl_enip_command_name(uint16_t command);

/* Name of an encapsulation status ("invalid session handle"), "unknown" for others. */
const char *pl_enip_status_name(uint32_t status);

/* RegisterSession data: decodes exactly 4 bytes into *version and *options. Returns 0,
 * PL_EENIP_SHORT or PL_EENIP_LENGTH. The values are not judged (a target answers a wrong
 * version with PL_ENIP_STATUS_UNSUPPORTED_PROTOCOL). */
int pl_enip_register_decode(const uint8_t *data, size_t len, uint16_t *version, uint16_t *options);

/* Encodes RegisterSession data. Returns 4 or PL_ENOBUFS. */
int pl_enip_register_encode(uint8_t *buf, size_t cap, uint16_t version, uint16_t options);

/* The requests of the session commands, complete with their header, every field the
 * command does not use zero (a strict target refuses anything else):
 *   RegisterSession (Vol 2, 2-4.4): protocol version 1, options flags 0; session handle,
 *     status, sender context and options 0 (28 bytes);
 *   UnRegisterSession (Vol 2, 2-4.5): `session`; status, sender context, options 0 (24);
 *   ListIdentity (Vol 2, 2-4.2): every field 0 (24).
 * Return the bytes written or PL_ENOBUFS. */
int pl_enip_register_request(uint8_t *buf, size_t cap);
int pl_enip_unregister_request(uint8_t *buf, size_t cap, uint32_t session);
int pl_enip_list_identity_request(uint8_t *buf, size_t cap);

/* 1 when the header of RegisterSession request `m` has session handle, status, sender
 * context and options all 0, as a strict target requires; else 0. */
int pl_enip_register_strict(const pl_enip_msg_t *m);

/* Decodes a Common Packet Format of exactly `len` bytes into views of its items. Returns 0 or
 *   PL_EENIP_SHORT      item count or an item header is cut off, or an item's data runs
 *                       past the end
 *   PL_EENIP_CPF_COUNT  more than PL_CPF_MAX_ITEMS items
 *   PL_EENIP_LENGTH     bytes after the last item, or a fixed-size item (null address 0,
 *                       connected address 4, sequenced address 8, sockaddr 16, connected
 *                       data at least 2) with another length */
int pl_cpf_decode(const uint8_t *buf, size_t len, pl_cpf_t *out);

/* Encodes cpf->count items from cpf->item (lengths taken from .length, data copied with
 * memmove). Returns bytes written, PL_ENOBUFS, or PL_EINVAL for count > PL_CPF_MAX_ITEMS or
 * a non-empty item whose data is NULL. */
int pl_cpf_encode(uint8_t *buf, size_t cap, const pl_cpf_t *cpf);

/* Encodes the unconnected shape: 2 items, null address + unconnected data holding
 * cip[0..cip_len). Returns bytes written, PL_ENOBUFS or PL_ERANGE (cip_len > 65535). */
int pl_cpf_encode_unconnected(uint8_t *buf, size_t cap, const uint8_t *cip, size_t cip_len);

/* Encodes the connected shape: 2 items, connected address `conn_id` + connected data holding
 * `seq` then cip[0..cip_len). Returns bytes written, PL_ENOBUFS or PL_ERANGE. */
int pl_cpf_encode_connected(uint8_t *buf, size_t cap, uint32_t conn_id, uint16_t seq,
                            const uint8_t *cip, size_t cip_len);

/* Checks the unconnected shape (exactly null address + unconnected data) and points *cip at
 * the message. Returns 0 or PL_EENIP_CPF_ITEM. */
int pl_cpf_unconnected(const pl_cpf_t *cpf, const uint8_t **cip, size_t *cip_len);

/* Checks the connected shape (exactly connected address + connected data) and returns its
 * connection id, sequence count and message view. Returns 0 or PL_EENIP_CPF_ITEM. */
int pl_cpf_connected(const pl_cpf_t *cpf, uint32_t *conn_id, uint16_t *seq, const uint8_t **cip,
                     size_t *cip_len);

/* Decodes SendRRData / SendUnitData command data (interface handle, timeout, CPF) of exactly
 * `len` bytes. Returns 0, PL_EENIP_SHORT, or a pl_cpf_decode error. */
int pl_enip_rr_decode(const uint8_t *data, size_t len, pl_enip_rr_t *out);

/* Encodes SendRRData / SendUnitData command data: interface handle 0, `timeout`, and the
 * CPF already encoded in cpf[0..cpf_len) (memmove; it may already sit at buf + 6).
 * Returns bytes written or PL_ENOBUFS. */
int pl_enip_rr_encode(uint8_t *buf, size_t cap, uint16_t timeout, const uint8_t *cpf,
                      size_t cpf_len);

/* The framing in front of one CIP message (header, SendRRData / SendUnitData prefix, CPF),
 * for encoding in place: a caller encodes the CIP message at buf + PL_ENIP_CIP_UNCONNECTED_LEN
 * (or PL_ENIP_CIP_CONNECTED_LEN) and then lets pl_enip_cip_frame() fill in what goes before
 * it, lengths included. */
#define PL_ENIP_CIP_UNCONNECTED_LEN \
    (PL_ENIP_HEADER_LEN + PL_ENIP_RR_PREFIX_LEN + 2u + 2u * PL_CPF_ITEM_HEADER_LEN) /* 40 */
#define PL_ENIP_CIP_CONNECTED_LEN                                                    \
    (PL_ENIP_HEADER_LEN + PL_ENIP_RR_PREFIX_LEN + 2u + 2u * PL_CPF_ITEM_HEADER_LEN + \
     PL_CPF_CONN_ADDR_LEN + PL_CPF_SEQ_COUNT_LEN) /* 46 */

typedef struct {
    int connected;    /* 0: SendRRData, null address + unconnected data item;
                         1: SendUnitData, connected address + connected data item */
    uint32_t session; /* session handle */
    uint8_t context[PL_ENIP_CONTEXT_LEN];
    uint16_t timeout; /* SendRRData timeout; SendUnitData writes `timeout` too (0 by the spec) */
    uint32_t conn_id; /* connected: the connection identifier */
    uint16_t seq;     /* connected: the sequence count */
} pl_enip_cip_t;

/* Writes the framing of `f` into buf[0..PL_ENIP_CIP_(UN)CONNECTED_LEN) for a CIP message of
 * `cip_len` bytes at buf + that length, which is neither read nor moved. Status and options
 * are 0. The bytes are those of pl_enip_encode() around pl_enip_rr_encode() around
 * pl_cpf_encode_unconnected() / pl_cpf_encode_connected() for the same message. Returns the
 * length of the whole message (framing + cip_len), PL_ERANGE when the message does not fit
 * the 16-bit length fields, or PL_ENOBUFS when it does not fit `cap`. */
int pl_enip_cip_frame(uint8_t *buf, size_t cap, const pl_enip_cip_t *f, size_t cip_len);

/* Decodes the data of a CIP Identity CPF item (exactly `len` bytes). Returns 0,
 * PL_EENIP_SHORT (cut off, or the product name runs past the end) or PL_EENIP_LENGTH (bytes
 * after the state byte). */
int pl_enip_identity_decode(const uint8_t *data, size_t len, pl_enip_identity_t *out);

/* Encodes the data of a CIP Identity item (without the CPF item header). Returns bytes
 * written, PL_ENOBUFS, or PL_ERANGE when the product name is longer than 255. */
int pl_enip_identity_encode(uint8_t *buf, size_t cap, const pl_enip_identity_t *id);

#endif
