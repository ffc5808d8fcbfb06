package procstat

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func TestReadSelf(t *testing.T) {
	s, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSS < 1<<20 || s.Threads < 1 || s.CPUSeconds < 0 {
		t.Fatalf("sample %+v", s)
	}
	if _, err := Read(1 << 30); err == nil {
		t.Fatal("read a process that cannot exist")
	}
}

const exposition = `# HELP go_memstats_heap_inuse_bytes Number of heap bytes that are in use.
# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes 1.2345e+06
# TYPE goim_edge_connections gauge
goim_edge_connections{transport="tcp"} 10
goim_edge_connections{transport="ws"} 5
# TYPE goim_pushes_total counter
goim_pushes_total{kind="room"} 7
`

func TestScrape(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, exposition)
	}))
	defer srv.Close()
	m, err := Scrape(context.Background(), srv.URL+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if m[HeapInuse] != 1234500 || m["goim_edge_connections"] != 15 || m["goim_pushes_total"] != 7 {
		t.Fatalf("metrics %v", m)
	}
	if _, err := Scrape(context.Background(), srv.URL+"/nope"); err == nil {
		t.Fatal("404 accepted")
	}
	if _, err := Parse(strings.NewReader("garbage{{{")); err == nil {
		t.Fatal("garbage parsed")
	}
}

func TestMachine(t *testing.T) {
	m, err := Machine()
	if err != nil {
		t.Fatal(err)
	}
	if m.Total == 0 || m.Available == 0 || m.Available > m.Total || m.Slab == 0 {
		t.Fatalf("implausible machine memory %+v", m)
	}
	// This test's own listener is a TCP socket the count must include.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if m, err = Machine(); err != nil || m.TCPSockets < 1 {
		t.Fatalf("TCP sockets %d (%v) with a listener open", m.TCPSockets, err)
	}
}
