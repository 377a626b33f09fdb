"""What the model is and how it predicts: labels, text to pairs, predictor, aggregation."""
