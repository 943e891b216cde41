/* SPDX-License-Identifier: MIT */
/*
 * PCCC codec: the payloads of the PCCC object (CIP class 0x67, instance 1; seed 001) and the
 * PCCC messages they carry (Rockwell "DF1 Protocol and Command Set Reference Manual",
 * publication 1770-6.5.16, chapters 6-7 and 13).
 *
 * Service wrappers (seed 001), the same layout in request and reply:
 *   0x4B Execute PCCC   requestor ID: length u8 (7, counting itself), vendor u16, serial u32
 *   0x4C Execute DH+    DLink u16, DSta u8, DUser u8, SLink u16, SSta u8, SUser u8
 *   0x4D local PCCC     nothing: the PCCC message follows at once
 *
 * PCCC messages (all multi-byte fields little-endian):
 *   request  CMD u8, STS u8 (0), TNS u16, FNC u8, fields...
 *   reply    CMD|0x40, STS, TNS, [EXT STS when STS == 0xF0], data...
 * A PCCC message has no length of its own: its end is the end of the CIP payload, so every
 * decoder here takes the exact payload length and checks every byte it reads against it.
 *
 * Commands (CMD 0x0F unless noted):
 *   FNC 0xA2 protected typed logical read, three address fields (SLC 500 / MicroLogix)
 *   FNC 0xAA protected typed logical write, three address fields
 *   FNC 0xAB protected typed logical masked write (read-modify-write), three address fields
 *   FNC 0x68 PLC-5 typed read      FNC 0x67 PLC-5 typed write
 *   FNC 0x01 word range read       FNC 0x00 word range write
 *   CMD 0x06 FNC 0x03 diagnostic status
 * Three-address-field numbers (file, element, sub-element) and PLC-5 address levels above 254
 * are written as 0xFF followed by the value as u16 (1770-6.5.16, p. 7-17 and p. 13-11).
 *
 * Remote status (STS, EXT STS) is returned as raw numbers with names (pl_pccc_sts_name,
 * pl_pccc_ext_sts_name); it is never turned into a local PL_E* code. Local PL_EPCCC_* codes
 * mean the bytes themselves are wrong.
 *
 * Pure code: no I/O, no clock, no allocation. Decoders return views into the input.
 */
#ifndef PLCLINE_CODEC_PCCC_H
#define PLCLINE_CODEC_PCCC_H

#include <stddef.h>
#include <stdint.h>

#include "plcline/log.h"

/* --- the PCCC object (seed 001) --- */
#define PL_PCCC_CLASS       0x67u
#define PL_PCCC_INSTANCE    1u
#define PL_PCCC_SVC_EXECUTE 0x4Bu /* Execute PCCC, requestor ID header */
#define PL_PCCC_SVC_DHP     0x4Cu /* Execute DH+ ("DH+ like"), 8-byte link/node header */
#define PL_PCCC_SVC_LOCAL   0x4Du /* local PCCC, no header */

#define PL_PCCC_REQUESTOR_LEN 7u /* length byte + vendor u16 + serial u32 */
#define PL_PCCC_DHP_LEN       8u

/* --- PCCC command and function codes (1770-6.5.16 ch. 7) --- */
#define PL_PCCC_CMD_TYPED      0x0Fu /* typed commands (FNC selects) */
#define PL_PCCC_CMD_DIAG       0x06u /* diagnostic commands (FNC selects) */
#define PL_PCCC_CMD_REPLY      0x40u /* reply CMD = request CMD | 0x40 */
#define PL_PCCC_FNC_SLC_READ   0xA2u
#define PL_PCCC_FNC_SLC_WRITE  0xAAu
#define PL_PCCC_FNC_SLC_MASKED 0xABu
#define PL_PCCC_FNC_PLC5_READ  0x68u
#define PL_PCCC_FNC_PLC5_WRITE 0x67u
#define PL_PCCC_FNC_WORD_READ  0x01u
#define PL_PCCC_FNC_WORD_WRITE 0x00u
#define PL_PCCC_FNC_DIAG_STS   0x03u

#define PL_PCCC_REQ_HEADER   5u    /* CMD, STS, TNS, FNC */
#define PL_PCCC_REPLY_HEADER 4u    /* CMD, STS, TNS */
#define PL_PCCC_FIELD_ESCAPE 0xFFu /* a field or level >= 255 follows as u16 */

/* --- STS values (1770-6.5.16 ch. 8); local errors in the low nibble, remote in the high --- */
#define PL_PCCC_STS_OK          0x00u
#define PL_PCCC_STS_ILLEGAL_CMD 0x10u /* illegal command or format */
#define PL_PCCC_STS_ADDRESSING  0x50u /* addressing problem or memory protect rungs */
#define PL_PCCC_STS_EXT         0xF0u /* error code in the EXT STS byte */
#define PL_PCCC_STS_LOCAL_MASK  0x0Fu
#define PL_PCCC_STS_REMOTE_MASK 0xF0u

/* --- SLC / MicroLogix data file types (1770-6.5.16 p. 7-17; 0x91 long from RSLogix 500) --- */
#define PL_PCCC_FT_OUTPUT      0x82u
#define PL_PCCC_FT_INPUT       0x83u
#define PL_PCCC_FT_STATUS      0x84u
#define PL_PCCC_FT_BIT         0x85u
#define PL_PCCC_FT_TIMER       0x86u
#define PL_PCCC_FT_COUNTER     0x87u
#define PL_PCCC_FT_CONTROL     0x88u
#define PL_PCCC_FT_INTEGER     0x89u
#define PL_PCCC_FT_FLOAT       0x8Au
#define PL_PCCC_FT_OUTPUT_SLOT 0x8Bu /* output, logical by slot (element = slot) */
#define PL_PCCC_FT_INPUT_SLOT  0x8Cu /* input, logical by slot */
#define PL_PCCC_FT_STRING      0x8Du
#define PL_PCCC_FT_ASCII       0x8Eu
#define PL_PCCC_FT_BCD         0x8Fu
#define PL_PCCC_FT_LONG        0x91u

/* --- PLC-5 type/data parameter data type IDs (1770-6.5.16 p. 7-29) --- */
#define PL_PCCC_TD_BIT        1u
#define PL_PCCC_TD_BIT_STRING 2u
#define PL_PCCC_TD_BYTE_STR   3u
#define PL_PCCC_TD_INTEGER    4u
#define PL_PCCC_TD_TIMER      5u
#define PL_PCCC_TD_COUNTER    6u
#define PL_PCCC_TD_CONTROL    7u
#define PL_PCCC_TD_FLOAT      8u
#define PL_PCCC_TD_ARRAY      9u
#define PL_PCCC_TD_ADDRESS    15u
#define PL_PCCC_TD_BCD        16u

/* ------------------------------------------------------------------ service wrappers */

typedef struct {
    uint16_t dst_link; /* DLink */
    uint8_t dst_node;  /* DSta */
    uint8_t dst_user;  /* DUser (control byte, 0) */
    uint16_t src_link; /* SLink */
    uint8_t src_node;  /* SSta */
    uint8_t src_user;  /* SUser (control byte, 0) */
} pl_pccc_dhp_t;

typedef struct {
    uint8_t service; /* PL_PCCC_SVC_* */
    /* 0x4B: the requestor ID. `length` counts itself; the CIP PCCC object allows more than
     * 7 (product-specific bytes): those are `extra`, a view of length - 7 bytes. */
    uint8_t length;
    uint16_t vendor;
    uint32_t serial;
    const uint8_t *extra;
    size_t extra_len;
    pl_pccc_dhp_t dhp;   /* 0x4C */
    const uint8_t *pccc; /* the PCCC message (request or reply) */
    size_t pccc_len;
} pl_pccc_wrap_t;

/* Decodes the payload of PCCC object service `service` (request data of the CIP request, or
 * reply data of the CIP reply: both have the same layout), `len` bytes exactly. Returns 0 and
 * fills `out` (pccc/pccc_len a view of the PCCC message, which may be empty: the caller's
 * PCCC decoder reports that) or:
 *   PL_ECIP_SERVICE   `service` is not 0x4B, 0x4C or 0x4D
 *   PL_EPCCC_SHORT    the header runs past `len`
 *   PL_EPCCC_HEADER   a requestor ID length below 7
 * `st` (may be NULL) gets the detail. */
int pl_pccc_wrap_decode(uint8_t service, const uint8_t *buf, size_t len, pl_pccc_wrap_t *out,
                        pl_status_t *st);

/* Encodes the header of `w` (per w->service; 0x4B writes w->length, which must be 7 plus
 * w->extra_len, with w->extra) followed by w->pccc (w->pccc_len bytes; may be NULL when 0).
 * Returns bytes written, PL_ENOBUFS, or PL_EINVAL (unknown service, bad requestor length). */
int pl_pccc_wrap_encode(uint8_t *buf, size_t cap, const pl_pccc_wrap_t *w);

/* Header bytes of `service` for a requestor ID of 7 bytes: 7, 8, 0; PL_EINVAL if unknown. */
int pl_pccc_wrap_header_len(uint8_t service);

/* ------------------------------------------------------------------ PLC-5 addresses */

#define PL_PCCC_LEVELS_MAX     7u  /* mask bits 0..6; 0xFF would announce a mask word */
#define PL_PCCC_ASCII_ADDR_MAX 80u /* longest logical ASCII address text accepted */

/* A PLC-5 system address (1770-6.5.16 p. 13-11). Binary: a mask byte whose bit n says
 * level n+1 is present, then the present levels, each a byte or 0xFF + u16. Absent levels
 * are 0 (the manual: "the default is always 0"; level 1 is the data table area, level 2 the
 * file, 3 the element, 4 the sub-element). ASCII: 0x00, then text such as "$N7:0", then 0x00
 * (the 1785-KE manual's line monitor example). */
typedef struct {
    int ascii;                          /* 1: logical ASCII form */
    uint8_t mask;                       /* binary: which levels are encoded */
    uint8_t nlevels;                    /* binary: highest level present (1..7) */
    uint16_t level[PL_PCCC_LEVELS_MAX]; /* binary: value of levels 1..nlevels */
    const uint8_t *text;                /* ASCII: the text between the NULs (a view) */
    size_t text_len;
} pl_pccc_sysaddr_t;

/* Decodes a system address at buf[0..len). Returns bytes used (> 0) or PL_EPCCC_SHORT,
 * PL_EPCCC_ADDRESS (mask 0 or 0xFF or above 0x7F, ASCII text empty or too long),
 * PL_EPCCC_FIELD (a 0xFF escape holding a value below 255). */
int pl_pccc_sysaddr_decode(const uint8_t *buf, size_t len, pl_pccc_sysaddr_t *out, pl_status_t *st);

/* Encodes `a` (binary: only levels whose mask bit is set; values >= 255 escaped). Returns
 * bytes written, PL_ENOBUFS or PL_EINVAL (mask 0 or above 0x7F, bad text). */
int pl_pccc_sysaddr_encode(uint8_t *buf, size_t cap, const pl_pccc_sysaddr_t *a);

/* Sets `a` to the binary address data table / file / element [/ sub-element]: mask 0x06 or
 * 0x0E (level 1, the data table, left to its default 0), as the manual's B3:300 example. */
void pl_pccc_sysaddr_set(pl_pccc_sysaddr_t *a, uint16_t file, uint16_t element, int has_sub,
                         uint16_t sub);

/* ------------------------------------------------------------------ PLC-5 typed data */

/* One type/data parameter (1770-6.5.16 p. 7-29..7-36): flag byte, bit 7 set = ID in the
 * next (bits 6..4) bytes else ID in bits 6..4; bit 3 set = size in the next (bits 2..0)
 * bytes else size in bits 2..0. Extra bytes least significant first; all equivalent
 * spellings are accepted (the manual requires it), values up to 32 bits. */
typedef struct {
    uint32_t id;
    uint32_t size;
} pl_pccc_td_t;

/* Returns bytes used or PL_EPCCC_SHORT / PL_EPCCC_TYPEDATA (more than 4 value bytes holding
 * a non-zero high byte, or 0 extension bytes announced). */
int pl_pccc_td_decode(const uint8_t *buf, size_t len, pl_pccc_td_t *out, pl_status_t *st);

/* Encodes the shortest spelling. Returns bytes written (1..9) or PL_ENOBUFS. */
int pl_pccc_td_encode(uint8_t *buf, size_t cap, uint32_t id, uint32_t size);

/* Typed data as carried by PLC-5 typed write requests and typed read replies: one element
 * (a type/data parameter, then `size` data bytes) or an array (ID 9, size = bytes that
 * follow, which are a second parameter naming the element type and size, then the data;
 * PLC-5/VME manual 1785-6.5.9, "Array Example"). */
typedef struct {
    int array;          /* 1: wrapped in an array descriptor */
    uint32_t type;      /* element data type ID (PL_PCCC_TD_*) */
    uint32_t elem_size; /* bytes per element */
    const uint8_t *data;
    size_t data_len; /* a multiple of elem_size (0 allowed only with elem_size 0) */
} pl_pccc_typed_t;

/* Decodes typed data filling exactly buf[0..len). Returns 0 or PL_EPCCC_SHORT,
 * PL_EPCCC_TYPEDATA (sizes disagree with the bytes, data not a whole number of elements). */
int pl_pccc_typed_decode(const uint8_t *buf, size_t len, pl_pccc_typed_t *out, pl_status_t *st);

/* Encodes typed data: the descriptor(s) then `t->data`. Returns bytes written, PL_ENOBUFS or
 * PL_EINVAL (array with elem_size 0, data not a whole number of elements, a single element
 * whose data_len differs from elem_size). */
int pl_pccc_typed_encode(uint8_t *buf, size_t cap, const pl_pccc_typed_t *t);

/* ------------------------------------------------------------------ requests */

typedef enum {
    PL_PCCC_OP_UNKNOWN = 0,
    PL_PCCC_OP_SLC_READ,   /* 0x0F/0xA2 */
    PL_PCCC_OP_SLC_WRITE,  /* 0x0F/0xAA */
    PL_PCCC_OP_SLC_MASKED, /* 0x0F/0xAB */
    PL_PCCC_OP_PLC5_READ,  /* 0x0F/0x68 */
    PL_PCCC_OP_PLC5_WRITE, /* 0x0F/0x67 */
    PL_PCCC_OP_WORD_READ,  /* 0x0F/0x01 */
    PL_PCCC_OP_WORD_WRITE, /* 0x0F/0x00 */
    PL_PCCC_OP_DIAG_STATUS /* 0x06/0x03 */
} pl_pccc_op_t;

/* The three address fields of the SLC commands (byte size, file, type, element, sub). */
typedef struct {
    uint8_t size; /* data bytes to read or write */
    uint16_t file;
    uint8_t type; /* PL_PCCC_FT_* */
    uint16_t element;
    uint16_t sub;
} pl_pccc_slc_addr_t;

typedef struct {
    pl_pccc_op_t op;
    uint8_t cmd;
    uint8_t sts; /* 0 in requests */
    uint16_t tns;
    uint8_t fnc;
    pl_pccc_slc_addr_t slc; /* SLC_READ, SLC_WRITE, SLC_MASKED */
    uint16_t packet_offset; /* PLC5_READ/WRITE, WORD_READ/WRITE */
    uint16_t total_trans;   /* elements (typed) or words (word range) in the transaction */
    pl_pccc_sysaddr_t addr; /* PLC5_*, WORD_* */
    uint16_t count;         /* PLC5_READ: elements (u16); WORD_READ: bytes (u8) */
    pl_pccc_typed_t typed;  /* PLC5_WRITE */
    const uint8_t *mask;    /* SLC_MASKED: slc.size bytes of mask */
    const uint8_t *data;    /* SLC_WRITE, SLC_MASKED: slc.size bytes; WORD_WRITE: all */
    size_t data_len;
} pl_pccc_request_t;

/* Decodes a PCCC request filling exactly buf[0..len). Returns 0 or:
 *   PL_EPCCC_SHORT    truncated (message, 0xFF escape, address or data)
 *   PL_EPCCC_COMMAND  CMD/FNC not one of the above; cmd, sts, tns and fnc are filled in (as far
 *                     as present) so a server can answer with STS 0x10 (illegal command)
 *   PL_EPCCC_FORMAT   STS not 0, bytes after the last field, data length not what the size
 *                     field says, word range write data of odd length
 *   PL_EPCCC_FIELD    a 0xFF escape holding a value below 255
 *   PL_EPCCC_ADDRESS, PL_EPCCC_TYPEDATA   from the PLC-5 address or typed data
 * Whenever at least 4 bytes are present, req->cmd, sts and tns are set, even on error. */
int pl_pccc_request_decode(const uint8_t *buf, size_t len, pl_pccc_request_t *req, pl_status_t *st);

/* Encodes `req` by req->op (cmd and fnc are taken from op; req->sts is written as given).
 * Returns bytes written, PL_ENOBUFS, or PL_EINVAL (unknown op, data_len disagreeing with
 * slc.size, odd word range write data, count above 255 for WORD_READ, bad address). */
int pl_pccc_request_encode(uint8_t *buf, size_t cap, const pl_pccc_request_t *req);

/* Fills `req` for op with the given TNS, everything else 0 (ready for the caller's fields). */
void pl_pccc_request_init(pl_pccc_request_t *req, pl_pccc_op_t op, uint16_t tns);

/* ------------------------------------------------------------------ replies */

typedef struct {
    uint8_t cmd; /* request CMD | 0x40 */
    uint8_t sts;
    uint16_t tns;
    int has_ext_sts; /* STS == 0xF0 */
    uint8_t ext_sts;
    const uint8_t *data; /* what follows (read data, typed data, diagnostic status) */
    size_t data_len;
} pl_pccc_reply_t;

/* Decodes a PCCC reply filling exactly buf[0..len). A reply carrying a remote error
 * (STS != 0) decodes successfully: look at sts/ext_sts. Returns 0 or:
 *   PL_EPCCC_SHORT   under 4 bytes, or STS 0xF0 without its EXT STS byte
 *   PL_EPCCC_FORMAT  CMD without the reply bit 0x40; STS with bits in both nibbles
 *                    (a local and a remote error at once, undefined); EXT STS 0 */
int pl_pccc_reply_decode(const uint8_t *buf, size_t len, pl_pccc_reply_t *rep, pl_status_t *st);

/* Encodes a reply to a request with command `req_cmd`: CMD req_cmd|0x40, `sts`, `tns`, EXT
 * STS `ext_sts` when sts == 0xF0, then `data` (may be NULL when len 0). Returns bytes
 * written or PL_ENOBUFS. */
int pl_pccc_reply_encode(uint8_t *buf, size_t cap, uint8_t req_cmd, uint16_t tns, uint8_t sts,
                         uint8_t ext_sts, const uint8_t *data, size_t data_len);

/* 0 if `rep` answers a request with `req_cmd` and `tns`, else PL_EPCCC_MISMATCH. */
int pl_pccc_reply_match(const pl_pccc_reply_t *rep, uint8_t req_cmd, uint16_t tns, pl_status_t *st);

/* Message of an STS byte, e.g. 0x10 "illegal command or format"; 0 "success"; unknown
 * values "unknown status". Never NULL. Only the nibble that is set is looked at. */
const char *pl_pccc_sts_name(uint8_t sts);

/* Message of an EXT STS byte (STS 0xF0), e.g. 0x06 "address doesn't point to something
 * usable"; "unknown extended status" otherwise. Never NULL. */
const char *pl_pccc_ext_sts_name(uint8_t ext_sts);

/* ------------------------------------------------------------------ diagnostic status */

/* Processor families, for limits (pl_pccc_max_bytes in pccc_addr.h) and identification. */
typedef enum {
    PL_PCCC_PROC_UNKNOWN = 0,
    PL_PCCC_PROC_SLC_SMALL,  /* SLC 500 fixed, 5/01, 5/02, MicroLogix 1000 */
    PL_PCCC_PROC_SLC500,     /* SLC 5/03, 5/04, 5/05 */
    PL_PCCC_PROC_MICROLOGIX, /* MicroLogix 1100, 1200, 1400, 1500 */
    PL_PCCC_PROC_PLC5,
    PL_PCCC_PROC_LOGIX /* ControlLogix/CompactLogix answering mapped PCCC */
} pl_pccc_proc_t;

#define PL_PCCC_CATALOG_LEN 11u /* bulletin number/name bytes 6..16 */

/* The diagnostic status reply data (1770-6.5.16 ch. 10). Its layout depends on the device:
 *   SLC 500 / MicroLogix (byte 2 = 0xEE "type extender"): 3 extended interface type,
 *     4 extended processor type, 5 series (bits 5-7) / revision (bits 0-4), 6-16 bulletin
 *     number/name in ASCII, then product-specific bytes (major error word, mode word, ...).
 *   PLC-5 (byte 2 low nibble 0xB = PLC-5, high nibble 0xE = expansion byte follows):
 *     3 processor expansion byte (e.g. 0x4B PLC-5/40E), 4-7 user memory size, 8 series /
 *     revision, 9 DH+ station number.
 * Byte numbers are the manual's (1-based). Identification beyond the manual: the catalog
 * text of SLC 5/05 ("1747-L55x") and MicroLogix ("1761/1762/1763/1764/1766-...") is what
 * public drivers (pycomm3's get_processor_type reads bytes 6..16) rely on; it is not in the
 * 1996 manual, which predates those processors. Treat `proc` and `model` as best effort. */
typedef struct {
    uint8_t mode;          /* byte 1 */
    uint8_t type;          /* byte 2 */
    uint8_t ext_interface; /* byte 3 (SLC/MicroLogix) */
    uint8_t ext_processor; /* byte 4 (SLC/MicroLogix) or byte 3 (PLC-5 expansion byte) */
    uint8_t series;        /* 0 = A, 1 = B, ... */
    uint8_t revision;      /* 0 = release 1 / revision A, ... */
    uint32_t memory;       /* PLC-5: user memory size (bytes 4-7); 0 otherwise */
    uint8_t station;       /* PLC-5: DH+ station (byte 9); 0 otherwise */
    char catalog[PL_PCCC_CATALOG_LEN + 1]; /* bulletin name, printable, blanks trimmed */
    pl_pccc_proc_t proc;
    const char *model;  /* "SLC 5/05", "MicroLogix 1400", "PLC-5", ...; never NULL */
    const uint8_t *raw; /* the whole reply data */
    size_t raw_len;
} pl_pccc_diag_t;

/* Decodes diagnostic status reply data (pl_pccc_reply_t.data). Returns 0 or PL_EPCCC_SHORT
 * (fewer bytes than the layout announced by byte 2 needs: 16 for SLC/MicroLogix, 9 for
 * PLC-5, 2 otherwise). Unknown layouts decode mode and type only, proc UNKNOWN. */
int pl_pccc_diag_decode(const uint8_t *buf, size_t len, pl_pccc_diag_t *out, pl_status_t *st);

#endif
