-- 0009_disclosure_commitments: a disclosure's ledger entry names the requester only by a salted
-- commitment keccak256(requester ‖ salt) and names the document it covered (ReturnLedger's
-- `logDisclosure`). The holder keeps the salt here, beside the requester it hides, to show an
-- auditor on demand; `documents` are the digests of the documents the answer covered.
ALTER TABLE disclosure_log ADD COLUMN requester_salt TEXT
    CHECK (requester_salt IS NULL OR (length(requester_salt) = 66 AND requester_salt GLOB '0x*'));
ALTER TABLE disclosure_log ADD COLUMN documents TEXT NOT NULL DEFAULT '[]'
    CHECK (json_valid(documents) AND json_type(documents) = 'array');
