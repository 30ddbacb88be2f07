"""Delta containers: a new model coded against a base model the receiver already holds.

    delta = make_delta(base_dcb, new_dcb)          # unsigned: sign it like any container
    full = apply_delta(base_dcb, delta)            # byte-identical to new_dcb (its signature too)

Format: docs/delta.md. `make_delta` codes each tensor's levels conditioned on the base's
co-located levels (host.coder pred BASE), patches the base's metadata instead of repeating
it, and records the new container's content hash and signature, so `apply_delta` rebuilds
the new container exactly and a receiver verifies it as if it had downloaded it whole.
"""
from host.delta.apply import apply_delta, delta_record
from host.delta.make import DeltaReport, make_delta

__all__ = ["DeltaReport", "apply_delta", "delta_record", "make_delta"]
