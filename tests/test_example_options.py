"""The compress options the bundled examples name in their meta.json (dcagent/cli/example_options.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from dcagent.cli.example_options import cli_flags, compress_options, search_space
from host.errors import DataError
from host.passes.engine import SearchSpace

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _meta(name: str) -> dict:
    return json.loads((EXAMPLES / name / "meta.json").read_text())


@pytest.mark.parametrize("name", ["fashion_cnn", "lenet300", "kws", "har"])
def test_every_example_names_only_known_options(name: str) -> None:
    options = compress_options(_meta(name))
    assert search_space(_meta(name)) == SearchSpace(sequential_refit=options.get("refit", False))


def test_kws_compresses_with_sequential_refit_and_the_others_with_the_defaults() -> None:
    assert cli_flags(_meta("kws")) == ["--refit"]
    assert search_space(_meta("kws")).sequential_refit
    for name in ("fashion_cnn", "lenet300", "har"):
        assert cli_flags(_meta(name)) == []
        assert search_space(_meta(name)) == SearchSpace()


def test_an_override_turns_an_option_on_for_any_example() -> None:
    assert search_space(_meta("fashion_cnn"), refit=True).sequential_refit
    assert search_space(_meta("kws"), refit=False).sequential_refit  # the example's own option stays


@pytest.mark.parametrize("compress,message", [({"refti": True}, "unknown"), ({"refit": "yes"}, "true or false"),
                                              (["--refit"], "an object")])
def test_a_bad_option_is_a_data_error(compress: object, message: str) -> None:
    with pytest.raises(DataError, match=message):
        search_space({"compress": compress})
    with pytest.raises(DataError, match=message):
        cli_flags({"compress": compress})
