/* SPDX-License-Identifier: MIT */
/*
 * Allocation failure injector (see failalloc.h): counts the allocation calls of the armed
 * thread, fails the chosen one, and remembers every block handed out while armed in a
 * fixed open-addressing table until it is freed, so that a test can tell leaks on failure
 * paths from memory that libraries keep on purpose.
 *
 * It runs inside malloc: it must not allocate, print, or call anything that may allocate
 * (only backtrace(), made safe by a first call at failalloc_available() and by the
 * re-entry guard, and backtrace_symbols_fd() in the report). The table is shared with
 * other threads' free() calls and guarded by a spin lock that is never held across a call.
 */
#define _GNU_SOURCE /* backtrace(), dladdr() */
#include "failalloc.h"

#include <execinfo.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

/* glibc's own allocator entry points, behind the replaceable malloc & co. */
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

#define TABLE_BITS 16
#define TABLE_SIZE ((size_t)1 << TABLE_BITS)
#define TABLE_MASK (TABLE_SIZE - 1)
#define STACK_MAX  32

typedef struct {
    uintptr_t ptr; /* 0: empty */
    void *caller;  /* who allocated it */
} entry_t;

static entry_t table[TABLE_SIZE];
static atomic_size_t tracked;
static atomic_flag table_lock = ATOMIC_FLAG_INIT;
static int overflowed;

static _Thread_local int tl_armed;   /* this thread counts and fails */
static _Thread_local int tl_in_hook; /* inside backtrace(): pass through */
static unsigned long calls, fail_at;
static int fired;
static void *fail_stack[STACK_MAX];
static int fail_depth;

static void lock(void)
{
    while (atomic_flag_test_and_set_explicit(&table_lock, memory_order_acquire)) {
    }
}

static void unlock(void)
{
    atomic_flag_clear_explicit(&table_lock, memory_order_release);
}

static size_t slot_of(uintptr_t p)
{
    return (size_t)(((uint64_t)(p >> 4) * 0x9E3779B97F4A7C15ull) >> (64 - TABLE_BITS));
}

/* Caller holds the lock. */
static void table_insert(void *p, void *caller)
{
    size_t i;

    if (atomic_load(&tracked) >= TABLE_SIZE / 2) {
        overflowed = 1;
        return;
    }
    i = slot_of((uintptr_t)p);
    while (table[i].ptr != 0)
        i = (i + 1) & TABLE_MASK;
    table[i].ptr = (uintptr_t)p;
    table[i].caller = caller;
    atomic_fetch_add(&tracked, 1);
}

/* Caller holds the lock. Removes `p` when tracked (linear probing, backward-shift delete);
 * returns 1 when it was. */
static int table_remove(void *p)
{
    size_t i = slot_of((uintptr_t)p);
    size_t j;

    while (table[i].ptr != (uintptr_t)p) {
        if (table[i].ptr == 0)
            return 0;
        i = (i + 1) & TABLE_MASK;
    }
    table[i].ptr = 0;
    j = i;
    for (;;) {
        size_t k;

        j = (j + 1) & TABLE_MASK;
        if (table[j].ptr == 0)
            break;
        k = slot_of(table[j].ptr);
        /* entry j may move to the hole at i unless its home k lies cyclically in (i, j] */
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
            continue;
        table[i] = table[j];
        table[j].ptr = 0;
        i = j;
    }
    atomic_fetch_sub(&tracked, 1);
    return 1;
}

static void track(void *p, void *caller)
{
    lock();
    table_insert(p, caller);
    unlock();
}

static int untrack(void *p)
{
    int was;

    if (atomic_load(&tracked) == 0)
        return 0;
    lock();
    was = table_remove(p);
    unlock();
    return was;
}

/* 1 when this allocation call is the one to fail. */
static int count_and_decide(void)
{
    if (!tl_armed || tl_in_hook)
        return 0;
    calls++;
    if (fail_at == 0 || calls != fail_at)
        return 0;
    fired = 1;
    tl_in_hook = 1;
    fail_depth = backtrace(fail_stack, STACK_MAX);
    tl_in_hook = 0;
    return 1;
}

void *failalloc_malloc(size_t n, void *caller)
{
    void *p;

    if (count_and_decide())
        return NULL;
    p = __libc_malloc(n);
    if (p != NULL && tl_armed && !tl_in_hook)
        track(p, caller);
    return p;
}

void *failalloc_calloc(size_t n, size_t size, void *caller)
{
    void *p;

    if (count_and_decide())
        return NULL;
    p = __libc_calloc(n, size);
    if (p != NULL && tl_armed && !tl_in_hook)
        track(p, caller);
    return p;
}

void *failalloc_realloc(void *p, size_t n, void *caller)
{
    void *q;
    int was;

    if (p == NULL)
        return failalloc_malloc(n, caller);
    if (n == 0) { /* glibc: frees p */
        untrack(p);
        return __libc_realloc(p, 0);
    }
    if (count_and_decide())
        return NULL; /* p stays valid and keeps its state */
    /* a block allocated while armed stays tracked under its new address; another stays not */
    was = untrack(p);
    q = __libc_realloc(p, n);
    if (was)
        track(q != NULL ? q : p, caller);
    return q;
}

void failalloc_free(void *p)
{
    if (p == NULL)
        return;
    untrack(p);
    __libc_free(p);
}

void failalloc_arm(unsigned long n)
{
    lock();
    memset(table, 0, sizeof(table));
    atomic_store(&tracked, 0);
    overflowed = 0;
    unlock();
    calls = 0;
    fail_at = n;
    fired = 0;
    fail_depth = 0;
    tl_armed = 1;
}

unsigned long failalloc_disarm(void)
{
    tl_armed = 0;
    return calls;
}

int failalloc_fired(void)
{
    return fired;
}

size_t failalloc_live(void)
{
    return atomic_load(&tracked);
}

int failalloc_overflowed(void)
{
    return overflowed;
}

static void say(int fd, const char *s)
{
    size_t n = strlen(s);

    while (n > 0) {
        ssize_t w = write(fd, s, n);

        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

void failalloc_report(int fd)
{
    char line[160];
    size_t i;

    if (fired && fail_depth > 0) {
        snprintf(line, sizeof(line), "failalloc: allocation call %lu failed here:\n", fail_at);
        say(fd, line);
        backtrace_symbols_fd(fail_stack, fail_depth, fd);
    }
    lock();
    for (i = 0; i < TABLE_SIZE; i++) {
        if (table[i].ptr == 0)
            continue;
        snprintf(line, sizeof(line), "failalloc: block %p still alive, allocated by:\n",
                 (void *)table[i].ptr);
        say(fd, line);
        backtrace_symbols_fd(&table[i].caller, 1, fd);
    }
    unlock();
}

static void noop_work(uv_work_t *w)
{
    (void)w;
}

static void noop_after(uv_work_t *w, int status)
{
    (void)w;
    (void)status;
}

/* libuv starts its threadpool at the first queued work and keeps it (and the threads'
 * memory) until the process exits: start it now, unarmed. */
static int warm_threadpool(void)
{
    uv_loop_t loop;
    uv_work_t w;

    if (uv_loop_init(&loop) != 0)
        return -1;
    if (uv_queue_work(&loop, &w, noop_work, noop_after) != 0) {
        uv_loop_close(&loop);
        return -1;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    return uv_loop_close(&loop);
}

int failalloc_available(void)
{
#ifdef FAILALLOC_SANITIZER
    return 0;
#else
    void *(*volatile m)(size_t) = malloc;
    void *stack[4];
    void *p;

    /* backtrace() loads its unwinder on first use (which allocates): do that now */
    (void)backtrace(stack, 4);
    if (warm_threadpool() != 0)
        return 0;
    failalloc_arm(1);
    p = m(16);
    failalloc_disarm();
    if (p != NULL) { /* someone else's malloc answered (valgrind's or a sanitizer's) */
        free(p);
        return 0;
    }
    return fired;
#endif
}
