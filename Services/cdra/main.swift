print("cdra")
