// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title Errors raised when the Consortium checks who controls a member's keys and profile.
/// @notice Kept apart from IConsortiumErrors, which the other CrossReturn contracts inherit:
/// only the Consortium raises these.
interface IConsortiumKeyErrors {
    /// @notice The new account did not sign the registration or possession proof shown for it.
    /// @param signer the account the proof recovers to (zero for a malformed signature)
    error PossessionNotProven(bytes32 memberId, address account, address signer);
    /// @notice The signature is not by an active account of the member it acts for.
    /// @param signer the account the signature recovers to (zero for a malformed signature)
    error NotAuthorisedByMember(bytes32 memberId, address signer);
    /// @notice The member's signed authorisation was relayed after its deadline.
    error AuthorisationExpired(bytes32 memberId, uint256 deadline, uint256 timestamp);
}
