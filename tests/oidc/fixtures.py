"""A real OpenID Provider (panva's oidc-provider, OpenID Certified) for the single
sign-on tests, started with the machine's Node.js beside the live server. Test modules
import the `oidc_provider` fixture from here."""

import copy
import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

PROVIDER = Path(__file__).resolve().parent / "provider.mjs"
ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "safeguarding-tests"
CLIENT_SECRET = "a-long-client-secret-for-the-tests-only-0123456789"
BACKEND = "accounts.oidc.ProviderBackend"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Provider:
    def __init__(self, issuer: str, accounts_path: Path):
        self.issuer = issuer
        self.accounts_path = accounts_path
        self.accounts: dict[str, dict] = {}

    def set_account(self, sub: str, **claims):
        """Give (or change) the person the provider knows by `sub`."""
        self.accounts[sub] = claims
        self.accounts_path.write_text(json.dumps(self.accounts))


@pytest.fixture
def oidc_provider(live_server, settings, tmp_path):
    """The provider on a free port, with one confidential client whose redirect URI is
    the live server's callback; Django set up to use it (issuer only: the endpoints come
    from its discovery document). Killed at teardown."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js not found: the provider tests need it")
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    accounts = tmp_path / "accounts.json"
    accounts.write_text("{}")
    config = tmp_path / "provider.json"
    config.write_text(
        json.dumps(
            {
                "port": port,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uri": f"{live_server.url}/oidc/callback/",
                "post_logout_redirect_uri": f"{live_server.url}/accounts/sign-in/",
                "accounts": str(accounts),
            }
        )
    )
    log = (tmp_path / "provider.log").open("w")
    process = subprocess.Popen(
        [node, str(PROVIDER), str(config)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"The provider stopped: {(tmp_path / 'provider.log').read_text()}")
            try:
                if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("The provider did not start in 30 s")
            time.sleep(0.1)  # waiting for a process to listen, not for time to pass

        settings.OIDC_ENABLED = True
        settings.OIDC_PROVIDER_NAME = "Council Login"
        settings.OIDC_OP_ISSUER = issuer
        settings.OIDC_RP_CLIENT_ID = CLIENT_ID
        settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
        settings.AUTHENTICATION_BACKENDS = [
            "django.contrib.auth.backends.ModelBackend",
            BACKEND,
        ]
        settings.SECOND_FACTOR_EXEMPT_BACKENDS = [BACKEND]
        policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
        policy["DIRECTIVES"]["form-action"] = [*policy["DIRECTIVES"]["form-action"], issuer]
        settings.CONTENT_SECURITY_POLICY = policy
        yield Provider(issuer, accounts)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
