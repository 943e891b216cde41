/* SPDX-License-Identifier: MIT */
/*
 * The plcline command's table of protocols: each protocol's part of 'read' and 'write'
 * (src/proto/<name>/cli_<name>.c), found through the registry by the URL's scheme. Built
 * into the command, not the library; next to registry.c, the other list of protocols.
 */
#include "cli.h"

#include "plcline/error.h"

#include <string.h>

extern const cli_proto_t cli_proto_ttcp;   /* src/proto/ttcp/cli_ttcp.c */
extern const cli_proto_t cli_proto_pccc;   /* src/proto/pccc/cli_pccc.c */
extern const cli_proto_t cli_proto_modbus; /* src/proto/modbus/cli_modbus.c */

static const cli_proto_t *const cli_protos[] = {
    &cli_proto_ttcp,
    &cli_proto_pccc,
    &cli_proto_modbus,
};

const cli_proto_t *cli_proto_of_url(const char *url)
{
    const pl_protocol_t *p;
    pl_status_t st;
    size_t i;

    pl_status_clear(&st);
    if (pl_protocol_of_url(url, &p, &st) < 0) {
        cli_print_error(url, &st);
        return NULL;
    }
    for (i = 0; i < sizeof(cli_protos) / sizeof(cli_protos[0]); i++)
        if (cli_protos[i]->protocol == p)
            return cli_protos[i];
    pl_status_set(&st, PL_ENOTSUP, 0, "the command has no part for protocol '%s'", p->name);
    cli_print_error(url, &st);
    return NULL;
}

void cli_proto_write_notes(FILE *fp)
{
    size_t i;

    for (i = 0; i < sizeof(cli_protos) / sizeof(cli_protos[0]); i++)
        fputs(cli_protos[i]->write_notes, fp);
}

void cli_proto_urls(FILE *fp)
{
    const pl_protocol_t *p;
    size_t i;

    for (i = 0; (p = pl_protocol_at(i)) != NULL; i++)
        fprintf(fp, "%.*s", (int)(strcspn(p->usage, "\n") + 1), p->usage);
}

void cli_proto_usage(FILE *fp)
{
    const pl_protocol_t *p;
    size_t i;

    for (i = 0; (p = pl_protocol_at(i)) != NULL; i++) {
        if (i > 0)
            fputc('\n', fp);
        fputs(p->usage, fp);
    }
}
