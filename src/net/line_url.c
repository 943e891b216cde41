/* SPDX-License-Identifier: MIT */
/*
 * Device-URL keys of the line layer (see line_url.h): one parser for every protocol, so a
 * the URLs of every protocol say "backup=" or "redundancy=" the same way.
 */
#include "net/line_url.h"

#include "plcline/error.h"

#include <string.h>

int pl_line_config_url(pl_line_config_t *cfg, const pl_url_t *u, uint16_t default_port,
                       char *storage, size_t storage_len, pl_status_t *err)
{
    unsigned long v;
    const char *s;
    int rc;

    cfg->hosts = u->hosts;
    cfg->port = default_port;

    s = pl_url_get(u, "backup");
    if (s != NULL && s[0] != '\0') {
        pl_status_t sub;

        if (pl_hostlist_parse(&cfg->backup, s, strlen(s), &sub) < 0)
            return pl_status_set(err, PL_EURL, 0, "backup: %.80s", sub.detail);
        pl_hostlist_trailing_port(&cfg->backup);
        cfg->backup_port = default_port;
        cfg->use_backup = 1;
    }
    v = (unsigned long)cfg->use_backup;
    if ((rc = pl_url_get_uint(u, "use_backup", 0, 1, &v, err)) < 0)
        return rc;
    cfg->use_backup = (int)v;
    s = pl_url_get(u, "redundancy");
    if (s != NULL) {
        if (strcmp(s, "alternate") == 0)
            cfg->redundancy = PL_REDUNDANCY_ALTERNATE;
        else if (strcmp(s, "parallel") == 0)
            cfg->redundancy = PL_REDUNDANCY_PARALLEL;
        else
            return pl_status_set(err, PL_EURL, 0,
                                 "redundancy '%.40s': expected alternate or parallel", s);
    }
    v = (unsigned long)cfg->prefer_primary;
    if ((rc = pl_url_get_uint(u, "prefer_primary", 0, 1, &v, err)) < 0)
        return rc;
    cfg->prefer_primary = (int)v;
    v = (unsigned long)cfg->line_number;
    if ((rc = pl_url_get_uint(u, "line", 0, 2147483647ul, &v, err)) < 0)
        return rc;
    cfg->line_number = (int)v;
    if ((rc = pl_url_get_unsigned(u, "connect_timeout", 1, 3600000, &cfg->connect_timeout_ms,
                                  err)) < 0)
        return rc;

    s = pl_url_get(u, "local");
    if (s != NULL && s[0] != '\0') {
        pl_hostlist_t local;
        const char *name;
        size_t n;

        if (pl_hostlist_parse(&local, s, strlen(s), err) < 0)
            return PL_EURL;
        if (local.count != 1)
            return pl_status_set(err, PL_EURL, 0, "local: one address expected, got %u",
                                 local.count);
        name = pl_hostlist_name(&local, 0);
        n = strlen(name);
        if (n + 1 > storage_len)
            return pl_status_set(err, PL_EURL, 0, "local: address too long");
        memcpy(storage, name, n + 1);
        cfg->local_addr = storage;
        cfg->local_port = local.host[0].port;
    }
    return 0;
}
