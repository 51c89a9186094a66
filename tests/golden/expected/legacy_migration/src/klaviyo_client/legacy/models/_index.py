"""Which module defines each model (lazy lookup by name). Generated; do not edit."""

MODULE_OF: dict[str, str] = {
    "ListInfo": "lists_segments",
}
