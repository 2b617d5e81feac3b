"""Digital twin of the lines: discrete-event simulation calibrated from the lake, what-if scenarios,
the joint production-maintenance plan priced in it, and the value report."""
