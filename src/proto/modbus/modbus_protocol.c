/* SPDX-License-Identifier: MIT */
/*
 * The Modbus TCP descriptor for the protocol registry (src/proto/registry.h): its keys with
 * their defaults (the only place they are written down), its engine driver and its usage.
 * A line is one connection (to a device or a gateway); a device is one unit behind it.
 * Redundancy is alternate by default, as the D2000 line documentation says of Modbus
 * Client: one connection, primary hosts then backup hosts.
 */
#include "proto/registry.h"

#include "plcline/error.h"
#include "plcline/modbus_client.h"
#include "proto/modbus/codec/modbus.h"
#include "proto/modbus/codec/modbus_addr.h"

#include <string.h>

extern const pl_driver_t pl_driver_modbus; /* drv_modbus.c */

static const pl_proto_key_t line_keys[] = {
    {"max_regs", PL_KEY_UINT, 1, PL_MODBUS_MAX_READ_REGS, 0, "125"},  /* writes: <= 123 */
    {"max_bits", PL_KEY_UINT, 1, PL_MODBUS_MAX_READ_BITS, 0, "2000"}, /* writes: <= 1968 */
    {"inflight", PL_KEY_UINT, 1, PL_MODBUS_CLIENT_MAX_INFLIGHT, 0, "1"},
    {NULL, PL_KEY_UINT, 0, 0, 0, NULL},
};

static const pl_proto_key_t device_keys[] = {
    {"unit", PL_KEY_UINT, 0, 255, 0, "1"},
    {"byte_order", PL_KEY_WORD, 0, 0, 0, "ABCD"},
    {"zero_based", PL_KEY_BOOL, 0, 1, 0, "0"},
    {NULL, PL_KEY_UINT, 0, 0, 0, NULL},
};

static const pl_proto_key_t tag_keys[] = {
    {"byte_order", PL_KEY_WORD, 0, 0, 0, NULL}, /* default: the device's */
    {NULL, PL_KEY_UINT, 0, 0, 0, NULL},
};

/* byte_order is one of the four orders, in any case. */
static int keys_check(pl_key_scope_t scope, const char *keys, pl_status_t *err)
{
    pl_modbus_order_t o;
    char v[32];

    if ((scope == PL_KEYS_DEVICE || scope == PL_KEYS_TAG) &&
        pl_keys_get(keys, "byte_order", v, sizeof(v)) &&
        pl_modbus_order_parse(v, strlen(v), &o) < 0)
        return pl_status_set(err, PL_ECONFIG, 0,
                             "'byte_order' is '%.20s', expected ABCD, CDAB, BADC or DCBA", v);
    return 0;
}

/* The simulator comes with the Modbus server; until then a 'simulators:' entry says so. */
static int sim_new(uv_loop_t *loop, const pl_proto_sim_t *sim, void **out, char *what,
                   size_t what_cap, pl_status_t *err)
{
    (void)loop;
    (void)sim;
    (void)out;
    (void)what;
    (void)what_cap;
    return pl_status_set(err, PL_ENOTSUP, 0, "no Modbus simulator in this build");
}

static void sim_free(void *sim)
{
    (void)sim;
}

static uint16_t sim_port(void *sim)
{
    (void)sim;
    return 0;
}

const pl_protocol_t pl_protocol_modbus = {
    .name = "modbus",
    .scheme = "modbus",
    .title = "Modbus TCP",
    .port = PL_MODBUS_CLIENT_PORT,
    .redundancy = PL_REDUNDANCY_ALTERNATE,
    .keys = {line_keys, device_keys, tag_keys},
    .driver = &pl_driver_modbus,
    .keys_check = keys_check,
    .sim_new = sim_new,
    .sim_free = sim_free,
    .sim_port = sim_port,
    .usage = "Modbus URL: modbus://HOST[:PORT][/UNIT][?key=value&...]\n"
             "  HOST     IPv4, [IPv6] or name; a list 'a,b;c' is tried in turn\n"
             "  PORT     default 502; UNIT 0..255, default 1\n"
             "  keys     timeout=MS (1000) byte_order=ABCD|CDAB|BADC|DCBA max_regs=N (125)\n"
             "           max_bits=N (2000) inflight=N (1) zero_based=0|1 queue=N\n"
             "           backup=HOSTS redundancy=alternate|parallel connect_timeout=MS\n"
             "Modbus ADDR: hr<N> ir<N> co<N> di<N> (0-based), or 4xxxx 3xxxx 0xxxx 1xxxx\n"
             "  (1-based); :u16 :i16 :u32 :i32 :f32 :u64 :i64 :f64 :str<N>; hr<N>/<bit>;\n"
             "  optional ,<count>\n",
};
