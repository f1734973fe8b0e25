// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IReturnLedger} from "./IReturnLedger.sol";

/// @title Events emitted by the ReturnLedger contract; each step anchors its document's digest.
interface IReturnLedgerEvents {
    /// @notice A case was opened from its anchored case header by its first return application;
    /// `pieces` are the declared piece counts of lines 1..lineCount.
    event CaseOpened(
        bytes32 indexed caseId,
        bytes32 indexed originArea,
        bytes32 indexed platform,
        uint64 releaseTime,
        uint8 lineCount,
        uint32[] pieces,
        bytes32 recordDigest,
        bytes32 assessmentRoot
    );
    /// @notice A return enterprise's signed application was recorded.
    /// @param pieces the pieces asked back of each line in `lineMask`
    /// @param signer the platform account whose EIP-712 signature was verified
    event ReturnApplied(
        bytes32 indexed returnId,
        bytes32 indexed caseId,
        bytes32 indexed returnCentre,
        uint128 lineMask,
        uint32[] pieces,
        bytes32 applicationDigest,
        address signer
    );
    /// @notice The return centre recorded the goods' arrival; `late` when after the arrival window.
    event ArrivalRecorded(bytes32 indexed returnId, bytes32 indexed caseId, bool late, bytes32 arrivalDigest);
    /// @notice The return centre recorded the inspection outcome per line: the pieces accepted
    /// back of each line in `acceptedMask`.
    event InspectionRecorded(
        bytes32 indexed returnId,
        bytes32 indexed caseId,
        uint128 acceptedMask,
        uint32[] acceptedPieces,
        bytes32 reportDigest
    );
    /// @notice The origin area recognised the return centre's result.
    event ReturnRecognized(bytes32 indexed returnId, bytes32 indexed caseId, bytes32 decisionDigest);
    /// @notice The origin area disputed the return centre's result.
    event ReturnDisputed(bytes32 indexed returnId, bytes32 indexed caseId, bytes32 reasonDigest);
    /// @notice The origin area settled pieces of lines of a return: tax not levied or refunded.
    event LinesSettled(
        bytes32 indexed returnId,
        bytes32 indexed caseId,
        uint128 lineMask,
        uint32[] pieces,
        IReturnLedger.SettlementKind kind,
        bytes32 settlementDigest,
        bool quotaAdjusted
    );
    /// @notice A holder area (the case's origin or a return centre of it) disclosed part of the
    /// document `documentDigest` of a case to a member it names only by a salted commitment.
    /// @param requesterCommitment keccak256(abi.encode(requester member id, salt)); not indexed:
    /// it is no key to filter by
    event DisclosureLogged(
        bytes32 indexed caseId,
        bytes32 indexed holder,
        bytes32 requesterCommitment,
        bytes32 documentDigest,
        bytes32 disclosureDigest
    );
}
