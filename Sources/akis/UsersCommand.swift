import AkisConfig
import ArgumentParser
import Auth
import Foundation
import Logging
import PostgresNIO

/// `akis users …`: operators' account changes, straight on the database (docs/auth.md).
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Add, list, disable, enable and change accounts.",
        discussion: "Every change is written with its event (UserRegistered, UserProfileUpdated), as the daemon does.",
        subcommands: [Add.self, List.self, Disable.self, Enable.self, SetLevel.self, ResetPassword.self, Token.self])

    struct Options: ParsableArguments {
        @Option(help: "Configuration file (TOML): its [database] url, and its [auth] bcrypt_cost.") var config: String?
        @Option(help: "A libpq connection string; overrides the configuration's.") var database: String?

        /// The `--config` file, read once (nil without one).
        func configuration() throws -> AkisConfiguration? { try config.map(Serve.readConfiguration) }

        /// Runs `body` with the account operations on the configured database.
        func run(_ body: @escaping @Sendable (UserAdministration) async throws -> Void) async throws {
            try await run(configuration: configuration(), body)
        }

        /// `run` with the configuration already read.
        func run(configuration: AkisConfiguration?, _ body: @escaping @Sendable (UserAdministration) async throws -> Void) async throws {
            let url = try databaseURL(database: database, configuration: configuration, path: config)
            let cost = (configuration?.settings(AuthSettings.self) ?? AuthSettings()).bcryptCost
            let client = PostgresClient(configuration: try .init(conninfo: url))
            let hasher = PasswordHasher(cost: cost, threads: 1)
            let users = UserAdministration(client: client, hasher: hasher, logger: Logger(label: "akis-users"))
            var failure: (any Error)?
            do { try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                do {
                    try await body(users)
                } catch let failure as AuthFailure {
                    throw CLIError(failure.message)
                } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42P01" {
                    throw CLIError("the database has no auth tables yet: run akis migrate (or akis serve) with [auth] first")
                } catch let error as PSQLError {
                    throw CLIError("the database refused: \(error.serverInfo?[.message] ?? "\(error.code)")")
                }
            } } catch { failure = error }
            try? await hasher.shutdown()
            if let failure { throw failure }
        }
    }

    /// A password from standard input (first line), or a new random one that satisfies the rules.
    static func password(fromStandardInput: Bool) throws -> (password: String, generated: Bool) {
        if fromStandardInput {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else { throw CLIError("no password on standard input") }
            return (line, false)
        }
        let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        let body = String((0..<16).map { _ in alphabet.randomElement(using: &generator)! })
        return (body + "-Aa9", true)
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a verified account; prints its password when it made one.")
        @Argument(help: "The username.") var username: String
        @Option(help: "The email address.") var email: String
        @Option(help: "basic or pro.") var level = "basic"
        @Flag(help: "Read the password from standard input instead of making one.") var passwordStdin = false
        @OptionGroup var options: Options

        func run() async throws {
            let (password, generated) = try UsersCommand.password(fromStandardInput: passwordStdin)
            let (username, email, level) = (username, email, level)
            try await options.run { users in
                let id = try await users.add(username: username, email: email, password: password, level: level)
                print("added \(username) (\(id.uuidString.lowercased())), \(level)" + (generated ? "; password: \(password)" : ""))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the accounts.")
        @OptionGroup var options: Options

        func run() async throws {
            try await options.run { users in
                let accounts = try await users.list()
                for a in accounts {
                    var state = [a.level, a.verified ? "verified" : "unverified"]
                    if a.disabled { state.append("disabled") }
                    if let until = a.lockedUntil { state.append("locked until \(until.formatted(.iso8601))") }
                    state.append(a.lastLogin.map { "last login \($0.formatted(.iso8601))" } ?? "never logged in")
                    print("\(a.username)  \(a.email)  \(a.id.uuidString.lowercased())  \(state.joined(separator: ", "))")
                }
                print("\(accounts.count) accounts")
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable an account: its logins and refreshes are refused, its sessions revoked.")
        @Argument(help: "Username or email.") var user: String
        @OptionGroup var options: Options
        func run() async throws {
            let user = user
            try await options.run { try await $0.setDisabled(user, true); print("disabled \(user)") }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled account.")
        @Argument(help: "Username or email.") var user: String
        @OptionGroup var options: Options
        func run() async throws {
            let user = user
            try await options.run { try await $0.setDisabled(user, false); print("enabled \(user)") }
        }
    }

    struct SetLevel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-level", abstract: "Set an account's subscription level (from its next token on).")
        @Argument(help: "Username or email.") var user: String
        @Argument(help: "basic or pro.") var level: String
        @OptionGroup var options: Options
        func run() async throws {
            let (user, level) = (user, level)
            try await options.run { try await $0.setLevel(user, level); print("\(user) is \(level)") }
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an access token for an account, signed with the configuration's key.",
            discussion: "For scripts and service accounts: the token the account would get at login (its level and roles), "
                + "valid for --ttl. Needs the daemon's --config (its [auth] keys).")
        @Argument(help: "Username or email.") var user: String
        @Option(help: "How long the token is valid, e.g. 15m or 8h (at most 24h).") var ttl = "15m"
        @OptionGroup var options: Options

        func run() async throws {
            guard let seconds = parseDuration(ttl), seconds >= 1, seconds <= 86_400 else {
                throw ValidationError("--ttl must be like 15m or 8h, at most 24h; got \(ttl.debugDescription)")
            }
            guard let config = options.config, let configuration = try options.configuration() else {
                throw ValidationError("akis users token needs --config: the daemon's [auth] keys sign the token")
            }
            let settings = configuration.settings(AuthSettings.self)
            guard settings.enabled else { throw CLIError("\(config) has no [auth] table") }
            let tokens: AccessTokens
            do { tokens = try AccessTokens.configured(settings) } catch { throw CLIError("\(error)") }
            let user = user
            try await options.run(configuration: configuration) { users in
                let account = try await users.find(user)
                guard !account.disabled else { throw CLIError("\(account.username) is disabled") }
                print(try await tokens.issue(id: account.id, username: account.username, roles: account.roles, level: account.level, lifetime: seconds).token)
            }
        }
    }

    struct ResetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "reset-password",
                                                        abstract: "Set a new password; ends the lock and every session. Prints it when it made one.")
        @Argument(help: "Username or email.") var user: String
        @Flag(help: "Read the password from standard input instead of making one.") var passwordStdin = false
        @OptionGroup var options: Options
        func run() async throws {
            let (password, generated) = try UsersCommand.password(fromStandardInput: passwordStdin)
            let user = user
            try await options.run { try await $0.resetPassword(user, password); print("new password for \(user)" + (generated ? ": \(password)" : " set")) }
        }
    }
}
