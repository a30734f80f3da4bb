#!/usr/bin/env python3
# End-to-end tests of `sysprim serve` (suites e2e, serve): each test starts the server on a free port
# of 127.0.0.1 and drives it with clients nobody here wrote (python's http.client, curl) and raw
# sockets for the malformed cases. One test per behaviour:  serve_test.py NAME  runs one,
# serve_test.py --list  names them all (meson makes one test() of each). Exit 0 pass, 1 fail, 77 skip.
import email.utils
import hashlib
import http.client
import os
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SYSPRIM = os.environ.get('SYSPRIM', '')
SANITIZED = os.environ.get('SYSPRIM_SANITIZE', 'none') not in ('', 'none')
TESTS = {}


class Skip(Exception):
    pass


class Fail(Exception):
    pass


def test(function):
    TESTS[function.__name__.replace('_', '-')] = function
    return function


def check(condition, message):
    if not condition:
        raise Fail(message)


def check_eq(got, want, what):
    if got != want:
        raise Fail(f'{what}: expected {want!r}, got {got!r}')


def need(tool):
    if shutil.which(tool) is None:
        raise Skip(f'needs {tool}')


# ---------------------------------------------------------------------------------------------------
# The document root every test serves, and the server process.
# ---------------------------------------------------------------------------------------------------
HELLO = b'hello, world\n'
DATA = bytes((i * 7 + 3) % 251 for i in range(10000))
CSS = b'body { color: rgb(1, 2, 3); }\n' * 40


def make_root(base):
    root = os.path.join(base, 'root')
    os.makedirs(os.path.join(root, 'sub'))
    os.makedirs(os.path.join(root, 'empty'))
    os.makedirs(os.path.join(root, 'listed', 'inner'))
    os.makedirs(os.path.join(root, '.git'))
    files = {
        'index.html': b'<!DOCTYPE html><title>home</title><p>home page</p>\n',
        'hello.txt': HELLO,
        'data.bin': DATA,
        'style.css': CSS,
        'app.js': b'console.log(1);\n',
        'sub/index.html': b'<p>sub index</p>\n',
        'listed/a.txt': b'a\n',
        'listed/<b>&"x\'.txt': b'escape me\n',
        'listed/.hidden': b'hidden\n',
        '.env': b'SECRET=1\n',
        '.git/config': b'[core]\n',
        'main.html': b'<p>main</p>\n',
    }
    for name, content in files.items():
        with open(os.path.join(root, name), 'wb') as f:
            f.write(content)
    import gzip
    with open(os.path.join(root, 'style.css.gz'), 'wb') as f:
        f.write(gzip.compress(CSS))
    os.symlink('/etc/passwd', os.path.join(root, 'passwd-link'))
    os.symlink('/etc', os.path.join(root, 'etc-link'))
    os.symlink('hello.txt', os.path.join(root, 'hello-link.txt'))
    os.symlink('../outside.txt', os.path.join(root, 'up-link.txt'))
    with open(os.path.join(base, 'outside.txt'), 'wb') as f:
        f.write(b'outside the root\n')
    return root


def die_with_parent():
    """In the child before exec: SIGKILL when the test process dies, however it dies."""
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Server:
    def __init__(self, root, *args, sandbox=None, threads=2, env=None, port=0, expect_start=True, fd_limit=None,
                 policy=None):
        cmd = [SYSPRIM, 'serve', '--bind', '127.0.0.1', '--port', str(port), '--root', root,
               '--threads', str(threads), *args]
        # LeakSanitizer needs ptrace at exit, which the sandbox forbids: sanitizer builds run without
        # it unless a test is about the sandbox.
        if sandbox is None:
            sandbox = not SANITIZED
        if not sandbox and '--no-sandbox' not in cmd:
            cmd.append('--no-sandbox')
        environment = dict(os.environ)
        if SANITIZED:
            # Undefined behaviour stops the server, so the test that caused it fails.
            environment.setdefault('UBSAN_OPTIONS', 'halt_on_error=1:print_stacktrace=1')
        if env:
            environment.update(env)

        def preexec():
            die_with_parent()
            if fd_limit:
                resource.setrlimit(resource.RLIMIT_NOFILE, (fd_limit, fd_limit))
            if policy is not None:
                os.sched_setscheduler(0, policy, os.sched_param(0))
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment,
                                     preexec_fn=preexec)
        self.port = None
        self.line = None
        if expect_start:
            ready, _, _ = select.select([self.proc.stdout], [], [], 20)
            if not ready:
                self.kill()
                raise Fail('no start line within 20 s')
            self.line = self.proc.stdout.readline().decode()
            m = re.match(r'serving (\S+) on http://127\.0\.0\.1:(\d+)/ \((\d+) threads?\)\n$', self.line)
            if not m:
                self.kill()
                raise Fail(f'unexpected start line {self.line!r}; stderr: {self.proc.stderr.read()!r}')
            self.port = int(m.group(2))

    def url(self, path='/'):
        return f'http://127.0.0.1:{self.port}{path}'

    def connect(self, timeout=10):
        s = socket.create_connection(('127.0.0.1', self.port), timeout=timeout)
        return s

    def client(self, timeout=10):
        return http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout)

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Fail('server did not exit within %d s of SIGTERM' % timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


def get(server, path, headers=None, method='GET'):
    c = server.client()
    c.request(method, path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r, body


def raw(server, data, timeout=10, until_close=True, shutdown=False):
    """Send bytes, return everything the server answers until it closes (or the timeout)."""
    return raw_closed(server, data, timeout, until_close, shutdown)[0]


def raw_closed(server, data, timeout=10, until_close=True, shutdown=False):
    """As raw(), and whether the server closed the connection (rather than the timeout ending it)."""
    s = server.connect(timeout)
    s.sendall(data)
    if shutdown:
        s.shutdown(socket.SHUT_WR)
    out = b''
    closed = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            out += chunk
            if not until_close:
                break
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed = True
    s.close()
    return out, closed


def read_response(sock, head_only=False):
    """One response from a socket file: (status, headers dict (lower-case), body)."""
    f = sock.makefile('rb')
    return read_response_file(f, head_only)


def read_response_file(f, head_only=False):
    line = f.readline()
    if not line:
        return None, {}, b''
    status = int(line.split()[1])
    headers = {}
    while True:
        line = f.readline()
        if line in (b'\r\n', b''):
            break
        name, _, value = line.decode().partition(':')
        headers[name.strip().lower()] = value.strip()
    body = b''
    if not head_only and status >= 200 and status not in (204, 304):
        body = f.read(int(headers.get('content-length', '0')))
    return status, headers, body


def status_of(response):
    m = re.match(rb'HTTP/1\.1 (\d{3}) ', response)
    return int(m.group(1)) if m else None


def curl(*args, timeout=60):
    need('curl')
    return subprocess.run(['curl', '-sS', '--noproxy', '*', *args], capture_output=True, timeout=timeout)


# ---------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------
@test
def start_line(root):
    with Server(root, threads=3) as s:
        check_eq(s.line, f'serving {os.path.realpath(root)} on http://127.0.0.1:{s.port}/ (3 threads)\n',
                 'start line')
        tasks = os.listdir(f'/proc/{s.proc.pid}/task')
        check(len(tasks) >= 4, f'3 loops and the signal thread expected, found {len(tasks)} threads')
        check_eq(s.stop(), 0, 'exit status after SIGTERM')


@test
def default_root_is_cwd(root):
    cmd = [SYSPRIM, 'serve', '--bind', '127.0.0.1', '--port', '0', '--threads', '1']
    if SANITIZED:
        cmd.append('--no-sandbox')
    p = subprocess.Popen(cmd, cwd=os.path.join(root, 'sub'), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=die_with_parent)
    try:
        line = p.stdout.readline().decode()
        check(line.startswith(f'serving {os.path.realpath(os.path.join(root, "sub"))} on '), line)
    finally:
        p.kill()
        p.wait()


@test
def port_in_use(root):
    holder = socket.socket()
    holder.bind(('127.0.0.1', 0))
    holder.listen()
    port = holder.getsockname()[1]
    p = subprocess.run([SYSPRIM, 'serve', '--bind', '127.0.0.1', '--port', str(port), '--root', root],
                       capture_output=True, timeout=20)
    holder.close()
    check_eq(p.returncode, 1, 'exit status')
    err = p.stderr.decode()
    check(err.count('\n') == 1 and 'in use' in err and str(port) in err, f'stderr: {err!r}')
    check_eq(p.stdout, b'', 'stdout')


@test
def port_in_use_by_reuseport_peer(root):
    # Another SO_REUSEPORT socket would silently share the port; we must refuse instead.
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind(('127.0.0.1', 0))
    holder.listen()
    port = holder.getsockname()[1]
    p = subprocess.run([SYSPRIM, 'serve', '--bind', '127.0.0.1', '--port', str(port), '--root', root],
                       capture_output=True, timeout=20)
    holder.close()
    check_eq(p.returncode, 1, 'exit status')
    check('in use' in p.stderr.decode(), p.stderr.decode())


@test
def bad_root(root):
    for bad in [os.path.join(root, 'missing'), os.path.join(root, 'hello.txt')]:
        p = subprocess.run([SYSPRIM, 'serve', '--bind', '127.0.0.1', '--port', '0', '--root', bad],
                           capture_output=True, timeout=20)
        check_eq(p.returncode, 1, f'exit status for --root {bad}')
        err = p.stderr.decode()
        check(err.count('\n') == 1 and 'cannot serve' in err, f'stderr: {err!r}')


@test
def bad_address(root):
    for bad in ['999.1.1.1', 'localhost', '[::1', '1.2.3.4.5']:
        p = subprocess.run([SYSPRIM, 'serve', '--bind', bad, '--port', '0', '--root', root],
                           capture_output=True, timeout=20)
        check_eq(p.returncode, 2, f'exit status for --bind {bad}')
        check('--bind' in p.stderr.decode(), p.stderr.decode())
    # A well-formed address this machine does not have: a run-time failure.
    p = subprocess.run([SYSPRIM, 'serve', '--bind', '192.0.2.1', '--port', '0', '--root', root],
                       capture_output=True, timeout=20)
    check_eq(p.returncode, 1, 'exit status for an address not on this machine')
    check(p.stderr.decode().count('\n') == 1, p.stderr.decode())


@test
def bad_options(root):
    # A timeout past a day (or one so large it would wrap to 0 ms), a port with a sign or a blank, an
    # index name no directory can hold: refused, not served with a surprise.
    for args in [['--port', '70000'], ['--threads', '0'], ['--header-timeout', 'soon'], ['--index', '../x'],
                 ['--max-connections', '-1'], ['extra-operand'], ['--header-timeout', '18446744073709551615ns'],
                 ['--idle-timeout', '25h'], ['--send-timeout', '0'], ['--drain-timeout', '25h'],
                 ['--port', '+8080'], ['--port', ' 8080'], ['--index', 'x' * 300]]:
        p = subprocess.run([SYSPRIM, 'serve', '--bind', '127.0.0.1', '--root', root, *args], capture_output=True,
                           timeout=20)
        check_eq(p.returncode, 2, f'exit status for {args}')
        check(p.stderr.decode().startswith('sysprim serve: '), f'{args}: {p.stderr.decode()!r}')


@test
def ipv6(root):
    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(('::1', 0))
        probe.close()
    except OSError:
        raise Skip('no IPv6 loopback')
    cmd = [SYSPRIM, 'serve', '--bind', '::1', '--port', '0', '--root', root, '--threads', '1']
    if SANITIZED:
        cmd.append('--no-sandbox')
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=die_with_parent)
    try:
        line = p.stdout.readline().decode()
        m = re.match(r'serving \S+ on http://\[::1\]:(\d+)/ \(1 thread\)\n$', line)
        check(m, f'start line {line!r}')
        c = http.client.HTTPConnection('::1', int(m.group(1)), timeout=10)
        c.request('GET', '/hello.txt')
        r = c.getresponse()
        check_eq((r.status, r.read()), (200, HELLO), 'GET over IPv6')
    finally:
        p.kill()
        p.wait()


@test
def fd_limit_raised(root):
    with Server(root) as s:
        limits = open(f'/proc/{s.proc.pid}/limits').read()
        m = re.search(r'Max open files\s+(\d+)\s+(\d+)', limits)
        check(m and m.group(1) == m.group(2), f'soft limit not raised to the hard one: {m and m.group(0)}')


# ---------------------------------------------------------------------------------------------------
# GET, HEAD, methods, versions
# ---------------------------------------------------------------------------------------------------
@test
def get_file(root):
    with Server(root) as s:
        r, body = get(s, '/hello.txt')
        check_eq(r.status, 200, 'status')
        check_eq(body, HELLO, 'body')
        check_eq(r.getheader('Content-Type'), 'text/plain; charset=utf-8', 'Content-Type')
        check_eq(r.getheader('Content-Length'), str(len(HELLO)), 'Content-Length')
        check(r.getheader('ETag', '').startswith('"'), 'ETag')
        check(r.getheader('Last-Modified', '').endswith(' GMT'), 'Last-Modified')
        check(r.getheader('Date', '').endswith(' GMT'), 'Date')
        r, body = get(s, '/data.bin')
        check_eq((r.status, body), (200, DATA), 'binary file')
        r, body = get(s, '/nonexistent.txt')
        check_eq(r.status, 404, 'missing file')


@test
def mime_types(root):
    with Server(root) as s:
        for path, want in [('/style.css', 'text/css'), ('/app.js', 'javascript'), ('/index.html', 'text/html'),
                           ('/data.bin', 'application/octet-stream')]:
            r, _ = get(s, path)
            check(want in r.getheader('Content-Type', ''), f'{path}: Content-Type {r.getheader("Content-Type")}')


@test
def head_malformed_no_body(root):
    # A HEAD that fails to parse still gets no content (RFC 9110 9.3.2): the head, then the close.
    with Server(root) as s:
        for request, status in ((b'HEAD * HTTP/1.1\r\nHost: x\r\n\r\n', b'400'),
                                (b'HEAD / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', b'400'),
                                (b'HEAD / HTTP/2.0\r\nHost: x\r\n\r\n', b'505')):
            out = raw(s, request)
            check(out.startswith(b'HTTP/1.1 ' + status), f'{request!r}: {out[:40]!r}')
            end = out.find(b'\r\n\r\n')
            check(end > 0 and out[end + 4:] == b'', f'{request!r}: content after the head: {out[end + 4:][:40]!r}')
            check(b'content-length:' in out[:end].lower(), f'{request!r}: the length GET would get')


@test
def head(root):
    with Server(root) as s:
        r, body = get(s, '/data.bin', method='HEAD')
        g, gbody = get(s, '/data.bin')
        check_eq(r.status, 200, 'status')
        check_eq(body, b'', 'HEAD body')
        for name in ('Content-Length', 'Content-Type', 'ETag', 'Last-Modified'):
            check_eq(r.getheader(name), g.getheader(name), name)
        # On the wire: the next pipelined response follows the HEAD response's head immediately.
        out = raw(s, b'HEAD /hello.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: x\r\n'
                     b'Connection: close\r\n\r\n')
        first_end = out.index(b'\r\n\r\n') + 4
        check(out[first_end:].startswith(b'HTTP/1.1 200 '), f'bytes after the HEAD response: {out[first_end:][:40]!r}')
        check(out.endswith(HELLO) and out.count(HELLO) == 1, 'exactly one body')


@test
def method_not_allowed(root):
    with Server(root) as s:
        for method in ('POST', 'PUT', 'DELETE', 'OPTIONS'):
            r, _ = get(s, '/hello.txt', method=method)
            check_eq(r.status, 405, method)
            check_eq(r.getheader('Allow'), 'GET, HEAD', f'{method} Allow')


@test
def method_unknown(root):
    with Server(root) as s:
        out = raw(s, b'BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n')
        check_eq(status_of(out), 501, 'status')


@test
def http10_keep_alive(root):
    with Server(root) as s:
        # HTTP/1.0 without keep-alive: answered, then closed.
        out = raw(s, b'GET /hello.txt HTTP/1.0\r\n\r\n', timeout=10)
        check_eq(status_of(out), 200, 'HTTP/1.0 status')
        check(out.endswith(HELLO), 'HTTP/1.0 body then close')
        # HTTP/1.0 with keep-alive: two requests on one connection.
        sock = s.connect()
        f = sock.makefile('rb')
        for _ in range(2):
            sock.sendall(b'GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')
            status, headers, body = read_response_file(f)
            check_eq((status, body), (200, HELLO), 'HTTP/1.0 keep-alive response')
            check_eq(headers.get('connection', '').lower(), 'keep-alive', 'Connection header')
        sock.close()


@test
def http10_keep_alive_errors(root):
    # A 1.0 client reads a response without "Connection: keep-alive" as the end of the connection, so
    # every response that keeps a 1.0 connection open says so: errors and redirects as well as 200.
    with Server(root) as s:
        sock = s.connect()
        f = sock.makefile('rb')
        for target, headers, want in [('/nonexist', '', 404), ('/sub', '', 301), ('/.env', '', 403),
                                      ('/hello.txt', 'If-Match: "x"\r\n', 412)]:
            for method in ('GET', 'HEAD'):
                sock.sendall(f'{method} {target} HTTP/1.0\r\nConnection: keep-alive\r\n{headers}\r\n'.encode())
                status, got, _ = read_response_file(f, head_only=method == 'HEAD')
                check_eq(status, want, f'{method} {target}: status')
                check_eq(got.get('connection', '').lower(), 'keep-alive', f'{method} {target}: Connection header')
        # The connection was kept as announced: the next request is answered, and one that does not
        # ask for keep-alive gets an error that says close, then the end of the connection.
        sock.sendall(b'GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')
        status, got, body = read_response_file(f)
        check_eq((status, body), (200, HELLO), 'after the errors')
        sock.sendall(b'GET /nonexist HTTP/1.0\r\n\r\n')
        status, got, _ = read_response_file(f)
        check_eq((status, got.get('connection', '').lower()), (404, 'close'), 'HTTP/1.0 404 without keep-alive')
        check_eq(f.read(), b'', 'the connection ends after a close')
        sock.close()


@test
def cached_head(root):
    # The head of a plain 200 is formatted once per file and copied after that: its Date still moves
    # on, and requests that need another head (HTTP/1.0, close, range, a .gz appearing) never get it.
    path = os.path.join(root, 'cached.txt')
    with open(path, 'wb') as f:
        f.write(b'cached\n')
    with Server(root, threads=1) as s:
        sock = s.connect()
        f = sock.makefile('rb')
        heads = []
        for _ in range(2):
            sock.sendall(b'GET /cached.txt HTTP/1.1\r\nHost: x\r\n\r\n')
            status, headers, body = read_response_file(f)
            check_eq((status, body), (200, b'cached\n'), 'keep-alive response')
            heads.append(headers)
            time.sleep(1.1)
        check(heads[0]['date'] != heads[1]['date'], f'Date did not move on: {heads[0]["date"]}')
        check_eq(email.utils.parsedate_to_datetime(heads[1]['date']).year >= 2024, True, 'Date parses')
        check_eq({k: v for k, v in heads[0].items() if k != 'date'},
                 {k: v for k, v in heads[1].items() if k != 'date'}, 'other headers')
        sock.sendall(b'GET /cached.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')
        status, headers, _ = read_response_file(f)
        check_eq(headers.get('connection', '').lower(), 'keep-alive', 'HTTP/1.0 keep-alive after a cached head')
        sock.sendall(b'GET /cached.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\n\r\n')
        status, headers, body = read_response_file(f)
        check_eq((status, body, headers.get('content-length')), (206, b'ca', '2'), 'range after a cached head')
        sock.sendall(b'HEAD /cached.txt HTTP/1.1\r\nHost: x\r\n\r\n')
        status, headers, _ = read_response_file(f, head_only=True)
        check_eq((status, headers.get('content-length')), (200, '7'), 'HEAD after a cached head')
        sock.sendall(b'GET /cached.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        status, headers, _ = read_response_file(f)
        check_eq(headers.get('connection', '').lower(), 'close', 'Connection: close after a cached head')
        sock.close()
        with open(path + '.gz', 'wb') as g:
            import gzip
            g.write(gzip.compress(b'cached\n'))
        time.sleep(1.2)  # the cache trusts what it saw for a second
        r, body = get(s, '/cached.txt')
        check_eq((r.status, body, r.getheader('Vary')), (200, b'cached\n', 'Accept-Encoding'),
                 'Vary once a .gz exists')
        os.unlink(path + '.gz')
        time.sleep(1.2)
        r, body = get(s, '/cached.txt')
        check_eq((r.status, r.getheader('Vary')), (200, None), 'no Vary once the .gz is gone')
    os.unlink(path)


@test
def connection_close(root):
    with Server(root) as s:
        out, closed = raw_closed(s, b'GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
                                    b'GET /data.bin HTTP/1.1\r\nHost: x\r\n\r\n')
        check_eq(out.count(b'HTTP/1.1 '), 1, 'responses after Connection: close')
        check(closed, 'connection not closed')
        check(b'Connection: close' in out, 'Connection: close in the response')


@test
def keep_alive_many(root):
    with Server(root) as s:
        c = s.client()
        for i in range(50):
            c.request('GET', '/hello.txt' if i % 2 else '/data.bin')
            r = c.getresponse()
            check_eq(r.read(), HELLO if i % 2 else DATA, f'request {i} on one connection')
        c.close()


@test
def missing_host(root):
    with Server(root) as s:
        check_eq(status_of(raw(s, b'GET /hello.txt HTTP/1.1\r\n\r\n')), 400, 'HTTP/1.1 without Host')
        check_eq(status_of(raw(s, b'GET /hello.txt HTTP/1.0\r\n\r\n')), 200, 'HTTP/1.0 without Host')


@test
def host_bad_port(root):
    # Host = uri-host [":" port], port = *DIGIT (RFC 9112 3.2, RFC 3986 3.2.3): an invalid value is 400.
    with Server(root) as s:
        for host in (b'x:abc', b'x:80a', b'x:80:80', b'[::1]:x', b'[::1]x', b'[::1'):
            out, closed = raw_closed(s, b'GET /hello.txt HTTP/1.1\r\nHost: ' + host + b'\r\n\r\n')
            check_eq(status_of(out), 400, f'Host {host!r}: status')
            check(closed, f'Host {host!r}: the connection must close after the 400')
        for host in (b'x:8080', b'x:', b'[::1]:80', b'[::1]', b'127.0.0.1:8080'):
            out = raw(s, b'GET /hello.txt HTTP/1.1\r\nHost: ' + host + b'\r\nConnection: close\r\n\r\n')
            check_eq(status_of(out), 200, f'Host {host!r}: status')


@test
def header_too_large(root):
    with Server(root) as s:
        big = b'X-Big: ' + b'a' * 9000 + b'\r\n'
        out = raw(s, b'GET /hello.txt HTTP/1.1\r\nHost: x\r\n' + big + b'\r\n')
        check_eq(status_of(out), 431, 'status for a 9 KB header')
        many = b''.join(b'X-%d: a\r\n' % i for i in range(120))
        check_eq(status_of(raw(s, b'GET / HTTP/1.1\r\nHost: x\r\n' + many + b'\r\n')), 431, '120 headers')
        huge = b'X-Huge: ' + b'b' * 100000 + b'\r\n'
        check_eq(status_of(raw(s, b'GET / HTTP/1.1\r\nHost: x\r\n' + huge + b'\r\n')), 431, '100 KB header')


@test
def target_too_long(root):
    with Server(root) as s:
        out = raw(s, b'GET /' + b'a' * 9000 + b' HTTP/1.1\r\nHost: x\r\n\r\n')
        check_eq(status_of(out), 414, 'status')


@test
def malformed_requests(root):
    with Server(root) as s:
        for bad in [b'GET\r\n\r\n', b'GET / HTTP/1.1\r\nHost x\r\n\r\n', b'GET / HTTP/1.1\r\nHost : x\r\n\r\n',
                    b'GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n', b'GET / HTTP/9.9\r\nHost: x\r\n\r\n',
                    b'\x00\x01\x02\r\n\r\n', b'GET / HTTP/1.1\rHost: x\r\n\r\n']:
            out = raw(s, bad)
            st = status_of(out)
            check(st is not None and 400 <= st < 600, f'{bad!r}: {out[:60]!r}')
        # The server is still fine.
        check_eq(get(s, '/hello.txt')[1], HELLO, 'after malformed requests')


# ---------------------------------------------------------------------------------------------------
# Paths: traversal, symlinks, dotfiles, directories
# ---------------------------------------------------------------------------------------------------
@test
def traversal(root):
    with Server(root) as s:
        for target in [b'/../etc/passwd', b'/%2e%2e/etc/passwd', b'/..%2fetc/passwd', b'//etc/passwd',
                       b'/sub/../../etc/passwd', b'/%2e%2e%2f%2e%2e%2fetc/passwd', b'/.%2e/etc/passwd',
                       b'/sub/%2e%2e/%2e%2e/outside.txt', b'/../outside.txt', b'/..\\outside.txt',
                       b'/%5c..%5coutside.txt', b'/index.html%00.txt', b'/hello.txt%00', b'/etc-link/passwd',
                       b'http://x/../etc/passwd', b'/%252e%252e/etc/passwd']:
            out = raw(s, b'GET ' + target + b' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
            st = status_of(out)
            check(st in (400, 403, 404), f'{target!r}: status {st}')
            check(b'root:' not in out and b'outside the root' not in out and b'home page' not in out,
                  f'{target!r} leaked content')
        if shutil.which('curl'):
            p = curl('--path-as-is', s.url('/../../etc/passwd'))
            check(b'root:' not in p.stdout, 'curl --path-as-is')


@test
def symlinks(root):
    with Server(root) as s:
        for path in ('/passwd-link', '/up-link.txt', '/etc-link/passwd', '/etc-link/'):
            r, body = get(s, path)
            check(r.status in (403, 404), f'{path}: status {r.status}')
            check(b'root:' not in body and b'outside' not in body, f'{path} leaked')
        # A symlink that stays inside the root is followed (openat2 RESOLVE_BENEATH allows it).
        r, body = get(s, '/hello-link.txt')
        check_eq((r.status, body), (200, HELLO), 'symlink inside the root')


@test
def absolute_symlinks_inside_root(root):
    # An absolute symlink naming a place inside the root is followed, as nginx does; one that leaves
    # the root (also by '..' or by a sibling whose name starts with the root's) is refused.
    real = os.path.realpath(root)
    links = {'abs-hello.txt': real + '/hello.txt', 'abs-sub': real + '/sub', 'abs-root': real,
             'rel-to-abs.txt': 'abs-hello.txt', 'abs-escape.txt': real + '/../outside.txt',
             'abs-sibling.txt': real + '2/secret.txt', 'loop1': real + '/loop2', 'loop2': real + '/loop1'}
    for name, target in links.items():
        os.symlink(target, os.path.join(root, name))
    os.makedirs(real + '2', exist_ok=True)
    with open(real + '2/secret.txt', 'wb') as f:
        f.write(b'outside the root\n')
    with Server(root) as s:
        for path, want in (('/abs-hello.txt', HELLO), ('/abs-sub/', b'<p>sub index</p>\n'),
                           ('/abs-root/hello.txt', HELLO), ('/abs-root/abs-sub/index.html', b'<p>sub index</p>\n'),
                           ('/rel-to-abs.txt', HELLO)):
            r, body = get(s, path)
            check_eq((r.status, body), (200, want), path)
        check_eq(get(s, '/abs-sub')[0].status, 301, '/abs-sub without its slash')
        for path in ('/abs-escape.txt', '/abs-sibling.txt', '/loop1', '/passwd-link', '/etc-link/passwd'):
            r, body = get(s, path)
            check(r.status in (403, 404), f'{path}: status {r.status}')
            check(b'root:' not in body and b'outside' not in body, f'{path} leaked')
        check_eq(get(s, '/hello.txt')[1], HELLO, 'still serving after the loop')
        # A relative link whose target has runs of slashes, to an absolute one: the kernel's reading.
        os.symlink('sub' + '/' * 3000 + 'abs-up.txt', os.path.join(root, 'many-slashes.txt'))
        os.symlink(real + '/hello.txt', os.path.join(root, 'sub', 'abs-up.txt'))
        check_eq(get(s, '/many-slashes.txt')[1], HELLO, 'a target with 3000 slashes')
        # Deeper than 64 components, absolute links are not searched for (each costs a search whose
        # every probe walks the path): refused, as openat2 refuses them.
        deep = '/'.join(['d'] * 70)
        os.makedirs(os.path.join(root, deep))
        os.symlink(real + '/hello.txt', os.path.join(root, deep, 'abs.txt'))
        os.symlink(real + '/hello.txt', os.path.join(root, 'd', 'd', 'abs.txt'))
        check_eq(get(s, '/d/d/abs.txt')[1], HELLO, 'an absolute link 3 deep')
        check_eq(get(s, '/' + deep + '/abs.txt')[0].status, 403, 'an absolute link 71 deep')


@test
def without_openat2(root):
    # The fallback for kernels without openat2: a component walk that follows no symlink at all.
    with Server(root, env={'SYSPRIM_SERVE_NO_OPENAT2': '1'}) as s:
        check_eq(get(s, '/hello.txt')[1], HELLO, 'plain file')
        check_eq(get(s, '/sub/')[1], b'<p>sub index</p>\n', 'index in a subdirectory')
        check_eq(get(s, '/')[0].status, 200, 'root index')
        check_eq(get(s, '/listed/')[0].status, 200, 'listing')
        for path in ('/passwd-link', '/up-link.txt', '/etc-link/passwd', '/etc-link/', '/hello-link.txt'):
            r, body = get(s, path)
            check(r.status in (403, 404), f'{path}: status {r.status}')
            check(b'root:' not in body and b'outside' not in body, f'{path} leaked')
        for target in [b'/../etc/passwd', b'/%2e%2e/etc/passwd', b'/..%2fetc/passwd', b'//etc/passwd']:
            out = raw(s, b'GET ' + target + b' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
            check(status_of(out) in (400, 403, 404), f'{target!r}: {out[:40]!r}')
            check(b'root:' not in out, f'{target!r} leaked')


@test
def dotfiles(root):
    with Server(root) as s:
        for path in ('/.env', '/.git/config', '/.git/', '/listed/.hidden', '/%2eenv'):
            r, body = get(s, path)
            check(r.status in (403, 404), f'{path}: status {r.status}')
            check(b'SECRET' not in body and b'[core]' not in body and b'hidden' not in body, f'{path} leaked')


@test
def directory_redirect(root):
    with Server(root) as s:
        r, _ = get(s, '/sub')
        check_eq(r.status, 301, 'status')
        check_eq(r.getheader('Location'), '/sub/', 'Location')
        r, _ = get(s, '/sub?x=1')
        check_eq(r.getheader('Location'), '/sub/?x=1', 'Location keeps the query')
        # Built from the normalised path: "//sub" must not become a protocol-relative
        # redirect ("Location: //sub/" would send the browser to the host "sub").
        for target in ('//sub', '///sub', '/./sub', '//sub?y=2'):
            out = raw(s, f'GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'.encode())
            check_eq(status_of(out), 301, f'{target}: status')
            location = re.search(rb'\r\nLocation: ([^\r]*)\r\n', out)
            check(location is not None, f'{target}: no Location')
            want = b'/sub/?y=2' if '?' in target else b'/sub/'
            check_eq(location.group(1), want, f'{target}: Location')


@test
def file_with_trailing_slash(root):
    # "/hello.txt/" names a directory that is not there (open(2) says ENOTDIR): 404 as nginx, not the
    # file, whose relative links would then resolve under "/hello.txt/". A last "." segment is a slash.
    with Server(root) as s:
        for target in ('/hello.txt/', '/hello.txt/.', '/hello.txt/%2e', '/hello.txt//', '/sub/index.html/'):
            r, body = get(s, target)
            check_eq(r.status, 404, f'{target}: status')
        check_eq(get(s, '/hello.txt')[1], HELLO, '/hello.txt')
        check_eq(get(s, '/sub/.')[0].status, 200, '/sub/. is the directory /sub/')


@test
def index_file(root):
    with Server(root) as s:
        check_eq(get(s, '/sub/')[1], b'<p>sub index</p>\n', '/sub/')
        r, body = get(s, '/')
        check_eq((r.status, body), (200, b'<!DOCTYPE html><title>home</title><p>home page</p>\n'), '/')
        check('text/html' in r.getheader('Content-Type'), 'index Content-Type')
    with Server(root, '--index', 'main.html') as s:
        check_eq(get(s, '/')[1], b'<p>main</p>\n', '--index main.html')


@test
def listing(root):
    with Server(root) as s:
        r, body = get(s, '/listed/')
        check_eq(r.status, 200, 'status')
        page = body.decode()
        check('href="a.txt"' in page, 'a.txt listed')
        check('inner/' in page, 'subdirectory listed with a slash')
        check('.hidden' not in page, 'dotfile listed')
        check('<b>' not in page and '&lt;b&gt;&amp;&quot;x' in page, f'name not escaped: {page}')
        check('href="%3Cb%3E%26%22x%27.txt"' in page, f'href not encoded: {page}')
        r, body = get(s, '/listed/%3Cb%3E%26%22x%27.txt')
        check_eq((r.status, body), (200, b'escape me\n'), 'the listed file')
        r, body = get(s, '/empty/')
        check_eq(r.status, 200, 'empty directory listing')
        # Names the server refuses to serve (a control byte, a backslash) are not linked to a 400.
        for name in ('tab\tx', 'nl\nx', 'back\\slash'):
            with open(os.path.join(root, 'listed', name), 'wb') as f:
                f.write(b'odd\n')
        page = get(s, '/listed/')[1].decode()
        for encoded in ('tab%09x', 'nl%0Ax', 'back%5Cslash'):
            check(encoded not in page, f'{encoded} listed: {page}')
            check_eq(get(s, '/listed/' + encoded)[0].status, 400, f'{encoded} refused')
        check('href="a.txt"' in page, 'a.txt still listed')
        # Only what a request would get: no FIFO, no link out of the root (nor whether its target
        # exists or is a directory); links inside it are listed as what they lead to.
        listed = os.path.join(root, 'listed')
        os.mkfifo(os.path.join(listed, 'fifo'))
        os.symlink('/etc/passwd', os.path.join(listed, 'out-file'))
        os.symlink('/etc', os.path.join(listed, 'out-dir'))
        os.symlink('../../outside.txt', os.path.join(listed, 'out-rel'))
        os.symlink('../sub', os.path.join(listed, 'in-dir'))
        os.symlink(os.path.realpath(root) + '/hello.txt', os.path.join(listed, 'in-abs.txt'))
        page = get(s, '/listed/')[1].decode()
        for name in ('fifo', 'out-file', 'out-dir', 'out-rel'):
            check(name not in page, f'{name} listed: {page}')
        check('href="in-dir/"' in page and 'href="in-abs.txt"' in page, f'links inside not listed: {page}')
        check_eq(get(s, '/listed/in-abs.txt')[1], HELLO, 'the listed absolute link')
    with Server(root, '--no-listing') as s:
        r, body = get(s, '/listed/')
        check(r.status in (403, 404), f'--no-listing: status {r.status}')
        check(b'a.txt' not in body, '--no-listing leaked the names')


@test
def listing_conditionals(root):
    # A listing has neither ETag nor Last-Modified: If-Match other than "*" fails (412), If-None-Match
    # "*" is 304 for GET and HEAD, the date conditions are ignored (RFC 9110 13.1.1-13.1.4, 13.2.1).
    cases = [({'If-Match': '"x"'}, 412), ({'If-Match': '*'}, 200), ({'If-None-Match': '*'}, 304),
             ({'If-None-Match': '"x"'}, 200), ({'If-None-Match': '"x", *'}, 200),
             ({'If-Modified-Since': 'Sun, 06 Nov 2094 08:49:37 GMT'}, 200),
             ({'If-Unmodified-Since': 'Sun, 06 Nov 1994 08:49:37 GMT'}, 200)]
    with Server(root) as s:
        for headers, want in cases:
            for method in ('GET', 'HEAD'):
                r, body = get(s, '/listed/', headers, method)
                check_eq(r.status, want, f'{method} {headers}')
                if want == 304 or method == 'HEAD':
                    check_eq(body, b'', f'{method} {headers}: body')
                elif want == 200:
                    check(b'a.txt' in body, f'{method} {headers}: the listing')
        out = raw(s, b'GET /listed/ HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\nConnection: close\r\n\r\n')
        check(out.endswith(b'\r\n\r\n') and b'Content-Length' not in out, f'304 head only: {out!r}')


@test
def empty_if_range_and_empty_file_ranges(root):
    # An empty If-Range is neither a tag nor a date: the Range is ignored (RFC 9110 13.1.5). On an empty
    # file a suffix range is 200 with the empty whole (14.1.2), any other range 416.
    open(os.path.join(root, 'empty.txt'), 'wb').close()
    with Server(root) as s:
        r, body = get(s, '/hello.txt', {'If-Range': '', 'Range': 'bytes=0-0'})
        check_eq((r.status, body), (200, HELLO), 'empty If-Range')
        r, body = get(s, '/empty.txt', {'Range': 'bytes=-5'})
        check_eq((r.status, body), (200, b''), 'suffix range of an empty file')
        check_eq(get(s, '/empty.txt', {'Range': 'bytes=0-'})[0].status, 416, 'bytes=0- of an empty file')


@test
def listing_long_path(root):
    # A directory whose path is longer than a name can be still gets its path in the title and
    # heading (both came out empty when the escaped path passed 1,536 bytes).
    parts = ['d' * 60 + str(i % 10) for i in range(28)]  # ~1,700 bytes, more than the 1,536 bytes the escape had
    deep = os.path.join(root, *parts)
    os.makedirs(deep)
    with open(os.path.join(deep, 'leaf.txt'), 'wb') as f:
        f.write(b'leaf\n')
    url = '/' + '/'.join(parts) + '/'
    with Server(root) as s:
        r, body = get(s, url)
        page = body.decode()
        check_eq(r.status, 200, 'listing of a deep directory')
        check(f'<title>Index of {url}</title>' in page, f'title: {page[:400]!r}')
        check(f'<h1>Index of {url}</h1>' in page, 'heading')
        check('leaf.txt' in page, 'entry')
    shutil.rmtree(os.path.join(root, parts[0]))


@test
def listing_utf8(root):
    # The page says charset=utf-8, so a name that is not UTF-8 is shown with U+FFFD (in the list and
    # in the title); its link keeps the raw bytes percent-encoded and still leads to the file.
    directory = os.path.join(os.fsencode(root), b'nb\xff')
    os.makedirs(directory)
    names = {b'bad\xff\xfe.txt': b'not utf-8\n', 'é.txt'.encode(): b'e acute\n', '日本.txt'.encode(): b'nihon\n'}
    for name, content in names.items():
        with open(os.path.join(directory, name), 'wb') as f:
            f.write(content)
    with Server(root) as s:
        r, body = get(s, '/nb%FF/')
        check_eq(r.status, 200, 'status')
        try:
            page = body.decode('utf-8')
        except UnicodeDecodeError as e:
            raise Fail(f'the listing is not UTF-8: {e}')
        check('<title>Index of /nb\ufffd/</title>' in page, f'title: {page}')
        check('<h1>Index of /nb\ufffd/</h1>' in page, f'heading: {page}')
        check('>bad\ufffd\ufffd.txt</a>' in page, f'invalid name: {page}')
        check('>é.txt</a>' in page and '>日本.txt</a>' in page, f'valid UTF-8 names changed: {page}')
        for name, content in names.items():
            href = ''.join(chr(b) if b < 128 and (chr(b).isalnum() or chr(b) in '-._~') else '%%%02X' % b
                           for b in name)
            check(f'href="{href}"' in page, f'no link {href}: {page}')
            r, got = get(s, '/nb%FF/' + href)
            check_eq((r.status, got), (200, content), f'following {href}')


def make_big_dir(root):
    """A directory whose listing is about 4 MB: 8,000 names of 246 bytes."""
    big = os.path.join(root, 'big-dir')
    os.makedirs(big)
    for i in range(8000):
        open(os.path.join(big, 'f%05d_' % i + 'x' * 240), 'wb').close()


def rss_kib(proc):
    with open(f'/proc/{proc.pid}/status') as f:
        return int([line for line in f if line.startswith('VmRSS')][0].split()[1])


def unread_listings(server, count):
    """`count` clients that ask for /big-dir/ and read nothing (a 4 KiB receive buffer)."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket()
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(20)
            sock.connect(('127.0.0.1', server.port))
            sock.sendall(b'GET /big-dir/ HTTP/1.1\r\nHost: x\r\n\r\n')
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


@test
def listing_memory_bounded(root):
    # A directory listing is built in memory and held until the client has read it: 150 clients
    # that ask for a 4 MB listing and never read held 600 MB. Listings in flight share a budget
    # (64 MiB); past it the answer is 503 with Retry-After, and the budget comes back as they end.
    make_big_dir(root)
    with Server(root, threads=1) as s:
        r, body = get(s, '/big-dir/')
        check_eq(r.status, 200, 'one listing')
        size = len(body)
        check(size > 4000000, f'the listing is {size} bytes')

        base = rss_kib(s.proc)
        statuses = []
        socks = unread_listings(s, 150)
        try:
            for sock in socks:
                head = sock.recv(2048)
                statuses.append(status_of(head))
                if statuses[-1] == 503:
                    check(b'\r\nRetry-After: ' in head, f'503 without Retry-After: {head!r}')
            grown = rss_kib(s.proc) - base
        finally:
            for sock in socks:
                sock.close()
        served, refused = statuses.count(200), statuses.count(503)
        check_eq(served + refused, 150, f'statuses {sorted(set(statuses))}')
        check(served >= 1, 'no listing served')
        check(refused >= 1, 'every listing served')
        if not SANITIZED:  # ASan holds freed memory in its quarantine: RSS says nothing there
            check(grown < 256 << 10, f'the server grew by {grown} KiB for {served} listings in flight')
        print(f'{served} listings served, {refused} refused, the server grew by {grown} KiB')
        # The budget comes back when the connections end.
        deadline = time.monotonic() + 10
        while True:
            r, body = get(s, '/big-dir/')
            if r.status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        check_eq((r.status, len(body)), (200, size), 'a listing after the others ended')


@test
def idle_memory_returned(root):
    # Memory a burst needed goes back to the OS once the server is quiet, without a request to set
    # the allocator's clock going: 10 clients that did not read a 4 MB listing left ~45 MB resident
    # for ever after they went away.
    if os.environ.get('SYSPRIM_MALLOC', 'builtin') != 'builtin':
        raise Skip('sysprim is built with the C library\'s malloc')
    make_big_dir(root)
    with Server(root, threads=1) as s:
        check_eq(get(s, '/hello.txt')[1], HELLO, 'warm-up')
        base = rss_kib(s.proc)
        socks = unread_listings(s, 10)
        try:
            for sock in socks:
                check_eq(status_of(sock.recv(2048)), 200, 'listing')
            burst = rss_kib(s.proc) - base
        finally:
            for sock in socks:
                sock.close()
        check(burst > 30 << 10, f'the burst took only {burst} KiB: the test cannot tell')
        deadline = time.monotonic() + 10  # the release delay is 1 s
        while rss_kib(s.proc) - base > 8 << 10 and time.monotonic() < deadline:
            time.sleep(0.25)
        left = rss_kib(s.proc) - base
        check(left <= 8 << 10, f'{left} KiB of the {burst} KiB burst still resident after 10 s idle')
        print(f'burst +{burst} KiB, idle +{left} KiB')


# ---------------------------------------------------------------------------------------------------
# Conditional requests, ranges, compression
# ---------------------------------------------------------------------------------------------------
@test
def conditional(root):
    with Server(root) as s:
        r, _ = get(s, '/hello.txt')
        etag, modified = r.getheader('ETag'), r.getheader('Last-Modified')
        r, body = get(s, '/hello.txt', {'If-None-Match': etag})
        check_eq((r.status, body), (304, b''), 'If-None-Match with the ETag')
        check_eq(r.getheader('ETag'), etag, '304 carries the ETag')
        check_eq(get(s, '/hello.txt', {'If-None-Match': '*'})[0].status, 304, 'If-None-Match: *')
        check_eq(get(s, '/hello.txt', {'If-None-Match': '"other", ' + etag})[0].status, 304, 'list')
        check_eq(get(s, '/hello.txt', {'If-None-Match': '"other"'})[0].status, 200, 'other ETag')
        check_eq(get(s, '/hello.txt', {'If-Modified-Since': modified})[0].status, 304, 'If-Modified-Since')
        check_eq(get(s, '/hello.txt', {'If-Modified-Since': 'Sun, 06 Nov 1994 08:49:37 GMT'})[0].status, 200,
                 'old If-Modified-Since')
        # If-None-Match wins over If-Modified-Since.
        check_eq(get(s, '/hello.txt', {'If-None-Match': '"other"', 'If-Modified-Since': modified})[0].status,
                 200, 'If-None-Match takes precedence')


@test
def precondition_failed(root):
    # If-Match (strong comparison) and If-Unmodified-Since (RFC 9110 13.1.1, 13.1.4, 13.2.2): a
    # download resumed with If-Match gets 412, not bytes of a file that has changed since.
    with Server(root) as s:
        r, _ = get(s, '/hello.txt')
        etag, modified = r.getheader('ETag'), r.getheader('Last-Modified')
        old, future = 'Sun, 06 Nov 1994 08:49:37 GMT', 'Fri, 01 Jan 2100 00:00:00 GMT'
        cases = [
            ({'If-Match': '"other"'}, 412),
            ({'If-Match': etag}, 200),
            ({'If-Match': '"other", ' + etag}, 200),
            ({'If-Match': '*'}, 200),
            ({'If-Match': 'W/' + etag}, 412),  # a weak tag never matches strongly
            ({'If-Unmodified-Since': old}, 412),
            ({'If-Unmodified-Since': modified}, 200),
            ({'If-Unmodified-Since': future}, 200),
            ({'If-Unmodified-Since': 'yesterday'}, 200),  # not a date: ignored
            ({'If-Match': etag, 'If-Unmodified-Since': old}, 200),  # If-Match decides alone
            ({'If-Match': '"other"', 'If-None-Match': etag}, 412),  # 412 before 304
            ({'If-Match': etag, 'If-None-Match': etag}, 304),
            ({'If-Match': etag, 'Range': 'bytes=0-4'}, 206),
            ({'If-Match': '"other"', 'Range': 'bytes=0-4'}, 412),
        ]
        for headers, want in cases:
            r, body = get(s, '/hello.txt', headers)
            check_eq(r.status, want, f'{headers}')
            if want == 412:
                check(HELLO not in body, f'{headers}: the file sent with the 412')
        r, body = get(s, '/hello.txt', {'If-Match': '"other"'}, method='HEAD')
        check_eq((r.status, body), (412, b''), 'HEAD with a failed If-Match')
        # Two If-Match lines: a match in either one passes.
        out = raw(s, f'GET /hello.txt HTTP/1.1\r\nHost: x\r\nIf-Match: "a"\r\nIf-Match: {etag}\r\n'
                     'Connection: close\r\n\r\n'.encode())
        check_eq(status_of(out), 200, 'If-Match over two lines')
        # The connection stays usable after a 412.
        sock = s.connect()
        sock.sendall(b'GET /hello.txt HTTP/1.1\r\nHost: x\r\nIf-Match: "a"\r\n\r\n'
                     b'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n')
        f = sock.makefile('rb')
        check_eq(read_response_file(f)[0], 412, 'first')
        check_eq(read_response_file(f)[2], HELLO, 'the request after the 412')
        sock.close()


@test
def file_change_seen(root):
    path = os.path.join(root, 'changing.txt')
    with open(path, 'wb') as f:
        f.write(b'first version\n')
    with Server(root) as s:
        r, body = get(s, '/changing.txt')
        check_eq(body, b'first version\n', 'first')
        old_etag = r.getheader('ETag')
        with open(path + '.new', 'wb') as f:
            f.write(b'second, longer version\n')
        os.rename(path + '.new', path)
        # The cache trusts an entry for at most a second.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r, body = get(s, '/changing.txt')
            if body != b'first version\n':
                break
            time.sleep(0.2)
        check_eq(body, b'second, longer version\n', 'new content')
        check(r.getheader('ETag') != old_etag, 'ETag changed')
        # Each thread has its own cache: a second later, every one of them has seen the change.
        time.sleep(1.2)
        for _ in range(6):
            check_eq(get(s, '/changing.txt')[1], b'second, longer version\n', 'new content from every thread')
        os.unlink(path)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and get(s, '/changing.txt')[0].status != 404:
            time.sleep(0.2)
        time.sleep(1.2)
        for _ in range(6):
            check_eq(get(s, '/changing.txt')[0].status, 404, 'deleted file, from every thread')


@test
def cache_sees_changes_at_once(root):
    # One thread, one keep-alive connection, every step well inside the cache's one-second trust: a
    # file rewritten in place (same size), truncated, removed and created is answered as it is now.
    small, large = os.path.join(root, 'inplace.txt'), os.path.join(root, 'shrinks.bin')
    with open(small, 'wb') as f:
        f.write(b'A' * 1000)
    with open(large, 'wb') as f:
        f.write(os.urandom(100000))  # past the in-memory size: sent from the fd
    with Server(root, threads=1) as s:
        sock = s.connect()
        f = sock.makefile('rb')

        def ask(path):
            sock.sendall(f'GET {path} HTTP/1.1\r\nHost: x\r\n\r\n'.encode())
            return read_response_file(f)

        for _ in range(2):
            status, headers, body = ask('/inplace.txt')
        old_etag = headers.get('etag')
        with open(small, 'r+b') as g:
            g.write(b'B' * 10)
        status, headers, body = ask('/inplace.txt')
        check_eq((status, body[:12]), (200, b'B' * 10 + b'AA'), 'rewritten in place: new bytes')
        check(headers.get('etag') != old_etag, f'rewritten in place: ETag changed from {old_etag}')

        for _ in range(2):
            status, headers, body = ask('/shrinks.bin')
        check_eq((status, len(body)), (200, 100000), 'before truncation')
        os.truncate(large, 100)
        status, headers, body = ask('/shrinks.bin')
        check_eq((status, headers.get('content-length'), len(body)), (200, '100', 100), 'truncated: its new length')

        os.unlink(small)
        check_eq(ask('/inplace.txt')[0], 404, 'removed: 404 at once')
        check_eq(ask('/appears.txt')[0], 404, 'not there yet')
        with open(os.path.join(root, 'appears.txt'), 'wb') as g:
            g.write(b'here\n')
        status, _, body = ask('/appears.txt')
        check_eq((status, body), (200, b'here\n'), 'created: served at once')
        sock.close()
    os.unlink(large)
    os.unlink(os.path.join(root, 'appears.txt'))


@test
def last_modified_not_after_date(root):
    # A file dated in the future is described as modified at the time of the answer (RFC 9110
    # 8.8.2.1), and If-Modified-Since with that value gets 304.
    path = os.path.join(root, 'future.txt')
    with open(path, 'wb') as f:
        f.write(b'later\n')
    os.utime(path, (4102444800, 4102444800))  # 2100-01-01
    with Server(root) as s:
        r, _ = get(s, '/future.txt')
        date = email.utils.parsedate_to_datetime(r.getheader('Date'))
        modified = email.utils.parsedate_to_datetime(r.getheader('Last-Modified'))
        check(modified <= date, f'Last-Modified {modified} after Date {date}')
        r, _ = get(s, '/future.txt', {'If-Modified-Since': r.getheader('Last-Modified')})
        check_eq(r.status, 304, 'If-Modified-Since with the Last-Modified sent')
    os.unlink(path)


@test
def range_single(root):
    n = len(DATA)
    with Server(root) as s:
        cases = [('bytes=0-0', 0, 0), ('bytes=0-99', 0, 99), ('bytes=-1', n - 1, n - 1), (f'bytes={n - 1}-', n - 1, n - 1),
                 ('bytes=0-', 0, n - 1), (f'bytes=100-{n + 1000}', 100, n - 1), (f'bytes=-{n + 5}', 0, n - 1),
                 ('bytes=9000-9999', 9000, 9999)]
        for header, first, last in cases:
            r, body = get(s, '/data.bin', {'Range': header})
            check_eq(r.status, 206, f'{header} status')
            check_eq(r.getheader('Content-Range'), f'bytes {first}-{last}/{n}', f'{header} Content-Range')
            check_eq(body, DATA[first:last + 1], f'{header} body')
        for header in (f'bytes={n}-', f'bytes={n + 10}-{n + 20}', 'bytes=-0'):
            r, body = get(s, '/data.bin', {'Range': header})
            check_eq(r.status, 416, f'{header} status')
            check_eq(r.getheader('Content-Range'), f'bytes */{n}', f'{header} Content-Range')
        for header in ('bytes=5-2', 'items=0-1', 'bytes=a-b'):
            r, body = get(s, '/data.bin', {'Range': header})
            check_eq((r.status, body), (200, DATA), f'invalid {header} ignored')
        # RFC 9110 14.2: Range is defined for GET only; HEAD answers as a plain HEAD.
        r, body = get(s, '/data.bin', {'Range': 'bytes=10-19'}, method='HEAD')
        check_eq((r.status, body, r.getheader('Content-Length')), (200, b'', str(n)), 'HEAD with Range')
        r, body = get(s, '/hello.txt', {'Range': 'bytes=0-4'})
        check_eq((r.status, body), (206, HELLO[:5]), 'range of a small (memory-cached) file')


def multipart_parts(r, body):
    """The parts of a multipart/byteranges response, checked against DATA: [(first, last), ...]."""
    ctype = r.getheader('Content-Type')
    m = re.match(r'multipart/byteranges; boundary=(\S+)$', ctype or '')
    check(m, f'Content-Type {ctype}')
    check_eq(int(r.getheader('Content-Length')), len(body), 'Content-Length')
    boundary = m.group(1).encode()
    parts = body.split(b'--' + boundary)
    check_eq(parts[-1], b'--\r\n', 'closing delimiter')
    got = []
    for part in parts[1:-1]:
        head, _, content = part.partition(b'\r\n\r\n')
        cr = re.search(rb'Content-Range: bytes (\d+)-(\d+)/(\d+)', head)
        check(cr, f'part head {head!r}')
        first, last = int(cr.group(1)), int(cr.group(2))
        check(content.endswith(b'\r\n'), 'part ends with CRLF before the delimiter')
        check_eq(content[:-2], DATA[first:last + 1], f'part {first}-{last}')
        got.append((first, last))
    return got


@test
def range_multipart(root):
    with Server(root) as s:
        r, body = get(s, '/data.bin', {'Range': 'bytes=0-9,100-109,-5'})
        check_eq(r.status, 206, 'status')
        n = len(DATA)
        check_eq(multipart_parts(r, body), [(0, 9), (100, 109), (n - 5, n - 1)], 'parts')


@test
def range_multipart_order(root):
    # RFC 9110 14.6: the parts SHOULD come in the order asked for; only ranges that overlap or touch
    # are sorted and merged (14.2, range attacks).
    n = len(DATA)
    with Server(root) as s:
        for header, want in [('bytes=5-6,0-1', [(5, 6), (0, 1)]),
                             ('bytes=-5,100-109,0-9', [(n - 5, n - 1), (100, 109), (0, 9)]),
                             ('bytes=100-109,5-9,0-4', [(0, 9), (100, 109)])]:
            r, body = get(s, '/data.bin', {'Range': header})
            check_eq(r.status, 206, f'{header}: status')
            check_eq(multipart_parts(r, body), want, f'{header}: parts')


@test
def if_range(root):
    # Written an hour ago: a Last-Modified of the current second would be weak (if-range-weak-date).
    hour_ago = time.time() - 3600
    os.utime(os.path.join(root, 'data.bin'), (hour_ago, hour_ago))
    with Server(root) as s:
        r, _ = get(s, '/data.bin')
        etag, modified = r.getheader('ETag'), r.getheader('Last-Modified')
        r, body = get(s, '/data.bin', {'Range': 'bytes=0-9', 'If-Range': etag})
        check_eq((r.status, body), (206, DATA[:10]), 'matching If-Range ETag')
        r, body = get(s, '/data.bin', {'Range': 'bytes=0-9', 'If-Range': '"stale"'})
        check_eq((r.status, body), (200, DATA), 'stale If-Range ETag')
        r, body = get(s, '/data.bin', {'Range': 'bytes=0-9', 'If-Range': modified})
        check_eq(r.status, 206, 'matching If-Range date')
        r, body = get(s, '/data.bin', {'Range': 'bytes=0-9', 'If-Range': 'Sun, 06 Nov 1994 08:49:37 GMT'})
        check_eq(r.status, 200, 'old If-Range date')


@test
def if_range_weak_date(root):
    # RFC 9110 13.1.5, 8.8.2.2: a Last-Modified date not at least a second before the response's Date
    # is weak, so an If-Range naming it fails and the whole file comes back (200), even though the
    # date matches. (A modification time in the future is sent as the Date: see
    # last-modified-not-after-date.)
    with Server(root) as s:
        # Written this second: Last-Modified is the Date's second, weak. A new name each try, so
        # no cached entry is involved; a try that crosses into the next second does not count.
        for attempt in range(5):
            time.sleep(1.05 - time.time() % 1)
            path = os.path.join(root, f'now{attempt}.bin')
            with open(path, 'wb') as f:
                f.write(DATA)
            written = int(os.stat(path).st_mtime)
            r, body = get(s, f'/now{attempt}.bin', {'Range': 'bytes=0-1',
                                                    'If-Range': email.utils.formatdate(written, usegmt=True)})
            if int(time.time()) == written:
                break
        else:
            raise Skip('no request finished within the second its file was written')
        check_eq((r.status, len(body), body == DATA), (200, len(DATA), True),
                 'If-Range with a Last-Modified of the current second')


@test
def precompressed_gzip(root):
    import gzip
    with Server(root) as s:
        r, body = get(s, '/style.css', {'Accept-Encoding': 'gzip, deflate'})
        check_eq(r.status, 200, 'status')
        check_eq(r.getheader('Content-Encoding'), 'gzip', 'Content-Encoding')
        check_eq(r.getheader('Vary'), 'Accept-Encoding', 'Vary')
        check('text/css' in r.getheader('Content-Type'), 'Content-Type of the original')
        check_eq(gzip.decompress(body), CSS, 'decompressed body')
        r, body = get(s, '/style.css')
        check_eq((r.getheader('Content-Encoding'), body), (None, CSS), 'without Accept-Encoding')
        check_eq(r.getheader('Vary'), 'Accept-Encoding', 'Vary on the identity response too')
        r, _ = get(s, '/style.css', {'If-Match': '"x"'})
        check_eq((r.status, r.getheader('Vary')), (412, 'Accept-Encoding'), 'Vary on a 412 too (RFC 9110 12.5.5)')
        r, body = get(s, '/style.css', {'Accept-Encoding': 'gzip;q=0'})
        check_eq(r.getheader('Content-Encoding'), None, 'gzip;q=0 refused')
        r, _ = get(s, '/hello.txt', {'Accept-Encoding': 'gzip'})
        check_eq((r.getheader('Content-Encoding'), r.getheader('Vary')), (None, None), 'no .gz sibling')
        if shutil.which('curl'):
            p = curl('--compressed', s.url('/style.css'))
            check_eq(p.stdout, CSS, 'curl --compressed')


# ---------------------------------------------------------------------------------------------------
# Bodies, Expect, smuggling, absolute form, pipelining
# ---------------------------------------------------------------------------------------------------
@test
def request_body_discarded(root):
    with Server(root) as s:
        body = b'x' * 100000
        out = raw(s, b'GET /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n' % len(body) + body +
                  b'GET /data.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        check_eq(out.count(b'HTTP/1.1 200 '), 2, 'two responses')
        check(out.endswith(DATA), 'second response after the discarded body')
        chunked = b'5\r\nhello\r\n10;ext=1\r\n0123456789abcdef\r\n0\r\nTrailer: x\r\n\r\n'
        out = raw(s, b'POST /hello.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' + chunked +
                  b'GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        check_eq(status_of(out), 405, 'POST with a chunked body')
        check(out.endswith(HELLO) and out.count(b'HTTP/1.1 ') == 2, 'request after the chunked body')
        out = raw(s, b'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')
        check_eq(status_of(out), 405, 'malformed chunked body: answered')
        if shutil.which('curl'):
            p = curl('-o', '/dev/null', '-w', '%{http_code}', '--data-binary', '@' + os.path.join(root, 'data.bin'),
                     s.url('/hello.txt'))
            check_eq(p.stdout, b'405', 'curl POST')


@test
def expect_continue(root):
    with Server(root) as s:
        sock = s.connect()
        sock.sendall(b'PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n')
        first = sock.recv(4096)
        check(first.startswith(b'HTTP/1.1 100 Continue\r\n\r\n'), f'interim response: {first[:40]!r}')
        sock.sendall(b'hello')
        data = first
        f = sock.makefile('rb')
        rest = first[len(b'HTTP/1.1 100 Continue\r\n\r\n'):]
        if not rest:
            status, _, _ = read_response_file(f)
        else:
            status = status_of(rest)
        check_eq(status, 405, 'final status')
        sock.sendall(b'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n')
        status, _, body = read_response_file(f)
        check_eq((status, body), (200, HELLO), 'next request after the body')
        sock.close()
        del data
        if shutil.which('curl'):
            p = curl('-o', '/dev/null', '-w', '%{http_code}', '-H', 'Expect: 100-continue', '-X', 'GET',
                     '--data-binary', '@' + os.path.join(root, 'data.bin'), s.url('/hello.txt'))
            check_eq(p.stdout, b'200', 'curl GET with Expect')


@test
def body_over_max_body(root):
    # As nginx's client_max_body_size (1m by default): a Content-Length over --max-body gets 413 before
    # any of the body is read (no 100 Continue), and the connection closes after it; a chunked body
    # that grows past it is read no further and its connection closes after its answer.
    with Server(root) as s:
        body = b'x' * (1 << 20)
        sock = s.connect()
        sock.sendall(b'GET /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n' % len(body) + body)
        f = sock.makefile('rb')
        status, headers, data = read_response_file(f)
        check_eq((status, data, headers.get('connection')), (200, HELLO, None), 'a body of exactly 1 MiB')
        sock.sendall(b'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n')
        check_eq(read_response_file(f)[:3:2], (200, HELLO), 'the next request on that connection')
        sock.close()
        for extra in [b'', b'Expect: 100-continue\r\n']:
            # Only the head: the answer must not wait for a body it will not read.
            out, closed = raw_closed(s, b'PUT /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n%s\r\n' %
                                     (len(body) + 1, extra), timeout=5)
            check_eq(status_of(out), 413, f'a body one byte over 1 MiB ({extra!r})')
            check(b'Connection: close\r\n' in out and closed, f'413 closes the connection: {out[:200]!r}')
            check(b'100 Continue' not in out, '413 without 100 Continue')
        # The client sends its whole body anyway: it still reads the 413 (no reset), then EOF.
        sock = s.connect()
        sock.sendall(b'GET /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n' % (len(body) + 1))
        try:
            sock.sendall(body + b'x')
        except OSError:
            pass
        status, headers, _ = read_response_file(sock.makefile('rb'))
        check_eq((status, headers.get('connection')), (413, 'close'), 'the 413 after the whole body')
        check(wait_closed(sock, 10), 'connection not closed after the 413')
    with Server(root, '--max-body', '1k') as s:
        chunk = b'x' * 600
        chunked = b'%x\r\n%s\r\n' % (len(chunk), chunk)
        out, closed = raw_closed(s, b'GET /hello.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
                                 chunked * 2 + b'0\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n', timeout=10)
        check_eq((status_of(out), out.count(b'HTTP/1.1 '), closed), (200, 1, True),
                 'a chunked body over --max-body: answered, nothing after it, closed')
        out = raw(s, b'GET /hello.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' + chunked +
                  b'0\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        check_eq(out.count(b'HTTP/1.1 200 '), 2, 'a chunked body within --max-body, then the next request')
        out = raw(s, b'GET /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n')
        check_eq(status_of(out), 413, '--max-body 1k')
        # A large answer waiting for room while the client sends a chunked body past the limit before
        # reading: the body is still read and dropped, so neither side blocks the other.
        with open(os.path.join(root, 'mid.bin'), 'wb') as f:
            f.truncate(8 << 20)
        sock = s.connect(timeout=20)
        sock.sendall(b'GET /mid.bin HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n')
        try:
            for _ in range(48):
                sock.sendall(b'%x\r\n%s\r\n' % (65536, b'y' * 65536))
            sock.sendall(b'0\r\n\r\n')
        except OSError as e:
            raise Fail(f'a 3 MiB chunked body over --max-body stalled while its answer waited ({e!r})')
        status, headers, data = read_response(sock)
        check_eq((status, len(data)), (200, 8 << 20), 'the whole answer after the body')
        check(wait_closed(sock, 10), 'connection not closed after the answer')
    with Server(root, '--max-body', '1k', '--send-timeout', '1s') as s:
        # Past the limit the body no longer renews --send-timeout: a client that sends for ever and
        # never reads is cut off as one that sends nothing.
        sock = s.connect(timeout=10)
        sock.sendall(b'GET /mid.bin HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n' +
                     b'y' * 2048 + b'\r\n')
        started, cut_at = time.monotonic(), None
        while time.monotonic() - started < 8:
            try:
                sock.sendall(b'400\r\n' + b'y' * 1024 + b'\r\n')
            except OSError:
                cut_at = time.monotonic() - started
                break
            time.sleep(0.05)
        check(cut_at is not None and cut_at < 5, f'a body past --max-body kept the answer alive (cut at {cut_at})')
        sock.close()
    with Server(root, '--max-body', '0') as s:
        body = b'x' * (3 << 20)
        out = raw(s, b'GET /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n' % len(body) + body +
                  b'GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        check_eq(out.count(b'HTTP/1.1 200 '), 2, '--max-body 0: no limit')
    for bad in ['-1', 'lots', '1q']:
        p = subprocess.run([SYSPRIM, 'serve', '--root', root, '--max-body', bad], capture_output=True, timeout=20)
        check_eq(p.returncode, 2, f'exit status for --max-body {bad}')


def socket_count(proc):
    n = 0
    for fd in os.listdir(f'/proc/{proc.pid}/fd'):
        try:
            n += os.readlink(f'/proc/{proc.pid}/fd/{fd}').startswith('socket:')
        except OSError:
            pass
    return n


@test
def close_with_leftovers(root):
    # After an answer that closes the connection, what the client still sends is read and dropped
    # (nginx's lingering close) for as long as it keeps coming, not only its first MiB: a client that
    # sends its whole body before reading (http.client, as many do) gets the answer, not a reset.
    with Server(root) as s:
        c = s.client(timeout=30)
        try:
            c.request('PUT', '/hello.txt', body=b'x' * (50 << 20))
            status = c.getresponse().status
        except OSError as e:
            raise Fail(f'a 50 MiB body refused with 413: the client got {e!r} instead of the answer')
        check_eq(status, 413, 'http.client after sending a 50 MiB body')
        c.close()
    with Server(root, '--max-body', '0') as s:
        sock = s.connect(timeout=30)
        body = 20 << 20
        sock.sendall(b'GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n' % body)
        try:
            sock.sendall(b'x' * body)
        except OSError as e:
            raise Fail(f'a 20 MiB body behind Connection: close was cut off ({e!r})')
        status, headers, data = read_response(sock)
        check_eq((status, data), (200, HELLO), 'the answer read after the whole body')
        sock.close()


@test
def linger_bounded(root):
    # The lingering close ends after a silence of min(--header-timeout, 5s), and after six of those
    # in all for a client that never stops sending.
    with Server(root, '--header-timeout', '1s', '--max-body', '0', threads=1) as s:
        base = socket_count(s.proc)
        request = b'GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 1000000000\r\n\r\n'
        quiet = s.connect()
        quiet.sendall(request)
        check_eq(read_response(quiet)[2], HELLO, 'answer')
        chatty = s.connect()
        chatty.sendall(request)
        check_eq(read_response(chatty)[2], HELLO, 'answer')
        started = time.monotonic()
        check_eq(socket_count(s.proc), base + 2, 'both connections lingering')
        cut_at = None
        while time.monotonic() - started < 15:
            try:
                chatty.send(b'x' * 1024)
            except OSError:
                cut_at = time.monotonic() - started
                break
            if socket_count(s.proc) == base:
                cut_at = time.monotonic() - started
                break
            time.sleep(0.05)
        check(socket_count(s.proc) <= base + 1, 'the silent connection still open after its linger timeout')
        check(cut_at is not None, 'a client sending for ever kept its lingering connection for 15 s')
        check(4 <= cut_at <= 10, f'the sending client was cut off after {cut_at:.1f} s, expected about 6')
        quiet.close()
        chatty.close()


@test
def smuggling(root):
    with Server(root) as s:
        attacks = [
            b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
            b'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef',
            b'GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n',
            b'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nabcdef',
            b'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n',
            b'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
        ]
        for attack in attacks:
            followed = attack + b'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n'
            out, closed = raw_closed(s, followed, timeout=10)
            st = status_of(out)
            check(st is not None and st >= 400, f'{attack!r}: status {st}')
            check_eq(out.count(b'HTTP/1.1 '), 1, f'{attack!r}: responses')
            check(closed, f'{attack!r}: the connection must close after the error')
            check(b'Connection: close' in out, f'{attack!r}: the error must say Connection: close')


@test
def absolute_form(root):
    with Server(root) as s:
        out = raw(s, b'GET http://example.com/hello.txt HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n')
        check_eq(status_of(out), 200, 'status')
        check(out.endswith(HELLO), 'body')


@test
def absolute_form_bad_port(root):
    # The authority's port is digits, perhaps none (RFC 3986 3.2.3); anything else is 400, as nginx.
    with Server(root) as s:
        for authority in (b'x:abc', b'x:80a', b'x:80:80', b'[::1]:x'):
            out, closed = raw_closed(s, b'GET http://' + authority + b'/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n')
            check_eq(status_of(out), 400, f'{authority!r}: status')
            check(HELLO not in out, f'{authority!r}: the file was sent')
            check(closed, f'{authority!r}: the connection must close after the 400')
        for authority in (b'x:8080', b'x:', b'[::1]:80'):
            out = raw(s, b'GET http://' + authority + b'/hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
            check_eq(status_of(out), 200, f'{authority!r}: status')


@test
def pipelining(root):
    with Server(root) as s:
        requests = b''.join(b'GET /%s HTTP/1.1\r\nHost: x\r\n\r\n' % (b'hello.txt' if i % 3 else b'data.bin')
                            for i in range(100))
        sock = s.connect()
        sock.sendall(requests)  # all 100 in one write
        f = sock.makefile('rb')
        for i in range(100):
            status, _, body = read_response_file(f)
            check_eq((status, body), (200, HELLO if i % 3 else DATA), f'response {i}')
        sock.close()


@test
def split_reads(root):
    with Server(root) as s:
        request = b'GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n'
        sock = s.connect()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(request)):
            sock.sendall(request[i:i + 1])
            time.sleep(0.002)
        f = sock.makefile('rb')
        check_eq(read_response_file(f)[2], HELLO, 'byte-at-a-time request')
        # Two requests with the boundary in the middle of a line.
        two = request * 2
        sock.sendall(two[:len(request) + 7])
        time.sleep(0.05)
        sock.sendall(two[len(request) + 7:])
        check_eq(read_response_file(f)[2], HELLO, 'first of two')
        check_eq(read_response_file(f)[2], HELLO, 'second of two')
        sock.close()


# ---------------------------------------------------------------------------------------------------
# Timeouts and limits
# ---------------------------------------------------------------------------------------------------
def wait_closed(sock, limit):
    """True when the server closes `sock` within `limit` seconds (it may send something first)."""
    sock.settimeout(limit)
    end = time.monotonic() + limit
    try:
        while time.monotonic() < end:
            if not sock.recv(65536):
                return True
    except (socket.timeout, TimeoutError):
        return False
    except ConnectionResetError:
        return True
    return False


@test
def slowloris(root):
    with Server(root, '--header-timeout', '1s') as s:
        sock = s.connect()
        start = time.monotonic()
        closed = False
        request = b'GET /hello.txt HTTP/1.1\r\nHost: x\r\n' + b'X-Slow: ' + b'a' * 200
        for i in range(len(request)):
            try:
                sock.sendall(request[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            r, _, _ = select.select([sock], [], [], 0.05)
            if r:
                closed = wait_closed(sock, 1)
                break
            if time.monotonic() - start > 15:
                break
        if not closed:
            closed = wait_closed(sock, 10)
        check(closed, 'a head sent a byte at a time was not cut off')
        check(time.monotonic() - start < 15, 'cut off long after --header-timeout')
        # Others are still served.
        check_eq(get(s, '/hello.txt')[1], HELLO, 'server still answers')


@test
def idle_timeout(root):
    with Server(root, '--idle-timeout', '1s') as s:
        sock = s.connect()
        sock.sendall(b'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n')
        f = sock.makefile('rb')
        check_eq(read_response_file(f)[2], HELLO, 'response')
        check(wait_closed(sock, 15), 'idle keep-alive connection not closed')
    with Server(root, '--header-timeout', '1s') as s:
        sock = s.connect()  # connects and never sends
        check(wait_closed(sock, 15), 'silent new connection not closed')


@test
def idle_timeout_renewed(root):
    # --idle-timeout counts from the last request, not from the first time the connection went idle:
    # a connection asking something every 0.3 s for 3 s outlives a 1 s idle timeout.
    with Server(root, '--idle-timeout', '1s') as s:
        sock = s.connect()
        f = sock.makefile('rb')
        start = time.monotonic()
        while time.monotonic() - start < 3:
            try:
                sock.sendall(b'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n')
                status, _, body = read_response_file(f)
            except OSError as e:
                status, body = None, e
            check(status is not None, f'a busy connection was closed {time.monotonic() - start:.1f} s in ({body})')
            check_eq(body, HELLO, 'response')
            time.sleep(0.3)
        check(wait_closed(sock, 15), 'connection not closed once idle')


def stalled_download(root, s):
    """A connection that asked `s` for a 64 MiB file and reads nothing (a tiny receive buffer)."""
    big = os.path.join(root, 'big.bin')
    with open(big, 'wb') as f:
        f.truncate(64 << 20)
    sock = s.connect()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(b'GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n')
    return sock


@test
def send_timeout(root):
    with Server(root, '--send-timeout', '1s') as s:
        sock = stalled_download(root, s)
        time.sleep(3)  # read nothing for longer than the send timeout
        got = 0
        sock.settimeout(10)
        try:
            while True:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    break
                got += len(chunk)
        except (ConnectionResetError, socket.timeout):
            pass
        check(got < (64 << 20), f'the slow reader got everything ({got} bytes): not cut off')
        check_eq(get(s, '/hello.txt')[1], HELLO, 'server still answers')


@test
def send_timeout_not_renewed_by_input(root):
    # A client that sends bytes but never reads must not keep its response (and the connection) alive:
    # only bytes the server manages to send renew --send-timeout.
    with Server(root, '--send-timeout', '1s') as s:
        sock = stalled_download(root, s)
        start = time.monotonic()
        closed = False
        while not closed and time.monotonic() - start < 10:
            time.sleep(0.2)
            try:
                sock.send(b'G')  # never a complete request: just input the server sees
            except (BrokenPipeError, ConnectionResetError):
                closed = True
        sock.close()
        check(closed, 'a client that sends but never reads was not cut off by --send-timeout 1s in 10 s')


def probe_latencies(s, count=10, limit=5.0):
    """Milliseconds for each of `count` one-shot requests for /hello.txt (limit*1000 when unanswered)."""
    latencies = []
    for _ in range(count):
        start = time.monotonic()
        sock = s.connect(timeout=limit)
        try:
            sock.sendall(b'GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
            sock.recv(1000)
            latencies.append((time.monotonic() - start) * 1000)
        except (socket.timeout, TimeoutError):
            latencies.append(limit * 1000)
        sock.close()
        time.sleep(0.05)
    return latencies


def while_running(work, probe):
    """Run `work(stop)` in a thread while `probe()` runs; return what probe returned."""
    import threading
    stop = threading.Event()
    thread = threading.Thread(target=work, args=(stop,))
    thread.start()
    try:
        time.sleep(0.3)
        return probe()
    finally:
        stop.set()
        thread.join(30)


@test
def pipelining_flood_shares_thread(root):
    # One client pipelining requests as fast as it reads the answers must not keep its thread from the
    # other connections (it used to loop on recv as long as the buffer filled, never back in epoll_wait).
    import threading
    with Server(root, threads=1) as s:
        def flood(stop):
            sock = s.connect()
            requests = b'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n' * 2000

            def drain():
                while not stop.is_set():
                    try:
                        if not sock.recv(1 << 20):
                            break
                    except OSError:
                        break
            reader = threading.Thread(target=drain)
            reader.start()
            while not stop.is_set():
                try:
                    sock.sendall(requests)
                except OSError:
                    break
            sock.shutdown(socket.SHUT_RDWR)
            reader.join(30)
            sock.close()
        latencies = while_running(flood, lambda: probe_latencies(s))
        check(max(latencies) < 2000, f'requests waited behind a pipelining client: {latencies} ms')


@test
def fast_reader_shares_thread(root):
    # One client reading a huge file as fast as the loopback allows must not hold its thread for the
    # whole file (sendfile was asked for 1 GiB at a time and looped until EAGAIN).
    need('curl')
    huge = os.path.join(root, 'huge.bin')
    with open(huge, 'wb') as f:
        f.truncate(8 << 30)
    try:
        with Server(root, threads=1) as s:
            def read_fast(stop):
                # curl, not a Python loop: a reader that keeps up with sendfile (the GIL does not).
                while not stop.is_set():
                    reader = subprocess.Popen(['curl', '-s', '--noproxy', '*', '-o', '/dev/null', s.url('/huge.bin')])
                    while reader.poll() is None and not stop.is_set():
                        time.sleep(0.05)
                    if reader.poll() is None:
                        reader.kill()
                        reader.wait()
            latencies = while_running(read_fast, lambda: probe_latencies(s))
            latencies.sort()
            check(latencies[len(latencies) // 2] < 40 and latencies[-1] < 1000,
                  f'requests waited behind a fast reader of a huge file: {latencies} ms')
    finally:
        os.unlink(huge)


@test
def eof_with_the_request(root):
    # A FIN that arrives with the request's bytes (one epoll edge for both) closes the connection once
    # the response is out, and one that arrives with half a head closes it at once; neither waits for
    # a timeout. SIGSTOP makes the server see data and FIN in one edge.
    with Server(root, '--idle-timeout', '30s', '--header-timeout', '30s', threads=1) as s:
        for data, answered in [(b'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n', True),
                               (b'GET /hello.txt HTTP/1.1\r\nHo', False)]:
            sock = s.connect()
            time.sleep(0.2)  # accepted and waiting
            os.kill(s.proc.pid, signal.SIGSTOP)
            try:
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)
                time.sleep(0.1)
            finally:
                os.kill(s.proc.pid, signal.SIGCONT)
            if answered:
                sock.settimeout(10)
                check_eq(read_response(sock)[2], HELLO, 'response to a request sent with FIN')
            check(wait_closed(sock, 5), f'connection not closed after the client FIN ({data!r})')
            sock.close()


@test
def accept_flood_shares_thread(root):
    # A burst of new connections does not keep the thread from the connections it already has: the
    # thread accepts a bounded number per turn of its loop. SIGSTOP lets 1,000 connections, each with
    # a request, queue up before a request on an existing connection; the access log (one thread: its
    # lines in the order the responses ended) shows where that request was answered.
    log = os.path.join(root, '..', 'flood.log')
    count = 1000
    resource.setrlimit(resource.RLIMIT_NOFILE, (count + 500, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    with Server(root, '--access-log', log, threads=1) as s:
        old = s.connect()
        old.sendall(b'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n')
        check_eq(read_response(old)[2], HELLO, 'the existing connection served')
        os.kill(s.proc.pid, signal.SIGSTOP)
        flood = []
        try:
            for _ in range(count):
                sock = s.connect()
                sock.sendall(b'GET /data.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
                flood.append(sock)
            time.sleep(0.1)
            old.sendall(b'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n')
            time.sleep(0.1)
        finally:
            os.kill(s.proc.pid, signal.SIGCONT)
        check_eq(read_response(old)[2], HELLO, 'the existing connection answered during the flood')
        for sock in flood:
            sock.settimeout(10)
            check_eq(read_response(sock)[0], 200, 'a flood connection answered')
            sock.close()
        check_eq(s.stop(), 0, 'exit status')
    paths = [line.split('"')[1].split()[1] for line in open(log).read().splitlines()]
    check_eq(len(paths), count + 2, 'log lines')
    position = paths.index('/hello.txt', 1)
    check(position < count // 4, f'the existing connection was answered after {position - 1} of {count} new ones')

@test
def max_connections(root):
    with Server(root, '--max-connections', '2', threads=1) as s:
        a, b = s.connect(), s.connect()
        for sock in (a, b):
            sock.sendall(b'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n')
            check_eq(read_response(sock)[2], HELLO, 'first two connections served')
        check_waits_for_slot(s, [a, b])


def check_waits_for_slot(s, held):
    """With the `held` connections open at the limit, one more waits in the backlog until one of them
    closes, then is served. Closes them all."""
    extra = s.connect()  # the kernel completes the handshake; it waits in the backlog
    extra.sendall(b'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n')
    r, _, _ = select.select([extra], [], [], 1.0)
    check(not r, f'connection {len(held) + 1} answered while {len(held)} were open (limit {len(held)})')
    held[0].close()
    extra.settimeout(10)
    check_eq(read_response(extra)[2], HELLO, f'connection {len(held) + 1} served once one closed')
    for sock in held[1:] + [extra]:
        sock.close()


def first_two_cpus():
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise Skip('needs two CPUs')
    return cpus[:2]


def connections_from_cpu(s, cpu, count):
    """Open `count` connections with this thread on `cpu` (their handshakes are processed there) and
    check each is served."""
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        socks = [s.connect() for _ in range(count)]
    finally:
        os.sched_setaffinity(0, saved)
    for sock in socks:
        sock.sendall(b'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n')
        check_eq(read_response(sock)[2], HELLO, 'a steered connection served')
    return socks


def steering_stderr(root, args, cpus, per_cpu):
    """Four rounds, a little over a second apart, each opening `per_cpu` connections from each of
    `cpus`; then the server's stderr (it runs with -v). Every connection is checked served."""
    with Server(root, '-v', *args) as s:
        held = []
        for _ in range(4):
            for cpu in cpus:
                held += connections_from_cpu(s, cpu, per_cpu)
            time.sleep(1.2)
        time.sleep(1.2)
        s.stop()
        for sock in held:
            sock.close()
        return s.proc.stderr.read().decode()


@test
def cpu_steering(root):
    # Connections whose handshakes all arrive on one CPU all go to that CPU's worker; after three
    # looks (a second apart) that found it so, the server gives up steering and says why. With hash
    # spreading, 64 connections in a row on one of two workers would be a 1 in 2^63 event.
    err = steering_stderr(root, [], first_two_cpus()[:1], 64)
    check(re.search(r'worker \d got 64 of the last 64 connections .*spreading them by hash', err),
          f'stderr: {err!r}')


@test
def cpu_steering_balanced(root):
    # Connections from two CPUs go to two workers: steering stays on (no message), every one served.
    err = steering_stderr(root, [], first_two_cpus(), 32)
    check('spreading' not in err, f'stderr: {err!r}')


@test
def no_cpu_steering(root):
    # --no-cpu-steering: the kernel's hash spreads connections from one CPU over both workers.
    err = steering_stderr(root, ['--no-cpu-steering'], first_two_cpus()[:1], 64)
    check('spreading' not in err, f'stderr: {err!r}')


def thread_policies(s):
    return {os.sched_getscheduler(int(tid)) for tid in os.listdir(f'/proc/{s.proc.pid}/task')}


@test
def sched_batch(root):
    # Every thread runs as SCHED_BATCH (a wakeup does not preempt), unless told not to, and a policy
    # the server was started with (here SCHED_IDLE) is left alone.
    with Server(root) as s:
        check_eq(thread_policies(s), {os.SCHED_BATCH}, 'scheduling policies of the threads')
        check_eq(get(s, '/hello.txt')[1], HELLO, 'served')
    with Server(root, '--no-sched-batch') as s:
        check_eq(thread_policies(s), {os.SCHED_OTHER}, 'with --no-sched-batch')
    with Server(root, policy=os.SCHED_IDLE) as s:
        check_eq(thread_policies(s), {os.SCHED_IDLE}, 'started as SCHED_IDLE')


@test
def max_connections_shared(root):
    # --max-connections counts all workers together: three connections steered to one of two
    # workers are all served under a limit of 3 (a per-worker share would have been 2), and a
    # fourth waits until one of them closes.
    cpu, _ = first_two_cpus()
    with Server(root, '--max-connections', '3') as s:
        check_waits_for_slot(s, connections_from_cpu(s, cpu, 3))


@test
def client_resets(root):
    # Clients that vanish mid-response (reset while the file is being sent, or while their pipelined
    # requests are queued) must cost the server nothing but that connection.
    with open(os.path.join(root, 'big.bin'), 'wb') as f:
        f.truncate(32 << 20)
    with Server(root) as s:
        for i in range(20):
            sock = s.connect()
            sock.sendall(b'GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n' +
                         b'GET /data.bin HTTP/1.1\r\nHost: x\r\n\r\n' * (i % 3))
            sock.recv(1000 * i + 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
            sock.close()  # RST
        check(s.proc.poll() is None, 'server died')
        check_eq(get(s, '/data.bin')[1], DATA, 'still serving')
        check_eq(s.stop(), 0, 'exit status')


@test
def fd_exhaustion(root):
    # A hard limit of 48 fds: accept hits EMFILE long before 200 connections; the server must pause
    # accepting (connections wait in the backlog), keep serving, and recover when they close.
    with Server(root, fd_limit=48, threads=1) as s:
        socks = [socket.create_connection(('127.0.0.1', s.port), timeout=10) for _ in range(200)]
        time.sleep(0.5)
        check(s.proc.poll() is None, 'server died at the fd limit')
        for sock in socks:
            sock.close()
        deadline = time.monotonic() + 30
        body = None
        while time.monotonic() < deadline:
            try:
                r, body = get(s, '/hello.txt')
                if r.status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        check_eq(body, HELLO, 'served again after the connections closed')
        check_eq(s.stop(), 0, 'exit status')


# ---------------------------------------------------------------------------------------------------
# Big files, shutdown, signals, log
# ---------------------------------------------------------------------------------------------------
def make_big_file(path, size=100 << 20):
    """A 100 MiB file made fast: sparse, with distinct data at the start, in the middle and at the end."""
    with open(path, 'wb') as f:
        f.truncate(size)
        for offset in (0, size // 2 - 12345, size - 1000000):
            f.seek(offset)
            f.write(os.urandom(1000000))
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


@test
def big_file_sha256(root):
    digest = make_big_file(os.path.join(root, 'big.bin'))
    with Server(root) as s:
        if shutil.which('curl'):
            p = subprocess.run(f'curl -sS --noproxy "*" {s.url("/big.bin")} | sha256sum', shell=True,
                               capture_output=True, timeout=60)
            check_eq(p.stdout.split()[0].decode(), digest, 'sha256 via curl')
        c = s.client(timeout=30)
        c.request('GET', '/big.bin')
        r = c.getresponse()
        h = hashlib.sha256()
        total = 0
        while True:
            block = r.read(1 << 20)
            if not block:
                break
            total += len(block)
            h.update(block)
        check_eq(total, 100 << 20, 'length via http.client')
        check_eq(h.hexdigest(), digest, 'sha256 via http.client')


@test
def graceful_shutdown(root):
    need('curl')
    digest = make_big_file(os.path.join(root, 'big.bin'))
    s = Server(root)
    try:
        idle = s.connect()
        idle.sendall(b'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n')
        check_eq(read_response(idle)[2], HELLO, 'idle connection served first')
        out = os.path.join(root, '..', 'download')
        dl = subprocess.Popen(['curl', '-sS', '--noproxy', '*', '--limit-rate', '25M', '-o', out, s.url('/big.bin')],
                              preexec_fn=die_with_parent,
                              stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (not os.path.exists(out) or os.path.getsize(out) < (1 << 20)):
            time.sleep(0.05)
        check(os.path.getsize(out) < (100 << 20), 'download finished before SIGTERM: test too fast')
        s.proc.send_signal(signal.SIGTERM)
        check(wait_closed(idle, 10), 'idle connection not closed on SIGTERM')
        # New connections are refused once the listening sockets are closed.
        deadline = time.monotonic() + 10
        refused = False
        while time.monotonic() < deadline and not refused:
            try:
                socket.create_connection(('127.0.0.1', s.port), timeout=1).close()
                time.sleep(0.05)
            except OSError:
                refused = True
        check(refused, 'still accepting after SIGTERM')
        check_eq(dl.wait(60), 0, 'curl exit status')
        check_eq(s.proc.wait(30), 0, 'server exit status')
        h = hashlib.sha256(open(out, 'rb').read()).hexdigest()
        check_eq(h, digest, 'the download in flight completed intact')
    finally:
        s.kill()


@test
def graceful_shutdown_behind_upload(root):
    # SIGTERM closes every idle keep-alive connection at once, also those that went idle after a
    # connection still receiving a request body (the same timer list; the walk used to stop there).
    s = Server(root, '--idle-timeout', '30s', '--drain-timeout', '20s', threads=1)
    try:
        upload = s.connect()
        upload.sendall(b'GET /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc')
        time.sleep(0.2)
        idle = s.connect()
        idle.sendall(b'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n')
        check_eq(read_response(idle)[2], HELLO, 'idle connection served first')
        check_eq(read_response(upload)[2], HELLO, 'the upload answered before its body ends')
        s.proc.send_signal(signal.SIGTERM)
        check(wait_closed(idle, 5), 'idle connection not closed on SIGTERM while an upload was in progress')
        upload.sendall(b'x' * 97)  # the body ends: the connection was in flight, now it closes
        check(wait_closed(upload, 10), 'the upload connection not closed after its body')
        check_eq(s.proc.wait(10), 0, 'server exit status')
    finally:
        s.kill()


@test
def drain_behind_yielded_upload(root):
    # A connection that gave up its turn (4 reads per turn) while SIGTERM drains, with a request body
    # ending exactly at the end of that turn and the next request still in the socket: it is in
    # flight, not idle. It was closed with that request unread, so the client got a reset.
    # The SIGTERM waits, with the data, while the server is stopped; after SIGCONT its signal thread
    # races the worker, which may answer before it hears of the drain (keep-alive, then closed as
    # idle: correct, but not the case under test). Such a run is tried again, up to five in all.
    for attempt in range(5):
        if drain_behind_yielded_upload_once(root):
            return
    raise Skip('the worker answered before the drain began in 5 of 5 runs: the case was not reached')


def drain_behind_yielded_upload_once(root):
    s = Server(root, '--drain-timeout', '20s', '--max-body', '0', threads=1)
    try:
        sock = s.connect(timeout=20)
        head_block = 8 * 65536  # two turns of four full 64 KiB reads
        warmup = 64 << 20  # lets the kernel grow the server's receive buffer past head_block
        sock.sendall(b'GET /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n' % (warmup + head_block))
        f = sock.makefile('rb')
        check_eq(read_response_file(f)[2], HELLO, 'the answer before the body')
        chunk = b'x' * (1 << 20)
        for _ in range(warmup // len(chunk)):
            sock.sendall(chunk)
        time.sleep(0.5)  # all of it read and discarded
        os.kill(s.proc.pid, signal.SIGSTOP)
        try:
            s.proc.send_signal(signal.SIGTERM)
            sock.settimeout(3)
            try:
                sock.sendall(b'x' * head_block + b'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n')
            except (socket.timeout, TimeoutError):
                raise Fail('the server socket did not take 512 KiB while stopped: the test cannot run here')
        finally:
            os.kill(s.proc.pid, signal.SIGCONT)
        sock.settimeout(10)
        try:
            status, headers, body = read_response_file(f)
        except OSError as e:
            raise Fail(f'the request behind the body was not answered during the drain ({e!r})')
        check_eq((status, body), (200, HELLO), 'the answer during the drain')
        if headers.get('connection') != 'close':
            check(wait_closed(sock, 10), 'idle connection not closed by the drain')
            check_eq(s.proc.wait(10), 0, 'server exit status')
            return False
        check(wait_closed(sock, 10), 'connection not closed after its answer')
        check_eq(s.proc.wait(10), 0, 'server exit status')
        return True
    finally:
        s.kill()


@test
def request_body_while_response_blocked(root):
    # A client that sends its whole body before reading a large response (as most clients do): the
    # body is read and discarded while the response waits for room, not only after it is out.
    make_big_file(os.path.join(root, 'big.bin'))
    with Server(root, '--send-timeout', '5s', '--max-body', '8m') as s:
        sock = s.connect(timeout=15)
        body = 8 << 20
        sock.sendall(b'GET /big.bin HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n' % body)
        sent, chunk = 0, b'x' * 65536
        try:
            while sent < body:
                sent += sock.send(chunk[:body - sent])
        except (socket.timeout, TimeoutError, OSError) as e:
            raise Fail(f'the body stalled after {sent} of {body} bytes ({e!r})')
        f = sock.makefile('rb')
        status, headers, data = read_response_file(f)
        check_eq((status, len(data)), (200, int(headers['content-length'])), 'the response after the body')
        sock.sendall(b'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n')
        check_eq(read_response_file(f)[2], HELLO, 'the next request on the connection')
        sock.close()

@test
def slow_body_while_response_blocked(root):
    # A body uploaded for longer than --send-timeout while its response waits for the client to read
    # (curl sends all of an upload before reading): the body's bytes are progress on the connection,
    # so the send timeout does not reset it.
    make_big_file(os.path.join(root, 'big.bin'))
    with Server(root, '--send-timeout', '1s') as s:
        sock = s.connect(timeout=15)
        pieces, piece = 60, b'x' * 16384
        sock.sendall(b'GET /big.bin HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n' % (pieces * len(piece)))
        try:
            for _ in range(pieces):  # 3 s
                sock.sendall(piece)
                time.sleep(0.05)
        except OSError as e:
            raise Fail(f'the upload was cut off while its response waited ({e!r})')
        f = sock.makefile('rb')
        status, headers, data = read_response_file(f)
        check_eq((status, len(data)), (200, int(headers['content-length'])), 'the response after the body')
        sock.close()


@test
def half_body_then_eof_while_response_blocked(root):
    # A client that sends part of its declared body, then ends its side (SHUT_WR), then reads: the
    # response already under way is finished, then the connection closes. Reading the body on while
    # the response waited reached the EOF and closed the connection in the middle of the response.
    make_big_file(os.path.join(root, 'big.bin'))
    with Server(root) as s:
        sock = s.connect(timeout=15)
        sock.sendall(b'GET /big.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n' + b'x' * 500)
        time.sleep(0.3)  # the response is under way and waits for the client to read
        sock.shutdown(socket.SHUT_WR)
        time.sleep(0.3)
        f = sock.makefile('rb')
        try:
            status, headers, data = read_response_file(f)
        except OSError as e:
            raise Fail(f'the response was cut off ({e!r})')
        check_eq((status, len(data)), (200, int(headers['content-length'])), 'the whole response')
        check(wait_closed(sock, 5), 'connection not closed after the response')
        sock.close()


def start_slow_download(s, root):
    """A raw client that asks for the 100 MiB file and reads it slowly: a response in flight."""
    make_big_file(os.path.join(root, 'big.bin'))
    sock = s.connect()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.sendall(b'GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n')
    check(sock.recv(65536).startswith(b'HTTP/1.1 200 '), 'download started')
    return sock


@test
def drain_timeout(root):
    with Server(root, '--drain-timeout', '1s') as s:
        sock = start_slow_download(s, root)
        s.proc.send_signal(signal.SIGTERM)
        # Nothing is read, so the response cannot finish: the drain timeout ends it.
        check_eq(s.proc.wait(20), 0, 'exit status after the drain timeout')
        sock.close()


@test
def second_signal_stops_now(root):
    with Server(root, '--drain-timeout', '60s') as s:
        sock = start_slow_download(s, root)
        s.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        check(s.proc.poll() is None, 'exited with a response in flight after one SIGTERM')
        s.proc.send_signal(signal.SIGINT)
        check_eq(s.proc.wait(20), 0, 'exit status after the second signal')
        sock.close()


@test
def sigint_exits_zero(root):
    with Server(root) as s:
        check_eq(get(s, '/hello.txt')[1], HELLO, 'served')
        s.proc.send_signal(signal.SIGINT)
        check_eq(s.proc.wait(20), 0, 'exit status after SIGINT')


@test
def access_log(root):
    log = os.path.join(root, '..', 'access.log')
    with Server(root, '--access-log', log) as s:
        get(s, '/hello.txt')
        missing_body = get(s, '/missing')[1]
        raw(s, b'GET /hello.txt HTTP/1.1\r\nHost: x\r\nX: "quoted"\r\n\r\n', until_close=False)
        check_eq(s.stop(), 0, 'exit status')
    # Each thread buffers its own lines: connections served by different threads may appear in any order.
    lines = sorted(open(log).read().splitlines(), key=lambda line: line.split('"')[1])
    check_eq(len(lines), 3, f'log lines: {lines}')
    clf = re.compile(r'^127\.0\.0\.1 - - \[\d\d/\w\w\w/\d{4}:\d\d:\d\d:\d\d \+0000\] "(.*)" (\d{3}) (\d+|-)$')
    parsed = []
    for line in lines:
        m = clf.match(line)
        check(m, f'not Common Log Format: {line!r}')
        parsed.append(m.groups())
    check_eq(parsed[0], ('GET /hello.txt HTTP/1.1', '200', str(len(HELLO))), 'the file')
    check_eq(parsed[1], ('GET /hello.txt HTTP/1.1', '200', str(len(HELLO))), 'the raw request')
    check_eq(parsed[2][1:], ('404', str(len(missing_body))), 'the missing file')


@test
def access_log_bytes_sent(root):
    log = os.path.join(root, '..', 'access.log')
    with open(os.path.join(root, 'big.bin'), 'wb') as f:
        f.truncate(64 << 20)
    with Server(root, '--access-log', log, '--send-timeout', '1s') as s:
        r, _ = get(s, '/hello.txt', method='HEAD')
        get(s, '/hello.txt', {'If-None-Match': r.getheader('ETag')})
        sock = s.connect()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b'GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n')
        check(wait_closed(sock, 20), 'slow reader not cut off')
        check_eq(s.stop(), 0, 'exit status')
    log_text = open(log).read()
    check_eq(len(log_text.splitlines()), 3, f'log lines: {log_text!r}')
    check('"HEAD /hello.txt HTTP/1.1" 200 -\n' in log_text, f'HEAD: {log_text!r}')
    check('"GET /hello.txt HTTP/1.1" 304 -\n' in log_text, f'304: {log_text!r}')
    m = re.search(r'"GET /big.bin HTTP/1.1" 200 (\d+)$', log_text, re.M)
    check(m and 0 < int(m.group(1)) < (64 << 20), f'cut-off download must log the bytes it got: {log_text!r}')


@test
def access_log_reopen(root):
    log = os.path.join(root, '..', 'access.log')
    with Server(root, '--access-log', log) as s:
        get(s, '/hello.txt')
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (not os.path.exists(log) or os.path.getsize(log) == 0):
            time.sleep(0.1)  # flushed within a second
        check(os.path.getsize(log) > 0, 'log not flushed within a second')
        os.rename(log, log + '.1')
        s.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not os.path.exists(log):
            time.sleep(0.05)
        check(os.path.exists(log), 'SIGHUP did not reopen the log')
        get(s, '/data.bin')
        check_eq(s.stop(), 0, 'exit status')
    old, new = open(log + '.1').read(), open(log).read()
    check('/hello.txt' in old and '/data.bin' not in old, f'old log: {old!r}')
    check('/data.bin' in new and '/hello.txt' not in new, f'new log: {new!r}')


@test
def access_log_stdout(root):
    with Server(root, '--access-log', '-') as s:
        get(s, '/hello.txt')
        check_eq(s.stop(), 0, 'exit status')
        out = s.proc.stdout.read().decode()
    check('"GET /hello.txt HTTP/1.1" 200 13' in out, f'stdout: {out!r}')


# ---------------------------------------------------------------------------------------------------
# Confinement
# ---------------------------------------------------------------------------------------------------
def proc_status(pid, field):
    for line in open(f'/proc/{pid}/status'):
        if line.startswith(field + ':'):
            return line.split()[1:]
    return None


@test
def seccomp(root):
    # LeakSanitizer cannot run under the filter (it needs ptrace), the sandbox is the point here.
    with Server(root, sandbox=True, env={'ASAN_OPTIONS': 'detect_leaks=0'}) as s:
        check_eq(proc_status(s.proc.pid, 'Seccomp'), ['2'], 'Seccomp mode')
        check_eq(proc_status(s.proc.pid, 'NoNewPrivs'), ['1'], 'NoNewPrivs')
        for task in os.listdir(f'/proc/{s.proc.pid}/task'):
            st = open(f'/proc/{s.proc.pid}/task/{task}/status').read()
            check('Seccomp:\t2' in st, f'thread {task} not filtered')
        # Everything still works under the filter: files, listing, ranges, log-less, gzip, 404.
        check_eq(get(s, '/hello.txt')[1], HELLO, 'file')
        check_eq(get(s, '/listed/')[0].status, 200, 'listing')
        check_eq(get(s, '/data.bin', {'Range': 'bytes=0-1,5-6'})[0].status, 206, 'multipart')
        check_eq(get(s, '/style.css', {'Accept-Encoding': 'gzip'})[0].getheader('Content-Encoding'), 'gzip', 'gz')
        check_eq(s.stop(), 0, 'exit status under the filter')
    with Server(root, '--no-sandbox') as s:
        check_eq(proc_status(s.proc.pid, 'Seccomp'), ['0'], 'Seccomp mode with --no-sandbox')


@test
def user_switch(root):
    if os.geteuid() != 0:
        raise Skip('needs root')
    import pwd
    try:
        nobody = pwd.getpwnam('nobody')
    except KeyError:
        raise Skip('no user nobody')
    os.chmod(os.path.dirname(root), 0o755)
    for dirpath, dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
    with Server(root, '--user', 'nobody') as s:
        uids = proc_status(s.proc.pid, 'Uid')
        check_eq(uids, [str(nobody.pw_uid)] * 4, 'all uids')
        check_eq(proc_status(s.proc.pid, 'Groups'), [], 'supplementary groups')
        check_eq(get(s, '/hello.txt')[1], HELLO, 'still serves')
    p = subprocess.run([SYSPRIM, 'serve', '--port', '0', '--root', root, '--user', 'no-such-user-x'],
                       capture_output=True, timeout=20)
    check_eq(p.returncode, 1, 'unknown user')
    # A root only root may read: refused at start, not with a 403 for every request.
    private = os.path.join(root, 'private')
    os.makedirs(private)
    os.chmod(private, 0o700)
    p = subprocess.run([SYSPRIM, 'serve', '--bind', '127.0.0.1', '--port', '0', '--root', private,
                        '--user', 'nobody'], capture_output=True, timeout=20)
    check_eq(p.returncode, 1, 'root unreadable by --user')
    err = p.stderr.decode()
    check(err.count('\n') == 1 and 'cannot serve' in err and 'nobody' in err, f'stderr: {err!r}')


# ---------------------------------------------------------------------------------------------------
# Load: many clients, many idle connections, a browser
# ---------------------------------------------------------------------------------------------------
def raise_fd_limit(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want:
        raise Skip(f'fd hard limit {hard} < {want}')
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


@test
def load_1000_clients(root):
    client = os.environ.get('SERVE_LOAD_CLIENT')
    if not client or not os.path.exists(client):
        raise Skip('SERVE_LOAD_CLIENT not built')
    raise_fd_limit(4096)
    with Server(root) as s:
        p = subprocess.run([client, str(s.port), '1000', '100', '/hello.txt', os.path.join(root, 'hello.txt'),
                            '/data.bin', os.path.join(root, 'data.bin')], capture_output=True, timeout=55)
        check_eq(p.returncode, 0, f'load client: {p.stdout.decode()} {p.stderr.decode()}')
        check(b'100000 responses correct' in p.stdout, p.stdout.decode())


@test
def idle_10000(root):
    raise_fd_limit(20000)
    with Server(root) as s:
        socks = []
        try:
            # Each sends one request and reads its answer, so all are accepted and then sit idle.
            for i in range(10000):
                sock = socket.create_connection(('127.0.0.1', s.port), timeout=10)
                sock.sendall(b'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n')
                sock.setblocking(False)
                socks.append(sock)
            pending = set(range(len(socks)))
            deadline = time.monotonic() + 40
            import selectors
            sel = selectors.DefaultSelector()
            for i, sock in enumerate(socks):
                sel.register(sock, selectors.EVENT_READ, i)
            while pending and time.monotonic() < deadline:
                for key, _ in sel.select(1):
                    data = key.fileobj.recv(4096)
                    check(data.startswith(b'HTTP/1.1 200 '), f'connection {key.data}: {data[:40]!r}')
                    sel.unregister(key.fileobj)
                    pending.discard(key.data)
            check(not pending, f'{len(pending)} of 10000 connections not answered')
            with open(f'/proc/{s.proc.pid}/status') as f:
                rss = [line for line in f if line.startswith('VmRSS')]
            print('server with 10000 idle connections:', rss[0].strip() if rss else '?')
            # A new client is still answered promptly with all of them held open.
            r, body = get(s, '/hello.txt')
            check_eq((r.status, body), (200, HELLO), 'new request with 10000 idle connections')
        finally:
            for sock in socks:
                sock.close()


@test
def chromium(root):
    browser = shutil.which('chromium') or shutil.which('chromium-browser')
    if browser is None:
        raise Skip('needs chromium')
    site = os.path.join(root, 'site')
    os.makedirs(site)
    # A PNG made here: 2x2 pixels, its natural size checked by the page's script after it loads.
    import struct
    import zlib

    def png(w, h):
        raw_rows = b''.join(b'\x00' + b'\xff\x00\x00' * w for _ in range(h))

        def chunk(kind, data):
            return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
        return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) +
                chunk(b'IDAT', zlib.compress(raw_rows)) + chunk(b'IEND', b''))
    with open(os.path.join(site, 'pixel.png'), 'wb') as f:
        f.write(png(3, 2))
    with open(os.path.join(site, 'style.css'), 'w') as f:
        f.write('#box { width: 123px; }\n')
    with open(os.path.join(site, 'app.js'), 'w') as f:
        f.write('''
window.addEventListener('load', function () {
  var img = document.getElementById('img');
  var box = document.getElementById('box');
  var out = document.getElementById('out');
  out.textContent = 'js-ran img=' + img.naturalWidth + 'x' + img.naturalHeight +
                    ' css=' + getComputedStyle(box).width;
  fetch('data.json').then(function (r) { return r.json(); }).then(function (j) {
    var p = document.createElement('p'); p.id = 'fetched'; p.textContent = 'fetched=' + j.value;
    document.body.appendChild(p);
  });
});
''')
    with open(os.path.join(site, 'data.json'), 'w') as f:
        f.write('{"value": 42}\n')
    with open(os.path.join(site, 'index.html'), 'w') as f:
        f.write('<!DOCTYPE html><html><head><link rel="stylesheet" href="style.css">'
                '<script src="app.js"></script></head><body><div id="box">box</div>'
                '<img id="img" src="pixel.png"><p id="out">static</p></body></html>\n')
    profile = os.path.join(root, '..', 'chromium-profile')
    log = os.path.join(root, '..', 'access.log')
    with Server(site, '--access-log', log) as s:
        p = subprocess.run([browser, '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                            '--disable-background-networking', '--disable-component-update', '--no-first-run',
                            '--virtual-time-budget=5000', f'--user-data-dir={profile}', '--dump-dom', s.url('/')],
                           capture_output=True, timeout=50)
        dom = p.stdout.decode(errors='replace')
        check('js-ran img=3x2 css=123px' in dom, f'rendered DOM: {dom!r}; stderr: {p.stderr.decode()[-500:]!r}')
        check('fetched=42' in dom, f'fetch() result missing from the DOM: {dom!r}')
        s.stop()
    served = open(log).read()
    for name in ('/style.css', '/app.js', '/pixel.png', '/data.json'):
        check(f'"GET {name} HTTP/1.1" 200' in served, f'{name} not in the access log: {served!r}')


def main():
    if len(sys.argv) == 2 and sys.argv[1] == '--list':
        print('\n'.join(TESTS))
        return 0
    if len(sys.argv) != 2 or sys.argv[1] not in TESTS:
        print(f'usage: {sys.argv[0]} --list | NAME', file=sys.stderr)
        return 2
    if not SYSPRIM:
        print('SYSPRIM must name the binary under test', file=sys.stderr)
        return 2
    def interrupted(signum, frame):
        raise Fail(f'interrupted by signal {signum} (a hung test; the time limit is 58 s)')
    # A hung test fails (and its cleanup runs) instead of hanging the suite.
    signal.signal(signal.SIGALRM, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    signal.alarm(58)
    base = tempfile.mkdtemp(prefix='sysprim-serve-')
    try:
        root = make_root(base)
        TESTS[sys.argv[1]](root)
        print(f'PASS: {sys.argv[1]}')
        return 0
    except Skip as e:
        print(f'SKIP: {sys.argv[1]}: {e}')
        return 77
    except Fail as e:
        print(f'FAIL: {sys.argv[1]}: {e}')
        return 1
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
