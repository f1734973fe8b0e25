"""What every China e-port cross-border (CEB) message shares: the namespace, the time format
and reading a message's root.

CEB times are local China Standard Time without an offset, `yyyyMMddHHmmss` (application
times) or `yyyyMMddHHmmssSSS` (receipt times such as the tax bill's `returnTime`); the adapters
give them the +08:00 offset and drop the milliseconds (canonical times are whole seconds).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from clients.adapters.errors import SourceProblem
from clients.adapters.safe_xml import Node, XmlLimits, read_root

CEB_NS = "http://www.chinaport.gov.cn/ceb"
CST = timezone(timedelta(hours=8), "CST")
_CEB_TIME = re.compile(r"([0-9]{14})([0-9]{3})?")
CEB_TIME_HINT = "a CEB time: yyyyMMddHHmmss or yyyyMMddHHmmssSSS, China Standard Time"


def ceb_time(text: str) -> datetime | None:
    """A CEB time as an aware datetime (+08:00), None if it is not one."""
    match = _CEB_TIME.fullmatch(text)
    if match is None:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%d%H%M%S").replace(tzinfo=CST)
    except ValueError:  # e.g. month 13
        return None


def format_ceb_time(when: datetime, millis: bool = False) -> str:
    """`when` as a CEB time in China Standard Time (the writers' side of `ceb_time`)."""
    local = when.astimezone(CST)
    return local.strftime("%Y%m%d%H%M%S") + ("000" if millis else "")


def read_message(
    data: str | bytes, message: str, limits: XmlLimits, problems: list[SourceProblem]
) -> Node:
    """The root of a CEB message `message` (e.g. "CEB621Message"), parsed safely."""
    return read_root(data, message, CEB_NS, limits, problems, prefix="ceb:")
