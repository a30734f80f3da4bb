/* Connection steering: the SO_REUSEPORT group hands each new connection to the worker that owns the
 * CPU its handshake arrived on, instead of to a hash of its addresses. That worker's thread is then
 * woken on the CPU where the connection's packets are processed, and the socket's state stays in
 * that CPU's cache. If connections turn out to arrive on too few CPUs (a network card with one
 * queue), steering would pile them onto one worker: it is then switched off for good and the kernel
 * spreads connections by hash, as without it. Server layer. */
#ifndef SERVE_STEER_H
#define SERVE_STEER_H

#include <stdbool.h>
#include <stdint.h>

/* Attach the steering program to the group of `listen_fd` (its sockets were opened in worker order).
 * Does nothing with one worker, or with more workers than usable CPUs. Returns whether steering is
 * on; a kernel without SO_ATTACH_REUSEPORT_CBPF leaves it off (logged, not an error). */
bool steer_attach(int listen_fd, int workers);

/* A worker accepted a connection (called on the worker's thread; cheap, no shared writes). */
void steer_note_accept(int worker);

/* From any worker, at most about once a second: look at how the connections accepted since the
 * last look were spread; if one worker got far more than its share, detach the program through
 * `listen_fd` (any socket of the group). */
void steer_review(int listen_fd, uint64_t now_ms);

#endif
