import Foundation
import Logging
import ServiceRuntime
import Testing

private func logger(_ lines: LogLines, format: ServiceOptions.LogFormat, level: Logger.Level = .info) -> Logger {
    Logger(label: "cdra.test") { label in
        ServiceLogHandler(label: label, service: "council-generator", format: format, logLevel: level,
                          output: .lines { lines.append($0) })
    }
}

@Suite("ServiceLogHandler")
struct ServiceLogHandlerTests {
    @Test func textLineCarriesLevelServiceLabelMessageAndSortedMetadata() {
        let lines = LogLines()
        var log = logger(lines, format: .text)
        log[metadataKey: "topic"] = "deeppref.queries.v1"
        log.info("batch committed", metadata: ["count": "500", "note": "two words"])
        #expect(lines.all.count == 1)
        let line = lines.all[0]
        // 2026-11-30T15:48:11.123Z info council-generator [cdra.test] batch committed count=500 ...
        let pattern = #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info council-generator \[cdra\.test\] batch committed count=500 note="two words" topic=deeppref\.queries\.v1$/#
        #expect(line.wholeMatch(of: pattern) != nil, "\(line)")
    }

    @Test func jsonLineIsOneValidObject() throws {
        let lines = LogLines()
        let log = logger(lines, format: .json)
        log.warning("odd \"quoted\"\nmessage", metadata: ["attempt": "3", "tags": ["a", "b"],
                                                          "nested": ["k": "v"]])
        #expect(lines.all.count == 1)
        let line = lines.all[0]
        #expect(!line.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "warning")
        #expect(object["service"] as? String == "council-generator")
        #expect(object["logger"] as? String == "cdra.test")
        #expect(object["message"] as? String == "odd \"quoted\"\nmessage")
        #expect((object["ts"] as? String)?.hasSuffix("Z") == true)
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(metadata["attempt"] as? String == "3")
        #expect(metadata["tags"] as? [String] == ["a", "b"])
        #expect((metadata["nested"] as? [String: String])?["k"] == "v")
    }

    @Test func levelsBelowTheThresholdAreDropped() {
        let lines = LogLines()
        let log = logger(lines, format: .text, level: .warning)
        log.info("quiet")
        log.debug("quieter")
        log.error("loud")
        #expect(lines.all.count == 1)
        #expect(lines.all.first?.contains(" error council-generator ") == true)
    }

    @Test func metadataIsAValuePerLogger() {
        let lines = LogLines()
        var a = logger(lines, format: .text)
        var b = a
        a[metadataKey: "who"] = "a"
        b[metadataKey: "who"] = "b"
        a.info("x")
        b.info("x")
        #expect(lines.all[0].hasSuffix("who=a"))
        #expect(lines.all[1].hasSuffix("who=b"))
    }
}

@Suite("ServiceLogHandler line discipline")
struct ServiceLogHandlerLineTests {
    @Test func aMultiLineMessageStaysOneTextLine() {
        let lines = LogLines()
        let log = logger(lines, format: .text)
        log.error("first\nsecond", metadata: ["detail": "a\nb"])
        #expect(lines.all.count == 1)
        #expect(!lines.all[0].contains("\n"))
        #expect(lines.all[0].contains("first\\nsecond"))
        #expect(lines.all[0].contains("detail=\"a\\nb\""))
    }
}
