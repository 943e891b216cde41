/* SPDX-License-Identifier: MIT */
/*
 * Modbus frames encoded by plcline's codec, as a capture Wireshark can read.
 *
 *   test_modbus_pcap --write FILE   writes the capture (tests/cli/test_modbus_tshark.sh runs
 *                                   tshark's Modbus/TCP dissector on it)
 *   test_modbus_pcap                checks that every frame of the capture is one ADU that
 *                                   decodes back to what was encoded (run by CTest)
 *
 * The capture is one TCP connection 10.0.0.1:40000 -> 10.0.0.2:502 (handshake, then each
 * request and its response with consistent sequence and acknowledgement numbers): a request
 * and a response for every function code the codec speaks, and exception responses. Only
 * the encoder builds the Modbus bytes; the Ethernet, IPv4 and TCP headers are written here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <unistd.h>

#include "plcline/error.h"
#include "proto/modbus/codec/modbus.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define CLIENT_PORT  40000u
#define UNIT         0x11u
#define ETH_LEN      14u
#define IP_LEN       20u
#define TCP_LEN      20u
#define TCP_SYN      0x02u
#define TCP_ACK      0x10u
#define TCP_PSH      0x08u
#define MAX_PACKETS  64u

typedef struct {
    uint8_t buf[PL_MODBUS_MAX_ADU];
    int len;
    int response;
} adu_t;

static const uint8_t devid_objects[] = {
    0x00, 7, 'p', 'l', 'c', 'l', 'i', 'n', 'e', /* VendorName */
    0x01, 4, 't', 'e', 's', 't',                /* ProductCode */
    0x02, 3, '0', '.', '1',                     /* MajorMinorRevision */
};

/* The exchanges, in order: request then response (values from the spec's examples). */
static size_t build(adu_t *out)
{
    static uint8_t coils[] = {0xCD, 0x01};
    static uint8_t regs[] = {0x00, 0x0A, 0x01, 0x02};
    static uint8_t rw[] = {0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF};
    static uint8_t rd_bits[] = {0xCD, 0x6B, 0x05};
    static uint8_t rd_regs[] = {0x02, 0x2B, 0x00, 0x00, 0x00, 0x64};
    static uint8_t rd_rw[] = {0x00, 0xFE, 0x0A, 0xCD, 0x00, 0x01,
                              0x00, 0x03, 0x00, 0x0D, 0x00, 0xFF};
    pl_modbus_req_t q[14];
    pl_modbus_rsp_t r[14];
    size_t n = 0;
    size_t i;

    memset(q, 0, sizeof(q));
    memset(r, 0, sizeof(r));
    q[n] = (pl_modbus_req_t){.function = 1, .addr = 19, .count = 19};
    r[n++] = (pl_modbus_rsp_t){.function = 1, .data = rd_bits, .data_len = 3};
    q[n] = (pl_modbus_req_t){.function = 2, .addr = 196, .count = 22};
    r[n++] = (pl_modbus_rsp_t){.function = 2, .data = rd_bits, .data_len = 3};
    q[n] = (pl_modbus_req_t){.function = 3, .addr = 107, .count = 3};
    r[n++] = (pl_modbus_rsp_t){.function = 3, .data = rd_regs, .data_len = 6};
    q[n] = (pl_modbus_req_t){.function = 4, .addr = 8, .count = 1};
    r[n++] = (pl_modbus_rsp_t){.function = 4, .data = rd_regs + 4, .data_len = 2};
    q[n] = (pl_modbus_req_t){.function = 5, .addr = 172, .value = PL_MODBUS_COIL_ON};
    r[n++] = (pl_modbus_rsp_t){.function = 5, .addr = 172, .value = PL_MODBUS_COIL_ON};
    q[n] = (pl_modbus_req_t){.function = 6, .addr = 1, .value = 3};
    r[n++] = (pl_modbus_rsp_t){.function = 6, .addr = 1, .value = 3};
    q[n] = (pl_modbus_req_t){.function = 15, .addr = 19, .count = 10, .data = coils, .data_len = 2};
    r[n++] = (pl_modbus_rsp_t){.function = 15, .addr = 19, .count = 10};
    q[n] = (pl_modbus_req_t){.function = 16, .addr = 1, .count = 2, .data = regs, .data_len = 4};
    r[n++] = (pl_modbus_rsp_t){.function = 16, .addr = 1, .count = 2};
    q[n] = (pl_modbus_req_t){.function = 22, .addr = 4, .and_mask = 0xF2, .or_mask = 0x25};
    r[n++] = (pl_modbus_rsp_t){.function = 22, .addr = 4, .and_mask = 0xF2, .or_mask = 0x25};
    q[n] = (pl_modbus_req_t){
        .function = 23, .addr = 3, .count = 6, .waddr = 14, .wcount = 3, .data = rw, .data_len = 6};
    r[n++] = (pl_modbus_rsp_t){.function = 23, .data = rd_rw, .data_len = 12};
    q[n] = (pl_modbus_req_t){.function = 43, .devid_code = PL_MODBUS_DEVID_BASIC, .object_id = 0};
    r[n++] = (pl_modbus_rsp_t){.function = 43,
                               .devid_code = PL_MODBUS_DEVID_BASIC,
                               .conformity = 0x01,
                               .object_count = 3,
                               .objects = devid_objects,
                               .objects_len = sizeof(devid_objects)};
    /* exceptions */
    q[n] = (pl_modbus_req_t){.function = 1, .addr = 0x04A1, .count = 1};
    r[n++] = (pl_modbus_rsp_t){.function = 1, .exception = PL_MODBUS_EX_ILLEGAL_DATA_ADDRESS};
    q[n] = (pl_modbus_req_t){.function = 3, .addr = 0, .count = 125};
    r[n++] = (pl_modbus_rsp_t){.function = 3, .exception = PL_MODBUS_EX_GATEWAY_TARGET};
    q[n] =
        (pl_modbus_req_t){.function = 43, .devid_code = PL_MODBUS_DEVID_SPECIFIC, .object_id = 5};
    r[n++] = (pl_modbus_rsp_t){.function = 43, .exception = PL_MODBUS_EX_ILLEGAL_DATA_VALUE};

    for (i = 0; i < n; i++) {
        uint16_t tid = (uint16_t)(0x0100 + i);

        out[2 * i].len =
            pl_modbus_req_encode(out[2 * i].buf, sizeof(out[2 * i].buf), tid, UNIT, &q[i]);
        out[2 * i].response = 0;
        out[2 * i + 1].len =
            pl_modbus_rsp_encode(out[2 * i + 1].buf, sizeof(out[2 * i + 1].buf), tid, UNIT, &r[i]);
        out[2 * i + 1].response = 1;
    }
    return 2 * n;
}

/* ---------------------------------------------------------------- pcap */

static void be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
    be16(p, v >> 16);
    be16(p + 2, v & 0xFFFFu);
}

static void le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint16_t ip_checksum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;
    size_t i;

    for (i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)((p[i] << 8) | p[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xFFFFu) + (sum >> 16);
    return (uint16_t)~sum;
}

/* One Ethernet/IPv4/TCP packet record; returns 0 or -1 on a write error. */
static int packet(FILE *f, uint32_t t, int from_server, uint32_t seq, uint32_t ack, uint8_t flags,
                  const uint8_t *payload, size_t n)
{
    uint8_t rec[16];
    uint8_t h[ETH_LEN + IP_LEN + TCP_LEN];
    uint8_t *ip = h + ETH_LEN;
    uint8_t *tcp = ip + IP_LEN;
    static const uint8_t mac_c[6] = {0x02, 0, 0, 0, 0, 0x01};
    static const uint8_t mac_s[6] = {0x02, 0, 0, 0, 0, 0x02};
    size_t total = sizeof(h) + n;

    memset(h, 0, sizeof(h));
    memcpy(h, from_server ? mac_c : mac_s, 6);
    memcpy(h + 6, from_server ? mac_s : mac_c, 6);
    be16(h + 12, 0x0800);
    ip[0] = 0x45;
    be16(ip + 2, (uint32_t)(IP_LEN + TCP_LEN + n));
    ip[8] = 64;
    ip[9] = 6;
    be32(ip + 12, from_server ? 0x0A000002u : 0x0A000001u);
    be32(ip + 16, from_server ? 0x0A000001u : 0x0A000002u);
    be16(ip + 10, ip_checksum(ip, IP_LEN));
    be16(tcp, from_server ? PL_MODBUS_TCP_PORT : CLIENT_PORT);
    be16(tcp + 2, from_server ? CLIENT_PORT : PL_MODBUS_TCP_PORT);
    be32(tcp + 4, seq);
    be32(tcp + 8, ack);
    tcp[12] = (TCP_LEN / 4u) << 4;
    tcp[13] = flags;
    be16(tcp + 14, 65535);

    le32(rec, t);
    le32(rec + 4, 0);
    le32(rec + 8, (uint32_t)total);
    le32(rec + 12, (uint32_t)total);
    if (fwrite(rec, 1, sizeof(rec), f) != sizeof(rec) || fwrite(h, 1, sizeof(h), f) != sizeof(h))
        return -1;
    if (n > 0 && fwrite(payload, 1, n, f) != n)
        return -1;
    return 0;
}

static int write_pcap(const char *path)
{
    static adu_t adu[MAX_PACKETS];
    uint8_t gh[24];
    uint32_t cseq = 1000;
    uint32_t sseq = 5000;
    uint32_t t = 1700000000u;
    size_t n = build(adu);
    size_t i;
    int rc = 0;
    FILE *f = fopen(path, "wb");

    if (f == NULL)
        return -1;
    le32(gh, 0xA1B2C3D4u); /* classic pcap, microseconds */
    gh[4] = 2;             /* version 2.4 */
    gh[5] = 0;
    gh[6] = 4;
    gh[7] = 0;
    le32(gh + 8, 0);
    le32(gh + 12, 0);
    le32(gh + 16, 65535);
    le32(gh + 20, 1); /* Ethernet */
    if (fwrite(gh, 1, sizeof(gh), f) != sizeof(gh))
        rc = -1;
    rc |= packet(f, t++, 0, cseq, 0, TCP_SYN, NULL, 0);
    rc |= packet(f, t++, 1, sseq, cseq + 1, TCP_SYN | TCP_ACK, NULL, 0);
    cseq++;
    sseq++;
    rc |= packet(f, t++, 0, cseq, sseq, TCP_ACK, NULL, 0);
    for (i = 0; i < n; i++) {
        if (adu[i].len <= 0) {
            rc = -1;
            break;
        }
        if (adu[i].response) {
            rc |= packet(f, t++, 1, sseq, cseq, TCP_PSH | TCP_ACK, adu[i].buf, (size_t)adu[i].len);
            sseq += (uint32_t)adu[i].len;
        } else {
            rc |= packet(f, t++, 0, cseq, sseq, TCP_PSH | TCP_ACK, adu[i].buf, (size_t)adu[i].len);
            cseq += (uint32_t)adu[i].len;
        }
    }
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

/* ---------------------------------------------------------------- the CTest check */

static void test_frames_decode_back(void **state)
{
    static adu_t adu[MAX_PACKETS];
    pl_modbus_adu_t h;
    pl_modbus_req_t q;
    pl_modbus_rsp_t r;
    size_t n;
    size_t i;

    (void)state;
    memset(&q, 0, sizeof(q));
    n = build(adu);
    assert_int_equal(n, 28);
    for (i = 0; i < n; i++) {
        assert_true(adu[i].len > 0);
        assert_int_equal(pl_modbus_frame(adu[i].buf, (size_t)adu[i].len, NULL), adu[i].len);
        assert_int_equal(pl_modbus_adu_decode(adu[i].buf, (size_t)adu[i].len, &h, NULL), 0);
        assert_int_equal(h.tid, 0x0100 + i / 2);
        assert_int_equal(h.unit, UNIT);
        if (adu[i].response) {
            assert_int_equal(pl_modbus_rsp_decode(h.pdu, h.pdu_len, &r, NULL), 0);
            /* each response answers its request (an exception as its named error) */
            if (r.exception == 0)
                assert_int_equal(pl_modbus_rsp_match(&q, &r, NULL), 0);
            else
                assert_int_equal(pl_modbus_rsp_match(&q, &r, NULL),
                                 pl_modbus_exception_error(r.exception));
        } else {
            assert_int_equal(pl_modbus_req_decode(h.pdu, h.pdu_len, &q, NULL), 0);
        }
    }
}

static void test_pcap_written(void **state)
{
    char path[] = "/tmp/plcline-modbus-pcap-XXXXXX";
    uint8_t head[24];
    FILE *f;
    long size;

    (void)state;
    {
        int fd = mkstemp(path);

        assert_true(fd >= 0);
        close(fd);
    }
    assert_int_equal(write_pcap(path), 0);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(head, 1, sizeof(head), f), sizeof(head));
    assert_int_equal(head[0], 0xD4);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    fclose(f);
    remove(path);
    /* header + 3 handshake packets + 28 Modbus packets, each 16 + 54 bytes plus its ADU */
    assert_true(size > 24 + 31 * (16 + 54));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_decode_back),
        cmocka_unit_test(test_pcap_written),
    };

    if (argc == 3 && strcmp(argv[1], "--write") == 0) {
        if (write_pcap(argv[2]) != 0) {
            fprintf(stderr, "test_modbus_pcap: cannot write %s\n", argv[2]);
            return 1;
        }
        return 0;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
