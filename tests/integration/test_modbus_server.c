/* SPDX-License-Identifier: MIT */
/*
 * plcline's Modbus server against independent clients over loopback.
 *
 * The server runs on its own loop in a thread (started on 127.0.0.1 port 0, the port read
 * back before any client connects; stopped through an async handle, after which the loop
 * must close cleanly). Clients block in the test's thread, every socket wait with a
 * deadline (SO_RCVTIMEO / libmodbus's response timeout); nothing sleeps.
 *
 * 1. libmodbus's client: every function code it speaks (1-6, 15, 16, 22, 23) at the limits
 *    of the spec, the exceptions it raises from the answers (illegal data address, a
 *    fault's exception, a gateway's for a unit not served), floats in the four byte orders,
 *    unit identifiers, persistence, animation.
 * 2. Raw sockets: read device identification (libmodbus's client cannot take its answer),
 *    every validation of a request (protocol id, length, function, PDU length, byte counts,
 *    quantities, values), frames split at every byte, pipelined requests answered in order
 *    with units not answered among them, close-after, the frame timeout.
 * 3. mbpoll, a second independent client (a command-line tool), run through popen.
 * 4. Without sockets: the same bytes fed whole, per byte and split at every offset give the
 *    same answers (the server's request handling behind simconn's framing); and every
 *    allocation of a server's life failed in turn (skipped where the injector cannot work:
 *    ASan, valgrind).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <modbus/modbus.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "failalloc.h"
#include "skip.h"
#include "plcline/error.h"
#include "plcline/modbus.h"
#include "proto/modbus/codec/modbus.h"
#include "proto/modbus/codec/modbus_addr.h"
#include "proto/modbus/server.h"
#include "proto/simconn.h"

FAILALLOC_INTERPOSE();

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define DEADLINE_S   10 /* any single socket wait */
#define TEST_FLOAT   123.456f

/* ---------------------------------------------------------------- the server, in a thread */

typedef struct {
    uv_loop_t loop;
    uv_async_t stop;
    pthread_t thread;
    pl_modbus_server_t *srv;
    uint16_t port;
    pl_modbus_server_stats_t stats; /* at stop */
    int free_rc;
    unsigned writes_seen; /* on_write calls (loop thread; read after stop) */
    unsigned last_write_first, last_write_count;
} srv_t;

static void on_write(pl_modbus_server_t *s, uint8_t unit, pl_modbus_table_id_t table,
                     uint16_t first, unsigned count, void *ud)
{
    srv_t *t = ud;

    (void)s;
    (void)unit;
    (void)table;
    t->writes_seen++;
    t->last_write_first = first;
    t->last_write_count = count;
}

static void on_stop(uv_async_t *a)
{
    srv_t *t = a->data;

    t->stats = *pl_modbus_server_stats(t->srv);
    t->free_rc = pl_modbus_server_free(t->srv);
    t->srv = NULL;
    uv_close((uv_handle_t *)a, NULL);
}

static void *srv_main(void *arg)
{
    srv_t *t = arg;

    uv_run(&t->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* Creates the server on a fresh loop (port 0); the caller may preset values, then runs it. */
static void srv_new(srv_t *t, pl_modbus_server_config_t *cfg)
{
    pl_status_t st;

    memset(t, 0, sizeof(*t));
    assert_int_equal(uv_loop_init(&t->loop), 0);
    cfg->listen.port = 0;
    cfg->on_write = on_write;
    cfg->ud = t;
    assert_int_equal(pl_modbus_server_new(&t->loop, cfg, &t->srv, &st), 0);
    t->port = pl_modbus_server_port(t->srv);
    assert_true(t->port != 0);
}

static void srv_run(srv_t *t)
{
    assert_int_equal(uv_async_init(&t->loop, &t->stop, on_stop), 0);
    t->stop.data = t;
    assert_int_equal(pthread_create(&t->thread, NULL, srv_main, t), 0);
}

static void srv_start(srv_t *t, pl_modbus_server_config_t *cfg)
{
    srv_new(t, cfg);
    srv_run(t);
}

static void srv_stop(srv_t *t)
{
    assert_int_equal(uv_async_send(&t->stop), 0);
    assert_int_equal(pthread_join(t->thread, NULL), 0);
    assert_int_equal(uv_loop_close(&t->loop), 0);
}

/* ---------------------------------------------------------------- libmodbus's client */

static modbus_t *lm_connect(const srv_t *t, int unit)
{
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", t->port);

    assert_non_null(ctx);
    assert_int_equal(modbus_set_slave(ctx, unit), 0);
    assert_int_equal(modbus_set_response_timeout(ctx, DEADLINE_S, 0), 0);
    assert_int_equal(modbus_connect(ctx), 0);
    return ctx;
}

static void lm_close(modbus_t *ctx)
{
    modbus_close(ctx);
    modbus_free(ctx);
}

static void test_lm_functions(void **state)
{
    static const uint8_t units[] = {1, 17};
    pl_modbus_server_config_t cfg;
    uint16_t regs[125], back[125], ir[4] = {0x1111, 0x2222, 0x3333, 0x4444};
    uint16_t di[3] = {1, 0, 1};
    uint8_t bits[2000], rbits[2000];
    modbus_t *ctx, *c17;
    srv_t t;
    int i;

    (void)state;
    pl_modbus_server_config_init(&cfg);
    cfg.units = units;
    cfg.n_units = ARRAY_LEN(units);
    srv_new(&t, &cfg);
    assert_int_equal(pl_modbus_server_set(t.srv, 1, PL_MODBUS_TABLE_INPUT, 65532, ir, 4), 0);
    assert_int_equal(pl_modbus_server_set(t.srv, 1, PL_MODBUS_TABLE_DISCRETE, 7, di, 3), 0);
    srv_run(&t);
    ctx = lm_connect(&t, 1);

    /* FC 5 and 1 */
    assert_int_equal(modbus_write_bit(ctx, 10, 1), 1);
    assert_int_equal(modbus_read_bits(ctx, 8, 4, rbits), 4);
    assert_int_equal(rbits[0] | rbits[1] | rbits[3], 0);
    assert_int_equal(rbits[2], 1);
    /* FC 15 at its limit, 1 at its limit, to the last coil */
    for (i = 0; i < 1968; i++)
        bits[i] = (uint8_t)((i * 7) % 3 == 0);
    assert_int_equal(modbus_write_bits(ctx, 65536 - 1968, 1968, bits), 1968);
    assert_int_equal(modbus_read_bits(ctx, 65536 - 2000, 2000, rbits), 2000);
    for (i = 0; i < 1968; i++)
        assert_int_equal(rbits[32 + i], bits[i]);
    /* FC 2 */
    assert_int_equal(modbus_read_input_bits(ctx, 6, 5, rbits), 5);
    assert_int_equal(rbits[0], 0);
    assert_int_equal(rbits[1], 1);
    assert_int_equal(rbits[2], 0);
    assert_int_equal(rbits[3], 1);
    assert_int_equal(rbits[4], 0);
    /* FC 6, 16 at its limit, 3 at its limit */
    assert_int_equal(modbus_write_register(ctx, 5, 0xBEEF), 1);
    for (i = 0; i < 123; i++)
        regs[i] = (uint16_t)(0x1000 + i);
    assert_int_equal(modbus_write_registers(ctx, 65536 - 123, 123, regs), 123);
    assert_int_equal(modbus_read_registers(ctx, 65536 - 125, 125, back), 125);
    for (i = 0; i < 123; i++)
        assert_int_equal(back[2 + i], 0x1000 + i);
    assert_int_equal(modbus_read_registers(ctx, 5, 1, back), 1);
    assert_int_equal(back[0], 0xBEEF);
    /* FC 22: (0xBEEF AND 0xF0F2) OR (0x0025 AND NOT 0xF0F2) = 0xB0E2 | 0x0005 */
    assert_int_equal(modbus_mask_write_register(ctx, 5, 0xF0F2, 0x0025), 1);
    assert_int_equal(modbus_read_registers(ctx, 5, 1, back), 1);
    assert_int_equal(back[0], (0xBEEF & 0xF0F2) | (0x0025 & ~0xF0F2 & 0xFFFF));
    /* FC 23: the write comes first, so reading over it returns the new values */
    regs[0] = 0xA1;
    regs[1] = 0xA2;
    assert_int_equal(modbus_write_and_read_registers(ctx, 200, 2, regs, 199, 4, back), 4);
    assert_int_equal(back[0], 0);
    assert_int_equal(back[1], 0xA1);
    assert_int_equal(back[2], 0xA2);
    assert_int_equal(back[3], 0);
    /* FC 4 to the last register */
    assert_int_equal(modbus_read_input_registers(ctx, 65532, 4, back), 4);
    assert_memory_equal(back, ir, sizeof(ir));

    /* unit 17 has tables of its own */
    c17 = lm_connect(&t, 17);
    assert_int_equal(modbus_read_registers(c17, 5, 1, back), 1);
    assert_int_equal(back[0], 0);
    assert_int_equal(modbus_write_register(c17, 5, 17), 1);
    assert_int_equal(modbus_read_registers(ctx, 5, 1, back), 1);
    assert_int_equal(back[0], (0xBEEF & 0xF0F2) | (0x0025 & ~0xF0F2 & 0xFFFF));
    lm_close(c17);
    lm_close(ctx);
    srv_stop(&t);
    assert_int_equal(t.free_rc, 0);
    assert_int_equal(t.stats.exceptions, 0);
    assert_int_equal(t.stats.writes, 7);
    assert_int_equal(t.writes_seen, 7);
    assert_int_equal(t.last_write_first, 5); /* unit 17's FC 6 */
    assert_int_equal(t.last_write_count, 1);
}

static void test_lm_exceptions(void **state)
{
    static const pl_modbus_fault_t faults[] = {
        {1, PL_MODBUS_TABLE_HOLDING, 100, 199, PL_MODBUS_EX_SERVER_DEVICE_FAILURE},
        {PL_MODBUS_SERVER_ANY_UNIT, PL_MODBUS_TABLE_COILS, 50, 50, PL_MODBUS_EX_SERVER_DEVICE_BUSY},
    };
    pl_modbus_server_config_t cfg;
    uint16_t back[125] = {0};
    uint8_t bits[16];
    modbus_t *ctx, *c9;
    srv_t t;

    (void)state;
    pl_modbus_server_config_init(&cfg);
    cfg.faults = faults;
    cfg.n_faults = ARRAY_LEN(faults);
    cfg.unserved_exception = PL_MODBUS_EX_GATEWAY_TARGET;
    srv_start(&t, &cfg);
    ctx = lm_connect(&t, 1);
    /* past the end of a table: 02 */
    assert_int_equal(modbus_read_registers(ctx, 65500, 100, back), -1);
    assert_int_equal(errno, EMBXILADD);
    assert_int_equal(modbus_read_bits(ctx, 65535, 2, bits), -1);
    assert_int_equal(errno, EMBXILADD);
    assert_int_equal(modbus_write_registers(ctx, 65535, 2, back), -1);
    assert_int_equal(errno, EMBXILADD);
    assert_int_equal(modbus_read_input_registers(ctx, 65535, 1, back), 1); /* the last one */
    /* a fault's range: touching one element of it is enough */
    assert_int_equal(modbus_read_registers(ctx, 90, 11, back), -1);
    assert_int_equal(errno, EMBXSFAIL);
    assert_int_equal(modbus_write_register(ctx, 199, 1), -1);
    assert_int_equal(errno, EMBXSFAIL);
    assert_int_equal(modbus_read_registers(ctx, 90, 10, back), 10);  /* just before it */
    assert_int_equal(modbus_read_registers(ctx, 200, 10, back), 10); /* just after it */
    assert_int_equal(modbus_write_bit(ctx, 50, 1), -1);
    assert_int_equal(errno, EMBXSBUSY);
    assert_int_equal(modbus_read_registers(ctx, 65500, 100, back), -1); /* 02 before faults */
    assert_int_equal(errno, EMBXILADD);
    /* a unit not served, as a gateway answers it */
    c9 = lm_connect(&t, 9);
    assert_int_equal(modbus_read_registers(c9, 0, 1, back), -1);
    assert_int_equal(errno, EMBXGTAR);
    lm_close(c9);
    lm_close(ctx);
    srv_stop(&t);
    assert_int_equal(t.stats.exceptions, 8);
    assert_int_equal(t.stats.writes, 0);
}

/* Floats and 32-bit integers the server holds in each byte order, read by libmodbus. */
static void test_lm_orders(void **state)
{
    typedef float (*lm_get_fn)(const uint16_t *src);
    static const lm_get_fn get[4] = {modbus_get_float_abcd, modbus_get_float_cdab,
                                     modbus_get_float_badc, modbus_get_float_dcba};
    /* 0x11223344 as sent in ABCD, CDAB, BADC, DCBA (docs/modbus.md) */
    static const uint16_t u32[4][2] = {
        {0x1122, 0x3344}, {0x3344, 0x1122}, {0x2211, 0x4433}, {0x4433, 0x2211}};
    pl_modbus_server_config_t cfg;
    uint8_t wire[4];
    uint16_t regs[2], back[16];
    uint32_t fbits;
    float f = TEST_FLOAT;
    modbus_t *ctx;
    srv_t t;
    int o;

    (void)state;
    pl_modbus_server_config_init(&cfg);
    srv_new(&t, &cfg);
    memcpy(&fbits, &f, sizeof(fbits));
    for (o = 0; o < 4; o++) {
        pl_modbus_put32(wire, fbits, (pl_modbus_order_t)o);
        regs[0] = (uint16_t)(wire[0] << 8 | wire[1]);
        regs[1] = (uint16_t)(wire[2] << 8 | wire[3]);
        assert_int_equal(pl_modbus_server_set(t.srv, 1, PL_MODBUS_TABLE_HOLDING,
                                              (uint16_t)(100 + 2 * o), regs, 2),
                         0);
        pl_modbus_put32(wire, 0x11223344u, (pl_modbus_order_t)o);
        regs[0] = (uint16_t)(wire[0] << 8 | wire[1]);
        regs[1] = (uint16_t)(wire[2] << 8 | wire[3]);
        assert_int_equal(
            pl_modbus_server_set(t.srv, 1, PL_MODBUS_TABLE_INPUT, (uint16_t)(2 * o), regs, 2), 0);
    }
    srv_run(&t);
    ctx = lm_connect(&t, 1);
    assert_int_equal(modbus_read_registers(ctx, 100, 8, back), 8);
    for (o = 0; o < 4; o++)
        assert_true(get[o](back + 2 * o) == TEST_FLOAT);
    assert_int_equal(modbus_read_input_registers(ctx, 0, 8, back), 8);
    for (o = 0; o < 4; o++) {
        assert_int_equal(back[2 * o], u32[o][0]);
        assert_int_equal(back[2 * o + 1], u32[o][1]);
    }
    lm_close(ctx);
    srv_stop(&t);
}

static void test_lm_persist(void **state)
{
    char path[] = "/tmp/plcline-modbus-persist-XXXXXX";
    static const uint8_t units[] = {3, 4};
    pl_modbus_server_config_t cfg;
    uint16_t back[2];
    uint8_t bit;
    modbus_t *ctx;
    srv_t t;
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(unlink(path), 0); /* the first run finds no file */
    pl_modbus_server_config_init(&cfg);
    cfg.units = units;
    cfg.n_units = ARRAY_LEN(units);
    cfg.persist_path = path;
    srv_start(&t, &cfg);
    ctx = lm_connect(&t, 4);
    assert_int_equal(modbus_write_register(ctx, 65535, 0x4242), 1);
    assert_int_equal(modbus_write_bit(ctx, 3, 1), 1);
    lm_close(ctx);
    srv_stop(&t);
    assert_int_equal(t.free_rc, 0);

    srv_start(&t, &cfg);
    ctx = lm_connect(&t, 4);
    assert_int_equal(modbus_read_registers(ctx, 65534, 2, back), 2);
    assert_int_equal(back[0], 0);
    assert_int_equal(back[1], 0x4242);
    assert_int_equal(modbus_read_bits(ctx, 3, 1, &bit), 1);
    assert_int_equal(bit, 1);
    lm_close(ctx);
    ctx = lm_connect(&t, 3);
    assert_int_equal(modbus_read_registers(ctx, 65535, 1, back), 1);
    assert_int_equal(back[0], 0);
    lm_close(ctx);
    srv_stop(&t);
    assert_int_equal(unlink(path), 0);

    /* a file that is not ours is refused */
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "garbage!", 8), 8);
    close(fd);
    {
        uv_loop_t loop;
        pl_modbus_server_t *s = NULL;
        pl_status_t st;

        assert_int_equal(uv_loop_init(&loop), 0);
        cfg.listen.port = 0;
        assert_int_equal(pl_modbus_server_new(&loop, &cfg, &s, &st), PL_EIO);
        assert_null(s);
        assert_int_equal(uv_loop_close(&loop), 0);
    }
    assert_int_equal(unlink(path), 0);
}

/* ir0 counts, ir2..3 (ABCD) and ir4..5 (CDAB) hold the same sine in -100..100. */
static void test_lm_animation(void **state)
{
    static const uint8_t units[] = {1, 2};
    pl_modbus_server_config_t cfg;
    uint16_t first[8], now[8];
    uint8_t w1[4], w2[4];
    modbus_t *ctx;
    srv_t t;
    float a, b;
    int tries, u;

    (void)state;
    pl_modbus_server_config_init(&cfg);
    cfg.units = units;
    cfg.n_units = ARRAY_LEN(units);
    cfg.animate_ms = 5;
    srv_start(&t, &cfg);
    for (u = 1; u <= 2; u++) {
        ctx = lm_connect(&t, u);
        assert_int_equal(modbus_read_input_registers(ctx, 0, 8, first), 8);
        /* bounded by reads, each with its deadline; the counter moves every 5 ms */
        for (tries = 0; tries < 100000; tries++) {
            assert_int_equal(modbus_read_input_registers(ctx, 0, 8, now), 8);
            if (now[0] != first[0])
                break;
        }
        assert_int_not_equal(now[0], first[0]);
        assert_int_equal(now[7], now[0]); /* u32 counter, low word */
        w1[0] = (uint8_t)(now[2] >> 8);
        w1[1] = (uint8_t)now[2];
        w1[2] = (uint8_t)(now[3] >> 8);
        w1[3] = (uint8_t)now[3];
        w2[0] = (uint8_t)(now[4] >> 8);
        w2[1] = (uint8_t)now[4];
        w2[2] = (uint8_t)(now[5] >> 8);
        w2[3] = (uint8_t)now[5];
        {
            uint32_t x = pl_modbus_get32(w1, PL_MODBUS_ABCD),
                     y = pl_modbus_get32(w2, PL_MODBUS_CDAB);

            memcpy(&a, &x, sizeof(a));
            memcpy(&b, &y, sizeof(b));
        }
        assert_true(a == b);
        assert_true(a >= -100.0f && a <= 100.0f);
        assert_true(now[1] < 100);
        lm_close(ctx);
    }
    srv_stop(&t);
}

/* ---------------------------------------------------------------- mbpoll */

/* Runs mbpoll once (-1) against the server with `args` (and the values to write after the
 * host, "" to read), within a deadline (timeout(1)); its output (stdout and stderr) into
 * out. Returns its exit status. */
static int mbpoll(const srv_t *t, const char *args, const char *values, char *out, size_t cap)
{
    char cmd[512];
    size_t n = 0, got;
    FILE *p;
    int st;

    snprintf(cmd, sizeof(cmd), "timeout %d mbpoll -1 -o 5 -p %u %s 127.0.0.1 %s 2>&1",
             DEADLINE_S * 2, (unsigned)t->port, args, values);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (n + 1 < cap && (got = fread(out + n, 1, cap - 1 - n, p)) > 0)
        n += got;
    out[n] = '\0';
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* mbpoll's value line for reference `ref` ("[11]: \t123.456") is in out. */
static void expect_line(const char *out, unsigned ref, const char *value)
{
    char line[64];

    snprintf(line, sizeof(line), "[%u]: \t%s\n", ref, value);
    if (strstr(out, line) == NULL)
        fail_msg("mbpoll: no \"[%u]: %s\" in:\n%s", ref, value, out);
}

/* mbpoll, a second independent client (1-based references; its 32-bit default is CDAB,
 * -B is ABCD), started against the server through this test's harness. */
static void test_mbpoll(void **state)
{
    pl_modbus_server_config_t cfg;
    uint16_t regs[2], di[2] = {1, 0};
    uint8_t wire[4];
    uint32_t fbits;
    float f = TEST_FLOAT;
    char out[4096];
    srv_t t;
    int o;

    (void)state;
    if (system("command -v mbpoll >/dev/null 2>&1") != 0)
        fail_msg("mbpoll is not installed (scripts/deps.sh installs it)");
    pl_modbus_server_config_init(&cfg);
    srv_new(&t, &cfg);
    regs[0] = 0x1234;
    regs[1] = 2;
    assert_int_equal(pl_modbus_server_set(t.srv, 1, PL_MODBUS_TABLE_HOLDING, 0, regs, 2), 0);
    memcpy(&fbits, &f, sizeof(fbits));
    for (o = 0; o < 2; o++) { /* hr10..11 CDAB, hr12..13 ABCD */
        pl_modbus_put32(wire, fbits, o == 0 ? PL_MODBUS_CDAB : PL_MODBUS_ABCD);
        regs[0] = (uint16_t)(wire[0] << 8 | wire[1]);
        regs[1] = (uint16_t)(wire[2] << 8 | wire[3]);
        assert_int_equal(pl_modbus_server_set(t.srv, 1, PL_MODBUS_TABLE_HOLDING,
                                              (uint16_t)(10 + 2 * o), regs, 2),
                         0);
    }
    pl_modbus_put32(wire, 0x11223344u, PL_MODBUS_ABCD);
    regs[0] = (uint16_t)(wire[0] << 8 | wire[1]);
    regs[1] = (uint16_t)(wire[2] << 8 | wire[3]);
    assert_int_equal(pl_modbus_server_set(t.srv, 1, PL_MODBUS_TABLE_INPUT, 0, regs, 2), 0);
    assert_int_equal(pl_modbus_server_set(t.srv, 1, PL_MODBUS_TABLE_DISCRETE, 0, di, 2), 0);
    srv_run(&t);

    assert_int_equal(mbpoll(&t, "-a 1 -t 4 -r 1 -c 2", "", out, sizeof(out)), 0);
    expect_line(out, 1, "4660");
    expect_line(out, 2, "2");
    assert_int_equal(mbpoll(&t, "-a 1 -t 4 -r 6", "777", out, sizeof(out)), 0);
    assert_int_equal(mbpoll(&t, "-a 1 -t 4 -r 6", "", out, sizeof(out)), 0);
    expect_line(out, 6, "777");
    assert_int_equal(mbpoll(&t, "-a 1 -t 4:float -r 11", "", out, sizeof(out)), 0);
    expect_line(out, 11, "123.456");
    assert_int_equal(mbpoll(&t, "-a 1 -t 4:float -B -r 13", "", out, sizeof(out)), 0);
    expect_line(out, 13, "123.456");
    assert_int_equal(mbpoll(&t, "-a 1 -t 3:int -B -r 1", "", out, sizeof(out)), 0);
    expect_line(out, 1, "287454020");
    assert_int_equal(mbpoll(&t, "-a 1 -t 0 -r 3", "1", out, sizeof(out)), 0);
    assert_int_equal(mbpoll(&t, "-a 1 -t 0 -r 2 -c 3", "", out, sizeof(out)), 0);
    expect_line(out, 2, "0");
    expect_line(out, 3, "1");
    expect_line(out, 4, "0");
    assert_int_equal(mbpoll(&t, "-a 1 -t 1 -r 1 -c 2", "", out, sizeof(out)), 0);
    expect_line(out, 1, "1");
    expect_line(out, 2, "0");
    /* past the last register: the exception's name */
    (void)mbpoll(&t, "-a 1 -t 4 -r 65536 -c 2", "", out, sizeof(out));
    if (strstr(out, "Illegal data address") == NULL)
        fail_msg("mbpoll: no illegal data address in:\n%s", out);
    srv_stop(&t);
    assert_int_equal(t.stats.writes, 2);
    assert_int_equal(t.stats.exceptions, 1);
}

/* ---------------------------------------------------------------- raw sockets */

static int connect_to(uint16_t port)
{
    struct sockaddr_in sa;
    struct timeval tv = {DEADLINE_S, 0};
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
    assert_int_equal(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
    return fd;
}

static void send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

        assert_true(w > 0);
        p += w;
        n -= (size_t)w;
    }
}

/* One ADU, or 0 when the server closed the connection before any byte of it. */
static int recv_adu(int fd, uint8_t *buf, size_t cap)
{
    size_t have = 0, need = PL_MODBUS_MIN_ADU;
    int r;

    for (;;) {
        r = pl_modbus_frame(buf, have, &need);
        if (r > 0)
            return r;
        assert_int_equal(r, PL_EAGAIN);
        assert_true(need <= cap);
        ssize_t got = recv(fd, buf + have, need - have, 0);

        if (got == 0 && have == 0)
            return 0;
        assert_true(got > 0); /* not a timeout, not a close mid-answer */
        have += (size_t)got;
    }
}

/* An ADU from hex-free parts: tid 0x0102, protocol 0, the length of unit + pdu. */
static size_t adu(uint8_t *out, uint16_t tid, uint8_t unit, const uint8_t *pdu, size_t pdu_len)
{
    out[0] = (uint8_t)(tid >> 8);
    out[1] = (uint8_t)tid;
    out[2] = 0;
    out[3] = 0;
    out[4] = (uint8_t)((pdu_len + 1u) >> 8);
    out[5] = (uint8_t)(pdu_len + 1u);
    out[6] = unit;
    memcpy(out + 7, pdu, pdu_len);
    return 7u + pdu_len;
}

/* Sends one request PDU to `unit` and expects the exception `x` (0: a normal answer) for it;
 * returns the answer's length. */
static int exchange(int fd, uint8_t unit, const uint8_t *pdu, size_t pdu_len, uint8_t x,
                    uint8_t *ans)
{
    static uint16_t tid = 0x100;
    uint8_t req[PL_MODBUS_MAX_ADU + 8];
    pl_modbus_adu_t a;
    size_t n = adu(req, ++tid, unit, pdu, pdu_len);
    int got;

    send_all(fd, req, n);
    got = recv_adu(fd, ans, PL_MODBUS_MAX_ADU);
    assert_true(got > 0);
    assert_int_equal(pl_modbus_adu_decode(ans, (size_t)got, &a, NULL), 0);
    assert_int_equal(a.tid, tid);
    assert_int_equal(a.unit, unit);
    if (x != 0) {
        assert_int_equal(a.pdu_len, 2);
        assert_int_equal(a.pdu[0], pdu[0] | 0x80);
        assert_int_equal(a.pdu[1], x);
    } else
        assert_int_equal(a.pdu[0], pdu[0]);
    return got;
}

#define EXPECT_X(fd, x, ...)                                    \
    do {                                                        \
        const uint8_t pdu_[] = {__VA_ARGS__};                   \
        uint8_t ans_[PL_MODBUS_MAX_ADU];                        \
        (void)exchange((fd), 1, pdu_, sizeof(pdu_), (x), ans_); \
    } while (0)

/* The connection was closed by the server: recv sees the end (no timeout). */
static void expect_closed(int fd)
{
    uint8_t b[16];
    ssize_t got = recv(fd, b, sizeof(b), 0);

    assert_true(got == 0 || (got < 0 && errno == ECONNRESET));
}

static void test_raw_validation(void **state)
{
    pl_modbus_server_config_t cfg;
    uint8_t big[1 + 4 + 1 + 248];
    srv_t t;
    int fd;

    (void)state;
    pl_modbus_server_config_init(&cfg);
    srv_start(&t, &cfg);
    fd = connect_to(t.port);
    /* function codes not served: 01 */
    EXPECT_X(fd, 0x01, 0x07);
    EXPECT_X(fd, 0x01, 0x08, 0x00, 0x00, 0x12, 0x34);
    EXPECT_X(fd, 0x01, 0x00);
    EXPECT_X(fd, 0x01, 0x81, 0x00, 0x00, 0x00, 0x01);
    EXPECT_X(fd, 0x01, 0x2B, 0x0D, 0x01, 0x00); /* MEI type other than 0x0E */
    /* PDU length wrong for the function: 03 */
    EXPECT_X(fd, 0x03, 0x03, 0x00, 0x00, 0x00);
    EXPECT_X(fd, 0x03, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00);
    EXPECT_X(fd, 0x03, 0x05, 0x00, 0x00, 0xFF);
    EXPECT_X(fd, 0x03, 0x16, 0x00, 0x00, 0xFF, 0xFF);
    EXPECT_X(fd, 0x03, 0x2B, 0x0E, 0x01);
    EXPECT_X(fd, 0x03, 0x10, 0x00, 0x00, 0x00);
    EXPECT_X(fd, 0x03, 0x17, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00);
    /* quantities outside the spec's limits: 03, for every function that has one */
    EXPECT_X(fd, 0x03, 0x01, 0x00, 0x00, 0x00, 0x00);
    EXPECT_X(fd, 0x03, 0x01, 0x00, 0x00, 0x07, 0xD1); /* 2001 */
    EXPECT_X(fd, 0x00, 0x01, 0x00, 0x00, 0x07, 0xD0); /* 2000 */
    EXPECT_X(fd, 0x03, 0x02, 0x00, 0x00, 0x07, 0xD1);
    EXPECT_X(fd, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00);
    EXPECT_X(fd, 0x03, 0x03, 0x00, 0x00, 0x00, 0x7E); /* 126 */
    EXPECT_X(fd, 0x03, 0x03, 0x00, 0x00, 0x00, 0x00);
    EXPECT_X(fd, 0x03, 0x04, 0x00, 0x00, 0x00, 0x7E);
    EXPECT_X(fd, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00);
    EXPECT_X(fd, 0x03, 0x0F, 0x00, 0x00, 0x00, 0x00, 0x00);
    EXPECT_X(fd, 0x03, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00);
    EXPECT_X(fd, 0x03, 0x17, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00);
    EXPECT_X(fd, 0x03, 0x17, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00);
    /* FC 15 with 1969 coils and FC 16 with 124 registers: 03 (byte count fits a PDU) */
    memset(big, 0, sizeof(big));
    big[0] = 0x0F;
    big[3] = 0x07;
    big[4] = 0xB1; /* 1969 */
    big[5] = 247;  /* (1969 + 7) / 8 */
    {
        uint8_t ans[PL_MODBUS_MAX_ADU];

        (void)exchange(fd, 1, big, 6 + 247, 0x03, ans);
        big[0] = 0x10;
        big[3] = 0x00;
        big[4] = 124; /* with 246 bytes, as 124 registers would not fit a PDU */
        big[5] = 246;
        (void)exchange(fd, 1, big, 6 + 246, 0x03, ans);
        big[4] = 123;
        big[5] = 246;
        (void)exchange(fd, 1, big, 6 + 246, 0x00, ans);
    }
    /* byte counts that disagree: 03 */
    EXPECT_X(fd, 0x03, 0x0F, 0x00, 0x00, 0x00, 0x09, 0x01, 0xFF);       /* 9 coils need 2 */
    EXPECT_X(fd, 0x03, 0x0F, 0x00, 0x00, 0x00, 0x08, 0x02, 0xFF);       /* count says 2, 1 */
    EXPECT_X(fd, 0x03, 0x10, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x01); /* 2 regs need 4 */
    EXPECT_X(fd, 0x03, 0x17, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x01, 0x00,
             0x02);
    /* values: FC 5 other than 0xFF00/0x0000, device ID code not 1..4 */
    EXPECT_X(fd, 0x03, 0x05, 0x00, 0x00, 0x00, 0x01);
    EXPECT_X(fd, 0x03, 0x05, 0x00, 0x00, 0xFF, 0xFF);
    EXPECT_X(fd, 0x03, 0x2B, 0x0E, 0x00, 0x00);
    EXPECT_X(fd, 0x03, 0x2B, 0x0E, 0x05, 0x00);
    /* addresses past the end: 02, for every function with a range */
    EXPECT_X(fd, 0x02, 0x01, 0xFF, 0xFF, 0x00, 0x02);
    EXPECT_X(fd, 0x02, 0x02, 0xFF, 0xF0, 0x00, 0x11);
    EXPECT_X(fd, 0x02, 0x03, 0xFF, 0xFF, 0x00, 0x02);
    EXPECT_X(fd, 0x02, 0x04, 0xFF, 0x84, 0x00, 0x7D);
    EXPECT_X(fd, 0x02, 0x0F, 0xFF, 0xFF, 0x00, 0x02, 0x01, 0x03);
    EXPECT_X(fd, 0x02, 0x10, 0xFF, 0xFF, 0x00, 0x02, 0x04, 0x00, 0x01, 0x00, 0x02);
    EXPECT_X(fd, 0x02, 0x17, 0xFF, 0xFF, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x01);
    EXPECT_X(fd, 0x02, 0x17, 0x00, 0x00, 0x00, 0x01, 0xFF, 0xFF, 0x00, 0x02, 0x04, 0x00, 0x01, 0x00,
             0x02);
    /* and the last element of each table is there */
    EXPECT_X(fd, 0x00, 0x01, 0xFF, 0xFF, 0x00, 0x01);
    EXPECT_X(fd, 0x00, 0x05, 0xFF, 0xFF, 0xFF, 0x00);
    EXPECT_X(fd, 0x00, 0x06, 0xFF, 0xFF, 0x12, 0x34);
    EXPECT_X(fd, 0x00, 0x16, 0xFF, 0xFF, 0x00, 0xFF, 0x00, 0x00);
    close(fd);

    /* what breaks the stream closes the connection: protocol id, length 0, 1, 255, 65535 */
    {
        static const uint8_t bad[][8] = {
            {0, 1, 0, 1, 0, 6, 1, 3},   {0, 1, 0, 0, 0, 0, 1, 3},       {0, 1, 0, 0, 0, 1, 1, 3},
            {0, 1, 0, 0, 0, 255, 1, 3}, {0, 1, 0, 0, 0xFF, 0xFF, 1, 3},
        };
        size_t i;

        for (i = 0; i < ARRAY_LEN(bad); i++) {
            fd = connect_to(t.port);
            send_all(fd, bad[i], sizeof(bad[i]));
            expect_closed(fd);
            close(fd);
        }
    }
    srv_stop(&t);
    assert_int_equal(t.stats.bad_frames, 5);
}

/* Units 0 and 255 (a device addressed directly over TCP, Implementation Guide 4.4.2) are
 * served when listed, each with tables of its own; unit 1, not listed, gets no answer:
 * the answer to the next request on the connection comes first. */
static void test_units(void **state)
{
    static const uint8_t units[] = {0, 255, 7};
    const uint8_t read0[] = {0x03, 0x00, 0x00, 0x00, 0x01};
    pl_modbus_server_config_t cfg;
    uint8_t req[32], ans[PL_MODBUS_MAX_ADU];
    pl_modbus_adu_t a;
    uint16_t back[1];
    modbus_t *ctx;
    srv_t t;
    int fd, got;
    size_t n;

    (void)state;
    pl_modbus_server_config_init(&cfg);
    cfg.units = units;
    cfg.n_units = ARRAY_LEN(units);
    srv_start(&t, &cfg);
    ctx = lm_connect(&t, 255);
    assert_int_equal(modbus_write_register(ctx, 0, 255), 1);
    assert_int_equal(modbus_read_registers(ctx, 0, 1, back), 1);
    assert_int_equal(back[0], 255);
    lm_close(ctx);
    ctx = lm_connect(&t, 7);
    assert_int_equal(modbus_read_registers(ctx, 0, 1, back), 1);
    assert_int_equal(back[0], 0);
    lm_close(ctx);

    fd = connect_to(t.port);
    n = adu(req, 0x0A01, 1, read0, sizeof(read0));      /* not served */
    n += adu(req + n, 0x0A02, 0, read0, sizeof(read0)); /* served */
    send_all(fd, req, n);
    got = recv_adu(fd, ans, sizeof(ans));
    assert_true(got > 0);
    assert_int_equal(pl_modbus_adu_decode(ans, (size_t)got, &a, NULL), 0);
    assert_int_equal(a.tid, 0x0A02);
    assert_int_equal(a.unit, 0);
    assert_int_equal(a.pdu[0], 0x03);
    assert_int_equal(pl_modbus_reg(a.pdu + 2, 2, 0), 0); /* unit 0's own table */
    close(fd);
    srv_stop(&t);
    assert_int_equal(t.stats.no_answer, 1);

    /* any_unit: a device that ignores the unit identifier answers every one from the
     * tables of its lowest unit (7 here), echoing the identifier asked */
    cfg.units = units + 2;
    cfg.n_units = 1;
    cfg.any_unit = 1;
    srv_start(&t, &cfg);
    ctx = lm_connect(&t, 42);
    assert_int_equal(modbus_write_register(ctx, 3, 4242), 1);
    lm_close(ctx);
    ctx = lm_connect(&t, 7);
    assert_int_equal(modbus_read_registers(ctx, 3, 1, back), 1);
    assert_int_equal(back[0], 4242);
    lm_close(ctx);
    srv_stop(&t);
    assert_int_equal(t.stats.no_answer, 0);
}

static void test_raw_devid(void **state)
{
    static const char long_name[] = "0123456789012345678901234567890123456789012345678901234567890"
                                    "1234567890123456789012345678901234567890123456789012345678901"
                                    "23456789012345678901234567890123456789";
    pl_modbus_server_config_t cfg;
    uint8_t ans[PL_MODBUS_MAX_ADU];
    pl_modbus_adu_t a;
    pl_modbus_rsp_t r;
    pl_modbus_devid_obj_t obj;
    size_t pos;
    srv_t t;
    int fd, n;

    (void)state;
    pl_modbus_server_config_init(&cfg);
    cfg.devid.vendor_name = "ACME";
    cfg.devid.product_code = "X1";
    cfg.devid.revision = "1.2";
    cfg.devid.product_name = long_name; /* 0x04: 160 bytes */
    cfg.devid.model_name = long_name;   /* 0x05: does not fit beside 0x04 */
    srv_start(&t, &cfg);
    fd = connect_to(t.port);

    /* basic: objects 0..2 */
    {
        const uint8_t pdu[] = {0x2B, 0x0E, 0x01, 0x00};

        n = exchange(fd, 1, pdu, sizeof(pdu), 0, ans);
        assert_int_equal(pl_modbus_adu_decode(ans, (size_t)n, &a, NULL), 0);
        assert_int_equal(pl_modbus_rsp_decode(a.pdu, a.pdu_len, &r, NULL), 0);
        assert_int_equal(r.devid_code, 1);
        assert_int_equal(r.conformity, 0x82);
        assert_int_equal(r.more_follows, 0);
        assert_int_equal(r.object_count, 3);
        pos = 0;
        assert_true(pl_modbus_devid_next(&r, &pos, &obj));
        assert_int_equal(obj.id, 0);
        assert_int_equal(obj.len, 4);
        assert_memory_equal(obj.value, "ACME", 4);
    }
    /* regular: does not fit in one answer, more follows from object 0x05 */
    {
        const uint8_t pdu[] = {0x2B, 0x0E, 0x02, 0x00};
        const uint8_t pdu2[] = {0x2B, 0x0E, 0x02, 0x05};

        n = exchange(fd, 1, pdu, sizeof(pdu), 0, ans);
        assert_int_equal(pl_modbus_adu_decode(ans, (size_t)n, &a, NULL), 0);
        assert_int_equal(pl_modbus_rsp_decode(a.pdu, a.pdu_len, &r, NULL), 0);
        assert_int_equal(r.more_follows, 0xFF);
        assert_int_equal(r.next_object, 0x05);
        assert_int_equal(r.object_count, 4); /* 0, 1, 2, 4 */
        n = exchange(fd, 1, pdu2, sizeof(pdu2), 0, ans);
        assert_int_equal(pl_modbus_adu_decode(ans, (size_t)n, &a, NULL), 0);
        assert_int_equal(pl_modbus_rsp_decode(a.pdu, a.pdu_len, &r, NULL), 0);
        assert_int_equal(r.more_follows, 0);
        assert_int_equal(r.object_count, 1);
        pos = 0;
        assert_true(pl_modbus_devid_next(&r, &pos, &obj));
        assert_int_equal(obj.id, 5);
        assert_int_equal(obj.len, sizeof(long_name) - 1);
    }
    /* stream access from an object that does not exist restarts at 0 */
    {
        const uint8_t pdu[] = {0x2B, 0x0E, 0x01, 0x03};

        n = exchange(fd, 1, pdu, sizeof(pdu), 0, ans);
        assert_int_equal(pl_modbus_adu_decode(ans, (size_t)n, &a, NULL), 0);
        assert_int_equal(pl_modbus_rsp_decode(a.pdu, a.pdu_len, &r, NULL), 0);
        assert_int_equal(r.object_count, 3);
        pos = 0;
        assert_true(pl_modbus_devid_next(&r, &pos, &obj));
        assert_int_equal(obj.id, 0);
    }
    /* individual access: one object, or 02 when it does not exist */
    {
        const uint8_t pdu[] = {0x2B, 0x0E, 0x04, 0x02};

        n = exchange(fd, 1, pdu, sizeof(pdu), 0, ans);
        assert_int_equal(pl_modbus_adu_decode(ans, (size_t)n, &a, NULL), 0);
        assert_int_equal(pl_modbus_rsp_decode(a.pdu, a.pdu_len, &r, NULL), 0);
        assert_int_equal(r.object_count, 1);
        pos = 0;
        assert_true(pl_modbus_devid_next(&r, &pos, &obj));
        assert_int_equal(obj.id, 2);
        assert_memory_equal(obj.value, "1.2", 3);
    }
    EXPECT_X(fd, 0x02, 0x2B, 0x0E, 0x04, 0x03);
    EXPECT_X(fd, 0x02, 0x2B, 0x0E, 0x04, 0x80);
    close(fd);
    srv_stop(&t);
}

/* Requests pipelined in one write, some to units that get no answer: the answers come in
 * the order of the requests, with and without a delay served one at a time. */
static void pipelined(unsigned delay_ms, unsigned at_once)
{
    static const uint8_t units[] = {1, 2, 3};
    static const uint8_t ignore[] = {3};
    pl_modbus_server_config_t cfg;
    uint8_t req[64 * 12], ans[PL_MODBUS_MAX_ADU];
    const uint8_t read1[] = {0x03, 0x00, 0x00, 0x00, 0x01};
    const uint8_t write1[] = {0x06, 0x00, 0x00, 0x00, 0x00};
    uint16_t want_tid[64];
    size_t n = 0, nwant = 0;
    pl_modbus_adu_t a;
    srv_t t;
    int fd, i, got;

    pl_modbus_server_config_init(&cfg);
    cfg.units = units;
    cfg.n_units = ARRAY_LEN(units);
    cfg.ignore_units = ignore;
    cfg.n_ignore = 1;
    cfg.delay_ms = delay_ms;
    cfg.at_once = at_once;
    srv_start(&t, &cfg);
    fd = connect_to(t.port);
    for (i = 0; i < 32; i++) {
        uint8_t unit = (uint8_t)(i % 5); /* 0 and 4 not served, 3 ignored */
        uint8_t pdu[5];

        if (i % 2 == 0) {
            memcpy(pdu, write1, sizeof(pdu));
            pdu[4] = (uint8_t)i;
        } else
            memcpy(pdu, read1, sizeof(pdu));
        n += adu(req + n, (uint16_t)(0x7000 + i), unit, pdu, sizeof(pdu));
        if (unit == 1 || unit == 2)
            want_tid[nwant++] = (uint16_t)(0x7000 + i);
    }
    send_all(fd, req, n);
    for (i = 0; i < (int)nwant; i++) {
        got = recv_adu(fd, ans, sizeof(ans));
        assert_true(got > 0);
        assert_int_equal(pl_modbus_adu_decode(ans, (size_t)got, &a, NULL), 0);
        assert_int_equal(a.tid, want_tid[i]);
        if (a.pdu[0] == 0x03)
            assert_int_equal(a.pdu[1], 2); /* one register */
    }
    close(fd);
    srv_stop(&t);
    assert_int_equal(t.stats.requests, 32);
    assert_int_equal(t.stats.no_answer, 32 - nwant);
}

static void test_raw_pipelined(void **state)
{
    (void)state;
    pipelined(0, 1);
    pipelined(0, 0);
    pipelined(5, 1);
    pipelined(5, 4);
}

/* A read request split at every offset: the answer is the same. */
static void test_raw_split(void **state)
{
    const uint8_t pdu[] = {0x03, 0x00, 0x0A, 0x00, 0x02};
    uint8_t req[16], ans[PL_MODBUS_MAX_ADU];
    pl_modbus_server_config_t cfg;
    pl_modbus_adu_t a;
    size_t n, k;
    srv_t t;
    int fd, got;

    (void)state;
    pl_modbus_server_config_init(&cfg);
    srv_new(&t, &cfg);
    {
        const uint16_t v[2] = {0xCAFE, 0xF00D};

        assert_int_equal(pl_modbus_server_set(t.srv, 1, PL_MODBUS_TABLE_HOLDING, 10, v, 2), 0);
    }
    srv_run(&t);
    fd = connect_to(t.port);
    for (k = 1; k < 12; k++) {
        n = adu(req, (uint16_t)k, 1, pdu, sizeof(pdu));
        send_all(fd, req, k);
        send_all(fd, req + k, n - k);
        got = recv_adu(fd, ans, sizeof(ans));
        assert_int_equal(got, 13);
        assert_int_equal(pl_modbus_adu_decode(ans, (size_t)got, &a, NULL), 0);
        assert_int_equal(a.tid, k);
        assert_int_equal(pl_modbus_reg(a.pdu + 2, 4, 0), 0xCAFE);
        assert_int_equal(pl_modbus_reg(a.pdu + 2, 4, 1), 0xF00D);
    }
    close(fd);
    srv_stop(&t);
}

static void test_raw_close_after(void **state)
{
    const uint8_t pdu[] = {0x01, 0x00, 0x00, 0x00, 0x01};
    pl_modbus_server_config_t cfg;
    uint8_t req[16], ans[PL_MODBUS_MAX_ADU];
    srv_t t;
    int fd, i;

    (void)state;
    pl_modbus_server_config_init(&cfg);
    cfg.close_after = 3;
    srv_start(&t, &cfg);
    fd = connect_to(t.port);
    for (i = 0; i < 2; i++)
        (void)exchange(fd, 1, pdu, sizeof(pdu), 0, ans);
    send_all(fd, req, adu(req, 9, 1, pdu, sizeof(pdu)));
    expect_closed(fd);
    close(fd);
    srv_stop(&t);
    assert_int_equal(t.stats.frames_in, 3);
    assert_int_equal(t.stats.requests, 2);
}

/* Part of a frame, then silence: the listener's frame timeout closes the connection. */
static void test_raw_frame_timeout(void **state)
{
    const uint8_t part[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01};
    pl_modbus_server_config_t cfg;
    srv_t t;
    int fd;

    (void)state;
    pl_modbus_server_config_init(&cfg);
    cfg.listen.frame_timeout_ms = 50;
    srv_start(&t, &cfg);
    fd = connect_to(t.port);
    send_all(fd, part, sizeof(part));
    expect_closed(fd); /* (the count of it may come after: the close callback is later) */
    close(fd);
    srv_stop(&t);
    assert_int_equal(t.stats.requests, 0);
}

/* ---------------------------------------------------------------- without sockets */

typedef struct {
    pl_modbus_server_t *srv;
    uint8_t out[4096];
    size_t len;
} sink_t;

static int frame_fn(const uint8_t *buf, size_t len, void *ud)
{
    (void)ud;
    return pl_modbus_frame(buf, len, NULL);
}

static int deliver(void *ctx, const uint8_t *frame, size_t len)
{
    sink_t *k = ctx;
    uint8_t ans[PL_MODBUS_MAX_ADU];
    int n = pl_modbus_server_serve_adu(k->srv, frame, len, ans, sizeof(ans));

    assert_true(n >= 0);
    assert_true(k->len + (size_t)n <= sizeof(k->out));
    memcpy(k->out + k->len, ans, (size_t)n);
    k->len += (size_t)n;
    return 0;
}

/* A stream of requests (writes, then reads of what they wrote, exceptions, a unit not
 * served) fed whole, per byte and split at every offset, each time to a fresh server:
 * the same answers. */
static void test_split_every_offset(void **state)
{
    static const uint8_t pdus[][12] = {
        {0x06, 0x00, 0x01, 0x12, 0x34},
        {0x10, 0x00, 0x02, 0x00, 0x02, 0x04, 0xAB, 0xCD, 0xEF, 0x01},
        {0x03, 0x00, 0x00, 0x00, 0x04},
        {0x05, 0x00, 0x07, 0xFF, 0x00},
        {0x01, 0x00, 0x00, 0x00, 0x10},
        {0x03, 0xFF, 0xFF, 0x00, 0x02},
        {0x63},
        {0x2B, 0x0E, 0x01, 0x00},
    };
    static const size_t lens[] = {5, 10, 5, 5, 5, 5, 1, 4};
    uint8_t stream[512], rxbuf[PL_MODBUS_MAX_ADU];
    sink_t *whole, *k;
    size_t n = 0, i, cut;
    uv_loop_t loop;

    (void)state;
    for (i = 0; i < ARRAY_LEN(pdus); i++)
        n += adu(stream + n, (uint16_t)i, 1, pdus[i], lens[i]);
    n += adu(stream + n, 99, 7, pdus[2], lens[2]); /* unit not served: no answer */
    assert_int_equal(uv_loop_init(&loop), 0);
    whole = calloc(1, sizeof(*whole));
    k = calloc(1, sizeof(*k));
    assert_non_null(whole);
    assert_non_null(k);
    for (cut = 0; cut <= n; cut++) {
        pl_modbus_server_config_t cfg;
        pl_simconn_rx_t rx = {rxbuf, sizeof(rxbuf), 0};
        sink_t *s = cut == 0 ? whole : k;
        pl_status_t st;

        pl_modbus_server_config_init(&cfg);
        cfg.listen.port = 0;
        memset(s, 0, sizeof(*s));
        assert_int_equal(pl_modbus_server_new(&loop, &cfg, &s->srv, &st), 0);
        if (cut == 0) {
            assert_int_equal(pl_simconn_rx_feed(&rx, stream, n, frame_fn, NULL, deliver, s), 0);
        } else if (cut == n) { /* per byte */
            for (i = 0; i < n; i++)
                assert_int_equal(pl_simconn_rx_feed(&rx, stream + i, 1, frame_fn, NULL, deliver, s),
                                 0);
        } else {
            assert_int_equal(pl_simconn_rx_feed(&rx, stream, cut, frame_fn, NULL, deliver, s), 0);
            assert_int_equal(
                pl_simconn_rx_feed(&rx, stream + cut, n - cut, frame_fn, NULL, deliver, s), 0);
        }
        assert_int_equal(rx.len, 0);
        assert_int_equal(pl_modbus_server_free(s->srv), 0);
        uv_run(&loop, UV_RUN_DEFAULT);
        if (cut > 0) {
            assert_int_equal(k->len, whole->len);
            assert_memory_equal(k->out, whole->out, whole->len);
        }
    }
    /* and the whole answers are right: 7 answers, the read returns what was written */
    {
        pl_modbus_adu_t a;
        size_t off = 0;
        int count = 0, len;

        while (off < whole->len &&
               (len = pl_modbus_frame(whole->out + off, whole->len - off, NULL)) > 0) {
            assert_int_equal(pl_modbus_adu_decode(whole->out + off, (size_t)len, &a, NULL), 0);
            if (a.tid == 2) {
                assert_int_equal(pl_modbus_reg(a.pdu + 2, 8, 1), 0x1234);
                assert_int_equal(pl_modbus_reg(a.pdu + 2, 8, 2), 0xABCD);
                assert_int_equal(pl_modbus_reg(a.pdu + 2, 8, 3), 0xEF01);
            }
            if (a.tid == 4)
                assert_int_equal(a.pdu[2], 0x80); /* coil 7 */
            if (a.tid == 5)
                assert_int_equal(a.pdu[1], 0x02); /* illegal data address */
            off += (size_t)len;
            count++;
        }
        assert_int_equal(off, whole->len);
        assert_int_equal(count, 8);
    }
    free(whole);
    free(k);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Configurations the server refuses, and the accessors' bounds. */
static void test_config_and_access(void **state)
{
    pl_modbus_server_config_t cfg;
    pl_modbus_fault_t f = {1, PL_MODBUS_TABLE_HOLDING, 10, 5, 4};
    char big[PL_MODBUS_DEVID_MAX + 2];
    pl_modbus_server_t *s = NULL;
    uint16_t v[2] = {7, 8};
    pl_status_t st;
    uv_loop_t loop;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    pl_modbus_server_config_init(&cfg);
    assert_int_equal(cfg.listen.port, 502);
    assert_int_equal(cfg.at_once, 1);
    cfg.listen.port = 0;
    cfg.faults = &f;
    cfg.n_faults = 1;
    assert_int_equal(pl_modbus_server_new(&loop, &cfg, &s, &st), PL_EINVAL); /* backwards */
    f.last = 20;
    f.exception = 0;
    assert_int_equal(pl_modbus_server_new(&loop, &cfg, &s, &st), PL_EINVAL); /* exception 0 */
    f.exception = 4;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    cfg.devid.user_app = big;
    assert_int_equal(pl_modbus_server_new(&loop, &cfg, &s, &st), PL_EINVAL);
    cfg.devid.user_app = NULL;
    assert_null(s);
    assert_int_equal(pl_modbus_server_new(&loop, &cfg, &s, &st), 0);
    {
        char want[32];

        snprintf(want, sizeof(want), "127.0.0.1:%u", (unsigned)pl_modbus_server_port(s));
        assert_string_equal(pl_modbus_server_address(s), want);
    }
    assert_int_equal(pl_modbus_server_set(s, 2, PL_MODBUS_TABLE_HOLDING, 0, v, 1), PL_EINVAL);
    assert_int_equal(pl_modbus_server_set(s, 1, PL_MODBUS_TABLE_HOLDING, 65535, v, 2), PL_EINVAL);
    assert_int_equal(pl_modbus_server_set(s, 1, PL_MODBUS_TABLE_HOLDING, 0, v, 0), PL_EINVAL);
    assert_int_equal(pl_modbus_server_get(s, 1, PL_MODBUS_TABLE_COILS, 65535, v, 1), 0);
    assert_int_equal(v[0], 0); /* never written: zeros, nothing allocated */
    v[0] = 5;
    assert_int_equal(pl_modbus_server_set(s, 1, PL_MODBUS_TABLE_COILS, 65535, v, 1), 0);
    assert_int_equal(pl_modbus_server_get(s, 1, PL_MODBUS_TABLE_COILS, 65535, v + 1, 1), 0);
    assert_int_equal(v[1], 1);
    assert_int_equal(pl_modbus_server_save(s), PL_EINVAL); /* persistence is off */
    assert_int_equal(pl_modbus_server_free(s), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* One server's life without a partner: created with faults and identification objects,
 * a write request served (its table allocated then), a table set through the accessor, a
 * read of both, freed. Returns 1 when every step did what it must with `fired` telling
 * whether an allocation failed: without a failure everything succeeds; with one, each step
 * succeeds or says so (PL_ENOMEM or another PL_E* from new, exception 04 for the write,
 * PL_ENOMEM from set) and nothing is left allocated. */
static int alloc_session(uv_loop_t *loop, int armed, unsigned long n, int *fired)
{
    static const pl_modbus_fault_t fault = {1, PL_MODBUS_TABLE_COILS, 0, 9, 4};
    const uint8_t write[] = {0x10, 0x00, 0x05, 0x00, 0x01, 0x02, 0xAB, 0xCD};
    const uint8_t read[] = {0x03, 0x00, 0x05, 0x00, 0x01};
    pl_modbus_server_config_t cfg;
    pl_modbus_server_t *srv = NULL;
    uint8_t req[32], ans[PL_MODBUS_MAX_ADU];
    uint16_t v = 7, back = 0;
    pl_status_t st;
    pl_modbus_adu_t a;
    int rc, ok = 1, got, set_rc;
    uint8_t wrote_fc = 0; /* the write's answer: 0x10, or 0x90 with exception 04 */

    pl_modbus_server_config_init(&cfg);
    cfg.listen.port = 0;
    cfg.faults = &fault;
    cfg.n_faults = 1;
    cfg.devid.vendor_url = "https://example.invalid";
    if (armed)
        failalloc_arm(n);
    rc = pl_modbus_server_new(loop, &cfg, &srv, &st);
    if (rc == 0) {
        got = pl_modbus_server_serve_adu(srv, req, adu(req, 1, 1, write, sizeof(write)), ans,
                                         sizeof(ans));
        ok = ok && got > 0 && pl_modbus_adu_decode(ans, (size_t)got, &a, NULL) == 0;
        wrote_fc = ok ? a.pdu[0] : 0;
        ok = ok && (wrote_fc == 0x10 || (wrote_fc == 0x90 && a.pdu[1] == 0x04));
        set_rc = pl_modbus_server_set(srv, 1, PL_MODBUS_TABLE_INPUT, 0, &v, 1);
        ok = ok && (set_rc == 0 || set_rc == PL_ENOMEM);
        ok = ok && pl_modbus_server_get(srv, 1, PL_MODBUS_TABLE_INPUT, 0, &back, 1) == 0;
        ok = ok && back == (set_rc == 0 ? 7 : 0);
        got = pl_modbus_server_serve_adu(srv, req, adu(req, 2, 1, read, sizeof(read)), ans,
                                         sizeof(ans));
        ok = ok && got > 0;
        ok = ok && pl_modbus_server_free(srv) == 0;
    }
    uv_run(loop, UV_RUN_DEFAULT);
    if (armed) {
        (void)failalloc_disarm();
        *fired = failalloc_fired();
    } else
        *fired = 0;
    if (rc != 0 && (!*fired || rc >= 0))
        ok = 0; /* new may fail only for a failed allocation, and with a PL_E* code */
    if (*fired == 0 && !(rc == 0 && back == 7 && wrote_fc == 0x10))
        ok = 0;
    return ok;
}

/* Allocation failure: the N-th allocation of a server's life fails, for N = 1, 2, ... until
 * a run completes without a failure; every run ends cleanly, leaks nothing, and leaves a
 * loop that closes. */
static void test_alloc_fail(void **state)
{
    unsigned long n;
    int fired = 1, bad = 0;

    (void)state;
    if (!failalloc_available())
        PL_SKIP("malloc is not ours here (AddressSanitizer): the plain build and valgrind run "
                "the allocation-failure sweep");
    for (n = 1; fired && n < 10000; n++) {
        uv_loop_t loop;
        int ok;

        assert_int_equal(uv_loop_init(&loop), 0);
        assert_true(alloc_session(&loop, 0, 0, &fired)); /* libuv's one-time allocations */
        ok = alloc_session(&loop, 1, n, &fired);
        if (!ok || failalloc_live() != 0 || uv_loop_close(&loop) != 0) {
            print_message("N=%lu: %s, %zu block(s) alive\n", n, ok ? "ok" : "misbehaved",
                          failalloc_live());
            failalloc_report(STDOUT_FILENO);
            bad++;
        }
    }
    print_message("modbus server: %lu runs, each failing one allocation call; %d misbehaved\n",
                  n - 2, bad);
    assert_false(fired);
    assert_true(n > 10); /* the sweep did fail allocations */
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lm_functions),
        cmocka_unit_test(test_lm_exceptions),
        cmocka_unit_test(test_lm_orders),
        cmocka_unit_test(test_lm_persist),
        cmocka_unit_test(test_lm_animation),
        cmocka_unit_test(test_raw_validation),
        cmocka_unit_test(test_raw_devid),
        cmocka_unit_test(test_raw_pipelined),
        cmocka_unit_test(test_raw_split),
        cmocka_unit_test(test_raw_close_after),
        cmocka_unit_test(test_raw_frame_timeout),
        cmocka_unit_test(test_split_every_offset),
        cmocka_unit_test(test_config_and_access),
        cmocka_unit_test(test_mbpoll),
        cmocka_unit_test(test_units),
        cmocka_unit_test(test_alloc_fail),
    };

    return pl_test_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
