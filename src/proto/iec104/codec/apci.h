/* SPDX-License-Identifier: MIT */
/*
 * IEC 60870-5-104 APCI codec (IEC 60870-5-104, clause 5 "Frame formats"): frames a byte
 * stream into APDUs, decodes and encodes the three frame kinds, and does the modulo-32768
 * arithmetic of the send and receive sequence numbers that the k and w windows need.
 *
 * An APDU is a start byte 0x68, a length octet (the bytes that follow it: 4..253) and four
 * control octets, then, in an I-frame only, an ASDU (see asdu.h):
 *   I-frame  (numbered information transfer)
 *     octet 1  bit 0 = 0, bits 1-7 = N(S) bits 0-6
 *     octet 2  N(S) bits 7-14
 *     octet 3  bit 0 = 0, bits 1-7 = N(R) bits 0-6
 *     octet 4  N(R) bits 7-14
 *   S-frame  (numbered supervisory)
 *     octet 1  0x01           octet 2  0x00
 *     octet 3  bit 0 = 0, N(R) bits 0-6       octet 4  N(R) bits 7-14
 *   U-frame  (unnumbered control)
 *     octet 1  bits 0-1 = 11, one of STARTDT act (0x04) / con (0x08), STOPDT act (0x10) /
 *              con (0x20), TESTFR act (0x40) / con (0x80); octets 2-4 = 0
 * S- and U-frames are exactly 6 bytes; an I-frame carries at least one ASDU octet.
 *
 * Pure code: no I/O, no clock, no allocation, no state between calls.
 */
#ifndef PLCLINE_PROTO_IEC104_CODEC_APCI_H
#define PLCLINE_PROTO_IEC104_CODEC_APCI_H

#include <stddef.h>
#include <stdint.h>

#define PL_IEC104_DEFAULT_PORT 2404u /* IEC 60870-5-104, 10.2: registered port */
#define PL_IEC104_START        0x68u /* 5.1: start character */
#define PL_IEC104_APCI_LEN     6u    /* start, length and four control octets */
#define PL_IEC104_MIN_LENGTH   4u    /* 5.1: the length octet counts the control octets... */
#define PL_IEC104_MAX_LENGTH   253u  /* ...and the ASDU, at most 253 in all */
#define PL_IEC104_MAX_APDU     (2u + PL_IEC104_MAX_LENGTH) /* 255 bytes */
#define PL_IEC104_MAX_ASDU     (PL_IEC104_MAX_LENGTH - 4u) /* 249 bytes */
#define PL_IEC104_SEQ_MOD      32768u /* 5.1: sequence numbers count modulo 2^15 */

/* Protocol parameters of clause 9.6 with their defaults (used by the session layer). */
#define PL_IEC104_DEFAULT_K  12u /* unacknowledged I-frames a sender may have outstanding */
#define PL_IEC104_DEFAULT_W  8u  /* I-frames received before an acknowledgement is due */
#define PL_IEC104_DEFAULT_T0 30u /* seconds: connection establishment */
#define PL_IEC104_DEFAULT_T1 15u /* seconds: an I-frame or U-frame act must be confirmed */
#define PL_IEC104_DEFAULT_T2 10u /* seconds: acknowledge received I-frames at the latest */
#define PL_IEC104_DEFAULT_T3 20u /* seconds: idle time before TESTFR act */

/* U-frame functions: the bit of control octet 1 that names them (5.3). */
#define PL_IEC104_U_STARTDT_ACT 0x04u
#define PL_IEC104_U_STARTDT_CON 0x08u
#define PL_IEC104_U_STOPDT_ACT  0x10u
#define PL_IEC104_U_STOPDT_CON  0x20u
#define PL_IEC104_U_TESTFR_ACT  0x40u
#define PL_IEC104_U_TESTFR_CON  0x80u

typedef enum {
    PL_IEC104_FRAME_I, /* information transfer: N(S), N(R) and an ASDU */
    PL_IEC104_FRAME_S, /* supervisory: N(R) only */
    PL_IEC104_FRAME_U  /* unnumbered control: one function */
} pl_iec104_kind_t;

typedef struct {
    pl_iec104_kind_t kind;
    uint8_t length;      /* the length octet: 4..253 */
    uint16_t ns;         /* I-frame: send sequence number N(S), 0..32767; else 0 */
    uint16_t nr;         /* I- and S-frame: receive sequence number N(R); else 0 */
    uint8_t func;        /* U-frame: one PL_IEC104_U_* bit; else 0 */
    const uint8_t *asdu; /* I-frame: view of the ASDU in the input; else NULL */
    size_t asdu_len;     /* I-frame: length - 4; else 0 */
} pl_iec104_apdu_t;

/* Framing of a byte stream. Looks at the first `len` bytes of `buf`:
 *   > 0          a complete APDU of that many bytes (2 + length octet) starts at buf;
 *   PL_EAGAIN    more bytes are needed; *need (if not NULL) is the total the APDU needs as
 *                far as can be told yet (2 before the length octet is in);
 *   < 0          the stream is broken (IEC 104 has no resynchronisation; the connection
 *                must be closed):
 *                PL_EIEC104_START   first byte is not 0x68
 *                PL_EIEC104_LENGTH  length octet below 4 or above 253
 * Each error is reported as soon as the byte that proves it is present. The result is the
 * same whether the bytes arrive whole, one at a time, or split anywhere. */
int pl_iec104_frame(const uint8_t *buf, size_t len, size_t *need);

/* Decodes one complete APDU of exactly `len` bytes (as returned by pl_iec104_frame). Fields
 * are filled as far as the bytes allow even on error. Returns 0 or:
 *   PL_EIEC104_START, PL_EIEC104_LENGTH   as above, or `len` is not 2 + length octet
 *   PL_EIEC104_LENGTH   an S- or U-frame longer than 6 bytes, an I-frame without an ASDU
 *   PL_EIEC104_CONTROL  control octets that fit no frame kind: bit 0 of octet 3 set (I, S),
 *                       octet 1 of an S-frame not 0x01 or octet 2 not 0, a U-frame with
 *                       none or several functions or with octets 2-4 not 0
 * The ASDU itself is not looked at (pl_iec104_asdu_decode does that). */
int pl_iec104_decode(const uint8_t *buf, size_t len, pl_iec104_apdu_t *out);

/* Encodes an I-frame with sequence numbers `ns` and `nr` (taken modulo 32768) around the
 * `asdu_len` (1..249) bytes at `asdu`. `asdu` may be buf + 6 (the ASDU encoded in place)
 * or any other buffer, overlapping or not. Returns the APDU length, PL_ENOBUFS, or
 * PL_EINVAL for an ASDU length outside 1..249. */
int pl_iec104_encode_i(uint8_t *buf, size_t cap, uint16_t ns, uint16_t nr, const uint8_t *asdu,
                       size_t asdu_len);

/* Encodes an S-frame acknowledging up to `nr` (modulo 32768). Returns 6 or PL_ENOBUFS. */
int pl_iec104_encode_s(uint8_t *buf, size_t cap, uint16_t nr);

/* Encodes a U-frame. `func` is one PL_IEC104_U_* bit. Returns 6, PL_ENOBUFS, or PL_EINVAL
 * when `func` is not exactly one function. */
int pl_iec104_encode_u(uint8_t *buf, size_t cap, uint8_t func);

/* Name of a U-frame function ("STARTDT act", ...), or NULL when `func` is not one. */
const char *pl_iec104_u_name(uint8_t func);

/* ------------------------------------------------------------ sequence number arithmetic */

/* (seq + n) modulo 32768. */
uint16_t pl_iec104_seq_add(uint16_t seq, uint32_t n);

/* How many steps forward from `from` to `to`, modulo 32768 (0..32767): the number of
 * frames sent from N(S) = from up to, not including, N(S) = to. */
uint16_t pl_iec104_seq_diff(uint16_t to, uint16_t from);

/* Checks a received N(R) against the sender's window. `acked` is the oldest N(S) not yet
 * acknowledged (the previous N(R)), `next` the N(S) the next I-frame will carry; the frames
 * acked .. next-1 are outstanding. A valid N(R) lies in acked .. next (inclusive), counted
 * modulo 32768. Returns the number of frames it newly acknowledges (0 .. outstanding) or
 * PL_EIEC104_ACK (the standard requires closing the connection then). */
int pl_iec104_ack_check(uint16_t nr, uint16_t acked, uint16_t next);

#endif
