"""fer.adapter: the adapter's maths, and its file: a round trip keeps every answer, and anything that
is not a well-formed adapter of the loaded model (a pickle among them) is refused, never run."""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from fer.adapter import MAX_BYTES, Adapter, AdapterError, blend
from fer.emotions import NUM_CLASSES


def synthetic_adapter(model_sha256: str = "0" * 64, size: int = 16, seed: int = 0, w: float = 0.5,
                      known: np.ndarray | None = None) -> Adapter:
    """An adapter with a random head: what ``fer adapt`` writes, without fitting one."""
    rng = np.random.default_rng(seed)
    return Adapter(model_sha256, rng.normal(size=size).astype(np.float32),
                   rng.uniform(0.5, 2, size).astype(np.float32), rng.normal(size=(size, NUM_CLASSES)).astype(np.float32),
                   rng.normal(size=NUM_CLASSES).astype(np.float32),
                   np.ones(NUM_CLASSES, dtype=bool) if known is None else known, w, 0.01,
                   {"angry": 12, "happy": 30}, "2026-12-07", "test.embed.tflite", {"after": {"accuracy": 0.5}})


def _faces(n: int = 5, size: int = 16, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(NUM_CLASSES), n).astype(np.float32)
    return p, rng.normal(size=(n, size)).astype(np.float32)


def test_a_saved_adapter_reads_every_face_as_before(tmp_path: Path) -> None:
    adapter = synthetic_adapter()
    p, e = _faces()
    path = tmp_path / "mine.adapter"
    adapter.save(path)
    loaded = Adapter.load(path)
    np.testing.assert_array_equal(loaded.apply(p, e), adapter.apply(p, e))
    for name in ("mean", "scale", "weights", "bias", "known"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(adapter, name))
    assert (loaded.model_sha256, loaded.blend, loaded.regularisation, loaded.faces, loaded.fitted, loaded.report) == \
        (adapter.model_sha256, adapter.blend, adapter.regularisation, adapter.faces, adapter.fitted, adapter.report)
    assert Adapter.from_bytes(adapter.to_bytes()).apply(p, e).tolist() == adapter.apply(p, e).tolist()


def test_the_blend_is_the_model_at_zero_and_the_head_at_one() -> None:
    adapter = synthetic_adapter()
    p, e = _faces()
    logits = ((e - adapter.mean) / adapter.scale) @ adapter.weights + adapter.bias
    head = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(replace(adapter, blend=1.0).apply(p, e), head / head.sum(axis=1, keepdims=True),
                               rtol=1e-5)
    np.testing.assert_allclose(replace(adapter, blend=0.0).apply(p, e), p, rtol=1e-5)
    half = replace(adapter, blend=0.5).apply(p, e)
    geometric = np.sqrt(p * head / head.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(half, geometric / geometric.sum(axis=1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(half.sum(axis=1), 1.0, rtol=1e-6)


def test_a_head_fit_on_some_emotions_leaves_the_others_to_the_model() -> None:
    known = np.array([True, False, False, True, True, False, True])
    adapter = synthetic_adapter(known=known, w=1.0)
    p, e = _faces()
    adapted = adapter.apply(p, e)
    np.testing.assert_allclose(adapted[:, ~known], p[:, ~known], rtol=1e-5)  # what the model gave them, untouched
    np.testing.assert_allclose(adapted[:, known].sum(axis=1), p[:, known].sum(axis=1), rtol=1e-5)  # shared out anew
    assert not np.allclose(adapted[:, known], p[:, known], atol=1e-3)


def test_a_zero_probability_from_the_model_does_not_veto_the_head() -> None:
    p = np.zeros((1, NUM_CLASSES), dtype=np.float32)
    p[0, 6] = 1.0
    logits = np.full((1, NUM_CLASSES), -5.0)
    logits[0, 3] = 5.0
    adapted = blend(p, logits, np.ones(NUM_CLASSES, dtype=bool), 0.75)
    assert np.isfinite(adapted).all() and adapted[0, 3] > adapted[0, 0]


def test_an_adapter_of_another_model_is_refused_with_the_reason() -> None:
    adapter = synthetic_adapter("a" * 64)
    adapter.check_model("a" * 64)
    with pytest.raises(AdapterError, match="fit with another model.*python -m fer adapt"):
        adapter.check_model("b" * 64, "emotion_cnn.embed.tflite")


def _archive(**members: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **members)  # type: ignore[arg-type]
    return buffer.getvalue()


def _members(adapter: Adapter) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(adapter.to_bytes()), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def _meta(members: dict[str, np.ndarray]) -> dict:
    return json.loads(members["meta"].tobytes().decode())


def _with_meta(members: dict[str, np.ndarray], **changes: object) -> dict[str, np.ndarray]:
    meta = _meta(members) | changes
    return members | {"meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}


@pytest.mark.parametrize(("mangle", "message"), [
    (lambda m: m | {"weights": m["weights"][:, :3]}, "weights has shape"),
    (lambda m: m | {"mean": m["mean"][:-1]}, "has shape"),
    (lambda m: m | {"bias": np.full(NUM_CLASSES, np.nan, dtype=np.float32)}, "bias holds a value that is not finite"),
    (lambda m: m | {"scale": -m["scale"]}, "scale has a value that is not positive"),
    (lambda m: m | {"known": m["known"].astype(np.float32)}, "known emotions"),
    (lambda m: m | {"weights": m["weights"].astype(np.int32)}, "weights is not an array of floats"),
    (lambda m: {k: v for k, v in m.items() if k != "bias"}, "holds"),
    (lambda m: m | {"meta": np.frombuffer(b"{not json", dtype=np.uint8)}, "metadata is not JSON"),
    (lambda m: _with_meta(m, version=2), "format version 2"),
    (lambda m: _with_meta(m, format="something-else"), "format"),
    (lambda m: _with_meta(m, blend=1.5), "blend weight"),
    (lambda m: _with_meta(m, model_sha256="not-a-hash"), "SHA-256"),
    (lambda m: m | {"meta": np.frombuffer(json.dumps({k: v for k, v in _meta(m).items() if k != "fitted"}).encode(),
                                          dtype=np.uint8)}, "no 'fitted'"),
])
def test_a_malformed_adapter_is_refused_with_what_is_wrong(mangle, message: str) -> None:
    data = _archive(**mangle(_members(synthetic_adapter())))
    with pytest.raises(AdapterError, match=message):
        Adapter.from_bytes(data, source="upload.adapter")


def test_a_file_that_is_not_an_adapter_says_so(tmp_path: Path) -> None:
    good = synthetic_adapter().to_bytes()
    for data, message in ((b"", "not an adapter file"), (b"hello, world", "not an adapter file"),
                          (good[: len(good) // 2], "truncated or corrupt"), (b"PK\x03\x04" + b"\0" * 64, "truncated or corrupt")):
        with pytest.raises(AdapterError, match=message):
            Adapter.from_bytes(data)
    with pytest.raises(AdapterError, match="no adapter at"):
        Adapter.load(tmp_path / "missing.adapter")
    big = tmp_path / "big.adapter"
    big.write_bytes(b"PK\x03\x04" + b"\0" * MAX_BYTES)
    with pytest.raises(AdapterError, match="not an adapter"):
        Adapter.load(big)


def test_an_archive_that_unpacks_far_larger_than_an_adapter_is_refused_unread() -> None:
    members = _members(synthetic_adapter())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, value in members.items():
            payload = io.BytesIO()
            np.save(payload, np.zeros(4 * MAX_BYTES, dtype=np.uint8) if name == "weights" else value)
            archive.writestr(f"{name}.npy", payload.getvalue())
    assert len(buffer.getvalue()) < MAX_BYTES  # small on disk: zeros compress
    with pytest.raises(AdapterError, match="unpacks to"):
        Adapter.from_bytes(buffer.getvalue())


class _Tripwire:
    """Unpickling it writes a file: the proof that a pickle was run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.write_text, (self.marker, "pickle was run"))


def test_a_pickled_file_is_refused_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    assert pickle.loads(pickle.dumps(_Tripwire(marker))) is not None and marker.exists()  # the tripwire works
    marker.unlink()
    raw = pickle.dumps({"weights": _Tripwire(marker)})
    npy = io.BytesIO()
    np.save(npy, np.array([_Tripwire(marker)], dtype=object), allow_pickle=True)
    members = _members(synthetic_adapter())
    inside_npz = _archive(**(members | {"weights": np.array([_Tripwire(marker)], dtype=object)}))
    for data, message in ((raw, "pickle"), (npy.getvalue(), "not an adapter file"), (inside_npz, "not an adapter")):
        path = tmp_path / "stranger.adapter"
        path.write_bytes(data)
        with pytest.raises(AdapterError, match=message):
            Adapter.load(path)
        assert not marker.exists(), "loading an adapter ran a pickle"
