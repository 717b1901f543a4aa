"""Encoders: finding model files, the bi-encoder with the backend chosen per machine, the light
query encoder and the cross-encoder that reranks.

May import: host and the loose modules only.
"""
