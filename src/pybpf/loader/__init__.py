"""Loading: relocation and linking (pure) and the verifier-log summary."""
