/* SPDX-License-Identifier: MIT */
/*
 * Plain blocking socket helpers for the baselines and for server children: 127.0.0.1 only,
 * ports picked by the kernel. And RLIMIT_NOFILE for programs that open many connections.
 */
#ifndef PL_BENCH_NET_H
#define PL_BENCH_NET_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_FD_SLACK 64u /* descriptors besides the connections (stdio, pipes, epoll) */

/* 127.0.0.1:port. */
void bench_loopback(struct sockaddr_in *sa, uint16_t port);

/* Listens on 127.0.0.1 with a kernel-picked port (backlog 1024); returns the descriptor
 * and *port, or -1. */
int bench_listen_loopback(uint16_t *port);

/* A blocking connection to 127.0.0.1:port with TCP_NODELAY and a 1 s receive timeout, so
 * a dead peer can never hold a loop; returns the descriptor or -1. */
int bench_connect_loopback(uint16_t port);

/* Return 0, or -1 with errno set. */
int bench_set_nodelay(int fd);
int bench_set_nonblock(int fd);

/* All `len` bytes, retrying on EINTR (send with MSG_NOSIGNAL). Return 0, or -1 on an
 * error, a timeout or the peer's close. */
int bench_write_all(int fd, const void *buf, size_t len);
int bench_read_all(int fd, void *buf, size_t len);

/* Raises RLIMIT_NOFILE to `want` connections plus BENCH_FD_SLACK. Returns how many
 * connections the limit allows (`want` when it could be raised enough); when fewer and
 * `what` is not NULL, says so on stderr ("... too low for 1000 <what>; measuring 960"). */
unsigned bench_raise_nofile(unsigned want, const char *what);

#endif
