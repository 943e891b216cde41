/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the configuration loader (src/engine/config.h) and the CSV reader
 * (src/engine/csv.h). The input is loaded as YAML from memory twice: both loads must agree,
 * a failure must carry a "fuzz.yaml..." message with ", expected" in it and a success must
 * hold only valid names and resolved references. The same bytes are then read as CSV
 * records, whose fields must lie in the reader's storage, NUL-terminated. ASan/LSan catch
 * reads past the input and leaks on any error path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/config.h"
#include "engine/csv.h"
#include "proto/registry.h"
#include "plcline/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static pl_config_t c1, c2;
static pl_csv_t csv;
static char m1[4096], m2[4096];

static void check(int ok)
{
    if (!ok)
        abort();
}

static int has_csv(const uint8_t *d, size_t n)
{
    size_t i;

    for (i = 0; i + 3 <= n; i++)
        if (d[i] == 'c' && d[i + 1] == 's' && d[i + 2] == 'v')
            return 1;
    return 0;
}

static void check_str(const char *s, size_t cap, int nonempty)
{
    check(memchr(s, '\0', cap) != NULL);
    if (nonempty)
        check(s[0] != '\0');
}

static void check_name(const char *s)
{
    size_t i, n;

    check_str(s, PL_NAME_MAX, 1);
    n = strlen(s);
    for (i = 0; i < n; i++)
        check(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/", s[i]) !=
              NULL);
    check(s[0] != '/' && s[n - 1] != '/' && strstr(s, "//") == NULL);
}

/* A simulator's protocol is known, and keys the loader converted itself (every kind but a
 * protocol's own query string, which the protocol checks when it starts) pass the
 * descriptor's check. */
static int sim_keys_ok(const pl_sim_def_t *sd)
{
    const pl_protocol_t *p = pl_protocol_find(sd->protocol, strlen(sd->protocol));
    const pl_proto_key_t *k;

    if (p == NULL)
        return 0;
    for (k = p->keys[PL_KEYS_SIM]; k != NULL && k->name != NULL; k++)
        if (k->kind == PL_KEY_QUERY)
            return 1;
    return pl_protocol_keys_check(p, PL_KEYS_SIM, sd->keys, NULL) == 0;
}

static void check_loaded(const pl_config_t *c)
{
    pl_engine_config_t ec;
    char where[256];
    size_t i;

    check(c->ntags <= PL_CONFIG_TAGS_MAX);
    for (i = 0; i < c->nscans; i++) {
        check_name(c->scans[i].name);
        check(c->scans[i].period_ms > 0);
        check(pl_config_find(c, PL_CONFIG_SCAN, c->scans[i].name) == (long)i);
    }
    for (i = 0; i < c->nsims; i++) {
        check_name(c->sims[i].name);
        check(sim_keys_ok(&c->sims[i]));
    }
    for (i = 0; i < c->nlines; i++) {
        const pl_line_def_t *l = &c->lines[i];

        check_name(l->name);
        check((l->simulator[0] != '\0') != (l->line.hosts.count > 0));
        if (l->simulator[0] != '\0') {
            long s = pl_config_find(c, PL_CONFIG_SIM, l->simulator);

            check(s >= 0 && strcmp(c->sims[s].protocol, l->protocol) == 0);
        } else {
            check(l->line.port != 0);
        }
        if (l->backup_simulator[0] != '\0') {
            long s = pl_config_find(c, PL_CONFIG_SIM, l->backup_simulator);

            check(s >= 0 && strcmp(c->sims[s].protocol, l->protocol) == 0 &&
                  l->line.backup.count == 0);
        }
        check(l->line.local_addr == NULL || l->line.local_addr == l->local_addr);
        check(pl_protocol_find(l->protocol, strlen(l->protocol)) != NULL);
        check_str(l->keys, sizeof(l->keys), 0);
    }
    for (i = 0; i < c->ndevices; i++) {
        check_name(c->devices[i].name);
        check(pl_config_find(c, PL_CONFIG_LINE, c->devices[i].line) >= 0);
        check(c->devices[i].write_queue > 0);
    }
    for (i = 0; i < c->ntags; i++) {
        const pl_tag_def_t *t = &c->tags[i];

        check(t->name != NULL && t->device != NULL && t->address != NULL && t->scan != NULL &&
              t->keys != NULL);
        check_name(t->name);
        check_str(t->address, PL_ADDRESS_MAX, 1);
        check(pl_config_find(c, PL_CONFIG_DEVICE, t->device) >= 0);
        check(pl_config_find(c, PL_CONFIG_SCAN, t->scan) >= 0);
        /* a device, scan class or address text given twice is kept once */
        check(i == 0 || strcmp(t->device, c->tags[i - 1].device) != 0 ||
              t->device == c->tags[i - 1].device);
        check(i == 0 || strcmp(t->address, c->tags[i - 1].address) != 0 ||
              t->address == c->tags[i - 1].address);
        check(t->deadband >= 0 && (!t->scaled || t->gain != 0));
        check(pl_config_origin(c, PL_CONFIG_TAG, i, where, sizeof(where)) == 0);
    }
    check(c->north.mqtt_qos_pub >= 0 && c->north.mqtt_qos_pub <= 2);
    pl_config_engine(c, &ec);
    check(ec.ntags == c->ntags && ec.tags == c->tags);
}

static void fuzz_csv(const uint8_t *data, size_t size)
{
    unsigned line = 0, col = 0, i, records = 0;
    pl_status_t st;
    int rc;

    pl_csv_init(&csv, (const char *)data, size);
    while ((rc = pl_csv_next(&csv, &line, &col, &st)) == 1) {
        check(csv.nfields >= 1 && csv.nfields <= PL_CSV_FIELDS_MAX);
        for (i = 0; i < csv.nfields; i++) {
            const pl_csv_field_t *f = &csv.field[i];

            check(f->s >= csv.text_ && f->s + f->len < csv.text_ + sizeof(csv.text_));
            check(f->s[f->len] == '\0');
            check(f->line >= csv.line);
        }
        check(++records <= size);
    }
    check(rc == 0 || (rc == PL_EVALUE && st.code == PL_EVALUE && line >= 1 && col >= 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pl_status_t s1, s2;
    int rc1, rc2;

    rc1 = pl_config_load_buffer(&c1, "fuzz.yaml", (const char *)data, size, &s1, m1, sizeof(m1));
    rc2 = pl_config_load_buffer(&c2, "fuzz.yaml", (const char *)data, size, &s2, m2, sizeof(m2));
    check(rc1 == rc2 && strcmp(m1, m2) == 0);
    if (rc1 == 0) {
        check(m1[0] == '\0' && s1.code == 0);
        check(c1.ntags == c2.ntags && c1.nlines == c2.nlines && c1.ndevices == c2.ndevices);
        check_loaded(&c1);
    } else {
        check(rc1 == PL_ECONFIG || rc1 == PL_EIO || rc1 == PL_ENOMEM);
        check(s1.code == rc1);
        /* errors inside an included CSV file name that file instead */
        check(strncmp(m1, "fuzz.yaml:", 10) == 0 || has_csv(data, size));
        check(strstr(m1, ", expected") != NULL);
        check(strncmp(s1.detail, m1, sizeof(s1.detail) - 1) == 0);
    }
    pl_config_free(&c1);
    pl_config_free(&c2);
    fuzz_csv(data, size);
    return 0;
}
