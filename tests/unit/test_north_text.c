/* SPDX-License-Identifier: MIT */
/*
 * Odd data on every output: PLC strings that are not UTF-8 (each byte value 0x00-0xFF) on
 * JSON lines and MQTT payloads, states that cannot be encoded, and command ids (whole up to
 * PL_JSONL_ID_MAX, refused beyond it, refused when neither a string nor an integer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "north/jsonl.h"
#include "north/mqtt.h"
#include "plcline/error.h"

static void state_init(pl_tag_state_t *st, const void *bytes, size_t n)
{
    memset(st, 0, sizeof(*st));
    st->tag = "st9";
    st->device = "slc";
    st->line = "l1";
    st->quality = PL_Q_GOOD;
    st->ts_ms = 1795325400123ull;
    st->value.type = PL_VT_STRING;
    memcpy(st->value.s, bytes, n);
    st->value.len = n;
}

/* Decodes RFC 4648 base64 (test side, written apart from the encoder). */
static size_t unbase64(const char *in, uint8_t *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t acc = 0;
    size_t o = 0;
    int bits = 0;

    for (; *in != '\0' && *in != '='; in++) {
        const char *p = strchr(abc, *in);

        assert_non_null(p);
        acc = acc << 6 | (uint32_t)(p - abc);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return o;
}

/* The bytes a consumer gets back from a payload: "value_base64" when present, else the
 * "value" string. Checks the invariants of the encoding on the way. */
static size_t bytes_back(const char *payload, size_t plen, uint8_t *out, int *b64)
{
    json_error_t je;
    json_t *o = json_loadb(payload, plen, JSON_ALLOW_NUL, &je), *v, *raw;
    size_t n;

    assert_non_null(o);
    v = json_object_get(o, "value");
    raw = json_object_get(o, "value_base64");
    assert_true(json_is_string(v)); /* always a string: consumers keep their type */
    *b64 = raw != NULL;
    if (raw != NULL) {
        assert_true(json_is_string(raw));
        n = unbase64(json_string_value(raw), out);
    } else {
        n = json_string_length(v);
        memcpy(out, json_string_value(v), n);
    }
    assert_string_equal(json_string_value(json_object_get(o, "quality")), "good");
    json_decref(o);
    return n;
}

/* Every byte value, alone and between text, on JSON lines and MQTT: the state is written,
 * the value is a string, and the bytes come back exactly. Before: json_string() returned
 * NULL for 0x80-0xFF and the tag was never published; 0x00 cut the string. */
static void test_every_byte_value_round_trips(void **state)
{
    char buf[4096];
    uint8_t back[256];
    int b, n, b64;

    (void)state;
    for (b = 0; b < 256; b++) {
        uint8_t in[3] = {'a', (uint8_t)b, 'z'};
        pl_tag_state_t st;
        size_t m;
        int pass;

        state_init(&st, in, sizeof(in));
        for (pass = 0; pass < 2; pass++) {
            n = pass == 0 ? pl_jsonl_state(&st, buf, sizeof(buf))
                          : pl_mqtt_format_state(&st, buf, sizeof(buf));
            assert_true(n > 0);
            m = bytes_back(buf, (size_t)n, back, &b64);
            assert_int_equal(m, 3);
            assert_memory_equal(back, in, 3);
            assert_int_equal(b64, b >= 0x80); /* a lone byte above 0x7F is never UTF-8 */
            if (b >= 0x80)                    /* the text shown has U+FFFD where the byte was */
                assert_non_null(strstr(buf, "\"value\":\"a\xEF\xBF\xBDz\""));
        }
    }
}

/* All 256 byte values in one string each (95 bytes at a time, the most a value holds), and
 * valid multi-byte text kept as it is. */
static void test_all_bytes_in_one_string(void **state)
{
    static const uint8_t text[] = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";
    char buf[4096];
    uint8_t in[PL_VALUE_STRING_MAX - 1], back[256];
    pl_tag_state_t st;
    int start, n, b64;
    size_t i, m;

    (void)state;
    for (start = 0; start < 256; start += (int)sizeof(in)) {
        for (i = 0; i < sizeof(in); i++)
            in[i] = (uint8_t)((size_t)start + i);
        state_init(&st, in, sizeof(in));
        n = pl_jsonl_state(&st, buf, sizeof(buf));
        assert_true(n > 0);
        m = bytes_back(buf, (size_t)n, back, &b64);
        assert_int_equal(m, sizeof(in));
        assert_memory_equal(back, in, sizeof(in));
        n = pl_mqtt_format_state(&st, buf, sizeof(buf));
        assert_true(n > 0);
        m = bytes_back(buf, (size_t)n, back, &b64);
        assert_memory_equal(back, in, sizeof(in));
    }
    state_init(&st, text, sizeof(text) - 1);
    n = pl_jsonl_state(&st, buf, sizeof(buf));
    assert_true(n > 0);
    assert_null(strstr(buf, "value_base64"));
    assert_non_null(strstr(buf, (const char *)text));
    /* overlong, surrogate and out-of-range forms are not text */
    assert_int_equal(pl_jsonl_utf8_valid("\xC0\xAF", 2), 0);
    assert_int_equal(pl_jsonl_utf8_valid("\xED\xA0\x80", 3), 0);
    assert_int_equal(pl_jsonl_utf8_valid("\xF4\x90\x80\x80", 4), 0);
    assert_int_equal(pl_jsonl_utf8_valid("\xE2\x82", 2), 0);
    assert_int_equal(pl_jsonl_utf8_valid((const char *)text, sizeof(text) - 1), 1);
}

/* A detail (error text) with bytes that are not UTF-8 does not lose the state either. */
static void test_bad_detail_bytes(void **state)
{
    pl_tag_state_t st;
    char buf[4096];
    int n;

    (void)state;
    state_init(&st, "x", 1);
    st.quality = PL_Q_BAD;
    st.error = PL_EPROTO;
    snprintf(st.detail, sizeof(st.detail), "peer said \xFF\xFE");
    n = pl_jsonl_state(&st, buf, sizeof(buf));
    assert_true(n > 0);
    assert_non_null(strstr(buf, "peer said \xEF\xBF\xBD\xEF\xBF\xBD"));
    n = pl_mqtt_format_state(&st, buf, sizeof(buf));
    assert_true(n > 0);
    assert_non_null(strstr(buf, "\"quality\":\"bad\""));
}

/* An event-driven device's tag: the device's timestamp and quality flags, on the JSON line
 * and in the MQTT payload, only when there are (a polled tag's output has neither). */
static void test_source_time_and_flags(void **state)
{
    pl_tag_state_t st;
    char buf[1024];
    int n;

    (void)state;
    state_init(&st, "x", 1);
    n = pl_jsonl_state(&st, buf, sizeof(buf));
    assert_true(n > 0);
    assert_null(strstr(buf, "source_ts"));
    assert_null(strstr(buf, "flags"));
    st.source_ms = 1795325400123ull; /* 2026-11-22T05:30:00.123Z */
    st.flags = PL_QF_BLOCKED | PL_QF_NOT_TOPICAL;
    st.quality = PL_Q_UNCERTAIN;
    n = pl_jsonl_state(&st, buf, sizeof(buf));
    assert_true(n > 0);
    assert_non_null(strstr(buf, "\"quality\":\"uncertain\""));
    assert_non_null(strstr(buf, ",\"source_ts\":\"2026-11-22T05:30:00.123Z\","
                                "\"flags\":[\"blocked\",\"not_topical\"]}\n"));
    n = pl_mqtt_format_state(&st, buf, sizeof(buf));
    assert_true(n > 0);
    assert_non_null(strstr(buf, ",\"source_ts\":\"2026-11-22T05:30:00.123Z\","
                                "\"flags\":[\"blocked\",\"not_topical\"]}"));
    /* every flag has its name */
    st.source_ms = 0;
    st.flags = (1u << PL_QF_COUNT) - 1u;
    n = pl_mqtt_format_state(&st, buf, sizeof(buf));
    assert_true(n > 0);
    assert_null(strstr(buf, "source_ts"));
    assert_non_null(strstr(buf, "\"flags\":[\"substituted\",\"blocked\",\"overflow\","
                                "\"not_topical\",\"invalid\"]"));
    assert_null(pl_quality_flag_name(PL_QF_COUNT));
}

/* A state that does not fit goes out as bad with PL_EENCODE, not nowhere. */
static void test_state_that_does_not_fit_is_bad_not_lost(void **state)
{
    uint8_t in[PL_VALUE_STRING_MAX - 1];
    pl_tag_state_t st;
    char buf[400];
    int n;

    (void)state;
    memset(in, 0xFF, sizeof(in)); /* 95 x U+FFFD (285 bytes) + 128 of base64 */
    state_init(&st, in, sizeof(in));
    n = pl_jsonl_state(&st, buf, sizeof(buf));
    assert_true(n > 0);
    assert_non_null(strstr(buf, "\"tag\":\"st9\""));
    assert_non_null(strstr(buf, "\"value\":null"));
    assert_non_null(strstr(buf, "\"quality\":\"bad\""));
    assert_non_null(strstr(buf, "\"name\":\"PL_EENCODE\""));
    n = pl_mqtt_format_state(&st, buf, sizeof(buf));
    assert_true(n > 0);
    assert_non_null(strstr(buf, "\"name\":\"PL_EENCODE\""));
    assert_int_equal(pl_jsonl_state(&st, buf, 8), PL_ENOBUFS); /* nothing fits at all */
}

static void id_line(char *line, size_t cap, const char *id_json)
{
    snprintf(line, cap, "{\"write\":\"w\",\"value\":1,\"id\":%s}", id_json);
}

/* Ids come back whole up to PL_JSONL_ID_MAX bytes; a cut inside a UTF-8 character no
 * longer loses the id. Before: cut at 127 bytes, and "<126 x a>é" had no id at all. */
static void test_ids_whole_or_refused(void **state)
{
    char line[1024], id[PL_JSONL_ID_MAX + 8], quoted[PL_JSONL_ID_MAX + 16], out[2048];
    static const char *const refused[] = {"true", "1.5", "null", "{}", "[1]"};
    pl_jsonl_cmd_t w;
    pl_status_t err, ok;
    size_t i;

    (void)state;
    memset(id, 'a', 200);
    id[200] = '\0';
    snprintf(quoted, sizeof(quoted), "\"%s\"", id);
    id_line(line, sizeof(line), quoted);
    assert_int_equal(pl_jsonl_parse_command(line, strlen(line), &w, &err), 0);
    assert_int_equal(strlen(w.id), 200);
    pl_status_clear(&ok);
    assert_true(pl_jsonl_result(w.tag, w.id, &ok, out, sizeof(out)) > 0);
    assert_non_null(strstr(out, quoted));

    memset(id, 'a', 126);
    memcpy(id + 126, "\xC3\xA9", 3);
    snprintf(quoted, sizeof(quoted), "\"%s\"", id);
    id_line(line, sizeof(line), quoted);
    assert_int_equal(pl_jsonl_parse_command(line, strlen(line), &w, &err), 0);
    assert_string_equal(w.id, id);
    assert_true(pl_jsonl_result(w.tag, w.id, &ok, out, sizeof(out)) > 0);
    assert_non_null(strstr(out, quoted));

    memset(id, 'b', PL_JSONL_ID_MAX); /* exactly the limit: taken */
    id[PL_JSONL_ID_MAX] = '\0';
    snprintf(quoted, sizeof(quoted), "\"%s\"", id);
    id_line(line, sizeof(line), quoted);
    assert_int_equal(pl_jsonl_parse_command(line, strlen(line), &w, &err), 0);
    assert_string_equal(w.id, id);

    memset(id, 'b', PL_JSONL_ID_MAX + 1); /* one more: refused, not cut */
    id[PL_JSONL_ID_MAX + 1] = '\0';
    snprintf(quoted, sizeof(quoted), "\"%s\"", id);
    id_line(line, sizeof(line), quoted);
    pl_status_clear(&err);
    assert_int_equal(pl_jsonl_parse_command(line, strlen(line), &w, &err), PL_EVALUE);
    assert_string_equal(w.id, "");
    assert_non_null(strstr(err.detail, "longer than 256"));

    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        id_line(line, sizeof(line), refused[i]);
        pl_status_clear(&err);
        assert_int_equal(pl_jsonl_parse_command(line, strlen(line), &w, &err), PL_EVALUE);
        assert_non_null(strstr(err.detail, "\"id\""));
    }
    id_line(line, sizeof(line), "-42");
    assert_int_equal(pl_jsonl_parse_command(line, strlen(line), &w, &err), 0);
    assert_string_equal(w.id, "-42");
    line[0] = '\0';
    snprintf(line, sizeof(line), "{\"stats\":true,\"id\":%s}", "false");
    assert_int_equal(pl_jsonl_parse_command(line, strlen(line), &w, &err), PL_EVALUE);
}

/* An error detail that quotes the caller's text cuts it at a fixed length, which can split
 * a UTF-8 character: the answer must still say what was wrong (before: the error object
 * could not be built and the "error" answer went out without it; in MQTT results too). */
static void test_cut_detail_still_answers(void **state)
{
    char line[256], key[64], out[1024];
    pl_jsonl_cmd_t w;
    pl_status_t err;
    int n;

    (void)state;
    memset(key, 'k', 39);
    memcpy(key + 39, "\xC3\xA9\xC3\xA9", 5); /* '%.40s' keeps 39 'k' and half an 'é' */
    snprintf(line, sizeof(line), "{\"%s\":1,\"id\":\"c1\"}", key);
    pl_status_clear(&err);
    assert_int_equal(pl_jsonl_parse_command(line, strlen(line), &w, &err), PL_EVALUE);
    n = pl_jsonl_result(w.tag, w.id, &err, out, sizeof(out));
    assert_true(n > 0);
    assert_non_null(strstr(out, "\"result\":\"error\""));
    assert_non_null(strstr(out, "kkk\xEF\xBF\xBD"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_byte_value_round_trips),
        cmocka_unit_test(test_all_bytes_in_one_string),
        cmocka_unit_test(test_bad_detail_bytes),
        cmocka_unit_test(test_source_time_and_flags),
        cmocka_unit_test(test_state_that_does_not_fit_is_bad_not_lost),
        cmocka_unit_test(test_ids_whole_or_refused),
        cmocka_unit_test(test_cut_detail_still_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
