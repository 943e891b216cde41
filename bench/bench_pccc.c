/* SPDX-License-Identifier: MIT */
/*
 * bench_pccc: the PCCC over EtherNet/IP client (pl_pccc_client_*) against the plcline PLC
 * simulator (pl_pccc_server_*, plc=slc500), each figure beside a baseline measured in the
 * same run, so the ratio says what plcline costs rather than how fast this machine is today.
 *
 *   1. one session, synchronous N7:0 reads (service 0x4B in SendRRData, inflight=1, the next
 *      read issued from the completion callback), against a blocking send/recv ping-pong of
 *      the same frame sizes: the client sends the exact bytes of one SendRRData request for
 *      N7:0 and reads the reply's byte count (TCP_NODELAY) from a blocking responder.
 *      Measured with the client and the simulator on two CPUs, as a driver and a PLC are
 *      (the target row; many short rounds, because the cross-CPU wake-up latency of a shared
 *      virtual machine drifts), and on one CPU, where 1 / rate is the CPU time of an
 *      exchange (information); the one-CPU runs are also set beside a minimal epoll client
 *      and responder (what an event loop costs by itself, apart from plcline's own work);
 *   2. the same client with inflight=4 (four reads outstanding, each re-issued from its
 *      callback) against the synchronous client, measured on one CPU (client and simulator
 *      pinned together) and on two CPUs (pinned apart): on one CPU pipelining can only save
 *      system calls and context switches; on two it also lets the client and the simulator
 *      work at the same time, which is what keeping requests outstanding is for.
 *
 * Arranged as bench_ttcp (docs/bench.md): every server runs in a forked child that reports
 * its kernel-picked port through a pipe, stops when the parent closes a control pipe and
 * ends by itself (alarm) after a minute; rounds alternate figure and baseline(s) in a
 * rotated order; on one CPU a round whose processes got less than 90 % of it is run again;
 * medians are reported. Output: one markdown row per figure on stdout ("| benchmark |
 * figure | baseline | ratio | target | met |"), or JSON with --json; per-round numbers on
 * stderr. It measures and reports, and never fails because a target is missed. Every loop
 * is bounded; only 127.0.0.1 and kernel-picked ports are used; only the children this
 * program forked are signalled, by pid.
 */
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET */

#include "codec/cip.h"
#include "codec/enip.h"
#include "codec/pccc.h"
#include "plcline/error.h"
#include "plcline/hostlist.h"
#include "plcline/line.h"
#include "plcline/pccc.h"

#include <errno.h>
#include <fcntl.h>
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
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define FRAME_CAP      256u        /* one request or reply frame of this bench, with room */
#define BENCH_VENDOR   0x1337u     /* the client's default requestor vendor (docs/pccc.md) */
#define BENCH_SERIAL   0x4C434C50u /* requestor serial set in the client and the frames */
#define BENCH_TNS      1u          /* TNS of the baseline frames (any value: same size) */
#define READ_ADDR      "N7:0"      /* one integer: 2 data bytes */
#define READ_BYTES     2u
#define PIPE_DEPTH     4u /* figure 2: reads outstanding */
#define MAX_ROUNDS     15
#define REQ_TIMEOUT_MS 2000u /* plcline request timeout during the runs */
#define CHILD_ALARM_S  60u   /* a child ends by itself after this, whatever happens */
#define READY_WAIT_MS  5000  /* for a child to report its port */
#define STOP_WAIT_MS   5000  /* for a child to exit after being told to */
#define SHARE_MIN      0.90  /* one CPU: a run that got less of it is disturbed */
#define MAX_RETRIES    2     /* times a disturbed round is run again */

/* --- CPU placement ---------------------------------------------------------------------- */

/* PIN_SAME: client and servers on one CPU (a ping-pong is then pure CPU work and repeats
 * within a few percent); PIN_SPLIT: client on the first allowed CPU, servers on the last;
 * PIN_NONE: the scheduler's choice. The allowed set is read once at start, before any
 * pinning narrows it. */
enum { PIN_NONE = 0, PIN_SAME, PIN_SPLIT };
static cpu_set_t g_allowed;
static int g_allowed_ok;
static int g_pin = PIN_NONE;
static int g_cpu_client = -1, g_cpu_server = -1;

static int allowed_cpus(int *first, int *last)
{
    int cpu, n = 0;

    *first = *last = -1;
    for (cpu = 0; g_allowed_ok && cpu < CPU_SETSIZE; cpu++) {
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
        fprintf(stderr, "bench_pccc: sched_setaffinity(%d) failed\n", cpu);
}

/* Chooses the placement and moves this (client) process there; children forked afterwards
 * move themselves to g_cpu_server. */
static void pin_apply(int mode)
{
    int first, last;

    g_pin = mode;
    g_cpu_client = g_cpu_server = -1;
    if (mode == PIN_NONE || allowed_cpus(&first, &last) == 0) {
        g_pin = PIN_NONE;
        if (g_allowed_ok && sched_setaffinity(0, sizeof(g_allowed), &g_allowed) != 0)
            fprintf(stderr, "bench_pccc: could not restore the CPU set\n");
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

/* --- options and results ---------------------------------------------------------------- */

typedef struct {
    double seconds;  /* measured time per run */
    double warmup;   /* time before the measurement starts, same connection */
    unsigned rounds; /* figure/baseline rounds; the median is reported */
    int json;
    int pin;              /* PIN_* of --profile (the figures are measured in both placements) */
    double split_seconds; /* two-CPU rows: many short rounds */
    unsigned split_rounds;
    const char *profile; /* NULL, or one side to run alone */
} opts_t;

typedef struct {
    const char *name;   /* benchmark column */
    double figure;      /* median of the plcline runs */
    double baseline;    /* median of the baseline runs */
    double ratio;       /* median of per-round figure/baseline */
    const char *target; /* as printed: ">= 0.85"; "-" for none */
    double min_ratio;   /* 0 for none */
    int met;
    const char *cpus;           /* placement, for --json */
    double seconds;             /* measured time per run */
    unsigned n;                 /* rounds in runs[] */
    double runs[2][MAX_ROUNDS]; /* each round: [0] plcline, [1] baseline */
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

/* --- the frames of the baselines ---------------------------------------------------------- */

/* One SendRRData request for N7:0 as the client builds it (send_chunk in pccc_client.c:
 * SLC protected typed logical read 0x0F/0xA2 of 2 bytes, 0x4B requestor ID, CIP request to
 * the PCCC object, unconnected CPF, SendRRData with timeout 0) and the simulator's reply. The
 * session handle is the simulator's first; its value does not change the size. The plcline
 * runs check their byte counts against these lengths (frames_check). */
static uint8_t g_req[FRAME_CAP], g_resp[FRAME_CAP];
static size_t g_req_len, g_resp_len;

static int wrap_cip_rr(uint8_t *out, size_t cap, const uint8_t *pccc, size_t pccc_len, int reply)
{
    pl_pccc_wrap_t w;
    pl_cip_req_t q;
    pl_enip_msg_t m;
    uint8_t wrap[FRAME_CAP], cip[FRAME_CAP], cpf[FRAME_CAP], rr[FRAME_CAP], path[8];
    int n, plen;

    memset(&w, 0, sizeof(w));
    w.service = PL_PCCC_SVC_EXECUTE;
    w.length = PL_PCCC_REQUESTOR_LEN;
    w.vendor = BENCH_VENDOR;
    w.serial = BENCH_SERIAL;
    w.pccc = pccc;
    w.pccc_len = pccc_len;
    n = pl_pccc_wrap_encode(wrap, sizeof(wrap), &w);
    if (n < 0)
        return n;
    if (reply) {
        n = pl_cip_rsp_encode(cip, sizeof(cip), PL_PCCC_SVC_EXECUTE, 0, NULL, 0, wrap, (size_t)n);
    } else {
        plen = pl_cip_path_encode(path, sizeof(path), PL_PCCC_CLASS, PL_PCCC_INSTANCE);
        if (plen < 0)
            return plen;
        memset(&q, 0, sizeof(q));
        q.service = PL_PCCC_SVC_EXECUTE;
        q.path = path;
        q.path_len = (size_t)plen;
        q.data = wrap;
        q.data_len = (size_t)n;
        n = pl_cip_req_encode(cip, sizeof(cip), &q);
    }
    if (n < 0)
        return n;
    n = pl_cpf_encode_unconnected(cpf, sizeof(cpf), cip, (size_t)n);
    if (n < 0)
        return n;
    n = pl_enip_rr_encode(rr, sizeof(rr), 0, cpf, (size_t)n);
    if (n < 0)
        return n;
    memset(&m, 0, sizeof(m));
    m.command = PL_ENIP_CMD_SEND_RR_DATA;
    m.session = 0x0C0A0001u;
    m.context[0] = (uint8_t)BENCH_TNS;
    m.data = rr;
    m.data_len = (size_t)n;
    return pl_enip_encode(out, cap, &m);
}

static int frames_init(void)
{
    static const uint8_t word[READ_BYTES] = {0, 0};
    pl_pccc_request_t q;
    uint8_t pccc[FRAME_CAP];
    int n;

    pl_pccc_request_init(&q, PL_PCCC_OP_SLC_READ, BENCH_TNS);
    q.slc.size = READ_BYTES;
    q.slc.file = 7;
    q.slc.type = PL_PCCC_FT_INTEGER;
    n = pl_pccc_request_encode(pccc, sizeof(pccc), &q);
    if (n < 0 || (n = wrap_cip_rr(g_req, sizeof(g_req), pccc, (size_t)n, 0)) < 0)
        return -1;
    g_req_len = (size_t)n;
    n = pl_pccc_reply_encode(pccc, sizeof(pccc), q.cmd, BENCH_TNS, 0, 0, word, sizeof(word));
    if (n < 0 || (n = wrap_cip_rr(g_resp, sizeof(g_resp), pccc, (size_t)n, 1)) < 0)
        return -1;
    g_resp_len = (size_t)n;
    return 0;
}

/* --- plain socket helpers ------------------------------------------------------------------ */

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
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0 ||
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

/* --- child processes: the servers ------------------------------------------------------------ */

typedef enum {
    SRV_PLCLINE,  /* the plcline PLC simulator, plc=slc500, default data table */
    SRV_BLOCKING, /* one connection, blocking recv of a request / send of a reply */
    SRV_EPOLL,    /* one epoll loop, non-blocking, a reply per whole request */
} srv_kind_t;

typedef struct {
    pid_t pid;
    int ctl;       /* write end; closing it tells the child to finish */
    uint16_t port; /* where the child listens */
} child_t;

static void child_report(int fd, uint16_t port)
{
    int v = port;

    (void)!write(fd, &v, sizeof(v));
    close(fd);
}

static void on_ctl_readable(uv_poll_t *p, int status, int events)
{
    pl_pccc_server_t **srv = p->data;

    (void)status;
    (void)events;
    if (*srv != NULL) {
        pl_pccc_server_free(*srv);
        *srv = NULL;
    }
    uv_close((uv_handle_t *)p, NULL);
}

static int serve_plcline(int ctl, int report)
{
    pl_pccc_server_config_t cfg;
    pl_pccc_server_t *srv = NULL;
    pl_status_t err;
    uv_loop_t loop;
    uv_poll_t poll_ctl;

    if (uv_loop_init(&loop) != 0) {
        child_report(report, 0);
        return 1;
    }
    pl_pccc_server_config_init(&cfg);
    cfg.listen.addr = "127.0.0.1";
    cfg.listen.port = 0;
    cfg.plc = PL_PCCC_PLC_SLC500;
    if (pl_pccc_server_new(&loop, &cfg, &srv, &err) != 0) {
        fprintf(stderr, "bench_pccc: simulator: %s %s\n", pl_strerror(err.code), err.detail);
        child_report(report, 0);
        (void)uv_loop_close(&loop);
        return 1;
    }
    uv_poll_init(&loop, &poll_ctl, ctl);
    poll_ctl.data = &srv;
    uv_poll_start(&poll_ctl, UV_READABLE | UV_DISCONNECT, on_ctl_readable);
    child_report(report, pl_pccc_server_port(srv));
    uv_run(&loop, UV_RUN_DEFAULT);
    return uv_loop_close(&loop) == 0 ? 0 : 1;
}

static int serve_blocking(int ctl, int report)
{
    struct pollfd pf[2];
    uint8_t req[FRAME_CAP];
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
    if (fd < 0 || set_nodelay(fd) != 0) {
        if (fd >= 0)
            close(fd);
        return 1;
    }
    /* Ends when the client closes the connection (or alarm() fires). */
    while (read_all(fd, req, g_req_len) == 0 && write_all(fd, g_resp, g_resp_len) == 0)
        ;
    close(fd);
    return 0;
}

static int serve_epoll(int ctl, int report)
{
    enum { MAX_EV = 8, MAX_BATCH = 16 };
    struct epoll_event ev, evs[MAX_EV];
    static uint8_t out[MAX_BATCH * FRAME_CAP], in[MAX_BATCH * FRAME_CAP];
    size_t have = 0;
    uint16_t port;
    int lfd = listen_loopback(&port);
    int ep = epoll_create1(0);
    int fd = -1, running = 1, i, n;

    if (lfd < 0 || ep < 0 || set_nonblock(lfd) != 0) {
        child_report(report, 0);
        if (lfd >= 0)
            close(lfd);
        if (ep >= 0)
            close(ep);
        return 1;
    }
    for (i = 0; i < MAX_BATCH; i++)
        memcpy(out + (size_t)i * g_resp_len, g_resp, g_resp_len);
    ev.events = EPOLLIN;
    ev.data.u64 = 0; /* the listener */
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    ev.data.u64 = 1; /* the control pipe */
    epoll_ctl(ep, EPOLL_CTL_ADD, ctl, &ev);
    child_report(report, port);
    while (running) {
        n = epoll_wait(ep, evs, MAX_EV, 1000);
        for (i = 0; i < n; i++) {
            if (evs[i].data.u64 == 1) {
                running = 0;
            } else if (evs[i].data.u64 == 0) {
                int c = accept(lfd, NULL, NULL);
                if (c < 0)
                    continue;
                if (fd >= 0) { /* one connection at a time is all this bench needs */
                    close(c);
                    continue;
                }
                fd = c;
                set_nonblock(fd);
                set_nodelay(fd);
                ev.events = EPOLLIN;
                ev.data.u64 = 2;
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
            } else if (fd >= 0) {
                ssize_t r = recv(fd, in, sizeof(in), 0);
                size_t total, k;
                if (r < 0 && errno == EAGAIN)
                    continue;
                if (r <= 0) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                    close(fd);
                    fd = -1;
                    have = 0;
                    continue;
                }
                total = have + (size_t)r;
                k = total / g_req_len; /* complete requests: one reply each, one send */
                have = total % g_req_len;
                if (k > MAX_BATCH)
                    k = MAX_BATCH;
                if (k > 0 && write_all(fd, out, k * g_resp_len) != 0) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                    close(fd);
                    fd = -1;
                }
            }
        }
    }
    if (fd >= 0)
        close(fd);
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

    ch->pid = 0;
    ch->ctl = -1;
    ch->port = 0;
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
        if (g_pin != PIN_NONE)
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
            fprintf(stderr, "bench_pccc: child %ld did not exit, killing it\n", (long)pid);
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
            fprintf(stderr, "bench_pccc: server %ld ended badly (status 0x%x)\n", (long)ch->pid,
                    (unsigned)st);
    }
    ch->pid = 0;
}

/* --- the measured window ------------------------------------------------------------------ */

/* Wall time and CPU time (client process plus server process) over the measured part of a
 * run. On one CPU, CPU / wall is the share of that CPU the run got. */
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

/* --- plcline: one client, `depth` reads outstanding, each re-issued from its callback --- */

typedef struct run_s run_t;

typedef struct {
    pl_pccc_req_t req;
    uint8_t buf[READ_BYTES];
    run_t *run;
} pread_t;

struct run_s {
    pl_pccc_client_t *c;
    pread_t reads[PIPE_DEPTH];
    unsigned depth;
    int stop;
    uint64_t done, errors, mark;
    meter_t *m;
    uv_timer_t warm, end;
    double seconds;
    pl_status_t first_error;
    pl_line_stats_t line; /* at the end, before the client is freed */
    uint64_t requests;    /* submitted, at the end */
};

static void on_read_done(pl_pccc_req_t *req)
{
    pread_t *pr = req->data;
    run_t *r = pr->run;

    if (r->stop)
        return; /* PL_ECANCELED from pl_pccc_client_free at the end */
    if (req->status.code != 0) {
        if (r->errors++ == 0)
            r->first_error = req->status;
    } else {
        r->done++;
    }
    if (pl_pccc_read(r->c, &pr->req, READ_ADDR, pr->buf, sizeof(pr->buf), on_read_done) != 0)
        r->errors++;
}

static void on_end(uv_timer_t *t)
{
    run_t *r = t->data;

    meter_stop(r->m);
    r->mark = r->done - r->mark;
    r->stop = 1;
    r->line = *pl_line_stats(pl_pccc_client_line(r->c));
    r->requests = pl_pccc_client_stats(r->c)->requests;
    pl_pccc_client_free(r->c);
    r->c = NULL;
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

/* The line's byte counts must be whole frames of the baseline's sizes: RegisterSession
 * (24 + 4 bytes each way) plus one request per submitted read and one reply per answer. */
static void frames_check(const run_t *r)
{
    const uint64_t reg = PL_ENIP_HEADER_LEN + PL_ENIP_REGISTER_DATA_LEN;
    uint64_t out = r->line.bytes_out, in = r->line.bytes_in;

    if (out < reg || in < reg || (out - reg) % g_req_len != 0 || (in - reg) % g_resp_len != 0)
        fprintf(stderr,
                "bench_pccc: frame sizes differ from the baseline's (%zu/%zu): %llu bytes out, "
                "%llu in\n",
                g_req_len, g_resp_len, (unsigned long long)out, (unsigned long long)in);
}

/* Reads per second of one plcline client keeping `depth` reads outstanding. */
static double run_plcline(uint16_t port, unsigned depth, const opts_t *o, meter_t *m)
{
    pl_pccc_client_config_t cfg;
    uv_loop_t loop;
    run_t r;
    unsigned i;
    double rate = -1.0;

    memset(&r, 0, sizeof(r));
    if (uv_loop_init(&loop) != 0)
        return -1.0;
    r.depth = depth;
    r.m = m;
    r.seconds = o->seconds;
    pl_pccc_client_config_init(&cfg);
    (void)pl_hostlist_parse(&cfg.line.hosts, "127.0.0.1", 9, NULL);
    cfg.line.port = port;
    cfg.plc = PL_PCCC_PLC_SLC500;
    cfg.service = PL_PCCC_SVC_EXECUTE;
    cfg.vendor = BENCH_VENDOR;
    cfg.serial = BENCH_SERIAL;
    cfg.inflight = depth;
    cfg.timeout_ms = REQ_TIMEOUT_MS;
    if (pl_pccc_client_new(&loop, &cfg, &r.c) != 0) {
        fprintf(stderr, "bench_pccc: pl_pccc_client_new failed\n");
        (void)uv_loop_close(&loop);
        return -1.0;
    }
    for (i = 0; i < depth; i++) {
        pread_t *pr = &r.reads[i];
        pr->run = &r;
        pr->req.data = pr;
        if (pl_pccc_read(r.c, &pr->req, READ_ADDR, pr->buf, sizeof(pr->buf), on_read_done) != 0)
            r.errors++;
    }
    uv_timer_init(&loop, &r.warm);
    uv_timer_init(&loop, &r.end);
    r.warm.data = &r;
    r.end.data = &r;
    uv_timer_start(&r.warm, on_warm, (uint64_t)(o->warmup * 1000.0), 0);
    uv_run(&loop, UV_RUN_DEFAULT); /* ends once on_end has freed the client */
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, "bench_pccc: plcline run: loop not empty at the end\n");
    if (r.errors > 0)
        fprintf(stderr, "bench_pccc: plcline run: %llu errors, first: %s %s\n",
                (unsigned long long)r.errors, pl_strerror(r.first_error.code),
                r.first_error.detail);
    frames_check(&r);
    if (m->t1 > m->t0 && r.errors == 0)
        rate = (double)r.mark / (m->t1 - m->t0);
    return rate;
}

/* --- baseline: blocking ping-pong ------------------------------------------------------------ */

static double run_blocking(uint16_t port, const opts_t *o, meter_t *m)
{
    uint8_t resp[FRAME_CAP];
    double t1, warm_end, end;
    uint64_t count = 0, mark = 0;
    int fd = connect_loopback(port);
    int warm = 1;

    if (fd < 0)
        return -1.0;
    warm_end = now_s() + o->warmup;
    end = warm_end + o->seconds;
    for (;;) {
        if (write_all(fd, g_req, g_req_len) != 0 || read_all(fd, resp, g_resp_len) != 0) {
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

/* --- baseline: minimal epoll client, one connection, one request outstanding ------------- */

static double run_epoll(uint16_t port, const opts_t *o, meter_t *m)
{
    struct epoll_event ev, evs[4];
    uint8_t buf[4 * FRAME_CAP];
    size_t have = 0;
    int fd = connect_loopback(port);
    int ep = epoll_create1(0);
    double t1, warm_end, end;
    uint64_t count = 0, mark = 0;
    int warm = 1, ok = fd >= 0 && ep >= 0;

    if (ok && set_nonblock(fd) != 0)
        ok = 0;
    if (ok) {
        ev.events = EPOLLIN;
        ev.data.u32 = 0;
        ok = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0 &&
             send(fd, g_req, g_req_len, MSG_NOSIGNAL) == (ssize_t)g_req_len;
    }
    warm_end = now_s() + o->warmup;
    end = warm_end + o->seconds;
    while (ok) {
        int k = epoll_wait(ep, evs, 4, 1000);
        if (k <= 0) {
            ok = 0; /* nothing for a second: the responder is gone */
            break;
        }
        ssize_t r = recv(fd, buf, sizeof(buf), 0);
        if (r < 0 && errno == EAGAIN)
            continue;
        if (r <= 0) {
            ok = 0;
            break;
        }
        have += (size_t)r;
        while (have >= g_resp_len) { /* one request outstanding: at most one reply */
            have -= g_resp_len;
            count++;
            if (send(fd, g_req, g_req_len, MSG_NOSIGNAL) != (ssize_t)g_req_len)
                ok = 0;
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
    if (fd >= 0)
        close(fd);
    if (ep >= 0)
        close(ep);
    return ok && m->t1 > m->t0 ? (double)(count - mark) / (m->t1 - m->t0) : -1.0;
}

/* --- the figures ------------------------------------------------------------------------ */

typedef enum {
    SIDE_SYNC,     /* plcline, inflight=1 */
    SIDE_PIPE,     /* plcline, inflight=4 */
    SIDE_BLOCKING, /* blocking ping-pong */
    SIDE_EPOLL,    /* minimal epoll pair */
} side_t;

static const char *side_name(side_t s)
{
    switch (s) {
    case SIDE_SYNC:
        return "plcline inflight=1";
    case SIDE_PIPE:
        return "plcline inflight=4";
    case SIDE_BLOCKING:
        return "blocking pair";
    case SIDE_EPOLL:
        return "epoll pair";
    }
    return "?";
}

/* Starts the side's server in a child, runs its client once, stops the server. */
static double run_once(side_t side, const opts_t *o, double *share)
{
    meter_t m;
    child_t ch;
    double v = -1.0;
    srv_kind_t kind = side == SIDE_BLOCKING ? SRV_BLOCKING
                      : side == SIDE_EPOLL  ? SRV_EPOLL
                                            : SRV_PLCLINE;

    memset(&m, 0, sizeof(m));
    *share = 0.0;
    if (child_start(&ch, kind) != 0) {
        fprintf(stderr, "bench_pccc: could not start a server\n");
        child_stop(&ch);
        return -1.0;
    }
    m.server = ch.pid;
    switch (side) {
    case SIDE_SYNC:
        v = run_plcline(ch.port, 1, o, &m);
        break;
    case SIDE_PIPE:
        v = run_plcline(ch.port, PIPE_DEPTH, o, &m);
        break;
    case SIDE_BLOCKING:
        v = run_blocking(ch.port, o, &m);
        break;
    case SIDE_EPOLL:
        v = run_epoll(ch.port, o, &m);
        break;
    }
    *share = meter_share(&m); /* read before the server is reaped */
    child_stop(&ch);
    return v;
}

/* One throughput figure: each round runs `fig` and every base[k] once, in an order rotated
 * from round to round; res[k] gets fig against base[k]. On one CPU, a round in which some
 * run got less than SHARE_MIN of it is run again, at most MAX_RETRIES times. */
static int throughput(result_t *res, side_t fig_side, const side_t *base, size_t nbase,
                      const opts_t *o)
{
    double fig[MAX_ROUNDS], val[3][MAX_ROUNDS], share[3], ratio[2][MAX_ROUNDS];
    int clean[MAX_ROUNDS];
    unsigned round, attempt, nclean = 0;
    size_t k, nsides = nbase + 1;

    if (nbase < 1 || nbase > 2)
        return -1;
    for (round = 0; round < o->rounds; round++) {
        for (attempt = 0;; attempt++) {
            double low = 1e9;

            for (k = 0; k < nsides; k++) {
                size_t i = (k + round) % nsides; /* 0: the figure, 1..: base[i - 1] */
                side_t s = i == 0 ? fig_side : base[i - 1];
                double v = run_once(s, o, &share[i]);

                if (v <= 0) {
                    fprintf(stderr, "bench_pccc: %s run failed\n", side_name(s));
                    return -1;
                }
                val[i][round] = v;
                if (share[i] < low)
                    low = share[i];
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
                    "# %s round %u: %s %.0f req/s, %s %.0f req/s, ratio %.3f (CPU share %.2f, "
                    "%.2f; %s)\n",
                    res[k].name, round + 1, side_name(fig_side), fig[round], side_name(base[k]),
                    val[k + 1][round], ratio[k][round], share[0], share[k + 1], pin_text());
        }
    }
    for (round = 0; round < o->rounds; round++)
        nclean += clean[round] ? 1u : 0u;
    if (nclean == 0)
        fprintf(stderr, "# %s: no undisturbed round: medians over all %u\n", res[0].name,
                o->rounds);
    else if (nclean < o->rounds)
        fprintf(stderr, "# %s: medians over %u undisturbed round(s) of %u\n", res[0].name, nclean,
                o->rounds);
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
        res[k].n = o->rounds;
        res[k].seconds = o->seconds;
        res[k].met = res[k].min_ratio <= 0 || res[k].ratio >= res[k].min_ratio;
        res[k].cpus = g_pin == PIN_SAME ? "same" : g_pin == PIN_SPLIT ? "split" : "none";
    }
    return 0;
}

/* --profile: one side once, no table row; for perf and strace. */
static int profile(const opts_t *o)
{
    static const struct {
        const char *name;
        side_t side;
    } what[] = {
        {"sync-plcline", SIDE_SYNC},
        {"sync-baseline", SIDE_BLOCKING},
        {"sync-epoll", SIDE_EPOLL},
        {"pipe-plcline", SIDE_PIPE},
    };
    size_t i;
    double v, share;

    for (i = 0; i < sizeof(what) / sizeof(what[0]); i++)
        if (strcmp(o->profile, what[i].name) == 0)
            break;
    if (i == sizeof(what) / sizeof(what[0])) {
        fprintf(stderr, "bench_pccc: --profile: sync-plcline, sync-baseline, sync-epoll or "
                        "pipe-plcline\n");
        return 2;
    }
    pin_apply(o->pin);
    fprintf(stderr, "# %s: client pid %ld (the server is its child), CPUs: %s\n", what[i].name,
            (long)getpid(), pin_text());
    v = run_once(what[i].side, o, &share);
    fprintf(stderr, "# %s: %.0f req/s, CPU share %.2f\n", what[i].name, v, share);
    return v > 0 ? 0 : 1;
}

/* --- output ------------------------------------------------------------------------------- */

static void print_row(const result_t *r)
{
    printf("| %s | %.0f req/s | %.0f req/s | %.3f | %s | %s |\n", r->name, r->figure, r->baseline,
           r->ratio, r->target,
           strcmp(r->target, "-") == 0 ? "-"
           : r->met                    ? "yes"
                                       : "no");
}

static void print_rounds(const char *key, const double *v, unsigned n)
{
    unsigned i;

    printf(", \"%s\": [", key);
    for (i = 0; i < n; i++)
        printf("%s%.1f", i > 0 ? ", " : "", v[i]);
    printf("]");
}

static void print_json(const result_t *rs, size_t n)
{
    size_t i;

    printf("[\n");
    for (i = 0; i < n; i++) {
        const result_t *r = &rs[i];
        printf("  {\"benchmark\": \"%s\", \"unit\": \"req/s\", \"figure\": %.1f, "
               "\"baseline\": %.1f, \"ratio\": %.4f, \"target\": \"%s\", \"met\": %s, "
               "\"seconds\": %.2f, \"cpus\": \"%s\"",
               r->name, r->figure, r->baseline, r->ratio, r->target,
               strcmp(r->target, "-") == 0 ? "null"
               : r->met                    ? "true"
                                           : "false",
               r->seconds, r->cpus);
        print_rounds("figure_rounds", r->runs[0], r->n);
        print_rounds("baseline_rounds", r->runs[1], r->n);
        printf("}%s\n", i + 1 < n ? "," : "");
    }
    printf("]\n");
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_pccc [--quick] [--json] [--seconds S] [--rounds N]\n"
            "                  [--split-seconds S] [--split-rounds N]\n"
            "                  [--pin same|split|none] [--profile WHAT]\n"
            "  --quick      shorter runs: 0.5 s (default 3 s), two-CPU rows 5 x 0.2 s\n"
            "  --json       a JSON array on stdout instead of markdown table rows\n"
            "  --seconds S  measured time per run (one-CPU rows)\n"
            "  --rounds N   rounds per figure, median reported (1..%d, default 3)\n"
            "  --split-seconds S, --split-rounds N\n"
            "               the same for the two-CPU rows (default 0.5 s, %d rounds)\n"
            "  --pin MODE   CPU placement of --profile: same (default, client and server\n"
            "               on one CPU), split (on two), none; every figure is measured\n"
            "               both on one CPU and on two\n"
            "  --profile WHAT  run one side once, print its rate, no table row:\n"
            "               sync-plcline, sync-baseline, sync-epoll, pipe-plcline\n",
            MAX_ROUNDS, MAX_ROUNDS);
}

static int parse_opts(int argc, char **argv, opts_t *o)
{
    int i;

    o->seconds = 3.0;
    o->warmup = 0.5;
    o->rounds = 3;
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
            if (*end != '\0' || o->seconds < 0.05 || o->seconds > 30)
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
            if (*end != '\0' || o->split_seconds < 0.05 || o->split_seconds > 30)
                return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const side_t sync_base[] = {SIDE_BLOCKING, SIDE_EPOLL};
    static const side_t pipe_base[] = {SIDE_SYNC};
    result_t rs[5];
    opts_t o, split;
    size_t nres = 0, i;
    int first, last, two, failed = 0;

    if (parse_opts(argc, argv, &o) != 0) {
        usage();
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    g_allowed_ok = sched_getaffinity(0, sizeof(g_allowed), &g_allowed) == 0;
    if (frames_init() != 0) {
        fprintf(stderr, "bench_pccc: could not encode the baseline frames\n");
        return 1;
    }
    if (o.profile != NULL)
        return profile(&o);
    memset(rs, 0, sizeof(rs));
    split = o;
    split.seconds = o.split_seconds;
    split.rounds = o.split_rounds;
    two = allowed_cpus(&first, &last) >= 2;
    fprintf(stderr,
            "# %.1f s per run after %.1f s warm-up, %u rounds, median; two-CPU rows: %u rounds "
            "of %.1f s; frames: request %zu bytes, reply %zu bytes\n",
            o.seconds, o.warmup, o.rounds, o.split_rounds, o.split_seconds, g_req_len, g_resp_len);
    if (!two)
        fprintf(stderr, "bench_pccc: one CPU only: no two-CPU rows\n");

    /* Figure 1 on two CPUs, as a driver and a PLC are: the target row. The round trip then
     * includes a cross-CPU wake-up whose latency drifts, so many short rounds, plcline and
     * the blocking pair back to back. */
    if (two) {
        pin_apply(PIN_SPLIT);
        rs[nres].name = "pccc sync read N7:0, 1 session, 2 CPUs";
        rs[nres].target = ">= 0.85";
        rs[nres].min_ratio = 0.85;
        if (throughput(&rs[nres], SIDE_SYNC, sync_base, 1, &split) == 0)
            nres++;
        else
            failed = 1;
    }

    /* Figure 1 on one CPU: 1 / rate is the CPU time of an exchange, both sides together
     * (information; docs/bench.md says why no event loop reaches 0.85 of a blocking pair
     * here), and against the epoll pair: what an event loop costs by itself. */
    pin_apply(PIN_SAME);
    rs[nres].name = "pccc sync read N7:0, 1 session, 1 CPU";
    rs[nres].target = "-";
    rs[nres + 1].name = "pccc sync read N7:0, 1 session, 1 CPU, vs epoll pair";
    rs[nres + 1].target = "-";
    if (throughput(&rs[nres], SIDE_SYNC, sync_base, 2, &o) == 0)
        nres += 2;
    else
        failed = 1;

    /* Figure 2 on one CPU: pipelining can only save system calls and context switches
     * here (information). */
    rs[nres].name = "pccc inflight=4 vs sync, 1 CPU";
    rs[nres].target = "-";
    if (throughput(&rs[nres], SIDE_PIPE, pipe_base, 1, &o) == 0)
        nres++;
    else
        failed = 1;

    /* Figure 2 on two CPUs: the client and the simulator can work at once, as a driver and
     * a PLC do; the target row (docs/bench.md, "PCCC benchmarks", says why). */
    if (two) {
        pin_apply(PIN_SPLIT);
        rs[nres].name = "pccc inflight=4 vs sync, 2 CPUs";
        rs[nres].target = ">= 2.5";
        rs[nres].min_ratio = 2.5;
        if (throughput(&rs[nres], SIDE_PIPE, pipe_base, 1, &split) == 0)
            nres++;
        else
            failed = 1;
    }
    pin_apply(o.pin);

    if (o.json)
        print_json(rs, nres);
    else
        for (i = 0; i < nres; i++)
            print_row(&rs[i]);
    fflush(stdout);
    return failed || nres == 0 ? 1 : 0;
}
