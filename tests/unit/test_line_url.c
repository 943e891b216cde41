/* SPDX-License-Identifier: MIT */
/*
 * The line keys of device URLs (src/net/line_url.c, docs/lines.md "Device URL options"):
 * pl_line_config_url() with every key alone and together, the defaults a URL leaves alone,
 * "backup=" turning "Use Backup Device" on and "use_backup=0" turning it off again, every
 * error naming its key; and pl_ttcp_client_config_url() with a full redundant URL, every
 * field of the resulting configuration checked. Pure parsing: no loop, no sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec/url.h"
#include "net/line_url.h"
#include "plcline/error.h"
#include "plcline/ttcp.h"

/* Parses `url` and applies its line keys to a fresh config; returns the result. */
static int apply(const char *url, pl_line_config_t *cfg, char *storage, size_t storage_len,
                 pl_status_t *err)
{
    static pl_url_t u; /* pl_url_t must not be copied: one static instance per call */

    pl_line_config_init(cfg);
    pl_status_clear(err);
    assert_int_equal(pl_url_parse(&u, url, PL_TTCP_PORT, err), 0);
    return pl_line_config_url(cfg, &u, PL_TTCP_PORT, storage, storage_len, err);
}

/* The port a host of `side` connects to: its own, else the side's (line.c add_targets). */
static uint16_t effective_port(const pl_line_config_t *cfg, pl_line_side_t side, unsigned i)
{
    const pl_hostlist_t *hl = side == PL_LINE_PRIMARY ? &cfg->hosts : &cfg->backup;
    uint16_t side_port = cfg->port;

    if (side == PL_LINE_BACKUP && cfg->backup_port != 0)
        side_port = cfg->backup_port;
    return hl->host[i].port != 0 ? hl->host[i].port : side_port;
}

static void expect_error(const char *url, const char *key_text)
{
    pl_line_config_t cfg;
    pl_status_t err;
    char local[64];

    assert_int_equal(apply(url, &cfg, local, sizeof(local), &err), PL_EURL);
    assert_int_equal(err.code, PL_EURL);
    if (strstr(err.detail, key_text) == NULL)
        fail_msg("%s: detail '%s' does not name '%s'", url, err.detail, key_text);
}

static void test_defaults(void **state)
{
    pl_line_config_t cfg, def;
    pl_status_t err;
    char local[64];

    (void)state;
    pl_line_config_init(&def);
    assert_int_equal(apply("7ttcp://10.0.0.1/3", &cfg, local, sizeof(local), &err), 0);
    assert_int_equal(cfg.hosts.count, 1);
    assert_string_equal(pl_hostlist_name(&cfg.hosts, 0), "10.0.0.1");
    assert_int_equal(cfg.port, PL_TTCP_PORT);
    assert_int_equal(effective_port(&cfg, PL_LINE_PRIMARY, 0), PL_TTCP_PORT);
    assert_int_equal(cfg.backup.count, 0);
    assert_int_equal(cfg.backup_port, 0);
    assert_int_equal(cfg.use_backup, 0);
    assert_int_equal(cfg.redundancy, PL_REDUNDANCY_ALTERNATE);
    assert_int_equal(cfg.prefer_primary, 0);
    assert_null(cfg.local_addr);
    assert_int_equal(cfg.local_port, 0);
    assert_int_equal(cfg.line_number, 0);
    assert_int_equal(cfg.connect_timeout_ms, def.connect_timeout_ms);
    assert_int_equal(cfg.connect_timeout_ms, 3000);
    /* keys the URL has no say in stay as they were */
    assert_int_equal(cfg.backoff_min_ms, def.backoff_min_ms);
    assert_int_equal(cfg.backoff_max_ms, def.backoff_max_ms);
    assert_int_equal(cfg.tcp_keepalive_s, def.tcp_keepalive_s);
    assert_int_equal(cfg.stable_ms, def.stable_ms);
}

static void test_each_key(void **state)
{
    pl_line_config_t cfg;
    pl_status_t err;
    char local[64];

    (void)state;
    /* backup= implies use_backup */
    assert_int_equal(apply("7ttcp://10.0.0.1?backup=10.0.1.1", &cfg, local, sizeof(local), &err),
                     0);
    assert_int_equal(cfg.use_backup, 1);
    assert_int_equal(cfg.backup.count, 1);
    assert_string_equal(pl_hostlist_name(&cfg.backup, 0), "10.0.1.1");
    assert_int_equal(cfg.backup_port, PL_TTCP_PORT);
    assert_int_equal(effective_port(&cfg, PL_LINE_BACKUP, 0), PL_TTCP_PORT);
    /* a backup host with its own port; a list with spaces and both separators */
    assert_int_equal(apply("7ttcp://10.0.0.1?backup=10.0.1.1:503, 10.0.1.2; [::1]:504", &cfg, local,
                           sizeof(local), &err),
                     0);
    assert_int_equal(cfg.backup.count, 3);
    assert_int_equal(effective_port(&cfg, PL_LINE_BACKUP, 0), 503);
    assert_string_equal(pl_hostlist_name(&cfg.backup, 1), "10.0.1.2");
    assert_string_equal(pl_hostlist_name(&cfg.backup, 2), "::1");
    assert_int_equal(effective_port(&cfg, PL_LINE_BACKUP, 2), 504);
    /* use_backup=0 keeps the backup hosts but turns the device off; use_backup=1 alone */
    assert_int_equal(
        apply("7ttcp://10.0.0.1?backup=10.0.1.1&use_backup=0", &cfg, local, sizeof(local), &err),
        0);
    assert_int_equal(cfg.use_backup, 0);
    assert_int_equal(cfg.backup.count, 1);
    assert_int_equal(apply("7ttcp://10.0.0.1?use_backup=1", &cfg, local, sizeof(local), &err), 0);
    assert_int_equal(cfg.use_backup, 1);
    assert_int_equal(cfg.backup.count, 0);
    /* an empty backup= is no backup */
    assert_int_equal(apply("7ttcp://10.0.0.1?backup=", &cfg, local, sizeof(local), &err), 0);
    assert_int_equal(cfg.use_backup, 0);
    assert_int_equal(cfg.backup.count, 0);
    /* redundancy */
    assert_int_equal(
        apply("7ttcp://10.0.0.1?redundancy=parallel", &cfg, local, sizeof(local), &err), 0);
    assert_int_equal(cfg.redundancy, PL_REDUNDANCY_PARALLEL);
    assert_int_equal(
        apply("7ttcp://10.0.0.1?redundancy=alternate", &cfg, local, sizeof(local), &err), 0);
    assert_int_equal(cfg.redundancy, PL_REDUNDANCY_ALTERNATE);
    /* prefer_primary */
    assert_int_equal(apply("7ttcp://10.0.0.1?prefer_primary=1", &cfg, local, sizeof(local), &err),
                     0);
    assert_int_equal(cfg.prefer_primary, 1);
    assert_int_equal(apply("7ttcp://10.0.0.1?prefer_primary=0", &cfg, local, sizeof(local), &err),
                     0);
    assert_int_equal(cfg.prefer_primary, 0);
    /* local: address, address:port, bracketed IPv6 with port */
    assert_int_equal(apply("7ttcp://10.0.0.1?local=192.168.5.10", &cfg, local, sizeof(local), &err),
                     0);
    assert_ptr_equal(cfg.local_addr, local);
    assert_string_equal(cfg.local_addr, "192.168.5.10");
    assert_int_equal(cfg.local_port, 0);
    assert_int_equal(
        apply("7ttcp://10.0.0.1?local=192.168.5.10:4000", &cfg, local, sizeof(local), &err), 0);
    assert_string_equal(cfg.local_addr, "192.168.5.10");
    assert_int_equal(cfg.local_port, 4000);
    assert_int_equal(apply("7ttcp://[::1]?local=[::1]:4001", &cfg, local, sizeof(local), &err), 0);
    assert_string_equal(cfg.local_addr, "::1");
    assert_int_equal(cfg.local_port, 4001);
    /* line number: 0 and the largest */
    assert_int_equal(apply("7ttcp://10.0.0.1?line=0", &cfg, local, sizeof(local), &err), 0);
    assert_int_equal(cfg.line_number, 0);
    assert_int_equal(apply("7ttcp://10.0.0.1?line=2147483647", &cfg, local, sizeof(local), &err),
                     0);
    assert_int_equal(cfg.line_number, 2147483647);
    /* connect_timeout: 1 and the largest */
    assert_int_equal(apply("7ttcp://10.0.0.1?connect_timeout=1", &cfg, local, sizeof(local), &err),
                     0);
    assert_int_equal(cfg.connect_timeout_ms, 1);
    assert_int_equal(
        apply("7ttcp://10.0.0.1?connect_timeout=3600000", &cfg, local, sizeof(local), &err), 0);
    assert_int_equal(cfg.connect_timeout_ms, 3600000);
    /* the authority's hosts with their own ports */
    assert_int_equal(apply("7ttcp://10.0.0.1:503;plc-b:504/1", &cfg, local, sizeof(local), &err),
                     0);
    assert_int_equal(cfg.hosts.count, 2);
    assert_string_equal(pl_hostlist_name(&cfg.hosts, 1), "plc-b");
    assert_int_equal(effective_port(&cfg, PL_LINE_PRIMARY, 0), 503);
    assert_int_equal(effective_port(&cfg, PL_LINE_PRIMARY, 1), 504);
}

static void test_errors_name_their_key(void **state)
{
    pl_line_config_t cfg;
    pl_status_t err;
    char tiny[4];

    (void)state;
    expect_error("7ttcp://10.0.0.1?redundancy=sideways", "redundancy");
    expect_error("7ttcp://10.0.0.1?redundancy=sideways", "sideways");
    expect_error("7ttcp://10.0.0.1?redundancy=", "redundancy");
    expect_error("7ttcp://10.0.0.1?prefer_primary=2", "prefer_primary");
    expect_error("7ttcp://10.0.0.1?prefer_primary=yes", "prefer_primary");
    expect_error("7ttcp://10.0.0.1?use_backup=2", "use_backup");
    expect_error("7ttcp://10.0.0.1?line=-1", "line");
    expect_error("7ttcp://10.0.0.1?line=2147483648", "line");
    expect_error("7ttcp://10.0.0.1?line=", "line");
    expect_error("7ttcp://10.0.0.1?connect_timeout=0", "connect_timeout");
    expect_error("7ttcp://10.0.0.1?connect_timeout=3600001", "connect_timeout");
    expect_error("7ttcp://10.0.0.1?local=10.0.0.5,10.0.0.6", "local");
    expect_error("7ttcp://10.0.0.1?local=10.0.0.5,10.0.0.6", "2");
    expect_error("7ttcp://10.0.0.1?local=10.0.0.5:99999", "port");
    expect_error("7ttcp://10.0.0.1?backup=1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,"
                 "1.1.1.7,1.1.1.8,1.1.1.9",
                 "backup");
    expect_error("7ttcp://10.0.0.1?backup=1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,"
                 "1.1.1.7,1.1.1.8,1.1.1.9",
                 "8");
    expect_error("7ttcp://10.0.0.1?backup=10.0.1.1:0", "backup");
    expect_error("7ttcp://10.0.0.1?backup=10.0.1.1,,10.0.1.2", "backup");
    /* a local address longer than the caller's storage */
    assert_int_equal(apply("7ttcp://10.0.0.1?local=192.168.5.10", &cfg, tiny, sizeof(tiny), &err),
                     PL_EURL);
    assert_non_null(strstr(err.detail, "local"));
    /* exactly 8 backup hosts is fine */
    assert_int_equal(apply("7ttcp://10.0.0.1?backup=1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,"
                           "1.1.1.6,1.1.1.7,1.1.1.8",
                           &cfg, tiny, sizeof(tiny), &err),
                     0);
    assert_int_equal(cfg.backup.count, 8);
}

/* The full redundant URL through the 7TTCP client's parser: every field. */
static void test_ttcp_full_redundant_url(void **state)
{
    static const char url[] = "7ttcp://10.0.0.1,10.0.0.2:12398/3?backup=10.0.1.1;10.0.1.2:12399"
                              "&redundancy=parallel&prefer_primary=1&local=10.0.0.5&line=4"
                              "&connect_timeout=500";
    pl_ttcp_client_config_t cfg, def;
    pl_status_t err;
    char local[64];
    uint32_t node = 0;
    int swap = 7;

    (void)state;
    pl_ttcp_client_config_init(&def);
    pl_ttcp_client_config_init(&cfg);
    pl_status_clear(&err);
    assert_int_equal(pl_ttcp_client_config_url(&cfg, url, &node, &swap, local, sizeof(local), &err),
                     0);
    assert_int_equal(node, 3);
    assert_int_equal(swap, 0);
    /* primary device */
    assert_int_equal(cfg.line.hosts.count, 2);
    assert_string_equal(pl_hostlist_name(&cfg.line.hosts, 0), "10.0.0.1");
    assert_string_equal(pl_hostlist_name(&cfg.line.hosts, 1), "10.0.0.2");
    assert_int_equal(cfg.line.hosts.host[1].port, 12398);
    assert_int_equal(cfg.line.port, 12398);
    assert_int_equal(effective_port(&cfg.line, PL_LINE_PRIMARY, 0), 12398);
    assert_int_equal(effective_port(&cfg.line, PL_LINE_PRIMARY, 1), 12398);
    /* backup device */
    assert_int_equal(cfg.line.use_backup, 1);
    assert_int_equal(cfg.line.backup.count, 2);
    assert_string_equal(pl_hostlist_name(&cfg.line.backup, 0), "10.0.1.1");
    assert_string_equal(pl_hostlist_name(&cfg.line.backup, 1), "10.0.1.2");
    assert_int_equal(cfg.line.backup.host[1].port, 12399);
    assert_int_equal(effective_port(&cfg.line, PL_LINE_BACKUP, 1), 12399);
    /* redundancy */
    assert_int_equal(cfg.line.redundancy, PL_REDUNDANCY_PARALLEL);
    assert_int_equal(cfg.line.prefer_primary, 1);
    /* local end, line number, connect timeout */
    assert_ptr_equal(cfg.line.local_addr, local);
    assert_string_equal(cfg.line.local_addr, "10.0.0.5");
    assert_int_equal(cfg.line.local_port, 0);
    assert_int_equal(cfg.line.line_number, 4);
    assert_int_equal(cfg.line.connect_timeout_ms, 500);
    /* what the URL does not set keeps its default */
    assert_int_equal(cfg.line.backoff_min_ms, def.line.backoff_min_ms);
    assert_int_equal(cfg.line.backoff_max_ms, def.line.backoff_max_ms);
    assert_int_equal(cfg.line.tcp_keepalive_s, def.line.tcp_keepalive_s);
    assert_int_equal(cfg.line.stable_ms, def.line.stable_ms);
    assert_int_equal(cfg.timeout_ms, def.timeout_ms);
    assert_int_equal(cfg.keepalive_ms, def.keepalive_ms);
    assert_int_equal(cfg.max_block, def.max_block);
    assert_int_equal(cfg.max_queue, def.max_queue);
    assert_null(cfg.on_link);
    assert_null(cfg.on_unsolicited);
    /* the config keeps no pointer into the URL text */
    assert_true(cfg.line.local_addr < url || cfg.line.local_addr >= url + sizeof(url));

    /* an error in a line key comes back through the 7TTCP parser with the key's name */
    pl_ttcp_client_config_init(&cfg);
    assert_int_equal(pl_ttcp_client_config_url(&cfg, "7ttcp://10.0.0.1/3?redundancy=sideways",
                                               &node, NULL, local, sizeof(local), &err),
                     PL_EURL);
    assert_non_null(strstr(err.detail, "redundancy"));
    assert_int_equal(pl_ttcp_client_config_url(&cfg, "7ttcp://10.0.0.1/3?backupp=10.0.0.2", &node,
                                               NULL, local, sizeof(local), &err),
                     PL_EURL);
    assert_non_null(strstr(err.detail, "backupp"));
}

/* docs/lines.md: "a port after the whole list (`backup=a,b:PORT`) is the side's port": it
 * also goes to every host of the list that has no port of its own. */
static void test_port_after_list_is_the_sides(void **state)
{
    pl_line_config_t cfg;
    pl_status_t err;
    char local[64];

    (void)state;
    assert_int_equal(
        apply("7ttcp://10.0.0.1?backup=10.0.1.1;10.0.1.2:12399", &cfg, local, sizeof(local), &err),
        0);
    assert_int_equal(effective_port(&cfg, PL_LINE_BACKUP, 0), 12399);
    assert_int_equal(apply("7ttcp://10.0.0.1,10.0.0.2:503", &cfg, local, sizeof(local), &err), 0);
    assert_int_equal(effective_port(&cfg, PL_LINE_PRIMARY, 0), 503);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_each_key),
        cmocka_unit_test(test_errors_name_their_key),
        cmocka_unit_test(test_ttcp_full_redundant_url),
        cmocka_unit_test(test_port_after_list_is_the_sides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
