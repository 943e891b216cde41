/* SPDX-License-Identifier: MIT */
/*
 * JSON lines for the daemon (see jsonl.h), on jansson. Builds and parses text only.
 */
#include "north/jsonl.h"

#include "plcline/error.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

json_t *pl_jsonl_error_object(int code, const char *detail)
{
    char hex[16];
    json_t *o;

    snprintf(hex, sizeof(hex), "0x%04x", pl_err_code(code));
    o = json_pack("{s:s, s:s, s:s}", "code", hex, "name", pl_err_name(code), "message",
                  pl_strerror(code));
    if (o != NULL &&
        json_object_set_new(o, "detail",
                            pl_jsonl_text(detail, detail != NULL ? strlen(detail) : 0)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *error_object(const pl_status_t *st)
{
    return pl_jsonl_error_object(st->code, st->detail);
}

/* Length of the valid UTF-8 sequence at s[0..n) (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0 when s[0] does not start one. The same rules as
 * jansson's, so that text found valid here is taken by json_stringn(). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0], cp;
    size_t len, i;

    if (c < 0x80u)
        return 1;
    if (c >= 0xC2u && c <= 0xDFu)
        len = 2, cp = c & 0x1Fu;
    else if (c >= 0xE0u && c <= 0xEFu)
        len = 3, cp = c & 0x0Fu;
    else if (c >= 0xF0u && c <= 0xF4u)
        len = 4, cp = c & 0x07u;
    else
        return 0;
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0u) != 0x80u)
            return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if ((len == 3 && (cp < 0x800u || (cp >= 0xD800u && cp <= 0xDFFFu))) ||
        (len == 4 && (cp < 0x10000u || cp > 0x10FFFFu)))
        return 0;
    return len;
}

int pl_jsonl_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k;

    while (i < n) {
        if ((k = utf8_seq(p + i, n - i)) == 0)
            return 0;
        i += k;
    }
    return 1;
}

/* s[0..n) with every byte that does not start a valid sequence replaced by U+FFFD, into
 * out (room for 3n bytes). Returns the length. */
static size_t replace_invalid(const unsigned char *p, size_t n, char *out)
{
    size_t i = 0, o = 0, k;

    while (i < n) {
        k = utf8_seq(p + i, n - i);
        if (k == 0) { /* U+FFFD REPLACEMENT CHARACTER, UTF-8 EF BF BD */
            out[o++] = (char)0xEF;
            out[o++] = (char)0xBF;
            out[o++] = (char)0xBD;
            i++;
            continue;
        }
        memcpy(out + o, p + i, k);
        o += k;
        i += k;
    }
    return o;
}

json_t *pl_jsonl_text(const char *s, size_t n)
{
    char *buf;
    json_t *j;

    if (s == NULL)
        return json_string("");
    if (pl_jsonl_utf8_valid(s, n) && (j = json_stringn(s, n)) != NULL)
        return j;
    if (n > SIZE_MAX / 3u || (buf = malloc(n * 3u + 1u)) == NULL)
        return NULL;
    j = json_stringn(buf, replace_invalid((const unsigned char *)s, n, buf));
    free(buf);
    return j;
}

/* RFC 4648 base64 with padding. */
static json_t *base64(const unsigned char *p, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char out[(PL_VALUE_STRING_MAX + 2) / 3 * 4 + 1];
    size_t i, o = 0;

    if (n > PL_VALUE_STRING_MAX)
        n = PL_VALUE_STRING_MAX;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

        out[o++] = abc[v >> 18 & 63u];
        out[o++] = abc[v >> 12 & 63u];
        out[o++] = abc[v >> 6 & 63u];
        out[o++] = abc[v & 63u];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0u);

        out[o++] = abc[v >> 18 & 63u];
        out[o++] = abc[v >> 12 & 63u];
        out[o++] = i + 1 < n ? abc[v >> 6 & 63u] : '=';
        out[o++] = '=';
    }
    return json_stringn(out, o);
}

json_t *pl_jsonl_value(const pl_value_t *v)
{
    switch (v->type) {
    case PL_VT_NONE:
        return json_null();
    case PL_VT_BOOL:
        return json_boolean(v->i != 0);
    case PL_VT_INT:
        return json_integer((json_int_t)v->i);
    case PL_VT_FLOAT:
        return isfinite(v->f) ? json_real(v->f) : json_null();
    case PL_VT_STRING:
        return pl_jsonl_text(v->s, pl_value_string_len(v));
    }
    return json_null();
}

int pl_jsonl_put_value(json_t *o, const pl_value_t *v)
{
    size_t n;

    if (json_object_set_new(o, "value", pl_jsonl_value(v)) < 0)
        return PL_ENOMEM;
    if (v->type != PL_VT_STRING)
        return 0;
    n = pl_value_string_len(v);
    if (pl_jsonl_utf8_valid(v->s, n))
        return 0;
    return json_object_set_new(o, "value_base64", base64((const unsigned char *)v->s, n)) < 0
               ? PL_ENOMEM
               : 0;
}

int pl_jsonl_dump(json_t *o, char *buf, size_t cap, int newline)
{
    size_t n, extra = newline ? 2u : 1u;

    if (o == NULL)
        return PL_ENOMEM;
    n = json_dumpb(o, buf, cap > extra ? cap - extra : 0, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(o);
    if (n == 0 || n + extra > cap)
        return PL_ENOBUFS;
    if (newline)
        buf[n++] = '\n';
    buf[n] = '\0';
    return (int)n;
}

static int dump(json_t *o, char *buf, size_t cap)
{
    return pl_jsonl_dump(o, buf, cap, 1);
}

void pl_jsonl_iso8601(uint64_t ms, char *buf, size_t cap)
{
    time_t s = (time_t)(ms / 1000u);
    struct tm tm;

    gmtime_r(&s, &tm);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000u));
}

int pl_jsonl_put_source(json_t *o, const pl_tag_state_t *st)
{
    char ts[96];
    json_t *flags;
    unsigned i;

    if (st->source_ms != 0) {
        pl_jsonl_iso8601(st->source_ms, ts, sizeof(ts));
        if (json_object_set_new(o, "source_ts", json_string(ts)) != 0)
            return PL_ENOMEM;
    }
    if (st->flags == 0)
        return 0;
    flags = json_array();
    if (flags == NULL)
        return PL_ENOMEM;
    for (i = 0; i < PL_QF_COUNT; i++) {
        if ((st->flags & (1u << i)) != 0 &&
            json_array_append_new(flags, json_string(pl_quality_flag_name(i))) != 0) {
            json_decref(flags);
            return PL_ENOMEM;
        }
    }
    return json_object_set_new(o, "flags", flags) != 0 ? PL_ENOMEM : 0;
}

/* The state as an object, with the tag's names (JSON lines) or without (MQTT, whose topic
 * names the tag); `fallback`: without the value, bad, with error `code` and `why`. */
static json_t *state_object(const pl_tag_state_t *st, int names, int fallback, int code,
                            const char *why)
{
    char ts[96]; /* fits any int fields gmtime_r can produce */
    pl_status_t e;
    json_t *o = json_object(), *err;
    int bad = 0;

    if (o == NULL)
        return NULL;
    pl_jsonl_iso8601(st->ts_ms, ts, sizeof(ts));
    if (names) {
        bad |= json_object_set_new(o, "tag", pl_jsonl_text(st->tag, strlen(st->tag)));
        bad |= json_object_set_new(o, "device", pl_jsonl_text(st->device, strlen(st->device)));
        bad |= json_object_set_new(o, "line", pl_jsonl_text(st->line, strlen(st->line)));
    }
    if (fallback)
        bad |= json_object_set_new(o, "value", json_null());
    else
        bad |= pl_jsonl_put_value(o, &st->value);
    bad |= json_object_set_new(o, "quality",
                               json_string(pl_quality_name(fallback ? PL_Q_BAD : st->quality)));
    if (fallback) {
        err = pl_jsonl_error_object(code, why);
    } else if (st->error != 0) {
        e.code = st->error;
        e.sys = 0;
        memcpy(e.detail, st->detail, sizeof(e.detail));
        e.detail[sizeof(e.detail) - 1] = '\0';
        err = error_object(&e);
    } else {
        err = json_null();
    }
    if (names) { /* the daemon's lines have always put "ts" before "error" */
        bad |= json_object_set_new(o, "ts", json_string(ts));
        bad |= json_object_set_new(o, "error", err);
    } else {
        bad |= json_object_set_new(o, "error", err);
        bad |= json_object_set_new(o, "ts", json_string(ts));
    }
    if (!fallback && pl_jsonl_put_source(o, st) != 0)
        bad = 1;
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int pl_jsonl_state_format(const pl_tag_state_t *st, int names, char *buf, size_t cap, int newline)
{
    char why[PL_STATUS_DETAIL_MAX];
    int n, m;

    n = pl_jsonl_dump(state_object(st, names, 0, 0, NULL), buf, cap, newline);
    if (n >= 0)
        return n;
    /* Never silence: the state goes out as bad, saying what kept it from being encoded. */
    snprintf(why, sizeof(why), "the tag's state could not be encoded: %s",
             n == PL_ENOBUFS ? "longer than the output buffer" : "out of memory");
    m = pl_jsonl_dump(state_object(st, names, 1, PL_EENCODE, why), buf, cap, newline);
    return m >= 0 ? m : n;
}

int pl_jsonl_state(const pl_tag_state_t *st, char *buf, size_t cap)
{
    return pl_jsonl_state_format(st, 1, buf, cap, 1);
}

int pl_jsonl_error(const pl_status_t *st, char *buf, size_t cap)
{
    return dump(error_object(st), buf, cap);
}

int pl_jsonl_id(const json_t *id, char *out, pl_status_t *err)
{
    size_t n;

    out[0] = '\0';
    if (id == NULL)
        return 0;
    if (json_is_integer(id)) {
        snprintf(out, PL_JSONL_ID_MAX + 1, "%lld", (long long)json_integer_value(id));
        return 0;
    }
    if (!json_is_string(id))
        return pl_status_set(err, PL_EVALUE, 0, "\"id\" must be a string or an integer");
    n = json_string_length(id);
    if (n > PL_JSONL_ID_MAX)
        return pl_status_set(err, PL_EVALUE, 0, "\"id\" is %zu bytes, longer than %u", n,
                             PL_JSONL_ID_MAX);
    memcpy(out, json_string_value(id), n);
    out[n] = '\0';
    return 0;
}

int pl_jsonl_parse_command(const char *line, size_t len, pl_jsonl_cmd_t *out, pl_status_t *err)
{
    json_error_t je;
    json_t *o, *tag, *val, *id, *stats;
    const char *key;
    json_t *v;

    memset(out, 0, sizeof(*out));
    o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (o == NULL)
        return pl_status_set(err, PL_EVALUE, 0, "not JSON: %.60s (column %d)", je.text, je.column);
    if (!json_is_object(o)) {
        json_decref(o);
        return pl_status_set(err, PL_EVALUE, 0, "a JSON object is expected");
    }
    json_object_foreach(o, key, v)
    {
        if (strcmp(key, "write") != 0 && strcmp(key, "value") != 0 && strcmp(key, "id") != 0 &&
            strcmp(key, "stats") != 0) {
            pl_status_set(err, PL_EVALUE, 0,
                          "unknown key '%.40s' (expected write, value, id, stats)", key);
            json_decref(o);
            return PL_EVALUE;
        }
    }
    tag = json_object_get(o, "write");
    val = json_object_get(o, "value");
    id = json_object_get(o, "id");
    stats = json_object_get(o, "stats");
    if (pl_jsonl_id(id, out->id, err) < 0) {
        json_decref(o);
        return PL_EVALUE;
    }
    if (stats != NULL) {
        json_decref(o);
        if (tag != NULL || val != NULL)
            return pl_status_set(err, PL_EVALUE, 0, "\"stats\" goes alone (with an id)");
        out->kind = PL_JSONL_STATS;
        return 0;
    }
    out->kind = PL_JSONL_WRITE;
    if (!json_is_string(tag) || json_string_length(tag) >= sizeof(out->tag)) {
        json_decref(o);
        return pl_status_set(err, PL_EVALUE, 0, "\"write\" must name a tag");
    }
    snprintf(out->tag, sizeof(out->tag), "%s", json_string_value(tag));
    if (json_is_boolean(val)) {
        out->value.type = PL_VT_BOOL;
        out->value.i = json_is_true(val);
    } else if (json_is_integer(val)) {
        out->value.type = PL_VT_INT;
        out->value.i = (int64_t)json_integer_value(val);
    } else if (json_is_real(val)) {
        out->value.type = PL_VT_FLOAT;
        out->value.f = json_real_value(val);
    } else if (json_is_string(val) && json_string_length(val) < sizeof(out->value.s)) {
        out->value.type = PL_VT_STRING;
        snprintf(out->value.s, sizeof(out->value.s), "%s", json_string_value(val));
    } else {
        json_decref(o);
        return pl_status_set(err, PL_EVALUE, 0,
                             "\"value\" must be a number, true/false or a short string");
    }
    json_decref(o);
    return 0;
}

int pl_jsonl_stats(const char *kind, const char *name, const pl_engine_stats_t *st, const char *id,
                   char *buf, size_t cap)
{
    json_t *o, *codes;
    size_t i;

    codes = json_object();
    for (i = 0; codes != NULL && i < sizeof(st->errors_by_code) / sizeof(st->errors_by_code[0]);
         i++) {
        char k[64];

        if (st->errors_by_code[i].code == 0)
            break;
        snprintf(k, sizeof(k), "0x%04x %s", pl_err_code(st->errors_by_code[i].code),
                 pl_err_name(st->errors_by_code[i].code));
        json_object_set_new(codes, k, json_integer((json_int_t)st->errors_by_code[i].count));
    }
    o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
                  "s:I, s:b}",
                  "stats", kind, "name", name, "requests", (json_int_t)st->requests, "responses",
                  (json_int_t)st->responses, "timeouts", (json_int_t)st->timeouts, "errors",
                  (json_int_t)st->errors, "errors_by_code", codes != NULL ? codes : json_object(),
                  "bytes_in", (json_int_t)st->bytes_in, "bytes_out", (json_int_t)st->bytes_out,
                  "reconnects", (json_int_t)st->reconnects, "switchovers",
                  (json_int_t)st->switchovers, "cycles", (json_int_t)st->cycles, "overruns",
                  (json_int_t)st->overruns, "writes", (json_int_t)st->writes, "writes_failed",
                  (json_int_t)st->writes_failed, "last_rtt_us", (json_int_t)st->last_rtt_us,
                  "demoted", st->demoted != 0);
    if (o != NULL)
        json_object_set_new(o, "unsolicited", json_integer((json_int_t)st->unsolicited));
    if (o != NULL && id != NULL && id[0] != '\0')
        json_object_set_new(o, "id", pl_jsonl_text(id, strlen(id)));
    return dump(o, buf, cap);
}

int pl_jsonl_result(const char *tag, const char *id, const pl_status_t *st, char *buf, size_t cap)
{
    json_t *o = json_pack("{s:s}", "result", st->code == 0 ? "ok" : "error");

    if (o == NULL)
        return PL_ENOMEM;
    /* the tag as the caller sent it: any text, even bytes that are not UTF-8 */
    json_object_set_new(o, "write", pl_jsonl_text(tag, tag != NULL ? strlen(tag) : 0));
    if (id != NULL && id[0] != '\0')
        json_object_set_new(o, "id", pl_jsonl_text(id, strlen(id)));
    if (st->code != 0)
        json_object_set_new(o, "error", error_object(st));
    return dump(o, buf, cap);
}
