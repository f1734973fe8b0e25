"""Case and return ids at the API boundary have one spelling, lowercase 0x-hex: an id spelt
any other way (upper-case, padded) is refused as an invalid request, not looked up."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.utils.gateway import CENTRE, NINGBO, Case, GatewayWorld, assert_problem

RESPELT = {
    "upper_case": lambda v: "0x" + v[2:].upper(),
    "upper_prefix": lambda v: "0X" + v[2:],
    "trailing_space": lambda v: v + " ",
    "trailing_newline": lambda v: v + "\n",
    "leading_tab": lambda v: "\t" + v,
}


@pytest.fixture(scope="module")
def case(gw: GatewayWorld) -> Case:
    (case,) = gw.anchored_cases()
    return case


@pytest.mark.parametrize("spelling", sorted(RESPELT))
@pytest.mark.parametrize(
    ("code", "path"),
    [
        (NINGBO, "/v1/cases/{}/header"),
        (NINGBO, "/v1/cases/{}"),
        (NINGBO, "/v1/cases/{}/trail"),
        (CENTRE, "/v1/returns/{}"),
    ],
)
def test_get_by_id_spelt_otherwise_is_refused(
    gw: GatewayWorld, case: Case, code: str, path: str, spelling: str
) -> None:
    assert gw.call(code, "auditor", "GET", path.format(case.case_id)).status_code in (200, 404)
    respelt = quote(RESPELT[spelling](case.case_id), safe="")
    assert_problem(gw.call(code, "auditor", "GET", path.format(respelt)), 422, "invalid_request")


def test_case_header_by_lowercase_id_is_served(gw: GatewayWorld, case: Case) -> None:
    r = gw.call(NINGBO, "platform", "GET", f"/v1/cases/{case.case_id}/header")
    assert r.status_code == 200, r.text
    assert r.json()["header"]["caseId"] == case.case_id


@pytest.mark.parametrize("field", ["returnId", "caseId", "returnCentre"])
def test_application_with_upper_case_id_is_refused(
    gw: GatewayWorld, case: Case, field: str
) -> None:
    app = gw.application(case)
    app.body["terms"][field] = "0x" + app.body["terms"][field][2:].upper()
    with gw.unchanged():
        r = gw.apply(app)
    body = assert_problem(r, 422, "invalid_request")
    assert any(e["path"] == f"/terms/{field}" for e in body["errors"]), body
