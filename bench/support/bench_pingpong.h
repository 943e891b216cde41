/* SPDX-License-Identifier: MIT */
/*
 * The plain-socket baselines: a client sends one request frame and waits for one answer
 * frame, again and again, against a responder that answers every whole request. The
 * frames are the program's (valid frames of its protocol, so the byte counts are exactly
 * those of its plcline runs); only their sizes matter to the responders.
 *
 *   blocking  one connection, blocking send/recv on both sides (TCP_NODELAY): the plainest
 *             ping-pong there is;
 *   epoll     a non-blocking epoll client over N connections, one request outstanding on
 *             each, against an epoll responder: what an event loop costs by itself.
 *
 * The responders are bench_serve_fn for bench_child_start() (arg: the frames). The clients
 * measure like a plcline run: a warm-up, then `seconds` with the meter running; they return
 * answers per second, or -1 when the exchange broke.
 */
#ifndef PL_BENCH_PINGPONG_H
#define PL_BENCH_PINGPONG_H

#include "bench_meter.h"

#include <stddef.h>
#include <stdint.h>

#define BENCH_FRAME_MAX 256u /* the largest request or answer frame a baseline exchanges */

typedef enum {
    BENCH_BASE_BLOCKING, /* bench_serve_blocking + bench_run_blocking, one connection */
    BENCH_BASE_EPOLL,    /* bench_serve_epoll + bench_run_epoll */
} bench_base_t;

typedef struct {
    const uint8_t *req;  /* one request frame */
    size_t req_len;      /* 1..BENCH_FRAME_MAX */
    const uint8_t *resp; /* its answer */
    size_t resp_len;     /* 1..BENCH_FRAME_MAX */
} bench_frames_t;

/* Responders, run in a server child; `arg` is a const bench_frames_t *. The blocking one
 * serves one connection and ends when the client closes it; the epoll one serves any
 * number of connections until the control pipe says stop. */
int bench_serve_blocking(void *arg, int ctl, int report);
int bench_serve_epoll(void *arg, int ctl, int report);

/* Clients against a responder at 127.0.0.1:port. m->server should be the responder's pid
 * so the CPU share covers both sides. */
double bench_run_blocking(const bench_frames_t *f, uint16_t port, double warmup, double seconds,
                          bench_meter_t *m);
double bench_run_epoll(const bench_frames_t *f, uint16_t port, unsigned nconns, double warmup,
                       double seconds, bench_meter_t *m);

#endif
