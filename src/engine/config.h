/* SPDX-License-Identifier: MIT */
/*
 * The daemon's configuration file (YAML, read with libyaml's event parser) and tag lists
 * (CSV, RFC 4180), loaded into the engine's definitions (include/plcline/engine.h) plus what
 * only the daemon uses: built-in simulators and the northbound outputs. docs/config.md
 * describes every key.
 *
 * Every error names the file, line and column and what was expected
 * ("demo.yaml:12:5: unknown key 'adress' in a tag, expected one of: name, ..."); unknown
 * keys, duplicate keys, duplicate names and dangling references are errors; anchors,
 * aliases and explicit YAML tags are refused. The loader reads files; it never connects
 * anything, never prints and never relies on errno (files are read through libuv).
 */
#ifndef PLCLINE_ENGINE_CONFIG_H
#define PLCLINE_ENGINE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "plcline/engine.h"
#include "plcline/log.h"

#define PL_CONFIG_FILE_MAX  (16u * 1024u * 1024u) /* bytes of one YAML or CSV file */
#define PL_CONFIG_TAGS_MAX  1000000u              /* tags in all files together */
#define PL_CONFIG_ITEMS_MAX 100000u /* lines, devices, scan classes, simulators (each) */
#define PL_CONFIG_CSV_MAX   1000u   /* CSV files included */

typedef struct {
    char name[PL_NAME_MAX];
    char protocol[PL_PROTO_NAME_MAX]; /* the protocol's name as the registry spells it */
    char listen[128];                 /* "127.0.0.1" (default), "*", "[*]", ... */
    uint16_t port;                    /* 0 (default): pick a free port */
    unsigned animate_ms;              /* demo values change (docs/config.md); 0: static */
    unsigned delay_ms;                /* answer delay; default 0 */
    char keys[PL_KEYS_MAX];           /* the simulator's protocol keys (src/proto/registry.h) */
} pl_sim_def_t;

/* A tag a simulator serves to its clients (the simulator's `expose:` list, docs/config.md,
 * "Serving values to other systems"): a client reads the tag's latest value at `address`
 * of the simulator's protocol and, with `write`, writes the tag through it. The address and
 * station are checked by the protocol when the daemon starts (and by --check). */
#define PL_EXPOSE_ADDR_MAX 64u
typedef struct {
    size_t sim; /* index in pl_config_t.sims */
    char tag[PL_NAME_MAX];
    char address[PL_EXPOSE_ADDR_MAX];
    long station;       /* the protocol's station (a unit id, a common address); -1: not given */
    int write;          /* 1: clients may write it (each write goes to the tag) */
    uint32_t line, col; /* where the entry starts in the YAML file */
} pl_expose_def_t;

typedef struct {
    int json_stdout; /* north.json: 1 on, 0 off, -1 not given (the daemon decides: on when
                        stdout is not a terminal) */
    /* MQTT (issue 6) */
    int mqtt;                 /* 1: north.mqtt present */
    char mqtt_host[256];      /* default "127.0.0.1" */
    uint16_t mqtt_port;       /* default 1883, or 8883 with ca_file */
    char mqtt_client_id[128]; /* "" (default): the daemon makes one up */
    char mqtt_user[128], mqtt_password[128];
    char mqtt_prefix[128]; /* topic prefix; default "plcline" */
    char mqtt_ca_file[256], mqtt_cert_file[256], mqtt_key_file[256]; /* "" : none */
    unsigned mqtt_keepalive_s;                                       /* default 30 */
    int mqtt_qos_pub, mqtt_qos_sub;                                  /* 0..2; defaults 0 and 1 */
} pl_north_def_t;

/* The HTTP status page, API and metrics (docs/http.md). */
typedef struct {
    int on;               /* 1: an `http` section is present */
    char listen[128];     /* "127.0.0.1:8080" (default), "[::1]:8080", "0.0.0.0:8080" */
    int writes;           /* POST /api/tags/NAME allowed (with the token); default 0 */
    char token_file[512]; /* the bearer token's file; "" none */
} pl_http_def_t;

/* Where each item was defined; private to config.c. */
typedef struct pl_config_src_s pl_config_src_t;

/* Loaded, the arrays are as long as their items; a tag's texts (pl_tag_def_t) point into
 * storage the configuration owns, one copy of each device, scan class and address text. */
typedef struct {
    char path[512]; /* the file it was loaded from (truncated if longer) */
    pl_line_def_t *lines;
    size_t nlines;
    pl_device_def_t *devices;
    size_t ndevices;
    pl_tag_def_t *tags;
    size_t ntags;
    pl_scan_def_t *scans;
    size_t nscans;
    pl_sim_def_t *sims;
    size_t nsims;
    pl_expose_def_t *exposes; /* every simulator's `expose:` entries, in file order */
    size_t nexposes;
    pl_north_def_t north;
    pl_http_def_t http;
    pl_config_src_t *src; /* private: item origins for pl_config_origin() */
} pl_config_t;

/* Loads `path` into `cfg` (zeroed first; free with pl_config_free even on error). Returns 0,
 * or PL_ECONFIG / PL_EIO / PL_ENOMEM with `err` (may be NULL) holding the code, the OS
 * reason of an I/O failure (libuv number in err->sys) and the detail
 * "FILE:LINE:COL: what is wrong, expected what" truncated to PL_STATUS_DETAIL_MAX; the full
 * message goes to `msg` when it is not NULL (up to `msg_len` bytes, always NUL-terminated).
 * Errors about a whole file (cannot open, too big) read "FILE: what, expected what"; errors
 * inside a CSV tag list name the CSV file, line and column.
 *
 * References between sections (a device's line, a tag's device and scan class, a line's
 * simulator and its protocol) are checked here; tag addresses are checked by the engine
 * (pl_engine_new), which knows the protocols. Line definitions point `line.local_addr` at
 * their own `local_addr` storage (NULL when not given): copies of a pl_line_def_t must
 * re-point it. Lines that name a simulator have no hosts and port 0 until the daemon fills
 * in the simulator's address. */
int pl_config_load(pl_config_t *cfg, const char *path, pl_status_t *err, char *msg, size_t msg_len);

/* As pl_config_load, for `len` bytes of YAML at `buf` (need not be NUL-terminated). `name`
 * is used in messages and, for its directory part, to find CSV files given by relative
 * paths (no directory part: the current directory). Inputs over PL_CONFIG_FILE_MAX bytes
 * are refused. */
int pl_config_load_buffer(pl_config_t *cfg, const char *name, const char *buf, size_t len,
                          pl_status_t *err, char *msg, size_t msg_len);

/* Releases everything pl_config_load allocated and zeroes `cfg`. NULL is allowed. */
void pl_config_free(pl_config_t *cfg);

/* Releases the tags (their definitions, texts and positions) and sets ntags to 0; the
 * rest stays. For the daemon, once the engine (which keeps its own copy) is built: it reads
 * the whole file again on a reload. NULL is allowed. */
void pl_config_drop_tags(pl_config_t *cfg);

/* The storage of the tags' texts (their names among them), for pl_engine_config_t.texts
 * (with pl_config_texts_free as its texts_free): still the configuration's until
 * pl_config_texts_given() says that an engine took it. NULL: none. */
void *pl_config_texts(pl_config_t *cfg);
void pl_config_texts_given(pl_config_t *cfg);
void pl_config_texts_free(void *texts);

/* Fills `ec` (zeroed first) to point at cfg's arrays; log and clock stay NULL. */
void pl_config_engine(const pl_config_t *cfg, pl_engine_config_t *ec);

typedef enum {
    PL_CONFIG_LINE = 0,
    PL_CONFIG_DEVICE,
    PL_CONFIG_TAG,
    PL_CONFIG_SCAN,
    PL_CONFIG_SIM,
} pl_config_section_t;

/* Index of the item called `name` in `section`, or -1. */
long pl_config_find(const pl_config_t *cfg, pl_config_section_t section, const char *name);

/* Writes where item `i` of `section` was defined, "demo.yaml:12:5" or "tags.csv:4:1", into
 * `buf` (always NUL-terminated when cap > 0), e.g. to place an error pl_engine_new reports
 * about a tag. Returns 0, or PL_EINVAL for an index out of range or a configuration that
 * was not loaded. */
int pl_config_origin(const pl_config_t *cfg, pl_config_section_t section, size_t i, char *buf,
                     size_t cap);

#endif
