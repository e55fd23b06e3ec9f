"""Lab fixtures' building blocks: a named lab that is torn down even after a killed run."""

import json
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from tests.conftest import PROJECT, run_cli
from voicenote_ops.lab import podman
from voicenote_ops.load import generator

# The load balancer's server name in labs (inventories/lab/group_vars/all/main.yml).
LAB_DOMAIN = "voicenote.lab.test"


def labelled(kind: str, lab: str) -> list[str]:
    """Names of podman objects of a kind (`ps -a`, `network ls`) carrying the lab's label."""
    argv = {"container": ["podman", "ps", "-a"], "network": ["podman", "network", "ls"]}[kind]
    fmt = "{{.Names}}" if kind == "container" else "{{.Name}}"
    _, out = podman.run([*argv, "--filter", f"label={podman.LABEL_LAB}={lab}", "--format", fmt])
    return out.split()


def lab_status(lab: str) -> dict:
    result = run_cli("lab", "status", "--name", lab, "--json")
    assert result.returncode == 0, result.stderr
    (status,) = json.loads(result.stdout)["labs"]
    return status


@contextmanager
def lab_up(lab: str, *options: str) -> Iterator[dict]:
    run_cli("lab", "down", "--name", lab)  # leftovers of a killed run, found by label
    try:
        result = run_cli("lab", "up", "--name", lab, *options, "--json")
        assert result.returncode == 0, result.stderr
        yield json.loads(result.stdout)
    finally:
        run_cli("lab", "down", "--name", lab)


def deploy_releases(lab: str, bundle, *versions: str) -> None:
    """Deploy each version in turn (the last one live, the one before in the idle color)."""
    for version in versions:
        deployed = run_cli(
            "deploy", lab, "--version", version, "--artifact", str(bundle(version)), "--yes"
        )
        assert deployed.returncode == 0, deployed.stderr[-2000:]


def lb_request(lab: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    """One request through the lab's load balancer (HTTPS on its 127.0.0.1 port, self-signed)."""
    (lb,) = [host for host in lab_status(lab)["hosts"] if "lb" in host["groups"]]
    request = urllib.request.Request(
        f"https://127.0.0.1:{lb['https_port']}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Host": LAB_DOMAIN, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=10, context=generator.lab_tls_context()
        ) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            return error.code, json.loads(body or b"null")
        except ValueError:  # an error page that is not JSON ("Internal Server Error")
            return error.code, body.decode(errors="replace")


def on_host(lab: str, host: str, *command: str) -> str:
    """Run a command as root on a lab host (through podman, not the tool under test)."""
    _, out = podman.run(["podman", "exec", f"vnops-{lab}-{host}", *command])
    return out


# The lab's test-only key that signs images (its public half is pinned in the lab's inventory).
IMAGE_SIGNING_KEY = PROJECT / "inventories" / "lab" / "image-signing-key.asc"


def image_release(folder: Path, bundle: Path, archive: Path) -> Path:
    """The bundle, its signature and its image archive side by side in a folder of their own
    under folder, as `build --image` leaves them in dist/ (the CLI deploys the archive's digest);
    returns the bundle's path there."""
    release = folder / bundle.name.removesuffix(".tar.gz")
    release.mkdir()
    for path in (bundle, Path(f"{bundle}.sig"), archive):
        (release / path.name).symlink_to(path)
    return release / bundle.name


def push_image(lab: str, archive: Path, *signing: str) -> str:
    """`voicenote-ops push` of an image archive to the lab's registry; returns its digest."""
    pushed = run_cli("push", lab, str(archive), *signing, "--json", timeout=300)
    assert pushed.returncode == 0, pushed.stderr[-3000:]
    return json.loads(pushed.stdout)["digest"]


@dataclass
class Load:
    summary: dict | None = None
    # The load command's exit code: 0 when every request got a 2xx, else 5.
    returncode: int | None = None
    # Whether the load still ran when the block ended (it covered everything the block did).
    outlasted: bool = False


@contextmanager
def background_load(lab: str, plan: generator.LoadPlan, stop_at_exit: bool) -> Iterator[Load]:
    """`voicenote-ops load` on the lab's load balancer while the block runs; its figures once it
    ended (stopped with Ctrl-C at the block's end with stop_at_exit, else by the plan's bounds)."""
    options = {
        "--rate": plan.rate, "--requests": plan.requests, "--duration": plan.duration,
        "--long": plan.long_requests, "--long-seconds": plan.long_seconds,
        "--connections": plan.connections,
    }  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "voicenote_ops", "load", lab, "--json",
         *(str(word) for pair in options.items() for word in pair)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=PROJECT,
    )  # fmt: skip
    load = Load()
    try:
        yield load
        load.outlasted = process.poll() is None
        if stop_at_exit and load.outlasted:
            process.send_signal(signal.SIGINT)
    except BaseException:
        process.send_signal(signal.SIGINT)
        raise
    finally:
        out, err = process.communicate(timeout=plan.duration + 120)
    load.returncode = process.returncode
    assert out, f"the load command printed no figures: {err[-2000:]}"
    load.summary = json.loads(out)


def host_state(lab: str, hosts: tuple[str, ...], db_host: str = "db1") -> dict[str, str]:
    """What a refused run must leave as it was: podman's diff of /etc and /opt; the path, type,
    size, modification time (to the nanosecond), mode, owner and link target of every file and
    link under /etc and /opt/voicenote on each host, which any write, creation, removal, chmod
    or chown changes (a hash of every file's content found nothing more and cost
    2.8 s of CPU a host, against 0.1 s); and the database's schema head."""
    state = {}
    for host in hosts:
        _, diff = podman.run(["podman", "diff", f"vnops-{lab}-{host}"])
        state[f"{host} diff"] = "\n".join(
            sorted(line for line in diff.splitlines() if line[2:].startswith(("/etc", "/opt")))
        )
        state[f"{host} files"] = on_host(
            lab, host, "sh", "-c",
            "find /etc /opt/voicenote -xdev \\( -type f -o -type l \\)"
            " -printf '%p %y %s %T@ %m %U:%G %l\\n' 2>/dev/null | sort",
        )  # fmt: skip
    state["schema"] = on_host(
        lab, db_host, "runuser", "-u", "postgres", "--",
        "psql", "-tAc", "SELECT version_num FROM alembic_version", "voicenote",
    )  # fmt: skip
    return state


@contextmanager
def webhook_receiver(status: int = 200) -> Iterator[tuple[str, list[dict]]]:
    """A Slack-compatible webhook on 127.0.0.1 answering every POST with `status`: its URL and
    the JSON messages it got, in order."""
    received: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", received
    finally:
        server.shutdown()
        server.server_close()
