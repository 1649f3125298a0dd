import AkisConfig
import AlgoLab
import ArgumentParser
import Foundation
import Ingest

/// `akis algolab …`: the broker account's session, for operators (docs/algolab.md).
struct AlgoLabCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "algolab",
        abstract: "Log in to AlgoLab (Deniz Yatırım), check the session, and show the account's orders and holdings.",
        subcommands: [Login.self, Status.self, Orders.self, Positions.self])

    struct Options: ParsableArguments {
        @Option(help: "Configuration file (TOML) with an [algolab] table.") var config: String

        /// Runs `body` with the configured account; its client is shut down after, also on error.
        func withAccount(_ body: (AlgoLabSettings, AlgoLabAccount) async throws -> Void) async throws {
            let settings = try Serve.readConfiguration(config).settings(AlgoLabSettings.self)
            guard settings.enabled else { throw CLIError("\(config) has no [algolab] table") }
            let account: AlgoLabAccount
            do { account = try AlgoLabAccount(settings) } catch { throw CLIError("\(config): [algolab] \(error)") }
            do {
                try await body(settings, account)
            } catch {
                await account.client.shutdown()
                throw error
            }
            await account.client.shutdown()
        }
    }

    struct Login: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Log in with the user, password and SMS code, and store the session for the daemon.",
            discussion: """
            The password and the SMS code are read from the terminal without echo (or, when standard input \
            is not a terminal, one per line from it): never from the command line, so never in shell history. \
            The session is stored encrypted in [algolab] session_file; a running daemon takes it up within a second.
            """)
        @OptionGroup var options: Options
        @Option(help: "The AlgoLab user (TCKN or customer number); asked for when left out.") var user: String?

        func run() async throws {
            try await options.withAccount { settings, account in try await login(settings, account) }
        }

        private func login(_ settings: AlgoLabSettings, _ account: AlgoLabAccount) async throws {
            let user = try self.user ?? Terminal.line("AlgoLab user (TCKN or customer number): ", secret: false)
            let password = try Terminal.line("Password: ", secret: true)
            do {
                let token = try await account.client.startLogin(username: user, password: password)
                print("AlgoLab sent an SMS code to the account's phone.")
                var attempts = 0
                while true {
                    attempts += 1
                    let code = try Terminal.line("SMS code: ", secret: true)
                    do {
                        let hash = try await account.client.confirmLogin(token: token, smsCode: code)
                        try account.sessionFile.save(.init(hash: hash, created: Int64(Date().timeIntervalSince1970 * 1e9)))
                        break
                    } catch {
                        guard case .refused(let message) = error, attempts < 3 else { throw error }
                        print("AlgoLab refused the code: \(message); try again")
                    }
                }
            } catch {
                throw CLIError("\(error)")
            }
            print("session stored in \(settings.sessionFile) (encrypted); a running daemon takes it up within a second")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say whether the stored session is live (one SessionRefresh).")
        @OptionGroup var options: Options

        func run() async throws {
            try await options.withAccount { settings, account in try await status(settings, account) }
        }

        private func status(_ settings: AlgoLabSettings, _ account: AlgoLabAccount) async throws {
            let session: AlgoLabSessionFile.Session?
            do { session = try account.sessionFile.load() } catch { throw CLIError("\(error)") }
            guard let session else { throw CLIError("no session in \(settings.sessionFile): run akis algolab login") }
            let created = UTCTime.formatISO8601(session.created)
            do {
                try await account.client.refreshSession(session.hash)
            } catch {
                throw CLIError("the session of \(created) is not live: \(error)")
            }
            print("session of \(created) is live (refreshed now)")
        }
    }
}

extension AlgoLabCommand.Options {
    /// Runs `body` with a broker on the stored session, once AlgoLab has confirmed it is live.
    func withBroker(_ body: (AlgoLabBroker) async throws -> Void) async throws {
        try await withAccount { settings, account in
            let keeper = AlgoLabSessionKeeper(client: account.client, file: account.sessionFile, refreshInterval: .seconds(60), log: { _ in })
            await keeper.step()
            if let problem = keeper.problem { throw CLIError(problem) }
            try await body(AlgoLabBroker(keeper: keeper))
        }
    }
}

extension AlgoLabCommand {
    struct Orders: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the day's orders of the account (TodaysTransaction).")
        @OptionGroup var options: Options

        func run() async throws {
            try await options.withBroker { broker in
                let orders: [AlgoLabTransaction]
                do { orders = try await broker.todaysOrders() } catch { throw CLIError("\(error)") }
                print("reference  symbol    side    shares   filled  remaining  price       state")
                for o in orders {
                    func n(_ v: Int64?) -> String { v.map { "\($0)" } ?? "-" }
                    print([o.reference.padding(10), o.symbol.padding(9), o.side.padding(7), n(o.shares).padding(8), n(o.filledShares).padding(7),
                           n(o.remainingShares).padding(10), (o.price.map { "\($0)" } ?? "-").padding(11), o.state].joined(separator: " "))
                }
                if orders.isEmpty { print("(no orders today)") }
            }
        }
    }

    struct Positions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the account's holdings (InstantPosition).")
        @OptionGroup var options: Options

        func run() async throws {
            try await options.withBroker { broker in
                let positions: [AlgoLabPosition]
                do { positions = try await broker.positions() } catch { throw CLIError("\(error)") }
                print("symbol    shares")
                for p in positions { print("\(p.symbol.padding(9)) \(p.shares.map { "\($0)" } ?? "-")") }
                if positions.isEmpty { print("(no holdings)") }
            }
        }
    }
}

private extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}

/// Lines typed by the operator: from the terminal (without echo for secrets), or from standard
/// input when it is not a terminal.
enum Terminal {
    static func line(_ prompt: String, secret: Bool) throws -> String {
        let tty = isatty(STDIN_FILENO) == 1
        if tty {
            FileHandle.standardError.write(Data(prompt.utf8))
        }
        var saved = termios()
        let hidden = tty && secret && tcgetattr(STDIN_FILENO, &saved) == 0
        if hidden {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        }
        defer {
            if hidden {
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
                FileHandle.standardError.write(Data("\n".utf8))
            }
        }
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            throw CLIError("no answer to \"\(prompt.trimmingCharacters(in: .whitespaces))\"")
        }
        return line
    }
}
