import CKernels
import GPTModel
import GPTTensor

/// AdamW: Adam with decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW.
/// Weight decay applies to matrices only (embeddings and linear weights), never to
/// biases or LayerNorm gains — nanoGPT's `configure_optimizers` grouping.
public final class AdamW {
    public struct Settings: Equatable, Sendable, Codable {
        public var beta1: Float
        public var beta2: Float
        public var epsilon: Float
        public var weightDecay: Float

        public init(beta1: Float = 0.9, beta2: Float = 0.95, epsilon: Float = 1e-8, weightDecay: Float = 0.1) {
            self.beta1 = beta1
            self.beta2 = beta2
            self.epsilon = epsilon
            self.weightDecay = weightDecay
        }
    }

    public let settings: Settings
    /// First and second moments, in the model's parameter layout.
    public let firstMoment: FloatBuffer
    public let secondMoment: FloatBuffer
    /// Steps taken so far.
    public private(set) var step = 0
    private let layout: ParameterLayout

    public init(layout: ParameterLayout, settings: Settings) {
        self.settings = settings
        self.layout = layout
        firstMoment = FloatBuffer(count: layout.count)
        secondMoment = FloatBuffer(count: layout.count)
    }

    /// One update of `parameters` from `gradients` at `learningRate`.
    public func update(parameters: FloatBuffer, gradients: FloatBuffer, learningRate: Float, context: KernelContext) {
        step += 1
        let correction1 = 1 - pow(settings.beta1, Float(step))
        let correction2 = 1 - pow(settings.beta2, Float(step))
        let tensors = layout.tensors
        context.parallelism.forEachChunk(of: tensors.count) { _, range in
            for tensor in tensors[range] {
                let offset = tensor.offset
                gpt_adamw_update(
                    parameters.pointer + offset, gradients.pointer + offset, firstMoment.pointer + offset,
                    secondMoment.pointer + offset, tensor.count, learningRate, settings.beta1, settings.beta2,
                    settings.epsilon, tensor.decays ? settings.weightDecay : 0, correction1, correction2)
            }
        }
    }
}

/// Scales `gradients` so their global L2 norm is at most `maximumNorm`; returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ gradients: FloatBuffer, maximumNorm: Float) -> Float {
    let norm = Float(gpt_sum_of_squares(gradients.pointer, gradients.count).squareRoot())
    if maximumNorm > 0, norm > maximumNorm, norm.isFinite {
        gpt_scale(gradients.pointer, gradients.count, maximumNorm / (norm + 1e-6))
    }
    return norm
}

import Foundation
