import Foundation
import GPTTokenizer

/// Any bytes as our tokenizer file, and (split at the first NUL) as GPT-2's encoder.json + vocab.bpe;
/// a tokenizer that loads must encode and decode without crashing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    if let tokenizer = try? TokenizerDescription(data: data, source: "fuzz.json").makeTokenizer() {
        exercise(tokenizer)
    }
    let parts = data.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
    if parts.count == 2,
        let tokenizer = try? GPT2Files.load(
            vocabulary: Data(parts[0]), merges: Data(parts[1]), vocabularySource: "encoder.json", mergesSource: "vocab.bpe",
            source: "fuzz")
    {
        exercise(tokenizer)
    }
    return 0
}

func exercise(_ tokenizer: any Tokenizer) {
    for text in ["Hello, world! 123", "  ab\n\u{FEFF}é漢字 <|endoftext|>", ""] {
        if let ids = try? tokenizer.encode(text, specialTokens: .allowed, threads: 1) { _ = tokenizer.decodeBytes(ids) }
    }
    _ = tokenizer.decodeBytes([0, 1, tokenizer.vocabularySize - 1, tokenizer.vocabularySize, -1])
}
