"""Honest splits: forward in time by publish date, grouped by channel (DESIGN.md §3.3 rules 3-4).

The development sources cover different years (trending 2019-20, jp 2024-25, mftn 2025-26), so one
global date cut would put whole sources into test. Instead each source is cut forward in time on its
own videos' publish dates: the latest ``test_share`` of each source's publish dates is the test period,
the ``val_share`` before it the validation period. Independently, every group (channel, or the video
itself when there is no channel id) is hashed into a test, a validation or a training bucket, so:

- ``train``: training-bucket groups published before the source's test cut (what final models fit on);
- ``fit``: training-bucket groups published before the validation cut (for tuning against ``val``);
- ``val``: validation-bucket groups published in the validation period (unseen channels, later dates);
- ``test`` (headline): test-bucket groups published in the test period - unseen channels, later dates;
- ``warm_test``: training-bucket channels with training rows, in the test period - known channels, later
  dates (videos without a channel id are their own group and are never warm).
A source unknown to a fitted spec has no cuts: all its rows fall in the test period.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from miles.errors import InvalidInput
from miles.features.context import to_ns

FOLDS = ("train", "fit", "val", "test", "warm_test")


@dataclass(frozen=True)
class SplitSpec:
    test_share: float = 0.2
    val_share: float = 0.15
    test_groups: float = 0.3
    val_groups: float = 0.15
    salt: str = "miles-split-1"
    cuts: dict[str, tuple[str, str]] = field(default_factory=dict)  # source -> (val cut, test cut), ISO UTC

    def fit(self, meta: pd.DataFrame) -> SplitSpec:
        """Per-source cut dates from the publish dates of the videos in ``meta``."""
        if not (0 < self.test_share < 1 and 0 <= self.val_share < 1 - self.test_share):
            raise InvalidInput("split shares must satisfy 0 < test_share < 1 and val_share < 1 - test_share")
        videos = meta.drop_duplicates("video_id")
        cuts = {}
        for source, pub in videos.groupby("source")["published_at"]:
            ns = to_ns(pub)
            val_cut, test_cut = np.quantile(ns, [1 - self.test_share - self.val_share, 1 - self.test_share])
            cuts[str(source)] = (_iso(val_cut), _iso(test_cut))
        return replace(self, cuts=cuts)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "cuts": {k: list(v) for k, v in self.cuts.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SplitSpec:
        return cls(**{**data, "cuts": {k: (v[0], v[1]) for k, v in data.get("cuts", {}).items()}})


def _iso(ns: float) -> str:
    return str(pd.Timestamp(int(ns), tz="UTC").isoformat())


def group_position(groups: pd.Series, salt: str) -> pd.Series:
    """A stable pseudo-random number in [0, 1) per group (same group -> same number on any machine)."""
    unique = pd.unique(groups.astype(str))
    pos = {
        g: int.from_bytes(hashlib.blake2b(f"{salt}:{g}".encode(), digest_size=8).digest(), "big") / 2.0**64
        for g in unique
    }
    return groups.astype(str).map(pos).astype(float)


def assign_folds(meta: pd.DataFrame, spec: SplitSpec) -> dict[str, np.ndarray]:
    """Boolean masks (one per fold in FOLDS) over the rows of ``meta``; needs source, group_id, published_at."""
    if not spec.cuts:
        raise InvalidInput("split spec has no cut dates; call SplitSpec.fit(meta) first")
    pub = to_ns(meta["published_at"])
    never = np.iinfo(np.int64).min
    cut_of = {s: (pd.Timestamp(v).value, pd.Timestamp(t).value) for s, (v, t) in spec.cuts.items()}
    src = meta["source"].astype(str)
    val_cut = src.map(lambda s: cut_of.get(s, (never, never))[0]).to_numpy(dtype=np.int64)
    test_cut = src.map(lambda s: cut_of.get(s, (never, never))[1]).to_numpy(dtype=np.int64)
    u = group_position(meta["group_id"], spec.salt).to_numpy()
    test_bucket = u < spec.test_groups
    val_bucket = (u >= spec.test_groups) & (u < spec.test_groups + spec.val_groups)
    train_bucket = ~(test_bucket | val_bucket)
    late = pub >= test_cut
    train = train_bucket & ~late
    seen = meta["group_id"].isin(set(meta.loc[train, "group_id"])).to_numpy()
    has_channel = meta["channel_id"].notna().to_numpy() if "channel_id" in meta else np.ones(len(meta), dtype=bool)
    return {
        "train": train,
        "fit": train_bucket & (pub < val_cut),
        "val": val_bucket & (pub >= val_cut) & ~late,
        "test": test_bucket & late,
        "warm_test": train_bucket & late & has_channel & seen,
    }


def describe_folds(meta: pd.DataFrame, folds: dict[str, np.ndarray]) -> pd.DataFrame:
    rows = []
    for name, mask in folds.items():
        part = meta.loc[mask]
        rows.append(
            {
                "fold": name,
                "rows": int(mask.sum()),
                "videos": part["video_id"].nunique(),
                "groups": part["group_id"].nunique(),
                "first_publish": part["published_at"].min(),
                "last_publish": part["published_at"].max(),
            }
        )
    return pd.DataFrame(rows)
