"""Alerts: rules over stored posts, the alert lifecycle, the outbox and the chat channels.

Entry points for the cycle: ``alerts.engine.evaluate(settings, now=None)`` and
``alerts.outbox.deliver_due(settings, now=None)``; see ``alerts/README.md``.
"""
