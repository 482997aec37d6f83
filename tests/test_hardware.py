from __future__ import annotations

import logging
from pathlib import Path

import pytest

from fer.training import hardware
from fer.training.hardware import cpu_has_bfloat16, training_precision

# Abridged from /proc/cpuinfo of the machines this project has trained on.
ZEN4 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx2 fma avx512f avx512_bf16 avx512_vnni\n"
ZEN3 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx avx2 fma f16c\n"
SAPPHIRE_RAPIDS = "processor\t: 0\nflags\t\t: avx512f amx_bf16 amx_tile amx_int8\n"
GRAVITON3 = "processor\t: 0\nBogoMIPS\t: 2100.00\nFeatures\t: fp asimd sve bf16 i8mm\n"
GRAVITON2 = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics\n"


def cpuinfo(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "expected"), [
    (ZEN4, True), (SAPPHIRE_RAPIDS, True), (GRAVITON3, True), (ZEN3, False), (GRAVITON2, False),
    ("processor\t: 0\n", None),
])
def test_the_cpu_flags_say_whether_bfloat16_is_native(tmp_path: Path, text: str, expected: bool | None) -> None:
    assert cpu_has_bfloat16(cpuinfo(tmp_path, text)) is expected


def test_a_machine_without_cpuinfo_cannot_tell(tmp_path: Path) -> None:
    assert cpu_has_bfloat16(tmp_path / "absent") is None


def test_bfloat16_falls_back_to_float32_on_a_cpu_without_it_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(hardware, "on_accelerator", lambda: False)
    with caplog.at_level(logging.WARNING, logger="fer.training.hardware"):
        assert training_precision("mixed_bfloat16", cpuinfo(tmp_path, ZEN3)) == "float32"
    assert "no bfloat16 instructions" in caplog.text


@pytest.mark.parametrize("text", [ZEN4, SAPPHIRE_RAPIDS, GRAVITON3, "processor\t: 0\n"])
def test_bfloat16_is_kept_where_the_cpu_has_it_or_cannot_tell(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(hardware, "on_accelerator", lambda: False)
    assert training_precision("mixed_bfloat16", cpuinfo(tmp_path, text)) == "mixed_bfloat16"


def test_bfloat16_is_kept_on_an_accelerator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hardware, "on_accelerator", lambda: True)
    assert training_precision("mixed_bfloat16", cpuinfo(tmp_path, ZEN3)) == "mixed_bfloat16"


def test_float32_is_never_changed(tmp_path: Path) -> None:
    assert training_precision("float32", cpuinfo(tmp_path, ZEN4)) == "float32"

