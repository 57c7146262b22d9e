"""Canonical JSON: the appendix examples and the value checks."""

import json

import pytest

from homeserver.events.canonical import (
    InvalidJSONValue,
    check_canonical_json,
    encode_canonical_json,
)

# Spec: Appendices, "Canonical JSON", "Examples".
APPENDIX_EXAMPLES = [
    ("{}", b"{}"),
    ('{"one": 1, "two": "Two"}', b'{"one":1,"two":"Two"}'),
    ('{"b": "2", "a": "1"}', b'{"a":"1","b":"2"}'),
    ('{"b":"2","a":"1"}', b'{"a":"1","b":"2"}'),
    (
        """{"auth": {"success": true, "mxid": "@john.doe:example.com",
        "profile": {"display_name": "John Doe", "three_pids": [
        {"medium": "email", "address": "john.doe@example.org"},
        {"medium": "msisdn", "address": "123456789"}]}}}""",
        b'{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":'
        b'"John Doe","three_pids":[{"address":"john.doe@example.org","medium":'
        b'"email"},{"address":"123456789","medium":"msisdn"}]},"success":true}}',
    ),
    ('{"a": "日本語"}', '{"a":"日本語"}'.encode()),
    ('{"本": 2, "日": 1}', '{"日":1,"本":2}'.encode()),
    ('{"a": "\\u65E5"}', '{"a":"日"}'.encode()),
    ('{"a": null}', b'{"a":null}'),
]


@pytest.mark.parametrize(("source", "expected"), APPENDIX_EXAMPLES)
def test_appendix_example_encodes(source: str, expected: bytes) -> None:
    assert encode_canonical_json(json.loads(source)) == expected


def test_negative_zero_and_exponent_example() -> None:
    # The appendix writes {"a": -0, "b": 1e10}. A JSON parser yields -0 as the
    # integer 0 and 1e10 as a float, which must first become an integer.
    value = {"a": json.loads("-0"), "b": int(json.loads("1e10"))}
    assert encode_canonical_json(value) == b'{"a":0,"b":10000000000}'


def test_escapes_control_characters() -> None:
    encoded = encode_canonical_json({"a": "\x01\n\"\\"})
    assert encoded == b'{"a":"\\u0001\\n\\"\\\\"}'


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        "text",
        2**53 - 1,
        -(2**53) + 1,
        {"nested": [1, {"deep": "x"}]},
    ],
)
def test_check_accepts_canonical_values(value: object) -> None:
    check_canonical_json(value)


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"a": 1.5}, "$.a"),
        ({"a": float("nan")}, "$.a"),
        ({"a": float("inf")}, "$.a"),
        ({"a": [0, 1.0]}, "$.a[1]"),
        ({"a": {"b": 2**53}}, "$.a.b"),
        ({"a": -(2**53)}, "$.a"),
        ({"a": {1: "x"}}, "$.a"),
        ({"a": {1, 2}}, "$.a"),
    ],
)
def test_check_rejects_value_and_names_path(value: object, path: str) -> None:
    with pytest.raises(InvalidJSONValue) as excinfo:
        check_canonical_json(value)
    assert f" at {path} " in str(excinfo.value)
