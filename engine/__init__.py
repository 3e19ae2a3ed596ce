"""The engine: the loops that run a net over data (the one training loop, evaluation, pseudo
labels), the pipeline's manifest, and the run folders they write. Above dataset/ and net/."""
