/* A load client for the serve e2e tests: CLIENTS keep-alive connections to 127.0.0.1:PORT, each doing
 * REQUESTS GETs in turn over the given paths, every response checked byte for byte against the file
 * it should hold. One thread, epoll. Prints "N responses correct"; exit 0 only when all were. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct expected {
        const char *path;
        char *body;
        size_t length;
};

struct client {
        int fd;
        int done;           /* responses received */
        size_t have;        /* bytes in buf */
        char buf[65536];
};

static struct expected expected[8];
static int expected_count;

static int load(const char *file, struct expected *e)
{
        FILE *f = fopen(file, "rb");
        if (f == NULL)
                return -1;
        struct stat st;
        fstat(fileno(f), &st);
        e->length = (size_t)st.st_size;
        e->body = malloc(e->length + 1);
        if (fread(e->body, 1, e->length, f) != e->length) {
                fclose(f);
                return -1;
        }
        fclose(f);
        return 0;
}

static int send_request(struct client *c)
{
        const struct expected *e = &expected[c->done % expected_count];
        char request[512];
        int n = snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: load\r\n\r\n", e->path);
        return write(c->fd, request, (size_t)n) == n ? 0 : -1;
}

/* 1: a full, correct response consumed; 0: need more; -1: wrong. */
static int check_response(struct client *c)
{
        char *end = memmem(c->buf, c->have, "\r\n\r\n", 4);
        if (end == NULL)
                return c->have == sizeof(c->buf) ? -1 : 0;
        size_t head = (size_t)(end - c->buf) + 4;
        if (strncmp(c->buf, "HTTP/1.1 200 ", 13) != 0) {
                fprintf(stderr, "bad status: %.40s\n", c->buf);
                return -1;
        }
        char *cl = memmem(c->buf, head, "Content-Length: ", 16);
        if (cl == NULL) {
                fprintf(stderr, "no Content-Length\n");
                return -1;
        }
        size_t length = strtoul(cl + 16, NULL, 10);
        const struct expected *e = &expected[c->done % expected_count];
        if (length != e->length) {
                fprintf(stderr, "Content-Length %zu, expected %zu\n", length, e->length);
                return -1;
        }
        if (c->have < head + length)
                return 0;
        if (memcmp(c->buf + head, e->body, length) != 0) {
                fprintf(stderr, "body differs for %s\n", e->path);
                return -1;
        }
        if (c->have > head + length) {
                fprintf(stderr, "unexpected bytes after the response\n");
                return -1;
        }
        c->have = 0;
        c->done++;
        return 1;
}

int main(int argc, char **argv)
{
        if (argc < 6 || (argc - 4) % 2 != 0) {
                fprintf(stderr, "usage: %s PORT CLIENTS REQUESTS PATH FILE [PATH FILE]...\n", argv[0]);
                return 2;
        }
        alarm(50);
        int port = atoi(argv[1]), clients = atoi(argv[2]), requests = atoi(argv[3]);
        for (int i = 4; i + 1 < argc && expected_count < 8; i += 2) {
                expected[expected_count].path = argv[i];
                if (load(argv[i + 1], &expected[expected_count]) < 0 ||
                    expected[expected_count].length > 60000) {
                        fprintf(stderr, "cannot use %s\n", argv[i + 1]);
                        return 2;
                }
                expected_count++;
        }
        struct client *all = calloc((size_t)clients, sizeof(*all));
        int ep = epoll_create1(0);
        struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        for (int i = 0; i < clients; i++) {
                all[i].fd = socket(AF_INET, SOCK_STREAM, 0);
                if (all[i].fd < 0 || connect(all[i].fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
                        perror("connect");
                        return 1;
                }
                fcntl(all[i].fd, F_SETFL, O_NONBLOCK);
                struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &all[i] };
                epoll_ctl(ep, EPOLL_CTL_ADD, all[i].fd, &ev);
                if (send_request(&all[i]) < 0) {
                        perror("write");
                        return 1;
                }
        }
        long correct = 0, total = (long)clients * requests, open_clients = clients;
        struct epoll_event events[256];
        while (open_clients > 0) {
                int n = epoll_wait(ep, events, 256, 10000);
                if (n <= 0) {
                        fprintf(stderr, "no progress for 10 s (%ld of %ld correct)\n", correct, total);
                        return 1;
                }
                for (int i = 0; i < n; i++) {
                        struct client *c = events[i].data.ptr;
                        for (;;) {
                                ssize_t got = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);
                                if (got < 0 && errno == EAGAIN)
                                        break;
                                if (got <= 0) {
                                        fprintf(stderr, "connection closed after %d responses\n", c->done);
                                        return 1;
                                }
                                c->have += (size_t)got;
                                int r = check_response(c);
                                if (r < 0)
                                        return 1;
                                if (r == 0)
                                        continue;
                                correct++;
                                if (c->done == requests) {
                                        close(c->fd);
                                        open_clients--;
                                        break;
                                }
                                if (send_request(c) < 0) {
                                        perror("write");
                                        return 1;
                                }
                        }
                }
        }
        printf("%ld responses correct\n", correct);
        fflush(stdout);
        close(ep);
        free(all);
        for (int i = 0; i < expected_count; i++)
                free(expected[i].body);
        return correct == total ? 0 : 1;
}
