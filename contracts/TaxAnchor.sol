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
contract TaxAnchor is ITaxAnchor, ITaxAnchorErrors, ITaxAnchorEvents, ConsortiumGated {
    /// @notice An anchored batch; packed into one storage slot.
    struct RootRecord {
        uint16 areaCode;
        BatchKind kind;
        uint32 leafCount;
        uint40 anchoredAt;
        uint16 revokedReason;
    }

    mapping(bytes32 root => RootRecord) private _roots;
    // Keyed by the revoking area: an area can only revoke its own records, whatever trees it
    // anchors (anchoring another area's leaf in one's own tree must not let one revoke it).
    mapping(uint16 areaCode => mapping(bytes32 leaf => uint16 reason)) private _revokedLeaves;

    /// @param consortium the member registry whose active customs areas may anchor
    constructor(IConsortium consortium) ConsortiumGated(consortium) {}

    /// @notice Anchors the root of a batch of `leafCount` tax records of `kind` for the caller's
    /// customs area. The block time of this transaction is the batch's anchoring time.
    function anchor(bytes32 root, BatchKind kind, uint32 leafCount) external {
        uint16 areaCode = _callerArea();
        if (root == bytes32(0)) revert ZeroHash();
        if (kind == BatchKind.None) revert InvalidBatchKind(kind);
        if (leafCount == 0) revert EmptyBatch();
        RootRecord storage r = _roots[root];
        if (r.areaCode != 0) revert RootAlreadyAnchored(root, r.areaCode);
        _roots[root] = RootRecord({
            areaCode: areaCode,
            kind: kind,
            leafCount: leafCount,
            anchoredAt: uint40(block.timestamp),
            revokedReason: 0
        });
        emit RootAnchored(root, areaCode, kind, leafCount);
    }

    /// @notice Revokes a whole batch anchored by the caller's area, with a non-zero reason code.
    function revokeRoot(bytes32 root, uint16 reason) external {
        uint16 areaCode = _callerArea();
        if (reason == 0) revert InvalidReason();
        RootRecord storage r = _ownedRoot(root, areaCode);
        if (r.revokedReason != 0) revert RevokedRoot(root, r.revokedReason);
        r.revokedReason = reason;
        emit RootRevoked(root, areaCode, reason);
    }

    /// @notice Revokes one record (e.g. a corrected or cancelled inventory list), proven under a
    /// root anchored by the caller's area, with a non-zero reason code.
    function revokeLeaf(bytes32 root, bytes32 leaf, bytes32[] calldata proof, uint16 reason) external {
        uint16 areaCode = _callerArea();
        if (reason == 0) revert InvalidReason();
        _ownedRoot(root, areaCode);
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert InvalidProof(root, leaf);
        uint16 previous = _revokedLeaves[areaCode][leaf];
        if (previous != 0) revert RevokedLeaf(leaf, previous);
        _revokedLeaves[areaCode][leaf] = reason;
        emit LeafRevoked(areaCode, root, leaf, reason);
    }

    /// @notice Whether `leaf` is proven under an anchored root and neither is revoked.
    /// @dev Callers must compute `leaf` from its data (as ReturnLedger and the SDK's verifier do):
    /// an inner node of a tree also "proves" under its root with a shorter proof.
    function isActive(bytes32 root, bytes32 leaf, bytes32[] calldata proof) external view returns (bool) {
        RootRecord storage r = _roots[root];
        return r.areaCode != 0 && r.revokedReason == 0 && _revokedLeaves[r.areaCode][leaf] == 0
            && MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// @inheritdoc ITaxAnchor
    function requireActiveLeaf(
        bytes32 root,
        bytes32 leaf,
        bytes32[] calldata proof,
        uint16 areaCode,
        BatchKind kind
    ) external view returns (uint40 anchoredAt) {
        RootRecord storage r = _roots[root];
        if (r.areaCode == 0) revert RootNotAnchored(root);
        if (r.areaCode != areaCode) revert RootOfAnotherArea(root, r.areaCode, areaCode);
        if (r.kind != kind) revert WrongBatchKind(root, r.kind, kind);
        if (r.revokedReason != 0) revert RevokedRoot(root, r.revokedReason);
        uint16 leafReason = _revokedLeaves[areaCode][leaf];
        if (leafReason != 0) revert RevokedLeaf(leaf, leafReason);
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert InvalidProof(root, leaf);
        return r.anchoredAt;
    }

    /// @notice The stored record of a root (all zero if never anchored).
    function getRoot(bytes32 root) external view returns (RootRecord memory) {
        return _roots[root];
    }

    /// @notice The reason the customs area `areaCode` revoked a leaf for (0 if not revoked).
    function leafRevocation(uint16 areaCode, bytes32 leaf) external view returns (uint16) {
        return _revokedLeaves[areaCode][leaf];
    }

    function _callerArea() private view returns (uint16 areaCode) {
        (, areaCode) = _activeAccount(msg.sender, IConsortium.MemberKind.Customs);
    }

    function _ownedRoot(bytes32 root, uint16 areaCode) private view returns (RootRecord storage r) {
        r = _roots[root];
        if (r.areaCode == 0) revert RootNotAnchored(root);
        if (r.areaCode != areaCode) revert RootOfAnotherArea(root, r.areaCode, areaCode);
    }
}
