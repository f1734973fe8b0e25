-- 0001_initial: every table the gateway needs.
--
-- Only vault_records holds raw documents (with their salts), and only as AES-256-GCM
-- ciphertext. Every other table holds ids, digests, statuses and ledger data, never personal or
-- commercial data in the clear. Conventions: times are UTC ISO 8601 text ('...Z'); JSON columns
-- are text checked with json_valid; 32-byte values (ids, digests, hashes) are lowercase hex
-- with a 0x prefix, checked by the same expression everywhere.

-- The encrypted vault (node_gateway/store/vault.py): the system of record for raw documents.
-- Rows are written once and re-encrypted on key rotation; they are never deleted.
CREATE TABLE vault_records (
    record_id  TEXT NOT NULL PRIMARY KEY CHECK (length(record_id) > 0),
    doc_type   TEXT NOT NULL CHECK (length(doc_type) > 0),
    key_id     TEXT NOT NULL CHECK (length(key_id) > 0),
    nonce      BLOB NOT NULL CHECK (typeof(nonce) = 'blob' AND length(nonce) = 12),
    ciphertext BLOB NOT NULL CHECK (typeof(ciphertext) = 'blob' AND length(ciphertext) >= 16),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX vault_records_by_doc_type ON vault_records (doc_type, record_id);
CREATE INDEX vault_records_by_key ON vault_records (key_id);

CREATE TRIGGER vault_records_never_deleted
BEFORE DELETE ON vault_records
BEGIN
    SELECT RAISE(ABORT, 'vault records are never deleted: the vault is the system of record');
END;

CREATE TRIGGER vault_records_identity_fixed
BEFORE UPDATE OF record_id, doc_type, created_at ON vault_records
WHEN NEW.record_id IS NOT OLD.record_id
  OR NEW.doc_type IS NOT OLD.doc_type
  OR NEW.created_at IS NOT OLD.created_at
BEGIN
    SELECT RAISE(ABORT, 'a vault record keeps its record_id, doc_type and created_at');
END;

-- The outbox: every accepted write becomes a row here, in the same transaction as its vault
-- records, before the API answers; a worker turns rows into ledger transactions.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL CHECK (length(kind) > 0),
    payload      TEXT NOT NULL CHECK (json_valid(payload)),
    status       TEXT NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'sent', 'confirmed', 'failed')),
    account      TEXT,
    nonce        INTEGER CHECK (nonce IS NULL OR (typeof(nonce) = 'integer' AND nonce >= 0)),
    tx_hash      TEXT CHECK (
                     tx_hash IS NULL
                     OR (length(tx_hash) = 66 AND tx_hash GLOB '0x*'
                         AND substr(tx_hash, 3) NOT GLOB '*[^0-9a-f]*')
                 ),
    block_number INTEGER CHECK (block_number IS NULL OR block_number >= 0),
    error        TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    -- A nonce belongs to an account; a sent transaction has all three; a confirmed one a block.
    CHECK (nonce IS NULL OR account IS NOT NULL),
    CHECK (status NOT IN ('sent', 'confirmed')
           OR (account IS NOT NULL AND nonce IS NOT NULL AND tx_hash IS NOT NULL)),
    CHECK (status <> 'confirmed' OR block_number IS NOT NULL)
);
-- One transaction per (account, nonce): the guard against ever sending a write twice.
CREATE UNIQUE INDEX outbox_account_nonce ON outbox (account, nonce) WHERE nonce IS NOT NULL;
CREATE UNIQUE INDEX outbox_tx_hash ON outbox (tx_hash) WHERE tx_hash IS NOT NULL;
CREATE INDEX outbox_by_status ON outbox (status, id);

-- Contract events followed by the indexer, one row per log.
CREATE TABLE ledger_index (
    block_number INTEGER NOT NULL CHECK (block_number >= 0),
    log_index    INTEGER NOT NULL CHECK (log_index >= 0),
    tx_hash      TEXT NOT NULL CHECK (
                     length(tx_hash) = 66 AND tx_hash GLOB '0x*'
                     AND substr(tx_hash, 3) NOT GLOB '*[^0-9a-f]*'
                 ),
    contract     TEXT NOT NULL,
    event        TEXT NOT NULL CHECK (length(event) > 0),
    case_id      TEXT CHECK (
                     case_id IS NULL
                     OR (length(case_id) = 66 AND case_id GLOB '0x*'
                         AND substr(case_id, 3) NOT GLOB '*[^0-9a-f]*')
                 ),
    return_id    TEXT CHECK (
                     return_id IS NULL
                     OR (length(return_id) = 66 AND return_id GLOB '0x*'
                         AND substr(return_id, 3) NOT GLOB '*[^0-9a-f]*')
                 ),
    args         TEXT NOT NULL CHECK (json_valid(args)),
    PRIMARY KEY (block_number, log_index)
);
CREATE INDEX ledger_index_by_case ON ledger_index (case_id, block_number, log_index)
    WHERE case_id IS NOT NULL;
CREATE INDEX ledger_index_by_return ON ledger_index (return_id, block_number, log_index)
    WHERE return_id IS NOT NULL;
CREATE INDEX ledger_index_by_event ON ledger_index (event, block_number, log_index);
CREATE INDEX ledger_index_by_tx ON ledger_index (tx_hash);

-- Where each follower (the indexer, the recognition engine, ...) resumes: the last block it
-- has fully processed.
CREATE TABLE index_checkpoint (
    name         TEXT NOT NULL PRIMARY KEY CHECK (length(name) > 0),
    block_number INTEGER NOT NULL CHECK (block_number >= 0)
);

-- API keys: only a hash of the secret is stored; a key is bound to one member and one role.
CREATE TABLE api_keys (
    key_id     TEXT NOT NULL PRIMARY KEY CHECK (length(key_id) > 0),
    key_hash   TEXT NOT NULL UNIQUE CHECK (length(key_hash) > 0),
    member_id  TEXT NOT NULL CHECK (length(member_id) > 0),
    role       TEXT NOT NULL
               CHECK (role IN ('officer', 'system', 'platform', 'auditor', 'admin')),
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX api_keys_by_member ON api_keys (member_id);

-- Idempotency keys of write requests. A key is scoped to the member that sent it, so two
-- members choosing the same key never see each other's responses. `response` and
-- `status_code` stay NULL while the first request is in flight.
CREATE TABLE idempotency_keys (
    key          TEXT NOT NULL CHECK (length(key) > 0),
    member_id    TEXT NOT NULL CHECK (length(member_id) > 0),
    request_hash TEXT NOT NULL,
    response     TEXT CHECK (response IS NULL OR json_valid(response)),
    status_code  INTEGER CHECK (status_code IS NULL OR status_code BETWEEN 100 AND 599),
    created_at   TEXT NOT NULL,
    PRIMARY KEY (member_id, key),
    CHECK ((response IS NULL) = (status_code IS NULL))
);
CREATE INDEX idempotency_keys_by_created ON idempotency_keys (created_at);

-- Batches of records anchored as one Merkle root (DESIGN §5); `root` is NULL while the batch
-- is still open.
CREATE TABLE batches (
    batch_id   TEXT NOT NULL PRIMARY KEY CHECK (length(batch_id) > 0),
    kind       TEXT NOT NULL CHECK (length(kind) > 0),
    root       TEXT CHECK (
                   root IS NULL
                   OR (length(root) = 66 AND root GLOB '0x*'
                       AND substr(root, 3) NOT GLOB '*[^0-9a-f]*')
               ),
    leaf_count INTEGER NOT NULL DEFAULT 0 CHECK (leaf_count >= 0),
    status     TEXT NOT NULL CHECK (length(status) > 0),
    created_at TEXT NOT NULL
);
CREATE INDEX batches_by_status ON batches (status, created_at);
CREATE INDEX batches_by_root ON batches (root) WHERE root IS NOT NULL;

-- The leaves of a batch and, once it is sealed, each leaf's proof. A leaf must name a record
-- in the vault: a leaf whose salts were lost could never be proven again.
CREATE TABLE batch_leaves (
    batch_id  TEXT NOT NULL REFERENCES batches (batch_id),
    record_id TEXT NOT NULL REFERENCES vault_records (record_id),
    leaf      TEXT NOT NULL CHECK (
                  length(leaf) = 66 AND leaf GLOB '0x*'
                  AND substr(leaf, 3) NOT GLOB '*[^0-9a-f]*'
              ),
    proof     TEXT CHECK (proof IS NULL OR (json_valid(proof) AND json_type(proof) = 'array')),
    PRIMARY KEY (batch_id, record_id)
);
CREATE INDEX batch_leaves_by_record ON batch_leaves (record_id);
CREATE INDEX batch_leaves_by_leaf ON batch_leaves (leaf);

-- Every disclosure this gateway answered (DESIGN §4): who saw which fields of which case.
-- Append-only: it is the audit trail of who saw what.
CREATE TABLE disclosure_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id    TEXT NOT NULL CHECK (
                   length(case_id) = 66 AND case_id GLOB '0x*'
                   AND substr(case_id, 3) NOT GLOB '*[^0-9a-f]*'
               ),
    requester  TEXT NOT NULL CHECK (length(requester) > 0),
    digest     TEXT NOT NULL CHECK (
                   length(digest) = 66 AND digest GLOB '0x*'
                   AND substr(digest, 3) NOT GLOB '*[^0-9a-f]*'
               ),
    fields     TEXT NOT NULL CHECK (json_valid(fields) AND json_type(fields) = 'array'),
    created_at TEXT NOT NULL
);
CREATE INDEX disclosure_log_by_case ON disclosure_log (case_id, id);
CREATE INDEX disclosure_log_by_requester ON disclosure_log (requester, id);

CREATE TRIGGER disclosure_log_no_update
BEFORE UPDATE ON disclosure_log
BEGIN
    SELECT RAISE(ABORT, 'the disclosure log is append-only');
END;

CREATE TRIGGER disclosure_log_no_delete
BEFORE DELETE ON disclosure_log
BEGIN
    SELECT RAISE(ABORT, 'the disclosure log is append-only');
END;
