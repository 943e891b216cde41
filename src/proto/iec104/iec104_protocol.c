/* SPDX-License-Identifier: MIT */
/*
 * The IEC 60870-5-104 descriptor for the protocol registry (src/proto/registry.h): its keys
 * with their defaults (the only place they are written down) and its controlled-station
 * simulator with the options `plcline serve` gives it. Its engine driver (drv_iec104.c) is
 * event-driven: the tags get the values the station sends, they have no scan class.
 *
 * A line's protocol keys are the client's URL query keys (timers, windows, field sizes,
 * originator address, gi_period, time_sync) under one key `options`, as PCCC does, so the
 * configuration's table of key names does not grow by a dozen names for one protocol.
 * Redundancy is parallel by default: the protocol the D2000 text names for it.
 */
#include "proto/registry.h"

#include "plcline/error.h"
#include "plcline/iec104.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IEC104_PORT   2404u
#define POINTS_TEXT   200u      /* characters of a point spec in a key string */
#define PATH_MAX_TEXT 200u      /* characters of a points file's name */
#define TIMER_MAX     255000u   /* the standard's timers are at most 255 s */
#define IOA_MAX       16777215u /* three octets */
#define GI_PERIOD_MAX 86400000u /* a day */

extern const pl_protocol_t pl_protocol_iec104;
extern const pl_driver_t pl_driver_iec104; /* drv_iec104.c */

static const pl_proto_key_t line_keys[] = {
    {"options", PL_KEY_QUERY, 0, 0, 0, NULL}, /* "t1=15000&k=12": option_keys below */
    {NULL, PL_KEY_UINT, 0, 0, 0, NULL},
};

/* The keys of a line's `options` (and of the client's URL query), checked by keys_check. */
static const pl_proto_key_t option_keys[] = {
    {"t0", PL_KEY_MS, 1, TIMER_MAX, 0, "30000"},
    {"t1", PL_KEY_MS, 1, TIMER_MAX, 0, "15000"},
    {"t2", PL_KEY_MS, 1, TIMER_MAX, 0, "10000"},
    {"t3", PL_KEY_MS, 1, TIMER_MAX, 0, "20000"},
    {"k", PL_KEY_UINT, 1, 32767, 0, "12"},
    {"w", PL_KEY_UINT, 1, 32767, 0, "8"},
    {"cot_size", PL_KEY_UINT, 1, 2, 0, "2"},
    {"ca_size", PL_KEY_UINT, 1, 2, 0, "2"},
    {"ioa_size", PL_KEY_UINT, 1, 3, 0, "3"},
    {"originator", PL_KEY_UINT, 0, 255, 0, "0"},
    {"gi_period", PL_KEY_MS, 0, GI_PERIOD_MAX, 0, "0"}, /* 0: off */
    {"time_sync", PL_KEY_BOOL, 0, 1, 0, "0"},
    {"timeout", PL_KEY_MS, 1, GI_PERIOD_MAX, 0, "10000"}, /* a command's ACT_CON + ACT_TERM */
    {NULL, PL_KEY_UINT, 0, 0, 0, NULL},
};

static const pl_proto_key_t device_keys[] = {
    {"ca", PL_KEY_UINT, 1, 65535, 0, "1"}, /* common address of ASDU */
    {NULL, PL_KEY_UINT, 0, 0, 0, NULL},
};

static const pl_proto_key_t sim_keys[] = {
    {"points", PL_KEY_TEXT, 0, POINTS_TEXT, 0, NULL},
    {"points_file", PL_KEY_TEXT, 0, PATH_MAX_TEXT, 0, NULL},
    {"ca", PL_KEY_UINT, 1, 65534, 0, "1"},
    {"event_ioa", PL_KEY_UINT, 0, IOA_MAX, 0, "0"},
    {"grouping", PL_KEY_WORD, 0, 0, 0, "one"},
    {"k", PL_KEY_UINT, 1, PL_IEC104_SERVER_MAX_K, 0, "12"},
    {"w", PL_KEY_UINT, 1, PL_IEC104_SERVER_MAX_K, 0, "8"},
    {"t1", PL_KEY_MS, 1, TIMER_MAX, 0, "15000"},
    {"t2", PL_KEY_MS, 1, TIMER_MAX, 0, "10000"},
    {"t3", PL_KEY_MS, 1, TIMER_MAX, 0, "20000"},
    {"require_select", PL_KEY_BOOL, 0, 1, 0, "0"},
    {"ignore_testfr", PL_KEY_BOOL, 0, 1, 0, "0"},
    {"ignore_startdt", PL_KEY_BOOL, 0, 1, 0, "0"},
    {NULL, PL_KEY_UINT, 0, 0, 0, NULL},
};

/* `plcline serve iec104://` options, each a simulator key. */
static const pl_sim_option_t sim_options[] = {
    {"--points", "points", "SPEC", NULL, 0,
     "information objects, e.g. \"M_ME_NC_1:1001-1100 C_SE_NC_1:5001\"\n"
     "(default: a small set, docs/iec104.md)"},
    {"--points-file", "points_file", "FILE", NULL, 0, "read the point spec from FILE"},
    {"--ca", "ca", "N", NULL, 0, "common address of ASDU (default 1)"},
    {"--event-ioa", "event_ioa", "IOA", NULL, 0,
     "number the animation's events on this M_IT_NA_1 counter"},
    {"--grouping", "grouping", "HOW", NULL, 0,
     "redundancy groups: one (default), address, connection"},
    {"--k", "k", "N", NULL, 0, "I-frames sent unconfirmed at most (default 12)"},
    {"--w", "w", "N", NULL, 0, "I-frames received before acknowledging (default 8)"},
    {"--t1", "t1", "MS", NULL, 0, "acknowledgement timeout (default 15000)"},
    {"--t2", "t2", "MS", NULL, 0, "acknowledge received I-frames within (default 10000)"},
    {"--t3", "t3", "MS", NULL, 0, "TESTFR after this silence (default 20000)"},
    {"--require-select", "require_select", NULL, "1", 0,
     "commands must be selected before they are executed"},
    {"--ignore-testfr", "ignore_testfr", NULL, "1", 0, "fault: never answer TESTFR act"},
    {"--ignore-startdt", "ignore_startdt", NULL, "1", 0, "fault: never confirm STARTDT act"},
    {NULL, NULL, NULL, NULL, 0, NULL},
};

static int grouping_of(const char *word, pl_iec104_grouping_t *g)
{
    if (strcmp(word, "one") == 0)
        *g = PL_IEC104_GROUP_ONE;
    else if (strcmp(word, "address") == 0)
        *g = PL_IEC104_GROUP_BY_ADDRESS;
    else if (strcmp(word, "connection") == 0)
        *g = PL_IEC104_GROUP_PER_CONNECTION;
    else
        return -1;
    return 0;
}

/* The options of a line: each one of option_keys, its value of its kind. */
static int options_check(const char *keys, pl_status_t *err)
{
    const char *s = keys;

    while (*s != '\0') {
        size_t n = strcspn(s, "&"), kl = strcspn(s, "=&");
        char name[32], value[PL_KEYS_MAX];
        const pl_proto_key_t *k;

        if (kl >= sizeof(name) || kl == n || n - kl - 1 >= sizeof(value))
            return pl_status_set(err, PL_ECONFIG, 0, "bad option near '%.30s', expected key=value",
                                 s);
        memcpy(name, s, kl);
        name[kl] = '\0';
        for (k = option_keys; k->name != NULL && strcmp(k->name, name) != 0; k++)
            ;
        if (k->name == NULL)
            return pl_status_set(err, PL_ECONFIG, 0, "'%s' does not apply to iec104", name);
        memcpy(value, s + kl + 1, n - kl - 1);
        value[n - kl - 1] = '\0';
        if (pl_protocol_key_value_check(k, value, err) != 0)
            return PL_ECONFIG;
        s += n;
        if (*s == '&')
            s++;
    }
    return 0;
}

static int keys_check(pl_key_scope_t scope, const char *keys, pl_status_t *err)
{
    pl_iec104_grouping_t g;
    char v[32];

    if (scope == PL_KEYS_LINE)
        return options_check(keys, err);
    if (scope == PL_KEYS_SIM && pl_keys_get(keys, "grouping", v, sizeof(v)) &&
        grouping_of(v, &g) < 0)
        return pl_status_set(err, PL_ECONFIG, 0,
                             "'grouping' is '%.20s', expected one, address or connection", v);
    return 0;
}

static unsigned sim_uint(const pl_proto_sim_t *sim, const char *name)
{
    return pl_protocol_uint(&pl_protocol_iec104, PL_KEYS_SIM, sim->keys, name);
}

static int sim_new(uv_loop_t *loop, const pl_proto_sim_t *sim, void **out, char *what,
                   size_t what_cap, pl_status_t *err)
{
    pl_iec104_server_config_t sc;
    pl_iec104_server_t *s = NULL;
    char points[POINTS_TEXT + 1], path[PATH_MAX_TEXT + 1], word[32];
    int rc;

    pl_iec104_server_config_init(&sc);
    sc.listen.addr = sim->listen;
    sc.listen.port = sim->port;
    sc.listen.max_conns = sim->max_conns;
    sc.listen.allow = sim->allow;
    if (pl_keys_get(sim->keys, "points", points, sizeof(points)))
        sc.points = points;
    if (pl_keys_get(sim->keys, "points_file", path, sizeof(path)))
        sc.points_file = path;
    if (pl_keys_get(sim->keys, "grouping", word, sizeof(word)) && grouping_of(word, &sc.grouping))
        return pl_status_set(err, PL_ECONFIG, 0,
                             "'grouping' is '%.20s', expected one, address or connection", word);
    sc.ca = (uint16_t)sim_uint(sim, "ca");
    sc.event_ioa = sim_uint(sim, "event_ioa");
    sc.k = sim_uint(sim, "k");
    sc.w = sim_uint(sim, "w");
    sc.t1_ms = sim_uint(sim, "t1");
    sc.t2_ms = sim_uint(sim, "t2");
    sc.t3_ms = sim_uint(sim, "t3");
    sc.require_select = (int)sim_uint(sim, "require_select");
    sc.ignore_testfr = (int)sim_uint(sim, "ignore_testfr");
    sc.ignore_startdt = (int)sim_uint(sim, "ignore_startdt");
    sc.animate_ms = sim->animate_ms;
    sc.delay_ms = sim->delay_ms;
    sc.close_after = sim->close_after;
    sc.log = sim->log;
    rc = pl_iec104_server_new(loop, &sc, &s, err);
    if (rc < 0)
        return rc;
    snprintf(what, what_cap, "IEC 60870-5-104 controlled station, common address %u, on %s",
             (unsigned)sc.ca, pl_iec104_server_address(s));
    *out = s;
    return 0;
}

static void sim_free(void *sim)
{
    pl_iec104_server_free(sim);
}

static uint16_t sim_port(void *sim)
{
    return pl_iec104_server_port(sim);
}

static const char *sim_address(void *sim)
{
    return pl_iec104_server_address(sim);
}

const pl_protocol_t pl_protocol_iec104 = {
    .name = "iec104",
    .scheme = "iec104",
    .title = "IEC 60870-5-104",
    .port = IEC104_PORT,
    .redundancy = PL_REDUNDANCY_PARALLEL,
    .keys = {line_keys, device_keys, NULL, sim_keys},
    .driver = &pl_driver_iec104,
    .keys_check = keys_check,
    .sim_new = sim_new,
    .sim_free = sim_free,
    .sim_port = sim_port,
    .usage = "IEC 104 URL: iec104://HOST[:PORT][/CA][?key=value&...]\n"
             "  HOST     IPv4, [IPv6] or name; a list 'a,b;c' is tried in turn\n"
             "  PORT     default 2404; CA (common address) 1..65535, default 1\n"
             "  keys     t0 t1 t2 t3=MS k=N w=N cot_size ca_size ioa_size originator\n"
             "           gi_period=MS time_sync=0|1 timeout=MS\n"
             "IEC 104 ADDR: IOA (information object address) or TYPE:IOA (M_ME_NC_1:1001);\n"
             "  read: --all prints the whole general interrogation's answer; write:\n"
             "  TYPE:IOA[:sbo][:qN]=VALUE with a command type (C_SE_NC_1:5001=1.5)\n",
    .sim_usage = "iec104://HOST[:PORT][?KEY=VALUE&...]\n"
                 "  an IEC 60870-5-104 controlled station: the information objects of\n"
                 "  --points; --animate sends one numbered spontaneous event a step\n",
    .sim_options = sim_options,
    .sim_defaults = NULL,
    .sim_address = sim_address,
};
