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
        bytes32 caseId;
        bytes32 originArea;
        bytes32 platform;
        uint64 releaseTime;
        uint8 lineCount;
        uint32[] pieces;
        bytes32 recordDigest;
    }

    /// @notice What a return enterprise signs (EIP-712) when it applies for a return.
    /// `originArea` is the member id of the case's origin customs area: it binds the signature to
    /// the case header that origin anchored, so a relaying area cannot anchor a header of its own
    /// for the same case id and open the case as its origin with the enterprise's signature.
    /// `pieces` are the pieces asked back of each line in `lineMask`.
    struct ReturnApplication {
        bytes32 returnId;
        bytes32 caseId;
        bytes32 originArea;
        uint128 lineMask;
        uint32[] pieces;
        bytes32 applicationDigest;
        bytes32 returnCentre;
        uint64 deadline;
    }

    /// @notice The proof that a case's tax payment is under an active payment root of its origin.
    struct PaymentProof {
        bytes32 root;
        bytes32 paymentDigest;
        bytes32[] proof;
    }

    /// @notice A case as stored (two slots; its piece counts per line are kept beside it).
    /// Customs areas are stored by customs code, which the Consortium keeps unique, to keep a
    /// return's lifecycle cheap. `appliedMask` holds the lines with any piece applied.
    struct CaseRecord {
        bytes32 platform;
        uint16 originCode;
        uint40 releaseTime;
        uint8 lineCount;
        uint16 returnCount;
        uint128 appliedMask;
    }

    /// @notice A return as stored (three slots; its piece counts per line are kept beside it).
    /// `settledMask` holds the accepted lines whose accepted pieces are all settled.
    struct ReturnRecord {
        bytes32 caseId;
        uint128 lineMask;
        uint128 acceptedMask;
        uint128 settledMask;
        ReturnState state;
        bool late;
        uint40 appliedAt;
        uint40 arrivedAt;
        uint16 centreCode;
    }
}
