"""The neighbour filters, defined once: every layer reads `FILTERS`.

A filter restricts the neighbours to users whose demographic payload field holds one of the
chosen values. The stores turn a `UserFilter` into the engine's payload filter, the catalog sums
its demographic cells over the same fields for the popular fallback, the app draws one
multiselect per filter, the CLI one repeatable option, the index one payload field per user, and
`reco.recommend.Neighbour` carries each: adding a filter is one line here, plus the reader of
the release format that has the field (`reco.datasets.readers`). Every layer reads `FILTERS`
when it runs (as ``filters.FILTERS``), never a copy made at import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

AGE_GROUPS: tuple[str, ...] = ("Under 18", "18-24", "25-34", "35-44", "45-49", "50-55", "56+")
"""Age-group labels shared by every dataset (ml-1m's buckets; exact ages are bucketed alike)."""
_AGE_BOUNDS = (18, 25, 35, 45, 50, 56)  # lower bounds of the groups after "Under 18"


def age_group(age: float) -> str:
    """The shared age-group label of an exact age (ml-1m codes map to their own group)."""
    return AGE_GROUPS[int(np.searchsorted(_AGE_BOUNDS, age, side="right"))]


@dataclass(frozen=True)
class FilterField:
    """One way to restrict neighbours: a payload field of every user."""

    name: str  # payload key, catalog cell column: "age_group"
    keyword: str  # keyword argument of `Recommender.recommend` and `UserFilter`: "age_groups"
    label: str  # a multiselect's label: "Age groups"
    title: str  # a table column's or a chart's title: "Age group"
    option: str  # the CLI option: "--age-group"
    order: tuple[str, ...] = ()  # values in this order where it matters (else sorted)
    shown: Mapping[str, str] = field(default_factory=dict)  # how values read: "F" -> "Female"

    def show(self, value: object) -> str:
        """How a value is shown to a person."""
        return self.shown.get(str(value), str(value))


FILTERS: tuple[FilterField, ...] = (
    FilterField("age_group", "age_groups", "Age groups", "Age group", "--age-group", AGE_GROUPS),
    FilterField(
        "gender", "genders", "Gender", "Gender", "--gender", shown={"F": "Female", "M": "Male"}
    ),
    FilterField("occupation", "occupations", "Occupation", "Occupation", "--occupation"),
)


def field_names() -> tuple[str, ...]:
    """The payload fields the filters read, in their order (the catalog's cell columns)."""
    return tuple(f.name for f in FILTERS)


def by_name(name: str) -> FilterField:
    """The filter of a payload field (``KeyError`` for another name)."""
    for filter_field in FILTERS:
        if filter_field.name == name:
            return filter_field
    raise KeyError(name)


@dataclass(frozen=True)
class UserFilter:
    """Payload filter: a user matches when each chosen field holds one of its values.

    Built with the filters' keywords: ``UserFilter(age_groups=["25-34"], genders=["F"])``.
    """

    chosen: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __init__(self, **values: Sequence[str] | None) -> None:
        known = {f.keyword for f in FILTERS}
        unknown = sorted(set(values) - known)
        if unknown:
            raise TypeError(f"unknown filter {unknown[0]!r}; filters: {', '.join(sorted(known))}")
        chosen = tuple(
            (f.name, tuple(values[f.keyword] or ())) for f in FILTERS if values.get(f.keyword)
        )
        object.__setattr__(self, "chosen", chosen)

    def conditions(self) -> list[tuple[str, list[str]]]:
        """``[(field name, values), ...]`` for the fields that are chosen."""
        return [(name, list(values)) for name, values in self.chosen]

    def shown(self) -> list[str]:
        """Each chosen field's values as a person reads them: ``["25-34", "Female, Male"]``."""
        return [", ".join(map(by_name(name).show, values)) for name, values in self.chosen]

    def __bool__(self) -> bool:
        return bool(self.chosen)
