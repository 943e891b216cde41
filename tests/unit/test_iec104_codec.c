/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the IEC 60870-5-104 codec (src/proto/iec104/codec/).
 *
 * Golden vectors are hex APDUs laid out by hand from IEC 60870-5-104 clause 5 and the ASDU
 * of IEC 60870-5-101 clause 7, with their expected decode: every frame kind and every
 * supported type. Every vector, and a stream of all of them, is replayed whole, one byte at
 * a time and split at every offset, and must give the same frames; every vector is decoded,
 * re-encoded from its decoded fields with the encoder and must come back byte for byte.
 * Every validation error is checked, with the byte count that proves framing errors.
 *
 * Run with `--frames DIR` it writes DIR/frames.txt (a text2pcap hex dump of every golden
 * vector as the encoder produces it, monitoring direction inbound) and DIR/expect.txt (what
 * a dissector must show for each); tests/cli/test_iec104_tshark.sh uses them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "hex.h"

#include "plcline/error.h"
#include "proto/iec104/codec/apci.h"
#include "proto/iec104/codec/asdu.h"
#include "proto/iec104/codec/cp56.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define STREAM_MAX   8192u
#define EVENTS_MAX   128u
#define VEC_OBJS     3u

/* ---------------------------------------------------------------- golden vectors */

/* CP56Time2a values used below (octets in the hex strings, fields here). */
#define TIME_A_HEX "8b 27 29 05 27 0c 1a" /* 2026-12-07 05:41:10.123, Monday */
#define TIME_B_HEX "00 00 80 80 c1 01 00" /* 2000-01-01 00:00:00.000 Saturday, IV, SU */
#define TIME_C_HEX "5f ea 3b 17 9f 0c 63" /* 2099-12-31 23:59:59.999, Thursday */
#define TIME_A                           \
    {                                    \
        10123, 41, 5, 7, 1, 12, 26, 0, 0 \
    }
#define TIME_B                    \
    {                             \
        0, 0, 0, 1, 6, 1, 0, 1, 1 \
    }
#define TIME_C                             \
    {                                      \
        59999, 59, 23, 31, 4, 12, 99, 0, 0 \
    }
#define TIME_A_MS 1796622070123LL

typedef struct {
    const char *name;
    const char *hex;
    pl_iec104_kind_t kind;
    uint16_t ns;
    uint16_t nr;
    uint8_t func;
    pl_iec104_params_t params; /* {0} means the defaults */
    /* ASDU of an I-frame */
    uint8_t type;
    uint8_t sq;
    uint8_t count;
    uint8_t cause;
    uint8_t pn;
    uint8_t test;
    uint8_t oa;
    uint16_t ca;
    pl_iec104_object_t objs[VEC_OBJS]; /* the first min(count, 3) objects */
} golden_t;

/* clang-format off */
#define I_FRAME PL_IEC104_FRAME_I
#define NOPAR   {0, 0, 0}
#define NO_ASDU 0, 0, 0, 0, 0, 0, 0, 0, {{0}}
/* clang-format on */

static const golden_t golden[] = {
    /* ------------------------------------------------ APCI only */
    {"S-frame, N(R) 8", "68 04 01 00 10 00", PL_IEC104_FRAME_S, 0, 8, 0, NOPAR, NO_ASDU},
    {"S-frame, N(R) 32767", "68 04 01 00 fe ff", PL_IEC104_FRAME_S, 0, 32767, 0, NOPAR, NO_ASDU},
    {"U STARTDT act", "68 04 07 00 00 00", PL_IEC104_FRAME_U, 0, 0, PL_IEC104_U_STARTDT_ACT, NOPAR,
     NO_ASDU},
    {"U STARTDT con", "68 04 0b 00 00 00", PL_IEC104_FRAME_U, 0, 0, PL_IEC104_U_STARTDT_CON, NOPAR,
     NO_ASDU},
    {"U STOPDT act", "68 04 13 00 00 00", PL_IEC104_FRAME_U, 0, 0, PL_IEC104_U_STOPDT_ACT, NOPAR,
     NO_ASDU},
    {"U STOPDT con", "68 04 23 00 00 00", PL_IEC104_FRAME_U, 0, 0, PL_IEC104_U_STOPDT_CON, NOPAR,
     NO_ASDU},
    {"U TESTFR act", "68 04 43 00 00 00", PL_IEC104_FRAME_U, 0, 0, PL_IEC104_U_TESTFR_ACT, NOPAR,
     NO_ASDU},
    {"U TESTFR con", "68 04 83 00 00 00", PL_IEC104_FRAME_U, 0, 0, PL_IEC104_U_TESTFR_CON, NOPAR,
     NO_ASDU},
    /* ------------------------------------------------ monitoring direction */
    {"M_SP_NA_1, SQ=0, 2 objects, N(S) 1 N(R) 2",
     "68 12 02 00 04 00  01 02 03 00 01 00  e9 03 00 01  ea 03 00 90",
     I_FRAME,
     1,
     2,
     0,
     NOPAR,
     PL_IEC104_M_SP_NA_1,
     0,
     2,
     PL_IEC104_COT_SPONT,
     0,
     0,
     0,
     1,
     {{.ioa = 1001, .v.state = 1},
      {.ioa = 1002, .v.state = 0, .quality = PL_IEC104_Q_IV | PL_IEC104_Q_BL}}},
    {"M_SP_NA_1, SQ=1, 3 objects, inrogen, CA 0x1234, N(S) N(R) 32767",
     "68 10 fe ff fe ff  01 83 14 00 34 12  d1 07 00  01 00 41",
     I_FRAME,
     32767,
     32767,
     0,
     NOPAR,
     PL_IEC104_M_SP_NA_1,
     1,
     3,
     PL_IEC104_COT_INROGEN,
     0,
     0,
     0,
     0x1234,
     {{.ioa = 2001, .v.state = 1},
      {.ioa = 2002, .v.state = 0},
      {.ioa = 2003, .v.state = 1, .quality = PL_IEC104_Q_NT}}},
    {"M_DP_NA_1, ON, substituted",
     "68 0e 00 00 00 00  03 01 03 00 01 00  10 27 00 22",
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_M_DP_NA_1,
     0,
     1,
     PL_IEC104_COT_SPONT,
     0,
     0,
     0,
     1,
     {{.ioa = 10000, .v.state = PL_IEC104_DP_ON, .quality = PL_IEC104_Q_SB}}},
    {"M_ST_NA_1, -3 transient, overflow",
     "68 0f 00 00 00 00  05 01 03 00 01 00  11 00 00 fd 01",
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_M_ST_NA_1,
     0,
     1,
     PL_IEC104_COT_SPONT,
     0,
     0,
     0,
     1,
     {{.ioa = 17, .v.step = {-3, 1}, .quality = PL_IEC104_Q_OV}}},
    {"M_BO_NA_1, 0x12345678",
     "68 12 00 00 00 00  07 01 03 00 01 00  12 00 00 78 56 34 12 00",
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_M_BO_NA_1,
     0,
     1,
     PL_IEC104_COT_SPONT,
     0,
     0,
     0,
     1,
     {{.ioa = 18, .v.bits = 0x12345678u}}},
    {"M_ME_NA_1, -16384 (-0.5), periodic",
     "68 10 00 00 00 00  09 01 01 00 01 00  13 00 00 00 c0 00",
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_M_ME_NA_1,
     0,
     1,
     PL_IEC104_COT_PER,
     0,
     0,
     0,
     1,
     {{.ioa = 19, .v.nva = -16384}}},
    {"M_ME_NB_1, 12345, blocked",
     "68 10 00 00 00 00  0b 01 03 00 01 00  14 00 00 39 30 10",
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_M_ME_NB_1,
     0,
     1,
     PL_IEC104_COT_SPONT,
     0,
     0,
     0,
     1,
     {{.ioa = 20, .v.sva = 12345, .quality = PL_IEC104_Q_BL}}},
    {"M_ME_NC_1, 1.5",
     "68 12 00 00 00 00  0d 01 03 00 01 00  e9 03 00 00 00 c0 3f 00",
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_M_ME_NC_1,
     0,
     1,
     PL_IEC104_COT_SPONT,
     0,
     0,
     0,
     1,
     {{.ioa = 1001, .v.real = 1.5f}}},
    {"M_ME_NC_1, SQ=1, 1.0 and -10.0 invalid",
     "68 17 00 00 00 00  0d 82 14 00 01 00  e9 03 00  00 00 80 3f 00  00 00 20 c1 80",
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_M_ME_NC_1,
     1,
     2,
     PL_IEC104_COT_INROGEN,
     0,
     0,
     0,
     1,
     {{.ioa = 1001, .v.real = 1.0f}, {.ioa = 1002, .v.real = -10.0f, .quality = PL_IEC104_Q_IV}}},
    {"M_IT_NA_1, 123456, seq 5, carry, invalid",
     "68 12 00 00 00 00  0f 01 25 00 01 00  15 00 00 40 e2 01 00 a5",
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_M_IT_NA_1,
     0,
     1,
     PL_IEC104_COT_REQCOGEN,
     0,
     0,
     0,
     1,
     {{.ioa = 21, .v.counter = {123456, 5, 1, 0}, .quality = PL_IEC104_Q_IV}}},
    {"M_SP_TB_1",
     "68 15 00 00 00 00  1e 01 03 00 01 00  e9 03 00 01 " TIME_A_HEX,
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_M_SP_TB_1,
     0,
     1,
     PL_IEC104_COT_SPONT,
     0,
     0,
     0,
     1,
     {{.ioa = 1001, .v.state = 1, .has_time = 1, .time = TIME_A}}},
    {"M_DP_TB_1, OFF, time invalid and summer time, year 2000",
     "68 15 00 00 00 00  1f 01 03 00 01 00  ea 03 00 01 " TIME_B_HEX,
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_M_DP_TB_1,
     0,
     1,
     PL_IEC104_COT_SPONT,
     0,
     0,
     0,
     1,
     {{.ioa = 1002, .v.state = PL_IEC104_DP_OFF, .has_time = 1, .time = TIME_B}}},
    {"M_ST_TB_1, 63",
     "68 16 00 00 00 00  20 01 03 00 01 00  eb 03 00 3f 00 " TIME_A_HEX,
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_M_ST_TB_1,
     0,
     1,
     PL_IEC104_COT_SPONT,
     0,
     0,
     0,
     1,
     {{.ioa = 1003, .v.step = {63, 0}, .has_time = 1, .time = TIME_A}}},
    {"M_BO_TB_1, all ones, not topical",
     "68 19 00 00 00 00  21 01 03 00 01 00  ec 03 00 ff ff ff ff 40 " TIME_A_HEX,
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_M_BO_TB_1,
     0,
     1,
     PL_IEC104_COT_SPONT,
     0,
     0,
     0,
     1,
     {{.ioa = 1004,
       .v.bits = 0xFFFFFFFFu,
       .quality = PL_IEC104_Q_NT,
       .has_time = 1,
       .time = TIME_A}}},
    {"M_ME_TD_1, 32767",
     "68 17 00 00 00 00  22 01 03 00 01 00  ed 03 00 ff 7f 00 " TIME_A_HEX,
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_M_ME_TD_1,
     0,
     1,
     PL_IEC104_COT_SPONT,
     0,
     0,
     0,
     1,
     {{.ioa = 1005, .v.nva = 32767, .has_time = 1, .time = TIME_A}}},
    {"M_ME_TE_1, -32768, substituted",
     "68 17 00 00 00 00  23 01 03 00 01 00  ee 03 00 00 80 20 " TIME_A_HEX,
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_M_ME_TE_1,
     0,
     1,
     PL_IEC104_COT_SPONT,
     0,
     0,
     0,
     1,
     {{.ioa = 1006, .v.sva = -32768, .quality = PL_IEC104_Q_SB, .has_time = 1, .time = TIME_A}}},
    {"M_ME_TF_1, 100.0, 2099-12-31 23:59:59.999",
     "68 19 00 00 00 00  24 01 03 00 01 00  ef 03 00 00 00 c8 42 00 " TIME_C_HEX,
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_M_ME_TF_1,
     0,
     1,
     PL_IEC104_COT_SPONT,
     0,
     0,
     0,
     1,
     {{.ioa = 1007, .v.real = 100.0f, .has_time = 1, .time = TIME_C}}},
    {"M_IT_TB_1, -2, seq 31, adjusted",
     "68 19 00 00 00 00  25 01 03 00 01 00  f0 03 00 fe ff ff ff 5f " TIME_A_HEX,
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_M_IT_TB_1,
     0,
     1,
     PL_IEC104_COT_SPONT,
     0,
     0,
     0,
     1,
     {{.ioa = 1008, .v.counter = {-2, 31, 0, 1}, .has_time = 1, .time = TIME_A}}},
    {"M_EI_NA_1, local manual reset after a parameter change",
     "68 0e 00 00 00 00  46 01 04 00 01 00  00 00 00 81",
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_M_EI_NA_1,
     0,
     1,
     PL_IEC104_COT_INIT,
     0,
     0,
     0,
     1,
     {{.ioa = 0, .qualifier = 0x81}}},
    /* ------------------------------------------------ control direction */
    {"C_SC_NA_1, select ON",
     "68 0e 00 00 00 00  2d 01 06 00 01 00  89 13 00 81",
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_C_SC_NA_1,
     0,
     1,
     PL_IEC104_COT_ACT,
     0,
     0,
     0,
     1,
     {{.ioa = 5001, .v.state = 1, .select = 1}}},
    {"C_SC_NA_1, negative actcon, test, originator 7",
     "68 0e 00 00 00 00  2d 01 c7 07 01 00  89 13 00 01",
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_C_SC_NA_1,
     0,
     1,
     PL_IEC104_COT_ACTCON,
     1,
     1,
     7,
     1,
     {{.ioa = 5001, .v.state = 1}}},
    {"C_DC_NA_1, execute ON, short pulse",
     "68 0e 00 00 00 00  2e 01 06 00 01 00  8a 13 00 06",
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_C_DC_NA_1,
     0,
     1,
     PL_IEC104_COT_ACT,
     0,
     0,
     0,
     1,
     {{.ioa = 5002, .v.state = PL_IEC104_DP_ON, .qualifier = PL_IEC104_QU_SHORT}}},
    {"C_RC_NA_1, select higher, persistent",
     "68 0e 00 00 00 00  2f 01 06 00 01 00  8b 13 00 8e",
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_C_RC_NA_1,
     0,
     1,
     PL_IEC104_COT_ACT,
     0,
     0,
     0,
     1,
     {{.ioa = 5003, .v.state = 2, .qualifier = PL_IEC104_QU_PERSISTENT, .select = 1}}},
    {"C_SE_NA_1, 16384 (0.5)",
     "68 10 00 00 00 00  30 01 06 00 01 00  8c 13 00 00 40 00",
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_C_SE_NA_1,
     0,
     1,
     PL_IEC104_COT_ACT,
     0,
     0,
     0,
     1,
     {{.ioa = 5004, .v.nva = 16384}}},
    {"C_SE_NB_1, select -1000",
     "68 10 00 00 00 00  31 01 06 00 01 00  8d 13 00 18 fc 80",
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_C_SE_NB_1,
     0,
     1,
     PL_IEC104_COT_ACT,
     0,
     0,
     0,
     1,
     {{.ioa = 5005, .v.sva = -1000, .select = 1}}},
    {"C_SE_NC_1, 12.5",
     "68 12 00 00 00 00  32 01 06 00 01 00  8e 13 00 00 00 48 41 00",
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_C_SE_NC_1,
     0,
     1,
     PL_IEC104_COT_ACT,
     0,
     0,
     0,
     1,
     {{.ioa = 5006, .v.real = 12.5f}}},
    {"C_BO_NA_1, 0x80000001",
     "68 11 00 00 00 00  33 01 06 00 01 00  8f 13 00 01 00 00 80",
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_C_BO_NA_1,
     0,
     1,
     PL_IEC104_COT_ACT,
     0,
     0,
     0,
     1,
     {{.ioa = 5007, .v.bits = 0x80000001u}}},
    {"C_SC_TA_1, execute ON",
     "68 15 00 00 00 00  3a 01 06 00 01 00  89 13 00 01 " TIME_A_HEX,
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_C_SC_TA_1,
     0,
     1,
     PL_IEC104_COT_ACT,
     0,
     0,
     0,
     1,
     {{.ioa = 5001, .v.state = 1, .has_time = 1, .time = TIME_A}}},
    {"C_DC_TA_1, execute OFF",
     "68 15 00 00 00 00  3b 01 06 00 01 00  8a 13 00 01 " TIME_A_HEX,
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_C_DC_TA_1,
     0,
     1,
     PL_IEC104_COT_ACT,
     0,
     0,
     0,
     1,
     {{.ioa = 5002, .v.state = PL_IEC104_DP_OFF, .has_time = 1, .time = TIME_A}}},
    {"C_RC_TA_1, execute lower",
     "68 15 00 00 00 00  3c 01 06 00 01 00  8b 13 00 01 " TIME_A_HEX,
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_C_RC_TA_1,
     0,
     1,
     PL_IEC104_COT_ACT,
     0,
     0,
     0,
     1,
     {{.ioa = 5003, .v.state = 1, .has_time = 1, .time = TIME_A}}},
    {"C_SE_TA_1, -16384",
     "68 17 00 00 00 00  3d 01 06 00 01 00  8c 13 00 00 c0 00 " TIME_A_HEX,
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_C_SE_TA_1,
     0,
     1,
     PL_IEC104_COT_ACT,
     0,
     0,
     0,
     1,
     {{.ioa = 5004, .v.nva = -16384, .has_time = 1, .time = TIME_A}}},
    {"C_SE_TB_1, 100, qualifier 1",
     "68 17 00 00 00 00  3e 01 06 00 01 00  8d 13 00 64 00 01 " TIME_A_HEX,
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_C_SE_TB_1,
     0,
     1,
     PL_IEC104_COT_ACT,
     0,
     0,
     0,
     1,
     {{.ioa = 5005, .v.sva = 100, .qualifier = 1, .has_time = 1, .time = TIME_A}}},
    {"C_SE_TC_1, select -1.0",
     "68 19 00 00 00 00  3f 01 06 00 01 00  8e 13 00 00 00 80 bf 80 " TIME_A_HEX,
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_C_SE_TC_1,
     0,
     1,
     PL_IEC104_COT_ACT,
     0,
     0,
     0,
     1,
     {{.ioa = 5006, .v.real = -1.0f, .select = 1, .has_time = 1, .time = TIME_A}}},
    {"C_BO_TA_1, 0xff00ff00",
     "68 18 00 00 00 00  40 01 06 00 01 00  8f 13 00 00 ff 00 ff " TIME_A_HEX,
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_C_BO_TA_1,
     0,
     1,
     PL_IEC104_COT_ACT,
     0,
     0,
     0,
     1,
     {{.ioa = 5007, .v.bits = 0xFF00FF00u, .has_time = 1, .time = TIME_A}}},
    /* ------------------------------------------------ system */
    {"C_IC_NA_1, station interrogation",
     "68 0e 00 00 00 00  64 01 06 00 01 00  00 00 00 14",
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_C_IC_NA_1,
     0,
     1,
     PL_IEC104_COT_ACT,
     0,
     0,
     0,
     1,
     {{.ioa = 0, .qualifier = PL_IEC104_QOI_STATION}}},
    {"C_IC_NA_1, actterm of group 5, broadcast CA",
     "68 0e 00 00 00 00  64 01 0a 00 ff ff  00 00 00 19",
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_C_IC_NA_1,
     0,
     1,
     PL_IEC104_COT_ACTTERM,
     0,
     0,
     0,
     PL_IEC104_CA_BROADCAST,
     {{.ioa = 0, .qualifier = PL_IEC104_QOI_GROUP1 + 4}}},
    {"C_CI_NA_1, general, freeze",
     "68 0e 00 00 00 00  65 01 06 00 01 00  00 00 00 45",
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_C_CI_NA_1,
     0,
     1,
     PL_IEC104_COT_ACT,
     0,
     0,
     0,
     1,
     {{.ioa = 0, .qualifier = PL_IEC104_QCC_RQT_GENERAL | (1u << PL_IEC104_QCC_FRZ_SHIFT)}}},
    {"C_RD_NA_1",
     "68 0d 00 00 00 00  66 01 05 00 01 00  e9 03 00",
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_C_RD_NA_1,
     0,
     1,
     PL_IEC104_COT_REQ,
     0,
     0,
     0,
     1,
     {{.ioa = 1001}}},
    {"C_CS_NA_1",
     "68 14 00 00 00 00  67 01 06 00 01 00  00 00 00 " TIME_A_HEX,
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_C_CS_NA_1,
     0,
     1,
     PL_IEC104_COT_ACT,
     0,
     0,
     0,
     1,
     {{.ioa = 0, .has_time = 1, .time = TIME_A}}},
    {"C_TS_TA_1, counter 0x1234",
     "68 16 00 00 00 00  6b 01 06 00 01 00  00 00 00 34 12 " TIME_A_HEX,
     I_FRAME,
     0,
     0,
     0,
     NOPAR,
     PL_IEC104_C_TS_TA_1,
     0,
     1,
     PL_IEC104_COT_ACT,
     0,
     0,
     0,
     1,
     {{.ioa = 0, .v.tsc = 0x1234, .has_time = 1, .time = TIME_A}}},
    /* ------------------------------------------------ other field sizes */
    {"COT 1, CA 1, IOA 1: M_ME_NB_1, 2 objects",
     "68 10 00 00 00 00  0b 02 03 05  0a 39 30 00  0b c7 cf 80",
     I_FRAME,
     0,
     0,
     0,
     {1, 1, 1},
     PL_IEC104_M_ME_NB_1,
     0,
     2,
     PL_IEC104_COT_SPONT,
     0,
     0,
     0,
     5,
     {{.ioa = 10, .v.sva = 12345}, {.ioa = 11, .v.sva = -12345, .quality = PL_IEC104_Q_IV}}},
    {"COT 2, CA 1, IOA 2: C_SC_NA_1 from originator 3",
     "68 0c 00 00 00 00  2d 01 06 03 09  89 13 01",
     I_FRAME,
     0,
     0,
     0,
     {2, 1, 2},
     PL_IEC104_C_SC_NA_1,
     0,
     1,
     PL_IEC104_COT_ACT,
     0,
     0,
     3,
     9,
     {{.ioa = 5001, .v.state = 1}}},
};

static pl_iec104_params_t params_of(const golden_t *g)
{
    pl_iec104_params_t p;

    if (g->params.cot_size == 0)
        pl_iec104_params_default(&p);
    else
        p = g->params;
    return p;
}

static void assert_same_time(const pl_iec104_cp56_t *a, const pl_iec104_cp56_t *b)
{
    assert_int_equal(a->ms, b->ms);
    assert_int_equal(a->min, b->min);
    assert_int_equal(a->hour, b->hour);
    assert_int_equal(a->mday, b->mday);
    assert_int_equal(a->wday, b->wday);
    assert_int_equal(a->month, b->month);
    assert_int_equal(a->year, b->year);
    assert_int_equal(a->iv, b->iv);
    assert_int_equal(a->su, b->su);
}

/* Every field, the value compared as the type defines it (floats by their bits). */
static void assert_same_object(uint8_t type, const pl_iec104_object_t *a,
                               const pl_iec104_object_t *b)
{
    assert_int_equal(a->ioa, b->ioa);
    assert_int_equal(a->quality, b->quality);
    assert_int_equal(a->qualifier, b->qualifier);
    assert_int_equal(a->select, b->select);
    assert_int_equal(a->has_time, b->has_time);
    if (a->has_time)
        assert_same_time(&a->time, &b->time);
    switch (type) {
    case PL_IEC104_M_ST_NA_1:
    case PL_IEC104_M_ST_TB_1:
        assert_int_equal(a->v.step.value, b->v.step.value);
        assert_int_equal(a->v.step.transient, b->v.step.transient);
        break;
    case PL_IEC104_M_BO_NA_1:
    case PL_IEC104_M_BO_TB_1:
    case PL_IEC104_C_BO_NA_1:
    case PL_IEC104_C_BO_TA_1:
        assert_int_equal(a->v.bits, b->v.bits);
        break;
    case PL_IEC104_M_ME_NA_1:
    case PL_IEC104_M_ME_TD_1:
    case PL_IEC104_C_SE_NA_1:
    case PL_IEC104_C_SE_TA_1:
        assert_int_equal(a->v.nva, b->v.nva);
        break;
    case PL_IEC104_M_ME_NB_1:
    case PL_IEC104_M_ME_TE_1:
    case PL_IEC104_C_SE_NB_1:
    case PL_IEC104_C_SE_TB_1:
        assert_int_equal(a->v.sva, b->v.sva);
        break;
    case PL_IEC104_M_ME_NC_1:
    case PL_IEC104_M_ME_TF_1:
    case PL_IEC104_C_SE_NC_1:
    case PL_IEC104_C_SE_TC_1:
        assert_memory_equal(&a->v.real, &b->v.real, sizeof(float));
        break;
    case PL_IEC104_M_IT_NA_1:
    case PL_IEC104_M_IT_TB_1:
        assert_int_equal(a->v.counter.value, b->v.counter.value);
        assert_int_equal(a->v.counter.seq, b->v.counter.seq);
        assert_int_equal(a->v.counter.carry, b->v.counter.carry);
        assert_int_equal(a->v.counter.adjusted, b->v.counter.adjusted);
        break;
    case PL_IEC104_C_TS_TA_1:
        assert_int_equal(a->v.tsc, b->v.tsc);
        break;
    default: /* single, double, regulating states; qualifier-only and empty types */
        assert_int_equal(a->v.state, b->v.state);
        break;
    }
}

/* Checks a decoded APDU (and its ASDU) against a golden vector. */
static void check_golden(const golden_t *g, const pl_iec104_apdu_t *f)
{
    pl_iec104_params_t p = params_of(g);
    pl_iec104_asdu_t a;
    pl_iec104_object_t o;
    pl_iec104_iter_t it;
    size_t i;

    assert_int_equal(f->kind, g->kind);
    assert_int_equal(f->ns, g->ns);
    assert_int_equal(f->nr, g->nr);
    assert_int_equal(f->func, g->func);
    if (g->kind != PL_IEC104_FRAME_I) {
        assert_null(f->asdu);
        assert_int_equal(f->asdu_len, 0);
        return;
    }
    assert_int_equal(f->asdu_len, f->length - 4u);
    assert_int_equal(pl_iec104_asdu_decode(f->asdu, f->asdu_len, &p, &a), 0);
    assert_int_equal(a.type, g->type);
    assert_int_equal(a.sq, g->sq);
    assert_int_equal(a.count, g->count);
    assert_int_equal(a.cause, g->cause);
    assert_int_equal(a.pn, g->pn);
    assert_int_equal(a.test, g->test);
    assert_int_equal(a.oa, g->oa);
    assert_int_equal(a.ca, g->ca);
    assert_ptr_equal(a.objs, f->asdu + pl_iec104_header_len(&p));
    for (i = 0; i < g->count && i < VEC_OBJS; i++) {
        assert_int_equal(pl_iec104_asdu_object(&a, i, &o), 0);
        assert_same_object(g->type, &o, &g->objs[i]);
    }
    assert_int_equal(pl_iec104_asdu_object(&a, g->count, &o), PL_EINVAL);
    /* the iterator walks the same objects */
    pl_iec104_iter_init(&it, &a);
    for (i = 0; pl_iec104_iter_next(&it, &o) > 0; i++) {
        if (i < VEC_OBJS)
            assert_same_object(g->type, &o, &g->objs[i]);
    }
    assert_int_equal(i, g->count);
    assert_int_equal(pl_iec104_iter_next(&it, &o), 0);
}

/* Encodes what a decoded APDU holds, with the encoders; returns the length. */
static size_t reencode(const uint8_t *frame, size_t len, const pl_iec104_params_t *p, uint8_t *out,
                       size_t cap)
{
    pl_iec104_apdu_t f;
    pl_iec104_asdu_t a;
    pl_iec104_object_t objs[PL_IEC104_ASDU_MAX_OBJECTS];
    size_t fitted = 0;
    size_t i;
    int n = 0;

    assert_int_equal(pl_iec104_decode(frame, len, &f), 0);
    switch (f.kind) {
    case PL_IEC104_FRAME_S:
        n = pl_iec104_encode_s(out, cap, f.nr);
        break;
    case PL_IEC104_FRAME_U:
        n = pl_iec104_encode_u(out, cap, f.func);
        break;
    case PL_IEC104_FRAME_I:
        assert_int_equal(pl_iec104_asdu_decode(f.asdu, f.asdu_len, p, &a), 0);
        for (i = 0; i < a.count; i++)
            assert_int_equal(pl_iec104_asdu_object(&a, i, &objs[i]), 0);
        n = pl_iec104_asdu_encode(out + PL_IEC104_APCI_LEN, cap - PL_IEC104_APCI_LEN, p, &a, objs,
                                  a.count, &fitted);
        assert_true(n > 0);
        assert_int_equal(fitted, a.count);
        n = pl_iec104_encode_i(out, cap, f.ns, f.nr, out + PL_IEC104_APCI_LEN, (size_t)n);
        break;
    }
    assert_true(n > 0);
    return (size_t)n;
}

/* ---------------------------------------------------------------- stream replay */

typedef struct {
    int rc;      /* pl_iec104_frame error, else pl_iec104_decode result */
    size_t at;   /* stream offset of the frame */
    size_t size; /* frame length, 0 on a framing error */
    uint8_t bytes[PL_IEC104_MAX_APDU];
} event_t;

typedef struct {
    event_t ev[EVENTS_MAX];
    size_t n;
    int broken;
    size_t pending;
} trace_t;

/* Feeds s[0..n) in pieces ending at cuts[0..ncuts) and then n, framing after each piece
 * like a session: frame, decode, consume. A framing error ends the stream. */
static void replay(const uint8_t *s, size_t n, const size_t *cuts, size_t ncuts, trace_t *t)
{
    static uint8_t rx[STREAM_MAX];
    pl_iec104_apdu_t f;
    size_t have = 0;
    size_t fed = 0;
    size_t consumed = 0;
    size_t ci = 0;
    size_t next;
    size_t need;
    int r;
    event_t *e;

    assert_true(n <= STREAM_MAX);
    memset(t, 0, sizeof(*t));
    while (fed < n) {
        next = ci < ncuts ? cuts[ci++] : n;
        if (next > n)
            next = n;
        if (next <= fed)
            continue;
        memcpy(rx + have, s + fed, next - fed);
        have += next - fed;
        fed = next;
        for (;;) {
            need = 0;
            r = pl_iec104_frame(rx, have, &need);
            if (r == PL_EAGAIN) {
                assert_true(need > have);
                break;
            }
            assert_true(t->n < EVENTS_MAX);
            e = &t->ev[t->n++];
            e->at = consumed;
            if (r < 0) {
                e->rc = r;
                t->broken = 1;
                return;
            }
            assert_int_equal(need, (size_t)r);
            e->size = (size_t)r;
            e->rc = pl_iec104_decode(rx, e->size, &f);
            memcpy(e->bytes, rx, e->size);
            memmove(rx, rx + e->size, have - e->size);
            have -= e->size;
            consumed += e->size;
        }
    }
    t->pending = have;
}

static void assert_same_trace(const trace_t *a, const trace_t *b)
{
    size_t i;

    assert_int_equal(a->n, b->n);
    assert_int_equal(a->broken, b->broken);
    assert_int_equal(a->pending, b->pending);
    for (i = 0; i < a->n; i++) {
        assert_int_equal(a->ev[i].rc, b->ev[i].rc);
        assert_int_equal(a->ev[i].at, b->ev[i].at);
        assert_int_equal(a->ev[i].size, b->ev[i].size);
        assert_memory_equal(a->ev[i].bytes, b->ev[i].bytes, a->ev[i].size);
    }
}

static void replay_all_ways(const uint8_t *s, size_t n, trace_t *whole)
{
    static trace_t other;
    static size_t cuts[STREAM_MAX];
    size_t k;

    replay(s, n, NULL, 0, whole);
    for (k = 0; k < n; k++)
        cuts[k] = k + 1;
    replay(s, n, cuts, n, &other);
    assert_same_trace(whole, &other);
    for (k = 1; k < n; k++) {
        cuts[0] = k;
        replay(s, n, cuts, 1, &other);
        assert_same_trace(whole, &other);
    }
}

/* ---------------------------------------------------------------- tests: golden vectors */

static void test_golden_decode(void **state)
{
    uint8_t b[PL_IEC104_MAX_APDU + 1];
    pl_iec104_apdu_t f;
    size_t i;
    size_t n;
    size_t k;
    size_t need;

    (void)state;
    for (i = 0; i < ARRAY_LEN(golden); i++) {
        const golden_t *g = &golden[i];

        print_message("vector: %s\n", g->name);
        n = pl_test_hex(g->hex, b, sizeof(b) - 1);
        assert_int_equal(b[1] + 2u, n);
        need = 0;
        assert_int_equal(pl_iec104_frame(b, n, &need), (int)n);
        assert_int_equal(need, n);
        b[n] = PL_IEC104_START; /* the start of a next frame does not change the answer */
        assert_int_equal(pl_iec104_frame(b, n + 1, NULL), (int)n);
        for (k = 0; k < n; k++) {
            need = 0;
            assert_int_equal(pl_iec104_frame(b, k, &need), PL_EAGAIN);
            assert_int_equal(need, k < 2 ? 2u : n);
        }
        assert_int_equal(pl_iec104_decode(b, n, &f), 0);
        assert_int_equal(f.length, n - 2u);
        check_golden(g, &f);
    }
}

/* decode -> encode gives the same bytes, and so decode -> encode -> decode the same fields */
static void test_golden_reencode(void **state)
{
    uint8_t b[PL_IEC104_MAX_APDU];
    uint8_t e[PL_IEC104_MAX_APDU];
    pl_iec104_apdu_t f;
    size_t i;
    size_t n;
    size_t m;

    (void)state;
    for (i = 0; i < ARRAY_LEN(golden); i++) {
        const golden_t *g = &golden[i];
        pl_iec104_params_t p = params_of(g);

        print_message("vector: %s\n", g->name);
        n = pl_test_hex(g->hex, b, sizeof(b));
        m = reencode(b, n, &p, e, sizeof(e));
        assert_int_equal(m, n);
        assert_memory_equal(e, b, n);
        assert_int_equal(pl_iec104_decode(e, m, &f), 0);
        check_golden(g, &f);
    }
}

static void test_golden_replay(void **state)
{
    static trace_t t;
    uint8_t b[PL_IEC104_MAX_APDU];
    pl_iec104_apdu_t f;
    size_t i;
    size_t n;

    (void)state;
    for (i = 0; i < ARRAY_LEN(golden); i++) {
        print_message("vector: %s\n", golden[i].name);
        n = pl_test_hex(golden[i].hex, b, sizeof(b));
        replay_all_ways(b, n, &t);
        assert_int_equal(t.n, 1);
        assert_false(t.broken);
        assert_int_equal(t.pending, 0);
        assert_int_equal(t.ev[0].rc, 0);
        assert_int_equal(t.ev[0].size, n);
        assert_int_equal(pl_iec104_decode(t.ev[0].bytes, n, &f), 0);
        check_golden(&golden[i], &f);
    }
}

static void test_stream_back_to_back(void **state)
{
    static trace_t t;
    static uint8_t s[STREAM_MAX];
    size_t at[ARRAY_LEN(golden)];
    size_t n = 0;
    size_t i;
    pl_iec104_apdu_t f;

    (void)state;
    for (i = 0; i < ARRAY_LEN(golden); i++) {
        at[i] = n;
        n += pl_test_hex(golden[i].hex, s + n, sizeof(s) - n);
    }
    n += pl_test_hex("68 0e 00 00", s + n, sizeof(s) - n); /* a frame still in flight */
    replay_all_ways(s, n, &t);
    assert_false(t.broken);
    assert_int_equal(t.pending, 4);
    assert_int_equal(t.n, ARRAY_LEN(golden));
    for (i = 0; i < t.n; i++) {
        assert_int_equal(t.ev[i].rc, 0);
        assert_int_equal(t.ev[i].at, at[i]);
        assert_int_equal(pl_iec104_decode(t.ev[i].bytes, t.ev[i].size, &f), 0);
        check_golden(&golden[i], &f);
    }
}

/* A frame with a bad control field is delimited and reported; a bad start byte breaks the
 * stream. The same however the bytes are split. */
static void test_stream_with_errors(void **state)
{
    static trace_t t;
    static uint8_t s[STREAM_MAX];
    size_t n = 0;

    (void)state;
    n += pl_test_hex(golden[0].hex, s + n, sizeof(s) - n);       /* S-frame, 6 */
    n += pl_test_hex("68 04 0f 00 00 00", s + n, sizeof(s) - n); /* two U functions */
    n += pl_test_hex(golden[2].hex, s + n, sizeof(s) - n);       /* STARTDT act */
    n += pl_test_hex("69 04 43 00 00 00", s + n, sizeof(s) - n); /* bad start */
    n += pl_test_hex(golden[3].hex, s + n, sizeof(s) - n);       /* never reached */
    replay_all_ways(s, n, &t);
    assert_true(t.broken);
    assert_int_equal(t.n, 4);
    assert_int_equal(t.ev[0].rc, 0);
    assert_int_equal(t.ev[1].rc, PL_EIEC104_CONTROL);
    assert_int_equal(t.ev[1].at, 6);
    assert_int_equal(t.ev[2].rc, 0);
    assert_int_equal(t.ev[3].rc, PL_EIEC104_START);
    assert_int_equal(t.ev[3].at, 18);
    assert_int_equal(t.ev[3].size, 0);
}

/* ---------------------------------------------------------------- tests: validation */

typedef struct {
    const char *name;
    const char *hex;
    int err;      /* pl_iec104_frame's answer on the whole input: an error or a length */
    size_t proof; /* framing errors: bytes needed; fewer give PL_EAGAIN */
    int decode;   /* pl_iec104_decode on the whole input */
} apci_error_t;

static const apci_error_t apci_errors[] = {
    {"start byte 0x69", "69 04 07 00 00 00", PL_EIEC104_START, 1, PL_EIEC104_START},
    {"start byte 0x00", "00", PL_EIEC104_START, 1, PL_EIEC104_START},
    {"length 0", "68 00", PL_EIEC104_LENGTH, 2, PL_EIEC104_LENGTH},
    {"length 3", "68 03 01 00 00", PL_EIEC104_LENGTH, 2, PL_EIEC104_LENGTH},
    {"length 254", "68 fe", PL_EIEC104_LENGTH, 2, PL_EIEC104_LENGTH},
    {"length 255", "68 ff", PL_EIEC104_LENGTH, 2, PL_EIEC104_LENGTH},
    {"I-frame: bit 0 of octet 3 set", "68 05 00 00 01 00 64", 7, 0, PL_EIEC104_CONTROL},
    {"I-frame without an ASDU", "68 04 00 00 00 00", 6, 0, PL_EIEC104_LENGTH},
    {"S-frame: octet 1 0x05", "68 04 05 00 00 00", 6, 0, PL_EIEC104_CONTROL},
    {"S-frame: octet 2 not 0", "68 04 01 01 00 00", 6, 0, PL_EIEC104_CONTROL},
    {"S-frame: bit 0 of octet 3 set", "68 04 01 00 03 00", 6, 0, PL_EIEC104_CONTROL},
    {"S-frame with a payload", "68 05 01 00 00 00 00", 7, 0, PL_EIEC104_LENGTH},
    {"U-frame without a function", "68 04 03 00 00 00", 6, 0, PL_EIEC104_CONTROL},
    {"U-frame with two functions", "68 04 0f 00 00 00", 6, 0, PL_EIEC104_CONTROL},
    {"U-frame with all functions", "68 04 ff 00 00 00", 6, 0, PL_EIEC104_CONTROL},
    {"U-frame: octet 2 not 0", "68 04 07 01 00 00", 6, 0, PL_EIEC104_CONTROL},
    {"U-frame: octet 4 not 0", "68 04 43 00 00 80", 6, 0, PL_EIEC104_CONTROL},
    {"U-frame with a payload", "68 05 43 00 00 00 00", 7, 0, PL_EIEC104_LENGTH},
};

static void test_apci_errors(void **state)
{
    uint8_t b[PL_IEC104_MAX_APDU];
    pl_iec104_apdu_t f;
    size_t i;
    size_t n;
    size_t k;

    (void)state;
    for (i = 0; i < ARRAY_LEN(apci_errors); i++) {
        const apci_error_t *e = &apci_errors[i];

        print_message("case: %s\n", e->name);
        n = pl_test_hex(e->hex, b, sizeof(b));
        assert_int_equal(pl_iec104_frame(b, n, NULL), e->err);
        if (e->err < 0) {
            for (k = 0; k < e->proof; k++)
                assert_int_equal(pl_iec104_frame(b, k, NULL), PL_EAGAIN);
            assert_int_equal(pl_iec104_frame(b, e->proof, NULL), e->err);
        }
        assert_int_equal(pl_iec104_decode(b, n, &f), e->decode);
    }
    /* decode wants exactly one frame */
    n = pl_test_hex("68 04 07 00 00 00 68", b, sizeof(b));
    assert_int_equal(pl_iec104_decode(b, n, &f), PL_EIEC104_LENGTH);
    assert_int_equal(pl_iec104_decode(b, 5, &f), PL_EIEC104_LENGTH);
    assert_int_equal(pl_iec104_decode(b, 0, &f), PL_EIEC104_START);
    /* the bad value stays readable */
    n = pl_test_hex("68 04 0f 00 00 00", b, sizeof(b));
    assert_int_equal(pl_iec104_decode(b, n, &f), PL_EIEC104_CONTROL);
    assert_int_equal(f.kind, PL_IEC104_FRAME_U);
    assert_int_equal(f.func, 0x0C);
}

typedef struct {
    const char *name;
    const char *hex; /* the ASDU alone */
    pl_iec104_params_t params;
    int err;
} asdu_error_t;

static const asdu_error_t asdu_errors[] = {
    {"empty", "", NOPAR, PL_EIEC104_SHORT},
    {"header cut after the COT", "0d 01 03 00", NOPAR, PL_EIEC104_SHORT},
    {"header cut in the CA", "0d 01 03 00 01", NOPAR, PL_EIEC104_SHORT},
    {"header only", "0d 01 03 00 01 00", NOPAR, PL_EIEC104_SHORT},
    {"object cut in the IOA", "0d 01 03 00 01 00 e9 03", NOPAR, PL_EIEC104_SHORT},
    {"object cut in the value", "0d 01 03 00 01 00 e9 03 00 00 00 c0 3f", NOPAR, PL_EIEC104_SHORT},
    {"second object missing", "0d 02 03 00 01 00 e9 03 00 00 00 c0 3f 00", NOPAR, PL_EIEC104_SHORT},
    {"time tag cut", "1e 01 03 00 01 00 e9 03 00 01 8b 27 29 05 27 0c", NOPAR, PL_EIEC104_SHORT},
    {"one byte too many", "0d 01 03 00 01 00 e9 03 00 00 00 c0 3f 00 00", NOPAR,
     PL_EIEC104_TRAILING},
    {"SQ=1 with the object length of SQ=0", "01 82 03 00 01 00 e9 03 00 01 ea 03 00 01", NOPAR,
     PL_EIEC104_TRAILING},
    {"type 0", "00 01 03 00 01 00 00 00 00", NOPAR, PL_EIEC104_TYPE},
    {"type 2 (M_SP_TA_1, CP24Time2a, not in IEC 104)", "02 01 03 00 01 00 00 00 00 00 00 00 00",
     NOPAR, PL_EIEC104_TYPE},
    {"type 255", "ff 01 03 00 01 00", NOPAR, PL_EIEC104_TYPE},
    {"count 0", "0d 00 03 00 01 00", NOPAR, PL_EIEC104_VSQ},
    {"SQ=1, count 0", "0d 80 03 00 01 00", NOPAR, PL_EIEC104_VSQ},
    {"command with 2 objects", "2d 02 06 00 01 00 89 13 00 01 8a 13 00 01", NOPAR, PL_EIEC104_VSQ},
    {"command with SQ=1", "2d 81 06 00 01 00 89 13 00 01", NOPAR, PL_EIEC104_VSQ},
    {"interrogation with SQ=1", "64 81 06 00 01 00 00 00 00 14", NOPAR, PL_EIEC104_VSQ},
    {"end of initialization, 2 objects", "46 02 04 00 01 00 00 00 00 00 00 00 00 00", NOPAR,
     PL_EIEC104_VSQ},
    {"SQ=1 run past IOA 0xffffff", "01 82 03 00 01 00 ff ff ff 01 01", NOPAR, PL_EIEC104_VSQ},
    {"SQ=1 run past IOA 0xff (1-octet IOA)", "01 82 03 01 ff 01 01", {1, 1, 1}, PL_EIEC104_VSQ},
    {"cause 0", "0d 01 00 00 01 00 e9 03 00 00 00 c0 3f 00", NOPAR, PL_EIEC104_COT},
    {"cause 0 with P/N and test bits", "0d 01 c0 00 01 00 e9 03 00 00 00 c0 3f 00", NOPAR,
     PL_EIEC104_COT},
    {"type checked before the length", "02 01 03 00 01 00", NOPAR, PL_EIEC104_TYPE},
    {"COT size 3", "0d 01 03 00 00 01 00", {3, 2, 3}, PL_EINVAL},
    {"CA size 0", "0d 01 03 00 01 00", {2, 0, 3}, PL_EINVAL},
    {"IOA size 4", "0d 01 03 00 01 00", {2, 2, 4}, PL_EINVAL},
};

static void test_asdu_errors(void **state)
{
    uint8_t b[PL_IEC104_MAX_APDU];
    pl_iec104_asdu_t a;
    pl_iec104_object_t o;
    pl_iec104_iter_t it;
    pl_iec104_params_t defaults = PL_IEC104_PARAMS_DEFAULT;
    size_t i;
    size_t n;

    (void)state;
    for (i = 0; i < ARRAY_LEN(asdu_errors); i++) {
        const asdu_error_t *e = &asdu_errors[i];
        pl_iec104_params_t p;

        print_message("case: %s\n", e->name);
        n = pl_test_hex(e->hex, b, sizeof(b));
        if (e->params.cot_size == 0 && e->params.ca_size == 0 && e->params.ioa_size == 0)
            pl_iec104_params_default(&p);
        else
            p = e->params;
        assert_int_equal(pl_iec104_asdu_decode(b, n, &p, &a), e->err);
        assert_null(a.objs);
        assert_int_equal(pl_iec104_asdu_object(&a, 0, &o), PL_EINVAL);
        pl_iec104_iter_init(&it, &a);
        assert_int_equal(pl_iec104_iter_next(&it, &o), 0);
    }
    /* the header stays readable */
    n = pl_test_hex("0d 01 00 05 34 12", b, sizeof(b));
    assert_int_equal(pl_iec104_asdu_decode(b, n, &defaults, &a), PL_EIEC104_COT);
    assert_int_equal(a.type, PL_IEC104_M_ME_NC_1);
    assert_int_equal(a.count, 1);
    assert_int_equal(a.oa, 5);
    assert_int_equal(a.ca, 0x1234);
    assert_null(pl_iec104_type_name(0));
    assert_int_equal(pl_iec104_params_check(NULL), PL_EINVAL);
}

/* Element bits that are reserved are ignored on decode and written 0 on encode. */
static void test_reserved_bits(void **state)
{
    uint8_t b[64];
    uint8_t e[64];
    pl_iec104_params_t p = PL_IEC104_PARAMS_DEFAULT;
    pl_iec104_asdu_t a;
    pl_iec104_object_t o;
    size_t n;
    size_t fitted;
    int m;

    (void)state;
    /* SIQ bits 1-3, SCO bit 1 reserved; CP56 reserved bits in every octet */
    n = pl_test_hex("1e 01 03 00 01 00  e9 03 00 0f  8b 27 69 65 27 fc 9a", b, sizeof(b));
    assert_int_equal(pl_iec104_asdu_decode(b, n, &p, &a), 0);
    assert_int_equal(pl_iec104_asdu_object(&a, 0, &o), 0);
    assert_int_equal(o.v.state, 1);
    assert_int_equal(o.quality, 0);
    assert_int_equal(o.time.min, 41);
    assert_int_equal(o.time.hour, 5);
    assert_int_equal(o.time.month, 12);
    assert_int_equal(o.time.year, 26);
    m = pl_iec104_asdu_encode(e, sizeof(e), &p, &a, &o, 1, &fitted);
    assert_int_equal(m, (int)n);
    n = pl_test_hex("1e 01 03 00 01 00  e9 03 00 01 " TIME_A_HEX, b, sizeof(b));
    assert_memory_equal(e, b, n);
}

/* ---------------------------------------------------------------- tests: encoder */

static void fill_real(pl_iec104_object_t *o, size_t n, uint32_t ioa)
{
    size_t i;

    memset(o, 0, n * sizeof(*o));
    for (i = 0; i < n; i++) {
        o[i].ioa = ioa + (uint32_t)i;
        o[i].v.real = (float)i * 0.25f;
    }
}

static void test_encode_fit(void **state)
{
    static pl_iec104_object_t objs[200];
    uint8_t b[PL_IEC104_MAX_APDU];
    pl_iec104_params_t p = PL_IEC104_PARAMS_DEFAULT;
    pl_iec104_params_t small = {1, 1, 1};
    pl_iec104_asdu_t h = {.type = PL_IEC104_M_ME_NC_1, .cause = PL_IEC104_COT_SPONT, .ca = 1};
    pl_iec104_asdu_t a;
    pl_iec104_object_t o;
    pl_iec104_apdu_t f;
    size_t fitted;
    size_t i;
    int n;

    (void)state;
    /* 249 - 6 = 243 octets for objects: 30 of 3 + 5, or 3 + 48 * 5 with SQ=1 */
    assert_int_equal(pl_iec104_objects_max(&p, PL_IEC104_M_ME_NC_1, 0), 30);
    assert_int_equal(pl_iec104_objects_max(&p, PL_IEC104_M_ME_NC_1, 1), 48);
    assert_int_equal(pl_iec104_objects_max(&p, PL_IEC104_M_ME_TF_1, 0), 16);
    assert_int_equal(pl_iec104_objects_max(&p, PL_IEC104_M_SP_NA_1, 0), 60);
    assert_int_equal(pl_iec104_objects_max(&p, PL_IEC104_M_SP_NA_1, 1), 127); /* VSQ limit */
    assert_int_equal(pl_iec104_objects_max(&small, PL_IEC104_M_SP_NA_1, 0), 122);
    assert_int_equal(pl_iec104_objects_max(&p, PL_IEC104_C_SE_NC_1, 0), 1);
    assert_int_equal(pl_iec104_objects_max(&p, 2, 0), 0);
    assert_int_equal(pl_iec104_objects_max(&(pl_iec104_params_t){0, 2, 3}, 1, 0), 0);

    fill_real(objs, 40, 1001);
    n = pl_iec104_asdu_encode(b + 6, sizeof(b) - 6, &p, &h, objs, 40, &fitted);
    assert_int_equal(fitted, 30);
    assert_int_equal(n, 6 + 30 * 8);
    n = pl_iec104_encode_i(b, sizeof(b), 3, 4, b + 6, (size_t)n);
    assert_int_equal(n, 252);
    assert_int_equal(pl_iec104_frame(b, (size_t)n, NULL), n);
    assert_int_equal(pl_iec104_decode(b, (size_t)n, &f), 0);
    assert_int_equal(pl_iec104_asdu_decode(f.asdu, f.asdu_len, &p, &a), 0);
    assert_int_equal(a.count, 30);
    for (i = 0; i < 30; i++) {
        assert_int_equal(pl_iec104_asdu_object(&a, i, &o), 0);
        assert_same_object(a.type, &o, &objs[i]);
    }
    /* the rest goes into the next ASDU */
    n = pl_iec104_asdu_encode(b, sizeof(b), &p, &h, objs + 30, 10, &fitted);
    assert_int_equal(fitted, 10);
    assert_int_equal(n, 6 + 10 * 8);

    /* SQ=1: 48 fit; a gap in the addresses ends the run */
    h.sq = 1;
    n = pl_iec104_asdu_encode(b, sizeof(b), &p, &h, objs, 40, &fitted);
    assert_int_equal(fitted, 40);
    assert_int_equal(n, 6 + 3 + 40 * 5);
    fill_real(objs, 60, 1);
    n = pl_iec104_asdu_encode(b + 6, sizeof(b) - 6, &p, &h, objs, 60, &fitted);
    assert_int_equal(fitted, 48);
    assert_int_equal(n, 6 + 3 + 48 * 5);
    /* that is the largest APDU there is: length octet 253, 255 octets */
    n = pl_iec104_encode_i(b, sizeof(b), 32767, 0, b + 6, (size_t)n);
    assert_int_equal(n, PL_IEC104_MAX_APDU);
    assert_int_equal(b[1], PL_IEC104_MAX_LENGTH);
    assert_int_equal(pl_iec104_frame(b, (size_t)n, NULL), n);
    assert_int_equal(pl_iec104_decode(b, (size_t)n, &f), 0);
    assert_int_equal(pl_iec104_asdu_decode(f.asdu, f.asdu_len, &p, &a), 0);
    assert_int_equal(pl_iec104_asdu_object(&a, 47, &o), 0);
    assert_int_equal(o.ioa, 48);
    assert_same_object(a.type, &o, &objs[47]);
    objs[7].ioa = 100;
    n = pl_iec104_asdu_encode(b, sizeof(b), &p, &h, objs, 60, &fitted);
    assert_int_equal(fitted, 7);
    assert_int_equal(pl_iec104_asdu_decode(b, (size_t)n, &p, &a), 0);
    assert_int_equal(pl_iec104_asdu_object(&a, 6, &o), 0);
    assert_int_equal(o.ioa, 7);

    /* the buffer limits too; not even one object is PL_ENOBUFS */
    h.sq = 0;
    fill_real(objs, 5, 1);
    n = pl_iec104_asdu_encode(b, 6 + 2 * 8 + 7, &p, &h, objs, 5, &fitted);
    assert_int_equal(fitted, 2);
    assert_int_equal(n, 22);
    n = pl_iec104_asdu_encode(b, 6 + 7, &p, &h, objs, 5, &fitted);
    assert_int_equal(n, PL_ENOBUFS);
    assert_int_equal(fitted, 0);

    /* single-object types take one at a time */
    h.type = PL_IEC104_C_SE_NC_1;
    h.cause = PL_IEC104_COT_ACT;
    n = pl_iec104_asdu_encode(b, sizeof(b), &p, &h, objs, 5, &fitted);
    assert_int_equal(fitted, 1);
    assert_int_equal(n, 6 + 3 + 5);

    /* 127 objects at most */
    memset(objs, 0, sizeof(objs));
    for (i = 0; i < 200; i++)
        objs[i].ioa = (uint32_t)i;
    h.type = PL_IEC104_M_SP_NA_1;
    h.cause = PL_IEC104_COT_INROGEN;
    h.sq = 1;
    n = pl_iec104_asdu_encode(b, sizeof(b), &p, &h, objs, 200, &fitted);
    assert_int_equal(fitted, 127);
    assert_int_equal(n, 6 + 3 + 127);
    assert_int_equal(pl_iec104_asdu_decode(b, (size_t)n, &p, &a), 0);
    assert_int_equal(a.count, 127);
}

static void test_encode_errors(void **state)
{
    uint8_t b[PL_IEC104_MAX_APDU];
    pl_iec104_params_t p = PL_IEC104_PARAMS_DEFAULT;
    pl_iec104_params_t p111 = {1, 1, 1};
    pl_iec104_params_t bad = {2, 3, 3};
    pl_iec104_asdu_t h;
    pl_iec104_object_t o;
    size_t fitted = 99;
    size_t i;
    struct {
        const char *name;
        uint8_t type;
        pl_iec104_object_t o;
    } bad_objs[] = {
        {"SPI 2", PL_IEC104_M_SP_NA_1, {.v.state = 2}},
        {"SIQ with OV", PL_IEC104_M_SP_NA_1, {.quality = PL_IEC104_Q_OV}},
        {"DPI 4", PL_IEC104_M_DP_NA_1, {.v.state = 4}},
        {"step 64", PL_IEC104_M_ST_NA_1, {.v.step = {64, 0}}},
        {"step -65", PL_IEC104_M_ST_NA_1, {.v.step = {-65, 0}}},
        {"transient 2", PL_IEC104_M_ST_NA_1, {.v.step = {0, 2}}},
        {"QDS reserved bit", PL_IEC104_M_ME_NC_1, {.quality = 0x02}},
        {"BCR sequence 32", PL_IEC104_M_IT_NA_1, {.v.counter = {0, 32, 0, 0}}},
        {"BCR with NT", PL_IEC104_M_IT_NA_1, {.quality = PL_IEC104_Q_NT}},
        {"SCS 2", PL_IEC104_C_SC_NA_1, {.v.state = 2}},
        {"QU 32", PL_IEC104_C_DC_NA_1, {.qualifier = 32}},
        {"select 2", PL_IEC104_C_RC_NA_1, {.select = 2}},
        {"QL 128", PL_IEC104_C_SE_NC_1, {.qualifier = 128}},
        {"time: minute 64", PL_IEC104_M_SP_TB_1, {.has_time = 1, .time = {.min = 64}}},
        {"time: year 128", PL_IEC104_C_CS_NA_1, {.has_time = 1, .time = {.year = 128}}},
        {"time: IV 2", PL_IEC104_C_TS_TA_1, {.has_time = 1, .time = {.iv = 2}}},
        {"IOA 0x1000000", PL_IEC104_M_SP_NA_1, {.ioa = 0x1000000u}},
    };

    (void)state;
    memset(&o, 0, sizeof(o));
    memset(&h, 0, sizeof(h));
    h.type = PL_IEC104_M_SP_NA_1;
    h.cause = PL_IEC104_COT_SPONT;
    assert_int_equal(pl_iec104_asdu_encode(b, sizeof(b), &bad, &h, &o, 1, &fitted), PL_EINVAL);
    assert_int_equal(fitted, 0);
    assert_int_equal(pl_iec104_asdu_encode(b, sizeof(b), &p, &h, &o, 0, NULL), PL_EINVAL);
    assert_int_equal(pl_iec104_asdu_encode(b, sizeof(b), &p, &h, NULL, 1, NULL), PL_EINVAL);
    h.type = 2;
    assert_int_equal(pl_iec104_asdu_encode(b, sizeof(b), &p, &h, &o, 1, NULL), PL_EIEC104_TYPE);
    h.type = PL_IEC104_M_SP_NA_1;
    h.cause = 64;
    assert_int_equal(pl_iec104_asdu_encode(b, sizeof(b), &p, &h, &o, 1, NULL), PL_ERANGE);
    h.cause = PL_IEC104_COT_SPONT;
    h.oa = 1;
    assert_int_equal(pl_iec104_asdu_encode(b, sizeof(b), &p111, &h, &o, 1, NULL), PL_ERANGE);
    h.oa = 0;
    h.ca = 256;
    assert_int_equal(pl_iec104_asdu_encode(b, sizeof(b), &p111, &h, &o, 1, NULL), PL_ERANGE);
    o.ioa = 256;
    h.ca = 1;
    assert_int_equal(pl_iec104_asdu_encode(b, sizeof(b), &p111, &h, &o, 1, NULL), PL_ERANGE);
    h.pn = 2;
    assert_int_equal(pl_iec104_asdu_encode(b, sizeof(b), &p, &h, &o, 1, NULL), PL_ERANGE);
    h.pn = 0;
    for (i = 0; i < ARRAY_LEN(bad_objs); i++) {
        print_message("case: %s\n", bad_objs[i].name);
        h.type = bad_objs[i].type;
        assert_int_equal(pl_iec104_asdu_encode(b, sizeof(b), &p, &h, &bad_objs[i].o, 1, &fitted),
                         PL_ERANGE);
    }
    /* the APCI encoders */
    assert_int_equal(pl_iec104_encode_s(b, 5, 1), PL_ENOBUFS);
    assert_int_equal(pl_iec104_encode_u(b, 5, PL_IEC104_U_TESTFR_ACT), PL_ENOBUFS);
    assert_int_equal(pl_iec104_encode_u(b, sizeof(b), 0), PL_EINVAL);
    assert_int_equal(pl_iec104_encode_u(b, sizeof(b), 0x0C), PL_EINVAL);
    assert_int_equal(pl_iec104_encode_u(b, sizeof(b), 0x01), PL_EINVAL);
    assert_int_equal(pl_iec104_encode_i(b, sizeof(b), 0, 0, b + 6, 0), PL_EINVAL);
    assert_int_equal(pl_iec104_encode_i(b, sizeof(b), 0, 0, b + 6, 250), PL_EINVAL);
    assert_int_equal(pl_iec104_encode_i(b, 6 + 9, 0, 0, b + 6, 10), PL_ENOBUFS);
    assert_int_equal(pl_iec104_encode_i(b, sizeof(b), 0, 0, b + 6, 249), 255);
}

/* ---------------------------------------------------------------- tests: sequence numbers */

static void test_seq_wrap(void **state)
{
    uint8_t b[16];
    uint8_t asdu[1] = {0};
    pl_iec104_apdu_t f;

    (void)state;
    assert_int_equal(pl_iec104_seq_add(0, 1), 1);
    assert_int_equal(pl_iec104_seq_add(32767, 1), 0);
    assert_int_equal(pl_iec104_seq_add(32760, 12), 4);
    assert_int_equal(pl_iec104_seq_add(5, 32768), 5);
    assert_int_equal(pl_iec104_seq_add(65535, 0), 32767); /* out-of-range input is reduced */
    assert_int_equal(pl_iec104_seq_diff(0, 32767), 1);
    assert_int_equal(pl_iec104_seq_diff(4, 32760), 12);
    assert_int_equal(pl_iec104_seq_diff(32760, 4), 32756);
    assert_int_equal(pl_iec104_seq_diff(7, 7), 0);

    /* outstanding 32760 .. 4 (12 frames, k = 12), across the wrap */
    assert_int_equal(pl_iec104_ack_check(32760, 32760, 5), 0);
    assert_int_equal(pl_iec104_ack_check(32767, 32760, 5), 7);
    assert_int_equal(pl_iec104_ack_check(0, 32760, 5), 8);
    assert_int_equal(pl_iec104_ack_check(5, 32760, 5), 13);
    assert_int_equal(pl_iec104_ack_check(6, 32760, 5), PL_EIEC104_ACK);
    assert_int_equal(pl_iec104_ack_check(32759, 32760, 5), PL_EIEC104_ACK);
    assert_int_equal(pl_iec104_ack_check(100, 32760, 5), PL_EIEC104_ACK);
    /* nothing outstanding: only the same number is valid */
    assert_int_equal(pl_iec104_ack_check(9, 9, 9), 0);
    assert_int_equal(pl_iec104_ack_check(10, 9, 9), PL_EIEC104_ACK);
    assert_int_equal(pl_iec104_ack_check(8, 9, 9), PL_EIEC104_ACK);
    assert_int_equal(pl_iec104_ack_check(32768, 0, 1), PL_EIEC104_ACK);

    /* numbers are sent modulo 32768 */
    assert_int_equal(pl_iec104_encode_i(b, sizeof(b), 32768 + 5, 65535, asdu, 1), 7);
    assert_int_equal(pl_iec104_decode(b, 7, &f), 0);
    assert_int_equal(f.ns, 5);
    assert_int_equal(f.nr, 32767);
    assert_int_equal(pl_iec104_encode_s(b, sizeof(b), 32768), 6);
    assert_int_equal(pl_iec104_decode(b, 6, &f), 0);
    assert_int_equal(f.nr, 0);
    assert_int_equal(pl_iec104_encode_i(b, sizeof(b), 0x7F, 0x80, asdu, 1), 7);
    assert_int_equal(b[2], 0xFE);
    assert_int_equal(b[3], 0x00);
    assert_int_equal(b[4], 0x00);
    assert_int_equal(b[5], 0x01);
}

/* ---------------------------------------------------------------- tests: CP56Time2a */

static void test_cp56(void **state)
{
    static const struct {
        const char *hex;
        pl_iec104_cp56_t t;
        int64_t ms;
    } ok[] = {
        {TIME_A_HEX, TIME_A, TIME_A_MS},
        {TIME_B_HEX, TIME_B, PL_IEC104_CP56_MIN_MS},
        {TIME_C_HEX, TIME_C, PL_IEC104_CP56_END_MS - 1},
        {"00 00 00 00 41 02 00", {0, 0, 0, 1, 2, 2, 0, 0, 0}, 949363200000LL},    /* 2000-02-01 */
        {"00 00 00 00 5d 02 00", {0, 0, 0, 29, 2, 2, 0, 0, 0}, 951782400000LL},   /* 2000-02-29 */
        {"00 00 00 00 9d 02 18", {0, 0, 0, 29, 4, 2, 24, 0, 0}, 1709164800000LL}, /* 2024 */
    };
    uint8_t b[8];
    uint8_t e[8];
    pl_iec104_cp56_t t;
    pl_iec104_cp56_t u;
    int64_t ms;
    int64_t day;
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_LEN(ok); i++) {
        print_message("time %zu\n", i);
        assert_int_equal(pl_test_hex(ok[i].hex, b, sizeof(b)), 7);
        pl_iec104_cp56_decode(b, &t);
        assert_same_time(&t, &ok[i].t);
        assert_int_equal(pl_iec104_cp56_encode(e, &t), 7);
        assert_memory_equal(e, b, 7);
        assert_int_equal(pl_iec104_cp56_to_unix_ms(&t, &ms), 0);
        assert_int_equal(ms, ok[i].ms);
        assert_int_equal(pl_iec104_cp56_from_unix_ms(ms, &u), 0);
        t.iv = 0; /* from_unix_ms never sets IV or SU */
        t.su = 0;
        assert_same_time(&u, &t);
    }

    /* every day of the century, at its first and its last millisecond */
    for (day = 0; day < 36525; day++) {
        int64_t at = PL_IEC104_CP56_MIN_MS + day * 86400000LL;

        assert_int_equal(pl_iec104_cp56_from_unix_ms(at, &t), 0);
        assert_int_equal(t.hour, 0);
        assert_int_equal(t.ms, 0);
        assert_int_equal(t.wday, (uint8_t)((day + 5) % 7 + 1)); /* 2000-01-01 a Saturday */
        assert_int_equal(pl_iec104_cp56_to_unix_ms(&t, &ms), 0);
        assert_int_equal(ms, at);
        assert_int_equal(pl_iec104_cp56_from_unix_ms(at + 86399999LL, &u), 0);
        assert_int_equal(u.mday, t.mday);
        assert_int_equal(u.hour, 23);
        assert_int_equal(u.min, 59);
        assert_int_equal(u.ms, 59999);
        assert_int_equal(pl_iec104_cp56_to_unix_ms(&u, &ms), 0);
        assert_int_equal(ms, at + 86399999LL);
    }

    /* the range ends */
    assert_int_equal(pl_iec104_cp56_from_unix_ms(PL_IEC104_CP56_MIN_MS - 1, &t), PL_ERANGE);
    assert_int_equal(pl_iec104_cp56_from_unix_ms(PL_IEC104_CP56_END_MS, &t), PL_ERANGE);
    assert_int_equal(pl_iec104_cp56_from_unix_ms(0, &t), PL_ERANGE);

    /* out of calendar range: decoded as sent, not convertible */
    {
        static const struct {
            const char *name;
            const char *hex;
        } bad[] = {
            {"ms 60000", "60 ea 00 00 01 01 00"},   {"ms 65535", "ff ff 00 00 01 01 00"},
            {"minute 60", "00 00 3c 00 01 01 00"},  {"hour 24", "00 00 00 18 01 01 00"},
            {"day 0", "00 00 00 00 00 01 00"},      {"month 0", "00 00 00 00 01 00 00"},
            {"month 13", "00 00 00 00 01 0d 00"},   {"April 31", "00 00 00 00 1f 04 00"},
            {"2001-02-29", "00 00 00 00 1d 02 01"}, {"year 100", "00 00 00 00 01 01 64"},
        };

        for (i = 0; i < ARRAY_LEN(bad); i++) {
            print_message("bad time: %s\n", bad[i].name);
            pl_test_hex(bad[i].hex, b, sizeof(b));
            pl_iec104_cp56_decode(b, &t);
            ms = 42;
            assert_int_equal(pl_iec104_cp56_to_unix_ms(&t, &ms), PL_EIEC104_TIME);
            assert_int_equal(ms, 42);
            assert_int_equal(pl_iec104_cp56_encode(e, &t), 7);
            assert_memory_equal(e, b, 7);
        }
    }
    /* 59999 is the last valid millisecond field; IV and SU do not change the instant */
    pl_test_hex("5f ea 00 00 01 01 00", b, sizeof(b));
    pl_iec104_cp56_decode(b, &t);
    assert_int_equal(pl_iec104_cp56_to_unix_ms(&t, &ms), 0);
    assert_int_equal(ms, PL_IEC104_CP56_MIN_MS + 59999);
    b[2] |= 0x80;
    b[3] |= 0x80;
    pl_iec104_cp56_decode(b, &u);
    assert_int_equal(u.iv, 1);
    assert_int_equal(u.su, 1);
    assert_int_equal(pl_iec104_cp56_to_unix_ms(&u, &day), 0);
    assert_int_equal(day, ms);
}

/* ---------------------------------------------------------------- tests: names */

static void test_names(void **state)
{
    const pl_iec104_type_info_t *ti;
    size_t i = 0;
    size_t count = 0;
    int prev = 0;
    int t;

    (void)state;
    while ((ti = pl_iec104_type_next(&i)) != NULL) {
        assert_true(ti->type > prev); /* ascending */
        prev = ti->type;
        assert_ptr_equal(pl_iec104_type_info(ti->type), ti);
        assert_string_equal(pl_iec104_type_name(ti->type), ti->name);
        assert_int_equal(pl_iec104_type_by_name(ti->name), ti->type);
        assert_int_equal(ti->has_time, strstr(ti->name, "_T") != NULL || ti->type == 103);
        assert_int_equal(ti->control, ti->name[0] == 'C');
        assert_non_null(ti->describes);
        count++;
    }
    assert_int_equal(count, 36);
    assert_null(pl_iec104_type_next(&i));
    assert_string_equal(pl_iec104_type_name(13), "M_ME_NC_1");
    assert_string_equal(pl_iec104_type_name(107), "C_TS_TA_1");
    assert_int_equal(pl_iec104_type_by_name("C_SE_NC_1"), 50);
    assert_int_equal(pl_iec104_type_by_name("c_se_nc_1"), PL_EIEC104_TYPE);
    assert_int_equal(pl_iec104_type_by_name("M_SP_TA_1"), PL_EIEC104_TYPE);
    assert_int_equal(pl_iec104_type_by_name(NULL), PL_EIEC104_TYPE);
    for (t = 0; t < 256; t++) {
        if (pl_iec104_type_info((uint8_t)t) == NULL)
            assert_null(pl_iec104_type_name((uint8_t)t));
    }

    assert_null(pl_iec104_cause_name(0));
    assert_string_equal(pl_iec104_cause_name(1), "per/cyc");
    assert_string_equal(pl_iec104_cause_name(3), "spont");
    assert_string_equal(pl_iec104_cause_name(7), "actcon");
    assert_string_equal(pl_iec104_cause_name(10), "actterm");
    assert_string_equal(pl_iec104_cause_name(13), "file");
    assert_null(pl_iec104_cause_name(14));
    assert_null(pl_iec104_cause_name(19));
    assert_string_equal(pl_iec104_cause_name(20), "inrogen");
    assert_string_equal(pl_iec104_cause_name(21), "inro1");
    assert_string_equal(pl_iec104_cause_name(36), "inro16");
    assert_string_equal(pl_iec104_cause_name(37), "reqcogen");
    assert_string_equal(pl_iec104_cause_name(41), "reqco4");
    assert_null(pl_iec104_cause_name(42));
    assert_string_equal(pl_iec104_cause_name(44), "unknown_type");
    assert_string_equal(pl_iec104_cause_name(47), "unknown_ioa");
    assert_null(pl_iec104_cause_name(48));
    assert_null(pl_iec104_cause_name(63));

    assert_string_equal(pl_iec104_u_name(PL_IEC104_U_STARTDT_ACT), "STARTDT act");
    assert_string_equal(pl_iec104_u_name(PL_IEC104_U_TESTFR_CON), "TESTFR con");
    assert_null(pl_iec104_u_name(0x0C));

    assert_string_equal(pl_err_name(PL_EIEC104_START), "PL_EIEC104_START");
    assert_int_equal(pl_err_code(PL_EIEC104_TIME), 0x050A);
}

/* ---------------------------------------------------------------- frames for tshark */

/* The fields Wireshark's "104apci"/"104asdu" dissectors must show, in the order of the rows
 * of expect.txt (its first line lists them). Values are as Wireshark 4.0 prints them: flags
 * 0/1, a normalized value as value / 32768, a bitstring as its four octets in wire order
 * (Wireshark reads BSI most significant octet first; the standard and plcline least), and
 * C_TS_TA_1's elements as raw data (Wireshark does not dissect them). */
static const char *const columns[] = {
    "iec60870_104.type",
    "iec60870_104.utype",
    "iec60870_104.tx",
    "iec60870_104.rx",
    "iec60870_asdu.typeid",
    "iec60870_asdu.causetx",
    "iec60870_asdu.nega",
    "iec60870_asdu.test",
    "iec60870_asdu.oa",
    "iec60870_asdu.addr",
    "iec60870_asdu.numix",
    "iec60870_asdu.sq",
    "iec60870_asdu.ioa",
    "iec60870_asdu.siq.spi",
    "iec60870_asdu.siq.bl",
    "iec60870_asdu.siq.sb",
    "iec60870_asdu.siq.nt",
    "iec60870_asdu.siq.iv",
    "iec60870_asdu.diq.dpi",
    "iec60870_asdu.diq.bl",
    "iec60870_asdu.diq.sb",
    "iec60870_asdu.diq.nt",
    "iec60870_asdu.diq.iv",
    "iec60870_asdu.vti.v",
    "iec60870_asdu.vti.t",
    "iec60870_asdu.qds.ov",
    "iec60870_asdu.qds.bl",
    "iec60870_asdu.qds.sb",
    "iec60870_asdu.qds.nt",
    "iec60870_asdu.qds.iv",
    "iec60870_asdu.bitstring",
    "iec60870_asdu.normval",
    "iec60870_asdu.scalval",
    "iec60870_asdu.float",
    "iec60870_asdu.bcr.count",
    "iec60870_asdu.bcr.sq",
    "iec60870_asdu.bcr.cy",
    "iec60870_asdu.bcr.ca",
    "iec60870_asdu.bcr.iv",
    "iec60870_asdu.sco.on",
    "iec60870_asdu.sco.qu",
    "iec60870_asdu.sco.se",
    "iec60870_asdu.dco.on",
    "iec60870_asdu.dco.qu",
    "iec60870_asdu.dco.se",
    "iec60870_asdu.rco.up",
    "iec60870_asdu.rco.qu",
    "iec60870_asdu.rco.se",
    "iec60870_asdu.qos.ql",
    "iec60870_asdu.qos.se",
    "iec60870_asdu.coi_r",
    "iec60870_asdu.coi_i",
    "iec60870_asdu.qoi",
    "iec60870_asdu.rqt",
    "iec60870_asdu.frz",
    "iec60870_asdu.cp56time.ms",
    "iec60870_asdu.cp56time.min",
    "iec60870_asdu.cp56time.iv",
    "iec60870_asdu.cp56time.hour",
    "iec60870_asdu.cp56time.su",
    "iec60870_asdu.cp56time.day",
    "iec60870_asdu.cp56time.dow",
    "iec60870_asdu.cp56time.month",
    "iec60870_asdu.cp56time.year",
    "iec60870_asdu.cp56time",
    "iec60870_asdu.rawdata",
};

#define COL_OBJECTS 12u /* columns before this one are per frame, the rest per object */

static int type_in(uint8_t t, uint8_t a, uint8_t b)
{
    return t == a || t == b;
}

static int flag(char *s, size_t cap, unsigned v, unsigned bit)
{
    return snprintf(s, cap, "%u", (v & bit) != 0u);
}

/* One object's value for value column `c`; returns 0 when the type has no such field. */
static int object_column(size_t c, uint8_t t, const pl_iec104_object_t *o, char *s, size_t cap)
{
    const char *name = columns[c] + strlen("iec60870_asdu.");
    int qds = t == PL_IEC104_M_ST_NA_1 || t == PL_IEC104_M_ST_TB_1 || t == PL_IEC104_M_BO_NA_1 ||
              t == PL_IEC104_M_BO_TB_1 || (t >= PL_IEC104_M_ME_NA_1 && t <= PL_IEC104_M_ME_NC_1) ||
              (t >= PL_IEC104_M_ME_TD_1 && t <= PL_IEC104_M_ME_TF_1);
    const pl_iec104_type_info_t *ti = pl_iec104_type_info(t);
    uint8_t tb[PL_IEC104_CP56_LEN];
    uint32_t b = o->v.bits;

    if (strcmp(name, "ioa") == 0)
        return snprintf(s, cap, "%u", (unsigned)o->ioa);
    if (strncmp(name, "siq.", 4) == 0 && type_in(t, PL_IEC104_M_SP_NA_1, PL_IEC104_M_SP_TB_1))
        return strcmp(name, "siq.spi") == 0  ? snprintf(s, cap, "%u", o->v.state)
               : strcmp(name, "siq.bl") == 0 ? flag(s, cap, o->quality, PL_IEC104_Q_BL)
               : strcmp(name, "siq.sb") == 0 ? flag(s, cap, o->quality, PL_IEC104_Q_SB)
               : strcmp(name, "siq.nt") == 0 ? flag(s, cap, o->quality, PL_IEC104_Q_NT)
                                             : flag(s, cap, o->quality, PL_IEC104_Q_IV);
    if (strncmp(name, "diq.", 4) == 0 && type_in(t, PL_IEC104_M_DP_NA_1, PL_IEC104_M_DP_TB_1))
        return strcmp(name, "diq.dpi") == 0  ? snprintf(s, cap, "%u", o->v.state)
               : strcmp(name, "diq.bl") == 0 ? flag(s, cap, o->quality, PL_IEC104_Q_BL)
               : strcmp(name, "diq.sb") == 0 ? flag(s, cap, o->quality, PL_IEC104_Q_SB)
               : strcmp(name, "diq.nt") == 0 ? flag(s, cap, o->quality, PL_IEC104_Q_NT)
                                             : flag(s, cap, o->quality, PL_IEC104_Q_IV);
    if (strncmp(name, "vti.", 4) == 0 && type_in(t, PL_IEC104_M_ST_NA_1, PL_IEC104_M_ST_TB_1))
        return strcmp(name, "vti.v") == 0 ? snprintf(s, cap, "%d", o->v.step.value)
                                          : snprintf(s, cap, "%u", o->v.step.transient);
    if (strncmp(name, "qds.", 4) == 0 && qds)
        return strcmp(name, "qds.ov") == 0   ? flag(s, cap, o->quality, PL_IEC104_Q_OV)
               : strcmp(name, "qds.bl") == 0 ? flag(s, cap, o->quality, PL_IEC104_Q_BL)
               : strcmp(name, "qds.sb") == 0 ? flag(s, cap, o->quality, PL_IEC104_Q_SB)
               : strcmp(name, "qds.nt") == 0 ? flag(s, cap, o->quality, PL_IEC104_Q_NT)
                                             : flag(s, cap, o->quality, PL_IEC104_Q_IV);
    if (strcmp(name, "bitstring") == 0 && (type_in(t, PL_IEC104_M_BO_NA_1, PL_IEC104_M_BO_TB_1) ||
                                           type_in(t, PL_IEC104_C_BO_NA_1, PL_IEC104_C_BO_TA_1)))
        return snprintf(s, cap, "0x%02x%02x%02x%02x", b & 0xFFu, (b >> 8) & 0xFFu,
                        (b >> 16) & 0xFFu, b >> 24);
    if (strcmp(name, "normval") == 0 && (type_in(t, PL_IEC104_M_ME_NA_1, PL_IEC104_M_ME_TD_1) ||
                                         type_in(t, PL_IEC104_C_SE_NA_1, PL_IEC104_C_SE_TA_1)))
        return snprintf(s, cap, "%g", (double)((float)o->v.nva / 32768.0f));
    if (strcmp(name, "scalval") == 0 && (type_in(t, PL_IEC104_M_ME_NB_1, PL_IEC104_M_ME_TE_1) ||
                                         type_in(t, PL_IEC104_C_SE_NB_1, PL_IEC104_C_SE_TB_1)))
        return snprintf(s, cap, "%d", o->v.sva);
    if (strcmp(name, "float") == 0 && (type_in(t, PL_IEC104_M_ME_NC_1, PL_IEC104_M_ME_TF_1) ||
                                       type_in(t, PL_IEC104_C_SE_NC_1, PL_IEC104_C_SE_TC_1)))
        return snprintf(s, cap, "%g", (double)o->v.real);
    if (strncmp(name, "bcr.", 4) == 0 && type_in(t, PL_IEC104_M_IT_NA_1, PL_IEC104_M_IT_TB_1))
        return strcmp(name, "bcr.count") == 0 ? snprintf(s, cap, "%d", (int)o->v.counter.value)
               : strcmp(name, "bcr.sq") == 0  ? snprintf(s, cap, "%u", o->v.counter.seq)
               : strcmp(name, "bcr.cy") == 0  ? snprintf(s, cap, "%u", o->v.counter.carry)
               : strcmp(name, "bcr.ca") == 0  ? snprintf(s, cap, "%u", o->v.counter.adjusted)
                                              : flag(s, cap, o->quality, PL_IEC104_Q_IV);
    if ((strncmp(name, "sco.", 4) == 0 && type_in(t, PL_IEC104_C_SC_NA_1, PL_IEC104_C_SC_TA_1)) ||
        (strncmp(name, "dco.", 4) == 0 && type_in(t, PL_IEC104_C_DC_NA_1, PL_IEC104_C_DC_TA_1)) ||
        (strncmp(name, "rco.", 4) == 0 && type_in(t, PL_IEC104_C_RC_NA_1, PL_IEC104_C_RC_TA_1)))
        return snprintf(s, cap, "%u",
                        strcmp(name + 4, "qu") == 0   ? o->qualifier
                        : strcmp(name + 4, "se") == 0 ? o->select
                                                      : o->v.state);
    if (strncmp(name, "qos.", 4) == 0 && t >= PL_IEC104_C_SE_NA_1 &&
        (t <= PL_IEC104_C_SE_NC_1 || (t >= PL_IEC104_C_SE_TA_1 && t <= PL_IEC104_C_SE_TC_1)))
        return snprintf(s, cap, "%u", strcmp(name, "qos.ql") == 0 ? o->qualifier : o->select);
    if (strncmp(name, "coi_", 4) == 0 && t == PL_IEC104_M_EI_NA_1)
        return snprintf(s, cap, "%u", name[4] == 'r' ? o->qualifier & 0x7Fu : o->qualifier >> 7);
    if (strcmp(name, "qoi") == 0 && t == PL_IEC104_C_IC_NA_1)
        return snprintf(s, cap, "%u", o->qualifier);
    if ((strcmp(name, "rqt") == 0 || strcmp(name, "frz") == 0) && t == PL_IEC104_C_CI_NA_1)
        return snprintf(s, cap, "%u",
                        name[0] == 'r' ? o->qualifier & PL_IEC104_QCC_RQT_MASK
                                       : (unsigned)o->qualifier >> PL_IEC104_QCC_FRZ_SHIFT);
    if (strncmp(name, "cp56time.", 9) == 0 && ti->has_time && t != PL_IEC104_C_TS_TA_1) {
        const pl_iec104_cp56_t *tm = &o->time;
        const char *f = name + 9;

        return snprintf(s, cap, "%u",
                        strcmp(f, "ms") == 0      ? tm->ms
                        : strcmp(f, "min") == 0   ? tm->min
                        : strcmp(f, "iv") == 0    ? tm->iv
                        : strcmp(f, "hour") == 0  ? tm->hour
                        : strcmp(f, "su") == 0    ? tm->su
                        : strcmp(f, "day") == 0   ? tm->mday
                        : strcmp(f, "dow") == 0   ? tm->wday
                        : strcmp(f, "month") == 0 ? tm->month
                                                  : tm->year);
    }
    if (strcmp(name, "cp56time") == 0 && ti->has_time && t != PL_IEC104_C_TS_TA_1) {
        /* The instant, through plcline's calendar arithmetic and the C library's. Wireshark
         * reads years 70..99 as 1970..1999 and takes SU as one hour ahead of the time it
         * shows; where those rules apply its reading is computed with timegm instead. */
        const pl_iec104_cp56_t *tm56 = &o->time;
        int64_t ms;
        time_t secs;
        struct tm tm;
        char day[32];

        if (tm56->year >= 70 || tm56->su) {
            memset(&tm, 0, sizeof(tm));
            tm.tm_year = tm56->year < 70 ? tm56->year + 100 : tm56->year;
            tm.tm_mon = tm56->month - 1;
            tm.tm_mday = tm56->mday;
            tm.tm_hour = tm56->hour;
            tm.tm_min = tm56->min;
            ms = (int64_t)timegm(&tm) * 1000 + tm56->ms - (tm56->su ? 3600000 : 0);
        } else if (pl_iec104_cp56_to_unix_ms(tm56, &ms) != 0) {
            return 0;
        }
        secs = (time_t)(ms / 1000);
        if (gmtime_r(&secs, &tm) == NULL ||
            strftime(day, sizeof(day), "%b %e, %Y %H:%M:%S", &tm) == 0)
            return 0;
        return snprintf(s, cap, "%s.%03d000000 UTC", day, (int)(ms % 1000));
    }
    if (strcmp(name, "rawdata") == 0 && t == PL_IEC104_C_TS_TA_1) {
        if (pl_iec104_cp56_encode(tb, &o->time) < 0)
            return 0;
        return snprintf(s, cap, "%02x%02x%02x%02x%02x%02x%02x%02x%02x", o->v.tsc & 0xFFu,
                        o->v.tsc >> 8, tb[0], tb[1], tb[2], tb[3], tb[4], tb[5], tb[6]);
    }
    return 0;
}

/* The expected row of one golden vector. */
static void expect_row(FILE *ex, const golden_t *g)
{
    static const unsigned kind_code[] = {0u, 1u, 3u}; /* Wireshark's I, S, U */
    char cell[64];
    size_t c;
    size_t i;

    for (c = 0; c < ARRAY_LEN(columns); c++) {
        if (c > 0)
            fputc('|', ex);
        switch (c) {
        case 0:
            fprintf(ex, "0x%08x", kind_code[g->kind]);
            continue;
        case 1:
            if (g->kind == PL_IEC104_FRAME_U)
                fprintf(ex, "0x%08x", (unsigned)g->func >> 2);
            continue;
        case 2:
            if (g->kind == PL_IEC104_FRAME_I)
                fprintf(ex, "%u", g->ns);
            continue;
        case 3:
            if (g->kind != PL_IEC104_FRAME_U)
                fprintf(ex, "%u", g->nr);
            continue;
        default:
            break;
        }
        if (g->kind != PL_IEC104_FRAME_I)
            continue;
        switch (c) {
        case 4:
            fprintf(ex, "%u", g->type);
            continue;
        case 5:
            fprintf(ex, "%u", g->cause);
            continue;
        case 6:
            fprintf(ex, "%u", g->pn);
            continue;
        case 7:
            fprintf(ex, "%u", g->test);
            continue;
        case 8:
            fprintf(ex, "%u", g->oa);
            continue;
        case 9:
            fprintf(ex, "%u", g->ca);
            continue;
        case 10:
            fprintf(ex, "%u", g->count);
            continue;
        case 11:
            fprintf(ex, "%u", g->sq);
            continue;
        default:
            break;
        }
        for (i = 0; i < g->count && i < VEC_OBJS; i++) {
            if (object_column(c, g->type, &g->objs[i], cell, sizeof(cell)) <= 0)
                break;
            fprintf(ex, "%s%s", i > 0 ? ";" : "", cell);
        }
    }
    fputc('\n', ex);
}

/* Writes every golden vector with the IEC 104 field sizes as the encoder produces it, for
 * text2pcap -D: the controlled station's frames (monitoring direction, confirmations and
 * terminations, U con, S-frames) "I" (from port 2404), the controlling station's "O". And
 * per frame the row of fields a dissector must show. */
static int write_frames(const char *dir)
{
    char path[512];
    FILE *fr;
    FILE *ex;
    uint8_t b[PL_IEC104_MAX_APDU];
    uint8_t e[PL_IEC104_MAX_APDU];
    size_t i;
    size_t k;

    snprintf(path, sizeof(path), "%s/frames.txt", dir);
    fr = fopen(path, "w");
    snprintf(path, sizeof(path), "%s/expect.txt", dir);
    ex = fopen(path, "w");
    if (fr == NULL || ex == NULL)
        return 1;
    for (k = 0; k < ARRAY_LEN(columns); k++)
        fprintf(ex, "%s%s", k > 0 ? " " : "", columns[k]);
    fputc('\n', ex);
    for (i = 0; i < ARRAY_LEN(golden); i++) {
        const golden_t *g = &golden[i];
        pl_iec104_params_t p = params_of(g);
        int inbound;
        size_t n;
        size_t m;

        if (g->params.cot_size != 0) /* a dissector assumes the IEC 104 sizes */
            continue;
        n = pl_test_hex(g->hex, b, sizeof(b));
        m = reencode(b, n, &p, e, sizeof(e));
        if (g->kind == PL_IEC104_FRAME_I)
            inbound = !pl_iec104_type_info(g->type)->control || g->cause == PL_IEC104_COT_ACTCON ||
                      g->cause == PL_IEC104_COT_ACTTERM;
        else if (g->kind == PL_IEC104_FRAME_U)
            inbound = (g->func & (PL_IEC104_U_STARTDT_CON | PL_IEC104_U_STOPDT_CON |
                                  PL_IEC104_U_TESTFR_CON)) != 0;
        else
            inbound = 1;
        fprintf(fr, "%c 000000", inbound ? 'I' : 'O');
        for (k = 0; k < m; k++)
            fprintf(fr, " %02x", e[k]);
        fprintf(fr, "\n\n");
        expect_row(ex, g);
    }
    return fclose(fr) != 0 || fclose(ex) != 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_decode),
        cmocka_unit_test(test_golden_reencode),
        cmocka_unit_test(test_golden_replay),
        cmocka_unit_test(test_stream_back_to_back),
        cmocka_unit_test(test_stream_with_errors),
        cmocka_unit_test(test_apci_errors),
        cmocka_unit_test(test_asdu_errors),
        cmocka_unit_test(test_reserved_bits),
        cmocka_unit_test(test_encode_fit),
        cmocka_unit_test(test_encode_errors),
        cmocka_unit_test(test_seq_wrap),
        cmocka_unit_test(test_cp56),
        cmocka_unit_test(test_names),
    };

    if (argc == 3 && strcmp(argv[1], "--frames") == 0)
        return write_frames(argv[2]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
