"""GPU paths of the loader: bf16 by default on CUDA. Skips itself on machines without a GPU."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from cephalo_ray.models.loader import load_vlm
from cephalo_ray.models.tiny import build_tiny

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


@pytest.mark.parametrize("family", ["llava", "idefics3"])
def test_auto_dtype_is_bf16_on_cuda_and_generates(family: str, tmp_path: Path) -> None:
    build_tiny(family, tmp_path / family)
    loaded = load_vlm(str(tmp_path / family), device="cuda")
    parameter = next(loaded.model.parameters())
    assert parameter.device.type == "cuda" and parameter.dtype == torch.bfloat16
    content = [{"type": "image"}, {"type": "text", "text": "What is shown?"}]
    prompt = loaded.processor.apply_chat_template(
        [{"role": "user", "content": content}], add_generation_prompt=True
    )
    inputs = loaded.processor(images=[Image.new("RGB", (40, 40))], text=[prompt], return_tensors="pt").to(
        "cuda"
    )
    generated = loaded.model.generate(**inputs, max_new_tokens=4, do_sample=False)
    assert generated.shape[1] == inputs["input_ids"].shape[1] + 4
