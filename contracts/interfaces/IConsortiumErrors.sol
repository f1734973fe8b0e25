// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IConsortium} from "./IConsortium.sol";

/// @title Errors raised by the Consortium contract.
interface IConsortiumErrors {
    /// @notice The account belongs to no member.
    error NotAMember(address account);
    /// @notice The member exists but is suspended.
    error MemberNotActive(bytes32 memberId);
    /// @notice The member is of another kind than the operation needs.
    /// @param actual the member's kind
    error WrongMemberKind(bytes32 memberId, IConsortium.MemberKind actual);
    /// @notice No member has this id.
    error UnknownMember(bytes32 memberId);
    /// @notice A member with this id exists already.
    error MemberAlreadyExists(bytes32 memberId);
    /// @notice Member ids must be non-zero.
    /// @param account the first signing account of the member being admitted
    error InvalidMemberId(address account);
    /// @notice This kind cannot be used for the operation (e.g. admitting a platform by vote).
    error InvalidMemberKind(IConsortium.MemberKind kind);
    /// @notice Customs codes are 4 digits, 0001-9999.
    error InvalidCustomsCode(uint16 code);
    /// @notice Another customs area holds this customs code.
    error CustomsCodeTaken(uint16 code, bytes32 holder);
    /// @notice The zero address cannot be a signing account.
    /// @param memberId the member it was to be an account of
    error ZeroAccount(bytes32 memberId);
    /// @notice The account already belongs to a member.
    error AccountAlreadyAssigned(address account, bytes32 memberId);
    /// @notice The account does not belong to this member.
    error AccountNotOfMember(address account, bytes32 memberId);
    /// @notice A member must keep at least one signing account.
    error LastAccount(bytes32 memberId);
    /// @notice Only the customs area that sponsors a platform may manage it directly.
    error NotSponsor(bytes32 platformId, bytes32 caller);
    /// @notice The member already has this status.
    error StatusUnchanged(bytes32 memberId, IConsortium.MemberStatus status);
    /// @notice The parameter key is not one the consortium knows.
    error UnknownParameter(bytes32 key);
    /// @notice The parameter value lies outside its allowed range.
    error ParameterOutOfRange(bytes32 key, uint256 value, uint256 min, uint256 max);
    /// @notice The vote threshold must lie between 1 and the number of active customs areas.
    error ThresholdOutOfRange(uint256 threshold, uint256 activeCustoms);
    /// @notice No proposal has this id.
    error UnknownProposal(uint256 proposalId);
    /// @notice The proposal was executed already.
    error ProposalAlreadyExecuted(uint256 proposalId);
    /// @notice The proposal's voting period is over.
    error ProposalExpired(uint256 proposalId, uint64 expiredAt);
    /// @notice This customs area has voted on the proposal already.
    error AlreadyVoted(uint256 proposalId, bytes32 voter);
    /// @notice A customs area cannot propose or approve its own suspension or re-keying: it is
    /// not in the electorate of a proposal about itself.
    error SubjectCannotApprove(uint256 proposalId, bytes32 memberId);
    /// @notice Too few active customs areas besides `subject` to decide about it: a suspension or
    /// re-keying of a customs area needs at least two others (one when the threshold is 1).
    /// @param electorate the active customs areas other than `subject`
    /// @param needed the fewest that may decide
    error ElectorateTooSmall(bytes32 subject, uint256 electorate, uint256 needed);
    /// @notice Fewer active customs areas approve the proposal than it needs (`approvalsNeeded`).
    error NotEnoughApprovals(uint256 proposalId, uint256 approvals, uint256 threshold);
    /// @notice The consortium suspended this platform by vote; only a vote reinstates it.
    error SuspendedByConsortium(bytes32 memberId);
    /// @notice The constructor needs at least one founding customs area.
    error NoFounders();
}
