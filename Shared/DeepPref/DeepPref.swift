// DeepPref module.
