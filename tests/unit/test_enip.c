/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the EtherNet/IP encapsulation codec (src/proto/pccc/codec/enip.c).
 *
 * Golden vectors are hex messages laid out from the CIP Networks Library Vol 2 (chapter 2)
 * with their expected decode: RegisterSession request/reply, UnRegisterSession, NOP,
 * ListIdentity request and an SLC 5/05-like reply, SendRRData carrying Unconnected Send /
 * PCCC (seed 001) / Forward Open / Forward Close and their replies, and SendUnitData with a
 * connected address. Every vector, and a stream of all of them, is framed whole, one byte at
 * a time and split at every offset, and must give the same frames. Every validation error is
 * checked, and every decode is re-encoded to the same bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"

#include "proto/pccc/codec/cip.h"
#include "proto/pccc/codec/enip.h"
#include "plcline/error.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define STREAM_MAX   4096u
#define EVENTS_MAX   64u
#define MAX_DATA     600u /* bytes after the header these tests accept */

/* ---------------------------------------------------------------- vectors */

static const char REGISTER_REQ_HEX[] =
    "65 00 04 00 00 00 00 00 00 00 00 00 01 02 03 04 05 06 07 08 00 00 00 00 01 00 00 00";
static const char REGISTER_REP_HEX[] =
    "65 00 04 00 78 56 34 12 00 00 00 00 01 02 03 04 05 06 07 08 00 00 00 00 01 00 00 00";
static const char UNREGISTER_HEX[] =
    "66 00 00 00 78 56 34 12 00 00 00 00 01 02 03 04 05 06 07 08 00 00 00 00";
static const char NOP_HEX[] =
    "00 00 04 00 00 00 00 00 00 00 00 00 01 02 03 04 05 06 07 08 00 00 00 00 DE AD BE EF";
static const char LIST_IDENTITY_REQ_HEX[] =
    "63 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00";
/* vendor 1 (Rockwell), device type 0x0E (PLC), product 0x5A, rev 3.10, 192.168.1.10:44818 */
static const char LIST_IDENTITY_REP_HEX[] =
    "63 00 3B 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 0C 00 35 00 "
    "01 00 00 02 AF 12 C0 A8 01 0A 00 00 00 00 00 00 00 00 01 00 0E 00 5A 00 03 0A 30 00 C3 B2 "
    "A1 40 13 31 37 34 37 2D 4C 35 35 32 2F 43 20 44 2F 32 33 2E 31 30 03";
/* Unconnected Send (route 1,0) wrapping Execute PCCC 0x4B to 20 67 24 01 (seed 001) */
static const char RR_UCMM_PCCC_HEX[] =
    "6F 00 36 00 78 56 34 12 00 00 00 00 01 02 03 04 05 06 07 08 00 00 00 00 00 00 00 00 0A 00 "
    "02 00 00 00 00 00 B2 00 26 00 52 02 20 06 24 01 0A 09 17 00 4B 02 20 67 24 01 07 03 85 50 "
    "4D 41 41 0F 00 5C 00 A2 14 07 89 00 00 00 01 00 01 00";
static const char RR_PCCC_REPLY_HEX[] =
    "6F 00 23 00 78 56 34 12 00 00 00 00 01 02 03 04 05 06 07 08 00 00 00 00 00 00 00 00 00 00 "
    "02 00 00 00 00 00 B2 00 13 00 CB 00 00 00 07 03 85 50 4D 41 41 4F 00 5C 00 01 02 03 04";
static const char RR_UCMM_ERROR_HEX[] =
    "6F 00 17 00 78 56 34 12 00 00 00 00 01 02 03 04 05 06 07 08 00 00 00 00 00 00 00 00 00 00 "
    "02 00 00 00 00 00 B2 00 07 00 D2 00 01 01 04 02 01";
static const char UNIT_PCCC_HEX[] =
    "70 00 2D 00 78 56 34 12 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
    "02 00 A1 00 04 00 EF BE AD DE B1 00 19 00 01 00 4B 02 20 67 24 01 07 03 85 50 4D 41 41 0F "
    "00 5C 00 A2 14 07 89 00 00";
static const char RR_FWD_OPEN_HEX[] =
    "6F 00 40 00 78 56 34 12 00 00 00 00 01 02 03 04 05 06 07 08 00 00 00 00 00 00 00 00 0A 00 "
    "02 00 00 00 00 00 B2 00 30 00 54 02 20 06 24 01 0A 0E 00 00 00 00 78 56 34 12 01 00 37 13 "
    "50 4D 41 41 01 00 00 00 80 84 1E 00 F4 43 80 84 1E 00 F4 43 A3 03 01 00 20 02 24 01";
static const char RR_FWD_OPEN_OK_HEX[] =
    "6F 00 2E 00 78 56 34 12 00 00 00 00 01 02 03 04 05 06 07 08 00 00 00 00 00 00 00 00 00 00 "
    "02 00 00 00 00 00 B2 00 1E 00 D4 00 00 00 EF BE AD DE 78 56 34 12 01 00 37 13 50 4D 41 41 "
    "80 84 1E 00 80 84 1E 00 00 00";
static const char RR_FWD_OPEN_ERR_HEX[] =
    "6F 00 20 00 78 56 34 12 00 00 00 00 01 02 03 04 05 06 07 08 00 00 00 00 00 00 00 00 00 00 "
    "02 00 00 00 00 00 B2 00 10 00 D4 00 01 01 00 01 01 00 37 13 50 4D 41 41 00 00";
static const char RR_FWD_CLOSE_HEX[] =
    "6F 00 28 00 78 56 34 12 00 00 00 00 01 02 03 04 05 06 07 08 00 00 00 00 00 00 00 00 0A 00 "
    "02 00 00 00 00 00 B2 00 18 00 4E 02 20 06 24 01 0A 0E 01 00 37 13 50 4D 41 41 03 00 01 00 "
    "20 02 24 01";
static const char RR_FWD_CLOSE_OK_HEX[] =
    "6F 00 1E 00 78 56 34 12 00 00 00 00 01 02 03 04 05 06 07 08 00 00 00 00 00 00 00 00 00 00 "
    "02 00 00 00 00 00 B2 00 0E 00 CE 00 00 00 01 00 37 13 50 4D 41 41 00 00";

typedef struct {
    const char *name;
    const char *hex;
    uint16_t command;
    uint32_t session;
    uint16_t length;
    uint8_t cip_service; /* first byte of the CIP message, 0 when none */
} vector_t;

static const vector_t vectors[] = {
    {"register_req", REGISTER_REQ_HEX, PL_ENIP_CMD_REGISTER_SESSION, 0u, 4u, 0u},
    {"register_rep", REGISTER_REP_HEX, PL_ENIP_CMD_REGISTER_SESSION, 0x12345678u, 4u, 0u},
    {"unregister", UNREGISTER_HEX, PL_ENIP_CMD_UNREGISTER_SESSION, 0x12345678u, 0u, 0u},
    {"nop", NOP_HEX, PL_ENIP_CMD_NOP, 0u, 4u, 0u},
    {"list_identity_req", LIST_IDENTITY_REQ_HEX, PL_ENIP_CMD_LIST_IDENTITY, 0u, 0u, 0u},
    {"list_identity_rep", LIST_IDENTITY_REP_HEX, PL_ENIP_CMD_LIST_IDENTITY, 0u, 0x3Bu, 0u},
    {"rr_ucmm_pccc", RR_UCMM_PCCC_HEX, PL_ENIP_CMD_SEND_RR_DATA, 0x12345678u, 0x36u, 0x52u},
    {"rr_pccc_reply", RR_PCCC_REPLY_HEX, PL_ENIP_CMD_SEND_RR_DATA, 0x12345678u, 0x23u, 0xCBu},
    {"rr_ucmm_error", RR_UCMM_ERROR_HEX, PL_ENIP_CMD_SEND_RR_DATA, 0x12345678u, 0x17u, 0xD2u},
    {"unit_pccc", UNIT_PCCC_HEX, PL_ENIP_CMD_SEND_UNIT_DATA, 0x12345678u, 0x2Du, 0x4Bu},
    {"rr_fwd_open", RR_FWD_OPEN_HEX, PL_ENIP_CMD_SEND_RR_DATA, 0x12345678u, 0x40u, 0x54u},
    {"rr_fwd_open_ok", RR_FWD_OPEN_OK_HEX, PL_ENIP_CMD_SEND_RR_DATA, 0x12345678u, 0x2Eu, 0xD4u},
    {"rr_fwd_open_err", RR_FWD_OPEN_ERR_HEX, PL_ENIP_CMD_SEND_RR_DATA, 0x12345678u, 0x20u, 0xD4u},
    {"rr_fwd_close", RR_FWD_CLOSE_HEX, PL_ENIP_CMD_SEND_RR_DATA, 0x12345678u, 0x28u, 0x4Eu},
    {"rr_fwd_close_ok", RR_FWD_CLOSE_OK_HEX, PL_ENIP_CMD_SEND_RR_DATA, 0x12345678u, 0x1Eu, 0xCEu},
};

/* ---------------------------------------------------------------- helpers */

typedef struct {
    int rc;    /* frame length or error */
    size_t at; /* stream offset */
} event_t;

typedef struct {
    event_t ev[EVENTS_MAX];
    size_t n;
    int broken;
} trace_t;

/* Frames the stream delivered in chunks ending at cuts[0..ncuts) (the last must be len). */
static void replay(const uint8_t *s, size_t len, const size_t *cuts, size_t ncuts, size_t max_data,
                   trace_t *t)
{
    size_t have = 0;
    size_t pos = 0;
    size_t c;
    size_t need;
    int r;

    memset(t, 0, sizeof(*t));
    for (c = 0; c < ncuts && !t->broken; c++) {
        have = cuts[c];
        assert_true(have <= len);
        for (;;) {
            need = 0;
            r = pl_enip_frame(s + pos, have - pos, max_data, &need);
            if (r == PL_EAGAIN) {
                assert_true(need > have - pos);
                break;
            }
            assert_true(t->n < EVENTS_MAX);
            t->ev[t->n].rc = r;
            t->ev[t->n].at = pos;
            t->n++;
            if (r < 0) {
                t->broken = 1;
                break;
            }
            assert_int_equal(need, (size_t)r);
            pos += (size_t)r;
        }
    }
}

static void same_trace(const trace_t *a, const trace_t *b)
{
    size_t i;

    assert_int_equal(a->n, b->n);
    assert_int_equal(a->broken, b->broken);
    for (i = 0; i < a->n; i++) {
        assert_int_equal(a->ev[i].rc, b->ev[i].rc);
        assert_int_equal(a->ev[i].at, b->ev[i].at);
    }
}

/* Whole, one byte at a time, and split in two at every offset: all must agree. */
static void replay_all_ways(const uint8_t *s, size_t len, size_t max_data, trace_t *whole)
{
    static size_t cuts[STREAM_MAX];
    trace_t t;
    size_t i;
    size_t k;

    cuts[0] = len;
    replay(s, len, cuts, 1, max_data, whole);
    for (i = 0; i < len; i++)
        cuts[i] = i + 1u;
    replay(s, len, cuts, len, max_data, &t);
    same_trace(whole, &t);
    for (k = 0; k <= len; k++) {
        cuts[0] = k;
        cuts[1] = len;
        replay(s, len, cuts, 2, max_data, &t);
        same_trace(whole, &t);
    }
}

/* ------------------------------------------------------------ the vectors */

/* Every vector frames alone (all ways), decodes to its header, and re-encodes to itself. */
static void test_vectors_frame_decode_roundtrip(void **state)
{
    uint8_t buf[STREAM_MAX];
    uint8_t out[STREAM_MAX];
    static const uint8_t ctx[PL_ENIP_CONTEXT_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
    pl_enip_msg_t m;
    trace_t t;
    size_t i;
    size_t n;

    (void)state;
    for (i = 0; i < ARRAY_LEN(vectors); i++) {
        const vector_t *v = &vectors[i];

        n = pl_test_hex(v->hex, buf, sizeof(buf));
        assert_int_equal(n, PL_ENIP_HEADER_LEN + v->length);
        replay_all_ways(buf, n, MAX_DATA, &t);
        assert_int_equal(t.n, 1);
        assert_int_equal(t.ev[0].rc, (int)n);

        assert_int_equal(pl_enip_decode(buf, n, &m), 0);
        assert_int_equal(m.command, v->command);
        assert_int_equal(m.length, v->length);
        assert_int_equal(m.data_len, v->length);
        assert_int_equal(m.session, v->session);
        assert_int_equal(m.status, PL_ENIP_STATUS_SUCCESS);
        assert_int_equal(m.options, 0);
        if (v->command != PL_ENIP_CMD_LIST_IDENTITY && v->command != PL_ENIP_CMD_SEND_UNIT_DATA)
            assert_memory_equal(m.context, ctx, sizeof(ctx));
        assert_true(m.length == 0 ? m.data == NULL : m.data == buf + PL_ENIP_HEADER_LEN);

        memset(out, 0xAA, sizeof(out));
        assert_int_equal(pl_enip_encode(out, sizeof(out), &m), (int)n);
        assert_memory_equal(out, buf, n);
        /* in place: the data already where it goes */
        memcpy(out, buf, n);
        m.data = m.length ? out + PL_ENIP_HEADER_LEN : NULL;
        assert_int_equal(pl_enip_encode(out, sizeof(out), &m), (int)n);
        assert_memory_equal(out, buf, n);
        if (v->cip_service != 0u) {
            pl_enip_rr_t rr;
            const uint8_t *cip = NULL;
            size_t cip_len = 0;
            uint32_t conn = 0;
            uint16_t seq = 0;

            assert_int_equal(pl_enip_rr_decode(buf + PL_ENIP_HEADER_LEN, m.length, &rr), 0);
            assert_int_equal(rr.interface_handle, 0);
            if (v->command == PL_ENIP_CMD_SEND_UNIT_DATA) {
                assert_int_equal(pl_cpf_connected(&rr.cpf, &conn, &seq, &cip, &cip_len), 0);
                assert_int_equal(pl_cpf_unconnected(&rr.cpf, &cip, &cip_len), PL_EENIP_CPF_ITEM);
            } else {
                assert_int_equal(pl_cpf_unconnected(&rr.cpf, &cip, &cip_len), 0);
                assert_int_equal(pl_cpf_connected(&rr.cpf, &conn, &seq, &cip, &cip_len),
                                 PL_EENIP_CPF_ITEM);
            }
            assert_non_null(cip);
            assert_int_equal(cip[0], v->cip_service);
        }
    }
}

/* All vectors back to back in one stream, then a too-long header: framed all ways. */
static void test_stream_all_ways(void **state)
{
    static uint8_t s[STREAM_MAX];
    trace_t t;
    size_t len = 0;
    size_t i;
    size_t at = 0;

    (void)state;
    for (i = 0; i < ARRAY_LEN(vectors); i++)
        len += pl_test_hex(vectors[i].hex, s + len, sizeof(s) - len);
    /* a SendRRData header announcing 0x0300 bytes, above MAX_DATA */
    len += pl_test_hex("6F 00 00 03 00 00 00 00", s + len, sizeof(s) - len);
    replay_all_ways(s, len, MAX_DATA, &t);
    assert_int_equal(t.n, ARRAY_LEN(vectors) + 1u);
    for (i = 0; i < ARRAY_LEN(vectors); i++) {
        assert_int_equal(t.ev[i].at, at);
        assert_int_equal(t.ev[i].rc, (int)(PL_ENIP_HEADER_LEN + vectors[i].length));
        at += (size_t)t.ev[i].rc;
    }
    assert_int_equal(t.ev[i].rc, PL_EMSG_TOO_LONG);
    assert_int_equal(t.ev[i].at, at);
    assert_true(t.broken);
}

static void test_frame_edges(void **state)
{
    uint8_t b[PL_ENIP_HEADER_LEN + 4u];
    size_t need = 0;

    (void)state;
    memset(b, 0, sizeof(b));
    /* nothing yet: a header is needed */
    assert_int_equal(pl_enip_frame(b, 0, MAX_DATA, &need), PL_EAGAIN);
    assert_int_equal(need, PL_ENIP_HEADER_LEN);
    assert_int_equal(pl_enip_frame(b, 3, MAX_DATA, &need), PL_EAGAIN);
    assert_int_equal(need, PL_ENIP_HEADER_LEN);
    /* 4 bytes prove the length: too long is reported right there */
    b[2] = 0x59; /* 0x0259 = 601 > 600 */
    b[3] = 0x02;
    assert_int_equal(pl_enip_frame(b, 3, MAX_DATA, &need), PL_EAGAIN);
    assert_int_equal(pl_enip_frame(b, 4, MAX_DATA, NULL), PL_EMSG_TOO_LONG);
    /* exactly the maximum is fine */
    b[2] = 0x58;
    assert_int_equal(pl_enip_frame(b, 4, MAX_DATA, &need), PL_EAGAIN);
    assert_int_equal(need, PL_ENIP_HEADER_LEN + MAX_DATA);
    /* length 0xFFFF with the largest maximum */
    b[2] = 0xFF;
    b[3] = 0xFF;
    assert_int_equal(pl_enip_frame(b, 4, PL_ENIP_MAX_LENGTH, &need), PL_EAGAIN);
    assert_int_equal(need, PL_ENIP_HEADER_LEN + PL_ENIP_MAX_LENGTH);
    assert_int_equal(pl_enip_frame(b, 4, 0, &need), PL_EMSG_TOO_LONG);
    /* an unknown command frames normally (the target answers it with status 0x0001) */
    memset(b, 0, sizeof(b));
    b[0] = 0x99;
    assert_int_equal(pl_enip_frame(b, PL_ENIP_HEADER_LEN, 0, &need), (int)PL_ENIP_HEADER_LEN);
    assert_string_equal(pl_enip_command_name(0x0099), "unknown");
}

/* ---------------------------------------------------------- header errors */

static void test_decode_errors(void **state)
{
    uint8_t b[64];
    pl_enip_msg_t m;
    size_t n;

    (void)state;
    n = pl_test_hex(NOP_HEX, b, sizeof(b));
    assert_int_equal(pl_enip_decode(b, 0, &m), PL_EENIP_SHORT);
    assert_int_equal(pl_enip_decode(b, 23, &m), PL_EENIP_SHORT);
    assert_int_equal(m.command, PL_ENIP_CMD_NOP);
    assert_int_equal(m.length, 4); /* filled as far as present */
    assert_int_equal(pl_enip_decode(b, n - 1u, &m), PL_EENIP_SHORT);
    b[n] = 0;
    assert_int_equal(pl_enip_decode(b, n + 1u, &m), PL_EENIP_LENGTH);
    /* a status and non-zero options are reported, not judged */
    b[8] = (uint8_t)PL_ENIP_STATUS_INVALID_SESSION;
    b[20] = 1;
    assert_int_equal(pl_enip_decode(b, n, &m), 0);
    assert_int_equal(m.status, PL_ENIP_STATUS_INVALID_SESSION);
    assert_int_equal(m.options, 1);
}

static void test_encode_errors(void **state)
{
    uint8_t b[PL_ENIP_HEADER_LEN + 4u];
    pl_enip_msg_t m;
    static const uint8_t data[4] = {1, 2, 3, 4};

    (void)state;
    memset(&m, 0, sizeof(m));
    m.command = PL_ENIP_CMD_NOP;
    m.data = data;
    m.data_len = sizeof(data);
    assert_int_equal(pl_enip_encode(b, sizeof(b) - 1u, &m), PL_ENOBUFS);
    assert_int_equal(pl_enip_encode(b, sizeof(b), &m), (int)sizeof(b));
    m.data_len = PL_ENIP_MAX_LENGTH + 1u;
    assert_int_equal(pl_enip_encode(b, sizeof(b), &m), PL_ERANGE);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(pl_enip_command_name(PL_ENIP_CMD_SEND_RR_DATA), "SendRRData");
    assert_string_equal(pl_enip_command_name(PL_ENIP_CMD_REGISTER_SESSION), "RegisterSession");
    assert_string_equal(pl_enip_command_name(PL_ENIP_CMD_LIST_IDENTITY), "ListIdentity");
    assert_string_equal(pl_enip_command_name(PL_ENIP_CMD_NOP), "NOP");
    assert_string_equal(pl_enip_status_name(PL_ENIP_STATUS_SUCCESS), "success");
    assert_string_equal(pl_enip_status_name(PL_ENIP_STATUS_INVALID_SESSION),
                        "invalid session handle");
    assert_string_equal(pl_enip_status_name(PL_ENIP_STATUS_INVALID_LENGTH), "invalid length");
    assert_string_equal(pl_enip_status_name(PL_ENIP_STATUS_UNSUPPORTED_PROTOCOL),
                        "unsupported encapsulation protocol revision");
    assert_string_equal(pl_enip_status_name(PL_ENIP_STATUS_INVALID_COMMAND),
                        "invalid or unsupported encapsulation command");
    assert_string_equal(pl_enip_status_name(PL_ENIP_STATUS_INSUFFICIENT_MEMORY),
                        "insufficient memory in the target");
    assert_string_equal(pl_enip_status_name(PL_ENIP_STATUS_INCORRECT_DATA),
                        "poorly formed or incorrect data");
    assert_string_equal(pl_enip_status_name(0x0004), "unknown");
    assert_string_equal(pl_err_name(PL_EENIP_SHORT), "PL_EENIP_SHORT");
    assert_int_equal(pl_err_code(PL_EENIP_CPF_COUNT), 0x0203);
}

/* -------------------------------------------------------- RegisterSession */

static void test_register(void **state)
{
    uint8_t b[64];
    uint8_t out[64];
    pl_enip_msg_t m;
    uint16_t version = 0;
    uint16_t options = 9;
    size_t n;

    (void)state;
    n = pl_test_hex(REGISTER_REQ_HEX, b, sizeof(b));
    assert_int_equal(pl_enip_decode(b, n, &m), 0);
    assert_int_equal(pl_enip_register_decode(m.data, m.data_len, &version, &options), 0);
    assert_int_equal(version, PL_ENIP_PROTOCOL_VERSION);
    assert_int_equal(options, 0);
    assert_int_equal(pl_enip_register_decode(m.data, 3, &version, &options), PL_EENIP_SHORT);
    assert_int_equal(pl_enip_register_decode(m.data, 5, &version, &options), PL_EENIP_LENGTH);
    assert_int_equal(pl_enip_register_encode(out, 3, 1, 0), PL_ENOBUFS);
    assert_int_equal(pl_enip_register_encode(out, sizeof(out), PL_ENIP_PROTOCOL_VERSION, 0),
                     (int)PL_ENIP_REGISTER_DATA_LEN);
    assert_memory_equal(out, m.data, PL_ENIP_REGISTER_DATA_LEN);

    /* build the reply from parts and compare with the golden vector */
    n = pl_test_hex(REGISTER_REP_HEX, b, sizeof(b));
    memset(&m, 0, sizeof(m));
    m.command = PL_ENIP_CMD_REGISTER_SESSION;
    m.session = 0x12345678u;
    memcpy(m.context, (const uint8_t[]){1, 2, 3, 4, 5, 6, 7, 8}, PL_ENIP_CONTEXT_LEN);
    assert_int_equal(pl_enip_register_encode(out + PL_ENIP_HEADER_LEN,
                                             sizeof(out) - PL_ENIP_HEADER_LEN,
                                             PL_ENIP_PROTOCOL_VERSION, 0),
                     4);
    m.data = out + PL_ENIP_HEADER_LEN;
    m.data_len = 4;
    assert_int_equal(pl_enip_encode(out, sizeof(out), &m), (int)n);
    assert_memory_equal(out, b, n);
}

/* ------------------------------------------------------------------- CPF */

/* The session commands' requests: every header field the command does not use is zero.
 * The RegisterSession that plcline sent before (TNS field of the sender context 0, kind 3)
 * and the vector above (context 01..08) fail the strict check a strict target applies. */
static void test_session_requests(void **state)
{
    static const char reg[] = "65 00 04 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
                              "00 00 01 00 00 00";
    static const char unreg[] =
        "66 00 00 00 78 56 34 12 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00";
    static const char old_reg[] = "65 00 04 00 00 00 00 00 00 00 00 00 00 00 03 00 00 00 00 00 00 "
                                  "00 00 00 01 00 00 00";
    uint8_t b[64], want[64];
    pl_enip_msg_t m;
    size_t n;

    (void)state;
    n = pl_test_hex(reg, want, sizeof(want));
    assert_int_equal(pl_enip_register_request(b, sizeof(b)), (int)n);
    assert_memory_equal(b, want, n);
    assert_int_equal(pl_enip_decode(b, n, &m), 0);
    assert_true(pl_enip_register_strict(&m));
    assert_int_equal(pl_enip_register_request(b, n - 1), PL_ENOBUFS);
    n = pl_test_hex(unreg, want, sizeof(want));
    assert_int_equal(pl_enip_unregister_request(b, sizeof(b), 0x12345678u), (int)n);
    assert_memory_equal(b, want, n);
    n = pl_test_hex(LIST_IDENTITY_REQ_HEX, want, sizeof(want));
    assert_int_equal(pl_enip_list_identity_request(b, sizeof(b)), (int)n);
    assert_memory_equal(b, want, n);
    /* requests a strict target refuses */
    n = pl_test_hex(old_reg, b, sizeof(b));
    assert_int_equal(pl_enip_decode(b, n, &m), 0);
    assert_false(pl_enip_register_strict(&m));
    n = pl_test_hex(REGISTER_REQ_HEX, b, sizeof(b));
    assert_int_equal(pl_enip_decode(b, n, &m), 0);
    assert_false(pl_enip_register_strict(&m));
    n = pl_test_hex(reg, b, sizeof(b));
    b[20] = 1; /* options */
    assert_int_equal(pl_enip_decode(b, n, &m), 0);
    assert_false(pl_enip_register_strict(&m));
    n = pl_test_hex(reg, b, sizeof(b));
    b[4] = 1; /* session handle */
    assert_int_equal(pl_enip_decode(b, n, &m), 0);
    assert_false(pl_enip_register_strict(&m));
}

static void test_cpf_shapes(void **state)
{
    uint8_t b[STREAM_MAX];
    uint8_t out[STREAM_MAX];
    pl_enip_msg_t m;
    pl_enip_rr_t rr;
    const uint8_t *cip;
    size_t cip_len;
    uint32_t conn;
    uint16_t seq;
    size_t n;
    int cpf_len;

    (void)state;
    /* unconnected: SendRRData with Unconnected Send, rebuilt with the helpers */
    n = pl_test_hex(RR_UCMM_PCCC_HEX, b, sizeof(b));
    assert_int_equal(pl_enip_decode(b, n, &m), 0);
    assert_int_equal(pl_enip_rr_decode(m.data, m.data_len, &rr), 0);
    assert_int_equal(rr.timeout, 10);
    assert_int_equal(rr.cpf.count, 2);
    assert_int_equal(rr.cpf.item[0].type, PL_CPF_NULL_ADDRESS);
    assert_int_equal(rr.cpf.item[0].length, 0);
    assert_null(rr.cpf.item[0].data);
    assert_int_equal(rr.cpf.item[1].type, PL_CPF_UNCONNECTED_DATA);
    assert_int_equal(rr.cpf.item[1].length, 0x26);
    assert_int_equal(pl_cpf_unconnected(&rr.cpf, &cip, &cip_len), 0);
    assert_int_equal(cip_len, 0x26);
    assert_ptr_equal(cip, b + 40);

    cpf_len = pl_cpf_encode_unconnected(out + 30, sizeof(out) - 30, cip, cip_len);
    assert_int_equal(cpf_len, 2 + 4 + 4 + 0x26);
    assert_int_equal(pl_enip_rr_encode(out + 24, sizeof(out) - 24, 10, out + 30, (size_t)cpf_len),
                     6 + cpf_len);
    m.data = out + 24;
    assert_int_equal(pl_enip_encode(out, sizeof(out), &m), (int)n);
    assert_memory_equal(out, b, n);
    /* generic encoder gives the same bytes */
    assert_int_equal(pl_cpf_encode(out, sizeof(out), &rr.cpf), cpf_len);
    assert_memory_equal(out, b + 30, (size_t)cpf_len);

    /* connected: SendUnitData */
    n = pl_test_hex(UNIT_PCCC_HEX, b, sizeof(b));
    assert_int_equal(pl_enip_decode(b, n, &m), 0);
    assert_int_equal(pl_enip_rr_decode(m.data, m.data_len, &rr), 0);
    assert_int_equal(rr.timeout, 0);
    assert_int_equal(rr.cpf.item[0].type, PL_CPF_CONNECTED_ADDRESS);
    assert_int_equal(rr.cpf.item[1].type, PL_CPF_CONNECTED_DATA);
    assert_int_equal(pl_cpf_connected(&rr.cpf, &conn, &seq, &cip, &cip_len), 0);
    assert_int_equal(conn, 0xDEADBEEFu);
    assert_int_equal(seq, 1);
    assert_int_equal(cip_len, 23);
    assert_int_equal(cip[0], PL_CIP_SVC_EXECUTE_PCCC);
    cpf_len = pl_cpf_encode_connected(out + 30, sizeof(out) - 30, conn, seq, cip, cip_len);
    assert_int_equal(cpf_len, (int)(m.data_len - 6u));
    assert_int_equal(pl_enip_rr_encode(out + 24, sizeof(out) - 24, 0, out + 30, (size_t)cpf_len),
                     (int)m.data_len);
    m.data = out + 24;
    assert_int_equal(pl_enip_encode(out, sizeof(out), &m), (int)n);
    assert_memory_equal(out, b, n);
    /* in place: the message already sits where the helper puts it */
    memcpy(out + 42, cip, cip_len);
    assert_int_equal(
        pl_cpf_encode_connected(out + 30, sizeof(out) - 30, conn, seq, out + 42, cip_len), cpf_len);
    assert_memory_equal(out + 30, b + 30, (size_t)cpf_len);

    /* no room */
    assert_int_equal(pl_cpf_encode_connected(out, 10, conn, seq, cip, cip_len), PL_ENOBUFS);
    assert_int_equal(pl_cpf_encode_unconnected(out, 10, cip, cip_len), PL_ENOBUFS);
    assert_int_equal(pl_cpf_encode_unconnected(out, sizeof(out), cip, 70000u), PL_ERANGE);
    assert_int_equal(pl_cpf_encode_connected(out, sizeof(out), 1, 1, cip, 65534u), PL_ERANGE);
    assert_int_equal(pl_enip_rr_encode(out, 5, 0, NULL, 0), PL_ENOBUFS);
    assert_int_equal(pl_enip_rr_encode(out, 6, 0, NULL, 0), 6);
}

static uint8_t nested_cpf[65600], nested_rr[65600], nested_out[65700];

/* The framing of `f` around cip[0..len) by the nested encoders, into nested_out. */
static int nested(const pl_enip_cip_t *f, const uint8_t *cip, size_t len)
{
    pl_enip_msg_t m;
    int k;

    if (f->connected)
        k = pl_cpf_encode_connected(nested_cpf, sizeof(nested_cpf), f->conn_id, f->seq, cip, len);
    else
        k = pl_cpf_encode_unconnected(nested_cpf, sizeof(nested_cpf), cip, len);
    if (k < 0)
        return k;
    k = pl_enip_rr_encode(nested_rr, sizeof(nested_rr), f->timeout, nested_cpf, (size_t)k);
    if (k < 0)
        return k;
    memset(&m, 0, sizeof(m));
    m.command = f->connected ? PL_ENIP_CMD_SEND_UNIT_DATA : PL_ENIP_CMD_SEND_RR_DATA;
    m.session = f->session;
    memcpy(m.context, f->context, PL_ENIP_CONTEXT_LEN);
    m.data = nested_rr;
    m.data_len = (size_t)k;
    return pl_enip_encode(nested_out, sizeof(nested_out), &m);
}

/* pl_enip_cip_frame around a CIP message encoded in place gives the bytes of the nested
 * encoders (pl_cpf_encode_*, pl_enip_rr_encode, pl_enip_encode) and of the golden vectors:
 * the seed's PCCC request as a 63-byte SendRRData, on a connection, and routed through an
 * Unconnected Send built in place too. */
static void test_cip_frame(void **state)
{
    static const char PCCC_HEX[] =
        "4B 02 20 67 24 01 07 03 85 50 4D 41 41 0F 00 5C 00 A2 14 07 89 00 00";
    static const char RR_PCCC_HEX[] =
        "6F 00 27 00 78 56 34 12 00 00 00 00 01 02 03 04 05 06 07 08 00 00 00 00 00 00 00 00 00 "
        "00 02 00 00 00 00 00 B2 00 17 00 4B 02 20 67 24 01 07 03 85 50 4D 41 41 0F 00 5C 00 A2 "
        "14 07 89 00 00";
    static uint8_t big[PL_ENIP_CIP_CONNECTED_LEN + 65536u];
    static const uint8_t route[] = {0x01, 0x00};
    uint8_t b[STREAM_MAX], want[STREAM_MAX], cip[64];
    pl_enip_cip_t f;
    pl_cip_ucmm_t u;
    size_t n, cip_len, i;
    int k;

    (void)state;
    assert_int_equal(PL_ENIP_CIP_UNCONNECTED_LEN, 40);
    assert_int_equal(PL_ENIP_CIP_CONNECTED_LEN, 46);
    cip_len = pl_test_hex(PCCC_HEX, cip, sizeof(cip));
    memset(&f, 0, sizeof(f));
    f.session = 0x12345678u;
    for (i = 0; i < PL_ENIP_CONTEXT_LEN; i++)
        f.context[i] = (uint8_t)(i + 1u);

    /* unconnected: the golden vector, and what the nested encoders make of the same */
    n = pl_test_hex(RR_PCCC_HEX, want, sizeof(want));
    assert_int_equal(n, 63);
    memset(b, 0xEE, sizeof(b));
    memcpy(b + PL_ENIP_CIP_UNCONNECTED_LEN, cip, cip_len);
    assert_int_equal(pl_enip_cip_frame(b, sizeof(b), &f, cip_len), (int)n);
    assert_memory_equal(b, want, n);
    assert_int_equal(b[n], 0xEE); /* nothing written past the message */
    assert_int_equal(nested(&f, cip, cip_len), (int)n);
    assert_memory_equal(b, nested_out, n);

    /* connected: the SendUnitData vector (context 0, connection 0xDEADBEEF, sequence 1) */
    n = pl_test_hex(UNIT_PCCC_HEX, want, sizeof(want));
    memset(f.context, 0, sizeof(f.context));
    f.connected = 1;
    f.conn_id = 0xDEADBEEFu;
    f.seq = 1;
    memcpy(b + PL_ENIP_CIP_CONNECTED_LEN, cip, cip_len);
    assert_int_equal(pl_enip_cip_frame(b, sizeof(b), &f, cip_len), (int)n);
    assert_memory_equal(b, want, n);
    assert_int_equal(nested(&f, cip, cip_len), (int)n);
    assert_memory_equal(b, nested_out, n);

    /* routed: the Unconnected Send encoded around the message where it is, then the framing
     * (timeout 10 s, as the vector) */
    n = pl_test_hex(RR_UCMM_PCCC_HEX, want, sizeof(want));
    memset(&f, 0, sizeof(f));
    f.session = 0x12345678u;
    for (i = 0; i < PL_ENIP_CONTEXT_LEN; i++)
        f.context[i] = (uint8_t)(i + 1u);
    f.timeout = 10;
    memset(b, 0xEE, sizeof(b));
    memcpy(b + PL_ENIP_CIP_UNCONNECTED_LEN + PL_CIP_UCMM_MSG_OFFSET, cip, cip_len);
    memset(&u, 0, sizeof(u));
    u.priority_tick = 0x0A;
    u.timeout_ticks = 0x09;
    u.msg = b + PL_ENIP_CIP_UNCONNECTED_LEN + PL_CIP_UCMM_MSG_OFFSET;
    u.msg_len = cip_len;
    u.route = route;
    u.route_len = sizeof(route);
    k = pl_cip_ucmm_encode(b + PL_ENIP_CIP_UNCONNECTED_LEN, sizeof(b) - PL_ENIP_CIP_UNCONNECTED_LEN,
                           &u);
    assert_int_equal(k, (int)(n - PL_ENIP_CIP_UNCONNECTED_LEN));
    assert_int_equal(pl_enip_cip_frame(b, sizeof(b), &f, (size_t)k), (int)n);
    assert_memory_equal(b, want, n);

    /* room: the framing alone, then the message too */
    f.connected = 0;
    assert_int_equal(pl_enip_cip_frame(b, PL_ENIP_CIP_UNCONNECTED_LEN - 1u, &f, 0), PL_ENOBUFS);
    assert_int_equal(pl_enip_cip_frame(b, PL_ENIP_CIP_UNCONNECTED_LEN, &f, 0), 40);
    assert_int_equal(pl_enip_cip_frame(b, PL_ENIP_CIP_UNCONNECTED_LEN + cip_len - 1u, &f, cip_len),
                     PL_ENOBUFS);
    f.connected = 1;
    assert_int_equal(pl_enip_cip_frame(b, PL_ENIP_CIP_UNCONNECTED_LEN + cip_len, &f, cip_len),
                     PL_ENOBUFS);
    /* the 16-bit lengths, at the limit and one past it: as the nested encoders */
    for (i = 0; i < 4; i++) {
        size_t len = (i < 2 ? 65535u - 16u : 65535u - 22u) + (i & 1u);

        f.connected = i >= 2;
        k = pl_enip_cip_frame(big, sizeof(big), &f, len);
        assert_int_equal(
            k, nested(&f,
                      big + (f.connected ? PL_ENIP_CIP_CONNECTED_LEN : PL_ENIP_CIP_UNCONNECTED_LEN),
                      len));
        assert_int_equal(k, (i & 1u) ? PL_ERANGE : 65535 + 24);
        if (k > 0)
            assert_memory_equal(big, nested_out, (size_t)k);
    }
}

static void test_cpf_errors(void **state)
{
    uint8_t b[64];
    pl_cpf_t cpf;
    pl_enip_rr_t rr;
    const uint8_t *cip;
    size_t cip_len;
    uint32_t conn;
    uint16_t seq;
    size_t n;

    (void)state;
    memset(b, 0, sizeof(b));
    assert_int_equal(pl_cpf_decode(b, 0, &cpf), PL_EENIP_SHORT);
    assert_int_equal(pl_cpf_decode(b, 1, &cpf), PL_EENIP_SHORT);
    /* count 0 is a valid, empty CPF */
    n = pl_test_hex("00 00", b, sizeof(b));
    assert_int_equal(pl_cpf_decode(b, n, &cpf), 0);
    assert_int_equal(cpf.count, 0);
    assert_int_equal(pl_cpf_unconnected(&cpf, &cip, &cip_len), PL_EENIP_CPF_ITEM);
    /* five items: more than PL_CPF_MAX_ITEMS */
    n = pl_test_hex("05 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", b,
                    sizeof(b));
    assert_int_equal(pl_cpf_decode(b, n, &cpf), PL_EENIP_CPF_COUNT);
    /* item header cut off */
    n = pl_test_hex("01 00 B2 00 00", b, sizeof(b));
    assert_int_equal(pl_cpf_decode(b, n, &cpf), PL_EENIP_SHORT);
    /* item data runs past the end */
    n = pl_test_hex("01 00 B2 00 03 00 01 02", b, sizeof(b));
    assert_int_equal(pl_cpf_decode(b, n, &cpf), PL_EENIP_SHORT);
    /* second item missing */
    n = pl_test_hex("02 00 00 00 00 00", b, sizeof(b));
    assert_int_equal(pl_cpf_decode(b, n, &cpf), PL_EENIP_SHORT);
    /* trailing byte after the last item */
    n = pl_test_hex("01 00 B2 00 01 00 01 02", b, sizeof(b));
    assert_int_equal(pl_cpf_decode(b, n, &cpf), PL_EENIP_LENGTH);
    /* fixed-size items with another length */
    n = pl_test_hex("01 00 00 00 01 00 00", b, sizeof(b));
    assert_int_equal(pl_cpf_decode(b, n, &cpf), PL_EENIP_LENGTH);
    n = pl_test_hex("01 00 A1 00 02 00 00 00", b, sizeof(b));
    assert_int_equal(pl_cpf_decode(b, n, &cpf), PL_EENIP_LENGTH);
    n = pl_test_hex("01 00 B1 00 01 00 00", b, sizeof(b));
    assert_int_equal(pl_cpf_decode(b, n, &cpf), PL_EENIP_LENGTH);
    n = pl_test_hex("01 00 00 80 02 00 00 02", b, sizeof(b));
    assert_int_equal(pl_cpf_decode(b, n, &cpf), PL_EENIP_LENGTH);
    n = pl_test_hex("01 00 02 80 04 00 00 00 00 00", b, sizeof(b));
    assert_int_equal(pl_cpf_decode(b, n, &cpf), PL_EENIP_LENGTH);
    /* valid Sockaddr Info item: 16 bytes */
    n = pl_test_hex("01 00 01 80 10 00 00 02 AF 12 0A 00 00 05 00 00 00 00 00 00 00 00", b,
                    sizeof(b));
    assert_int_equal(pl_cpf_decode(b, n, &cpf), 0);
    assert_int_equal(cpf.item[0].type, PL_CPF_SOCKADDR_T_O);
    /* shapes: wrong order / wrong types */
    n = pl_test_hex("02 00 B2 00 00 00 00 00 00 00", b, sizeof(b));
    assert_int_equal(pl_cpf_decode(b, n, &cpf), 0);
    assert_int_equal(pl_cpf_unconnected(&cpf, &cip, &cip_len), PL_EENIP_CPF_ITEM);
    n = pl_test_hex("02 00 A1 00 04 00 01 00 00 00 B2 00 00 00", b, sizeof(b));
    assert_int_equal(pl_cpf_decode(b, n, &cpf), 0);
    assert_int_equal(pl_cpf_connected(&cpf, &conn, &seq, &cip, &cip_len), PL_EENIP_CPF_ITEM);
    /* connected data holding only the sequence count: empty message */
    n = pl_test_hex("02 00 A1 00 04 00 01 00 00 00 B1 00 02 00 07 00", b, sizeof(b));
    assert_int_equal(pl_cpf_decode(b, n, &cpf), 0);
    assert_int_equal(pl_cpf_connected(&cpf, &conn, &seq, &cip, &cip_len), 0);
    assert_int_equal(seq, 7);
    assert_int_equal(cip_len, 0);
    assert_null(cip);
    /* SendRRData data cut before the CPF */
    assert_int_equal(pl_enip_rr_decode(b, 5, &rr), PL_EENIP_SHORT);
    n = pl_test_hex("00 00 00 00 0A 00", b, sizeof(b));
    assert_int_equal(pl_enip_rr_decode(b, n, &rr), PL_EENIP_SHORT);
    /* encoder argument checks */
    memset(&cpf, 0, sizeof(cpf));
    cpf.count = PL_CPF_MAX_ITEMS + 1u;
    assert_int_equal(pl_cpf_encode(b, sizeof(b), &cpf), PL_EINVAL);
    cpf.count = 1;
    cpf.item[0].type = PL_CPF_UNCONNECTED_DATA;
    cpf.item[0].length = 2;
    assert_int_equal(pl_cpf_encode(b, sizeof(b), &cpf), PL_EINVAL);
    cpf.item[0].data = (const uint8_t *)"ab";
    assert_int_equal(pl_cpf_encode(b, 7, &cpf), PL_ENOBUFS);
    assert_int_equal(pl_cpf_encode(b, 8, &cpf), 8);
}

/* ---------------------------------------------------------- ListIdentity */

static void test_list_identity(void **state)
{
    uint8_t b[STREAM_MAX];
    uint8_t out[STREAM_MAX];
    pl_enip_msg_t m;
    pl_cpf_t cpf;
    pl_enip_identity_t id;
    static const char name[] = "1747-L552/C D/23.10";
    size_t n;
    int k;

    (void)state;
    n = pl_test_hex(LIST_IDENTITY_REQ_HEX, b, sizeof(b));
    assert_int_equal(pl_enip_decode(b, n, &m), 0);
    assert_int_equal(m.command, PL_ENIP_CMD_LIST_IDENTITY);
    assert_int_equal(m.data_len, 0);
    assert_null(m.data);

    n = pl_test_hex(LIST_IDENTITY_REP_HEX, b, sizeof(b));
    assert_int_equal(pl_enip_decode(b, n, &m), 0);
    assert_int_equal(pl_cpf_decode(m.data, m.data_len, &cpf), 0);
    assert_int_equal(cpf.count, 1);
    assert_int_equal(cpf.item[0].type, PL_CPF_LIST_IDENTITY);
    assert_int_equal(pl_enip_identity_decode(cpf.item[0].data, cpf.item[0].length, &id), 0);
    assert_int_equal(id.protocol_version, PL_ENIP_PROTOCOL_VERSION);
    assert_int_equal(id.sin_family, PL_ENIP_AF_INET);
    assert_int_equal(id.sin_port, PL_ENIP_TCP_PORT);
    assert_int_equal(id.sin_addr, 0xC0A8010Au); /* 192.168.1.10 */
    assert_int_equal(id.vendor_id, 1);
    assert_int_equal(id.device_type, 0x0E);
    assert_int_equal(id.product_code, 0x5A);
    assert_int_equal(id.revision_major, 3);
    assert_int_equal(id.revision_minor, 10);
    assert_int_equal(id.status, 0x0030);
    assert_int_equal(id.serial, 0x40A1B2C3u);
    assert_int_equal(id.product_name_len, strlen(name));
    assert_memory_equal(id.product_name, name, strlen(name));
    assert_int_equal(id.state, 3);

    /* rebuild: identity item, CPF, header */
    k = pl_enip_identity_encode(out + 30, sizeof(out) - 30, &id);
    assert_int_equal(k, cpf.item[0].length);
    assert_memory_equal(out + 30, cpf.item[0].data, (size_t)k);
    cpf.item[0].data = out + 30;
    assert_int_equal(pl_cpf_encode(out + 24, sizeof(out) - 24, &cpf), (int)m.data_len);
    m.data = out + 24;
    assert_int_equal(pl_enip_encode(out, sizeof(out), &m), (int)n);
    assert_memory_equal(out, b, n);

    /* errors */
    {
        const uint8_t *item = b + 30;
        size_t ilen = 0x35;

        assert_int_equal(pl_enip_identity_decode(item, 33, &id), PL_EENIP_SHORT);
        assert_int_equal(pl_enip_identity_decode(item, ilen - 1u, &id), PL_EENIP_SHORT);
        assert_int_equal(id.vendor_id, 1); /* fixed part filled */
        memcpy(out, item, ilen);
        out[ilen] = 0;
        assert_int_equal(pl_enip_identity_decode(out, ilen + 1u, &id), PL_EENIP_LENGTH);
        out[32] = 0xFF; /* name length past the end */
        assert_int_equal(pl_enip_identity_decode(out, ilen, &id), PL_EENIP_SHORT);
        out[32] = 0; /* empty name: 34 bytes */
        out[33] = 7;
        assert_int_equal(pl_enip_identity_decode(out, 34, &id), 0);
        assert_int_equal(id.product_name_len, 0);
        assert_null(id.product_name);
        assert_int_equal(id.state, 7);
        assert_int_equal(pl_enip_identity_encode(out, 33, &id), PL_ENOBUFS);
        id.product_name_len = 256;
        id.product_name = b;
        assert_int_equal(pl_enip_identity_encode(out, sizeof(out), &id), PL_ERANGE);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_frame_decode_roundtrip),
        cmocka_unit_test(test_stream_all_ways),
        cmocka_unit_test(test_frame_edges),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_encode_errors),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_register),
        cmocka_unit_test(test_session_requests),
        cmocka_unit_test(test_cpf_shapes),
        cmocka_unit_test(test_cip_frame),
        cmocka_unit_test(test_cpf_errors),
        cmocka_unit_test(test_list_identity),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
