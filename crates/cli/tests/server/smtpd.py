"""A real SMTP server for the email alert test (crates/cli/tests/server/email.rs):
aiosmtpd on loopback, STARTTLS required (with the certificate the test
generated), AUTH required over TLS with one login and password. Each
authentication attempt and each message is printed as one JSON line on
stdout. It stops when its stdin closes (the test ends) or after 300 s.

usage: smtpd.py PORT CERT KEY LOGIN PASSWORD
"""

import json
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, cert, key, login, password = sys.argv[1:6]
tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
tls.load_cert_chain(cert, key)


def say(event):
    print(json.dumps(event), flush=True)


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == login.encode()
        and auth_data.password == password.encode()
    )
    say({"auth": mechanism, "ok": ok, "tls": session.ssl is not None})
    # handled=False: aiosmtpd answers itself (235, or 535 on failure).
    return AuthResult(success=ok, handled=False)


class Handler:
    async def handle_DATA(self, server, session, envelope):
        say(
            {
                "from": envelope.mail_from,
                "to": envelope.rcpt_tos,
                "tls": session.ssl is not None,
                "authenticated": bool(session.authenticated),
                "data": envelope.content.decode("utf-8", "replace"),
            }
        )
        return "250 Message accepted for delivery"


controller = Controller(
    Handler(),
    hostname="127.0.0.1",
    port=int(port),
    tls_context=tls,
    require_starttls=True,
    auth_required=True,
    auth_require_tls=True,
    authenticator=authenticator,
)
controller.start()
say({"ready": True})
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
done.wait(300)
controller.stop()
