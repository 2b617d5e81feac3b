"""The edge: score a machine's live readings next to it, with no lake, and alert over MQTT.

A bundle (:mod:`shopfloor.edge.bundle`) is a directory the platform exports from its
model registry: one ONNX graph per asset and a JSON manifest.  The runner
(:mod:`shopfloor.edge.runner`, ``shopfloor edge run``) reads it with onnxruntime,
subscribes to the plant's MQTT topics and publishes alarm changes.

Nothing in this package imports pandas, pyarrow, duckdb, the lake or the registry: it
runs on gateways with a few hundred MB of memory (budget: 200 MB peak RSS).
"""
