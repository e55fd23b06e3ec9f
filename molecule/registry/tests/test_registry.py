"""registry: over TLS with its own certificate, only to its account, on the private address;
an image pushed through the API (as from this machine, through the published port) is pulled
back by digest from an app host."""

import base64
import hashlib
import json
import shlex
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.molecule

PROJECT = Path(__file__).resolve().parents[3]
CERTIFICATE = "/etc/docker/registry/tls/registry.crt"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture(scope="module")
def published_port() -> int:
    """reg1's port 5000 as this machine reaches it (127.0.0.1 only)."""
    status = subprocess.run(
        [sys.executable, "-m", "voicenote_ops", "lab", "status", "--name", "mol-registry",
         "--json"],
        capture_output=True, text=True, check=True, cwd=PROJECT,
    )  # fmt: skip
    (lab,) = json.loads(status.stdout)["labs"]
    (registry,) = [host for host in lab["hosts"] if host["name"] == "reg1"]
    return registry["registry_port"]


@pytest.fixture(scope="module")
def certificate(hosts) -> str:
    return hosts["reg1"].file(CERTIFICATE).content_string


@pytest.fixture(scope="module")
def trusted(certificate) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=certificate)


@pytest.fixture(scope="module")
def call(published_port, trusted, secrets):
    """One request to the registry's API through the published port, as its account (or with
    the given password, or none); returns (status, headers, body)."""

    def request(method, path, body=None, headers=None, password=None, context=trusted):
        url = f"https://localhost:{published_port}/v2/{path}"
        sent = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        if password is not False:
            account = f"voicenote:{password or secrets['vault_registry_password']}"
            sent.add_header("Authorization", "Basic " + base64.b64encode(account.encode()).decode())
        try:
            with urllib.request.urlopen(sent, context=context, timeout=10) as answer:  # noqa: S310
                return answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as refused:
            return refused.code, refused.headers, refused.read()

    return request


def test_only_the_account_is_answered(call) -> None:
    assert call("GET", "", password=False)[0] == 401
    assert call("GET", "", password="not-the-password")[0] == 401
    status, headers, _ = call("GET", "")
    assert status == 200
    assert headers["Docker-Distribution-Api-Version"] == "registry/2.0"


def test_a_client_without_its_certificate_is_refused(call) -> None:
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        call("GET", "", context=ssl.create_default_context())


def test_the_certificate_names_every_way_clients_reach_it(hosts, address) -> None:
    text = hosts["reg1"].check_output(f"openssl x509 -noout -ext subjectAltName -in {CERTIFICATE}")
    names = {name.strip() for name in text.splitlines()[-1].split(",")}
    assert names == {"DNS:reg1", "DNS:localhost", f"IP Address:{address('reg1')}",
                     "IP Address:127.0.0.1"}  # fmt: skip


def _upload(call, content: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    status, headers, _ = call("POST", "molecule/test/blobs/uploads/")
    assert status == 202
    location = headers["Location"].split("/v2/", 1)[1]
    separator = "&" if "?" in location else "?"
    status, _, _ = call("PUT", f"{location}{separator}digest={digest}", body=content,
                        headers={"Content-Type": "application/octet-stream"})  # fmt: skip
    assert status == 201
    return digest


def _push_manifest(call) -> str:
    """An image (an empty one) pushed through the API; its manifest digest."""
    config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    config_digest = _upload(call, config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MANIFEST, "layers": [],
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": len(config)},
    }).encode()  # fmt: skip
    status, headers, _ = call("PUT", "molecule/test/manifests/1.0.0", body=manifest,
                              headers={"Content-Type": MANIFEST})  # fmt: skip
    assert status == 201
    digest = headers["Docker-Content-Digest"]
    assert digest == "sha256:" + hashlib.sha256(manifest).hexdigest()
    return digest


def test_a_pushed_image_is_pulled_by_digest_from_an_app_host(call, hosts, certificate, secrets):
    digest = _push_manifest(call)

    # From app1 over the private network, by digest, with the certificate and the account; the
    # password reaches curl in a config file on its stdin, not its command line.
    app = hosts["app1"]
    app.run(f"echo {shlex.quote(certificate)} > /tmp/registry.crt")
    account = shlex.quote(f'user = "voicenote:{secrets["vault_registry_password"]}"')
    pulled = app.run(
        f"echo {account} | curl -sS -K - --cacert /tmp/registry.crt -H 'Accept: {MANIFEST}'"
        f" https://reg1:5000/v2/molecule/test/manifests/{digest}"
    )
    assert pulled.rc == 0, pulled.stderr
    assert hashlib.sha256(pulled.stdout.encode()).hexdigest() == digest[7:]


def test_its_secrets_are_readable_by_root_and_the_registry_only(hosts, secrets) -> None:
    for path in ("tls/registry.key", "htpasswd", "config.yml"):
        found = hosts["reg1"].file(f"/etc/docker/registry/{path}")
        assert (found.user, found.group, found.mode) == ("root", "docker-registry", 0o640)
    htpasswd = hosts["reg1"].file("/etc/docker/registry/htpasswd").content_string
    assert htpasswd.startswith("voicenote:$2y$")
    assert secrets["vault_registry_password"] not in htpasswd


def test_it_listens_on_the_private_address_only(listening_on, address) -> None:
    assert listening_on("reg1", 5000) == {f"{address('reg1')}:5000"}


def test_the_app_host_refuses_an_unsigned_image_and_keeps_its_account_to_root(call, hosts):
    """containers on app1: the same registry's image, unsigned, is refused at pull by podman's
    policy, before anything of it is stored."""
    digest = _push_manifest(call)
    app = hosts["app1"]
    pulled = app.run(
        "podman pull --authfile /etc/containers/voicenote-auth.json"
        f" reg1:5000/molecule/test@{digest}"
    )
    assert pulled.rc != 0
    assert "A signature was required, but no signature exists" in pulled.stderr
    assert app.run("podman images --quiet").stdout.strip() == ""
    auth = app.file("/etc/containers/voicenote-auth.json")
    assert (auth.user, auth.group, auth.mode) == ("root", "root", 0o600)
    policy = json.loads(app.file("/etc/containers/policy.json").content_string)
    assert policy["default"] == [{"type": "reject"}]
    (rule,) = policy["transports"]["docker"]["reg1:5000"]
    assert rule["type"] == "signedBy"
