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
)

// Kind is a stream's kind label: "user" or "room".
func Kind(stream string) string {
	if len(stream) >= len(RoomPrefix) && stream[:len(RoomPrefix)] == RoomPrefix {
		return "room"
	}
	return "user"
}
