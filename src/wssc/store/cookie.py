"""Cookie mode (``require_cancellation=False``): the session travels in the SCT, sealed.

The service keeps no state. The ``dnse:Cookie`` is the `SessionRecord`'s binary form,
encrypted and authenticated with AES-256-GCM under the current key of a `KeyRing`; every
node of a farm holding the ring opens it, and the ring rotates without breaking live cookies.
(WCF's DPAPI cookie only opens on the machine that wrote it.) Layout::

    offset   size  field
    0        1     cookie version (2)
    1        16    endpoint tag: SHA-256 of the issuing endpoint's address, first 16 bytes
    17       1     n = length of the key id (1..16)
    18       n     key id (printable ASCII)
    18+n     12    GCM nonce (random)
    30+n     ...   ciphertext of SessionRecord.to_bytes()
    end-16   16    GCM tag; additional authenticated data = bytes 0 .. 18+n (version, endpoint
                   tag, n, key id)

The endpoint tag names the endpoint that issued the cookie (`CookieCodec` ``endpoint``),
so that a cookie captured at one endpoint is refused at another even when both hold the same
key ring: the tag is compared before anything is decrypted, and GCM authenticates it.
Version 1 cookies (no tag) are refused.

`CookieCodec.open` refuses (``BadContextToken``) a cookie that is oversized (checked
before any decryption), malformed, sealed under an unknown key id, unauthentic, not for the
SCT's ``Identifier``/``Instance`` it arrived in, or expired.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from wssc.crypto.primitives import aes_gcm_decrypt, aes_gcm_encrypt
from wssc.errors import BadContextToken, ConfigurationError, FailedCheck
from wssc.store.record import RecordFormatError, SessionRecord
from wssc.xml import ns

COOKIE_VERSION: Final = 2
ENDPOINT_TAG_SIZE: Final = 16
KEY_SIZE: Final = 32
MAX_KEY_ID: Final = 16
#: Cookies larger than this are refused before decryption.
MAX_COOKIE_SIZE: Final = 4096
_GCM_OVERHEAD: Final = 12 + 16
_FILE_FORMAT: Final = "wssc-cookie-keyring"


def _key_id(value: str | bytes) -> bytes:
    raw = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else bytes(value)
    if not 1 <= len(raw) <= MAX_KEY_ID or not all(0x21 <= b <= 0x7E for b in raw):
        raise ConfigurationError(f"a cookie key id must be 1..{MAX_KEY_ID} printable ASCII characters")
    return raw


def _key(value: bytes) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != KEY_SIZE:
        raise ConfigurationError(f"a cookie key must be {KEY_SIZE} bytes (AES-256)")
    return bytes(value)


class KeyRing:
    """Named AES-256-GCM keys: the *current* one seals, every one present opens.

    Rotation: ``rotate("2025-07")`` makes a fresh key current while older cookies keep opening;
    ``retire("2025-01")`` once they have expired (``issued_cookie_lifetime``). Key ids are
    1..16 printable ASCII characters. The repr names the ids and never shows a key.
    """

    __slots__ = ("_lock", "_state", "generated")

    def __init__(self, keys: Mapping[str | bytes, bytes], current: str | bytes) -> None:
        parsed = {_key_id(k): _key(v) for k, v in keys.items()}
        cur = _key_id(current)
        if cur not in parsed:
            raise ConfigurationError("the current cookie key id is not in the key ring")
        # (keys, current id), replaced as a whole so readers never need the lock.
        self._state: tuple[dict[bytes, bytes], bytes] = (parsed, cur)
        self._lock = threading.Lock()
        #: True for a ring made by `generate` in this process (no other process has it)
        self.generated = False

    @classmethod
    def generate(cls, key_id: str | bytes = "k1") -> KeyRing:
        """A ring with one fresh random key."""
        ring = cls({key_id: os.urandom(KEY_SIZE)}, key_id)
        ring.generated = True
        return ring

    def __repr__(self) -> str:
        keys, cur = self._state
        ids = ", ".join(k.decode() for k in keys)
        return f"KeyRing(current={cur.decode()!r}, ids=[{ids}])"

    @property
    def current_id(self) -> bytes:
        return self._state[1]

    @property
    def key_ids(self) -> tuple[bytes, ...]:
        return tuple(self._state[0])

    def current(self) -> tuple[bytes, bytes]:
        """``(key id, key)`` to seal with."""
        keys, cur = self._state
        return cur, keys[cur]

    def get(self, key_id: bytes) -> bytes | None:
        """The key named ``key_id``, or None."""
        return self._state[0].get(key_id)

    def rotate(self, new_id: str | bytes, new_key: bytes | None = None) -> None:
        """Add ``new_id`` (a random key unless given) and make it current."""
        kid = _key_id(new_id)
        key = _key(new_key) if new_key is not None else os.urandom(KEY_SIZE)
        with self._lock:
            keys, _ = self._state
            if kid in keys:
                raise ConfigurationError("that cookie key id is already in the key ring")
            self._state = ({**keys, kid: key}, kid)

    def retire(self, key_id: str | bytes) -> None:
        """Forget a key: cookies sealed under it stop opening. The current key cannot go."""
        kid = _key_id(key_id)
        with self._lock:
            keys, cur = self._state
            if kid == cur:
                raise ConfigurationError("cannot retire the current cookie key; rotate first")
            if kid not in keys:
                raise ConfigurationError("that cookie key id is not in the key ring")
            self._state = ({k: v for k, v in keys.items() if k != kid}, cur)

    def to_json(self) -> str:
        """``{"format": "wssc-cookie-keyring", "version": 1, "current": id, "keys": {id: b64}}``"""
        keys, cur = self._state
        return json.dumps(
            {
                "format": _FILE_FORMAT,
                "version": 1,
                "current": cur.decode(),
                "keys": {k.decode(): base64.b64encode(v).decode() for k, v in keys.items()},
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> KeyRing:
        try:
            doc: Any = json.loads(text)
            if doc.get("format") != _FILE_FORMAT or doc.get("version") != 1:
                raise ConfigurationError("not a version 1 wssc cookie key ring")
            keys = {k: base64.b64decode(v, validate=True) for k, v in doc["keys"].items()}
            return cls(keys, doc["current"])
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise ConfigurationError(f"invalid cookie key ring: {type(exc).__name__}") from None

    def to_file(self, path: str | os.PathLike[str]) -> None:
        """Write the ring as JSON (base64 keys), atomically, readable by the owner only."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(self.to_json())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> KeyRing:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


def endpoint_tag(endpoint: str) -> bytes:
    """The cookie's name for the endpoint at ``endpoint`` (its address, exactly as configured:
    every node of a farm that shares a key ring must be given the same address)."""
    return hashlib.sha256(endpoint.encode("utf-8", "surrogatepass")).digest()[:ENDPOINT_TAG_SIZE]


class CookieCodec:
    """Seals and opens ``dnse:Cookie`` values under a `KeyRing`, for the endpoint at
    ``endpoint`` (its address; ``""`` for a codec used outside a service)."""

    __slots__ = ("endpoint", "keyring", "max_size", "tag")

    def __init__(self, keyring: KeyRing, *, endpoint: str = "", max_size: int = MAX_COOKIE_SIZE) -> None:
        self.keyring = keyring
        self.max_size = max_size
        self.endpoint = endpoint
        self.tag = endpoint_tag(endpoint)

    def __repr__(self) -> str:
        return f"CookieCodec({self.keyring!r}, endpoint={self.endpoint!r})"

    def seal(self, record: SessionRecord) -> bytes:
        kid, key = self.keyring.current()
        header = bytes([COOKIE_VERSION]) + self.tag + bytes([len(kid)]) + kid
        cookie = header + aes_gcm_encrypt(key, record.to_bytes(), header)
        if len(cookie) > self.max_size:
            raise ConfigurationError("the session does not fit in a cookie")
        return cookie

    def open(
        self,
        data: bytes,
        *,
        context_id: str,
        instance: str | None,
        now: float,
        sc_ns: str = ns.SC_2005,
    ) -> SessionRecord:
        """Open and check a cookie from an SCT with ``context_id``/``instance``.

        ``sc_ns`` only chooses the namespace of the ``BadContextToken`` fault code.
        """

        def bad(detail: str) -> BadContextToken:
            return BadContextToken(detail, sc_ns=sc_ns)

        if len(data) > self.max_size:
            raise bad("cookie too large")
        if len(data) < 1 or data[0] != COOKIE_VERSION:
            raise bad("unknown cookie version")
        k = 1 + ENDPOINT_TAG_SIZE  # offset of n
        if len(data) < k + 1:
            raise bad("malformed cookie")
        n = data[k]
        if not 1 <= n <= MAX_KEY_ID or len(data) < k + 1 + n + _GCM_OVERHEAD:
            raise bad("malformed cookie")
        header = bytes(data[: k + 1 + n])
        if not hmac.compare_digest(header[1:k], self.tag):
            raise bad("cookie was issued by another endpoint")
        key = self.keyring.get(header[k + 1 :])
        if key is None:
            raise bad("unknown cookie key id")
        try:
            record = SessionRecord.from_bytes(aes_gcm_decrypt(key, bytes(data[k + 1 + n :]), header))
        except FailedCheck:
            raise bad("cookie failed authentication") from None
        except RecordFormatError:
            raise bad("malformed cookie content") from None
        if record.context_id != context_id:
            raise bad("cookie does not belong to this security context token")
        if record.instance != instance:
            raise bad("cookie does not match the token's key generation")
        if record.expires <= now:
            raise bad("cookie expired")
        return record
