/* Content-Type from a file extension for `serve`'s protocol layer: the common web types, with
 * "; charset=utf-8" on text types (the charset browsers otherwise guess). */
#include "http.h"

#include "http_internal.h"

static const struct {
        const char *extension;
        const char *type;
} mime_types[] = {
        /* the ones a page load asks for first */
        {"html", "text/html; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"svg", "image/svg+xml"},
        {"json", "application/json"},
        {"woff2", "font/woff2"},
        {"ico", "image/x-icon"},
        {"htm", "text/html; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"webp", "image/webp"},
        {"avif", "image/avif"},
        {"bmp", "image/bmp"},
        {"tif", "image/tiff"},
        {"tiff", "image/tiff"},
        {"woff", "font/woff"},
        {"ttf", "font/ttf"},
        {"otf", "font/otf"},
        {"eot", "application/vnd.ms-fontobject"},
        {"txt", "text/plain; charset=utf-8"},
        {"text", "text/plain; charset=utf-8"},
        {"log", "text/plain; charset=utf-8"},
        {"md", "text/markdown; charset=utf-8"},
        {"csv", "text/csv; charset=utf-8"},
        {"tsv", "text/tab-separated-values; charset=utf-8"},
        {"xml", "text/xml; charset=utf-8"},
        {"xhtml", "application/xhtml+xml"},
        {"rss", "application/rss+xml"},
        {"atom", "application/atom+xml"},
        {"map", "application/json"},
        {"jsonld", "application/ld+json"},
        {"webmanifest", "application/manifest+json"},
        {"wasm", "application/wasm"},
        {"ics", "text/calendar; charset=utf-8"},
        {"vtt", "text/vtt; charset=utf-8"},
        {"pdf", "application/pdf"},
        {"zip", "application/zip"},
        {"gz", "application/gzip"},
        {"tgz", "application/gzip"},
        {"tar", "application/x-tar"},
        {"bz2", "application/x-bzip2"},
        {"xz", "application/x-xz"},
        {"zst", "application/zstd"},
        {"7z", "application/x-7z-compressed"},
        {"mp4", "video/mp4"},
        {"m4v", "video/mp4"},
        {"webm", "video/webm"},
        {"ogv", "video/ogg"},
        {"mov", "video/quicktime"},
        {"mp3", "audio/mpeg"},
        {"ogg", "audio/ogg"},
        {"oga", "audio/ogg"},
        {"opus", "audio/ogg"},
        {"wav", "audio/wav"},
        {"flac", "audio/flac"},
        {"m4a", "audio/mp4"},
        {"aac", "audio/aac"},
        {"epub", "application/epub+zip"},
        {"sh", "text/plain; charset=utf-8"},
        {"c", "text/plain; charset=utf-8"},
        {"h", "text/plain; charset=utf-8"},
        {"py", "text/plain; charset=utf-8"},
};

const char *http_mime_type(const char *name, size_t len)
{
        size_t dot = len;
        while (dot > 0 && name[dot - 1] != '.' && name[dot - 1] != '/')
                dot--;
        /* no extension, or a name that is only ".ext" */
        if (dot == 0 || name[dot - 1] != '.' || dot == 1 || name[dot - 2] == '/')
                return "application/octet-stream";
        const char *ext = name + dot;
        size_t ext_len = len - dot;
        for (size_t i = 0; i < sizeof(mime_types) / sizeof(mime_types[0]); i++)
                if (http_token_equal(ext, ext_len, mime_types[i].extension))
                        return mime_types[i].type;
        return "application/octet-stream";
}
