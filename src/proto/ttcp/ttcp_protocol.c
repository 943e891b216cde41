/* SPDX-License-Identifier: MIT */
/*
 * The 7TTCP descriptor for the protocol registry (src/proto/registry.h): its keys with their
 * defaults (the only place they are written down), its engine driver, and its simulator
 * with the options `plcline serve` gives it.
 */
#include "proto/registry.h"

#include "plcline/error.h"
#include "plcline/ttcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TTCP_BLOCK_MAX 256u      /* 7TTCP manual, error 0x5501: at most 256 words a block */
#define TTCP_NODES_MAX 4096u     /* pl_ttcp_server_config_t: at most 4096 nodes */
#define KEEPALIVE_MAX  86400000u /* a day, in ms */
#define IGNORE_MAX     64u       /* nodes a simulator may be told to ignore */
#define PATH_MAX_TEXT  200u      /* characters of a persistence file's name */
#define INFLIGHT_MAX   1024u     /* a simulator's max_inflight, as the PCCC simulator's */

extern const pl_driver_t pl_driver_ttcp; /* drv_ttcp.c */
extern const pl_protocol_t pl_protocol_ttcp;

static const pl_proto_key_t line_keys[] = {
    {"keepalive", PL_KEY_MS, 0, KEEPALIVE_MAX, 0, "10000"}, /* 0: off */
    {"max_block", PL_KEY_UINT, 1, TTCP_BLOCK_MAX, 0, "256"},
    /* requests in flight per device, a ceiling: a node that takes one at a time is found
     * out and kept at 1 (docs/7ttcp.md); 1: one at a time from the start */
    {"inflight", PL_KEY_UINT, 1, PL_TTCP_INFLIGHT_MAX, 0, "16"},
    {NULL, PL_KEY_UINT, 0, 0, 0, NULL},
};

static const pl_proto_key_t device_keys[] = {
    {"node", PL_KEY_UINT, 0, UINT32_MAX, 0, "0"},
    {NULL, PL_KEY_UINT, 0, 0, 0, NULL},
};

static const pl_proto_key_t tag_keys[] = {
    {"swap", PL_KEY_BOOL, 0, 1, 0, "0"}, /* 32-bit values high word first */
    {NULL, PL_KEY_UINT, 0, 0, 0, NULL},
};

static const pl_proto_key_t sim_keys[] = {
    {"nodes", PL_KEY_RANGE, 0, UINT32_MAX, TTCP_NODES_MAX, "0-7"},
    {"max_block", PL_KEY_UINT, 1, TTCP_BLOCK_MAX, 0, "256"},
    {"ignore_nodes", PL_KEY_LIST, 0, UINT32_MAX, IGNORE_MAX, NULL},
    {"persist", PL_KEY_TEXT, 0, PATH_MAX_TEXT, 0, NULL},
    /* a node serving N requests at a time (docs/7ttcp.md, "The node simulator"); 0: any */
    {"max_inflight", PL_KEY_UINT, 0, INFLIGHT_MAX, 0, "0"},
    {"inflight_drop", PL_KEY_BOOL, 0, 1, 0, "0"}, /* past it: ignored, not a close */
    {NULL, PL_KEY_UINT, 0, 0, 0, NULL},
};

/* `plcline serve 7ttcp://` options, each a simulator key. */
static const pl_sim_option_t sim_options[] = {
    {"--nodes", "nodes", "A-B", NULL, 0, "node numbers served (default 0-7)"},
    {"--max-block", "max_block", "N", NULL, 0, "largest block accepted, words (default 256)"},
    {"--ignore-node", "ignore_nodes", "N", NULL, 1,
     "never answer requests for node N (repeatable)"},
    {"--persist", "persist", "FILE", NULL, 0, "load words from FILE at start, save them at exit"},
    {"--max-inflight", "max_inflight", "N", NULL, 0,
     "a request arriving while N are unanswered closes the\n"
     "connection (0, the default: no limit)"},
    {"--inflight-drop", "inflight_drop", NULL, "1", 0,
     "with --max-inflight: ignore such a request (no answer)\n"
     "instead of closing the connection"},
    {NULL, NULL, NULL, NULL, 0, NULL},
};

static int sim_new(uv_loop_t *loop, const pl_proto_sim_t *sim, void **out, char *what,
                   size_t what_cap, pl_status_t *err)
{
    pl_ttcp_server_config_t sc;
    pl_ttcp_server_t *s = NULL;
    char nodes[32] = "0-7", list[PL_KEYS_MAX], path[PATH_MAX_TEXT + 1], *p;
    uint32_t ignore[IGNORE_MAX];
    size_t n_ignore = 0;
    int rc;

    pl_ttcp_server_config_init(&sc);
    sc.listen.addr = sim->listen;
    sc.listen.port = sim->port;
    sc.listen.max_conns = sim->max_conns;
    sc.listen.allow = sim->allow;
    (void)pl_keys_get(sim->keys, "nodes", nodes, sizeof(nodes));
    sc.node_first = (uint32_t)strtoul(nodes, &p, 10);
    sc.node_last = *p == '-' ? (uint32_t)strtoul(p + 1, NULL, 10) : sc.node_first;
    sc.max_block = pl_protocol_uint(&pl_protocol_ttcp, PL_KEYS_SIM, sim->keys, "max_block");
    if (pl_keys_get(sim->keys, "ignore_nodes", list, sizeof(list)))
        for (p = list; n_ignore < IGNORE_MAX; p++) { /* checked: numbers separated by ',' */
            ignore[n_ignore++] = (uint32_t)strtoul(p, &p, 10);
            if (*p != ',')
                break;
        }
    sc.ignore_nodes = ignore;
    sc.n_ignore = n_ignore;
    if (pl_keys_get(sim->keys, "persist", path, sizeof(path)))
        sc.persist_path = path;
    sc.animate_ms = sim->animate_ms;
    sc.delay_ms = sim->delay_ms;
    sc.close_after = sim->close_after;
    sc.idle_timeout_ms = sim->idle_timeout_ms;
    sc.max_inflight = pl_protocol_uint(&pl_protocol_ttcp, PL_KEYS_SIM, sim->keys, "max_inflight");
    sc.inflight_drop =
        (uint8_t)pl_protocol_uint(&pl_protocol_ttcp, PL_KEYS_SIM, sim->keys, "inflight_drop");
    sc.log = sim->log;
    rc = pl_ttcp_server_new(loop, &sc, &s, err);
    if (rc < 0)
        return rc;
    snprintf(what, what_cap, "7TTCP nodes %u-%u on %s", sc.node_first, sc.node_last,
             pl_ttcp_server_address(s));
    *out = s;
    return 0;
}

static void sim_free(void *sim)
{
    (void)pl_ttcp_server_free(sim);
}

static uint16_t sim_port(void *sim)
{
    return pl_ttcp_server_port(sim);
}

static const char *sim_address(void *sim)
{
    return pl_ttcp_server_address(sim);
}

const pl_protocol_t pl_protocol_ttcp = {
    .name = "7ttcp",
    .scheme = "7ttcp",
    .title = "7TTCP",
    .port = PL_TTCP_PORT,
    .redundancy = PL_REDUNDANCY_ALTERNATE,
    .keys = {line_keys, device_keys, tag_keys, sim_keys},
    .driver = &pl_driver_ttcp,
    .keys_check = NULL,
    .sim_new = sim_new,
    .sim_free = sim_free,
    .sim_port = sim_port,
    .usage = "7TTCP URL: 7ttcp://HOST[:PORT][/NODE][?key=value&...]\n"
             "  HOST     IPv4, [IPv6] or name; a list 'a,b;c' is tried in turn\n"
             "  PORT     default 12398; NODE default 0\n"
             "  keys     timeout=MS (1000) keepalive=S max_block=WORDS (256) swap=0|1\n"
             "           connect_timeout=MS local=ADDR[:PORT] queue=N\n"
             "7TTCP ADDR: W<off> u16, I<off> i16, D<off> u32, L<off> i32, F<off> float32,\n"
             "  B<off> byte, W<off>/<bit> bit; optional ,<count>\n",
    .sim_usage = "7ttcp://HOST[:PORT][?KEY=VALUE&...]\n"
                 "  a 7TTCP node simulator, 65536 words per node; --animate changes words\n"
                 "  0..9 of every node\n",
    .sim_options = sim_options,
    .sim_defaults = NULL,
    .sim_address = sim_address,
};
