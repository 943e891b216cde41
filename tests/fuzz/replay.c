/* SPDX-License-Identifier: MIT */
/*
 * Corpus replay without libFuzzer: linked with one fuzz target's LLVMFuzzerTestOneInput,
 * it runs every file named on the command line (a directory: every regular file in it)
 * through the target once, so that `make check` replays each corpus in the plain and the
 * sanitizer build. A target aborts on a broken invariant and the sanitizers abort on a
 * finding, so a clean exit means every input passed. It fails when it ran no input at all
 * (a missing or empty corpus must not pass silently).
 *
 * Usage: replay_<name> FILE|DIR...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (1u << 20) /* a corpus file is small; this bounds a mistake */

/* runs one file; returns 1 if it ran, 0 if it is not a regular file, -1 on error */
static int run_file(const char *path)
{
    struct stat st;
    uint8_t *data;
    size_t size;
    FILE *f;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: cannot stat\n", path);
        return -1;
    }
    if (!S_ISREG(st.st_mode))
        return 0;
    if ((uintmax_t)st.st_size > REPLAY_MAX_INPUT) {
        fprintf(stderr, "replay: %s: larger than %u bytes\n", path, REPLAY_MAX_INPUT);
        return -1;
    }
    size = (size_t)st.st_size;
    /* one byte more, so that an empty input still has a valid pointer, as under libFuzzer */
    data = malloc(size + 1);
    f = fopen(path, "rb");
    if (data == NULL || f == NULL || fread(data, 1, size, f) != size) {
        fprintf(stderr, "replay: %s: cannot read\n", path);
        free(data);
        if (f != NULL)
            fclose(f);
        return -1;
    }
    fclose(f);
    (void)LLVMFuzzerTestOneInput(data, size);
    free(data);
    return 1;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* runs every regular file of a directory, in name order; returns the count or -1 */
static int run_dir(const char *dir)
{
    struct dirent *e;
    char **names = NULL;
    size_t n = 0;
    size_t cap = 0;
    size_t i;
    int ran = 0;
    DIR *d = opendir(dir);

    if (d == NULL) {
        fprintf(stderr, "replay: %s: cannot open\n", dir);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **grown;

            cap = cap ? cap * 2 : 64;
            grown = realloc(names, cap * sizeof(*names));
            if (grown == NULL)
                break;
            names = grown;
        }
        names[n] = strdup(e->d_name);
        if (names[n] == NULL)
            break;
        n++;
    }
    closedir(d);
    if (e != NULL) {
        fprintf(stderr, "replay: %s: out of memory\n", dir);
        ran = -1;
    } else if (n > 0) {
        qsort(names, n, sizeof(*names), cmp_names);
    }
    for (i = 0; i < n; i++) {
        char path[4096];
        int r;

        if (ran >= 0) {
            if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= sizeof(path)) {
                fprintf(stderr, "replay: %s/%s: path too long\n", dir, names[i]);
                ran = -1;
            } else if ((r = run_file(path)) < 0) {
                ran = -1;
            } else {
                ran += r;
            }
        }
        free(names[i]);
    }
    free(names);
    return ran;
}

int main(int argc, char **argv)
{
    int total = 0;
    int i;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        struct stat st;
        int r;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: no such file or directory\n", argv[i]);
            return 1;
        }
        r = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]);
        if (r < 0)
            return 1;
        total += r;
    }
    if (total == 0) {
        fprintf(stderr, "replay: no input found\n");
        return 1;
    }
    printf("replay: %d input(s) passed\n", total);
    return 0;
}
