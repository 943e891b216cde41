/* SPDX-License-Identifier: MIT */
/*
 * The configuration loader (src/engine/config.h) and the CSV reader (src/engine/csv.h): a
 * complete file with every key, both protocols, simulators, redundancy and a CSV include,
 * every field checked; each error class with its exact "FILE:LINE:COL: ..., expected ..."
 * message; CSV quoting and errors; durations; limits. Fixture files are written into a
 * mkdtemp() directory and removed afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <malloc.h> /* malloc_usable_size: the arrays are trimmed after loading */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/config.h"
#include "engine/csv.h"
#include "plcline/error.h"
#include "proto/registry.h"

#define MAX_FILES 16

static char dir[256];
static char created[MAX_FILES][320];
static int ncreated;
static pl_config_t cfg;
static char msg[2048];
static pl_status_t st;

static const char *path_of(const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", dir, name);
    return buf;
}

static void write_file(const char *name, const char *text, size_t len)
{
    char p[320];
    FILE *f;
    int i;

    path_of(name, p, sizeof(p));
    f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    for (i = 0; i < ncreated; i++)
        if (strcmp(created[i], p) == 0)
            return;
    assert_true(ncreated < MAX_FILES);
    snprintf(created[ncreated++], sizeof(created[0]), "%s", p);
}

static void write_text(const char *name, const char *text)
{
    write_file(name, text, strlen(text));
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/plcline-config-XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    int i;

    (void)state;
    for (i = 0; i < ncreated; i++)
        unlink(created[i]);
    return rmdir(dir);
}

/* Loads `yaml` written to DIR/t.yaml. */
static int load_yaml(const char *yaml)
{
    char p[320];

    write_text("t.yaml", yaml);
    pl_config_free(&cfg);
    return pl_config_load(&cfg, path_of("t.yaml", p, sizeof(p)), &st, msg, sizeof(msg));
}

/* `want` with every "DIR" replaced by the fixture directory. */
static void with_dir(const char *want, char *out, size_t cap)
{
    size_t n = 0;
    const char *at;

    out[0] = '\0';
    while ((at = strstr(want, "DIR")) != NULL && n < cap) {
        n += (size_t)snprintf(out + n, cap - n, "%.*s%s", (int)(at - want), want, dir);
        want = at + 3;
    }
    if (n < cap)
        snprintf(out + n, cap - n, "%s", want);
}

/* `yaml` (written to DIR/t.yaml) fails with `code` and the message `want` (DIR replaced). */
static void expect_message(const char *yaml, int code, const char *want)
{
    char full[2048];
    int rc = load_yaml(yaml);

    with_dir(want, full, sizeof(full));
    if (rc != code || strcmp(msg, full) != 0)
        print_error("yaml:\n%s\nrc %d, message\n  '%s'\nwanted\n  '%s'\n", yaml, rc, msg, full);
    assert_int_equal(rc, code);
    assert_int_equal(st.code, code);
    assert_string_equal(msg, full);
    /* the status detail is the same message, truncated */
    assert_int_equal(strncmp(st.detail, full, sizeof(st.detail) - 1), 0);
    pl_config_free(&cfg);
}

/* The same for messages about DIR/t.yaml: `want` starts after the file name (":L:C: ..."). */
static void expect_error_code(const char *yaml, int code, const char *want)
{
    char full[2048];

    snprintf(full, sizeof(full), "DIR/t.yaml%s", want);
    expect_message(yaml, code, full);
}

static void expect_error(const char *yaml, const char *want)
{
    expect_error_code(yaml, PL_ECONFIG, want);
}

static void expect_ok(const char *yaml)
{
    int rc = load_yaml(yaml);

    if (rc != 0)
        print_error("yaml:\n%s\nrc %d: %s\n", yaml, rc, msg);
    assert_int_equal(rc, 0);
    assert_string_equal(msg, "");
}

/* --- the full file --------------------------------------------------------------------- */

static const char full_yaml[] =
    "# a plant, every key used once\n"                                                  /* 1 */
    "scan_classes:\n"                                                                   /* 2 */
    "  - {name: fast, period: 100ms}\n"                                                 /* 3 */
    "  - {name: slow, period: 1s, stale: 5s}\n"                                         /* 4 */
    "  - name: minute\n"                                                                /* 5 */
    "    period: 1min\n"                                                                /* 6 */
    "simulators:\n"                                                                     /* 7 */
    "  - {name: sim7, protocol: 7ttcp, listen: 127.0.0.1, port: 0, nodes: 2-9,\n"       /* 8 */
    "     animate: 200ms, delay: 0}\n"                                                  /* 9 */
    "  - {name: slc, protocol: pccc, listen: '*', port: 0,\n"                           /* 10 */
    "     options: \"plc=slc500&files=N7:100 F8:20 B3:16 T4:10 ST9:5 L10:10\"}\n"       /* 11 */
    "lines:\n"                                                                          /* 12 */
    "  - name: plant-a\n"                                                               /* 13 */
    "    protocol: 7ttcp\n"                                                             /* 14 */
    "    host: \"10.0.0.1; 10.0.0.2:12000\"\n"                                          /* 15 */
    "    port: 12398\n"                                                                 /* 16 */
    "    backup: \"10.0.1.1\"\n"                                                        /* 17 */
    "    backup_port: 12399\n"                                                          /* 18 */
    "    use_backup: true\n"                                                            /* 19 */
    "    redundancy: parallel\n"                                                        /* 20 */
    "    prefer_primary: true\n"                                                        /* 21 */
    "    line_number: 4\n"                                                              /* 22 */
    "    local: 10.0.0.5:5000\n"                                                        /* 23 */
    "    connect_timeout: 2s\n"                                                         /* 24 */
    "    backoff_min: 200ms\n"                                                          /* 25 */
    "    backoff_max: 20s\n"                                                            /* 26 */
    "    stable: 1min\n"                                                                /* 27 */
    "    tcp_keepalive: 45s\n"                                                          /* 28 */
    "    timeout: 1.5s\n"                                                               /* 29 */
    "    keepalive: 0\n"                                                                /* 30 */
    "    max_block: 128\n"                                                              /* 31 */
    "  - name: plant-b\n"                                                               /* 32 */
    "    protocol: pccc\n"                                                              /* 33 */
    "    host: plc-b.example\n"                                                         /* 34 */
    "    backup: \"[::1]:44819\"\n"                                                     /* 35 */
    "    use_backup: false\n"                                                           /* 36 */
    "    local: \"::1\"\n"                                                              /* 37 */
    "    options: \"plc=slc500&service=4b\"\n"                                          /* 38 */
    "  - {name: sim-line, protocol: 7ttcp, simulator: sim7}\n"                          /* 39 */
    "  - {name: slc-line, protocol: pccc, simulator: slc, timeout: 2s}\n"               /* 40 */
    "devices:\n"                                                                        /* 41 */
    "  - {name: boiler, line: plant-a, node: 3, max_gap: 16, demote_after: 5,\n"        /* 42 */
    "     demote_for: 30s, write_policy: latest, write_timeout: 2s, write_queue: 64}\n" /* 43 */
    "  - {name: press, line: plant-b, options: \"dst=2\"}\n"                            /* 44 */
    "  - {name: simdev, line: sim-line, node: 7}\n"                                     /* 45 */
    "tags:\n"                                                                           /* 46 */
    "  - {name: boiler.temp, device: boiler, address: F10, scan: fast, writable: false,\n"
    "     scale: {gain: 0.1, offset: -5}, deadband: 0.5, swap: true}\n" /* 48 */
    "  - name: press/count\n"                                           /* 49 */
    "    device: press\n"                                               /* 50 */
    "    address: \"N7:0\"\n"                                           /* 51 */
    "    scan: slow\n"                                                  /* 52 */
    "    writable: yes\n"                                               /* 53 */
    "  - csv: tags.csv\n"                                               /* 54 */
    "north:\n"                                                          /* 55 */
    "  json: true\n"                                                    /* 56 */
    "  mqtt: {host: broker.local, port: 8884, client_id: plcline-1, prefix: site/a,\n"
    "         username: u, password: p, ca_file: ca.pem, cert_file: c.pem, key_file: k.pem,\n"
    "         keepalive: 1min, qos_publish: 1, qos_subscribe: 2}\n";

static const char full_csv[] = "name,device,address,scan,writable,gain,offset,deadband,swap\r\n"
                               "sim.w0,simdev,W0,fast,true,,,,\r\n"
                               "\"sim.w1\",simdev,\"W1\",slow,no,2.5,,0.25,1\r\n"
                               "sim.q,simdev,\"F8:1,2 \"\"x\"\"\",minute,0,,3,,yes\r\n";

static void test_full(void **state)
{
    const pl_line_def_t *l;
    const pl_device_def_t *d;
    const pl_tag_def_t *t;
    const pl_sim_def_t *s;
    const pl_north_def_t *n = &cfg.north;
    pl_line_config_t defaults;
    pl_engine_config_t ec;
    char where[400], want[400];

    (void)state;
    pl_line_config_init(&defaults);
    write_text("tags.csv", full_csv);
    expect_ok(full_yaml);
    assert_int_equal(strncmp(cfg.path, dir, strlen(dir)), 0);

    assert_int_equal(cfg.nscans, 3);
    assert_string_equal(cfg.scans[0].name, "fast");
    assert_int_equal(cfg.scans[0].period_ms, 100);
    assert_int_equal(cfg.scans[0].stale_ms, 0);
    assert_string_equal(cfg.scans[1].name, "slow");
    assert_int_equal(cfg.scans[1].period_ms, 1000);
    assert_int_equal(cfg.scans[1].stale_ms, 5000);
    assert_string_equal(cfg.scans[2].name, "minute");
    assert_int_equal(cfg.scans[2].period_ms, 60000);

    assert_int_equal(cfg.nsims, 2);
    s = &cfg.sims[0];
    assert_string_equal(s->name, "sim7");
    assert_string_equal(s->protocol, "7ttcp");
    assert_string_equal(s->listen, "127.0.0.1");
    assert_int_equal(s->port, 0);
    assert_string_equal(s->keys, "nodes=2-9");
    assert_int_equal(s->animate_ms, 200);
    assert_int_equal(s->delay_ms, 0);
    s = &cfg.sims[1];
    assert_string_equal(s->name, "slc");
    assert_string_equal(s->protocol, "pccc");
    assert_string_equal(s->listen, "*");
    assert_string_equal(s->keys, "plc=slc500&files=N7:100 F8:20 B3:16 T4:10 ST9:5 L10:10");

    assert_int_equal(cfg.nlines, 4);
    l = &cfg.lines[0];
    assert_string_equal(l->name, "plant-a");
    assert_string_equal(l->protocol, "7ttcp");
    assert_string_equal(l->simulator, "");
    assert_int_equal(l->line.hosts.count, 2);
    assert_string_equal(pl_hostlist_name(&l->line.hosts, 0), "10.0.0.1");
    assert_int_equal(l->line.hosts.host[0].port, 0);
    assert_string_equal(pl_hostlist_name(&l->line.hosts, 1), "10.0.0.2");
    assert_int_equal(l->line.hosts.host[1].port, 12000);
    assert_int_equal(l->line.port, 12398);
    assert_int_equal(l->line.backup.count, 1);
    assert_string_equal(pl_hostlist_name(&l->line.backup, 0), "10.0.1.1");
    assert_int_equal(l->line.backup_port, 12399);
    assert_int_equal(l->line.use_backup, 1);
    assert_int_equal(l->line.redundancy, PL_REDUNDANCY_PARALLEL);
    assert_int_equal(l->line.prefer_primary, 1);
    assert_int_equal(l->line.line_number, 4);
    assert_string_equal(l->local_addr, "10.0.0.5");
    assert_ptr_equal(l->line.local_addr, l->local_addr);
    assert_int_equal(l->line.local_port, 5000);
    assert_int_equal(l->line.connect_timeout_ms, 2000);
    assert_int_equal(l->line.backoff_min_ms, 200);
    assert_int_equal(l->line.backoff_max_ms, 20000);
    assert_int_equal(l->line.stable_ms, 60000);
    assert_int_equal(l->line.tcp_keepalive_s, 45);
    assert_int_equal(l->timeout_ms, 1500);
    assert_string_equal(l->keys, "keepalive=0&max_block=128");

    l = &cfg.lines[1];
    assert_string_equal(l->name, "plant-b");
    assert_string_equal(l->protocol, "pccc");
    assert_int_equal(l->line.hosts.count, 1);
    assert_string_equal(pl_hostlist_name(&l->line.hosts, 0), "plc-b.example");
    assert_int_equal(l->line.port, 44818);
    assert_int_equal(l->line.backup.count, 1);
    assert_string_equal(pl_hostlist_name(&l->line.backup, 0), "::1");
    assert_int_equal(l->line.backup.host[0].port, 44819);
    assert_int_equal(l->line.backup_port, 0);
    assert_int_equal(l->line.use_backup, 0);
    assert_int_equal(l->line.redundancy, PL_REDUNDANCY_ALTERNATE);
    assert_int_equal(l->line.prefer_primary, 0);
    assert_string_equal(l->local_addr, "::1");
    assert_int_equal(l->line.local_port, 0);
    assert_int_equal(l->line.connect_timeout_ms, defaults.connect_timeout_ms);
    assert_int_equal(l->line.backoff_min_ms, defaults.backoff_min_ms);
    assert_int_equal(l->line.backoff_max_ms, defaults.backoff_max_ms);
    assert_int_equal(l->line.stable_ms, defaults.stable_ms); /* 0: backoff_max */
    assert_int_equal(l->line.stable_ms, 0);
    assert_int_equal(l->line.tcp_keepalive_s, defaults.tcp_keepalive_s);
    assert_int_equal(l->line.tcp_keepalive_s, 30);
    assert_int_equal(l->timeout_ms, 0);
    assert_string_equal(l->keys, "plc=slc500&service=4b");

    l = &cfg.lines[2];
    assert_string_equal(l->name, "sim-line");
    assert_string_equal(l->simulator, "sim7");
    assert_int_equal(l->line.hosts.count, 0);
    assert_int_equal(l->line.port, 0);
    assert_null(l->line.local_addr);
    assert_string_equal(l->keys, ""); /* the defaults are the descriptor's */
    assert_int_equal(
        pl_protocol_uint(pl_protocol_find("7ttcp", 5), PL_KEYS_LINE, l->keys, "keepalive"), 10000);
    l = &cfg.lines[3];
    assert_string_equal(l->simulator, "slc");
    assert_string_equal(l->protocol, "pccc");
    assert_int_equal(l->timeout_ms, 2000);

    assert_int_equal(cfg.ndevices, 3);
    d = &cfg.devices[0];
    assert_string_equal(d->name, "boiler");
    assert_string_equal(d->line, "plant-a");
    assert_string_equal(d->keys, "node=3");
    assert_int_equal(d->max_gap, 16);
    assert_int_equal(d->demote_after, 5);
    assert_int_equal(d->demote_ms, 30000);
    assert_int_equal(d->write_policy, PL_WRITES_LATEST);
    assert_int_equal(d->write_timeout_ms, 2000);
    assert_int_equal(d->write_queue, 64);
    d = &cfg.devices[1];
    assert_string_equal(d->name, "press");
    assert_string_equal(d->keys, "dst=2");
    assert_int_equal(d->max_gap, 32);
    assert_int_equal(d->demote_after, 3);
    assert_int_equal(d->demote_ms, 10000);
    assert_int_equal(d->write_policy, PL_WRITES_ORDERED);
    assert_int_equal(d->write_timeout_ms, 5000);
    assert_int_equal(d->write_queue, 1024);
    assert_string_equal(cfg.devices[2].keys, "node=7");

    assert_int_equal(cfg.ntags, 5);
    t = &cfg.tags[0];
    assert_string_equal(t->name, "boiler.temp");
    assert_string_equal(t->device, "boiler");
    assert_string_equal(t->address, "F10");
    assert_string_equal(t->scan, "fast");
    assert_int_equal(t->writable, 0);
    assert_int_equal(t->scaled, 1);
    assert_true(t->gain == 0.1);
    assert_true(t->offset == -5.0);
    assert_true(t->deadband == 0.5);
    assert_string_equal(t->keys, "swap=1");
    t = &cfg.tags[1];
    assert_string_equal(t->name, "press/count");
    assert_string_equal(t->address, "N7:0");
    assert_string_equal(t->scan, "slow");
    assert_int_equal(t->writable, 1);
    assert_int_equal(t->scaled, 0);
    assert_true(t->deadband == 0.0);
    assert_string_equal(t->keys, "");
    t = &cfg.tags[2]; /* from the CSV file */
    assert_string_equal(t->name, "sim.w0");
    assert_string_equal(t->device, "simdev");
    assert_string_equal(t->address, "W0");
    assert_string_equal(t->scan, "fast");
    assert_int_equal(t->writable, 1);
    assert_int_equal(t->scaled, 0);
    assert_string_equal(t->keys, "");
    t = &cfg.tags[3];
    assert_string_equal(t->name, "sim.w1");
    assert_string_equal(t->address, "W1");
    assert_int_equal(t->writable, 0);
    assert_int_equal(t->scaled, 1);
    assert_true(t->gain == 2.5);
    assert_true(t->offset == 0.0);
    assert_true(t->deadband == 0.25);
    assert_string_equal(t->keys, "swap=1");
    t = &cfg.tags[4];
    assert_string_equal(t->name, "sim.q");
    assert_string_equal(t->address, "F8:1,2 \"x\"");
    assert_string_equal(t->scan, "minute");
    assert_int_equal(t->scaled, 1);
    assert_true(t->gain == 1.0);
    assert_true(t->offset == 3.0);
    assert_string_equal(t->keys, "swap=1");

    assert_int_equal(n->json_stdout, 1);
    assert_int_equal(n->mqtt, 1);
    assert_string_equal(n->mqtt_host, "broker.local");
    assert_int_equal(n->mqtt_port, 8884);
    assert_string_equal(n->mqtt_client_id, "plcline-1");
    assert_string_equal(n->mqtt_prefix, "site/a");
    assert_string_equal(n->mqtt_user, "u");
    assert_string_equal(n->mqtt_password, "p");
    assert_string_equal(n->mqtt_ca_file, "ca.pem");
    assert_string_equal(n->mqtt_cert_file, "c.pem");
    assert_string_equal(n->mqtt_key_file, "k.pem");
    assert_int_equal(n->mqtt_keepalive_s, 60);
    assert_int_equal(n->mqtt_qos_pub, 1);
    assert_int_equal(n->mqtt_qos_sub, 2);

    /* origins, lookups, the engine's view */
    assert_int_equal(pl_config_origin(&cfg, PL_CONFIG_TAG, 0, where, sizeof(where)), 0);
    snprintf(want, sizeof(want), "%s/t.yaml:47:5", dir);
    assert_string_equal(where, want);
    assert_int_equal(pl_config_origin(&cfg, PL_CONFIG_TAG, 4, where, sizeof(where)), 0);
    snprintf(want, sizeof(want), "%s/tags.csv:4:1", dir);
    assert_string_equal(where, want);
    assert_int_equal(pl_config_origin(&cfg, PL_CONFIG_TAG, 1, where, sizeof(where)), 0);
    snprintf(want, sizeof(want), "%s/t.yaml:49:5", dir);
    assert_string_equal(where, want);
    assert_int_equal(pl_config_origin(&cfg, PL_CONFIG_TAG, 2, where, sizeof(where)), 0);
    snprintf(want, sizeof(want), "%s/tags.csv:2:1", dir);
    assert_string_equal(where, want);
    assert_int_equal(pl_config_origin(&cfg, PL_CONFIG_TAG, 5, where, sizeof(where)), PL_EINVAL);
    assert_int_equal(pl_config_origin(&cfg, PL_CONFIG_LINE, 1, where, sizeof(where)), 0);
    snprintf(want, sizeof(want), "%s/t.yaml:32:5", dir);
    assert_string_equal(where, want);
    assert_int_equal(pl_config_origin(&cfg, PL_CONFIG_SIM, 2, where, sizeof(where)), PL_EINVAL);
    assert_string_equal(where, "");
    assert_int_equal(pl_config_find(&cfg, PL_CONFIG_TAG, "sim.q"), 4);
    assert_int_equal(pl_config_find(&cfg, PL_CONFIG_DEVICE, "press"), 1);
    assert_int_equal(pl_config_find(&cfg, PL_CONFIG_SCAN, "nope"), -1);
    pl_config_engine(&cfg, &ec);
    assert_ptr_equal(ec.lines, cfg.lines);
    assert_int_equal(ec.nlines, 4);
    assert_ptr_equal(ec.devices, cfg.devices);
    assert_int_equal(ec.ndevices, 3);
    assert_ptr_equal(ec.tags, cfg.tags);
    assert_int_equal(ec.ntags, 5);
    assert_ptr_equal(ec.scans, cfg.scans);
    assert_int_equal(ec.nscans, 3);
    assert_null(ec.log);
    assert_null(ec.wall_ms);
    /* a text given by several tags is kept once (YAML and CSV alike); the arrays are trimmed
     * to their items after loading (they grew to 8) */
    assert_ptr_equal(cfg.tags[2].device, cfg.tags[3].device);
    assert_ptr_equal(cfg.tags[0].scan, cfg.tags[2].scan);
    assert_true(malloc_usable_size(cfg.tags) < 8 * sizeof(pl_tag_def_t));
    /* what the daemon keeps once its engine is built: everything but the tags */
    pl_config_drop_tags(&cfg);
    assert_null(cfg.tags);
    assert_int_equal(cfg.ntags, 0);
    assert_int_equal(pl_config_find(&cfg, PL_CONFIG_TAG, "sim.q"), -1);
    assert_int_equal(pl_config_find(&cfg, PL_CONFIG_DEVICE, "press"), 1);
    assert_int_equal(pl_config_origin(&cfg, PL_CONFIG_TAG, 0, where, sizeof(where)), PL_EINVAL);
    assert_int_equal(pl_config_origin(&cfg, PL_CONFIG_LINE, 1, where, sizeof(where)), 0);
    snprintf(want, sizeof(want), "%s/t.yaml:32:5", dir);
    assert_string_equal(where, want);
    assert_int_equal(cfg.nlines, 4);
    assert_string_equal(cfg.devices[1].name, "press");
    pl_config_drop_tags(&cfg); /* twice is harmless */
    pl_config_free(&cfg);
    assert_null(cfg.tags);
    assert_int_equal(pl_config_origin(&cfg, PL_CONFIG_TAG, 0, where, sizeof(where)), PL_EINVAL);
}

/* Where each tag was given, kept as runs of consecutive lines after loading: one-line YAML
 * tags, a CSV file with an empty line, block-style YAML tags. */
static void test_tag_origins(void **state)
{
    static const char yaml[] = "scan_classes:\n"                                    /* 1 */
                               "  - {name: s, period: 1s}\n"                        /* 2 */
                               "lines:\n"                                           /* 3 */
                               "  - {name: l, protocol: 7ttcp, host: 10.0.0.1}\n"   /* 4 */
                               "devices:\n"                                         /* 5 */
                               "  - {name: d, line: l}\n"                           /* 6 */
                               "tags:\n"                                            /* 7 */
                               "  - {name: a, device: d, address: W0, scan: s}\n"   /* 8 */
                               "  - {name: b, device: d, address: W1, scan: s}\n"   /* 9 */
                               "  - csv: o.csv\n"                                   /* 10 */
                               "  -   {name: c, device: d, address: W2, scan: s}\n" /* 11 */
                               "  - name: e\n"                                      /* 12 */
                               "    device: d\n"
                               "    address: W3\n"
                               "    scan: s\n"
                               "  - name: f\n" /* 16 */
                               "    device: d\n"
                               "    address: W4\n"
                               "    scan: s\n";
    static const char csv[] = "name,device,address,scan\n" /* 1 */
                              "x1,d,W10,s\n"               /* 2 */
                              "x2,d,W11,s\n"               /* 3 */
                              "\n"
                              "x3,d,W12,s\n" /* 5 */
                              "x4,d,W13,s\n"
                              "x5,d,W14,s\n"; /* 7 */
    static const char *const want[] = {"t.yaml:8:5",  "t.yaml:9:5", "o.csv:2:1", "o.csv:3:1",
                                       "o.csv:5:1",   "o.csv:6:1",  "o.csv:7:1", "t.yaml:11:7",
                                       "t.yaml:12:5", "t.yaml:16:5"};
    char where[400], full[400];
    size_t i;

    (void)state;
    write_text("o.csv", csv);
    expect_ok(yaml);
    assert_int_equal(cfg.ntags, sizeof(want) / sizeof(want[0]));
    for (i = 0; i < cfg.ntags; i++) {
        assert_int_equal(pl_config_origin(&cfg, PL_CONFIG_TAG, i, where, sizeof(where)), 0);
        snprintf(full, sizeof(full), "%s/%s", dir, want[i]);
        assert_string_equal(where, full);
    }
    pl_config_free(&cfg);
}

/* Defaults of a minimal file, and the same text from a buffer. */
#define BASE                                            \
    "scan_classes:\n"                                   \
    "  - {name: fast, period: 100ms}\n"                 \
    "lines:\n"                                          \
    "  - {name: l1, protocol: 7ttcp, host: 10.0.0.1}\n" \
    "devices:\n"                                        \
    "  - {name: d1, line: l1, node: 1}\n"

static void test_minimal_and_buffer(void **state)
{
    static const char yaml[] = BASE "tags:\n  - {name: t, device: d1, address: W0, scan: fast}\n";
    int rc;

    (void)state;
    expect_ok(yaml);
    assert_int_equal(cfg.nlines, 1);
    assert_int_equal(cfg.lines[0].line.port, 12398);
    assert_int_equal(cfg.lines[0].line.use_backup, 0);
    assert_int_equal(cfg.ntags, 1);
    assert_int_equal(cfg.nsims, 0);
    assert_int_equal(cfg.north.json_stdout, -1);
    assert_int_equal(cfg.north.mqtt, 0);
    pl_config_free(&cfg);

    rc = pl_config_load_buffer(&cfg, "mem.yaml", yaml, sizeof(yaml) - 1, &st, msg, sizeof(msg));
    assert_int_equal(rc, 0);
    assert_string_equal(cfg.path, "mem.yaml");
    assert_int_equal(cfg.ntags, 1);
    pl_config_free(&cfg);

    /* not NUL-terminated: the length counts */
    rc = pl_config_load_buffer(&cfg, "mem.yaml", "tags: [x", 7, &st, msg, sizeof(msg));
    assert_int_equal(rc, PL_ECONFIG);
    assert_string_equal(msg,
                        "mem.yaml:2:1: invalid YAML: did not find expected node content (while "
                        "parsing a flow node at 2:1), expected well-formed YAML");
    pl_config_free(&cfg);

    /* empty sections and MQTT defaults */
    expect_ok("scan_classes:\nsimulators: []\nlines:\ndevices:\ntags:\nnorth:\n  json: off\n"
              "  mqtt: {}\n");
    assert_int_equal(cfg.north.json_stdout, 0);
    assert_int_equal(cfg.north.mqtt, 1);
    assert_string_equal(cfg.north.mqtt_host, "127.0.0.1");
    assert_int_equal(cfg.north.mqtt_port, 1883);
    assert_string_equal(cfg.north.mqtt_prefix, "plcline");
    assert_string_equal(cfg.north.mqtt_client_id, "");
    assert_int_equal(cfg.north.mqtt_keepalive_s, 30);
    assert_int_equal(cfg.north.mqtt_qos_pub, 0);
    assert_int_equal(cfg.north.mqtt_qos_sub, 1);
    pl_config_free(&cfg);
    expect_ok("north: {mqtt: {ca_file: /etc/ca.pem}}\n");
    assert_int_equal(cfg.north.mqtt_port, 8883);
    pl_config_free(&cfg);
    /* a backup implies use_backup; a simulator's defaults */
    expect_ok("lines: [{name: l, protocol: pccc, host: a, backup: b}]\n"
              "simulators: [{name: s, protocol: 7ttcp}]\n");
    assert_int_equal(cfg.lines[0].line.use_backup, 1);
    assert_int_equal(cfg.lines[0].line.port, 44818);
    assert_string_equal(cfg.sims[0].listen, "127.0.0.1");
    assert_string_equal(cfg.sims[0].keys, ""); /* nodes 0-7, the descriptor's default */
    assert_string_equal(pl_protocol_key(pl_protocol_find("7TTCP", 5), PL_KEYS_SIM, "nodes")->def,
                        "0-7");
    assert_int_equal(cfg.sims[0].animate_ms, 0);
    pl_config_free(&cfg);
}

/* --- errors ---------------------------------------------------------------------------- */

/* The tags' names kept once: an engine built with the configuration's text storage points at
 * the names there and frees the storage itself, so the configuration can go first (the
 * daemon drops its tags once the engine is built); an engine that could not be built leaves
 * the storage to the configuration. Run under ASan and valgrind, a wrong owner shows. */
static void test_texts_handed_to_engine(void **state)
{
    static const char *const names[] = {"t.a", "t.b", "t.c"};
    pl_engine_config_t ec;
    pl_engine_t *e = NULL;
    pl_status_t est;
    uv_loop_t loop;
    size_t i;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(load_yaml(BASE "tags:\n  - {name: t.a, device: d1, address: W1, scan: fast}\n"
                                    "  - {name: t.b, device: d1, address: W2, scan: fast}\n"
                                    "  - {name: t.c, device: d1, address: W1, scan: fast}\n"),
                     0);
    pl_config_engine(&cfg, &ec);
    ec.texts = pl_config_texts(&cfg);
    ec.texts_free = pl_config_texts_free;
    assert_non_null(ec.texts);
    assert_int_equal(pl_engine_new(&loop, &ec, NULL, NULL, &e, &est), 0);
    pl_config_texts_given(&cfg);
    assert_ptr_equal(pl_engine_tag_at(e, 1)->tag, cfg.tags[1].name); /* not a copy */
    pl_config_drop_tags(&cfg);
    pl_config_free(&cfg);
    for (i = 0; i < 3; i++)
        assert_string_equal(pl_engine_tag_at(e, i)->tag, names[i]);
    pl_engine_free(e);

    /* refused (an address the protocol does not know): the storage stays the configuration's */
    assert_int_equal(
        load_yaml(BASE "tags:\n  - {name: t.a, device: d1, address: Q1, scan: fast}\n"), 0);
    pl_config_engine(&cfg, &ec);
    ec.texts = pl_config_texts(&cfg);
    ec.texts_free = pl_config_texts_free;
    assert_true(pl_engine_new(&loop, &ec, NULL, NULL, &e, &est) < 0);
    assert_ptr_equal(pl_config_texts(&cfg), ec.texts);
    assert_string_equal(cfg.tags[0].name, "t.a");
    pl_config_free(&cfg);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_error_keys(void **state)
{
    (void)state;
    expect_error(BASE "tags:\n  - name: t\n    device: d1\n    adress: W0\n    scan: fast\n",
                 ":10:5: unknown key 'adress' in a tag, expected one of: name, device, address, "
                 "scan, writable, scale, deadband, swap, csv, stale");
    expect_error(BASE "tags:\n  - {name: t, device: d1, address: W0, scan: fast, name: u}\n",
                 ":8:52: duplicate key 'name' in a tag (first at 8:6), expected each key once");
    expect_error("lines:\n  - {name: a, protocol: pccc, host: h}\nlines: []\n",
                 ":3:1: duplicate key 'lines' in the file (first at 1:1), expected each key "
                 "once");
    expect_error("scan_class:\n  - {name: fast, period: 1s}\n",
                 ":1:1: unknown key 'scan_class' in the file, expected one of: scan_classes, "
                 "simulators, lines, devices, tags, north, http");
    expect_error("north: {mqtt: {hots: x}}\n",
                 ":1:16: unknown key 'hots' in 'mqtt', expected one of: host, port, client_id, "
                 "prefix, username, password, ca_file, cert_file, key_file, keepalive, "
                 "qos_publish, qos_subscribe");
    expect_error("scan_classes:\n  - {name: fast}\n",
                 ":2:5: a scan class without 'period', expected a 'period' key");
    expect_error("lines:\n  - {name: a, host: h}\n",
                 ":2:5: a line without 'protocol', expected a 'protocol' key");
    expect_error(BASE "tags:\n  - {name: t, device: d1, scan: fast}\n",
                 ":8:5: a tag without 'address', expected a 'address' key");
    expect_error("tags:\n  - {}\n",
                 ":2:5: a tag without keys, expected name, device, address and scan");
    expect_error("tags:\n  - {csv: a.csv, name: t}\n",
                 ":2:6: 'csv' mixed with a tag's keys, expected {csv: FILE} alone as its own "
                 "list item");
    expect_error("tags:\n  - {[a]: 1}\n",
                 ":2:6: a list as a key in a tag, expected one of: name, device, address, scan, "
                 "writable, scale, deadband, swap, csv, stale");
}

static void test_error_yaml(void **state)
{
    (void)state;
    /* libyaml's own errors, at its mark */
    expect_error("lines:\n  - name: a: b\n",
                 ":2:12: invalid YAML: mapping values are not allowed in this context, expected "
                 "well-formed YAML");
    expect_error("lines: [{name: a, protocol: 7ttcp, host: h}\n",
                 ":2:1: invalid YAML: did not find expected ',' or ']' (while parsing a flow "
                 "sequence at 1:8), expected well-formed YAML");
    expect_error("lines: \"\\q\"\n", ":1:9: invalid YAML: found unknown escape character "
                                     "(while parsing a quoted scalar at 1:8), expected "
                                     "well-formed YAML");
    expect_error("tags: \xff\n", ":1:7: invalid YAML input: invalid leading UTF-8 octet (byte "
                                 "0xff), expected UTF-8 text");
    /* shape of the document */
    expect_error("",
                 ":1:1: no content, expected a mapping with scan_classes, lines, devices, tags, "
                 "...");
    expect_error("# only a comment\n",
                 ":1:1: no content, expected a mapping with scan_classes, lines, devices, tags, "
                 "...");
    expect_error("- a\n- b\n", ":1:1: the file is a list, expected a mapping with keys: "
                               "scan_classes, simulators, lines, devices, tags, north, http");
    expect_error("lines: []\n---\nlines: []\n",
                 ":2:1: a second YAML document, expected one document per file");
    expect_error("lines: {name: a}\n",
                 ":1:8: 'lines' is a mapping, expected a list of lines ('- ' items)");
    expect_error("lines:\n  - a\n",
                 ":2:5: a line is a single value, expected a mapping with "
                 "keys: name, protocol, host, simulator, port, backup, "
                 "backup_simulator, backup_port, use_backup, redundancy, prefer_primary, "
                 "line_number, local, connect_timeout, backoff_min, "
                 "backoff_max, stable, tcp_keepalive, timeout, keepalive, max_block, inflight, "
                 "options, max_regs, max_bits");
    /* anchors, aliases, tags */
    expect_error("scan_classes:\n  - &f {name: fast, period: 1s}\n  - *f\n",
                 ":2:5: anchor '&f': anchors and aliases are not supported, expected the value "
                 "without an anchor");
    expect_error("scan_classes:\n  - {name: fast, period: *p}\n",
                 ":2:26: alias '*p': anchors and aliases are not supported, expected the value "
                 "written out");
    expect_error("scan_classes:\n  - {name: !!str fast, period: 1s}\n",
                 ":2:12: YAML tag 'tag:yaml.org,2002:str' is not supported, expected an "
                 "untagged value");
}

static void test_error_types(void **state)
{
    (void)state;
    expect_error("lines: [{name: a, protocol: 7ttcp, host: h, port: abc}]\n",
                 ":1:51: 'port' is 'abc', expected a whole number from 1 to 65535");
    expect_error("lines: [{name: a, protocol: 7ttcp, host: h, port: 65536}]\n",
                 ":1:51: 'port' is '65536', expected a whole number from 1 to 65535");
    expect_error("lines: [{name: a, protocol: 7ttcp, host: h, port: -1}]\n",
                 ":1:51: 'port' is '-1', expected a whole number from 1 to 65535");
    expect_error("lines: [{name: a, protocol: 7ttcp, host: h, port: \"80\"}]\n",
                 ":1:51: 'port' is quoted text \"80\", expected a whole number from 1 to 65535 "
                 "without quotes");
    expect_error("lines: [{name: a, protocol: 7ttcp, host: h, port: }]\n",
                 ":1:51: 'port' is empty, expected a whole number from 1 to 65535");
    expect_error("lines: [{name: a, protocol: 7ttcp, host: h, port: [1]}]\n",
                 ":1:51: 'port' is a list, expected a port number");
    expect_error("lines: [{name: a, protocol: s7, host: h}]\n",
                 ":1:29: 'protocol' is 's7', expected 7ttcp or pccc or modbus or iec104");
    expect_error("lines: [{name: a, protocol: 7ttcp, host: h, max_block: 257}]\n",
                 ":1:56: 'max_block' is '257', expected a whole number from 1 to 256");
    expect_error("lines:\n  - {name: a, protocol: 7ttcp,\n     host: \"a,b,c,d,e,f,g,h,i\"}\n",
                 ":3:12: 'host' is not a host list (host 9 ('i'): more than 8 hosts (D2000 allows "
                 "up to 8)), expected up to 8 "
                 "addresses or names with an optional :port, separated by ',' or ';'");
    expect_error("lines: [{name: a, protocol: pccc, host: h, redundancy: parallel}]\n",
                 ":1:44: 'redundancy' applies to a line with a 'backup', expected no "
                 "'redundancy' here");
    expect_error("lines: [{name: a, protocol: pccc, host: h, backup: b, redundancy: hot}]\n",
                 ":1:67: 'redundancy' is 'hot', expected alternate or parallel");
    expect_error("lines: [{name: a, protocol: pccc, host: h, backup: b, prefer_primary: on}]\n",
                 ":1:55: 'prefer_primary' applies to 'redundancy: parallel' only, expected no "
                 "'prefer_primary' here");
    expect_error("lines: [{name: a, protocol: pccc, host: h, use_backup: maybe}]\n",
                 ":1:56: 'use_backup' is 'maybe', expected true, false, yes, no, on, off, 1 or "
                 "0");
    expect_error("lines: [{name: a, protocol: pccc, host: h, max_block: 8}]\n",
                 ":1:44: 'max_block' applies to 7ttcp lines only, expected no 'max_block' here");
    expect_error(
        "lines: [{name: a, protocol: 7ttcp, host: h, options: x}]\n",
        ":1:45: 'options' applies to pccc and iec104 lines only, expected no 'options' here");
    expect_error("lines: [{name: a, protocol: 7ttcp, host: h, local: \"1.2.3.4:x\"}]\n",
                 ":1:52: 'local' is 'x', expected a whole number from 1 to 65535");
    expect_error("lines: [{name: a, protocol: 7ttcp, host: h, backoff_min: 5s, "
                 "backoff_max: 1s}]\n",
                 ":1:62: backoff_min 5000 ms is above backoff_max 1000 ms, expected min <= max");
    expect_error("north: {mqtt: {password: p}}\n",
                 ":1:16: 'password' needs a 'username', expected no 'password' here");
    expect_error("north: {mqtt: {qos_publish: 3}}\n",
                 ":1:29: 'qos_publish' is '3', expected a whole number from 0 to 2");
    expect_error("north: {mqtt: {keepalive: 1500ms}}\n",
                 ":1:27: 'keepalive' is 1500 ms, expected whole seconds such as 30s");
    expect_error("north: {mqtt: {keepalive: 65536s}}\n",
                 ":1:27: 'keepalive' is 65536 s, expected at most 65535 s");
    expect_error("north: {mqtt: {prefix: /a}}\n",
                 ":1:24: 'prefix' value '/a' has an empty level, expected no '/' at either end "
                 "nor \"//\"");
    expect_error("north: {json: 1.0}\n",
                 ":1:15: 'json' is '1.0', expected true, false, yes, no, on, off, 1 or 0");
    expect_error("north: [json]\n", ":1:8: 'north' is a list, expected a mapping with keys: "
                                    "json, mqtt");
    expect_error("simulators: [{name: s, protocol: pccc, nodes: 1-2}]\n",
                 ":1:40: 'nodes' applies to 7ttcp simulators only, expected no 'nodes' here");
    expect_error("simulators: [{name: s, protocol: 7ttcp, nodes: 7-1}]\n",
                 ":1:48: 'nodes' is '7-1', expected a node number or a range such as 0-7");
    expect_error("simulators: [{name: s, protocol: 7ttcp, nodes: 0-4096}]\n",
                 ":1:48: 'nodes' is '0-4096', 4097 nodes, expected at most 4096");
    expect_error(BASE "tags:\n  - {name: t, device: d1, address: W0, scan: fast, deadband: -1}\n",
                 ":8:62: 'deadband' is negative, expected 0 or more");
    expect_error(BASE "tags:\n  - {name: t, device: d1, address: W0, scan: fast, deadband: x}\n",
                 ":8:62: 'deadband' is 'x', expected a number such as 0.5, -2 or 1e-3");
    expect_error(BASE "tags:\n  - {name: t, device: d1, address: W0, scan: fast,\n"
                      "     scale: {gain: 0}}\n",
                 ":9:20: 'gain' is 0, expected a number other than 0");
    expect_error(BASE "tags:\n  - {name: t, device: d1, address: W0, scan: fast, "
                      "scale: {gain: 1e999}}\n",
                 ":8:66: 'gain' is '1e999', out of range, expected a smaller number");
    expect_error(BASE "tags:\n  - {name: t, device: d1, address: \"W0\\tx\", scan: fast}\n",
                 ":8:36: 'address' holds control character 0x09, expected a data address");
    expect_error(BASE "devices2: []\n", ":7:1: unknown key 'devices2' in the file, expected "
                                        "one of: scan_classes, simulators, lines, devices, tags, "
                                        "north, http");
    expect_error("devices: [{name: d, line: l, write_policy: newest}]\n",
                 ":1:44: 'write_policy' is 'newest', expected ordered or latest");
    expect_error("devices: [{name: d, line: l, demote_after: 0}]\n",
                 ":1:44: 'demote_after' is '0', expected a whole number from 1 to 1000000");
}

static void test_error_names(void **state)
{
    (void)state;
    expect_error("scan_classes: [{name: fast scan, period: 1s}]\n",
                 ":1:23: 'name' value 'fast scan' has a bad character at position 5, expected "
                 "letters, digits, '.', '_', '-' and '/'");
    expect_error("scan_classes: [{name: a//b, period: 1s}]\n",
                 ":1:23: 'name' value 'a//b' has an empty level, expected no '/' at either end "
                 "nor \"//\"");
    expect_error("scan_classes: [{name: \"\", period: 1s}]\n",
                 ":1:23: 'name' is empty, expected a name of letters, digits, '.', '_', '-' and "
                 "'/'");
    expect_error("scan_classes: [{name: "
                 "a234567890123456789012345678901234567890123456789012345678901234, period: "
                 "1s}]\n",
                 ":1:23: 'name' is 64 characters long, expected at most 63");
    expect_ok("scan_classes: [{name: "
              "a23456789012345678901234567890123456789012345678901234567890123, period: 1s}]\n");
    pl_config_free(&cfg);
}

static void expect_error_dir(const char *yaml, const char *want)
{
    expect_message(yaml, PL_ECONFIG, want);
}

static void test_error_duplicates(void **state)
{
    (void)state;
    expect_error_dir(
        "scan_classes:\n  - {name: fast, period: 1s}\n  - {name: fast, period: 2s}\n",
        "DIR/t.yaml:3:12: 'fast' names two scan classes (first at DIR/t.yaml:2:12), expected "
        "unique names");
    expect_error_dir(
        "lines:\n  - {name: a, protocol: pccc, host: h}\n"
        "  - {name: a, protocol: 7ttcp, host: h}\n",
        "DIR/t.yaml:3:12: 'a' names two lines (first at DIR/t.yaml:2:12), expected unique "
        "names");
    write_text("dup.csv", "name,device,address,scan\nt1,d1,W1,fast\nt0,d1,W0,fast\n");
    expect_error_dir(BASE "tags:\n  - {name: t0, device: d1, address: W0, scan: fast}\n"
                          "  - csv: dup.csv\n",
                     "DIR/dup.csv:3:1: 't0' names two tags (first at DIR/t.yaml:8:12), expected "
                     "unique names");
}

static void test_error_refs(void **state)
{
    (void)state;
    expect_error(BASE "tags:\n  - {name: t, device: d2, address: W0, scan: fast}\n",
                 ":8:23: device 'd2' is not defined, expected one of: d1");
    expect_error(BASE "tags:\n  - {name: t, device: d1, address: W0, scan: slow}\n",
                 ":8:46: scan class 'slow' is not defined, expected one of: fast");
    /* 'scan' may be left out only on a device whose protocol sends values by itself */
    expect_error(BASE "tags:\n  - {name: t, device: d1, address: W0}\n",
                 ":8:5: tag 't' without 'scan', expected a scan class (device 'd1' is polled)");
    write_text("ev.csv", "name,device,address,scan\nt,d1,W0,\n");
    expect_message(BASE "tags:\n  - {csv: ev.csv}\n", PL_ECONFIG,
                   "DIR/ev.csv:2:1: tag 't' without 'scan', expected a scan class (device 'd1' "
                   "is polled)");
    expect_error("devices: [{name: d, line: nope}]\n",
                 ":1:27: line 'nope' is not defined, expected a name defined under 'lines', "
                 "which has none");
    expect_error("lines: [{name: l, protocol: 7ttcp, simulator: s}]\n",
                 ":1:47: simulator 's' is not defined, expected a name defined under "
                 "'simulators', which has none");
    expect_error("simulators: [{name: s, protocol: pccc}]\n"
                 "lines: [{name: l, protocol: 7ttcp, simulator: s}]\n",
                 ":2:47: simulator 's' speaks pccc but line 'l' is 7ttcp, expected a 7ttcp "
                 "simulator");
    expect_error("lines: [{name: l, protocol: 7ttcp, host: h, simulator: s}]\n",
                 ":1:45: a line with both 'host' and 'simulator', expected only one of them");
    expect_error("lines: [{name: l, protocol: 7ttcp}]\n",
                 ":1:9: a line without 'host' or 'simulator', expected one of them");
    expect_error("simulators: [{name: s, protocol: 7ttcp}]\n"
                 "lines: [{name: l, protocol: 7ttcp, simulator: s, port: 5}]\n",
                 ":2:50: 'port' comes from the simulator on a line with 'simulator', expected no "
                 "'port' here");
    expect_error("lines: [{name: l, protocol: 7ttcp, host: h}]\n"
                 "devices: [{name: d, line: l, options: \"dst=2\"}]\n",
                 ":2:30: 'options' applies to devices on pccc lines, expected no 'options' on a "
                 "device of 7ttcp line 'l'");
}

/* A device's 'stale' (event-driven devices' silence limit): a duration, 0 allowed. */
static void test_device_stale(void **state)
{
    (void)state;
    /* on a polled device only 0 (off) is taken: its tags use their scan class's */
    expect_ok("lines: [{name: l1, protocol: 7ttcp, host: 10.0.0.1}]\n"
              "devices: [{name: d2, line: l1, stale: 0}]\n");
    assert_int_equal(cfg.devices[0].stale_ms, 0);
    pl_config_free(&cfg);
    expect_error("lines: [{name: l1, protocol: 7ttcp, host: 10.0.0.1}]\n"
                 "devices: [{name: d1, line: l1, stale: 90s}]\n",
                 ":2:11: 'stale' on device 'd1' of 7ttcp line 'l1', which is polled, expected it "
                 "only on a device whose line sends values by itself (a polled tag takes its "
                 "scan class's 'stale')");
    expect_ok("lines: [{name: l1, protocol: 7ttcp, host: 10.0.0.1}]\n"
              "devices: [{name: d1, line: l1}]\n");
    assert_int_equal(cfg.devices[0].stale_ms, 0); /* default: never */
    pl_config_free(&cfg);
    expect_error("lines: [{name: l1, protocol: 7ttcp, host: 10.0.0.1}]\n"
                 "devices: [{name: d1, line: l1, stale: soon}]\n",
                 ":2:39: 'stale' is 'soon', expected a duration such as 250, 250ms, 2s, 1.5s or "
                 "5min");
}

/* A tag's own 'stale' (event-driven devices' tags): overrides the device's; refused on a
 * polled device's tag. */
static void test_tag_stale(void **state)
{
    (void)state;
    expect_ok("lines: [{name: l1, protocol: iec104, host: 10.0.0.1}]\n"
              "devices: [{name: d1, line: l1, stale: 1min}]\n"
              "tags:\n"
              "  - {name: a, device: d1, address: 1001, stale: 5s}\n"
              "  - {name: b, device: d1, address: 1002}\n");
    assert_int_equal(cfg.tags[0].stale_ms, 5000);
    assert_int_equal(cfg.tags[1].stale_ms, 0); /* the device's */
    pl_config_free(&cfg);
    /* the same as a CSV column, empty for the device's */
    write_text("stale.csv", "name,device,address,scan,stale\r\n"
                            "a,d1,1001,,2.5s\r\n"
                            "b,d1,1002,,\r\n");
    expect_ok("lines: [{name: l1, protocol: iec104, host: 10.0.0.1}]\n"
              "devices: [{name: d1, line: l1}]\n"
              "tags: [{csv: stale.csv}]\n");
    assert_int_equal(cfg.tags[0].stale_ms, 2500);
    assert_int_equal(cfg.tags[1].stale_ms, 0);
    pl_config_free(&cfg);
    expect_error("lines: [{name: l1, protocol: 7ttcp, host: 10.0.0.1}]\n"
                 "devices: [{name: d1, line: l1}]\n"
                 "scan_classes: [{name: s, period: 1s}]\n"
                 "tags: [{name: a, device: d1, address: W1, scan: s, stale: 5s}]\n",
                 ":4:8: 'stale' on tag 'a' of device 'd1', which is polled, expected it only on "
                 "a tag of a device whose line sends values by itself (a polled tag takes its "
                 "scan class's 'stale')");
    expect_error("lines: [{name: l1, protocol: iec104, host: 10.0.0.1}]\n"
                 "devices: [{name: d1, line: l1}]\n"
                 "tags: [{name: a, device: d1, address: 1001, stale: 0}]\n",
                 ":3:52: 'stale' is 0, expected a duration above 0");
}

/* A redundant line whose two partners are built-in simulators. */
static void test_backup_simulator(void **state)
{
    (void)state;
    expect_ok("simulators: [{name: p, protocol: 7ttcp}, {name: b, protocol: 7ttcp}]\n"
              "lines: [{name: l, protocol: 7ttcp, simulator: p, backup_simulator: b,\n"
              "         redundancy: parallel, prefer_primary: yes}]\n");
    assert_string_equal(cfg.lines[0].simulator, "p");
    assert_string_equal(cfg.lines[0].backup_simulator, "b");
    assert_int_equal(cfg.lines[0].line.use_backup, 1);
    assert_int_equal(cfg.lines[0].line.backup.count, 0);
    assert_int_equal(cfg.lines[0].line.backup_port, 0);
    assert_int_equal(cfg.lines[0].line.redundancy, PL_REDUNDANCY_PARALLEL);
    assert_int_equal(cfg.lines[0].line.prefer_primary, 1);
    pl_config_free(&cfg);
    expect_error("simulators: [{name: p, protocol: 7ttcp}]\n"
                 "lines: [{name: l, protocol: 7ttcp, simulator: p, backup_simulator: q}]\n",
                 ":2:68: simulator 'q' is not defined, expected one of: p");
    expect_error("simulators: [{name: p, protocol: 7ttcp}, {name: s, protocol: pccc}]\n"
                 "lines: [{name: l, protocol: 7ttcp, simulator: p, backup_simulator: s}]\n",
                 ":2:68: simulator 's' speaks pccc but line 'l' is 7ttcp, expected a 7ttcp "
                 "simulator");
    expect_error("lines: [{name: l, protocol: 7ttcp, host: h, backup: b, backup_simulator: s}]\n",
                 ":1:56: a line with both 'backup' and 'backup_simulator', expected only one of "
                 "them");
    expect_error("lines: [{name: l, protocol: 7ttcp, host: h, backup_simulator: s,\n"
                 "         backup_port: 5}]\n",
                 ":2:10: 'backup_port' comes from the simulator on a line with "
                 "'backup_simulator', expected no 'backup_port' here");
}

static void test_error_files(void **state)
{
    char p[320], want[1024];
    FILE *f;
    int rc;

    (void)state;
    /* the YAML file itself */
    path_of("missing.yaml", p, sizeof(p));
    rc = pl_config_load(&cfg, p, &st, msg, sizeof(msg));
    assert_int_equal(rc, PL_EIO);
    assert_int_equal(st.code, PL_EIO);
    assert_true(st.sys < 0);
    snprintf(want, sizeof(want),
             "%s: cannot read (no such file or directory), expected a readable file", p);
    assert_string_equal(msg, want);
    pl_config_free(&cfg);
    rc = pl_config_load(&cfg, dir, &st, msg, sizeof(msg));
    assert_int_equal(rc, PL_ECONFIG);
    snprintf(want, sizeof(want),
             "%s: not a regular file, expected a regular file of at most 16 MiB", dir);
    assert_string_equal(msg, want);
    pl_config_free(&cfg);
    /* too big: a sparse file one byte over the limit */
    write_text("big.yaml", "");
    path_of("big.yaml", p, sizeof(p));
    f = fopen(p, "r+b");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), (off_t)PL_CONFIG_FILE_MAX + 1), 0);
    assert_int_equal(fclose(f), 0);
    rc = pl_config_load(&cfg, p, &st, msg, sizeof(msg));
    assert_int_equal(rc, PL_ECONFIG);
    snprintf(want, sizeof(want),
             "%s: larger than 16 MiB, expected a regular file of at most 16 MiB", p);
    assert_string_equal(msg, want);
    pl_config_free(&cfg);
    write_text("big.yaml", "");
    /* CSV files that cannot be read: the YAML position of the include */
    assert_int_equal(load_yaml(BASE "tags:\n  - csv: none.csv\n"), PL_EIO);
    snprintf(want, sizeof(want),
             "%s/t.yaml:8:10: cannot read CSV file '%s/none.csv' (no such file or directory), "
             "expected a readable file",
             dir, dir);
    assert_string_equal(msg, want);
    pl_config_free(&cfg);
    /* NULL arguments */
    assert_int_equal(pl_config_load(NULL, p, &st, msg, sizeof(msg)), PL_EINVAL);
    assert_int_equal(pl_config_load_buffer(&cfg, NULL, "", 0, &st, NULL, 0), PL_EINVAL);
    pl_config_free(NULL);
}

/* --- CSV ------------------------------------------------------------------------------- */

static void test_csv_reader(void **state)
{
    static const char text[] = "\xEF\xBB\xBF"
                               "a, \"b,c\" ,\"d \"\"q\"\"\"\r\n"
                               "\r\n"
                               "\"multi\nline\",\xC3\xA9x,\n"
                               "   \n"
                               "last";
    static pl_csv_t c;
    unsigned line = 0, col = 0;
    pl_status_t e;

    (void)state;
    pl_status_clear(&e);
    pl_csv_init(&c, text, sizeof(text) - 1);
    assert_int_equal(pl_csv_next(&c, &line, &col, &e), 1);
    assert_int_equal(c.nfields, 3);
    assert_int_equal(c.line, 1);
    assert_string_equal(c.field[0].s, "a");
    assert_int_equal(c.field[0].col, 1);
    assert_string_equal(c.field[1].s, "b,c");
    assert_int_equal(c.field[1].quoted, 1);
    assert_int_equal(c.field[1].col, 4);
    assert_string_equal(c.field[2].s, "d \"q\"");
    assert_int_equal(c.field[2].len, 5);
    assert_int_equal(c.field[2].col, 11);
    assert_int_equal(pl_csv_next(&c, &line, &col, &e), 1);
    assert_int_equal(c.nfields, 3);
    assert_int_equal(c.line, 3);
    assert_string_equal(c.field[0].s, "multi\nline");
    assert_string_equal(c.field[1].s, "\xC3\xA9x");
    assert_int_equal(c.field[1].line, 4);
    assert_int_equal(c.field[1].col, 7);
    assert_string_equal(c.field[2].s, "");
    assert_int_equal(c.field[2].col, 10); /* columns count characters */
    assert_int_equal(pl_csv_next(&c, &line, &col, &e), 1);
    assert_int_equal(c.line, 6);
    assert_int_equal(c.nfields, 1);
    assert_string_equal(c.field[0].s, "last");
    assert_int_equal(pl_csv_next(&c, &line, &col, &e), 0);
    assert_int_equal(pl_csv_next(&c, &line, &col, &e), 0);

    /* errors with their place */
    pl_csv_init(&c, "a,\"b", 4);
    assert_int_equal(pl_csv_next(&c, &line, &col, &e), PL_EVALUE);
    assert_int_equal(line, 1);
    assert_int_equal(col, 3);
    assert_string_equal(e.detail, "quoted field not closed, expected a closing '\"'");
    pl_csv_init(&c, "x\na\"b\n", 6);
    assert_int_equal(pl_csv_next(&c, &line, &col, &e), 1);
    assert_int_equal(pl_csv_next(&c, &line, &col, &e), PL_EVALUE);
    assert_int_equal(line, 2);
    assert_int_equal(col, 2);
    assert_string_equal(e.detail, "a quote inside an unquoted field, expected the whole field "
                                  "in quotes with inner quotes doubled");
    pl_csv_init(&c, "\"a\"b", 4);
    assert_int_equal(pl_csv_next(&c, &line, &col, &e), PL_EVALUE);
    assert_int_equal(col, 4);
    assert_string_equal(e.detail, "text after a closing quote, expected ',' or the end of the "
                                  "line");
    pl_csv_init(&c, "a\0b", 3);
    assert_int_equal(pl_csv_next(&c, &line, &col, &e), PL_EVALUE);
    assert_int_equal(col, 2);
    pl_csv_init(&c, ",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,", 32); /* 33 fields */
    assert_int_equal(pl_csv_next(&c, &line, &col, &e), PL_EVALUE);
    assert_int_equal(col, 33);
    assert_string_equal(e.detail, "more than 32 fields in a record, expected at most 32");
}

static void test_csv_long_record(void **state)
{
    static pl_csv_t c;
    static char big[PL_CSV_RECORD_MAX + 64];
    unsigned line = 0, col = 0;
    pl_status_t e;
    size_t n;

    (void)state;
    /* 31 fields filling the storage exactly (text + NULs = PL_CSV_RECORD_MAX) */
    memset(big, 'x', sizeof(big));
    n = PL_CSV_RECORD_MAX - 31; /* 31 NULs */
    for (size_t i = 0; i < 30; i++)
        big[i * 2 + 1] = ','; /* 30 one-byte fields "x" */
    /* the last field takes the rest */
    pl_csv_init(&c, big, 60 + (n - 30));
    assert_int_equal(pl_csv_next(&c, &line, &col, &e), 1);
    assert_int_equal(c.nfields, 31);
    assert_int_equal(c.field[30].len, n - 30);
    /* one byte more does not fit */
    pl_csv_init(&c, big, 60 + (n - 30) + 1);
    assert_int_equal(pl_csv_next(&c, &line, &col, &e), PL_EVALUE);
    assert_int_equal(col, 61);
    /* an empty field after a full storage */
    big[60 + (n - 30)] = ',';
    pl_csv_init(&c, big, 60 + (n - 30) + 1);
    assert_int_equal(pl_csv_next(&c, &line, &col, &e), PL_EVALUE);
}

static void test_csv_tags_errors(void **state)
{
    static const struct {
        const char *csv;
        const char *want; /* after "DIR/e.csv" */
    } cases[] = {
        {"", ":1:1: no header row, expected a header with the columns: name, device, address, "
             "scan, writable, gain, offset, deadband, swap, stale"},
        {"name,device,adress,scan\n",
         ":1:13: unknown column 'adress', expected one of: name, device, address, scan, "
         "writable, gain, offset, deadband, swap, stale"},
        {"name,device,address,scan,Name\n",
         ":1:26: duplicate column 'name' (first at 1:1), expected each column once"},
        {"name,device,address\n", ":1:1: header without a 'scan' column, expected at least the "
                                  "columns name, device, address and scan"},
        {"name,device,address,scan\nt,d1,W0\n", ":2:1: 3 fields, expected 4 as in the header"},
        {"name,device,address,scan\nt,d1,,fast\n",
         ":2:6: empty 'address', expected a value in every row"},
        {"name,device,address,scan,writable\nt,d1,W0,fast,maybe\n",
         ":2:14: 'writable' is 'maybe', expected true, false, yes, no, on, off, 1 or 0"},
        {"name,device,address,scan,gain\nt,d1,W0,fast,0\n",
         ":2:14: 'gain' is 0, expected a number other than 0"},
        {"name,device,address,scan,deadband\nt,d1,W0,fast,-0.5\n",
         ":2:14: 'deadband' is negative, expected 0 or more"},
        {"name,device,address,scan\n\"t 1\",d1,W0,fast\n",
         ":2:1: 'name' value 't 1' has a bad character at position 2, expected letters, digits, "
         "'.', '_', '-' and '/'"},
        {"name,device,address,scan\nt,d1,\"W0\nx,fast\n",
         ":2:6: quoted field not closed, expected a closing '\"'"},
        {"name,device,address,scan\nt,d1,W\"0,fast\n",
         ":2:7: a quote inside an unquoted field, expected the whole field in quotes with inner "
         "quotes doubled"},
        {"name,device,address,scan\nt,d9,W0,fast\n",
         ":2:3: device 'd9' is not defined, expected one of: d1"},
        {"name,device,address,scan\nt,d1,W0,fast2\n",
         ":2:9: scan class 'fast2' is not defined, expected one of: fast"},
    };
    char want[1024];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_text("e.csv", cases[i].csv);
        snprintf(want, sizeof(want), "%s/e.csv%s", dir, cases[i].want);
        assert_int_equal(load_yaml(BASE "tags:\n  - csv: e.csv\n"), PL_ECONFIG);
        if (strcmp(msg, want) != 0)
            print_error("case %zu: '%s'\n  wanted '%s'\n", i, msg, want);
        assert_string_equal(msg, want);
        pl_config_free(&cfg);
    }
    /* an absolute path, columns in another order, and spaces around fields */
    write_text("ok.csv", "scan , Address,name,device\n fast , \"W 1\" ,t1,d1\n\n");
    {
        char yaml[1024], p[320];

        snprintf(yaml, sizeof(yaml), BASE "tags:\n  - csv: %s\n", path_of("ok.csv", p, sizeof(p)));
        expect_ok(yaml);
        assert_int_equal(cfg.ntags, 1);
        assert_string_equal(cfg.tags[0].name, "t1");
        assert_string_equal(cfg.tags[0].address, "W 1");
        assert_string_equal(cfg.tags[0].scan, "fast");
        pl_config_free(&cfg);
    }
}

/* --- durations ------------------------------------------------------------------------- */

static void test_durations(void **state)
{
    static const struct {
        const char *text;
        unsigned ms;
    } good[] = {
        {"1", 1},
        {"250", 250},
        {"250ms", 250},
        {"2s", 2000},
        {"1.5s", 1500},
        {"0.001s", 1},
        {"5min", 300000},
        {"0.5min", 30000},
        {"2 s", 2000},
        {"\"3s\"", 3000},
        {"1S", 1000},
        {"2147483647", 2147483647u},
        {"2147483ms", 2147483},
    };
    static const struct {
        const char *text;
        const char *want;
    } bad[] = {
        {"0", "'period' is 0, expected a duration above 0"},
        {"0s", "'period' is 0, expected a duration above 0"},
        {"-5s", "'period' is negative (-5s), expected a duration of 0 or more"},
        {"1.5", "'period' is '1.5', expected a whole number of milliseconds"},
        {"0.0001s", "'period' is '0.0001s', expected a whole number of milliseconds"},
        {"2h", "'period' is '2h', expected a duration such as 250, 250ms, 2s, 1.5s or 5min"},
        {"s", "'period' is 's', expected a duration such as 250, 250ms, 2s, 1.5s or 5min"},
        {"abc", "'period' is 'abc', expected a duration such as 250, 250ms, 2s, 1.5s or 5min"},
        {"2147483648", "'period' is '2147483648', too long, expected at most 2147483647 ms "
                       "(about 24 days)"},
        {"36000min", "'period' is '36000min', too long, expected at most 2147483647 ms (about "
                     "24 days)"},
        {"99999999999999999999999s", "'period' is '99999999999999999999999s', too long, "
                                     "expected at most 2147483647 ms (about 24 days)"},
        {"~", "'period' is empty, expected a duration such as 250, 250ms, 2s, 1.5s or 5min"},
    };
    char yaml[256], want[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(yaml, sizeof(yaml), "scan_classes: [{name: s, period: %s, stale: 0}]\n",
                 good[i].text);
        expect_ok(yaml);
        assert_int_equal(cfg.scans[0].period_ms, good[i].ms);
        assert_int_equal(cfg.scans[0].stale_ms, 0);
        pl_config_free(&cfg);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(yaml, sizeof(yaml), "scan_classes: [{name: s, period: %s}]\n", bad[i].text);
        snprintf(want, sizeof(want), ":1:34: %s", bad[i].want);
        expect_error(yaml, want);
    }
}

/* tcp_keepalive and stable: the line layer's keep-alive idle time and the time after which
 * a connection resets the back-off, on lines of either protocol. */
static void test_line_keepalive_and_stable(void **state)
{
    static const struct {
        const char *text;
        int keepalive_s; /* pl_line_config_t.tcp_keepalive_s */
    } keepalive[] = {
        {"1s", 1}, {"1000", 1}, {"2min", 120}, {"32767s", 32767}, {"0", -1}, {"0s", -1},
    };
    static const struct {
        const char *text;
        unsigned ms;
    } stable[] = {
        {"1", 1}, {"250ms", 250}, {"1.5s", 1500}, {"5min", 300000}, {"2147483647", 2147483647u},
    };
    static const char *const protocols[] = {"7ttcp", "pccc"};
    char yaml[256];
    size_t i, k;

    (void)state;
    for (k = 0; k < 2; k++) {
        for (i = 0; i < sizeof(keepalive) / sizeof(keepalive[0]); i++) {
            snprintf(yaml, sizeof(yaml),
                     "lines: [{name: a, protocol: %s, host: h, tcp_keepalive: %s}]\n", protocols[k],
                     keepalive[i].text);
            expect_ok(yaml);
            assert_int_equal(cfg.lines[0].line.tcp_keepalive_s, keepalive[i].keepalive_s);
            assert_int_equal(cfg.lines[0].line.stable_ms, 0);
            pl_config_free(&cfg);
        }
        for (i = 0; i < sizeof(stable) / sizeof(stable[0]); i++) {
            snprintf(yaml, sizeof(yaml), "lines: [{name: a, protocol: %s, host: h, stable: %s}]\n",
                     protocols[k], stable[i].text);
            expect_ok(yaml);
            assert_int_equal(cfg.lines[0].line.stable_ms, stable[i].ms);
            assert_int_equal(cfg.lines[0].line.tcp_keepalive_s, 30);
            pl_config_free(&cfg);
        }
    }
    /* out of range, with the position of the value */
    expect_error("lines: [{name: a, protocol: 7ttcp, host: h, tcp_keepalive: 1500ms}]\n",
                 ":1:60: 'tcp_keepalive' is 1500 ms, expected whole seconds such as 30s");
    expect_error("lines: [{name: a, protocol: 7ttcp, host: h, tcp_keepalive: 32768s}]\n",
                 ":1:60: 'tcp_keepalive' is 32768 s, expected at most 32767 s");
    expect_error("lines: [{name: a, protocol: pccc, host: h,\n"
                 "          tcp_keepalive: 10h}]\n",
                 ":2:26: 'tcp_keepalive' is '10h', expected a duration such as 250, 250ms, 2s, "
                 "1.5s or 5min");
    expect_error("lines: [{name: a, protocol: 7ttcp, host: h, tcp_keepalive: -1}]\n",
                 ":1:60: 'tcp_keepalive' is negative (-1), expected a duration of 0 or more");
    expect_error("lines: [{name: a, protocol: 7ttcp, host: h, tcp_keepalive: \"\"}]\n",
                 ":1:60: 'tcp_keepalive' is empty, expected a duration such as 250, 250ms, 2s, "
                 "1.5s or 5min");
    expect_error("lines: [{name: a, protocol: 7ttcp, host: h, stable: 0}]\n",
                 ":1:53: 'stable' is 0, expected a duration above 0");
    expect_error("lines:\n  - name: a\n    protocol: pccc\n    host: h\n    stable: -5s\n",
                 ":5:13: 'stable' is negative (-5s), expected a duration of 0 or more");
    expect_error("lines: [{name: a, protocol: 7ttcp, host: h, stable: 2147483648}]\n",
                 ":1:53: 'stable' is '2147483648', too long, expected at most 2147483647 ms "
                 "(about 24 days)");
    expect_error("lines: [{name: a, protocol: 7ttcp, host: h, stable: 0.5ms}]\n",
                 ":1:53: 'stable' is '0.5ms', expected a whole number of milliseconds");
    expect_error("lines: [{name: a, protocol: 7ttcp, host: h, stable: 1s, stable: 2s}]\n",
                 ":1:57: duplicate key 'stable' in a line (first at 1:45), expected each key "
                 "once");
}

/* --- limits ---------------------------------------------------------------------------- */

static void test_limits(void **state)
{
    char *buf;
    size_t len = (size_t)PL_CONFIG_FILE_MAX + 1;
    int rc;

    (void)state;
    buf = calloc(1, len);
    assert_non_null(buf);
    rc = pl_config_load_buffer(&cfg, "big.yaml", buf, len, &st, msg, sizeof(msg));
    assert_int_equal(rc, PL_ECONFIG);
    assert_string_equal(msg, "big.yaml: 16777217 bytes, expected at most 16 MiB");
    pl_config_free(&cfg);
    free(buf);
    /* a message longer than the buffer is cut, NUL-terminated */
    rc = pl_config_load_buffer(&cfg, "x.yaml", "a: 1", 4, &st, msg, 12);
    assert_int_equal(rc, PL_ECONFIG);
    assert_string_equal(msg, "x.yaml:1:1:");
    pl_config_free(&cfg);
    /* many tags from CSV: linear checks (a quick run, not the million) */
    {
        size_t n = 20000, i, cap = n * 40 + 64, off;
        char *csv = malloc(cap);

        assert_non_null(csv);
        off = (size_t)snprintf(csv, cap, "name,device,address,scan\n");
        for (i = 0; i < n; i++)
            off += (size_t)snprintf(csv + off, cap - off, "t%zu,d1,W%zu,fast\n", i, i);
        write_file("many.csv", csv, off);
        free(csv);
        expect_ok(BASE "tags:\n  - csv: many.csv\n");
        assert_int_equal(cfg.ntags, n);
        assert_string_equal(cfg.tags[n - 1].name, "t19999");
        pl_config_free(&cfg);
    }
}

/* Every key of every protocol's descriptor is accepted where it belongs: the loader builds
 * its key lists from the registry, so a new protocol's keys need no change here. */
static void test_protocol_keys_from_registry(void **state)
{
    static const char *const where[] = {"lines", "devices", NULL, "simulators"};
    const pl_protocol_t *p;
    size_t i;
    int scope;

    (void)state;
    for (i = 0; (p = pl_protocol_at(i)) != NULL; i++) {
        for (scope = 0; scope < PL_KEYS_SCOPES; scope++) {
            const pl_proto_key_t *k = p->keys[scope];

            for (; where[scope] != NULL && k != NULL && k->name != NULL; k++) {
                char yaml[512], value[64];

                if (k->kind == PL_KEY_BOOL)
                    snprintf(value, sizeof(value), "true");
                else if (k->kind == PL_KEY_TEXT && k->def == NULL)
                    snprintf(value, sizeof(value), "t");
                else if (k->kind == PL_KEY_LIST && k->def == NULL)
                    snprintf(value, sizeof(value), "'%u,%u'", k->min, k->min);
                else if (k->def == NULL || k->kind == PL_KEY_QUERY)
                    snprintf(value, sizeof(value), "''");
                else
                    snprintf(value, sizeof(value), "%s", k->def);
                if (scope == PL_KEYS_LINE)
                    snprintf(yaml, sizeof(yaml),
                             "lines: [{name: a, protocol: %s, host: h, %s: %s}]\n", p->name,
                             k->name, value);
                else if (scope == PL_KEYS_DEVICE)
                    snprintf(yaml, sizeof(yaml),
                             "lines: [{name: a, protocol: %s, host: h}]\n"
                             "devices: [{name: d, line: a, %s: %s}]\n",
                             p->name, k->name, value);
                else
                    snprintf(yaml, sizeof(yaml), "simulators: [{name: s, protocol: %s, %s: %s}]\n",
                             p->name, k->name, value);
                expect_ok(yaml);
                pl_config_free(&cfg);
            }
        }
    }
}

/* http: off unless present; its keys; writes need a token file. */
static void test_http_section(void **state)
{
    (void)state;
    expect_ok(BASE);
    assert_int_equal(cfg.http.on, 0);
    pl_config_free(&cfg);
    expect_ok(BASE "http:\n");
    assert_int_equal(cfg.http.on, 1);
    assert_string_equal(cfg.http.listen, "127.0.0.1:8080");
    assert_int_equal(cfg.http.writes, 0);
    pl_config_free(&cfg);
    expect_ok(BASE "http: {listen: \"[::1]:0\", writes: true, token_file: a.token}\n");
    assert_string_equal(cfg.http.listen, "[::1]:0");
    assert_int_equal(cfg.http.writes, 1);
    assert_string_equal(cfg.http.token_file, "a.token");
    pl_config_free(&cfg);
    expect_error(BASE "http: {writes: true}\n",
                 ":7:8: 'writes: true' without a 'token_file', expected a token file "
                 "(writes over HTTP take a bearer token)");
    expect_error(BASE "http: {listen: plant.local:80}\n",
                 ":7:16: 'listen' value 'plant.local:80', expected ADDRESS:PORT with a numeric "
                 "address, e.g. 127.0.0.1:8080 or [::1]:8080");
    expect_error(BASE "http: {listen: \"[::1]\"}\n",
                 ":7:16: 'listen' value '[::1]', expected ADDRESS:PORT with a numeric address, "
                 "e.g. 127.0.0.1:8080 or [::1]:8080");
    expect_error(BASE "http: {listen: 127.0.0.1:70000}\n",
                 ":7:16: 'listen' value '127.0.0.1:70000', expected ADDRESS:PORT with a numeric "
                 "address, e.g. 127.0.0.1:8080 or [::1]:8080");
    expect_ok(BASE "http: {listen: 0.0.0.0:9000}\n");
    pl_config_free(&cfg);
    expect_error(BASE "http: {port: 80}\n",
                 ":7:8: unknown key 'port' in 'http', expected one of: listen, writes, "
                 "token_file");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_tag_origins),
        cmocka_unit_test(test_minimal_and_buffer),
        cmocka_unit_test(test_texts_handed_to_engine),
        cmocka_unit_test(test_error_keys),
        cmocka_unit_test(test_error_yaml),
        cmocka_unit_test(test_error_types),
        cmocka_unit_test(test_error_names),
        cmocka_unit_test(test_error_duplicates),
        cmocka_unit_test(test_error_refs),
        cmocka_unit_test(test_backup_simulator),
        cmocka_unit_test(test_device_stale),
        cmocka_unit_test(test_tag_stale),
        cmocka_unit_test(test_error_files),
        cmocka_unit_test(test_csv_reader),
        cmocka_unit_test(test_csv_long_record),
        cmocka_unit_test(test_csv_tags_errors),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_line_keepalive_and_stable),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_protocol_keys_from_registry),
        cmocka_unit_test(test_http_section),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
