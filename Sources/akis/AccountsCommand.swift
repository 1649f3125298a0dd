import AkisConfig
import ArgumentParser
import Auth
import Events
import Foundation
import Logging
import Orders
import PostgresNIO

/// `akis accounts …`: operators' paper cash, straight on the database (docs/orders.md). Each change
/// is a ledger journal with its event, as the daemon writes them.
struct AccountsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accounts",
        abstract: "Put paper cash into a trading account, take it out, or show the balances.",
        subcommands: [Deposit.self, Withdraw.self, Show.self])

    struct Options: ParsableArguments {
        @Option(help: "Configuration file (TOML): its [database] url.") var config: String?
        @Option(help: "A libpq connection string; overrides the configuration's.") var database: String?

        /// Runs `body` with the accounts and the id of `user` (a username or email).
        func run(user: String, _ body: @escaping @Sendable (TradingAccounts, UUID) async throws -> Void) async throws {
            let url = try databaseURL(database: database, configuration: try config.map(Serve.readConfiguration), path: config)
            let client = PostgresClient(configuration: try .init(conninfo: url))
            let logger = Logger(label: "akis-accounts")
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                do {
                    let rows = try await client.query("""
                        SELECT id FROM auth_users WHERE username_key = \(IdentityKey.of(user)) OR email_key = \(IdentityKey.of(user))
                        """, logger: logger)
                    var id: UUID?
                    for try await found in rows.decode(UUID.self) { id = found }
                    guard let id else { throw CLIError("no account is named \(user.debugDescription)") }
                    try await body(TradingAccounts(client: client, events: EventStore(), logger: logger), id)
                } catch let refusal as OrderRejection {
                    throw CLIError(refusal.message)
                } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42P01" {
                    throw CLIError("the database has no trading tables yet: run akis migrate (or akis serve) first")
                } catch let error as PSQLError {
                    throw CLIError("the database refused: \(error.serverInfo?[.message] ?? "\(error.code)")")
                }
            }
        }
    }

    static func amount(_ text: String) throws -> Money {
        guard let money = Money(text), money > .zero else {
            throw ValidationError("\(text.debugDescription) is not an amount of lira above 0 with at most 2 decimals (e.g. 100000 or 2500.50)")
        }
        return money
    }

    static func show(_ user: String, _ balances: TradingAccounts.Balances) {
        print("\(user): cash \(balances.cash) TRY (settled \(balances.settledCash)), reserved \(balances.reserved), buying power \(balances.buyingPower)")
    }

    struct Deposit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put paper cash in (opens the account if need be).")
        @Argument(help: "Username or email.") var user: String
        @Argument(help: "Lira, e.g. 100000 or 2500.50.") var amount: String
        @OptionGroup var options: Options
        func run() async throws {
            let (user, amount) = (user, try AccountsCommand.amount(amount))
            try await options.run(user: user) { accounts, id in AccountsCommand.show(user, try await accounts.deposit(amount, to: id)) }
        }
    }

    struct Withdraw: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take paper cash out: at most the settled cash open orders do not hold.")
        @Argument(help: "Username or email.") var user: String
        @Argument(help: "Lira.") var amount: String
        @OptionGroup var options: Options
        func run() async throws {
            let (user, amount) = (user, try AccountsCommand.amount(amount))
            try await options.run(user: user) { accounts, id in AccountsCommand.show(user, try await accounts.withdraw(amount, from: id)) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an account's balances.")
        @Argument(help: "Username or email.") var user: String
        @OptionGroup var options: Options
        func run() async throws {
            let user = user
            try await options.run(user: user) { accounts, id in
                guard let balances = try await accounts.balances(of: id) else { throw CLIError("\(user) has no trading account yet") }
                AccountsCommand.show(user, balances)
            }
        }
    }
}
