/* SPDX-License-Identifier: MIT */
/*
 * Private helpers shared by the line (client) and listener (server) modules of src/net:
 * address parsing and formatting, socket tuning, the try-write-then-queue send path and
 * the back-off computation. Nothing here is public API; tests may call it to check
 * internals. No logging, no callbacks into the protocol, no global state.
 */
#ifndef PLCLINE_NET_INTERNAL_H
#define PLCLINE_NET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "plcline/line.h"

/* Room for "[ffff:...:ffff%scope]:65535" and a NUL. */
#define PL_NET_ADDR_MAX PL_LINE_PEER_MAX

/* Receive buffer of a line and of a listener (shared by its connections). */
#define PL_NET_RBUF 4096

/* Largest output a line keeps queued (line.h: "the line's limit (64 KiB)"). */
#define PL_LINE_MAX_OUTPUT (64u * 1024u)

/* Default per-connection output limit of a listener (line.h: "0: 1 MiB"). */
#define PL_LISTENER_MAX_OUTPUT    ((size_t)1024u * 1024u)
#define PL_LISTENER_FRAME_TIMEOUT 10000u /* a frame begun must be complete within 10 s */

/* Formats `sa` (AF_INET or AF_INET6) as "1.2.3.4:502" / "[::1]:502", or without the port
 * (and without brackets) when `with_port` is 0. An IPv4-mapped IPv6 address
 * (::ffff:1.2.3.4) is written as the IPv4 address it carries. Always NUL-terminates
 * `buf` (cap > 0); returns 0 or a libuv error (unknown family). */
int pl_net_addr_format(const struct sockaddr *sa, int with_port, char *buf, size_t cap);

/* Parses a numeric IPv4 or IPv6 literal (IPv6 optionally in brackets, optionally with a
 * "%scope") into `out` with `port`. No resolver is involved. Returns 0 or UV_EINVAL. */
int pl_net_parse_ip(const char *s, uint16_t port, struct sockaddr_storage *out);

/* The address a listener binds for a name that resolved to `list`: its first IPv4 address,
 * else its first IPv6 one (brackets choose IPv6, as `[*]` does: Debian's /etc/hosts gives
 * localhost ::1 first); NULL when it has neither. */
const struct addrinfo *pl_net_listen_pick(const struct addrinfo *list);

/* Turns TCP_NODELAY on and TCP keep-alive on with `keepalive_s` idle seconds (off when
 * `keepalive_s` <= 0). Returns 0 or the first libuv error (callers treat it as advisory). */
int pl_net_tune(uv_tcp_t *tcp, int keepalive_s);

/* One queued piece of output: written by uv_write, freed by the caller's write callback
 * (free() the chunk; req.data is the owner given to pl_net_send). */
typedef struct {
    uv_write_t req;
    size_t len;
    uint8_t data[];
} pl_net_chunk_t;

/* Sends `len` bytes on `stream`: uv_try_write first (nothing is copied when the kernel
 * takes it all), the rest copied into one pl_net_chunk_t and handed to uv_write with `cb`.
 * `*queued` gets the number of bytes queued (0 when all went out). Returns 0; UV_ENOBUFS
 * when more than `room` bytes would have to be queued (nothing is queued then); UV_ENOMEM;
 * or the libuv error of the failed write. After any error part of the bytes may have gone
 * out, so the caller must close the stream. */
int pl_net_send(uv_stream_t *stream, const uint8_t *buf, size_t len, size_t room, uv_write_cb cb,
                void *owner, size_t *queued);

/* Back-off before the next attempt after `failures` (>= 1) consecutive failures:
 * base = min(max, min_ms * 2^(failures-1)); delay = base * 3/4 + rnd % (base/2 + 1)
 * (±25 % jitter), then clamped to [min_ms, max_ms]. Pure function. */
unsigned pl_net_backoff(unsigned min_ms, unsigned max_ms, unsigned failures, uint32_t rnd);

/* Test hook: 1 while the listener's frame-timeout sweep timer runs (only while some
 * connection holds an incomplete frame, or did at the last sweep), else 0. */
int pl_listener_sweeping(const pl_listener_t *lst);

/* Test hook: the delay (ms) chosen for the pending retry of `line`, or 0 if none. */
unsigned pl_line_retry_ms(const pl_line_t *line);

/* Test hook: the next value of the line's own jitter generator (as used when cfg.random
 * is NULL; advances it). */
uint32_t pl_line_random(pl_line_t *line);

/* Test hook: number of heap blocks a line holds right now (the line itself, its socket,
 * pending resolver request, queued output chunks). */
unsigned pl_line_heap_blocks(const pl_line_t *line);

/* Test hook: sizeof(struct pl_line_s) and of its per-connection socket object. */
size_t pl_line_sizeof(void);
size_t pl_line_sock_sizeof(void);

#endif
