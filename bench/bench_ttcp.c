/* SPDX-License-Identifier: MIT */
/*
 * bench_ttcp: 7TTCP client and node simulator throughput and memory, each figure beside a
 * plain-socket baseline measured in the same run, so the ratio says what plcline costs
 * rather than how fast this machine happens to be today.
 *
 *   1. one connection, synchronous 1-word reads (next request from the callback), against
 *      a blocking send/recv ping-pong of the same frame sizes (28-byte request, 30-byte
 *      answer, TCP_NODELAY), measured twice: with the client and the simulator on two CPUs,
 *      as a driver and its device are in a plant (the target row; many short rounds, since
 *      the cross-CPU wake-up latency of a shared virtual machine drifts), and with both on
 *      one CPU, where 1 / rate is the CPU time of an exchange (information); the one-CPU
 *      runs are also set beside a minimal epoll client and responder (what an event loop
 *      costs by itself);
 *   2. 64 connections (nodes 0..63) driven from one client loop, against a 64-connection
 *      epoll ping-pong client and an epoll responder (--pin, default one CPU);
 *   3. heap (mallinfo2) and RSS (/proc/self/statm) growth per idle connected client (1000
 *      by default), against bare uv_tcp_t connections measured the same way.
 *
 * Every server (the plcline simulator and the plain responders) runs in a forked child
 * process, never in a thread of the client: its CPU time, its allocator and its memory are
 * then its own (figure 3 must not count the simulator's heap; a thread would share the
 * client's malloc arenas and RSS), `perf stat -p` can look at either side alone, and it is
 * how a driver and a PLC sit in a real plant. Every memory measurement also runs in a
 * fresh forked child, so rounds do not inherit each other's freed-but-cached heap.
 *
 * Output: one markdown table row per figure on stdout ("| benchmark | figure | baseline |
 * ratio | target | met |", the contract of scripts/bench.sh and docs/bench.md), or a JSON
 * array with --json; progress and per-round numbers go to stderr. This program measures
 * and reports; it never fails because a target is missed (exit 1 only when a measurement
 * could not be made at all). Every loop is bounded by a deadline and every child by
 * alarm(); only 127.0.0.1 and ports picked by the kernel are used; only the children this
 * program forked are signalled, by pid.
 */
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET */

#include "codec/ttcp.h"
#include "plcline/error.h"
#include "plcline/hostlist.h"
#include "plcline/ttcp.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define REQ_LEN  PL_TTCP_FRAME_LEN(0) /* read request for 1 word: header only, 28 bytes */
#define RESP_LEN PL_TTCP_FRAME_LEN(1) /* its answer: header + 1 word, 30 bytes */

#define POLL_CONNS      64    /* figure 2: one connection per node 0..63 */
#define IDLE_CONNS      1000u /* figure 3 default */
#define FD_SLACK        64u   /* descriptors besides the connections (stdio, pipes, epoll) */
#define MAX_ROUNDS      15
#define REQ_TIMEOUT_MS  2000u  /* plcline request timeout during the runs */
#define CHILD_ALARM_S   60u    /* a child ends by itself after this, whatever happens */
#define READY_WAIT_MS   5000   /* for a child to report its port */
#define STOP_WAIT_MS    5000   /* for a child to exit after being told to */
#define CONNECT_WAIT_MS 20000u /* figure 3: for every idle connection to come up */
#define SETTLE_MS       200u   /* figure 3: idle time before the memory is read */
#define KIB             1024.0
#define SHARE_MIN       0.90 /* --pin same: a run that got less of its CPU is disturbed */
#define MAX_RETRIES     2    /* times a disturbed round is run again */

/* CPU placement of the client and of the server processes. With both on one CPU a
 * ping-pong is pure CPU work (two context switches per exchange) and the runs repeat within
 * a few percent: 1 / rate is the CPU time of one exchange, both sides together. With the
 * client on one CPU and the servers on another, as a driver and its device are in a plant,
 * every exchange also waits for a cross-CPU wake-up, whose latency on a shared virtual
 * machine drifts by a factor of three over minutes: those figures take many short rounds,
 * each pairing plcline with its baseline back to back. */
enum { PIN_NONE = 0, PIN_SAME, PIN_SPLIT };
static int g_pin = PIN_NONE;
static int g_cpu_client = -1, g_cpu_server = -1;
static cpu_set_t g_allowed; /* the CPUs this process may use, read before any pinning */
static int g_allowed_ok;

/* The first and last allowed CPU; returns how many are allowed (0 when unknown). */
static int allowed_cpus(int *first, int *last)
{
    int cpu, n = 0;

    *first = *last = -1;
    if (!g_allowed_ok)
        return 0;
    for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET((size_t)cpu, &g_allowed)) {
            if (*first < 0)
                *first = cpu;
            *last = cpu;
            n++;
        }
    }
    return n;
}

static void pin_to(int cpu)
{
    cpu_set_t set;

    if (cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET((size_t)cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0)
        fprintf(stderr, "bench_ttcp: sched_setaffinity(%d) failed\n", cpu);
}

/* Places this process (the client) and the servers forked from now on: everything on the
 * last allowed CPU (same), the client on the first and the servers on the last (split), or
 * wherever the scheduler likes (none). */
static void pin_apply(int mode)
{
    int first, last;

    g_pin = mode;
    g_cpu_client = g_cpu_server = -1;
    if (mode == PIN_NONE || allowed_cpus(&first, &last) == 0) {
        g_pin = PIN_NONE;
        if (g_allowed_ok)
            (void)sched_setaffinity(0, sizeof(g_allowed), &g_allowed);
        return;
    }
    g_cpu_server = last;
    g_cpu_client = mode == PIN_SPLIT ? first : last;
    pin_to(g_cpu_client);
}

static const char *pin_text(void)
{
    static char text[64];

    if (g_pin == PIN_NONE)
        return "unpinned";
    snprintf(text, sizeof(text), "client %d, servers %d", g_cpu_client, g_cpu_server);
    return text;
}

/* --- options and results ------------------------------------------------------------ */

typedef struct {
    double seconds;  /* measured time per run */
    double warmup;   /* time before the measurement starts, same connection(s) */
    unsigned rounds; /* measure/baseline pairs; the median is reported */
    unsigned idle_n; /* figure 3 connections */
    int json;
    int pin;              /* PIN_* of the 64-connection figure and of --profile */
    double split_seconds; /* two-CPU sync figure: many short rounds (see pin_apply) */
    unsigned split_rounds;
    const char *profile; /* NULL, or one side of one figure to run alone */
} opts_t;

typedef struct {
    const char *name;   /* benchmark column */
    const char *unit;   /* "req/s", "KiB/conn" */
    double figure;      /* median of the plcline runs */
    double baseline;    /* median of the baseline runs */
    double ratio;       /* median of per-round figure/baseline */
    const char *target; /* as printed: ">= 0.85", "< 8 KiB/conn"; "-" for none */
    double min_ratio;   /* throughput target; 0 for none */
    int met;
    unsigned n;                 /* connections used */
    double runs[2][MAX_ROUNDS]; /* each round: [0] plcline, [1] baseline (for --json) */
    unsigned rounds;            /* rounds measured */
    double seconds;             /* measured time per run */
    char cpus[64];              /* placement, as pin_text() said */
} result_t;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y ? 1 : 0;
}

static double median(const double *v, unsigned n)
{
    double tmp[MAX_ROUNDS];
    unsigned i;

    if (n == 0)
        return 0.0;
    for (i = 0; i < n; i++)
        tmp[i] = v[i];
    qsort(tmp, n, sizeof(tmp[0]), cmp_double);
    return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2.0;
}

/* The request and answer frames the plain baselines exchange (valid 7TTCP frames, so the
 * byte counts are exactly those of the plcline runs). */
static uint8_t g_req[REQ_LEN];
static uint8_t g_resp[RESP_LEN];

static void frames_init(void)
{
    const uint16_t word = 0;

    (void)pl_ttcp_encode(g_req, sizeof(g_req), PL_TTCP_OP_DATA, 0, 0, PL_TTCP_TYPE_READ, 1, NULL);
    (void)pl_ttcp_encode(g_resp, sizeof(g_resp), PL_TTCP_OP_DATA, 0, 0, PL_TTCP_TYPE_READ, 1,
                         &word);
}

/* --- plain socket helpers ----------------------------------------------------------- */

static int set_nodelay(int fd)
{
    int one = 1;

    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void loopback(struct sockaddr_in *sa, uint16_t port)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

/* Listens on 127.0.0.1 with a kernel-picked port; returns the fd and the port. */
static int listen_loopback(uint16_t *port)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    loopback(&sa, 0);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 1024) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

/* A blocking connection to 127.0.0.1:port with TCP_NODELAY and a receive timeout, so a
 * dead peer can never hold a loop. */
static int connect_loopback(uint16_t port)
{
    struct sockaddr_in sa;
    struct timeval tv = {1, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    loopback(&sa, port);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || set_nodelay(fd) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* --- child processes ---------------------------------------------------------------- */

typedef enum {
    SRV_PLCLINE,  /* the plcline node simulator, nodes 0..63, on its own uv loop */
    SRV_BLOCKING, /* one connection, blocking recv 28 / send 30 */
    SRV_EPOLL,    /* any number of connections, one epoll loop, 28 in / 30 out */
} srv_kind_t;

typedef struct {
    pid_t pid;
    int ctl;       /* write end; closing it tells the child to finish */
    uint16_t port; /* where the child listens */
} child_t;

/* Child side: report the port (or 0 on failure) to the parent. */
static void child_report(int fd, uint16_t port)
{
    int v = port;

    (void)!write(fd, &v, sizeof(v));
    close(fd);
}

static void on_ctl_readable(uv_poll_t *p, int status, int events)
{
    pl_ttcp_server_t **srv = p->data;

    (void)status;
    (void)events;
    if (*srv != NULL) {
        (void)pl_ttcp_server_free(*srv);
        *srv = NULL;
    }
    uv_close((uv_handle_t *)p, NULL);
}

static int serve_plcline(int ctl, int report)
{
    pl_ttcp_server_config_t cfg;
    pl_ttcp_server_t *srv = NULL;
    pl_status_t err;
    uv_loop_t loop;
    uv_poll_t poll_ctl;
    uint32_t node;

    if (uv_loop_init(&loop) != 0)
        return 1;
    pl_ttcp_server_config_init(&cfg);
    cfg.listen.addr = "127.0.0.1";
    cfg.listen.port = 0;
    cfg.node_first = 0;
    cfg.node_last = POLL_CONNS - 1;
    if (pl_ttcp_server_new(&loop, &cfg, &srv, &err) != 0) {
        fprintf(stderr, "bench_ttcp: simulator: %s %s\n", pl_strerror(err.code), err.detail);
        child_report(report, 0);
        return 1;
    }
    for (node = 0; node < POLL_CONNS; node++) /* node memory exists before the first run */
        (void)pl_ttcp_server_words(srv, node);
    uv_poll_init(&loop, &poll_ctl, ctl);
    poll_ctl.data = &srv;
    uv_poll_start(&poll_ctl, UV_READABLE | UV_DISCONNECT, on_ctl_readable);
    child_report(report, pl_ttcp_server_port(srv));
    uv_run(&loop, UV_RUN_DEFAULT);
    return uv_loop_close(&loop) == 0 ? 0 : 1;
}

static int serve_blocking(int ctl, int report)
{
    struct pollfd pf[2];
    uint8_t req[REQ_LEN];
    uint16_t port;
    int lfd = listen_loopback(&port);
    int fd;

    if (lfd < 0) {
        child_report(report, 0);
        return 1;
    }
    child_report(report, port);
    pf[0].fd = lfd;
    pf[0].events = POLLIN;
    pf[1].fd = ctl;
    pf[1].events = POLLIN;
    if (poll(pf, 2, -1) <= 0 || !(pf[0].revents & POLLIN)) {
        close(lfd);
        return 0; /* told to stop before anybody connected */
    }
    fd = accept(lfd, NULL, NULL);
    close(lfd);
    if (fd < 0 || set_nodelay(fd) != 0)
        return 1;
    /* Ends when the client closes the connection (or alarm() fires). */
    while (read_all(fd, req, sizeof(req)) == 0 && write_all(fd, g_resp, sizeof(g_resp)) == 0)
        ;
    close(fd);
    return 0;
}

typedef struct {
    int fd;
    size_t have; /* bytes of a partial request */
} econn_t;

static int serve_epoll(int ctl, int report)
{
    enum { MAX_EV = 128, MAX_BATCH = 64 };
    struct epoll_event ev, evs[MAX_EV];
    static uint8_t out[MAX_BATCH * RESP_LEN];
    uint8_t in[MAX_BATCH * REQ_LEN];
    econn_t *conns = NULL;
    size_t nconns = 0, cap = 0;
    uint16_t port;
    int lfd = listen_loopback(&port);
    int ep = epoll_create1(0);
    int running = 1, i, n;

    if (lfd < 0 || ep < 0 || set_nonblock(lfd) != 0) {
        child_report(report, 0);
        return 1;
    }
    for (i = 0; i < MAX_BATCH; i++)
        memcpy(out + (size_t)i * RESP_LEN, g_resp, RESP_LEN);
    ev.events = EPOLLIN;
    ev.data.u64 = UINT64_MAX; /* the listener */
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    ev.data.u64 = UINT64_MAX - 1; /* the control pipe */
    epoll_ctl(ep, EPOLL_CTL_ADD, ctl, &ev);
    child_report(report, port);
    while (running) {
        n = epoll_wait(ep, evs, MAX_EV, 1000);
        for (i = 0; i < n; i++) {
            uint64_t id = evs[i].data.u64;
            if (id == UINT64_MAX - 1) {
                running = 0;
            } else if (id == UINT64_MAX) {
                int fd;
                while ((fd = accept(lfd, NULL, NULL)) >= 0) {
                    if (nconns == cap) {
                        size_t ncap = cap ? cap * 2 : 64;
                        econn_t *nc = realloc(conns, ncap * sizeof(*nc));
                        if (nc == NULL) {
                            close(fd);
                            break;
                        }
                        conns = nc;
                        cap = ncap;
                    }
                    set_nonblock(fd);
                    set_nodelay(fd);
                    conns[nconns].fd = fd;
                    conns[nconns].have = 0;
                    ev.events = EPOLLIN;
                    ev.data.u64 = nconns++;
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                }
            } else {
                econn_t *c = &conns[id];
                ssize_t r = recv(c->fd, in, sizeof(in), 0);
                size_t total, k;
                if (r <= 0) {
                    if (r < 0 && errno == EAGAIN)
                        continue;
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    close(c->fd);
                    c->fd = -1;
                    continue;
                }
                total = c->have + (size_t)r;
                k = total / REQ_LEN; /* complete requests: one answer each, one send */
                c->have = total % REQ_LEN;
                if (k > 0 && write_all(c->fd, out, k * RESP_LEN) != 0) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    close(c->fd);
                    c->fd = -1;
                }
            }
        }
    }
    for (size_t j = 0; j < nconns; j++)
        if (conns[j].fd >= 0)
            close(conns[j].fd);
    free(conns);
    close(lfd);
    close(ep);
    return 0;
}

/* Forks a server of `kind`; returns 0 with ch filled (port read back), or -1. */
static int child_start(child_t *ch, srv_kind_t kind)
{
    int ctl[2], rep[2], v = 0;
    struct pollfd pf;
    pid_t pid;

    if (pipe(ctl) != 0)
        return -1;
    if (pipe(rep) != 0) {
        close(ctl[0]);
        close(ctl[1]);
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        close(ctl[0]);
        close(ctl[1]);
        close(rep[0]);
        close(rep[1]);
        return -1;
    }
    if (pid == 0) {
        int rc = 1;
        close(ctl[1]);
        close(rep[0]);
        alarm(CHILD_ALARM_S); /* bounded, whatever the parent does */
        pin_to(g_cpu_server);
        switch (kind) {
        case SRV_PLCLINE:
            rc = serve_plcline(ctl[0], rep[1]);
            break;
        case SRV_BLOCKING:
            rc = serve_blocking(ctl[0], rep[1]);
            break;
        case SRV_EPOLL:
            rc = serve_epoll(ctl[0], rep[1]);
            break;
        }
        _exit(rc);
    }
    close(ctl[0]);
    close(rep[1]);
    ch->pid = pid;
    ch->ctl = ctl[1];
    ch->port = 0;
    pf.fd = rep[0];
    pf.events = POLLIN;
    if (poll(&pf, 1, READY_WAIT_MS) == 1 && read(rep[0], &v, sizeof(v)) == (ssize_t)sizeof(v))
        ch->port = (uint16_t)v;
    close(rep[0]);
    return ch->port != 0 ? 0 : -1;
}

/* Waits for `pid` (one of ours) up to `ms`; SIGKILLs it after that. Returns its status. */
static int reap(pid_t pid, long ms)
{
    int st = 0;
    long waited = 0;

    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (waited >= ms) {
            fprintf(stderr, "bench_ttcp: child %ld did not exit, killing it\n", (long)pid);
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        sleep_ms(5);
        waited += 5;
    }
    return st;
}

static void child_stop(child_t *ch)
{
    if (ch->ctl >= 0)
        close(ch->ctl);
    ch->ctl = -1;
    if (ch->pid > 0) {
        int st = reap(ch->pid, STOP_WAIT_MS);
        if (st != -1 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
            fprintf(stderr, "bench_ttcp: server %ld ended badly (status 0x%x)\n", (long)ch->pid,
                    (unsigned)st);
    }
    ch->pid = 0;
}

/* --- the measured window ------------------------------------------------------------ */

/* Wall time and CPU time (client process plus server process) over the measured part of a
 * run. With both pinned to one CPU, CPU / wall is the share of that CPU the run got: below
 * 1 something else was running there, and the run counts as disturbed. */
typedef struct {
    pid_t server;
    double t0, t1, cpu0, cpu1;
} meter_t;

static double cpu_seconds(pid_t server)
{
    struct timespec ts;
    clockid_t id;
    double s = 0.0;

    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0)
        s += (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    if (server > 0 && clock_getcpuclockid(server, &id) == 0 && clock_gettime(id, &ts) == 0)
        s += (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    return s;
}

static void meter_start(meter_t *m)
{
    m->t0 = now_s();
    m->cpu0 = cpu_seconds(m->server);
}

static void meter_stop(meter_t *m)
{
    m->t1 = now_s();
    m->cpu1 = cpu_seconds(m->server);
}

static double meter_share(const meter_t *m)
{
    return m->t1 > m->t0 ? (m->cpu1 - m->cpu0) / (m->t1 - m->t0) : 0.0;
}

/* --- figure 1 and 2, plcline: N clients on one loop, each re-reading from its callback --- */

typedef struct run_s run_t;

typedef struct {
    pl_ttcp_client_t *c;
    pl_ttcp_req_t req;
    uint16_t word;
    uint32_t node;
    run_t *run;
} pconn_t;

struct run_s {
    pconn_t *conns;
    unsigned n;
    int stop;
    uint64_t done, errors, mark;
    meter_t *m;
    uv_timer_t warm, end;
    double seconds;
    pl_status_t first_error;
};

static void on_read_done(pl_ttcp_req_t *req)
{
    pconn_t *pc = req->data;
    run_t *r = pc->run;

    if (r->stop)
        return; /* ECANCELED from pl_ttcp_client_free at the end */
    if (req->status.code != 0) {
        if (r->errors++ == 0)
            r->first_error = req->status;
    } else {
        r->done++;
    }
    if (pl_ttcp_read(pc->c, &pc->req, pc->node, 0, &pc->word, 1, on_read_done) != 0)
        r->errors++;
}

static void on_end(uv_timer_t *t)
{
    run_t *r = t->data;
    unsigned i;

    meter_stop(r->m);
    r->mark = r->done - r->mark;
    r->stop = 1;
    for (i = 0; i < r->n; i++)
        pl_ttcp_client_free(r->conns[i].c);
    uv_close((uv_handle_t *)&r->warm, NULL);
    uv_close((uv_handle_t *)&r->end, NULL);
}

static void on_warm(uv_timer_t *t)
{
    run_t *r = t->data;

    meter_start(r->m);
    r->mark = r->done;
    uv_timer_start(&r->end, on_end, (uint64_t)(r->seconds * 1000.0), 0);
}

/* Requests per second of `n` plcline clients against the simulator at `port`. */
static double run_plcline(uint16_t port, unsigned n, const opts_t *o, meter_t *m)
{
    pl_ttcp_client_config_t cfg;
    uv_loop_t loop;
    run_t r;
    unsigned i;
    double rate = -1.0;

    memset(&r, 0, sizeof(r));
    r.conns = calloc(n, sizeof(*r.conns));
    if (r.conns == NULL || uv_loop_init(&loop) != 0) {
        free(r.conns);
        return -1.0;
    }
    r.n = n;
    r.m = m;
    r.seconds = o->seconds;
    pl_ttcp_client_config_init(&cfg);
    (void)pl_hostlist_parse(&cfg.line.hosts, "127.0.0.1", 9, NULL);
    cfg.line.port = port;
    cfg.timeout_ms = REQ_TIMEOUT_MS;
    for (i = 0; i < n; i++) {
        pconn_t *pc = &r.conns[i];
        pc->run = &r;
        pc->node = i % POLL_CONNS;
        pc->req.data = pc;
        if (pl_ttcp_client_new(&loop, &cfg, &pc->c) != 0) {
            fprintf(stderr, "bench_ttcp: pl_ttcp_client_new failed\n");
            while (i-- > 0)
                pl_ttcp_client_free(r.conns[i].c);
            uv_run(&loop, UV_RUN_DEFAULT);
            (void)uv_loop_close(&loop);
            free(r.conns);
            return -1.0;
        }
    }
    for (i = 0; i < n; i++) {
        pconn_t *pc = &r.conns[i];
        if (pl_ttcp_read(pc->c, &pc->req, pc->node, 0, &pc->word, 1, on_read_done) != 0)
            r.errors++;
    }
    uv_timer_init(&loop, &r.warm);
    uv_timer_init(&loop, &r.end);
    r.warm.data = &r;
    r.end.data = &r;
    uv_timer_start(&r.warm, on_warm, (uint64_t)(o->warmup * 1000.0), 0);
    uv_run(&loop, UV_RUN_DEFAULT); /* ends once on_end has freed every client */
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, "bench_ttcp: plcline run: loop not empty at the end\n");
    if (r.errors > 0)
        fprintf(stderr, "bench_ttcp: plcline run: %llu errors, first: %s %s\n",
                (unsigned long long)r.errors, pl_strerror(r.first_error.code),
                r.first_error.detail);
    if (m->t1 > m->t0)
        rate = (double)r.mark / (m->t1 - m->t0);
    free(r.conns);
    return rate;
}

/* --- figure 1 baseline: blocking ping-pong ------------------------------------------ */

static double run_blocking(uint16_t port, const opts_t *o, meter_t *m)
{
    uint8_t resp[RESP_LEN];
    double start, t1, warm_end, end;
    uint64_t count = 0, mark = 0;
    int fd = connect_loopback(port);
    int warm = 1;

    if (fd < 0)
        return -1.0;
    start = now_s();
    warm_end = start + o->warmup;
    end = warm_end + o->seconds;
    for (;;) {
        if (write_all(fd, g_req, sizeof(g_req)) != 0 || read_all(fd, resp, sizeof(resp)) != 0) {
            close(fd);
            return -1.0;
        }
        count++;
        t1 = now_s();
        if (warm && t1 >= warm_end) {
            warm = 0;
            meter_start(m);
            mark = count;
        } else if (!warm && t1 >= end) {
            meter_stop(m);
            break;
        }
    }
    close(fd);
    return (double)(count - mark) / (m->t1 - m->t0);
}

/* --- figure 2 baseline: epoll ping-pong over N connections, one thread --------------- */

static double run_epoll(uint16_t port, unsigned n, const opts_t *o, meter_t *m)
{
    struct epoll_event ev, evs[POLL_CONNS];
    uint8_t buf[4 * RESP_LEN];
    size_t *have = calloc(n, sizeof(*have));
    int *fds = calloc(n, sizeof(*fds));
    int ep = epoll_create1(0);
    double t1 = 0, warm_end, end;
    uint64_t count = 0, mark = 0;
    int warm = 1, ok = 1;
    unsigned i;

    if (have == NULL || fds == NULL || ep < 0) {
        ok = 0;
        n = 0;
    }
    for (i = 0; i < n; i++)
        fds[i] = -1;
    for (i = 0; ok && i < n; i++) {
        fds[i] = connect_loopback(port);
        if (fds[i] < 0 || set_nonblock(fds[i]) != 0) {
            ok = 0;
            break;
        }
        ev.events = EPOLLIN;
        ev.data.u32 = i;
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    for (i = 0; ok && i < n; i++)
        ok = send(fds[i], g_req, sizeof(g_req), MSG_NOSIGNAL) == (ssize_t)sizeof(g_req);
    warm_end = now_s() + o->warmup;
    end = warm_end + o->seconds;
    while (ok) {
        int k = epoll_wait(ep, evs, POLL_CONNS, 1000);
        if (k <= 0) {
            ok = 0; /* nothing for a second: the responder is gone */
            break;
        }
        for (int e = 0; e < k && ok; e++) {
            unsigned c = evs[e].data.u32;
            ssize_t r = recv(fds[c], buf, sizeof(buf), 0);
            if (r < 0 && errno == EAGAIN)
                continue;
            if (r <= 0) {
                ok = 0;
                break;
            }
            have[c] += (size_t)r;
            while (have[c] >= RESP_LEN) { /* one request in flight: at most one answer */
                have[c] -= RESP_LEN;
                count++;
                if (send(fds[c], g_req, sizeof(g_req), MSG_NOSIGNAL) != (ssize_t)sizeof(g_req))
                    ok = 0;
            }
        }
        t1 = now_s();
        if (warm && t1 >= warm_end) {
            warm = 0;
            meter_start(m);
            mark = count;
        } else if (!warm && t1 >= end) {
            meter_stop(m);
            break;
        }
    }
    for (i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (ep >= 0)
        close(ep);
    free(fds);
    free(have);
    return ok && m->t1 > m->t0 ? (double)(count - mark) / (m->t1 - m->t0) : -1.0;
}

/* --- figure 3: memory of idle connections, measured in a fresh child process ----------- */

typedef struct {
    unsigned up;      /* connections that came up */
    double heap, rss; /* bytes grown */
} mem_t;

typedef struct {
    uv_loop_t *loop;
    unsigned want, up;
    uv_timer_t timer;
    int settling, expired;
} idle_t;

static void on_idle_timer(uv_timer_t *t)
{
    idle_t *id = t->data;

    if (!id->settling)
        id->expired = 1;
    uv_stop(id->loop);
}

static void idle_one_up(idle_t *id)
{
    if (++id->up == id->want && !id->settling) {
        id->settling = 1; /* everyone is up: stay idle a moment, then measure */
        uv_timer_start(&id->timer, on_idle_timer, SETTLE_MS, 0);
    }
}

static void on_idle_link(pl_ttcp_client_t *c, const pl_status_t *st, void *ud)
{
    (void)c;
    if (st == NULL)
        idle_one_up(ud);
}

static double rss_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *fp = fopen("/proc/self/statm", "r");

    if (fp == NULL)
        return 0.0;
    if (fscanf(fp, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(fp);
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

typedef struct {
    uv_tcp_t tcp; /* the bare baseline: a handle and nothing else */
} bare_t;

static uint8_t bare_rbuf[64]; /* one buffer for every bare connection */

static void bare_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init((char *)bare_rbuf, sizeof(bare_rbuf));
}

static void bare_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    if (nread < 0)
        uv_read_stop(s);
}

static void bare_connected(uv_connect_t *req, int status)
{
    idle_t *id = req->data;
    uv_stream_t *s = req->handle;

    free(req);
    if (status != 0)
        return;
    (void)uv_tcp_nodelay((uv_tcp_t *)s, 1);
    (void)uv_read_start(s, bare_alloc, bare_read);
    idle_one_up(id);
}

static void free_on_close(uv_handle_t *h)
{
    free(h);
}

/* Runs in a fresh child: connects `n` idle connections (plcline clients or bare handles)
 * to `port`, measures the growth, closes everything. */
static int measure_idle(int plcline, uint16_t port, unsigned n, mem_t *m)
{
    struct mallinfo2 mi0, mi1;
    pl_ttcp_client_t **cl = NULL;
    bare_t **bare = NULL;
    struct sockaddr_in sa;
    uv_loop_t loop;
    idle_t id;
    double rss0, rss1;
    unsigned i;

    memset(&id, 0, sizeof(id));
    memset(m, 0, sizeof(*m));
    if (uv_loop_init(&loop) != 0)
        return -1;
    id.loop = &loop;
    id.want = n;
    uv_timer_init(&loop, &id.timer);
    id.timer.data = &id;
    /* The arrays of pointers are the harness's, not the connections': made before the
     * first reading. */
    cl = calloc(n, sizeof(*cl));
    bare = calloc(n, sizeof(*bare));
    if (cl == NULL || bare == NULL)
        return -1;
    loopback(&sa, port);
    malloc_trim(0);
    mi0 = mallinfo2();
    rss0 = rss_bytes();
    for (i = 0; i < n; i++) {
        if (plcline) {
            pl_ttcp_client_config_t cfg;
            pl_ttcp_client_config_init(&cfg);
            (void)pl_hostlist_parse(&cfg.line.hosts, "127.0.0.1", 9, NULL);
            cfg.line.port = port;
            cfg.line.connect_timeout_ms = CONNECT_WAIT_MS;
            cfg.on_link = on_idle_link;
            cfg.ud = &id;
            if (pl_ttcp_client_new(&loop, &cfg, &cl[i]) != 0 || pl_ttcp_client_start(cl[i]) != 0)
                break;
        } else {
            uv_connect_t *req = malloc(sizeof(*req));
            bare[i] = malloc(sizeof(*bare[i]));
            if (req == NULL || bare[i] == NULL || uv_tcp_init(&loop, &bare[i]->tcp) != 0) {
                free(req);
                free(bare[i]);
                bare[i] = NULL;
                break;
            }
            req->data = &id;
            if (uv_tcp_connect(req, &bare[i]->tcp, (const struct sockaddr *)&sa, bare_connected) !=
                0) {
                free(req);
                uv_close((uv_handle_t *)&bare[i]->tcp, free_on_close);
                bare[i] = NULL;
                break;
            }
        }
    }
    if (i < n)
        fprintf(stderr, "bench_ttcp: only %u of %u connections could be started\n", i, n);
    id.want = i;
    uv_timer_start(&id.timer, on_idle_timer, CONNECT_WAIT_MS + 2000u, 0);
    if (id.want > 0)
        uv_run(&loop, UV_RUN_DEFAULT); /* until settled after all up, or the deadline */
    mi1 = mallinfo2();
    rss1 = rss_bytes();
    m->up = id.up;
    m->heap = (double)mi1.uordblks - (double)mi0.uordblks;
    m->rss = rss1 - rss0;
    if (id.expired)
        fprintf(stderr, "bench_ttcp: only %u of %u connections came up in time\n", id.up, id.want);
    for (i = 0; i < n; i++) {
        if (cl[i] != NULL)
            pl_ttcp_client_free(cl[i]);
        if (bare[i] != NULL)
            uv_close((uv_handle_t *)&bare[i]->tcp, free_on_close);
    }
    uv_close((uv_handle_t *)&id.timer, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, "bench_ttcp: idle run: loop not empty at the end\n");
    free(cl);
    free(bare);
    return id.up > 0 ? 0 : -1;
}

/* Forks a fresh measuring child and reads its result back. */
static int idle_round(int plcline, uint16_t port, unsigned n, mem_t *m)
{
    int rep[2];
    struct pollfd pf;
    pid_t pid;
    int ok = 0;

    if (pipe(rep) != 0)
        return -1;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        close(rep[0]);
        close(rep[1]);
        return -1;
    }
    if (pid == 0) {
        mem_t r;
        close(rep[0]);
        alarm(CHILD_ALARM_S);
        if (measure_idle(plcline, port, n, &r) != 0)
            memset(&r, 0, sizeof(r));
        (void)!write(rep[1], &r, sizeof(r));
        close(rep[1]);
        _exit(0);
    }
    close(rep[1]);
    pf.fd = rep[0];
    pf.events = POLLIN;
    if (poll(&pf, 1, (CHILD_ALARM_S + 5) * 1000) == 1 &&
        read(rep[0], m, sizeof(*m)) == (ssize_t)sizeof(*m))
        ok = 1;
    close(rep[0]);
    (void)reap(pid, STOP_WAIT_MS);
    return ok && m->up > 0 ? 0 : -1;
}

/* --- the figures --------------------------------------------------------------------- */

/* Starts the server `kind` in a child, runs the matching client for one run, stops it. */
static double run_once(srv_kind_t kind, unsigned n, const opts_t *o, double *share)
{
    meter_t m;
    child_t ch;
    double v = -1.0;

    memset(&m, 0, sizeof(m));
    *share = 0.0;
    if (child_start(&ch, kind) != 0) {
        fprintf(stderr, "bench_ttcp: could not start a server\n");
        child_stop(&ch);
        return -1.0;
    }
    m.server = ch.pid;
    switch (kind) {
    case SRV_PLCLINE:
        v = run_plcline(ch.port, n, o, &m);
        break;
    case SRV_BLOCKING:
        v = run_blocking(ch.port, o, &m);
        break;
    case SRV_EPOLL:
        v = run_epoll(ch.port, n, o, &m);
        break;
    }
    *share = meter_share(&m); /* read before the server is reaped */
    child_stop(&ch);
    return v;
}

/* One throughput figure over `n` connections: each round runs plcline and every baseline
 * once, in an order rotated from round to round (so a slow spell of the machine does not
 * always hit the same side); res[k] gets plcline against base[k]. With everything on one
 * CPU, a round in which some run got less than SHARE_MIN of that CPU (another program ran
 * there) is run again, at most MAX_RETRIES times; the notes say so. */
static int throughput(result_t *res, const srv_kind_t *base, size_t nbase, unsigned n,
                      const opts_t *o)
{
    double fig[MAX_ROUNDS], val[3][MAX_ROUNDS], share[3], ratio[2][MAX_ROUNDS];
    int clean[MAX_ROUNDS];
    unsigned round, attempt, nclean = 0;
    size_t k, nsides = nbase + 1;

    if (nbase > 2)
        return -1;
    for (round = 0; round < o->rounds; round++) {
        for (attempt = 0;; attempt++) {
            double low = 1e9;

            for (k = 0; k < nsides; k++) {
                size_t side = (k + round) % nsides; /* 0: plcline, 1..: base[side - 1] */
                srv_kind_t kind = side == 0 ? SRV_PLCLINE : base[side - 1];
                double v = run_once(kind, n, o, &share[side]);

                if (v <= 0) {
                    fprintf(stderr, "bench_ttcp: %s run failed\n",
                            side == 0 ? "plcline" : "baseline");
                    return -1;
                }
                val[side][round] = v;
                if (share[side] < low)
                    low = share[side];
            }
            clean[round] = g_pin != PIN_SAME || low >= SHARE_MIN;
            if (clean[round])
                break;
            if (attempt == MAX_RETRIES) {
                fprintf(stderr, "# %s round %u: kept though disturbed (CPU share %.2f)\n",
                        res[0].name, round + 1, low);
                break;
            }
            fprintf(stderr, "# %s round %u: disturbed (CPU share %.2f < %.2f), again\n",
                    res[0].name, round + 1, low, SHARE_MIN);
        }
        fig[round] = val[0][round];
        for (k = 0; k < nbase; k++) {
            ratio[k][round] = fig[round] / val[k + 1][round];
            res[k].runs[0][round] = fig[round];
            res[k].runs[1][round] = val[k + 1][round];
            fprintf(stderr,
                    "# %s round %u: plcline %.0f req/s, baseline %.0f req/s, ratio %.3f "
                    "(CPU share %.2f, %.2f)\n",
                    res[k].name, round + 1, fig[round], val[k + 1][round], ratio[k][round],
                    share[0], share[k + 1]);
        }
    }
    /* Medians over the undisturbed rounds when there are any, else over all of them. */
    for (round = 0; round < o->rounds; round++)
        nclean += clean[round] ? 1u : 0u;
    if (nclean < o->rounds)
        fprintf(stderr, "# %s: medians over %u undisturbed round(s) of %u\n", res[0].name,
                nclean > 0 ? nclean : o->rounds, o->rounds);
    for (k = 0; k < nbase; k++) {
        double f[MAX_ROUNDS], b[MAX_ROUNDS], q[MAX_ROUNDS];
        unsigned m = 0;

        for (round = 0; round < o->rounds; round++) {
            if (nclean > 0 && !clean[round])
                continue;
            f[m] = fig[round];
            b[m] = val[k + 1][round];
            q[m] = ratio[k][round];
            m++;
        }
        res[k].figure = median(f, m);
        res[k].baseline = median(b, m);
        res[k].ratio = median(q, m);
        res[k].n = n;
        res[k].rounds = o->rounds;
        res[k].seconds = o->seconds;
        snprintf(res[k].cpus, sizeof(res[k].cpus), "%s", pin_text());
        res[k].met = res[k].min_ratio <= 0 || res[k].ratio >= res[k].min_ratio;
    }
    return 0;
}

static int idle_memory(result_t *heap, result_t *rss, unsigned n, const opts_t *o)
{
    double fh[MAX_ROUNDS], fr[MAX_ROUNDS], bh[MAX_ROUNDS], br[MAX_ROUNDS];
    double rh[MAX_ROUNDS], rr[MAX_ROUNDS];
    unsigned round, k;
    child_t ch;

    if (child_start(&ch, SRV_PLCLINE) != 0) {
        fprintf(stderr, "bench_ttcp: could not start the simulator\n");
        child_stop(&ch);
        return -1;
    }
    for (round = 0; round < o->rounds; round++) {
        for (k = 0; k < 2; k++) {
            int plc = (round + k) % 2 == 0;
            mem_t m;

            if (idle_round(plc, ch.port, n, &m) != 0 || m.up == 0) {
                fprintf(stderr, "bench_ttcp: idle round failed\n");
                child_stop(&ch);
                return -1;
            }
            if (m.up < n)
                fprintf(stderr,
                        "bench_ttcp: %u of %u connections up; per-connection figures "
                        "use %u\n",
                        m.up, n, m.up);
            if (plc) {
                fh[round] = m.heap / m.up / KIB;
                fr[round] = m.rss / m.up / KIB;
            } else {
                bh[round] = m.heap / m.up / KIB;
                br[round] = m.rss / m.up / KIB;
            }
            heap->runs[plc ? 0 : 1][round] = plc ? fh[round] : bh[round];
            rss->runs[plc ? 0 : 1][round] = plc ? fr[round] : br[round];
        }
        rh[round] = bh[round] > 0 ? fh[round] / bh[round] : 0.0;
        rr[round] = br[round] > 0 ? fr[round] / br[round] : 0.0;
        fprintf(stderr,
                "# idle round %u: plcline heap %.2f KiB/conn RSS %.2f KiB/conn; bare uv_tcp_t "
                "heap %.2f KiB/conn RSS %.2f KiB/conn\n",
                round + 1, fh[round], fr[round], bh[round], br[round]);
    }
    child_stop(&ch);
    heap->figure = median(fh, o->rounds);
    heap->baseline = median(bh, o->rounds);
    heap->ratio = median(rh, o->rounds);
    rss->figure = median(fr, o->rounds);
    rss->baseline = median(br, o->rounds);
    rss->ratio = median(rr, o->rounds);
    heap->met = heap->figure < 8.0;
    rss->met = rss->figure < 8.0;
    if (heap->baseline <= 0.0) { /* a bare uv_tcp_t allocates 248 bytes: mallinfo2 is blind */
        fprintf(stderr, "bench_ttcp: mallinfo2() saw no allocation (a sanitizer's allocator?): "
                        "the heap row has no target\n");
        heap->target = "-";
    }
    heap->n = rss->n = n;
    heap->rounds = rss->rounds = o->rounds;
    snprintf(heap->cpus, sizeof(heap->cpus), "%s", pin_text());
    snprintf(rss->cpus, sizeof(rss->cpus), "%s", pin_text());
    return 0;
}

/* --profile: one side of one throughput figure, once, no table row; for perf and strace. */
static int profile(const opts_t *o)
{
    static const struct {
        const char *name;
        srv_kind_t kind;
        unsigned n;
    } what[] = {
        {"sync-plcline", SRV_PLCLINE, 1},
        {"sync-baseline", SRV_BLOCKING, 1},
        {"sync-epoll", SRV_EPOLL, 1}, /* the event-loop shape without plcline or libuv */
        {"poll-plcline", SRV_PLCLINE, POLL_CONNS},
        {"poll-baseline", SRV_EPOLL, POLL_CONNS},
    };
    size_t i;
    double v, share;

    for (i = 0; i < sizeof(what) / sizeof(what[0]); i++)
        if (strcmp(o->profile, what[i].name) == 0)
            break;
    if (i == sizeof(what) / sizeof(what[0])) {
        fprintf(stderr, "bench_ttcp: --profile: sync-plcline, sync-baseline, sync-epoll, "
                        "poll-plcline or poll-baseline\n");
        return 2;
    }
    fprintf(stderr, "# %s: client pid %ld (the server is its child)\n", what[i].name,
            (long)getpid());
    v = run_once(what[i].kind, what[i].n, o, &share);
    fprintf(stderr, "# %s: %.0f req/s, CPU share %.2f\n", what[i].name, v, share);
    return v > 0 ? 0 : 1;
}

/* --- output -------------------------------------------------------------------------- */

static void print_row(const result_t *r)
{
    int prec = strcmp(r->unit, "req/s") == 0 ? 0 : 2;
    char fig[64], base[64];

    snprintf(fig, sizeof(fig), "%.*f %s", prec, r->figure, r->unit);
    snprintf(base, sizeof(base), "%.*f %s", prec, r->baseline, r->unit);
    printf("| %s | %s | %s | %.3f | %s | %s |\n", r->name, fig, base, r->ratio, r->target,
           strcmp(r->target, "-") == 0 ? "-"
           : r->met                    ? "yes"
                                       : "no");
}

static void print_rounds(const char *key, const double *v, unsigned n)
{
    unsigned i;

    printf(", \"%s\": [", key);
    for (i = 0; i < n; i++)
        printf("%s%.4f", i > 0 ? ", " : "", v[i]);
    printf("]");
}

static void print_json(const result_t *rs, size_t n)
{
    size_t i;

    printf("[\n");
    for (i = 0; i < n; i++) {
        const result_t *r = &rs[i];
        printf("  {\"benchmark\": \"%s\", \"unit\": \"%s\", \"figure\": %.4f, "
               "\"baseline\": %.4f, \"ratio\": %.4f, \"target\": \"%s\", \"met\": %s, "
               "\"connections\": %u, \"seconds\": %.2f, \"cpus\": \"%s\"",
               r->name, r->unit, r->figure, r->baseline, r->ratio, r->target,
               strcmp(r->target, "-") == 0 ? "null"
               : r->met                    ? "true"
                                           : "false",
               r->n, r->seconds, r->cpus);
        print_rounds("figure_rounds", r->runs[0], r->rounds);
        print_rounds("baseline_rounds", r->runs[1], r->rounds);
        printf("}%s\n", i + 1 < n ? "," : "");
    }
    printf("]\n");
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_ttcp [--quick] [--json] [--seconds S] [--rounds N] [--conns N]\n"
            "                  [--split-seconds S] [--split-rounds N]\n"
            "                  [--pin same|split|none] [--profile WHAT]\n"
            "  --quick      shorter runs: 0.5 s (default 3 s), two-CPU rows 5 x 0.2 s\n"
            "  --json       a JSON array on stdout instead of markdown table rows\n"
            "  --seconds S  measured time per run (one-CPU rows)\n"
            "  --rounds N   plcline/baseline pairs per figure, median reported (1..%d, 3)\n"
            "  --split-seconds S, --split-rounds N\n"
            "               the same for the two-CPU sync rows (default 0.5 s, %d rounds)\n"
            "  --conns N    idle connections for the memory figure (default %u)\n"
            "  --pin MODE   CPU placement of the 64-connection figure and of --profile:\n"
            "               same (default: client and servers on one CPU), split (client\n"
            "               and servers on two CPUs), none (the scheduler's); the sync\n"
            "               figure is always measured on two CPUs and on one\n"
            "  --profile WHAT  run one side once, print its rate, no table row:\n"
            "               sync-plcline, sync-baseline, sync-epoll (a minimal epoll\n"
            "               client and responder, 1 conn), poll-plcline, poll-baseline\n",
            MAX_ROUNDS, MAX_ROUNDS, IDLE_CONNS);
}

static int parse_opts(int argc, char **argv, opts_t *o)
{
    int i;

    o->seconds = 3.0;
    o->warmup = 0.5;
    o->rounds = 3;
    o->idle_n = IDLE_CONNS;
    o->json = 0;
    o->pin = PIN_SAME;
    o->profile = NULL;
    o->split_seconds = 0.5;
    o->split_rounds = MAX_ROUNDS;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        char *end = NULL;
        if (strcmp(a, "--quick") == 0) {
            o->seconds = 0.5;
            o->warmup = 0.2;
            o->split_seconds = 0.2;
            o->split_rounds = 5;
        } else if (strcmp(a, "--pin") == 0 && i + 1 < argc) {
            const char *m = argv[++i];
            if (strcmp(m, "none") == 0)
                o->pin = PIN_NONE;
            else if (strcmp(m, "same") == 0)
                o->pin = PIN_SAME;
            else if (strcmp(m, "split") == 0)
                o->pin = PIN_SPLIT;
            else
                return -1;
        } else if (strcmp(a, "--profile") == 0 && i + 1 < argc) {
            o->profile = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "--seconds") == 0 && i + 1 < argc) {
            o->seconds = strtod(argv[++i], &end);
            if (*end != '\0' || o->seconds < 0.05 || o->seconds > 60)
                return -1;
        } else if (strcmp(a, "--rounds") == 0 && i + 1 < argc) {
            unsigned long v = strtoul(argv[++i], &end, 10);
            if (*end != '\0' || v < 1 || v > MAX_ROUNDS)
                return -1;
            o->rounds = (unsigned)v;
        } else if (strcmp(a, "--split-rounds") == 0 && i + 1 < argc) {
            unsigned long v = strtoul(argv[++i], &end, 10);
            if (*end != '\0' || v < 1 || v > MAX_ROUNDS)
                return -1;
            o->split_rounds = (unsigned)v;
        } else if (strcmp(a, "--split-seconds") == 0 && i + 1 < argc) {
            o->split_seconds = strtod(argv[++i], &end);
            if (*end != '\0' || o->split_seconds < 0.05 || o->split_seconds > 60)
                return -1;
        } else if (strcmp(a, "--conns") == 0 && i + 1 < argc) {
            unsigned long v = strtoul(argv[++i], &end, 10);
            if (*end != '\0' || v < 1 || v > 100000)
                return -1;
            o->idle_n = (unsigned)v;
        } else {
            return -1;
        }
    }
    return 0;
}

/* Raises RLIMIT_NOFILE for `want` connections (client and simulator each hold one
 * descriptor per connection); returns how many connections the limit allows. */
static unsigned raise_nofile(unsigned want)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)want + FD_SLACK;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return want;
    if (rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < need) {
        unsigned n = rl.rlim_cur > FD_SLACK ? (unsigned)(rl.rlim_cur - FD_SLACK) : 1u;
        fprintf(stderr,
                "bench_ttcp: RLIMIT_NOFILE hard limit %llu is too low for %u connections; "
                "measuring %u\n",
                (unsigned long long)rl.rlim_max, want, n);
        return n;
    }
    return want;
}

int main(int argc, char **argv)
{
    static char idle_heap_name[64], idle_rss_name[64];
    static const srv_kind_t sync_base[] = {SRV_BLOCKING, SRV_EPOLL};
    static const srv_kind_t poll_base[] = {SRV_EPOLL};
    result_t rs[6];
    opts_t o, split;
    size_t nres = 0, i;
    unsigned idle_n;
    int first, last, failed = 0;

    if (parse_opts(argc, argv, &o) != 0) {
        usage();
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    g_allowed_ok = sched_getaffinity(0, sizeof(g_allowed), &g_allowed) == 0;
    frames_init();
    if (o.profile != NULL) {
        pin_apply(o.pin);
        return profile(&o);
    }
    idle_n = raise_nofile(o.idle_n);
    memset(rs, 0, sizeof(rs));
    fprintf(stderr,
            "# %.1f s per run after %.1f s warm-up, %u rounds, median; two-CPU sync rows: %u "
            "rounds of %.1f s\n",
            o.seconds, o.warmup, o.rounds, o.split_rounds, o.split_seconds);

    /* Sync read with the client and the simulator on two CPUs, as a driver and a device are:
     * the target row. The round trip then includes a cross-CPU wake-up whose latency drifts,
     * so many short rounds, each plcline and the blocking pair back to back. */
    rs[0].name = "7ttcp sync read, 1 conn, 2 CPUs";
    rs[0].unit = "req/s";
    rs[0].target = ">= 0.85";
    rs[0].min_ratio = 0.85;
    if (allowed_cpus(&first, &last) >= 2) {
        split = o;
        split.seconds = o.split_seconds;
        split.rounds = o.split_rounds;
        pin_apply(PIN_SPLIT);
        fprintf(stderr, "# sync read, 2 CPUs: %s\n", pin_text());
        if (throughput(&rs[nres], sync_base, 1, 1, &split) == 0)
            nres++;
        else
            failed = 1;
    } else {
        fprintf(stderr, "bench_ttcp: one CPU only: no two-CPU sync row\n");
    }

    /* The same on one CPU: 1 / rate is the CPU time of an exchange, both sides together
     * (information: docs/bench.md says why no event loop reaches 0.85 of a blocking pair
     * here), and against a minimal epoll pair, which separates what any event loop costs
     * from what plcline costs. */
    pin_apply(PIN_SAME);
    fprintf(stderr, "# sync read, 1 CPU: %s\n", pin_text());
    rs[nres].name = "7ttcp sync read, 1 conn, 1 CPU";
    rs[nres].unit = "req/s";
    rs[nres].target = "-";
    rs[nres + 1].name = "7ttcp sync read, 1 conn, 1 CPU, vs epoll pair";
    rs[nres + 1].unit = "req/s";
    rs[nres + 1].target = "-";
    if (throughput(&rs[nres], sync_base, 2, 1, &o) == 0)
        nres += 2;
    else
        failed = 1;

    pin_apply(o.pin);
    fprintf(stderr, "# poll and memory: %s\n", pin_text());
    rs[nres].name = "7ttcp poll, 64 conns, 1 thread";
    rs[nres].unit = "req/s";
    rs[nres].target = ">= 0.70";
    rs[nres].min_ratio = 0.70;
    if (throughput(&rs[nres], poll_base, 1, POLL_CONNS, &o) == 0)
        nres++;
    else
        failed = 1;

    snprintf(idle_heap_name, sizeof(idle_heap_name), "7ttcp idle conn heap (%u conns)", idle_n);
    snprintf(idle_rss_name, sizeof(idle_rss_name), "7ttcp idle conn RSS (%u conns)", idle_n);
    rs[nres].name = idle_heap_name;
    rs[nres].unit = "KiB/conn";
    rs[nres].target = "< 8 KiB/conn";
    rs[nres + 1].name = idle_rss_name;
    rs[nres + 1].unit = "KiB/conn";
    rs[nres + 1].target = "< 8 KiB/conn";
    if (idle_memory(&rs[nres], &rs[nres + 1], idle_n, &o) == 0)
        nres += 2;
    else
        failed = 1;

    if (o.json)
        print_json(rs, nres);
    else
        for (i = 0; i < nres; i++)
            print_row(&rs[i]);
    fflush(stdout);
    return failed ? 1 : 0;
}
