"""The BentoML service: adapts HTTP to the predictor in model/."""
