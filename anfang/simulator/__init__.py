"""Devices that speak the real protocols (ISAPI, MQTT, Dahua event stream), for the demo and the benchmarks."""
