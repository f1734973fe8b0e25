-- 0004_expected_goods: what the return centre expects at inspection, per return: the goods
-- lines of the case as its origin disclosed them (no buyer, no prices), the quantities
-- applied for, and any mismatch found. Goods data only (the return centre's policy).
CREATE TABLE expected_goods (
    return_id  TEXT NOT NULL PRIMARY KEY CHECK (length(return_id) = 66),
    case_id    TEXT NOT NULL CHECK (length(case_id) = 66),
    lines      TEXT NOT NULL CHECK (json_valid(lines) AND json_type(lines) = 'array'),
    problems   TEXT NOT NULL CHECK (json_valid(problems) AND json_type(problems) = 'array'),
    digest     TEXT NOT NULL CHECK (length(digest) = 66),
    fetched_at TEXT NOT NULL
);
