/// A fixed-size, zero-initialised, contiguous buffer of numbers that owns its memory (or, made
/// over memory that lives elsewhere — shared between processes — uses it without owning it).
///
/// Kernels work on raw pointers into these buffers; a buffer is allocated once per
/// shape and reused, so a training step allocates nothing.
public final class Buffer<Element: Numeric & Sendable>: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Element>
    private let ownsMemory: Bool

    public init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: Swift.max(count, 1))
        pointer.initialize(repeating: 0, count: Swift.max(count, 1))
        ownsMemory = true
    }

    /// A buffer over `count` elements at `memory`, which must outlive it; zeroed.
    public init(over memory: UnsafeMutablePointer<Element>, count: Int) {
        self.count = count
        pointer = memory
        pointer.initialize(repeating: 0, count: count)
        ownsMemory = false
    }

    /// A buffer holding `values`.
    public convenience init(_ values: [Element]) {
        self.init(count: values.count)
        copy(values)
    }

    deinit {
        if ownsMemory { pointer.deallocate() }
    }

    public func zero() {
        pointer.update(repeating: 0, count: count)
    }

    public subscript(index: Int) -> Element {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }

    public var array: [Element] {
        Array(UnsafeBufferPointer(start: pointer, count: count))
    }

    /// Copies `values` (at most `count` of them) to the start of the buffer.
    public func copy(_ values: [Element]) {
        precondition(values.count <= count, "Buffer.copy: \(values.count) values do not fit in \(count)")
        values.withUnsafeBufferPointer { if let base = $0.baseAddress { pointer.update(from: base, count: values.count) } }
    }

    public func copy(from other: Buffer<Element>) {
        precondition(other.count == count, "Buffer.copy: sizes differ")
        pointer.update(from: other.pointer, count: count)
    }
}

/// Parameters, gradients, activations and scratch.
public typealias FloatBuffer = Buffer<Float>
/// The token ids and targets of a pass, copied once into stable storage the kernels read.
public typealias TokenBuffer = Buffer<Int32>

extension Buffer where Element == Float {
    /// Carves one buffer into consecutive named views (one allocation for many tensors).
    public struct Slicer {
        private var cursor: UnsafeMutablePointer<Float>
        private let end: UnsafeMutablePointer<Float>

        public init(_ buffer: FloatBuffer) {
            cursor = buffer.pointer
            end = buffer.pointer + buffer.count
        }

        /// The next `count` Floats.
        public mutating func take(_ count: Int) -> UnsafeMutablePointer<Float> {
            precondition(cursor + count <= end, "FloatBuffer.Slicer: the views exceed the buffer")
            defer { cursor += count }
            return cursor
        }
    }
}
