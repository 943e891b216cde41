/* SPDX-License-Identifier: MIT */
/*
 * Allocation failure injector for tests. A test executable that says FAILALLOC_INTERPOSE()
 * once (at file scope) replaces malloc, calloc, realloc and free for the whole process
 * (glibc allows a program to define them) with wrappers that forward to glibc's
 * __libc_malloc and friends. Between failalloc_arm(n) and failalloc_disarm() the wrappers
 * count the allocation calls made on the arming thread and make the n-th one return NULL
 * (once); every block handed out there is remembered until it is freed (from any thread),
 * so failalloc_live() tells how many of them are still alive: leaks.
 *
 * Not counted: allocations on other threads (libuv's threadpool), and memalign,
 * posix_memalign and aligned_alloc (not replaced). Under AddressSanitizer (which has its own
 * malloc) and under valgrind without --soname-synonyms=somalloc=nouserintercepts the
 * wrappers are not in effect: failalloc_available() says so and the test should skip.
 *
 * This module must not allocate, print or take a lock that an allocation may need while it
 * sits inside malloc. It is never part of the library.
 */
#ifndef PL_TEST_FAILALLOC_H
#define PL_TEST_FAILALLOC_H

#include <stddef.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FAILALLOC_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define FAILALLOC_SANITIZER 1
#endif
#endif

/* 1 when the wrappers are in effect in this process (checked by a test allocation that
 * must fail), else 0. Call it with nothing armed. Also starts libuv's threadpool, so that
 * its threads (which keep their memory for the life of the process) never start armed. */
int failalloc_available(void);

/* Starts counting allocation calls on this thread, from 0; the `fail_at`-th (1-based)
 * returns NULL. 0: count only. Forgets what an earlier arm() injected and tracked. */
void failalloc_arm(unsigned long fail_at);

/* Stops counting; returns the number of allocation calls counted since arm(). Blocks
 * allocated while armed are still tracked until freed. */
unsigned long failalloc_disarm(void);

/* 1 when the armed allocation failure happened. */
int failalloc_fired(void);

/* Blocks allocated while armed and not freed yet. */
size_t failalloc_live(void);

/* 1 when more blocks were alive at once than the tracking table holds (the count is then
 * not trustworthy). */
int failalloc_overflowed(void);

/* Writes the stack of the failed allocation (when it fired) and the caller of each block
 * still alive to file descriptor `fd`, with no allocation (backtrace_symbols_fd). */
void failalloc_report(int fd);

/* The wrappers' bodies; `caller` is the return address of the replaced function. */
void *failalloc_malloc(size_t n, void *caller);
void *failalloc_calloc(size_t n, size_t size, void *caller);
void *failalloc_realloc(void *p, size_t n, void *caller);
void failalloc_free(void *p);

#ifdef FAILALLOC_SANITIZER
/* The sanitizer owns malloc: nothing is replaced and failalloc_available() returns 0. */
#define FAILALLOC_INTERPOSE() extern int failalloc_interpose_off_
#else
/* Defines malloc, calloc, realloc and free in the test executable. Say it once, in the one
 * test that injects failures (it is a macro so that no other test links the wrappers in by
 * pulling this object out of the support library). */
#define FAILALLOC_INTERPOSE()                                          \
    void *malloc(size_t n)                                             \
    {                                                                  \
        return failalloc_malloc(n, __builtin_return_address(0));       \
    }                                                                  \
    void *calloc(size_t n, size_t size)                                \
    {                                                                  \
        return failalloc_calloc(n, size, __builtin_return_address(0)); \
    }                                                                  \
    void *realloc(void *p, size_t n)                                   \
    {                                                                  \
        return failalloc_realloc(p, n, __builtin_return_address(0));   \
    }                                                                  \
    void free(void *p)                                                 \
    {                                                                  \
        failalloc_free(p);                                             \
    }                                                                  \
    extern int failalloc_interpose_on_
#endif

#endif
