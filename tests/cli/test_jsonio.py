"""ptpipctl's JSON without the json module (nor CPython's private _json) agrees with the json module."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ptpipctl.jsonio import JSONError, dumps, loads

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(values)
def test_dumps_is_compact_json(value: Any) -> None:
    assert dumps(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert loads(dumps(value)) == json.loads(json.dumps(value))


@given(st.text())
def test_strings_with_escapes_both_ways(text: str) -> None:
    """Every escape json writes (ASCII-only ``\\uXXXX`` with surrogate pairs included) reads back."""
    for encoded in (json.dumps(text), json.dumps(text, ensure_ascii=False)):
        assert loads(encoded) == text


@given(values, st.sampled_from(["", " ", "\n", "\t \r\n"]))
def test_loads_agrees_with_json(value: Any, blank: str) -> None:
    text = blank + json.dumps(value, indent=2) + blank
    assert loads(text) == json.loads(text)


@pytest.mark.parametrize(
    "text",
    ["", "{", "[1,]", "1 2", '"open', "nul", "{'a': 1}", "[1] x", "01", "1.", "-", '"\\x"', '"a\tb"', "[1}"],
)
def test_errors_are_json_errors_with_jsons_words(text: str) -> None:
    with pytest.raises(JSONError) as exc:
        loads(text)
    with pytest.raises(json.JSONDecodeError) as reference:
        json.loads(text)
    assert str(exc.value) == str(reference.value)


def test_no_json_module_on_the_way_and_errors_worded_by_it() -> None:
    """The daemon's JSON (no escapes) is read without importing json (nor _json); an error imports json."""
    code = (
        "import sys\n"
        "from ptpipctl.jsonio import JSONError, loads\n"
        "assert loads('{\"a\": [1, 2.5, \"é\", true, null], \"b\": {}}') == {'a': [1, 2.5, 'é', True, None], 'b': {}}\n"
        "assert not {'json', '_json'} & set(sys.modules)\n"
        "try:\n    loads('{bad')\nexcept JSONError as exc:\n    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)\n"


def test_constants_and_non_finite_floats() -> None:
    assert math.isnan(loads("NaN"))
    assert loads("[Infinity, -Infinity]") == [math.inf, -math.inf]
    assert dumps([math.inf, -math.inf]) == "[Infinity,-Infinity]"
    assert dumps(math.nan) == "NaN"


def test_dumps_refuses_what_json_refuses() -> None:
    with pytest.raises(TypeError):
        dumps({1: "a"})
    with pytest.raises(TypeError):
        dumps(object())
    assert dumps((1, 2)) == "[1,2]"


@pytest.mark.parametrize("length", [10, 300, 100_000])
def test_raw_control_characters_are_refused_in_short_and_long_strings(length: int) -> None:
    for char in ("\x00", "\t", "\x1f"):
        text = '"' + "A" * length + char + '"'
        with pytest.raises(JSONError) as exc:
            loads(text)
        with pytest.raises(json.JSONDecodeError) as reference:
            json.loads(text)
        assert str(exc.value) == str(reference.value)
    valid = '"' + "A" * length + "\xa0\u2028é" + '"'  # unprintable but valid unescaped
    assert loads(valid) == json.loads(valid)
