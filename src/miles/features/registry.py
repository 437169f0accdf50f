"""The feature registry: every feature group Miles computes, and a way to add more.

The model issue adds text embeddings and thumbnail features here with :func:`register_group`, e.g.::

    register_group(FeatureGroup(name="title_embedding", features=(...), compute=embed_titles))

A group whose features are ``early`` is refused when the ``prepublish`` task asks for it.
"""

from __future__ import annotations

from collections.abc import Sequence

from miles.errors import InvalidInput, LeakageError
from miles.features import channel, early, text, timing
from miles.features.schema import Feature, FeatureGroup, Task

BUILTIN: tuple[FeatureGroup, ...] = (
    text.GROUP,
    timing.TIMING,
    timing.VIDEO,
    timing.HORIZON,
    channel.GROUP,
    early.GROUP,
)
DEFAULT_GROUPS: dict[str, tuple[str, ...]] = {
    "prepublish": ("text", "timing", "video", "horizon", "channel"),
    "early": ("text", "timing", "video", "horizon", "channel", "early"),
}
_GROUPS: dict[str, FeatureGroup] = {g.name: g for g in BUILTIN}


def register_group(group: FeatureGroup, *, replace: bool = False) -> None:
    """Add a feature group. Its feature names must not clash with another group's."""
    if group.name in _GROUPS and not replace:
        raise InvalidInput(f"feature group {group.name!r} is already registered")
    taken = {n for g in _GROUPS.values() if g.name != group.name for n in g.names}
    if clash := sorted(taken & set(group.names)):
        raise InvalidInput(f"feature group {group.name!r} redefines feature(s) {', '.join(clash)}")
    _GROUPS[group.name] = group


def unregister_group(name: str) -> None:
    if name in {g.name for g in BUILTIN}:
        raise InvalidInput(f"built-in feature group {name!r} cannot be removed")
    _GROUPS.pop(name, None)


def registered_groups() -> dict[str, FeatureGroup]:
    return dict(_GROUPS)


def resolve_groups(task: Task, names: Sequence[str] | None = None) -> list[FeatureGroup]:
    """The groups for ``task`` (default set if ``names`` is None); early groups in prepublish mode raise."""
    if task not in DEFAULT_GROUPS:
        raise InvalidInput(f"unknown task {task!r}; use prepublish or early")
    wanted = list(DEFAULT_GROUPS[task] if names is None else names)
    unknown = [n for n in wanted if n not in _GROUPS]
    if unknown:
        raise InvalidInput(f"unknown feature group(s) {', '.join(unknown)}; registered: {', '.join(_GROUPS)}")
    groups = [_GROUPS[n] for n in wanted]
    if task == "prepublish":
        late = [g.name for g in groups if g.availability == "early"]
        if late:
            raise LeakageError(
                f"feature group(s) {', '.join(late)} are only known after publishing (availability 'early') "
                "and cannot be used for the prepublish task"
            )
    return groups


def features_for(task: Task, names: Sequence[str] | None = None) -> list[Feature]:
    return [f for g in resolve_groups(task, names) for f in g.features]


def feature_names(task: Task, names: Sequence[str] | None = None) -> list[str]:
    return [f.name for f in features_for(task, names)]
