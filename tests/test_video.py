from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fer.classifier import EmotionClassifier
from fer.detection import make_detector
from fer.pipeline import EmotionPipeline
from fer.video import AnnotatedVideoWriter, VideoError, analyse_video, iter_frames, probe_video


def test_writer_output_reads_back_with_every_frame(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    with AnnotatedVideoWriter(path, fps=10) as writer:
        for i in range(12):
            writer.write(np.full((61, 81, 3), i * 20, np.uint8))  # odd sides are trimmed to even
    info = probe_video(path)
    assert (info.width, info.height) == (80, 60) and info.fps == pytest.approx(10)
    frames = list(iter_frames(path))
    assert len(frames) == 12
    assert frames[5][1] == pytest.approx(0.5)  # timestamps in seconds
    assert abs(int(frames[5][2].mean()) - 100) < 4


def test_unreadable_videos_raise_video_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all " * 50)
    for path in (empty, text):
        with pytest.raises(VideoError):
            probe_video(path)


@pytest.mark.slow
def test_analyse_real_video_every_kth_frame(media: Path, tmp_path: Path, tiny_model) -> None:
    pipeline = EmotionPipeline(make_detector(), EmotionClassifier(tiny_model.predict_on_batch))
    seen: list[tuple[int, int]] = []
    out = tmp_path / "annotated.mp4"
    analysis = analyse_video(media / "test.mp4", pipeline, every=5, annotated_path=out,
                             on_progress=lambda done, total: seen.append((done, total)))
    assert analysis.frames_decoded == 115
    assert [r.index for r in analysis.frames] == list(range(0, 115, 5))
    times = [r.time_s for r in analysis.frames]
    assert times == sorted(times) and times[1] == pytest.approx(5 / 24.7, abs=0.01)
    assert sum(len(r.faces) == 1 for r in analysis.frames) >= 20
    assert {f.track_id for r in analysis.frames for f in r.faces} == {0}  # one person, one track
    assert seen[-1] == (115, 115)
    assert len(list(iter_frames(out))) == 115  # the annotated copy keeps every frame
