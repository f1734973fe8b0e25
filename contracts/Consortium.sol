// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IConsortium} from "./interfaces/IConsortium.sol";
import {IConsortiumErrors} from "./interfaces/IConsortiumErrors.sol";
import {IConsortiumEvents} from "./interfaces/IConsortiumEvents.sol";
import {IConsortiumKeyErrors} from "./interfaces/IConsortiumKeyErrors.sol";
import {MemberRules} from "./MemberRules.sol";

/// @title Consortium: who may act on the CrossReturn ledger, and under which rules.
/// @notice Members are customs areas, platforms (return enterprises) and auditors. Customs areas
/// govern together: admissions, suspensions, key rotations and rule parameters take effect when
/// `threshold` of the active customs areas approve. A customs area registers, suspends and
/// reinstates the platforms it supervises on its own. Each member alone controls its signing
/// accounts and profile: a change comes from one of its active accounts, or carries an EIP-712
/// authorisation signed by one (a gateway may relay it); a new account proves possession of its
/// key by signing too. A member that lost every key is re-keyed only by vote. Node-level
/// allowlists are the network's job, not this contract's.
///
/// Governance cannot deadlock on one area: the customs area a proposal decides about (the
/// member of a suspension or of a re-keying, i.e. an account addition or removal) is not in the
/// electorate of that proposal. It may neither propose nor approve it, and the proposal needs
/// `min(threshold, active customs areas other than it)` approvals, never fewer than
/// `min(threshold, 2)`: an area that lost its key or turned hostile is re-keyed or suspended by
/// the others even under unanimity, and never by a single other area unless the threshold is 1.
/// A suspension that leaves fewer active areas than the threshold lowers the threshold to their
/// number (unanimity stays unanimity).
contract Consortium is IConsortium, IConsortiumErrors, IConsortiumKeyErrors, IConsortiumEvents, EIP712 {
    /// @notice Days (in seconds) after release within which a return may be applied for.
    bytes32 public constant APPLY_WINDOW = keccak256("APPLY_WINDOW");
    /// @notice Days (in seconds) after release within which returned goods must arrive.
    bytes32 public constant ARRIVAL_WINDOW = keccak256("ARRIVAL_WINDOW");
    /// @notice Most lines (gnum) an inventory list may have.
    bytes32 public constant MAX_LINES = keccak256("MAX_LINES");
    /// @notice Seconds a proposal stays open for votes.
    bytes32 public constant PROPOSAL_TTL = keccak256("PROPOSAL_TTL");

    /// @notice EIP-712 type of a new member's first account accepting the registration (its
    /// profile included); signed by that account, `nonce` = `possessionNonce(account)`.
    bytes32 public constant MEMBER_REGISTRATION_TYPEHASH = keccak256(
        "MemberRegistration(bytes32 memberId,address account,bytes encryptionKey,string gatewayUrl,uint256 nonce)"
    );
    /// @notice EIP-712 type of a new account proving possession of its key for a member; signed
    /// by that account, `nonce` = `possessionNonce(account)`.
    bytes32 public constant ACCOUNT_POSSESSION_TYPEHASH =
        keccak256("AccountPossession(bytes32 memberId,address account,uint256 nonce)");
    /// @notice EIP-712 type of a member authorising a new signing account; signed by one of its
    /// active accounts, `nonce` = `memberNonce(memberId)`.
    bytes32 public constant ACCOUNT_ADDITION_TYPEHASH =
        keccak256("AccountAddition(bytes32 memberId,address account,uint256 nonce,uint256 deadline)");
    /// @notice EIP-712 type of a member authorising the removal of one of its accounts.
    bytes32 public constant ACCOUNT_REMOVAL_TYPEHASH =
        keccak256("AccountRemoval(bytes32 memberId,address account,uint256 nonce,uint256 deadline)");
    /// @notice EIP-712 type of a member authorising a new encryption key and gateway URL.
    bytes32 public constant PROFILE_UPDATE_TYPEHASH = keccak256(
        "ProfileUpdate(bytes32 memberId,bytes encryptionKey,string gatewayUrl,uint256 nonce,uint256 deadline)"
    );

    /// @notice A founding customs area, given to the constructor (never stored as such).
    struct Founder {
        // The area's member id (non-zero, unique).
        bytes32 memberId;
        // Its 4-digit customs code, 1..9999, unique among customs areas.
        uint16 customsCode;
        // Its first signing account.
        address account;
        // Its encryption public key, as published in its profile.
        bytes encryptionKey;
        // The URL of its gateway, as published in its profile.
        string gatewayUrl;
    }

    /// @notice A member as stored, keyed by member id (`None` kind for an unknown id).
    struct Member {
        // Customs area, platform or auditor; set once on admission (constructor, vote or
        // sponsorship).
        MemberKind kind;
        // Active or Suspended; set on admission, then by a vote or the platform's sponsor.
        MemberStatus status;
        // The 4-digit customs code of a customs area, 0 for other kinds; set on admission.
        uint16 customsCode;
        // How many signing accounts the member has (at least one); kept by every account
        // addition or removal.
        uint32 accountCount;
        // True while a suspension decided by vote holds: only a vote reinstates, not the
        // sponsor; set by a Suspend proposal, cleared by a Reinstate proposal.
        bool suspendedByVote;
        // The customs area that registered a platform, zero for other kinds; set on admission.
        bytes32 sponsor;
        // The member's encryption public key (opaque bytes); set on admission and by the
        // member's own profile updates.
        bytes encryptionKey;
        // The URL of the member's gateway; written with `encryptionKey`.
        string gatewayUrl;
    }

    /// @notice A governance proposal as stored, written when it is made; the fields its kind
    /// does not use stay zero.
    struct Proposal {
        // What the proposal does once approved.
        ProposalKind kind;
        // Admit: the kind of the member to admit (customs area or auditor).
        MemberKind memberKind;
        // Admit: the new customs area's customs code (0 for an auditor).
        uint16 customsCode;
        // Set once when the proposal takes effect; it is then closed to votes.
        bool executed;
        // Ledger time (seconds) after which it can no longer be approved or executed: creation
        // time plus `PROPOSAL_TTL`.
        uint64 expiresAt;
        // The customs area that made it (its approval is counted at once).
        bytes32 proposer;
        // The member it is about (Admit, Suspend, Reinstate, AddAccount, RemoveAccount).
        bytes32 memberId;
        // Admit: the new member's first account; AddAccount / RemoveAccount: the account.
        address account;
        // SetParameter: the parameter key (`APPLY_WINDOW`, ...).
        bytes32 key;
        // SetParameter: the new value; SetThreshold: the new threshold.
        uint256 value;
        // Admit: the new member's encryption public key.
        bytes encryptionKey;
        // Admit: the new member's gateway URL.
        string gatewayUrl;
    }

    mapping(bytes32 memberId => Member) private _members;
    bytes32[] private _memberIds;
    mapping(address account => bytes32 memberId) private _memberOf;
    mapping(bytes32 memberId => address[]) private _accounts;
    mapping(address account => uint256 indexPlusOne) private _accountIndex;
    mapping(uint16 customsCode => bytes32 memberId) private _customsMember;
    mapping(bytes32 key => uint256 value) private _parameters;
    uint256 private _threshold;
    uint256 private _activeCustoms;
    Proposal[] private _proposals;
    mapping(uint256 proposalId => mapping(bytes32 voter => bool)) private _voted;
    mapping(uint256 proposalId => bytes32[] voters) private _voters;
    mapping(bytes32 memberId => uint256 nonce) private _memberNonces;
    mapping(address account => uint256 nonce) private _possessionNonces;

    /// @notice Bootstraps the founding customs areas, the vote threshold and the default rules
    /// (apply window 30 days, arrival window 45 days, at most 99 lines, proposals open 7 days).
    /// @param founders the founding customs areas, each with one signing account
    /// @param threshold approvals needed to execute a proposal (1..founders.length)
    constructor(Founder[] memory founders, uint256 threshold) EIP712("CrossReturn Consortium", "1") {
        if (founders.length == 0) revert NoFounders();
        for (uint256 i = 0; i < founders.length; ++i) {
            Founder memory f = founders[i];
            _checkAdmission(f.memberId, MemberKind.Customs, f.customsCode, f.account);
            _admit(f.memberId, MemberKind.Customs, f.customsCode, bytes32(0), f.account, f.encryptionKey, f.gatewayUrl);
        }
        _setThreshold(threshold);
        _setParameter(APPLY_WINDOW, 30 days);
        _setParameter(ARRIVAL_WINDOW, 45 days);
        _setParameter(MAX_LINES, 99);
        _setParameter(PROPOSAL_TTL, 7 days);
    }

    // ------------------------------------------------------------------ governance

    /// @notice Proposes admitting a customs area or an auditor (platforms are sponsored instead).
    /// @param memberId the new member's id (non-zero, not yet taken)
    /// @param kind Customs or Auditor
    /// @param customsCode the new customs area's 4-digit code (1..9999, free); 0 for an auditor
    /// @param account the new member's first signing account
    /// @param encryptionKey the new member's encryption public key, published on admission
    /// @param gatewayUrl the new member's gateway URL, published on admission
    /// @param registration the new member's first account's EIP-712 `MemberRegistration`
    /// signature over this admission (proves it holds the key and chose the profile)
    /// @return proposalId the new proposal; the proposer's approval is counted
    function proposeAdmission(
        bytes32 memberId,
        MemberKind kind,
        uint16 customsCode,
        address account,
        bytes calldata encryptionKey,
        string calldata gatewayUrl,
        bytes calldata registration
    ) external returns (uint256 proposalId) {
        bytes32 proposer = _requireActive(msg.sender, MemberKind.Customs);
        if (kind != MemberKind.Customs && kind != MemberKind.Auditor) revert InvalidMemberKind(kind);
        _checkAdmission(memberId, kind, customsCode, account);
        _proveRegistration(memberId, account, encryptionKey, gatewayUrl, registration);
        Proposal storage p = _newProposal(ProposalKind.Admit, proposer, memberId);
        p.memberKind = kind;
        p.customsCode = customsCode;
        p.account = account;
        p.encryptionKey = encryptionKey;
        p.gatewayUrl = gatewayUrl;
        return _afterPropose(proposer);
    }

    /// @notice Proposes suspending a member; a suspended member cannot act or sign. A customs
    /// area cannot propose or approve its own suspension, and one needs at least two other
    /// active areas (one when the threshold is 1) to suspend it (`ElectorateTooSmall`).
    /// @param memberId the member to suspend
    /// @return proposalId the new proposal; the proposer's approval is counted
    function proposeSuspension(bytes32 memberId) external returns (uint256 proposalId) {
        bytes32 proposer = _requireActive(msg.sender, MemberKind.Customs);
        _checkVoteSuspension(memberId);
        _newProposal(ProposalKind.Suspend, proposer, memberId);
        return _afterPropose(proposer);
    }

    /// @notice Proposes reinstating a suspended member.
    /// @param memberId the suspended member
    /// @return proposalId the new proposal; the proposer's approval is counted
    function proposeReinstatement(bytes32 memberId) external returns (uint256 proposalId) {
        bytes32 proposer = _requireActive(msg.sender, MemberKind.Customs);
        _checkStatusChange(memberId, MemberStatus.Active);
        _newProposal(ProposalKind.Reinstate, proposer, memberId);
        return _afterPropose(proposer);
    }

    /// @notice Proposes adding a signing account to a member: how a member that lost every key
    /// is re-keyed (a member holding a key adds accounts itself, see `addAccount`). A customs
    /// area is re-keyed by the other areas alone, as its suspension is.
    /// @param memberId the member to re-key
    /// @param account the new signing account, not yet any member's
    /// @param possession the new account's EIP-712 `AccountPossession` signature for `memberId`
    /// @return proposalId the new proposal; the proposer's approval is counted
    function proposeAccountAddition(bytes32 memberId, address account, bytes calldata possession)
        external
        returns (uint256 proposalId)
    {
        bytes32 proposer = _requireActive(msg.sender, MemberKind.Customs);
        _requireKnown(memberId);
        _checkFreeAccount(memberId, account);
        _provePossession(memberId, account, possession);
        _newProposal(ProposalKind.AddAccount, proposer, memberId).account = account;
        return _afterPropose(proposer);
    }

    /// @notice Proposes removing a signing account from a member (key rotation, step two); for a
    /// customs area decided by the other areas alone, as its suspension is.
    /// @param memberId the member the account belongs to
    /// @param account the account to remove (never the member's last)
    /// @return proposalId the new proposal; the proposer's approval is counted
    function proposeAccountRemoval(bytes32 memberId, address account) external returns (uint256 proposalId) {
        bytes32 proposer = _requireActive(msg.sender, MemberKind.Customs);
        _checkRemovableAccount(memberId, account);
        _newProposal(ProposalKind.RemoveAccount, proposer, memberId).account = account;
        return _afterPropose(proposer);
    }

    /// @notice Proposes a new value for a rule parameter (`APPLY_WINDOW`, `ARRIVAL_WINDOW`,
    /// `MAX_LINES`, `PROPOSAL_TTL`).
    /// @param key the parameter
    /// @param value its new value, within the parameter's range (`ParameterOutOfRange`)
    /// @return proposalId the new proposal; the proposer's approval is counted
    function proposeParameter(bytes32 key, uint256 value) external returns (uint256 proposalId) {
        bytes32 proposer = _requireActive(msg.sender, MemberKind.Customs);
        _checkParameter(key, value);
        Proposal storage p = _newProposal(ProposalKind.SetParameter, proposer, bytes32(0));
        p.key = key;
        p.value = value;
        return _afterPropose(proposer);
    }

    /// @notice Proposes a new vote threshold (1..number of active customs areas).
    /// @param threshold the approvals a proposal will need
    /// @return proposalId the new proposal; the proposer's approval is counted
    function proposeThreshold(uint256 threshold) external returns (uint256 proposalId) {
        bytes32 proposer = _requireActive(msg.sender, MemberKind.Customs);
        _checkThreshold(threshold, _activeCustoms);
        _newProposal(ProposalKind.SetThreshold, proposer, bytes32(0)).value = threshold;
        return _afterPropose(proposer);
    }

    /// @notice Approves a proposal; the approval that brings the approvals of currently active
    /// customs areas to `approvalsNeeded` executes it. The customs area a suspension or
    /// re-keying is about cannot approve it (`SubjectCannotApprove`).
    /// @dev Execution re-checks the proposal against the current state and reverts (leaving the
    /// proposal open) when it no longer applies.
    /// @param proposalId the open proposal to approve
    function vote(uint256 proposalId) external {
        bytes32 voter = _requireActive(msg.sender, MemberKind.Customs);
        _vote(proposalId, voter);
    }

    /// @notice Executes a proposal whose approvals reach `approvalsNeeded` without a further vote,
    /// e.g. after the threshold was lowered. Any active customs area may call it.
    /// @param proposalId the open proposal to execute
    function execute(uint256 proposalId) external {
        _requireActive(msg.sender, MemberKind.Customs);
        Proposal storage p = _openProposal(proposalId);
        uint256 approvals = approvalsOf(proposalId);
        uint256 needed = _approvalsNeeded(p);
        if (approvals < needed) revert NotEnoughApprovals(proposalId, approvals, needed);
        _executeProposal(proposalId, p);
    }

    // ------------------------------------------------------------------ sponsorship

    /// @notice A customs area registers a platform it supervises, without a vote.
    /// @param memberId the platform's member id (non-zero, not yet taken)
    /// @param account the platform's first signing account
    /// @param encryptionKey the platform's encryption public key
    /// @param gatewayUrl the platform's gateway URL
    /// @param registration that account's EIP-712 `MemberRegistration` signature over this
    /// registration: the platform holds the key and chose the profile, not its sponsor
    function registerPlatform(
        bytes32 memberId,
        address account,
        bytes calldata encryptionKey,
        string calldata gatewayUrl,
        bytes calldata registration
    ) external {
        bytes32 sponsor = _requireActive(msg.sender, MemberKind.Customs);
        _checkAdmission(memberId, MemberKind.Platform, 0, account);
        _proveRegistration(memberId, account, encryptionKey, gatewayUrl, registration);
        _admit(memberId, MemberKind.Platform, 0, sponsor, account, encryptionKey, gatewayUrl);
    }

    /// @notice The sponsoring customs area suspends (`active == false`) or reinstates its platform;
    /// a platform the consortium suspended by vote stays suspended until a vote reinstates it.
    /// @param platformId a platform the caller's customs area sponsors
    /// @param active true to reinstate, false to suspend
    function setPlatformActive(bytes32 platformId, bool active) external {
        _requireSponsor(platformId);
        if (active && _members[platformId].suspendedByVote) revert SuspendedByConsortium(platformId);
        MemberStatus status = active ? MemberStatus.Active : MemberStatus.Suspended;
        _checkStatusChange(platformId, status);
        _setStatus(platformId, status);
    }

    // ------------------------------------------------------------------ a member's own keys

    /// @notice The caller's member adds a signing account of its own.
    /// @param account the new signing account, not yet any member's
    /// @param possession the new account's EIP-712 `AccountPossession` signature
    function addAccount(address account, bytes calldata possession) external {
        _addOwnAccount(_requireOwn(msg.sender), account, possession);
    }

    /// @notice Adds a signing account to `memberId` on its signed authorisation, relayed by
    /// anyone (e.g. its gateway).
    /// @param memberId the member that authorised the addition
    /// @param account the new signing account, not yet any member's
    /// @param deadline ledger time after which `authorisation` is void
    /// @param authorisation an active account of `memberId`'s EIP-712 `AccountAddition` signature
    /// @param possession the new account's EIP-712 `AccountPossession` signature
    function addAccountBySig(
        bytes32 memberId,
        address account,
        uint256 deadline,
        bytes calldata authorisation,
        bytes calldata possession
    ) external {
        bytes32 structHash =
            keccak256(abi.encode(ACCOUNT_ADDITION_TYPEHASH, memberId, account, _memberNonces[memberId], deadline));
        _requireAuthorisation(memberId, structHash, deadline, authorisation);
        _addOwnAccount(memberId, account, possession);
    }

    /// @notice The caller's member removes one of its signing accounts (never its last).
    /// @param account the account to remove
    function removeAccount(address account) external {
        _removeOwnAccount(_requireOwn(msg.sender), account);
    }

    /// @notice Removes a signing account of `memberId` on its signed authorisation, relayed by
    /// anyone (never its last account).
    /// @param memberId the member that authorised the removal
    /// @param account the account to remove
    /// @param deadline ledger time after which `authorisation` is void
    /// @param authorisation an active account of `memberId`'s EIP-712 `AccountRemoval` signature
    function removeAccountBySig(bytes32 memberId, address account, uint256 deadline, bytes calldata authorisation)
        external
    {
        bytes32 structHash =
            keccak256(abi.encode(ACCOUNT_REMOVAL_TYPEHASH, memberId, account, _memberNonces[memberId], deadline));
        _requireAuthorisation(memberId, structHash, deadline, authorisation);
        _removeOwnAccount(memberId, account);
    }

    /// @notice The caller's member publishes its own encryption public key and gateway URL.
    /// @param encryptionKey the new encryption public key
    /// @param gatewayUrl the new gateway URL
    function updateProfile(bytes calldata encryptionKey, string calldata gatewayUrl) external {
        _setProfile(_requireOwn(msg.sender), encryptionKey, gatewayUrl);
    }

    /// @notice Publishes `memberId`'s encryption public key and gateway URL on its signed
    /// authorisation, relayed by anyone.
    /// @param memberId the member that authorised the update
    /// @param encryptionKey the new encryption public key
    /// @param gatewayUrl the new gateway URL
    /// @param deadline ledger time after which `authorisation` is void
    /// @param authorisation an active account of `memberId`'s EIP-712 `ProfileUpdate` signature
    function updateProfileBySig(
        bytes32 memberId,
        bytes calldata encryptionKey,
        string calldata gatewayUrl,
        uint256 deadline,
        bytes calldata authorisation
    ) external {
        bytes32 structHash = keccak256(
            abi.encode(
                PROFILE_UPDATE_TYPEHASH,
                memberId,
                keccak256(encryptionKey),
                keccak256(bytes(gatewayUrl)),
                _memberNonces[memberId],
                deadline
            )
        );
        _requireAuthorisation(memberId, structHash, deadline, authorisation);
        _setProfile(memberId, encryptionKey, gatewayUrl);
    }

    /// @notice The nonce a member's next signed authorisation must carry; every change of its
    /// accounts or profile it makes (direct or signed) uses one, voiding older authorisations.
    /// @param memberId the member
    /// @return the nonce its next authorisation signs
    function memberNonce(bytes32 memberId) external view returns (uint256) {
        return _memberNonces[memberId];
    }

    /// @notice The nonce an account's next registration or possession proof must carry; each
    /// accepted proof uses one, so a proof cannot be replayed.
    /// @param account the account that signs the proof
    /// @return the nonce its next proof signs
    function possessionNonce(address account) external view returns (uint256) {
        return _possessionNonces[account];
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IConsortium
    function accountInfo(address account)
        external
        view
        returns (bytes32 memberId, MemberKind kind, MemberStatus status, uint16 customsCode)
    {
        memberId = _memberOf[account];
        Member storage m = _members[memberId];
        return (memberId, m.kind, m.status, m.customsCode);
    }

    /// @inheritdoc IConsortium
    function memberInfo(bytes32 memberId)
        external
        view
        returns (MemberKind kind, MemberStatus status, uint16 customsCode)
    {
        Member storage m = _members[memberId];
        return (m.kind, m.status, m.customsCode);
    }

    /// @inheritdoc IConsortium
    function parameter(bytes32 key) external view returns (uint256) {
        return _parameters[key];
    }

    /// @notice The whole stored member (encryption key and gateway URL included).
    /// @param memberId the member
    /// @return the stored member (all zero for an unknown id)
    function getMember(bytes32 memberId) external view returns (Member memory) {
        return _members[memberId];
    }

    /// @notice Every member id ever admitted, in admission order.
    /// @return the member ids
    function memberIds() external view returns (bytes32[] memory) {
        return _memberIds;
    }

    /// @notice The current signing accounts of a member.
    /// @param memberId the member
    /// @return its accounts (empty for an unknown id)
    function accountsOf(bytes32 memberId) external view returns (address[] memory) {
        return _accounts[memberId];
    }

    /// @notice The customs area holding a customs code (zero if none).
    /// @param customsCode the 4-digit customs code
    /// @return the customs area's member id
    function customsMember(uint16 customsCode) external view returns (bytes32) {
        return _customsMember[customsCode];
    }

    /// @notice Approvals needed to execute a proposal.
    /// @return the vote threshold
    function threshold() external view returns (uint256) {
        return _threshold;
    }

    /// @notice Number of active customs areas (the electorate).
    /// @return the number of active customs areas
    function activeCustomsCount() external view returns (uint256) {
        return _activeCustoms;
    }

    /// @notice Number of proposals ever made; ids run from 0 to count - 1.
    /// @return the number of proposals
    function proposalCount() external view returns (uint256) {
        return _proposals.length;
    }

    /// @notice A stored proposal (reverts `UnknownProposal` for an id never used).
    /// @param proposalId the proposal
    /// @return the stored proposal
    function getProposal(uint256 proposalId) external view returns (Proposal memory) {
        if (proposalId >= _proposals.length) revert UnknownProposal(proposalId);
        return _proposals[proposalId];
    }

    /// @notice Approvals of a proposal by customs areas that are active now (a suspended area's
    /// earlier approval does not count while it is suspended).
    /// @param proposalId the proposal
    /// @return approvals the approvals that count now
    function approvalsOf(uint256 proposalId) public view returns (uint256 approvals) {
        bytes32[] storage voters = _voters[proposalId];
        for (uint256 i = 0; i < voters.length; ++i) {
            if (_members[voters[i]].status == MemberStatus.Active) ++approvals;
        }
    }

    /// @notice Approvals of active customs areas a proposal needs now: the threshold, or the
    /// number of active areas besides its subject (see `subjectOf`) when that is smaller.
    /// @param proposalId the proposal
    /// @return the approvals it needs now
    function approvalsNeeded(uint256 proposalId) external view returns (uint256) {
        if (proposalId >= _proposals.length) revert UnknownProposal(proposalId);
        return _approvalsNeeded(_proposals[proposalId]);
    }

    /// @notice The customs area a proposal decides about and that is therefore not in its
    /// electorate: the member of a suspension, account addition or account removal when it is
    /// a customs area; zero for every other proposal.
    /// @param proposalId the proposal
    /// @return the subject's member id, or zero
    function subjectOf(uint256 proposalId) external view returns (bytes32) {
        if (proposalId >= _proposals.length) revert UnknownProposal(proposalId);
        Proposal storage p = _proposals[proposalId];
        return _subject(p.kind, p.memberId);
    }

    /// @notice Whether a customs area has approved a proposal.
    /// @param proposalId the proposal
    /// @param voter the customs area's member id
    /// @return true once it approved (even if it is suspended now)
    function hasVoted(uint256 proposalId, bytes32 voter) external view returns (bool) {
        return _voted[proposalId][voter];
    }

    // ------------------------------------------------------------------ internals: proposals

    function _newProposal(ProposalKind kind, bytes32 proposer, bytes32 memberId)
        private
        returns (Proposal storage p)
    {
        p = _proposals.push();
        p.kind = kind;
        p.proposer = proposer;
        p.memberId = memberId;
        p.expiresAt = uint64(block.timestamp + _parameters[PROPOSAL_TTL]);
        _checkElectorate(_subject(kind, memberId));
        emit ProposalCreated(_proposals.length - 1, kind, proposer, memberId);
    }

    function _afterPropose(bytes32 proposer) private returns (uint256 proposalId) {
        proposalId = _proposals.length - 1;
        _vote(proposalId, proposer);
    }

    function _openProposal(uint256 proposalId) private view returns (Proposal storage p) {
        if (proposalId >= _proposals.length) revert UnknownProposal(proposalId);
        p = _proposals[proposalId];
        if (p.executed) revert ProposalAlreadyExecuted(proposalId);
        if (block.timestamp > p.expiresAt) revert ProposalExpired(proposalId, p.expiresAt);
    }

    function _vote(uint256 proposalId, bytes32 voter) private {
        Proposal storage p = _openProposal(proposalId);
        if (voter == _subject(p.kind, p.memberId)) revert SubjectCannotApprove(proposalId, voter);
        if (_voted[proposalId][voter]) revert AlreadyVoted(proposalId, voter);
        _voted[proposalId][voter] = true;
        _voters[proposalId].push(voter);
        uint256 approvals = approvalsOf(proposalId);
        emit ProposalApproved(proposalId, voter, approvals);
        if (approvals >= _approvalsNeeded(p)) _executeProposal(proposalId, p);
    }

    /// @dev The customs area a proposal of `kind` about `memberId` decides about (zero if none).
    function _subject(ProposalKind kind, bytes32 memberId) private view returns (bytes32) {
        if (kind != ProposalKind.Suspend && kind != ProposalKind.AddAccount && kind != ProposalKind.RemoveAccount) {
            return bytes32(0);
        }
        return _members[memberId].kind == MemberKind.Customs ? memberId : bytes32(0);
    }

    /// @dev Active customs areas that may decide about `subject` (all of them when it is zero).
    function _electorate(bytes32 subject) private view returns (uint256) {
        if (subject != bytes32(0) && _members[subject].status == MemberStatus.Active) return _activeCustoms - 1;
        return _activeCustoms;
    }

    function _approvalsNeeded(Proposal storage p) private view returns (uint256) {
        uint256 electorate = _electorate(_subject(p.kind, p.memberId));
        return _threshold < electorate ? _threshold : electorate;
    }

    /// @dev A subject is decided about by at least two other areas (one when the threshold is 1):
    /// never by a single area acting alone, never by nobody.
    function _checkElectorate(bytes32 subject) private view {
        if (subject == bytes32(0)) return;
        uint256 electorate = _electorate(subject);
        uint256 needed = _threshold < 2 ? _threshold : 2;
        if (electorate < needed) revert ElectorateTooSmall(subject, electorate, needed);
    }

    function _executeProposal(uint256 proposalId, Proposal storage p) private {
        p.executed = true;
        _apply(p);
        emit ProposalExecuted(proposalId);
    }

    function _apply(Proposal storage p) private {
        ProposalKind kind = p.kind;
        if (kind == ProposalKind.Admit) {
            _checkAdmission(p.memberId, p.memberKind, p.customsCode, p.account);
            _admit(p.memberId, p.memberKind, p.customsCode, bytes32(0), p.account, p.encryptionKey, p.gatewayUrl);
        } else if (kind == ProposalKind.Suspend) {
            _checkVoteSuspension(p.memberId);
            if (_members[p.memberId].status == MemberStatus.Active) _setStatus(p.memberId, MemberStatus.Suspended);
            _members[p.memberId].suspendedByVote = true;
            if (_threshold > _activeCustoms) _setThreshold(_activeCustoms);
        } else if (kind == ProposalKind.Reinstate) {
            _checkStatusChange(p.memberId, MemberStatus.Active);
            _setStatus(p.memberId, MemberStatus.Active);
            _members[p.memberId].suspendedByVote = false;
        } else if (kind == ProposalKind.AddAccount) {
            _checkElectorate(_subject(kind, p.memberId));
            _checkFreeAccount(p.memberId, p.account);
            _addAccount(p.memberId, p.account);
        } else if (kind == ProposalKind.RemoveAccount) {
            _checkElectorate(_subject(kind, p.memberId));
            _checkRemovableAccount(p.memberId, p.account);
            _removeAccount(p.memberId, p.account);
        } else if (kind == ProposalKind.SetParameter) {
            _setParameter(p.key, p.value);
        } else {
            _setThreshold(p.value);
        }
    }

    // ------------------------------------------------------------------ internals: keys

    /// @dev The active member `account` belongs to, of any kind.
    function _requireOwn(address account) private view returns (bytes32 memberId) {
        return _requireActive(account, MemberKind.None);
    }

    /// @dev Reverts unless `signature` over `structHash` is by an active account of the active
    /// member `memberId` and `deadline` has not passed.
    function _requireAuthorisation(bytes32 memberId, bytes32 structHash, uint256 deadline, bytes calldata signature)
        private
        view
    {
        Member storage m = _requireKnown(memberId);
        if (m.status != MemberStatus.Active) revert MemberNotActive(memberId);
        if (block.timestamp > deadline) revert AuthorisationExpired(memberId, deadline, block.timestamp);
        address signer = _signerOf(structHash, signature);
        if (signer == address(0) || _memberOf[signer] != memberId) revert NotAuthorisedByMember(memberId, signer);
    }

    function _proveRegistration(
        bytes32 memberId,
        address account,
        bytes calldata encryptionKey,
        string calldata gatewayUrl,
        bytes calldata signature
    ) private {
        uint256 nonce = _possessionNonces[account];
        bytes32 structHash = keccak256(
            abi.encode(
                MEMBER_REGISTRATION_TYPEHASH,
                memberId,
                account,
                keccak256(encryptionKey),
                keccak256(bytes(gatewayUrl)),
                nonce
            )
        );
        address signer = _signerOf(structHash, signature);
        if (account == address(0) || signer != account) revert PossessionNotProven(memberId, account, signer);
        _possessionNonces[account] = nonce + 1;
    }

    function _provePossession(bytes32 memberId, address account, bytes calldata signature) private {
        uint256 nonce = _possessionNonces[account];
        bytes32 structHash = keccak256(abi.encode(ACCOUNT_POSSESSION_TYPEHASH, memberId, account, nonce));
        address signer = _signerOf(structHash, signature);
        if (account == address(0) || signer != account) revert PossessionNotProven(memberId, account, signer);
        _possessionNonces[account] = nonce + 1;
    }

    /// @dev The signer of an EIP-712 message of this contract; zero for a malformed signature.
    function _signerOf(bytes32 structHash, bytes calldata signature) private view returns (address) {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(_hashTypedDataV4(structHash), signature);
        return err == ECDSA.RecoverError.NoError ? signer : address(0);
    }

    function _addOwnAccount(bytes32 memberId, address account, bytes calldata possession) private {
        _checkFreeAccount(memberId, account);
        _provePossession(memberId, account, possession);
        _memberNonces[memberId] += 1;
        _addAccount(memberId, account);
    }

    function _removeOwnAccount(bytes32 memberId, address account) private {
        _checkRemovableAccount(memberId, account);
        _memberNonces[memberId] += 1;
        _removeAccount(memberId, account);
    }

    function _setProfile(bytes32 memberId, bytes calldata encryptionKey, string calldata gatewayUrl) private {
        Member storage m = _members[memberId];
        _memberNonces[memberId] += 1;
        m.encryptionKey = encryptionKey;
        m.gatewayUrl = gatewayUrl;
        emit MemberProfileUpdated(memberId, encryptionKey, gatewayUrl);
    }

    // ------------------------------------------------------------------ internals: checks

    /// @dev The active member of `kind` (any kind when None) that `account` belongs to; the rule
    /// is `MemberRules.requireActiveAccount`, as for every ConsortiumGated contract.
    function _requireActive(address account, MemberKind kind) private view returns (bytes32 memberId) {
        memberId = _memberOf[account];
        Member storage m = _members[memberId];
        MemberRules.requireActiveAccount(account, memberId, m.kind, m.status, kind);
    }

    function _requireKnown(bytes32 memberId) private view returns (Member storage m) {
        m = _members[memberId];
        if (m.kind == MemberKind.None) revert UnknownMember(memberId);
    }

    function _requireSponsor(bytes32 platformId) private view {
        bytes32 caller = _requireActive(msg.sender, MemberKind.Customs);
        Member storage m = _requireKnown(platformId);
        if (m.kind != MemberKind.Platform) revert WrongMemberKind(platformId, m.kind);
        if (m.sponsor != caller) revert NotSponsor(platformId, caller);
    }

    function _checkAdmission(bytes32 memberId, MemberKind kind, uint16 customsCode, address account) private view {
        if (memberId == bytes32(0)) revert InvalidMemberId(account);
        if (_members[memberId].kind != MemberKind.None) revert MemberAlreadyExists(memberId);
        if (kind == MemberKind.Customs) {
            if (customsCode == 0 || customsCode > 9999) revert InvalidCustomsCode(customsCode);
            bytes32 holder = _customsMember[customsCode];
            if (holder != bytes32(0)) revert CustomsCodeTaken(customsCode, holder);
        } else if (customsCode != 0) {
            revert InvalidCustomsCode(customsCode);
        }
        _checkFreeAccount(memberId, account);
    }

    function _checkFreeAccount(bytes32 memberId, address account) private view {
        if (account == address(0)) revert ZeroAccount(memberId);
        bytes32 holder = _memberOf[account];
        if (holder != bytes32(0)) revert AccountAlreadyAssigned(account, holder);
    }

    function _checkRemovableAccount(bytes32 memberId, address account) private view {
        Member storage m = _requireKnown(memberId);
        if (_memberOf[account] != memberId) revert AccountNotOfMember(account, memberId);
        if (m.accountCount <= 1) revert LastAccount(memberId);
    }

    function _checkStatusChange(bytes32 memberId, MemberStatus status) private view {
        Member storage m = _requireKnown(memberId);
        if (m.status == status) revert StatusUnchanged(memberId, status);
        if (m.kind == MemberKind.Customs && status == MemberStatus.Suspended) _checkElectorate(memberId);
    }

    /// @dev A vote may also suspend a platform its sponsor suspended already: the vote's lock
    /// (only a vote reinstates) must not be avoidable by a sponsor suspending first.
    function _checkVoteSuspension(bytes32 memberId) private view {
        Member storage m = _requireKnown(memberId);
        if (m.status == MemberStatus.Suspended) {
            if (m.suspendedByVote) revert StatusUnchanged(memberId, MemberStatus.Suspended);
            return;
        }
        _checkStatusChange(memberId, MemberStatus.Suspended);
    }

    function _checkThreshold(uint256 threshold_, uint256 activeCustoms) private pure {
        if (threshold_ == 0 || threshold_ > activeCustoms) revert ThresholdOutOfRange(threshold_, activeCustoms);
    }

    function _checkParameter(bytes32 key, uint256 value) private pure {
        (uint256 min, uint256 max) = _parameterRange(key);
        if (value < min || value > max) revert ParameterOutOfRange(key, value, min, max);
    }

    function _parameterRange(bytes32 key) private pure returns (uint256 min, uint256 max) {
        if (key == APPLY_WINDOW || key == ARRIVAL_WINDOW) return (1 days, 365 days);
        if (key == MAX_LINES) return (1, 128);
        if (key == PROPOSAL_TTL) return (1 hours, 90 days);
        revert UnknownParameter(key);
    }

    // ------------------------------------------------------------------ internals: effects

    function _admit(
        bytes32 memberId,
        MemberKind kind,
        uint16 customsCode,
        bytes32 sponsor,
        address account,
        bytes memory encryptionKey,
        string memory gatewayUrl
    ) private {
        Member storage m = _members[memberId];
        m.kind = kind;
        m.status = MemberStatus.Active;
        m.customsCode = customsCode;
        m.sponsor = sponsor;
        m.encryptionKey = encryptionKey;
        m.gatewayUrl = gatewayUrl;
        _memberIds.push(memberId);
        if (kind == MemberKind.Customs) {
            _customsMember[customsCode] = memberId;
            _activeCustoms += 1;
        }
        emit MemberAdmitted(memberId, kind, customsCode, sponsor);
        emit MemberProfileUpdated(memberId, encryptionKey, gatewayUrl);
        _addAccount(memberId, account);
    }

    function _addAccount(bytes32 memberId, address account) private {
        _memberOf[account] = memberId;
        _accounts[memberId].push(account);
        _accountIndex[account] = _accounts[memberId].length;
        _members[memberId].accountCount += 1;
        emit AccountAdded(memberId, account);
    }

    function _removeAccount(bytes32 memberId, address account) private {
        address[] storage list = _accounts[memberId];
        uint256 index = _accountIndex[account] - 1;
        address last = list[list.length - 1];
        list[index] = last;
        _accountIndex[last] = index + 1;
        list.pop();
        delete _accountIndex[account];
        delete _memberOf[account];
        _members[memberId].accountCount -= 1;
        emit AccountRemoved(memberId, account);
    }

    function _setStatus(bytes32 memberId, MemberStatus status) private {
        Member storage m = _members[memberId];
        m.status = status;
        if (m.kind == MemberKind.Customs) {
            if (status == MemberStatus.Active) _activeCustoms += 1;
            else _activeCustoms -= 1;
        }
        emit MemberStatusChanged(memberId, status);
    }

    function _setParameter(bytes32 key, uint256 value) private {
        _checkParameter(key, value);
        _parameters[key] = value;
        emit ParameterSet(key, value);
    }

    function _setThreshold(uint256 threshold_) private {
        _checkThreshold(threshold_, _activeCustoms);
        _threshold = threshold_;
        emit ThresholdSet(threshold_);
    }
}
