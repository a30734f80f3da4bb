#!/usr/bin/env python3
# Host-side TCP helpers for the run-net end-to-end tests: a one-shot server that may bind an address
# before it exists (IP_FREEBIND: the bridge appears with the container), a client that retries until
# the container's server listens, and a free-port finder. Traffic stays on test-made addresses.
import socket
import sys
import time

IP_FREEBIND = 15


def serve(address, port, message, timeout=30):
    """Accept one connection, send MESSAGE, print the peer's address."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
    s.bind((address, int(port)))
    s.listen(8)
    print("listening", flush=True)
    s.settimeout(timeout)
    conn, peer = s.accept()
    conn.sendall(message.encode() + b"\n")
    conn.close()
    print("peer=" + peer[0], flush=True)


def get(address, port, tries=200):
    """Connect (retrying while nothing listens yet), print everything received."""
    last = None
    for _ in range(int(tries)):
        try:
            c = socket.create_connection((address, int(port)), timeout=5)
            data = b""
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                data += chunk
            c.close()
            if data:
                sys.stdout.buffer.write(data)
                sys.stdout.flush()
                return 0
            last = "connection closed without data"
        except OSError as e:
            last = str(e)
        time.sleep(0.1)
    print("tcp.py get: %s:%s: %s" % (address, port, last), file=sys.stderr)
    return 1


def refused(address, port):
    """Exit 0 when a connection is refused (nothing listens any more)."""
    try:
        socket.create_connection((address, int(port)), timeout=5).close()
    except ConnectionRefusedError:
        return 0
    return 1


def blocked(address, port, seconds=2):
    """Exit 0 when a connection gets no answer at all within SECONDS (dropped on the way)."""
    try:
        socket.create_connection((address, int(port)), timeout=float(seconds)).close()
    except socket.timeout:
        return 0
    except OSError as e:
        print("tcp.py blocked: %s:%s: %s" % (address, port, e), file=sys.stderr)
        return 1
    print("tcp.py blocked: %s:%s: connected" % (address, port), file=sys.stderr)
    return 1


def lock(name, owner, wait=30):
    """Hold a mutex named NAME while process OWNER lives: an abstract unix socket, which the kernel
    frees when its holder dies, so no file is left. Prints "locked", or exits 1 after WAIT seconds."""
    import os
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.time() + float(wait)
    while True:
        try:
            s.bind("\0sysprim-test-" + name)
            break
        except OSError:
            if time.time() > deadline:
                print("busy", flush=True)
                return 1
            time.sleep(0.2)
    print("locked", flush=True)
    while True:
        try:
            os.kill(int(owner), 0)
        except ProcessLookupError:
            return 0
        time.sleep(0.2)


def freeport():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "serve":
        serve(*args)
    elif cmd == "get":
        sys.exit(get(*args))
    elif cmd == "refused":
        sys.exit(refused(*args))
    elif cmd == "blocked":
        sys.exit(blocked(*args))
    elif cmd == "lock":
        sys.exit(lock(*args))
    elif cmd == "freeport":
        freeport()
    else:
        sys.exit("usage: tcp.py serve ADDR PORT MSG | get ADDR PORT | refused ADDR PORT | blocked ADDR PORT [SECONDS] | lock NAME PID | freeport")
