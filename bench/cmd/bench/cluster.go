package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/goim-edge/goim-edge/bench/cluster"
	"github.com/goim-edge/goim-edge/bench/report"
	"github.com/goim-edge/goim-edge/bench/scenario"
)

// clusterShape is the deployment a cluster run starts fresh for each
// scenario.
type clusterShape struct {
	edges, jobs int
	queue       string
}

// runCluster starts a fresh cluster of the given shape from bin (redis,
// etcd, logic, jobs, edges on free loopback ports), deals the devices over
// its edges, measures every process through the cluster's Meter, and
// stops it, so every scenario starts from an empty deployment.
func runCluster(ctx context.Context, bin, out string, o scenario.Options, rep *report.Report, shape clusterShape, sets []string) *report.Result {
	label := fmt.Sprintf("%d edge(s)", shape.edges)
	dir := filepath.Join(out, "logs", fmt.Sprintf("cluster-%d-edges-%s", shape.edges, o.Scenario))
	// The bench's own folder for this run: an earlier run's data (etcd's
	// above all) would otherwise be refused by the launcher.
	if err := os.RemoveAll(dir); err != nil {
		return &report.Result{Scenario: o.Scenario, Label: label + ": " + o.Scenario, Params: shapeParams(shape), Error: err.Error()}
	}
	c, err := cluster.Start(ctx, cluster.Spec{Bin: bin, Edges: shape.edges, Jobs: shape.jobs, Queue: shape.queue, Dir: dir, Sets: sets})
	if err != nil {
		return &report.Result{Scenario: o.Scenario, Label: label + ": " + o.Scenario, Params: shapeParams(shape), Error: err.Error()}
	}
	rep.Server = fmt.Sprintf("a fresh cluster per scenario from `%s` (%s): redis-server, etcd, one logic, %s over the %s queue; state and logs under %s",
		bin, serverVersion(bin), jobsText(shape.jobs), queueText(shape.queue), filepath.Join(out, "logs"))
	o.TCPAddr, o.WSURL = strings.Join(c.TCP, ","), strings.Join(c.WS, ",")
	o.HTTPAddr, o.RPCAddr, o.RPCSecret = c.HTTP, c.RPC, c.RPCSecret
	o.TargetPID, o.MetricsURL, o.Meter = 0, "", machineMeter{c}
	if o.Label == "" {
		o.Label = label + ": " + defaultLabel(o)
	}
	res := scenario.Run(ctx, o)
	if res.Params == nil {
		res.Params = map[string]string{}
	}
	for k, v := range shapeParams(shape) {
		res.Params[k] = v
	}
	for _, kv := range sets {
		k, v, _ := strings.Cut(kv, "=")
		res.Params["server."+k] = v
	}
	if shape.queue == "kafka" {
		res.Notes = append(res.Notes, "The queue is kfake, franz-go's in-process fake Kafka inside the bench process, not a real broker: its cost is in the bench's CPU, not the table's.")
	}
	if err := c.Close(); err != nil {
		res.Notes = append(res.Notes, "stopping the cluster: "+err.Error())
	}
	return res
}

func shapeParams(s clusterShape) map[string]string {
	return map[string]string{"edges": strconv.Itoa(s.edges), "jobs": strconv.Itoa(s.jobs), "queue": s.queue}
}

// defaultLabel is the label scenario.Run would give o.
func defaultLabel(o scenario.Options) string {
	o.Defaults()
	return scenario.Label(o)
}

func jobsText(n int) string {
	if n == 1 {
		return "one job"
	}
	return fmt.Sprintf("%d jobs", n)
}

func queueText(q string) string {
	if q == "kafka" {
		return "Kafka (kfake, in-process, not a real broker)"
	}
	return "Redis Streams"
}
