// Package worker runs a share of the bench's devices, in a child process or
// in-process, and talks to the parent over a line protocol: the parent
// writes JSON Commands on the worker's stdin, the worker writes JSON Events
// on its stdout, one per line. A worker whose stdin closes finishes and
// exits, so a dead parent never leaves devices behind.
package worker

import (
	"time"

	"github.com/goim-edge/goim-edge/bench/hist"
	"github.com/goim-edge/goim-edge/bench/tally"
)

// EnvWorker is set to "1" in a child process's environment to make the
// bench binary (or a test binary, in TestMain) run as a worker. It does not
// start with GOIM_, which goim-edge reads as configuration.
const EnvWorker = "GOIMEDGE_BENCH_WORKER"

// Commands the parent sends.
const (
	// CmdStart carries the Spec; it must be the first command.
	CmdStart = "start"
	// CmdFinish stops heartbeats, closes every device and asks for the
	// Result.
	CmdFinish = "finish"
	// CmdDisconnect closes every device but keeps what it holds (its
	// stream positions, the messages it saw), answered by EvDisconnected
	// once all are closed: the devices of an edge that died.
	CmdDisconnect = "disconnect"
	// CmdReconnect connects every device again at once, positioned devices
	// resuming from their positions; answered by EvReconnected once every
	// device was attempted. Expect is how many messages each device should
	// recover from its room.
	CmdReconnect = "reconnect"
)

// Events the worker sends.
const (
	EvProgress  = "progress"
	EvConnected = "connected"
	EvResult    = "result"
	EvError     = "error"
	// EvDisconnected answers CmdDisconnect (with Progress: the verdicts
	// so far are final then), EvReconnected CmdReconnect (with a
	// ConnectReport of the reconnects).
	EvDisconnected = "disconnected"
	EvReconnected  = "reconnected"
)

// Command is one line from parent to worker.
type Command struct {
	Cmd  string `json:"cmd"`
	Spec *Spec  `json:"spec,omitempty"`
	// Expect is CmdReconnect's messages to recover per device.
	Expect int `json:"expect,omitempty"`
}

// Spec is the worker's share of devices and how they behave. Device i
// (First ≤ i < First+Count) uses key KeyPrefix-i, mid MidBase+i, room
// Rooms[i mod len(Rooms)], edge Addrs[i mod len(Addrs)] and source address
// Sources[i mod len(Sources)].
type Spec struct {
	Worker    int    `json:"worker"`
	Transport string `json:"transport"`
	// Compress: WebSocket devices offer permessage-deflate.
	Compress bool `json:"compress,omitempty"`
	// Engine reads TCP devices: device.EnginePoll ("" too: no goroutine
	// or buffer per idle device) or device.EngineGoroutine.
	Engine string `json:"engine,omitempty"`
	// Addrs are the edges devices connect to: device i uses
	// Addrs[i mod len(Addrs)] (host:port for TCP, ws:// URLs for WS).
	Addrs     []string `json:"addrs"`
	Sources   []string `json:"sources,omitempty"`
	First     int      `json:"first"`
	Count     int      `json:"count"`
	KeyPrefix string   `json:"key_prefix"`
	MidBase   int64    `json:"mid_base"`
	Rooms     []string `json:"rooms,omitempty"`
	Platform  string   `json:"platform"`
	Accepts   []int32  `json:"accepts"`
	// Heartbeat is each device's heartbeat interval (0: none).
	Heartbeat time.Duration `json:"heartbeat"`
	// Concurrency is how many connects run at once.
	Concurrency int `json:"concurrency"`
	// ConnectRate caps connects per second (0: as fast as Concurrency
	// allows).
	ConnectRate float64 `json:"connect_rate"`
	// Timeout bounds one dial plus auth.
	Timeout time.Duration `json:"timeout"`
	// Epoch (unix nanos) and Step bucket arrivals into the throughput
	// series.
	Epoch int64         `json:"epoch"`
	Step  time.Duration `json:"step"`
	// ProgressEvery is how often progress events are sent.
	ProgressEvery time.Duration `json:"progress_every"`
	// Resume makes the devices positioned (docs/recovery.md): each sends
	// op 26 right before op 7, listing its room's stream and its user's
	// stream with the last positions it holds (none on the first
	// connect), and keeps its position in each from op-28 frames and
	// op-27 verdicts.
	Resume bool `json:"resume,omitempty"`
}

// Key is the device key of index i.
func (s *Spec) Key(i int) string { return Key(s.KeyPrefix, i) }

// Event is one line from worker to parent; exactly one of the pointers is
// set, matching Ev.
type Event struct {
	Ev        string         `json:"ev"`
	Worker    int            `json:"worker"`
	Progress  *Progress      `json:"progress,omitempty"`
	Connected *ConnectReport `json:"connected,omitempty"`
	Result    *Result        `json:"result,omitempty"`
	Error     string         `json:"error,omitempty"`
}

// Progress is a cheap running count for the live line.
type Progress struct {
	Up       int   `json:"up"`
	Failed   int   `json:"failed"`
	Lost     int   `json:"lost"`
	Received int64 `json:"received"`
	// Verdicts counts the room verdicts (op 27) positioned devices got,
	// at most one per device per connect, over the whole run.
	Verdicts int `json:"verdicts,omitempty"`
}

// ConnectReport is sent once every device has been attempted.
type ConnectReport struct {
	Up     int `json:"up"`
	Failed int `json:"failed"`
	// FirstDial and LastAuth (unix nanos) bound the connect phase.
	FirstDial int64 `json:"first_dial"`
	LastAuth  int64 `json:"last_auth"`
	// Latency is dial start to auth reply, per device.
	Latency *hist.Histogram `json:"latency"`
	// Errors counts connect failures by cause.
	Errors map[string]int `json:"errors,omitempty"`
	// FailedIndexes lists the devices that did not connect, so pushers
	// target only live ones.
	FailedIndexes []int `json:"failed_indexes,omitempty"`
	// RoomMembers counts connected devices per room.
	RoomMembers map[string]int `json:"room_members,omitempty"`
}

// Result is the worker's final account.
type Result struct {
	// Received counts every bench message that arrived, duplicates included.
	Received   int64 `json:"received"`
	Duplicates int64 `json:"duplicates"`
	// DuplicateSamples describes the first duplicates.
	DuplicateSamples []Duplicate `json:"duplicate_samples,omitempty"`
	Misrouted        int64       `json:"misrouted"`
	// Foreign counts pushes that were not bench messages.
	Foreign int64 `json:"foreign"`
	// Malformed counts bench messages too short to decode.
	Malformed int64 `json:"malformed"`
	// Lost counts connections the server ended before CmdFinish.
	Lost       int            `json:"lost"`
	LostErrors map[string]int `json:"lost_errors,omitempty"`
	// Latency is push (time in the body) to arrival, first arrivals only.
	Latency *hist.Histogram `json:"latency"`
	// Deliveries is per message id: distinct receivers and last arrival.
	Deliveries *tally.Ledger `json:"deliveries"`
	// Series counts first arrivals per Step since Epoch.
	Series []int64 `json:"series"`
	// Heartbeats sent, failed, and the online counts their replies carried.
	Heartbeats       int64 `json:"heartbeats"`
	HeartbeatErrors  int64 `json:"heartbeat_errors"`
	HeartbeatReplies int64 `json:"heartbeat_replies"`
	// Reads counts the devices' reads (socket reads on TCP, messages on
	// WebSocket), auth included.
	Reads int64 `json:"reads"`
	// CPUSeconds is this worker process's CPU time (the whole process's
	// when the worker runs in-process).
	CPUSeconds float64 `json:"cpu_seconds"`
	OnlineMin  int32   `json:"online_min"`
	OnlineMax  int32   `json:"online_max"`
	// Resume is the positioned devices' account (Spec.Resume), else nil.
	Resume *ResumeResult `json:"resume,omitempty"`
}

// ResumeResult is what positioned devices saw of recovery.
type ResumeResult struct {
	// Verdicts counts op-27 stream verdicts by stream kind and outcome:
	// "room recovered", "user no_history", "room unavailable", ...
	Verdicts map[string]int `json:"verdicts,omitempty"`
	// Messages is the sum of the verdicts' counts: messages recovered.
	Messages int64 `json:"messages"`
	// Positioned counts op-28 frames received (recovered and live).
	Positioned int64 `json:"positioned"`
	// Reconnected counts devices CmdReconnect attempted; Complete those
	// whose room verdict was recovered: true with exactly Expect messages.
	Reconnected int `json:"reconnected"`
	Complete    int `json:"complete"`
	// NotRecovered counts the other reconnected devices by why: the
	// verdict's reason, "short" or "over" (recovered: true with fewer or
	// more messages), "no verdict", "reconnect failed".
	NotRecovered map[string]int `json:"not_recovered,omitempty"`
	// Latency is, per complete device, its reconnect's dial start to its
	// room verdict.
	Latency *hist.Histogram `json:"latency,omitempty"`
	// Start is the first reconnect dial, LastComplete the last complete
	// verdict (unix nanos; 0 when none).
	Start        int64 `json:"start,omitempty"`
	LastComplete int64 `json:"last_complete,omitempty"`
}

// Duplicate is one message a device received again.
type Duplicate struct {
	Device int    `json:"device"`
	ID     uint64 `json:"id"`
	// Sent is the push time in the body; At the second arrival (unix nanos).
	Sent int64 `json:"sent"`
	At   int64 `json:"at"`
}
