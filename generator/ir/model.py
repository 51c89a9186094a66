"""The IR's records: Api → Resource → Operation → Param/Body, and the public types (Model,
ModelAlias, Alias). Templates read only these objects."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from .filters import FilterDef
from .pytypes import ModelRef, PyType, strip_null, typing_of
from .vocab import Auth, BodyKind, HttpMethod, Pagination, ParamKind, ParamLocation, ResponseKind


@dataclass(frozen=True)
class Reserved:
    """Names the generated code defines itself, by namespace (from the runtime and templates):
    a resource attribute, a model field or a resource method must not take one of them."""

    client: frozenset[str] = frozenset()
    resource: frozenset[str] = frozenset()
    model: frozenset[str] = frozenset()
    classes: frozenset[str] = frozenset()


@dataclass(eq=False)
class FieldDef:
    wire: str
    name: str
    type: PyType
    required: bool
    nullable: bool
    doc: str


# Who claims a name first when two different types want the same one (then: the concept key
# that sorts first); see generator/ir/names.py. A name kept from an earlier generation comes
# last: it never takes a name a current concept has (see generator/ir/carry.py).
COMPONENT, OVERRIDE, PARAMETER, SITE, KEPT = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class Kept:
    """Why a name that no concept of this spec claims is still public: an earlier generation
    named the schema at its place so (or ``specs/names.yaml`` declares it)."""

    of: str
    """What its key names: ``component``, ``inline`` or ``parameter`` (as in the record)."""
    origin: str
    """The revision whose generation named it (or ``specs/names.yaml``)."""
    since: str
    """The revision since which it is kept as another name of ``now``."""
    now: str
    """What the type at its place is called now (a public name, or an annotation)."""
    was: str = ""
    """The component it named, when that component is gone and its schema is now inline at
    another place or a component of another name (see :mod:`.carry`); else empty."""
    at: str = ""
    """With ``was``: the place (concept key) that holds the schema now."""

    @property
    def doc(self) -> str:
        if self.origin == NAMES_FILE:
            return f"Declared in {NAMES_FILE}: another name of ``{self.now}``."
        if self.was and self.of == "inline":
            return (
                f"Kept for compatibility: since revision {self.since} this shape is "
                f"``{self.now}``, inline at ``{self.at}`` (the name is from revision "
                f"{self.origin})."
            )
        return (
            f"Kept for compatibility: since revision {self.since} this shape is ``{self.now}``"
            f" (the name is from revision {self.origin})."
        )


@dataclass(frozen=True)
class Reused:
    """On a name a current concept holds that an earlier generation gave another schema: what
    it named before (code that imported it gets this concept's type now)."""

    key: str
    """The concept it named."""
    now: str
    """What that schema is called now."""
    since: str
    """The revision since which the name means this concept."""


NAMES_FILE = "specs/names.yaml"


@dataclass(eq=False)
class ModelName:
    """One public name of a model class: the name of the concept it stands for (a component
    schema, or an inline schema at one place). Inline schemas of the same shape share a class;
    each of its places keeps its own name (the class's, or an alias of it)."""

    key: str
    """The concept: a component name, or ``Owner/prop/Item``-style path of an inline schema."""
    wanted: str
    """The name the concept derives (before collisions and ``specs/names.yaml``)."""
    model: ModelDef
    description: str = ""
    fields: list[FieldDef] = field(default_factory=list)
    """The fields as typed at this place (nested inline schemas named after this place)."""
    rank: int = SITE
    name: str = ""
    kept: Kept | None = None
    """Set on a name kept from an earlier generation (see :class:`Kept`)."""
    reused: Reused | None = None
    """Set on a name that named another schema in an earlier generation."""

    @property
    def class_name(self) -> str:
        return self.model.name

    @property
    def doc(self) -> str:
        """The docstring of this name when it is an alias of the class."""
        if self.kept is not None:
            return self.kept.doc
        return f"Another name of :class:`{self.model.name}`: the same shape at ``{self.key}``."


Place = Literal["attributes", "nested", "link", "links", "relationship", "id", "data"]
"""Where a keyword's value goes: a ``data.attributes`` member (``nested``: wrapped as a
one-resource document), a relationship by id (``link``), by a list of ids (``links``), a
relationship given whole, ``data.id`` or another ``data`` member."""


@dataclass(frozen=True)
class BuilderParam:
    name: str
    """The keyword (a Python identifier)."""
    wire: str
    """The JSON member it fills (in ``data.attributes``, ``data.relationships`` or ``data``)."""
    member: str
    """The field name (Python) of that member in its model class."""
    place: Place
    annotation: str
    required: bool
    doc: str
    type_value: str = ""
    """For ``nested``, ``link`` and ``links``: the ``type`` constant the runtime fills in."""
    refs: frozenset[str] = frozenset()


@dataclass(eq=False)
class BuilderDef:
    """The ``build`` classmethod of one request-document model (see :mod:`.builders`)."""

    type_value: str
    """``data.type`` (the constant the schema declares)."""
    params: list[BuilderParam] = field(default_factory=list)

    @property
    def ordered(self) -> list[BuilderParam]:
        """Required keywords first (each group in schema order)."""
        return [p for p in self.params if p.required] + [p for p in self.params if not p.required]

    @property
    def refs(self) -> frozenset[str]:
        return frozenset().union(*(p.refs for p in self.params))

    @property
    def uses_dt(self) -> bool:
        return any("_dt." in p.annotation for p in self.params)

    def names(self, candidates: tuple[str, ...]) -> set[str]:
        """Which of *candidates* (``typing``/``collections.abc`` names) the signature uses."""
        words = {w for p in self.params for w in _WORD.findall(p.annotation)}
        return {n for n in candidates if n in words}

    def of(self, place: str) -> list[BuilderParam]:
        return [p for p in self.params if p.place == place]


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(eq=False)
class ModelDef:
    """A generated model class; ``names`` are all its public names (``names[0]`` is the
    class's own, the others become aliases in the same module)."""

    name: str
    doc: str
    fields: list[FieldDef]
    module: str = ""
    names: list[ModelName] = field(default_factory=list)
    builder: BuilderDef | None = None
    """The ``build`` classmethod of a JSON:API request document (see :mod:`.builders`)."""

    @property
    def class_name(self) -> str:
        return self.name

    @property
    def aliases(self) -> list[ModelName]:
        """The other public names of this class (``Name = Class`` in its module)."""
        return self.names[1:]

    @property
    def refs(self) -> set[str]:
        out: set[str] = set()
        for f in self.fields:
            out |= f.type.refs
        if self.builder is not None:
            out |= self.builder.refs
        out -= {n.name for n in self.names}
        out.discard(self.name)
        return out


@dataclass(eq=False)
class AliasDef:
    """A named type alias: an enum or another non-object schema (``type`` is its definition,
    without ``| None``; ``nullable`` says whether references to it may be null)."""

    name: str
    type: PyType | None
    doc: str
    nullable: bool = False
    key: str = ""
    """The concept it names (a component, an inline enum's place, a parameter concept)."""
    rank: int = SITE
    wanted: str = ""
    kept: Kept | None = None
    """Set on a name kept from an earlier generation (see :class:`Kept`)."""
    reused: Reused | None = None
    """Set on a name that named another schema in an earlier generation."""

    @property
    def definition(self) -> PyType:
        assert self.type is not None, f"alias {self.name} used before it was defined"
        return self.type

    @property
    def annotation(self) -> str:
        return self.definition.annotation

    @property
    def refs(self) -> frozenset[str]:
        return self.definition.refs


@dataclass(eq=False)
class ParamDef:
    wire: str
    name: str
    location: ParamLocation
    type: PyType
    """The type of one value (of each item, for an array parameter), never nullable."""
    required: bool
    csv: bool
    multi: bool
    kind: ParamKind
    minimum: float | None
    maximum: float | None
    doc: str
    choices: tuple[Any, ...] | None = None
    """The enum values this operation accepts (the runtime checks them before sending); the
    annotation may name a wider concept (``ProfileField``: every value of ``fields[profile]``)."""
    filter: FilterDef | None = None
    """The typed filter (``x-klaviyo-filters``) a ``filter`` parameter also accepts."""

    @property
    def annotation(self) -> str:
        if self.kind == "filter" and self.filter is not None:
            ann = f"str | Condition[{self.filter.class_name}]"
        elif self.kind == "object":
            ann = "Mapping[str, Any]"
        elif self.csv or self.multi:
            ann = f"Sequence[{self.type.annotation}]"
        else:
            ann = self.type.annotation
        return ann if self.required else f"{ann} | None"

    @property
    def typing_names(self) -> list[str]:
        return ["Any"] if self.kind == "object" else typing_of([self.type])


@dataclass(eq=False)
class BodyDef:
    kind: BodyKind
    type: PyType
    required: bool
    dict_name: str | None = None
    """The typed dict (``klaviyo_client.bodies``) accepted instead of a plain mapping, where
    the body is a JSON document of a model (set by :func:`.bodies.plan`)."""

    @property
    def model(self) -> str | None:
        """The model class the body is, if it is one."""
        t = strip_null(self.type)
        return t.target.name if isinstance(t, ModelRef) and self.type.kind == "model" else None

    @property
    def typed(self) -> PyType | None:
        """The generated type accepted besides a plain mapping, if any."""
        t = strip_null(self.type)
        return t if self.model or self.type.refs else None

    @property
    def annotation(self) -> str:
        typed = self.typed
        if typed and self.dict_name:
            base = f"{typed.annotation} | {self.dict_name}"
        elif typed:
            base = f"{typed.annotation} | Mapping[str, Any]"
        else:
            base = "Mapping[str, Any]"
        return base if self.required else f"{base} | None"

    @property
    def typing_names(self) -> list[str]:
        typed = self.typed
        names = typing_of([typed] if typed else [])
        return names if typed and self.dict_name else [*names, "Any"]


@dataclass(frozen=True)
class LimitDef:
    """One rate-limit window of an operation: at most ``limit`` calls per ``seconds``."""

    name: str
    limit: int
    seconds: int


@dataclass(eq=False)
class OperationDef:
    id: str
    method: HttpMethod
    path: str
    tag: str
    resource: str
    name: str
    aliases: list[str]
    deprecated: bool
    summary: str
    doc: str
    params: list[ParamDef]
    body: BodyDef | None
    response: PyType | None
    response_kind: ResponseKind
    auth: Auth
    paginated: Pagination | None
    retry_safe: bool
    dedupe: str | None
    retry_note: str
    """Why repeating it is safe (``why:`` in specs/retry.yaml; "" when it is not listed)."""
    scopes: list[str]
    rate_limit: dict[str, str]
    limits: list[LimitDef]
    """``rate_limit`` as numbers, shortest window first (what the client's limiter enforces)."""
    server: str | None
    subtag: str
    """The operation's ``x-klaviyo-subtag`` ("" when it has none; see :mod:`.groups`)."""
    deprecation: str = ""
    replacement: str | None = None
    replacement_call: str = ""
    """The replacement as a call and HTTP line: ``client.lists.get_lists() (GET /api/lists)``."""
    replacement_text: str = ""
    migration_note: str = ""

    @property
    def refs(self) -> set[str]:
        out: set[str] = set()
        for p in self.params:
            out |= p.type.refs
        if self.body:
            out |= self.body.type.refs
        if self.response:
            out |= self.response.refs
        return out

    @property
    def returns(self) -> str:
        return self.response.annotation if self.response else "None"

    @property
    def positional(self) -> list[ParamDef]:
        return [p for p in self.params if p.location == "path"]

    @property
    def keyword(self) -> list[ParamDef]:
        return [p for p in self.params if p.location != "path"]


@dataclass(eq=False)
class ResourceDef:
    tag: str
    attr: str
    class_name: str
    module: str
    doc: str
    operations: list[OperationDef] = field(default_factory=list)


@dataclass(frozen=True)
class Example:
    """What the README's "Use" example calls (see :mod:`.examples`)."""

    resource: str
    """The client attribute (``profiles``)."""
    listing: OperationDef
    get: OperationDef

    @property
    def page_size(self) -> bool:
        """Whether the list takes ``page_size`` (not every paged operation does)."""
        return any(p.name == "page_size" for p in self.listing.params)


@dataclass(frozen=True)
class JobDef:
    """One kind of job: the operations that create, fetch and list the errors of it."""

    type: str
    """The JSON:API ``type`` of the job resource (``profile-bulk-import-job``)."""
    create: str
    """operationId of the ``POST`` that creates it."""
    get: str
    """operationId of the ``GET`` that fetches it by id."""
    errors: str | None
    """operationId of the ``GET`` listing its per-item errors, where the spec has one."""
    statuses: tuple[str, ...]
    """The values the get operation's ``attributes.status`` enum declares."""


@dataclass(eq=False)
class Api:
    title: str
    version: str
    package: str
    base_url: str
    resources: list[ResourceDef]
    operations: list[OperationDef]
    models: list[ModelDef]
    aliases: list[AliasDef]
    source_label: str
    stats: dict[str, int] = field(default_factory=dict)
    package_version: str = "0.0.0"
    retired: str = ""
    """The day Klaviyo retired this API (``YYYY-MM-DD``; the legacy v1/v2 API), else ""."""
    example: Example | None = None
    """The operations the README's example calls (None: no resource has a list and a get)."""
    jobs: list[JobDef] = field(default_factory=list)
    """The asynchronous jobs: create → get-by-id (→ per-item errors), see :mod:`.jobs`."""

    @property
    def model_aliases(self) -> list[ModelName]:
        """Every other name of a model class (``Name = Class``), by name."""
        return sorted((a for m in self.models for a in m.aliases), key=lambda a: a.name)

    @property
    def model_modules(self) -> dict[str, list[ModelDef]]:
        out: dict[str, list[ModelDef]] = defaultdict(list)
        for m in self.models:
            out[m.module].append(m)
        return dict(sorted(out.items()))
