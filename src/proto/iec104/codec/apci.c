/* SPDX-License-Identifier: MIT */
/*
 * IEC 60870-5-104 APCI codec: framing by start byte and length octet, the control field of
 * I-, S- and U-frames, and sequence-number arithmetic modulo 32768.
 *
 * It must not do I/O, read a clock, allocate, or keep state between calls.
 *
 * Which check fires where:
 *   1 byte    not 0x68                                PL_EIEC104_START    (pl_iec104_frame)
 *   2 bytes   length octet < 4 or > 253               PL_EIEC104_LENGTH   (pl_iec104_frame)
 *   complete  control field fits no frame kind        PL_EIEC104_CONTROL  (pl_iec104_decode)
 *             S/U-frame not 6 bytes, I-frame 6 bytes  PL_EIEC104_LENGTH   (pl_iec104_decode)
 * The first two make the frame boundary untrustworthy, so the stream is broken. The others
 * are found in a soundly delimited APDU; the standard still closes the connection on them,
 * but that is the session's decision.
 */
#include "proto/iec104/codec/apci.h"
#include "plcline/error.h"

#include <string.h>

/* Offsets in an APDU (5.1). */
#define OFF_START  0u
#define OFF_LENGTH 1u
#define OFF_CF1    2u
#define OFF_CF2    3u
#define OFF_CF3    4u
#define OFF_CF4    5u
#define OFF_ASDU   PL_IEC104_APCI_LEN

#define SEQ_MASK      0x7FFFu /* 15-bit sequence numbers */
#define CF1_I_MASK    0x01u   /* bit 0 of octet 1 is 0 in an I-frame */
#define CF1_KIND_MASK 0x03u   /* bits 0-1 of octet 1: x0 I, 01 S, 11 U */
#define CF1_S         0x01u
#define CF1_U         0x03u
#define CF1_U_FUNCS   0xFCu /* the six function bits of a U-frame */
#define CF3_ZERO      0x01u /* bit 0 of octet 3 is 0 in I- and S-frames */

static int need_more(size_t *need, size_t total)
{
    if (need != NULL)
        *need = total;
    return PL_EAGAIN;
}

int pl_iec104_frame(const uint8_t *buf, size_t len, size_t *need)
{
    size_t total;

    if (len < OFF_START + 1u)
        return need_more(need, OFF_LENGTH + 1u);
    if (buf[OFF_START] != PL_IEC104_START)
        return PL_EIEC104_START;
    if (len < OFF_LENGTH + 1u)
        return need_more(need, OFF_LENGTH + 1u);
    if (buf[OFF_LENGTH] < PL_IEC104_MIN_LENGTH || buf[OFF_LENGTH] > PL_IEC104_MAX_LENGTH)
        return PL_EIEC104_LENGTH;
    total = 2u + (size_t)buf[OFF_LENGTH];
    if (len < total)
        return need_more(need, total);
    if (need != NULL)
        *need = total;
    return (int)total;
}

static uint16_t get_seq(const uint8_t *p)
{
    return (uint16_t)(((unsigned)p[0] >> 1) | ((unsigned)p[1] << 7));
}

static void put_seq(uint8_t *p, uint16_t seq)
{
    unsigned v = (unsigned)seq & SEQ_MASK;

    p[0] = (uint8_t)((v << 1) & 0xFEu);
    p[1] = (uint8_t)(v >> 7);
}

/* Exactly one bit set. */
static int one_bit(unsigned v)
{
    return v != 0u && (v & (v - 1u)) == 0u;
}

int pl_iec104_decode(const uint8_t *buf, size_t len, pl_iec104_apdu_t *out)
{
    uint8_t cf1;
    int r;

    memset(out, 0, sizeof(*out));
    if (len > OFF_LENGTH)
        out->length = buf[OFF_LENGTH];
    r = pl_iec104_frame(buf, len, NULL);
    if (r == PL_EAGAIN) /* `len` is shorter than the APDU */
        return len == 0 ? PL_EIEC104_START : PL_EIEC104_LENGTH;
    if (r < 0)
        return r;
    if ((size_t)r != len) /* trailing bytes after the APDU */
        return PL_EIEC104_LENGTH;

    cf1 = buf[OFF_CF1];
    if ((cf1 & CF1_I_MASK) == 0u) {
        out->kind = PL_IEC104_FRAME_I;
        out->ns = get_seq(buf + OFF_CF1);
        out->nr = get_seq(buf + OFF_CF3);
        if ((buf[OFF_CF3] & CF3_ZERO) != 0u)
            return PL_EIEC104_CONTROL;
        if (len == PL_IEC104_APCI_LEN)
            return PL_EIEC104_LENGTH;
        out->asdu = buf + OFF_ASDU;
        out->asdu_len = len - OFF_ASDU;
        return 0;
    }
    if ((cf1 & CF1_KIND_MASK) == CF1_S) {
        out->kind = PL_IEC104_FRAME_S;
        out->nr = get_seq(buf + OFF_CF3);
        if (cf1 != CF1_S || buf[OFF_CF2] != 0u || (buf[OFF_CF3] & CF3_ZERO) != 0u)
            return PL_EIEC104_CONTROL;
        if (len != PL_IEC104_APCI_LEN)
            return PL_EIEC104_LENGTH;
        return 0;
    }
    out->kind = PL_IEC104_FRAME_U;
    out->func = (uint8_t)(cf1 & CF1_U_FUNCS);
    if (!one_bit(out->func) || buf[OFF_CF2] != 0u || buf[OFF_CF3] != 0u || buf[OFF_CF4] != 0u)
        return PL_EIEC104_CONTROL;
    if (len != PL_IEC104_APCI_LEN)
        return PL_EIEC104_LENGTH;
    return 0;
}

int pl_iec104_encode_i(uint8_t *buf, size_t cap, uint16_t ns, uint16_t nr, const uint8_t *asdu,
                       size_t asdu_len)
{
    if (asdu_len == 0u || asdu_len > PL_IEC104_MAX_ASDU)
        return PL_EINVAL;
    if (cap < OFF_ASDU + asdu_len)
        return PL_ENOBUFS;
    memmove(buf + OFF_ASDU, asdu, asdu_len);
    buf[OFF_START] = PL_IEC104_START;
    buf[OFF_LENGTH] = (uint8_t)(PL_IEC104_MIN_LENGTH + asdu_len);
    put_seq(buf + OFF_CF1, ns);
    put_seq(buf + OFF_CF3, nr);
    return (int)(OFF_ASDU + asdu_len);
}

int pl_iec104_encode_s(uint8_t *buf, size_t cap, uint16_t nr)
{
    if (cap < PL_IEC104_APCI_LEN)
        return PL_ENOBUFS;
    buf[OFF_START] = PL_IEC104_START;
    buf[OFF_LENGTH] = PL_IEC104_MIN_LENGTH;
    buf[OFF_CF1] = CF1_S;
    buf[OFF_CF2] = 0u;
    put_seq(buf + OFF_CF3, nr);
    return (int)PL_IEC104_APCI_LEN;
}

int pl_iec104_encode_u(uint8_t *buf, size_t cap, uint8_t func)
{
    if (!one_bit(func) || (func & ~CF1_U_FUNCS) != 0u)
        return PL_EINVAL;
    if (cap < PL_IEC104_APCI_LEN)
        return PL_ENOBUFS;
    buf[OFF_START] = PL_IEC104_START;
    buf[OFF_LENGTH] = PL_IEC104_MIN_LENGTH;
    buf[OFF_CF1] = (uint8_t)(func | CF1_U);
    buf[OFF_CF2] = 0u;
    buf[OFF_CF3] = 0u;
    buf[OFF_CF4] = 0u;
    return (int)PL_IEC104_APCI_LEN;
}

const char *pl_iec104_u_name(uint8_t func)
{
    switch (func) {
    case PL_IEC104_U_STARTDT_ACT:
        return "STARTDT act";
    case PL_IEC104_U_STARTDT_CON:
        return "STARTDT con";
    case PL_IEC104_U_STOPDT_ACT:
        return "STOPDT act";
    case PL_IEC104_U_STOPDT_CON:
        return "STOPDT con";
    case PL_IEC104_U_TESTFR_ACT:
        return "TESTFR act";
    case PL_IEC104_U_TESTFR_CON:
        return "TESTFR con";
    default:
        return NULL;
    }
}

uint16_t pl_iec104_seq_add(uint16_t seq, uint32_t n)
{
    return (uint16_t)(((uint32_t)seq + n) & SEQ_MASK);
}

uint16_t pl_iec104_seq_diff(uint16_t to, uint16_t from)
{
    return (uint16_t)(((uint32_t)to - (uint32_t)from) & SEQ_MASK);
}

int pl_iec104_ack_check(uint16_t nr, uint16_t acked, uint16_t next)
{
    uint16_t outstanding = pl_iec104_seq_diff(next, acked);
    uint16_t acks = pl_iec104_seq_diff(nr, acked);

    if (nr > SEQ_MASK || acks > outstanding)
        return PL_EIEC104_ACK;
    return (int)acks;
}
