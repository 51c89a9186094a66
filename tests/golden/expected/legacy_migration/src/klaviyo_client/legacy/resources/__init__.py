"""Resource classes, one per tag (imported on first use by the client). Generated; do not edit."""
