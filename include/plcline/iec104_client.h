/* SPDX-License-Identifier: MIT */
/*
 * IEC 60870-5-104: the controlling station (client) on a pl_line_t.
 *
 * On every connection the client sends STARTDT act; once it is confirmed, a general
 * interrogation (and, with time_sync, a clock synchronisation) follows. Every monitoring
 * information object that arrives -- in the interrogation's answer (cause 20), spontaneously
 * (3) or for any other cause -- goes to the data callback with its address, type, value,
 * quality and CP56Time2a when it has one. A received I-frame is acknowledged (S-frame, or
 * N(R) of an I-frame sent) only after the callback returned for all of its objects, so data
 * is never confirmed to the station before it was taken.
 *
 * The client numbers its I-frames and checks the station's (N(S) must be the one expected,
 * N(R) within the frames sent), keeps at most k I-frames unconfirmed (more wait), sends an
 * S-frame after w received I-frames or t2 after the first unacknowledged one, sends TESTFR
 * act after t3 of silence, and closes the connection when an I-frame, STARTDT act or
 * TESTFR act is not confirmed within t1. Each violation is a named error (PL_EIEC104_*);
 * the line then reconnects (host lists and alternate redundancy as pl_line_t does them).
 *
 * Parallel redundancy (line.redundancy PL_REDUNDANCY_PARALLEL, the default here, with a
 * backup): the client holds a connection to the primary hosts and one to the backup hosts
 * at once. Only one is started; the other, the standby, gets TESTFR act at once and after
 * every t3 of silence, and is closed when TESTFR con does not come within t1. When the
 * started one fails (closed, t1 of an I-frame, STARTDT or TESTFR act) the standby gets
 * STARTDT act and then a general interrogation, and the old one, when still connected,
 * STOPDT act (it stays as the standby once confirmed). With prefer_primary the client moves
 * back once the primary has answered a TESTFR act. docs/iec104.md ("Redundancy").
 *
 * Commands (pl_iec104_command) go out one at a time and are answered exactly once: after
 * ACT_CON and ACT_TERM (select: ACT_CON alone), with a negative confirmation or a cause
 * 44..47 as a named error, or PL_ETIMEOUT when the answer did not come within the timeout.
 * Select-before-operate is two steps of one command. docs/iec104.md ("Client").
 *
 * Threading: the loop thread only. Memory: library-owned clients (_new/_free); commands are
 * the caller's and must stay valid until their callback ran.
 */
#ifndef PLCLINE_IEC104_CLIENT_H
#define PLCLINE_IEC104_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "plcline/export.h"
#include "plcline/line.h"
#include "plcline/log.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PL_IEC104_CLIENT_PORT  2404u
#define PL_IEC104_CLIENT_MAX_K 32767u /* k and w: at most the sequence space's half */

typedef struct pl_iec104_client_s pl_iec104_client_t;

/* One monitoring information object as received. */
typedef struct {
    uint32_t ioa;
    uint16_t ca;      /* common address of its ASDU */
    uint8_t type;     /* type identification (M_SP_NA_1 = 1, ...) */
    uint8_t cause;    /* cause of transmission: 3 spont, 20 interrogated, 5 requested, ... */
    uint8_t quality;  /* IV 0x80, NT 0x40, SB 0x20, BL 0x10, OV 0x01 */
    uint8_t has_time; /* the object carried a CP56Time2a */
    uint8_t time_iv;  /* its IV bit (the time is invalid) */
    uint8_t time_su;  /* its SU bit (summer time) */
    int64_t time_ms;  /* the CP56Time2a in Unix ms (0 when absent or out of calendar range) */
    double value;     /* the value: state, step, bits, normalized (/32768), scaled, float,
                         counter */
    int32_t raw;      /* integer form (state, step, bits, nva, sva, counter); 0 for floats */
} pl_iec104_point_t;

/* What the link callback reports. */
typedef enum {
    PL_IEC104_LINK_STARTED = 0, /* STARTDT confirmed; the interrogation was sent */
    PL_IEC104_LINK_GI_DONE = 1, /* the interrogation's ACT_TERM came: every object is in */
    PL_IEC104_LINK_DOWN = 2,    /* the connection is gone (status says why) */
    PL_IEC104_LINK_SWITCH = 3   /* parallel redundancy: the started connection failed or gives
                                   way (status says why); the other is being started, STARTED
                                   follows on it. Values received so far stay valid. */
} pl_iec104_link_t;

typedef void (*pl_iec104_data_cb)(pl_iec104_client_t *c, const pl_iec104_point_t *p, void *ud);
typedef void (*pl_iec104_link_cb)(pl_iec104_client_t *c, pl_iec104_link_t what,
                                  const pl_status_t *why, void *ud);

typedef struct {
    pl_line_config_t line;               /* hosts, port (2404), backup, redundancy, ... */
    uint16_t ca;                         /* common address of the station; default 1 */
    uint8_t originator;                  /* originator address sent in the cause field; default 0 */
    uint8_t cot_size, ca_size, ioa_size; /* field sizes: 2, 2, 3 */
    unsigned k, w;                       /* windows: 12, 8 */
    unsigned t0_ms, t1_ms, t2_ms, t3_ms; /* 30000 (connect), 15000, 10000, 20000 */
    unsigned gi_period_ms;               /* >0: a general interrogation this often; 0: off */
    int time_sync;                       /* 1: clock synchronisation after STARTDT */
    int no_gi;                           /* 1: no general interrogation after STARTDT */
    unsigned timeout_ms;                 /* a command's answer; default 10000 */
    pl_iec104_data_cb on_data;           /* may be NULL */
    pl_iec104_link_cb on_link;           /* may be NULL */
    void *ud;
    const pl_logger_t *log; /* may be NULL */
} pl_iec104_client_config_t;

/* Defaults; no hosts. */
PL_EXTERN void pl_iec104_client_config_init(pl_iec104_client_config_t *cfg);

/* Applies "iec104://HOSTLIST[:PORT][/CA][?key=value...]" to `cfg`. Keys: t0, t1, t2, t3
 * (ms), k, w, cot_size, ca_size, ioa_size, originator, gi_period (ms, 0 off), time_sync
 * (0/1), timeout (ms), and the line keys of docs/lines.md (backup, use_backup, redundancy,
 * prefer_primary, local, line, connect_timeout). Unknown keys are errors. Returns 0 or
 * PL_EURL with `err` saying what is wrong. `cfg` keeps no pointer into `url`, except
 * line.local_addr, which points into `storage` (at least 64 bytes). */
PL_EXTERN int pl_iec104_client_config_url(pl_iec104_client_config_t *cfg, const char *url,
                                          char *storage, size_t storage_len, pl_status_t *err);

/* Returns 0, or PL_EINVAL (no hosts, a size or window out of range, t2 >= t1), PL_ENOMEM. */
PL_EXTERN int pl_iec104_client_new(uv_loop_t *loop, const pl_iec104_client_config_t *cfg,
                                   pl_iec104_client_t **out);

/* Connects now and reconnects whenever the connection is lost. */
PL_EXTERN int pl_iec104_client_start(pl_iec104_client_t *c);

/* Sends a general interrogation now (when started; else PL_ECLOSING). While one is running
 * nothing is sent: its answer brings every point (a station may refuse a second one). */
PL_EXTERN int pl_iec104_client_interrogate(pl_iec104_client_t *c);

/* STARTDT confirmed on the current connection: 1, else 0. */
PL_EXTERN int pl_iec104_client_started(const pl_iec104_client_t *c);

/* Answers every command with PL_ECANCELED (callbacks run before this returns), closes the
 * connection and frees the client. No callback fires after it returns. */
PL_EXTERN void pl_iec104_client_free(pl_iec104_client_t *c);

/* The line of the connection started (or being started); else the primary side's. In
 * parallel redundancy each side has a line of its own: pl_iec104_client_side_line(). */
PL_EXTERN pl_line_t *pl_iec104_client_line(pl_iec104_client_t *c);

/* The line of `side`: in parallel redundancy with a backup, each side's own line (over that
 * side's hosts); otherwise the one line for PL_LINE_PRIMARY and NULL for the backup. */
PL_EXTERN pl_line_t *pl_iec104_client_side_line(pl_iec104_client_t *c, pl_line_side_t side);

/* The side (PL_LINE_PRIMARY, PL_LINE_BACKUP) of the connection started or being started;
 * -1 when there is none. */
PL_EXTERN int pl_iec104_client_active_side(const pl_iec104_client_t *c);

typedef struct {
    uint64_t connections; /* STARTDT confirmed */
    uint64_t i_in, s_in, u_in, i_out, s_out, u_out;
    uint64_t objects;        /* information objects delivered */
    uint64_t interrogations; /* general interrogations sent */
    uint64_t gi_done;        /* ... terminated (ACT_TERM) */
    uint64_t commands, commands_ok, commands_failed;
    uint64_t t1_expired, seq_errors, bad_frames, bad_asdus;
    uint64_t testfr_sent;
    /* appended for parallel redundancy */
    uint64_t switchovers;      /* the started connection moved to the other side */
    uint64_t stopdt_sent;      /* STOPDT act to a connection given up while still connected */
    uint64_t standby_failures; /* standby connections closed for an unanswered TESTFR act */
} pl_iec104_client_stats_t;
PL_EXTERN const pl_iec104_client_stats_t *pl_iec104_client_stats(const pl_iec104_client_t *c);

/* A command. Set the public fields, then pl_iec104_command(). */
typedef struct pl_iec104_cmd_s pl_iec104_cmd_t;
typedef void (*pl_iec104_cmd_cb)(pl_iec104_cmd_t *cmd);
struct pl_iec104_cmd_s {
    uint8_t type;        /* C_SC_NA_1 (45) .. C_BO_NA_1 (51), C_SC_TA_1 (58) .. C_BO_TA_1 (64) */
    uint32_t ioa;        /* information object address */
    double value;        /* state (0/1, or 0..3), set point, or bits */
    uint8_t qualifier;   /* QU (0..31) of SC/DC/RC, QL (0..127) of set points */
    uint8_t sbo;         /* 1: select, then execute after the select's ACT_CON */
    pl_iec104_cmd_cb cb; /* answered exactly once */
    void *data;          /* the caller's */
    pl_status_t status;  /* result; valid in the callback */
    /* private */
    pl_iec104_cmd_t *next_;
    uint64_t due_;
    uint8_t stage_;
};

/* Queues a command. Returns 0 (the callback follows), or PL_EINVAL (a type that is not a
 * command, a value that does not fit it) with no callback. */
PL_EXTERN int pl_iec104_command(pl_iec104_client_t *c, pl_iec104_cmd_t *cmd);

/* "M_ME_NC_1" for a type id, NULL if unsupported; the type named `name`, or -1. */
PL_EXTERN const char *pl_iec104_type_str(uint8_t type);
PL_EXTERN int pl_iec104_type_of(const char *name);

#ifdef __cplusplus
}
#endif

#endif
