"""A loopback HTTP proxy in front of moto that records every AWS call and can inject faults.

Tests point AWS_ENDPOINT_URL at it to count API calls (idempotency: no mutating call on a
re-run), to stop a run right after a given call (kill tests), and to answer a seeded share
of requests with throttling, 5xx or a connection reset before moto sees them.

Opt-in (`honour_client_tokens = True`): RunInstances' ClientToken as AWS documents it and moto
does not: the same token with the same parameters gets the first launch's answer and launches
nothing; the same token with other parameters gets IdempotentParameterMismatch.
"""
from __future__ import annotations

import http.client
import json
import random
import re
import socket
import struct
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

READ_ONLY_PREFIXES = ("Describe", "Get", "List")
COLLECTION_AGENT = "osworld.aws/"
CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")


@dataclass(frozen=True)
class Call:
    service: str
    region: str
    action: str
    status: int
    injected: str | None = None
    user_agent: str = ""

    @property
    def mutating(self) -> bool:
        return not self.action.startswith(READ_ONLY_PREFIXES)

    @property
    def by_collection(self) -> bool:
        """Made by the collection's code (aws.py adds its name to botocore's User-Agent), not by OSWorld's client."""
        return COLLECTION_AGENT in self.user_agent


@dataclass
class FaultPlan:
    """Shares of requests answered by the proxy itself instead of moto; only lost responses come after moto acted."""

    throttle_rate: float = 0.0
    server_error_rate: float = 0.0
    reset_rate: float = 0.0
    seed: int = 0
    only_actions: frozenset[str] = frozenset()
    # After moto acted: the answer is replaced by a 500 (what a real 5xx after success looks like).
    lost_response_rate: float = 0.0
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def pick(self, action: str) -> str | None:
        if self.only_actions and action not in self.only_actions:
            return None
        roll = self._random.random()
        if roll < self.throttle_rate:
            return "throttle"
        if roll < self.throttle_rate + self.server_error_rate:
            return "server_error"
        if roll < self.throttle_rate + self.server_error_rate + self.reset_rate:
            return "reset"
        return None

    def lose(self, action: str) -> bool:
        """Whether the answer moto gave to this call is lost on the way back (drawn after moto acted)."""
        if not self.lost_response_rate or (self.only_actions and action not in self.only_actions):
            return False
        return self._random.random() < self.lost_response_rate


def action_of(method: str, path: str, headers: dict[str, str], body: bytes) -> str:
    target = headers.get("x-amz-target")
    if target:
        return target.rsplit(".", 1)[-1]
    if body and b"Action=" in body:
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    if "Action" in query:
        return query["Action"][0]
    return f"{method} {urllib.parse.urlsplit(path).path}"


def scope_of(headers: dict[str, str]) -> tuple[str, str]:
    match = CREDENTIAL_SCOPE.search(headers.get("authorization", ""))
    return (match.group(2), match.group(1)) if match else ("unknown", "unknown")


class AWSProxy:
    def __init__(self, upstream_url: str, faults: FaultPlan | None = None) -> None:
        parsed = urllib.parse.urlsplit(upstream_url)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.faults = faults or FaultPlan()
        self.calls: list[Call] = []
        self.after_call: Callable[[Call], None] | None = None
        # Called after moto acted and before the client gets the answer; returning True drops the
        # answer and closes the connection (the client then never learns what happened).
        self.before_answer: Callable[[Call], bool] | None = None
        # moto's Service Quotas knows no EC2 quota: GetServiceQuota for a code set here is
        # answered by the proxy itself (QuotaCode -> value), as AWS would answer it.
        self.service_quotas: dict[str, float] = {}
        # Off by default: the existing tests rely on moto's own (non-idempotent) behaviour.
        self.honour_client_tokens = False
        # Called in the request's own thread before it is forwarded (a test may block it there).
        self.before_forward: Callable[[Call], None] | None = None
        self._tokens: dict[str, tuple[str, int, bytes, str]] = {}
        self._token_lock = threading.Lock()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> AWSProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    def actions(self, service: str | None = None, include_injected: bool = False, collection_only: bool = False) -> list[str]:
        """The calls' actions in order; `collection_only` leaves out what OSWorld's own client called."""
        with self._lock:
            return [
                call.action
                for call in self.calls
                if (service is None or call.service == service)
                and (include_injected or call.injected is None)
                and (call.by_collection or not collection_only)
            ]

    def mutating_actions(self) -> list[str]:
        with self._lock:
            return [call.action for call in self.calls if call.mutating and call.injected is None]

    def injected(self) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.injected]

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)
        if self.after_call:
            self.after_call(call)

    def _quota_answer(self, action: str, body: bytes) -> bytes | None:
        if action != "GetServiceQuota" or not self.service_quotas:
            return None
        request = json.loads(body or b"{}")
        code = request.get("QuotaCode")
        if code not in self.service_quotas:
            return None
        quota = {
            "ServiceCode": request.get("ServiceCode", "ec2"),
            "QuotaCode": code,
            "QuotaName": code,
            "Value": self.service_quotas[code],
            "Unit": "None",
            "Adjustable": True,
            "GlobalQuota": False,
        }
        return json.dumps({"Quota": quota}).encode()

    def _token_answer(self, action: str, body: bytes, forward: Callable[[], tuple[int, bytes, str]]) -> tuple[int, bytes, str, str | None]:
        """RunInstances with a ClientToken, serialised: (status, payload, content type, how it was answered)."""
        token, fingerprint = token_and_parameters(body)
        with self._token_lock:
            first = self._tokens.get(token)
            if first is None:
                status, payload, content_type = forward()
                if status == 200:
                    self._tokens[token] = (fingerprint, status, payload, content_type)
                return status, payload, content_type, None
        if first[0] != fingerprint:
            message = f"The client token {token} was used before with other parameters (proxy)"
            return 400, error_xml("IdempotentParameterMismatch", message), "text/xml", "token-mismatch"
        return first[1], first[2], first[3], "token-replay"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
                return

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {key.lower(): value for key, value in self.headers.items()}
                action = action_of(self.command, self.path, headers, body)
                service, region = scope_of(headers)
                agent = headers.get("user-agent", "")

                def call_of(status: int, injected: str | None = None) -> Call:
                    return Call(service, region, action, status, injected, agent)

                quota = proxy._quota_answer(action, body)
                if quota is not None:
                    proxy._record(call_of(200))
                    self._answer(200, quota, "application/x-amz-json-1.1")
                    return
                fault = proxy.faults.pick(action)
                if fault == "reset":
                    proxy._record(call_of(0, fault))
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault:
                    status, payload, content_type = fault_response(fault, service)
                    proxy._record(call_of(status, fault))
                    self._answer(status, payload, content_type)
                    return
                if proxy.before_forward:
                    proxy.before_forward(call_of(0))
                if proxy.honour_client_tokens and action == "RunInstances" and token_and_parameters(body)[0]:
                    status, payload, content_type, answered = proxy._token_answer(action, body, lambda: self._forward(body))
                    if answered:
                        # Nothing reached moto: recorded as answered by the proxy, so not a mutating call.
                        proxy._record(call_of(status, answered))
                        self._answer(status, payload, content_type)
                        return
                else:
                    status, payload, content_type = self._forward(body)
                call = call_of(status)
                if proxy.before_answer and proxy.before_answer(call):
                    proxy._record(call)
                    self._drop()
                    return
                if proxy.faults.lose(action):
                    status, payload, content_type = fault_response("server_error", service)
                    proxy._record(call_of(status, "lost"))
                    self._answer(status, payload, content_type)
                    return
                self._answer(status, payload, content_type)
                proxy._record(call)

            def _forward(self, body: bytes) -> tuple[int, bytes, str]:
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=120)
                try:
                    upstream.request(self.command, self.path, body=body, headers=dict(self.headers.items()))
                    response = upstream.getresponse()
                    return response.status, response.read(), response.getheader("Content-Type", "text/xml")
                finally:
                    upstream.close()

            def _drop(self) -> None:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()

            def _answer(self, status: int, payload: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _relay

        return Handler


def token_and_parameters(body: bytes) -> tuple[str, str]:
    """A query-protocol request's ClientToken, and every other parameter in a canonical form."""
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    token = (form.pop("ClientToken", None) or [""])[0]
    return token, json.dumps(sorted(form.items()))


def fault_response(fault: str, service: str) -> tuple[int, bytes, str]:
    json_services = {"servicequotas", "scheduler", "sts-json"}
    if fault == "throttle":
        if service in json_services:
            return 400, b'{"__type":"ThrottlingException","message":"Rate exceeded (injected)"}', "application/x-amz-json-1.1"
        return 503, error_xml("RequestLimitExceeded", "Request limit exceeded (injected)"), "text/xml"
    if service in json_services:
        return 500, b'{"__type":"InternalFailure","message":"injected"}', "application/x-amz-json-1.1"
    return 500, error_xml("InternalError", "An internal error has occurred (injected)"), "text/xml"


def error_xml(code: str, message: str) -> bytes:
    return (
        "<?xml version='1.0' encoding='UTF-8'?><Response><Errors><Error>"
        f"<Code>{code}</Code><Message>{message}</Message></Error></Errors>"
        "<RequestID>00000000-0000-0000-0000-000000000000</RequestID></Response>"
    ).encode()
