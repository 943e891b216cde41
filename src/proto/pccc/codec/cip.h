/* SPDX-License-Identifier: MIT */
/*
 * CIP codec (ODVA "The CIP Networks Library", Volume 1: Common Industrial Protocol):
 * Message Router requests and responses (Vol 1, 2-4), padded EPATHs (Vol 1, Appendix C-1),
 * the plcline route-path text ("1,0" / "1,0,2,10.0.0.5"), and the Connection Manager
 * services used by PCCC over EtherNet/IP (Vol 1, 3-5.6): Unconnected Send (0x52), Forward
 * Open (0x54) and Forward Close (0x4E), with the general and extended status tables
 * (Vol 1, Appendix B and Table 3-5.33).
 *
 * Little-endian fields, read and written byte by byte. Decoders fill fixed fields plus
 * (pointer, length) views into the input; encoders write into (buf, cap) and return the
 * bytes written or PL_ENOBUFS. No I/O, no clock, no allocation, no state between calls.
 * CIP general and extended status are REMOTE status: decoded structs keep them as raw
 * numbers; they are never mapped onto PL_E* codes.
 */
#ifndef PLCLINE_CODEC_CIP_H
#define PLCLINE_CODEC_CIP_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ services */

/* Common services (Vol 1, Appendix A, Table) and object-specific ones used here. */
#define PL_CIP_SVC_GET_ATTRIBUTES_ALL   0x01u
#define PL_CIP_SVC_MULTIPLE_SERVICE     0x0Au
#define PL_CIP_SVC_GET_ATTRIBUTE_SINGLE 0x0Eu
#define PL_CIP_SVC_SET_ATTRIBUTE_SINGLE 0x10u
#define PL_CIP_SVC_FORWARD_CLOSE        0x4Eu /* Connection Manager, Vol 1 3-5.6.3 */
#define PL_CIP_SVC_UNCONNECTED_SEND     0x52u /* Connection Manager, Vol 1 3-5.6.4 */
#define PL_CIP_SVC_FORWARD_OPEN         0x54u /* Connection Manager, Vol 1 3-5.6.1 */
#define PL_CIP_SVC_LARGE_FORWARD_OPEN   0x5Bu /* Connection Manager, Vol 1 3-5.6.2 */
#define PL_CIP_SVC_EXECUTE_PCCC         0x4Bu /* PCCC object (vendor specific; seed 001) */
#define PL_CIP_SVC_DHPLUS_PCCC          0x4Cu /* PCCC object, "DH+ like" (seed 001) */
#define PL_CIP_SVC_LOCAL_PCCC           0x4Du /* PCCC object, local (seed 001) */
#define PL_CIP_SVC_REPLY                0x80u /* Vol 1, 2-4.2: reply bit of the service code */
#define PL_CIP_SVC_MASK                 0x7Fu

/* Classes (Vol 1, Table 5-1.1; 0x67 is Rockwell's PCCC object, seed 001). */
#define PL_CIP_CLASS_IDENTITY       0x01u
#define PL_CIP_CLASS_MESSAGE_ROUTER 0x02u
#define PL_CIP_CLASS_CONN_MANAGER   0x06u
#define PL_CIP_CLASS_PCCC           0x67u
#define PL_CIP_CM_INSTANCE          1u /* the Connection Manager instance (Vol 1, 3-5.3) */

#define PL_CIP_REQ_HEADER_LEN 2u /* service + request path size (Vol 1, Table 2-4.1) */
#define PL_CIP_RSP_HEADER_LEN 4u /* service, reserved, status, ext size (Vol 1, 2-4.2) */

/* ---------------------------------------------------------- EPATH segments */

/* Segment type byte (Vol 1, Appendix C-1.3): type in bits 7-5. */
#define PL_CIP_SEG_TYPE_MASK 0xE0u
#define PL_CIP_SEG_PORT      0x00u /* C-1.4.1 */
#define PL_CIP_SEG_LOGICAL   0x20u /* C-1.4.2 */
#define PL_CIP_SEG_DATA      0x80u /* C-1.4.4: simple data segment 0x80 */
#define PL_CIP_SEG_SYMBOL    0x91u /* C-1.4.4: ANSI extended symbol segment */

/* Port segment (C-1.4.1): bit 4 extended link address size, bits 3-0 port identifier
 * (15: a 16-bit port number follows). */
#define PL_CIP_PORT_EXT_LINK  0x10u
#define PL_CIP_PORT_ID_MASK   0x0Fu
#define PL_CIP_PORT_EXTENDED  0x0Fu
#define PL_CIP_PORT_BACKPLANE 1u /* ControlLogix/SLC chassis backplane */
#define PL_CIP_PORT_ETHERNET  2u /* EtherNet/IP port of a 1756-ENBT-like module */

/* Logical segment (C-1.4.2): logical type in bits 4-2, format in bits 1-0. The "kind" of a
 * decoded logical segment is its 8-bit segment byte: 0x20 class, 0x24 instance, ... */
#define PL_CIP_LOGICAL_TYPE_MASK 0x1Cu
#define PL_CIP_LOGICAL_FMT_MASK  0x03u
#define PL_CIP_LOGICAL_FMT_8     0x00u
#define PL_CIP_LOGICAL_FMT_16    0x01u
#define PL_CIP_SEG_CLASS         0x20u
#define PL_CIP_SEG_INSTANCE      0x24u
#define PL_CIP_SEG_MEMBER        0x28u
#define PL_CIP_SEG_CONN_POINT    0x2Cu
#define PL_CIP_SEG_ATTRIBUTE     0x30u
#define PL_CIP_SEG_KEY           0x34u /* special: electronic key (C-1.4.2.2) */
#define PL_CIP_KEY_FORMAT        0x04u /* electronic key format 4 */
#define PL_CIP_KEY_LEN           10u   /* 0x34 0x04 + 8 bytes of key */

/* One decoded segment of a padded EPATH. */
typedef struct {
    uint8_t kind;         /* PL_CIP_SEG_PORT, PL_CIP_SEG_CLASS..KEY, _DATA or _SYMBOL */
    uint32_t value;       /* logical value; port number for a port segment */
    const uint8_t *bytes; /* port: link address; key: 8 key bytes; data/symbol: payload */
    size_t bytes_len;     /* data: bytes (2 * words); symbol: characters */
    size_t size;          /* bytes the segment takes in the path, padding included */
} pl_cip_seg_t;

/* Decodes the segment at path[0..len). Returns the bytes it takes (> 0), or
 *   PL_ECIP_PATH     the segment runs past `len`
 *   PL_ECIP_SEGMENT  unknown or unsupported segment type/format, a reserved port 0, an
 *                    extended link address of size 0, or a non-zero pad byte */
int pl_cip_seg_decode(const uint8_t *path, size_t len, pl_cip_seg_t *seg);

/* Checks that path[0..len) is a whole number of valid segments. Returns the segment count or
 * a pl_cip_seg_decode error. */
int pl_cip_path_check(const uint8_t *path, size_t len);

/* Encodes a logical segment of kind PL_CIP_SEG_CLASS/INSTANCE/MEMBER/CONN_POINT/ATTRIBUTE:
 * 8-bit form for values <= 255 (2 bytes), else the padded 16-bit form (4 bytes). Returns
 * the bytes written, PL_ENOBUFS, PL_EINVAL (other kind) or PL_ERANGE (value > 0xFFFF). */
int pl_cip_seg_encode_logical(uint8_t *buf, size_t cap, uint8_t kind, uint32_t value);

/* Encodes a port segment: port 1..14 in the segment byte, 15..65535 as an extended port.
 * A 1-byte link without extended port gives the short form ("01 00"); any other link uses the
 * extended link address size form, padded to even. Returns bytes written, PL_ENOBUFS,
 * PL_EINVAL (port 0, link_len 0) or PL_ERANGE (link_len > 255). */
int pl_cip_seg_encode_port(uint8_t *buf, size_t cap, uint16_t port, const uint8_t *link,
                           size_t link_len);

/* Encodes the usual logical path: class, then instance (8- or 16-bit forms). Returns bytes
 * written (4..8) or a pl_cip_seg_encode_logical error. */
int pl_cip_path_encode(uint8_t *buf, size_t cap, uint16_t class_id, uint16_t instance);

/* A logical path decoded into its parts. */
#define PL_CIP_HAS_CLASS      0x01u
#define PL_CIP_HAS_INSTANCE   0x02u
#define PL_CIP_HAS_ATTRIBUTE  0x04u
#define PL_CIP_HAS_CONN_POINT 0x08u
#define PL_CIP_HAS_MEMBER     0x10u
typedef struct {
    uint8_t has; /* PL_CIP_HAS_* bits */
    uint32_t class_id;
    uint32_t instance;
    uint32_t attribute;
    uint32_t conn_point;
    uint32_t member;
} pl_cip_lpath_t;

/* Decodes a path made of logical segments (an electronic key is skipped). Returns 0, a
 * pl_cip_seg_decode error, or PL_ECIP_SEGMENT for a port, data or symbol segment or a
 * logical type given twice. */
int pl_cip_path_logical(const uint8_t *path, size_t len, pl_cip_lpath_t *out);

/* Parses the plcline route-path text into port segments: comma-separated "port,link" pairs,
 * spaces allowed around items, e.g. "1,0" (backplane, slot 0 -> 01 00) or "1,0,2,10.0.0.5"
 * (-> 01 00 12 08 "10.0.0.5"). A link is a decimal 0..255, or a dotted IPv4 address sent as
 * ASCII in an extended link address. Ports are decimal 1..65535. An empty text gives 0 bytes.
 * Returns the bytes written (always even), PL_ENOBUFS, or PL_ECIP_ROUTE with *err_at (may be
 * NULL) set to the offset in `text` of the item that is wrong. */
int pl_cip_route_parse(const char *text, uint8_t *buf, size_t cap, size_t *err_at);

/* ---------------------------------------------------- Message Router */

/* A Message Router request (Vol 1, Table 2-4.1). Views point into the input. */
typedef struct {
    uint8_t service;
    uint8_t path_words;
    const uint8_t *path; /* path_words * 2 bytes */
    size_t path_len;
    const uint8_t *data; /* request data; NULL when empty */
    size_t data_len;
} pl_cip_req_t;

/* A Message Router response (Vol 1, Table 2-4.2). */
typedef struct {
    uint8_t service;  /* reply service: request service | 0x80 */
    uint8_t reserved; /* reported as sent */
    uint8_t status;   /* general status, raw (remote) */
    uint8_t ext_words;
    const uint8_t *ext;  /* additional status words, little-endian; ext_words * 2 bytes */
    uint16_t ext_status; /* the first additional status word (0 when none), raw (remote) */
    const uint8_t *data; /* response data; NULL when empty */
    size_t data_len;
} pl_cip_rsp_t;

/* Decodes a request of exactly `len` bytes. Returns 0 or
 *   PL_ECIP_SHORT    fewer than 2 bytes
 *   PL_ECIP_SERVICE  the reply bit is set (a response, not a request)
 *   PL_ECIP_PATH     the path size runs past the data
 *   a pl_cip_path_check error for a malformed path */
int pl_cip_req_decode(const uint8_t *buf, size_t len, pl_cip_req_t *out);

/* Encodes a request from req->service, req->path[0..path_len) (even length) and
 * req->data[0..data_len) (memmove). path_words is taken from path_len. Returns bytes written,
 * PL_ENOBUFS, PL_EINVAL (odd path length, reply bit set) or PL_ERANGE (path > 510 bytes). */
int pl_cip_req_encode(uint8_t *buf, size_t cap, const pl_cip_req_t *req);

/* Decodes a response of exactly `len` bytes. Returns 0 or
 *   PL_ECIP_SHORT    fewer than 4 bytes
 *   PL_ECIP_SERVICE  the reply bit is clear
 *   PL_ECIP_LENGTH   the additional status runs past the data */
int pl_cip_rsp_decode(const uint8_t *buf, size_t len, pl_cip_rsp_t *out);

/* Reads additional status word `i` (< ext_words) of a decoded response; 0 past the end. */
uint16_t pl_cip_rsp_ext(const pl_cip_rsp_t *rsp, size_t i);

/* Encodes a response to `req_service` (the reply bit is added): general `status`,
 * ext[0..ext_words) additional status words, data[0..data_len) (memmove). Returns bytes
 * written, PL_ENOBUFS or PL_EINVAL (ext NULL with ext_words > 0). */
int pl_cip_rsp_encode(uint8_t *buf, size_t cap, uint8_t req_service, uint8_t status,
                      const uint16_t *ext, uint8_t ext_words, const uint8_t *data, size_t data_len);

/* ---------------------------------------------------- Connection Manager */

/* Priority/time tick byte (Vol 1, 3-5.6.1.2): bit 4 priority, bits 3-0 tick time (2^n ms).
 * Timeout = timeout_ticks * 2^tick ms. */
#define PL_CIP_TICK_TIME_MASK 0x0Fu
#define PL_CIP_TICK_PRIORITY  0x10u

/* Unconnected Send request data (Vol 1, Table 3-5.20). */
#define PL_CIP_UCMM_FIXED_LEN 4u /* priority/tick, timeout ticks, message request size */
typedef struct {
    uint8_t priority_tick;
    uint8_t timeout_ticks;
    const uint8_t *msg; /* the embedded Message Router request */
    size_t msg_len;     /* <= 65535 */
    uint8_t pad;        /* the pad byte after an odd message, as sent (0 when even) */
    uint8_t route_words;
    uint8_t reserved;
    const uint8_t *route; /* route path, route_words * 2 bytes */
    size_t route_len;
} pl_cip_ucmm_t;

/* Decodes the Unconnected Send inside a decoded request. Returns 0 or
 *   PL_ECIP_SERVICE  req->service is not 0x52
 *   PL_ECIP_SHORT    fixed fields or route path size/reserved cut off
 *   PL_ECIP_LENGTH   message request size runs past the data, or bytes after the route path
 *   PL_ECIP_PATH     route path size runs past the data
 *   a pl_cip_path_check error for a malformed route path
 * The embedded message is not decoded (use pl_cip_req_decode on u->msg). */
int pl_cip_ucmm_decode(const pl_cip_req_t *req, pl_cip_ucmm_t *out);

/* Where pl_cip_ucmm_encode() puts the embedded message: after the 0x52 request header with
 * its 4-byte path to the Connection Manager and the fixed fields. */
#define PL_CIP_UCMM_MSG_OFFSET (PL_CIP_REQ_HEADER_LEN + 4u + PL_CIP_UCMM_FIXED_LEN) /* 10 */

/* Encodes a whole Unconnected Send request (0x52 to class 6 instance 1) carrying u->msg and
 * u->route (even length). The pad, route_words and reserved fields of `u` are ignored (0 and
 * the route length are written). u->msg may already sit at buf + PL_CIP_UCMM_MSG_OFFSET
 * (encoded in place: it is then not copied). Returns bytes written, PL_ENOBUFS, PL_EINVAL
 * (odd route) or PL_ERANGE (message > 65535, route > 510 bytes). */
int pl_cip_ucmm_encode(uint8_t *buf, size_t cap, const pl_cip_ucmm_t *u);

/* The remaining path size of an unsuccessful Unconnected Send reply (Vol 1, Table 3-5.21:
 * present only with routing errors). Returns 1 with *words set, 0 when absent, or
 *   PL_ECIP_SERVICE  rsp is not an Unconnected Send reply (0xD2)
 *   PL_EINVAL        rsp->status is 0 (success replies come from the embedded service)
 *   PL_ECIP_LENGTH   more than the remaining path size and its reserved byte */
int pl_cip_ucmm_remaining(const pl_cip_rsp_t *rsp, uint8_t *words);

/* Network connection parameters of Forward Open (Vol 1, 3-5.5.1.1): 16-bit word. */
#define PL_CIP_NCP_SIZE_MASK       0x01FFu /* connection size in bytes */
#define PL_CIP_NCP_VARIABLE        0x0200u /* bit 9: variable (1) or fixed (0) size */
#define PL_CIP_NCP_PRIORITY_SHIFT  10u     /* bits 11-10 */
#define PL_CIP_NCP_PRIORITY_MASK   0x0C00u
#define PL_CIP_NCP_TYPE_SHIFT      13u /* bits 14-13 */
#define PL_CIP_NCP_TYPE_MASK       0x6000u
#define PL_CIP_NCP_REDUNDANT       0x8000u /* bit 15: redundant owner */
#define PL_CIP_PRIORITY_LOW        0u
#define PL_CIP_PRIORITY_HIGH       1u
#define PL_CIP_PRIORITY_SCHEDULED  2u
#define PL_CIP_PRIORITY_URGENT     3u
#define PL_CIP_CONN_TYPE_NULL      0u
#define PL_CIP_CONN_TYPE_MULTICAST 1u
#define PL_CIP_CONN_TYPE_P2P       2u

/* Builds network connection parameters. Returns 0 with *out set, or PL_ERANGE for a size
 * above 511, a priority above 3 or a type above 2. */
int pl_cip_ncp(uint16_t size, int variable, unsigned priority, unsigned type, int redundant_owner,
               uint16_t *out);

/* Transport class and trigger byte (Vol 1, 3-4.4.3): bit 7 direction (server), bits 6-4
 * production trigger, bits 3-0 transport class. Class 3 application-triggered server = 0xA3. */
#define PL_CIP_TRANSPORT_SERVER      0x80u
#define PL_CIP_TRANSPORT_TRIGGER_APP 0x20u
#define PL_CIP_TRANSPORT_CLASS3      0x03u

/* Forward Open request data (Vol 1, Table 3-5.16). */
#define PL_CIP_FWD_OPEN_FIXED_LEN 36u
#define PL_CIP_FWD_RESERVED_LEN   3u
typedef struct {
    uint8_t priority_tick;
    uint8_t timeout_ticks;
    uint32_t ot_conn_id; /* O->T network connection id (chosen by the target) */
    uint32_t to_conn_id; /* T->O network connection id (chosen by the originator) */
    uint16_t conn_serial;
    uint16_t vendor_id;
    uint32_t orig_serial;
    uint8_t timeout_mult;
    uint8_t reserved[PL_CIP_FWD_RESERVED_LEN]; /* reported as sent; encoded as 0 */
    uint32_t ot_rpi;                           /* microseconds */
    uint16_t ot_params;
    uint32_t to_rpi;
    uint16_t to_params;
    uint8_t transport;
    uint8_t path_words;
    const uint8_t *path; /* connection path, path_words * 2 bytes */
    size_t path_len;
} pl_cip_fwd_open_t;

/* Decodes a Forward Open inside a decoded request. Returns 0, PL_ECIP_SERVICE (not 0x54),
 * PL_ECIP_SHORT (fixed part cut off), PL_ECIP_PATH (path size runs past the data),
 * PL_ECIP_LENGTH (bytes after the path) or a pl_cip_path_check error. */
int pl_cip_fwd_open_decode(const pl_cip_req_t *req, pl_cip_fwd_open_t *out);

/* Encodes a whole Forward Open request (0x54 to class 6 instance 1). path_words is taken
 * from path_len (even). Returns bytes written, PL_ENOBUFS, PL_EINVAL (odd path) or
 * PL_ERANGE (path > 510 bytes). */
int pl_cip_fwd_open_encode(uint8_t *buf, size_t cap, const pl_cip_fwd_open_t *fo);

/* Successful Forward Open reply data (Vol 1, Table 3-5.17). */
#define PL_CIP_FWD_OPEN_REPLY_FIXED_LEN 26u
typedef struct {
    uint32_t ot_conn_id;
    uint32_t to_conn_id;
    uint16_t conn_serial;
    uint16_t vendor_id;
    uint32_t orig_serial;
    uint32_t ot_api; /* actual packet interval, microseconds */
    uint32_t to_api;
    uint8_t app_words;
    uint8_t reserved;
    const uint8_t *app; /* application reply, app_words * 2 bytes */
    size_t app_len;
} pl_cip_fwd_open_reply_t;

/* Decodes a successful Forward Open reply. Returns 0, PL_ECIP_SERVICE (not 0xD4), PL_EINVAL
 * (rsp->status is not 0), PL_ECIP_SHORT, or PL_ECIP_LENGTH (application reply size runs past
 * the data, or bytes after it). */
int pl_cip_fwd_open_reply_decode(const pl_cip_rsp_t *rsp, pl_cip_fwd_open_reply_t *out);

/* Encodes a whole successful Forward Open response (0xD4, status 0). app_words comes from
 * app_len (even). Returns bytes written, PL_ENOBUFS, PL_EINVAL (odd app) or PL_ERANGE. */
int pl_cip_fwd_open_reply_encode(uint8_t *buf, size_t cap, const pl_cip_fwd_open_reply_t *r);

/* Unsuccessful Forward Open / Forward Close reply data (Vol 1, Tables 3-5.18 and 3-5.22). */
#define PL_CIP_FWD_TRIAD_LEN 8u  /* connection serial, vendor id, originator serial */
#define PL_CIP_FWD_ERROR_LEN 10u /* + remaining path size + reserved */
typedef struct {
    uint8_t has_triad;     /* 0 when the Message Router refused before the CM (no data) */
    uint8_t has_remaining; /* 0 when a device leaves the remaining path size out */
    uint16_t conn_serial;
    uint16_t vendor_id;
    uint32_t orig_serial;
    uint8_t remaining_words;
    uint8_t reserved;
} pl_cip_fwd_error_t;

/* Decodes an unsuccessful Forward Open or Forward Close reply (0xD4 or 0xCE). The data may
 * be empty, the 8-byte triad, or the triad + remaining path size + reserved. Returns 0,
 * PL_ECIP_SERVICE, PL_EINVAL (status 0), PL_ECIP_SHORT (a cut-off triad) or PL_ECIP_LENGTH
 * (more than 10 bytes). The general and extended status stay in `rsp`. */
int pl_cip_fwd_error_decode(const pl_cip_rsp_t *rsp, pl_cip_fwd_error_t *out);

/* Encodes a whole unsuccessful reply to `req_service` (0x54 or 0x4E) with general `status`,
 * extended status `ext` (one word) and the 10-byte data of `e` (has_* ignored). Returns
 * bytes written, PL_ENOBUFS or PL_EINVAL (status 0, another service). */
int pl_cip_fwd_error_encode(uint8_t *buf, size_t cap, uint8_t req_service, uint8_t status,
                            uint16_t ext, const pl_cip_fwd_error_t *e);

/* Forward Close request data (Vol 1, Table 3-5.19). */
#define PL_CIP_FWD_CLOSE_FIXED_LEN 12u
typedef struct {
    uint8_t priority_tick;
    uint8_t timeout_ticks;
    uint16_t conn_serial;
    uint16_t vendor_id;
    uint32_t orig_serial;
    uint8_t path_words;
    uint8_t reserved;
    const uint8_t *path;
    size_t path_len;
} pl_cip_fwd_close_t;

/* Decodes a Forward Close inside a decoded request. Errors as pl_cip_fwd_open_decode (for
 * service 0x4E). */
int pl_cip_fwd_close_decode(const pl_cip_req_t *req, pl_cip_fwd_close_t *out);

/* Encodes a whole Forward Close request (0x4E to class 6 instance 1). Errors as
 * pl_cip_fwd_open_encode. */
int pl_cip_fwd_close_encode(uint8_t *buf, size_t cap, const pl_cip_fwd_close_t *fc);

/* Successful Forward Close reply data (Vol 1, Table 3-5.20). */
#define PL_CIP_FWD_CLOSE_REPLY_FIXED_LEN 10u
typedef struct {
    uint16_t conn_serial;
    uint16_t vendor_id;
    uint32_t orig_serial;
    uint8_t app_words;
    uint8_t reserved;
    const uint8_t *app;
    size_t app_len;
} pl_cip_fwd_close_reply_t;

/* Decodes a successful Forward Close reply. Errors as pl_cip_fwd_open_reply_decode (0xCE). */
int pl_cip_fwd_close_reply_decode(const pl_cip_rsp_t *rsp, pl_cip_fwd_close_reply_t *out);

/* Encodes a whole successful Forward Close response. Errors as the Forward Open one. */
int pl_cip_fwd_close_reply_encode(uint8_t *buf, size_t cap, const pl_cip_fwd_close_reply_t *r);

/* ---------------------------------------------------- status tables */

/* General status codes (Vol 1, Appendix B, Table B-1.1): XX(suffix, code, message). */
#define PL_CIP_STATUS_MAP(XX)                                                                 \
    XX(SUCCESS, 0x00, "success")                                                              \
    XX(CONNECTION_FAILURE, 0x01, "connection failure")                                        \
    XX(RESOURCE_UNAVAILABLE, 0x02, "resource unavailable")                                    \
    XX(INVALID_PARAMETER_VALUE, 0x03, "invalid parameter value")                              \
    XX(PATH_SEGMENT_ERROR, 0x04, "path segment error")                                        \
    XX(PATH_DESTINATION_UNKNOWN, 0x05, "path destination unknown")                            \
    XX(PARTIAL_TRANSFER, 0x06, "partial transfer")                                            \
    XX(CONNECTION_LOST, 0x07, "connection lost")                                              \
    XX(SERVICE_NOT_SUPPORTED, 0x08, "service not supported")                                  \
    XX(INVALID_ATTRIBUTE_VALUE, 0x09, "invalid attribute value")                              \
    XX(ATTRIBUTE_LIST_ERROR, 0x0A, "attribute list error")                                    \
    XX(ALREADY_IN_REQUESTED_MODE, 0x0B, "already in requested mode/state")                    \
    XX(OBJECT_STATE_CONFLICT, 0x0C, "object state conflict")                                  \
    XX(OBJECT_ALREADY_EXISTS, 0x0D, "object already exists")                                  \
    XX(ATTRIBUTE_NOT_SETTABLE, 0x0E, "attribute not settable")                                \
    XX(PRIVILEGE_VIOLATION, 0x0F, "privilege violation")                                      \
    XX(DEVICE_STATE_CONFLICT, 0x10, "device state conflict")                                  \
    XX(REPLY_DATA_TOO_LARGE, 0x11, "reply data too large")                                    \
    XX(FRAGMENTATION_OF_PRIMITIVE, 0x12, "fragmentation of a primitive value")                \
    XX(NOT_ENOUGH_DATA, 0x13, "not enough data")                                              \
    XX(ATTRIBUTE_NOT_SUPPORTED, 0x14, "attribute not supported")                              \
    XX(TOO_MUCH_DATA, 0x15, "too much data")                                                  \
    XX(OBJECT_DOES_NOT_EXIST, 0x16, "object does not exist")                                  \
    XX(FRAGMENTATION_NOT_IN_PROGRESS, 0x17, "service fragmentation sequence not in progress") \
    XX(NO_STORED_ATTRIBUTE_DATA, 0x18, "no stored attribute data")                            \
    XX(STORE_OPERATION_FAILURE, 0x19, "store operation failure")                              \
    XX(REQUEST_TOO_LARGE, 0x1A, "routing failure, request packet too large")                  \
    XX(RESPONSE_TOO_LARGE, 0x1B, "routing failure, response packet too large")                \
    XX(MISSING_LIST_ENTRY_DATA, 0x1C, "missing attribute list entry data")                    \
    XX(INVALID_ATTRIBUTE_LIST, 0x1D, "invalid attribute value list")                          \
    XX(EMBEDDED_SERVICE_ERROR, 0x1E, "embedded service error")                                \
    XX(VENDOR_SPECIFIC, 0x1F, "vendor specific error")                                        \
    XX(INVALID_PARAMETER, 0x20, "invalid parameter")                                          \
    XX(WRITE_ONCE_WRITTEN, 0x21, "write-once value or medium already written")                \
    XX(INVALID_REPLY, 0x22, "invalid reply received")                                         \
    XX(BUFFER_OVERFLOW, 0x23, "buffer overflow")                                              \
    XX(MESSAGE_FORMAT_ERROR, 0x24, "message format error")                                    \
    XX(KEY_FAILURE_IN_PATH, 0x25, "key failure in path")                                      \
    XX(PATH_SIZE_INVALID, 0x26, "path size invalid")                                          \
    XX(UNEXPECTED_ATTRIBUTE, 0x27, "unexpected attribute in list")                            \
    XX(INVALID_MEMBER_ID, 0x28, "invalid member ID")                                          \
    XX(MEMBER_NOT_SETTABLE, 0x29, "member not settable")

/* Connection Manager extended status codes (Vol 1, Table 3-5.33), with general status 0x01:
 * XX(suffix, code, message). */
#define PL_CIP_EXT_STATUS_MAP(XX)                                                                \
    XX(CONNECTION_IN_USE, 0x0100, "connection in use or duplicate forward open")                 \
    XX(TRANSPORT_NOT_SUPPORTED, 0x0103, "transport class and trigger combination not supported") \
    XX(OWNERSHIP_CONFLICT, 0x0106, "ownership conflict")                                         \
    XX(CONNECTION_NOT_FOUND, 0x0107, "target connection not found")                              \
    XX(INVALID_CONNECTION_TYPE, 0x0108, "invalid network connection parameter")                  \
    XX(INVALID_CONNECTION_SIZE, 0x0109, "invalid connection size")                               \
    XX(NOT_CONFIGURED, 0x0110, "target for connection not configured")                           \
    XX(RPI_NOT_SUPPORTED, 0x0111, "RPI not supported")                                           \
    XX(OUT_OF_CONNECTIONS, 0x0113, "connection manager out of connections")                      \
    XX(VENDOR_PRODUCT_MISMATCH, 0x0114, "vendor id or product code mismatch")                    \
    XX(DEVICE_TYPE_MISMATCH, 0x0115, "device type mismatch")                                     \
    XX(REVISION_MISMATCH, 0x0116, "revision mismatch")                                           \
    XX(INVALID_PRODUCED_CONSUMED_PATH, 0x0117, "invalid produced or consumed application path")  \
    XX(INVALID_CONFIGURATION_PATH, 0x0118, "invalid or inconsistent configuration path")         \
    XX(NON_LISTEN_ONLY_NOT_OPEN, 0x0119, "non-listen only connection not opened")                \
    XX(TARGET_OUT_OF_CONNECTIONS, 0x011A, "target object out of connections")                    \
    XX(RPI_BELOW_INHIBIT, 0x011B, "RPI is smaller than the production inhibit time")             \
    XX(CONNECTION_TIMED_OUT, 0x0203, "connection timed out")                                     \
    XX(UNCONNECTED_TIMED_OUT, 0x0204, "unconnected request timed out")                           \
    XX(UNCONNECTED_PARAMETER, 0x0205, "parameter error in unconnected request service")          \
    XX(UNCONNECTED_TOO_LARGE, 0x0206, "message too large for unconnected send service")          \
    XX(UNCONNECTED_ACK_NO_REPLY, 0x0207, "unconnected acknowledge without reply")                \
    XX(NO_BUFFER_MEMORY, 0x0301, "no buffer memory available")                                   \
    XX(NO_BANDWIDTH, 0x0302, "network bandwidth not available for data")                         \
    XX(NO_ID_FILTER, 0x0303, "no consumed connection id filter available")                       \
    XX(NOT_SCHEDULED, 0x0304, "not configured to send scheduled priority data")                  \
    XX(SCHEDULE_MISMATCH, 0x0305, "schedule signature mismatch")                                 \
    XX(SCHEDULE_NOT_VALIDATED, 0x0306, "schedule signature validation not possible")             \
    XX(PORT_NOT_AVAILABLE, 0x0311, "port not available")                                         \
    XX(INVALID_LINK_ADDRESS, 0x0312, "link address not valid")                                   \
    XX(INVALID_SEGMENT, 0x0315, "invalid segment in connection path")                            \
    XX(FORWARD_CLOSE_PATH, 0x0316, "error in forward close service connection path")             \
    XX(NO_SCHEDULING, 0x0317, "scheduling not specified")                                        \
    XX(LINK_TO_SELF, 0x0318, "link address to self invalid")                                     \
    XX(NO_SECONDARY_RESOURCES, 0x0319, "secondary resources unavailable")                        \
    XX(RACK_ALREADY_CONNECTED, 0x031A, "rack connection already established")                    \
    XX(MODULE_ALREADY_CONNECTED, 0x031B, "module connection already established")                \
    XX(MISCELLANEOUS, 0x031C, "miscellaneous")                                                   \
    XX(REDUNDANT_MISMATCH, 0x031D, "redundant connection mismatch")                              \
    XX(NETWORK_LINK_OFFLINE, 0x0800, "network link offline")                                     \
    XX(NO_TARGET_DATA, 0x0810, "no target application data available")                           \
    XX(NO_ORIGINATOR_DATA, 0x0811, "no originator application data available")

#define PL_CIP_STATUS_ENUM_(name, num, msg) PL_CIP_STATUS_##name = num,
enum { PL_CIP_STATUS_MAP(PL_CIP_STATUS_ENUM_) };
#undef PL_CIP_STATUS_ENUM_
#define PL_CIP_EXT_ENUM_(name, num, msg) PL_CIP_EXT_##name = num,
enum { PL_CIP_EXT_STATUS_MAP(PL_CIP_EXT_ENUM_) };
#undef PL_CIP_EXT_ENUM_

/* Message of a general status ("path segment error"); "unknown" for others. Never NULL. */
const char *pl_cip_status_name(uint8_t status);

/* Message of a Connection Manager extended status ("connection in use or duplicate forward
 * open"); "unknown" for others. Never NULL. */
const char *pl_cip_ext_status_name(uint16_t ext);

#endif
