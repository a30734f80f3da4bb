/* Capture what a function writes to stderr/stdout into a string, for checking messages in unit tests. */
#ifndef SYSPRIM_TEST_CAPTURE_H
#define SYSPRIM_TEST_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct capture {
        int target_fd;
        int saved_fd;
        FILE *file;
        char text[16384];
};

static inline void capture_begin(struct capture *c, int target_fd)
{
        fflush(NULL);
        c->target_fd = target_fd;
        c->file = tmpfile();
        c->saved_fd = dup(target_fd);
        dup2(fileno(c->file), target_fd);
}

static inline const char *capture_end(struct capture *c)
{
        fflush(NULL);
        dup2(c->saved_fd, c->target_fd);
        close(c->saved_fd);
        rewind(c->file);
        size_t n = fread(c->text, 1, sizeof(c->text) - 1, c->file);
        c->text[n] = '\0';
        fclose(c->file);
        return c->text;
}

#endif
