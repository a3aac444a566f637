"""Applications built on trained autoencoders: denoising, generation, compression, ..."""
