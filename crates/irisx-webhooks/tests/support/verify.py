"""Verifies one webhook with the reference Standard Webhooks library (PyPI `standardwebhooks`), independent
of IRISX's own signing code.

Reads {"secret": "whsec_...", "headers": {name: value}, "body_b64": "..."} on stdin and prints
{"verified": true} or {"verified": false, "reason": "..."}. Exits 3 when the library is missing.
"""

import base64
import json
import sys

try:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError
except ImportError as missing:
    print(f"the standardwebhooks package is missing ({missing}): pip install standardwebhooks", file=sys.stderr)
    sys.exit(3)


def main() -> None:
    message = json.load(sys.stdin)
    body = base64.b64decode(message["body_b64"])
    try:
        Webhook(message["secret"]).verify(body, message["headers"], json_parse=False)
    except (WebhookVerificationError, ValueError) as refused:
        # ValueError covers a signature that is no longer base64 and a body that is no longer UTF-8.
        print(json.dumps({"verified": False, "reason": f"{type(refused).__name__}: {refused}"}))
        return
    print(json.dumps({"verified": True}))


main()
