"""The console's pages and actions: a Starlette application over the spool and the sinks.

Everything that touches the disk or a destination runs in a thread (``run_in_threadpool``;
pictures in their own pool of two), never on the event loop.  Job ids from the URL are
checked against the spool's one form before anything is looked up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from printserver.config import Config
from printserver.postscript.reader import NotOurPostScript
from printserver.sinks.base import Sink, StatusWatch
from printserver.spool.job import JobState
from printserver.spool.store import InvalidJobId, JobNotFound, SpoolStore, check_job_id
from printserver.web import views
from printserver.web.actions import VERBS, perform
from printserver.web.actions import Request as ActionRequest
from printserver.web.auth import LoginThrottle, PasswordChecks, hash_password
from printserver.web.limits import BodyLimit
from printserver.web.security import (
    Gate,
    GateMiddleware,
    csrf_ok,
    replace_session,
    session,
    set_notice,
    take_notice,
)
from printserver.web.thumbnails import NoPicture, Thumbnails

PICTURE_THREADS = 2
"""Pages decoded at once: each holds a whole film in memory for a moment."""
FORBIDDEN = "refused: the form is out of date or came from another site; reload the page"


class Console:
    """The application's state and its endpoints."""

    def __init__(
        self,
        config: Config,
        store: SpoolStore,
        sinks: Mapping[str, Sink],
        gate: Gate,
        wake: Sequence[Callable[[], None]] = (),
    ) -> None:
        self.config, self.store, self.sinks, self.gate, self.wake = config, store, sinks, gate, wake
        self.watch = StatusWatch(timeout=3.0, ttl=2.0)
        self.thumbnails = Thumbnails(store)
        self.pictures = ThreadPoolExecutor(PICTURE_THREADS, thread_name_prefix="web-picture")
        self.throttle = LoginThrottle()
        self.passwords = PasswordChecks()
        self.nobody = hash_password("") if gate.login_required else ""
        self.templates = Environment(
            loader=PackageLoader("printserver.web", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
        )

    def close(self) -> None:
        self.pictures.shutdown(wait=False, cancel_futures=True)
        self.passwords.close()

    def _render(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        current = session(request)
        notice = take_notice(request) if name != "rows.html" else ""
        kind, _, text = notice.partition("|")
        html = self.templates.get_template(name).render(
            csrf=current.csrf,
            user=current.user,
            login_required=self.gate.login_required,
            notice=text,
            notice_kind=kind,
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def _filters(self, request: Request) -> tuple[str | None, str | None]:
        """The queue's filters, kept only when they name a printer or a state."""
        printer = request.query_params.get("printer") or None
        state = request.query_params.get("state") or None
        if printer not in {p.ae_title for p in self.config.printers}:
            printer = None
        if state not in {s.value for s in JobState}:
            state = None
        return printer, state

    async def printers(self, request: Request) -> Response:
        rows = await run_in_threadpool(
            views.printer_rows, self.config, self.store, self.sinks, self.watch
        )
        space = await run_in_threadpool(views.spool_space, self.store, self.config)
        return self._render(request, "printers.html", title="Printers", printers=rows, space=space)

    async def queue(self, request: Request) -> Response:
        printer, state = self._filters(request)
        jobs = await run_in_threadpool(views.job_rows, self.store, printer, state)
        query = urlencode({k: v for k, v in (("printer", printer), ("state", state)) if v})
        return self._render(
            request,
            "queue.html",
            title="Queue",
            jobs=jobs,
            printer=printer or "",
            state=state or "",
            query=query,
            printers=[p.ae_title for p in self.config.printers],
            states=[s.value for s in JobState],
        )

    async def queue_rows(self, request: Request) -> Response:
        printer, state = self._filters(request)
        jobs = await run_in_threadpool(views.job_rows, self.store, printer, state)
        return self._render(request, "rows.html", jobs=jobs, printer=printer or "", state=state)

    async def job(self, request: Request) -> Response:
        job_id = request.path_params["job_id"]
        try:
            record = await run_in_threadpool(self.store.get, check_job_id(job_id))
        except JobNotFound:
            return PlainTextResponse("no such job", 404)
        detail = await run_in_threadpool(views.job_detail, record, self.store, self.config)
        return self._render(request, "job.html", title=f"Job {job_id}", job=detail)

    async def picture(self, request: Request) -> Response:
        job_id, page = request.path_params["job_id"], request.path_params["page"]
        try:
            future = self.pictures.submit(
                self.thumbnails.png, check_job_id(job_id), page, request.path_params["kind"]
            )
            data = await asyncio.wrap_future(future)
        except (InvalidJobId, NoPicture, NotOurPostScript):
            return PlainTextResponse("no such picture", 404)
        return Response(data, media_type="image/png")

    async def _form(self, request: Request) -> FormData | None:
        """The posted form when its CSRF token and origin check out, else None."""
        form = await request.form(max_files=0, max_fields=16, max_part_size=4096)
        return form if csrf_ok(request, form.get("csrf")) else None

    async def act(self, request: Request) -> Response:
        job_id, action = request.path_params["job_id"], request.path_params["action"]
        form = await self._form(request)
        if form is None:
            return PlainTextResponse(FORBIDDEN, 403)
        if action not in VERBS:
            return PlainTextResponse("no such action", 404)
        try:
            check_job_id(job_id)
        except InvalidJobId:
            return PlainTextResponse("no such job", 404)
        asked = ActionRequest(
            action,
            job_id,
            user=session(request).user or "",
            target=str(form.get("printer", "")),
            confirmed=form.get("confirm") == "yes",
        )
        outcome = await run_in_threadpool(perform, asked, self.store, self.sinks)
        if outcome.ok:
            for wake in self.wake:
                wake()
        set_notice(request, f"{'ok' if outcome.ok else 'error'}|{outcome.message}")
        if form.get("back") == "queue":
            printer, state = str(form.get("printer_filter", "")), str(form.get("state_filter", ""))
            query = urlencode({k: v for k, v in (("printer", printer), ("state", state)) if v})
            return RedirectResponse(f"/queue?{query}" if query else "/queue", 303)
        if not outcome.ok and outcome.message == f"no job {job_id}":
            return RedirectResponse("/queue", 303)
        return RedirectResponse(f"/jobs/{outcome.job_id}", 303)

    async def login_form(self, request: Request) -> Response:
        if session(request).user is not None:
            return RedirectResponse("/queue", 303)
        return self._render(request, "login.html", title="Log in", error="")

    async def login(self, request: Request) -> Response:
        form = await self._form(request)
        if form is None:
            return PlainTextResponse(FORBIDDEN, 403)
        client = request.client.host if request.client else "?"
        place = self.throttle.reserve(client)  # before any hashing, whatever the concurrency
        if place is None:
            error = "too many failed logins from this address; try again in a few minutes"
            return self._login_page(request, 429, error)
        name, password = str(form.get("user", "")), str(form.get("password", ""))
        known = self.gate.users.get(name)
        check = self.passwords.submit(password, known or self.nobody)  # same cost if unknown
        if check is None:
            self.throttle.forgive(client, place)
            return self._login_page(request, 503, "too many logins at once; try again")
        if not (await asyncio.wrap_future(check) and known):
            return self._login_page(request, 401, "wrong user name or password")
        self.throttle.forgive(client, place)
        replace_session(request, self.gate.log_in(name))
        return RedirectResponse("/queue", 303)

    def _login_page(self, request: Request, status: int, error: str) -> Response:
        response = self._render(request, "login.html", status, title="Log in", error=error)
        if status in (429, 503):
            wait = self.throttle.window if status == 429 else 2
            response.headers["retry-after"] = str(int(wait))
        return response

    async def logout(self, request: Request) -> Response:
        if await self._form(request) is None:
            return PlainTextResponse(FORBIDDEN, 403)
        replace_session(request, self.gate.log_out(session(request)))
        return RedirectResponse("/login" if self.gate.login_required else "/queue", 303)


async def _home(request: Request) -> Response:
    return RedirectResponse("/queue", 303)


def create_app(console: Console) -> Starlette:
    """The ASGI application: the routes behind the gate."""
    routes = [
        Route("/", _home),
        Route("/printers", console.printers),
        Route("/queue", console.queue),
        Route("/queue/rows", console.queue_rows),
        Route("/jobs/{job_id}", console.job),
        Route("/jobs/{job_id}/pages/{page:int}/{kind}", console.picture),
        Route("/jobs/{job_id}/{action}", console.act, methods=["POST"]),
        Route("/login", console.login_form, methods=["GET"]),
        Route("/login", console.login, methods=["POST"]),
        Route("/logout", console.logout, methods=["POST"]),
        Mount("/static", StaticFiles(packages=[("printserver.web", "static")]), name="static"),
    ]
    middleware = [Middleware(BodyLimit), Middleware(GateMiddleware, gate=console.gate)]
    return Starlette(routes=routes, middleware=middleware)
