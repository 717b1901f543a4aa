"""Measurement: `sift bench`, `sift bench --scale` with its synthetic library, and `sift eval`.

May import: every pipeline package; nothing in the pipeline imports it.
"""
