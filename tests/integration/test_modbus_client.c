/* SPDX-License-Identifier: MIT */
/*
 * plcline's Modbus client against libmodbus's server, an independent implementation, over
 * loopback: every function code, exceptions, 32-bit values in the four byte orders, unit
 * ids 0 and 255, requests split over max_regs, and a unit that never answers while another
 * on the same connection does (with inflight 4 and with inflight 1).
 *
 * libmodbus serves in a thread (modbus_receive / modbus_reply on a mapping) on a socket the
 * test listens on at 127.0.0.1 port 0 and reads back; the thread ignores requests for the
 * "dead" unit. The client runs on a libuv loop in the test's thread; every wait has a
 * deadline (fault_run_until, the sockets' receive timeouts). The mapping is checked only
 * after the server thread has been joined.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <modbus/modbus.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "faults.h"
#include "plcline/error.h"
#include "plcline/modbus_client.h"
#include "proto/modbus/codec/modbus.h"
#include "proto/modbus/codec/modbus_addr.h"

#define DEADLINE_S 10 /* any single socket wait of the server */
#define WAIT_MS    10000u
#define MAP_N      400
#define DEAD_UNIT  9
#define FLOAT_AT   100 /* hr100..107: 123.456f in ABCD, CDAB, BADC, DCBA */

/* ---------------------------------------------------------------- libmodbus serves */

typedef struct {
    int listen_fd;
    uint16_t port;
    modbus_mapping_t *map;
    int served, ignored;
    pthread_t th;
} server_t;

static void *server_main(void *arg)
{
    server_t *s = arg;
    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    struct timeval tv = {DEADLINE_S, 0};
    modbus_t *ctx;
    int fd, n;

    fd = accept(s->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
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
        if (n == 0)
            continue;
        if (query[6] == DEAD_UNIT) { /* MBAP byte 6: the unit id */
            s->ignored++;
            continue;
        }
        if (modbus_reply(ctx, query, n, s->map) == -1)
            break;
        s->served++;
    }
    modbus_close(ctx);
    modbus_free(ctx);
    return NULL;
}

static void server_start(server_t *s)
{
    struct sockaddr_in sa;
    struct timeval tv = {DEADLINE_S, 0};
    socklen_t len = sizeof(sa);
    int i;

    memset(s, 0, sizeof(*s));
    s->map = modbus_mapping_new(MAP_N, MAP_N, MAP_N, MAP_N);
    assert_non_null(s->map);
    for (i = 0; i < MAP_N; i++) {
        s->map->tab_bits[i] = (uint8_t)(i % 3 == 0);
        s->map->tab_input_bits[i] = (uint8_t)(i % 2);
        s->map->tab_registers[i] = (uint16_t)(i * 3);
        s->map->tab_input_registers[i] = (uint16_t)(1000 + i);
    }
    /* 123.456f is 0x42F6E979: bytes A=42 B=F6 C=E9 D=79 */
    s->map->tab_registers[FLOAT_AT + 0] = 0x42F6; /* ABCD */
    s->map->tab_registers[FLOAT_AT + 1] = 0xE979;
    s->map->tab_registers[FLOAT_AT + 2] = 0xE979; /* CDAB */
    s->map->tab_registers[FLOAT_AT + 3] = 0x42F6;
    s->map->tab_registers[FLOAT_AT + 4] = 0xF642; /* BADC */
    s->map->tab_registers[FLOAT_AT + 5] = 0x79E9;
    s->map->tab_registers[FLOAT_AT + 6] = 0x79E9; /* DCBA */
    s->map->tab_registers[FLOAT_AT + 7] = 0xF642;

    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->listen_fd >= 0);
    assert_int_equal(setsockopt(s->listen_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(s->listen_fd, 1), 0);
    assert_int_equal(getsockname(s->listen_fd, (struct sockaddr *)&sa, &len), 0);
    s->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&s->th, NULL, server_main, s), 0);
}

/* Joins the server thread (the client is closed by then) and frees the listener. The
 * mapping stays for checks; server_free releases it. */
static void server_join(server_t *s)
{
    assert_int_equal(pthread_join(s->th, NULL), 0);
    close(s->listen_fd);
}

static void server_free(server_t *s)
{
    modbus_mapping_free(s->map);
}

/* ---------------------------------------------------------------- the client */

static uv_loop_t loop;
static pl_modbus_client_t *cli;
static int order_next; /* completion order */

typedef struct {
    pl_modbus_request_t req;
    int done, order;
} op_t;

static void on_done(pl_modbus_request_t *req)
{
    op_t *op = req->data;

    op->done = 1;
    op->order = ++order_next;
}

static void client_open(uint16_t port, unsigned inflight, unsigned timeout_ms, unsigned max_regs)
{
    pl_modbus_client_config_t cfg;
    pl_status_t st;

    assert_int_equal(uv_loop_init(&loop), 0);
    pl_modbus_client_config_init(&cfg);
    assert_int_equal(pl_hostlist_parse(&cfg.line.hosts, "127.0.0.1", 9, &st), 0);
    cfg.line.port = port;
    cfg.inflight = inflight;
    cfg.timeout_ms = timeout_ms;
    if (max_regs != 0)
        cfg.max_regs = max_regs;
    assert_int_equal(pl_modbus_client_new(&loop, &cfg, &cli), 0);
    order_next = 0;
}

static void client_close(void)
{
    pl_modbus_client_free(cli);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void op_init(op_t *op)
{
    memset(op, 0, sizeof(*op));
    op->req.data = op;
}

/* Waits for `op`; returns its status code. */
static int wait_op(op_t *op)
{
    assert_int_equal(fault_run_until(&loop, &op->done, WAIT_MS), 0);
    return op->req.status.code;
}

static int do_read(uint8_t unit, uint8_t fc, uint16_t addr, uint32_t count, uint8_t *out)
{
    op_t op;

    op_init(&op);
    assert_int_equal(pl_modbus_read(cli, &op.req, unit, fc, addr, count, out, on_done), 0);
    return wait_op(&op);
}

static int do_write(uint8_t fc, uint16_t addr, uint32_t count, const uint8_t *data)
{
    op_t op;

    op_init(&op);
    assert_int_equal(pl_modbus_write(cli, &op.req, 1, fc, addr, count, data, on_done), 0);
    return wait_op(&op);
}

/* ---------------------------------------------------------------- tests */

static void test_every_function_code(void **state)
{
    server_t s;
    uint8_t buf[512], w[32];
    uint8_t devid[256];
    op_t op;
    int i;

    (void)state;
    server_start(&s);
    client_open(s.port, 1, 2000, 0);

    /* FC 1, 2: bits packed LSB first */
    assert_int_equal(do_read(1, PL_MODBUS_FC_READ_COILS, 0, 20, buf), 0);
    for (i = 0; i < 20; i++)
        assert_int_equal(pl_modbus_bit(buf, 3, (size_t)i), i % 3 == 0);
    assert_int_equal(do_read(1, PL_MODBUS_FC_READ_DISCRETE, 5, 11, buf), 0);
    for (i = 0; i < 11; i++)
        assert_int_equal(pl_modbus_bit(buf, 2, (size_t)i), (5 + i) % 2);
    /* FC 3, 4: registers big-endian */
    assert_int_equal(do_read(1, PL_MODBUS_FC_READ_HOLDING, 10, 5, buf), 0);
    for (i = 0; i < 5; i++)
        assert_int_equal(pl_modbus_reg(buf, 10, (size_t)i), (10 + i) * 3);
    assert_int_equal(do_read(1, PL_MODBUS_FC_READ_INPUT, 0, 125, buf), 0);
    for (i = 0; i < 125; i++)
        assert_int_equal(pl_modbus_reg(buf, 250, (size_t)i), 1000 + i);

    /* FC 5, 6 */
    w[0] = 1;
    assert_int_equal(do_write(PL_MODBUS_FC_WRITE_COIL, 7, 1, w), 0);
    w[0] = 0x12;
    w[1] = 0x34;
    assert_int_equal(do_write(PL_MODBUS_FC_WRITE_REGISTER, 50, 1, w), 0);
    /* FC 15: 10 coils 1010110011 (LSB first) */
    w[0] = 0x35;
    w[1] = 0x03;
    assert_int_equal(do_write(PL_MODBUS_FC_WRITE_COILS, 200, 10, w), 0);
    /* FC 16 */
    for (i = 0; i < 4; i++) {
        w[2 * i] = (uint8_t)(0xA0 + i);
        w[2 * i + 1] = (uint8_t)i;
    }
    assert_int_equal(do_write(PL_MODBUS_FC_WRITE_REGISTERS, 60, 4, w), 0);
    /* FC 22 on hr50 (0x1234): clear the low byte, set 0x0056 */
    op_init(&op);
    assert_int_equal(pl_modbus_mask_write(cli, &op.req, 1, 50, 0xFF00, 0x0056, on_done), 0);
    assert_int_equal(wait_op(&op), 0);
    /* FC 23: write hr70..71, read hr70..72 in one request */
    w[0] = 0x11;
    w[1] = 0x22;
    w[2] = 0x33;
    w[3] = 0x44;
    op_init(&op);
    assert_int_equal(pl_modbus_read_write(cli, &op.req, 1, 70, 3, buf, 70, 2, w, on_done), 0);
    assert_int_equal(wait_op(&op), 0);
    assert_int_equal(pl_modbus_reg(buf, 6, 0), 0x1122);
    assert_int_equal(pl_modbus_reg(buf, 6, 1), 0x3344);
    assert_int_equal(pl_modbus_reg(buf, 6, 2), 72 * 3);
    /* FC 43/14: libmodbus does not serve it and answers exception 01 */
    op_init(&op);
    assert_int_equal(pl_modbus_device_id(cli, &op.req, 1, PL_MODBUS_DEVID_BASIC, 0, devid,
                                         sizeof(devid), on_done),
                     0);
    assert_int_equal(wait_op(&op), PL_EMODBUS_X_ILLEGAL_FUNCTION);
    /* the connection stays and serves on */
    assert_int_equal(do_read(1, PL_MODBUS_FC_READ_HOLDING, 50, 1, buf), 0);
    assert_int_equal(pl_modbus_reg(buf, 2, 0), 0x1256);
    assert_int_equal(pl_line_stats(pl_modbus_client_line(cli))->connects, 1);
    assert_int_equal(pl_modbus_client_stats(cli)->exceptions, 1);

    client_close();
    server_join(&s);
    assert_int_equal(s.map->tab_bits[7], 1);
    assert_int_equal(s.map->tab_registers[50], 0x1256);
    for (i = 0; i < 10; i++)
        assert_int_equal(s.map->tab_bits[200 + i], (0x335 >> i) & 1);
    for (i = 0; i < 4; i++)
        assert_int_equal(s.map->tab_registers[60 + i], ((0xA0 + i) << 8) | i);
    assert_int_equal(s.map->tab_registers[71], 0x3344);
    server_free(&s);
}

static void test_exceptions(void **state)
{
    server_t s;
    uint8_t buf[512], w[4] = {0, 1, 0, 2};

    (void)state;
    server_start(&s);
    client_open(s.port, 1, 2000, 0);
    assert_int_equal(do_read(1, PL_MODBUS_FC_READ_HOLDING, MAP_N - 5, 10, buf),
                     PL_EMODBUS_X_ILLEGAL_DATA_ADDRESS);
    assert_int_equal(do_read(1, PL_MODBUS_FC_READ_COILS, MAP_N, 1, buf),
                     PL_EMODBUS_X_ILLEGAL_DATA_ADDRESS);
    assert_int_equal(do_write(PL_MODBUS_FC_WRITE_REGISTERS, MAP_N - 1, 2, w),
                     PL_EMODBUS_X_ILLEGAL_DATA_ADDRESS);
    /* exceptions are remote errors: the connection goes on */
    assert_int_equal(do_read(1, PL_MODBUS_FC_READ_HOLDING, 0, 1, buf), 0);
    assert_int_equal(pl_line_stats(pl_modbus_client_line(cli))->connects, 1);
    assert_int_equal(pl_modbus_client_stats(cli)->exceptions, 3);
    client_close();
    server_join(&s);
    server_free(&s);
}

/* 32-bit values in the four orders, laid out by the test by hand (libmodbus's own float
 * setters differ between versions), decoded by plcline and by libmodbus's getters. */
static void test_byte_orders(void **state)
{
    server_t s;
    uint8_t buf[16];
    pl_modbus_addr_t a;
    pl_modbus_value_t v;
    pl_modbus_order_t o;
    uint16_t regs[8];
    int i;

    (void)state;
    server_start(&s);
    client_open(s.port, 1, 2000, 0);
    assert_int_equal(do_read(1, PL_MODBUS_FC_READ_HOLDING, FLOAT_AT, 8, buf), 0);
    assert_int_equal(pl_modbus_addr_parse(&a, "hr100:f32", 0, NULL), 0);
    for (o = PL_MODBUS_ABCD; o <= PL_MODBUS_DCBA; o++) {
        assert_int_equal(pl_modbus_value_get(&a, buf + 4 * o, 4, 0, o, &v), 0);
        assert_true(v.v.f32 == 123.456f);
    }
    for (i = 0; i < 8; i++)
        regs[i] = pl_modbus_reg(buf, sizeof(buf), (size_t)i);
    assert_true(modbus_get_float_abcd(regs + 0) == 123.456f);
    assert_true(modbus_get_float_cdab(regs + 2) == 123.456f);
    assert_true(modbus_get_float_badc(regs + 4) == 123.456f);
    assert_true(modbus_get_float_dcba(regs + 6) == 123.456f);
    client_close();
    server_join(&s);
    server_free(&s);
}

/* Unit ids 0 and 255 (gateways use them) go out and come back as they are. */
static void test_unit_ids(void **state)
{
    server_t s;
    uint8_t buf[4];

    (void)state;
    server_start(&s);
    client_open(s.port, 1, 2000, 0);
    assert_int_equal(do_read(0, PL_MODBUS_FC_READ_HOLDING, 1, 1, buf), 0);
    assert_int_equal(pl_modbus_reg(buf, 2, 0), 3);
    assert_int_equal(do_read(255, PL_MODBUS_FC_READ_HOLDING, 2, 1, buf), 0);
    assert_int_equal(pl_modbus_reg(buf, 2, 0), 6);
    client_close();
    server_join(&s);
    server_free(&s);
}

/* 300 registers with max_regs 125: three requests, one after another. */
static void test_split_read(void **state)
{
    server_t s;
    uint8_t buf[600];
    int i;

    (void)state;
    server_start(&s);
    client_open(s.port, 1, 2000, 125);
    assert_int_equal(do_read(1, PL_MODBUS_FC_READ_INPUT, 50, 300, buf), 0);
    for (i = 0; i < 300; i++)
        assert_int_equal(pl_modbus_reg(buf, sizeof(buf), (size_t)i), 1050 + i);
    assert_int_equal(pl_modbus_client_stats(cli)->requests, 3);
    client_close();
    server_join(&s);
    server_free(&s);
}

/* A unit that never answers, another that does, one connection. With inflight 4 the live
 * unit's requests complete while the dead one's is still waiting; with inflight 1 they wait
 * for its timeout, and then go on. Neither case reconnects. */
static void dead_unit_case(unsigned inflight)
{
    server_t s;
    uint8_t dead_buf[2], buf[3][2];
    op_t dead, live[3];
    int i;

    server_start(&s);
    client_open(s.port, inflight, 300, 0);
    op_init(&dead);
    assert_int_equal(pl_modbus_read(cli, &dead.req, DEAD_UNIT, PL_MODBUS_FC_READ_HOLDING, 0, 1,
                                    dead_buf, on_done),
                     0);
    for (i = 0; i < 3; i++) {
        op_init(&live[i]);
        assert_int_equal(pl_modbus_read(cli, &live[i].req, 1, PL_MODBUS_FC_READ_HOLDING,
                                        (uint16_t)(i + 1), 1, buf[i], on_done),
                         0);
    }
    assert_int_equal(wait_op(&dead), PL_ETIMEOUT);
    for (i = 0; i < 3; i++) {
        assert_int_equal(wait_op(&live[i]), 0);
        assert_int_equal(pl_modbus_reg(buf[i], 2, 0), (i + 1) * 3);
        if (inflight > 1)
            assert_true(live[i].order < dead.order);
        else
            assert_true(live[i].order > dead.order);
    }
    assert_int_equal(pl_line_stats(pl_modbus_client_line(cli))->connects, 1);
    assert_int_equal(pl_modbus_client_stats(cli)->timeouts, 1);
    client_close();
    server_join(&s);
    assert_int_equal(s.ignored, 1);
    server_free(&s);
}

static void test_dead_unit_inflight(void **state)
{
    (void)state;
    dead_unit_case(4);
}

static void test_dead_unit_sync(void **state)
{
    (void)state;
    dead_unit_case(1);
}

/* The URL: defaults, every key, and what is refused. */
static void test_config_url(void **state)
{
    pl_modbus_client_config_t cfg;
    pl_status_t st;
    char local[64];

    (void)state;
    pl_modbus_client_config_init(&cfg);
    assert_int_equal(
        pl_modbus_client_config_url(&cfg, "modbus://10.0.0.7", local, sizeof(local), &st), 0);
    assert_int_equal(cfg.unit, 1);
    assert_int_equal(cfg.line.port, 502);
    assert_int_equal(cfg.inflight, 1);
    assert_int_equal(cfg.max_regs, 125);
    assert_int_equal(cfg.max_bits, 2000);
    assert_int_equal(cfg.byte_order, 0);
    assert_int_equal(cfg.line.redundancy, PL_REDUNDANCY_ALTERNATE);
    pl_modbus_client_config_init(&cfg);
    assert_int_equal(
        pl_modbus_client_config_url(&cfg,
                                    "modbus://a,b:1502/255?timeout=250&byte_order=dcba&max_regs=60&"
                                    "max_bits=800&inflight=8&queue=9&zero_based=1&backup=c&"
                                    "redundancy=parallel",
                                    local, sizeof(local), &st),
        0);
    assert_int_equal(cfg.unit, 255);
    assert_int_equal(cfg.line.hosts.count, 2);
    assert_int_equal(cfg.timeout_ms, 250);
    assert_int_equal(cfg.byte_order, PL_MODBUS_DCBA);
    assert_int_equal(cfg.max_regs, 60);
    assert_int_equal(cfg.max_bits, 800);
    assert_int_equal(cfg.inflight, 8);
    assert_int_equal(cfg.max_queue, 9);
    assert_int_equal(cfg.zero_based, 1);
    assert_int_equal(cfg.line.use_backup, 1);
    assert_int_equal(cfg.line.redundancy, PL_REDUNDANCY_PARALLEL);
    assert_int_equal(pl_modbus_client_config_url(&cfg, "modbus://h/0", local, sizeof(local), &st),
                     0);
    assert_int_equal(cfg.unit, 0);
    assert_int_equal(pl_modbus_client_config_url(&cfg, "modbus://h/256", local, sizeof(local), &st),
                     PL_EURL);
    assert_int_equal(pl_modbus_client_config_url(&cfg, "modbus://h/x", local, sizeof(local), &st),
                     PL_EURL);
    assert_int_equal(
        pl_modbus_client_config_url(&cfg, "modbus://h?max_regs=126", local, sizeof(local), &st),
        PL_EURL);
    assert_int_equal(
        pl_modbus_client_config_url(&cfg, "modbus://h?inflight=65", local, sizeof(local), &st),
        PL_EURL);
    assert_int_equal(
        pl_modbus_client_config_url(&cfg, "modbus://h?byte_order=ABDC", local, sizeof(local), &st),
        PL_EURL);
    assert_int_equal(
        pl_modbus_client_config_url(&cfg, "modbus://h?swap=1", local, sizeof(local), &st), PL_EURL);
    assert_int_equal(pl_modbus_client_config_url(&cfg, "7ttcp://h", local, sizeof(local), &st),
                     PL_EURL);
}

/* Alternate redundancy (the default): the primary refuses, the request goes to the backup
 * on the same connection attempt cycle and succeeds. */
static void test_redundancy_alternate(void **state)
{
    pl_modbus_client_config_t cfg;
    server_t s;
    uint16_t dead;
    pl_line_side_t side;
    uint8_t buf[2];
    char url[128], local[64];
    pl_status_t st;

    (void)state;
    server_start(&s);
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(fault_free_port(&loop, &dead), 0);
    snprintf(url, sizeof(url), "modbus://127.0.0.1:%u?backup=127.0.0.1:%u&timeout=2000",
             (unsigned)dead, (unsigned)s.port);
    pl_modbus_client_config_init(&cfg);
    assert_int_equal(pl_modbus_client_config_url(&cfg, url, local, sizeof(local), &st), 0);
    cfg.line.backoff_min_ms = 5;
    cfg.line.backoff_max_ms = 20;
    assert_int_equal(pl_modbus_client_new(&loop, &cfg, &cli), 0);
    assert_int_equal(do_read(1, PL_MODBUS_FC_READ_HOLDING, 4, 1, buf), 0);
    assert_int_equal(pl_modbus_reg(buf, 2, 0), 12);
    assert_true(pl_line_active(pl_modbus_client_line(cli), &side, NULL) >= 0);
    assert_int_equal(side, PL_LINE_BACKUP);
    client_close();
    server_join(&s);
    server_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_function_code),  cmocka_unit_test(test_exceptions),
        cmocka_unit_test(test_byte_orders),          cmocka_unit_test(test_unit_ids),
        cmocka_unit_test(test_split_read),           cmocka_unit_test(test_dead_unit_inflight),
        cmocka_unit_test(test_dead_unit_sync),       cmocka_unit_test(test_config_url),
        cmocka_unit_test(test_redundancy_alternate),
    };

    fault_watchdog(100, "test_modbus_client");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
