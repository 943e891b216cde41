/* SPDX-License-Identifier: MIT */
/*
 * Modbus TCP codec: MBAP framing and the PDUs of the function codes plcline speaks
 * (Modbus Application Protocol Specification V1.1b3, "MODBUS Messaging on TCP/IP
 * Implementation Guide" V1.0b).
 *
 * An ADU is the MBAP header followed by the PDU; every field is big-endian:
 *   bytes 0-1   transaction identifier (echoed by the server)
 *   bytes 2-3   protocol identifier, 0 for Modbus
 *   bytes 4-5   length: bytes that follow (unit identifier + PDU), 2..254
 *   byte  6     unit identifier
 *   byte  7     function code; then the function's data
 * The PDU is at most 253 bytes (spec 4.1), so the length field is 2..254.
 *
 * Function codes (spec 6.x):
 *   0x01 read coils             0x02 read discrete inputs
 *   0x03 read holding registers 0x04 read input registers
 *   0x05 write single coil      0x06 write single register
 *   0x0F write multiple coils   0x10 write multiple registers
 *   0x16 mask write register    0x17 read/write multiple registers
 *   0x2B/0x0E read device identification (encapsulated interface transport)
 * An exception response carries function | 0x80 and one exception code (spec 7). It is a
 * REMOTE error: it decodes successfully, and pl_modbus_rsp_match turns it into one of the
 * PL_EMODBUS_X_* codes (0x0480 + the exception code), never into a local decode error.
 * Local PL_EMODBUS_* codes (0x0401..) mean the bytes themselves are wrong.
 *
 * Register data and coil bits are left as they travel: views of the input (registers
 * big-endian, coils packed LSB first, spec 6.1). pl_modbus_reg/pl_modbus_bit read them.
 *
 * Pure code: no I/O, no clock, no allocation, no state between calls.
 */
#ifndef PLCLINE_PROTO_MODBUS_CODEC_MODBUS_H
#define PLCLINE_PROTO_MODBUS_CODEC_MODBUS_H

#include <stddef.h>
#include <stdint.h>

#include "plcline/log.h"

#define PL_MODBUS_TCP_PORT    502u /* Implementation Guide 4.1: registered port */
#define PL_MODBUS_MBAP_LEN    7u   /* transaction id, protocol id, length, unit id */
#define PL_MODBUS_PROTOCOL_ID 0u   /* MBAP protocol identifier for Modbus */
#define PL_MODBUS_MAX_PDU     253u /* spec 4.1: 256 - address - CRC of the serial line */
#define PL_MODBUS_MIN_LENGTH  2u   /* length field: unit id + function code */
#define PL_MODBUS_MAX_LENGTH  (1u + PL_MODBUS_MAX_PDU)                 /* 254 */
#define PL_MODBUS_MIN_ADU     (PL_MODBUS_MBAP_LEN + 1u)                /* 8 */
#define PL_MODBUS_MAX_ADU     (PL_MODBUS_MBAP_LEN + PL_MODBUS_MAX_PDU) /* 260 */

/* Function codes (spec 5.1 and 6). */
#define PL_MODBUS_FC_READ_COILS      0x01u
#define PL_MODBUS_FC_READ_DISCRETE   0x02u
#define PL_MODBUS_FC_READ_HOLDING    0x03u
#define PL_MODBUS_FC_READ_INPUT      0x04u
#define PL_MODBUS_FC_WRITE_COIL      0x05u
#define PL_MODBUS_FC_WRITE_REGISTER  0x06u
#define PL_MODBUS_FC_WRITE_COILS     0x0Fu
#define PL_MODBUS_FC_WRITE_REGISTERS 0x10u
#define PL_MODBUS_FC_MASK_WRITE      0x16u
#define PL_MODBUS_FC_READ_WRITE      0x17u
#define PL_MODBUS_FC_MEI             0x2Bu /* encapsulated interface transport */
#define PL_MODBUS_FC_EXCEPTION       0x80u /* set in the function code of an exception */

#define PL_MODBUS_MEI_DEVICE_ID 0x0Eu /* spec 6.21: read device identification */

/* Read device ID codes (spec 6.21). */
#define PL_MODBUS_DEVID_BASIC    0x01u /* stream access, objects 0x00..0x02 */
#define PL_MODBUS_DEVID_REGULAR  0x02u /* stream access, objects 0x00..0x7F */
#define PL_MODBUS_DEVID_EXTENDED 0x03u /* stream access, objects 0x00..0xFF */
#define PL_MODBUS_DEVID_SPECIFIC 0x04u /* one object */
#define PL_MODBUS_MORE_FOLLOWS   0xFFu /* "more follows" byte when the answer continues */

/* Quantity limits (spec 6.1-6.17): what fits in one PDU. */
#define PL_MODBUS_MAX_READ_BITS  2000u   /* FC 1, 2: 0x07D0 */
#define PL_MODBUS_MAX_WRITE_BITS 1968u   /* FC 15: 0x07B0 */
#define PL_MODBUS_MAX_READ_REGS  125u    /* FC 3, 4, 23 read: 0x007D */
#define PL_MODBUS_MAX_WRITE_REGS 123u    /* FC 16: 0x007B */
#define PL_MODBUS_MAX_RW_WRITE   121u    /* FC 23 write: 0x0079 */
#define PL_MODBUS_COIL_ON        0xFF00u /* FC 5 output value ON */
#define PL_MODBUS_COIL_OFF       0x0000u /* FC 5 output value OFF */

/* Exception codes (spec 7). */
#define PL_MODBUS_EX_ILLEGAL_FUNCTION      0x01u
#define PL_MODBUS_EX_ILLEGAL_DATA_ADDRESS  0x02u
#define PL_MODBUS_EX_ILLEGAL_DATA_VALUE    0x03u
#define PL_MODBUS_EX_SERVER_DEVICE_FAILURE 0x04u
#define PL_MODBUS_EX_ACKNOWLEDGE           0x05u
#define PL_MODBUS_EX_SERVER_DEVICE_BUSY    0x06u
#define PL_MODBUS_EX_MEMORY_PARITY_ERROR   0x08u
#define PL_MODBUS_EX_GATEWAY_PATH          0x0Au /* gateway path unavailable */
#define PL_MODBUS_EX_GATEWAY_TARGET        0x0Bu /* gateway target device failed to respond */

/* ------------------------------------------------------------------ MBAP */

typedef struct {
    uint16_t tid;       /* transaction identifier */
    uint16_t pid;       /* protocol identifier (0) */
    uint16_t length;    /* unit id + PDU bytes */
    uint8_t unit;       /* unit identifier */
    const uint8_t *pdu; /* view: function code and data */
    size_t pdu_len;     /* length - 1 */
} pl_modbus_adu_t;

/* Framing of a byte stream. Looks at the first `len` bytes of `buf`:
 *   > 0        a complete ADU of that many bytes starts at buf (decode it with
 *              pl_modbus_adu_decode and consume exactly that many bytes);
 *   PL_EAGAIN  more bytes are needed; *need (if not NULL) is the total the ADU needs as far
 *              as can be told yet (8 until the length field is in);
 *   < 0        the stream is broken (the boundary of the next ADU cannot be trusted):
 *              PL_EMODBUS_PROTOCOL  protocol identifier not 0 (known after 4 bytes)
 *              PL_EMODBUS_LENGTH    length field outside 2..254 (known after 6 bytes)
 * An unknown function code or a bad byte count does not break the stream: the ADU is
 * framed, and pl_modbus_req_decode / pl_modbus_rsp_decode reject it. The result is the same
 * whether the bytes arrive whole, one at a time, or split anywhere. */
int pl_modbus_frame(const uint8_t *buf, size_t len, size_t *need);

/* Decodes the MBAP header of one complete ADU of exactly `len` bytes and sets the PDU view.
 * Returns 0 or PL_EMODBUS_PROTOCOL / PL_EMODBUS_LENGTH (also when `len` is not 6 + length).
 * The header fields present are filled even on error. `st` may be NULL. */
int pl_modbus_adu_decode(const uint8_t *buf, size_t len, pl_modbus_adu_t *out, pl_status_t *st);

/* ------------------------------------------------------------------ requests */

typedef struct {
    uint8_t function;    /* PL_MODBUS_FC_* */
    uint16_t addr;       /* starting address (FC 1-4, 15, 16), output/register address (5, 6,
                            22), read starting address (23) */
    uint16_t count;      /* quantity (FC 1-4, 15, 16), read quantity (23) */
    uint16_t value;      /* FC 5: 0xFF00 or 0x0000; FC 6: register value */
    uint16_t and_mask;   /* FC 22 */
    uint16_t or_mask;    /* FC 22 */
    uint16_t waddr;      /* FC 23: write starting address */
    uint16_t wcount;     /* FC 23: write quantity */
    const uint8_t *data; /* FC 15, 16, 23: values as on the wire (coils packed LSB first,
                            registers big-endian); NULL otherwise */
    size_t data_len;     /* byte count */
    uint8_t mei_type;    /* FC 43: 0x0E */
    uint8_t devid_code;  /* FC 43: PL_MODBUS_DEVID_* */
    uint8_t object_id;   /* FC 43: first object wanted */
} pl_modbus_req_t;

/* Decodes a request PDU of exactly `len` bytes (function code and data). Returns 0 or:
 *   PL_EMODBUS_FUNCTION  function code not one of those above (a server answers
 *                        exception 01), or FC 43 with a MEI type other than 0x0E
 *   PL_EMODBUS_FORMAT    PDU shorter or longer than the function needs, or a byte count
 *                        that disagrees with the quantity or with the bytes present
 *   PL_EMODBUS_VALUE     quantity 0 or above the function's limit, FC 5 value neither
 *                        0xFF00 nor 0x0000, read device ID code not 1..4 (exception 03)
 * Fields present are filled even on error. `st` may be NULL. */
int pl_modbus_req_decode(const uint8_t *pdu, size_t len, pl_modbus_req_t *out, pl_status_t *st);

/* Encodes a request ADU (MBAP with `tid`, `unit`, then the PDU of `req`). Only the fields the
 * function uses are read; for FC 15/16/23 `data`/`data_len` are the values as on the wire
 * and the byte count is data_len. Returns the ADU length, PL_ENOBUFS when `cap` is too
 * small (nothing is written then), PL_EMODBUS_FUNCTION for a function not above, or
 * PL_EMODBUS_FORMAT when the PDU would exceed 253 bytes. The encoder does not judge
 * quantities or values, so tests can build bad requests. */
int pl_modbus_req_encode(uint8_t *buf, size_t cap, uint16_t tid, uint8_t unit,
                         const pl_modbus_req_t *req);

/* ------------------------------------------------------------------ responses */

typedef struct {
    uint8_t function;    /* function code without the exception bit */
    uint8_t exception;   /* 0, or the exception code of an exception response */
    const uint8_t *data; /* FC 1-4, 23: the read values as on the wire (byte count bytes) */
    size_t data_len;
    uint16_t addr;     /* FC 5, 6, 15, 16, 22: echoed address */
    uint16_t count;    /* FC 15, 16: echoed quantity */
    uint16_t value;    /* FC 5, 6: echoed value */
    uint16_t and_mask; /* FC 22 */
    uint16_t or_mask;  /* FC 22 */
    /* FC 43 / 0x0E */
    uint8_t mei_type;
    uint8_t devid_code;
    uint8_t conformity;
    uint8_t more_follows; /* 0x00 or 0xFF */
    uint8_t next_object;
    uint8_t object_count;
    const uint8_t *objects; /* object_count times (id u8, length u8, value) */
    size_t objects_len;
} pl_modbus_rsp_t;

/* Decodes a response PDU of exactly `len` bytes. An exception response (function | 0x80,
 * any function 1..127) decodes successfully with `exception` set. Returns 0 or:
 *   PL_EMODBUS_FUNCTION  function code 0, or not one of those above (and not an
 *                        exception), or FC 43 with a MEI type other than 0x0E
 *   PL_EMODBUS_FORMAT    PDU length disagrees with the function or byte count; byte
 *                        count of a register read odd or 0; device ID objects that do not
 *                        fill the PDU exactly or disagree with their count
 *   PL_EMODBUS_VALUE     exception code 0, FC 5 echo neither 0xFF00 nor 0x0000, echoed
 *                        quantity 0 or above the limit, more-follows neither 0 nor 0xFF,
 *                        read device ID code not 1..4
 * Fields present are filled even on error. `st` may be NULL. */
int pl_modbus_rsp_decode(const uint8_t *pdu, size_t len, pl_modbus_rsp_t *out, pl_status_t *st);

/* Encodes a response ADU. With `rsp->exception` != 0 the PDU is function | 0x80 and the
 * exception code. FC 1-4, 23 write a byte count of data_len then `data`; FC 43 writes the
 * header fields then `objects` (objects_len bytes, object_count as given). Returns the ADU
 * length, PL_ENOBUFS (nothing written), PL_EMODBUS_FUNCTION or PL_EMODBUS_FORMAT (data over
 * 252 bytes) as pl_modbus_req_encode. */
int pl_modbus_rsp_encode(uint8_t *buf, size_t cap, uint16_t tid, uint8_t unit,
                         const pl_modbus_rsp_t *rsp);

/* Whether `rsp` answers `req` (both decoded or built by the caller; the caller compares the
 * transaction and unit identifiers). Returns:
 *   0                    it does, and is not an exception
 *   PL_EMODBUS_X_*       an exception answer to this function (PL_EMODBUS_EXCEPTION for an
 *                        exception code without a standard name); `st` gets the raw code
 *                        and its name, e.g. "exception 0x02: illegal data address"
 *   PL_EMODBUS_MISMATCH  another function code, a byte count that is not what the
 *                        quantity asked for, or an echo (address, quantity, value, masks)
 *                        that differs from the request */
int pl_modbus_rsp_match(const pl_modbus_req_t *req, const pl_modbus_rsp_t *rsp, pl_status_t *st);

/* ------------------------------------------------------------------ helpers */

/* Register `i` of a view of big-endian registers (`len` bytes); 0 past the end. */
uint16_t pl_modbus_reg(const uint8_t *data, size_t len, size_t i);
/* Bit `i` of a view of packed bits (LSB of the first byte is bit 0); 0 past the end. */
int pl_modbus_bit(const uint8_t *data, size_t len, size_t i);
/* Bytes `n` packed bits take: (n + 7) / 8. */
size_t pl_modbus_bit_bytes(size_t n);

/* One device identification object, read by pl_modbus_devid_next. */
typedef struct {
    uint8_t id;
    uint8_t len;
    const uint8_t *value; /* view, `len` bytes, not NUL-terminated */
} pl_modbus_devid_obj_t;

/* Walks the objects of a decoded FC 43 response: starting with *pos = 0, each call fills
 * `obj` and returns 1, or returns 0 at the end. Safe on any rsp that decoded to 0. */
int pl_modbus_devid_next(const pl_modbus_rsp_t *rsp, size_t *pos, pl_modbus_devid_obj_t *obj);

/* The standard name of an exception code ("illegal data address"); "unknown exception" for
 * codes without one. Never NULL. */
const char *pl_modbus_exception_name(uint8_t code);

/* The PL_EMODBUS_X_* error of an exception code (PL_EMODBUS_EXCEPTION when it has no
 * standard name), and back: the exception code of such an error, or 0 for any other. */
int pl_modbus_exception_error(uint8_t code);
uint8_t pl_modbus_error_exception(int err);

/* The exception code a server answers a request that failed pl_modbus_req_decode with
 * `err`: 01 for PL_EMODBUS_FUNCTION, 03 for PL_EMODBUS_FORMAT and PL_EMODBUS_VALUE (spec
 * 6.x state diagrams), 04 otherwise. */
uint8_t pl_modbus_req_exception(int err);

/* A short name of a function code ("read holding registers"); "unknown function" else. */
const char *pl_modbus_function_name(uint8_t function);

#endif
