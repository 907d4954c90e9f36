"""Model surgery on checkpoints: layer-stacked merges and Mixture-of-Experts with fitted routers."""
