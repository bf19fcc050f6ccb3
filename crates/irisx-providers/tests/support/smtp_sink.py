"""An SMTP server for IRISX's SMTP suite, on aiosmtpd (pip install aiosmtpd).

Each message it takes is saved in --dir as NNNN.eml (the bytes as received) with NNNN.json (the envelope);
`connections` there counts the EHLOs, i.e. the SMTP sessions opened. A recipient `reply-XYZ@...` is refused
at RCPT with the reply code XYZ, so the suite can check how replies are classified. With --cert and --key it
speaks TLS: --tls starttls requires STARTTLS, --tls implicit wraps the connection from the first byte. It prints
READY once it listens and runs until it is killed.
"""

import argparse
import asyncio
import json
import os
import signal
import ssl

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.connections = 0

    def _write(self, name, data):
        tmp = os.path.join(self.directory, name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(self.directory, name))

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        self.connections += 1
        self._write("connections", str(self.connections).encode())
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("reply-") and local[6:9].isdigit():
            code = local[6:9]
            return f"{code} {code[0]}.0.0 the IRISX test sink answers {code}"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = f"{self.count:04d}"
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}
        self._write(name + ".json", json.dumps(meta).encode())
        self._write(name + ".eml", envelope.original_content)
        return "250 2.0.0 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()
    options = {}
    if args.tls != "none":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        if args.tls == "starttls":
            options = {"tls_context": context, "require_starttls": True}
        else:
            options = {"ssl_context": context}
    controller = Controller(Sink(args.dir), hostname="127.0.0.1", port=args.port, **options)
    controller.start()
    print("READY", flush=True)
    loop = asyncio.new_event_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    loop.run_until_complete(stop)
    controller.stop()


if __name__ == "__main__":
    main()
