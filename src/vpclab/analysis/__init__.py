"""Questions on a network, answered by calling the engine: reach (both paths, every blocker, the fix), the matrix."""
