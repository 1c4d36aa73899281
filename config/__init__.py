"""Env files to ServiceSpec: the INI reader, value converters, keywords, scoping, references, the builder, edits."""
