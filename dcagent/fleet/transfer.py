"""Block bookkeeping of one download, with its resume state on disk (no I/O to the broker).

`Transfer` knows which blocks of a manifest's file have arrived, chooses the next request
window (first missing block, up to `window` blocks, a bitmap of the missing ones), stores
blocks into a part file, and checkpoints: the part file is fsync'ed first, then the state
file (CBOR: manifest + received bitmap) is replaced atomically, so the state never claims a
block that is not on disk. A killed process resumes from the last checkpoint and does not
ask again for blocks recorded there. Used by the fetcher and by the benchmark's simulators.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import cbor2

from dcagent.fleet.errors import MessageError
from dcagent.fleet.messages import MAX_BLOCKS_PER_REQUEST, BlockRequest, BlockResponse, Manifest, bitmap_of
from host.container.writer import write_atomic

STATE_NAME = "state.cbor"
PART_NAME = "blocks.part"


class Transfer:
    """The blocks of `manifest`'s file received so far. In memory unless `folder` is given."""

    def __init__(self, manifest: Manifest, folder: Path | None = None, *, window: int = 32) -> None:
        if not 1 <= window <= MAX_BLOCKS_PER_REQUEST:
            raise ValueError(f"window must be 1..{MAX_BLOCKS_PER_REQUEST}, not {window}")
        self.manifest = manifest
        self.window = window
        self.folder = Path(folder) if folder is not None else None
        self.count = manifest.block_count
        self.received = bytearray((self.count + 7) // 8)
        self.received_count = 0
        self.duplicates = 0
        self.blocks_written_since_checkpoint = 0
        self._memory: bytearray | None = None
        self._part = None
        if self.folder is None:
            self._memory = bytearray(manifest.size)
        else:
            self._open_folder()

    # --- disk state ----------------------------------------------------------------------
    def _open_folder(self) -> None:
        assert self.folder is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        state_path, part_path = self.folder / STATE_NAME, self.folder / PART_NAME
        restored = False
        if state_path.exists() and part_path.exists():
            try:
                state = cbor2.loads(state_path.read_bytes())
                saved = Manifest.from_cbor(state["manifest"])
                bitmap = state["received"]
                if saved == self.manifest and isinstance(bitmap, bytes) and len(bitmap) == len(self.received) \
                        and part_path.stat().st_size == self.manifest.size:
                    self.received[:] = bitmap
                    self.received_count = sum(bin(b).count("1") for b in bitmap)
                    restored = True
            except (OSError, MessageError, KeyError, TypeError, ValueError, cbor2.CBORDecodeError):
                restored = False
        if not restored:
            for path in (state_path, part_path):
                path.unlink(missing_ok=True)
            with open(part_path, "wb") as handle:
                handle.truncate(self.manifest.size)
            self.checkpoint()
        self._part = open(part_path, "r+b")  # noqa: SIM115 - closed by close()

    def checkpoint(self) -> None:
        """Make the received bitmap durable (part file fsync'ed first). No-op in memory."""
        if self.folder is None:
            return
        if self._part is not None:
            self._part.flush()
            os.fsync(self._part.fileno())
        write_atomic(self.folder / STATE_NAME,
                     cbor2.dumps({"manifest": self.manifest.to_cbor(), "received": bytes(self.received)}))
        self.blocks_written_since_checkpoint = 0

    def close(self) -> None:
        if self._part is not None:
            self._part.close()
            self._part = None

    def discard(self) -> None:
        """Close and delete the on-disk state (after success, or when it is unusable)."""
        self.close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    @staticmethod
    def saved_manifest(folder: Path) -> Manifest | None:
        """The manifest of the download checkpointed in `folder`, if any and readable."""
        try:
            return Manifest.from_cbor(cbor2.loads((Path(folder) / STATE_NAME).read_bytes())["manifest"])
        except (OSError, MessageError, KeyError, TypeError, ValueError, cbor2.CBORDecodeError):
            return None

    # --- blocks --------------------------------------------------------------------------
    def has(self, index: int) -> bool:
        return bool(self.received[index // 8] >> (index % 8) & 1)

    @property
    def complete(self) -> bool:
        return self.received_count == self.count

    @property
    def bytes_received(self) -> int:
        last = self.manifest.size - (self.count - 1) * self.manifest.block_size
        full = self.received_count - (1 if self.count and self.has(self.count - 1) else 0)
        return full * self.manifest.block_size + (last if self.count and self.has(self.count - 1) else 0)

    def missing(self) -> list[int]:
        return [i for i in range(self.count) if not self.has(i)]

    def next_request(self, client_token: str) -> BlockRequest | None:
        """The request for the next window of missing blocks, or None when complete."""
        first = next((i for i in range(self.count) if not self.has(i)), None)
        if first is None:
            return None
        count = min(self.window, self.count - first)
        wanted = [i for i in range(first, first + count) if not self.has(i)]
        bitmap = None if len(wanted) == count else bitmap_of(wanted, first, count)
        return BlockRequest(client_token=client_token, file_id=0, block_size=self.manifest.block_size,
                            offset=first, count=count, bitmap=bitmap)

    def accept(self, response: BlockResponse) -> bool:
        """Store a block. True when it was new; False for a duplicate or a block of another
        size/file (ignored). Raises MessageError for a block whose index or length is wrong."""
        if response.block_size != self.manifest.block_size or response.file_id != 0:
            return False
        index = response.index
        if index >= self.count:
            raise MessageError(f"block {index} is beyond the last block {self.count - 1}", field="response.i")
        start = index * self.manifest.block_size
        expected = min(self.manifest.block_size, self.manifest.size - start)
        if len(response.payload) != expected:
            raise MessageError(f"block {index} has {len(response.payload)} bytes, expected {expected}",
                               field="response.p")
        if self.has(index):
            self.duplicates += 1
            return False
        if self._memory is not None:
            self._memory[start:start + expected] = response.payload
        else:
            assert self._part is not None
            self._part.seek(start)
            self._part.write(response.payload)
            self.blocks_written_since_checkpoint += 1
        self.received[index // 8] |= 1 << (index % 8)
        self.received_count += 1
        return True

    def data(self) -> bytes:
        """The assembled file (call when complete)."""
        if self._memory is not None:
            return bytes(self._memory)
        assert self._part is not None
        self._part.flush()
        self._part.seek(0)
        return self._part.read()

    def sha256(self) -> bytes:
        return hashlib.sha256(self.data()).digest()
