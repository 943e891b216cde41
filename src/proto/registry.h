/* SPDX-License-Identifier: MIT */
/*
 * The protocol registry: each protocol is one constant descriptor (its name and URL scheme,
 * default port and redundancy mode, the keys it accepts on a line, a device, a tag and a
 * simulator with their defaults, the engine driver that plans, polls, parses addresses and
 * converts values, its simulator and its `plcline serve` options, and its usage text), and
 * one table lists them (made in registry.c from src/proto/protocols.h, the one list of
 * protocols).
 *
 * The engine, the configuration, the daemon and the command find a protocol here by name or
 * scheme and never name one themselves (docs/architecture.md). Lookups are
 * case-insensitive; an unknown name is an error that lists the known ones.
 *
 * Protocol keys travel as a key string "key=value&key=value" (pl_line_def_t.keys and its
 * device and tag twins): unsigned values in decimal, durations in milliseconds, booleans 0
 * or 1, ranges "first-last". A scope whose table has a PL_KEY_QUERY key takes the
 * protocol's own URL query keys instead, checked by the descriptor's keys_check.
 */
#ifndef PLCLINE_PROTO_REGISTRY_H
#define PLCLINE_PROTO_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "proto/driver.h"
#include "plcline/engine.h"
#include "plcline/line.h"
#include "plcline/log.h"

typedef enum {
    PL_KEY_UINT,  /* a whole number from min to max */
    PL_KEY_MS,    /* a duration, in ms in the key string; min 0 allows zero */
    PL_KEY_BOOL,  /* true or false; 0 or 1 in the key string */
    PL_KEY_RANGE, /* "first-last" (or one number) within min..max, at most max_count values */
    PL_KEY_QUERY, /* text "k=v&k=v" of the protocol's own keys, appended to the key string */
    PL_KEY_TEXT,  /* text of 1 to max characters, without '&' (a file name) */
    PL_KEY_LIST,  /* "a,b,c": whole numbers within min..max, at most max_count of them */
    PL_KEY_WORD,  /* one word (letters, digits, '_', '-'), judged by the descriptor's keys_check */
} pl_key_kind_t;

typedef enum {
    PL_KEYS_LINE = 0,
    PL_KEYS_DEVICE,
    PL_KEYS_TAG,
    PL_KEYS_SIM,
} pl_key_scope_t;
#define PL_KEYS_SCOPES 4

typedef struct {
    const char *name; /* the YAML key, and the key in the key string; NULL ends a table */
    pl_key_kind_t kind;
    unsigned min, max;  /* accepted values (PL_KEY_UINT, PL_KEY_MS, PL_KEY_RANGE) */
    unsigned max_count; /* PL_KEY_RANGE: most values a range may hold */
    const char *def;    /* default in the key string's form; NULL: none */
} pl_proto_key_t;

/* What a simulator is started with, by the daemon ('simulators:') and by `plcline serve`
 * alike: what every simulator takes, and its protocol keys. */
typedef struct {
    const char *name;   /* for messages */
    const char *listen; /* NULL: 127.0.0.1 */
    uint16_t port;      /* 0: a free port */
    unsigned animate_ms, delay_ms;
    const char *keys; /* the simulator's protocol keys (validated) */
    const pl_logger_t *log;
    unsigned close_after;     /* close a connection when its N-th message arrives; 0: never */
    unsigned idle_timeout_ms; /* 0: PL_SIM_IDLE_TIMEOUT_MS */
    unsigned max_conns;       /* 0: unlimited */
    const char *const *allow; /* NULL or a NULL-terminated list of partner addresses */
} pl_proto_sim_t;

/* One option of `plcline serve` for a protocol's simulator. It sets one simulator key
 * (PL_KEYS_SIM), so the daemon's 'simulators:' take the same setting under the key's name;
 * the command parses every protocol's options alike from this table. */
typedef struct {
    const char *option; /* "--nodes"; NULL ends a table */
    const char *key;    /* the simulator key it sets: "nodes" */
    const char *arg;    /* the value's name for --help ("A-B"); NULL: a flag */
    const char *value;  /* a flag's value ("1"); NULL when it takes one */
    int repeat;         /* may be given again: the values are joined with ',' */
    const char *help;   /* for --help; each '\n' starts an indented line */
} pl_sim_option_t;

/* One tag value a simulator serves for the daemon (an entry of a simulator's `expose:`
 * list, docs/config.md): clients of the simulator read the value at `address` and, when
 * `writable`, write it. */
typedef struct {
    const char *address; /* in the protocol's address grammar */
    long station;        /* the protocol's station (Modbus: the unit id); -1: its first */
    int writable;        /* clients may write it; else the protocol refuses their writes */
} pl_sim_point_t;

/* A client of the simulator wrote point `i` (its index in the list sim_expose was given):
 * `v` is the point's new value, as its address reads it. Runs on the loop thread, after
 * the change; the client's answer does not wait for it. */
typedef void (*pl_sim_write_cb)(void *ud, size_t i, const pl_value_t *v);

typedef struct pl_protocol_s {
    const char *name;           /* "7ttcp": the YAML value of 'protocol', and the folder's name */
    const char *scheme;         /* URL scheme, matched case-insensitively */
    const char *title;          /* as the documents write it: "7TTCP" */
    uint16_t port;              /* default TCP port of a line */
    pl_redundancy_t redundancy; /* default redundancy mode of a line */
    const pl_proto_key_t *keys[PL_KEYS_SCOPES]; /* per scope; NULL: no keys */
    const pl_driver_t *driver; /* plan, poll, addresses, values; NULL: no line may use it */
    /* Checks a key string beyond the key table (PL_KEY_QUERY scopes); may be NULL. Returns 0
     * or PL_ECONFIG with `err` naming the key. */
    int (*keys_check)(pl_key_scope_t scope, const char *keys, pl_status_t *err);
    /* Starts a simulator; on success `*out` serves until sim_free. The description
     * ("nodes 0-7 on 127.0.0.1:40001") goes into `what`. */
    int (*sim_new)(uv_loop_t *loop, const pl_proto_sim_t *sim, void **out, char *what,
                   size_t what_cap, pl_status_t *err);
    void (*sim_free)(void *sim);
    uint16_t (*sim_port)(void *sim); /* the real port */
    const char *usage;               /* URL and address grammar for --help */
    /* `plcline serve`: its URL form and what the simulator serves, for --help
     * ("pccc://HOST[:PORT][?plc=TYPE]\n" then indented lines); its options; the key string
     * the command starts from before the URL's query and the options (NULL: none; the
     * daemon's simulators start from the key table's defaults); and the address it listens
     * on ("127.0.0.1:40001", valid until sim_free). */
    const char *sim_usage;
    const pl_sim_option_t *sim_options;
    const char *sim_defaults;
    const char *(*sim_address)(void *sim);
    /* Serving other devices' values (the daemon's `expose:`); both NULL when the simulator
     * cannot. sim_expose checks the `n` points against the simulator's keys `keys` (with
     * `sim` NULL it only checks, as `plcline run --check` does) and, with a running `sim`,
     * serves them from then on in place of an earlier list; a client's write of a
     * writable point reaches `on_write`. On error it returns PL_EADDR or PL_ECONFIG with
     * `err` and *bad the index of the point at fault. sim_expose_set serves the latest
     * value of point i (its quality: the protocol says in its docs what a client sees of
     * a bad one); PL_EVALUE with `err` when the value does not fit the address. */
    int (*sim_expose)(void *sim, const char *keys, const pl_sim_point_t *pts, size_t n,
                      pl_sim_write_cb on_write, void *ud, size_t *bad, pl_status_t *err);
    int (*sim_expose_set)(void *sim, size_t i, const pl_value_t *v, pl_quality_t q,
                          pl_status_t *err);
} pl_protocol_t;

/* The protocol called `name` (first `len` bytes), or whose URL scheme it is; NULL if none. */
const pl_protocol_t *pl_protocol_find(const char *name, size_t len);

/* The i-th protocol of the table, NULL past the end. */
const pl_protocol_t *pl_protocol_at(size_t i);

/* "7ttcp, pccc" into buf (truncated to cap). Returns buf. */
const char *pl_protocol_list(char *buf, size_t cap);

/* The protocol of a URL "SCHEME://...". PL_EURL with `err` when the URL has no scheme or
 * the scheme names no protocol ("unknown protocol 'x', expected one of: 7ttcp, pccc"). */
int pl_protocol_of_url(const char *url, const pl_protocol_t **out, pl_status_t *err);

/* The key called `name` in `scope`, or NULL. */
const pl_proto_key_t *pl_protocol_key(const pl_protocol_t *p, pl_key_scope_t scope,
                                      const char *name);

/* Checks a key string: each key known in `scope` (or accepted by keys_check) and each value
 * of its kind and range. Returns 0 or PL_ECONFIG with `err` ("'max_block' is 300, expected
 * a whole number from 1 to 256"). The line scope of a protocol whose `driver` is NULL is
 * refused whatever the keys ("protocol 'x' has no engine driver yet"): the engine checks
 * every line's keys before it uses the driver, so no line reaches a NULL driver. */
int pl_protocol_keys_check(const pl_protocol_t *p, pl_key_scope_t scope, const char *keys,
                           pl_status_t *err);

/* Checks one value of key `k` (its kind and limits); 0 or PL_ECONFIG with `err`. */
int pl_protocol_key_value_check(const pl_proto_key_t *k, const char *value, pl_status_t *err);

/* The value of `key` in a key string, copied into out (cap bytes); 1 found, 0 absent. */
int pl_keys_get(const char *keys, const char *key, char *out, size_t cap);

/* An unsigned key (PL_KEY_UINT, PL_KEY_MS, PL_KEY_BOOL) from `keys`, else its default, else
 * 0. The key string must have passed pl_protocol_keys_check. */
unsigned pl_protocol_uint(const pl_protocol_t *p, pl_key_scope_t scope, const char *keys,
                          const char *name);

/* Appends "key=value" to a key string (with '&' when needed). 0 or PL_ENOBUFS. */
int pl_keys_add(char *keys, size_t cap, const char *key, const char *value);

#endif
