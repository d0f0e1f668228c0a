"""A local RFC 3161 timestamp authority on 127.0.0.1 for tests.

It answers `application/timestamp-query` POSTs with real signed TimeStampResp messages (RFC 3161, with
the RFC 5816 signing-certificate attribute, so `openssl ts -verify` accepts them), signed by a throwaway
P-256 key whose self-signed timestamping certificate is made when the authority starts.
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from werkzeug import Request, Response

from tests.support.servers import QuickServer

POLICY = "2.999.1"  # under the ITU-T/ISO "example" arc: a policy no real TSA uses


def make_certificate(
    key: ec.EllipticCurvePrivateKey, name: str = "watcher test TSA", usage: bool = True
) -> x509.Certificate:
    """A self-signed certificate for `key`; with `usage`, marked for timestamping only (RFC 3161 2.3)."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    if usage:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    return builder.sign(key, hashes.SHA256())


class LocalTsa:
    """`url` takes timestamp queries. `down` answers 503; `wrong_imprint` stamps another hash (a broken
    or hostile authority); `requests` counts the queries received."""

    def __init__(self, *, usage: bool = True) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = make_certificate(self.key, usage=usage)
        self.cert_der = self.cert.public_bytes(serialization.Encoding.DER)
        self.down = False
        self.wrong_imprint = False
        self.requests = 0
        self._serials = itertools.count(1)
        self.server = QuickServer(host="127.0.0.1", port=0, threaded=True)
        self.server.expect_request("/tsr", method="POST").respond_with_handler(self._handle)
        self.server.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/tsr"

    def write_certificate(self, path: Path) -> Path:
        path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        return path

    def _handle(self, request: Request) -> Response:
        self.requests += 1
        if self.down:
            return Response("timestamping is down for maintenance", status=503)
        if request.content_type != "application/timestamp-query":
            return Response("expected application/timestamp-query", status=415)
        query = tsp.TimeStampReq.load(request.get_data())
        reply = tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": self.token(query)})
        return Response(reply.dump(), status=200, content_type="application/timestamp-reply")

    def token(self, query: tsp.TimeStampReq) -> cms.ContentInfo:
        imprint = query["message_imprint"]
        if self.wrong_imprint:
            imprint = {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": hashlib.sha256(b"?").digest(),
            }
        info = tsp.TSTInfo(
            {
                "version": 1,
                "policy": POLICY,
                "message_imprint": imprint,
                "serial_number": next(self._serials),
                "gen_time": datetime.now(UTC),
                "nonce": query["nonce"],
            }
        )
        return self._signed(info.dump())

    def _signed(self, content: bytes) -> cms.ContentInfo:
        cert = asn1_x509.Certificate.load(self.cert_der)
        attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
                cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(content).digest()]}),
                cms.CMSAttribute(
                    {
                        "type": "signing_certificate_v2",
                        "values": [{"certs": [{"cert_hash": hashlib.sha256(self.cert_der).digest()}]}],
                    }
                ),
            ]
        )
        # Signed as a SET OF (tag 0x31), carried as [0] IMPLICIT (RFC 5652 5.4).
        signature = self.key.sign(b"\x31" + attrs.dump()[1:], ec.ECDSA(hashes.SHA256()))
        signer = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    {"issuer_and_serial_number": {"issuer": cert.issuer, "serial_number": cert.serial_number}}
                ),
                "digest_algorithm": {"algorithm": "sha256"},
                "signed_attrs": attrs,
                "signature_algorithm": {"algorithm": "sha256_ecdsa"},
                "signature": signature,
            }
        )
        signed = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": [{"algorithm": "sha256"}],
                "encap_content_info": {"content_type": "tst_info", "content": tsp.TSTInfo.load(content)},
                "certificates": [cert],
                "signer_infos": [signer],
            }
        )
        return cms.ContentInfo({"content_type": "signed_data", "content": signed})

    def stop(self) -> None:
        self.server.clear()
        if self.server.is_running():
            self.server.stop()
