"""The whole morning, as a user runs it: sync two registry days, then deliver the alerts.

Real processes against real local servers: the fake registry, an SMTP server and a webhook
receiver. Tracker digests must hold exactly the matching changes, once.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import orjson

from hemewatch.demo import demo_days
from tests.alerts.servers import HttpReceiver, SmtpServer
from tests.cli.runner import cli_env, hemewatch
from tests.fakeapi.server import FakeRegistryServer


def _read(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rb") as lines:
        return [orjson.loads(line) for line in lines if line.strip()]


def _nct(study: dict[str, Any]) -> str:
    return str(study["protocolSection"]["identificationModule"]["nctId"])


def test_sync_then_deliver(tmp_path: Path, db_url: str) -> None:
    day1_file, day2_file = demo_days()
    day1 = _read(day1_file)
    changed = {_nct(s): s for s in _read(day2_file)}
    day2 = [changed.pop(_nct(s), s) for s in day1] + list(changed.values())
    with (
        FakeRegistryServer(day1, data_timestamp="2025-07-07T09:00:00") as registry,
        SmtpServer() as smtp,
        HttpReceiver() as hooks,
    ):
        env = cli_env(
            tmp_path,
            db_url,
            registry.base_url,
            HEMEWATCH_SMTP_URL=smtp.url,
            HEMEWATCH_WEBHOOK_ALLOW_PRIVATE="true",
            HEMEWATCH_PUBLIC_URL="https://hemewatch.example.org",
        )
        assert hemewatch("sync", env=env).returncode == 0
        added = hemewatch(
            "trackers",
            "add",
            "--name",
            "CD19 programs",
            "--email",
            "hem@example.org",
            "--target",
            "CD19",
            env=env,
        )
        assert added.returncode == 0, added.stderr
        aml = hemewatch(
            "trackers",
            "add",
            "--name",
            "AML",
            "--email",
            "aml@example.org",
            "--disease",
            "AML",
            "--cadence",
            "immediate",
            "--no-email",
            "--webhook",
            hooks.url(),
            "--json",
            env=env,
        )
        assert aml.returncode == 0, aml.stderr
        secret = json.loads(aml.stdout)["webhook_secret"]

        registry.set_studies(day2)
        registry.data_timestamp = "2025-07-08T09:00:00"
        morning = hemewatch("run", env=env)  # sync, then send what is due
        assert morning.returncode == 0, morning.stdout + morning.stderr
        assert "incremental sync" in morning.stdout and "sent" in morning.stdout
        again = hemewatch("alerts", "send", env=env)
        assert again.returncode == 0

    # One digest for the CD19 tracker, with the two CD19 trials that changed.
    (digest,) = smtp.messages
    assert digest["To"] == "hem@example.org"
    assert "2 trials" in digest["Subject"]
    text = digest.get_body(preferencelist=("plain",)).get_content()
    assert "NCT05993949" in text and "NCT06111625" in text
    assert "https://hemewatch.example.org/trials/NCT05993949" in text
    assert "https://clinicaltrials.gov/study/NCT05993949" in text
    assert digest["List-Unsubscribe"]

    # Immediate, signed webhooks for the AML changes, one per event.
    assert hooks.requests
    seen = set()
    for request in hooks.requests:
        timestamp = request.headers["x-hemewatch-timestamp"]
        expected = hmac.new(
            secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256
        ).hexdigest()
        assert request.headers["x-hemewatch-signature"] == f"sha256={expected}"
        body = json.loads(request.body)
        seen.update(event["nct_id"] for event in body["events"])
    assert {"NCT04265963", "NCT05886491"} <= seen
    assert "NCT05993949" not in seen  # a B-ALL trial: not this tracker's
    assert len({r.headers.get("x-hemewatch-delivery") for r in hooks.requests}) == len(hooks.requests)
