"""The fetcher (`extractors.http.Fetcher`, aiohttp underneath) over TLS: a real HTTPS server on
127.0.0.1 with a certificate made for the test. Trusted, pages come back over one kept-alive
connection; untrusted (the default trust, certifi's bundle), the fetch fails with the reason."""
import asyncio
import datetime
import ipaddress
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from extractors.http import Fetcher, FetchRequest, TEMPORARY
from seedwatch.config import FetchConfig

CFG = FetchConfig(allow_private_addresses=True, retries=0, connect_timeout_seconds=5,
                  read_timeout_seconds=5, total_timeout_seconds=10)


def _certificate(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class _Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive: the second request reuses the connection

    def do_GET(self):
        body = f"hello over tls {self.path} from port {self.client_address[1]}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def tls_server(tmp_path):
    cert, key = _certificate(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], cert
    server.shutdown()
    server.server_close()


def _fetch_two(port, context=None):
    async def go():
        async with Fetcher(CFG, ssl_context=context) as fetcher:
            first = await fetcher.fetch(FetchRequest(f"https://127.0.0.1:{port}/a"))
            second = await fetcher.fetch(FetchRequest(f"https://127.0.0.1:{port}/b"))
            return first, second
    return asyncio.run(go())


def test_https_pages_come_back_over_one_connection(tls_server):
    port, cert = tls_server
    first, second = _fetch_two(port, ssl.create_default_context(cafile=str(cert)))
    assert (first.outcome, first.status, second.outcome, second.status) == ("ok", 200, "ok", 200)
    assert first.content.startswith(b"hello over tls /a from port ")
    assert second.content.startswith(b"hello over tls /b from port ")
    # the same client port twice: the connection was kept alive and reused
    assert first.content.rsplit(b" ", 1)[1] == second.content.rsplit(b" ", 1)[1]


def test_an_untrusted_certificate_fails_the_fetch_with_the_reason(tls_server):
    port, _ = tls_server
    first, _ = _fetch_two(port)  # default trust: certifi's bundle does not know the test's CA
    assert first.outcome == "failed" and first.content is None
    assert first.error_class == TEMPORARY
    assert first.error.startswith("connection failed")
    assert "certificate" in first.error.lower()
