"""core/record.py: the dataclass contract the engine relies on, without dataclasses."""

import pytest

from core.record import Record, factory, replace


class Point(Record, frozen=True):
    x: int
    y: int = 0
    tags: frozenset = frozenset()


class Bag(Record):
    name: str
    items: list = factory(list)


class Child(Bag):
    size: int = 1


def test_positional_keyword_and_defaults():
    assert Point(1).__dict__ == {"x": 1, "y": 0, "tags": frozenset()}
    assert Point(1, y=2) == Point(x=1, y=2)
    assert repr(Point(1, 2)) == "Point(x=1, y=2, tags=frozenset())"


def test_wrong_arguments_say_what_is_wrong():
    with pytest.raises(TypeError, match="missing required argument 'x'"):
        Point()
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        Point(1, z=3)
    with pytest.raises(TypeError, match="multiple values for argument 'x'"):
        Point(1, x=2)
    with pytest.raises(TypeError, match="takes 3 arguments, 4 were given"):
        Point(1, 2, frozenset(), 4)


def test_frozen_is_immutable_and_hashable():
    p = Point(1, 2)
    with pytest.raises(AttributeError, match="Point is frozen"):
        p.x = 3
    with pytest.raises(AttributeError, match="Point is frozen"):
        del p.y
    assert {p, Point(1, 2)} == {p}


def test_mutable_records_compare_by_value_and_are_unhashable():
    a, b = Bag("a"), Bag("a")
    assert a == b and a != Bag("b")
    a.items.append(1)
    assert b.items == [], "each instance gets its own list from the factory"
    assert a != b
    with pytest.raises(TypeError):
        hash(a)
    assert Bag("a") != Child("a"), "instances of different classes never compare equal"


def test_subclass_fields_follow_the_base_fields():
    assert Child._fields == ("name", "items", "size")
    assert Child("c", [1], 3).__dict__ == {"name": "c", "items": [1], "size": 3}


def test_replace_copies_with_changes():
    p = Point(1, 2)
    assert replace(p, y=5) == Point(1, 5)
    assert p == Point(1, 2)
