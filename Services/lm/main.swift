print("lm")
