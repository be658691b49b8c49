import GPTTensor

/// Which weight type each matrix of a model gets when it is quantized: one type for every matrix
/// (as `llama-quantize --pure`), or llama.cpp's Q4_K_M mix.
public enum QuantizationScheme: Sendable, Equatable, CustomStringConvertible {
    case uniform(WeightType)
    /// llama.cpp's Q4_K_M recipe as `llama-quantize` applies it to a GPT-2 model (llama-quant.cpp's
    /// `llama_tensor_get_type`, checked tensor by tensor on GPT-2-124M): `output` Q6_K, the fused
    /// `attn_qkv` Q5_K, `ffn_down` Q6_K in the layers `usesMoreBits` picks, every other matrix Q4_K.
    case q4KM

    /// "q8_0", "Q4_K", "q4_k_m" … (any case).
    public init?(name: String) {
        if name.lowercased() == "q4_k_m" {
            self = .q4KM
        } else if let type = WeightType(name: name) {
            self = .uniform(type)
        } else {
            return nil
        }
    }

    public static var names: [String] { WeightType.allCases.map(\.description) + ["Q4_K_M"] }

    public var description: String {
        switch self {
        case .uniform(let type): type.description
        case .q4KM: "Q4_K_M"
        }
    }

    /// The type of matrix `name` (a GGUF tensor name) in a model of `layerCount` blocks, before any
    /// fallback for rows that are not whole blocks.
    public func type(of name: String, layerCount: Int) -> WeightType {
        switch self {
        case .uniform(let type):
            return type
        case .q4KM:
            if name == "output.weight" { return .q6_K }
            if name.hasSuffix(".attn_qkv.weight") { return .q5_K }
            if name.hasSuffix(".ffn_down.weight"), let layer = Int(name.split(separator: ".")[1]) {
                return Self.usesMoreBits(layer: layer, of: layerCount) ? .q6_K : .q4_K
            }
            return .q4_K
        }
    }

    /// llama.cpp's choice of layers that get more bits: the first and last eighth, and every third
    /// one between.
    static func usesMoreBits(layer: Int, of count: Int) -> Bool {
        layer < count / 8 || layer >= 7 * count / 8 || (layer - count / 8) % 3 == 2
    }

    /// llama.cpp's `general.file_type` (enum llama_ftype).
    public var fileType: UInt32 {
        switch self {
        case .q4KM: 15
        case .uniform(let type):
            switch type {
            case .f32: 0
            case .f16: 1
            case .q4_0: 2
            case .q8_0: 7
            case .q5_0: 8
            case .q5_1: 9
            case .q4_K: 14
            case .q5_K: 16
            case .q6_K: 18
            case .bf16: 32
            }
        }
    }
}
