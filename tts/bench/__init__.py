"""Benchmarks: ``statecast bench`` (timing of StateCast and its peers)."""
