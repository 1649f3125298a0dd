import Ingest
import Testing

@Suite struct SymbolUniverseTests {
    @Test func joinedSymbolsTakeTheNextIdsAndEarlierCopiesStayPrefixes() throws {
        let start = try SymbolTable(["GARAN", "AKBNK"])
        let universe = SymbolUniverse(start, limit: 3)
        let before = universe.table
        let enkai = try universe.join("ENKAI")
        #expect(enkai.id == SymbolID(2) && enkai.isNew)
        let again = try universe.join("ENKAI"), garan = try universe.join("GARAN")
        #expect(again.id == SymbolID(2) && !again.isNew && garan.id == SymbolID(0) && !garan.isNew)
        #expect(universe.count == 3 && universe.names(from: 1) == ["AKBNK", "ENKAI"] && universe.names(from: 3).isEmpty)
        #expect(before.count == 2 && before.allNames == Array(universe.table.allNames.prefix(2)), "a copy taken before is a prefix")
        #expect(throws: SymbolError.tooManySymbols) { try universe.join("EREGL") }
        #expect(throws: SymbolError.invalidFormat("eregl")) { try universe.join("eregl") }
        #expect(universe.count == 3 && universe.id(for: "EREGL") == nil)
    }

    @Test func recalledNamesHaveIdsButAreNotIngestedUntilTheyJoin() throws {
        let universe = SymbolUniverse(try SymbolTable(["GARAN"]), limit: 2)
        let old = try universe.recall("SASA")
        #expect(old == SymbolID(1) && universe.name(of: old) == "SASA")
        #expect(try universe.recall("GARAN") == SymbolID(0))
        #expect(universe.id(for: "SASA") == nil && universe.ingestedCount == 1 && universe.count == 2)
        #expect(universe.ingestedNames.map(\.name) == ["GARAN"])
        // Recalled names count against the limit only once they join.
        let sasa = try universe.join("SASA")
        #expect(sasa.id == old && sasa.isNew && universe.id(for: "SASA") == old && universe.ingestedCount == 2)
        #expect(throws: SymbolError.tooManySymbols) { try universe.join("ENKAI") }
        #expect(try universe.recall("ENKAI") == SymbolID(2), "a recalled name may still be given an id")
    }
}
