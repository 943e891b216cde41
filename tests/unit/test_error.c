/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the error table (include/plcline/error.h, src/core/error.c): the manual's
 * 7TTCP codes keep their numbers and names, every table row is reachable through all three
 * lookups, unknown codes are answered without NULL, and pl_status_set truncates safely.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "plcline/error.h"
#include "plcline/log.h"

typedef struct {
    int err;
    unsigned num;
    const char *name;
    const char *msg;
} row_t;

static const row_t table[] = {
#define XX(name, num, str, msg) {PL_E##name, num, str, msg},
    PL_ERRNO_MAP(XX)
#undef XX
};

#define TABLE_LEN (sizeof(table) / sizeof(table[0]))

static void test_manual_codes(void **state)
{
    (void)state;
    assert_string_equal(pl_strerror(PL_ECONNECT), "connect failed");
    assert_string_equal(pl_err_name(PL_ECONNECT), "_7TTCP_CONNECT_SOCKET_FAILED");
    assert_int_equal(pl_err_code(PL_ECONNECT), 0x4003);
    assert_int_equal(PL_ECONNECT, -0x4003);

    assert_int_equal(pl_err_code(PL_EBLOCK_TOO_BIG), 0x5501);
    assert_string_equal(pl_err_name(PL_EBLOCK_TOO_BIG), "_7TOMRTCP_DATA_BLOCK_TOO_BIG");
    assert_string_equal(pl_strerror(PL_EBLOCK_TOO_BIG), "data block too big");

    assert_int_equal(pl_err_code(PL_EMSG_TOO_LONG), 0x4008);
    assert_string_equal(pl_err_name(PL_EMSG_TOO_LONG), "_7TTCP_RECV_MSG_TOO_LONG");

    /* the manual names 0x4001 and 0x4002 alike; the numbers tell them apart */
    assert_string_equal(pl_err_name(PL_ESOCKET), pl_err_name(PL_EBIND));
    assert_int_equal(pl_err_code(PL_ESOCKET), 0x4001);
    assert_int_equal(pl_err_code(PL_EBIND), 0x4002);
    assert_string_not_equal(pl_strerror(PL_ESOCKET), pl_strerror(PL_EBIND));
}

static void test_ok_and_unknown(void **state)
{
    static const int unknown[] = {-0x7777, -0x4000, -0x400A, -0x5502, 1, 0x4003, -0x7FFFFFFF};
    size_t i;

    (void)state;
    assert_string_equal(pl_strerror(0), "success");
    assert_string_equal(pl_err_name(0), "PL_OK");
    assert_int_equal(pl_err_code(0), 0);
    for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        assert_string_equal(pl_strerror(unknown[i]), "unknown error");
        assert_string_equal(pl_err_name(unknown[i]), "PL_EUNKNOWN");
        assert_int_equal(pl_err_code(unknown[i]), 0);
    }
}

/* Every row: negative enum equal to minus its number, reachable by all three lookups, with
 * a non-empty name and message; numbers are unique. */
static void test_every_row(void **state)
{
    size_t i;
    size_t j;

    (void)state;
    assert_true(TABLE_LEN > 30);
    for (i = 0; i < TABLE_LEN; i++) {
        assert_true(table[i].err < 0);
        assert_int_equal(table[i].err, -(int)table[i].num);
        assert_int_equal(pl_err_code(table[i].err), table[i].num);
        assert_string_equal(pl_err_name(table[i].err), table[i].name);
        assert_string_equal(pl_strerror(table[i].err), table[i].msg);
        assert_true(strlen(table[i].name) > 0);
        assert_true(strlen(table[i].msg) > 0);
        for (j = i + 1; j < TABLE_LEN; j++)
            assert_int_not_equal(table[i].num, table[j].num);
    }
}

static void test_status_set(void **state)
{
    pl_status_t st;
    char longtext[200];

    (void)state;
    memset(longtext, 'x', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = '\0';

    assert_int_equal(pl_status_set(&st, PL_ECONNECT, -111, "node %d", 3), PL_ECONNECT);
    assert_int_equal(st.code, PL_ECONNECT);
    assert_int_equal(st.sys, -111);
    assert_string_equal(st.detail, "node 3");

    assert_int_equal(pl_status_set(&st, PL_ETTCP_GROUP, 0, "%s", longtext), PL_ETTCP_GROUP);
    assert_int_equal(strlen(st.detail), PL_STATUS_DETAIL_MAX - 1);

    assert_int_equal(pl_status_set(&st, PL_ETIMEOUT, 0, NULL), PL_ETIMEOUT);
    assert_string_equal(st.detail, "");

    pl_status_clear(&st);
    assert_int_equal(st.code, 0);
    assert_int_equal(st.sys, 0);
    assert_string_equal(st.detail, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manual_codes),
        cmocka_unit_test(test_ok_and_unknown),
        cmocka_unit_test(test_every_row),
        cmocka_unit_test(test_status_set),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
