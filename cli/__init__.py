"""The `stance` command line: parses arguments and calls model/ and training/."""
