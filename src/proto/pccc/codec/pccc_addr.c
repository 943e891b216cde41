/* SPDX-License-Identifier: MIT */
/*
 * Allen-Bradley data-table addresses ("N7:0", "T4:1.ACC", "I:1.0/3", "ST9:0,2") and their
 * values: parsing and formatting addresses, the bytes they cover, the SLC and PLC-5 wire
 * forms, decoding and encoding element i in the data bytes, value text, and splitting an
 * address into requests a processor accepts. Nothing here reads or writes outside the
 * buffer length it is given.
 *
 * It must not allocate, do I/O or touch errno; address errors show the column where the
 * address is wrong, value errors name the value and the accepted range.
 *
 * Request size figures (pl_pccc_max_bytes), all data bytes per request, conservative:
 *   SLC 5/01, 5/02, fixed SLC 500, MicroLogix 1000: 82 (1770-6.5.16 p. 7-17, typed read
 *     DATA: "SLC 5/01 or 5/02 = 82 bytes (41 words)").
 *   SLC 5/03, 5/04, 5/05, MicroLogix 1100/1200/1400/1500: 234. The DF1 manual gives 236
 *     bytes for 5/03 and 5/04 without IP (225 with); a Rockwell knowledge-base article
 *     (525413, as quoted by industrialmonitordirect.com) limits ML1100/1400 and SLC 5/05 to
 *     117 integers or 58 floats per message: 234 bytes covers 117 words, and element
 *     alignment turns it into 58 floats. Not verified on hardware.
 *   PLC-5: 220. The 1770-KF2 manual allows 240 bytes for a typed write "including the PLC-5
 *     system address and data type information"; a four-level address with escapes is up to
 *     13 bytes and an array descriptor up to 6: 240 - 19 = 221, rounded down to even.
 *   Logix-mapped PCCC (ControlLogix answering PLC/SLC mapped files): 234, as SLC; no primary
 *     source found, chosen to be no larger than what SLC clients already send.
 *   Unknown: 82, the smallest.
 */
#include "proto/pccc/codec/pccc_addr.h"
#include "plcline/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(st, code, ...) ((st) != NULL ? pl_status_set((st), (code), 0, __VA_ARGS__) : (code))

#define QUOTE_MAX   32
#define NUM_MAX     65535u
#define WORD_BITS   16u
#define LONG_BITS   32u
#define IO_WORD_MAX 255u
#define FLOAT_TEXT  64
#define SATURATE    0x100000000ull
#define FIRST_DATA  3u /* first file number of a data file (0 O, 1 I, 2 S) */

#define MAX_SLC_SMALL 82u
#define MAX_SLC500    234u
#define MAX_PLC5      220u
#define MAX_LOGIX     234u

static int qlen(size_t n)
{
    return (int)(n > QUOTE_MAX ? QUOTE_MAX : n);
}

static const char *qell(size_t n)
{
    return n > QUOTE_MAX ? "..." : "";
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char up(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static int is_print(char c)
{
    return c >= ' ' && c < 0x7f;
}

/* ------------------------------------------------------------------ file types */

typedef struct {
    const char *letters;
    uint8_t type;
    int default_file; /* -1: none */
    int fixed;        /* file number must be default_file */
    pl_pccc_vkind_t kind;
    uint8_t size;
} ftype_t;

static const ftype_t FTYPES[] = {
    {"ST", PL_PCCC_FT_STRING, -1, 0, PL_PCCC_V_STRING, PL_PCCC_STRING_BYTES},
    {"O", PL_PCCC_FT_OUTPUT, 0, 1, PL_PCCC_V_INT16, 2},
    {"I", PL_PCCC_FT_INPUT, 1, 1, PL_PCCC_V_INT16, 2},
    {"S", PL_PCCC_FT_STATUS, 2, 1, PL_PCCC_V_INT16, 2},
    {"B", PL_PCCC_FT_BIT, 3, 0, PL_PCCC_V_INT16, 2},
    {"T", PL_PCCC_FT_TIMER, 4, 0, PL_PCCC_V_TIMER, PL_PCCC_STRUCT_BYTES},
    {"C", PL_PCCC_FT_COUNTER, 5, 0, PL_PCCC_V_COUNTER, PL_PCCC_STRUCT_BYTES},
    {"R", PL_PCCC_FT_CONTROL, 6, 0, PL_PCCC_V_CONTROL, PL_PCCC_STRUCT_BYTES},
    {"N", PL_PCCC_FT_INTEGER, 7, 0, PL_PCCC_V_INT16, 2},
    {"F", PL_PCCC_FT_FLOAT, 8, 0, PL_PCCC_V_FLOAT, 4},
    {"L", PL_PCCC_FT_LONG, -1, 0, PL_PCCC_V_INT32, 4},
    {"A", PL_PCCC_FT_ASCII, -1, 0, PL_PCCC_V_ASCII, 2},
};
#define NFTYPES        (sizeof(FTYPES) / sizeof(FTYPES[0]))
#define TYPES_EXPECTED "O, I, S, B, T, C, R, N, F, L, ST, A"

/* Structure members: sub-element word, or bit of word 0. */
typedef struct {
    uint8_t type;
    const char *name;
    uint8_t sub;
    int8_t bit;
} member_t;

static const member_t MEMBERS[] = {
    {PL_PCCC_FT_TIMER, "EN", 0, 15},    {PL_PCCC_FT_TIMER, "TT", 0, 14},
    {PL_PCCC_FT_TIMER, "DN", 0, 13},    {PL_PCCC_FT_TIMER, "PRE", 1, -1},
    {PL_PCCC_FT_TIMER, "ACC", 2, -1},   {PL_PCCC_FT_COUNTER, "CU", 0, 15},
    {PL_PCCC_FT_COUNTER, "CD", 0, 14},  {PL_PCCC_FT_COUNTER, "DN", 0, 13},
    {PL_PCCC_FT_COUNTER, "OV", 0, 12},  {PL_PCCC_FT_COUNTER, "UN", 0, 11},
    {PL_PCCC_FT_COUNTER, "PRE", 1, -1}, {PL_PCCC_FT_COUNTER, "ACC", 2, -1},
    {PL_PCCC_FT_CONTROL, "EN", 0, 15},  {PL_PCCC_FT_CONTROL, "EU", 0, 14},
    {PL_PCCC_FT_CONTROL, "DN", 0, 13},  {PL_PCCC_FT_CONTROL, "EM", 0, 12},
    {PL_PCCC_FT_CONTROL, "ER", 0, 11},  {PL_PCCC_FT_CONTROL, "UL", 0, 10},
    {PL_PCCC_FT_CONTROL, "IN", 0, 9},   {PL_PCCC_FT_CONTROL, "FD", 0, 8},
    {PL_PCCC_FT_CONTROL, "LEN", 1, -1}, {PL_PCCC_FT_CONTROL, "POS", 2, -1},
};
#define NMEMBERS (sizeof(MEMBERS) / sizeof(MEMBERS[0]))

static const char *members_of(uint8_t type)
{
    switch (type) {
    case PL_PCCC_FT_TIMER:
        return "PRE, ACC, EN, TT, DN";
    case PL_PCCC_FT_COUNTER:
        return "PRE, ACC, CU, CD, DN, OV, UN";
    default:
        return "LEN, POS, EN, EU, DN, EM, ER, UL, IN, FD";
    }
}

static int is_struct(uint8_t type)
{
    return type == PL_PCCC_FT_TIMER || type == PL_PCCC_FT_COUNTER || type == PL_PCCC_FT_CONTROL;
}

static int is_io(uint8_t type)
{
    return type == PL_PCCC_FT_INPUT || type == PL_PCCC_FT_OUTPUT;
}

/* ------------------------------------------------------------------ parsing */

typedef struct {
    const char *s;
    size_t n;
    size_t i;
    pl_status_t *err;
} ps_t;

/* Decimal digits at the cursor, saturating. Returns 0, or -1 when there is no digit. */
static int dec(ps_t *p, uint64_t *v)
{
    uint64_t x = 0;

    if (p->i >= p->n || !is_digit(p->s[p->i]))
        return -1;
    for (; p->i < p->n && is_digit(p->s[p->i]); p->i++) {
        x = x * 10u + (uint64_t)(p->s[p->i] - '0');
        if (x > SATURATE)
            x = SATURATE;
    }
    *v = x;
    return 0;
}

static int expected(ps_t *p, const char *what)
{
    const char *s = p->s;
    size_t n = p->n, i = p->i;

    if (i >= n)
        return FAIL(p->err, PL_EADDR, "'%.*s%s': expected %s at column %zu (end of address)",
                    qlen(n), s, qell(n), what, i + 1);
    if (is_print(s[i]))
        return FAIL(p->err, PL_EADDR, "'%.*s%s': expected %s at column %zu, found '%c'", qlen(n), s,
                    qell(n), what, i + 1, s[i]);
    return FAIL(p->err, PL_EADDR, "'%.*s%s': expected %s at column %zu, found byte 0x%02x", qlen(n),
                s, qell(n), what, i + 1, (unsigned)(unsigned char)s[i]);
}

static int number(ps_t *p, uint64_t max, const char *what, uint64_t *v)
{
    size_t at = p->i;

    if (dec(p, v) != 0)
        return expected(p, what);
    if (*v > max)
        return FAIL(p->err, PL_EADDR, "'%.*s%s': %s at column %zu out of range 0..%lu", qlen(p->n),
                    p->s, qell(p->n), what, at + 1, (unsigned long)max);
    return 0;
}

static uint32_t units_of(const pl_pccc_addr_t *a)
{
    if (a->bit >= 0 && !a->member)
        return (uint32_t)(((uint64_t)a->bit + a->count - 1u) / (a->elem_size * 8u) + 1u);
    return a->count;
}

static int mnemonic(ps_t *p, pl_pccc_addr_t *r)
{
    size_t at = p->i, k, len = 0;
    char name[4];

    while (p->i < p->n && len < 3 &&
           ((p->s[p->i] >= 'A' && p->s[p->i] <= 'Z') || (p->s[p->i] >= 'a' && p->s[p->i] <= 'z')))
        name[len++] = up(p->s[p->i++]);
    name[len] = '\0';
    if (len > 0 && !(p->i < p->n && ((p->s[p->i] >= 'A' && p->s[p->i] <= 'Z') ||
                                     (p->s[p->i] >= 'a' && p->s[p->i] <= 'z')))) {
        for (k = 0; k < NMEMBERS; k++) {
            if (MEMBERS[k].type == r->file_type && strcmp(MEMBERS[k].name, name) == 0) {
                r->member = 1;
                r->sub = MEMBERS[k].sub;
                r->bit = MEMBERS[k].bit;
                r->elem_size = 2;
                r->kind = r->bit >= 0 ? PL_PCCC_V_BIT : PL_PCCC_V_INT16;
                return 0;
            }
        }
    }
    p->i = at;
    {
        char what[64];

        snprintf(what, sizeof(what), "a member (%s)", members_of(r->file_type));
        return expected(p, what);
    }
}

int pl_pccc_addr_parse(pl_pccc_addr_t *a, const char *s, pl_status_t *err)
{
    pl_pccc_addr_t r;
    const ftype_t *ft = NULL;
    ps_t p;
    uint64_t v;
    size_t k, at;
    int has_file;

    if (a == NULL || s == NULL)
        return FAIL(err, PL_EINVAL, "pl_pccc_addr_parse: NULL argument");
    p.s = s;
    p.n = strlen(s);
    p.i = 0;
    p.err = err;
    if (p.n == 0)
        return FAIL(err, PL_EADDR, "empty address (expected e.g. N7:0, F8:1,4 or B3:0/5)");

    memset(&r, 0, sizeof(r));
    r.bit = -1;
    r.count = 1;
    for (k = 0; k < NFTYPES && ft == NULL; k++) {
        size_t len = strlen(FTYPES[k].letters);

        if (p.n >= len && up(s[0]) == FTYPES[k].letters[0] &&
            (len == 1 || up(s[1]) == FTYPES[k].letters[1])) {
            /* "ST" only when a file number or ':' follows; "S" otherwise handles "S:1" */
            ft = &FTYPES[k];
            p.i = len;
        }
    }
    if (ft == NULL) {
        if (is_print(s[0]))
            return FAIL(err, PL_EADDR, "'%.*s%s': unknown file type '%c' (expected %s)", qlen(p.n),
                        s, qell(p.n), s[0], TYPES_EXPECTED);
        return FAIL(err, PL_EADDR, "'%.*s%s': unknown file type byte 0x%02x (expected %s)",
                    qlen(p.n), s, qell(p.n), (unsigned)(unsigned char)s[0], TYPES_EXPECTED);
    }
    if (p.i < p.n && ((s[p.i] >= 'A' && s[p.i] <= 'Z') || (s[p.i] >= 'a' && s[p.i] <= 'z'))) {
        size_t e = p.i;

        while (e < p.n && ((s[e] >= 'A' && s[e] <= 'Z') || (s[e] >= 'a' && s[e] <= 'z')))
            e++;
        return FAIL(err, PL_EADDR, "'%.*s%s': unknown file type '%.*s' (expected %s)", qlen(p.n), s,
                    qell(p.n), (int)(e > 8 ? 8 : e), s, TYPES_EXPECTED);
    }
    r.file_type = ft->type;
    r.wire_type = ft->type;
    r.kind = ft->kind;
    r.elem_size = ft->size;
    memcpy(r.letters, ft->letters, strlen(ft->letters) + 1);

    /* file number */
    at = p.i;
    has_file = p.i < p.n && is_digit(s[p.i]);
    if (has_file) {
        if (number(&p, PL_PCCC_FILE_MAX, "a file number", &v) != 0)
            return PL_EADDR;
        if (ft->fixed && v != (uint64_t)ft->default_file)
            return FAIL(err, PL_EADDR, "'%.*s%s': %s file is always file %d, not %lu (column %zu)",
                        qlen(p.n), s, qell(p.n), ft->letters, ft->default_file, (unsigned long)v,
                        at + 1);
        if (!ft->fixed && v < FIRST_DATA)
            return FAIL(err, PL_EADDR,
                        "'%.*s%s': file number %lu at column %zu is reserved (0 output, 1 input, "
                        "2 status); data files are %u..%u",
                        qlen(p.n), s, qell(p.n), (unsigned long)v, at + 1, FIRST_DATA,
                        PL_PCCC_FILE_MAX);
        r.file = (uint16_t)v;
    } else {
        if (ft->default_file < 0)
            return FAIL(err, PL_EADDR, "'%.*s%s': %s needs a file number at column %zu (e.g. %s%s)",
                        qlen(p.n), s, qell(p.n), ft->letters, at + 1, ft->letters,
                        r.file_type == PL_PCCC_FT_LONG ? "10:0" : "9:0");
        r.file = (uint16_t)ft->default_file;
    }

    /* B3/17: bit number counted from the start of the file */
    if (r.file_type == PL_PCCC_FT_BIT && p.i < p.n && s[p.i] == '/') {
        p.i++;
        if (number(&p, (uint64_t)NUM_MAX * WORD_BITS + 15u, "a bit number", &v) != 0)
            return PL_EADDR;
        r.element = (uint16_t)(v / WORD_BITS);
        r.bit = (int8_t)(v % WORD_BITS);
        r.kind = PL_PCCC_V_BIT;
    } else {
        if (p.i >= p.n || s[p.i] != ':')
            return expected(&p, r.file_type == PL_PCCC_FT_BIT ? "':' or '/'" : "':'");
        p.i++;
        if (number(&p, NUM_MAX, is_io(r.file_type) ? "a slot number" : "an element number", &v) !=
            0)
            return PL_EADDR;
        r.element = (uint16_t)v;
        if (is_io(r.file_type)) {
            r.wire_type =
                r.file_type == PL_PCCC_FT_INPUT ? PL_PCCC_FT_INPUT_SLOT : PL_PCCC_FT_OUTPUT_SLOT;
            if (p.i < p.n && s[p.i] == '.') {
                p.i++;
                if (number(&p, IO_WORD_MAX, "a word number", &v) != 0)
                    return PL_EADDR;
                r.sub = (uint16_t)v;
            }
        }
        if (is_struct(r.file_type)) {
            if (p.i < p.n && (s[p.i] == '.' || s[p.i] == '/')) {
                p.i++;
                if (mnemonic(&p, &r) != 0)
                    return PL_EADDR;
            }
        } else if (p.i < p.n && s[p.i] == '/') {
            unsigned bits = r.file_type == PL_PCCC_FT_LONG ? LONG_BITS : WORD_BITS;

            if (r.file_type == PL_PCCC_FT_FLOAT || r.file_type == PL_PCCC_FT_STRING ||
                r.file_type == PL_PCCC_FT_ASCII)
                return FAIL(err, PL_EADDR, "'%.*s%s': '/bit' at column %zu is not valid for %s",
                            qlen(p.n), s, qell(p.n), p.i + 1, ft->letters);
            p.i++;
            if (number(&p, bits - 1u, "a bit number", &v) != 0)
                return PL_EADDR;
            r.bit = (int8_t)v;
            r.kind = PL_PCCC_V_BIT;
        }
    }

    if (p.i < p.n && s[p.i] == ',') {
        p.i++;
        at = p.i;
        if (dec(&p, &v) != 0)
            return expected(&p, "a count");
        if (v < 1 || v > PL_PCCC_ADDR_MAX_COUNT)
            return FAIL(err, PL_EADDR, "'%.*s%s': count at column %zu out of range 1..%u",
                        qlen(p.n), s, qell(p.n), at + 1, PL_PCCC_ADDR_MAX_COUNT);
        if (r.member && v != 1)
            return FAIL(err, PL_EADDR,
                        "'%.*s%s': a count (column %zu) is not allowed with a structure member",
                        qlen(p.n), s, qell(p.n), at + 1);
        r.count = (uint32_t)v;
    }
    if (p.i < p.n)
        return expected(&p, "',<count>' or the end");
    {
        uint64_t last = (is_io(r.file_type) ? r.sub : r.element) + (uint64_t)units_of(&r) - 1u;
        uint64_t limit = is_io(r.file_type) ? IO_WORD_MAX : NUM_MAX;

        if (last > limit)
            return FAIL(err, PL_EADDR, "'%.*s%s': range ends past %s %lu", qlen(p.n), s, qell(p.n),
                        is_io(r.file_type) ? "word" : "element", (unsigned long)limit);
    }
    *a = r;
    return 0;
}

int pl_pccc_addr_format(const pl_pccc_addr_t *a, char *buf, size_t cap)
{
    char mid[32] = "", tail[16] = "";
    int n;
    size_t k;

    if (a == NULL || buf == NULL || cap == 0)
        return PL_ENOBUFS;
    if (a->member) {
        for (k = 0; k < NMEMBERS; k++)
            if (MEMBERS[k].type == a->file_type && MEMBERS[k].sub == a->sub &&
                MEMBERS[k].bit == a->bit)
                snprintf(mid, sizeof(mid), ".%s", MEMBERS[k].name);
    } else if (is_io(a->file_type)) {
        if (a->bit >= 0)
            snprintf(mid, sizeof(mid), ".%u/%d", (unsigned)a->sub, (int)a->bit);
        else
            snprintf(mid, sizeof(mid), ".%u", (unsigned)a->sub);
    } else if (a->bit >= 0) {
        snprintf(mid, sizeof(mid), "/%d", (int)a->bit);
    }
    if (a->count > 1)
        snprintf(tail, sizeof(tail), ",%lu", (unsigned long)a->count);
    n = snprintf(buf, cap, "%s%u:%u%s%s", a->letters, (unsigned)a->file, (unsigned)a->element, mid,
                 tail);
    if (n < 0 || (size_t)n >= cap) {
        buf[0] = '\0';
        return PL_ENOBUFS;
    }
    return n;
}

uint32_t pl_pccc_addr_bytes(const pl_pccc_addr_t *a)
{
    if (a == NULL || a->count == 0)
        return 0;
    return units_of(a) * a->elem_size;
}

int pl_pccc_addr_slc(const pl_pccc_addr_t *a, pl_pccc_slc_addr_t *out)
{
    uint32_t bytes = pl_pccc_addr_bytes(a);

    if (a == NULL || out == NULL)
        return PL_EINVAL;
    if (bytes > 0xFFu)
        return PL_ERANGE;
    out->size = (uint8_t)bytes;
    out->file = a->file;
    out->type = a->wire_type;
    out->element = a->element;
    out->sub = a->sub;
    return 0;
}

void pl_pccc_addr_sysaddr(const pl_pccc_addr_t *a, pl_pccc_sysaddr_t *out)
{
    if (a == NULL || out == NULL)
        return;
    pl_pccc_sysaddr_set(out, a->file, a->element, a->member || is_io(a->file_type), a->sub);
}

void pl_pccc_addr_plc5_type(const pl_pccc_addr_t *a, uint32_t *id, uint32_t *size)
{
    uint32_t i = PL_PCCC_TD_INTEGER, z = 2;

    if (a != NULL && !a->member) {
        switch (a->file_type) {
        case PL_PCCC_FT_FLOAT:
            i = PL_PCCC_TD_FLOAT;
            z = 4;
            break;
        case PL_PCCC_FT_BIT:
            i = PL_PCCC_TD_BIT_STRING;
            break;
        case PL_PCCC_FT_TIMER:
            i = PL_PCCC_TD_TIMER;
            z = PL_PCCC_STRUCT_BYTES;
            break;
        case PL_PCCC_FT_COUNTER:
            i = PL_PCCC_TD_COUNTER;
            z = PL_PCCC_STRUCT_BYTES;
            break;
        case PL_PCCC_FT_CONTROL:
            i = PL_PCCC_TD_CONTROL;
            z = PL_PCCC_STRUCT_BYTES;
            break;
        case PL_PCCC_FT_LONG:
            z = 4;
            break;
        case PL_PCCC_FT_STRING:
            i = PL_PCCC_TD_BYTE_STR;
            z = PL_PCCC_STRING_BYTES;
            break;
        case PL_PCCC_FT_ASCII:
            i = PL_PCCC_TD_BYTE_STR;
            break;
        default:
            break;
        }
    }
    if (id != NULL)
        *id = i;
    if (size != NULL)
        *size = z;
}

/* ------------------------------------------------------------------ values */

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)(v >> 8);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) | ((uint32_t)get16(p + 2) << 16);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v & 0xFFFFu));
    put16(p + 2, (uint16_t)(v >> 16));
}

static int32_t s16(uint16_t w)
{
    return w >= 0x8000u ? (int32_t)w - 0x10000 : (int32_t)w;
}

static int32_t s32(uint32_t u)
{
    return (u & 0x80000000u) ? -(int32_t)(~u) - 1 : (int32_t)u;
}

static int value_ok(const pl_pccc_addr_t *a, size_t len, uint32_t i)
{
    return a != NULL && a->count > 0 && i < a->count && a->elem_size > 0 &&
           len >= pl_pccc_addr_bytes(a);
}

/* Byte offset and bit of bit `i` of a bit address. */
static void bit_pos(const pl_pccc_addr_t *a, uint32_t i, size_t *off, unsigned *bit)
{
    unsigned width = a->elem_size * 8u;
    uint64_t pos = (uint64_t)(a->member ? 0u : i) + (uint64_t)a->bit;

    *off = (size_t)(pos / width) * a->elem_size;
    *bit = (unsigned)(pos % width);
}

int pl_pccc_value_get(const pl_pccc_addr_t *a, const uint8_t *buf, size_t len, uint32_t i,
                      pl_pccc_value_t *v)
{
    const uint8_t *e;
    size_t off, k;
    unsigned bit;
    uint32_t u;

    if (v == NULL || buf == NULL || !value_ok(a, len, i))
        return PL_EINVAL;
    memset(v, 0, sizeof(*v));
    v->kind = a->kind;
    e = buf + (size_t)i * a->elem_size;
    switch (a->kind) {
    case PL_PCCC_V_INT16:
        v->i = s16(get16(e));
        return 0;
    case PL_PCCC_V_INT32:
        v->i = s32(get32(e));
        return 0;
    case PL_PCCC_V_FLOAT:
        u = get32(e);
        memcpy(&v->f, &u, sizeof(v->f));
        return 0;
    case PL_PCCC_V_BIT:
        bit_pos(a, i, &off, &bit);
        u = a->elem_size == 4 ? get32(buf + off) : get16(buf + off);
        v->i = (int32_t)((u >> bit) & 1u);
        return 0;
    case PL_PCCC_V_TIMER:
    case PL_PCCC_V_COUNTER:
    case PL_PCCC_V_CONTROL:
        for (k = 0; k < 3; k++)
            v->w[k] = get16(e + 2 * k);
        return 0;
    case PL_PCCC_V_STRING:
        u = get16(e);
        v->len = (uint8_t)(u > PL_PCCC_STRING_CHARS ? PL_PCCC_STRING_CHARS : u);
        for (k = 0; k < v->len; k++)
            v->text[k] = (char)e[2 + (k ^ 1u)]; /* first character in the high byte */
        v->text[v->len] = '\0';
        return 0;
    case PL_PCCC_V_ASCII:
        v->len = 2;
        v->text[0] = (char)e[1];
        v->text[1] = (char)e[0];
        v->text[2] = '\0';
        return 0;
    }
    return PL_EINVAL;
}

int pl_pccc_value_put(const pl_pccc_addr_t *a, uint8_t *buf, size_t len, uint32_t i,
                      const pl_pccc_value_t *v)
{
    uint8_t *e;
    size_t off, k;
    unsigned bit;
    uint32_t u, m;

    if (v == NULL || buf == NULL || !value_ok(a, len, i) || v->kind != a->kind)
        return PL_EINVAL;
    e = buf + (size_t)i * a->elem_size;
    switch (a->kind) {
    case PL_PCCC_V_INT16:
        if (v->i < -32768 || v->i > 65535)
            return PL_ERANGE;
        put16(e, (uint16_t)((uint32_t)v->i & 0xFFFFu));
        return 0;
    case PL_PCCC_V_INT32:
        put32(e, (uint32_t)v->i);
        return 0;
    case PL_PCCC_V_FLOAT:
        memcpy(&u, &v->f, sizeof(u));
        put32(e, u);
        return 0;
    case PL_PCCC_V_BIT:
        bit_pos(a, i, &off, &bit);
        m = 1u << bit;
        u = a->elem_size == 4 ? get32(buf + off) : get16(buf + off);
        u = v->i ? (u | m) : (u & ~m);
        if (a->elem_size == 4)
            put32(buf + off, u);
        else
            put16(buf + off, (uint16_t)u);
        return 0;
    case PL_PCCC_V_TIMER:
    case PL_PCCC_V_COUNTER:
    case PL_PCCC_V_CONTROL:
        for (k = 0; k < 3; k++)
            put16(e + 2 * k, v->w[k]);
        return 0;
    case PL_PCCC_V_STRING:
        if (v->len > PL_PCCC_STRING_CHARS)
            return PL_ERANGE;
        memset(e, 0, PL_PCCC_STRING_BYTES);
        put16(e, v->len);
        for (k = 0; k < v->len; k++)
            e[2 + (k ^ 1u)] = (uint8_t)v->text[k];
        return 0;
    case PL_PCCC_V_ASCII:
        e[1] = (uint8_t)v->text[0];
        e[0] = v->len > 1 ? (uint8_t)v->text[1] : 0;
        return 0;
    }
    return PL_EINVAL;
}

/* Structure fields as shown: bits of word 0, then words 1 and 2. */
typedef struct {
    const char *name;
    int word;
    int bit;
} field_t;

static const field_t TIMER_F[] = {{"EN", 0, 15},  {"TT", 0, 14},  {"DN", 0, 13},
                                  {"PRE", 1, -1}, {"ACC", 2, -1}, {NULL, 0, 0}};
static const field_t COUNTER_F[] = {{"CU", 0, 15}, {"CD", 0, 14},  {"DN", 0, 13},  {"OV", 0, 12},
                                    {"UN", 0, 11}, {"PRE", 1, -1}, {"ACC", 2, -1}, {NULL, 0, 0}};
static const field_t CONTROL_F[] = {{"EN", 0, 15},  {"EU", 0, 14},  {"DN", 0, 13}, {"EM", 0, 12},
                                    {"ER", 0, 11},  {"UL", 0, 10},  {"IN", 0, 9},  {"FD", 0, 8},
                                    {"LEN", 1, -1}, {"POS", 2, -1}, {NULL, 0, 0}};

static const field_t *fields_of(pl_pccc_vkind_t kind)
{
    return kind == PL_PCCC_V_TIMER ? TIMER_F : kind == PL_PCCC_V_COUNTER ? COUNTER_F : CONTROL_F;
}

typedef struct {
    char *p;
    size_t cap;
    size_t at;
    int err;
} out_t;

static void out_c(out_t *o, char c)
{
    if (o->at + 1 >= o->cap) {
        o->err = 1;
        return;
    }
    o->p[o->at++] = c;
    o->p[o->at] = '\0';
}

static void out_s(out_t *o, const char *s)
{
    while (*s != '\0')
        out_c(o, *s++);
}

static void out_text(out_t *o, const char *t, size_t n)
{
    static const char hexd[] = "0123456789abcdef";
    size_t k;

    for (k = 0; k < n; k++) {
        unsigned char c = (unsigned char)t[k];

        if (c == '\\') {
            out_s(o, "\\\\");
        } else if (c >= 0x20 && c < 0x7F) {
            out_c(o, (char)c);
        } else {
            out_s(o, "\\x");
            out_c(o, hexd[c >> 4]);
            out_c(o, hexd[c & 0x0F]);
        }
    }
}

int pl_pccc_value_format(const pl_pccc_value_t *v, char *buf, size_t cap)
{
    out_t o = {buf, cap, 0, 0};
    char num[48];
    const field_t *f;
    int n;

    if (v == NULL || buf == NULL || cap == 0)
        return PL_ENOBUFS;
    buf[0] = '\0';
    switch (v->kind) {
    case PL_PCCC_V_INT16:
    case PL_PCCC_V_INT32:
    case PL_PCCC_V_BIT:
        snprintf(num, sizeof(num), "%ld", (long)v->i);
        out_s(&o, num);
        break;
    case PL_PCCC_V_FLOAT:
        snprintf(num, sizeof(num), "%.9g", (double)v->f);
        out_s(&o, num);
        break;
    case PL_PCCC_V_TIMER:
    case PL_PCCC_V_COUNTER:
    case PL_PCCC_V_CONTROL:
        for (f = fields_of(v->kind); f->name != NULL; f++) {
            if (f->bit >= 0)
                n = snprintf(num, sizeof(num), "%s%s=%u", f == fields_of(v->kind) ? "" : " ",
                             f->name, (unsigned)((v->w[0] >> f->bit) & 1u));
            else
                n = snprintf(num, sizeof(num), " %s=%ld", f->name, (long)s16(v->w[f->word]));
            (void)n;
            out_s(&o, num);
        }
        /* bits of the control word that have no name, so nothing is lost */
        {
            uint16_t named = 0;

            for (f = fields_of(v->kind); f->name != NULL; f++)
                if (f->bit >= 0)
                    named = (uint16_t)(named | (1u << f->bit));
            if ((v->w[0] & (uint16_t)~named) != 0) {
                snprintf(num, sizeof(num), " CTL=0x%04x", (unsigned)v->w[0]);
                out_s(&o, num);
            }
        }
        break;
    case PL_PCCC_V_STRING:
    case PL_PCCC_V_ASCII:
        out_text(&o, v->text, v->len > PL_PCCC_STRING_CHARS ? PL_PCCC_STRING_CHARS : v->len);
        break;
    }
    if (o.err) {
        buf[0] = '\0';
        return PL_ENOBUFS;
    }
    return (int)o.at;
}

static int hexv(char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Integer text p[0..n): [-]decimal or [-]0xhex, saturating. Returns 0 or -1. */
static int int_text(const char *p, size_t n, int64_t *out)
{
    size_t k = 0;
    uint64_t m = 0;
    int neg = 0;

    if (k < n && (p[k] == '-' || p[k] == '+')) {
        neg = p[k] == '-';
        k++;
    }
    if (k + 1 < n && p[k] == '0' && (p[k + 1] == 'x' || p[k + 1] == 'X')) {
        k += 2;
        if (k >= n)
            return -1;
        for (; k < n; k++) {
            if (hexv(p[k]) < 0)
                return -1;
            m = m * 16u + (uint64_t)hexv(p[k]);
            if (m > SATURATE)
                m = SATURATE;
        }
    } else {
        if (k >= n)
            return -1;
        for (; k < n; k++) {
            if (!is_digit(p[k]))
                return -1;
            m = m * 10u + (uint64_t)(p[k] - '0');
            if (m > SATURATE)
                m = SATURATE;
        }
    }
    *out = neg ? -(int64_t)m : (int64_t)m;
    return 0;
}

static int int_in(const char *p, size_t n, int64_t min, int64_t max, const char *what, int64_t *out,
                  pl_status_t *err)
{
    if (int_text(p, n, out) != 0)
        return FAIL(err, PL_EVALUE, "'%.*s%s': not a number (%s: %lld..%lld)", qlen(n), p, qell(n),
                    what, (long long)min, (long long)max);
    if (*out < min || *out > max)
        return FAIL(err, PL_EVALUE, "'%.*s%s': out of range (%s: %lld..%lld)", qlen(n), p, qell(n),
                    what, (long long)min, (long long)max);
    return 0;
}

static int float_in(const char *p, size_t n, float *f, pl_status_t *err)
{
    char tmp[FLOAT_TEXT];
    char *end = NULL;
    size_t lead;

    if (n >= sizeof(tmp))
        return FAIL(err, PL_EVALUE, "'%.*s%s': too long for a float", qlen(n), p, qell(n));
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    *f = strtof(tmp, &end);
    lead = (p[0] == '-' || p[0] == '+') ? 1u : 0u;
    if (end != tmp + n || lead >= n || !(is_digit(p[lead]) || p[lead] == '.'))
        return FAIL(err, PL_EVALUE, "'%.*s%s': not a number (F: finite float32)", qlen(n), p,
                    qell(n));
    if (!isfinite(*f))
        return FAIL(err, PL_EVALUE, "'%.*s%s': out of range (F: finite float32)", qlen(n), p,
                    qell(n));
    return 0;
}

/* Unescapes text (\\ and \xNN) into v->text; at most `max` characters. */
static int text_in(const char *p, size_t n, size_t max, pl_pccc_value_t *v, pl_status_t *err)
{
    size_t k = 0, len = 0;

    while (k < n) {
        char c = p[k];

        if (c == '\\') {
            if (k + 1 < n && p[k + 1] == '\\') {
                k += 2;
            } else if (k + 3 < n && p[k + 1] == 'x' && hexv(p[k + 2]) >= 0 && hexv(p[k + 3]) >= 0) {
                c = (char)(unsigned char)(hexv(p[k + 2]) * 16 + hexv(p[k + 3]));
                k += 4;
            } else {
                return FAIL(err, PL_EVALUE, "bad escape at character %zu (use \\\\ or \\xNN)",
                            k + 1);
            }
        } else {
            k++;
        }
        if (len >= max)
            return FAIL(err, PL_EVALUE, "text longer than %zu characters", max);
        v->text[len++] = c;
    }
    v->len = (uint8_t)len;
    v->text[len] = '\0';
    return 0;
}

static int struct_in(const pl_pccc_addr_t *a, const char *p, size_t n, pl_pccc_value_t *v,
                     pl_status_t *err)
{
    const field_t *f;
    size_t k = 0;

    while (k < n) {
        size_t ks, ke, vs, ve;
        int64_t x;
        int found = 0;

        while (k < n && (p[k] == ' ' || p[k] == ',' || p[k] == '\t'))
            k++;
        if (k >= n)
            break;
        ks = k;
        while (k < n && p[k] != '=' && p[k] != ' ' && p[k] != ',')
            k++;
        ke = k;
        if (k >= n || p[k] != '=')
            return FAIL(err, PL_EVALUE, "'%.*s%s': expected KEY=value (keys %s, CTL)", qlen(n), p,
                        qell(n), members_of(a->file_type));
        vs = ++k;
        while (k < n && p[k] != ' ' && p[k] != ',' && p[k] != '\t')
            k++;
        ve = k;
        if (ke - ks == 3 && up(p[ks]) == 'C' && up(p[ks + 1]) == 'T' && up(p[ks + 2]) == 'L') {
            if (int_in(p + vs, ve - vs, 0, 65535, "CTL", &x, err) != 0)
                return PL_EVALUE;
            v->w[0] = (uint16_t)x;
            continue;
        }
        for (f = fields_of(a->kind); f->name != NULL && !found; f++) {
            size_t m = strlen(f->name), j;

            if (m != ke - ks)
                continue;
            for (j = 0; j < m && up(p[ks + j]) == f->name[j]; j++)
                ;
            if (j != m)
                continue;
            found = 1;
            if (f->bit >= 0) {
                if (int_in(p + vs, ve - vs, 0, 1, f->name, &x, err) != 0)
                    return PL_EVALUE;
                v->w[0] = (uint16_t)(x ? (v->w[0] | (1u << f->bit)) : (v->w[0] & ~(1u << f->bit)));
            } else {
                if (int_in(p + vs, ve - vs, -32768, 65535, f->name, &x, err) != 0)
                    return PL_EVALUE;
                v->w[f->word] = (uint16_t)((uint64_t)x & 0xFFFFu);
            }
        }
        if (!found)
            return FAIL(err, PL_EVALUE, "'%.*s': unknown key (keys %s, CTL)", (int)(ke - ks),
                        p + ks, members_of(a->file_type));
    }
    return 0;
}

int pl_pccc_value_parse(const pl_pccc_addr_t *a, uint8_t *buf, size_t len, uint32_t i,
                        const char *s, size_t n, pl_status_t *err)
{
    pl_pccc_value_t v;
    int64_t x;
    int rc;

    if (buf == NULL || (s == NULL && n > 0) || !value_ok(a, len, i))
        return FAIL(err, PL_EINVAL, "pl_pccc_value_parse: bad argument");
    if (a->kind != PL_PCCC_V_STRING && a->kind != PL_PCCC_V_ASCII) {
        while (n > 0 && (s[0] == ' ' || s[0] == '\t')) {
            s++;
            n--;
        }
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n == 0)
            return FAIL(err, PL_EVALUE, "empty value");
    }
    if ((rc = pl_pccc_value_get(a, buf, len, i, &v)) != 0)
        return FAIL(err, rc, "pl_pccc_value_parse: bad argument");
    switch (a->kind) {
    case PL_PCCC_V_INT16:
        if (int_in(s, n, -32768, 32767, a->member ? "word" : a->letters, &x, err) != 0)
            return PL_EVALUE;
        v.i = (int32_t)x;
        break;
    case PL_PCCC_V_INT32:
        if (int_in(s, n, -2147483647 - 1, 2147483647, "L", &x, err) != 0)
            return PL_EVALUE;
        v.i = (int32_t)x;
        break;
    case PL_PCCC_V_BIT:
        if (int_in(s, n, 0, 1, "bit", &x, err) != 0)
            return PL_EVALUE;
        v.i = (int32_t)x;
        break;
    case PL_PCCC_V_FLOAT:
        if (float_in(s, n, &v.f, err) != 0)
            return PL_EVALUE;
        break;
    case PL_PCCC_V_TIMER:
    case PL_PCCC_V_COUNTER:
    case PL_PCCC_V_CONTROL:
        if (struct_in(a, s, n, &v, err) != 0)
            return PL_EVALUE;
        break;
    case PL_PCCC_V_STRING:
        if (text_in(s, n, PL_PCCC_STRING_CHARS, &v, err) != 0)
            return PL_EVALUE;
        break;
    case PL_PCCC_V_ASCII:
        if (text_in(s, n, 2, &v, err) != 0)
            return PL_EVALUE;
        if (v.len == 0)
            return FAIL(err, PL_EVALUE, "empty value (A: 1 or 2 characters)");
        if (v.len == 1)
            v.text[1] = '\0';
        v.len = 2;
        break;
    }
    return pl_pccc_value_put(a, buf, len, i, &v);
}

/* ------------------------------------------------------------------ request sizing */

size_t pl_pccc_max_bytes(pl_pccc_proc_t proc)
{
    switch (proc) {
    case PL_PCCC_PROC_SLC_SMALL:
        return MAX_SLC_SMALL;
    case PL_PCCC_PROC_SLC500:
    case PL_PCCC_PROC_MICROLOGIX:
        return MAX_SLC500;
    case PL_PCCC_PROC_PLC5:
        return MAX_PLC5;
    case PL_PCCC_PROC_LOGIX:
        return MAX_LOGIX;
    case PL_PCCC_PROC_UNKNOWN:
        return MAX_SLC_SMALL;
    }
    return MAX_SLC_SMALL;
}

static void chunk_fill(const pl_pccc_addr_t *a, uint32_t first, uint32_t take, pl_pccc_chunk_t *c)
{
    c->first = first;
    c->units = take;
    c->offset = first * a->elem_size;
    c->bytes = take * a->elem_size;
    if (is_io(a->file_type)) {
        c->element = a->element;
        c->sub = (uint16_t)(a->sub + first);
    } else {
        c->element = (uint16_t)(a->element + (a->member ? 0u : first));
        c->sub = a->sub;
    }
}

/* Units per request; 0 with *rc set when the address cannot be split. */
static uint32_t chunk_units(const pl_pccc_addr_t *a, size_t max_bytes, uint32_t *units, int *rc)
{
    if (a == NULL || a->count == 0 || a->elem_size == 0) {
        *rc = PL_EINVAL;
        return 0;
    }
    if (max_bytes < a->elem_size) {
        *rc = PL_ERANGE;
        return 0;
    }
    *units = units_of(a);
    return (uint32_t)(max_bytes / a->elem_size > *units ? *units : max_bytes / a->elem_size);
}

int pl_pccc_addr_split(const pl_pccc_addr_t *a, size_t max_bytes, pl_pccc_chunk_t *out, size_t cap)
{
    uint32_t units = 0, per, first = 0;
    size_t n = 0;
    int rc = 0;

    if (out == NULL && cap > 0)
        return PL_EINVAL;
    per = chunk_units(a, max_bytes, &units, &rc);
    if (per == 0)
        return rc;
    while (first < units) {
        uint32_t take = units - first < per ? units - first : per;

        if (n < cap)
            chunk_fill(a, first, take, &out[n]);
        n++;
        first += take;
    }
    if (n > (size_t)INT32_MAX)
        return PL_ERANGE;
    return (int)n;
}

int pl_pccc_addr_chunk(const pl_pccc_addr_t *a, size_t max_bytes, uint32_t k, pl_pccc_chunk_t *out)
{
    uint32_t units = 0, per, first;
    uint64_t n;
    int rc = 0;

    per = chunk_units(a, max_bytes, &units, &rc);
    if (per == 0)
        return rc;
    n = ((uint64_t)units + per - 1u) / per;
    if (n > (uint64_t)INT32_MAX)
        return PL_ERANGE;
    if (k < n && out != NULL) {
        first = k * per; /* < units: no overflow */
        chunk_fill(a, first, units - first < per ? units - first : per, out);
    }
    return (int)n;
}
