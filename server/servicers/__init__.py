"""Thin servicers: validate, call the repositories and analytics core, build the response."""
