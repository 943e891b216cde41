/* SPDX-License-Identifier: MIT */
/*
 * Ports that refuse connections (see ports.h). Test support only, never part of the library.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ports.h"

#define MAX_DEAD 16

static int held[MAX_DEAD];
static int nheld;

uint16_t pl_test_dead_port(const char *ip)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    socklen_t len;
    int fd;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        len = sizeof(*sin);
    } else if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        len = sizeof(*sin6);
    } else {
        fail_msg("pl_test_dead_port: '%s' is not a numeric address", ip);
        return 0;
    }
    assert_true(nheld < MAX_DEAD);
    fd = socket(ss.ss_family, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    /* bound, never listening: a SYN gets a reset (connection refused) */
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        close(fd);
        fail_msg("pl_test_dead_port: cannot bind %s", ip);
        return 0;
    }
    held[nheld++] = fd;
    /* sin_port and sin6_port are at the same offset */
    return ntohs(ss.ss_family == AF_INET ? sin->sin_port : sin6->sin6_port);
}

void pl_test_dead_ports_release(void)
{
    while (nheld > 0)
        close(held[--nheld]);
}
