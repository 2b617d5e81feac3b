"""Predictive maintenance: features, anomalies, remaining useful life, failure modes, decisions."""
