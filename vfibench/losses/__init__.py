"""Loss terms, their registry, the spec grammar and paper presets."""
