"""Predictive maintenance: features, anomaly detection, remaining useful life, failure modes, decisions."""
