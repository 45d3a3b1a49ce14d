"""The operator web console: printers, the queue and each job in a browser, with the same
operator actions as ``printserver queue`` (``spool/operations.py``).

Served by ``printserver serve`` itself when ``[web] enabled = true``: uvicorn in a thread of
the server process (``console.py``), a Starlette application (``app.py``) rendering Jinja2
pages, thumbnails of the spooled PostScript made lazily in a small thread pool
(``thumbnails.py``).  Films carry patient data: off loopback users must log in
(``auth.py``), every change is a POST with a CSRF token, and every response carries strict
security headers (``security.py``).  What one client can make it spend is bounded:
request bodies (``limits.py``), connections per address and the time to send a request
(``connections.py``), password checks (``auth.py``).  ``console.WebConsole`` is what
``server`` starts; nothing is imported here, so that ``printserver web hash-password``
needs no web stack.
"""
