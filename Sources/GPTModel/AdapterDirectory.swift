import Foundation
import GPTFormats
import GPTTensor

/// A LoRA adapter on disk, in PEFT's format: `adapter_config.json` and `adapter_model.safetensors`
/// (PEFT's tensor names, float32). Written atomically; read with every name and shape checked
/// against the base model, so an adapter never half-applies.
public enum AdapterDirectory {
    public static let weightsFile = "adapter_model.safetensors"

    /// Whether `directory` holds an adapter.
    public static func containsAdapter(_ directory: URL) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent(LoRAConfiguration.fileName).path)
    }

    /// Writes the configuration and the factors.
    public static func save(_ adapter: LoRAAdapter, to directory: URL) throws {
        try AtomicFile.createDirectory(directory)
        try AtomicFile.write(adapter.configuration.peftJSON(), to: directory.appendingPathComponent(LoRAConfiguration.fileName))
        try saveWeights(adapter, to: directory)
    }

    /// Rewrites only `adapter_model.safetensors`.
    public static func saveWeights(_ adapter: LoRAAdapter, to directory: URL) throws {
        let pointer = UnsafePointer(adapter.parameters.pointer)
        let records = adapter.layout.tensors.map {
            TensorRecord(name: $0.name, shape: $0.shape, values: UnsafeBufferPointer(start: pointer + $0.offset, count: $0.count))
        }
        try SafetensorsFile.write(records, to: directory.appendingPathComponent(weightsFile))
    }

    /// Reads the configuration in `directory`.
    public static func loadConfiguration(_ directory: URL) throws -> LoRAConfiguration {
        let url = directory.appendingPathComponent(LoRAConfiguration.fileName)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw ModelError("adapter directory \(directory.path) not found; check the path")
        }
        guard isDirectory.boolValue else {
            throw ModelError("\(directory.path) is a file; an adapter is a directory holding \(LoRAConfiguration.fileName) and \(weightsFile)")
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ModelError(
                "\(directory.path) is not an adapter: \(LoRAConfiguration.fileName) is missing (make one with gpt finetune --lora-rank R --out DIR)")
        }
        return try LoRAConfiguration(peftJSON: data, source: url.path)
    }

    /// Loads the adapter in `directory` for a base model of shape `model`.
    public static func load(_ directory: URL, model: GPTConfiguration) throws -> LoRAAdapter {
        let configuration = try loadConfiguration(directory)
        let url = directory.appendingPathComponent(weightsFile)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ModelError("\(directory.path) has \(LoRAConfiguration.fileName) but no \(weightsFile); the adapter is incomplete")
        }
        let adapter: LoRAAdapter
        do {
            adapter = try LoRAAdapter(configuration: configuration, model: model)
        } catch let error as ModelError {
            throw ModelError("\(directory.path): \(error.message); the adapter does not fit this base model")
        }
        try loadWeights(into: adapter, from: url)
        return adapter
    }

    /// Fills `adapter` from a safetensors file with PEFT's names (with or without the adapter name
    /// PEFT keeps in memory, `.default`).
    public static func loadWeights(into adapter: LoRAAdapter, from url: URL) throws {
        let file = try SafetensorsFile(contentsOf: url)
        var used = Set<String>()
        for tensor in adapter.layout.tensors {
            let named = tensor.name.replacingOccurrences(of: ".weight", with: ".default.weight")
            guard let name = [tensor.name, named].first(where: { file.tensors[$0] != nil }) else {
                throw ModelError(
                    "\(url.path) lacks \(tensor.name) \(tensor.shape), which adapter_config.json implies; the adapter is incomplete or for another model")
            }
            guard let stored = file.tensors[name], stored.shape == tensor.shape else {
                throw ModelError(
                    "\(url.path): \(name) has shape \(file.tensors[name]!.shape) but this base model needs \(tensor.shape); the adapter belongs to a different base model")
            }
            try file.read(name, into: adapter.parameters.pointer + tensor.offset)
            if let bad = UnsafeBufferPointer(start: adapter.parameters.pointer + tensor.offset, count: tensor.count)
                .first(where: { !$0.isFinite })
            {
                throw ModelError("\(url.path): \(name) holds \(bad); the adapter is corrupt")
            }
            used.insert(name)
        }
        if let copy = file.tensors.keys.sorted().first(where: { $0.hasSuffix(".base_layer.weight") }) {
            throw ModelError(
                "\(url.path) holds \(copy), a copy of a base model layer (PEFT saves one when lm_head is adapted); save the adapter with save_embedding_layers=False so the base model's own weights are used")
        }
        if let extra = file.tensors.keys.sorted().first(where: { !used.contains($0) }) {
            throw ModelError(
                "\(url.path) has \(extra), which adapter_config.json does not describe for this model; the adapter belongs to a different base model")
        }
    }
}
