/* SPDX-License-Identifier: MIT */
/*
 * The line keys of device URLs, shared by every protocol (docs/lines.md):
 *   backup=HOSTLIST  use_backup=0|1  redundancy=alternate|parallel  prefer_primary=0|1
 *   local=ADDR[:PORT]  line=N  connect_timeout=MS
 */
#ifndef PLCLINE_NET_LINE_URL_H
#define PLCLINE_NET_LINE_URL_H

#include <stddef.h>

#include "codec/url.h"
#include "plcline/line.h"

/* The keys pl_line_config_url() understands, NULL-terminated, for pl_url_check_keys(). */
#define PL_LINE_URL_KEYS \
    "backup", "use_backup", "redundancy", "prefer_primary", "local", "line", "connect_timeout"

/* Applies the URL's hosts (with `default_port` for hosts without a port) and line keys to
 * `cfg`. The local address is copied to `storage` (at least 64 bytes), which cfg then points
 * to. Returns 0 or PL_EURL with `err` naming the key and what it accepts. */
int pl_line_config_url(pl_line_config_t *cfg, const pl_url_t *u, uint16_t default_port,
                       char *storage, size_t storage_len, pl_status_t *err);

#endif
