/* SPDX-License-Identifier: MIT */
/*
 * Scan-class deadlines with an injected clock: no drift, overruns counted, missed cycles
 * skipped rather than queued.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine/sched.h"

static void test_on_time_no_drift(void **state)
{
    uint64_t due = 1000, now;
    int i;

    (void)state;
    /* woken 7 ms late every time: deadlines stay on the 100 ms grid */
    for (i = 0; i < 50; i++) {
        now = due + 7;
        assert_int_equal(pl_sched_advance(&due, now, 100), 0);
        assert_int_equal(due % 100, 0);
    }
    assert_int_equal(due, 1000 + 50 * 100);
}

static void test_overrun_skips(void **state)
{
    uint64_t due = 1000;

    (void)state;
    /* woken at 1350: 1100, 1200 and 1300 were missed; the next is 1400 */
    assert_int_equal(pl_sched_advance(&due, 1350, 100), 3);
    assert_int_equal(due, 1400);
    /* exactly on a grid point: that point counts as missed, the next is after it */
    due = 1000;
    assert_int_equal(pl_sched_advance(&due, 1100, 100), 1);
    assert_int_equal(due, 1200);
}

static void test_large_gap(void **state)
{
    uint64_t due = 0;

    (void)state;
    assert_int_equal(pl_sched_advance(&due, 10000000000ull, 1), UINT32_MAX);
    assert_true(due > 10000000000ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_on_time_no_drift),
        cmocka_unit_test(test_overrun_skips),
        cmocka_unit_test(test_large_gap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
