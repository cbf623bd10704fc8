// Placeholder until the tokenizer sources land.
