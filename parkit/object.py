"""Object: the base of every parkit class, bound to a path in a namespace.

An object's state lives in its namespace's pool under the object's name:
an entry holding its type, uuid, creation time, version, its data
container and its persistent attributes.  Python objects are only handles:
any process may bind the same path and sees the same state.

Every operation is one transaction of its own unless it runs inside a
transaction (see parkit.context).  Values come back as plain Python copies
(a stored list is returned as a ``list``), except with ``zero_copy=True``
inside a transaction or snapshot, where the persistent objects themselves
come back, valid until the block ends.

Also here: the paths every operation takes (the quick calls, the general
path that owns the namespace), what describes a stored object
(:class:`Descriptor`), and :func:`bind_path`, which binds a path as the
class it was stored as.
"""
from __future__ import annotations

import datetime
import time
import uuid as _uuid
from typing import Any, Callable, Dict, Optional, Tuple, TypedDict, TypeVar, cast

import pmemobj
from pmemobj import qualname

from .context import current, enter, open_contexts
from .errors import (
    ContextError,
    NamespaceFullError,
    ObjectExistsError,
    ObjectNotFoundError,
    namespace_full,
)
from .namespace import Handle, handle_for
from .storage import split_path


T = TypeVar("T")


class Descriptor(TypedDict):
    """What :func:`objects` reports about an object."""

    type: str
    path: str
    namespace: str
    name: str
    uuid: str
    created: str
    version: int


def make_descriptor(namespace: str, name: str, entry: Any) -> Descriptor:
    created = datetime.datetime.fromtimestamp(entry["created"], datetime.timezone.utc)
    return Descriptor(type=entry["type"], path=f"{namespace}/{name}", namespace=namespace,
                      name=name, uuid=entry["uuid"], created=created.isoformat(),
                      version=entry["version"])


# -- copying values out -------------------------------------------------------------

def copy_out(v: T) -> T:
    """*v* with persistent containers turned into built-in ones."""
    return cast(T, _copy(v))


def _copy(v: Any) -> Any:
    t = type(v)
    if t is pmemobj.PersistentDict:
        return {k: _copy(x) for k, x in v.items()}
    if t is pmemobj.PersistentList:
        return [_copy(x) for x in v]
    if t is tuple or t is pmemobj.PersistentTuple:
        return tuple(_copy(x) for x in v)
    if t is pmemobj.PersistentSet:
        return set(v)
    if t is pmemobj.PersistentFrozenSet:
        return frozenset(v)
    return v


_SPECIAL = (property, classmethod, staticmethod)
#: values returned as they are: nothing in them can be a live persistent object
_SCALARS = frozenset({int, str, float, bool, bytes, type(None), complex})
_MISSING = object()
_RETRY = object()
#: What a quick call raises when the general path must take over: the pool
#: was closed (handed over), or the thread's context forbids the call.
_RETRY_ERRORS = (pmemobj.PoolClosedError, pmemobj.ConfinementError)
#: Returned by a write function that changed nothing (no version, no wake-up).
UNCHANGED: Any = object()


class _Attribute:
    """A class-level default of a persistent attribute: reads the stored
    value if there is one, else the default; assignments persist."""

    def __init__(self, name: str, default: Any):
        self.name = name
        self.default = default

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self.default
        value = obj._quick_get(obj._attrs, self.name, _stored_attribute)
        return self.default if value is _MISSING else value

    def __set__(self, obj: Any, value: Any) -> None:
        obj._attr_set(self.name, value)

    def __delete__(self, obj: Any) -> None:
        obj._attr_del(self.name)


class Object:
    """Base class of parkit objects; subclass it for custom shared objects.

    Public attributes of a subclass persist and are shared by every process
    that binds the path (names starting with ``_`` stay local).  Class-level
    values are defaults.  :meth:`on_create` runs once, in the process that
    creates the object, inside the creating transaction.

    *create* makes the object if the path is free; *bind* attaches to an
    existing one (of the same class).  *versioned* counts changes in
    :attr:`version`.
    """

    #: kind of data container: "dict", "list", or None (attributes only)
    _container: Optional[str] = None
    #: whether public attributes assigned at run time persist too, not only
    #: those declared on the class.  The containers (Dict, Log, Queue) leave
    #: it off: reading undeclared names needs a __getattr__, and a class
    #: with one pays for it on every attribute read, hot calls included.
    _dynamic_attributes = True

    # set per instance (the entry and data are pmemobj containers, or
    # DETACHED while unresolved)
    _path: str
    _namespace: str
    _name: str
    _versioned: bool
    _handle: Handle
    _gen: int
    _entry: Any
    _data: Any
    _pool: Any

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        for name, value in list(vars(cls).items()):
            if name.startswith("_") or callable(value) or isinstance(value, _SPECIAL) \
                    or hasattr(value, "__get__"):
                continue
            setattr(cls, name, _Attribute(name, value))
        if cls._dynamic_attributes and not hasattr(cls, "__getattr__"):
            cls.__getattr__ = _dynamic_getattr   # type: ignore[attr-defined]

    def __new__(cls, *args: Any, **kw: Any) -> Any:
        # Object itself, used directly, needs the __getattr__ its subclasses get
        return super().__new__(_PlainObject if cls is Object else cls)

    def __init__(self, path: str, /, *, create: bool = True, bind: bool = True,
                 versioned: bool = True):
        namespace, name = split_path(path)
        # (set as plain attributes, never through __dict__: reading that
        # turns the instance's fast attribute storage into a slower dict)
        self._path = f"{namespace}/{name}"
        self._namespace = namespace
        self._name = name
        self._versioned = versioned
        self._handle = h = handle_for(namespace)
        self._gen = -1
        self._entry, self._data, self._pool = None, DETACHED, DETACHED
        self._resolved(DETACHED, DETACHED)
        self._bind(create, bind)
        h.register(name, self)

    @classmethod
    def _typename(cls) -> str:
        return qualname.name_of(cls)

    def _new_data(self) -> Any:
        return {"dict": {}, "list": []}.get(self._container or "")

    def _bind(self, create: bool, bind: bool) -> None:
        h = self._handle
        pool = enter(h)
        try:
            objs = h.objects()
            entry = objs.get(self._name)
            if entry is not None:
                if not bind:
                    raise ObjectExistsError(f"{self._path} already exists")
                if entry["type"] != self._typename():
                    raise TypeError(f"{self._path} is a {entry['type']}, not a "
                                    f"{self._typename()}")
                self._uuid = entry["uuid"]
            else:
                if not create:
                    raise ObjectNotFoundError(f"{self._path} does not exist")
                ctx = current()
                if ctx is not None and ctx.snapshot:
                    raise ContextError("cannot create objects inside a snapshot")
                uid = _uuid.uuid4().hex
                with pool.transaction():
                    objs[self._name] = {
                        "uuid": uid, "type": self._typename(), "created": time.time(),
                        "version": 0, "attrs": {}, "data": self._new_data(),
                        **self._initial_entry()}
                    self._uuid = uid
                    self.on_create()
        finally:
            h.leave()

    def _initial_entry(self) -> Dict[str, Any]:
        return {}

    def on_create(self) -> None:
        """Called once when the object is created; set initial attributes
        here (they commit with the creation)."""

    # -- resolving the stored entry ----------------------------------------------

    def _resolve(self) -> Any:
        """The entry and data container (pool owned, mutex held)."""
        h = self._handle
        if self._gen == h.generation and self._entry is not None:
            return self._entry, self._data
        entry = h.objects().get(self._name)
        if entry is None or entry["uuid"] != self._uuid:
            raise ObjectNotFoundError(f"{self._path} was dropped")
        self._entry, self._data, self._pool = entry, entry["data"], h.pool
        self._gen = h.generation
        self._resolved(entry, entry["data"])
        return entry, entry["data"]

    def _resolved(self, entry: Any, data: Any) -> None:
        """The object was resolved to *entry* (or detached: DETACHED): bind
        what the quick calls use.  Subclasses extend it."""
        attrs = DETACHED if entry is DETACHED else entry["attrs"]
        self._attrs = attrs
        self._attr_store = (
            attrs._p_set if not self._versioned or attrs is DETACHED
            else attrs._p_counting(entry, "version")[0])

    def _detach(self) -> None:
        """Forget the resolved entry (the path was dropped)."""
        self._entry, self._data, self._pool = None, DETACHED, DETACHED
        self._resolved(DETACHED, DETACHED)

    def _check_context(self, write: bool) -> bool:
        """Check this thread's transaction or snapshot, if any, allows the
        call (else ContextError); True if values come back live (zero-copy)."""
        ctx = current()
        if ctx is None:
            return False
        if ctx.handle is not self._handle:
            raise ContextError(
                f"{self._path} is in namespace {self._namespace!r}, but this "
                f"thread's transaction is on {ctx.handle.namespace!r}")
        if write and ctx.snapshot:
            raise ContextError(f"cannot change {self._path} inside a snapshot")
        return ctx.zero_copy

    def _read(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(entry, data, *args), seeing one state; the value copied out
        unless the context is zero-copy."""
        copy = not (open_contexts.count and self._check_context(False))
        value = self._attempt(False, copy, fn, args)
        if value is _RETRY:
            value = self._owned(False, copy, fn, args)
        return cast(T, value)

    def _write(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(entry, data, *args) as one step, counting a version if the
        object is versioned (fn returns UNCHANGED when it changed nothing)."""
        copy = not (open_contexts.count and self._check_context(True))
        try:
            value = self._attempt(True, copy, fn, args)
            if value is _RETRY:
                value = self._owned(True, copy, fn, args)
        except pmemobj.PoolFullError as e:
            raise self._full(e) from e
        return cast(T, value)

    # Calls first try the pool the object was last resolved in, without
    # taking the namespace: held (no other thread runs and the pool cannot
    # close in between) or, for a versioned write, in a transaction.  A pool
    # handed over to another process meanwhile is closed, so nothing
    # happens and the general path takes the namespace back.

    def _attempt(self, write: bool, copy: bool, fn: Callable[..., Any], args: Any) -> Any:
        count = write and self._versioned
        began = False
        try:
            with (self._pool.mm.transaction() if count else self._pool.hold()):
                began = True
                return self._apply(count, copy, fn, args)
        except pmemobj.PoolClosedError:
            if began:
                raise
            return _RETRY

    def _owned(self, write: bool, copy: bool, fn: Callable[..., Any], args: Any) -> Any:
        """The general path: own the namespace, opening its pool if needed."""
        h = self._handle
        pool = enter(h)
        try:
            self._resolve()
            count = write and self._versioned
            with (pool.mm.transaction() if count else pool.hold()):
                return self._apply(count, copy, fn, args)
        finally:
            h.leave()

    def _apply(self, count: bool, copy: bool, fn: Callable[..., Any], args: Any) -> Any:
        value = fn(self._entry, self._data, *args)
        if count and value is not UNCHANGED:
            self._entry.increment("version")
        # copied while held: another thread cannot change it half-way
        return value if not copy or type(value) in _SCALARS else copy_out(value)

    # Quick calls.  A call that is one atomic pmemobj call (a get, a set,
    # an append, a length) goes straight to the container the object was
    # last resolved in, without taking the namespace or even a hold.  It
    # fails before doing anything, with one of _RETRY_ERRORS, if the pool
    # was handed over to another process meanwhile (it is closed) or if
    # the thread's transaction or snapshot forbids it (the pool confines
    # the thread); the general path (_read/_write) then takes over, and
    # raises ContextError for the latter.  A read that returns a container
    # also goes the general way, to be copied out consistently.  Reads
    # with a default (Dict.get, attributes) share _quick_get; the hottest
    # calls ([], []=, del, in, len, append, attribute sets) spell it out
    # themselves: a helper's call frame costs 3-10% of each.

    def _data_len(self) -> int:
        """Length of the data container: Dict's and Log's __len__."""
        try:
            return len(self._data)
        except _RETRY_ERRORS:
            pass
        return int(self._read(lambda e, d: len(d)))

    def _full(self, e: BaseException) -> NamespaceFullError:
        return namespace_full(self._namespace, e)

    # -- persistent attributes ------------------------------------------------------

    def _quick_get(self, container: Any, key: Any, read: Callable[..., Any]) -> Any:
        """``container.get(key)``, or _MISSING, as a quick call; when that
        cannot answer (or found a container, to copy consistently),
        ``read(entry, data, key)`` on the general path.  Serves Dict.get
        and attribute reads."""
        try:
            value = container.get(key, _MISSING)
        except _RETRY_ERRORS:
            value = _RETRY
        else:
            t = type(value)
            if not (t is int or t is str or value is _MISSING or t in _SCALARS):
                value = _RETRY
        return self._read(read, key) if value is _RETRY else value

    def _attr_get(self, name: str) -> Any:
        value = self._quick_get(self._attrs, name, _stored_attribute)
        if value is _MISSING:
            raise AttributeError(f"{type(self).__name__!r} object at {self._path} has "
                                 f"no attribute {name!r}")
        return value

    def _attr_set(self, name: str, value: Any) -> None:
        try:
            self._attr_store(name, value)
            return
        except _RETRY_ERRORS:
            pass
        except pmemobj.PoolFullError as e:
            raise self._full(e) from e
        self._write(lambda e, d: e["attrs"].__setitem__(name, value))

    def _attr_del(self, name: str) -> None:
        def delete(e: Any, d: Any) -> None:
            if name not in e["attrs"]:
                raise AttributeError(name)
            del e["attrs"][name]
        self._write(delete)

    def _undeclared(self, name: str) -> AttributeError:
        return AttributeError(
            f"{type(self).__name__!r} object has no attribute {name!r}: declare "
            f"persistent attributes on a subclass (``{name} = default``)")

    def __setattr__(self, name: str, value: Any) -> None:
        cls = type(self)
        how = _SETTING.get((cls, name)) or _setting(cls, name)
        if how is _STORED:
            self._attr_set(name, value)
        elif how is _LOCAL:
            object.__setattr__(self, name, value)
        else:
            raise self._undeclared(name)

    def __delattr__(self, name: str) -> None:
        if name.startswith("_") or _has_slot(type(self), name, "__delete__"):
            object.__delattr__(self, name)
        elif self._dynamic_attributes:
            self._attr_del(name)
        else:
            raise self._undeclared(name)

    # -- identity and metadata ----------------------------------------------------------

    @property
    def path(self) -> str:
        """``namespace/name``."""
        return self._path

    @property
    def namespace(self) -> str:
        """The namespace holding the object."""
        return self._namespace

    @property
    def name(self) -> str:
        """The object's name within its namespace."""
        return self._name

    @property
    def uuid(self) -> str:
        """Unique id of the stored object (a re-created path gets a new one)."""
        return cast(str, self._uuid)

    @property
    def version(self) -> int:
        """Number of changes made to the object (if versioned).  A single
        write that a crash cut short may be counted though it rolled back;
        a committed change is never missed."""
        return int(self._read(lambda e, d: e["version"]))

    @property
    def exists(self) -> bool:
        """False once the object was dropped."""
        try:
            self._read(lambda e, d: None)
            return True
        except ObjectNotFoundError:
            return False

    @property
    def descriptor(self) -> Descriptor:
        """What :func:`parkit.objects` reports about this object."""
        return self._read(lambda e, d: make_descriptor(self._namespace, self._name, e))

    def drop(self) -> None:
        """Delete the object and its data from the namespace."""
        self._check_context(True)
        h = self._handle
        pool = enter(h)
        try:
            self._resolve()
            with pool.transaction():
                del h.objects()[self._name]
            h.detach(self._name)
        finally:
            h.leave()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._path!r})"

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, Object):
            return bool(self._path == other._path and self._uuid == other._uuid)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._path, self._uuid))

    def __reduce__(self) -> Any:
        return (bind_path, (self._path, self._typename()))


def _stored_attribute(e: Any, d: Any, name: str) -> Any:
    return e["attrs"].get(name, _MISSING)


_LOCAL, _STORED, _REFUSED = "local", "stored", "refused"
#: (class, name) -> how an assignment goes: _LOCAL (an instance attribute,
#: or a property's setter), _STORED (a persistent attribute), _REFUSED.
#: Names the class defines are remembered: classes are not expected to
#: change their attributes after their first instance is used.
_SETTING: Dict[Tuple[type, str], str] = {}


def _setting(cls: Any, name: str) -> str:
    if name.startswith("_"):
        return _LOCAL
    attr = _class_attribute(cls, name)
    if isinstance(attr, _Attribute):
        how = _STORED          # declared on the class
    elif hasattr(type(attr), "__set__"):
        how = _LOCAL           # a property, or another data descriptor
    else:                      # run-time names: not remembered, they are unbounded
        return _STORED if cls._dynamic_attributes else _REFUSED
    _SETTING[(cls, name)] = how
    return how


def _class_attribute(cls: type, name: str) -> Any:
    """The class attribute *name* as stored (no __get__ called), or None."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return None


def _has_slot(cls: type, name: str, method: str) -> bool:
    """Whether the class attribute *name* (a property, a declared persistent
    attribute) defines *method*."""
    return hasattr(type(_class_attribute(cls, name)), method)


def _dynamic_getattr(self: Object, name: str) -> Any:
    """Reads a persistent attribute the class does not declare."""
    if name.startswith("_"):
        raise AttributeError(name)
    return self._attr_get(name)


#: The type name of Object itself in the pools: its module was
#: parkit.objects, and stored entries keep the name.
OBJECT_TYPE = "parkit.objects:Object"


class _PlainObject(Object):
    """What ``Object(path)`` makes: an Object with run-time attributes,
    stored under Object's own type name."""

    @classmethod
    def _typename(cls) -> str:
        return OBJECT_TYPE


class _Detached:
    """The pool and data container of an object not resolved yet, or whose
    path was dropped: like those of a closed pool, any use raises
    PoolClosedError, which sends the fast paths to the general one."""

    def __call__(self, *args: Any, **kw: Any) -> Any:
        raise pmemobj.PoolClosedError("the object is not resolved")

    __getitem__ = __setitem__ = __delitem__ = __contains__ = __len__ = __call__

    def __getattr__(self, name: str) -> Any:
        return self   # any method of it: calling raises


DETACHED: Any = _Detached()


def bind_path(path: str, typename: str) -> Object:
    """Bind *path* as an instance of the class named *typename*."""
    cls = Object if typename == OBJECT_TYPE else qualname.resolve(typename)
    if not (isinstance(cls, type) and issubclass(cls, Object)):
        raise TypeError(f"{typename} is not a parkit Object class")
    return cls(path, create=False)

