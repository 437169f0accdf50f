"""POST /predict (JSON), /predict/upload (multipart thumbnail) and /predict/batch.

Each request's cost (rows to score, thumbnail URLs to fetch) is checked and charged to the caller's rate-limit
bucket after the body is validated and before any thumbnail is fetched (``services.cost``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from miles.config import Settings
from miles.errors import InvalidInput
from miles.serve.api.common import MODEL_ERRORS
from miles.serve.deps import Caller, MaybeUserDep, PredictorDep, SessionDep, SettingsDep
from miles.serve.schemas import BatchIn, BatchOut, DraftIn, PredictOut
from miles.serve.services import cost, thumbnails
from miles.serve.services.predict import ScoredDraft, score_drafts

router = APIRouter(tags=["predict"], responses=MODEL_ERRORS)


def _charged(request: Request, caller: Caller, settings: Settings, drafts: list[DraftIn], where: str) -> None:
    limiter = request.app.state.rate_limiter
    cost.charge(cost.cost_of(drafts), settings=settings, limiter=limiter, key=caller.rate_key, where=where)


def _thumbnail(fetch: thumbnails.Fetcher, draft: DraftIn, where: str) -> bytes | None:
    return fetch(base64_text=draft.thumbnail_base64, url=draft.thumbnail_url, where=where)


@router.post("/predict", summary="Score one draft (and its variants)")
def predict(
    request: Request,
    draft: DraftIn,
    caller: MaybeUserDep,
    session: SessionDep,
    settings: SettingsDep,
    predictor: PredictorDep,
) -> PredictOut:
    """Views at each horizon (p10/p50/p90), viral probability, outlier multiple and the reasons, for one draft.

    The thumbnail may be a URL on an allowed host or base64; for a file upload use `/predict/upload`.
    """
    _charged(request, caller, settings, [draft], "body")
    model = predictor()  # 503 before any thumbnail is fetched when no model is available
    item = ScoredDraft(draft, _thumbnail(thumbnails.Fetcher(settings), draft, "body"))
    return score_drafts(session=session, settings=settings, predictor=model, drafts=[item], requester=caller.requester)[
        0
    ]


@router.post("/predict/upload", summary="Score one draft with an uploaded thumbnail (multipart)")
def predict_upload(
    *,
    request: Request,
    draft: Annotated[str, Form(description="The draft as JSON (same fields as POST /predict).")],
    caller: MaybeUserDep,
    session: SessionDep,
    settings: SettingsDep,
    predictor: PredictorDep,
    thumbnail: Annotated[UploadFile | None, File(description="Thumbnail image file.")] = None,
) -> PredictOut:
    try:
        parsed = DraftIn.model_validate_json(draft)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", "draft", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None
    if thumbnail is not None and (parsed.thumbnail_url or parsed.thumbnail_base64):  # refused before any fetch
        raise InvalidInput("give the thumbnail either as a file or in the draft, not both")
    _charged(request, caller, settings, [parsed], "body.draft")
    model = predictor()
    image = _thumbnail(thumbnails.Fetcher(settings), parsed, "body.draft")
    if thumbnail is not None:
        data = thumbnail.file.read(settings.max_image_bytes + 1)
        image = thumbnails.checked_image(data, settings=settings, field="body.thumbnail")
    item = ScoredDraft(parsed, image)
    return score_drafts(session=session, settings=settings, predictor=model, drafts=[item], requester=caller.requester)[
        0
    ]


@router.post("/predict/batch", summary="Score many drafts in one call")
def predict_batch(
    request: Request,
    batch: BatchIn,
    caller: MaybeUserDep,
    session: SessionDep,
    settings: SettingsDep,
    predictor: PredictorDep,
) -> BatchOut:
    """Up to `MILES_BATCH_MAX_ITEMS` drafts (default 1000) and `MILES_MAX_ROWS_PER_REQUEST` rows (drafts and their
    variants, default 2000), scored in one model call, results in input order. Every 50 rows and every thumbnail
    URL take one more token from the caller's rate limit."""
    if len(batch.items) > settings.batch_max_items:
        raise InvalidInput(
            f"body.items: {len(batch.items)} drafts exceed the batch limit of {settings.batch_max_items}",
            details=[{"field": "body.items", "message": f"at most {settings.batch_max_items} items"}],
        )
    _charged(request, caller, settings, batch.items, "body.items")
    model = predictor()
    fetch = thumbnails.Fetcher(settings)
    items = [ScoredDraft(d, _thumbnail(fetch, d, f"body.items[{i}]")) for i, d in enumerate(batch.items)]
    results = score_drafts(
        session=session, settings=settings, predictor=model, drafts=items, requester=caller.requester
    )
    return BatchOut(count=len(results), results=results)
