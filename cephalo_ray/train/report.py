"""What a run leaves for people: TensorBoard scalars, a loss-curve PNG, and a short VQA accuracy of the
exported model on validation questions (exact match and token F1 against the reference answers)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cephalo_ray.metrics import exact_match, token_f1


class ScalarLog:
    """TensorBoard scalars on rank 0 (a no-op elsewhere, or when tensorboard is not installed)."""

    def __init__(self, folder: Path, enabled: bool) -> None:
        self.writer: Any = None
        if enabled:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                return
            self.writer = SummaryWriter(log_dir=str(folder))

    def add(self, step: int, **values: float) -> None:
        if self.writer is not None:
            for name, value in values.items():
                self.writer.add_scalar(name, value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def plot_loss_curve(steps_log: Path, val_points: list[tuple[int, float]], target: Path) -> None:
    """Train loss per step (and validation loss points) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [json.loads(line) for line in steps_log.read_text().splitlines() if line.strip()]
    last_by_step = {
        record["step"]: record["loss"] for record in records
    }  # a resumed run logs some steps twice
    figure, axes = plt.subplots(figsize=(6, 3.5), dpi=120)
    axes.plot(list(last_by_step), list(last_by_step.values()), label="train loss", linewidth=1.2)
    if val_points:
        axes.plot(*zip(*val_points, strict=True), "o-", label="validation loss")
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.legend()
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(target)
    plt.close(figure)


def vqa_accuracy(
    model_dir: Path, rows: Iterable[dict[str, Any]], limit: int, max_new_tokens: int = 32
) -> dict[str, float]:
    """Greedy answers of the exported model to the first question of up to `limit` validation rows."""
    from PIL import Image

    from cephalo_ray.models.loader import load_vlm

    loaded = load_vlm(str(model_dir), dtype="auto")
    exact = f1 = 0.0
    count = 0
    for row in rows:
        if count >= limit:
            break
        turns = row["conversations"]
        if len(turns) < 2:
            continue
        question = turns[0]["value"].replace("<image>\n", "").replace("<image>", "")
        content = [{"type": "image"}, {"type": "text", "text": question}]
        prompt = loaded.processor.apply_chat_template(
            [{"role": "user", "content": content}], add_generation_prompt=True
        )
        image = Image.open(io.BytesIO(row["image"])).convert("RGB")
        inputs = loaded.processor(images=[image], text=[prompt], return_tensors="pt").to(loaded.model.device)
        output = loaded.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
        answer = loaded.processor.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
        exact += float(exact_match(answer, turns[1]["value"]))
        f1 += token_f1(answer, turns[1]["value"])
        count += 1
    return {
        "vqa_samples": count,
        "vqa_exact": exact / count if count else 0.0,
        "vqa_f1": f1 / count if count else 0.0,
    }
