/* SPDX-License-Identifier: MIT */
/*
 * The plcline command's table of protocols: each protocol's part of 'read', 'write' and
 * 'bench' (src/proto/<name>/cli_<name>.c), found through the registry by the URL's scheme.
 * Built into the command, not the library; made from the one list in src/proto/protocols.h,
 * as the registry's table is.
 */
#include "proto/cli_proto.h"
#include "proto/protocols.h"

#include "plcline/error.h"

#include <string.h>

/* cli_proto_<name>: src/proto/<name>/cli_<name>.c */
#define DECLARE(name) extern const cli_proto_t cli_proto_##name;
PL_PROTOCOLS(DECLARE)
#undef DECLARE

#define ROW(name) &cli_proto_##name,
static const cli_proto_t *const cli_protos[] = {PL_PROTOCOLS(ROW)};
#undef ROW

const cli_proto_t *cli_proto_of_url(const char *url, const char *command)
{
    const pl_protocol_t *p;
    pl_status_t st;
    size_t i;

    pl_status_clear(&st);
    if (pl_protocol_of_url(url, &p, &st) < 0) {
        cli_print_error(url, &st);
        return NULL;
    }
    for (i = 0; i < sizeof(cli_protos) / sizeof(cli_protos[0]); i++) {
        const cli_proto_t *c = cli_protos[i];

        if (c->protocol != p)
            continue;
        if ((strcmp(command, "read") == 0 && c->read != NULL) ||
            (strcmp(command, "write") == 0 && c->write != NULL) ||
            (strcmp(command, "bench") == 0 && c->bench != NULL))
            return c;
        break;
    }
    pl_status_set(&st, PL_ENOTSUP, 0, "'%s' does not speak protocol '%s' yet", command, p->name);
    cli_print_error(url, &st);
    return NULL;
}

void cli_proto_write_notes(FILE *fp)
{
    size_t i;

    for (i = 0; i < sizeof(cli_protos) / sizeof(cli_protos[0]); i++)
        if (cli_protos[i]->write_notes != NULL)
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

void cli_print_error(const char *what, const pl_status_t *st)
{
    char buf[512];

    pl_status_format(st, buf, sizeof(buf));
    fprintf(stderr, "plcline: %s: %s\n", what, buf);
}

void cli_wait(uv_loop_t *loop, const int *done)
{
    while (!*done) {
        if (uv_run(loop, UV_RUN_ONCE) == 0 && !*done)
            break; /* nothing left that could complete it: cannot happen */
    }
}
