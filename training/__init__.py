"""Loading labeled data, fine-tuning, evaluation and registration."""
