// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title Types of the ReturnLedger: the public case header, the signed return application, states.
/// @notice Line masks carry line `gnum` in bit `gnum - 1` (gnum 1..128). Piece counts travel as
/// `uint32[]` arrays beside a mask: one count per set bit, in ascending `gnum` order.
interface IReturnLedger {
    /// @notice Where a return stands in its life (DESIGN §3).
    enum ReturnState {
        None,
        Applied,
        Arrived,
        Inspected,
        Disputed,
        Recognized,
        Settled
    }

    /// @notice Where one line of a return stands.
    enum LineState {
        None,
        Applied,
        Accepted,
        Rejected,
        Settled
    }

    /// @notice How a settled line's tax was treated.
    enum SettlementKind {
        None,
        NotLevied,
        Refunded
    }

    /// @notice The public header of a released inventory list, the leaf the origin anchors in an
    /// assessment batch. Holds no personal or commercial data: the case id is pseudonymous,
    /// `pieces` are the declared piece counts of lines 1..lineCount (DESIGN §4 allows them) and
    /// `recordDigest` is the salted Merkle root of the full tax assessment record.
    struct CaseHeader {
        // The pseudonymous case id (non-zero), derived by the origin from the inventory list.
        bytes32 caseId;
        // The member id of the origin customs area that released the goods.
        bytes32 originArea;
        // The member id of the platform (return enterprise) that sold them.
        bytes32 platform;
        // Release time (seconds); not after its batch was anchored.
        uint64 releaseTime;
        // Lines (gnum 1..lineCount) of the inventory list, 1..`MAX_LINES`.
        uint8 lineCount;
        // The declared piece count of each line, at least one each.
        uint32[] pieces;
        // The salted Merkle root of the full tax assessment record (non-zero).
        bytes32 recordDigest;
    }

    /// @notice What a return enterprise signs (EIP-712) when it applies for a return.
    /// `originArea` is the member id of the case's origin customs area: it binds the signature to
    /// the case header that origin anchored, so a relaying area cannot anchor a header of its own
    /// for the same case id and open the case as its origin with the enterprise's signature.
    /// `pieces` are the pieces asked back of each line in `lineMask`.
    struct ReturnApplication {
        // The pseudonymous return id (non-zero, never used before).
        bytes32 returnId;
        // The case the goods were released under.
        bytes32 caseId;
        // The member id of the case's origin customs area.
        bytes32 originArea;
        // The lines asked back (non-empty, within the case's line count).
        uint128 lineMask;
        // The pieces asked back of each line in `lineMask`, ascending gnum.
        uint32[] pieces;
        // The digest of the full application kept off the ledger (non-zero).
        bytes32 applicationDigest;
        // The member id of the customs area that receives the goods; its account relays this.
        bytes32 returnCentre;
        // Ledger time (seconds) after which the signature is void.
        uint64 deadline;
    }

    /// @notice The proof that a case's tax payment is under an active payment root of its origin.
    struct PaymentProof {
        // A payment batch root the origin area anchored and has not revoked.
        bytes32 root;
        // The digest of the case's tax payment record (hashed into `paymentLeaf`).
        bytes32 paymentDigest;
        // The sorted-pair Merkle proof of the payment leaf under `root`.
        bytes32[] proof;
    }

    /// @notice A case as stored (two slots; its piece counts per line are kept beside it).
    /// Customs areas are stored by customs code, which the Consortium keeps unique, to keep a
    /// return's lifecycle cheap. `appliedMask` holds the lines with any piece applied.
    struct CaseRecord {
        // The platform's member id, from the header; written when the case opens.
        bytes32 platform;
        // The origin customs area's customs code; written when the case opens.
        uint16 originCode;
        // Release time (seconds) from the header, non-zero once open; written when it opens.
        uint40 releaseTime;
        // Lines of the inventory list, from the header; written when the case opens.
        uint8 lineCount;
        // Returns applied for in the case; incremented by each application.
        uint16 returnCount;
        // Lines any return applied for; each application adds its lines.
        uint128 appliedMask;
    }

    /// @notice A return as stored (three slots; its piece counts per line are kept beside it).
    /// `settledMask` holds the accepted lines whose accepted pieces are all settled.
    struct ReturnRecord {
        // The case the return belongs to; written on application.
        bytes32 caseId;
        // The lines applied for; written on application.
        uint128 lineMask;
        // The lines accepted back; written by the return centre's inspection.
        uint128 acceptedMask;
        // The accepted lines whose accepted pieces are all settled; grown by each settlement.
        uint128 settledMask;
        // Where the return stands; advanced by each step.
        ReturnState state;
        // Whether the goods arrived after the arrival window; written on arrival.
        bool late;
        // Block time (seconds) of the application.
        uint40 appliedAt;
        // Block time (seconds) of the arrival, 0 before it.
        uint40 arrivedAt;
        // The return centre's customs code; written on application.
        uint16 centreCode;
    }
}
