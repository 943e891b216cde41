/* SPDX-License-Identifier: MIT */
/*
 * A test driver whose device sends values by itself (src/proto/driver.h, event-driven
 * devices), for engine and output tests. Make it known with
 * pl_engine_test_protocol(&fake_events_protocol) and name protocol "fakeevents" on a line.
 * Tag addresses are decimal numbers. Writes wait in the device until the test completes
 * them (w[i].cb); dev_free answers those still waiting with PL_ECANCELED.
 */
#ifndef PLCLINE_TEST_FAKE_EVENTS_H
#define PLCLINE_TEST_FAKE_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "proto/driver.h"
#include "proto/registry.h"

#define FAKE_EVENTS_MAX_WRITES 8u

struct pl_drv_dev_s {
    pl_drv_link_cb link; /* the engine's link callback: call it for link up/down */
    void *link_ud;
    pl_drv_push_cb push; /* from subscribe */
    void *push_ud;
    const pl_drv_addr_t *const *addrs;
    size_t naddrs;
    unsigned subscribes, starts;
    struct {
        pl_drv_cb cb;
        void *ctx;
        int64_t value;
    } w[FAKE_EVENTS_MAX_WRITES]; /* writes handed to the driver, not completed yet */
    size_t nw;
};

extern const pl_protocol_t fake_events_protocol;
extern pl_drv_dev_t *fake_events_dev; /* the device the engine built last */

/* The address the engine handed over for the tag with address `n` (fails the test when
 * there is none). */
const pl_drv_addr_t *fake_events_addr(uint32_t n);

/* Pushes an integer value for the tag with address `addr`. */
void fake_events_push_int(uint32_t addr, int64_t v, const pl_drv_meta_t *meta);

#endif
