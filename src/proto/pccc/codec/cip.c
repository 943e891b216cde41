/* SPDX-License-Identifier: MIT */
/*
 * CIP codec (CIP Networks Library Vol 1): Message Router requests and responses, padded
 * EPATH segments, the route-path text parser, the Connection Manager services Unconnected
 * Send, Forward Open and Forward Close, and the general/extended status tables.
 *
 * It must not do I/O, read a clock, allocate or keep state between calls. Every decoder
 * checks that the bytes it reads are present before reading them, then that the length
 * fields agree with the data, and only then hands out views into the input. Remote status
 * (general and extended) is kept as raw numbers, never turned into PL_E* codes.
 */
#include "proto/pccc/codec/cip.h"
#include "plcline/error.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

#define U16_LEN      2u
#define U32_LEN      4u
#define WORD_LEN     2u   /* path and status sizes count 16-bit words */
#define MAX_PATH_LEN 510u /* a USINT count of words */
#define BYTE_MAX     255u

/* Segment layouts (Vol 1, Appendix C-1.4). */
#define SEG_LOGICAL_FMT_32 0x02u
#define SEG_LOGICAL_8_LEN  2u /* segment byte + value */
#define SEG_LOGICAL_16_LEN 4u /* segment byte + pad + u16 */
#define SEG_LOGICAL_32_LEN 6u /* segment byte + pad + u32 */
#define SEG_PORT_SHORT_LEN 2u /* segment byte + 1-byte link */
#define SEG_KEY_DATA_LEN   8u /* vendor, device type, product code, major, minor */
#define PORT_ID_MIN        1u /* port 0 is reserved (C-1.4.1) */

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
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

/* Copies n bytes unless already in place; src may be NULL when n is 0. */
static void move(uint8_t *dst, const uint8_t *src, size_t n)
{
    if (n != 0u && dst != src)
        memmove(dst, src, n);
}

static size_t even(size_t n)
{
    return n + (n & 1u);
}

/* ---------------------------------------------------------------- segments */

static int seg_port(const uint8_t *p, size_t len, pl_cip_seg_t *seg)
{
    size_t pos = 1;
    size_t link_len = 1;
    size_t total;
    int ext_link = (p[0] & PL_CIP_PORT_EXT_LINK) != 0u;

    seg->kind = PL_CIP_SEG_PORT;
    if (ext_link) {
        if (len < pos + 1u)
            return PL_ECIP_PATH;
        link_len = p[pos++];
        if (link_len == 0u)
            return PL_ECIP_SEGMENT;
    }
    if ((p[0] & PL_CIP_PORT_ID_MASK) == PL_CIP_PORT_EXTENDED) {
        if (len < pos + U16_LEN)
            return PL_ECIP_PATH;
        seg->value = get_u16(p + pos);
        pos += U16_LEN;
    } else {
        seg->value = p[0] & PL_CIP_PORT_ID_MASK;
    }
    if (seg->value < PORT_ID_MIN)
        return PL_ECIP_SEGMENT;
    total = even(pos + link_len);
    if (len < total)
        return PL_ECIP_PATH;
    if (total != pos + link_len && p[total - 1u] != 0u)
        return PL_ECIP_SEGMENT;
    seg->bytes = p + pos;
    seg->bytes_len = link_len;
    seg->size = total;
    return (int)total;
}

static int seg_logical(const uint8_t *p, size_t len, pl_cip_seg_t *seg)
{
    uint8_t kind = (uint8_t)(p[0] & (uint8_t)~PL_CIP_LOGICAL_FMT_MASK);
    uint8_t fmt = (uint8_t)(p[0] & PL_CIP_LOGICAL_FMT_MASK);
    size_t size;

    seg->kind = kind;
    if (kind == PL_CIP_SEG_KEY) {
        if (fmt != 0u)
            return PL_ECIP_SEGMENT;
        if (len < PL_CIP_KEY_LEN)
            return PL_ECIP_PATH;
        if (p[1] != PL_CIP_KEY_FORMAT)
            return PL_ECIP_SEGMENT;
        seg->bytes = p + 2;
        seg->bytes_len = SEG_KEY_DATA_LEN;
        seg->size = PL_CIP_KEY_LEN;
        return (int)PL_CIP_KEY_LEN;
    }
    if (kind != PL_CIP_SEG_CLASS && kind != PL_CIP_SEG_INSTANCE && kind != PL_CIP_SEG_MEMBER &&
        kind != PL_CIP_SEG_CONN_POINT && kind != PL_CIP_SEG_ATTRIBUTE)
        return PL_ECIP_SEGMENT;
    switch (fmt) {
    case PL_CIP_LOGICAL_FMT_8:
        size = SEG_LOGICAL_8_LEN;
        break;
    case PL_CIP_LOGICAL_FMT_16:
        size = SEG_LOGICAL_16_LEN;
        break;
    default:
        /* the 32-bit form exists only for instance and connection point (C-1.4.2) */
        if (fmt != SEG_LOGICAL_FMT_32 ||
            (kind != PL_CIP_SEG_INSTANCE && kind != PL_CIP_SEG_CONN_POINT))
            return PL_ECIP_SEGMENT;
        size = SEG_LOGICAL_32_LEN;
        break;
    }
    if (len < size)
        return PL_ECIP_PATH;
    if (size == SEG_LOGICAL_8_LEN) {
        seg->value = p[1];
    } else {
        if (p[1] != 0u) /* pad byte of the padded EPATH */
            return PL_ECIP_SEGMENT;
        seg->value = size == SEG_LOGICAL_16_LEN ? get_u16(p + 2) : get_u32(p + 2);
    }
    seg->size = size;
    return (int)size;
}

/* Simple data segment (word count + words) and ANSI extended symbol (length + chars, padded). */
static int seg_counted(const uint8_t *p, size_t len, pl_cip_seg_t *seg, size_t unit)
{
    size_t n;
    size_t total;

    seg->kind = p[0];
    if (len < 2u)
        return PL_ECIP_PATH;
    n = (size_t)p[1] * unit;
    total = even(2u + n);
    if (len < total)
        return PL_ECIP_PATH;
    if (total != 2u + n && p[total - 1u] != 0u)
        return PL_ECIP_SEGMENT;
    seg->bytes = n != 0u ? p + 2 : NULL;
    seg->bytes_len = n;
    seg->size = total;
    return (int)total;
}

int pl_cip_seg_decode(const uint8_t *path, size_t len, pl_cip_seg_t *seg)
{
    memset(seg, 0, sizeof(*seg));
    if (len == 0u)
        return PL_ECIP_PATH;
    switch (path[0] & PL_CIP_SEG_TYPE_MASK) {
    case PL_CIP_SEG_PORT:
        return seg_port(path, len, seg);
    case PL_CIP_SEG_LOGICAL:
        return seg_logical(path, len, seg);
    default:
        break;
    }
    if (path[0] == PL_CIP_SEG_DATA)
        return seg_counted(path, len, seg, WORD_LEN);
    if (path[0] == PL_CIP_SEG_SYMBOL)
        return seg_counted(path, len, seg, 1u);
    seg->kind = path[0];
    return PL_ECIP_SEGMENT;
}

int pl_cip_path_check(const uint8_t *path, size_t len)
{
    pl_cip_seg_t seg;
    size_t pos = 0;
    int count = 0;
    int r;

    while (pos < len) {
        r = pl_cip_seg_decode(path + pos, len - pos, &seg);
        if (r < 0)
            return r;
        pos += (size_t)r;
        count++;
    }
    return count;
}

int pl_cip_seg_encode_logical(uint8_t *buf, size_t cap, uint8_t kind, uint32_t value)
{
    if (kind != PL_CIP_SEG_CLASS && kind != PL_CIP_SEG_INSTANCE && kind != PL_CIP_SEG_MEMBER &&
        kind != PL_CIP_SEG_CONN_POINT && kind != PL_CIP_SEG_ATTRIBUTE)
        return PL_EINVAL;
    if (value <= BYTE_MAX) {
        if (cap < SEG_LOGICAL_8_LEN)
            return PL_ENOBUFS;
        buf[0] = kind;
        buf[1] = (uint8_t)value;
        return (int)SEG_LOGICAL_8_LEN;
    }
    if (value <= UINT16_MAX) {
        if (cap < SEG_LOGICAL_16_LEN)
            return PL_ENOBUFS;
        buf[0] = (uint8_t)(kind | PL_CIP_LOGICAL_FMT_16);
        buf[1] = 0;
        put_u16(buf + 2, (uint16_t)value);
        return (int)SEG_LOGICAL_16_LEN;
    }
    if (kind != PL_CIP_SEG_INSTANCE && kind != PL_CIP_SEG_CONN_POINT)
        return PL_ERANGE;
    if (cap < SEG_LOGICAL_32_LEN)
        return PL_ENOBUFS;
    buf[0] = (uint8_t)(kind | SEG_LOGICAL_FMT_32);
    buf[1] = 0;
    put_u32(buf + 2, value);
    return (int)SEG_LOGICAL_32_LEN;
}

int pl_cip_seg_encode_port(uint8_t *buf, size_t cap, uint16_t port, const uint8_t *link,
                           size_t link_len)
{
    int ext_port = port >= PL_CIP_PORT_EXTENDED;
    int ext_link = link_len != 1u || ext_port;
    size_t pos = 1;
    size_t total;

    if (port < PORT_ID_MIN || link_len == 0u || link == NULL)
        return PL_EINVAL;
    if (link_len > BYTE_MAX)
        return PL_ERANGE;
    total = even(1u + (ext_link ? 1u : 0u) + (ext_port ? U16_LEN : 0u) + link_len);
    if (total > cap)
        return PL_ENOBUFS;
    buf[0] = (uint8_t)((ext_port ? PL_CIP_PORT_EXTENDED : port) |
                       (ext_link ? PL_CIP_PORT_EXT_LINK : 0u));
    if (ext_link)
        buf[pos++] = (uint8_t)link_len;
    if (ext_port) {
        put_u16(buf + pos, port);
        pos += U16_LEN;
    }
    memmove(buf + pos, link, link_len);
    pos += link_len;
    if (pos < total)
        buf[pos] = 0;
    return (int)total;
}

int pl_cip_path_encode(uint8_t *buf, size_t cap, uint16_t class_id, uint16_t instance)
{
    int a = pl_cip_seg_encode_logical(buf, cap, PL_CIP_SEG_CLASS, class_id);
    int b;

    if (a < 0)
        return a;
    b = pl_cip_seg_encode_logical(buf + a, cap - (size_t)a, PL_CIP_SEG_INSTANCE, instance);
    if (b < 0)
        return b;
    return a + b;
}

int pl_cip_path_logical(const uint8_t *path, size_t len, pl_cip_lpath_t *out)
{
    pl_cip_seg_t seg;
    size_t pos = 0;
    uint8_t bit;
    uint32_t *slot;
    int r;

    memset(out, 0, sizeof(*out));
    while (pos < len) {
        r = pl_cip_seg_decode(path + pos, len - pos, &seg);
        if (r < 0)
            return r;
        pos += (size_t)r;
        switch (seg.kind) {
        case PL_CIP_SEG_KEY:
            continue;
        case PL_CIP_SEG_CLASS:
            bit = PL_CIP_HAS_CLASS;
            slot = &out->class_id;
            break;
        case PL_CIP_SEG_INSTANCE:
            bit = PL_CIP_HAS_INSTANCE;
            slot = &out->instance;
            break;
        case PL_CIP_SEG_ATTRIBUTE:
            bit = PL_CIP_HAS_ATTRIBUTE;
            slot = &out->attribute;
            break;
        case PL_CIP_SEG_CONN_POINT:
            bit = PL_CIP_HAS_CONN_POINT;
            slot = &out->conn_point;
            break;
        case PL_CIP_SEG_MEMBER:
            bit = PL_CIP_HAS_MEMBER;
            slot = &out->member;
            break;
        default:
            return PL_ECIP_SEGMENT;
        }
        if ((out->has & bit) != 0u)
            return PL_ECIP_SEGMENT;
        out->has = (uint8_t)(out->has | bit);
        *slot = seg.value;
    }
    return 0;
}

/* ---------------------------------------------------------- route text */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Parses decimal text[0..n) into *v (<= max). Returns 0 or -1. */
static int parse_dec(const char *s, size_t n, unsigned long max, unsigned long *v)
{
    size_t i;

    if (n == 0u)
        return -1;
    *v = 0;
    for (i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        *v = *v * 10u + (unsigned long)(s[i] - '0');
        if (*v > max)
            return -1;
    }
    return 0;
}

/* Is s[0..n) a dotted IPv4 address "a.b.c.d" with each part 0..255? */
static int is_ipv4(const char *s, size_t n)
{
    size_t start = 0;
    size_t i;
    unsigned parts = 0;
    unsigned long v;

    for (i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (parse_dec(s + start, i - start, BYTE_MAX, &v) != 0)
                return 0;
            parts++;
            start = i + 1u;
        }
    }
    return parts == 4u;
}

int pl_cip_route_parse(const char *text, uint8_t *buf, size_t cap, size_t *err_at)
{
    size_t pos = 0;
    size_t start = 0;
    size_t out = 0;
    size_t item = 0;
    unsigned long port = 0;
    unsigned long v;
    uint8_t link;
    int r;

    if (err_at != NULL)
        *err_at = 0;
    while (text[pos] == ' ')
        pos++;
    if (text[pos] == '\0')
        return 0;
    for (;;) {
        size_t end;
        size_t n;

        while (text[pos] == ' ')
            pos++;
        start = pos;
        while (text[pos] != '\0' && text[pos] != ',')
            pos++;
        end = pos;
        while (end > start && text[end - 1u] == ' ')
            end--;
        n = end - start;
        if ((item & 1u) == 0u) {
            if (parse_dec(text + start, n, UINT16_MAX, &port) != 0 || port < PORT_ID_MIN)
                goto bad;
        } else {
            if (parse_dec(text + start, n, BYTE_MAX, &v) == 0) {
                link = (uint8_t)v;
                r = pl_cip_seg_encode_port(buf + out, cap - out, (uint16_t)port, &link, 1u);
            } else if (is_ipv4(text + start, n)) {
                r = pl_cip_seg_encode_port(buf + out, cap - out, (uint16_t)port,
                                           (const uint8_t *)(text + start), n);
            } else {
                goto bad;
            }
            if (r < 0)
                return r;
            out += (size_t)r;
        }
        item++;
        if (text[pos] == '\0')
            break;
        pos++; /* the comma */
    }
    if ((item & 1u) != 0u) {
        start = pos; /* a port without its link: the text ends too early */
        goto bad;
    }
    return (int)out;

bad:
    if (err_at != NULL)
        *err_at = start;
    return PL_ECIP_ROUTE;
}

/* ---------------------------------------------------- Message Router */

int pl_cip_req_decode(const uint8_t *buf, size_t len, pl_cip_req_t *out)
{
    size_t path_len;
    int r;

    memset(out, 0, sizeof(*out));
    if (len < PL_CIP_REQ_HEADER_LEN)
        return PL_ECIP_SHORT;
    out->service = buf[0];
    out->path_words = buf[1];
    if ((out->service & PL_CIP_SVC_REPLY) != 0u)
        return PL_ECIP_SERVICE;
    path_len = (size_t)out->path_words * WORD_LEN;
    if (len - PL_CIP_REQ_HEADER_LEN < path_len)
        return PL_ECIP_PATH;
    r = pl_cip_path_check(buf + PL_CIP_REQ_HEADER_LEN, path_len);
    if (r < 0)
        return r;
    out->path = path_len != 0u ? buf + PL_CIP_REQ_HEADER_LEN : NULL;
    out->path_len = path_len;
    out->data_len = len - PL_CIP_REQ_HEADER_LEN - path_len;
    out->data = out->data_len != 0u ? buf + PL_CIP_REQ_HEADER_LEN + path_len : NULL;
    return 0;
}

int pl_cip_req_encode(uint8_t *buf, size_t cap, const pl_cip_req_t *req)
{
    size_t total;

    if ((req->path_len & 1u) != 0u || (req->service & PL_CIP_SVC_REPLY) != 0u ||
        (req->path_len != 0u && req->path == NULL) || (req->data_len != 0u && req->data == NULL))
        return PL_EINVAL;
    if (req->path_len > MAX_PATH_LEN)
        return PL_ERANGE;
    if (cap < PL_CIP_REQ_HEADER_LEN + req->path_len ||
        cap - PL_CIP_REQ_HEADER_LEN - req->path_len < req->data_len)
        return PL_ENOBUFS;
    total = PL_CIP_REQ_HEADER_LEN + req->path_len + req->data_len;
    if (total > (size_t)INT_MAX)
        return PL_ERANGE;
    move(buf + PL_CIP_REQ_HEADER_LEN + req->path_len, req->data, req->data_len);
    move(buf + PL_CIP_REQ_HEADER_LEN, req->path, req->path_len);
    buf[0] = req->service;
    buf[1] = (uint8_t)(req->path_len / WORD_LEN);
    return (int)total;
}

int pl_cip_rsp_decode(const uint8_t *buf, size_t len, pl_cip_rsp_t *out)
{
    size_t ext_len;

    memset(out, 0, sizeof(*out));
    if (len < PL_CIP_RSP_HEADER_LEN)
        return PL_ECIP_SHORT;
    out->service = buf[0];
    out->reserved = buf[1];
    out->status = buf[2];
    out->ext_words = buf[3];
    if ((out->service & PL_CIP_SVC_REPLY) == 0u)
        return PL_ECIP_SERVICE;
    ext_len = (size_t)out->ext_words * WORD_LEN;
    if (len - PL_CIP_RSP_HEADER_LEN < ext_len)
        return PL_ECIP_LENGTH;
    if (ext_len != 0u) {
        out->ext = buf + PL_CIP_RSP_HEADER_LEN;
        out->ext_status = get_u16(out->ext);
    }
    out->data_len = len - PL_CIP_RSP_HEADER_LEN - ext_len;
    out->data = out->data_len != 0u ? buf + PL_CIP_RSP_HEADER_LEN + ext_len : NULL;
    return 0;
}

uint16_t pl_cip_rsp_ext(const pl_cip_rsp_t *rsp, size_t i)
{
    if (rsp->ext == NULL || i >= rsp->ext_words)
        return 0;
    return get_u16(rsp->ext + WORD_LEN * i);
}

int pl_cip_rsp_encode(uint8_t *buf, size_t cap, uint8_t req_service, uint8_t status,
                      const uint16_t *ext, uint8_t ext_words, const uint8_t *data, size_t data_len)
{
    size_t ext_len = (size_t)ext_words * WORD_LEN;
    size_t i;

    if ((ext_words != 0u && ext == NULL) || (data_len != 0u && data == NULL))
        return PL_EINVAL;
    if (cap < PL_CIP_RSP_HEADER_LEN + ext_len || cap - PL_CIP_RSP_HEADER_LEN - ext_len < data_len)
        return PL_ENOBUFS;
    if (PL_CIP_RSP_HEADER_LEN + ext_len + data_len > (size_t)INT_MAX)
        return PL_ERANGE;
    move(buf + PL_CIP_RSP_HEADER_LEN + ext_len, data, data_len);
    buf[0] = (uint8_t)(req_service | PL_CIP_SVC_REPLY);
    buf[1] = 0;
    buf[2] = status;
    buf[3] = ext_words;
    for (i = 0; i < ext_words; i++)
        put_u16(buf + PL_CIP_RSP_HEADER_LEN + WORD_LEN * i, ext[i]);
    return (int)(PL_CIP_RSP_HEADER_LEN + ext_len + data_len);
}

/* ---------------------------------------------------- Connection Manager */

/* The Connection Manager request path: class 0x06, instance 1 (8-bit segments). */
static const uint8_t cm_path[] = {PL_CIP_SEG_CLASS, PL_CIP_CLASS_CONN_MANAGER, PL_CIP_SEG_INSTANCE,
                                  PL_CIP_CM_INSTANCE};

/* Writes the request header for a Connection Manager service; returns its length. */
static size_t cm_header(uint8_t *buf, uint8_t service)
{
    buf[0] = service;
    buf[1] = (uint8_t)(sizeof(cm_path) / WORD_LEN);
    memcpy(buf + PL_CIP_REQ_HEADER_LEN, cm_path, sizeof(cm_path));
    return PL_CIP_REQ_HEADER_LEN + sizeof(cm_path);
}

/* Checks a path trailer of `words` words at d[pos..len): must end exactly at len. */
static int path_tail(const uint8_t *d, size_t len, size_t pos, uint8_t words, const uint8_t **path,
                     size_t *path_len)
{
    size_t n = (size_t)words * WORD_LEN;
    int r;

    if (len - pos < n)
        return PL_ECIP_PATH;
    if (len - pos > n)
        return PL_ECIP_LENGTH;
    r = pl_cip_path_check(d + pos, n);
    if (r < 0)
        return r;
    *path = n != 0u ? d + pos : NULL;
    *path_len = n;
    return 0;
}

/* Starts decoding a Connection Manager request whose fixed part is `fixed` octets: clears
 * *out (`size` octets) and checks the service and the length. Returns 0 or PL_ECIP_*. */
static int cm_decode_start(const pl_cip_req_t *req, uint8_t service, size_t fixed, void *out,
                           size_t size)
{
    memset(out, 0, size);
    if (req->service != service)
        return PL_ECIP_SERVICE;
    if (req->data_len < fixed)
        return PL_ECIP_SHORT;
    return 0;
}

/* Lays out a Connection Manager request of `fixed` octets and a path (an even number of
 * octets, at most MAX_PATH_LEN): the header, then the path at its place after the fixed
 * part (moved first: it may lie in `buf`). *body points at the fixed part for the caller
 * to fill. Returns the total length or PL_EINVAL, PL_ERANGE, PL_ENOBUFS. */
static int cm_encode_start(uint8_t *buf, size_t cap, uint8_t service, size_t fixed,
                           const uint8_t *path, size_t path_len, uint8_t **body)
{
    size_t head = PL_CIP_REQ_HEADER_LEN + sizeof(cm_path);
    size_t total = head + fixed + path_len;

    if ((path_len & 1u) != 0u || (path_len != 0u && path == NULL))
        return PL_EINVAL;
    if (path_len > MAX_PATH_LEN)
        return PL_ERANGE;
    if (total > cap)
        return PL_ENOBUFS;
    move(buf + head + fixed, path, path_len);
    (void)cm_header(buf, service);
    *body = buf + head;
    return (int)total;
}

int pl_cip_ucmm_decode(const pl_cip_req_t *req, pl_cip_ucmm_t *out)
{
    const uint8_t *d = req->data;
    size_t len = req->data_len;
    size_t pos;
    int rc =
        cm_decode_start(req, PL_CIP_SVC_UNCONNECTED_SEND, PL_CIP_UCMM_FIXED_LEN, out, sizeof(*out));

    if (rc < 0)
        return rc;
    out->priority_tick = d[0];
    out->timeout_ticks = d[1];
    out->msg_len = get_u16(d + 2);
    pos = PL_CIP_UCMM_FIXED_LEN;
    if (len - pos < out->msg_len)
        return PL_ECIP_LENGTH;
    out->msg = out->msg_len != 0u ? d + pos : NULL;
    pos += out->msg_len;
    if ((out->msg_len & 1u) != 0u) { /* pad byte after an odd message (Vol 1, 3-5.6.4) */
        if (len - pos < 1u)
            return PL_ECIP_SHORT;
        out->pad = d[pos++];
    }
    if (len - pos < U16_LEN)
        return PL_ECIP_SHORT;
    out->route_words = d[pos];
    out->reserved = d[pos + 1u];
    pos += U16_LEN;
    return path_tail(d, len, pos, out->route_words, &out->route, &out->route_len);
}

_Static_assert(PL_CIP_REQ_HEADER_LEN + sizeof(cm_path) + PL_CIP_UCMM_FIXED_LEN ==
                   PL_CIP_UCMM_MSG_OFFSET,
               "PL_CIP_UCMM_MSG_OFFSET");

int pl_cip_ucmm_encode(uint8_t *buf, size_t cap, const pl_cip_ucmm_t *u)
{
    size_t head = PL_CIP_REQ_HEADER_LEN + sizeof(cm_path);
    size_t msg_at = head + PL_CIP_UCMM_FIXED_LEN;
    size_t route_at = msg_at + even(u->msg_len) + U16_LEN;
    size_t total = route_at + u->route_len;

    if ((u->route_len & 1u) != 0u || (u->msg_len != 0u && u->msg == NULL) ||
        (u->route_len != 0u && u->route == NULL))
        return PL_EINVAL;
    if (u->msg_len > UINT16_MAX || u->route_len > MAX_PATH_LEN)
        return PL_ERANGE;
    if (total > cap)
        return PL_ENOBUFS;
    move(buf + route_at, u->route, u->route_len);
    move(buf + msg_at, u->msg, u->msg_len);
    (void)cm_header(buf, PL_CIP_SVC_UNCONNECTED_SEND);
    buf[head] = u->priority_tick;
    buf[head + 1u] = u->timeout_ticks;
    put_u16(buf + head + 2u, (uint16_t)u->msg_len);
    if ((u->msg_len & 1u) != 0u)
        buf[msg_at + u->msg_len] = 0;
    buf[route_at - U16_LEN] = (uint8_t)(u->route_len / WORD_LEN);
    buf[route_at - 1u] = 0;
    return (int)total;
}

int pl_cip_ucmm_remaining(const pl_cip_rsp_t *rsp, uint8_t *words)
{
    if (rsp->service != (PL_CIP_SVC_UNCONNECTED_SEND | PL_CIP_SVC_REPLY))
        return PL_ECIP_SERVICE;
    if (rsp->status == PL_CIP_STATUS_SUCCESS)
        return PL_EINVAL;
    if (rsp->data_len == 0u)
        return 0;
    if (rsp->data_len > U16_LEN) /* remaining path size, and a reserved byte some send */
        return PL_ECIP_LENGTH;
    *words = rsp->data[0];
    return 1;
}

int pl_cip_ncp(uint16_t size, int variable, unsigned priority, unsigned type, int redundant_owner,
               uint16_t *out)
{
    if (size > PL_CIP_NCP_SIZE_MASK || priority > PL_CIP_PRIORITY_URGENT ||
        type > PL_CIP_CONN_TYPE_P2P)
        return PL_ERANGE;
    *out = (uint16_t)(size | (variable ? PL_CIP_NCP_VARIABLE : 0u) |
                      (priority << PL_CIP_NCP_PRIORITY_SHIFT) | (type << PL_CIP_NCP_TYPE_SHIFT) |
                      (redundant_owner ? PL_CIP_NCP_REDUNDANT : 0u));
    return 0;
}

int pl_cip_fwd_open_decode(const pl_cip_req_t *req, pl_cip_fwd_open_t *out)
{
    const uint8_t *d = req->data;
    int rc =
        cm_decode_start(req, PL_CIP_SVC_FORWARD_OPEN, PL_CIP_FWD_OPEN_FIXED_LEN, out, sizeof(*out));

    if (rc < 0)
        return rc;
    out->priority_tick = d[0];
    out->timeout_ticks = d[1];
    out->ot_conn_id = get_u32(d + 2);
    out->to_conn_id = get_u32(d + 6);
    out->conn_serial = get_u16(d + 10);
    out->vendor_id = get_u16(d + 12);
    out->orig_serial = get_u32(d + 14);
    out->timeout_mult = d[18];
    memcpy(out->reserved, d + 19, PL_CIP_FWD_RESERVED_LEN);
    out->ot_rpi = get_u32(d + 22);
    out->ot_params = get_u16(d + 26);
    out->to_rpi = get_u32(d + 28);
    out->to_params = get_u16(d + 32);
    out->transport = d[34];
    out->path_words = d[35];
    return path_tail(d, req->data_len, PL_CIP_FWD_OPEN_FIXED_LEN, out->path_words, &out->path,
                     &out->path_len);
}

int pl_cip_fwd_open_encode(uint8_t *buf, size_t cap, const pl_cip_fwd_open_t *fo)
{
    uint8_t *d;
    int total = cm_encode_start(buf, cap, PL_CIP_SVC_FORWARD_OPEN, PL_CIP_FWD_OPEN_FIXED_LEN,
                                fo->path, fo->path_len, &d);

    if (total < 0)
        return total;
    d[0] = fo->priority_tick;
    d[1] = fo->timeout_ticks;
    put_u32(d + 2, fo->ot_conn_id);
    put_u32(d + 6, fo->to_conn_id);
    put_u16(d + 10, fo->conn_serial);
    put_u16(d + 12, fo->vendor_id);
    put_u32(d + 14, fo->orig_serial);
    d[18] = fo->timeout_mult;
    memset(d + 19, 0, PL_CIP_FWD_RESERVED_LEN);
    put_u32(d + 22, fo->ot_rpi);
    put_u16(d + 26, fo->ot_params);
    put_u32(d + 28, fo->to_rpi);
    put_u16(d + 32, fo->to_params);
    d[34] = fo->transport;
    d[35] = (uint8_t)(fo->path_len / WORD_LEN);
    return total;
}

/* Checks the reply service and success status shared by the success-reply decoders. */
static int success_reply(const pl_cip_rsp_t *rsp, uint8_t req_service, size_t fixed)
{
    if (rsp->service != (uint8_t)(req_service | PL_CIP_SVC_REPLY))
        return PL_ECIP_SERVICE;
    if (rsp->status != PL_CIP_STATUS_SUCCESS)
        return PL_EINVAL;
    if (rsp->data_len < fixed)
        return PL_ECIP_SHORT;
    return 0;
}

/* Application reply of `words` words at d[pos..len): must end exactly at len. */
static int app_tail(const uint8_t *d, size_t len, size_t pos, uint8_t words, const uint8_t **app,
                    size_t *app_len)
{
    size_t n = (size_t)words * WORD_LEN;

    if (len - pos != n)
        return PL_ECIP_LENGTH;
    *app = n != 0u ? d + pos : NULL;
    *app_len = n;
    return 0;
}

/* Lays out a success reply to `service` of `fixed` octets and an application reply (an even
 * number of octets, at most MAX_PATH_LEN) after it: the reply header, then the application
 * reply (moved first: it may lie in `buf`). *body points at the fixed part for the caller
 * to fill. Returns the total length or PL_EINVAL, PL_ERANGE, PL_ENOBUFS. */
static int cm_reply_start(uint8_t *buf, size_t cap, uint8_t service, size_t fixed,
                          const uint8_t *app, size_t app_len, uint8_t **body)
{
    size_t total = PL_CIP_RSP_HEADER_LEN + fixed + app_len;

    if ((app_len & 1u) != 0u || (app_len != 0u && app == NULL))
        return PL_EINVAL;
    if (app_len > MAX_PATH_LEN)
        return PL_ERANGE;
    if (total > cap)
        return PL_ENOBUFS;
    move(buf + PL_CIP_RSP_HEADER_LEN + fixed, app, app_len);
    buf[0] = (uint8_t)(service | PL_CIP_SVC_REPLY);
    buf[1] = 0;
    buf[2] = PL_CIP_STATUS_SUCCESS;
    buf[3] = 0;
    *body = buf + PL_CIP_RSP_HEADER_LEN;
    return (int)total;
}

int pl_cip_fwd_open_reply_decode(const pl_cip_rsp_t *rsp, pl_cip_fwd_open_reply_t *out)
{
    const uint8_t *d = rsp->data;
    int r;

    memset(out, 0, sizeof(*out));
    r = success_reply(rsp, PL_CIP_SVC_FORWARD_OPEN, PL_CIP_FWD_OPEN_REPLY_FIXED_LEN);
    if (r < 0)
        return r;
    out->ot_conn_id = get_u32(d);
    out->to_conn_id = get_u32(d + 4);
    out->conn_serial = get_u16(d + 8);
    out->vendor_id = get_u16(d + 10);
    out->orig_serial = get_u32(d + 12);
    out->ot_api = get_u32(d + 16);
    out->to_api = get_u32(d + 20);
    out->app_words = d[24];
    out->reserved = d[25];
    return app_tail(d, rsp->data_len, PL_CIP_FWD_OPEN_REPLY_FIXED_LEN, out->app_words, &out->app,
                    &out->app_len);
}

int pl_cip_fwd_open_reply_encode(uint8_t *buf, size_t cap, const pl_cip_fwd_open_reply_t *r)
{
    uint8_t *d;
    int total = cm_reply_start(buf, cap, PL_CIP_SVC_FORWARD_OPEN, PL_CIP_FWD_OPEN_REPLY_FIXED_LEN,
                               r->app, r->app_len, &d);

    if (total < 0)
        return total;
    put_u32(d, r->ot_conn_id);
    put_u32(d + 4, r->to_conn_id);
    put_u16(d + 8, r->conn_serial);
    put_u16(d + 10, r->vendor_id);
    put_u32(d + 12, r->orig_serial);
    put_u32(d + 16, r->ot_api);
    put_u32(d + 20, r->to_api);
    d[24] = (uint8_t)(r->app_len / WORD_LEN);
    d[25] = 0;
    return total;
}

int pl_cip_fwd_error_decode(const pl_cip_rsp_t *rsp, pl_cip_fwd_error_t *out)
{
    const uint8_t *d = rsp->data;

    memset(out, 0, sizeof(*out));
    if (rsp->service != (PL_CIP_SVC_FORWARD_OPEN | PL_CIP_SVC_REPLY) &&
        rsp->service != (PL_CIP_SVC_FORWARD_CLOSE | PL_CIP_SVC_REPLY))
        return PL_ECIP_SERVICE;
    if (rsp->status == PL_CIP_STATUS_SUCCESS)
        return PL_EINVAL;
    if (rsp->data_len == 0u)
        return 0;
    if (rsp->data_len < PL_CIP_FWD_TRIAD_LEN)
        return PL_ECIP_SHORT;
    if (rsp->data_len != PL_CIP_FWD_TRIAD_LEN && rsp->data_len != PL_CIP_FWD_ERROR_LEN)
        return PL_ECIP_LENGTH;
    out->has_triad = 1;
    out->conn_serial = get_u16(d);
    out->vendor_id = get_u16(d + 2);
    out->orig_serial = get_u32(d + 4);
    if (rsp->data_len == PL_CIP_FWD_ERROR_LEN) {
        out->has_remaining = 1;
        out->remaining_words = d[8];
        out->reserved = d[9];
    }
    return 0;
}

int pl_cip_fwd_error_encode(uint8_t *buf, size_t cap, uint8_t req_service, uint8_t status,
                            uint16_t ext, const pl_cip_fwd_error_t *e)
{
    const size_t ext_len = WORD_LEN;
    const size_t total = PL_CIP_RSP_HEADER_LEN + ext_len + PL_CIP_FWD_ERROR_LEN;
    uint8_t *d = buf + PL_CIP_RSP_HEADER_LEN + ext_len;

    if (status == PL_CIP_STATUS_SUCCESS ||
        (req_service != PL_CIP_SVC_FORWARD_OPEN && req_service != PL_CIP_SVC_FORWARD_CLOSE))
        return PL_EINVAL;
    if (total > cap)
        return PL_ENOBUFS;
    buf[0] = (uint8_t)(req_service | PL_CIP_SVC_REPLY);
    buf[1] = 0;
    buf[2] = status;
    buf[3] = (uint8_t)(ext_len / WORD_LEN);
    put_u16(buf + PL_CIP_RSP_HEADER_LEN, ext);
    put_u16(d, e->conn_serial);
    put_u16(d + 2, e->vendor_id);
    put_u32(d + 4, e->orig_serial);
    d[8] = e->remaining_words;
    d[9] = 0;
    return (int)total;
}

int pl_cip_fwd_close_decode(const pl_cip_req_t *req, pl_cip_fwd_close_t *out)
{
    const uint8_t *d = req->data;
    int rc = cm_decode_start(req, PL_CIP_SVC_FORWARD_CLOSE, PL_CIP_FWD_CLOSE_FIXED_LEN, out,
                             sizeof(*out));

    if (rc < 0)
        return rc;
    out->priority_tick = d[0];
    out->timeout_ticks = d[1];
    out->conn_serial = get_u16(d + 2);
    out->vendor_id = get_u16(d + 4);
    out->orig_serial = get_u32(d + 6);
    out->path_words = d[10];
    out->reserved = d[11];
    return path_tail(d, req->data_len, PL_CIP_FWD_CLOSE_FIXED_LEN, out->path_words, &out->path,
                     &out->path_len);
}

int pl_cip_fwd_close_encode(uint8_t *buf, size_t cap, const pl_cip_fwd_close_t *fc)
{
    uint8_t *d;
    int total = cm_encode_start(buf, cap, PL_CIP_SVC_FORWARD_CLOSE, PL_CIP_FWD_CLOSE_FIXED_LEN,
                                fc->path, fc->path_len, &d);

    if (total < 0)
        return total;
    d[0] = fc->priority_tick;
    d[1] = fc->timeout_ticks;
    put_u16(d + 2, fc->conn_serial);
    put_u16(d + 4, fc->vendor_id);
    put_u32(d + 6, fc->orig_serial);
    d[10] = (uint8_t)(fc->path_len / WORD_LEN);
    d[11] = 0;
    return total;
}

int pl_cip_fwd_close_reply_decode(const pl_cip_rsp_t *rsp, pl_cip_fwd_close_reply_t *out)
{
    const uint8_t *d = rsp->data;
    int r;

    memset(out, 0, sizeof(*out));
    r = success_reply(rsp, PL_CIP_SVC_FORWARD_CLOSE, PL_CIP_FWD_CLOSE_REPLY_FIXED_LEN);
    if (r < 0)
        return r;
    out->conn_serial = get_u16(d);
    out->vendor_id = get_u16(d + 2);
    out->orig_serial = get_u32(d + 4);
    out->app_words = d[8];
    out->reserved = d[9];
    return app_tail(d, rsp->data_len, PL_CIP_FWD_CLOSE_REPLY_FIXED_LEN, out->app_words, &out->app,
                    &out->app_len);
}

int pl_cip_fwd_close_reply_encode(uint8_t *buf, size_t cap, const pl_cip_fwd_close_reply_t *r)
{
    uint8_t *d;
    int total = cm_reply_start(buf, cap, PL_CIP_SVC_FORWARD_CLOSE, PL_CIP_FWD_CLOSE_REPLY_FIXED_LEN,
                               r->app, r->app_len, &d);

    if (total < 0)
        return total;
    put_u16(d, r->conn_serial);
    put_u16(d + 2, r->vendor_id);
    put_u32(d + 4, r->orig_serial);
    d[8] = (uint8_t)(r->app_len / WORD_LEN);
    d[9] = 0;
    return total;
}

/* ---------------------------------------------------- status tables */

const char *pl_cip_status_name(uint8_t status)
{
    switch (status) {
#define XX(name, num, msg) \
    case num:              \
        return msg;
        PL_CIP_STATUS_MAP(XX)
#undef XX
    default:
        return "unknown";
    }
}

const char *pl_cip_ext_status_name(uint16_t ext)
{
    switch (ext) {
#define XX(name, num, msg) \
    case num:              \
        return msg;
        PL_CIP_EXT_STATUS_MAP(XX)
#undef XX
    default:
        return "unknown";
    }
}
