/* SPDX-License-Identifier: MIT */
/*
 * The scan engine: lines, devices and tags; polling by scan class with planned blocks;
 * writes that are answered exactly once; values with quality and timestamps; statistics.
 *
 * Model. A line is a connection template (protocol, hosts, redundancy, timeouts). A device
 * sits on a line and owns its own connection built from that template, so that a device
 * that stops answering never delays another one (7TTCP manual: "each PLC node is handled
 * concurrent and independently"). A tag names a device, an address in the protocol's
 * grammar, a scan class and whether it may be written.
 *
 * Polling. For each (device, scan class) the tags' address ranges are planned into the
 * fewest block reads (src/engine/planner). Each scan class runs on its own period without
 * drift (deadlines advance by the period, not from the last completion); a cycle still
 * running at the next deadline is counted as an overrun and the missed cycle is skipped.
 *
 * Event-driven devices. A device whose protocol sends values by itself is not polled: its
 * tags have no scan class (pl_tag_def_t.scan empty), take a value when the device sends
 * one (with the device's timestamp and quality flags, pl_tag_state_t.source_ms and flags),
 * turn uncertain after the device's stale_ms of silence and bad while its connection is
 * down (docs/architecture.md, "Polled and event-driven devices").
 *
 * Writes. pl_engine_write() queues a write on the tag's device; queued writes go out before
 * the device's next poll, and every write is answered once through its callback: success,
 * or a named error (also when the connection is lost, the device is demoted, or the engine
 * stops).
 *
 * Threading: the loop thread only. Memory: _new/_free; the engine copies the configuration.
 */
#ifndef PLCLINE_ENGINE_H
#define PLCLINE_ENGINE_H

#include "plcline/export.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "plcline/line.h"
#include "plcline/log.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PL_NAME_MAX 64 /* names of lines, devices, tags, scan classes (NUL included) */

/* --- values ------------------------------------------------------------------------ */

typedef enum {
    PL_VT_NONE = 0,
    PL_VT_BOOL,
    PL_VT_INT,    /* signed/unsigned integers up to 32 bits, held in i */
    PL_VT_FLOAT,  /* float32/64, held in f */
    PL_VT_STRING, /* s: bytes (a PLC string need not be text), NUL-terminated; see len */
} pl_vtype_t;

#define PL_VALUE_STRING_MAX 96

typedef struct {
    pl_vtype_t type;
    int64_t i;
    double f;
    char s[PL_VALUE_STRING_MAX];
    size_t len; /* PL_VT_STRING: the bytes in s, which may then include NUL bytes; 0: up to
                   the first NUL (pl_value_string_len) */
} pl_value_t;

/* The length of a PL_VT_STRING value: v->len when set, else the bytes before the first NUL. */
PL_EXTERN size_t pl_value_string_len(const pl_value_t *v);

typedef enum {
    PL_Q_GOOD = 0,
    PL_Q_BAD,       /* no value: the error says why */
    PL_Q_UNCERTAIN, /* the last value, older than the tag's staleness limit */
} pl_quality_t;

PL_EXTERN const char *pl_quality_name(pl_quality_t q); /* "good", "bad", "uncertain" */

/* --- configuration ----------------------------------------------------------------- */

#define PL_PROTO_NAME_MAX 16  /* a protocol's name, "7ttcp" (NUL included) */
#define PL_KEYS_MAX       256 /* a line's or device's protocol keys (NUL included) */
#define PL_TAG_KEYS_MAX   32  /* a tag's protocol keys (NUL included) */

/* Protocol keys: "key=value&key=value", the keys the line's protocol accepts on a line, a
 * device or a tag (docs/config.md lists them per protocol; an absent key takes the
 * protocol's default). pl_engine_new() checks them and fails with PL_ECONFIG naming the
 * item and the key. */

typedef struct {
    char name[PL_NAME_MAX];
    char protocol[PL_PROTO_NAME_MAX];   /* "7ttcp", "pccc" (case-insensitive) */
    char simulator[PL_NAME_MAX];        /* non-empty: connect to this built-in simulator (its
                                           real address is filled in when it has started) */
    char backup_simulator[PL_NAME_MAX]; /* non-empty: the backup device is this simulator */
    pl_line_config_t line;              /* hosts, backup, redundancy, local, connect timeout;
                                           port 0: the protocol's default port */
    char local_addr[64];                /* storage for line.local_addr */
    unsigned timeout_ms;                /* request timeout; 0: protocol default */
    char keys[PL_KEYS_MAX];             /* 7ttcp: keepalive=MS (10000; 0 off), max_block=WORDS
                                           (256); pccc: the pccc:// URL keys, e.g.
                                           "plc=slc500&service=4b&path=1,0" (docs/pccc.md) */
} pl_line_def_t;

typedef enum { PL_WRITES_ORDERED = 0, PL_WRITES_LATEST } pl_write_policy_t;

typedef struct {
    char name[PL_NAME_MAX];
    char line[PL_NAME_MAX];
    char keys[PL_KEYS_MAX]; /* 7ttcp: node=N (0); pccc: "dst=2&src=5&..." added to the
                               line's keys */
    unsigned max_gap;       /* planner: largest gap merged, in units; default 32 */
    unsigned demote_after;  /* consecutive failed cycles before demotion; 0: 3 */
    unsigned demote_ms;     /* time off scan; 0: 10000 */
    pl_write_policy_t write_policy;
    unsigned write_timeout_ms; /* a write not sent within this fails; 0: 5000 */
    unsigned write_queue;      /* writes waiting per device; 0: 1024 */
    /* Event-driven devices (their protocol sends values by itself): a tag whose last value
     * is older than this turns uncertain; 0: never. Polled devices: unused (their scan
     * class's stale_ms applies). */
    unsigned stale_ms;
} pl_device_def_t;

#define PL_ADDRESS_MAX 64 /* a tag's address text (NUL included) */

/* A tag. The texts are pointers, not storage: a plant has hundreds of thousands of tags
 * and most of them share their device, scan class and address texts (docs/bench.md,
 * "Where the memory goes"). pl_engine_new() copies what it keeps, so the texts need only
 * live until it returns; a configuration loaded from a file keeps them in its own string
 * storage. pl_engine_new() fails with PL_ECONFIG when one of them (keys excepted) is NULL
 * or one is longer than its limit (PL_NAME_MAX - 1 bytes for names, PL_ADDRESS_MAX - 1 for
 * the address, PL_TAG_KEYS_MAX - 1 for the keys). */
typedef struct {
    const char *name;
    const char *device;
    const char *address; /* the protocol's address grammar: "F10", "N7:0", "W5/3" */
    const char *scan;    /* scan class name */
    int writable;        /* default 0: read-only */
    int scaled;          /* eng = raw * gain + offset */
    double gain, offset;
    double deadband;  /* absolute; 0: every change */
    const char *keys; /* NULL or "": none; 7ttcp: swap=1 (32-bit values high word first) */
    /* Event-driven devices only: a value older than this turns uncertain, overriding the
     * device's stale_ms for this tag; 0: the device's. Polled tags: must be 0. */
    unsigned stale_ms;
} pl_tag_def_t;

typedef struct {
    char name[PL_NAME_MAX];
    unsigned period_ms;
    unsigned stale_ms; /* values older than this become uncertain; 0: 3 periods */
} pl_scan_def_t;

/* --- the engine -------------------------------------------------------------------- */

typedef struct pl_engine_s pl_engine_t;

/* A tag's state as published. */
typedef struct {
    const char *tag;    /* name */
    const char *device; /* device name */
    const char *line;   /* line name */
    pl_value_t value;   /* PL_VT_NONE when never read */
    pl_quality_t quality;
    int error; /* PL_E* behind a bad quality, else 0 */
    char detail[PL_STATUS_DETAIL_MAX];
    uint64_t ts_ms; /* source timestamp: wall clock (ms since the epoch) of the read */
    /* Event-driven devices only (always 0 for polled ones): */
    uint64_t source_ms; /* the device's own timestamp of the value; 0: it sent none */
    unsigned flags;     /* PL_QF_*: quality flags the device set on the value */
} pl_tag_state_t;

/* Quality flags of a value, as an event-driven device reports them (a telecontrol quality
 * descriptor's bits): kept and published beside the quality. */
#define PL_QF_SUBSTITUTED 0x01u /* set by an operator or an automatic source (SB) */
#define PL_QF_BLOCKED     0x02u /* blocked for transmission (BL) */
#define PL_QF_OVERFLOW    0x04u /* beyond the range of the value (OV) */
#define PL_QF_NOT_TOPICAL 0x08u /* not updated lately at the source (NT): also uncertain */
#define PL_QF_INVALID     0x10u /* marked invalid by the device (IV): also bad */
#define PL_QF_COUNT       5u

/* The name of flag bit `i` (0 .. PL_QF_COUNT - 1): "substituted", "blocked", "overflow",
 * "not_topical", "invalid"; NULL past the end. */
PL_EXTERN const char *pl_quality_flag_name(unsigned i);

typedef struct {
    /* A tag's value or quality changed (after deadband and change detection). */
    void (*on_change)(pl_engine_t *e, const pl_tag_state_t *st, void *ud);
    /* A device's connection went up (status NULL) or down. May be NULL. */
    void (*on_device)(pl_engine_t *e, const char *device, const pl_status_t *status, void *ud);
} pl_engine_cbs_t;

typedef struct {
    const pl_line_def_t *lines;
    size_t nlines;
    const pl_device_def_t *devices;
    size_t ndevices;
    const pl_tag_def_t *tags;
    size_t ntags;
    const pl_scan_def_t *scans;
    size_t nscans;
    const pl_logger_t *log;
    /* For tests: the wall clock for timestamps (ms since the epoch); NULL: system time. */
    uint64_t (*wall_ms)(void *ud);
    void *clock_ud;
    /* Optional: on a validation error, which item failed (section: 0 line, 1 device, 2 tag,
     * 3 scan class; index into that array), so a caller can point at its source. */
    struct {
        int section;
        size_t index;
    } * err_item;
    /* Optional: storage that every tag's name (pl_tag_def_t.name) lives in, handed over when
     * pl_engine_new() succeeds (on failure it stays the caller's): the engine then points at
     * the names instead of copying them, and calls texts_free(texts) when it is freed. For a
     * plant's hundreds of thousands of names held once instead of twice (docs/bench.md).
     * NULL: the engine copies the names. */
    void *texts;
    void (*texts_free)(void *texts);
} pl_engine_config_t;

/* Validates `cfg` (names unique, references resolved, addresses parsed by their protocol,
 * periods > 0) and builds the engine. Nothing connects before pl_engine_start(). On error
 * returns PL_ECONFIG (or PL_EADDR...) with `err` naming the item ("tag 'boiler.t': device
 * 'boiler2' is not defined"). */
PL_EXTERN int pl_engine_new(uv_loop_t *loop, const pl_engine_config_t *cfg,
                            const pl_engine_cbs_t *cbs, void *ud, pl_engine_t **out,
                            pl_status_t *err);

/* Connects every device and starts the scan classes. Returns 0, PL_EBUSY (started or
 * stopping already) or PL_ENOMEM (the buffers of the requests in flight; nothing started). */
PL_EXTERN int pl_engine_start(pl_engine_t *e);

/* Stops polling and closes every connection. Before it returns, queued writes are answered
 * PL_ESTOPPED and writes in flight PL_ECANCELED (a connection being handed over to a
 * reloaded engine first completes what it has in flight). `done` (may be NULL) runs once
 * every connection is closed; the engine can then be freed. */
PL_EXTERN void pl_engine_stop(pl_engine_t *e, void (*done)(pl_engine_t *e, void *ud));

PL_EXTERN void pl_engine_free(pl_engine_t *e);

/* Reload support: `e` (new, not started yet) takes over the connections of `old`'s devices
 * whose device and line definitions are unchanged (same name, same parameters; a text is
 * compared up to its NUL, whatever its buffer holds after it), so they do not reconnect.
 * Call it before pl_engine_start(e), then stop and free `old`. A device hands its connection
 * over once its requests in flight have completed; until then its writes wait, and a cycle
 * that falls due in `e` runs as soon as the connection is there. The tags of an adopted
 * device whose address and options are unchanged start with their good or uncertain state
 * in `old` (value, quality, times, flags; not published again until a value is read).
 * Queued writes of `old` are answered with PL_ESTOPPED as usual. Returns the number of
 * devices adopted. */
PL_EXTERN size_t pl_engine_adopt(pl_engine_t *e, pl_engine_t *old);

typedef void (*pl_write_cb)(pl_engine_t *e, const pl_status_t *result, void *ud);

/* Writes `value` (converted to the tag's type; scaled tags take engineering units) to the
 * tag. Returns 0 (cb will run exactly once, before this returns when the driver refuses the
 * write at once) or synchronously, with `err` saying why: PL_ENOTAG for an unknown tag,
 * PL_EREADONLY for a read-only one, PL_EOFFSCAN while its device is demoted, PL_EVALUE for a
 * value of the wrong kind or out of range, PL_ENO_MSG when the device's write queue is full,
 * PL_ESTOPPED once the engine is stopping. A queued write fails through cb with PL_ETIMEOUT
 * when it could not be sent within the device's write_timeout_ms, PL_EOFFSCAN when the
 * device is demoted meanwhile, PL_ESTOPPED when the engine stops first. */
PL_EXTERN int pl_engine_write(pl_engine_t *e, const char *tag, const pl_value_t *value,
                              pl_write_cb cb, void *ud, pl_status_t *err);

/* The current state of `tag` (by name) or of the i-th tag; NULL if unknown. A tag keeps no
 * pl_tag_state_t of its own (docs/bench.md, "Where the memory goes"): the state is put
 * together in storage the engine reuses, valid through the next PL_ENGINE_TAG_STATES - 1
 * calls of either function and until the engine is freed. Copy what must live longer. */
#define PL_ENGINE_TAG_STATES 16u
PL_EXTERN const pl_tag_state_t *pl_engine_tag(pl_engine_t *e, const char *tag);
PL_EXTERN size_t pl_engine_tag_count(const pl_engine_t *e);
PL_EXTERN const pl_tag_state_t *pl_engine_tag_at(pl_engine_t *e, size_t i);

typedef struct {
    uint64_t requests, responses, timeouts, errors;
    struct {
        int code; /* PL_E*; 0: unused slot */
        uint64_t count;
    } errors_by_code[8]; /* the first 8 distinct codes seen */
    uint64_t bytes_in, bytes_out;
    uint64_t reconnects, switchovers;
    uint64_t cycles, overruns, writes, writes_failed;
    uint64_t last_rtt_us;
    int demoted;
    uint64_t unsolicited; /* frames the device sent with no request behind them (7TTCP) */
} pl_engine_stats_t;

PL_EXTERN int pl_engine_device_stats(const pl_engine_t *e, const char *device,
                                     pl_engine_stats_t *out);
PL_EXTERN int pl_engine_line_stats(const pl_engine_t *e, const char *line, pl_engine_stats_t *out);

/* --- status queries: what a status page, an HTTP API or a metrics endpoint shows ---------
 * All read-only, loop thread only, cheap (no I/O); indices run over the configuration's
 * order. Protocol-specific facts come from the protocol's driver, named by `protocol`. */

/* The request duration histogram has PL_ENGINE_RTT_BUCKETS bounded buckets and a last,
 * unbounded one. */
#define PL_ENGINE_RTT_BUCKETS 12

/* The upper bound of bucket `i` in microseconds (inclusive); UINT64_MAX for the last,
 * unbounded bucket (i >= PL_ENGINE_RTT_BUCKETS). */
PL_EXTERN uint64_t pl_engine_rtt_bound_us(size_t i);

typedef struct {
    const char *name, *line;
    const char *protocol;   /* the protocol's name, e.g. for a label */
    int connected;          /* the device's connection carries requests */
    const char *state;      /* "up", "connecting", "backoff", "idle", "off scan" */
    const char *peer;       /* "host:port" connected to, "" */
    int backup_active;      /* 1: the backup partner carries the traffic */
    int has_backup;         /* the line has a backup partner */
    unsigned host_index;    /* index in the combined host list (see pl_line_host_index) */
    unsigned host_count;    /* hosts in the combined list */
    int demoted;            /* off scan after repeated failures */
    uint64_t demoted_until; /* wall clock (ms since the epoch) when demoted, else 0 */
    pl_status_t last_error; /* the last request or connection error; code 0: none */
    size_t ntags;           /* tags on the device */
    uint64_t rtt_count;     /* requests timed (the histogram's count) */
    uint64_t rtt_sum_us;    /* their summed duration */
    uint64_t rtt_hist[PL_ENGINE_RTT_BUCKETS + 1]; /* per bucket, not cumulative */
} pl_engine_device_info_t;

PL_EXTERN size_t pl_engine_device_count(const pl_engine_t *e);

/* Fills `info` and (when not NULL) `st` for device `i`. Returns 0 or PL_EINVAL (no such
 * index). The strings stay valid until the next loop iteration. */
PL_EXTERN int pl_engine_device_info(const pl_engine_t *e, size_t i, pl_engine_device_info_t *info,
                                    pl_engine_stats_t *st);

/* What of device `i`'s state a status page watches for a change, without the strings and
 * counters of pl_engine_device_info (cheap enough to ask of every device a few times a
 * second). Returns 0 or PL_EINVAL. */
typedef struct {
    int connected, backup_active, demoted;
    int error; /* the last request or connection error's code; 0: none */
} pl_engine_device_state_t;
PL_EXTERN int pl_engine_device_state(const pl_engine_t *e, size_t i, pl_engine_device_state_t *out);

typedef struct {
    const char *name;
    const char *protocol;
    size_t ndevices, nup; /* devices on the line, and those connected */
} pl_engine_line_info_t;

PL_EXTERN size_t pl_engine_line_count(const pl_engine_t *e);
PL_EXTERN int pl_engine_line_info(const pl_engine_t *e, size_t i, pl_engine_line_info_t *info);

/* A tag's definition, for display: address in its protocol's grammar, scan class ("" for a
 * tag of an event-driven device), writable. Returns 0 or PL_EINVAL. */
typedef struct {
    const char *address, *scan;
    int writable;
} pl_engine_tag_info_t;
PL_EXTERN int pl_engine_tag_info(const pl_engine_t *e, size_t i, pl_engine_tag_info_t *info);

/* Index of `tag` for pl_engine_tag_at(), or -1 when unknown (O(log n)). */
PL_EXTERN long pl_engine_tag_index(const pl_engine_t *e, const char *tag);

/* The change number of tag `i`'s last publication (0: never): every publication takes the
 * next number of an engine-wide counter, so "changed since N" is `seq > N`. */
PL_EXTERN uint64_t pl_engine_tag_seq(const pl_engine_t *e, size_t i);
PL_EXTERN uint64_t pl_engine_seq(const pl_engine_t *e); /* the counter's current value */

/* The index of tag `i`'s device (-1: no such tag), and the change number of the last
 * publication of any of device `d`'s tags (0: none): a live view whose rows are on a few
 * devices asks these instead of every row whether something changed. */
PL_EXTERN long pl_engine_tag_device(const pl_engine_t *e, size_t i);
PL_EXTERN uint64_t pl_engine_device_seq(const pl_engine_t *e, size_t d);

/* Tag `i`'s source time in ms since the epoch (0: never read or no such tag), without
 * putting its whole state together as pl_engine_tag_at() does. */
PL_EXTERN uint64_t pl_engine_tag_ts(const pl_engine_t *e, size_t i);

/* Publications so far that changed a tag's quality: when it has not moved, an order by
 * quality has not changed either. */
PL_EXTERN uint64_t pl_engine_quality_seq(const pl_engine_t *e);

typedef enum {
    PL_TAG_SORT_NAME = 0,
    PL_TAG_SORT_DEVICE,  /* device, then name */
    PL_TAG_SORT_QUALITY, /* bad first, then uncertain, good; then name */
    PL_TAG_SORT_AGE,     /* oldest source time first; then name */
} pl_tag_sort_t;

/* Selects the tags whose name, device or address contains `filter` (ASCII case-insensitive;
 * NULL or "": all), sorted by `sort` (reversed when `desc`), and writes the indices of
 * matches [offset, offset + cap) to `out`. Returns the number of matches in all (which may
 * exceed what was written) or PL_ENOMEM. Costs two passes over the tags (name, device and
 * quality orders), or one pass with a heap of offset + cap entries (age); no string
 * comparison except the filter's. */
PL_EXTERN long pl_engine_tag_query(const pl_engine_t *e, const char *filter, pl_tag_sort_t sort,
                                   int desc, size_t offset, size_t *out, size_t cap);

/* Number of tags by quality: counts[PL_Q_GOOD], [PL_Q_BAD], [PL_Q_UNCERTAIN]. */
PL_EXTERN void pl_engine_tag_qualities(const pl_engine_t *e, uint64_t counts[3]);

#ifdef __cplusplus
}
#endif

#endif
