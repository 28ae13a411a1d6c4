"""A throwaway CA and a server certificate it signs, for test servers that speak TLS.

Used by the tests' S3 server (tests/playbooks/s3.py) and the local cache's TLS Redis
(tests/app/test_local_cache.py): clients are then pointed at the CA file, as the hosts'
clients are pointed at the platform's CA.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class ServerCertificate:
    ca: Path  # the CA's certificate (PEM), for clients
    certificate: Path  # the server's (PEM)
    key: Path  # the server's private key (PEM, 0600)


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name | None,
    signer: ec.EllipticCurvePrivateKey,
    addresses: list[str] | None,
) -> x509.Certificate:
    """A CA's certificate when ADDRESSES is None, else a server's for those IP addresses."""
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=addresses is None, path_length=None), True)
    )
    if addresses is not None:
        names = [x509.IPAddress(ipaddress.ip_address(address)) for address in addresses]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(signer, hashes.SHA256())


def server_certificate(directory: Path, addresses: list[str]) -> ServerCertificate:
    """A new CA, and a certificate it signs for ADDRESSES, written into DIRECTORY."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("orgo test CA", ca_key, None, ca_key, None)
    key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate(addresses[0], key, ca.subject, ca_key, addresses)
    files = ServerCertificate(
        directory / "ca.crt", directory / "server.crt", directory / "server.key"
    )
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.certificate.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    files.key.touch(mode=0o600)
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files
