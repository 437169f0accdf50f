"""History: the user's past predictions (drafts scored) and idea queries, newest first, paginated; each scored
draft opens at ``/history/<id>`` (and ``.json``) with the full stored result, for its owner only. Once published, a
draft is linked there to its video (``POST /history/<id>/link``): Miles tracks the video and grades the forecast as
its views arrive; the grades show on the same page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from miles.errors import NotFound
from miles.serve.pages.charts import interval_figure
from miles.serve.pages.common import Page, PageDep, notice, render
from miles.serve.pages.forms import form_page
from miles.serve.pages.score import variants_alike
from miles.serve.paging import next_offset
from miles.serve.schemas import SafeStr
from miles.serve.services.ideas import queries_for
from miles.serve.services.links import grades_out, link_draft, link_note
from miles.serve.web_auth import CSRF_FIELD, check_csrf
from miles.store.repos import grades as grade_repo
from miles.store.repos import predictions
from miles.store.tables import PredictionRecord

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
PredictionId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
Csrf = Annotated[str | None, Form(alias=CSRF_FIELD, max_length=200)]


def _prediction_out(row: PredictionRecord) -> dict[str, Any]:
    prediction = (row.outputs or {}).get("prediction") or {}
    return {
        "id": row.id,
        "created_at": row.created_at,
        "model_version": row.model_version,
        "title": (row.inputs or {}).get("title"),
        "duration_s": (row.inputs or {}).get("duration_s"),
        "subscribers": (row.inputs or {}).get("channel_subscribers"),  # told apart from the same title's other scores
        "had_thumbnail": bool((row.inputs or {}).get("thumbnail_sha256")),
        "mode": prediction.get("mode"),
        "horizons": prediction.get("horizons") or [],
        "viral_probability": prediction.get("viral_probability"),
        "variants": len((row.outputs or {}).get("variants") or []),
        "video_id": row.video_id,
    }


def history_data(page: Page, *, predictions_offset: int, queries_offset: int) -> dict[str, Any]:
    user_id = page.require_user()
    rows, total = predictions.list_predictions(
        session=page.session, user_id=user_id, limit=PAGE_SIZE, offset=predictions_offset
    )
    queries = queries_for(settings=page.settings, user_id=user_id, limit=PAGE_SIZE, offset=queries_offset)
    return {
        "predictions": {
            "total": total,
            "offset": predictions_offset,
            "next_offset": next_offset(predictions_offset, PAGE_SIZE, total),
            "items": [_prediction_out(r) for r in rows],
        },
        "queries": {
            "total": queries["total"],
            "offset": queries_offset,
            "next_offset": next_offset(queries_offset, PAGE_SIZE, queries["total"]),
            "items": queries["items"],
        },
    }


@router.get("/history")
@router.get("/history.json")
def history(page: PageDep, predictions_offset: Offset = 0, queries_offset: Offset = 0) -> Response:
    return render(
        page, "history.html", history_data(page, predictions_offset=predictions_offset, queries_offset=queries_offset)
    )


def prediction_detail(page: Page, prediction_id: int) -> dict[str, Any]:
    """One stored prediction as it was scored: the inputs and the full result (forecast, drivers, what-ifs)."""
    user_id = page.require_user()
    row = predictions.get_prediction(session=page.session, user_id=user_id, prediction_id=prediction_id)
    if row is None:  # another user's prediction is reported exactly like a missing one
        raise NotFound(f"you have no scored draft with id {prediction_id}")
    outputs = row.outputs or {}
    return {
        "prediction": {
            "id": row.id,
            "created_at": row.created_at,
            "model_version": row.model_version,
            "inputs_hash": row.inputs_hash,
            "inputs": row.inputs or {},
            "outputs": outputs,
            "video_id": row.video_id,
        },
        "grades": grades_out(grade_repo.grades_of(session=page.session, prediction_id=row.id)),
        "late_note": link_note(page.session, row),
    }


def history_item_data(page: Page, prediction_id: int) -> dict[str, Any]:
    """The page's data (and the JSON twin's): the stored prediction, its grades, the chart and result to show."""
    data = prediction_detail(page, prediction_id)
    outputs = data["prediction"]["outputs"]
    horizons = (outputs.get("prediction") or {}).get("horizons") or []
    result = {"prediction_id": prediction_id, **outputs} if outputs.get("prediction") else None
    return {**data, "result": result, "figure": interval_figure(horizons) if horizons else None,
            "variants_alike": variants_alike(outputs.get("variants") or [])}  # fmt: skip


LINK_NOTICES = {
    "linked": "Linked. Miles tracks the video and grades this forecast at each horizon as its views arrive."
}


@router.get("/history/{prediction_id:int}")
@router.get("/history/{prediction_id:int}.json")
def history_item(page: PageDep, prediction_id: PredictionId) -> Response:
    data = history_item_data(page, prediction_id)
    extra = {k: data.pop(k) for k in ("result", "figure")}
    return render(page, "history_item.html", data, **extra, notice=notice(page, LINK_NOTICES))


form_page(
    "/history/{prediction_id}/link",
    "history_item.html",
    lambda page: history_item_data(page, int(page.request.path_params["prediction_id"])),
    lambda form: {"link_form": form},
)


@router.post("/history/{prediction_id}/link")
def link_video(
    page: PageDep, prediction_id: PredictionId, video: Annotated[SafeStr, Form(max_length=2000)], csrf: Csrf = None
) -> Response:
    """Link this scored draft to the published video: Miles tracks it and grades the forecast as its views arrive."""
    check_csrf(page.request, csrf)
    user_id = page.require_user()
    link_draft(
        session=page.session, settings=page.settings, user_id=user_id, prediction_id=prediction_id, video=video,
        field="video",
    )  # fmt: skip
    page.commit()
    return RedirectResponse(f"/history/{prediction_id}?linked=1", status_code=303)
