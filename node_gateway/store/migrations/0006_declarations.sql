-- 0006_declarations: the return centre's cache of each case's declaration as its origin
-- disclosed it before the first application was relayed (services/binding.py): invtNo, order,
-- platform, agent and goods lines. A cache, not a system of record: sealed with the vault's
-- current key (AES-256-GCM, bound to the case id, digest and key id), replaced when the
-- origin discloses again, and fetched again whenever it cannot be opened (e.g. its key retired).
CREATE TABLE case_declarations (
    case_id       TEXT NOT NULL PRIMARY KEY CHECK (length(case_id) = 66),
    record_digest TEXT NOT NULL CHECK (length(record_digest) = 66),
    key_id        TEXT NOT NULL,
    nonce         BLOB NOT NULL,
    ciphertext    BLOB NOT NULL,
    fetched_at    TEXT NOT NULL
);
