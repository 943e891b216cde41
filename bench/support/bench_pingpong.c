/* SPDX-License-Identifier: MIT */
/*
 * The blocking and epoll ping-pong baselines (see bench_pingpong.h). Loopback only; every
 * loop ends on a deadline, a closed peer, a receive timeout or the control pipe.
 */
#include "bench_support.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define EPOLL_BATCH   64   /* requests the epoll responder answers with one send, at most */
#define EPOLL_EVENTS  128  /* events per epoll_wait in the responder */
#define CLIENT_EVENTS 64   /* events per epoll_wait in the epoll client */
#define QUIET_MS      1000 /* nothing for this long: the peer is gone (or told to stop) */

static int frames_ok(const bench_frames_t *f)
{
    return f->req_len > 0 && f->req_len <= BENCH_FRAME_MAX && f->resp_len > 0 &&
           f->resp_len <= BENCH_FRAME_MAX;
}

/* --- the measured span of a client loop ------------------------------------------------- */

typedef struct {
    double warm_end, end;
    int warm;
    uint64_t mark; /* answers before the span */
    bench_meter_t *m;
} span_t;

static void span_init(span_t *s, double warmup, double seconds, bench_meter_t *m)
{
    s->warm_end = bench_now_s() + warmup;
    s->end = s->warm_end + seconds;
    s->warm = 1;
    s->mark = 0;
    s->m = m;
}

/* After answers came in (`count` so far): starts the meter at the end of the warm-up;
 * returns 1 when the span is over (the meter stopped). */
static int span_tick(span_t *s, uint64_t count)
{
    double t = bench_now_s();

    if (s->warm && t >= s->warm_end) {
        s->warm = 0;
        bench_meter_start(s->m);
        s->mark = count;
    } else if (!s->warm && t >= s->end) {
        bench_meter_stop(s->m);
        return 1;
    }
    return 0;
}

/* --- responders --------------------------------------------------------------------------- */

int bench_serve_blocking(void *arg, int ctl, int report)
{
    const bench_frames_t *f = arg;
    uint8_t req[BENCH_FRAME_MAX];
    struct pollfd pf[2];
    uint16_t port = 0;
    int lfd = frames_ok(f) ? bench_listen_loopback(&port) : -1;
    int fd;

    bench_child_report(report, &port, 1); /* 0 when it could not listen */
    if (lfd < 0)
        return 1;
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
    if (fd < 0 || bench_set_nodelay(fd) != 0) {
        if (fd >= 0)
            close(fd);
        return 1;
    }
    /* Ends when the client closes the connection (or alarm() fires). */
    while (bench_read_all(fd, req, f->req_len) == 0 &&
           bench_write_all(fd, f->resp, f->resp_len) == 0)
        ;
    close(fd);
    return 0;
}

typedef struct {
    int fd;
    size_t have; /* bytes of a partial request */
} econn_t;

static void econn_drop(int ep, econn_t *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
}

int bench_serve_epoll(void *arg, int ctl, int report)
{
    static uint8_t out[EPOLL_BATCH * BENCH_FRAME_MAX], in[EPOLL_BATCH * BENCH_FRAME_MAX];
    const uint64_t id_listener = UINT64_MAX, id_ctl = UINT64_MAX - 1;
    const bench_frames_t *f = arg;
    struct epoll_event ev, evs[EPOLL_EVENTS];
    econn_t *conns = NULL;
    size_t nconns = 0, cap = 0, in_len;
    uint16_t port = 0;
    int lfd = frames_ok(f) ? bench_listen_loopback(&port) : -1;
    int ep = epoll_create1(0);
    int running = 1, i, n;

    if (lfd < 0 || ep < 0 || bench_set_nonblock(lfd) != 0) {
        port = 0;
        bench_child_report(report, &port, 1);
        if (lfd >= 0)
            close(lfd);
        if (ep >= 0)
            close(ep);
        return 1;
    }
    /* complete requests in one read: one answer each, one send (have < req_len, so at most
     * EPOLL_BATCH of them) */
    in_len = EPOLL_BATCH * f->req_len;
    for (i = 0; i < EPOLL_BATCH; i++)
        memcpy(out + (size_t)i * f->resp_len, f->resp, f->resp_len);
    ev.events = EPOLLIN;
    ev.data.u64 = id_listener;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    ev.data.u64 = id_ctl;
    epoll_ctl(ep, EPOLL_CTL_ADD, ctl, &ev);
    bench_child_report(report, &port, 1);
    while (running) {
        /* no timeout, like the plcline simulator: a loop with nothing timed sleeps without
         * one (the kernel arms no timer); the control pipe, or alarm(), ends it */
        n = epoll_wait(ep, evs, EPOLL_EVENTS, -1);
        for (i = 0; i < n; i++) {
            uint64_t id = evs[i].data.u64;
            if (id == id_ctl) {
                running = 0;
            } else if (id == id_listener) {
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
                    bench_set_nonblock(fd);
                    bench_set_nodelay(fd);
                    conns[nconns].fd = fd;
                    conns[nconns].have = 0;
                    ev.events = EPOLLIN;
                    ev.data.u64 = nconns++;
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                }
            } else {
                econn_t *c = &conns[id];
                ssize_t r = recv(c->fd, in, in_len, 0);
                size_t total, k;
                if (r <= 0) {
                    if (r < 0 && errno == EAGAIN)
                        continue;
                    econn_drop(ep, c);
                    continue;
                }
                total = c->have + (size_t)r;
                k = total / f->req_len;
                c->have = total % f->req_len;
                if (k > 0 && bench_write_all(c->fd, out, k * f->resp_len) != 0)
                    econn_drop(ep, c);
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

/* --- clients ------------------------------------------------------------------------------ */

double bench_run_blocking(const bench_frames_t *f, uint16_t port, double warmup, double seconds,
                          bench_meter_t *m)
{
    uint8_t resp[BENCH_FRAME_MAX];
    uint64_t count = 0;
    span_t s;
    int fd = frames_ok(f) ? bench_connect_loopback(port) : -1;

    if (fd < 0)
        return -1.0;
    span_init(&s, warmup, seconds, m);
    for (;;) {
        if (bench_write_all(fd, f->req, f->req_len) != 0 ||
            bench_read_all(fd, resp, f->resp_len) != 0) {
            close(fd);
            return -1.0;
        }
        count++;
        if (span_tick(&s, count))
            break;
    }
    close(fd);
    return bench_meter_rate(m, count - s.mark);
}

double bench_run_epoll(const bench_frames_t *f, uint16_t port, unsigned nconns, double warmup,
                       double seconds, bench_meter_t *m)
{
    struct epoll_event ev, evs[CLIENT_EVENTS];
    uint8_t buf[4 * BENCH_FRAME_MAX];
    size_t *have = calloc(nconns, sizeof(*have));
    int *fds = calloc(nconns, sizeof(*fds));
    int ep = epoll_create1(0);
    uint64_t count = 0;
    unsigned i, n = nconns;
    int ok = frames_ok(f), done = 0;
    span_t s;

    if (have == NULL || fds == NULL || ep < 0) {
        ok = 0;
        n = 0;
    }
    for (i = 0; i < n; i++)
        fds[i] = -1;
    for (i = 0; ok && i < n; i++) {
        fds[i] = bench_connect_loopback(port);
        if (fds[i] < 0 || bench_set_nonblock(fds[i]) != 0) {
            ok = 0;
            break;
        }
        ev.events = EPOLLIN;
        ev.data.u32 = i;
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    for (i = 0; ok && i < n; i++)
        ok = send(fds[i], f->req, f->req_len, MSG_NOSIGNAL) == (ssize_t)f->req_len;
    span_init(&s, warmup, seconds, m);
    while (ok && !done) {
        int k = epoll_wait(ep, evs, CLIENT_EVENTS, QUIET_MS);
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
            while (have[c] >= f->resp_len) { /* one request in flight: at most one answer */
                have[c] -= f->resp_len;
                count++;
                if (send(fds[c], f->req, f->req_len, MSG_NOSIGNAL) != (ssize_t)f->req_len)
                    ok = 0;
            }
        }
        done = span_tick(&s, count);
    }
    for (i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (ep >= 0)
        close(ep);
    free(fds);
    free(have);
    return ok ? bench_meter_rate(m, count - s.mark) : -1.0;
}
