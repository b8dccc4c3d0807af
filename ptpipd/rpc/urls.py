"""Where the HTTP data plane (DESIGN.md §8) serves what a JSON-RPC result names, and the inline limit.

URLs are paths on the data plane (``/files/12``), not absolute: the daemon cannot know which of its
addresses (the Unix socket, loopback TCP, a tunnel) the client reaches it through. Prefix them with the HTTP
address (``http://127.0.0.1:15780``; ``ptpipctl url`` prints it).
"""

from __future__ import annotations

from pathlib import PurePath

#: The largest object ``capture``/``download`` return inline (base64 in ``data``): 8 MiB, about 11 MB of
#: JSON. Larger ones are refused with -32602 naming their URL: fetch them over HTTP, streamed.
INLINE_LIMIT = 8 << 20


def object_url(handle: int) -> str:
    """A camera object: ``GET /files/{handle}`` (Range, ETag; streamed from the camera)."""
    return f"/files/{handle}"


def transfer_url(handle: int | None, path: str | None = None) -> str | None:
    """Where the data plane serves what the camera sent: its object (``handle``), else the file the daemon
    saved in its capture directory (``path``, a capture preview): ``GET /captures/{name}``; None for
    neither."""
    if handle is not None:
        return object_url(handle)
    return f"/captures/{PurePath(path).name}" if path else None
