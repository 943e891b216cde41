/* SPDX-License-Identifier: MIT */
/*
 * A CSV record reader (RFC 4180) over a buffer in memory, for tag lists.
 *
 * Fields are separated by ',' and records by CRLF, LF or CR. A field in double quotes may
 * hold commas, line breaks and doubled quotes (""); a quote inside an unquoted field is an
 * error. Two relaxations for hand-written files: spaces and tabs around a field are dropped
 * (inside quotes they are kept), and empty lines are skipped. A UTF-8 byte order mark at the
 * start is skipped. Columns count characters, not bytes, from 1.
 *
 * No allocation, no I/O: a record and its fields live in the reader's fixed storage until
 * the next call.
 */
#ifndef PLCLINE_ENGINE_CSV_H
#define PLCLINE_ENGINE_CSV_H

#include <stddef.h>

#include "plcline/log.h"

#define PL_CSV_FIELDS_MAX 32   /* fields in one record */
#define PL_CSV_RECORD_MAX 8192 /* bytes of field text in one record, NULs included */

typedef struct {
    const char *s; /* NUL-terminated, in the reader's storage */
    size_t len;    /* bytes, without the NUL */
    unsigned line; /* where the field starts (its opening quote if quoted), 1-based */
    unsigned col;
    int quoted;
} pl_csv_field_t;

typedef struct {
    /* the current record, after pl_csv_next() returned 1 */
    unsigned nfields;
    unsigned line; /* where the record starts */
    pl_csv_field_t field[PL_CSV_FIELDS_MAX];
    /* private */
    const char *buf_;
    size_t len_, pos_;
    unsigned line_, col_;
    size_t used_;
    char text_[PL_CSV_RECORD_MAX];
} pl_csv_t;

/* Starts reading `len` bytes at `buf`, which must stay valid while reading. */
void pl_csv_init(pl_csv_t *c, const char *buf, size_t len);

/* Reads the next record into c->field[0..nfields-1]. Returns 1 for a record, 0 at the end of
 * the input, or PL_EVALUE for malformed input: then *line and *col tell where and `err`
 * (may be NULL) says what was wrong and what was expected. */
int pl_csv_next(pl_csv_t *c, unsigned *line, unsigned *col, pl_status_t *err);

#endif
