/* SPDX-License-Identifier: MIT */
/*
 * 7TTCP frame codec (seed 000, "Format of messages"): finds frame boundaries in a byte
 * stream, validates and decodes frames into fixed fields plus a view of the data words, and
 * encodes frames into caller-supplied buffers. Every field is little-endian and is read and
 * written byte by byte, so the input may sit at any alignment.
 *
 * It must not do I/O, read a clock, allocate, or keep state between calls: the same bytes
 * give the same answer however they arrive.
 *
 * Which check fires where (each check runs as soon as the bytes it needs are present, and
 * checks run in the order of the bytes they need, so a stream split anywhere gives the same
 * first error):
 *   4 bytes   length < 8                              PL_ETTCP_SHORT
 *             length > frame for `max_words` words    PL_E_7TTCP_MSG_TOO_LONG
 *   8 bytes   opcode not 0 or 1                       PL_ETTCP_OPCODE
 *             user data with length < 28              PL_ETTCP_SHORT
 *             keep-alive with length not 8 nor 28     PL_ETTCP_LENGTH
 *   28 bytes  user data with length neither 28 nor 28 + 2*count   PL_ETTCP_LENGTH
 * These make the frame boundary untrustworthy, so pl_ttcp_frame reports them and the stream
 * is broken. A frame whose boundary is sound but whose content is wrong (group, type, a
 * count above `max_words` in a 28-byte frame) is framed normally and rejected by
 * pl_ttcp_decode; the caller may skip it.
 */
#include "proto/ttcp/codec/ttcp.h"
#include "plcline/error.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

/* Byte offsets of the fields (seed 000, "Format of messages", TCP Header / TCP Data). */
#define OFF_LENGTH 0u
#define OFF_OPCODE 4u
#define OFF_NODE   8u
#define OFF_GROUP  12u
#define OFF_OFFSET 16u
#define OFF_TYPE   20u
#define OFF_COUNT  24u
#define OFF_DATA   PL_TTCP_HEADER_LEN
#define FIELD_LEN  4u /* every header field is 32 bits */

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
    p[2] = (uint8_t)((v >> 16) & 0xFFu);
    p[3] = (uint8_t)((v >> 24) & 0xFFu);
}

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
}

/* The longest frame accepted for blocks of `max_words` words. Capped at INT_MAX so that a
 * frame length can always be returned as an int (a huge max_words cannot overflow). */
static uint64_t max_frame_len(size_t max_words)
{
    uint64_t words = (uint64_t)max_words;
    uint64_t limit = (uint64_t)INT_MAX;

    if (words > (limit - PL_TTCP_HEADER_LEN) / 2u)
        return limit;
    return PL_TTCP_FRAME_LEN(words);
}

static int need_more(size_t *need, size_t total)
{
    if (need != NULL)
        *need = total;
    return PL_EAGAIN;
}

int pl_ttcp_frame(const uint8_t *buf, size_t len, size_t max_words, size_t *need)
{
    uint32_t length;
    uint32_t opcode;
    uint32_t count;

    /* Every frame is at least a short keep-alive, so ask for that much first. */
    if (len < OFF_LENGTH + FIELD_LEN)
        return need_more(need, PL_TTCP_KEEPALIVE_LEN);
    length = get_u32(buf + OFF_LENGTH);
    if (length < PL_TTCP_KEEPALIVE_LEN)
        return PL_ETTCP_SHORT;
    if ((uint64_t)length > max_frame_len(max_words))
        return PL_E_7TTCP_MSG_TOO_LONG;

    if (len < OFF_OPCODE + FIELD_LEN)
        return need_more(need, length);
    opcode = get_u32(buf + OFF_OPCODE);
    if (opcode == PL_TTCP_OP_KEEPALIVE) {
        /* Only the bare 8-byte keep-alive and one padded to the full header exist; any
         * other length is a length/content disagreement, hence PL_ETTCP_LENGTH. */
        if (length != PL_TTCP_KEEPALIVE_LEN && length != PL_TTCP_HEADER_LEN)
            return PL_ETTCP_LENGTH;
    } else if (opcode == PL_TTCP_OP_DATA) {
        if (length < PL_TTCP_HEADER_LEN)
            return PL_ETTCP_SHORT;
        if (len < OFF_COUNT + FIELD_LEN)
            return need_more(need, length);
        count = get_u32(buf + OFF_COUNT);
        /* No data (read request, bare write ack) or exactly `count` words. */
        if (length != PL_TTCP_HEADER_LEN && (uint64_t)length != PL_TTCP_FRAME_LEN((uint64_t)count))
            return PL_ETTCP_LENGTH;
    } else {
        return PL_ETTCP_OPCODE;
    }

    if (len < length)
        return need_more(need, length);
    if (need != NULL)
        *need = length;
    return (int)length;
}

int pl_ttcp_decode(const uint8_t *buf, size_t len, size_t max_words, pl_ttcp_frame_t *out)
{
    int r;

    /* Fill what is present even on error, so callers can name the bad value. */
    memset(out, 0, sizeof(*out));
    if (len >= OFF_LENGTH + FIELD_LEN)
        out->length = get_u32(buf + OFF_LENGTH);
    if (len >= OFF_OPCODE + FIELD_LEN)
        out->opcode = get_u32(buf + OFF_OPCODE);
    if (len >= OFF_NODE + FIELD_LEN)
        out->node = get_u32(buf + OFF_NODE);
    if (len >= OFF_GROUP + FIELD_LEN)
        out->group = get_u32(buf + OFF_GROUP);
    if (len >= OFF_OFFSET + FIELD_LEN)
        out->offset = get_u32(buf + OFF_OFFSET);
    if (len >= OFF_TYPE + FIELD_LEN)
        out->type = get_u32(buf + OFF_TYPE);
    if (len >= OFF_COUNT + FIELD_LEN)
        out->count = get_u32(buf + OFF_COUNT);

    r = pl_ttcp_frame(buf, len, max_words, NULL);
    if (r == PL_EAGAIN) /* `len` is shorter than the frame */
        return len < PL_TTCP_KEEPALIVE_LEN ? PL_ETTCP_SHORT : PL_ETTCP_LENGTH;
    if (r < 0)
        return r;
    if ((size_t)r != len) /* trailing bytes after the frame */
        return PL_ETTCP_LENGTH;

    if (out->opcode == PL_TTCP_OP_KEEPALIVE)
        return 0; /* padding fields are reported as sent, not judged */

    /* Content checks, in wire order. */
    if (out->group != 0u)
        return PL_ETTCP_GROUP;
    if (out->type != PL_TTCP_TYPE_READ && out->type != PL_TTCP_TYPE_WRITE)
        return PL_ETTCP_TYPE;
    if ((uint64_t)out->count > (uint64_t)max_words)
        return PL_EBLOCK_TOO_BIG;
    if (out->length > PL_TTCP_HEADER_LEN) {
        out->data = buf + OFF_DATA;
        out->data_words = out->count;
    }
    return 0;
}

uint16_t pl_ttcp_word(const pl_ttcp_frame_t *f, size_t i)
{
    const uint8_t *p;

    if (f->data == NULL || i >= f->data_words)
        return 0;
    p = f->data + 2u * i;
    return (uint16_t)(p[0] | (p[1] << 8));
}

int pl_ttcp_encode(uint8_t *buf, size_t cap, uint32_t opcode, uint32_t node, uint32_t offset,
                   uint32_t type, uint32_t count, const uint16_t *words)
{
    uint64_t total = PL_TTCP_HEADER_LEN;
    uint32_t i;

    if (words != NULL)
        total = PL_TTCP_FRAME_LEN((uint64_t)count);
    if (total > (uint64_t)cap)
        return PL_ENOBUFS;
    if (total > (uint64_t)INT_MAX) /* cannot be returned, nor sent in the length field */
        return PL_ERANGE;

    put_u32(buf + OFF_LENGTH, (uint32_t)total);
    put_u32(buf + OFF_OPCODE, opcode);
    put_u32(buf + OFF_NODE, node);
    put_u32(buf + OFF_GROUP, 0u); /* the driver only handles data group 0 */
    put_u32(buf + OFF_OFFSET, offset);
    put_u32(buf + OFF_TYPE, type);
    put_u32(buf + OFF_COUNT, count);
    if (words != NULL) {
        for (i = 0; i < count; i++)
            put_u16(buf + OFF_DATA + 2u * (size_t)i, words[i]);
    }
    return (int)total;
}

int pl_ttcp_encode_keepalive(uint8_t *buf, size_t cap, int full)
{
    size_t total = full ? PL_TTCP_HEADER_LEN : PL_TTCP_KEEPALIVE_LEN;

    if (cap < total)
        return PL_ENOBUFS;
    memset(buf, 0, total);
    put_u32(buf + OFF_LENGTH, (uint32_t)total);
    put_u32(buf + OFF_OPCODE, PL_TTCP_OP_KEEPALIVE);
    return (int)total;
}
