/* SPDX-License-Identifier: MIT */
/*
 * Server children (see bench_child.h). Signals only the pids it forked.
 */
#include "bench_support.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLOSE_MAX_FD 65536L /* inherited descriptors closed in a child: below this */

void bench_child_report(int report, const uint16_t *ports, unsigned n)
{
    (void)!write(report, ports, n * sizeof(ports[0]));
    close(report);
}

/* In the child: closes what it inherited but `keep1`, `keep2` and stdio, so that its own
 * close never keeps one of the parent's connections open, nor the reverse. */
static void close_inherited(int keep1, int keep2)
{
    long fd, max = sysconf(_SC_OPEN_MAX);

    if (max < 0 || max > CLOSE_MAX_FD)
        max = CLOSE_MAX_FD;
    for (fd = 3; fd < max; fd++)
        if (fd != keep1 && fd != keep2)
            close((int)fd);
}

typedef struct {
    uv_poll_t poll;
    void (*stop)(void *data);
    void *data;
} ctl_watch_t;

static void on_ctl(uv_poll_t *p, int status, int events)
{
    ctl_watch_t *w = p->data;

    (void)status;
    (void)events;
    w->stop(w->data);
    uv_close((uv_handle_t *)p, NULL);
}

int bench_child_serve_loop(uv_loop_t *loop, int ctl, int report, const uint16_t *ports, unsigned n,
                           void (*stop)(void *data), void *data)
{
    ctl_watch_t w;
    uint16_t none = 0;

    w.stop = stop;
    w.data = data;
    if (uv_poll_init(loop, &w.poll, ctl) != 0) {
        bench_child_report(report, &none, 1);
        stop(data);
        uv_run(loop, UV_RUN_DEFAULT);
        (void)uv_loop_close(loop);
        return 1;
    }
    w.poll.data = &w;
    uv_poll_start(&w.poll, UV_READABLE | UV_DISCONNECT, on_ctl);
    bench_child_report(report, ports, n);
    uv_run(loop, UV_RUN_DEFAULT);
    return uv_loop_close(loop) == 0 ? 0 : 1;
}

int bench_child_start(bench_child_t *ch, const bench_child_spec_t *spec)
{
    unsigned want = spec->nports > 0 ? spec->nports : 1u, i;
    int ready_ms = spec->ready_ms > 0 ? spec->ready_ms : BENCH_READY_WAIT_MS;
    uint16_t ports[BENCH_CHILD_MAX_PORTS];
    int ctl[2], rep[2];
    struct pollfd pf;
    ssize_t got = 0;
    pid_t pid;

    memset(ch, 0, sizeof(*ch));
    ch->ctl = -1;
    if (want > BENCH_CHILD_MAX_PORTS || pipe(ctl) != 0)
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
        close_inherited(ctl[0], rep[1]);
        alarm(spec->alarm_s > 0 ? spec->alarm_s : BENCH_CHILD_ALARM_S); /* bounded */
        bench_pin_server();
        _exit(spec->serve(spec->arg, ctl[0], rep[1]));
    }
    close(ctl[0]);
    close(rep[1]);
    ch->pid = pid;
    ch->ctl = ctl[1];
    pf.fd = rep[0];
    pf.events = POLLIN;
    if (poll(&pf, 1, ready_ms) == 1)
        got = read(rep[0], ports, sizeof(ports));
    close(rep[0]);
    if (got != (ssize_t)(want * sizeof(ports[0])))
        return -1;
    for (i = 0; i < want; i++) {
        if (ports[i] == 0)
            return -1;
        ch->ports[i] = ports[i];
    }
    ch->nports = want;
    return 0;
}

int bench_reap(pid_t pid, long ms)
{
    int st = 0;
    long waited = 0;

    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (waited >= ms) {
            fprintf(stderr, "%s: child %ld did not exit, killing it\n", bench_name(), (long)pid);
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        bench_sleep_ms(5);
        waited += 5;
    }
    return st;
}

void bench_child_stop(bench_child_t *ch)
{
    if (ch->ctl >= 0)
        close(ch->ctl);
    ch->ctl = -1;
    if (ch->pid > 0) {
        int st = bench_reap(ch->pid, BENCH_STOP_WAIT_MS);
        if (st != -1 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
            fprintf(stderr, "%s: server %ld ended badly (status 0x%x)\n", bench_name(),
                    (long)ch->pid, (unsigned)st);
    }
    ch->pid = 0;
}

void bench_child_kill(bench_child_t *ch)
{
    int st;

    if (ch->ctl >= 0)
        close(ch->ctl);
    ch->ctl = -1;
    if (ch->pid > 0) {
        kill(ch->pid, SIGKILL);
        (void)waitpid(ch->pid, &st, 0);
    }
    ch->pid = 0;
}
