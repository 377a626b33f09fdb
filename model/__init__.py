"""What the model is and how it predicts (labels, text to pairs, predictor, aggregation),
and what serves it: the model store, HTML reading, and the input files and outputs of
batch scoring."""
