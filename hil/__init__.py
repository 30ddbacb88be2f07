"""hil: hardware-in-the-loop measurement (accuracy, latency, energy) and its pytest plugin.

Imports `dcagent` and `host`; nothing imports `hil`.
"""
