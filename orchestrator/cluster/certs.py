"""The course's own certificate authority, and the certificates of the cluster's three roles (README, Grading
on the lab PCs).

A Dask scheduler runs whatever it is sent on every worker, and the workers run untrusted student code: only
the grader may give them work. So the cluster speaks TLS only, both ways (Dask's `Security` with
`require_encryption`: every listener asks for the peer's certificate, `ssl.CERT_REQUIRED`), and trusts one CA,
the course's, made here, never a public one (any certificate a public CA signed would be let in):
- `ca.pem` (every machine) and `ca-key.pem` (the instructor's alone: no machine of the cluster needs it; whoever
  has it can make certificates the cluster accepts);
- `scheduler.pem`/`scheduler-key.pem`, `worker.pem`/`worker-key.pem` (every lab machine the same),
  `client.pem`/`client-key.pem` (the grader's).
The choices: ECDSA P-256 keys (small, fast handshakes, in every TLS library), SHA-256 signatures, TLS 1.3 only
(both ends are ours), a CA that can sign only end certificates (path length 0), each end certificate for both
server and client authentication (a worker listens to its peers and connects to the scheduler; Dask checks no
host name: `check_hostname` is off, so the names in subjectAltName are for the eye). Keys are written 0600,
the folder 0700, and a key others can read is refused when loaded. What TLS cannot do here: Dask gives every
certificate of the CA the same rights, so a worker's key could give work too: keep it readable by the
worker's user only, on the machine, never in a lab (no lab container mounts it).
"""
from __future__ import annotations

import datetime
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ..base.errors import InvalidInput

ROLES = ("scheduler", "worker", "client")
CA_CERT, CA_KEY = "ca.pem", "ca-key.pem"
#: how long the certificates last by default: a course's year
DEFAULT_DAYS = 400


def cert_name(role: str) -> str:
    return f"{role}.pem"


def key_name(role: str) -> str:
    return f"{role}-key.pem"


def all_files() -> list[str]:
    return [CA_CERT, CA_KEY] + [n for role in ROLES for n in (cert_name(role), key_name(role))]


def make(folder: str | Path, *, days: int = DEFAULT_DAYS, names: tuple[str, ...] = (),
         course: str = "socklab") -> list[Path]:
    """The CA and one certificate per role in `folder` (made if missing); InvalidInput if any of the files is
    there already (a CA is made once: a new one must be handed to every machine). `names`: host names or
    addresses written in the certificates' subjectAltName. The files written, in order."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = Path(folder)
    existing = [folder / n for n in all_files() if (folder / n).exists()]
    if existing:
        raise InvalidInput(f"{existing[0]} exists: the course's CA is made once, and every machine trusts it; "
                           "give another folder (or remove this one, then hand every machine the new files)")
    if days < 1:
        raise InvalidInput(f"--days {days}: the certificates must last at least 1 day")
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as e:
        raise InvalidInput(f"{folder}: cannot make the folder: {e.strerror or e}") from None
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)  # clocks differ a little
    until = now + datetime.timedelta(days=days)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, course),
                          x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name(f"{course} cluster CA")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(until)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    written = [_write(folder / CA_CERT, ca.public_bytes(serialization.Encoding.PEM), secret=False),
               _write(folder / CA_KEY, _key_bytes(ca_key), secret=True)]
    alt = _alt_names(names)
    for role in ROLES:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (x509.CertificateBuilder().subject_name(name(f"{course} {role}")).issuer_name(ca_name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now).not_valid_after(until)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                                key_encipherment=False, data_encipherment=False, key_agreement=True,
                                                key_cert_sign=False, crl_sign=False, encipher_only=False,
                                                decipher_only=False), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                         ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                                  critical=False))
        if alt:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        written += [_write(folder / cert_name(role), cert.public_bytes(serialization.Encoding.PEM), secret=False),
                    _write(folder / key_name(role), _key_bytes(key), secret=True)]
    return written


def _key_bytes(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _alt_names(names: tuple[str, ...]) -> list:
    import ipaddress

    from cryptography import x509

    alt: list = []
    for text in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(text)))
        except ValueError:
            alt.append(x509.DNSName(text))
    return alt


def _write(path: Path, data: bytes, *, secret: bool) -> Path:
    """A new file (never over another), 0600 for a key from its creation on, 0644 for a certificate."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


@dataclass(frozen=True)
class RoleFiles:
    """The files one role of the cluster needs: the CA's certificate, its own certificate and key."""

    role: str
    ca: Path
    cert: Path
    key: Path


def role_files(folder: str | Path, role: str) -> RoleFiles:
    """The files of `role` in `folder`, checked: each there, and the key readable by its owner only;
    InvalidInput naming the file and what would be right otherwise."""
    folder = Path(folder)
    files = RoleFiles(role, folder / CA_CERT, folder / cert_name(role), folder / key_name(role))
    for path in (files.ca, files.cert, files.key):
        if not path.is_file():
            raise InvalidInput(f"--certs {folder}: {path.name} is missing (a {role} needs {CA_CERT}, "
                               f"{cert_name(role)} and {key_name(role)}; `socklab cluster certs DIR` makes them)")
    mode = stat.S_IMODE(files.key.stat().st_mode)
    if mode & 0o077:
        raise InvalidInput(f"{files.key}: others may read this key (mode {mode:04o}): `chmod 600 {files.key}`")
    return files


def security(folder: str | Path, role: str):
    """Dask's Security for `role` (scheduler, worker or client) from the certificates in `folder`: TLS only,
    TLS 1.3, the peer's certificate required and checked against the course's CA."""
    import ssl

    from distributed.security import Security

    files = role_files(folder, role)
    return Security(require_encryption=True, tls_ca_file=str(files.ca), tls_min_version=ssl.TLSVersion.TLSv1_3,
                    **{f"tls_{role}_cert": str(files.cert), f"tls_{role}_key": str(files.key)})
