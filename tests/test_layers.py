"""The imports point one way:
ptp ← ip ← vendors ← camera ← service ← {rpc, legacy, ingest} ← {transports, web} ← daemon.

The web data plane uses the service, rpc, camera and what is below them (and the shared ``files``/``net``
helpers), never the daemon, the transports or the legacy adapter. The simulator uses only ptp, the wire side
of ip (never the initiator: ``ptpipd.ip.transport``, ``ptpipd.ip.initiator``), the vendor names (the
``ptpipd.vendors`` package) and the vendors' pure data modules (``ptpipd.vendors.labels`` and every
``ptpipd.vendors.*_codes``), never the initiator side; the
data modules import only ptp and one another. ptpipctl imports nothing from ptpipd (it speaks JSON-RPC only).
Read from the source with ``ast``, so a lazy import inside a function counts too; and, since a package's
own imports come along with it, a fresh interpreter loading the whole simulator is checked as well.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.procs import REPO

PKG = REPO / "ptpipd"
#: the camera's parts: its properties and its images (the camera hands calls over to them)
CAMERA_PARTS = ("ptpipd.camera_properties", "ptpipd.camera_images")
BELOW_SERVICE = ("ptpipd.ptp", "ptpipd.ip", "ptpipd.vendors", "ptpipd.errors", "ptpipd.camera", *CAMERA_PARTS)
BELOW_CAMERA = ("ptpipd.ptp", "ptpipd.ip", "ptpipd.vendors", "ptpipd.errors")

#: module prefix → the ptpipd modules (prefixes) it may import; the longest prefix applies.
ALLOWED: dict[str, tuple[str, ...]] = {
    "ptpipd.ptp": ("ptpipd.ptp",),
    "ptpipd.ip": ("ptpipd.ptp", "ptpipd.ip"),
    "ptpipd.errors": (),
    "ptpipd.files": (),
    "ptpipd.systemd": (),
    "ptpipd.logs": (),
    "ptpipd.net": (),
    "ptpipd.vendors": ("ptpipd.ptp", "ptpipd.ip", "ptpipd.vendors", "ptpipd.errors"),
    "ptpipd.camera": BELOW_SERVICE,
    "ptpipd.camera_properties": BELOW_CAMERA,
    "ptpipd.camera_images": (*BELOW_CAMERA, "ptpipd.camera_properties"),
    "ptpipd.service": (*BELOW_SERVICE, "ptpipd.service", "ptpipd.version"),
    "ptpipd.rpc": (*BELOW_SERVICE, "ptpipd.service", "ptpipd.files", "ptpipd.rpc", "ptpipd.version"),
    # tethered ingest sits beside rpc: the service and below, and its own modules (the pure ones import nothing;
    # the folder, the journal and the names)
    "ptpipd.ingest": (
        *BELOW_SERVICE,
        "ptpipd.service",
        "ptpipd.ingest_fetch",
        "ptpipd.ingest_folder",
        "ptpipd.ingest_hook",
        "ptpipd.ingest_index",
        "ptpipd.ingest_names",
    ),
    # how one object gets into the folder: the service and below, the folder and its journal
    "ptpipd.ingest_fetch": (*BELOW_SERVICE, "ptpipd.service", "ptpipd.ingest_folder", "ptpipd.ingest_index"),
    "ptpipd.ingest_folder": ("ptpipd.ingest_index", "ptpipd.ingest_names"),
    "ptpipd.ingest_hook": (),
    "ptpipd.ingest_index": (),
    "ptpipd.ingest_names": (),
    "ptpipd.web": (
        *BELOW_SERVICE,
        *("ptpipd.service", "ptpipd.rpc", "ptpipd.web", "ptpipd.files", "ptpipd.net", "ptpipd.version"),
    ),
}
#: What the simulator may import besides the vendor names and data modules (see :func:`sim_may_import`).
SIM_ALLOWED = ("ptpipd.ptp", "ptpipd.ip", "ptpipd.sim", "ptpipd.version")
#: The initiator side of ip, which the simulator never uses (it is the camera, not the host).
SIM_DENIED = ("ptpipd.ip.transport", "ptpipd.ip.initiator")
#: What a vendor data module may import besides other data modules: it must stay pure data (the simulator
#: imports it).
DATA_ALLOWED = ("ptpipd.ptp",)
#: the upper layers may use anything below them, nothing above
DENIED: dict[str, tuple[str, ...]] = {
    "ptpipd.legacy": ("ptpipd.transports", "ptpipd.daemon"),
    "ptpipd.transports": ("ptpipd.daemon", "ptpipd.legacy", "ptpipd.web"),
    "ptpipd.config": (
        "ptpipd.daemon",
        "ptpipd.transports",
        "ptpipd.legacy",
        "ptpipd.rpc",
        "ptpipd.service",
        "ptpipd.ingest",
    ),
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


def is_vendor_data(module: str) -> bool:
    """``ptpipd.vendors.labels`` and every ``ptpipd.vendors.<name>_codes``: tables, no behaviour."""
    return (
        module == "ptpipd.vendors.labels" or re.fullmatch(r"ptpipd\.vendors\.\w+_codes", module) is not None
    )


def _is_module(name: str) -> bool:
    path = PKG.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or path.is_dir()


def _vendor_data(name: str) -> bool:
    """``name`` is a vendor data module or a name in one."""
    return is_vendor_data(".".join(name.split(".")[:3]))


def sim_may_import(name: str) -> bool:
    """The simulator's rule: ptp, ip, itself, the ``ptpipd.vendors`` package (a name it defines, such as
    VENDORS) and the vendor data modules; not the initiator side of ip."""
    if any(_under(name, denied) for denied in SIM_DENIED):
        return False
    if any(_under(name, allowed) for allowed in SIM_ALLOWED):
        return True
    parts = name.split(".")
    if parts[:2] != ["ptpipd", "vendors"]:
        return False
    if len(parts) == 2:
        return True
    return _vendor_data(name) or (len(parts) == 3 and not _is_module(name))


def violations(module: str, found: set[str]) -> list[str]:
    """The imports of ``module`` that break the layering."""
    if _under(module, "ptpipd.sim"):
        return sorted(n for n in found if not sim_may_import(n))
    if is_vendor_data(module):
        return sorted(n for n in found if not (any(_under(n, a) for a in DATA_ALLOWED) or _vendor_data(n)))
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
        ("ptpipd.camera_properties", "from ptpipd.camera import Camera\n", True),
        ("ptpipd.camera_images", "from ptpipd.service import CameraService\n", True),
        ("ptpipd.camera_images", "from ptpipd.camera_properties import Errors\n", False),
        ("ptpipd.ip.x", "from ..ptp import datasets\n", False),
        ("ptpipd.ip.x", "def f():\n    import ptpipd.service\n", True),
        ("ptpipd.sim.x", "from ptpipd.vendors.fuji import FujiDriver\n", True),
        ("ptpipd.sim.x", "from ptpipd.vendors.fuji_codes import FujiProperty\n", False),
        ("ptpipd.sim.x", "from ptpipd.vendors.fuji_body_codes import BODIES\n", False),
        ("ptpipd.vendors.fuji_body_codes", "from ptpipd.ip.fuji import FUJI\n", True),
        ("ptpipd.sim.x", "from ptpipd.vendors.canon_codes import CanonOperation\n", False),
        ("ptpipd.sim.x", "from ptpipd.vendors.labels import Numeric\n", False),
        ("ptpipd.sim.x", "from ptpipd.vendors import VENDORS\n", False),
        ("ptpipd.sim.x", "from ptpipd.vendors import base\n", True),
        ("ptpipd.sim.x", "import ptpipd.vendors.generic\n", True),
        ("ptpipd.sim.x", "from ptpipd.camera import Camera\n", True),
        ("ptpipd.sim.x", "from ptpipd.ip.transport import Initiator\n", True),
        ("ptpipd.sim.x", "from ptpipd.ip import initiator\n", True),
        ("ptpipd.sim.x", "from ptpipd.ip.packets import Event\n", False),
        ("ptpipd.web.x", "from ptpipd.transports.lines import MAX_LINE\n", True),
        ("ptpipd.web.x", "from ptpipd.daemon import run\n", True),
        ("ptpipd.web.x", "from ptpipd.legacy import adapter\n", True),
        ("ptpipd.web.x", "from ptpipd.config import Settings\n", True),
        ("ptpipd.web.x", "from ptpipd.service import CameraService\n", False),
        ("ptpipd.web.x", "from ptpipd.rpc.urls import files_url\n", False),
        ("ptpipd.vendors.nikon_codes", "from ptpipd.vendors.labels import Numeric\n", False),
        ("ptpipd.vendors.nikon_codes", "from ptpipd.ip.packets import Event\n", True),
        ("ptpipd.vendors.fuji_codes", "from ptpipd.vendors.base import PropertySpec\n", True),
        ("ptpipd.vendors.labels", "from ptpipd.ptp import Value\n", False),
        ("ptpipd.vendors.fuji_body_codes", "from ptpipd.vendors.fuji_codes import FujiProperty\n", False),
        ("ptpipd.legacy.x", "from ptpipd.transports.lines import MAX_LINE\n", True),
        ("ptpipd.legacy.x", "from ptpipd.rpc import Dispatcher\n", False),
    ],
)
def test_the_checker_sees_violations(module: str, source: str, bad: bool) -> None:
    assert bool(violations(module, imports(source, module))) == bad


def test_a_fresh_interpreter_running_the_simulator_loads_nothing_else() -> None:
    """Every simulated body, the server and the CLI, and what their packages import in turn."""
    bodies = ", ".join(
        f"ptpipd.sim.{p.stem}" for p in sorted((PKG / "sim").glob("*.py")) if p.stem != "__main__"
    )
    code = f"import sys, {bodies}; print(*sorted(m for m in sys.modules if m.startswith('ptpipd')))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    modules = loaded.stdout.split()
    assert "ptpipd.sim.server" in modules and "ptpipd.vendors" in modules
    assert [m for m in modules if m != "ptpipd" and not sim_may_import(m)] == []
