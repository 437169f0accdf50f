"""Score newly collected videos with the served model and store the predictions.

Each video is scored as Miles would have scored it: prepublish from its metadata, or in early mode from
the snapshots collected so far. The stored predictions are what later accuracy checks compare with the
views that arrive.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from miles.config import Settings
from miles.domain import utcnow
from miles.model.predict import DraftInput, Predictor, nothing_left_to_forecast
from miles.recommend.scoring import served_model_dir
from miles.store.db import session_scope
from miles.store.repos import niche
from miles.store.repos import predictions as prediction_repo

BATCH = 200
LOOKBACK_H = 48.0


def score_new_videos(
    *,
    settings: Settings,
    now: datetime | None = None,
    lookback_h: float = LOOKBACK_H,
    heartbeat: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Score videos stored in the last ``lookback_h`` hours that the served model has not scored yet."""
    now = now or utcnow()
    with session_scope(settings) as session:
        predictor = Predictor.load(served_model_dir(settings, session), settings=settings)  # `miles model promote`
    scored = skipped = 0
    after = None
    while True:
        with session_scope(settings) as session:
            videos = prediction_repo.videos_to_score(
                session=session,
                model_version=predictor.version,
                since=now - timedelta(hours=lookback_h),
                limit=BATCH,
                platform=predictor.platform,  # a YouTube model never scores TikTok videos
                after=after,
            )
            if not videos:
                break
            after = (videos[-1].created_at, videos[-1].id)
            snaps = prediction_repo.snapshots_of(session=session, video_ids=[v.id for v in videos])
            rows = [DraftInput.from_stored(v, snaps[v.id]) for v in videos]
            # a video whose views are known past every horizon has nothing to forecast (and a forecast from its
            # metadata alone could lie below them): not scored
            kept = [k for k, row in enumerate(rows) if nothing_left_to_forecast(row.draft) is None]
            skipped += len(rows) - len(kept)
            videos, rows = [videos[k] for k in kept], [rows[k] for k in kept]
            # scored as serving scores a draft of a channel Miles knows: with the channel's record as of publish
            channels = sorted({v.channel_id for v in videos if v.channel_id})
            history = niche.channel_history(session=session, channel_ids=channels) if channels else None
            results = predictor.predict(rows, channel_history=history)
            for video, row, result in zip(videos, rows, results, strict=True):
                inputs = json.loads(json.dumps(asdict(row.draft), default=str))
                prediction_repo.record_prediction(
                    session=session,
                    user_id=None,
                    model_version=predictor.version,
                    inputs=inputs,
                    outputs=result.as_dict(),
                    video_id=video.id,
                )
            scored += len(videos)
        if heartbeat is not None:
            heartbeat()
    return {"scored": scored, "skipped": skipped, "model_version": predictor.version}
