"""`glm-image ping`: is everything in place to make images?  Checked without making (paying for) one."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from glm_image_cli import safejson
from glm_image_cli.errors import GlmImageError
from glm_image_cli.messages import Text
from glm_image_cli.storage.config import ResolvedConfig, mask_secret


@dataclass
class Check:
    """One line of the report; ``ok`` None means skipped (an earlier check failed)."""

    name: str  # stable id used in --json
    label: Text
    ok: bool | None
    detail: Text | str
    seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": str(self.detail),
                "seconds": None if self.seconds is None else round(self.seconds, 4)}


def check_upstream(cfg: ResolvedConfig, lang: str) -> list[Check]:
    """Config, key, base URL, DNS, reachability and round trip, and whether the key is accepted."""
    checks = [
        Check("config", Text("ping_config"), True,
              Text("ping_found" if cfg.path.exists() else "ping_not_found", path=str(cfg.path))),
    ]
    key = cfg.api_key
    problem = cfg.secret_problems.get("api-key")  # kept in the system keyring, which could not be read
    missing = Text(problem.message_id, **problem.params) if problem else Text("ping_missing_key")
    checks.append(Check("api_key", Text("ping_key"), bool(key),
                        f"{mask_secret(key)} ({cfg.sources['api-key']})" if key else missing))
    base_url = cfg.base_url
    checks.append(Check("base_url", Text("ping_base_url"), True, f"{base_url} ({cfg.sources['base-url']})"))
    parts = urlsplit(base_url)
    dns = _resolve(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
    checks.append(dns)
    if not dns.ok:
        checks += [_skipped("reach", "ping_reach"), _skipped("key_accepted", "ping_auth")]
        return checks
    checks += _probe(cfg, lang, key)
    return checks


def _resolve(host: str, port: int) -> Check:
    started = time.monotonic()
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        return Check("dns", Text("ping_dns"), False, Text("ping_failed", detail=f"{host}: {exc}"),
                     time.monotonic() - started)
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    return Check("dns", Text("ping_dns"), True, f"{host} → {', '.join(addresses[:3])}", time.monotonic() - started)


def _probe(cfg: ResolvedConfig, lang: str, key: str | None) -> list[Check]:
    """The backend's free key check (BigModel: a task that does not exist; a server: its model list)."""
    from glm_image_cli.backends.registry import backend_named

    backend = backend_named(cfg.backend)
    with backend.make_client(key or "no-key", cfg.base_url, timeout=15.0, lang=lang, region=cfg.region) as client:
        try:
            probe = backend.probe(client)
        except GlmImageError as error:
            return [Check("reach", Text("ping_reach"), False, Text("ping_failed", detail=error.params.get("detail")),
                          None), _skipped("key_accepted", "ping_auth")]
    answer = f"HTTP {probe.status}" + (f" / {probe.code}" if probe.code else "")
    how = "ping_reach_https" if cfg.base_url.lower().startswith("https:") else "ping_reach_http"
    reach = Check("reach", Text("ping_reach"), True, Text(how), probe.seconds)
    if not key:
        return [reach, _skipped("key_accepted", "ping_auth")]
    if probe.rejected:
        detail = f"{answer}: {probe.message}" if probe.message else answer
        return [reach, Check("key_accepted", Text("ping_auth"), False, Text("ping_rejected", detail=detail))]
    return [reach, Check("key_accepted", Text("ping_auth"), True, Text(probe.accepted_text, detail=answer))]


def _skipped(name: str, label: str) -> Check:
    return Check(name, Text(label), None, Text("ping_skipped"))


def check_server(url: str) -> Check:
    """GET {url}/ping on a running `glm-image serve`."""
    import httpx

    started = time.monotonic()
    target = url.rstrip("/") + "/ping"
    try:
        response = httpx.get(target, timeout=5.0, trust_env=False)
        body = safejson.loads(response.content)
        ok = response.status_code == 200 and isinstance(body, dict) and body.get("status") == "ok"
        detail: Text | str = f"{target}: HTTP {response.status_code}, {body.get('message', '') if ok else body}"
    except (httpx.HTTPError, ValueError) as exc:
        ok, detail = False, Text("ping_server_down", url=target, detail=type(exc).__name__)
    return Check("server", Text("ping_server"), ok, detail, time.monotonic() - started)
