"""Default-model training from a cold embedding cache (issue 12: at most 5 minutes on the 2-core machine).

Runs `miles train --task both --data ../shared/data` as a whole process with a fresh data directory (no database,
so no cached title embeddings) and the user's encoder cache (the ONNX export is `miles model prepare`'s, not
training's). Leave-one-source-out is part of the run, as it is of every `miles train`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TARGET_S = 300


def run() -> dict[str, Any]:
    if not SHARED_DATA.is_dir():
        return {"skipped": f"development data not found at {SHARED_DATA}"}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "MILES_DATA_DIR": str(Path(tmp) / "data"), "HF_HUB_OFFLINE": "1"}
        env.pop("MILES_DATABASE_URL", None)
        cmd = [sys.executable, "-m", "miles.cli", "train", "--task", "both", "--data", str(SHARED_DATA),
               "--out", str(Path(tmp) / "model"), "--no-register"]  # fmt: skip
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, timeout=1800)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        return {"failed": done.stderr[-2000:]}
    load = os.getloadavg()[0]
    return {"cold_train_both_s": round(seconds, 1), "target_s": TARGET_S, "load_average_1m": round(load, 2)}
