"""The web app: disease pages, trial pages, search, landscape, trackers and the JSON API."""

from hemewatch.web.app import create_app
from hemewatch.web.server import serve

__all__ = ["create_app", "serve"]
