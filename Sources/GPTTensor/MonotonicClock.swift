import Foundation

/// Seconds on a monotonic clock (for timing; the origin is arbitrary).
@inline(__always)
public func monotonicSeconds() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) / 1e9
}
