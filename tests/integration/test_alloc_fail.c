/* SPDX-License-Identifier: MIT */
/*
 * Allocation failure: a client session and a server session (7TTCP client + node simulator,
 * PCCC client + PLC simulator) are run again and again on loopback, the N-th allocation
 * call failing in run N (N = 1, 2, ... until a run completes with no failure injected).
 * For every N: nothing crashes, each call either succeeds or returns a negative PL_E* code,
 * each submitted request's callback runs exactly once (and none for a refused submission),
 * a run without a failure reads back what it wrote, and once everything is freed and the
 * loop has run dry, no block allocated during the run is alive and uv_loop_close() is 0.
 *
 * Each run gets a fresh loop that first carries one whole session unarmed, so that what
 * libuv and glibc allocate once and keep (libuv's fd watcher array, which libuv grows with
 * abort() on failure in uv__io_start/maybe_resize and cannot report ENOMEM from; glibc's
 * lazily loaded tables) exists before counting starts. The threadpool is started before
 * the first run for the same reason (failalloc_available()).
 *
 * Set PL_ALLOC_VERBOSE=1 to see every run's outcome and where its allocation failed, and
 * PL_ALLOC_N=N to run that N alone.
 * Under AddressSanitizer the injector is compiled out and the test skips.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "failalloc.h"
#include "plcline/error.h"
#include "plcline/hostlist.h"
#include "plcline/pccc.h"
#include "plcline/ttcp.h"
#include "skip.h"

FAILALLOC_INTERPOSE();

#define GUARD_MS       5000  /* no request may take longer: its callback was lost */
#define REQ_TIMEOUT_MS 200   /* an unanswered request (the simulator failed) ends soon */
#define MAX_RUNS       20000 /* a session with more allocation calls is a test bug */
#define NOT_REACHED    1     /* a call's result before the call was made */

/* After a run whose requests failed, the same write and read are made again and must
 * succeed: an allocation failure is transient. (This found that the listener stopped
 * accepting for good when calloc() of a connection failed: libuv stops watching the
 * listening socket until uv_accept() is called; the listener now accepts the partner into a
 * spare handle and closes it.) */
#define RECOVERY_REQUIRED 1

/* One request: its submission's return code and its completion. */
typedef struct {
    int rc; /* NOT_REACHED, 0 (submitted) or <0 (refused) */
    int done;
    pl_status_t status;
    uv_loop_t *loop;
} call_t;

/* A request's callback: counts, keeps the status, and ends the current uv_run(): libuv
 * 1.44's UV_RUN_ONCE runs due timers before it polls, so a callback from a timer (a failed
 * connect attempt) would otherwise be followed by a poll that waits for the guard. */
static void call_done(call_t *c, const pl_status_t *st)
{
    c->done++;
    c->status = *st;
    uv_stop(c->loop);
}

/* What one run saw. */
typedef struct {
    unsigned long fail_at, calls;
    int fired;
    int rc_srv, rc_cli;
    call_t wr, rd;
    call_t wr2, rd2; /* after a failed session: the same again, which must succeed */
    int values_ok, recovered, guard_expired, loop_alive, loop_close;
    size_t live;
    int overflowed;
} outcome_t;

/* One protocol's session: server and client, one write, one read of it, then free. */
typedef struct {
    const char *name;
    int (*srv_new)(uv_loop_t *loop, void **srv, uint16_t *port);
    int (*cli_new)(uv_loop_t *loop, uint16_t port, void **cli);
    int (*write)(void *cli, void *req, call_t *c);
    int (*read)(void *cli, void *req, call_t *c);
    int (*check)(void *srv);  /* 1 when the simulator holds what was written */
    void (*reset)(void *srv); /* forgets it */
    int (*read_ok)(void);     /* 1 when the read returned what was written */
    void (*cli_free)(void *cli);
    void (*srv_free)(void *srv);
} proto_t;

/* A run that never returns (a busy loop inside uv_run(), where no guard timer can fire)
 * is ended by SIGALRM after this long, saying which run it was. */
#define WATCHDOG_S 60
static const char *volatile watch_name;
static volatile unsigned long watch_n;

static int verbose;          /* PL_ALLOC_VERBOSE: 1 every run's outcome, 2 also the library's log */
static unsigned long only_n; /* PL_ALLOC_N: run this N alone */

/* The library's log at PL_ALLOC_VERBOSE=2, written with write(2): printing must not
 * allocate while armed. */
static void log_cb(void *ud, pl_log_level_t level, const char *msg)
{
    char line[600];
    int n;

    (void)ud;
    n = snprintf(line, sizeof(line), "  %8.3f ms log %s: %s\n",
                 (double)(uv_hrtime() % 100000000000ull) / 1e6, pl_log_level_name(level), msg);
    if (n > 0)
        (void)!write(STDOUT_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static const pl_logger_t logger = {.cb = log_cb, .level = PL_LOG_DEBUG};

static const pl_logger_t *test_log(void)
{
    return verbose >= 2 ? &logger : NULL;
}

static void on_alarm(int sig)
{
    char line[200];
    int n;

    (void)sig;
    n = snprintf(line, sizeof(line),
                 "test_alloc_fail: %s N=%lu still running after %d s: a busy loop or a wait "
                 "that never ends\n",
                 watch_name != NULL ? watch_name : "?", watch_n, WATCHDOG_S);
    if (n > 0)
        (void)!write(STDOUT_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    failalloc_report(STDOUT_FILENO);
    _exit(3);
}

/* --- running the loop ------------------------------------------------------------- */

static void on_guard(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

/* Runs until *flag (or, with flag NULL, until the loop has nothing left but the guard);
 * returns 0, or -1 when the guard expired first. */
static int run_until(uv_loop_t *loop, const int *flag, unsigned ms)
{
    uv_timer_t guard;
    int expired = 0;

    uv_timer_init(loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, ms, 0);
    if (flag == NULL)
        uv_unref((uv_handle_t *)&guard); /* draining: the guard alone is not "alive" */
    while (!expired && (flag != NULL ? !*flag : uv_loop_alive(loop)))
        if (uv_run(loop, UV_RUN_ONCE) == 0 && flag == NULL)
            break;
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return expired ? -1 : 0;
}

/* --- 7TTCP ------------------------------------------------------------------------ */

#define TTCP_NODE   1
#define TTCP_OFFSET 10
static const uint16_t ttcp_out[4] = {0x1234, 0xFFFF, 0, 0xA5A5};
static uint16_t ttcp_in[4];

static void ttcp_done(pl_ttcp_req_t *req)
{
    call_done(req->data, &req->status);
}

static int ttcp_srv_new(uv_loop_t *loop, void **srv, uint16_t *port)
{
    pl_ttcp_server_config_t cfg;
    pl_ttcp_server_t *s;
    pl_status_t st;
    int rc;

    pl_ttcp_server_config_init(&cfg);
    cfg.listen.port = 0;
    cfg.log = test_log();
    rc = pl_ttcp_server_new(loop, &cfg, &s, &st);
    if (rc == 0) {
        *srv = s;
        *port = pl_ttcp_server_port(s);
    }
    return rc;
}

static int ttcp_cli_new(uv_loop_t *loop, uint16_t port, void **cli)
{
    pl_ttcp_client_config_t cfg;
    pl_ttcp_client_t *c;
    int rc;

    pl_ttcp_client_config_init(&cfg);
    if (pl_hostlist_parse(&cfg.line.hosts, "127.0.0.1", 9, NULL) != 0)
        return PL_EINVAL;
    cfg.line.port = port;
    cfg.timeout_ms = REQ_TIMEOUT_MS;
    cfg.keepalive_ms = 0;
    cfg.log = test_log();
    cfg.line.log = test_log();
    rc = pl_ttcp_client_new(loop, &cfg, &c);
    if (rc == 0)
        *cli = c;
    return rc;
}

static int ttcp_write(void *cli, void *req, call_t *c)
{
    pl_ttcp_req_t *r = req;

    r->data = c;
    return pl_ttcp_write(cli, r, TTCP_NODE, TTCP_OFFSET, ttcp_out, 4, ttcp_done);
}

static int ttcp_read(void *cli, void *req, call_t *c)
{
    pl_ttcp_req_t *r = req;

    memset(ttcp_in, 0, sizeof(ttcp_in));
    r->data = c;
    return pl_ttcp_read(cli, r, TTCP_NODE, TTCP_OFFSET, ttcp_in, 4, ttcp_done);
}

static int ttcp_check(void *srv)
{
    return memcmp(pl_ttcp_server_words(srv, TTCP_NODE) + TTCP_OFFSET, ttcp_out, sizeof(ttcp_out)) ==
           0;
}

static void ttcp_reset(void *srv)
{
    uint16_t *w = pl_ttcp_server_words(srv, TTCP_NODE);

    if (w != NULL)
        memset(w + TTCP_OFFSET, 0, sizeof(ttcp_out));
}

static int ttcp_read_ok(void)
{
    return memcmp(ttcp_in, ttcp_out, sizeof(ttcp_out)) == 0;
}

static void ttcp_cli_free(void *cli)
{
    pl_ttcp_client_free(cli);
}

static void ttcp_srv_free(void *srv)
{
    (void)pl_ttcp_server_free(srv); /* no persistence file: always 0 */
}

static const proto_t ttcp = {.name = "7ttcp",
                             .srv_new = ttcp_srv_new,
                             .cli_new = ttcp_cli_new,
                             .write = ttcp_write,
                             .read = ttcp_read,
                             .check = ttcp_check,
                             .reset = ttcp_reset,
                             .read_ok = ttcp_read_ok,
                             .cli_free = ttcp_cli_free,
                             .srv_free = ttcp_srv_free};

/* --- PCCC ------------------------------------------------------------------------- */

static const uint8_t pccc_out[2] = {0x34, 0x12}; /* N7:0 = 0x1234 */
static uint8_t pccc_in[2];

static void pccc_done(pl_pccc_req_t *req)
{
    call_done(req->data, &req->status);
}

static int pccc_srv_new(uv_loop_t *loop, void **srv, uint16_t *port)
{
    pl_pccc_server_config_t cfg;
    pl_pccc_server_t *s;
    pl_status_t st;
    int rc;

    pl_pccc_server_config_init(&cfg);
    cfg.listen.port = 0;
    cfg.log = test_log();
    rc = pl_pccc_server_new(loop, &cfg, &s, &st);
    if (rc == 0) {
        *srv = s;
        *port = pl_pccc_server_port(s);
    }
    return rc;
}

static int pccc_cli_new(uv_loop_t *loop, uint16_t port, void **cli)
{
    pl_pccc_client_config_t cfg;
    pl_pccc_client_t *c;
    int rc;

    pl_pccc_client_config_init(&cfg);
    if (pl_hostlist_parse(&cfg.line.hosts, "127.0.0.1", 9, NULL) != 0)
        return PL_EINVAL;
    cfg.line.port = port;
    cfg.timeout_ms = REQ_TIMEOUT_MS;
    cfg.log = test_log();
    cfg.line.log = test_log();
    rc = pl_pccc_client_new(loop, &cfg, &c); /* serial 0: reads a MAC (opendir, fopen) */
    if (rc == 0)
        *cli = c;
    return rc;
}

static int pccc_write(void *cli, void *req, call_t *c)
{
    pl_pccc_req_t *r = req;

    r->data = c;
    return pl_pccc_write(cli, r, "N7:0", pccc_out, sizeof(pccc_out), pccc_done);
}

static int pccc_read(void *cli, void *req, call_t *c)
{
    pl_pccc_req_t *r = req;

    memset(pccc_in, 0, sizeof(pccc_in));
    r->data = c;
    return pl_pccc_read(cli, r, "N7:0", pccc_in, sizeof(pccc_in), pccc_done);
}

static int pccc_check(void *srv)
{
    size_t len = 0;
    const uint8_t *n7 = pl_pccc_server_file(srv, "N7", &len);

    return n7 != NULL && len >= 2 && memcmp(n7, pccc_out, 2) == 0;
}

static void pccc_reset(void *srv)
{
    size_t len = 0;
    uint8_t *n7 = pl_pccc_server_file(srv, "N7", &len);

    if (n7 != NULL && len >= 2)
        memset(n7, 0, 2);
}

static int pccc_read_ok(void)
{
    return memcmp(pccc_in, pccc_out, sizeof(pccc_out)) == 0;
}

static void pccc_cli_free(void *cli)
{
    pl_pccc_client_free(cli);
}

static void pccc_srv_free(void *srv)
{
    pl_pccc_server_free(srv);
}

static const proto_t pccc = {.name = "pccc",
                             .srv_new = pccc_srv_new,
                             .cli_new = pccc_cli_new,
                             .write = pccc_write,
                             .read = pccc_read,
                             .check = pccc_check,
                             .reset = pccc_reset,
                             .read_ok = pccc_read_ok,
                             .cli_free = pccc_cli_free,
                             .srv_free = pccc_srv_free};

/* --- one session -------------------------------------------------------------------- */

/* Submits one request and waits for its callback. */
static void request(uv_loop_t *loop, void *cli, void *req, call_t *c,
                    int (*submit)(void *, void *, call_t *), outcome_t *o)
{
    memset(c, 0, sizeof(*c));
    c->loop = loop;
    c->rc = submit(cli, req, c);
    if (c->rc == 0 && run_until(loop, &c->done, GUARD_MS) != 0 && c->done == 0)
        o->guard_expired = 1;
}

/* Runs one session on `loop`; fail_at 0: unarmed (the warm-up). */
static void session(const proto_t *p, uv_loop_t *loop, unsigned long fail_at, outcome_t *o)
{
    union {
        pl_ttcp_req_t t;
        pl_pccc_req_t p;
    } wreq, rreq;
    void *srv = NULL, *cli = NULL;
    uint16_t port = 0;
    int arm = fail_at != 0;

    memset(o, 0, sizeof(*o));
    o->fail_at = fail_at;
    o->rc_srv = o->rc_cli = o->wr.rc = o->rd.rc = o->wr2.rc = o->rd2.rc = NOT_REACHED;
    if (arm)
        failalloc_arm(fail_at);
    o->rc_srv = p->srv_new(loop, &srv, &port);
    if (o->rc_srv == 0) {
        o->rc_cli = p->cli_new(loop, port, &cli);
        if (o->rc_cli == 0) {
            request(loop, cli, &wreq, &o->wr, p->write, o);
            request(loop, cli, &rreq, &o->rd, p->read, o);
            o->values_ok = o->wr.rc == 0 && o->wr.status.code == 0 && p->check(srv) &&
                           o->rd.rc == 0 && o->rd.status.code == 0 && p->read_ok();
            if (!o->values_ok) {
                /* a failed allocation is transient: the client and the simulator go on */
                p->reset(srv);
                request(loop, cli, &wreq, &o->wr2, p->write, o);
                request(loop, cli, &rreq, &o->rd2, p->read, o);
                o->recovered = o->wr2.rc == 0 && o->wr2.status.code == 0 && p->check(srv) &&
                               o->rd2.rc == 0 && o->rd2.status.code == 0 && p->read_ok();
            }
            p->cli_free(cli);
        }
        p->srv_free(srv);
    }
    if (run_until(loop, NULL, GUARD_MS) != 0)
        o->loop_alive = 1;
    if (arm) {
        o->calls = failalloc_disarm();
        o->fired = failalloc_fired();
    }
}

/* --- judging a run ------------------------------------------------------------------ */

static int code_ok(int rc)
{
    return rc == 0 || rc == NOT_REACHED || (rc < 0 && pl_err_code(rc) != 0);
}

static int call_ok(const call_t *c, char *why, size_t cap)
{
    if (c->rc == NOT_REACHED)
        return 1;
    if (!code_ok(c->rc)) {
        snprintf(why, cap, "submission returned %d, not a PL_E* code", c->rc);
        return 0;
    }
    if (c->rc < 0 && c->done != 0) {
        snprintf(why, cap, "submission failed (%s) and its callback ran too", pl_err_name(c->rc));
        return 0;
    }
    if (c->rc == 0 && c->done != 1) {
        snprintf(why, cap, "callback ran %d times", c->done);
        return 0;
    }
    if (c->rc == 0 && !code_ok(c->status.code)) {
        snprintf(why, cap, "completed with %d, not a PL_E* code", c->status.code);
        return 0;
    }
    return 1;
}

/* The first error a run reported to the caller and which call reported it; 0 when none
 * (the failure was absorbed). */
static int first_error(const outcome_t *o, const char **where)
{
    *where = "";
    if (o->rc_srv < 0)
        return *where = "server _new", o->rc_srv;
    if (o->rc_cli < 0)
        return *where = "client _new", o->rc_cli;
    if (o->wr.rc < 0)
        return *where = "write submission", o->wr.rc;
    if (o->wr.rc == 0 && o->wr.status.code < 0)
        return *where = "write callback", o->wr.status.code;
    if (o->rd.rc < 0)
        return *where = "read submission", o->rd.rc;
    if (o->rd.rc == 0 && o->rd.status.code < 0)
        return *where = "read callback", o->rd.status.code;
    return 0;
}

/* 1 unless a failed session left the client or the simulator unable to work. */
static int recovered(const outcome_t *o)
{
    return !o->fired || o->values_ok || o->rc_cli != 0 || o->recovered;
}

/* What the next request after a failed session got. */
static void recovery_failure(const outcome_t *o, char *why, size_t cap)
{
    const call_t *c = o->wr2.rc != 0 || o->wr2.status.code != 0 ? &o->wr2 : &o->rd2;

    snprintf(why, cap, "did not recover: the %s after the failed session gave %s (%.96s)",
             c == &o->wr2 ? "next write" : "next read",
             pl_err_name(c->rc != 0 ? c->rc : c->status.code), c->status.detail);
}

/* Returns 1 when the run is correct, else 0 with `why`. */
static int judge(const outcome_t *o, char *why, size_t cap)
{
    if (o->guard_expired) {
        snprintf(why, cap, "a request's callback never ran (%d ms)", GUARD_MS);
        return 0;
    }
    if (o->loop_alive) {
        snprintf(why, cap, "the loop still had active handles after everything was freed");
        return 0;
    }
    if (!code_ok(o->rc_srv) || !code_ok(o->rc_cli)) {
        snprintf(why, cap, "_new returned %d/%d, not a PL_E* code", o->rc_srv, o->rc_cli);
        return 0;
    }
    if (!call_ok(&o->wr, why, cap) || !call_ok(&o->rd, why, cap) || !call_ok(&o->wr2, why, cap) ||
        !call_ok(&o->rd2, why, cap))
        return 0;
    if (!o->fired && !o->values_ok) {
        const char *where;
        int err = first_error(o, &where);

        snprintf(why, cap, "no failure injected, yet the session failed (%s in %s)",
                 pl_err_name(err), where);
        return 0;
    }
    if (RECOVERY_REQUIRED && !recovered(o)) {
        recovery_failure(o, why, cap);
        return 0;
    }
    if (o->overflowed) {
        snprintf(why, cap, "more live blocks than failalloc tracks");
        return 0;
    }
    if (o->live != 0) {
        snprintf(why, cap, "%zu block(s) allocated during the run still alive: leak", o->live);
        return 0;
    }
    if (o->loop_close != 0) {
        snprintf(why, cap, "uv_loop_close() returned %s", uv_err_name(o->loop_close));
        return 0;
    }
    return 1;
}

/* Runs N = 1, 2, ... for one protocol; returns the number of bad runs. */
static int sweep(const proto_t *p)
{
    unsigned long n;
    unsigned absorbed = 0, nomem = 0, other = 0, unrecovered = 0;
    int bad = 0;
    char why[256];
    outcome_t o;

    for (n = only_n != 0 ? only_n : 1; n <= MAX_RUNS; n++) {
        uv_loop_t loop;
        outcome_t warm;
        const char *where;
        int err;

        watch_name = p->name;
        watch_n = n;
        alarm(WATCHDOG_S);
        assert_int_equal(uv_loop_init(&loop), 0);
        session(p, &loop, 0, &warm); /* unarmed: libuv's and glibc's one-time allocations */
        assert_true(warm.values_ok);
        assert_false(warm.guard_expired);
        session(p, &loop, n, &o);
        o.loop_close = o.loop_alive ? UV_EBUSY : uv_loop_close(&loop);
        /* only now: uv_loop_close() frees what libuv allocated for the loop */
        o.live = failalloc_live();
        o.overflowed = failalloc_overflowed();
        err = first_error(&o, &where);
        if (o.fired) {
            if (err == PL_ENOMEM)
                nomem++;
            else if (err == 0)
                absorbed++;
            else
                other++;
        }
        if (!judge(&o, why, sizeof(why))) {
            bad++;
            print_message("%s: N=%lu: %s\n", p->name, n, why);
            failalloc_report(STDOUT_FILENO);
        } else if (!recovered(&o)) {
            unrecovered++;
            recovery_failure(&o, why, sizeof(why));
            print_message("%s: N=%lu: KNOWN BUG (RECOVERY_REQUIRED is 0): %s\n", p->name, n, why);
            failalloc_report(STDOUT_FILENO);
        } else if (verbose && o.fired) {
            print_message("%s: N=%lu: %s %s\n", p->name, n,
                          err == 0 ? "absorbed, the session succeeded" : pl_err_name(err), where);
            failalloc_report(STDOUT_FILENO);
        }
        alarm(0);
        if (o.loop_alive)
            break; /* handles still on `loop`: it cannot be dropped safely */
        if (!o.fired || only_n != 0)
            break;
    }
    print_message("%s: %lu allocation calls per session; %lu runs each failing one of them: "
                  "%u reported PL_ENOMEM, %u another PL_E* code, %u absorbed (the session "
                  "succeeded); %d misbehaved; %u did not recover\n",
                  p->name, o.calls, n - 1, nomem, other, absorbed, bad, unrecovered);
    assert_true(n <= MAX_RUNS);
    return bad;
}

static void test_ttcp_alloc_fail(void **state)
{
    (void)state;
    if (!failalloc_available())
        PL_SKIP("malloc is not ours here (AddressSanitizer, or valgrind without "
                "--soname-synonyms=somalloc=nouserintercepts)");
    assert_int_equal(sweep(&ttcp), 0);
}

static void test_pccc_alloc_fail(void **state)
{
    (void)state;
    if (!failalloc_available())
        PL_SKIP("malloc is not ours here (AddressSanitizer, or valgrind without "
                "--soname-synonyms=somalloc=nouserintercepts)");
    assert_int_equal(sweep(&pccc), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ttcp_alloc_fail),
        cmocka_unit_test(test_pccc_alloc_fail),
    };
    const char *v = getenv("PL_ALLOC_VERBOSE");
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    verbose = v != NULL ? (int)strtol(v, NULL, 10) : 0;
    v = getenv("PL_ALLOC_N");
    only_n = v != NULL ? strtoul(v, NULL, 10) : 0;
    return pl_test_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
