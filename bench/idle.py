#!/usr/bin/env python3
"""idle.py HOST PORT N HOLD_SECONDS

Opens N keep-alive connections to HOST:PORT (loopback only), sends one
`GET /index.html` on each and reads the whole response, then keeps them all
open and idle. Prints "READY <open> <failed>" once every connection has been
tried, and exits after HOLD_SECONDS or on SIGTERM. Source addresses rotate
over 127.0.1.1-127.0.1.64 so ephemeral ports never run out.
"""
import ipaddress
import resource
import signal
import socket
import sys
import time

IP_BIND_ADDRESS_NO_PORT = 24
BATCH = 256


def raise_fd_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def read_response(sock):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("closed before the response head")
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 200"):
        raise OSError("status is not 200")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("closed in the body")
        body += chunk


def connect_and_send(host, port, index, request):
    sock = socket.socket()
    try:
        sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        sock.bind(("127.0.1.%d" % (1 + index % 64), 0))
        sock.settimeout(10)
        sock.connect((host, port))
        sock.sendall(request)
        return sock
    except OSError:
        sock.close()
        return None


def open_batch(host, port, first, count, request):
    """Sends all requests of a batch before reading any response, so the server works on them
    in parallel; batches stay well below the listen backlog."""
    sent = [connect_and_send(host, port, first + i, request) for i in range(count)]
    held = []
    for sock in sent:
        if sock is None:
            continue
        try:
            read_response(sock)
            held.append(sock)
        except (OSError, ValueError):
            sock.close()
    return held


def main():
    host, port, count, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit("idle.py: host must be a loopback address")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    deadline = time.monotonic() + hold
    limit = raise_fd_limit(count + 64)
    request = ("GET /index.html HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (host, port)).encode()
    held = []
    for first in range(0, count, BATCH):
        batch = min(BATCH, count - first, limit - len(held) - 16)
        if batch <= 0 or time.monotonic() >= deadline:
            break
        held += open_batch(host, port, first, batch, request)
    print("READY %d %d" % (len(held), count - len(held)), flush=True)
    while time.monotonic() < deadline:
        time.sleep(0.2)


if __name__ == "__main__":
    main()
