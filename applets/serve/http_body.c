/* Request bodies for `serve`'s protocol layer: an incremental chunked decoder (RFC 9112 7.1) and a
 * skipper for Content-Length and chunked bodies, so a body is read past and pipelining stays in step. */
#include "http.h"

#include <string.h>

enum {
        CHUNK_SIZE_FIRST, /* expecting the first hex digit of a chunk size */
        CHUNK_SIZE,       /* more hex digits, or the end of the size */
        CHUNK_EXT,        /* chunk extensions up to CR */
        CHUNK_SIZE_LF,    /* LF after the size line's CR */
        CHUNK_DATA,
        CHUNK_DATA_CR,
        CHUNK_DATA_LF,
        TRAILER_START, /* a trailer field line or the final empty line */
        TRAILER_LINE,
        TRAILER_LF,
        FINAL_LF, /* LF of the empty line that ends the body */
        CHUNKED_DONE,
};

void http_chunked_init(struct http_chunked_decoder *dec)
{
        memset(dec, 0, sizeof(*dec));
        dec->state = CHUNK_SIZE_FIRST;
}

static int hex_value(unsigned char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Lines inside a chunked body must end in CRLF: a lone LF or CR is how front-end/back-end parsers
 * are made to disagree about where a chunk ends, so it is an error here. */
ssize_t http_chunked_decode(struct http_chunked_decoder *dec, const char *buf, size_t len, bool *done,
                            uint64_t *data)
{
        const unsigned char *b = (const unsigned char *)buf;
        size_t pos = 0;
        uint64_t payload = 0;

        *done = dec->state == CHUNKED_DONE;
        while (pos < len && dec->state != CHUNKED_DONE) {
                unsigned char c = b[pos];
                switch (dec->state) {
                case CHUNK_SIZE_FIRST:
                case CHUNK_SIZE: {
                        int v = hex_value(c);
                        if (v >= 0) {
                                /* 16 hex digits overflow nothing, but leading zeros must not loop for ever. */
                                if (++dec->digits > 16)
                                        return -1;
                                dec->remaining = dec->remaining << 4 | (uint64_t)v;
                                dec->state = CHUNK_SIZE;
                                dec->line_bytes++;
                                pos++;
                                break;
                        }
                        if (dec->state == CHUNK_SIZE_FIRST)
                                return -1;
                        if (c == '\r') {
                                dec->state = CHUNK_SIZE_LF;
                        } else if (c == ';' || c == ' ' || c == '\t') {
                                dec->state = CHUNK_EXT;
                        } else {
                                return -1;
                        }
                        dec->line_bytes++;
                        pos++;
                        break;
                }
                case CHUNK_EXT:
                        if (c == '\r')
                                dec->state = CHUNK_SIZE_LF;
                        else if ((c < 0x20 && c != '\t') || c == 0x7f)
                                return -1;
                        if (++dec->line_bytes > HTTP_MAX_CHUNK_LINE)
                                return -1;
                        pos++;
                        break;
                case CHUNK_SIZE_LF:
                        if (c != '\n')
                                return -1;
                        pos++;
                        dec->line_bytes = 0;
                        dec->digits = 0;
                        dec->state = dec->remaining ? CHUNK_DATA : TRAILER_START;
                        break;
                case CHUNK_DATA: {
                        size_t take = len - pos;
                        if ((uint64_t)take > dec->remaining)
                                take = (size_t)dec->remaining;
                        pos += take;
                        payload += take;
                        dec->remaining -= take;
                        if (dec->remaining == 0)
                                dec->state = CHUNK_DATA_CR;
                        break;
                }
                case CHUNK_DATA_CR:
                        if (c != '\r')
                                return -1;
                        dec->state = CHUNK_DATA_LF;
                        pos++;
                        break;
                case CHUNK_DATA_LF:
                        if (c != '\n')
                                return -1;
                        dec->state = CHUNK_SIZE_FIRST;
                        pos++;
                        break;
                case TRAILER_START:
                        if (c == '\r') {
                                dec->state = FINAL_LF;
                        } else if (c == ' ' || c == '\t' || !(c > 0x20 && c < 0x7f)) {
                                return -1; /* obs-fold or garbage where a field name must start */
                        } else {
                                dec->state = TRAILER_LINE;
                        }
                        if (++dec->trailer_bytes > HTTP_MAX_TRAILERS)
                                return -1;
                        pos++;
                        break;
                case TRAILER_LINE:
                        if (c == '\r')
                                dec->state = TRAILER_LF;
                        else if ((c < 0x20 && c != '\t') || c == 0x7f)
                                return -1;
                        if (++dec->trailer_bytes > HTTP_MAX_TRAILERS)
                                return -1;
                        pos++;
                        break;
                case TRAILER_LF:
                        if (c != '\n')
                                return -1;
                        dec->state = TRAILER_START;
                        if (++dec->trailer_bytes > HTTP_MAX_TRAILERS)
                                return -1;
                        pos++;
                        break;
                case FINAL_LF:
                        if (c != '\n')
                                return -1;
                        dec->state = CHUNKED_DONE;
                        pos++;
                        break;
                default:
                        return -1;
                }
        }
        *done = dec->state == CHUNKED_DONE;
        if (data)
                *data = payload;
        return (ssize_t)pos;
}

void http_body_skip_init(struct http_body_skipper *skip, const struct http_request *req)
{
        memset(skip, 0, sizeof(*skip));
        skip->framing = req->body;
        switch (req->body) {
        case HTTP_BODY_NONE:
                skip->done = true;
                break;
        case HTTP_BODY_LENGTH:
                skip->remaining = req->content_length;
                skip->done = skip->remaining == 0;
                break;
        case HTTP_BODY_CHUNKED:
                http_chunked_init(&skip->chunked);
                break;
        }
}

ssize_t http_body_skip(struct http_body_skipper *skip, const char *buf, size_t len)
{
        if (skip->done)
                return 0;
        if (skip->framing == HTTP_BODY_LENGTH) {
                size_t take = len;
                if ((uint64_t)take > skip->remaining)
                        take = (size_t)skip->remaining;
                skip->remaining -= take;
                skip->done = skip->remaining == 0;
                return (ssize_t)take;
        }
        uint64_t data = 0;
        ssize_t n = http_chunked_decode(&skip->chunked, buf, len, &skip->done, &data);
        skip->payload += data;
        return n;
}
