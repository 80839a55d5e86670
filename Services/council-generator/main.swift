print("council-generator")
