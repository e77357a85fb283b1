"""A one-node Slurm cluster on this machine, to try the slurm profile (and for the test suite).

    python tests/slurm_local.py start [--dir DIR]   # prints the `export SLURM_CONF=...` to use
    python tests/slurm_local.py stop  [--dir DIR]

Needs Debian's ``slurm-wlm`` and ``munge`` packages and root; no systemd. munged (unless one already
answers on munge's default socket), slurmctld and slurmd are started by hand, their pid files, logs
and state under DIR with a minimal ``slurm.conf``: one node with this machine's cores and memory
(``slurmd -C``), one partition, ``DefMemPerCPU`` so jobs share the node, no accounting. ``stop``
cancels what still runs and ends the daemons by their pid files.

slurmd runs "configless": it fetches ``slurm.conf`` from slurmctld and caches it where Slurm's
commands on a node look (``/run/slurm/conf``). Snakemake's job step starts each job with ``srun`` in
an environment stripped of ``SLURM_*`` variables (``SLURM_CONF`` too), so that ``srun`` finds its
configuration the way it does on a configless cluster. One such cluster per machine at a time.
"""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from o2f.errors import O2FError, run_reporting_errors
from o2f.pipeline.work_dir_lock import pid_alive

TOOLS = ("munged", "munge", "slurmctld", "slurmd", "sbatch", "srun", "squeue", "sinfo", "scancel")
PACKAGES = "slurm-wlm munge"
PARTITION = "local"
DEFAULT_DIR = Path("/tmp/o2f-slurm")
DAEMONS = ("slurmd", "slurmctld", "munged")  # the order they stop in
MUNGE_SOCKET = Path("/run/munge/munge.socket.2")  # where Slurm's auth/munge looks by default
MUNGE_KEY = Path("/etc/munge/munge.key")  # created by Debian's munge package
NODE_CONF_CACHE = Path("/run/slurm/conf")  # configless slurmd's cache, read by commands on the node


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_hardware() -> dict[str, str]:
    """This machine as slurmd sees it: NodeName, CPUs, Boards, sockets, cores, threads, RealMemory."""
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout
    fields = dict(item.split("=", 1) for item in out.split() if "=" in item)
    fields.pop("UpTime", None)
    return fields


def munge_answers() -> bool:
    """Whether a munged answers on the default socket (encode and decode a credential)."""
    if not MUNGE_SOCKET.exists():
        return False
    try:
        cred = subprocess.run(["munge", "-n"], capture_output=True, timeout=10, check=True).stdout
        subprocess.run(["unmunge"], input=cred, capture_output=True, timeout=10, check=True)
    except (subprocess.SubprocessError, OSError):
        return False
    return True


def slurmd_runs(proc: Path = Path("/proc")) -> bool:
    """Whether a slurmd process (not a zombie) runs on this machine, read from ``proc``."""
    for stat in proc.glob("[0-9]*/stat"):
        try:
            name, _, rest = stat.read_text().partition("(")[2].rpartition(")")
        except OSError:
            continue  # ended while we read
        if name == "slurmd" and rest.split()[:1] != ["Z"]:
            return True
    return False


def clear_stale_node_cache(link: Path = NODE_CONF_CACHE, proc: Path = Path("/proc")) -> None:
    """Remove the node's configuration cache link when no slurmd runs to keep it: a cluster killed
    without ``stop`` leaves it, pointing at its spool (gone, or still on disk)."""
    if link.is_symlink() and not (link.exists() and slurmd_runs(proc)):
        link.unlink()


class LocalSlurm:
    """munged + slurmctld + slurmd for one node; its own files under ``root``."""

    def __init__(self, root: str | Path = DEFAULT_DIR) -> None:
        self.root = Path(root).resolve()
        self.conf = self.root / "slurm.conf"

    def pid_file(self, daemon: str) -> Path:
        return self.root / f"{daemon}.pid"

    def log_file(self, daemon: str) -> Path:
        return self.root / "log" / f"{daemon}.log"

    def env(self) -> dict[str, str]:
        """The environment for client commands (sbatch, squeue, snakemake): SLURM_CONF set."""
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    # --- start -------------------------------------------------------------------------------
    def write_conf(self, port: int) -> None:
        hw = node_hardware()
        node = hw.pop("NodeName")
        cpus, memory = int(hw["CPUs"]), int(hw["RealMemory"])
        user = getpass.getuser()
        hardware = " ".join(f"{key}={value}" for key, value in hw.items())
        self.conf.write_text(f"""\
# One-node cluster written by tests/slurm_local.py (python tests/slurm_local.py start|stop).
ClusterName=o2f-local
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={port}
SlurmdPort={free_port()}
SlurmUser={user}
SlurmdUser={user}
AuthType=auth/munge
CredType=cred/munge
SlurmctldParameters=enable_configless
StateSaveLocation={self.root / "state"}
SlurmdSpoolDir={self.root / "spool"}
SlurmctldPidFile={self.pid_file("slurmctld")}
SlurmdPidFile={self.pid_file("slurmd")}
SlurmctldLogFile={self.log_file("slurmctld")}
SlurmdLogFile={self.log_file("slurmd")}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
# finished jobs stay visible to `squeue --states=all` (the profile's status command) for 10 minutes
MinJobAge=600
NodeName={node} NodeAddr=127.0.0.1 {hardware} State=UNKNOWN
PartitionName={PARTITION} Nodes={node} Default=YES MaxTime=INFINITE State=UP DefMemPerCPU={memory // cpus}
""")

    def start(self, timeout: float = 60) -> LocalSlurm:
        missing = missing_tools()
        if missing:
            raise O2FError(f"{', '.join(missing)} not found; install Debian's {PACKAGES} "
                           f"(apt-get install -y {PACKAGES})")
        if any(self.running(d) for d in DAEMONS):
            raise O2FError(f"a local Slurm cluster already runs from {self.root}; stop it first")
        clear_stale_node_cache()
        if NODE_CONF_CACHE.exists():
            raise O2FError(f"another Slurm node runs on this machine ({NODE_CONF_CACHE} -> "
                           f"{os.path.realpath(NODE_CONF_CACHE)}); stop it first (python tests/slurm_local.py stop "
                           f"--dir DIR for one started here)")
        for sub in ("state", "spool", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.write_conf(port)
        try:
            if not munge_answers():
                self.start_munged()
            self._daemon("slurmctld", ["slurmctld", "-c", "-f", str(self.conf)])
            self._daemon("slurmd", ["slurmd", "--conf-server", f"127.0.0.1:{port}"])
            self._wait_idle(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def start_munged(self) -> None:
        """munged on the default socket, with the package's key (or one made here)."""
        key = MUNGE_KEY
        if not key.exists():
            key = self.root / "munge.key"
            key.write_bytes(os.urandom(128))
            key.chmod(0o600)
        MUNGE_SOCKET.parent.mkdir(parents=True, exist_ok=True)
        MUNGE_SOCKET.parent.chmod(0o755)
        self._daemon("munged", ["munged", f"--key-file={key}", f"--socket={MUNGE_SOCKET}",
                                f"--pid-file={self.pid_file('munged')}", f"--log-file={self.log_file('munged')}",
                                f"--seed-file={self.root / 'munged.seed'}", "--force"])

    def _daemon(self, name: str, cmd: list[str]) -> None:
        done = subprocess.run(cmd, env=self.env(), capture_output=True, text=True)
        deadline = time.monotonic() + 15
        while done.returncode == 0 and not self.running(name) and time.monotonic() < deadline:
            time.sleep(0.05)
        if done.returncode != 0 or not self.running(name):
            said = " ".join((done.stderr or done.stdout).split())[-300:]
            raise O2FError(f"{name} did not start ({said}); see {self.log_file(name)}")

    def _wait_idle(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            state = self.run("sinfo", "--noheader", "--format=%T", check=False).stdout.strip()
            if state == "idle" and (NODE_CONF_CACHE / "slurm.conf").exists():
                return
            time.sleep(0.1)
        raise O2FError(f"the Slurm node did not become idle in {timeout:.0f} s (state '{state}'); "
                       f"see {self.root / 'log'}")

    # --- use ---------------------------------------------------------------------------------
    def run(self, *cmd: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
        """A Slurm client command against this cluster (``env``: instead of this process's environment)."""
        return subprocess.run(cmd, env={**(env or os.environ), "SLURM_CONF": str(self.conf)}, capture_output=True,
                              text=True, check=check)

    def jobs(self) -> dict[str, tuple[str, str]]:
        """Every job slurmctld still knows, finished ones included: {job id: (name, state)}."""
        out = self.run("squeue", "--states=all", "--noheader", "--format=%i|%j|%T").stdout
        return {job: (name, state) for job, name, state in (line.split("|") for line in out.splitlines())}

    # --- stop --------------------------------------------------------------------------------
    def pid(self, daemon: str) -> int | None:
        try:
            return int(self.pid_file(daemon).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def running(self, daemon: str) -> bool:
        pid = self.pid(daemon)
        return pid is not None and pid_alive(pid)

    def stop(self, timeout: float = 20) -> None:
        """Cancel the jobs still queued or running, then end slurmd, slurmctld and munged (if it
        was started here) by their pid files."""
        if self.running("slurmctld"):
            active = self.run("squeue", "--noheader", "--format=%i", check=False).stdout.split()
            if active:
                self.run("scancel", *active, check=False)
        for daemon in DAEMONS:
            pid = self.pid(daemon)
            if pid is not None and pid_alive(pid):
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + timeout
                while pid_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
                if pid_alive(pid):
                    os.kill(pid, signal.SIGKILL)
            self.pid_file(daemon).unlink(missing_ok=True)
        # the node's configuration cache points into this cluster's spool directory
        if NODE_CONF_CACHE.is_symlink() and str(os.readlink(NODE_CONF_CACHE)).startswith(str(self.root)):
            NODE_CONF_CACHE.unlink()

    def __enter__(self) -> LocalSlurm:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tests/slurm_local.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--dir", default=str(DEFAULT_DIR), help=f"where its files live (default {DEFAULT_DIR})")
    args = parser.parse_args(argv)
    cluster = LocalSlurm(args.dir)

    def act() -> None:
        if args.action == "start":
            cluster.start()
            print(f"Slurm runs here: one node, partition '{PARTITION}'. For sbatch, squeue and snakemake:\n"
                  f"  export SLURM_CONF={cluster.conf}\n"
                  f"Stop it with: python tests/slurm_local.py stop --dir {cluster.root}")
        else:
            cluster.stop()
            print(f"Slurm daemons of {cluster.root} stopped")

    return run_reporting_errors(act)


if __name__ == "__main__":
    sys.exit(main())
