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
    assert_string_equal(pl_strerror(PL_E_7TTCP_CONNECT), "connect failed");
    assert_string_equal(pl_err_name(PL_E_7TTCP_CONNECT), "_7TTCP_CONNECT_SOCKET_FAILED");
    assert_int_equal(pl_err_code(PL_E_7TTCP_CONNECT), 0x4003);
    assert_int_equal(PL_E_7TTCP_CONNECT, -0x4003);

    assert_int_equal(pl_err_code(PL_EBLOCK_TOO_BIG), 0x5501);
    assert_string_equal(pl_err_name(PL_EBLOCK_TOO_BIG), "_7TOMRTCP_DATA_BLOCK_TOO_BIG");
    assert_string_equal(pl_strerror(PL_EBLOCK_TOO_BIG), "data block too big");

    assert_int_equal(pl_err_code(PL_E_7TTCP_MSG_TOO_LONG), 0x4008);
    assert_string_equal(pl_err_name(PL_E_7TTCP_MSG_TOO_LONG), "_7TTCP_RECV_MSG_TOO_LONG");

    /* the manual names 0x4001 and 0x4002 alike; the numbers tell them apart */
    assert_string_equal(pl_err_name(PL_E_7TTCP_SOCKET), pl_err_name(PL_E_7TTCP_BIND));
    assert_int_equal(pl_err_code(PL_E_7TTCP_SOCKET), 0x4001);
    assert_int_equal(pl_err_code(PL_E_7TTCP_BIND), 0x4002);
    assert_string_not_equal(pl_strerror(PL_E_7TTCP_SOCKET), pl_strerror(PL_E_7TTCP_BIND));
}

/* Transport failures of every protocol have neutral codes and names; each has a 7TTCP
 * twin with the same message. */
static void test_neutral_transport_codes(void **state)
{
    static const struct {
        int neutral, manual;
        unsigned code;
        const char *name;
    } pairs[] = {
        {PL_ESOCKET, PL_E_7TTCP_SOCKET, 0x0030, "PL_ESOCKET"},
        {PL_EBIND, PL_E_7TTCP_BIND, 0x0031, "PL_EBIND"},
        {PL_ECONNECT, PL_E_7TTCP_CONNECT, 0x0032, "PL_ECONNECT"},
        {PL_ESEND, PL_E_7TTCP_SEND, 0x0033, "PL_ESEND"},
        {PL_ERECV_FF, PL_E_7TTCP_RECV_FF, 0x0034, "PL_ERECV_FF"},
        {PL_ERECV_00, PL_E_7TTCP_RECV_00, 0x0035, "PL_ERECV_00"},
        {PL_ENO_MSG, PL_E_7TTCP_NO_MSG, 0x0036, "PL_ENO_MSG"},
        {PL_EMSG_TOO_LONG, PL_E_7TTCP_MSG_TOO_LONG, 0x0037, "PL_EMSG_TOO_LONG"},
        {PL_ETIMEOUT, PL_E_7TTCP_TIMEOUT, 0x0038, "PL_ETIMEOUT"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        assert_int_equal(pl_err_code(pairs[i].neutral), pairs[i].code);
        assert_string_equal(pl_err_name(pairs[i].neutral), pairs[i].name);
        assert_int_equal(pl_err_code(pairs[i].manual), 0x4001 + i);
        assert_null(strstr(pl_err_name(pairs[i].neutral), "7TTCP"));
        assert_non_null(strstr(pl_err_name(pairs[i].manual), "_7TTCP_"));
    }
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
        cmocka_unit_test(test_manual_codes),   cmocka_unit_test(test_neutral_transport_codes),
        cmocka_unit_test(test_ok_and_unknown), cmocka_unit_test(test_every_row),
        cmocka_unit_test(test_status_set),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
