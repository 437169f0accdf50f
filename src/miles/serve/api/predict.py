"""POST /predict (JSON), /predict/upload (multipart thumbnail) and /predict/batch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from miles.config import Settings
from miles.errors import InvalidInput
from miles.serve.api.common import MODEL_ERRORS
from miles.serve.deps import MaybeUserDep, PredictorDep, SessionDep, SettingsDep
from miles.serve.schemas import BatchIn, BatchOut, DraftIn, PredictOut
from miles.serve.services import thumbnails
from miles.serve.services.predict import ScoredDraft, score_drafts

router = APIRouter(tags=["predict"], responses=MODEL_ERRORS)


def _thumbnail(draft: DraftIn, settings: Settings, where: str) -> bytes | None:
    if draft.thumbnail_base64 is not None:
        return thumbnails.from_base64(draft.thumbnail_base64, settings=settings, field=f"{where}.thumbnail_base64")
    if draft.thumbnail_url is not None:
        return thumbnails.from_url(draft.thumbnail_url, settings=settings, field=f"{where}.thumbnail_url")
    return None


@router.post("/predict", summary="Score one draft (and its variants)")
def predict(
    draft: DraftIn, caller: MaybeUserDep, session: SessionDep, settings: SettingsDep, predictor: PredictorDep
) -> PredictOut:
    """Views at each horizon (p10/p50/p90), viral probability, outlier multiple and the reasons, for one draft.

    The thumbnail may be a URL on an allowed host or base64; for a file upload use `/predict/upload`.
    """
    model = predictor()  # 503 before any thumbnail is fetched when no model is available
    item = ScoredDraft(draft, _thumbnail(draft, settings, "body"))
    return score_drafts(session=session, settings=settings, predictor=model, drafts=[item], requester=caller.requester)[
        0
    ]


@router.post("/predict/upload", summary="Score one draft with an uploaded thumbnail (multipart)")
def predict_upload(
    *,
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
    model = predictor()
    image = _thumbnail(parsed, settings, "body.draft")
    if thumbnail is not None:
        if image is not None:
            raise InvalidInput("give the thumbnail either as a file or in the draft, not both")
        data = thumbnail.file.read(settings.max_image_bytes + 1)
        image = thumbnails.checked_image(data, settings=settings, field="body.thumbnail")
    item = ScoredDraft(parsed, image)
    return score_drafts(session=session, settings=settings, predictor=model, drafts=[item], requester=caller.requester)[
        0
    ]


@router.post("/predict/batch", summary="Score many drafts in one call")
def predict_batch(
    batch: BatchIn, caller: MaybeUserDep, session: SessionDep, settings: SettingsDep, predictor: PredictorDep
) -> BatchOut:
    """Up to `MILES_BATCH_MAX_ITEMS` drafts (default 1000), scored in one model call, results in input order."""
    if len(batch.items) > settings.batch_max_items:
        raise InvalidInput(
            f"body.items: {len(batch.items)} drafts exceed the batch limit of {settings.batch_max_items}",
            details=[{"field": "body.items", "message": f"at most {settings.batch_max_items} items"}],
        )
    model = predictor()
    items = [ScoredDraft(d, _thumbnail(d, settings, f"body.items[{i}]")) for i, d in enumerate(batch.items)]
    results = score_drafts(
        session=session, settings=settings, predictor=model, drafts=items, requester=caller.requester
    )
    return BatchOut(count=len(results), results=results)
