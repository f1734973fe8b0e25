// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IConsortium} from "./IConsortium.sol";

/// @title Events emitted by the Consortium contract, one per state change.
interface IConsortiumEvents {
    /// @notice A member was admitted (founder, vote or sponsorship).
    /// @param memberId the new member
    /// @param kind customs, platform or auditor
    /// @param customsCode the customs code of a customs area, otherwise 0
    /// @param sponsor the sponsoring customs area of a platform, otherwise 0
    event MemberAdmitted(
        bytes32 indexed memberId, IConsortium.MemberKind kind, uint16 customsCode, bytes32 indexed sponsor
    );
    /// @notice A member's status changed (suspended or reinstated).
    event MemberStatusChanged(bytes32 indexed memberId, IConsortium.MemberStatus status);
    /// @notice A member published a new encryption key or gateway URL.
    event MemberProfileUpdated(bytes32 indexed memberId, bytes encryptionKey, string gatewayUrl);
    /// @notice A signing account was added to a member.
    event AccountAdded(bytes32 indexed memberId, address indexed account);
    /// @notice A signing account was removed from a member.
    event AccountRemoved(bytes32 indexed memberId, address indexed account);
    /// @notice A rule parameter was set.
    event ParameterSet(bytes32 indexed key, uint256 value);
    /// @notice The vote threshold was set.
    event ThresholdSet(uint256 threshold);
    /// @notice A customs area made a proposal (its own approval is counted).
    event ProposalCreated(
        uint256 indexed proposalId, IConsortium.ProposalKind kind, bytes32 indexed proposer, bytes32 indexed memberId
    );
    /// @notice A customs area approved a proposal.
    /// @param approvals the approvals of currently active customs areas after this vote
    event ProposalApproved(uint256 indexed proposalId, bytes32 indexed voter, uint256 approvals);
    /// @notice A proposal reached the threshold and took effect.
    event ProposalExecuted(uint256 indexed proposalId);
}
