/// A fixed-size, zero-initialised, contiguous Float buffer that owns its memory.
///
/// Kernels work on raw pointers into these buffers; a buffer is allocated once per
/// shape and reused, so a training step allocates nothing.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: Swift.max(count, 1))
        pointer.initialize(repeating: 0, count: Swift.max(count, 1))
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    deinit {
        pointer.deallocate()
    }

    public func zero() {
        pointer.update(repeating: 0, count: count)
    }

    public subscript(index: Int) -> Float {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }

    public var array: [Float] {
        Array(UnsafeBufferPointer(start: pointer, count: count))
    }

    public func copy(from other: FloatBuffer) {
        precondition(other.count == count, "FloatBuffer.copy: sizes differ")
        pointer.update(from: other.pointer, count: count)
    }
}

extension FloatBuffer {
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
