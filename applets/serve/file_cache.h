/* A per-thread cache of open files beneath the root (fd, size, mtime, ETag, MIME type, and the bytes
 * of small files), keyed by relative path. A change inotify reports in a file's directory drops its
 * entry at once; besides, every entry is revalidated against the path's inode, size and mtime at most
 * once a second (what inotify cannot see: a renamed ancestor, directories, watches it refused). Per
 * thread, so the request path takes no lock. Server layer. */
#ifndef SERVE_FILE_CACHE_H
#define SERVE_FILE_CACHE_H

#include "http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Files up to this size are also kept in memory and sent with the head in one writev. */
#define FILE_CACHE_SMALL_FILE 16384

struct file_entry {
        struct file_entry *hash_next;
        struct file_entry *lru_prev, *lru_next;
        uint32_t hash;
        uint32_t refs;     /* held by the table (1 while cached) and by responses in flight */
        bool in_table;
        bool is_dir;
        int error;         /* > 0: a negative entry (the path failed with this errno); fd is -1 */
        int fd;
        uint64_t size;
        time_t mtime;      /* seconds, for Last-Modified and If-Modified-Since */
        int64_t mtime_ns;
        dev_t dev;
        ino_t inode;
        uint64_t checked_ms; /* loop time of the last open or stat */
        const char *mime;
        char *content;     /* the whole file when size <= FILE_CACHE_SMALL_FILE, else NULL */
        uint8_t etag_length;
        char etag[HTTP_MAX_ETAG];
        char last_modified[HTTP_DATE_LEN + 1];
        /* The head of this file's plain 200 answer (HTTP/1.1, keep-alive), formatted by the first such
         * response; later ones copy it and rewrite only its Date, at most once a second. */
        char *head;
        time_t head_date;
        uint16_t head_length, head_date_offset;
        bool head_vary;
        size_t path_length;
        char path[];       /* NUL-terminated key */
};

struct file_cache {
        struct file_entry **buckets;
        size_t bucket_mask;
        size_t count;
        size_t content_bytes;
        struct file_entry *lru_head, *lru_tail; /* head: most recently used */
        /* inotify on the directories of cached files (-1: none): a file written, truncated, touched,
         * removed, renamed or created there drops its entry at once, not at the next check. */
        int watch_fd;
        char **watch_dirs;   /* by watch descriptor: that directory's key ("" for the root), or NULL */
        size_t watch_slots;
        unsigned watch_count;
};

int file_cache_init(struct file_cache *cache);
void file_cache_destroy(struct file_cache *cache);

/* Read the changes cache->watch_fd reports and drop the entries they make stale. */
void file_cache_apply_changes(struct file_cache *cache);

/* The entry for `path` (relative, as http_path_from_target makes it), opened beneath the root on a
 * miss or when the file changed. Returns 0 and a referenced entry (release it with file_entry_put),
 * or -errno when the path cannot be served (ENOENT, EXDEV for an escape, ELOOP, EACCES, ...). */
int file_cache_get(struct file_cache *cache, const char *path, size_t path_length, uint64_t now_ms,
                   struct file_entry **entry);
void file_entry_put(struct file_entry *entry);
static inline struct file_entry *file_entry_ref(struct file_entry *entry)
{
        entry->refs++;
        return entry;
}

/* Open `path` beneath the root: openat2(RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS), or a component walk
 * with O_NOFOLLOW (refusing every symlink) on kernels without openat2. fd or -errno. */
int open_beneath(const char *path, int flags);

/* At start-up: does this kernel have openat2? */
bool open_beneath_probe(int root_fd);

#endif
