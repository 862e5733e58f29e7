"""Reports as protobuf messages: one module per proto file, the only place messages are built
(``fields``: groups of fields that messages of several files name alike)."""
