#!/usr/bin/python3
# A slow filesystem for the tests: passes a directory through, read-only, and sleeps a fixed delay
# in every getattr, open and read, as a cold disk or a network filesystem would make a server wait.
# Usage: slowfs.py SOURCE_DIR MOUNTPOINT DELAY_MS  (stays in the foreground; unmount with
# `fusermount -u MOUNTPOINT`, or end it with SIGTERM, which unmounts).
import errno
import os
import sys
import time

import fuse

fuse.fuse_python_api = (0, 2)


class SlowFs(fuse.Fuse):
    def __init__(self, source, delay, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.source = source
        self.delay = delay

    def real(self, path):
        return os.path.join(self.source, path.lstrip("/"))

    def wait(self):
        if self.delay > 0:
            time.sleep(self.delay)

    def getattr(self, path):
        self.wait()
        try:
            return os.lstat(self.real(path))
        except OSError as e:
            return -e.errno

    def readdir(self, path, offset):
        for name in [".", ".."] + os.listdir(self.real(path)):
            yield fuse.Direntry(name)

    def readlink(self, path):
        return os.readlink(self.real(path))

    def open(self, path, flags):
        self.wait()
        if flags & (os.O_WRONLY | os.O_RDWR):
            return -errno.EROFS
        try:
            os.close(os.open(self.real(path), flags))
        except OSError as e:
            return -e.errno
        return 0

    def read(self, path, size, offset):
        self.wait()
        try:
            with open(self.real(path), "rb") as f:
                f.seek(offset)
                return f.read(size)
        except OSError as e:
            return -e.errno


def main():
    if len(sys.argv) != 4:
        sys.stderr.write("usage: slowfs.py SOURCE_DIR MOUNTPOINT DELAY_MS\n")
        return 2
    source, mountpoint, delay_ms = sys.argv[1], sys.argv[2], int(sys.argv[3])
    # Foreground, multithreaded (operations on different files wait in parallel, as on a disk with
    # a queue); allow_other so that workers running as an unprivileged user can read it.
    server = SlowFs(os.path.abspath(source), delay_ms / 1000.0, dash_s_do="setsingle",
                    usage="slowfs")
    server.multithreaded = True
    server.parse([mountpoint, "-f", "-o", "allow_other,ro,fsname=slowfs"], errex=1)
    server.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
