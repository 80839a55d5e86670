extension Duration {
    /// Whole milliseconds, rounded up so that a small positive timeout never becomes 0 (non-blocking).
    public var roundedUpMilliseconds: Int {
        let (seconds, attoseconds) = components
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int(clamping: max(0, ms))
    }

    /// The duration in seconds, as a floating-point number.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
