"""Bad configuration gets a clear error naming the field, the value and what is allowed."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from engine.runtime.config import ConfigError, load_config
from wsb_tui.cli import main

KNOWN = frozenset({"index_baseline", "wheel"})


def _check(tmp_path, text: str) -> list[str]:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={}, known_strategies=KNOWN)
    return info.value.problems


def test_load_when_toml_malformed_then_error_names_file_and_syntax(tmp_path):
    problems = _check(tmp_path, "[engine\nspeed = 3\n")
    assert len(problems) == 1
    assert "c.toml" in problems[0]
    assert "not valid TOML" in problems[0]


def test_load_when_values_out_of_range_then_every_field_value_and_rule_listed(tmp_path):
    problems = _check(
        tmp_path,
        "[broker]\ninitial_cash = -5\n[engine]\nconfirm_timeout_s = 0\n[risk]\nmax_position_pct = 2.5\n",
    )
    text = "\n".join(problems)
    assert len(problems) == 3
    assert "broker.initial_cash = -5" in text
    assert "greater than 0" in text
    assert "engine.confirm_timeout_s = 0" in text
    assert "risk.max_position_pct = 2.5" in text
    assert "less than or equal to 1" in text


def test_load_when_unknown_key_then_refused_not_ignored(tmp_path):
    problems = _check(tmp_path, "[engine]\nspeeed = 3\n")
    assert problems == [
        f"{tmp_path / 'c.toml'}: engine.speeed = 3 -> unknown key (not a setting of wsb)"
    ]


def test_load_when_unknown_strategy_then_allowed_names_listed(tmp_path):
    problems = _check(tmp_path, '[strategies]\nenabled = ["wheel", "yolo_bot"]\n')
    assert len(problems) == 1
    assert "'yolo_bot'" in problems[0]
    assert "allowed: index_baseline, wheel" in problems[0]


def test_load_when_unknown_profile_then_profiles_listed(tmp_path):
    problems = _check(tmp_path, '[strategies]\nprofile = "yolo_2026"\n')
    assert "strategies.profile = 'yolo_2026'" in problems[0]
    assert "research_2024, wsb_2025" in problems[0]


def test_load_when_environment_overrides_then_layered_and_validated(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[data]\nseed = 3\n")
    cfg = load_config(path, environ={"WSB__DATA__SEED": "11"})
    assert cfg.data.seed == 11
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={"WSB__ENGINE__CONFIRM_TIMEOUT_S": "soon"})
    assert "engine.confirm_timeout_s = 'soon'" in info.value.problems[0]


def test_load_when_explicit_path_missing_then_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})


def test_config_check_cli_when_errors_then_each_printed_and_exit_nonzero(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[broker]\ninitial_cash = 0\n[strategies]\nenabled = ["nope"]\n')
    result = CliRunner().invoke(main, ["config", "check", "--config", str(path)])
    assert result.exit_code == 1
    assert "broker.initial_cash = 0" in result.output
    assert "'nope'" in result.output


def test_config_check_cli_when_valid_then_ok_and_exit_zero(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[strategies]\nprofile = "wsb_2025"\n')
    result = CliRunner().invoke(main, ["config", "check", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "config OK" in result.output


def test_engine_cli_when_bad_run_for_then_clear_message(tmp_path):
    result = CliRunner().invoke(
        main, ["engine", "--run-for", "soon", "--db", str(tmp_path / "x.sqlite")]
    )
    assert result.exit_code == 2
    assert "--run-for" in result.output
    assert "30d" in result.output


def test_engine_cli_when_bad_speed_then_clear_message(tmp_path):
    result = CliRunner().invoke(
        main, ["engine", "--speed", "-3", "--db", str(tmp_path / "x.sqlite")]
    )
    assert result.exit_code == 2
    assert "must be positive" in result.output


def test_load_when_strategy_param_out_of_range_then_strategy_field_value_and_rule(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[strategies.overrides.wheel]\nparams = { max_positions = -4, bogus = 1 }\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    (problem,) = info.value.problems
    assert "strategy wheel (research_2024)" in problem
    assert "max_positions=-4" in problem
    assert "greater than or equal to 1" in problem
    assert "bogus=1" in problem
