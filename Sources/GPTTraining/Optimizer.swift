import COptimizers
import Foundation
import GPTModel
import GPTTensor

/// The update rule.
public enum OptimizerKind: String, CaseIterable, Sendable, Codable {
    /// Stochastic gradient descent with momentum (and optionally Nesterov momentum).
    case sgd
    /// RMSprop: steps scaled by a running root-mean-square of the gradients (α = `beta2`).
    case rmsprop
    /// Adam with L2 weight decay added to the gradient (torch.optim.Adam).
    case adam
    /// Adam with decoupled weight decay (Loshchilov & Hutter; torch.optim.AdamW).
    case adamw
}

/// An optimizer's hyperparameters. Weight decay applies to matrices only (embeddings and
/// linear weights), never to biases or LayerNorm gains — nanoGPT's grouping — for every kind.
public struct OptimizerSettings: Equatable, Sendable {
    public var kind: OptimizerKind
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    public var momentum: Float
    public var nesterov: Bool

    public init(
        kind: OptimizerKind = .adamw, beta1: Float = 0.9, beta2: Float = 0.95, epsilon: Float = 1e-8,
        weightDecay: Float = 0.1, momentum: Float = 0.9, nesterov: Bool = false
    ) {
        self.kind = kind
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.momentum = momentum
        self.nesterov = nesterov
    }

    /// The state buffers this kind keeps, by name (one value per parameter each).
    public var bufferNames: [String] {
        switch kind {
        case .sgd: momentum != 0 ? ["momentum"] : []
        case .rmsprop: ["square_average"]
        case .adam, .adamw: ["first_moment", "second_moment"]
        }
    }
}

/// Updates parameters from gradients. Its state (buffers and step count) lives in the
/// model's parameter layout, so checkpoints save and restore it tensor by tensor — or, sharded
/// over data-parallel ranks (ZeRO-1), for one slice of the parameters only.
public final class Optimizer {
    public let settings: OptimizerSettings
    /// State buffers by name, each with the model's parameter layout (restricted to `owned`).
    public let buffers: [String: FloatBuffer]
    /// The parameters this optimizer updates and keeps state for: all, or one rank's slice.
    public let owned: Range<Int>
    /// Steps taken so far.
    public var step = 0
    /// Runs of owned parameters with one (decays, trainable) setting, relative to `owned`.
    private let segments: [(range: Range<Int>, decays: Bool)]

    /// `isTrainable` freezes tensors (fine-tuning): frozen tensors are never changed. `owned`
    /// restricts the optimizer to a slice of the layout (default: all of it).
    public init(
        layout: ParameterLayout, settings: OptimizerSettings, isTrainable: (ParameterTensor) -> Bool = { _ in true },
        owned: Range<Int>? = nil
    ) {
        let owned = owned ?? 0..<layout.count
        self.settings = settings
        self.owned = owned
        var buffers: [String: FloatBuffer] = [:]
        for name in settings.bufferNames { buffers[name] = FloatBuffer(count: owned.count) }
        self.buffers = buffers
        var segments: [(range: Range<Int>, decays: Bool)] = []
        for tensor in layout.tensors where isTrainable(tensor) {
            let whole = tensor.offset..<(tensor.offset + tensor.count)
            guard whole.overlaps(owned) else { continue }
            let clamped = whole.clamped(to: owned)
            let range = (clamped.lowerBound - owned.lowerBound)..<(clamped.upperBound - owned.lowerBound)
            if let last = segments.last, last.decays == tensor.decays, last.range.upperBound == range.lowerBound {
                segments[segments.count - 1].range = last.range.lowerBound..<range.upperBound
            } else {
                segments.append((range, tensor.decays))
            }
        }
        self.segments = segments
    }

    /// Indices of trainable parameters (everything not frozen).
    public var trainableCount: Int { segments.reduce(0) { $0 + $1.range.count } }

    /// One update of `parameters` from `gradients` at `learningRate`.
    public func update(parameters: FloatBuffer, gradients: FloatBuffer, learningRate: Float, context: KernelContext) {
        precondition(owned == 0..<parameters.count, "Optimizer: a sharded optimizer takes its slice's gradients")
        update(parameters: parameters, ownedGradients: UnsafePointer(gradients.pointer), learningRate: learningRate, context: context)
    }

    /// One update of the owned parameters from their gradients (`ownedGradients[0]` is parameter `owned.lowerBound`'s).
    public func update(
        parameters: FloatBuffer, ownedGradients: UnsafePointer<Float>, learningRate: Float, context: KernelContext
    ) {
        step += 1
        let s = settings
        let correction1 = 1 - pow(s.beta1, Float(step))
        let correction2 = 1 - pow(s.beta2, Float(step))
        let first = buffers["first_moment"]?.pointer ?? buffers["momentum"]?.pointer ?? buffers["square_average"]?.pointer
        let second = buffers["second_moment"]?.pointer
        let firstStep: Int32 = step == 1 ? 1 : 0
        // Split all parameters evenly across threads; each chunk walks the segments it overlaps.
        let kernels = gpt_optimizers_for_level(Int32(context.level.rawValue)).pointee
        let ownedParameters = parameters.pointer + owned.lowerBound
        context.parallelism.forEachChunk(of: owned.count, minimumChunk: 16_384) { _, chunk in
            for segment in segments where segment.range.overlaps(chunk) {
                let range = segment.range.clamped(to: chunk)
                let (offset, count) = (range.lowerBound, range.count)
                let decay = segment.decays ? s.weightDecay : 0
                let p = ownedParameters + offset
                let g = ownedGradients + offset
                switch s.kind {
                case .adamw:
                    kernels.adamw_update(
                        p, g, first! + offset, second! + offset, count, learningRate, s.beta1, s.beta2, s.epsilon, decay,
                        correction1, correction2)
                case .adam:
                    kernels.adam_update(
                        p, g, first! + offset, second! + offset, count, learningRate, s.beta1, s.beta2, s.epsilon, decay,
                        correction1, correction2)
                case .sgd:
                    kernels.sgd_update(
                        p, g, s.momentum != 0 ? first! + offset : nil, count, learningRate, s.momentum, s.nesterov ? 1 : 0,
                        firstStep, decay)
                case .rmsprop:
                    kernels.rmsprop_update(p, g, first! + offset, count, learningRate, s.beta2, s.epsilon, decay)
                }
            }
        }
    }
}

/// Scales `gradients` so their global L2 norm is at most `maximumNorm`; returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ gradients: FloatBuffer, maximumNorm: Float, context: KernelContext) -> Float {
    let norm = Float(Kernels.sumOfSquares(gradients.pointer, count: gradients.count, context: context).squareRoot())
    if maximumNorm > 0, norm > maximumNorm, norm.isFinite {
        Kernels.scale(gradients.pointer, count: gradients.count, by: maximumNorm / (norm + 1e-6), context: context)
    }
    return norm
}
