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
        "ReturnApplication(bytes32 returnId,bytes32 caseId,bytes32 originArea,uint128 lineMask,uint32[] pieces,bytes32 applicationDigest,bytes32 returnCentre,uint64 deadline)"
    );
    /// @notice Domain tag of a case header leaf in an assessment batch.
    bytes32 public constant CASE_HEADER_TAG = keccak256("CrossReturn.CaseHeader.v2");
    /// @notice Domain tag of a tax payment leaf in a payment batch.
    bytes32 public constant PAYMENT_LEAF_TAG = keccak256("CrossReturn.TaxPayment.v1");

    bytes32 private constant _APPLY_WINDOW = keccak256("APPLY_WINDOW");
    bytes32 private constant _ARRIVAL_WINDOW = keccak256("ARRIVAL_WINDOW");
    bytes32 private constant _MAX_LINES = keccak256("MAX_LINES");

    uint256 private constant _APPLIED = 0;
    uint256 private constant _ACCEPTED = 32;
    uint256 private constant _SETTLED = 64;

    ITaxAnchor private immutable _taxAnchor;
    mapping(bytes32 caseId => CaseRecord) private _cases;
    mapping(bytes32 returnId => ReturnRecord) private _returns;
    // Piece counts: a case's declared and applied pieces, eight uint32 per word (line gnum in
    // word (gnum-1)/8); a return's applied, accepted and settled pieces, one word per line.
    mapping(bytes32 caseId => mapping(uint256 word => uint256)) private _declared;
    mapping(bytes32 caseId => mapping(uint256 word => uint256)) private _caseApplied;
    mapping(bytes32 returnId => mapping(uint256 gnum => uint256)) private _returnPieces;
    // The return centres (by customs code) of a case's returns: with its origin, the areas that
    // hold documents of the case and may log disclosing them.
    mapping(bytes32 caseId => mapping(uint16 centreCode => bool)) private _caseCentres;

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
        _activeAccount(msg.sender, IConsortium.MemberKind.Customs);
        if (header.caseId != application.caseId) revert CaseMismatch(header.caseId, application.caseId);
        if (header.originArea != application.originArea) {
            revert OriginMismatch(header.originArea, application.originArea);
        }
        _openCase(header, assessmentRoot, proof);
        _apply(application, signature);
    }

    /// @notice Records a further return application of an open case: its lines may be any whose
    /// declared pieces are not used up. The signed `originArea` must be the customs area the case
    /// was opened with; only an account of the return centre the platform named relays it.
    /// @param application the return application the platform signed
    /// @param signature the platform account's EIP-712 signature over `application`
    function applyForReturn(ReturnApplication calldata application, bytes calldata signature) external {
        _activeAccount(msg.sender, IConsortium.MemberKind.Customs);
        _apply(application, signature);
    }

    // ------------------------------------------------------------------ return centre

    /// @notice The return centre records the goods' arrival. After the arrival window the arrival
    /// is recorded as late and inspection can only reject every line.
    /// @param returnId an Applied return whose return centre is the caller's area
    /// @param arrivalDigest the digest of the arrival record kept off the ledger (non-zero)
    function recordArrival(bytes32 returnId, bytes32 arrivalDigest) external {
        ReturnRecord storage r = _returnAt(returnId, ReturnState.Applied);
        _requireReturnCentre(returnId, r);
        if (arrivalDigest == bytes32(0)) revert ZeroValue("arrivalDigest");
        CaseRecord storage c = _cases[r.caseId];
        bool late = block.timestamp > uint256(c.releaseTime) + _consortium.parameter(_ARRIVAL_WINDOW);
        r.state = ReturnState.Arrived;
        r.late = late;
        r.arrivedAt = uint40(block.timestamp);
        emit ArrivalRecorded(returnId, r.caseId, late, arrivalDigest);
    }

    /// @notice The return centre records the inspection outcome: the lines accepted back (a
    /// subset of the applied lines) with the pieces accepted of each (1..applied); the other
    /// lines and pieces are rejected (shipped out or destroyed).
    /// @param returnId an Arrived return whose return centre is the caller's area
    /// @param acceptedMask the lines accepted back (zero: every line rejected)
    /// @param acceptedPieces the pieces accepted of each line in `acceptedMask`, ascending gnum
    /// @param reportDigest the digest of the inspection report kept off the ledger (non-zero)
    function recordInspection(
        bytes32 returnId,
        uint128 acceptedMask,
        uint32[] calldata acceptedPieces,
        bytes32 reportDigest
    ) external {
        ReturnRecord storage r = _returnAt(returnId, ReturnState.Arrived);
        _requireReturnCentre(returnId, r);
        if (reportDigest == bytes32(0)) revert ZeroValue("reportDigest");
        uint128 extra = acceptedMask & ~r.lineMask;
        if (extra != 0) revert LinesNotApplied(returnId, extra);
        if (r.late && acceptedMask != 0) revert LateArrivalMustBeRejected(returnId, acceptedMask);
        _checkPiecesLength(acceptedMask, acceptedPieces);
        mapping(uint256 => uint256) storage lines = _returnPieces[returnId];
        uint256 k = 0;
        for (uint256 gnum = 1; acceptedMask >> (gnum - 1) != 0; ++gnum) {
            if ((acceptedMask >> (gnum - 1)) & 1 == 0) continue;
            uint32 accepted = acceptedPieces[k++];
            uint256 word = lines[gnum];
            uint32 applied = uint32(word >> _APPLIED);
            if (accepted == 0) revert ZeroPieces(uint8(gnum));
            if (accepted > applied) revert PiecesExceedApplied(returnId, uint8(gnum), accepted, applied);
            lines[gnum] = word | (uint256(accepted) << _ACCEPTED);
        }
        r.acceptedMask = acceptedMask;
        r.state = ReturnState.Inspected;
        emit InspectionRecorded(returnId, r.caseId, acceptedMask, acceptedPieces, reportDigest);
    }

    // ------------------------------------------------------------------ origin area

    /// @notice The origin area recognises the return centre's result (after inspection, or to
    /// close a dispute).
    /// @param returnId an Inspected or Disputed return of a case the caller's area is origin of
    /// @param decisionDigest the digest of the recognition decision kept off the ledger (non-zero)
    function recordRecognition(bytes32 returnId, bytes32 decisionDigest) external {
        ReturnRecord storage r = _requireReturn(returnId);
        if (r.state != ReturnState.Inspected && r.state != ReturnState.Disputed) {
            revert InvalidState(returnId, ReturnState.Inspected, r.state);
        }
        _requireOrigin(returnId, r);
        if (decisionDigest == bytes32(0)) revert ZeroValue("decisionDigest");
        r.state = ReturnState.Recognized;
        emit ReturnRecognized(returnId, r.caseId, decisionDigest);
    }

    /// @notice The origin area disputes the return centre's result; `reasonDigest` commits to a
    /// readable explanation kept off the ledger.
    /// @param returnId an Inspected return of a case the caller's area is origin of
    /// @param reasonDigest the digest of the explanation (non-zero)
    function recordDispute(bytes32 returnId, bytes32 reasonDigest) external {
        ReturnRecord storage r = _returnAt(returnId, ReturnState.Inspected);
        _requireOrigin(returnId, r);
        if (reasonDigest == bytes32(0)) revert ZeroValue("reasonDigest");
        r.state = ReturnState.Disputed;
        emit ReturnDisputed(returnId, r.caseId, reasonDigest);
    }

    /// @notice The origin area settles accepted pieces whose tax had not been paid: not levied.
    /// @param returnId a Recognized return of a case the caller's area is origin of
    /// @param lineMask the lines settled (non-empty, among the accepted lines)
    /// @param pieces the pieces settled of each line in `lineMask` (each at most the line's
    /// accepted pieces not yet settled), ascending gnum
    /// @param settlementDigest the digest of the settlement decision kept off the ledger (non-zero)
    /// @param quotaAdjusted whether the consumer's yearly quota was adjusted for the settled value
    function settleNotLevied(
        bytes32 returnId,
        uint128 lineMask,
        uint32[] calldata pieces,
        bytes32 settlementDigest,
        bool quotaAdjusted
    ) external {
        ReturnRecord storage r = _settleable(returnId, lineMask, settlementDigest);
        _settle(returnId, r, lineMask, pieces, SettlementKind.NotLevied, settlementDigest, quotaAdjusted);
    }

    /// @notice The origin area settles accepted pieces whose tax was paid: refunded. `payment`
    /// proves the case's payment record is under an active payment root of the origin area.
    /// @param returnId a Recognized return of a case the caller's area is origin of
    /// @param lineMask the lines settled (non-empty, among the accepted lines)
    /// @param pieces the pieces settled of each line in `lineMask`, as for `settleNotLevied`
    /// @param settlementDigest the digest of the settlement decision kept off the ledger (non-zero)
    /// @param quotaAdjusted whether the consumer's yearly quota was adjusted for the settled value
    /// @param payment the case's payment leaf data and its proof under the payment root
    function settleRefunded(
        bytes32 returnId,
        uint128 lineMask,
        uint32[] calldata pieces,
        bytes32 settlementDigest,
        bool quotaAdjusted,
        PaymentProof calldata payment
    ) external {
        ReturnRecord storage r = _settleable(returnId, lineMask, settlementDigest);
        uint16 originCode = _cases[r.caseId].originCode;
        bytes32 leaf = paymentLeaf(r.caseId, originCode, payment.paymentDigest);
        _taxAnchor.requireActiveLeaf(payment.root, leaf, payment.proof, originCode, ITaxAnchor.BatchKind.Payment);
        _settle(returnId, r, lineMask, pieces, SettlementKind.Refunded, settlementDigest, quotaAdjusted);
    }

    // ------------------------------------------------------------------ disclosure log

    /// @notice A holder customs area logs that it disclosed a document of a case it holds: the
    /// case's origin area, or the return centre of one of its returns. The case must be open, so
    /// an origin that disclosed its declaration before the case opened logs it once it has
    /// (its gateway keeps the entry queued until then).
    /// @param caseId the open case the document belongs to
    /// @param requesterCommitment keccak256(abi.encode(requester member id, salt)): who saw the
    /// document stays between holder and requester (both keep the salt) and is shown to an
    /// auditor on demand, instead of every member reading which auditor looked at which case
    /// @param documentDigest the ledger-anchored digest of the document the disclosure covered
    /// @param disclosureDigest commits to what was disclosed (the sealed answer's plaintext)
    function logDisclosure(
        bytes32 caseId,
        bytes32 requesterCommitment,
        bytes32 documentDigest,
        bytes32 disclosureDigest
    ) external {
        (bytes32 holder, uint16 callerCode) = _activeAccount(msg.sender, IConsortium.MemberKind.Customs);
        if (requesterCommitment == bytes32(0)) revert ZeroValue("requesterCommitment");
        if (documentDigest == bytes32(0)) revert ZeroValue("documentDigest");
        if (disclosureDigest == bytes32(0)) revert ZeroValue("disclosureDigest");
        uint16 originCode = _cases[caseId].originCode;
        if (originCode == 0) revert UnknownCase(caseId);
        if (callerCode != originCode && !_caseCentres[caseId][callerCode]) revert NotCaseHolder(caseId, callerCode);
        emit DisclosureLogged(caseId, holder, requesterCommitment, documentDigest, disclosureDigest);
    }

    // ------------------------------------------------------------------ views

    /// @notice A stored case (all zero if not open).
    /// @param caseId the case
    /// @return the stored case
    function getCase(bytes32 caseId) external view returns (CaseRecord memory) {
        return _cases[caseId];
    }

    /// @notice A stored return (all zero if unknown).
    /// @param returnId the return
    /// @return the stored return
    function getReturn(bytes32 returnId) external view returns (ReturnRecord memory) {
        return _returns[returnId];
    }

    /// @notice The declared and applied pieces of lines 1..lineCount of a case (empty if not open).
    /// @param caseId the case
    /// @return declared the declared pieces of each line, from the case header
    /// @return applied the pieces of each line applied for by all the case's returns
    function casePieces(bytes32 caseId) external view returns (uint32[] memory declared, uint32[] memory applied) {
        uint256 n = _cases[caseId].lineCount;
        declared = new uint32[](n);
        applied = new uint32[](n);
        for (uint256 gnum = 1; gnum <= n; ++gnum) {
            declared[gnum - 1] = _packed(_declared[caseId], gnum);
            applied[gnum - 1] = _packed(_caseApplied[caseId], gnum);
        }
    }

    /// @notice The applied, accepted and settled pieces of lines 1..lineCount of a return's case
    /// in this return (empty if the return is unknown).
    /// @param returnId the return
    /// @return applied the pieces of each line applied for
    /// @return accepted the pieces of each line accepted at inspection
    /// @return settled the pieces of each line settled so far
    function returnPieces(bytes32 returnId)
        external
        view
        returns (uint32[] memory applied, uint32[] memory accepted, uint32[] memory settled)
    {
        ReturnRecord storage r = _returns[returnId];
        uint256 n = _cases[r.caseId].lineCount;
        if (r.state == ReturnState.None) n = 0;
        applied = new uint32[](n);
        accepted = new uint32[](n);
        settled = new uint32[](n);
        for (uint256 gnum = 1; gnum <= n; ++gnum) {
            uint256 word = _returnPieces[returnId][gnum];
            applied[gnum - 1] = uint32(word >> _APPLIED);
            accepted[gnum - 1] = uint32(word >> _ACCEPTED);
            settled[gnum - 1] = uint32(word >> _SETTLED);
        }
    }

    /// @notice Where line `gnum` of a return stands (Settled once all its accepted pieces are).
    /// @param returnId the return
    /// @param gnum the line, 1..128
    /// @return the line's state (None if the return does not cover it)
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
    /// @param application the return application
    /// @return the digest under this contract's EIP-712 domain
    function hashReturnApplication(ReturnApplication calldata application) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    RETURN_APPLICATION_TYPEHASH,
                    application.returnId,
                    application.caseId,
                    application.originArea,
                    application.lineMask,
                    keccak256(abi.encodePacked(application.pieces)),
                    application.applicationDigest,
                    application.returnCentre,
                    application.deadline
                )
            )
        );
    }

    /// @notice The assessment-batch leaf of a case header.
    /// @param header the case header
    /// @return the leaf, tagged with `CASE_HEADER_TAG`
    function caseHeaderLeaf(CaseHeader calldata header) public pure returns (bytes32) {
        return keccak256(
            abi.encode(
                CASE_HEADER_TAG,
                header.caseId,
                header.originArea,
                header.platform,
                header.releaseTime,
                header.lineCount,
                keccak256(abi.encodePacked(header.pieces)),
                header.recordDigest
            )
        );
    }

    /// @notice The payment-batch leaf of a case's tax payment record.
    /// @param caseId the case
    /// @param originCode the customs code of the case's origin area
    /// @param paymentDigest the digest of the tax payment record
    /// @return the leaf, tagged with `PAYMENT_LEAF_TAG`
    function paymentLeaf(bytes32 caseId, uint16 originCode, bytes32 paymentDigest) public pure returns (bytes32) {
        return keccak256(abi.encode(PAYMENT_LEAF_TAG, caseId, originCode, paymentDigest));
    }

    /// @notice The TaxAnchor this ledger checks case headers and payments against.
    /// @return the TaxAnchor
    function taxAnchor() external view returns (ITaxAnchor) {
        return _taxAnchor;
    }

    // ------------------------------------------------------------------ internals

    /// @dev Opens a case from its header, proven under an active assessment root of the header's
    /// origin area, whose anchoring time must not precede the header's release time. The proof is
    /// checked once: a later revocation of the header leaf or its root does not undo the case (the
    /// origin disputes its returns instead), a known, documented limitation.
    function _openCase(CaseHeader calldata h, bytes32 assessmentRoot, bytes32[] calldata proof) private {
        if (h.caseId == bytes32(0)) revert ZeroValue("caseId");
        if (h.recordDigest == bytes32(0)) revert ZeroValue("recordDigest");
        CaseRecord storage c = _cases[h.caseId];
        if (c.releaseTime != 0) revert CaseAlreadyOpen(h.caseId);
        uint256 maxLines = _consortium.parameter(_MAX_LINES);
        if (h.lineCount == 0 || h.lineCount > maxLines) revert InvalidLineCount(h.lineCount, maxLines);
        if (h.pieces.length != h.lineCount) revert DeclaredPiecesMismatch(h.lineCount, h.pieces.length);
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
        _storeDeclared(h);
        _emitOpened(h, assessmentRoot);
    }

    /// @dev Keeps the header's declared pieces, eight per word; every line has at least one.
    function _storeDeclared(CaseHeader calldata h) private {
        mapping(uint256 => uint256) storage declared = _declared[h.caseId];
        uint256 word = 0;
        for (uint256 i = 0; i < h.lineCount; ++i) {
            if (h.pieces[i] == 0) revert ZeroPieces(uint8(i + 1));
            word |= uint256(h.pieces[i]) << ((i & 7) * 32);
            if (i & 7 == 7 || i + 1 == h.lineCount) {
                declared[i >> 3] = word;
                word = 0;
            }
        }
    }

    function _emitOpened(CaseHeader calldata h, bytes32 assessmentRoot) private {
        emit CaseOpened(
            h.caseId, h.originArea, h.platform, h.releaseTime, h.lineCount, h.pieces, h.recordDigest, assessmentRoot
        );
    }

    /// @dev Records a return application of an open case; the signed origin must be the case's,
    /// the sender an account of the return centre the platform named, and no line may be asked
    /// for more pieces than its declared quantity has left.
    function _apply(ReturnApplication calldata a, bytes calldata signature) private {
        CaseRecord storage c = _applicableCase(a);
        (bytes32 relay, uint16 centreCode) = _activeAccount(msg.sender, IConsortium.MemberKind.Customs);
        if (relay != a.returnCentre) revert NotNamedReturnCentre(relay, a.returnCentre);
        address signer = _recoverSigner(a, signature);
        (bytes32 signerMember,) = _activeAccount(signer, IConsortium.MemberKind.Platform);
        if (signerMember != c.platform) revert SignerNotPlatform(signer, c.platform);
        _takePieces(a);

        c.appliedMask |= a.lineMask;
        c.returnCount += 1;
        ReturnRecord storage r = _returns[a.returnId];
        r.caseId = a.caseId;
        r.centreCode = centreCode;
        r.lineMask = a.lineMask;
        r.state = ReturnState.Applied;
        r.appliedAt = uint40(block.timestamp);
        if (!_caseCentres[a.caseId][centreCode]) _caseCentres[a.caseId][centreCode] = true;
        _emitApplied(a, signer);
    }

    /// @dev The open case an application is for, once its ids, origin, deadline, lines and the
    /// apply window are checked.
    function _applicableCase(ReturnApplication calldata a) private view returns (CaseRecord storage c) {
        if (a.returnId == bytes32(0)) revert ZeroValue("returnId");
        if (a.applicationDigest == bytes32(0)) revert ZeroValue("applicationDigest");
        c = _cases[a.caseId];
        if (c.releaseTime == 0) revert UnknownCase(a.caseId);
        uint16 signedCode = _customsCodeOf(a.originArea);
        if (signedCode != c.originCode) {
            revert ApplicationOriginMismatch(a.caseId, a.originArea, signedCode, c.originCode);
        }
        if (_returns[a.returnId].state != ReturnState.None) revert ReturnIdUsed(a.returnId);
        if (a.deadline < block.timestamp) revert SignatureExpired(a.deadline, block.timestamp);
        if (a.lineMask == 0) revert EmptyLineMask(a.returnId);
        if (a.lineMask >> c.lineCount != 0) revert LinesOutOfRange(a.lineMask, c.lineCount);
        uint256 closesAt = uint256(c.releaseTime) + _consortium.parameter(_APPLY_WINDOW);
        if (block.timestamp > closesAt) revert ApplyWindowClosed(a.caseId, closesAt, block.timestamp);
    }

    function _emitApplied(ReturnApplication calldata a, address signer) private {
        emit ReturnApplied(a.returnId, a.caseId, a.returnCentre, a.lineMask, a.pieces, a.applicationDigest, signer);
    }

    /// @dev Adds the application's pieces to its case's applied pieces and to the return's,
    /// refusing a line asked for more pieces than its declared quantity has left.
    function _takePieces(ReturnApplication calldata a) private {
        _checkPiecesLength(a.lineMask, a.pieces);
        mapping(uint256 => uint256) storage declared = _declared[a.caseId];
        mapping(uint256 => uint256) storage applied = _caseApplied[a.caseId];
        mapping(uint256 => uint256) storage lines = _returnPieces[a.returnId];
        uint128 mask = a.lineMask;
        uint256 k = 0;
        for (uint256 gnum = 1; mask >> (gnum - 1) != 0; ++gnum) {
            if ((mask >> (gnum - 1)) & 1 == 0) continue;
            uint32 asked = a.pieces[k++];
            if (asked == 0) revert ZeroPieces(uint8(gnum));
            uint32 used = _packed(applied, gnum);
            uint32 left = _packed(declared, gnum) - used;
            if (asked > left) revert PiecesExceedDeclared(a.caseId, uint8(gnum), asked, left);
            _setPacked(applied, gnum, used + asked);
            lines[gnum] = uint256(asked) << _APPLIED;
        }
    }

    /// @dev Reverts unless `pieces` holds one count per line of `mask`.
    function _checkPiecesLength(uint128 mask, uint32[] calldata pieces) private pure {
        uint256 count = 0;
        for (uint128 m = mask; m != 0; m &= m - 1) ++count;
        if (pieces.length != count) revert PiecesMismatch(mask, pieces.length);
    }

    /// @dev Line `gnum`'s uint32 in a packed per-case array (eight per word).
    function _packed(mapping(uint256 => uint256) storage words, uint256 gnum) private view returns (uint32) {
        uint256 i = gnum - 1;
        return uint32(words[i >> 3] >> ((i & 7) * 32));
    }

    function _setPacked(mapping(uint256 => uint256) storage words, uint256 gnum, uint32 value) private {
        uint256 i = gnum - 1;
        uint256 shift = (i & 7) * 32;
        uint256 word = words[i >> 3] & ~(uint256(type(uint32).max) << shift);
        words[i >> 3] = word | (uint256(value) << shift);
    }

    /// @dev The customs code of `memberId` (read as `_activeMember` does), 0 unless it is a
    /// customs area. Its status does not matter: a case stays with its origin.
    function _customsCodeOf(bytes32 memberId) private view returns (uint16) {
        (IConsortium.MemberKind kind,, uint16 customsCode) = _consortium.memberInfo(memberId);
        return kind == IConsortium.MemberKind.Customs ? customsCode : 0;
    }

    function _recoverSigner(ReturnApplication calldata a, bytes calldata signature) private view returns (address) {
        (address signer, ECDSA.RecoverError err, bytes32 errArg) =
            ECDSA.tryRecover(hashReturnApplication(a), signature);
        if (err != ECDSA.RecoverError.NoError) revert InvalidSignature(err, errArg);
        return signer;
    }

    function _settleable(bytes32 returnId, uint128 lineMask, bytes32 settlementDigest)
        private
        view
        returns (ReturnRecord storage r)
    {
        r = _returnAt(returnId, ReturnState.Recognized);
        _requireOrigin(returnId, r);
        if (settlementDigest == bytes32(0)) revert ZeroValue("settlementDigest");
        if (lineMask == 0) revert EmptyLineMask(returnId);
        uint128 extra = lineMask & ~r.acceptedMask;
        if (extra != 0) revert LinesNotAccepted(returnId, extra);
    }

    /// @dev Settles `pieces` of the lines in `lineMask`, never more than accepted and not yet
    /// settled; a line whose accepted pieces are all settled joins `settledMask`, and the return
    /// is Settled when every accepted line has.
    function _settle(
        bytes32 returnId,
        ReturnRecord storage r,
        uint128 lineMask,
        uint32[] calldata pieces,
        SettlementKind kind,
        bytes32 settlementDigest,
        bool quotaAdjusted
    ) private {
        _checkPiecesLength(lineMask, pieces);
        mapping(uint256 => uint256) storage lines = _returnPieces[returnId];
        uint128 full = r.settledMask;
        uint256 k = 0;
        for (uint256 gnum = 1; lineMask >> (gnum - 1) != 0; ++gnum) {
            if ((lineMask >> (gnum - 1)) & 1 == 0) continue;
            uint32 asked = pieces[k++];
            if (asked == 0) revert ZeroPieces(uint8(gnum));
            uint256 word = lines[gnum];
            uint32 done = uint32(word >> _SETTLED);
            uint32 left = uint32(word >> _ACCEPTED) - done;
            if (asked > left) revert PiecesExceedAccepted(returnId, uint8(gnum), asked, left);
            lines[gnum] = (word & ~(uint256(type(uint32).max) << _SETTLED)) | (uint256(done + asked) << _SETTLED);
            if (asked == left) full |= uint128(1) << (gnum - 1);
        }
        r.settledMask = full;
        if (full == r.acceptedMask) r.state = ReturnState.Settled;
        emit LinesSettled(returnId, r.caseId, lineMask, pieces, kind, settlementDigest, quotaAdjusted);
    }

    function _requireReturn(bytes32 returnId) private view returns (ReturnRecord storage r) {
        r = _returns[returnId];
        if (r.state == ReturnState.None) revert UnknownReturn(returnId);
    }

    function _returnAt(bytes32 returnId, ReturnState expected) private view returns (ReturnRecord storage r) {
        r = _requireReturn(returnId);
        if (r.state != expected) revert InvalidState(returnId, expected, r.state);
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
