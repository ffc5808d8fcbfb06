package app

import (
	"fmt"

	"github.com/goim-edge/goim-edge/config"
	"github.com/goim-edge/goim-edge/control/logic/store"
	storemem "github.com/goim-edge/goim-edge/control/logic/store/memory"
	storeredis "github.com/goim-edge/goim-edge/control/logic/store/redis"
)

// openStore opens the configured route/online store.
func openStore(cfg *config.Config) (store.Store, error) {
	switch cfg.Store.Kind {
	case "memory":
		return storemem.New(), nil
	case "redis":
		s, err := storeredis.New(cfg.Store.Redis)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		return s, nil
	default:
		return nil, fmt.Errorf("store: unknown kind %q", cfg.Store.Kind)
	}
}
