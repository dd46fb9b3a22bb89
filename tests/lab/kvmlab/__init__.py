"""The lab behind ``tests/lab/labctl``: image, network and VMs (see docs/development.md)."""
