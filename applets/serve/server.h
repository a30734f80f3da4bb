/* The serve applet's configuration and the process-wide server state shared by its threads.
 * Server layer (applets/serve); the protocol layer (http.h) knows nothing of this. */
#ifndef SERVE_SERVER_H
#define SERVE_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* What the option table fills in (see serve.c). */
struct serve_config {
        long long port;
        const char *bind;
        const char *root;
        long long threads;
        const char *index;
        int listing;
        int cpu_steering;
        int sched_batch;
        const char *access_log;
        long long max_connections;
        uint64_t header_timeout_ns;
        uint64_t idle_timeout_ns;
        uint64_t send_timeout_ns;
        uint64_t max_body;
        uint64_t drain_timeout_ns;
        const char *user;
        int no_sandbox;
};

/* Read-only after start-up, shared by every worker thread. */
struct server {
        int root_fd;                 /* O_PATH|O_DIRECTORY handle of --root; all opens are beneath it */
        char root_path[4096];        /* absolute, for the start line and logs */
        const char *index_name;      /* --index */
        size_t index_name_length;
        bool listing;
        atomic_size_t listing_bytes; /* directory listings waiting to be sent, all workers together */
        bool openat2_works;          /* else: the O_NOFOLLOW component walk */
        int threads;
        unsigned max_connections;    /* all workers together */
        atomic_uint open_connections; /* connections of all workers, and slots reserved by accept */
        uint32_t header_timeout_ms, idle_timeout_ms, send_timeout_ms, drain_timeout_ms;
        uint64_t max_body;           /* --max-body: a larger body gets 413 or closes its connection (0: none) */
        int access_log_fd;           /* -1: off; replaced in place (dup3) on SIGHUP */
        atomic_bool force_stop;      /* a second SIGTERM/SIGINT: close everything now */
        atomic_int running_workers;  /* worker threads still in their loop */
};

extern struct server server;

/* Listings are built whole in memory and held until the client has read them: those in flight share
 * this many bytes (one listing is always allowed, however large); past it the answer is 503. */
#define SERVE_LISTING_BUDGET ((size_t)64 << 20)

/* Whether other listings in flight leave no room at all (before one is built). */
static inline bool server_listing_budget_spent(void)
{
        return atomic_load_explicit(&server.listing_bytes, memory_order_relaxed) >= SERVE_LISTING_BUDGET;
}

/* Take `bytes` of the budget for a listing about to be sent; false, with nothing taken, when the
 * listings already in flight leave too little of it. */
static inline bool server_take_listing_bytes(size_t bytes)
{
        size_t before = atomic_fetch_add_explicit(&server.listing_bytes, bytes, memory_order_relaxed);
        if (before == 0 || before + bytes <= SERVE_LISTING_BUDGET)
                return true;
        atomic_fetch_sub_explicit(&server.listing_bytes, bytes, memory_order_relaxed);
        return false;
}

/* Give back what server_take_listing_bytes took, once the listing is sent or dropped. */
static inline void server_give_listing_bytes(size_t bytes)
{
        atomic_fetch_sub_explicit(&server.listing_bytes, bytes, memory_order_relaxed);
}

/* A connection slot of --max-connections given back: its accept failed, or it closed. */
static inline void server_release_connection(void)
{
        atomic_fetch_sub_explicit(&server.open_connections, 1, memory_order_relaxed);
}

#endif
