"""Infrastructure: argument checks, thread counts, provenance and the result cache."""
