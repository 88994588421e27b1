"""Renderers: pure functions from results to text or JSON. They never compute verdicts."""
