"""Which module defines each model (lazy lookup by name). Generated; do not edit."""

MODULE_OF: dict[str, str] = {
    "ThingDoc": "things",
    "ThingDocData": "things",
    "ThingAdditionalField": "_aliases",
    "ThingField": "_aliases",
}
