"""A real RQ worker (`worker`) or web process (`web`) whose partners import waits at a file
gate (GATE_DIR) after writing its first batch, so that a test can SIGKILL it half-way.

`web` confirms import IMPORT_ID as ADMIN_EMAIL through the app (no Redis: the job goes to a
background thread of this process), prints the answer's status and stays up until killed.
"""

from __future__ import annotations

import os
import sys
import threading

from tests.core.helpers import FileGate
from tests.exchange.helpers import hold_at_gate


def main(mode: str) -> int:
    from crm.partners.exchange import PARTNERS

    hold_at_gate(PARTNERS, "write", FileGate(os.environ["GATE_DIR"]), after_calls=1)
    if mode == "worker":
        import worker

        return worker.main([])
    from crm import create_app

    app = create_app({"WTF_CSRF_ENABLED": False})
    client = app.test_client()
    login = client.post(
        "/auth/login",
        data={"email": os.environ["ADMIN_EMAIL"], "password": os.environ["ADMIN_PASSWORD"]},
    )
    answer = client.post(f"/exchange/{os.environ['IMPORT_ID']}/confirm")
    print("login", login.status_code, "confirm", answer.status_code, flush=True)
    threading.Event().wait()  # the web process lives on, its job thread at the gate
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
