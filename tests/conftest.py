"""Import nof1 before any test module imports ArviZ or JAX, so that JAX offers one CPU device
per core as it does for a user (nof1.devices): chains then run in parallel in the tests too."""

import nof1  # noqa: F401
