// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ITaxAnchor} from "./ITaxAnchor.sol";

/// @title Events emitted by the TaxAnchor contract.
interface ITaxAnchorEvents {
    /// @notice A customs area anchored the Merkle root of a batch of tax records.
    event RootAnchored(bytes32 indexed root, uint16 indexed areaCode, ITaxAnchor.BatchKind kind, uint32 leafCount);
    /// @notice A whole batch was revoked.
    event RootRevoked(bytes32 indexed root, uint16 indexed areaCode, uint16 reason);
    /// @notice One record (leaf) was revoked by the customs area `areaCode`, e.g. a corrected or
    /// cancelled inventory list; the revocation applies under every root that area anchored.
    event LeafRevoked(uint16 indexed areaCode, bytes32 indexed root, bytes32 indexed leaf, uint16 reason);
}
