import Events

extension Fixture {
    /// Benchmark queries annotated by the built-in council, with their references cut to two
    /// short steps and a short answer: a world a tiny policy learns to write in seconds.
    public static func shortItems(_ count: Int) -> [AnnotatedQuery] {
        benchmark.pairs.prefix(count).map { pair in
            let q = pair.querySubmitted
            var a = try! council.annotateNow(q)
            a.reasoningChain = Array(a.reasoningChain.prefix(2)).map { step in
                var s = step
                s.text = s.text.split(separator: " ").prefix(7).joined(separator: " ")
                return s
            }
            a.alignedAnswer = a.alignedAnswer.split(separator: " ").prefix(9).joined(separator: " ")
            return AnnotatedQuery(query: q, annotation: a)
        }
    }
}
