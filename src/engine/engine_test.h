/* SPDX-License-Identifier: MIT */
/*
 * Test hooks of the engine, for the test suite only (not exported from the library).
 */
#ifndef PLCLINE_ENGINE_ENGINE_TEST_H
#define PLCLINE_ENGINE_ENGINE_TEST_H

#include "proto/registry.h"

/* A protocol the engine finds (by name, before the registry's) when building lines; NULL
 * removes it. Lets a test drive the engine with a driver of its own without adding a
 * protocol to the registry. */
void pl_engine_test_protocol(const pl_protocol_t *p);

#endif
