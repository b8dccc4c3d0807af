"""``bench/bare_ingest.py``, the floor of ``bench/ingest.py``, on the simulated body.

It is one more initiator that imports nothing from ptpipd (struct and sockets, PTPIP.md's layouts): the
pictures it stores must be the simulator's, byte for byte, as the simulator's own log gives their SHA-256.
This also keeps the benchmark's floor from rotting unseen.
"""

from __future__ import annotations

import hashlib
import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.procs import REPO, read_line_until, running_sim

PICTURE = re.compile(r"new picture (\S+) \(card\): (\d+) bytes, sha256 ([0-9a-f]{64})")


def test_the_bare_initiator_stores_each_picture_the_body_takes(tmp_path: Path) -> None:
    out, log = tmp_path / "out", tmp_path / "hook.log"
    out.mkdir()
    with running_sim("generic", "--battery-interval", "0") as sim:
        command = [sys.executable, str(REPO / "bench" / "bare_ingest.py"), "--port", str(sim.port)]
        command += ["--dir", str(out), "--hook-log", str(log)]
        bare = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            read_line_until(bare, re.compile(r"^ready$"), 30)
            stored = []
            for _ in range(3):
                sim.proc.send_signal(signal.SIGUSR1)
                stored.append(read_line_until(bare, re.compile(r"^stored (\S+)$"), 30)[1])
        finally:
            bare.kill()
            bare.wait()
            assert bare.stdout is not None
            bare.stdout.close()
        taken = {name: (int(size), sha) for name, size, sha in PICTURE.findall(sim.stderr_text())}
    assert len(set(stored)) == 3 and set(stored) <= set(taken), (stored, taken)
    for name in stored:
        data = (out / name).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == taken[name], name
    assert sorted(p.name for p in out.iterdir()) == sorted(stored)  # no temporary file left
    assert [line.split()[1] for line in log.read_text().splitlines()] == stored
