// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ITaxAnchor} from "./ITaxAnchor.sol";

/// @title Events emitted by the TaxAnchor contract.
interface ITaxAnchorEvents {
    /// @notice The customs area `areaCode` anchored the Merkle root of a batch of `leafCount` tax
    /// records of `kind`; the root is that area's own (other areas may anchor the same bytes).
    event RootAnchored(bytes32 indexed root, uint16 indexed areaCode, ITaxAnchor.BatchKind kind, uint32 leafCount);
    /// @notice The customs area `areaCode` revoked its anchoring of `root` (the whole batch), with
    /// a non-zero `reason` code; another area's anchoring of the same bytes is unaffected.
    event RootRevoked(bytes32 indexed root, uint16 indexed areaCode, uint16 reason);
    /// @notice One record (leaf) was revoked by the customs area `areaCode`, e.g. a corrected or
    /// cancelled inventory list; the revocation applies under every root that area anchored.
    event LeafRevoked(uint16 indexed areaCode, bytes32 indexed root, bytes32 indexed leaf, uint16 reason);
}
