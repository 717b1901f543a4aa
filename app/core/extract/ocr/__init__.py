"""OCR, the slow half of reading a file: which engine reads scans in the chosen languages, reading
pages and images in a worker process, and the background queue and cache that hold OCR'd text
until a file's passages take it.

May import: the rest of app.core.extract (the worker process, text hygiene), storage, host and the
loose modules.
"""
