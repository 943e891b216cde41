/* SPDX-License-Identifier: MIT */
/*
 * Modbus TCP codec: finds ADU boundaries in a byte stream (MBAP length field), validates
 * and decodes requests and responses of the supported function codes into fixed fields
 * plus views into the input, and encodes them into caller buffers. Every field is
 * big-endian and read byte by byte, so the input may sit at any alignment.
 *
 * It must not do I/O, read a clock, allocate, or keep state between calls.
 *
 * Which check fires where in pl_modbus_frame (each as soon as its bytes are present, in
 * wire order, so a stream split anywhere gives the same first error):
 *   4 bytes  protocol identifier not 0         PL_EMODBUS_PROTOCOL
 *   6 bytes  length field outside 2..254       PL_EMODBUS_LENGTH
 * Everything else (function code, byte counts, quantities) is content: the ADU is framed
 * and the PDU decoders reject it, so a server can answer it with an exception.
 */
#include "proto/modbus/codec/modbus.h"
#include "plcline/error.h"

#include <string.h>

/* pl_status_set with a NULL-tolerant status. */
#define FAIL(st, code, ...) ((st) != NULL ? pl_status_set((st), (code), 0, __VA_ARGS__) : (code))

/* MBAP field offsets (Implementation Guide 3.1.3). */
#define OFF_TID    0u
#define OFF_PID    2u
#define OFF_LENGTH 4u
#define OFF_UNIT   6u
#define OFF_PDU    PL_MODBUS_MBAP_LEN

/* PDU sizes of the fixed-layout functions (spec 6.x): function code included. */
#define PDU_READ_REQ     5u  /* fc, address, quantity */
#define PDU_SINGLE       5u  /* fc, address, value (FC 5, 6 request and response) */
#define PDU_WRITE_RSP    5u  /* fc, address, quantity (FC 15, 16 response) */
#define PDU_MULTI_HDR    6u  /* fc, address, quantity, byte count (FC 15, 16 request) */
#define PDU_MASK         7u  /* fc, address, and mask, or mask (FC 22) */
#define PDU_RW_HDR       10u /* fc, read addr, read qty, write addr, write qty, byte count */
#define PDU_READ_RSP_HDR 2u  /* fc, byte count */
#define PDU_MEI_REQ      4u  /* fc, MEI type, read device ID code, object id */
#define PDU_MEI_RSP_HDR  7u  /* fc, MEI, code, conformity, more follows, next id, count */
#define PDU_EXCEPTION    2u  /* fc | 0x80, exception code */
#define DEVID_OBJ_HDR    2u  /* object id, object length */
#define MAX_DATA         (PL_MODBUS_MAX_PDU - PDU_READ_RSP_HDR) /* 251: byte count is u8 */

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(((unsigned)p[0] << 8) | p[1]);
}

/* ------------------------------------------------------------------ writer */

typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
} wr_t;

static void wr_u8(wr_t *w, uint8_t v)
{
    if (w->len < w->cap)
        w->buf[w->len] = v;
    w->len++;
}

static void wr_u16(wr_t *w, uint16_t v)
{
    wr_u8(w, (uint8_t)(v >> 8));
    wr_u8(w, (uint8_t)(v & 0xFFu));
}

static void wr_bytes(wr_t *w, const uint8_t *p, size_t n)
{
    if (n > 0 && w->len <= w->cap && n <= w->cap - w->len)
        memcpy(w->buf + w->len, p, n);
    w->len += n;
}

/* ------------------------------------------------------------------ MBAP */

static int need_more(size_t *need, size_t total)
{
    if (need != NULL)
        *need = total;
    return PL_EAGAIN;
}

int pl_modbus_frame(const uint8_t *buf, size_t len, size_t *need)
{
    uint16_t length;

    if (len < OFF_PID + 2u)
        return need_more(need, PL_MODBUS_MIN_ADU);
    if (get_u16(buf + OFF_PID) != PL_MODBUS_PROTOCOL_ID)
        return PL_EMODBUS_PROTOCOL;
    if (len < OFF_LENGTH + 2u)
        return need_more(need, PL_MODBUS_MIN_ADU);
    length = get_u16(buf + OFF_LENGTH);
    if (length < PL_MODBUS_MIN_LENGTH || length > PL_MODBUS_MAX_LENGTH)
        return PL_EMODBUS_LENGTH;
    if (len < OFF_UNIT + (size_t)length)
        return need_more(need, OFF_UNIT + (size_t)length);
    if (need != NULL)
        *need = OFF_UNIT + (size_t)length;
    return (int)(OFF_UNIT + length);
}

int pl_modbus_adu_decode(const uint8_t *buf, size_t len, pl_modbus_adu_t *out, pl_status_t *st)
{
    int r;

    memset(out, 0, sizeof(*out));
    if (len >= OFF_TID + 2u)
        out->tid = get_u16(buf + OFF_TID);
    if (len >= OFF_PID + 2u)
        out->pid = get_u16(buf + OFF_PID);
    if (len >= OFF_LENGTH + 2u)
        out->length = get_u16(buf + OFF_LENGTH);
    if (len > OFF_UNIT)
        out->unit = buf[OFF_UNIT];

    r = pl_modbus_frame(buf, len, NULL);
    if (r == PL_EMODBUS_PROTOCOL)
        return FAIL(st, r, "protocol identifier 0x%04X, expected 0", (unsigned)out->pid);
    if (r == PL_EMODBUS_LENGTH)
        return FAIL(st, r, "MBAP length %u, expected 2..254", (unsigned)out->length);
    if (len < OFF_UNIT)
        return FAIL(st, PL_EMODBUS_LENGTH, "%zu bytes, shorter than the MBAP header", len);
    if (r < 0 || (size_t)r != len)
        return FAIL(st, PL_EMODBUS_LENGTH, "%zu bytes, MBAP header says %u", len,
                    (unsigned)out->length + OFF_UNIT);
    out->pdu = buf + OFF_PDU;
    out->pdu_len = (size_t)out->length - 1u;
    return 0;
}

/* ------------------------------------------------------------------ names */

const char *pl_modbus_function_name(uint8_t function)
{
    switch (function) {
    case PL_MODBUS_FC_READ_COILS:
        return "read coils";
    case PL_MODBUS_FC_READ_DISCRETE:
        return "read discrete inputs";
    case PL_MODBUS_FC_READ_HOLDING:
        return "read holding registers";
    case PL_MODBUS_FC_READ_INPUT:
        return "read input registers";
    case PL_MODBUS_FC_WRITE_COIL:
        return "write single coil";
    case PL_MODBUS_FC_WRITE_REGISTER:
        return "write single register";
    case PL_MODBUS_FC_WRITE_COILS:
        return "write multiple coils";
    case PL_MODBUS_FC_WRITE_REGISTERS:
        return "write multiple registers";
    case PL_MODBUS_FC_MASK_WRITE:
        return "mask write register";
    case PL_MODBUS_FC_READ_WRITE:
        return "read/write multiple registers";
    case PL_MODBUS_FC_MEI:
        return "read device identification";
    default:
        return "unknown function";
    }
}

/* spec 7, "MODBUS Exception Codes". */
const char *pl_modbus_exception_name(uint8_t code)
{
    switch (code) {
    case PL_MODBUS_EX_ILLEGAL_FUNCTION:
        return "illegal function";
    case PL_MODBUS_EX_ILLEGAL_DATA_ADDRESS:
        return "illegal data address";
    case PL_MODBUS_EX_ILLEGAL_DATA_VALUE:
        return "illegal data value";
    case PL_MODBUS_EX_SERVER_DEVICE_FAILURE:
        return "server device failure";
    case PL_MODBUS_EX_ACKNOWLEDGE:
        return "acknowledge";
    case PL_MODBUS_EX_SERVER_DEVICE_BUSY:
        return "server device busy";
    case PL_MODBUS_EX_MEMORY_PARITY_ERROR:
        return "memory parity error";
    case PL_MODBUS_EX_GATEWAY_PATH:
        return "gateway path unavailable";
    case PL_MODBUS_EX_GATEWAY_TARGET:
        return "gateway target device failed to respond";
    default:
        return "unknown exception";
    }
}

int pl_modbus_exception_error(uint8_t code)
{
    switch (code) {
    case PL_MODBUS_EX_ILLEGAL_FUNCTION:
        return PL_EMODBUS_X_ILLEGAL_FUNCTION;
    case PL_MODBUS_EX_ILLEGAL_DATA_ADDRESS:
        return PL_EMODBUS_X_ILLEGAL_DATA_ADDRESS;
    case PL_MODBUS_EX_ILLEGAL_DATA_VALUE:
        return PL_EMODBUS_X_ILLEGAL_DATA_VALUE;
    case PL_MODBUS_EX_SERVER_DEVICE_FAILURE:
        return PL_EMODBUS_X_SERVER_DEVICE_FAILURE;
    case PL_MODBUS_EX_ACKNOWLEDGE:
        return PL_EMODBUS_X_ACKNOWLEDGE;
    case PL_MODBUS_EX_SERVER_DEVICE_BUSY:
        return PL_EMODBUS_X_SERVER_DEVICE_BUSY;
    case PL_MODBUS_EX_MEMORY_PARITY_ERROR:
        return PL_EMODBUS_X_MEMORY_PARITY_ERROR;
    case PL_MODBUS_EX_GATEWAY_PATH:
        return PL_EMODBUS_X_GATEWAY_PATH_UNAVAILABLE;
    case PL_MODBUS_EX_GATEWAY_TARGET:
        return PL_EMODBUS_X_GATEWAY_TARGET_FAILED;
    default:
        return PL_EMODBUS_EXCEPTION;
    }
}

uint8_t pl_modbus_error_exception(int err)
{
    unsigned code = pl_err_code(err);

    /* the standard exceptions are numbered 0x0480 + their code (include/plcline/error.h) */
    if (err == PL_EMODBUS_EXCEPTION || code <= 0x0480u || code > 0x04FFu)
        return 0;
    return (uint8_t)(code - 0x0480u);
}

uint8_t pl_modbus_req_exception(int err)
{
    if (err == PL_EMODBUS_FUNCTION)
        return PL_MODBUS_EX_ILLEGAL_FUNCTION;
    if (err == PL_EMODBUS_FORMAT || err == PL_EMODBUS_VALUE)
        return PL_MODBUS_EX_ILLEGAL_DATA_VALUE;
    return PL_MODBUS_EX_SERVER_DEVICE_FAILURE;
}

/* ------------------------------------------------------------------ helpers */

uint16_t pl_modbus_reg(const uint8_t *data, size_t len, size_t i)
{
    if (data == NULL || i >= len / 2u)
        return 0;
    return get_u16(data + 2u * i);
}

int pl_modbus_bit(const uint8_t *data, size_t len, size_t i)
{
    if (data == NULL || i / 8u >= len)
        return 0;
    return (data[i / 8u] >> (i % 8u)) & 1;
}

size_t pl_modbus_bit_bytes(size_t n)
{
    return n / 8u + (n % 8u != 0);
}

int pl_modbus_devid_next(const pl_modbus_rsp_t *rsp, size_t *pos, pl_modbus_devid_obj_t *obj)
{
    size_t p = *pos;

    if (rsp->objects == NULL || p >= rsp->objects_len || rsp->objects_len - p < DEVID_OBJ_HDR)
        return 0;
    if (rsp->objects[p + 1] > rsp->objects_len - p - DEVID_OBJ_HDR)
        return 0;
    obj->id = rsp->objects[p];
    obj->len = rsp->objects[p + 1];
    obj->value = rsp->objects + p + DEVID_OBJ_HDR;
    *pos = p + DEVID_OBJ_HDR + obj->len;
    return 1;
}

/* ------------------------------------------------------------------ requests */

static int fail_len(pl_status_t *st, uint8_t fc, size_t len, size_t want)
{
    return FAIL(st, PL_EMODBUS_FORMAT, "%s: PDU of %zu bytes, expected %zu",
                pl_modbus_function_name(fc), len, want);
}

static int check_qty(pl_status_t *st, uint8_t fc, const char *what, unsigned q, unsigned max)
{
    if (q == 0 || q > max)
        return FAIL(st, PL_EMODBUS_VALUE, "%s: %s %u, expected 1..%u", pl_modbus_function_name(fc),
                    what, q, max);
    return 0;
}

static int check_devid_code(pl_status_t *st, uint8_t code)
{
    if (code < PL_MODBUS_DEVID_BASIC || code > PL_MODBUS_DEVID_SPECIFIC)
        return FAIL(st, PL_EMODBUS_VALUE, "read device ID code %u, expected 1..4", (unsigned)code);
    return 0;
}

/* FC 5 and 6: the request and its answer are the same four bytes (address, value). */
static int decode_single(const uint8_t *pdu, size_t len, uint8_t fc, uint16_t *addr,
                         uint16_t *value, pl_status_t *st)
{
    if (len != PDU_SINGLE)
        return fail_len(st, fc, len, PDU_SINGLE);
    *addr = get_u16(pdu + 1);
    *value = get_u16(pdu + 3);
    if (fc == PL_MODBUS_FC_WRITE_COIL && *value != PL_MODBUS_COIL_ON &&
        *value != PL_MODBUS_COIL_OFF)
        return FAIL(st, PL_EMODBUS_VALUE,
                    "write single coil: value 0x%04X, expected "
                    "0xFF00 or 0x0000",
                    (unsigned)*value);
    return 0;
}

int pl_modbus_req_decode(const uint8_t *pdu, size_t len, pl_modbus_req_t *out, pl_status_t *st)
{
    uint8_t fc;
    unsigned max;
    size_t want;
    int r;

    memset(out, 0, sizeof(*out));
    if (len < 1u)
        return FAIL(st, PL_EMODBUS_FORMAT, "empty PDU");
    fc = pdu[0];
    out->function = fc;
    switch (fc) {
    case PL_MODBUS_FC_READ_COILS:
    case PL_MODBUS_FC_READ_DISCRETE:
    case PL_MODBUS_FC_READ_HOLDING:
    case PL_MODBUS_FC_READ_INPUT:
        if (len != PDU_READ_REQ)
            return fail_len(st, fc, len, PDU_READ_REQ);
        out->addr = get_u16(pdu + 1);
        out->count = get_u16(pdu + 3);
        max = fc <= PL_MODBUS_FC_READ_DISCRETE ? PL_MODBUS_MAX_READ_BITS : PL_MODBUS_MAX_READ_REGS;
        return check_qty(st, fc, "quantity", out->count, max);
    case PL_MODBUS_FC_WRITE_COIL:
    case PL_MODBUS_FC_WRITE_REGISTER:
        return decode_single(pdu, len, fc, &out->addr, &out->value, st);
    case PL_MODBUS_FC_WRITE_COILS:
    case PL_MODBUS_FC_WRITE_REGISTERS:
        if (len < PDU_MULTI_HDR)
            return fail_len(st, fc, len, PDU_MULTI_HDR);
        out->addr = get_u16(pdu + 1);
        out->count = get_u16(pdu + 3);
        out->data_len = pdu[5];
        /* the byte count must be what the PDU holds, else the values cannot be told */
        if (out->data_len != len - PDU_MULTI_HDR) {
            r = FAIL(st, PL_EMODBUS_FORMAT, "%s: byte count %zu, %zu bytes follow",
                     pl_modbus_function_name(fc), out->data_len, len - PDU_MULTI_HDR);
            out->data_len = 0;
            return r;
        }
        out->data = out->data_len > 0 ? pdu + PDU_MULTI_HDR : NULL;
        if (fc == PL_MODBUS_FC_WRITE_COILS) {
            r = check_qty(st, fc, "quantity", out->count, PL_MODBUS_MAX_WRITE_BITS);
            want = pl_modbus_bit_bytes(out->count);
        } else {
            r = check_qty(st, fc, "quantity", out->count, PL_MODBUS_MAX_WRITE_REGS);
            want = 2u * (size_t)out->count;
        }
        if (r != 0)
            return r;
        if (out->data_len != want)
            return FAIL(st, PL_EMODBUS_FORMAT, "%s: byte count %zu for quantity %u, expected %zu",
                        pl_modbus_function_name(fc), out->data_len, (unsigned)out->count, want);
        return 0;
    case PL_MODBUS_FC_MASK_WRITE:
        if (len != PDU_MASK)
            return fail_len(st, fc, len, PDU_MASK);
        out->addr = get_u16(pdu + 1);
        out->and_mask = get_u16(pdu + 3);
        out->or_mask = get_u16(pdu + 5);
        return 0;
    case PL_MODBUS_FC_READ_WRITE:
        if (len < PDU_RW_HDR)
            return fail_len(st, fc, len, PDU_RW_HDR);
        out->addr = get_u16(pdu + 1);
        out->count = get_u16(pdu + 3);
        out->waddr = get_u16(pdu + 5);
        out->wcount = get_u16(pdu + 7);
        out->data_len = pdu[9];
        if (out->data_len != len - PDU_RW_HDR) {
            r = FAIL(st, PL_EMODBUS_FORMAT, "%s: byte count %zu, %zu bytes follow",
                     pl_modbus_function_name(fc), out->data_len, len - PDU_RW_HDR);
            out->data_len = 0;
            return r;
        }
        out->data = out->data_len > 0 ? pdu + PDU_RW_HDR : NULL;
        r = check_qty(st, fc, "read quantity", out->count, PL_MODBUS_MAX_READ_REGS);
        if (r == 0)
            r = check_qty(st, fc, "write quantity", out->wcount, PL_MODBUS_MAX_RW_WRITE);
        if (r != 0)
            return r;
        if (out->data_len != 2u * (size_t)out->wcount)
            return FAIL(st, PL_EMODBUS_FORMAT, "%s: byte count %zu for write quantity %u",
                        pl_modbus_function_name(fc), out->data_len, (unsigned)out->wcount);
        return 0;
    case PL_MODBUS_FC_MEI:
        if (len >= 2u)
            out->mei_type = pdu[1];
        if (len >= 2u && out->mei_type != PL_MODBUS_MEI_DEVICE_ID)
            return FAIL(st, PL_EMODBUS_FUNCTION, "MEI type 0x%02X, only 0x0E is supported",
                        (unsigned)out->mei_type);
        if (len != PDU_MEI_REQ)
            return fail_len(st, fc, len, PDU_MEI_REQ);
        out->devid_code = pdu[2];
        out->object_id = pdu[3];
        return check_devid_code(st, out->devid_code);
    default:
        return FAIL(st, PL_EMODBUS_FUNCTION, "function code 0x%02X", (unsigned)fc);
    }
}

/* Bytes of the PDU `req` encodes to, or 0 for an unknown function. */
static size_t req_pdu_len(const pl_modbus_req_t *req)
{
    switch (req->function) {
    case PL_MODBUS_FC_READ_COILS:
    case PL_MODBUS_FC_READ_DISCRETE:
    case PL_MODBUS_FC_READ_HOLDING:
    case PL_MODBUS_FC_READ_INPUT:
        return PDU_READ_REQ;
    case PL_MODBUS_FC_WRITE_COIL:
    case PL_MODBUS_FC_WRITE_REGISTER:
        return PDU_SINGLE;
    case PL_MODBUS_FC_WRITE_COILS:
    case PL_MODBUS_FC_WRITE_REGISTERS:
        return PDU_MULTI_HDR + req->data_len;
    case PL_MODBUS_FC_MASK_WRITE:
        return PDU_MASK;
    case PL_MODBUS_FC_READ_WRITE:
        return PDU_RW_HDR + req->data_len;
    case PL_MODBUS_FC_MEI:
        return PDU_MEI_REQ;
    default:
        return 0;
    }
}

static void wr_mbap(wr_t *w, uint16_t tid, uint8_t unit, size_t pdu_len)
{
    wr_u16(w, tid);
    wr_u16(w, PL_MODBUS_PROTOCOL_ID);
    wr_u16(w, (uint16_t)(pdu_len + 1u));
    wr_u8(w, unit);
}

int pl_modbus_req_encode(uint8_t *buf, size_t cap, uint16_t tid, uint8_t unit,
                         const pl_modbus_req_t *req)
{
    wr_t w = {buf, cap, 0};
    size_t n = req_pdu_len(req);

    if (n == 0)
        return PL_EMODBUS_FUNCTION;
    if ((req->data == NULL && req->data_len > 0) || req->data_len > MAX_DATA ||
        n > PL_MODBUS_MAX_PDU)
        return PL_EMODBUS_FORMAT;
    if (buf == NULL || cap < PL_MODBUS_MBAP_LEN + n)
        return PL_ENOBUFS;
    wr_mbap(&w, tid, unit, n);
    wr_u8(&w, req->function);
    switch (req->function) {
    case PL_MODBUS_FC_READ_COILS:
    case PL_MODBUS_FC_READ_DISCRETE:
    case PL_MODBUS_FC_READ_HOLDING:
    case PL_MODBUS_FC_READ_INPUT:
        wr_u16(&w, req->addr);
        wr_u16(&w, req->count);
        break;
    case PL_MODBUS_FC_WRITE_COIL:
    case PL_MODBUS_FC_WRITE_REGISTER:
        wr_u16(&w, req->addr);
        wr_u16(&w, req->value);
        break;
    case PL_MODBUS_FC_WRITE_COILS:
    case PL_MODBUS_FC_WRITE_REGISTERS:
        wr_u16(&w, req->addr);
        wr_u16(&w, req->count);
        wr_u8(&w, (uint8_t)req->data_len);
        wr_bytes(&w, req->data, req->data_len);
        break;
    case PL_MODBUS_FC_MASK_WRITE:
        wr_u16(&w, req->addr);
        wr_u16(&w, req->and_mask);
        wr_u16(&w, req->or_mask);
        break;
    case PL_MODBUS_FC_READ_WRITE:
        wr_u16(&w, req->addr);
        wr_u16(&w, req->count);
        wr_u16(&w, req->waddr);
        wr_u16(&w, req->wcount);
        wr_u8(&w, (uint8_t)req->data_len);
        wr_bytes(&w, req->data, req->data_len);
        break;
    case PL_MODBUS_FC_MEI:
        wr_u8(&w, PL_MODBUS_MEI_DEVICE_ID);
        wr_u8(&w, req->devid_code);
        wr_u8(&w, req->object_id);
        break;
    default:
        break;
    }
    return (int)w.len;
}

/* ------------------------------------------------------------------ responses */

/* Read responses: byte count, then exactly that many bytes (FC 1-4, 23). */
static int rsp_read(const uint8_t *pdu, size_t len, pl_modbus_rsp_t *out, pl_status_t *st)
{
    uint8_t fc = out->function;
    int regs = fc != PL_MODBUS_FC_READ_COILS && fc != PL_MODBUS_FC_READ_DISCRETE;

    if (len < PDU_READ_RSP_HDR)
        return fail_len(st, fc, len, PDU_READ_RSP_HDR);
    if ((size_t)pdu[1] != len - PDU_READ_RSP_HDR)
        return FAIL(st, PL_EMODBUS_FORMAT, "%s: byte count %u, %zu bytes follow",
                    pl_modbus_function_name(fc), (unsigned)pdu[1], len - PDU_READ_RSP_HDR);
    if (pdu[1] == 0)
        return FAIL(st, PL_EMODBUS_FORMAT, "%s: byte count 0", pl_modbus_function_name(fc));
    if (regs && (pdu[1] % 2u != 0 || pdu[1] > 2u * PL_MODBUS_MAX_READ_REGS))
        return FAIL(st, PL_EMODBUS_FORMAT, "%s: byte count %u, expected an even 2..250",
                    pl_modbus_function_name(fc), (unsigned)pdu[1]);
    if (!regs && pdu[1] > pl_modbus_bit_bytes(PL_MODBUS_MAX_READ_BITS))
        return FAIL(st, PL_EMODBUS_FORMAT, "%s: byte count %u, expected 1..250",
                    pl_modbus_function_name(fc), (unsigned)pdu[1]);
    out->data = pdu + PDU_READ_RSP_HDR;
    out->data_len = pdu[1];
    return 0;
}

static int rsp_devid(const uint8_t *pdu, size_t len, pl_modbus_rsp_t *out, pl_status_t *st)
{
    size_t pos;
    unsigned n;
    int r;

    if (len >= 2u)
        out->mei_type = pdu[1];
    if (len >= 2u && out->mei_type != PL_MODBUS_MEI_DEVICE_ID)
        return FAIL(st, PL_EMODBUS_FUNCTION, "MEI type 0x%02X, only 0x0E is supported",
                    (unsigned)out->mei_type);
    if (len < PDU_MEI_RSP_HDR)
        return FAIL(st, PL_EMODBUS_FORMAT,
                    "read device identification: PDU of %zu bytes, "
                    "expected at least %u",
                    len, PDU_MEI_RSP_HDR);
    out->devid_code = pdu[2];
    out->conformity = pdu[3];
    out->more_follows = pdu[4];
    out->next_object = pdu[5];
    out->object_count = pdu[6];
    r = check_devid_code(st, out->devid_code);
    if (r != 0)
        return r;
    if (out->more_follows != 0 && out->more_follows != PL_MODBUS_MORE_FOLLOWS)
        return FAIL(st, PL_EMODBUS_VALUE, "more follows 0x%02X, expected 0x00 or 0xFF",
                    (unsigned)out->more_follows);
    /* the objects must fill the PDU exactly, and be as many as announced */
    pos = PDU_MEI_RSP_HDR;
    for (n = 0; pos < len; n++) {
        if (len - pos < DEVID_OBJ_HDR || pdu[pos + 1] > len - pos - DEVID_OBJ_HDR)
            return FAIL(st, PL_EMODBUS_FORMAT,
                        "device identification object %u runs past "
                        "the PDU",
                        n);
        pos += DEVID_OBJ_HDR + pdu[pos + 1];
    }
    if (n != out->object_count)
        return FAIL(st, PL_EMODBUS_FORMAT, "device identification: %u objects, %u announced", n,
                    (unsigned)out->object_count);
    out->objects = len > PDU_MEI_RSP_HDR ? pdu + PDU_MEI_RSP_HDR : NULL;
    out->objects_len = len - PDU_MEI_RSP_HDR;
    return 0;
}

int pl_modbus_rsp_decode(const uint8_t *pdu, size_t len, pl_modbus_rsp_t *out, pl_status_t *st)
{
    uint8_t fc;

    memset(out, 0, sizeof(*out));
    if (len < 1u)
        return FAIL(st, PL_EMODBUS_FORMAT, "empty PDU");
    fc = (uint8_t)(pdu[0] & ~PL_MODBUS_FC_EXCEPTION);
    out->function = fc;
    if (fc == 0)
        return FAIL(st, PL_EMODBUS_FUNCTION, "function code 0x%02X", (unsigned)pdu[0]);
    if (pdu[0] & PL_MODBUS_FC_EXCEPTION) {
        if (len != PDU_EXCEPTION)
            return FAIL(st, PL_EMODBUS_FORMAT, "exception response of %zu bytes, expected 2", len);
        out->exception = pdu[1];
        if (out->exception == 0)
            return FAIL(st, PL_EMODBUS_VALUE, "exception code 0");
        return 0;
    }
    switch (fc) {
    case PL_MODBUS_FC_READ_COILS:
    case PL_MODBUS_FC_READ_DISCRETE:
    case PL_MODBUS_FC_READ_HOLDING:
    case PL_MODBUS_FC_READ_INPUT:
    case PL_MODBUS_FC_READ_WRITE:
        return rsp_read(pdu, len, out, st);
    case PL_MODBUS_FC_WRITE_COIL:
    case PL_MODBUS_FC_WRITE_REGISTER:
        return decode_single(pdu, len, fc, &out->addr, &out->value, st);
    case PL_MODBUS_FC_WRITE_COILS:
    case PL_MODBUS_FC_WRITE_REGISTERS:
        if (len != PDU_WRITE_RSP)
            return fail_len(st, fc, len, PDU_WRITE_RSP);
        out->addr = get_u16(pdu + 1);
        out->count = get_u16(pdu + 3);
        return check_qty(st, fc, "quantity", out->count,
                         fc == PL_MODBUS_FC_WRITE_COILS ? PL_MODBUS_MAX_WRITE_BITS
                                                        : PL_MODBUS_MAX_WRITE_REGS);
    case PL_MODBUS_FC_MASK_WRITE:
        if (len != PDU_MASK)
            return fail_len(st, fc, len, PDU_MASK);
        out->addr = get_u16(pdu + 1);
        out->and_mask = get_u16(pdu + 3);
        out->or_mask = get_u16(pdu + 5);
        return 0;
    case PL_MODBUS_FC_MEI:
        return rsp_devid(pdu, len, out, st);
    default:
        return FAIL(st, PL_EMODBUS_FUNCTION, "function code 0x%02X", (unsigned)fc);
    }
}

int pl_modbus_rsp_encode(uint8_t *buf, size_t cap, uint16_t tid, uint8_t unit,
                         const pl_modbus_rsp_t *rsp)
{
    wr_t w = {buf, cap, 0};
    size_t n;

    if (rsp->exception != 0) {
        n = PDU_EXCEPTION;
    } else {
        switch (rsp->function) {
        case PL_MODBUS_FC_READ_COILS:
        case PL_MODBUS_FC_READ_DISCRETE:
        case PL_MODBUS_FC_READ_HOLDING:
        case PL_MODBUS_FC_READ_INPUT:
        case PL_MODBUS_FC_READ_WRITE:
            if ((rsp->data == NULL && rsp->data_len > 0) || rsp->data_len > MAX_DATA)
                return PL_EMODBUS_FORMAT;
            n = PDU_READ_RSP_HDR + rsp->data_len;
            break;
        case PL_MODBUS_FC_WRITE_COIL:
        case PL_MODBUS_FC_WRITE_REGISTER:
            n = PDU_SINGLE;
            break;
        case PL_MODBUS_FC_WRITE_COILS:
        case PL_MODBUS_FC_WRITE_REGISTERS:
            n = PDU_WRITE_RSP;
            break;
        case PL_MODBUS_FC_MASK_WRITE:
            n = PDU_MASK;
            break;
        case PL_MODBUS_FC_MEI:
            if ((rsp->objects == NULL && rsp->objects_len > 0) ||
                rsp->objects_len > PL_MODBUS_MAX_PDU - PDU_MEI_RSP_HDR)
                return PL_EMODBUS_FORMAT;
            n = PDU_MEI_RSP_HDR + rsp->objects_len;
            break;
        default:
            return PL_EMODBUS_FUNCTION;
        }
    }
    if (buf == NULL || cap < PL_MODBUS_MBAP_LEN + n)
        return PL_ENOBUFS;
    wr_mbap(&w, tid, unit, n);
    if (rsp->exception != 0) {
        wr_u8(&w, (uint8_t)(rsp->function | PL_MODBUS_FC_EXCEPTION));
        wr_u8(&w, rsp->exception);
        return (int)w.len;
    }
    wr_u8(&w, rsp->function);
    switch (rsp->function) {
    case PL_MODBUS_FC_READ_COILS:
    case PL_MODBUS_FC_READ_DISCRETE:
    case PL_MODBUS_FC_READ_HOLDING:
    case PL_MODBUS_FC_READ_INPUT:
    case PL_MODBUS_FC_READ_WRITE:
        wr_u8(&w, (uint8_t)rsp->data_len);
        wr_bytes(&w, rsp->data, rsp->data_len);
        break;
    case PL_MODBUS_FC_WRITE_COIL:
    case PL_MODBUS_FC_WRITE_REGISTER:
        wr_u16(&w, rsp->addr);
        wr_u16(&w, rsp->value);
        break;
    case PL_MODBUS_FC_WRITE_COILS:
    case PL_MODBUS_FC_WRITE_REGISTERS:
        wr_u16(&w, rsp->addr);
        wr_u16(&w, rsp->count);
        break;
    case PL_MODBUS_FC_MASK_WRITE:
        wr_u16(&w, rsp->addr);
        wr_u16(&w, rsp->and_mask);
        wr_u16(&w, rsp->or_mask);
        break;
    case PL_MODBUS_FC_MEI:
        wr_u8(&w, PL_MODBUS_MEI_DEVICE_ID);
        wr_u8(&w, rsp->devid_code);
        wr_u8(&w, rsp->conformity);
        wr_u8(&w, rsp->more_follows);
        wr_u8(&w, rsp->next_object);
        wr_u8(&w, rsp->object_count);
        wr_bytes(&w, rsp->objects, rsp->objects_len);
        break;
    default:
        break;
    }
    return (int)w.len;
}

static int mismatch(pl_status_t *st, const char *what, unsigned got, unsigned want)
{
    return FAIL(st, PL_EMODBUS_MISMATCH, "response %s 0x%04X, expected 0x%04X", what, got, want);
}

int pl_modbus_rsp_match(const pl_modbus_req_t *req, const pl_modbus_rsp_t *rsp, pl_status_t *st)
{
    size_t want;

    if (rsp->function != req->function)
        return FAIL(st, PL_EMODBUS_MISMATCH, "response function 0x%02X, expected 0x%02X",
                    (unsigned)rsp->function, (unsigned)req->function);
    if (rsp->exception != 0)
        return FAIL(st, pl_modbus_exception_error(rsp->exception), "exception 0x%02X: %s",
                    (unsigned)rsp->exception, pl_modbus_exception_name(rsp->exception));
    switch (req->function) {
    case PL_MODBUS_FC_READ_COILS:
    case PL_MODBUS_FC_READ_DISCRETE:
        want = pl_modbus_bit_bytes(req->count);
        if (rsp->data_len != want)
            return mismatch(st, "byte count", (unsigned)rsp->data_len, (unsigned)want);
        return 0;
    case PL_MODBUS_FC_READ_HOLDING:
    case PL_MODBUS_FC_READ_INPUT:
    case PL_MODBUS_FC_READ_WRITE:
        want = 2u * (size_t)req->count;
        if (rsp->data_len != want)
            return mismatch(st, "byte count", (unsigned)rsp->data_len, (unsigned)want);
        return 0;
    case PL_MODBUS_FC_WRITE_COIL:
    case PL_MODBUS_FC_WRITE_REGISTER:
        if (rsp->addr != req->addr)
            return mismatch(st, "address", rsp->addr, req->addr);
        if (rsp->value != req->value)
            return mismatch(st, "value", rsp->value, req->value);
        return 0;
    case PL_MODBUS_FC_WRITE_COILS:
    case PL_MODBUS_FC_WRITE_REGISTERS:
        if (rsp->addr != req->addr)
            return mismatch(st, "address", rsp->addr, req->addr);
        if (rsp->count != req->count)
            return mismatch(st, "quantity", rsp->count, req->count);
        return 0;
    case PL_MODBUS_FC_MASK_WRITE:
        if (rsp->addr != req->addr)
            return mismatch(st, "address", rsp->addr, req->addr);
        if (rsp->and_mask != req->and_mask)
            return mismatch(st, "AND mask", rsp->and_mask, req->and_mask);
        if (rsp->or_mask != req->or_mask)
            return mismatch(st, "OR mask", rsp->or_mask, req->or_mask);
        return 0;
    case PL_MODBUS_FC_MEI:
        if (rsp->devid_code != req->devid_code)
            return mismatch(st, "read device ID code", rsp->devid_code, req->devid_code);
        return 0;
    default:
        return FAIL(st, PL_EMODBUS_FUNCTION, "function code 0x%02X", (unsigned)req->function);
    }
}
