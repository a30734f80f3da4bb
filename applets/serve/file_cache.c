/* The per-thread open-file cache: a hash table with LRU eviction of entries holding an open fd, the
 * facts the response head needs, and the bytes of small files. Entries are refcounted so a response
 * still sending from a file keeps it open after eviction. Server layer. */
#include "file_cache.h"
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CACHE_BUCKETS 2048
#define CACHE_MAX_ENTRIES 1024
#define CACHE_MAX_CONTENT_BYTES (16u << 20)
/* How long an entry is trusted before its path is stat'ed again (nginx's open_file_cache_valid). */
#define CACHE_VALID_MS 1000

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

int open_beneath(const char *path, int flags)
{
        if (!server.openat2_works)
                return strcmp(path, ".") == 0 ? openat(server.root_fd, ".", flags) : open_walk(path, flags);
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

int file_cache_init(struct file_cache *cache)
{
        memset(cache, 0, sizeof(*cache));
        cache->buckets = calloc(CACHE_BUCKETS, sizeof(*cache->buckets));
        if (cache->buckets == NULL)
                return -ENOMEM;
        cache->bucket_mask = CACHE_BUCKETS - 1;
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

void file_cache_destroy(struct file_cache *cache)
{
        while (cache->lru_head)
                entry_remove(cache, cache->lru_head);
        free(cache->buckets);
        cache->buckets = NULL;
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
                entry->mtime = st.st_mtim.tv_sec;
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
        struct file_entry *entry = cache->buckets[hash & cache->bucket_mask];
        while (entry && !(entry->hash == hash && entry->path_length == path_length &&
                          memcmp(entry->path, path, path_length) == 0))
                entry = entry->hash_next;
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
