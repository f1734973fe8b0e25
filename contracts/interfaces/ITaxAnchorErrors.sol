// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ITaxAnchor} from "./ITaxAnchor.sol";

/// @title Errors raised by the TaxAnchor contract.
interface ITaxAnchorErrors {
    /// @notice A batch root must be non-zero.
    error ZeroHash();
    /// @notice A batch holds at least one record.
    /// @param root the root anchored with a leaf count of zero
    error EmptyBatch(bytes32 root);
    /// @notice The batch kind must be assessment or payment.
    error InvalidBatchKind(ITaxAnchor.BatchKind kind);
    /// @notice The customs area `areaCode` anchored this root already.
    error RootAlreadyAnchored(bytes32 root, uint16 areaCode);
    /// @notice Neither the customs area `areaCode` nor any other ever anchored this root.
    error RootNotAnchored(bytes32 root, uint16 areaCode);
    /// @notice The area `expected` (the one asked for, or the caller) never anchored this root;
    /// the area `anchoredBy` anchored the same bytes (the first that did, if several).
    error RootOfAnotherArea(bytes32 root, uint16 anchoredBy, uint16 expected);
    /// @notice The root holds another kind of batch than expected.
    error WrongBatchKind(bytes32 root, ITaxAnchor.BatchKind kind, ITaxAnchor.BatchKind expected);
    /// @notice The root was revoked.
    error RevokedRoot(bytes32 root, uint16 reason);
    /// @notice The leaf was revoked.
    error RevokedLeaf(bytes32 leaf, uint16 reason);
    /// @notice The proof does not lead from the leaf to the root.
    error InvalidProof(bytes32 root, bytes32 leaf);
    /// @notice Revocation reasons are non-zero codes.
    /// @param root the root revoked, or the root the leaf is proven under
    /// @param leaf the leaf revoked (zero when the whole root is)
    error InvalidReason(bytes32 root, bytes32 leaf);
}
