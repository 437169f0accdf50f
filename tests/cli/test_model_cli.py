"""`miles model show|promote|list`: one meaning of the words everywhere ('served' is what Miles serves, 'default'
the packaged default), and `miles model promote default` serves the packaged default again after a promotion."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from miles.cli.main import app
from miles.config import Settings, get_settings
from miles.features.schema import FEATURE_VERSION
from miles.model.predict import packaged_default_dir
from miles.recommend.scoring import served_model_dir
from miles.store.db import session_scope
from miles.store.repos.models import promoted_model, register_model

runner = CliRunner()
CHALLENGER = "bundle-challenger-test"


@pytest.fixture
def cli_env(sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("MILES_DATA_DIR", str(sqlite_settings.data_dir))
    monkeypatch.setenv("MILES_CACHE_DIR", str(sqlite_settings.cache_dir))
    monkeypatch.setenv("COLUMNS", "250")  # Rich wraps at the terminal's width
    monkeypatch.delenv("MILES_DATABASE_URL", raising=False)
    monkeypatch.delenv("MILES_MODEL_DIR", raising=False)
    get_settings.cache_clear()
    yield sqlite_settings
    get_settings.cache_clear()


@pytest.fixture
def challenger(cli_env: Settings, tmp_path: Path) -> Path:
    """A registered bundle, as a retrain leaves one: the packaged default's files under another version."""
    path = shutil.copytree(packaged_default_dir(), tmp_path / "challenger")
    bundle = json.loads((path / "bundle.json").read_text(encoding="utf-8"))
    (path / "bundle.json").write_text(json.dumps({**bundle, "version": CHALLENGER}), encoding="utf-8")
    with session_scope(cli_env) as session:
        register_model(session=session, version=CHALLENGER, task="both", path=str(path),
                       feature_version=FEATURE_VERSION, metrics={})  # fmt: skip
    return path


def shown(*args: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, ["model", "show", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def said(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return " ".join(result.stdout.split())


def test_help_gives_served_and_default_one_meaning(cli_env: Settings) -> None:
    show = said("model", "show", "--help")
    assert "'served' (the one served) or 'default' (the packaged default)" in show and "[default: served]" in show
    assert "'default' (the served one)" not in show
    assert "'default': the packaged default again" in said("model", "promote", "--help")
    assert "`served` (the one served) or `default` (the packaged default)" in said("model", "compare", "--help")


def test_promote_default_serves_the_packaged_default_again(cli_env: Settings, challenger: Path) -> None:
    packaged = shown("default")
    assert packaged["registered"] is False and packaged["path"] == str(packaged_default_dir())
    assert said("model", "promote", CHALLENGER) == f"promoted {CHALLENGER}"
    assert shown("served")["version"] == CHALLENGER and shown() == shown("served")
    assert shown("default") == packaged  # 'default' stays the packaged model whatever serves
    assert "`miles model promote default` serves the packaged default again" in said("model", "list")

    assert said("model", "promote", "default") == f"serving the packaged default ({packaged['version']}) again"
    assert shown("served") == packaged
    with session_scope(cli_env) as session:
        assert promoted_model(session=session) is None
        assert served_model_dir(cli_env, session) == packaged_default_dir()
    assert "the packaged default, not registered" in said("model", "list")
    assert shown(packaged["version"]) == packaged  # its version names it too, though it is never registered


def test_promote_served_is_refused_saying_what_to_give(cli_env: Settings) -> None:
    result = runner.invoke(app, ["model", "promote", "served"])
    assert result.exit_code == 1
    assert "'served' is what Miles serves already; promote a version from `miles model list` or 'default'" in str(
        result.exception
    )
