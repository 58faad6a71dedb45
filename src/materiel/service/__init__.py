"""The web app and JSON API: ``create_app(settings)`` in :mod:`materiel.service.app`; started
by ``materiel serve``. See docs/web.md."""
