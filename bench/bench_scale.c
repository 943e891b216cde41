/* SPDX-License-Identifier: MIT */
/*
 * bench_scale: the daemon at plant size, as an integrator sizing a large plant would try
 * it: the `plcline` program itself (not the library) against node simulators that are
 * separate `plcline serve` processes, with a configuration this program generates.
 *
 *   plant   10 simulators (`plcline serve 7ttcp://127.0.0.1:0 --nodes 0-99 --animate
 *           1000`), 1 000 devices (one per node, one connection each), 300 tags per device
 *           (one every 10 words, W0..W2990), one 1 s scan class; `plcline run --json`.
 *           Figures: the daemon's CPU (% of one core over a window after start-up) and
 *           resident memory with stdout on /dev/null; start to the first good value of every
 *           tag (a second run, stdout read through a pipe, the first line of each tag
 *           counted); `plcline run --check` time and peak memory; SIGHUP with the unchanged
 *           file: CPU spent and connections made anew (socket inodes of the daemon before
 *           and after).
 *   mqtt    the same plant publishing to a local mosquitto broker this program starts.
 *   wide    10 000 devices: 10 simulators of 1 000 nodes, 10 tags per device.
 *
 * The issue gives absolute targets (at most 10 % of a core, 96 MB, 1.5 s to all values,
 * 0.5 s for --check, 2 s of CPU for a reload, no reconnect); every figure is printed beside
 * its target and, where one makes sense, beside a baseline measured in the same run: the
 * simulators' own CPU for the same requests, the broker's CPU, the peak memory and time of
 * `plcline run --check` on a one-tag file (what a minimal plcline process costs).
 *
 * Output: the six-cell markdown rows of docs/bench.md on stdout (or JSON with --json),
 * per-round numbers as "# " notes on stderr. Exit 0 when it measured, whatever the
 * targets; 1 when it could not. Every wait has a deadline and every loop a bound; only
 * 127.0.0.1 and kernel-picked ports are used (the simulators' real ports are read from
 * their "listening ADDRESS:PORT" line); only the processes this program started are
 * signalled, by pid.
 */
#define _GNU_SOURCE /* pipe2, memmem */
#include "bench_support.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SIMS   16u
#define MAX_ROUNDS 9u
#define TAG_STEP   10u /* one tag every 10 words */
#define SCAN_MS    1000u
#define ANIMATE_MS 1000u
#define INFLIGHT                                                        \
    "1" /* the inflight rows: one request at a time, as with nodes that \
             take no more (docs/7ttcp.md); the default pipelines */
#define MOSQUITTO_BIN  "/usr/sbin/mosquitto"
#define BROKER_TRIES   5     /* free port taken by someone else meanwhile: try another */
#define READY_MS       10000 /* a simulator or the broker to listen */
#define STOP_MS        10000 /* a daemon to exit after SIGTERM (it closes 10 000 lines) */
#define RELOAD_WAIT_MS 30000 /* "configuration reloaded" after SIGHUP */
#define SETTLE_MS      1500  /* after the reload: handovers, reconnects if any */
#define RX_BUF         (1u << 20)

typedef struct {
    const char *name; /* "plant", "mqtt", "wide" */
    unsigned nsims, nodes, tags;
} plant_t;

typedef struct {
    pid_t pid;
    int out; /* stdout pipe, kept open so the simulator never writes into a closed pipe */
    uint16_t port;
} sim_t;

typedef struct {
    int quick, json;
    unsigned rounds;
    double warmup_s, window_s, start_limit_s;
    double mqtt_warmup_s; /* the first values of every tag go to the broker first */
    const char *plcline;
    const char *keep; /* write the configuration here and keep it */
    const char *only; /* one variant */
    char dir[PATH_MAX];
} opts_t;

static opts_t g;

/* --- small helpers ------------------------------------------------------------------ */

static int write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    int ok;

    if (fp == NULL)
        return -1;
    ok = fputs(text, fp) >= 0;
    return fclose(fp) == 0 && ok ? 0 : -1;
}

/* CPU time of a process in seconds (all its threads: the first field of each task's
 * schedstat, in nanoseconds, finer than the 10 ms ticks of /proc/PID/stat), or -1 when it
 * is gone. */
static double proc_cpu_s(pid_t pid)
{
    char path[64], tpath[400], buf[128];
    struct dirent *de;
    double ns = 0;
    int found = 0;
    DIR *dp;

    snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
    dp = opendir(path);
    if (dp == NULL)
        return -1;
    while ((de = readdir(dp)) != NULL) {
        ssize_t n;
        int fd;

        if (de->d_name[0] == '.')
            continue;
        snprintf(tpath, sizeof(tpath), "%s/%s/schedstat", path, de->d_name);
        fd = open(tpath, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        ns += strtod(buf, NULL);
        found = 1;
    }
    closedir(dp);
    return found ? ns / 1e9 : -1;
}

/* A "Vm...:" field of /proc/PID/status in MB (10^6 bytes), or -1. */
static double proc_status_mb(pid_t pid, const char *field)
{
    char path[64], line[256];
    size_t flen = strlen(field);
    double mb = -1;
    FILE *fp;

    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    fp = fopen(path, "r");
    if (fp == NULL)
        return -1;
    while (fgets(line, sizeof(line), fp) != NULL)
        if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
            mb = strtod(line + flen + 1, NULL) * 1024.0 / 1e6;
            break;
        }
    fclose(fp);
    return mb;
}

/* The socket inodes among the descriptors of `pid`, sorted; returns how many (at most
 * cap), or -1. */
static int cmp_ul(const void *a, const void *b)
{
    unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;
    return x < y ? -1 : x > y;
}

static long proc_sockets(pid_t pid, unsigned long *ino, long cap)
{
    char path[64], fdp[400], link[128];
    struct dirent *de;
    long n = 0;
    DIR *dp;

    snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
    dp = opendir(path);
    if (dp == NULL)
        return -1;
    while ((de = readdir(dp)) != NULL && n < cap) {
        ssize_t len;

        if (de->d_name[0] == '.')
            continue;
        snprintf(fdp, sizeof(fdp), "%s/%s", path, de->d_name);
        len = readlink(fdp, link, sizeof(link) - 1);
        if (len <= 0)
            continue;
        link[len] = '\0';
        if (strncmp(link, "socket:[", 8) == 0)
            ino[n++] = strtoul(link + 8, NULL, 10);
    }
    closedir(dp);
    qsort(ino, (size_t)n, sizeof(*ino), cmp_ul);
    return n;
}

/* Forks and executes argv with the given descriptors as stdin, stdout and stderr (-1:
 * /dev/null). Every other descriptor of this program is close-on-exec. The child gets
 * SIGTERM when this program ends, however it ends, so no simulator outlives a killed
 * bench. */
static pid_t spawn(char *const argv[], int in, int out, int err)
{
    pid_t parent = getpid(), pid = fork();

    if (pid == 0) {
        int null;

        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) /* the bench ended before prctl */
            _exit(127);
        null = open("/dev/null", O_RDWR);

        dup2(in >= 0 ? in : null, STDIN_FILENO);
        dup2(out >= 0 ? out : null, STDOUT_FILENO);
        dup2(err >= 0 ? err : null, STDERR_FILENO);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* --- the simulators ----------------------------------------------------------------- */

/* Reads "listening ADDRESS:PORT" from the simulator's stdout within READY_MS. */
static int read_port(int fd, uint16_t *port)
{
    char buf[256];
    size_t len = 0;
    double deadline = bench_now_s() + READY_MS / 1000.0;

    while (len < sizeof(buf) - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        double left = deadline - bench_now_s();
        ssize_t n;
        char *nl, *colon;

        if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
            return -1;
        n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        nl = strchr(buf, '\n');
        if (nl == NULL)
            continue;
        *nl = '\0';
        colon = strrchr(buf, ':');
        if (strncmp(buf, "listening ", 10) != 0 || colon == NULL)
            return -1;
        *port = (uint16_t)strtoul(colon + 1, NULL, 10);
        return *port != 0 ? 0 : -1;
    }
    return -1;
}

static void sims_stop(sim_t *s, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++)
        if (s[i].pid > 0)
            kill(s[i].pid, SIGTERM);
    for (i = 0; i < n; i++) {
        if (s[i].pid > 0)
            bench_reap(s[i].pid, STOP_MS);
        if (s[i].out >= 0)
            close(s[i].out);
        s[i].pid = 0;
        s[i].out = -1;
    }
}

static int sims_start(sim_t *s, const plant_t *pl)
{
    char nodes[32], anim[16];
    unsigned i;

    snprintf(nodes, sizeof(nodes), "0-%u", pl->nodes - 1);
    snprintf(anim, sizeof(anim), "%u", ANIMATE_MS);
    for (i = 0; i < pl->nsims; i++) {
        char *argv[] = {(char *)g.plcline,
                        "serve",
                        "7ttcp://127.0.0.1:0",
                        "--nodes",
                        nodes,
                        "--animate",
                        anim,
                        "-q",
                        NULL};
        int fds[2];

        s[i].pid = 0;
        s[i].out = -1;
        if (pipe2(fds, O_CLOEXEC) != 0)
            break;
        s[i].pid = spawn(argv, -1, fds[1], -1);
        close(fds[1]);
        s[i].out = fds[0];
        if (s[i].pid < 0 || read_port(s[i].out, &s[i].port) < 0) {
            fprintf(stderr, "bench_scale: simulator %u did not say where it listens\n", i);
            if (s[i].pid < 0)
                s[i].pid = 0;
            sims_stop(s, i + 1);
            return -1;
        }
    }
    if (i < pl->nsims) {
        sims_stop(s, i);
        return -1;
    }
    return 0;
}

static double sims_cpu(const sim_t *s, unsigned n)
{
    double t = 0;
    unsigned i;

    for (i = 0; i < n; i++)
        t += proc_cpu_s(s[i].pid);
    return t;
}

/* --- the broker --------------------------------------------------------------------- */

static int accepts(uint16_t port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

    bench_loopback(&a, port);
    ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static uint16_t free_port(void)
{
    uint16_t port = 0;
    int fd = bench_listen_loopback(&port);

    if (fd >= 0)
        close(fd);
    return fd >= 0 ? port : 0;
}

/* mosquitto cannot take a listening socket nor report a port it picked, so a free port is
 * picked and may be taken by another program before the broker binds it. The broker then
 * exits (it cannot listen), which is seen here: try again with another port. A port that
 * accepts while our broker lives is the broker's. */
static pid_t broker_start(uint16_t *port)
{
    char conf[PATH_MAX + 32];
    int attempt;

    snprintf(conf, sizeof(conf), "%s/mosquitto.conf", g.dir);
    for (attempt = 0; attempt < BROKER_TRIES; attempt++) {
        char text[256], *argv[] = {MOSQUITTO_BIN, "-c", conf, NULL};
        double deadline = bench_now_s() + READY_MS / 1000.0;
        pid_t pid;
        int status;

        *port = free_port();
        if (*port == 0)
            return -1;
        /* started as root, mosquitto changes to its own user, and a change of credentials
         * clears the signal it should get when the bench ends (spawn()): it stays root */
        snprintf(text, sizeof(text),
                 "listener %u 127.0.0.1\nallow_anonymous true\npersistence false\n"
                 "log_dest none\nmax_queued_messages 1000000\n%s",
                 (unsigned)*port, geteuid() == 0 ? "user root\n" : "");
        if (write_file(conf, text) < 0)
            return -1;
        pid = spawn(argv, -1, -1, -1);
        if (pid < 0)
            return -1;
        while (bench_now_s() < deadline) {
            if (waitpid(pid, &status, WNOHANG) == pid) {
                pid = 0; /* could not listen: another port */
                break;
            }
            if (accepts(*port))
                return pid;
            bench_sleep_ms(5);
        }
        if (pid > 0) {
            kill(pid, SIGKILL);
            bench_reap(pid, STOP_MS);
        }
    }
    return -1;
}

/* --- the configuration -------------------------------------------------------------- */

/* NAME.yaml (JSON lines) and NAME-mqtt.yaml (also MQTT to `mqtt_port`), with their tags in
 * NAME.csv; NAME-inflight.yaml and NAME-mqtt-inflight.yaml the same with the 7ttcp line key
 * `inflight` (docs/7ttcp.md). */
static int write_config(const plant_t *pl, const sim_t *s, uint16_t mqtt_port)
{
    char path[PATH_MAX + 32];
    unsigned i, n, t, dev;
    FILE *fp;
    int k;

    snprintf(path, sizeof(path), "%s/%s.csv", g.dir, pl->name);
    fp = fopen(path, "w");
    if (fp == NULL)
        return -1;
    fputs("name,device,address,scan\n", fp);
    for (dev = 0; dev < pl->nsims * pl->nodes; dev++)
        for (t = 0; t < pl->tags; t++)
            fprintf(fp, "d%05u.t%04u,d%05u,W%u,s1\n", dev, t, dev, t * TAG_STEP);
    if (fclose(fp) != 0)
        return -1;
    for (k = 0; k < 4; k++) {
        snprintf(path, sizeof(path), "%s/%s%s%s.yaml", g.dir, pl->name, k & 1 ? "-mqtt" : "",
                 k & 2 ? "-inflight" : "");
        fp = fopen(path, "w");
        if (fp == NULL)
            return -1;
        fprintf(fp, "# generated by bench_scale: %u simulators x %u nodes, %u tags each\n",
                pl->nsims, pl->nodes, pl->tags);
        fprintf(fp, "scan_classes:\n  - {name: s1, period: %ums}\nlines:\n", SCAN_MS);
        for (i = 0; i < pl->nsims; i++)
            fprintf(fp, "  - {name: l%u, protocol: 7ttcp, host: \"127.0.0.1:%u\"%s}\n", i,
                    (unsigned)s[i].port, k & 2 ? ", inflight: " INFLIGHT : "");
        fputs("devices:\n", fp);
        for (i = 0, dev = 0; i < pl->nsims; i++)
            for (n = 0; n < pl->nodes; n++, dev++)
                fprintf(fp, "  - {name: d%05u, line: l%u, node: %u}\n", dev, i, n);
        fprintf(fp, "tags:\n  - csv: %s.csv\n", pl->name);
        if (k & 1)
            fprintf(fp,
                    "north:\n  json: true\n  mqtt: {host: 127.0.0.1, port: %u, prefix: "
                    "bench}\n",
                    (unsigned)mqtt_port);
        if (fclose(fp) != 0)
            return -1;
    }
    return 0;
}

/* small.yaml: one device, one tag: the minimal process of the baselines. */
static int write_small(void)
{
    char path[PATH_MAX + 32];

    snprintf(path, sizeof(path), "%s/small.yaml", g.dir);
    return write_file(path,
                      "scan_classes:\n  - {name: s1, period: 1s}\nlines:\n"
                      "  - {name: l0, protocol: 7ttcp, host: \"127.0.0.1:1\"}\n"
                      "devices:\n  - {name: d00000, line: l0, node: 0}\n"
                      "tags:\n  - {name: d00000.t0000, device: d00000, address: W0, scan: s1}\n");
}

/* --- the daemon --------------------------------------------------------------------- */

typedef struct {
    pid_t pid;
    int out, err;        /* read ends of its stdout (-1: /dev/null) and stderr pipes */
    unsigned char *seen; /* one byte per tag: its first good value was counted */
    size_t ntags, nseen;
    const plant_t *pl;
    size_t olen, elen;
    int reloaded; /* "configuration reloaded" was logged */
    /* last: daemon_start() clears everything before them, for each run */
    char obuf[RX_BUF], ebuf[8192];
} daemon_t;

static void count_line(daemon_t *d, const char *line, size_t len)
{
    static const char pre[] = "{\"tag\":\"d";
    unsigned long dev, tag;
    const char *p = line + sizeof(pre) - 1;
    char *end;
    size_t idx;

    if (len < sizeof(pre) + 8 || memcmp(line, pre, sizeof(pre) - 1) != 0)
        return;
    dev = strtoul(p, &end, 10);
    if (end[0] != '.' || end[1] != 't')
        return;
    tag = strtoul(end + 2, &end, 10);
    if (dev >= (unsigned long)d->pl->nsims * d->pl->nodes || tag >= d->pl->tags)
        return;
    if (memmem(line, len, "\"quality\":\"good\"", 16) == NULL)
        return;
    idx = (size_t)dev * d->pl->tags + tag;
    if (!d->seen[idx]) {
        d->seen[idx] = 1;
        d->nseen++;
    }
}

/* Reads what the daemon wrote until `until` (monotonic seconds) or, when stop_all, until
 * every tag has been counted, or, when stop_reload, until the reload was logged. Returns
 * 0, or -1 when the daemon closed its output. */
static int pump(daemon_t *d, double until, int stop_all, int stop_reload)
{
    for (;;) {
        struct pollfd p[2] = {{.fd = d->err, .events = POLLIN}, {.fd = d->out, .events = POLLIN}};
        double left = until - bench_now_s();
        nfds_t np = d->out >= 0 ? 2 : 1;
        int i;

        if ((stop_all && d->nseen == d->ntags) || (stop_reload && d->reloaded) || left <= 0)
            return 0;
        if (poll(p, np, (int)(left * 1000) + 1) < 0 && errno != EINTR)
            return -1;
        for (i = 0; i < (int)np; i++) {
            int isout = i == 1;
            char *buf = isout ? d->obuf : d->ebuf;
            size_t cap = isout ? sizeof(d->obuf) : sizeof(d->ebuf);
            size_t *len = isout ? &d->olen : &d->elen;
            ssize_t n;
            char *s, *nl;

            if (!(p[i].revents & (POLLIN | POLLHUP)))
                continue;
            n = read(p[i].fd, buf + *len, cap - *len);
            if (n <= 0)
                return -1;
            *len += (size_t)n;
            s = buf;
            while ((nl = memchr(s, '\n', (size_t)(buf + *len - s))) != NULL) {
                if (isout)
                    count_line(d, s, (size_t)(nl - s));
                else if (memmem(s, (size_t)(nl - s), "configuration reloaded", 22) != NULL)
                    d->reloaded = 1;
                s = nl + 1;
            }
            *len = (size_t)(buf + *len - s);
            if (*len == cap) /* a line longer than the buffer: not ours to count */
                *len = 0;
            memmove(buf, s, *len);
        }
    }
}

static int daemon_start(daemon_t *d, const plant_t *pl, const char *config, int read_out)
{
    char path[PATH_MAX + 32];
    char *argv[] = {(char *)g.plcline, "run", "--json", path, NULL};
    int o[2] = {-1, -1}, e[2];

    snprintf(path, sizeof(path), "%s/%s", g.dir, config);
    memset(d, 0, offsetof(daemon_t, obuf));
    d->pl = pl;
    d->out = -1;
    d->ntags = (size_t)pl->nsims * pl->nodes * pl->tags;
    if (pipe2(e, O_CLOEXEC) != 0)
        return -1;
    if (read_out && pipe2(o, O_CLOEXEC) != 0) {
        close(e[0]);
        close(e[1]);
        return -1;
    }
    d->seen = read_out ? calloc(d->ntags, 1) : NULL;
    d->pid = spawn(argv, -1, o[1], e[1]);
    close(e[1]);
    if (o[1] >= 0)
        close(o[1]);
    d->err = e[0];
    d->out = o[0];
    if (d->pid < 0 || (read_out && d->seen == NULL))
        return -1;
    return 0;
}

/* SIGTERM, reading its output meanwhile, and reaps it. Returns 0 when it exited with 0. */
static int daemon_stop(daemon_t *d)
{
    int status = -1;

    if (d->pid > 0) {
        double deadline = bench_now_s() + STOP_MS / 1000.0;

        kill(d->pid, SIGTERM);
        while (waitpid(d->pid, &status, WNOHANG) == 0) {
            if (bench_now_s() > deadline) {
                kill(d->pid, SIGKILL);
                waitpid(d->pid, &status, 0);
                break;
            }
            if (pump(d, bench_now_s() + 0.05, 0, 0) < 0)
                bench_sleep_ms(5);
        }
    }
    if (d->out >= 0)
        close(d->out);
    if (d->err >= 0)
        close(d->err);
    free(d->seen);
    d->pid = 0;
    d->out = d->err = -1;
    d->seen = NULL;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* `plcline run --check CONFIG`: wall seconds and peak resident MB. */
static int check_run(const char *config, double *secs, double *mb)
{
    char path[PATH_MAX + 32];
    char *argv[] = {(char *)g.plcline, "run", "--check", path, NULL};
    struct rusage ru;
    double t0 = bench_now_s(), deadline = t0 + 60;
    int status;
    pid_t pid;

    snprintf(path, sizeof(path), "%s/%s", g.dir, config);
    pid = spawn(argv, -1, -1, -1);
    if (pid < 0)
        return -1;
    for (;;) {
        pid_t r = wait4(pid, &status, WNOHANG, &ru);

        if (r == pid)
            break;
        if (r < 0 || bench_now_s() > deadline) {
            kill(pid, SIGKILL);
            bench_reap(pid, STOP_MS);
            return -1;
        }
        bench_sleep_ms(1);
    }
    *secs = bench_now_s() - t0;
    *mb = (double)ru.ru_maxrss * 1024.0 / 1e6;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* --- figures and rows --------------------------------------------------------------- */

typedef struct {
    char name[120];
    const char *unit;
    int prec;
    double v[MAX_ROUNDS], b[MAX_ROUNDS]; /* figure and baseline per round */
    unsigned n;
    const char *blabel; /* what the baseline is; NULL: none */
    double target;      /* figure <= target is met; < 0: no target */
    const char *ttext;
} fig_t;

#define MAX_FIGS 16
static fig_t g_figs[MAX_FIGS];
static unsigned g_nfigs;

static fig_t *fig(const plant_t *pl, const char *what, const char *unit, int prec,
                  const char *blabel, double target, const char *ttext)
{
    unsigned i;
    fig_t *f;
    char name[120];

    snprintf(name, sizeof(name), "scale %s (%u tags, %u devices): %s", pl->name,
             pl->nsims * pl->nodes * pl->tags, pl->nsims * pl->nodes, what);
    for (i = 0; i < g_nfigs; i++)
        if (strcmp(g_figs[i].name, name) == 0)
            return &g_figs[i];
    if (g_nfigs == MAX_FIGS)
        return NULL;
    f = &g_figs[g_nfigs++];
    memset(f, 0, sizeof(*f));
    memcpy(f->name, name, sizeof(name));
    f->unit = unit;
    f->prec = prec;
    f->blabel = blabel;
    /* The targets are the 300 000-tag plant's; a quick run's smaller plant has none. */
    f->target = g.quick && strcmp(ttext, "0") != 0 ? -1 : target;
    f->ttext = f->target < 0 ? "-" : ttext;
    return f;
}

static void add(fig_t *f, double v, double b)
{
    if (f != NULL && f->n < MAX_ROUNDS) {
        f->v[f->n] = v;
        f->b[f->n] = b;
        f->n++;
    }
}

static void print_figs(void)
{
    unsigned i, k;

    if (g.json)
        printf("[");
    for (i = 0; i < g_nfigs; i++) {
        const fig_t *f = &g_figs[i];
        double r[MAX_ROUNDS], med = bench_median(f->v, f->n), bmed = bench_median(f->b, f->n);
        double ratio = 0;
        char ftext[96], btext[128];
        unsigned nr = 0;
        int met = f->target >= 0 && med <= f->target;

        if (f->n == 0)
            continue;
        for (k = 0; k < f->n; k++)
            if (f->blabel != NULL && f->b[k] > 0)
                r[nr++] = f->v[k] / f->b[k];
        ratio = bench_median(r, nr);
        if (g.json) {
            printf("%s\n {\"benchmark\":\"%s\",\"unit\":\"%s\",\"figure\":%.*f,", i ? "," : "",
                   f->name, f->unit, f->prec + 2, med);
            if (f->blabel != NULL)
                printf("\"baseline\":%.*f,\"baseline_is\":\"%s\",\"ratio\":%.4f,", f->prec + 2,
                       bmed, f->blabel, ratio);
            printf("\"target\":\"%s\",\"met\":%s,\"rounds\":[", f->ttext,
                   f->target < 0 ? "null"
                   : met         ? "true"
                                 : "false");
            for (k = 0; k < f->n; k++)
                printf("%s%.*f", k ? "," : "", f->prec + 2, f->v[k]);
            printf("]}");
            continue;
        }
        snprintf(ftext, sizeof(ftext), "%.*f %s", f->prec, med, f->unit);
        if (f->blabel == NULL) {
            printf("| %s | %s | - | - | %s | %s |\n", f->name, ftext, f->ttext,
                   f->target < 0 ? "-"
                   : met         ? "yes"
                                 : "no");
            continue;
        }
        snprintf(btext, sizeof(btext), "%.*f %s (%s)", f->prec, bmed, f->unit, f->blabel);
        bench_row_print(f->name, ftext, btext, ratio, f->ttext, met);
    }
    if (g.json)
        printf("\n]\n");
}

/* --- the runs ----------------------------------------------------------------------- */

static double g_small_mb, g_small_s; /* --check of the one-tag file: the minimal process */

/* Start to the first good value of every tag, stdout read through a pipe. */
static int run_start(const plant_t *pl, const char *config, double *secs)
{
    static daemon_t d;
    double t0 = bench_now_s();
    int rc;

    if (daemon_start(&d, pl, config, 1) < 0) {
        daemon_stop(&d);
        return -1;
    }
    rc = pump(&d, t0 + g.start_limit_s, 1, 0);
    *secs = bench_now_s() - t0;
    if (d.nseen != d.ntags) {
        fprintf(stderr, "bench_scale: %s: %zu of %zu tags had a value after %.1f s\n", pl->name,
                d.nseen, d.ntags, *secs);
        rc = -1;
    }
    if (daemon_stop(&d) < 0)
        fprintf(stderr, "bench_scale: %s: the daemon did not exit cleanly\n", pl->name);
    return rc;
}

typedef struct {
    double cpu_pct, sims_pct, rss_mb, hwm_mb, other_pct;
    double reload_cpu_s, reload_wall_s;
    long new_sockets, sockets;
} steady_t;

/* CPU and memory after start-up, stdout on /dev/null; then, when `reload`, SIGHUP with
 * the unchanged file. `other` is one more process whose CPU is taken over the window (the
 * broker), or 0. */
static int run_steady(const plant_t *pl, const char *config, const sim_t *s, pid_t other,
                      double warmup_s, int reload, steady_t *r)
{
    static daemon_t d;
    static unsigned long before[32768], after[32768];
    double t0, c0, s0, o0, t1, c1;
    long nb, na, i, j;
    int rc = 0;

    memset(r, 0, sizeof(*r));
    if (daemon_start(&d, pl, config, 0) < 0) {
        daemon_stop(&d);
        return -1;
    }
    if (pump(&d, bench_now_s() + warmup_s, 0, 0) < 0)
        goto fail;
    t0 = bench_now_s();
    c0 = proc_cpu_s(d.pid);
    s0 = sims_cpu(s, pl->nsims);
    o0 = other > 0 ? proc_cpu_s(other) : 0;
    if (pump(&d, t0 + g.window_s, 0, 0) < 0)
        goto fail;
    t1 = bench_now_s();
    c1 = proc_cpu_s(d.pid);
    r->cpu_pct = 100.0 * (c1 - c0) / (t1 - t0);
    r->sims_pct = 100.0 * (sims_cpu(s, pl->nsims) - s0) / (t1 - t0);
    r->other_pct = other > 0 ? 100.0 * (proc_cpu_s(other) - o0) / (t1 - t0) : 0;
    r->rss_mb = proc_status_mb(d.pid, "VmRSS");
    r->hwm_mb = proc_status_mb(d.pid, "VmHWM");
    if (c0 < 0 || c1 < 0 || r->rss_mb < 0)
        goto fail;
    if (reload) {
        double rate = (c1 - c0) / (t1 - t0), ta, ca, tb, cb;

        nb = proc_sockets(d.pid, before, (long)(sizeof(before) / sizeof(before[0])));
        ta = bench_now_s();
        ca = proc_cpu_s(d.pid);
        kill(d.pid, SIGHUP);
        if (pump(&d, ta + RELOAD_WAIT_MS / 1000.0, 0, 1) < 0 || !d.reloaded) {
            fprintf(stderr, "bench_scale: %s: no \"configuration reloaded\" after SIGHUP\n",
                    pl->name);
            goto fail;
        }
        r->reload_wall_s = bench_now_s() - ta;
        if (pump(&d, bench_now_s() + SETTLE_MS / 1000.0, 0, 0) < 0)
            goto fail;
        tb = bench_now_s();
        cb = proc_cpu_s(d.pid);
        na = proc_sockets(d.pid, after, (long)(sizeof(after) / sizeof(after[0])));
        /* the CPU of the reload: all the daemon spent since SIGHUP, less what polling
         * costs in that time */
        r->reload_cpu_s = (cb - ca) - rate * (tb - ta);
        if (r->reload_cpu_s < 0)
            r->reload_cpu_s = 0;
        for (i = 0, j = 0; i < na; i++) { /* sockets in `after` that were not there before */
            while (j < nb && before[j] < after[i])
                j++;
            if (j >= nb || before[j] != after[i])
                r->new_sockets++;
        }
        r->sockets = nb;
    }
    if (daemon_stop(&d) < 0)
        fprintf(stderr, "bench_scale: %s: the daemon did not exit cleanly\n", pl->name);
    return rc;
fail:
    daemon_stop(&d);
    return -1;
}

static int run_plant(const plant_t *pl, int with_mqtt)
{
    static sim_t s[MAX_SIMS];
    char cfg[64], mcfg[64], icfg[64], micfg[64];
    uint16_t mport = 0;
    pid_t broker = 0;
    unsigned round;
    int failed = 0;

    if (sims_start(s, pl) < 0)
        return -1;
    if (with_mqtt) {
        broker = broker_start(&mport);
        if (broker <= 0) {
            fprintf(stderr, "bench_scale: could not start %s: no MQTT rows\n", MOSQUITTO_BIN);
            broker = 0;
            with_mqtt = 0;
        }
    }
    if (write_config(pl, s, mport) < 0) {
        fprintf(stderr, "bench_scale: could not write the configuration in %s\n", g.dir);
        failed = 1;
    }
    snprintf(cfg, sizeof(cfg), "%s.yaml", pl->name);
    snprintf(mcfg, sizeof(mcfg), "%s-mqtt.yaml", pl->name);
    snprintf(icfg, sizeof(icfg), "%s-inflight.yaml", pl->name);
    snprintf(micfg, sizeof(micfg), "%s-mqtt-inflight.yaml", pl->name);
    fprintf(stderr, "# %s: %u simulators x %u nodes, %u tags per device, %u s scan; load %s",
            pl->name, pl->nsims, pl->nodes, pl->tags, SCAN_MS / 1000, "");
    {
        double la[3];
        if (getloadavg(la, 3) == 3)
            fprintf(stderr, "%.2f %.2f %.2f\n", la[0], la[1], la[2]);
        else
            fprintf(stderr, "unknown\n");
    }
    for (round = 0; round < g.rounds && !failed; round++) {
        steady_t r;
        double st = 0, ck = 0, ckmb = 0;
        int full = strcmp(pl->name, "wide") != 0;

        if (full) {
            if (check_run(cfg, &ck, &ckmb) < 0) {
                fprintf(stderr, "bench_scale: %s: plcline run --check failed\n", pl->name);
                failed = 1;
                break;
            }
            add(fig(pl, "--check time", "s", 2, "one-tag --check", 0.5, "<= 0.5 s"), ck, g_small_s);
            add(fig(pl, "--check peak RSS", "MB", 1, "one-tag --check", 96, "<= 96 MB"), ckmb,
                g_small_mb);
            if (run_start(pl, cfg, &st) < 0) {
                failed = 1;
                break;
            }
            add(fig(pl, "start to all values", "s", 2, "--check", 1.5, "<= 1.5 s"), st, ck);
        }
        if (run_steady(pl, cfg, s, 0, g.warmup_s, full, &r) < 0) {
            fprintf(stderr, "bench_scale: %s: the steady run failed\n", pl->name);
            failed = 1;
            break;
        }
        add(fig(pl, "daemon CPU", "% of a core", 1, "simulators", full ? 10 : -1,
                full ? "<= 10 %" : "-"),
            r.cpu_pct, r.sims_pct);
        add(fig(pl, "daemon RSS", "MB", 1, "one-tag --check", full ? 96 : -1,
                full ? "<= 96 MB" : "-"),
            r.rss_mb, g_small_mb);
        if (full) {
            add(fig(pl, "SIGHUP unchanged: CPU", "s", 2, NULL, 2, "<= 2 s"), r.reload_cpu_s, 0);
            add(fig(pl, "SIGHUP unchanged: connections made anew", "connections", 0, NULL, 0, "0"),
                (double)r.new_sockets, 0);
        }
        fprintf(stderr, "# %s round %u: CPU %.2f %% (simulators %.2f %%), RSS %.1f MB (peak %.1f)",
                pl->name, round + 1, r.cpu_pct, r.sims_pct, r.rss_mb, r.hwm_mb);
        if (full)
            fprintf(stderr,
                    ", start %.2f s, --check %.2f s %.1f MB, reload %.2f s CPU in %.2f s, %ld "
                    "of %ld sockets new",
                    st, ck, ckmb, r.reload_cpu_s, r.reload_wall_s, r.new_sockets, r.sockets);
        fputc('\n', stderr);
        if (full) { /* the same plant, one request at a time (no target: what it costs) */
            plant_t ip = *pl;
            steady_t ri;

            ip.name = "plant, inflight " INFLIGHT; /* only the big plant is `full` */
            if (run_steady(pl, icfg, s, 0, g.warmup_s, 0, &ri) < 0) {
                fprintf(stderr, "bench_scale: %s: the inflight steady run failed\n", pl->name);
                failed = 1;
                break;
            }
            add(fig(&ip, "daemon CPU", "% of a core", 1, "simulators", -1, "-"), ri.cpu_pct,
                ri.sims_pct);
            add(fig(&ip, "daemon RSS", "MB", 1, "one-tag --check", 96, "<= 96 MB"), ri.rss_mb,
                g_small_mb);
            fprintf(stderr,
                    "# %s round %u: CPU %.2f %% (simulators %.2f %%), RSS %.1f MB (peak %.1f)\n",
                    ip.name, round + 1, ri.cpu_pct, ri.sims_pct, ri.rss_mb, ri.hwm_mb);
        }
        if (with_mqtt) {
            plant_t mp = *pl;

            mp.name = "mqtt";
            double plain_sims = r.sims_pct;

            if (run_steady(pl, mcfg, s, broker, g.mqtt_warmup_s, 0, &r) < 0) {
                fprintf(stderr, "bench_scale: mqtt: the steady run failed\n");
                failed = 1;
                break;
            }
            add(fig(&mp, "daemon CPU", "% of a core", 1, "broker", 20, "<= 20 %"), r.cpu_pct,
                r.other_pct);
            add(fig(&mp, "daemon RSS", "MB", 1, "one-tag --check", -1, "-"), r.rss_mb, g_small_mb);
            fprintf(stderr,
                    "# mqtt round %u: CPU %.2f %% (broker %.2f %%, simulators %.2f %%), RSS "
                    "%.1f MB (peak %.1f)\n",
                    round + 1, r.cpu_pct, r.other_pct, r.sims_pct, r.rss_mb, r.hwm_mb);
            /* the simulators answer every request: when they worked much less than without
             * MQTT, the daemon did not poll at its rate (overloaded, devices off scan) */
            if (r.sims_pct < 0.5 * plain_sims)
                fprintf(stderr,
                        "# mqtt round %u: polling fell behind: the simulators used %.2f %% "
                        "against %.2f %% without MQTT\n",
                        round + 1, r.sims_pct, plain_sims);
            mp.name = "mqtt, inflight " INFLIGHT;
            if (run_steady(pl, micfg, s, broker, g.mqtt_warmup_s, 0, &r) < 0) {
                fprintf(stderr, "bench_scale: mqtt: the inflight steady run failed\n");
                failed = 1;
                break;
            }
            add(fig(&mp, "daemon CPU", "% of a core", 1, "broker", -1, "-"), r.cpu_pct,
                r.other_pct);
            fprintf(stderr,
                    "# %s round %u: CPU %.2f %% (broker %.2f %%, simulators %.2f %%), RSS "
                    "%.1f MB (peak %.1f)\n",
                    mp.name, round + 1, r.cpu_pct, r.other_pct, r.sims_pct, r.rss_mb, r.hwm_mb);
        }
    }
    if (broker > 0) {
        kill(broker, SIGTERM);
        bench_reap(broker, STOP_MS);
    }
    sims_stop(s, pl->nsims);
    return failed ? -1 : 0;
}

/* --- main --------------------------------------------------------------------------- */

static void usage(void)
{
    fputs("usage: bench_scale [--quick] [--json] [--rounds N] [--seconds S] [--plcline PATH]\n"
          "                   [--only plant|wide] [--keep DIR]\n"
          "  --keep DIR  write the generated configuration into DIR and keep it\n",
          stderr);
}

static void default_plcline(char *buf, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", buf, cap - 16);
    char *slash;

    if (n <= 0) {
        snprintf(buf, cap, "plcline");
        return;
    }
    buf[n] = '\0';
    slash = strrchr(buf, '/');
    snprintf(slash != NULL ? slash + 1 : buf, 16, "plcline");
}

int main(int argc, char **argv)
{
    static char self[PATH_MAX];
    plant_t plant = {"plant", 10, 100, 300}, wide = {"wide", 10, 1000, 10};
    int i, failed = 0, tmpdir = 0;

    bench_init("bench_scale");
    g.rounds = 3;
    g.warmup_s = 5;
    g.mqtt_warmup_s = 20;
    g.window_s = 10;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            g.quick = 1;
        } else if (strcmp(argv[i], "--json") == 0) {
            g.json = 1;
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            g.rounds = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            g.window_s = strtod(argv[++i], NULL);
        } else if (strcmp(argv[i], "--plcline") == 0 && i + 1 < argc) {
            g.plcline = argv[++i];
        } else if (strcmp(argv[i], "--keep") == 0 && i + 1 < argc) {
            g.keep = argv[++i];
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            g.only = argv[++i];
        } else {
            usage();
            return 2;
        }
    }
    if (g.quick) { /* a plant small enough for CI, the same shape */
        plant = (plant_t){"plant", 2, 10, 300};
        wide = (plant_t){"wide", 2, 50, 10};
        g.rounds = 1;
        g.warmup_s = 1.5;
        g.mqtt_warmup_s = 2;
        g.window_s = 2;
    }
    if (g.rounds < 1 || g.rounds > MAX_ROUNDS || g.window_s < 1 || g.window_s > 600) {
        usage();
        return 2;
    }
    g.start_limit_s = g.quick ? 20 : 60;
    if (g.plcline == NULL) {
        default_plcline(self, sizeof(self));
        g.plcline = self;
    }
    if (access(g.plcline, X_OK) != 0) {
        fprintf(stderr, "bench_scale: no plcline program at %s (--plcline PATH)\n", g.plcline);
        return 1;
    }
    if (g.keep != NULL) {
        snprintf(g.dir, sizeof(g.dir), "%s", g.keep);
        mkdir(g.dir, 0700);
    } else {
        snprintf(g.dir, sizeof(g.dir), "/tmp/pl_bench_scale_XXXXXX");
        if (mkdtemp(g.dir) == NULL) {
            perror("bench_scale: mkdtemp");
            return 1;
        }
        tmpdir = 1;
    }
    /* the daemon of the wide plant and each of its simulators inherit this limit */
    bench_raise_nofile(wide.nsims * wide.nodes, "connections");
    if (write_small() < 0 || check_run("small.yaml", &g_small_s, &g_small_mb) < 0) {
        fprintf(stderr, "bench_scale: plcline run --check of a one-tag file failed\n");
        failed = 1;
    }
    if (!failed && (g.only == NULL || strcmp(g.only, "plant") == 0))
        failed |= run_plant(&plant, 1) < 0;
    if (!failed && (g.only == NULL || strcmp(g.only, "wide") == 0))
        failed |= run_plant(&wide, 0) < 0;
    print_figs();
    if (tmpdir) {
        static const char *const files[] = {"plant.csv",
                                            "plant.yaml",
                                            "plant-mqtt.yaml",
                                            "plant-inflight.yaml",
                                            "plant-mqtt-inflight.yaml",
                                            "wide.csv",
                                            "wide.yaml",
                                            "wide-mqtt.yaml",
                                            "wide-inflight.yaml",
                                            "wide-mqtt-inflight.yaml",
                                            "small.yaml",
                                            "mosquitto.conf"};
        char path[PATH_MAX + 32];
        size_t k;

        for (k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
            snprintf(path, sizeof(path), "%s/%s", g.dir, files[k]);
            unlink(path);
        }
        rmdir(g.dir);
    }
    return failed || g_nfigs == 0 ? 1 : 0;
}
