"""What the app holds for its lifetime: settings, the database engine, caches and renderers."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from hemewatch.classification.lexicon import Lexicon
from hemewatch.settings import Settings
from hemewatch.storage.database import Engine
from hemewatch.web.cache import DataCache
from hemewatch.web.layouts import DiseasePages
from hemewatch.web.pages import Pages
from hemewatch.web.security import CsrfSigner


@dataclass(frozen=True)
class WebState:
    """One app's long-lived objects (kept on `app.state.web`, never in module globals)."""

    settings: Settings
    engine: Engine
    cache: DataCache
    lexicon: Lexicon
    disease_pages: DiseasePages
    pages: Pages
    csrf: CsrfSigner
    # Set when the app shuts down: what runs beside the requests (web.server's warm-up) stops.
    stopped: threading.Event = field(default_factory=threading.Event)
