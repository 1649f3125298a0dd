import AkisConfig
import Testing

@testable import Orders

@Suite struct OrdersSettingsTests {
    static func parse(_ text: String) throws(ConfigError) -> OrdersSettings {
        try AkisConfiguration.parse(text, modules: [OrdersSettings.self]).settings(OrdersSettings.self)
    }

    @Test func theDefaultsAreBISTs() throws {
        let settings = try Self.parse("")
        #expect(settings.priceLimit == Rate(percent: "10") && settings.closingAuctionLimit == Rate(percent: "3"))
        #expect(settings.bsmv == Rate(percent: "5") && settings.exchangeFee == Rate(percent: "0.003"))
        #expect(settings.settlement.days == 2 && settings.paperStartingCash == nil)
    }

    @Test func ratesAndAmountsAreReadExactlyInEveryForm() throws {
        let settings = try Self.parse("""
            [orders]
            price_limit_percent = 20
            exchange_fee_percent = 0.003
            bsmv_percent = "5"
            max_order_value = "2500000.50"
            paper_starting_cash = 100000
            settlement_days = 1
            paper_latency = "5ms"
            [orders.price_limit_percent_by_symbol]
            GARAN = "15"
            [orders.commission_percent]
            pro = "0.02"
            """)
        #expect(settings.priceLimit(for: "GARAN") == Rate(percent: "15") && settings.priceLimit(for: "THYAO") == Rate(percent: "20"))
        #expect(settings.exchangeFee.units == 300_000)
        #expect(settings.maximumOrderValue == Money(kurus: 250_000_050))
        #expect(settings.paperStartingCash == Money("100000"))
        #expect(settings.commissionByLevel["pro"] == Rate(percent: "0.02") && settings.commissionByLevel["basic"] == Rate(percent: "0.1"))
        #expect(settings.settlement.days == 1 && settings.paperLatencyNanos == 5_000_000)
    }

    @Test(arguments: [
        ("[orders]\nprice_limit_percent = -1", "orders.price_limit_percent (line 2)"),
        ("[orders]\nprice_limit_percent = 100", "is not below 100 %"),
        ("[orders]\nexchange_fee_percent = 0.00001", "as a string"),
        ("[orders]\nmax_order_value = \"10.001\"", "orders.max_order_value (line 2)"),
        ("[orders]\nmax_order_value = 0", "above 0"),
        ("[orders]\ncommission = 1", "unknown key orders.commission"),
        ("[orders.commission_percent]\nvip = \"1\"", "unknown key orders.commission_percent.vip"),
        ("[orders.price_limit_percent_by_symbol]\n\"garan\" = \"5\"", "is not a symbol"),
        ("[orders]\nsettlement_days = 11", "out of range"),
    ])
    func badValuesNameTheirKeyAndLine(text: String, fragment: String) {
        #expect { try Self.parse(text) } throws: { error in
            "\(error)".contains(fragment)
        }
    }
}
