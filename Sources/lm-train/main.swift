print("lm-train")
