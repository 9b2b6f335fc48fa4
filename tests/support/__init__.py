"""What the tests share: one isolated environment, the built warehouse, and independent oracles."""
