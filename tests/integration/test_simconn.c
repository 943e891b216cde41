/* SPDX-License-Identifier: MIT */
/*
 * The simulators' connection module (src/proto/simconn.c) with a toy protocol: a frame is
 * one length byte L (at most TOY_MAX) and L bytes; a larger L is malformed. The server
 * answers each frame with the frame itself.
 *
 * pl_simconn_rx_feed() is checked without I/O: the same frames whole, per byte, and split
 * at every one and every two offsets; stopping; malformed input; a framer that breaks its
 * contract. The connection half runs on loopback with pl_line_t clients: answers held back
 * by delay_ms and their order, close-after, malformed input, the listener's frame timeout
 * on a partial frame, the ready deadline (a toy frame "R" makes the connection ready),
 * and closing the set with answers still held and its storage freed at once (the timer
 * close callbacks must not touch it). Nothing sleeps: the loop runs until a
 * condition holds, under a guard timer; every test asserts uv_loop_close() == 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plcline/error.h"
#include "plcline/line.h"
#include "proto/simconn.h"

#define TOY_MAX   16u /* longest payload */
#define TOY_FRAME (1u + TOY_MAX)
#define MAX_SEEN  64u
#define GUARD_MS  5000u

/* --- the toy protocol ------------------------------------------------------------------- */

static int toy_frame(const uint8_t *buf, size_t len, void *ud)
{
    (void)ud;
    if (buf[0] > TOY_MAX)
        return PL_ERANGE;
    if (len < 1u + buf[0])
        return PL_EAGAIN;
    return 1 + buf[0];
}

/* Frames seen, in order: their bytes back to back and their lengths. */
typedef struct {
    uint8_t bytes[MAX_SEEN * TOY_FRAME];
    size_t len;
    size_t frame_len[MAX_SEEN];
    unsigned n;
    unsigned stop_at;             /* deliver returns -1 on this frame (1-based); 0: never */
    const uint8_t *in_lo, *in_hi; /* the caller's buffer of the current feed */
    unsigned in_place;            /* frames delivered from inside it */
} seen_t;

static void seen_add(seen_t *s, const uint8_t *frame, size_t len)
{
    assert_true(s->n < MAX_SEEN);
    memcpy(s->bytes + s->len, frame, len);
    s->len += len;
    s->frame_len[s->n++] = len;
}

static int deliver(void *ctx, const uint8_t *frame, size_t len)
{
    seen_t *s = ctx;

    assert_int_equal(toy_frame(frame, len, NULL), (int)len); /* exactly one frame */
    if (frame >= s->in_lo && frame < s->in_hi)
        s->in_place++;
    seen_add(s, frame, len);
    return s->stop_at != 0 && s->n == s->stop_at ? -1 : 0;
}

/* Frames of payload 0, 1, 3, TOY_MAX, 2, TOY_MAX, 0 and 5 bytes. */
static size_t make_stream(uint8_t *out, size_t *lens)
{
    static const uint8_t payload[] = {0, 1, 3, TOY_MAX, 2, TOY_MAX, 0, 5};
    size_t n = 0, k, i;

    for (k = 0; k < sizeof(payload); k++) {
        out[n++] = payload[k];
        for (i = 0; i < payload[k]; i++)
            out[n++] = (uint8_t)(0x40u + k * 16u + i);
        lens[k] = 1u + payload[k];
    }
    return n;
}

#define STREAM_FRAMES 8u

/* Feeds `stream` in pieces ending at cut[0] < cut[1] < ... < len; returns the last result. */
static int feed_cuts(seen_t *s, pl_simconn_rx_t *rx, const uint8_t *stream, size_t len,
                     const size_t *cut, size_t ncut)
{
    size_t from = 0, k;
    int rc = 0;

    for (k = 0; k <= ncut; k++) {
        size_t to = k < ncut ? cut[k] : len;

        s->in_lo = stream + from;
        s->in_hi = stream + to;
        rc = pl_simconn_rx_feed(rx, stream + from, to - from, toy_frame, NULL, deliver, s);
        if (rc != 0)
            return rc;
        from = to;
    }
    return rc;
}

static void expect_all_frames(const seen_t *s, const uint8_t *stream, size_t len,
                              const size_t *lens)
{
    unsigned k;

    assert_int_equal(s->n, STREAM_FRAMES);
    for (k = 0; k < STREAM_FRAMES; k++)
        assert_int_equal(s->frame_len[k], lens[k]);
    assert_int_equal(s->len, len);
    assert_memory_equal(s->bytes, stream, len);
}

static void test_rx_splits(void **state)
{
    uint8_t stream[STREAM_FRAMES * TOY_FRAME], buf[TOY_FRAME];
    size_t lens[STREAM_FRAMES], len, i, j, cut[2];
    pl_simconn_rx_t rx;
    seen_t *s = malloc(sizeof(*s));

    (void)state;
    assert_non_null(s);
    len = make_stream(stream, lens);

    /* whole: every frame served where it lies, nothing copied */
    memset(s, 0, sizeof(*s));
    rx = (pl_simconn_rx_t){.buf = buf, .cap = sizeof(buf)};
    assert_int_equal(feed_cuts(s, &rx, stream, len, NULL, 0), 0);
    expect_all_frames(s, stream, len, lens);
    assert_int_equal(s->in_place, STREAM_FRAMES);
    assert_int_equal(rx.len, 0);

    /* one byte at a time */
    memset(s, 0, sizeof(*s));
    rx = (pl_simconn_rx_t){.buf = buf, .cap = sizeof(buf)};
    for (i = 0; i < len; i++) {
        assert_int_equal(pl_simconn_rx_feed(&rx, stream + i, 1, toy_frame, NULL, deliver, s), 0);
        /* between frames nothing is held; inside one, the bytes so far */
        assert_true(rx.len <= TOY_FRAME - 1u);
    }
    expect_all_frames(s, stream, len, lens);
    assert_int_equal(rx.len, 0);

    /* split at every offset, and at every pair of offsets */
    for (i = 1; i < len; i++) {
        memset(s, 0, sizeof(*s));
        rx = (pl_simconn_rx_t){.buf = buf, .cap = sizeof(buf)};
        cut[0] = i;
        assert_int_equal(feed_cuts(s, &rx, stream, len, cut, 1), 0);
        expect_all_frames(s, stream, len, lens);
        assert_int_equal(rx.len, 0);
        for (j = i + 1; j < len; j++) {
            memset(s, 0, sizeof(*s));
            rx = (pl_simconn_rx_t){.buf = buf, .cap = sizeof(buf)};
            cut[1] = j;
            assert_int_equal(feed_cuts(s, &rx, stream, len, cut, 2), 0);
            expect_all_frames(s, stream, len, lens);
            assert_int_equal(rx.len, 0);
        }
    }
    free(s);
}

/* A feed that ends inside a frame holds exactly the bytes of that frame so far. */
static void test_rx_partial(void **state)
{
    uint8_t stream[STREAM_FRAMES * TOY_FRAME], buf[TOY_FRAME];
    size_t lens[STREAM_FRAMES], len, at = 0, k;
    pl_simconn_rx_t rx = {.buf = buf, .cap = sizeof(buf)};
    seen_t *s = calloc(1, sizeof(*s));

    (void)state;
    assert_non_null(s);
    len = make_stream(stream, lens);
    for (k = 0; k < 3; k++)
        at += lens[k];
    at += 5; /* 5 bytes into the fourth frame (17 bytes long) */
    assert_int_equal(pl_simconn_rx_feed(&rx, stream, at, toy_frame, NULL, deliver, s), 0);
    assert_int_equal(s->n, 3);
    assert_int_equal(rx.len, 5);
    assert_memory_equal(rx.buf, stream + at - 5, 5);
    assert_int_equal(pl_simconn_rx_feed(&rx, stream + at, len - at, toy_frame, NULL, deliver, s),
                     0);
    expect_all_frames(s, stream, len, lens);
    free(s);
}

/* deliver < 0 stops at once: the frames after it are not delivered, whole or split. */
static void test_rx_stop(void **state)
{
    uint8_t stream[STREAM_FRAMES * TOY_FRAME], buf[TOY_FRAME];
    size_t lens[STREAM_FRAMES], len, i, cut[1];
    pl_simconn_rx_t rx;
    seen_t *s = malloc(sizeof(*s));

    (void)state;
    assert_non_null(s);
    len = make_stream(stream, lens);
    for (i = 0; i < len; i++) {
        memset(s, 0, sizeof(*s));
        s->stop_at = 4;
        rx = (pl_simconn_rx_t){.buf = buf, .cap = sizeof(buf)};
        cut[0] = i;
        assert_int_equal(feed_cuts(s, &rx, stream, len, cut, i == 0 ? 0 : 1), PL_SIMCONN_STOPPED);
        assert_int_equal(s->n, 4);
        assert_int_equal(s->frame_len[3], lens[3]);
    }
    free(s);
}

/* Bytes that cannot be framed: the frames before them are served, then the framer's error. */
static void test_rx_malformed(void **state)
{
    uint8_t stream[STREAM_FRAMES * TOY_FRAME + 4], buf[TOY_FRAME];
    size_t lens[STREAM_FRAMES], len, i, cut[1];
    pl_simconn_rx_t rx;
    seen_t *s = malloc(sizeof(*s));

    (void)state;
    assert_non_null(s);
    len = make_stream(stream, lens);
    len = lens[0] + lens[1];     /* two good frames, */
    stream[len++] = TOY_MAX + 1; /* then a length nobody accepts */
    stream[len++] = 0;
    for (i = 0; i < len; i++) {
        memset(s, 0, sizeof(*s));
        rx = (pl_simconn_rx_t){.buf = buf, .cap = sizeof(buf)};
        cut[0] = i;
        assert_int_equal(feed_cuts(s, &rx, stream, len, cut, i == 0 ? 0 : 1), PL_ERANGE);
        assert_int_equal(s->n, 2);
    }
    free(s);
}

/* Framers that break their contract end in PL_EPROTO, never in a loop or an overrun. */
static int never_whole(const uint8_t *buf, size_t len, void *ud)
{
    (void)buf;
    (void)len;
    (void)ud;
    return PL_EAGAIN;
}

static int too_long(const uint8_t *buf, size_t len, void *ud)
{
    (void)buf;
    (void)ud;
    return (int)len + 1;
}

static int zero(const uint8_t *buf, size_t len, void *ud)
{
    (void)buf;
    (void)len;
    (void)ud;
    return 0;
}

static void test_rx_contract(void **state)
{
    uint8_t in[3 * TOY_FRAME], buf[TOY_FRAME];
    pl_simconn_rx_t rx = {.buf = buf, .cap = sizeof(buf)};
    seen_t *s = calloc(1, sizeof(*s));

    (void)state;
    assert_non_null(s);
    memset(in, 1, sizeof(in));
    assert_int_equal(pl_simconn_rx_feed(&rx, in, TOY_FRAME - 1, never_whole, NULL, deliver, s), 0);
    assert_int_equal(rx.len, TOY_FRAME - 1);
    assert_int_equal(pl_simconn_rx_feed(&rx, in, sizeof(in), never_whole, NULL, deliver, s),
                     PL_EPROTO);
    rx.len = 0;
    assert_int_equal(pl_simconn_rx_feed(&rx, in, 5, too_long, NULL, deliver, s), PL_EPROTO);
    assert_int_equal(pl_simconn_rx_feed(&rx, in, 5, zero, NULL, deliver, s), PL_EPROTO);
    assert_int_equal(pl_simconn_rx_feed(&rx, in, 0, zero, NULL, deliver, s), 0); /* no bytes */
    assert_int_equal(s->n, 0);
    free(s);
}

/* --- connections on loopback ------------------------------------------------------------ */

typedef struct {
    pl_line_t *line;
    int up, downs;
    uint8_t rx[MAX_SEEN * TOY_FRAME];
    size_t rx_len;
} client_t;

typedef struct {
    uv_loop_t loop;
    pl_simconn_set_t *set; /* heap: freed right after pl_simconn_set_close() */
    pl_simconn_config_t cfg;
    uint64_t connections, frames_in, bad_frames, ready_timeouts;
    unsigned served;
    uint64_t served_at; /* loop time the last frame was served: delay_ms counts from it */
    client_t a, b;
} fixture_t;

static int toy_serve(pl_simconn_t *sc, const uint8_t *frame, size_t len, void *ud)
{
    fixture_t *f = ud;

    f->served++;
    f->served_at = uv_now(&f->loop);
    if (len == 2 && frame[1] == 'R')
        pl_simconn_ready(sc);
    pl_simconn_answer(sc, frame, len); /* echo */
    return 0;
}

static void on_up(pl_line_t *line, void *ud)
{
    client_t *c = ud;

    (void)line;
    c->up = 1;
}

static void on_data(pl_line_t *line, const uint8_t *buf, size_t len, void *ud)
{
    client_t *c = ud;

    (void)line;
    assert_true(c->rx_len + len <= sizeof(c->rx));
    memcpy(c->rx + c->rx_len, buf, len);
    c->rx_len += len;
}

static void on_down(pl_line_t *line, const pl_status_t *why, void *ud)
{
    client_t *c = ud;

    (void)line;
    (void)why;
    c->up = 0;
    c->downs++;
    pl_line_stop(c->line); /* no reconnection: one connection per test */
}

static void on_guard(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

/* Runs the loop until `cond` holds; fails after GUARD_MS. */
#define RUN_UNTIL(f, cond)                              \
    do {                                                \
        uv_timer_t guard_;                              \
        int expired_ = 0;                               \
        uv_timer_init(&(f)->loop, &guard_);             \
        guard_.data = &expired_;                        \
        uv_timer_start(&guard_, on_guard, GUARD_MS, 0); \
        while (!(cond) && !expired_)                    \
            uv_run(&(f)->loop, UV_RUN_ONCE);            \
        uv_close((uv_handle_t *)&guard_, NULL);         \
        uv_run(&(f)->loop, UV_RUN_NOWAIT);              \
        assert_true(cond);                              \
    } while (0)

static void client_connect(fixture_t *f, client_t *c, unsigned conns)
{
    static const pl_line_cbs_t cbs = {.on_up = on_up, .on_data = on_data, .on_down = on_down};
    pl_line_config_t cfg;

    memset(c, 0, sizeof(*c));
    pl_line_config_init(&cfg);
    assert_int_equal(pl_hostlist_parse(&cfg.hosts, "127.0.0.1", 9, NULL), 0);
    cfg.port = pl_listener_port(f->set->lst);
    assert_int_equal(pl_line_new(&f->loop, &cfg, &cbs, c, &c->line), 0);
    assert_int_equal(pl_line_start(c->line), 0);
    RUN_UNTIL(f, c->up && pl_simconn_count(f->set) == conns);
}

/* Starts the set with f->cfg (and `lc_in`, NULL: defaults) and connects client a. */
static void start(fixture_t *f, const pl_listener_config_t *lc_in)
{
    static const pl_simconn_cbs_t cbs = {.frame = toy_frame, .serve = toy_serve};
    pl_listener_config_t lc;
    pl_status_t st;

    assert_int_equal(uv_loop_init(&f->loop), 0);
    if (lc_in != NULL)
        lc = *lc_in;
    else
        memset(&lc, 0, sizeof(lc));
    f->cfg.name = "toy server";
    f->cfg.max_frame = TOY_FRAME;
    f->cfg.connections = &f->connections;
    f->cfg.frames_in = &f->frames_in;
    f->cfg.bad_frames = &f->bad_frames;
    f->cfg.ready_timeouts = &f->ready_timeouts;
    f->set = malloc(sizeof(*f->set));
    assert_non_null(f->set);
    assert_int_equal(pl_simconn_set_init(f->set, &f->loop, &lc, &f->cfg, &cbs, f, &st), 0);
    client_connect(f, &f->a, 1);
}

static void stop(fixture_t *f)
{
    if (f->a.line != NULL)
        pl_line_free(f->a.line);
    if (f->b.line != NULL)
        pl_line_free(f->b.line);
    pl_simconn_set_close(f->set);
    free(f->set); /* at once: nothing may touch it after close */
    f->set = NULL;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* Sends toy frames with the given payload letters, all in one write. */
static void send_frames(client_t *c, const char *letters)
{
    uint8_t buf[64];
    size_t n = 0;

    for (; *letters != '\0'; letters++) {
        buf[n++] = 1;
        buf[n++] = (uint8_t)*letters;
    }
    assert_int_equal(pl_line_send(c->line, buf, n), 0);
}

/* The answers received so far (each a 1-byte toy frame) are the letters of `want`. */
static void expect_answers(const client_t *c, const char *want)
{
    char got[MAX_SEEN];
    size_t i, n = 0;

    for (i = 0; i + 1 < c->rx_len && n + 1 < sizeof(got); i += 2) {
        assert_int_equal(c->rx[i], 1);
        got[n++] = (char)c->rx[i + 1];
    }
    got[n] = '\0';
    assert_int_equal(c->rx_len, 2u * n);
    assert_string_equal(got, want);
}

/* Sends frames with the letters of `send` from `c` and waits until the answers received so
 * far are those of `want`; the connection stays up. */
static void exchange(fixture_t *f, client_t *c, const char *send, const char *want)
{
    send_frames(c, send);
    RUN_UNTIL(f, c->rx_len >= 2u * strlen(want));
    expect_answers(c, want);
    assert_int_equal(c->downs, 0);
}

/* With delay_ms, client a's frames are served and their answers held: the loop stops in the
 * turn that served the last one, before any answer's timer can have fired. */
static void send_held(fixture_t *f, const char *letters)
{
    unsigned want = f->served + (unsigned)strlen(letters);

    send_frames(&f->a, letters);
    RUN_UNTIL(f, f->served == want);
    assert_int_equal(f->a.rx_len, 0);
}

static void test_answers_at_once(void **state)
{
    fixture_t f = {0};

    (void)state;
    start(&f, NULL);
    exchange(&f, &f.a, "abc", "abc");
    assert_int_equal(f.frames_in, 3);
    assert_int_equal(f.connections, 1);
    assert_int_equal(f.bad_frames, 0);
    stop(&f);
}

static void test_delayed_in_order(void **state)
{
    fixture_t f = {.cfg = {.delay_ms = 30}};

    (void)state;
    start(&f, NULL);
    send_held(&f, "abc");
    send_frames(&f.a, "d");
    exchange(&f, &f.a, "ef", "abcdef");
    stop(&f);
}

/* at_once N: answers held by delay_ms are made N at a time, as by a device serving one
 * request at a time (N 1). Frames served in one turn at loop time T: with N 1 the k-th
 * answer cannot leave before T + k * delay (libuv runs a timer only once the loop time has
 * reached it), so the last of 3 arrives at loop time T + 90 or later; with N 2, the last of
 * 4 at T + 60 or later. Loop time, not wall time: no assertion on the machine's speed. */
static void test_at_once(void **state)
{
    fixture_t f = {.cfg = {.delay_ms = 30, .at_once = 1}};
    fixture_t g = {.cfg = {.delay_ms = 30, .at_once = 2}};
    uint64_t t;

    (void)state;
    start(&f, NULL);
    send_held(&f, "abc");
    t = f.served_at;
    RUN_UNTIL(&f, f.a.rx_len >= 6u);
    expect_answers(&f.a, "abc");
    assert_true(uv_now(&f.loop) >= t + 90u);
    exchange(&f, &f.a, "d", "abcd"); /* and the queue starts afresh */
    stop(&f);

    start(&g, NULL);
    send_held(&g, "abcd");
    t = g.served_at;
    RUN_UNTIL(&g, g.a.rx_len >= 8u);
    expect_answers(&g.a, "abcd");
    assert_true(uv_now(&g.loop) >= t + 60u);
    stop(&g);
}

static void test_close_after(void **state)
{
    fixture_t f = {.cfg = {.close_after = 3}};

    (void)state;
    start(&f, NULL);
    send_frames(&f.a, "abcd");
    RUN_UNTIL(&f, f.a.downs == 1);
    expect_answers(&f.a, "ab"); /* the third frame closes, unanswered; the fourth is dropped */
    assert_int_equal(f.served, 2);
    assert_int_equal(f.frames_in, 3);
    RUN_UNTIL(&f, pl_simconn_count(f.set) == 0);
    stop(&f);
}

static void test_malformed_closes(void **state)
{
    static const uint8_t bad[] = {1, 'a', TOY_MAX + 1, 0};
    fixture_t f = {0};

    (void)state;
    start(&f, NULL);
    assert_int_equal(pl_line_send(f.a.line, bad, sizeof(bad)), 0);
    RUN_UNTIL(&f, f.a.downs == 1);
    expect_answers(&f.a, "a");
    assert_int_equal(f.bad_frames, 1);
    stop(&f);
}

/* A partial frame marks the connection: the listener's frame timeout closes it and counts a
 * bad frame. A whole frame clears the mark. */
static void test_partial_frame_timeout(void **state)
{
    static const uint8_t part[] = {1, 'a', 5, 'x'};
    pl_listener_config_t lc;
    fixture_t f = {0};

    (void)state;
    memset(&lc, 0, sizeof(lc));
    lc.frame_timeout_ms = 50;
    start(&f, &lc);
    assert_int_equal(pl_line_send(f.a.line, part, sizeof(part)), 0);
    RUN_UNTIL(&f, f.a.downs == 1);
    assert_int_equal(f.served, 1);
    assert_int_equal(f.bad_frames, 1);
    RUN_UNTIL(&f, pl_simconn_count(f.set) == 0);
    stop(&f);
}

/* A connection that is not made ready in time is closed (counted, not as a bad frame), its
 * held answers sent first; one made ready stays and is served. With delay_ms both share the
 * connection's one timer. */
static void test_ready_deadline(void **state)
{
    fixture_t f = {.cfg = {.ready_timeout_ms = 200, .ready_what = "R", .delay_ms = 10}};

    (void)state;
    start(&f, NULL);
    send_frames(&f.a, "aR"); /* a frame, then ready */
    RUN_UNTIL(&f, f.served == 2);
    client_connect(&f, &f.b, 2);
    send_frames(&f.b, "xy"); /* answered, but never ready */
    RUN_UNTIL(&f, f.b.downs == 1);
    expect_answers(&f.b, "xy");
    assert_int_equal(f.ready_timeouts, 1);
    assert_int_equal(f.bad_frames, 0);
    /* a's deadline came first: had it not been cancelled, a would be gone too */
    assert_int_equal(f.a.downs, 0);
    assert_int_equal(pl_simconn_count(f.set), 1);
    exchange(&f, &f.a, "z", "aRz");
    stop(&f);
}

/* Without delay_ms the deadline has the timer to itself; ready before it, nothing closes. */
static void test_ready_deadline_no_delay(void **state)
{
    fixture_t f = {.cfg = {.ready_timeout_ms = 100}};

    (void)state;
    start(&f, NULL);
    client_connect(&f, &f.b, 2);
    send_frames(&f.b, "R");
    RUN_UNTIL(&f, f.a.downs == 1); /* a said nothing */
    assert_int_equal(f.ready_timeouts, 1);
    assert_int_equal(f.b.downs, 0);
    expect_answers(&f.b, "R");
    stop(&f);
}

/* Closing the set while answers are held: they are dropped, every block is freed (ASan,
 * valgrind), and the set's storage, freed right after the close, is not touched. */
static void test_close_with_answers_held(void **state)
{
    fixture_t f = {.cfg = {.delay_ms = 60000}};

    (void)state;
    start(&f, NULL);
    send_held(&f, "abcdef");
    stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rx_splits),
        cmocka_unit_test(test_rx_partial),
        cmocka_unit_test(test_rx_stop),
        cmocka_unit_test(test_rx_malformed),
        cmocka_unit_test(test_rx_contract),
        cmocka_unit_test(test_answers_at_once),
        cmocka_unit_test(test_delayed_in_order),
        cmocka_unit_test(test_at_once),
        cmocka_unit_test(test_close_after),
        cmocka_unit_test(test_malformed_closes),
        cmocka_unit_test(test_partial_frame_timeout),
        cmocka_unit_test(test_ready_deadline),
        cmocka_unit_test(test_ready_deadline_no_delay),
        cmocka_unit_test(test_close_with_answers_held),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
