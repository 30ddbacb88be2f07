"""The CLI's conventions: --help, --version, usage errors, and the error -> exit code mapping."""
import subprocess
import sys

import pytest

from dcagent.cli import main
from dcagent.cli.exit_codes import BAD_INPUT, DEVICE, GOAL_NOT_MET, HARNESS, USAGE, GoalNotMetError, exit_code_for
from dcagent.errors import BoardError, ConfigError, TransportError
from hil.errors import HilError
from host.errors import BitstreamError, CodecError, DataError, KeyFileError, ModelError


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage: dcagent" in out and "COMMAND" in out


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("dcagent ")


def test_unknown_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == USAGE
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize(
    "error, code",
    [
        (GoalNotMetError("budget"), GOAL_NOT_MET),
        (ConfigError("bad flag"), USAGE),
        (KeyFileError("no key"), USAGE),
        (BitstreamError("bad magic", status="DC_ERR_MAGIC"), BAD_INPUT),
        (CodecError("truncated", status="DC_ERR_TRUNCATED"), BAD_INPUT),
        (ModelError("unsupported op"), BAD_INPUT),
        (DataError("wrong shape"), BAD_INPUT),
        (TransportError("port closed"), DEVICE),
        (BoardError("qemu missing"), DEVICE),
        (HilError("suite"), HARNESS),
        (FileNotFoundError("x"), USAGE),
    ],
)
def test_errors_map_to_exit_codes(error, code):
    assert exit_code_for(error) == code


def test_unexpected_exceptions_are_not_swallowed():
    assert exit_code_for(ZeroDivisionError()) is None


def test_console_script_runs_as_module():
    result = subprocess.run([sys.executable, "-m", "dcagent.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "dcagent" in result.stdout
