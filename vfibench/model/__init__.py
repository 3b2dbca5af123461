"""The fixed interpolator every loss configuration trains."""
