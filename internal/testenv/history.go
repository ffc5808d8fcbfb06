package testenv

// HistoryConfig is a config fragment that keeps message history for every
// user and every live:// room (100 messages, 10 minutes each), for tests
// of recovery against a real server (`goim-edge ... -config FILE`).
const HistoryConfig = `
[logic.history]
  [logic.history.users]
    size = 100
    ttl = "10m"
  [[logic.history.rooms]]
    type = "live"
    size = 100
    ttl = "10m"
`
