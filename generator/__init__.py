"""klaviyo-codegen: Klaviyo's OpenAPI specs → a typed, installable Python client package."""

__version__ = "0.1.0"
