"""Storage: the SQLite catalog (the source of truth), the usearch vector file rebuilt from it,
and how a damaged or unclean catalog is found and repaired.

May import: encoders (a model's name for its index folder), host and the loose modules.
"""
