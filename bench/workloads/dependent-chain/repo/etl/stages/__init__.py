"""The stages of the import, in order; each takes and returns a list of rows."""
