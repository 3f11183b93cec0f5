"""The live-trading gate: paper by default, live only when asked, confirmed and limited."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from engine.broker.alpaca import AlpacaSettings
from engine.broker.protocol import Account
from engine.runtime.config import RiskConfig, load_config
from engine.runtime.live_gate import (
    LiveGateError,
    decide,
    paper_record_problems,
    requested_mode,
)

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
LIVE = Account(
    "918274635", Decimal(5000), Decimal(5000), Decimal(0), Decimal(5000), NOW, is_paper=False
)
PAPER = Account(
    "PA3XYZ9876", Decimal("1e5"), Decimal("1e5"), Decimal(0), Decimal("1e5"), NOW, is_paper=True
)
LIVE_URL = AlpacaSettings(paper=False).targets_live_endpoint


def test_requested_mode_when_nothing_asked_then_paper() -> None:
    assert requested_mode("paper", live_flag=False) == "paper"
    assert requested_mode("paper", live_flag=True) == "live"
    assert requested_mode("live", live_flag=False) == "live"
    assert LIVE_URL is True
    assert AlpacaSettings(paper=True).targets_live_endpoint is False


def test_decide_when_paper_then_no_confirmation_and_no_overrides() -> None:
    d = decide(
        config_mode="paper",
        live_flag=False,
        account=PAPER,
        targets_live_endpoint=False,
        risk=RiskConfig(),
        headless=True,
    )
    assert (d.mode, dict(d.risk_overrides)) == ("paper", {})


def test_decide_when_paper_mode_but_live_endpoint_then_refused() -> None:
    with pytest.raises(LiveGateError, match="paper mode, but"):
        decide(
            config_mode="paper",
            live_flag=False,
            account=LIVE,
            targets_live_endpoint=True,
            risk=RiskConfig(),
            headless=True,
        )


def test_decide_when_live_flag_with_paper_account_then_refused() -> None:
    with pytest.raises(LiveGateError, match="PAPER account"):
        decide(
            config_mode="paper",
            live_flag=True,
            account=PAPER,
            targets_live_endpoint=False,
            risk=RiskConfig(),
            headless=True,
            confirm_suffix="9876",
        )


def test_decide_when_headless_live_without_confirm_flag_then_refused() -> None:
    with pytest.raises(LiveGateError, match="--confirm-live SUFFIX"):
        decide(
            config_mode="live",
            live_flag=False,
            account=LIVE,
            targets_live_endpoint=True,
            risk=RiskConfig(),
            headless=True,
        )


def test_decide_when_headless_live_with_wrong_suffix_then_refused_without_revealing_it() -> None:
    with pytest.raises(LiveGateError) as info:
        decide(
            config_mode="live",
            live_flag=False,
            account=LIVE,
            targets_live_endpoint=True,
            risk=RiskConfig(),
            headless=True,
            confirm_suffix="1234",
        )
    assert "4635" not in str(info.value)


def test_decide_when_headless_live_with_right_suffix_then_live_with_conservative_limits() -> None:
    d = decide(
        config_mode="paper",
        live_flag=True,
        account=LIVE,
        targets_live_endpoint=True,
        risk=RiskConfig(),
        headless=True,
        confirm_suffix=" 4635 ",
    )
    assert d.is_live
    assert dict(d.risk_overrides) == {"max_position_pct": 0.05, "max_total_risk_pct": 0.10}


def test_decide_when_interactive_then_prompt_hides_digits_and_must_match() -> None:
    shown: list[str] = []

    def typed(answer: str):
        def prompt(text: str) -> str:
            shown.append(text)
            return answer

        return prompt

    d = decide(
        config_mode="live",
        live_flag=False,
        account=LIVE,
        targets_live_endpoint=True,
        risk=RiskConfig(),
        headless=False,
        prompt=typed("4635"),
    )
    assert d.is_live
    assert "4635" not in shown[0]
    assert "918274635" not in shown[0]
    with pytest.raises(LiveGateError, match="did not match"):
        decide(
            config_mode="live",
            live_flag=False,
            account=LIVE,
            targets_live_endpoint=True,
            risk=RiskConfig(),
            headless=False,
            prompt=typed("yes"),
        )


def test_decide_when_risk_limit_set_explicitly_then_kept_and_reported(tmp_path) -> None:
    cfg_file = tmp_path / "config.toml"
    cfg_file.write_text("[risk]\nmax_position_pct = 0.2\n")
    cfg = load_config(cfg_file, environ={})
    d = decide(
        config_mode="live",
        live_flag=False,
        account=LIVE,
        targets_live_endpoint=True,
        risk=cfg.risk,
        headless=True,
        confirm_suffix="4635",
    )
    assert dict(d.risk_overrides) == {"max_total_risk_pct": 0.10}
    assert any("max_position_pct = 0.2 set explicitly" in n for n in d.notes)


def test_paper_record_when_short_history_then_each_shortfall_named() -> None:
    assert paper_record_problems(20, 15, 0.05) == []
    problems = paper_record_problems(9, 3, 0.25)
    assert problems == [
        "paper trading days 9 < 14",
        "paper trades 3 < 10",
        "paper loss 25.0% > 20%",
    ]
