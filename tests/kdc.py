"""A real MIT Kerberos KDC for the SPNEGO tests: a throwaway realm on loopback.

``Kdc.start(tmp)`` writes a ``krb5.conf`` and ``kdc.conf`` into ``tmp``, creates the database
(``kdb5_util create -s``), adds principals (``kadmin.local addprinc``), exports keytabs
(``ktadd``) and starts ``krb5kdc -n`` on a free loopback port, waiting (polling the port, no
fixed sleep) until it answers. ``stop()`` ends that one process. The environment a GSSAPI
process needs (``KRB5_CONFIG``, ``KRB5_KDC_PROFILE``, ``KRB5CCNAME``, ``KRB5_KTNAME``) is
in ``env``; `Kdc.activate` puts it in ``os.environ`` for this process (MIT reads it at context
creation).

The KDC comes from Debian's ``krb5-kdc`` and ``krb5-admin-server`` (``scripts/setup.sh``
installs them). Missing here it is a loud skip; under CI (``tests.peers.in_ci``) an error.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

REALM = "WSSC.TEST"
#: The service's host name in its SPN (``HTTP/<host>``); resolved nowhere (no DNS lookups:
#: ``dns_canonicalize_hostname = false``, ``rdns = false``).
HOST = "svc.wssc.test"
SERVICE = f"HTTP/{HOST}"
PASSWORD = "Client-Passw0rd!"
TOOLS = ("krb5kdc", "kdb5_util", "kadmin.local", "kinit")


def tools_missing() -> list[str]:
    """The KDC programs not found (on PATH or in /usr/sbin)."""
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin" + os.pathsep + "/sbin"
    return [t for t in TOOLS if shutil.which(t, path=path) is None]


def _tool(name: str) -> str:
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin" + os.pathsep + "/sbin"
    found = shutil.which(name, path=path)
    assert found is not None, name
    return found


def _free_port() -> int:
    """A free port of this test worker's own slice (`servers.free_port`)."""
    from servers import free_port

    return free_port()


@dataclass
class Kdc:
    root: Path
    port: int
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def service_keytab(self) -> Path:
        return self.root / "service.keytab"

    @property
    def client_keytab(self) -> Path:
        return self.root / "client.keytab"

    @property
    def stale_keytab(self) -> Path:
        """The service's key of an earlier kvno (the principal was re-keyed since)."""
        return self.root / "stale.keytab"

    def principal(self, name: str) -> str:
        return f"{name}@{REALM}"

    def run(self, *args: str, stdin: str | None = None) -> str:
        proc = subprocess.run(
            args, env={**os.environ, **self.env}, input=stdin, capture_output=True, text=True, timeout=60
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {proc.stdout}{proc.stderr}")
        return proc.stdout

    def kadmin(self, query: str) -> str:
        return self.run(_tool("kadmin.local"), "-r", REALM, "-q", query)

    @classmethod
    def start(cls, root: Path) -> Kdc:
        root.mkdir(parents=True, exist_ok=True)
        kdc = cls(root, _free_port())
        (root / "krb5.conf").write_text(
            f"""[libdefaults]
    default_realm = {REALM}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1
    ignore_acceptor_hostname = false
[realms]
    {REALM} = {{
        kdc = 127.0.0.1:{kdc.port}
    }}
[domain_realm]
    .wssc.test = {REALM}
    wssc.test = {REALM}
"""
        )
        (root / "kdc.conf").write_text(
            f"""[kdcdefaults]
    kdc_listen = 127.0.0.1:{kdc.port}
    kdc_tcp_listen = 127.0.0.1:{kdc.port}
[realms]
    {REALM} = {{
        database_name = {root}/principal
        key_stash_file = {root}/stash
        acl_file = {root}/kadm5.acl
        kdc_listen = 127.0.0.1:{kdc.port}
        kdc_tcp_listen = 127.0.0.1:{kdc.port}
        max_life = 1h
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }}
[logging]
    kdc = FILE:{root}/kdc.log
"""
        )
        (root / "kadm5.acl").write_text("")
        kdc.env = {
            "KRB5_CONFIG": str(root / "krb5.conf"),
            "KRB5_KDC_PROFILE": str(root / "kdc.conf"),
            "KRB5CCNAME": f"FILE:{root}/client.ccache",
            "KRB5_KTNAME": f"FILE:{kdc.service_keytab}",
            "KRB5_CLIENT_KTNAME": f"FILE:{kdc.client_keytab}",
            "KRB5RCACHEDIR": str(root),  # the replay cache of the acceptor: on, in the temp dir
        }
        kdc.run(_tool("kdb5_util"), "-r", REALM, "create", "-s", "-P", "master-Passw0rd")
        kdc.kadmin(f"addprinc -randkey {SERVICE}")
        kdc.kadmin(f"ktadd -k {kdc.stale_keytab} {SERVICE}")  # kvno 2: re-keyed below
        kdc.kadmin(f"ktadd -k {kdc.service_keytab} {SERVICE}")  # kvno 3, the one in use
        kdc.kadmin(f"addprinc -pw {PASSWORD} alice")
        kdc.kadmin("addprinc -randkey bob")
        kdc.kadmin(f"ktadd -k {kdc.client_keytab} bob")
        kdc.process = subprocess.Popen(
            [_tool("krb5kdc"), "-n", "-r", REALM],
            env={**os.environ, **kdc.env},
            stdout=subprocess.DEVNULL,
            stderr=(root / "krb5kdc.stderr").open("wb"),
        )
        kdc._wait_ready(30.0)
        return kdc

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                err = (self.root / "krb5kdc.stderr").read_text(errors="replace")
                raise RuntimeError(f"krb5kdc exited ({self.process.returncode}): {err}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)  # polling the port with a deadline, not a fixed wait
        raise RuntimeError("krb5kdc did not listen in time")

    def kinit(self, principal: str, password: str, ccache: Path) -> None:
        """A ticket-granting ticket for ``principal`` in ``ccache`` (with the real kinit)."""
        self.run(_tool("kinit"), "-c", f"FILE:{ccache}", principal, stdin=password + "\n")

    def activate(self) -> dict[str, str | None]:
        """Put ``env`` in this process's environment; returns what it replaced."""
        old = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        return old

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
