/* SPDX-License-Identifier: MIT */
/*
 * The shared-connection registry (src/proto/shared_conn.h): found by loop, owner and key
 * only; the last member to leave closes, once; link reports reach every member, also when
 * members leave (themselves or others, the last one included) from inside the report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/shared_conn.h"

static int closes;
static void *closed_conn;

static void on_close(void *conn)
{
    closes++;
    closed_conn = conn;
}

typedef struct {
    pl_shared_member_t m;
    pl_shared_conn_t *s;
    int ups, downs;
    pl_shared_member_t *leave_on_down; /* leaves this member from inside its report */
} member_t;

static void on_link(pl_shared_member_t *mb, const pl_status_t *st)
{
    member_t *m = mb->data;

    if (st == NULL) {
        m->ups++;
        return;
    }
    m->downs++;
    if (m->leave_on_down != NULL) {
        pl_shared_member_t *l = m->leave_on_down;

        m->leave_on_down = NULL;
        pl_shared_conn_leave(m->s, l);
    }
}

static void member_init(member_t *m, pl_shared_conn_t *s)
{
    memset(m, 0, sizeof(*m));
    m->m.link = on_link;
    m->m.data = m;
    m->s = s;
}

static void test_find_by_loop_owner_key(void **state)
{
    static const char key[] = "line gw", other[] = "line gx";
    static int owner_a, owner_b, conn;
    uv_loop_t *la = (uv_loop_t *)(uintptr_t)0x1000, *lb = (uv_loop_t *)(uintptr_t)0x2000;
    pl_shared_conn_t *s;
    member_t m;

    (void)state;
    closes = 0;
    assert_int_equal(pl_shared_conn_new(la, &owner_a, key, sizeof(key), &conn, on_close, &s), 0);
    assert_ptr_equal(pl_shared_conn_find(la, &owner_a, key, sizeof(key)), s);
    assert_null(pl_shared_conn_find(lb, &owner_a, key, sizeof(key)));
    assert_null(pl_shared_conn_find(la, &owner_b, key, sizeof(key)));
    assert_null(pl_shared_conn_find(la, &owner_a, other, sizeof(other)));
    assert_null(pl_shared_conn_find(la, &owner_a, key, sizeof(key) - 1));
    assert_ptr_equal(pl_shared_conn_get(s), &conn);
    member_init(&m, s);
    pl_shared_conn_join(s, &m.m);
    pl_shared_conn_leave(s, &m.m);
    assert_int_equal(closes, 1);
    assert_ptr_equal(closed_conn, &conn);
    assert_null(pl_shared_conn_find(la, &owner_a, key, sizeof(key)));

    assert_int_equal(pl_shared_conn_new(la, &owner_a, key, 0, &conn, on_close, &s), PL_EINVAL);
    assert_int_equal(
        pl_shared_conn_new(la, &owner_a, key, PL_SHARED_KEY_MAX + 1, &conn, on_close, &s),
        PL_EINVAL);
}

static void test_last_member_closes(void **state)
{
    static const char key[] = "k";
    static int owner, conn;
    uv_loop_t *loop = (uv_loop_t *)(uintptr_t)0x1000;
    pl_shared_conn_t *s;
    member_t a, b, c;

    (void)state;
    closes = 0;
    assert_int_equal(pl_shared_conn_new(loop, &owner, key, sizeof(key), &conn, on_close, &s), 0);
    member_init(&a, s);
    member_init(&b, s);
    member_init(&c, s);
    pl_shared_conn_join(s, &a.m);
    pl_shared_conn_join(s, &b.m);
    pl_shared_conn_join(s, &c.m);
    assert_int_equal(pl_shared_conn_members(s), 3);
    assert_false(pl_shared_conn_is_up(s));
    pl_shared_conn_link(s, NULL);
    assert_true(pl_shared_conn_is_up(s));
    assert_int_equal(a.ups + b.ups + c.ups, 3);
    pl_shared_conn_leave(s, &b.m);
    pl_shared_conn_leave(s, &a.m);
    assert_int_equal(closes, 0);
    assert_ptr_equal(pl_shared_conn_find(loop, &owner, key, sizeof(key)), s);
    pl_shared_conn_leave(s, &c.m);
    assert_int_equal(closes, 1);
}

static void test_leave_during_report(void **state)
{
    static const char key[] = "k";
    pl_status_t down;
    static int owner, conn;
    uv_loop_t *loop = (uv_loop_t *)(uintptr_t)0x1000;
    pl_shared_conn_t *s;
    member_t a, b, c;

    (void)state;
    closes = 0;
    pl_status_set(&down, PL_ECONNECT, 0, "gone");
    assert_int_equal(pl_shared_conn_new(loop, &owner, key, sizeof(key), &conn, on_close, &s), 0);
    member_init(&a, s);
    member_init(&b, s);
    member_init(&c, s);
    /* joined a, b, c: reported c, b, a; c makes b (the next one) leave */
    pl_shared_conn_join(s, &a.m);
    pl_shared_conn_join(s, &b.m);
    pl_shared_conn_join(s, &c.m);
    c.leave_on_down = &b.m;
    pl_shared_conn_link(s, &down);
    assert_int_equal(c.downs, 1);
    assert_int_equal(b.downs, 0);
    assert_int_equal(a.downs, 1);
    assert_false(pl_shared_conn_is_up(s));
    /* each of the two left leaves itself while reported: the last one closes after the
     * report */
    a.leave_on_down = &a.m;
    c.leave_on_down = &c.m;
    pl_shared_conn_link(s, &down);
    assert_int_equal(a.downs, 2);
    assert_int_equal(c.downs, 2);
    assert_int_equal(closes, 1);
    assert_null(pl_shared_conn_find(loop, &owner, key, sizeof(key)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_by_loop_owner_key),
        cmocka_unit_test(test_last_member_closes),
        cmocka_unit_test(test_leave_during_report),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
