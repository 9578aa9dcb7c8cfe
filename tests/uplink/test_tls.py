"""HTTPS: the uploader trusts the CA from the station config and nothing else."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agent.report.samples import sample_report
from agent.uplink.client import UplinkConfig, Uploader, flush
from agent.uplink.outbox import Outbox
from agent.uplink.signed import report_json, sign_report
from tests.uplink.server_process import ServerProcess

pytestmark = pytest.mark.slow


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_pki(directory: Path) -> tuple[Path, Path, Path]:
    """A private CA and a certificate for 127.0.0.1 signed by it."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Digibench test CA"))
        .issuer_name(_name("Digibench test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = (directory / n for n in ("ca.pem", "cert.pem", "key.pem"))
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_file, cert_file, key_file


def test_upload_over_tls_with_the_configured_ca(tmp_path: Path):
    ca_file, cert_file, key_file = make_pki(tmp_path)
    server = ServerProcess(tmp_path / "server", tls=(cert_file, key_file), ca_file=ca_file)
    try:
        server.start()
        st = server.add_station("bench-tls")
        outbox = Outbox(tmp_path / "outbox")
        entry = outbox.put(report_json(sign_report(sample_report(1, station=st.name), st.key)))
        untrusting = Uploader(
            UplinkConfig(server_url=server.url, token=st.token, retries=1, backoff_s=0.05)
        )
        result = flush(outbox, untrusting)
        assert result.error and "SSL" in result.error
        assert [e.report_id for e in outbox.pending()] == [entry.report_id]
        trusting = Uploader(UplinkConfig(server_url=server.url, token=st.token, ca_file=ca_file))
        assert flush(outbox, trusting).acknowledged == [entry.report_id]
        assert server.count() == 1
        # serve --certfile turns on HSTS and Secure cookies
        login = requests.get(f"{server.url}/accounts/login/", verify=str(ca_file), timeout=10)
        assert "max-age=" in login.headers["Strict-Transport-Security"]
        assert "secure" in login.headers["Set-Cookie"].lower()
    finally:
        server.drop()
