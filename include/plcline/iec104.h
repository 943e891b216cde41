/* SPDX-License-Identifier: MIT */
/*
 * IEC 60870-5-104: the controlled-station simulator (an outstation on a TCP listener).
 *
 * The simulator holds information objects given by a point spec ("M_ME_NC_1:1001-1100
 * M_SP_NA_1:2001-2050 C_SE_NC_1:5001"), answers STARTDT/STOPDT/TESTFR, numbers and
 * acknowledges I-frames within the k and w windows, supervises its connections with the
 * timers t1, t2 and t3, answers general and counter interrogation, read, clock
 * synchronisation, test and every command type (with select-before-operate), and sends
 * spontaneous events: numbered ones from its animation, and those a test injects. Clients
 * are gathered in redundancy groups: one started connection per group, and the events of a
 * group not yet confirmed are sent again on the connection started next. docs/iec104.md
 * ("Simulator") describes every option.
 *
 * Threading: the loop thread only. Memory: library-owned servers (_new/_free).
 */
#ifndef PLCLINE_IEC104_H
#define PLCLINE_IEC104_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "plcline/export.h"
#include "plcline/line.h"
#include "plcline/log.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How the simulator gathers its connections into redundancy groups. */
typedef enum {
    PL_IEC104_GROUP_ONE = 0,           /* every connection in one group (the default) */
    PL_IEC104_GROUP_BY_ADDRESS = 1,    /* one group per client IP address */
    PL_IEC104_GROUP_PER_CONNECTION = 2 /* each connection alone: no redundancy */
} pl_iec104_grouping_t;

/* Limits of the simulator. */
#define PL_IEC104_SERVER_MAX_POINTS 65536u /* information objects of one spec */
#define PL_IEC104_SERVER_MAX_K      4096u  /* largest k */
#define PL_IEC104_SERVER_MAX_GROUPS 256u   /* redundancy groups (BY_ADDRESS) */
#define PL_IEC104_SERVER_MAX_ANSWERS                     \
    64u /* answers a connection may have waiting for the \
           send window; one more closes it */

typedef struct pl_iec104_server_s pl_iec104_server_t;

typedef struct {
    pl_listener_config_t listen; /* addr NULL: 127.0.0.1; port 2404; 0 picks one */
    const char *points;          /* point spec; NULL and no points_file: a small default set */
    const char *points_file;     /* a file holding a point spec ('#' starts a comment) */
    uint16_t ca;                 /* common address of ASDU; default 1 */
    uint8_t cot_size, ca_size, ioa_size; /* field sizes: 2, 2, 3 (IEC 104) */
    unsigned k, w;                       /* windows: 12 and 8 */
    unsigned t1_ms, t2_ms, t3_ms;        /* timers: 15000, 10000, 20000 */
    pl_iec104_grouping_t grouping;       /* PL_IEC104_GROUP_ONE */
    unsigned max_events;                 /* events a group keeps unconfirmed; 0: 10000 */
    uint32_t event_ioa;                  /* IOA of the event counter (M_IT_NA_1); 0: none */
    unsigned animate_ms;                 /* >0: one animation step (a numbered event) this often */
    unsigned select_timeout_ms;          /* an execute must follow its select within this; 10000 */
    int require_select;                  /* commands must be selected before they are executed */
    /* Faults, for testing controlling stations: */
    unsigned delay_ms;    /* every frame sent leaves this long after it was made */
    unsigned close_after; /* close a connection when its N-th frame arrives; 0: never */
    int ignore_testfr;    /* TESTFR act is never answered */
    int ignore_startdt;   /* STARTDT act is never confirmed (the connection stays stopped) */
    const pl_logger_t *log;
} pl_iec104_server_config_t;

/* Fills `cfg` with the defaults above. */
PL_EXTERN void pl_iec104_server_config_init(pl_iec104_server_config_t *cfg);

/* Parses the point spec (or reads the file), listens and serves. Returns 0, PL_ECONFIG (a
 * bad spec or option; err says what and where), PL_EIO (the points file), PL_ENOMEM or the
 * listener's error. Nothing to free on error. */
PL_EXTERN int pl_iec104_server_new(uv_loop_t *loop, const pl_iec104_server_config_t *cfg,
                                   pl_iec104_server_t **out, pl_status_t *err);

PL_EXTERN uint16_t pl_iec104_server_port(const pl_iec104_server_t *s);
PL_EXTERN const char *pl_iec104_server_address(const pl_iec104_server_t *s);

/* Connections open now. */
PL_EXTERN unsigned pl_iec104_server_conn_count(const pl_iec104_server_t *s);

/* One animation step now (what animate_ms does on its timer): the event counter (when
 * event_ioa is set) counts one up and is sent spontaneously, then the next animated point
 * changes and is sent. Returns the step's event number (1, 2, ...). */
PL_EXTERN uint32_t pl_iec104_server_step(pl_iec104_server_t *s);

/* Information object `ioa` as the simulator holds it (value, quality, time), and its type;
 * for tests. Returns 0 or PL_EINVAL when there is no such object. */
PL_EXTERN int pl_iec104_server_point(const pl_iec104_server_t *s, uint32_t ioa, uint8_t *type,
                                     double *value);

/* Sets information object `ioa`'s value as if the process had changed it, without an
 * event: the next interrogation or read answers the new value; for tests. Returns 0 or
 * PL_EINVAL when there is no such object. */
PL_EXTERN int pl_iec104_server_set_point(pl_iec104_server_t *s, uint32_t ioa, double value);

typedef struct {
    uint64_t connections, frames_in, bad_frames;
    uint64_t i_in, s_in, u_in, i_out, s_out, u_out;
    uint64_t started;        /* STARTDT confirmed */
    uint64_t stopped;        /* STOPDT confirmed, or superseded by another in the group */
    uint64_t testfr_sent;    /* TESTFR act sent after t3 */
    uint64_t t1_expired;     /* connections closed by t1 */
    uint64_t seq_errors;     /* connections closed for a wrong N(S) or N(R) */
    uint64_t bad_asdus;      /* ASDUs that did not decode (ignored) */
    uint64_t ignored;        /* I-frames received while stopped (acknowledged, ignored) */
    uint64_t interrogations; /* general, group and counter interrogations answered */
    uint64_t commands;       /* commands executed (ACT_TERM sent) */
    uint64_t selects;        /* selects confirmed */
    uint64_t negative;       /* negative confirmations sent */
    uint64_t events;         /* spontaneous events made */
    uint64_t events_sent;    /* spontaneous I-frames sent */
    uint64_t events_resent;  /* sent again on a newly started connection */
    uint64_t events_dropped; /* dropped from a full group queue (oldest first) */
    uint64_t clock_syncs;
} pl_iec104_server_stats_t;
PL_EXTERN const pl_iec104_server_stats_t *pl_iec104_server_stats(const pl_iec104_server_t *s);

/* Closes the listener and every connection. No callback follows. */
PL_EXTERN void pl_iec104_server_free(pl_iec104_server_t *s);

#ifdef __cplusplus
}
#endif

#endif
