/* SPDX-License-Identifier: MIT */
/*
 * The daemon's JSON-lines contract: tag states out, write commands in, results out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "north/jsonl.h"
#include "plcline/error.h"

static void test_state_good(void **state)
{
    pl_tag_state_t st;
    char buf[512];
    int n;

    (void)state;
    memset(&st, 0, sizeof(st));
    st.tag = "boiler.temp";
    st.device = "boiler";
    st.line = "plant-a";
    st.value.type = PL_VT_FLOAT;
    st.value.f = 21.5;
    st.quality = PL_Q_GOOD;
    st.ts_ms = 1795325400123ull; /* 2026-11-22T05:30:00.123Z */
    n = pl_jsonl_state(&st, buf, sizeof(buf));
    assert_true(n > 0);
    assert_string_equal(buf, "{\"tag\":\"boiler.temp\",\"device\":\"boiler\",\"line\":\"plant-a\","
                             "\"value\":21.5,\"quality\":\"good\",\"ts\":"
                             "\"2026-11-22T05:30:00.123Z\",\"error\":null}\n");
    assert_int_equal(n, (int)strlen(buf));
    assert_int_equal(pl_jsonl_state(&st, buf, 20), PL_ENOBUFS);
}

static void test_state_bad(void **state)
{
    pl_tag_state_t st;
    char buf[512];

    (void)state;
    memset(&st, 0, sizeof(st));
    st.tag = "t";
    st.device = "d";
    st.line = "l";
    st.quality = PL_Q_BAD;
    st.error = PL_E_7TTCP_TIMEOUT;
    snprintf(st.detail, sizeof(st.detail), "node 5 offset 0: no answer within 100 ms");
    assert_true(pl_jsonl_state(&st, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"value\":null"));
    assert_non_null(strstr(buf, "\"quality\":\"bad\""));
    assert_non_null(strstr(buf, "\"code\":\"0x4009\""));
    assert_non_null(strstr(buf, "\"name\":\"_7TTCP_RECV_TIMEOUT\""));
    assert_non_null(strstr(buf, "no answer within 100 ms"));
}

static void test_parse_write(void **state)
{
    pl_jsonl_cmd_t w;
    pl_status_t err;
    const char *l;

    (void)state;
    l = "{\"write\":\"a.b\",\"value\":42,\"id\":\"x1\"}";
    assert_int_equal(pl_jsonl_parse_command(l, strlen(l), &w, &err), 0);
    assert_string_equal(w.tag, "a.b");
    assert_int_equal(w.value.type, PL_VT_INT);
    assert_int_equal(w.value.i, 42);
    assert_string_equal(w.id, "x1");
    l = "{\"write\":\"a\",\"value\":1.25}";
    assert_int_equal(pl_jsonl_parse_command(l, strlen(l), &w, &err), 0);
    assert_int_equal(w.value.type, PL_VT_FLOAT);
    assert_true(w.value.f == 1.25);
    l = "{\"write\":\"a\",\"value\":true,\"id\":7}";
    assert_int_equal(pl_jsonl_parse_command(l, strlen(l), &w, &err), 0);
    assert_int_equal(w.value.type, PL_VT_BOOL);
    assert_string_equal(w.id, "7");
    l = "{\"write\":\"a\",\"value\":\"hello\"}";
    assert_int_equal(pl_jsonl_parse_command(l, strlen(l), &w, &err), 0);
    assert_string_equal(w.value.s, "hello");

    l = "{\"write\":\"a\"";
    assert_int_equal(pl_jsonl_parse_command(l, strlen(l), &w, &err), PL_EVALUE);
    assert_non_null(strstr(err.detail, "not JSON"));
    l = "[1]";
    assert_int_equal(pl_jsonl_parse_command(l, strlen(l), &w, &err), PL_EVALUE);
    l = "{\"value\":1}";
    assert_int_equal(pl_jsonl_parse_command(l, strlen(l), &w, &err), PL_EVALUE);
    assert_non_null(strstr(err.detail, "write"));
    l = "{\"write\":\"a\",\"value\":null}";
    assert_int_equal(pl_jsonl_parse_command(l, strlen(l), &w, &err), PL_EVALUE);
    l = "{\"write\":\"a\",\"value\":1,\"valeu\":2}";
    assert_int_equal(pl_jsonl_parse_command(l, strlen(l), &w, &err), PL_EVALUE);
    assert_non_null(strstr(err.detail, "valeu"));
    l = "{\"write\":\"a\",\"value\":1,\"value\":2}";
    assert_int_equal(pl_jsonl_parse_command(l, strlen(l), &w, &err), PL_EVALUE);
}

static void test_stats(void **state)
{
    pl_jsonl_cmd_t c;
    pl_status_t err;
    pl_engine_stats_t st;
    char buf[1024];
    const char *l = "{\"stats\":true,\"id\":\"s1\"}";

    (void)state;
    assert_int_equal(pl_jsonl_parse_command(l, strlen(l), &c, &err), 0);
    assert_int_equal(c.kind, PL_JSONL_STATS);
    assert_string_equal(c.id, "s1");
    l = "{\"stats\":true,\"write\":\"a\"}";
    assert_int_equal(pl_jsonl_parse_command(l, strlen(l), &c, &err), PL_EVALUE);

    memset(&st, 0, sizeof(st));
    st.requests = 10;
    st.timeouts = 2;
    st.errors = 2;
    st.errors_by_code[0].code = PL_E_7TTCP_TIMEOUT;
    st.errors_by_code[0].count = 2;
    st.demoted = 1;
    assert_true(pl_jsonl_stats("device", "boiler", &st, "s1", buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"stats\":\"device\""));
    assert_non_null(strstr(buf, "\"name\":\"boiler\""));
    assert_non_null(strstr(buf, "\"requests\":10"));
    assert_non_null(strstr(buf, "\"0x4009 _7TTCP_RECV_TIMEOUT\":2"));
    assert_non_null(strstr(buf, "\"demoted\":true"));
    assert_non_null(strstr(buf, "\"id\":\"s1\""));
}

static void test_result(void **state)
{
    pl_status_t st;
    char buf[512];

    (void)state;
    pl_status_clear(&st);
    assert_true(pl_jsonl_result("a", "x1", &st, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "{\"result\":\"ok\",\"write\":\"a\",\"id\":\"x1\"}\n");
    pl_status_set(&st, PL_EREADONLY, 0, "tag 'a' is not writable");
    assert_true(pl_jsonl_result("a", "", &st, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"result\":\"error\""));
    assert_non_null(strstr(buf, "\"name\":\"PL_EREADONLY\""));
    assert_null(strstr(buf, "\"id\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_good),  cmocka_unit_test(test_state_bad),
        cmocka_unit_test(test_parse_write), cmocka_unit_test(test_stats),
        cmocka_unit_test(test_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
