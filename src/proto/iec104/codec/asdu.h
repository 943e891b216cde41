/* SPDX-License-Identifier: MIT */
/*
 * IEC 60870-5-101/104 ASDU codec (IEC 60870-5-101, 7.1-7.3, with the field sizes of
 * IEC 60870-5-104, 9.3): the data unit identifier, the information objects of the types
 * plcline supports, their name tables, and an encoder that fills an APDU with as many
 * objects as fit.
 *
 * An ASDU is, with the IEC 104 sizes (each configurable, see pl_iec104_params_t):
 *   octet 0      type identification
 *   octet 1      variable structure qualifier: bit 7 SQ, bits 0-6 number of objects
 *   octets 2-3   cause of transmission: octet 2 bits 0-5 cause, bit 6 P/N (negative
 *                confirmation), bit 7 T (test); octet 3 originator address
 *   octets 4-5   common address of ASDU, little-endian
 *   objects      SQ = 0: each object is an information object address (3 octets,
 *                little-endian) and its elements; SQ = 1: one address, then the elements
 *                of `count` objects at consecutive addresses
 * Each object's elements are a fixed set per type (the table in docs/iec104.md), optionally
 * followed by a CP56Time2a.
 *
 * Decoding fills fixed fields and keeps a view of the objects in the input; objects are
 * read one at a time by index, so no ASDU needs memory beyond its own bytes. Encoding
 * writes into a caller buffer. Pure code: no I/O, no clock, no allocation.
 */
#ifndef PLCLINE_PROTO_IEC104_CODEC_ASDU_H
#define PLCLINE_PROTO_IEC104_CODEC_ASDU_H

#include <stddef.h>
#include <stdint.h>

#include "proto/iec104/codec/cp56.h"

/* Type identifications (IEC 60870-5-101, 7.2.1.1; C_TS_TA_1 from IEC 60870-5-104, 8.9). */
#define PL_IEC104_M_SP_NA_1 1u  /* single-point information */
#define PL_IEC104_M_DP_NA_1 3u  /* double-point information */
#define PL_IEC104_M_ST_NA_1 5u  /* step position information */
#define PL_IEC104_M_BO_NA_1 7u  /* bitstring of 32 bit */
#define PL_IEC104_M_ME_NA_1 9u  /* measured value, normalized */
#define PL_IEC104_M_ME_NB_1 11u /* measured value, scaled */
#define PL_IEC104_M_ME_NC_1 13u /* measured value, short floating point */
#define PL_IEC104_M_IT_NA_1 15u /* integrated totals */
#define PL_IEC104_M_SP_TB_1 30u /* ... with CP56Time2a */
#define PL_IEC104_M_DP_TB_1 31u
#define PL_IEC104_M_ST_TB_1 32u
#define PL_IEC104_M_BO_TB_1 33u
#define PL_IEC104_M_ME_TD_1 34u
#define PL_IEC104_M_ME_TE_1 35u
#define PL_IEC104_M_ME_TF_1 36u
#define PL_IEC104_M_IT_TB_1 37u
#define PL_IEC104_C_SC_NA_1 45u /* single command */
#define PL_IEC104_C_DC_NA_1 46u /* double command */
#define PL_IEC104_C_RC_NA_1 47u /* regulating step command */
#define PL_IEC104_C_SE_NA_1 48u /* set point, normalized */
#define PL_IEC104_C_SE_NB_1 49u /* set point, scaled */
#define PL_IEC104_C_SE_NC_1 50u /* set point, short floating point */
#define PL_IEC104_C_BO_NA_1 51u /* bitstring of 32 bit */
#define PL_IEC104_C_SC_TA_1 58u /* ... with CP56Time2a */
#define PL_IEC104_C_DC_TA_1 59u
#define PL_IEC104_C_RC_TA_1 60u
#define PL_IEC104_C_SE_TA_1 61u
#define PL_IEC104_C_SE_TB_1 62u
#define PL_IEC104_C_SE_TC_1 63u
#define PL_IEC104_C_BO_TA_1 64u
#define PL_IEC104_M_EI_NA_1 70u  /* end of initialization */
#define PL_IEC104_C_IC_NA_1 100u /* interrogation command */
#define PL_IEC104_C_CI_NA_1 101u /* counter interrogation command */
#define PL_IEC104_C_RD_NA_1 102u /* read command */
#define PL_IEC104_C_CS_NA_1 103u /* clock synchronization command */
#define PL_IEC104_C_TS_TA_1 107u /* test command with CP56Time2a */

/* Causes of transmission (IEC 60870-5-101, 7.2.3). */
#define PL_IEC104_COT_PER          1u /* periodic, cyclic */
#define PL_IEC104_COT_BACK         2u /* background scan */
#define PL_IEC104_COT_SPONT        3u /* spontaneous */
#define PL_IEC104_COT_INIT         4u /* initialized */
#define PL_IEC104_COT_REQ          5u /* request or requested */
#define PL_IEC104_COT_ACT          6u /* activation */
#define PL_IEC104_COT_ACTCON       7u /* activation confirmation */
#define PL_IEC104_COT_DEACT        8u /* deactivation */
#define PL_IEC104_COT_DEACTCON     9u
#define PL_IEC104_COT_ACTTERM      10u /* activation termination */
#define PL_IEC104_COT_RETREM       11u /* return information, remote command */
#define PL_IEC104_COT_RETLOC       12u /* return information, local command */
#define PL_IEC104_COT_FILE         13u
#define PL_IEC104_COT_INROGEN      20u /* interrogated by station interrogation */
#define PL_IEC104_COT_INRO1        21u /* ... by group 1 interrogation; groups 1..16: 21..36 */
#define PL_IEC104_COT_REQCOGEN     37u /* requested by general counter request */
#define PL_IEC104_COT_REQCO1       38u /* ... by group 1 counter request; groups 1..4: 38..41 */
#define PL_IEC104_COT_UNKNOWN_TYPE 44u
#define PL_IEC104_COT_UNKNOWN_COT  45u
#define PL_IEC104_COT_UNKNOWN_CA   46u
#define PL_IEC104_COT_UNKNOWN_IOA  47u
#define PL_IEC104_COT_MAX          63u /* six bits */

/* Common addresses with a meaning of their own (IEC 60870-5-104, 9.3). */
#define PL_IEC104_CA_BROADCAST 0xFFFFu /* global address, two-octet CA */

/* Qualifier of interrogation (7.2.6.22): 20 station, 21..36 groups 1..16. */
#define PL_IEC104_QOI_STATION 20u
#define PL_IEC104_QOI_GROUP1  21u

/* Qualifier of counter interrogation (7.2.6.23): bits 0-5 RQT, bits 6-7 FRZ. */
#define PL_IEC104_QCC_RQT_GENERAL 5u /* 1..4 groups 1..4, 5 general */
#define PL_IEC104_QCC_FRZ_SHIFT   6u /* FRZ 0 read, 1 freeze, 2 freeze and reset, 3 reset */
#define PL_IEC104_QCC_RQT_MASK    0x3Fu

/* Qualifier of command (7.2.6.26, bits 2-6 of SCO/DCO/RCO): 0 none, 1 short pulse,
 * 2 long pulse, 3 persistent. Qualifier of set-point (7.2.6.39, bits 0-6 of QOS): 0. */
#define PL_IEC104_QU_NONE       0u
#define PL_IEC104_QU_SHORT      1u
#define PL_IEC104_QU_LONG       2u
#define PL_IEC104_QU_PERSISTENT 3u
#define PL_IEC104_QU_MAX        31u
#define PL_IEC104_QL_MAX        127u

/* Quality flags as in the quality descriptor octet (7.2.6.3): OV only in QDS; the value
 * bits of SIQ/DIQ are not quality and are never set here. */
#define PL_IEC104_Q_OV 0x01u /* overflow */
#define PL_IEC104_Q_BL 0x10u /* blocked */
#define PL_IEC104_Q_SB 0x20u /* substituted */
#define PL_IEC104_Q_NT 0x40u /* not topical */
#define PL_IEC104_Q_IV 0x80u /* invalid */

/* Double point / double command states (7.2.6.2, 7.2.6.16). */
#define PL_IEC104_DP_INTERMEDIATE  0u
#define PL_IEC104_DP_OFF           1u
#define PL_IEC104_DP_ON            2u
#define PL_IEC104_DP_INDETERMINATE 3u

#define PL_IEC104_ASDU_MAX_OBJECTS 127u /* seven bits of the VSQ */

/* Sizes of the configurable fields: IEC 60870-5-104 fixes them at COT 2, CA 2, IOA 3; peers
 * that follow IEC 60870-5-101 conventions over TCP may use fewer octets. */
typedef struct {
    uint8_t cot_size; /* 1 or 2 (no originator address with 1) */
    uint8_t ca_size;  /* 1 or 2 */
    uint8_t ioa_size; /* 1, 2 or 3 */
} pl_iec104_params_t;

#define PL_IEC104_PARAMS_DEFAULT \
    {                            \
        2u, 2u, 3u               \
    }

/* Fills `p` with the IEC 60870-5-104 sizes (2, 2, 3). */
void pl_iec104_params_default(pl_iec104_params_t *p);

/* 0, or PL_EINVAL when a size is outside its range. */
int pl_iec104_params_check(const pl_iec104_params_t *p);

/* The data unit identifier. */
typedef struct {
    uint8_t type;  /* type identification */
    uint8_t sq;    /* 1: one address, consecutive objects */
    uint8_t count; /* number of objects, 1..127 */
    uint8_t cause; /* 0..63 */
    uint8_t pn;    /* 1: negative confirmation */
    uint8_t test;  /* 1: test */
    uint8_t oa;    /* originator address; 0 when cot_size is 1 */
    uint16_t ca;   /* common address */
    /* decode only: */
    const uint8_t *objs; /* view of the information objects in the input */
    size_t objs_len;
    pl_iec104_params_t params; /* the sizes it was decoded with */
} pl_iec104_asdu_t;

/* One information object. Which members of `v` hold the value depends on the type:
 *   M_SP_*  v.state  SPI 0/1             C_SC_*  v.state SCS 0/1, qualifier QU, select
 *   M_DP_*  v.state  DPI 0..3            C_DC_*  v.state DCS 0..3, qualifier QU, select
 *   M_ST_*  v.step   VTI -64..63, transient   C_RC_*  v.state RCS 0..3, qualifier, select
 *   M_BO_*  v.bits   BSI                 C_BO_*  v.bits
 *   M_ME_NA_1, M_ME_TD_1, C_SE_NA_1, C_SE_TA_1  v.nva (normalized: value / 32768)
 *   M_ME_NB_1, M_ME_TE_1, C_SE_NB_1, C_SE_TB_1  v.sva (scaled)
 *   M_ME_NC_1, M_ME_TF_1, C_SE_NC_1, C_SE_TC_1  v.real (IEEE 754 single)
 *     set points: qualifier QL 0..127, select
 *   M_IT_*  v.counter  value, sequence number 0..31, carry, adjusted (IV goes to quality)
 *   M_EI_NA_1  qualifier COI (cause bits 0-6; bit 7 "after change of parameters")
 *   C_IC_NA_1  qualifier QOI          C_CI_NA_1  qualifier QCC
 *   C_RD_NA_1  nothing                C_CS_NA_1  time only
 *   C_TS_TA_1  v.tsc (test sequence counter) and time
 * `quality` holds the PL_IEC104_Q_* flags of the types that have a quality descriptor. */
typedef struct {
    uint32_t ioa;
    uint8_t quality;
    uint8_t qualifier;
    uint8_t select; /* commands and set points: 1 select, 0 execute */
    uint8_t has_time;
    pl_iec104_cp56_t time;
    union {
        uint8_t state;
        struct {
            int8_t value;
            uint8_t transient;
        } step;
        uint32_t bits;
        int16_t nva;
        int16_t sva;
        float real;
        struct {
            int32_t value;
            uint8_t seq;
            uint8_t carry;
            uint8_t adjusted;
        } counter;
        uint16_t tsc;
    } v;
} pl_iec104_object_t;

/* Static facts about a supported type. */
typedef struct {
    uint8_t type;
    const char *name;      /* "M_ME_NC_1" */
    uint8_t element_len;   /* octets of one object's elements, time tag included */
    uint8_t has_time;      /* a CP56Time2a ends each object */
    uint8_t single;        /* SQ must be 0 and count 1 (commands, system, M_EI_NA_1) */
    uint8_t control;       /* 1: control direction, 0: monitoring direction */
    const char *describes; /* "measured value, short floating point" */
} pl_iec104_type_info_t;

/* The facts about `type`, or NULL when plcline does not support it. */
const pl_iec104_type_info_t *pl_iec104_type_info(uint8_t type);

/* The name of `type` ("M_SP_NA_1"), or NULL when unsupported. */
const char *pl_iec104_type_name(uint8_t type);

/* The type named `name` (case-sensitive, "C_SE_NC_1"), or PL_EIEC104_TYPE. */
int pl_iec104_type_by_name(const char *name);

/* Iterates the supported types in ascending order: `*i` starts at 0; returns NULL at the
 * end. */
const pl_iec104_type_info_t *pl_iec104_type_next(size_t *i);

/* The standard's abbreviation of a cause of transmission ("spont", "actcon", "inro5",
 * "reqco2", "unknown_ioa"), or NULL for a reserved or private cause. */
const char *pl_iec104_cause_name(uint8_t cause);

/* Octets of the data unit identifier (type, VSQ, COT, CA) with these sizes. */
size_t pl_iec104_header_len(const pl_iec104_params_t *p);

/* Decodes an ASDU of exactly `len` bytes (an I-frame's asdu view). Header fields are filled
 * as far as the bytes allow even on error. Returns 0 or:
 *   PL_EINVAL           bad `params`
 *   PL_EIEC104_SHORT    fewer bytes than the header or the objects need
 *   PL_EIEC104_TYPE     a type plcline does not support
 *   PL_EIEC104_VSQ      count 0; SQ=1 or count > 1 for a single-object type; an SQ=1 run
 *                       whose last address exceeds the largest the IOA size can hold
 *   PL_EIEC104_COT      cause 0
 *   PL_EIEC104_TRAILING bytes after the last object
 * Checks run in that order (the header before the objects). Element contents are not judged
 * (a reserved bit, an out-of-range time): they are reported as sent. */
int pl_iec104_asdu_decode(const uint8_t *buf, size_t len, const pl_iec104_params_t *params,
                          pl_iec104_asdu_t *out);

/* Reads object `i` (< a->count) of a decoded ASDU. With SQ = 1 its address is the first
 * address + i. Returns 0, or PL_EINVAL when i is out of range. */
int pl_iec104_asdu_object(const pl_iec104_asdu_t *a, size_t i, pl_iec104_object_t *obj);

/* Walks the objects of a decoded ASDU in order:
 *     pl_iec104_iter_t it;
 *     pl_iec104_object_t o;
 *     pl_iec104_iter_init(&it, &asdu);
 *     while (pl_iec104_iter_next(&it, &o) > 0) ...
 * The iterator points at the ASDU (which points into the input): both must stay valid. */
typedef struct {
    const pl_iec104_asdu_t *asdu;
    size_t next;
} pl_iec104_iter_t;

void pl_iec104_iter_init(pl_iec104_iter_t *it, const pl_iec104_asdu_t *a);

/* Reads the next object into *obj. Returns 1, or 0 after the last one (or for an ASDU that
 * did not decode). */
int pl_iec104_iter_next(pl_iec104_iter_t *it, pl_iec104_object_t *obj);

/* How many objects of `type` fit in one APDU (253 octets) with these sizes and SQ, at most
 * 127; 0 for an unsupported type or bad params. A single-object type gives 1. */
size_t pl_iec104_objects_max(const pl_iec104_params_t *params, uint8_t type, int sq);

/* Encodes an ASDU with header `hdr` (type, sq, cause, pn, test, oa, ca; its count, objs and
 * params are ignored) and as many of the `n` objects in `objs` as fit into
 * min(cap, 249) octets and 127 objects (one only for single-object types). *fitted (if not
 * NULL) receives how many were encoded; encode the rest into the next ASDU. With SQ = 1 the
 * objects' addresses must be consecutive: the run stops before the first that is not.
 * Returns the ASDU length, or:
 *   PL_ENOBUFS   not even one object fits
 *   PL_EINVAL    bad params, n = 0
 *   PL_EIEC104_TYPE  unsupported type
 *   PL_ERANGE    a header field does not fit its bits (cause > 63, oa with a 1-octet COT,
 *                CA or IOA too large for its size) or an element field does not (state
 *                beyond its bits, step outside -64..63, qualifier, counter sequence > 31,
 *                a time field; see pl_iec104_cp56_encode)
 * Nothing useful is left in `buf` on error. */
int pl_iec104_asdu_encode(uint8_t *buf, size_t cap, const pl_iec104_params_t *params,
                          const pl_iec104_asdu_t *hdr, const pl_iec104_object_t *objs, size_t n,
                          size_t *fitted);

#endif
