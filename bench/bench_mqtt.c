/* SPDX-License-Identifier: MIT */
/*
 * MQTT northbound benchmark: how many tag changes per second reach a subscriber through a
 * real broker, and how long one takes, plcline's client (src/north/mqtt) against a plain
 * libmosquitto publisher sending the same bytes, measured in the same run.
 *
 * Source: 10 000 tags fed straight into pl_mqtt_publish_state() by a synthetic source on
 * the loop (no engine, no device): a device poll would bound the rate by the poll, and this
 * measures the northbound alone. Each change carries a monotonic stamp in its value (µs,
 * CLOCK_MONOTONIC, taken when the change is "read"), and the subscriber subtracts it from
 * its own clock on arrival: latency = source -> plcline -> broker -> subscriber.
 *
 * Baseline: a libmosquitto client on the same loop publishing the same JSON (formatted with
 * snprintf, retained, QoS 0) to the same topics, writing only when its socket has room, as
 * mosquitto_pub would: no pending table, no jansson, no poll handle.
 *
 * Phases per round: throughput (offer changes as fast as the loop turns for S seconds;
 * plcline coalesces what the socket cannot take, the baseline waits), then latency (paced
 * at 20 changes per millisecond). The broker is /usr/sbin/mosquitto on a free loopback port,
 * ended by its pid; the subscriber is libmosquitto's own thread (bench only). Bounded in
 * time everywhere. Rows follow docs/bench.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <uv.h>

#include "bench_support.h"
#include "north/mqtt.h"
#include "plcline/error.h"

#define MOSQUITTO_BIN "/usr/sbin/mosquitto"
#define NTAGS         10000
#define NDEV          10
#define BATCH         500 /* changes offered per loop turn in the throughput phase */
#define PACE_PER_MS   20  /* changes per millisecond in the latency phase */
#define MAX_SAMPLES   400000
#define MAX_ROUNDS    9

static uint64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* --- broker ------------------------------------------------------------------------- */

static pid_t g_broker;
static char g_dir[64], g_conf[128];

static uint16_t free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    uint16_t port = 0;

    bench_loopback(&a, 0);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int accepts(uint16_t port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    bench_loopback(&a, port);
    ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static int broker_start(uint16_t port)
{
    FILE *fp;
    uint64_t deadline;
    int status;

    snprintf(g_dir, sizeof(g_dir), "/tmp/pl_bench_mqtt_XXXXXX");
    if (mkdtemp(g_dir) == NULL)
        return -1;
    snprintf(g_conf, sizeof(g_conf), "%s/mosquitto.conf", g_dir);
    fp = fopen(g_conf, "w");
    if (fp == NULL)
        return -1;
    fprintf(fp,
            "listener %u 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n"
            "max_queued_messages 1000000\n",
            (unsigned)port);
    fclose(fp);
    g_broker = fork();
    if (g_broker < 0)
        return -1;
    if (g_broker == 0) {
        int null = open("/dev/null", O_RDWR);

        if (null >= 0) {
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        execl(MOSQUITTO_BIN, "mosquitto", "-c", g_conf, (char *)NULL);
        _exit(127);
    }
    deadline = mono_us() + 10000000u;
    while (!accepts(port)) {
        if (waitpid(g_broker, &status, WNOHANG) != 0 || mono_us() > deadline)
            return -1;
        poll(NULL, 0, 2);
    }
    return 0;
}

static void broker_stop(void)
{
    int status;

    if (g_broker > 0) {
        kill(g_broker, SIGTERM);
        waitpid(g_broker, &status, 0);
        g_broker = 0;
    }
    if (g_conf[0] != '\0')
        unlink(g_conf);
    if (g_dir[0] != '\0')
        rmdir(g_dir);
}

/* --- subscriber (libmosquitto's thread) --------------------------------------------- */

static atomic_ulong g_rx;       /* tag messages received */
static atomic_ullong g_last_rx; /* mono_us of the last one */
static atomic_int g_sampling;   /* record latencies */
static atomic_ulong g_nsamples;
static uint32_t *g_samples; /* µs */

static void sub_on_message(struct mosquitto *mosq, void *ud, const struct mosquitto_message *msg)
{
    const char *p;
    uint64_t now = mono_us();

    (void)mosq;
    (void)ud;
    if (msg->payloadlen < 10 || strstr(msg->topic, "/t") == NULL)
        return; /* status topics */
    atomic_fetch_add(&g_rx, 1);
    atomic_store(&g_last_rx, now);
    if (!atomic_load(&g_sampling))
        return;
    p = memchr(msg->payload, ':', (size_t)msg->payloadlen); /* {"value":STAMP,... */
    if (p != NULL) {
        char *end;
        unsigned long long stamp = strtoull(p + 1, &end, 10);
        unsigned long i;

        if (end != p + 1 && stamp <= now) {
            i = atomic_fetch_add(&g_nsamples, 1);
            if (i < MAX_SAMPLES)
                g_samples[i] = (uint32_t)(now - stamp > UINT32_MAX ? UINT32_MAX : now - stamp);
        }
    }
}

/* --- the sources -------------------------------------------------------------------- */

typedef struct {
    char tag[NTAGS][16];
    char dev[NDEV][8];
    char topic[NTAGS][40];
    unsigned next;
} names_t;

static names_t g_names;

typedef struct bench_s bench_t;
struct bench_s {
    uv_loop_t *loop;
    int raw;               /* 1: baseline publisher */
    pl_mqtt_t *m;          /* plcline */
    struct mosquitto *pub; /* baseline */
    uv_poll_t poll;        /* baseline socket, only to wake the loop */
    uint64_t offered;
    uint64_t until_us;
    int paced;
    uv_idle_t idle;
    uv_timer_t pace;
};

static void one_change(bench_t *b)
{
    unsigned i = g_names.next++ % NTAGS;
    uint64_t stamp = mono_us();

    b->offered++;
    if (!b->raw) {
        pl_tag_state_t st;

        memset(&st, 0, sizeof(st));
        st.tag = g_names.tag[i];
        st.device = g_names.dev[i % NDEV];
        st.line = "l1";
        st.value.type = PL_VT_INT;
        st.value.i = (int64_t)stamp;
        st.quality = PL_Q_GOOD;
        st.ts_ms = 1767225600000ull + stamp / 1000u;
        pl_mqtt_publish_state(b->m, &st);
    } else {
        char payload[160];
        time_t s = (time_t)((1767225600000ull + stamp / 1000u) / 1000u);
        struct tm tm;
        int n;

        gmtime_r(&s, &tm);
        n = snprintf(payload, sizeof(payload),
                     "{\"value\":%" PRIu64 ",\"quality\":\"good\",\"error\":null,"
                     "\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03uZ\"}",
                     stamp, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (unsigned)((stamp / 1000u) % 1000u));
        mosquitto_publish(b->pub, NULL, g_names.topic[i], n, payload, 0, true);
    }
}

static void on_idle(uv_idle_t *h)
{
    bench_t *b = h->data;
    unsigned k;

    if (mono_us() >= b->until_us) {
        uv_idle_stop(h);
        return;
    }
    if (b->raw && mosquitto_want_write(b->pub)) { /* wait for room, as mosquitto_pub does */
        mosquitto_loop_write(b->pub, 100);
        return;
    }
    for (k = 0; k < BATCH; k++)
        one_change(b);
}

static void on_pace(uv_timer_t *t)
{
    bench_t *b = t->data;
    unsigned k;

    if (mono_us() >= b->until_us) {
        uv_timer_stop(t);
        return;
    }
    if (b->raw && mosquitto_want_write(b->pub))
        mosquitto_loop_write(b->pub, 100);
    for (k = 0; k < PACE_PER_MS; k++)
        one_change(b);
}

static void on_raw_poll(uv_poll_t *h, int status, int events)
{
    bench_t *b = h->data;

    (void)status;
    if (events & UV_READABLE)
        mosquitto_loop_read(b->pub, 10);
    if (events & UV_WRITABLE)
        mosquitto_loop_write(b->pub, 100);
    uv_poll_start(h, UV_READABLE | (mosquitto_want_write(b->pub) ? UV_WRITABLE : 0), on_raw_poll);
}

static void on_stop(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

/* Runs the loop for `ms` milliseconds (the loop has timers and polls that never end). */
static void run_for(uv_loop_t *loop, unsigned ms)
{
    uv_timer_t t;
    int done = 0;

    uv_timer_init(loop, &t);
    t.data = &done;
    uv_timer_start(&t, on_stop, ms, 0);
    while (!done)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

/* Waits until the subscriber saw nothing for 300 ms (at most 15 s). */
static void drain(uv_loop_t *loop)
{
    uint64_t deadline = mono_us() + 15000000u;

    for (;;) {
        unsigned long before = atomic_load(&g_rx);

        run_for(loop, 300);
        if (atomic_load(&g_rx) == before || mono_us() > deadline)
            return;
    }
}

typedef struct {
    double rate, p50, p99;
    uint64_t offered, coalesced;
} result_t;

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

static int run_phase(bench_t *b, unsigned thr_ms, unsigned lat_ms, result_t *r)
{
    uint64_t t0, coal0 = b->raw ? 0 : pl_mqtt_stats(b->m)->coalesced;
    unsigned long n;

    memset(r, 0, sizeof(*r));
    /* throughput */
    drain(b->loop);
    atomic_store(&g_rx, 0);
    b->offered = 0;
    t0 = mono_us();
    b->until_us = t0 + (uint64_t)thr_ms * 1000u;
    uv_idle_start(&b->idle, on_idle);
    run_for(b->loop, thr_ms);
    uv_idle_stop(&b->idle);
    drain(b->loop);
    r->offered = b->offered;
    r->rate = (double)atomic_load(&g_rx) * 1e6 / (double)(atomic_load(&g_last_rx) - t0);
    if (!b->raw)
        r->coalesced = pl_mqtt_stats(b->m)->coalesced - coal0;
    /* latency, paced */
    atomic_store(&g_nsamples, 0);
    atomic_store(&g_sampling, 1);
    b->until_us = mono_us() + (uint64_t)lat_ms * 1000u;
    uv_timer_start(&b->pace, on_pace, 1, 1);
    run_for(b->loop, lat_ms);
    uv_timer_stop(&b->pace);
    drain(b->loop);
    atomic_store(&g_sampling, 0);
    n = atomic_load(&g_nsamples);
    if (n > MAX_SAMPLES)
        n = MAX_SAMPLES;
    if (n < 100)
        return -1;
    qsort(g_samples, n, sizeof(*g_samples), cmp_u32);
    r->p50 = g_samples[n / 2];
    r->p99 = g_samples[(n * 99) / 100];
    return 0;
}

/* One table row from paired rounds: the round whose ratio is the median is shown whole
 * (its figure, its baseline, its ratio), so the row adds up even when single rounds are
 * far apart (p99 latencies are: one stall in a round dominates it). */
static void row(const char *name, const double *fig, const double *base, const double *ratio,
                unsigned n, const char *unit, int prec, const char *target, int met)
{
    char f[48], b[48];
    double m = bench_median(ratio, n);
    unsigned i, at = 0;

    for (i = 1; i < n; i++) /* the round closest to the median ratio */
        if (fabs(ratio[i] - m) < fabs(ratio[at] - m))
            at = i;
    snprintf(f, sizeof(f), "%.*f %s", prec, fig[at], unit);
    snprintf(b, sizeof(b), "%.*f %s", prec, base[at], unit);
    bench_row_print(name, f, b, m, target, met);
}

int main(int argc, char **argv)
{
    unsigned rounds = 3, thr_ms = 3000, lat_ms = 2000, i, k;
    int json = 0;
    uint16_t port;
    uv_loop_t loop;
    struct mosquitto *sub = NULL;
    bench_t pb, rb;
    pl_north_def_t def;
    pl_mqtt_opts_t o;
    pl_status_t err;
    double rate[2][MAX_ROUNDS], p50[2][MAX_ROUNDS], p99[2][MAX_ROUNDS];
    double rr[MAX_ROUNDS], r50[MAX_ROUNDS], r99[MAX_ROUNDS];
    uint64_t deadline;
    double rm;
    int rc = 1, pb_open = 0, rb_open = 0;

    memset(&pb, 0, sizeof(pb));
    memset(&rb, 0, sizeof(rb));
    for (i = 1; i < (unsigned)argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            rounds = 1;
            thr_ms = 1000;
            lat_ms = 500;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < (unsigned)argc) {
            rounds = (unsigned)strtoul(argv[++i], NULL, 10);
            if (rounds < 1 || rounds > MAX_ROUNDS)
                rounds = 3;
        } else {
            fprintf(stderr, "usage: bench_mqtt [--quick] [--json] [--rounds N (1-%d)]\n",
                    MAX_ROUNDS);
            return 2;
        }
    }
    bench_init("bench_mqtt");
    g_samples = calloc(MAX_SAMPLES, sizeof(*g_samples));
    for (i = 0; i < NDEV; i++)
        snprintf(g_names.dev[i], sizeof(g_names.dev[i]), "d%u", i);
    for (i = 0; i < NTAGS; i++) {
        snprintf(g_names.tag[i], sizeof(g_names.tag[i]), "t%05u", i);
        snprintf(g_names.topic[i], sizeof(g_names.topic[i]), "bench/l1/%s/%s",
                 g_names.dev[i % NDEV], g_names.tag[i]);
    }
    port = free_port();
    if (g_samples == NULL || port == 0 || broker_start(port) < 0) {
        fprintf(stderr, "bench_mqtt: could not start %s\n", MOSQUITTO_BIN);
        broker_stop();
        return 1;
    }
    mosquitto_lib_init();
    uv_loop_init(&loop);

    /* the subscriber */
    sub = mosquitto_new("bench-sub", true, NULL);
    if (sub == NULL)
        goto out;
    mosquitto_int_option(sub, MOSQ_OPT_TCP_NODELAY, 1);
    if (mosquitto_connect(sub, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS)
        goto out;
    mosquitto_message_callback_set(sub, sub_on_message);
    mosquitto_subscribe(sub, NULL, "bench/#", 0);
    mosquitto_loop_start(sub);

    /* plcline */
    pb.loop = &loop;
    memset(&def, 0, sizeof(def));
    snprintf(def.mqtt_host, sizeof(def.mqtt_host), "127.0.0.1");
    def.mqtt_port = port;
    snprintf(def.mqtt_client_id, sizeof(def.mqtt_client_id), "bench-plcline");
    snprintf(def.mqtt_prefix, sizeof(def.mqtt_prefix), "bench");
    def.mqtt_keepalive_s = 60;
    pl_mqtt_opts_init(&o);
    if (pl_mqtt_new(&loop, &def, NULL, NULL, &o, &pb.m, &err) < 0)
        goto out;
    uv_idle_init(&loop, &pb.idle);
    uv_timer_init(&loop, &pb.pace);
    pb_open = 1;
    pb.idle.data = pb.pace.data = &pb;
    deadline = mono_us() + 5000000u;
    while (!pl_mqtt_stats(pb.m)->connected && mono_us() < deadline)
        run_for(&loop, 10);

    /* baseline */
    rb.loop = &loop;
    rb.raw = 1;
    rb.pub = mosquitto_new("bench-raw", true, NULL);
    if (rb.pub == NULL)
        goto out;
    mosquitto_int_option(rb.pub, MOSQ_OPT_TCP_NODELAY, 1); /* as plcline's client */
    if (mosquitto_connect(rb.pub, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS)
        goto out;
    uv_poll_init_socket(&loop, &rb.poll, mosquitto_socket(rb.pub));
    rb.poll.data = &rb;
    uv_poll_start(&rb.poll, UV_READABLE, on_raw_poll);
    uv_idle_init(&loop, &rb.idle);
    uv_timer_init(&loop, &rb.pace);
    rb_open = 1;
    rb.idle.data = rb.pace.data = &rb;
    if (!pl_mqtt_stats(pb.m)->connected) {
        fprintf(stderr, "bench_mqtt: plcline did not connect\n");
        goto out;
    }

    for (k = 0; k < rounds; k++) {
        result_t a, b;

        if (run_phase(&pb, thr_ms, lat_ms, &a) < 0 || run_phase(&rb, thr_ms, lat_ms, &b) < 0) {
            fprintf(stderr, "bench_mqtt: round %u: too few messages arrived\n", k + 1);
            goto out;
        }
        rate[0][k] = a.rate;
        rate[1][k] = b.rate;
        p50[0][k] = a.p50;
        p50[1][k] = b.p50;
        p99[0][k] = a.p99;
        p99[1][k] = b.p99;
        rr[k] = a.rate / b.rate;
        r50[k] = a.p50 / b.p50;
        r99[k] = a.p99 / b.p99;
        fprintf(stderr,
                "# round %u: plcline %.0f msg/s (offered %.0f/s, coalesced %" PRIu64
                "), p50 %.0f us, p99 %.0f us; baseline %.0f msg/s (offered %.0f/s), p50 %.0f "
                "us, p99 %.0f us\n",
                k + 1, a.rate, (double)a.offered * 1000.0 / thr_ms, a.coalesced, a.p50, a.p99,
                b.rate, (double)b.offered * 1000.0 / thr_ms, b.p50, b.p99);
    }
    rm = bench_median(rr, rounds);
    row("mqtt: tag changes reaching a subscriber, 10000 tags", rate[0], rate[1], rr, rounds,
        "msg/s", 0, "≥ 0.50", rm >= 0.5);
    rm = bench_median(r50, rounds);
    row("mqtt: latency device read -> subscriber, median (20k/s paced)", p50[0], p50[1], r50,
        rounds, "µs", 0, "≤ 2.00", rm <= 2.0);
    rm = bench_median(r99, rounds);
    row("mqtt: latency device read -> subscriber, p99 (20k/s paced)", p99[0], p99[1], r99, rounds,
        "µs", 0, "≤ 3.00", rm <= 3.0);
    if (json)
        printf("{\"bench\": \"mqtt\", \"rounds\": %u, \"plcline_rate\": %.0f, \"baseline_rate\": "
               "%.0f}\n",
               rounds, bench_median(rate[0], rounds), bench_median(rate[1], rounds));
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "bench_mqtt: could not measure\n");
    pl_mqtt_free(pb.m);
    if (pb_open) {
        uv_close((uv_handle_t *)&pb.idle, NULL);
        uv_close((uv_handle_t *)&pb.pace, NULL);
    }
    if (rb_open) {
        uv_close((uv_handle_t *)&rb.poll, NULL);
        uv_close((uv_handle_t *)&rb.idle, NULL);
        uv_close((uv_handle_t *)&rb.pace, NULL);
    }
    if (rb.pub != NULL) {
        mosquitto_disconnect(rb.pub);
        mosquitto_destroy(rb.pub);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, "bench_mqtt: loop not empty at the end\n");
    if (sub != NULL) {
        mosquitto_disconnect(sub);
        mosquitto_loop_stop(sub, false);
        mosquitto_destroy(sub);
    }
    mosquitto_lib_cleanup();
    broker_stop();
    free(g_samples);
    return rc;
}
