/* SPDX-License-Identifier: MIT */
/*
 * The fault scenarios every protocol gets (docs/reliability.md): one table of scenarios run
 * against a protocol through its hooks, as nng runs its transport tests. A protocol's
 * tests/integration/test_faults_<name>.c keeps its fixture (the healthy device, the
 * scripted peer's answers, its client) and fills a fault_proto_t; fault_suite_run() runs
 * the client scenarios (the peer closes mid-answer, answers garbage or the protocol's own
 * malformed answers, answers byte by byte, late, never; nothing listens; the name does not
 * resolve) and the simulator scenarios (1000 abandoned connections, a slow client, a huge
 * announced length, a partial frame then silence, a client that never reads), then the
 * protocol's own scenarios. Test code only.
 */
#ifndef PLCLINE_TESTS_FAULT_SUITE_H
#define PLCLINE_TESTS_FAULT_SUITE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"

/* What the scripted peer does with the requests it is told to spoil (fixture_t.mode): every
 * protocol's peer implements these; its own modes start at FAULT_MODE_PROTO. */
enum {
    FAULT_GOOD = 0,  /* answers well */
    FAULT_CLOSE_MID, /* the first half of the answer, then close */
    FAULT_GARBAGE,   /* text instead of an answer */
    FAULT_DRIP,      /* the answer one byte per fx->drip_ms (0: per loop turn) */
    FAULT_LATE,      /* the answer, each word fx->late_word, fx->late_ms later */
    FAULT_SILENT,    /* no answer */
    FAULT_MODE_PROTO,
};

/* A malformed answer of the protocol's own: the read it spoils fails with `code`, at once. */
typedef struct {
    const char *name; /* the test's name: "test_ttcp_client_bad_opcode" */
    int mode;         /* >= FAULT_MODE_PROTO */
    int code;
} fault_spoil_t;

/* The healthy device's simulator for fault_proto_t.start. */
typedef struct {
    unsigned frame_timeout_ms; /* listener's incomplete-frame timeout; 0: its default */
    size_t max_output;         /* listener's output limit per connection; 0: its default */
} fault_sim_opts_t;

typedef struct {
    const char *name; /* "ttcp": the prefix of the tests' names */
    fixture_t *fx;
    /* what a request fails with when the peer closed mid-answer, answered garbage, timed out,
     * or nothing listens */
    int code_close_mid, code_garbage, code_timeout, code_connect;
    const fault_spoil_t *spoils; /* the protocol's malformed answers */
    size_t n_spoils;

    /* fixture_init, the healthy device (simulator and polling client, healthy started), the
     * scripted peer's words (word i is 0x1000 + i), and the client under test talking to
     * the scripted peer (fx->port) with `timeout_ms` per request; and back. */
    void (*start)(unsigned timeout_ms, const fault_sim_opts_t *o);
    void (*stop)(void);

    /* The client under test: a new one (the old one freed) for `hosts` (`port`), linked to
     * fixture_link(); freed (NULL: none); its line; its count of timeouts. */
    void (*cut_new)(const char *hosts, uint16_t port, unsigned timeout_ms);
    void (*cut_free)(void);
    const pl_line_t *(*cut_line)(void);
    uint64_t (*cut_timeouts)(void);
    /* Request slot 0..3 of the client under test: reads n words from word `at` into w (host
     * order) or writes w there; r is cleared, its completion counted in r. */
    void (*submit)(int slot, int write, unsigned at, uint16_t *w, size_t n, fixture_result_t *r);
    uint16_t (*peer_word)(unsigned at); /* the scripted peer's memory */
    unsigned (*peer_sessions)(void);    /* sessions the peer granted; NULL: no sessions */

    /* Simulators: the healthy one; another on `port` (on fx->loop) and its end; its port,
     * words, counters; its open connections (NULL: it does not count them). */
    void *(*sim)(void);
    void *(*sim_new)(uint16_t port);
    void (*sim_free)(void *sim);
    uint16_t (*sim_port)(void *sim);
    void (*sim_set_word)(void *sim, unsigned at, uint16_t v);
    uint16_t (*sim_word)(void *sim, unsigned at);
    const uint64_t *(*sim_connections)(void *sim);
    uint64_t (*sim_bad_frames)(void *sim);
    size_t (*sim_conns)(void *sim);
    /* A new client of its own reads word `at` from `sim` (asserting success), is freed, and
     * the word is returned. */
    uint16_t (*sim_read_fresh)(void *sim, unsigned at);

    /* What a raw client sends the simulator: the greeting before requests (a session
     * request; 0: none) and the session its answer grants; a read of `words` words from
     * word `at` (request id `id`, at most raw_read_max words) and the first word its answer
     * carries; the first bytes of a frame announcing a length past the largest. */
    size_t (*raw_hello)(uint8_t *out, size_t cap);
    uint32_t (*raw_hello_answer)(const uint8_t *msg, size_t len);
    size_t (*raw_read)(uint8_t *out, size_t cap, uint32_t session, uint16_t id, unsigned at,
                       unsigned words);
    uint16_t (*raw_answer_word)(const uint8_t *msg, size_t len);
    size_t (*raw_huge)(uint8_t *out, size_t cap);
    unsigned raw_read_max;

    /* Optional: why the shared scenario `name` ("server_client_never_reads", the table's
     * name without the protocol's prefix) does not apply to the protocol (its own test
     * covers the concern another way), or NULL when it applies. NULL hook: all apply. */
    const char *(*not_applicable)(const char *name);
    /* Optional: the client under test keeps its connection when a request times out (a
     * slow unit behind a gateway must not cost the others theirs), recognises the late
     * answer and drops it; this returns how many it dropped. NULL: a timeout drops the
     * connection. With it, client_late_answer expects the answer dropped on the same
     * connection, and client_never_answers sends `drop_after` reads (1..4): the timeouts
     * in a row that drop the connection. */
    uint64_t (*cut_late)(void);
    unsigned drop_after;
} fault_proto_t;

/* Runs every shared scenario against `p`, then `own[0..n_own)` (the protocol's own, in that
 * order: one that may hang goes last). Returns cmocka's result. */
int fault_suite_run(const fault_proto_t *p, const struct CMUnitTest *own, size_t n_own);

/* For the protocol's own scenarios: the peer behaves again, a read and a write through the
 * client under test succeed. */
void fault_suite_expect_recovery(void);

#endif
