/* SPDX-License-Identifier: MIT */
/*
 * The table of drivers: which pl_driver_t serves which protocol.
 */
#include "engine/driver.h"

const pl_driver_t *pl_driver_for(pl_proto_t proto)
{
    switch (proto) {
    case PL_PROTO_7TTCP:
        return &pl_driver_ttcp;
    case PL_PROTO_PCCC:
        return &pl_driver_pccc;
    }
    return NULL;
}
