/// One instrument's order book at full depth, from order messages (ITCH's add, execute, cancel,
/// delete, replace): the resting orders by id, and the price levels of each side in price order.
/// Prices are the feed's integers (the instrument's own decimals); quantities are shares.
/// Pure logic: a message that does not fit the book (an unknown or repeated order id, more shares
/// executed than rest) is an error for the caller to count, and leaves the book as it was.
public struct OrderBook: Sendable {
    public enum Side: Sendable, Equatable { case bid, ask }

    /// All the shares resting at one price.
    public struct Level: Sendable, Equatable {
        public var price: Int64
        public var quantity: Int64
        public var orders: Int
        public init(price: Int64, quantity: Int64, orders: Int) {
            self.price = price
            self.quantity = quantity
            self.orders = orders
        }
    }

    public enum Failure: Error, Sendable, Equatable {
        case unknownOrder(UInt64)
        case duplicateOrder(UInt64)
        case tooManyShares(order: UInt64, resting: Int64, asked: Int64)
        case badQuantity(Int64)
    }

    private struct Order: Sendable {
        var side: Side
        var price: Int64
        var quantity: Int64
    }

    private var orders: [UInt64: Order] = [:]
    /// Best first: bids by falling price, asks by rising price.
    public private(set) var bids: [Level] = []
    public private(set) var asks: [Level] = []

    public init() {}

    public var bestBid: Level? { bids.first }
    public var bestAsk: Level? { asks.first }
    public var orderCount: Int { orders.count }

    public mutating func add(order id: UInt64, side: Side, price: Int64, quantity: Int64) throws(Failure) {
        guard quantity > 0 else { throw .badQuantity(quantity) }
        guard orders[id] == nil else { throw .duplicateOrder(id) }
        orders[id] = Order(side: side, price: price, quantity: quantity)
        change(side, price: price, quantity: quantity, orders: 1)
    }

    /// `quantity` shares of the order traded (or were cancelled): what is left rests; the side
    /// and the order's price are returned (the trade's price for an execution at the order's price).
    @discardableResult
    public mutating func reduce(order id: UInt64, by quantity: Int64) throws(Failure) -> (side: Side, price: Int64, remaining: Int64) {
        guard quantity > 0 else { throw .badQuantity(quantity) }
        guard var order = orders[id] else { throw .unknownOrder(id) }
        guard quantity <= order.quantity else { throw .tooManyShares(order: id, resting: order.quantity, asked: quantity) }
        order.quantity -= quantity
        if order.quantity == 0 {
            orders[id] = nil
            change(order.side, price: order.price, quantity: -quantity, orders: -1)
        } else {
            orders[id] = order
            change(order.side, price: order.price, quantity: -quantity, orders: 0)
        }
        return (order.side, order.price, order.quantity)
    }

    /// The whole order leaves the book.
    @discardableResult
    public mutating func delete(order id: UInt64) throws(Failure) -> (side: Side, price: Int64, quantity: Int64) {
        guard let order = orders.removeValue(forKey: id) else { throw .unknownOrder(id) }
        change(order.side, price: order.price, quantity: -order.quantity, orders: -1)
        return (order.side, order.price, order.quantity)
    }

    /// ITCH 5.0's replace: the order leaves, a new one (same side) takes its place at the back.
    public mutating func replace(order id: UInt64, with new: UInt64, price: Int64, quantity: Int64) throws(Failure) {
        guard quantity > 0 else { throw .badQuantity(quantity) }
        guard let old = orders[id] else { throw .unknownOrder(id) }
        guard new == id || orders[new] == nil else { throw .duplicateOrder(new) }
        _ = try delete(order: id)
        try add(order: new, side: old.side, price: price, quantity: quantity)
    }

    /// The best `n` levels of each side.
    public func depth(_ n: Int) -> (bids: ArraySlice<Level>, asks: ArraySlice<Level>) { (bids.prefix(n), asks.prefix(n)) }

    private mutating func change(_ side: Side, price: Int64, quantity: Int64, orders delta: Int) {
        switch side {
        case .bid: Self.change(&bids, price: price, quantity: quantity, orders: delta, before: { $0 > $1 })
        case .ask: Self.change(&asks, price: price, quantity: quantity, orders: delta, before: { $0 < $1 })
        }
    }

    /// Adds to the level at `price` (made when missing, removed when emptied); `before` orders prices best first.
    private static func change(_ levels: inout [Level], price: Int64, quantity: Int64, orders delta: Int, before: (Int64, Int64) -> Bool) {
        var low = 0, high = levels.count
        while low < high {
            let mid = (low + high) / 2
            if before(levels[mid].price, price) { low = mid + 1 } else { high = mid }
        }
        if low < levels.count && levels[low].price == price {
            levels[low].quantity += quantity
            levels[low].orders += delta
            if levels[low].orders == 0 { levels.remove(at: low) }
        } else {
            levels.insert(Level(price: price, quantity: quantity, orders: delta), at: low)
        }
    }
}
