-- 0005_anchored_roots_per_area: TaxAnchor keys roots by (anchoring area, root), so the index of
-- anchored roots does too: a root another area anchored (the same bytes, e.g. copied from this
-- area's pending transaction) is not this area's, and a return centre checks a case's root
-- under the case's origin. Filled from the RootAnchored events indexed so far.
CREATE TABLE anchored_roots (
    area_code    INTEGER NOT NULL CHECK (area_code BETWEEN 1 AND 65535),
    root         TEXT NOT NULL CHECK (
                     length(root) = 66 AND root GLOB '0x*'
                     AND substr(root, 3) NOT GLOB '*[^0-9a-f]*'
                 ),
    kind         INTEGER NOT NULL,
    leaf_count   INTEGER NOT NULL,
    block_number INTEGER NOT NULL,
    tx_hash      TEXT NOT NULL,
    PRIMARY KEY (area_code, root)
);
INSERT OR IGNORE INTO anchored_roots (area_code, root, kind, leaf_count, block_number, tx_hash)
    SELECT json_extract(args, '$.areaCode'), lower(json_extract(args, '$.root')),
           json_extract(args, '$.kind'), json_extract(args, '$.leafCount'), block_number, tx_hash
    FROM ledger_index WHERE event = 'RootAnchored' ORDER BY block_number, log_index;

-- A batch whose anchoring the contract refused for the batch itself is not sent again: its
-- records are committed again under fresh salts into a new batch, which `rebuilt_as` names.
ALTER TABLE batches ADD COLUMN rebuilt_as TEXT REFERENCES batches (batch_id);
