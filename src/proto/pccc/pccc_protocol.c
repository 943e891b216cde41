/* SPDX-License-Identifier: MIT */
/*
 * The PCCC descriptor for the protocol registry (src/proto/registry.h): a line and a device
 * take the pccc:// URL's own keys (docs/pccc.md) as one 'options' string, a simulator takes
 * plc= and files=; its engine driver and its simulator.
 */
#include "proto/registry.h"

#include "plcline/error.h"
#include "plcline/pccc.h"

#include <stdio.h>
#include <string.h>

#define OPTIONS_TEXT 256

extern const pl_driver_t pl_driver_pccc; /* drv_pccc.c */

static const pl_proto_key_t options_keys[] = {
    {"options", PL_KEY_QUERY, 0, 0, 0, NULL}, /* "plc=slc500&service=4b&path=1,0" */
    {NULL, PL_KEY_UINT, 0, 0, 0, NULL},
};

/* A simulator's keys: "plc=slc500&files=N7:100 F8:20 ...". */
static int sim_keys_check(const char *keys, pl_pccc_server_config_t *sc, char *files, size_t cap,
                          pl_status_t *st)
{
    const char *p = keys;

    while (*p != '\0') {
        const char *amp = strchr(p, '&'), *end = amp != NULL ? amp : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        size_t klen = eq != NULL ? (size_t)(eq - p) : (size_t)(end - p);
        char val[256];
        size_t vlen = eq != NULL ? (size_t)(end - eq - 1) : 0;

        if (eq == NULL || vlen >= sizeof(val))
            return pl_status_set(st, PL_ECONFIG, 0, "bad option near '%.30s'", p);
        memcpy(val, eq + 1, vlen);
        val[vlen] = '\0';
        if (klen == 3 && strncmp(p, "plc", 3) == 0) {
            if (pl_pccc_plc_parse(val, &sc->plc) < 0)
                return pl_status_set(st, PL_ECONFIG, 0,
                                     "plc '%.30s' (expected slc500, micrologix, plc5 or logix)",
                                     val);
        } else if (klen == 5 && strncmp(p, "files", 5) == 0) {
            if (vlen >= cap)
                return pl_status_set(st, PL_ECONFIG, 0, "files too long");
            memcpy(files, val, vlen + 1);
            sc->files = files;
        } else {
            return pl_status_set(st, PL_ECONFIG, 0, "unknown option '%.*s' (expected plc, files)",
                                 (int)(klen > 30 ? 30 : klen), p);
        }
        p = amp != NULL ? amp + 1 : end;
    }
    return 0;
}

static int keys_check(pl_key_scope_t scope, const char *keys, pl_status_t *err)
{
    char url[OPTIONS_TEXT + 32], storage[64], files[256];
    pl_pccc_client_config_t cfg;
    pl_pccc_server_config_t sc;

    switch (scope) {
    case PL_KEYS_LINE:
    case PL_KEYS_DEVICE:
        snprintf(url, sizeof(url), "pccc://0.0.0.0%s%s", keys[0] != '\0' ? "?" : "", keys);
        pl_pccc_client_config_init(&cfg);
        return pl_pccc_client_config_url(&cfg, url, storage, sizeof(storage), err) < 0 ? PL_ECONFIG
                                                                                       : 0;
    case PL_KEYS_SIM:
        pl_pccc_server_config_init(&sc);
        return sim_keys_check(keys, &sc, files, sizeof(files), err);
    case PL_KEYS_TAG:
        if (keys[0] != '\0')
            return pl_status_set(err, PL_ECONFIG, 0, "'%.30s' does not apply to pccc", keys);
        return 0;
    }
    return 0;
}

static int sim_new(uv_loop_t *loop, const pl_proto_sim_t *sim, void **out, char *what,
                   size_t what_cap, pl_status_t *err)
{
    pl_pccc_server_config_t sc;
    pl_pccc_server_t *s = NULL;
    char files[256];
    int rc;

    pl_pccc_server_config_init(&sc);
    sc.listen.addr = sim->listen;
    sc.listen.port = sim->port;
    sc.animate_ms = sim->animate_ms;
    sc.delay_ms = sim->delay_ms;
    sc.log = sim->log;
    rc = sim_keys_check(sim->keys, &sc, files, sizeof(files), err);
    if (rc == 0)
        rc = pl_pccc_server_new(loop, &sc, &s, err);
    if (rc < 0)
        return rc;
    snprintf(what, what_cap, "PCCC %s on %s", pl_pccc_plc_name(sc.plc), pl_pccc_server_address(s));
    *out = s;
    return 0;
}

static void sim_free(void *sim)
{
    pl_pccc_server_free(sim);
}

static uint16_t sim_port(void *sim)
{
    return pl_pccc_server_port(sim);
}

const pl_protocol_t pl_protocol_pccc = {
    .name = "pccc",
    .scheme = "pccc",
    .title = "PCCC",
    .port = PL_ENIP_PORT,
    .redundancy = PL_REDUNDANCY_ALTERNATE,
    .keys = {options_keys, options_keys, NULL, options_keys},
    .driver = &pl_driver_pccc,
    .keys_check = keys_check,
    .sim_new = sim_new,
    .sim_free = sim_free,
    .sim_port = sim_port,
    .usage = "PCCC URL: pccc://HOST[:PORT][?key=value&...]  (EtherNet/IP, default port 44818)\n"
             "  keys     plc=slc500|micrologix|plc5|logix (slc500) service=4b|4c|4d (4b)\n"
             "           path=PORT,LINK[,...] (route, e.g. 1,0) connected=0|1|auto\n"
             "           dst=N src=N dst_link=N src_link=N (0x4C header)\n"
             "           vendor=N serial=N vendor_seq=0|1 (0x4B requestor ID)\n"
             "           timeout=MS (1000) inflight=N (1) max_bytes=N queue=N\n"
             "           connect_timeout=MS local=ADDR[:PORT] backup=HOSTS use_backup=0|1\n"
             "PCCC ADDR: N7:0 F8:1 L10:0 B3:0/5 T4:0 T4:0.ACC C5:0.DN R6:0.POS S:1 I:1.0\n"
             "  O:0.0/3 ST9:0 (string, printed in quotes) A10:0; optional ,<count>\n",
};
