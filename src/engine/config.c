/* SPDX-License-Identifier: MIT */
/*
 * The configuration loader: YAML (libyaml's event parser, walked by recursive descent over
 * the known schema) and CSV tag lists (engine/csv.h) into pl_config_t.
 *
 * It stops at the first error and reports it as "FILE:LINE:COL: what is wrong, expected
 * what". Values are typed strictly: numbers and booleans must be plain (unquoted) YAML
 * scalars, names use a restricted alphabet (they become MQTT topic levels), and anchors,
 * aliases and explicit tags are refused, so a file means what it reads. Cross-section
 * checks (duplicate names, references) run after the whole file is read, with hashed name
 * indexes so a million tags cost linear time.
 *
 * It must not connect, print, or rely on errno (files are read with libuv's synchronous
 * uv_fs_* calls); every allocation is owned by pl_config_t and released by pl_config_free,
 * also after an error.
 */
#include "engine/config.h"
#include "engine/csv.h"
#include "plcline/error.h"
#include "plcline/hostlist.h"
#include "proto/registry.h"

#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>
#include <yaml.h>

#define PORT_MQTT       1883u /* MQTT 3.1.1 §4.2, IANA "mqtt" */
#define PORT_MQTT_TLS   8883u /* IANA "secure-mqtt" */
#define DURATION_MAX_MS 2147483647u
#define TCP_IDLE_MAX_S  32767u /* Linux MAX_TCP_KEEPIDLE: the largest TCP_KEEPIDLE accepted */
#define MQTT_KA_MAX_S   65535u /* MQTT 3.1.1 §3.1.2.10: Keep Alive is a 16-bit count of seconds */
#define KEYS_MAX        64     /* keys of one mapping kind (one bit each) */
#define MSG_MAX         4096
#define CSV_PATH_MAX    1024 /* bytes of a 'csv' path as written */
#define SHOW_MAX        40   /* characters of the user's text quoted in a message */

/* Device defaults (engine.h). */
#define DEF_MAX_GAP          32u
#define DEF_DEMOTE_AFTER     3u
#define DEF_DEMOTE_MS        10000u
#define DEF_WRITE_TIMEOUT    5000u
#define DEF_WRITE_QUEUE      1024u
#define DEF_MQTT_KEEPALIVE_S 30u

_Static_assert(offsetof(pl_line_def_t, name) == 0, "name first");
_Static_assert(offsetof(pl_device_def_t, name) == 0, "name first");
_Static_assert(offsetof(pl_tag_def_t, name) == 0, "name first");
_Static_assert(offsetof(pl_scan_def_t, name) == 0, "name first");
_Static_assert(offsetof(pl_sim_def_t, name) == 0, "name first");

#define NSECTIONS 5

/* A place in a file: files[file], line and column from 1; line 0: the whole file. */
typedef struct {
    uint32_t file, line, col;
} pos_t;

/* Where an item and the fields checked after loading were given. */
typedef struct {
    pos_t item, name;
    pos_t ref1;     /* line: simulator; device: line; tag: device */
    pos_t ref2;     /* line: backup_simulator; device: its last protocol key; tag: scan */
    uint32_t pkeys; /* device: the protocol keys given (bit i: the i-th device key) */
} item_pos_t;

/* After loading, where the tags were given, as runs: tags `first`, first + 1, ... were
 * given on consecutive lines of one file at the same column, from `at` on (a CSV file, or
 * a YAML list of one-line tags, is one run). */
typedef struct {
    size_t first;
    pos_t at;
} pos_run_t;

/* The tags' texts: chunks of this many bytes, never moved, so that pl_tag_def_t can point
 * into them. */
#define TEXT_CHUNK (64u * 1024u)

typedef struct text_chunk_s {
    struct text_chunk_s *next;
    size_t used;
    char text[TEXT_CHUNK];
} text_chunk_t;

struct pl_config_src_s {
    char **files; /* [0]: the YAML file; then the CSV files */
    size_t nfiles, files_cap;
    item_pos_t *pos[NSECTIONS];
    size_t cap[NSECTIONS];
    pos_run_t *tag_runs; /* after loading: where the tags were given (pos[TAG] is freed) */
    size_t ntag_runs;
    text_chunk_t *texts; /* the tags' names, devices, addresses and scan classes */
    /* while loading: the device, scan class and address texts given so far, once each */
    const char **intern;
    size_t intern_n, intern_mask;
};

typedef struct {
    pl_config_t *cfg;
    pl_config_src_t *src;
    pl_status_t *err;
    char *msg;
    size_t msg_len;
    int failed; /* the first error's code */
    const char *name;
    const char *buf;
    size_t len;
    yaml_parser_t yp;
    yaml_event_t ev;
    int have_ev;
    size_t expose_cap; /* of cfg->exposes */
} ld_t;

/* A value to convert: a YAML scalar or a CSV field. */
typedef struct {
    const char *s;
    size_t len;
    pos_t at;
    const char *key; /* for messages */
    int quoted;      /* a quoted YAML scalar: text, never a number */
} val_t;

/* --- errors -------------------------------------------------------------------------- */

static const char *file_name(const pl_config_src_t *src, uint32_t file)
{
    return src != NULL && file < src->nfiles ? src->files[file] : "?";
}

static void report(pl_status_t *err, char *msg, size_t msg_len, int code, int sys, const char *text)
{
    if (msg != NULL && msg_len > 0)
        snprintf(msg, msg_len, "%s", text);
    if (err != NULL)
        pl_status_set(err, code, sys, "%s", text);
}

#if defined(__GNUC__)
#define PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PRINTF(a, b)
#endif

static int failv(ld_t *L, int code, int sys, const pos_t *at, const char *fmt, va_list ap)
    PRINTF(5, 0);
static int failv(ld_t *L, int code, int sys, const pos_t *at, const char *fmt, va_list ap)
{
    char m[MSG_MAX];
    int n;

    if (L->failed != 0)
        return L->failed;
    if (at == NULL || at->line == 0)
        n = snprintf(m, sizeof(m), "%s: ", file_name(L->src, at != NULL ? at->file : 0));
    else
        n = snprintf(m, sizeof(m), "%s:%u:%u: ", file_name(L->src, at->file), at->line, at->col);
    if (n < 0 || (size_t)n >= sizeof(m))
        n = 0;
    vsnprintf(m + n, sizeof(m) - (size_t)n, fmt, ap);
    report(L->err, L->msg, L->msg_len, code, sys, m);
    L->failed = code;
    return code;
}

static int fail(ld_t *L, pos_t at, const char *fmt, ...) PRINTF(3, 4);
static int fail(ld_t *L, pos_t at, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = failv(L, PL_ECONFIG, 0, &at, fmt, ap);
    va_end(ap);
    return rc;
}

static int fail_code(ld_t *L, int code, int sys, pos_t at, const char *fmt, ...) PRINTF(5, 6);
static int fail_code(ld_t *L, int code, int sys, pos_t at, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = failv(L, code, sys, &at, fmt, ap);
    va_end(ap);
    return rc;
}

static int nomem(ld_t *L, pos_t at)
{
    return fail_code(L, PL_ENOMEM, 0, at, "out of memory, expected a smaller configuration");
}

/* The user's text for a message: at most SHOW_MAX characters, control bytes as '?'. */
typedef struct {
    char s[SHOW_MAX * 4 + 4];
} show_t;

static show_t show(const char *s, size_t len)
{
    show_t o;
    size_t i, n = 0, chars = 0;

    for (i = 0; i < len && chars < SHOW_MAX && n < sizeof(o.s) - 8; i++) {
        unsigned char b = (unsigned char)s[i];

        o.s[n++] = (b < 0x20 || b == 0x7f) ? '?' : (char)b;
        if ((b & 0xC0) != 0x80)
            chars++;
    }
    while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80 && n < sizeof(o.s) - 4)
        o.s[n++] = s[i++]; /* finish a UTF-8 sequence */
    if (i < len) {
        memcpy(o.s + n, "...", 3);
        n += 3;
    }
    o.s[n] = '\0';
    return o;
}

/* --- allocation -------------------------------------------------------------------------- */

static void *grow(void *p, size_t *cap, size_t want, size_t elem)
{
    size_t ncap = *cap != 0 ? *cap : 8;
    void *q;

    while (ncap < want)
        ncap *= 2;
    if (ncap > SIZE_MAX / elem)
        return NULL;
    q = realloc(p, ncap * elem);
    if (q != NULL)
        *cap = ncap;
    return q;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* A copy of `len` bytes of text in the configuration's text storage; NULL: no memory. */
static const char *text_put(pl_config_src_t *src, const char *s, size_t len)
{
    text_chunk_t *c = src->texts;
    char *d;

    if (len >= TEXT_CHUNK)
        return NULL; /* never: texts are names and addresses of at most 64 bytes */
    if (c == NULL || TEXT_CHUNK - c->used < len + 1) {
        c = malloc(sizeof(*c));
        if (c == NULL)
            return NULL;
        c->next = src->texts;
        c->used = 0;
        src->texts = c;
    }
    d = c->text + c->used;
    memcpy(d, s, len);
    d[len] = '\0';
    c->used += len + 1;
    return d;
}

static uint32_t hash_text(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    while (*s != '\0')
        h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

/* `s` in the text storage, once for all items that give the same text (a plant has a few
 * devices, scan classes and addresses for many tags); NULL: no memory. */
static const char *text_intern(pl_config_src_t *src, const char *s)
{
    size_t h, len = strlen(s);
    const char *d;

    if (src->intern_n * 2 >= src->intern_mask) { /* keep the table at most half full */
        size_t cap = src->intern_mask != 0 ? (src->intern_mask + 1) * 2 : 256, i;
        const char **t = calloc(cap, sizeof(*t));

        if (t == NULL)
            return NULL;
        for (i = 0; src->intern_mask != 0 && i <= src->intern_mask; i++) {
            if (src->intern[i] == NULL)
                continue;
            for (h = hash_text(src->intern[i]) & (cap - 1); t[h] != NULL; h = (h + 1) & (cap - 1))
                ;
            t[h] = src->intern[i];
        }
        free(src->intern);
        src->intern = t;
        src->intern_mask = cap - 1;
    }
    for (h = hash_text(s) & src->intern_mask; src->intern[h] != NULL;
         h = (h + 1) & src->intern_mask)
        if (strcmp(src->intern[h], s) == 0)
            return src->intern[h];
    d = text_put(src, s, len);
    if (d != NULL) {
        src->intern[h] = d;
        src->intern_n++;
    }
    return d;
}

static void texts_free(pl_config_src_t *src)
{
    while (src->texts != NULL) {
        text_chunk_t *c = src->texts;

        src->texts = c->next;
        free(c);
    }
    free(src->intern);
    src->intern = NULL;
    src->intern_n = 0;
    src->intern_mask = 0;
}

static int add_file(ld_t *L, char *owned, uint32_t *index)
{
    pl_config_src_t *src = L->src;

    if (src->nfiles == src->files_cap) {
        size_t cap = src->files_cap;
        char **f = grow(src->files, &cap, src->nfiles + 1, sizeof(*f));

        if (f == NULL) {
            free(owned);
            return PL_ENOMEM;
        }
        src->files = f;
        src->files_cap = cap;
    }
    *index = (uint32_t)src->nfiles;
    src->files[src->nfiles++] = owned;
    return 0;
}

static const char *const section_plural[NSECTIONS] = {"lines", "devices", "tags", "scan classes",
                                                      "simulators"};

static size_t section_elem(pl_config_section_t s)
{
    switch (s) {
    case PL_CONFIG_LINE:
        return sizeof(pl_line_def_t);
    case PL_CONFIG_DEVICE:
        return sizeof(pl_device_def_t);
    case PL_CONFIG_TAG:
        return sizeof(pl_tag_def_t);
    case PL_CONFIG_SCAN:
        return sizeof(pl_scan_def_t);
    case PL_CONFIG_SIM:
        return sizeof(pl_sim_def_t);
    }
    return 0;
}

/* The section's array and count in `cfg`. */
static void **section_array(const pl_config_t *cfg, pl_config_section_t s, size_t **count)
{
    pl_config_t *c = (pl_config_t *)(uintptr_t)cfg; /* read-only callers never write through */

    switch (s) {
    case PL_CONFIG_LINE:
        *count = &c->nlines;
        return (void **)&c->lines;
    case PL_CONFIG_DEVICE:
        *count = &c->ndevices;
        return (void **)&c->devices;
    case PL_CONFIG_TAG:
        *count = &c->ntags;
        return (void **)&c->tags;
    case PL_CONFIG_SCAN:
        *count = &c->nscans;
        return (void **)&c->scans;
    case PL_CONFIG_SIM:
        *count = &c->nsims;
        return (void **)&c->sims;
    }
    *count = NULL;
    return NULL;
}

/* Appends a zeroed item to section `s`; *item and *pos point at it until the next push. */
static int push_item(ld_t *L, pl_config_section_t s, pos_t at, void **item, item_pos_t **pos)
{
    size_t *n;
    void **arr = section_array(L->cfg, s, &n);
    size_t elem = section_elem(s);
    size_t max = s == PL_CONFIG_TAG ? PL_CONFIG_TAGS_MAX : PL_CONFIG_ITEMS_MAX;

    if (*n >= max)
        return fail(L, at, "more than %zu %s, expected at most %zu", max, section_plural[s], max);
    if (*n == L->src->cap[s]) {
        size_t cap1 = L->src->cap[s], cap2 = L->src->cap[s];
        void *a = grow(*arr, &cap1, *n + 1, elem);
        item_pos_t *p;

        if (a == NULL)
            return nomem(L, at);
        *arr = a;
        p = grow(L->src->pos[s], &cap2, *n + 1, sizeof(*p));
        if (p == NULL)
            return nomem(L, at); /* the bigger array stays; cap[s] is unchanged */
        L->src->pos[s] = p;
        L->src->cap[s] = cap1 < cap2 ? cap1 : cap2;
    }
    *item = (char *)*arr + *n * elem;
    memset(*item, 0, elem);
    *pos = &L->src->pos[s][*n];
    memset(*pos, 0, sizeof(**pos));
    (*pos)->item = at;
    (*n)++;
    return 0;
}

/* --- value conversion (YAML scalars and CSV fields alike) ------------------------------ */

static int eq_nocase(const char *s, size_t len, const char *word)
{
    size_t i;

    for (i = 0; i < len; i++) {
        char a = s[i], b = word[i];

        if (b == '\0')
            return 0;
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (a != b)
            return 0;
    }
    return word[len] == '\0';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int has_nul(const val_t *v)
{
    return memchr(v->s, '\0', v->len) != NULL;
}

/* Text up to cap-1 bytes without control characters; empty allowed when allow_empty. */
static int cv_text(ld_t *L, const val_t *v, char *out, size_t cap, int allow_empty,
                   const char *expect)
{
    size_t i;

    if (v->len == 0 && !allow_empty)
        return fail(L, v->at, "'%s' is empty, expected %s", v->key, expect);
    if (v->len >= cap)
        return fail(L, v->at, "'%s' is %zu bytes long, expected at most %zu", v->key, v->len,
                    cap - 1);
    for (i = 0; i < v->len; i++) {
        unsigned char b = (unsigned char)v->s[i];

        if (b < 0x20 || b == 0x7f)
            return fail(L, v->at, "'%s' holds control character 0x%02x, expected %s", v->key, b,
                        expect);
    }
    memcpy(out, v->s, v->len);
    out[v->len] = '\0';
    return 0;
}

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' ||
           c == '_' || c == '-' || c == '/';
}

#define NAME_EXPECT "letters, digits, '.', '_', '-' and '/'"

/* A name: 1..max bytes of NAME_EXPECT, no '/' at either end nor "//" (MQTT topic levels). */
static int cv_name_max(ld_t *L, const val_t *v, char *out, size_t cap)
{
    size_t i;

    if (v->len == 0)
        return fail(L, v->at, "'%s' is empty, expected a name of %s", v->key, NAME_EXPECT);
    if (v->len >= cap)
        return fail(L, v->at, "'%s' is %zu characters long, expected at most %zu", v->key, v->len,
                    cap - 1);
    for (i = 0; i < v->len; i++) {
        if (!name_char(v->s[i]))
            return fail(L, v->at,
                        "'%s' value '%s' has a bad character at position %zu, expected %s", v->key,
                        show(v->s, v->len).s, i + 1, NAME_EXPECT);
        if (v->s[i] == '/' && (i == 0 || i + 1 == v->len || v->s[i + 1] == '/'))
            return fail(L, v->at,
                        "'%s' value '%s' has an empty level, expected no '/' at either end "
                        "nor \"//\"",
                        v->key, show(v->s, v->len).s);
    }
    memcpy(out, v->s, v->len);
    out[v->len] = '\0';
    return 0;
}

static int cv_name(ld_t *L, const val_t *v, char out[PL_NAME_MAX])
{
    return cv_name_max(L, v, out, PL_NAME_MAX);
}

enum { TT_NAME, TT_DEVICE, TT_ADDRESS, TT_SCAN };

/* One of a tag's texts, checked as before and kept in the text storage: the tag's own name
 * once, its device, address and scan class shared with every tag that gives the same. */
static int cv_tag_text(ld_t *L, const val_t *v, int which, const char **out)
{
    char tmp[PL_ADDRESS_MAX > PL_NAME_MAX ? PL_ADDRESS_MAX : PL_NAME_MAX];
    int rc = which == TT_ADDRESS ? cv_text(L, v, tmp, PL_ADDRESS_MAX, 0, "a data address")
                                 : cv_name(L, v, tmp);

    if (rc != 0)
        return rc;
    *out = which == TT_NAME ? text_put(L->src, tmp, strlen(tmp)) : text_intern(L->src, tmp);
    return *out != NULL ? 0 : nomem(L, v->at);
}

static int empty(ld_t *L, const val_t *v, const char *expect)
{
    if (v->len == 0)
        return fail(L, v->at, "'%s' is empty, expected %s", v->key, expect);
    return 0;
}

static int not_text(ld_t *L, const val_t *v, const char *expect)
{
    if (v->quoted)
        return fail(L, v->at, "'%s' is quoted text \"%s\", expected %s without quotes", v->key,
                    show(v->s, v->len).s, expect);
    return 0;
}

/* Decimal digits only; 0 and *out, or -1 (syntax or above max). */
static int parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t u = 0;
    size_t i;

    if (len == 0)
        return -1;
    for (i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            return -1;
        if (u > max / 10 || (u == max / 10 && (uint64_t)(s[i] - '0') > max % 10))
            return -1;
        u = u * 10 + (uint64_t)(s[i] - '0');
    }
    *out = u;
    return 0;
}

static int cv_uint(ld_t *L, const val_t *v, uint64_t min, uint64_t max, uint64_t *out)
{
    char expect[96];
    uint64_t u;

    snprintf(expect, sizeof(expect), "a whole number from %llu to %llu", (unsigned long long)min,
             (unsigned long long)max);
    if (not_text(L, v, expect) != 0 || empty(L, v, expect) != 0)
        return L->failed;
    if (parse_u64(v->s, v->len, max, &u) != 0 || u < min)
        return fail(L, v->at, "'%s' is '%s', expected %s", v->key, show(v->s, v->len).s, expect);
    *out = u;
    return 0;
}

static int cv_unsigned(ld_t *L, const val_t *v, unsigned min, unsigned max, unsigned *out)
{
    uint64_t u;
    int rc = cv_uint(L, v, min, max, &u);

    if (rc == 0)
        *out = (unsigned)u;
    return rc;
}

static int cv_port(ld_t *L, const val_t *v, unsigned min, uint16_t *out)
{
    unsigned u;
    int rc = cv_unsigned(L, v, min, 65535, &u);

    if (rc == 0)
        *out = (uint16_t)u;
    return rc;
}

/* A decimal number: [+-] digits [. digits] [e [+-] digits], finite. The syntax is checked
 * here so strtod() never sees anything locale-dependent (plcline never calls setlocale). */
static int cv_double(ld_t *L, const val_t *v, double *out)
{
    static const char expect[] = "a number such as 0.5, -2 or 1e-3";
    char tmp[64];
    size_t i = 0, digits = 0;
    double d;

    if (not_text(L, v, expect) != 0 || empty(L, v, expect) != 0)
        return L->failed;
    if (v->len >= sizeof(tmp))
        goto bad;
    if (v->s[i] == '+' || v->s[i] == '-')
        i++;
    while (i < v->len && is_digit(v->s[i]))
        i++, digits++;
    if (i < v->len && v->s[i] == '.') {
        i++;
        while (i < v->len && is_digit(v->s[i]))
            i++, digits++;
    }
    if (digits == 0)
        goto bad;
    if (i < v->len && (v->s[i] == 'e' || v->s[i] == 'E')) {
        size_t e = 0;

        i++;
        if (i < v->len && (v->s[i] == '+' || v->s[i] == '-'))
            i++;
        while (i < v->len && is_digit(v->s[i]))
            i++, e++;
        if (e == 0)
            goto bad;
    }
    if (i != v->len)
        goto bad;
    memcpy(tmp, v->s, v->len);
    tmp[v->len] = '\0';
    d = strtod(tmp, NULL);
    if (!isfinite(d))
        return fail(L, v->at, "'%s' is '%s', out of range, expected a smaller number", v->key,
                    show(v->s, v->len).s);
    *out = d;
    return 0;
bad:
    return fail(L, v->at, "'%s' is '%s', expected %s", v->key, show(v->s, v->len).s, expect);
}

static int cv_bool(ld_t *L, const val_t *v, int *out)
{
    static const char expect[] = "true, false, yes, no, on, off, 1 or 0";
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    size_t i;

    if (not_text(L, v, expect) != 0 || empty(L, v, expect) != 0)
        return L->failed;
    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (eq_nocase(v->s, v->len, yes[i])) {
            *out = 1;
            return 0;
        }
        if (eq_nocase(v->s, v->len, no[i])) {
            *out = 0;
            return 0;
        }
    }
    return fail(L, v->at, "'%s' is '%s', expected %s", v->key, show(v->s, v->len).s, expect);
}

/* A duration: whole milliseconds, or a number (decimals allowed) with a unit ms, s or min,
 * e.g. 250, 250ms, 2s, 1.5s, 5min; the result must be whole milliseconds. */
/* A tag's 'swap' (a fixed CSV column): true adds swap=1 to the tag's protocol keys, which
 * the engine checks against the tag's protocol. */
static int cv_swap(ld_t *L, const val_t *v, pl_tag_def_t *d)
{
    int on = 0;

    if (cv_bool(L, v, &on) != 0)
        return L->failed;
    d->keys = on ? "swap=1" : "";
    return 0;
}

static int cv_duration(ld_t *L, const val_t *v, int allow_zero, unsigned *out)
{
    static const char expect[] = "a duration such as 250, 250ms, 2s, 1.5s or 5min";
    uint64_t whole = 0, frac = 0, fscale = 1, mult, ms;
    size_t i = 0, nd = 0, nf = 0;
    const char *unit;
    size_t ulen;

    if (empty(L, v, expect) != 0)
        return L->failed;
    if (v->s[0] == '-')
        return fail(L, v->at, "'%s' is negative (%s), expected a duration of 0 or more", v->key,
                    show(v->s, v->len).s);
    while (i < v->len && is_digit(v->s[i])) {
        if (whole > DURATION_MAX_MS)
            goto range;
        whole = whole * 10 + (uint64_t)(v->s[i] - '0');
        i++, nd++;
    }
    if (i < v->len && v->s[i] == '.') {
        i++;
        while (i < v->len && is_digit(v->s[i])) {
            if (nf < 6) {
                frac = frac * 10 + (uint64_t)(v->s[i] - '0');
                fscale *= 10;
            } else if (v->s[i] != '0') {
                goto whole_ms;
            }
            i++, nf++;
        }
    }
    if (nd == 0 && nf == 0)
        goto bad;
    while (i < v->len && v->s[i] == ' ')
        i++;
    unit = v->s + i;
    ulen = v->len - i;
    if (ulen == 0 || eq_nocase(unit, ulen, "ms"))
        mult = 1;
    else if (eq_nocase(unit, ulen, "s"))
        mult = 1000;
    else if (eq_nocase(unit, ulen, "min"))
        mult = 60000;
    else
        goto bad;
    if (whole > DURATION_MAX_MS)
        goto range;
    if ((frac * mult) % fscale != 0)
        goto whole_ms;
    ms = whole * mult + frac * mult / fscale;
    if (ms > DURATION_MAX_MS)
        goto range;
    if (ms == 0 && !allow_zero)
        return fail(L, v->at, "'%s' is 0, expected a duration above 0", v->key);
    *out = (unsigned)ms;
    return 0;
bad:
    return fail(L, v->at, "'%s' is '%s', expected %s", v->key, show(v->s, v->len).s, expect);
range:
    return fail(L, v->at, "'%s' is '%s', too long, expected at most %u ms (about 24 days)", v->key,
                show(v->s, v->len).s, DURATION_MAX_MS);
whole_ms:
    return fail(L, v->at, "'%s' is '%s', expected a whole number of milliseconds", v->key,
                show(v->s, v->len).s);
}

/* One of `words` (NULL-terminated, lower case; compared without case). */
static int cv_enum(ld_t *L, const val_t *v, const char *const *words, int *out)
{
    char expect[128];
    size_t n = 0;
    int i;

    for (i = 0; words[i] != NULL; i++) {
        if (eq_nocase(v->s, v->len, words[i])) {
            *out = i;
            return 0;
        }
    }
    expect[0] = '\0';
    for (i = 0; words[i] != NULL; i++) {
        int k = snprintf(expect + n, sizeof(expect) - n, "%s%s", i == 0 ? "" : " or ", words[i]);

        if (k < 0 || (size_t)k >= sizeof(expect) - n)
            break;
        n += (size_t)k;
    }
    return fail(L, v->at, "'%s' is '%s', expected %s", v->key, show(v->s, v->len).s, expect);
}

/* A protocol by name or scheme (case-insensitive); an unknown one lists the known ones. */
static int cv_proto(ld_t *L, const val_t *v, const pl_protocol_t **out)
{
    const char *words[16];
    size_t i;
    int k = 0;

    *out = pl_protocol_find(v->s, v->len);
    if (*out != NULL)
        return 0;
    for (i = 0; i < 15 && pl_protocol_at(i) != NULL; i++)
        words[i] = pl_protocol_at(i)->name;
    words[i] = NULL;
    return cv_enum(L, v, words, &k) == 0 ? fail(L, v->at, "'%s' is not a protocol", v->key)
                                         : L->failed;
}

static int cv_hosts(ld_t *L, const val_t *v, pl_hostlist_t *out)
{
    pl_status_t st;

    pl_status_clear(&st);
    if (has_nul(v) || pl_hostlist_parse(out, v->s, v->len, &st) != 0)
        return fail(L, v->at,
                    "'%s' is not a host list (%s), expected up to 8 addresses or names with "
                    "an optional :port, separated by ',' or ';'",
                    v->key, st.detail[0] != '\0' ? st.detail : "NUL byte");
    return 0;
}

/* "addr", "addr:port", "[v6]:port" or a bare IPv6 address. */
static int cv_local(ld_t *L, const val_t *v, char *addr, size_t cap, uint16_t *port)
{
    static const char expect[] = "a local address with an optional :port (10.0.0.5, "
                                 "10.0.0.5:5000, [::1]:5000)";
    const char *colon = NULL;
    size_t alen = v->len, i, ncolons = 0;
    val_t a = *v, p = *v;

    *port = 0;
    if (v->len > 0 && v->s[0] == '[') {
        const char *rb = memchr(v->s, ']', v->len);

        if (rb == NULL || rb == v->s + 1)
            return fail(L, v->at, "'%s' is '%s', expected %s", v->key, show(v->s, v->len).s,
                        expect);
        a.s = v->s + 1;
        alen = (size_t)(rb - v->s) - 1;
        if (rb + 1 < v->s + v->len) {
            if (rb[1] != ':')
                return fail(L, v->at, "'%s' is '%s', expected %s", v->key, show(v->s, v->len).s,
                            expect);
            colon = rb + 1;
        }
    } else {
        for (i = 0; i < v->len; i++)
            if (v->s[i] == ':') {
                ncolons++;
                colon = v->s + i;
            }
        if (ncolons > 1)
            colon = NULL; /* a bare IPv6 address */
        if (colon != NULL)
            alen = (size_t)(colon - v->s);
    }
    a.len = alen;
    if (cv_text(L, &a, addr, cap, 0, expect) != 0)
        return L->failed;
    for (i = 0; i < alen; i++)
        if (a.s[i] == ' ' || a.s[i] == '[' || a.s[i] == ']' || a.s[i] == ',' || a.s[i] == ';')
            return fail(L, v->at, "'%s' is '%s', expected %s", v->key, show(v->s, v->len).s,
                        expect);
    if (colon != NULL) {
        p.s = colon + 1;
        p.len = (size_t)(v->s + v->len - p.s);
        p.quoted = 0;
        return cv_port(L, &p, 1, port);
    }
    return 0;
}

/* "N" or "FIRST-LAST", at most `max_count` values. */
static int cv_nodes(ld_t *L, const val_t *v, unsigned max_count, uint32_t *first, uint32_t *last)
{
    const char *dash = memchr(v->s, '-', v->len);
    uint64_t a, b;
    int ok;

    if (dash == NULL) {
        ok = parse_u64(v->s, v->len, UINT32_MAX, &a) == 0;
        b = a;
    } else {
        ok = parse_u64(v->s, (size_t)(dash - v->s), UINT32_MAX, &a) == 0 &&
             parse_u64(dash + 1, (size_t)(v->s + v->len - dash - 1), UINT32_MAX, &b) == 0;
    }
    if (!ok || b < a)
        return fail(L, v->at, "'%s' is '%s', expected a node number or a range such as 0-7", v->key,
                    show(v->s, v->len).s);
    if (b - a >= max_count)
        return fail(L, v->at, "'%s' is '%s', %llu nodes, expected at most %u", v->key,
                    show(v->s, v->len).s, (unsigned long long)(b - a + 1), max_count);
    *first = (uint32_t)a;
    *last = (uint32_t)b;
    return 0;
}

/* --- YAML events ----------------------------------------------------------------------- */

static pos_t mark_pos(const yaml_mark_t *m)
{
    pos_t p = {0, (uint32_t)m->line + 1, (uint32_t)m->column + 1};

    return p;
}

static pos_t ev_pos(const ld_t *L)
{
    return mark_pos(&L->ev.start_mark);
}

/* Line and column of byte `off` in the YAML buffer (for reader errors, which have none). */
static pos_t offset_pos(const ld_t *L, size_t off)
{
    pos_t p = {0, 1, 1};
    size_t i;

    for (i = 0; i < off && i < L->len; i++) {
        unsigned char b = (unsigned char)L->buf[i];

        if (b == '\n' || (b == '\r' && (i + 1 >= L->len || L->buf[i + 1] != '\n'))) {
            p.line++;
            p.col = 1;
        } else if (b != '\r' && (b & 0xC0) != 0x80) {
            p.col++;
        }
    }
    return p;
}

static int yaml_fail(ld_t *L)
{
    const yaml_parser_t *p = &L->yp;
    const char *problem = p->problem != NULL ? p->problem : "malformed input";

    switch (p->error) {
    case YAML_MEMORY_ERROR:
        return nomem(L, offset_pos(L, 0));
    case YAML_READER_ERROR:
        if (p->problem_value >= 0)
            return fail(L, offset_pos(L, p->problem_offset),
                        "invalid YAML input: %s (byte 0x%02x), expected UTF-8 text", problem,
                        (unsigned)p->problem_value & 0xffu);
        return fail(L, offset_pos(L, p->problem_offset),
                    "invalid YAML input: %s, expected UTF-8 text", problem);
    case YAML_NO_ERROR:
    case YAML_SCANNER_ERROR:
    case YAML_PARSER_ERROR:
    case YAML_COMPOSER_ERROR:
    case YAML_WRITER_ERROR:
    case YAML_EMITTER_ERROR:
        break;
    }
    if (p->context != NULL) {
        pos_t c = mark_pos(&p->context_mark);

        return fail(L, mark_pos(&p->problem_mark),
                    "invalid YAML: %s (%s at %u:%u), expected well-formed YAML", problem,
                    p->context, c.line, c.col);
    }
    return fail(L, mark_pos(&p->problem_mark), "invalid YAML: %s, expected well-formed YAML",
                problem);
}

/* Reads the next event into L->ev; refuses aliases, anchors and explicit tags. */
static int next(ld_t *L)
{
    const yaml_char_t *anchor = NULL, *tag = NULL;

    if (L->have_ev) {
        yaml_event_delete(&L->ev);
        L->have_ev = 0;
    }
    if (!yaml_parser_parse(&L->yp, &L->ev))
        return yaml_fail(L);
    L->have_ev = 1;
    switch (L->ev.type) {
    case YAML_ALIAS_EVENT:
        anchor = L->ev.data.alias.anchor;
        return fail(L, ev_pos(L),
                    "alias '*%s': anchors and aliases are not supported, expected the value "
                    "written out",
                    show((const char *)anchor, strlen((const char *)anchor)).s);
    case YAML_SCALAR_EVENT:
        anchor = L->ev.data.scalar.anchor;
        tag = L->ev.data.scalar.tag;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = L->ev.data.sequence_start.anchor;
        tag = L->ev.data.sequence_start.tag;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = L->ev.data.mapping_start.anchor;
        tag = L->ev.data.mapping_start.tag;
        break;
    case YAML_NO_EVENT:
    case YAML_STREAM_START_EVENT:
    case YAML_STREAM_END_EVENT:
    case YAML_DOCUMENT_START_EVENT:
    case YAML_DOCUMENT_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        break;
    }
    if (anchor != NULL)
        return fail(L, ev_pos(L),
                    "anchor '&%s': anchors and aliases are not supported, expected the value "
                    "without an anchor",
                    show((const char *)anchor, strlen((const char *)anchor)).s);
    if (tag != NULL)
        return fail(L, ev_pos(L), "YAML tag '%s' is not supported, expected an untagged value",
                    show((const char *)tag, strlen((const char *)tag)).s);
    return 0;
}

static int is_scalar(const ld_t *L)
{
    return L->ev.type == YAML_SCALAR_EVENT;
}

static int is_null(const ld_t *L)
{
    const char *s = (const char *)L->ev.data.scalar.value;
    size_t n = L->ev.data.scalar.length;

    return is_scalar(L) && L->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (n == 0 || (n == 1 && s[0] == '~') || eq_nocase(s, n, "null"));
}

static const char *ev_kind(const ld_t *L)
{
    switch (L->ev.type) {
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    case YAML_SEQUENCE_START_EVENT:
        return "a list";
    case YAML_SCALAR_EVENT:
        return is_null(L) ? "empty" : "a single value";
    case YAML_NO_EVENT:
    case YAML_STREAM_START_EVENT:
    case YAML_STREAM_END_EVENT:
    case YAML_DOCUMENT_START_EVENT:
    case YAML_DOCUMENT_END_EVENT:
    case YAML_ALIAS_EVENT:
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        break;
    }
    return "missing";
}

/* The current event as a value for `key`; fails unless it is a scalar. */
static int scalar(ld_t *L, const char *key, const char *expect, val_t *v)
{
    memset(v, 0, sizeof(*v)); /* defined even on failure (and gcc -O3 cannot see fail() < 0) */
    if (!is_scalar(L))
        return fail(L, ev_pos(L), "'%s' is %s, expected %s", key, ev_kind(L), expect);
    v->s = (const char *)L->ev.data.scalar.value;
    v->len = L->ev.data.scalar.length;
    v->at = ev_pos(L);
    v->key = key;
    v->quoted = L->ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    if (is_null(L))
        v->len = 0; /* "~" and "null" are empty too */
    if (has_nul(v))
        return fail(L, v->at, "'%s' holds a NUL character, expected %s", key, expect);
    return 0;
}

/* --- mappings -------------------------------------------------------------------------- */

typedef struct {
    const char *what;        /* "a tag" */
    const char *const *keys; /* NULL-terminated */
    uint64_t seen;           /* bit i: keys[i] was given */
    pos_t at[KEYS_MAX];      /* where each seen key was */
    pos_t start;
} map_t;

static size_t keys_list(const char *const *keys, char *out, size_t cap)
{
    size_t n = 0;
    int i;

    out[0] = '\0';
    for (i = 0; keys[i] != NULL; i++) {
        int k = snprintf(out + n, cap - n, "%s%s", i == 0 ? "" : ", ", keys[i]);

        if (k < 0 || (size_t)k >= cap - n)
            break;
        n += (size_t)k;
    }
    return n;
}

/* The current event must start a mapping of `keys`. */
static int map_begin(ld_t *L, map_t *m, const char *what, const char *const *keys)
{
    char list[512];

    memset(m, 0, sizeof(*m));
    m->what = what;
    m->keys = keys;
    m->start = ev_pos(L);
    if (L->ev.type != YAML_MAPPING_START_EVENT) {
        keys_list(keys, list, sizeof(list));
        return fail(L, m->start, "%s is %s, expected a mapping with keys: %s", what, ev_kind(L),
                    list);
    }
    return 0;
}

/* Reads the next key: 1 with *k its index and L->ev at its value, 0 at the end of the
 * mapping, or an error. */
static int map_key(ld_t *L, map_t *m, int *k)
{
    char list[512];
    const char *s;
    size_t n;
    int i, rc;

    if ((rc = next(L)) != 0)
        return rc;
    if (L->ev.type == YAML_MAPPING_END_EVENT)
        return 0;
    if (!is_scalar(L)) {
        keys_list(m->keys, list, sizeof(list));
        return fail(L, ev_pos(L), "%s as a key in %s, expected one of: %s", ev_kind(L), m->what,
                    list);
    }
    s = (const char *)L->ev.data.scalar.value;
    n = L->ev.data.scalar.length;
    for (i = 0; m->keys[i] != NULL; i++)
        if (strlen(m->keys[i]) == n && memcmp(m->keys[i], s, n) == 0)
            break;
    if (m->keys[i] == NULL) {
        keys_list(m->keys, list, sizeof(list));
        return fail(L, ev_pos(L), "unknown key '%s' in %s, expected one of: %s", show(s, n).s,
                    m->what, list);
    }
    if (m->seen & ((uint64_t)1 << i))
        return fail(L, ev_pos(L),
                    "duplicate key '%s' in %s (first at %u:%u), expected each key "
                    "once",
                    m->keys[i], m->what, m->at[i].line, m->at[i].col);
    m->seen |= (uint64_t)1 << i;
    m->at[i] = ev_pos(L);
    *k = i;
    return next(L) != 0 ? L->failed : 1;
}

static int has(const map_t *m, int k)
{
    return (m->seen & ((uint64_t)1 << k)) != 0;
}

/* Fails when a required key is missing; `required` lists key indexes, ending with -1. */
static int map_require(ld_t *L, const map_t *m, const int *required)
{
    int i;

    for (i = 0; required[i] >= 0; i++)
        if (!has(m, required[i]))
            return fail(L, m->start, "%s without '%s', expected a '%s' key", m->what,
                        m->keys[required[i]], m->keys[required[i]]);
    return 0;
}

/* Shorthands for a key's value in the current event. */
static int y_name(ld_t *L, const char *key, char out[PL_NAME_MAX], pos_t *at)
{
    val_t v;

    if (scalar(L, key, "a name", &v) != 0)
        return L->failed;
    if (at != NULL)
        *at = v.at;
    return cv_name(L, &v, out);
}

static int y_text(ld_t *L, const char *key, char *out, size_t cap, int allow_empty,
                  const char *expect)
{
    val_t v;

    if (scalar(L, key, expect, &v) != 0)
        return L->failed;
    return cv_text(L, &v, out, cap, allow_empty, expect);
}

static int y_tag_text(ld_t *L, const char *key, int which, const char **out, pos_t *at)
{
    val_t v;

    if (scalar(L, key, which == TT_ADDRESS ? "a data address" : "a name", &v) != 0)
        return L->failed;
    if (at != NULL)
        *at = v.at;
    return cv_tag_text(L, &v, which, out);
}

static int y_unsigned(ld_t *L, const char *key, unsigned min, unsigned max, unsigned *out)
{
    val_t v;

    if (scalar(L, key, "a whole number", &v) != 0)
        return L->failed;
    return cv_unsigned(L, &v, min, max, out);
}

static int y_port(ld_t *L, const char *key, unsigned min, uint16_t *out)
{
    val_t v;

    if (scalar(L, key, "a port number", &v) != 0)
        return L->failed;
    return cv_port(L, &v, min, out);
}

static int y_bool(ld_t *L, const char *key, int *out)
{
    val_t v;

    if (scalar(L, key, "true or false", &v) != 0)
        return L->failed;
    return cv_bool(L, &v, out);
}

static int y_double(ld_t *L, const char *key, double *out)
{
    val_t v;

    if (scalar(L, key, "a number", &v) != 0)
        return L->failed;
    return cv_double(L, &v, out);
}

static int y_duration(ld_t *L, const char *key, int allow_zero, unsigned *out)
{
    val_t v;

    if (scalar(L, key, "a duration such as 100ms or 2s", &v) != 0)
        return L->failed;
    return cv_duration(L, &v, allow_zero, out);
}

/* A duration in whole seconds, 0 allowed, at most `max_s`. */
static int y_seconds(ld_t *L, const char *key, unsigned max_s, unsigned *out)
{
    unsigned ms = 0;

    if (y_duration(L, key, 1, &ms) != 0)
        return L->failed;
    if (ms % 1000 != 0)
        return fail(L, ev_pos(L), "'%s' is %u ms, expected whole seconds such as 30s", key, ms);
    if (ms / 1000 > max_s)
        return fail(L, ev_pos(L), "'%s' is %u s, expected at most %u s", key, ms / 1000, max_s);
    *out = ms / 1000;
    return 0;
}

static int y_proto(ld_t *L, char out[PL_PROTO_NAME_MAX], const pl_protocol_t **p)
{
    char list[128];
    val_t v;

    if (scalar(L, "protocol", pl_protocol_list(list, sizeof(list)), &v) != 0 ||
        cv_proto(L, &v, p) != 0)
        return L->failed;
    snprintf(out, PL_PROTO_NAME_MAX, "%s", (*p)->name);
    return 0;
}

static int y_hosts(ld_t *L, const char *key, pl_hostlist_t *out)
{
    val_t v;

    if (scalar(L, key, "a host list", &v) != 0)
        return L->failed;
    return cv_hosts(L, &v, out);
}

static pos_t later(pos_t a, pos_t b)
{
    return a.line > b.line || (a.line == b.line && a.col > b.col) ? a : b;
}

/* A key that applies only in some cases. */
static int not_here(ld_t *L, const map_t *m, int k, const char *why)
{
    return fail(L, m->at[k], "'%s' %s, expected no '%s' here", m->keys[k], why, m->keys[k]);
}

/* --- protocol keys (src/proto/registry.h) ------------------------------------------------ */

/* `common` (NULL-terminated) followed by every protocol's keys of `scope`, each once, into
 * out[cap] (NULL-terminated). Returns the index of the first protocol key. */
static int keys_with_protocols(const char *const *common, pl_key_scope_t scope, const char **out,
                               size_t cap)
{
    size_t n = 0, i, j;
    int first;

    while (common[n] != NULL && n + 1 < cap) {
        out[n] = common[n];
        n++;
    }
    first = (int)n;
    for (i = 0; pl_protocol_at(i) != NULL; i++) {
        const pl_proto_key_t *k = pl_protocol_at(i)->keys[scope];

        for (; k != NULL && k->name != NULL && n + 1 < cap; k++) {
            for (j = (size_t)first; j < n && strcmp(out[j], k->name) != 0; j++)
                ;
            if (j == n)
                out[n++] = k->name;
        }
    }
    out[n] = NULL;
    return first;
}

/* The first protocol's definition of key `name` in `scope`. */
static const pl_proto_key_t *any_key(pl_key_scope_t scope, const char *name)
{
    const pl_proto_key_t *k;
    size_t i;

    for (i = 0; pl_protocol_at(i) != NULL; i++)
        if ((k = pl_protocol_key(pl_protocol_at(i), scope, name)) != NULL)
            return k;
    return NULL;
}

/* "a" or "a and b": the protocols that take key `name` in `scope`. */
static const char *key_owners(pl_key_scope_t scope, const char *name, char *buf, size_t cap)
{
    size_t i, n = 0;

    buf[0] = '\0';
    for (i = 0; pl_protocol_at(i) != NULL; i++) {
        int k;

        if (pl_protocol_key(pl_protocol_at(i), scope, name) == NULL)
            continue;
        k = snprintf(buf + n, cap - n, "%s%s", n == 0 ? "" : " and ", pl_protocol_at(i)->name);
        if (k < 0 || (size_t)k >= cap - n)
            break;
        n += (size_t)k;
    }
    return buf;
}

/* Reads the value of protocol key `name` (the current event) and appends it to `keys` in the
 * key string's form. */
static int y_proto_key(ld_t *L, pl_key_scope_t scope, const char *name, char *keys, size_t cap)
{
    const pl_proto_key_t *k = any_key(scope, name);
    char text[PL_KEYS_MAX];
    uint32_t a = 0, b = 0;
    unsigned u = 0;
    int flag = 0;
    pl_status_t st;
    val_t v;

    text[0] = '\0';
    switch (k->kind) {
    case PL_KEY_UINT:
        if (y_unsigned(L, name, k->min, k->max, &u) != 0)
            return L->failed;
        snprintf(text, sizeof(text), "%u", u);
        break;
    case PL_KEY_MS:
        if (y_duration(L, name, k->min == 0, &u) != 0)
            return L->failed;
        if (u > k->max)
            return fail(L, ev_pos(L), "'%s' is %u ms, expected at most %u ms", name, u, k->max);
        snprintf(text, sizeof(text), "%u", u);
        break;
    case PL_KEY_BOOL:
        if (y_bool(L, name, &flag) != 0)
            return L->failed;
        snprintf(text, sizeof(text), "%d", flag);
        break;
    case PL_KEY_RANGE:
        if (scalar(L, name, "a node range such as 0-7", &v) != 0 ||
            cv_nodes(L, &v, k->max_count, &a, &b) != 0)
            return L->failed;
        snprintf(text, sizeof(text), "%u-%u", a, b);
        break;
    case PL_KEY_TEXT:
    case PL_KEY_LIST:
        if (y_text(L, name, text, sizeof(text), 0,
                   k->kind == PL_KEY_TEXT ? "a text" : "numbers such as 1,5") != 0)
            return L->failed;
        pl_status_clear(&st);
        if (pl_protocol_key_value_check(k, text, &st) != 0)
            return fail(L, ev_pos(L), "%s", st.detail);
        break;
    case PL_KEY_QUERY:
        if (y_text(L, name, text, sizeof(text), 1, "an option string") != 0)
            return L->failed;
        if (text[0] == '\0')
            return 0;
        if (strlen(keys) + strlen(text) + 2 > cap)
            return fail(L, ev_pos(L), "'%s' is too long, expected at most %zu characters", name,
                        cap - strlen(keys) - 2);
        if (keys[0] != '\0')
            strncat(keys, "&", cap - strlen(keys) - 1);
        strncat(keys, text, cap - strlen(keys) - 1);
        return 0;
    case PL_KEY_WORD:
        if (y_text(L, name, text, sizeof(text), 0, "a word") != 0)
            return L->failed;
        break;
    }
    if (pl_keys_add(keys, cap, name, text) != 0)
        return fail(L, ev_pos(L), "'%s': too many protocol keys", name);
    return 0;
}

/* After a mapping: each protocol key given must be one of protocol `p`'s. */
static int proto_keys_apply(ld_t *L, const map_t *m, int first, const pl_protocol_t *p,
                            pl_key_scope_t scope, const char *what)
{
    char owners[128], why[192];
    int k;

    for (k = first; m->keys[k] != NULL; k++) {
        if (!has(m, k) || pl_protocol_key(p, scope, m->keys[k]) != NULL)
            continue;
        snprintf(why, sizeof(why), "applies to %s %s only",
                 key_owners(scope, m->keys[k], owners, sizeof(owners)), what);
        return not_here(L, m, k, why);
    }
    return 0;
}

/* --- sections -------------------------------------------------------------------------- */

static int parse_scan(ld_t *L)
{
    static const char *const keys[] = {"name", "period", "stale", NULL};
    static const int required[] = {0, 1, -1};
    pl_scan_def_t *d;
    item_pos_t *p;
    map_t m;
    int k, rc;

    if (map_begin(L, &m, "a scan class", keys) != 0 ||
        push_item(L, PL_CONFIG_SCAN, m.start, (void **)&d, &p) != 0)
        return L->failed;
    while ((rc = map_key(L, &m, &k)) > 0) {
        switch (k) {
        case 0:
            rc = y_name(L, "name", d->name, &p->name);
            break;
        case 1:
            rc = y_duration(L, "period", 0, &d->period_ms);
            break;
        default:
            rc = y_duration(L, "stale", 1, &d->stale_ms);
            break;
        }
        if (rc != 0)
            return rc;
    }
    return rc != 0 ? rc : map_require(L, &m, required);
}

enum {
    SK_NAME,
    SK_PROTOCOL,
    SK_LISTEN,
    SK_PORT,
    SK_ANIMATE,
    SK_DELAY,
    SK_EXPOSE,
};

enum { XK_TAG, XK_ADDRESS, XK_STATION, XK_WRITE };

static int parse_list(ld_t *L, const char *key, const char *item, int (*parse)(ld_t *L));

/* One entry of a simulator's `expose:` list (the simulator is the last one pushed). */
static int parse_expose(ld_t *L)
{
    static const char *const keys[] = {"tag", "address", "station", "write", NULL};
    static const int required[] = {XK_TAG, XK_ADDRESS, -1};
    pl_config_t *cfg = L->cfg;
    pl_expose_def_t *d;
    unsigned station = 0;
    map_t m;
    int k, rc;

    if (map_begin(L, &m, "an exposed tag", keys) != 0)
        return L->failed;
    if (cfg->nexposes >= PL_CONFIG_ITEMS_MAX)
        return fail(L, m.start, "more than %u exposed tags, expected at most %u",
                    PL_CONFIG_ITEMS_MAX, PL_CONFIG_ITEMS_MAX);
    if (cfg->nexposes == L->expose_cap) {
        pl_expose_def_t *a = grow(cfg->exposes, &L->expose_cap, cfg->nexposes + 1, sizeof(*a));

        if (a == NULL)
            return nomem(L, m.start);
        cfg->exposes = a;
    }
    d = &cfg->exposes[cfg->nexposes++];
    memset(d, 0, sizeof(*d));
    d->sim = cfg->nsims - 1;
    d->station = -1;
    d->line = m.start.line;
    d->col = m.start.col;
    while ((rc = map_key(L, &m, &k)) > 0) {
        switch (k) {
        case XK_TAG:
            rc = y_name(L, "tag", d->tag, NULL);
            break;
        case XK_ADDRESS:
            rc = y_text(L, "address", d->address, sizeof(d->address), 0,
                        "a data address of the simulator's protocol");
            break;
        case XK_STATION:
            rc = y_unsigned(L, "station", 0, 65535, &station);
            d->station = (long)station;
            break;
        default:
            rc = y_bool(L, "write", &d->write);
            break;
        }
        if (rc != 0)
            return rc;
    }
    return rc != 0 ? rc : map_require(L, &m, required);
}

static int parse_sim(ld_t *L)
{
    static const char *const common[] = {"name",    "protocol", "listen", "port",
                                         "animate", "delay",    "expose", NULL};
    static const int required[] = {SK_NAME, SK_PROTOCOL, -1};
    const char *keys[KEYS_MAX + 1];
    const pl_protocol_t *proto = NULL;
    int pfirst = keys_with_protocols(common, PL_KEYS_SIM, keys, KEYS_MAX + 1);
    pl_sim_def_t *d;
    item_pos_t *p;
    map_t m;
    int k, rc;

    if (map_begin(L, &m, "a simulator", keys) != 0 ||
        push_item(L, PL_CONFIG_SIM, m.start, (void **)&d, &p) != 0)
        return L->failed;
    snprintf(d->listen, sizeof(d->listen), "127.0.0.1");
    while ((rc = map_key(L, &m, &k)) > 0) {
        switch (k) {
        case SK_NAME:
            rc = y_name(L, "name", d->name, &p->name);
            break;
        case SK_PROTOCOL:
            rc = y_proto(L, d->protocol, &proto);
            break;
        case SK_LISTEN:
            rc = y_text(L, "listen", d->listen, sizeof(d->listen), 0,
                        "an address to listen on such as 127.0.0.1 or *");
            break;
        case SK_PORT:
            rc = y_port(L, "port", 0, &d->port);
            break;
        case SK_ANIMATE:
            rc = y_duration(L, "animate", 1, &d->animate_ms);
            break;
        case SK_DELAY:
            rc = y_duration(L, "delay", 1, &d->delay_ms);
            break;
        case SK_EXPOSE:
            rc = parse_list(L, "expose", "exposed tags", parse_expose);
            d = &L->cfg->sims[L->cfg->nsims - 1]; /* no simulator is pushed meanwhile */
            break;
        default:
            rc = y_proto_key(L, PL_KEYS_SIM, keys[k], d->keys, sizeof(d->keys));
            break;
        }
        if (rc != 0)
            return rc;
    }
    if (rc != 0 || map_require(L, &m, required) != 0)
        return L->failed;
    return proto_keys_apply(L, &m, pfirst, proto, PL_KEYS_SIM, "simulators");
}

enum {
    LK_NAME,
    LK_PROTOCOL,
    LK_HOST,
    LK_SIMULATOR,
    LK_PORT,
    LK_BACKUP,
    LK_BACKUP_SIMULATOR,
    LK_BACKUP_PORT,
    LK_USE_BACKUP,
    LK_REDUNDANCY,
    LK_PREFER_PRIMARY,
    LK_LINE_NUMBER,
    LK_LOCAL,
    LK_CONNECT_TIMEOUT,
    LK_BACKOFF_MIN,
    LK_BACKOFF_MAX,
    LK_STABLE,
    LK_TCP_KEEPALIVE,
    LK_TIMEOUT,
};

static int parse_line(ld_t *L)
{
    static const char *const common[] = {
        "name",           "protocol",         "host",          "simulator",       "port",
        "backup",         "backup_simulator", "backup_port",   "use_backup",      "redundancy",
        "prefer_primary", "line_number",      "local",         "connect_timeout", "backoff_min",
        "backoff_max",    "stable",           "tcp_keepalive", "timeout",         NULL};
    static const int required[] = {LK_NAME, LK_PROTOCOL, -1};
    const char *keys[KEYS_MAX + 1];
    const pl_protocol_t *proto = NULL;
    int pfirst = keys_with_protocols(common, PL_KEYS_LINE, keys, KEYS_MAX + 1);
    static const char *const redundancy[] = {"alternate", "parallel", NULL};
    pl_line_def_t *d;
    item_pos_t *p;
    map_t m;
    val_t v;
    unsigned u = 0;
    int k = 0, rc, i = 0;

    if (map_begin(L, &m, "a line", keys) != 0 ||
        push_item(L, PL_CONFIG_LINE, m.start, (void **)&d, &p) != 0)
        return L->failed;
    pl_line_config_init(&d->line);
    while ((rc = map_key(L, &m, &k)) > 0) {
        switch (k) {
        case LK_NAME:
            rc = y_name(L, "name", d->name, &p->name);
            break;
        case LK_PROTOCOL:
            rc = y_proto(L, d->protocol, &proto);
            break;
        case LK_HOST:
            rc = y_hosts(L, "host", &d->line.hosts);
            break;
        case LK_SIMULATOR:
            rc = y_name(L, "simulator", d->simulator, &p->ref1);
            break;
        case LK_PORT:
            rc = y_port(L, "port", 1, &d->line.port);
            break;
        case LK_BACKUP:
            rc = y_hosts(L, "backup", &d->line.backup);
            break;
        case LK_BACKUP_SIMULATOR:
            rc = y_name(L, "backup_simulator", d->backup_simulator, &p->ref2);
            break;
        case LK_BACKUP_PORT:
            rc = y_port(L, "backup_port", 1, &d->line.backup_port);
            break;
        case LK_USE_BACKUP:
            rc = y_bool(L, "use_backup", &d->line.use_backup);
            break;
        case LK_REDUNDANCY:
            rc = scalar(L, "redundancy", "alternate or parallel", &v);
            if (rc == 0 && (rc = cv_enum(L, &v, redundancy, &i)) == 0)
                d->line.redundancy = i == 0 ? PL_REDUNDANCY_ALTERNATE : PL_REDUNDANCY_PARALLEL;
            break;
        case LK_PREFER_PRIMARY:
            rc = y_bool(L, "prefer_primary", &d->line.prefer_primary);
            break;
        case LK_LINE_NUMBER:
            rc = y_unsigned(L, "line_number", 0, 65535, &u);
            d->line.line_number = (int)u;
            break;
        case LK_LOCAL:
            rc = scalar(L, "local", "a local address", &v);
            if (rc == 0)
                rc = cv_local(L, &v, d->local_addr, sizeof(d->local_addr), &d->line.local_port);
            break;
        case LK_CONNECT_TIMEOUT:
            rc = y_duration(L, "connect_timeout", 0, &d->line.connect_timeout_ms);
            break;
        case LK_BACKOFF_MIN:
            rc = y_duration(L, "backoff_min", 0, &d->line.backoff_min_ms);
            break;
        case LK_BACKOFF_MAX:
            rc = y_duration(L, "backoff_max", 0, &d->line.backoff_max_ms);
            break;
        case LK_STABLE:
            rc = y_duration(L, "stable", 0, &d->line.stable_ms);
            break;
        case LK_TCP_KEEPALIVE:
            rc = y_seconds(L, "tcp_keepalive", TCP_IDLE_MAX_S, &u);
            d->line.tcp_keepalive_s = u == 0 ? -1 : (int)u; /* 0 in the file: off */
            break;
        case LK_TIMEOUT:
            rc = y_duration(L, "timeout", 0, &d->timeout_ms);
            break;
        default:
            rc = y_proto_key(L, PL_KEYS_LINE, keys[k], d->keys, sizeof(d->keys));
            break;
        }
        if (rc != 0)
            return rc;
    }
    if (rc != 0 || map_require(L, &m, required) != 0)
        return L->failed;
    if (has(&m, LK_HOST) && has(&m, LK_SIMULATOR))
        return fail(L, later(m.at[LK_HOST], m.at[LK_SIMULATOR]),
                    "a line with both 'host' and 'simulator', expected only one of them");
    if (!has(&m, LK_HOST) && !has(&m, LK_SIMULATOR))
        return fail(L, m.start, "a line without 'host' or 'simulator', expected one of them");
    if (has(&m, LK_SIMULATOR) && has(&m, LK_PORT))
        return not_here(L, &m, LK_PORT, "comes from the simulator on a line with 'simulator'");
    if (has(&m, LK_BACKUP) && has(&m, LK_BACKUP_SIMULATOR))
        return fail(L, later(m.at[LK_BACKUP], m.at[LK_BACKUP_SIMULATOR]),
                    "a line with both 'backup' and 'backup_simulator', expected only one of them");
    if (has(&m, LK_BACKUP_SIMULATOR) && has(&m, LK_BACKUP_PORT))
        return not_here(L, &m, LK_BACKUP_PORT,
                        "comes from the simulator on a line with 'backup_simulator'");
    if (!has(&m, LK_BACKUP) && !has(&m, LK_BACKUP_SIMULATOR)) {
        static const int need_backup[] = {LK_BACKUP_PORT, LK_USE_BACKUP, LK_REDUNDANCY,
                                          LK_PREFER_PRIMARY};
        for (i = 0; i < 4; i++)
            if (has(&m, need_backup[i]))
                return not_here(L, &m, need_backup[i], "applies to a line with a 'backup'");
    } else if (!has(&m, LK_USE_BACKUP)) {
        d->line.use_backup = 1;
    }
    if (!has(&m, LK_REDUNDANCY))
        d->line.redundancy = proto->redundancy; /* the protocol's default */
    if (has(&m, LK_PREFER_PRIMARY) && d->line.redundancy != PL_REDUNDANCY_PARALLEL)
        return not_here(L, &m, LK_PREFER_PRIMARY, "applies to 'redundancy: parallel' only");
    if (d->line.backoff_min_ms > d->line.backoff_max_ms)
        return fail(L, m.at[has(&m, LK_BACKOFF_MAX) ? LK_BACKOFF_MAX : LK_BACKOFF_MIN],
                    "backoff_min %u ms is above backoff_max %u ms, expected min <= max",
                    d->line.backoff_min_ms, d->line.backoff_max_ms);
    if (proto_keys_apply(L, &m, pfirst, proto, PL_KEYS_LINE, "lines") != 0)
        return L->failed;
    if (!has(&m, LK_PORT) && !has(&m, LK_SIMULATOR))
        d->line.port = proto->port;
    return 0;
}

enum {
    DK_NAME,
    DK_LINE,
    DK_MAX_GAP,
    DK_DEMOTE_AFTER,
    DK_DEMOTE_FOR,
    DK_WRITE_POLICY,
    DK_WRITE_TIMEOUT,
    DK_WRITE_QUEUE,
    DK_STALE, /* event-driven devices: uncertain after this silence */
};

static int parse_device(ld_t *L)
{
    static const char *const common[] = {
        "name",         "line",          "max_gap",     "demote_after", "demote_for",
        "write_policy", "write_timeout", "write_queue", "stale",        NULL};
    static const int required[] = {DK_NAME, DK_LINE, -1};
    const char *keys[KEYS_MAX + 1];
    int pfirst = keys_with_protocols(common, PL_KEYS_DEVICE, keys, KEYS_MAX + 1);
    static const char *const policies[] = {"ordered", "latest", NULL};
    pl_device_def_t *d;
    item_pos_t *p;
    map_t m;
    val_t v;
    int k = 0, rc, i = 0;

    if (map_begin(L, &m, "a device", keys) != 0 ||
        push_item(L, PL_CONFIG_DEVICE, m.start, (void **)&d, &p) != 0)
        return L->failed;
    d->max_gap = DEF_MAX_GAP;
    d->demote_after = DEF_DEMOTE_AFTER;
    d->demote_ms = DEF_DEMOTE_MS;
    d->write_policy = PL_WRITES_ORDERED;
    d->write_timeout_ms = DEF_WRITE_TIMEOUT;
    d->write_queue = DEF_WRITE_QUEUE;
    while ((rc = map_key(L, &m, &k)) > 0) {
        switch (k) {
        case DK_NAME:
            rc = y_name(L, "name", d->name, &p->name);
            break;
        case DK_LINE:
            rc = y_name(L, "line", d->line, &p->ref1);
            break;
        case DK_MAX_GAP:
            rc = y_unsigned(L, "max_gap", 0, 65535, &d->max_gap);
            break;
        case DK_DEMOTE_AFTER:
            rc = y_unsigned(L, "demote_after", 1, 1000000, &d->demote_after);
            break;
        case DK_DEMOTE_FOR:
            rc = y_duration(L, "demote_for", 0, &d->demote_ms);
            break;
        case DK_WRITE_POLICY:
            rc = scalar(L, "write_policy", "ordered or latest", &v);
            if (rc == 0 && (rc = cv_enum(L, &v, policies, &i)) == 0)
                d->write_policy = i == 0 ? PL_WRITES_ORDERED : PL_WRITES_LATEST;
            break;
        case DK_WRITE_TIMEOUT:
            rc = y_duration(L, "write_timeout", 0, &d->write_timeout_ms);
            break;
        case DK_WRITE_QUEUE:
            rc = y_unsigned(L, "write_queue", 1, 1000000, &d->write_queue);
            break;
        case DK_STALE:
            rc = y_duration(L, "stale", 1, &d->stale_ms);
            break;
        default:
            rc = y_proto_key(L, PL_KEYS_DEVICE, keys[k], d->keys, sizeof(d->keys));
            p->ref2 = m.at[k];
            p->pkeys |= 1u << (k - pfirst);
            break;
        }
        if (rc != 0)
            return rc;
    }
    return rc != 0 ? rc : map_require(L, &m, required);
}

/* --- tags and CSV ------------------------------------------------------------------------ */

static int parse_scale(ld_t *L, pl_tag_def_t *d)
{
    static const char *const keys[] = {"gain", "offset", NULL};
    map_t m;
    int k, rc;

    if (map_begin(L, &m, "'scale'", keys) != 0)
        return L->failed;
    d->scaled = 1;
    d->gain = 1.0;
    d->offset = 0.0;
    while ((rc = map_key(L, &m, &k)) > 0) {
        if (k == 0) {
            if ((rc = y_double(L, "gain", &d->gain)) == 0 && d->gain == 0.0)
                rc = fail(L, ev_pos(L), "'gain' is 0, expected a number other than 0");
        } else {
            rc = y_double(L, "offset", &d->offset);
        }
        if (rc != 0)
            return rc;
    }
    return rc;
}

/* Reads a whole regular file of at most PL_CONFIG_FILE_MAX bytes. Returns 0, PL_EIO with
 * *sys, PL_ENOMEM, or PL_ECONFIG with *why ("not a regular file", "too big"). */
static int read_file(const char *path, char **out, size_t *len, int *sys, const char **why)
{
    uv_fs_t req;
    uv_file fd;
    size_t cap, got = 0;
    char *buf = NULL;
    int r, rc = 0;

    *out = NULL;
    *len = 0;
    *sys = 0;
    *why = NULL;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below */
    r = uv_fs_open(NULL, &req, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0, NULL);
    uv_fs_req_cleanup(&req);
    if (r < 0) {
        *sys = r;
        return PL_EIO;
    }
    fd = (uv_file)r;
    r = uv_fs_fstat(NULL, &req, fd, NULL);
    if (r < 0) {
        *sys = r;
        rc = PL_EIO;
    } else if ((req.statbuf.st_mode & S_IFMT) != S_IFREG) {
        *why = "not a regular file";
        rc = PL_ECONFIG;
    } else if (req.statbuf.st_size > PL_CONFIG_FILE_MAX) {
        *why = "larger than 16 MiB";
        rc = PL_ECONFIG;
    }
    cap = rc == 0 ? (size_t)req.statbuf.st_size + 1 : 0;
    uv_fs_req_cleanup(&req);
    if (rc == 0 && (buf = malloc(cap)) == NULL)
        rc = PL_ENOMEM;
    while (rc == 0) {
        uv_buf_t b;

        if (got == cap) { /* the file grew since fstat: read on, up to the limit + 1 */
            size_t ncap = cap * 2;
            char *nb;

            if (cap > PL_CONFIG_FILE_MAX) {
                *why = "larger than 16 MiB";
                rc = PL_ECONFIG;
                break;
            }
            nb = realloc(buf, ncap);
            if (nb == NULL) {
                rc = PL_ENOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        b = uv_buf_init(buf + got, (unsigned)(cap - got));
        r = uv_fs_read(NULL, &req, fd, &b, 1, -1, NULL);
        uv_fs_req_cleanup(&req);
        if (r < 0) {
            *sys = r;
            rc = PL_EIO;
        } else if (r == 0) {
            break;
        } else {
            got += (size_t)r;
        }
    }
    uv_fs_close(NULL, &req, fd, NULL);
    uv_fs_req_cleanup(&req);
    if (rc == 0 && got > PL_CONFIG_FILE_MAX) {
        *why = "larger than 16 MiB";
        rc = PL_ECONFIG;
    }
    if (rc != 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = got;
    return 0;
}

/* `rel` relative to the directory of the YAML file's name (unless absolute). */
static char *join_path(const char *base, const char *rel, size_t rlen)
{
    const char *slash = strrchr(base, '/');
    size_t dlen = slash != NULL && rel[0] != '/' ? (size_t)(slash - base) + 1 : 0;
    char *p = malloc(dlen + rlen + 1);

    if (p != NULL) {
        memcpy(p, base, dlen);
        memcpy(p + dlen, rel, rlen);
        p[dlen + rlen] = '\0';
    }
    return p;
}

enum {
    TC_NAME,
    TC_DEVICE,
    TC_ADDRESS,
    TC_SCAN,
    TC_WRITABLE,
    TC_GAIN,
    TC_OFFSET,
    TC_DEADBAND,
    TC_SWAP,
    TC_STALE,
    TC_COUNT
};

static const char *const csv_columns[] = {"name",     "device", "address", "scan",
                                          "writable", "gain",   "offset",  "deadband",
                                          "swap",     "stale",  NULL};

static int csv_field(ld_t *L, pl_tag_def_t *d, item_pos_t *p, int col, const val_t *v)
{
    switch (col) {
    case TC_NAME:
        p->name = v->at;
        return cv_tag_text(L, v, TT_NAME, &d->name);
    case TC_DEVICE:
        p->ref1 = v->at;
        return cv_tag_text(L, v, TT_DEVICE, &d->device);
    case TC_ADDRESS:
        return cv_tag_text(L, v, TT_ADDRESS, &d->address);
    case TC_SCAN:
        p->ref2 = v->at;
        return cv_tag_text(L, v, TT_SCAN, &d->scan);
    case TC_WRITABLE:
        return cv_bool(L, v, &d->writable);
    case TC_GAIN:
        d->scaled = 1;
        if (cv_double(L, v, &d->gain) != 0)
            return L->failed;
        if (d->gain == 0.0)
            return fail(L, v->at, "'gain' is 0, expected a number other than 0");
        return 0;
    case TC_OFFSET:
        d->scaled = 1;
        return cv_double(L, v, &d->offset);
    case TC_DEADBAND:
        if (cv_double(L, v, &d->deadband) != 0)
            return L->failed;
        if (d->deadband < 0)
            return fail(L, v->at, "'deadband' is negative, expected 0 or more");
        return 0;
    case TC_SWAP:
        return cv_swap(L, v, d);
    case TC_STALE:
        return cv_duration(L, v, 0, &d->stale_ms);
    }
    return 0;
}

static int load_csv_records(ld_t *L, uint32_t fi, pl_csv_t *c)
{
    int colmap[PL_CSV_FIELDS_MAX]; /* CSV field -> TC_* */
    pos_t colpos[TC_COUNT];
    unsigned seen = 0, ncols, i, eline = 0, ecol = 0;
    pl_status_t st;
    char list[256];
    int rc, k;

    pl_status_clear(&st);
    memset(colpos, 0, sizeof(colpos));
    keys_list(csv_columns, list, sizeof(list));
    rc = pl_csv_next(c, &eline, &ecol, &st);
    if (rc == 0) {
        pos_t at = {fi, 1, 1};
        return fail(L, at, "no header row, expected a header with the columns: %s", list);
    }
    if (rc < 0) {
        pos_t at = {fi, eline, ecol};
        return fail(L, at, "%s", st.detail);
    }
    for (i = 0; i < c->nfields; i++) {
        const pl_csv_field_t *f = &c->field[i];
        pos_t fat = {fi, f->line, f->col};

        for (k = 0; csv_columns[k] != NULL; k++)
            if (eq_nocase(f->s, f->len, csv_columns[k]))
                break;
        if (csv_columns[k] == NULL)
            return fail(L, fat, "unknown column '%s', expected one of: %s", show(f->s, f->len).s,
                        list);
        if (seen & (1u << k))
            return fail(L, fat, "duplicate column '%s' (first at %u:%u), expected each column once",
                        csv_columns[k], colpos[k].line, colpos[k].col);
        seen |= 1u << k;
        colpos[k] = fat;
        colmap[i] = k;
    }
    ncols = c->nfields;
    for (k = TC_NAME; k <= TC_SCAN; k++)
        if (!(seen & (1u << k))) {
            pos_t hat = {fi, c->line, 1};
            return fail(L, hat,
                        "header without a '%s' column, expected at least the columns name, "
                        "device, address and scan",
                        csv_columns[k]);
        }
    for (;;) {
        pl_tag_def_t *d;
        item_pos_t *p;
        pos_t rat;

        rc = pl_csv_next(c, &eline, &ecol, &st);
        if (rc == 0)
            return 0;
        if (rc < 0) {
            pos_t at = {fi, eline, ecol};
            return fail(L, at, "%s", st.detail);
        }
        rat.file = fi;
        rat.line = c->line;
        rat.col = 1;
        if (c->nfields != ncols)
            return fail(L, rat, "%u fields, expected %u as in the header", c->nfields, ncols);
        if (push_item(L, PL_CONFIG_TAG, rat, (void **)&d, &p) != 0)
            return L->failed;
        d->keys = "";
        for (i = 0; i < c->nfields; i++) {
            const pl_csv_field_t *f = &c->field[i];
            val_t v = {f->s, f->len, {fi, f->line, f->col}, csv_columns[colmap[i]], 0};

            if (v.len == 0) {
                /* 'scan' may be empty: a tag of an event-driven device has none (a polled
                 * device's tag without one is refused with the references) */
                if (colmap[i] < TC_SCAN)
                    return fail(L, v.at, "empty '%s', expected a value in every row",
                                csv_columns[colmap[i]]);
                continue; /* an optional column left empty: the default */
            }
            if ((colmap[i] == TC_GAIN || colmap[i] == TC_OFFSET) && !d->scaled)
                d->gain = 1.0;
            if (csv_field(L, d, p, colmap[i], &v) != 0)
                return L->failed;
        }
    }
}

static int load_csv(ld_t *L, const val_t *v)
{
    char *path, *buf = NULL;
    const char *why;
    size_t len;
    uint32_t fi;
    pl_csv_t *c;
    int sys, rc;

    if (v->len == 0)
        return fail(L, v->at, "'csv' is empty, expected the path of a CSV file");
    if (v->len > CSV_PATH_MAX)
        return fail(L, v->at, "'csv' is %zu bytes long, expected a path of at most %u bytes",
                    v->len, CSV_PATH_MAX);
    if (L->src->nfiles > PL_CONFIG_CSV_MAX)
        return fail(L, v->at, "more than %u CSV files, expected at most %u", PL_CONFIG_CSV_MAX,
                    PL_CONFIG_CSV_MAX);
    path = join_path(L->name, v->s, v->len);
    if (path == NULL || add_file(L, path, &fi) != 0)
        return nomem(L, v->at);
    rc = read_file(path, &buf, &len, &sys, &why);
    if (rc == PL_EIO)
        return fail_code(L, rc, sys, v->at,
                         "cannot read CSV file '%s' (%s), expected a "
                         "readable file",
                         path, uv_strerror(sys));
    if (rc == PL_ENOMEM)
        return nomem(L, v->at);
    if (rc != 0)
        return fail(L, v->at, "CSV file '%s' is %s, expected a regular file of at most 16 MiB",
                    path, why);
    c = malloc(sizeof(*c));
    if (c == NULL) {
        free(buf);
        return nomem(L, v->at);
    }
    pl_csv_init(c, buf, len);
    rc = load_csv_records(L, fi, c);
    free(c);
    free(buf);
    return rc;
}

enum {
    TK_NAME,
    TK_DEVICE,
    TK_ADDRESS,
    TK_SCAN,
    TK_WRITABLE,
    TK_SCALE,
    TK_DEADBAND,
    TK_SWAP,
    TK_CSV,
    TK_STALE,
};

static int parse_tag(ld_t *L)
{
    static const char *const keys[] = {"name",     "device", "address",  "scan",
                                       "writable", "scale",  "deadband", "swap",
                                       "csv",      "stale",  NULL};
    /* 'scan': required unless the device is event-driven (checked with the references) */
    static const int required[] = {TK_NAME, TK_DEVICE, TK_ADDRESS, -1};
    pl_tag_def_t *d = NULL;
    item_pos_t *p = NULL;
    char *csv = NULL;
    val_t v, csv_v = {NULL, 0, {0, 0, 0}, "csv", 0};
    map_t m;
    int k, rc;

    if (map_begin(L, &m, "a tag", keys) != 0)
        return L->failed;
    /* the item is pushed at the first key that is not 'csv' */
    while ((rc = map_key(L, &m, &k)) > 0) {
        if (k != TK_CSV && d == NULL) {
            if (push_item(L, PL_CONFIG_TAG, m.start, (void **)&d, &p) != 0)
                break;
            d->keys = "";
        }
        switch (k) {
        case TK_NAME:
            rc = y_tag_text(L, "name", TT_NAME, &d->name, &p->name);
            break;
        case TK_DEVICE:
            rc = y_tag_text(L, "device", TT_DEVICE, &d->device, &p->ref1);
            break;
        case TK_ADDRESS:
            rc = y_tag_text(L, "address", TT_ADDRESS, &d->address, NULL);
            break;
        case TK_SCAN:
            rc = y_tag_text(L, "scan", TT_SCAN, &d->scan, &p->ref2);
            break;
        case TK_WRITABLE:
            rc = y_bool(L, "writable", &d->writable);
            break;
        case TK_SCALE:
            rc = parse_scale(L, d);
            break;
        case TK_DEADBAND:
            if ((rc = y_double(L, "deadband", &d->deadband)) == 0 && d->deadband < 0)
                rc = fail(L, ev_pos(L), "'deadband' is negative, expected 0 or more");
            break;
        case TK_SWAP:
            rc = scalar(L, "swap", "true or false", &v);
            if (rc == 0)
                rc = cv_swap(L, &v, d);
            break;
        case TK_STALE:
            rc = y_duration(L, "stale", 0, &d->stale_ms);
            break;
        default:
            rc = scalar(L, "csv", "the path of a CSV file", &v);
            if (rc == 0 && (csv = dup_n(v.s, v.len)) == NULL)
                rc = nomem(L, v.at);
            csv_v = v;
            csv_v.s = csv;
            break;
        }
        if (rc != 0)
            break;
    }
    if (L->failed != 0 || rc != 0) {
        free(csv);
        return L->failed;
    }
    if (csv != NULL) {
        if (m.seen != ((uint64_t)1 << TK_CSV)) {
            free(csv);
            return fail(L, m.at[TK_CSV],
                        "'csv' mixed with a tag's keys, expected "
                        "{csv: FILE} alone as its own list item");
        }
        rc = load_csv(L, &csv_v);
        free(csv);
        return rc;
    }
    if (d == NULL) /* an empty mapping */
        return fail(L, m.start, "a tag without keys, expected name, device, address and scan");
    return map_require(L, &m, required);
}

/* --- north ----------------------------------------------------------------------------- */

enum {
    MK_HOST,
    MK_PORT,
    MK_CLIENT_ID,
    MK_PREFIX,
    MK_USERNAME,
    MK_PASSWORD,
    MK_CA_FILE,
    MK_CERT_FILE,
    MK_KEY_FILE,
    MK_KEEPALIVE,
    MK_QOS_PUBLISH,
    MK_QOS_SUBSCRIBE,
};

static int parse_mqtt(ld_t *L, pl_north_def_t *n)
{
    static const char *const keys[] = {
        "host",      "port",     "client_id", "prefix",      "username",      "password", "ca_file",
        "cert_file", "key_file", "keepalive", "qos_publish", "qos_subscribe", NULL};
    map_t m;
    val_t v;
    unsigned u = 0;
    int k, rc;

    if (map_begin(L, &m, "'mqtt'", keys) != 0)
        return L->failed;
    n->mqtt = 1;
    while ((rc = map_key(L, &m, &k)) > 0) {
        switch (k) {
        case MK_HOST:
            rc = y_text(L, "host", n->mqtt_host, sizeof(n->mqtt_host), 0, "a broker host name");
            break;
        case MK_PORT:
            rc = y_port(L, "port", 1, &n->mqtt_port);
            break;
        case MK_CLIENT_ID:
            rc = y_text(L, "client_id", n->mqtt_client_id, sizeof(n->mqtt_client_id), 0,
                        "an MQTT client identifier");
            break;
        case MK_PREFIX:
            rc = scalar(L, "prefix", "a topic prefix", &v);
            if (rc == 0)
                rc = cv_name_max(L, &v, n->mqtt_prefix, sizeof(n->mqtt_prefix));
            break;
        case MK_USERNAME:
            rc = y_text(L, "username", n->mqtt_user, sizeof(n->mqtt_user), 0, "a user name");
            break;
        case MK_PASSWORD:
            rc = y_text(L, "password", n->mqtt_password, sizeof(n->mqtt_password), 1, "a password");
            break;
        case MK_CA_FILE:
            rc = y_text(L, "ca_file", n->mqtt_ca_file, sizeof(n->mqtt_ca_file), 0, "a file name");
            break;
        case MK_CERT_FILE:
            rc = y_text(L, "cert_file", n->mqtt_cert_file, sizeof(n->mqtt_cert_file), 0,
                        "a file name");
            break;
        case MK_KEY_FILE:
            rc =
                y_text(L, "key_file", n->mqtt_key_file, sizeof(n->mqtt_key_file), 0, "a file name");
            break;
        case MK_KEEPALIVE:
            rc = y_seconds(L, "keepalive", MQTT_KA_MAX_S, &n->mqtt_keepalive_s);
            break;
        case MK_QOS_PUBLISH:
            rc = y_unsigned(L, "qos_publish", 0, 2, &u);
            n->mqtt_qos_pub = (int)u;
            break;
        default:
            rc = y_unsigned(L, "qos_subscribe", 0, 2, &u);
            n->mqtt_qos_sub = (int)u;
            break;
        }
        if (rc != 0)
            return rc;
    }
    if (rc != 0)
        return rc;
    if (has(&m, MK_PASSWORD) && !has(&m, MK_USERNAME))
        return not_here(L, &m, MK_PASSWORD, "needs a 'username'");
    if (has(&m, MK_CERT_FILE) != has(&m, MK_KEY_FILE))
        return not_here(L, &m, has(&m, MK_CERT_FILE) ? MK_CERT_FILE : MK_KEY_FILE,
                        "needs both 'cert_file' and 'key_file'");
    if ((has(&m, MK_CERT_FILE)) && !has(&m, MK_CA_FILE))
        return not_here(L, &m, MK_CERT_FILE, "needs 'ca_file' (TLS)");
    if (!has(&m, MK_PORT))
        n->mqtt_port = (uint16_t)(has(&m, MK_CA_FILE) ? PORT_MQTT_TLS : PORT_MQTT);
    return 0;
}

static int parse_north(ld_t *L)
{
    static const char *const keys[] = {"json", "mqtt", NULL};
    map_t m;
    int k, rc;

    if (is_null(L))
        return 0;
    if (map_begin(L, &m, "'north'", keys) != 0)
        return L->failed;
    while ((rc = map_key(L, &m, &k)) > 0) {
        rc = k == 0 ? y_bool(L, "json", &L->cfg->north.json_stdout) : parse_mqtt(L, &L->cfg->north);
        if (rc != 0)
            return rc;
    }
    return rc;
}

/* --- http ------------------------------------------------------------------------------ */

/* "ADDRESS:PORT" or "[IPv6]:PORT": numeric, so that --check catches a mistake. */
static int parse_http_listen(ld_t *L, pl_http_def_t *h)
{
    static const char expect[] = "ADDRESS:PORT with a numeric address, e.g. 127.0.0.1:8080 or "
                                 "[::1]:8080";
    struct sockaddr_in6 sa6;
    struct sockaddr_in sa4;
    char host[64];
    const char *colon, *hs;
    size_t hl;
    unsigned long port;
    char *end;
    val_t v;

    if (scalar(L, "listen", expect, &v) != 0)
        return L->failed;
    if (cv_text(L, &v, h->listen, sizeof(h->listen), 0, expect) != 0)
        return L->failed;
    hs = h->listen;
    if (hs[0] == '[') {
        const char *rb = strchr(hs, ']');

        colon = rb != NULL && rb[1] == ':' ? rb + 1 : NULL;
        hs++;
        hl = rb != NULL ? (size_t)(rb - hs) : 0;
    } else {
        colon = strrchr(hs, ':');
        hl = colon != NULL ? (size_t)(colon - hs) : 0;
    }
    if (colon == NULL || hl == 0 || hl >= sizeof(host) || colon[1] < '0' || colon[1] > '9')
        return fail(L, v.at, "'listen' value '%.60s', expected %s", h->listen, expect);
    memcpy(host, hs, hl);
    host[hl] = '\0';
    port = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || port > 65535 ||
        (uv_ip4_addr(host, 0, &sa4) != 0 && uv_ip6_addr(host, 0, &sa6) != 0))
        return fail(L, v.at, "'listen' value '%.60s', expected %s", h->listen, expect);
    return 0;
}

static int parse_http(ld_t *L)
{
    static const char *const keys[] = {"listen", "writes", "token_file", NULL};
    pl_http_def_t *h = &L->cfg->http;
    map_t m;
    int k, rc;

    h->on = 1;
    if (is_null(L))
        return 0;
    if (map_begin(L, &m, "'http'", keys) != 0)
        return L->failed;
    while ((rc = map_key(L, &m, &k)) > 0) {
        switch (k) {
        case 0:
            rc = parse_http_listen(L, h);
            break;
        case 1:
            rc = y_bool(L, "writes", &h->writes);
            break;
        default:
            rc = y_text(L, "token_file", h->token_file, sizeof(h->token_file), 0, "a file name");
            break;
        }
        if (rc != 0)
            return rc;
    }
    if (rc != 0)
        return rc;
    if (h->writes == 1 && h->token_file[0] == '\0')
        return fail(L, m.at[1],
                    "'writes: true' without a 'token_file', expected a token file "
                    "(writes over HTTP take a bearer token)");
    return 0;
}

/* --- the document ---------------------------------------------------------------------- */

static int parse_list(ld_t *L, const char *key, const char *item, int (*parse)(ld_t *L))
{
    int rc;

    if (is_null(L))
        return 0; /* "tags:" with nothing under it: an empty list */
    if (L->ev.type != YAML_SEQUENCE_START_EVENT)
        return fail(L, ev_pos(L), "'%s' is %s, expected a list of %s ('- ' items)", key, ev_kind(L),
                    item);
    for (;;) {
        if ((rc = next(L)) != 0)
            return rc;
        if (L->ev.type == YAML_SEQUENCE_END_EVENT)
            return 0;
        if ((rc = parse(L)) != 0)
            return rc;
    }
}

static int parse_root(ld_t *L)
{
    static const char *const keys[] = {"scan_classes", "simulators", "lines", "devices",
                                       "tags",         "north",      "http",  NULL};
    map_t m;
    int k, rc;

    if (map_begin(L, &m, "the file", keys) != 0)
        return L->failed;
    while ((rc = map_key(L, &m, &k)) > 0) {
        switch (k) {
        case 0:
            rc = parse_list(L, "scan_classes", "scan classes", parse_scan);
            break;
        case 1:
            rc = parse_list(L, "simulators", "simulators", parse_sim);
            break;
        case 2:
            rc = parse_list(L, "lines", "lines", parse_line);
            break;
        case 3:
            rc = parse_list(L, "devices", "devices", parse_device);
            break;
        case 4:
            rc = parse_list(L, "tags", "tags", parse_tag);
            break;
        case 5:
            rc = parse_north(L);
            break;
        default:
            rc = parse_http(L);
            break;
        }
        if (rc != 0)
            return rc;
    }
    return rc;
}

static int parse_stream(ld_t *L)
{
    pos_t start = {0, 1, 1};

    if (next(L) != 0 || next(L) != 0) /* STREAM-START, then DOCUMENT-START or STREAM-END */
        return L->failed;
    if (L->ev.type == YAML_STREAM_END_EVENT)
        return fail(L, start,
                    "no content, expected a mapping with scan_classes, lines, devices, tags, ...");
    if (next(L) != 0 || parse_root(L) != 0 || next(L) != 0) /* root ... DOCUMENT-END */
        return L->failed;
    if (next(L) != 0)
        return L->failed;
    if (L->ev.type != YAML_STREAM_END_EVENT)
        return fail(L, ev_pos(L), "a second YAML document, expected one document per file");
    return 0;
}

/* --- cross-section checks -------------------------------------------------------------- */

typedef struct {
    uint32_t *slot; /* item index + 1; 0: empty */
    size_t mask;
    const char *base;
    size_t stride, n;
    int by_ptr; /* the name is a pointer (tags), not an array */
    pos_t pos0; /* the whole YAML file */
} nidx_t;

static const char *nidx_name(const nidx_t *ix, size_t i)
{
    const char *item = ix->base + i * ix->stride;

    return ix->by_ptr ? *(const char *const *)(const void *)item : item;
}

static long nidx_find(const nidx_t *ix, const char *name)
{
    size_t h;

    if (ix->slot == NULL)
        return -1;
    for (h = hash_text(name) & ix->mask; ix->slot[h] != 0; h = (h + 1) & ix->mask)
        if (strcmp(nidx_name(ix, ix->slot[h] - 1), name) == 0)
            return (long)ix->slot[h] - 1;
    return -1;
}

static void pos_text(const ld_t *L, pos_t p, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s:%u:%u", file_name(L->src, p.file), p.line, p.col);
}

/* Indexes section `s` by name; fails on the first name given twice. */
static int nidx_build(ld_t *L, nidx_t *ix, pl_config_section_t s)
{
    size_t *n, i, cap = 16;
    void **arr = section_array(L->cfg, s, &n);

    memset(ix, 0, sizeof(*ix));
    ix->base = *arr;
    ix->stride = section_elem(s);
    ix->by_ptr = s == PL_CONFIG_TAG;
    ix->n = *n;
    while (cap < *n * 2)
        cap *= 2;
    ix->slot = calloc(cap, sizeof(*ix->slot));
    if (ix->slot == NULL)
        return nomem(L, ix->pos0);
    ix->mask = cap - 1;
    for (i = 0; i < *n; i++) {
        const char *name = nidx_name(ix, i);
        long j = nidx_find(ix, name);
        size_t h;

        if (j >= 0) {
            char first[600];

            pos_text(L, L->src->pos[s][j].name, first, sizeof(first));
            return fail(L, L->src->pos[s][i].name,
                        "'%s' names two %s (first at %s), expected unique names", name,
                        section_plural[s], first);
        }
        for (h = hash_text(name) & ix->mask; ix->slot[h] != 0; h = (h + 1) & ix->mask)
            ;
        ix->slot[h] = (uint32_t)i + 1;
    }
    return 0;
}

/* "one of: a, b, c" for up to 8 names, else "one of the N <plural>". */
static void candidates(const nidx_t *ix, const char *plural, char *out, size_t cap)
{
    size_t i, n = 0;

    if (ix->n == 0) {
        snprintf(out, cap, "a name defined under '%s', which has none", plural);
        return;
    }
    if (ix->n > 8) {
        snprintf(out, cap, "the name of one of the %zu %s", ix->n, plural);
        return;
    }
    n = (size_t)snprintf(out, cap, "one of: ");
    for (i = 0; i < ix->n && n < cap; i++) {
        int k = snprintf(out + n, cap - n, "%s%s", i == 0 ? "" : ", ", nidx_name(ix, i));

        if (k < 0)
            break;
        n += (size_t)k;
    }
}

/* Each protocol key given on device i must be one of its line's protocol. */
static int device_keys_apply(ld_t *L, size_t i, const pl_line_def_t *line)
{
    static const char *const none[] = {NULL};
    const pl_protocol_t *p = pl_protocol_find(line->protocol, strlen(line->protocol));
    uint32_t given = L->src->pos[PL_CONFIG_DEVICE][i].pkeys;
    const char *keys[KEYS_MAX + 1];
    char owners[128];
    int k;

    (void)keys_with_protocols(none, PL_KEYS_DEVICE, keys, KEYS_MAX + 1);
    for (k = 0; keys[k] != NULL; k++) {
        if (!(given & (1u << k)) || p == NULL || pl_protocol_key(p, PL_KEYS_DEVICE, keys[k]))
            continue;
        return fail(L, L->src->pos[PL_CONFIG_DEVICE][i].ref2,
                    "'%s' applies to devices on %s lines, expected no '%s' on a device of %s "
                    "line '%s'",
                    keys[k], key_owners(PL_KEYS_DEVICE, keys[k], owners, sizeof(owners)), keys[k],
                    line->protocol, line->name);
    }
    return 0;
}

/* Whether the line's protocol is event-driven: its driver subscribes to values the device
 * sends (src/proto/driver.h). */
static int line_events(const pl_line_def_t *line)
{
    const pl_protocol_t *p = pl_protocol_find(line->protocol, strlen(line->protocol));

    return p != NULL && p->driver != NULL && p->driver->subscribe != NULL;
}

/* Tag i on device di: a scan class when the device is polled, none when it is
 * event-driven (its protocol's driver subscribes to values the device sends). */
static int tag_scan_check(ld_t *L, const pl_config_t *cfg, nidx_t ix[NSECTIONS], size_t i,
                          size_t di)
{
    const pl_tag_def_t *d = &cfg->tags[i];
    long li = nidx_find(&ix[PL_CONFIG_LINE], cfg->devices[di].line);
    const pl_protocol_t *p =
        li < 0 ? NULL : pl_protocol_find(cfg->lines[li].protocol, strlen(cfg->lines[li].protocol));
    int evt = p != NULL && p->driver != NULL && p->driver->subscribe != NULL;

    if (p != NULL && !evt && d->stale_ms != 0)
        return fail(L, L->src->pos[PL_CONFIG_TAG][i].item,
                    "'stale' on tag '%s' of device '%s', which is polled, expected it only on a "
                    "tag of a device whose line sends values by itself (a polled tag takes its "
                    "scan class's 'stale')",
                    d->name, d->device);
    if (p == NULL || evt == (d->scan == NULL || d->scan[0] == '\0'))
        return 0;
    if (evt)
        return fail(L, L->src->pos[PL_CONFIG_TAG][i].ref2,
                    "'scan' on a tag of device '%s', whose %s line sends values by itself, "
                    "expected no scan class",
                    d->device, p->name);
    return fail(L, L->src->pos[PL_CONFIG_TAG][i].item,
                "tag '%s' without 'scan', expected a scan class (device '%s' is polled)", d->name,
                d->device);
}

static int check_refs(ld_t *L, nidx_t ix[NSECTIONS])
{
    pl_config_t *cfg = L->cfg;
    char list[600];
    size_t i;
    long j;

    for (i = 0; i < cfg->nlines; i++) {
        pl_line_def_t *d = &cfg->lines[i];

        if (d->simulator[0] == '\0')
            continue;
        j = nidx_find(&ix[PL_CONFIG_SIM], d->simulator);
        if (j < 0) {
            candidates(&ix[PL_CONFIG_SIM], "simulators", list, sizeof(list));
            return fail(L, L->src->pos[PL_CONFIG_LINE][i].ref1,
                        "simulator '%s' is not defined, expected %s", d->simulator, list);
        }
        if (strcmp(cfg->sims[j].protocol, d->protocol) != 0)
            return fail(L, L->src->pos[PL_CONFIG_LINE][i].ref1,
                        "simulator '%s' speaks %s but line '%s' is %s, expected a %s simulator",
                        d->simulator, cfg->sims[j].protocol, d->name, d->protocol, d->protocol);
    }
    for (i = 0; i < cfg->nlines; i++) {
        pl_line_def_t *d = &cfg->lines[i];

        if (d->backup_simulator[0] == '\0')
            continue;
        j = nidx_find(&ix[PL_CONFIG_SIM], d->backup_simulator);
        if (j < 0) {
            candidates(&ix[PL_CONFIG_SIM], "simulators", list, sizeof(list));
            return fail(L, L->src->pos[PL_CONFIG_LINE][i].ref2,
                        "simulator '%s' is not defined, expected %s", d->backup_simulator, list);
        }
        if (strcmp(cfg->sims[j].protocol, d->protocol) != 0)
            return fail(L, L->src->pos[PL_CONFIG_LINE][i].ref2,
                        "simulator '%s' speaks %s but line '%s' is %s, expected a %s simulator",
                        d->backup_simulator, cfg->sims[j].protocol, d->name, d->protocol,
                        d->protocol);
    }
    for (i = 0; i < cfg->nexposes; i++) {
        const pl_expose_def_t *x = &cfg->exposes[i];
        pos_t at = {0, x->line, x->col};

        if (nidx_find(&ix[PL_CONFIG_TAG], x->tag) < 0) {
            candidates(&ix[PL_CONFIG_TAG], "tags", list, sizeof(list));
            return fail(L, at, "simulator '%s' exposes tag '%s', which is not defined, expected %s",
                        cfg->sims[x->sim].name, x->tag, list);
        }
    }
    for (i = 0; i < cfg->ndevices; i++) {
        pl_device_def_t *d = &cfg->devices[i];

        j = nidx_find(&ix[PL_CONFIG_LINE], d->line);
        if (j < 0) {
            candidates(&ix[PL_CONFIG_LINE], "lines", list, sizeof(list));
            return fail(L, L->src->pos[PL_CONFIG_DEVICE][i].ref1,
                        "line '%s' is not defined, expected %s", d->line, list);
        }
        if (device_keys_apply(L, i, &cfg->lines[j]) != 0)
            return L->failed;
        if (d->stale_ms != 0 && !line_events(&cfg->lines[j]))
            return fail(L, L->src->pos[PL_CONFIG_DEVICE][i].item,
                        "'stale' on device '%s' of %s line '%s', which is polled, expected it "
                        "only on a device whose line sends values by itself (a polled tag "
                        "takes its scan class's 'stale')",
                        d->name, cfg->lines[j].protocol, cfg->lines[j].name);
    }
    for (i = 0; i < cfg->ntags; i++) {
        pl_tag_def_t *d = &cfg->tags[i];

        long di = nidx_find(&ix[PL_CONFIG_DEVICE], d->device);

        if (di < 0) {
            candidates(&ix[PL_CONFIG_DEVICE], "devices", list, sizeof(list));
            return fail(L, L->src->pos[PL_CONFIG_TAG][i].ref1,
                        "device '%s' is not defined, expected %s", d->device, list);
        }
        if (tag_scan_check(L, cfg, ix, i, (size_t)di) != 0)
            return L->failed;
        if (d->scan == NULL || d->scan[0] == '\0')
            continue; /* an event-driven device's tag */
        if (nidx_find(&ix[PL_CONFIG_SCAN], d->scan) < 0) {
            candidates(&ix[PL_CONFIG_SCAN], "scan_classes", list, sizeof(list));
            return fail(L, L->src->pos[PL_CONFIG_TAG][i].ref2,
                        "scan class '%s' is not defined, expected %s", d->scan, list);
        }
    }
    return 0;
}

/* Tag i begins a run of positions (pos_run_t). */
static int run_starts(const item_pos_t *p, size_t i)
{
    return i == 0 || p[i].item.file != p[i - 1].item.file || p[i].item.col != p[i - 1].item.col ||
           p[i].item.line != p[i - 1].item.line + 1;
}

/* Where tag i was given, from the runs. */
static pos_t tag_pos(const pl_config_src_t *src, size_t i)
{
    size_t lo = 0, hi = src->ntag_runs; /* the last run with first <= i */
    pos_t p;

    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if (src->tag_runs[mid].first <= i)
            lo = mid;
        else
            hi = mid;
    }
    p = src->tag_runs[lo].at;
    p.line += (uint32_t)(i - src->tag_runs[lo].first);
    return p;
}

/* After a good load: every array as long as its items (they grew by doubling), and of the
 * tags' positions only where each tag was given (what pl_config_origin() tells). */
static int trim(ld_t *L)
{
    pl_config_src_t *src = L->src;
    pl_config_section_t s;
    pos_t whole = {0, 0, 0};

    for (s = PL_CONFIG_LINE; s <= PL_CONFIG_SIM; s++) {
        size_t *n;
        void **arr = section_array(L->cfg, s, &n);
        void *a;
        item_pos_t *p;

        if (*n == 0 || *n == src->cap[s])
            continue;
        if ((a = realloc(*arr, *n * section_elem(s))) != NULL)
            *arr = a; /* else the longer array stays */
        if (s != PL_CONFIG_TAG && (p = realloc(src->pos[s], *n * sizeof(*p))) != NULL)
            src->pos[s] = p;
    }
    if (L->cfg->ntags > 0) {
        const item_pos_t *p = src->pos[PL_CONFIG_TAG];
        size_t i, n = 0;

        for (i = 0; i < L->cfg->ntags; i++)
            n += (size_t)run_starts(p, i);
        src->tag_runs = malloc(n * sizeof(*src->tag_runs));
        if (src->tag_runs == NULL)
            return nomem(L, whole);
        for (i = 0; i < L->cfg->ntags; i++) {
            if (!run_starts(p, i))
                continue;
            src->tag_runs[src->ntag_runs].first = i;
            src->tag_runs[src->ntag_runs++].at = p[i].item;
        }
        free(src->pos[PL_CONFIG_TAG]);
        src->pos[PL_CONFIG_TAG] = NULL;
    }
    for (s = PL_CONFIG_LINE; s <= PL_CONFIG_SIM; s++) {
        size_t *n;

        section_array(L->cfg, s, &n);
        src->cap[s] = *n; /* nothing is pushed after loading */
    }
    free(src->intern);
    src->intern = NULL;
    src->intern_n = 0;
    src->intern_mask = 0;
    return 0;
}

static int check_all(ld_t *L)
{
    static const pl_config_section_t order[NSECTIONS] = {
        PL_CONFIG_SCAN, PL_CONFIG_SIM, PL_CONFIG_LINE, PL_CONFIG_DEVICE, PL_CONFIG_TAG};
    nidx_t ix[NSECTIONS];
    size_t i;
    int rc = 0;

    memset(ix, 0, sizeof(ix));
    for (i = 0; i < NSECTIONS && rc == 0; i++)
        rc = nidx_build(L, &ix[order[i]], order[i]);
    if (rc == 0)
        rc = check_refs(L, ix);
    for (i = 0; i < NSECTIONS; i++)
        free(ix[i].slot);
    if (rc == 0)
        rc = trim(L);
    if (rc == 0)
        for (i = 0; i < L->cfg->nlines; i++) {
            pl_line_def_t *d = &L->cfg->lines[i];

            d->line.local_addr = d->local_addr[0] != '\0' ? d->local_addr : NULL;
        }
    return rc;
}

/* --- public ---------------------------------------------------------------------------- */

static void config_reset(pl_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->north.json_stdout = -1;
    snprintf(cfg->http.listen, sizeof(cfg->http.listen), "127.0.0.1:8080");
    snprintf(cfg->north.mqtt_host, sizeof(cfg->north.mqtt_host), "127.0.0.1");
    cfg->north.mqtt_port = PORT_MQTT;
    snprintf(cfg->north.mqtt_prefix, sizeof(cfg->north.mqtt_prefix), "plcline");
    cfg->north.mqtt_keepalive_s = DEF_MQTT_KEEPALIVE_S;
    cfg->north.mqtt_qos_pub = 0;
    cfg->north.mqtt_qos_sub = 1;
}

int pl_config_load_buffer(pl_config_t *cfg, const char *name, const char *buf, size_t len,
                          pl_status_t *err, char *msg, size_t msg_len)
{
    ld_t L;
    pos_t whole = {0, 0, 0};
    uint32_t fi;
    char *n;

    if (msg != NULL && msg_len > 0)
        msg[0] = '\0';
    pl_status_clear(err);
    if (cfg == NULL || name == NULL || (buf == NULL && len > 0)) {
        report(err, msg, msg_len, PL_EINVAL, 0, "pl_config_load_buffer: NULL argument");
        return PL_EINVAL;
    }
    config_reset(cfg);
    snprintf(cfg->path, sizeof(cfg->path), "%s", name);
    memset(&L, 0, sizeof(L));
    L.cfg = cfg;
    L.err = err;
    L.msg = msg;
    L.msg_len = msg_len;
    L.name = name;
    L.buf = buf;
    L.len = len;
    cfg->src = calloc(1, sizeof(*cfg->src));
    L.src = cfg->src;
    n = cfg->src != NULL ? dup_n(name, strlen(name)) : NULL;
    if (n == NULL || add_file(&L, n, &fi) != 0) {
        report(err, msg, msg_len, PL_ENOMEM, 0, "out of memory");
        return PL_ENOMEM;
    }
    if (len > PL_CONFIG_FILE_MAX)
        return fail(&L, whole, "%zu bytes, expected at most 16 MiB", len);
    if (!yaml_parser_initialize(&L.yp))
        return nomem(&L, whole);
    yaml_parser_set_input_string(&L.yp, (const unsigned char *)(buf != NULL ? buf : ""), len);
    if (parse_stream(&L) == 0)
        check_all(&L);
    if (L.have_ev)
        yaml_event_delete(&L.ev);
    yaml_parser_delete(&L.yp);
    return L.failed;
}

int pl_config_load(pl_config_t *cfg, const char *path, pl_status_t *err, char *msg, size_t msg_len)
{
    char text[MSG_MAX];
    const char *why;
    char *buf;
    size_t len;
    int sys, rc;

    if (msg != NULL && msg_len > 0)
        msg[0] = '\0';
    pl_status_clear(err);
    if (cfg == NULL || path == NULL) {
        report(err, msg, msg_len, PL_EINVAL, 0, "pl_config_load: NULL argument");
        return PL_EINVAL;
    }
    config_reset(cfg);
    rc = read_file(path, &buf, &len, &sys, &why);
    if (rc != 0) {
        if (rc == PL_EIO)
            snprintf(text, sizeof(text), "%s: cannot read (%s), expected a readable file", path,
                     uv_strerror(sys));
        else if (rc == PL_ENOMEM)
            snprintf(text, sizeof(text), "%s: out of memory, expected a smaller file", path);
        else
            snprintf(text, sizeof(text), "%s: %s, expected a regular file of at most 16 MiB", path,
                     why);
        report(err, msg, msg_len, rc, sys, text);
        return rc;
    }
    rc = pl_config_load_buffer(cfg, path, buf, len, err, msg, msg_len);
    free(buf);
    return rc;
}

void pl_config_free(pl_config_t *cfg)
{
    size_t i;

    if (cfg == NULL)
        return;
    free(cfg->lines);
    free(cfg->devices);
    free(cfg->tags);
    free(cfg->scans);
    free(cfg->sims);
    free(cfg->exposes);
    if (cfg->src != NULL) {
        for (i = 0; i < cfg->src->nfiles; i++)
            free(cfg->src->files[i]);
        free(cfg->src->files);
        for (i = 0; i < NSECTIONS; i++)
            free(cfg->src->pos[i]);
        free(cfg->src->tag_runs);
        texts_free(cfg->src);
        free(cfg->src);
    }
    memset(cfg, 0, sizeof(*cfg));
}

void pl_config_drop_tags(pl_config_t *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->tags);
    cfg->tags = NULL;
    cfg->ntags = 0;
    if (cfg->src != NULL) {
        free(cfg->src->tag_runs);
        cfg->src->tag_runs = NULL;
        cfg->src->ntag_runs = 0;
        free(cfg->src->pos[PL_CONFIG_TAG]);
        cfg->src->pos[PL_CONFIG_TAG] = NULL;
        cfg->src->cap[PL_CONFIG_TAG] = 0;
        texts_free(cfg->src); /* the tags' texts only */
    }
}

void *pl_config_texts(pl_config_t *cfg)
{
    return cfg != NULL && cfg->src != NULL ? cfg->src->texts : NULL;
}

void pl_config_texts_given(pl_config_t *cfg)
{
    if (cfg != NULL && cfg->src != NULL)
        cfg->src->texts = NULL; /* the tags still point into it: drop them before the engine */
}

void pl_config_texts_free(void *texts)
{
    text_chunk_t *c = texts;

    while (c != NULL) {
        text_chunk_t *next = c->next;

        free(c);
        c = next;
    }
}

void pl_config_engine(const pl_config_t *cfg, pl_engine_config_t *ec)
{
    memset(ec, 0, sizeof(*ec));
    ec->lines = cfg->lines;
    ec->nlines = cfg->nlines;
    ec->devices = cfg->devices;
    ec->ndevices = cfg->ndevices;
    ec->tags = cfg->tags;
    ec->ntags = cfg->ntags;
    ec->scans = cfg->scans;
    ec->nscans = cfg->nscans;
}

long pl_config_find(const pl_config_t *cfg, pl_config_section_t section, const char *name)
{
    size_t *n, i, elem = section_elem(section);
    void **arr;

    if (cfg == NULL || name == NULL || elem == 0)
        return -1;
    arr = section_array(cfg, section, &n);
    for (i = 0; i < *n; i++) {
        const char *item = (const char *)*arr + i * elem;

        if (section == PL_CONFIG_TAG)
            item = ((const pl_tag_def_t *)(const void *)item)->name;
        if (item != NULL && strcmp(item, name) == 0)
            return (long)i;
    }
    return -1;
}

int pl_config_origin(const pl_config_t *cfg, pl_config_section_t section, size_t i, char *buf,
                     size_t cap)
{
    size_t *n;
    pos_t p;

    if (cap > 0)
        buf[0] = '\0';
    if (cfg == NULL || cfg->src == NULL || section_elem(section) == 0)
        return PL_EINVAL;
    section_array(cfg, section, &n);
    if (i >= *n)
        return PL_EINVAL;
    p = section == PL_CONFIG_TAG && cfg->src->tag_runs != NULL ? tag_pos(cfg->src, i)
                                                               : cfg->src->pos[section][i].item;
    if (cap > 0)
        snprintf(buf, cap, "%s:%u:%u", file_name(cfg->src, p.file), p.line, p.col);
    return 0;
}
