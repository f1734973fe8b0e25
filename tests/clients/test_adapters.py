"""The SDK's source-format readers on their own: a return enterprise reads its CEB625 return
list with clients.adapters in a process that never imports the gateway (or web3), and the
refusals are the SDK's own errors with the gateway's stable codes. The readers' rules are
played in full in tests/gateway/test_adapters.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from clients.adapters import AdapterError, InvalidXml, read_return_applications
from clients.errors import CrossReturnError

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "ceb" / "ceb625_return.xml"
EXPECTED = ROOT / "tests" / "fixtures" / "ceb" / "ceb625_return.expected.json"

# Runs in a fresh interpreter: prints the records read, then which heavy packages got imported.
READ_ALONE = """
import json, sys
from clients.adapters import read_return_applications
records = read_return_applications(open(sys.argv[1], "rb").read())
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"node_gateway", "web3", "fastapi"})
print(json.dumps({"records": records, "loaded": loaded}))
"""


def test_read_ceb625_without_gateway_imports_no_gateway() -> None:
    done = subprocess.run(
        [sys.executable, "-c", READ_ALONE, str(FIXTURE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["loaded"] == []
    assert out["records"] == json.loads(EXPECTED.read_text(encoding="utf-8"))


def test_read_ceb625_with_dtd_raises_sdk_error_with_stable_code() -> None:
    message = FIXTURE.read_text(encoding="utf-8").replace(
        "<ceb:CEB625Message", '<!DOCTYPE x [<!ENTITY e "e">]>\n<ceb:CEB625Message', 1
    )
    with pytest.raises(InvalidXml) as caught:
        read_return_applications(message)
    error = caught.value
    assert isinstance(error, AdapterError) and isinstance(error, CrossReturnError)
    assert (error.code, error.status) == ("invalid_xml", 422)
    assert error.rules == [("", "dtd_forbidden")]
    assert (
        str(error)
        == "invalid XML: 1 problem: <document>: dtd_forbidden: a DOCTYPE / DTD is not allowed"
    )
