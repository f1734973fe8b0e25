// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IReturnLedger} from "./IReturnLedger.sol";

/// @title Errors raised by the ReturnLedger contract.
interface IReturnLedgerErrors {
    /// @notice Ids and digests must be non-zero.
    /// @param field the name of the zero field, ASCII right-padded with zero bytes, as its
    /// function parameter or struct member is named (e.g. `bytes32("arrivalDigest")`)
    error ZeroValue(bytes32 field);
    /// @notice The case header and the application name different cases.
    error CaseMismatch(bytes32 headerCaseId, bytes32 applicationCaseId);
    /// @notice The case header names another origin area than the signed application.
    error OriginMismatch(bytes32 headerOrigin, bytes32 signedOrigin);
    /// @notice The signed application names another origin than the open case's (`signedCode` is
    /// the customs code of `signedOrigin`, 0 if it is no customs area).
    error ApplicationOriginMismatch(bytes32 caseId, bytes32 signedOrigin, uint16 signedCode, uint16 originCode);
    /// @notice The case header claims a release after its assessment batch was anchored.
    error ReleaseAfterAnchoring(uint64 releaseTime, uint40 anchoredAt);
    /// @notice The case is open already; apply with `applyForReturn`.
    error CaseAlreadyOpen(bytes32 caseId);
    /// @notice No case has this id.
    error UnknownCase(bytes32 caseId);
    /// @notice An inventory list has 1..maxLines lines.
    error InvalidLineCount(uint8 lineCount, uint256 maxLines);
    /// @notice The release time lies after the current ledger time.
    error ReleaseInFuture(uint64 releaseTime, uint256 nowTime);
    /// @notice The return id was used before.
    error ReturnIdUsed(bytes32 returnId);
    /// @notice No return has this id.
    error UnknownReturn(bytes32 returnId);
    /// @notice A return covers at least one line, and a settlement settles at least one.
    /// @param returnId the return applied for or settled
    error EmptyLineMask(bytes32 returnId);
    /// @notice The mask names lines beyond the inventory list's line count.
    error LinesOutOfRange(uint128 lineMask, uint8 lineCount);
    /// @notice A piece array does not hold one count per line of its mask.
    error PiecesMismatch(uint128 lineMask, uint256 piecesLength);
    /// @notice Every line named carries at least one piece.
    error ZeroPieces(uint8 gnum);
    /// @notice The header's declared pieces are not one count per line.
    error DeclaredPiecesMismatch(uint8 lineCount, uint256 piecesLength);
    /// @notice More pieces asked back of line `gnum` than its declared quantity has left.
    error PiecesExceedDeclared(bytes32 caseId, uint8 gnum, uint32 requested, uint32 left);
    /// @notice More pieces accepted of line `gnum` than this return applied for.
    error PiecesExceedApplied(bytes32 returnId, uint8 gnum, uint32 accepted, uint32 applied);
    /// @notice More pieces settled of line `gnum` than accepted and not yet settled.
    error PiecesExceedAccepted(bytes32 returnId, uint8 gnum, uint32 requested, uint32 left);
    /// @notice Only an account of the return centre the platform named relays its application.
    error NotNamedReturnCentre(bytes32 caller, bytes32 returnCentre);
    /// @notice The apply window (release + APPLY_WINDOW) has closed.
    error ApplyWindowClosed(bytes32 caseId, uint256 closedAt, uint256 nowTime);
    /// @notice The platform's signature expired.
    error SignatureExpired(uint64 deadline, uint256 nowTime);
    /// @notice The signature is malformed: no account can be recovered from it.
    /// @param recoverError why, as OpenZeppelin's `ECDSA.tryRecover` reports it (1
    /// InvalidSignature, 2 InvalidSignatureLength, 3 InvalidSignatureS)
    /// @param errorArg the signature's length for InvalidSignatureLength, its `s` for
    /// InvalidSignatureS, otherwise zero
    error InvalidSignature(ECDSA.RecoverError recoverError, bytes32 errorArg);
    /// @notice The signer is not an account of the case's platform.
    error SignerNotPlatform(address signer, bytes32 platform);
    /// @notice The return is in another state than the step needs.
    /// @param expected the state the step needs (recognition also takes Disputed and names
    /// Inspected)
    /// @param actual the return's state
    error InvalidState(bytes32 returnId, IReturnLedger.ReturnState expected, IReturnLedger.ReturnState actual);
    /// @notice Only the return centre named in the application records this step.
    error NotReturnCentre(bytes32 returnId, uint16 callerCode, uint16 centreCode);
    /// @notice Only the case's origin area records this step.
    error NotOriginArea(bytes32 returnId, uint16 callerCode, uint16 originCode);
    /// @notice The mask names lines that were not applied for in this return.
    error LinesNotApplied(bytes32 returnId, uint128 extra);
    /// @notice Goods that arrived after the arrival window can only be rejected.
    error LateArrivalMustBeRejected(bytes32 returnId, uint128 acceptedMask);
    /// @notice Only the case's origin area or the return centre of one of its returns logs a
    /// disclosure of the case (`callerCode` is the caller's customs code).
    error NotCaseHolder(bytes32 caseId, uint16 callerCode);
    /// @notice The mask names lines that inspection did not accept.
    error LinesNotAccepted(bytes32 returnId, uint128 extra);
}
