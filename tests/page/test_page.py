"""The remote-control page in Chromium against both simulated cameras: a clean first load within its byte
budget, settings through `set` and back through `notify.property`, a range moved with the keyboard, capture
and its download, refusals written next to their control, the Fuji live view, and screenshots.

The generic camera is ``ptpipd --simulate generic``; the Fuji is a ``ptpipd-sim --fps 30`` subprocess (the
built-in one streams at 10 fps) behind ``ptpipd``. One browser serves the whole module.
"""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image, ImageChops
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.select import Select

from ptpipd.sim.pictures import counter_layout
from ptpipd.web.app import STATIC
from tests.daemon.conftest import camera_args
from tests.page.conftest import (
    Browser,
    Site,
    ensure_page,
    open_page,
    own_origin,
    report,
    running_site,
    screenshots,
)
from tests.procs import running_sim

PAGE_BUDGET = 100_000  # bytes: HTML + JS + CSS on the first load


@pytest.fixture(scope="module")
def generic(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with running_site(tmp_path_factory.mktemp("page-generic"), "generic", "--simulate", "generic") as site:
        site.daemon.wait_connected()
        yield site
        browser.leave()


def _fuji_site(browser: Browser, workdir: Path, name: str, *sim_args: str) -> Iterator[Site]:
    with (
        running_sim("fuji", *sim_args, "--accept-any-client") as sim,
        running_site(workdir, name, *camera_args(sim, "fuji")) as site,
    ):
        site.daemon.wait_connected()
        yield site
        browser.leave()


@pytest.fixture(scope="module")
def fuji(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from _fuji_site(browser, tmp_path_factory.mktemp("page-fuji"), "fuji", "--fps", "30")


@pytest.fixture(scope="module")
def fuji_later(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A later Fujifilm body (X-T4): its card's files listed and downloaded, none deleted (-32003)."""
    yield from _fuji_site(browser, tmp_path_factory.mktemp("page-x-t4"), "x-t4", "--model", "x-t4")


@pytest.fixture(params=["generic", "fuji"])
def site(request: pytest.FixtureRequest) -> Site:
    return request.getfixturevalue(str(request.param))  # type: ignore[no-any-return]


def row(browser: Browser, prop: str) -> dict[str, str]:
    """What the page shows for a property: the value and label of its row, and whether a set is under way."""
    return browser.js(  # type: ignore[no-any-return]
        "const r = document.querySelector(`.prop[data-property='${arguments[0]}']`);"
        "return {value: r.dataset.value, label: r.dataset.label, busy: r.classList.contains('busy'),"
        " error: r.querySelector('.err').textContent};",
        prop,
    )


def settled(browser: Browser, prop: str, label: str, timeout: float = 10.0) -> dict[str, str]:
    """Waits until the row of ``prop`` shows ``label`` with no set under way."""
    browser.wait(
        lambda d: (r := row(browser, prop))["label"] == label and not r["busy"],
        timeout,
        f"{prop} shows {label} (it shows {row(browser, prop)})",
    )
    return row(browser, prop)


# ------------------------------------------------------------------------------------------ first load


def test_first_load_is_clean_small_and_local(browser: Browser, site: Site) -> None:
    open_page(browser, site)
    if browser.js("return window.ptpipd.state.status.capabilities.files"):
        browser.wait(lambda d: d.find_elements("css selector", "#gallery li img"), 10, "the thumbnails")
        browser.wait(
            lambda d: browser.js(
                "return [...document.querySelectorAll('#gallery img')].every(i => i.complete && i.naturalWidth > 0)"
            ),
            10,
            "every image decoded",
        )
    browser.drain_logs()
    errors = [e for e in browser.console if e["level"] in ("SEVERE", "WARNING")]
    assert errors == [], errors
    assert own_origin(browser.requests, site.origin) == [], "requests to anything but the daemon"
    assert any(u.endswith("/rpc") and u.startswith("ws:") for u in browser.requests)

    sizes = browser.js(
        "const nav = performance.getEntriesByType('navigation')[0];"
        "const parts = performance.getEntriesByType('resource')"
        "  .filter(r => /[.](js|css)$/.test(new URL(r.name).pathname)).map(r => [r.name, r.transferSize]);"
        "return [[nav.name, nav.transferSize], ...parts];"
    )
    names = {urlsplit(name).path.rsplit("/", 1)[-1] or "index.html" for name, _ in sizes}
    assert names == {"index.html", "app.js", "live.js", "props.js", "rpc.js", "style.css"}, names
    assert all(n > 0 for _, n in sizes), f"a part came from a cache: {sizes}"
    total = sum(n for _, n in sizes)
    on_disk = sum(p.stat().st_size for p in STATIC.iterdir())
    report("first-load transfer (HTML + JS + CSS)", f"{total} bytes ({on_disk} bytes of files)")
    assert total <= PAGE_BUDGET and on_disk <= PAGE_BUDGET


# ------------------------------------------------------------------------------------------ settings


def test_iso_select_sets_the_camera_and_follows_it(browser: Browser, site: Site) -> None:
    ensure_page(browser, site)
    select = Select(browser.by_id("prop-iso"))
    select.select_by_visible_text("800")
    settled(browser, "iso", "800")
    assert site.get("iso")["label"] == "800"

    site.ctl("set", "iso", "1600")  # another client: the page follows without a reload
    browser.wait(lambda d: Select(d.find_element("id", "prop-iso")).first_selected_option.text == "1600", 10)
    assert row(browser, "iso")["label"] == "1600"


def test_range_moved_with_the_keyboard_lands_on_a_valid_step(browser: Browser, generic: Site) -> None:
    ensure_page(browser, generic)
    slider = browser.by_id("prop-burst-interval")
    low, high, step = (int(slider.get_attribute(a) or "") for a in ("min", "max", "step"))
    desc = generic.get("burst-interval")
    start = int(desc["value"])
    slider.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
    expected = start + 3 * step
    shown = settled(browser, "burst-interval", f"{expected}ms")
    camera = generic.get("burst-interval")
    assert int(shown["value"]) == camera["value"] == expected
    assert (camera["value"] - low) % step == 0 and low <= camera["value"] <= high

    slider.send_keys(Keys.END)
    settled(browser, "burst-interval", f"{high}ms")
    assert generic.get("burst-interval")["value"] == high
    stepper = browser.driver.find_element(
        "css selector", ".prop[data-property='burst-interval'] input[type=number]"
    )
    stepper.send_keys(Keys.ARROW_DOWN)
    stepper.send_keys(Keys.TAB)  # the change is committed when the field is left
    settled(browser, "burst-interval", f"{high - step}ms")
    assert generic.get("burst-interval")["value"] == high - step


def test_refused_values_are_written_next_to_their_control(browser: Browser, generic: Site) -> None:
    ensure_page(browser, generic)
    before = generic.get("datetime")["label"]
    field = browser.by_id("prop-datetime")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys("next tuesday", Keys.ENTER)  # not a date: refused before the camera sees it
    error = browser.by_id("prop-datetime-error")
    browser.wait(lambda d: error.text, 10, "the refusal next to the date")
    assert error.text.startswith('"next tuesday" is not accepted: not a date and time: '), error.text
    assert field.get_attribute("value") == before == generic.get("datetime")["label"]
    assert field.get_attribute("aria-describedby") == "prop-datetime-error"

    stepper = browser.driver.find_element(
        "css selector", ".prop[data-property='burst-interval'] input[type=number]"
    )
    was = generic.get("burst-interval")["value"]
    stepper.send_keys(Keys.CONTROL, "a")
    stepper.send_keys("1234", Keys.TAB)  # off the range: the daemon refuses it before the camera sees it
    error = browser.by_id("prop-burst-interval-error")
    browser.wait(lambda d: error.text, 10, "the refusal next to the burst interval")
    assert error.text.startswith("1234 is not allowed; the camera takes"), error.text
    assert stepper.get_attribute("value") == str(was) == str(generic.get("burst-interval")["value"])
    # the next good value clears the error
    Select(browser.by_id("prop-iso")).select_by_visible_text("200")
    settled(browser, "iso", "200")
    assert browser.by_id("prop-iso-error").text == ""


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (
            {"code": -32002, "data": {"name": "DeviceBusy"}},
            "The camera is busy: try again in a moment (DeviceBusy).",
        ),
        (
            {"code": -32002, "data": {"name": "InvalidDevicePropValue"}},
            "The camera refused this value (InvalidDevicePropValue).",
        ),
        ({"code": -32002, "data": {"name": "StoreFull"}}, "The card is full (StoreFull)."),
        ({"code": -32000, "data": {"state": "connecting"}}, "The camera is not connected."),
        ({"code": -32001, "data": {"timeout_s": 5}}, "The camera did not answer in time."),
        ({"code": -32003, "data": {"vendor": "fuji"}}, "This camera cannot do that."),
        (
            {"code": -32005, "message": "invalid value 7 for battery: battery is read-only"},
            "This setting is read-only.",
        ),
    ],
)
def test_camera_errors_in_words(
    browser: Browser, generic: Site, error: dict[str, object], words: str
) -> None:
    """The words the page puts next to a control for the camera's refusals (some no simulator gives)."""
    ensure_page(browser, generic)
    said = browser.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "import('/static/rpc.js').then((m) => done(m.describeError(arguments[0])));",
        error,
    )
    assert said == words


# ------------------------------------------------------------------------------------------ capture


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return bytes(response.read())


def test_capture_shows_the_picture_and_its_download(browser: Browser, site: Site, tmp_path: Path) -> None:
    ensure_page(browser, site)
    browser.js(
        "document.getElementById('last').hidden = true; document.getElementById('last').dataset.url = ''"
    )
    browser.by_id("capture").send_keys(Keys.ENTER)  # the keyboard, as everything on the page
    browser.wait(lambda d: not d.find_element("id", "last").get_attribute("hidden"), 20, "the new picture")
    browser.wait(
        lambda d: browser.js(
            "const i = document.getElementById('last-img'); return i.complete && i.naturalWidth > 0"
        ),
        10,
        "the new picture's image decoded",
    )
    link = browser.by_id("last-download")
    href = link.get_attribute("href") or ""
    assert href.startswith(site.origin + "/") and link.get_attribute("download")
    data = _fetch(href)
    assert data[:2] == b"\xff\xd8"
    handle = browser.by_id("last").get_attribute("data-handle")
    if handle:  # the camera keeps the picture: the page's link gives ptpipctl's bytes, and the gallery has it
        out = tmp_path / "ctl.jpg"
        site.ctl("download", handle, str(out))
        assert data == out.read_bytes()
        browser.wait(
            lambda d: d.find_element("css selector", "#gallery li").get_attribute("data-handle") == handle,
            10,
            "the new picture first in the gallery",
        )
        browser.wait(lambda d: "ObjectAdded" in d.find_element("id", "log").text, 10, "the event in the log")
    else:  # a Fuji hands over a preview the daemon keeps: listed under the pictures taken from this page
        browser.wait(lambda d: d.find_elements("css selector", "#gallery li"), 10, "the capture in the list")
        first = browser.driver.find_element("css selector", "#gallery li a[download]")
        assert _fetch(first.get_attribute("href") or "") == data


def _captures(site: Site) -> set[str]:
    """The files in the daemon's capture directory."""
    directory = site.daemon.workdir / "state" / "ptpipd" / "captures"
    return {p.name for p in directory.iterdir()} if directory.is_dir() else set()


def test_time_lapse_takes_its_pictures(browser: Browser, generic: Site) -> None:
    ensure_page(browser, generic)
    before = {f["handle"] for f in generic.daemon.call("files")}
    kept = _captures(generic)
    for field, value in (("lapse-every", "1"), ("lapse-count", "2")):
        browser.by_id(field).send_keys(Keys.CONTROL, "a")
        browser.by_id(field).send_keys(value)
    browser.by_id("lapse").send_keys(Keys.ENTER)
    state = browser.by_id("shoot-state")
    browser.wait(lambda d: state.text == "Time-lapse done.", 15, f"the time-lapse done ({state.text!r})")
    new = {f["handle"] for f in generic.daemon.call("files")} - before
    assert len(new) == 2, new
    # the camera keeps them: the daemon kept no copy (a long time-lapse would fill its disk)
    assert _captures(generic) == kept
    browser.wait(
        lambda d: (
            {li.get_attribute("data-handle") for li in d.find_elements("css selector", "#gallery li")[:2]}
            == {str(h) for h in new}
        ),
        10,
        "both pictures first in the gallery",
    )


def test_every_control_has_a_name(browser: Browser, site: Site) -> None:
    ensure_page(browser, site)
    controls = browser.driver.find_elements("css selector", "button, input, select, a[href], canvas, output")
    unnamed = [
        (c.tag_name, c.get_attribute("id"))
        for c in controls
        if c.is_displayed() and not c.accessible_name.strip()
    ]
    assert len(controls) > 10 and unnamed == []


# ------------------------------------------------------------------------------------------ live view


def test_generic_camera_has_a_live_view_placeholder(browser: Browser, generic: Site) -> None:
    ensure_page(browser, generic)
    placeholder = browser.by_id("lv-placeholder")
    assert placeholder.is_displayed() and placeholder.text == "This camera has no live view."
    assert not browser.by_id("lv").is_displayed() and not browser.by_id("lv-toggle").is_displayed()


def _counter(png: bytes) -> Image.Image:
    """The frame-counter digits of a live-view screenshot (the simulator's layout, scaled to the canvas)."""
    image = Image.open(io.BytesIO(png)).convert("L")
    layout = counter_layout(640, 480)
    sx, sy = image.width / 640, image.height / 480
    right = layout.left + layout.digits * layout.advance
    bottom = layout.top + 7 * layout.cell
    return image.crop((int(layout.left * sx), int(layout.top * sy), int(right * sx), int(bottom * sy)))


def test_fuji_live_view_runs_at_the_camera_rate(browser: Browser, fuji: Site) -> None:
    open_page(browser, fuji)
    first = browser.wait(lambda d: browser.js("return window.ptpipd.firstFrameMs"), 10, "a first frame")
    report("navigation to the first live-view frame (loopback)", f"{first:.0f} ms")
    canvas = browser.by_id("lv")
    assert canvas.is_displayed() and not browser.by_id("lv-placeholder").is_displayed()

    before = _counter(canvas.screenshot_as_png)
    frames = browser.js("return window.ptpipd.live.frames")
    # 30 frames later is one second of a 30 fps camera
    browser.wait(lambda d: browser.js("return window.ptpipd.live.frames") >= frames + 30, 5, "30 more frames")
    after = _counter(canvas.screenshot_as_png)
    changed = ImageChops.difference(before, after).point(lambda p: 255 if p > 64 else 0).histogram()[255]
    assert changed > 0.01 * before.width * before.height, "the frame counter did not change"

    def readout() -> float:
        text = browser.by_id("lv-fps").text.split()[0]  # "29.8 fps", or "– fps" before two frames came
        return float(text) if text[0].isdigit() else 0.0

    browser.wait(lambda d: readout() >= 25, 10, f"an fps readout of at least 25 (it says {readout()})")
    report("live-view fps readout (camera at 30 fps)", browser.by_id("lv-fps").text)


def test_pausing_the_live_view_stops_the_camera_stream(browser: Browser, fuji: Site) -> None:
    ensure_page(browser, fuji)
    toggle = browser.by_id("lv-toggle")
    browser.wait(lambda d: toggle.get_attribute("aria-pressed") == "true" and toggle.is_displayed(), 10)
    toggle.send_keys(Keys.ENTER)
    browser.wait(lambda d: browser.by_id("lv-placeholder").text == "Live view paused.", 5)
    browser.wait(lambda d: fuji.daemon.call("status")["liveview"]["viewers"] == 0, 10, "no viewer left")
    toggle.send_keys(Keys.ENTER)
    frames = browser.js("return window.ptpipd.live.frames")
    browser.wait(lambda d: browser.js("return window.ptpipd.live.frames") > frames + 5, 10, "frames again")


# ------------------------------------------------------------------------------------------ screenshots


def test_screenshots(browser: Browser, site: Site) -> None:
    """Written for a person to look at (ARTIFACTS); each asserts the page fits its viewport's width."""
    ensure_page(browser, site)
    browser.wait(
        lambda d: d.find_elements("css selector", "#gallery li") or d.find_element("id", "files-note").text,
        10,
        "the pictures listed",
    )
    if browser.js("return window.ptpipd.state.status.capabilities.liveview !== 'none'"):
        browser.wait(lambda d: browser.by_id("lv-fps").text[0].isdigit(), 10, "a frame rate measured")
    paths = screenshots(browser, site.name)
    assert all(p.stat().st_size > 10_000 for p in paths)


def _delete_button(browser: Browser, handle: int) -> object:
    """The Delete button of the gallery item of ``handle`` (the list refreshed until it shows)."""
    selector = f"#gallery li[data-handle='{handle}'] button.danger"
    browser.by_id("files-refresh").send_keys(Keys.ENTER)
    browser.wait(lambda d: d.find_elements("css selector", selector), 10, f"handle {handle} in the gallery")
    return browser.driver.find_element("css selector", selector)


def _answer(browser: Browser, accept: bool) -> str:
    """Answers the page's confirm() dialog; its text."""
    alert = browser.wait(lambda d: expected_conditions.alert_is_present()(d), 10, "the confirm dialog")
    text = str(alert.text)
    alert.accept() if accept else alert.dismiss()
    return text


def test_gallery_delete_asks_then_deletes_on_the_camera(browser: Browser, generic: Site) -> None:
    """The button calls the daemon's `delete` method: cancelled, nothing happens; confirmed, the picture is
    gone from the camera (its `files`) and from the gallery; refused by the camera, it stays and says why."""
    ensure_page(browser, generic)
    handle = generic.daemon.call("capture")["handle"]
    name = next(f["filename"] for f in generic.daemon.call("files") if f["handle"] == handle)
    button = _delete_button(browser, handle)
    assert button.get_attribute("aria-label") == f"Delete {name}"
    button.send_keys(Keys.ENTER)
    assert name in _answer(browser, accept=False)
    assert handle in {f["handle"] for f in generic.daemon.call("files")}

    _delete_button(browser, handle).send_keys(Keys.ENTER)
    _answer(browser, accept=True)
    gone = f"#gallery li[data-handle='{handle}']"
    browser.wait(lambda d: not d.find_elements("css selector", gone), 10, "the picture out of the gallery")
    assert handle not in {f["handle"] for f in generic.daemon.call("files")}

    locked = next(f["handle"] for f in generic.daemon.call("files") if f["filename"] == "IMG_0001.JPG")
    _delete_button(browser, locked).send_keys(Keys.ENTER)
    _answer(browser, accept=True)
    error = f"#gallery li[data-handle='{locked}'] .err"
    browser.wait(lambda d: d.find_element("css selector", error).text, 10, "the camera's refusal shown")
    assert "protected" in browser.driver.find_element("css selector", error).text.lower()
    assert locked in {f["handle"] for f in generic.daemon.call("files")}
    assert browser.driver.find_element("css selector", f"{error[:-5]} button.danger").is_enabled()


def test_gallery_delete_refuses_a_handle_that_names_another_picture_now(
    browser: Browser, generic: Site
) -> None:
    """The dialog names the file the page listed; if the camera's object at that handle is another one now (a
    listing older than the page knows: a card changed, a body that renumbered), nothing is deleted, the page
    says why and reads the card again. The stale listing is made here by editing the page's own state."""
    ensure_page(browser, generic)
    handle = generic.daemon.call("capture")["handle"]
    files = generic.daemon.call("files")
    name = next(f["filename"] for f in files if f["handle"] == handle)
    other = next(f for f in files if f["handle"] != handle and f["filename"] != name)
    _delete_button(browser, handle)
    browser.js(
        "const s = window.ptpipd.state, h = arguments[0], o = arguments[1];"
        "s.files = s.files.map((f) => f.handle === h ? {...f, filename: o.filename, size: o.size} : f);"
        "document.getElementById('files-more').click();",  # renders the gallery again (hidden or not)
        handle,
        other,
    )
    button = browser.driver.find_element("css selector", f"#gallery li[data-handle='{handle}'] button.danger")
    assert button.get_attribute("aria-label") == f"Delete {other['filename']}"
    button.send_keys(Keys.ENTER)
    assert other["filename"] in _answer(browser, accept=True)
    error = browser.by_id("files-error")
    browser.wait(lambda d: "nothing was deleted" in error.text, 10, f"the refusal ({error.text!r})")
    assert f"On the camera this picture is now {name}, not {other['filename']}" in error.text
    browser.screenshot("gallery-delete-refused", full=True)
    assert handle in {f["handle"] for f in generic.daemon.call("files")}  # the picture is still there
    selector = f"#gallery li[data-handle='{handle}'] .name"
    browser.wait(
        lambda d: d.find_element("css selector", selector).text == name, 10, "the gallery read again"
    )


@pytest.mark.parametrize(("which", "deletes"), [("generic", True), ("fuji_later", False)])
def test_gallery_offers_delete_only_where_the_camera_deletes(
    browser: Browser, request: pytest.FixtureRequest, which: str, deletes: bool
) -> None:
    """The daemon's ``status.capabilities.delete`` decides: the generic body lists DeleteObject and its
    pictures get a Delete button; a later Fujifilm body answers -32003 to it and its pictures get none."""
    site: Site = request.getfixturevalue(which)
    assert site.daemon.call("status")["capabilities"]["delete"] is deletes
    ensure_page(browser, site)
    browser.by_id("files-refresh").send_keys(Keys.ENTER)
    on_card = (
        "#gallery li:not([data-handle=''])"  # the card's files (a handle each), the buttons made with them
    )
    browser.wait(lambda d: d.find_elements("css selector", on_card), 20, "the card's pictures in the gallery")
    items = browser.driver.find_elements("css selector", on_card)
    buttons = browser.driver.find_elements("css selector", "#gallery li button.danger")
    assert len(buttons) == (len(items) if deletes else 0)


# ------------------------------------------------------------------------------------------ the files


def test_static_files_are_the_packages_and_nothing_else(generic: Site) -> None:
    for path in STATIC.iterdir():
        with urllib.request.urlopen(generic.url(f"/static/{path.name}"), timeout=30) as response:
            assert response.read() == path.read_bytes()
            assert "default-src 'self'" in response.headers["Content-Security-Policy"]
            media = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}[path.suffix]
            assert response.headers["Content-Type"] == f"{media}; charset=utf-8"
    for bad in ("/static/nothing.js", "/static/.hidden", "/static/..%2Fapp.py", "/static/%2e%2e%2fapp.py"):
        try:
            urllib.request.urlopen(generic.url(bad), timeout=30)
        except urllib.error.HTTPError as exc:
            assert exc.code == 404, bad
        else:
            raise AssertionError(f"{bad} was served")
