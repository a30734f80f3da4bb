/* The HTML directory listing: read the directory beneath the root, leave dotfiles out (they are never
 * served), sort, and write each name percent-encoded in the link and HTML-escaped in the text, so a
 * file called `<script>` or `a"b` cannot inject markup. The text shows bytes that are not UTF-8 as
 * U+FFFD (the page says charset=utf-8); the link keeps them, so it still leads to the file. Server layer. */
#include "listing.h"
#include "file_cache.h"
#include "http.h"
#include "sysprim/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void page_text(struct util_buf *page, const char *text)
{
        util_buf_append(page, text, strlen(text));
}

/* Escaped, text grows at most 6x. Names are at most 255 bytes; the directory's path, in the title
 * and heading, can be longer (it got an empty title and heading past 1,536 escaped bytes). */
static void page_escaped(struct util_buf *page, const char *text, size_t length)
{
        char small[6 * 256 + 1];
        char *out = length <= 256 ? small : malloc(6 * length + 1);
        if (out == NULL) {
                page->failed = true;
                return;
        }
        size_t n = http_html_escape(text, length, out, length <= 256 ? sizeof(small) : 6 * length + 1);
        util_buf_append(page, out, n);
        if (out != small)
                free(out);
}

struct name {
        char *text;
        bool is_dir;
};

static int compare_names(const void *a, const void *b)
{
        return strcmp(((const struct name *)a)->text, ((const struct name *)b)->text);
}

/* A link to a name the path layer refuses (a control byte, '\\') would only lead to a 400. */
static bool name_servable(const char *name)
{
        for (const unsigned char *p = (const unsigned char *)name; *p; p++)
                if (!http_path_name_byte_ok(*p))
                        return false;
        return true;
}

int listing_render(const char *path, size_t path_length, char **out, size_t *out_length)
{
        int fd = open_beneath(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return fd;
        DIR *dir = fdopendir(fd);
        if (dir == NULL) {
                int saved = errno;
                close(fd);
                return -saved;
        }
        bool root = strcmp(path, ".") == 0;
        struct name *names = NULL;
        size_t count = 0, capacity = 0;
        int rc = 0;
        struct dirent *d;
        while ((d = readdir(dir)) != NULL) {
                if (d->d_name[0] == '.' || !name_servable(d->d_name))
                        continue;
                bool is_dir = d->d_type == DT_DIR;
                if (d->d_type == DT_UNKNOWN || d->d_type == DT_LNK) {
                        /* Followed as a request would be (beneath the root): a link out of it is left
                         * out, and whether its target exists or is a directory is not told. */
                        char entry_path[PATH_MAX];
                        int n = root ? snprintf(entry_path, sizeof(entry_path), "%s", d->d_name)
                                     : snprintf(entry_path, sizeof(entry_path), "%s/%s", path, d->d_name);
                        if (n < 0 || (size_t)n >= sizeof(entry_path))
                                continue;
                        int entry_fd = open_beneath(entry_path, O_PATH | O_CLOEXEC);
                        struct stat st;
                        bool described = entry_fd >= 0 && fstat(entry_fd, &st) == 0;
                        if (entry_fd >= 0)
                                close(entry_fd);
                        if (!described || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
                                continue;
                        is_dir = S_ISDIR(st.st_mode);
                } else if (d->d_type != DT_REG && d->d_type != DT_DIR) {
                        continue; /* FIFOs, sockets, devices are not served */
                }
                if (count == capacity) {
                        size_t grown = capacity ? capacity * 2 : 64;
                        struct name *more = realloc(names, grown * sizeof(*names));
                        if (more == NULL) {
                                rc = -ENOMEM;
                                break;
                        }
                        names = more;
                        capacity = grown;
                }
                names[count].text = strdup(d->d_name);
                if (names[count].text == NULL) {
                        rc = -ENOMEM;
                        break;
                }
                names[count++].is_dir = is_dir;
        }
        closedir(dir);
        struct util_buf page = { 0 };
        if (rc == 0) {
                if (count > 1)
                        qsort(names, count, sizeof(*names), compare_names);
                char title[8];
                strcpy(title, "/");
                page_text(&page, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of ");
                page_text(&page, title);
                if (!root)
                        page_escaped(&page, path, path_length), page_text(&page, "/");
                page_text(&page, "</title></head>\n<body><h1>Index of /");
                if (!root)
                        page_escaped(&page, path, path_length), page_text(&page, "/");
                page_text(&page, "</h1>\n<ul>\n");
                if (!root)
                        page_text(&page, "<li><a href=\"../\">../</a></li>\n");
                for (size_t i = 0; i < count; i++) {
                        char href[3 * 256 + 1];
                        size_t length = strlen(names[i].text);
                        size_t href_length = http_percent_encode(names[i].text, length, href, sizeof(href));
                        page_text(&page, "<li><a href=\"");
                        util_buf_append(&page, href, href_length);
                        if (names[i].is_dir)
                                page_text(&page, "/");
                        page_text(&page, "\">");
                        page_escaped(&page, names[i].text, length);
                        if (names[i].is_dir)
                                page_text(&page, "/");
                        page_text(&page, "</a></li>\n");
                }
                page_text(&page, "</ul>\n</body></html>\n");
                if (page.failed)
                        rc = -ENOMEM;
        }
        for (size_t i = 0; i < count; i++)
                free(names[i].text);
        free(names);
        if (rc < 0) {
                free(page.data);
                return rc;
        }
        *out = page.data;
        *out_length = page.length;
        return 0;
}
