"""A real Neo4j Community 5.26 server (with Browser), assembled from Maven Central.

There is no Docker and no tarball download here, so ``install()`` lets Maven copy the server's
runtime jars (``pom.xml`` next to this file) into ``$FRAUDRINGS_HOME/neo4j/lib``; the rest of a
Neo4j home (conf/, data/, logs/, run/, plugins/) is created and ``neo4j.conf`` is generated.
The server is started by Neo4j's own bootloader (``org.neo4j.server.startup.Neo4jCommand
start``), which derives the server JVM's command line from ``neo4j.conf`` exactly as
``bin/neo4j start`` does, daemonises it and writes ``run/neo4j.pid``.

Stdlib only (click for the CLI) so that it runs before the project's dependencies exist::

    python -m fraudrings.graph.backends.neo4j.server start      # or: scripts/neo4j start

Environment: ``FRAUDRINGS_HOME`` (default ``~/.fraudrings``), ``NEO4J_PASSWORD`` (initial
password; a changed value is applied to a running server on the next start),
``FRAUDRINGS_NEO4J_BOLT_PORT`` / ``FRAUDRINGS_NEO4J_HTTP_PORT`` (7687 / 7474),
``FRAUDRINGS_NEO4J_HEAP`` / ``FRAUDRINGS_NEO4J_HEAP_INITIAL`` / ``FRAUDRINGS_NEO4J_PAGECACHE``,
``FRAUDRINGS_NEO4J_BROWSER_<SETTING>`` (e.g. ``..._POST_CONNECT_CMD`` sets
``browser.post_connect_cmd``), ``FRAUDRINGS_JAVA`` / ``JAVA_HOME`` and ``FRAUDRINGS_MVN``.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import click

NEO4J_VERSION = "5.26.30"
HOST = "127.0.0.1"  # loopback only: auth is on, but this is a developer/test server
USER = "neo4j"
DEFAULT_BOLT_PORT = 7687
DEFAULT_HTTP_PORT = 7474
# Sized for a 1M-application book (about 1.5 GB of store and indexes): the page cache holds
# all of it. Loading 1M applications with a 2 GB heap spent 58 s in GC pauses (15% of the
# server's time); the heap starts at its full size so that it never resizes.
DEFAULT_HEAP_INITIAL = "4g"
DEFAULT_HEAP_MAX = "4g"
DEFAULT_PAGECACHE = "2g"
POM = Path(__file__).with_name("pom.xml")
BOOTLOADER = "org.neo4j.server.startup.Neo4jCommand"
ADMIN_TOOL = "org.neo4j.cli.AdminTool"
SERVER_CLASS = "org.neo4j.server.CommunityEntryPoint"

# Where `fraudrings browser serve-assets` (or the HTTP API, which mounts the same router from
# fraudrings/browser/routes.py) serves the project's Browser style and guide.
BROWSER_ASSETS_URL = "http://127.0.0.1:7480/browser"
# Browser settings. After every connect Browser loads the style and opens the guide; it fetches
# remote content only from listed hosts (its default list, guides.neo4j.com and localhost,
# would reach the internet and miss 127.0.0.1). Neo4j 5.26 declares the list as
# `..._whitelist` only: the documented `..._allowlist` name fails strict config validation.
# Env FRAUDRINGS_NEO4J_BROWSER_* and the `browser` argument of start()/write_config() override
# these key by key (an empty value drops a key), and conf/local.conf overrides the file.
BROWSER_SETTINGS: dict[str, str] = {
    "browser.post_connect_cmd": (
        f"style {BROWSER_ASSETS_URL}/style.grass; play {BROWSER_ASSETS_URL}/guide.html"
    ),
    "browser.remote_content_hostname_whitelist": "127.0.0.1,localhost",
}

# The JVM flags of the neo4j.conf shipped in the 5.26 distribution (minus AlwaysPreTouch, which
# would touch the whole heap at start). Without the --add-opens the page cache and transaction
# logs fall back to slower code paths on Java 17 (warnings in debug.log).
JVM_ADDITIONAL = (
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Djdk.tls.ephemeralDHKeySize=2048",
    "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
    "-XX:FlightRecorderOptions=stackdepth=256",
    "-XX:+UnlockDiagnosticVMOptions",
    "-XX:+DebugNonSafepoints",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "-Dlog4j2.disable.jmx=true",
    "-Dlog4j.layout.jsonTemplate.maxStringLength=32768",
)
# The bootloader and admin tool are short-lived helpers; keep their JVMs small and quick.
HELPER_JVM = ("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")


class Neo4jServerError(RuntimeError):
    """Installing, starting or talking to the local Neo4j server failed."""


# --- locations and settings -------------------------------------------------------------------


def home() -> Path:
    """The Neo4j home: ``$FRAUDRINGS_HOME/neo4j`` (default ``~/.fraudrings/neo4j``)."""
    base = os.environ.get("FRAUDRINGS_HOME") or str(Path.home() / ".fraudrings")
    return Path(base).expanduser().resolve() / "neo4j"


def _dirs() -> dict[str, Path]:
    h = home()
    names = ("conf", "data", "logs", "run", "lib", "plugins", "import")
    return {name: h / name for name in names}


def _env_port(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise Neo4jServerError(f"{name}={raw!r} is not a port number") from exc


def _conf_file() -> Path:
    return home() / "conf" / "neo4j.conf"


def _read_conf(path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    pairs = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            pairs.append((key.strip(), value.strip()))
    return pairs


def _ports() -> tuple[int, int]:
    """(bolt, http): what the generated conf says (the running server's), else env/defaults."""
    conf = dict(_read_conf(_conf_file()))
    bolt = conf.get("server.bolt.listen_address", "")
    http = conf.get("server.http.listen_address", "")
    if bolt.rpartition(":")[2].isdigit() and http.rpartition(":")[2].isdigit():
        return int(bolt.rpartition(":")[2]), int(http.rpartition(":")[2])
    return (
        _env_port("FRAUDRINGS_NEO4J_BOLT_PORT", DEFAULT_BOLT_PORT),
        _env_port("FRAUDRINGS_NEO4J_HTTP_PORT", DEFAULT_HTTP_PORT),
    )


def _browser_settings(browser: Mapping[str, str] | None) -> dict[str, str]:
    merged = dict(BROWSER_SETTINGS)
    prefix = "FRAUDRINGS_NEO4J_BROWSER_"
    for name, value in os.environ.items():
        if name.startswith(prefix) and name != prefix:
            merged["browser." + name[len(prefix) :].lower()] = value
    merged.update(browser or {})
    bad = [key for key in merged if not key.startswith("browser.")]
    if bad:
        raise Neo4jServerError(f"not Browser settings: {', '.join(bad)}")
    return {key: value for key, value in merged.items() if value != ""}


def render_config(
    *,
    bolt_port: int | None = None,
    http_port: int | None = None,
    heap_initial: str | None = None,
    heap_max: str | None = None,
    pagecache: str | None = None,
    browser: Mapping[str, str] | None = None,
) -> str:
    """The text of ``neo4j.conf``; arguments override env, env overrides the defaults."""
    env = os.environ.get
    bolt = bolt_port or _env_port("FRAUDRINGS_NEO4J_BOLT_PORT", DEFAULT_BOLT_PORT)
    http = http_port or _env_port("FRAUDRINGS_NEO4J_HTTP_PORT", DEFAULT_HTTP_PORT)
    heap = heap_max or env("FRAUDRINGS_NEO4J_HEAP") or DEFAULT_HEAP_MAX
    # An explicit max heap below the default initial size must not leave initial > max.
    heap_init = (
        heap_initial
        or env("FRAUDRINGS_NEO4J_HEAP_INITIAL")
        or (DEFAULT_HEAP_INITIAL if not (heap_max or env("FRAUDRINGS_NEO4J_HEAP")) else heap)
    )
    cache = pagecache or env("FRAUDRINGS_NEO4J_PAGECACHE") or DEFAULT_PAGECACHE
    d = _dirs()
    settings: list[tuple[str, str]] = [
        ("server.directories.data", str(d["data"])),
        ("server.directories.logs", str(d["logs"])),
        ("server.directories.run", str(d["run"])),
        ("server.directories.lib", str(d["lib"])),
        ("server.directories.plugins", str(d["plugins"])),
        ("server.directories.import", str(d["import"])),
        ("server.default_listen_address", HOST),
        ("server.default_advertised_address", HOST),
        ("server.bolt.enabled", "true"),
        ("server.bolt.listen_address", f"{HOST}:{bolt}"),
        # Browser connects to the advertised Bolt address; it must carry a non-default port.
        ("server.bolt.advertised_address", f"{HOST}:{bolt}"),
        ("server.bolt.tls_level", "DISABLED"),
        ("server.http.enabled", "true"),
        ("server.http.listen_address", f"{HOST}:{http}"),
        ("server.http.advertised_address", f"{HOST}:{http}"),
        ("server.https.enabled", "false"),
        ("dbms.security.auth_enabled", "true"),
        ("dbms.usage_report.enabled", "false"),
        ("server.memory.heap.initial_size", heap_init),
        ("server.memory.heap.max_size", heap),
        ("server.memory.pagecache.size", cache),
        # Tests reload graphs again and again; do not keep days of transaction logs.
        ("db.tx_log.rotation.retention_policy", "1G size"),
        # Bolt otherwise idles 2 x 5 s at shutdown waiting for connections that are gone.
        ("internal.server.bolt.connection_shutdown_wait_time", "1s"),
        ("internal.server.bolt.thread_pool_shutdown_wait_time", "1s"),
    ]
    settings += [("server.jvm.additional", flag) for flag in JVM_ADDITIONAL]
    # Hand-written overrides survive regeneration: conf/local.conf replaces keys (jvm flags add).
    local = _read_conf(home() / "conf" / "local.conf")
    for key, value in local:
        if key != "server.jvm.additional":
            settings = [(k, v) for k, v in settings if k != key]
        settings.append((key, value))
    # A browser.* key of local.conf replaces the generated one (never written twice).
    browser_settings = {
        k: v for k, v in _browser_settings(browser).items() if k not in dict(local)
    }
    lines = [
        "# Generated by fraudrings.graph.backends.neo4j.server on every start: do not edit.",
        "# Put your own settings in conf/local.conf next to this file.",
        *(f"{key}={value}" for key, value in settings),
        "",
        "# --- Neo4j Browser ---",
        *(f"{key}={value}" for key, value in browser_settings.items()),
    ]
    return "\n".join(lines) + "\n"


def write_config(**overrides: Any) -> Path:
    """Write ``conf/neo4j.conf``; the keyword arguments are those of ``render_config``."""
    for path in _dirs().values():
        path.mkdir(parents=True, exist_ok=True)
    conf = _conf_file()
    conf.write_text(render_config(**overrides))
    return conf


# --- password ---------------------------------------------------------------------------------


def _password_file() -> Path:
    return home() / "password"


def _write_password(value: str) -> None:
    path = _password_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 from the start, so the secret is never briefly world-readable.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    path.chmod(0o600)


def password() -> str:
    """The password of user ``neo4j`` on the local server.

    The password file is the truth once it exists. Before that, ``NEO4J_PASSWORD`` or a fresh
    random password is stored in it (mode 600) and later set as the initial password.
    """
    path = _password_file()
    if path.exists():
        return path.read_text().strip()
    value = os.environ.get("NEO4J_PASSWORD") or secrets.token_urlsafe(18)
    _check_password(value)
    _write_password(value)
    return value


def _check_password(value: str) -> None:
    if len(value) < 8:  # dbms.security.auth_minimum_password_length
        raise Neo4jServerError("NEO4J_PASSWORD must have at least 8 characters")


def _initialized() -> bool:
    """Whether the DBMS has started once (the initial password can no longer be set)."""
    return (home() / "data" / "databases" / "system").exists()


# --- processes --------------------------------------------------------------------------------


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    candidates = [os.environ.get("FRAUDRINGS_JAVA"), java_home and f"{java_home}/bin/java", "java"]
    for candidate in candidates:
        found = candidate and shutil.which(candidate)
        if found:
            return found
    raise Neo4jServerError("no java found: Neo4j 5.26 needs Java 17 or 21 (set FRAUDRINGS_JAVA)")


def _java_env() -> dict[str, str]:
    env = dict(os.environ, NEO4J_HOME=str(home()), NEO4J_CONF=str(home() / "conf"))
    # Both would silently change the server JVM that the bootloader builds from neo4j.conf.
    env.pop("JAVA_OPTS", None)
    env.pop("HEAP_SIZE", None)
    return env


def _java_cmd(main_class: str, *args: str) -> list[str]:
    return [_java(), *HELPER_JVM, "-cp", str(home() / "lib" / "*"), main_class, *args]


def _run_java(main_class: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        _java_cmd(main_class, *args),
        env=_java_env(),
        cwd=home(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _launch_server() -> subprocess.Popen:
    """Neo4j's bootloader forks the server, writes run/neo4j.pid, and exits 0 once it started."""
    # A file, not a pipe: the server inherits the bootloader's stdout and would hold a pipe open.
    with (home() / "logs" / "bootloader.log").open("w") as out:
        return subprocess.Popen(
            _java_cmd(BOOTLOADER, "start"),
            env=_java_env(),
            cwd=home(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # The server inherits this session, so Ctrl-C in the caller's terminal spares it.
            start_new_session=True,
        )


def _gist(java_output: str) -> str:
    """The message lines of a Java error, without its stack trace."""
    lines = [line for line in java_output.strip().splitlines() if not line[:1].isspace()]
    return "\n".join(lines[:4])


_lock_depth = 0


@contextlib.contextmanager
def _control_lock() -> Iterator[None]:
    """Serialise install/start/stop across processes (parallel test workers all `ensure`)."""
    global _lock_depth
    if _lock_depth:  # flock is per open file: re-locking in this process would deadlock
        yield
        return
    path = home() / "run" / "control.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        _lock_depth += 1
        try:
            yield
        finally:
            _lock_depth -= 1
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pid_file() -> Path:
    return home() / "run" / "neo4j.pid"


def _cmdline(pid: int) -> str:
    proc = Path(f"/proc/{pid}")
    if proc.exists():
        try:
            if proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return ""  # a zombie nobody reaped yet is as good as gone
            return proc.joinpath("cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            return ""
    if sys.platform.startswith("linux"):
        return ""
    result = subprocess.run(
        ["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True
    )
    return result.stdout.strip()


def _is_our_server(pid: int) -> bool:
    cmd = _cmdline(pid)
    return SERVER_CLASS in cmd and f"--home-dir={home()}" in cmd


def _server_pid() -> int | None:
    """The pid in run/neo4j.pid if that process is our server; a stale file is removed."""
    path = _pid_file()
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    if _is_our_server(pid):
        return pid
    path.unlink(missing_ok=True)
    return None


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


def _neo4j_log() -> Path:
    return home() / "logs" / "neo4j.log"


def _log_tail(neo4j_log_from: int = 0, lines: int = 12) -> str:
    """What the bootloader said (without Java stack frames) and what neo4j.log gained since
    ``neo4j_log_from``: enough to see why a start failed."""
    parts = []
    boot = home() / "logs" / "bootloader.log"
    if boot.exists():
        text = [ln for ln in boot.read_text(errors="replace").splitlines() if ln.strip()]
        kept = [ln for ln in text if not ln[:1].isspace()][-lines:]
        parts.append(f"--- {boot} ---\n" + "\n".join(kept))
    log = _neo4j_log()
    if log.exists() and log.stat().st_size > neo4j_log_from:
        with log.open("rb") as f:
            f.seek(neo4j_log_from)
            text = f.read().decode(errors="replace").splitlines()[-lines:]
        parts.append(f"--- {log} ---\n" + "\n".join(text))
    return "\n".join(parts)


# --- HTTP API (stdlib; the driver may not be installed yet) -----------------------------------


def _http(path: str, body: dict | None = None, auth: str | None = None) -> tuple[int, Any]:
    _, http_port = _ports()
    request = urllib.request.Request(f"http://{HOST}:{http_port}{path}", method="GET")
    request.add_header("Accept", "application/json")
    if body is not None:
        request.method = "POST"
        request.data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    if auth is not None:
        token = base64.b64encode(f"{USER}:{auth}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None


def _http_ok(path: str) -> bool:
    try:
        return _http(path)[0] == 200
    except OSError:  # refused / reset while the server is still coming up
        return False


def _cypher(statement: str | None, params: dict | None = None, *, db: str, auth: str) -> int:
    """Run one statement (None: none, only log in) over HTTP; the status code, 401 for a wrong
    password. Raises on Cypher errors."""
    statements = [{"statement": statement, "parameters": params or {}}] if statement else []
    status_code, payload = _http(f"/db/{db}/tx/commit", {"statements": statements}, auth)
    if status_code == 200 and payload and payload.get("errors"):
        raise Neo4jServerError(f"{statement!r} failed: {payload['errors'][0].get('message')}")
    return status_code


def _sync_password() -> None:
    """Check the stored password against the server; apply a changed ``NEO4J_PASSWORD``."""
    current = password()
    wanted = os.environ.get("NEO4J_PASSWORD")
    # An empty transaction checks the credentials without compiling any Cypher.
    if _cypher(None, db="neo4j", auth=current) == 401:
        if wanted and wanted != current and _cypher(None, db="neo4j", auth=wanted) == 200:
            _write_password(wanted)  # someone changed it to NEO4J_PASSWORD already
            return
        raise Neo4jServerError(
            f"the server refuses the password in {_password_file()}; it was initialised with "
            f"another one (fix the file, or stop and delete {home() / 'data'} to start afresh)"
        )
    if wanted and wanted != current:
        _check_password(wanted)
        _cypher(
            "ALTER CURRENT USER SET PASSWORD FROM $old TO $new",
            {"old": current, "new": wanted},
            db="system",
            auth=current,
        )
        _write_password(wanted)


# --- public API -------------------------------------------------------------------------------


def _lib_version(prefix: str) -> str | None:
    for jar in sorted((home() / "lib").glob(f"{prefix}-[0-9]*.jar")):
        version = jar.name[len(prefix) + 1 : -len(".jar")]
        if version[:1].isdigit():
            return version
    return None


def is_installed() -> bool:
    marker = home() / "lib" / ".installed"
    return marker.exists() and marker.read_text() == POM.read_text() and bool(_lib_version("neo4j"))


def install(force: bool = False) -> Path:
    """Copy the server's jars from Maven Central (via ~/.m2) into ``lib/``; no-op if there."""
    with _control_lock():
        if not is_installed() or force:
            _install()
    return home()


def _install() -> None:
    if _server_pid():
        raise Neo4jServerError("Neo4j is running; stop it before reinstalling")
    mvn = shutil.which(os.environ.get("FRAUDRINGS_MVN", "mvn"))
    if not mvn:
        raise Neo4jServerError("Maven (mvn) is needed to install Neo4j; set FRAUDRINGS_MVN")
    for path in _dirs().values():
        path.mkdir(parents=True, exist_ok=True)
    pom = home() / "pom.xml"  # a copy: the packaged one may sit in a read-only site-packages
    shutil.copyfile(POM, pom)
    staging = home() / "lib.partial"  # lib/ is swapped only after Maven fully succeeded
    shutil.rmtree(staging, ignore_errors=True)
    cmd = [
        mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
        f"-DoutputDirectory={staging}", "-DincludeScope=runtime",
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=home())
    if result.returncode != 0:
        out = (result.stdout + result.stderr).strip().splitlines()[-15:]
        raise Neo4jServerError("mvn dependency:copy-dependencies failed:\n" + "\n".join(out))
    shutil.rmtree(home() / "lib", ignore_errors=True)
    staging.rename(home() / "lib")
    shutil.rmtree(home() / "target", ignore_errors=True)
    (home() / "lib" / ".installed").write_text(POM.read_text())


def start(
    wait: bool = True,
    timeout: float = 120,
    *,
    bolt_port: int | None = None,
    http_port: int | None = None,
    heap_initial: str | None = None,
    heap_max: str | None = None,
    pagecache: str | None = None,
    browser: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Start the server in the background (no-op when it runs) and wait until it serves.

    The keyword arguments go to the generated ``neo4j.conf`` (see ``render_config``); they
    matter only when the server is not running yet.
    """
    with _control_lock():
        install()
        if _server_pid():
            if wait:
                _wait_ready(timeout)
                _sync_password()
            return status()
        bolt = bolt_port or _env_port("FRAUDRINGS_NEO4J_BOLT_PORT", DEFAULT_BOLT_PORT)
        http = http_port or _env_port("FRAUDRINGS_NEO4J_HTTP_PORT", DEFAULT_HTTP_PORT)
        busy = [str(port) for port in (bolt, http) if _port_open(port)]
        if busy:
            raise Neo4jServerError(
                f"port {', '.join(busy)} on {HOST} is taken by another process (another Neo4j?);"
                " stop it or set FRAUDRINGS_NEO4J_BOLT_PORT / FRAUDRINGS_NEO4J_HTTP_PORT"
            )
        write_config(
            bolt_port=bolt,
            http_port=http,
            heap_initial=heap_initial,
            heap_max=heap_max,
            pagecache=pagecache,
            browser=browser,
        )
        if not _initialized():  # set-initial-password only works before the first start
            wanted = os.environ.get("NEO4J_PASSWORD")
            if wanted and wanted != password():  # a file left from an earlier password() call
                _check_password(wanted)
                _write_password(wanted)
            result = _run_java(ADMIN_TOOL, "dbms", "set-initial-password", password())
            if result.returncode != 0:
                raise Neo4jServerError(f"set-initial-password failed: {_gist(result.stderr)}")
        log = _neo4j_log()
        log_from = log.stat().st_size if log.exists() else 0
        bootloader = _launch_server()
        if wait:
            _wait_ready(timeout, bootloader, log_from)
            _sync_password()
        return status()


def _wait_ready(
    timeout: float, bootloader: subprocess.Popen | None = None, neo4j_log_from: int = 0
) -> None:
    bolt, _ = _ports()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = bootloader.poll() if bootloader else 0
        failure = None
        if code:  # the bootloader maps the server's exit code to a message in bootloader.log
            failure = f"Neo4j failed to start (bootloader exit {code})"
        elif code == 0 and not _server_pid():
            failure = "Neo4j died while starting"
        # Discovery answers only once the DBMS has started; Bolt opens just before it.
        elif code == 0 and _port_open(bolt) and _http_ok("/"):
            return
        if failure:
            raise Neo4jServerError(f"{failure}; log tail:\n{_log_tail(neo4j_log_from)}")
        time.sleep(0.5)
    raise Neo4jServerError(
        f"Neo4j was not ready after {timeout:.0f}s; log tail:\n{_log_tail(neo4j_log_from)}"
    )


def stop(timeout: float = 120) -> bool:
    """Stop the server: SIGTERM (it checkpoints), SIGKILL after ``timeout``. False if not up."""
    with _control_lock():
        pid = _server_pid()
        if pid is None:
            return False
        _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _is_our_server(pid):
            if time.monotonic() > deadline:
                _signal(pid, signal.SIGKILL)
                deadline = time.monotonic() + 10
                while _is_our_server(pid) and time.monotonic() < deadline:
                    time.sleep(0.2)
                break
            time.sleep(0.2)
        _pid_file().unlink(missing_ok=True)
        return True


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # it exited in the meantime
        os.kill(pid, sig)


def ensure_running(timeout: float = 120) -> dict[str, Any]:
    """Install and start the server if needed; returns ``connection()``."""
    install()
    start(wait=True, timeout=timeout)
    return connection()


def connection() -> dict[str, Any]:
    """What a client needs: uri, user, password, http_url (and browser_url)."""
    bolt, http = _ports()
    return {
        "uri": f"bolt://{HOST}:{bolt}",
        "user": USER,
        "password": password(),
        "http_url": f"http://{HOST}:{http}",
        "browser_url": browser_url(),
    }


def browser_url() -> str:
    bolt, http = _ports()
    connect = urllib.parse.quote(f"bolt://{USER}@{HOST}:{bolt}", safe="")
    return f"http://{HOST}:{http}/browser/?connectURL={connect}"


def status() -> dict[str, Any]:
    bolt, http = _ports()
    pid = _server_pid()
    return {
        "installed": is_installed(),
        "running": pid is not None,
        "ready": pid is not None and _port_open(bolt),
        "pid": pid,
        "version": _lib_version("neo4j"),
        "browser_version": _lib_version("neo4j-browser"),
        "uri": f"bolt://{HOST}:{bolt}",
        "http_url": f"http://{HOST}:{http}",
        "home": str(home()),
        "log": str(home() / "logs" / "neo4j.log"),
    }


# --- CLI --------------------------------------------------------------------------------------


def _guard(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except Neo4jServerError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(help="A local Neo4j Community server (with Browser) for fraudrings.")
def main() -> None:
    pass


@main.command("install", help="Fetch the server's jars with Maven (no-op when installed).")
@click.option("--force", is_flag=True, help="Reinstall even when installed.")
def _install_cmd(force: bool) -> None:
    began = time.monotonic()
    _guard(install, force)
    click.echo(f"Neo4j {_lib_version('neo4j')} in {home()} ({time.monotonic() - began:.1f}s)")


def _echo_started(began: float) -> None:
    info = status()
    took = time.monotonic() - began
    click.echo(f"Neo4j {info['version']} running (pid {info['pid']}, {took:.1f}s): {info['uri']}")
    click.echo(
        f"Browser: {info['http_url']}/browser/  user: {USER}  password: scripts/neo4j password"
    )


@main.command("start", help="Start in the background and wait until Bolt answers.")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait.")
@click.option("--no-wait", is_flag=True, help="Return once the process is launched.")
def _start_cmd(timeout: float, no_wait: bool) -> None:
    began = time.monotonic()
    _guard(start, wait=not no_wait, timeout=timeout)
    _echo_started(began)


@main.command("ensure", help="Install and start if needed (what tests and CI call).")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait.")
def _ensure_cmd(timeout: float) -> None:
    began = time.monotonic()
    _guard(ensure_running, timeout)
    _echo_started(began)


@main.command("stop", help="Stop the server (SIGTERM, SIGKILL after --timeout).")
@click.option("--timeout", default=120.0, show_default=True)
def _stop_cmd(timeout: float) -> None:
    click.echo("Neo4j stopped." if _guard(stop, timeout) else "Neo4j was not running.")


@main.command("restart", help="Stop, then start.")
@click.option("--timeout", default=120.0, show_default=True)
def _restart_cmd(timeout: float) -> None:
    began = time.monotonic()
    _guard(stop, timeout)
    _guard(start, wait=True, timeout=timeout)
    _echo_started(began)


@main.command("status", help="Installed? running? where? (exit 3 when not running)")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def _status_cmd(as_json: bool) -> None:
    info = status()
    if as_json:
        click.echo(json.dumps(info, indent=2))
    else:
        for key, value in info.items():
            click.echo(f"{key:16}{value}")
    if not info["running"]:
        sys.exit(3)  # like `neo4j status`, so shell scripts can test it


@main.command("password", help="Print the password of user neo4j.")
def _password_cmd() -> None:
    click.echo(_guard(password))


@main.command("browser-url", help="Print the Neo4j Browser URL.")
def _browser_url_cmd() -> None:
    click.echo(browser_url())


if __name__ == "__main__":
    main()
