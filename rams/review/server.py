"""The review application's web server: local only, one session token, fixed routes.

Bound to 127.0.0.1, so no other host reaches it. Every path starts with the session's random
token (``/<token>/…``); a request without it is refused (403), as is one whose ``Host`` is
not this server's own address (a web page cannot reach it by a DNS name either). Only these
routes exist, none of them a file path, so nothing outside the survey's detections and the
flight's pixels under them can be read through the server (anything else is 404):

- ``GET  /<token>/``                      the page (rams.review.page)
- ``GET  /<token>/api/state``             items, both review orders, decisions in force, the map
- ``GET  /<token>/api/item/<layer>/<fid>``  one detection's chip and context (rams.review.views)
- ``POST /<token>/api/decision``          ``{layer, fid, decision, note}``: stored at once
- ``POST /<token>/api/undo``              ``{layer, fid}``: the reviewer's latest decision withdrawn
- ``POST /<token>/api/finish``            stop serving; the job then applies the reviews
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import asdict
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import geopandas as gpd

from rams.errors import RamsError
from rams.flight import Flight
from rams.review import store
from rams.review.decisions import DECISIONS, REVIEWED_LAYERS, Decision, latest, utc_now
from rams.review.items import ORDERS, review_items
from rams.review.items import ordered as in_order
from rams.review.minimap import minimap
from rams.review.page import page
from rams.review.views import ItemViews

log = logging.getLogger(__name__)
HOST = "127.0.0.1"
#: Largest request body (bytes) the server reads: a decision with its note.
MAX_BODY = 16_384
_ITEM = re.compile(r"api/item/(\w+)/(\d+)")


class ReviewSession:
    """One reviewer's session on a survey GeoPackage: the detections to review (``layers``,
    each indexed by fid, in the flight's CRS, with ``hazard_areas``), their views from
    ``flight``, and the decisions, read from and written to the file's reviews table."""

    def __init__(self, survey: Path, flight: Flight, layers: Mapping[str, gpd.GeoDataFrame],
                 thresholds: Mapping[str, float], reviewer: str) -> None:
        self.survey = survey
        self.reviewer = reviewer
        self.thresholds = dict(thresholds)
        self.items = review_items(layers)
        self.fids = {layer: {i.fid for i in self.items if i.layer == layer} for layer in REVIEWED_LAYERS}
        self.views = ItemViews(flight, layers)
        self.map = minimap(layers)
        self.token = secrets.token_urlsafe(24)

    def state(self) -> dict:
        """Items, review orders, thresholds, decisions in force (by ``layer/fid``) and the map."""
        items = []
        for item in self.items:
            record = asdict(item)
            record["confidence"] = None if math.isnan(item.confidence) else item.confidence
            record["map"] = [round(v, 1) for v in self.map.to_px(item.x_m, item.y_m)]
            items.append(record)
        return {
            "survey": self.survey.name, "reviewer": self.reviewer, "items": items,
            "orders": {order: in_order(self.items, order, self.thresholds) for order in ORDERS},
            "thresholds": self.thresholds, "map": self.map.svg,
            "decisions": {f"{d.layer}/{d.fid}": asdict(d) for d in latest(store.read(self.survey)).values()},
        }

    def decide(self, layer: str, fid: int, decision: str, note: str = "") -> Decision:
        """Store the reviewer's ``decision`` on feature ``fid`` of ``layer`` now (its own
        transaction); ValueError for a feature or decision that is not one."""
        made = Decision(layer, fid, decision, self.reviewer, utc_now(), note.strip())
        if layer not in REVIEWED_LAYERS or fid not in self.fids[layer]:
            raise ValueError(f"{layer} has no feature {fid} to review")
        if decision not in DECISIONS:
            raise ValueError(f"decision {decision!r} is not one of {', '.join(DECISIONS)}")
        store.record(self.survey, [made])
        return made

    def undo(self, layer: str, fid: int) -> Decision | None:
        """Withdraw the reviewer's latest decision on the feature; the decision in force after."""
        store.withdraw(self.survey, layer, fid, self.reviewer)
        return latest(d for d in store.read(self.survey) if d.key == (layer, fid)).get((layer, fid))


class ReviewServer(ThreadingHTTPServer):
    """The HTTP server of a :class:`ReviewSession`, on 127.0.0.1 (``port`` 0: any free port)."""

    daemon_threads = True

    def __init__(self, session: ReviewSession, port: int = 0) -> None:
        self.session = session
        self.finished = threading.Event()
        super().__init__((HOST, port), _Handler)

    @property
    def url(self) -> str:
        """The page's address, token included."""
        return f"http://{HOST}:{self.server_address[1]}/{self.session.token}/"

    def finish(self) -> None:
        """Stop serving (from any thread but the one in ``serve_forever``)."""
        self.finished.set()
        threading.Thread(target=self.shutdown, daemon=True).start()


class _Handler(BaseHTTPRequestHandler):
    server: ReviewServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _route(self) -> str | None:
        """The path after the token, or None once the request has been refused."""
        port = self.server.server_address[1]
        if self.headers.get("Host", "") not in (f"{HOST}:{port}", f"localhost:{port}"):
            self._send(HTTPStatus.FORBIDDEN, "text/plain", b"wrong host")
            return None
        token = self.server.session.token
        prefix, _, rest = self.path.lstrip("/").partition("/")
        if not hmac.compare_digest(prefix.encode(), token.encode()):
            self._send(HTTPStatus.FORBIDDEN, "text/plain", b"no session token")
            return None
        return rest.split("?", 1)[0]

    def do_GET(self) -> None:
        route = self._route()
        if route is None:
            return
        session = self.server.session
        if route == "":
            self._send(HTTPStatus.OK, "text/html; charset=utf-8",
                       page(session.survey.name, session.reviewer).encode())
        elif route == "api/state":
            self._json(session.state())
        elif (match := _ITEM.fullmatch(route)) and match[1] in REVIEWED_LAYERS \
                and int(match[2]) in session.fids[match[1]]:
            self._json(session.views.view(match[1], int(match[2])))
        else:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found")

    def do_POST(self) -> None:
        route = self._route()
        if route is None:
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY or not self.headers.get("Content-Type", "").startswith("application/json"):
            self._send(HTTPStatus.BAD_REQUEST, "text/plain", b"expected a small JSON body")
            return
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            session = self.server.session
            if route == "api/decision":
                made = session.decide(str(body["layer"]), int(body["fid"]), str(body["decision"]),
                                      str(body.get("note", "")))
                self._json({"decision": asdict(made)})
            elif route == "api/undo":
                after = session.undo(str(body["layer"]), int(body["fid"]))
                self._json({"decision": asdict(after) if after else None})
            elif route == "api/finish":
                self._json({"message": "Review finished: the decisions are being applied; you may close this tab."})
                self.server.finish()
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found")
        except (KeyError, ValueError, TypeError) as err:
            self._send(HTTPStatus.BAD_REQUEST, "text/plain", str(err).encode())
        except RamsError as err:  # the file stayed locked by another writer: the page says not saved
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, "text/plain", str(err).encode())

    def _json(self, value: object) -> None:
        self._send(HTTPStatus.OK, "application/json", json.dumps(value).encode())

    def _send(self, status: HTTPStatus, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy",
                         "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
                         "script-src 'unsafe-inline'; connect-src 'self'")
        self.end_headers()
        self.wfile.write(body)
