"""Searching and ranking: understanding the query, keyword and meaning candidates, fusion,
filters, reranking, calibrated strength and snippets.

May import: storage, encoders, extract (kinds), host and the loose modules; never app.core.indexing.
"""
