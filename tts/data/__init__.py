"""Training data: prompts, the teacher corpus and its manifest."""
