"""Live data: MQTT (JSON and Sparkplug B) and OPC UA ingest, the write-ahead spool, the broker.

Everything here stays light at import time (no pandas, pyarrow or duckdb): the edge
runner imports it on small devices and must stay under its memory budget.
"""
