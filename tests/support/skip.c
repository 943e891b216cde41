/* SPDX-License-Identifier: MIT */
/*
 * Skips that CTest can see (see skip.h). Test support only, never part of the library.
 */
#include <stdarg.h>
#include <stdio.h>

#include "skip.h"

static int skipped;

void pl_test_skip_note(const char *fmt, ...)
{
    va_list ap;

    skipped = 1;
    fputs("PL-SKIP: ", stdout);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

int pl_test_exit(int failed)
{
    if (failed != 0)
        return 1; /* never a count that could read as PL_TEST_SKIPPED */
    return skipped ? PL_TEST_SKIPPED : 0;
}
