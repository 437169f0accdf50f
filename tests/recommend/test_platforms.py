"""A draft for a platform without a model is refused naming it; in a batch, naming which drafts by index."""

from __future__ import annotations

import pytest
from tests.conftest import make_settings

from miles.errors import NoPlatformModel
from miles.model.predict import Predictor, packaged_default_dir
from miles.recommend.platforms import require_platform_model


@pytest.fixture(scope="module")
def youtube_model(tmp_path_factory: pytest.TempPathFactory) -> Predictor:
    settings = make_settings(tmp_path_factory.mktemp("platforms"))
    return Predictor.load(packaged_default_dir(), settings=settings)


def refusal(predictor: Predictor, platforms: list[str], **where: str) -> NoPlatformModel:
    with pytest.raises(NoPlatformModel) as caught:
        require_platform_model(predictor, platforms, session=None, **where)
    return caught.value


def test_one_draft_is_refused_without_an_index(youtube_model: Predictor) -> None:
    alone = refusal(youtube_model, ["tiktok"])
    assert alone.message.startswith("no TikTok model yet") and alone.details == {"platform": "tiktok"}
    require_platform_model(youtube_model, ["youtube", "youtube"], session=None)  # nothing to refuse


def test_a_batch_names_the_refused_drafts_in_the_callers_words(youtube_model: Predictor) -> None:
    mcp = refusal(youtube_model, ["youtube", "tiktok", "youtube", "tiktok"], where="drafts")
    assert mcp.message.startswith("drafts[1], drafts[3]: no TikTok model yet") and mcp.details["items"] == [1, 3]
    many = refusal(youtube_model, ["tiktok"] * 8)
    assert many.message.startswith("body.items[0], body.items[1], body.items[2], body.items[3], body.items[4] and 3 "
                                   "more: no TikTok model yet")  # fmt: skip
    assert many.details == {"platform": "tiktok", "items": list(range(8))}
