/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the EtherNet/IP encapsulation codec (src/proto/pccc/codec/enip.c).
 *
 * The input is a byte stream. It is framed whole, split in two at a position derived from
 * the first byte (the first part in an exact-size heap copy, so reading past it is caught),
 * and one byte at a time; all three must give the same frames. Every frame is decoded and
 * re-encoded (header, SendRRData/SendUnitData data, CPF, CIP Identity items, RegisterSession
 * data) and must give back the same bytes or, where the encoder writes a fixed value (the
 * interface handle), the same fields; a SendRRData / SendUnitData of the shape
 * pl_enip_cip_frame writes is framed again around its CIP message in place and must give
 * the same bytes. Any disagreement aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/pccc/codec/enip.h"
#include "plcline/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_DATA  1024u /* bytes after the header accepted by the framer here */
#define BUF_LEN   (PL_ENIP_HEADER_LEN + MAX_DATA + 64u)
#define MAX_EVENT 4096u

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

typedef struct {
    int rc;
    size_t at;
} event_t;

typedef struct {
    event_t ev[MAX_EVENT];
    size_t n;
} trace_t;

static trace_t whole;

/* the largest CPF a decode can accept: count + PL_CPF_MAX_ITEMS items of 65535 bytes */
#define CPF_MAX_LEN (2u + PL_CPF_MAX_ITEMS * (PL_CPF_ITEM_HEADER_LEN + PL_ENIP_MAX_LENGTH))

static void check_cpf(const uint8_t *p, size_t len)
{
    static uint8_t buf[CPF_MAX_LEN];
    pl_cpf_t cpf;
    pl_cpf_t again;
    pl_enip_identity_t id;
    pl_enip_identity_t id2;
    uint16_t i;
    int n;

    if (pl_cpf_decode(p, len, &cpf) != 0)
        return;
    n = pl_cpf_encode(buf, sizeof(buf), &cpf);
    CHECK(n == (int)len);
    CHECK(memcmp(buf, p, len) == 0);
    CHECK(pl_cpf_decode(buf, len, &again) == 0 && again.count == cpf.count);
    for (i = 0; i < cpf.count; i++) {
        const pl_cpf_item_t *it = &cpf.item[i];

        if (it->type != PL_CPF_LIST_IDENTITY)
            continue;
        if (pl_enip_identity_decode(it->data, it->length, &id) != 0)
            continue;
        n = pl_enip_identity_encode(buf, sizeof(buf), &id);
        CHECK(n == (int)it->length);
        CHECK(memcmp(buf, it->data, it->length) == 0);
        CHECK(pl_enip_identity_decode(buf, (size_t)n, &id2) == 0);
        CHECK(id2.serial == id.serial && id2.sin_addr == id.sin_addr &&
              id2.product_name_len == id.product_name_len && id2.state == id.state);
    }
    {
        const uint8_t *cip;
        size_t cip_len;
        uint32_t conn;
        uint16_t seq;

        if (pl_cpf_unconnected(&cpf, &cip, &cip_len) == 0) {
            n = pl_cpf_encode_unconnected(buf, sizeof(buf), cip, cip_len);
            CHECK(n == (int)len && memcmp(buf, p, len) == 0);
        }
        if (pl_cpf_connected(&cpf, &conn, &seq, &cip, &cip_len) == 0) {
            n = pl_cpf_encode_connected(buf, sizeof(buf), conn, seq, cip, cip_len);
            CHECK(n == (int)len && memcmp(buf, p, len) == 0);
        }
    }
}

/* A SendRRData / SendUnitData of the shape pl_enip_cip_frame writes (status, options and
 * interface handle 0, the command matching the CPF shape): the framing written in place
 * around its CIP message gives back the same bytes. */
static void check_cip_frame(const uint8_t *f, size_t len, const pl_enip_msg_t *m,
                            const pl_enip_rr_t *rr)
{
    static uint8_t buf[PL_ENIP_CIP_CONNECTED_LEN + PL_ENIP_MAX_LENGTH];
    pl_enip_cip_t c;
    const uint8_t *cip;
    size_t cip_len, head;

    if (m->status != 0 || m->options != 0 || rr->interface_handle != 0)
        return;
    memset(&c, 0, sizeof(c));
    if (m->command == PL_ENIP_CMD_SEND_RR_DATA &&
        pl_cpf_unconnected(&rr->cpf, &cip, &cip_len) == 0) {
        head = PL_ENIP_CIP_UNCONNECTED_LEN;
    } else if (m->command == PL_ENIP_CMD_SEND_UNIT_DATA &&
               pl_cpf_connected(&rr->cpf, &c.conn_id, &c.seq, &cip, &cip_len) == 0) {
        c.connected = 1;
        head = PL_ENIP_CIP_CONNECTED_LEN;
    } else {
        return;
    }
    c.session = m->session;
    memcpy(c.context, m->context, PL_ENIP_CONTEXT_LEN);
    c.timeout = rr->timeout;
    CHECK(head + cip_len == len);
    memset(buf, 0xEE, head);
    memcpy(buf + head, cip, cip_len);
    CHECK(pl_enip_cip_frame(buf, head + cip_len, &c, cip_len) == (int)len);
    CHECK(memcmp(buf, f, len) == 0);
    CHECK(pl_enip_cip_frame(buf, head + cip_len - 1u, &c, cip_len) == PL_ENOBUFS);
}

static void check_frame(const uint8_t *f, size_t len)
{
    uint8_t buf[BUF_LEN];
    pl_enip_msg_t m;
    pl_enip_msg_t m2;
    pl_enip_rr_t rr;
    pl_enip_rr_t rr2;
    uint16_t version;
    uint16_t options;
    int n;

    CHECK(pl_enip_decode(f, len, &m) == 0);
    n = pl_enip_encode(buf, sizeof(buf), &m);
    CHECK(n == (int)len && memcmp(buf, f, len) == 0);
    CHECK(pl_enip_decode(buf, len, &m2) == 0 && m2.command == m.command &&
          m2.session == m.session && m2.status == m.status && m2.options == m.options);

    if (pl_enip_register_decode(m.data, m.data_len, &version, &options) == 0) {
        CHECK(pl_enip_register_encode(buf, sizeof(buf), version, options) == 4);
        CHECK(memcmp(buf, m.data, 4) == 0);
    }
    check_cpf(m.data, m.data_len);
    if (pl_enip_rr_decode(m.data, m.data_len, &rr) == 0) {
        check_cpf(m.data + PL_ENIP_RR_PREFIX_LEN, m.data_len - PL_ENIP_RR_PREFIX_LEN);
        n = pl_enip_rr_encode(buf, sizeof(buf), rr.timeout, m.data + PL_ENIP_RR_PREFIX_LEN,
                              m.data_len - PL_ENIP_RR_PREFIX_LEN);
        CHECK(n == (int)m.data_len);
        CHECK(pl_enip_rr_decode(buf, (size_t)n, &rr2) == 0);
        CHECK(rr2.interface_handle == 0 && rr2.timeout == rr.timeout &&
              rr2.cpf.count == rr.cpf.count);
        if (rr.interface_handle == 0)
            CHECK(memcmp(buf, m.data, m.data_len) == 0);
        check_cip_frame(f, len, &m, &rr);
    }
}

/* Frames buf[0..len) from stream offset `base`; records into `rec` or checks against whole. */
static size_t parse(const uint8_t *buf, size_t len, size_t base, int record, size_t *ri,
                    int *broken)
{
    size_t pos = 0;
    size_t need;
    int r;

    while (!*broken) {
        need = 0;
        r = pl_enip_frame(buf + pos, len - pos, MAX_DATA, &need);
        if (r == PL_EAGAIN) {
            CHECK(need > len - pos);
            break;
        }
        if (r < 0) {
            CHECK(r == PL_EMSG_TOO_LONG);
            *broken = 1;
        } else {
            CHECK((size_t)r == need && (size_t)r <= len - pos && r >= (int)PL_ENIP_HEADER_LEN);
        }
        if (record) {
            CHECK(whole.n < MAX_EVENT);
            whole.ev[whole.n].rc = r;
            whole.ev[whole.n].at = base + pos;
            whole.n++;
            if (r > 0)
                check_frame(buf + pos, (size_t)r);
        } else {
            CHECK(*ri < whole.n);
            CHECK(whole.ev[*ri].rc == r && whole.ev[*ri].at == base + pos);
            (*ri)++;
        }
        if (r > 0)
            pos += (size_t)r;
    }
    return pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t split;
    size_t pos;
    size_t have;
    size_t ri;
    uint8_t *part;
    int broken;

    whole.n = 0;
    broken = 0;
    (void)parse(data, size, 0, 1, NULL, &broken);

    split = size ? (size_t)data[0] * size / 255u : 0;
    part = malloc(split ? split : 1);
    CHECK(part != NULL);
    memcpy(part, data, split);
    ri = 0;
    broken = 0;
    pos = parse(part, split, 0, 0, &ri, &broken);
    free(part);
    if (!broken)
        (void)parse(data + pos, size - pos, pos, 0, &ri, &broken);
    CHECK(ri == whole.n);

    ri = 0;
    broken = 0;
    pos = 0;
    for (have = 1; have <= size - pos && !broken; have++) {
        size_t used = parse(data + pos, have, pos, 0, &ri, &broken);

        pos += used;
        have -= used;
    }
    CHECK(ri == whole.n);

    /* the whole input as bare CPF and identity item too */
    check_cpf(data, size);
    {
        pl_enip_identity_t id;
        uint8_t buf[BUF_LEN];

        if (pl_enip_identity_decode(data, size, &id) == 0) {
            CHECK(pl_enip_identity_encode(buf, sizeof(buf), &id) == (int)size);
            CHECK(memcmp(buf, data, size) == 0);
        }
    }
    return 0;
}
