/* SPDX-License-Identifier: MIT */
/*
 * Modbus TCP server: a simulator for tests and demos, and a real server the daemon fills
 * with the values of other devices (docs/modbus.md, "Serving other devices' values").
 *
 * Data model (spec 4.3): per unit identifier served, four tables of 65 536 elements each:
 * coils and discrete inputs (bits), input and holding registers (16 bits). A table is
 * allocated on the first write to it (by a client, the animation, persistence or
 * pl_modbus_server_set); reading a table never written returns zeros, so an idle server
 * is small whatever units it serves.
 *
 * Every function code of the codec is served (1-6, 15, 16, 22, 23, 43/14) with the spec's
 * exceptions: 01 for a function not served, 03 for a quantity outside the function's limits
 * or a byte count or PDU length that disagrees, 02 for an address range past element 65535.
 * A protocol identifier other than 0 or a length field outside 2..254 breaks the stream:
 * the connection is closed. A unit not served gets no answer (a device answering only its
 * own identifier) or, with `unserved_exception`, that exception (a gateway: 0x0A or 0x0B).
 *
 * Threading: the loop thread only, the accessors included. Memory: the library owns the
 * server (_new/_free); the configuration's arrays and strings are copied.
 */
#ifndef PLCLINE_MODBUS_H
#define PLCLINE_MODBUS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "plcline/export.h"
#include "plcline/line.h"
#include "plcline/log.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PL_MODBUS_SERVER_PORT     502u /* Implementation Guide 4.1: registered port */
#define PL_MODBUS_SERVER_ANY_UNIT (-1) /* pl_modbus_fault_t.unit: every unit */
#define PL_MODBUS_DEVID_MAX       244u /* bytes of one identification object: one PDU */

/* The four tables, numbered as the codec numbers them (co, di, ir, hr). */
typedef enum {
    PL_MODBUS_TABLE_COILS = 0, /* co, 0xxxx: read/write bits */
    PL_MODBUS_TABLE_DISCRETE,  /* di, 1xxxx: read-only bits (to clients) */
    PL_MODBUS_TABLE_INPUT,     /* ir, 3xxxx: read-only registers (to clients) */
    PL_MODBUS_TABLE_HOLDING,   /* hr, 4xxxx: read/write registers */
} pl_modbus_table_id_t;

/* A fault: requests to `unit` (or every unit) that touch element first..last of `table` are
 * answered with `exception` instead (e.g. 0x04 server device failure, 0x06 busy). */
typedef struct {
    int unit; /* 0..255, or PL_MODBUS_SERVER_ANY_UNIT */
    pl_modbus_table_id_t table;
    uint16_t first, last;
    uint8_t exception; /* 1..255 */
} pl_modbus_fault_t;

/* Read device identification (FC 43/14) objects; NULL leaves an object out. The basic ones
 * (0..2) are always answered (NULL: plcline's own); at most PL_MODBUS_DEVID_MAX bytes each. */
typedef struct {
    const char *vendor_name;  /* object 0x00 */
    const char *product_code; /* 0x01 */
    const char *revision;     /* 0x02 */
    const char *vendor_url;   /* 0x03 (regular) */
    const char *product_name; /* 0x04 */
    const char *model_name;   /* 0x05 */
    const char *user_app;     /* 0x06 */
} pl_modbus_server_devid_t;

typedef struct pl_modbus_server_s pl_modbus_server_t;

/* A client changed elements first..first+count-1 of `table` of `unit` (FC 5, 6, 15, 16, 22,
 * 23), after the change and before the answer leaves. For a daemon that forwards writes. */
typedef void (*pl_modbus_server_write_cb)(pl_modbus_server_t *s, uint8_t unit,
                                          pl_modbus_table_id_t table, uint16_t first,
                                          unsigned count, void *ud);

typedef struct {
    pl_listener_config_t listen; /* addr NULL: 127.0.0.1; port default 502, 0 picks one */
    const uint8_t *units;        /* unit identifiers served; NULL or n_units 0: unit 1 */
    size_t n_units;
    uint8_t unserved_exception; /* a unit not served: 0 no answer (default), else this
                                   exception (0x0A gateway path unavailable, 0x0B target
                                   failed to respond, as a gateway) */
    int any_unit;               /* 1: a unit not served is answered from the tables of the
                                   lowest unit served, as a device that ignores the unit
                                   identifier (the answer echoes the identifier asked) */
    unsigned at_once;           /* requests served at once per connection (with delay_ms: the
                                   next one's delay starts when an answer has left); default
                                   1, as many devices; 0: no limit. Answers keep the order of
                                   the requests either way. */
    /* Faults */
    unsigned delay_ms;           /* every answer leaves this long after its request; 0: none */
    const uint8_t *ignore_units; /* served, but never answered: a gateway's dead unit */
    size_t n_ignore;
    unsigned close_after;            /* close a connection when its N-th frame arrives; 0: never */
    unsigned idle_timeout_ms;        /* close a connection that sent nothing this long; 0:
                                        PL_SIM_IDLE_TIMEOUT_MS */
    const pl_modbus_fault_t *faults; /* exceptions for address ranges, first match wins */
    size_t n_faults;
    /* Data */
    unsigned animate_ms;      /* >0: a few elements of every unit served change (docs) */
    const char *persist_path; /* load the tables at start, save them at _free; NULL: off */
    pl_modbus_server_devid_t devid;
    pl_modbus_server_write_cb on_write; /* optional */
    void *ud;
    const pl_logger_t *log;
} pl_modbus_server_config_t;

PL_EXTERN void pl_modbus_server_config_init(pl_modbus_server_config_t *cfg);

/* Listens and serves. Returns 0, PL_EBIND/PL_ESOCKET/PL_ERESOLVE (err says why), PL_EIO
 * when the persistence file exists but cannot be read, PL_EINVAL for a bad configuration
 * (an exception code 0, a fault range backwards, an identification object too long),
 * PL_ENOMEM. Nothing to free on error. */
PL_EXTERN int pl_modbus_server_new(uv_loop_t *loop, const pl_modbus_server_config_t *cfg,
                                   pl_modbus_server_t **out, pl_status_t *err);
PL_EXTERN uint16_t pl_modbus_server_port(const pl_modbus_server_t *s);
PL_EXTERN const char *pl_modbus_server_address(const pl_modbus_server_t *s);

/* Copies elements addr..addr+count-1 of `table` of `unit` into `out` (bits as 0 or 1).
 * Returns 0, or PL_EINVAL (unit not served, count 0, range past element 65535). */
PL_EXTERN int pl_modbus_server_get(pl_modbus_server_t *s, uint8_t unit, pl_modbus_table_id_t table,
                                   uint16_t addr, uint16_t *out, size_t count);

/* Sets elements addr..addr+count-1 of `table` of `unit` (bits: any value other than 0 is
 * 1); clients see them with their next read. Does not call on_write. Returns 0, PL_EINVAL
 * as pl_modbus_server_get, or PL_ENOMEM (the table could not be allocated). */
PL_EXTERN int pl_modbus_server_set(pl_modbus_server_t *s, uint8_t unit, pl_modbus_table_id_t table,
                                   uint16_t addr, const uint16_t *values, size_t count);

/* Writes the persistence file now (as pl_modbus_server_free does). Returns 0, PL_EIO, or
 * PL_EINVAL when persistence is off. Blocks on the file. */
PL_EXTERN int pl_modbus_server_save(pl_modbus_server_t *s);

typedef struct {
    uint64_t connections, frames_in, requests, exceptions, bad_frames;
    uint64_t idle_timeouts; /* connections closed for sending nothing in idle_timeout_ms */
    uint64_t no_answer;     /* requests not answered: unit not served, ignored unit */
    uint64_t writes;        /* requests that changed a table */
} pl_modbus_server_stats_t;
PL_EXTERN const pl_modbus_server_stats_t *pl_modbus_server_stats(const pl_modbus_server_t *s);
PL_EXTERN unsigned pl_modbus_server_conn_count(const pl_modbus_server_t *s);

/* Closes every connection and the listener; saves the tables when persistence is on.
 * Returns 0, or PL_EIO when saving failed. The memory goes with a close callback: run the
 * loop afterwards. */
PL_EXTERN int pl_modbus_server_free(pl_modbus_server_t *s);

#ifdef __cplusplus
}
#endif

#endif
