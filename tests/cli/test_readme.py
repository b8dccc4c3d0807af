"""Issue 15 item 16: the README's ptpipctl section says what ``ptpipctl --help`` says. Its two tables (the
global options, the commands) are compared row for row with tables built from the help of the installed
``ptpipctl`` and of each of its commands; on a difference the assertion shows the rows to paste."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli.conftest import clean_env, ctl
from tests.procs import REPO

ENTRY = re.compile(r"^  (\S.*?)(?:  +(.*))?$")
ENV = re.compile(r"\s*\[env var: (\w+)\]$")


def sections(text: str) -> tuple[str, str, dict[str, list[tuple[str, str]]]]:
    """A typer help text: the usage line, the description, and each section's (term, text) entries with
    the wrapped lines joined."""
    usage, _, rest = text.partition("\n\n")
    blocks = rest.split("\n\n")
    description = " ".join(blocks[0].split())
    found: dict[str, list[tuple[str, str]]] = {}
    for block in blocks[1:]:
        title, _, body = block.partition("\n")
        if not title.endswith(":"):
            continue
        entries: list[tuple[str, str]] = found.setdefault(title[:-1], [])
        for line in body.splitlines():
            match = ENTRY.match(line)
            if match:
                entries.append((match[1], match[2] or ""))
            else:  # a wrapped line of the entry before
                term, words = entries[-1]
                entries[-1] = (term, f"{words} {line.strip()}".strip())
    return usage.removeprefix("Usage: "), description, found


def help_of(*words: str) -> tuple[str, str, dict[str, list[tuple[str, str]]]]:
    result = ctl(*words, "--help", env=clean_env(Path("/nonexistent")))
    assert result.code == 0, result.err
    return sections(result.out)


def option_rows() -> list[str]:
    _, _, found = help_of()
    rows = []
    for term, text in found["Options"]:
        if term == "-h, --help":
            continue
        env = ENV.search(text)
        rows.append(f"| `{term}` | {f'`{env[1]}`' if env else '–'} | {ENV.sub('', text) if env else text} |")
    return rows


def command_rows() -> list[str]:
    _, _, found = help_of()
    rows = []
    for name, _ in found["Commands"]:
        if name == "help":
            continue
        usage, description, parts = help_of(name)
        arguments = usage.removeprefix(f"ptpipctl {name} ").replace("[OPTIONS]", "").split()
        arguments = [re.sub(r"\{(\w+)\}", r"\1", a) for a in arguments]  # typer's {REQUIRED}, {MANY}...
        options = [term.replace(" / ", "/") for term, _ in parts["Options"] if term != "-h, --help"]
        synopsis = " ".join([name, *arguments, *(f"[{o}]" for o in options)])
        rows.append(f"| `{synopsis}` | {description} |")
    return rows


def readme_rows() -> tuple[list[str], list[str]]:
    """The rows of the option and command tables of the README's ptpipctl section."""
    text = (REPO / "README.md").read_text()
    section = text.split("\n## ptpipctl\n", 1)[1].split("\n## ", 1)[0]
    tables = [block.splitlines()[2:] for block in section.split("\n\n") if block.startswith("| ")]
    assert len(tables) == 2, "the section has two tables: the options, the commands"
    return tables[0], tables[1]


def test_readme_options_are_the_helps() -> None:
    expected = option_rows()
    assert readme_rows()[0] == expected, "\n" + "\n".join(expected)


def test_readme_commands_are_the_helps() -> None:
    expected = command_rows()
    assert readme_rows()[1] == expected, "\n" + "\n".join(expected)


def test_the_default_socket_and_the_timeout_are_documented() -> None:
    options = "\n".join(readme_rows()[0])
    assert "/tmp/ptpipd-$UID/ptpipd.sock" in options and "`--timeout SECONDS`" in options
