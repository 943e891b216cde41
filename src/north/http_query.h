/* SPDX-License-Identifier: MIT */
/*
 * The parts of an HTTP request's target that plcline reads itself (libh2o parses the
 * request): percent-decoding of the path and of query values, and finding a query
 * parameter. Pure functions on (pointer, length): no allocation, no libuv. Fuzzed by
 * tests/fuzz/fuzz_http_query.c.
 */
#ifndef PLCLINE_NORTH_HTTP_QUERY_H
#define PLCLINE_NORTH_HTTP_QUERY_H

#include <stddef.h>

/* Percent-decodes `n` bytes of `s` into `out` (`cap` bytes, always NUL-terminated when
 * cap > 0); '+' becomes a space when `plus` (query values). Returns the decoded length, or
 * -1 for a truncated or non-hex escape, an encoded NUL, or a result that does not fit. */
long pl_http_url_decode(const char *s, size_t n, char *out, size_t cap, int plus);

/* Percent-encodes `n` bytes (everything but letters, digits and "-._~") into `out`.
 * Returns the length, or -1 when it does not fit (NUL-terminated when cap > 0). */
long pl_http_url_encode(const char *s, size_t n, char *out, size_t cap);

/* In the query `q` (`n` bytes, without the '?': "a=1&b=x%20y"), the decoded value of the
 * first parameter named `key` into `out`. Returns 1 found, 0 absent, -1 malformed value. */
int pl_http_query_get(const char *q, size_t n, const char *key, char *out, size_t cap);

#endif
