"""One CLI convention for every command: help, --config, --print-config, one error place, a listing."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from aekit.cli import main
from aekit.cli.commands import ALL_COMMANDS, COMMANDS
from aekit.cli.options import markers
from aekit.config import Positional

TYPED = [c for c in ALL_COMMANDS if c.options]
EXTRA = {"recommend top-k": ["--user", "1"]}  # one of two alternatives is required


def _minimal_argv(command) -> list[str]:
    """The command's name and a value for each required field (no files are read by --print-config)."""
    options = command.resolve(command.options)
    argv = command.name.split()
    for f in dataclasses.fields(options):
        if f.default is not dataclasses.MISSING:
            continue
        positional = any(isinstance(m, Positional) for m in markers(options)[f.name])
        argv += ["some-" + f.name] if positional else ["--" + f.name.replace("_", "-"), "some-" + f.name]
    return argv + EXTRA.get(command.name, [])


def test_the_overview_lists_every_command_on_one_line(capsys):
    assert main(["--help"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for name in COMMANDS.names():
        assert sum(line.strip().startswith(name + " ") for line in lines) >= 1, name


def test_an_unknown_command_is_one_line_and_exit_2(capsys):
    assert main(["trian", "--model", "vanilla"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown command 'trian" in err[0] and "train" in err[0]


@pytest.mark.parametrize("name", COMMANDS.names())
def test_every_command_has_help_with_config_and_print_config(name, capsys):
    assert main([*name.split(), "--help"]) == 0
    text = capsys.readouterr().out
    assert "--config" in text and "--print-config" in text


@pytest.mark.parametrize("command", TYPED, ids=lambda c: c.name)
def test_typed_options_are_the_fields_and_print_config_round_trips(command, capsys, tmp_path):
    options = command.resolve(command.options)
    assert main([*command.name.split(), "--help"]) == 0
    help_text = capsys.readouterr().out
    for f in dataclasses.fields(options):
        spelled = f.name.upper() if any(isinstance(m, Positional) for m in markers(options)[f.name]) else None
        assert (spelled and spelled in help_text) or f.name.replace("_", "-") in help_text, f.name
    argv = _minimal_argv(command)
    assert main([*argv, "--print-config"]) == 0
    printed = capsys.readouterr().out
    values = yaml.safe_load(printed)
    assert set(values) == {f.name for f in dataclasses.fields(options)}
    (tmp_path / "opts.yaml").write_text(printed)
    assert main([*command.name.split(), "--config", str(tmp_path / "opts.yaml"), "--print-config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == values  # the file alone gives the same config


@pytest.mark.parametrize("command", TYPED, ids=lambda c: c.name)
def test_an_unknown_option_is_one_line_and_exit_2(command, capsys):
    assert main([*_minimal_argv(command), "--no-such-option", "1"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--no-such-option" in err and "Traceback" not in err


def test_a_missing_required_option_is_named(capsys):
    assert main(["detect", "run-dir", "--out", "s.csv"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "data" in err


def test_demo_command_writes_its_report_and_its_resolved_config(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--train-size", "60", "--test-size", "50", "--epoch-scale", "0.01"]) == 0
    assert "report:" in capsys.readouterr().out and (out / "report.html").is_file()
    saved = yaml.safe_load((out / "demo.config.yaml").read_text())
    assert saved["train_size"] == 60 and saved["epoch_scale"] == 0.01 and saved["out"] == str(out)
