"""GET /model: the served model's version, training data and metrics beside its baselines."""

from __future__ import annotations

from fastapi import APIRouter, Request

from miles.serve.api.common import MODEL_ERRORS
from miles.serve.deps import CallerDep, PredictorDep, SessionDep
from miles.serve.schemas import ModelOut
from miles.serve.services.model import PredictorHolder, live_section, read_artifact

router = APIRouter(tags=["model"], responses=MODEL_ERRORS)


@router.get("/model", summary="The served model and its model card")
def model_card(request: Request, _caller: CallerDep, predictor: PredictorDep, session: SessionDep) -> ModelOut:
    loaded = predictor()
    holder: PredictorHolder = request.app.state.predictor
    artifact = read_artifact(holder.path) if holder.path is not None else {}
    return ModelOut(
        version=loaded.version,
        origin=holder.origin,
        manifest=artifact.get("manifest"),
        metrics=artifact.get("metrics"),
        model_card=artifact.get("model_card"),
        live=live_section(session=session, version=loaded.version),
    )
