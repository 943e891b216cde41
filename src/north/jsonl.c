/* SPDX-License-Identifier: MIT */
/*
 * JSON lines for the daemon (see jsonl.h), on jansson. Builds and parses text only.
 */
#include "north/jsonl.h"

#include "plcline/error.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

json_t *pl_jsonl_error_object(int code, const char *detail)
{
    char hex[16];

    snprintf(hex, sizeof(hex), "0x%04x", pl_err_code(code));
    return json_pack("{s:s, s:s, s:s, s:s}", "code", hex, "name", pl_err_name(code), "message",
                     pl_strerror(code), "detail", detail != NULL ? detail : "");
}

static json_t *error_object(const pl_status_t *st)
{
    return pl_jsonl_error_object(st->code, st->detail);
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
        return json_string(v->s);
    }
    return json_null();
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

int pl_jsonl_state(const pl_tag_state_t *st, char *buf, size_t cap)
{
    pl_status_t e;
    char ts[96]; /* fits any int fields gmtime_r can produce */
    json_t *o;

    pl_jsonl_iso8601(st->ts_ms, ts, sizeof(ts));
    o = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s}", "tag", st->tag, "device", st->device, "line",
                  st->line, "value", pl_jsonl_value(&st->value), "quality",
                  pl_quality_name(st->quality), "ts", ts);
    if (o == NULL)
        return PL_ENOMEM;
    if (st->error != 0) {
        e.code = st->error;
        e.sys = 0;
        memcpy(e.detail, st->detail, sizeof(e.detail));
        json_object_set_new(o, "error", error_object(&e));
    } else {
        json_object_set_new(o, "error", json_null());
    }
    return dump(o, buf, cap);
}

int pl_jsonl_error(const pl_status_t *st, char *buf, size_t cap)
{
    return dump(error_object(st), buf, cap);
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
    if (id != NULL) {
        if (json_is_string(id))
            snprintf(out->id, sizeof(out->id), "%s", json_string_value(id));
        else if (json_is_integer(id))
            snprintf(out->id, sizeof(out->id), "%lld", (long long)json_integer_value(id));
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
    if (o != NULL && id != NULL && id[0] != '\0')
        json_object_set_new(o, "id", json_string(id));
    return dump(o, buf, cap);
}

int pl_jsonl_result(const char *tag, const char *id, const pl_status_t *st, char *buf, size_t cap)
{
    json_t *o = json_pack("{s:s, s:s}", "result", st->code == 0 ? "ok" : "error", "write",
                          tag != NULL ? tag : "");

    if (o == NULL)
        return PL_ENOMEM;
    if (id != NULL && id[0] != '\0')
        json_object_set_new(o, "id", json_string(id));
    if (st->code != 0)
        json_object_set_new(o, "error", error_object(st));
    return dump(o, buf, cap);
}
