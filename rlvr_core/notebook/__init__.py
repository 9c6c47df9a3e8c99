"""What the notebooks face: one figure style and savefig, checked claims (expect), the claims
registry's rendering, version stamps."""
