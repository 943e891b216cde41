/* SPDX-License-Identifier: MIT */
/*
 * MQTT northbound against a real broker: the Debian `mosquitto` started by the test on a
 * free loopback port (its own config file, ended by its pid), the scan engine and a 7TTCP
 * simulator in the same loop, and a libmosquitto subscriber of the test's own. Checks the
 * retained values and status topics, writes with their correlation, refusals, a broker
 * killed and restarted on the same port, the last will of a client killed with SIGKILL,
 * two client ids sharing a broker, writes of every value kind, the engine replaced under a
 * running client (reload), the pending table at its limit, the paced publication of
 * 20 000 tags (each once, polling undisturbed) at start and after a restart, and (against
 * a fake broker on a pl_listener) a CONNACK that never comes or refuses. No sleeps: every wait is a
 * loop run under a guard timer (or a bounded connect() probe for the broker's readiness).
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
#include <fcntl.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "north/mqtt.h"
#include "plcline/engine.h"
#include "plcline/error.h"
#include "plcline/hostlist.h"
#include "plcline/ttcp.h"

#define MOSQUITTO_BIN "/usr/sbin/mosquitto"
#define MAX_RX        64
#define NTAGS         6

/* --- the broker --------------------------------------------------------------------- */

typedef struct {
    pid_t pid;
    uint16_t port;
    char dir[64];
    char conf[128];
} broker_t;

/* Brokers (and the victim child) still running when a failed assertion skipped the teardown: ended
 * by pid in main. */
static pid_t g_brokers[8];

static void remember(pid_t pid, pid_t was)
{
    size_t i;

    for (i = 0; i < sizeof(g_brokers) / sizeof(g_brokers[0]); i++)
        if (g_brokers[i] == was) {
            g_brokers[i] = pid;
            return;
        }
}

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A loopback port nothing listens on, for the broker. Picked below the kernel's ephemeral
 * range (32768 and up on Linux), where the outgoing connections of the tests running beside
 * this one take their ports, so that none of them takes it before the broker binds it; the
 * broker's start retries with another port should a listener take it all the same. */
static uint16_t free_port(void)
{
    static unsigned next;
    struct sockaddr_in a;
    unsigned i;

    if (next == 0)
        next = 20000u + (unsigned)getpid() % 12000u;
    for (i = 0; i < 12000u; i++) {
        uint16_t port = (uint16_t)(20000u + (next++ - 20000u) % 12000u);
        int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

        assert_true(fd >= 0);
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(fd);
        if (ok)
            return port;
    }
    fail_msg("no free loopback port in 20000-31999");
    return 0;
}

static int accepts(uint16_t port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Starts mosquitto on b->port and waits until it accepts connections. With b->port 0 it
 * picks a port, and picks another when the broker could not bind it (it exits at once),
 * at most 5 times. */
static void broker_start(broker_t *b)
{
    FILE *fp;
    uint64_t deadline;
    int status, pick = b->port == 0, attempt;

    if (b->dir[0] == '\0') {
        snprintf(b->dir, sizeof(b->dir), "/tmp/pl_mqtt_XXXXXX");
        assert_non_null(mkdtemp(b->dir));
        snprintf(b->conf, sizeof(b->conf), "%s/mosquitto.conf", b->dir);
    }
    for (attempt = 0;; attempt++) {
        if (pick)
            b->port = free_port();
        fp = fopen(b->conf, "w");
        assert_non_null(fp);
        fprintf(fp,
                "listener %u 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n",
                (unsigned)b->port);
        fclose(fp);
        b->pid = fork();
        assert_true(b->pid >= 0);
        if (b->pid == 0) {
            int null = open("/dev/null", O_RDWR);

            if (null >= 0) {
                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
            }
            execl(MOSQUITTO_BIN, "mosquitto", "-c", b->conf, (char *)NULL);
            _exit(127);
        }
        remember(b->pid, 0);
        deadline = mono_ms() + 10000;
        while (!accepts(b->port)) {
            if (waitpid(b->pid, &status, WNOHANG) != 0)
                break; /* exited: the port was taken (or the broker is broken) */
            assert_true(mono_ms() < deadline);
            poll(NULL, 0, 2); /* a short pause between probes, bounded by the deadline */
        }
        if (waitpid(b->pid, &status, WNOHANG) == 0)
            return; /* running, and accepting */
        remember(0, b->pid);
        b->pid = 0;
        assert_true(pick && attempt < 4);
    }
}

static void broker_kill(broker_t *b, int sig)
{
    int status;

    if (b->pid <= 0)
        return;
    kill(b->pid, sig);
    waitpid(b->pid, &status, 0);
    remember(0, b->pid);
    b->pid = 0;
}

static void broker_cleanup(broker_t *b)
{
    broker_kill(b, SIGTERM);
    if (b->conf[0] != '\0')
        unlink(b->conf);
    if (b->dir[0] != '\0')
        rmdir(b->dir);
}

/* --- the test's subscriber ---------------------------------------------------------- */

typedef struct {
    char topic[256];
    char payload[512];
    int retain;
    char corr[64];
    unsigned count;
} rx_t;

typedef struct {
    struct mosquitto *mosq;
    uv_timer_t tick;
    rx_t rx[MAX_RX];
    size_t n;
    unsigned total;
    int open;
} sub_t;

static void sub_on_message(struct mosquitto *mosq, void *ud, const struct mosquitto_message *msg,
                           const mosquitto_property *props)
{
    sub_t *s = ud;
    rx_t *r = NULL;
    size_t i;
    void *corr = NULL;
    uint16_t clen = 0;

    (void)mosq;
    for (i = 0; i < s->n && r == NULL; i++)
        if (strcmp(s->rx[i].topic, msg->topic) == 0)
            r = &s->rx[i];
    if (r == NULL && s->n < MAX_RX) {
        r = &s->rx[s->n++];
        memset(r, 0, sizeof(*r));
        snprintf(r->topic, sizeof(r->topic), "%s", msg->topic);
    }
    s->total++;
    if (r == NULL)
        return;
    snprintf(r->payload, sizeof(r->payload), "%.*s", msg->payloadlen, (const char *)msg->payload);
    r->retain = msg->retain;
    r->count++;
    r->corr[0] = '\0';
    if (mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr, &clen, false) !=
        NULL) {
        snprintf(r->corr, sizeof(r->corr), "%.*s", (int)clen, (const char *)corr);
        free(corr);
    }
}

static void sub_tick(uv_timer_t *t)
{
    sub_t *s = t->data;

    mosquitto_loop(s->mosq, 0, 16);
}

static void sub_open(sub_t *s, uv_loop_t *loop, const broker_t *b, const char *id,
                     const char *filter)
{
    memset(s, 0, sizeof(*s));
    s->mosq = mosquitto_new(id, true, s);
    assert_non_null(s->mosq);
    mosquitto_int_option(s->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_message_v5_callback_set(s->mosq, sub_on_message);
    assert_int_equal(mosquitto_connect(s->mosq, "127.0.0.1", b->port, 30), MOSQ_ERR_SUCCESS);
    assert_int_equal(mosquitto_subscribe_v5(s->mosq, NULL, filter, 1, 0, NULL), MOSQ_ERR_SUCCESS);
    uv_timer_init(loop, &s->tick);
    s->tick.data = s;
    uv_timer_start(&s->tick, sub_tick, 1, 1);
    s->open = 1;
}

static void sub_close(sub_t *s)
{
    if (!s->open)
        return;
    mosquitto_disconnect(s->mosq);
    mosquitto_destroy(s->mosq);
    uv_close((uv_handle_t *)&s->tick, NULL);
    s->open = 0;
}

static const rx_t *sub_get(const sub_t *s, const char *topic)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        if (strcmp(s->rx[i].topic, topic) == 0)
            return &s->rx[i];
    return NULL;
}

/* The message last seen on `topic`; fails the test when there is none. */
static const rx_t *sub_must(const sub_t *s, const char *topic)
{
    const rx_t *r = sub_get(s, topic);

    if (r == NULL) {
        fail_msg("nothing on %s", topic);
        abort();
    }
    return r;
}

/* Publishes a write request with MQTT 5 properties (response topic / correlation may be
 * NULL). */
static void sub_write(sub_t *s, const char *topic, const char *payload, const char *resp,
                      const char *corr)
{
    mosquitto_property *props = NULL;

    if (resp != NULL)
        mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, resp);
    if (corr != NULL)
        mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, corr,
                                      (uint16_t)strlen(corr));
    assert_int_equal(
        mosquitto_publish_v5(s->mosq, NULL, topic, (int)strlen(payload), payload, 1, false, props),
        MOSQ_ERR_SUCCESS);
    mosquitto_property_free_all(&props);
}

/* --- the fixture -------------------------------------------------------------------- */

typedef struct {
    uv_loop_t loop;
    broker_t broker;
    pl_ttcp_server_t *srv;
    pl_engine_t *e;
    pl_mqtt_t *m;
    pl_north_def_t north;
    pl_line_def_t line;
    pl_device_def_t dev;
    pl_tag_def_t tags[NTAGS];
    pl_scan_def_t scan;
    sub_t sub;
} fx_t;

static void on_change(pl_engine_t *e, const pl_tag_state_t *st, void *ud)
{
    fx_t *f = ud;

    (void)e;
    pl_mqtt_publish_state(f->m, st);
}

static void on_device(pl_engine_t *e, const char *device, const pl_status_t *st, void *ud)
{
    fx_t *f = ud;

    (void)e;
    pl_mqtt_device_state(f->m, NULL, device, st);
}

static void on_guard(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

typedef int (*pred_fn)(fx_t *f, const void *arg);

static int run_until(fx_t *f, pred_fn pred, const void *arg, unsigned ms)
{
    uv_timer_t guard;
    int expired = 0;

    uv_timer_init(&f->loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, ms, 0);
    while (!pred(f, arg) && !expired)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    return !expired;
}

typedef struct {
    const sub_t *sub;
    const char *topic;
    const char *has; /* substring of the payload */
} want_t;

static int rx_has(fx_t *f, const void *arg)
{
    const want_t *w = arg;
    const rx_t *r = sub_get(w->sub, w->topic);

    (void)f;
    return r != NULL && strstr(r->payload, w->has) != NULL;
}

static void wait_rx_on(fx_t *f, const sub_t *s, const char *topic, const char *has, unsigned ms)
{
    want_t w = {s, topic, has};

    if (!run_until(f, rx_has, &w, ms)) {
        const rx_t *r = sub_get(s, topic);

        fail_msg("%s: wanted '%s', have '%s'", topic, has, r != NULL ? r->payload : "(nothing)");
    }
}

static void wait_rx(fx_t *f, const char *topic, const char *has, unsigned ms)
{
    wait_rx_on(f, &f->sub, topic, has, ms);
}

static int is_connected(fx_t *f, const void *arg)
{
    (void)arg;
    return pl_mqtt_stats(f->m)->connected;
}

static void set_tag(pl_tag_def_t *t, const char *name, const char *addr, int writable)
{
    memset(t, 0, sizeof(*t));
    t->name = name; /* string literals: they outlive the engine */
    t->device = "dev1";
    t->address = addr;
    t->scan = "fast";
    t->writable = writable;
}

static void mqtt_open(fx_t *f, const char *client_id)
{
    pl_mqtt_opts_t o;
    pl_status_t err;

    pl_mqtt_opts_init(&o);
    o.backoff_min_ms = 20;
    o.backoff_max_ms = 200;
    o.seed = 42;
    memset(&f->north, 0, sizeof(f->north));
    f->north.mqtt = 1;
    snprintf(f->north.mqtt_host, sizeof(f->north.mqtt_host), "localhost"); /* resolved */
    f->north.mqtt_port = f->broker.port;
    snprintf(f->north.mqtt_client_id, sizeof(f->north.mqtt_client_id), "%s", client_id);
    snprintf(f->north.mqtt_prefix, sizeof(f->north.mqtt_prefix), "plc");
    f->north.mqtt_keepalive_s = 30;
    f->north.mqtt_qos_pub = 0;
    f->north.mqtt_qos_sub = 1;
    pl_status_clear(&err);
    assert_int_equal(pl_mqtt_new(&f->loop, &f->north, f->e, NULL, &o, &f->m, &err), 0);
}

/* Broker, simulator (node 1: W5=1234), engine (4 tags on line1/dev1) and the client. */
static void setup(fx_t *f, const char *client_id)
{
    pl_ttcp_server_config_t sc;
    pl_engine_config_t ec;
    pl_engine_cbs_t cbs = {.on_change = on_change, .on_device = on_device};
    pl_status_t err;

    memset(f, 0, sizeof(*f));
    broker_start(&f->broker);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    pl_ttcp_server_config_init(&sc);
    sc.listen.port = 0; /* a free port */
    assert_int_equal(pl_ttcp_server_new(&f->loop, &sc, &f->srv, NULL), 0);
    pl_ttcp_server_words(f->srv, 1)[5] = 1234;
    pl_ttcp_server_words(f->srv, 1)[6] = 6;
    snprintf(f->line.name, sizeof(f->line.name), "line1");
    snprintf(f->line.protocol, sizeof(f->line.protocol), "7ttcp");
    pl_line_config_init(&f->line.line);
    assert_int_equal(pl_hostlist_parse(&f->line.line.hosts, "127.0.0.1", 9, NULL), 0);
    f->line.line.port = pl_ttcp_server_port(f->srv);
    f->line.timeout_ms = 500;
    snprintf(f->dev.name, sizeof(f->dev.name), "dev1");
    snprintf(f->dev.line, sizeof(f->dev.line), "line1");
    snprintf(f->dev.keys, sizeof(f->dev.keys), "node=1");
    set_tag(&f->tags[0], "w5", "W5", 1);
    set_tag(&f->tags[1], "ro", "W6", 0);
    set_tag(&f->tags[2], "cnt", "W7", 0);
    set_tag(&f->tags[3], "area/pump", "W8", 1);
    set_tag(&f->tags[4], "sp", "F10", 1);
    set_tag(&f->tags[5], "flag", "W9/2", 1);
    snprintf(f->scan.name, sizeof(f->scan.name), "fast");
    f->scan.period_ms = 20;
    memset(&ec, 0, sizeof(ec));
    ec.lines = &f->line;
    ec.nlines = 1;
    ec.devices = &f->dev;
    ec.ndevices = 1;
    ec.tags = f->tags;
    ec.ntags = NTAGS;
    ec.scans = &f->scan;
    ec.nscans = 1;
    pl_status_clear(&err);
    assert_int_equal(pl_engine_new(&f->loop, &ec, &cbs, f, &f->e, &err), 0);
    mqtt_open(f, client_id);
    assert_int_equal(pl_engine_start(f->e), 0);
    sub_open(&f->sub, &f->loop, &f->broker, "test-sub", "#");
}

static void teardown(fx_t *f)
{
    if (f->e != NULL) {
        pl_engine_stop(f->e, NULL);
        pl_engine_free(f->e);
        f->e = NULL;
    }
    pl_mqtt_free(f->m);
    f->m = NULL;
    sub_close(&f->sub);
    if (f->srv != NULL)
        pl_ttcp_server_free(f->srv);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    broker_cleanup(&f->broker);
}

/* --- tests -------------------------------------------------------------------------- */

static void test_values_and_status(void **state)
{
    fx_t f;
    sub_t late;
    const rx_t *r;

    (void)state;
    setup(&f, "inst-a");
    assert_true(run_until(&f, is_connected, NULL, 5000));
    wait_rx(&f, "plc/line1/dev1/w5", "\"value\":1234", 5000);
    wait_rx(&f, "plc/line1/dev1/w5", "\"quality\":\"good\"", 100);
    wait_rx(&f, "plc/line1/dev1/w5", "\"error\":null", 100);
    wait_rx(&f, "plc/line1/dev1/ro", "\"value\":6", 2000);
    wait_rx(&f, "plc/inst-a/status", "online", 2000);
    wait_rx(&f, "plc/line1/dev1/status", "\"connected\":true", 2000);
    r = sub_must(&f.sub, "plc/line1/dev1/w5");
    assert_non_null(strstr(r->payload, "\"ts\":\"20"));

    /* a change arrives */
    pl_ttcp_server_words(f.srv, 1)[7] = 77;
    wait_rx(&f, "plc/line1/dev1/cnt", "\"value\":77", 2000);

    /* retained: a subscriber that comes later gets the values with the retain flag */
    sub_open(&late, &f.loop, &f.broker, "late-sub", "plc/line1/dev1/+");
    wait_rx_on(&f, &late, "plc/line1/dev1/cnt", "\"value\":77", 2000);
    r = sub_must(&late, "plc/line1/dev1/cnt");
    assert_true(r->retain);
    sub_close(&late);
    assert_int_equal(pl_mqtt_stats(f.m)->dropped, 0);
    assert_true(pl_mqtt_stats(f.m)->published >= NTAGS);

    /* a clean end says "offline" itself (no last will needed) */
    pl_engine_stop(f.e, NULL);
    pl_engine_free(f.e);
    f.e = NULL;
    pl_mqtt_free(f.m);
    f.m = NULL;
    wait_rx(&f, "plc/inst-a/status", "offline", 3000);
    teardown(&f);
}

static void test_writes(void **state)
{
    fx_t f;
    const rx_t *r;

    (void)state;
    setup(&f, "inst-w");
    assert_true(run_until(&f, is_connected, NULL, 5000));
    wait_rx(&f, "plc/line1/dev1/w5", "\"value\":1234", 5000);

    /* JSON with id, MQTT 5 response topic and correlation data */
    sub_write(&f.sub, "plc/line1/dev1/w5/set", "{\"value\":4321,\"id\":\"w-1\"}", "reply/here",
              "corr-1");
    wait_rx(&f, "reply/here", "\"result\":\"ok\"", 3000);
    r = sub_must(&f.sub, "reply/here");
    assert_non_null(strstr(r->payload, "\"id\":\"w-1\""));
    assert_string_equal(r->corr, "corr-1");
    assert_int_equal(pl_ttcp_server_words(f.srv, 1)[5], 4321);
    wait_rx(&f, "plc/line1/dev1/w5", "\"value\":4321", 3000); /* read back and published */

    /* a plain value, answered on .../result */
    sub_write(&f.sub, "plc/line1/dev1/w5/set", "42", NULL, NULL);
    wait_rx(&f, "plc/line1/dev1/w5/result", "\"result\":\"ok\"", 3000);
    assert_int_equal(pl_ttcp_server_words(f.srv, 1)[5], 42);
    r = sub_must(&f.sub, "plc/line1/dev1/w5/result");
    assert_non_null(strstr(r->payload, "\"id\":null"));
    assert_false(r->retain);

    /* a tag whose name holds '/' has a deeper topic */
    sub_write(&f.sub, "plc/line1/dev1/area/pump/set", "{\"value\":9,\"id\":3}", NULL, NULL);
    wait_rx(&f, "plc/line1/dev1/area/pump/result", "\"id\":3", 3000);
    r = sub_must(&f.sub, "plc/line1/dev1/area/pump/result");
    assert_non_null(strstr(r->payload, "\"result\":\"ok\""));
    assert_int_equal(pl_ttcp_server_words(f.srv, 1)[8], 9);

    /* refused: read-only, unknown, wrong device in the topic, bad value */
    sub_write(&f.sub, "plc/line1/dev1/ro/set", "{\"value\":1,\"id\":\"r\"}", NULL, "c-ro");
    wait_rx(&f, "plc/line1/dev1/ro/result", "PL_EREADONLY", 3000);
    r = sub_must(&f.sub, "plc/line1/dev1/ro/result");
    assert_non_null(strstr(r->payload, "\"result\":\"error\""));
    assert_non_null(strstr(r->payload, "\"id\":\"r\""));
    assert_string_equal(r->corr, "c-ro");
    assert_int_equal(pl_ttcp_server_words(f.srv, 1)[6], 6);
    sub_write(&f.sub, "plc/line1/dev1/nope/set", "1", NULL, NULL);
    wait_rx(&f, "plc/line1/dev1/nope/result", "PL_ENOTAG", 3000);
    sub_write(&f.sub, "plc/line1/devX/w5/set", "1", NULL, NULL);
    wait_rx(&f, "plc/line1/devX/w5/result", "PL_ENOTAG", 3000);
    sub_write(&f.sub, "plc/line1/dev1/w5/set", "{\"value\":[1]}", NULL, NULL);
    wait_rx(&f, "plc/line1/dev1/w5/result", "PL_EVALUE", 3000);
    assert_int_equal(pl_ttcp_server_words(f.srv, 1)[5], 42);
    assert_int_equal(pl_mqtt_stats(f.m)->writes_ok, 3);
    assert_int_equal(pl_mqtt_stats(f.m)->writes_failed, 4);
    teardown(&f);
}

typedef struct {
    fx_t *f;
    uint16_t v;
} ticker_t;

static void on_ticker(uv_timer_t *t)
{
    ticker_t *k = t->data;

    pl_ttcp_server_words(k->f->srv, 1)[7] = ++k->v;
}

static int coalesced_enough(fx_t *f, const void *arg)
{
    (void)arg;
    return pl_mqtt_stats(f->m)->coalesced >= 5;
}

static int reconnected(fx_t *f, const void *arg)
{
    (void)arg;
    return pl_mqtt_stats(f->m)->connected && pl_mqtt_stats(f->m)->reconnects >= 1;
}

static int engine_caught_up(fx_t *f, const void *arg)
{
    return pl_engine_tag(f->e, "cnt")->value.i == *(const uint16_t *)arg;
}

static void test_broker_restart(void **state)
{
    fx_t f;
    uv_timer_t tick;
    ticker_t k;
    char want[32];
    const pl_mqtt_stats_t *s;

    (void)state;
    setup(&f, "inst-r");
    assert_true(run_until(&f, is_connected, NULL, 5000));
    wait_rx(&f, "plc/line1/dev1/w5", "\"value\":1234", 5000);
    sub_close(&f.sub);

    broker_kill(&f.broker, SIGKILL);
    /* values keep changing while the broker is away: one waits per tag */
    k.f = &f;
    k.v = 1000;
    uv_timer_init(&f.loop, &tick);
    tick.data = &k;
    uv_timer_start(&tick, on_ticker, 25, 25);
    assert_true(run_until(&f, coalesced_enough, NULL, 5000));
    s = pl_mqtt_stats(f.m);
    assert_false(s->connected);
    assert_true(s->pending >= 1);
    assert_true(s->pending <= NTAGS + 1); /* one per tag, plus the device status */
    assert_true(s->pending_peak <= NTAGS + 1);
    uv_timer_stop(&tick);
    uv_close((uv_handle_t *)&tick, NULL);
    /* the engine kept polling (the last tick may be a poll ahead of it) */
    assert_true(run_until(&f, engine_caught_up, &k.v, 3000));

    broker_start(&f.broker); /* same port, empty: no retained values survived */
    assert_true(run_until(&f, reconnected, NULL, 10000));
    sub_open(&f.sub, &f.loop, &f.broker, "test-sub2", "#");
    snprintf(want, sizeof(want), "\"value\":%u", (unsigned)k.v);
    wait_rx(&f, "plc/line1/dev1/cnt", want, 5000);
    wait_rx(&f, "plc/line1/dev1/w5", "\"value\":1234", 5000); /* unchanged, republished */
    wait_rx(&f, "plc/inst-r/status", "online", 3000);
    wait_rx(&f, "plc/line1/dev1/status", "\"connected\":true", 3000);
    s = pl_mqtt_stats(f.m);
    assert_int_equal(s->pending, 0);
    assert_true(s->pending_peak <= NTAGS + 1);
    assert_int_equal(s->dropped, 0);
    teardown(&f);
}

/* A client that dies without a word: the broker publishes its last will. */
static void victim(uint16_t port, int ready_fd)
{
    fx_t f;

    memset(&f, 0, sizeof(f));
    f.broker.port = port;
    if (uv_loop_init(&f.loop) != 0)
        _exit(2);
    mqtt_open(&f, "victim");
    if (!run_until(&f, is_connected, NULL, 5000))
        _exit(4);
    if (write(ready_fd, "r", 1) != 1)
        _exit(5);
    uv_run(&f.loop, UV_RUN_DEFAULT); /* until SIGKILL */
    _exit(6);
}

static void test_last_will(void **state)
{
    fx_t f;
    int fds[2], status;
    pid_t pid;
    char c = 0;
    struct pollfd pfd;

    (void)state;
    memset(&f, 0, sizeof(f));
    broker_start(&f.broker);
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        victim(f.broker.port, fds[1]);
    }
    close(fds[1]);
    remember(pid, 0);
    pfd.fd = fds[0];
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (poll(&pfd, 1, 10000) != 1 || read(fds[0], &c, 1) != 1) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("the child did not connect");
    }
    close(fds[0]);
    assert_int_equal(uv_loop_init(&f.loop), 0);
    sub_open(&f.sub, &f.loop, &f.broker, "will-sub", "plc/victim/status");
    wait_rx(&f, "plc/victim/status", "online", 3000);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    remember(0, pid);
    assert_true(WIFSIGNALED(status));
    wait_rx(&f, "plc/victim/status", "offline", 5000);
    assert_true(sub_must(&f.sub, "plc/victim/status")->count >= 2);
    teardown(&f);
}

/* Two client ids on one broker: separate status topics, one leaving does not touch the
 * other. */
static void test_two_instances(void **state)
{
    fx_t f;
    pl_mqtt_t *a;

    (void)state;
    setup(&f, "inst-1");
    a = f.m;
    assert_true(run_until(&f, is_connected, NULL, 5000));
    mqtt_open(&f, "inst-2"); /* a second client on the same loop, no engine writes */
    assert_true(run_until(&f, is_connected, NULL, 5000));
    wait_rx(&f, "plc/inst-1/status", "online", 3000);
    wait_rx(&f, "plc/inst-2/status", "online", 3000);
    pl_mqtt_free(f.m);
    f.m = a;
    wait_rx(&f, "plc/inst-2/status", "offline", 3000);
    assert_true(pl_mqtt_stats(a)->connected);
    assert_int_equal(pl_mqtt_stats(a)->reconnects, 0);
    assert_string_equal(sub_must(&f.sub, "plc/inst-1/status")->payload, "online");
    teardown(&f);
}

static void test_bad_config(void **state)
{
    uv_loop_t loop;
    uv_timer_t guard;
    int expired = 0;
    pl_north_def_t d;
    pl_mqtt_opts_t o;
    pl_mqtt_t *m = NULL;
    pl_status_t err;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    memset(&d, 0, sizeof(d));
    d.mqtt_qos_pub = 3;
    assert_int_equal(pl_mqtt_new(&loop, &d, NULL, NULL, NULL, &m, &err), PL_ECONFIG);
    d.mqtt_qos_pub = 0;
    snprintf(d.mqtt_prefix, sizeof(d.mqtt_prefix), "a/+");
    assert_int_equal(pl_mqtt_new(&loop, &d, NULL, NULL, NULL, &m, &err), PL_ECONFIG);
    assert_null(m);
    /* a CA file that cannot be read is a configuration error, found at once */
    d.mqtt_prefix[0] = '\0';
    snprintf(d.mqtt_ca_file, sizeof(d.mqtt_ca_file), "/nonexistent/ca.pem");
    assert_int_equal(pl_mqtt_new(&loop, &d, NULL, NULL, NULL, &m, &err), PL_ECONFIG);
    assert_null(m);
    d.mqtt_ca_file[0] = '\0';
    /* a broker that is not there: no error, retries until freed (a short back-off, so that
     * several attempts fail within the guard's deadline) */
    snprintf(d.mqtt_prefix, sizeof(d.mqtt_prefix), "p");
    d.mqtt_port = free_port();
    pl_mqtt_opts_init(&o);
    o.backoff_min_ms = 1;
    o.backoff_max_ms = 4;
    assert_int_equal(pl_mqtt_new(&loop, &d, NULL, NULL, &o, &m, &err), 0);
    assert_int_equal(uv_timer_init(&loop, &guard), 0);
    guard.data = &expired;
    assert_int_equal(uv_timer_start(&guard, on_guard, 5000, 0), 0);
    while (pl_mqtt_stats(m)->connect_failures < 3 && !expired)
        uv_run(&loop, UV_RUN_ONCE);
    assert_false(expired);
    assert_true(pl_mqtt_stats(m)->connect_failures >= 3);
    assert_false(pl_mqtt_stats(m)->connected);
    assert_int_equal(pl_mqtt_stats(m)->connects, 0);
    pl_mqtt_free(m);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* --- value kinds, reload, the pending table ---------------------------------------- */

static float words_float(const uint16_t *w) /* the simulator's F: low word first */
{
    uint32_t bits = (uint32_t)w[0] | (uint32_t)w[1] << 16;
    float v;

    memcpy(&v, &bits, sizeof(v));
    return v;
}

/* A set request answered on .../result with `has` (the result replaces the one before). */
static void write_expect(fx_t *f, const char *tag, const char *payload, const char *has)
{
    char set[128], res[128];

    snprintf(set, sizeof(set), "plc/line1/dev1/%s/set", tag);
    snprintf(res, sizeof(res), "plc/line1/dev1/%s/result", tag);
    f->sub.n = 0; /* forget earlier results */
    sub_write(&f->sub, set, payload, NULL, NULL);
    wait_rx(f, res, has, 3000);
}

/* Writes of every value kind a request may carry: JSON true/false (a bit), a real and a
 * string holding a number (a float), a string and a plain-text number (an integer); text
 * that is no number is refused by the address grammar. */
static void test_write_value_kinds(void **state)
{
    fx_t f;
    uint16_t *w;

    (void)state;
    setup(&f, "inst-k");
    w = pl_ttcp_server_words(f.srv, 1);
    assert_true(run_until(&f, is_connected, NULL, 5000));
    wait_rx(&f, "plc/line1/dev1/flag", "\"value\":false", 5000);

    write_expect(&f, "flag", "{\"value\":true,\"id\":\"b1\"}", "\"result\":\"ok\"");
    assert_int_equal(w[9], 0x0004);
    wait_rx(&f, "plc/line1/dev1/flag", "\"value\":true", 3000);
    write_expect(&f, "flag", "false", "\"result\":\"ok\"");
    assert_int_equal(w[9], 0x0000);

    write_expect(&f, "sp", "{\"value\":21.5}", "\"result\":\"ok\"");
    assert_true(words_float(w + 10) == 21.5f);
    wait_rx(&f, "plc/line1/dev1/sp", "\"value\":21.5", 3000);
    write_expect(&f, "sp", "{\"value\":\"-0.25\",\"id\":7}", "\"id\":7");
    assert_non_null(strstr(sub_must(&f.sub, "plc/line1/dev1/sp/result")->payload, "\"ok\""));
    assert_true(words_float(w + 10) == -0.25f);

    write_expect(&f, "w5", "\"321\"", "\"result\":\"ok\"");
    assert_int_equal(w[5], 321);
    write_expect(&f, "w5", "4.0", "\"result\":\"ok\""); /* an integral real */
    assert_int_equal(w[5], 4);
    write_expect(&f, "w5", "4.5", "PL_EVALUE");
    write_expect(&f, "w5", "pump on", "PL_EVALUE"); /* plain text, not a number */
    assert_int_equal(w[5], 4);
    assert_int_equal(pl_mqtt_stats(f.m)->writes_ok, 6);
    assert_int_equal(pl_mqtt_stats(f.m)->writes_failed, 2);
    teardown(&f);
}

static pl_engine_t *engine_with(fx_t *f, const pl_tag_def_t *tags, size_t n)
{
    pl_engine_config_t ec;
    pl_engine_cbs_t cbs = {.on_change = on_change, .on_device = on_device};
    pl_engine_t *e = NULL;
    pl_status_t err;

    memset(&ec, 0, sizeof(ec));
    ec.lines = &f->line;
    ec.nlines = 1;
    ec.devices = &f->dev;
    ec.ndevices = 1;
    ec.tags = tags;
    ec.ntags = n;
    ec.scans = &f->scan;
    ec.nscans = 1;
    pl_status_clear(&err);
    assert_int_equal(pl_engine_new(&f->loop, &ec, &cbs, f, &e, &err), 0);
    return e;
}

/* A reload gives the running client a new engine (pl_mqtt_set_engine): writes go to it, its
 * new tags are published, a new tag whose name holds '/' is subscribed at once, a tag it no
 * longer has is refused; with no engine, writes are refused with PL_ESTOPPED. */
static void test_reload_new_engine(void **state)
{
    fx_t f;
    pl_tag_def_t next[2];
    pl_engine_t *e2;
    uint16_t *w;

    (void)state;
    setup(&f, "inst-n");
    w = pl_ttcp_server_words(f.srv, 1);
    w[12] = 1200;
    assert_true(run_until(&f, is_connected, NULL, 5000));
    wait_rx(&f, "plc/line1/dev1/w5", "\"value\":1234", 5000);

    set_tag(&next[0], "w12", "W12", 1);
    set_tag(&next[1], "area/valve", "W13", 1);
    e2 = engine_with(&f, next, 2);
    pl_engine_adopt(e2, f.e);
    pl_mqtt_set_engine(f.m, e2);
    pl_engine_stop(f.e, NULL);
    pl_engine_free(f.e);
    f.e = e2;
    assert_int_equal(pl_engine_start(e2), 0);
    wait_rx(&f, "plc/line1/dev1/w12", "\"value\":1200", 5000);

    write_expect(&f, "w12", "{\"value\":12,\"id\":\"n1\"}", "\"result\":\"ok\"");
    assert_int_equal(w[12], 12);
    write_expect(&f, "area/valve", "13", "\"result\":\"ok\"");
    assert_int_equal(w[13], 13);
    write_expect(&f, "w5", "5", "PL_ENOTAG"); /* gone with the old configuration */
    assert_int_equal(w[5], 1234);

    pl_mqtt_set_engine(f.m, NULL);
    write_expect(&f, "w12", "1", "PL_ESTOPPED");
    assert_int_equal(w[12], 12);
    pl_mqtt_set_engine(f.m, e2);
    teardown(&f);
}

static int pending_is(fx_t *f, const void *arg)
{
    return pl_mqtt_stats(f->m)->pending == *(const uint64_t *)arg;
}

static void publish_tags(fx_t *f, unsigned from, unsigned to, int64_t value)
{
    pl_tag_state_t st;
    char name[16];
    unsigned i;

    memset(&st, 0, sizeof(st));
    st.line = "line1";
    st.device = "bulk";
    st.value.type = PL_VT_INT;
    st.value.i = value;
    st.ts_ms = 1700000000000ull;
    for (i = from; i < to; i++) {
        snprintf(name, sizeof(name), "t%04u", i);
        st.tag = name;
        pl_mqtt_publish_state(f->m, &st);
    }
}

static int sub_total_at_least(fx_t *f, const void *arg)
{
    return f->sub.total >= *(const unsigned *)arg;
}

/* While the broker is away the pending table holds one message per topic: it grows past
 * its first hash size (256 buckets, 1200 topics) and stops at max_pending (1000): the
 * messages beyond are dropped and counted, newer values of waiting topics replace them
 * (coalesced, not dropped). When the broker comes, everything waiting is delivered. */
static void test_pending_table_limit(void **state)
{
    fx_t f;
    pl_mqtt_opts_t o;
    pl_status_t err;
    const pl_mqtt_stats_t *s;
    uint64_t zero = 0;
    unsigned want = 1000;
    sub_t one;

    (void)state;
    memset(&f, 0, sizeof(f));
    assert_int_equal(uv_loop_init(&f.loop), 0);
    f.broker.port = free_port(); /* nothing listens there yet */
    pl_mqtt_opts_init(&o);
    o.backoff_min_ms = 20;
    o.backoff_max_ms = 100;
    o.max_pending = 1000;
    o.seed = 7;
    memset(&f.north, 0, sizeof(f.north));
    f.north.mqtt = 1;
    snprintf(f.north.mqtt_host, sizeof(f.north.mqtt_host), "127.0.0.1");
    f.north.mqtt_port = f.broker.port;
    snprintf(f.north.mqtt_client_id, sizeof(f.north.mqtt_client_id), "inst-p");
    snprintf(f.north.mqtt_prefix, sizeof(f.north.mqtt_prefix), "plc");
    f.north.mqtt_qos_sub = 1;
    assert_int_equal(pl_mqtt_new(&f.loop, &f.north, NULL, NULL, &o, &f.m, &err), 0);
    uv_run(&f.loop, UV_RUN_NOWAIT);

    publish_tags(&f, 0, 1200, 1);
    s = pl_mqtt_stats(f.m);
    assert_false(s->connected);
    assert_int_equal(s->pending, 1000);
    assert_int_equal(s->pending_peak, 1000);
    assert_int_equal(s->dropped, 200);
    assert_int_equal(s->coalesced, 0);
    publish_tags(&f, 0, 1000, 2); /* found again after the table grew */
    assert_int_equal(s->pending, 1000);
    assert_int_equal(s->coalesced, 1000);
    assert_int_equal(s->dropped, 200);
    publish_tags(&f, 1000, 1001, 2); /* still full */
    assert_int_equal(s->dropped, 201);

    broker_start(&f.broker);
    assert_true(run_until(&f, pending_is, &zero, 10000));
    s = pl_mqtt_stats(f.m);
    assert_int_equal(s->published, 1000);
    assert_int_equal(s->dropped, 201);
    sub_open(&f.sub, &f.loop, &f.broker, "pend-sub", "plc/line1/bulk/+");
    assert_true(run_until(&f, sub_total_at_least, &want, 10000)); /* all retained */
    sub_open(&one, &f.loop, &f.broker, "pend-sub2", "plc/line1/bulk/t0999");
    wait_rx_on(&f, &one, "plc/line1/bulk/t0999", "\"value\":2", 5000); /* the newer value */
    sub_close(&one);
    teardown(&f);
}

/* --- the initial publication of many tags -------------------------------------------- */

#define DRAIN_DEVS     20
#define DRAIN_PER_DEV  1000 /* W0..W999 of each node: 4 blocks of 256 words */
#define DRAIN_TAGS_MAX (DRAIN_DEVS * DRAIN_PER_DEV)

/* A subscriber on libmosquitto's own thread (it must keep up with tens of thousands of
 * messages), counting the messages of every tag topic plc/line1/d<k>/t<i>. */
typedef struct {
    pthread_mutex_t mu;
    struct mosquitto *mosq;
    unsigned counts[DRAIN_TAGS_MAX];
    long first[DRAIN_TAGS_MAX], last[DRAIN_TAGS_MAX]; /* the values of the first and the last
                                                         message */
    unsigned ntags;
    unsigned tag_msgs, results;
    int subscribed;
} counter_t;

static counter_t g_counter;

static void counter_on_subscribe(struct mosquitto *mosq, void *ud, int mid, int n,
                                 const int *granted, const mosquitto_property *props)
{
    counter_t *c = ud;

    (void)mosq;
    (void)mid;
    (void)n;
    (void)granted;
    (void)props;
    pthread_mutex_lock(&c->mu);
    c->subscribed = 1;
    pthread_mutex_unlock(&c->mu);
}

static void counter_on_message(struct mosquitto *mosq, void *ud,
                               const struct mosquitto_message *msg, const mosquitto_property *props)
{
    counter_t *c = ud;
    unsigned dev, tag;
    int end = 0;
    size_t tl = strlen(msg->topic);

    (void)mosq;
    (void)props;
    pthread_mutex_lock(&c->mu);
    if (sscanf(msg->topic, "plc/line1/d%u/t%u%n", &dev, &tag, &end) == 2 && (size_t)end == tl &&
        tag < c->ntags) {
        char text[256];
        const char *v;

        snprintf(text, sizeof(text), "%.*s", msg->payloadlen, (const char *)msg->payload);
        v = strstr(text, "\"value\":");

        c->counts[tag]++;
        c->tag_msgs++;
        c->last[tag] = v != NULL ? strtol(v + 8, NULL, 10) : -1;
        if (c->counts[tag] == 1)
            c->first[tag] = c->last[tag];
    } else if (tl > 7 && strcmp(msg->topic + tl - 7, "/result") == 0) {
        c->results++;
    }
    pthread_mutex_unlock(&c->mu);
}

static unsigned counter_get(counter_t *c, const unsigned *field)
{
    unsigned v;

    pthread_mutex_lock(&c->mu);
    v = *field;
    pthread_mutex_unlock(&c->mu);
    return v;
}

/* Connects the counter to the broker and waits until its subscription stands. */
static void counter_open(counter_t *c, uint16_t port, const char *id)
{
    uint64_t deadline = mono_ms() + 10000;

    pthread_mutex_lock(&c->mu);
    memset(c->counts, 0, sizeof(c->counts));
    c->tag_msgs = c->results = 0;
    c->subscribed = 0;
    pthread_mutex_unlock(&c->mu);
    c->mosq = mosquitto_new(id, true, c);
    assert_non_null(c->mosq);
    mosquitto_int_option(c->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_subscribe_v5_callback_set(c->mosq, counter_on_subscribe);
    mosquitto_message_v5_callback_set(c->mosq, counter_on_message);
    assert_int_equal(mosquitto_connect(c->mosq, "127.0.0.1", port, 30), MOSQ_ERR_SUCCESS);
    assert_int_equal(mosquitto_subscribe_v5(c->mosq, NULL, "plc/#", 1, 0, NULL), MOSQ_ERR_SUCCESS);
    assert_int_equal(mosquitto_loop_start(c->mosq), MOSQ_ERR_SUCCESS);
    while (!counter_get(c, (const unsigned *)&c->subscribed)) {
        assert_true(mono_ms() < deadline);
        poll(NULL, 0, 2); /* a short pause between looks, bounded by the deadline */
    }
}

static void counter_close(counter_t *c)
{
    mosquitto_disconnect(c->mosq);
    mosquitto_loop_stop(c->mosq, false);
    mosquitto_destroy(c->mosq);
    c->mosq = NULL;
}

/* Every tag seen at least once, and the changed ones (the tags of word 1..10 of the first
 * device and word 990..999 of the last) with their new value (5000 + word). */
static int counter_complete(counter_t *c, unsigned ndevs)
{
    unsigned i;
    int done = 1;

    pthread_mutex_lock(&c->mu);
    for (i = 0; i < c->ntags && done; i++)
        done = c->counts[i] > 0;
    for (i = 1; i <= 10 && done; i++)
        done = c->last[i] == 5000 + (long)i &&
               c->last[(ndevs - 1) * DRAIN_PER_DEV + 989 + i] == 5989 + (long)i;
    pthread_mutex_unlock(&c->mu);
    return done;
}

static long counter_last(counter_t *c, unsigned tag)
{
    long v;

    pthread_mutex_lock(&c->mu);
    v = c->counts[tag] > 0 ? c->last[tag] : -1;
    pthread_mutex_unlock(&c->mu);
    return v;
}

static int not_connected(fx_t *f, const void *arg)
{
    (void)arg;
    return !pl_mqtt_stats(f->m)->connected;
}

static int counter_results(fx_t *f, const void *arg)
{
    (void)f;
    (void)arg;
    return counter_get(&g_counter, &g_counter.results) >= 1;
}

static int pending_at_least(fx_t *f, const void *arg)
{
    return pl_mqtt_stats(f->m)->pending >= *(const uint64_t *)arg;
}

/* The first value of every tag of a large configuration waits while the broker is away;
 * when it comes, the publication is paced: at most max_per_turn messages per loop turn, so
 * the engine keeps polling while it drains (no request timeout, no error, no device off
 * scan), and every tag's state reaches a subscriber exactly once: the republication after
 * the connect does not send again the tags whose state was waiting. (It used to publish
 * everything the socket took in one turn, then every tag a second time.) */
static void test_initial_drain(void **state)
{
    fx_t f;
    pl_ttcp_server_config_t sc;
    pl_engine_config_t ec;
    pl_engine_cbs_t cbs = {.on_change = on_change, .on_device = on_device};
    pl_device_def_t devs[DRAIN_DEVS];
    pl_tag_def_t *tags;
    char(*texts)[2][16]; /* each tag's name and address (pl_tag_def_t points at them) */
    pl_mqtt_opts_t o;
    pl_engine_stats_t es;
    pl_status_t err;
    const pl_mqtt_stats_t *s;
    counter_t *c = &g_counter;
    unsigned ndevs = getenv("PL_VALGRIND") != NULL ? 2 : DRAIN_DEVS, ntags = ndevs * DRAIN_PER_DEV;
    uint64_t want, deadline, turns_draining = 0, zero = 0;
    unsigned i, k, syn = ndevs * DRAIN_PER_DEV - 11; /* word 989 of the last device */
    int changed;
    char topic[64];

    (void)state;
    memset(&f, 0, sizeof(f));
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    c->ntags = ntags;
    assert_int_equal(uv_loop_init(&f.loop), 0);
    f.broker.port = free_port(); /* nothing listens there yet */

    pl_ttcp_server_config_init(&sc);
    sc.listen.port = 0;
    sc.node_first = 1;
    sc.node_last = DRAIN_DEVS;
    assert_int_equal(pl_ttcp_server_new(&f.loop, &sc, &f.srv, NULL), 0);
    snprintf(f.line.name, sizeof(f.line.name), "line1");
    snprintf(f.line.protocol, sizeof(f.line.protocol), "7ttcp");
    pl_line_config_init(&f.line.line);
    assert_int_equal(pl_hostlist_parse(&f.line.line.hosts, "127.0.0.1", 9, NULL), 0);
    f.line.line.port = pl_ttcp_server_port(f.srv);
    f.line.timeout_ms = 1000;
    tags = calloc(ntags, sizeof(*tags));
    assert_non_null(tags);
    texts = calloc(ntags, sizeof(*texts));
    assert_non_null(texts);
    for (k = 0; k < ndevs; k++) {
        uint16_t *w = pl_ttcp_server_words(f.srv, k + 1);

        memset(&devs[k], 0, sizeof(devs[k]));
        snprintf(devs[k].name, sizeof(devs[k].name), "d%u", k);
        snprintf(devs[k].line, sizeof(devs[k].line), "line1");
        snprintf(devs[k].keys, sizeof(devs[k].keys), "node=%u", k + 1);
        for (i = 0; i < DRAIN_PER_DEV; i++) {
            pl_tag_def_t *t = &tags[k * DRAIN_PER_DEV + i];

            w[i] = (uint16_t)(k * 7 + i);
            snprintf(texts[k * DRAIN_PER_DEV + i][0], sizeof(texts[0][0]), "t%u",
                     k * DRAIN_PER_DEV + i);
            snprintf(texts[k * DRAIN_PER_DEV + i][1], sizeof(texts[0][1]), "W%u", i);
            t->name = texts[k * DRAIN_PER_DEV + i][0];
            t->device = devs[k].name;
            t->address = texts[k * DRAIN_PER_DEV + i][1];
            t->scan = "fast";
            t->writable = i == 0;
        }
    }
    snprintf(f.scan.name, sizeof(f.scan.name), "fast");
    f.scan.period_ms = 100;
    f.scan.stale_ms = 600000; /* a slow run (valgrind) makes no value uncertain: one state */
    memset(&ec, 0, sizeof(ec));
    ec.lines = &f.line;
    ec.nlines = 1;
    ec.devices = devs;
    ec.ndevices = ndevs;
    ec.tags = tags;
    ec.ntags = ntags;
    ec.scans = &f.scan;
    ec.nscans = 1;
    pl_status_clear(&err);
    assert_int_equal(pl_engine_new(&f.loop, &ec, &cbs, &f, &f.e, &err), 0);

    pl_mqtt_opts_init(&o); /* the default pacing */
    o.backoff_min_ms = 20;
    o.backoff_max_ms = 100;
    o.seed = 11;
    f.north.mqtt = 1;
    snprintf(f.north.mqtt_host, sizeof(f.north.mqtt_host), "127.0.0.1");
    f.north.mqtt_port = f.broker.port;
    snprintf(f.north.mqtt_client_id, sizeof(f.north.mqtt_client_id), "inst-d");
    snprintf(f.north.mqtt_prefix, sizeof(f.north.mqtt_prefix), "plc");
    f.north.mqtt_qos_sub = 1;
    assert_int_equal(pl_mqtt_new(&f.loop, &f.north, f.e, NULL, &o, &f.m, &err), 0);
    assert_int_equal(pl_engine_start(f.e), 0);

    /* every tag read once, its first state waiting with the device statuses */
    want = ntags + ndevs;
    assert_true(run_until(&f, pending_at_least, &want, 30000));
    s = pl_mqtt_stats(f.m);
    assert_false(s->connected);
    assert_int_equal(s->published, 0);

    /* the broker, and a subscriber whose subscription stands before plcline connects (the
     * loop, and so plcline's next attempt, waits until then) */
    broker_start(&f.broker);
    counter_open(c, f.broker.port, "drain-sub");

    /* turn by turn until everything waiting went out */
    deadline = mono_ms() + 60000;
    for (;;) {
        uint64_t before = s->published;

        uv_run(&f.loop, UV_RUN_ONCE);
        assert_true(s->published - before <= o.max_per_turn);
        if (s->connected && s->pending > 0)
            turns_draining++;
        if (s->connected && s->pending == 0 && s->published >= ntags)
            break;
        assert_true(mono_ms() < deadline);
    }
    assert_true(turns_draining > 1);

    /* a write's result comes after everything plcline published before it */
    sub_open(&f.sub, &f.loop, &f.broker, "drain-writer", "plc/none");
    sub_write(&f.sub, "plc/line1/d0/t0/set", "0", NULL, NULL);
    assert_true(run_until(&f, counter_results, NULL, 10000));
    counter_close(c);

    for (i = 0; i < ntags; i++)
        if (c->counts[i] != 1)
            fail_msg("tag t%u reached the broker %u times", i, c->counts[i]);
    assert_int_equal(c->tag_msgs, ntags);
    s = pl_mqtt_stats(f.m);
    assert_int_equal(s->published, ntags);
    assert_int_equal(s->dropped, 0);
    assert_int_equal(s->coalesced, 0);
    assert_true(run_until(&f, pending_is, &zero, 100));
    for (k = 0; k < ndevs; k++) { /* polling went on: nothing late, nothing off scan */
        snprintf(topic, sizeof(topic), "d%u", k);
        assert_int_equal(pl_engine_device_stats(f.e, topic, &es), 0);
        assert_int_equal(es.timeouts, 0);
        assert_int_equal(es.errors, 0);
        assert_int_equal(es.demoted, 0);
        assert_true(es.responses > 4); /* more than the first scan */
    }

    /* the broker restarts empty: the republication sends every tag once; tags that change
     * while it runs (whether it passed them or not) end with their newest state */
    sub_close(&f.sub);
    broker_kill(&f.broker, SIGKILL);
    assert_true(run_until(&f, not_connected, NULL, 10000));
    broker_start(&f.broker);
    counter_open(c, f.broker.port, "drain-sub2");
    changed = 0;
    deadline = mono_ms() + 60000;
    for (;;) {
        uint64_t before = s->published;

        uv_run(&f.loop, UV_RUN_ONCE);
        assert_true(s->published - before <= o.max_per_turn);
        if (s->connected && !changed) { /* the republication has begun */
            uint16_t *w0 = pl_ttcp_server_words(f.srv, 1), *wl = pl_ttcp_server_words(f.srv, ndevs);

            pl_tag_state_t st = *pl_engine_tag_at(f.e, syn);

            for (i = 1; i <= 10; i++) {
                w0[i] = (uint16_t)(5000 + i);
                wl[989 + i] = (uint16_t)(5989 + i);
            }
            /* and one change handed over now, for a tag the republication has not reached
             * (it has sent at most max_per_turn): it waits, and the pass leaves it out */
            st.value.type = PL_VT_INT;
            st.value.i = 7777;
            pl_mqtt_publish_state(f.m, &st);
            changed = 1;
        }
        if (changed && s->connected && s->pending == 0 && counter_complete(c, ndevs) &&
            counter_last(c, syn) == 7777)
            break;
        assert_true(mono_ms() < deadline);
    }
    sub_open(&f.sub, &f.loop, &f.broker, "drain-writer2", "plc/none");
    sub_write(&f.sub, "plc/line1/d0/t0/set", "0", NULL, NULL);
    assert_true(run_until(&f, counter_results, NULL, 10000));
    counter_close(c);
    for (i = 0; i < ntags; i++) {
        unsigned w = i % DRAIN_PER_DEV, dev = i / DRAIN_PER_DEV;
        int is_changed = (dev == 0 && w >= 1 && w <= 10) || (dev == ndevs - 1 && w >= 990);

        if (is_changed ? c->counts[i] < 1 || c->counts[i] > 2 : c->counts[i] != 1)
            fail_msg("tag t%u reached the broker %u times after the restart", i, c->counts[i]);
        /* a changed tag twice: its old state by the republication, then the new one */
        if (c->counts[i] == 2 && c->first[i] != (long)(dev * 7 + w))
            fail_msg("tag t%u: the same state twice (%ld)", i, c->first[i]);
    }
    assert_int_equal(c->counts[syn], 1);
    assert_int_equal(s->dropped, 0);
    for (k = 0; k < ndevs; k++) {
        snprintf(topic, sizeof(topic), "d%u", k);
        assert_int_equal(pl_engine_device_stats(f.e, topic, &es), 0);
        assert_int_equal(es.timeouts, 0);
        assert_int_equal(es.errors, 0);
        assert_int_equal(es.demoted, 0);
    }
    teardown(&f);
    free(tags);
    free(texts);
    pthread_mutex_destroy(&c->mu);
}

/* --- a fake broker ------------------------------------------------------------------ */

typedef struct {
    pl_listener_t *lst;
    int accepted, connects;
    int refuse; /* answer CONNECT with a CONNACK refusing it, else never answer */
} fake_t;

static fake_t g_fake;
static char g_mqtt_log[4096]; /* the client's warnings, one per line */

static void keep_log(void *ud, pl_log_level_t level, const char *msg)
{
    size_t n = strlen(g_mqtt_log);

    (void)ud;
    if (level <= PL_LOG_WARN && n + strlen(msg) + 2 < sizeof(g_mqtt_log))
        snprintf(g_mqtt_log + n, sizeof(g_mqtt_log) - n, "%s\n", msg);
}

static const pl_logger_t g_keep_log = {.cb = keep_log, .ud = NULL, .level = PL_LOG_WARN};

static int fake_accept(pl_listener_t *l, pl_conn_t *conn, void *ud)
{
    (void)l;
    (void)conn;
    ((fake_t *)ud)->accepted++;
    return 0;
}

static void fake_data(pl_conn_t *conn, const uint8_t *buf, size_t len, void *ud)
{
    /* MQTT 5 CONNACK: no session present, reason 0x87 "not authorized", no properties */
    static const uint8_t refused[] = {0x20, 0x03, 0x00, 0x87, 0x00};
    fake_t *k = ud;

    if (len > 0 && buf[0] == 0x10) { /* CONNECT (a client sends it in one piece here) */
        k->connects++;
        if (k->refuse)
            (void)pl_conn_send(conn, refused, sizeof(refused));
    }
}

static void fake_close(pl_conn_t *conn, const pl_status_t *why, void *ud)
{
    (void)conn;
    (void)why;
    (void)ud;
}

static int fake_connects(fx_t *f, const void *arg)
{
    (void)f;
    return g_fake.connects >= *(const int *)arg;
}

/* A broker that accepts and either never sends CONNACK (connect timeout 100 ms) or refuses
 * the connection (the connect timeout then a minute: the refusal alone ends the attempt):
 * no session comes up, the client says why, and it tries again. */
static void fake_broker_case(int refuse, const char *why)
{
    static const pl_listener_cbs_t cbs = {
        .on_accept = fake_accept, .on_data = fake_data, .on_close = fake_close};
    pl_listener_config_t lc;
    pl_mqtt_opts_t o;
    pl_status_t err;
    fx_t f;
    int three = 3;
    const pl_mqtt_stats_t *s;

    memset(&f, 0, sizeof(f));
    memset(&g_fake, 0, sizeof(g_fake));
    g_mqtt_log[0] = '\0';
    g_fake.refuse = refuse;
    assert_int_equal(uv_loop_init(&f.loop), 0);
    memset(&lc, 0, sizeof(lc));
    assert_int_equal(pl_listener_new(&f.loop, &lc, &cbs, &g_fake, &g_fake.lst, NULL), 0);
    pl_mqtt_opts_init(&o);
    o.backoff_min_ms = 5;
    o.backoff_max_ms = 20;
    o.connect_timeout_ms = refuse ? 60000 : 100; /* a refusal ends the attempt by itself */
    o.seed = 3;
    memset(&f.north, 0, sizeof(f.north));
    f.north.mqtt = 1;
    snprintf(f.north.mqtt_host, sizeof(f.north.mqtt_host), "127.0.0.1");
    f.north.mqtt_port = pl_listener_port(g_fake.lst);
    snprintf(f.north.mqtt_client_id, sizeof(f.north.mqtt_client_id), "inst-f");
    assert_int_equal(pl_mqtt_new(&f.loop, &f.north, NULL, &g_keep_log, &o, &f.m, &err), 0);
    assert_true(run_until(&f, fake_connects, &three, 10000));
    s = pl_mqtt_stats(f.m);
    assert_false(s->connected);
    assert_int_equal(s->connects, 0);
    assert_true(s->connect_failures >= 2);
    assert_true(g_fake.accepted >= 3);
    if (strstr(g_mqtt_log, why) == NULL)
        fail_msg("no '%s' in the log:\n%s", why, g_mqtt_log);
    pl_mqtt_free(f.m);
    f.m = NULL;
    pl_listener_free(g_fake.lst);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f.loop), 0);
}

static void test_connack_timeout(void **state)
{
    (void)state;
    fake_broker_case(0, "no CONNACK within 100 ms");
}

static void test_broker_refuses(void **state)
{
    (void)state;
    fake_broker_case(1, "refused the connection: Not authorized");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_config),          cmocka_unit_test(test_last_will),
        cmocka_unit_test(test_values_and_status),   cmocka_unit_test(test_writes),
        cmocka_unit_test(test_broker_restart),      cmocka_unit_test(test_two_instances),
        cmocka_unit_test(test_write_value_kinds),   cmocka_unit_test(test_reload_new_engine),
        cmocka_unit_test(test_pending_table_limit), cmocka_unit_test(test_connack_timeout),
        cmocka_unit_test(test_broker_refuses),      cmocka_unit_test(test_initial_drain),
    };

    size_t i;
    int rc, status;

    signal(SIGPIPE, SIG_IGN);
    mosquitto_lib_init();
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    for (i = 0; i < sizeof(g_brokers) / sizeof(g_brokers[0]); i++)
        if (g_brokers[i] > 0) { /* left by a failed test */
            kill(g_brokers[i], SIGTERM);
            waitpid(g_brokers[i], &status, 0);
        }
    mosquitto_lib_cleanup();
    return rc;
}
