"""Reports as protobuf messages: one module per proto file, the only place messages are built."""
