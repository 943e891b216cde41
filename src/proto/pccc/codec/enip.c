/* SPDX-License-Identifier: MIT */
/*
 * EtherNet/IP encapsulation codec (CIP Networks Library Vol 2, chapter 2): frames a byte
 * stream, decodes the 24-byte header, RegisterSession, SendRRData/SendUnitData data, the
 * Common Packet Format and the ListIdentity CIP Identity item, and encodes all of them.
 * Fields are read and written byte by byte, so the input may sit at any alignment.
 *
 * It must not do I/O, read a clock, allocate or keep state between calls. Every decoder
 * first checks that the bytes it reads are present, then that the length fields agree,
 * and only then hands out views; a view never reaches past the input.
 */
#include "proto/pccc/codec/enip.h"
#include "plcline/error.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

/* Header field offsets (Vol 2, Table 2-3.1). */
#define OFF_COMMAND 0u
#define OFF_LENGTH  2u
#define OFF_SESSION 4u
#define OFF_STATUS  8u
#define OFF_CONTEXT 12u
#define OFF_OPTIONS 20u

/* CIP Identity item field offsets (Vol 2, Table 2-4.4). */
#define ID_OFF_VERSION   0u
#define ID_OFF_FAMILY    2u
#define ID_OFF_PORT      4u
#define ID_OFF_ADDR      6u
#define ID_OFF_ZERO      10u
#define ID_OFF_VENDOR    18u
#define ID_OFF_DEVTYPE   20u
#define ID_OFF_PRODUCT   22u
#define ID_OFF_REV_MAJ   24u
#define ID_OFF_REV_MIN   25u
#define ID_OFF_STATUS    26u
#define ID_OFF_SERIAL    28u
#define ID_OFF_NAME_LEN  32u
#define ID_OFF_NAME      33u
#define ID_STATE_LEN     1u
#define SHORT_STRING_MAX 255u

#define U16_LEN 2u
#define U32_LEN 4u

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
    p[2] = (uint8_t)((v >> 16) & 0xFFu);
    p[3] = (uint8_t)(v >> 24);
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)(v & 0xFFu);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)((v >> 16) & 0xFFu);
    p[2] = (uint8_t)((v >> 8) & 0xFFu);
    p[3] = (uint8_t)(v & 0xFFu);
}

/* Copies n bytes unless they are already in place; src may be NULL when n is 0. */
static void move(uint8_t *dst, const uint8_t *src, size_t n)
{
    if (n != 0u && dst != src)
        memmove(dst, src, n);
}

/* ------------------------------------------------------------------ header */

int pl_enip_frame(const uint8_t *buf, size_t len, size_t max_data, size_t *need)
{
    size_t total;
    uint16_t length;

    if (len < OFF_LENGTH + U16_LEN) {
        if (need != NULL)
            *need = PL_ENIP_HEADER_LEN;
        return PL_EAGAIN;
    }
    length = get_u16(buf + OFF_LENGTH);
    if ((size_t)length > max_data)
        return PL_EMSG_TOO_LONG;
    total = PL_ENIP_HEADER_LEN + (size_t)length;
    if (need != NULL)
        *need = total;
    if (len < total)
        return PL_EAGAIN;
    return (int)total;
}

int pl_enip_decode(const uint8_t *buf, size_t len, pl_enip_msg_t *out)
{
    memset(out, 0, sizeof(*out));
    if (len >= OFF_COMMAND + U16_LEN)
        out->command = get_u16(buf + OFF_COMMAND);
    if (len >= OFF_LENGTH + U16_LEN)
        out->length = get_u16(buf + OFF_LENGTH);
    if (len < PL_ENIP_HEADER_LEN)
        return PL_EENIP_SHORT;
    out->session = get_u32(buf + OFF_SESSION);
    out->status = get_u32(buf + OFF_STATUS);
    memcpy(out->context, buf + OFF_CONTEXT, PL_ENIP_CONTEXT_LEN);
    out->options = get_u32(buf + OFF_OPTIONS);
    if (len < PL_ENIP_HEADER_LEN + (size_t)out->length)
        return PL_EENIP_SHORT;
    if (len > PL_ENIP_HEADER_LEN + (size_t)out->length)
        return PL_EENIP_LENGTH;
    out->data_len = out->length;
    out->data = out->length != 0u ? buf + PL_ENIP_HEADER_LEN : NULL;
    return 0;
}

int pl_enip_encode(uint8_t *buf, size_t cap, const pl_enip_msg_t *m)
{
    if (m->data_len > PL_ENIP_MAX_LENGTH)
        return PL_ERANGE;
    if (cap < PL_ENIP_HEADER_LEN + m->data_len)
        return PL_ENOBUFS;
    /* data before the header, so data already placed at buf + 24 stays exact */
    move(buf + PL_ENIP_HEADER_LEN, m->data, m->data_len);
    put_u16(buf + OFF_COMMAND, m->command);
    put_u16(buf + OFF_LENGTH, (uint16_t)m->data_len);
    put_u32(buf + OFF_SESSION, m->session);
    put_u32(buf + OFF_STATUS, m->status);
    memcpy(buf + OFF_CONTEXT, m->context, PL_ENIP_CONTEXT_LEN);
    put_u32(buf + OFF_OPTIONS, m->options);
    return (int)(PL_ENIP_HEADER_LEN + m->data_len);
}

const char *pl_enip_command_name(uint16_t command)
{
    switch (command) {
    case PL_ENIP_CMD_NOP:
        return "NOP";
    case PL_ENIP_CMD_LIST_SERVICES:
        return "ListServices";
    case PL_ENIP_CMD_LIST_IDENTITY:
        return "ListIdentity";
    case PL_ENIP_CMD_LIST_INTERFACES:
        return "ListInterfaces";
    case PL_ENIP_CMD_REGISTER_SESSION:
        return "RegisterSession";
    case PL_ENIP_CMD_UNREGISTER_SESSION:
        return "UnRegisterSession";
    case PL_ENIP_CMD_SEND_RR_DATA:
        return "SendRRData";
    case PL_ENIP_CMD_SEND_UNIT_DATA:
        return "SendUnitData";
    default:
        return "unknown";
    }
}

const char *pl_enip_status_name(uint32_t status)
{
    switch (status) {
    case PL_ENIP_STATUS_SUCCESS:
        return "success";
    case PL_ENIP_STATUS_INVALID_COMMAND:
        return "invalid or unsupported encapsulation command";
    case PL_ENIP_STATUS_INSUFFICIENT_MEMORY:
        return "insufficient memory in the target";
    case PL_ENIP_STATUS_INCORRECT_DATA:
        return "poorly formed or incorrect data";
    case PL_ENIP_STATUS_INVALID_SESSION:
        return "invalid session handle";
    case PL_ENIP_STATUS_INVALID_LENGTH:
        return "invalid length";
    case PL_ENIP_STATUS_UNSUPPORTED_PROTOCOL:
        return "unsupported encapsulation protocol revision";
    default:
        return "unknown";
    }
}

/* --------------------------------------------------------- RegisterSession */

int pl_enip_register_decode(const uint8_t *data, size_t len, uint16_t *version, uint16_t *options)
{
    if (len < PL_ENIP_REGISTER_DATA_LEN)
        return PL_EENIP_SHORT;
    if (len > PL_ENIP_REGISTER_DATA_LEN)
        return PL_EENIP_LENGTH;
    *version = get_u16(data);
    *options = get_u16(data + U16_LEN);
    return 0;
}

int pl_enip_register_encode(uint8_t *buf, size_t cap, uint16_t version, uint16_t options)
{
    if (cap < PL_ENIP_REGISTER_DATA_LEN)
        return PL_ENOBUFS;
    put_u16(buf, version);
    put_u16(buf + U16_LEN, options);
    return (int)PL_ENIP_REGISTER_DATA_LEN;
}

/* A session command's request: the header with only `command`, `session` and the length
 * set, then `data`. */
static int session_request(uint8_t *buf, size_t cap, uint16_t command, uint32_t session,
                           const uint8_t *data, size_t len)
{
    pl_enip_msg_t m;

    memset(&m, 0, sizeof(m));
    m.command = command;
    m.session = session;
    m.data = data;
    m.data_len = len;
    return pl_enip_encode(buf, cap, &m);
}

int pl_enip_register_request(uint8_t *buf, size_t cap)
{
    uint8_t data[PL_ENIP_REGISTER_DATA_LEN];

    (void)pl_enip_register_encode(data, sizeof(data), PL_ENIP_PROTOCOL_VERSION, 0);
    return session_request(buf, cap, PL_ENIP_CMD_REGISTER_SESSION, 0, data, sizeof(data));
}

int pl_enip_unregister_request(uint8_t *buf, size_t cap, uint32_t session)
{
    return session_request(buf, cap, PL_ENIP_CMD_UNREGISTER_SESSION, session, NULL, 0);
}

int pl_enip_list_identity_request(uint8_t *buf, size_t cap)
{
    return session_request(buf, cap, PL_ENIP_CMD_LIST_IDENTITY, 0, NULL, 0);
}

int pl_enip_register_strict(const pl_enip_msg_t *m)
{
    static const uint8_t zero[PL_ENIP_CONTEXT_LEN] = {0};

    return m->session == 0 && m->status == 0 && m->options == 0 &&
           memcmp(m->context, zero, PL_ENIP_CONTEXT_LEN) == 0;
}

/* ---------------------------------------------------- Common Packet Format */

/* The length a fixed-size item must have, or -1 when its length is free. Connected data
 * only has a minimum (its sequence count), checked apart. */
static long fixed_item_len(uint16_t type)
{
    switch (type) {
    case PL_CPF_NULL_ADDRESS:
        return 0;
    case PL_CPF_CONNECTED_ADDRESS:
        return (long)PL_CPF_CONN_ADDR_LEN;
    case PL_CPF_SEQUENCED_ADDRESS:
        return (long)PL_CPF_SEQ_ADDR_LEN;
    case PL_CPF_SOCKADDR_O_T:
    case PL_CPF_SOCKADDR_T_O:
        return (long)PL_CPF_SOCKADDR_LEN;
    default:
        return -1;
    }
}

int pl_cpf_decode(const uint8_t *buf, size_t len, pl_cpf_t *out)
{
    size_t pos = U16_LEN;
    uint16_t i;

    memset(out, 0, sizeof(*out));
    if (len < U16_LEN)
        return PL_EENIP_SHORT;
    out->count = get_u16(buf);
    if (out->count > PL_CPF_MAX_ITEMS)
        return PL_EENIP_CPF_COUNT;
    for (i = 0; i < out->count; i++) {
        pl_cpf_item_t *it = &out->item[i];
        long fixed;

        if (len - pos < PL_CPF_ITEM_HEADER_LEN)
            return PL_EENIP_SHORT;
        it->type = get_u16(buf + pos);
        it->length = get_u16(buf + pos + U16_LEN);
        pos += PL_CPF_ITEM_HEADER_LEN;
        if (len - pos < (size_t)it->length)
            return PL_EENIP_SHORT;
        fixed = fixed_item_len(it->type);
        if (fixed >= 0 && (long)it->length != fixed)
            return PL_EENIP_LENGTH;
        if (it->type == PL_CPF_CONNECTED_DATA && it->length < PL_CPF_SEQ_COUNT_LEN)
            return PL_EENIP_LENGTH;
        it->data = it->length != 0u ? buf + pos : NULL;
        pos += it->length;
    }
    if (pos != len)
        return PL_EENIP_LENGTH;
    return 0;
}

int pl_cpf_encode(uint8_t *buf, size_t cap, const pl_cpf_t *cpf)
{
    size_t total = U16_LEN;
    size_t pos;
    uint16_t i;

    if (cpf->count > PL_CPF_MAX_ITEMS)
        return PL_EINVAL;
    for (i = 0; i < cpf->count; i++) {
        if (cpf->item[i].length != 0u && cpf->item[i].data == NULL)
            return PL_EINVAL;
        total += PL_CPF_ITEM_HEADER_LEN + cpf->item[i].length;
    }
    if (total > cap)
        return PL_ENOBUFS;
    /* items are copied back to front so that data already placed in buf is not overrun
     * when it sits at or after its destination */
    pos = total;
    for (i = cpf->count; i > 0; i--) {
        const pl_cpf_item_t *it = &cpf->item[i - 1u];

        pos -= it->length;
        move(buf + pos, it->data, it->length);
        pos -= PL_CPF_ITEM_HEADER_LEN;
        put_u16(buf + pos, it->type);
        put_u16(buf + pos + U16_LEN, it->length);
    }
    put_u16(buf, cpf->count);
    return (int)total;
}

int pl_cpf_encode_unconnected(uint8_t *buf, size_t cap, const uint8_t *cip, size_t cip_len)
{
    pl_cpf_t cpf;

    if (cip_len > PL_ENIP_MAX_LENGTH)
        return PL_ERANGE;
    memset(&cpf, 0, sizeof(cpf));
    cpf.count = 2;
    cpf.item[0].type = PL_CPF_NULL_ADDRESS;
    cpf.item[1].type = PL_CPF_UNCONNECTED_DATA;
    cpf.item[1].length = (uint16_t)cip_len;
    cpf.item[1].data = cip;
    return pl_cpf_encode(buf, cap, &cpf);
}

int pl_cpf_encode_connected(uint8_t *buf, size_t cap, uint32_t conn_id, uint16_t seq,
                            const uint8_t *cip, size_t cip_len)
{
    /* 2 items: address (header + 4) and data (header + sequence count + message) */
    const size_t data_at = U16_LEN + 2u * PL_CPF_ITEM_HEADER_LEN + PL_CPF_CONN_ADDR_LEN;
    const size_t total = data_at + PL_CPF_SEQ_COUNT_LEN + cip_len;

    if (cip_len > PL_ENIP_MAX_LENGTH - PL_CPF_SEQ_COUNT_LEN)
        return PL_ERANGE;
    if (total > cap)
        return PL_ENOBUFS;
    move(buf + data_at + PL_CPF_SEQ_COUNT_LEN, cip, cip_len);
    put_u16(buf, 2u);
    put_u16(buf + U16_LEN, PL_CPF_CONNECTED_ADDRESS);
    put_u16(buf + U16_LEN * 2u, PL_CPF_CONN_ADDR_LEN);
    put_u32(buf + U16_LEN + PL_CPF_ITEM_HEADER_LEN, conn_id);
    put_u16(buf + data_at - PL_CPF_ITEM_HEADER_LEN, PL_CPF_CONNECTED_DATA);
    put_u16(buf + data_at - U16_LEN, (uint16_t)(PL_CPF_SEQ_COUNT_LEN + cip_len));
    put_u16(buf + data_at, seq);
    return (int)total;
}

int pl_cpf_unconnected(const pl_cpf_t *cpf, const uint8_t **cip, size_t *cip_len)
{
    if (cpf->count != 2u || cpf->item[0].type != PL_CPF_NULL_ADDRESS ||
        cpf->item[1].type != PL_CPF_UNCONNECTED_DATA)
        return PL_EENIP_CPF_ITEM;
    *cip = cpf->item[1].data;
    *cip_len = cpf->item[1].length;
    return 0;
}

int pl_cpf_connected(const pl_cpf_t *cpf, uint32_t *conn_id, uint16_t *seq, const uint8_t **cip,
                     size_t *cip_len)
{
    const pl_cpf_item_t *a = &cpf->item[0];
    const pl_cpf_item_t *d = &cpf->item[1];

    if (cpf->count != 2u || a->type != PL_CPF_CONNECTED_ADDRESS ||
        a->length != PL_CPF_CONN_ADDR_LEN || d->type != PL_CPF_CONNECTED_DATA ||
        d->length < PL_CPF_SEQ_COUNT_LEN)
        return PL_EENIP_CPF_ITEM;
    *conn_id = get_u32(a->data);
    *seq = get_u16(d->data);
    *cip_len = (size_t)d->length - PL_CPF_SEQ_COUNT_LEN;
    *cip = *cip_len != 0u ? d->data + PL_CPF_SEQ_COUNT_LEN : NULL;
    return 0;
}

/* ------------------------------------------------- SendRRData/SendUnitData */

int pl_enip_cip_frame(uint8_t *buf, size_t cap, const pl_enip_cip_t *f, size_t cip_len)
{
    const size_t head = f->connected ? PL_ENIP_CIP_CONNECTED_LEN : PL_ENIP_CIP_UNCONNECTED_LEN;
    const size_t item = f->connected ? PL_CPF_SEQ_COUNT_LEN + cip_len : cip_len;
    uint8_t *p = buf + PL_ENIP_HEADER_LEN;

    if (cip_len > PL_ENIP_MAX_LENGTH || item > PL_ENIP_MAX_LENGTH ||
        head - PL_ENIP_HEADER_LEN + cip_len > PL_ENIP_MAX_LENGTH)
        return PL_ERANGE;
    if (cap < head || cap - head < cip_len)
        return PL_ENOBUFS;
    put_u16(buf + OFF_COMMAND,
            f->connected ? PL_ENIP_CMD_SEND_UNIT_DATA : PL_ENIP_CMD_SEND_RR_DATA);
    put_u16(buf + OFF_LENGTH, (uint16_t)(head - PL_ENIP_HEADER_LEN + cip_len));
    put_u32(buf + OFF_SESSION, f->session);
    put_u32(buf + OFF_STATUS, 0);
    memcpy(buf + OFF_CONTEXT, f->context, PL_ENIP_CONTEXT_LEN);
    put_u32(buf + OFF_OPTIONS, 0);
    put_u32(p, PL_ENIP_INTERFACE_HANDLE);
    put_u16(p + U32_LEN, f->timeout);
    p += PL_ENIP_RR_PREFIX_LEN;
    put_u16(p, 2u); /* item count */
    p += U16_LEN;
    if (f->connected) {
        put_u16(p, PL_CPF_CONNECTED_ADDRESS);
        put_u16(p + U16_LEN, PL_CPF_CONN_ADDR_LEN);
        put_u32(p + PL_CPF_ITEM_HEADER_LEN, f->conn_id);
        p += PL_CPF_ITEM_HEADER_LEN + PL_CPF_CONN_ADDR_LEN;
        put_u16(p, PL_CPF_CONNECTED_DATA);
        put_u16(p + U16_LEN, (uint16_t)item);
        put_u16(p + PL_CPF_ITEM_HEADER_LEN, f->seq);
    } else {
        put_u16(p, PL_CPF_NULL_ADDRESS);
        put_u16(p + U16_LEN, 0);
        p += PL_CPF_ITEM_HEADER_LEN;
        put_u16(p, PL_CPF_UNCONNECTED_DATA);
        put_u16(p + U16_LEN, (uint16_t)item);
    }
    return (int)(head + cip_len);
}

int pl_enip_rr_decode(const uint8_t *data, size_t len, pl_enip_rr_t *out)
{
    memset(out, 0, sizeof(*out));
    if (len < PL_ENIP_RR_PREFIX_LEN)
        return PL_EENIP_SHORT;
    out->interface_handle = get_u32(data);
    out->timeout = get_u16(data + U32_LEN);
    return pl_cpf_decode(data + PL_ENIP_RR_PREFIX_LEN, len - PL_ENIP_RR_PREFIX_LEN, &out->cpf);
}

int pl_enip_rr_encode(uint8_t *buf, size_t cap, uint16_t timeout, const uint8_t *cpf,
                      size_t cpf_len)
{
    if (cap < PL_ENIP_RR_PREFIX_LEN || cap - PL_ENIP_RR_PREFIX_LEN < cpf_len)
        return PL_ENOBUFS;
    if (PL_ENIP_RR_PREFIX_LEN + cpf_len > (size_t)INT_MAX)
        return PL_ERANGE;
    move(buf + PL_ENIP_RR_PREFIX_LEN, cpf, cpf_len);
    put_u32(buf, PL_ENIP_INTERFACE_HANDLE);
    put_u16(buf + U32_LEN, timeout);
    return (int)(PL_ENIP_RR_PREFIX_LEN + cpf_len);
}

/* ---------------------------------------------------------- ListIdentity */

int pl_enip_identity_decode(const uint8_t *data, size_t len, pl_enip_identity_t *out)
{
    size_t name_len;

    memset(out, 0, sizeof(*out));
    if (len < PL_ENIP_IDENTITY_FIXED_LEN)
        return PL_EENIP_SHORT;
    out->protocol_version = get_u16(data + ID_OFF_VERSION);
    out->sin_family = get_be16(data + ID_OFF_FAMILY);
    out->sin_port = get_be16(data + ID_OFF_PORT);
    out->sin_addr = get_be32(data + ID_OFF_ADDR);
    memcpy(out->sin_zero, data + ID_OFF_ZERO, PL_ENIP_SOCKADDR_ZERO_LEN);
    out->vendor_id = get_u16(data + ID_OFF_VENDOR);
    out->device_type = get_u16(data + ID_OFF_DEVTYPE);
    out->product_code = get_u16(data + ID_OFF_PRODUCT);
    out->revision_major = data[ID_OFF_REV_MAJ];
    out->revision_minor = data[ID_OFF_REV_MIN];
    out->status = get_u16(data + ID_OFF_STATUS);
    out->serial = get_u32(data + ID_OFF_SERIAL);
    name_len = data[ID_OFF_NAME_LEN];
    if (len - ID_OFF_NAME < name_len + ID_STATE_LEN)
        return PL_EENIP_SHORT;
    if (len - ID_OFF_NAME > name_len + ID_STATE_LEN)
        return PL_EENIP_LENGTH;
    out->product_name = name_len != 0u ? data + ID_OFF_NAME : NULL;
    out->product_name_len = name_len;
    out->state = data[ID_OFF_NAME + name_len];
    return 0;
}

int pl_enip_identity_encode(uint8_t *buf, size_t cap, const pl_enip_identity_t *id)
{
    size_t total;

    if (id->product_name_len > SHORT_STRING_MAX ||
        (id->product_name_len != 0u && id->product_name == NULL))
        return PL_ERANGE;
    total = PL_ENIP_IDENTITY_FIXED_LEN + id->product_name_len;
    if (total > cap)
        return PL_ENOBUFS;
    move(buf + ID_OFF_NAME, id->product_name, id->product_name_len);
    put_u16(buf + ID_OFF_VERSION, id->protocol_version);
    put_be16(buf + ID_OFF_FAMILY, id->sin_family);
    put_be16(buf + ID_OFF_PORT, id->sin_port);
    put_be32(buf + ID_OFF_ADDR, id->sin_addr);
    memcpy(buf + ID_OFF_ZERO, id->sin_zero, PL_ENIP_SOCKADDR_ZERO_LEN);
    put_u16(buf + ID_OFF_VENDOR, id->vendor_id);
    put_u16(buf + ID_OFF_DEVTYPE, id->device_type);
    put_u16(buf + ID_OFF_PRODUCT, id->product_code);
    buf[ID_OFF_REV_MAJ] = id->revision_major;
    buf[ID_OFF_REV_MIN] = id->revision_minor;
    put_u16(buf + ID_OFF_STATUS, id->status);
    put_u32(buf + ID_OFF_SERIAL, id->serial);
    buf[ID_OFF_NAME_LEN] = (uint8_t)id->product_name_len;
    buf[ID_OFF_NAME + id->product_name_len] = id->state;
    return (int)total;
}
