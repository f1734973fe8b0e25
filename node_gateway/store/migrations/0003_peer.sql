-- 0003_peer: replay protection of gateway-to-gateway requests, and the recognition engine's
-- position. A signed peer request carries a nonce; a nonce seen before (within the freshness
-- window, after which the timestamp alone refuses it) is a replay.
CREATE TABLE peer_nonces (
    requester  TEXT NOT NULL CHECK (length(requester) = 66),
    nonce      TEXT NOT NULL CHECK (length(nonce) = 66),
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (requester, nonce)
);
CREATE INDEX peer_nonces_by_expiry ON peer_nonces (expires_at);
