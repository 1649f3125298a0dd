import AkisConfig
import Testing

@Suite struct TOMLParserTests {
    @Test func parsesTheSubsetAkisUses() throws {
        let t = try TOMLParser.parse("""
            # a comment
            title = "akis"   # trailing comment
            'literal key' = 'C:\\path'
            escaped = "tab\\tquote\\" \\u00E7"
            count = 1_000
            negative = -42
            hex = 0xff
            ratio = 0.25
            big = 1e3
            on = true
            list = [ "a", "b",
                     # comment inside
                     "c", ]
            point = { x = 1, y = "two" }

            [serve]
            stats_interval = "5s"
            [a.b]
            c = 1
            [[feeds]]
            name = "one"
            [[feeds]]
            name = "two"
            nested.key = 3
            """)
        #expect(t["title"] == .string("akis"))
        #expect(t["literal key"] == .string("C:\\path"))
        #expect(t["escaped"] == .string("tab\tquote\" ç"))
        #expect(t["count"] == .integer(1000))
        #expect(t["negative"] == .integer(-42))
        #expect(t["hex"] == .integer(255))
        #expect(t["ratio"] == .float(0.25))
        #expect(t["big"] == .float(1000))
        #expect(t["on"] == .bool(true))
        #expect(t["list"] == .array([.string("a"), .string("b"), .string("c")]))
        guard case .table(let point) = t["point"] else { Issue.record("point"); return }
        #expect(point["y"] == .string("two"))
        guard case .table(let a) = t["a"], case .table(let b) = a["b"] else { Issue.record("a.b"); return }
        #expect(b["c"] == .integer(1))
        guard case .array(let feeds) = t["feeds"], feeds.count == 2, case .table(let second) = feeds[1] else { Issue.record("feeds"); return }
        #expect(second["name"] == .string("two"))
        guard case .table(let nested) = second["nested"] else { Issue.record("nested"); return }
        #expect(nested["key"] == .integer(3))
        #expect(t.entries["count"]?.line == 5)
    }

    @Test(arguments: [
        ("a = 1\na = 2", "line 2", "defined twice"),
        ("[x]\n[x]", "line 2", "table 'x' is defined twice"),
        ("a = \"open", "line 1", "unterminated string"),
        ("a = hello", "line 1", "strings need quotes"),
        ("a = 1 b = 2", "line 1", "expected the end of the line"),
        ("a = 07", "line 1", "leading zeros"),
        ("a = 1__0", "line 1", "underscore"),
        ("a = 99999999999999999999", "line 1", "out of range"),
        ("a = 1979-05-27", "line 1", "dates and times are not supported"),
        ("a = \"\"\"x\"\"\"", "line 1", "multi-line strings"),
        ("a = [1, 2", "line 1", "unterminated array"),
        ("a = \"\\q\"", "line 1", "unknown escape"),
        ("= 1", "line 1", "expected a key"),
        ("a = 1\n[a]", "line 2", "is defined twice"),
        ("a = \"x\u{01}\"", "line 1", "control character"),
        ("[[a]]\n[a]", "line 2", "defined twice"),
    ])
    func syntaxErrorsSayWhereAndWhat(text: String, line: String, message: String) {
        #expect { try TOMLParser.parse(text) } throws: { error in
            let d = "\(error)"
            return d.hasPrefix(line + ",") && d.contains(message)
        }
    }
}
