"""Run by test_phi3_v_surgery.py under `CEPHALO_PHI3V_PYTHON`, an interpreter whose transformers runs
Phi-3-vision's own code (4.x: the code imports modules transformers 5 removed).

    python phi3_v_remote_code.py build CODE_DIR CONFIG_JSON OUT_DIR COUNT   # tiny phi3_v models
    python phi3_v_remote_code.py check OUT_DIR                              # load, compare, generate

`build` writes COUNT tiny phi3_v models (seeds 0..COUNT-1) from the real checkpoint's config.json with
a tiny text model (the vision tower stays CLIP ViT-L/336: the code builds no other), saved the way the
real checkpoint is. `check` loads what the test built from them with `trust_remote_code=True`, fits
the MoE's routers from text prompts last, and prints one JSON object of findings.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

CODE_FILES = ("configuration_phi3_v.py", "modeling_phi3_v.py", "image_embedding_phi3_v.py")
IMAGE_TOKENS = 2 * 144 + 1 + 2 * 12  # a 336 x 336 image: one crop and the global view, with separators


def allow_guarded_flash_attn() -> None:
    """The code imports flash_attn only when it is installed, but transformers' import check reads
    every import of the file and refuses to load it without flash_attn."""
    import transformers.dynamic_module_utils as dynamic

    listed = dynamic.get_imports
    dynamic.get_imports = lambda path: [name for name in listed(path) if name != "flash_attn"]


def tiny_config(real: dict[str, Any]) -> dict[str, Any]:
    config = {key: value for key, value in real.items() if key != "_attn_implementation"}
    heads, hidden = 4, 64
    half = hidden // heads // 2  # rope factors: one per rotated dimension pair
    config.update(
        hidden_size=hidden,
        intermediate_size=128,
        num_hidden_layers=3,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        vocab_size=1000,
        eos_token_id=2,
        pad_token_id=0,
        torch_dtype="float32",
    )
    scaling = dict(config["rope_scaling"])
    for key in ("long_factor", "short_factor"):
        values = scaling[key]
        scaling[key] = values[:: len(values) // half][:half]
    config["rope_scaling"] = scaling
    return config


def build(code: Path, real_config: Path, out: Path, count: int) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = tiny_config(json.loads(real_config.read_text()))
    for seed in range(count):
        folder = out / f"phi3v-{seed}"
        folder.mkdir(parents=True, exist_ok=True)
        for name in CODE_FILES:
            shutil.copy(code / name, folder / name)
        (folder / "config.json").write_text(json.dumps(config, indent=2))
        torch.manual_seed(seed)
        loaded = AutoConfig.from_pretrained(folder, trust_remote_code=True)
        model = AutoModelForCausalLM.from_config(loaded, trust_remote_code=True, attn_implementation="eager")
        # as the real checkpoint: the image embedding's `wte` is the token embedding, saved once
        state = {k: v for k, v in model.state_dict().items() if k != "model.vision_embed_tokens.wte.weight"}
        model.save_pretrained(folder, state_dict=state)


def check(out: Path) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForCausalLM

    from cephalo_ray.merge.router import recording_routers
    from cephalo_ray.models.families import moe_blocks

    def load(name: str) -> tuple[Any, dict[str, Any]]:
        loaded: Any = AutoModelForCausalLM.from_pretrained(
            out / name, trust_remote_code=True, output_loading_info=True, attn_implementation="eager"
        )
        return loaded[0].eval(), {key: value for key, value in loaded[1].items() if value}

    torch.manual_seed(0)
    ids = torch.tensor([[1, 5, 6, *([-1] * IMAGE_TOKENS), 7, 8, 9, 10, 11, 12]])
    images = {
        "input_ids": ids,
        "attention_mask": torch.ones_like(ids),
        "pixel_values": torch.randn(1, 2, 3, 336, 336),
        "image_sizes": torch.tensor([[336, 336]]),
    }

    def with_image() -> dict[str, Any]:
        # the image embedding clamps input_ids in place: each forward gets its own copy
        return {key: value.clone() for key, value in images.items()}

    text = torch.tensor([[1, 5, 6, 7, 8, 9, 10, 11, 12]])
    settings: dict[str, Any] = {"max_new_tokens": 6, "do_sample": False, "pad_token_id": 0}
    found: dict[str, Any] = {}
    with torch.no_grad():
        base, found["base_loading_problems"] = load("phi3v-0")
        base_logits = base(**with_image()).logits
        stack, found["stack_loading_problems"] = load("stack")
        found["stack_class"], found["stack_layers"] = type(stack).__name__, len(stack.model.layers)
        found["stack_image_logits_shape"] = list(stack(**with_image()).logits.shape)
        cached = stack.generate(text, use_cache=True, **settings)
        found["stack_new_tokens"] = cached.shape[1] - text.shape[1]
        found["stack_cached_equals_uncached"] = torch.equal(
            cached, stack.generate(text, use_cache=False, **settings)
        )
        identity, _ = load("stack-identity")
        found["identity_stack_equals_base"] = torch.equal(identity(**with_image()).logits, base_logits)
        moe, found["moe_loading_problems"] = load("moe")
        found["moe_class"] = type(moe).__name__
        blocks = moe_blocks(moe)
        found["forced_expert_equals_expert"] = {}
        for number in range(len(blocks[0].experts)):
            # expert e's model with the base's attention, embeddings and vision: what forcing e computes
            expected_model, _ = load("phi3v-0")
            source, _ = load(f"phi3v-{number}")
            for layer, source_layer in zip(expected_model.model.layers, source.model.layers, strict=True):
                layer.mlp.load_state_dict(source_layer.mlp.state_dict())
            with recording_routers(blocks, force_expert=number):
                forced = moe(**with_image()).logits
            found["forced_expert_equals_expert"][number] = torch.equal(
                forced, expected_model(**with_image()).logits
            )
        cached = moe.generate(text, use_cache=True, **settings)
        found["moe_cached_equals_uncached"] = torch.equal(
            cached, moe.generate(text, use_cache=False, **settings)
        )
    report = fit_routers_from_words(moe, len(blocks[0].experts))
    found["router_heldout_accuracy"] = [layer["heldout_accuracy"] for layer in report["layers"]]
    found["routed_prompt_accuracy"] = report["routed_prompt_accuracy"]
    return found


def fit_routers_from_words(moe: Any, experts: int) -> dict[str, Any]:
    """Fit the MoE's routers as the job does, from prompts of a few words per expert, through a word
    tokenizer with Phi-3's chat template markers (the real tokenizer is not needed to route)."""
    import random

    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from cephalo_ray.merge.router import Prompt, fit_routers

    topics = [[f"topic{expert}word{n}" for n in range(5)] for expert in range(experts)]
    markers = ["<unk>", "<s>", "</s>", "<|user|>", "<|end|>", "<|assistant|>", "<|image_1|>"]
    vocabulary = {token: number for number, token in enumerate(markers + sum(topics, []))}
    words = Tokenizer(models.WordLevel(vocabulary, unk_token="<unk>"))
    words.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=words, unk_token="<unk>", model_input_names=["input_ids", "attention_mask"]
    )
    tokenizer.chat_template = (
        "{% for m in messages %}<|user|> {{ m['content'] }} <|end|> {% endfor %}<|assistant|>"
    )
    rng = random.Random(0)
    prompts = {
        expert: [Prompt(" ".join(rng.choice(topic) for _ in range(8))) for _ in range(8)]
        for expert, topic in enumerate(topics)
    }
    report: dict[str, Any] = fit_routers(moe, tokenizer, prompts, holdout_fraction=0.25).as_dict()
    return report


if __name__ == "__main__":
    allow_guarded_flash_attn()
    if sys.argv[1] == "build":
        build(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), int(sys.argv[5]))
    else:
        print(json.dumps(check(Path(sys.argv[2]))))
