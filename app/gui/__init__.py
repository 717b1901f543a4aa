"""The desktop window (PySide6): the only package of Sift that imports Qt."""
