"""A small consortium on eth-tester for contract tests: three customs areas, two platforms.

Hangzhou (2900) is the return centre; Ningbo (3100) and Zhengzhou (4600) are origins. Ningbo
sponsors platform A, Zhengzhou platform B. Builders anchor case headers and sign applications
the way gateways and return enterprises do.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_account import Account
from eth_tester import EthereumTester, PyEVMBackend
from eth_typing import ChecksumAddress
from web3 import EthereumTesterProvider, Web3
from web3.types import TxReceipt

from clients.bindings import (
    DEFAULT_GAS,
    BatchKind,
    Contracts,
    Founder,
    deploy_contracts,
    member_id,
    transact,
)
from clients.commitments.ledger_leaves import CaseHeader, payment_leaf
from clients.commitments.merkle import MerkleTree
from clients.errors import ContractRevert
from clients.member_signing import (
    AccountAddition,
    AccountPossession,
    AccountRemoval,
    MemberMessage,
    MemberRegistration,
    ProfileUpdate,
    sign_member_message,
)
from clients.signing import ReturnApplicationTerms, sign_return_application

DAY = 24 * 3600
HZ = member_id("customs-2900")
NB = member_id("customs-3100")
ZZ = member_id("customs-4600")
PLATFORM_A = member_id("platform-a")
PLATFORM_B = member_id("platform-b")
AUDITOR = member_id("auditor-1")
AREA_CODES = {HZ: 2900, NB: 3100, ZZ: 4600}


def random32() -> bytes:
    """A fresh random 32-byte value (ids, digests)."""
    return secrets.token_bytes(32)


def field_name(name: str) -> bytes:
    """The bytes32 by which a `ZeroValue` error names the field that was zero."""
    return name.encode("ascii").ljust(32, b"\0")


@contextmanager
def expect_revert(name: str, args: dict[str, Any] | None = None) -> Iterator[None]:
    """Assert the block raises ContractRevert of the custom error `name` (with `args` if given)."""
    with pytest.raises(ContractRevert) as info:
        yield
    assert info.value.name == name, f"expected {name}, got {info.value}"
    if args is not None:
        assert info.value.args_dict == args, info.value.args_dict


@dataclass
class AnchoredCase:
    """A case header anchored in an assessment batch, with what opening it needs."""

    header: CaseHeader
    root: bytes
    proof: list[bytes]


@dataclass
class World:
    """The deployed consortium and the accounts that act in it."""

    tester: EthereumTester
    w3: Web3
    c: Contracts
    deployer: str
    hz: str
    nb: str
    zz: str
    outsider: str
    spare: list[ChecksumAddress]
    platform_a_key: Any
    platform_b_key: Any
    area_accounts: dict[bytes, str] = field(default_factory=dict)
    keys: dict[str, bytes] = field(default_factory=dict)  # account -> private key

    # ------------------------------------------------------------ time

    def now(self) -> int:
        """The latest block's timestamp."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def travel_to(self, timestamp: int) -> None:
        """Move ledger time forward so the next block has `timestamp` (mines one block)."""
        self.tester.time_travel(timestamp)

    # ------------------------------------------------------------ builders

    def anchor_cases(
        self,
        origin: bytes,
        platform: bytes,
        count: int = 1,
        line_count: int = 3,
        release_time: int | None = None,
        filler: int = 4,
        pieces: tuple[int, ...] | None = None,
    ) -> list[AnchoredCase]:
        """Anchor `count` case headers (plus `filler` unrelated leaves) in one assessment batch;
        each declares `pieces` per line (one piece per line unless given)."""
        release = release_time if release_time is not None else self.now()
        declared = pieces if pieces is not None else (1,) * line_count
        headers = [
            CaseHeader(random32(), origin, platform, release, line_count, random32(), declared)
            for _ in range(count)
        ]
        leaves = [h.leaf() for h in headers] + [random32() for _ in range(filler)]
        tree = MerkleTree(leaves)
        self.send(
            self.c.tax_anchor.functions.anchor(tree.root, BatchKind.ASSESSMENT, len(leaves)),
            self.area_accounts[origin],
        )
        return [AnchoredCase(h, tree.root, tree.proof(h.leaf())) for h in headers]

    def anchor_payment(self, origin: bytes, case_id: bytes) -> tuple[bytes, bytes, list[bytes]]:
        """Anchor a payment batch holding the payment leaf of `case_id`: (root, digest, proof)."""
        digest = random32()
        leaf = payment_leaf(case_id, AREA_CODES[origin], digest)
        tree = MerkleTree([leaf, random32(), random32()])
        self.send(
            self.c.tax_anchor.functions.anchor(tree.root, BatchKind.PAYMENT, 3),
            self.area_accounts[origin],
        )
        return tree.root, digest, tree.proof(leaf)

    def terms(
        self,
        case_id: bytes,
        lines: int,
        return_centre: bytes = HZ,
        deadline: int | None = None,
        return_id: bytes | None = None,
        origin_area: bytes = NB,
        pieces: tuple[int, ...] | None = None,
    ) -> ReturnApplicationTerms:
        """Return application terms for a line mask, of a case whose origin is `origin_area`
        (Ningbo, the usual origin here, unless given), asking `pieces` of each line in the mask
        (one piece per line unless given)."""
        return ReturnApplicationTerms(
            return_id=return_id or random32(),
            case_id=case_id,
            origin_area=origin_area,
            line_mask=lines,
            pieces=pieces if pieces is not None else (1,) * lines.bit_count(),
            application_digest=random32(),
            return_centre=return_centre,
            deadline=deadline if deadline is not None else self.now() + 30 * DAY,
        )

    def sign(self, terms: ReturnApplicationTerms, key: Any) -> bytes:
        """A platform account's EIP-712 signature over `terms`."""
        return sign_return_application(
            terms, key.key, self.w3.eth.chain_id, self.c.return_ledger.address
        )

    def open_and_apply(
        self,
        case: AnchoredCase,
        terms: ReturnApplicationTerms,
        key: Any,
        sender: str | None = None,
        gas: int = DEFAULT_GAS,
    ) -> TxReceipt:
        """Open the case and record the first application, relayed by the return centre the
        terms name (Hangzhou's account if that is not a customs area) unless `sender` is given."""
        fn = self.c.return_ledger.functions.openCaseAndApply(
            case.header.as_tuple(), case.root, case.proof, terms.as_tuple(), self.sign(terms, key)
        )
        return self.send(fn, sender or self.relay_of(terms), gas)

    def apply_for_return(
        self, terms: ReturnApplicationTerms, key: Any, sender: str | None = None
    ) -> TxReceipt:
        """Record a further application of an open case, relayed as `open_and_apply` does."""
        fn = self.c.return_ledger.functions.applyForReturn(terms.as_tuple(), self.sign(terms, key))
        return self.send(fn, sender or self.relay_of(terms))

    def relay_of(self, terms: ReturnApplicationTerms) -> str:
        """The account that relays `terms`: the named return centre's (the ledger requires it),
        Hangzhou's when the named centre is no customs area here."""
        return self.area_accounts.get(terms.return_centre, self.hz)

    # ------------------------------------------------------------ Consortium signatures

    def key_of(self, account: str) -> bytes:
        """The private key of an eth-tester account or of a key this world made."""
        return self.keys[Web3.to_checksum_address(account)]

    def sign_member(self, message: MemberMessage, signer: str | bytes) -> bytes:
        """A Consortium EIP-712 signature by `signer` (an account of this world, or a key)."""
        key = signer if isinstance(signer, bytes) else self.key_of(signer)
        chain_id = self.w3.eth.chain_id
        return sign_member_message(message, key, chain_id, self.c.consortium.address)

    def possession_nonce(self, account: str) -> int:
        """The nonce `account`'s next registration or possession proof carries."""
        return int(self.c.consortium.functions.possessionNonce(account).call())

    def member_nonce(self, member: bytes) -> int:
        """The nonce `member`'s next signed authorisation carries."""
        return int(self.c.consortium.functions.memberNonce(member).call())

    def registration(
        self, member: bytes, account: str, encryption_key: bytes = b"", gateway_url: str = ""
    ) -> bytes:
        """`account`'s MemberRegistration signature: it accepts being `member`'s first account
        with this profile."""
        nonce = self.possession_nonce(account)
        message = MemberRegistration(member, account, encryption_key, gateway_url, nonce)
        return self.sign_member(message, account)

    def possession(self, member: bytes, account: str, signer: str | None = None) -> bytes:
        """An AccountPossession proof of `account` for `member`, signed by `signer` (default
        the account itself)."""
        message = AccountPossession(member, account, self.possession_nonce(account))
        return self.sign_member(message, signer or account)

    def authorise_addition(
        self, member: bytes, account: str, signer: str, deadline: int | None = None
    ) -> tuple[int, bytes]:
        """(deadline, `signer`'s AccountAddition signature) for `member`."""
        until = deadline if deadline is not None else self.now() + DAY
        message = AccountAddition(member, account, self.member_nonce(member), until)
        return until, self.sign_member(message, signer)

    def authorise_removal(
        self, member: bytes, account: str, signer: str, deadline: int | None = None
    ) -> tuple[int, bytes]:
        """(deadline, `signer`'s AccountRemoval signature) for `member`."""
        until = deadline if deadline is not None else self.now() + DAY
        message = AccountRemoval(member, account, self.member_nonce(member), until)
        return until, self.sign_member(message, signer)

    def authorise_profile(
        self,
        member: bytes,
        encryption_key: bytes,
        gateway_url: str,
        signer: str,
        deadline: int | None = None,
    ) -> tuple[int, bytes]:
        """(deadline, `signer`'s ProfileUpdate signature) for `member`."""
        until = deadline if deadline is not None else self.now() + DAY
        nonce = self.member_nonce(member)
        message = ProfileUpdate(member, encryption_key, gateway_url, nonce, until)
        return until, self.sign_member(message, signer)

    def add_own_account(
        self, member: bytes, account: str, signer: str, relayer: str | None = None
    ) -> TxReceipt:
        """`member` adds `account` on `signer`'s (one of its accounts) signed authorisation,
        relayed by `relayer` (default the outsider: anyone may relay)."""
        deadline, authorisation = self.authorise_addition(member, account, signer)
        possession = self.possession(member, account)
        fn = self.c.consortium.functions.addAccountBySig(
            member, account, deadline, authorisation, possession
        )
        return self.send(fn, relayer or self.outsider)

    def remove_own_account(
        self, member: bytes, account: str, signer: str, relayer: str | None = None
    ) -> TxReceipt:
        """`member` removes `account` on `signer`'s signed authorisation, relayed by `relayer`."""
        deadline, authorisation = self.authorise_removal(member, account, signer)
        fn = self.c.consortium.functions.removeAccountBySig(
            member, account, deadline, authorisation
        )
        return self.send(fn, relayer or self.outsider)

    def new_account(self) -> str:
        """A fresh key known to this world (no ether: it only signs); its address."""
        account = Account.create()
        self.keys[account.address] = bytes(account.key)
        return str(account.address)

    def send(self, fn: Any, sender: str, gas: int = DEFAULT_GAS) -> TxReceipt:
        """Transact (explicit gas) and return the receipt; reverts raise ContractRevert."""
        return transact(fn, sender, gas)


def build_world() -> World:
    """Deploy the consortium with founders 2900/3100/4600 (threshold 2) and two platforms."""
    tester = EthereumTester(PyEVMBackend())
    w3 = Web3(EthereumTesterProvider(tester))
    accounts = list(w3.eth.accounts)
    deployer, hz, nb, zz, outsider = accounts[:5]
    founders = [
        Founder(HZ, 2900, hz, b"\x01" * 32, "http://127.0.0.1:8291"),
        Founder(NB, 3100, nb, b"\x02" * 32, "http://127.0.0.1:8231"),
        Founder(ZZ, 4600, zz, b"\x03" * 32, "http://127.0.0.1:8246"),
    ]
    contracts = deploy_contracts(w3, deployer, founders, threshold=2)
    key_a = Account.from_key(b"\xa1" * 32)
    key_b = Account.from_key(b"\xb2" * 32)
    world = World(
        tester=tester,
        w3=w3,
        c=contracts,
        deployer=deployer,
        hz=hz,
        nb=nb,
        zz=zz,
        outsider=outsider,
        spare=accounts[5:],
        platform_a_key=key_a,
        platform_b_key=key_b,
        area_accounts={HZ: hz, NB: nb, ZZ: zz},
    )
    for private in tester.backend.account_keys:
        world.keys[private.public_key.to_checksum_address()] = private.to_bytes()
    for key in (key_a, key_b):
        world.keys[key.address] = bytes(key.key)
    register = contracts.consortium.functions.registerPlatform
    for platform, key, sponsor, url in (
        (PLATFORM_A, key_a, nb, "https://platform-a.example"),
        (PLATFORM_B, key_b, zz, "https://platform-b.example"),
    ):
        proof = world.registration(platform, key.address, b"", url)
        world.send(register(platform, key.address, b"", url, proof), sponsor)
    return world
