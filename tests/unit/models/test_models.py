"""Tiny models of every family run here: build -> save -> load -> loss -> generate, from disk and S3."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

from cephalo_ray.models.assemble import assemble_llava
from cephalo_ray.models.commands import main as model_main
from cephalo_ray.models.families import (
    FAMILIES,
    UnknownFamilyError,
    decoder_layers,
    facts_for,
    image_tokens_per_image,
)
from cephalo_ray.models.loader import CACHE_MARKER, load_vlm
from cephalo_ray.models.tiny import TINY_BUILDERS, build_tiny, build_tiny_causal_lm, build_tiny_vision_encoder
from cephalo_ray.storage import Storage
from tests.helpers.servers import MotoS3Server

IMAGE = Image.new("RGB", (48, 40), (180, 40, 90))


def expected_image_tokens(model: Any, inputs: dict[str, Any]) -> int:
    """What the model's own vision path produces for these pixels, counted in features."""
    config = model.config
    family = config.model_type
    if family == "llava":
        return (config.vision_config.image_size // config.vision_config.patch_size) ** 2
    if family == "idefics2":
        return config.perceiver_config.resampler_n_latents
    if family in ("idefics3", "smolvlm"):  # per tile: the image is split into tiles plus a global view
        side = config.vision_config.image_size // config.vision_config.patch_size
        tiles = int(inputs["pixel_values"].shape[0] * inputs["pixel_values"].shape[1])
        return tiles * side**2 // config.scale_factor**2
    if family == "paligemma":  # one token per SigLIP patch
        return (config.vision_config.image_size // config.vision_config.patch_size) ** 2
    if family == "mllama":  # one token per image; its tiles enter by cross-attention
        return int(inputs["pixel_values"].shape[1])
    if family in ("qwen2_vl", "qwen2_5_vl"):  # one token per 2 x 2 merged patches
        merge = config.vision_config.spatial_merge_size
        return int(inputs["image_grid_thw"].prod(dim=-1).sum()) // merge**2
    features = model.model.get_image_features(inputs["pixel_values"], inputs["image_sizes"])
    features = getattr(features, "pooler_output", features)
    return sum(feature.shape[0] for feature in features)


def chat_inputs(processor: Any, images: list[Any]) -> dict[str, Any]:
    question = "What does this figure show?"
    if not processor.chat_template:  # PaliGemma: not a chat model, its prompt is a prefix
        prompt = processor.image_token * len(images) + question
        inputs = dict(processor(images=images, text=[prompt], return_tensors="pt"))
        inputs.pop("labels")  # the processor's own: none without a suffix
        return inputs
    content = [{"type": "image"} for _ in images] + [{"type": "text", "text": question}]
    prompt = processor.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True)
    return dict(processor(images=images, text=[prompt], return_tensors="pt"))


@pytest.mark.parametrize("family", sorted(TINY_BUILDERS))
def test_tiny_family_builds_saves_loads_trains_and_generates(family: str, tmp_path: Path) -> None:
    built, _ = build_tiny(family, tmp_path / family)
    loaded = load_vlm(str(tmp_path / family), device="cpu")
    assert loaded.facts.family == family and type(loaded.model) is type(built)
    assert loaded.processor.tokenizer.padding_side == "left"
    inputs = chat_inputs(loaded.processor, [IMAGE])
    token_id = loaded.processor.tokenizer.convert_tokens_to_ids(loaded.facts.image_token)
    placed = int((inputs["input_ids"] == token_id).sum())
    assert (
        placed
        == expected_image_tokens(loaded.model, inputs)
        == image_tokens_per_image(loaded.processor, IMAGE)
    )
    with torch.no_grad():
        output = loaded.model(**inputs, labels=inputs["input_ids"])
        reference = built(**inputs)
    assert math.isfinite(output.loss.item()) and output.loss.item() > 0
    assert torch.allclose(output.logits, reference.logits, atol=1e-5)  # the reload is the same model
    generated = loaded.model.generate(**inputs, max_new_tokens=5, do_sample=False)
    assert generated.shape[1] == inputs["input_ids"].shape[1] + 5
    assert len(decoder_layers(loaded.model)) == 2


def test_s3_model_is_downloaded_once_and_reused(
    s3_server: MotoS3Server, s3_bucket: str, tmp_path: Path
) -> None:
    build_tiny("idefics3", tmp_path / "model")
    client = s3_server.client()
    for path in (tmp_path / "model").iterdir():
        client.upload_file(str(path), s3_bucket, f"models/tiny/{path.name}")
    storage = Storage(s3_endpoint_url=s3_server.endpoint_url)
    uri = f"s3://{s3_bucket}/models/tiny"
    first = load_vlm(uri, device="cpu", storage=storage, cache_dir=tmp_path / "cache")
    marker = Path(first.path) / CACHE_MARKER
    stamp = marker.stat().st_mtime_ns
    second = load_vlm(uri, device="cpu", storage=storage, cache_dir=tmp_path / "cache")
    assert second.path == first.path and marker.stat().st_mtime_ns == stamp  # reused, not fetched again
    local = load_vlm(str(tmp_path / "model"), device="cpu")
    inputs = chat_inputs(local.processor, [IMAGE])
    with torch.no_grad():
        assert torch.equal(second.model(**inputs).logits, local.model(**inputs).logits)
    client.put_object(Bucket=s3_bucket, Key="models/tiny/README.md", Body=b"changed")
    third = load_vlm(uri, device="cpu", storage=storage, cache_dir=tmp_path / "cache")
    assert (Path(third.path) / "README.md").read_bytes() == b"changed"


def same_leading(source: torch.Tensor, target: torch.Tensor) -> bool:
    """Equal, or equal on the source's rows where the target grew (an added token)."""
    if source.shape == target.shape:
        return torch.equal(source, target)
    return torch.equal(source, target[: source.shape[0]])


@pytest.mark.parametrize(
    ("vision", "language"), [("clip", "llama"), ("siglip", "qwen2"), ("clip", "mixtral")]
)
def test_assembled_llava_keeps_its_sources_weights(vision: str, language: str, tmp_path: Path) -> None:
    vision_model = build_tiny_vision_encoder(vision, tmp_path / "vision")
    lm = build_tiny_causal_lm(language, tmp_path / "lm")
    assemble_llava(str(tmp_path / "vision"), str(tmp_path / "lm"), tmp_path / "llava")
    loaded = load_vlm(str(tmp_path / "llava"), device="cpu")
    tower = loaded.model.model.vision_tower.state_dict()
    assert all(torch.equal(value, tower[name]) for name, value in vision_model.state_dict().items())
    language_model = loaded.model.model.language_model.state_dict()
    assert all(same_leading(value, language_model[name]) for name, value in lm.model.state_dict().items())
    assert same_leading(lm.lm_head.weight, loaded.model.lm_head.weight)
    assert loaded.model.config.text_config.model_type == language
    inputs = chat_inputs(loaded.processor, [IMAGE])
    assert image_tokens_per_image(loaded.processor, IMAGE) == 16  # (32 / 8)^2 patches, CLS dropped
    output = loaded.model(**inputs, labels=inputs["input_ids"])
    assert math.isfinite(output.loss.item())


def test_family_facts_cover_the_supported_families() -> None:
    assert {name for name, facts in FAMILIES.items() if facts.tested_here} == set(TINY_BUILDERS)
    assert {"phi3_v"} <= {name for name, facts in FAMILIES.items() if not facts.tested_here}
    assert FAMILIES["phi3_v"].trust_remote_code
    with pytest.raises(UnknownFamilyError, match="bert"):
        facts_for(type("Config", (), {"model_type": "bert"})())


def test_model_command_builds_and_describes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert model_main(["build-tiny", "llava", str(tmp_path / "m")]) == 0
    assert model_main(["info", str(tmp_path / "m"), "--json", "--image-size", "64"]) == 0
    details = json.loads(capsys.readouterr().out)
    assert details["family"] == "llava" and details["decoder_layers"] == 2
    assert details["image_tokens_per_image"] == 16 and details["parameters"] > 10_000
    assert model_main(["info", str(tmp_path / "missing")]) == 2
    assert "not a folder" in capsys.readouterr().err


PHI3_V_CONFIG = {  # the shape of microsoft/Phi-3-vision-128k-instruct's config.json: its classes are its own code
    "model_type": "phi3_v",
    "architectures": ["Phi3VForCausalLM"],
    "auto_map": {
        "AutoConfig": "configuration_phi3_v.Phi3VConfig",
        "AutoModelForCausalLM": "modeling_phi3_v.Phi3VForCausalLM",
    },
}


def test_a_checkpoint_with_its_own_code_is_refused_unless_trusted(tmp_path: Path) -> None:
    from cephalo_ray.models.loader import RemoteCodeRefused, remote_code_refusal

    (tmp_path / "phi3v").mkdir()
    (tmp_path / "phi3v" / "config.json").write_text(json.dumps(PHI3_V_CONFIG))
    # the code files are absent: a refusal that ran them first would fail otherwise
    with pytest.raises(
        RemoteCodeRefused, match=r"'phi3_v' .*\(configuration_phi3_v.py, modeling_phi3_v.py\)"
    ):
        load_vlm(str(tmp_path / "phi3v"), device="cpu")
    with pytest.raises(RemoteCodeRefused, match="set trust_remote_code: true in the config"):
        load_vlm(str(tmp_path / "phi3v"), device="cpu")
    assert remote_code_refusal(PHI3_V_CONFIG, "m", trust_remote_code=True) is None
    assert remote_code_refusal({"model_type": "phi3_v"}, "m", trust_remote_code=False)  # by family too
    assert remote_code_refusal({"model_type": "llava"}, "m", trust_remote_code=False) is None


# A Qwen2-VL processor's files, as the Hub's checkpoints hold them: no video processor config (the Hub's
# keep the chat template in the older chat_template.json, which the test after next loads).
QWEN_PROCESSOR_FILES = {
    "preprocessor_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "chat_template.jinja",
}
# Qwen/Qwen2-VL-7B-Instruct's preprocessor_config.json: pixel bounds instead of a size.
QWEN2_VL_HUB_PREPROCESSOR = {
    "min_pixels": 3136,
    "max_pixels": 12845056,
    "patch_size": 14,
    "temporal_patch_size": 2,
    "merge_size": 2,
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "image_processor_type": "Qwen2VLImageProcessor",
    "processor_class": "Qwen2VLProcessor",
}


@pytest.mark.parametrize(
    ("family", "processor_name"), [("qwen2_vl", "Qwen2VLProcessor"), ("qwen2_5_vl", "Qwen2_5_VLProcessor")]
)
def test_a_tiny_qwen_is_saved_as_the_hub_checkpoints_are(
    family: str, processor_name: str, tmp_path: Path
) -> None:
    import transformers

    from cephalo_ray.models.loader import load_processor
    from cephalo_ray.models.tiny import QWEN2_VL_CHAT_TEMPLATE

    _, built = build_tiny(family, tmp_path / family)
    folder = tmp_path / family
    files = {path.name for path in folder.iterdir()}
    assert files - {"config.json", "generation_config.json", "model.safetensors"} == QWEN_PROCESSOR_FILES
    saved = json.loads((folder / "preprocessor_config.json").read_text())
    assert saved["image_processor_type"] == "Qwen2VLImageProcessor"
    assert saved["size"] == {"shortest_edge": 3136, "longest_edge": 12845056}
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text())
    assert saved["processor_class"] == tokenizer_config["processor_class"] == processor_name
    processor = load_processor(str(folder))
    assert isinstance(processor, getattr(transformers, processor_name))
    assert processor.chat_template == QWEN2_VL_CHAT_TEMPLATE
    inputs, reference = chat_inputs(processor, [IMAGE]), chat_inputs(built, [IMAGE])
    for key in ("input_ids", "attention_mask", "image_grid_thw"):  # pixels: torchvision resizes its own way
        assert torch.equal(inputs[key], reference[key])
    assert inputs["pixel_values"].shape == reference["pixel_values"].shape


def test_a_qwen_checkpoint_laid_out_as_on_the_hub_loads(tmp_path: Path) -> None:
    """The Hub's files: min/max_pixels instead of size, the chat template in the older chat_template.json."""
    from cephalo_ray.models.loader import load_processor
    from cephalo_ray.models.tiny import QWEN2_VL_CHAT_TEMPLATE

    _, built = build_tiny("qwen2_vl", tmp_path / "qwen")
    (tmp_path / "qwen" / "preprocessor_config.json").write_text(json.dumps(QWEN2_VL_HUB_PREPROCESSOR))
    (tmp_path / "qwen" / "chat_template.jinja").unlink()
    (tmp_path / "qwen" / "chat_template.json").write_text(
        json.dumps({"chat_template": QWEN2_VL_CHAT_TEMPLATE})
    )
    processor = load_processor(str(tmp_path / "qwen"))
    assert processor.chat_template == QWEN2_VL_CHAT_TEMPLATE
    wide = Image.new("RGB", (1600, 800))
    assert image_tokens_per_image(processor, wide) == image_tokens_per_image(built, wide) == 57 * 29


@pytest.mark.skipif(importlib.util.find_spec("torchvision") is not None, reason="torchvision is installed")
def test_without_torchvision_a_qwen_folder_loads_for_images_and_refuses_videos(tmp_path: Path) -> None:
    from transformers import AutoProcessor

    from cephalo_ray.models.loader import TorchvisionMissing

    build_tiny("qwen2_vl", tmp_path / "qwen")
    with pytest.raises(ImportError, match="Torchvision"):  # what transformers alone does with it
        AutoProcessor.from_pretrained(tmp_path / "qwen")
    processor = load_vlm(str(tmp_path / "qwen"), device="cpu").processor
    assert processor.video_processor is None and type(processor.image_processor).__name__.endswith("Pil")
    frames = [Image.new("RGB", (56, 56))] * 2
    with pytest.raises(TorchvisionMissing, match="Qwen2VLProcessor was loaded for images only.*torchvision"):
        processor(videos=[frames], text=["<|vision_start|><|video_pad|><|vision_end|>"])
    processor.save_pretrained(tmp_path / "again")  # as a training run exports it
    assert {path.name for path in (tmp_path / "again").iterdir()} == QWEN_PROCESSOR_FILES
    for name in ("preprocessor_config.json", "tokenizer.json", "chat_template.jinja"):
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "qwen" / name).read_bytes()


def test_model_command_builds_and_describes_a_qwen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert model_main(["build-tiny", "qwen2_vl", str(tmp_path / "q")]) == 0
    assert model_main(["info", str(tmp_path / "q"), "--json", "--image-size", "224"]) == 0
    details = json.loads(capsys.readouterr().out)
    assert details["family"] == "qwen2_vl" and details["tested_here"]
    assert details["image_tokens_per_image"] == (224 // 28) ** 2  # a token per 2 x 2 patches of 14 px
