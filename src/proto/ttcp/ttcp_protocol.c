/* SPDX-License-Identifier: MIT */
/*
 * The 7TTCP descriptor for the protocol registry (src/proto/registry.h): its keys with their
 * defaults (the only place they are written down), its engine driver and its simulator.
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

extern const pl_driver_t pl_driver_ttcp; /* drv_ttcp.c */

static const pl_proto_key_t line_keys[] = {
    {"keepalive", PL_KEY_MS, 0, KEEPALIVE_MAX, 0, "10000"}, /* 0: off */
    {"max_block", PL_KEY_UINT, 1, TTCP_BLOCK_MAX, 0, "256"},
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
    {NULL, PL_KEY_UINT, 0, 0, 0, NULL},
};

static int sim_new(uv_loop_t *loop, const pl_proto_sim_t *sim, void **out, char *what,
                   size_t what_cap, pl_status_t *err)
{
    pl_ttcp_server_config_t sc;
    pl_ttcp_server_t *s = NULL;
    char nodes[32] = "0-7", *dash;
    int rc;

    pl_ttcp_server_config_init(&sc);
    sc.listen.addr = sim->listen;
    sc.listen.port = sim->port;
    (void)pl_keys_get(sim->keys, "nodes", nodes, sizeof(nodes));
    sc.node_first = (uint32_t)strtoul(nodes, &dash, 10);
    sc.node_last = *dash == '-' ? (uint32_t)strtoul(dash + 1, NULL, 10) : sc.node_first;
    sc.animate_ms = sim->animate_ms;
    sc.delay_ms = sim->delay_ms;
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
};
