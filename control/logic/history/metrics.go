package history

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics shared by the stores; the memory store also reports what it
// holds.
var (
	// AppendsTotal counts messages appended, by stream kind (user, room).
	AppendsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_logic_history_appends_total",
		Help: "Messages appended to history streams, by stream kind (user, room).",
	}, []string{"kind"})
	// ReadsTotal counts Since reads, by result.
	ReadsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_logic_history_reads_total",
		Help: "History reads, by result (recovered, not_recovered: epoch changed or gap larger than the history, error).",
	}, []string{"result"})
	// KeptMessages is how many messages the memory store holds.
	KeptMessages = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "goim_logic_history_memory_messages",
		Help: "Messages kept by the in-memory history store.",
	})
	// KeptBytes is the body and id bytes the memory store holds.
	KeptBytes = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "goim_logic_history_memory_bytes",
		Help: "Body and id bytes of the messages kept by the in-memory history store.",
	})
	// MemoryBytes estimates all the memory the memory store's streams
	// take: KeptBytes plus the per-message and per-stream bookkeeping, so
	// an operator can size a standalone process's history. The Redis
	// store exports none (docs/history.md says why).
	MemoryBytes = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "goim_history_memory_bytes",
		Help: "Estimated memory of the in-memory history store's streams: kept ids and bodies plus per-message and per-stream overhead.",
	})
	// RecoveriesTotal counts streams resumed by devices (docs/recovery.md),
	// by result: recovered, or the reason they were not (gap, epoch,
	// limit, no_history, not_followed), or error when the store failed.
	RecoveriesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_history_recoveries_total",
		Help: "Streams resumed by devices, by result (recovered, gap, epoch, limit, no_history, not_followed, error).",
	}, []string{"result"})
	// RecoveredMessagesTotal counts messages delivered by recovery, to see
	// what reconnects cost.
	RecoveredMessagesTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "goim_history_recovered_messages_total",
		Help: "Messages delivered to devices by recovery.",
	})
	// AcksTotal counts user stream acknowledgements, by result (an
	// AckResult, or invalid, no_history, error), so devices acking
	// wrongly show up.
	AcksTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "goim_history_acks_total",
		Help: "Acknowledgements of user streams, by result (advanced, stale, other_epoch, beyond, invalid, no_history, error).",
	}, []string{"result"})
)

// Kind is a stream's kind label: "user" or "room".
func Kind(stream string) string {
	if len(stream) >= len(RoomPrefix) && stream[:len(RoomPrefix)] == RoomPrefix {
		return "room"
	}
	return "user"
}
