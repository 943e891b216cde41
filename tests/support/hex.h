/* SPDX-License-Identifier: MIT */
/*
 * Golden vectors as text: "0f 00 5c 00" to bytes, for every test that replays frames.
 */
#ifndef PLCLINE_TEST_HEX_H
#define PLCLINE_TEST_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Hex pairs (spaces allowed between bytes) to bytes in out[0..cap). Fails the running cmocka
 * test on a bad digit, an odd digit count or too little room. Returns the byte count. */
size_t pl_test_hex(const char *s, uint8_t *out, size_t cap);

#endif
