"""The fetcher's network layer (extractors.netstream) over TLS: a real HTTPS server on
127.0.0.1 with a certificate made for the test, reached through httpcore's pool on the
asyncio backend, as `extractors.http.Fetcher` reaches real feeds."""
import asyncio
import datetime
import ipaddress
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpcore
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from extractors.netstream import AsyncioBackend


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
    protocol_version = "HTTP/1.1"   # keep-alive, so the pool's idle check is exercised

    def do_GET(self):
        body = f"hello over tls {self.path}".encode()
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


def test_https_requests_through_the_asyncio_backend(tls_server):
    port, cert = tls_server

    async def fetch():
        context = ssl.create_default_context(cafile=str(cert))
        async with httpcore.AsyncConnectionPool(ssl_context=context,
                                                network_backend=AsyncioBackend()) as pool:
            first = await pool.request("GET", f"https://127.0.0.1:{port}/a")
            second = await pool.request("GET", f"https://127.0.0.1:{port}/b")
            return first.status, first.content, second.status, second.content

    assert asyncio.run(fetch()) == (200, b"hello over tls /a", 200, b"hello over tls /b")


def test_an_untrusted_certificate_is_a_connect_error(tls_server):
    port, _ = tls_server

    async def fetch():
        async with httpcore.AsyncConnectionPool(ssl_context=ssl.create_default_context(),
                                                network_backend=AsyncioBackend()) as pool:
            await pool.request("GET", f"https://127.0.0.1:{port}/")

    with pytest.raises(httpcore.ConnectError):
        asyncio.run(fetch())
