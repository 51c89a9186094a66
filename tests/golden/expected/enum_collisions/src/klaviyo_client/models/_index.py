"""Which module defines each model (lazy lookup by name). Generated; do not edit."""

MODULE_OF: dict[str, str] = {
    "Style": "common",
    "ThingDoc": "things",
    "ThingDocData": "things",
    "ThingSort": "_aliases",
    "Timezone": "_aliases",
}
