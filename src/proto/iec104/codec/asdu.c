/* SPDX-License-Identifier: MIT */
/*
 * IEC 60870-5-101/104 ASDU codec: the type table (sizes and element layouts), the data unit
 * identifier with configurable field sizes, information objects read by index, and an
 * encoder that packs as many objects as fit into one APDU.
 *
 * It must not do I/O, read a clock, allocate, or keep state between calls. Every multi-octet
 * field is little-endian and read byte by byte, so the input may sit at any alignment.
 */
#include "proto/iec104/codec/asdu.h"
#include "proto/iec104/codec/apci.h"
#include "plcline/error.h"

#include <string.h>

/* Element layouts (IEC 60870-5-101, 7.2.6; 7.3 gives which type uses which). */
typedef enum {
    EL_SIQ,     /* single-point information with quality, 1 octet */
    EL_DIQ,     /* double-point information with quality, 1 octet */
    EL_VTI_QDS, /* value with transient state indication + QDS, 2 octets */
    EL_BSI_QDS, /* bitstring of 32 bit + QDS, 5 octets */
    EL_NVA_QDS, /* normalized value + QDS, 3 octets */
    EL_SVA_QDS, /* scaled value + QDS, 3 octets */
    EL_R32_QDS, /* short floating point + QDS, 5 octets */
    EL_BCR,     /* binary counter reading, 5 octets */
    EL_SCO,     /* single command, 1 octet */
    EL_DCO,     /* double command, 1 octet */
    EL_RCO,     /* regulating step command, 1 octet */
    EL_NVA_QOS, /* normalized set point + qualifier of set-point command, 3 octets */
    EL_SVA_QOS, /* scaled set point + QOS, 3 octets */
    EL_R32_QOS, /* short floating point set point + QOS, 5 octets */
    EL_BSI,     /* bitstring of 32 bit, 4 octets */
    EL_COI,     /* cause of initialization, 1 octet */
    EL_QOI,     /* qualifier of interrogation, 1 octet */
    EL_QCC,     /* qualifier of counter interrogation, 1 octet */
    EL_NONE,    /* read command: the address only */
    EL_TIME,    /* clock synchronization: a CP56Time2a only */
    EL_TSC      /* test sequence counter, 2 octets (then the time) */
} element_t;

typedef struct {
    pl_iec104_type_info_t info;
    element_t el;
} type_t;

#define T   1u /* has a time tag */
#define ONE 1u /* single object */
#define CTL 1u /* control direction */

/* Ascending by type id. The element lengths include the time tag where there is one. */
static const type_t types[] = {
    {{PL_IEC104_M_SP_NA_1, "M_SP_NA_1", 1, 0, 0, 0, "single-point information"}, EL_SIQ},
    {{PL_IEC104_M_DP_NA_1, "M_DP_NA_1", 1, 0, 0, 0, "double-point information"}, EL_DIQ},
    {{PL_IEC104_M_ST_NA_1, "M_ST_NA_1", 2, 0, 0, 0, "step position information"}, EL_VTI_QDS},
    {{PL_IEC104_M_BO_NA_1, "M_BO_NA_1", 5, 0, 0, 0, "bitstring of 32 bit"}, EL_BSI_QDS},
    {{PL_IEC104_M_ME_NA_1, "M_ME_NA_1", 3, 0, 0, 0, "measured value, normalized value"},
     EL_NVA_QDS},
    {{PL_IEC104_M_ME_NB_1, "M_ME_NB_1", 3, 0, 0, 0, "measured value, scaled value"}, EL_SVA_QDS},
    {{PL_IEC104_M_ME_NC_1, "M_ME_NC_1", 5, 0, 0, 0, "measured value, short floating point"},
     EL_R32_QDS},
    {{PL_IEC104_M_IT_NA_1, "M_IT_NA_1", 5, 0, 0, 0, "integrated totals"}, EL_BCR},
    {{PL_IEC104_M_SP_TB_1, "M_SP_TB_1", 8, T, 0, 0, "single-point information with time tag"},
     EL_SIQ},
    {{PL_IEC104_M_DP_TB_1, "M_DP_TB_1", 8, T, 0, 0, "double-point information with time tag"},
     EL_DIQ},
    {{PL_IEC104_M_ST_TB_1, "M_ST_TB_1", 9, T, 0, 0, "step position information with time tag"},
     EL_VTI_QDS},
    {{PL_IEC104_M_BO_TB_1, "M_BO_TB_1", 12, T, 0, 0, "bitstring of 32 bit with time tag"},
     EL_BSI_QDS},
    {{PL_IEC104_M_ME_TD_1, "M_ME_TD_1", 10, T, 0, 0, "measured value, normalized, with time tag"},
     EL_NVA_QDS},
    {{PL_IEC104_M_ME_TE_1, "M_ME_TE_1", 10, T, 0, 0, "measured value, scaled, with time tag"},
     EL_SVA_QDS},
    {{PL_IEC104_M_ME_TF_1, "M_ME_TF_1", 12, T, 0, 0,
      "measured value, short floating point, with time tag"},
     EL_R32_QDS},
    {{PL_IEC104_M_IT_TB_1, "M_IT_TB_1", 12, T, 0, 0, "integrated totals with time tag"}, EL_BCR},
    {{PL_IEC104_C_SC_NA_1, "C_SC_NA_1", 1, 0, ONE, CTL, "single command"}, EL_SCO},
    {{PL_IEC104_C_DC_NA_1, "C_DC_NA_1", 1, 0, ONE, CTL, "double command"}, EL_DCO},
    {{PL_IEC104_C_RC_NA_1, "C_RC_NA_1", 1, 0, ONE, CTL, "regulating step command"}, EL_RCO},
    {{PL_IEC104_C_SE_NA_1, "C_SE_NA_1", 3, 0, ONE, CTL, "set point command, normalized value"},
     EL_NVA_QOS},
    {{PL_IEC104_C_SE_NB_1, "C_SE_NB_1", 3, 0, ONE, CTL, "set point command, scaled value"},
     EL_SVA_QOS},
    {{PL_IEC104_C_SE_NC_1, "C_SE_NC_1", 5, 0, ONE, CTL, "set point command, short floating point"},
     EL_R32_QOS},
    {{PL_IEC104_C_BO_NA_1, "C_BO_NA_1", 4, 0, ONE, CTL, "bitstring of 32 bit command"}, EL_BSI},
    {{PL_IEC104_C_SC_TA_1, "C_SC_TA_1", 8, T, ONE, CTL, "single command with time tag"}, EL_SCO},
    {{PL_IEC104_C_DC_TA_1, "C_DC_TA_1", 8, T, ONE, CTL, "double command with time tag"}, EL_DCO},
    {{PL_IEC104_C_RC_TA_1, "C_RC_TA_1", 8, T, ONE, CTL, "regulating step command with time tag"},
     EL_RCO},
    {{PL_IEC104_C_SE_TA_1, "C_SE_TA_1", 10, T, ONE, CTL,
      "set point command, normalized, with time tag"},
     EL_NVA_QOS},
    {{PL_IEC104_C_SE_TB_1, "C_SE_TB_1", 10, T, ONE, CTL,
      "set point command, scaled, with time tag"},
     EL_SVA_QOS},
    {{PL_IEC104_C_SE_TC_1, "C_SE_TC_1", 12, T, ONE, CTL,
      "set point command, short floating point, with time tag"},
     EL_R32_QOS},
    {{PL_IEC104_C_BO_TA_1, "C_BO_TA_1", 11, T, ONE, CTL, "bitstring of 32 bit with time tag"},
     EL_BSI},
    {{PL_IEC104_M_EI_NA_1, "M_EI_NA_1", 1, 0, ONE, 0, "end of initialization"}, EL_COI},
    {{PL_IEC104_C_IC_NA_1, "C_IC_NA_1", 1, 0, ONE, CTL, "interrogation command"}, EL_QOI},
    {{PL_IEC104_C_CI_NA_1, "C_CI_NA_1", 1, 0, ONE, CTL, "counter interrogation command"}, EL_QCC},
    {{PL_IEC104_C_RD_NA_1, "C_RD_NA_1", 0, 0, ONE, CTL, "read command"}, EL_NONE},
    {{PL_IEC104_C_CS_NA_1, "C_CS_NA_1", 7, T, ONE, CTL, "clock synchronization command"}, EL_TIME},
    {{PL_IEC104_C_TS_TA_1, "C_TS_TA_1", 9, T, ONE, CTL, "test command with time tag"}, EL_TSC},
};

#undef T
#undef ONE
#undef CTL

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Bits of the data unit identifier (7.2.2, 7.2.3). */
#define VSQ_SQ      0x80u
#define VSQ_COUNT   0x7Fu
#define COT_CAUSE   0x3Fu
#define COT_PN      0x40u
#define COT_TEST    0x80u
#define SIQ_SPI     0x01u
#define DIQ_DPI     0x03u
#define SIQ_QUALITY 0xF0u /* BL SB NT IV */
#define QDS_QUALITY 0xF1u /* OV BL SB NT IV */
#define VTI_VALUE   0x7Fu
#define VTI_SIGN    0x40u
#define VTI_T       0x80u
#define BCR_SEQ     0x1Fu
#define BCR_CY      0x20u
#define BCR_CA      0x40u
#define BCR_IV      0x80u
#define CO_STATE1   0x01u /* SCS */
#define CO_STATE2   0x03u /* DCS, RCS */
#define CO_QU_SHIFT 2u
#define CO_QU_MASK  0x1Fu
#define SE_BIT      0x80u
#define QOS_QL      0x7Fu

/* ------------------------------------------------------------ tables */

static const type_t *find_type(uint8_t type)
{
    size_t i;

    for (i = 0; i < ARRAY_LEN(types); i++) {
        if (types[i].info.type == type)
            return &types[i];
    }
    return NULL;
}

const pl_iec104_type_info_t *pl_iec104_type_info(uint8_t type)
{
    const type_t *t = find_type(type);

    return t != NULL ? &t->info : NULL;
}

const char *pl_iec104_type_name(uint8_t type)
{
    const type_t *t = find_type(type);

    return t != NULL ? t->info.name : NULL;
}

int pl_iec104_type_by_name(const char *name)
{
    size_t i;

    if (name == NULL)
        return PL_EIEC104_TYPE;
    for (i = 0; i < ARRAY_LEN(types); i++) {
        if (strcmp(types[i].info.name, name) == 0)
            return (int)types[i].info.type;
    }
    return PL_EIEC104_TYPE;
}

const pl_iec104_type_info_t *pl_iec104_type_next(size_t *i)
{
    if (*i >= ARRAY_LEN(types))
        return NULL;
    return &types[(*i)++].info;
}

const char *pl_iec104_cause_name(uint8_t cause)
{
    static const char *const named[] = {
        NULL,     "per/cyc", "back",     "spont",   "init",   "req",    "act",
        "actcon", "deact",   "deactcon", "actterm", "retrem", "retloc", "file",
    };
    static const char *const inro[] = {
        "inro1", "inro2",  "inro3",  "inro4",  "inro5",  "inro6",  "inro7",  "inro8",
        "inro9", "inro10", "inro11", "inro12", "inro13", "inro14", "inro15", "inro16",
    };
    static const char *const reqco[] = {"reqco1", "reqco2", "reqco3", "reqco4"};

    if (cause < ARRAY_LEN(named))
        return named[cause];
    if (cause == PL_IEC104_COT_INROGEN)
        return "inrogen";
    if (cause >= PL_IEC104_COT_INRO1 && cause < PL_IEC104_COT_INRO1 + ARRAY_LEN(inro))
        return inro[cause - PL_IEC104_COT_INRO1];
    if (cause == PL_IEC104_COT_REQCOGEN)
        return "reqcogen";
    if (cause >= PL_IEC104_COT_REQCO1 && cause < PL_IEC104_COT_REQCO1 + ARRAY_LEN(reqco))
        return reqco[cause - PL_IEC104_COT_REQCO1];
    switch (cause) {
    case PL_IEC104_COT_UNKNOWN_TYPE:
        return "unknown_type";
    case PL_IEC104_COT_UNKNOWN_COT:
        return "unknown_cause";
    case PL_IEC104_COT_UNKNOWN_CA:
        return "unknown_ca";
    case PL_IEC104_COT_UNKNOWN_IOA:
        return "unknown_ioa";
    default:
        return NULL;
    }
}

/* ------------------------------------------------------------ parameters */

void pl_iec104_params_default(pl_iec104_params_t *p)
{
    p->cot_size = 2u;
    p->ca_size = 2u;
    p->ioa_size = 3u;
}

int pl_iec104_params_check(const pl_iec104_params_t *p)
{
    if (p == NULL || p->cot_size < 1u || p->cot_size > 2u || p->ca_size < 1u || p->ca_size > 2u ||
        p->ioa_size < 1u || p->ioa_size > 3u)
        return PL_EINVAL;
    return 0;
}

size_t pl_iec104_header_len(const pl_iec104_params_t *p)
{
    return 2u + (size_t)p->cot_size + (size_t)p->ca_size;
}

static uint32_t max_of_size(uint8_t octets)
{
    return (uint32_t)((1ull << (8u * octets)) - 1u);
}

static uint32_t get_le(const uint8_t *p, size_t n)
{
    uint32_t v = 0;
    size_t i;

    for (i = n; i > 0; i--)
        v = (v << 8) | p[i - 1u];
    return v;
}

static void put_le(uint8_t *p, uint32_t v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        p[i] = (uint8_t)(v & 0xFFu);
        v >>= 8;
    }
}

/* Octets the objects of an ASDU take. */
static size_t objects_len(const pl_iec104_params_t *p, const type_t *t, int sq, size_t count)
{
    if (sq)
        return (size_t)p->ioa_size + count * t->info.element_len;
    return count * ((size_t)p->ioa_size + t->info.element_len);
}

/* ------------------------------------------------------------ decode */

int pl_iec104_asdu_decode(const uint8_t *buf, size_t len, const pl_iec104_params_t *params,
                          pl_iec104_asdu_t *out)
{
    const type_t *t;
    size_t hdr;
    size_t need;
    size_t at;

    memset(out, 0, sizeof(*out));
    if (pl_iec104_params_check(params) != 0)
        return PL_EINVAL;
    out->params = *params;
    hdr = pl_iec104_header_len(params);

    /* the header, as far as it is there */
    at = 0;
    if (len > at)
        out->type = buf[at];
    at++;
    if (len > at) {
        out->sq = (uint8_t)((buf[at] & VSQ_SQ) != 0u);
        out->count = (uint8_t)(buf[at] & VSQ_COUNT);
    }
    at++;
    if (len > at) {
        out->cause = (uint8_t)(buf[at] & COT_CAUSE);
        out->pn = (uint8_t)((buf[at] & COT_PN) != 0u);
        out->test = (uint8_t)((buf[at] & COT_TEST) != 0u);
    }
    at++;
    if (params->cot_size == 2u) {
        if (len > at)
            out->oa = buf[at];
        at++;
    }
    if (len >= at + params->ca_size)
        out->ca = (uint16_t)get_le(buf + at, params->ca_size);
    if (len < hdr)
        return PL_EIEC104_SHORT;

    t = find_type(out->type);
    if (t == NULL)
        return PL_EIEC104_TYPE;
    if (out->count == 0u || (t->info.single && (out->sq || out->count != 1u)))
        return PL_EIEC104_VSQ;
    if (out->cause == 0u)
        return PL_EIEC104_COT;
    need = hdr + objects_len(params, t, out->sq, out->count);
    if (len < need)
        return PL_EIEC104_SHORT;
    if (out->sq && get_le(buf + hdr, params->ioa_size) + (uint32_t)(out->count - 1u) >
                       max_of_size(params->ioa_size))
        return PL_EIEC104_VSQ;
    if (len > need)
        return PL_EIEC104_TRAILING;
    out->objs = buf + hdr;
    out->objs_len = len - hdr;
    return 0;
}

static int32_t as_i32(uint32_t v)
{
    int32_t r;

    memcpy(&r, &v, sizeof(r));
    return r;
}

static int16_t as_i16(uint32_t v)
{
    uint16_t u = (uint16_t)v;
    int16_t r;

    memcpy(&r, &u, sizeof(r));
    return r;
}

static float as_float(uint32_t v)
{
    float f;

    memcpy(&f, &v, sizeof(f));
    return f;
}

static void decode_element(element_t el, const uint8_t *p, pl_iec104_object_t *o)
{
    switch (el) {
    case EL_SIQ:
        o->v.state = (uint8_t)(p[0] & SIQ_SPI);
        o->quality = (uint8_t)(p[0] & SIQ_QUALITY);
        break;
    case EL_DIQ:
        o->v.state = (uint8_t)(p[0] & DIQ_DPI);
        o->quality = (uint8_t)(p[0] & SIQ_QUALITY);
        break;
    case EL_VTI_QDS: {
        unsigned raw = p[0] & VTI_VALUE;
        int v = (int)raw;

        if ((raw & VTI_SIGN) != 0u)
            v -= (int)VTI_VALUE + 1; /* seven-bit two's complement */
        o->v.step.value = (int8_t)v;
        o->v.step.transient = (uint8_t)((p[0] & VTI_T) != 0u);
        o->quality = (uint8_t)(p[1] & QDS_QUALITY);
        break;
    }
    case EL_BSI_QDS:
        o->v.bits = get_le(p, 4);
        o->quality = (uint8_t)(p[4] & QDS_QUALITY);
        break;
    case EL_NVA_QDS:
        o->v.nva = as_i16(get_le(p, 2));
        o->quality = (uint8_t)(p[2] & QDS_QUALITY);
        break;
    case EL_SVA_QDS:
        o->v.sva = as_i16(get_le(p, 2));
        o->quality = (uint8_t)(p[2] & QDS_QUALITY);
        break;
    case EL_R32_QDS:
        o->v.real = as_float(get_le(p, 4));
        o->quality = (uint8_t)(p[4] & QDS_QUALITY);
        break;
    case EL_BCR:
        o->v.counter.value = as_i32(get_le(p, 4));
        o->v.counter.seq = (uint8_t)(p[4] & BCR_SEQ);
        o->v.counter.carry = (uint8_t)((p[4] & BCR_CY) != 0u);
        o->v.counter.adjusted = (uint8_t)((p[4] & BCR_CA) != 0u);
        o->quality = (uint8_t)(p[4] & BCR_IV); /* the same bit as PL_IEC104_Q_IV */
        break;
    case EL_SCO:
    case EL_DCO:
    case EL_RCO:
        o->v.state = (uint8_t)(p[0] & (el == EL_SCO ? CO_STATE1 : CO_STATE2));
        o->qualifier = (uint8_t)((p[0] >> CO_QU_SHIFT) & CO_QU_MASK);
        o->select = (uint8_t)((p[0] & SE_BIT) != 0u);
        break;
    case EL_NVA_QOS:
        o->v.nva = as_i16(get_le(p, 2));
        o->qualifier = (uint8_t)(p[2] & QOS_QL);
        o->select = (uint8_t)((p[2] & SE_BIT) != 0u);
        break;
    case EL_SVA_QOS:
        o->v.sva = as_i16(get_le(p, 2));
        o->qualifier = (uint8_t)(p[2] & QOS_QL);
        o->select = (uint8_t)((p[2] & SE_BIT) != 0u);
        break;
    case EL_R32_QOS:
        o->v.real = as_float(get_le(p, 4));
        o->qualifier = (uint8_t)(p[4] & QOS_QL);
        o->select = (uint8_t)((p[4] & SE_BIT) != 0u);
        break;
    case EL_BSI:
        o->v.bits = get_le(p, 4);
        break;
    case EL_COI:
    case EL_QOI:
    case EL_QCC:
        o->qualifier = p[0];
        break;
    case EL_NONE:
    case EL_TIME:
        break;
    case EL_TSC:
        o->v.tsc = (uint16_t)get_le(p, 2);
        break;
    }
}

int pl_iec104_asdu_object(const pl_iec104_asdu_t *a, size_t i, pl_iec104_object_t *obj)
{
    const type_t *t;
    const uint8_t *p;
    size_t ioa_len;
    size_t el_len;

    memset(obj, 0, sizeof(*obj));
    t = find_type(a->type);
    if (t == NULL || a->objs == NULL || i >= a->count)
        return PL_EINVAL;
    ioa_len = a->params.ioa_size;
    el_len = t->info.element_len;
    if (a->sq) {
        obj->ioa = get_le(a->objs, ioa_len) + (uint32_t)i;
        p = a->objs + ioa_len + i * el_len;
    } else {
        p = a->objs + i * (ioa_len + el_len);
        obj->ioa = get_le(p, ioa_len);
        p += ioa_len;
    }
    decode_element(t->el, p, obj);
    if (t->info.has_time) {
        obj->has_time = 1u;
        pl_iec104_cp56_decode(p + el_len - PL_IEC104_CP56_LEN, &obj->time);
    }
    return 0;
}

void pl_iec104_iter_init(pl_iec104_iter_t *it, const pl_iec104_asdu_t *a)
{
    it->asdu = a;
    it->next = 0;
}

int pl_iec104_iter_next(pl_iec104_iter_t *it, pl_iec104_object_t *obj)
{
    if (it->asdu == NULL || it->next >= it->asdu->count ||
        pl_iec104_asdu_object(it->asdu, it->next, obj) != 0)
        return 0;
    it->next++;
    return 1;
}

/* ------------------------------------------------------------ encode */

size_t pl_iec104_objects_max(const pl_iec104_params_t *params, uint8_t type, int sq)
{
    const type_t *t = find_type(type);
    size_t room;
    size_t n;

    if (t == NULL || pl_iec104_params_check(params) != 0)
        return 0;
    if (t->info.single)
        return 1;
    room = PL_IEC104_MAX_ASDU - pl_iec104_header_len(params);
    if (sq)
        n = (room - params->ioa_size) / t->info.element_len;
    else
        n = room / ((size_t)params->ioa_size + t->info.element_len);
    return n > PL_IEC104_ASDU_MAX_OBJECTS ? PL_IEC104_ASDU_MAX_OBJECTS : n;
}

static uint32_t from_i16(int16_t v)
{
    uint16_t u;

    memcpy(&u, &v, sizeof(u));
    return u;
}

static uint32_t from_i32(int32_t v)
{
    uint32_t u;

    memcpy(&u, &v, sizeof(u));
    return u;
}

static uint32_t from_float(float f)
{
    uint32_t u;

    memcpy(&u, &f, sizeof(u));
    return u;
}

static uint8_t se_bit(const pl_iec104_object_t *o)
{
    return o->select ? (uint8_t)SE_BIT : 0u;
}

/* Writes the elements of one object (time tag included); PL_ERANGE when a field does not
 * fit its bits. */
static int encode_element(const type_t *t, const pl_iec104_object_t *o, uint8_t *p)
{
    element_t el = t->el;
    uint8_t qds = (uint8_t)(o->quality & QDS_QUALITY);

    if (o->select > 1u)
        return PL_ERANGE;
    switch (el) {
    case EL_SIQ:
    case EL_DIQ:
        if (o->v.state > (el == EL_SIQ ? SIQ_SPI : DIQ_DPI) || (o->quality & ~SIQ_QUALITY) != 0u)
            return PL_ERANGE;
        p[0] = (uint8_t)(o->v.state | o->quality);
        break;
    case EL_VTI_QDS:
        if (o->v.step.value < -64 || o->v.step.value > 63 || o->v.step.transient > 1u ||
            qds != o->quality)
            return PL_ERANGE;
        p[0] = (uint8_t)(((unsigned)(o->v.step.value + 128) & VTI_VALUE) |
                         (o->v.step.transient ? VTI_T : 0u));
        p[1] = qds;
        break;
    case EL_BSI_QDS:
        if (qds != o->quality)
            return PL_ERANGE;
        put_le(p, o->v.bits, 4);
        p[4] = qds;
        break;
    case EL_NVA_QDS:
    case EL_SVA_QDS:
        if (qds != o->quality)
            return PL_ERANGE;
        put_le(p, from_i16(el == EL_NVA_QDS ? o->v.nva : o->v.sva), 2);
        p[2] = qds;
        break;
    case EL_R32_QDS:
        if (qds != o->quality)
            return PL_ERANGE;
        put_le(p, from_float(o->v.real), 4);
        p[4] = qds;
        break;
    case EL_BCR:
        if (o->v.counter.seq > BCR_SEQ || o->v.counter.carry > 1u || o->v.counter.adjusted > 1u ||
            (o->quality & ~BCR_IV) != 0u)
            return PL_ERANGE;
        put_le(p, from_i32(o->v.counter.value), 4);
        p[4] = (uint8_t)(o->v.counter.seq | (o->v.counter.carry ? BCR_CY : 0u) |
                         (o->v.counter.adjusted ? BCR_CA : 0u) | o->quality);
        break;
    case EL_SCO:
    case EL_DCO:
    case EL_RCO:
        if (o->v.state > (el == EL_SCO ? CO_STATE1 : CO_STATE2) || o->qualifier > CO_QU_MASK)
            return PL_ERANGE;
        p[0] = (uint8_t)(o->v.state | (o->qualifier << CO_QU_SHIFT) | se_bit(o));
        break;
    case EL_NVA_QOS:
    case EL_SVA_QOS:
        if (o->qualifier > QOS_QL)
            return PL_ERANGE;
        put_le(p, from_i16(el == EL_NVA_QOS ? o->v.nva : o->v.sva), 2);
        p[2] = (uint8_t)(o->qualifier | se_bit(o));
        break;
    case EL_R32_QOS:
        if (o->qualifier > QOS_QL)
            return PL_ERANGE;
        put_le(p, from_float(o->v.real), 4);
        p[4] = (uint8_t)(o->qualifier | se_bit(o));
        break;
    case EL_BSI:
        put_le(p, o->v.bits, 4);
        break;
    case EL_COI:
    case EL_QOI:
    case EL_QCC:
        p[0] = o->qualifier;
        break;
    case EL_NONE:
    case EL_TIME:
        break;
    case EL_TSC:
        put_le(p, o->v.tsc, 2);
        break;
    }
    if (t->info.has_time &&
        pl_iec104_cp56_encode(p + t->info.element_len - PL_IEC104_CP56_LEN, &o->time) < 0)
        return PL_ERANGE;
    return 0;
}

int pl_iec104_asdu_encode(uint8_t *buf, size_t cap, const pl_iec104_params_t *params,
                          const pl_iec104_asdu_t *hdr, const pl_iec104_object_t *objs, size_t n,
                          size_t *fitted)
{
    const type_t *t;
    size_t room;
    size_t max;
    size_t k;
    size_t i;
    size_t at;
    size_t ioa_len;
    uint32_t ioa_max;
    int r;

    if (fitted != NULL)
        *fitted = 0;
    if (pl_iec104_params_check(params) != 0 || hdr == NULL || objs == NULL || n == 0u)
        return PL_EINVAL;
    t = find_type(hdr->type);
    if (t == NULL)
        return PL_EIEC104_TYPE;
    ioa_len = params->ioa_size;
    ioa_max = max_of_size(params->ioa_size);
    if (hdr->cause > COT_CAUSE || hdr->pn > 1u || hdr->test > 1u || hdr->sq > 1u ||
        (params->cot_size == 1u && hdr->oa != 0u) || hdr->ca > max_of_size(params->ca_size))
        return PL_ERANGE;

    /* how many fit: the buffer, the APDU, the count field, the type's rule, SQ's run */
    room = cap < PL_IEC104_MAX_ASDU ? cap : PL_IEC104_MAX_ASDU;
    max = pl_iec104_objects_max(params, hdr->type, hdr->sq);
    if (max > n)
        max = n;
    for (k = 0; k < max; k++) {
        if (objs[k].ioa > ioa_max)
            return PL_ERANGE;
        if (hdr->sq && k > 0 && objs[k].ioa != objs[0].ioa + (uint32_t)k)
            break;
        if (pl_iec104_header_len(params) + objects_len(params, t, hdr->sq, k + 1u) > room)
            break;
    }
    if (k == 0u)
        return PL_ENOBUFS;

    at = 0;
    buf[at++] = hdr->type;
    buf[at++] = (uint8_t)((hdr->sq ? VSQ_SQ : 0u) | (uint8_t)k);
    buf[at++] = (uint8_t)(hdr->cause | (hdr->pn ? COT_PN : 0u) | (hdr->test ? COT_TEST : 0u));
    if (params->cot_size == 2u)
        buf[at++] = hdr->oa;
    put_le(buf + at, hdr->ca, params->ca_size);
    at += params->ca_size;
    if (hdr->sq) {
        put_le(buf + at, objs[0].ioa, ioa_len);
        at += ioa_len;
    }
    for (i = 0; i < k; i++) {
        if (!hdr->sq) {
            put_le(buf + at, objs[i].ioa, ioa_len);
            at += ioa_len;
        }
        r = encode_element(t, &objs[i], buf + at);
        if (r < 0)
            return r;
        at += t->info.element_len;
    }
    if (fitted != NULL)
        *fitted = k;
    return (int)at;
}
