"""Request bodies as data: ``TypedDict`` shapes for mapping bodies, and the compact schema table
the runtime checks a body against before it is sent.

Both are derived from the model classes of the JSON bodies (the IR's :class:`ModelDef` tree),
so they say what the models say: a model ``EventCreateQueryV2`` has the typed dict
``EventCreateQueryV2Dict`` (keys are the wire names; ``Required`` for required members;
``Literal`` for ``type`` constants and enums; nested objects are the nested models' dicts).

The schema table is JSON text (the generated module holds it as one escaped string literal;
spec text never becomes code): ``{"ops": {operationId: node}, "defs": {Class: object}}`` where
an object is ``{"r": [required wire names], "p": {wire: node}}`` and a node is a string for a
primitive (``s`` str, ``i`` int, ``n`` number, ``b`` bool, ``t`` date-time, ``d`` date, ``a``
anything, ``z`` null) or a list: ``["o", Class]``, ``["l", item]``, ``["m", value]``,
``["e", [values]]``, ``["u", [nodes], member]`` (oneOf/anyOf; ``member`` distinguishes the
alternatives, or null), ``["?", node]`` (may be null).
"""

from __future__ import annotations

import json
import keyword
from dataclasses import dataclass, field
from typing import Any

from ..escape import py_str
from .model import Api, FieldDef, ModelDef, OperationDef
from .pytypes import AliasRef, ListOf, Lit, MapOf, ModelRef, Prim, PyType, Union, strip_null

__all__ = ["BodyPlan", "TypedDictDef", "plan"]

CHECKED_KINDS = frozenset({"json", "plain-json"})
"""Body kinds that are JSON documents (checked and typed); form and multipart bodies are not."""

SUFFIX = "Dict"

_PRIM_NODE = {
    "str": "s",
    "int": "i",
    "float": "n",
    "bool": "b",
    "datetime": "t",
    "date": "d",
    "any": "a",
    "none": "z",
    "binary": "a",
}
_PRIM_DICT = {
    "str": "str",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "datetime": "str | _dt.datetime",
    "date": "str | _dt.date",
    "any": "Any",
    "none": "None",
    "binary": "Any",
}


@dataclass(frozen=True)
class TypedDictField:
    wire: str
    annotation: str
    required: bool
    refs: frozenset[str]
    """The typed dicts the annotation names."""


@dataclass(frozen=True)
class TypedDictDef:
    name: str
    model: str
    """The model class it mirrors."""
    fields: tuple[TypedDictField, ...]

    @property
    def functional(self) -> bool:
        """Whether a key is no identifier (``$email``, ``from``): then the functional form."""
        return any(not f.wire.isidentifier() or keyword.iskeyword(f.wire) for f in self.fields)


@dataclass(frozen=True)
class PlacedField:
    """A field as one module writes it: quoted where it names a dict defined later (a cycle),
    else evaluated (a quoted annotation costs a compile at import)."""

    wire: str
    text: str


@dataclass(frozen=True)
class PlacedDict:
    td: TypedDictDef
    fields: tuple[PlacedField, ...]


@dataclass
class BodyPlan:
    dicts: dict[str, TypedDictDef] = field(default_factory=dict)
    modules: dict[str, list[PlacedDict]] = field(default_factory=dict)
    """Per resource module: the dicts its operations' bodies need, dependencies first (a
    module holds its own copy of a shared shape: typed dicts are structural, and importing
    one resource's bodies stays cheap)."""
    module_of: dict[str, str] = field(default_factory=dict)
    """The module ``klaviyo_client.bodies`` re-exports each name from."""
    table: str = "{}"
    """The schema table (JSON text, see the module docstring)."""
    operations: list[str] = field(default_factory=list)
    """The operationIds whose bodies are checked."""

    def uses(self, module: str) -> set[str]:
        text = " ".join(f.annotation for d in self.modules[module] for f in d.td.fields)
        return {n for n in ("Any", "Literal", "Sequence", "Mapping", "_dt") if n in text}


def _field_type(f: FieldDef) -> PyType:
    """The field's type as the wire allows it: null only where the schema says nullable."""
    return f.type if f.nullable else strip_null(f.type)


class _Planner:
    def __init__(self, taken: set[str]) -> None:
        self.taken = taken
        self.defs: dict[str, Any] = {}
        self.models: dict[str, ModelDef] = {}
        self.names: dict[str, str] = {}
        self.seen: set[str] = set()

    def typed_field(self, f: FieldDef) -> TypedDictField:
        self.seen = set()
        text = self.annotation(_field_type(f))
        return TypedDictField(f.wire, text, f.required, frozenset(self.seen))

    def dict_name(self, model: ModelDef) -> str:
        name = self.names.get(model.name)
        if name is None:
            name, n = f"{model.name}{SUFFIX}", 2
            while name in self.taken:
                name, n = f"{model.name}{SUFFIX}{n}", n + 1
            self.taken.add(name)
            self.names[model.name] = name
        return name

    def model(self, model: ModelDef) -> str:
        if model.name not in self.defs:
            self.defs[model.name] = None  # placeholder: recursive shapes end here
            self.models[model.name] = model
            self.dict_name(model)
            self.defs[model.name] = {
                "r": [f.wire for f in model.fields if f.required],
                "p": {f.wire: self.node(_field_type(f)) for f in model.fields},
            }
        return model.name

    def node(self, t: PyType) -> Any:
        if t.nullable and not (isinstance(t, Prim) and t.name in ("none", "any")):
            inner = self.node(strip_null(t))
            return inner if inner == "a" else ["?", inner]
        if isinstance(t, Prim):
            return _PRIM_NODE[t.name]
        if isinstance(t, ListOf):
            return ["l", self.node(t.item)]
        if isinstance(t, MapOf):
            return ["m", self.node(t.value) if t.value else "a"]
        if isinstance(t, ModelRef):
            return ["o", self.model(_model_of(t))]
        if isinstance(t, AliasRef):
            if t.recursive or t.target.type is None:
                return "a"
            return self.node(t.target.type)
        if isinstance(t, Lit):
            return ["e", list(t.values)]
        if isinstance(t, Union):
            members = [self.node(m) for m in t.members]
            if "a" in members:
                return "a"
            return ["u", members, _distinguishing(t.members)]
        return "a"

    def annotation(self, t: PyType) -> str:
        if t.nullable and not (isinstance(t, Prim) and t.name in ("none", "any")):
            inner = self.annotation(strip_null(t))
            return inner if inner == "Any" else f"{inner} | None"
        if isinstance(t, Prim):
            return _PRIM_DICT[t.name]
        if isinstance(t, ListOf):
            return f"Sequence[{self.annotation(t.item)}]"
        if isinstance(t, MapOf):
            return f"Mapping[str, {self.annotation(t.value) if t.value else 'Any'}]"
        if isinstance(t, ModelRef):
            name = self.dict_name(_model_of(t))
            self.seen.add(name)
            return name
        if isinstance(t, AliasRef):
            if t.recursive or t.target.type is None:
                return "Any"
            return self.annotation(t.target.type)
        if isinstance(t, Lit):
            return t.annotation
        if isinstance(t, Union):
            parts: list[str] = []
            for m in t.members:
                for part in self.annotation(m).split(" | "):
                    if part not in parts:
                        parts.append(part)
            return "Any" if "Any" in parts else " | ".join(parts)
        return "Any"


def _model_of(t: ModelRef) -> ModelDef:
    target: Any = t.target
    model = target if isinstance(target, ModelDef) else target.model
    assert isinstance(model, ModelDef)
    return model


def _constants(t: PyType, wire: str) -> frozenset[Any] | None:
    """The values member ``wire`` of the object ``t`` may take, if it is an enum/constant."""
    t = strip_null(t)
    while isinstance(t, AliasRef) and not t.recursive and t.target.type is not None:
        t = strip_null(t.target.type)
    if not isinstance(t, ModelRef):
        return None
    for f in _model_of(t).fields:
        if f.wire == wire and f.required:
            choices = f.type.choices
            return frozenset(choices) if choices else None
    return None


def _distinguishing(members: tuple[PyType, ...]) -> str | None:
    """A required member whose constant values tell the alternatives apart (``type`` first)."""
    candidates: list[str] = ["type"]
    for member in members:
        m = strip_null(member)
        if isinstance(m, ModelRef):
            candidates += [f.wire for f in _model_of(m).fields if f.wire not in candidates]
    for wire in candidates:
        sets = [_constants(m, wire) for m in members]
        if any(s is None for s in sets):
            continue
        seen: set[Any] = set()
        disjoint = True
        for s in sets:
            assert s is not None
            if seen & s:
                disjoint = False
                break
            seen |= s
        if disjoint:
            return wire
    return None


def _root(op: OperationDef) -> ModelDef | None:
    body = op.body
    if body is None or body.kind not in CHECKED_KINDS:
        return None
    t = strip_null(body.type)
    return _model_of(t) if isinstance(t, ModelRef) else None


def plan(api: Api) -> BodyPlan:
    """Typed dicts and the schema table of every JSON body of ``api``; sets ``dict_name`` on
    the bodies whose root is a model (their annotation accepts the typed dict)."""
    taken = {m.name for m in api.models} | {a.name for a in api.aliases}
    taken |= {n.name for m in api.models for n in m.names}
    planner = _Planner(taken)
    ops: dict[str, Any] = {}
    for op in sorted(api.operations, key=lambda o: o.id):
        if op.body is None or op.body.kind not in CHECKED_KINDS:
            continue
        ops[op.id] = planner.node(strip_null(op.body.type))
        root = _root(op)
        if root is not None:
            op.body.dict_name = planner.dict_name(root)
    dicts = {
        planner.names[name]: TypedDictDef(
            planner.names[name], name, tuple(planner.typed_field(f) for f in model.fields)
        )
        for name, model in sorted(planner.models.items())
    }
    table = json.dumps(
        {"ops": ops, "defs": dict(sorted(planner.defs.items()))},
        separators=(",", ":"),
        ensure_ascii=True,
    )
    out = BodyPlan(dicts, table=table, operations=sorted(ops))
    for res in sorted(api.resources, key=lambda r: r.module):
        roots = [op.body.dict_name for op in res.operations if op.body and op.body.dict_name]
        if roots:
            out.modules[res.module] = _place(dicts, roots)
            for d in out.modules[res.module]:
                out.module_of.setdefault(d.td.name, res.module)
    return out


def _place(dicts: dict[str, TypedDictDef], roots: list[str]) -> list[PlacedDict]:
    """The dicts reachable from ``roots``, each after the dicts it names (depth first); a
    field naming one not yet defined (a cycle) is quoted."""
    order: list[str] = []
    state: dict[str, bool] = {}  # False: in progress, True: done

    def visit(name: str) -> None:
        if name in state:
            return
        state[name] = False
        for f in dicts[name].fields:
            for ref in sorted(f.refs):
                visit(ref)
        state[name] = True
        order.append(name)

    for root in sorted(set(roots)):
        visit(root)
    placed: list[PlacedDict] = []
    defined: set[str] = set()
    for name in order:
        td = dicts[name]
        fields: list[PlacedField] = []
        for f in td.fields:
            text = py_str(f.annotation) if f.refs - defined else f.annotation
            fields.append(PlacedField(f.wire, f"Required[{text}]" if f.required else text))
        placed.append(PlacedDict(td, tuple(fields)))
        defined.add(name)
    return placed
