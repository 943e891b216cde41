/* SPDX-License-Identifier: MIT */
/*
 * The PCCC descriptor for the protocol registry (src/proto/registry.h): a line and a device
 * take the pccc:// URL's own keys (docs/pccc.md) as one 'options' string, a simulator takes
 * plc=, files= and its strictness keys the same way (docs/pccc-simulator.md); its engine
 * driver, and its simulator with the options `plcline serve` gives it.
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

/* `plcline serve pccc://` options, each a key of the simulator's options string. */
static const pl_sim_option_t sim_options[] = {
    {"--files", "files", "SPEC", NULL, 0,
     "data files, e.g. \"N7:100 F8:20 B3:16 T4:10 ST9:5 L10:10\"\n"
     "(TYPE FILE:ELEMENTS; types O I S B T C R N F ST A L;\n"
     "default: docs/pccc-simulator.md)"},
    {"--register-timeout", "register_timeout", "MS", NULL, 0,
     "close a connection that has not registered a session\n"
     "within MS milliseconds (default 10000)"},
    {"--max-inflight", "max_inflight", "N", NULL, 0,
     "close a connection on which a request arrives while N are\n"
     "unanswered (default 1; 0: no limit)"},
    {"--connected", "connected", NULL, "1", 0, "serve Forward Open and connected messaging"},
    {"--no-connected", "connected", NULL, "0", 0,
     "refuse Forward Open with CIP status 0x08 (the default)"},
    {"--lax-register", "lax_register", NULL, "1", 0,
     "accept a RegisterSession whose sender context, options,\n"
     "session handle or status is not zero (refused by default)"},
    {"--requestor", "requestor", "VENDOR:SERIAL", NULL, 0,
     "answer a 0x4B request with another requestor ID with CIP\n"
     "status 0x08 (e.g. 0x1337:0x4C434C50)"},
    {NULL, NULL, NULL, NULL, 0, NULL},
};

/* A decimal or 0x hex number of at most `max` at s; *end after it. -1 when there is none. */
static long long dec_or_hex(const char *s, unsigned long long max, const char **end)
{
    unsigned long long v = 0;
    int base = 10, digits = 0;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    for (;; s++, digits++) {
        int d;

        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = *s - 'a' + 10;
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = *s - 'A' + 10;
        else
            break;
        v = v * (unsigned)base + (unsigned)d;
        if (v > max)
            return -1;
    }
    *end = s;
    return digits > 0 ? (long long)v : -1;
}

/* A decimal whole number min..max: the text `val`; -1 when it is not one. */
static long long number(const char *val, unsigned long long min, unsigned long long max)
{
    unsigned long long v = 0;
    const char *p = val;

    for (; *p >= '0' && *p <= '9'; p++)
        if ((v = v * 10 + (unsigned)(*p - '0')) > max)
            return -1;
    return p == val || *p != '\0' || v < min ? -1 : (long long)v;
}

/* One key of a simulator's options into `sc`. */
static int sim_key(const char *key, const char *val, pl_pccc_server_config_t *sc, char *files,
                   size_t cap, pl_status_t *st)
{
    long long v;

    if (strcmp(key, "plc") == 0) {
        if (pl_pccc_plc_parse(val, &sc->plc) < 0)
            return pl_status_set(st, PL_ECONFIG, 0,
                                 "'plc=%.30s': expected slc500, micrologix, plc5 or logix", val);
    } else if (strcmp(key, "files") == 0) {
        if (strlen(val) >= cap)
            return pl_status_set(st, PL_ECONFIG, 0, "files too long");
        memcpy(files, val, strlen(val) + 1);
        sc->files = files;
    } else if (strcmp(key, "register_timeout") == 0) {
        if ((v = number(val, 1, 3600000)) < 0)
            return pl_status_set(st, PL_ECONFIG, 0,
                                 "'register_timeout' is '%.30s', expected milliseconds from 1 "
                                 "to 3600000",
                                 val);
        sc->register_timeout_ms = (unsigned)v;
    } else if (strcmp(key, "max_inflight") == 0) {
        if ((v = number(val, 0, 1024)) < 0)
            return pl_status_set(st, PL_ECONFIG, 0,
                                 "'max_inflight' is '%.30s', expected a whole number from 0 to "
                                 "1024",
                                 val);
        sc->max_inflight = (unsigned)v;
    } else if (strcmp(key, "connected") == 0 || strcmp(key, "lax_register") == 0) {
        if (strcmp(val, "0") != 0 && strcmp(val, "1") != 0)
            return pl_status_set(st, PL_ECONFIG, 0, "'%s' is '%.30s', expected 0 or 1", key, val);
        if (key[0] == 'c')
            sc->no_connected = val[0] == '0';
        else
            sc->lax_register = val[0] == '1';
    } else if (strcmp(key, "requestor") == 0) {
        const char *end = val;
        long long vendor = *val >= '0' && *val <= '9' ? dec_or_hex(val, 0xFFFF, &end) : -1;
        long long serial = -1;

        if (vendor >= 0 && *end == ':' && end[1] >= '0' && end[1] <= '9')
            serial = dec_or_hex(end + 1, 0xFFFFFFFFull, &end);
        if (serial < 0 || *end != '\0')
            return pl_status_set(st, PL_ECONFIG, 0,
                                 "'requestor' is '%.30s', expected VENDOR:SERIAL, e.g. "
                                 "0x1337:0x4C434C50",
                                 val);
        sc->require_requestor = 1;
        sc->requestor_vendor = (uint16_t)vendor;
        sc->requestor_serial = (uint32_t)serial;
    } else {
        return pl_status_set(st, PL_ECONFIG, 0,
                             "unknown option '%.20s' (expected plc, files or one of "
                             "docs/pccc-simulator.md)",
                             key);
    }
    return 0;
}

/* A simulator's keys: "plc=slc500&files=N7:100 F8:20 ...&max_inflight=1". */
static int sim_keys_check(const char *keys, pl_pccc_server_config_t *sc, char *files, size_t cap,
                          pl_status_t *st)
{
    const char *p = keys;

    while (*p != '\0') {
        const char *amp = strchr(p, '&'), *end = amp != NULL ? amp : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        size_t klen = eq != NULL ? (size_t)(eq - p) : (size_t)(end - p);
        char key[32], val[256];
        size_t vlen = eq != NULL ? (size_t)(end - eq - 1) : 0;

        if (eq == NULL || vlen >= sizeof(val) || klen >= sizeof(key))
            return pl_status_set(st, PL_ECONFIG, 0, "bad option near '%.30s'", p);
        memcpy(key, p, klen);
        key[klen] = '\0';
        memcpy(val, eq + 1, vlen);
        val[vlen] = '\0';
        if (sim_key(key, val, sc, files, cap, st) < 0)
            return PL_ECONFIG;
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
    sc.listen.max_conns = sim->max_conns;
    sc.listen.allow = sim->allow;
    sc.animate_ms = sim->animate_ms;
    sc.delay_ms = sim->delay_ms;
    sc.close_after = sim->close_after;
    sc.idle_timeout_ms = sim->idle_timeout_ms;
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

static const char *sim_address(void *sim)
{
    return pl_pccc_server_address(sim);
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
    .sim_usage = "pccc://HOST[:PORT][?plc=TYPE&KEY=VALUE...]\n"
                 "  a PCCC PLC simulator (EtherNet/IP; TYPE slc500, micrologix, plc5 or\n"
                 "  logix; default slc500); --animate changes N7:0 (counter), N7:1 (0..99)\n"
                 "  and F8:0 (sine). It is as strict as the strictest targets met in the\n"
                 "  field (docs/pccc-simulator.md); --max-inflight, --connected,\n"
                 "  --lax-register and --requestor relax or tighten it.\n",
    .sim_options = sim_options,
    .sim_defaults = "max_inflight=1&connected=0", /* strict, as targets met in the field */
    .sim_address = sim_address,
};
