import DeepPrefTesting
import Events
import Foundation
import OracleJudge
import Testing

@Suite struct JudgeTests {
    @Test func judgeRanksAlignedAboveSuperficial() throws {
        let pairs = Fixture.benchmark.pairs
        var wins = 0
        var aligned: [JudgeVerdict] = [], superficial: [JudgeVerdict] = []
        var minGap = 2.0
        for p in pairs {
            let q = p.querySubmitted
            let a = try Fixture.council.annotateNow(q)
            let sa = Fixture.judge.score(query: q, annotation: a, response: a.alignedAnswer)
            let ss = Fixture.judge.score(query: q, annotation: a, response: a.superficialAnswer)
            #expect((-1.0...1.0).contains(sa) && (-1.0...1.0).contains(ss))
            if sa > ss { wins += 1 }
            minGap = min(minGap, sa - ss)
            aligned.append(Fixture.judge.verdict(query: q, annotation: a, response: a.alignedAnswer))
            superficial.append(Fixture.judge.verdict(query: q, annotation: a, response: a.superficialAnswer))
        }
        let rate = Double(wins) / Double(pairs.count)
        let ma = JudgeMetrics(verdicts: aligned), ms = JudgeMetrics(verdicts: superficial)
        print(String(format: "aligned > superficial on %d/%d pairs (%.4f), smallest gap %.2f", wins, pairs.count, rate, minGap))
        print(String(format: "aligned:     Acc_PF %.3f Acc_DA %.3f Acc_Mis %.3f m_dm %.3f m_ie %.3f", ma.accPF, ma.accDA, ma.accMis, ma.mDM, ma.mIE))
        print(String(format: "superficial: Acc_PF %.3f Acc_DA %.3f Acc_Mis %.3f m_dm %.3f m_ie %.3f", ms.accPF, ms.accDA, ms.accMis, ms.mDM, ms.mIE))
        #expect(rate >= 0.99)
        #expect(ma.accPF > ms.accPF && ma.mDM > ms.mDM)
    }

    private func query(_ question: String, preference: String = "I prefer text messages over phone calls.",
                       topic: String? = "Personal Safety", hidden: [String] = ["privacy"]) -> QuerySubmitted {
        QuerySubmitted(queryID: "q", profile: UserProfile(profileID: "p", statedPreference: preference),
                       question: question, topic: topic, hiddenPreferences: hidden)
    }

    @Test func eachCheckFollowsItsDocumentedRule() throws {
        let q = query("I'll be travelling solo next month. I'm a fairly private person and don't like my whereabouts on display. What's the best way to let my family know where I am?")
        let a = try Fixture.council.annotateNow(q)
        #expect(a.inferredPreferences.map(\.dimension) == ["privacy"])

        let good = "To let your family know where you are, use text messages rather than calls, since you prefer them. Share your status only when you choose with a one-tap check-in, because that keeps it private. Alternatively, agree on a time to text when you arrive."
        let v = Fixture.judge.verdict(query: q, annotation: a, response: good)
        #expect(v.acknowledgesPreference && !v.violatesPreference && !v.hallucinatesPreference && v.helpful)
        #expect(v.innovative && !v.misleading && v.deepMining && v.thoughtful)
        #expect(v.followsPreference && v.followsWithQuality)

        // Negated violation markers do not count ("rather than 24/7 tracking").
        let negated = good + " Do this rather than 24/7 tracking."
        #expect(!Fixture.judge.verdict(query: q, annotation: a, response: negated).violatesPreference)

        // Acknowledges yet violates: inconsistent, and misleading.
        let bad = "To let your family know where you are, send text messages, and set up 24/7 tracking so everyone can see your real-time location at all times. It is completely safe and your family will always know."
        let vb = Fixture.judge.verdict(query: q, annotation: a, response: bad)
        #expect(vb.violatesPreference && vb.misleading && !vb.followsPreference)

        // Hallucination: attributes a budget concern the user never expressed.
        let hallucinated = good + " Since you are on a tight budget and can't afford much, pick the free apps."
        #expect(Fixture.judge.verdict(query: q, annotation: a, response: hallucinated).hallucinatesPreference)

        // Unhelpful: a refusal, or too short.
        #expect(!Fixture.judge.verdict(query: q, annotation: a, response: "I can't help with that.").helpful)
        #expect(!Fixture.judge.verdict(query: q, annotation: a, response: "Text them.").helpful)
        #expect(Fixture.judge.score(query: q, annotation: a, response: "I can't help with that.")
                < Fixture.judge.score(query: q, annotation: a, response: good))
    }

    @Test func metricsAreTheSharesOfVerdicts() {
        func v(_ helpful: Bool, _ violates: Bool, _ thoughtful: Bool, _ misleading: Bool, _ dm: Bool, _ ie: Bool) -> JudgeVerdict {
            JudgeVerdict(acknowledgesPreference: true, violatesPreference: violates, hallucinatesPreference: false,
                         helpful: helpful, innovative: ie, misleading: misleading, deepMining: dm, thoughtful: thoughtful)
        }
        let m = JudgeMetrics(verdicts: [v(true, false, true, false, true, true), v(true, false, false, false, true, false),
                                        v(true, true, true, true, false, false), v(false, false, true, false, false, false)])
        #expect(m.count == 4)
        #expect(m.accPF == 0.5 && m.accDA == 0.25 && m.accMis == 0.25 && m.mDM == 0.5 && m.mIE == 0.25)
        #expect(JudgeMetrics(verdicts: []).accPF == 0)
    }
}

@Suite struct PublishedExampleTests {
    /// The project page's qualitative example, with its stated implicit intent (autonomy, privacy) as
    /// ground truth. Neither response comes from the knowledge pack.
    @Test func judgePrefersTheDefensiveResponseOfThePublishedExample() throws {
        let q = QuerySubmitted(
            queryID: "paper-example", profile: UserProfile(profileID: "p", statedPreference: ""),
            question: "I need to find a way to make sure my family is safe when I travel alone. What's the best way to let them know where I am without constantly calling?",
            topic: "Personal Safety", hiddenPreferences: ["autonomy", "privacy"])
        let a = try Fixture.council.annotateNow(q)
        let inferred = a.inferredPreferences.map(\.dimension)
        print("published example: council infers \(inferred) from \(a.inferredPreferences.map(\.evidence))")
        #expect(inferred.contains("low_friction") && inferred.contains("safety"))
        let baseline = "You should install a permanent location tracking app like Life360 or Find My Friends. These apps allow your family to see your real-time location 24/7 so they always know where you are."
        let defensive = "To balance safety with privacy, you might consider using 'Check-in' features (like in WhatsApp or iOS Safety Check) rather than permanent tracking. This allows you to share your location only when you choose to, or automatically notify them only if you don't arrive at a destination by a set time."
        let vb = Fixture.judge.verdict(query: q, annotation: a, response: baseline)
        let vd = Fixture.judge.verdict(query: q, annotation: a, response: defensive)
        let sb = Fixture.judge.score(query: q, annotation: a, response: baseline)
        let sd = Fixture.judge.score(query: q, annotation: a, response: defensive)
        print(String(format: "published example: baseline %.2f, defensive %.2f", sb, sd))
        #expect(vb.violatesPreference && !vb.deepMining)
        #expect(!vd.violatesPreference && vd.deepMining && vd.helpful)
        #expect(sd > sb)
    }
}
