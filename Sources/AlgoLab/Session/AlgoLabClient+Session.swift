/// The session calls: AlgoLab's two-step login (password, then the SMS code) and its refresh.
extension AlgoLabClient {
    /// `LoginUser`: AlgoLab checks the user (TCKN or customer number) and password and sends
    /// an SMS code; the token it returns goes into `confirmLogin`.
    public func startLogin(username: String, password: String) async throws(AlgoLabError) -> String {
        let request = AlgoLabRequest("LoginUser", ["Username": .string(apiKey.encrypt(username)), "Password": .string(apiKey.encrypt(password))],
                                     isLogin: true)
        return try await call(request, authorization: nil, expecting: Token.self).token
    }

    /// `LoginUserControl`: the token and the SMS code give the session hash (the Authorization
    /// of every later call and of the WebSocket).
    public func confirmLogin(token: String, smsCode: String) async throws(AlgoLabError) -> String {
        let request = AlgoLabRequest("LoginUserControl", ["token": .string(apiKey.encrypt(token)), "Password": .string(apiKey.encrypt(smsCode))],
                                     isLogin: true)
        let hash = try await call(request, authorization: nil, expecting: Hash.self).hash
        guard !hash.isEmpty, hash.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw .badReply("the session hash is empty or not printable") }
        return hash
    }

    /// `SessionRefresh` (an empty body): keeps the session alive; AlgoLab drops one left alone
    /// for 15 minutes.
    public func refreshSession(_ hash: String) async throws(AlgoLabError) {
        _ = try await call(AlgoLabRequest("SessionRefresh"), authorization: hash)
    }

    private struct Token: Decodable { var token: String }
    private struct Hash: Decodable { var hash: String }
}
