"""A loopback SMTP server for Auth Engine's tests, built on aiosmtpd (the maintained asyncio SMTP
server from the aio-libs project).

    python3 tests/smtp_sink.py DIR PORT [--auth USER:PASSWORD] [--cert CERT --key KEY]
                               [--implicit-tls] [--reject CODE]

Listens on 127.0.0.1:PORT and prints "ready" once it does. With --cert/--key it offers STARTTLS
and requires it (or, with --implicit-tls, speaks TLS from the first byte). With --auth it requires
that login. With --reject it answers every message with CODE. Each accepted message is written to
DIR/NNNN.json: the envelope, whether TLS and AUTH were used, every header, and each text part
decoded, so tests need no MIME parser of their own.
"""

import argparse
import email
import email.policy
import json
import pathlib
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, directory, reject):
        self.directory = pathlib.Path(directory)
        self.reject = reject
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.reject:
            return f"{self.reject} rejected by the test sink"
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        parts = {}
        for part in message.walk():
            if part.get_content_maintype() == "text":
                parts[part.get_content_type()] = part.get_content()
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
            "headers": {key.lower(): str(value) for key, value in message.items()},
            "content_type": message.get_content_type(),
            "parts": parts,
        }
        with self.lock:
            self.count += 1
            path = self.directory / f"{self.count:04}.json"
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(record))
        partial.rename(path)
        return "250 OK"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("port", type=int)
    parser.add_argument("--auth")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--reject")
    args = parser.parse_args()

    options = {}
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        if args.implicit_tls:
            options["ssl_context"] = context
        else:
            options["tls_context"] = context
            options["require_starttls"] = True
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticate(server, session, envelope, mechanism, data):
            ok = (
                isinstance(data, LoginPassword)
                and data.login.decode() == user
                and data.password.decode() == password
            )
            return AuthResult(success=ok)

        options["authenticator"] = authenticate
        options["auth_required"] = True
        options["auth_require_tls"] = bool(args.cert)

    controller = Controller(
        Sink(args.directory, args.reject), hostname="127.0.0.1", port=args.port, **options
    )
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()  # runs until the test closes our stdin or kills us
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
