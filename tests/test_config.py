"""Settings: validated at start-up, every one documented in the README (STYLE.md habit 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from miles.config import Settings, load_settings
from miles.errors import ConfigError

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_described_and_documented(name: str) -> None:
    field = Settings.model_fields[name]
    assert field.description, f"setting {name} has no description"
    assert f"MILES_{name.upper()}" in README.read_text(), f"README does not document MILES_{name.upper()}"


def test_production_refuses_default_secret() -> None:
    with pytest.raises(ConfigError, match="MILES_SECRET_KEY"):
        load_settings(env="production")
    with pytest.raises(ConfigError) as err:
        load_settings(env="production", secret_key="x")
    assert str(err.value).startswith("invalid settings: MILES_SECRET_KEY is shorter than 32 bytes;")
    assert load_settings(env="production", secret_key="a-real-secret-" + "k" * 18).env == "production"


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILES_PORT", "not-a-port")
    with pytest.raises(ConfigError, match="MILES_PORT"):
        load_settings()


def test_sqlite_is_the_default(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'miles.db'}"
