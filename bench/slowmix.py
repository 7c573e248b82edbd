#!/usr/bin/env python3
# slowmix.py - the slow-disk mix of bench.sh (case s): N clients download one cold file each
# (HTTP/1.1, one connection per file) while a keep-alive client asks for a hot file every GAP ms
# until they are all done. Prints one line:
#   hot_n N hot_worst_ms X hot_p99_ms Y cold_ok K cold_bytes B cold_wall_ms W cold_MiB/s M
# Usage: slowmix.py HOST PORT HOT_PATH GAP_MS TIMEOUT_S COLD_PATH... (exit 1 if anything failed)
import socket
import sys
import threading
import time


def read_response(sock, buf):
    """One response from sock (Content-Length framing), buf holding what was read before it.
    Returns (status, body length, bytes read past the body)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("connection closed before the head")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    got, tail = len(body), body
    while got < length:
        tail = sock.recv(1 << 20)
        if not tail:
            raise OSError("connection closed in the body")
        got += len(tail)
    return status, length, tail[len(tail) - (got - length):] if got > length else b""


def request(path, host, close):
    conn = "close" if close else "keep-alive"
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: {conn}\r\n\r\n".encode()


def main():
    if len(sys.argv) < 7:
        sys.stderr.write(__doc__ or "usage: slowmix.py HOST PORT HOT GAP_MS TIMEOUT_S COLD...\n")
        return 2
    host, port, hot, gap, limit = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
        float(sys.argv[4]) / 1000, float(sys.argv[5])
    cold = sys.argv[6:]
    results = [None] * len(cold)
    errors = []

    def download(i):
        try:
            with socket.create_connection((host, port), timeout=limit) as s:
                s.sendall(request(cold[i], host, True))
                status, length, _ = read_response(s, b"")
                results[i] = length if status == 200 else None
                if status != 200:
                    errors.append(f"{cold[i]}: HTTP {status}")
        except OSError as e:
            errors.append(f"{cold[i]}: {e}")

    hs = socket.create_connection((host, port), timeout=limit)
    hs.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rest = b""
    for _ in range(3):  # warm: the hot file is cached before the cold clients start
        hs.sendall(request(hot, host, False))
        status, _, rest = read_response(hs, rest)
        if status != 200:
            print(f"hot file: HTTP {status}")
            return 1
    start = time.monotonic()
    threads = [threading.Thread(target=download, args=(i,)) for i in range(len(cold))]
    for t in threads:
        t.start()
    lat = []
    while any(t.is_alive() for t in threads) and time.monotonic() - start < limit:
        t0 = time.monotonic()
        hs.sendall(request(hot, host, False))
        status, _, rest = read_response(hs, rest)
        lat.append((time.monotonic() - t0) * 1000)
        if status != 200:
            errors.append(f"hot file: HTTP {status}")
            break
        time.sleep(gap)
    for t in threads:
        t.join(max(0.0, limit - (time.monotonic() - start)))
    wall = time.monotonic() - start
    hs.close()
    done = [r for r in results if r is not None]
    lat.sort()
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else -1
    worst = lat[-1] if lat else -1
    nbytes = sum(done)
    print(f"hot_n {len(lat)} hot_worst_ms {worst:.1f} hot_p99_ms {p99:.1f} cold_ok {len(done)} "
          f"cold_bytes {nbytes} cold_wall_ms {wall * 1000:.0f} cold_MiB/s {nbytes / 1048576 / wall:.2f}")
    for e in errors[:3]:
        sys.stderr.write(f"slowmix: {e}\n")
    return 0 if len(done) == len(cold) and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
