"""Modals: the type 9 interaction response, checked as Discord's API checks it, and the
MODAL_SUBMIT interaction (type 5) a user's client sends when they fill one in.

A modal has a ``custom_id`` (1-100 characters), a ``title`` (1-45) and 1-5 top-level
components: an action row (type 1) holding exactly one text input, or a label (type 18,
``label`` 1-45, ``description`` up to 100) holding one text input. A text input (type 4)
has a ``custom_id``, a ``style`` (1 short, 2 paragraph), in an action row a ``label``
(1-45), ``min_length`` 0-4000, ``max_length`` 1-4000, a ``value`` and a ``placeholder``
(up to 4000 and 100 characters).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tests.fakes.discord.constants import Json
from tests.fakes.discord.errors import ApiError, form_error

Path = list[str | int]
MAX_TEXT = 4000


def _length(value: Any, path: Path, low: int, high: int, *, required: bool = True) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or not low <= len(value) <= high:
        raise form_error(
            path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length."
        )


def _bounded(value: Any, path: Path, low: int, high: int) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise form_error(path, "NUMBER_TYPE_MAX", f"Must be between {low} and {high}.")


def _text_input(component: Any, path: Path, *, in_row: bool) -> None:
    if not isinstance(component, dict) or component.get("type") != 4:
        raise form_error(path, "UNION_TYPE_CHOICES", 'Value of field "type" must be one of (4,).')
    _length(component.get("custom_id"), [*path, "custom_id"], 1, 100)
    if component.get("style") not in (1, 2):
        raise form_error([*path, "style"], "BASE_TYPE_CHOICES", "Value must be one of (1, 2).")
    _length(component.get("label"), [*path, "label"], 1, 45, required=in_row)
    _bounded(component.get("min_length"), [*path, "min_length"], 0, MAX_TEXT)
    _bounded(component.get("max_length"), [*path, "max_length"], 1, MAX_TEXT)
    _length(component.get("value"), [*path, "value"], 0, MAX_TEXT, required=False)
    _length(component.get("placeholder"), [*path, "placeholder"], 0, 100, required=False)


def validate_modal(data: Any) -> Json:
    """The data of a type 9 response, or the 400 Discord answers."""
    if not isinstance(data, dict):
        raise form_error(["data"], "BASE_TYPE_REQUIRED", "This field is required")
    _length(data.get("custom_id"), ["data", "custom_id"], 1, 100)
    _length(data.get("title"), ["data", "title"], 1, 45)
    rows = data.get("components")
    if not isinstance(rows, list) or not 1 <= len(rows) <= 5:
        raise form_error(
            ["data", "components"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."
        )
    seen: set[str] = set()
    for i, row in enumerate(rows):
        path: Path = ["data", "components", i]
        if not isinstance(row, dict) or row.get("type") not in (1, 18):
            raise form_error(
                path, "UNION_TYPE_CHOICES", 'Value of field "type" must be one of (1, 18).'
            )
        if row["type"] == 1:
            children = row.get("components")
            if not isinstance(children, list) or len(children) != 1:
                raise form_error(
                    [*path, "components"], "BASE_TYPE_BAD_LENGTH", "Must be 1 in length."
                )
            _text_input(children[0], [*path, "components", 0], in_row=True)
            child = children[0]
        else:
            _length(row.get("label"), [*path, "label"], 1, 45)
            _length(row.get("description"), [*path, "description"], 0, 100, required=False)
            child = row.get("component")
            _text_input(child, [*path, "component"], in_row=False)
        if child["custom_id"] in seen:
            raise ApiError(400, 50035, "Component custom id cannot be duplicated")
        seen.add(child["custom_id"])
    return data


def text_inputs(modal: Json) -> Iterator[Json]:
    """The text inputs of a modal, in order."""
    for row in modal["components"]:
        yield row["components"][0] if row["type"] == 1 else row["component"]


def submission(modal: Json, values: Mapping[str, str]) -> Json:
    """The ``data`` of the MODAL_SUBMIT a client sends for ``modal`` filled with ``values``
    (by text input ``custom_id``; the others keep their prefilled value). A value no client
    would let through (a required input left empty, outside its lengths) raises
    ``ValueError``."""
    known = {component["custom_id"] for component in text_inputs(modal)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"the modal has no text input {sorted(unknown)} (has {sorted(known)})")
    components: list[Json] = []
    for row in modal["components"]:
        child = row["components"][0] if row["type"] == 1 else row["component"]
        value = values.get(child["custom_id"], child.get("value") or "")
        low = child.get("min_length") or 0
        high = child.get("max_length") or MAX_TEXT
        if child.get("required", True) and not value:
            raise ValueError(f"text input {child['custom_id']!r} is required")
        if value and not low <= len(value) <= high:
            raise ValueError(f"text input {child['custom_id']!r} takes {low}-{high} characters")
        submitted = {"type": 4, "custom_id": child["custom_id"], "value": value}
        if row["type"] == 1:
            components.append({"type": 1, "components": [submitted]})
        else:
            components.append({"type": 18, "component": submitted})
    return {"custom_id": modal["custom_id"], "components": components}
