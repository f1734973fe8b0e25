// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IConsortium} from "./interfaces/IConsortium.sol";
import {IConsortiumErrors} from "./interfaces/IConsortiumErrors.sol";
import {MemberRules} from "./MemberRules.sol";

/// @title ConsortiumGated: membership checks shared by the contracts that trust the Consortium.
/// @notice Resolves accounts and member ids through the Consortium and reverts with its errors,
/// so every contract rejects an outsider, a suspended member or a wrong kind the same way.
abstract contract ConsortiumGated is IConsortiumErrors {
    IConsortium internal immutable _consortium;

    /// @param consortium the member registry this contract trusts
    constructor(IConsortium consortium) {
        _consortium = consortium;
    }

    /// @notice The member registry this contract trusts.
    /// @return the Consortium
    function consortium() external view returns (IConsortium) {
        return _consortium;
    }

    /// @dev The active member of `kind` (any kind when None) that `account` belongs to, and its
    /// customs code; the rule is `MemberRules.requireActiveAccount`.
    function _activeAccount(address account, IConsortium.MemberKind kind)
        internal
        view
        returns (bytes32 memberId, uint16 customsCode)
    {
        IConsortium.MemberKind actual;
        IConsortium.MemberStatus status;
        (memberId, actual, status, customsCode) = _consortium.accountInfo(account);
        MemberRules.requireActiveAccount(account, memberId, actual, status, kind);
    }

    /// @dev Reverts unless `memberId` is an active member of `kind`; returns its customs code.
    function _activeMember(bytes32 memberId, IConsortium.MemberKind kind) internal view returns (uint16 customsCode) {
        IConsortium.MemberKind actual;
        IConsortium.MemberStatus status;
        (actual, status, customsCode) = _consortium.memberInfo(memberId);
        if (actual == IConsortium.MemberKind.None) revert UnknownMember(memberId);
        if (actual != kind) revert WrongMemberKind(memberId, actual);
        if (status != IConsortium.MemberStatus.Active) revert MemberNotActive(memberId);
    }
}
