/* SPDX-License-Identifier: MIT */
/*
 * The protocols' part of the plcline command: what each protocol's
 * src/proto/<name>/cli_<name>.c provides for read, write and bench, and the few helpers
 * those parts share (error lines, running a request to completion, exit codes). The
 * command (apps/) looks protocols up here; the parts never look up at the command.
 * The parts and src/proto/cli_protocols.c are compiled into the command, not the library.
 */
#ifndef PLCLINE_PROTO_CLI_PROTO_H
#define PLCLINE_PROTO_CLI_PROTO_H

#include <stdio.h>
#include <uv.h>

#include "plcline/log.h"
#include "proto/registry.h"

#define CLI_EXIT_OK    0
#define CLI_EXIT_FAIL  1 /* the operation failed */
#define CLI_EXIT_USAGE 2 /* bad arguments */

/* Prints "plcline: <what>: <status formatted>" on stderr. */
void cli_print_error(const char *what, const pl_status_t *st);

/* Runs the loop until *done becomes nonzero (a request submitted already completes). */
void cli_wait(uv_loop_t *loop, const int *done);

typedef void (*cli_read_cb)(void *ud, const pl_status_t *st);

/* What a client learned of its target while measuring: whether the target made it fall back
 * to one request in flight, how many messages went out again because of it, and why. */
typedef struct {
    int fell_back;
    uint64_t retried;
    const char *reason; /* valid until the client is freed */
} cli_bench_fallback_t;

/* A protocol's part of 'bench': reading one address over and over on several clients. */
typedef struct {
    size_t req_size; /* request storage one read needs */
    /* Parses `url` and `addr`; `inflight` is what --inflight asked for (0: not given). Prints
     * a bad argument and returns CLI_EXIT_USAGE, else 0 with *plan (plan_free releases it),
     * the requests in flight per client, the request timeout (0: the command's default)
     * and the bytes one read fills. */
    int (*plan_new)(const char *url, const char *addr, unsigned inflight, const pl_logger_t *log,
                    void **plan, unsigned *inflight_out, unsigned *timeout_ms, size_t *buf_bytes);
    void (*plan_free)(void *plan);
    int (*client_new)(uv_loop_t *loop, void *plan, void **client);
    void (*client_free)(void *client); /* fails what is in flight first */
    const pl_line_t *(*client_line)(void *client);
    /* One read into `buf`: 0 and `cb` runs later, or a synchronous failure with *st. */
    int (*read)(void *client, void *plan, void *req, void *buf, cli_read_cb cb, void *ud,
                pl_status_t *st);
    /* Optional: fills *out for a client (a protocol that never falls back leaves it NULL). */
    void (*fallback)(void *client, cli_bench_fallback_t *out);
} cli_bench_t;

/* A protocol's part of 'read' and 'write' (src/proto/<name>/cli_<name>.c): `args` are the n
 * address (read) or ADDR=VALUE (write) arguments. Each returns the exit code. Every protocol
 * of src/proto/protocols.h defines one; a part it does not have yet is NULL. */
typedef struct {
    const pl_protocol_t *protocol; /* the registry's descriptor */
    int (*read)(const char *url, char **args, int n, const pl_logger_t *log);
    int (*write)(const char *url, char **args, int n, const pl_logger_t *log);
    const char *write_notes; /* how 'write' treats bits, strings, structures */
    const cli_bench_t *bench;
} cli_proto_t;

/* The command's part of the protocol named by `url`'s scheme (src/proto/cli_protocols.c),
 * for `command` ("read", "write" or "bench"). An unknown or missing scheme, or a protocol
 * whose part leaves that command NULL, prints "plcline: URL: ..." (listing the known
 * protocols) and returns NULL (the caller exits with CLI_EXIT_USAGE). */
const cli_proto_t *cli_proto_of_url(const char *url, const char *command);

/* Every protocol's usage text (URL and address grammar), a blank line between them. */
void cli_proto_usage(FILE *fp);

/* Every protocol's notes on writing. */
void cli_proto_write_notes(FILE *fp);

/* Each protocol's first usage line (its URL form), for the command's own usage. */
void cli_proto_urls(FILE *fp);

#endif /* PLCLINE_PROTO_CLI_PROTO_H */
