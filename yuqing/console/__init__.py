"""The compliance review web console: log in, list flagged posts, read one, mark it, see the
handling-time report. ``create_app(settings)`` builds the Flask app; ``yuqing console serve``
runs it. Alert messages link to ``{console.base_url}/posts/{id}``.
"""

from yuqing.console.app import create_app

__all__ = ["create_app"]
