/* SPDX-License-Identifier: MIT */
/*
 * 7TTCP frame codec (IGSS Generic TCP/IP driver, seed 000, "Format of messages").
 *
 * All fields little-endian, 32-bit:
 *   bytes  0-3   length: total length of the message in bytes
 *   bytes  4-7   opcode: 0 user data, 1 keep-alive
 *   bytes  8-11  node number
 *   bytes 12-15  data group (always 0)
 *   bytes 16-19  word offset
 *   bytes 20-23  type: 1 read, 2 write
 *   bytes 24-27  word length of data
 *   bytes 28-    data words, 16-bit little-endian each (BYTE data: high byte 0)
 *
 * Messages: read request (type 1, count, no data), read response (type 1, count, data),
 * write request (type 2, count, data), write acknowledge (type 2, count, data echoed or
 * not). A keep-alive is the 8-byte header with opcode 1 and length 8; a keep-alive padded
 * to the full 28-byte header is accepted too.
 *
 * Pure code: no I/O, no clock, no allocation. Decoding returns views into the input.
 */
#ifndef PLCLINE_CODEC_TTCP_H
#define PLCLINE_CODEC_TTCP_H

#include <stddef.h>
#include <stdint.h>

#define PL_TTCP_DEFAULT_PORT     12398u /* manual, Node Parameters: Remote Socket number */
#define PL_TTCP_KEEPALIVE_LEN    8u     /* length + opcode */
#define PL_TTCP_HEADER_LEN       28u    /* bytes 0..27 */
#define PL_TTCP_MAX_WORDS        256u   /* manual, error 0x5501: at most 256 items a block */
#define PL_TTCP_LEGACY_WORDS     113u   /* 28 + 2*113 = 254 <= 255 bytes (manual, 0x4008) */
#define PL_TTCP_MAX_FRAME        (PL_TTCP_HEADER_LEN + 2u * PL_TTCP_MAX_WORDS) /* 540 */
#define PL_TTCP_FRAME_LEN(words) (PL_TTCP_HEADER_LEN + 2u * (words))

#define PL_TTCP_OP_DATA      0u
#define PL_TTCP_OP_KEEPALIVE 1u
#define PL_TTCP_TYPE_READ    1u
#define PL_TTCP_TYPE_WRITE   2u

typedef struct {
    uint32_t length; /* bytes 0-3 */
    uint32_t opcode; /* bytes 4-7 */
    uint32_t node;   /* the following are 0 in a short (8-byte) keep-alive */
    uint32_t group;
    uint32_t offset;
    uint32_t type;
    uint32_t count;
    const uint8_t *data; /* view of the data words in the input; NULL when none */
    size_t data_words;   /* words present: `count` or 0 (read request, bare write ack) */
} pl_ttcp_frame_t;

/* Framing of a byte stream. Looks at the first `len` bytes of `buf`:
 *   > 0          a complete frame of that many bytes starts at buf (decode it with
 *                pl_ttcp_decode and consume exactly that many bytes);
 *   PL_EAGAIN    more bytes are needed; *need (if not NULL) is the total the frame needs
 *                as far as can be told yet;
 *   < 0          the stream is broken and no resynchronisation is possible:
 *                PL_ETTCP_SHORT   length field < 8, or < 28 for user data
 *                PL_ETTCP_OPCODE  opcode not 0 or 1
 *                PL_E_7TTCP_MSG_TOO_LONG length field above the frame a block of `max_words` needs
 * Errors are reported as soon as the bytes that prove them are present, never later, so a
 * garbage length never makes the caller wait for bytes that will not come. The result is
 * the same whether the bytes arrive whole, one at a time, or split anywhere. */
int pl_ttcp_frame(const uint8_t *buf, size_t len, size_t max_words, size_t *need);

/* Decodes one complete frame of exactly `len` bytes (as returned by pl_ttcp_frame) and
 * validates it fully. Returns 0 or:
 *   PL_ETTCP_SHORT, PL_ETTCP_OPCODE, PL_E_7TTCP_MSG_TOO_LONG  as above
 *   PL_ETTCP_GROUP    data group not 0
 *   PL_ETTCP_TYPE     type not 1 or 2
 *   PL_EBLOCK_TOO_BIG word count above `max_words`
 *   PL_ETTCP_LENGTH   length is neither 28 nor 28 + 2*count (or `len` differs from it)
 * Keep-alives (8 or 28 bytes, opcode 1) decode with the other fields 0 or as sent. */
int pl_ttcp_decode(const uint8_t *buf, size_t len, size_t max_words, pl_ttcp_frame_t *out);

/* Reads data word `i` (< f->data_words) of a decoded frame. */
uint16_t pl_ttcp_word(const pl_ttcp_frame_t *f, size_t i);

/* Encodes a frame into buf[0..cap). `words` (host order) may be NULL for no data; when not
 * NULL, `count` words are written after the header. Returns the frame length or PL_ENOBUFS.
 * Does not validate opcode/type (tests use it to build bad frames). */
int pl_ttcp_encode(uint8_t *buf, size_t cap, uint32_t opcode, uint32_t node, uint32_t offset,
                   uint32_t type, uint32_t count, const uint16_t *words);

/* Encodes a keep-alive: 8 bytes (full = 0) or 28 bytes (full = 1). Returns length or
 * PL_ENOBUFS. */
int pl_ttcp_encode_keepalive(uint8_t *buf, size_t cap, int full);

#endif
