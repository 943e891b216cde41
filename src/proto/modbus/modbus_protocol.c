/* SPDX-License-Identifier: MIT */
/*
 * The Modbus TCP descriptor for the protocol registry (src/proto/registry.h): its keys with
 * their defaults (the only place they are written down), its engine driver and its usage.
 * A line is one connection (to a device or a gateway); a device is one unit behind it.
 * Redundancy is alternate by default, as the D2000 line documentation says of Modbus
 * Client: one connection, primary hosts then backup hosts.
 */
#include "proto/registry.h"
#include "proto/modbus/expose.h"

#include "plcline/error.h"
#include "plcline/modbus.h"
#include "plcline/modbus_client.h"
#include "proto/modbus/codec/modbus.h"
#include "proto/modbus/codec/modbus_addr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const pl_driver_t pl_driver_modbus; /* drv_modbus.c */
extern const pl_protocol_t pl_protocol_modbus;

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

#define UNITS_MAX     64u  /* units a simulator is told to serve or to ignore */
#define PATH_MAX_TEXT 200u /* characters of a persistence file's name */
#define FAULT_TEXT    48u  /* "hr100,50=4": an address range and an exception code */

static const pl_proto_key_t sim_keys[] = {
    {"units", PL_KEY_LIST, 0, 255, UNITS_MAX, "1"},
    {"ignore_units", PL_KEY_LIST, 0, 255, UNITS_MAX, NULL},
    {"unserved_exception", PL_KEY_UINT, 0, 255, 0, "0"},
    {"any_unit", PL_KEY_BOOL, 0, 1, 0, "0"},
    {"at_once", PL_KEY_UINT, 0, 1024, 0, "1"},
    {"exception", PL_KEY_TEXT, 0, FAULT_TEXT, 0, NULL},
    {"persist", PL_KEY_TEXT, 0, PATH_MAX_TEXT, 0, NULL},
    /* exposed tags (docs/modbus.md, "Serving other devices' values") */
    {"byte_order", PL_KEY_WORD, 0, 0, 0, "ABCD"},
    {"bad_exception", PL_KEY_UINT, 0, 255, 0, "0"},
    {NULL, PL_KEY_UINT, 0, 0, 0, NULL},
};

/* `plcline serve modbus://` options, each a simulator key. */
static const pl_sim_option_t sim_options[] = {
    {"--unit", "units", "N", NULL, 1, "serve unit N (repeatable; default 1)"},
    {"--ignore-unit", "ignore_units", "N", NULL, 1,
     "never answer unit N, as a gateway's dead unit (repeatable)"},
    {"--unserved-exception", "unserved_exception", "X", NULL, 0,
     "answer a unit not served with exception X (10 or 11, as a gateway;\n"
     "default: no answer)"},
    {"--any-unit", "any_unit", NULL, "1", 0, "answer every unit from the first unit's tables"},
    {"--at-once", "at_once", "N", NULL, 0,
     "requests served at once per connection (default 1; 0: no limit)"},
    {"--exception", "exception", "ADDR=X", NULL, 0,
     "answer requests touching ADDR (e.g. hr100,50) with exception X"},
    {"--persist", "persist", "FILE", NULL, 0, "load the tables from FILE at start, save at exit"},
    {NULL, NULL, NULL, NULL, 0, NULL},
};

/* Parses "ADDR=X" (hr100,50=4) into a fault for every unit. */
static int parse_fault(const char *text, pl_modbus_fault_t *f, pl_status_t *err)
{
    char addr[FAULT_TEXT + 1];
    const char *eq = strrchr(text, '=');
    pl_modbus_addr_t a;
    unsigned long x;
    char *end;

    if (eq == NULL || (size_t)(eq - text) > FAULT_TEXT)
        return pl_status_set(err, PL_ECONFIG, 0, "'exception' is '%.30s', expected ADDR=X", text);
    memcpy(addr, text, (size_t)(eq - text));
    addr[eq - text] = '\0';
    x = strtoul(eq + 1, &end, 0);
    if (pl_modbus_addr_parse(&a, addr, 0, NULL) < 0 || eq[1] == '\0' || *end != '\0' || x < 1 ||
        x > 255)
        return pl_status_set(err, PL_ECONFIG, 0,
                             "'exception' is '%.30s', expected ADDR=X with a Modbus address "
                             "and an exception code 1-255",
                             text);
    f->unit = PL_MODBUS_SERVER_ANY_UNIT;
    f->table = (pl_modbus_table_id_t)a.table;
    f->first = a.addr;
    f->last = (uint16_t)(a.addr + pl_modbus_addr_units(&a) - 1u);
    f->exception = (uint8_t)x;
    return 0;
}

/* byte_order is one of the four orders, in any case; a simulator's exception is a range. */
static int keys_check(pl_key_scope_t scope, const char *keys, pl_status_t *err)
{
    pl_modbus_order_t o;
    pl_modbus_fault_t f;
    char v[FAULT_TEXT + 8];

    if ((scope == PL_KEYS_DEVICE || scope == PL_KEYS_TAG || scope == PL_KEYS_SIM) &&
        pl_keys_get(keys, "byte_order", v, sizeof(v)) &&
        pl_modbus_order_parse(v, strlen(v), &o) < 0)
        return pl_status_set(err, PL_ECONFIG, 0,
                             "'byte_order' is '%.20s', expected ABCD, CDAB, BADC or DCBA", v);
    if (scope == PL_KEYS_SIM && pl_keys_get(keys, "exception", v, sizeof(v)))
        return parse_fault(v, &f, err);
    return 0;
}

/* A list key ("1,2,5", checked) into out[]; returns the count. */
static size_t units_of(const char *keys, const char *name, uint8_t *out)
{
    char list[PL_KEYS_MAX], *p;
    size_t n = 0;

    if (!pl_keys_get(keys, name, list, sizeof(list)))
        return 0;
    for (p = list; n < UNITS_MAX; p++) {
        out[n++] = (uint8_t)strtoul(p, &p, 10);
        if (*p != ',')
            break;
    }
    return n;
}

/* A running simulator: the server, its keys (for exposed tags) and its exposed tags. */
typedef struct {
    pl_modbus_server_t *s;
    pl_modbus_expose_t *x;
} msim_t;

static int sim_new(uv_loop_t *loop, const pl_proto_sim_t *sim, void **out, char *what,
                   size_t what_cap, pl_status_t *err)
{
    msim_t *m;
    pl_modbus_server_config_t sc;
    pl_modbus_server_t *s = NULL;
    pl_modbus_fault_t fault;
    uint8_t units[UNITS_MAX], ignore[UNITS_MAX];
    char path[PATH_MAX_TEXT + 1], text[FAULT_TEXT + 1];
    int rc;

    pl_modbus_server_config_init(&sc);
    sc.listen.addr = sim->listen;
    sc.listen.port = sim->port;
    sc.listen.max_conns = sim->max_conns;
    sc.listen.allow = sim->allow;
    sc.n_units = units_of(sim->keys, "units", units);
    sc.units = units;
    if (sc.n_units == 0) { /* the default, "1" */
        units[0] = 1;
        sc.n_units = 1;
    }
    sc.n_ignore = units_of(sim->keys, "ignore_units", ignore);
    sc.ignore_units = ignore;
    sc.unserved_exception = (uint8_t)pl_protocol_uint(&pl_protocol_modbus, PL_KEYS_SIM, sim->keys,
                                                      "unserved_exception");
    sc.any_unit = (int)pl_protocol_uint(&pl_protocol_modbus, PL_KEYS_SIM, sim->keys, "any_unit");
    sc.at_once = pl_protocol_uint(&pl_protocol_modbus, PL_KEYS_SIM, sim->keys, "at_once");
    if (pl_keys_get(sim->keys, "exception", text, sizeof(text))) {
        if ((rc = parse_fault(text, &fault, err)) < 0)
            return rc;
        sc.faults = &fault;
        sc.n_faults = 1;
    }
    if (pl_keys_get(sim->keys, "persist", path, sizeof(path)))
        sc.persist_path = path;
    sc.animate_ms = sim->animate_ms;
    sc.delay_ms = sim->delay_ms;
    sc.close_after = sim->close_after;
    sc.idle_timeout_ms = sim->idle_timeout_ms;
    sc.log = sim->log;
    if ((m = calloc(1, sizeof(*m))) == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    rc = pl_modbus_server_new(loop, &sc, &s, err);
    if (rc < 0) {
        free(m);
        return rc;
    }
    snprintf(what, what_cap, "Modbus TCP server, %zu unit(s) from %u, on %s", sc.n_units,
             (unsigned)units[0], pl_modbus_server_address(s));
    m->s = s;
    *out = m;
    return 0;
}

static void sim_free(void *sim)
{
    msim_t *m = sim;

    pl_modbus_expose_free(m->x);
    (void)pl_modbus_server_free(m->s);
    free(m);
}

static uint16_t sim_port(void *sim)
{
    return pl_modbus_server_port(((msim_t *)sim)->s);
}

static const char *sim_address(void *sim)
{
    return pl_modbus_server_address(((msim_t *)sim)->s);
}

static int sim_expose(void *sim, const char *keys, const pl_sim_point_t *pts, size_t n,
                      pl_sim_write_cb on_write, void *ud, size_t *bad, pl_status_t *err)
{
    msim_t *m = sim;

    return pl_modbus_expose(m != NULL ? m->s : NULL, keys, pts, n, on_write, ud,
                            m != NULL ? &m->x : NULL, bad, err);
}

static int sim_expose_set(void *sim, size_t i, const pl_value_t *v, pl_quality_t q,
                          pl_status_t *err)
{
    return pl_modbus_expose_set(((msim_t *)sim)->x, i, v, q, err);
}

const pl_protocol_t pl_protocol_modbus = {
    .name = "modbus",
    .scheme = "modbus",
    .title = "Modbus TCP",
    .port = PL_MODBUS_CLIENT_PORT,
    .redundancy = PL_REDUNDANCY_ALTERNATE,
    .keys = {line_keys, device_keys, tag_keys, sim_keys},
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
    .sim_usage = "modbus://HOST[:PORT][?KEY=VALUE&...]\n"
                 "  a Modbus TCP server: 65536 coils, discrete inputs, input and holding\n"
                 "  registers per unit served; --animate changes ir0..ir7 and di0..di1\n",
    .sim_options = sim_options,
    .sim_defaults = NULL,
    .sim_address = sim_address,
    .sim_expose = sim_expose,
    .sim_expose_set = sim_expose_set,
};
