package nodes

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/goim-edge/goim-edge/registry"
)

// Instances is the data of GET /goim/nodes/instances: every registered
// edge with its metadata (addresses, zone, weight, counts, draining,
// start time), sorted by key, never nil so it encodes as [] when empty.
func Instances(instances []registry.Instance) []registry.Instance {
	out := slices.Clone(instances)
	if out == nil {
		out = []registry.Instance{}
	}
	slices.SortFunc(out, func(a, b registry.Instance) int { return strings.Compare(a.Key(), b.Key()) })
	return out
}

// InstancesJSON is Instances encoded as a JSON array, as the Push
// service's NodesInstances carries it.
func InstancesJSON(instances []registry.Instance) (string, error) {
	b, err := json.Marshal(Instances(instances))
	if err != nil {
		return "", fmt.Errorf("nodes: encode instances: %w", err)
	}
	return string(b), nil
}
