/* SPDX-License-Identifier: MIT */
/*
 * Shared connections (src/proto/shared_conn.h): a registry of protocol connections by
 * (loop, owner, key), each with its members, a reference count in effect, and the link
 * report fanned out to them. It knows no protocol and does no I/O.
 */
#include "proto/shared_conn.h"

#include <stdlib.h>
#include <string.h>

struct pl_shared_conn_s {
    pl_shared_conn_t *next; /* in the registry */
    uv_loop_t *loop;
    const void *owner;
    void *conn;
    void (*close)(void *conn);
    pl_shared_member_t *head;
    pl_shared_member_t *cursor; /* the next member of a link report that is running */
    unsigned members;
    int reporting; /* a link report is running: the last leave closes after it */
    int up;
    size_t len;
    unsigned char key[]; /* len bytes */
};

static pl_shared_conn_t *registry;
static uv_mutex_t registry_lock;
static uv_once_t registry_once = UV_ONCE_INIT;

static void registry_init(void)
{
    if (uv_mutex_init(&registry_lock) != 0)
        abort(); /* no way to go on without the lock; it fails only when out of resources */
}

pl_shared_conn_t *pl_shared_conn_find(uv_loop_t *loop, const void *owner, const void *key,
                                      size_t len)
{
    pl_shared_conn_t *s;

    uv_once(&registry_once, registry_init);
    uv_mutex_lock(&registry_lock);
    for (s = registry; s != NULL; s = s->next)
        if (s->loop == loop && s->owner == owner && s->len == len && memcmp(s->key, key, len) == 0)
            break;
    uv_mutex_unlock(&registry_lock);
    return s;
}

int pl_shared_conn_new(uv_loop_t *loop, const void *owner, const void *key, size_t len, void *conn,
                       void (*close)(void *conn), pl_shared_conn_t **out)
{
    pl_shared_conn_t *s;

    if (len == 0 || len > PL_SHARED_KEY_MAX || close == NULL)
        return PL_EINVAL;
    s = calloc(1, sizeof(*s) + len);
    if (s == NULL)
        return PL_ENOMEM;
    s->loop = loop;
    s->owner = owner;
    s->conn = conn;
    s->close = close;
    s->len = len;
    memcpy(s->key, key, len);
    uv_once(&registry_once, registry_init);
    uv_mutex_lock(&registry_lock);
    s->next = registry;
    registry = s;
    uv_mutex_unlock(&registry_lock);
    *out = s;
    return 0;
}

void *pl_shared_conn_get(const pl_shared_conn_t *s)
{
    return s->conn;
}

unsigned pl_shared_conn_members(const pl_shared_conn_t *s)
{
    return s->members;
}

int pl_shared_conn_is_up(const pl_shared_conn_t *s)
{
    return s->up;
}

void pl_shared_conn_join(pl_shared_conn_t *s, pl_shared_member_t *m)
{
    m->prev_ = NULL;
    m->next_ = s->head;
    if (s->head != NULL)
        s->head->prev_ = m;
    s->head = m;
    s->members++;
}

static void unregister(pl_shared_conn_t *s)
{
    pl_shared_conn_t **pp;

    uv_mutex_lock(&registry_lock);
    for (pp = &registry; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    uv_mutex_unlock(&registry_lock);
}

/* No member left and no report running: out of the registry, closed, freed. */
static void finish(pl_shared_conn_t *s)
{
    unregister(s);
    s->close(s->conn);
    free(s);
}

void pl_shared_conn_leave(pl_shared_conn_t *s, pl_shared_member_t *m)
{
    if (s->cursor == m)
        s->cursor = m->next_;
    if (m->prev_ != NULL)
        m->prev_->next_ = m->next_;
    else
        s->head = m->next_;
    if (m->next_ != NULL)
        m->next_->prev_ = m->prev_;
    m->next_ = m->prev_ = NULL;
    if (--s->members == 0 && !s->reporting)
        finish(s);
}

void pl_shared_conn_link(pl_shared_conn_t *s, const pl_status_t *st)
{
    pl_shared_member_t *m, *outer_cursor = s->cursor;
    int outer = !s->reporting;

    s->up = st == NULL;
    s->reporting = 1;
    for (m = s->head; m != NULL; m = s->cursor) {
        s->cursor = m->next_; /* a leave moves it past the member that leaves */
        m->link(m, st);
    }
    s->cursor = outer_cursor; /* a report from inside a member's link callback */
    if (!outer)
        return;
    s->reporting = 0;
    if (s->members == 0)
        finish(s);
}
