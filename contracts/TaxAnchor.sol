// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IConsortium} from "./interfaces/IConsortium.sol";
import {ConsortiumGated} from "./ConsortiumGated.sol";
import {ITaxAnchor} from "./interfaces/ITaxAnchor.sol";
import {ITaxAnchorErrors} from "./interfaces/ITaxAnchorErrors.sol";
import {ITaxAnchorEvents} from "./interfaces/ITaxAnchorEvents.sol";

/// @title TaxAnchor: Merkle roots of batches of tax records, per origin customs area.
/// @notice An origin area's gateway accumulates tax assessments (one leaf per released inventory
/// list: the case header leaf) or tax payments (one leaf per case paid) and anchors one root per
/// batch, so the ledger carries one transaction per batch instead of one per record. Trees use
/// sorted-pair keccak256 (OpenAttestation's rule, OpenZeppelin's `MerkleProof`), so off-chain
/// trees and on-chain checks agree. Single records or whole batches can be revoked.
/// @dev Roots are keyed by (anchoring area, root): an area that anchors the same bytes as
/// another (e.g. copied from its pending transaction) neither blocks nor shadows the other's
/// anchoring, and each area revokes only what it anchored itself.
contract TaxAnchor is ITaxAnchor, ITaxAnchorErrors, ITaxAnchorEvents, ConsortiumGated {
    /// @notice An anchored batch of one area; packed into one storage slot. A root that area
    /// never anchored reads as all zero (`kind` None).
    struct RootRecord {
        // Assessment or Payment; set by `anchor`, None for a root the area never anchored.
        BatchKind kind;
        // The records in the batch, as the anchoring area declared it; set by `anchor`.
        uint32 leafCount;
        // Block time (seconds) of the anchoring transaction; set by `anchor`.
        uint40 anchoredAt;
        // The area's non-zero reason code once it revoked the root (`revokeRoot`), else 0.
        uint16 revokedReason;
    }

    /// @dev The first check a leaf fails in `_leafStatus`, in the order they run; Active if none.
    enum LeafStatus {
        Active,
        RootNotAnchored,
        WrongKind,
        RootRevoked,
        LeafRevoked,
        NotProven
    }

    mapping(uint16 areaCode => mapping(bytes32 root => RootRecord)) private _roots;
    // The first area that anchored a root's bytes: only to name it in RootOfAnotherArea when
    // the expected area holds no such root. It never grants or blocks anything.
    mapping(bytes32 root => uint16 areaCode) private _firstAnchoredBy;
    // Keyed by the revoking area: an area can only revoke its own records, whatever trees it
    // anchors (anchoring another area's leaf in one's own tree must not let one revoke it).
    mapping(uint16 areaCode => mapping(bytes32 leaf => uint16 reason)) private _revokedLeaves;

    /// @param consortium the member registry whose active customs areas may anchor
    constructor(IConsortium consortium) ConsortiumGated(consortium) {}

    /// @notice Anchors the root of a batch of `leafCount` tax records of `kind` for the caller's
    /// customs area. The block time of this transaction is the batch's anchoring time. The same
    /// bytes anchored by another area are that area's own record and do not stand in the way.
    /// @param root the batch's sorted-pair Merkle root (non-zero)
    /// @param kind Assessment or Payment
    /// @param leafCount the number of records in the batch (non-zero)
    function anchor(bytes32 root, BatchKind kind, uint32 leafCount) external {
        uint16 areaCode = _callerArea();
        if (root == bytes32(0)) revert ZeroHash();
        if (kind == BatchKind.None) revert InvalidBatchKind(kind);
        if (leafCount == 0) revert EmptyBatch(root);
        if (_roots[areaCode][root].kind != BatchKind.None) revert RootAlreadyAnchored(root, areaCode);
        _roots[areaCode][root] = RootRecord({
            kind: kind,
            leafCount: leafCount,
            anchoredAt: uint40(block.timestamp),
            revokedReason: 0
        });
        if (_firstAnchoredBy[root] == 0) _firstAnchoredBy[root] = areaCode;
        emit RootAnchored(root, areaCode, kind, leafCount);
    }

    /// @notice Revokes a whole batch anchored by the caller's area, with a non-zero reason code.
    /// Another area's anchoring of the same bytes is left as it is.
    /// @param root a root the caller's area anchored and has not revoked
    /// @param reason the reason code (non-zero)
    function revokeRoot(bytes32 root, uint16 reason) external {
        uint16 areaCode = _callerArea();
        if (reason == 0) revert InvalidReason(root, bytes32(0));
        RootRecord storage r = _ownedRoot(root, areaCode);
        if (r.revokedReason != 0) revert RevokedRoot(root, r.revokedReason);
        r.revokedReason = reason;
        emit RootRevoked(root, areaCode, reason);
    }

    /// @notice Revokes one record (e.g. a corrected or cancelled inventory list), proven under a
    /// root anchored by the caller's area, with a non-zero reason code.
    /// @param root a root the caller's area anchored
    /// @param leaf the record's leaf, not yet revoked by the caller's area
    /// @param proof the sorted-pair Merkle proof of `leaf` under `root`
    /// @param reason the reason code (non-zero)
    function revokeLeaf(bytes32 root, bytes32 leaf, bytes32[] calldata proof, uint16 reason) external {
        uint16 areaCode = _callerArea();
        if (reason == 0) revert InvalidReason(root, leaf);
        _ownedRoot(root, areaCode);
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert InvalidProof(root, leaf);
        uint16 previous = _revokedLeaves[areaCode][leaf];
        if (previous != 0) revert RevokedLeaf(leaf, previous);
        _revokedLeaves[areaCode][leaf] = reason;
        emit LeafRevoked(areaCode, root, leaf, reason);
    }

    /// @notice Whether `leaf` is proven under `root` as anchored by the customs area `areaCode`,
    /// and neither that area's root nor its leaf is revoked (the rule of `requireActiveLeaf`, for
    /// a batch of any kind).
    /// @dev Callers must compute `leaf` from its data (as ReturnLedger and the SDK's verifier do):
    /// an inner node of a tree also "proves" under its root with a shorter proof.
    /// @param areaCode the customs code of the area that must have anchored `root`
    /// @param root the batch root
    /// @param leaf the record's leaf
    /// @param proof the sorted-pair Merkle proof of `leaf` under `root`
    /// @return true when the leaf is active
    function isActive(uint16 areaCode, bytes32 root, bytes32 leaf, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        (LeafStatus status,) = _leafStatus(root, leaf, proof, areaCode, BatchKind.None);
        return status == LeafStatus.Active;
    }

    /// @inheritdoc ITaxAnchor
    function requireActiveLeaf(
        bytes32 root,
        bytes32 leaf,
        bytes32[] calldata proof,
        uint16 areaCode,
        BatchKind kind
    ) external view returns (uint40 anchoredAt) {
        (LeafStatus status, RootRecord storage r) = _leafStatus(root, leaf, proof, areaCode, kind);
        if (status == LeafStatus.Active) return r.anchoredAt;
        if (status == LeafStatus.RootNotAnchored) _anchoredRoot(root, areaCode);
        if (status == LeafStatus.WrongKind) revert WrongBatchKind(root, r.kind, kind);
        if (status == LeafStatus.RootRevoked) revert RevokedRoot(root, r.revokedReason);
        if (status == LeafStatus.LeafRevoked) revert RevokedLeaf(leaf, _revokedLeaves[areaCode][leaf]);
        revert InvalidProof(root, leaf);
    }

    /// @notice The record of `root` as anchored by the customs area `areaCode` (all zero if that
    /// area never anchored it, whoever else did).
    /// @param areaCode the customs code of the anchoring area
    /// @param root the batch root
    /// @return the stored record
    function getRoot(uint16 areaCode, bytes32 root) external view returns (RootRecord memory) {
        return _roots[areaCode][root];
    }

    /// @notice The reason the customs area `areaCode` revoked a leaf for (0 if not revoked).
    /// @param areaCode the customs code of the revoking area
    /// @param leaf the record's leaf
    /// @return the reason code
    function leafRevocation(uint16 areaCode, bytes32 leaf) external view returns (uint16) {
        return _revokedLeaves[areaCode][leaf];
    }

    /// @dev The one home of the rule whether a leaf is active: the first check `leaf` fails
    /// under `root` as anchored by `areaCode` for a batch of `kind` (any kind when None), or
    /// Active; with the root's record of that area.
    function _leafStatus(bytes32 root, bytes32 leaf, bytes32[] calldata proof, uint16 areaCode, BatchKind kind)
        private
        view
        returns (LeafStatus status, RootRecord storage r)
    {
        r = _roots[areaCode][root];
        if (r.kind == BatchKind.None) return (LeafStatus.RootNotAnchored, r);
        if (kind != BatchKind.None && r.kind != kind) return (LeafStatus.WrongKind, r);
        if (r.revokedReason != 0) return (LeafStatus.RootRevoked, r);
        if (_revokedLeaves[areaCode][leaf] != 0) return (LeafStatus.LeafRevoked, r);
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) return (LeafStatus.NotProven, r);
        return (LeafStatus.Active, r);
    }

    function _callerArea() private view returns (uint16 areaCode) {
        (, areaCode) = _activeAccount(msg.sender, IConsortium.MemberKind.Customs);
    }

    /// @dev The root as anchored by `areaCode`; reverts naming another area that anchored the
    /// same bytes (if any) when `areaCode` did not.
    function _anchoredRoot(bytes32 root, uint16 areaCode) private view returns (RootRecord storage r) {
        r = _roots[areaCode][root];
        if (r.kind == BatchKind.None) {
            uint16 other = _firstAnchoredBy[root];
            if (other != 0) revert RootOfAnotherArea(root, other, areaCode);
            revert RootNotAnchored(root, areaCode);
        }
    }

    function _ownedRoot(bytes32 root, uint16 areaCode) private view returns (RootRecord storage r) {
        return _anchoredRoot(root, areaCode);
    }
}
