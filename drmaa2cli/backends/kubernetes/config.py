"""Where the kubernetes backend finds its cluster and credentials, as kubectl does.

``$KUBECONFIG`` (a list of files separated by ``:``, merged: the first file that sets a value wins), else
``~/.kube/config``; its current context names the cluster (server, CA), the user (client certificate and key,
or a bearer token) and the default namespace. Without a kubeconfig, inside a pod, the service account's
token, CA and namespace are used. Credentials live only in memory (and, for a client key given as data, in a
private temporary file that exists while the TLS context loads it); no message names them.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import BackendUnavailable

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass(frozen=True)
class Cluster:
    """One API server and how to reach it. ``token`` is a secret: never put it in a message or a record."""

    server: str
    tls: ssl.SSLContext | bool
    token: str | None
    namespace: str
    source: str  # where this came from (a file name or "in-cluster"), for messages

    def __repr__(self) -> str:  # a dataclass repr would show the token
        return f"Cluster(server={self.server!r}, namespace={self.namespace!r}, source={self.source!r})"


class ConfigError(BackendUnavailable):
    """The kubeconfig cannot be used (missing, malformed, or asking for an authentication drmaa2 does not do)."""


def load(environ: Mapping[str, str]) -> Cluster:
    """The cluster of the current context (see the module docstring). Raises ConfigError."""
    files = _kubeconfig_files(environ)
    if files:
        return _from_kubeconfig(files)
    if environ.get("KUBERNETES_SERVICE_HOST") and (SERVICE_ACCOUNT / "token").exists():
        return _in_cluster(environ)
    raise ConfigError("no Kubernetes cluster configured: set KUBECONFIG or create ~/.kube/config")


def _kubeconfig_files(environ: Mapping[str, str]) -> list[Path]:
    listed = environ.get("KUBECONFIG")
    if listed:
        named = [Path(p) for p in listed.split(os.pathsep) if p]
        # kubectl skips listed files that do not exist; with none left, the first one's absence is the error.
        return [p for p in named if p.exists()] or named[:1]
    home = environ.get("HOME") or os.path.expanduser("~")
    default = Path(home) / ".kube" / "config"
    return [default] if default.exists() else []


def _read(path: Path) -> dict[str, Any]:
    import yaml  # only when a kubeconfig is read (~10 ms): the other backends never load it

    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as e:
        raise ConfigError(f"cannot read kubeconfig {path}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"kubeconfig {path} is not valid YAML ({type(e).__name__})") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"kubeconfig {path} is not a mapping")
    return doc


def _named(docs: list[tuple[Path, dict[str, Any]]], kind: str, name: str) -> tuple[Path, dict[str, Any]]:
    """The first entry called ``name`` in the ``kind`` list ("clusters", "users", "contexts") of the files."""
    for path, doc in docs:
        for entry in doc.get(kind) or []:
            if isinstance(entry, dict) and entry.get("name") == name:
                body = entry.get(kind[:-1]) or {}
                if not isinstance(body, dict):
                    raise ConfigError(f"kubeconfig {path}: {kind[:-1]} {name} is not a mapping")
                return path, body
    raise ConfigError(f"kubeconfig names {kind[:-1]} {name!r}, which it does not define")


def _from_kubeconfig(files: list[Path]) -> Cluster:
    docs = [(p, _read(p)) for p in files]
    current = next((d.get("current-context") for _, d in docs if d.get("current-context")), None)
    if not current:
        raise ConfigError(f"kubeconfig {':'.join(map(str, files))} has no current-context")
    _, context = _named(docs, "contexts", str(current))
    cluster_file, cluster = _named(docs, "clusters", str(context.get("cluster")))
    user_file, user = _named(docs, "users", str(context.get("user"))) if context.get("user") else (files[0], {})
    server = cluster.get("server")
    if not server:
        raise ConfigError(f"kubeconfig {cluster_file}: cluster {context.get('cluster')} has no server")
    for unsupported in ("exec", "auth-provider"):
        if user.get(unsupported):
            raise ConfigError(f"kubeconfig {user_file}: user {context.get('user')} authenticates through "
                              f"{unsupported!r}, which the kubernetes backend does not run; use a token or a "
                              f"client certificate")
    if cluster.get("insecure-skip-tls-verify"):
        tls: ssl.SSLContext = ssl.create_default_context()
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
    else:
        ca_data, ca_file = cluster.get("certificate-authority-data"), cluster.get("certificate-authority")
        tls = _context(cluster_file, ca_data, ca_file)
    _client_cert(tls, user_file, user)
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = _relative(user_file, str(user["tokenFile"])).read_text().strip()
    return Cluster(str(server).rstrip("/"), tls, str(token) if token else None,
                   str(context.get("namespace") or "default"), str(files[0]))


def _relative(base: Path, name: str) -> Path:
    # kubectl reads relative paths in a kubeconfig relative to that file's directory.
    return Path(name) if os.path.isabs(name) else base.parent / name


def _context(origin: Path, data: object, file: object) -> ssl.SSLContext:
    tls = ssl.create_default_context()
    try:
        if data:
            tls.load_verify_locations(cadata=base64.b64decode(str(data)).decode())
        elif file:
            tls.load_verify_locations(cafile=str(_relative(origin, str(file))))
    except (ValueError, OSError, ssl.SSLError) as e:
        raise ConfigError(f"kubeconfig {origin}: cannot load the cluster's CA certificate ({type(e).__name__})") \
            from None
    return tls


def _client_cert(tls: ssl.SSLContext, origin: Path, user: Mapping[str, Any]) -> None:
    cert, key = user.get("client-certificate-data"), user.get("client-key-data")
    cert_file, key_file = user.get("client-certificate"), user.get("client-key")
    if not (cert or cert_file):
        return
    try:
        if cert_file and key_file:
            tls.load_cert_chain(str(_relative(origin, str(cert_file))), str(_relative(origin, str(key_file))))
            return
        # ssl loads a certificate chain only from files: the decoded data goes to a private file for the moment
        # it takes to load it.
        with tempfile.TemporaryDirectory(prefix="drmaa2-k8s-") as d:
            pem = Path(d) / "client.pem"
            fd = os.open(pem, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(fd, "wb") as f:
                f.write(base64.b64decode(str(cert)) if cert else Path(str(cert_file)).read_bytes())
                f.write(b"\n")
                f.write(base64.b64decode(str(key)) if key else _relative(origin, str(key_file)).read_bytes())
            tls.load_cert_chain(str(pem))
    except (ValueError, OSError, ssl.SSLError) as e:
        raise ConfigError(f"kubeconfig {origin}: cannot load the user's client certificate ({type(e).__name__})") \
            from None


def _in_cluster(environ: Mapping[str, str]) -> Cluster:
    host, port = environ["KUBERNETES_SERVICE_HOST"], environ.get("KUBERNETES_SERVICE_PORT", "443")
    if ":" in host:
        host = f"[{host}]"
    tls = ssl.create_default_context(cafile=str(SERVICE_ACCOUNT / "ca.crt"))
    token = (SERVICE_ACCOUNT / "token").read_text().strip()
    ns_file = SERVICE_ACCOUNT / "namespace"
    namespace = ns_file.read_text().strip() if ns_file.exists() else "default"
    return Cluster(f"https://{host}:{port}", tls, token, namespace, "in-cluster")
