-- 0002_return_flow: what the tax-record and return APIs need beyond 0001.
--
-- The outbox row is also the API's "operation": its id is what a caller polls. A sent row keeps
-- its signed raw transaction, so that after a crash the sender re-submits exactly the same bytes
-- (same nonce, same hash) instead of signing something new: nothing is ever sent twice.
ALTER TABLE outbox ADD COLUMN raw_tx BLOB;
ALTER TABLE outbox ADD COLUMN subject TEXT;
ALTER TABLE outbox ADD COLUMN requested_by TEXT;
CREATE INDEX outbox_by_subject ON outbox (subject, id) WHERE subject IS NOT NULL;

-- This area's tax assessments: the public case header of each (no personal or commercial data:
-- pseudonymous case id, member ids, release time, line count, salted digest) and where it is
-- anchored. The raw record and its salts are in vault_records under record_id.
CREATE TABLE tax_records (
    case_id       TEXT NOT NULL PRIMARY KEY CHECK (
                      length(case_id) = 66 AND case_id GLOB '0x*'
                      AND substr(case_id, 3) NOT GLOB '*[^0-9a-f]*'
                  ),
    record_id     TEXT NOT NULL UNIQUE REFERENCES vault_records (record_id),
    platform      TEXT NOT NULL CHECK (length(platform) > 0),
    release_time  INTEGER NOT NULL CHECK (release_time > 0),
    line_count    INTEGER NOT NULL CHECK (line_count BETWEEN 1 AND 255),
    record_digest TEXT NOT NULL CHECK (length(record_digest) = 66),
    leaf          TEXT NOT NULL CHECK (length(leaf) = 66),
    batch_id      TEXT NOT NULL REFERENCES batches (batch_id),
    created_at    TEXT NOT NULL
);
CREATE INDEX tax_records_by_batch ON tax_records (batch_id);
CREATE INDEX tax_records_by_platform ON tax_records (platform, created_at);

-- The documents of a case this gateway holds (its own vault records), by return.
CREATE TABLE case_documents (
    record_id  TEXT NOT NULL PRIMARY KEY REFERENCES vault_records (record_id),
    case_id    TEXT NOT NULL CHECK (length(case_id) = 66),
    return_id  TEXT CHECK (return_id IS NULL OR length(return_id) = 66),
    doc_type   TEXT NOT NULL CHECK (length(doc_type) > 0),
    digest     TEXT NOT NULL CHECK (length(digest) = 66),
    outbox_id  INTEGER REFERENCES outbox (id),
    created_at TEXT NOT NULL
);
CREATE INDEX case_documents_by_case ON case_documents (case_id, created_at);
CREATE INDEX case_documents_by_return ON case_documents (return_id, created_at)
    WHERE return_id IS NOT NULL;

-- The indexer's projection of every return on the ledger (all areas): what lists and views
-- are served from. Rebuilt from ledger_index alone; never written by the API.
CREATE TABLE returns_view (
    return_id     TEXT NOT NULL PRIMARY KEY CHECK (length(return_id) = 66),
    case_id       TEXT NOT NULL CHECK (length(case_id) = 66),
    origin_code   INTEGER NOT NULL,
    centre_code   INTEGER NOT NULL,
    platform      TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN (
                      'applied', 'arrived', 'inspected', 'disputed', 'recognized', 'settled')),
    line_mask     TEXT NOT NULL,
    accepted_mask TEXT NOT NULL DEFAULT '0',
    settled_mask  TEXT NOT NULL DEFAULT '0',
    late          INTEGER NOT NULL DEFAULT 0,
    applied_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    updated_block INTEGER NOT NULL
);
CREATE INDEX returns_view_by_state ON returns_view (state, applied_at);
CREATE INDEX returns_view_by_origin ON returns_view (origin_code, applied_at);
CREATE INDEX returns_view_by_centre ON returns_view (centre_code, applied_at);
CREATE INDEX returns_view_by_case ON returns_view (case_id);

-- Cases opened on the ledger (from CaseOpened), for views and the origin code of a case.
CREATE TABLE cases_view (
    case_id      TEXT NOT NULL PRIMARY KEY CHECK (length(case_id) = 66),
    origin_code  INTEGER NOT NULL,
    platform     TEXT NOT NULL,
    release_time INTEGER NOT NULL,
    line_count   INTEGER NOT NULL,
    opened_block INTEGER NOT NULL
);

-- A tax payment (one record of the withholding agent, covering many inventory lists) gives one
-- payment leaf per case, all naming the same vault record: batch leaves are keyed by leaf, not
-- by record. The table is rebuilt because SQLite cannot change a primary key in place.
CREATE TABLE batch_leaves_v2 (
    batch_id  TEXT NOT NULL REFERENCES batches (batch_id),
    record_id TEXT NOT NULL REFERENCES vault_records (record_id),
    leaf      TEXT NOT NULL CHECK (
                  length(leaf) = 66 AND leaf GLOB '0x*'
                  AND substr(leaf, 3) NOT GLOB '*[^0-9a-f]*'
              ),
    proof     TEXT CHECK (proof IS NULL OR (json_valid(proof) AND json_type(proof) = 'array')),
    PRIMARY KEY (batch_id, leaf)
);
INSERT INTO batch_leaves_v2 (batch_id, record_id, leaf, proof)
    SELECT batch_id, record_id, leaf, proof FROM batch_leaves;
DROP TABLE batch_leaves;
ALTER TABLE batch_leaves_v2 RENAME TO batch_leaves;
CREATE INDEX batch_leaves_by_record ON batch_leaves (record_id);
CREATE INDEX batch_leaves_by_leaf ON batch_leaves (leaf);

-- Tax payments of this area's cases: the payment record (vault) and each case's payment leaf.
CREATE TABLE tax_payments (
    case_id        TEXT NOT NULL PRIMARY KEY REFERENCES tax_records (case_id),
    record_id      TEXT NOT NULL REFERENCES vault_records (record_id),
    payment_digest TEXT NOT NULL CHECK (length(payment_digest) = 66),
    leaf           TEXT NOT NULL UNIQUE CHECK (length(leaf) = 66),
    batch_id       TEXT NOT NULL REFERENCES batches (batch_id),
    created_at     TEXT NOT NULL
);
CREATE INDEX tax_payments_by_record ON tax_payments (record_id);
