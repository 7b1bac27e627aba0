"""A small declarative form of the Anthropic request shapes, checked with the API's pydantic-style 400s.

The hand-written checks (`anthropic_blocks`, `anthropic_tools`, `anthropic_validation`) cover what the
emulator acts on; the shapes here cover what it only accepts (server-tool definitions and the blocks they
leave in a conversation, and the beta options of `anthropic_options`), transcribed from the `anthropic` SDK
2.17 beta param types. A `Shape` rejects unknown and missing keys (`fields`), a `Tagged` union puts its tag
in the path (`tools.0.web_search_20250305.max_uses`), as the API does. Where a union is not tagged
(`str | list`, `bool | list[str]`) the member is chosen by the JSON type of the value; a value of no
member's type is reported against the last member.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from byokgate.emulators.anthropic_schema import (
    as_bool,
    as_dict,
    as_int,
    as_list,
    as_str,
    fields,
    join,
    one_of,
    tag,
)


class Spec:
    """The expected shape of one JSON value."""

    def accepts(self, value: Any) -> bool:
        """Whether `value` has this spec's JSON type (used to pick a member of an untagged union)."""
        raise NotImplementedError

    def check(self, value: Any, path: str) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Scalar(Spec):
    kind: str  # "str", "int", "bool", "object" (any dictionary), "any"
    ge: int | None = None

    def accepts(self, value: Any) -> bool:
        if self.kind == "str":
            return isinstance(value, str)
        if self.kind == "int":
            return isinstance(value, int) and not isinstance(value, bool)
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "object":
            return isinstance(value, dict)
        return True

    def check(self, value: Any, path: str) -> None:
        if self.kind == "str":
            as_str(value, path)
        elif self.kind == "int":
            as_int(value, path, ge=self.ge)
        elif self.kind == "bool":
            as_bool(value, path)
        elif self.kind == "object":
            as_dict(value, path)


@dataclass(frozen=True)
class Lit(Spec):
    values: tuple[str, ...]

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str)

    def check(self, value: Any, path: str) -> None:
        one_of(value, path, self.values)


@dataclass(frozen=True)
class Null(Spec):
    """`spec` or null."""

    spec: Spec

    def accepts(self, value: Any) -> bool:
        return value is None or self.spec.accepts(value)

    def check(self, value: Any, path: str) -> None:
        if value is not None:
            self.spec.check(value, path)


@dataclass(frozen=True)
class ListOf(Spec):
    item: Spec

    def accepts(self, value: Any) -> bool:
        return isinstance(value, list)

    def check(self, value: Any, path: str) -> None:
        for index, item in enumerate(as_list(value, path)):
            self.item.check(item, join(path, index))


@dataclass(frozen=True)
class MapOf(Spec):
    """A dictionary of any keys whose values follow `value`."""

    value: Spec

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict)

    def check(self, value: Any, path: str) -> None:
        for key, item in as_dict(value, path).items():
            self.value.check(item, join(path, key))


@dataclass(frozen=True)
class Shape(Spec):
    """An object: `required` and `optional` keys with their specs; any other key is refused."""

    required: Mapping[str, Spec]
    optional: Mapping[str, Spec]

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict)

    def check(self, value: Any, path: str) -> None:
        obj = as_dict(value, path)
        self.check_fields(obj, path)

    def check_fields(self, obj: dict[str, Any], path: str, extra: tuple[str, ...] = ()) -> None:
        fields(obj, path, (*self.required, *self.optional, *extra), tuple(self.required))
        for name, item in obj.items():
            spec = self.required.get(name) or self.optional.get(name)
            if spec is not None:
                spec.check(item, join(path, name))


@dataclass(frozen=True)
class Tagged(Spec):
    """A union tagged by `type`: the member is the shape of its tag (its `type` key is implied)."""

    members: Mapping[str, Shape]

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict)

    def check(self, value: Any, path: str) -> None:
        obj = as_dict(value, path)
        kind = tag(obj, path, tuple(self.members))
        self.members[kind].check_fields(obj, join(path, kind), ("type",))


@dataclass(frozen=True)
class Either(Spec):
    """An untagged union: the first member of the value's JSON type decides."""

    members: tuple[Spec, ...]

    def accepts(self, value: Any) -> bool:
        return any(member.accepts(value) for member in self.members)

    def check(self, value: Any, path: str) -> None:
        chosen = next((member for member in self.members if member.accepts(value)), self.members[-1])
        chosen.check(value, path)


@dataclass(frozen=True)
class Custom(Spec):
    """A hand-written check (`check(value, path)`) for a value of the given JSON type."""

    kind: Scalar
    checker: Callable[[Any, str], None]

    def accepts(self, value: Any) -> bool:
        return self.kind.accepts(value)

    def check(self, value: Any, path: str) -> None:
        self.checker(value, path)


STR = Scalar("str")
INT = Scalar("int")
COUNT = Scalar("int", ge=0)
BOOL = Scalar("bool")
OBJECT = Scalar("object")
ANY = Scalar("any")
STRS = ListOf(STR)


def obj(required: Mapping[str, Spec] | None = None, /, **optional: Spec) -> Shape:
    """A `Shape`: required keys as a mapping (it may name keywords such as `from`), optional as keywords."""
    return Shape(dict(required or {}), optional)


def tagged(**members: Shape) -> Tagged:
    return Tagged(members)


def either(*members: Spec) -> Either:
    return Either(members)


def nullable(**optional: Spec) -> dict[str, Spec]:
    """Optional keys that also take null (the SDK's `Optional[...]`)."""
    return {name: Null(spec) for name, spec in optional.items()}


CACHE_CONTROL = Null(tagged(ephemeral=obj(ttl=Lit(("5m", "1h")))))
