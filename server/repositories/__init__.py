"""SQL, one module per concern. Parameters only (``%(name)s``), never interpolated input.

Repositories return columns (numpy arrays or small tuples), not lists of dicts.
"""
