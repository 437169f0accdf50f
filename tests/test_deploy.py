"""The container files: every command in compose.yaml and the Dockerfile is a real `miles` command (or, in the
"celery" profile, a real Celery command of Miles' Celery app), every MILES_ variable is a real setting, and the image
is multi-stage, non-root and takes torch from the CPU index.

No Docker engine runs here (and `docker compose` is not installed), so this checks the files, not a running
stack; tests/serve/test_topology.py runs the same topology as real processes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from miles.cli.main import app
from miles.config import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
DEPLOY_DOC = (ROOT / "docs" / "deploy.md").read_text()
MILES_SERVICES = ("migrate", "app", "worker", "celery-worker", "celery-beat")
CELERY_APP = ["celery", "-A", "miles.jobs.celery_app"]


def _commands() -> list[list[str]]:
    services: dict[str, Any] = COMPOSE["services"]
    found = [list(services[name]["command"]) for name in MILES_SERVICES]
    found += [list(services[name]["healthcheck"]["test"][1:]) for name in ("worker",)]
    found += [services["celery-worker"]["healthcheck"]["test"][1].replace("$$HOSTNAME", "x").split()]
    found.append(re.findall(r'"([^"]+)"', re.search(r"^CMD (.*)$", DOCKERFILE, re.M).group(1)))  # type: ignore[union-attr]
    for line in re.findall(r"(?:RUN|&&) (?:MILES_\w+=\S+ )?(miles [a-z -]+?)(?: \\|$| &&)", DOCKERFILE, re.M):
        found.append(line.split())
    return found


@pytest.mark.parametrize("command", _commands(), ids=" ".join)
def test_every_container_command_is_a_real_miles_command(command: list[str]) -> None:
    if command[0] == "celery":  # the "celery" profile: Celery's own CLI loading Miles' Celery app
        assert command[:3] == CELERY_APP
        run = subprocess.run(
            [sys.executable, "-m", *command, "--help"], capture_output=True, text=True, timeout=120, check=False
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert f"{command[3]} [OPTIONS]" in run.stdout, run.stdout  # that subcommand's usage, options accepted
        return
    assert command[0] == "miles"
    result = CliRunner().invoke(app, [*command[1:], "--help"])
    assert result.exit_code == 0, result.output


def test_the_celery_profile_replaces_the_worker_with_celery_worker_and_beat() -> None:
    services = COMPOSE["services"]
    assert services["celery-worker"]["profiles"] == services["celery-beat"]["profiles"] == ["celery"]
    assert "profiles" not in services["worker"]  # the default: `miles worker`
    for name in ("celery-worker", "celery-beat"):
        broker = services[name]["environment"]["MILES_BROKER_URL"]
        assert broker.startswith("redis://redis:6379/") and broker != services[name]["environment"]["MILES_REDIS_URL"]
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["celery-worker"]["command"][3] == "worker" and services["celery-beat"]["command"][3] == "beat"
    assert "/data/" in services["celery-beat"]["command"][-1]  # beat's schedule file in the writable volume
    assert "--scale worker=0" in (ROOT / "compose.yaml").read_text() and "--scale worker=0" in DEPLOY_DOC


def test_compose_topology_and_settings() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "redis", "migrate", "app", "worker", "celery-worker", "celery-beat"}
    known = {f"MILES_{name.upper()}" for name in Settings.model_fields}
    for name in MILES_SERVICES:
        env = services[name]["environment"]
        assert set(k for k in env if k.startswith("MILES_")) <= known, name
        assert env["MILES_ENV"] == "production" and env["MILES_REDIS_URL"].startswith("redis://")
    assert "MILES_APP_DATABASE_URL" in services["app"]["environment"]  # the app connects as the RLS-bound role
    assert services["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in ("postgres", "redis", "app", "worker", "celery-worker"):
        assert services[name]["healthcheck"]["test"], name
    assert services["app"]["ports"] == ["127.0.0.1:8000:8000"]


def test_dockerfile_is_multi_stage_non_root_and_cpu_torch() -> None:
    assert len(re.findall(r"^FROM ", DOCKERFILE, re.M)) == 2 and "COPY --from=build" in DOCKERFILE
    assert re.search(r"^USER miles$", DOCKERFILE, re.M)
    assert "-c constraints.txt" in DOCKERFILE and "download.pytorch.org/whl/cpu" in DOCKERFILE
    assert "miles model prepare" in DOCKERFILE
