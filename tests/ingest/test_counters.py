"""``status.ingest``'s counts as :class:`ptpipd.ingest._Counters` reports them (literal expected dict)."""

from __future__ import annotations

from ptpipd.ingest import _Counters
from ptpipd.ingest_hook import HookResult
from ptpipd.rpc.models import IngestStatus


def test_report_lists_every_count_and_the_hooks_apart() -> None:
    c = _Counters(files=2, bytes=10, scans=1, skipped=3, errors=4, dropped=5, deleted=6, delete_failures=7)
    c.hook_ran("/x/a.jpg", HookResult(0, False, ""))
    c.hook_ran("/x/b.jpg", HookResult(None, True, ""))
    assert c.report(8, 9) == {
        "files": 2,
        "bytes": 10,
        "last": None,
        "queue": 8,
        "scans": 1,
        "current": None,
        "skipped": 3,
        "errors": 4,
        "dropped": 5,
        "deleted": 6,
        "delete_failures": 7,
        "hooks": {"runs": 2, "failures": 1, "timeouts": 1, "pending": 9},
        "last_error": "hook for /x/b.jpg: timed out, killed",
    }
    IngestStatus.model_validate(c.report(8, 9) | {"dir": "/x", "pattern": "{filename}", "stored_total": 2})
