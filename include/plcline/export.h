/* SPDX-License-Identifier: MIT */
/*
 * PL_EXTERN marks what the library exports: every function the public headers declare, and
 * nothing else (the library is built with hidden visibility by default; a test compares the
 * shared library's exported symbols with these headers).
 */
#ifndef PLCLINE_EXPORT_H
#define PLCLINE_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define PL_EXTERN __attribute__((visibility("default")))
#else
#define PL_EXTERN
#endif

#endif
