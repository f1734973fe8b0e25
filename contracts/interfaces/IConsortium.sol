// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title The consortium's member registry, as the other CrossReturn contracts read it.
/// @notice Members are organisations (customs areas, platforms, auditors), each with one or more
/// signing accounts. Rule parameters (windows, limits) live here so governance changes them once.
interface IConsortium {
    /// @notice What a member is. `None` marks an unknown id.
    enum MemberKind {
        None,
        Customs,
        Platform,
        Auditor
    }

    /// @notice Whether a member may act. `None` marks an unknown id.
    enum MemberStatus {
        None,
        Active,
        Suspended
    }

    /// @notice What a governance proposal does once approved.
    enum ProposalKind {
        None,
        Admit,
        Suspend,
        Reinstate,
        AddAccount,
        RemoveAccount,
        SetParameter,
        SetThreshold
    }

    /// @notice The member an account belongs to, with the fields every permission check needs.
    /// @param account the signing account
    /// @return memberId zero when the account belongs to no member
    /// @return kind the member's kind
    /// @return status the member's status
    /// @return customsCode the 4-digit customs code for a customs area, otherwise 0
    function accountInfo(address account)
        external
        view
        returns (bytes32 memberId, MemberKind kind, MemberStatus status, uint16 customsCode);

    /// @notice A member's kind, status and customs code (all zero for an unknown id).
    /// @param memberId the member
    /// @return kind the member's kind
    /// @return status the member's status
    /// @return customsCode the 4-digit customs code for a customs area, otherwise 0
    function memberInfo(bytes32 memberId)
        external
        view
        returns (MemberKind kind, MemberStatus status, uint16 customsCode);

    /// @notice The current value of a rule parameter such as `APPLY_WINDOW` (seconds).
    /// @param key the parameter, e.g. `keccak256("APPLY_WINDOW")`
    /// @return its value (0 for an unknown key)
    function parameter(bytes32 key) external view returns (uint256);
}
