"""Run every benchmark and write one JSON file: `python -m benchmarks.run --out benchmarks/results.json`.

Each benchmark module exposes ``run() -> dict``; a benchmark that cannot run here (no PostgreSQL,
no ../shared/data) reports why instead of a number.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
import traceback
from pathlib import Path

BENCHMARKS = ["benchmarks.bench_import", "benchmarks.bench_api", "benchmarks.bench_model", "benchmarks.bench_train"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results.json"))
    parser.add_argument("--only", nargs="*", help="Run only these benchmark modules (e.g. bench_import).")
    args = parser.parse_args()
    results: dict[str, object] = {
        "machine": {"python": sys.version.split()[0], "platform": platform.platform()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    for name in BENCHMARKS:
        if args.only and name.rsplit(".", 1)[-1] not in args.only:
            continue
        print(f"== {name}", flush=True)
        try:
            results[name] = importlib.import_module(name).run()
        except Exception as exc:  # one broken benchmark must not hide the others' numbers
            traceback.print_exc()
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(results[name], indent=2, default=str), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
