/* The HTTP/1.1 protocol layer of `serve` (RFC 9110/9112): request parsing, body framing, target to path,
 * ranges, dates, ETags, MIME types and response formatting. Pure functions on byte strings: no sockets,
 * no allocation, so every function can be unit-tested and fuzzed; the server (serve_*.c) drives them. */
#ifndef SYSPRIM_SERVE_HTTP_H
#define SYSPRIM_SERVE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* ---------------------------------------------------------------------------------------------------
 * Limits. A request head is the request line plus the header section up to the empty line.
 * ------------------------------------------------------------------------------------------------- */
#define HTTP_MAX_TARGET 8192         /* longer request target -> 414 */
#define HTTP_MAX_HEADER_SECTION 8192 /* header fields after the request line, empty line included -> 431 */
#define HTTP_MAX_HEADERS 100         /* more header fields -> 431 */
#define HTTP_MAX_METHOD 20           /* longer method token -> 501 (no method we know is that long) */
/* A buffer this large always holds enough of a request head for http_parse_request to decide: it
 * answers complete or an error (414/431/...) before `len` reaches this, never HTTP_PARSE_INCOMPLETE.
 * (Leading empty lines before the request line are tolerated up to HTTP_MAX_LEADING_EMPTY_LINES.) */
#define HTTP_MAX_LEADING_EMPTY_LINES 8
#define HTTP_MAX_REQUEST_HEAD                                                                        \
        (2 * HTTP_MAX_LEADING_EMPTY_LINES + HTTP_MAX_METHOD + 1 + HTTP_MAX_TARGET + 1 + 8 + 2 +       \
         HTTP_MAX_HEADER_SECTION)

/* ---------------------------------------------------------------------------------------------------
 * Request parsing (http_parse.c)
 * ------------------------------------------------------------------------------------------------- */
enum http_method {
        HTTP_METHOD_GET,
        HTTP_METHOD_HEAD,
        /* Known but not served by a static file server: answer 405 with "Allow: GET, HEAD". */
        HTTP_METHOD_POST,
        HTTP_METHOD_PUT,
        HTTP_METHOD_DELETE,
        HTTP_METHOD_OPTIONS,
        HTTP_METHOD_TRACE,
        HTTP_METHOD_CONNECT,
        HTTP_METHOD_PATCH,
        /* Anything else never gets out of the parser: it fails with error_status 501. */
};

enum http_body_framing {
        HTTP_BODY_NONE,    /* no body: the next request starts right after the head */
        HTTP_BODY_LENGTH,  /* Content-Length bytes follow (content_length may be 0) */
        HTTP_BODY_CHUNKED, /* Transfer-Encoding: chunked; decode with http_chunked_* to find its end */
};

struct http_header {
        const char *name; /* points into the caller's buffer; not NUL-terminated */
        size_t name_len;
        const char *value; /* leading and trailing whitespace removed; may be empty */
        size_t value_len;
};

/* A string inside the request buffer: ptr == NULL means "absent". */
struct http_slice {
        const char *ptr;
        size_t len;
};

struct http_request {
        enum http_method method;
        struct http_slice method_name; /* as sent, e.g. "GET" */
        struct http_slice target;      /* the request target as sent (origin-form or absolute-form) */
        /* The origin-form part of the target: for "GET http://h/x?y HTTP/1.1" this is "/x?y"; for an
         * origin-form target it equals `target`. Feed this to http_path_from_target(). For the asterisk
         * form ("OPTIONS * HTTP/1.1") it is "*", for CONNECT's authority-form the target itself. */
        struct http_slice path;
        int version_minor; /* 0: HTTP/1.0, 1: HTTP/1.1 (and HTTP/1.x, x > 1, treated as 1.1) */

        struct http_header headers[HTTP_MAX_HEADERS];
        size_t header_count;

        /* Facts derived from the headers (RFC 9112 rules applied). */
        bool keep_alive;        /* persistent connection after this response (1.1 default, 1.0 opt-in) */
        struct http_slice host; /* Host header value (authority from an absolute-form target wins) */
        bool absolute_form;     /* the target was "http://authority/path" */
        enum http_body_framing body;
        uint64_t content_length;    /* HTTP_BODY_LENGTH only */
        bool expect_continue;       /* "Expect: 100-continue" on HTTP/1.1: send HTTP_100_CONTINUE first */
        bool accept_gzip;           /* Accept-Encoding allows gzip (q > 0, or "*" with q > 0) */
        struct http_slice if_modified_since; /* first occurrence; absent: ptr == NULL */
        struct http_slice if_unmodified_since; /* first occurrence; absent: ptr == NULL */
        struct http_slice range;             /* absent also when sent twice (then ignored, RFC 9110 14.2) */
        struct http_slice if_range;
        size_t if_none_match_count; /* If-None-Match lines; use http_request_not_modified() */
        size_t if_match_count;      /* If-Match lines; use http_request_precondition_failed() */

        /* On HTTP_PARSE_ERROR: the status to answer (400, 414, 417, 431, 501, 505) and a short reason
         * for the debug log. The server answers it with "Connection: close" and closes the connection:
         * after a framing error the byte stream cannot be trusted (request smuggling). */
        int error_status;
        const char *error_reason;
};

enum {
        HTTP_PARSE_INCOMPLETE = 0, /* need more bytes: call again with the same buffer extended */
        HTTP_PARSE_ERROR = -1,     /* req->error_status / error_reason say why */
};

/* Parses one request head at the start of buf[0..len). Returns the number of bytes the head occupies
 * (> 0) when complete, HTTP_PARSE_INCOMPLETE, or HTTP_PARSE_ERROR. Stateless: call it again on the
 * grown buffer after each read; the result never depends on how the bytes were split. Pointers in
 * `req` point into `buf`. Strict: whitespace before a colon, obs-fold, bare CR, NUL and other control
 * characters are errors (400). Any body (see req->body) follows the head; pipelined requests follow
 * the body. */
ssize_t http_parse_request(const char *buf, size_t len, struct http_request *req);

/* Optional cheap pre-check for byte-at-a-time senders: the offset just past the end of the head
 * (the empty line) if buf[0..len) contains one, else 0. `*scanned` (start at 0, keep per connection
 * while the buffer does not move) remembers how far an earlier call looked, so the total work for
 * a head stays linear. Does not validate anything: call http_parse_request() when it is non-zero or
 * when len >= HTTP_MAX_REQUEST_HEAD. */
size_t http_find_head_end(const char *buf, size_t len, size_t *scanned);

/* http_parse_request for a head that arrives in pieces. `*progress` is 0 for a new head; the caller
 * keeps it (per connection, while the head's start does not move) between calls for the same head,
 * and it is 0 again once the head is complete or wrong. The first call parses in full, so a bad
 * request line is answered at once; later calls parse again only when http_find_head_end sees a new
 * possible end, so a head sent a byte at a time costs linear work (empty lines before the request
 * line, which look like an end, included). */
ssize_t http_parse_request_resume(const char *buf, size_t len, struct http_request *req, size_t *progress);

/* Case-insensitive header lookup: the i-th (from 0) header named `name`, NULL if none. */
const struct http_header *http_request_header(const struct http_request *req, const char *name,
                                              size_t nth);

const char *http_method_name(enum http_method method);

/* ---------------------------------------------------------------------------------------------------
 * Request bodies (http_body.c): read and discard them so the next pipelined request is found.
 * ------------------------------------------------------------------------------------------------- */
#define HTTP_MAX_CHUNK_LINE 4096 /* chunk-size line with extensions */
#define HTTP_MAX_TRAILERS 8192   /* trailer section after the last chunk */

struct http_chunked_decoder {
        int state;
        uint64_t remaining;  /* data bytes left in the current chunk */
        size_t line_bytes;   /* bytes in the current size/trailer line (limit checks) */
        size_t trailer_bytes;
        unsigned digits;     /* hex digits in the size so far */
};

void http_chunked_init(struct http_chunked_decoder *dec);

/* Feeds buf[0..len). Returns the bytes consumed (all of them unless the body ends inside the buffer;
 * then what follows is the next request), or -1 on a malformed body (answer 400 and close). Sets
 * *done when the last chunk and the trailers have been consumed. *data, if not NULL, gets the
 * number of payload bytes among the consumed ones. Any split across calls works. */
ssize_t http_chunked_decode(struct http_chunked_decoder *dec, const char *buf, size_t len, bool *done,
                            uint64_t *data);

/* Discards any body of a parsed request: one object per request, fed with what follows the head. */
struct http_body_skipper {
        enum http_body_framing framing;
        uint64_t remaining; /* HTTP_BODY_LENGTH: bytes still to skip */
        uint64_t payload;   /* HTTP_BODY_CHUNKED: chunk data bytes so far */
        bool done;
        struct http_chunked_decoder chunked;
};

void http_body_skip_init(struct http_body_skipper *skip, const struct http_request *req);
/* Returns bytes consumed (<= len) or -1 on a malformed chunked body; skip->done when the body ended. */
ssize_t http_body_skip(struct http_body_skipper *skip, const char *buf, size_t len);

/* ---------------------------------------------------------------------------------------------------
 * Request target -> relative file path (http_path.c)
 * ------------------------------------------------------------------------------------------------- */
enum http_path_result {
        HTTP_PATH_OK = 0,
        HTTP_PATH_BAD_REQUEST,  /* 400: not "/...", bad %-escape, %00, control byte, '#', backslash */
        HTTP_PATH_TRAVERSAL,    /* 400: a ".." segment (also %2e%2e) or an encoded slash (%2f) */
        HTTP_PATH_HIDDEN,       /* 403: a segment starting with '.' (.git, .env); .well-known allowed */
        HTTP_PATH_TOO_LONG,     /* 414: decoded path does not fit in the output buffer */
};

struct http_path {
        size_t len;             /* strlen(out) */
        bool trailing_slash;    /* the target named a directory ("/docs/"); root is always one */
        size_t raw_path_len;    /* length of the target's path before '?' (never used to build a Location) */
        struct http_slice query; /* after '?', without it; absent: ptr == NULL */
};

/* Turns the origin-form target (req->path) into a relative path for
 * openat2(root_fd, out, {RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS}): percent-decoded, query stripped,
 * "//" and "/./" collapsed, no leading '/', "." for the root. out is always NUL-terminated when
 * out_size > 0. The string checks are a first fence; RESOLVE_BENEATH is the one that holds. */
enum http_path_result http_path_from_target(const char *target, size_t len, char *out, size_t out_size,
                                            struct http_path *info);

/* The status code to answer for a result other than HTTP_PATH_OK. */
int http_path_status(enum http_path_result result);
/* Whether a file name may hold the byte `c` and be served: not a control byte (what "%00" or "%0a"
 * decode to) nor '\\' (a separator elsewhere). The listing leaves out names it would refuse. */
bool http_path_name_byte_ok(unsigned char c);

/* The Location of the 301 that adds the missing slash to a directory: "/" + `path` (the output of
 * http_path_from_target) percent-encoded again + "/" + "?query" when there was one. Built from the
 * normalised path, never from the raw target, so "GET //evil.example/dir" cannot turn into a
 * protocol-relative redirect to another site. Returns the length (NUL-terminated), 0 if too small. */
size_t http_redirect_location(const char *path, const struct http_path *info, char *out, size_t out_size);

/* ---------------------------------------------------------------------------------------------------
 * Ranges (http_range.c), RFC 9110 14
 * ------------------------------------------------------------------------------------------------- */
#define HTTP_MAX_RANGES 16 /* more ranges than this: Range ignored, full 200 (range-attack defence) */

struct http_byte_range {
        uint64_t first; /* inclusive offsets into the representation */
        uint64_t last;
};

enum http_range_result {
        HTTP_RANGE_IGNORE,        /* no or invalid Range (or too many ranges): send 200 with everything */
        HTTP_RANGE_SATISFIABLE,   /* *count ranges (>= 1): 206, multipart/byteranges when *count > 1 */
        HTTP_RANGE_UNSATISFIABLE, /* 416 with "Content-Range: bytes * /SIZE" (no space) */
};

/* Parses a Range header value against a representation of `size` bytes. Ranges are returned in the
 * order requested (RFC 9110 14.6), unsatisfiable ones left out; but when any two overlap or are
 * adjacent, all are sorted and those merged instead (RFC 9110 14.2 allows coalescing). */
enum http_range_result http_range_parse(const char *value, size_t len, uint64_t size,
                                        struct http_byte_range ranges[HTTP_MAX_RANGES], size_t *count);

/* If-Range (RFC 9110 13.1.5): true when the Range header may be used. An entity-tag must match the
 * current ETag strongly; a date must equal Last-Modified exactly, and Last-Modified must be strong:
 * at least one second before `now`, the second of the response's Date (RFC 9110 8.8.2.2). Absent
 * If-Range: pass len 0. */
bool http_if_range_allows(const char *value, size_t len, const char *etag, size_t etag_len,
                          time_t last_modified, time_t now);

/* The request-level combination: Range present, If-Range (if any) satisfied, parsed against size. */
enum http_range_result http_request_ranges(const struct http_request *req, const char *etag,
                                           size_t etag_len, time_t last_modified, time_t now, uint64_t size,
                                           struct http_byte_range ranges[HTTP_MAX_RANGES],
                                           size_t *count);

/* multipart/byteranges. The boundary is at most HTTP_MAX_BOUNDARY characters from [0-9A-Za-z]; the
 * body is: for each range, part header + the range's bytes; then the trailer. */
#define HTTP_MAX_BOUNDARY 40
/* Writes a boundary derived from `seed` (e.g. the ETag hash and a counter) into out[]; returns length. */
size_t http_multipart_boundary(uint64_t seed, char out[HTTP_MAX_BOUNDARY + 1]);
/* "\r\n--BOUNDARY\r\nContent-Type: TYPE\r\nContent-Range: bytes F-L/SIZE\r\n\r\n". Returns the length
 * written (NUL-terminated), or 0 when it does not fit. */
size_t http_multipart_part_header(char *out, size_t out_size, const char *boundary,
                                  const char *content_type, const struct http_byte_range *range,
                                  uint64_t size);
/* "\r\n--BOUNDARY--\r\n". Returns the length, or 0 when it does not fit. */
size_t http_multipart_trailer(char *out, size_t out_size, const char *boundary);
/* The Content-Length of the whole multipart body. */
uint64_t http_multipart_length(const char *boundary, const char *content_type,
                               const struct http_byte_range *ranges, size_t count, uint64_t size);

/* ---------------------------------------------------------------------------------------------------
 * Dates (http_date.c), RFC 9110 5.6.7
 * ------------------------------------------------------------------------------------------------- */
#define HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* IMF-fixdate of t into out (NUL-terminated); returns HTTP_DATE_LEN. No locale, no allocation. */
size_t http_date_format(time_t t, char out[HTTP_DATE_LEN + 1]);
/* Parses IMF-fixdate, RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37
 * 1994"). Returns 0 and sets *t, or -1 for anything else (an invalid date is then ignored). */
int http_date_parse(const char *s, size_t len, time_t *t);

/* ---------------------------------------------------------------------------------------------------
 * ETags and conditional requests (http_etag.c)
 * ------------------------------------------------------------------------------------------------- */
#define HTTP_MAX_ETAG 64

/* A strong ETag "INODE-SIZE-MTIMENS" in hex, quoted, NUL-terminated; returns its length. */
size_t http_etag_format(uint64_t size, int64_t mtime_ns, uint64_t inode, char out[HTTP_MAX_ETAG]);
/* If-None-Match semantics on one header value: "*", or a list of entity-tags compared weakly
 * (W/"x" matches "x"). Malformed members (a '*' among tags too) are skipped. */
bool http_etag_list_matches(const char *list, size_t len, const char *etag, size_t etag_len);
/* If-Match semantics on one header value: "*", or a list compared strongly (a W/ tag never matches). */
bool http_etag_list_matches_strong(const char *list, size_t len, const char *etag, size_t etag_len);
/* last_modified of a representation that has none (a directory listing): the date conditions are
 * ignored (RFC 9110 13.1.3, 13.1.4). */
#define HTTP_NO_DATE ((time_t)INT64_MIN)
/* RFC 9110 13.2.2 steps 1-2, for any method: If-Match (all its lines) when present, else
 * If-Unmodified-Since (a valid date earlier than last_modified fails). True: answer 412. */
bool http_request_precondition_failed(const struct http_request *req, const char *etag, size_t etag_len,
                                      time_t last_modified);
/* RFC 9110 13.2.2 for GET/HEAD: If-None-Match (all its lines) when present, else If-Modified-Since
 * (a valid date >= last_modified). True: answer 304. */
bool http_request_not_modified(const struct http_request *req, const char *etag, size_t etag_len,
                               time_t last_modified);

/* ---------------------------------------------------------------------------------------------------
 * MIME types (http_mime.c)
 * ------------------------------------------------------------------------------------------------- */
/* The Content-Type for a file name by its extension (case-insensitive), with "; charset=utf-8" for
 * text types; "application/octet-stream" when unknown. `name` need not be NUL-terminated. For "x.gz"
 * served as the precompressed form of "x", pass "x". */
const char *http_mime_type(const char *name, size_t len);

/* ---------------------------------------------------------------------------------------------------
 * Responses (http_response.c)
 * ------------------------------------------------------------------------------------------------- */
#define HTTP_100_CONTINUE "HTTP/1.1 100 Continue\r\n\r\n"

/* The standard reason phrase ("Not Found"); "Unknown" for others. */
const char *http_status_reason(int status);

/* What goes into one response head. Strings are NUL-terminated; NULL leaves the header out. */
struct http_response_head {
        int status;
        int version_minor;       /* the request's (0 or 1); the status line always says HTTP/1.1 */
        bool keep_alive;         /* false: "Connection: close"; true on 1.0: "Connection: keep-alive" */
        const char *date;        /* preformatted http_date_format() output (Date is mandatory) */
        const char *content_type;
        bool has_content_length; /* false for 304, and for 1xx/204 */
        uint64_t content_length;
        const char *last_modified;    /* preformatted date */
        const char *etag;             /* quoted */
        const char *content_encoding; /* e.g. "gzip" */
        bool vary_accept_encoding;    /* "Vary: Accept-Encoding" (whenever a .gz sibling could be served) */
        bool accept_ranges;           /* "Accept-Ranges: bytes" */
        bool has_content_range;       /* 206 single range: "Content-Range: bytes F-L/SIZE" */
        struct http_byte_range content_range;
        bool unsatisfied_range;       /* 416: "Content-Range: bytes * /SIZE" (no space) */
        uint64_t representation_size; /* SIZE for the two above */
        const char *multipart_boundary; /* 206 multi: Content-Type multipart/byteranges; boundary=... */
        const char *location;         /* 301 */
        const char *allow;            /* 405: "GET, HEAD" */
        const char *extra;            /* raw extra header lines, each ending in "\r\n" */
};

/* Writes the status line, the headers and the empty line into out. Returns the length (not counting a
 * terminating NUL, which is written), or -1 if out_size is too small. Always adds "Server: sysprim". */
ssize_t http_format_response_head(char *out, size_t out_size, const struct http_response_head *head);

/* A complete small response for an error or redirect status: the head (Content-Type text/html,
 * Content-Length) and, unless head_only, a tiny HTML body naming the status (1xx, 204 and 304 get
 * neither body nor Content-Length). version_minor and keep_alive as in http_response_head: a 1.0
 * connection kept open says "Connection: keep-alive". Returns the length or -1 if it does not fit;
 * 1 KiB is always enough when `extra` is short. */
ssize_t http_format_simple_response(char *out, size_t out_size, int status, const char *date,
                                    int version_minor, bool keep_alive, bool head_only, const char *extra);

/* For the directory listing: href-safe percent-encoding of a file name (everything but unreserved
 * characters and '/' encoded) and HTML escaping of text, whose output is always UTF-8: each ill-formed
 * part of the input becomes U+FFFD (at most 6 output bytes per input byte either way). Return the
 * length written (NUL-terminated), or 0 when it does not fit (out_size must be > 0). */
size_t http_percent_encode(const char *in, size_t len, char *out, size_t out_size);
size_t http_html_escape(const char *in, size_t len, char *out, size_t out_size);

#endif
