/* SPDX-License-Identifier: MIT */
/*
 * PCCC codec: the PCCC object's service wrappers (seed 001), PCCC requests and replies, PLC-5
 * system addresses and typed data, diagnostic status replies, and the names of remote status
 * codes (1770-6.5.16). Every read is checked against the payload length the caller gives
 * (PCCC has no length of its own), so a truncated message gives PL_EPCCC_SHORT and nothing
 * is ever read past the end.
 *
 * It must not do I/O, read a clock, allocate or keep state; decoders return views into the
 * input and encoders write into the caller's buffer.
 */
#include "proto/pccc/codec/pccc.h"
#include "plcline/error.h"

#include <string.h>

/* pl_status_set with a NULL-tolerant status. */
#define FAIL(st, code, ...) ((st) != NULL ? pl_status_set((st), (code), 0, __VA_ARGS__) : (code))

#define ESCAPED_LEN   3u    /* 0xFF + u16 */
#define TD_EXT_FLAG   0x08u /* nibble bit: value in following bytes */
#define TD_NIBBLE_MAX 7u    /* value held in the nibble itself */
#define TD_VALUE_MAX  7u    /* the manual: extends to a 7-byte unsigned integer */
#define MASK_MAX      0x7Fu /* 7 levels; 0xFF would announce a mask word */
#define DIAG_SLC_TYPE 0xEEu /* byte 2 of SLC/MicroLogix diagnostic status */
#define DIAG_PLC5_LO  0x0Bu /* byte 2 low nibble: PLC-5 */
#define DIAG_EXP_HI   0xE0u /* byte 2 high nibble: expansion byte follows */
#define DIAG_SLC_LEN  16u   /* bytes 1..16 */
#define DIAG_PLC5_LEN 9u    /* bytes 1..9 */
#define SERIES_SHIFT  5u
#define REVISION_MASK 0x1Fu

/* ------------------------------------------------------------------ a cursor */

typedef struct {
    const uint8_t *p;
    size_t len;
    size_t at;
    pl_status_t *st;
} rd_t;

static int rd_need(rd_t *r, size_t n, const char *what)
{
    if (r->len - r->at < n)
        return FAIL(r->st, PL_EPCCC_SHORT, "%s at byte %zu needs %zu byte%s, %zu left", what, r->at,
                    n, n == 1 ? "" : "s", r->len - r->at);
    return 0;
}

static int rd_u8(rd_t *r, uint8_t *v, const char *what)
{
    int rc = rd_need(r, 1, what);

    if (rc != 0)
        return rc;
    *v = r->p[r->at++];
    return 0;
}

static int rd_u16(rd_t *r, uint16_t *v, const char *what)
{
    int rc = rd_need(r, 2, what);

    if (rc != 0)
        return rc;
    *v = (uint16_t)(r->p[r->at] | (r->p[r->at + 1] << 8));
    r->at += 2;
    return 0;
}

static int rd_u32(rd_t *r, uint32_t *v, const char *what)
{
    int rc = rd_need(r, 4, what);

    if (rc != 0)
        return rc;
    *v = (uint32_t)r->p[r->at] | ((uint32_t)r->p[r->at + 1] << 8) |
         ((uint32_t)r->p[r->at + 2] << 16) | ((uint32_t)r->p[r->at + 3] << 24);
    r->at += 4;
    return 0;
}

/* A byte, or 0xFF + u16 for values >= 255 (1770-6.5.16 p. 7-17, p. 13-11). */
static int rd_field(rd_t *r, uint16_t *v, const char *what)
{
    uint8_t b;
    size_t at = r->at;
    int rc = rd_u8(r, &b, what);

    if (rc != 0)
        return rc;
    if (b != PL_PCCC_FIELD_ESCAPE) {
        *v = b;
        return 0;
    }
    if (r->len - r->at < 2)
        return FAIL(r->st, PL_EPCCC_SHORT,
                    "%s at byte %zu: 0xFF escape needs 2 more bytes, %zu left", what, at,
                    r->len - r->at);
    rc = rd_u16(r, v, what);
    if (rc != 0)
        return rc;
    if (*v < PL_PCCC_FIELD_ESCAPE)
        return FAIL(r->st, PL_EPCCC_FIELD,
                    "%s at byte %zu: 0xFF escape holds %u (escapes are for 255 and above)", what,
                    at, (unsigned)*v);
    return 0;
}

static int rd_end(rd_t *r, const char *what)
{
    if (r->at != r->len)
        return FAIL(r->st, PL_EPCCC_FORMAT, "%zu unexpected byte%s after the %s at byte %zu",
                    r->len - r->at, r->len - r->at == 1 ? "" : "s", what, r->at);
    return 0;
}

typedef struct {
    uint8_t *p;
    size_t cap;
    size_t at;
    int err;
} wr_t;

static void wr_u8(wr_t *w, uint8_t v)
{
    if (w->at >= w->cap) {
        w->err = 1;
        return;
    }
    w->p[w->at++] = v;
}

static void wr_u16(wr_t *w, uint16_t v)
{
    wr_u8(w, (uint8_t)(v & 0xFFu));
    wr_u8(w, (uint8_t)(v >> 8));
}

static void wr_u32(wr_t *w, uint32_t v)
{
    wr_u16(w, (uint16_t)(v & 0xFFFFu));
    wr_u16(w, (uint16_t)(v >> 16));
}

static void wr_field(wr_t *w, uint16_t v)
{
    if (v >= PL_PCCC_FIELD_ESCAPE) {
        wr_u8(w, PL_PCCC_FIELD_ESCAPE);
        wr_u16(w, v);
    } else {
        wr_u8(w, (uint8_t)v);
    }
}

static void wr_bytes(wr_t *w, const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    if (p == NULL || w->cap - w->at < n || w->at > w->cap) {
        w->err = 1;
        return;
    }
    memcpy(w->p + w->at, p, n);
    w->at += n;
}

static int wr_done(const wr_t *w)
{
    if (w->err)
        return PL_ENOBUFS;
    if (w->at > (size_t)INT32_MAX)
        return PL_ENOBUFS;
    return (int)w->at;
}

/* ------------------------------------------------------------------ service wrappers */

int pl_pccc_wrap_header_len(uint8_t service)
{
    switch (service) {
    case PL_PCCC_SVC_EXECUTE:
        return (int)PL_PCCC_REQUESTOR_LEN;
    case PL_PCCC_SVC_DHP:
        return (int)PL_PCCC_DHP_LEN;
    case PL_PCCC_SVC_LOCAL:
        return 0;
    default:
        return PL_EINVAL;
    }
}

int pl_pccc_wrap_decode(uint8_t service, const uint8_t *buf, size_t len, pl_pccc_wrap_t *out,
                        pl_status_t *st)
{
    pl_pccc_wrap_t w;
    rd_t r = {buf, len, 0, st};
    int rc = 0;

    if (out == NULL || (buf == NULL && len > 0))
        return FAIL(st, PL_EINVAL, "pl_pccc_wrap_decode: NULL argument");
    memset(&w, 0, sizeof(w));
    w.service = service;
    switch (service) {
    case PL_PCCC_SVC_EXECUTE:
        if ((rc = rd_u8(&r, &w.length, "requestor ID length")) != 0)
            return rc;
        if (w.length < PL_PCCC_REQUESTOR_LEN)
            return FAIL(st, PL_EPCCC_HEADER, "requestor ID length %u, at least %u", w.length,
                        PL_PCCC_REQUESTOR_LEN);
        if ((rc = rd_u16(&r, &w.vendor, "requestor vendor ID")) != 0 ||
            (rc = rd_u32(&r, &w.serial, "requestor serial number")) != 0)
            return rc;
        w.extra_len = (size_t)w.length - PL_PCCC_REQUESTOR_LEN;
        if ((rc = rd_need(&r, w.extra_len, "requestor ID extra bytes")) != 0)
            return rc;
        w.extra = w.extra_len > 0 ? buf + r.at : NULL;
        r.at += w.extra_len;
        break;
    case PL_PCCC_SVC_DHP:
        /* Seed 001's example header 00 00 02 00 00 00 05 00 decodes by its own layout
         * (AA AA BB XX CC CC DD XX) to destination node 2 and source node 5, although its
         * text says destination 5 and source 2. The layout agrees with Rockwell's published
         * structure (DLink, DSta, DUser, SLink, SSta, SUser), so the layout wins. */
        if ((rc = rd_u16(&r, &w.dhp.dst_link, "DH+ destination link")) != 0 ||
            (rc = rd_u8(&r, &w.dhp.dst_node, "DH+ destination node")) != 0 ||
            (rc = rd_u8(&r, &w.dhp.dst_user, "DH+ destination user byte")) != 0 ||
            (rc = rd_u16(&r, &w.dhp.src_link, "DH+ source link")) != 0 ||
            (rc = rd_u8(&r, &w.dhp.src_node, "DH+ source node")) != 0 ||
            (rc = rd_u8(&r, &w.dhp.src_user, "DH+ source user byte")) != 0)
            return rc;
        break;
    case PL_PCCC_SVC_LOCAL:
        break;
    default:
        return FAIL(st, PL_ECIP_SERVICE,
                    "service 0x%02X is not a PCCC object service (0x4B, "
                    "0x4C, 0x4D)",
                    (unsigned)service);
    }
    w.pccc = r.at < len ? buf + r.at : NULL;
    w.pccc_len = len - r.at;
    *out = w;
    return 0;
}

int pl_pccc_wrap_encode(uint8_t *buf, size_t cap, const pl_pccc_wrap_t *w)
{
    wr_t o = {buf, buf != NULL ? cap : 0, 0, 0};

    if (w == NULL || (w->pccc == NULL && w->pccc_len > 0))
        return PL_EINVAL;
    switch (w->service) {
    case PL_PCCC_SVC_EXECUTE:
        if (w->length < PL_PCCC_REQUESTOR_LEN ||
            (size_t)w->length != PL_PCCC_REQUESTOR_LEN + w->extra_len ||
            (w->extra == NULL && w->extra_len > 0))
            return PL_EINVAL;
        wr_u8(&o, w->length);
        wr_u16(&o, w->vendor);
        wr_u32(&o, w->serial);
        wr_bytes(&o, w->extra, w->extra_len);
        break;
    case PL_PCCC_SVC_DHP:
        wr_u16(&o, w->dhp.dst_link);
        wr_u8(&o, w->dhp.dst_node);
        wr_u8(&o, w->dhp.dst_user);
        wr_u16(&o, w->dhp.src_link);
        wr_u8(&o, w->dhp.src_node);
        wr_u8(&o, w->dhp.src_user);
        break;
    case PL_PCCC_SVC_LOCAL:
        break;
    default:
        return PL_EINVAL;
    }
    wr_bytes(&o, w->pccc, w->pccc_len);
    return wr_done(&o);
}

/* ------------------------------------------------------------------ PLC-5 addresses */

static int sysaddr_read(rd_t *r, pl_pccc_sysaddr_t *a)
{
    size_t start = r->at, k;
    uint8_t mask;
    int rc;

    memset(a, 0, sizeof(*a));
    if ((rc = rd_u8(r, &mask, "PLC-5 address mask")) != 0)
        return rc;
    if (mask == 0) { /* logical ASCII: 0x00, text, 0x00 */
        for (k = r->at; k < r->len && r->p[k] != 0; k++)
            ;
        if (k >= r->len)
            return FAIL(r->st, PL_EPCCC_SHORT,
                        "PLC-5 ASCII address at byte %zu has no terminating NUL", start);
        if (k == r->at || k - r->at > PL_PCCC_ASCII_ADDR_MAX)
            return FAIL(r->st, PL_EPCCC_ADDRESS,
                        "PLC-5 ASCII address at byte %zu is %zu characters (1..%u)", start,
                        k - r->at, PL_PCCC_ASCII_ADDR_MAX);
        a->ascii = 1;
        a->text = r->p + r->at;
        a->text_len = k - r->at;
        r->at = k + 1;
        return 0;
    }
    if (mask > MASK_MAX)
        return FAIL(r->st, PL_EPCCC_ADDRESS,
                    "PLC-5 address mask 0x%02X at byte %zu: more than %u levels", mask, start,
                    PL_PCCC_LEVELS_MAX);
    a->mask = mask;
    for (k = 0; k < PL_PCCC_LEVELS_MAX; k++) {
        if ((mask >> k) & 1u) {
            if ((rc = rd_field(r, &a->level[k], "PLC-5 address level")) != 0)
                return rc;
            a->nlevels = (uint8_t)(k + 1);
        }
    }
    return 0;
}

int pl_pccc_sysaddr_decode(const uint8_t *buf, size_t len, pl_pccc_sysaddr_t *out, pl_status_t *st)
{
    rd_t r = {buf, len, 0, st};
    pl_pccc_sysaddr_t a;
    int rc;

    if (out == NULL || (buf == NULL && len > 0))
        return FAIL(st, PL_EINVAL, "pl_pccc_sysaddr_decode: NULL argument");
    rc = sysaddr_read(&r, &a);
    if (rc != 0)
        return rc;
    *out = a;
    return (int)r.at;
}

static int sysaddr_write(wr_t *o, const pl_pccc_sysaddr_t *a)
{
    size_t k;

    if (a->ascii) {
        if (a->text == NULL || a->text_len == 0 || a->text_len > PL_PCCC_ASCII_ADDR_MAX ||
            memchr(a->text, 0, a->text_len) != NULL)
            return PL_EINVAL;
        wr_u8(o, 0);
        wr_bytes(o, a->text, a->text_len);
        wr_u8(o, 0);
        return 0;
    }
    if (a->mask == 0 || a->mask > MASK_MAX)
        return PL_EINVAL;
    wr_u8(o, a->mask);
    for (k = 0; k < PL_PCCC_LEVELS_MAX; k++)
        if ((a->mask >> k) & 1u)
            wr_field(o, a->level[k]);
    return 0;
}

int pl_pccc_sysaddr_encode(uint8_t *buf, size_t cap, const pl_pccc_sysaddr_t *a)
{
    wr_t o = {buf, buf != NULL ? cap : 0, 0, 0};
    int rc;

    if (a == NULL)
        return PL_EINVAL;
    rc = sysaddr_write(&o, a);
    if (rc != 0)
        return rc;
    return wr_done(&o);
}

void pl_pccc_sysaddr_set(pl_pccc_sysaddr_t *a, uint16_t file, uint16_t element, int has_sub,
                         uint16_t sub)
{
    if (a == NULL)
        return;
    memset(a, 0, sizeof(*a));
    a->mask = has_sub ? 0x0Eu : 0x06u; /* levels 2, 3 [, 4]; level 1 (data table) = 0 */
    a->nlevels = has_sub ? 4u : 3u;
    a->level[1] = file;
    a->level[2] = element;
    a->level[3] = has_sub ? sub : 0u;
}

/* ------------------------------------------------------------------ PLC-5 typed data */

static int td_value(rd_t *r, unsigned nibble, uint32_t *v, const char *what)
{
    unsigned n, k;
    uint8_t b;
    int rc;

    if (!(nibble & TD_EXT_FLAG)) {
        *v = nibble;
        return 0;
    }
    n = nibble & TD_NIBBLE_MAX;
    if (n == 0)
        return FAIL(r->st, PL_EPCCC_TYPEDATA,
                    "type/data parameter at byte %zu: %s announced in 0 following bytes", r->at,
                    what);
    *v = 0;
    for (k = 0; k < n; k++) {
        if ((rc = rd_u8(r, &b, what)) != 0)
            return rc;
        if (k >= sizeof(uint32_t)) {
            if (b != 0)
                return FAIL(r->st, PL_EPCCC_TYPEDATA,
                            "type/data parameter %s at byte %zu exceeds 32 bits", what, r->at - 1);
            continue;
        }
        *v |= (uint32_t)b << (8u * k);
    }
    return 0;
}

static int td_read(rd_t *r, pl_pccc_td_t *td)
{
    uint8_t flag;
    int rc;

    if ((rc = rd_u8(r, &flag, "type/data parameter")) != 0)
        return rc;
    if ((rc = td_value(r, (unsigned)flag >> 4, &td->id, "data type ID")) != 0)
        return rc;
    return td_value(r, flag & 0x0Fu, &td->size, "data size");
}

int pl_pccc_td_decode(const uint8_t *buf, size_t len, pl_pccc_td_t *out, pl_status_t *st)
{
    rd_t r = {buf, len, 0, st};
    pl_pccc_td_t td = {0, 0};
    int rc;

    if (out == NULL || (buf == NULL && len > 0))
        return FAIL(st, PL_EINVAL, "pl_pccc_td_decode: NULL argument");
    if ((rc = td_read(&r, &td)) != 0)
        return rc;
    *out = td;
    return (int)r.at;
}

static unsigned value_bytes(uint32_t v)
{
    unsigned n = 0;

    while (v != 0) {
        n++;
        v >>= 8;
    }
    return n;
}

static void td_write(wr_t *o, uint32_t id, uint32_t size)
{
    unsigned idn = id > TD_NIBBLE_MAX ? value_bytes(id) : 0;
    unsigned szn = size > TD_NIBBLE_MAX ? value_bytes(size) : 0;
    unsigned hi = idn ? (TD_EXT_FLAG | idn) : id;
    unsigned lo = szn ? (TD_EXT_FLAG | szn) : size;
    unsigned k;

    wr_u8(o, (uint8_t)((hi << 4) | lo));
    for (k = 0; k < idn; k++)
        wr_u8(o, (uint8_t)((id >> (8u * k)) & 0xFFu));
    for (k = 0; k < szn; k++)
        wr_u8(o, (uint8_t)((size >> (8u * k)) & 0xFFu));
}

int pl_pccc_td_encode(uint8_t *buf, size_t cap, uint32_t id, uint32_t size)
{
    wr_t o = {buf, buf != NULL ? cap : 0, 0, 0};

    td_write(&o, id, size);
    return wr_done(&o);
}

static int typed_read(rd_t *r, pl_pccc_typed_t *t)
{
    pl_pccc_td_t td, el;
    size_t start = r->at, inner_start;
    int rc;

    memset(t, 0, sizeof(*t));
    if ((rc = td_read(r, &td)) != 0)
        return rc;
    if (td.id != PL_PCCC_TD_ARRAY) {
        if (r->len - r->at < td.size)
            return FAIL(r->st, PL_EPCCC_SHORT,
                        "typed data at byte %zu: type %lu announces %lu bytes, %zu follow", start,
                        (unsigned long)td.id, (unsigned long)td.size, r->len - r->at);
        if (r->len - r->at != td.size)
            return FAIL(r->st, PL_EPCCC_TYPEDATA,
                        "typed data at byte %zu: type %lu announces %lu bytes, %zu follow", start,
                        (unsigned long)td.id, (unsigned long)td.size, r->len - r->at);
        t->type = td.id;
        t->elem_size = td.size;
        t->data = td.size > 0 ? r->p + r->at : NULL;
        t->data_len = td.size;
        r->at = r->len;
        return 0;
    }
    if (td.size > r->len - r->at)
        return FAIL(r->st, PL_EPCCC_SHORT,
                    "typed array at byte %zu announces %lu bytes, %zu follow", start,
                    (unsigned long)td.size, r->len - r->at);
    if (td.size != r->len - r->at)
        return FAIL(r->st, PL_EPCCC_TYPEDATA,
                    "typed array at byte %zu announces %lu bytes, %zu follow", start,
                    (unsigned long)td.size, r->len - r->at);
    inner_start = r->at;
    if ((rc = td_read(r, &el)) != 0)
        return rc;
    if (el.id == PL_PCCC_TD_ARRAY)
        return FAIL(r->st, PL_EPCCC_TYPEDATA, "typed array at byte %zu holds arrays", start);
    t->array = 1;
    t->type = el.id;
    t->elem_size = el.size;
    t->data_len = r->len - r->at;
    t->data = t->data_len > 0 ? r->p + r->at : NULL;
    if (t->elem_size == 0 ? t->data_len != 0 : t->data_len % t->elem_size != 0)
        return FAIL(r->st, PL_EPCCC_TYPEDATA,
                    "typed array at byte %zu: %zu data bytes are not whole %lu-byte elements",
                    inner_start, t->data_len, (unsigned long)t->elem_size);
    r->at = r->len;
    return 0;
}

int pl_pccc_typed_decode(const uint8_t *buf, size_t len, pl_pccc_typed_t *out, pl_status_t *st)
{
    rd_t r = {buf, len, 0, st};
    pl_pccc_typed_t t;
    int rc;

    if (out == NULL || (buf == NULL && len > 0))
        return FAIL(st, PL_EINVAL, "pl_pccc_typed_decode: NULL argument");
    if ((rc = typed_read(&r, &t)) != 0)
        return rc;
    *out = t;
    return 0;
}

static int typed_write(wr_t *o, const pl_pccc_typed_t *t)
{
    uint8_t inner[16];
    wr_t d = {inner, sizeof(inner), 0, 0};

    if (t->data == NULL && t->data_len > 0)
        return PL_EINVAL;
    if (!t->array) {
        if (t->data_len != t->elem_size)
            return PL_EINVAL;
        td_write(o, t->type, t->elem_size);
        wr_bytes(o, t->data, t->data_len);
        return 0;
    }
    if (t->type == PL_PCCC_TD_ARRAY ||
        (t->elem_size == 0 ? t->data_len != 0 : t->data_len % t->elem_size != 0))
        return PL_EINVAL;
    td_write(&d, t->type, t->elem_size);
    if (t->data_len > UINT32_MAX - d.at)
        return PL_EINVAL;
    td_write(o, PL_PCCC_TD_ARRAY, (uint32_t)(d.at + t->data_len));
    wr_bytes(o, inner, d.at);
    wr_bytes(o, t->data, t->data_len);
    return 0;
}

int pl_pccc_typed_encode(uint8_t *buf, size_t cap, const pl_pccc_typed_t *t)
{
    wr_t o = {buf, buf != NULL ? cap : 0, 0, 0};
    int rc;

    if (t == NULL)
        return PL_EINVAL;
    if ((rc = typed_write(&o, t)) != 0)
        return rc;
    return wr_done(&o);
}

/* ------------------------------------------------------------------ requests */

static pl_pccc_op_t op_of(uint8_t cmd, uint8_t fnc)
{
    if (cmd == PL_PCCC_CMD_DIAG)
        return fnc == PL_PCCC_FNC_DIAG_STS ? PL_PCCC_OP_DIAG_STATUS : PL_PCCC_OP_UNKNOWN;
    if (cmd != PL_PCCC_CMD_TYPED)
        return PL_PCCC_OP_UNKNOWN;
    switch (fnc) {
    case PL_PCCC_FNC_SLC_READ:
        return PL_PCCC_OP_SLC_READ;
    case PL_PCCC_FNC_SLC_WRITE:
        return PL_PCCC_OP_SLC_WRITE;
    case PL_PCCC_FNC_SLC_MASKED:
        return PL_PCCC_OP_SLC_MASKED;
    case PL_PCCC_FNC_PLC5_READ:
        return PL_PCCC_OP_PLC5_READ;
    case PL_PCCC_FNC_PLC5_WRITE:
        return PL_PCCC_OP_PLC5_WRITE;
    case PL_PCCC_FNC_WORD_READ:
        return PL_PCCC_OP_WORD_READ;
    case PL_PCCC_FNC_WORD_WRITE:
        return PL_PCCC_OP_WORD_WRITE;
    default:
        return PL_PCCC_OP_UNKNOWN;
    }
}

/* CMD and FNC of an op; 0 for a known op, PL_EINVAL otherwise. */
static int codes_of(pl_pccc_op_t op, uint8_t *cmd, uint8_t *fnc)
{
    *cmd = PL_PCCC_CMD_TYPED;
    switch (op) {
    case PL_PCCC_OP_SLC_READ:
        *fnc = PL_PCCC_FNC_SLC_READ;
        return 0;
    case PL_PCCC_OP_SLC_WRITE:
        *fnc = PL_PCCC_FNC_SLC_WRITE;
        return 0;
    case PL_PCCC_OP_SLC_MASKED:
        *fnc = PL_PCCC_FNC_SLC_MASKED;
        return 0;
    case PL_PCCC_OP_PLC5_READ:
        *fnc = PL_PCCC_FNC_PLC5_READ;
        return 0;
    case PL_PCCC_OP_PLC5_WRITE:
        *fnc = PL_PCCC_FNC_PLC5_WRITE;
        return 0;
    case PL_PCCC_OP_WORD_READ:
        *fnc = PL_PCCC_FNC_WORD_READ;
        return 0;
    case PL_PCCC_OP_WORD_WRITE:
        *fnc = PL_PCCC_FNC_WORD_WRITE;
        return 0;
    case PL_PCCC_OP_DIAG_STATUS:
        *cmd = PL_PCCC_CMD_DIAG;
        *fnc = PL_PCCC_FNC_DIAG_STS;
        return 0;
    case PL_PCCC_OP_UNKNOWN:
        break;
    }
    *fnc = 0;
    return PL_EINVAL;
}

void pl_pccc_request_init(pl_pccc_request_t *req, pl_pccc_op_t op, uint16_t tns)
{
    if (req == NULL)
        return;
    memset(req, 0, sizeof(*req));
    req->op = op;
    req->tns = tns;
    (void)codes_of(op, &req->cmd, &req->fnc);
}

static int slc_fields_read(rd_t *r, pl_pccc_slc_addr_t *a)
{
    int rc;

    if ((rc = rd_u8(r, &a->size, "byte size")) != 0 ||
        (rc = rd_field(r, &a->file, "file number")) != 0 ||
        (rc = rd_u8(r, &a->type, "file type")) != 0 ||
        (rc = rd_field(r, &a->element, "element number")) != 0 ||
        (rc = rd_field(r, &a->sub, "sub-element number")) != 0)
        return rc;
    return 0;
}

static int rd_rest(rd_t *r, size_t want, const uint8_t **view, const char *what)
{
    if (r->len - r->at < want)
        return FAIL(r->st, PL_EPCCC_SHORT, "%s at byte %zu: size says %zu bytes, %zu present", what,
                    r->at, want, r->len - r->at);
    if (r->len - r->at > want)
        return FAIL(r->st, PL_EPCCC_FORMAT, "%s at byte %zu: size says %zu bytes, %zu present",
                    what, r->at, want, r->len - r->at);
    *view = want > 0 ? r->p + r->at : NULL;
    r->at += want;
    return 0;
}

int pl_pccc_request_decode(const uint8_t *buf, size_t len, pl_pccc_request_t *req, pl_status_t *st)
{
    rd_t r = {buf, len, 0, st};
    uint8_t u8;
    int rc;

    if (req == NULL || (buf == NULL && len > 0))
        return FAIL(st, PL_EINVAL, "pl_pccc_request_decode: NULL argument");
    memset(req, 0, sizeof(*req));
    if ((rc = rd_u8(&r, &req->cmd, "CMD")) != 0 || (rc = rd_u8(&r, &req->sts, "STS")) != 0 ||
        (rc = rd_u16(&r, &req->tns, "TNS")) != 0)
        return rc;
    if (req->cmd & PL_PCCC_CMD_REPLY)
        return FAIL(st, PL_EPCCC_COMMAND, "CMD 0x%02X is a reply, not a request",
                    (unsigned)req->cmd);
    if (req->cmd != PL_PCCC_CMD_TYPED && req->cmd != PL_PCCC_CMD_DIAG)
        return FAIL(st, PL_EPCCC_COMMAND, "unsupported command CMD 0x%02X", (unsigned)req->cmd);
    if ((rc = rd_u8(&r, &req->fnc, "FNC")) != 0)
        return rc;
    req->op = op_of(req->cmd, req->fnc);
    if (req->op == PL_PCCC_OP_UNKNOWN)
        return FAIL(st, PL_EPCCC_COMMAND, "unsupported function CMD 0x%02X FNC 0x%02X",
                    (unsigned)req->cmd, (unsigned)req->fnc);
    if (req->sts != 0)
        return FAIL(st, PL_EPCCC_FORMAT, "request STS 0x%02X, must be 0", (unsigned)req->sts);

    switch (req->op) {
    case PL_PCCC_OP_SLC_READ:
        if ((rc = slc_fields_read(&r, &req->slc)) != 0)
            return rc;
        return rd_end(&r, "typed read address");
    case PL_PCCC_OP_SLC_WRITE:
        if ((rc = slc_fields_read(&r, &req->slc)) != 0)
            return rc;
        if ((rc = rd_rest(&r, req->slc.size, &req->data, "write data")) != 0)
            return rc;
        req->data_len = req->slc.size;
        return 0;
    case PL_PCCC_OP_SLC_MASKED:
        /* mask then data, each `byte size` bytes (one mask word per data word; public
         * implementations only ever send one word, where every reading agrees) */
        if ((rc = slc_fields_read(&r, &req->slc)) != 0)
            return rc;
        if ((rc = rd_need(&r, req->slc.size, "mask")) != 0)
            return rc;
        req->mask = req->slc.size > 0 ? buf + r.at : NULL;
        r.at += req->slc.size;
        if ((rc = rd_rest(&r, req->slc.size, &req->data, "masked write data")) != 0)
            return rc;
        req->data_len = req->slc.size;
        return 0;
    case PL_PCCC_OP_PLC5_READ:
    case PL_PCCC_OP_PLC5_WRITE:
    case PL_PCCC_OP_WORD_READ:
    case PL_PCCC_OP_WORD_WRITE:
        if ((rc = rd_u16(&r, &req->packet_offset, "packet offset")) != 0 ||
            (rc = rd_u16(&r, &req->total_trans, "total transaction")) != 0 ||
            (rc = sysaddr_read(&r, &req->addr)) != 0)
            return rc;
        if (req->op == PL_PCCC_OP_PLC5_READ) {
            if ((rc = rd_u16(&r, &req->count, "size (elements)")) != 0)
                return rc;
            return rd_end(&r, "typed read size");
        }
        if (req->op == PL_PCCC_OP_WORD_READ) {
            if ((rc = rd_u8(&r, &u8, "size (bytes)")) != 0)
                return rc;
            req->count = u8;
            return rd_end(&r, "word range read size");
        }
        if (req->op == PL_PCCC_OP_PLC5_WRITE)
            return typed_read(&r, &req->typed);
        req->data_len = len - r.at;
        req->data = req->data_len > 0 ? buf + r.at : NULL;
        if (req->data_len % 2u != 0)
            return FAIL(st, PL_EPCCC_FORMAT, "word range write data is %zu bytes, not whole words",
                        req->data_len);
        return 0;
    case PL_PCCC_OP_DIAG_STATUS:
        return rd_end(&r, "diagnostic status FNC");
    case PL_PCCC_OP_UNKNOWN:
        break;
    }
    return FAIL(st, PL_EPCCC_COMMAND, "unsupported function");
}

int pl_pccc_request_encode(uint8_t *buf, size_t cap, const pl_pccc_request_t *req)
{
    wr_t o = {buf, buf != NULL ? cap : 0, 0, 0};
    uint8_t cmd, fnc;
    int rc;

    if (req == NULL || codes_of(req->op, &cmd, &fnc) != 0)
        return PL_EINVAL;
    wr_u8(&o, cmd);
    wr_u8(&o, req->sts);
    wr_u16(&o, req->tns);
    wr_u8(&o, fnc);
    switch (req->op) {
    case PL_PCCC_OP_SLC_READ:
    case PL_PCCC_OP_SLC_WRITE:
    case PL_PCCC_OP_SLC_MASKED:
        if (req->op != PL_PCCC_OP_SLC_READ &&
            (req->data_len != req->slc.size || (req->data == NULL && req->data_len > 0) ||
             (req->op == PL_PCCC_OP_SLC_MASKED && req->mask == NULL && req->slc.size > 0)))
            return PL_EINVAL;
        wr_u8(&o, req->slc.size);
        wr_field(&o, req->slc.file);
        wr_u8(&o, req->slc.type);
        wr_field(&o, req->slc.element);
        wr_field(&o, req->slc.sub);
        if (req->op == PL_PCCC_OP_SLC_MASKED)
            wr_bytes(&o, req->mask, req->slc.size);
        if (req->op != PL_PCCC_OP_SLC_READ)
            wr_bytes(&o, req->data, req->data_len);
        break;
    case PL_PCCC_OP_PLC5_READ:
    case PL_PCCC_OP_PLC5_WRITE:
    case PL_PCCC_OP_WORD_READ:
    case PL_PCCC_OP_WORD_WRITE:
        if ((req->op == PL_PCCC_OP_WORD_READ && req->count > 0xFFu) ||
            (req->op == PL_PCCC_OP_WORD_WRITE &&
             (req->data_len % 2u != 0 || (req->data == NULL && req->data_len > 0))))
            return PL_EINVAL;
        wr_u16(&o, req->packet_offset);
        wr_u16(&o, req->total_trans);
        if ((rc = sysaddr_write(&o, &req->addr)) != 0)
            return rc;
        if (req->op == PL_PCCC_OP_PLC5_READ)
            wr_u16(&o, req->count);
        else if (req->op == PL_PCCC_OP_WORD_READ)
            wr_u8(&o, (uint8_t)req->count);
        else if (req->op == PL_PCCC_OP_PLC5_WRITE) {
            if ((rc = typed_write(&o, &req->typed)) != 0)
                return rc;
        } else
            wr_bytes(&o, req->data, req->data_len);
        break;
    case PL_PCCC_OP_DIAG_STATUS:
        break;
    case PL_PCCC_OP_UNKNOWN:
        return PL_EINVAL;
    }
    return wr_done(&o);
}

/* ------------------------------------------------------------------ replies */

int pl_pccc_reply_decode(const uint8_t *buf, size_t len, pl_pccc_reply_t *rep, pl_status_t *st)
{
    rd_t r = {buf, len, 0, st};
    pl_pccc_reply_t p;
    int rc;

    if (rep == NULL || (buf == NULL && len > 0))
        return FAIL(st, PL_EINVAL, "pl_pccc_reply_decode: NULL argument");
    memset(&p, 0, sizeof(p));
    if ((rc = rd_u8(&r, &p.cmd, "reply CMD")) != 0 || (rc = rd_u8(&r, &p.sts, "reply STS")) != 0 ||
        (rc = rd_u16(&r, &p.tns, "reply TNS")) != 0)
        return rc;
    if (!(p.cmd & PL_PCCC_CMD_REPLY))
        return FAIL(st, PL_EPCCC_FORMAT, "reply CMD 0x%02X lacks the reply bit 0x40",
                    (unsigned)p.cmd);
    if ((p.sts & PL_PCCC_STS_LOCAL_MASK) != 0 && (p.sts & PL_PCCC_STS_REMOTE_MASK) != 0)
        return FAIL(st, PL_EPCCC_FORMAT, "reply STS 0x%02X sets both a local and a remote error",
                    (unsigned)p.sts);
    if (p.sts == PL_PCCC_STS_EXT) {
        p.has_ext_sts = 1;
        if ((rc = rd_u8(&r, &p.ext_sts, "EXT STS")) != 0)
            return rc;
        if (p.ext_sts == 0)
            return FAIL(st, PL_EPCCC_FORMAT, "STS 0xF0 with EXT STS 0 (no error named)");
    }
    p.data_len = len - r.at;
    p.data = p.data_len > 0 ? buf + r.at : NULL;
    *rep = p;
    return 0;
}

int pl_pccc_reply_encode(uint8_t *buf, size_t cap, uint8_t req_cmd, uint16_t tns, uint8_t sts,
                         uint8_t ext_sts, const uint8_t *data, size_t data_len)
{
    wr_t o = {buf, buf != NULL ? cap : 0, 0, 0};

    if (data == NULL && data_len > 0)
        return PL_EINVAL;
    wr_u8(&o, (uint8_t)(req_cmd | PL_PCCC_CMD_REPLY));
    wr_u8(&o, sts);
    wr_u16(&o, tns);
    if (sts == PL_PCCC_STS_EXT)
        wr_u8(&o, ext_sts);
    wr_bytes(&o, data, data_len);
    return wr_done(&o);
}

int pl_pccc_reply_match(const pl_pccc_reply_t *rep, uint8_t req_cmd, uint16_t tns, pl_status_t *st)
{
    if (rep == NULL)
        return FAIL(st, PL_EINVAL, "pl_pccc_reply_match: NULL reply");
    if (rep->cmd != (uint8_t)(req_cmd | PL_PCCC_CMD_REPLY))
        return FAIL(st, PL_EPCCC_MISMATCH, "reply CMD 0x%02X, expected 0x%02X", (unsigned)rep->cmd,
                    (unsigned)(req_cmd | PL_PCCC_CMD_REPLY));
    if (rep->tns != tns)
        return FAIL(st, PL_EPCCC_MISMATCH, "reply TNS 0x%04X, expected 0x%04X", (unsigned)rep->tns,
                    (unsigned)tns);
    return 0;
}

/* 1770-6.5.16 ch. 8, "STS byte". */
const char *pl_pccc_sts_name(uint8_t sts)
{
    if (sts == 0)
        return "success";
    if ((sts & PL_PCCC_STS_REMOTE_MASK) == 0) {
        switch (sts) {
        case 0x01:
            return "destination node is out of buffer space";
        case 0x02:
            return "cannot guarantee delivery: link layer (remote node did not ACK)";
        case 0x03:
            return "duplicate token holder detected";
        case 0x04:
            return "local port is disconnected";
        case 0x05:
            return "application layer timed out waiting for a response";
        case 0x06:
            return "duplicate node detected";
        case 0x07:
            return "station is offline";
        case 0x08:
            return "hardware fault";
        default:
            return "unknown local status";
        }
    }
    if ((sts & PL_PCCC_STS_LOCAL_MASK) != 0)
        return "unknown status (local and remote bits both set)";
    switch (sts) {
    case 0x10:
        return "illegal command or format";
    case 0x20:
        return "host has a problem and will not communicate";
    case 0x30:
        return "remote node host is missing, disconnected or shut down";
    case 0x40:
        return "host could not complete function due to hardware fault";
    case 0x50:
        return "addressing problem or memory protect rungs";
    case 0x60:
        return "function not allowed due to command protection selection";
    case 0x70:
        return "processor is in program mode";
    case 0x80:
        return "compatibility mode file missing or communication zone problem";
    case 0x90:
        return "remote node cannot buffer command";
    case 0xA0:
        return "wait ACK (1775-KA buffer full)";
    case 0xB0:
        return "remote node problem due to download";
    case 0xC0:
        return "wait ACK (1775-KA buffer full)";
    case 0xF0:
        return "error code in the EXT STS byte";
    default:
        return "unknown remote status";
    }
}

/* 1770-6.5.16 ch. 8, "EXT STS byte" (with CMD 0x0F and STS 0xF0). */
const char *pl_pccc_ext_sts_name(uint8_t ext_sts)
{
    switch (ext_sts) {
    case 0x01:
        return "a field has an illegal value";
    case 0x02:
        return "fewer levels specified in address than minimum for any address";
    case 0x03:
        return "more levels specified in address than system supports";
    case 0x04:
        return "symbol not found";
    case 0x05:
        return "symbol is of improper format";
    case 0x06:
        return "address doesn't point to something usable";
    case 0x07:
        return "file is wrong size";
    case 0x08:
        return "cannot complete request, situation changed since the start of the command";
    case 0x09:
        return "data or file is too large";
    case 0x0A:
        return "transaction size plus word address is too large";
    case 0x0B:
        return "access denied, improper privilege";
    case 0x0C:
        return "condition cannot be generated, resource is not available";
    case 0x0D:
        return "condition already exists, resource is already available";
    case 0x0E:
        return "command cannot be executed";
    case 0x0F:
        return "histogram overflow";
    case 0x10:
        return "no access";
    case 0x11:
        return "illegal data type";
    case 0x12:
        return "invalid parameter or invalid data";
    case 0x13:
        return "address reference exists to deleted area";
    case 0x14:
        return "command execution failure for unknown reason";
    case 0x15:
        return "data conversion error";
    case 0x16:
        return "scanner not able to communicate with 1771 rack adapter";
    case 0x17:
        return "type mismatch";
    case 0x18:
        return "1771 module response was not valid";
    case 0x19:
        return "duplicated label";
    case 0x1A:
        return "file is open, another node owns it";
    case 0x1B:
        return "another node is the program owner";
    case 0x1C:
        return "reserved";
    case 0x1D:
        return "reserved";
    case 0x1E:
        return "data table element protection violation";
    case 0x1F:
        return "temporary internal problem";
    default:
        return "unknown extended status";
    }
}

/* ------------------------------------------------------------------ diagnostic status */

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Family and model from the catalog text (see pccc.h for where these come from). */
static void identify_slc(pl_pccc_diag_t *d)
{
    static const struct {
        const char *prefix;
        pl_pccc_proc_t proc;
        const char *model;
    } table[] = {
        {"1747-L55", PL_PCCC_PROC_SLC500, "SLC 5/05"},
        {"1747-L54", PL_PCCC_PROC_SLC500, "SLC 5/04"},
        {"1747-L53", PL_PCCC_PROC_SLC500, "SLC 5/03"},
        {"5/05", PL_PCCC_PROC_SLC500, "SLC 5/05"},
        {"5/04", PL_PCCC_PROC_SLC500, "SLC 5/04"},
        {"5/03", PL_PCCC_PROC_SLC500, "SLC 5/03"},
        {"1747-L52", PL_PCCC_PROC_SLC_SMALL, "SLC 5/02"},
        {"1747-L51", PL_PCCC_PROC_SLC_SMALL, "SLC 5/01"},
        {"5/02", PL_PCCC_PROC_SLC_SMALL, "SLC 5/02"},
        {"5/01", PL_PCCC_PROC_SLC_SMALL, "SLC 5/01"},
        {"500-", PL_PCCC_PROC_SLC_SMALL, "SLC 500 fixed"},
        {"1761", PL_PCCC_PROC_SLC_SMALL, "MicroLogix 1000"},
        {"1763", PL_PCCC_PROC_MICROLOGIX, "MicroLogix 1100"},
        {"1762", PL_PCCC_PROC_MICROLOGIX, "MicroLogix 1200"},
        {"1766", PL_PCCC_PROC_MICROLOGIX, "MicroLogix 1400"},
        {"1764", PL_PCCC_PROC_MICROLOGIX, "MicroLogix 1500"},
    };
    size_t k;

    for (k = 0; k < sizeof(table) / sizeof(table[0]); k++) {
        if (has_prefix(d->catalog, table[k].prefix)) {
            d->proc = table[k].proc;
            d->model = table[k].model;
            return;
        }
    }
    d->proc = PL_PCCC_PROC_UNKNOWN;
    d->model = "SLC 500 / MicroLogix family (unrecognised catalog)";
}

int pl_pccc_diag_decode(const uint8_t *buf, size_t len, pl_pccc_diag_t *out, pl_status_t *st)
{
    pl_pccc_diag_t d;
    size_t k, n = 0;

    if (out == NULL || (buf == NULL && len > 0))
        return FAIL(st, PL_EINVAL, "pl_pccc_diag_decode: NULL argument");
    memset(&d, 0, sizeof(d));
    d.model = "unknown";
    d.raw = len > 0 ? buf : NULL;
    d.raw_len = len;
    if (len < 2)
        return FAIL(st, PL_EPCCC_SHORT, "diagnostic status is %zu bytes, at least 2", len);
    d.mode = buf[0];
    d.type = buf[1];
    if (d.type == DIAG_SLC_TYPE) {
        if (len < DIAG_SLC_LEN)
            return FAIL(st, PL_EPCCC_SHORT,
                        "SLC/MicroLogix diagnostic status is %zu bytes, at least %u", len,
                        DIAG_SLC_LEN);
        d.ext_interface = buf[2];
        d.ext_processor = buf[3];
        d.series = (uint8_t)(buf[4] >> SERIES_SHIFT);
        d.revision = (uint8_t)(buf[4] & REVISION_MASK);
        /* bytes 6..16: printable characters, leading and trailing blanks and NULs dropped */
        for (k = 5; k < DIAG_SLC_LEN && (buf[k] == ' ' || buf[k] == 0); k++)
            ;
        for (; k < DIAG_SLC_LEN; k++) {
            uint8_t c = buf[k];

            if (c == 0)
                break;
            d.catalog[n++] = (c >= 0x20 && c < 0x7F) ? (char)c : '?';
        }
        while (n > 0 && d.catalog[n - 1] == ' ')
            n--;
        d.catalog[n] = '\0';
        identify_slc(&d);
    } else if ((d.type & 0x0Fu) == DIAG_PLC5_LO && (d.type & 0xF0u) == DIAG_EXP_HI) {
        if (len < DIAG_PLC5_LEN)
            return FAIL(st, PL_EPCCC_SHORT, "PLC-5 diagnostic status is %zu bytes, at least %u",
                        len, DIAG_PLC5_LEN);
        d.ext_processor = buf[2];
        d.memory = (uint32_t)buf[3] | ((uint32_t)buf[4] << 8) | ((uint32_t)buf[5] << 16) |
                   ((uint32_t)buf[6] << 24);
        d.series = (uint8_t)(buf[7] >> SERIES_SHIFT);
        d.revision = (uint8_t)(buf[7] & REVISION_MASK);
        d.station = buf[8];
        d.proc = PL_PCCC_PROC_PLC5;
        d.model = "PLC-5";
    }
    *out = d;
    return 0;
}
