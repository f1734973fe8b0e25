// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IConsortium} from "./interfaces/IConsortium.sol";
import {IConsortiumErrors} from "./interfaces/IConsortiumErrors.sol";

/// @title MemberRules: the one home of the rule deciding whether an account may act for a member.
/// @notice The Consortium applies it to its own storage and every ConsortiumGated contract to what
/// `IConsortium.accountInfo` answers, so both reject an outsider, a wrong kind or a suspended
/// member with the same error, in the same order.
library MemberRules {
    /// @dev Reverts unless `account` belongs to a member (`memberId` non-zero) of kind `required`
    /// (any kind when `required` is None) whose `status` is Active.
    /// @param account the account that acts (named in `NotAMember`)
    /// @param memberId the member `account` belongs to, zero if none
    /// @param actual that member's kind
    /// @param status that member's status
    /// @param required the kind the operation needs, None for any
    function requireActiveAccount(
        address account,
        bytes32 memberId,
        IConsortium.MemberKind actual,
        IConsortium.MemberStatus status,
        IConsortium.MemberKind required
    ) internal pure {
        if (memberId == bytes32(0)) revert IConsortiumErrors.NotAMember(account);
        if (required != IConsortium.MemberKind.None && actual != required) {
            revert IConsortiumErrors.WrongMemberKind(memberId, actual);
        }
        if (status != IConsortium.MemberStatus.Active) revert IConsortiumErrors.MemberNotActive(memberId);
    }
}
