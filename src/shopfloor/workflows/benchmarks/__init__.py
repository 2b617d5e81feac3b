"""Public-dataset benchmarks, each following its dataset README's protocol.

Each module has one ``run_<dataset>(...)`` returning a frozen report dataclass whose
``as_dict()`` is the JSON the CLI prints (``shopfloor benchmark <dataset> --json``).
"""
