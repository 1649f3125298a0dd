import AkisConfig
@testable import Daemon
import NIOCore
import Testing

/// `[http] operator_routes`: who may read `/metrics`, `/healthz` and `/readyz`.
@Suite struct OperatorRoutesTests {
    @Test func onlyThisMachinesAddressesAreLoopback() throws {
        for local in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"] {
            #expect(Daemon.isLoopback(try SocketAddress(ipAddress: local, port: 1)), "\(local)")
        }
        for remote in ["10.0.0.5", "192.168.1.2", "128.0.0.1", "::2", "fe80::1", "::ffff:10.0.0.1", "0.0.0.0"] {
            #expect(!Daemon.isLoopback(try SocketAddress(ipAddress: remote, port: 1)), "\(remote)")
        }
        #expect(Daemon.isLoopback(try SocketAddress(unixDomainSocketPath: "/tmp/x")))
        #expect(!Daemon.isLoopback(nil))
    }

    @Test func theKeyIsReadStrictly() throws {
        #expect(try AkisConfiguration.parse("").operatorRoutes == .open)
        #expect(try AkisConfiguration.parse("[http]\noperator_routes = \"local\"").operatorRoutes == .local)
        do {
            _ = try AkisConfiguration.parse("[http]\noperator_routes = \"lan\"")
            Issue.record("a bad value was accepted")
        } catch {
            #expect("\(error)" == "http.operator_routes (line 2): \"lan\" is not one of \"open\", \"local\"")
        }
    }
}
