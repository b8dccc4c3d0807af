"""The imports point one way: ptp ← ip ← vendors ← camera ← service ← {rpc, legacy} ← transports ← daemon.

The simulator uses only ptp, ip and vendor *data* tables (never the initiator side), and ptpipctl imports
nothing from ptpipd (it speaks JSON-RPC only). Read from the source with ``ast``, so a lazy import inside a
function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.procs import REPO

PKG = REPO / "ptpipd"
BELOW_SERVICE = ("ptpipd.ptp", "ptpipd.ip", "ptpipd.vendors", "ptpipd.errors", "ptpipd.camera")

#: module prefix → the ptpipd modules (prefixes) it may import; the longest prefix applies.
ALLOWED: dict[str, tuple[str, ...]] = {
    "ptpipd.ptp": ("ptpipd.ptp",),
    "ptpipd.ip": ("ptpipd.ptp", "ptpipd.ip"),
    "ptpipd.errors": (),
    "ptpipd.files": (),
    "ptpipd.systemd": (),
    "ptpipd.logs": (),
    "ptpipd.vendors": ("ptpipd.ptp", "ptpipd.ip", "ptpipd.vendors", "ptpipd.errors"),
    # a vendor's data tables must stay pure data: the simulator imports them
    "ptpipd.vendors.fuji_codes": ("ptpipd.ptp", "ptpipd.vendors.labels"),
    "ptpipd.vendors.fuji_body_codes": ("ptpipd.ptp", "ptpipd.vendors.labels", "ptpipd.vendors.fuji_codes"),
    "ptpipd.vendors.nikon_codes": ("ptpipd.ptp", "ptpipd.vendors.labels"),
    "ptpipd.vendors.canon_codes": ("ptpipd.ptp", "ptpipd.vendors.labels"),
    "ptpipd.vendors.labels": ("ptpipd.ptp",),
    "ptpipd.camera": BELOW_SERVICE,
    "ptpipd.service": (*BELOW_SERVICE, "ptpipd.service", "ptpipd.version"),
    "ptpipd.rpc": (*BELOW_SERVICE, "ptpipd.service", "ptpipd.files", "ptpipd.rpc", "ptpipd.version"),
    "ptpipd.sim": (
        "ptpipd.ptp",
        "ptpipd.ip",
        "ptpipd.sim",
        "ptpipd.vendors.fuji_codes",
        "ptpipd.vendors.fuji_body_codes",
        "ptpipd.version",
    ),
}
#: the upper layers may use anything below them, nothing above
DENIED: dict[str, tuple[str, ...]] = {
    "ptpipd.legacy": ("ptpipd.transports", "ptpipd.daemon"),
    "ptpipd.transports": ("ptpipd.daemon", "ptpipd.legacy"),
    "ptpipd.config": ("ptpipd.daemon", "ptpipd.transports", "ptpipd.legacy", "ptpipd.rpc", "ptpipd.service"),
    "ptpipd.camera_setup": ("ptpipd.daemon", "ptpipd.transports", "ptpipd.legacy", "ptpipd.rpc"),
    "ptpipd.daemon": (),
    "ptpipd": ("ptpipd.camera", "ptpipd.service", "ptpipd.rpc", "ptpipd.daemon", "ptpipd.sim"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, module: str, is_package: bool = False) -> set[str]:
    """The ptpipd/ptpipctl modules ``source`` imports (``from a import b`` counts as ``a`` and ``a.b``).

    ``from ptpipd import __version__`` is reported as ``ptpipd.version``.
    """
    package = module if is_package else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            if base == "ptpipd" and all(a.name in ("__version__", "API_VERSION") for a in node.names):
                found.add("ptpipd.version")
                continue
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {n for n in found if n == "ptpipd" or n.startswith(("ptpipd.", "ptpipctl"))}


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(module: str, found: set[str]) -> list[str]:
    """The imports of ``module`` that break the layering."""
    rules = [k for k in ALLOWED if _under(module, k)]
    if rules:
        allowed = ALLOWED[max(rules, key=len)]
        return sorted(n for n in found if not any(_under(n, a) for a in allowed))
    denied = DENIED[max((k for k in DENIED if _under(module, k)), key=len)]
    return sorted(n for n in found if n == "ptpipd" or any(_under(n, d) for d in denied))


SOURCES = sorted(PKG.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_package_imports_point_one_way(path: Path) -> None:
    module = module_name(path)
    found = imports(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
    assert not violations(module, found), f"{module} imports {violations(module, found)}"


@pytest.mark.parametrize(
    "path", sorted((REPO / "ptpipctl").rglob("*.py")), ids=lambda p: str(p.relative_to(REPO))
)
def test_ptpipctl_imports_nothing_from_ptpipd(path: Path) -> None:
    found = imports(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")
    assert not [n for n in found if _under(n, "ptpipd") or n == "ptpipd.version"]


@pytest.mark.parametrize(
    ("module", "source", "bad"),
    [
        ("ptpipd.ip.x", "from ptpipd.camera import Camera\n", True),
        ("ptpipd.ip.x", "from ..ptp import datasets\n", False),
        ("ptpipd.ip.x", "def f():\n    import ptpipd.service\n", True),
        ("ptpipd.sim.x", "from ptpipd.vendors.fuji import FujiDriver\n", True),
        ("ptpipd.sim.x", "from ptpipd.vendors.fuji_codes import FujiProperty\n", False),
        ("ptpipd.sim.x", "from ptpipd.vendors.fuji_body_codes import BODIES\n", False),
        ("ptpipd.vendors.fuji_body_codes", "from ptpipd.ip.fuji import FUJI\n", True),
        ("ptpipd.legacy.x", "from ptpipd.transports.lines import MAX_LINE\n", True),
        ("ptpipd.legacy.x", "from ptpipd.rpc import Dispatcher\n", False),
    ],
)
def test_the_checker_sees_violations(module: str, source: str, bad: bool) -> None:
    assert bool(violations(module, imports(source, module))) == bad
