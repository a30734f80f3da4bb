/* The per-thread open-file cache: a hash table with LRU eviction of entries holding an open fd, the
 * facts the response head needs, and the bytes of small files. Entries are refcounted so a response
 * still sending from a file keeps it open after eviction. Server layer. */
#include "file_cache.h"
#include "server.h"

#include "sysprim/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CACHE_BUCKETS 2048
#define CACHE_MAX_ENTRIES 1024
#define CACHE_MAX_CONTENT_BYTES (16u << 20)
/* How long an entry is trusted before its path is stat'ed again (nginx's open_file_cache_valid); a
 * change inotify reports drops it sooner. */
#define CACHE_VALID_MS 1000
/* Directories watched per thread at most (each is one of the user's inotify watches), and the
 * highest watch descriptor kept (they are not reused, so a long run keeps numbering upwards). */
#define CACHE_MAX_WATCHES 4096
#define CACHE_MAX_WATCH_SLOTS 65536
/* What makes an entry stale: its file written or truncated, touched, removed, renamed, created. */
#define WATCH_EVENTS (IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
                      IN_DELETE_SELF | IN_MOVE_SELF)

static uint32_t hash_path(const char *path, size_t length)
{
        uint32_t h = 2166136261u; /* FNV-1a */
        for (size_t i = 0; i < length; i++) {
                h ^= (unsigned char)path[i];
                h *= 16777619u;
        }
        return h;
}

bool open_beneath_probe(int root_fd)
{
        struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
        int fd = (int)syscall(SYS_openat2, root_fd, ".", &how, sizeof(how));
        if (fd < 0)
                return false;
        close(fd);
        return true;
}

/* Without openat2: walk the path one component at a time with O_NOFOLLOW, so no symlink at all is
 * followed (stricter than openat2, which follows symlinks that stay beneath the root). The path never
 * holds ".." or empty segments (http_path_from_target refuses and collapses them). */
static int open_walk(const char *path, int flags)
{
        int dir = server.root_fd;
        int owned = -1;
        const char *p = path;
        for (;;) {
                const char *slash = strchr(p, '/');
                char component[256];
                size_t length = slash ? (size_t)(slash - p) : strlen(p);
                if (length == 0 || length >= sizeof(component)) {
                        if (owned >= 0)
                                close(owned);
                        return length ? -ENAMETOOLONG : -ENOENT;
                }
                memcpy(component, p, length);
                component[length] = '\0';
                if (strcmp(component, "..") == 0) {
                        if (owned >= 0)
                                close(owned);
                        return -EXDEV;
                }
                int fd = slash && slash[1] ? openat(dir, component, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                                           : openat(dir, component, flags | O_NOFOLLOW);
                int saved = errno;
                if (owned >= 0)
                        close(owned);
                if (fd < 0)
                        return -saved;
                if (!(slash && slash[1]))
                        return fd;
                owned = dir = fd;
                p = slash + 1;
        }
}

static int openat2_beneath(const char *path, int flags)
{
        struct open_how how = { .flags = (uint64_t)flags, .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
        for (int attempt = 0; attempt < 4; attempt++) {
                int fd = (int)syscall(SYS_openat2, server.root_fd, path, &how, sizeof(how));
                if (fd >= 0)
                        return fd;
                if (errno != EAGAIN && errno != EINTR)
                        return -errno;
        }
        return -EAGAIN;
}

/* Paths deeper than this are not searched for absolute links to follow (refused as openat2 refuses
 * them): each replaced link costs a binary search whose every probe walks the path, and a client can
 * make a server whose content has a deep loop of such links do that for every request. */
#define LINK_PATH_MAX_COMPONENTS 64

/* Where PATH, whose `count` component ends are `ends` (the last its length), stops opening: the end
 * of its first prefix that fails, with that failure in *error, or its length with *error 0 if the
 * whole opens. Prefixes open up to some component and fail from there on: a binary search. */
static size_t first_failing_prefix(char *path, size_t count, const uint16_t *ends, int *error)
{
        size_t low = 0, high = count; /* the prefixes before low open, the one at high fails */
        *error = 0;
        while (low < high) {
                size_t middle = low + (high - low) / 2;
                char kept = path[ends[middle]];
                path[ends[middle]] = '\0';
                int fd = openat2_beneath(path, O_PATH | O_CLOEXEC);
                path[ends[middle]] = kept;
                if (fd >= 0) {
                        close(fd);
                        low = middle + 1;
                } else {
                        high = middle;
                        *error = fd;
                }
        }
        return ends[low < count ? low : count - 1];
}

/* RESOLVE_BENEATH refuses every absolute symlink, also one naming a place inside the root (nginx
 * follows those). After its EXDEV: find the first component of PATH that cannot be followed; if it is
 * a symlink whose target is the root's real path or beneath it (or a relative one, which may lead to
 * such a link), put the target, made relative to the root, in its place and let openat2 try again.
 * The kernel still has the last word on what is beneath the root: every path tried is opened with
 * RESOLVE_BENEATH. At most 40 links replaced, as the kernel's own limit, in paths of at most
 * LINK_PATH_MAX_COMPONENTS components. */
static int open_beneath_through_links(const char *path, int flags)
{
        char current[PATH_MAX], next[PATH_MAX], target[PATH_MAX];
        size_t root_length = strlen(server.root_path);
        if (strlen(path) >= sizeof(current))
                return -ENAMETOOLONG;
        strcpy(current, path);
        for (int links = 0; links < 40; links++) {
                /* The component ends, "//" collapsed first (a spliced target may have them). */
                uint16_t ends[LINK_PATH_MAX_COMPONENTS];
                size_t length = 0, count = 0;
                for (size_t i = 0; current[i]; i++)
                        if (current[i] != '/' || length == 0 || current[length - 1] != '/')
                                current[length++] = current[i];
                current[length] = '\0';
                for (size_t i = 0; i <= length; i++)
                        if (i == length || current[i] == '/') {
                                if (count == LINK_PATH_MAX_COMPONENTS)
                                        return -EXDEV;
                                ends[count++] = (uint16_t)i;
                        }
                int error;
                size_t end = first_failing_prefix(current, count, ends, &error);
                if (error == 0) /* it opens now (a change between the calls): once more, whole */
                        return openat2_beneath(current, flags);
                if (error != -EXDEV)
                        return error;
                current[end] = '\0';
                int link = openat2_beneath(current, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (link < 0)
                        return -EXDEV;
                ssize_t n = readlinkat(link, "", target, sizeof(target));
                close(link);
                if (n <= 0 || (size_t)n >= sizeof(target))
                        return -EXDEV; /* not a link ('..' out of the root), or too long */
                target[n] = '\0';
                const char *rest = end < length ? current + end + 1 : "";
                int written;
                if (target[0] == '/') {
                        if (strncmp(target, server.root_path, root_length) != 0 ||
                            (root_length > 1 && target[root_length] != '/' && target[root_length] != '\0'))
                                return -EXDEV;
                        const char *beneath = target + root_length;
                        while (*beneath == '/')
                                beneath++;
                        written = snprintf(next, sizeof(next), "%s%s%s", *beneath ? beneath : ".",
                                           *rest ? "/" : "", rest);
                } else {
                        /* Relative to the link's directory. */
                        char *slash = strrchr(current, '/');
                        int directory = slash ? (int)(slash - current) + 1 : 0;
                        written = snprintf(next, sizeof(next), "%.*s%s%s%s", directory, current, target,
                                           *rest ? "/" : "", rest);
                }
                if (written < 0 || (size_t)written >= sizeof(next))
                        return -ENAMETOOLONG;
                memcpy(current, next, (size_t)written + 1);
                int fd = openat2_beneath(current, flags);
                if (fd != -EXDEV)
                        return fd;
        }
        return -ELOOP;
}

int open_beneath(const char *path, int flags)
{
        if (!server.openat2_works)
                return strcmp(path, ".") == 0 ? openat(server.root_fd, ".", flags) : open_walk(path, flags);
        int fd = openat2_beneath(path, flags);
        return fd == -EXDEV ? open_beneath_through_links(path, flags) : fd;
}

int file_cache_init(struct file_cache *cache)
{
        memset(cache, 0, sizeof(*cache));
        cache->buckets = calloc(CACHE_BUCKETS, sizeof(*cache->buckets));
        if (cache->buckets == NULL)
                return -ENOMEM;
        cache->bucket_mask = CACHE_BUCKETS - 1;
        /* Without inotify (a kernel without it, the instance limit reached) entries are still checked
         * once a second. */
        cache->watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (cache->watch_fd < 0)
                log_debug("file cache: no inotify (%s): changes are seen within a second", strerror(errno));
        return 0;
}

static void entry_free(struct file_entry *entry)
{
        if (entry->fd >= 0)
                close(entry->fd);
        free(entry->content);
        free(entry->head);
        free(entry);
}

void file_entry_put(struct file_entry *entry)
{
        if (--entry->refs == 0)
                entry_free(entry);
}

static void lru_unlink(struct file_cache *cache, struct file_entry *entry)
{
        if (entry->lru_prev)
                entry->lru_prev->lru_next = entry->lru_next;
        else
                cache->lru_head = entry->lru_next;
        if (entry->lru_next)
                entry->lru_next->lru_prev = entry->lru_prev;
        else
                cache->lru_tail = entry->lru_prev;
        entry->lru_prev = entry->lru_next = NULL;
}

static void lru_push_front(struct file_cache *cache, struct file_entry *entry)
{
        entry->lru_prev = NULL;
        entry->lru_next = cache->lru_head;
        if (cache->lru_head)
                cache->lru_head->lru_prev = entry;
        cache->lru_head = entry;
        if (cache->lru_tail == NULL)
                cache->lru_tail = entry;
}

/* Take an entry out of the table; it lives on while responses hold it. */
static void entry_remove(struct file_cache *cache, struct file_entry *entry)
{
        struct file_entry **link = &cache->buckets[entry->hash & cache->bucket_mask];
        while (*link != entry)
                link = &(*link)->hash_next;
        *link = entry->hash_next;
        lru_unlink(cache, entry);
        entry->in_table = false;
        cache->count--;
        if (entry->content)
                cache->content_bytes -= entry->size;
        file_entry_put(entry);
}

static void drop_all(struct file_cache *cache)
{
        while (cache->lru_head)
                entry_remove(cache, cache->lru_head);
}

void file_cache_destroy(struct file_cache *cache)
{
        drop_all(cache);
        free(cache->buckets);
        cache->buckets = NULL;
        for (size_t i = 0; i < cache->watch_slots; i++)
                free(cache->watch_dirs[i]);
        free(cache->watch_dirs);
        cache->watch_dirs = NULL;
        cache->watch_slots = cache->watch_count = 0;
        if (cache->watch_fd >= 0)
                close(cache->watch_fd);
        cache->watch_fd = -1;
}

static struct file_entry *entry_find(const struct file_cache *cache, const char *path, size_t path_length,
                                     uint32_t hash)
{
        struct file_entry *entry = cache->buckets[hash & cache->bucket_mask];
        while (entry && !(entry->hash == hash && entry->path_length == path_length &&
                          memcmp(entry->path, path, path_length) == 0))
                entry = entry->hash_next;
        return entry;
}

/* Watch the directory that holds `path` (a file's key), unless it is watched already or cannot be.
 * One watch per directory inode: a second name for a watched directory (a symlink to it) keeps the
 * first name, and its entries rely on the per-second check. */
static void watch_directory_of(struct file_cache *cache, const char *path, size_t path_length)
{
        if (cache->watch_fd < 0 || cache->watch_count >= CACHE_MAX_WATCHES)
                return;
        const char *slash = memrchr(path, '/', path_length);
        size_t dir_length = slash ? (size_t)(slash - path) : 0;
        char where[PATH_MAX];
        int n = snprintf(where, sizeof(where), "/proc/self/fd/%d/%.*s", server.root_fd, (int)dir_length, path);
        if (n < 0 || (size_t)n >= sizeof(where))
                return;
        int wd = inotify_add_watch(cache->watch_fd, where, WATCH_EVENTS | IN_ONLYDIR);
        if (wd < 0)
                return; /* gone already, not a directory, out of watches: the per-second check remains */
        if ((size_t)wd >= CACHE_MAX_WATCH_SLOTS) {
                inotify_rm_watch(cache->watch_fd, wd);
                return;
        }
        if ((size_t)wd >= cache->watch_slots) {
                size_t slots = cache->watch_slots ? cache->watch_slots : 64;
                while (slots <= (size_t)wd)
                        slots *= 2;
                char **grown = realloc(cache->watch_dirs, slots * sizeof(*grown));
                if (grown == NULL)
                        return;
                memset(grown + cache->watch_slots, 0, (slots - cache->watch_slots) * sizeof(*grown));
                cache->watch_dirs = grown;
                cache->watch_slots = slots;
        }
        if (cache->watch_dirs[wd])
                return;
        cache->watch_dirs[wd] = strndup(path, dir_length);
        if (cache->watch_dirs[wd])
                cache->watch_count++;
}

void file_cache_apply_changes(struct file_cache *cache)
{
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        char key[PATH_MAX];
        for (;;) {
                ssize_t n = read(cache->watch_fd, buf, sizeof(buf));
                if (n <= 0)
                        return; /* EAGAIN: all read */
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *ev = (const struct inotify_event *)p;
                        p += sizeof(*ev) + ev->len;
                        if (ev->mask & IN_Q_OVERFLOW) { /* events were lost */
                                drop_all(cache);
                                continue;
                        }
                        if (ev->wd < 0 || (size_t)ev->wd >= cache->watch_slots || !cache->watch_dirs[ev->wd])
                                continue;
                        const char *dir = cache->watch_dirs[ev->wd];
                        if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) {
                                /* The directory itself went or moved: which keys lay beneath it is not
                                 * worth working out for so rare an event. */
                                drop_all(cache);
                                if (ev->mask & IN_IGNORED) {
                                        free(cache->watch_dirs[ev->wd]);
                                        cache->watch_dirs[ev->wd] = NULL;
                                        cache->watch_count--;
                                }
                                continue;
                        }
                        if (ev->len == 0)
                                continue; /* the directory's own attributes: directories are checked by time */
                        int k = dir[0] ? snprintf(key, sizeof(key), "%s/%s", dir, ev->name)
                                       : snprintf(key, sizeof(key), "%s", ev->name);
                        if (k < 0 || (size_t)k >= sizeof(key))
                                continue;
                        struct file_entry *entry = entry_find(cache, key, (size_t)k, hash_path(key, (size_t)k));
                        if (entry)
                                entry_remove(cache, entry);
                }
        }
}

static bool same_file(const struct file_entry *entry, const struct stat *st)
{
        return entry->dev == st->st_dev && entry->inode == st->st_ino && entry->size == (uint64_t)st->st_size &&
               entry->mtime_ns == (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* Open and describe `path`; a negative entry records why it cannot be served. */
static struct file_entry *entry_create(struct file_cache *cache, const char *path, size_t path_length,
                                       uint32_t hash, uint64_t now_ms)
{
        struct file_entry *entry = calloc(1, sizeof(*entry) + path_length + 1);
        if (entry == NULL)
                return NULL;
        memcpy(entry->path, path, path_length);
        entry->path_length = path_length;
        entry->hash = hash;
        entry->refs = 1;
        entry->checked_ms = now_ms;
        /* O_NONBLOCK: a FIFO beneath the root must not block the loop (it is refused below anyway). */
        int fd = open_beneath(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        struct stat st;
        if (fd < 0) {
                entry->fd = -1;
                entry->error = -fd;
        } else if (fstat(fd, &st) < 0) {
                entry->error = errno;
                close(fd);
                entry->fd = -1;
        } else if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
                entry->error = EACCES; /* devices, FIFOs, sockets are not files to serve */
                close(fd);
                entry->fd = -1;
        } else {
                entry->fd = fd;
                entry->is_dir = S_ISDIR(st.st_mode);
                entry->size = (uint64_t)st.st_size;
                /* Last-Modified is never later than Date (RFC 9110 8.8.2.1): a file dated in the future
                 * is described as modified now. mtime_ns, for the ETag and the change check, stays. */
                time_t now = time(NULL);
                entry->mtime = st.st_mtim.tv_sec > now ? now : st.st_mtim.tv_sec;
                entry->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
                entry->dev = st.st_dev;
                entry->inode = st.st_ino;
                entry->etag_length = (uint8_t)http_etag_format(entry->size, entry->mtime_ns, entry->inode, entry->etag);
                http_date_format(entry->mtime, entry->last_modified);
                entry->mime = http_mime_type(path, path_length);
                if (!entry->is_dir && entry->size <= FILE_CACHE_SMALL_FILE &&
                    cache->content_bytes + entry->size <= CACHE_MAX_CONTENT_BYTES) {
                        entry->content = malloc(entry->size ? entry->size : 1);
                        size_t done = 0;
                        while (entry->content && done < entry->size) {
                                ssize_t n = pread(fd, entry->content + done, entry->size - done, (off_t)done);
                                if (n <= 0)
                                        break;
                                done += (size_t)n;
                        }
                        if (entry->content && done != entry->size) {
                                /* It changed under us: serve it from the fd, which sendfile bounds. */
                                free(entry->content);
                                entry->content = NULL;
                        }
                }
        }
        return entry;
}

static void entry_insert(struct file_cache *cache, struct file_entry *entry)
{
        while (cache->count >= CACHE_MAX_ENTRIES && cache->lru_tail)
                entry_remove(cache, cache->lru_tail);
        struct file_entry **bucket = &cache->buckets[entry->hash & cache->bucket_mask];
        entry->hash_next = *bucket;
        *bucket = entry;
        lru_push_front(cache, entry);
        entry->in_table = true;
        entry->refs++; /* the table's reference */
        cache->count++;
        if (entry->content)
                cache->content_bytes += entry->size;
}

int file_cache_get(struct file_cache *cache, const char *path, size_t path_length, uint64_t now_ms,
                   struct file_entry **out)
{
        uint32_t hash = hash_path(path, path_length);
        struct file_entry *entry = entry_find(cache, path, path_length, hash);
        if (entry && now_ms - entry->checked_ms >= CACHE_VALID_MS) {
                /* Same inode, size and mtime as the fd we opened safely: still the same file. Anything else
                 * (changed, replaced, vanished, appeared) is opened again through open_beneath. */
                struct stat st;
                bool exists = fstatat(server.root_fd, path, &st, 0) == 0;
                if (entry->error == 0 && exists && same_file(entry, &st)) {
                        entry->checked_ms = now_ms;
                } else if (entry->error && !exists && (errno == ENOENT || errno == ENOTDIR)) {
                        entry->checked_ms = now_ms;
                } else {
                        entry_remove(cache, entry);
                        entry = NULL;
                }
        }
        if (entry == NULL) {
                /* Watched before it is opened, so a change in between is not missed. */
                watch_directory_of(cache, path, path_length);
                entry = entry_create(cache, path, path_length, hash, now_ms);
                if (entry == NULL)
                        return -ENOMEM;
                /* Transient failures (EMFILE, EAGAIN) are not cached. */
                if (entry->error == 0 || entry->error == ENOENT || entry->error == ENOTDIR ||
                    entry->error == EXDEV || entry->error == ELOOP || entry->error == EACCES) {
                        entry_insert(cache, entry);
                        file_entry_put(entry); /* now only the table holds it */
                } else {
                        int error = entry->error;
                        file_entry_put(entry);
                        return -error;
                }
        } else if (cache->lru_head != entry) {
                lru_unlink(cache, entry);
                lru_push_front(cache, entry);
        }
        if (entry->error)
                return -entry->error;
        *out = file_entry_ref(entry);
        return 0;
}
