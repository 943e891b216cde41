/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the PCCC codec (src/proto/pccc/codec/pccc.c).
 *
 * Golden vectors: seed 001's typed read `0f 00 5c 00 a2 14 07 89 00 00` under services 0x4B
 * (requestor 07 03 85 50 4d 41 41), 0x4C (00 00 02 00 00 00 05 00) and 0x4D with every field
 * asserted; the DF1 manual's PLC-5 logical binary addresses (N7:30, B3:300, T4:2.ACC) and
 * type/data parameter spellings; the PLC-5/VME manual's typed array; the 1785-KE manual's
 * word range read with a logical ASCII address. Replies are built and decoded, 0xFF escapes
 * checked both ways, and every error is provoked. PCCC has no length of its own, so instead
 * of per-byte framing every truncation of every message is decoded from an exact-size heap
 * copy: it must fail cleanly (or, where the format cannot tell, decode within bounds).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"

#include "proto/pccc/codec/pccc.h"
#include "plcline/error.h"

#define BUF 512

static const char SEED_MSG[] = "0f 00 5c 00 a2 14 07 89 00 00";
static const char SEED_REQUESTOR[] = "07 03 85 50 4d 41 41";
static const char SEED_DHP[] = "00 00 02 00 00 00 05 00";

static void expect_seed_request(const uint8_t *p, size_t n)
{
    pl_pccc_request_t req;
    pl_status_t st;

    pl_status_clear(&st);
    assert_int_equal(pl_pccc_request_decode(p, n, &req, &st), 0);
    assert_int_equal(req.op, PL_PCCC_OP_SLC_READ);
    assert_int_equal(req.cmd, 0x0F);
    assert_int_equal(req.sts, 0);
    assert_int_equal(req.tns, 0x005C);
    assert_int_equal(req.fnc, 0xA2);
    assert_int_equal(req.slc.size, 0x14);
    assert_int_equal(req.slc.file, 7);
    assert_int_equal(req.slc.type, PL_PCCC_FT_INTEGER);
    assert_int_equal(req.slc.element, 0);
    assert_int_equal(req.slc.sub, 0);
    assert_null(req.data);
}

/* The seed request, built field by field, must be the seed bytes. */
static size_t seed_request(uint8_t *out, size_t cap)
{
    pl_pccc_request_t req;
    int n;

    pl_pccc_request_init(&req, PL_PCCC_OP_SLC_READ, 0x005C);
    req.slc.size = 0x14;
    req.slc.file = 7;
    req.slc.type = PL_PCCC_FT_INTEGER;
    n = pl_pccc_request_encode(out, cap, &req);
    assert_int_equal(n, 10);
    return (size_t)n;
}

static void test_seed_4b(void **state)
{
    uint8_t in[BUF], want[BUF], out[BUF], msg[BUF];
    size_t n = pl_test_hex(SEED_REQUESTOR, in, sizeof(in)), m;
    pl_pccc_wrap_t w;
    pl_status_t st;
    int rc;

    (void)state;
    m = pl_test_hex(SEED_MSG, msg, sizeof(msg));
    memcpy(in + n, msg, m);
    n += m;
    pl_status_clear(&st);
    assert_int_equal(pl_pccc_wrap_decode(PL_PCCC_SVC_EXECUTE, in, n, &w, &st), 0);
    assert_int_equal(w.service, 0x4B);
    assert_int_equal(w.length, 7);
    assert_int_equal(w.vendor, 0x8503);
    assert_int_equal(w.serial, 0x41414d50);
    assert_int_equal(w.extra_len, 0);
    assert_int_equal(w.pccc_len, 10);
    assert_ptr_equal(w.pccc, in + 7);
    expect_seed_request(w.pccc, w.pccc_len);

    /* encode: the client's request */
    assert_int_equal(seed_request(msg, sizeof(msg)), 10);
    w.pccc = msg;
    rc = pl_pccc_wrap_encode(out, sizeof(out), &w);
    assert_int_equal(rc, (int)n);
    assert_memory_equal(out, in, n);
    assert_int_equal(pl_pccc_wrap_encode(out, n - 1, &w), PL_ENOBUFS);
    assert_int_equal(pl_pccc_wrap_header_len(PL_PCCC_SVC_EXECUTE), 7);

    /* the reply carries the same requestor ID, then the PCCC reply */
    {
        uint8_t data[20], rep[BUF];
        pl_pccc_reply_t r;
        size_t k;

        for (k = 0; k < sizeof(data); k++)
            data[k] = (uint8_t)k;
        rc = pl_pccc_reply_encode(rep, sizeof(rep), 0x0F, 0x005C, 0, 0, data, sizeof(data));
        assert_int_equal(rc, 24);
        w.pccc = rep;
        w.pccc_len = (size_t)rc;
        rc = pl_pccc_wrap_encode(out, sizeof(out), &w);
        assert_int_equal(rc, 31);
        pl_test_hex("07 03 85 50 4d 41 41 4f 00 5c 00", want, sizeof(want));
        assert_memory_equal(out, want, 11);
        assert_int_equal(pl_pccc_wrap_decode(0x4B, out, (size_t)rc, &w, &st), 0);
        assert_int_equal(w.vendor, 0x8503);
        assert_int_equal(pl_pccc_reply_decode(w.pccc, w.pccc_len, &r, &st), 0);
        assert_int_equal(r.cmd, 0x4F);
        assert_int_equal(r.sts, 0);
        assert_int_equal(r.tns, 0x005C);
        assert_false(r.has_ext_sts);
        assert_int_equal(r.data_len, 20);
        assert_memory_equal(r.data, data, 20);
        assert_int_equal(pl_pccc_reply_match(&r, 0x0F, 0x005C, &st), 0);
        assert_int_equal(pl_pccc_reply_match(&r, 0x0F, 0x005D, &st), PL_EPCCC_MISMATCH);
        assert_non_null(strstr(st.detail, "TNS 0x005C, expected 0x005D"));
        assert_int_equal(pl_pccc_reply_match(&r, 0x06, 0x005C, &st), PL_EPCCC_MISMATCH);
    }
}

static void test_seed_4c(void **state)
{
    uint8_t in[BUF], out[BUF], msg[BUF];
    size_t n = pl_test_hex(SEED_DHP, in, sizeof(in)), m;
    pl_pccc_wrap_t w;

    (void)state;
    m = pl_test_hex(SEED_MSG, msg, sizeof(msg));
    memcpy(in + n, msg, m);
    n += m;
    assert_int_equal(pl_pccc_wrap_decode(PL_PCCC_SVC_DHP, in, n, &w, NULL), 0);
    /* by the seed's layout AA AA BB XX CC CC DD XX: destination node 2, source node 5
     * (its prose says the reverse; see pccc.c) */
    assert_int_equal(w.dhp.dst_link, 0);
    assert_int_equal(w.dhp.dst_node, 2);
    assert_int_equal(w.dhp.dst_user, 0);
    assert_int_equal(w.dhp.src_link, 0);
    assert_int_equal(w.dhp.src_node, 5);
    assert_int_equal(w.dhp.src_user, 0);
    assert_int_equal(w.pccc_len, 10);
    expect_seed_request(w.pccc, w.pccc_len);
    assert_int_equal(pl_pccc_wrap_encode(out, sizeof(out), &w), (int)n);
    assert_memory_equal(out, in, n);
    assert_int_equal(pl_pccc_wrap_header_len(PL_PCCC_SVC_DHP), 8);

    /* a header with every field distinct, to pin the byte order */
    pl_test_hex("34 12 56 78 bc 9a de f0 4f 00 5c 00", in, sizeof(in));
    assert_int_equal(pl_pccc_wrap_decode(0x4C, in, 12, &w, NULL), 0);
    assert_int_equal(w.dhp.dst_link, 0x1234);
    assert_int_equal(w.dhp.dst_node, 0x56);
    assert_int_equal(w.dhp.dst_user, 0x78);
    assert_int_equal(w.dhp.src_link, 0x9abc);
    assert_int_equal(w.dhp.src_node, 0xde);
    assert_int_equal(w.dhp.src_user, 0xf0);
    assert_int_equal(pl_pccc_wrap_encode(out, sizeof(out), &w), 12);
    assert_memory_equal(out, in, 12);
}

static void test_seed_4d(void **state)
{
    uint8_t in[BUF], out[BUF];
    size_t n = pl_test_hex(SEED_MSG, in, sizeof(in));
    pl_pccc_wrap_t w;

    (void)state;
    assert_int_equal(pl_pccc_wrap_decode(PL_PCCC_SVC_LOCAL, in, n, &w, NULL), 0);
    assert_ptr_equal(w.pccc, in);
    assert_int_equal(w.pccc_len, 10);
    expect_seed_request(w.pccc, w.pccc_len);
    assert_int_equal(pl_pccc_wrap_encode(out, sizeof(out), &w), 10);
    assert_memory_equal(out, in, 10);
    assert_int_equal(pl_pccc_wrap_header_len(PL_PCCC_SVC_LOCAL), 0);
    /* an empty payload is an empty PCCC message, reported by the PCCC decoder */
    assert_int_equal(pl_pccc_wrap_decode(0x4D, in, 0, &w, NULL), 0);
    assert_int_equal(w.pccc_len, 0);
}

static void test_wrap_errors(void **state)
{
    uint8_t in[BUF];
    size_t n = pl_test_hex("06 03 85 50 4d 41", in, sizeof(in)), k;
    pl_pccc_wrap_t w;
    pl_status_t st;

    (void)state;
    pl_status_clear(&st);
    assert_int_equal(pl_pccc_wrap_decode(0x4B, in, n, &w, &st), PL_EPCCC_HEADER);
    assert_non_null(strstr(st.detail, "requestor ID length 6"));
    assert_int_equal(pl_pccc_wrap_decode(0x4E, in, n, &w, &st), PL_ECIP_SERVICE);
    assert_non_null(strstr(st.detail, "0x4E"));
    assert_int_equal(pl_pccc_wrap_header_len(0x4E), PL_EINVAL);

    /* a longer requestor ID: the extra bytes are a view */
    n = pl_test_hex("09 03 85 50 4d 41 41 aa bb 0f 00 5c 00 a2 14 07 89 00 00", in, sizeof(in));
    assert_int_equal(pl_pccc_wrap_decode(0x4B, in, n, &w, &st), 0);
    assert_int_equal(w.extra_len, 2);
    assert_int_equal(w.extra[0], 0xaa);
    assert_int_equal(w.pccc_len, 10);
    {
        uint8_t out[BUF];

        assert_int_equal(pl_pccc_wrap_encode(out, sizeof(out), &w), (int)n);
        assert_memory_equal(out, in, n);
        w.length = 7; /* disagrees with extra_len */
        assert_int_equal(pl_pccc_wrap_encode(out, sizeof(out), &w), PL_EINVAL);
    }

    /* every truncation of both headers, from exact-size heap copies */
    n = pl_test_hex("09 03 85 50 4d 41 41 aa bb", in, sizeof(in));
    for (k = 0; k < n; k++) {
        uint8_t *p = malloc(k ? k : 1);

        memcpy(p, in, k);
        assert_int_equal(pl_pccc_wrap_decode(0x4B, p, k, &w, &st), PL_EPCCC_SHORT);
        free(p);
    }
    n = pl_test_hex(SEED_DHP, in, sizeof(in));
    for (k = 0; k < n; k++) {
        uint8_t *p = malloc(k ? k : 1);

        memcpy(p, in, k);
        assert_int_equal(pl_pccc_wrap_decode(0x4C, p, k, &w, &st), PL_EPCCC_SHORT);
        assert_non_null(strstr(st.detail, "DH+"));
        free(p);
    }
}

/* Decode each vector; re-encode gives the same bytes; every truncation fails (exact-size copy). */
static void roundtrip_request(const char *hx, int truncations_fail)
{
    uint8_t in[BUF], out[BUF];
    size_t n = pl_test_hex(hx, in, sizeof(in)), k;
    pl_pccc_request_t req, again;
    pl_status_t st;
    int rc;

    pl_status_clear(&st);
    rc = pl_pccc_request_decode(in, n, &req, &st);
    if (rc != 0)
        print_error("'%s': %d %s\n", hx, rc, st.detail);
    assert_int_equal(rc, 0);
    rc = pl_pccc_request_encode(out, sizeof(out), &req);
    assert_int_equal(rc, (int)n);
    assert_memory_equal(out, in, n);
    assert_int_equal(pl_pccc_request_encode(out, n - 1, &req), PL_ENOBUFS);
    for (k = 0; k < n; k++) {
        uint8_t *p = malloc(k ? k : 1);

        memcpy(p, in, k);
        rc = pl_pccc_request_decode(p, k, &again, &st);
        if (truncations_fail || k < PL_PCCC_REQ_HEADER) {
            if (rc == 0)
                print_error("'%s' truncated to %zu decoded\n", hx, k);
            assert_int_not_equal(rc, 0);
            assert_true(rc == PL_EPCCC_SHORT || rc == PL_EPCCC_TYPEDATA);
        }
        free(p);
    }
}

static void test_request_vectors(void **state)
{
    (void)state;
    roundtrip_request(SEED_MSG, 1);
    /* SLC typed write N7:0 = 1, 2 */
    roundtrip_request("0f 00 01 00 aa 04 07 89 00 00 01 00 02 00", 1);
    /* masked write B3:0 bit 5 */
    roundtrip_request("0f 00 02 00 ab 02 03 85 00 00 20 00 20 00", 1);
    /* escapes: file 300, element 1000, sub-element 255 */
    roundtrip_request("0f 00 03 00 a2 02 ff 2c 01 89 ff e8 03 ff ff 00", 1);
    /* escapes at the boundary: 254 is a byte, 255 and 65535 escaped */
    roundtrip_request("0f 00 03 00 a2 02 fe 89 ff ff 00 ff ff ff", 1);
    /* PLC-5 typed read N7:30 (manual's binary address 07 00 07 1e), 10 elements */
    roundtrip_request("0f 00 04 00 68 00 00 0a 00 07 00 07 1e 0a 00", 1);
    /* PLC-5 typed read B3:300 (06 03 ff 2c 01) and T4:2.ACC (0f 00 04 02 02) */
    roundtrip_request("0f 00 05 00 68 00 00 01 00 06 03 ff 2c 01 01 00", 1);
    roundtrip_request("0f 00 06 00 68 00 00 01 00 0f 00 04 02 02 01 00", 1);
    /* PLC-5 typed write N7:0 of 0, -2, 255 as an array (PLC-5/VME example 97 09 42 ...) */
    roundtrip_request("0f 00 07 00 67 00 00 03 00 06 07 00 97 09 42 00 00 fe ff ff 00", 1);
    /* PLC-5 typed write of one float F8:1 = 1.0: 94 08 descriptor (ID 8 in next byte) */
    roundtrip_request("0f 00 08 00 67 00 00 01 00 06 08 01 94 08 00 00 80 3f", 1);
    /* word range read, logical ASCII address (1785-KE manual example) */
    roundtrip_request("0f 00 47 01 01 00 00 04 00 00 24 4e 31 30 3a 31 35 00 08", 1);
    /* word range write N7:0, 2 words: truncating whole words still decodes */
    roundtrip_request("0f 00 09 00 00 00 00 02 00 06 07 00 11 22 33 44", 0);
    /* diagnostic status */
    roundtrip_request("06 00 0a 00 03", 1);
}

static void test_request_fields(void **state)
{
    uint8_t in[BUF];
    size_t n;
    pl_pccc_request_t req;
    pl_status_t st;

    (void)state;
    n = pl_test_hex("0f 00 03 00 a2 02 ff 2c 01 89 ff e8 03 ff ff 00", in, sizeof(in));
    assert_int_equal(pl_pccc_request_decode(in, n, &req, &st), 0);
    assert_int_equal(req.slc.file, 300);
    assert_int_equal(req.slc.element, 1000);
    assert_int_equal(req.slc.sub, 255);

    n = pl_test_hex("0f 00 05 00 68 00 00 01 00 06 03 ff 2c 01 01 00", in, sizeof(in));
    assert_int_equal(pl_pccc_request_decode(in, n, &req, &st), 0);
    assert_int_equal(req.op, PL_PCCC_OP_PLC5_READ);
    assert_false(req.addr.ascii);
    assert_int_equal(req.addr.mask, 0x06);
    assert_int_equal(req.addr.nlevels, 3);
    assert_int_equal(req.addr.level[0], 0);
    assert_int_equal(req.addr.level[1], 3);
    assert_int_equal(req.addr.level[2], 300);
    assert_int_equal(req.count, 1);
    assert_int_equal(req.total_trans, 1);

    n = pl_test_hex("0f 00 06 00 68 00 00 01 00 0f 00 04 02 02 01 00", in, sizeof(in));
    assert_int_equal(pl_pccc_request_decode(in, n, &req, &st), 0);
    assert_int_equal(req.addr.nlevels, 4);
    assert_int_equal(req.addr.level[1], 4);
    assert_int_equal(req.addr.level[2], 2);
    assert_int_equal(req.addr.level[3], 2);

    n = pl_test_hex("0f 00 07 00 67 00 00 03 00 06 07 00 97 09 42 00 00 fe ff ff 00", in,
                    sizeof(in));
    assert_int_equal(pl_pccc_request_decode(in, n, &req, &st), 0);
    assert_int_equal(req.op, PL_PCCC_OP_PLC5_WRITE);
    assert_true(req.typed.array);
    assert_int_equal(req.typed.type, PL_PCCC_TD_INTEGER);
    assert_int_equal(req.typed.elem_size, 2);
    assert_int_equal(req.typed.data_len, 6);
    assert_int_equal(req.typed.data[2], 0xfe);

    n = pl_test_hex("0f 00 47 01 01 00 00 04 00 00 24 4e 31 30 3a 31 35 00 08", in, sizeof(in));
    assert_int_equal(pl_pccc_request_decode(in, n, &req, &st), 0);
    assert_int_equal(req.op, PL_PCCC_OP_WORD_READ);
    assert_int_equal(req.tns, 0x0147);
    assert_true(req.addr.ascii);
    assert_int_equal(req.addr.text_len, 7);
    assert_memory_equal(req.addr.text, "$N10:15", 7);
    assert_int_equal(req.count, 8);
    assert_int_equal(req.total_trans, 4);

    n = pl_test_hex("0f 00 02 00 ab 02 03 85 00 00 20 00 20 00", in, sizeof(in));
    assert_int_equal(pl_pccc_request_decode(in, n, &req, &st), 0);
    assert_int_equal(req.op, PL_PCCC_OP_SLC_MASKED);
    assert_int_equal(req.mask[0], 0x20);
    assert_int_equal(req.data[0], 0x20);
    assert_int_equal(req.data_len, 2);

    /* the client-side builder for PLC-5 addresses */
    {
        pl_pccc_request_t r2;
        uint8_t out[BUF];

        pl_pccc_request_init(&r2, PL_PCCC_OP_PLC5_READ, 4);
        r2.total_trans = 10;
        r2.count = 10;
        pl_pccc_sysaddr_set(&r2.addr, 7, 30, 0, 0);
        n = pl_test_hex("0f 00 04 00 68 00 00 0a 00 06 07 1e 0a 00", in, sizeof(in));
        assert_int_equal(pl_pccc_request_encode(out, sizeof(out), &r2), (int)n);
        assert_memory_equal(out, in, n);
    }
}

static void expect_request_error(const char *hx, int code, const char *frag)
{
    uint8_t in[BUF];
    size_t n = pl_test_hex(hx, in, sizeof(in));
    pl_pccc_request_t req;
    pl_status_t st;
    int rc;

    pl_status_clear(&st);
    rc = pl_pccc_request_decode(in, n, &req, &st);
    if (rc != code || strstr(st.detail, frag) == NULL)
        print_error("'%s': rc %d (%s), wanted %d and '%s'\n", hx, rc, st.detail, code, frag);
    assert_int_equal(rc, code);
    assert_int_equal(st.code, code);
    assert_non_null(strstr(st.detail, frag));
}

static void test_request_errors(void **state)
{
    (void)state;
    expect_request_error("", PL_EPCCC_SHORT, "CMD at byte 0");
    expect_request_error("0f 00 5c", PL_EPCCC_SHORT, "TNS at byte 2");
    expect_request_error("0f 00 5c 00", PL_EPCCC_SHORT, "FNC at byte 4");
    expect_request_error("0f 00 5c 00 a2 14 07 89 00", PL_EPCCC_SHORT, "sub-element number");
    expect_request_error("0f 00 5c 00 a2 14 ff 2c", PL_EPCCC_SHORT, "file number at byte 6");
    expect_request_error("0f 00 5c 00 a2 14 07 89 00 00 00", PL_EPCCC_FORMAT,
                         "1 unexpected byte after the typed read address at byte 10");
    expect_request_error("0f 01 5c 00 a2 14 07 89 00 00", PL_EPCCC_FORMAT, "request STS 0x01");
    /* a bad field escape: 0xFF holding a value below 255 */
    expect_request_error("0f 00 5c 00 a2 14 ff 07 00 89 00 00", PL_EPCCC_FIELD,
                         "file number at byte 6: 0xFF escape holds 7");
    expect_request_error("0f 00 5c 00 a2 14 07 89 ff fe 00 00", PL_EPCCC_FIELD,
                         "element number at byte 8: 0xFF escape holds 254");
    expect_request_error("0f 00 5c 00 a2 14 07 89 00 ff 10 00", PL_EPCCC_FIELD,
                         "sub-element number");
    expect_request_error("0f 00 01 00 aa 04 07 89 00 00 01 00 02", PL_EPCCC_SHORT,
                         "size says 4 bytes, 3 present");
    expect_request_error("0f 00 01 00 aa 04 07 89 00 00 01 00 02 00 03", PL_EPCCC_FORMAT,
                         "size says 4 bytes, 5 present");
    expect_request_error("0f 00 09 00 00 00 00 02 00 06 07 00 11 22 33", PL_EPCCC_FORMAT,
                         "not whole words");
    expect_request_error("0f 00 04 00 68 00 00 0a 00 80 07 1e 0a 00", PL_EPCCC_ADDRESS,
                         "mask 0x80");
    expect_request_error("0f 00 04 00 68 00 00 0a 00 ff 07 1e 0a 00", PL_EPCCC_ADDRESS,
                         "mask 0xFF");
    expect_request_error("0f 00 04 00 68 00 00 0a 00 06 07 ff 1e 00 0a 00", PL_EPCCC_FIELD,
                         "PLC-5 address level");
    expect_request_error("0f 00 47 01 01 00 00 04 00 00 24 4e 31", PL_EPCCC_SHORT,
                         "no terminating NUL");
    expect_request_error("0f 00 47 01 01 00 00 04 00 00 00 08", PL_EPCCC_ADDRESS, "0 characters");
    expect_request_error("0f 00 07 00 67 00 00 03 00 06 07 00 97 09 42 00 00 fe ff ff",
                         PL_EPCCC_SHORT, "announces 7 bytes, 6 follow");
    expect_request_error("0f 00 07 00 67 00 00 03 00 06 07 00 96 09 42 00 00 fe ff ff 00",
                         PL_EPCCC_TYPEDATA, "announces 6 bytes, 7 follow");
    expect_request_error("0f 00 07 00 67 00 00 03 00 06 07 00 96 09 42 00 00 fe ff ff",
                         PL_EPCCC_TYPEDATA, "not whole 2-byte elements");
    expect_request_error("0f 00 07 00 67 00 00 03 00 06 07 00 42 00", PL_EPCCC_SHORT,
                         "announces 2 bytes, 1 follow");
    expect_request_error("06 00 0a 00 03 00", PL_EPCCC_FORMAT, "after the diagnostic");
}

/* The simulator's side: an unknown command is answered with STS 0x10. */
static void test_unknown_command(void **state)
{
    uint8_t in[BUF], out[BUF], want[BUF];
    size_t n;
    pl_pccc_request_t req;
    pl_pccc_reply_t rep;
    pl_status_t st;
    int rc;

    (void)state;
    n = pl_test_hex("0f 00 34 12 55 14 07 89 00 00", in, sizeof(in)); /* FNC 0x55 */
    rc = pl_pccc_request_decode(in, n, &req, &st);
    assert_int_equal(rc, PL_EPCCC_COMMAND);
    assert_non_null(strstr(st.detail, "CMD 0x0F FNC 0x55"));
    assert_int_equal(req.cmd, 0x0F);
    assert_int_equal(req.tns, 0x1234);
    assert_int_equal(req.fnc, 0x55);
    rc = pl_pccc_reply_encode(out, sizeof(out), req.cmd, req.tns, PL_PCCC_STS_ILLEGAL_CMD, 0, NULL,
                              0);
    assert_int_equal(rc, 4);
    pl_test_hex("4f 10 34 12", want, sizeof(want));
    assert_memory_equal(out, want, 4);
    assert_int_equal(pl_pccc_reply_decode(out, 4, &rep, &st), 0);
    assert_int_equal(rep.sts, 0x10);
    assert_string_equal(pl_pccc_sts_name(rep.sts), "illegal command or format");

    n = pl_test_hex("01 00 78 56 00", in, sizeof(in)); /* CMD 0x01 */
    assert_int_equal(pl_pccc_request_decode(in, n, &req, &st), PL_EPCCC_COMMAND);
    assert_non_null(strstr(st.detail, "CMD 0x01"));
    assert_int_equal(req.tns, 0x5678);
    n = pl_test_hex("06 00 78 56 07", in, sizeof(in)); /* diagnostic counter reset: not supported */
    assert_int_equal(pl_pccc_request_decode(in, n, &req, &st), PL_EPCCC_COMMAND);
    n = pl_test_hex("4f 00 78 56", in, sizeof(in)); /* a reply where a request belongs */
    assert_int_equal(pl_pccc_request_decode(in, n, &req, &st), PL_EPCCC_COMMAND);
    assert_non_null(strstr(st.detail, "is a reply"));
    {
        pl_pccc_request_t bad;

        memset(&bad, 0, sizeof(bad));
        assert_int_equal(pl_pccc_request_encode(out, sizeof(out), &bad), PL_EINVAL);
    }
}

static void test_replies(void **state)
{
    uint8_t in[BUF], out[BUF];
    size_t n, k;
    pl_pccc_reply_t rep;
    pl_status_t st;

    (void)state;
    /* STS 0xF0 with EXT STS 0x06 */
    n = pl_test_hex("4f f0 5c 00 06", in, sizeof(in));
    assert_int_equal(pl_pccc_reply_decode(in, n, &rep, &st), 0);
    assert_true(rep.has_ext_sts);
    assert_int_equal(rep.sts, 0xF0);
    assert_int_equal(rep.ext_sts, 0x06);
    assert_int_equal(rep.data_len, 0);
    assert_string_equal(pl_pccc_ext_sts_name(rep.ext_sts),
                        "address doesn't point to something usable");
    assert_int_equal(pl_pccc_reply_encode(out, sizeof(out), 0x0F, 0x5C, 0xF0, 0x06, NULL, 0), 5);
    assert_memory_equal(out, in, 5);
    /* a remote error without EXT STS */
    n = pl_test_hex("4f 50 5c 00", in, sizeof(in));
    assert_int_equal(pl_pccc_reply_decode(in, n, &rep, &st), 0);
    assert_int_equal(rep.sts, 0x50);
    assert_false(rep.has_ext_sts);
    /* errors */
    n = pl_test_hex("4f f0 5c 00", in, sizeof(in));
    assert_int_equal(pl_pccc_reply_decode(in, n, &rep, &st), PL_EPCCC_SHORT);
    assert_non_null(strstr(st.detail, "EXT STS at byte 4"));
    n = pl_test_hex("4f 11 5c 00", in, sizeof(in));
    assert_int_equal(pl_pccc_reply_decode(in, n, &rep, &st), PL_EPCCC_FORMAT);
    assert_non_null(strstr(st.detail, "STS 0x11 sets both"));
    n = pl_test_hex("0f 00 5c 00", in, sizeof(in));
    assert_int_equal(pl_pccc_reply_decode(in, n, &rep, &st), PL_EPCCC_FORMAT);
    assert_non_null(strstr(st.detail, "lacks the reply bit"));
    n = pl_test_hex("4f f0 5c 00 00", in, sizeof(in));
    assert_int_equal(pl_pccc_reply_decode(in, n, &rep, &st), PL_EPCCC_FORMAT);
    assert_non_null(strstr(st.detail, "EXT STS 0"));
    /* every truncation of the header, exact-size copies */
    n = pl_test_hex("4f f0 5c 00 06", in, sizeof(in));
    for (k = 0; k < n; k++) {
        uint8_t *p = malloc(k ? k : 1);

        memcpy(p, in, k);
        assert_int_equal(pl_pccc_reply_decode(p, k, &rep, &st), PL_EPCCC_SHORT);
        free(p);
    }
    /* a reply's data has no length: any truncation past the header decodes in bounds */
    n = pl_test_hex("4f 00 5c 00 01 02 03 04", in, sizeof(in));
    for (k = 4; k <= n; k++) {
        uint8_t *p = malloc(k);

        memcpy(p, in, k);
        assert_int_equal(pl_pccc_reply_decode(p, k, &rep, &st), 0);
        assert_int_equal(rep.data_len, k - 4);
        free(p);
    }
    assert_int_equal(pl_pccc_reply_encode(out, 3, 0x0F, 1, 0, 0, NULL, 0), PL_ENOBUFS);
}

static void test_sts_names(void **state)
{
    static const struct {
        uint8_t sts;
        const char *frag;
    } sts[] = {
        {0x00, "success"},
        {0x01, "out of buffer space"},
        {0x02, "cannot guarantee delivery"},
        {0x03, "duplicate token holder"},
        {0x04, "local port is disconnected"},
        {0x05, "timed out"},
        {0x06, "duplicate node"},
        {0x07, "offline"},
        {0x08, "hardware fault"},
        {0x09, "unknown local"},
        {0x10, "illegal command or format"},
        {0x20, "host has a problem"},
        {0x30, "missing, disconnected or shut down"},
        {0x40, "hardware fault"},
        {0x50, "addressing problem or memory protect rungs"},
        {0x60, "command protection"},
        {0x70, "program mode"},
        {0x80, "compatibility mode file missing"},
        {0x90, "cannot buffer command"},
        {0xA0, "wait ACK"},
        {0xB0, "download"},
        {0xC0, "wait ACK"},
        {0xD0, "unknown remote"},
        {0xF0, "EXT STS"},
        {0x11, "both"},
    };
    static const struct {
        uint8_t ext;
        const char *frag;
    } ext[] = {
        {0x01, "illegal value"},      {0x02, "fewer levels"},
        {0x03, "more levels"},        {0x04, "symbol not found"},
        {0x05, "improper format"},    {0x06, "something usable"},
        {0x07, "wrong size"},         {0x08, "cannot complete request"},
        {0x09, "too large"},          {0x0A, "transaction size plus word address"},
        {0x0B, "access denied"},      {0x0C, "cannot be generated"},
        {0x0D, "already exists"},     {0x0E, "cannot be executed"},
        {0x0F, "histogram overflow"}, {0x10, "no access"},
        {0x11, "illegal data type"},  {0x12, "invalid parameter"},
        {0x13, "deleted area"},       {0x14, "unknown reason"},
        {0x15, "data conversion"},    {0x16, "1771 rack adapter"},
        {0x17, "type mismatch"},      {0x18, "1771 module response"},
        {0x19, "duplicated label"},   {0x1A, "file is open"},
        {0x1B, "program owner"},      {0x00, "unknown extended"},
        {0x7F, "unknown extended"},
    };
    size_t k;

    (void)state;
    for (k = 0; k < sizeof(sts) / sizeof(sts[0]); k++)
        assert_non_null(strstr(pl_pccc_sts_name(sts[k].sts), sts[k].frag));
    for (k = 0; k < sizeof(ext) / sizeof(ext[0]); k++)
        assert_non_null(strstr(pl_pccc_ext_sts_name(ext[k].ext), ext[k].frag));
}

static void test_type_data(void **state)
{
    uint8_t in[BUF], out[BUF];
    pl_pccc_td_t td;
    pl_pccc_typed_t t;
    pl_status_t st;
    size_t n;
    int rc;

    (void)state;
    /* the manual's three equivalent spellings of ID 4, size 3 */
    n = pl_test_hex("43", in, sizeof(in));
    assert_int_equal(pl_pccc_td_decode(in, n, &td, &st), 1);
    assert_int_equal(td.id, 4);
    assert_int_equal(td.size, 3);
    n = pl_test_hex("49 03", in, sizeof(in));
    assert_int_equal(pl_pccc_td_decode(in, n, &td, &st), 2);
    assert_int_equal(td.id, 4);
    assert_int_equal(td.size, 3);
    n = pl_test_hex("4a 03 00", in, sizeof(in));
    assert_int_equal(pl_pccc_td_decode(in, n, &td, &st), 3);
    assert_int_equal(td.id, 4);
    assert_int_equal(td.size, 3);
    assert_int_equal(pl_pccc_td_encode(out, sizeof(out), 4, 3), 1);
    assert_int_equal(out[0], 0x43);
    /* integer, 2 bytes: 0x42; float: 0x94 0x08; bit string: 0x22 */
    assert_int_equal(pl_pccc_td_encode(out, sizeof(out), PL_PCCC_TD_INTEGER, 2), 1);
    assert_int_equal(out[0], 0x42);
    assert_int_equal(pl_pccc_td_encode(out, sizeof(out), PL_PCCC_TD_FLOAT, 4), 2);
    assert_int_equal(out[0], 0x94);
    assert_int_equal(out[1], 0x08);
    assert_int_equal(pl_pccc_td_encode(out, sizeof(out), PL_PCCC_TD_BIT_STRING, 2), 1);
    assert_int_equal(out[0], 0x22);
    /* array of 100 integers: size 201 in one extra byte */
    rc = pl_pccc_td_encode(out, sizeof(out), PL_PCCC_TD_ARRAY, 201);
    assert_int_equal(rc, 3);
    assert_int_equal(out[0], 0x99);
    assert_int_equal(out[1], 0x09);
    assert_int_equal(out[2], 201);
    assert_int_equal(pl_pccc_td_encode(out, 2, PL_PCCC_TD_ARRAY, 201), PL_ENOBUFS);
    /* wide values */
    rc = pl_pccc_td_encode(out, sizeof(out), 0x123456u, 0x10000u);
    assert_int_equal(rc, 7);
    assert_int_equal(pl_pccc_td_decode(out, (size_t)rc, &td, &st), 7);
    assert_int_equal(td.id, 0x123456u);
    assert_int_equal(td.size, 0x10000u);
    /* errors */
    n = pl_test_hex("48", in, sizeof(in));
    assert_int_equal(pl_pccc_td_decode(in, n, &td, &st), PL_EPCCC_TYPEDATA);
    assert_non_null(strstr(st.detail, "0 following bytes"));
    n = pl_test_hex("49", in, sizeof(in));
    assert_int_equal(pl_pccc_td_decode(in, n, &td, &st), PL_EPCCC_SHORT);
    n = pl_test_hex("4d 01 00 00 00 01", in, sizeof(in));
    assert_int_equal(pl_pccc_td_decode(in, n, &td, &st), PL_EPCCC_TYPEDATA);
    assert_non_null(strstr(st.detail, "exceeds 32 bits"));
    n = pl_test_hex("4d 01 00 00 00 00", in, sizeof(in)); /* a zero fifth byte is allowed */
    assert_int_equal(pl_pccc_td_decode(in, n, &td, &st), 6);
    assert_int_equal(td.size, 1);

    /* typed data: float array, bit-string array, one integer */
    {
        static const uint8_t fl[8] = {0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0};
        static const uint8_t bs[4] = {0x21, 0x00, 0xff, 0x80};
        pl_pccc_typed_t w;

        memset(&w, 0, sizeof(w));
        w.array = 1;
        w.type = PL_PCCC_TD_FLOAT;
        w.elem_size = 4;
        w.data = fl;
        w.data_len = sizeof(fl);
        rc = pl_pccc_typed_encode(out, sizeof(out), &w);
        /* flag 99 (ID and size in one byte each), 09 array, 0a = 10 bytes, 94 08 float */
        n = pl_test_hex("99 09 0a 94 08 00 00 80 3f 00 00 00 c0", in, sizeof(in));
        assert_int_equal(rc, (int)n);
        assert_memory_equal(out, in, n);
        assert_int_equal(pl_pccc_typed_decode(out, (size_t)rc, &t, &st), 0);
        assert_true(t.array);
        assert_int_equal(t.type, PL_PCCC_TD_FLOAT);
        assert_int_equal(t.elem_size, 4);
        assert_int_equal(t.data_len, 8);
        assert_memory_equal(t.data, fl, 8);

        w.type = PL_PCCC_TD_BIT_STRING;
        w.elem_size = 2;
        w.data = bs;
        w.data_len = sizeof(bs);
        rc = pl_pccc_typed_encode(out, sizeof(out), &w);
        n = pl_test_hex("95 09 22 21 00 ff 80", in, sizeof(in));
        assert_int_equal(rc, (int)n);
        assert_memory_equal(out, in, n);
        assert_int_equal(pl_pccc_typed_decode(out, (size_t)rc, &t, &st), 0);
        assert_int_equal(t.type, PL_PCCC_TD_BIT_STRING);
        assert_int_equal(t.data_len, 4);

        w.array = 0;
        w.type = PL_PCCC_TD_INTEGER;
        w.data_len = 2;
        rc = pl_pccc_typed_encode(out, sizeof(out), &w);
        n = pl_test_hex("42 21 00", in, sizeof(in));
        assert_int_equal(rc, (int)n);
        assert_memory_equal(out, in, n);
        assert_int_equal(pl_pccc_typed_decode(out, (size_t)rc, &t, &st), 0);
        assert_false(t.array);
        assert_int_equal(t.elem_size, 2);
        w.data_len = 4; /* one element of 2 bytes cannot carry 4 */
        assert_int_equal(pl_pccc_typed_encode(out, sizeof(out), &w), PL_EINVAL);
        w.array = 1;
        w.data_len = 3; /* not whole elements */
        assert_int_equal(pl_pccc_typed_encode(out, sizeof(out), &w), PL_EINVAL);
    }
    n = pl_test_hex("99 09 0a 94 08 00 00 80 3f 00 00 00 c0", in, sizeof(in)); /* size byte 10 */
    assert_int_equal(pl_pccc_typed_decode(in, n, &t, &st), 0);
    assert_int_equal(t.type, PL_PCCC_TD_FLOAT);
    assert_int_equal(t.data_len, 8);
    n = pl_test_hex("93 09 99 09 00", in, sizeof(in)); /* an array of arrays */
    assert_int_equal(pl_pccc_typed_decode(in, n, &t, &st), PL_EPCCC_TYPEDATA);
    assert_non_null(strstr(st.detail, "holds arrays"));
}

static void test_sysaddr(void **state)
{
    uint8_t in[BUF], out[BUF];
    pl_pccc_sysaddr_t a;
    pl_status_t st;
    size_t n;

    (void)state;
    /* N7:30 with the data table level spelled out (manual example) */
    n = pl_test_hex("07 00 07 1e", in, sizeof(in));
    assert_int_equal(pl_pccc_sysaddr_decode(in, n, &a, &st), 4);
    assert_int_equal(a.mask, 0x07);
    assert_int_equal(a.nlevels, 3);
    assert_int_equal(a.level[1], 7);
    assert_int_equal(a.level[2], 30);
    assert_int_equal(pl_pccc_sysaddr_encode(out, sizeof(out), &a), 4);
    assert_memory_equal(out, in, 4);
    /* B3:300 */
    pl_pccc_sysaddr_set(&a, 3, 300, 0, 0);
    n = pl_test_hex("06 03 ff 2c 01", in, sizeof(in));
    assert_int_equal(pl_pccc_sysaddr_encode(out, sizeof(out), &a), (int)n);
    assert_memory_equal(out, in, n);
    assert_int_equal(pl_pccc_sysaddr_encode(out, n - 1, &a), PL_ENOBUFS);
    /* T4:2.ACC as the manual spells it and as we build it */
    n = pl_test_hex("0f 00 04 02 02", in, sizeof(in));
    assert_int_equal(pl_pccc_sysaddr_decode(in, n, &a, &st), 5);
    assert_int_equal(a.level[3], 2);
    pl_pccc_sysaddr_set(&a, 4, 2, 1, 2);
    n = pl_test_hex("0e 04 02 02", in, sizeof(in));
    assert_int_equal(pl_pccc_sysaddr_encode(out, sizeof(out), &a), (int)n);
    assert_memory_equal(out, in, n);
    /* ASCII */
    n = pl_test_hex("00 24 4e 37 3a 30 00", in, sizeof(in));
    assert_int_equal(pl_pccc_sysaddr_decode(in, n, &a, &st), 7);
    assert_true(a.ascii);
    assert_int_equal(a.text_len, 5);
    assert_int_equal(pl_pccc_sysaddr_encode(out, sizeof(out), &a), 7);
    assert_memory_equal(out, in, 7);
    /* bad encodes */
    memset(&a, 0, sizeof(a));
    assert_int_equal(pl_pccc_sysaddr_encode(out, sizeof(out), &a), PL_EINVAL);
    a.mask = 0x80;
    assert_int_equal(pl_pccc_sysaddr_encode(out, sizeof(out), &a), PL_EINVAL);
}

static void test_diag(void **state)
{
    uint8_t in[BUF], out[BUF];
    pl_pccc_diag_t d;
    pl_pccc_reply_t rep;
    pl_status_t st;
    size_t n;
    int rc;

    (void)state;
    /* SLC 5/05 series C revision 3: catalog text in bytes 6..16 */
    n = pl_test_hex("00 ee 34 49 43 31 37 34 37 2d 4c 35 35 32 20 20 00 00 06 00", in, sizeof(in));
    rc = pl_pccc_reply_encode(out, sizeof(out), 0x06, 0x10, 0, 0, in, n);
    assert_int_equal(rc, (int)n + 4);
    assert_int_equal(out[0], 0x46);
    assert_int_equal(pl_pccc_reply_decode(out, (size_t)rc, &rep, &st), 0);
    assert_int_equal(pl_pccc_diag_decode(rep.data, rep.data_len, &d, &st), 0);
    assert_int_equal(d.type, 0xEE);
    assert_int_equal(d.ext_interface, 0x34);
    assert_int_equal(d.ext_processor, 0x49);
    assert_int_equal(d.series, 2);
    assert_int_equal(d.revision, 3);
    assert_string_equal(d.catalog, "1747-L552");
    assert_int_equal(d.proc, PL_PCCC_PROC_SLC500);
    assert_string_equal(d.model, "SLC 5/05");
    assert_int_equal(d.raw_len, n);

    n = pl_test_hex("00 ee 34 58 20 31 37 36 36 2d 4c 33 32 42 57 41", in, sizeof(in));
    assert_int_equal(pl_pccc_diag_decode(in, n, &d, &st), 0);
    assert_string_equal(d.catalog, "1766-L32BWA");
    assert_int_equal(d.proc, PL_PCCC_PROC_MICROLOGIX);
    assert_string_equal(d.model, "MicroLogix 1400");
    memcpy(in + 5, "1763-L16BWA", 11);
    assert_int_equal(pl_pccc_diag_decode(in, n, &d, &st), 0);
    assert_string_equal(d.model, "MicroLogix 1100");
    memcpy(in + 5, "5/02       ", 11);
    assert_int_equal(pl_pccc_diag_decode(in, n, &d, &st), 0);
    assert_int_equal(d.proc, PL_PCCC_PROC_SLC_SMALL);
    memcpy(in + 5, "XYZ\x01       ", 11);
    assert_int_equal(pl_pccc_diag_decode(in, n, &d, &st), 0);
    assert_string_equal(d.catalog, "XYZ?");
    assert_int_equal(d.proc, PL_PCCC_PROC_UNKNOWN);
    assert_int_equal(pl_pccc_diag_decode(in, n - 1, &d, &st), PL_EPCCC_SHORT);
    assert_non_null(strstr(st.detail, "15 bytes, at least 16"));

    /* PLC-5/40E: type 0xEB, expansion byte 0x4B, memory, series E rev D, station 9 */
    n = pl_test_hex("02 eb 4b 00 00 01 00 83 09 00", in, sizeof(in));
    assert_int_equal(pl_pccc_diag_decode(in, n, &d, &st), 0);
    assert_int_equal(d.proc, PL_PCCC_PROC_PLC5);
    assert_int_equal(d.ext_processor, 0x4B);
    assert_int_equal(d.memory, 0x10000u);
    assert_int_equal(d.series, 4);
    assert_int_equal(d.revision, 3);
    assert_int_equal(d.station, 9);
    assert_int_equal(pl_pccc_diag_decode(in, 8, &d, &st), PL_EPCCC_SHORT);
    /* something else: mode and type only */
    n = pl_test_hex("00 fe 5f", in, sizeof(in));
    assert_int_equal(pl_pccc_diag_decode(in, n, &d, &st), 0);
    assert_int_equal(d.proc, PL_PCCC_PROC_UNKNOWN);
    assert_int_equal(pl_pccc_diag_decode(in, 1, &d, &st), PL_EPCCC_SHORT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_4b),
        cmocka_unit_test(test_seed_4c),
        cmocka_unit_test(test_seed_4d),
        cmocka_unit_test(test_wrap_errors),
        cmocka_unit_test(test_request_vectors),
        cmocka_unit_test(test_request_fields),
        cmocka_unit_test(test_request_errors),
        cmocka_unit_test(test_unknown_command),
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_sts_names),
        cmocka_unit_test(test_type_data),
        cmocka_unit_test(test_sysaddr),
        cmocka_unit_test(test_diag),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
