"""The pure layer: pricing rules on whole columns (numpy + holidays only)."""
