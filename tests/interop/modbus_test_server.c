/* SPDX-License-Identifier: MIT */
/*
 * A Modbus TCP server built on libmodbus, for the command-line tests and the benches: an
 * independent peer for plcline's client. Listens on 127.0.0.1 at a free port, prints that
 * port on a line of its own on stdout, and serves any number of connections (select) on
 * one mapping of 1000 coils, discrete inputs, holding and input registers:
 *   coil i = (i % 3 == 0), discrete input i = i % 2, hr i = 3 * i, ir i = 1000 + i,
 *   hr100..107 = 123.456 as float32 in ABCD, CDAB, BADC, DCBA.
 * Options: --dead UNIT (requests for that unit get no answer), --lifetime S (exit after S
 * seconds, default 120: a test that dies cannot leave it behind for long).
 * Test code only: never installed.
 */
#include <modbus/modbus.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAP_N 1000

int main(int argc, char **argv)
{
    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    modbus_mapping_t *map;
    modbus_t *ctx;
    fd_set all;
    int dead = -1, lifetime = 120, fd, maxfd, i;
    time_t end;

    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--dead") == 0)
            dead = (int)strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--lifetime") == 0)
            lifetime = (int)strtol(argv[i + 1], NULL, 10);
    }
    map = modbus_mapping_new(MAP_N, MAP_N, MAP_N, MAP_N);
    ctx = modbus_new_tcp("127.0.0.1", 0);
    if (map == NULL || ctx == NULL)
        return 1;
    for (i = 0; i < MAP_N; i++) {
        map->tab_bits[i] = (uint8_t)(i % 3 == 0);
        map->tab_input_bits[i] = (uint8_t)(i % 2);
        map->tab_registers[i] = (uint16_t)(i * 3);
        map->tab_input_registers[i] = (uint16_t)(1000 + i);
    }
    {
        static const uint16_t f[8] = {0x42F6, 0xE979, 0xE979, 0x42F6,
                                      0xF642, 0x79E9, 0x79E9, 0xF642};

        memcpy(&map->tab_registers[100], f, sizeof(f));
    }
    fd = modbus_tcp_listen(ctx, 16);
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        return 1;
    printf("%u\n", (unsigned)ntohs(sa.sin_port));
    fflush(stdout);
    FD_ZERO(&all);
    FD_SET(fd, &all);
    maxfd = fd;
    end = time(NULL) + lifetime;
    while (time(NULL) < end) {
        struct timeval tv = {1, 0};
        fd_set rd = all;
        int s;

        if (select(maxfd + 1, &rd, NULL, NULL, &tv) < 0)
            break;
        for (s = 0; s <= maxfd; s++) {
            int n;

            if (!FD_ISSET(s, &rd))
                continue;
            if (s == fd) {
                int c = accept(fd, NULL, NULL);

                if (c >= 0 && c < FD_SETSIZE) {
                    FD_SET(c, &all);
                    if (c > maxfd)
                        maxfd = c;
                } else if (c >= 0) {
                    close(c);
                }
                continue;
            }
            modbus_set_socket(ctx, s);
            n = modbus_receive(ctx, query);
            if (n > 0 && query[6] == dead)
                continue;
            if (n > 0)
                n = modbus_reply(ctx, query, n, map);
            if (n < 0) {
                close(s);
                FD_CLR(s, &all);
            }
        }
    }
    close(fd);
    modbus_free(ctx);
    modbus_mapping_free(map);
    return 0;
}
