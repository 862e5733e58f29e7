"""The gRPC face: servicers (validate, call a report, map), the report -> protobuf mapping,
request validation, the interceptors and the endpoint directory. The only part of the server
that imports generated protobuf modules."""
