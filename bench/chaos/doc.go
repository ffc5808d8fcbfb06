// Package chaos is goim-edge's fault suite: it starts a real cluster on
// loopback (redis-server, etcd, one logic, two jobs sharing a Redis Streams
// consumer group, two edges, all from the built binary), keeps tracked
// devices connected to both edges, pushes by mid, by key and to rooms at a
// steady bounded rate with a unique id in every body, injects one fault at
// a time, and counts per scenario what was sent, accepted (code 0),
// delivered, lost and duplicated, with the push latency during the fault.
//
// The promise it checks (issue 12, "Done means"): every accepted push
// reaches every device that stayed connected; devices whose connection
// ended around a push (a killed or draining edge) are outside the promise
// for that push and counted apart; pushes by key and mid are never
// delivered twice; a caller's bad push is answered -400 and does not harm
// other traffic.
//
// A device is inside the promise for a push when its connection was
// authenticated before the push was sent and stayed open until Grace after
// the push was answered. Grace is generous (seconds): the suite never bets
// on the machine's speed, it only waits longer.
//
// The suite runs as a Go test: a reduced set inside `make test`, the full
// set with `make chaos`, which writes a Markdown and JSON report.
package chaos
