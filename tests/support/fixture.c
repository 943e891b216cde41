/* SPDX-License-Identifier: MIT */
/*
 * The fault-injection fixture (see fixture.h): loop, watchdog, healthy device's polling,
 * scripted peer's connections and timers, teardown.
 *
 * Test code only. It knows no protocol (fixture_ops_t brings it), never sleeps, bounds every
 * wait with a guard timer, and leaves no handle open after fixture_close().
 */
#include "fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <string.h>

#include <cmocka.h>

#include "faults.h"
#include "plcline/error.h"

/* --- healthy device -------------------------------------------------------------------- */

static void healthy_next(fixture_t *fx)
{
    fx->hbusy = 1;
    if (fx->hwriting)
        fx->hvalue++;
    assert_int_equal(fx->ops->healthy_send(fx, fx->hwriting, fx->hvalue), 0);
}

void fixture_healthy_start(fixture_t *fx)
{
    fx->hrun = 1;
    fx->hwriting = 1;
    healthy_next(fx);
}

void fixture_healthy_done(fixture_t *fx, int code, uint16_t word)
{
    fx->hbusy = 0;
    if (code != 0)
        fx->hfail++;
    else if (!fx->hwriting && word != fx->hvalue)
        fx->hfail++; /* read back something else than written */
    else
        fx->hok++;
    fx->hwriting = !fx->hwriting;
    if (fx->hrun)
        healthy_next(fx);
}

static int healthy_idle(void *ctx)
{
    const fixture_t *fx = ctx;

    return !fx->hbusy;
}

void fixture_healthy_stop(fixture_t *fx)
{
    fx->hrun = 0;
    assert_int_equal(fault_run_pred(&fx->loop, healthy_idle, fx, FIXTURE_GUARD_MS), 0);
    assert_int_equal(fx->hfail, 0);
}

/* --- the scripted peer ----------------------------------------------------------------- */

static void on_slot_timer(uv_timer_t *t)
{
    fixture_slot_t *p = t->data;
    fixture_t *fx = p->fx;

    if (p->conn == NULL) {
        if (p->late)
            fx->late_dropped++;
        p->dripping = p->late = 0;
        uv_timer_stop(t);
        return;
    }
    if (p->late) {
        p->late = 0;
        fx->late_sent++;
        (void)pl_conn_send(p->conn, p->out, p->out_len);
        return;
    }
    if (p->dripping) {
        (void)pl_conn_send(p->conn, p->out + p->out_off, 1);
        p->out_off++;
        if (p->out_off == p->out_len) {
            p->dripping = 0;
            uv_timer_stop(t);
        } else if (fx->drip_ms == 0) {
            uv_timer_start(t, on_slot_timer, 0, 0);
        }
    }
}

int fixture_peer_mode(fixture_t *fx)
{
    fx->requests++;
    if (fx->spoil == 0)
        return 0;
    fx->spoil--;
    return fx->mode;
}

void fixture_peer_drip(fixture_slot_t *p, size_t len)
{
    p->out_len = len;
    p->out_off = 0;
    p->dripping = 1;
    uv_timer_start(&p->timer, on_slot_timer, p->fx->drip_ms, p->fx->drip_ms);
}

void fixture_peer_late(fixture_slot_t *p, size_t len)
{
    p->out_len = len;
    p->late = 1;
    uv_timer_start(&p->timer, on_slot_timer, p->fx->late_ms, 0);
}

static int peer_accept(pl_listener_t *l, pl_conn_t *conn, void *ud)
{
    fixture_t *fx = ud;
    unsigned i;

    (void)l;
    for (i = 0; i < FIXTURE_SLOTS; i++) {
        fixture_slot_t *p = &fx->slot[i];

        if (!p->used && !p->dripping && !p->late) {
            p->used = 1;
            p->conn = conn;
            p->rx_len = 0;
            p->session = 0;
            pl_conn_set_data(conn, p);
            fx->accepted++;
            return 0;
        }
    }
    fail_msg("%s: more than %u connections", fx->ops->peer_name, FIXTURE_SLOTS);
    return -1;
}

static void peer_data(pl_conn_t *conn, const uint8_t *buf, size_t len, void *ud)
{
    fixture_slot_t *p = pl_conn_data(conn);
    fixture_t *fx = ud;
    int n;

    assert_true(p->rx_len + len <= fx->ops->rx_cap);
    memcpy(p->rx + p->rx_len, buf, len);
    p->rx_len += len;
    while ((n = fx->ops->frame(p->rx, p->rx_len, fx->ops->frame_limit, NULL)) > 0) {
        if (fx->ops->message(fx, p, p->rx, (size_t)n) < 0)
            return;
        memmove(p->rx, p->rx + n, p->rx_len - (size_t)n);
        p->rx_len -= (size_t)n;
    }
    assert_int_equal(n, PL_EAGAIN); /* the clients under test send well-formed messages */
}

static void peer_close(pl_conn_t *conn, const pl_status_t *why, void *ud)
{
    fixture_slot_t *p = pl_conn_data(conn);
    fixture_t *fx = ud;

    (void)why;
    p->conn = NULL;
    p->used = 0;
    fx->closed++;
}

/* --- fixture --------------------------------------------------------------------------- */

static void on_log(void *ud, pl_log_level_t level, const char *msg)
{
    fixture_t *fx = ud;

    if (level == PL_LOG_WARN && strstr(msg, "partner does not read") != NULL)
        fx->nonreader_closed++;
}

void fixture_init(fixture_t *fx, const fixture_ops_t *ops)
{
    static const pl_listener_cbs_t cbs = {
        .on_accept = peer_accept, .on_data = peer_data, .on_close = peer_close};
    pl_listener_config_t lc;
    unsigned i;

    assert_true(ops->rx_cap <= FIXTURE_RX_MAX);
    memset(fx, 0, sizeof(*fx));
    fx->ops = ops;
    fault_watchdog(FIXTURE_WATCHDOG_S, "a fault scenario (see the last [ RUN ] line)");
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    fx->log.cb = on_log;
    fx->log.ud = fx;
    fx->log.level = PL_LOG_WARN;
    memset(&lc, 0, sizeof(lc));
    assert_int_equal(pl_listener_new(&fx->loop, &lc, &cbs, fx, &fx->lst, NULL), 0);
    fx->port = pl_listener_port(fx->lst);
    for (i = 0; i < FIXTURE_SLOTS; i++) {
        fx->slot[i].fx = fx;
        uv_timer_init(&fx->loop, &fx->slot[i].timer);
        fx->slot[i].timer.data = &fx->slot[i];
    }
}

void fixture_close(fixture_t *fx)
{
    unsigned i;

    if (fx->lst != NULL)
        pl_listener_free(fx->lst);
    for (i = 0; i < FIXTURE_SLOTS; i++)
        uv_close((uv_handle_t *)&fx->slot[i].timer, NULL);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    fault_watchdog(0, NULL);
}

void fixture_link(fixture_t *fx, const pl_status_t *st)
{
    if (st == NULL) {
        fx->links_up++;
    } else {
        fx->links_down++;
        fx->last_down = *st;
    }
}

void fixture_wait(fixture_t *fx, fixture_result_t *r)
{
    assert_int_equal(fault_run_until(&fx->loop, &r->done, FIXTURE_GUARD_MS), 0);
}

void fixture_expect_once(fixture_t *fx, const fixture_result_t *r, int n)
{
    int i;

    fault_run_for(&fx->loop, 20);
    for (i = 0; i < n; i++)
        assert_int_equal(r[i].done, 1);
}

void fixture_wait_all(fixture_t *fx, fixture_result_t *r, int n)
{
    int i;

    for (i = 0; i < n; i++)
        fixture_wait(fx, &r[i]);
    fixture_expect_once(fx, r, n);
}

/* --- the simulator under attack -------------------------------------------------------- */

void fixture_storms(fixture_t *fx, uint16_t port, const uint8_t *partial, size_t partial_len,
                    const uint64_t *connections)
{
    fault_storm_t *storm;
    int k;

    for (k = 0; k < 2; k++) {
        assert_int_equal(fault_storm_start(&fx->loop, &storm, port, 500, 100,
                                           k == 0 ? NULL : partial, k == 0 ? 0 : partial_len,
                                           connections, *connections),
                         0);
        assert_int_equal(fault_run_pred(&fx->loop, fault_pred_storm_done, storm, 20000), 0);
        assert_int_equal(fault_storm_connected(storm), 500);
        assert_int_equal(fault_storm_failed(storm), 0);
        fault_storm_free(storm);
    }
}
