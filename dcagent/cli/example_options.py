"""The `dcagent compress` options a bundled example (examples/NAME/meta.json) is compressed with.

An example's meta.json may carry `"compress": {"refit": true}`: options of `dcagent compress`
that its benchmark row (bench/compress_bench.py) and `dcagent demo --example NAME` use, as a
user who measured them would pass them on the command line (`cli_flags`). An example without
the key compresses with the defaults.

- kws sets `refit` (sequential refit): its DS-CNN is a chain of nine small convolutions in
  which every layer's rounding error reaches the next, and refitting each chosen layer on the
  compressed model's own inputs took its search from 10,444 B to 8,516 B at the same 1-point
  budget (docs/compression.md, "kws"). On fashion_cnn and har the same option made the search
  stop larger (bench/README.md, "With --refit"), so it is not a default.
"""
from __future__ import annotations

from typing import Any

from host.errors import DataError
from host.passes.engine import SearchSpace

# meta.json "compress" key -> (SearchSpace field, the dcagent compress flag that sets it)
OPTIONS = {"refit": ("sequential_refit", "--refit")}


def compress_options(meta: dict[str, Any]) -> dict[str, bool]:
    """The example's compression options ({} for the defaults).

    Raises DataError when "compress" is not an object, names an option this module does not
    know, or gives one a value that is not a bool.
    """
    options = meta.get("compress", {})
    if not isinstance(options, dict):
        raise DataError(f"meta.json compress must be an object of options, not {options!r}")
    for key, value in options.items():
        if key not in OPTIONS:
            raise DataError(f"meta.json compress option {key!r} is unknown (known: {', '.join(OPTIONS)})")
        if not isinstance(value, bool):
            raise DataError(f"meta.json compress option {key!r} must be true or false, not {value!r}")
    return dict(options)


def search_space(meta: dict[str, Any], **overrides: bool) -> SearchSpace:
    """The SearchSpace `dcagent compress` uses with the example's flags (plus `overrides`, by
    meta key: a True given here turns an option on for every example)."""
    options = compress_options(meta)
    for key, value in overrides.items():
        compress_options({"compress": {key: value}})
        options[key] = options.get(key, False) or value
    return SearchSpace(**{OPTIONS[key][0]: value for key, value in options.items()})


def cli_flags(meta: dict[str, Any]) -> list[str]:
    """The `dcagent compress` flags that give the example's options."""
    return [OPTIONS[key][1] for key, value in compress_options(meta).items() if value]
