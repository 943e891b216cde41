/* SPDX-License-Identifier: MIT */
/*
 * The protocol registry (src/proto/registry.h): lookups by name and scheme in any case,
 * unknown protocols listing the known ones, every descriptor complete, key strings checked
 * against each scope's table with their messages, and defaults coming from the descriptor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "plcline/error.h"
#include "proto/registry.h"

static void test_find(void **state)
{
    const pl_protocol_t *p;
    char list[128];

    (void)state;
    assert_non_null(pl_protocol_find("7ttcp", 5));
    assert_ptr_equal(pl_protocol_find("7TTCP", 5), pl_protocol_find("7ttcp", 5));
    assert_ptr_equal(pl_protocol_find("PcCc", 4), pl_protocol_find("pccc", 4));
    assert_null(pl_protocol_find("pcc", 3));
    assert_null(pl_protocol_find("pcccc", 5));
    assert_null(pl_protocol_find("", 0));
    p = pl_protocol_find("pccc://x", 4); /* only the first len bytes count */
    assert_non_null(p);
    assert_string_equal(p->name, "pccc");
    assert_string_equal(pl_protocol_list(list, sizeof(list)), "7ttcp, pccc, modbus, iec104");
    assert_string_equal(pl_protocol_list(list, 8), "7ttcp, "); /* truncated, terminated */
}

static void test_of_url(void **state)
{
    const pl_protocol_t *p = NULL;
    pl_status_t st;

    (void)state;
    pl_status_clear(&st);
    assert_int_equal(pl_protocol_of_url("PCCC://h?plc=plc5", &p, &st), 0);
    assert_string_equal(p->name, "pccc");
    assert_int_equal(pl_protocol_of_url("Modbus://127.0.0.1:502/1", &p, &st), 0);
    assert_string_equal(p->name, "modbus");
    assert_int_equal(pl_protocol_of_url("s7://127.0.0.1:102/1", &p, &st), PL_EURL);
    assert_null(p);
    assert_string_equal(st.detail,
                        "unknown protocol 's7', expected one of: 7ttcp, pccc, modbus, iec104");
    assert_int_equal(pl_protocol_of_url("127.0.0.1:502", &p, &st), PL_EURL);
    assert_non_null(strstr(st.detail, "missing '://'"));
    assert_non_null(strstr(st.detail, "7ttcp, pccc, modbus, iec104"));
}

/* Every descriptor has what the engine, the daemon and the command rely on. */
static void test_descriptors_complete(void **state)
{
    const pl_protocol_t *p;
    size_t i, n = 0;

    (void)state;
    for (i = 0; (p = pl_protocol_at(i)) != NULL; i++, n++) {
        const pl_driver_t *d = p->driver;
        int s;

        assert_non_null(p->name);
        assert_true(strlen(p->name) < PL_PROTO_NAME_MAX);
        assert_non_null(p->scheme);
        assert_non_null(p->title);
        assert_true(p->port != 0);
        assert_non_null(p->usage);
        assert_non_null(p->sim_new);
        assert_non_null(p->sim_free);
        assert_non_null(p->sim_port);
        assert_non_null(d); /* the refusal of a driverless protocol: test_no_driver */
        assert_true(d->dev_new && d->dev_free && d->dev_start && d->max_inflight && d->addr_parse &&
                    d->check && d->write && d->stats);
        if (d->subscribe == NULL) /* polled: read by scan class */
            assert_true(d->limits && d->read && d->decode);
        assert_ptr_equal(pl_protocol_find(p->name, strlen(p->name)), p);
        assert_ptr_equal(pl_protocol_find(p->scheme, strlen(p->scheme)), p);
        for (s = 0; s < PL_KEYS_SCOPES; s++) {
            const pl_proto_key_t *k = p->keys[s];
            pl_status_t st;
            char keys[PL_KEYS_MAX] = "";

            /* every default passes the protocol's own check */
            for (; k != NULL && k->name != NULL; k++)
                if (k->def != NULL && k->kind != PL_KEY_QUERY)
                    assert_int_equal(pl_keys_add(keys, sizeof(keys), k->name, k->def), 0);
            pl_status_clear(&st);
            if (s == PL_KEYS_LINE && p->driver == NULL)
                continue; /* refused whatever the keys */
            if (pl_protocol_keys_check(p, (pl_key_scope_t)s, keys, &st) != 0)
                fail_msg("%s scope %d: defaults '%s': %s", p->name, s, keys, st.detail);
        }
    }
    assert_int_equal(n, 4);
}

static void expect_keys(const char *proto, pl_key_scope_t scope, const char *keys,
                        const char *detail)
{
    const pl_protocol_t *p = pl_protocol_find(proto, strlen(proto));
    pl_status_t st;
    int rc;

    pl_status_clear(&st);
    rc = pl_protocol_keys_check(p, scope, keys, &st);
    if (detail == NULL) {
        if (rc != 0)
            fail_msg("%s '%s': %s", proto, keys, st.detail);
        return;
    }
    assert_int_equal(rc, PL_ECONFIG);
    if (strstr(st.detail, detail) == NULL)
        fail_msg("%s '%s': detail '%s', wanted '%s'", proto, keys, st.detail, detail);
}

static void test_keys_check(void **state)
{
    (void)state;
    expect_keys("7ttcp", PL_KEYS_LINE, "", NULL);
    expect_keys("7ttcp", PL_KEYS_LINE, "keepalive=0&max_block=128", NULL);
    expect_keys("7ttcp", PL_KEYS_LINE, "max_block=257",
                "'max_block' is '257', expected a whole number from 1 to 256");
    expect_keys("7ttcp", PL_KEYS_LINE, "max_block=0", "from 1 to 256");
    expect_keys("7ttcp", PL_KEYS_LINE, "max_block=x", "'max_block' is 'x'");
    expect_keys("7ttcp", PL_KEYS_LINE, "plc=slc500", "'plc' does not apply to 7ttcp");
    expect_keys("7ttcp", PL_KEYS_LINE, "keepalive", "expected key=value");
    expect_keys("7ttcp", PL_KEYS_DEVICE, "node=4294967295", NULL);
    expect_keys("7ttcp", PL_KEYS_DEVICE, "node=4294967296", "'node' is '4294967296'");
    expect_keys("7ttcp", PL_KEYS_TAG, "swap=1", NULL);
    expect_keys("7ttcp", PL_KEYS_TAG, "swap=2", "'swap' is '2', expected 0 or 1");
    expect_keys("7ttcp", PL_KEYS_SIM, "nodes=3", NULL);
    expect_keys("7ttcp", PL_KEYS_SIM, "nodes=0-4095", NULL);
    expect_keys("7ttcp", PL_KEYS_SIM, "nodes=0-4096", "at most 4096 values");
    expect_keys("7ttcp", PL_KEYS_SIM, "nodes=7-1", "'nodes' is '7-1'");
    expect_keys("pccc", PL_KEYS_LINE, "plc=slc500&service=4b&path=1,0", NULL);
    expect_keys("pccc", PL_KEYS_LINE, "plc=slc501", "slc501");
    expect_keys("pccc", PL_KEYS_DEVICE, "dst=2&src=5", NULL);
    expect_keys("pccc", PL_KEYS_TAG, "", NULL);
    expect_keys("pccc", PL_KEYS_TAG, "swap=1", "'swap' does not apply to pccc");
    expect_keys("pccc", PL_KEYS_SIM, "plc=plc5&files=N7:10", NULL);
    expect_keys("pccc", PL_KEYS_SIM, "nodes=0-7", "unknown option 'nodes'");
    expect_keys("modbus", PL_KEYS_LINE, "max_regs=125&max_bits=2000&inflight=8", NULL);
    expect_keys("modbus", PL_KEYS_LINE, "max_regs=126", "from 1 to 125");
    expect_keys("modbus", PL_KEYS_LINE, "max_bits=2001", "from 1 to 2000");
    expect_keys("modbus", PL_KEYS_LINE, "inflight=0", "from 1 to 64");
    expect_keys("modbus", PL_KEYS_DEVICE, "unit=0&byte_order=cdab&zero_based=1", NULL);
    expect_keys("modbus", PL_KEYS_DEVICE, "unit=255", NULL);
    expect_keys("modbus", PL_KEYS_DEVICE, "unit=256", "'unit' is '256'");
    expect_keys("modbus", PL_KEYS_DEVICE, "byte_order=ABDC",
                "'byte_order' is 'ABDC', expected ABCD, CDAB, BADC or DCBA");
    expect_keys("modbus", PL_KEYS_DEVICE, "byte_order=A B", "expected a word");
    expect_keys("modbus", PL_KEYS_TAG, "byte_order=DCBA", NULL);
    expect_keys("modbus", PL_KEYS_TAG, "byte_order=x", "'byte_order' is 'x'");
    expect_keys("modbus", PL_KEYS_TAG, "swap=1", "'swap' does not apply to modbus");
    /* the simulator keys of `plcline serve`'s options */
    expect_keys("7ttcp", PL_KEYS_SIM, "ignore_nodes=5", NULL);
    expect_keys("7ttcp", PL_KEYS_SIM, "ignore_nodes=5,4294967295", NULL);
    expect_keys("7ttcp", PL_KEYS_SIM, "ignore_nodes=5,", "'ignore_nodes' is '5,'");
    expect_keys("7ttcp", PL_KEYS_SIM, "ignore_nodes=,5", "'ignore_nodes' is ',5'");
    expect_keys("7ttcp", PL_KEYS_SIM, "ignore_nodes=4294967296", "'ignore_nodes'");
    expect_keys("7ttcp", PL_KEYS_SIM,
                "ignore_nodes=0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,"
                "4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3",
                NULL);
    expect_keys("7ttcp", PL_KEYS_SIM,
                "ignore_nodes=0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,"
                "4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,4",
                "at most 64 numbers");
    expect_keys("7ttcp", PL_KEYS_SIM, "persist=/tmp/mem.bin&max_block=113", NULL);
    expect_keys("7ttcp", PL_KEYS_SIM, "persist=", "'persist' is ''");
    expect_keys("7ttcp", PL_KEYS_SIM, "max_block=257", "'max_block' is '257'");
    expect_keys("pccc", PL_KEYS_SIM,
                "max_inflight=0&connected=1&lax_register=1&requestor=0x1337:0x4C434C50&"
                "register_timeout=100",
                NULL);
    expect_keys("pccc", PL_KEYS_SIM, "requestor=4919:1", NULL);
    expect_keys("pccc", PL_KEYS_SIM, "max_inflight=1025", "'max_inflight' is '1025'");
    expect_keys("pccc", PL_KEYS_SIM, "max_inflight=0x1", "'max_inflight' is '0x1'");
    expect_keys("pccc", PL_KEYS_SIM, "connected=2", "'connected' is '2', expected 0 or 1");
    expect_keys("pccc", PL_KEYS_SIM, "register_timeout=0", "'register_timeout' is '0'");
    expect_keys("pccc", PL_KEYS_SIM, "requestor=0x10000:1", "'requestor' is '0x10000:1'");
    expect_keys("pccc", PL_KEYS_SIM, "requestor=12", "'requestor' is '12'");
    expect_keys("pccc", PL_KEYS_SIM, "requestor=1:0x", "'requestor' is '1:0x'");
    expect_keys("pccc", PL_KEYS_SIM, "plc=plc9", "'plc=plc9'");
    expect_keys("iec104", PL_KEYS_DEVICE, "ca=65535", NULL);
    expect_keys("iec104", PL_KEYS_DEVICE, "ca=0", "'ca' is '0'");
    expect_keys("iec104", PL_KEYS_SIM,
                "points=M_ME_NC_1:1001-1100 C_SE_NC_1:5001&ca=7&grouping=address&k=20&w=10&"
                "t1=2000&t2=1000&t3=5000&event_ioa=9000&ignore_testfr=1",
                NULL);
    expect_keys("iec104", PL_KEYS_SIM, "grouping=all", "'grouping' is 'all'");
    expect_keys("iec104", PL_KEYS_SIM, "k=0", "'k' is '0'");
    expect_keys("iec104", PL_KEYS_SIM, "nodes=1", "'nodes' does not apply to iec104");
    expect_keys("iec104", PL_KEYS_LINE, "", NULL);
    expect_keys("iec104", PL_KEYS_LINE, "t1=1000", NULL);
}

/* A protocol without an engine driver (none is registered like that now: a test-only
 * descriptor stands for it) cannot serve a line: every line of it is refused, by name,
 * whatever its keys; its devices' and simulator's keys are still checked. */
static void test_no_driver(void **state)
{
    static const pl_proto_key_t dev_keys[] = {
        {"ca", PL_KEY_UINT, 1, 65535, 0, "1"},
        {NULL, PL_KEY_UINT, 0, 0, 0, NULL},
    };
    static const pl_protocol_t p = {
        .name = "nodrv",
        .scheme = "nodrv",
        .title = "no driver",
        .port = 1,
        .keys = {NULL, dev_keys, NULL, NULL},
    };
    pl_status_t st;

    (void)state;
    pl_status_clear(&st);
    assert_int_equal(pl_protocol_keys_check(&p, PL_KEYS_LINE, "", &st), PL_ECONFIG);
    assert_string_equal(st.detail, "protocol 'nodrv' has no engine driver yet");
    assert_int_equal(pl_protocol_keys_check(&p, PL_KEYS_LINE, "t1=1000", &st), PL_ECONFIG);
    assert_non_null(strstr(st.detail, "has no engine driver yet"));
    pl_status_clear(&st);
    assert_int_equal(pl_protocol_keys_check(&p, PL_KEYS_DEVICE, "ca=2", &st), 0);
}

/* A line's IEC 104 options (its client's URL keys) are checked by the descriptor. */
static void test_iec104_options(void **state)
{
    const pl_protocol_t *p = pl_protocol_find("iec104", 6);
    pl_status_t st;

    (void)state;
    pl_status_clear(&st);
    assert_int_equal(p->keys_check(PL_KEYS_LINE, "", &st), 0);
    assert_int_equal(p->keys_check(PL_KEYS_LINE,
                                   "t0=30000&t1=15000&t2=10000&t3=20000&k=12&w=8&cot_size=1&"
                                   "ca_size=1&ioa_size=2&originator=3&gi_period=0&time_sync=1",
                                   &st),
                     0);
    assert_int_equal(p->keys_check(PL_KEYS_LINE, "t1=0", &st), PL_ECONFIG);
    assert_non_null(strstr(st.detail, "'t1'"));
    assert_int_equal(p->keys_check(PL_KEYS_LINE, "ioa_size=4", &st), PL_ECONFIG);
    assert_non_null(strstr(st.detail, "'ioa_size' is '4'"));
    assert_int_equal(p->keys_check(PL_KEYS_LINE, "node=1", &st), PL_ECONFIG);
    assert_string_equal(st.detail, "'node' does not apply to iec104");
    assert_int_equal(p->keys_check(PL_KEYS_LINE, "k", &st), PL_ECONFIG);
    assert_non_null(strstr(st.detail, "expected key=value"));
}

/* Each option `plcline serve` takes for a protocol sets a simulator key the protocol checks:
 * a flag's value and the command's defaults pass that check, an option is named once. */
static void test_sim_options(void **state)
{
    const pl_protocol_t *p;
    size_t i;

    (void)state;
    for (i = 0; (p = pl_protocol_at(i)) != NULL; i++) {
        const pl_sim_option_t *o;
        pl_status_t st;

        if (p->sim_new == NULL)
            continue;
        assert_non_null(p->sim_usage); /* `plcline serve` needs both */
        assert_non_null(p->sim_address);
        pl_status_clear(&st);
        if (p->sim_defaults != NULL &&
            pl_protocol_keys_check(p, PL_KEYS_SIM, p->sim_defaults, &st) != 0)
            fail_msg("%s: serve defaults '%s': %s", p->name, p->sim_defaults, st.detail);
        for (o = p->sim_options; o != NULL && o->option != NULL; o++) {
            const pl_sim_option_t *q;
            char keys[PL_KEYS_MAX] = "";

            assert_true(strncmp(o->option, "--", 2) == 0);
            assert_non_null(o->key);
            assert_non_null(o->help);
            assert_true((o->arg == NULL) != (o->value == NULL));
            for (q = o + 1; q->option != NULL; q++) /* an option is named once */
                assert_string_not_equal(q->option, o->option);
            if (o->value == NULL)
                continue;
            assert_int_equal(pl_keys_add(keys, sizeof(keys), o->key, o->value), 0);
            if (pl_protocol_keys_check(p, PL_KEYS_SIM, keys, &st) != 0)
                fail_msg("%s %s: '%s': %s", p->name, o->option, keys, st.detail);
        }
    }
}

static void test_defaults(void **state)
{
    const pl_protocol_t *t = pl_protocol_find("7ttcp", 5);
    char v[16];

    (void)state;
    /* one place for defaults: a line without keys gets the descriptor's keep-alive */
    assert_int_equal(pl_protocol_uint(t, PL_KEYS_LINE, "", "keepalive"), 10000);
    assert_int_equal(pl_protocol_uint(t, PL_KEYS_LINE, "keepalive=0", "keepalive"), 0);
    assert_int_equal(pl_protocol_uint(t, PL_KEYS_LINE, "max_block=12", "max_block"), 12);
    assert_int_equal(pl_protocol_uint(t, PL_KEYS_LINE, "", "max_block"), 256);
    assert_int_equal(pl_protocol_uint(t, PL_KEYS_DEVICE, "", "node"), 0);
    assert_int_equal(pl_protocol_uint(t, PL_KEYS_TAG, "swap=1", "swap"), 1);
    assert_int_equal(pl_keys_get("a=1&bb=22&b=3", "b", v, sizeof(v)), 1);
    assert_string_equal(v, "3");
    assert_int_equal(pl_keys_get("a=1&bb=22", "b", v, sizeof(v)), 0);
    assert_int_equal(pl_keys_get("files=N7:100 F8:20", "files", v, 6), 1);
    assert_string_equal(v, "N7:10"); /* truncated to cap */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_of_url),
        cmocka_unit_test(test_descriptors_complete),
        cmocka_unit_test(test_keys_check),
        cmocka_unit_test(test_iec104_options),
        cmocka_unit_test(test_no_driver),
        cmocka_unit_test(test_sim_options),
        cmocka_unit_test(test_defaults),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
