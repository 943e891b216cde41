/* SPDX-License-Identifier: MIT */
/*
 * Device URLs: SCHEME://HOSTLIST[/PATH][?key=value&key=value...]
 *
 *   7ttcp://127.0.0.1:12398/3?timeout=500&keepalive=0
 *   7ttcp://10.0.0.1,10.0.0.2:12398/3          (host list: ',' or ';', spaces allowed)
 *   7ttcp://[::1]:12398/0                      (IPv6 literals in brackets)
 *   pccc://plc-a.example?plc=slc500&path=1,0
 *
 * Each host of the list may carry its own port. A port on the last host also applies to
 * every host without one ("a,b:503" is a:503 and b:503; "a:502,b" is a:502 and b on the
 * default); the others get the scheme's default port from the caller. The scheme is matched
 * case-insensitively and stored in lower case. Keys and values are taken verbatim (no
 * percent-decoding); a key may appear at most once. Pure parsing: no I/O, no allocation.
 */
#ifndef PLCLINE_CODEC_URL_H
#define PLCLINE_CODEC_URL_H

#include <stddef.h>
#include <stdint.h>

#include "plcline/hostlist.h"
#include "plcline/log.h"

#define PL_URL_MAX_PARAMS 24
#define PL_URL_TEXT       1024 /* bytes for path, keys and values, NULs included */

typedef struct {
    char scheme[16];
    pl_hostlist_t hosts;
    const char *path; /* points into text[]; "" when absent; without the leading '/' */
    unsigned nparams;
    struct {
        const char *key;   /* into text[] */
        const char *value; /* into text[]; "" for "key" or "key=" */
    } param[PL_URL_MAX_PARAMS];
    char text[PL_URL_TEXT];
} pl_url_t;

/* Parses NUL-terminated `s`. `default_port` fills hosts that have no port of their own
 * (0 leaves them 0). Returns 0, or PL_EURL with `err` (may be NULL) saying what is wrong and
 * where ("missing '://'", "host 2: bad port '99999'", "duplicate key 'timeout'"). */
int pl_url_parse(pl_url_t *url, const char *s, uint16_t default_port, pl_status_t *err);

/* The value of `key`, or NULL when absent. */
const char *pl_url_get(const pl_url_t *url, const char *key);

/* Parses an unsigned decimal value of `key` within [min, max] into *out. Returns 0 when the
 * key is absent (leaving *out unchanged), 1 when set, or PL_EURL with `err` naming the key
 * and the accepted range. */
int pl_url_get_uint(const pl_url_t *url, const char *key, unsigned long min, unsigned long max,
                    unsigned long *out, pl_status_t *err);

/* As pl_url_get_uint for an unsigned setting read and written in place: *inout keeps its
 * value when the key is absent. For `v = cfg->x; get_uint(...&v...); cfg->x = v`. */
int pl_url_get_unsigned(const pl_url_t *url, const char *key, unsigned min, unsigned max,
                        unsigned *inout, pl_status_t *err);

/* Returns 0 when every key of `url` is in the NULL-terminated `known` list, else PL_EURL
 * with `err` naming the first unknown key and listing the known ones. */
int pl_url_check_keys(const pl_url_t *url, const char *const *known, pl_status_t *err);

#endif
