"""One servicer per proto service: validate the request, run a report, map it to a message."""
