"""Array-level statistical models (no files, no protocols): exposure, GLS, Bayesian engines."""
