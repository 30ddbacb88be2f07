"""dcagent: delivers compressed models to devices (serial, MQTT) and holds the CLI.

The only package that talks to devices and brokers. Imports `host`, never `hil`.
"""
__version__ = "0.1.0"
