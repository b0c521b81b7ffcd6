"""rules.records keeps the contract of the dataclasses it replaced: each record here is checked
against the same class body made a real dataclass, on what the engine and its tests rely on."""
from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Callable, Mapping

import pytest

from rules.records import FrozenRecordError, field, mutable_record, record, replace


@record
class Subnet:
    id: str
    az: str
    ipv6: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    note: str = field(default="", repr=False)

    @property
    def dual(self) -> bool:
        return bool(self.ipv6)


@dataclasses.dataclass(frozen=True)
class SubnetDC:
    id: str
    az: str
    ipv6: tuple[str, ...] = ()
    tags: Mapping[str, str] = dataclasses.field(default_factory=dict)
    note: str = dataclasses.field(default="", repr=False)


@record
class Checked:
    mode: str = "report"

    def __post_init__(self) -> None:
        if self.mode not in ("report", "remediate"):
            raise ValueError(f"mode {self.mode!r}")


@record
class Base:
    id: str
    detail: str = ""


@record
class Derived(Base):
    extra: int = 0


@mutable_record
class Tally:
    seen: list[str] = field(default_factory=list)
    count: int = 0


def test_a_record_is_built_as_its_dataclass_is() -> None:
    for args, kwargs in ((("subnet-1", "a"), {}), (("subnet-1",), {"az": "a", "ipv6": ("::/64",)}),
                         ((), {"az": "b", "id": "subnet-2", "tags": {"k": "v"}, "note": "n"}),
                         (("subnet-1", "a", ("::/64",), {}, "n"), {})):
        rec, dc = Subnet(*args, **kwargs), SubnetDC(*args, **kwargs)

        assert repr(rec) == repr(dc).replace("SubnetDC", "Subnet")
        assert vars(rec) == vars(dc) and list(vars(rec)) == list(vars(dc))
        assert rec == Subnet(*args, **kwargs) and rec != Subnet("subnet-9", "c")
    assert Subnet("s", "a").dual is False and Subnet("s", "a", ("::/64",)).dual
    assert Subnet.__match_args__ == SubnetDC.__match_args__
    assert Subnet.ipv6 == SubnetDC.ipv6 == () and Subnet.note == SubnetDC.note == ""


@pytest.mark.parametrize("call", [
    lambda c: c("s"), lambda c: c("s", "a", id="t"), lambda c: c("s", "a", zone="z"), lambda c: c(*"abcdef"),
])
def test_a_call_a_dataclass_refuses_is_refused(call: Callable[[type], object]) -> None:
    with pytest.raises(TypeError):
        call(SubnetDC)
    with pytest.raises(TypeError):
        call(Subnet)


def test_each_instance_gets_its_own_default_from_the_factory() -> None:
    one, two = Tally(), Tally()
    one.seen.append("x")

    assert two.seen == [] and Subnet("s", "a").tags is not Subnet("s", "a").tags


def test_a_frozen_record_refuses_assignment_and_hashes_over_its_fields() -> None:
    rec = Subnet("subnet-1", "a")
    with pytest.raises(FrozenRecordError):
        rec.az = "b"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del rec.az  # type: ignore[misc]

    assert {Derived("x", "y", 1), Derived("x", "y", 1)} == {Derived("x", "y", 1)} != {Derived("x", "y", 2)}
    assert hash(Base("x", "y")) == hash(Base("x", "y"))
    assert Base("x") != Derived("x") and Base("x") != ("x", "")  # the same class only, as a dataclass
    with pytest.raises(TypeError):
        hash(rec)  # its tags are a dict: unhashable, as the dataclass's would be
    with pytest.raises(TypeError):
        hash(SubnetDC("subnet-1", "a"))


def test_a_mutable_record_is_assignable_and_unhashable() -> None:
    tally = Tally()
    tally.count += 1

    assert tally == Tally([], 1)
    with pytest.raises(TypeError):
        hash(tally)


def test_replace_copies_with_changes_and_checks_again() -> None:
    rec = Subnet("subnet-1", "a", tags={"k": "v"})
    moved = replace(rec, az="b")

    assert moved == Subnet("subnet-1", "b", tags={"k": "v"}) and rec.az == "a"
    assert replace(Checked(), mode="remediate").mode == "remediate"
    with pytest.raises(ValueError):
        replace(Checked(), mode="delete")
    with pytest.raises(TypeError):
        replace(rec, zone="z")  # type: ignore[call-arg]
    assert replace(SubnetDC("s", "a"), az="b") == SubnetDC("s", "b")  # a dataclass too


def test_post_init_checks_every_construction() -> None:
    with pytest.raises(ValueError):
        Checked("delete")
    assert Checked().mode == "report"


def test_a_derived_record_has_its_base_fields_first() -> None:
    d = Derived("x", "why", 3)

    assert Derived.__match_args__ == ("id", "detail", "extra")
    assert repr(d) == "Derived(id='x', detail='why', extra=3)"
    assert replace(d, detail="") == Derived("x", extra=3)


def test_copies_and_pickles_are_equal_records() -> None:
    rec = Subnet("subnet-1", "a", ("::/64",), {"k": "v"}, "n")

    assert copy.copy(rec) == rec and copy.deepcopy(rec) == rec and pickle.loads(pickle.dumps(rec)) == rec


def test_a_class_a_dataclass_would_refuse_is_refused_when_defined() -> None:
    with pytest.raises(ValueError):
        @record
        class Shared:
            items: list[str] = []  # one list for every instance: what field(default_factory=list) is for

    with pytest.raises(TypeError):
        @record
        class Order:
            a: str = ""
            b: str  # type: ignore[misc]
