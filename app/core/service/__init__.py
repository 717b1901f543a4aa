"""The indexing service: one writer thread that keeps the index true to the disk, its job queue,
the watcher and the changes it piles up, and what it reports per folder.

May import: app.core.library and everything below it; never app.core.measure.
"""
