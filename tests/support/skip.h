/* SPDX-License-Identifier: MIT */
/*
 * Skips that CTest can see. cmocka counts a skipped test as not failed, so its executable
 * exits 0 and CTest reports it "Passed". A test that cannot run here calls PL_SKIP("why")
 * instead of cmocka's skip(): the reason is printed as "PL-SKIP: why" and remembered, and
 * main() ends with `return pl_test_exit(cmocka_run_group_tests(...));`, which returns
 * PL_TEST_SKIPPED (CMake's SKIP_RETURN_CODE for every test) when a test skipped and none
 * failed. scripts/check-skips.py then fails CI for a skip not listed in tests/skips.txt.
 */
#ifndef PLCLINE_TEST_SKIP_H
#define PLCLINE_TEST_SKIP_H

/* the exit code CTest takes for "skipped" (the Automake convention) */
#define PL_TEST_SKIPPED 77

/* Prints "PL-SKIP: <reason>" on stdout and remembers that a test skipped. */
void pl_test_skip_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Skips the running cmocka test, saying why. */
#define PL_SKIP(...)                    \
    do {                                \
        pl_test_skip_note(__VA_ARGS__); \
        skip();                         \
    } while (0)

/* The executable's exit code from cmocka's count of failed tests: 1 if any failed, else
 * PL_TEST_SKIPPED if a test skipped, else 0. */
int pl_test_exit(int failed);

#endif
