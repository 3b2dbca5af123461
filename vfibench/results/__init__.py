"""Results on disk: atomic writes, schema, summaries, reports and comparisons."""
