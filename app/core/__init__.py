"""The Qt-free engine of Sift: extraction, indexing, storage and search."""
