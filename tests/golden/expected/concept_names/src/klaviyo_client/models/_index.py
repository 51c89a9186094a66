"""Which module defines each model (lazy lookup by name). Generated; do not edit."""

MODULE_OF: dict[str, str] = {
    "ListCollection": "lists",
    "ListResource": "lists",
    "ListResourceAttributes": "lists",
    "ListResourceLinks": "common",
    "ProfileCollection": "common",
    "ProfileDoc": "profiles",
    "ProfileResource": "common",
    "ProfileResourceAttributes": "common",
    "ProfileResourceLinks": "common",
    "ListField": "_aliases",
    "ListSort": "_aliases",
    "ProfileField": "_aliases",
    "ProfileResourceAttributesStatus": "_aliases",
    "ProfileSort": "_aliases",
    "Status": "_aliases",
}
