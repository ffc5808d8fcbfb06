package app

import (
	"fmt"

	"github.com/goim-edge/goim-edge/config"
	"github.com/goim-edge/goim-edge/control/logic/history"
	histmem "github.com/goim-edge/goim-edge/control/logic/history/memory"
	"github.com/goim-edge/goim-edge/control/logic/history/redisstream"
	"github.com/goim-edge/goim-edge/control/logic/store"
	storemem "github.com/goim-edge/goim-edge/control/logic/store/memory"
	"github.com/goim-edge/goim-edge/control/logic/store/redisstore"
)

// openStore opens the configured route/online store.
func openStore(cfg *config.Config) (store.Store, error) {
	switch cfg.Store.Kind {
	case "memory":
		return storemem.New(), nil
	case "redis":
		s, err := redisstore.New(cfg.Store.Redis)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		return s, nil
	default:
		return nil, fmt.Errorf("store: unknown kind %q", cfg.Store.Kind)
	}
}

// openHistory opens the history streams beside the route store (memory
// with the memory store, the same Redis with the Redis store), or nil
// when logic.history keeps nothing, so history off costs nothing.
func openHistory(cfg *config.Config) (history.Store, error) {
	if !cfg.Logic.History.On() {
		return nil, nil
	}
	switch cfg.Store.Kind {
	case "memory":
		return histmem.New(nil), nil
	case "redis":
		s, err := redisstream.New(cfg.Store.Redis, nil)
		if err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		return s, nil
	default:
		return nil, fmt.Errorf("history: unknown store kind %q", cfg.Store.Kind)
	}
}
