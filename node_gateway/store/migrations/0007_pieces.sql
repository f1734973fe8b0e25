-- 0007_pieces: piece counts per line (DESIGN §4: small integers naming no goods, price or
-- person). A tax record keeps its declared pieces (lines 1..n, the case header's `pieces`); the
-- index keeps what the ledger says of each case and return: declared pieces per line of a case,
-- and per return the pieces applied, accepted and settled of each line, as {"gnum": pieces}.
ALTER TABLE tax_records ADD COLUMN pieces TEXT
    CHECK (pieces IS NULL OR (json_valid(pieces) AND json_type(pieces) = 'array'));
ALTER TABLE cases_view ADD COLUMN declared TEXT NOT NULL DEFAULT '[]'
    CHECK (json_valid(declared) AND json_type(declared) = 'array');
ALTER TABLE returns_view ADD COLUMN pieces TEXT NOT NULL DEFAULT '{}'
    CHECK (json_valid(pieces) AND json_type(pieces) = 'object');
ALTER TABLE returns_view ADD COLUMN accepted_pieces TEXT NOT NULL DEFAULT '{}'
    CHECK (json_valid(accepted_pieces) AND json_type(accepted_pieces) = 'object');
ALTER TABLE returns_view ADD COLUMN settled_pieces TEXT NOT NULL DEFAULT '{}'
    CHECK (json_valid(settled_pieces) AND json_type(settled_pieces) = 'object');
