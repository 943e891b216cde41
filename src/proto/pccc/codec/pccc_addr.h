/* SPDX-License-Identifier: MIT */
/*
 * Allen-Bradley data-table addresses (SLC 500, MicroLogix, PLC-5) and the values they name.
 *
 *   N7:0  integer (int16)          F8:1  float (IEEE float32, LE)     L10:0  long (int32)
 *   B3:0/5  bit 5 of word 0        B3/17  bit 17 of the file = word 1 bit 1
 *   N7:0/3  bit of an integer      L10:0/31  bit of a long
 *   T4:0  timer (6 bytes)   .PRE .ACC (words 1, 2)   .EN .TT .DN (bits 15, 14, 13 of word 0)
 *   C5:0  counter           .PRE .ACC  .CU .CD .DN .OV .UN (bits 15..11)
 *   R6:0  control           .LEN .POS  .EN .EU .DN .EM .ER .UL .IN .FD (bits 15..8)
 *   S:1  S2:1  S:1/5        status file (always file 2)
 *   I:1.0/3  I1:1.0  O:0.0  input (file 1) / output (file 0): slot.word[/bit]; ".word"
 *                           may be left out (word 0)
 *   ST9:0  string (84 bytes: LEN word + 82 characters, two per word, first in the high byte)
 *   A10:0  ASCII (one word, two characters, first in the high byte)
 *   ...,<count>             `count` consecutive elements (bits: consecutive bits)
 * The file number may be left out for the default files O0, I1, S2, B3, T4, C5, R6, N7, F8
 * ("N:5" is N7:5; RSLinx/RSView document this for B, N, F, and I/O/S never need one). A
 * mnemonic may also follow '/' (T4:0/DN). Letters are case-insensitive.
 *
 * Values are read and written in the data bytes as they travel (the reply data of a read of
 * pl_pccc_addr_bytes() bytes, or the data of a write): little-endian words, floats and longs
 * low word first.
 *
 * Pure code: no I/O, no allocation.
 */
#ifndef PLCLINE_CODEC_PCCC_ADDR_H
#define PLCLINE_CODEC_PCCC_ADDR_H

#include <stddef.h>
#include <stdint.h>

#include "proto/pccc/codec/pccc.h"
#include "plcline/log.h"

#define PL_PCCC_ADDR_MAX_COUNT 65535u
#define PL_PCCC_FILE_MAX       999u /* PLC-5 files go to 999 (SLC to 255) */
#define PL_PCCC_STRING_CHARS   82u
#define PL_PCCC_STRING_BYTES   84u /* LEN word + 82 characters */
#define PL_PCCC_STRUCT_BYTES   6u  /* timer, counter, control: 3 words */

/* What one element holds. */
typedef enum {
    PL_PCCC_V_INT16 = 0, /* N, B, S, I, O words and T/C/R .PRE/.ACC/.LEN/.POS */
    PL_PCCC_V_INT32,     /* L */
    PL_PCCC_V_FLOAT,     /* F */
    PL_PCCC_V_BIT,       /* any /bit or bit mnemonic */
    PL_PCCC_V_TIMER,     /* whole T element */
    PL_PCCC_V_COUNTER,   /* whole C element */
    PL_PCCC_V_CONTROL,   /* whole R element */
    PL_PCCC_V_STRING,    /* ST element */
    PL_PCCC_V_ASCII      /* A element */
} pl_pccc_vkind_t;

typedef struct {
    uint8_t file_type; /* PL_PCCC_FT_*: 0x82 O, 0x83 I, 0x84 S, 0x85 B, 0x86 T, 0x87 C, 0x88 R,
                          0x89 N, 0x8A F, 0x8D ST, 0x8E A, 0x91 L */
    uint8_t wire_type; /* file type to send in the SLC three-field commands: as file_type,
                          except I/O slot.word addresses, sent "logical by slot" (0x8C input,
                          0x8B output: element = slot, sub-element = word; 1770-6.5.16
                          p. 7-17, and pycomm3 does the same) */
    uint16_t file;
    uint16_t element;  /* element (I/O: slot) */
    uint16_t sub;      /* sub-element: word within a T/C/R element, I/O word within slot */
    int8_t bit;        /* 0..31 or -1 */
    uint8_t elem_size; /* bytes of one addressed unit: 2, 4, 6 or 84 */
    uint32_t count;    /* elements (bit addresses: bits), >= 1 */
    pl_pccc_vkind_t kind;
    int member;      /* 1: a sub-element or bit of a timer/counter/control structure */
    char letters[3]; /* "N", "ST", ... (for formatting) */
} pl_pccc_addr_t;

/* Parses NUL-terminated `s`. Returns 0 or PL_EADDR with `err` (may be NULL) showing where the
 * address is wrong, e.g. "'N7:x': expected an element number at column 4", "'Q7:0': unknown
 * file type 'Q'". On error `a` is left alone. */
int pl_pccc_addr_parse(pl_pccc_addr_t *a, const char *s, pl_status_t *err);

/* Formats `a` canonically (file number always written; B3/17 as B3:1/1; ",count" when
 * count > 1), so pl_pccc_addr_parse gives `a` back. Returns bytes written (NUL-terminated)
 * or PL_ENOBUFS. */
int pl_pccc_addr_format(const pl_pccc_addr_t *a, char *buf, size_t cap);

/* Data bytes the whole address covers: count * elem_size, or for bit addresses the words
 * (longs, for L) the bits span. 0 for NULL. */
uint32_t pl_pccc_addr_bytes(const pl_pccc_addr_t *a);

/* Fills the SLC three-address-field block for reading or writing the whole address
 * (size = pl_pccc_addr_bytes, which must be <= 255: else PL_ERANGE). */
int pl_pccc_addr_slc(const pl_pccc_addr_t *a, pl_pccc_slc_addr_t *out);

/* PLC-5 system address (data table, file, element[, sub-element]) for `a`. */
void pl_pccc_addr_sysaddr(const pl_pccc_addr_t *a, pl_pccc_sysaddr_t *out);

/* PLC-5 type/data type ID and element size for `a` (integer 4/2, float 8/4, bit string 2/2
 * for B, timer 5, counter 6, control 7 with 6 bytes, long: integer 4/4, string 3/84, ASCII
 * 3/2). */
void pl_pccc_addr_plc5_type(const pl_pccc_addr_t *a, uint32_t *id, uint32_t *size);

/* ------------------------------------------------------------------ values */

typedef struct {
    pl_pccc_vkind_t kind;
    int32_t i;                           /* INT16, INT32, BIT (0/1) */
    float f;                             /* FLOAT */
    uint16_t w[3];                       /* TIMER/COUNTER/CONTROL: control word, PRE|LEN, ACC|POS */
    uint8_t len;                         /* STRING: 0..82; ASCII: 2 */
    char text[PL_PCCC_STRING_CHARS + 1]; /* STRING/ASCII characters (len of them), NUL after */
} pl_pccc_value_t;

/* Decodes element `i` (< a->count) of `a` from `buf` (`len` bytes, at least
 * pl_pccc_addr_bytes(a)). Returns 0 or PL_EINVAL (i out of range, buffer too short). */
int pl_pccc_value_get(const pl_pccc_addr_t *a, const uint8_t *buf, size_t len, uint32_t i,
                      pl_pccc_value_t *v);

/* Encodes `v` (v->kind must be a->kind) as element `i` into `buf`. Bits change only their own
 * bit (read the word first); strings zero-fill past their length. Returns 0, PL_EINVAL, or
 * PL_ERANGE (int16 value out of range, string longer than 82). */
int pl_pccc_value_put(const pl_pccc_addr_t *a, uint8_t *buf, size_t len, uint32_t i,
                      const pl_pccc_value_t *v);

/* Formats a value for people: integers in decimal, floats "%.9g", timers
 * "EN=1 TT=0 DN=1 PRE=100 ACC=5" (counters CU CD DN OV UN PRE ACC, controls EN EU DN EM ER UL
 * IN FD LEN POS), strings and ASCII as their text with '\\' and non-printable bytes escaped
 * as \\ and \xNN. Returns bytes written (NUL-terminated) or PL_ENOBUFS. */
int pl_pccc_value_format(const pl_pccc_value_t *v, char *buf, size_t cap);

/* Parses text s[0..n) for element `i` of `a` and puts it into `buf` (as pl_pccc_value_put).
 * Integers decimal or 0x hex, range-checked; floats finite; bits 0/1; structures "KEY=value"
 * pairs separated by blanks or commas, any subset (others keep their bytes); strings up to 82
 * characters after unescaping; ASCII exactly 1 or 2 characters. Returns 0 or PL_EVALUE with
 * `err` (may be NULL) naming the value and what is accepted; PL_EINVAL for bad arguments. */
int pl_pccc_value_parse(const pl_pccc_addr_t *a, uint8_t *buf, size_t len, uint32_t i,
                        const char *s, size_t n, pl_status_t *err);

/* ------------------------------------------------------------------ request sizing */

/* Conservative data bytes per request for a processor family (sources in pccc_addr.c):
 * SLC_SMALL 82, SLC500 234, MICROLOGIX 234, PLC5 220, LOGIX 234, UNKNOWN 82. */
size_t pl_pccc_max_bytes(pl_pccc_proc_t proc);

/* One request of a split address. */
typedef struct {
    uint16_t element; /* first element (I/O: the slot, unchanged) */
    uint16_t sub;     /* sub-element (I/O: first word) */
    uint32_t first;   /* index of the first unit (element; word for bits) in the address */
    uint32_t units;   /* units in this request */
    uint32_t offset;  /* byte offset of this request's data in the whole address's data */
    uint32_t bytes;   /* data bytes of this request */
} pl_pccc_chunk_t;

/* Splits `a` into requests of at most `max_bytes` data bytes each, cut at element (bits:
 * word) boundaries. Writes up to `cap` chunks to `out` and returns how many were needed
 * (> cap means `out` was too small: nothing past cap is written), or PL_ERANGE when one
 * element is larger than `max_bytes` (a string on an SLC 5/01), PL_EINVAL for bad arguments.
 * Sub-elements and bits of structures are never split (count 1). */
int pl_pccc_addr_split(const pl_pccc_addr_t *a, size_t max_bytes, pl_pccc_chunk_t *out, size_t cap);

/* Chunk `k` of the same split without computing the others: returns what
 * pl_pccc_addr_split(a, max_bytes, ...) returns (the number of chunks, or its error) and,
 * when k is below that number and `out` is not NULL, fills *out with exactly the chunk that
 * pl_pccc_addr_split would write at out[k]. O(1): a request can ask for its chunks one at a
 * time. */
int pl_pccc_addr_chunk(const pl_pccc_addr_t *a, size_t max_bytes, uint32_t k, pl_pccc_chunk_t *out);

#endif
