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
    /// Runs of parameters that share a weight-decay setting, as (range, decays).
    private let segments: [(range: Range<Int>, decays: Bool)]

    public init(layout: ParameterLayout, settings: Settings) {
        self.settings = settings
        var segments: [(range: Range<Int>, decays: Bool)] = []
        for tensor in layout.tensors {
            let range = tensor.offset..<(tensor.offset + tensor.count)
            if let last = segments.last, last.decays == tensor.decays, last.range.upperBound == range.lowerBound {
                segments[segments.count - 1].range = last.range.lowerBound..<range.upperBound
            } else {
                segments.append((range, tensor.decays))
            }
        }
        self.segments = segments
        firstMoment = FloatBuffer(count: layout.count)
        secondMoment = FloatBuffer(count: layout.count)
    }

    /// One update of `parameters` from `gradients` at `learningRate`.
    public func update(parameters: FloatBuffer, gradients: FloatBuffer, learningRate: Float, context: KernelContext) {
        step += 1
        let correction1 = 1 - pow(settings.beta1, Float(step))
        let correction2 = 1 - pow(settings.beta2, Float(step))
        // Split all parameters evenly across threads; each chunk walks the segments it overlaps.
        context.parallelism.forEachChunk(of: parameters.count, minimumChunk: 16_384) { _, chunk in
            for segment in segments where segment.range.overlaps(chunk) {
                let range = segment.range.clamped(to: chunk)
                let offset = range.lowerBound
                gpt_adamw_update(
                    parameters.pointer + offset, gradients.pointer + offset, firstMoment.pointer + offset,
                    secondMoment.pointer + offset, range.count, learningRate, settings.beta1, settings.beta2,
                    settings.epsilon, segment.decays ? settings.weightDecay : 0, correction1, correction2)
            }
        }
    }
}

/// Scales `gradients` so their global L2 norm is at most `maximumNorm`; returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ gradients: FloatBuffer, maximumNorm: Float, context: KernelContext) -> Float {
    let threads = context.parallelism.threads
    var partials = [Double](repeating: 0, count: threads)
    partials.withUnsafeMutableBufferPointer { partials in
        context.parallelism.forEachChunk(of: gradients.count, minimumChunk: 16_384) { chunk, range in
            partials[chunk] = gpt_sum_of_squares(gradients.pointer + range.lowerBound, range.count)
        }
    }
    let norm = Float(partials.reduce(0, +).squareRoot())
    if maximumNorm > 0, norm > maximumNorm, norm.isFinite {
        let scale = maximumNorm / (norm + 1e-6)
        context.parallelism.forEachChunk(of: gradients.count, minimumChunk: 16_384) { _, range in
            gpt_scale(gradients.pointer + range.lowerBound, range.count, scale)
        }
    }
    return norm
}

import Foundation
