"""A deterministic, offline stand-in for the YouTube Data API v3.

Everything it serves is SIMULATED: responses carry the ``X-YTMetrics-Simulator`` header and
every snapshot taken from it is stored with ``source = 'simulator'``.
"""

from ytmetrics_dagster.youtube.simulator.server import SimulatorServer, shared_simulator_url
from ytmetrics_dagster.youtube.simulator.world import SimulatedWorld, VideoProfile

__all__ = ["SimulatedWorld", "SimulatorServer", "VideoProfile", "shared_simulator_url"]
