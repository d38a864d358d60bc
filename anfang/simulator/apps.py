from django.apps import AppConfig


class SimulatorConfig(AppConfig):
    name = "anfang.simulator"
    label = "simulator"
    verbose_name = "Device simulator"
