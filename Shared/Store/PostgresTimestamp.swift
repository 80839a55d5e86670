import Foundation

/// Formats and parses timestamps in PostgreSQL's ISO text form. Connections set
/// `DateStyle=ISO` and `TimeZone=UTC`, so the server writes `2026-11-30 15:48:11.123456+00`.
enum PostgresTimestamp {
    static func format(_ date: Date) -> String {
        // Whole microseconds since the Unix epoch, rounded, split into civil date and time.
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        var days = micros / 86_400_000_000
        var rem = micros % 86_400_000_000
        if rem < 0 { rem += 86_400_000_000; days -= 1 }
        let (y, m, d) = civil(fromDays: days)
        let secs = rem / 1_000_000, frac = rem % 1_000_000
        func pad(_ n: Int64, _ w: Int) -> String {
            let s = String(n); return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2)) \(pad(secs / 3600, 2)):\(pad(secs / 60 % 60, 2)):\(pad(secs % 60, 2)).\(pad(frac, 6))+00"
    }

    /// Parses `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]]`; no offset means UTC.
    static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        var i = 0
        func number(_ digits: Int) -> Int64? {
            guard i + digits <= b.count else { return nil }
            var n: Int64 = 0
            for _ in 0..<digits {
                let c = b[i]
                guard c >= 48, c <= 57 else { return nil }
                n = n * 10 + Int64(c - 48); i += 1
            }
            return n
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1; return true
        }
        guard let y = number(4), expect(45), let mo = number(2), expect(45), let d = number(2) else { return nil }
        guard expect(32) || expect(84) else {  // ' ' or 'T'; a bare date is midnight UTC
            return i == b.count ? Date(timeIntervalSince1970: Double(days(fromCivil: y, mo, d) * 86_400)) : nil
        }
        guard let h = number(2), expect(58), let mi = number(2), expect(58), let s = number(2) else { return nil }
        var micros: Int64 = 0
        if expect(46) {
            var scale: Int64 = 100_000
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                micros += Int64(b[i] - 48) * scale; scale /= 10; i += 1
            }
        }
        var offset: Int64 = 0
        if i < b.count {
            let sign: Int64
            if b[i] == 43 { sign = 1 } else if b[i] == 45 { sign = -1 } else if b[i] == 90 { i += 1; sign = 0 } else { return nil }
            if sign != 0 {
                i += 1
                guard let oh = number(2) else { return nil }
                offset = oh * 3600
                if expect(58) { guard let om = number(2) else { return nil }; offset += om * 60 }
                if expect(58) { guard let os = number(2) else { return nil }; offset += os }
                offset *= sign
            }
        }
        guard i == b.count else { return nil }
        let seconds = days(fromCivil: y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset
        return Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1_000_000)
    }

    // Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian calendar).
    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
    }
}
