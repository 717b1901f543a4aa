"""Indexing: walking the chosen folders, reading files ahead of the writer, and the indexer that
turns them into passages in the catalog (words first, then meaning), resumable from the catalog.

May import: extract, storage, encoders, host and the loose modules; never search, service or measure.
"""
