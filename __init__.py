"""attnmod: understand, fix and explain multi-object prompts in Stable Diffusion XL."""

__version__ = "0.1.0"
