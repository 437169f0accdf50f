"""The `miles` command as a user runs it: a subprocess with its own data dir."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from miles.config import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def miles(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MILES_DATA_DIR": str(settings.data_dir),
        "MILES_DATABASE_URL": settings.database_url,
        "MILES_CACHE_DIR": str(settings.cache_dir),
    }
    return subprocess.run(
        [sys.executable, "-m", "miles.cli", *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_help_lists_commands(sqlite_settings: Settings) -> None:
    out = miles(sqlite_settings, "--help")
    assert out.returncode == 0
    for command in ("import", "export", "db", "serve"):
        assert command in out.stdout
    # a flag takes no value, so its help shows none (Typer 0.29 printed "--help <bool>")
    assert "<bool>" not in out.stdout


def test_python_dash_m_miles_runs_the_cli() -> None:
    """`python -m miles` is the `miles` script (it said "miles is a package and cannot be directly executed")."""
    out = subprocess.run([sys.executable, "-m", "miles", "--version"], capture_output=True, text=True, timeout=120,
                         check=False)  # fmt: skip
    assert out.returncode == 0 and out.stdout.startswith("miles "), out.stderr


def test_every_command_lists_in_one_paragraph() -> None:
    """A command list shows each command's first paragraph as written, line breaks included (Typer's rich mode), so
    a summary wrapped in its docstring read 'score            new videos' in `miles --help`."""
    import inspect

    import typer

    from miles.cli.main import app

    def walk(command: object, path: str) -> list[str]:
        wrapped = []
        for name, sub in getattr(command, "commands", {}).items():
            if "\n" in inspect.cleandoc(sub.help or "").split("\n\n")[0]:
                wrapped.append(f"{path} {name}")
            wrapped += walk(sub, f"{path} {name}")
        return wrapped

    assert walk(typer.main.get_command(app), "miles") == []


def test_import_then_stats(sqlite_settings: Settings) -> None:
    out = miles(sqlite_settings, "import", str(FIXTURES / "snapshots_small.csv"), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["snapshots_added"] == 4
    stats = miles(sqlite_settings, "db", "stats", "--json")
    assert json.loads(stats.stdout)["tables"]["video_snapshots"] == 4


def test_stats_on_a_narrow_terminal_breaks_no_word(sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """At 60 columns the table's title (the database URL) broke inside the URL: 'sqlite:////…/miles.' / 'db (revi…'."""
    monkeypatch.setenv("COLUMNS", "60")
    out = miles(sqlite_settings, "db", "stats")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert f"database sqlite:///{sqlite_settings.data_dir / 'miles.db'}" in lines  # whole, on a line of its own
    title = next(line.strip() for line in lines if "rows per table" in line)
    assert title.startswith("rows per table · revision ") and title.split()[-1].isdigit()
    assert all(len(line) <= 60 for line in lines if not line.startswith("database "))


def test_bad_file_prints_one_red_line(sqlite_settings: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("video_id,title,published_at,captured_at,views\nabc,T,2026-01-02T00:00:00Z,2026-01-01T00:00:00Z,5\n")
    out = miles(sqlite_settings, "import", str(bad))
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert "line 2: captured_at before published_at" in out.stderr.replace("\n", "")
    debug = miles(sqlite_settings, "--debug", "import", str(bad))
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_missing_file_is_a_clear_error(sqlite_settings: Settings) -> None:
    out = miles(sqlite_settings, "import", "/nonexistent/file.csv")
    assert out.returncode == 1 and "no such file" in out.stderr


@pytest.mark.parametrize(
    ("args", "usage", "problem"),
    [
        (("key", "create", "someone@example.com"), "miles key create [OPTIONS]", "Missing option '--email'"),
        (("key", "create"), "miles key create [OPTIONS]", "Missing option '--email'"),
        (("model", "promote"), "miles model promote [OPTIONS]", "Missing argument 'version'"),
        (("model", "list", "--limit", "zero"), "miles model list [OPTIONS]", "Invalid value for '--limit'"),
        (("model", "list", "--bogus"), "miles model list [OPTIONS]", "No such option: --bogus"),
    ],
)
def test_usage_errors_print_the_usage_and_exit_2(
    sqlite_settings: Settings, args: tuple[str, ...], usage: str, problem: str
) -> None:
    """A missing argument or option, or a bad value, is the user's mistake: the usage line, the --help pointer and the
    problem, exit 2 - never 'internal error'."""
    out = miles(sqlite_settings, *args)
    assert out.returncode == 2, out.stderr
    assert "internal error" not in out.stderr and "Traceback" not in out.stderr
    assert f"Usage: {usage}" in out.stderr and "--help' for help" in out.stderr and problem in out.stderr, out.stderr


def test_model_list_labels_the_feature_set(sqlite_settings: Settings) -> None:
    from miles.store.db import session_scope
    from miles.store.repos.models import register_model

    with session_scope(sqlite_settings) as session:
        register_model(session=session, version="bundle-20260101-000000", task="both", path="/models/x",
                       feature_version="3", metrics={"model (lightgbm)": {"spearman": 0.5}})  # fmt: skip
    for columns in ("200", "80"):
        out = subprocess.run([sys.executable, "-m", "miles.cli", "model", "list"], capture_output=True, text=True,
                             timeout=120, check=False, env={**env_of(sqlite_settings), "COLUMNS": columns})  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert "model version" in out.stdout and "bundle-20260101-000000" in out.stdout  # never wrapped
        assert "v3" in out.stdout and "feature" in out.stdout
        assert all(not line.strip("┃ ").startswith("version") for line in out.stdout.splitlines())


def env_of(settings: Settings) -> dict[str, str]:
    return {**os.environ, "MILES_DATA_DIR": str(settings.data_dir), "MILES_DATABASE_URL": settings.database_url,
            "MILES_CACHE_DIR": str(settings.cache_dir)}  # fmt: skip


def test_db_downgrade_and_upgrade(sqlite_settings: Settings) -> None:
    assert miles(sqlite_settings, "db", "downgrade", "base").returncode == 0
    assert miles(sqlite_settings, "db", "stats").returncode == 1  # not migrated: a clear error, not a crash
    up = miles(sqlite_settings, "db", "upgrade")
    assert up.returncode == 0 and "revision" in up.stdout


def test_export_round_trip(sqlite_settings: Settings, tmp_path: Path) -> None:
    miles(sqlite_settings, "import", str(FIXTURES / "snapshots_small.csv"))
    out = tmp_path / "out.jsonl"
    assert miles(sqlite_settings, "export", "snapshots", "--out", str(out)).returncode == 0
    assert len(out.read_text().splitlines()) == 4


@pytest.mark.xdist_group("encoders")
def test_model_prepare_builds_encoders_and_loads_the_model(sqlite_settings: Settings) -> None:
    out = miles(sqlite_settings, "model", "prepare")
    assert out.returncode == 0, out.stderr
    assert "ready: minilm-l6-v2" in out.stdout.replace("\n", "") and (sqlite_settings.cache_dir / "encoders").is_dir()


def test_the_packaged_default_model_can_be_inspected(sqlite_settings: Settings) -> None:
    """`miles model list` says which model serves, and `miles model show default` (or its version) describes the
    packaged default, which is never registered in the database."""
    listed = miles(sqlite_settings, "model", "list")
    shown = json.loads(miles(sqlite_settings, "model", "show", "default").stdout)
    assert shown["registered"] is False and shown["tasks"] == ["prepublish", "early"]
    assert shown["metrics"]["prepublish"]["model (lightgbm)"]["spearman"] > 0.3
    # the viral chance where its definition lives (the whole fold's viral rate is ~0.9: trending rows are hits)
    ordinary = shown["metrics"]["prepublish"]["viral_on_ordinary_uploads"]
    assert ordinary["viral_rate"] < 0.5 < shown["metrics"]["prepublish"]["viral_rate"]
    assert 0.5 < ordinary["model (lightgbm)"]["auroc"] < 1.0
    assert f"serving {shown['version']}" in " ".join(listed.stdout.split())
    assert json.loads(miles(sqlite_settings, "model", "show", shown["version"]).stdout) == shown


def test_a_command_before_the_database_is_set_up_says_what_to_run(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MILES_DATABASE_URL"}  # the data dir's own SQLite file
    env.update(MILES_DATA_DIR=str(tmp_path / "fresh"), HF_HUB_OFFLINE="1")
    out = subprocess.run([sys.executable, "-m", "miles.cli", "model", "show", "default"], capture_output=True,
                         text=True, env=env, timeout=120, check=False)  # fmt: skip
    assert out.returncode == 1 and "internal error" not in out.stderr, out.stderr
    assert "run `miles db upgrade` first" in " ".join(out.stderr.split())


def test_model_list_refuses_an_unknown_task_and_says_when_nothing_is_registered(sqlite_settings: Settings) -> None:
    bogus = miles(sqlite_settings, "model", "list", "--task", "bogus")
    assert bogus.returncode != 0 and "'bogus' is not a task; choose prepublish, early, both" in bogus.stderr
    empty = miles(sqlite_settings, "model", "list", "--task", "early")
    assert empty.returncode == 0 and "no registered models here" in " ".join(empty.stdout.split())


def test_ideas_takes_the_topic_as_argument_or_option_and_says_when_it_is_missing(sqlite_settings: Settings) -> None:
    """A creator typed `miles ideas "budget travel tips"` and got "Missing option '--topic'"."""
    none = miles(sqlite_settings, "ideas")
    assert none.returncode == 1 and "give a topic: miles ideas 'sourdough bread'" in none.stderr
    both = miles(sqlite_settings, "ideas", "bread", "--topic", "pasta")
    assert both.returncode == 1 and "give the topic once: 'bread' or --topic 'pasta'" in both.stderr
    usage = miles(sqlite_settings, "ideas", "--help").stdout
    assert "TOPIC" in usage and "-n" in usage


def test_model_card_writes_the_shipped_card_again_unchanged(sqlite_settings: Settings, tmp_path: Path) -> None:
    """`miles model card` re-renders a bundle's card from its stored metrics; the shipped card is what this Miles
    writes (after changing miles.model.card, run `miles model card src/miles/assets/models/default`)."""
    from miles.model.predict import packaged_default_dir

    bundle = shutil.copytree(packaged_default_dir(), tmp_path / "bundle")
    (bundle / "MODEL_CARD.md").write_text("stale", encoding="utf-8")
    result = miles(sqlite_settings, "model", "card", str(bundle))
    assert result.returncode == 0, result.stderr
    shipped = (packaged_default_dir() / "MODEL_CARD.md").read_text(encoding="utf-8")
    for card in (bundle / "MODEL_CARD.md", bundle / "prepublish" / "MODEL_CARD.md", bundle / "early" / "MODEL_CARD.md"):
        assert card.read_text(encoding="utf-8") == shipped
    refused = miles(sqlite_settings, "model", "card", str(tmp_path))
    assert refused.returncode == 1 and "not a model bundle (no bundle.json)" in refused.stderr


def test_ideas_without_outliers_or_patterns_print_a_line_not_an_empty_table() -> None:
    from miles.cli import ideas as ideas_cli

    result = {"topic": "kombucha", "vibe": "", "candidates": 0, "model_version": None, "generator": "offline",
              "outliers": [], "patterns": [{"enough_data": False}], "ideas": [], "notes": ["none"]}  # fmt: skip
    with ideas_cli.console.capture() as out:
        ideas_cli._print(result)
    text = " ".join(out.get().split())  # the console wraps at its width
    assert "Outliers: none (see the notes below)" in text and "Patterns: none with enough niche videos" in text
    assert "ideas by the offline generator" in text and "┏" not in text.split("Ideas (")[0]  # no empty table
