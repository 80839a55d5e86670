// LanguageModel module.
