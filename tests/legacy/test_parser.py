"""The text grammar (DESIGN.md §5, FUJI.md §14): every command and alias, hex-first properties, and one clear
error for everything else. Pure: no daemon."""

from __future__ import annotations

import pytest

from ptpipd.legacy.parser import MAX_LINE, USAGE, Command, ParseError, help_text, parse, parse_property


def ok(line: str) -> Command:
    command = parse(line)
    assert command is not None
    return command


@pytest.mark.parametrize("word", ["capture", "shoot", "shutter", "snap", "SNAP", "Capture"])
def test_capture_and_its_aliases(word: str) -> None:
    assert ok(word) == Command("capture")
    assert ok(f"{word} /tmp/x.jpg") == Command("capture", path="/tmp/x.jpg")


def test_capture_takes_at_most_a_path() -> None:
    with pytest.raises(ParseError) as exc:
        parse("capture a b")
    assert exc.value.line() == "capture error: too many arguments; usage: capture [PATH]"


@pytest.mark.parametrize("name", ["info", "state"])
@pytest.mark.parametrize(
    ("suffix", "as_json", "pretty"),
    [("", False, False), (" json", True, False), (" json pretty", True, True), (" JSON Pretty", True, True)],
)
def test_json_and_pretty(name: str, suffix: str, as_json: bool, pretty: bool) -> None:
    assert ok(name + suffix) == Command(name, json=as_json, pretty=pretty)


@pytest.mark.parametrize("line", ["info pretty", "info json ugly", "state json pretty extra", "info yaml"])
def test_bad_json_flags(line: str) -> None:
    with pytest.raises(ParseError) as exc:
        parse(line)
    name = line.split()[0]
    assert exc.value.line().startswith(f"{name} error: unexpected ")
    assert f"usage: {name} [json [pretty]]" in exc.value.line()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0x5005", 0x5005),
        ("5005", 0x5005),  # the seed reads a bare number as hex first
        ("0XD02A", 0xD02A),
        ("d02a", 0xD02A),
        ("1", 1),
        ("iso", "iso"),
        ("exp-bias", "exp-bias"),
        ("12345", "12345"),  # five hex digits do not fit a property code: a name (unknown to the daemon)
        ("0x", "0x"),
    ],
)
def test_property_is_hex_first_then_a_name(text: str, expected: str | int) -> None:
    assert parse_property(text) == expected
    assert ok(f"get {text}").prop == expected
    assert ok(f"describe {text} json").prop == expected


def test_get_set_describe() -> None:
    assert ok("get iso") == Command("get", prop="iso", prop_text="iso")
    assert ok("set 0xD02A 0x320") == Command("set", prop=0xD02A, prop_text="0xD02A", value="0x320")
    assert ok("set exp-bias -1/3").value == "-1/3"
    assert ok("describe iso json pretty") == Command(
        "describe", prop="iso", prop_text="iso", json=True, pretty=True
    )


@pytest.mark.parametrize("value", ["-1 2/3", "AI Servo", "One Shot", "Lo 1.0", "Hi 1", "Color temperature"])
def test_set_takes_the_rest_of_the_line_as_its_value(value: str) -> None:
    """Labels hold blanks, and ``get`` prints them (``-1 2/3 (0xf97d)``): a script writes back what it read.
    The seed's README gives ``set`` two parameters, the property and the value; the value is now all the
    rest of the line."""
    assert ok(f"set exp-bias {value}") == Command("set", prop="exp-bias", prop_text="exp-bias", value=value)
    assert ok(f"SET 0x5010 {value}\r\n") == Command("set", prop=0x5010, prop_text="0x5010", value=value)


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("set artist Jane  Doe", "Jane  Doe"),  # blanks inside are kept as typed (a string property)
        ("  set\tartist \t Jane\tDoe \t\r\n", "Jane\tDoe"),  # blanks around it are not
        ("set iso 800 now", "800 now"),  # the seed's code ignored "now"; now it is part of the value
        ("set exp-bias -1\u00a02/3", "-1\u00a02/3"),  # a Unicode blank is one to str.split() too
    ],
)
def test_set_keeps_blanks_inside_the_value(line: str, value: str) -> None:
    assert ok(line).value == value
    assert ok(line).prop_text == line.split()[1]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("get", "get error: missing a property; usage: get PROP"),
        ("get iso extra", "get error: too many arguments; usage: get PROP"),
        ("set iso", "set error: missing a value; usage: set PROP VALUE"),
        ("set", "set error: missing a property; usage: set PROP VALUE"),
        ("set iso \t ", "set error: missing a value; usage: set PROP VALUE"),
        ("describe", "describe error: missing a property; usage: describe PROP [json [pretty]]"),
    ],
)
def test_property_command_errors(line: str, message: str) -> None:
    with pytest.raises(ParseError) as exc:
        parse(line)
    assert exc.value.line() == message


def test_opreq() -> None:
    assert ok("opreq 0x902B") == Command("opreq", code=0x902B)
    assert ok("opreq 0x1015 0xD212") == Command("opreq", code=0x1015, params=(0xD212,))
    assert ok("opreq 1015 d212 0 ffffffff").params == (0xD212, 0, 0xFFFF_FFFF)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("opreq", "opreq error: missing the operation code; usage: opreq CODE [PARAM...]"),
        ("opreq zz", "opreq error: operation code 'zz' is not a hex number (e.g. 0x1015)"),
        ("opreq 0x10000", "opreq error: operation code '0x10000' does not fit in 16 bits"),
        ("opreq 0x1015 0x100000000", "opreq error: parameter '0x100000000' does not fit in 32 bits"),
        ("opreq 0x1015 1 2 3 4 5 6", "opreq error: at most 5 parameters; usage: opreq CODE [PARAM...]"),
    ],
)
def test_opreq_errors(line: str, message: str) -> None:
    with pytest.raises(ParseError) as exc:
        parse(line)
    assert exc.value.line() == message


def test_help() -> None:
    assert ok("help") == Command("help")
    assert ok("help snap").topic == "capture"
    assert ok("help GET").topic == "get"
    with pytest.raises(ParseError, match="unknown command 'bogus'"):
        parse("help bogus")
    text = help_text()
    for name in USAGE:
        assert f"\n  {USAGE[name][0]}" in text
    for alias in ("shoot", "shutter", "snap"):
        assert alias in text
    assert help_text("capture").startswith("capture [PATH]\n")


@pytest.mark.parametrize("line", ["", "   ", "\r\n", "\t\n"])
def test_blank_lines_are_nothing(line: str) -> None:
    assert parse(line) is None


def test_unknown_command_is_one_line_naming_it() -> None:
    with pytest.raises(ParseError) as exc:
        parse("liveview novf")
    line = exc.value.line()
    assert "\n" not in line
    assert line.startswith("unknown command 'liveview'; try 'help'")


def test_windows_line_ending_and_extra_blanks() -> None:
    assert ok("  get   iso \r\n") == Command("get", prop="iso", prop_text="iso")


def test_auth() -> None:
    assert ok("auth s3cret").token == "s3cret"
    with pytest.raises(ParseError, match="usage: auth TOKEN"):
        parse("auth")


def test_help_lists_auth() -> None:
    """A listener off loopback wants ``auth TOKEN`` first: ``help`` says so, and ``help auth`` explains it."""
    assert "\n  auth TOKEN " in help_text()
    assert ok("help auth").topic == "auth"
    about = help_text("auth")
    assert about.startswith("auth TOKEN\n")
    assert "loopback" in about and "auth_token" in about


def test_line_cap_is_4_kib() -> None:
    assert MAX_LINE == 4096
