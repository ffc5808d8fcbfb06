package cluster

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// StateFile is the name of the state file in a cluster's folder.
const StateFile = "state.json"

// State is what a cluster's state file records: enough for another
// process to find, check and stop it.
type State struct {
	Dir   string `json:"dir"`
	Queue string `json:"queue"`
	// Detached is true when the processes outlive the one that started
	// them.
	Detached bool `json:"detached"`
	// OwnerPID is the process that called Start; with queue kafka, kfake
	// lives in it.
	OwnerPID int `json:"owner_pid"`
	// HTTP and RPC are logic's push API and Kitex Push service; TCP and
	// WS every edge's device addresses, in edge order.
	HTTP string   `json:"http"`
	RPC  string   `json:"rpc"`
	TCP  []string `json:"tcp"`
	WS   []string `json:"ws"`
	// RPCSecretFile holds rpc.secret (mode 0600); the secret itself is not
	// in the state file.
	RPCSecretFile string `json:"rpc_secret_file"`
	// Kafka are kfake's broker addresses (queue kafka only).
	Kafka []string `json:"kafka,omitempty"`
	// Nodes are every process in start order.
	Nodes []*Node `json:"nodes"`
}

// write saves s as dir/state.json, atomically.
func (s *State) write() error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("cluster: state: %w", err)
	}
	path := filepath.Join(s.Dir, StateFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("cluster: state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("cluster: state: %w", err)
	}
	return nil
}

// ReadState reads the state file in dir. A missing file is an error
// satisfying errors.Is(err, fs.ErrNotExist).
func ReadState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return nil, fmt.Errorf("cluster: state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("cluster: state %s: %w", filepath.Join(dir, StateFile), err)
	}
	return &s, nil
}

// RemoveState deletes the state file in dir (logs and data stay).
func RemoveState(dir string) error {
	if err := os.Remove(filepath.Join(dir, StateFile)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("cluster: %w", err)
	}
	return nil
}
