/* SPDX-License-Identifier: MIT */
/*
 * CSV records (RFC 4180) read from a buffer, with the line and column of every field so that
 * errors can point at them. Pure parsing: no allocation, no I/O; the field text is copied
 * (quotes undone) into the reader's fixed storage.
 */
#include "engine/csv.h"
#include "plcline/error.h"

#include <string.h>

void pl_csv_init(pl_csv_t *c, const char *buf, size_t len)
{
    memset(c, 0, sizeof(*c));
    c->buf_ = buf;
    c->len_ = len;
    c->line_ = 1;
    c->col_ = 1;
    if (len >= 3 && (unsigned char)buf[0] == 0xEF && (unsigned char)buf[1] == 0xBB &&
        (unsigned char)buf[2] == 0xBF)
        c->pos_ = 3; /* UTF-8 byte order mark, as spreadsheets write it */
}

static int at_end(const pl_csv_t *c)
{
    return c->pos_ >= c->len_;
}

static char cur(const pl_csv_t *c)
{
    return c->buf_[c->pos_];
}

/* Steps over one byte, keeping line and column (in characters) up to date. */
static void adv(pl_csv_t *c)
{
    unsigned char b = (unsigned char)c->buf_[c->pos_++];

    if (b == '\n') {
        c->line_++;
        c->col_ = 1;
    } else if (b == '\r') {
        if (at_end(c) || cur(c) != '\n') { /* a lone CR ends a line too */
            c->line_++;
            c->col_ = 1;
        }
    } else if ((b & 0xC0) != 0x80) { /* not a UTF-8 continuation byte */
        c->col_++;
    }
}

static void skip_blanks(pl_csv_t *c)
{
    while (!at_end(c) && (cur(c) == ' ' || cur(c) == '\t'))
        adv(c);
}

static int is_eol(char ch)
{
    return ch == '\n' || ch == '\r';
}

static int fail(unsigned line, unsigned col, unsigned *oline, unsigned *ocol, pl_status_t *err,
                const char *what)
{
    if (oline != NULL)
        *oline = line;
    if (ocol != NULL)
        *ocol = col;
    return err != NULL ? pl_status_set(err, PL_EVALUE, 0, "%s", what) : PL_EVALUE;
}

/* Appends one byte of field text; 0, or -1 when the record's storage is full. */
static int put(pl_csv_t *c, char ch)
{
    if (c->used_ + 1 >= sizeof(c->text_)) /* keep room for the field's NUL */
        return -1;
    c->text_[c->used_++] = ch;
    return 0;
}

#define TOO_LONG "record longer than 8191 bytes, expected a shorter record"

int pl_csv_next(pl_csv_t *c, unsigned *line, unsigned *col, pl_status_t *err)
{
    for (;;) {
        while (!at_end(c) && is_eol(cur(c))) /* empty lines */
            adv(c);
        if (at_end(c))
            return 0;
        c->nfields = 0;
        c->used_ = 0;
        c->line = c->line_;
        for (;;) {
            pl_csv_field_t *f;
            size_t start;

            skip_blanks(c);
            if (c->nfields == PL_CSV_FIELDS_MAX)
                return fail(c->line_, c->col_, line, col, err,
                            "more than 32 fields in a record, expected at most 32");
            f = &c->field[c->nfields];
            f->line = c->line_;
            f->col = c->col_;
            f->quoted = 0;
            start = c->used_;
            if (!at_end(c) && cur(c) == '"') {
                f->quoted = 1;
                adv(c);
                for (;;) {
                    if (at_end(c))
                        return fail(f->line, f->col, line, col, err,
                                    "quoted field not closed, expected a closing '\"'");
                    if (cur(c) == '"') {
                        adv(c);
                        if (at_end(c) || cur(c) != '"')
                            break;
                    } else if (cur(c) == '\0') {
                        return fail(c->line_, c->col_, line, col, err, "NUL byte, expected text");
                    }
                    if (put(c, cur(c)) != 0)
                        return fail(f->line, f->col, line, col, err, TOO_LONG);
                    adv(c);
                }
                skip_blanks(c);
                if (!at_end(c) && cur(c) != ',' && !is_eol(cur(c)))
                    return fail(c->line_, c->col_, line, col, err,
                                "text after a closing quote, expected ',' or the end of the line");
            } else {
                while (!at_end(c) && cur(c) != ',' && !is_eol(cur(c))) {
                    if (cur(c) == '"')
                        return fail(c->line_, c->col_, line, col, err,
                                    "a quote inside an unquoted field, expected the whole field "
                                    "in quotes with inner quotes doubled");
                    if (cur(c) == '\0')
                        return fail(c->line_, c->col_, line, col, err, "NUL byte, expected text");
                    if (put(c, cur(c)) != 0)
                        return fail(f->line, f->col, line, col, err, TOO_LONG);
                    adv(c);
                }
                while (c->used_ > start &&
                       (c->text_[c->used_ - 1] == ' ' || c->text_[c->used_ - 1] == '\t'))
                    c->used_--;
            }
            if (c->used_ >= sizeof(c->text_))
                return fail(f->line, f->col, line, col, err, TOO_LONG);
            c->text_[c->used_] = '\0';
            f->s = c->text_ + start;
            f->len = c->used_ - start;
            c->used_++;
            c->nfields++;
            if (!at_end(c) && cur(c) == ',') {
                adv(c);
                continue;
            }
            if (!at_end(c) && cur(c) == '\r')
                adv(c);
            if (!at_end(c) && cur(c) == '\n')
                adv(c);
            break;
        }
        if (c->nfields == 1 && c->field[0].len == 0 && !c->field[0].quoted)
            continue; /* a line of blanks */
        return 1;
    }
}
