"""The guarded view of the data that feature functions receive.

A feature function never sees the raw snapshot table. It asks the context for a video's history,
its channel's subscriber counts or its channel's earlier uploads, and the context hands back only
rows captured at or before each example's ``as_of`` time. Every accessor checks its own output
again and raises :class:`~miles.errors.LeakageError` if a row from after ``as_of`` slipped through;
asking for views at a time after ``as_of`` raises too. The one declared exception is the channel's subscriber
count "at publish" (:meth:`FeatureContext.subscribers_near_publish`): it may come from up to
``SUBSCRIBER_AFTER_DAYS`` after publishing, and its guard enforces that bound. Static video metadata
(title, description, tags, duration, category, country) is treated as known at publish.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from miles.errors import LeakageError
from miles.features.tasks import Task

NS_PER_H = 3_600_000_000_000
# Channel size "at publish" (docs/evaluation.md, channel group): the subscriber observation nearest to the
# publish time, looked for from SUBSCRIBER_BEFORE_DAYS before publishing up to SUBSCRIBER_AFTER_DAYS after it
# (or up to as_of, whichever is later). The declared knowledge time of the count is therefore
# max(as_of, published_at + SUBSCRIBER_AFTER_DAYS), and the guard enforces exactly that.
SUBSCRIBER_BEFORE_DAYS = 30.0
SUBSCRIBER_AFTER_DAYS = 7.0


def to_ns(values: pd.Series) -> np.ndarray:
    """UTC timestamps as int64 nanoseconds (naive values are taken as UTC)."""
    stamps = pd.to_datetime(pd.Series(values), utc=True).dt.tz_localize(None)
    out: np.ndarray = stamps.astype("datetime64[ns]").to_numpy().astype(np.int64)
    return out


class FeatureContext:
    """Examples plus the snapshots they may read. Built by :mod:`miles.features.build`."""

    def __init__(
        self, *, task: Task, examples: pd.DataFrame, snapshots: pd.DataFrame, subscribers: pd.DataFrame | None = None
    ):
        """``subscribers``: (group_id, captured_at, subscribers) observations; None for none."""
        self.task: Task = task
        self._examples = examples
        self._snapshots = snapshots.sort_values(["video_id", "captured_at"], kind="stable").reset_index(drop=True)
        if subscribers is None:
            subscribers = pd.DataFrame({"group_id": pd.Series(dtype=str), "subscribers": pd.Series(dtype=float),
                                        "captured_at": pd.Series(dtype="datetime64[us, UTC]")})  # fmt: skip
        self._subscribers = subscribers.sort_values("captured_at", kind="stable").reset_index(drop=True)
        keys = examples.drop_duplicates("key").set_index("key", drop=False)
        self._keys = keys[["key", "video_id", "group_id", "channel_id", "published_at", "as_of"]]
        self._videos = examples.drop_duplicates("video_id").set_index("video_id", drop=False)

    # --- what the examples are -------------------------------------------------------------------

    @property
    def examples(self) -> pd.DataFrame:
        """One row per example: key, video_id, group_id, channel_id, published_at, as_of, age_h and metadata."""
        return self._examples

    @property
    def keys(self) -> pd.DataFrame:
        """One row per distinct (video, as_of), indexed by ``key``."""
        return self._keys

    @property
    def videos(self) -> pd.DataFrame:
        """One row of static metadata per video, indexed by ``video_id``."""
        return self._videos

    def expand_keys(self, per_key: pd.DataFrame) -> pd.DataFrame:
        return per_key.reindex(self._examples["key"].to_numpy()).set_axis(self._examples.index)

    def expand_videos(self, per_video: pd.DataFrame) -> pd.DataFrame:
        return per_video.reindex(self._examples["video_id"].to_numpy()).set_axis(self._examples.index)

    # --- guarded reads -----------------------------------------------------------------------------

    def video_history(self, depth: int = 4) -> pd.DataFrame:
        """The last ``depth`` snapshots of each key's video captured at or before its ``as_of``.

        Columns: key, lag (0 = latest), captured_at, age_h, views, n_visible (how many snapshots are visible
        in all). Keys without any visible snapshot are absent.
        """
        snaps = self._snapshots
        keys = self._keys.sort_values("as_of", kind="stable")
        snaps_sorted = snaps.assign(_pos=np.arange(len(snaps))).sort_values("captured_at", kind="stable")
        hit = pd.merge_asof(
            keys[["key", "video_id", "as_of"]],
            snaps_sorted[["video_id", "captured_at", "_pos"]],
            left_on="as_of",
            right_on="captured_at",
            by="video_id",
            direction="backward",
        ).dropna(subset=["_pos"])
        pos = hit["_pos"].to_numpy(dtype=np.int64)
        vid = snaps["video_id"].to_numpy()
        rank = snaps.groupby("video_id", sort=False).cumcount().to_numpy()
        parts = []
        for lag in range(depth):
            p = pos - lag
            ok = p >= 0
            ok[ok] = vid[p[ok]] == hit["video_id"].to_numpy()[ok]
            rows = snaps.iloc[p[ok]]
            parts.append(
                pd.DataFrame(
                    {
                        "key": hit["key"].to_numpy()[ok],
                        "lag": lag,
                        "as_of": hit["as_of"].to_numpy()[ok],
                        "captured_at": rows["captured_at"].to_numpy(),
                        "age_h": rows["age_h"].to_numpy(),
                        "views": rows["views"].to_numpy(dtype=float),
                        "n_visible": rank[pos[ok]] + 1,
                    }
                )
            )
        out = pd.concat(parts, ignore_index=True)
        self._check(out, "video_history")
        return out.drop(columns="as_of")

    def subscribers_near_publish(
        self, before_days: float = SUBSCRIBER_BEFORE_DAYS, after_days: float = SUBSCRIBER_AFTER_DAYS
    ) -> pd.DataFrame:
        """Per key: the channel's subscriber observation nearest to publish within the declared window.

        Candidates are observations captured in [published_at - before_days, max(as_of, published_at +
        after_days)]; the nearest to the publish time wins (ties go to the earlier one). Columns (indexed by
        key): subscribers, subscribers_captured_at. Anything captured after the declared knowledge time
        max(as_of, published_at + SUBSCRIBER_AFTER_DAYS) raises LeakageError, whatever ``after_days`` says.
        """
        keys = self._keys.sort_values("published_at", kind="stable")[["key", "group_id", "published_at", "as_of"]]
        subs = self._subscribers.rename(columns={"captured_at": "subscribers_captured_at"})
        subs = subs[["group_id", "subscribers_captured_at", "subscribers"]]
        pub = to_ns(keys["published_at"])
        lower = pub - int(before_days * 24 * NS_PER_H)
        upper = np.maximum(to_ns(keys["as_of"]), pub + int(after_days * 24 * NS_PER_H))
        found = []
        for direction in ("backward", "forward"):
            hit = pd.merge_asof(keys, subs, left_on="published_at", right_on="subscribers_captured_at",
                                by="group_id", direction=direction)  # fmt: skip
            has = hit["subscribers_captured_at"].notna().to_numpy()
            seen = np.zeros(len(hit), dtype=np.int64)
            seen[has] = to_ns(hit.loc[has, "subscribers_captured_at"])
            ok = has & (seen >= lower) & (seen <= upper)
            found.append((hit, np.where(ok, np.abs(seen - pub).astype(float), np.inf)))
        (back, d_back), (fwd, d_fwd) = found
        take_fwd = d_fwd < d_back
        out = back.copy()
        for col in ("subscribers", "subscribers_captured_at"):
            out.loc[take_fwd, col] = fwd.loc[take_fwd, col]
        out.loc[np.isinf(np.minimum(d_back, d_fwd)), ["subscribers", "subscribers_captured_at"]] = None
        out = out.set_index("key")
        self._check_subscribers(out.dropna(subset=["subscribers_captured_at"]))
        return out[["subscribers", "subscribers_captured_at"]]

    def _check_subscribers(self, rows: pd.DataFrame) -> None:
        if rows.empty:
            return
        known = np.maximum(to_ns(rows["as_of"]), to_ns(rows["published_at"] + pd.Timedelta(days=SUBSCRIBER_AFTER_DAYS)))
        late = to_ns(rows["subscribers_captured_at"]) > known
        if late.any():
            raise LeakageError(
                f"subscribers_near_publish returned {int(late.sum())} counts captured after their declared "
                f"knowledge time max(as_of, publish + {SUBSCRIBER_AFTER_DAYS:g} d) (task {self.task})"
            )

    def earlier_uploads(self) -> pd.DataFrame:
        """Snapshots of the channel's strictly earlier uploads captured at or before each key's ``as_of``.

        Columns: key, upload_id, upload_published_at, captured_at, age_h, views.
        """
        keys = self._keys.dropna(subset=["channel_id"])
        snaps = self._snapshots.dropna(subset=["channel_id"])
        joined = keys[["key", "channel_id", "published_at", "as_of"]].merge(
            snaps[["channel_id", "video_id", "published_at", "captured_at", "age_h", "views"]],
            on="channel_id",
            suffixes=("", "_u"),
        )
        keep = (to_ns(joined["published_at_u"]) < to_ns(joined["published_at"])) & (
            to_ns(joined["captured_at"]) <= to_ns(joined["as_of"])
        )
        out = joined.loc[keep].rename(columns={"video_id": "upload_id", "published_at_u": "upload_published_at"})
        self._check(out, "earlier_uploads")
        return out[["key", "upload_id", "upload_published_at", "captured_at", "age_h", "views"]].reset_index(drop=True)

    def views_at(self, when: pd.Series) -> pd.Series:
        """Views at the latest snapshot at or before ``when`` (one time per example).

        Asking for a time after an example's ``as_of`` is a leak and raises LeakageError.
        """
        when = pd.to_datetime(when, utc=True)
        late = to_ns(when) > to_ns(self._examples["as_of"])
        if late.any():
            first = self._examples.loc[late].iloc[0]
            raise LeakageError(
                f"a feature asked for views of video {first['video_id']} at {when[late].iloc[0]}, after its "
                f"as_of time {first['as_of']} ({int(late.sum())} examples affected, task {self.task})"
            )
        frame = pd.DataFrame({"video_id": self._examples["video_id"], "when": when, "_i": np.arange(len(when))})
        hit = pd.merge_asof(
            frame.sort_values("when", kind="stable"),
            self._snapshots.sort_values("captured_at", kind="stable")[["video_id", "captured_at", "views"]],
            left_on="when",
            right_on="captured_at",
            by="video_id",
            direction="backward",
        ).sort_values("_i")
        return pd.Series(hit["views"].to_numpy(dtype=float), index=self._examples.index, name="views")

    def _check(self, rows: pd.DataFrame, what: str, column: str = "captured_at") -> None:
        if rows.empty:
            return
        as_of = rows["as_of"] if "as_of" in rows else self._keys["as_of"].reindex(rows["key"]).set_axis(rows.index)
        late = to_ns(rows[column]) > to_ns(as_of)
        if late.any():
            raise LeakageError(
                f"{what} returned {int(late.sum())} rows captured after their example's as_of time "
                f"(task {self.task}); features may only read data known at as_of"
            )
