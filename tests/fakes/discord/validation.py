"""Discord's checks of embeds, components and command definitions, and its size limits.

Each check raises the form error Discord answers with (400, code 50035), naming the field.
"""

from __future__ import annotations

import re
from typing import Any, Final

from tests.fakes.discord.constants import FLAG_COMPONENTS_V2, Json
from tests.fakes.discord.errors import ApiError, form_error
from tests.fakes.discord.models import walk_components

MAX_FILES: Final = 10
MAX_CONTENT: Final = 2000
MAX_EMBEDS: Final = 10
MAX_EMBED_TOTAL: Final = 6000
_EMBED_FIELD_LIMITS: Final = {"title": 256, "description": 4096}
COMMAND_NAME_RE: Final = re.compile(r"^[-_'\w]{1,32}$")

Path = list[str | int]


def _max_length(path: Path, limit: int) -> ApiError:
    return form_error(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _required(path: Path) -> ApiError:
    return form_error(path, "BASE_TYPE_REQUIRED", "This field is required")


def _not_a_dict(path: Path) -> ApiError:
    return form_error(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")


def embed_length(embed: Json) -> int:
    """The characters of an embed that count towards the 6,000 of a message."""
    total = 0
    for key in ("title", "description"):
        value = embed.get(key)
        if isinstance(value, str):
            total += len(value)
    for key, sub in (("footer", "text"), ("author", "name")):
        obj = embed.get(key)
        if isinstance(obj, dict) and isinstance(obj.get(sub), str):
            total += len(obj[sub])
    for fld in embed.get("fields") or []:
        if isinstance(fld, dict):
            total += len(str(fld.get("name", ""))) + len(str(fld.get("value", "")))
    return total


def _validate_embed_fields(embed: Json, where: Path) -> None:
    fields = embed.get("fields") or []
    if len(fields) > 25:
        raise _max_length([*where, "fields"], 25)
    for j, fld in enumerate(fields):
        if not isinstance(fld, dict):
            continue
        for key, limit in (("name", 256), ("value", 1024)):
            value = fld.get(key)
            if value is None or value == "":
                raise _required([*where, "fields", j, key])
            if len(str(value)) > limit:
                raise _max_length([*where, "fields", j, key], limit)


def _validate_embed(embed: Any, where: Path) -> None:
    if not isinstance(embed, dict):
        raise _not_a_dict(where)
    for key, limit in _EMBED_FIELD_LIMITS.items():
        value = embed.get(key)
        if isinstance(value, str) and len(value) > limit:
            raise _max_length([*where, key], limit)
    _validate_embed_fields(embed, where)
    for key, sub, limit in (("footer", "text", 2048), ("author", "name", 256)):
        obj = embed.get(key)
        if isinstance(obj, dict) and isinstance(obj.get(sub), str) and len(obj[sub]) > limit:
            raise _max_length([*where, key, sub], limit)


def validate_embeds(embeds: list[Any], prefix: Path) -> None:
    """A message's embeds: at most 10, each within its limits, 6,000 characters in all."""
    if len(embeds) > MAX_EMBEDS:
        raise _max_length([*prefix, "embeds"], MAX_EMBEDS)
    total = 0
    for i, embed in enumerate(embeds):
        _validate_embed(embed, [*prefix, "embeds", i])
        total += embed_length(embed)
    if total > MAX_EMBED_TOTAL:
        raise form_error(
            [*prefix, "embeds"],
            "MAX_EMBED_SIZE_EXCEEDED",
            f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}",
        )


def _validate_row_child(child: Any, where: Path) -> None:
    if not isinstance(child, dict):
        raise _not_a_dict(where)
    if child.get("type") == 2:
        style = child.get("style")
        if style == 5:
            if not child.get("url"):
                raise _required([*where, "url"])
        elif style != 6 and not child.get("custom_id"):
            raise _required([*where, "custom_id"])
        label = child.get("label")
        if isinstance(label, str) and len(label) > 80:
            raise _max_length([*where, "label"], 80)
    custom_id = child.get("custom_id")
    if isinstance(custom_id, str) and len(custom_id) > 100:
        raise _max_length([*where, "custom_id"], 100)


def _validate_action_rows(components: list[Any], prefix: Path) -> None:
    if len(components) > 5:
        raise _max_length([*prefix, "components"], 5)
    for i, row in enumerate(components):
        if not isinstance(row, dict) or row.get("type") != 1:
            raise form_error(
                [*prefix, "components", i],
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "Top-level components must be action rows",
            )
        children = row.get("components") or []
        if not 1 <= len(children) <= 5:
            raise form_error(
                [*prefix, "components", i, "components"],
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 5 in length.",
            )
        for j, child in enumerate(children):
            _validate_row_child(child, [*prefix, "components", i, "components", j])


def validate_components(components: list[Any], flags: int, prefix: Path) -> None:
    """A message's components: action rows of at most 5, with unique custom ids."""
    if flags & FLAG_COMPONENTS_V2:
        return  # layout components: not checked beyond custom_id uniqueness below
    _validate_action_rows(components, prefix)
    seen: set[str] = set()
    for comp in walk_components(components):
        cid = comp.get("custom_id")
        if isinstance(cid, str):
            if cid in seen:
                raise form_error(
                    [*prefix, "components"],
                    "COMPONENT_CUSTOM_ID_DUPLICATED",
                    "Component custom id cannot be duplicated",
                )
            seen.add(cid)


def _invalid_name(path: Path) -> ApiError:
    return form_error(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


def _validate_description(desc: Any, path: Path) -> None:
    if not isinstance(desc, str) or not 1 <= len(desc) <= 100:
        raise form_error(path, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")


def _validate_option_head(opt: Any, here: Path, seen: set[str]) -> int:
    """Name, description and type of one option; returns its type."""
    if not isinstance(opt, dict):
        raise _not_a_dict(here)
    name = opt.get("name")
    if not isinstance(name, str) or not COMMAND_NAME_RE.match(name) or name != name.lower():
        raise _invalid_name([*here, "name"])
    if name in seen:
        raise form_error(
            here, "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option name already exists"
        )
    seen.add(name)
    _validate_description(opt.get("description"), [*here, "description"])
    otype: Any = opt.get("type")
    if otype not in range(1, 12):
        raise form_error(
            [*here, "type"], "BASE_TYPE_CHOICES", f"Value must be one of {list(range(1, 12))}."
        )
    return int(otype)


def validate_options(options: Any, where: Path) -> None:
    """A command's options (and sub-commands' options), as Discord checks them on sync."""
    if options is None:
        return
    if not isinstance(options, list):
        raise form_error(where, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
    if len(options) > 25:
        raise _max_length(where, 25)
    seen: set[str] = set()
    optional_seen = False
    for i, opt in enumerate(options):
        here: Path = [*where, i]
        otype = _validate_option_head(opt, here, seen)
        if otype in (1, 2):
            validate_options(opt.get("options"), [*here, "options"])
            continue
        if opt.get("required"):
            if optional_seen:
                raise form_error(
                    here,
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            optional_seen = True
        choices = opt.get("choices")
        if choices is not None and len(choices) > 25:
            raise _max_length([*here, "choices"], 25)


def validate_command_list(body: Any) -> list[Any]:
    """The body of a bulk command overwrite: a list of at most 100 commands."""
    if not isinstance(body, list):
        raise form_error([], "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
    if len(body) > 100:
        raise _max_length([], 100)
    return body


def validate_command(cmd: Any, i: int, seen: set[tuple[str, int]]) -> tuple[str, int]:
    """One command of a bulk overwrite; returns its name and type (unique in the list)."""
    if not isinstance(cmd, dict):
        raise _not_a_dict([i])
    ctype = int(cmd.get("type", 1))
    name = cmd.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 32:
        raise form_error([i, "name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
    if ctype == 1:
        if not COMMAND_NAME_RE.match(name) or name != name.lower():
            raise _invalid_name([i, "name"])
        _validate_description(cmd.get("description"), [i, "description"])
        validate_options(cmd.get("options"), [i, "options"])
    if (name, ctype) in seen:
        raise form_error(
            [i, "name"],
            "APPLICATION_COMMANDS_DUPLICATE_NAME",
            f"Application command names must be unique: {name}",
        )
    seen.add((name, ctype))
    return name, ctype
