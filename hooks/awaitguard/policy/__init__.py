"""A project's own policies (``[tool.awaitguard.policy]``): docs/policies.md."""
