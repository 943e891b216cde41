/* SPDX-License-Identifier: MIT */
/*
 * 7TTCP data addresses and values (the command-line grammar, reused by the engine).
 *
 *   W<offset>        unsigned 16-bit word
 *   I<offset>        signed 16-bit word
 *   D<offset>        unsigned 32-bit, two words, low word first (swap: high word first)
 *   L<offset>        signed 32-bit, two words, as D
 *   F<offset>        IEEE 754 float32, two words, as D
 *   B<offset>        byte: one word whose high byte is 0 (manual: BYTE data)
 *   W<offset>/<bit>  one bit (0..15) of a word
 *   ...,<count>      `count` consecutive elements (default 1)
 *
 * Offsets are word offsets 0..65535 (decimal, or hex with 0x); the letter is case-
 * insensitive. Pure code: no I/O, no allocation.
 */
#ifndef PLCLINE_CODEC_TTCP_ADDR_H
#define PLCLINE_CODEC_TTCP_ADDR_H

#include <stddef.h>
#include <stdint.h>

#include "plcline/log.h"

typedef enum {
    PL_TTCP_W = 0, /* u16 */
    PL_TTCP_I,     /* i16 */
    PL_TTCP_D,     /* u32 */
    PL_TTCP_L,     /* i32 */
    PL_TTCP_F,     /* float32 */
    PL_TTCP_B,     /* byte */
    PL_TTCP_BIT,   /* W<offset>/<bit> */
} pl_ttcp_kind_t;

#define PL_TTCP_ADDR_MAX_COUNT 65536u

typedef struct {
    pl_ttcp_kind_t kind;
    uint32_t offset; /* first word */
    uint8_t bit;     /* PL_TTCP_BIT only */
    uint32_t count;  /* elements, >= 1 */
} pl_ttcp_addr_t;

/* Parses NUL-terminated `s`. Returns 0 or PL_EADDR with `err` (may be NULL) showing where
 * the address is wrong, e.g. "'W12x': unexpected 'x' at column 4", "'W65535,2': range ends
 * past word 65535". */
int pl_ttcp_addr_parse(pl_ttcp_addr_t *a, const char *s, pl_status_t *err);

/* Words per element (1 or 2) and words the whole address covers. A BIT address with a count
 * names consecutive bits starting at `bit`, spilling into the following words: W10/15,2 is
 * bit 15 of word 10 and bit 0 of word 11, so it covers 2 words. */
unsigned pl_ttcp_addr_elem_words(pl_ttcp_kind_t kind);
uint32_t pl_ttcp_addr_words(const pl_ttcp_addr_t *a);

/* A decoded value. */
typedef struct {
    pl_ttcp_kind_t kind;
    union {
        uint32_t u; /* W, D, B, BIT */
        int32_t i;  /* I, L */
        float f;    /* F */
    } v;
} pl_ttcp_value_t;

/* Decodes element `i` of `a` from `words` (the pl_ttcp_addr_words(a) words read at
 * a->offset). `swap` puts the high word first for D/L/F. */
void pl_ttcp_value_get(const pl_ttcp_addr_t *a, const uint16_t *words, uint32_t i, int swap,
                       pl_ttcp_value_t *out);

/* Formats a value for people: decimal integers, floats with "%.9g" (round-trips). Returns
 * bytes written (NUL-terminated) or PL_ENOBUFS. */
int pl_ttcp_value_format(const pl_ttcp_value_t *v, char *buf, size_t cap);

/* Parses text `s` (`len` bytes) as a value of `kind` (range-checked: W 0..65535, I
 * -32768..32767, B 0..255, BIT 0/1, D 0..4294967295, L int32, F any finite float; integers
 * also as 0x hex) and stores element `i` of `a` into `words`. For BIT, only the addressed bit
 * is changed (callers read the word first). Returns 0 or PL_EVALUE with `err` (may be NULL)
 * naming the value and the accepted range. */
int pl_ttcp_value_put(const pl_ttcp_addr_t *a, uint16_t *words, uint32_t i, int swap, const char *s,
                      size_t len, pl_status_t *err);

#endif
