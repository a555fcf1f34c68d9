"""Lightning data, prediction and writer modules for ablation runs."""
