/* SPDX-License-Identifier: MIT */
/*
 * Ports that refuse connections, for tests of connection failures. Picking a free port and
 * closing it races with every other test and process binding port 0 at the same time, and
 * under load one of them takes it (the "dead" host then accepts). A socket bound to the
 * port and not listening keeps it: the kernel answers a SYN with a reset, so a connect is
 * refused, and nobody else can bind the port while the test holds it.
 */
#ifndef PLCLINE_TEST_PORTS_H
#define PLCLINE_TEST_PORTS_H

#include <stdint.h>

/* A port of the numeric address `ip` ("127.0.0.1", "::1") that refuses connections until
 * pl_test_dead_ports_release(). Fails the running cmocka test if it cannot make one. */
uint16_t pl_test_dead_port(const char *ip);

/* Gives every port of pl_test_dead_port() back (call it in teardown). */
void pl_test_dead_ports_release(void);

#endif
