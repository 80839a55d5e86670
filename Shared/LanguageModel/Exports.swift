// The optimizer, schedule and BLAS settings are part of the model API; re-exporting Tensor lets
// callers use them with a single `import LanguageModel`.
@_exported import Tensor
