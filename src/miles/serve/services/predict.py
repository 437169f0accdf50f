"""Score drafts (and their variants) with the served predictor and store every prediction.

The API, the pages and the batch route all call ``score_drafts``: one ``predictor.predict`` call per
request, whatever the number of drafts and variants, then the outlier multiple from the store, the
ranking of variants, and one ``predictions`` row per draft (inputs hash, outputs, model version).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from miles.config import Settings
from miles.domain import as_utc, channel_url, utcnow
from miles.errors import InvalidInput, MilesError
from miles.features.draft import blank_publish_time
from miles.model.predict import Draft, DraftInput, early_views_problem
from miles.recommend.outliers import draft_usual_views
from miles.recommend.platforms import require_platform_model
from miles.recommend.scoring import field_of, horizon_label
from miles.serve.schemas import (
    ContributionOut,
    DraftFieldOut,
    DraftIn,
    HorizonOut,
    OutlierOut,
    PredictionOut,
    PredictOut,
    VariantIn,
    VariantOut,
)
from miles.serve.services import collections
from miles.serve.services.model import PredictorLike
from miles.serve.services.thumbnails import content_hash
from miles.store.repos import niche, predictions
from miles.store.repos.jobs import Requester

TOP_CONTRIBUTIONS = 8
OUTLIER_HORIZON_H = 168.0  # the outlier multiple is read at 7 days, or the longest horizon below it
MIN_OUTLIER_UPLOADS = 3  # earlier uploads at that age needed before a draft's outlier multiple is shown


@dataclass(frozen=True)
class ScoredDraft:
    draft: DraftIn
    thumbnail: bytes | None


def draft_input(draft: DraftIn, thumbnail: bytes | None, now: datetime) -> DraftInput:
    """The API's draft as the predictor reads it: the one converter for the API, the Score page and MCP."""
    subscribers = draft.channel_subscribers
    early = sorted((e.age_h, float(e.views)) for e in draft.early_views)
    typed = Draft(
        title=draft.title,
        publish_at=as_utc(draft.publish_at) if draft.publish_at else blank_publish_time(now, early),
        description=draft.description or None,
        tags=list(draft.tags),
        duration_s=draft.duration_s,
        category_id=draft.category_id,
        channel_id=draft.channel_id,
        channel_subscribers=float(subscribers) if subscribers is not None else None,
        early_views=early,
    )
    return DraftInput(typed, thumbnail, publish_given=draft.publish_at is not None)


def variant_input(base: DraftInput, variant: VariantIn) -> DraftInput:
    """The draft with the variant's fields in place of its own."""
    changes: dict[str, Any] = {}
    if variant.title is not None:
        changes["title"] = variant.title
    if variant.duration_s is not None:
        changes["duration_s"] = variant.duration_s
    if variant.publish_at is not None:
        changes["publish_at"] = as_utc(variant.publish_at)
    given = base.publish_given or variant.publish_at is not None
    return replace(base, draft=replace(base.draft, **changes), publish_given=given)


def mode_of(item: DraftInput) -> str:
    return "early" if item.draft.early_views else "prepublish"


def _horizons(raw: Any) -> list[HorizonOut]:
    items: Iterable[tuple[Any, Any]] = (
        raw.items() if isinstance(raw, Mapping) else ((field_of(h, "horizon_h"), h) for h in raw or [])
    )
    out = [
        HorizonOut(
            horizon_h=float(h),
            label=horizon_label(float(h)),
            p10=float(field_of(q, "p10")),
            p50=float(field_of(q, "p50")),
            p90=float(field_of(q, "p90")),
            back_tested=field_of(q, "back_tested"),  # None in forecasts stored before it was recorded
        )
        for h, q in items
    ]
    if not out:
        raise MilesError("the predictor returned no horizons", expected=False)
    return sorted(out, key=lambda h: h.horizon_h)


def _contributions(raw: Any) -> list[ContributionOut]:
    pairs: list[tuple[str, float]]
    if isinstance(raw, Mapping):
        pairs = [(str(k), float(v)) for k, v in raw.items()]
    else:
        pairs = [
            (str(c[0]), float(c[1]))
            if isinstance(c, tuple | list)
            else (str(field_of(c, "feature")), float(field_of(c, "contribution")))
            for c in raw or []
        ]
    from miles.model.predict import feature_label  # lazily: the model stack loads on the first prediction

    # Features that mean the same to a person (duration and log duration) are shown as one, summed.
    merged: dict[str, tuple[str, float]] = {}
    for feature, value in pairs:
        label = feature_label(feature)
        first, total = merged.get(label, (feature, 0.0))
        merged[label] = (first, total + value)
    ranked = sorted(merged.items(), key=lambda kv: abs(kv[1][1]), reverse=True)
    return [ContributionOut(feature=f, label=lbl, contribution=v) for lbl, (f, v) in ranked[:TOP_CONTRIBUTIONS]]


def to_prediction_out(raw: Any, *, version: str, mode: str) -> PredictionOut:
    """Adapt one predictor result (object or mapping) to the API's ``PredictionOut``."""
    return PredictionOut(
        mode=field_of(raw, "mode", mode),
        model_version=str(field_of(raw, "model_version", None) or version),
        horizons=_horizons(field_of(raw, "horizons")),
        viral_probability=float(field_of(raw, "viral_probability")),
        outlier=None,
        inputs_used=[str(x) for x in field_of(raw, "inputs_used", []) or []],
        top_contributions=_contributions(field_of(raw, "contributions")),
        accuracy=field_of(raw, "accuracy", None),
        channel_history=field_of(raw, "channel_history", None),
        draft=field_of(raw, "draft", None) or {},
    )


def _outlier(history: pd.DataFrame | None, draft: Draft, pred: PredictionOut) -> OutlierOut | None:
    """The predicted views relative to the channel's usual views at that age (the training definition), from the
    channel history loaded once for the request (read as of the draft's publish time)."""
    if not draft.channel_id or history is None:
        return None
    usable = [h for h in pred.horizons if h.horizon_h <= OUTLIER_HORIZON_H] or pred.horizons[:1]
    horizon = usable[-1]
    usual = draft_usual_views(
        history, channel_id=draft.channel_id, published_at=draft.publish_at, age_h=horizon.horizon_h
    )
    if usual is None or usual.uploads < MIN_OUTLIER_UPLOADS:
        return None
    return OutlierOut(
        multiple=usual.multiple(horizon.p50),
        horizon_h=horizon.horizon_h,
        channel_median_views=usual.views,
        channel_videos=usual.uploads,
    )


def _in_middle_half(views: float, h: HorizonOut) -> bool:
    """Whether ``views`` lies in the middle half of ``h``'s p10-p90 interval, on the log scale views live on."""
    lo, hi = math.log1p(h.p10), math.log1p(h.p90)
    quarter = (hi - lo) / 4
    return lo + quarter <= math.log1p(views) <= hi - quarter


def too_close_to_call(a: HorizonOut, b: HorizonOut) -> bool:
    """Two forecasts are a tie when either median lies in the middle half (log scale) of the other's p10-p90
    interval: the difference between them is small next to how far off either forecast can be."""
    return _in_middle_half(a.p50, b) or _in_middle_half(b.p50, a)


def _ranked(draft: DraftIn, preds: Sequence[PredictionOut]) -> list[VariantOut]:
    """The draft and its variants by median views at the longest horizon; every row but the first is marked too
    close to call when it ties with the first (``too_close_to_call``)."""
    if not draft.variants:
        return []
    entries = [("draft", {"draft": True}, preds[0])]
    for i, (variant, pred) in enumerate(zip(draft.variants, preds[1:], strict=True), start=1):
        changes = variant.model_dump(mode="json", exclude_none=True, exclude={"label"})
        entries.append((variant.label or f"variant {i}", changes, pred))
    entries.sort(key=lambda e: e[2].horizons[-1].p50, reverse=True)
    best = entries[0][2].horizons[-1]
    return [
        VariantOut(label=lbl, rank=r, changes=ch, prediction=p,
                   too_close_to_call=r > 1 and too_close_to_call(best, p.horizons[-1]))
        for r, (lbl, ch, p) in enumerate(entries, 1)
    ]  # fmt: skip


def stored_inputs(draft: DraftIn, thumbnail: bytes | None) -> dict[str, Any]:
    inputs = draft.model_dump(mode="json", exclude={"thumbnail_base64"})
    inputs["thumbnail_sha256"] = content_hash(thumbnail) if thumbnail is not None else None
    return inputs


@dataclass
class ChannelRead:
    """What became of a draft's ``channel``: the stored id it names, or why none (and the collection queued)."""

    note: str | None = None
    collection_run_id: int | None = None
    collection_token: str | None = None


def _with_channel(
    session: Session, settings: Settings, requester: Requester, item: ScoredDraft, reads: list[ChannelRead]
) -> ScoredDraft:
    """Resolve the draft's ``channel`` (id, @handle or URL) to a stored channel id. An unknown channel that names a
    YouTube channel is queued for the worker to collect (requests never collect themselves); the note says so."""
    ref = item.draft.channel
    if not ref or item.draft.channel_id:
        reads.append(ChannelRead())
        return item
    try:
        found = niche.resolve_channel(session=session, reference=ref)
        url = channel_url(ref)
    except ValueError as exc:
        message = f"channel: {exc}"
        raise InvalidInput(message, details=[{"field": "body.channel", "message": message}]) from None
    if found is not None:
        reads.append(ChannelRead())
        return ScoredDraft(item.draft.model_copy(update={"channel_id": found}), item.thumbnail)
    unknown = f"Miles does not know the channel {ref!r} yet, so this forecast uses no channel record."
    if url is None:
        reads.append(ChannelRead(f"{unknown} Give its @handle or youtube.com URL to have its uploads collected."))
        return item
    queued = collections.queue(session=session, settings=settings, query=url, requester=requester)
    if queued.run_id is None:
        reads.append(ChannelRead(f"{unknown} Its uploads were {queued.refused}."))
        return item
    if collections.worker_active(session):
        note = (
            f"{unknown} Its recent uploads are being collected in the background (run {queued.run_id}, by "
            f"`miles worker`; status at {queued.status_url()}); score again once it has finished to use them."
        )
    else:  # "score again once it has finished" promised what nothing would do
        note = (
            f"{unknown} Its uploads are queued for collection (run {queued.run_id}; status at "
            f"{queued.status_url()}), but nothing is collecting now: whoever runs Miles starts the collector with "
            "`miles worker`."
        )
    if item.draft.channel_subscribers is None:  # the forecast stands on a typical channel, far larger than most
        note += " Until then, give your subscriber count for a forecast of your channel's size."
    reads.append(ChannelRead(note, queued.run_id, queued.token))
    return item


def score_drafts(
    *,
    session: Session,
    settings: Settings,
    predictor: PredictorLike,
    drafts: Sequence[ScoredDraft],
    requester: Requester,
    where: str = "body.items",
) -> list[PredictOut]:
    """Score every draft and its variants in one predictor call; store one prediction row per draft (the
    requester's user's). An unknown channel is queued for collection under the requester's cap. ``where`` names the
    drafts in the caller's words (``body.items`` in the API, ``drafts`` in MCP) when a batch's draft is refused."""
    # before anything is queued or stored: a TikTok draft never gets a YouTube model's forecast
    require_platform_model(predictor, [item.draft.platform for item in drafts], session=session, where=where)
    user_id = requester.user_id
    now = utcnow()
    for k, item in enumerate(drafts):  # early views in the future or past every horizon: refused, not guessed around
        if problem := early_views_problem(draft_input(item.draft, None, now).draft, now):
            field = f"{where}[{k}].early_views" if len(drafts) > 1 else "body.early_views"
            raise InvalidInput(f"{where}[{k}]: {problem}" if len(drafts) > 1 else problem,
                               details=[{"field": field, "message": problem}])  # fmt: skip
    rows: list[DraftInput] = []
    spans: list[tuple[int, int]] = []
    reads: list[ChannelRead] = []
    drafts = [_with_channel(session, settings, requester, item, reads) for item in drafts]
    for item in drafts:
        base = draft_input(item.draft, item.thumbnail, now)
        start = len(rows)
        rows.append(base)
        rows.extend(variant_input(base, v) for v in item.draft.variants)
        spans.append((start, len(rows)))
    channels = sorted({row.draft.channel_id for row in rows if row.draft.channel_id})
    history = niche.channel_history(session=session, channel_ids=channels) if channels else None
    raw = list(predictor.predict(rows, channel_history=history))
    if len(raw) != len(rows):
        raise MilesError(f"the predictor returned {len(raw)} results for {len(rows)} rows", expected=False)
    preds = [
        to_prediction_out(r, version=predictor.version, mode=mode_of(row)) for r, row in zip(raw, rows, strict=True)
    ]
    results = []
    for item, (start, end), read in zip(drafts, spans, reads, strict=True):
        group = preds[start:end]
        if read.note or (item.draft.channel_id and group[0].channel_history is None):
            group[0].channel_note = read.note or (
                f"Miles has no uploads of channel {item.draft.channel_id} published before this draft, so no "
                "channel history was used."
            )
            group[0].channel_collection_run_id = read.collection_run_id
            group[0].channel_collection_token = read.collection_token
        for row, pred in zip(rows[start:end], group, strict=True):
            pred.outlier = _outlier(history, row.draft, pred)
            if item.draft.channel:
                pred.draft["channel"] = DraftFieldOut(value=item.draft.channel, status="given", note=read.note)
        variants = _ranked(item.draft, group)
        outputs = {
            "prediction": group[0].model_dump(mode="json"),
            "variants": [v.model_dump(mode="json") for v in variants],
        }
        record = predictions.record_prediction(
            session=session,
            user_id=user_id,
            model_version=group[0].model_version,
            inputs=stored_inputs(item.draft, item.thumbnail),
            outputs=outputs,
        )
        results.append(PredictOut(prediction_id=record.id, prediction=group[0], variants=variants))
    # Commit now: SQLite has one writer, and holding its lock until the response is sent makes concurrent
    # requests wait on each other (their threads then starve the pool that would finish this one).
    session.commit()
    return results
