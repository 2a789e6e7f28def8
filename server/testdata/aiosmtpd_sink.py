"""A real SMTP server for Latchkey's tests: aiosmtpd (Debian's python3-aiosmtpd).

Usage: /usr/bin/python3 aiosmtpd_sink.py HOST PORT OUTDIR CERT KEY USER PASSWORD

It requires STARTTLS (with CERT and KEY, PEM) and AUTH (USER and PASSWORD,
only after STARTTLS), and writes each message as OUTDIR/NNNNNN.eml (the data
as received) beside NNNNNN.rcpt (the envelope recipients, one a line); the
.eml appears last and whole (written aside, then renamed), before the 250
reply. It prints "ready" once it listens and stops when stdin closes.
"""
import os
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

host, port, outdir, cert, key, user, password = sys.argv[1:8]


class Sink:
    def __init__(self):
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        base = os.path.join(outdir, "%06d" % self.n)
        with open(base + ".rcpt", "w") as f:
            f.write("\n".join(envelope.rcpt_tos) + "\n")
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".tmp", base + ".eml")
        return "250 OK"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and auth_data.login == user.encode() and auth_data.password == password.encode())
    return AuthResult(success=ok, handled=False)


ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
c = Controller(Sink(), hostname=host, port=int(port), tls_context=ctx, require_starttls=True,
               authenticator=authenticate, auth_required=True, auth_require_tls=True)
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
