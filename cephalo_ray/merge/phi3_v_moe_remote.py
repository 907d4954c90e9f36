"""Phi-3-vision with a Mixture-of-Experts MLP in every decoder layer: the model code of a `phi3_v` MoE.

cephalo_ray never imports this file. `cephalo moe` copies it into the MoE's folder as
`modeling_phi3_v_moe.py`, beside the source model's own `modeling_phi3_v.py` (Phi-3-vision ships its
classes as code, and so does its MoE), and the config's `auto_map` names `Phi3VMoeForCausalLM`, so
`AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True)` loads it. Everything but the
MLPs is the source's code, reading the source's config as it always has (longrope, the image
embedding); each MLP becomes a router and experts that are the source's own MLP class, so an expert
holds a fine-tuned model's `gate_up_proj` and `down_proj` unchanged. Routing is Mixtral's: softmax
over the router's logits, the top `num_experts_per_tok` experts, their weights renormalised to sum
to 1, and the router returns (logits, weights, indices) as Mixtral's does in transformers 5.
"""

import torch
import torch.nn.functional as F
from torch import nn

# transformers copies into its module cache only the files this one imports: all three are named here
from .configuration_phi3_v import Phi3VConfig  # noqa: F401
from .image_embedding_phi3_v import Phi3ImageEmbedding  # noqa: F401
from .modeling_phi3_v import Phi3MLP, Phi3VForCausalLM


class Phi3VTopKRouter(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.top_k = config.num_experts_per_tok
        self.weight = nn.Parameter(torch.zeros(config.num_local_experts, config.hidden_size))

    def forward(self, hidden_states):
        logits = F.linear(hidden_states.reshape(-1, self.weight.shape[1]), self.weight)
        top, indices = torch.topk(torch.softmax(logits.float(), dim=-1), self.top_k, dim=-1)
        return logits, top / top.sum(dim=-1, keepdim=True), indices


class Phi3VSparseMoeBlock(nn.Module):
    """Only the chosen experts run, each on its own tokens."""

    def __init__(self, config):
        super().__init__()
        self.gate = Phi3VTopKRouter(config)
        self.experts = nn.ModuleList(Phi3MLP(config) for _ in range(config.num_local_experts))

    def forward(self, hidden_states):
        tokens = hidden_states.reshape(-1, hidden_states.shape[-1])
        _, weights, indices = self.gate(tokens)
        output = torch.zeros_like(tokens)
        for number, expert in enumerate(self.experts):
            rows, slots = torch.where(indices == number)
            if rows.numel():
                chosen = expert(tokens[rows]) * weights[rows, slots, None].to(tokens.dtype)
                output.index_add_(0, rows, chosen)
        return output.reshape(hidden_states.shape)


class Phi3VMoeForCausalLM(Phi3VForCausalLM):
    def __init__(self, config):
        super().__init__(config)
        for layer in self.model.layers:
            layer.mlp = Phi3VSparseMoeBlock(config)
        self.post_init()
