/* alloc-bench (applet layer): which allocators exist on this machine, where their libraries are, and
 * the identity check that keeps a ratio from ever comparing an allocator with itself. */
#include "bench.h"
#include "applets/alloc-bench/alloc-bench-config.h"
#include "sysprim/err.h"

#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const allocator_default_names[] = { "builtin", "glibc", "jemalloc", "tcmalloc", "mimalloc", NULL };

/* The peers, as Debian ships them (see ../shared/PEERS.md). */
static const struct peer {
        const char *name;
        const char *file;
        const char *package;
} peers[] = {
        { "jemalloc", "libjemalloc.so.2", "libjemalloc2" },
        { "tcmalloc", "libtcmalloc_minimal.so.4", "libtcmalloc-minimal4" },
        { "mimalloc", "libmimalloc.so.2", "libmimalloc2.0" },
};

static bool is_file(const char *path)
{
        return access(path, R_OK) == 0;
}

/* Look for a shared library file in the directory of this process's libc (the multiarch directory,
 * e.g. /lib/x86_64-linux-gnu), its /usr twin, and the usual others. */
static bool find_system_library(const char *file, char *found, size_t size)
{
        char libc_dir[PATH_MAX] = "";
        Dl_info info;
        if (dladdr((void *)dladdr, &info) && info.dli_fname && info.dli_fname[0] == '/') {
                snprintf(libc_dir, sizeof(libc_dir), "%s", info.dli_fname);
                char *slash = strrchr(libc_dir, '/');
                if (slash)
                        *slash = '\0';
        }
        char usr_dir[PATH_MAX + 8] = "";
        if (strncmp(libc_dir, "/lib", 4) == 0)
                snprintf(usr_dir, sizeof(usr_dir), "/usr%s", libc_dir);
        const char *dirs[] = { usr_dir, libc_dir, "/usr/local/lib", "/usr/lib", "/lib" };
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                if (dirs[i][0] == '\0')
                        continue;
                char candidate[PATH_MAX * 2];
                snprintf(candidate, sizeof(candidate), "%s/%s", dirs[i], file);
                if (is_file(candidate) && realpath(candidate, found) != NULL) {
                        (void)size;
                        return true;
                }
        }
        return false;
}

static bool exe_dir(char *dir, size_t size)
{
        ssize_t n = readlink("/proc/self/exe", dir, size - 1);
        if (n <= 0)
                return false;
        dir[n] = '\0';
        char *slash = strrchr(dir, '/');
        if (slash == NULL)
                return false;
        *slash = '\0';
        return true;
}

/* libsysprim-malloc.so: $SYSPRIM_MALLOC_LIB, else beside this executable in the build tree or where
 * meson installs it. */
static void resolve_builtin(struct allocator *a)
{
        a->package = NULL;
        const char *env = getenv("SYSPRIM_MALLOC_LIB");
        if (env && env[0]) {
                if (!is_file(env) || realpath(env, a->library) == NULL) {
                        a->status = ALLOCATOR_SKIPPED;
                        snprintf(a->reason, sizeof(a->reason), "SYSPRIM_MALLOC_LIB=%s: no such file", env);
                }
                return;
        }
        char dir[PATH_MAX];
        if (exe_dir(dir, sizeof(dir))) {
                const char *relative[] = { ALLOC_BENCH_MALLOC_LIB_BUILD, ALLOC_BENCH_MALLOC_LIB_NAME,
                                           ALLOC_BENCH_MALLOC_LIB_RELATIVE };
                for (size_t i = 0; i < sizeof(relative) / sizeof(relative[0]); i++) {
                        char candidate[PATH_MAX * 2];
                        if (relative[i][0] == '\0')
                                continue;
                        snprintf(candidate, sizeof(candidate), "%s/%s", dir, relative[i]);
                        if (is_file(candidate) && realpath(candidate, a->library) != NULL)
                                return;
                }
        }
        if (ALLOC_BENCH_MALLOC_LIB_INSTALLED[0] && is_file(ALLOC_BENCH_MALLOC_LIB_INSTALLED) &&
            realpath(ALLOC_BENCH_MALLOC_LIB_INSTALLED, a->library) != NULL)
                return;
        a->status = ALLOCATOR_SKIPPED;
        if (ALLOC_BENCH_HAVE_MALLOC_LIB)
                snprintf(a->reason, sizeof(a->reason), "%s not found beside sysprim or in %s (set SYSPRIM_MALLOC_LIB)",
                         ALLOC_BENCH_MALLOC_LIB_NAME, ALLOC_BENCH_MALLOC_LIB_INSTALLED);
        else
                snprintf(a->reason, sizeof(a->reason),
                         "this sysprim was built without libsysprim-malloc.so (the allocator, src/alloc)");
}

static bool looks_like_path(const char *request)
{
        return strchr(request, '/') != NULL || strstr(request, ".so") != NULL;
}

int allocator_resolve(const char *request, struct allocator *a, struct err *e)
{
        memset(a, 0, sizeof(*a));
        a->status = ALLOCATOR_OK;
        a->kind = KIND_PRELOAD;
        if (strcmp(request, "glibc") == 0) {
                snprintf(a->name, sizeof(a->name), "glibc");
                a->kind = KIND_GLIBC;
                a->package = "libc6";
                return 0;
        }
        if (strcmp(request, "builtin") == 0) {
                snprintf(a->name, sizeof(a->name), "builtin");
                a->marker = "builtin"; /* the worker sees sysprim_malloc_stats */
                resolve_builtin(a);
                return 0;
        }
        for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
                if (strcmp(request, peers[i].name) != 0)
                        continue;
                snprintf(a->name, sizeof(a->name), "%s", peers[i].name);
                a->marker = peers[i].name;
                a->package = peers[i].package;
                if (!find_system_library(peers[i].file, a->library, sizeof(a->library))) {
                        a->status = ALLOCATOR_SKIPPED;
                        snprintf(a->reason, sizeof(a->reason), "not installed (apt-get install %s)", peers[i].package);
                }
                return 0;
        }
        if (!looks_like_path(request))
                return err_set(e, 0, /* no errno text: the message says it all */
                               "--allocator: unknown allocator '%s' (builtin, glibc, jemalloc, tcmalloc, mimalloc, "
                               "or the path of a malloc library)",
                               request);
        if (!is_file(request) || realpath(request, a->library) == NULL)
                return err_set(e, ENOENT, "--allocator: cannot use '%s'", request);
        if (strpbrk(a->library, " :\t") != NULL) /* LD_PRELOAD splits its value there */
                return err_set(e, 0, "--allocator: '%s' cannot be preloaded (its path has a space or a colon)",
                               a->library);
        char copy[PATH_MAX];
        snprintf(copy, sizeof(copy), "%s", a->library);
        snprintf(a->name, sizeof(a->name), "%s", basename(copy));
        a->from_path = true;
        return 0;
}

static const char *base_name(const char *path)
{
        const char *slash = strrchr(path, '/');
        return slash ? slash + 1 : path;
}

static bool has_marker(const char *markers, const char *name)
{
        size_t n = strlen(name);
        for (const char *p = markers; (p = strstr(p, name)) != NULL; p += n)
                if ((p == markers || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
                        return true;
        return false;
}

bool allocator_identity_ok(const struct allocator *a, const struct worker_output *out, char *why, size_t why_size)
{
        static const char *const symbols[WORKER_SYMBOLS] = { "malloc", "free", "calloc", "realloc",
                                                             "posix_memalign", "aligned_alloc" };
        const char *served = out->symbol_library[0];
        if (served[0] == '\0') {
                snprintf(why, why_size, "the worker did not say which library serves malloc");
                return false;
        }
        for (int i = 1; i < WORKER_SYMBOLS; i++) {
                if (strcmp(out->symbol_library[i], served) != 0) {
                        snprintf(why, why_size, "malloc comes from %s but %s from %s", served, symbols[i],
                                 out->symbol_library[i]);
                        return false;
                }
        }
        if (a->kind == KIND_GLIBC) {
                if (strncmp(base_name(served), "libc.so", 7) != 0) {
                        snprintf(why, why_size, "malloc is served by %s, not by the C library", served);
                        return false;
                }
                if (out->markers[0]) {
                        snprintf(why, why_size, "another allocator is loaded (%s)", out->markers);
                        return false;
                }
                return true;
        }
        if (strcmp(served, a->library) != 0) {
                snprintf(why, why_size, "malloc is served by %s, not by %s", served, a->library);
                return false;
        }
        if (a->marker && !has_marker(out->markers, a->marker)) {
                snprintf(why, why_size, "%s does not export %s's marker symbol", a->library, a->marker);
                return false;
        }
        return true;
}
