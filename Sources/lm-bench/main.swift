print("lm-bench: not yet")
