// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title Batch roots of tax records, as the other CrossReturn contracts read them.
interface ITaxAnchor {
    /// @notice What a batch holds: assessments (at release) or payments (by the withholding agent).
    enum BatchKind {
        None,
        Assessment,
        Payment
    }

    /// @notice Reverts unless `leaf` is proven under `root`, the root is anchored by the customs
    /// area with `areaCode` for `kind`, and neither that area's root nor its leaf is revoked.
    /// Roots are per area: the same bytes anchored by another area do not count.
    /// @param root the batch root
    /// @param leaf the record's leaf, computed from its data by the caller
    /// @param proof the sorted-pair Merkle proof of `leaf` under `root`
    /// @param areaCode the customs code of the area that must have anchored `root`
    /// @param kind the kind of batch `root` must hold
    /// @return anchoredAt the block time at which `root` was anchored
    function requireActiveLeaf(
        bytes32 root,
        bytes32 leaf,
        bytes32[] calldata proof,
        uint16 areaCode,
        BatchKind kind
    ) external view returns (uint40 anchoredAt);
}
