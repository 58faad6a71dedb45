"""HTTP routers: ``api_*`` for the JSON API under /api/v1, ``pages_*`` for the web pages."""
