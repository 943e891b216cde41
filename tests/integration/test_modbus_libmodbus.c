/* SPDX-License-Identifier: MIT */
/*
 * plcline's Modbus codec against libmodbus, an independent implementation, over loopback.
 *
 * 1. libmodbus serves (modbus_receive/modbus_reply on a mapping, in a thread) on a socket
 *    this test listens on at 127.0.0.1 port 0 and accepts itself, so there is no port to
 *    guess and no race: the port is read back with getsockname before the client connects.
 *    The test sends requests encoded by plcline for every function code over a plain
 *    blocking socket and decodes libmodbus's replies with plcline: values, echoes, the
 *    exceptions libmodbus raises (illegal data address, illegal data value, and illegal
 *    function for read device identification, which libmodbus does not serve), and floats
 *    libmodbus stored in each of the four byte orders.
 * 2. The reverse: libmodbus's client talks to a small blocking responder in a thread that
 *    decodes with plcline and answers with plcline's encoder; libmodbus checks the answers
 *    (transaction and unit id, lengths) and the values, exceptions included, and reads and
 *    writes floats in the four orders with modbus_get_float_abcd and its siblings. (FC 43 is
 *    not part of this direction: libmodbus's client cannot receive its answer.)
 *
 * Every socket wait has a deadline (SO_RCVTIMEO / SO_SNDTIMEO, libmodbus's response and
 * indication timeouts); nothing sleeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <modbus/modbus.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "plcline/error.h"
#include "proto/modbus/codec/modbus.h"
#include "proto/modbus/codec/modbus_addr.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define DEADLINE_S   10 /* any single socket wait */
#define MAP_BITS     200
#define MAP_REGS     200
#define UNIT         17
#define FLOAT_AT     100 /* holding registers 100..107: a float in each order */
#define TEST_FLOAT   123.456f

/* ---------------------------------------------------------------- sockets */

static void set_deadline(int fd)
{
    struct timeval tv = {DEADLINE_S, 0};

    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
}

/* A listening socket on 127.0.0.1, port 0; *port is the one the kernel chose. */
static int listen_any(uint16_t *port)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    assert_true(*port != 0);
    return fd;
}

static int connect_to(uint16_t port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    set_deadline(fd);
    return fd;
}

static int send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Receives one ADU (framed by pl_modbus_frame). Returns its length, 0 on an orderly close
 * before any byte, -1 on error or timeout. */
static int recv_adu(int fd, uint8_t *buf, size_t cap)
{
    size_t have = 0;
    size_t need = PL_MODBUS_MIN_ADU;
    int r;

    for (;;) {
        r = pl_modbus_frame(buf, have, &need);
        if (r > 0)
            return r;
        if (r != PL_EAGAIN || need > cap)
            return -1;
        ssize_t got = recv(fd, buf + have, need - have, 0);

        if (got == 0 && have == 0)
            return 0;
        if (got <= 0)
            return -1;
        have += (size_t)got;
    }
}

/* ---------------------------------------------------------------- libmodbus's float orders */

/* libmodbus's float functions, in the order of pl_modbus_order_t (ABCD, CDAB, BADC, DCBA). */
typedef void (*lm_set_fn)(float f, uint16_t *dest);
typedef float (*lm_get_fn)(const uint16_t *src);
static const lm_set_fn lm_set[4] = {modbus_set_float_abcd, modbus_set_float_cdab,
                                    modbus_set_float_badc, modbus_set_float_dcba};
static const lm_get_fn lm_get[4] = {modbus_get_float_abcd, modbus_get_float_cdab,
                                    modbus_get_float_badc, modbus_get_float_dcba};

/* The plcline order whose layout libmodbus's function `k` uses, for setting (`get` 0) or
 * getting. Debian's libmodbus 3.1.6 gets floats in the documented layouts but its setters
 * swap the bytes within each register on little-endian hosts ("set_float_abcd" lays out
 * B A D C; libmodbus issues #358, #611 and #807, and later versions changed again);
 * plcline keeps the documented meaning, pinned by fixed vectors in test_modbus_addr.c.
 * The test finds the layout each function really has and accepts only the documented one
 * or the same with the bytes of each register swapped, so that every
 * plcline order is still exchanged with libmodbus. */
static pl_modbus_order_t lm_layout(int k, int get)
{
    static const pl_modbus_order_t swapped[4] = {PL_MODBUS_BADC, PL_MODBUS_DCBA, PL_MODBUS_ABCD,
                                                 PL_MODBUS_CDAB};
    pl_modbus_order_t o;
    float f = TEST_FLOAT;
    uint32_t bits;
    uint16_t regs[2];
    uint8_t raw[4];

    memcpy(&bits, &f, sizeof(bits));
    for (o = PL_MODBUS_ABCD; o <= PL_MODBUS_DCBA; o++) {
        if (get) {
            pl_modbus_put32(raw, bits, o);
            regs[0] = (uint16_t)((raw[0] << 8) | raw[1]);
            regs[1] = (uint16_t)((raw[2] << 8) | raw[3]);
            if (lm_get[k](regs) == TEST_FLOAT)
                break;
        } else {
            lm_set[k](TEST_FLOAT, regs);
            raw[0] = (uint8_t)(regs[0] >> 8);
            raw[1] = (uint8_t)regs[0];
            raw[2] = (uint8_t)(regs[1] >> 8);
            raw[3] = (uint8_t)regs[1];
            if (pl_modbus_get32(raw, o) == bits)
                break;
        }
    }
    if (o > PL_MODBUS_DCBA || (o != (pl_modbus_order_t)k && o != swapped[k]))
        fail_msg("libmodbus %s float function %d has a layout plcline does not name",
                 get ? "get" : "set", k);
    print_message("libmodbus modbus_%s_float_%s lays out %s\n", get ? "get" : "set",
                  pl_modbus_order_name((pl_modbus_order_t)k), pl_modbus_order_name(o));
    return o;
}

/* ---------------------------------------------------------------- 1: libmodbus serves */

typedef struct {
    int listen_fd;
    modbus_mapping_t *map;
    int served; /* requests answered */
} lm_server_t;

static void *lm_server_main(void *arg)
{
    lm_server_t *s = arg;
    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    modbus_t *ctx;
    int fd;
    int n;

    fd = accept(s->listen_fd, NULL, NULL);
    if (fd < 0) {
        return NULL;
    }
    ctx = modbus_new_tcp("127.0.0.1", 0);
    if (ctx == NULL) {
        close(fd);
        return NULL;
    }
    modbus_set_socket(ctx, fd);
    modbus_set_indication_timeout(ctx, DEADLINE_S, 0);
    for (;;) {
        n = modbus_receive(ctx, query);
        if (n == -1)
            break; /* the client closed (or the deadline passed) */
        if (n > 0) {
            if (modbus_reply(ctx, query, n, s->map) == -1)
                break;
            s->served++;
        }
    }
    modbus_close(ctx);
    modbus_free(ctx);
    return NULL;
}

/* Sends `req` encoded by plcline and decodes the answer with plcline. */
static void exchange(int fd, uint16_t tid, const pl_modbus_req_t *req, uint8_t *rx,
                     pl_modbus_rsp_t *rsp, int want_match)
{
    uint8_t tx[PL_MODBUS_MAX_ADU];
    pl_modbus_adu_t adu;
    pl_status_t st;
    int n;

    n = pl_modbus_req_encode(tx, sizeof(tx), tid, UNIT, req);
    assert_true(n > 0);
    assert_int_equal(send_all(fd, tx, (size_t)n), 0);
    n = recv_adu(fd, rx, PL_MODBUS_MAX_ADU);
    assert_true(n > 0);
    assert_int_equal(pl_modbus_adu_decode(rx, (size_t)n, &adu, &st), 0);
    assert_int_equal(adu.tid, tid);
    assert_int_equal(adu.unit, UNIT);
    assert_int_equal(pl_modbus_rsp_decode(adu.pdu, adu.pdu_len, rsp, &st), 0);
    n = pl_modbus_rsp_match(req, rsp, &st);
    if (n != want_match)
        fail_msg("function 0x%02X: match %d (%s), expected %d", req->function, n, st.detail,
                 want_match);
}

static void test_libmodbus_server(void **state)
{
    lm_server_t s;
    pthread_t th;
    uint16_t port;
    uint8_t rx[PL_MODBUS_MAX_ADU];
    uint8_t data[256];
    pl_modbus_req_t req;
    pl_modbus_rsp_t rsp;
    pl_modbus_addr_t a;
    pl_modbus_value_t v;
    uint16_t tid = 0x7000;
    int fd;
    int i;
    size_t k;
    unsigned seen = 0;

    (void)state;
    memset(&s, 0, sizeof(s));
    s.map = modbus_mapping_new(MAP_BITS, MAP_BITS, MAP_REGS, MAP_REGS);
    assert_non_null(s.map);
    for (i = 0; i < MAP_BITS; i++) {
        s.map->tab_bits[i] = (uint8_t)(i % 3 == 0);
        s.map->tab_input_bits[i] = (uint8_t)(i % 5 == 1);
    }
    for (i = 0; i < MAP_REGS; i++) {
        s.map->tab_registers[i] = (uint16_t)(0x1000 + i * 7);
        s.map->tab_input_registers[i] = (uint16_t)(0xF000 - i * 3);
    }
    for (k = 0; k < 4; k++)
        lm_set[k](TEST_FLOAT, s.map->tab_registers + FLOAT_AT + 2 * k);
    s.listen_fd = listen_any(&port);
    assert_int_equal(pthread_create(&th, NULL, lm_server_main, &s), 0);
    fd = connect_to(port);

    /* FC 1: coils 3..22 */
    memset(&req, 0, sizeof(req));
    req.function = PL_MODBUS_FC_READ_COILS;
    req.addr = 3;
    req.count = 20;
    exchange(fd, tid++, &req, rx, &rsp, 0);
    for (i = 0; i < 20; i++)
        assert_int_equal(pl_modbus_bit(rsp.data, rsp.data_len, (size_t)i), (i + 3) % 3 == 0);
    /* FC 2: discrete inputs 0..199 */
    req.function = PL_MODBUS_FC_READ_DISCRETE;
    req.addr = 0;
    req.count = MAP_BITS;
    exchange(fd, tid++, &req, rx, &rsp, 0);
    for (i = 0; i < MAP_BITS; i++)
        assert_int_equal(pl_modbus_bit(rsp.data, rsp.data_len, (size_t)i), i % 5 == 1);
    /* FC 3: 125 holding registers */
    req.function = PL_MODBUS_FC_READ_HOLDING;
    req.addr = 0;
    req.count = 125;
    exchange(fd, tid++, &req, rx, &rsp, 0);
    for (i = 0; i < 100; i++)
        assert_int_equal(pl_modbus_reg(rsp.data, rsp.data_len, (size_t)i), 0x1000 + i * 7);
    /* FC 4: input registers 10..12 */
    req.function = PL_MODBUS_FC_READ_INPUT;
    req.addr = 10;
    req.count = 3;
    exchange(fd, tid++, &req, rx, &rsp, 0);
    for (i = 0; i < 3; i++)
        assert_int_equal(pl_modbus_reg(rsp.data, rsp.data_len, (size_t)i), 0xF000 - (10 + i) * 3);
    /* the float libmodbus stored in each order reads back through plcline's decoder */
    req.function = PL_MODBUS_FC_READ_HOLDING;
    req.addr = FLOAT_AT;
    req.count = 8;
    exchange(fd, tid++, &req, rx, &rsp, 0);
    assert_int_equal(pl_modbus_addr_parse(&a, "hr100:f32,4", 0, NULL), 0);
    for (k = 0; k < 4; k++) {
        pl_modbus_order_t o = lm_layout((int)k, 0);

        assert_int_equal(pl_modbus_value_get(&a, rsp.data, rsp.data_len, (uint32_t)k, o, &v), 0);
        if (v.v.f32 != TEST_FLOAT)
            fail_msg("order %s: %g", pl_modbus_order_name(o), (double)v.v.f32);
        seen |= 1u << o;
    }
    assert_int_equal(seen, 0xF); /* every plcline order was exchanged */
    /* FC 5: coil 1 ON (it was OFF), coil 0 OFF */
    memset(&req, 0, sizeof(req));
    req.function = PL_MODBUS_FC_WRITE_COIL;
    req.addr = 1;
    req.value = PL_MODBUS_COIL_ON;
    exchange(fd, tid++, &req, rx, &rsp, 0);
    assert_int_equal(s.map->tab_bits[1], 1);
    req.addr = 0;
    req.value = PL_MODBUS_COIL_OFF;
    exchange(fd, tid++, &req, rx, &rsp, 0);
    assert_int_equal(s.map->tab_bits[0], 0);
    /* FC 6 */
    req.function = PL_MODBUS_FC_WRITE_REGISTER;
    req.addr = 7;
    req.value = 0xBEEF;
    exchange(fd, tid++, &req, rx, &rsp, 0);
    assert_int_equal(s.map->tab_registers[7], 0xBEEF);
    /* FC 15: coils 20..29 := spec 6.11 pattern CD 01 */
    memset(&req, 0, sizeof(req));
    req.function = PL_MODBUS_FC_WRITE_COILS;
    req.addr = 20;
    req.count = 10;
    data[0] = 0xCD;
    data[1] = 0x01;
    req.data = data;
    req.data_len = 2;
    exchange(fd, tid++, &req, rx, &rsp, 0);
    for (i = 0; i < 10; i++)
        assert_int_equal(s.map->tab_bits[20 + i], pl_modbus_bit(data, 2, (size_t)i));
    /* FC 16: 123 registers from 50 */
    req.function = PL_MODBUS_FC_WRITE_REGISTERS;
    req.addr = 50;
    req.count = 123;
    for (k = 0; k < 246; k++)
        data[k] = (uint8_t)(k * 13);
    req.data_len = 246;
    exchange(fd, tid++, &req, rx, &rsp, 0);
    for (i = 0; i < 123; i++)
        assert_int_equal(s.map->tab_registers[50 + i], pl_modbus_reg(data, 246, (size_t)i));
    /* FC 22: spec 6.16, 0x0012 AND 0x00F2 OR 0x0025 = 0x0017 */
    s.map->tab_registers[4] = 0x0012;
    memset(&req, 0, sizeof(req));
    req.function = PL_MODBUS_FC_MASK_WRITE;
    req.addr = 4;
    req.and_mask = 0x00F2;
    req.or_mask = 0x0025;
    exchange(fd, tid++, &req, rx, &rsp, 0);
    assert_int_equal(s.map->tab_registers[4], 0x0017);
    /* FC 23: write 3 at 14, read 6 from 12 (the write happens first) */
    memset(&req, 0, sizeof(req));
    req.function = PL_MODBUS_FC_READ_WRITE;
    req.addr = 12;
    req.count = 6;
    req.waddr = 14;
    req.wcount = 3;
    for (k = 0; k < 6; k++)
        data[k] = k % 2 ? 0xFF : 0x00;
    req.data = data;
    req.data_len = 6;
    exchange(fd, tid++, &req, rx, &rsp, 0);
    assert_int_equal(pl_modbus_reg(rsp.data, rsp.data_len, 0), 0x1000 + 12 * 7);
    assert_int_equal(pl_modbus_reg(rsp.data, rsp.data_len, 2), 0x00FF);
    assert_int_equal(pl_modbus_reg(rsp.data, rsp.data_len, 4), 0x00FF);
    assert_int_equal(pl_modbus_reg(rsp.data, rsp.data_len, 5), 0x1000 + 17 * 7);
    /* FC 43: libmodbus does not serve it: illegal function */
    memset(&req, 0, sizeof(req));
    req.function = PL_MODBUS_FC_MEI;
    req.devid_code = PL_MODBUS_DEVID_BASIC;
    exchange(fd, tid++, &req, rx, &rsp, PL_EMODBUS_X_ILLEGAL_FUNCTION);
    assert_int_equal(rsp.exception, PL_MODBUS_EX_ILLEGAL_FUNCTION);
    /* exceptions: past the mapping, and a quantity over the limit */
    memset(&req, 0, sizeof(req));
    req.function = PL_MODBUS_FC_READ_HOLDING;
    req.addr = MAP_REGS - 1;
    req.count = 2;
    exchange(fd, tid++, &req, rx, &rsp, PL_EMODBUS_X_ILLEGAL_DATA_ADDRESS);
    req.function = PL_MODBUS_FC_WRITE_REGISTER;
    req.addr = MAP_REGS;
    exchange(fd, tid++, &req, rx, &rsp, PL_EMODBUS_X_ILLEGAL_DATA_ADDRESS);
    req.function = PL_MODBUS_FC_READ_INPUT;
    req.addr = 0;
    req.count = 126; /* plcline encodes what it is told; libmodbus refuses it */
    exchange(fd, tid++, &req, rx, &rsp, PL_EMODBUS_X_ILLEGAL_DATA_VALUE);

    close(fd);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(s.served, 16);
    close(s.listen_fd);
    modbus_mapping_free(s.map);
}

/* ---------------------------------------------------------------- 2: plcline answers */

typedef struct {
    int listen_fd;
    uint8_t co[MAP_BITS];
    uint8_t di[MAP_BITS];
    uint16_t hr[MAP_REGS];
    uint16_t ir[MAP_REGS];
    int served;
    int bad; /* requests that did not decode */
    uint8_t last_unit;
} responder_t;

static int in_range(uint16_t addr, uint32_t count, uint32_t size)
{
    return (uint32_t)addr + count <= size;
}

static void put_regs(uint8_t *out, const uint16_t *regs, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = (uint8_t)(regs[i] >> 8);
        out[2 * i + 1] = (uint8_t)regs[i];
    }
}

/* Answers one decoded request from the model; returns the response to encode. */
static void answer(responder_t *m, const pl_modbus_req_t *q, pl_modbus_rsp_t *r, uint8_t *data)
{
    uint32_t i;
    const uint8_t *bits = m->co;
    const uint16_t *regs = m->hr;

    memset(r, 0, sizeof(*r));
    r->function = q->function;
    switch (q->function) {
    case PL_MODBUS_FC_READ_DISCRETE:
        bits = m->di;
        /* fall through */
    case PL_MODBUS_FC_READ_COILS:
        if (!in_range(q->addr, q->count, MAP_BITS))
            break;
        memset(data, 0, pl_modbus_bit_bytes(q->count));
        for (i = 0; i < q->count; i++)
            data[i / 8] = (uint8_t)(data[i / 8] | (bits[q->addr + i] << (i % 8)));
        r->data = data;
        r->data_len = pl_modbus_bit_bytes(q->count);
        return;
    case PL_MODBUS_FC_READ_INPUT:
        regs = m->ir;
        /* fall through */
    case PL_MODBUS_FC_READ_HOLDING:
        if (!in_range(q->addr, q->count, MAP_REGS))
            break;
        put_regs(data, regs + q->addr, q->count);
        r->data = data;
        r->data_len = 2u * q->count;
        return;
    case PL_MODBUS_FC_WRITE_COIL:
    case PL_MODBUS_FC_WRITE_REGISTER:
        if (!in_range(q->addr, 1, q->function == PL_MODBUS_FC_WRITE_COIL ? MAP_BITS : MAP_REGS))
            break;
        if (q->function == PL_MODBUS_FC_WRITE_COIL)
            m->co[q->addr] = q->value == PL_MODBUS_COIL_ON;
        else
            m->hr[q->addr] = q->value;
        r->addr = q->addr;
        r->value = q->value;
        return;
    case PL_MODBUS_FC_WRITE_COILS:
        if (!in_range(q->addr, q->count, MAP_BITS))
            break;
        for (i = 0; i < q->count; i++)
            m->co[q->addr + i] = (uint8_t)pl_modbus_bit(q->data, q->data_len, i);
        r->addr = q->addr;
        r->count = q->count;
        return;
    case PL_MODBUS_FC_WRITE_REGISTERS:
        if (!in_range(q->addr, q->count, MAP_REGS))
            break;
        for (i = 0; i < q->count; i++)
            m->hr[q->addr + i] = pl_modbus_reg(q->data, q->data_len, i);
        r->addr = q->addr;
        r->count = q->count;
        return;
    case PL_MODBUS_FC_MASK_WRITE:
        if (!in_range(q->addr, 1, MAP_REGS))
            break;
        /* spec 6.16: (current AND and_mask) OR (or_mask AND NOT and_mask) */
        m->hr[q->addr] =
            (uint16_t)((m->hr[q->addr] & q->and_mask) | (q->or_mask & (uint16_t)~q->and_mask));
        r->addr = q->addr;
        r->and_mask = q->and_mask;
        r->or_mask = q->or_mask;
        return;
    case PL_MODBUS_FC_READ_WRITE:
        if (!in_range(q->addr, q->count, MAP_REGS) || !in_range(q->waddr, q->wcount, MAP_REGS))
            break;
        for (i = 0; i < q->wcount; i++) /* spec 6.17: the write is performed first */
            m->hr[q->waddr + i] = pl_modbus_reg(q->data, q->data_len, i);
        put_regs(data, m->hr + q->addr, q->count);
        r->data = data;
        r->data_len = 2u * q->count;
        return;
    default:
        r->exception = PL_MODBUS_EX_ILLEGAL_FUNCTION;
        return;
    }
    r->exception = PL_MODBUS_EX_ILLEGAL_DATA_ADDRESS;
}

static void *responder_main(void *arg)
{
    responder_t *m = arg;
    uint8_t rx[PL_MODBUS_MAX_ADU];
    uint8_t tx[PL_MODBUS_MAX_ADU];
    uint8_t data[256];
    pl_modbus_adu_t adu;
    pl_modbus_req_t q;
    pl_modbus_rsp_t r;
    struct timeval tv = {DEADLINE_S, 0};
    int fd;
    int n;
    int rc;

    fd = accept(m->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    while ((n = recv_adu(fd, rx, sizeof(rx))) > 0) {
        if (pl_modbus_adu_decode(rx, (size_t)n, &adu, NULL) != 0)
            break;
        m->last_unit = adu.unit;
        rc = pl_modbus_req_decode(adu.pdu, adu.pdu_len, &q, NULL);
        if (rc != 0) {
            m->bad++;
            memset(&r, 0, sizeof(r));
            r.function = q.function;
            r.exception = pl_modbus_req_exception(rc);
        } else {
            answer(m, &q, &r, data);
        }
        n = pl_modbus_rsp_encode(tx, sizeof(tx), adu.tid, adu.unit, &r);
        if (n < 0 || send_all(fd, tx, (size_t)n) != 0)
            break;
        m->served++;
    }
    close(fd);
    return NULL;
}

static void test_libmodbus_client(void **state)
{
    static responder_t m;
    pthread_t th;
    uint16_t port;
    modbus_t *ctx;
    uint8_t bits[MAP_BITS];
    uint16_t regs[MAP_REGS];
    uint16_t wr[MAP_REGS];
    uint8_t raw[8];
    pl_modbus_order_t get_as[4];
    pl_modbus_order_t set_as[4];
    unsigned seen = 0;
    int i;
    int k;

    (void)state;
    memset(&m, 0, sizeof(m));
    for (i = 0; i < MAP_BITS; i++) {
        m.co[i] = (uint8_t)(i % 4 == 2);
        m.di[i] = (uint8_t)(i % 7 == 0);
    }
    for (i = 0; i < MAP_REGS; i++) {
        m.hr[i] = (uint16_t)(i * 11 + 5);
        m.ir[i] = (uint16_t)(0x8000 | i);
    }
    /* a float in each order, stored by plcline at hr100.. in the layout libmodbus's getter
     * number k reads */
    for (k = 0; k < 4; k++) {
        uint32_t w;
        float f = TEST_FLOAT;

        get_as[k] = lm_layout(k, 1);
        set_as[k] = lm_layout(k, 0);
        memcpy(&w, &f, sizeof(w));
        pl_modbus_put32(raw, w, get_as[k]);
        m.hr[FLOAT_AT + 2 * k] = (uint16_t)((raw[0] << 8) | raw[1]);
        m.hr[FLOAT_AT + 2 * k + 1] = (uint16_t)((raw[2] << 8) | raw[3]);
        seen |= 1u << get_as[k];
    }
    assert_int_equal(seen, 0xF);
    m.listen_fd = listen_any(&port);
    assert_int_equal(pthread_create(&th, NULL, responder_main, &m), 0);

    ctx = modbus_new_tcp("127.0.0.1", port);
    assert_non_null(ctx);
    assert_int_equal(modbus_set_slave(ctx, UNIT), 0);
    assert_int_equal(modbus_set_response_timeout(ctx, DEADLINE_S, 0), 0);
    assert_int_equal(modbus_connect(ctx), 0);

    /* FC 1, 2 */
    assert_int_equal(modbus_read_bits(ctx, 1, 37, bits), 37);
    for (i = 0; i < 37; i++)
        assert_int_equal(bits[i], (1 + i) % 4 == 2);
    assert_int_equal(modbus_read_input_bits(ctx, 0, MAP_BITS, bits), MAP_BITS);
    for (i = 0; i < MAP_BITS; i++)
        assert_int_equal(bits[i], i % 7 == 0);
    /* FC 3, 4 */
    assert_int_equal(modbus_read_registers(ctx, 0, 125, regs), 125);
    for (i = 0; i < 100; i++)
        assert_int_equal(regs[i], i * 11 + 5);
    assert_int_equal(modbus_read_input_registers(ctx, 190, 10, regs), 10);
    for (i = 0; i < 10; i++)
        assert_int_equal(regs[i], 0x8000 | (190 + i));
    assert_int_equal(m.last_unit, UNIT);
    /* floats stored by plcline, read by libmodbus in the matching order */
    assert_int_equal(modbus_read_registers(ctx, FLOAT_AT, 8, regs), 8);
    for (k = 0; k < 4; k++)
        assert_true(lm_get[k](regs + 2 * k) == TEST_FLOAT);
    /* FC 5, 6 */
    assert_int_equal(modbus_write_bit(ctx, 3, 1), 1);
    assert_int_equal(m.co[3], 1);
    assert_int_equal(modbus_write_bit(ctx, 2, 0), 1);
    assert_int_equal(m.co[2], 0);
    assert_int_equal(modbus_write_register(ctx, 9, 0xCAFE), 1);
    assert_int_equal(m.hr[9], 0xCAFE);
    /* FC 15, 16 */
    for (i = 0; i < MAP_BITS; i++)
        bits[i] = (uint8_t)(i % 3 == 1);
    assert_int_equal(modbus_write_bits(ctx, 0, MAP_BITS, bits), MAP_BITS);
    for (i = 0; i < MAP_BITS; i++)
        assert_int_equal(m.co[i], i % 3 == 1);
    for (i = 0; i < 123; i++)
        wr[i] = (uint16_t)(0xA000 + i);
    assert_int_equal(modbus_write_registers(ctx, 20, 123, wr), 123);
    for (i = 0; i < 123; i++)
        assert_int_equal(m.hr[20 + i], 0xA000 + i);
    /* floats written by libmodbus in each order, decoded by plcline */
    for (k = 0; k < 4; k++)
        lm_set[k](TEST_FLOAT, wr + 2 * k);
    assert_int_equal(modbus_write_registers(ctx, FLOAT_AT, 8, wr), 8);
    for (k = 0; k < 4; k++) {
        uint32_t w;
        float f;
        int at = FLOAT_AT + 2 * k;
        pl_modbus_order_t o = set_as[k];

        raw[0] = (uint8_t)(m.hr[at] >> 8);
        raw[1] = (uint8_t)m.hr[at];
        raw[2] = (uint8_t)(m.hr[at + 1] >> 8);
        raw[3] = (uint8_t)m.hr[at + 1];
        w = pl_modbus_get32(raw, o);
        memcpy(&f, &w, sizeof(f));
        if (f != TEST_FLOAT)
            fail_msg("order %s: %g", pl_modbus_order_name(o), (double)f);
    }
    /* FC 22 (spec 6.16) */
    m.hr[4] = 0x0012;
    assert_int_equal(modbus_mask_write_register(ctx, 4, 0x00F2, 0x0025), 1);
    assert_int_equal(m.hr[4], 0x0017);
    /* FC 23 */
    wr[0] = 1;
    wr[1] = 2;
    assert_int_equal(modbus_write_and_read_registers(ctx, 30, 2, wr, 29, 4, regs), 4);
    assert_int_equal(regs[1], 1);
    assert_int_equal(regs[2], 2);
    assert_int_equal(m.hr[31], 2);
    /* exceptions become libmodbus's EMBX* errors */
    errno = 0;
    assert_int_equal(modbus_read_registers(ctx, MAP_REGS - 1, 2, regs), -1);
    assert_int_equal(errno, EMBXILADD);
    errno = 0;
    assert_int_equal(modbus_write_bit(ctx, MAP_BITS, 1), -1);
    assert_int_equal(errno, EMBXILADD);

    modbus_close(ctx);
    modbus_free(ctx);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(m.served, 15);
    assert_int_equal(m.bad, 0);
    close(m.listen_fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_libmodbus_server),
        cmocka_unit_test(test_libmodbus_client),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
