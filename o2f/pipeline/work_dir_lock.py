"""One training per work dir: a lock file naming the holder (pid, host, start time).

The lock is an ``flock`` on ``<work dir>/o2f.lock``, which the kernel (or the NFS lock manager) drops
when the holder dies, so a lock left by a killed job is never stale. On file systems without
``flock`` (some Lustre mounts) the file's content decides: a holder on this host whose pid is gone
is stale and replaced; a holder on another host stops us, with the file to remove if it is stale.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import time
from pathlib import Path

from ..errors import O2FError

LOCK_FILE = "o2f.lock"
NO_FLOCK = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}


def holder_record() -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def read_holder(path: Path) -> dict:
    try:
        return json.loads(path.read_text() or "{}")
    except (OSError, json.JSONDecodeError):
        return {}


def pid_alive(pid: int) -> bool:
    """Whether a process of this host runs; a zombie (ended, not yet reaped by its parent) counts as ended.
    A pid below 1 names no process, so nothing is known to have ended: alive."""
    if pid < 1:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # ended since os.kill; or no /proc here: os.kill's answer
    except (OSError, IndexError):
        return True


class WorkDirLock:
    """Hold the work dir for this process (and the children it passes ``fd`` to)."""

    def __init__(self, work_dir: str | Path) -> None:
        self.path = Path(work_dir) / LOCK_FILE
        self.fd: int | None = None
        self.by_content = False

    def busy(self, holder: dict) -> O2FError:
        who = f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')} since {holder.get('started', '?')}"
        return O2FError(f"work dir {self.path.parent} is in use by another training ({who}); wait for it to end "
                        f"or stop it, or choose another --work-dir")

    def acquire(self) -> WorkDirLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise self.busy(read_holder(self.path)) from None
        except OSError as err:
            os.close(fd)
            if err.errno not in NO_FLOCK:
                raise
            return self.acquire_by_content()
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(holder_record()).encode())
        os.fsync(fd)
        self.fd = fd
        return self

    def acquire_by_content(self) -> WorkDirLock:
        """Without flock: an exclusive create, after removing a lock whose holder on this host is gone."""
        holder = read_holder(self.path)
        if holder:
            same_host = holder.get("host") == socket.gethostname()
            if not same_host or pid_alive(int(holder.get("pid", 0))):
                err = self.busy(holder)
                if not same_host:
                    err = O2FError(f"{err}; if that training is gone, delete {self.path}")
                raise err
            self.path.unlink(missing_ok=True)  # stale: its holder died on this host
        elif self.path.exists():
            self.path.unlink()  # an empty file: a holder that died while writing it
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise self.busy(read_holder(self.path)) from None
        os.write(fd, json.dumps(holder_record()).encode())
        os.close(fd)
        self.by_content = True
        return self

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
        if self.by_content:
            self.path.unlink(missing_ok=True)
            self.by_content = False

    def __enter__(self) -> WorkDirLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
