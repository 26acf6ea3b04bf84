/* The regression driver of a fuzz target outside libFuzzer: runs every file of the given
 * directories (or the given files) through LLVMFuzzerTestOneInput once, in name order, so
 * the committed corpus and every crash ever found are replayed by ctest in every build.
 * A directory that does not exist is skipped; no input at all is an error. A crash aborts.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Weak: only some targets define it. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Runs one file; returns 1 when it ran, 0 when it could not be read. */
static int
run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;
    int ok = 0;

    if (f == NULL) {
        fprintf(stderr, "regress: %s: %s\n", path, strerror(errno));
        return 0;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    /* An exactly sized copy, so a read past the end is caught by AddressSanitizer. */
    buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf == NULL || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n))
        goto out;
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    ok = 1;
out:
    if (!ok)
        fprintf(stderr, "regress: %s: cannot read it\n", path);
    free(buf);
    fclose(f);
    return ok;
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Runs every regular file of dir (not those starting with '.' or named README*). Returns
 * the number run, or -1 when one could not be read. */
static int
run_dir(const char *dir)
{
    struct dirent **list = NULL;
    int n = scandir(dir, &list, NULL, by_name), ran = 0;

    if (n < 0)
        return errno == ENOENT ? 0 : -1;
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        const char *name = list[i]->d_name;
        if (name[0] != '.' && strncmp(name, "README", 6) != 0) {
            snprintf(path, sizeof(path), "%s/%s", dir, name);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                if (!run_file(path))
                    ran = -1;
                else if (ran >= 0)
                    ran++;
            }
        }
        free(list[i]);
    }
    free(list);
    return ran;
}

int
main(int argc, char **argv)
{
    int total = 0;
    struct stat st;

    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        int n =
            stat(argv[i], &st) == 0 && S_ISREG(st.st_mode) ? run_file(argv[i]) : run_dir(argv[i]);
        if (n < 0)
            return EXIT_FAILURE;
        printf("regress: %s: %d inputs\n", argv[i], n);
        total += n;
    }
    if (total == 0) {
        fprintf(stderr, "regress: no input found\n");
        return EXIT_FAILURE;
    }
    printf("regress: %d inputs, no crash\n", total);
    return EXIT_SUCCESS;
}
