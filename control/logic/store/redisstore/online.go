package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goim-edge/goim-edge/control/logic/store"
)

// PutOnline implements store.Store: the edge's report replaces its previous
// one whole in one MULTI, so rooms it no longer reports disappear.
func (s *Store) PutOnline(ctx context.Context, o store.Online, ttl time.Duration) (err error) {
	defer observe("put_online", time.Now(), &err)
	if err := store.ValidateOnline(o, ttl); err != nil {
		return err
	}
	fields := make([]any, 0, 4+2*len(o.RoomCount))
	fields = append(fields, connsField, o.ConnCount, ipsField, o.IPCount)
	for room, n := range o.RoomCount {
		if n > 0 {
			fields = append(fields, roomField+room, n)
		}
	}
	key := s.keys.online(o.Server)
	expiry := time.Now().Add(ttl).UnixMilli()
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, key)
		p.HSet(ctx, key, fields...)
		p.PExpire(ctx, key, time.Duration(ms(ttl))*time.Millisecond)
		p.ZAdd(ctx, s.keys.edges(), redis.Z{Score: float64(expiry), Member: o.Server})
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis store: put online of %s: %w", o.Server, err)
	}
	return nil
}

// RoomCounts implements store.Store.
func (s *Store) RoomCounts(ctx context.Context) (_ map[string]int64, err error) {
	defer observe("room_counts", time.Now(), &err)
	out := make(map[string]int64)
	err = s.eachReport(ctx, func(fields map[string]string) {
		for f, v := range fields {
			room, ok := strings.CutPrefix(f, roomField)
			if !ok {
				continue
			}
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
				out[room] += n
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("redis store: room counts: %w", err)
	}
	return out, nil
}

// Totals implements store.Store.
func (s *Store) Totals(ctx context.Context) (conns, ips int64, err error) {
	defer observe("totals", time.Now(), &err)
	err = s.eachReport(ctx, func(fields map[string]string) {
		c, _ := strconv.ParseInt(fields[connsField], 10, 64)
		i, _ := strconv.ParseInt(fields[ipsField], 10, 64)
		conns += max(c, 0)
		ips += max(i, 0)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("redis store: totals: %w", err)
	}
	return conns, ips, nil
}

// eachReport calls fn with every live edge report and drops the index
// entries of reports that expired (dead edges).
func (s *Store) eachReport(ctx context.Context, fn func(map[string]string)) error {
	servers, err := s.rdb.ZRange(ctx, s.keys.edges(), 0, -1).Result()
	if err != nil {
		return fmt.Errorf("list edges: %w", err)
	}
	if len(servers) == 0 {
		return nil
	}
	cmds := make([]*redis.MapStringStringCmd, len(servers))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, server := range servers {
			cmds[i] = p.HGetAll(ctx, s.keys.online(server))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read %d edge reports: %w", len(servers), err)
	}
	var dead []string
	for i, cmd := range cmds {
		fields := cmd.Val()
		if len(fields) == 0 { // every report has its count fields
			dead = append(dead, servers[i])
			continue
		}
		fn(fields)
	}
	if len(dead) > 0 {
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, server := range dead {
				dropEdgeScript.Eval(ctx, p, []string{s.keys.edges(), s.keys.online(server)}, server)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("drop %d expired edge reports: %w", len(dead), err)
		}
	}
	return nil
}
