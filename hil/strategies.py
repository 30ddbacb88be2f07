"""Sequencing (labgrid's "strategies"): bring a board from off to a measured model and back.

    off -> flash firmware -> power on -> console commands -> load model -> run -> power off

"load model" is the driver's own upload unless the strategy is given a `loader` (a board with
`delivery = "mqtt"` gets its model through a broker and a gateway agent: hil/delivery.py).

Each step runs under its own time limit (the suite's step_timeouts) passed down to the driver,
whose waits honour it; the runner's watchdog kills the board if a whole case overruns. A step
that fails raises, and power off always runs, so a board never outlives its case.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hil.drivers.base import BoardDriver, FirmwareInfo, Inference, LoadedModel
from hil.meters.base import Acquisition, PowerMeter

#: Loads a container onto the board within a time limit: (container, timeout_s) -> LoadedModel.
Loader = Callable[[bytes, float], LoadedModel]


@dataclass
class RawMeasurement:
    """What one pass of the strategy brought back, before it is judged."""

    firmware: FirmwareInfo | None = None
    model: LoadedModel | None = None
    inferences: list[Inference] = field(default_factory=list)
    acquisition: Acquisition | None = None
    console: list[tuple[str, str]] = field(default_factory=list)


class InferenceStrategy:
    """See module docstring. `on_step(name)` and `on_sample(done, total)` report progress."""

    def __init__(self, driver: BoardDriver, timeouts: Callable[[str], float], *, meter: PowerMeter | None = None,
                 on_step: Callable[[str], None] | None = None,
                 on_sample: Callable[[int, int], None] | None = None, loader: Loader | None = None) -> None:
        self.driver = driver
        self.loader = loader or driver.load_model
        self.timeout = timeouts
        self.meter = meter
        self.on_step = on_step or (lambda _name: None)
        self.on_sample = on_sample or (lambda _done, _total: None)
        self.state = "off"
        self.failed_in: str | None = None  # the step that raised, if one did

    def _enter(self, state: str) -> None:
        self.state = state
        self.on_step(state)

    def run(self, container: bytes, inputs: list[bytes], console: tuple[str, ...] = ()) -> RawMeasurement:
        """Run the whole sequence once. Raises whatever a step raises (after powering off)."""
        out = RawMeasurement()
        try:
            self._enter("flash firmware")
            out.firmware = self.driver.flash_firmware(self.timeout("flash_firmware"))
            if self.meter is not None:
                self._enter("meter power on")
                self.meter.power(True)
            self._enter("power on")
            self.driver.power_on(self.timeout("power_on"))
            for line in console:
                self._enter(f"console: {line}")
                out.console.append((line, self.driver.console(line, self.timeout("console"))))
            self._enter("load model")
            out.model = self.loader(container, self.timeout("load_model"))
            self._enter("run")
            with self.driver.session(self.timeout("infer")) as session:
                if self.meter is not None:
                    self.meter.start()
                for done, data in enumerate(inputs, start=1):
                    out.inferences.append(session.run(data))
                    self.on_sample(done, len(inputs))
                if self.meter is not None:
                    out.acquisition = self.meter.stop()
        except BaseException:
            self.failed_in = self.state
            raise
        finally:
            self._enter("power off")
            self.driver.power_off()
            if self.meter is not None:
                try:
                    self.meter.power(False)
                except Exception:  # noqa: BLE001 - a meter that cannot switch the supply is fine here
                    pass
            self.state = "off"
        return out

