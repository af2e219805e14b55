"""yuqing — public-opinion (舆情) monitoring for a lender.

This package holds the data layer (``yuqing.settings``, ``yuqing.store``) and the composition
layer (CLI, daemon, demo). The pure cores live in ``sentiment`` and ``alerts.rules``; the
adapters in ``crawler`` and ``alerts``.
"""

__version__ = "0.1.0"
