"""The intermediate model (Api → Resource → Operation → Param/Body, Model, Alias) and its builder.

The builder reads a normalized spec document and decides everything the templates need: Python
names, types (:mod:`.pytypes`: annotations, runtime decoders, imports), which module each model
lives in, and which inline schemas are the same shape (generated once). Templates only read
these objects. One module per job:

* :mod:`.vocab`      the vocabularies shared with the runtime (``Literal`` aliases)
* :mod:`.pytypes`    the type tree
* :mod:`.model`      the records (Api, ResourceDef, OperationDef, ParamDef, ModelDef, …)
* :mod:`.schemas`    schema typing (components, inline schemas, unions, enums, allOf)
* :mod:`.operations` operations, parameters, bodies, responses; resources and method names
* :mod:`.modules`    which module defines each model
* :mod:`.builders`   keyword builders of JSON:API request documents (``Model.build``)
* :mod:`.build`      the passes, in order
"""

from __future__ import annotations

from .build import Builder, package_version
from .model import (
    AliasDef,
    Api,
    BodyDef,
    FieldDef,
    ModelDef,
    OperationDef,
    ParamDef,
    Reserved,
    ResourceDef,
)
from .prose import clean_doc
from .schemas import MAX_SCHEMA_DEPTH

__all__ = [
    "MAX_SCHEMA_DEPTH",
    "AliasDef",
    "Api",
    "BodyDef",
    "Builder",
    "FieldDef",
    "ModelDef",
    "OperationDef",
    "ParamDef",
    "Reserved",
    "ResourceDef",
    "clean_doc",
    "package_version",
]
