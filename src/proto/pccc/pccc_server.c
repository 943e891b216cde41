/* SPDX-License-Identifier: MIT */
/*
 * PCCC PLC simulator (seed 001): answers EtherNet/IP encapsulation (RegisterSession,
 * ListIdentity, ListServices, NOP, SendRRData, SendUnitData), the Connection Manager
 * (Unconnected Send 0x52 with a backplane route, Forward Open 0x54, Forward Close 0x4E) and
 * the PCCC object (class 0x67 instance 1, services 0x4B, 0x4C, 0x4D) with the typed and word
 * range commands of SLC 500, MicroLogix and PLC-5 processors, over data files held in memory.
 *
 * A remote error is answered as a real target would, at the layer where it happens:
 * encapsulation status, CIP general status, or PCCC STS/EXT STS (the choices and their
 * sources are in docs/pccc-simulator.md). Only bytes that cannot be framed (an encapsulation
 * length past what this simulator accepts) close the connection that sent them, and only
 * that one. A connection that has not registered a session within register_timeout_ms
 * is closed, so an idle partner cannot hold a max_conns slot for ever. Built on simconn
 * (the simulators' connections: framing, delay, close-after, the register deadline, on
 * the listener) and the codecs; it never blocks and never prints (logging goes through the
 * caller's logger).
 */
#include "plcline/pccc.h"
#include "plcline/error.h"

#include "proto/pccc/codec/cip.h"
#include "proto/pccc/codec/enip.h"
#include "proto/pccc/codec/pccc.h"
#include "proto/pccc/codec/pccc_addr.h"
#include "proto/simconn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILES      64u
#define MAX_ELEMENTS   1000u /* elements per data file (PLC-5 files go to 1000) */
#define MAX_ENIP_DATA  4096u /* encapsulation data accepted; longer frames close the conn */
#define MAX_CONNS_CIP  4u    /* Forward Open connections per TCP connection */
#define BUF_LEN        1024u /* one reply at any layer (PCCC data is at most 255 bytes) */
#define MAX_SLC_BYTES  236u  /* data bytes per SLC typed command (1770-6.5.16: 5/03, 5/04) */
#define MAX_PLC5_BYTES 240u  /* data bytes per PLC-5 typed/word range command (1770-KF2) */
#define FIRST_SESSION  0x0C0A0001u
#define FIRST_CONN_ID  0x10000001u
#define RR_TIMEOUT     0u       /* timeout field of our SendRRData replies */
#define DH_USER        0u       /* DH+ header user (control) bytes */
#define API_DEFAULT_US 2000000u /* actual packet interval reported when the RPI is 0 */
#define REGISTER_MS    10000u   /* register_timeout_ms 0: RegisterSession within 10 s */

/* EXT STS values used here (1770-6.5.16 ch. 8, with CMD 0x0F and STS 0xF0). */
#define EXT_FEW_LEVELS    0x02u /* fewer levels than the minimum for any address */
#define EXT_MANY_LEVELS   0x03u /* more levels than the system supports */
#define EXT_NOT_USABLE    0x06u /* address doesn't point to something usable */
#define EXT_TOO_LARGE     0x09u /* data or file is too large */
#define EXT_PAST_END      0x0Au /* transaction size plus word address is too large */
#define EXT_TYPE_MISMATCH 0x17u /* type mismatch */

/* Diagnostic status (1770-6.5.16 ch. 10). */
#define DIAG_MODE_RUN     0x06u /* byte 1: remote run (as SLC 5/05 in run) */
#define DIAG_SLC_TYPE     0xEEu /* byte 2: type extender, SLC/MicroLogix layout */
#define DIAG_PLC5_TYPE    0xEBu /* byte 2: PLC-5, expansion byte follows */
#define DIAG_SLC_LEN      24u   /* bytes 1..16 + product-specific bytes (zero) */
#define DIAG_PLC5_LEN     9u
#define DIAG_CATALOG_AT   5u /* bytes 6..16 (0-based 5..15) */
#define DIAG_SERIES_SHIFT 5u

/* ListServices (Vol 2, 2-4.6): version 1, CIP over TCP (bit 5) and class 0/1 UDP (bit 8). */
#define SVC_ITEM_LEN     20u
#define SVC_CAPABILITIES 0x0120u
#define SVC_NAME_LEN     16u

typedef struct {
    const char *letters;
    uint8_t ft;        /* PL_PCCC_FT_* */
    uint8_t size;      /* bytes per element */
    uint8_t plc5_type; /* PLC-5 type/data ID (1770-6.5.16 p. 7-29) */
} ftype_t;

static const ftype_t ftypes[] = {
    {"O", PL_PCCC_FT_OUTPUT, 2, PL_PCCC_TD_INTEGER},
    {"I", PL_PCCC_FT_INPUT, 2, PL_PCCC_TD_INTEGER},
    {"S", PL_PCCC_FT_STATUS, 2, PL_PCCC_TD_INTEGER},
    {"B", PL_PCCC_FT_BIT, 2, PL_PCCC_TD_BIT_STRING},
    {"T", PL_PCCC_FT_TIMER, 6, PL_PCCC_TD_TIMER},
    {"C", PL_PCCC_FT_COUNTER, 6, PL_PCCC_TD_COUNTER},
    {"R", PL_PCCC_FT_CONTROL, 6, PL_PCCC_TD_CONTROL},
    {"N", PL_PCCC_FT_INTEGER, 2, PL_PCCC_TD_INTEGER},
    {"F", PL_PCCC_FT_FLOAT, 4, PL_PCCC_TD_FLOAT},
    {"ST", PL_PCCC_FT_STRING, 84, PL_PCCC_TD_BYTE_STR},
    {"A", PL_PCCC_FT_ASCII, 2, PL_PCCC_TD_BYTE_STR},
    {"L", PL_PCCC_FT_LONG, 4, PL_PCCC_TD_INTEGER},
};

/* The default data table (docs/pccc-simulator.md). */
static const char default_files[] =
    "O0:8 I1:8 S2:164 B3:16 T4:10 C5:10 R6:10 N7:100 F8:20 ST9:5 L10:10 A11:10";

typedef struct {
    const ftype_t *type;
    uint16_t number;
    uint32_t elements;
    uint8_t *bytes; /* elements * type->size */
} dfile_t;

/* What each processor type says about itself (docs/pccc-simulator.md). */
typedef struct {
    const char *name; /* pl_pccc_plc_t text */
    uint16_t product_code;
    uint8_t rev_major, rev_minor;
    uint32_t serial;
    const char *product; /* ListIdentity product name */
    const char *catalog; /* diagnostic status bytes 6..16 */
    uint8_t ext_processor, series, revision;
} identity_t;

static const identity_t identities[] = {
    [PL_PCCC_PLC_SLC500] = {"slc500", 0x0057, 23, 10, 0x00505050u, "1747-L552/C D/23.10",
                            "1747-L552", 0x9C, 2, 3},
    [PL_PCCC_PLC_MICROLOGIX] = {"micrologix", 0x0058, 14, 0, 0x00110011u, "1763-L16BWA B/14.00",
                                "1763-L16BWA", 0x95, 1, 13},
    [PL_PCCC_PLC_PLC5] = {"plc5", 0x0013, 11, 1, 0x00054040u, "1785-L40E/F", "1785-L40E", 0x4B, 5,
                          11},
    [PL_PCCC_PLC_LOGIX] = {"logix", 0x00A6, 33, 11, 0x00175600u, "1756-L83E/B", "1756-L83E", 0x00,
                           1, 0},
};

/* One Forward Open connection: ids and the triad that names it. */
typedef struct {
    int used;
    uint32_t ot_id, to_id;
    uint16_t conn_serial, vendor;
    uint32_t orig_serial;
} cipconn_t;

/* What this simulator keeps per TCP connection (the state of its pl_simconn_t). */
typedef struct {
    pl_pccc_server_t *srv;
    pl_simconn_t *sim;
    uint32_t session; /* 0: not registered */
    cipconn_t cip[MAX_CONNS_CIP];
} sconn_t;

struct pl_pccc_server_s {
    uv_loop_t *loop;
    pl_simconn_set_t conns; /* the listener and its connections */
    const pl_logger_t *log;
    pl_pccc_plc_t plc;
    unsigned animate_ms;
    /* strictness (pl_pccc_server_config_t) */
    int lax_register, no_connected, require_requestor;
    unsigned max_inflight;
    uint16_t req_vendor;
    uint32_t req_serial;
    dfile_t files[MAX_FILES];
    unsigned nfiles;
    uint32_t next_session, next_conn_id;
    uv_timer_t animate;
    uint32_t tick;
    pl_pccc_server_stats_t stats;
    pl_simconn_t *serving; /* the connection whose frame is being served (for its log) */
    /* reply assembly, innermost first */
    uint8_t pccc[BUF_LEN], wrap[BUF_LEN], cip[BUF_LEN], cip2[BUF_LEN], cpf[BUF_LEN],
        tx[PL_ENIP_HEADER_LEN + BUF_LEN];
};

void pl_pccc_server_config_init(pl_pccc_server_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->listen.port = PL_ENIP_PORT;
    cfg->plc = PL_PCCC_PLC_SLC500;
}

/* --- little-endian helpers ------------------------------------------------------------ */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

/* --- data files ----------------------------------------------------------------------- */

static const ftype_t *ftype_by_letters(const char *s, size_t n)
{
    size_t k;

    for (k = 0; k < sizeof(ftypes) / sizeof(ftypes[0]); k++)
        if (strlen(ftypes[k].letters) == n && strncmp(ftypes[k].letters, s, n) == 0)
            return &ftypes[k];
    return NULL;
}

static dfile_t *file_find(pl_pccc_server_t *s, uint32_t number)
{
    unsigned k;

    for (k = 0; k < s->nfiles; k++)
        if (s->files[k].number == number)
            return &s->files[k];
    return NULL;
}

/* Reads letters and a file number at *p ("N7", "st9"); upper-cases the letters. */
static int parse_file_name(const char **p, char *letters, uint32_t *number)
{
    const char *q = *p;
    size_t n = 0;
    uint32_t v = 0;

    while (n < 2 && ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z'))) {
        letters[n++] = (char)(*q >= 'a' ? *q - 'a' + 'A' : *q);
        q++;
    }
    letters[n] = '\0';
    if (n == 0 || *q < '0' || *q > '9')
        return -1;
    while (*q >= '0' && *q <= '9') {
        v = v * 10u + (uint32_t)(*q - '0');
        if (v > PL_PCCC_FILE_MAX)
            return -1;
        q++;
    }
    *number = v;
    *p = q;
    return 0;
}

static int parse_files(pl_pccc_server_t *s, const char *spec, pl_status_t *err)
{
    const char *p = spec;

    for (;;) {
        const char *item;
        const ftype_t *t;
        char letters[3];
        uint32_t number, count = 0;
        dfile_t *f;

        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            return 0;
        item = p;
        if (parse_file_name(&p, letters, &number) < 0 || *p != ':' || p[1] < '0' || p[1] > '9')
            goto bad;
        t = ftype_by_letters(letters, strlen(letters));
        if (t == NULL)
            goto bad;
        for (p++; *p >= '0' && *p <= '9'; p++) {
            count = count * 10u + (uint32_t)(*p - '0');
            if (count > MAX_ELEMENTS)
                goto bad;
        }
        if (count == 0 || (*p != '\0' && *p != ' ' && *p != '\t' && *p != ','))
            goto bad;
        if (file_find(s, number) != NULL)
            return pl_status_set(err, PL_ECONFIG, 0, "files: file %u declared twice",
                                 (unsigned)number);
        if (s->nfiles == MAX_FILES)
            return pl_status_set(err, PL_ECONFIG, 0, "files: more than %u files", MAX_FILES);
        f = &s->files[s->nfiles];
        f->bytes = calloc(count, t->size);
        if (f->bytes == NULL)
            return pl_status_set(err, PL_ENOMEM, 0, NULL);
        f->type = t;
        f->number = (uint16_t)number;
        f->elements = count;
        s->nfiles++;
        continue;
    bad:
        return pl_status_set(err, PL_ECONFIG, 0,
                             "files: '%.16s' at column %zu: expected TYPE FILE:ELEMENTS, e.g. "
                             "N7:100",
                             item, (size_t)(item - spec) + 1u);
    }
}

uint8_t *pl_pccc_server_file(pl_pccc_server_t *s, const char *file, size_t *len)
{
    const char *p = file;
    char letters[3];
    uint32_t number;
    dfile_t *f;

    if (s == NULL || file == NULL || parse_file_name(&p, letters, &number) < 0 || *p != '\0')
        return NULL;
    f = file_find(s, number);
    if (f == NULL || strcmp(f->type->letters, letters) != 0)
        return NULL;
    if (len != NULL)
        *len = (size_t)f->elements * f->type->size;
    return f->bytes;
}

/* --- answers ------------------------------------------------------------------------- */

/* Sends an encapsulation reply to `req` with `status` and data[0..len). */
static void answer_encap(sconn_t *sc, const pl_enip_msg_t *req, uint32_t status,
                         const uint8_t *data, size_t len)
{
    pl_pccc_server_t *s = sc->srv;
    pl_enip_msg_t m = *req;
    int n;

    m.status = status;
    m.data = data;
    m.data_len = len;
    n = pl_enip_encode(s->tx, sizeof(s->tx), &m);
    if (n < 0) {
        pl_simconn_log(sc->sim, PL_LOG_ERROR, "pccc server %s: reply does not fit (%s)",
                       pl_simconn_peer(sc->sim), pl_err_name(n));
        return;
    }
    if (status != PL_ENIP_STATUS_SUCCESS)
        s->stats.errors_sent++;
    pl_simconn_answer(sc->sim, s->tx, (size_t)n);
}

/* --- PCCC ----------------------------------------------------------------------------- */

typedef struct {
    uint8_t sts, ext;
    size_t len; /* reply data bytes in s->pccc + PL_PCCC_REPLY_HEADER + 1 (room for EXT STS) */
} pres_t;

#define PDATA_AT (PL_PCCC_REPLY_HEADER + 1u) /* where reply data is built in s->pccc */

static int plc_is_plc5(const pl_pccc_server_t *s)
{
    return s->plc == PL_PCCC_PLC_PLC5;
}

static void fail_ext(pres_t *r, uint8_t ext)
{
    r->sts = PL_PCCC_STS_EXT;
    r->ext = ext;
    r->len = 0;
}

/* Checks an SLC three-field address; sets *at to the byte offset in the file. */
static int slc_locate(pl_pccc_server_t *s, const pl_pccc_slc_addr_t *a, dfile_t **fout, size_t *at,
                      pres_t *r)
{
    dfile_t *f = file_find(s, a->file);
    size_t off, file_len;
    uint8_t ft;

    if (f == NULL) {
        fail_ext(r, EXT_NOT_USABLE);
        return -1;
    }
    ft = f->type->ft;
    if (!(a->type == ft || (a->type == PL_PCCC_FT_OUTPUT_SLOT && ft == PL_PCCC_FT_OUTPUT) ||
          (a->type == PL_PCCC_FT_INPUT_SLOT && ft == PL_PCCC_FT_INPUT))) {
        fail_ext(r, EXT_TYPE_MISMATCH);
        return -1;
    }
    if (a->size > MAX_SLC_BYTES) {
        fail_ext(r, EXT_TOO_LARGE);
        return -1;
    }
    file_len = (size_t)f->elements * f->type->size;
    if (a->type != ft) {
        /* logical by slot (0x8B/0x8C): slot S word W is word S + W of the file */
        off = ((size_t)a->element + a->sub) * 2u;
        if (off >= file_len) {
            fail_ext(r, EXT_NOT_USABLE);
            return -1;
        }
    } else {
        if (a->element >= f->elements || (size_t)a->sub * 2u >= f->type->size) {
            fail_ext(r, EXT_NOT_USABLE);
            return -1;
        }
        off = (size_t)a->element * f->type->size + (size_t)a->sub * 2u;
    }
    if (off + a->size > file_len) {
        fail_ext(r, EXT_PAST_END);
        return -1;
    }
    *fout = f;
    *at = off;
    return 0;
}

static void do_slc(pl_pccc_server_t *s, const pl_pccc_request_t *q, pres_t *r)
{
    dfile_t *f;
    size_t at, k;

    if (slc_locate(s, &q->slc, &f, &at, r) < 0)
        return;
    switch (q->op) {
    case PL_PCCC_OP_SLC_READ:
        memcpy(s->pccc + PDATA_AT, f->bytes + at, q->slc.size);
        r->len = q->slc.size;
        return;
    case PL_PCCC_OP_SLC_WRITE:
        memcpy(f->bytes + at, q->data, q->slc.size);
        return;
    case PL_PCCC_OP_SLC_MASKED:
        for (k = 0; k < q->slc.size; k++)
            f->bytes[at + k] =
                (uint8_t)((f->bytes[at + k] & ~q->mask[k]) | (q->data[k] & q->mask[k]));
        return;
    case PL_PCCC_OP_UNKNOWN:
    case PL_PCCC_OP_PLC5_READ:
    case PL_PCCC_OP_PLC5_WRITE:
    case PL_PCCC_OP_WORD_READ:
    case PL_PCCC_OP_WORD_WRITE:
    case PL_PCCC_OP_DIAG_STATUS:
        break;
    }
    r->sts = PL_PCCC_STS_ILLEGAL_CMD;
}

/* Resolves a PLC-5 system address (binary: data table 0, file, element[, sub]; ASCII:
 * "$N7:0" in the address grammar) to a file and the word-aligned byte offset. */
static int plc5_locate(pl_pccc_server_t *s, const pl_pccc_sysaddr_t *a, dfile_t **fout, size_t *at,
                       pres_t *r)
{
    uint32_t file, element, sub = 0;
    dfile_t *f;

    if (a->ascii) {
        char text[PL_PCCC_ASCII_ADDR_MAX + 1];
        pl_pccc_addr_t pa;
        size_t n = a->text_len;
        const uint8_t *t = a->text;

        if (n > 0 && t[0] == '$') {
            t++;
            n--;
        }
        memcpy(text, t, n);
        text[n] = '\0';
        if (pl_pccc_addr_parse(&pa, text, NULL) != 0 || pa.bit >= 0) {
            fail_ext(r, EXT_NOT_USABLE);
            return -1;
        }
        file = pa.file;
        element = pa.element;
        sub = pa.sub;
    } else {
        if (a->nlevels < 3) {
            fail_ext(r, EXT_FEW_LEVELS);
            return -1;
        }
        if (a->nlevels > 4) {
            fail_ext(r, EXT_MANY_LEVELS);
            return -1;
        }
        if (a->level[0] != 0) { /* only the data table area is served */
            fail_ext(r, EXT_NOT_USABLE);
            return -1;
        }
        file = a->level[1];
        element = a->level[2];
        sub = a->nlevels == 4 ? a->level[3] : 0;
    }
    f = file_find(s, file);
    if (f == NULL || element >= f->elements || sub * 2u >= f->type->size) {
        fail_ext(r, EXT_NOT_USABLE);
        return -1;
    }
    *fout = f;
    *at = (size_t)element * f->type->size + sub * 2u;
    return 0;
}

static void do_plc5(pl_pccc_server_t *s, const pl_pccc_request_t *q, pres_t *r)
{
    dfile_t *f;
    size_t at, file_len, bytes = 0, esize;
    pl_pccc_typed_t td;
    int n;

    if (plc5_locate(s, &q->addr, &f, &at, r) < 0)
        return;
    file_len = (size_t)f->elements * f->type->size;
    esize = f->type->size;
    switch (q->op) {
    case PL_PCCC_OP_PLC5_READ:
    case PL_PCCC_OP_PLC5_WRITE:
        at += (size_t)q->packet_offset * esize; /* packet offset counts elements */
        if (q->op == PL_PCCC_OP_PLC5_READ) {
            bytes = (size_t)q->count * esize;
        } else {
            if (q->typed.type != f->type->plc5_type || q->typed.elem_size != esize) {
                fail_ext(r, EXT_TYPE_MISMATCH);
                return;
            }
            bytes = q->typed.data_len;
        }
        break;
    case PL_PCCC_OP_WORD_READ:
    case PL_PCCC_OP_WORD_WRITE:
        at += (size_t)q->packet_offset * 2u; /* packet offset counts words */
        bytes = q->op == PL_PCCC_OP_WORD_READ ? q->count : q->data_len;
        if (bytes % 2u != 0) {
            r->sts = PL_PCCC_STS_ILLEGAL_CMD;
            return;
        }
        break;
    case PL_PCCC_OP_UNKNOWN:
    case PL_PCCC_OP_SLC_READ:
    case PL_PCCC_OP_SLC_WRITE:
    case PL_PCCC_OP_SLC_MASKED:
    case PL_PCCC_OP_DIAG_STATUS:
        r->sts = PL_PCCC_STS_ILLEGAL_CMD;
        return;
    }
    if (bytes > MAX_PLC5_BYTES) {
        fail_ext(r, EXT_TOO_LARGE);
        return;
    }
    if (at > file_len || bytes > file_len - at) {
        fail_ext(r, EXT_PAST_END);
        return;
    }
    switch (q->op) {
    case PL_PCCC_OP_PLC5_READ:
        memset(&td, 0, sizeof(td));
        td.array = q->count != 1;
        td.type = f->type->plc5_type;
        td.elem_size = (uint32_t)esize;
        td.data = f->bytes + at;
        td.data_len = bytes;
        n = pl_pccc_typed_encode(s->pccc + PDATA_AT, sizeof(s->pccc) - PDATA_AT, &td);
        if (n < 0) {
            fail_ext(r, EXT_TOO_LARGE);
            return;
        }
        r->len = (size_t)n;
        return;
    case PL_PCCC_OP_PLC5_WRITE:
        memcpy(f->bytes + at, q->typed.data, bytes);
        return;
    case PL_PCCC_OP_WORD_READ:
        memcpy(s->pccc + PDATA_AT, f->bytes + at, bytes);
        r->len = bytes;
        return;
    case PL_PCCC_OP_WORD_WRITE:
        memcpy(f->bytes + at, q->data, bytes);
        return;
    case PL_PCCC_OP_UNKNOWN:
    case PL_PCCC_OP_SLC_READ:
    case PL_PCCC_OP_SLC_WRITE:
    case PL_PCCC_OP_SLC_MASKED:
    case PL_PCCC_OP_DIAG_STATUS:
        return;
    }
}

/* Diagnostic status reply data: the SLC/MicroLogix layout, or the PLC-5 one. */
static void do_diag(pl_pccc_server_t *s, pres_t *r)
{
    const identity_t *id = &identities[s->plc];
    uint8_t *d = s->pccc + PDATA_AT;
    size_t n;

    if (plc_is_plc5(s)) {
        memset(d, 0, DIAG_PLC5_LEN);
        d[0] = DIAG_MODE_RUN;
        d[1] = DIAG_PLC5_TYPE;
        d[2] = id->ext_processor;
        put32(d + 3, 49152u); /* user memory, words */
        d[7] = (uint8_t)(id->series << DIAG_SERIES_SHIFT | id->revision);
        d[8] = 1; /* DH+ station */
        r->len = DIAG_PLC5_LEN;
        return;
    }
    memset(d, 0, DIAG_SLC_LEN);
    d[0] = DIAG_MODE_RUN;
    d[1] = DIAG_SLC_TYPE;
    d[2] = 0x36; /* extended interface type: Ethernet channel */
    d[3] = id->ext_processor;
    d[4] = (uint8_t)(id->series << DIAG_SERIES_SHIFT | id->revision);
    memset(d + DIAG_CATALOG_AT, ' ', PL_PCCC_CATALOG_LEN);
    n = strlen(id->catalog);
    memcpy(d + DIAG_CATALOG_AT, id->catalog, n < PL_PCCC_CATALOG_LEN ? n : PL_PCCC_CATALOG_LEN);
    r->len = DIAG_SLC_LEN;
}

/* Answers one PCCC message; returns the reply length in s->pccc (from offset 0). */
static size_t pccc_answer(pl_pccc_server_t *s, const uint8_t *msg, size_t len)
{
    pl_pccc_request_t q;
    pl_status_t st;
    pres_t r = {0, 0, 0};
    uint8_t tmp[BUF_LEN];
    int rc, n;

    s->stats.requests++;
    rc = pl_pccc_request_decode(msg, len, &q, &st);
    if (rc < 0) {
        pl_simconn_log(s->serving, PL_LOG_INFO,
                       "pccc server %s: PCCC request refused (STS 0x10): %s",
                       pl_simconn_peer(s->serving), st.detail);
        r.sts = PL_PCCC_STS_ILLEGAL_CMD;
    } else {
        switch (q.op) {
        case PL_PCCC_OP_SLC_READ:
        case PL_PCCC_OP_SLC_WRITE:
        case PL_PCCC_OP_SLC_MASKED:
            do_slc(s, &q, &r);
            break;
        case PL_PCCC_OP_PLC5_READ:
        case PL_PCCC_OP_PLC5_WRITE:
        case PL_PCCC_OP_WORD_READ:
        case PL_PCCC_OP_WORD_WRITE:
            if (plc_is_plc5(s))
                do_plc5(s, &q, &r);
            else
                r.sts = PL_PCCC_STS_ILLEGAL_CMD; /* not an SLC/MicroLogix command */
            break;
        case PL_PCCC_OP_DIAG_STATUS:
            do_diag(s, &r);
            break;
        case PL_PCCC_OP_UNKNOWN:
            r.sts = PL_PCCC_STS_ILLEGAL_CMD;
            break;
        }
    }
    if (r.sts != 0) {
        s->stats.errors_sent++;
        r.len = 0;
    }
    memcpy(tmp, s->pccc + PDATA_AT, r.len);
    n = pl_pccc_reply_encode(s->pccc, sizeof(s->pccc), q.cmd, q.tns, r.sts, r.ext,
                             r.len > 0 ? tmp : NULL, r.len);
    return n > 0 ? (size_t)n : 0;
}

/* --- CIP -------------------------------------------------------------------------------- */

/* Encodes a CIP reply to `service` with `status` (and one extended word when ext != 0) into
 * out; returns its length. */
static size_t cip_status(pl_pccc_server_t *s, uint8_t *out, size_t cap, uint8_t service,
                         uint8_t status, uint16_t ext, const uint8_t *data, size_t len)
{
    int n = pl_cip_rsp_encode(out, cap, (uint8_t)(service & PL_CIP_SVC_MASK), status, &ext,
                              ext != 0 ? 1u : 0u, data, len);

    if (status != 0)
        s->stats.errors_sent++;
    return n > 0 ? (size_t)n : 0;
}

static size_t pccc_object(sconn_t *sc, const pl_cip_req_t *req, uint8_t *out, size_t cap)
{
    pl_pccc_server_t *s = sc->srv;
    pl_pccc_wrap_t w;
    size_t plen;
    int rc, n;

    rc = pl_pccc_wrap_decode(req->service, req->data, req->data_len, &w, NULL);
    if (rc == PL_ECIP_SERVICE)
        return cip_status(s, out, cap, req->service, PL_CIP_STATUS_SERVICE_NOT_SUPPORTED, 0, NULL,
                          0);
    if (rc < 0 || w.pccc_len < PL_PCCC_REPLY_HEADER)
        return cip_status(s, out, cap, req->service, PL_CIP_STATUS_NOT_ENOUGH_DATA, 0, NULL, 0);
    if (s->require_requestor && w.service == PL_PCCC_SVC_EXECUTE &&
        (w.vendor != s->req_vendor || w.serial != s->req_serial)) {
        /* a target that serves one requestor ID only (docs/pccc-simulator.md) */
        s->stats.requestor_refused++;
        pl_simconn_log(sc->sim, PL_LOG_INFO,
                       "pccc server: requestor ID %04X/%08X is not %04X/%08X: CIP status 0x08",
                       w.vendor, (unsigned)w.serial, s->req_vendor, (unsigned)s->req_serial);
        return cip_status(s, out, cap, req->service, PL_CIP_STATUS_SERVICE_NOT_SUPPORTED, 0, NULL,
                          0);
    }
    plen = pccc_answer(s, w.pccc, w.pccc_len);
    if (w.service == PL_PCCC_SVC_DHP) {
        /* the reply travels back: destination and source trade places */
        pl_pccc_dhp_t d = w.dhp;

        w.dhp.dst_link = d.src_link;
        w.dhp.dst_node = d.src_node;
        w.dhp.dst_user = d.src_user;
        w.dhp.src_link = d.dst_link;
        w.dhp.src_node = d.dst_node;
        w.dhp.src_user = d.dst_user;
    }
    w.pccc = s->pccc;
    w.pccc_len = plen;
    n = pl_pccc_wrap_encode(s->wrap, sizeof(s->wrap), &w);
    if (n < 0)
        return cip_status(s, out, cap, req->service, PL_CIP_STATUS_REPLY_DATA_TOO_LARGE, 0, NULL,
                          0);
    return cip_status(s, out, cap, req->service, 0, 0, s->wrap, (size_t)n);
}

static cipconn_t *cip_find_triad(sconn_t *sc, uint16_t serial, uint16_t vendor, uint32_t orig)
{
    unsigned k;

    for (k = 0; k < MAX_CONNS_CIP; k++)
        if (sc->cip[k].used && sc->cip[k].conn_serial == serial && sc->cip[k].vendor == vendor &&
            sc->cip[k].orig_serial == orig)
            return &sc->cip[k];
    return NULL;
}

static size_t forward_open(sconn_t *sc, const pl_cip_req_t *req, uint8_t *out, size_t cap)
{
    pl_pccc_server_t *s = sc->srv;
    pl_cip_fwd_open_t fo;
    pl_cip_fwd_open_reply_t rep;
    pl_cip_fwd_error_t e;
    cipconn_t *c = NULL;
    unsigned k;
    int n;

    if (pl_cip_fwd_open_decode(req, &fo) < 0)
        return cip_status(s, out, cap, req->service, PL_CIP_STATUS_NOT_ENOUGH_DATA, 0, NULL, 0);
    memset(&e, 0, sizeof(e));
    e.conn_serial = fo.conn_serial;
    e.vendor_id = fo.vendor_id;
    e.orig_serial = fo.orig_serial;
    if (cip_find_triad(sc, fo.conn_serial, fo.vendor_id, fo.orig_serial) != NULL) {
        n = pl_cip_fwd_error_encode(out, cap, req->service, PL_CIP_STATUS_CONNECTION_FAILURE,
                                    PL_CIP_EXT_CONNECTION_IN_USE, &e);
        s->stats.errors_sent++;
        return n > 0 ? (size_t)n : 0;
    }
    for (k = 0; k < MAX_CONNS_CIP && c == NULL; k++)
        if (!sc->cip[k].used)
            c = &sc->cip[k];
    if (c == NULL) {
        n = pl_cip_fwd_error_encode(out, cap, req->service, PL_CIP_STATUS_CONNECTION_FAILURE,
                                    PL_CIP_EXT_OUT_OF_CONNECTIONS, &e);
        s->stats.errors_sent++;
        return n > 0 ? (size_t)n : 0;
    }
    c->used = 1;
    c->ot_id = s->next_conn_id++;
    c->to_id = fo.to_conn_id;
    c->conn_serial = fo.conn_serial;
    c->vendor = fo.vendor_id;
    c->orig_serial = fo.orig_serial;
    memset(&rep, 0, sizeof(rep));
    rep.ot_conn_id = c->ot_id;
    rep.to_conn_id = c->to_id;
    rep.conn_serial = fo.conn_serial;
    rep.vendor_id = fo.vendor_id;
    rep.orig_serial = fo.orig_serial;
    rep.ot_api = fo.ot_rpi != 0 ? fo.ot_rpi : API_DEFAULT_US;
    rep.to_api = fo.to_rpi != 0 ? fo.to_rpi : API_DEFAULT_US;
    n = pl_cip_fwd_open_reply_encode(out, cap, &rep);
    pl_simconn_log(sc->sim, PL_LOG_INFO, "pccc server %s: Forward Open, O->T 0x%08X T->O 0x%08X",
                   pl_simconn_peer(sc->sim), (unsigned)c->ot_id, (unsigned)c->to_id);
    return n > 0 ? (size_t)n : 0;
}

static size_t forward_close(sconn_t *sc, const pl_cip_req_t *req, uint8_t *out, size_t cap)
{
    pl_pccc_server_t *s = sc->srv;
    pl_cip_fwd_close_t fc;
    pl_cip_fwd_close_reply_t rep;
    pl_cip_fwd_error_t e;
    cipconn_t *c;
    int n;

    if (pl_cip_fwd_close_decode(req, &fc) < 0)
        return cip_status(s, out, cap, req->service, PL_CIP_STATUS_NOT_ENOUGH_DATA, 0, NULL, 0);
    c = cip_find_triad(sc, fc.conn_serial, fc.vendor_id, fc.orig_serial);
    if (c == NULL) {
        memset(&e, 0, sizeof(e));
        e.conn_serial = fc.conn_serial;
        e.vendor_id = fc.vendor_id;
        e.orig_serial = fc.orig_serial;
        n = pl_cip_fwd_error_encode(out, cap, req->service, PL_CIP_STATUS_CONNECTION_FAILURE,
                                    PL_CIP_EXT_CONNECTION_NOT_FOUND, &e);
        s->stats.errors_sent++;
        return n > 0 ? (size_t)n : 0;
    }
    c->used = 0;
    memset(&rep, 0, sizeof(rep));
    rep.conn_serial = fc.conn_serial;
    rep.vendor_id = fc.vendor_id;
    rep.orig_serial = fc.orig_serial;
    n = pl_cip_fwd_close_reply_encode(out, cap, &rep);
    return n > 0 ? (size_t)n : 0;
}

/* A route reaches this PLC when it is empty or one backplane port segment (any slot). */
static int route_is_local(const uint8_t *route, size_t len)
{
    pl_cip_seg_t seg;
    int n;

    if (len == 0)
        return 1;
    n = pl_cip_seg_decode(route, len, &seg);
    return n > 0 && (size_t)n == len && seg.kind == PL_CIP_SEG_PORT &&
           seg.value == PL_CIP_PORT_BACKPLANE;
}

static size_t cip_request(sconn_t *sc, const uint8_t *msg, size_t len, int connected, int depth,
                          uint8_t *out, size_t cap);

static size_t unconnected_send(sconn_t *sc, const pl_cip_req_t *req, int depth, uint8_t *out,
                               size_t cap)
{
    pl_pccc_server_t *s = sc->srv;
    pl_cip_ucmm_t u;
    uint8_t rem[2];

    if (depth > 0 || pl_cip_ucmm_decode(req, &u) < 0)
        return cip_status(s, out, cap, req->service, PL_CIP_STATUS_NOT_ENOUGH_DATA, 0, NULL, 0);
    if (!route_is_local(u.route, u.route_len)) {
        rem[0] = u.route_words;
        rem[1] = 0;
        return cip_status(s, out, cap, req->service, PL_CIP_STATUS_CONNECTION_FAILURE,
                          PL_CIP_EXT_PORT_NOT_AVAILABLE, rem, sizeof(rem));
    }
    return cip_request(sc, u.msg, u.msg_len, 0, depth + 1, out, cap);
}

/* Answers one Message Router request into out[0..cap); returns the reply length. */
static size_t cip_request(sconn_t *sc, const uint8_t *msg, size_t len, int connected, int depth,
                          uint8_t *out, size_t cap)
{
    pl_pccc_server_t *s = sc->srv;
    pl_cip_req_t req;
    pl_cip_lpath_t lp;
    int rc;

    rc = pl_cip_req_decode(msg, len, &req);
    if (rc < 0) {
        uint8_t svc = len > 0 ? msg[0] : 0;

        return cip_status(s, out, cap, svc,
                          rc == PL_ECIP_SHORT ? PL_CIP_STATUS_NOT_ENOUGH_DATA
                                              : PL_CIP_STATUS_PATH_SEGMENT_ERROR,
                          0, NULL, 0);
    }
    if (pl_cip_path_logical(req.path, req.path_len, &lp) < 0 ||
        (lp.has & (PL_CIP_HAS_CLASS | PL_CIP_HAS_INSTANCE)) !=
            (PL_CIP_HAS_CLASS | PL_CIP_HAS_INSTANCE))
        return cip_status(s, out, cap, req.service, PL_CIP_STATUS_PATH_SEGMENT_ERROR, 0, NULL, 0);
    if (lp.class_id == PL_CIP_CLASS_PCCC && lp.instance == PL_PCCC_INSTANCE)
        return pccc_object(sc, &req, out, cap);
    if (lp.class_id == PL_CIP_CLASS_CONN_MANAGER && lp.instance == PL_CIP_CM_INSTANCE) {
        if (!connected && req.service == PL_CIP_SVC_UNCONNECTED_SEND)
            return unconnected_send(sc, &req, depth, out, cap);
        if (!connected && req.service == PL_CIP_SVC_FORWARD_OPEN && s->no_connected) {
            /* a target without connected messaging (docs/pccc-simulator.md) */
            s->stats.fwd_open_refused++;
            return cip_status(s, out, cap, req.service, PL_CIP_STATUS_SERVICE_NOT_SUPPORTED, 0,
                              NULL, 0);
        }
        if (!connected && req.service == PL_CIP_SVC_FORWARD_OPEN)
            return forward_open(sc, &req, out, cap);
        if (!connected && req.service == PL_CIP_SVC_FORWARD_CLOSE)
            return forward_close(sc, &req, out, cap);
        return cip_status(s, out, cap, req.service, PL_CIP_STATUS_SERVICE_NOT_SUPPORTED, 0, NULL,
                          0);
    }
    return cip_status(s, out, cap, req.service, PL_CIP_STATUS_PATH_DESTINATION_UNKNOWN, 0, NULL, 0);
}

/* --- EtherNet/IP encapsulation ---------------------------------------------------------- */

static size_t identity_item(pl_pccc_server_t *s, uint8_t *out, size_t cap)
{
    const identity_t *id = &identities[s->plc];
    const char *addr = pl_listener_address(s->conns.lst);
    pl_enip_identity_t ide;
    uint32_t ip = 0, part = 0;
    unsigned dots = 0;
    const char *p;
    int n;

    /* the bound IPv4 address (0 for all interfaces or IPv6) */
    for (p = addr; *p != '\0' && *p != ':'; p++) {
        if (*p == '.') {
            ip = ip << 8 | part;
            part = 0;
            dots++;
        } else if (*p >= '0' && *p <= '9') {
            part = part * 10u + (uint32_t)(*p - '0');
        } else {
            break;
        }
    }
    ip = (dots == 3 && *p == ':') ? (ip << 8 | part) : 0;
    memset(&ide, 0, sizeof(ide));
    ide.protocol_version = PL_ENIP_PROTOCOL_VERSION;
    ide.sin_family = PL_ENIP_AF_INET;
    ide.sin_port = pl_listener_port(s->conns.lst);
    ide.sin_addr = ip;
    ide.vendor_id = 1;      /* Rockwell Automation/Allen-Bradley */
    ide.device_type = 0x0E; /* programmable logic controller */
    ide.product_code = id->product_code;
    ide.revision_major = id->rev_major;
    ide.revision_minor = id->rev_minor;
    ide.status = 0x0030; /* configured, run mode (bits 4-7 extended device status 3) */
    ide.serial = id->serial;
    ide.product_name = (const uint8_t *)id->product;
    ide.product_name_len = strlen(id->product);
    ide.state = 3; /* operational */
    out[0] = 1;    /* item count */
    out[1] = 0;
    put16(out + 2, PL_CPF_LIST_IDENTITY);
    n = pl_enip_identity_encode(out + 6, cap - 6, &ide);
    if (n < 0)
        return 0;
    put16(out + 4, (uint16_t)n);
    return (size_t)n + 6u;
}

static size_t services_item(uint8_t *out)
{
    static const char name[SVC_NAME_LEN] = "Communications";

    put16(out, 1);
    put16(out + 2, PL_CPF_LIST_SERVICES);
    put16(out + 4, SVC_ITEM_LEN);
    put16(out + 6, PL_ENIP_PROTOCOL_VERSION);
    put16(out + 8, SVC_CAPABILITIES);
    memcpy(out + 10, name, SVC_NAME_LEN);
    return 6u + SVC_ITEM_LEN;
}

static cipconn_t *cip_find_ot(sconn_t *sc, uint32_t ot_id)
{
    unsigned k;

    for (k = 0; k < MAX_CONNS_CIP; k++)
        if (sc->cip[k].used && sc->cip[k].ot_id == ot_id)
            return &sc->cip[k];
    return NULL;
}

static void send_data(sconn_t *sc, const pl_enip_msg_t *m)
{
    pl_pccc_server_t *s = sc->srv;
    pl_enip_rr_t rr;
    const uint8_t *cip;
    size_t cip_len, rlen;
    uint32_t conn_id;
    uint16_t seq;
    cipconn_t *c;
    int n;

    if (pl_enip_rr_decode(m->data, m->data_len, &rr) < 0) {
        answer_encap(sc, m, PL_ENIP_STATUS_INCORRECT_DATA, NULL, 0);
        return;
    }
    if (m->command == PL_ENIP_CMD_SEND_RR_DATA) {
        if (pl_cpf_unconnected(&rr.cpf, &cip, &cip_len) < 0) {
            answer_encap(sc, m, PL_ENIP_STATUS_INCORRECT_DATA, NULL, 0);
            return;
        }
        rlen = cip_request(sc, cip, cip_len, 0, 0, s->cip, sizeof(s->cip));
        n = pl_cpf_encode_unconnected(s->cpf, sizeof(s->cpf), s->cip, rlen);
    } else {
        if (pl_cpf_connected(&rr.cpf, &conn_id, &seq, &cip, &cip_len) < 0) {
            answer_encap(sc, m, PL_ENIP_STATUS_INCORRECT_DATA, NULL, 0);
            return;
        }
        c = cip_find_ot(sc, conn_id);
        if (c == NULL) { /* class 3 data for no connection of ours: dropped, as targets do */
            s->stats.errors_sent++;
            pl_simconn_log(sc->sim, PL_LOG_WARN,
                           "pccc server %s: SendUnitData for unknown connection 0x%08X, dropped",
                           pl_simconn_peer(sc->sim), (unsigned)conn_id);
            return;
        }
        rlen = cip_request(sc, cip, cip_len, 1, 0, s->cip, sizeof(s->cip));
        n = pl_cpf_encode_connected(s->cpf, sizeof(s->cpf), c->to_id, seq, s->cip, rlen);
    }
    if (n < 0)
        return;
    n = pl_enip_rr_encode(s->cip2, sizeof(s->cip2), RR_TIMEOUT, s->cpf, (size_t)n);
    if (n < 0)
        return;
    answer_encap(sc, m, PL_ENIP_STATUS_SUCCESS, s->cip2, (size_t)n);
}

static int frame_len(const uint8_t *buf, size_t len, void *ud)
{
    (void)ud;
    return pl_enip_frame(buf, len, MAX_ENIP_DATA, NULL);
}

static void conn_open(pl_simconn_t *sim, void *ud)
{
    sconn_t *sc = pl_simconn_state(sim);

    sc->srv = ud;
    sc->sim = sim;
}

/* Serves one framed encapsulation message. Returns 0 to go on, <0 when the conn closed. */
static int serve_frame(pl_simconn_t *sim, const uint8_t *p, size_t n, void *ud)
{
    pl_pccc_server_t *s = ud;
    sconn_t *sc = pl_simconn_state(sim);
    pl_enip_msg_t m;
    uint16_t version, options;
    uint8_t reg[PL_ENIP_REGISTER_DATA_LEN];
    size_t len;

    s->serving = sim;
    if (pl_enip_decode(p, n, &m) < 0) { /* cannot happen for a framed message */
        pl_simconn_close(sim, NULL);
        return -1;
    }
    switch (m.command) {
    case PL_ENIP_CMD_NOP:
        return 0; /* no reply (Vol 2, 2-4.1) */
    case PL_ENIP_CMD_LIST_IDENTITY:
        len = identity_item(s, s->cpf, sizeof(s->cpf));
        answer_encap(sc, &m, PL_ENIP_STATUS_SUCCESS, s->cpf, len);
        return 0;
    case PL_ENIP_CMD_LIST_SERVICES:
        len = services_item(s->cpf);
        answer_encap(sc, &m, PL_ENIP_STATUS_SUCCESS, s->cpf, len);
        return 0;
    case PL_ENIP_CMD_LIST_INTERFACES:
        put16(s->cpf, 0); /* no interfaces item */
        answer_encap(sc, &m, PL_ENIP_STATUS_SUCCESS, s->cpf, 2);
        return 0;
    case PL_ENIP_CMD_REGISTER_SESSION:
        if (pl_enip_register_decode(m.data, m.data_len, &version, &options) < 0) {
            answer_encap(sc, &m, PL_ENIP_STATUS_INVALID_LENGTH, NULL, 0);
            return 0;
        }
        (void)pl_enip_register_encode(reg, sizeof(reg), PL_ENIP_PROTOCOL_VERSION, 0);
        if (!s->lax_register && !pl_enip_register_strict(&m)) {
            /* as a strict target: session handle, status, sender context and options of a
             * RegisterSession must be 0 */
            s->stats.register_refused++;
            pl_simconn_log(sim, PL_LOG_INFO,
                           "pccc server %s: RegisterSession with non-zero header fields refused",
                           pl_simconn_peer(sc->sim));
            answer_encap(sc, &m, PL_ENIP_STATUS_INVALID_COMMAND, NULL, 0);
            return 0;
        }
        if (version != PL_ENIP_PROTOCOL_VERSION || options != 0) {
            answer_encap(sc, &m, PL_ENIP_STATUS_UNSUPPORTED_PROTOCOL, reg, sizeof(reg));
            return 0;
        }
        if (sc->session != 0) { /* one session per TCP connection */
            answer_encap(sc, &m, PL_ENIP_STATUS_INVALID_COMMAND, reg, sizeof(reg));
            return 0;
        }
        sc->session = s->next_session++;
        if (s->next_session == 0)
            s->next_session = FIRST_SESSION;
        s->stats.sessions++;
        pl_simconn_ready(sim); /* the register deadline no longer applies */
        m.session = sc->session;
        answer_encap(sc, &m, PL_ENIP_STATUS_SUCCESS, reg, sizeof(reg));
        return 0;
    case PL_ENIP_CMD_UNREGISTER_SESSION:
        if (sc->session == 0 || m.session != sc->session) {
            answer_encap(sc, &m, PL_ENIP_STATUS_INVALID_SESSION, NULL, 0);
            return 0;
        }
        pl_simconn_log(sim, PL_LOG_INFO, "pccc server %s: UnRegisterSession, closing",
                       pl_simconn_peer(sc->sim));
        pl_simconn_close(sim, NULL);
        return -1;
    case PL_ENIP_CMD_SEND_RR_DATA:
    case PL_ENIP_CMD_SEND_UNIT_DATA:
        /* as a target serving one request at a time (simconn.h says what is unanswered) */
        if (pl_simconn_over_inflight(sim, s->max_inflight)) {
            pl_simconn_log(
                sim, PL_LOG_INFO,
                "pccc server %s: more than %u requests in flight (max-inflight), closing",
                pl_simconn_peer(sc->sim), s->max_inflight);
            s->stats.inflight_closed++;
            pl_simconn_close(sim, NULL);
            return -1;
        }
        if (sc->session == 0 || m.session != sc->session) {
            answer_encap(sc, &m, PL_ENIP_STATUS_INVALID_SESSION, NULL, 0);
            return 0;
        }
        send_data(sc, &m);
        return 0;
    default:
        answer_encap(sc, &m, PL_ENIP_STATUS_INVALID_COMMAND, NULL, 0);
        return 0;
    }
}

/* --- animation (demo values) ------------------------------------------------------------ */

static void on_animate(uv_timer_t *t)
{
    pl_pccc_server_t *s = t->data;
    dfile_t *n7 = file_find(s, 7), *f8 = file_find(s, 8);
    uint32_t bits;
    float f;

    s->tick++;
    if (n7 != NULL && n7->type->ft == PL_PCCC_FT_INTEGER) {
        put16(n7->bytes, (uint16_t)s->tick); /* counter */
        if (n7->elements > 1)
            put16(n7->bytes + 2, (uint16_t)(s->tick % 100u)); /* saw-tooth 0..99 */
    }
    if (f8 != NULL && f8->type->ft == PL_PCCC_FT_FLOAT) {
        f = 100.0f * sinf((float)s->tick * 0.1f);
        memcpy(&bits, &f, sizeof(bits));
        put32(f8->bytes, bits);
    }
}

/* --- lifecycle -------------------------------------------------------------------------- */

static void server_release(pl_pccc_server_t *s)
{
    unsigned k;

    for (k = 0; k < s->nfiles; k++)
        free(s->files[k].bytes);
    free(s);
}

static void on_animate_closed(uv_handle_t *h)
{
    server_release(h->data);
}

int pl_pccc_server_new(uv_loop_t *loop, const pl_pccc_server_config_t *cfg, pl_pccc_server_t **out,
                       pl_status_t *err)
{
    static const pl_simconn_cbs_t cbs = {
        .frame = frame_len, .serve = serve_frame, .open = conn_open};
    pl_simconn_config_t sim;
    pl_pccc_server_t *s;
    int rc;

    if (loop == NULL || cfg == NULL || out == NULL ||
        (unsigned)cfg->plc >= sizeof(identities) / sizeof(identities[0]))
        return pl_status_set(err, PL_EINVAL, 0, "pl_pccc_server_new: bad argument");
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return pl_status_set(err, PL_ENOMEM, 0, NULL);
    s->loop = loop;
    s->log = cfg->log;
    s->plc = cfg->plc;
    s->animate_ms = cfg->animate_ms;
    s->lax_register = cfg->lax_register;
    s->max_inflight = cfg->max_inflight;
    s->no_connected = cfg->no_connected;
    s->require_requestor = cfg->require_requestor;
    s->req_vendor = cfg->requestor_vendor;
    s->req_serial = cfg->requestor_serial;
    s->next_session = FIRST_SESSION;
    s->next_conn_id = FIRST_CONN_ID;
    rc = parse_files(s, cfg->files != NULL ? cfg->files : default_files, err);
    if (rc == 0 && s->nfiles == 0)
        rc = pl_status_set(err, PL_ECONFIG, 0, "files: no data file declared");
    if (rc < 0) {
        server_release(s);
        return rc;
    }
    memset(&sim, 0, sizeof(sim));
    sim.name = "pccc server";
    sim.max_frame = PL_ENIP_HEADER_LEN + MAX_ENIP_DATA;
    sim.state_size = sizeof(sconn_t);
    sim.delay_ms = cfg->delay_ms;
    sim.close_after = cfg->close_after;
    sim.ready_timeout_ms = cfg->register_timeout_ms != 0 ? cfg->register_timeout_ms : REGISTER_MS;
    sim.ready_what = "RegisterSession";
    sim.log = cfg->log;
    sim.connections = &s->stats.connections;
    sim.bad_frames = &s->stats.bad_frames;
    sim.ready_timeouts = &s->stats.register_timeouts;
    sim.idle_timeout_ms = cfg->idle_timeout_ms != 0 ? cfg->idle_timeout_ms : PL_SIM_IDLE_TIMEOUT_MS;
    sim.idle_timeouts = &s->stats.idle_timeouts;
    rc = pl_simconn_set_init(&s->conns, loop, &cfg->listen, &sim, &cbs, s, err);
    if (rc < 0) {
        server_release(s);
        return rc;
    }
    uv_timer_init(loop, &s->animate);
    s->animate.data = s;
    if (s->animate_ms > 0)
        uv_timer_start(&s->animate, on_animate, s->animate_ms, s->animate_ms);
    pl_log(s->log, PL_LOG_INFO, "pccc server: %s (%s), %u data files", identities[s->plc].product,
           identities[s->plc].name, s->nfiles);
    pl_log(s->log, PL_LOG_INFO,
           "pccc server: %s RegisterSession check, %u in flight at most (0: no limit), "
           "Forward Open %s, requestor ID %s",
           s->lax_register ? "lax" : "strict", s->max_inflight,
           s->no_connected ? "refused" : "served", s->require_requestor ? "checked" : "any");
    *out = s;
    return 0;
}

uint16_t pl_pccc_server_port(const pl_pccc_server_t *s)
{
    return pl_listener_port(s->conns.lst);
}

const char *pl_pccc_server_address(const pl_pccc_server_t *s)
{
    return pl_listener_address(s->conns.lst);
}

const pl_pccc_server_stats_t *pl_pccc_server_stats(const pl_pccc_server_t *s)
{
    return &s->stats;
}

void pl_pccc_server_free(pl_pccc_server_t *s)
{
    if (s == NULL)
        return;
    pl_simconn_set_close(&s->conns); /* closes the listener and every connection */
    uv_timer_stop(&s->animate);
    uv_close((uv_handle_t *)&s->animate, on_animate_closed);
}
