import json

import pytest

from edge_digit.runtime.contract import SCHEMA_VERSION, Contract
from edge_digit.runtime.errors import ContractError


def test_json_round_trip():
    c = Contract(extra={"note": "x"})
    back = Contract.from_json(c.to_json())
    assert back == c
    assert json.loads(c.to_json())["schema_version"] == SCHEMA_VERSION


@pytest.mark.parametrize(
    "change, message",
    [
        ({"schema_version": 99}, "schema version 99"),
        ({"preprocess": "resize-only"}, "unknown preprocessing"),
        ({"surprise": 1}, "unknown fields"),
        ({"box": 40}, "does not fit"),
        ({"input_size": "abc"}, "malformed"),
    ],
)
def test_bad_contracts_are_refused(change, message):
    raw = json.loads(Contract().to_json())
    raw.update(change)
    with pytest.raises(ContractError, match=message):
        Contract.from_json(json.dumps(raw))


@pytest.mark.parametrize("text", ["not json", "[1, 2]", "null"])
def test_non_object_json_is_refused(text):
    with pytest.raises(ContractError):
        Contract.from_json(text)
