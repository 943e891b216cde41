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

/* A value as JSON: number, true/false, string, or null (none, or a non-finite float). New
 * reference; NULL when out of memory. */
json_t *pl_jsonl_value(const pl_value_t *v);

/* {"code":"0x0038","name":"PL_ETIMEOUT","message":"receive timeout","detail":"..."}.
 * `detail` may be NULL. New reference; NULL when out of memory. */
json_t *pl_jsonl_error_object(int code, const char *detail);

/* "2026-11-22T05:30:00.123Z" for `ms` since the epoch (UTC). */
void pl_jsonl_iso8601(uint64_t ms, char *buf, size_t cap);

/* Serialises `o` compactly into buf (NUL-terminated, with a '\n' before the NUL when
 * `newline`) and drops the reference. Returns the length, PL_ENOBUFS or PL_ENOMEM (o NULL). */
int pl_jsonl_dump(json_t *o, char *buf, size_t cap, int newline);

/* One line (with '\n') for a tag state:
 *   {"tag":"t","device":"d","line":"l","value":1.5,"quality":"good","error":null,
 *    "ts":"2026-11-22T05:40:00.123Z"}
 * with "error":{"code":"0x0038","name":"PL_ETIMEOUT","message":"receive timeout",
 * "detail":"..."} when there is one. Returns the length, or PL_ENOBUFS / PL_ENOMEM. */
int pl_jsonl_state(const pl_tag_state_t *st, char *buf, size_t cap);

/* Formats a status as the "error" object above into buf. Returns length or PL_ENOBUFS. */
int pl_jsonl_error(const pl_status_t *st, char *buf, size_t cap);

typedef enum {
    PL_JSONL_WRITE = 0, /* {"write":"tag","value":V[,"id":X]} */
    PL_JSONL_STATS,     /* {"stats":true[,"id":X]} */
} pl_jsonl_cmd_kind_t;

typedef struct {
    pl_jsonl_cmd_kind_t kind;
    char tag[PL_NAME_MAX]; /* write */
    pl_value_t value;      /* write */
    char id[128];          /* the command's "id", echoed in the answer; "" when absent */
} pl_jsonl_cmd_t;

/* Parses a command line: {"write":"tag","value":V[,"id":X]} (V a number, true/false or a
 * string; X a string or number) or {"stats":true[,"id":X]}. Returns 0, or PL_EVALUE with
 * `err` saying what is wrong (not JSON, not an object, missing "write" or "value", unknown
 * key). */
int pl_jsonl_parse_command(const char *line, size_t len, pl_jsonl_cmd_t *out, pl_status_t *err);

/* One statistics line: {"stats":"device"|"line","name":"n","requests":..,"responses":..,
 * "timeouts":..,"errors":..,"errors_by_code":{"0x0038 PL_ETIMEOUT":3},"bytes_in":..,
 * "bytes_out":..,"reconnects":..,"switchovers":..,"cycles":..,"overruns":..,"writes":..,
 * "writes_failed":..,"last_rtt_us":..,"demoted":false[,"id":X]}. Returns length or
 * PL_ENOBUFS / PL_ENOMEM. */
int pl_jsonl_stats(const char *kind, const char *name, const pl_engine_stats_t *st, const char *id,
                   char *buf, size_t cap);

/* The result line for a write: {"result":"ok","write":"t","id":"x"} or
 * {"result":"error","write":"t","id":"x","error":{...}}. Returns length or PL_ENOBUFS. */
int pl_jsonl_result(const char *tag, const char *id, const pl_status_t *st, char *buf, size_t cap);

#endif
