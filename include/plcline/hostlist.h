/* SPDX-License-Identifier: MIT */
/*
 * Host lists (D2000 "Host" parameter: up to 8 addresses or names separated by ',' or ';').
 * Pure parsing: no I/O, no allocation, no libuv; part of the codec layer.
 */
#ifndef PLCLINE_HOSTLIST_H
#define PLCLINE_HOSTLIST_H

#include "plcline/export.h"

#include <stddef.h>
#include <stdint.h>

#include "plcline/log.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PL_HOSTLIST_MAX  8   /* D2000: up to 8 hosts per Host parameter */
#define PL_HOSTLIST_TEXT 512 /* bytes of host names a list can hold, NULs included */

/* A parsed host list: "10.0.0.1, 10.0.0.2:503; [::1]:12398; plc-a.example". */
typedef struct {
    unsigned count;
    struct {
        uint16_t name; /* offset of the NUL-terminated host name in text[] (no brackets) */
        uint16_t port; /* 0: use the line's port */
    } host[PL_HOSTLIST_MAX];
    char text[PL_HOSTLIST_TEXT];
} pl_hostlist_t;

/* Parses `s` (`len` bytes, not necessarily NUL-terminated). Hosts are separated by ',' or
 * ';' with optional spaces/tabs around each; each is an IPv4 literal, a bracketed IPv6
 * literal, a bare IPv6 literal without port, or a name, optionally followed by ":port".
 * Returns 0, or PL_EURL with `err` (may be NULL) describing what and where (e.g. "host 9:
 * more than 8 hosts", "host 2 ('a:b:c'): bad port"). No allocation, no I/O. */
PL_EXTERN int pl_hostlist_parse(pl_hostlist_t *list, const char *s, size_t len, pl_status_t *err);

/* URL form "a,b,c:PORT": when the last host has a port, every host without a port of its
 * own gets it (the list shares the trailing port; "a:1,b:2" keeps each one's own). */
PL_EXTERN void pl_hostlist_trailing_port(pl_hostlist_t *list);

/* Host name `i` of `list` (NUL-terminated, no brackets). */
PL_EXTERN const char *pl_hostlist_name(const pl_hostlist_t *list, unsigned i);

#ifdef __cplusplus
}
#endif

#endif
