"""Training mechanics: collate and loss masks, recipes (LoRA, freezing), DeepSpeed config, the worker loop."""
