-- 0008_retries_and_repeats: per-return retry state of the followers that ask other gateways,
-- and every answer the peer API gave, so that a repeated request reuses its logged disclosure.
--
-- follow_retries: a return the recognition engine (origin) or the expectations follower
-- (return centre) could not finish — its peer could not be reached, refused, or anything else
-- failed for this return alone. Each return retries on its own schedule (attempts, next
-- attempt, last error), so it never holds back another; after the configured number of
-- attempts it is given up: a dispute for an officer (recognition) or an expectations problem
-- in the centre's view (expectations). `next_attempt_at` is Unix seconds.
CREATE TABLE follow_retries (
    follower        TEXT NOT NULL CHECK (follower IN ('recognition', 'expectations')),
    return_id       TEXT NOT NULL CHECK (length(return_id) = 66),
    status          TEXT NOT NULL CHECK (status IN ('retrying', 'gave_up')),
    attempts        INTEGER NOT NULL CHECK (attempts >= 1),
    next_attempt_at REAL NOT NULL,
    last_error      TEXT NOT NULL,
    first_failed_at TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (follower, return_id)
);
CREATE INDEX follow_retries_due ON follow_retries (follower, status, next_attempt_at);

-- peer_answers: each answer to a peer request, pointing at the disclosure it delivered. The
-- first answer of a disclosure logs it (disclosure_log + one `disclose` ledger write,
-- repeated = 0); an identical request (same requester, subject, document type and disclosed
-- content, i.e. digest) within the repeat window gets that same disclosure again
-- (repeated = 1): re-sealed to the requester, no new log entry, no new transaction.
-- `answered_at` is Unix seconds.
CREATE TABLE peer_answers (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    disclosure_id INTEGER NOT NULL REFERENCES disclosure_log (id),
    requester     TEXT NOT NULL CHECK (length(requester) = 66),
    subject       TEXT NOT NULL CHECK (length(subject) = 66),
    doc_type      TEXT NOT NULL CHECK (length(doc_type) BETWEEN 1 AND 64),
    digest        TEXT NOT NULL CHECK (length(digest) = 66),
    repeated      INTEGER NOT NULL CHECK (repeated IN (0, 1)),
    answered_at   INTEGER NOT NULL
);
CREATE INDEX peer_answers_by_request
    ON peer_answers (requester, subject, doc_type, digest, repeated, answered_at);
