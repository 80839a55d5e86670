/// out = a + b
public func residualForward(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ N: Int) {
    for i in 0..<N { out[i] = a[i] + b[i] }
}

/// Adds the gradient of `residualForward` into both inputs: forward was out = a + b.
public func residualBackward(_ da: UnsafeMutablePointer<Float>, _ db: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>, _ N: Int) {
    for i in 0..<N {
        da[i] += dout[i]
        db[i] += dout[i]
    }
}

/// a += b
public func addInPlace(_ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, _ N: Int) {
    for i in 0..<N { a[i] += b[i] }
}
