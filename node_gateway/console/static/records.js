// The canonical records an officer's action sends (clients/records: inspection.py and
// outcomes.py): "docType" first, then the fields in declaration order under camelCase keys,
// times as ISO 8601 to the second with their UTC offset. The gateway validates them again.

/** China Standard Time, the offset the console writes times in. */
export const CST_OFFSET = "+08:00";
const CST_MS = 8 * 3600 * 1000;

/** Now in China Standard Time as a datetime-local value (YYYY-MM-DDTHH:MM:SS). */
export function cstNow() {
  return new Date(Date.now() + CST_MS).toISOString().slice(0, 19);
}

/** A datetime-local value read as China Standard Time, as a canonical timestamp. */
export function cstTimestamp(local) {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(:\d{2})?/.exec(local || "");
  if (!match) throw new Error("a date and time is required");
  return `${match[1]}${match[2] || ":00"}${CST_OFFSET}`;
}

/** arrival: the returned parcel reached the return centre's supervised site. */
export function arrivalRecord({ returnId, centreCode, arrivedTime, logisticsNo, packageCount,
  officer }) {
  return {
    docType: "arrival",
    returnId,
    centreCode,
    arrivedTime,
    logisticsNo,
    packageCount,
    officer,
  };
}

/** inspection_report: the result of every applied line ("00" is the accepted reason code). */
export function inspectionReport({ returnId, centreCode, inspectedTime, officer, lines,
  remark }) {
  return {
    docType: "inspection_report",
    returnId,
    centreCode,
    inspectedTime,
    officer,
    lines: lines.map(({ gnum, result, reasonCode }) => ({
      gnum,
      result,
      reasonCode: result === "accepted" ? "00" : reasonCode,
      evidence: [],
    })),
    remark: remark ? remark : null,
  };
}

/** recognition: the origin's officer recognises (or disputes, saying why) the result. */
export function recognitionDecision({ returnId, originCode, decidedTime, decision, officer,
  reason }) {
  return {
    docType: "recognition",
    returnId,
    originCode,
    decidedTime,
    decision,
    mode: "officer",
    officer,
    reason: reason || "",
  };
}
