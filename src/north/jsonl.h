/* SPDX-License-Identifier: MIT */
/*
 * JSON lines: tag changes out, write commands in (the daemon's stdout/stdin contract,
 * docs/daemon.md). Formatting and parsing only; the caller does the I/O.
 */
#ifndef PLCLINE_NORTH_JSONL_H
#define PLCLINE_NORTH_JSONL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "plcline/engine.h"

/* Building blocks shared by every JSON output (the daemon's lines, MQTT payloads). */

/* Bytes as a JSON string: as they are when they are valid UTF-8 (NUL and control bytes are
 * escaped by the serialiser), otherwise with every byte that is not part of a valid UTF-8
 * sequence replaced by U+FFFD. Never fails but for memory: new reference or NULL. `s` NULL
 * gives "". */
json_t *pl_jsonl_text(const char *s, size_t n);

/* 1 when s[0..n) is valid UTF-8 (RFC 3629), else 0. */
int pl_jsonl_utf8_valid(const char *s, size_t n);

/* A value as JSON: number, true/false, string (through pl_jsonl_text), or null (none, or a
 * non-finite float). New reference; NULL when out of memory. */
json_t *pl_jsonl_value(const pl_value_t *v);

/* Sets "value" in `o`, and for a string that is not valid UTF-8 also "value_base64": every
 * byte of the string, base64 (RFC 4648), so that nothing is lost (docs/daemon.md, "Strings
 * that are not text"). Returns 0 or PL_ENOMEM. Every output that carries values uses it. */
int pl_jsonl_put_value(json_t *o, const pl_value_t *v);

/* {"code":"0x0038","name":"PL_ETIMEOUT","message":"receive timeout","detail":"..."}.
 * `detail` may be NULL. New reference; NULL when out of memory. */
json_t *pl_jsonl_error_object(int code, const char *detail);

/* An event-driven device's additions to a tag's state, set in `o` only when present (so
 * that polled tags' output does not change): "source_ts" (the device's own timestamp,
 * ISO 8601) when st->source_ms is set, "flags" (["substituted", "blocked", "overflow",
 * "not_topical", "invalid"], those set) when st->flags is. Returns 0 or PL_ENOMEM. */
int pl_jsonl_put_source(json_t *o, const pl_tag_state_t *st);

/* "2026-11-22T05:30:00.123Z" for `ms` since the epoch (UTC). */
void pl_jsonl_iso8601(uint64_t ms, char *buf, size_t cap);

/* Serialises `o` compactly into buf (NUL-terminated, with a '\n' before the NUL when
 * `newline`) and drops the reference. Returns the length, PL_ENOBUFS or PL_ENOMEM (o NULL). */
int pl_jsonl_dump(json_t *o, char *buf, size_t cap, int newline);

/* A tag state, with its names (`names`: JSON lines) or without them (MQTT payload), '\n'
 * at the end when `newline`. When the state cannot be encoded into `cap` bytes (or memory
 * runs out), a state with value null, quality "bad" and error PL_EENCODE is written in its
 * place, so a change is never lost silently. Returns the length or PL_ENOBUFS / PL_ENOMEM
 * (not even that fits). */
int pl_jsonl_state_format(const pl_tag_state_t *st, int names, char *buf, size_t cap, int newline);

/* One line (with '\n') for a tag state:
 *   {"tag":"t","device":"d","line":"l","value":1.5,"quality":"good","error":null,
 *    "ts":"2026-11-22T05:40:00.123Z"}
 * with "error":{"code":"0x0038","name":"PL_ETIMEOUT","message":"receive timeout",
 * "detail":"..."} when there is one. Returns the length, or PL_ENOBUFS / PL_ENOMEM. */
int pl_jsonl_state(const pl_tag_state_t *st, char *buf, size_t cap);

/* Formats a status as the "error" object above into buf. Returns length or PL_ENOBUFS. */
int pl_jsonl_error(const pl_status_t *st, char *buf, size_t cap);

/* The longest "id" of a command (bytes of UTF-8), on JSON lines and MQTT alike; a longer
 * one is refused, never cut. */
#define PL_JSONL_ID_MAX 256

/* Checks a command's "id" (NULL: none) and copies it as text into out[PL_JSONL_ID_MAX + 1]
 * (an integer as its digits). Returns 0, or PL_EVALUE with `err` for an id that is longer
 * than PL_JSONL_ID_MAX bytes or neither a string nor an integer (out is then ""). */
int pl_jsonl_id(const json_t *id, char *out, pl_status_t *err);

typedef enum {
    PL_JSONL_WRITE = 0, /* {"write":"tag","value":V[,"id":X]} */
    PL_JSONL_STATS,     /* {"stats":true[,"id":X]} */
} pl_jsonl_cmd_kind_t;

typedef struct {
    pl_jsonl_cmd_kind_t kind;
    char tag[PL_NAME_MAX];        /* write */
    pl_value_t value;             /* write */
    char id[PL_JSONL_ID_MAX + 1]; /* the command's "id", echoed whole in the answer; ""
                                     when absent (or refused) */
} pl_jsonl_cmd_t;

/* Parses a command line: {"write":"tag","value":V[,"id":X]} (V a number, true/false or a
 * string; X a string of at most PL_JSONL_ID_MAX bytes or an integer) or
 * {"stats":true[,"id":X]}. Returns 0, or PL_EVALUE with `err` saying what is wrong (not
 * JSON, not an object, missing "write" or "value", unknown key, an id that is too long or
 * neither a string nor an integer: then out->id is ""). */
int pl_jsonl_parse_command(const char *line, size_t len, pl_jsonl_cmd_t *out, pl_status_t *err);

/* One statistics line: {"stats":"device"|"line","name":"n","requests":..,"responses":..,
 * "timeouts":..,"errors":..,"errors_by_code":{"0x0038 PL_ETIMEOUT":3},"bytes_in":..,
 * "bytes_out":..,"reconnects":..,"switchovers":..,"cycles":..,"overruns":..,"writes":..,
 * "writes_failed":..,"last_rtt_us":..,"demoted":false,"unsolicited":..[,"id":X]}. Returns
 * length or PL_ENOBUFS / PL_ENOMEM. */
int pl_jsonl_stats(const char *kind, const char *name, const pl_engine_stats_t *st, const char *id,
                   char *buf, size_t cap);

/* The result line for a write: {"result":"ok","write":"t","id":"x"} or
 * {"result":"error","write":"t","id":"x","error":{...}}. Returns length or PL_ENOBUFS. */
int pl_jsonl_result(const char *tag, const char *id, const pl_status_t *st, char *buf, size_t cap);

#endif
