// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ConsortiumGated} from "./ConsortiumGated.sol";
import {IConsortium} from "./interfaces/IConsortium.sol";
import {IReturnLedger} from "./interfaces/IReturnLedger.sol";
import {IReturnLedgerErrors} from "./interfaces/IReturnLedgerErrors.sol";
import {IReturnLedgerEvents} from "./interfaces/IReturnLedgerEvents.sol";
import {ITaxAnchor} from "./interfaces/ITaxAnchor.sol";
import {ITaxAnchorErrors} from "./interfaces/ITaxAnchorErrors.sol";

/// @title ReturnLedger: the life of a cross-customs-area return (DESIGN §3).
/// @notice A case (one released inventory list) is opened lazily by its first return
/// application, from the case header the origin area anchored in a TaxAnchor batch. The return
/// enterprise signs its application (EIP-712), so a relaying gateway can neither forge nor alter
/// it. The return centre records arrival and the inspection outcome per line; the origin area
/// recognises or disputes that result and settles the accepted lines (tax not levied, or refunded
/// against an anchored payment record). Every step anchors the digest of its off-chain document.
/// Only pseudonymous ids, member ids, times, line masks and digests are stored or emitted.
contract ReturnLedger is IReturnLedger, IReturnLedgerErrors, IReturnLedgerEvents, ITaxAnchorErrors, ConsortiumGated, EIP712 {
    /// @notice EIP-712 type of a return application.
    bytes32 public constant RETURN_APPLICATION_TYPEHASH = keccak256(
        "ReturnApplication(bytes32 returnId,bytes32 caseId,bytes32 originArea,uint128 lineMask,bytes32 applicationDigest,bytes32 returnCentre,uint64 deadline)"
    );
    /// @notice Domain tag of a case header leaf in an assessment batch.
    bytes32 public constant CASE_HEADER_TAG = keccak256("CrossReturn.CaseHeader.v1");
    /// @notice Domain tag of a tax payment leaf in a payment batch.
    bytes32 public constant PAYMENT_LEAF_TAG = keccak256("CrossReturn.TaxPayment.v1");

    bytes32 private constant _APPLY_WINDOW = keccak256("APPLY_WINDOW");
    bytes32 private constant _ARRIVAL_WINDOW = keccak256("ARRIVAL_WINDOW");
    bytes32 private constant _MAX_LINES = keccak256("MAX_LINES");

    ITaxAnchor private immutable _taxAnchor;
    mapping(bytes32 caseId => CaseRecord) private _cases;
    mapping(bytes32 returnId => ReturnRecord) private _returns;

    /// @param consortium the member registry
    /// @param taxAnchor the batch roots of tax assessments and payments
    constructor(IConsortium consortium, ITaxAnchor taxAnchor)
        ConsortiumGated(consortium)
        EIP712("CrossReturn ReturnLedger", "1")
    {
        _taxAnchor = taxAnchor;
    }

    // ------------------------------------------------------------------ application

    /// @notice Opens a case from its anchored header and records its first return application.
    /// The header's origin must be the origin the platform signed (`application.originArea`), so
    /// a relaying customs area cannot open the case as its own origin from a header it anchored
    /// itself; the header's release time must not lie after its batch was anchored.
    /// @dev The header leaf is checked only here, when the case opens. Revoking the leaf (or its
    /// root) afterwards does not undo the case or its returns: the origin area disputes the
    /// returns instead. This is a known, documented limitation.
    /// @param header the public case header, a leaf of an assessment batch of its origin area
    /// @param assessmentRoot the anchored batch root the header is proven under
    /// @param proof the sorted-pair Merkle proof of the header leaf
    /// @param application the return application the platform signed
    /// @param signature the platform account's EIP-712 signature over `application`
    function openCaseAndApply(
        CaseHeader calldata header,
        bytes32 assessmentRoot,
        bytes32[] calldata proof,
        ReturnApplication calldata application,
        bytes calldata signature
    ) external {
        _activeAccount(msg.sender, IConsortium.MemberKind.None);
        if (header.caseId != application.caseId) revert CaseMismatch(header.caseId, application.caseId);
        if (header.originArea != application.originArea) {
            revert OriginMismatch(header.originArea, application.originArea);
        }
        _openCase(header, assessmentRoot, proof);
        _apply(application, signature);
    }

    /// @notice Records a further return application of an open case (over lines not yet applied).
    /// The signed `originArea` must be the customs area the case was opened with.
    /// @param application the return application the platform signed
    /// @param signature the platform account's EIP-712 signature over `application`
    function applyForReturn(ReturnApplication calldata application, bytes calldata signature) external {
        _activeAccount(msg.sender, IConsortium.MemberKind.None);
        _apply(application, signature);
    }

    // ------------------------------------------------------------------ return centre

    /// @notice The return centre records the goods' arrival. After the arrival window the arrival
    /// is recorded as late and inspection can only reject every line.
    function recordArrival(bytes32 returnId, bytes32 arrivalDigest) external {
        ReturnRecord storage r = _returnAt(returnId, ReturnState.Applied);
        _requireReturnCentre(returnId, r);
        if (arrivalDigest == bytes32(0)) revert ZeroValue();
        CaseRecord storage c = _cases[r.caseId];
        bool late = block.timestamp > uint256(c.releaseTime) + _consortium.parameter(_ARRIVAL_WINDOW);
        r.state = ReturnState.Arrived;
        r.late = late;
        r.arrivedAt = uint40(block.timestamp);
        emit ArrivalRecorded(returnId, r.caseId, late, arrivalDigest);
    }

    /// @notice The return centre records the inspection outcome: the lines accepted back (a
    /// subset of the applied lines); the others are rejected (shipped out or destroyed).
    function recordInspection(bytes32 returnId, uint128 acceptedMask, bytes32 reportDigest) external {
        ReturnRecord storage r = _returnAt(returnId, ReturnState.Arrived);
        _requireReturnCentre(returnId, r);
        if (reportDigest == bytes32(0)) revert ZeroValue();
        uint128 extra = acceptedMask & ~r.lineMask;
        if (extra != 0) revert LinesNotApplied(returnId, extra);
        if (r.late && acceptedMask != 0) revert LateArrivalMustBeRejected(returnId, acceptedMask);
        r.acceptedMask = acceptedMask;
        r.state = ReturnState.Inspected;
        emit InspectionRecorded(returnId, r.caseId, acceptedMask, reportDigest);
    }

    // ------------------------------------------------------------------ origin area

    /// @notice The origin area recognises the return centre's result (after inspection, or to
    /// close a dispute).
    function recordRecognition(bytes32 returnId, bytes32 decisionDigest) external {
        ReturnRecord storage r = _requireReturn(returnId);
        if (r.state != ReturnState.Inspected && r.state != ReturnState.Disputed) {
            revert InvalidState(returnId, r.state);
        }
        _requireOrigin(returnId, r);
        if (decisionDigest == bytes32(0)) revert ZeroValue();
        r.state = ReturnState.Recognized;
        emit ReturnRecognized(returnId, r.caseId, decisionDigest);
    }

    /// @notice The origin area disputes the return centre's result; `reasonDigest` commits to a
    /// readable explanation kept off the ledger.
    function recordDispute(bytes32 returnId, bytes32 reasonDigest) external {
        ReturnRecord storage r = _returnAt(returnId, ReturnState.Inspected);
        _requireOrigin(returnId, r);
        if (reasonDigest == bytes32(0)) revert ZeroValue();
        r.state = ReturnState.Disputed;
        emit ReturnDisputed(returnId, r.caseId, reasonDigest);
    }

    /// @notice The origin area settles accepted lines whose tax had not been paid: not levied.
    function settleNotLevied(bytes32 returnId, uint128 lineMask, bytes32 settlementDigest, bool quotaAdjusted)
        external
    {
        ReturnRecord storage r = _settleable(returnId, lineMask, settlementDigest);
        _settle(returnId, r, lineMask, SettlementKind.NotLevied, settlementDigest, quotaAdjusted);
    }

    /// @notice The origin area settles accepted lines whose tax was paid: refunded. `payment`
    /// proves the case's payment record is under an active payment root of the origin area.
    function settleRefunded(
        bytes32 returnId,
        uint128 lineMask,
        bytes32 settlementDigest,
        bool quotaAdjusted,
        PaymentProof calldata payment
    ) external {
        ReturnRecord storage r = _settleable(returnId, lineMask, settlementDigest);
        uint16 originCode = _cases[r.caseId].originCode;
        bytes32 leaf = paymentLeaf(r.caseId, originCode, payment.paymentDigest);
        _taxAnchor.requireActiveLeaf(payment.root, leaf, payment.proof, originCode, ITaxAnchor.BatchKind.Payment);
        _settle(returnId, r, lineMask, SettlementKind.Refunded, settlementDigest, quotaAdjusted);
    }

    // ------------------------------------------------------------------ disclosure log

    /// @notice A holder customs area logs that it disclosed part of a case's records to
    /// `requester`; `disclosureDigest` commits to what was disclosed.
    function logDisclosure(bytes32 caseId, bytes32 requester, bytes32 disclosureDigest) external {
        (bytes32 holder,) = _activeAccount(msg.sender, IConsortium.MemberKind.Customs);
        if (caseId == bytes32(0) || disclosureDigest == bytes32(0)) revert ZeroValue();
        (IConsortium.MemberKind kind,,) = _consortium.memberInfo(requester);
        if (kind == IConsortium.MemberKind.None) revert UnknownMember(requester);
        emit DisclosureLogged(caseId, holder, requester, disclosureDigest);
    }

    // ------------------------------------------------------------------ views

    /// @notice A stored case (all zero if not open).
    function getCase(bytes32 caseId) external view returns (CaseRecord memory) {
        return _cases[caseId];
    }

    /// @notice A stored return (all zero if unknown).
    function getReturn(bytes32 returnId) external view returns (ReturnRecord memory) {
        return _returns[returnId];
    }

    /// @notice Where line `gnum` of a return stands.
    function lineState(bytes32 returnId, uint8 gnum) external view returns (LineState) {
        ReturnRecord storage r = _returns[returnId];
        if (gnum == 0 || gnum > 128) return LineState.None;
        uint128 bit = uint128(1) << (gnum - 1);
        if (r.lineMask & bit == 0) return LineState.None;
        if (r.settledMask & bit != 0) return LineState.Settled;
        if (r.state == ReturnState.Applied || r.state == ReturnState.Arrived) return LineState.Applied;
        return r.acceptedMask & bit != 0 ? LineState.Accepted : LineState.Rejected;
    }

    /// @notice The EIP-712 digest a platform signs for `application`.
    function hashReturnApplication(ReturnApplication calldata application) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    RETURN_APPLICATION_TYPEHASH,
                    application.returnId,
                    application.caseId,
                    application.originArea,
                    application.lineMask,
                    application.applicationDigest,
                    application.returnCentre,
                    application.deadline
                )
            )
        );
    }

    /// @notice The assessment-batch leaf of a case header.
    function caseHeaderLeaf(CaseHeader calldata header) public pure returns (bytes32) {
        return keccak256(
            abi.encode(
                CASE_HEADER_TAG,
                header.caseId,
                header.originArea,
                header.platform,
                header.releaseTime,
                header.lineCount,
                header.recordDigest
            )
        );
    }

    /// @notice The payment-batch leaf of a case's tax payment record.
    function paymentLeaf(bytes32 caseId, uint16 originCode, bytes32 paymentDigest) public pure returns (bytes32) {
        return keccak256(abi.encode(PAYMENT_LEAF_TAG, caseId, originCode, paymentDigest));
    }

    /// @notice The TaxAnchor this ledger checks case headers and payments against.
    function taxAnchor() external view returns (ITaxAnchor) {
        return _taxAnchor;
    }

    // ------------------------------------------------------------------ internals

    /// @dev Opens a case from its header, proven under an active assessment root of the header's
    /// origin area, whose anchoring time must not precede the header's release time. The proof is
    /// checked once: a later revocation of the header leaf or its root does not undo the case (the
    /// origin disputes its returns instead), a known, documented limitation.
    function _openCase(CaseHeader calldata h, bytes32 assessmentRoot, bytes32[] calldata proof) private {
        if (h.caseId == bytes32(0) || h.recordDigest == bytes32(0)) revert ZeroValue();
        CaseRecord storage c = _cases[h.caseId];
        if (c.releaseTime != 0) revert CaseAlreadyOpen(h.caseId);
        uint256 maxLines = _consortium.parameter(_MAX_LINES);
        if (h.lineCount == 0 || h.lineCount > maxLines) revert InvalidLineCount(h.lineCount, maxLines);
        if (h.releaseTime == 0 || h.releaseTime > block.timestamp) revert ReleaseInFuture(h.releaseTime, block.timestamp);
        uint16 originCode = _activeMember(h.originArea, IConsortium.MemberKind.Customs);
        _activeMember(h.platform, IConsortium.MemberKind.Platform);
        uint40 anchoredAt = _taxAnchor.requireActiveLeaf(
            assessmentRoot, caseHeaderLeaf(h), proof, originCode, ITaxAnchor.BatchKind.Assessment
        );
        if (h.releaseTime > anchoredAt) revert ReleaseAfterAnchoring(h.releaseTime, anchoredAt);
        c.platform = h.platform;
        c.originCode = originCode;
        c.releaseTime = uint40(h.releaseTime);
        c.lineCount = h.lineCount;
        emit CaseOpened(h.caseId, h.originArea, h.platform, h.releaseTime, h.lineCount, h.recordDigest, assessmentRoot);
    }

    /// @dev Records a return application of an open case; the signed origin must be the case's.
    function _apply(ReturnApplication calldata a, bytes calldata signature) private {
        if (a.returnId == bytes32(0) || a.applicationDigest == bytes32(0)) revert ZeroValue();
        CaseRecord storage c = _cases[a.caseId];
        if (c.releaseTime == 0) revert UnknownCase(a.caseId);
        uint16 signedCode = _customsCodeOf(a.originArea);
        if (signedCode != c.originCode) {
            revert ApplicationOriginMismatch(a.caseId, a.originArea, signedCode, c.originCode);
        }
        if (_returns[a.returnId].state != ReturnState.None) revert ReturnIdUsed(a.returnId);
        if (a.deadline < block.timestamp) revert SignatureExpired(a.deadline, block.timestamp);
        if (a.lineMask == 0) revert EmptyLineMask();
        if (a.lineMask >> c.lineCount != 0) revert LinesOutOfRange(a.lineMask, c.lineCount);
        uint128 overlap = a.lineMask & c.appliedMask;
        if (overlap != 0) revert LinesAlreadyApplied(a.caseId, overlap);
        uint256 closesAt = uint256(c.releaseTime) + _consortium.parameter(_APPLY_WINDOW);
        if (block.timestamp > closesAt) revert ApplyWindowClosed(a.caseId, closesAt, block.timestamp);
        uint16 centreCode = _activeMember(a.returnCentre, IConsortium.MemberKind.Customs);
        address signer = _recoverSigner(a, signature);
        (bytes32 signerMember,) = _activeAccount(signer, IConsortium.MemberKind.Platform);
        if (signerMember != c.platform) revert SignerNotPlatform(signer, c.platform);

        c.appliedMask |= a.lineMask;
        c.returnCount += 1;
        ReturnRecord storage r = _returns[a.returnId];
        r.caseId = a.caseId;
        r.centreCode = centreCode;
        r.lineMask = a.lineMask;
        r.state = ReturnState.Applied;
        r.appliedAt = uint40(block.timestamp);
        emit ReturnApplied(a.returnId, a.caseId, a.returnCentre, a.lineMask, a.applicationDigest, signer);
    }

    /// @dev The customs code of `memberId` (read as `_activeMember` does), 0 unless it is a
    /// customs area. Its status does not matter: a case stays with its origin.
    function _customsCodeOf(bytes32 memberId) private view returns (uint16) {
        (IConsortium.MemberKind kind,, uint16 customsCode) = _consortium.memberInfo(memberId);
        return kind == IConsortium.MemberKind.Customs ? customsCode : 0;
    }

    function _recoverSigner(ReturnApplication calldata a, bytes calldata signature) private view returns (address) {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(hashReturnApplication(a), signature);
        if (err != ECDSA.RecoverError.NoError) revert InvalidSignature();
        return signer;
    }

    function _settleable(bytes32 returnId, uint128 lineMask, bytes32 settlementDigest)
        private
        view
        returns (ReturnRecord storage r)
    {
        r = _returnAt(returnId, ReturnState.Recognized);
        _requireOrigin(returnId, r);
        if (settlementDigest == bytes32(0)) revert ZeroValue();
        if (lineMask == 0) revert EmptyLineMask();
        uint128 extra = lineMask & ~r.acceptedMask;
        if (extra != 0) revert LinesNotAccepted(returnId, extra);
        uint128 overlap = lineMask & r.settledMask;
        if (overlap != 0) revert LinesAlreadySettled(returnId, overlap);
    }

    function _settle(
        bytes32 returnId,
        ReturnRecord storage r,
        uint128 lineMask,
        SettlementKind kind,
        bytes32 settlementDigest,
        bool quotaAdjusted
    ) private {
        uint128 settled = r.settledMask | lineMask;
        r.settledMask = settled;
        if (settled == r.acceptedMask) r.state = ReturnState.Settled;
        emit LinesSettled(returnId, r.caseId, lineMask, kind, settlementDigest, quotaAdjusted);
    }

    function _requireReturn(bytes32 returnId) private view returns (ReturnRecord storage r) {
        r = _returns[returnId];
        if (r.state == ReturnState.None) revert UnknownReturn(returnId);
    }

    function _returnAt(bytes32 returnId, ReturnState expected) private view returns (ReturnRecord storage r) {
        r = _requireReturn(returnId);
        if (r.state != expected) revert InvalidState(returnId, r.state);
    }

    function _requireReturnCentre(bytes32 returnId, ReturnRecord storage r) private view {
        (, uint16 caller) = _activeAccount(msg.sender, IConsortium.MemberKind.Customs);
        if (caller != r.centreCode) revert NotReturnCentre(returnId, caller, r.centreCode);
    }

    function _requireOrigin(bytes32 returnId, ReturnRecord storage r) private view {
        (, uint16 caller) = _activeAccount(msg.sender, IConsortium.MemberKind.Customs);
        uint16 origin = _cases[r.caseId].originCode;
        if (caller != origin) revert NotOriginArea(returnId, caller, origin);
    }
}
