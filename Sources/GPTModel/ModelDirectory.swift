import Foundation
import GPTFormats
import GPTTensor
import GPTTokenizer

/// A model on disk: a directory with `config.json` (Hugging Face GPT-2 keys),
/// `model.safetensors` (GPT-2 tensor names and layouts) and the tokenizer file.
/// Every file is written atomically.
public enum ModelDirectory {
    public static let configurationFile = "config.json"
    public static let weightsFile = "model.safetensors"

    /// Whether `directory` already holds a model.
    public static func containsModel(_ directory: URL) -> Bool {
        let files = [configurationFile, weightsFile]
        return files.contains { FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path) }
    }

    /// Writes configuration, tokenizer (when there is one) and weights, then reads the configuration and
    /// the tokenizer back: a directory that no command could open is an error here, not after a run.
    public static func save(_ model: GPT, tokenizer: (any Tokenizer)?, to directory: URL) throws {
        try AtomicFile.createDirectory(directory)
        try AtomicFile.write(
            model.configuration.huggingFaceJSON(), to: directory.appendingPathComponent(configurationFile))
        if let tokenizer {
            try AtomicFile.write(
                tokenizer.description.encoded(), to: directory.appendingPathComponent(TokenizerDescription.fileName))
        }
        try saveWeights(model, to: directory)
        guard try loadConfiguration(directory) == model.configuration else {
            throw ModelError("\(directory.path): \(configurationFile) does not read back as written; the model cannot be saved")
        }
        if let tokenizer {
            guard let loaded = try TokenizerFiles.load(in: directory),
                try loaded.description.encoded() == tokenizer.description.encoded()
            else {
                throw ModelError(
                    "\(directory.path): \(TokenizerDescription.fileName) does not read back as written; the model cannot be saved")
            }
        }
    }

    /// Rewrites only `model.safetensors` (the configuration and tokenizer do not change during training).
    /// A model without biases is written with zero biases so that GPT-2 readers load it.
    public static func saveWeights(_ model: GPT, to directory: URL) throws {
        guard model.storesMatrices else {
            throw ModelError("a model whose matrices are quantized cannot be saved as Float32; load it dequantized (gpt export)")
        }
        let configuration = model.configuration
        let pointer = UnsafePointer(model.parameters.pointer)
        var records = model.layout.tensors.map {
            TensorRecord(name: $0.name, shape: $0.shape, values: UnsafeBufferPointer(start: pointer + $0.offset, count: $0.count))
        }
        var zeros: FloatBuffer?
        if !configuration.usesBias && configuration.isGPT2Compatible {
            let C = configuration.embeddingSize
            let buffer = FloatBuffer(count: max(3 * C, configuration.mlpSize))
            zeros = buffer
            let zeroPointer = UnsafePointer(buffer.pointer)
            func zero(_ name: String, _ size: Int) -> TensorRecord {
                TensorRecord(name: name, shape: [size], values: UnsafeBufferPointer(start: zeroPointer, count: size))
            }
            for layer in 0..<configuration.layerCount {
                let prefix = "h.\(layer)."
                records += [
                    zero(prefix + "ln_1.bias", C), zero(prefix + "attn.c_attn.bias", 3 * C),
                    zero(prefix + "attn.c_proj.bias", C), zero(prefix + "ln_2.bias", C),
                    zero(prefix + "mlp.c_fc.bias", configuration.mlpSize), zero(prefix + "mlp.c_proj.bias", C),
                ]
            }
            records.append(zero("ln_f.bias", C))
        }
        try withExtendedLifetime(zeros) {
            try SafetensorsFile.write(records, to: directory.appendingPathComponent(weightsFile))
        }
    }

    /// Reads the configuration of the model in `directory`.
    public static func loadConfiguration(_ directory: URL) throws -> GPTConfiguration {
        let url = directory.appendingPathComponent(configurationFile)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw ModelError(
                "\(directory.path) is a file, not a model directory; give the directory gpt train --out wrote (it holds \(configurationFile) and \(weightsFile))")
        }
        guard FileManager.default.fileExists(atPath: directory.path) else {
            throw ModelError("model directory \(directory.path) not found; check the path")
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ModelError(
                "no model in \(directory.path): \(configurationFile) is missing; train one with `gpt train --out \(directory.path)`")
        }
        return try GPTConfiguration(huggingFaceJSON: data, source: url.path)
    }

    /// Reads the tokenizer saved in `directory` (in `TokenizerFiles`' order: ours, then GPT-2's files).
    public static func loadTokenizer(_ directory: URL) throws -> any Tokenizer {
        guard let tokenizer = try TokenizerFiles.load(in: directory) else {
            throw ModelError(
                "\(directory.path) has no tokenizer (\(TokenizerDescription.fileName), or vocab.json + merges.txt); give one with the tokenizer option")
        }
        return tokenizer
    }

    /// Loads configuration and weights, checking every tensor's presence and shape.
    public static func loadModel(_ directory: URL) throws -> GPT {
        let configuration = try loadConfiguration(directory)
        let model = try GPT(configuration: configuration)
        try loadWeights(into: model, from: directory.appendingPathComponent(weightsFile))
        return model
    }

    /// Fills `model` from a safetensors file with GPT-2 names (optionally `transformer.`-prefixed).
    public static func loadWeights(into model: GPT, from url: URL) throws {
        let file = try SafetensorsFile(contentsOf: url)
        let configuration = model.configuration
        var expected = Set<String>()
        for tensor in model.layout.tensors {
            let name = file.tensors[tensor.name] != nil ? tensor.name : "transformer." + tensor.name
            guard let stored = file.tensors[name] else {
                throw ModelError(
                    "\(url.path) lacks tensor \(tensor.name) \(tensor.shape) that config.json implies; the weights do not match the configuration")
            }
            guard stored.shape == tensor.shape else {
                throw ModelError(
                    "\(url.path): tensor \(tensor.name) has shape \(stored.shape) but config.json implies \(tensor.shape); the weights do not match the configuration")
            }
            try file.read(name, into: model.parameters.pointer + tensor.offset)
            let values = UnsafeBufferPointer(start: model.parameters.pointer + tensor.offset, count: tensor.count)
            if let bad = values.first(where: { !$0.isFinite }) {
                throw ModelError("\(url.path): tensor \(name) holds \(bad); the weights are corrupt (or saved from a run that diverged)")
            }
            expected.insert(name)
        }
        for name in file.tensors.keys where !expected.contains(name) {
            let plain = name.hasPrefix("transformer.") ? String(name.dropFirst("transformer.".count)) : name
            let ignorable =
                plain.hasSuffix("attn.bias") && !plain.hasSuffix("c_attn.bias") || plain.hasSuffix("attn.masked_bias")
                || (plain == "lm_head.weight" && configuration.tiesEmbeddings)
                || (!configuration.usesBias && plain.hasSuffix(".bias"))
            if !ignorable {
                throw ModelError(
                    "\(url.path) has tensor \(name) that config.json does not describe; the weights do not match the configuration")
            }
        }
        for index in 0..<model.parameters.count where !model.parameters[index].isFinite {
            throw ModelError("\(url.path) contains NaN or infinite weights; the model is corrupt")
        }
    }
}
