/* SPDX-License-Identifier: MIT */
/*
 * The rate limiter for lines a partner can cause (pl_log_limited): per partner and message,
 * the first few in full, then a count per interval. The clock is passed in: no sleeping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "plcline/log.h"

typedef struct {
    unsigned n;
    char last[512];
    pl_log_level_t level;
} sink_t;

static void sink_cb(void *ud, pl_log_level_t level, const char *msg)
{
    sink_t *s = ud;

    s->n++;
    s->level = level;
    snprintf(s->last, sizeof(s->last), "%s", msg);
}

static const char FMT_A[] = "peer %s: node %u is not served";
static const char FMT_B[] = "peer %s: malformed frame";

static void setup(pl_logger_t *log, sink_t *s, pl_ratelimit_t *rl, pl_ratelimit_slot_t *slots,
                  size_t n)
{
    memset(s, 0, sizeof(*s));
    memset(log, 0, sizeof(*log));
    log->cb = sink_cb;
    log->ud = s;
    log->level = PL_LOG_INFO;
    pl_ratelimit_init(rl, slots, n);
}

/* A flood of one partner: 5 lines in full, then one count per interval. */
static void test_flood_gives_burst_then_counts(void **state)
{
    pl_ratelimit_slot_t slots[4];
    pl_ratelimit_t rl;
    pl_logger_t log;
    sink_t s;
    unsigned i, shown = 0;

    (void)state;
    setup(&log, &s, &rl, slots, 4);
    for (i = 0; i < 100000; i++) /* 100 000 lines in the first 10 s */
        shown += (unsigned)pl_log_limited(&rl, i / 10u, &log, PL_LOG_WARN, "127.0.0.1:5000", FMT_A,
                                          "127.0.0.1:5000", i);
    assert_int_equal(shown, PL_LOG_BURST);
    assert_int_equal(s.n, PL_LOG_BURST);
    assert_string_equal(s.last, "peer 127.0.0.1:5000: node 4 is not served");
    /* the flood goes on: the count of the first interval, and nothing in full */
    assert_int_equal(pl_log_limited(&rl, 10000, &log, PL_LOG_WARN, "127.0.0.1:5000", FMT_A,
                                    "127.0.0.1:5000", 7u),
                     0);
    assert_int_equal(s.n, PL_LOG_BURST + 1);
    assert_string_equal(
        s.last, "peer 127.0.0.1:5000: node 5 is not served ... 99995 more in the last 10 s");
    assert_int_equal(s.level, PL_LOG_WARN);
    for (i = 0; i < 1000; i++)
        pl_log_limited(&rl, 10001u + i, &log, PL_LOG_WARN, "127.0.0.1:5001", FMT_A, "x", i);
    assert_int_equal(s.n, PL_LOG_BURST + 1); /* another port: the same partner */
    pl_ratelimit_flush(&rl, 12000, &log);
    assert_int_equal(s.n, PL_LOG_BURST + 2);
    assert_non_null(strstr(s.last, "... 1001 more in the last 2 s"));
    assert_int_equal(rl.held_total, 100000u - PL_LOG_BURST + 1001u);
}

/* Partners and messages are counted apart; a quiet interval gives a partner its burst
 * back; lines the logger filters out cost nothing. */
static void test_keys_and_quiet(void **state)
{
    pl_ratelimit_slot_t slots[4];
    pl_ratelimit_t rl;
    pl_logger_t log;
    sink_t s;
    unsigned i;

    (void)state;
    setup(&log, &s, &rl, slots, 4);
    log.burst = 2;
    for (i = 0; i < 10; i++) {
        pl_log_limited(&rl, 0, &log, PL_LOG_WARN, "10.0.0.1:1", FMT_A, "a", i);
        pl_log_limited(&rl, 0, &log, PL_LOG_WARN, "10.0.0.2:1", FMT_A, "b", i);
        pl_log_limited(&rl, 0, &log, PL_LOG_WARN, "10.0.0.1:1", FMT_B, "a");
        pl_log_limited(&rl, 0, &log, PL_LOG_DEBUG, "10.0.0.1:1", FMT_B, "a");
    }
    assert_int_equal(s.n, 6); /* 2 each of three keys; debug filtered */
    assert_int_equal(rl.held_total, 24);
    /* an interval later the counts come with the next call of any key */
    pl_log_limited(&rl, 10500, &log, PL_LOG_WARN, "10.0.0.9", FMT_B, "z");
    assert_int_equal(s.n, 6 + 3 + 1);
    /* quiet for more than an interval: full lines again */
    s.n = 0;
    assert_int_equal(pl_log_limited(&rl, 40000, &log, PL_LOG_WARN, "10.0.0.1:1", FMT_A, "a", 1u),
                     1);
    assert_int_equal(pl_log_limited(&rl, 40000, &log, PL_LOG_WARN, "10.0.0.1:1", FMT_A, "a", 2u),
                     1);
    assert_int_equal(pl_log_limited(&rl, 40000, &log, PL_LOG_WARN, "10.0.0.1:1", FMT_A, "a", 3u),
                     0);
}

/* `-q`: burst 1; and partners beyond the slots share one count. */
static void test_quiet_and_other_partners(void **state)
{
    pl_ratelimit_slot_t slots[2];
    pl_ratelimit_t rl;
    pl_logger_t log;
    sink_t s;
    char peer[32];
    unsigned i;

    (void)state;
    setup(&log, &s, &rl, slots, 2);
    log.burst = 1;
    for (i = 0; i < 1000; i++) {
        snprintf(peer, sizeof(peer), "10.0.%u.%u:99", i / 250u, i % 250u);
        pl_log_limited(&rl, 5, &log, PL_LOG_WARN, peer, FMT_B, peer);
    }
    assert_int_equal(s.n, 2); /* one line for each of the two slots, the rest counted */
    pl_ratelimit_flush(&rl, 10005, &log);
    assert_int_equal(s.n, 3);
    assert_non_null(strstr(s.last, "... 998 more from other partners in the last 10 s"));
    /* no storage at all: everything is one count */
    setup(&log, &s, &rl, NULL, 0);
    for (i = 0; i < 50; i++)
        pl_log_limited(&rl, 1, &log, PL_LOG_ERROR, "p", FMT_B, "p");
    assert_int_equal(s.n, 0);
    pl_log_limited(&rl, 20000, &log, PL_LOG_ERROR, "p", FMT_B, "p");
    assert_int_equal(s.n, 1);
    assert_int_equal(s.level, PL_LOG_ERROR);
    assert_non_null(strstr(s.last, "peer p: malformed frame ... 50 more from other partners"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flood_gives_burst_then_counts),
        cmocka_unit_test(test_keys_and_quiet),
        cmocka_unit_test(test_quiet_and_other_partners),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
