"""Record: the part of `@dataclass` this engine uses, without its import-time cost.

`dataclasses` writes each class's `__init__`, `__repr__`, `__eq__` (and `__hash__`, `__setattr__`
when frozen) as source text and exec()s it: about 1 ms per class, 15 ms for the 16 classes every
action imports (measured), and the module itself pulls in inspect, ast and dis. A command that runs
for a quarter of a second pays that on every call. Record reads a class's annotations once and
serves every class with the same generic methods.

    class Step(Record, frozen=True):
        rid: str
        tags: frozenset = frozenset()
        conf: dict = factory(dict)       # a fresh dict per instance (dataclasses' default_factory)

Same contract as the dataclass it replaces: fields in annotation order (a subclass's after its
base's), positional or keyword arguments, value equality between instances of the same class,
`repr` listing the fields, frozen classes immutable and hashable, mutable ones unhashable.
"""

_MISSING = object()


class factory:
    """A default made fresh for each instance: `conf: dict = factory(dict)`."""

    __slots__ = ("make",)

    def __init__(self, make):
        self.make = make


class Record:
    _fields = ()
    _defaults = {}
    _frozen = False

    def __init_subclass__(cls, frozen=False, **kw):
        super().__init_subclass__(**kw)
        own = tuple(cls.__dict__.get("__annotations__", {}))
        cls._fields = tuple(f for f in cls._fields if f not in own) + own
        cls._defaults = dict(cls._defaults)
        for name in own:
            value = cls.__dict__.get(name, _MISSING)
            if value is _MISSING:
                cls._defaults.pop(name, None)
            else:
                cls._defaults[name] = value
                if type(value) is factory:
                    delattr(cls, name)   # reading it off the class would hand out the marker
        cls._frozen = frozen
        if frozen:
            cls.__hash__ = Record._hash
        elif "__hash__" not in cls.__dict__:
            cls.__hash__ = None          # mutable and compared by value: unhashable, as dataclasses do

    def __init__(self, *args, **kwargs):
        fields = self._fields
        name = type(self).__name__
        if len(args) > len(fields):
            raise TypeError(f"{name}() takes {len(fields)} arguments, {len(args)} were given")
        values = dict(zip(fields, args))
        for key, value in kwargs.items():
            if key not in fields:
                raise TypeError(f"{name}() got an unexpected keyword argument {key!r}")
            if key in values:
                raise TypeError(f"{name}() got multiple values for argument {key!r}")
            values[key] = value
        store = self.__dict__
        defaults = self._defaults
        for field in fields:
            if field in values:
                store[field] = values[field]
                continue
            default = defaults.get(field, _MISSING)
            if default is _MISSING:
                raise TypeError(f"{name}() missing required argument {field!r}")
            store[field] = default.make() if type(default) is factory else default

    def _values(self):
        store = self.__dict__
        return tuple(store[f] for f in self._fields)

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def _hash(self):
        return hash(self._values())

    def __repr__(self):
        store = self.__dict__
        return f"{type(self).__name__}({', '.join(f'{f}={store[f]!r}' for f in self._fields)})"

    def __setattr__(self, key, value):
        if self._frozen:
            raise AttributeError(f"cannot assign to field {key!r}: {type(self).__name__} is frozen")
        object.__setattr__(self, key, value)

    def __delattr__(self, key):
        if self._frozen:
            raise AttributeError(f"cannot delete field {key!r}: {type(self).__name__} is frozen")
        object.__delattr__(self, key)


def replace(record, **changes):
    """A copy of `record` with some fields changed (dataclasses.replace)."""
    return type(record)(**{**{f: record.__dict__[f] for f in record._fields}, **changes})
