/* SPDX-License-Identifier: MIT */
/*
 * Modbus data addresses and the values they name (the command-line grammar, reused by the
 * engine's planner).
 *
 *   hr<N>  holding register     ir<N>  input register      (16-bit registers)
 *   co<N>  coil                 di<N>  discrete input      (single bits)
 * N is the 0-based protocol address 0..65535 (decimal, or hex with 0x), as sent on the
 * wire. Modicon references name the same things 1-based, the first digit giving the table:
 *   0xxxx / 0xxxxx  coils             1xxxx / 1xxxxx  discrete inputs
 *   3xxxx / 3xxxxx  input registers   4xxxx / 4xxxxx  holding registers
 * 5 digits reach offset 9999, 6 digits offset 65536: 40001 and 400001 are hr0, 465536 is
 * hr65535. With PL_MODBUS_ADDR_ZERO_BASED the offset of a reference is taken as the protocol
 * address itself (40000 is hr0, 40001 is hr1), as devices documented that way need.
 * After the register or reference, in this order:
 *   /<bit>     bit 0..15 of a register (hr, ir only; bit 0 is the least significant)
 *   :<type>    u16 (default) i16 u32 i32 f32 u64 i64 f64 (register tables only), or
 *              str<N>: N bytes (1..250), two per register
 *   ,<count>   `count` consecutive elements (default 1); bits of a register spill into the
 *              following registers (hr10/15,2 is bit 15 of hr10 and bit 0 of hr11)
 * Letters are case-insensitive. pl_modbus_addr_format writes the canonical form (hr<N>,
 * type only when not u16, count only when above 1), which parses back to the same address.
 *
 * Values of 32 and 64 bits span registers in one of four byte orders. Naming the value's
 * bytes from the most significant, A B C D (E F G H for 64 bits), and registers as sent
 * (big-endian, first register first):
 *   ABCD  AB CD          (AB CD EF GH)   big-endian, the Modbus convention
 *   CDAB  CD AB          (GH EF CD AB)   registers swapped, bytes in each as sent
 *   BADC  BA DC          (BA DC FE HG)   bytes swapped in each register
 *   DCBA  DC BA          (HG FE DC BA)   little-endian
 * Strings: the first character is in the high byte of the first register (ABCD, CDAB), or
 * in its low byte (BADC, DCBA, the byte-swapping orders); registers always go first to last.
 * A string shorter than its field is padded with NUL bytes; reading stops at the first NUL.
 *
 * Pure code: no I/O, no allocation.
 */
#ifndef PLCLINE_PROTO_MODBUS_CODEC_MODBUS_ADDR_H
#define PLCLINE_PROTO_MODBUS_CODEC_MODBUS_ADDR_H

#include <stddef.h>
#include <stdint.h>

#include "plcline/log.h"

/* The four tables of the Modbus data model (spec 4.3). */
typedef enum {
    PL_MODBUS_COILS = 0, /* co, 0xxxx: read/write bits */
    PL_MODBUS_DISCRETE,  /* di, 1xxxx: read-only bits */
    PL_MODBUS_INPUT,     /* ir, 3xxxx: read-only registers */
    PL_MODBUS_HOLDING,   /* hr, 4xxxx: read/write registers */
} pl_modbus_table_t;

/* What one element is. */
typedef enum {
    PL_MODBUS_T_BIT = 0, /* a coil, a discrete input, or hr<N>/<bit> */
    PL_MODBUS_T_U16,
    PL_MODBUS_T_I16,
    PL_MODBUS_T_U32,
    PL_MODBUS_T_I32,
    PL_MODBUS_T_F32,
    PL_MODBUS_T_U64,
    PL_MODBUS_T_I64,
    PL_MODBUS_T_F64,
    PL_MODBUS_T_STR,
} pl_modbus_type_t;

typedef enum {
    PL_MODBUS_ABCD = 0,
    PL_MODBUS_CDAB,
    PL_MODBUS_BADC,
    PL_MODBUS_DCBA,
} pl_modbus_order_t;

#define PL_MODBUS_ADDR_ZERO_BASED 0x1u /* pl_modbus_addr_parse flag, see above */
#define PL_MODBUS_ADDR_MAX        65535u
#define PL_MODBUS_ADDR_MAX_COUNT  65536u
#define PL_MODBUS_STR_MAX         250u /* bytes: 125 registers, one read */
#define PL_MODBUS_ADDR_TEXT_MAX   32u  /* longest canonical form with its NUL */

typedef struct {
    pl_modbus_table_t table;
    pl_modbus_type_t type;
    uint16_t addr;    /* 0-based protocol address of the first register or bit */
    int8_t bit;       /* 0..15 for a bit of a register, else -1 */
    uint16_t str_len; /* PL_MODBUS_T_STR: bytes */
    uint32_t count;   /* elements, >= 1 */
} pl_modbus_addr_t;

/* Parses NUL-terminated `s`; `flags` is 0 or PL_MODBUS_ADDR_ZERO_BASED. Returns 0 or
 * PL_EADDR with `err` (may be NULL) showing where the address is wrong, e.g.
 * "'hr12x': unexpected 'x' at column 5", "'hr65535:u32': ends past register 65535". On
 * error `a` is left alone. */
int pl_modbus_addr_parse(pl_modbus_addr_t *a, const char *s, unsigned flags, pl_status_t *err);

/* Writes the canonical form of `a` (NUL-terminated). Returns its length or PL_ENOBUFS
 * (PL_MODBUS_ADDR_TEXT_MAX is always enough). */
int pl_modbus_addr_format(const pl_modbus_addr_t *a, char *buf, size_t cap);

/* --- planning --- */

/* "co", "di", "ir", "hr". */
const char *pl_modbus_table_name(pl_modbus_table_t t);
/* 1 for coils and discrete inputs (units are bits), 0 for registers. */
int pl_modbus_table_bits(pl_modbus_table_t t);
/* 1 for coils and holding registers. */
int pl_modbus_table_writable(pl_modbus_table_t t);
/* The read function code of a table: 1, 2, 4, 3. */
uint8_t pl_modbus_table_read_fc(pl_modbus_table_t t);
/* The write function code for `units` consecutive units: 5 or 15 (coils), 6 or 16 (holding
 * registers); 0 for read-only tables or units 0. */
uint8_t pl_modbus_table_write_fc(pl_modbus_table_t t, uint32_t units);
/* Units one read / one write may carry in this table by the spec (2000/125 read,
 * 1968/123 write; write 0 for read-only tables). */
uint32_t pl_modbus_table_max_read(pl_modbus_table_t t);
uint32_t pl_modbus_table_max_write(pl_modbus_table_t t);

/* Units (registers, or bits of a bit table) one element takes: 1 for bits, u16, i16 and
 * bits of registers; 2 for 32-bit; 4 for 64-bit; (str_len + 1) / 2 for strings. */
uint32_t pl_modbus_addr_elem_units(const pl_modbus_addr_t *a);
/* Units the whole address covers from a->addr (a bit address with a count covers the
 * registers its bits fall in). */
uint32_t pl_modbus_addr_units(const pl_modbus_addr_t *a);

/* --- byte orders --- */

/* Parses "ABCD", "CDAB", "BADC", "DCBA" (case-insensitive; `len` bytes). 0 or PL_EVALUE. */
int pl_modbus_order_parse(const char *s, size_t len, pl_modbus_order_t *out);
const char *pl_modbus_order_name(pl_modbus_order_t o);

/* 32/64-bit values from/to registers as they travel (`regs`: 4 or 8 bytes). */
uint32_t pl_modbus_get32(const uint8_t *regs, pl_modbus_order_t o);
void pl_modbus_put32(uint8_t *regs, uint32_t v, pl_modbus_order_t o);
uint64_t pl_modbus_get64(const uint8_t *regs, pl_modbus_order_t o);
void pl_modbus_put64(uint8_t *regs, uint64_t v, pl_modbus_order_t o);

/* --- values --- */

typedef struct {
    pl_modbus_type_t type;
    union {
        uint64_t u; /* BIT, U16, U32, U64 */
        int64_t i;  /* I16, I32, I64 */
        float f32;
        double f64;
    } v;
    char s[PL_MODBUS_STR_MAX + 1]; /* STR: up to the first NUL, NUL-terminated */
    size_t s_len;
} pl_modbus_value_t;

/* Decodes element `i` of `a` from `data`, `len` bytes as they travel: for registers the
 * pl_modbus_addr_units(a) registers read at a->addr (big-endian), for bit tables the packed
 * bits (LSB first). Returns 0, or PL_ERANGE when `data` is too short for element `i`. */
int pl_modbus_value_get(const pl_modbus_addr_t *a, const uint8_t *data, size_t len, uint32_t i,
                        pl_modbus_order_t o, pl_modbus_value_t *out);

/* Parses text `s` (`n` bytes) as a value of a's type (range-checked: u16 0..65535, i16
 * -32768..32767, u32, i32, u64, i64 their ranges, integers also as 0x hex; f32/f64 any
 * finite number within range; bit 0 or 1; str at most str_len bytes) and stores element `i`
 * into `data` (as pl_modbus_value_get reads it). For a bit of a register or of a bit table
 * only that bit changes (callers read the register first, or use FC 22). Returns 0,
 * PL_ERANGE when `data` is too short, or PL_EVALUE with `err` (may be NULL) naming the
 * value and the accepted range. */
int pl_modbus_value_put(const pl_modbus_addr_t *a, uint8_t *data, size_t len, uint32_t i,
                        pl_modbus_order_t o, const char *s, size_t n, pl_status_t *err);

/* Formats a value for people: decimal integers, f32 "%.9g", f64 "%.17g" (both round-trip),
 * strings as they are. Returns bytes written (NUL-terminated) or PL_ENOBUFS. */
int pl_modbus_value_format(const pl_modbus_value_t *v, char *buf, size_t cap);

#endif
