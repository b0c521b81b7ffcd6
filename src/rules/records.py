"""Records: the contract of `@dataclass(frozen=True)` (and of `@dataclass`), without its cost at import.

`dataclasses` writes each class's methods out as source text and compiles it while the module is
imported: about 0.5 ms a class on Python 3.13, which for the 66 types of the event path was ~33 of
the ~42 ms a cold start spent importing our code. A record's methods are the functions below, compiled
once with this module (and shipped as bytecode by `make build`); the decorator only stores each
class's field names and defaults, in `__record__`.

What a record keeps of a dataclass, which is what mypy checks it against (`dataclass_transform`):
fields in the order written (a base record's first), given by position or keyword, with defaults
(`field(default_factory=...)` for a fresh mutable one, `field(repr=False)` to leave one out of the
repr); `__post_init__`; equality over the fields between instances of the same class; the
dataclass repr; `__match_args__`; `vars()` of an instance is its fields. `record`: frozen (assignment
refused, hashed over its fields); `mutable_record`: assignable and unhashable. `replace` makes a
changed copy (of a dataclass too, which it hands to `dataclasses.replace`). Not kept: a record is
not a dataclass to `dataclasses.fields`, `asdict` or `is_dataclass`.
"""
from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, dataclass_transform, get_origin

_T = TypeVar("_T")
_MISSING: Any = object()


class FrozenRecordError(AttributeError):
    """An assignment to a field of a frozen record (as `dataclasses.FrozenInstanceError`)."""


class _Field:
    __slots__ = ("default", "default_factory", "repr")

    def __init__(self, default: Any, default_factory: Callable[[], Any] | None, repr: bool) -> None:
        self.default, self.default_factory, self.repr = default, default_factory, repr


def field(*, default: Any = _MISSING, default_factory: Callable[[], Any] | None = None, repr: bool = True) -> Any:
    """A field's default (`default`, or `default_factory` called for each instance), and whether the
    repr shows it, as `dataclasses.field` takes them."""
    if default is not _MISSING and default_factory is not None:
        raise ValueError("cannot specify both default and default_factory")
    return _Field(default, default_factory, repr)


class _Spec:
    """A record class's fields, read by the shared methods below."""

    __slots__ = ("names", "known", "defaults", "factories", "shown", "values", "post_init")

    def __init__(self, names: tuple[str, ...], defaults: dict[str, Any],
                 factories: dict[str, Callable[[], Any]], shown: tuple[str, ...], post_init: bool) -> None:
        self.names, self.known, self.defaults, self.factories = names, frozenset(names), defaults, factories
        self.shown, self.post_init = shown, post_init
        # The fields' values as one tuple (what equality and the hash compare), read from __dict__.
        self.values: Callable[[dict[str, Any]], tuple[Any, ...]]
        if len(names) > 1:
            self.values = itemgetter(*names)
        else:  # itemgetter of one name gives the value itself, of none is an error
            self.values = lambda state: tuple(state[name] for name in names)


def _spec(cls: type) -> _Spec:
    own = cls.__dict__
    names: list[str] = []
    defaults: dict[str, Any] = {}
    factories: dict[str, Callable[[], Any]] = {}
    hidden: set[str] = set()
    for base in reversed(cls.__mro__[1:-1]):  # a base record's fields first (object has none)
        inherited: _Spec | None = base.__dict__.get("__record__")
        if inherited is not None:
            names += [n for n in inherited.names if n not in names]
            defaults.update(inherited.defaults)
            factories.update(inherited.factories)
            hidden.update(n for n in inherited.names if n not in inherited.shown)
    redefines = bool(names)
    annotations: dict[str, Any] | None = own.get("__annotations__")
    if annotations is None:  # Python 3.14 builds them on demand
        import inspect
        annotations = inspect.get_annotations(cls)
    for name, annotation in annotations.items():
        if annotation.__class__ is str:  # `from __future__ import annotations`, as in every module here
            if annotation.startswith(("ClassVar", "typing.ClassVar")):
                continue
        elif annotation is ClassVar or get_origin(annotation) is ClassVar:
            continue
        if not redefines:
            names.append(name)
        else:  # a field a base record has keeps its place and takes this class's default
            if name not in names:
                names.append(name)
            defaults.pop(name, None)
            factories.pop(name, None)
            hidden.discard(name)
        value = own.get(name, _MISSING)
        if value is _MISSING:
            continue
        if value.__class__ is _Field:
            if not value.repr:
                hidden.add(name)
            if value.default_factory is not None:
                factories[name] = value.default_factory
                delattr(cls, name)
            elif value.default is not _MISSING:
                defaults[name] = value.default
                setattr(cls, name, value.default)  # as a dataclass leaves it: the class attribute is the default
            else:
                delattr(cls, name)
        elif value.__class__.__hash__ is None:  # a list, dict or set would be shared by every instance
            raise ValueError(f"{cls.__qualname__}.{name}: mutable default {type(value).__name__}, "
                             "use field(default_factory=...)")
        else:
            defaults[name] = value
    seen_default = ""
    for name in names:
        if name in defaults or name in factories:
            seen_default = name
        elif seen_default:
            raise TypeError(f"{cls.__qualname__}: field {name!r} without a default follows {seen_default!r}, which has one")
    return _Spec(tuple(names), defaults, factories, tuple(n for n in names if n not in hidden) if hidden else tuple(names),
                 callable(getattr(cls, "__post_init__", None)))


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    spec: _Spec = self.__record__
    names = spec.names
    if len(args) == len(names) and not kwargs:  # every field, by position
        self.__dict__.update(zip(names, args, strict=True))
    else:
        if len(args) > len(names):
            raise TypeError(f"{type(self).__qualname__}() takes {len(names)} positional arguments "
                            f"but {len(args)} were given")
        if kwargs and not spec.known.issuperset(kwargs):
            unknown = next(name for name in kwargs if name not in spec.known)
            raise TypeError(f"{type(self).__qualname__}() got an unexpected keyword argument {unknown!r}")
        if args and kwargs and not kwargs.keys().isdisjoint(names[:len(args)]):
            twice = next(name for name in names[:len(args)] if name in kwargs)
            raise TypeError(f"{type(self).__qualname__}() got multiple values for argument {twice!r}")
        values = {**spec.defaults, **dict(zip(names, args, strict=False)), **kwargs}  # zip: the first len(args)
        for name, factory in spec.factories.items():
            if name not in values:
                values[name] = factory()
        if len(values) < len(names):
            missing = next(name for name in names if name not in values)
            raise TypeError(f"{type(self).__qualname__}() missing required argument: {missing!r}")
        self.__dict__.update(zip(names, spec.values(values), strict=True))  # in field order, as a dataclass
    if spec.post_init:
        self.__post_init__()


def _repr(self: Any) -> str:
    state = self.__dict__
    fields = ", ".join(f"{name}={state[name]!r}" for name in self.__record__.shown)
    return f"{type(self).__qualname__}({fields})"


def _eq(self: Any, other: Any) -> Any:  # bool, or NotImplemented
    if self is other:
        return True
    if other.__class__ is not self.__class__:
        return NotImplemented
    values = self.__record__.values
    return values(self.__dict__) == values(other.__dict__)


def _hash(self: Any) -> int:
    return hash(self.__record__.values(self.__dict__))


def _refuse_set(self: Any, name: str, value: Any) -> None:
    raise FrozenRecordError(f"cannot assign to field {name!r} of a frozen {type(self).__qualname__}")


def _refuse_delete(self: Any, name: str) -> None:
    raise FrozenRecordError(f"cannot delete field {name!r} of a frozen {type(self).__qualname__}")


def _make(cls: type[_T], frozen: bool) -> type[_T]:
    spec = _spec(cls)
    cls.__record__ = spec  # type: ignore[attr-defined]
    methods: dict[str, Any] = {"__init__": _init, "__repr__": _repr, "__eq__": _eq, "__match_args__": spec.names}
    for name, method in methods.items():
        if name not in cls.__dict__:  # one the class writes itself stays, as with a dataclass
            setattr(cls, name, method)
    if frozen:
        setattr(cls, "__setattr__", _refuse_set)  # noqa: B010 (mypy would call a direct assignment a method override)
        setattr(cls, "__delattr__", _refuse_delete)  # noqa: B010
    if cls.__dict__.get("__hash__") is None:
        # Hashed over the fields when frozen; a mutable one is unhashable, as a dataclass. (A class
        # body that writes __eq__ alone gets __hash__ None, so None is "not written by the class".)
        setattr(cls, "__hash__", _hash if frozen else None)  # noqa: B010
    return cls


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: type[_T]) -> type[_T]:
    """A frozen record (`@dataclass(frozen=True)`)."""
    return _make(cls, frozen=True)


@dataclass_transform(field_specifiers=(field,))
def mutable_record(cls: type[_T]) -> type[_T]:
    """A mutable record (`@dataclass`): fields assignable, instances unhashable."""
    return _make(cls, frozen=False)


if TYPE_CHECKING:
    # The same contract as dataclasses.replace, so mypy checks each call's field names and types.
    from dataclasses import replace as replace
else:
    def replace(obj, /, **changes):
        """A copy of the record `obj` with `changes` (field name -> value); `__post_init__` runs
        again. A dataclass is handed to `dataclasses.replace`."""
        spec = getattr(type(obj), "__record__", None)
        if spec is None:
            import dataclasses
            return dataclasses.replace(obj, **changes)
        for name in changes:
            if name not in spec.known:
                raise TypeError(f"{type(obj).__qualname__}.__init__() got an unexpected keyword argument {name!r}")
        state = obj.__dict__
        copy = object.__new__(type(obj))
        copy.__dict__.update({name: changes[name] if name in changes else state[name] for name in spec.names})
        if spec.post_init:
            copy.__post_init__()
        return copy
