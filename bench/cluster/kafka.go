package cluster

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// startKfake starts kfake (in-process fake, not a real broker) on free
// loopback ports inside this process.
func startKfake() (*kfake.Cluster, error) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(4),
		kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("cluster: start %s: %w", KfakeLabel, err)
	}
	return kc, nil
}
