import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Resilience

/// How one HTTP exchange ended.
enum HTTPOutcome: Sendable {
    case http(status: Int, headers: [String: String], body: Data)
    case timedOut
    case transport(String)
    /// The body passed the size limit; `announced` is the `Content-Length` when that alone said so.
    case tooLarge(announced: Int64?)
}

/// The session delegate of one ``ChatCompletionsClient``: collects each task's body and stops a
/// task as soon as its body would pass the size limit, so an oversized reply is never read whole.
final class ResponseBodies: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let exchanges = Locked([Int: HTTPExchange]())

    /// Starts collecting for `task` (before it is resumed).
    func register(_ task: URLSessionTask, limit: Int) -> HTTPExchange {
        let exchange = HTTPExchange(limit: limit)
        exchanges.withLock { $0[task.taskIdentifier] = exchange }
        return exchange
    }

    func forget(_ task: URLSessionTask) {
        _ = exchanges.withLock { $0.removeValue(forKey: task.taskIdentifier) }
    }

    private func exchange(of task: URLSessionTask) -> HTTPExchange? {
        exchanges.withLock { $0[task.taskIdentifier] }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        guard let exchange = exchange(of: dataTask) else {
            completionHandler(.cancel)
            return
        }
        if response.expectedContentLength > Int64(exchange.limit) {
            exchange.finish(.tooLarge(announced: response.expectedContentLength))
            completionHandler(.cancel)
            dataTask.cancel() // Linux Foundation ignores the disposition
            return
        }
        exchange.received(response)
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard let exchange = exchange(of: dataTask) else { return }
        if !exchange.append(data) {
            exchange.finish(.tooLarge(announced: nil))
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        exchange(of: task)?.complete(error: error, response: task.response)
    }
}

/// One request's reply as it arrives. The delegate queue, the timeout timer and the waiting request
/// all end it; the first ending wins and the others are ignored.
final class HTTPExchange: Sendable {
    /// Most body bytes kept.
    let limit: Int

    private struct State {
        var response: URLResponse?
        var body = Data()
        var finished = false
        /// An ending that came before anyone waited for it.
        var outcome: HTTPOutcome?
        var waiting: CheckedContinuation<HTTPOutcome, Never>?
    }
    private let state = Locked(State())

    init(limit: Int) {
        self.limit = limit
    }

    /// Resumes `continuation` with the ending, at once when the exchange has already ended.
    func onFinish(_ continuation: CheckedContinuation<HTTPOutcome, Never>) {
        let ended: HTTPOutcome? = state.withLock { state in
            if let outcome = state.outcome { return outcome }
            state.waiting = continuation
            return nil
        }
        if let ended { continuation.resume(returning: ended) }
    }

    /// Ends the exchange unless it has ended already; true when this call ended it.
    @discardableResult
    func finish(_ outcome: HTTPOutcome) -> Bool {
        let (ended, waiting): (Bool, CheckedContinuation<HTTPOutcome, Never>?) = state.withLock { state in
            if state.finished { return (false, nil) }
            state.finished = true
            guard let waiting = state.waiting else {
                state.outcome = outcome
                return (true, nil)
            }
            state.waiting = nil
            return (true, waiting)
        }
        waiting?.resume(returning: outcome)
        return ended
    }

    func received(_ response: URLResponse) {
        state.withLock { $0.response = response }
    }

    /// Keeps `data`; false when the body would pass the limit (nothing more is kept then).
    func append(_ data: Data) -> Bool {
        state.withLock { state in
            if state.finished { return true }
            guard state.body.count + data.count <= limit else { return false }
            state.body.append(data)
            return true
        }
    }

    /// Ends the exchange with what the task finished with.
    func complete(error: (any Error)?, response: URLResponse?) {
        if let error {
            let code = (error as NSError).code
            if code == NSURLErrorTimedOut {
                finish(.timedOut)
            } else if code == NSURLErrorCancelled {
                finish(.transport("request cancelled"))
            } else {
                finish(.transport("cannot reach the endpoint: \((error as NSError).localizedDescription)"))
            }
            return
        }
        let (received, body) = state.withLock { ($0.response, $0.body) }
        guard let http = (received ?? response) as? HTTPURLResponse else {
            finish(.transport("the reply is not HTTP"))
            return
        }
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        finish(.http(status: http.statusCode, headers: headers, body: body))
    }
}
