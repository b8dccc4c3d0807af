"""Micro-benchmark of ptpipd.sim.jpeg: live-view frames and photos per second.

Run with ``.venv/bin/python bench/jpeg_frames.py``. It only prints; it never fails on a time.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ptpipd.sim.jpeg import counter_frame, photo


def per_call(function: Callable[[int], object], repeat: int) -> float:
    """Best of three runs of ``repeat`` calls, in seconds per call."""
    best = float("inf")
    for run in range(3):
        start = time.perf_counter()
        for i in range(repeat):
            function(run * repeat + i)
        best = min(best, (time.perf_counter() - start) / repeat)
    return best


def main() -> None:
    start = time.perf_counter()
    counter_frame(0)
    first = time.perf_counter() - start

    baseline = per_call(lambda _: bytes(640 * 480), 2000)
    frame = per_call(counter_frame, 2000)
    sizes = [len(counter_frame(n)) for n in (0, 1, 123456, 999999)]
    print(f"counter_frame 640x480: first call {first * 1e3:.1f} ms (builds the caches)")
    print(
        f"counter_frame 640x480: {frame * 1e6:.1f} µs/frame, {1 / frame:.0f} frames/s, "
        f"{min(sizes)}..{max(sizes)} bytes"
    )
    print(f"bytes(640*480):        {baseline * 1e6:.1f} µs; counter_frame costs {frame / baseline:.1f}× that")

    start = time.perf_counter()
    cold = photo(1000, "IMG_1000.JPG", target_size=80_000)
    cold_time = time.perf_counter() - start
    warm = per_call(lambda n: photo(n % 4, f"IMG_{n % 4:04d}.JPG", target_size=80_000), 8)
    plain = per_call(lambda n: photo(n % 4, f"DSCF{n % 4:04d}.JPG"), 8)
    print(f"photo 640x480 target 80000: first seed {cold_time * 1e3:.1f} ms ({len(cold)} bytes)")
    print(f"photo 640x480 target 80000: {warm * 1e6:.0f} µs/photo once the seed's blocks are cached")
    print(f"photo 640x480 no target:    {plain * 1e6:.0f} µs/photo once the seed's blocks are cached")


if __name__ == "__main__":
    main()
