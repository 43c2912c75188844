"""What users write (grid files, models files, options), read with one-line errors.

Why: a mistake in a file a user wrote should end in one line that names the file, the
key and what is accepted, never a traceback or pydantic's multi-line report. YAML keys
given twice are refused too: PyYAML would silently keep the last one.
"""

from __future__ import annotations

import difflib
import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError


class InputError(ValueError):
    """A user's file or option is invalid; the message is one line saying what to change."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping key given twice."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def kind_of(value: Any) -> str:
    """What a value is, in a user's words ("a list", "text", "a number", ...)."""
    names = {list: "a list", str: "text", int: "a number", float: "a number", bool: "true/false"}
    names |= {dict: "a mapping", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known`` to a mistyped ``word``, or ''."""
    near = difflib.get_close_matches(str(word), [str(k) for k in known], n=1)
    return f" (did you mean {near[0]!r}?)" if near else ""


def short(value: Any, width: int = 60) -> str:
    """``repr(value)`` shortened at a word boundary, for quoting a user's input."""
    return textwrap.shorten(repr(value), width, placeholder=" …")


def read_yaml_mapping(path: str | Path, what: str, keys: Iterable[str]) -> dict[str, Any]:
    """The mapping at the top of a YAML (or JSON) file; ``what`` names the file in errors."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{what} {path}: cannot be read ({exc})") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{what} {path}: not valid YAML: {problem}{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(
            f"{what} {path}: the top level must be a mapping of keys ({', '.join(keys)}), "
            f"not {kind_of(data)}"
        )
    return data


def explain(exc: ValidationError, model: type[BaseModel] | None = None) -> str:
    """Pydantic's report in one line: ``key: problem (got X; key: what it accepts)``."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        known = list(model.model_fields) if model and len(err["loc"]) == 1 else []
        if err["type"] == "extra_forbidden":
            msg = "unknown key" + did_you_mean(loc, known)
            msg += f"; accepted keys: {', '.join(known)}" if known else ""
        elif err["type"] == "missing":
            msg = "missing; it is required"
        elif err["type"] != "value_error":
            msg = "must not be empty" if err["type"] == "too_short" else msg[:1].lower() + msg[1:]
            msg += f" (got {short(err.get('input'))})"
            field = model.model_fields.get(loc) if known else None
            if field is not None and field.description:
                msg += f"; {loc}: {field.description.splitlines()[0].rstrip('.')}"
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def one_line(exc: BaseException) -> str:
    """The message of an error a user can fix, in one line."""
    if isinstance(exc, ValidationError):
        return explain(exc)
    return " ".join(str(exc).split())
