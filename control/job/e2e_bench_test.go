package job_test

import (
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/goim-edge/goim-edge/protocol"
)

// latencies collects delivery delays; bodies start with the send time.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
	n  chan struct{}
}

func newLatencies(capacity int) *latencies {
	return &latencies{d: make([]time.Duration, 0, capacity), n: make(chan struct{}, capacity)}
}

func (l *latencies) record(f protocol.Frame) {
	if len(f.Body) < 8 {
		return
	}
	d := time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(f.Body))))
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
	l.n <- struct{}{}
}

func (l *latencies) wait(b *testing.B, n int) {
	timeout := time.After(60 * time.Second)
	for i := range n {
		select {
		case <-l.n:
		case <-timeout:
			b.Fatalf("only %d of %d pushes arrived", i, n)
		}
	}
}

func (l *latencies) report(b *testing.B) {
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Sort(l.d)
	at := func(p float64) float64 { return float64(l.d[int(p*float64(len(l.d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(at(.5), "p50-ms")
	b.ReportMetric(at(.99), "p99-ms")
	b.ReportMetric(at(1), "max-ms")
	b.ReportMetric(0, "ns/op") // paced: time per op is the pacing, not a cost
}

func stamped() string {
	return string(binary.BigEndian.AppendUint64(nil, uint64(time.Now().UnixNano())))
}

func httpClient(workers int) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}}
}

func post(b *testing.B, hc *http.Client, u, body string) {
	resp, err := hc.Post(u, "application/octet-stream", strings.NewReader(body))
	if err != nil {
		b.Error(err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Errorf("POST %s: %d", u, resp.StatusCode)
	}
}

// BenchmarkEndToEndKeysLatency: POST /goim/push/keys at a steady 1,000
// pushes/s to 200 devices on two edges (logic HTTP → Redis Streams → job →
// edge → device over TCP); p50/p99/max from just before the POST to the
// device reading the frame.
//
//	go test -run '^$' -bench BenchmarkEndToEndKeysLatency -benchtime 5000x ./control/job/
func BenchmarkEndToEndKeysLatency(b *testing.B) {
	for _, kind := range []string{onRedis, onMemory} {
		b.Run("queue="+kind, func(b *testing.B) { benchKeysLatency(b, kind) })
	}
}

func benchKeysLatency(b *testing.B, queueKind string) {
	c := startCluster(b, queueKind, "edge-1", "edge-2")
	lat := newLatencies(b.N)
	const devices = 200
	for i := range devices {
		connectFunc(b, c.edges[i%2].Addrs().TCP, fmt.Sprint("dev-", i), int64(i+1), "", lat.record)
	}
	hc := httpClient(16)
	jobReport := jobLeg(b, "keys", "PushKeys")
	b.ResetTimer()
	pace(b.N, 1000, 16, func(i int) {
		q := url.Values{"operation": {"1000"}, "keys": {fmt.Sprint("dev-", i%devices)}}
		post(b, hc, c.httpURL+"/goim/push/keys?"+q.Encode(), stamped())
	})
	lat.wait(b, b.N)
	b.StopTimer()
	lat.report(b)
	jobReport()
}

// BenchmarkEndToEndRoomLatency: POST /goim/push/room at 40 messages/s to
// one room whose members are spread over two edges; p50/p99/max over every
// (message, member) delivery. GOIM_E2E_MEMBERS sets the members (default
// 2,000: the client and server ends of every connection share this
// process's 20,000 open files).
//
//	GOIM_E2E_MEMBERS=8000 go test -run '^$' -bench BenchmarkEndToEndRoomLatency -benchtime 400x ./control/job/
func BenchmarkEndToEndRoomLatency(b *testing.B) {
	for _, kind := range []string{onRedis, onMemory} {
		b.Run("queue="+kind, func(b *testing.B) { benchRoomLatency(b, kind) })
	}
}

func benchRoomLatency(b *testing.B, queueKind string) {
	members := 2000
	if v, err := strconv.Atoi(os.Getenv("GOIM_E2E_MEMBERS")); err == nil && v > 0 {
		members = v
	}
	c := startCluster(b, queueKind, "edge-1", "edge-2")
	lat := newLatencies(b.N * members)
	for i := range members {
		connectFunc(b, c.edges[i%2].Addrs().TCP, fmt.Sprint("dev-", i), int64(i+1), "live://1", lat.record)
	}
	hc := httpClient(4)
	jobReport := jobLeg(b, "room", "PushRoom")
	u := c.httpURL + "/goim/push/room?" + url.Values{"operation": {"1000"}, "type": {"live"}, "room": {"1"}}.Encode()
	b.ResetTimer()
	pace(b.N, 40, 4, func(int) { post(b, hc, u, stamped()) })
	lat.wait(b, b.N*members)
	b.StopTimer()
	lat.report(b)
	b.ReportMetric(float64(members), "members")
	jobReport()
}

// histogram reads a histogram of the default registry: cumulative counts
// per upper bound, for the series with every label in labels.
func histogram(b *testing.B, name string, labels map[string]string) map[float64]uint64 {
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		b.Fatal(err)
	}
	out := map[float64]uint64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue metrics
				}
			}
			for _, bk := range m.GetHistogram().GetBucket() {
				out[bk.GetUpperBound()] += bk.GetCumulativeCount()
			}
		}
	}
	return out
}

// p99Bound reports the histogram bucket bound under which 99% of the
// observations since before fall.
func p99Bound(b *testing.B, unit string, before, after map[float64]uint64) {
	var bounds []float64
	for ub := range after {
		bounds = append(bounds, ub)
	}
	if len(bounds) == 0 {
		return
	}
	slices.Sort(bounds)
	last := bounds[len(bounds)-1]
	total := after[last] - before[last]
	for _, ub := range bounds {
		if float64(after[ub]-before[ub]) >= 0.99*float64(total) {
			b.ReportMetric(ub*1000, unit)
			return
		}
	}
}

// jobLeg snapshots job's histograms for kind; its report func prints
// where 99% of this run's messages fell: logic's enqueue → every edge
// accepted (goim_job_push_delay_seconds), and one edge RPC
// (goim_job_edge_rpc_seconds).
func jobLeg(b *testing.B, kind, method string) (report func()) {
	delay := func() map[float64]uint64 {
		return histogram(b, "goim_job_push_delay_seconds", map[string]string{"kind": kind})
	}
	rpc := func() map[float64]uint64 {
		return histogram(b, "goim_job_edge_rpc_seconds", map[string]string{"method": method, "result": "ok"})
	}
	d0, r0 := delay(), rpc()
	return func() {
		p99Bound(b, "job-leg-p99<=ms", d0, delay())
		p99Bound(b, "edge-rpc-p99<=ms", r0, rpc())
	}
}
