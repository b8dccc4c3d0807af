"""Files over HTTP: streamed downloads (curl, the 1 GiB object, memory), Range and resume, ETag, HEAD, the
files list, thumbnails, captures, and what a client that goes away mid-transfer leaves behind (nothing)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import json
import signal
import subprocess
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from ptpipd.sim import bigobject
from tests.daemon.conftest import wait_until
from tests.procs import start_sim
from tests.rpcclient import RpcConnection
from tests.web.conftest import GIB, Web, raw_request, running_web

CURL = "curl"


def vm_hwm_kib(pid: int) -> int:
    """Peak resident set size (VmHWM) of a process, KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def test_1gib_through_curl_sha_and_daemon_memory(big_web: Web, tmp_path: Path) -> None:
    """The 1 GiB object through curl: every byte right (SHA-256 of the simulator's published formula), and
    the daemon's peak RSS stays under 64 MB (it never holds more than a piece or two)."""
    out = tmp_path / "big.bin"
    done = subprocess.run(
        [CURL, "-sS", "-f", "-o", str(out), "-D", str(tmp_path / "headers"), big_web.url("/files/6")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    headers = (tmp_path / "headers").read_text().lower()
    assert "content-length: 1073741824" in headers
    assert 'filename="big00001.bin"' in headers
    assert out.stat().st_size == GIB
    assert sha256_file(out) == bigobject.sha256(GIB)
    peak = vm_hwm_kib(big_web.daemon.pid)
    assert peak <= 64 * 1000, f"daemon peak RSS {peak} KiB after a 1 GiB download"


def test_resume_after_a_kill_gives_the_same_bytes(big_web: Web, tmp_path: Path) -> None:
    """curl killed at about half of the 1 GiB object, then ``curl -C -`` continues with a Range: the file is
    the object (SHA-256), and the daemon keeps serving (the session stayed usable)."""
    out = tmp_path / "resumed.bin"
    first = subprocess.Popen(
        [CURL, "-sS", "--limit-rate", "400M", "-o", str(out), big_web.url("/files/6")],
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: out.exists() and out.stat().st_size >= GIB * 45 // 100, 60, "half the object")
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(10)
        assert first.stderr is not None
        first.stderr.close()
    partial = out.stat().st_size
    assert 0 < partial < GIB, partial
    assert big_web.daemon.call("get", ["iso"])["property"] == "iso"  # the camera still answers
    done = subprocess.run(
        [CURL, "-sS", "-f", "-C", "-", "-o", str(out), "-D", str(tmp_path / "h"), big_web.url("/files/6")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    head = (tmp_path / "h").read_text()
    assert head.startswith("HTTP/1.1 206"), head
    assert f"Content-Range: bytes {partial}-{GIB - 1}/{GIB}" in head
    assert sha256_file(out) == bigobject.sha256(GIB)


def test_other_clients_run_between_pieces(big_web: Web, tmp_path: Path) -> None:
    """While a slow 1 GiB download runs, ``get iso`` from another client is answered before it ends."""
    slow = subprocess.Popen(
        [CURL, "-sS", "--limit-rate", "100M", "-o", str(tmp_path / "slow.bin"), big_web.url("/files/6")],
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: (tmp_path / "slow.bin").exists(), 30, "the download to start")
        for _ in range(5):
            assert big_web.daemon.call("get", ["iso"])["property"] == "iso"
        assert slow.poll() is None, "the download had already ended: nothing was shown"
    finally:
        slow.kill()
        slow.wait(10)
        assert slow.stderr is not None
        slow.stderr.close()


def test_inline_over_the_limit_names_the_url(big_web: Web) -> None:
    """``download {inline: true}`` of the 1 GiB object is refused before any byte moves (the size the
    camera announces), with -32602 naming the URL to stream it from instead."""
    with RpcConnection(str(big_web.daemon.socket_path)) as conn:
        answer = conn.request("download", {"handle": 6, "inline": True}, timeout=10)
    error = answer["error"]
    assert error["code"] == -32602 and "/files/6" in error["message"], error
    assert error["data"] == {"size": GIB, "limit": 8 << 20, "url": "/files/6"}
    small = big_web.daemon.call("download", {"handle": 3, "inline": True})
    assert small["url"] == "/files/3" and small["size"] == len(base64.b64decode(small["data"]))


def test_client_gone_mid_transfer_leaves_the_session_usable(big_web: Web) -> None:
    sock = raw_request(big_web.host, big_web.port, b"GET /files/6 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    received = 0
    while received < 8 << 20:
        chunk = sock.recv(1 << 20)
        assert chunk
        received += len(chunk)
    sock.close()
    assert big_web.daemon.call("get", ["iso"])["property"] == "iso"
    status, _, body = big_web.request("GET", "/files/3")
    assert status == 200
    Image.open(io.BytesIO(body)).verify()
    assert big_web.daemon.call("status")["state"] == "connected"


def descriptors(pid: int) -> list[str]:
    """What the process's descriptors point to (``pipe:[…]``, ``socket:[…]``, files), sorted."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            found.append(fd.readlink().as_posix().split(":")[0])
    return sorted(found)


def range_request(web: Web, first: int, last: int) -> bytes:
    """``first``…``last`` of the 1 GiB object, on a connection closed right after."""
    headers = {"Range": f"bytes={first}-{last}", "Connection": "close"}
    status, _, body = web.request("GET", "/files/6", headers=headers)
    assert status == 206
    return body


def test_downloads_dropped_mid_splice_leave_no_descriptor_behind(big_web: Web) -> None:
    """The daemon splices the object's pieces camera → pipe → client (Linux): clients that drop in the middle
    of it leave no pipe, duplicated socket or connection behind, and the next download is whole."""
    pid = big_web.daemon.pid
    first = range_request(big_web, 0, (8 << 20) - 1)  # the camera link's pipe exists from now on
    assert first[: 1 << 20] == bigobject.block(0)
    settled = Counter(descriptors(pid))
    stopped = "download of object 6 to"
    for n in range(3):
        before = big_web.daemon.stderr_text().count(stopped)
        sock = raw_request(big_web.host, big_web.port, b"GET /files/6 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        received = 0
        while received < (6 + n) << 20:  # somewhere in the second piece or later
            chunk = sock.recv(1 << 20)
            assert chunk
            received += len(chunk)
        sock.close()
        wait_until(
            lambda b=before: big_web.daemon.stderr_text().count(stopped) > b, 30, "the download to stop"
        )
    assert big_web.daemon.call("get", ["iso"])["property"] == "iso"
    assert range_request(big_web, 3 << 20, (5 << 20) - 1) == bigobject.block(3) + bigobject.block(4)
    # nothing more of any kind than before the drops (fewer is fine: an earlier connection may have been
    # closing when they were counted)
    wait_until(lambda: not Counter(descriptors(pid)) - settled, 10, "the daemon's descriptors to settle")


async def test_an_aiohttp_client_that_drops_mid_download_frees_the_camera(big_web: Web) -> None:
    """A real aiohttp client reads 4 MiB of the 1 GiB object and closes its connection: the daemon stops
    asking the camera for pieces (it says so in its log), and the next download is served."""
    stopped = "download of object 6 to"
    before = big_web.daemon.stderr_text().count(stopped)
    async with aiohttp.ClientSession() as session:
        response = await session.get(big_web.url("/files/6"))
        assert response.status == 200 and response.content_length == GIB
        received = 0
        while received < 4 << 20:
            received += len(await response.content.readany())
        response.close()  # drops the connection, as a browser tab closed mid-download does
        await asyncio.to_thread(
            wait_until,
            lambda: big_web.daemon.stderr_text().count(stopped) > before,
            30,
            "the daemon to stop the abandoned download",
        )
        headers = {"Range": "bytes=1048576-2097151"}
        async with session.get(big_web.url("/files/6"), headers=headers) as second:
            assert second.status == 206
            assert await second.read() == bigobject.block(1)
    assert big_web.daemon.call("status")["state"] == "connected"


# --------------------------------------------------------------------------------------------- small objects


def test_files_list_has_urls(generic_web: Web) -> None:
    status, files = generic_web.get_json("/files")
    assert status == 200
    assert [f["filename"] for f in files][:3] == ["IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG"]
    for entry in files:
        assert entry["url"] == f"/files/{entry['handle']}"
    rpc = generic_web.daemon.call("files")
    assert [f["handle"] for f in rpc] == [f["handle"] for f in files]


def test_object_headers_head_etag_and_ranges(generic_web: Web) -> None:
    status, headers, whole = generic_web.request("GET", "/files/3")
    assert status == 200
    assert headers["content-type"] == "image/jpeg"
    assert int(headers["content-length"]) == len(whole)
    assert headers["content-disposition"].startswith('attachment; filename="IMG_0001.JPG"')
    assert headers["accept-ranges"] == "bytes"
    tag = headers["etag"]
    Image.open(io.BytesIO(whole)).verify()
    # HEAD: the same headers, no body
    status, head_headers, body = generic_web.request("HEAD", "/files/3")
    assert (status, body, head_headers["etag"], head_headers["content-length"]) == (
        200,
        b"",
        tag,
        str(len(whole)),
    )
    # ranges
    for spec, lo, hi in (
        ("bytes=0-99", 0, 100),
        ("bytes=100-", 100, len(whole)),
        ("bytes=-10", len(whole) - 10, len(whole)),
    ):
        status, h, part = generic_web.request("GET", "/files/3", headers={"Range": spec})
        assert status == 206, spec
        assert part == whole[lo:hi], spec
        assert h["content-range"] == f"bytes {lo}-{hi - 1}/{len(whole)}"
    # If-Range with another validator: the whole object
    status, _, body = generic_web.request(
        "GET", "/files/3", headers={"Range": "bytes=0-9", "If-Range": '"x"'}
    )
    assert (status, body) == (200, whole)
    status, _, _ = generic_web.request("GET", "/files/3", headers={"If-None-Match": tag})
    assert status == 304


def _raw_get(web: Web, path: str, *header_lines: bytes) -> tuple[int, dict[str, str], bytes]:
    """``GET path`` with exactly these header lines (as curl -H sends them), on a connection the daemon
    closes after the answer: (status, lower-cased headers, body)."""
    head = b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sConnection: close\r\n\r\n" % (
        path.encode(),
        b"".join(line + b"\r\n" for line in header_lines),
    )
    with raw_request(web.host, web.port, head) as sock:
        answer = b""
        while piece := sock.recv(1 << 16):
            answer += piece
    status_and_headers, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = status_and_headers.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(
    "line",
    [
        b"Range: items=0-5",  # a unit the daemon does not know: MUST be ignored (RFC 9110 §14.2)
        b"Range: bytes=5-2",  # invalid (ends before it starts): ignored
        b"Range: bytes=0-1,5-6",  # several ranges (curl -r 0-1,5-6): the whole object, no multipart
        b"Range: bytes=abc",
    ],
)
def test_a_range_not_served_as_asked_gets_the_whole_object(generic_web: Web, line: bytes) -> None:
    """What RFC 9110 lets or makes a server ignore is ignored: 200 with the whole object, not a 416."""
    _, _, whole = generic_web.request("GET", "/files/3")
    status, headers, body = _raw_get(generic_web, "/files/3", line)
    assert (status, body) == (200, whole), (line, status, body[:200])
    assert "content-range" not in headers and headers["content-length"] == str(len(whole))


def test_if_none_match_lists_star_and_weak_tags(generic_web: Web) -> None:
    """``If-None-Match`` (RFC 9110 §13.1.2): ``*``, a list holding the object's tag, the tag marked weak (the
    weak comparison) all answer 304 with the ETag and no body; a list without it the object (200)."""
    _, headers, whole = generic_web.request("GET", "/files/3")
    tag = headers["etag"]
    for value in ("*", f'"other", {tag}', f"W/{tag}", f'W/"other",W/{tag}'):
        status, answer, body = _raw_get(generic_web, "/files/3", b"If-None-Match: " + value.encode())
        assert (status, body, answer["etag"]) == (304, b"", tag), value
        assert answer["cache-control"] == "no-cache"
    status, _, body = _raw_get(generic_web, "/files/3", b'If-None-Match: "other", W/"else"')
    assert (status, body) == (200, whole)
    # If-Range compares strongly: a weak tag never matches, so the whole object comes
    status, _, body = _raw_get(generic_web, "/files/3", b"Range: bytes=0-9", b"If-Range: W/" + tag.encode())
    assert (status, body) == (200, whole)
    status, _, body = _raw_get(generic_web, "/files/3", b"Range: bytes=0-9", b"If-Range: " + tag.encode())
    assert (status, body) == (206, whole[:10])


@pytest.mark.parametrize("spec", ["bytes=999999999-", "bytes=-0", "bytes=999999999-,1000000000-1000000009"])
def test_bad_range_is_416(generic_web: Web, spec: str) -> None:
    """A valid byte-range set none of whose ranges lies within the object (RFC 9110 §15.5.17)."""
    status, headers, body = generic_web.request("GET", "/files/3", headers={"Range": spec})
    assert status == 416, spec
    assert headers["content-range"].startswith("bytes */")
    error = json.loads(body)["error"]
    assert error["code"] == -32602 and error["message"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/files", {"GET", "HEAD"}),
        ("POST", "/files/3", {"GET", "HEAD"}),
        ("DELETE", "/files/3", {"GET", "HEAD"}),
        ("GET", "/capture", {"POST"}),
        ("PATCH", "/captures/x.jpg", {"GET", "HEAD", "DELETE"}),
    ],
)
def test_wrong_method_is_a_json_405(generic_web: Web, method: str, path: str, allowed: set[str]) -> None:
    """A method a route does not take (``curl -X PUT /files``): 405 with ``Allow`` and the JSON error body
    every answer has (README, Errors), not a bare 500 "Server got itself in trouble" with a traceback logged
    at ERROR."""
    errors_before = generic_web.daemon.stderr_text().count(" ERROR ")
    status, headers, body = generic_web.request(method, path)
    assert status == 405, (status, body)
    assert set(headers["allow"].split(",")) == allowed, headers
    assert headers["content-type"] == "application/json; charset=utf-8", headers
    error = json.loads(body)["error"]
    assert error["code"] == -32600 and f"{method} is not allowed on {path}" in error["message"], error
    assert set(error["data"]["allow"]) == allowed
    assert generic_web.daemon.stderr_text().count(" ERROR ") == errors_before


@pytest.mark.parametrize(
    "path", ["/files/9999", "/files/0x7777", "/files/abc", "/files/99999999999", "/nothing"]
)
def test_unknown_handle_or_path_is_404(generic_web: Web, path: str) -> None:
    status, body = generic_web.get_json(path)
    assert status == 404, path
    assert body["error"]["code"] in (-32002, -32602, -32601) and body["error"]["message"]
    if path == "/files/9999":
        assert body["error"]["code"] == -32002 and body["error"]["data"]["handle"] == 9999


def test_thumbnail(generic_web: Web) -> None:
    status, headers, body = generic_web.request("GET", "/files/3/thumb")
    assert status == 200 and headers["content-type"] == "image/jpeg"
    Image.open(io.BytesIO(body)).verify()
    status, _, _ = generic_web.request("GET", "/files/9999/thumb")
    assert status == 404


def test_capture_gives_the_new_objects_url(generic_web: Web) -> None:
    status, _, body = generic_web.request("POST", "/capture")
    assert status == 200, body
    shot = json.loads(body)
    assert shot["handle"] is not None and shot["url"] == f"/files/{shot['handle']}"
    # README's {handle, url, format, size, filename, path}
    assert set(shot) == {"handle", "url", "format", "size", "filename", "path"}
    status, headers, data = generic_web.request("GET", shot["url"])
    assert status == 200 and len(data) == shot["size"] == int(headers["content-length"])
    Image.open(io.BytesIO(data)).verify()


def test_fuji_capture_gives_the_previews_url_and_no_files(fuji_web: Web) -> None:
    status, _, body = fuji_web.request("POST", "/capture")
    assert status == 200, body
    shot = json.loads(body)
    assert shot["handle"] is None and shot["url"].startswith("/captures/")
    # README's {handle, url, format, size, filename, path}
    assert set(shot) == {"handle", "url", "format", "size", "filename", "path"}
    status, _, data = fuji_web.request("GET", shot["url"])
    assert status == 200 and len(data) == shot["size"]
    Image.open(io.BytesIO(data)).verify()
    status, _, _ = fuji_web.request("GET", "/captures/..%2fetc%2fpasswd")
    assert status == 404
    for path in ("/files/1", "/files/1/thumb"):  # the camera layer refuses both: no files on this body
        status, body = fuji_web.get_json(path)
        assert status == 501 and body["error"]["code"] == -32003, path


def _captures(web: Web) -> set[str]:
    """The files in the daemon's capture directory (its state directory under the test's workdir)."""
    directory = web.daemon.workdir / "state" / "ptpipd" / "captures"
    return {p.name for p in directory.iterdir()} if directory.is_dir() else set()


def test_capture_copy_needed_keeps_no_copy_of_a_picture_on_the_card(generic_web: Web) -> None:
    """``POST /capture?copy=needed`` (the page's): the camera keeps the picture, so the daemon keeps none
    (``path`` null, nothing left in its capture directory, not even a temporary file); ``/files/N`` serves it.
    Without it the daemon keeps its copy as before (what ptpipctl capture fetches and deletes)."""
    before = _captures(generic_web)
    status, _, body = generic_web.request("POST", "/capture?copy=needed")
    assert status == 200, body
    shot = json.loads(body)
    assert set(shot) == {"handle", "url", "format", "size", "filename", "path"}
    assert shot["path"] is None and shot["url"] == f"/files/{shot['handle']}", shot
    assert _captures(generic_web) == before
    status, _, data = generic_web.request("GET", shot["url"])
    assert status == 200 and len(data) == shot["size"]
    Image.open(io.BytesIO(data)).verify()

    status, _, body = generic_web.request("POST", "/capture?copy=always")
    kept = json.loads(body)["path"]
    assert status == 200 and kept and _captures(generic_web) == before | {Path(kept).name}
    assert generic_web.request("DELETE", f"/captures/{Path(kept).name}")[0] == 204

    status, _, body = generic_web.request("POST", "/capture?copy=no")
    assert status == 400 and json.loads(body)["error"]["code"] == -32602, body
    assert "'always' or 'needed'" in json.loads(body)["error"]["message"]


def test_capture_copy_needed_keeps_the_preview_the_camera_does_not(fuji_web: Web) -> None:
    """An X-T1 hands over a preview and keeps nothing: the daemon's copy is the only one, kept and served."""
    status, _, body = fuji_web.request("POST", "/capture?copy=needed")
    assert status == 200, body
    shot = json.loads(body)
    assert shot["handle"] is None and shot["path"] and shot["url"] == f"/captures/{Path(shot['path']).name}"
    assert Path(shot["path"]).name in _captures(fuji_web)
    status, _, data = fuji_web.request("GET", shot["url"])
    assert status == 200 and len(data) == shot["size"]
    assert fuji_web.request("DELETE", shot["url"])[0] == 204


def test_a_saved_capture_can_be_deleted(fuji_web: Web) -> None:
    """``DELETE /captures/NAME`` (what ptpipctl capture does with its own copy): 204, then the file is gone
    (404); a path out of the capture directory is 404 too, and a foreign Origin is refused."""
    _, _, body = fuji_web.request("POST", "/capture")
    url = json.loads(body)["url"]
    assert fuji_web.request("DELETE", url, headers={"Origin": "http://evil.example"})[0] == 403
    status, _, _ = fuji_web.request("DELETE", url)
    assert status == 204
    assert fuji_web.request("GET", url)[0] == 404
    assert fuji_web.request("DELETE", url)[0] == 404
    assert fuji_web.request("DELETE", "/captures/..%2fptpipd.sock")[0] == 404


def test_stalled_download_is_dropped_without_holding_the_camera(big_web: Web) -> None:
    """A client that asks for the 1 GiB object and never reads: other clients go on at once, and the daemon
    closes the stalled connection after its write timeout (``http_timeout``, 15 s by default; 2 s here),
    logging why."""
    dropped = "download of object 6"
    before = big_web.daemon.stderr_text().count(dropped)  # earlier tests' downloads said so too
    sock = raw_request(big_web.host, big_web.port, b"GET /files/6 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    try:
        for _ in range(3):
            assert big_web.daemon.call("get", ["iso"])["property"] == "iso"
        wait_until(
            lambda: big_web.daemon.stderr_text().count(dropped) > before,
            30,
            "the daemon to drop the client",
        )
        assert big_web.daemon.call("get", ["iso"])["property"] == "iso"
        said = [line for line in big_web.daemon.stderr_text().splitlines() if dropped in line][before:]
        assert said[0].endswith(f"{dropped} to {big_web.host} stopped: write timeout"), said  # never empty
        total = 0
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(1 << 20):
                total += len(chunk)
        assert total < GIB, "the whole object arrived: the connection was not dropped"
    finally:
        sock.close()


def test_camera_lost_mid_download_cuts_the_body_short(tmp_path: Path) -> None:
    """The simulator is killed while the daemon streams its 64 MiB object: the client gets the 200 head, a
    body that is a prefix of the object and shorter than its Content-Length, then the end of the connection.
    Never an error answer inside the body (the daemon's JSON 503 once went there, after the camera's bytes),
    and the daemon goes on (its ``status`` answers)."""
    size = 64 << 20
    sim = start_sim("generic", "--object-size", str(size), "--response-delay", "0.05")
    try:
        with running_web(tmp_path, sim, "generic") as web:
            sock = raw_request(
                web.host, web.port, b"GET /files/6 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", timeout=60
            )
            try:
                data = bytearray()
                while b"\r\n\r\n" not in data or len(data) < 8 << 20:
                    chunk = sock.recv(1 << 20)
                    assert chunk, data[:200]
                    data += chunk
                sim.kill()  # the camera vanishes mid-object (Wi-Fi gone)
                with contextlib.suppress(ConnectionResetError):
                    while chunk := sock.recv(1 << 20):
                        data += chunk
            finally:
                sock.close()
            head, _, body = bytes(data).partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            assert f"Content-Length: {size}".encode() in head, head
            assert 8 << 20 <= len(body) < size, len(body)
            expected = bigobject.build(size)[: len(body)]
            assert body == expected, f"foreign bytes in the body: {body[-200:]!r}"
            assert "state" in web.daemon.call("status")
    finally:
        sim.stop()


def test_a_bad_range_of_a_saved_capture_is_the_json_416(fuji_web: Web) -> None:
    """``/captures/NAME`` answers a ``Range`` it cannot satisfy as ``/files/N`` does: 416 with the JSON error
    (-32602, ``data.size``) and ``Content-Range: bytes */SIZE``, not an empty body; a good range is a 206."""
    _, _, body = fuji_web.request("POST", "/capture")
    shot = json.loads(body)
    size = shot["size"]
    status, headers, answer = fuji_web.request("GET", shot["url"], headers={"Range": f"bytes={size}-"})
    assert status == 416, (status, answer)
    assert headers["content-type"].startswith("application/json")
    assert headers["content-range"] == f"bytes */{size}"
    error = json.loads(answer)["error"]
    assert (error["code"], error["data"]) == (-32602, {"size": size})
    status, headers, answer = fuji_web.request("GET", shot["url"], headers={"Range": "bytes=0-9"})
    assert (status, headers["content-range"], len(answer)) == (206, f"bytes 0-9/{size}", 10)
