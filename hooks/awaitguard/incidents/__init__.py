"""Production incidents: async failures read from logs (``awaitguard ingest``), recorded in a committed
file, and re-checked by every ``awaitguard scan`` until fixed. See docs/incidents.md."""
