/* The HTML directory listing (--listing): sorted names, dotfiles left out, every name escaped.
 * Server layer. */
#ifndef SERVE_LISTING_H
#define SERVE_LISTING_H

#include <stddef.h>

/* Render the directory at `path` (relative to the root, "." for the root) into a heap page.
 * 0 or -errno. */
int listing_render(const char *path, size_t path_length, char **page, size_t *page_length);

#endif
